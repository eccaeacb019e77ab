//! Canonical JSON (`custody_core::jcs`): the strict parser and the canonical writer.
//!
//! Canonical bytes always parse back and are their own canonical form. For what wire format v1
//! accepts (integers only: `check_integers_only`), serde_json reads the same value and the
//! canonical bytes parse back to that very value. Floats are outside it: `parse_strict` keeps
//! them for the RFC 8785 cases, and `1.0` or `-0` canonicalise to `1` and `0`, as RFC 8785 says.
#![no_main]

use custody_core::jcs::{canonicalize, check_integers_only, parse_strict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: custody_fuzz::warm_up(), |data: &[u8]| {
    let Ok(value) = parse_strict(data) else {
        return;
    };
    let canonical = canonicalize(&value);
    let again = parse_strict(&canonical).expect("canonical bytes do not parse back");
    assert_eq!(
        canonicalize(&again),
        canonical,
        "canonical form is not stable"
    );
    if check_integers_only(&value).is_ok() {
        assert_eq!(again, value, "canonical bytes parse to another value");
        let loose: serde_json::Value =
            serde_json::from_slice(data).expect("serde_json refuses what parse_strict accepted");
        assert_eq!(loose, value, "parse_strict and serde_json disagree");
    }
});
