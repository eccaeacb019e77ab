//! The NATS JetStream backend of custody-ledger: [`JetStreamStore`] implements
//! [`LedgerStore`] on a JetStream server (written for and tested against nats-server 2.9.10).
//!
//! # Layout
//!
//! | what | where | key / subject |
//! |---|---|---|
//! | records, without payload | stream [`LEDGER_STREAM`] (`CUSTODY`) | `custody.chain.<chain id>` |
//! | payloads | bucket [`PAYLOAD_BUCKET`], history 1 | event hash (hex) |
//! | hash index | bucket [`INDEX_BUCKET`] | event hash (hex) |
//! | metadata | bucket [`META_BUCKET`] | metadata key |
//! | access log | stream [`ACCESS_STREAM`] | `custody.access` |
//!
//! The ledger position of a record is its stream sequence minus one. Positions are dense
//! because the stream never loses a message: `deny_delete`, `deny_purge`, no rollup, discard
//! `New` and no age, count or size limit. [`JetStreamStore::connect`] creates the streams and
//! buckets, and refuses to run on an existing stream whose configuration lost one of these
//! guarantees. Every store is file-backed.
//!
//! # Appending
//!
//! Each append publishes one message with two headers:
//! - `Nats-Msg-Id` = the event hash: the server answers a repeat within [`DUPLICATE_WINDOW`]
//!   with `duplicate: true` and the original sequence ([`AppendOutcome::Duplicate`]);
//! - `Nats-Expected-Last-Subject-Sequence` = the stream sequence of the chain's head message
//!   (0 for a new chain): the server refuses the message (error 10071) if another record was
//!   appended to the chain meanwhile, so a chain never forks.
//!
//! The head comes from a per-process cache (hash and stream sequence of each chain's last
//! record), refreshed with a last-message-by-subject lookup when unknown or stale. Before
//! publishing, the store checks that the record extends that head (`header.seq`,
//! `header.prev`); if it does not, nothing is published and the answer is either
//! [`AppendOutcome::Duplicate`] (the record is already in the chain: a late retry) or
//! [`StoreError::Conflict`] with the real head. Error 10071 is answered the same way after
//! fetching the real head, so a retry that comes after the duplicate window is still a
//! duplicate, not a conflict. Time-outs and missing responders are
//! [`StoreError::Unavailable`]: the record may or may not have been stored, and sending the
//! same record again is safe.
//!
//! Before the publish, the payload is written to [`PAYLOAD_BUCKET`] and an index entry
//! (chain, chain seq) to [`INDEX_BUCKET`], both only if the key has never been written (so a
//! retried append never restores a payload removed by a lawful redaction). After the
//! acknowledgement the index entry is completed with the ledger position. When an append ends
//! in a conflict, what it wrote for that record is removed again: that record can never be
//! appended, since its place in the chain is taken.
//!
//! # Finding an event by hash
//!
//! [`INDEX_BUCKET`] maps each hash to its chain and chain seq, and to its position once the
//! append was acknowledged. Because the entry is written before the publish, a missing entry
//! means the event is not in the ledger, across restarts and processes, without a scan. An
//! entry without a position (the process stopped between the publish and the completion, or
//! the append failed) is resolved by reading the chain's subject, which is short, and is then
//! completed. If the bucket is ever recreated while the ledger holds records, `connect`
//! rebuilds it from the stream.
//!
//! # Reading and subscribing
//!
//! `read_from`, `chain` and the access log use short-lived ephemeral pull consumers starting
//! at a stream sequence (filtered by the chain's subject for `chain`). `subscribe` repeats
//! such reads from the next position it has not yielded, so it needs no server-side state:
//! it survives a server restart (it retries with a capped back-off) and yields each record
//! exactly once, in order. Direct get (`allow_direct`, available since 2.9.0) is not enabled
//! on the ledger stream: a direct get may be answered by any replica, possibly behind the
//! leader, and the chain head must come from the leader.
//!
//! # Limits on nats-server 2.9.10
//!
//! - **Expected-sequence check on replicated streams.** Up to 2.9.20 the
//!   `Nats-Expected-Last-Subject-Sequence` check is a pre-check on the stream leader, not part
//!   of the replicated write, so two concurrent publishes to an R3 stream expecting the same
//!   sequence can both be accepted (nats-server issue #4320, fixed in 2.9.21). The store
//!   therefore also serialises appends per chain inside the process (one lock per chain),
//!   which closes the race for everything that goes through one gateway; run one writing
//!   gateway per ledger on a replicated stream until the server is upgraded.
//! - **Acknowledged is not yet fsynced.** The server acknowledges a publish once the message
//!   is written to the operating system (for a single replica) and fsyncs the store files
//!   every `sync_interval`, 2 minutes by default. A crash of the server process (kill -9)
//!   loses nothing acknowledged (tested), but a power cut or kernel crash of a single server
//!   may lose up to about 2 minutes of acknowledged records; on R3 an acknowledgement means a
//!   majority holds the record, so it is lost only if a majority loses power together. The
//!   `sync_interval` option (including `always`, fsync on every write) exists from
//!   nats-server 2.10.0; 2.9.10 rejects it as an unknown field, so the default applies.
//!   Mitigations on 2.9.10: R3 across independent power domains, a UPS with clean shutdown,
//!   and gateways that keep their own copy of what they sent until a checkpoint covers it.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod errors;
mod read;
mod setup;
mod subscribe;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use async_nats::jetstream::context::{Publish, PublishErrorKind};
use async_nats::jetstream::kv::{self, UpdateErrorKind};
use async_nats::jetstream::stream::{LastRawMessageErrorKind, Stream};
use async_trait::async_trait;
use custody_core::chain::ChainHead;
use custody_core::ids::is_valid_chain_id;
use custody_core::{Hash, Payload, Record};
use custody_store::{
    AccessEntry, AppendOutcome, EventStream, LedgerStore, StoreError, StoredEvent,
};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex as AsyncMutex;
use tracing::{debug, info, warn};

