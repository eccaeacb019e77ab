//! The conformance suite against the SQLite backend, plus what only SQLite can show: the
//! database itself refuses to rewrite history, busy and corrupt are reported as such, and an
//! acknowledged append survives a SIGKILL.

use std::collections::HashSet;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use custody_core::chain::ChainHead;
use custody_core::Hash;
use custody_store::conformance::{async_trait, next_after, test_chain, test_record, Harness};
use custody_store::{AccessEntry, AppendOutcome, LedgerStore, StoreError};
use custody_store_sqlite::{SqliteOptions, SqliteStore};
use tempfile::TempDir;

/// A ledger file in a fresh temporary directory; a restart is dropping and reopening it.
struct SqliteHarness {
    dir: TempDir,
}

impl SqliteHarness {
    fn new() -> Self {
        SqliteHarness {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }
}

#[async_trait]
impl Harness for SqliteHarness {
    type Store = SqliteStore;

    async fn open(&mut self) -> SqliteStore {
        SqliteStore::open(self.dir.path().join("ledger.db")).expect("open the ledger file")
    }

    async fn restart(&mut self) {}

    async fn lose_payload(&mut self, hash: &Hash) {
        // What an insider with the file can do: drop the trigger that guards payloads, delete.
        let raw = rusqlite::Connection::open(self.dir.path().join("ledger.db")).expect("open raw");
        raw.execute_batch("DROP TRIGGER payloads_delete_needs_redaction")
            .expect("drop the trigger");
        let deleted = raw
            .execute(
                "DELETE FROM payloads WHERE hash = ?1",
                [hash.as_bytes().to_vec()],
            )
            .expect("delete the payload row");
        assert_eq!(deleted, 1, "the payload row existed");
    }

    async fn corrupt_payload(&mut self, hash: &Hash, bytes: &[u8]) {
        // What an insider with the file can do: drop the trigger that refuses payload updates,
        // overwrite the row (text when the bytes are UTF-8, as the store writes it, else a
        // blob).
        let raw = rusqlite::Connection::open(self.dir.path().join("ledger.db")).expect("open raw");
        raw.execute_batch("DROP TRIGGER IF EXISTS payloads_no_update")
            .expect("drop the trigger");
        let key = hash.as_bytes().to_vec();
        let updated = match std::str::from_utf8(bytes) {
            Ok(text) => raw.execute(
                "UPDATE payloads SET payload = ?1 WHERE hash = ?2",
                rusqlite::params![text, key],
            ),
            Err(_) => raw.execute(
                "UPDATE payloads SET payload = ?1 WHERE hash = ?2",
                rusqlite::params![bytes, key],
            ),
        }
        .expect("overwrite the payload row");
        assert_eq!(updated, 1, "the payload row existed");
    }
}

custody_store::conformance_tests!(SqliteHarness::new());

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn entry() -> AccessEntry {
    AccessEntry {
        at: "2024-05-01T10:00:00Z".into(),
        reader: "ed25519:abc".into(),
        agency: "ml-cndh".into(),
        target: test_chain(1),
        action: "read_chain".into(),
        allowed: true,
    }
}

#[test]
fn database_refuses_update_and_delete_of_events_and_access_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let chain = test_chain(1);
    let first = test_record(&chain, 0, None, "a");
    let second = test_record(&chain, 1, Some(first.hash), "b");
    let store = SqliteStore::open(&path).unwrap();
    runtime().block_on(async {
        store.append(&first).await.unwrap();
        store.append(&second).await.unwrap();
        store.log_access(&entry()).await.unwrap();
    });

