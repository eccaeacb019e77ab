//! Canonical JSON (`custody_core::jcs`): the strict parser and the canonical writer.
//!
//! Whatever `parse_strict` accepts, serde_json accepts as the same value; its canonical bytes
//! parse back to that value and are their own canonical form.
#![no_main]

use custody_core::jcs::{canonicalize, check_integers_only, parse_strict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = parse_strict(data) else {
        return;
    };
    let loose: serde_json::Value =
        serde_json::from_slice(data).expect("serde_json refuses what parse_strict accepted");
    assert_eq!(loose, value, "parse_strict and serde_json disagree");
    let canonical = canonicalize(&value);
    let again = parse_strict(&canonical).expect("canonical bytes do not parse back");
    assert_eq!(again, value, "canonical bytes parse to another value");
    assert_eq!(canonicalize(&again), canonical, "canonical form is not stable");
    let _ = check_integers_only(&value);
});
