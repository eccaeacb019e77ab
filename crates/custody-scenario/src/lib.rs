//! A deterministic demo world for custody-ledger.
//!
//! [`build`] registers the agencies of the arrest-to-detention chain in Mali (a foreign force
//! unit, the national army, police in Gao, Gendarmerie Camp One, State Security, MCA Bamako,
//! Koulikoro prison, the judicial pole and its prosecutor, a monitor, the ICRC), enrols keys,
//! and walks detainees from arrest in the north through handovers, police custody at Camp One,
//! charges, detention orders, prison admission, hearings and judgments. A few detainees take the
//! paths that the system must make loud: a handover left unanswered (a custody gap), a detour
//! through an unofficial place of detention, a death in custody, an escape.
//!
//! The same seed gives the same bytes: keys, salts and chain ids derive from the seed. [`build`]
//! lays the world out on fixed dates (December 2018 to mid-2020 for 50 detainees: the layout of
//! the test vectors); [`build_as_of`] moves every instant of it, key validity included, by a
//! whole number of days so that it ends on a chosen day (`custody demo --as-of`): the same
//! seed and day give the same bytes. Every
//! record is validated as the ledger is built, so the world is also a test of the validator.
//! It is the source of `custody demo`, of the test vectors (`custody-vectors`) and of
//! benchmark data.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod paths;
pub mod vectors;
mod world;

use custody_core::authority::{TrustAnchors, TrustRoot};
use custody_core::validate::{ValidationError, Validator, ValidatorConfig};
use custody_core::{Hash, Record, Role, SecretKey, Timestamp};
use sha2::{Digest, Sha256};

pub use world::{AGENCIES, FACILITIES, REVOKED_ACTOR};

/// What to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScenarioConfig {
    /// Seed of every random choice, key and salt.
    pub seed: u64,
    /// Number of detainees.
    pub detainees: usize,
}

impl Default for ScenarioConfig {
    fn default() -> Self {
        ScenarioConfig {
            seed: 1,
            detainees: 50,
        }
    }
}

/// A person holding an enrolled key in the world.
#[derive(Clone, Debug)]
pub struct Actor {
    /// Stable label, e.g. `mca-registrar`.
    pub label: &'static str,
    /// Agency id.
    pub agency: &'static str,
    /// Roles held.
    pub roles: Vec<Role>,
    /// The key.
    pub key: SecretKey,
}

/// One detainee of the world.
#[derive(Clone, Debug)]
pub struct Detainee {
    /// Chain id.
    pub chain: String,
    /// Which path the detainee took (e.g. `convicted`, `unanswered_handover`).
    pub path: &'static str,
}

/// The built world.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Ledger name (checkpoint origin).
    pub name: String,
    /// Trust anchors (the root key).
    pub trust: TrustAnchors,
    /// The root key that writes the authority chain.
    pub root_key: SecretKey,
    /// Agency the root key signs for.
    pub root_agency: &'static str,
    /// The key that signs checkpoints.
    pub ledger_key: SecretKey,
    /// Every record in ledger order, all with payloads.
    pub records: Vec<Record>,
    /// Events whose payload was lawfully redacted: a store removes these payloads, and exports
    /// carry them without payload.
    pub redacted: Vec<Hash>,
    /// Every key holder.
    pub actors: Vec<Actor>,
    /// Every detainee.
    pub detainees: Vec<Detainee>,
    /// Whole days every instant of the world was moved by (0: the layout of the test vectors).
    pub day_offset: i64,
    /// The latest `recorded_at` of the world: where its clock stops.
    pub ends_at: Timestamp,
    /// End of validity (exclusive) of every enrolled key of the world.
    pub keys_valid_until: Timestamp,
}

impl Scenario {
    /// The actor with a label.
    pub fn actor(&self, label: &str) -> Option<&Actor> {
        self.actors.iter().find(|a| a.label == label)
    }

    /// The records as they are published: redacted events without their payload.
    pub fn published_records(&self) -> Vec<Record> {
        self.records
            .iter()
            .map(|r| {
                if self.redacted.contains(&r.hash) {
                    r.without_payload()
                } else {
                    r.clone()
                }
            })
            .collect()
    }
}

/// The world could not be built (a bug in this crate: every generated record must validate).
#[derive(Debug, thiserror::Error)]
#[error("generated record {position} ({kind} on {chain}) does not validate: {error}")]
pub struct ScenarioError {
    /// Ledger position of the record.
    pub position: usize,
    /// Its kind.
    pub kind: String,
    /// Its chain.
    pub chain: String,
    /// Why.
    pub error: Box<ValidationError>,
}

