//! Shared by the checkpointer's tests: a scenario world's ledger in a store.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use custody_checkpointer::{Checkpointer, Witness};
use custody_core::checkpoint::{NoteSigner, NoteVerifier};
use custody_core::merkle::{leaf_hash, Digest};
use custody_core::Record;
use custody_ledger::{Ledger, LedgerMeta, LedgerRole};
use custody_scenario::{Scenario, ScenarioConfig};
use custody_store::LedgerStore;
use custody_store_sqlite::SqliteStore;
use tempfile::TempDir;

/// Seed of the test world.
pub const SEED: u64 = 11;
/// Detainees of the test world (small: every test verifies it).
pub const DETAINEES: usize = 4;

/// The test world.
pub fn world() -> Scenario {
    custody_scenario::build(&ScenarioConfig {
        seed: SEED,
        detainees: DETAINEES,
    })
    .expect("the scenario builds")
}

/// The world's ledger metadata.
pub fn meta(world: &Scenario) -> LedgerMeta {
    let signer = NoteSigner::new(&world.name, world.ledger_key.signing_key().clone()).unwrap();
    LedgerMeta {
        name: world.name.clone(),
        trust: world.trust.clone(),
        ledger_vkey: signer.verifier_key(),
        role: LedgerRole::Primary,
    }
}

/// The ledger's checkpoint verifier.
pub fn ledger_verifier(world: &Scenario) -> NoteVerifier {
    NoteVerifier::parse(&meta(world).ledger_vkey).unwrap()
}

/// Writes the world's ledger metadata into an empty store.
pub async fn init(world: &Scenario, store: Arc<dyn LedgerStore>) {
    Ledger::init(store, meta(world)).await.expect("init");
}

/// An initialised, empty SQLite ledger in a fresh directory.
pub async fn sqlite_ledger(world: &Scenario) -> (TempDir, PathBuf, Arc<dyn LedgerStore>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let store = reopen(&path);
    init(world, Arc::clone(&store)).await;
    (dir, path, store)
}

/// Another handle on a SQLite ledger file.
pub fn reopen(path: &Path) -> Arc<dyn LedgerStore> {
    Arc::new(SqliteStore::open(path).expect("open the ledger file"))
}

/// Appends records in order.
pub async fn append(store: &Arc<dyn LedgerStore>, records: &[Record]) {
    for r in records {
        store.append(r).await.expect("append");
    }
}

/// Leaf hashes of records.
pub fn leaves_of(records: &[Record]) -> Vec<Digest> {
    records
        .iter()
        .map(|r| leaf_hash(r.hash.as_bytes()))
        .collect()
}

/// The world's checkpointer with these witnesses.
pub fn checkpointer(world: &Scenario, witnesses: Vec<Witness>) -> Checkpointer {
    Checkpointer::new(
        &meta(world),
        world.ledger_key.signing_key().clone(),
        witnesses,
    )
    .expect("the checkpointer")
}