    let raw = rusqlite::Connection::open(&path).unwrap();
    for statement in [
        "UPDATE events SET record = '{}' WHERE position = 0",
        "UPDATE events SET seq = 7",
        "DELETE FROM events WHERE position = 1",
        "DELETE FROM events",
        "UPDATE access_log SET entry = '{}'",
        "DELETE FROM access_log",
        // A gap in positions.
        "INSERT INTO events (position, chain, seq, hash, record) \
         VALUES (5, 'x', 0, zeroblob(32), '{}')",
        // An auto-assigned position.
        "INSERT INTO events (chain, seq, hash, record) VALUES ('x', 0, zeroblob(32), '{}')",
        "INSERT INTO access_log (id, entry) VALUES (3, '{}')",
    ] {
        let err = raw
            .execute(statement, [])
            .expect_err(&format!("the database accepted: {statement}"));
        assert!(
            err.to_string().contains("append-only"),
            "{statement}: refused for another reason: {err}"
        );
    }
    // A payload row goes only with a recorded redaction, and never comes back after one.
    let delete = "DELETE FROM payloads WHERE hash = ?1";
    let err = raw
        .execute(delete, [first.hash.as_bytes().to_vec()])
        .expect_err("the database deleted a payload without a redaction");
    assert!(err.to_string().contains("lawful redaction"), "{err}");
    raw.execute(
        "INSERT INTO redactions (hash) VALUES (?1)",
        [first.hash.as_bytes().to_vec()],
    )
    .unwrap();
    assert_eq!(
        raw.execute(delete, [first.hash.as_bytes().to_vec()])
            .unwrap(),
        1
    );
    for statement in [
        "DELETE FROM redactions",
        "UPDATE redactions SET hash = zeroblob(32)",
        "UPDATE payloads SET payload = '{}'",
        "INSERT INTO payloads (hash, payload) SELECT hash, '{}' FROM redactions",
    ] {
        raw.execute(statement, [])
            .expect_err(&format!("the database accepted: {statement}"));
    }

    runtime().block_on(async {
        let all = store.read_from(0, 10).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].record, first.without_payload());
        assert_eq!(all[0].payload, custody_store::PayloadState::Redacted);
        assert_eq!(all[1].record, second);
        assert_eq!(store.access_log(0, 10).await.unwrap(), vec![entry()]);
    });
}

#[test]
fn schema_wal_and_pragmas() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let store = SqliteStore::open(&path).unwrap();
    assert!(path.exists());
    assert_eq!(store.path(), path);
    let raw = rusqlite::Connection::open(&path).unwrap();
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = raw
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, custody_store_sqlite::SCHEMA_VERSION);
    // A second store on the same file opens the existing schema.
    drop(SqliteStore::open(&path).unwrap());
    // A newer schema is refused rather than misread.
    raw.pragma_update(None, "user_version", 99).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(err.to_string().contains("schema version 99"), "{err}");
    // A missing directory is an error, not a panic.
    assert!(SqliteStore::open(dir.path().join("no/such/dir/ledger.db")).is_err());
}

/// A file of schema version 1 (no `redactions` table) is upgraded on open: the table and its
/// triggers are added, the records stay, and an event whose payload row is gone reads as
/// missing, since version 1 did not record why.
#[test]
fn a_version_1_file_is_upgraded_and_its_absent_payloads_read_missing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let chain = test_chain(3);
    let first = test_record(&chain, 0, None, "v1");
    let second = test_record(&chain, 1, Some(first.hash), "v1");
    let store = SqliteStore::open(&path).unwrap();
    runtime().block_on(async {
        store.append(&first).await.unwrap();
        store.append(&second).await.unwrap();
    });
    drop(store);
    // Back to version 1, as a file written before the upgrade; then a payload deleted, as
    // version 1 allowed.
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch(
        "DROP TRIGGER payloads_delete_needs_redaction; DROP TRIGGER payloads_not_after_redaction;
         DROP TRIGGER payloads_no_update; DROP TRIGGER redactions_no_update;
         DROP TRIGGER redactions_no_delete; DROP TABLE redactions; DROP TABLE fork_alarms;
         DROP TABLE checkpoints;
         PRAGMA user_version = 1;",
    )
    .unwrap();
    raw.execute(
        "DELETE FROM payloads WHERE hash = ?1",
        [first.hash.as_bytes().to_vec()],
    )
    .unwrap();
    drop(raw);

    let store = SqliteStore::open(&path).unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = raw
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, custody_store_sqlite::SCHEMA_VERSION);
    runtime().block_on(async {
        let all = store.read_from(0, 10).await.unwrap();
        let states: Vec<_> = all.iter().map(|e| e.payload).collect();
        use custody_store::PayloadState::{Missing, Present};
        assert_eq!(states, vec![Missing, Present]);
        assert_eq!(all[1].record, second);
        // The upgraded file guards its payloads like a new one.
        store.remove_payload(&second.hash).await.unwrap();
        assert_eq!(
            store.event(&second.hash).await.unwrap().unwrap().payload,
            custody_store::PayloadState::Redacted
        );
    });
    let err = raw
        .execute("DELETE FROM redactions", [])
        .expect_err("redactions are append-only");
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[test]
fn busy_database_is_unavailable_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let options = SqliteOptions {
        busy_timeout: Duration::from_millis(50),
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open_with(&path, options).unwrap();
    let record = test_record(&test_chain(2), 0, None, "busy");
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch("BEGIN IMMEDIATE").unwrap();
    runtime().block_on(async {
        match store.append(&record).await {
            Err(StoreError::Unavailable(_)) => {}
            other => panic!("expected Unavailable while another writer holds the lock: {other:?}"),
        }
    });
    raw.execute_batch("COMMIT").unwrap();
    runtime().block_on(async {
        assert_eq!(
            store.append(&record).await.unwrap(),
            AppendOutcome::Appended { position: 0 },
            "the retry succeeds once the lock is gone"
        );
    });
}

