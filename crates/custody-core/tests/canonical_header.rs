//! `Header::canonical_bytes` writes the canonical header straight from its fields; it must be
//! byte for byte `jcs::canonicalize` of the header's JSON value (the definition in SPEC.md), for
//! every kind, with and without `prev`, at the extremes of `seq`, and with facts that need
//! escaping. And a record parsed from JSON must hash to what its header says.

use std::path::PathBuf;

use custody_core::jcs;
use custody_core::{Hash, Record};

fn vector_records() -> Vec<Record> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/v1/records.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| Record::from_json(l.as_bytes()).expect("a vector record"))
        .collect()
}

#[track_caller]
fn assert_same_bytes(r: &Record, what: &str) {
    let direct = r.header.canonical_bytes();
    let by_value = jcs::canonicalize(&r.header.to_value());
    assert_eq!(
        String::from_utf8_lossy(&direct),
        String::from_utf8_lossy(&by_value),
        "{what}"
    );
}

#[test]
fn direct_canonical_header_is_the_canonical_value_for_every_vector() {
    let records = vector_records();
    assert!(records.len() > 20);
    for (i, r) in records.iter().enumerate() {
        assert_same_bytes(r, &format!("record {i} ({})", r.header.kind));
        assert_eq!(
            r.header.compute_hash(),
            r.hash,
            "record {i} hashes to its hash"
        );
    }
}

#[test]
fn direct_canonical_header_at_the_edges() {
    let base = vector_records()
        .into_iter()
        .find(|r| {
            !r.header
                .facts
                .to_value()
                .as_object()
                .is_some_and(|o| o.is_empty())
        })
        .expect("a record with facts");
    for seq in [0, 1, 9, 10, 1 << 32, (1u64 << 53) - 1] {
        let mut r = base.clone();
        r.header.seq = seq;
        r.header.prev = None;
        assert_same_bytes(&r, &format!("seq {seq}, no prev"));
        r.header.prev = Some(Hash::of(b"prev"));
        assert_same_bytes(&r, &format!("seq {seq}, prev"));
    }
}

#[test]
fn a_payload_moved_out_of_the_parsed_line_is_the_same_payload() {
    for r in vector_records() {
        let line = r.to_json_line();
        let by_value =
            Record::from_value(&serde_json::from_str(&line).expect("json")).expect("record");
        let by_text = Record::from_json(line.as_bytes()).expect("record");
        assert_eq!(by_value, by_text);
        if let Some(p) = &by_text.payload {
            assert_eq!(p.digest(), by_text.header.payload_digest);
        }
    }
}

#[test]
fn a_float_in_the_payload_is_named_by_its_path_in_the_record() {
    let r = vector_records()
        .into_iter()
        .find(|r| r.payload.is_some())
        .expect("a record with payload");
    let mut v = r.to_value();
    v["payload"]["body"]["x"] = serde_json::json!(1.5);
    let text = serde_json::to_string(&v).expect("json");
    let e = Record::from_json(text.as_bytes()).expect_err("a float is refused");
    assert!(e.to_string().contains("/payload/body/x"), "{e}");
}