/// The name of the demo ledger (the origin of its checkpoints, `header.ledger` of its records).
pub const LEDGER_NAME: &str = "custody-ledger.demo.ml";

/// Derives 32 bytes from the seed and a label.
pub(crate) fn derive(seed: u64, label: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"custody-scenario/v1\n");
    h.update(seed.to_be_bytes());
    h.update(label.as_bytes());
    h.finalize().into()
}

/// Detainees whose records are merged into ledger order together: one lap of the arrest
/// layout (an arrest every three days, wrapping after 600 days to stay within the keys'
/// validity). A world of up to `LAP` detainees is one block, ordered by recorded time; a
/// larger world is written lap after lap, each lap in recorded-time order (as if each lap
/// were a region whose records reach the ledger together). This is what keeps [`stream`]'s
/// memory flat: one lap of signed records at a time, whatever the number of detainees.
pub const LAP: usize = 200;

/// Builds the world on its fixed dates (the layout of the test vectors) and validates every
/// record in ledger order. Holds every record in memory: for large worlds use [`stream`].
pub fn build(config: &ScenarioConfig) -> Result<Scenario, ScenarioError> {
    build_shifted(config, 0)
}

/// Builds the world laid out so that it ends on the day before `as_of` (for a midnight
/// `as_of`, such as `custody demo`'s default of today 00:00 UTC, the last record falls in the
/// 24 hours before it, never after it), and validates every record in ledger order.
///
/// Every instant of [`build`]'s world, key validity and chain ids included, is moved by
/// [`day_offset_for`] whole days: the world is the same story on other dates, and the same
/// seed and `as_of` give the same bytes. Keys are valid at `as_of` (every world ends within
/// their three years). `as_of` is expected between the years 2000 and 9000.
pub fn build_as_of(config: &ScenarioConfig, as_of: &Timestamp) -> Result<Scenario, ScenarioError> {
    build_shifted(config, day_offset_for(config, as_of))
}

/// The whole days by which [`build_as_of`] moves the world of `config` so that its latest
/// record falls in the 24 hours before `as_of`. Lays the world out without signing anything.
pub fn day_offset_for(config: &ScenarioConfig, as_of: &Timestamp) -> i64 {
    dry_run(config, as_of).0
}

/// The day offset for `as_of` and the number of records of the world, from a dry run.
fn dry_run(config: &ScenarioConfig, as_of: &Timestamp) -> (i64, u64) {
    let root_key = SecretKey::from_seed(derive(config.seed, "key/root"));
    let mut w = world::World::new(config.seed, root_key, 0, true);
    w.register_authority();
    for i in 0..config.detainees {
        paths::walk(&mut w, i);
        if (i + 1) % LAP == 0 {
            w.take_block();
        }
    }
    (
        (as_of.unix_seconds() - 1 - w.latest()).div_euclid(world::DAY),
        w.signed(),
    )
}

/// The world's records in ledger order, produced as they are signed: the same records in the
/// same order as [`build`] (for `day_offset` 0), holding one [`LAP`] of detainees at a time.
///
/// The identity of the world (name, trust anchors, keys, actors) is known from the start;
/// [`ScenarioStream::redacted`] and [`ScenarioStream::ends_at`] are complete once the stream
/// is exhausted. Every record is validated as it is produced unless
/// [`ScenarioStream::unvalidated`] is asked for (the caller validates, e.g. `Ledger::append`).
pub struct ScenarioStream {
    /// Ledger name (checkpoint origin).
    pub name: String,
    /// Trust anchors (the root key).
    pub trust: TrustAnchors,
    /// The root key that writes the authority chain.
    pub root_key: SecretKey,
    /// Agency the root key signs for.
    pub root_agency: &'static str,
    /// The key that signs checkpoints.
    pub ledger_key: SecretKey,
    /// Every key holder.
    pub actors: Vec<Actor>,
    /// Whole days every instant of the world is moved by (0: the layout of the test vectors).
    pub day_offset: i64,
    /// End of validity (exclusive) of every enrolled key of the world.
    pub keys_valid_until: Timestamp,
    world: world::World,
    detainees: usize,
    next_detainee: usize,
    done: bool,
    ready: std::vec::IntoIter<Record>,
    validator: Option<Validator>,
    position: usize,
    keep_detainees: bool,
    kept: Vec<Detainee>,
    total: Option<u64>,
}

/// Streams the world on its fixed dates (see [`build`]).
pub fn stream(config: &ScenarioConfig) -> ScenarioStream {
    ScenarioStream::new(config, 0, None)
}

