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
//! The same seed gives the same bytes: keys, salts and chain ids derive from the seed. Every
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
use custody_core::{Hash, Record, Role, SecretKey};
use sha2::{Digest, Sha256};

pub use world::{AGENCIES, FACILITIES};

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

/// Builds the world and validates every record in ledger order.
pub fn build(config: &ScenarioConfig) -> Result<Scenario, ScenarioError> {
    let root_key = SecretKey::from_seed(derive(config.seed, "key/root"));
    let ledger_key = SecretKey::from_seed(derive(config.seed, "key/ledger"));
    let trust = TrustAnchors {
        ledger: LEDGER_NAME.to_string(),
        roots: vec![TrustRoot {
            key: root_key.public(),
            agency: world::ROOT_AGENCY.to_string(),
        }],
    };
    let mut w = world::World::new(config.seed, root_key.clone());
    w.register_authority();
    for i in 0..config.detainees {
        paths::walk(&mut w, i);
    }
    let (records, redacted, actors, detainees) = w.finish();

    let mut validator = Validator::new(trust.clone(), ValidatorConfig::default());
    for (position, r) in records.iter().enumerate() {
        validator.append(r, None).map_err(|error| ScenarioError {
            position,
            kind: r.header.kind.to_string(),
            chain: r.header.chain.clone(),
            error: Box::new(error),
        })?;
    }
    Ok(Scenario {
        name: LEDGER_NAME.to_string(),
        trust,
        root_key,
        root_agency: world::ROOT_AGENCY,
        ledger_key,
        records,
        redacted,
        actors,
        detainees,
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
        let lines = |s: &Scenario| {
            s.records
                .iter()
                .map(|r| r.to_json_line())
                .collect::<Vec<_>>()
        };
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
