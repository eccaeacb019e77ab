//! The checkpointer with real parts: a scenario world's signed records in a real SQLite file
//! or a real nats-server (testkit), real checkpoint signatures, real witnesses over HTTP.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use custody_checkpointer::{Checkpointer, CheckpointerError};
use custody_core::checkpoint::verify_checkpoint;
use custody_ledger::META_PUBLISHED_CHECKPOINT;
use custody_store::LedgerStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signs_only_when_the_tree_grew_and_keeps_the_history() {
    let world = world();
    let (_dir, path, store) = sqlite_ledger(&world).await;
    let n = world.records.len();
    let first = n / 2;
    append(&store, &world.records[..first]).await;
    let cp = checkpointer(&world, Vec::new());

    let outcome = cp.tick(store.as_ref()).await.expect("first tick");
    assert!(outcome.signed);
    assert_eq!(outcome.size, first as u64);
    // Nothing grew: nothing signed, the history keeps one entry.
    for _ in 0..2 {
        let again = cp.tick(store.as_ref()).await.expect("tick without growth");
        assert!(!again.signed, "a checkpoint signed although nothing grew");
        assert_eq!(again.size, first as u64);
    }
    assert_eq!(store.checkpoints(0, 10).await.unwrap().len(), 1);

    append(&store, &world.records[first..]).await;
    let outcome = cp.tick(store.as_ref()).await.expect("tick after growth");
    assert!(outcome.signed);
    assert_eq!(outcome.size, n as u64);
    let history = store.checkpoints(0, 10).await.unwrap();
    assert_eq!(
        history.iter().map(|c| c.size).collect::<Vec<_>>(),
        vec![first as u64, n as u64]
    );
    // Each entry verifies with the ledger key, over the roots of the ledger's prefixes.
    let leaves = leaves_of(&world.records);
    for c in &history {
        let checkpoint = verify_checkpoint(&c.note, &ledger_verifier(&world)).unwrap();
        assert_eq!(checkpoint.size, c.size);
        assert_eq!(
            checkpoint.root,
            custody_core::merkle::root_of(&leaves[..c.size as usize])
        );
    }
    // Older callers read the latest one in the metadata.
    let published = store
        .meta(META_PUBLISHED_CHECKPOINT)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(published["size"], n as u64);
    assert_eq!(published["note"], history[1].note.as_str());

    // A second checkpointer (a restart) verifies the whole ledger once and signs nothing new.
    let restarted = checkpointer(&world, Vec::new());
    let outcome = restarted.tick(store.as_ref()).await.unwrap();
    assert!(!outcome.signed);
    drop(path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_last_records_are_refused_and_nothing_is_signed() {
    let world = world();
    let (_dir, path, store) = sqlite_ledger(&world).await;
    let n = world.records.len();
    append(&store, &world.records).await;
    let cp = checkpointer(&world, Vec::new());
    cp.tick(store.as_ref())
        .await
        .expect("checkpoint of the whole ledger");

    // An insider with the file drops the last three records (triggers dropped first).
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch("PRAGMA foreign_keys = OFF; DROP TRIGGER events_no_delete")
        .unwrap();
    let dropped = raw
        .execute("DELETE FROM events WHERE position >= ?1", [(n - 3) as i64])
        .unwrap();
    assert_eq!(dropped, 3);
    drop(raw);
    let before = store.checkpoints(0, 10).await.unwrap();

    for cp in [cp, checkpointer(&world, Vec::new())] {
        match cp.tick(store.as_ref()).await {
            Err(CheckpointerError::Inconsistent {
                old_size,
                new_size,
                ref why,
            }) => {
                assert_eq!((old_size, new_size), (n as u64, (n - 3) as u64));
                assert!(why.contains("removed"), "{why}");
            }
            other => panic!("a ledger shorter than its checkpoint must be refused: {other:?}"),
        }
    }
    assert_eq!(
        store.checkpoints(0, 10).await.unwrap(),
        before,
        "nothing signed"
    );
}

/// The operator swaps the ledger for another one (the same keys and authority, other detainee
/// records) that holds more records than the checkpoint: its prefix does not have the signed
/// root, so nothing is signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_ledger_is_refused() {
    let world = world();
    let (_dir_a, _path_a, a) = sqlite_ledger(&world).await;
    append(&a, &world.records).await;
    let cp = checkpointer(&world, Vec::new());
    cp.tick(a.as_ref()).await.unwrap();
    let signed = a.latest_checkpoint().await.unwrap().unwrap();

    let other = custody_scenario::build(&custody_scenario::ScenarioConfig {
        seed: SEED,
        detainees: DETAINEES + 2,
    })
    .unwrap();
    assert!(other.records.len() > world.records.len());
    assert_ne!(
        leaves_of(&other.records)[..world.records.len()],
        leaves_of(&world.records)[..],
        "the other ledger must differ below the checkpoint"
    );
    let (_dir_b, _path_b, b) = sqlite_ledger(&other).await;
    append(&b, &other.records).await;
    b.add_checkpoint(signed.size, &signed.note).await.unwrap();
    let before = b.checkpoints(0, 10).await.unwrap();
    match checkpointer(&world, Vec::new()).tick(b.as_ref()).await {
        Err(CheckpointerError::Inconsistent { why, .. }) => {
            assert!(why.contains("changed"), "{why}")
        }
        other => panic!("a rewritten ledger must be refused: {other:?}"),
    }
    // The checkpointer that verified the first ledger refuses it too.
    assert!(cp.tick(b.as_ref()).await.is_err());
    assert_eq!(
        b.checkpoints(0, 10).await.unwrap(),
        before,
        "nothing signed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_ticks_on_sqlite() {
    let world = world();
    let (_dir, _path, store) = sqlite_ledger(&world).await;
    scheduled_ticks(&world, store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_ticks_on_jetstream() {
    let world = world();
    let server = custody_testkit::NatsServer::start().expect("nats-server");
    let store: Arc<dyn LedgerStore> = Arc::new(
        custody_store_nats::JetStreamStore::connect(&server.url())
            .await
            .expect("connect"),
    );
    init(&world, Arc::clone(&store)).await;
    scheduled_ticks(&world, store).await;
}

/// The run loop with a short interval: a checkpoint once records are there, another after
/// more are appended, none while nothing grows; it stops on shutdown.
async fn scheduled_ticks(world: &custody_scenario::Scenario, store: Arc<dyn LedgerStore>) {
    let n = world.records.len();
    let first = n / 3;
    append(&store, &world.records[..first]).await;
    let cp = Arc::new(checkpointer(world, Vec::new()));
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let task =
        tokio::spawn(Arc::clone(&cp).run(Arc::clone(&store), Duration::from_millis(50), shutdown));
    wait_for_size(&store, first as u64).await;
    // Several intervals without growth: still one checkpoint.
    let outcome = wait_for_ticks(&cp, 3).await;
    assert!(!outcome.signed);
    assert_eq!(store.checkpoints(0, 10).await.unwrap().len(), 1);
    append(&store, &world.records[first..]).await;
    wait_for_size(&store, n as u64).await;
    // Ticks during the appends may have signed sizes in between: the history grows.
    let sizes: Vec<u64> = store
        .checkpoints(0, 1000)
        .await
        .unwrap()
        .iter()
        .map(|c| c.size)
        .collect();
    assert_eq!(sizes.first(), Some(&(first as u64)));
    assert_eq!(sizes.last(), Some(&(n as u64)));
    assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{sizes:?}");
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the loop stops on shutdown")
        .unwrap();
}

/// Waits (bounded) until the latest stored checkpoint has `size`.
async fn wait_for_size(store: &Arc<dyn LedgerStore>, size: u64) {
    for _ in 0..600 {
        if store.latest_checkpoint().await.unwrap().map(|c| c.size) == Some(size) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no checkpoint of size {size} within 30 s");
}

/// Waits for `count` more ticks of the run loop and returns the last outcome.
async fn wait_for_ticks(cp: &Checkpointer, count: usize) -> custody_checkpointer::TickOutcome {
    let mut rx = cp.subscribe();
    for _ in 0..count {
        tokio::time::timeout(Duration::from_secs(30), rx.changed())
            .await
            .expect("a tick within 30 s")
            .unwrap();
    }
    let outcome = rx.borrow().clone();
    outcome.expect("an outcome")
}
