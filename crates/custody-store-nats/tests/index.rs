//! The JetStream store's index (a message's subject names its chain, its stream sequence is its
//! position) is not signed: messages published behind the store's back, on a real
//! nats-server, are reported as a corrupt store by every read instead of being served.

use std::time::Duration;

use async_nats::jetstream::context::Publish;
use custody_core::Record;
use custody_store::conformance::{test_chain, test_record, test_records};
use custody_store::{LedgerStore, StoreError};
use custody_store_nats::{JetStreamStore, StoreOptions};
use custody_testkit::NatsServer;

async fn setup() -> (NatsServer, JetStreamStore, async_nats::jetstream::Context) {
    let server = NatsServer::start().unwrap_or_else(|e| panic!("cannot start nats-server: {e}"));
    let options = StoreOptions {
        request_timeout: Duration::from_secs(5),
        ..StoreOptions::default()
    };
    let store = JetStreamStore::connect_with(&server.url(), options)
        .await
        .unwrap_or_else(|e| panic!("cannot open the store: {e}"));
    let client = async_nats::connect(server.url()).await.expect("connect");
    (server, store, async_nats::jetstream::new(client))
}

/// Publishes a record without payload on a chain's subject, as anyone with publish rights on
/// `custody.chain.*` could, bypassing the store.
async fn publish_raw(js: &async_nats::jetstream::Context, subject_chain: &str, record: &Record) {
    js.send_publish(
        format!("custody.chain.{subject_chain}"),
        Publish::build().payload(record.without_payload().to_json_line().into()),
    )
    .await
    .expect("publish")
    .await
    .expect("acknowledged");
}

#[track_caller]
fn assert_corrupt<T: std::fmt::Debug>(result: Result<T, StoreError>, needles: &[&str]) {
    match result {
        Err(StoreError::Corrupt(m)) => {
            for needle in needles {
                assert!(m.contains(needle), "{needle:?} not in: {m}");
            }
        }
        other => panic!("expected a Corrupt store error naming {needles:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn a_message_on_another_chains_subject_is_reported() {
    let (_server, store, js) = setup().await;
    let a = test_records(&test_chain(1), None, 2, "a");
    let b = test_records(&test_chain(2), None, 1, "b");
    for r in a.iter().chain(&b) {
        store.append(r).await.expect("append");
    }
    // A record of chain b, on chain a's subject: message 4.
    let stray = test_record(&test_chain(2), 1, Some(b[0].hash), "stray");
    publish_raw(&js, &test_chain(1), &stray).await;
    let needles = ["message 4", "not its chain's"];
    assert_corrupt(store.head(&test_chain(1)).await, &needles);
    assert_corrupt(store.chain(&test_chain(1)).await, &needles);
    assert_corrupt(store.read_from(0, 10).await, &needles);
    // Chain b's own subject is intact.
    assert_eq!(store.chain(&test_chain(2)).await.expect("b").len(), 1);
}

#[tokio::test]
async fn a_head_whose_seq_is_not_its_place_in_the_chain_is_reported() {
    let (_server, store, js) = setup().await;
    let chain = test_chain(3);
    let a = test_records(&chain, None, 3, "a");
    for r in &a {
        store.append(r).await.expect("append");
    }
    let head = store.head(&chain).await.expect("head").expect("a head");
    assert_eq!((head.seq, head.hash), (2, a[2].hash));

    // "seq 99" on a chain of three: before, the head read served seq 99.
    let rogue = test_record(&chain, 99, Some(a[2].hash), "rogue");
    publish_raw(&js, &chain, &rogue).await;
    let needles = ["message 4", "is seq 99", "holds 4 messages"];
    assert_corrupt(store.head(&chain).await, &needles);
    assert_corrupt(store.chain(&chain).await, &["gap or a fork"]);

    // A second seq 1 on another chain, after its seq 2: the head would go back to seq 1.
    let other = test_chain(4);
    let o = test_records(&other, None, 3, "o");
    for r in &o {
        store.append(r).await.expect("append");
    }
    let fork = test_record(&other, 1, Some(o[0].hash), "fork");
    publish_raw(&js, &other, &fork).await;
    assert_corrupt(
        store.head(&other).await,
        &["message 8", "is seq 1", "holds 4 messages"],
    );
}
