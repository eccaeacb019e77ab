//! The agencies, facilities and key holders of the demo world, and the machinery that signs
//! records in chain order and merges chains into ledger order.

use custody_core::ids::{detainee_chain_id, AUTHORITY_CHAIN};
use custody_core::record::Draft;
use custody_core::{EventKind, Hash, Record, Role, SecretKey, Timestamp};
use serde_json::{json, Value};

use crate::{derive, Actor, Detainee};

/// The key holder whose key is revoked before the first arrest (a lost field tablet).
pub const REVOKED_ACTOR: &str = "police-gao-tablet";

/// Agency of the trust root (it is named in `trust.json`, not registered).
pub const ROOT_AGENCY: &str = "ml-ministere-justice";

/// First instant of the unshifted world (the layout of the test vectors): keys and agencies
/// are registered then. A world built with a day offset starts that many days later.
pub const EPOCH: i64 = 1_544_140_800; // 2018-12-07T00:00:00Z
/// Arrests start a month after the first instant.
pub const FIRST_ARREST_AFTER_EPOCH: i64 = 31 * DAY;
/// Seconds in an hour.
pub const HOUR: i64 = 3600;
/// Seconds in a day.
pub const DAY: i64 = 86_400;
/// How long every key of the world is valid from the world's first instant: three years.
pub const KEY_VALIDITY: i64 = 3 * 365 * DAY;

/// Agencies: id, name, type, country.
pub const AGENCIES: &[(&str, &str, &str, &str)] = &[
    (
        "fr-barkhane",
        "Opération Barkhane, groupement tactique désert",
        "military",
        "FR",
    ),
    (
        "ml-fama",
        "Forces armées maliennes, GTIA 4",
        "military",
        "ML",
    ),
    (
        "ml-police-gao",
        "Commissariat de police de Gao",
        "police",
        "ML",
    ),
    (
        "ml-gendarmerie-camp1",
        "Gendarmerie nationale, Camp I Bamako",
        "gendarmerie",
        "ML",
    ),
    (
        "ml-securite-etat",
        "Direction générale de la sécurité d'État",
        "police",
        "ML",
    ),
    (
        "ml-parquet-pole",
        "Parquet du pôle judiciaire spécialisé",
        "prosecutor",
        "ML",
    ),
    (
        "ml-pole-judiciaire",
        "Pôle judiciaire spécialisé, Bamako",
        "court",
        "ML",
    ),
    (
        "ml-mca-bamako",
        "Maison centrale d'arrêt de Bamako",
        "prison",
        "ML",
    ),
    ("ml-prison-koulikoro", "Prison de Koulikoro", "prison", "ML"),
    (
        "ml-cndh",
        "Commission nationale des droits de l'homme",
        "monitor",
        "ML",
    ),
    (
        "icrc-bamako",
        "Comité international de la Croix-Rouge, délégation de Bamako",
        "monitor",
        "CH",
    ),
    (
        "ml-barreau",
        "Ordre des avocats du Mali",
        "bar_association",
        "ML",
    ),
];

/// Facilities: id, agency, name, kind, capacity, officially recognised, region.
pub const FACILITIES: &[(&str, &str, &str, &str, u32, bool, &str)] = &[
    (
        "gao-commissariat",
        "ml-police-gao",
        "Cellules du commissariat de Gao",
        "police_station",
        20,
        true,
        "Gao",
    ),
    (
        "camp1-bamako",
        "ml-gendarmerie-camp1",
        "Camp I, cellules de garde à vue",
        "gendarmerie_post",
        60,
        true,
        "Bamako",
    ),
    (
        "securite-etat-bamako",
        "ml-securite-etat",
        "Locaux de la sécurité d'État",
        "other",
        30,
        false,
        "Bamako",
    ),
    (
        "mca-bamako",
        "ml-mca-bamako",
        "Maison centrale d'arrêt de Bamako",
        "prison",
        400,
        true,
        "Bamako",
    ),
    (
        "mca-annexe",
        "ml-mca-bamako",
        "Annexe provisoire de la MCA (non homologuée)",
        "other",
        100,
        false,
        "Bamako",
    ),
    (
        "koulikoro",
        "ml-prison-koulikoro",
        "Prison de haute sécurité de Koulikoro",
        "prison",
        200,
        true,
        "Koulikoro",
    ),
];