use crate::errors::store_error;
use crate::read::{read_range, Range, RawMessage};
pub use crate::setup::{
    ACCESS_STREAM, ACCESS_SUBJECT, CHAIN_SUBJECT_PREFIX, DUPLICATE_WINDOW, INDEX_BUCKET,
    LEDGER_STREAM, LEDGER_SUBJECTS, META_BUCKET, PAYLOAD_BUCKET,
};

/// Payloads fetched concurrently when a read returns many records.
const PAYLOAD_FETCHES: usize = 8;

/// How to connect.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Longest wait for one answer of the server (connect, request, publish acknowledgement);
    /// past it the operation fails with [`StoreError::Unavailable`]. Default 5 s.
    pub request_timeout: Duration,
    /// Replicas of streams and buckets created by [`JetStreamStore::connect_with`] (existing
    /// ones are kept as they are). Default 1; see the crate documentation before using 3 on
    /// nats-server 2.9.
    pub replicas: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            request_timeout: Duration::from_secs(5),
            replicas: 1,
        }
    }
}

/// A ledger kept in NATS JetStream. Cheap to clone: clones share the connection and the
/// cache of chain heads.
#[derive(Clone)]
pub struct JetStreamStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for JetStreamStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JetStreamStore")
            .field("stream", &LEDGER_STREAM)
            .finish_non_exhaustive()
    }
}

/// Writes the position into an event's index entry; a failure is logged and repaired when the
/// entry is next read.
async fn complete_index_entry(index: &kv::Store, key: &str, chain: &str, seq: u64, position: u64) {
    let entry = IndexEntry {
        chain: chain.to_string(),
        seq,
        position: Some(position),
    };
    let result = match serde_json::to_vec(&entry) {
        Ok(value) => index
            .put(key, value.into())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = result {
        warn!(event = key, position, error = %e, "could not complete an index entry; it will be repaired when read");
    }
}

/// What the store shares between clones and subscriptions.
pub(crate) struct Inner {
    client: async_nats::Client,
    /// JetStream context with the configured time-out.
    js: async_nats::jetstream::Context,
    ledger: Stream,
    access: Stream,
    payloads: kv::Store,
    meta: kv::Store,
    index: kv::Store,
    /// Per chain: the lock that serialises its appends in this process, guarding the cached
    /// head.
    heads: StdMutex<HashMap<String, Arc<AsyncMutex<CachedHead>>>>,
}

/// What the process believes about a chain's head.
#[derive(Clone, Copy, Debug)]
enum CachedHead {
    /// Not known (never read, or an append ended in doubt).
    Unknown,
    /// Known as of the last append or lookup (`None`: the chain was empty).
    Known(Option<HeadMessage>),
}

/// A chain's last record and where it is in the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct HeadMessage {
    seq: u64,
    hash: Hash,
    stream_seq: u64,
}

impl HeadMessage {
    fn chain_head(self) -> ChainHead {
        ChainHead {
            seq: self.seq,
            hash: self.hash,
        }
    }
}

/// A value of [`INDEX_BUCKET`].
#[derive(Debug, Serialize, Deserialize)]
struct IndexEntry {
    chain: String,
    seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    position: Option<u64>,
}

