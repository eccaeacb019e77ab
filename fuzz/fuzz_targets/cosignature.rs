//! Cosigned checkpoints (`custody_core::cosignature`): the input as a note checked against the
//! vector log key and witnesses at every quorum, each of its lines as one cosignature line, and
//! the input as a witness vkey.
//!
//! A note accepted at quorum q is accepted at every smaller quorum with the same witnesses;
//! a vkey that parses writes back to the same string.
#![no_main]

use custody_core::cosignature::{verify_cosigned, CosignatureVerifier};
use custody_fuzz::{ledger_verifier, witnesses};
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: custody_fuzz::warm_up(), |data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let log = ledger_verifier();
    let ws = witnesses();
    let mut accepted = None;
    for quorum in (0..=ws.len() + 1).rev() {
        match verify_cosigned(text, log, ws, quorum) {
            Ok(c) => {
                assert!(c.witnesses.len() >= quorum);
                if let Some(prev) = &accepted {
                    assert_eq!(
                        prev, &c,
                        "the same note verified differently at quorum {quorum}"
                    );
                }
                accepted = Some(c);
            }
            Err(e) => {
                let _ = e.to_string();
                assert!(
                    accepted.is_none(),
                    "refused at quorum {quorum}, accepted at a larger one"
                );
            }
        }
    }
    // Every line as a cosignature of the vector checkpoint (the part before the blank line,
    // or the whole text).
    let body = text.split_once("\n\n").map_or(text, |(b, _)| b);
    let body = format!("{body}\n");
    for line in text.split_inclusive('\n') {
        for w in ws {
            let _ = w.verify_line(&body, line);
        }
    }
    if let Ok(vkey) = CosignatureVerifier::parse(text) {
        assert_eq!(
            vkey.verifier_key(),
            text,
            "a witness vkey does not write back the same"
        );
    }
});
