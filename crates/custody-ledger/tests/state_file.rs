//! `Ledger::open_with_state_file` on a real SQLite file: a saved state that matches the store
//! gives the same ledger as a full replay, replaying only the records after it; one that does
//! not match (altered, another ledger's, a store behind it or holding another record at its
//! end) is set aside and the ledger is replayed from its first record.

mod common;

use std::path::Path;
use std::sync::Arc;

use custody_core::ids::AUTHORITY_CHAIN;
use custody_core::validate::ValidatorConfig;
use custody_core::Timestamp;
use custody_ledger::{Ledger, StateFileUse};
use custody_scenario::{build, Scenario, ScenarioConfig};
use custody_store::LedgerStore;
use custody_store_sqlite::SqliteStore;

fn world(seed: u64) -> Scenario {
    build(&ScenarioConfig {
        seed,
        detainees: 30,
    })
    .unwrap()
}

fn now() -> Timestamp {
    Timestamp::parse("2026-01-01T00:00:00Z").unwrap()
}

/// A new SQLite ledger of the world holding its first `n` records.
async fn store_with(s: &Scenario, path: &Path, n: usize) -> Arc<dyn LedgerStore> {
    let store: Arc<dyn LedgerStore> = Arc::new(SqliteStore::open(path).unwrap());
    common::init_primary(s, store.clone()).await;
    let ledger = Ledger::open(store.clone(), ValidatorConfig::default())
        .await
        .unwrap();
    ledger.append_batch(&s.records[..n], &now()).await.unwrap();
    store
}

async fn state_of(ledger: &Ledger) -> serde_json::Value {
    ledger
        .with_state(|v| serde_json::to_value(v).unwrap())
        .await
}

/// The state a full replay of the store builds.
async fn replayed(store: &Arc<dyn LedgerStore>) -> serde_json::Value {
    let ledger = Ledger::open(store.clone(), ValidatorConfig::default())
        .await
        .unwrap();
    state_of(&ledger).await
}

