//! What an insider with the ledger file can do once the triggers are dropped, and that every
//! read reports it instead of serving it: a changed `seq` or `chain` column, a removed or moved
//! row, a swapped payload. Each case edits a real SQLite file behind the store's back.

use std::fmt::Debug;
use std::path::Path;

use custody_core::Record;
use custody_store::conformance::{test_chain, test_records};
use custody_store::{LedgerStore, StoreError};
use custody_store_sqlite::SqliteStore;
use futures::StreamExt;

/// Two interleaved chains: `a` at positions 0, 2, 4 and `b` at positions 1, 3.
struct Ledger {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    store: SqliteStore,
    a: Vec<Record>,
    b: Vec<Record>,
}

async fn ledger() -> Ledger {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("ledger.db");
    let store = SqliteStore::open(&path).expect("open the ledger file");
    let a = test_records(&test_chain(1), None, 3, "a");
    let b = test_records(&test_chain(2), None, 2, "b");
    for r in [&a[0], &b[0], &a[1], &b[1], &a[2]] {
        store.append(r).await.expect("append");
    }
    Ledger {
        _dir: dir,
        path,
        store,
        a,
        b,
    }
}

/// Opens the file as an insider would and drops the append-only triggers.
fn insider(path: &Path) -> rusqlite::Connection {
    let raw = rusqlite::Connection::open(path).expect("open the file directly");
    raw.execute_batch(
        "PRAGMA foreign_keys = OFF; DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete; DROP TRIGGER events_dense;",
    )
    .expect("drop the triggers");
    raw
}

#[track_caller]
fn assert_corrupt<T: Debug>(result: Result<T, StoreError>, needles: &[&str]) {
    match result {
        Err(StoreError::Corrupt(m)) => {
            for needle in needles {
                assert!(m.contains(needle), "{needle:?} not in: {m}");
            }
        }
        other => panic!("expected a Corrupt store error naming {needles:?}, got {other:?}"),
    }
}

/// Every read of the store on an intact ledger, to show that the same reads succeed once the
/// row is put back (the error is the mismatch, nothing else).
async fn reads_succeed(l: &Ledger) {
    assert_eq!(l.store.read_from(0, 10).await.expect("read").len(), 5);
    let chain: Vec<Record> = l
        .store
        .chain(&l.a[0].header.chain)
        .await
        .expect("chain")
        .into_iter()
        .map(|e| e.record)
        .collect();
    assert_eq!(chain, l.a);
    let head = l.store.head(&l.a[0].header.chain).await.expect("head");
    assert_eq!(head.map(|h| (h.seq, h.hash)), Some((2, l.a[2].hash)));
    assert!(l.store.event(&l.a[1].hash).await.expect("event").is_some());
}

#[tokio::test]
async fn a_changed_seq_column_is_reported_by_every_read() {
    let l = ledger().await;
    let raw = insider(&l.path);
    // The middle record of chain a claims to be its seq 99: before, the head was "seq 99" and
    // the chain read came out of order (a0, a2, a1).
    raw.execute("UPDATE events SET seq = 99 WHERE position = 2", [])
        .expect("update");
    let chain = l.a[0].header.chain.clone();
    let needles = ["position 2", "seq 99", "header says seq 1"];
    assert_corrupt(l.store.head(&chain).await, &needles);
    assert_corrupt(l.store.chain(&chain).await, &needles);
    assert_corrupt(l.store.read_from(0, 10).await, &needles);
    assert_corrupt(l.store.event(&l.a[1].hash).await, &needles);
    // A subscription yields the error, then ends.
    let items: Vec<_> = l
        .store
        .subscribe(0)
        .await
        .expect("subscribe")
        .collect()
        .await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert!(
        matches!(&items[0], Err(StoreError::Corrupt(m)) if m.contains("position 2")),
        "{items:?}"
    );
    // The other chain does not go through the damaged row: it still reads.
    assert_eq!(
        l.store.chain(&l.b[0].header.chain).await.expect("b").len(),
        2
    );
    // Nor can an append build on the false head.
    let next = test_records(&chain, None, 4, "a").pop().expect("a3");
    assert_corrupt(l.store.append(&next).await, &["position 2"]);

    raw.execute("UPDATE events SET seq = 1 WHERE position = 2", [])
        .expect("restore");
    reads_succeed(&l).await;
}

