//! The one ledger scan (`custody_store::LedgerScan`) over a real SQLite file: it yields every
//! record in order, honours its bound, and refuses a store that answers with a gap or that
//! ends early, whatever the backend itself checks. The damaged answers come from a wrapper
//! that drops one position from what the file returns, as a backend bug would.

use custody_core::chain::ChainHead;
use custody_core::{Hash, Record};
use custody_store::conformance::{async_trait, test_chain, test_records};
use custody_store::{
    AccessEntry, AppendOutcome, EventStream, LedgerScan, LedgerStore, StoreError, StoredEvent,
};
use custody_store_sqlite::SqliteStore;

/// A store that hides one ledger position from `read_from`.
#[derive(Debug)]
struct Hiding {
    inner: SqliteStore,
    hidden: Option<u64>,
}

#[async_trait]
impl LedgerStore for Hiding {
    async fn append(&self, record: &Record) -> Result<AppendOutcome, StoreError> {
        self.inner.append(record).await
    }
    async fn chain(&self, chain: &str) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.chain(chain).await
    }
    async fn read_from(&self, position: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let mut events = self.inner.read_from(position, limit).await?;
        events.retain(|ev| Some(ev.position) != self.hidden);
        Ok(events)
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
    async fn event(&self, hash: &Hash) -> Result<Option<StoredEvent>, StoreError> {
        self.inner.event(hash).await
    }
    async fn remove_payload(&self, hash: &Hash) -> Result<(), StoreError> {
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

/// A ledger of `n` records on one chain, with position `hidden` hidden from reads.
async fn ledger(n: usize, hidden: Option<u64>) -> (tempfile::TempDir, Hiding, Vec<Record>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let inner = SqliteStore::open(dir.path().join("ledger.db")).expect("open the ledger file");
    let records = test_records(&test_chain(1), None, n, "scan");
    for r in &records {
        inner.append(r).await.expect("append");
    }
    (dir, Hiding { inner, hidden }, records)
}

/// Every position the scan yields, batch by batch, and how it ended.
async fn scan_all(mut scan: LedgerScan<'_>) -> (Vec<Vec<u64>>, Result<(), StoreError>) {
    let mut batches = Vec::new();
    loop {
        match scan.next_batch().await {
            Ok(Some(batch)) => batches.push(batch.iter().map(|ev| ev.position).collect()),
            Ok(None) => return (batches, Ok(())),
            Err(e) => return (batches, Err(e)),
        }
    }
}

#[tokio::test]
async fn yields_every_record_in_order_in_batches() {
    let (_dir, store, records) = ledger(7, None).await;
    let (batches, end) = scan_all(LedgerScan::new(&store, 0).batch_size(3)).await;
    end.expect("an intact ledger scans to its end");
    assert_eq!(batches, vec![vec![0, 1, 2], vec![3, 4, 5], vec![6]]);

    let mut scan = LedgerScan::new(&store, 2).batch_size(100);
    let batch = scan.next_batch().await.expect("read").expect("a batch");
    let hashes: Vec<Hash> = batch.iter().map(|ev| ev.record.hash).collect();
    let expected: Vec<Hash> = records[2..].iter().map(|r| r.hash).collect();
    assert_eq!(hashes, expected, "the records, not only their positions");
    assert_eq!(scan.position(), 7);
    assert!(scan.next_batch().await.expect("read").is_none());
}

#[tokio::test]
async fn stops_at_its_bound() {
    let (_dir, store, _) = ledger(7, None).await;
    let (batches, end) = scan_all(LedgerScan::new(&store, 1).until(5).batch_size(3)).await;
    end.expect("the bound is inside the ledger");
    assert_eq!(batches, vec![vec![1, 2, 3], vec![4]]);
}

#[tokio::test]
async fn a_bound_past_the_end_is_a_damaged_store() {
    let (_dir, store, _) = ledger(4, None).await;
    let (batches, end) = scan_all(LedgerScan::new(&store, 0).until(6)).await;
    assert_eq!(batches, vec![vec![0, 1, 2, 3]]);
    match end {
        Err(StoreError::Corrupt(m)) => assert!(
            m.contains("ends at position 4") && m.contains('6'),
            "names where the ledger ends and what was expected: {m}"
        ),
        other => panic!("expected a Corrupt error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_gap_yields_what_comes_before_then_fails() {
    let (_dir, store, _) = ledger(6, Some(3)).await;
    let (batches, end) = scan_all(LedgerScan::new(&store, 0).batch_size(10)).await;
    assert_eq!(
        batches,
        vec![vec![0, 1, 2]],
        "the records before the gap, no more"
    );
    match end {
        Err(StoreError::Corrupt(m)) => assert!(
            m.contains("position 4 where 3 was expected"),
            "names the position found and the one expected: {m}"
        ),
        other => panic!("expected a Corrupt error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_gap_at_the_start_of_a_batch_fails_at_once() {
    let (_dir, store, _) = ledger(6, Some(3)).await;
    let mut scan = LedgerScan::new(&store, 0).batch_size(3);
    let first = scan.next_batch().await.expect("read").expect("a batch");
    assert_eq!(first.len(), 3);
    match scan.next_batch().await {
        Err(StoreError::Corrupt(m)) => assert!(m.contains("where 3 was expected"), "{m}"),
        other => panic!("expected a Corrupt error, got {other:?}"),
    }
}
