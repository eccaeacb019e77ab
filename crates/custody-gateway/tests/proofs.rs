//! The proof endpoints through real HTTP over a real SQLite ledger, read with the client
//! library: every inclusion and consistency proof equals the core's over the stored leaves and
//! verifies; the tree follows appends; bad requests are refused with a clear message. Served
//! from a tree file (`serve_with_tree`) and from the in-memory tree of `serve_with`.

mod common;

use std::sync::Arc;

use common::*;
use custody_client::{ApiError, Client};
use custody_core::merkle::{consistency_proof, inclusion_proof, leaf_hash, root_of, Digest};
use custody_store::{LedgerScan, LedgerStore};
use custody_tlog::TreeDb;
use reqwest::StatusCode;
use tokio::sync::oneshot;

async fn leaves(store: &dyn LedgerStore) -> Vec<Digest> {
    let mut leaves = Vec::new();
    let mut scan = LedgerScan::new(store, 0);
    while let Some(batch) = scan.next_batch().await.unwrap() {
        leaves.extend(batch.iter().map(|ev| leaf_hash(ev.record.hash.as_bytes())));
    }
    leaves
}

/// Every event's inclusion proof at every size that holds it, and every consistency proof.
async fn check_every_proof(client: &Client, store: &dyn LedgerStore) {
    let leaves = leaves(store).await;
    let n = leaves.len() as u64;
    let events = store.read_from(0, leaves.len()).await.unwrap();
    for size in 1..=n {
        let root = root_of(&leaves[..size as usize]);
        for ev in events.iter().filter(|ev| ev.position < size) {
            let p = client
                .inclusion_proof(&ev.record.hash, Some(size))
                .await
                .unwrap();
            assert_eq!((p.index, p.tree_size), (ev.position, size));
            assert_eq!(p.event_hash().unwrap(), ev.record.hash.0);
            assert_eq!(
                p.proof().unwrap(),
                inclusion_proof(&leaves, ev.position, size).unwrap()
            );
            p.verify(&root).expect("the inclusion proof verifies");
        }
        for old in 0..=size {
            let p = client.consistency_proof(old, Some(size)).await.unwrap();
            assert_eq!((p.old_size, p.new_size), (old, size));
            assert_eq!(
                p.proof().unwrap(),
                consistency_proof(&leaves, old, size).unwrap()
            );
            p.verify(&root_of(&leaves[..old as usize]), &root)
                .expect("the consistency proof verifies");
        }
    }
}

fn refused(e: ApiError) -> (u16, String, String) {
    match e {
        ApiError::NotFound { message } => (404, "not_found".to_string(), message),
        ApiError::Other {
            status,
            rule,
            message,
        } => (status, rule.code().to_string(), message),
        other => panic!("not a refusal: {other:?}"),
    }
}