/// The subject of a chain's records.
fn chain_subject(chain: &str) -> String {
    format!("{CHAIN_SUBJECT_PREFIX}{chain}")
}

/// Whether `record` extends `head` (`None`: an empty chain).
fn extends(record: &Record, head: Option<HeadMessage>) -> bool {
    match head {
        None => record.header.seq == 0 && record.header.prev.is_none(),
        Some(h) => record.header.seq == h.seq + 1 && record.header.prev == Some(h.hash),
    }
}

/// Parses a message of the ledger stream.
fn parse_ledger_message(seq: u64, subject: &str, data: &[u8]) -> Result<Record, StoreError> {
    let record = Record::from_json(data).map_err(|e| {
        StoreError::Corrupt(format!(
            "message {seq} of stream {LEDGER_STREAM} is not a record: {e}"
        ))
    })?;
    if record.payload.is_some() {
        return Err(StoreError::Corrupt(format!(
            "message {seq} of stream {LEDGER_STREAM} carries a payload; the stream holds records \
             without payload only"
        )));
    }
    if subject != chain_subject(&record.header.chain) {
        return Err(StoreError::Corrupt(format!(
            "message {seq} of stream {LEDGER_STREAM} (event {}) is on a subject that is not its \
             chain's",
            record.hash
        )));
    }
    Ok(record)
}

/// Parses a stored payload and checks it against the header's digest.
fn parse_payload(record: &Record, data: &[u8]) -> Result<Payload, StoreError> {
    let corrupt = |problem: String| {
        StoreError::Corrupt(format!(
            "payload of event {} in bucket {PAYLOAD_BUCKET} {problem}",
            record.hash
        ))
    };
    let value =
        custody_core::jcs::parse_strict(data).map_err(|e| corrupt(format!("is not JSON: {e}")))?;
    let payload =
        Payload::from_value(&value).map_err(|e| corrupt(format!("is not a payload: {e}")))?;
    if payload.digest() != record.header.payload_digest {
        return Err(corrupt(
            "does not match the payload_digest of its header".to_string(),
        ));
    }
    Ok(payload)
}

fn stream_position(stream_seq: u64) -> Result<u64, StoreError> {
    stream_seq
        .checked_sub(1)
        .ok_or_else(|| StoreError::Corrupt(format!("stream {LEDGER_STREAM} reported sequence 0")))
}

impl JetStreamStore {
    /// Connects to a NATS server with JetStream and opens the ledger, creating its streams and
    /// buckets on first use, with [`StoreOptions::default`].
    ///
    /// Fails with [`StoreError::Unavailable`] when the server cannot be reached, and with
    /// [`StoreError::Backend`] when an existing stream or bucket does not have the
    /// configuration the ledger relies on (the message lists what differs).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), custody_store::StoreError> {
    /// use custody_store::LedgerStore;
    /// use custody_store_nats::JetStreamStore;
    ///
    /// let store = JetStreamStore::connect("nats://127.0.0.1:4222").await?;
    /// println!("{} records", store.size().await?);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str) -> Result<JetStreamStore, StoreError> {
        Self::connect_with(url, StoreOptions::default()).await
    }

    /// Like [`JetStreamStore::connect`], with options.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), custody_store::StoreError> {
    /// use std::time::Duration;
    /// use custody_store_nats::{JetStreamStore, StoreOptions};
    ///
    /// let options = StoreOptions {
    ///     request_timeout: Duration::from_secs(2),
    ///     ..StoreOptions::default()
    /// };
    /// let store = JetStreamStore::connect_with("nats://127.0.0.1:4222", options).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_with(
        url: &str,
        options: StoreOptions,
    ) -> Result<JetStreamStore, StoreError> {
        let timeout = options.request_timeout;
        let client = async_nats::ConnectOptions::new()
            .name("custody-store-nats")
            .connection_timeout(timeout)
            .request_timeout(Some(timeout))
            .ping_interval(Duration::from_secs(10))
            .reconnect_delay_callback(reconnect_delay)
            .connect(url)
            .await
            // The URL is left out: it may carry credentials.
            .map_err(|e| store_error("cannot connect to the NATS server", e))?;
        let mut js = async_nats::jetstream::new(client.clone());
        js.set_timeout(timeout);

        let replicas = options.replicas;
        let (ledger, _) = setup::ensure_stream(
            &js,
            setup::ledger_stream_config(replicas),
            Some(DUPLICATE_WINDOW),
        )
        .await?;
        let (access, _) =
            setup::ensure_stream(&js, setup::access_stream_config(replicas), None).await?;
        let (payloads, _) =
            setup::ensure_bucket(&js, PAYLOAD_BUCKET, "custody-ledger payloads", replicas).await?;
        let (meta, _) =
            setup::ensure_bucket(&js, META_BUCKET, "custody-ledger metadata", replicas).await?;
        let (index, index_created) =
            setup::ensure_bucket(&js, INDEX_BUCKET, "custody-ledger hash index", replicas).await?;

        let store = JetStreamStore {
            inner: Arc::new(Inner {
                client,
                js,
                ledger,
                access,
                payloads,
                meta,
                index,
                heads: StdMutex::new(HashMap::new()),
            }),
        };
        if index_created {
            store.inner.rebuild_index().await?;
        }
        Ok(store)
    }
}

