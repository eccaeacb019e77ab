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

/// A real witness (crate custody-witness: its SQLite state and its axum router) served on a
/// fixed local port, which can be stopped and started again with its state kept.
pub struct TestWitness {
    dir: TempDir,
    port: u16,
    name: String,
    seed: u8,
    origin: String,
    log_vkey: String,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestWitness {
    /// A witness named `name` (key from `seed`) trusting the world's ledger, not started.
    pub fn new(world: &Scenario, name: &str, seed: u8) -> TestWitness {
        TestWitness {
            dir: tempfile::tempdir().unwrap(),
            port: custody_testkit::free_port().expect("a free port"),
            name: name.to_string(),
            seed,
            origin: world.name.clone(),
            log_vkey: meta(world).ledger_vkey,
            task: None,
        }
    }

    fn signer(&self) -> custody_core::cosignature::CosignatureSigner {
        custody_core::cosignature::CosignatureSigner::new(
            &self.name,
            ed25519_dalek::SigningKey::from_bytes(&[self.seed; 32]),
        )
        .unwrap()
    }

    /// How the checkpointer is configured to reach it.
    pub fn witness(&self) -> Witness {
        Witness::parse(&format!(
            "{}=http://127.0.0.1:{}",
            self.signer().verifier_key(),
            self.port
        ))
        .unwrap()
    }

    /// Its cosignature verifier.
    pub fn verifier(&self) -> custody_core::cosignature::CosignatureVerifier {
        self.signer().verifier()
    }

    /// Its name.
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// Starts serving (its state file kept from any earlier run).
    pub async fn start(&mut self) {
        let db = custody_witness::db::WitnessDb::open(&self.dir.path().join("witness.db"))
            .expect("the witness database");
        db.add_log(&self.origin, &self.log_vkey)
            .expect("trust the ledger");
        let state = custody_witness::server::WitnessState::new(db, self.signer());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("bind the witness port");
        let app = custody_witness::server::router(state);
        self.task = Some(tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the witness serves");
        }));
    }

    /// Stops serving.
    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

/// A store that counts the records it serves by position ([`LedgerStore::read_from`]), to
/// show what a tick reads.
#[derive(Debug)]
pub struct Counting {
    /// The store counted.
    pub inner: Arc<dyn LedgerStore>,
    /// Records served by `read_from` so far.
    pub read: std::sync::atomic::AtomicU64,
}

impl Counting {
    /// Counts the reads of `inner`.
    pub fn new(inner: Arc<dyn LedgerStore>) -> Counting {
        Counting {
            inner,
            read: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Records served since the last call.
    pub fn take(&self) -> u64 {
        self.read.swap(0, std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl LedgerStore for Counting {
    async fn append(
        &self,
        record: &Record,
    ) -> Result<custody_store::AppendOutcome, custody_store::StoreError> {
        self.inner.append(record).await
    }
    async fn chain(
        &self,
        chain: &str,
    ) -> Result<Vec<custody_store::StoredEvent>, custody_store::StoreError> {
        self.inner.chain(chain).await
    }
    async fn read_from(
        &self,
        position: u64,
        limit: usize,
    ) -> Result<Vec<custody_store::StoredEvent>, custody_store::StoreError> {
        let events = self.inner.read_from(position, limit).await?;
        self.read
            .fetch_add(events.len() as u64, std::sync::atomic::Ordering::SeqCst);
        Ok(events)
    }
    async fn subscribe(
        &self,
        position: u64,
    ) -> Result<custody_store::EventStream, custody_store::StoreError> {
        self.inner.subscribe(position).await
    }
    async fn head(
        &self,
        chain: &str,
    ) -> Result<Option<custody_core::chain::ChainHead>, custody_store::StoreError> {
        self.inner.head(chain).await
    }
    async fn size(&self) -> Result<u64, custody_store::StoreError> {
        self.inner.size().await
    }
    async fn event(
        &self,
        hash: &custody_core::Hash,
    ) -> Result<Option<custody_store::StoredEvent>, custody_store::StoreError> {
        self.inner.event(hash).await
    }
    async fn remove_payload(
        &self,
        hash: &custody_core::Hash,
    ) -> Result<(), custody_store::StoreError> {
        self.inner.remove_payload(hash).await
    }
    async fn meta(
        &self,
        key: &str,
    ) -> Result<Option<serde_json::Value>, custody_store::StoreError> {
        self.inner.meta(key).await
    }
    async fn set_meta(
        &self,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<(), custody_store::StoreError> {
        self.inner.set_meta(key, value).await
    }
    async fn log_access(
        &self,
        entry: &custody_store::AccessEntry,
    ) -> Result<(), custody_store::StoreError> {
        self.inner.log_access(entry).await
    }
    async fn access_log(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<custody_store::AccessEntry>, custody_store::StoreError> {
        self.inner.access_log(from, limit).await
    }
    async fn record_fork(
        &self,
        alarm: &custody_store::ForkAlarm,
    ) -> Result<bool, custody_store::StoreError> {
        self.inner.record_fork(alarm).await
    }
    async fn forks(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<custody_store::ForkAlarm>, custody_store::StoreError> {
        self.inner.forks(from, limit).await
    }
    async fn add_checkpoint(&self, size: u64, note: &str) -> Result<(), custody_store::StoreError> {
        self.inner.add_checkpoint(size, note).await
    }
    async fn checkpoints(
        &self,
        from_size: u64,
        limit: usize,
    ) -> Result<Vec<custody_store::StoredCheckpoint>, custody_store::StoreError> {
        self.inner.checkpoints(from_size, limit).await
    }
    async fn latest_checkpoint(
        &self,
    ) -> Result<Option<custody_store::StoredCheckpoint>, custody_store::StoreError> {
        self.inner.latest_checkpoint().await
    }
}
