//! `Ledger::append_batch` on a real SQLite file: the same ledger, the same outcomes and the same
//! validation state as appending one record at a time, in far fewer store writes; a refused
//! record stops the batch with nothing from it on stored.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use custody_core::validate::ValidatorConfig;
use custody_core::{EventKind, Rule, Timestamp};
use custody_ledger::{AppendError, BatchError, Ledger};
use custody_scenario::{build, Scenario, ScenarioConfig};
use custody_store::conformance::Faulty;
use custody_store::{AppendOutcome, LedgerStore};
use custody_store_sqlite::SqliteStore;

fn world() -> Scenario {
    build(&ScenarioConfig {
        seed: 5,
        detainees: 40,
    })
    .unwrap()
}

fn now() -> Timestamp {
    Timestamp::parse("2026-01-01T00:00:00Z").unwrap()
}

/// A ledger initialised for the world, on a counting store over a new SQLite file.
async fn counted(s: &Scenario, path: &std::path::Path) -> (Arc<Faulty<SqliteStore>>, Ledger) {
    let store = Arc::new(Faulty::new(SqliteStore::open(path).unwrap()));
    common::init_primary(s, store.clone()).await;
    let ledger = Ledger::open(store.clone(), ValidatorConfig::default())
        .await
        .unwrap();
    (store, ledger)
}

async fn state_of(ledger: &Ledger) -> serde_json::Value {
    ledger
        .with_state(|v| serde_json::to_value(v).unwrap())
        .await
}

async fn hashes(store: &dyn LedgerStore) -> Vec<custody_core::Hash> {
    store
        .read_from(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|ev| ev.record.hash)
        .collect()
}

#[tokio::test]
async fn a_batch_stores_what_appending_one_by_one_stores() {
    let s = world();
    assert!(
        s.records
            .iter()
            .any(|r| r.header.kind == EventKind::Redaction),
        "the world should hold a redaction, which a batch appends alone"
    );
    let dir = tempfile::tempdir().unwrap();
    let (one_store, one) = counted(&s, &dir.path().join("one.db")).await;
    let mut singly = Vec::new();
    for r in &s.records {
        singly.push(one.append(r, &now()).await.unwrap());
    }
    let (batch_store, batched) = counted(&s, &dir.path().join("batch.db")).await;
    let outcomes = batched.append_batch(&s.records, &now()).await.unwrap();

    assert_eq!(outcomes, singly, "the same outcome for every record");
    assert_eq!(
        hashes(batch_store.as_ref()).await,
        hashes(one_store.as_ref()).await,
        "the same ledger"
    );
    assert_eq!(
        state_of(&batched).await,
        state_of(&one).await,
        "the same validation state"
    );
    // The state a batch built is the one a replay of the store builds.
    let reopened = Ledger::open(batch_store.clone(), ValidatorConfig::default())
        .await
        .unwrap();
    assert_eq!(state_of(&reopened).await, state_of(&batched).await);

    let single_writes = batch_store.appends.load(Ordering::SeqCst);
    let batch_writes = batch_store.batches.load(Ordering::SeqCst);
    let special = s
        .records
        .iter()
        .filter(|r| r.header.chain == "authority" || r.header.kind == EventKind::Redaction)
        .count();
    assert!(batch_writes >= 1, "no batch reached the store");
    assert!(
        single_writes + batch_writes < s.records.len() / 10,
        "{} records took {single_writes} single appends and {batch_writes} batches \
         ({special} authority records and redactions go alone)",
        s.records.len()
    );

    // Sending the whole file again: every record is a duplicate at its place.
    let again = batched.append_batch(&s.records, &now()).await.unwrap();
    assert!(again.iter().zip(&singly).all(|(a, b)| *a
        == AppendOutcome::Duplicate {
            position: b.position()
        }));
    assert_eq!(
        batch_store.size().await.unwrap(),
        s.records.len() as u64,
        "nothing stored twice"
    );
}