/// Reconnect quickly after a server restart, then back off to one attempt every 2 s.
fn reconnect_delay(attempts: usize) -> Duration {
    let exp = u32::try_from(attempts.min(6)).unwrap_or(6);
    (Duration::from_millis(50) * 2u32.pow(exp)).min(Duration::from_secs(2))
}

impl Inner {
    /// The lock and cached head of a chain.
    fn chain_slot(&self, chain: &str) -> Arc<AsyncMutex<CachedHead>> {
        let mut heads = match self.heads.lock() {
            Ok(guard) => guard,
            // A panic elsewhere cannot leave the map inconsistent: it is only inserted into.
            Err(poisoned) => poisoned.into_inner(),
        };
        Arc::clone(
            heads
                .entry(chain.to_string())
                .or_insert_with(|| Arc::new(AsyncMutex::new(CachedHead::Unknown))),
        )
    }

    /// The chain's head as stored now.
    async fn fetch_head(&self, chain: &str) -> Result<Option<HeadMessage>, StoreError> {
        let subject = chain_subject(chain);
        match self.ledger.get_last_raw_message_by_subject(&subject).await {
            Ok(message) => {
                let record = parse_ledger_message(
                    message.sequence,
                    message.subject.as_str(),
                    &message.payload,
                )?;
                Ok(Some(HeadMessage {
                    seq: record.header.seq,
                    hash: record.hash,
                    stream_seq: message.sequence,
                }))
            }
            Err(e) if matches!(e.kind(), LastRawMessageErrorKind::NoMessageFound) => Ok(None),
            Err(e) => Err(store_error("cannot read a chain head", e)),
        }
    }

    /// The number of records, checking that the stream has no hole.
    async fn last_seq(&self) -> Result<u64, StoreError> {
        let info = self
            .ledger
            .get_info()
            .await
            .map_err(|e| store_error(&format!("cannot read stream {LEDGER_STREAM}"), e))?;
        let state = info.state;
        if state.messages != state.last_sequence {
            return Err(StoreError::Corrupt(format!(
                "stream {LEDGER_STREAM} holds {} messages for sequences up to {}: messages were \
                 removed and the ledger has gaps",
                state.messages, state.last_sequence
            )));
        }
        Ok(state.last_sequence)
    }

    /// The record at a stream sequence.
    async fn record_at(&self, stream_seq: u64) -> Result<Option<Record>, StoreError> {
        match self.ledger.get_raw_message(stream_seq).await {
            Ok(m) => parse_ledger_message(m.sequence, m.subject.as_str(), &m.payload).map(Some),
            Err(e) if matches!(e.kind(), LastRawMessageErrorKind::NoMessageFound) => Ok(None),
            Err(e) => Err(store_error(
                &format!("cannot read message {stream_seq} of stream {LEDGER_STREAM}"),
                e,
            )),
        }
    }

    /// The record with its payload attached, unless the payload was removed.
    async fn with_payload(&self, mut record: Record) -> Result<Record, StoreError> {
        let key = record.hash.to_hex();
        let data = self
            .payloads
            .get(key.as_str())
            .await
            .map_err(|e| store_error(&format!("cannot read the payload of event {key}"), e))?;
        record.payload = match data {
            Some(data) => Some(parse_payload(&record, &data)?),
            None => None,
        };
        Ok(record)
    }

    /// Turns ledger messages into stored events with their payloads.
    async fn to_events(&self, raw: Vec<RawMessage>) -> Result<Vec<StoredEvent>, StoreError> {
        let mut parsed = Vec::with_capacity(raw.len());
        for m in raw {
            let record = parse_ledger_message(m.seq, &m.subject, &m.payload)?;
            parsed.push((stream_position(m.seq)?, record));
        }
        futures::stream::iter(parsed)
            .map(|(position, record)| async move {
                Ok(StoredEvent {
                    position,
                    record: self.with_payload(record).await?,
                })
            })
            .buffered(PAYLOAD_FETCHES)
            .try_collect()
            .await
    }

