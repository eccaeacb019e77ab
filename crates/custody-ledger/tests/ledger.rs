//! The append path on a real SQLite file: validation before storage, idempotent retries,
//! replay after a lawful redaction, catching up with another process's appends.

mod common;

use std::sync::Arc;

use custody_core::validate::ValidatorConfig;
use custody_core::{EventKind, Rule, Timestamp};
use custody_ledger::{AppendError, Ledger};
use custody_scenario::{build, Scenario, ScenarioConfig};
use custody_store::conformance::Faulty;
use custody_store::{AppendOutcome, LedgerStore};
use custody_store_sqlite::SqliteStore;

fn world() -> Scenario {
    build(&ScenarioConfig {
        seed: 3,
        detainees: 8,
    })
    .unwrap()
}

/// The scenario's last visit and a registrar of the agency that recorded it.
fn last_visit(s: &Scenario) -> (&custody_core::Record, &custody_scenario::Actor) {
    let visit = s
        .records
        .iter()
        .rev()
        .find(|r| r.header.kind == EventKind::Visit)
        .unwrap();
    let registrar = s
        .actors
        .iter()
        .find(|a| {
            a.agency == visit.header.agency && a.roles.contains(&custody_core::Role::Registrar)
        })
        .unwrap();
    (visit, registrar)
}

/// A family visit on the chain of `visit`, by its agency, at `seq` after `prev`.
fn visit_draft(
    visit: &custody_core::Record,
    seq: u64,
    prev: Option<custody_core::Hash>,
) -> custody_core::Draft {
    custody_core::Draft {
        ledger: visit.header.ledger.clone(),
        chain: visit.header.chain.clone(),
        seq,
        prev,
        kind: EventKind::Visit,
        occurred_at: Timestamp::parse("2021-07-01T10:00:00Z").unwrap(),
        recorded_at: Timestamp::parse("2021-07-01T10:00:00Z").unwrap(),
        agency: visit.header.agency.clone(),
        body: serde_json::json!({"visitor_type": "family"}),
    }
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
        common::init_primary(s, store.clone()).await;
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
        Err(AppendError::Invalid(e)) => assert_eq!(e.rule(), Rule::Hash),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(ledger.store().size().await.unwrap(), s.records.len() as u64);
}

