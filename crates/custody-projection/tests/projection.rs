//! The persisted read model on a real SQLite ledger and a real JetStream ledger (nats-server
//! started by custody-testkit), made from the demo world: folded incrementally, in batches of
//! every size, reopened, interrupted and rebuilt, it always equals the fold in memory.

use std::sync::Arc;
use std::time::Duration;

use custody_projection::{fold_events, ProjectionDb, ProjectionError};
use custody_scenario::{build, Scenario, ScenarioConfig};
use custody_store::{LedgerScan, LedgerStore};
use custody_store_nats::{JetStreamStore, StoreOptions};
use custody_store_sqlite::SqliteStore;
use custody_testkit::NatsServer;
use custody_views::detainee::Projection;
use tempfile::TempDir;

fn world(seed: u64, detainees: usize) -> Scenario {
    build(&ScenarioConfig { seed, detainees }).expect("the demo world builds")
}

/// Writes the world into a store as `custody demo` does: every record, then the lawful
/// redactions, and the ledger metadata naming it.
async fn fill(store: &dyn LedgerStore, w: &Scenario) {
    store
        .set_meta("ledger", &serde_json::json!({"name": w.name}))
        .await
        .expect("meta");
    for r in &w.records {
        store.append(r).await.expect("append");
    }
    for h in &w.redacted {
        store.remove_payload(h).await.expect("redact");
    }
}

async fn sqlite_ledger(dir: &TempDir, name: &str, w: &Scenario) -> Arc<SqliteStore> {
    let store = Arc::new(SqliteStore::open(dir.path().join(name)).expect("open ledger"));
    fill(store.as_ref(), w).await;
    store
}

/// The fold of the first `end` records in memory, without any file.
async fn fold_in_memory(store: &dyn LedgerStore, end: u64) -> Projection {
    let mut p = Projection::new();
    let mut scan = LedgerScan::new(store, 0).until(end);
    while let Some(batch) = scan.next_batch().await.expect("scan") {
        for ev in &batch {
            p.observe(ev.position, &ev.record).expect("in order");
        }
    }
    p
}

#[tokio::test]
async fn incremental_equals_rebuild_equals_memory_after_every_event() {
    let dir = TempDir::new().expect("tempdir");
    let w = world(3, 6);
    let store = sqlite_ledger(&dir, "ledger.sqlite", &w).await;
    let size = store.size().await.expect("size");
    assert!(size > 20, "a ledger worth folding: {size}");
    let mut db = ProjectionDb::open(dir.path().join("views.sqlite")).expect("open views");
    let mut live = db.load().expect("load");
    assert_eq!(live, Projection::new());
    for end in 1..=size {
        let done = db
            .catch_up_until(store.as_ref(), &mut live, Some(end))
            .await
            .expect("catch up");
        assert_eq!(done.folded, 1, "one new record at {end}");
        assert_eq!(done.position, Some(end - 1));
        let expected = fold_in_memory(store.as_ref(), end).await;
        assert_eq!(live, expected, "in memory after {end} records");
        assert_eq!(
            db.load().expect("load"),
            expected,
            "in the file after {end}"
        );
        assert_eq!(db.position().expect("position"), Some(end - 1));
    }
    assert_eq!(db.lag(store.as_ref()).await.expect("lag"), 0);
    // Nothing new: nothing folded, nothing changed.
    let again = db.catch_up(store.as_ref(), &mut live).await.expect("again");
    assert_eq!(again.folded, 0);
    let full = fold_in_memory(store.as_ref(), size).await;
    let (rebuilt, done) = db.rebuild(store.as_ref()).await.expect("rebuild");
    assert_eq!(done.folded, size);
    assert_eq!(rebuilt, full);
    assert_eq!(db.load().expect("load"), full);
    assert!(
        full.detainees.len() == w.detainees.len(),
        "one fold per detainee chain: {} of {}",
        full.detainees.len(),
        w.detainees.len()
    );
}

