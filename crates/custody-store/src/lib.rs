//! The storage interface of custody-ledger.
//!
//! A store keeps records in ledger order and answers reads; it does not validate (the
//! validator in `custody-core` does, before anything reaches a store). Both backends, the
//! embedded SQLite file and NATS JetStream, implement [`LedgerStore`] and pass the same
//! conformance suite ([`conformance`], feature `conformance`).
//!
//! Payloads are stored apart from headers, so that a lawful redaction removes a payload while
//! the immutable log keeps every header: the log itself holds no personal data. Both backends
//! store a payload's canonical bytes and read them back through [`decode_payload`] (strict
//! JSON, the payload's shape, the header's `payload_digest`), so a payload damaged inside
//! either store is reported the same way: [`StoreError::Corrupt`] naming the event, on every
//! read that returns it ([`payload`]).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod checkpoint;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod fork;
pub mod identity;
pub mod payload;
mod scan;

pub use scan::{LedgerScan, SCAN_BATCH};

use std::fmt;

use async_trait::async_trait;
use custody_core::chain::{ChainConflict, ChainHead};
use custody_core::{Hash, Record};
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

pub use crate::checkpoint::{
    check_checkpoint_note, checkpoint_note_problem, merge_checkpoint_note, StoredCheckpoint,
};
pub use crate::fork::ForkAlarm;
pub use crate::identity::{Binding, LedgerIdentity};
pub use crate::payload::{decode_payload, encode_payload, payload_matches, PayloadDecodeError};

/// A record at its ledger position (its leaf index in the ledger's Merkle tree).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// 0-based ledger position.
    pub position: u64,
    /// The record, with its payload when [`StoredEvent::payload`] is
    /// [`PayloadState::Present`].
    pub record: Record,
    /// What the store holds of the record's payload.
    pub payload: PayloadState,
}

/// What a store holds of an event's payload. Every backend reports the same three states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadState {
    /// The payload is stored and attached to the record.
    Present,
    /// A lawful redaction removed it ([`LedgerStore::remove_payload`], after a `redaction`
    /// record named the event): its absence is expected.
    Redacted,
    /// The store holds neither the payload nor a redaction of it: the payload was lost (a
    /// writer stopped between its two writes, or the data was damaged) or never given (the
    /// record was appended without it). Appending the same record with its payload again
    /// completes it; an operator or monitor must know about every missing payload.
    Missing,
}

impl PayloadState {
    /// The state's name in JSON and in reports: `present`, `redacted` or `missing`.
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadState::Present => "present",
            PayloadState::Redacted => "redacted",
            PayloadState::Missing => "missing",
        }
    }
}

impl fmt::Display for PayloadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an append did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The record was stored at this position.
    Appended {
        /// Ledger position.
        position: u64,
    },
    /// The same record (same hash) was already stored: an idempotent retry.
    Duplicate {
        /// Ledger position of the stored copy.
        position: u64,
    },
}

impl AppendOutcome {
    /// The ledger position, whether new or duplicate.
    pub fn position(self) -> u64 {
        match self {
            AppendOutcome::Appended { position } | AppendOutcome::Duplicate { position } => {
                position
            }
        }
    }
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The chain head moved: the record does not extend the current head. Carries the real
    /// head (`None`: the chain is empty), so the caller can rebuild and sign again; a store
    /// answers [`ChainConflict::raced`] (rule `conflict`).
    #[error(transparent)]
    Conflict(ChainConflict),
    /// The store is unreachable or overloaded; retrying the same call later is safe.
    #[error("store unavailable: {0}; retry later")]
    Unavailable(String),
    /// The stored data is inconsistent (a bug or tampering); an operator must look.
    #[error("store data is inconsistent: {0}")]
    Corrupt(String),
    /// Any other backend failure.
    #[error("store error: {0}")]
    Backend(String),
    /// A checkpoint was not stored because the history already holds a larger one: the
    /// checkpoint history only grows ([`LedgerStore::add_checkpoint`]).
    #[error(
        "checkpoint of size {size} not stored: the latest stored checkpoint covers {latest} \
         records, and the checkpoint history never goes back"
    )]
    CheckpointBehind {
        /// Size of the refused checkpoint.
        size: u64,
        /// Size of the latest stored checkpoint.
        latest: u64,
    },
    /// A checkpoint was not stored because the history holds another checkpoint of the same
    /// size (another origin or root): two checkpoints of one size that differ contradict each
    /// other ([`LedgerStore::add_checkpoint`]).
    #[error(
        "checkpoint of size {size} not stored: the history already holds another checkpoint of \
         size {size} (another origin or root)"
    )]
    CheckpointConflict {
        /// Size of both checkpoints.
        size: u64,
    },
}