/// Streams the world laid out to end on the day before `as_of` (see [`build_as_of`]); a dry
/// run first finds the day offset and the number of records ([`ScenarioStream::total`]).
pub fn stream_as_of(config: &ScenarioConfig, as_of: &Timestamp) -> ScenarioStream {
    let (offset, total) = dry_run(config, as_of);
    ScenarioStream::new(config, offset, Some(total))
}

impl ScenarioStream {
    fn new(config: &ScenarioConfig, day_offset: i64, total: Option<u64>) -> Self {
        let root_key = SecretKey::from_seed(derive(config.seed, "key/root"));
        let ledger_key = SecretKey::from_seed(derive(config.seed, "key/ledger"));
        let trust = TrustAnchors {
            ledger: LEDGER_NAME.to_string(),
            roots: vec![TrustRoot {
                key: root_key.public(),
                agency: world::ROOT_AGENCY.to_string(),
            }],
        };
        let mut w = world::World::new(config.seed, root_key.clone(), day_offset, false);
        w.register_authority();
        let keys_valid_until = Timestamp::from_unix_seconds(
            world::EPOCH + day_offset * world::DAY + world::KEY_VALIDITY,
        );
        ScenarioStream {
            name: LEDGER_NAME.to_string(),
            validator: Some(Validator::new(trust.clone(), ValidatorConfig::default())),
            trust,
            root_key,
            root_agency: world::ROOT_AGENCY,
            ledger_key,
            actors: w.actors().to_vec(),
            day_offset,
            keys_valid_until,
            world: w,
            detainees: config.detainees,
            next_detainee: 0,
            done: false,
            ready: Vec::new().into_iter(),
            position: 0,
            keep_detainees: false,
            kept: Vec::new(),
            total,
        }
    }

    /// The same stream without its own validation: for a caller that validates every record
    /// itself (the ledger's append does), so that nothing is validated twice.
    pub fn unvalidated(mut self) -> Self {
        self.validator = None;
        self
    }

    /// The number of records the stream produces, when known (streams made by
    /// [`stream_as_of`], from their dry run).
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// Records produced so far.
    pub fn position(&self) -> usize {
        self.position
    }

    /// Detainees of the world.
    pub fn detainees(&self) -> usize {
        self.detainees
    }

    /// Events whose payload was lawfully redacted, among those produced so far (complete at
    /// the end: a store removes these payloads).
    pub fn redacted(&self) -> &[Hash] {
        self.world.redacted()
    }

    /// The latest `recorded_at` of the records signed so far: where the world's clock stops,
    /// once the stream is exhausted.
    pub fn ends_at(&self) -> Timestamp {
        Timestamp::from_unix_seconds(self.world.latest())
    }

    /// The detainees walked so far that took a path other than the common one (the first
    /// eight: the custody gap, the death in custody, the escape, ...).
    pub fn notable_detainees(&self) -> &[Detainee] {
        &self.kept
    }

    /// Walks the next lap of detainees and queues its records in ledger order.
    fn walk_lap(&mut self) {
        let end = (self.next_detainee + LAP).min(self.detainees);
        for i in self.next_detainee..end {
            paths::walk(&mut self.world, i);
        }
        self.next_detainee = end;
        self.done = end == self.detainees;
        let (records, detainees) = self.world.take_block();
        if self.keep_detainees {
            self.kept.extend(detainees);
        } else {
            self.kept
                .extend(detainees.into_iter().filter(|d| d.path != "common"));
        }
        self.ready = records.into_iter();
    }
}

impl Iterator for ScenarioStream {
    type Item = Result<Record, ScenarioError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.ready.next() {
                let position = self.position;
                self.position += 1;
                if let Some(v) = self.validator.as_mut() {
                    if let Err(error) = v.append(&r, None) {
                        self.done = true;
                        self.ready = Vec::new().into_iter();
                        return Some(Err(ScenarioError {
                            position,
                            kind: r.header.kind.to_string(),
                            chain: r.header.chain.clone(),
                            error: Box::new(error),
                        }));
                    }
                }
                return Some(Ok(r));
            }
            if self.done {
                return None;
            }
            self.walk_lap();
        }
    }
}

