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

/// The tree file shared with the proof endpoints: each tick extends it with the new records
/// only, and what is signed is exactly what the leaves of every record give (the note of the
/// old path, which rehashed every leaf: Ed25519 signing is deterministic, so the bytes are
/// equal); a restarted checkpointer on the same file signs nothing new, and a witness added
/// then is given a consistency proof from the file that it accepts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticks_over_the_tree_file_sign_what_every_leaf_gives_and_read_only_new_records() {
    let world = world();
    let (dir, _path, store) = sqlite_ledger(&world).await;
    let tree_path = dir.path().join("ledger.tree.sqlite");
    let tree = Arc::new(custody_tlog::TreeDb::open(&tree_path).unwrap());
    let cp = checkpointer(&world, Vec::new()).with_tree(Arc::clone(&tree));
    let counted = Counting::new(Arc::clone(&store));
    let n = world.records.len();
    let steps = [n / 3, n / 3 + 1, 2 * n / 3];
    let leaves = leaves_of(&world.records);
    let signer = custody_core::checkpoint::NoteSigner::new(
        &world.name,
        world.ledger_key.signing_key().clone(),
    )
    .unwrap();
    let mut appended = 0;
    for &size in &steps {
        append(&store, &world.records[appended..size]).await;
        let new = (size - appended) as u64;
        let first = appended == 0;
        appended = size;
        counted.take();
        let outcome = cp.tick(&counted).await.expect("tick");
        assert!(outcome.signed);
        assert_eq!(outcome.size, size as u64);
        // What the tick read: the new records twice (verified, then added to the tree), the
        // tree's last leaf and, on the first tick, the genesis record; never the whole ledger
        // again (the old path read every leaf at each tick).
        let read = counted.take();
        eprintln!("tick to size {size} after {new} new records: {read} records read");
        if !first {
            assert!(
                read <= 2 * new + 2,
                "{read} records read for {new} new ones"
            );
        }
        // The tree holds exactly the records signed over: it was extended, not rebuilt.
        assert_eq!(tree.size().unwrap(), size as u64);
        let old_path = signer
            .sign_checkpoint(&custody_core::checkpoint::Checkpoint {
                origin: world.name.clone(),
                size: size as u64,
                root: custody_core::merkle::root_of(&leaves[..size]),
                extensions: Vec::new(),
            })
            .unwrap();
        let latest = store.latest_checkpoint().await.unwrap().unwrap();
        assert_eq!(latest.note, old_path, "size {size}");
    }
    drop(cp);
    drop(tree);

    // A restart on the same file: nothing grew, nothing signed; a witness that knows nothing
    // yet is sent the latest checkpoint with no proof, and the next growth with a proof read
    // from the file, which it checks.
    let mut w = TestWitness::new(&world, "witness.tree.example", 23);
    w.start().await;
    let tree = Arc::new(custody_tlog::TreeDb::open(&tree_path).unwrap());
    let restarted = checkpointer(&world, vec![w.witness()]).with_tree(Arc::clone(&tree));
    let outcome = restarted.tick(store.as_ref()).await.expect("restart tick");
    assert!(!outcome.signed);
    assert_eq!(outcome.cosigned_by, vec![w.name()]);
    append(&store, &world.records[appended..]).await;
    let outcome = restarted
        .tick(store.as_ref())
        .await
        .expect("tick after growth");
    assert!(outcome.signed);
    assert_eq!(outcome.size, n as u64);
    assert_eq!(outcome.cosigned_by, vec![w.name()], "{outcome:?}");
    assert_eq!(tree.size().unwrap(), n as u64);
    let latest = store.latest_checkpoint().await.unwrap().unwrap();
    let cosigned = custody_core::cosignature::verify_cosigned(
        &latest.note,
        &ledger_verifier(&world),
        &[w.verifier()],
        1,
    )
    .expect("cosigned");
    assert_eq!(
        cosigned.checkpoint.root,
        custody_core::merkle::root_of(&leaves)
    );
    w.stop().await;
}

/// A tree file of another ledger is refused: nothing is signed over it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_file_of_another_ledger_is_refused() {
    let world = world();
    let (dir, _path, store) = sqlite_ledger(&world).await;
    append(&store, &world.records).await;
    let tree = custody_tlog::TreeDb::open(dir.path().join("other.tree.sqlite")).unwrap();
    tree.append_event_hashes(&[[7; 32]]).unwrap();
    let cp = checkpointer(&world, Vec::new()).with_tree(Arc::new(tree));
    let err = cp.tick(store.as_ref()).await.unwrap_err();
    assert!(
        matches!(
            err,
            CheckpointerError::Tree(custody_tlog::TreeError::OtherLedger { .. })
        ),
        "{err}"
    );
    assert!(store.latest_checkpoint().await.unwrap().is_none());
}