/// One entry of the append-only access log: who read which payload, when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessEntry {
    /// When (RFC 3339 UTC).
    pub at: String,
    /// Reader's key (`ed25519:...`).
    pub reader: String,
    /// Reader's agency.
    pub agency: String,
    /// What was read: an event hash, or a chain id.
    pub target: String,
    /// What the reader did (`read_payload`, `read_chain`...).
    pub action: String,
    /// Whether the read was allowed.
    pub allowed: bool,
}

/// A stream of stored events in ledger order.
pub type EventStream = BoxStream<'static, Result<StoredEvent, StoreError>>;

/// The storage interface: append-only ledger of records plus separately stored payloads.
///
/// Implementations must guarantee: an acknowledged append is durable and survives a restart;
/// per chain, exactly one record per `seq`; records are numbered by ledger position without
/// gaps from 0; a repeated append of the same record is an idempotent success.
///
/// A read never serves a payload its header does not commit to: a read that would return an
/// event whose stored payload does not decode to it ([`decode_payload`]) fails as a whole with
/// [`StoreError::Corrupt`] naming the event hash (`read_from` over its position, `chain` of its
/// chain, `event` by its hash, and `subscribe` from at or before it, which yields the error and
/// may end there). Reads that do not return that event (other positions, other chains, other
/// hashes, `head` and `size`, which read no payload) are unaffected.
#[async_trait]
pub trait LedgerStore: Send + Sync + fmt::Debug {
    /// Appends a record that extends the chain head it names (`header.seq`, `header.prev`).
    /// Returns [`StoreError::Conflict`] with the real head when the chain has moved.
    ///
    /// A record whose hash is already stored is an idempotent retry: the answer is
    /// [`AppendOutcome::Duplicate`] with the stored position (checked before the head, so a late
    /// retry is not a conflict), and the stored copy is kept as it is (a removed payload stays
    /// removed), except that a [`PayloadState::Missing`] payload is completed with the retry's
    /// payload when its digest is the stored header's `payload_digest` (a retry whose payload
    /// does not match is [`StoreError::Backend`] and changes nothing).
    async fn append(&self, record: &Record) -> Result<AppendOutcome, StoreError>;

    /// Appends records in order, as one durable write where the backend can (SQLite: one
    /// transaction, one fsync), and returns the positions of those appended: always a prefix
    /// of `records`, each new and extending its chain's head as the records before it in the
    /// batch left it. It stops before the first record that is not (one already stored, one
    /// that does not extend its head) and leaves it and those after it to
    /// [`LedgerStore::append`], which says what they are; an error (the store failed) means
    /// none of the batch is known to be stored (in doubt, as for `append`: sending the records
    /// again finds those that were). The records are validated by the caller, as for
    /// `append`. When another writer appends the same records at the same time, a record this
    /// call stored after one the other writer stored may be left out of the prefix: its next
    /// `append` answers it as a duplicate (JetStream's pipelined batch; SQLite's transaction
    /// never does this).
    ///
    /// The default appends one record at a time and stops at the first answer that is not
    /// [`AppendOutcome::Appended`] (an error after the first append stops it too: the caller's
    /// `append` of the next record meets the error again and reports it).
    async fn append_batch(&self, records: &[Record]) -> Result<Vec<u64>, StoreError> {
        let mut positions = Vec::with_capacity(records.len());
        for record in records {
            match self.append(record).await {
                Ok(AppendOutcome::Appended { position }) => positions.push(position),
                Ok(AppendOutcome::Duplicate { .. }) | Err(StoreError::Conflict(_)) => break,
                Err(e) if positions.is_empty() => return Err(e),
                Err(_) => break,
            }
        }
        Ok(positions)
    }

