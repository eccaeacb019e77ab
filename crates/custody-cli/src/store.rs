//! Opening the store named by `--store`, and the ledger in it.
//!
//! `nats://...` (or `tls://...`) selects NATS JetStream; anything else is the path of a SQLite
//! file. Only `init` and `demo` create a SQLite file; every other command refuses a missing
//! one, rather than leaving an empty database behind a typo.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use custody_core::validate::ValidatorConfig;
use custody_ledger::{Ledger, LedgerMeta, OpenError};
use custody_store::LedgerStore;

/// Whether the store is to be created when absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Create {
    /// Create a SQLite file when it does not exist (`init`, `demo`).
    Yes,
    /// Refuse a missing SQLite file.
    No,
}

/// Whether a `--store` value names a NATS server.
pub fn is_nats(spec: &str) -> bool {
    spec.starts_with("nats://") || spec.starts_with("tls://")
}

/// The store as it may be printed: a NATS URL without its user information (credentials).
pub fn display(spec: &str) -> String {
    if !is_nats(spec) {
        return spec.to_string();
    }
    match spec.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://{host}"),
            None => spec.to_string(),
        },
        None => spec.to_string(),
    }
}

/// Replicas of the JetStream streams and buckets a command creates (`--nats-replicas`).
static NATS_REPLICAS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// Sets the replicas of the JetStream streams and buckets created on first use (once, from
/// `--nats-replicas`; default 1).
pub fn set_nats_replicas(replicas: u8) {
    // Set once per process, before any store is opened.
    let _ = NATS_REPLICAS.set(usize::from(replicas));
}

/// Opens the store named by `spec`.
pub async fn open_store(spec: &str, create: Create) -> anyhow::Result<Arc<dyn LedgerStore>> {
    if is_nats(spec) {
        let options = custody_store_nats::StoreOptions {
            replicas: NATS_REPLICAS.get().copied().unwrap_or(1),
            ..custody_store_nats::StoreOptions::default()
        };
        let store = custody_store_nats::JetStreamStore::connect_with(spec, options)
            .await
            .with_context(|| {
                format!(
                    "cannot use the NATS server at {} (is nats-server running with -js?)",
                    display(spec)
                )
            })?;
        return Ok(Arc::new(store));
    }
    let path = Path::new(spec);
    if create == Create::No && !path.exists() {
        anyhow::bail!(
            "no ledger in {spec}: the file does not exist; run `custody init` or `custody demo` first, or pass --store"
        );
    }
    let store = custody_store_sqlite::SqliteStore::open(path)
        .with_context(|| format!("cannot open the SQLite ledger {spec}"))?;
    Ok(Arc::new(store))
}

/// Turns an [`OpenError`] into a message naming the store and what to do.
pub fn open_error(spec: &str, err: OpenError) -> anyhow::Error {
    let spec = display(spec);
    match err {
        OpenError::NotInitialised => anyhow::anyhow!(
            "no ledger in {spec}: run `custody init` or `custody demo` first"
        ),
        OpenError::Replay {
            position,
            error: custody_core::validate::ValidationError::PayloadMissing { kind },
        } if kind.is_authority() => crate::exit::refused(format!(
            "the ledger in {spec} does not open: the payload of the {kind} record at position \
             {position} is missing (neither stored nor redacted); complete it with `custody \
             submit FILE`, FILE holding that record with its payload (`custody export --chain \
             authority` of another copy of the ledger)"
        )),
        OpenError::Replay { position, error } => crate::exit::refused(format!(
            "the ledger in {spec} does not replay: stored record at position {position} is refused ({}): {error}; run `custody verify` for details",
            error.rule()
        )),
        other => anyhow::Error::new(other).context(format!("cannot open the ledger in {spec}")),
    }
}

/// Opens the store and its ledger (replaying every record into the validator).
pub async fn open_ledger(spec: &str) -> anyhow::Result<Ledger> {
    let store = open_store(spec, Create::No).await?;
    Ledger::open(store, ValidatorConfig::default())
        .await
        .map_err(|e| open_error(spec, e))
}

/// Reads the ledger metadata of a store without replaying it.
pub async fn read_meta(spec: &str, store: &dyn LedgerStore) -> anyhow::Result<LedgerMeta> {
    Ledger::read_meta(store)
        .await
        .map_err(|e| open_error(spec, e))
}
