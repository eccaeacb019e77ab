//! The tree file against `custody_core::merkle`: every root and proof equal to the core's over
//! the same leaves and verified by the core's verifiers, for random sizes and batch splits
//! (property tests) and exhaustively for small trees; then caught up from a real SQLite ledger
//! and a real JetStream ledger (nats-server started by custody-testkit), interrupted and
//! reopened, with other and rewritten ledgers refused.

use std::sync::Arc;
use std::time::Duration;

use custody_core::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, root_of, verify_consistency, verify_inclusion,
    Digest, ProofError, EMPTY_ROOT,
};
use custody_scenario::{build, Scenario, ScenarioConfig};
use custody_store::{LedgerScan, LedgerStore};
use custody_store_nats::{JetStreamStore, StoreOptions};
use custody_store_sqlite::SqliteStore;
use custody_testkit::NatsServer;
use custody_tlog::{TreeDb, TreeError};
use proptest::prelude::*;
use tempfile::TempDir;

fn event_hash(i: u64, salt: u64) -> Digest {
    let mut h = [0u8; 32];
    h[..8].copy_from_slice(&i.to_be_bytes());
    h[8..16].copy_from_slice(&salt.to_be_bytes());
    custody_core::Hash::of(&h).0
}

/// A tree file filled from `n` synthetic event hashes in batches of the given sizes (cycled).
fn filled(dir: &TempDir, n: u64, salt: u64, batches: &[usize]) -> (TreeDb, Vec<Digest>) {
    let db = TreeDb::open(dir.path().join("tree.sqlite")).expect("open");
    let hashes: Vec<Digest> = (0..n).map(|i| event_hash(i, salt)).collect();
    let mut done = 0usize;
    let mut sizes = batches.iter().cycle();
    while done < hashes.len() {
        let b = (*sizes.next().unwrap_or(&1))
            .max(1)
            .min(hashes.len() - done);
        let size = db
            .append_event_hashes(&hashes[done..done + b])
            .expect("append");
        done += b;
        assert_eq!(size, done as u64);
    }
    let leaves = hashes.iter().map(leaf_hash).collect();
    (db, leaves)
}

fn check_all(db: &TreeDb, leaves: &[Digest]) {
    let n = leaves.len() as u64;
    assert_eq!(db.size().expect("size"), n);
    for size in 0..=n {
        let root = db.root(size).expect("root");
        assert_eq!(root, root_of(&leaves[..size as usize]), "root of {size}");
        for index in 0..size {
            let proof = db.inclusion_proof(index, size).expect("inclusion");
            assert_eq!(
                proof,
                inclusion_proof(leaves, index, size).expect("core"),
                "inclusion {index} in {size}"
            );
            verify_inclusion(&leaves[index as usize], index, size, &proof, &root)
                .expect("verifies");
        }
        for old in 0..=size {
            let proof = db.consistency_proof(old, size).expect("consistency");
            assert_eq!(
                proof,
                consistency_proof(leaves, old, size).expect("core"),
                "consistency {old} -> {size}"
            );
            let old_root = root_of(&leaves[..old as usize]);
            verify_consistency(old, size, &old_root, &root, &proof).expect("verifies");
        }
    }
}

#[test]
fn every_proof_of_every_small_tree_equals_the_core() {
    let dir = TempDir::new().expect("tempdir");
    let (db, leaves) = filled(&dir, 37, 1, &[1, 2, 5, 3]);
    check_all(&db, &leaves);
}

#[test]
fn out_of_range_is_refused_and_changes_nothing() {
    let dir = TempDir::new().expect("tempdir");
    let (db, _) = filled(&dir, 10, 2, &[10]);
    assert_eq!(db.root(0).expect("empty"), EMPTY_ROOT);
    assert!(matches!(
        db.root(11),
        Err(TreeError::Proof(ProofError::SizeOutOfRange {
            size: 11,
            max: 10
        }))
    ));
    assert!(matches!(
        db.inclusion_proof(10, 10),
        Err(TreeError::Proof(ProofError::IndexOutOfRange {
            index: 10,
            tree_size: 10
        }))
    ));
    assert!(matches!(
        db.inclusion_proof(0, 11),
        Err(TreeError::Proof(ProofError::SizeOutOfRange { .. }))
    ));
    assert!(matches!(
        db.consistency_proof(5, 11),
        Err(TreeError::Proof(ProofError::SizeOutOfRange {
            size: 11,
            max: 10
        }))
    ));
    assert!(matches!(
        db.consistency_proof(6, 5),
        Err(TreeError::Proof(ProofError::SizeOutOfRange {
            size: 6,
            max: 5
        }))
    ));
    assert_eq!(db.node(1, 4).expect("node"), Some(node_of(&db, 1, 4)));
    assert_eq!(db.node(1, 5).expect("incomplete"), None);
    assert_eq!(db.node(4, 0).expect("incomplete"), None);
    assert_eq!(db.size().expect("size"), 10);
}

