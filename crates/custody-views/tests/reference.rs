//! The reference scenario of issue 10: a small ledger built by hand, record by record, signed
//! with fixed keys (real Ed25519 signatures, checked by the real validator), whose expected
//! figures are worked out by hand below and written as literals: never computed by the code
//! under test.
//!
//! The report instant is AT = 2026-09-16T12:00:00Z (a Wednesday). Mali keeps UTC.
//!
//! Agencies: `ml-fama` (army, arrests), `ml-gendarmerie-camp1` (police custody),
//! `ml-securite-etat` (State Security), `ml-pole-judiciaire` (judges and clerks),
//! `ml-mca-bamako` (prison). Places: `camp1-gav` (capacity 10, official), `mca-bamako`
//! (capacity 5, official), `se-bamako` (capacity 30, NOT an official place of detention).
//!
//! Rule sets: an arrest before 13 June 2025 falls under `mali-cpp-2001`, from then under
//! `mali-cpp-2024` (same values, unconfirmed). First appearance 48 h, arrest recording 24 h,
//! police custody 48 h + one 24 h extension, custody gap 24 h ([alarms] of deploy/policy).
//!
//! | who | story | at AT |
//! |---|---|---|
//! | P | arrest 2026-09-14 08:00 (fama); to Camp I 10:00; police custody 11:00 at camp1-gav; access restricted 09-15 10:00 to 09-30, naming no judicial review; one extension 2026-09-16 09:00 | police custody at camp1-gav; no judge: NoFirstAppearance current, due 09-16 08:00, 4 h late; police custody ends 09-17 11:00 (48 + 24 h): not yet; RestrictionNotReviewed since 09-15 10:00 |
//! | A | arrest 2024-09-20 08:00; police custody 12:00 at camp1-gav; judge 09-21 10:00; order (crime) 2024-09-25 10:00 to 2025-09-25 10:00; MCA 09-26; renewed 2025-09-18 to 2026-09-25 10:00 | pre-trial at MCA, 1-2 years; OrderExpiring: the 8 working days before Friday 25 September 2026, 22 September (independence day) not counted, are 24, 23, 21, 18, 17, 16, 15, 14: the window opens 2026-09-14T00:00:00Z (without the holiday: the 15th) |
//! | B | arrest 2026-01-05 08:00; police custody 10:00; judge 01-06 09:00; order (misdemeanour over 2 y) 01-06 10:00 to 2026-07-06 10:00; MCA 01-07 | pre-trial at MCA, 6-12 months; OrderExpired current, due 07-06 10:00, 72 d 2 h = 1730 h late |
//! | C | arrest 2026-09-11 08:00; to Camp I 10:00; police custody 11:00; judge 09-12 09:00; order (crime) 09-12 10:00 to 2027-09-12; released to MCA 09-13 08:00, never accepted | custody gap, pre-trial, under 1 month; CustodyGap current, due 09-14 08:00, 52 h late |
//! | D | arrest 2026-06-01 08:00, recorded 06-02 10:00 (26 h later); to State Security 06-02 11:00 (se-bamako); to Camp I 06-09 11:00; police custody 12:00; judge 06-10 10:00; order (crime) 06-10 11:00 to 2027-06-10; MCA 06-11; access restricted 06-12 10:00 to 2026-09-12 00:00 (reviewed by the chambre d'accusation) | pre-trial at MCA, 1-6 months; ArrestRecordedLate (due 06-02 08:00, 2 h); FirstAppearanceLate (due 06-03 08:00, came 06-10 10:00: 170 h); UnofficialStay se-bamako 06-02 11:00 to 06-09 11:00; all under mali-cpp-2024; RestrictionExpired current, due 09-12 00:00, 108 h |
//! | E | arrest 2026-09-06 08:00; to State Security 10:00 at se-bamako | arrested, no legal event; HeldAtUnrecognisedPlace since 09-06 10:00; NoFirstAppearance current, due 09-08 08:00, 196 h late |
//! | F | arrest 2023-03-01 08:00; judge 03-02 09:00; order (crime) 03-02 10:00 to 2024-03-02; MCA 03-03; renewed 2024-02-26 to 2025-03-02; hearing held 2024-10-15 09:00 without the person; convicted (custodial) 2024-11-15 | convicted at MCA; HearingNotProduced since 2024-10-15 09:00 |
//! | G | arrest 2026-08-20 08:00; police custody 12:00; released 08-21 10:00 | released: no alarm |
//! | H | arrest 2026-08-03 08:00; released by fama to Camp I 10:00, accepted 08-04 14:00 (28 h); police custody 08-04 15:00; judge 08-07 10:00; order (misdemeanour up to 2 y) 08-07 11:00 to 2046-08-07 11:00 (20 years); MCA 08-08 | pre-trial at MCA, 1-6 months; CustodyGap past (due 08-04 10:00, 4 h); FirstAppearanceLate (due 08-05 08:00, 50 h); PoliceCustodyOverdue past (due 08-06 15:00, ended 08-07 10:00: 19 h); OrderLongerThanLaw and PreTrialBeyondLaw since 08-07 11:00 (lawful until 2026-09-07 11:00) |
//! | I | arrest 2023-01-10 08:00; judge 01-11 09:00; order (crime) 01-11 10:00 to 2024-01-11; MCA 01-12; renewed 2024-01-05 to 2025-01-11, 2025-01-06 to 2026-01-11, 2026-01-05 to 2027-01-11 | pre-trial at MCA, over 3 years; RenewalBeyondLaw (the third renewal, 2026-01-05 10:00); PreTrialBeyondLaw since 2026-01-05 10:00 (lawful until 2026-01-11 10:00) |
//!
//! Hence at AT: 10 chains; held 8 (P A B D E F H I), in a custody gap 1 (C), released 1 (G);
//! deprived of liberty 9, of whom pre-trial 6 (A B C D H I), police custody 1 (P), arrested
//! with no legal event 1 (E), convicted 1 (F). Population: camp1-gav 1 / 10, mca-bamako 6 / 5
//! (A B D F H I: 120 %), se-bamako 1 / 30 (E). Pre-trial share of the 9: 6/9 = 66.7 %; at
//! MCA 5 of 6. Ageing of the 6 pre-trial detentions from the start of their first order:
//! under 1 month 1 (C), 1-6 months 2 (D, H), 6-12 months 1 (B), 1-2 years 1 (A), 2-3 years 0,
//! over 3 years 1 (I).
//!
//! The backlog (`custody_views::backlog`) at AT, by hand:
//!
//! - by facility: camp1-gav P (held 1, pre-trial 0); mca-bamako A B D F H I (held 6, pre-trial
//!   5 = 83.3 %, overdue 1 (B), ageing 0/2/1/1/0/1); se-bamako E (held 1, pre-trial 0); no
//!   facility: C in the gap (held 1, pre-trial 1, under 1 month);
//! - by court (the order's issuing authority): "Pôle judiciaire spécialisé de Bamako" A C D F I
//!   (held 5, pre-trial 4: C under 1 month, D 1-6 months, A 1-2 years, I over 3 years);
//!   "Tribunal de grande instance de la commune III" B H (held 2, pre-trial 2, overdue 1 (B));
//!   no order: P E (held 2, pre-trial 0);
//! - longest waits, in whole days since the start of the first order: I 1344 (2023-01-11 10:00),
//!   A 721 (2024-09-25 10:00), B 253 (2026-01-06 10:00), D 98, H 40, C 4;
//! - occupancy: camp1-gav 1 / 10 (10 %), mca-bamako 6 / 5 (120 %), se-bamako 1 / 30, not an
//!   official place of detention.