#[test]
fn unreadable_row_is_corrupt_naming_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let store = SqliteStore::open(&path).unwrap();
    let chain = test_chain(3);
    let first = test_record(&chain, 0, None, "ok");
    runtime().block_on(async {
        store.append(&first).await.unwrap();
    });
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute(
        "INSERT INTO events (position, chain, seq, hash, record) VALUES (1, ?1, 1, ?2, 'not json')",
        rusqlite::params![chain, Hash::of(b"x").as_bytes().to_vec()],
    )
    .unwrap();
    runtime().block_on(async {
        match store.read_from(0, 10).await {
            Err(StoreError::Corrupt(m)) => assert!(m.contains("position 1"), "{m}"),
            other => panic!("expected Corrupt: {other:?}"),
        }
        match store.chain(&chain).await {
            Err(StoreError::Corrupt(m)) => assert!(m.contains("position 1"), "{m}"),
            other => panic!("expected Corrupt: {other:?}"),
        }
        // The readable event is still readable on its own.
        assert_eq!(store.read_from(0, 1).await.unwrap()[0].record, first);
    });
}

const CRASH_DB: &str = "CUSTODY_SQLITE_CRASH_CHILD_DB";
const CRASH_WRITERS: u64 = 3;
const ACK: &str = "ACK ";

/// The child of [`acknowledged_appends_survive_sigkill`]: appends on a few chains as fast as it
/// can and prints each acknowledged position and hash, until it is killed.
#[test]
#[ignore = "child process of acknowledged_appends_survive_sigkill"]
fn crash_child() {
    let Ok(path) = std::env::var(CRASH_DB) else {
        return;
    };
    runtime().block_on(async move {
        let store = std::sync::Arc::new(SqliteStore::open(&path).expect("open"));
        let mut tasks = Vec::new();
        for w in 0..CRASH_WRITERS {
            let store = std::sync::Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                let chain = test_chain(100 + w);
                let mut head: Option<ChainHead> = None;
                for _ in 0..100_000 {
                    let (seq, prev) = next_after(head);
                    let record = test_record(&chain, seq, prev, "crash");
                    let position = store.append(&record).await.expect("append").position();
                    println!("{ACK}{position} {}", record.hash);
                    head = Some(ChainHead {
                        seq,
                        hash: record.hash,
                    });
                }
            }));
        }
        for t in tasks {
            t.await.expect("writer");
        }
    });
}