fn node_of(db: &TreeDb, level: u32, index: u64) -> Digest {
    let start = index << level;
    let leaves: Vec<Digest> = (start..start + (1 << level))
        .map(|i| db.leaf(i).expect("leaf"))
        .collect();
    root_of(&leaves)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn proofs_equal_the_core_over_random_sizes(
        n in 1u64..3000,
        salt in any::<u64>(),
        batches in proptest::collection::vec(1usize..700, 1..5),
        picks in proptest::collection::vec((any::<u64>(), any::<u64>()), 20),
    ) {
        let dir = TempDir::new().expect("tempdir");
        let (db, leaves) = filled(&dir, n, salt, &batches);
        for (a, b) in picks {
            let size = 1 + a % n;
            let index = b % size;
            let root = db.root(size).expect("root");
            prop_assert_eq!(root, root_of(&leaves[..size as usize]));
            let proof = db.inclusion_proof(index, size).expect("inclusion");
            prop_assert_eq!(&proof, &inclusion_proof(&leaves, index, size).expect("core"));
            prop_assert!(verify_inclusion(&leaves[index as usize], index, size, &proof, &root).is_ok());
            let old = b % (size + 1);
            let proof = db.consistency_proof(old, size).expect("consistency");
            prop_assert_eq!(&proof, &consistency_proof(&leaves, old, size).expect("core"));
            let old_root = db.root(old).expect("old root");
            prop_assert!(verify_consistency(old, size, &old_root, &root, &proof).is_ok());
        }
    }
}

fn world(seed: u64, detainees: usize) -> Scenario {
    build(&ScenarioConfig { seed, detainees }).expect("the demo world builds")
}

async fn fill(store: &dyn LedgerStore, name: &str, records: &[custody_core::Record]) {
    store
        .set_meta("ledger", &serde_json::json!({ "name": name }))
        .await
        .expect("meta");
    for r in records {
        store.append(r).await.expect("append");
    }
}

async fn store_leaves(store: &dyn LedgerStore) -> Vec<Digest> {
    let mut leaves = Vec::new();
    let mut scan = LedgerScan::new(store, 0);
    while let Some(batch) = scan.next_batch().await.expect("scan") {
        leaves.extend(batch.iter().map(|ev| leaf_hash(ev.record.hash.as_bytes())));
    }
    leaves
}

#[tokio::test]
async fn caught_up_from_a_sqlite_ledger_in_batches_and_reopened() {
    let dir = TempDir::new().expect("tempdir");
    let w = world(3, 4);
    let store = Arc::new(SqliteStore::open(dir.path().join("ledger.sqlite")).expect("ledger"));
    fill(store.as_ref(), &w.name, &w.records).await;
    let leaves = store_leaves(store.as_ref()).await;
    let n = leaves.len() as u64;
    assert!(n > 20, "a ledger worth a tree: {n}");
    let path = dir.path().join("ledger.sqlite.tree.sqlite");
    {
        let db = TreeDb::open(&path).expect("open").batch_size(7);
        let done = db
            .catch_up_until(store.as_ref(), Some(n / 2))
            .await
            .expect("half");
        assert_eq!((done.added, done.size), (n / 2, n / 2));
    }
    let db = TreeDb::open(&path).expect("reopen").batch_size(5);
    assert_eq!(db.size().expect("size"), n / 2);
    assert_eq!(db.lag(store.as_ref()).await.expect("lag"), n - n / 2);
    assert_eq!(db.catch_up(store.as_ref()).await.expect("rest"), n);
    assert_eq!(db.catch_up(store.as_ref()).await.expect("nothing new"), n);
    check_all(&db, &leaves);
    let identity = db.identity().expect("identity").expect("bound");
    assert_eq!(identity.name, w.name);
    assert_eq!(identity.genesis, Some(w.records[0].hash.to_hex()));

    // Deleted and rebuilt: the same hashes.
    let again = TreeDb::open(dir.path().join("again.sqlite")).expect("open");
    assert_eq!(again.catch_up(store.as_ref()).await.expect("rebuild"), n);
    assert_eq!(again.root(n).expect("root"), db.root(n).expect("root"));

    // Hashes appended by hand to a ledger's file are refused.
    let err = db.append_event_hashes(&[[7; 32]]).expect_err("bound file");
    assert!(matches!(err, TreeError::OtherLedger { .. }), "{err:?}");
    assert_eq!(db.size().expect("size"), n);
}