async fn open(store: &Arc<dyn LedgerStore>, state: &Path) -> (Ledger, StateFileUse) {
    Ledger::open_with_state_file(store.clone(), ValidatorConfig::default(), state)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_saved_state_resumes_where_it_was_saved_and_gives_the_replayed_ledger() {
    let s = world(11);
    let dir = tempfile::tempdir().unwrap();
    let half = s.records.len() / 2;
    let store = store_with(&s, &dir.path().join("l.db"), half).await;
    let state = dir.path().join("l.state");

    let (ledger, used) = open(&store, &state).await;
    assert_eq!(used, StateFileUse::Absent);
    assert_eq!(
        ledger.save_state_file(&state).await.unwrap(),
        Some(half as u64)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the state file is the owner's alone");
    }
    drop(ledger);

    // Another process appends the rest; the next open resumes at the saved size and reads
    // only those.
    let other = Ledger::open(store.clone(), ValidatorConfig::default())
        .await
        .unwrap();
    other
        .append_batch(&s.records[half..], &now())
        .await
        .unwrap();
    let (resumed, used) = open(&store, &state).await;
    assert_eq!(used, StateFileUse::Resumed { size: half as u64 });
    assert_eq!(state_of(&resumed).await, replayed(&store).await);
    assert_eq!(
        resumed.with_state(|v| v.size()).await,
        s.records.len() as u64
    );

    // It goes on appending as a replayed ledger does: every record is now a duplicate.
    let again = resumed.append_batch(&s.records, &now()).await.unwrap();
    assert!(again
        .iter()
        .all(|o| matches!(o, custody_store::AppendOutcome::Duplicate { .. })));
    assert_eq!(store.size().await.unwrap(), s.records.len() as u64);
}

#[tokio::test]
async fn an_altered_state_file_is_set_aside() {
    let s = world(12);
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(&s, &dir.path().join("l.db"), s.records.len()).await;
    let state = dir.path().join("l.state");
    let (ledger, _) = open(&store, &state).await;
    ledger.save_state_file(&state).await.unwrap().unwrap();
    drop(ledger);

    // One byte of the JSON changed (a digit of the size): the digest no longer matches.
    let mut bytes = std::fs::read(&state).unwrap();
    let at = bytes.windows(7).position(|w| w == b"\"size\":").unwrap() + 7;
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    std::fs::write(&state, &bytes).unwrap();
    let (ledger, used) = open(&store, &state).await;
    match used {
        StateFileUse::SetAside(reason) => {
            assert!(reason.contains("altered"), "{reason}")
        }
        other => panic!("an altered file was {other:?}"),
    }
    assert_eq!(state_of(&ledger).await, replayed(&store).await);

    // Not a state file at all.
    std::fs::write(&state, b"{\"size\": 3}").unwrap();
    let (_, used) = open(&store, &state).await;
    assert!(
        matches!(&used, StateFileUse::SetAside(r) if r.contains("is not a custody-ledger-state/v1 file")),
        "{used:?}"
    );
}

#[tokio::test]
async fn a_state_that_is_not_the_stores_is_set_aside() {
    let s = world(13);
    let dir = tempfile::tempdir().unwrap();
    let n = s.records.len();
    let full = store_with(&s, &dir.path().join("full.db"), n).await;
    let state = dir.path().join("full.state");
    let (ledger, _) = open(&full, &state).await;
    ledger.save_state_file(&state).await.unwrap().unwrap();
    drop(ledger);

    // A store behind the state (restored from an older backup).
    let behind = store_with(&s, &dir.path().join("behind.db"), n / 2).await;
    let (ledger, used) = open(&behind, &state).await;
    assert!(
        matches!(&used, StateFileUse::SetAside(r) if r.contains("older backup")),
        "{used:?}"
    );
    assert_eq!(state_of(&ledger).await, replayed(&behind).await);

    // A store of the same size whose last record is another one: the state saved at k
    // records, the other store holding records 0..k-1 and then record k.
    let k = (n / 2..n)
        .find(|&k| {
            let (a, b) = (&s.records[k - 1].header, &s.records[k].header);
            a.chain != b.chain && a.chain != AUTHORITY_CHAIN && b.chain != AUTHORITY_CHAIN
        })
        .unwrap();
    let at_k = store_with(&s, &dir.path().join("k.db"), k).await;
    let k_state = dir.path().join("k.state");
    let (ledger, _) = open(&at_k, &k_state).await;
    assert_eq!(
        ledger.save_state_file(&k_state).await.unwrap(),
        Some(k as u64)
    );
    drop(ledger);
    let other = store_with(&s, &dir.path().join("other.db"), k - 1).await;
    let appender = Ledger::open(other.clone(), ValidatorConfig::default())
        .await
        .unwrap();
    appender.append(&s.records[k], &now()).await.unwrap();
    assert_eq!(other.size().await.unwrap(), k as u64);
    let (ledger, used) = open(&other, &k_state).await;
    assert!(
        matches!(&used, StateFileUse::SetAside(r) if r.contains("not the one the state ends with")),
        "{used:?}"
    );
    assert_eq!(state_of(&ledger).await, replayed(&other).await);

    // Another ledger's store.
    let s2 = world(14);
    let foreign = store_with(&s2, &dir.path().join("foreign.db"), s2.records.len()).await;
    let (ledger, used) = open(&foreign, &state).await;
    assert!(
        matches!(&used, StateFileUse::SetAside(r) if r.contains("description differs")),
        "{used:?}"
    );
    assert_eq!(state_of(&ledger).await, replayed(&foreign).await);
}

#[tokio::test]
async fn a_state_ahead_of_records_it_has_not_read_is_not_saved() {
    let s = world(15);
    let dir = tempfile::tempdir().unwrap();
    let n = s.records.len();
    let i = (n / 2..n - 1)
        .find(|&i| {
            let (a, b) = (&s.records[i].header, &s.records[i + 1].header);
            a.chain != b.chain && a.chain != AUTHORITY_CHAIN && b.chain != AUTHORITY_CHAIN
        })
        .unwrap();
    let store = store_with(&s, &dir.path().join("l.db"), i).await;
    let state = dir.path().join("l.state");
    let mine = Ledger::open(store.clone(), ValidatorConfig::default())
        .await
        .unwrap();
    let theirs = Ledger::open(store.clone(), ValidatorConfig::default())
        .await
        .unwrap();
    theirs.append(&s.records[i], &now()).await.unwrap();
    mine.append(&s.records[i + 1], &now()).await.unwrap();
    // `mine` applied the record at i + 1 but has not read the one at i.
    assert_eq!(mine.save_state_file(&state).await.unwrap(), None);
    assert!(!state.exists());
    mine.catch_up().await.unwrap();
    assert_eq!(
        mine.save_state_file(&state).await.unwrap(),
        Some(i as u64 + 2)
    );
    let (resumed, used) = open(&store, &state).await;
    assert_eq!(used, StateFileUse::Resumed { size: i as u64 + 2 });
    assert_eq!(state_of(&resumed).await, replayed(&store).await);
}
