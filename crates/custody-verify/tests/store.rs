//! The store path on a real SQLite file: the same verdict as the file path, every missing
//! payload listed, and a record refused in the middle of the store at its position.

use custody_core::authority::TrustAnchors;
use custody_core::{Record, Rule, StateRule};
use custody_store::LedgerStore;
use custody_store_sqlite::SqliteStore;
use custody_verify::Verifier;

fn vectors(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/vectors/v1")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn records() -> Vec<Record> {
    vectors("records.jsonl")
        .lines()
        .map(|l| Record::from_json(l.as_bytes()).unwrap())
        .collect()
}

fn trust() -> TrustAnchors {
    serde_json::from_str(&vectors("trust.json")).unwrap()
}

#[tokio::test]
async fn a_store_verifies_as_its_export_and_names_every_missing_payload() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("ledger.db")).unwrap();
    let records = records();
    for r in &records {
        store.append(r).await.unwrap();
    }
    let mut seen = 0;
    let mut v = Verifier::new(trust()).with_threads(2);
    let report = v.verify_store(&store, |_| seen += 1).await.unwrap();
    assert_eq!(report.failure, None);
    assert_eq!(seen, records.len());

    let text = vectors("records.jsonl");
    let mut from_file = Verifier::new(trust());
    let file = from_file
        .verify_jsonl(|| Ok(std::io::BufReader::new(text.as_bytes())))
        .unwrap();
    assert_eq!(report.summary, file.summary);

    // The vectors' redacted records were appended without their payload and never redacted
    // in this store: each is missing, at its position.
    let expected: Vec<u64> = (0u64..)
        .zip(&records)
        .filter(|(_, r)| r.payload.is_none())
        .map(|(p, _)| p)
        .collect();
    assert!(!expected.is_empty());
    let missing: Vec<u64> = report.missing_payloads.iter().map(|m| m.position).collect();
    assert_eq!(missing, expected);
    assert!(!report.is_ok());
}

#[tokio::test]
async fn a_record_refused_inside_a_store_is_named_at_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("ledger.db")).unwrap();
    let records = records();
    // An invalid record that extends its chain (the store checks only the link): refused by a
    // state rule of the validator.
    let case: serde_json::Value =
        serde_json::from_str(&vectors("invalid/state-custody-gap.json")).unwrap();
    let bad = Record::from_json(case["line"].as_str().unwrap().as_bytes()).unwrap();
    for r in &records {
        store.append(r).await.unwrap();
    }
    store.append(&bad).await.unwrap();
    let mut v = Verifier::new(trust()).with_threads(2);
    let report = v.verify_store(&store, |_| {}).await.unwrap();
    let f = report.failure.unwrap();
    assert_eq!(
        (f.position, f.rule, f.hash, f.chain, f.line),
        (
            records.len() as u64,
            Rule::State(StateRule::CustodyGap),
            Some(bad.hash.to_hex()),
            Some(bad.header.chain.clone()),
            None
        )
    );
    assert_eq!(report.summary.records, records.len() as u64);
}