#[tokio::test]
async fn every_batch_size_gives_the_same_file() {
    let dir = TempDir::new().expect("tempdir");
    let w = world(5, 5);
    let store = sqlite_ledger(&dir, "ledger.sqlite", &w).await;
    let size = store.size().await.expect("size");
    let full = fold_in_memory(store.as_ref(), size).await;
    for batch in 1..=9 {
        let path = dir.path().join(format!("views-{batch}.sqlite"));
        let mut db = ProjectionDb::open(&path).expect("open").batch_size(batch);
        let mut p = db.load().expect("load");
        let done = db.catch_up(store.as_ref(), &mut p).await.expect("catch up");
        assert_eq!(done.folded, size, "batch {batch}");
        assert_eq!(p, full, "batch {batch} in memory");
        drop(db);
        let reopened = ProjectionDb::open(&path).expect("reopen");
        assert_eq!(
            reopened.load().expect("load"),
            full,
            "batch {batch} in the file"
        );
        // A rebuild in transactions of `batch` records writes the same file.
        let mut db = reopened.rebuild_batch_size(batch);
        let (rebuilt, done) = db.rebuild(store.as_ref()).await.expect("rebuild");
        assert_eq!(done.folded, size, "rebuild batch {batch}");
        assert_eq!(done.position, Some(size - 1));
        assert_eq!(rebuilt, full, "rebuild batch {batch} in memory");
        assert_eq!(db.position().expect("position"), Some(size - 1));
        assert_eq!(
            db.load().expect("load"),
            full,
            "rebuild batch {batch} in the file"
        );
    }
}

#[tokio::test]
async fn reopening_resumes_from_the_cursor() {
    let dir = TempDir::new().expect("tempdir");
    let w = world(7, 5);
    let store = sqlite_ledger(&dir, "ledger.sqlite", &w).await;
    let size = store.size().await.expect("size");
    let path = dir.path().join("views.sqlite");
    let half = size / 2;
    {
        let mut db = ProjectionDb::open(&path).expect("open").batch_size(4);
        let mut p = db.load().expect("load");
        db.catch_up_until(store.as_ref(), &mut p, Some(half))
            .await
            .expect("first half");
        assert_eq!(db.lag(store.as_ref()).await.expect("lag"), size - half);
    }
    let mut db = ProjectionDb::open(&path).expect("reopen");
    assert_eq!(db.position().expect("position"), Some(half - 1));
    let mut p = db.load().expect("load");
    assert_eq!(p, fold_in_memory(store.as_ref(), half).await);
    let done = db.catch_up(store.as_ref(), &mut p).await.expect("rest");
    assert_eq!(
        done.folded,
        size - half,
        "only what the file had not folded"
    );
    assert_eq!(p, fold_in_memory(store.as_ref(), size).await);
    assert_eq!(db.lag(store.as_ref()).await.expect("lag"), 0);
}

#[tokio::test]
async fn a_batch_never_committed_leaves_the_file_at_the_last_boundary() {
    let dir = TempDir::new().expect("tempdir");
    let w = world(9, 5);
    let store = sqlite_ledger(&dir, "ledger.sqlite", &w).await;
    let size = store.size().await.expect("size");
    let path = dir.path().join("views.sqlite");
    let boundary = 10;
    {
        let mut db = ProjectionDb::open(&path).expect("open");
        let mut p = db.load().expect("load");
        db.catch_up_until(store.as_ref(), &mut p, Some(boundary))
            .await
            .expect("first batch");
        // The next batch is folded in memory, then the process dies before its commit.
        let batch = store.read_from(boundary, 15).await.expect("read");
        let changes = fold_events(&mut p, &batch).expect("fold");
        assert_eq!(changes.folded(), 15);
        drop(changes);
        drop(db);
    }
    let mut db = ProjectionDb::open(&path).expect("reopen");
    assert_eq!(db.position().expect("position"), Some(boundary - 1));
    let mut p = db.load().expect("load");
    assert_eq!(p, fold_in_memory(store.as_ref(), boundary).await);
    let done = db.catch_up(store.as_ref(), &mut p).await.expect("catch up");
    assert_eq!(done.folded, size - boundary);
    assert_eq!(p, fold_in_memory(store.as_ref(), size).await);
    assert_eq!(db.load().expect("load"), p);
}