#[tokio::test]
async fn proofs_from_a_tree_file_equal_the_core_and_follow_appends() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let store = custody_store_sqlite::SqliteStore::open(dir.path().join("ledger.db")).unwrap();
    let ledger = ledger_with_authority(Arc::new(store), &keys).await;
    let tree_path = dir.path().join("ledger.db.tree.sqlite");
    let tree = Arc::new(TreeDb::open(&tree_path).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(custody_gateway::serve_with_tree(
        ledger.clone(),
        Arc::new(custody_gateway::Views::in_memory()),
        tree.clone(),
        listener,
        custody_gateway::ServeConfig::default(),
        async {
            let _ = rx.await;
        },
    ));
    let client = Client::new(&base);
    let store = ledger.store().clone();

    // The authority chain only, then a detainee's chain appended through the gateway.
    let before = store.size().await.unwrap();
    check_every_proof(&client, store.as_ref()).await;
    assert_eq!(tree.size().unwrap(), before);
    let chain = detainee_in_prison(&keys, chain_id(3));
    for r in &chain.records {
        let resp = reqwest::Client::new()
            .post(format!("{base}/v1/events"))
            .header("content-type", "application/json")
            .body(r.to_json_line())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
    let after = store.size().await.unwrap();
    assert!(after > before);
    // No size: the current tree, caught up before the answer.
    let last = chain.head();
    let p = client.inclusion_proof(&last.hash, None).await.unwrap();
    assert_eq!((p.index, p.tree_size), (after - 1, after));
    let p = client.consistency_proof(before, None).await.unwrap();
    assert_eq!((p.old_size, p.new_size), (before, after));
    check_every_proof(&client, store.as_ref()).await;
    assert_eq!(tree.size().unwrap(), after, "the file followed the ledger");

    let _ = tx.send(());
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn bad_requests_are_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let gw = sqlite_gateway(dir.path(), &keys).await;
    let client = Client::new(&gw.base);
    let size = gw.ledger.store().size().await.unwrap();
    let first = gw.ledger.store().read_from(0, 1).await.unwrap()[0]
        .record
        .hash;
    let last = gw.ledger.store().read_from(size - 1, 1).await.unwrap()[0]
        .record
        .hash;

    // Served by the in-memory tree, no signature needed.
    let p = client.inclusion_proof(&first, None).await.unwrap();
    assert_eq!((p.index, p.tree_size), (0, size));

    let unknown = custody_core::Hash([7; 32]);
    let (status, rule, message) =
        refused(client.inclusion_proof(&unknown, None).await.unwrap_err());
    assert_eq!((status, rule.as_str()), (404, "not_found"));
    assert!(message.contains(&unknown.to_hex()), "{message}");

    let (status, _, message) = refused(
        client
            .inclusion_proof(&first, Some(size + 1))
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 404);
    assert!(message.contains(&format!("({size} leaves)")), "{message}");

    let (status, _, message) = refused(
        client
            .inclusion_proof(&last, Some(size - 1))
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 400);
    assert!(message.contains("ask a larger size"), "{message}");

    let (status, _, message) = refused(client.consistency_proof(3, Some(2)).await.unwrap_err());
    assert_eq!(status, 400);
    assert!(message.contains("old 3 is larger than new 2"), "{message}");

    let (status, _, message) = refused(
        client
            .consistency_proof(1, Some(size + 5))
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 404);
    assert!(message.contains("no such tree yet"), "{message}");

    let cases: &[(&str, &str)] = &[
        ("/v1/proof/inclusion", "name the event"),
        ("/v1/proof/inclusion?hash=xyz", "is not an event hash"),
        (
            "/v1/proof/inclusion?hash=ABCD&size=1",
            "is not an event hash",
        ),
        ("/v1/proof/inclusion?size=1&hash=00&hash=00", "given twice"),
        (
            "/v1/proof/inclusion?hash=00&index=3",
            "unknown parameter \"index\"",
        ),
        ("/v1/proof/consistency", "name the older tree size"),
        ("/v1/proof/consistency?old=-1", "is not a tree size"),
        (
            "/v1/proof/consistency?old=1&new=99999999999999999999",
            "is not a tree size",
        ),
        (
            "/v1/proof/consistency?old=9223372036854775808",
            "is not a tree size",
        ),
        ("/v1/proof/consistency?old=1e3", "is not a tree size"),
    ];
    for (path, expected) in cases {
        let (status, _, body) = gw
            .send(reqwest::Method::GET, path, None, &[], Vec::new())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"]["rule"], "bad_request", "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{path}: {message}");
    }
    let long = format!("/v1/proof/consistency?old=1&new={}", "1".repeat(300));
    let (status, _, body) = gw
        .send(reqwest::Method::GET, &long, None, &[], Vec::new())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("over 256 bytes"));
    let (status, headers, _) = gw
        .send(
            reqwest::Method::POST,
            "/v1/proof/consistency?old=1",
            None,
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers["allow"], "GET,HEAD");
    gw.stop().await;
}