    /// Up to `limit` events from `position`, checked dense.
    pub(crate) async fn read_events(
        &self,
        position: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let last = self.last_seq().await?;
        if position >= last {
            return Ok(Vec::new());
        }
        let first = position + 1;
        let end = last.min(position.saturating_add(u64::try_from(limit).unwrap_or(u64::MAX)));
        let expected = end - first + 1;
        let raw = read_range(
            &self.ledger,
            Range {
                stream_name: LEDGER_STREAM,
                filter: None,
                first,
                last: end,
                max: usize::try_from(expected).unwrap_or(usize::MAX),
            },
        )
        .await?;
        if raw.len() as u64 != expected {
            return Err(StoreError::Unavailable(format!(
                "read {} of the {expected} records from position {position}; retry",
                raw.len()
            )));
        }
        self.to_events(raw).await
    }

    /// Every record of a chain with its stream sequence, in chain order, checked.
    async fn chain_records(&self, chain: &str) -> Result<Vec<(u64, Record)>, StoreError> {
        if !is_valid_chain_id(chain) {
            return Ok(Vec::new());
        }
        let Some(head) = self.fetch_head(chain).await? else {
            return Ok(Vec::new());
        };
        let subject = chain_subject(chain);
        let raw = read_range(
            &self.ledger,
            Range {
                stream_name: LEDGER_STREAM,
                filter: Some(&subject),
                first: 1,
                last: head.stream_seq,
                max: usize::MAX,
            },
        )
        .await?;
        if raw.last().map(|m| m.seq) != Some(head.stream_seq) {
            return Err(StoreError::Unavailable(format!(
                "the read of a chain stopped before its head (event {}); retry",
                head.hash
            )));
        }
        let mut out = Vec::with_capacity(raw.len());
        for (i, m) in raw.into_iter().enumerate() {
            let record = parse_ledger_message(m.seq, &m.subject, &m.payload)?;
            let prev = out.last().map(|(_, r): &(u64, Record)| r.hash);
            if record.header.seq != i as u64 || record.header.prev != prev {
                return Err(StoreError::Corrupt(format!(
                    "event {} at sequence {} of stream {LEDGER_STREAM} is not the next link of \
                     its chain: the chain has a gap or a fork",
                    record.hash, m.seq
                )));
            }
            out.push((m.seq, record));
        }
        Ok(out)
    }

    /// The position of the event of `chain` at chain seq `seq`, if it is `hash`.
    async fn find_in_chain(
        &self,
        chain: &str,
        seq: u64,
        hash: &Hash,
    ) -> Result<Option<(u64, Record)>, StoreError> {
        let records = self.chain_records(chain).await?;
        let Some((stream_seq, record)) = usize::try_from(seq)
            .ok()
            .and_then(|i| records.into_iter().nth(i))
        else {
            return Ok(None);
        };
        if record.hash != *hash {
            return Ok(None);
        }
        Ok(Some((stream_position(stream_seq)?, record)))
    }