#[tokio::test]
async fn a_changed_chain_column_is_reported_by_every_read() {
    let l = ledger().await;
    let raw = insider(&l.path);
    let elsewhere = test_chain(9);
    raw.execute(
        "UPDATE events SET chain = ?1 WHERE position = 2",
        [elsewhere.as_str()],
    )
    .expect("update");
    let chain = l.a[0].header.chain.clone();
    let header_names = format!("its header names chain {chain}");
    let needles = ["position 2", elsewhere.as_str(), header_names.as_str()];
    assert_corrupt(l.store.head(&elsewhere).await, &needles);
    assert_corrupt(l.store.chain(&elsewhere).await, &needles);
    assert_corrupt(l.store.read_from(0, 10).await, &needles);
    assert_corrupt(l.store.event(&l.a[1].hash).await, &needles);
    // Chain a lost its seq 1: its head and its read say so.
    assert_corrupt(l.store.head(&chain).await, &["has 2 rows", "seq 2"]);
    assert_corrupt(
        l.store.chain(&chain).await,
        &["position 4", "seq 1 was expected"],
    );

    raw.execute(
        "UPDATE events SET chain = ?1 WHERE position = 2",
        [chain.as_str()],
    )
    .expect("restore");
    reads_succeed(&l).await;
}

#[tokio::test]
async fn a_removed_or_moved_row_is_reported() {
    let l = ledger().await;
    let raw = insider(&l.path);
    let chain = l.a[0].header.chain.clone();

    // Two records of chain a swap positions: the chain read sees a2 stored before a1.
    raw.execute_batch(
        "UPDATE events SET position = 100 WHERE position = 2;
         UPDATE events SET position = 2 WHERE position = 4;
         UPDATE events SET position = 4 WHERE position = 100;",
    )
    .expect("swap");
    assert_corrupt(
        l.store.chain(&chain).await,
        &["position 2", "stored before the record it follows"],
    );
    raw.execute_batch(
        "UPDATE events SET position = 100 WHERE position = 2;
         UPDATE events SET position = 2 WHERE position = 4;
         UPDATE events SET position = 4 WHERE position = 100;",
    )
    .expect("swap back");
    reads_succeed(&l).await;

    // A row removed from the middle: a hole in the ledger, a gap in the chain.
    raw.execute("DELETE FROM events WHERE position = 2", [])
        .expect("delete");
    assert_corrupt(l.store.read_from(0, 10).await, &["no event at position 2"]);
    assert_corrupt(l.store.read_from(2, 10).await, &["no event at position 2"]);
    assert_corrupt(l.store.head(&chain).await, &["has 2 rows"]);
    assert_corrupt(l.store.chain(&chain).await, &["seq 1 was expected"]);
}

#[tokio::test]
async fn a_payload_moved_to_another_event_is_reported() {
    let l = ledger().await;
    // The payloads table refuses updates by trigger; an insider with the file drops it.
    let raw = rusqlite::Connection::open(&l.path).expect("open the file directly");
    raw.execute_batch("DROP TRIGGER payloads_no_update;")
        .expect("drop the trigger");
    raw.execute(
        "UPDATE payloads SET payload = (SELECT payload FROM payloads WHERE hash = ?1) \
         WHERE hash = ?2",
        [
            l.b[1].hash.as_bytes().to_vec(),
            l.a[1].hash.as_bytes().to_vec(),
        ],
    )
    .expect("update");
    let needles = ["position 2", "does not match the payload_digest"];
    assert_corrupt(l.store.event(&l.a[1].hash).await, &needles);
    assert_corrupt(l.store.chain(&l.a[0].header.chain).await, &needles);
    assert_corrupt(l.store.read_from(0, 10).await, &needles);
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_ledger_file_and_its_companions_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let l = ledger().await;
    let mode = |name: &str| {
        let path = l.path.with_file_name(name);
        std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    // The store is open, so the write-ahead log and the shared-memory file exist.
    for name in ["ledger.db", "ledger.db-wal", "ledger.db-shm"] {
        assert_eq!(mode(name), 0o600, "{name}");
    }
}
