//! A retry through `Ledger::append` of a record whose header is stored but whose payload is
//! missing completes the payload, on JetStream (the header published, the payload entry never
//! written: a gateway killed between its two writes) and on SQLite (the payload row deleted
//! behind the triggers' back); the ledger reports the missing payload until then, and a
//! redacted payload is never brought back.

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::context::Publish;
use custody_core::validate::ValidatorConfig;
use custody_core::{EventKind, Record, Rule, Timestamp};
use custody_ledger::{AppendError, Ledger};
use custody_scenario::{build, Scenario, ScenarioConfig};
use custody_store::{AppendOutcome, LedgerStore, PayloadState};
use custody_store_nats::{JetStreamStore, StoreOptions, CHAIN_SUBJECT_PREFIX};
use custody_store_sqlite::SqliteStore;
use custody_testkit::NatsServer;

fn world() -> Scenario {
    build(&ScenarioConfig {
        seed: 5,
        detainees: 6,
    })
    .unwrap()
}

fn now() -> Timestamp {
    Timestamp::parse("2026-01-01T00:00:00Z").unwrap()
}

/// The gateway's configuration: new appends carry their payload.
fn strict() -> ValidatorConfig {
    ValidatorConfig {
        require_payload: true,
        ..ValidatorConfig::default()
    }
}

async fn init(s: &Scenario, store: Arc<dyn LedgerStore>) {
    common::init_primary(s, store).await;
}

/// The index of the last `visit` of the world: a record whose body no later rule reads, so
/// that the ledger replays it without its payload.
fn last_visit(s: &Scenario) -> usize {
    s.records
        .iter()
        .rposition(|r| r.header.kind == EventKind::Visit)
        .expect("the world has a visit")
}

/// An earlier detainee record with a payload, for the redaction and the forged payload.
fn earlier_detainee(s: &Scenario, before: usize) -> usize {
    s.records[..before]
        .iter()
        .rposition(|r| !r.header.kind.is_authority())
        .expect("the world has detainee records")
}

async fn assert_state(store: &dyn LedgerStore, r: &Record, want: PayloadState) {
    let ev = store
        .event(&r.hash)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("event {} is found by hash", r.hash));
    assert_eq!(ev.payload, want, "payload state of {}", r.hash);
    assert_eq!(ev.record.payload.is_some(), want == PayloadState::Present);
    if want == PayloadState::Present {
        assert_eq!(&ev.record, r, "the payload stored is the record's");
    }
}

/// What must hold once a ledger has replayed `lost` without its payload.
async fn retry_completes(s: &Scenario, ledger: &Ledger, k: usize) {
    let lost = &s.records[k];
    let store = ledger.store().as_ref();
    assert_eq!(
        ledger.missing_payloads(),
        vec![(k as u64, lost.hash)],
        "the ledger reports the missing payload"
    );
    assert_state(store, lost, PayloadState::Missing).await;

    // A retry whose payload is not the one the header commits to is refused, changes nothing.
    let mut forged = lost.clone();
    forged.payload = s.records[earlier_detainee(s, k)].payload.clone();
    match ledger.append(&forged, &now()).await {
        Err(AppendError::Invalid(e)) => assert_eq!(e.rule(), Rule::PayloadDigest),
        other => panic!("a retry with another payload: expected payload_digest, got {other:?}"),
    }
    assert_state(store, lost, PayloadState::Missing).await;

    // The retry is a duplicate, not a `seq` conflict, and completes the payload.
    assert_eq!(
        ledger.append(lost, &now()).await.unwrap(),
        AppendOutcome::Duplicate { position: k as u64 }
    );
    assert_state(store, lost, PayloadState::Present).await;
    assert!(ledger.missing_payloads().is_empty());
    assert_eq!(ledger.recheck_missing().await.unwrap(), 0);
    assert_eq!(
        store.size().await.unwrap(),
        k as u64 + 1,
        "nothing stored twice"
    );

    // A redacted payload is never brought back by a retry.
    let redacted = &s.records[earlier_detainee(s, k)];
    store.remove_payload(&redacted.hash).await.unwrap();
    assert!(matches!(
        ledger.append(redacted, &now()).await.unwrap(),
        AppendOutcome::Duplicate { .. }
    ));
    assert_state(store, redacted, PayloadState::Redacted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_a_retry_completes_a_payload_entry_never_written() {
    let s = world();
    let server = NatsServer::start().expect("nats-server");
    let options = StoreOptions {
        request_timeout: Duration::from_secs(1),
        ..StoreOptions::default()
    };
    let store: Arc<dyn LedgerStore> = Arc::new(
        JetStreamStore::connect_with(&server.url(), options)
            .await
            .unwrap(),
    );
    init(&s, store.clone()).await;
    let k = last_visit(&s);
    {
        let ledger = Ledger::open(store.clone(), strict()).await.unwrap();
        for r in &s.records[..k] {
            ledger.append(r, &now()).await.unwrap();
        }
    }
    // The header alone, as a gateway killed between its two writes leaves it.
    let lost = &s.records[k];
    let js = async_nats::jetstream::new(async_nats::connect(server.url()).await.unwrap());
    let ack = js
        .send_publish(
            format!("{CHAIN_SUBJECT_PREFIX}{}", lost.header.chain),
            Publish::build()
                .payload(lost.without_payload().to_json_line().into())
                .message_id(lost.hash.to_hex()),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(ack.sequence, k as u64 + 1);

    // The restarted gateway replays the header without its payload.
    let ledger = Ledger::open(store.clone(), strict()).await.unwrap();
    retry_completes(&s, &ledger, k).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_retry_completes_a_payload_row_deleted_behind_the_triggers() {
    let s = world();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let store: Arc<dyn LedgerStore> = Arc::new(SqliteStore::open(&path).unwrap());
    init(&s, store.clone()).await;
    let k = last_visit(&s);
    {
        let ledger = Ledger::open(store.clone(), strict()).await.unwrap();
        for r in &s.records[..=k] {
            ledger.append(r, &now()).await.unwrap();
        }
    }
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch("DROP TRIGGER payloads_delete_needs_redaction")
        .unwrap();
    let deleted = raw
        .execute(
            "DELETE FROM payloads WHERE hash = ?1",
            [s.records[k].hash.as_bytes().to_vec()],
        )
        .unwrap();
    assert_eq!(deleted, 1);

    let ledger = Ledger::open(store.clone(), strict()).await.unwrap();
    // Another process on the same file sees it too, and learns of the completion.
    let other = Ledger::open(Arc::new(SqliteStore::open(&path).unwrap()), strict())
        .await
        .unwrap();
    assert_eq!(other.missing_payloads().len(), 1);
    retry_completes(&s, &ledger, k).await;
    assert_eq!(other.recheck_missing().await.unwrap(), 0);
    assert!(other.missing_payloads().is_empty());
}