/// Key holders: label, agency, roles, holder name, badge.
const ACTORS: &[(&str, &str, &[Role], &str, &str)] = &[
    (
        "barkhane-officer",
        "fr-barkhane",
        &[Role::ArrestingOfficer],
        "Capitaine L. Moreau",
        "FR-GTD-0412",
    ),
    (
        "barkhane-prevot",
        "fr-barkhane",
        &[Role::JudicialPoliceOfficer, Role::ArrestingOfficer],
        "Major P. Garnier (prévôté)",
        "FR-PREV-031",
    ),
    (
        "fama-officer",
        "ml-fama",
        &[Role::ArrestingOfficer],
        "Lieutenant B. Coulibaly",
        "FAMA-22871",
    ),
    (
        "police-gao-opj",
        "ml-police-gao",
        &[Role::JudicialPoliceOfficer, Role::ArrestingOfficer],
        "Commissaire A. Maïga",
        "PN-GAO-117",
    ),
    (
        "police-gao-tablet",
        "ml-police-gao",
        &[Role::ArrestingOfficer],
        "Brigadier S. Touré",
        "PN-GAO-203",
    ),
    (
        "camp1-opj",
        "ml-gendarmerie-camp1",
        &[Role::JudicialPoliceOfficer],
        "Adjudant-chef M. Diarra",
        "GN-C1-0098",
    ),
    (
        "se-officer",
        "ml-securite-etat",
        &[Role::JudicialPoliceOfficer],
        "Agent 7",
        "SE-0007",
    ),
    (
        "pole-prosecutor",
        "ml-parquet-pole",
        &[Role::Prosecutor],
        "Procureur I. Sangaré",
        "PPJS-01",
    ),
    (
        "pole-judge",
        "ml-pole-judiciaire",
        &[Role::InvestigatingJudge],
        "Juge d'instruction F. Keïta",
        "PJS-JI-03",
    ),
    (
        "pole-clerk",
        "ml-pole-judiciaire",
        &[Role::CourtClerk],
        "Greffier K. Dembélé",
        "PJS-GR-11",
    ),
    (
        "mca-registrar",
        "ml-mca-bamako",
        &[Role::Registrar],
        "Greffier pénitentiaire O. Traoré",
        "MCA-REG-02",
    ),
    (
        "mca-medical",
        "ml-mca-bamako",
        &[Role::Medical],
        "Dr A. Cissé",
        "MCA-MED-01",
    ),
    (
        "koulikoro-registrar",
        "ml-prison-koulikoro",
        &[Role::Registrar],
        "Greffier pénitentiaire H. Sidibé",
        "KLK-REG-01",
    ),
    (
        "koulikoro-medical",
        "ml-prison-koulikoro",
        &[Role::Medical],
        "Infirmier Y. Konaté",
        "KLK-MED-01",
    ),
    (
        "cndh-monitor",
        "ml-cndh",
        &[Role::Monitor],
        "Commissaire R. Ba",
        "CNDH-09",
    ),
    (
        "icrc-delegate",
        "icrc-bamako",
        &[Role::Monitor],
        "Délégué détention",
        "ICRC-BKO-4",
    ),
    (
        COUNSEL_ACTOR,
        "ml-barreau",
        &[Role::Counsel],
        "Maître A. Touré",
        "BM-0412",
    ),
];

/// The lawyer of the demo: a key with role `counsel`, appointed on the first detainee's chain.
pub const COUNSEL_ACTOR: &str = "counsel-toure";

/// A splitmix64 generator: tiny, deterministic, good enough for a demo world.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of a slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A detainee chain being written: keeps seq, prev and the recorded clock.
#[derive(Debug)]
pub struct ChainWriter {
    /// Chain id.
    pub chain: String,
    seq: u64,
    prev: Option<Hash>,
    last_recorded: i64,
}

/// One signed record with its ledger sort key.
struct Pending {
    recorded: i64,
    order: usize,
    record: Record,
}

/// The world under construction.
pub struct World {
    seed: u64,
    /// First instant of this world: [`EPOCH`] moved by the whole-day offset.
    epoch: i64,
    /// Calendar year of the first arrest (2019 in the unshifted world), for reference numbers.
    first_arrest_year: i32,
    /// A dry run signs nothing: it only lays out the instants, to find where the world ends.
    dry: bool,
    /// Latest `recorded_at` so far.
    latest: i64,
    /// Randomness for paths.
    pub rng: Rng,
    root_key: SecretKey,
    actors: Vec<Actor>,
    salt_counter: u64,
    authority: ChainWriter,
    pending: Vec<Pending>,
    redacted: Vec<Hash>,
    /// Detainees of the block being walked (see [`World::take_block`]).
    detainees: Vec<Detainee>,
    /// Index of `detainees[0]` in the whole world.
    detainees_base: usize,
    /// Records signed (or, in a dry run, laid out) so far.
    signed: u64,
}

fn ts(t: i64) -> String {
    Timestamp::from_unix_seconds(t).as_str().to_string()
}

/// Timestamp text of an instant, for bodies.
pub fn at(t: i64) -> Value {
    Value::from(ts(t))
}

