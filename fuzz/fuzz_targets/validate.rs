//! The validator (`Validator::check`) over the vector ledger's state, for the record given and
//! for the same record re-signed by the key it names (so that hash and signature pass and the
//! state rules are reached).
//!
//! `check` and the two-step path of the append (`verify_signature` then `check_verified`)
//! always agree, and a refusal names a rule whose code parses back.
#![no_main]

use custody_core::facts::Facts;
use custody_core::record::signed_message;
use custody_core::validate::verify_signature;
use custody_core::{Record, Rule};
use custody_fuzz::{keys, now, validator};
use libfuzzer_sys::fuzz_target;

fn check(record: &Record) {
    let v = validator();
    let now = now();
    let one = v
        .check(record, Some(&now))
        .map(|_| ())
        .map_err(|e| e.rule());
    let two = verify_signature(record, v.verifying_key(&record.header.signer).as_ref())
        .and_then(|proof| v.check_verified(proof, Some(&now)).map(|_| ()))
        .map_err(|e| e.rule());
    assert_eq!(
        one, two,
        "check and verify_signature + check_verified disagree"
    );
    if let Err(rule) = one {
        let code = rule.code();
        assert_eq!(
            code.parse::<Rule>().ok(),
            Some(rule),
            "rule code {code} does not parse back"
        );
    }
}

/// The record with its digest, facts, hash and signature made right by the key it names.
fn resigned(record: &Record, project_facts: bool) -> Option<Record> {
    let key = keys().iter().find(|k| k.public() == record.header.signer)?;
    let mut header = record.header.clone();
    if let Some(p) = &record.payload {
        header.payload_digest = p.digest();
        if project_facts {
            header.facts = Facts::project(header.kind, &p.body);
        }
    }
    let hash = header.compute_hash();
    let signature = key.sign(&signed_message(&hash));
    Some(Record {
        header,
        hash,
        signature,
        payload: record.payload.clone(),
    })
}

fuzz_target!(init: custody_fuzz::warm_up(), |data: &[u8]| {
    let Ok(record) = Record::from_json(data) else {
        return;
    };
    check(&record);
    for project in [false, true] {
        if let Some(r) = resigned(&record, project) {
            check(&r);
        }
    }
});
