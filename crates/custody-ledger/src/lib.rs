//! The append path of custody-ledger: one [`Ledger`] = a [`LedgerStore`] plus the
//! [`Validator`] state rebuilt from it.
//!
//! Every append goes through [`Ledger::append`], which validates the record (schema, signature,
//! authority, chain) before the store sees it. Appends to one chain are serialised in this
//! process (the store's own head check catches other processes, and on JetStream the
//! server's expected-sequence check). Authority
//! appends are exclusive against every other append, so that the order in which the validator
//! sees a key revocation and the events signed by that key is the ledger order.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use custody_core::authority::TrustAnchors;
use custody_core::chain::{ChainConflict, ChainHead};
use custody_core::ids::AUTHORITY_CHAIN;
use custody_core::validate::{verify_signature, ValidationError, Validator, ValidatorConfig};
use custody_core::{EventKind, Hash, Record, Timestamp};
use custody_store::{AppendOutcome, ForkAlarm, LedgerScan, LedgerStore, PayloadState, StoreError};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, Notify, RwLock};

mod state_file;

use state_file::SavedLedgerState;
pub use state_file::{StateFileError, StateFileUse, STATE_FILE_FORMAT};

/// Metadata key under which the ledger description is stored.
pub const META_LEDGER: &str = "ledger";

/// Metadata key of the latest checkpoint the ledger's operator published (`custody checkpoint
/// --publish`): `{"size": N, "note": "<signed checkpoint note>"}`. The gateway serves the note
/// as `GET /v1/checkpoint`; a field post's sync pulls it.
pub const META_PUBLISHED_CHECKPOINT: &str = "checkpoint/published";

/// How many records a replay reads per store call.
const REPLAY_BATCH: usize = 1000;

/// Most records [`Ledger::append_batch`] gives the store in one write.
pub const MAX_BATCH: usize = 1000;

/// Longest time a catch-up waits for this process's appends in flight to settle before it
/// reads the store (see [`Ledger::catch_up`]).
const SETTLE_WAIT: Duration = Duration::from_secs(2);

/// Description of a ledger, kept in the store's metadata: its name (the checkpoint origin),
/// its trust anchors, and the verifier key of its checkpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerMeta {
    /// Ledger name: the origin line of its checkpoints.
    pub name: String,
    /// Root keys that write the authority chain.
    pub trust: TrustAnchors,
    /// Verifier key of the ledger's checkpoint signatures (`name+keyid+base64`).
    pub ledger_vkey: String,
    /// What this store of the ledger is, which sets its append policy ([`LedgerRole`]).
    #[serde(default)]
    pub role: LedgerRole,
}

/// What a store of a ledger is; it decides the one append policy every path follows (gateway,
/// `custody record`, `custody submit`, the demo).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerRole {
    /// Where records are first written: every new detainee record must carry its payload
    /// (rule `payload_missing`), so that nothing enters the ledger without its facts.
    #[default]
    Primary,
    /// A copy made from the ledger's public files (`custody init --trust`: a field post, a
    /// monitor, a restore): it replays what its source holds, records without payload
    /// (withheld or lawfully redacted) included.
    Replica,
}

impl LedgerRole {
    /// Whether new detainee records must carry their payload.
    pub fn requires_payloads(self) -> bool {
        self == LedgerRole::Primary
    }
}

/// Why an append was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The record is invalid: nothing was stored.
    #[error("record refused ({rule}): {error}", rule = .0.rule(), error = .0)]
    Invalid(Box<ValidationError>),
    /// The chain has moved on: fetch the head, rebuild and sign again. Nothing was stored. Its
    /// rule is `seq` or `prev` (the record was signed against an older head) or `conflict`
    /// (another writer extended the chain first).
    #[error(transparent)]
    Conflict(ChainConflict),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why [`Ledger::append_batch`] stopped: the record at index `done.len()` of the batch was
/// refused (`error`, as [`Ledger::append`] would have refused it); the records before it are
/// stored (`done`), those after it were not tried.
#[derive(Debug, thiserror::Error)]
#[error("record {index} of the batch: {error}", index = .done.len())]
pub struct BatchError {
    /// What became of each record before the refused one, in order.
    pub done: Vec<AppendOutcome>,
    /// Why the next record was refused.
    #[source]
    pub error: AppendError,
}

