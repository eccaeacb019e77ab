//! The append path on a real SQLite file: validation before storage, idempotent retries,
//! replay after a lawful redaction, catching up with another process's appends.

mod common;

use std::sync::Arc;

use custody_core::chain::ChainHead;
use custody_core::validate::ValidatorConfig;
use custody_core::{EventKind, Timestamp};
use custody_ledger::{AppendError, Ledger};
use custody_scenario::{build, Scenario, ScenarioConfig};
use custody_store::{
    AccessEntry, AppendOutcome, EventStream, LedgerStore, StoreError, StoredEvent,
};
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
        ledger: visit.header.ledger.clone(),
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

/// A store whose appends answer late: the record is stored at once, the answer comes
/// `answer_delay` later (an acknowledgement on its way). Counts ledger reads.
#[derive(Debug)]
struct SlowAnswers {
    inner: SqliteStore,
    answer_delay: std::time::Duration,
    reads: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl LedgerStore for SlowAnswers {
    async fn append(&self, record: &custody_core::Record) -> Result<AppendOutcome, StoreError> {
        let out = self.inner.append(record).await;
        tokio::time::sleep(self.answer_delay).await;
        out
    }
    async fn chain(&self, chain: &str) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.chain(chain).await
    }
    async fn read_from(&self, position: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.read_from(position, limit).await
    }
    async fn subscribe(&self, position: u64) -> Result<EventStream, StoreError> {
        self.inner.subscribe(position).await
    }
    async fn head(&self, chain: &str) -> Result<Option<ChainHead>, StoreError> {
        self.inner.head(chain).await
    }
    async fn size(&self) -> Result<u64, StoreError> {
        self.inner.size().await
    }
    async fn event(&self, hash: &custody_core::Hash) -> Result<Option<StoredEvent>, StoreError> {
        self.inner.event(hash).await
    }
    async fn remove_payload(&self, hash: &custody_core::Hash) -> Result<(), StoreError> {
        self.inner.remove_payload(hash).await
    }
    async fn meta(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        self.inner.meta(key).await
    }
    async fn set_meta(&self, key: &str, value: &serde_json::Value) -> Result<(), StoreError> {
        self.inner.set_meta(key, value).await
    }
    async fn log_access(&self, entry: &AccessEntry) -> Result<(), StoreError> {
        self.inner.log_access(entry).await
    }
    async fn access_log(&self, from: u64, limit: usize) -> Result<Vec<AccessEntry>, StoreError> {
        self.inner.access_log(from, limit).await
    }
    async fn record_fork(&self, alarm: &custody_store::ForkAlarm) -> Result<bool, StoreError> {
        self.inner.record_fork(alarm).await
    }
    async fn forks(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<custody_store::ForkAlarm>, StoreError> {
        self.inner.forks(from, limit).await
    }
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
    let store = Arc::new(SlowAnswers {
        inner: SqliteStore::open(&path).unwrap(),
        answer_delay: std::time::Duration::from_millis(500),
        reads: Default::default(),
    });
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