impl World {
    /// A new world for a seed, every instant moved by `day_offset` whole days (0: the layout
    /// of the test vectors). A `dry` world signs nothing and only finds where the world ends
    /// ([`World::latest`]): random choices never depend on a hash or a signature, so a dry run
    /// lays out exactly the instants of a real one.
    pub fn new(seed: u64, root_key: SecretKey, day_offset: i64, dry: bool) -> Self {
        let epoch = EPOCH + day_offset * DAY;
        let first_arrest_year = Timestamp::from_unix_seconds(epoch + FIRST_ARREST_AFTER_EPOCH)
            .as_str()
            .get(..4)
            .and_then(|y| y.parse().ok())
            .unwrap_or(2019);
        let actors = ACTORS
            .iter()
            .map(|(label, agency, roles, _, _)| Actor {
                label,
                agency,
                roles: roles.to_vec(),
                key: SecretKey::from_seed(derive(seed, &format!("key/{label}"))),
            })
            .collect();
        let mut seed_bytes = [0u8; 8];
        seed_bytes.copy_from_slice(&derive(seed, "rng")[..8]);
        World {
            seed,
            epoch,
            first_arrest_year,
            dry,
            latest: i64::MIN,
            rng: Rng(u64::from_be_bytes(seed_bytes)),
            root_key,
            actors,
            salt_counter: 0,
            authority: ChainWriter {
                chain: AUTHORITY_CHAIN.to_string(),
                seq: 0,
                prev: None,
                last_recorded: epoch - 1,
            },
            pending: Vec::new(),
            redacted: Vec::new(),
            detainees: Vec::new(),
            detainees_base: 0,
            signed: 0,
        }
    }

    fn salt(&mut self) -> [u8; 16] {
        self.salt_counter += 1;
        let d = derive(self.seed, &format!("salt/{}", self.salt_counter));
        let mut s = [0u8; 16];
        s.copy_from_slice(&d[..16]);
        s
    }

    fn actor(&self, label: &str) -> &Actor {
        // Labels are constants of this module; an unknown label is a bug caught by the tests.
        self.actors
            .iter()
            .find(|a| a.label == label)
            .unwrap_or_else(|| panic!("unknown actor {label}"))
    }

    /// First arrest of the world: a month after its first instant.
    pub fn first_arrest(&self) -> i64 {
        self.epoch + FIRST_ARREST_AFTER_EPOCH
    }

    /// A year for reference numbers (case, order, registry): `year` of the unshifted world
    /// (2019 is the year of its first arrest) moved with the world, so that a world laid out
    /// to end in 2026 does not number its 2025 cases "2019".
    pub fn year(&self, year: i32) -> i32 {
        year + self.first_arrest_year - 2019
    }

    /// Latest `recorded_at` of the world so far (where it ends, once every path is walked).
    pub fn latest(&self) -> i64 {
        self.latest
    }

    /// The public key id of an actor, as written on the wire.
    pub fn public_key(&self, label: &str) -> String {
        self.actor(label).key.public().to_string()
    }

