//! The one ledger scan (`custody_store::LedgerScan`) over a real SQLite file: it yields every
//! record in order, honours its bound, and refuses a store that answers with a gap or that
//! ends early, whatever the backend itself checks. The damaged answers come from the
//! conformance suite's `Faulty` wrapper, which drops one position from what the file returns,
//! as a backend bug would.

use custody_core::{Hash, Record};
use custody_store::conformance::{test_chain, test_records, Faulty};
use custody_store::{LedgerScan, LedgerStore, StoreError};
use custody_store_sqlite::SqliteStore;

/// A ledger of `n` records on one chain, with position `hidden` hidden from reads.
async fn ledger(
    n: usize,
    hidden: Option<u64>,
) -> (tempfile::TempDir, Faulty<SqliteStore>, Vec<Record>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let inner = SqliteStore::open(dir.path().join("ledger.db")).expect("open the ledger file");
    let records = test_records(&test_chain(1), None, n, "scan");
    for r in &records {
        inner.append(r).await.expect("append");
    }
    let mut store = Faulty::new(inner);
    store.hidden_position = hidden;
    (dir, store, records)
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
