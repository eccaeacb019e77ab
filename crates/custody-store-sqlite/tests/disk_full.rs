//! The ledger file on a full disk (a small tmpfs, filled): an append is refused as
//! [`StoreError::Unavailable`] saying the disk is full, nothing of it is written, the file
//! still opens and reads whole, and once space is freed the same append succeeds.
//!
//! Mounting a tmpfs needs root (CAP_SYS_ADMIN): without it the test fails saying so, unless
//! `CUSTODY_SKIP_TMPFS=1` is set, which makes it print that it is skipped and pass.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use custody_core::chain::ChainHead;
use custody_store::conformance::{test_chain, test_records};
use custody_store::{AppendOutcome, LedgerStore, StoreError};
use custody_store_sqlite::SqliteStore;

/// A tmpfs mounted on a directory, unmounted (lazily) on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).expect("mount point");
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output();
        let refusal = match out {
            Ok(o) if o.status.success() => return Some(Tmpfs(dir.to_path_buf())),
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
            Err(e) => format!("cannot run mount: {e}"),
        };
        if std::env::var("CUSTODY_SKIP_TMPFS").as_deref() == Ok("1") {
            eprintln!("skipped (CUSTODY_SKIP_TMPFS=1): cannot mount a tmpfs: {refusal}");
            return None;
        }
        panic!(
            "this test mounts a small tmpfs to fill a disk, which needs root (CAP_SYS_ADMIN): \
             {refusal}; run it as root, or set CUSTODY_SKIP_TMPFS=1 to skip it"
        );
    }

    /// Fills the file system with one file; returns its path.
    fn fill(&self) -> PathBuf {
        let path = self.0.join("filler");
        let mut file = std::fs::File::create(&path).expect("filler");
        let chunk = vec![0u8; 4096];
        while let Ok(n) = file.write(&chunk) {
            if n == 0 {
                break;
            }
        }
        while let Ok(1) = file.write(&[0]) {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

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
        let filler = tmpfs.fill();

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
