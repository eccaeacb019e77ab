//! The witness's `add-checkpoint` body (`custody_witness::protocol::parse_request`), then what
//! the witness does with it before its database: the note verified with the vector log key,
//! its checkpoint parsed, the consistency proof checked from every old size.
//!
//! A body that parses writes back (`format_request`) to the same bytes.
#![no_main]

use custody_core::checkpoint::Checkpoint;
use custody_core::merkle::verify_consistency;
use custody_fuzz::{ledger_verifier, root_at};
use custody_witness::protocol::{format_request, parse_cosignature_lines, parse_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: custody_fuzz::warm_up(), |data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_cosignature_lines(text);
    }
    let req = match parse_request(data) {
        Ok(r) => r,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert_eq!(
        format_request(req.old_size, &req.proof, &req.note).as_bytes(),
        data,
        "an add-checkpoint body does not write back the same"
    );
    // Sizes as sent, whatever the signature: the proof check must refuse, not panic.
    let size = req
        .note
        .split('\n')
        .nth(1)
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(req.old_size);
    let _ = verify_consistency(
        req.old_size,
        size,
        &root_at(req.old_size),
        &root_at(size),
        &req.proof,
    );
    if let Ok(body) = ledger_verifier().verify(&req.note) {
        if let Ok(cp) = Checkpoint::parse_body(&body) {
            let _ = verify_consistency(
                req.old_size,
                cp.size,
                &root_at(req.old_size),
                &cp.root,
                &req.proof,
            );
        }
    }
});