use std::collections::BTreeMap;
use std::path::Path;

use custody_core::authority::{TrustAnchors, TrustRoot};
use custody_core::ids::{detainee_chain_id, AUTHORITY_CHAIN};
use custody_core::validate::{Validator, ValidatorConfig};
use custody_core::{Draft, EventKind as K, Hash, Record, SecretKey, Timestamp};
use custody_views::alarms::{alarms_with_forks, AlarmKind as A, AlarmReport, ForkInfo};
use custody_views::backlog::{backlog, AgeBucket, BacklogFilter};
use custody_views::calendar::Calendar;
use custody_views::census::{CustodyStatus, LegalStatus};
use custody_views::detainee::Projection;
use custody_views::policy::PolicySet;
use serde_json::{json, Value};

const LEDGER: &str = "reference.example.ml";
const CAMP1: &str = "ml-gendarmerie-camp1";
const SE: &str = "ml-securite-etat";
const MCA: &str = "ml-mca-bamako";
const FAMA: &str = "ml-fama";
const POLE: &str = "ml-pole-judiciaire";
/// The two courts whose orders the story holds (fact `issuing_authority`).
const PJS: &str = "Pôle judiciaire spécialisé de Bamako";
const TGI: &str = "Tribunal de grande instance de la commune III";

/// `YYYY-MM-DD HH:MM` (UTC) as a timestamp.
fn t(text: &str) -> Timestamp {
    Timestamp::parse(&format!("{}T{}:00Z", &text[..10], &text[11..])).expect("a test instant")
}

fn at() -> Timestamp {
    t("2026-09-16 12:00")
}

#[derive(Clone, Copy)]
enum Who {
    Fama,
    Camp1,
    Se,
    Pole,
    Mca,
}

struct Chain {
    id: String,
    seq: u64,
    prev: Option<Hash>,
}

struct World {
    root: SecretKey,
    keys: [SecretKey; 5],
    records: Vec<Record>,
    salts: u64,
    authority: Chain,
    chains: u128,
}

fn agency(who: Who) -> &'static str {
    match who {
        Who::Fama => FAMA,
        Who::Camp1 => CAMP1,
        Who::Se => SE,
        Who::Pole => POLE,
        Who::Mca => MCA,
    }
}

fn place() -> Value {
    json!({"description": "Bamako", "region": "Bamako District"})
}

fn no_injury() -> Value {
    json!({"visible_injuries": {"present": false}, "complaints_of_ill_treatment": {"present": false}})
}

impl World {
    fn new() -> World {
        let mut w = World {
            root: SecretKey::from_seed([1; 32]),
            keys: [2u8, 3, 4, 5, 6].map(|n| SecretKey::from_seed([n; 32])),
            records: Vec::new(),
            salts: 0,
            authority: Chain {
                id: AUTHORITY_CHAIN.into(),
                seq: 0,
                prev: None,
            },
            chains: 0,
        };
        w.register();
        w
    }