    /// Where an event is, from the index (records without payload).
    async fn locate(&self, hash: &Hash) -> Result<Option<(u64, Record)>, StoreError> {
        let key = hash.to_hex();
        let Some(data) =
            self.index.get(key.as_str()).await.map_err(|e| {
                store_error(&format!("cannot read the index entry of event {key}"), e)
            })?
        else {
            return Ok(None);
        };
        let entry: IndexEntry = serde_json::from_slice(&data).map_err(|e| {
            StoreError::Corrupt(format!(
                "index entry of event {key} in bucket {INDEX_BUCKET} is not valid: {e}"
            ))
        })?;
        if let Some(position) = entry.position {
            let record = self.record_at(position + 1).await?.ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "index says event {key} is at position {position}, but stream \
                     {LEDGER_STREAM} has no message there"
                ))
            })?;
            if record.hash != *hash {
                return Err(StoreError::Corrupt(format!(
                    "index says event {key} is at position {position}, but event {} is there",
                    record.hash
                )));
            }
            return Ok(Some((position, record)));
        }
        // Written before a publish that did not complete (or whose completion was lost).
        if !is_valid_chain_id(&entry.chain) {
            return Err(StoreError::Corrupt(format!(
                "index entry of event {key} names an invalid chain"
            )));
        }
        let found = self.find_in_chain(&entry.chain, entry.seq, hash).await?;
        if let Some((position, _)) = &found {
            self.complete_index(&key, &entry.chain, entry.seq, *position)
                .await;
        }
        Ok(found)
    }

    /// If `record` is already stored, its position. `head` is the chain's real head.
    async fn find_stored(
        &self,
        record: &Record,
        head: Option<HeadMessage>,
    ) -> Result<Option<u64>, StoreError> {
        let Some(head) = head else {
            return Ok(None);
        };
        if record.header.seq > head.seq {
            return Ok(None);
        }
        if head.hash == record.hash {
            return Ok(Some(stream_position(head.stream_seq)?));
        }
        Ok(self
            .locate(&record.hash)
            .await?
            .map(|(position, _)| position))
    }

    /// Writes `value` under `key` unless the key was ever written (even if since removed).
    /// Returns whether this call wrote it.
    async fn write_once(
        bucket: &kv::Store,
        bucket_name: &str,
        key: &str,
        value: Vec<u8>,
    ) -> Result<bool, StoreError> {
        match bucket.update(key, value.into(), 0).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Ok(false),
            Err(e) => Err(store_error(
                &format!("cannot write {key} to bucket {bucket_name}"),
                e,
            )),
        }
    }

    /// Completes an index entry with the position (best effort: `locate` repairs it).
    async fn complete_index(&self, key: &str, chain: &str, seq: u64, position: u64) {
        complete_index_entry(&self.index, key, chain, seq, position).await;
    }

    /// Removes what a conflicting append wrote (best effort).
    async fn undo_writes(&self, key: &str, index_written: bool, payload_written: bool) {
        if payload_written {
            if let Err(e) = self.payloads.purge(key).await {
                warn!(event = key, error = %e, "could not remove the payload of a conflicting record");
            }
        }
        if index_written {
            if let Err(e) = self.index.purge(key).await {
                warn!(event = key, error = %e, "could not remove the index entry of a conflicting record");
            }
        }
    }

    /// Indexes every record of the ledger (after the index bucket was created).
    async fn rebuild_index(&self) -> Result<(), StoreError> {
        let last = self.last_seq().await?;
        if last == 0 {
            return Ok(());
        }
        info!(
            records = last,
            "rebuilding the hash index from the ledger stream"
        );
        let mut first = 1;
        while first <= last {
            let end = last.min(first + 1023);
            let raw = read_range(
                &self.ledger,
                Range {
                    stream_name: LEDGER_STREAM,
                    filter: None,
                    first,
                    last: end,
                    max: usize::try_from(end - first + 1).unwrap_or(usize::MAX),
                },
            )
            .await?;
            if raw.is_empty() {
                return Err(StoreError::Unavailable(
                    "the index rebuild read nothing; retry".to_string(),
                ));
            }
            for m in raw {
                let record = parse_ledger_message(m.seq, &m.subject, &m.payload)?;
                let entry = IndexEntry {
                    chain: record.header.chain.clone(),
                    seq: record.header.seq,
                    position: Some(stream_position(m.seq)?),
                };
                let key = record.hash.to_hex();
                let value = serde_json::to_vec(&entry).map_err(|e| {
                    StoreError::Backend(format!("cannot encode an index entry: {e}"))
                })?;
                self.index
                    .put(key.as_str(), value.into())
                    .await
                    .map_err(|e| {
                        store_error(&format!("cannot write the index entry of event {key}"), e)
                    })?;
                first = m.seq + 1;
            }
        }
        Ok(())
    }

    async fn append(&self, record: &Record) -> Result<AppendOutcome, StoreError> {
        let chain = record.header.chain.as_str();
        if !is_valid_chain_id(chain) {
            return Err(StoreError::Backend(format!(
                "event {} names an invalid chain id; only validated records can be appended",
                record.hash
            )));
        }
        let slot = self.chain_slot(chain);
        // Held until the end: appends to one chain are serialised in this process.
        let mut cached = slot.lock().await;

        let mut fresh = false;
        let mut head = match *cached {
            CachedHead::Known(head) => head,
            CachedHead::Unknown => {
                fresh = true;
                self.fetch_head(chain).await?
            }
        };
        if !extends(record, head) && !fresh {
            head = self.fetch_head(chain).await?;
        }
        *cached = CachedHead::Known(head);
        if !extends(record, head) {
            if let Some(position) = self.find_stored(record, head).await? {
                debug!(event = %record.hash, position, "append of a stored record: duplicate");
                return Ok(AppendOutcome::Duplicate { position });
            }
            return Err(StoreError::Conflict {
                chain: chain.to_string(),
                head: head.map(HeadMessage::chain_head),
            });
        }

        let key = record.hash.to_hex();
        let intent = IndexEntry {
            chain: chain.to_string(),
            seq: record.header.seq,
            position: None,
        };
        let intent = serde_json::to_vec(&intent)
            .map_err(|e| StoreError::Backend(format!("cannot encode an index entry: {e}")))?;
        // The index intent and the payload are independent: write them concurrently (one round
        // trip instead of two), both before the publish.
        let write_payload = async {
            match &record.payload {
                Some(payload) => {
                    Self::write_once(
                        &self.payloads,
                        PAYLOAD_BUCKET,
                        &key,
                        payload.canonical_bytes(),
                    )
                    .await
                }
                None => Ok(false),
            }
        };
        let (index_written, payload_written) = futures::try_join!(
            Self::write_once(&self.index, INDEX_BUCKET, &key, intent),
            write_payload
        )?;

        let expected = head.map_or(0, |h| h.stream_seq);
        let message = Publish::build()
            .payload(record.without_payload().to_json_line().into())
            .message_id(&key)
            .expected_last_subject_sequence(expected)
            .expected_stream(LEDGER_STREAM);
        let subject = chain_subject(chain);
        let acked = match self.js.send_publish(subject, message).await {
            Ok(ack) => ack.await,
            Err(e) => Err(e),
        };
        match acked {
            Ok(ack) if ack.duplicate => {
                let position = stream_position(ack.sequence)?;
                // The chain may have moved on since that copy was stored.
                *cached = CachedHead::Unknown;
                self.complete_index(&key, chain, record.header.seq, position)
                    .await;
                debug!(event = %record.hash, position, "publish within the duplicate window: duplicate");
                Ok(AppendOutcome::Duplicate { position })
            }
            Ok(ack) => {
                let position = stream_position(ack.sequence)?;
                *cached = CachedHead::Known(Some(HeadMessage {
                    seq: record.header.seq,
                    hash: record.hash,
                    stream_seq: ack.sequence,
                }));
                // The record is durable with its ack; writing its position into the index is
                // bookkeeping off the caller's path (an entry read before it lands is repaired
                // from the chain, as after a crash between publish and completion).
                let index = self.index.clone();
                let (chain, seq) = (chain.to_string(), record.header.seq);
                let key = key.clone();
                tokio::spawn(async move {
                    complete_index_entry(&index, &key, &chain, seq, position).await;
                });
                debug!(event = %record.hash, position, "appended");
                Ok(AppendOutcome::Appended { position })
            }
            Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {
                *cached = CachedHead::Unknown;
                let real = self.fetch_head(chain).await?;
                *cached = CachedHead::Known(real);
                if let Some(position) = self.find_stored(record, real).await? {
                    debug!(event = %record.hash, position, "expected sequence moved to this very record: duplicate");
                    return Ok(AppendOutcome::Duplicate { position });
                }
                // The chain moved past our head, so the record's place is taken for good
                // and what was written for it can go.
                if real.is_some_and(|h| h.seq >= record.header.seq) {
                    self.undo_writes(&key, index_written, payload_written).await;
                }
                debug!(event = %record.hash, "chain moved: conflict");
                Err(StoreError::Conflict {
                    chain: chain.to_string(),
                    head: real.map(HeadMessage::chain_head),
                })
            }
            Err(e) => {
                // In doubt: the record may have been stored.
                *cached = CachedHead::Unknown;
                let err = store_error(&format!("cannot append event {key}"), e);
                warn!(event = %record.hash, error = %err, "append failed");
                Err(err)
            }
        }
    }
}