#[tokio::test]
async fn another_ledger_and_rewritten_ledgers_are_refused_and_nothing_changes() {
    let dir = TempDir::new().expect("tempdir");
    let w = world(5, 4);
    let store = SqliteStore::open(dir.path().join("a.sqlite")).expect("ledger");
    fill(&store, &w.name, &w.records).await;
    let n = store.size().await.expect("size");

    // Two consecutive records of different chains: the same records in another order.
    let j = (1..w.records.len() - 1)
        .find(|&j| w.records[j].header.chain != w.records[j + 1].header.chain)
        .expect("two chains interleave");
    let mut swapped = w.records.clone();
    swapped.swap(j, j + 1);
    let reordered = SqliteStore::open(dir.path().join("b.sqlite")).expect("ledger");
    fill(&reordered, &w.name, &swapped).await;

    let path = dir.path().join("tree.sqlite");
    let db = TreeDb::open(&path).expect("open");
    let end = j as u64 + 1;
    db.catch_up_until(&store, Some(end)).await.expect("up to j");
    let root = db.root(end).expect("root");

    // A fresh handle on the reordered copy: same name and first record, another record at j.
    let db = TreeDb::open(&path).expect("reopen");
    let err = db.catch_up(&reordered).await.expect_err("rewritten");
    assert!(matches!(err, TreeError::Rewritten { .. }), "{err:?}");
    assert!(err.to_string().contains(&format!("position {j}")), "{err}");
    assert_eq!(db.size().expect("size"), end);
    assert_eq!(db.root(end).expect("root"), root);

    // A shorter copy of the ledger.
    let short = SqliteStore::open(dir.path().join("c.sqlite")).expect("ledger");
    fill(&short, &w.name, &w.records[..j]).await;
    let db = TreeDb::open(&path).expect("reopen");
    let err = db.catch_up(&short).await.expect_err("shrank");
    assert!(matches!(err, TreeError::Rewritten { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&format!("holds {j} records")),
        "{err}"
    );

    // Another ledger altogether.
    let other_world = world(6, 3);
    let other = SqliteStore::open(dir.path().join("d.sqlite")).expect("ledger");
    fill(&other, &other_world.name, &other_world.records).await;
    let db = TreeDb::open(&path).expect("reopen");
    let err = db.catch_up(&other).await.expect_err("other");
    assert!(matches!(err, TreeError::OtherLedger { .. }), "{err:?}");
    assert_eq!(db.size().expect("size"), end);

    // The right ledger still catches up.
    assert_eq!(db.catch_up(&store).await.expect("catch up"), n);
}

#[tokio::test]
async fn caught_up_from_jetstream_equals_the_core() {
    let server = NatsServer::start().unwrap_or_else(|e| panic!("cannot start nats-server: {e}"));
    let options = StoreOptions {
        request_timeout: Duration::from_secs(5),
        ..StoreOptions::default()
    };
    let store = JetStreamStore::connect_with(&server.url(), options)
        .await
        .unwrap_or_else(|e| panic!("cannot open the store: {e}"));
    let w = world(13, 3);
    let third = w.records.len() / 3;
    fill(&store, &w.name, &w.records[..third]).await;
    let dir = TempDir::new().expect("tempdir");
    let db = TreeDb::open(dir.path().join("tree.sqlite"))
        .expect("open")
        .batch_size(9);
    assert_eq!(db.catch_up(&store).await.expect("a third"), third as u64);
    for r in &w.records[third..] {
        store.append(r).await.expect("append");
    }
    let leaves = store_leaves(&store).await;
    assert_eq!(
        db.catch_up(&store).await.expect("the rest"),
        leaves.len() as u64
    );
    check_all(&db, &leaves);
}

/// A packet's tlog-proofs written from the tree file (`custody packet export`) are those
/// written from every leaf, byte for byte, and verify against the checkpoint's root.
#[test]
fn packet_proofs_from_the_tree_equal_those_from_every_leaf() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, leaves) = filled(&dir, 37, 5, &[3, 1, 8]);
    let note = "ledger.example/custody\n37\nAAAA\n\n— ledger.example/custody abc\n";
    for size in [1u64, 2, 5, 16, 17, 36, 37] {
        for position in 0..size {
            let from_leaves =
                custody_packet::build::proof(&leaves, position, size, note).expect("leaves");
            let from_tree = custody_packet::build::proof_with(position, size, note, |i, s| {
                db.inclusion_proof(i, s)
            })
            .expect("tree");
            assert_eq!(
                from_tree.to_text(),
                from_leaves.to_text(),
                "{position}/{size}"
            );
            verify_inclusion(
                &leaves[position as usize],
                position,
                size,
                &from_tree.hashes,
                &root_of(&leaves[..size as usize]),
            )
            .expect("verifies");
        }
    }
    let beyond = custody_packet::build::proof_with(37, 37, note, |i, s| db.inclusion_proof(i, s));
    assert!(beyond.is_err());
}