    /// Every record of a chain in chain order.
    async fn chain(&self, chain: &str) -> Result<Vec<StoredEvent>, StoreError>;

    /// Up to `limit` records in ledger order from `position`.
    async fn read_from(&self, position: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;

    /// Records in ledger order from `position`, then each new record as it is appended
    /// (including appends by other handles on the same ledger). The stream does not end on its
    /// own; after an error item it may end, and the caller resubscribes from the position after
    /// the last event it received.
    async fn subscribe(&self, position: u64) -> Result<EventStream, StoreError>;

    /// The head of a chain, `None` when the chain is empty.
    async fn head(&self, chain: &str) -> Result<Option<ChainHead>, StoreError>;

    /// Number of records in the ledger.
    async fn size(&self) -> Result<u64, StoreError>;

    /// A record by its hash.
    async fn event(&self, hash: &Hash) -> Result<Option<StoredEvent>, StoreError>;

    /// Removes the payload of an event (lawful redaction); the header, hash and signature stay.
    /// Removing a payload that is already gone is a success. The event then reads as
    /// [`PayloadState::Redacted`], for good: no later append brings the payload back.
    async fn remove_payload(&self, hash: &Hash) -> Result<(), StoreError>;

    /// Reads a ledger metadata document (ledger name, trust anchors...).
    async fn meta(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError>;

    /// Writes a ledger metadata document.
    async fn set_meta(&self, key: &str, value: &serde_json::Value) -> Result<(), StoreError>;

    /// Appends an entry to the access log (append-only).
    async fn log_access(&self, entry: &AccessEntry) -> Result<(), StoreError>;

    /// Reads up to `limit` access log entries in append order from a 0-based entry index.
    async fn access_log(&self, from: u64, limit: usize) -> Result<Vec<AccessEntry>, StoreError>;

    /// Keeps a fork alarm in the store's append-only alarm log ([`fork`]): the record stored at
    /// `(alarm.chain, alarm.seq)` stays in the ledger untouched, the other version is kept
    /// whole. Idempotent: an alarm whose other version (by hash) is already kept changes
    /// nothing and returns `false`; a new one returns `true`. The store does not validate
    /// (the ledger checks the other version's signature before).
    async fn record_fork(&self, alarm: &ForkAlarm) -> Result<bool, StoreError>;

    /// Reads up to `limit` fork alarms in the order they were recorded, from a 0-based index.
    async fn forks(&self, from: u64, limit: usize) -> Result<Vec<ForkAlarm>, StoreError>;

    /// Keeps a signed checkpoint note of the ledger's tree at `size` in the append-only
    /// checkpoint history ([`checkpoint`]). The store does not verify signatures (the
    /// checkpointer does, before); it checks that `note` is a checkpoint note of `size` and
    /// that the history only grows, in one atomic step with the write:
    /// - a size below the latest stored one is [`StoreError::CheckpointBehind`], nothing stored;
    /// - the latest size again with the same checkpoint body (origin, size, root) adds the
    ///   note's signature lines that the stored note lacks (cosignatures gathered after
    ///   signing, [`merge_checkpoint_note`]), and is otherwise an idempotent success;
    /// - the latest size with another body is [`StoreError::CheckpointConflict`];
    /// - a larger size is a new entry of the history.
    ///
    /// The default implementation keeps no history and refuses ([`StoreError::Backend`]); both
    /// backends implement it.
    async fn add_checkpoint(&self, size: u64, note: &str) -> Result<(), StoreError> {
        let _ = note;
        Err(StoreError::Backend(format!(
            "this store keeps no checkpoint history: the checkpoint of size {size} was not stored"
        )))
    }

    /// Up to `limit` checkpoints of the history, in increasing size from the first of size at
    /// least `from_size`, one per size, each with every signature line stored for it.
    async fn checkpoints(
        &self,
        from_size: u64,
        limit: usize,
    ) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let _ = (from_size, limit);
        Ok(Vec::new())
    }

    /// The latest (largest) checkpoint of the history, with its cosignatures; `None` when
    /// none was stored.
    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        Ok(None)
    }
}