#[async_trait]
impl LedgerStore for JetStreamStore {
    async fn append(&self, record: &Record) -> Result<AppendOutcome, StoreError> {
        self.inner.append(record).await
    }

    async fn chain(&self, chain: &str) -> Result<Vec<StoredEvent>, StoreError> {
        let records = self.inner.chain_records(chain).await?;
        let raw = records
            .into_iter()
            .map(|(seq, record)| Ok((stream_position(seq)?, record)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        futures::stream::iter(raw)
            .map(|(position, record)| async move {
                Ok(StoredEvent {
                    position,
                    record: self.inner.with_payload(record).await?,
                })
            })
            .buffered(PAYLOAD_FETCHES)
            .try_collect()
            .await
    }

    async fn read_from(&self, position: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.read_events(position, limit).await
    }

    async fn subscribe(&self, position: u64) -> Result<EventStream, StoreError> {
        let wake = self
            .inner
            .client
            .subscribe(LEDGER_SUBJECTS)
            .await
            .map_err(|e| store_error("cannot subscribe to the ledger subjects", e))?;
        // Fail now, not in the stream, when the server is unreachable.
        self.inner.last_seq().await?;
        Ok(subscribe::follow(Arc::clone(&self.inner), position, wake))
    }

    async fn head(&self, chain: &str) -> Result<Option<ChainHead>, StoreError> {
        if !is_valid_chain_id(chain) {
            return Ok(None);
        }
        Ok(self
            .inner
            .fetch_head(chain)
            .await?
            .map(HeadMessage::chain_head))
    }

    async fn size(&self) -> Result<u64, StoreError> {
        self.inner.last_seq().await
    }

    async fn event(&self, hash: &Hash) -> Result<Option<StoredEvent>, StoreError> {
        let Some((position, record)) = self.inner.locate(hash).await? else {
            return Ok(None);
        };
        Ok(Some(StoredEvent {
            position,
            record: self.inner.with_payload(record).await?,
        }))
    }

    async fn remove_payload(&self, hash: &Hash) -> Result<(), StoreError> {
        let key = hash.to_hex();
        // A purge leaves a marker, so a retried append cannot write the payload again.
        self.inner
            .payloads
            .purge(key.as_str())
            .await
            .map_err(|e| store_error(&format!("cannot remove the payload of event {key}"), e))?;
        info!(event = %key, "payload removed");
        Ok(())
    }

    async fn meta(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let data = self
            .inner
            .meta
            .get(key)
            .await
            .map_err(|e| store_error("cannot read a metadata document", e))?;
        data.map(|d| {
            serde_json::from_slice(&d).map_err(|e| {
                StoreError::Corrupt(format!(
                    "metadata document in bucket {META_BUCKET} is not JSON: {e}"
                ))
            })
        })
        .transpose()
    }

    async fn set_meta(&self, key: &str, value: &serde_json::Value) -> Result<(), StoreError> {
        let data = serde_json::to_vec(value)
            .map_err(|e| StoreError::Backend(format!("cannot encode a metadata document: {e}")))?;
        self.inner
            .meta
            .put(key, data.into())
            .await
            .map_err(|e| store_error("cannot write a metadata document", e))?;
        Ok(())
    }

    async fn log_access(&self, entry: &AccessEntry) -> Result<(), StoreError> {
        let data = serde_json::to_vec(entry)
            .map_err(|e| StoreError::Backend(format!("cannot encode an access entry: {e}")))?;
        let message = Publish::build()
            .payload(data.into())
            .expected_stream(ACCESS_STREAM);
        let acked = match self.inner.js.send_publish(ACCESS_SUBJECT, message).await {
            Ok(ack) => ack.await,
            Err(e) => Err(e),
        };
        acked.map_err(|e| store_error("cannot append to the access log", e))?;
        Ok(())
    }

    async fn access_log(&self, from: u64, limit: usize) -> Result<Vec<AccessEntry>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let info = self
            .inner
            .access
            .get_info()
            .await
            .map_err(|e| store_error(&format!("cannot read stream {ACCESS_STREAM}"), e))?;
        let last = info.state.last_sequence;
        if from >= last {
            return Ok(Vec::new());
        }
        let first = from + 1;
        let end = last.min(from.saturating_add(u64::try_from(limit).unwrap_or(u64::MAX)));
        let raw = read_range(
            &self.inner.access,
            Range {
                stream_name: ACCESS_STREAM,
                filter: None,
                first,
                last: end,
                max: limit,
            },
        )
        .await?;
        if raw.len() as u64 != end - first + 1 {
            return Err(StoreError::Unavailable(format!(
                "read {} of the {} access entries from {from}; retry",
                raw.len(),
                end - first + 1
            )));
        }
        raw.into_iter()
            .map(|m| {
                serde_json::from_slice(&m.payload).map_err(|e| {
                    StoreError::Corrupt(format!(
                        "message {} of stream {ACCESS_STREAM} is not an access entry: {e}",
                        m.seq
                    ))
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_delay_is_short_then_capped() {
        assert_eq!(reconnect_delay(1), Duration::from_millis(100));
        assert!(reconnect_delay(2) > reconnect_delay(1));
        assert_eq!(reconnect_delay(100), Duration::from_secs(2));
    }

    #[test]
    fn index_entries_omit_an_unknown_position() {
        let e = IndexEntry {
            chain: "authority".to_string(),
            seq: 3,
            position: None,
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"chain":"authority","seq":3}"#
        );
        let back: IndexEntry =
            serde_json::from_str(r#"{"chain":"authority","seq":3,"position":9}"#).unwrap();
        assert_eq!(back.position, Some(9));
    }
}
