//! Proofs: the JSON forms of inclusion and consistency proofs (as in `proofs.json`, parsed with
//! the strict parser) verified against the vector ledger's roots, and the C2SP tlog-proof text
//! of packets (`custody_packet::tlog::TlogProof`).
//!
//! A proof that verifies for a size of the vector ledger is one of its real proofs: the event
//! hash at that index is the vector record's. A tlog-proof that parses writes back the same.
#![no_main]

use custody_core::merkle::{ConsistencyProofJson, InclusionProofJson};
use custody_fuzz::{records, root_at};
use custody_packet::tlog::TlogProof;
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: custody_fuzz::warm_up(), |data: &[u8]| {
    if let Ok(value) = custody_core::jcs::parse_strict(data) {
        if let Ok(p) = serde_json::from_value::<InclusionProofJson>(value.clone()) {
            if p.verify(&root_at(p.tree_size)).is_ok() {
                let record = usize::try_from(p.index)
                    .ok()
                    .and_then(|i| records().get(i))
                    .expect("an inclusion proof verified for an index beyond the ledger");
                assert_eq!(
                    p.hash,
                    record.hash.to_hex(),
                    "a forged inclusion proof verified"
                );
            }
        }
        if let Ok(p) = serde_json::from_value::<ConsistencyProofJson>(value) {
            let _ = p.verify(&root_at(p.old_size), &root_at(p.new_size));
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(p) = TlogProof::parse(text) {
            assert_eq!(
                p.to_text(),
                text,
                "a tlog-proof does not write back the same"
            );
        }
    }
});