#[tokio::test]
async fn changes_kept_back_are_merged_with_the_next_batch() {
    // The gateway folds in memory, then writes; a failed write is kept and merged with the next
    // batch's, so the cursor never passes a row it did not write.
    let dir = TempDir::new().expect("tempdir");
    let w = world(11, 4);
    let store = sqlite_ledger(&dir, "ledger.sqlite", &w).await;
    let size = store.size().await.expect("size");
    let mut db = ProjectionDb::open(dir.path().join("views.sqlite")).expect("open");
    db.bind(store.as_ref()).await.expect("bind");
    let mut p = Projection::new();
    let first = store.read_from(0, 12).await.expect("read");
    let mut pending = fold_events(&mut p, &first).expect("fold");
    let rest = store
        .read_from(12, usize::try_from(size).expect("size"))
        .await
        .expect("read");
    pending.merge(fold_events(&mut p, &rest).expect("fold"));
    assert_eq!(pending.folded(), size);
    db.commit(&pending).expect("commit");
    assert_eq!(
        db.load().expect("load"),
        fold_in_memory(store.as_ref(), size).await
    );
    // Committing the same changes again is a no-op.
    db.commit(&pending).expect("again");
    assert_eq!(db.position().expect("position"), Some(size - 1));
}

#[tokio::test]
async fn a_file_of_another_ledger_is_refused_and_left_alone() {
    let dir = TempDir::new().expect("tempdir");
    let a = sqlite_ledger(&dir, "a.sqlite", &world(1, 3)).await;
    let b = sqlite_ledger(&dir, "b.sqlite", &world(2, 3)).await;
    let path = dir.path().join("views.sqlite");
    let mut db = ProjectionDb::open(&path).expect("open");
    let mut p = db.load().expect("load");
    db.catch_up(a.as_ref(), &mut p).await.expect("fold a");
    let before = db.position().expect("position");
    drop(db);
    let mut db = ProjectionDb::open(&path).expect("reopen");
    let mut q = db.load().expect("load");
    let err = db
        .catch_up(b.as_ref(), &mut q)
        .await
        .expect_err("a file of ledger a is not caught up with ledger b");
    assert!(
        matches!(err, ProjectionError::OtherLedger { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("views.sqlite") && text.contains("another views file"),
        "{text}"
    );
    assert!(!err.is_rebuildable());
    assert_eq!(db.position().expect("position"), before, "nothing changed");
    assert_eq!(db.load().expect("load"), p);
    // A file ahead of its ledger (made from a longer copy) is refused too.
    let empty = Arc::new(SqliteStore::open(dir.path().join("empty.sqlite")).expect("open"));
    empty
        .set_meta("ledger", &serde_json::json!({"name": world(1, 3).name}))
        .await
        .expect("meta");
    let short = Arc::new(SqliteStore::open(dir.path().join("short.sqlite")).expect("open"));
    let w1 = world(1, 3);
    short
        .set_meta("ledger", &serde_json::json!({"name": w1.name}))
        .await
        .expect("meta");
    for r in w1.records.iter().take(5) {
        short.append(r).await.expect("append");
    }
    let mut db = ProjectionDb::open(&path).expect("reopen");
    let err = db.bind(short.as_ref()).await.expect_err("ahead");
    assert!(
        matches!(err, ProjectionError::AheadOfLedger { size: 5, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_same_on_jetstream() {
    let server = NatsServer::start().unwrap_or_else(|e| panic!("cannot start nats-server: {e}"));
    let options = StoreOptions {
        request_timeout: Duration::from_secs(5),
        ..StoreOptions::default()
    };
    let store = JetStreamStore::connect_with(&server.url(), options)
        .await
        .unwrap_or_else(|e| panic!("cannot open the store: {e}"));
    let w = world(13, 5);
    fill(&store, &w).await;
    let size = store.size().await.expect("size");
    let dir = TempDir::new().expect("tempdir");
    let sqlite = sqlite_ledger(&dir, "ledger.sqlite", &w).await;
    let full = fold_in_memory(&store, size).await;
    assert_eq!(
        full,
        fold_in_memory(sqlite.as_ref(), size).await,
        "both stores fold alike"
    );
    let path = dir.path().join("views.sqlite");
    let third = size / 3;
    {
        let mut db = ProjectionDb::open(&path).expect("open").batch_size(7);
        let mut p = db.load().expect("load");
        db.catch_up_until(&store, &mut p, Some(third))
            .await
            .expect("a third");
    }
    let mut db = ProjectionDb::open(&path).expect("reopen").batch_size(7);
    let mut p = db.load().expect("load");
    let done = db.catch_up(&store, &mut p).await.expect("rest");
    assert_eq!(done.folded, size - third);
    assert_eq!(p, full);
    assert_eq!(db.lag(&store).await.expect("lag"), 0);
    let (rebuilt, _) = db.rebuild(&store).await.expect("rebuild");
    assert_eq!(rebuilt, full);
    assert_eq!(db.load().expect("load"), full);
}

/// The child of [`killed_mid_rebuild_the_file_is_at_a_batch_boundary`]: rebuilds the views file
/// of the ledger in `dir`, one record per transaction, again and again until killed.
fn rebuild_forever(dir: &std::path::Path) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = SqliteStore::open(dir.join("ledger.sqlite")).expect("open ledger");
        let mut db = ProjectionDb::open(dir.join("views.sqlite"))
            .expect("open views")
            .batch_size(1)
            .rebuild_batch_size(1);
        loop {
            db.rebuild(&store).await.expect("rebuild");
        }
    });
}

#[test]
fn killed_mid_rebuild_the_file_is_at_a_batch_boundary() {
    if let Some(dir) = std::env::var_os("CUSTODY_PROJECTION_TEST_CHILD") {
        rebuild_forever(std::path::Path::new(&dir));
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = TempDir::new().expect("tempdir");
    let w = world(17, 5);
    let store = runtime.block_on(sqlite_ledger(&dir, "ledger.sqlite", &w));
    let size = runtime.block_on(store.size()).expect("size");
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "killed_mid_rebuild_the_file_is_at_a_batch_boundary",
            "--nocapture",
        ])
        .env("CUSTODY_PROJECTION_TEST_CHILD", dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn the child");
    // Wait (a bounded number of looks) until the child has written some batches, then kill it.
    let views = dir.path().join("views.sqlite");
    let mut seen = false;
    for _ in 0..2000 {
        let position: Option<i64> = rusqlite::Connection::open(&views)
            .ok()
            .and_then(|c| {
                c.query_row("SELECT position FROM cursor WHERE id = 0", [], |r| r.get(0))
                    .ok()
            })
            .flatten();
        if position.is_some_and(|p| p >= 5) {
            seen = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("kill");
    let _ = child.wait();
    assert!(seen, "the child never wrote 6 batches");
    let mut db = ProjectionDb::open(&views).expect("reopen");
    let position = db.position().expect("position");
    let mut p = db.load().expect("load");
    let folded = position.map_or(0, |p| p + 1);
    assert_eq!(
        p,
        runtime.block_on(fold_in_memory(store.as_ref(), folded)),
        "the file holds exactly the first {folded} records"
    );
    let done = runtime
        .block_on(db.catch_up(store.as_ref(), &mut p))
        .expect("catch up");
    assert_eq!(done.folded, size - folded);
    assert_eq!(p, runtime.block_on(fold_in_memory(store.as_ref(), size)));
    assert_eq!(db.load().expect("load"), p);
}
