//! Opening the store named by `--store`, and the ledger in it.
//!
//! `nats://...` (or `tls://...`) selects NATS JetStream; anything else is the path of a SQLite
//! file. Only `init` and `demo` create a SQLite file; every other command refuses a missing
//! one, rather than leaving an empty database behind a typo.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use custody_core::validate::ValidatorConfig;
use custody_ledger::{Ledger, LedgerMeta, OpenError, StateFileUse};
use custody_store::LedgerStore;

/// Records a command replays or appends beyond its ledger state file before it saves the
/// file again ([`save_state_if_grown`]): a later open then replays at most about this many
/// records plus what others appended since.
pub const STATE_SAVE_EVERY: u64 = 1000;

/// Where the ledger state file is: `--state-file`, or none with `--no-state-file`, or beside
/// a SQLite ledger.
#[derive(Clone, Debug)]
enum StateFileChoice {
    Default,
    At(PathBuf),
    Off,
}

/// The state file choice of this process (`--state-file`, `--no-state-file`).
static STATE_FILE: std::sync::OnceLock<StateFileChoice> = std::sync::OnceLock::new();

/// The ledger size the state file of this process's ledger was last read or written at.
static STATE_SAVED_AT: std::sync::Mutex<u64> = std::sync::Mutex::new(0);

/// Sets where the ledger state file is (once, from `--state-file` and `--no-state-file`).
pub fn set_state_file(path: Option<PathBuf>, off: bool) {
    let choice = match (path, off) {
        (_, true) => StateFileChoice::Off,
        (Some(p), false) => StateFileChoice::At(p),
        (None, false) => StateFileChoice::Default,
    };
    let _ = STATE_FILE.set(choice);
}

/// The ledger state file of the store `spec`: `--state-file`, else `LEDGER.state` beside a
/// SQLite ledger; none for NATS without `--state-file`, or with `--no-state-file`.
pub fn state_file_for(spec: &str) -> Option<PathBuf> {
    match STATE_FILE.get().unwrap_or(&StateFileChoice::Default) {
        StateFileChoice::Off => None,
        StateFileChoice::At(p) => Some(p.clone()),
        StateFileChoice::Default if is_nats(spec) => None,
        StateFileChoice::Default => {
            let mut name = Path::new(spec).as_os_str().to_os_string();
            name.push(".state");
            Some(PathBuf::from(name))
        }
    }
}

/// Opens the ledger of the store `s` of `spec`: from its state file when one matches the
/// store (replaying only the records after it), else replaying every record; saves the state
/// file when the open replayed [`STATE_SAVE_EVERY`] records or more.
pub async fn open_ledger_in(spec: &str, s: Arc<dyn LedgerStore>) -> Result<Ledger, OpenError> {
    let Some(path) = state_file_for(spec) else {
        let ledger = Ledger::open(s, ValidatorConfig::default()).await?;
        let size = ledger.with_state(|v| v.size()).await;
        tracing::debug!(size, "ledger opened: replayed {size}");
        return Ok(ledger);
    };
    let (ledger, used) = Ledger::open_with_state_file(s, ValidatorConfig::default(), &path).await?;
    let from = match used {
        StateFileUse::Resumed { size } => size,
        StateFileUse::Absent | StateFileUse::SetAside(_) => 0,
        _ => 0,
    };
    *STATE_SAVED_AT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = from;
    let size = ledger.with_state(|v| v.size()).await;
    tracing::debug!(from, size, "ledger opened: replayed {}", size - from);
    save_state_if_grown(spec, &ledger).await;
    Ok(ledger)
}

/// Saves the ledger state file of `spec` when the ledger grew by [`STATE_SAVE_EVERY`]
/// records or more since it was read or written. A failure is a warning, not an error: the
/// file only makes the next open faster.
pub async fn save_state_if_grown(spec: &str, ledger: &Ledger) {
    let since = *STATE_SAVED_AT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if ledger.with_state(|v| v.size()).await >= since + STATE_SAVE_EVERY {
        save_state(spec, ledger).await;
    }
}

/// Saves the ledger state file of `spec` (when it has one).
pub async fn save_state(spec: &str, ledger: &Ledger) {
    let Some(path) = state_file_for(spec) else {
        return;
    };
    match ledger.save_state_file(&path).await {
        Ok(Some(size)) => {
            *STATE_SAVED_AT
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = size;
            tracing::debug!(size, "ledger state saved");
        }
        Ok(None) => tracing::debug!("ledger state not saved: records of others not read yet"),
        Err(e) => tracing::warn!(error = %e, "ledger state not saved (the next open replays more)"),
    }
}

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

/// Opens the store and its ledger ([`open_ledger_in`]).
pub async fn open_ledger(spec: &str) -> anyhow::Result<Ledger> {
    let store = open_store(spec, Create::No).await?;
    open_ledger_in(spec, store)
        .await
        .map_err(|e| open_error(spec, e))
}

/// Reads the ledger metadata of a store without replaying it.
pub async fn read_meta(spec: &str, store: &dyn LedgerStore) -> anyhow::Result<LedgerMeta> {
    Ledger::read_meta(store)
        .await
        .map_err(|e| open_error(spec, e))
}
