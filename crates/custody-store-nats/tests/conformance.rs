//! The storage conformance suite against a real nats-server 2.10+ (`sync_interval: always`, from
//! the testkit) started for each case.

use std::time::Duration;

use custody_core::Hash;
use custody_store::conformance::{async_trait, Harness};
use custody_store_nats::{JetStreamStore, StoreOptions, PAYLOAD_BUCKET};
use custody_testkit::NatsServer;

/// One nats-server per case; `restart` is a kill -9 and a start on the same port and store.
struct JetStreamHarness {
    server: NatsServer,
}

impl JetStreamHarness {
    fn start() -> Self {
        let server =
            NatsServer::start().unwrap_or_else(|e| panic!("cannot start nats-server: {e}"));
        JetStreamHarness { server }
    }
}

fn options() -> StoreOptions {
    StoreOptions {
        // Short, so that an append cut by a restart fails fast and is retried.
        request_timeout: Duration::from_secs(2),
        ..StoreOptions::default()
    }
}

#[async_trait]
impl Harness for JetStreamHarness {
    type Store = JetStreamStore;

    async fn open(&mut self) -> JetStreamStore {
        JetStreamStore::connect_with(&self.server.url(), options())
            .await
            .unwrap_or_else(|e| panic!("cannot open the JetStream store: {e}"))
    }

    async fn restart(&mut self) {
        let server = &mut self.server;
        tokio::task::block_in_place(|| {
            server.kill();
            server
                .restart()
                .unwrap_or_else(|e| panic!("cannot restart nats-server: {e}"));
        });
    }

    async fn lose_payload(&mut self, hash: &Hash) {
        // What a client with write access to the bucket can do: delete the entry.
        let client = async_nats::connect(self.server.url())
            .await
            .expect("connect");
        let js = async_nats::jetstream::new(client);
        let bucket = js.get_key_value(PAYLOAD_BUCKET).await.expect("the bucket");
        assert!(
            bucket.get(hash.to_hex()).await.expect("read").is_some(),
            "the entry existed"
        );
        bucket
            .delete(hash.to_hex())
            .await
            .expect("delete the entry");
    }

    async fn corrupt_payload(&mut self, hash: &Hash, bytes: &[u8]) {
        // What a client with write access to the bucket can do: put another value in the
        // entry, keeping its first line (where the event is) and replacing the payload bytes
        // after it (the entry format of the store's `entry` module).
        let client = async_nats::connect(self.server.url())
            .await
            .expect("connect");
        let js = async_nats::jetstream::new(client);
        let bucket = js.get_key_value(PAYLOAD_BUCKET).await.expect("the bucket");
        let entry = bucket
            .get(hash.to_hex())
            .await
            .expect("read")
            .expect("the entry existed");
        let location_end = entry
            .iter()
            .position(|b| *b == b'\n')
            .expect("the entry has a location line");
        let rest = &entry[location_end + 1..];
        assert!(!rest.is_empty(), "the entry held a payload");
        let mut value = entry[..=location_end].to_vec();
        value.extend_from_slice(bytes);
        bucket
            .put(hash.to_hex(), value.into())
            .await
            .expect("overwrite the entry");
    }
}

custody_store::conformance_tests!(JetStreamHarness::start());
