//! The record parser (`Record::from_json`): one spelling per record.
//!
//! A record that parses writes back (`to_json_line`) to a line that parses to the same record;
//! its header's canonical bytes hash to `compute_hash`, and the error of a refused one prints.
#![no_main]

use custody_core::Record;
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: custody_fuzz::warm_up(), |data: &[u8]| {
    let record = match Record::from_json(data) {
        Ok(r) => r,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let line = record.to_json_line();
    let again = Record::from_json(line.as_bytes()).expect("a written record does not parse back");
    assert_eq!(again, record, "a record changed through its JSON line");
    assert_eq!(again.to_json_line(), line, "the JSON line is not stable");
    assert_eq!(
        record.header.compute_hash(),
        custody_core::Hash::of(&record.header.canonical_bytes())
    );
    if let Some(p) = &record.payload {
        let _ = p.digest();
    }
});