#[tokio::test]
async fn a_refused_record_stops_the_batch_and_nothing_from_it_on_is_stored() {
    let s = world();
    let dir = tempfile::tempdir().unwrap();
    let (store, ledger) = counted(&s, &dir.path().join("l.db")).await;
    let half = s.records.len() / 2;
    // A detainee record in the middle of a run, its body changed after signing.
    let bad_at = (half..s.records.len())
        .find(|&i| {
            s.records[i].header.chain != "authority" && s.records[i - 1].header.chain != "authority"
        })
        .unwrap();
    let mut records = s.records.clone();
    records[bad_at].header.occurred_at = Timestamp::parse("2020-01-01T00:00:00Z").unwrap();
    match ledger.append_batch(&records, &now()).await {
        Err(BatchError {
            done,
            error: AppendError::Invalid(e),
        }) => {
            assert_eq!(done.len(), bad_at, "every record before the refused one");
            assert_eq!(e.rule(), Rule::Hash);
            for (i, outcome) in done.iter().enumerate() {
                assert_eq!(*outcome, AppendOutcome::Appended { position: i as u64 });
            }
        }
        other => panic!("expected a refusal at record {bad_at}, got {other:?}"),
    }
    assert_eq!(
        store.size().await.unwrap(),
        bad_at as u64,
        "nothing from the refused record on is stored"
    );
    assert_eq!(
        hashes(store.as_ref()).await,
        hashes_of(&s.records[..bad_at])
    );

    // The good file completes the ledger: what was stored is recognised.
    let outcomes = ledger.append_batch(&s.records, &now()).await.unwrap();
    assert!(outcomes[..bad_at]
        .iter()
        .all(|o| matches!(o, AppendOutcome::Duplicate { .. })));
    assert!(outcomes[bad_at..]
        .iter()
        .all(|o| matches!(o, AppendOutcome::Appended { .. })));
    assert_eq!(hashes(store.as_ref()).await, hashes_of(&s.records));
}

/// Another process took the place of a record of the batch (another record at its chain's
/// seq) while this one had not caught up: the batch stores the records before it, and stops
/// there with the conflict `append` answers, naming the chain and its real head; nothing of
/// the batch from that record on is stored, and the chain is not forked.
#[tokio::test]
async fn a_place_another_process_took_stops_the_batch_with_a_conflict() {
    let s = world();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let (store, ledger) = counted(&s, &path).await;
    let split = s.records.len() - 60;
    ledger
        .append_batch(&s.records[..split], &now())
        .await
        .unwrap();
    // The first record of the tail, past its tenth, that continues a chain begun before the
    // split: another process signs another record at its place (same facts, another salt).
    let taken = (split + 10..s.records.len())
        .find(|&i| {
            let h = &s.records[i].header;
            h.chain != "authority"
                && h.kind != EventKind::Redaction
                && s.records[split..i]
                    .iter()
                    .all(|r| r.header.chain != h.chain)
                && s.records[..split].iter().any(|r| r.header.chain == h.chain)
        })
        .unwrap();
    let target = &s.records[taken];
    let signer = s
        .actors
        .iter()
        .find(|a| a.key.public() == target.header.signer)
        .unwrap();
    let h = &target.header;
    let rival = custody_core::Draft {
        ledger: h.ledger.clone(),
        chain: h.chain.clone(),
        seq: h.seq,
        prev: h.prev,
        kind: h.kind,
        occurred_at: h.occurred_at.clone(),
        recorded_at: h.recorded_at.clone(),
        agency: h.agency.clone(),
        body: target.payload.as_ref().unwrap().body.clone(),
    }
    .sign(&signer.key, &[0x7e; 16]);
    assert_ne!(rival.hash, target.hash);
    let other = Ledger::open(
        Arc::new(SqliteStore::open(&path).unwrap()),
        ValidatorConfig::default(),
    )
    .await
    .unwrap();
    let rival_at = other.append(&rival, &now()).await.unwrap().position();

    match ledger.append_batch(&s.records[split..], &now()).await {
        Err(BatchError {
            done,
            error: AppendError::Conflict(conflict),
        }) => {
            assert_eq!(
                done.len(),
                taken - split,
                "the records before the taken place"
            );
            assert_eq!(conflict.chain, h.chain);
            assert_eq!(conflict.head.map(|hd| hd.hash), Some(rival.hash));
        }
        other => panic!("expected a conflict at record {taken}, got {other:?}"),
    }
    let mut want = hashes_of(&s.records[..split]);
    want.push(rival.hash);
    want.extend(hashes_of(&s.records[split..taken]));
    let stored = hashes(store.as_ref()).await;
    assert_eq!(stored[rival_at as usize], rival.hash);
    assert_eq!(stored, want, "nothing of the batch from the taken place on");
    let chain = store.chain(&h.chain).await.unwrap();
    assert_eq!(
        chain
            .iter()
            .filter(|ev| ev.record.header.seq == h.seq)
            .count(),
        1,
        "one record at the seq: no fork"
    );
}

fn hashes_of(records: &[custody_core::Record]) -> Vec<custody_core::Hash> {
    records.iter().map(|r| r.hash).collect()
}
