//! A lawful redaction removes a payload and must never make a ledger unverifiable (issue 7,
//! item 3): every fact a later rule reads is in the header (`facts`), so a ledger whose
//! payloads are removed replays to exactly the same state.
//!
//! Read from the published vectors, as an independent verifier would.

use std::path::PathBuf;

use custody_core::authority::TrustAnchors;
use custody_core::facts::fact_fields;
use custody_core::validate::{Validator, ValidatorConfig};
use custody_core::{EventKind, Record};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/v1")
}

fn records() -> Vec<Record> {
    std::fs::read_to_string(dir().join("records.jsonl"))
        .unwrap()
        .lines()
        .map(|l| Record::from_json(l.as_bytes()).unwrap())
        .collect()
}

fn trust() -> TrustAnchors {
    serde_json::from_str(&std::fs::read_to_string(dir().join("trust.json")).unwrap()).unwrap()
}

/// Replays records as a verifier of an accepted ledger does (payloads may be gone).
fn replay(records: &[Record]) -> Result<Validator, String> {
    let mut v = Validator::new(trust(), ValidatorConfig::default());
    for (i, r) in records.iter().enumerate() {
        v.replay(r)
            .map_err(|e| format!("position {i} ({}): {} {e}", r.header.kind, e.rule()))?;
    }
    Ok(v)
}

fn same_state(a: &Validator, b: &Validator) {
    assert_eq!(a.size(), b.size());
    let mut chains: Vec<_> = a.chains().collect();
    chains.sort_by(|x, y| x.0.cmp(y.0));
    for (id, state) in chains {
        assert_eq!(Some(state), b.chain(id), "chain {id}");
    }
}

/// The kinds whose values a later record's rule reads: those with facts.
fn kinds_read_later() -> Vec<EventKind> {
    EventKind::ALL
        .iter()
        .copied()
        .filter(|k| !fact_fields(*k).is_empty())
        .collect()
}

#[test]
fn redacting_each_kind_read_by_a_later_rule_keeps_the_ledger_verifiable() {
    let recs = records();
    let full = replay(&recs).unwrap();
    let kinds = kinds_read_later();
    for kind in [
        EventKind::DetentionOrder,
        EventKind::DetentionExtended,
        EventKind::Judgment,
        EventKind::CustodyReleased,
    ] {
        assert!(kinds.contains(&kind), "{kind} carries facts");
    }
    for kind in kinds {
        let redacted: Vec<Record> = recs
            .iter()
            .map(|r| {
                if r.header.kind == kind {
                    r.without_payload()
                } else {
                    r.clone()
                }
            })
            .collect();
        let removed = redacted.iter().filter(|r| r.payload.is_none()).count()
            - recs.iter().filter(|r| r.payload.is_none()).count();
        assert!(removed > 0, "the vectors hold a {kind} with its payload");
        let v = replay(&redacted).unwrap_or_else(|e| panic!("{kind} redacted: {e}"));
        same_state(&full, &v);
    }
}

#[test]
fn a_ledger_without_any_detainee_payload_replays_to_the_same_state() {
    let recs = records();
    let full = replay(&recs).unwrap();
    let headers: Vec<Record> = recs
        .iter()
        .map(|r| {
            if r.header.chain == "authority" {
                r.clone()
            } else {
                r.without_payload()
            }
        })
        .collect();
    let v = replay(&headers).unwrap();
    same_state(&full, &v);
    // The rules that read facts still refuse from headers alone: each state vector whose
    // rule reads facts is refused by the same rule without its payload, after a header-only
    // prefix.
    for (file, rule) in [
        ("state-no-commitment-order", "state/no_commitment_order"),
        (
            "state-commitment-order-expired",
            "state/commitment_order_expired",
        ),
        ("state-unknown-order", "state/unknown_order"),
        ("state-legal-status", "state/legal_status"),
        ("state-legal-status-release", "state/legal_status"),
        ("state-wrong-receiver", "state/wrong_receiver"),
        ("state-release-mismatch", "state/release_mismatch"),
        (
            "state-facility-not-recognised",
            "state/facility_not_recognised",
        ),
        ("state-unknown-event", "state/unknown_event"),
        ("state-correction-role", "state/correction_role"),
        ("state-self-link", "state/self_link"),
        ("state-time-order", "state/time_order"),
    ] {
        let case: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir().join("invalid").join(format!("{file}.json"))).unwrap(),
        )
        .unwrap();
        let record = Record::from_json(case["line"].as_str().unwrap().as_bytes())
            .unwrap()
            .without_payload();
        let prefix = case["prefix"].as_u64().unwrap() as usize;
        let mut v = replay(&headers[..prefix]).unwrap();
        let got = v.replay(&record).map_err(|e| e.rule());
        assert_eq!(
            got.map_err(|r| r.code()),
            Err(rule),
            "{file} without its payload"
        );
    }
}