    /// The agency of an actor.
    pub fn agency_of(&self, label: &str) -> &'static str {
        self.actor(label).agency
    }

    #[allow(clippy::too_many_arguments)]
    fn sign(
        &mut self,
        chain: &mut ChainWriter,
        key: SecretKey,
        agency: &str,
        kind: EventKind,
        occurred: i64,
        recorded: i64,
        body: Value,
    ) -> Hash {
        let recorded = recorded.max(chain.last_recorded + 1).max(occurred);
        chain.last_recorded = recorded;
        self.latest = self.latest.max(recorded);
        self.signed += 1;
        let salt = self.salt();
        if self.dry {
            // A stand-in hash: bodies quote it, no choice depends on it.
            let hash = Hash::of(&salt);
            chain.seq += 1;
            chain.prev = Some(hash);
            return hash;
        }
        let record = Draft {
            ledger: crate::LEDGER_NAME.to_string(),
            chain: chain.chain.clone(),
            seq: chain.seq,
            prev: chain.prev,
            kind,
            occurred_at: Timestamp::from_unix_seconds(occurred),
            recorded_at: Timestamp::from_unix_seconds(recorded),
            agency: agency.to_string(),
            body,
        }
        .sign(&key, &salt);
        chain.seq += 1;
        chain.prev = Some(record.hash);
        let hash = record.hash;
        let order = self.pending.len();
        self.pending.push(Pending {
            recorded,
            order,
            record,
        });
        hash
    }

    fn authority_event(&mut self, kind: EventKind, t: i64, body: Value) -> Hash {
        let mut chain = std::mem::replace(
            &mut self.authority,
            ChainWriter {
                chain: String::new(),
                seq: 0,
                prev: None,
                last_recorded: 0,
            },
        );
        let key = self.root_key.clone();
        let h = self.sign(&mut chain, key, ROOT_AGENCY, kind, t, t, body);
        self.authority = chain;
        h
    }

    /// Registers agencies, facilities and keys, and revokes a lost tablet's key.
    pub fn register_authority(&mut self) {
        let epoch = self.epoch;
        let first_arrest = self.first_arrest();
        let mut t = epoch;
        for (id, name, ty, country) in AGENCIES {
            self.authority_event(
                EventKind::AgencyRegistered,
                t,
                json!({"id": id, "name": name, "type": ty, "country": country}),
            );
            t += 60;
        }
        for (id, agency, name, kind, capacity, recognised, region) in FACILITIES {
            self.authority_event(
                EventKind::FacilityRegistered,
                t,
                json!({
                    "id": id, "agency": agency, "name": name, "kind": kind,
                    "capacity": capacity, "officially_recognised": recognised,
                    "place": {"description": name, "region": region}
                }),
            );
            t += 60;
        }
        for (label, agency, roles, holder, badge) in ACTORS {
            let key = self.actor(label).key.public().to_string();
            let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            self.authority_event(
                EventKind::KeyEnrolled,
                t,
                json!({
                    "key": key, "agency": agency, "roles": roles,
                    "holder_name": holder, "holder_badge": badge,
                    "valid_from": ts(epoch), "valid_until": ts(epoch + KEY_VALIDITY)
                }),
            );
            t += 60;
        }
        // A field tablet of the Gao police is lost: its key is revoked before any arrest.
        let lost = self.actor(REVOKED_ACTOR).key.public().to_string();
        self.authority_event(
            EventKind::KeyRevoked,
            first_arrest - 2 * DAY,
            json!({"key": lost, "reason": "tablet reported lost on patrol", "effective_from": ts(first_arrest - 2 * DAY)}),
        );
    }

    /// Opens a new detainee chain whose first record occurs at `t`.
    pub fn new_chain(&mut self, t: i64, path: &'static str) -> ChainWriter {
        let random = u128::from(self.rng.next()) << 16 | u128::from(self.rng.next() & 0xffff);
        let ulid =
            (u128::from((t as u64).wrapping_mul(1000)) << 80) | (random & ((1u128 << 80) - 1));
        let chain = detainee_chain_id(ulid);
        self.detainees.push(Detainee {
            chain: chain.clone(),
            path,
        });
        ChainWriter {
            chain,
            seq: 0,
            prev: None,
            last_recorded: t,
        }
    }

    /// Signs and queues one detainee record by an actor; `delay` is the time between the fact
    /// and its recording (hours at an offline post).
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        chain: &mut ChainWriter,
        actor: &str,
        kind: EventKind,
        occurred: i64,
        delay: i64,
        body: Value,
    ) -> Hash {
        let a = self.actor(actor);
        let (key, agency) = (a.key.clone(), a.agency);
        self.sign(chain, key, agency, kind, occurred, occurred + delay, body)
    }

    /// Marks an event's payload as lawfully redacted.
    pub fn redact(&mut self, hash: Hash) {
        self.redacted.push(hash);
    }

    /// Merges the chains walked since the last call into ledger order (by recorded time;
    /// chain order is kept because each chain's recorded times increase) and hands them over
    /// with their detainees, keeping nothing of them but what later chains refer to (the
    /// redacted hashes).
    pub fn take_block(&mut self) -> (Vec<Record>, Vec<Detainee>) {
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_by_key(|p| (p.recorded, p.order));
        let records = pending.into_iter().map(|p| p.record).collect();
        let detainees = std::mem::take(&mut self.detainees);
        self.detainees_base += detainees.len();
        (records, detainees)
    }

    /// Every key holder of the world.
    pub fn actors(&self) -> &[Actor] {
        &self.actors
    }

    /// Every event marked for redaction so far.
    pub fn redacted(&self) -> &[Hash] {
        &self.redacted
    }

    /// Records signed (in a dry run: laid out) so far.
    pub fn signed(&self) -> u64 {
        self.signed
    }
}

impl World {
    /// The chain id of detainee `i`, if already created.
    /// Only detainees of the block being walked are known (paths refer to detainees of the
    /// first block only).
    pub fn detainee_chain(&self, i: usize) -> Option<String> {
        i.checked_sub(self.detainees_base)
            .and_then(|i| self.detainees.get(i))
            .map(|d| d.chain.clone())
    }

    /// The last event marked for redaction.
    pub fn last_redacted(&self) -> Option<Hash> {
        self.redacted.last().copied()
    }
}