/// A record signed against an older head is a chain conflict, not a refusal: its rule (`seq`
/// or `prev`), the chain's real head, and a message that says what did not match and what to do.
#[tokio::test]
async fn a_record_signed_against_an_older_head_is_a_conflict_with_the_head() {
    let s = world();
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with(&s, &dir.path().join("l.db"), ValidatorConfig::default()).await;
    for r in &s.records {
        ledger.append(r, &now()).await.unwrap();
    }
    let (visit, registrar) = last_visit(&s);
    let chain = visit.header.chain.clone();
    let head = ledger.head(&chain).await.unwrap();
    let stale_seq = visit_draft(visit, head.seq, Some(head.hash)).sign(&registrar.key, &[8; 16]);
    let stale_prev =
        visit_draft(visit, head.seq + 1, Some(visit.hash)).sign(&registrar.key, &[9; 16]);
    for (record, rule, what) in [
        (&stale_seq, Rule::Seq, "/header/seq"),
        (&stale_prev, Rule::Prev, "/header/prev"),
    ] {
        match ledger.append(record, &now()).await {
            Err(AppendError::Conflict(conflict)) => {
                assert_eq!(conflict.rule(), rule);
                assert_eq!(conflict.chain, chain);
                assert_eq!(conflict.head, Some(head), "the real head");
                let message = AppendError::Conflict(conflict).to_string();
                assert!(
                    message.starts_with(&format!("chain {chain} has moved on: {what} is "))
                        && message.contains(&head.hash.to_hex())
                        && message.ends_with("sign again"),
                    "{message}"
                );
            }
            other => panic!("{rule}: expected a conflict, got {other:?}"),
        }
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
    let (visit, registrar) = last_visit(&s);
    let head = ledger.head(&visit.header.chain).await.unwrap();
    let record = visit_draft(visit, head.seq + 1, Some(head.hash)).sign(&registrar.key, &[7; 16]);
    match ledger.append(&record.without_payload(), &now()).await {
        Err(AppendError::Invalid(e)) => assert_eq!(e.rule(), Rule::PayloadMissing),
        other => panic!("expected payload_missing, got {other:?}"),
    }
    assert!(ledger.append(&record, &now()).await.is_ok());
}

/// Appending a `redaction` removes the payload it names: the ledger itself carries out the
/// lawful removal, whichever path the redaction came by (gateway, `custody submit`, a replica).
#[tokio::test]
async fn a_redaction_removes_the_payload_it_names() {
    let s = world();
    assert!(!s.redacted.is_empty(), "the world redacts a payload");
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_with(&s, &dir.path().join("l.db"), ValidatorConfig::default()).await;
    let redaction_at = s
        .records
        .iter()
        .position(|r| r.header.kind == EventKind::Redaction)
        .unwrap();
    for r in &s.records[..redaction_at] {
        ledger.append(r, &now()).await.unwrap();
    }
    let target = s.redacted[0];
    let before = ledger.store().event(&target).await.unwrap().unwrap();
    assert_eq!(before.payload, custody_store::PayloadState::Present);
    ledger
        .append(&s.records[redaction_at], &now())
        .await
        .unwrap();
    let after = ledger.store().event(&target).await.unwrap().unwrap();
    assert_eq!(after.payload, custody_store::PayloadState::Redacted);
    assert!(after.record.payload.is_none());
    // A retry of the redaction is a duplicate and removes nothing more; the payload stays gone.
    let again = ledger
        .append(&s.records[redaction_at], &now())
        .await
        .unwrap();
    assert!(
        matches!(again, AppendOutcome::Duplicate { .. }),
        "{again:?}"
    );
    assert_eq!(
        ledger
            .store()
            .event(&target)
            .await
            .unwrap()
            .unwrap()
            .payload,
        custody_store::PayloadState::Redacted
    );
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

/// A catch-up that runs while this process's own append is stored but not yet answered
/// waits for that answer instead of reading the record back from the store (a busy gateway's
/// follower would otherwise read back much of what it writes).
#[tokio::test]
async fn a_catch_up_does_not_read_back_an_append_of_this_process_in_flight() {
    let s = world();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    // Initialise the ledger and append all records but the last, then reopen through the
    // slow store.
    let setup = ledger_with(&s, &path, ValidatorConfig::default()).await;
    let (last, before) = s.records.split_last().unwrap();
    for r in before {
        setup.append(r, &now()).await.unwrap();
    }
    drop(setup);
    // Appends answer late: the record is stored at once, the answer comes 500 ms later.
    let mut slow = Faulty::new(SqliteStore::open(&path).unwrap());
    slow.answer_delay = std::time::Duration::from_millis(500);
    let store = Arc::new(slow);
    let ledger = Arc::new(
        Ledger::open(store.clone(), ValidatorConfig::default())
            .await
            .unwrap(),
    );
    store.reads.store(0, std::sync::atomic::Ordering::SeqCst);

    let appending = {
        let (ledger, last) = (ledger.clone(), last.clone());
        tokio::spawn(async move { ledger.append(&last, &now()).await })
    };
    // Stored at once, answered 500 ms later: catch up in between.
    let total = s.records.len() as u64;
    while store.size().await.unwrap() < total {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(ledger.catch_up().await.unwrap(), total);
    assert_eq!(
        appending.await.unwrap().unwrap(),
        AppendOutcome::Appended {
            position: total - 1
        }
    );
    assert_eq!(
        store.reads.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the catch-up read the store"
    );
    assert_eq!(
        ledger.head(&last.header.chain).await.map(|h| h.hash),
        Some(last.hash)
    );
}
