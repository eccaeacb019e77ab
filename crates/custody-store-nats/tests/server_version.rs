//! The store refuses a nats-server older than 2.10 on connect, with the version it found and
//! how to install a recent one; it accepts the target server.

use custody_store::{LedgerStore, StoreError};
use custody_store_nats::JetStreamStore;
use custody_testkit::{old_server_binary, NatsServer, ServerOptions, MIN_VERSION};

#[tokio::test]
async fn a_server_older_than_2_10_is_refused_with_the_version_and_the_fix() {
    let Some(old) = old_server_binary() else {
        return;
    };
    let server = NatsServer::start_with(ServerOptions {
        binary: old,
        // 2.9 refuses the option; the point is that the store refuses 2.9.
        sync_always: false,
        ..ServerOptions::default()
    })
    .expect("start the old nats-server");
    let version = server.version().to_string();
    assert!(server.version() < MIN_VERSION, "{version}");

    let err = match JetStreamStore::connect(&server.url()).await {
        Ok(_) => panic!("the store accepted nats-server {version}"),
        Err(e) => e,
    };
    let StoreError::Backend(msg) = &err else {
        panic!("a version refusal is not retryable: {err:?}");
    };
    for needle in [
        format!("nats-server {version}"),
        "2.10 or newer".to_string(),
        "scripts/install-nats-server.sh".to_string(),
        "sync_interval: always".to_string(),
    ] {
        assert!(msg.contains(&needle), "{needle:?} missing from: {msg}");
    }

    // Nothing was created on the refused server.
    let jsz = server.monitor_get("/jsz").expect("jsz");
    assert!(jsz.contains("\"streams\": 0"), "{jsz}");
}

#[tokio::test]
async fn the_target_server_is_accepted() {
    let server = NatsServer::start().expect("start nats-server");
    assert!(server.version() >= MIN_VERSION);
    let store = JetStreamStore::connect(&server.url())
        .await
        .expect("connect to the target server");
    assert_eq!(store.size().await.expect("size"), 0);
}
