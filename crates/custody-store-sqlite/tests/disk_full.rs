//! The ledger file on a full disk (a small tmpfs, filled): an append is refused as
//! [`StoreError::Unavailable`] saying the disk is full, nothing of it is written, the file
//! still opens and reads whole, and once space is freed the same append succeeds.
//!
//! Mounting a tmpfs needs root (CAP_SYS_ADMIN): without it the test fails saying so, unless
//! `CUSTODY_SKIP_TMPFS=1` is set, which makes it print that it is skipped and pass.

use custody_core::chain::ChainHead;
use custody_store::conformance::{test_chain, test_records};
use custody_store::{AppendOutcome, LedgerStore, StoreError};
use custody_store_sqlite::SqliteStore;
use custody_testkit::Tmpfs;

#[test]
fn an_append_on_a_full_disk_is_refused_whole_and_succeeds_once_space_is_freed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let disk = dir.path().join("disk");
    let Some(tmpfs) = Tmpfs::mount(&disk, "2m") else {
        return;
    };
    let path = disk.join("ledger.db");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = SqliteStore::open(&path).expect("open");
        let chain = test_chain(1);
        let records = test_records(&chain, None, 2000, "disk full");
        for r in &records[..10] {
            store.append(r).await.expect("append with room");
        }
        let filler = tmpfs.fill("filler");

        let mut stored = 10;
        let error = loop {
            match store.append(&records[stored]).await {
                Ok(AppendOutcome::Appended { .. }) => stored += 1,
                Ok(other) => panic!("a new record answered {other:?}"),
                Err(e) => break e,
            }
            assert!(stored < records.len(), "the disk never filled");
        };
        eprintln!("{stored} records stored, then: {error}");
        match &error {
            StoreError::Unavailable(m) => assert!(
                m.contains("disk holding the ledger database is full") && m.contains("free space"),
                "{m}"
            ),
            other => panic!("a full disk is Unavailable, saying so: {other:?}"),
        }
        // Nothing of the refused append: the head is the last acknowledged record.
        let last = &records[stored - 1];
        let head = Some(ChainHead {
            seq: last.header.seq,
            hash: last.hash,
        });
        assert_eq!(store.head(&chain).await.expect("head"), head);
        assert_eq!(store.size().await.expect("size"), stored as u64);
        drop(store);

        // The file opens again on the full disk and reads whole.
        let store = SqliteStore::open(&path).expect("reopen on the full disk");
        assert_eq!(store.size().await.expect("size"), stored as u64);
        let events = store.chain(&chain).await.expect("read the chain");
        assert_eq!(events.len(), stored);
        assert!(events
            .iter()
            .zip(&records)
            .all(|(e, r)| e.record.hash == r.hash));

        // Space freed: the same append succeeds, no restart needed.
        std::fs::remove_file(&filler).expect("free space");
        let outcome = store
            .append(&records[stored])
            .await
            .expect("append after space was freed");
        assert!(
            matches!(outcome, AppendOutcome::Appended { .. }),
            "{outcome:?}"
        );
        assert_eq!(store.size().await.expect("size"), stored as u64 + 1);
    });
}