#[test]
fn acknowledged_appends_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_DB, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the child");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut stdout = std::io::BufReader::new(stdout);
        loop {
            let mut line = String::new();
            match stdout.read_line(&mut line) {
                // Only complete lines were acknowledged; a line cut by the kill is not.
                Ok(n) if n > 0 && line.ends_with('\n') => {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
                _ => break,
            }
        }
    });

    let parse = |line: &str| -> Option<(u64, Hash)> {
        let rest = &line[line.find(ACK)? + ACK.len()..];
        let mut parts = rest.split_whitespace();
        let position = parts.next()?.parse().ok()?;
        let hash = parts.next()?.parse().ok()?;
        Some((position, hash))
    };
    let mut acked = Vec::new();
    while acked.len() < 300 {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the child stopped acknowledging appends");
        if let Some(a) = parse(&line) {
            acked.push(a);
        }
    }
    child.kill().expect("SIGKILL the child");
    child.wait().unwrap();
    reader.join().unwrap();
    // Lines printed before the kill were acknowledged too.
    acked.extend(rx.try_iter().filter_map(|l| parse(&l)));

    let store = SqliteStore::open(&path).expect("reopen after the crash");
    runtime().block_on(async {
        let size = store.size().await.unwrap();
        let all = store.read_from(0, usize::MAX).await.unwrap();
        assert_eq!(all.len() as u64, size);
        for (i, ev) in all.iter().enumerate() {
            assert_eq!(ev.position, i as u64, "positions are dense after the crash");
        }
        let mut hashes = HashSet::new();
        for ev in &all {
            assert!(hashes.insert(ev.record.hash), "an event is stored twice");
        }
        for (position, hash) in &acked {
            let ev = store
                .event(hash)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("acknowledged event {hash} at {position} is lost"));
            assert_eq!(ev.position, *position, "acknowledged position of {hash}");
        }
        let positions: HashSet<u64> = acked.iter().map(|a| a.0).collect();
        assert_eq!(
            positions.len(),
            acked.len(),
            "a position was acknowledged twice"
        );
        for w in 0..CRASH_WRITERS {
            let chain = store.chain(&test_chain(100 + w)).await.unwrap();
            for (i, ev) in chain.iter().enumerate() {
                assert_eq!(ev.record.header.seq, i as u64);
                assert_eq!(
                    ev.record.header.prev,
                    i.checked_sub(1).map(|p| chain[p].record.hash)
                );
            }
        }
        // The ledger goes on.
        let chain = test_chain(100);
        let (seq, prev) = next_after(store.head(&chain).await.unwrap());
        assert_eq!(
            store
                .append(&test_record(&chain, seq, prev, "after-crash"))
                .await
                .unwrap(),
            AppendOutcome::Appended { position: size }
        );
    });
}

/// The checkpoint history is append-only in the database too: a row is never deleted, never
/// resized, never inserted below the largest size, and its note only gains lines after it.
#[test]
fn database_refuses_rewriting_the_checkpoint_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let store = SqliteStore::open(&path).unwrap();
    let note = |size: u64| {
        format!(
            "db.example/ledger\n{size}\n{}=\n\n\u{2014} db.example/ledger c2ln\n",
            "A".repeat(43)
        )
    };
    runtime().block_on(async {
        store.add_checkpoint(2, &note(2)).await.unwrap();
        store.add_checkpoint(5, &note(5)).await.unwrap();
    });
    let raw = rusqlite::Connection::open(&path).unwrap();
    for statement in [
        "DELETE FROM checkpoints",
        "DELETE FROM checkpoints WHERE size = 5",
        "UPDATE checkpoints SET size = 9 WHERE size = 5",
        "UPDATE checkpoints SET note = 'forged' WHERE size = 5",
        "INSERT INTO checkpoints (size, note) VALUES (3, 'older')",
    ] {
        let err = raw
            .execute(statement, [])
            .expect_err(&format!("the database accepted: {statement}"));
        assert!(
            err.to_string().contains("append-only"),
            "{statement}: refused for another reason: {err}"
        );
    }
    // Appending a cosignature line is what an update may do; a damaged note is reported.
    raw.execute(
        "UPDATE checkpoints SET note = note || 'w c2ln' || char(10) WHERE size = 5",
        [],
    )
    .unwrap();
    runtime().block_on(async {
        let all = store.checkpoints(0, 10).await.unwrap();
        assert_eq!(all.iter().map(|c| c.size).collect::<Vec<_>>(), vec![2, 5]);
        assert!(all[1].note.ends_with("c2ln\nw c2ln\n"));
    });
    raw.execute(
        "UPDATE checkpoints SET note = note || 'cut' WHERE size = 5",
        [],
    )
    .unwrap();
    runtime().block_on(async {
        match store.latest_checkpoint().await {
            Err(StoreError::Corrupt(m)) => assert!(m.contains("size 5 is damaged"), "{m}"),
            other => panic!("a damaged note must be reported: {other:?}"),
        }
    });
}
