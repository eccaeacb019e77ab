//! The checkpointer with real witnesses (crate custody-witness, served over HTTP in-process):
//! cosignatures gathered, verified and stored; a witness down never blocks signing and
//! cosigns at the next tick once back; a quorum of two fails with one witness of two.

mod common;

use common::*;
use custody_core::checkpoint::CheckpointError;
use custody_core::cosignature::verify_cosigned;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_cosigns_each_checkpoint_with_a_consistency_proof() {
    let world = world();
    let (_dir, _path, store) = sqlite_ledger(&world).await;
    let mut w = TestWitness::new(&world, "witness.cndh.example", 21);
    w.start().await;
    let n = world.records.len();
    let first = n / 2;
    append(&store, &world.records[..first]).await;
    let cp = checkpointer(&world, vec![w.witness()]);
    let outcome = cp.tick(store.as_ref()).await.expect("tick");
    assert!(outcome.signed);
    assert_eq!(outcome.cosigned_by, vec![w.name()]);
    assert!(outcome.witness_failures.is_empty());
    let latest = store.latest_checkpoint().await.unwrap().unwrap();
    let cosigned = verify_cosigned(&latest.note, &ledger_verifier(&world), &[w.verifier()], 1)
        .expect("the stored checkpoint carries the witness's cosignature");
    assert_eq!(cosigned.checkpoint.size, first as u64);

    // The next checkpoint goes with a consistency proof from the size the witness cosigned:
    // the witness checks it, so its cosignature proves the proof right. A new checkpointer
    // (a restart, knowing nothing of the witness) starts from the previous stored size.
    append(&store, &world.records[first..]).await;
    let restarted = checkpointer(&world, vec![w.witness()]);
    let outcome = restarted.tick(store.as_ref()).await.expect("tick");
    assert!(outcome.signed);
    assert_eq!(outcome.cosigned_by, vec![w.name()]);
    let history = store.checkpoints(0, 10).await.unwrap();
    assert_eq!(history.len(), 2);
    for c in &history {
        verify_cosigned(&c.note, &ledger_verifier(&world), &[w.verifier()], 1)
            .expect("every entry of the history keeps its cosignature");
    }
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_down_never_blocks_signing_and_cosigns_once_back() {
    let world = world();
    let (_dir, _path, store) = sqlite_ledger(&world).await;
    let mut w = TestWitness::new(&world, "witness.icrc.example", 22);
    append(&store, &world.records).await;
    let cp = checkpointer(&world, vec![w.witness()]);

    // Down: the checkpoint is signed and stored all the same, the failure reported.
    let outcome = cp
        .tick(store.as_ref())
        .await
        .expect("tick with the witness down");
    assert!(outcome.signed);
    assert!(outcome.cosigned_by.is_empty());
    assert_eq!(outcome.witness_failures.len(), 1);
    assert_eq!(outcome.witness_failures[0].0, w.name());
    let latest = store.latest_checkpoint().await.unwrap().unwrap();
    assert_eq!(latest.size, world.records.len() as u64);
    match verify_cosigned(&latest.note, &ledger_verifier(&world), &[w.verifier()], 1) {
        Err(CheckpointError::QuorumNotMet { got: 0, .. }) => {}
        other => panic!("no cosignature yet: {other:?}"),
    }

    // Back: the next tick, although the tree did not grow, gets the cosignature.
    w.start().await;
    let outcome = cp
        .tick(store.as_ref())
        .await
        .expect("tick with the witness back");
    assert!(!outcome.signed, "nothing grew: nothing new signed");
    assert_eq!(outcome.cosigned_by, vec![w.name()]);
    let cosigned = store.latest_checkpoint().await.unwrap().unwrap();
    assert_eq!(cosigned.size, latest.size);
    verify_cosigned(&cosigned.note, &ledger_verifier(&world), &[w.verifier()], 1)
        .expect("the stored checkpoint now carries the cosignature");
    assert_eq!(
        store.checkpoints(0, 10).await.unwrap().len(),
        1,
        "the same entry"
    );
    // A third tick asks nobody.
    let outcome = cp.tick(store.as_ref()).await.unwrap();
    assert_eq!(outcome.cosigned_by, vec![w.name()]);
    assert!(outcome.witness_failures.is_empty());
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quorum_of_two_fails_with_one_witness_of_two() {
    let world = world();
    let (_dir, _path, store) = sqlite_ledger(&world).await;
    let mut up = TestWitness::new(&world, "witness.up.example", 23);
    let down = TestWitness::new(&world, "witness.down.example", 24);
    up.start().await;
    append(&store, &world.records).await;
    let cp = checkpointer(&world, vec![up.witness(), down.witness()]);
    let outcome = cp.tick(store.as_ref()).await.unwrap();
    assert_eq!(outcome.cosigned_by, vec![up.name()]);
    let note = store.latest_checkpoint().await.unwrap().unwrap().note;
    let both = [up.verifier(), down.verifier()];
    match verify_cosigned(&note, &ledger_verifier(&world), &both, 2) {
        Err(CheckpointError::QuorumNotMet {
            got: 1,
            needed: 2,
            cosigned,
            missing,
        }) => {
            assert_eq!(cosigned, vec![up.name()]);
            assert_eq!(missing, vec![down.name()]);
        }
        other => panic!("a quorum of two must fail: {other:?}"),
    }
    verify_cosigned(&note, &ledger_verifier(&world), &both, 1).expect("a quorum of one holds");
    up.stop().await;
}

/// The gateway serves the latest checkpoint with the witness's cosignature, and the history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_serves_the_cosigned_checkpoint_and_the_history() {
    let world = world();
    let (_dir, _path, store) = sqlite_ledger(&world).await;
    let mut w = TestWitness::new(&world, "witness.ohchr.example", 25);
    w.start().await;
    let n = world.records.len();
    append(&store, &world.records[..n / 2]).await;
    let cp = checkpointer(&world, vec![w.witness()]);
    cp.tick(store.as_ref()).await.unwrap();
    append(&store, &world.records[n / 2..]).await;
    cp.tick(store.as_ref()).await.unwrap();

    let ledger = std::sync::Arc::new(
        custody_ledger::Ledger::open(
            std::sync::Arc::clone(&store),
            custody_core::validate::ValidatorConfig::default(),
        )
        .await
        .unwrap(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(custody_gateway::serve_with(
        ledger,
        listener,
        custody_gateway::ServeConfig::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let client = reqwest::Client::new();
    let note = client
        .get(format!("{base}/v1/checkpoint"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let cosigned = verify_cosigned(&note, &ledger_verifier(&world), &[w.verifier()], 1)
        .expect("GET /v1/checkpoint carries the cosignature");
    assert_eq!(cosigned.checkpoint.size, n as u64);
    assert_eq!(cosigned.witnesses[0].0, w.name());

    let history: serde_json::Value = client
        .get(format!("{base}/v1/checkpoints?from=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sizes: Vec<u64> = history["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["size"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, vec![(n / 2) as u64, n as u64]);
    assert_eq!(history["next"], serde_json::Value::Null);
    let bad = client
        .get(format!("{base}/v1/checkpoints?from=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let _ = stop.send(());
    let _ = task.await;
    w.stop().await;
}
