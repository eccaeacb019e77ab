//! The JetStream store directory on a full disk (a small tmpfs, filled, with a storage limit
//! above the disk's size so that the disk fills first), against nats-server 2.10.27: appends
//! fail as [`StoreError::Unavailable`] (never acknowledged), every acknowledged one survives,
//! and once space is freed and the server restarted the retries are stored once.
//!
//! Mounting a tmpfs needs root (CAP_SYS_ADMIN): without it the test fails saying so, unless
//! `CUSTODY_SKIP_TMPFS=1` is set, which makes it print that it is skipped and pass.

use std::collections::HashSet;
use std::time::Duration;

use custody_store::conformance::{test_chain, test_records};
use custody_store::{AppendOutcome, LedgerStore, StoreError};
use custody_store_nats::{JetStreamStore, StoreOptions};
use custody_testkit::{NatsServer, ServerOptions, Tmpfs};

async fn open(url: &str) -> JetStreamStore {
    let options = StoreOptions {
        request_timeout: Duration::from_secs(2),
        ..StoreOptions::default()
    };
    JetStreamStore::connect_with(url, options)
        .await
        .unwrap_or_else(|e| panic!("cannot open the store: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_store_directory_stops_appends_unacknowledged_and_a_restart_recovers() {
    let disk = std::env::temp_dir().join(format!("custody-js-full-{}", std::process::id()));
    let Some(tmpfs) = Tmpfs::mount(&disk, "32m") else {
        return;
    };
    // The last `jetstream` block of a configuration is the one nats-server uses.
    let options = ServerOptions {
        extra_config: format!(
            "jetstream {{\n  store_dir: \"{}\"\n  sync_interval: always\n  max_file_store: 1G\n}}\n",
            disk.display()
        ),
        ..ServerOptions::default()
    };
    let mut server =
        tokio::task::block_in_place(|| NatsServer::start_with(options)).expect("nats-server");
    let store = open(&server.url()).await;
    let chain = test_chain(7);
    let records = test_records(&chain, None, 2_000, "full disk");
    for r in &records[..5] {
        store.append(r).await.expect("append with room");
    }
    let filler = tmpfs.fill("filler");

    let mut acked = 5;
    let error = loop {
        match store.append(&records[acked]).await {
            Ok(AppendOutcome::Appended { .. }) => acked += 1,
            Ok(other) => panic!("a new record answered {other:?}"),
            Err(e) => break e,
        }
        assert!(acked < records.len(), "the disk never filled");
    };
    let log = std::fs::read_to_string(server.log_file()).unwrap_or_default();
    let said: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("[ERR]") || l.contains("[WRN]"))
        .collect();
    eprintln!(
        "{} appends acknowledged on the full disk, then: {error}\nthe server said:\n{}",
        acked - 5,
        said.join("\n")
    );
    assert!(
        matches!(error, StoreError::Unavailable(_)),
        "a full disk is unavailable (retry later), not acknowledged: {error:?}"
    );
    // Still refused while the disk is full.
    assert!(matches!(
        store.append(&records[acked]).await,
        Err(StoreError::Unavailable(_))
    ));

    // Space freed and the server restarted: every acknowledged record is there, the retries are
    // stored once, the ledger is dense and whole.
    std::fs::remove_file(&filler).expect("free space");
    drop(store);
    tokio::task::block_in_place(|| server.restart()).expect("restart");
    let store = open(&server.url()).await;
    let stored = store.chain(&chain).await.expect("chain after restart");
    assert!(stored.len() >= acked, "every acknowledged record survived");
    for (e, r) in stored.iter().zip(&records) {
        assert_eq!(e.record.hash, r.hash);
    }
    let end = acked + 5;
    for r in &records[..end] {
        store.append(r).await.expect("retry after the restart");
    }
    let events = store.read_from(0, 100_000).await.expect("read");
    assert_eq!(events.len(), end);
    let mut seen = HashSet::new();
    for (i, (e, r)) in events.iter().zip(&records).enumerate() {
        assert_eq!(e.position, i as u64);
        assert_eq!(e.record.hash, r.hash, "in chain order");
        assert!(seen.insert(e.record.hash));
        let got = store.event(&r.hash).await.expect("event").expect("stored");
        assert_eq!(&got.record, r, "record and payload whole");
    }
    drop(store);
    tokio::task::block_in_place(|| server.kill());
    drop(tmpfs);
    let _ = std::fs::remove_dir_all(&disk);
}