    fn trust(&self) -> TrustAnchors {
        TrustAnchors {
            ledger: LEDGER.into(),
            roots: vec![TrustRoot {
                key: self.root.public(),
                agency: "ml-ministere-justice".into(),
            }],
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn sign(
        chain: &mut Chain,
        salts: &mut u64,
        key: &SecretKey,
        agency: &str,
        kind: K,
        occurred: Timestamp,
        recorded: Timestamp,
        body: Value,
    ) -> Record {
        *salts += 1;
        let mut salt = [0u8; 16];
        salt[..8].copy_from_slice(&salts.to_be_bytes());
        let r = Draft {
            ledger: LEDGER.into(),
            chain: chain.id.clone(),
            seq: chain.seq,
            prev: chain.prev,
            kind,
            occurred_at: occurred,
            recorded_at: recorded,
            agency: agency.into(),
            body,
        }
        .sign(key, &salt);
        chain.seq += 1;
        chain.prev = Some(r.hash);
        r
    }

    fn authority_event(&mut self, kind: K, body: Value) {
        let when = Timestamp::parse("2019-01-01T00:00:00Z")
            .expect("instant")
            .plus_seconds(60 * self.authority.seq as i64);
        let r = Self::sign(
            &mut self.authority,
            &mut self.salts,
            &self.root,
            "ml-ministere-justice",
            kind,
            when.clone(),
            when,
            body,
        );
        self.records.push(r);
    }

    fn register(&mut self) {
        for (id, ty) in [
            (FAMA, "military"),
            (CAMP1, "gendarmerie"),
            (SE, "police"),
            (POLE, "court"),
            (MCA, "prison"),
        ] {
            self.authority_event(
                K::AgencyRegistered,
                json!({"id": id, "name": format!("agency {id}"), "type": ty, "country": "ML"}),
            );
        }
        for (id, agency, kind, capacity, recognised) in [
            ("camp1-gav", CAMP1, "gendarmerie_post", 10, true),
            ("se-bamako", SE, "other", 30, false),
            ("mca-bamako", MCA, "prison", 5, true),
        ] {
            self.authority_event(
                K::FacilityRegistered,
                json!({"id": id, "agency": agency, "name": format!("facility {id}"), "kind": kind,
                       "capacity": capacity, "officially_recognised": recognised, "place": place()}),
            );
        }
        let roles = [
            (FAMA, vec!["arresting_officer"]),
            (CAMP1, vec!["judicial_police_officer"]),
            (SE, vec!["judicial_police_officer"]),
            (
                POLE,
                vec!["investigating_judge", "court_clerk", "prosecutor"],
            ),
            (MCA, vec!["registrar"]),
        ];
        for (i, (agency, roles)) in roles.into_iter().enumerate() {
            let key = self.keys[i].public();
            self.authority_event(
                K::KeyEnrolled,
                json!({"key": key.to_string(), "agency": agency, "roles": roles,
                       "holder_name": "agent", "holder_badge": "B-1", "valid_from": "2019-01-01T00:00:00Z"}),
            );
        }
    }

    fn new_chain(&mut self) -> Chain {
        self.chains += 1;
        Chain {
            id: detainee_chain_id((2u128 << 100) | self.chains),
            seq: 0,
            prev: None,
        }
    }

    fn late(
        &mut self,
        c: &mut Chain,
        who: Who,
        kind: K,
        occurred: &str,
        recorded: &str,
        body: Value,
    ) -> Hash {
        let key = self.keys[who as usize].clone();
        let r = Self::sign(
            c,
            &mut self.salts,
            &key,
            agency(who),
            kind,
            t(occurred),
            t(recorded),
            body,
        );
        let h = r.hash;
        self.records.push(r);
        h
    }

    fn rec(&mut self, c: &mut Chain, who: Who, kind: K, when: &str, body: Value) -> Hash {
        self.late(c, who, kind, when, when, body)
    }

    fn arrest_recorded(&mut self, when: &str, recorded: &str) -> Chain {
        let mut c = self.new_chain();
        self.late(
            &mut c,
            Who::Fama,
            K::Arrest,
            when,
            recorded,
            json!({"person": {"physical_description": "man of about 30", "identity_basis": "unknown"},
                   "place": {"description": "road checkpoint", "region": "Mopti"},
                   "arresting_force": FAMA, "officer": {"name": "Lieutenant B. Coulibaly"},
                   "grounds": "found near the site of an attack", "suspected_offence": "suspected membership of an armed group",
                   "ordering_authority": "flagrant délit",
                   "visible_injuries": {"present": false}, "complaints_of_ill_treatment": {"present": false}}),
        );
        c
    }

    fn arrest(&mut self, when: &str) -> Chain {
        self.arrest_recorded(when, when)
    }

    fn release_to(
        &mut self,
        c: &mut Chain,
        from: Who,
        to: Who,
        facility: &str,
        when: &str,
        status: &str,
    ) -> Hash {
        self.rec(
            c,
            from,
            K::CustodyReleased,
            when,
            json!({"to_agency": agency(to), "to_facility": facility, "place": place(),
                   "reason": "transfer", "legal_status": status, "transport": "road convoy"}),
        )
    }

    fn accept(&mut self, c: &mut Chain, who: Who, release: Hash, facility: &str, when: &str) {
        self.rec(
            c,
            who,
            K::CustodyAccepted,
            when,
            json!({"release_event": release.to_hex(), "facility": facility, "condition_on_arrival": no_injury()}),
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn handover(
        &mut self,
        c: &mut Chain,
        from: Who,
        to: Who,
        facility: &str,
        when: &str,
        accepted: &str,
        status: &str,
    ) {
        let r = self.release_to(c, from, to, facility, when, status);
        self.accept(c, to, r, facility, accepted);
    }

    fn police_custody(&mut self, c: &mut Chain, when: &str) {
        self.rec(
            c,
            Who::Camp1,
            K::PoliceCustodyStarted,
            when,
            json!({"facility": "camp1-gav", "started_at": t(when).as_str(), "officer": {"name": "Adjudant-chef M. Diarra"},
                   "grounds": "handed over by the army", "suspected_offence": "offence (suspected)",
                   "regime": "ordinary", "rights_notified": true, "rights_language": "Bambara"}),
        );
    }

    fn extend_police_custody(&mut self, c: &mut Chain, when: &str, until: &str) {
        self.rec(
            c,
            Who::Camp1,
            K::PoliceCustodyExtended,
            when,
            json!({"authorisation_ref": "PJS/PR/GAV/1", "authorised_by": "Procureur de la République",
                   "extension_hours": 24, "extended_until": t(until).as_str(),
                   "reasons": "hearing of witnesses under way", "presented_to_authority": true}),
        );
    }

    fn judge(&mut self, c: &mut Chain, when: &str) {
        self.rec(
            c,
            Who::Pole,
            K::JudicialAppearance,
            when,
            json!({"authority": "Pôle judiciaire spécialisé", "judge": "Juge d'instruction du 2e cabinet",
                   "appeared_at": t(when).as_str(), "case_ref": "PJS/RI/1", "counsel_present": false,
                   "outcome": "remanded_in_custody", "complaints_of_ill_treatment": {"present": false}}),
        );
    }

    fn order(&mut self, c: &mut Chain, class: &str, when: &str, until: &str) -> Hash {
        self.order_by(c, PJS, class, when, until)
    }

    fn order_by(
        &mut self,
        c: &mut Chain,
        court: &str,
        class: &str,
        when: &str,
        until: &str,
    ) -> Hash {
        self.rec(
            c,
            Who::Pole,
            K::DetentionOrder,
            when,
            json!({"issuing_authority": court, "order_ref": format!("PJS/MD/{}", self.salts),
                   "offence_class": class, "start": t(when).as_str(), "valid_until": t(until).as_str(),
                   "legal_basis": "code de procédure pénale"}),
        )
    }

    fn extend(&mut self, c: &mut Chain, order: Hash, when: &str, until: &str) {
        self.rec(
            c,
            Who::Pole,
            K::DetentionExtended,
            when,
            json!({"order_event": order.to_hex(), "order_ref": "PJS/MD/1", "extension_ref": format!("PJS/OP/{}", self.salts),
                   "issuing_authority": "Juge d'instruction", "valid_until": t(until).as_str(),
                   "reasons": "investigation abroad pending"}),
        );
    }

    fn admit(&mut self, c: &mut Chain, order: Hash, when: &str) {
        self.rec(
            c,
            Who::Mca,
            K::Admission,
            when,
            json!({"facility": "mca-bamako", "registry_number": format!("MCA-{}", self.salts),
                   "commitment_order_event": order.to_hex(), "commitment_order_ref": "PJS/MD",
                   "commitment_authority": "Juge d'instruction", "commitment_grounds": "mandat de dépôt",
                   "legal_status": "pre_trial_detention", "unit_or_cell": "quartier B", "rules_explained": true, "rules_language": "Bambara",
                   "social_interview_done": false,
                   "visible_injuries": {"present": false}, "complaints_of_ill_treatment": {"present": false}}),
        );
    }

    /// An art. 20 restriction of relatives' access, decided `when`, to `until`.
    fn restrict(&mut self, c: &mut Chain, when: &str, until: &str, review: Option<&str>) {
        let mut body = json!({"decision_ref": format!("PJS/ORD/{}", self.salts),
            "authority": "Juge d'instruction du 2e cabinet",
            "reasons": "disclosure would compromise the arrest of co-suspects; the fact of detention is disclosed",
            "until": t(until).as_str()});
        if let Some(r) = review {
            body["reviewing_authority"] = json!(r);
        }
        self.rec(c, Who::Pole, K::AccessRestricted, when, body);
    }

    /// Camp I hands the person to MCA (accepted at once), which admits on `order` an hour later.
    fn hand_to_mca(&mut self, c: &mut Chain, order: Hash, when: &str, admitted: &str) {
        self.handover(
            c,
            Who::Camp1,
            Who::Mca,
            "mca-bamako",
            when,
            when,
            "pre_trial_detention",
        );
        self.admit(c, order, admitted);
    }
}

/// The ledger of the table above, in ledger order (by recording time), with the chain id of
/// each person.
fn story() -> (TrustAnchors, Vec<Record>, BTreeMap<char, String>) {
    let mut w = World::new();
    let mut who = BTreeMap::new();

    // P: police custody, no judge yet.
    let mut p = w.arrest("2026-09-14 08:00");
    w.handover(
        &mut p,
        Who::Fama,
        Who::Camp1,
        "camp1-gav",
        "2026-09-14 10:00",
        "2026-09-14 10:00",
        "arrested",
    );
    w.police_custody(&mut p, "2026-09-14 11:00");
    w.restrict(&mut p, "2026-09-15 10:00", "2026-09-30 00:00", None);
    w.extend_police_custody(&mut p, "2026-09-16 09:00", "2026-09-17 11:00");
    who.insert('P', p.id.clone());

    // A: order renewed, expiring 2026-09-25 10:00.
    let mut a = w.arrest("2024-09-20 08:00");
    w.handover(
        &mut a,
        Who::Fama,
        Who::Camp1,
        "camp1-gav",
        "2024-09-20 11:00",
        "2024-09-20 11:00",
        "arrested",
    );
    w.police_custody(&mut a, "2024-09-20 12:00");
    w.judge(&mut a, "2024-09-21 10:00");
    let order = w.order(&mut a, "crime", "2024-09-25 10:00", "2025-09-25 10:00");
    w.hand_to_mca(&mut a, order, "2024-09-26 08:00", "2024-09-26 09:00");
    w.extend(&mut a, order, "2025-09-18 10:00", "2026-09-25 10:00");
    who.insert('A', a.id.clone());

    // B: order expired 2026-07-06 10:00, still held.
    let mut b = w.arrest("2026-01-05 08:00");
    w.handover(
        &mut b,
        Who::Fama,
        Who::Camp1,
        "camp1-gav",
        "2026-01-05 09:00",
        "2026-01-05 09:00",
        "arrested",
    );
    w.police_custody(&mut b, "2026-01-05 10:00");
    w.judge(&mut b, "2026-01-06 09:00");
    let order = w.order_by(
        &mut b,
        TGI,
        "misdemeanour_over_2y",
        "2026-01-06 10:00",
        "2026-07-06 10:00",
    );
    w.hand_to_mca(&mut b, order, "2026-01-07 08:00", "2026-01-07 09:00");
    who.insert('B', b.id.clone());

    // C: released to MCA, never accepted.
    let mut c = w.arrest("2026-09-11 08:00");
    w.handover(
        &mut c,
        Who::Fama,
        Who::Camp1,
        "camp1-gav",
        "2026-09-11 10:00",
        "2026-09-11 10:00",
        "arrested",
    );
    w.police_custody(&mut c, "2026-09-11 11:00");
    w.judge(&mut c, "2026-09-12 09:00");
    w.order(&mut c, "crime", "2026-09-12 10:00", "2027-09-12 10:00");
    w.release_to(
        &mut c,
        Who::Camp1,
        Who::Mca,
        "mca-bamako",
        "2026-09-13 08:00",
        "pre_trial_detention",
    );
    who.insert('C', c.id.clone());

    // D: recorded late, a week at State Security, judge late.
    let mut d = w.arrest_recorded("2026-06-01 08:00", "2026-06-02 10:00");
    w.handover(
        &mut d,
        Who::Fama,
        Who::Se,
        "se-bamako",
        "2026-06-02 11:00",
        "2026-06-02 11:00",
        "arrested",
    );
    w.handover(
        &mut d,
        Who::Se,
        Who::Camp1,
        "camp1-gav",
        "2026-06-09 11:00",
        "2026-06-09 11:00",
        "arrested",
    );
    w.police_custody(&mut d, "2026-06-09 12:00");
    w.judge(&mut d, "2026-06-10 10:00");
    let order = w.order(&mut d, "crime", "2026-06-10 11:00", "2027-06-10 11:00");
    w.hand_to_mca(&mut d, order, "2026-06-11 08:00", "2026-06-11 09:00");
    w.restrict(
        &mut d,
        "2026-06-12 10:00",
        "2026-09-12 00:00",
        Some("Chambre d'accusation de la Cour d'appel de Bamako"),
    );
    who.insert('D', d.id.clone());

    // E: held at State Security, no legal event.
    let mut e = w.arrest("2026-09-06 08:00");
    w.handover(
        &mut e,
        Who::Fama,
        Who::Se,
        "se-bamako",
        "2026-09-06 10:00",
        "2026-09-06 10:00",
        "arrested",
    );
    who.insert('E', e.id.clone());

    // F: convicted; a hearing without the person.
    let mut f = w.arrest("2023-03-01 08:00");
    w.handover(
        &mut f,
        Who::Fama,
        Who::Camp1,
        "camp1-gav",
        "2023-03-01 10:00",
        "2023-03-01 10:00",
        "arrested",
    );
    w.judge(&mut f, "2023-03-02 09:00");
    let order = w.order(&mut f, "crime", "2023-03-02 10:00", "2024-03-02 10:00");
    w.hand_to_mca(&mut f, order, "2023-03-03 08:00", "2023-03-03 09:00");
    w.extend(&mut f, order, "2024-02-26 10:00", "2025-03-02 10:00");
    let scheduled = w.rec(
        &mut f,
        Who::Pole,
        K::HearingScheduled,
        "2024-10-01 10:00",
        json!({"court": "Cour d'assises de Bamako", "hearing_at": t("2024-10-15 09:00").as_str(),
               "case_ref": "PJS/RI/2023/7", "purpose": "trial"}),
    );
    w.rec(
        &mut f,
        Who::Pole,
        K::HearingHeld,
        "2024-10-15 09:00",
        json!({"court": "Cour d'assises de Bamako", "hearing_at": t("2024-10-15 09:00").as_str(),
               "case_ref": "PJS/RI/2023/7", "produced": false,
               "reason_not_produced": "no escort vehicle available at the MCA", "counsel_present": false,
               "outcome": "adjourned", "scheduled_event": scheduled.to_hex()}),
    );
    w.rec(
        &mut f,
        Who::Pole,
        K::Judgment,
        "2024-11-15 10:00",
        json!({"court": "Cour d'assises de Bamako", "judgment_ref": "CA/2024/11", "outcome": "convicted",
               "custodial": true, "sentence_months": 60,
               "convicted_of": [{"offence": "détention illégale d'arme de guerre"}]}),
    );
    who.insert('F', f.id.clone());

    // G: released without charge.
    let mut g = w.arrest("2026-08-20 08:00");
    w.handover(
        &mut g,
        Who::Fama,
        Who::Camp1,
        "camp1-gav",
        "2026-08-20 11:00",
        "2026-08-20 11:00",
        "arrested",
    );
    w.police_custody(&mut g, "2026-08-20 12:00");
    w.rec(
        &mut g,
        Who::Camp1,
        K::Release,
        "2026-08-21 10:00",
        json!({"facility": "camp1-gav", "place": place(), "reason": "no_charge",
               "authority": "Procureur de la République", "verification": {"method": "signed_by_released_person"}}),
    );
    who.insert('G', g.id.clone());

    // H: a handover accepted after 28 h; a 20-year order for an offence of at most 2 years.
    let mut h = w.arrest("2026-08-03 08:00");
    w.handover(
        &mut h,
        Who::Fama,
        Who::Camp1,
        "camp1-gav",
        "2026-08-03 10:00",
        "2026-08-04 14:00",
        "arrested",
    );
    w.police_custody(&mut h, "2026-08-04 15:00");
    w.judge(&mut h, "2026-08-07 10:00");
    let order = w.order_by(
        &mut h,
        TGI,
        "misdemeanour_up_to_2y",
        "2026-08-07 11:00",
        "2046-08-07 11:00",
    );
    w.hand_to_mca(&mut h, order, "2026-08-08 08:00", "2026-08-08 09:00");
    who.insert('H', h.id.clone());

    // I: more than three years of pre-trial detention, a third renewal.
    let mut i = w.arrest("2023-01-10 08:00");
    w.handover(
        &mut i,
        Who::Fama,
        Who::Camp1,
        "camp1-gav",
        "2023-01-10 10:00",
        "2023-01-10 10:00",
        "arrested",
    );
    w.judge(&mut i, "2023-01-11 09:00");
    let order = w.order(&mut i, "crime", "2023-01-11 10:00", "2024-01-11 10:00");
    w.hand_to_mca(&mut i, order, "2023-01-12 08:00", "2023-01-12 09:00");
    w.extend(&mut i, order, "2024-01-05 10:00", "2025-01-11 10:00");
    w.extend(&mut i, order, "2025-01-06 10:00", "2026-01-11 10:00");
    w.extend(&mut i, order, "2026-01-05 10:00", "2027-01-11 10:00");
    who.insert('I', i.id.clone());

    let trust = w.trust();
    let mut records = w.records;
    records.sort_by(|x, y| x.header.recorded_at.cmp(&y.header.recorded_at));
    let mut v = Validator::new(trust.clone(), ValidatorConfig::default());
    for (n, r) in records.iter().enumerate() {
        v.replay(r).unwrap_or_else(|e| {
            panic!(
                "record {n} ({} on {}) refused: {e}",
                r.header.kind, r.header.chain
            )
        });
    }
    (trust, records, who)
}

fn policies() -> PolicySet {
    PolicySet::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/policy"))
        .expect("deploy/policy")
}

fn calendar() -> Calendar {
    Calendar::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/policy/calendar"))
        .expect("deploy/policy/calendar")
}

/// The alarms at an instant (the fork of the story included: E's chain, seen 2026-09-15 09:00).
fn report(p: &Projection, who: &BTreeMap<char, String>, when: &Timestamp) -> AlarmReport {
    let fork = ForkInfo {
        chain: who[&'E'].clone(),
        seq: 1,
        stored: Hash::of(b"stored"),
        other: Hash::of(b"other"),
        seen_at: t("2026-09-15 09:00"),
    };
    alarms_with_forks(p, &policies(), &calendar(), "ML", when, &[fork])
}

/// (person, kind, current, hours late, since) of every alarm, sorted.
fn alarm_table(r: &AlarmReport, who: &BTreeMap<char, String>) -> Vec<(char, A, bool, i64, String)> {
    let mut v: Vec<_> = r
        .alarms
        .iter()
        .map(|a| {
            let name = who
                .iter()
                .find(|(_, chain)| **chain == a.chain)
                .map(|(n, _)| *n)
                .expect("a person of the story");
            (name, a.kind, a.current, a.hours_late, a.since.to_string())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn the_reference_figures_per_person_status_and_place() {
    let (_, records, who) = story();
    let p = Projection::of_records(&records);
    assert_eq!(p.detainees.len(), 10);
    let d = |n: char| p.detainee(&who[&n]).expect("folded");

    let expected_status = [
        (
            'P',
            Some(CustodyStatus::Held),
            LegalStatus::PoliceCustody,
            Some("camp1-gav"),
        ),
        (
            'A',
            Some(CustodyStatus::Held),
            LegalStatus::PreTrialDetention,
            Some("mca-bamako"),
        ),
        (
            'B',
            Some(CustodyStatus::Held),
            LegalStatus::PreTrialDetention,
            Some("mca-bamako"),
        ),
        (
            'C',
            Some(CustodyStatus::Gap),
            LegalStatus::PreTrialDetention,
            None,
        ),
        (
            'D',
            Some(CustodyStatus::Held),
            LegalStatus::PreTrialDetention,
            Some("mca-bamako"),
        ),
        (
            'E',
            Some(CustodyStatus::Held),
            LegalStatus::Arrested,
            Some("se-bamako"),
        ),
        (
            'F',
            Some(CustodyStatus::Held),
            LegalStatus::Convicted,
            Some("mca-bamako"),
        ),
        (
            'G',
            Some(CustodyStatus::Released),
            LegalStatus::Released,
            None,
        ),
        (
            'H',
            Some(CustodyStatus::Held),
            LegalStatus::PreTrialDetention,
            Some("mca-bamako"),
        ),
        (
            'I',
            Some(CustodyStatus::Held),
            LegalStatus::PreTrialDetention,
            Some("mca-bamako"),
        ),
    ];
    for (n, custody, legal, facility) in expected_status {
        assert_eq!(d(n).custody_status(), custody, "{n}");
        assert_eq!(d(n).legal, legal, "{n}");
        assert_eq!(d(n).current_facility(), facility, "{n}");
    }
    assert_eq!(d('P').holder(), Some(CAMP1));
    assert_eq!(d('E').holder(), Some(SE));
    assert_eq!(d('C').holder(), None);

    // Counts by legal status of the 9 deprived of liberty.
    let mut by_legal: BTreeMap<LegalStatus, u64> = BTreeMap::new();
    for f in p.detainees.values().filter(|f| f.is_open()) {
        *by_legal.entry(f.legal).or_default() += 1;
    }
    assert_eq!(
        by_legal.into_iter().collect::<Vec<_>>(),
        vec![
            (LegalStatus::Arrested, 1),
            (LegalStatus::PoliceCustody, 1),
            (LegalStatus::PreTrialDetention, 6),
            (LegalStatus::Convicted, 1),
        ]
    );
    // Population per place.
    let mut population: BTreeMap<&str, u32> = BTreeMap::new();
    for f in p.detainees.values().filter(|f| f.holder().is_some()) {
        if let Some(place) = f.current_facility() {
            *population.entry(place).or_default() += 1;
        }
    }
    assert_eq!(
        population.into_iter().collect::<Vec<_>>(),
        vec![("camp1-gav", 1), ("mca-bamako", 6), ("se-bamako", 1)]
    );
    assert_eq!(
        p.directory.facility("mca-bamako").map(|f| f.capacity),
        Some(5)
    );
    assert!(!p.directory.is_recognised_facility("se-bamako"));

    // Per-detainee fields the reports read.
    assert_eq!(
        d('A').current_order().map(|o| o.valid_until.clone()),
        Some(t("2026-09-25 10:00"))
    );
    assert_eq!(d('A').current_order().map(|o| o.extensions.len()), Some(1));
    assert_eq!(d('I').current_order().map(|o| o.extensions.len()), Some(3));
    assert_eq!(d('B').pre_trial_since(), Some(&t("2026-01-06 10:00")));
    assert_eq!(
        d('D').first_admission().map(|a| a.at.clone()),
        Some(t("2026-06-11 09:00"))
    );
    assert_eq!(
        d('D').arrest.as_ref().map(|a| a.recorded_at.clone()),
        Some(t("2026-06-02 10:00"))
    );
    assert_eq!(d('D').stays.len(), 3, "se-bamako, camp1-gav, mca-bamako");
    assert_eq!(d('D').stays[0].until, Some(t("2026-06-09 11:00")));
    assert_eq!(d('H').handovers[0].accepted_at, Some(t("2026-08-04 14:00")));
    assert_eq!(
        d('C').handovers.last().and_then(|h| h.accepted_at.clone()),
        None
    );
    assert_eq!(
        d('P').police_custody.as_ref().map(|pc| pc.extensions.len()),
        Some(1)
    );
    assert_eq!(d('F').hearings.len(), 1);
}

#[test]
fn every_alarm_of_the_reference_at_its_instant() {
    let (_, records, who) = story();
    let p = Projection::of_records(&records);
    let r = report(&p, &who, &at());
    assert!(r.uncovered.is_empty(), "{:?}", r.uncovered);
    let s = |x: &str| t(x).to_string();
    let s1 = |x: &str| t(x).plus_seconds(1).to_string();
    let mut expected = vec![
        ('P', A::NoFirstAppearance, true, 4, s1("2026-09-16 08:00")),
        (
            'P',
            A::RestrictionNotReviewed,
            true,
            0,
            s("2026-09-15 10:00"),
        ),
        (
            'A',
            A::OrderExpiring,
            true,
            0,
            "2026-09-14T00:00:00Z".to_string(),
        ),
        ('B', A::OrderExpired, true, 1730, s1("2026-07-06 10:00")),
        ('C', A::CustodyGap, true, 52, s1("2026-09-14 08:00")),
        ('D', A::ArrestRecordedLate, false, 2, s("2026-06-02 10:00")),
        (
            'D',
            A::FirstAppearanceLate,
            false,
            170,
            s("2026-06-10 10:00"),
        ),
        ('D', A::UnofficialStay, false, 0, s("2026-06-02 11:00")),
        (
            'D',
            A::RestrictionExpired,
            true,
            108,
            s1("2026-09-12 00:00"),
        ),
        (
            'E',
            A::HeldAtUnrecognisedPlace,
            true,
            0,
            s("2026-09-06 10:00"),
        ),
        ('E', A::NoFirstAppearance, true, 196, s1("2026-09-08 08:00")),
        ('E', A::Fork, true, 0, s("2026-09-15 09:00")),
        ('F', A::HearingNotProduced, false, 0, s("2024-10-15 09:00")),
        ('H', A::CustodyGap, false, 4, s1("2026-08-04 10:00")),
        (
            'H',
            A::FirstAppearanceLate,
            false,
            50,
            s("2026-08-07 10:00"),
        ),
        (
            'H',
            A::PoliceCustodyOverdue,
            false,
            19,
            s1("2026-08-06 15:00"),
        ),
        ('H', A::OrderLongerThanLaw, true, 0, s("2026-08-07 11:00")),
        ('H', A::PreTrialBeyondLaw, true, 0, s("2026-08-07 11:00")),
        ('I', A::RenewalBeyondLaw, true, 0, s("2026-01-05 10:00")),
        ('I', A::PreTrialBeyondLaw, true, 0, s("2026-01-05 10:00")),
    ];
    expected.sort();
    assert_eq!(alarm_table(&r, &who), expected);

    // The rule each time limit comes from: D's arrest is under the 2024 code (unconfirmed).
    for a in r
        .alarms
        .iter()
        .filter(|a| a.chain == who[&'D'])
        .filter(|a| matches!(a.kind, A::ArrestRecordedLate | A::FirstAppearanceLate))
    {
        let rule = a.rule.as_ref().expect("a rule");
        assert_eq!(rule.code, "mali-cpp-2024", "{a:?}");
    }
    let b = r
        .alarms
        .iter()
        .find(|a| a.kind == A::OrderExpired)
        .expect("B");
    assert_eq!(b.due, Some(t("2026-07-06 10:00")));
    assert_eq!(
        b.rule.as_ref().map(|r| r.code.as_str()),
        Some("mali-cpp-2024")
    );
    assert_eq!(
        b.rule.as_ref().map(|r| r.rule.as_str()),
        Some("pre_trial.misdemeanour_over_2y")
    );
    let a = r
        .alarms
        .iter()
        .find(|a| a.kind == A::OrderExpiring)
        .expect("A");
    assert_eq!(a.due, Some(t("2026-09-25 10:00")));
    assert_eq!(
        a.rule.as_ref().map(|r| r.rule.as_str()),
        Some("pre_trial.crime")
    );
    assert_eq!(
        a.rule.as_ref().map(|r| r.code.as_str()),
        Some("mali-cpp-2001")
    );

    // French first, English on request; codes, never names.
    let fr = r.lines(true).join("\n");
    assert!(fr.contains("mandat de dépôt expiré"), "{fr}");
    assert!(
        fr.contains(&p.detainee(&who[&'B']).expect("B").code),
        "{fr}"
    );
    // Dates the French way in French, numbers with a narrow space for thousands.
    assert!(
        fr.starts_with("ALERTES DE DÉLAIS au 16 septembre 2026 à 12 h 00 : 20"),
        "{fr}"
    );
    assert!(fr.contains("limite 6 juillet 2026 à 10 h 00"), "{fr}");
    let en = r.lines(false).join("\n");
    assert!(
        en.contains("1,730 h late (limit 6 July 2026 at 10:00"),
        "{en}"
    );
    assert!(fr.contains("1\u{a0}730 h de retard"), "{fr}");
    assert!(en.contains("detention order expired"), "{en}");
    assert!(!fr.contains("Coulibaly") && !en.contains("Coulibaly"));
    let json = r.to_json();
    assert_eq!(json["count"], 20);
    assert_eq!(json["by_kind"]["pre_trial_beyond_law"], 2);
}

/// Every alarm fires at its instant and not one second before.
#[test]
fn each_alarm_fires_at_its_instant_and_not_one_second_before() {
    let (_, records, who) = story();
    let p = Projection::of_records(&records);
    let r = report(&p, &who, &at());
    for a in &r.alarms {
        let since = &a.since;
        let before = report(&p, &who, &since.plus_seconds(-1));
        // A past stay at an unofficial place was, while it lasted, a person held there: the
        // same alarm under its current name.
        let family = |k: A| match k {
            A::UnofficialStay => A::HeldAtUnrecognisedPlace,
            k => k,
        };
        let same = |x: &&custody_views::alarms::Alarm| {
            x.chain == a.chain && family(x.kind) == family(a.kind) && x.since == a.since
        };
        assert!(
            !before.alarms.iter().any(|x| same(&x)),
            "{} of {} fired before {since}",
            a.kind.code(),
            a.code
        );
        let then = report(&p, &who, since);
        assert!(
            then.alarms.iter().any(|x| same(&x)),
            "{} of {} did not fire at {since}",
            a.kind.code(),
            a.code
        );
    }

    // By hand, the boundaries that matter most.
    let kinds = |when: &str, n: char| -> Vec<A> {
        report(&p, &who, &t(when))
            .alarms
            .iter()
            .filter(|a| a.chain == who[&n])
            .map(|a| a.kind)
            .collect()
    };
    // A's renewal window opens on Monday 14 September at 00:00, the holiday of the 22nd not
    // counted: nothing at 13 September 23:59, the alarm at 14 September 00:00.
    let sunday = t("2026-09-13 23:59").plus_seconds(59);
    assert!(!report(&p, &who, &sunday)
        .alarms
        .iter()
        .any(|a| a.kind == A::OrderExpiring));
    assert!(kinds("2026-09-14 00:00", 'A').contains(&A::OrderExpiring));
    // It stays until the expiry itself, then becomes an expired order one second later.
    assert!(kinds("2026-09-25 10:00", 'A').contains(&A::OrderExpiring));
    let after_expiry = report(&p, &who, &t("2026-09-25 10:00").plus_seconds(1));
    let a_kinds: Vec<A> = after_expiry
        .alarms
        .iter()
        .filter(|a| a.chain == who[&'A'])
        .map(|a| a.kind)
        .collect();
    assert_eq!(a_kinds, vec![A::OrderExpired]);
    // B's order: in time at its expiry, expired one second later.
    assert!(!kinds("2026-07-06 10:00", 'B').contains(&A::OrderExpired));
    assert!(report(&p, &who, &t("2026-07-06 10:00").plus_seconds(1))
        .alarms
        .iter()
        .any(|a| a.chain == who[&'B'] && a.kind == A::OrderExpired));
    // C's gap: 24 h after the release of 13 September 08:00.
    assert!(!kinds("2026-09-14 08:00", 'C').contains(&A::CustodyGap));
    // P: the judge was due 16 September 08:00; police custody (with its extension of 09:00)
    // runs to 17 September 11:00; before the extension was recorded, to 16 September 11:00.
    assert!(!kinds("2026-09-16 08:00", 'P').contains(&A::NoFirstAppearance));
    assert!(!kinds("2026-09-17 11:00", 'P').contains(&A::PoliceCustodyOverdue));
    assert!(report(&p, &who, &t("2026-09-17 11:00").plus_seconds(1))
        .alarms
        .iter()
        .any(|a| a.chain == who[&'P'] && a.kind == A::PoliceCustodyOverdue && a.current));
    // H: the gap alarm was current between 4 August 10:00:01 and the acceptance at 14:00.
    let during = report(&p, &who, &t("2026-08-04 12:00"));
    let gap = during
        .alarms
        .iter()
        .find(|a| a.chain == who[&'H'] && a.kind == A::CustodyGap)
        .expect("H's gap at 12:00");
    assert!(gap.current);
    assert_eq!(gap.hours_late, 2);
    // G, released within the limits, never has an alarm.
    for when in ["2026-08-20 09:00", "2026-08-21 09:00", "2026-09-16 12:00"] {
        assert!(kinds(when, 'G').is_empty(), "{when}");
    }
}

#[test]
fn the_reference_from_headers_only_gives_the_same_alarms() {
    let (_, records, who) = story();
    let full = Projection::of_records(&records);
    let headers: Vec<Record> = records
        .iter()
        .map(|r| {
            if r.header.chain == AUTHORITY_CHAIN {
                r.clone()
            } else {
                r.without_payload()
            }
        })
        .collect();
    let monitor = Projection::of_records(&headers);
    assert_eq!(monitor, full);
    assert_eq!(report(&monitor, &who, &at()), report(&full, &who, &at()));
}

#[test]
fn the_reference_backlog_by_facility_and_court() {
    let (_, records, who) = story();
    let p = Projection::of_records(&records);
    let b = backlog(&p, &at(), &BacklogFilter::default());
    use AgeBucket as B;
    let ages = |g: &custody_views::backlog::GroupLine| -> Vec<u64> {
        [
            B::Under1Month,
            B::Months1To6,
            B::Months6To12,
            B::Years1To2,
            B::Years2To3,
            B::Over3Years,
        ]
        .iter()
        .map(|x| g.ageing.get(*x))
        .collect()
    };
    assert_eq!(
        (b.total.held, b.total.pre_trial, b.total.overdue),
        (9, 6, 1)
    );
    assert_eq!(ages(&b.total), vec![1, 2, 1, 1, 0, 1]);
    let share = b.total.pre_trial_percent().expect("a share");
    assert!((share - 200.0 / 3.0).abs() < 1e-9, "{share}");

    type Line<'a> = (Option<&'a str>, u64, u64, u64, Vec<u64>);
    let facilities: Vec<Line> = b
        .by_facility
        .iter()
        .map(|g| (g.id.as_deref(), g.held, g.pre_trial, g.overdue, ages(g)))
        .collect();
    assert_eq!(
        facilities,
        vec![
            (Some("camp1-gav"), 1, 0, 0, vec![0, 0, 0, 0, 0, 0]),
            (Some("mca-bamako"), 6, 5, 1, vec![0, 2, 1, 1, 0, 1]),
            (Some("se-bamako"), 1, 0, 0, vec![0, 0, 0, 0, 0, 0]),
            (None, 1, 1, 0, vec![1, 0, 0, 0, 0, 0]),
        ]
    );
    let mca = &b.by_facility[1];
    assert!((mca.pre_trial_percent().expect("a share") - 500.0 / 6.0).abs() < 1e-9);

    let courts: Vec<(Option<&str>, u64, u64, u64)> = b
        .by_court
        .iter()
        .map(|g| (g.id.as_deref(), g.held, g.pre_trial, g.overdue))
        .collect();
    assert_eq!(
        courts,
        vec![(Some(PJS), 5, 4, 0), (Some(TGI), 2, 2, 1), (None, 2, 0, 0)]
    );

    let code = |n: char| p.detainee(&who[&n]).expect("folded").code.clone();
    let waits: Vec<(String, i64)> = b
        .longest_waits
        .iter()
        .map(|w| (w.code.clone(), w.days))
        .collect();
    assert_eq!(
        waits,
        vec![
            (code('I'), 1344),
            (code('A'), 721),
            (code('B'), 253),
            (code('D'), 98),
            (code('H'), 40),
            (code('C'), 4),
        ]
    );

    let occupancy: Vec<(&str, u64, u32, bool)> = b
        .occupancy
        .iter()
        .map(|o| {
            (
                o.facility.as_str(),
                o.population,
                o.capacity,
                o.officially_recognised,
            )
        })
        .collect();
    assert_eq!(
        occupancy,
        vec![
            ("camp1-gav", 1, 10, true),
            ("mca-bamako", 6, 5, true),
            ("se-bamako", 1, 30, false),
        ]
    );
    assert_eq!(b.occupancy[1].occupancy_percent(), Some(120.0));
}
