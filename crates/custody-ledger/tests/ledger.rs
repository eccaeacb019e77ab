//! The append path on a real SQLite file: validation before storage, idempotent retries,
//! replay after a lawful redaction, catching up with another process's appends.

use std::sync::Arc;

use custody_core::checkpoint::NoteSigner;
use custody_core::validate::ValidatorConfig;
use custody_core::{EventKind, Timestamp};
use custody_ledger::{AppendError, Ledger, LedgerMeta};
use custody_scenario::{build, Scenario, ScenarioConfig};
use custody_store::{AppendOutcome, LedgerStore};
use custody_store_sqlite::SqliteStore;

fn world() -> Scenario {
    build(&ScenarioConfig {
        seed: 3,
        detainees: 8,
    })
    .unwrap()
}

fn now() -> Timestamp {
    Timestamp::parse("2026-01-01T00:00:00Z").unwrap()
}

async fn ledger_with(s: &Scenario, path: &std::path::Path, config: ValidatorConfig) -> Ledger {
    let store: Arc<dyn LedgerStore> = Arc::new(SqliteStore::open(path).unwrap());
    if store
        .meta(custody_ledger::META_LEDGER)
        .await
        .unwrap()
        .is_none()
    {
        let signer = NoteSigner::new(&s.name, s.ledger_key.signing_key().clone()).unwrap();
        Ledger::init(
            store.clone(),
            LedgerMeta {
                name: s.name.clone(),
                trust: s.trust.clone(),
                ledger_vkey: signer.verifier_key(),
            },
        )
        .await
        .unwrap();
    }
    Ledger::open(store, config).await.unwrap()
}

#[tokio::test]
async fn appends_validate_and_retries_are_idempotent() {
    let s = world();
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with(&s, &dir.path().join("l.db"), ValidatorConfig::default()).await;
    for (i, r) in s.records.iter().enumerate() {
        let out = ledger.append(r, &now()).await.unwrap();
        assert_eq!(out, AppendOutcome::Appended { position: i as u64 });
    }
    // A retry of any stored record is a success at its position, and stores nothing.
    let out = ledger.append(&s.records[10], &now()).await.unwrap();
    assert_eq!(out, AppendOutcome::Duplicate { position: 10 });
    assert_eq!(ledger.store().size().await.unwrap(), s.records.len() as u64);

    // An altered record is refused with its rule, and nothing is stored.
    let mut bad = s.records.last().unwrap().clone();
    bad.header.seq += 1;
    match ledger.append(&bad, &now()).await {
        Err(AppendError::Invalid(e)) => assert_eq!(e.rule(), "hash"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(ledger.store().size().await.unwrap(), s.records.len() as u64);
}

#[tokio::test]
async fn a_redacted_ledger_reopens_while_new_appends_need_payloads() {
    let s = world();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let strict = ValidatorConfig {
        require_payload: true,
        ..ValidatorConfig::default()
    };
    {
        let ledger = ledger_with(&s, &path, strict.clone()).await;
        for r in &s.records {
            ledger.append(r, &now()).await.unwrap();
        }
        for h in &s.redacted {
            ledger.store().remove_payload(h).await.unwrap();
        }
    }
    // Reopening replays the redacted record without its payload.
    let ledger = ledger_with(&s, &path, strict).await;
    assert_eq!(
        ledger.with_state(|v| v.size()).await,
        s.records.len() as u64
    );

    // A new record without its payload is refused at append.
    let visit = s
        .records
        .iter()
        .rev()
        .find(|r| r.header.kind == EventKind::Visit)
        .unwrap();
    let chain = visit.header.chain.clone();
    let head = ledger.head(&chain).await.unwrap();
    let registrar = s
        .actors
        .iter()
        .find(|a| {
            a.agency == visit.header.agency && a.roles.contains(&custody_core::Role::Registrar)
        })
        .unwrap();
    let record = custody_core::Draft {
        chain,
        seq: head.seq + 1,
        prev: Some(head.hash),
        kind: EventKind::Visit,
        occurred_at: Timestamp::parse("2021-07-01T10:00:00Z").unwrap(),
        recorded_at: Timestamp::parse("2021-07-01T10:00:00Z").unwrap(),
        agency: visit.header.agency.clone(),
        body: serde_json::json!({"visitor_type": "family"}),
    }
    .sign(&registrar.key, &[7; 16]);
    match ledger.append(&record.without_payload(), &now()).await {
        Err(AppendError::Invalid(e)) => assert_eq!(e.rule(), "payload_missing"),
        other => panic!("expected payload_missing, got {other:?}"),
    }
    assert!(ledger.append(&record, &now()).await.is_ok());
}

#[tokio::test]
async fn a_second_process_appends_and_the_first_catches_up() {
    let s = world();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let a = ledger_with(&s, &path, ValidatorConfig::default()).await;
    let half = s.records.len() / 2;
    for r in &s.records[..half] {
        a.append(r, &now()).await.unwrap();
    }
    let b = ledger_with(&s, &path, ValidatorConfig::default()).await;
    for r in &s.records[half..] {
        b.append(r, &now()).await.unwrap();
    }
    assert_eq!(a.with_state(|v| v.size()).await, half as u64);
    assert_eq!(a.catch_up().await.unwrap(), s.records.len() as u64);
    let last = s.records.last().unwrap();
    assert_eq!(
        a.head(&last.header.chain).await.map(|h| h.hash),
        Some(last.hash)
    );
}