/// Builds the world with every instant moved by `day_offset` whole days.
fn build_shifted(config: &ScenarioConfig, day_offset: i64) -> Result<Scenario, ScenarioError> {
    let mut s = ScenarioStream::new(config, day_offset, None);
    s.keep_detainees = true;
    let mut records = Vec::new();
    for r in s.by_ref() {
        records.push(r?);
    }
    Ok(Scenario {
        ends_at: s.ends_at(),
        redacted: s.redacted().to_vec(),
        detainees: std::mem::take(&mut s.kept),
        name: s.name,
        trust: s.trust,
        root_key: s.root_key,
        root_agency: s.root_agency,
        ledger_key: s.ledger_key,
        records,
        actors: s.actors,
        day_offset,
        keys_valid_until: s.keys_valid_until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_core::EventKind;
    use std::collections::BTreeSet;

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let cfg = ScenarioConfig {
            seed: 7,
            detainees: 10,
        };
        let a = build(&cfg).unwrap();
        let b = build(&cfg).unwrap();
        assert_eq!(lines(&a), lines(&b));
        let c = build(&ScenarioConfig { seed: 8, ..cfg }).unwrap();
        assert_ne!(lines(&a), lines(&c));
    }

    #[test]
    fn eight_detainees_use_every_kind() {
        let s = build(&ScenarioConfig {
            seed: 1,
            detainees: 8,
        })
        .unwrap();
        let used: BTreeSet<EventKind> = s.records.iter().map(|r| r.header.kind).collect();
        for k in EventKind::ALL {
            assert!(used.contains(k), "kind {k} never used");
        }
        assert_eq!(s.redacted.len(), 1);
    }

    /// Regression: worlds of more than about 230 detainees signed records after the keys
    /// expired (arrests every three days ran past the three years of key validity).
    #[test]
    fn large_worlds_stay_within_key_validity() {
        let s = build(&ScenarioConfig {
            seed: 1,
            detainees: 260,
        })
        .unwrap();
        assert_eq!(s.detainees.len(), 260);
    }

    fn lines(s: &Scenario) -> Vec<String> {
        s.records.iter().map(|r| r.to_json_line()).collect()
    }

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    /// `--as-of`: the same story, every instant moved by whole days, ending in the 24 hours
    /// before the chosen midnight.
    #[test]
    fn as_of_moves_every_instant_by_whole_days_and_ends_before_that_day() {
        let cfg = ScenarioConfig {
            seed: 1,
            detainees: 12,
        };
        let base = build(&cfg).unwrap();
        assert_eq!(base.day_offset, 0);
        let as_of = at("2026-12-01T00:00:00Z");
        let moved = build_as_of(&cfg, &as_of).unwrap();
        let offset = moved.day_offset * 86_400;
        assert!(moved.day_offset > 2000, "{}", moved.day_offset);
        assert_eq!(moved.records.len(), base.records.len());
        for (a, b) in base.records.iter().zip(&moved.records) {
            assert_eq!(a.header.kind, b.header.kind);
            assert_eq!(a.header.seq, b.header.seq);
            assert_eq!(
                b.header.recorded_at.unix_seconds(),
                a.header.recorded_at.unix_seconds() + offset
            );
            assert_eq!(
                b.header.occurred_at.unix_seconds(),
                a.header.occurred_at.unix_seconds() + offset
            );
        }
        let last = moved
            .records
            .iter()
            .map(|r| r.header.recorded_at.unix_seconds())
            .max()
            .unwrap();
        assert_eq!(last, moved.ends_at.unix_seconds());
        assert!(last < as_of.unix_seconds(), "ends before as-of");
        assert!(
            last >= as_of.unix_seconds() - 86_400,
            "ends on the day before as-of"
        );
        // Dates inside bodies move too: key validity, and the years of reference numbers.
        let enrolled = moved
            .records
            .iter()
            .find(|r| r.header.kind == EventKind::KeyEnrolled)
            .unwrap();
        let body = &enrolled.payload.as_ref().unwrap().body;
        assert_eq!(body["valid_until"], moved.keys_valid_until.as_str());
        assert!(moved.keys_valid_until > as_of);
        let admission = moved
            .records
            .iter()
            .find(|r| r.header.kind == EventKind::Admission)
            .unwrap();
        let registry = admission.payload.as_ref().unwrap().body["registry_number"]
            .as_str()
            .unwrap()
            .to_string();
        let year = &admission.header.occurred_at.as_str()[..4];
        assert!(
            registry.contains(&format!("-{year}-")),
            "{registry} in {year}"
        );
    }

    #[test]
    fn same_seed_and_as_of_same_bytes_other_day_other_bytes() {
        let cfg = ScenarioConfig {
            seed: 3,
            detainees: 6,
        };
        let a = build_as_of(&cfg, &at("2026-03-10T00:00:00Z")).unwrap();
        let b = build_as_of(&cfg, &at("2026-03-10T00:00:00Z")).unwrap();
        assert_eq!(lines(&a), lines(&b));
        let c = build_as_of(&cfg, &at("2026-03-11T00:00:00Z")).unwrap();
        assert_eq!(c.day_offset, a.day_offset + 1);
        assert_ne!(lines(&a), lines(&c));
    }

    /// The dry run that finds the end lays out exactly the instants of the real world: asked
    /// for the day after the fixed layout ends, `build_as_of` gives `build`'s bytes.
    #[test]
    fn as_of_the_day_after_the_fixed_layout_is_the_fixed_layout() {
        let cfg = ScenarioConfig::default();
        let base = build(&cfg).unwrap();
        let end = base.ends_at.unix_seconds();
        let next_midnight = Timestamp::from_unix_seconds(end - end.rem_euclid(86_400) + 86_400);
        assert_eq!(day_offset_for(&cfg, &next_midnight), 0);
        let same = build_as_of(&cfg, &next_midnight).unwrap();
        assert_eq!(lines(&same), lines(&base));
    }

    /// Large worlds too end within the keys' validity when moved to a day.
    #[test]
    fn large_world_as_of_today_keeps_keys_valid() {
        let as_of = at("2026-12-01T00:00:00Z");
        let s = build_as_of(
            &ScenarioConfig {
                seed: 1,
                detainees: 260,
            },
            &as_of,
        )
        .unwrap();
        assert!(s.ends_at < as_of);
        assert!(s.keys_valid_until > as_of, "{:?}", s.keys_valid_until);
    }

    /// A world of one lap streams the very bytes and order of `build`.
    #[test]
    fn stream_of_one_lap_is_build() {
        let cfg = ScenarioConfig::default();
        let built = lines(&build(&cfg).unwrap());
        let streamed: Vec<String> = stream(&cfg).map(|r| r.unwrap().to_json_line()).collect();
        assert_eq!(streamed, built);
        let s = stream(&cfg);
        assert_eq!(s.total(), None);
        let as_of = at("2026-12-01T00:00:00Z");
        let mut moved = stream_as_of(&cfg, &as_of);
        let first = moved.next().unwrap().unwrap();
        assert_eq!(
            first.to_json_line(),
            build_as_of(&cfg, &as_of).unwrap().records[0].to_json_line()
        );
        let rest = moved.by_ref().count() as u64;
        assert_eq!(
            moved.total(),
            Some(rest + 1),
            "the dry run counts every record"
        );
    }

    /// A larger world is written lap after lap: once a record of a later lap appears, no
    /// chain of an earlier lap appears again (what bounds the generator's memory), every
    /// record validates, and every detainee has its chain.
    #[test]
    fn large_stream_is_written_lap_after_lap_and_validates() {
        let detainees = 2 * LAP + 50;
        let mut s = stream(&ScenarioConfig { seed: 1, detainees });
        let mut lap_of: std::collections::HashMap<String, usize> = Default::default();
        let mut current = 0usize;
        let mut seen_laps = BTreeSet::new();
        for r in s.by_ref() {
            let r = r.unwrap();
            if r.header.chain == custody_core::ids::AUTHORITY_CHAIN {
                assert_eq!(current, 0, "authority records come in the first lap");
                continue;
            }
            let lap = if r.header.seq == 0 {
                let lap = lap_of.len() / LAP;
                lap_of.insert(r.header.chain.clone(), lap);
                lap
            } else {
                lap_of[&r.header.chain]
            };
            assert!(lap >= current, "a chain of lap {lap} after lap {current}");
            current = lap;
            seen_laps.insert(lap);
        }
        assert_eq!(lap_of.len(), detainees);
        assert_eq!(seen_laps.len(), 3);
        assert_eq!(s.redacted().len(), 1);
        assert_eq!(s.notable_detainees().len(), 8);
    }

    #[test]
    fn demo_world_validates_and_has_one_custody_gap() {
        let s = build(&ScenarioConfig::default()).unwrap();
        let mut v = Validator::new(s.trust.clone(), ValidatorConfig::default());
        for r in s.published_records() {
            v.append(&r, None).unwrap();
        }
        let gaps = v
            .chains()
            .filter(|(_, c)| matches!(c.custody, custody_core::chain::Custody::Gap { .. }))
            .count();
        assert_eq!(gaps, 1);
        assert_eq!(s.detainees.len(), 50);
        assert!(s.records.len() > 50 * 10);
    }
}