/// What [`Ledger::record_fork`] did with another version of a stored record.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForkOutcome {
    /// A new fork alarm: the ledger holds `stored` at that place, the other version is now kept
    /// in the alarm log.
    Recorded {
        /// Hash of the record the ledger holds at the other version's `(chain, seq)`.
        stored: Hash,
    },
    /// This other version was already kept by an earlier alarm: nothing changed.
    AlreadyRecorded {
        /// Hash of the record the ledger holds at that place.
        stored: Hash,
    },
    /// The record is the one the ledger holds (same hash): no fork.
    SameRecord {
        /// Its ledger position.
        position: u64,
    },
}

/// Why [`Ledger::record_fork`] refused another version. Nothing was recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForkError {
    /// The other version is not validly signed by a key of this ledger (its hash, signature,
    /// signer, ledger or payload digest): a forged record is no evidence and is not kept.
    #[error("the other version is refused ({rule}): {error}", rule = .0.rule(), error = .0)]
    Invalid(Box<ValidationError>),
    /// The ledger holds no record at the other version's `(chain, seq)`: it is not a fork (append
    /// it instead, if it extends the chain).
    #[error("chain {chain} has no record at seq {seq}: this is not a fork; append the record instead if it extends the chain")]
    NothingStored {
        /// The chain.
        chain: String,
        /// The seq.
        seq: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a ledger could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The store holds no ledger (run `custody init`).
    #[error("the store holds no ledger: run `custody init` first")]
    NotInitialised,
    /// The store already holds a ledger.
    #[error("the store already holds ledger {0:?}")]
    AlreadyInitialised(String),
    /// The stored metadata is unreadable.
    #[error("ledger metadata is unreadable: {0}")]
    BadMeta(String),
    /// A stored record does not validate on replay.
    #[error("stored record at position {position} does not validate: {error}")]
    Replay {
        /// Its ledger position.
        position: u64,
        /// Why.
        error: ValidationError,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A store with its validation state.
#[derive(Debug)]
pub struct Ledger {
    store: Arc<dyn LedgerStore>,
    meta: LedgerMeta,
    state: RwLock<Validator>,
    /// Next ledger position that `catch_up` reads.
    cursor: Mutex<u64>,
    /// Positions at or after the cursor that this process appended and applied itself: the
    /// cursor steps over them without reading them back.
    local: StdMutex<BTreeSet<u64>>,
    /// Appends of this process between the start of their store write and the moment their
    /// position is in `local`.
    in_flight: InFlight,
    /// Authority appends take it for writing, others for reading.
    authority_gate: RwLock<()>,
    chain_locks: StdMutex<HashMap<String, Arc<Mutex<()>>>>,
    /// Events read from the store with a [`PayloadState::Missing`] payload and not completed
    /// since, by hash, with their ledger position.
    missing: StdMutex<BTreeMap<Hash, u64>>,
}

impl Ledger {
    /// Writes the metadata of a new, empty ledger into a store.
    pub async fn init(store: Arc<dyn LedgerStore>, meta: LedgerMeta) -> Result<(), OpenError> {
        if let Some(existing) = store.meta(META_LEDGER).await? {
            let name = existing
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or("?")
                .to_string();
            return Err(OpenError::AlreadyInitialised(name));
        }
        let value = serde_json::to_value(&meta).map_err(|e| OpenError::BadMeta(e.to_string()))?;
        store.set_meta(META_LEDGER, &value).await?;
        Ok(())
    }

    /// Reads the ledger metadata of a store.
    pub async fn read_meta(store: &dyn LedgerStore) -> Result<LedgerMeta, OpenError> {
        let value = store
            .meta(META_LEDGER)
            .await?
            .ok_or(OpenError::NotInitialised)?;
        serde_json::from_value(value).map_err(|e| OpenError::BadMeta(e.to_string()))
    }

    /// Opens the ledger of a store and rebuilds the validation state by replaying every record.
    /// `config` gives the validator's limits; whether new detainee records must carry their
    /// payload is not the caller's choice: it follows from the ledger's [`LedgerRole`].
    pub async fn open(
        store: Arc<dyn LedgerStore>,
        config: ValidatorConfig,
    ) -> Result<Self, OpenError> {
        let ledger = Self::unreplayed(store, config).await?;
        ledger.catch_up().await?;
        Ok(ledger)
    }

    /// Opens the ledger of a store starting from the validation state saved in `path`
    /// ([`Ledger::save_state_file`]) when that file matches the store, and replays only the
    /// records stored after it; otherwise (no file, or one set aside: damaged, altered, of
    /// another ledger or of a store that is not this one) replays every record, as
    /// [`Ledger::open`]. Either way the ledger is the same; [`StateFileUse`] says which it was.
    pub async fn open_with_state_file(
        store: Arc<dyn LedgerStore>,
        config: ValidatorConfig,
        path: &std::path::Path,
    ) -> Result<(Self, StateFileUse), OpenError> {
        let ledger = Self::unreplayed(store, config).await?;
        let config = ledger.state.read().await.config().clone();
        let saved = match SavedLedgerState::read(path) {
            Ok(Some(saved)) => saved
                .check(path, &ledger.meta, &config, ledger.store.as_ref())
                .await
                .map(|()| Some(saved)),
            other => other,
        };
        let used = match saved {
            Ok(None) => StateFileUse::Absent,
            Ok(Some(saved)) => {
                let size = saved.size;
                *ledger.state.write().await = saved.validator;
                *ledger.cursor.lock().await = size;
                ledger.missing_set().extend(
                    saved
                        .missing
                        .into_iter()
                        .filter(|(position, _)| *position < size)
                        .map(|(position, hash)| (hash, position)),
                );
                StateFileUse::Resumed { size }
            }
            Err(e) => {
                tracing::warn!(error = %e, "saved ledger state set aside: replaying every record");
                StateFileUse::SetAside(e.to_string())
            }
        };
        ledger.catch_up().await?;
        Ok((ledger, used))
    }

    /// Saves the validation state this process reached to `path` (mode 0600, replaced
    /// atomically), for [`Ledger::open_with_state_file`]; returns the number of records it
    /// covers. `None` (nothing written) when the state is not that of a prefix of the store
    /// (this process applied records of its own beyond records of other processes it has not
    /// read yet): a [`Ledger::catch_up`] first makes it one.
    pub async fn save_state_file(
        &self,
        path: &std::path::Path,
    ) -> Result<Option<u64>, StateFileError> {
        let (size, validator) = {
            let mut cursor = self.cursor.lock().await;
            self.step_over_local(&mut cursor);
            let state = self.state.read().await;
            let ahead = !self
                .local
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .is_empty();
            if ahead || state.size() != *cursor {
                return Ok(None);
            }
            (*cursor, state.clone())
        };
        let last = match size.checked_sub(1) {
            None => None,
            Some(at) => LedgerScan::new(self.store.as_ref(), at)
                .batch_size(1)
                .next_batch()
                .await?
                .and_then(|batch| batch.into_iter().find(|ev| ev.position == at))
                .map(|ev| ev.record.hash),
        };
        let missing = self
            .missing_payloads()
            .into_iter()
            .filter(|(position, _)| *position < size)
            .collect();
        let saved = SavedLedgerState {
            format: STATE_FILE_FORMAT.to_string(),
            meta: self.meta.clone(),
            size,
            last,
            missing,
            validator,
        };
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || saved.write(&path))
            .await
            .map_err(|e| StateFileError::Io {
                path: std::path::PathBuf::new(),
                source: std::io::Error::other(e.to_string()),
            })??;
        Ok(Some(size))
    }

    /// The ledger of a store with the validation state of its empty ledger, nothing replayed.
    async fn unreplayed(
        store: Arc<dyn LedgerStore>,
        config: ValidatorConfig,
    ) -> Result<Self, OpenError> {
        let meta = Self::read_meta(store.as_ref()).await?;
        // One append policy per ledger, whichever path appends: it follows from the ledger's
        // role, never from the caller.
        let config = ValidatorConfig {
            require_payload: meta.role.requires_payloads(),
            ..config
        };
        Ok(Ledger {
            state: RwLock::new(Validator::new(meta.trust.clone(), config)),
            store,
            meta,
            cursor: Mutex::new(0),
            local: StdMutex::new(BTreeSet::new()),
            in_flight: InFlight::default(),
            authority_gate: RwLock::new(()),
            chain_locks: StdMutex::new(HashMap::new()),
            missing: StdMutex::new(BTreeMap::new()),
        })
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn LedgerStore> {
        &self.store
    }

    /// The ledger metadata.
    pub fn meta(&self) -> &LedgerMeta {
        &self.meta
    }

    /// Runs a function on the current validation state.
    pub async fn with_state<R>(&self, f: impl FnOnce(&Validator) -> R) -> R {
        f(&*self.state.read().await)
    }

    /// The head of a chain as this process knows it.
    pub async fn head(&self, chain: &str) -> Option<ChainHead> {
        self.state.read().await.head(chain)
    }

    /// Applies records appended to the store by other processes since the last call; returns
    /// the ledger size. Records this process appended itself are recognised and skipped.
    ///
    /// The store's size may count appends of this process whose answer is still on its way;
    /// the catch-up first lets those settle (up to 2 s), so that a busy gateway does not read
    /// back what it wrote itself.
    pub async fn catch_up(&self) -> Result<u64, OpenError> {
        let mut cursor = self.cursor.lock().await;
        // Fast path: every stored record has been applied here. One size query, nothing read.
        let stored = self.store.size().await?;
        self.in_flight.settle(SETTLE_WAIT).await;
        self.step_over_local(&mut cursor);
        if stored <= *cursor {
            return Ok(stored.max(*cursor));
        }
        loop {
            // A new scan from the cursor each time: the cursor steps over what this process
            // appended itself, so it may move past the end of the batch just read.
            let mut scan = LedgerScan::new(self.store.as_ref(), *cursor).batch_size(REPLAY_BATCH);
            let Some(batch) = scan.next_batch().await? else {
                return Ok(*cursor);
            };
            let mut state = self.state.write().await;
            for ev in batch {
                if ev.position < *cursor {
                    continue;
                }
                self.note_payload(&ev.record.hash, ev.position, ev.payload);
                let h = &ev.record.header;
                let known = state.head(&h.chain).is_some_and(|hd| hd.seq >= h.seq);
                if !known {
                    state
                        .replay(&ev.record)
                        .map_err(|error| OpenError::Replay {
                            position: ev.position,
                            error,
                        })?;
                }
                *cursor = ev.position + 1;
                self.step_over_local(&mut cursor);
            }
        }
    }

    /// The events this process read with a missing payload (neither stored nor redacted: see
    /// [`PayloadState::Missing`]) and has not seen completed since, as `(position, hash)` in
    /// ledger order. Records this process appended itself are acknowledged with their payload.
    pub fn missing_payloads(&self) -> Vec<(u64, Hash)> {
        let mut out: Vec<(u64, Hash)> = self
            .missing_set()
            .iter()
            .map(|(hash, position)| (*position, *hash))
            .collect();
        out.sort_unstable();
        out
    }

    /// Reads again every event of [`Ledger::missing_payloads`] and forgets those whose payload
    /// is no longer missing (completed by another process, or redacted); returns how many are
    /// still missing.
    pub async fn recheck_missing(&self) -> Result<usize, StoreError> {
        for (_, hash) in self.missing_payloads() {
            if let Some(ev) = self.store.event(&hash).await? {
                self.note_payload(&hash, ev.position, ev.payload);
            }
        }
        Ok(self.missing_set().len())
    }

    fn missing_set(&self) -> std::sync::MutexGuard<'_, BTreeMap<Hash, u64>> {
        self.missing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records what the store said of an event's payload.
    fn note_payload(&self, hash: &Hash, position: u64, state: PayloadState) {
        let mut missing = self.missing_set();
        if state == PayloadState::Missing {
            if missing.insert(*hash, position).is_none() {
                tracing::warn!(position, %hash, "stored record without its payload and without redaction: payload missing");
            }
        } else {
            missing.remove(hash);
        }
    }

    /// A retry of a record that is stored at or before the head this process knows: the store
    /// recognises it by its header (not through its payload, which may be what is missing) and
    /// completes a missing payload with the retry's. `None`: the record is not stored (its place
    /// is taken by another record), so it is stale.
    async fn retry_of_stored(&self, record: &Record) -> Result<Option<AppendOutcome>, AppendError> {
        let h = &record.header;
        if let Some(p) = &record.payload {
            let computed = p.digest();
            if computed != h.payload_digest {
                return Err(AppendError::Invalid(Box::new(
                    ValidationError::PayloadDigestMismatch {
                        claimed: h.payload_digest,
                        computed,
                    },
                )));
            }
        }
        match self.store.append(record).await {
            Ok(AppendOutcome::Duplicate { position }) => {
                if record.payload.is_some() {
                    self.note_payload(&record.hash, position, PayloadState::Present);
                }
                tracing::debug!(position, hash = %record.hash, "retry of a stored record");
                Ok(Some(AppendOutcome::Duplicate { position }))
            }
            Ok(AppendOutcome::Appended { position }) => {
                // The validation state holds a record at this seq that the store did not.
                Err(AppendError::Store(StoreError::Corrupt(format!(
                    "event {} was appended at position {position} to chain {} at seq {}, which \
                     this process had seen taken: the store lost records",
                    record.hash, h.chain, h.seq
                ))))
            }
            Err(StoreError::Conflict(_)) => Ok(None),
            Err(e) => Err(AppendError::Store(e)),
        }
    }

    /// Advances the cursor over positions this process appended itself, and forgets those
    /// the cursor has passed.
    fn step_over_local(&self, cursor: &mut u64) {
        let mut local = self
            .local
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        while local.remove(cursor) {
            *cursor += 1;
        }
        *local = local.split_off(cursor);
    }

    fn chain_lock(&self, chain: &str) -> Arc<Mutex<()>> {
        let mut locks = self
            .chain_locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        locks.entry(chain.to_string()).or_default().clone()
    }

    /// Records another version of a stored record: `other` names a `(chain, seq)` where the
    /// ledger holds a different record. It is kept, whole, in the store's fork alarm log
    /// ([`LedgerStore::record_fork`]) only when it is validly signed for this ledger: its header
    /// hashes to its hash, its signer is a key of this ledger's authority (enrolled or a trust
    /// root) and the signature verifies under it, and its payload, if any, matches its
    /// `payload_digest`. A forged version is refused ([`ForkError::Invalid`]) and kept
    /// nowhere. The stored record is never touched. `source` says where the other version came
    /// from (`sync from post X`, `packet import`); `now` is when it was seen.
    ///
    /// The same other version twice is one alarm ([`ForkOutcome::AlreadyRecorded`]); the
    /// stored record itself is [`ForkOutcome::SameRecord`].
    pub async fn record_fork(
        &self,
        other: &Record,
        source: &str,
        now: &Timestamp,
    ) -> Result<ForkOutcome, ForkError> {
        let h = &other.header;
        let invalid = |e: ValidationError| ForkError::Invalid(Box::new(e));
        if h.ledger != self.meta.name {
            return Err(invalid(ValidationError::WrongLedger {
                expected: self.meta.name.clone(),
                got: custody_core::encoding::excerpt(&h.ledger),
            }));
        }
        let key = self.state.read().await.verifying_key(&h.signer);
        let Some(key) = key else {
            return Err(invalid(ValidationError::UnknownKey { key: h.signer }));
        };
        verify_signature(other, Some(&key)).map_err(invalid)?;
        if let Some(p) = &other.payload {
            let computed = p.digest();
            if computed != h.payload_digest {
                return Err(invalid(ValidationError::PayloadDigestMismatch {
                    claimed: h.payload_digest,
                    computed,
                }));
            }
        }
        let events = self.store.chain(&h.chain).await?;
        let Some(stored) = events.iter().find(|ev| ev.record.header.seq == h.seq) else {
            return Err(ForkError::NothingStored {
                chain: h.chain.clone(),
                seq: h.seq,
            });
        };
        if stored.record.hash == other.hash {
            return Ok(ForkOutcome::SameRecord {
                position: stored.position,
            });
        }
        let alarm = ForkAlarm {
            chain: h.chain.clone(),
            seq: h.seq,
            stored: stored.record.hash,
            other: other.clone(),
            seen_at: now.clone(),
            source: source.to_string(),
        };
        let stored = stored.record.hash;
        if self.store.record_fork(&alarm).await? {
            tracing::warn!(chain = %h.chain, seq = h.seq, %stored, other = %other.hash, "fork: another validly signed record at a place of the chain");
            Ok(ForkOutcome::Recorded { stored })
        } else {
            Ok(ForkOutcome::AlreadyRecorded { stored })
        }
    }

    /// How many fork alarms the store keeps ([`LedgerStore::forks`]).
    pub async fn fork_count(&self) -> Result<u64, StoreError> {
        const PAGE: usize = 1000;
        let mut n = 0u64;
        loop {
            let page = self.store.forks(n, PAGE).await?.len();
            n += page as u64;
            if page < PAGE {
                return Ok(n);
            }
        }
    }

    /// Validates a record and appends it. `now` is the clock for the future-time rule.
    ///
    /// A record that is already in the ledger (a client retrying after a lost answer) is an
    /// idempotent success: [`AppendOutcome::Duplicate`] with its position. It is recognised by
    /// its header, so a retry of a record whose payload is missing (its writer stopped between
    /// the store's two writes) is a duplicate too, and completes the payload when the retry's
    /// digest is the header's `payload_digest` (a redacted payload is never brought back). A
    /// retry whose payload does not match its header is refused (`payload_digest`).
    pub async fn append(
        &self,
        record: &Record,
        now: &Timestamp,
    ) -> Result<AppendOutcome, AppendError> {
        let chain = record.header.chain.as_str();
        let _gate = if chain == AUTHORITY_CHAIN {
            GateGuard::Write(self.authority_gate.write().await)
        } else {
            GateGuard::Read(self.authority_gate.read().await)
        };
        let lock = self.chain_lock(chain);
        let _chain_guard = lock.lock().await;

        let mut outcome = self.try_append(record, now).await;
        if let Err(AppendError::Conflict(_)) = outcome {
            // Another process may have appended: catch up once and decide again.
            self.catch_up().await.map_err(|e| match e {
                OpenError::Store(s) => AppendError::Store(s),
                other => AppendError::Store(StoreError::Corrupt(other.to_string())),
            })?;
            outcome = self.try_append(record, now).await;
        }
        if outcome.is_ok() && record.header.kind == EventKind::Redaction {
            self.remove_redacted_payload(record).await?;
        }
        outcome
    }

    /// Validates and appends records in order: the same outcome, record by record, as
    /// [`Ledger::append`] of each in turn, stopping at the first refusal ([`BatchError`]).
    ///
    /// Runs of detainee records (up to [`MAX_BATCH`]) that are new, valid and extend their
    /// chains one after the other are checked together and handed to the store as one write
    /// ([`LedgerStore::append_batch`]: on SQLite one transaction, so one fsync for the run
    /// instead of one per record). Everything else goes through [`Ledger::append`] one record
    /// at a time, which says exactly what it is: authority records and redactions (which have
    /// effects beyond their chain), retries of stored records, refused records, and whatever
    /// the store did not take in the run.
    pub async fn append_batch(
        &self,
        records: &[Record],
        now: &Timestamp,
    ) -> Result<Vec<AppendOutcome>, BatchError> {
        let mut done = Vec::with_capacity(records.len());
        let mut rest = records;
        while let Some(first) = rest.first() {
            let run = rest
                .iter()
                .take(MAX_BATCH)
                .take_while(|r| batchable(r))
                .count();
            let appended = if run > 1 {
                self.append_run(&rest[..run], now).await
            } else {
                Vec::new()
            };
            if appended.is_empty() {
                match self.append(first, now).await {
                    Ok(outcome) => done.push(outcome),
                    Err(error) => return Err(BatchError { done, error }),
                }
                rest = &rest[1..];
            } else {
                rest = &rest[appended.len()..];
                done.extend(
                    appended
                        .into_iter()
                        .map(|position| AppendOutcome::Appended { position }),
                );
            }
        }
        Ok(done)
    }

    /// The fast path of [`Ledger::append_batch`] for a run of detainee records: checks them one
    /// after the other on a copy of the state of their chains, hands the valid prefix to the
    /// store as one write, and applies what the store appended. Returns the positions appended
    /// (a prefix of `run`); empty when the fast path gains nothing, and the caller then appends
    /// the first record alone. Never an error: whatever it did not append is left to
    /// [`Ledger::append`], which meets the problem again and names it.
    async fn append_run(&self, run: &[Record], now: &Timestamp) -> Vec<u64> {
        let _gate = self.authority_gate.read().await;
        // Only the prefix whose seqs extend the heads one after the other is worth the locks
        // and the copy: a resubmitted file of stored records then costs one look per record,
        // not a run's worth of work per record.
        let plausible = {
            let state = self.state.read().await;
            let mut next: HashMap<&str, u64> = HashMap::new();
            run.iter()
                .take_while(|r| {
                    let h = &r.header;
                    let expected = *next
                        .entry(h.chain.as_str())
                        .or_insert_with(|| state.head(&h.chain).map_or(0, |hd| hd.seq + 1));
                    if h.seq == expected {
                        next.insert(h.chain.as_str(), expected + 1);
                        true
                    } else {
                        false
                    }
                })
                .count()
        };
        if plausible < 2 {
            return Vec::new();
        }
        let run = &run[..plausible];
        let mut chains: Vec<&str> = run.iter().map(|r| r.header.chain.as_str()).collect();
        chains.sort_unstable();
        chains.dedup();
        // Taken in name order: a single append holds one chain lock, a run takes its locks in
        // one global order, so no two appends wait for each other in a cycle.
        let locks: Vec<Arc<Mutex<()>>> = chains.iter().map(|c| self.chain_lock(c)).collect();
        let mut guards = Vec::with_capacity(locks.len());
        for lock in &locks {
            guards.push(lock.lock().await);
        }
        let (keys, mut scratch) = {
            let state = self.state.read().await;
            let keys: Vec<_> = run
                .iter()
                .map(|r| state.verifying_key(&r.header.signer))
                .collect();
            (keys, state.fork_chains(chains.iter().copied()))
        };
        let mut checked = Vec::with_capacity(run.len());
        for (record, key) in run.iter().zip(&keys) {
            let h = &record.header;
            let Ok(verified) = verify_signature(record, key.as_ref()) else {
                break;
            };
            if scratch.head(&h.chain).is_some_and(|hd| hd.seq >= h.seq) {
                break; // a retry or a stale record: `append` tells which
            }
            let Ok(c) = scratch.check_verified(verified, Some(now)) else {
                break;
            };
            scratch.apply(c.clone());
            checked.push(c);
        }
        drop(scratch);
        if checked.len() < 2 {
            return Vec::new();
        }
        let _in_flight = self.in_flight.enter();
        let positions = match self.store.append_batch(&run[..checked.len()]).await {
            Ok(positions) => positions,
            Err(e) => {
                tracing::debug!(error = %e, "batch append failed: appending one record at a time");
                return Vec::new();
            }
        };
        let mut state = self.state.write().await;
        let mut local = self
            .local
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (c, position) in checked.into_iter().zip(&positions) {
            let h = &c.record().header;
            // A concurrent catch-up may have read the record back already: apply once.
            if state.head(&h.chain).is_none_or(|hd| hd.seq < h.seq) {
                state.apply(c);
            }
            local.insert(*position);
        }
        tracing::debug!(count = positions.len(), "appended as one batch");
        positions
    }

    /// A stored `redaction` removes the payload it names (the header stays). Done after the
    /// redaction is stored, and again on every retry of it, so a process that stops in between
    /// completes the removal when the redaction is sent again (it is then a duplicate).
    async fn remove_redacted_payload(&self, redaction: &Record) -> Result<(), AppendError> {
        let Some(target) = redaction.header.facts.hash("event") else {
            return Ok(()); // a validated redaction always names its target
        };
        self.store
            .remove_payload(&target)
            .await
            .map_err(AppendError::Store)?;
        tracing::info!(target = %target, redaction = %redaction.hash, "payload removed by a redaction");
        Ok(())
    }

    async fn try_append(
        &self,
        record: &Record,
        now: &Timestamp,
    ) -> Result<AppendOutcome, AppendError> {
        let h = &record.header;
        // The signature check, most of the cost, needs no state: run it without the lock, so
        // that concurrent appends verify in parallel and the lock is held only for the rest.
        let key = self.state.read().await.verifying_key(&h.signer);
        let verified =
            verify_signature(record, key.as_ref()).map_err(|e| AppendError::Invalid(Box::new(e)));
        let behind = {
            let state = self.state.read().await;
            state.head(&h.chain).is_some_and(|hd| hd.seq >= h.seq)
        };
        if behind && verified.is_ok() {
            // Its seq is taken: a retry of the stored record (whose payload may be missing, so
            // it is looked up by its header), or a stale record.
            if let Some(outcome) = self.retry_of_stored(record).await? {
                return Ok(outcome);
            }
        }
        let checked = {
            let state = self.state.read().await;
            match verified.and_then(|v| {
                state
                    .check_verified(v, Some(now))
                    .map_err(|e| AppendError::Invalid(Box::new(e)))
            }) {
                Ok(c) => c,
                Err(AppendError::Invalid(e)) => {
                    return Err(match e.conflict(state.head(&h.chain)) {
                        Some(conflict) => AppendError::Conflict(conflict),
                        None => AppendError::Invalid(e),
                    })
                }
                Err(e) => return Err(e),
            }
        };
        // Held until the position is in `local` (or the append failed).
        let _in_flight = self.in_flight.enter();
        match self.store.append(record).await {
            Ok(AppendOutcome::Appended { position }) => {
                let mut state = self.state.write().await;
                // A concurrent catch-up may have read this record back from the store and
                // applied it already: apply once.
                if state.head(&h.chain).is_none_or(|hd| hd.seq < h.seq) {
                    state.apply(checked);
                }
                drop(state);
                self.local
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .insert(position);
                tracing::debug!(position, hash = %record.hash, "appended");
                Ok(AppendOutcome::Appended { position })
            }
            Ok(AppendOutcome::Duplicate { position }) => {
                // Stored by another process; the store completed a missing payload.
                if record.payload.is_some() {
                    self.note_payload(&record.hash, position, PayloadState::Present);
                }
                Ok(AppendOutcome::Duplicate { position })
            }
            Err(StoreError::Conflict(conflict)) => Err(AppendError::Conflict(conflict)),
            Err(e) => Err(AppendError::Store(e)),
        }
    }
}

/// Whether a record may go in a run of [`Ledger::append_batch`]: a detainee record whose
/// effects stop at its chain (not an authority record, which changes what every later record
/// is checked against, nor a redaction, which removes a stored payload).
fn batchable(record: &Record) -> bool {
    record.header.chain != AUTHORITY_CHAIN && record.header.kind != EventKind::Redaction
}

/// The appends of this process whose store write has started and whose position is not yet
/// recorded, by ticket number in start order.
#[derive(Debug, Default)]
struct InFlight {
    state: StdMutex<InFlightState>,
    /// Signalled whenever an append leaves.
    left: Notify,
}

#[derive(Debug, Default)]
struct InFlightState {
    issued: u64,
    open: BTreeSet<u64>,
}

impl InFlight {
    fn lock(&self) -> std::sync::MutexGuard<'_, InFlightState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers an append; it leaves when the guard is dropped.
    fn enter(&self) -> InFlightGuard<'_> {
        let mut state = self.lock();
        state.issued += 1;
        let ticket = state.issued;
        state.open.insert(ticket);
        InFlightGuard {
            in_flight: self,
            ticket,
        }
    }

    /// Waits until every append registered before this call has left, or `limit` passed.
    async fn settle(&self, limit: Duration) {
        let last = self.lock().issued;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = self.left.notified();
            tokio::pin!(left);
            // Registered before the check, so a departure between the two is not missed.
            left.as_mut().enable();
            if self.lock().open.first().is_none_or(|oldest| *oldest > last) {
                return;
            }
            if tokio::time::timeout_at(deadline, left).await.is_err() {
                return;
            }
        }
    }
}

struct InFlightGuard<'a> {
    in_flight: &'a InFlight,
    ticket: u64,
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.in_flight.lock().open.remove(&self.ticket);
        self.in_flight.left.notify_waiters();
    }
}

enum GateGuard<'a> {
    Read(#[allow(dead_code)] tokio::sync::RwLockReadGuard<'a, ()>),
    Write(#[allow(dead_code)] tokio::sync::RwLockWriteGuard<'a, ()>),
}
