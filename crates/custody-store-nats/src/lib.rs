//! The NATS JetStream backend of custody-ledger: [`JetStreamStore`] implements
//! [`LedgerStore`] on a JetStream server: nats-server 2.10 or newer (tested against Debian 13's
//! 2.10.27, run with `jetstream { sync_interval: always }`); an older server is refused on
//! connect.
//!
//! # Layout
//!
//! | what | where | key / subject |
//! |---|---|---|
//! | records, without payload | stream [`LEDGER_STREAM`] (`CUSTODY`) | `custody.chain.<chain id>` |
//! | payloads, and where their events are | bucket [`PAYLOAD_BUCKET`], history 1 | event hash (hex) |
//! | metadata | bucket [`META_BUCKET`] | metadata key |
//! | access log | stream [`ACCESS_STREAM`] | `custody.access` |
//! | fork alarms | stream [`FORK_STREAM`] (`CUSTODY_FORKS`) | `custody.fork.<hex hash of the other version>` |
//! | checkpoint history | stream [`CHECKPOINT_STREAM`] (`CUSTODY_CHECKPOINTS`) | `custody.checkpoint` |
//!
//! The ledger position of a record is its stream sequence minus one. Positions are dense
//! because the stream never loses a message: `deny_delete`, `deny_purge`, no rollup, discard
//! `New` and no age, count or size limit. [`JetStreamStore::connect`] creates the streams and
//! buckets, and refuses to run on an existing stream whose configuration lost one of these
//! guarantees. Every store is file-backed.
//!
//! The checkpoint history stream is append-only like the others. Each message is one stored
//! version of a checkpoint, JSON `{"size": N, "note": "..."}`; a new version of the latest size
//! (the same checkpoint with more cosignatures, [`custody_store::merge_checkpoint_note`]) is a
//! new message, and the last message of a size is its entry. Sizes never decrease along the
//! stream: [`LedgerStore::add_checkpoint`] reads the last message and publishes with
//! `Nats-Expected-Last-Subject-Sequence` set to its sequence, so the size check and the write
//! are one step (a concurrent writer makes it read and check again). `latest_checkpoint` is the
//! last message; `checkpoints(from, ..)` finds its first message by binary search over stream
//! sequences (sizes are sorted), O(log n) gets, then reads forward.
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
//! Beside the publish, and in parallel with it on a second connection (nats-server reads each
//! connection in its own goroutine), the store writes the event's entry in [`PAYLOAD_BUCKET`]:
//! its chain, chain seq and payload in one value (format in the `entry` module), only if the key
//! was never written. A retried append completes an entry that is missing, was deleted, or lacks
//! its payload, by compare-and-set on the revision it read, so it never restores a payload
//! removed by a lawful redaction (the redacted entry is kept as it is). An append is acknowledged only when both writes are: if the entry cannot be
//! written after a few tries, the append is in doubt ([`StoreError::Unavailable`]) and the
//! record's next append, a duplicate, writes it. When an append ends in a conflict, the entry
//! it wrote is removed again: that record can never be appended, since its place is taken.
//!
//! Two writes per append is the floor of this layout: the immutable log must not hold the
//! payload, and every payload must be removable on its own.
//!
//! # Finding an event by hash
//!
//! The entry names the event's chain and chain seq; the chain's subject, which is short, is
//! read to find its position. A reader that meets a record whose entry is not there yet (the
//! two writes race) waits for it up to the request time-out; past that (the writer stopped
//! between its two writes and the record was never sent again) the record reads without
//! payload as [`PayloadState::Missing`] (never as redacted: only the entry a redaction writes
//! is [`PayloadState::Redacted`]), as does a record whose entry was deleted from the bucket,
//! until it is appended again with its payload. Such an event is found by hash once this
//! process has read its header (a gateway reads every header when it opens the ledger).
//!
//! # Checking the index
//!
//! The subject of a message names its chain and its stream sequence is its position; neither
//! is inside the signed header, and anyone allowed to publish on `custody.chain.*` can put a
//! message where it does not belong. So every read checks: a message on a subject that is not
//! its header's chain is [`StoreError::Corrupt`]; a chain read must find seqs 0, 1, 2...
//! linked; a head must be seq `n - 1` of a subject holding `n` messages; a payload entry must
//! place its event where its header does, and its payload must decode to the one its header
//! commits to ([`custody_store::decode_payload`], the same strict decoding as the SQLite
//! backend's): otherwise every read that returns the event is [`StoreError::Corrupt`] naming
//! it.
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
//! # What an acknowledgement means, and what remains
//!
//! - **Acknowledged is on disk.** With `sync_interval: always` (`deploy/nats/custody.conf`,
//!   the test kit) the server fsyncs each write before it acknowledges it; on R3 a majority
//!   holds it. A disk that lies about fsync still loses data on power loss.
//! - **Expected-sequence check on replicated streams.** Since 2.9.21 the
//!   `Nats-Expected-Last-Subject-Sequence` check is part of the replicated write (nats-server
//!   issue #4320). The store also serialises appends per chain inside the process, but the
//!   server's check is the guarantee: `tests/cluster.rs` races two stores on two nodes of an
//!   R3 cluster and never sees a fork (docs/OPERATIONS.md "A 3-node cluster").
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod entry;
mod errors;
mod read;
mod reader;
mod setup;
mod subscribe;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::context::{Publish, PublishErrorKind};
use async_nats::jetstream::kv::{self, UpdateErrorKind};
use async_nats::jetstream::stream::{LastRawMessageErrorKind, Stream};
use async_trait::async_trait;
use custody_core::chain::{ChainConflict, ChainHead};
use custody_core::ids::is_valid_chain_id;
use custody_core::{Hash, Payload, Record};
use custody_store::{
    check_checkpoint_note, checkpoint_note_problem, decode_payload, encode_payload,
    merge_checkpoint_note, payload_matches, AccessEntry, AppendOutcome, EventStream, ForkAlarm,
    LedgerStore, PayloadState, StoreError, StoredCheckpoint, StoredEvent,
};
use futures::{StreamExt, TryStreamExt};
use tokio::sync::Mutex as AsyncMutex;
use tracing::{debug, info, warn};

use crate::entry::EventEntry;
use crate::errors::store_error;
use crate::read::{read_log, read_range, Range, RawMessage};
pub use crate::reader::JetStreamReader;
pub use crate::setup::{
    ACCESS_STREAM, ACCESS_SUBJECT, CHAIN_SUBJECT_PREFIX, CHECKPOINT_STREAM, CHECKPOINT_SUBJECT,
    DUPLICATE_WINDOW, FORK_STREAM, FORK_SUBJECTS, FORK_SUBJECT_PREFIX, LEDGER_STREAM,
    LEDGER_SUBJECTS, META_BUCKET, PAYLOAD_BUCKET,
};

/// How many times a checkpoint write reads the history again after another writer moved it.
const CHECKPOINT_TRIES: u32 = 5;

/// Payloads fetched concurrently when a read returns many records.
const PAYLOAD_FETCHES: usize = 8;

/// Most publishes one batch append keeps in flight together ([`LedgerStore::append_batch`]).
const PIPELINE: usize = 256;

/// How often a read looks again for a payload entry still being written.
const PENDING_POLL: Duration = Duration::from_millis(10);

/// How many times a head read compares the chain's last message with the count of its
/// subject's messages while appends move the chain, before it gives up (and says retry).
const HEAD_CHECKS: u32 = 3;

/// How many more times an append tries to write a payload entry that failed, before it
/// reports the append in doubt.
const ENTRY_RETRIES: u32 = 3;

/// How to connect.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Longest wait for one answer of the server (connect, request, publish acknowledgement);
    /// past it the operation fails with [`StoreError::Unavailable`]. Default 5 s.
    pub request_timeout: Duration,
    /// Replicas of streams and buckets created by [`JetStreamStore::connect_with`] (existing
    /// ones are kept as they are). Default 1; see the crate documentation before using 3.
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

/// What the store shares between clones and subscriptions.
pub(crate) struct Inner {
    client: async_nats::Client,
    /// JetStream context with the configured time-out.
    js: async_nats::jetstream::Context,
    ledger: Stream,
    access: Stream,
    forks: Stream,
    checkpoints: Stream,
    /// Payload entries ([`entry`]), on a second connection to the server, so that the server
    /// handles an append's two writes in parallel.
    payloads: kv::Store,
    meta: kv::Store,
    /// How long a read waits for the payload entry of a record whose append is still writing
    /// it (the request time-out).
    pending_wait: Duration,
    /// Per chain: the lock that serialises its appends in this process, guarding the cached
    /// head.
    heads: StdMutex<HashMap<String, Arc<AsyncMutex<CachedHead>>>>,
    /// Events this process read whose entry was missing after the wait (their writer stopped
    /// between its two writes, or the entry was deleted), with their chain and chain seq: a
    /// later read does not wait for them again, and [`Inner::locate`] finds them by hash
    /// although no entry names their place.
    lost: StdMutex<HashMap<Hash, (String, u64)>>,
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

/// What [`PAYLOAD_BUCKET`] holds for an event.
enum EntryState {
    /// Nothing was ever written: the event is not in the ledger, or its append is writing the
    /// entry right now, or stopped before it did.
    NeverWritten,
    /// Written, then removed (a delete or purge marker at `revision`): what an append that
    /// lost its place in the chain wrote, or, for an event in the ledger, damage.
    Removed {
        /// Revision of the marker.
        revision: u64,
    },
    /// The entry, at `revision`.
    Present {
        /// The decoded entry.
        entry: EventEntry,
        /// Its revision.
        revision: u64,
    },
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

/// Decodes the payload bytes of an entry ([`decode_payload`]); what is wrong is
/// [`StoreError::Corrupt`] naming the event and the bucket.
fn parse_payload(record: &Record, data: &[u8]) -> Result<Payload, StoreError> {
    decode_payload(&record.header, data).map_err(|e| {
        StoreError::Corrupt(format!(
            "payload of event {} in bucket {PAYLOAD_BUCKET} {e}",
            record.hash
        ))
    })
}

/// The payload bytes an entry keeps for `record` ([`encode_payload`]), if it has a payload.
fn payload_bytes(record: &Record) -> Option<Vec<u8>> {
    record
        .payload
        .as_ref()
        .map(|p| encode_payload(p).into_bytes())
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
        let client = connect_client(url, timeout, "custody-store-nats").await?;
        setup::check_server(&client)?;
        let mut js = async_nats::jetstream::new(client.clone());
        js.set_timeout(timeout);
        // Payload entries go over a connection of their own: nats-server reads each
        // connection in its own goroutine, so an append's two writes are handled in parallel.
        let payload_client = connect_client(url, timeout, "custody-store-nats-payloads").await?;
        let mut payload_js = async_nats::jetstream::new(payload_client);
        payload_js.set_timeout(timeout);

        let replicas = options.replicas;
        let (ledger, _) = setup::ensure_stream(
            &js,
            setup::ledger_stream_config(replicas),
            Some(DUPLICATE_WINDOW),
        )
        .await?;
        let (access, _) =
            setup::ensure_stream(&js, setup::access_stream_config(replicas), None).await?;
        let (forks, _) = setup::ensure_stream(
            &js,
            setup::fork_stream_config(replicas),
            Some(DUPLICATE_WINDOW),
        )
        .await?;
        let (checkpoints, _) =
            setup::ensure_stream(&js, setup::checkpoint_stream_config(replicas), None).await?;
        let (payloads, _) = setup::ensure_bucket(
            &payload_js,
            PAYLOAD_BUCKET,
            "custody-ledger payloads and where their events are",
            replicas,
        )
        .await?;
        let (meta, _) =
            setup::ensure_bucket(&js, META_BUCKET, "custody-ledger metadata", replicas).await?;

        let store = JetStreamStore {
            inner: Arc::new(Inner {
                client,
                js,
                ledger,
                access,
                forks,
                checkpoints,
                payloads,
                meta,
                pending_wait: timeout,
                heads: StdMutex::new(HashMap::new()),
                lost: StdMutex::new(HashMap::new()),
            }),
        };
        Ok(store)
    }
}

/// A client connection with the store's time-outs and reconnection policy.
async fn connect_client(
    url: &str,
    timeout: Duration,
    name: &str,
) -> Result<async_nats::Client, StoreError> {
    // async-nats 0.38 does not send the user information of the URL: it is taken out here
    // and given as user and password. A comma-separated list names several servers of one
    // cluster (`nats://n1:4222,nats://n2:4222,nats://n3:4222`); credentials come from the
    // first URL that has them.
    let mut servers = Vec::new();
    let mut credentials = None;
    for one in url.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        let (one, userinfo) = split_credentials(one);
        credentials = credentials.or(userinfo);
        let server: async_nats::ServerAddr = one.parse().map_err(|e| {
            // The URL is left out: it may carry credentials.
            StoreError::Backend(format!("a NATS server URL of the store is invalid: {e}"))
        })?;
        servers.push(server);
    }
    let mut options = async_nats::ConnectOptions::new();
    if let Some((user, password)) = credentials {
        // Replies come to this user's own inbox prefix, so that permissions can keep one user
        // from subscribing to another's replies (deploy/policy/nats-permissions.conf).
        options = options.custom_inbox_prefix(inbox_prefix(&user));
        options = options.user_and_password(user, password);
    }
    if let Some(ca) = std::env::var_os(CA_FILE_ENV).filter(|ca| !ca.is_empty()) {
        // A private CA (deploy/nats: TLS on every listener): trusted in place of the system's.
        options = options.add_root_certificates(PathBuf::from(ca));
    }
    options
        .name(name)
        .connection_timeout(timeout)
        .request_timeout(Some(timeout))
        .ping_interval(Duration::from_secs(10))
        .reconnect_delay_callback(reconnect_delay)
        .connect(servers)
        .await
        // The URL is left out: it may carry credentials.
        .map_err(|e| store_error("cannot connect to the NATS server", e))
}

/// The environment variable naming a PEM file of the CA that signed the NATS server's
/// certificate (`tls://` URLs, or a server that requires TLS); when unset, the system's roots.
pub const CA_FILE_ENV: &str = "CUSTODY_NATS_CA";

/// The key in the metadata bucket of the metadata document `key`: NATS KV keys allow only
/// `A-Z a-z 0-9 - _ / = .` (and no `.` at either end, no empty token), while metadata keys
/// hold anything (`sync/http://hub:8080`). Every other byte of the key's UTF-8, `=` itself,
/// and a `.` at an end or after another `.` are written `=HH` (upper-case hex), so that two
/// keys never meet; the keys used so far are all left as they were.
pub fn meta_kv_key(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = String::with_capacity(key.len());
    for (i, &b) in bytes.iter().enumerate() {
        let plain = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/');
        let dot_inside = b == b'.' && i > 0 && i + 1 < bytes.len() && bytes[i - 1] != b'.';
        if plain || dot_inside {
            out.push(b as char);
        } else {
            out.push_str(&format!("={b:02X}"));
        }
    }
    if out.is_empty() {
        out.push('=');
    }
    out
}

/// The inbox prefix of a NATS user's replies: `_INBOX_<user>` (the user name's characters
/// that a subject token cannot hold replaced by `_`).
pub fn inbox_prefix(user: &str) -> String {
    let token: String = user
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("_INBOX_{token}")
}

/// Splits `scheme://user:password@host:port` into the URL without user information and the
/// user and password (an empty password when there is none); `%XX` escapes are decoded.
fn split_credentials(url: &str) -> (String, Option<(String, String)>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), None);
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return (url.to_string(), None);
    };
    let (userinfo, host) = (&rest[..at], &rest[at + 1..]);
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    (
        format!("{scheme}://{host}"),
        Some((percent_decode(user), percent_decode(password))),
    )
}

/// Decodes `%XX` escapes (a malformed one is kept as it is).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
        {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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

    /// How many messages the ledger stream holds on `subject`.
    async fn subject_count(&self, subject: &str) -> Result<u64, StoreError> {
        let what = "cannot count the records of a chain";
        let mut info = self
            .ledger
            .info_with_subjects(subject)
            .await
            .map_err(|e| store_error(what, e))?;
        let mut count = 0;
        while let Some((s, n)) = info.try_next().await.map_err(|e| store_error(what, e))? {
            if s == subject {
                count = u64::try_from(n).unwrap_or(u64::MAX);
            }
        }
        Ok(count)
    }

    /// The chain's head, checked against its index: the subject names the chain (checked when
    /// the message is parsed), and the last message of a subject holding `n` messages must be
    /// seq `n - 1`. A message published behind the store's back (seq 99 on a chain of three,
    /// or a second seq 1) is reported as [`StoreError::Corrupt`] instead of served as the head.
    async fn checked_head(&self, chain: &str) -> Result<Option<HeadMessage>, StoreError> {
        let subject = chain_subject(chain);
        let mut head = self.fetch_head(chain).await?;
        for _ in 0..HEAD_CHECKS {
            let Some(h) = head else {
                return Ok(None);
            };
            // Counted after the head was read: appends only add messages, so fewer than
            // `seq + 1` is damage, and more is an append since, unless the head did not move.
            let count = self.subject_count(&subject).await?;
            let expected = h.seq.saturating_add(1);
            if count == expected {
                return Ok(Some(h));
            }
            let again = self.fetch_head(chain).await?;
            if count < expected || again.map(|a| a.stream_seq) == Some(h.stream_seq) {
                return Err(StoreError::Corrupt(format!(
                    "message {} of stream {LEDGER_STREAM} (event {}), the last of chain {chain}, \
                     is seq {} but the chain's subject holds {count} messages: its seq does not \
                     match its place in the chain",
                    h.stream_seq, h.hash, h.seq
                )));
            }
            head = again;
        }
        Err(StoreError::Unavailable(format!(
            "the head of chain {chain} moved while it was read; retry"
        )))
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

    /// The entry of an event in [`PAYLOAD_BUCKET`].
    async fn entry(&self, key: &str) -> Result<EntryState, StoreError> {
        let found = self.payloads.entry(key).await.map_err(|e| {
            store_error(&format!("cannot read the payload entry of event {key}"), e)
        })?;
        let Some(found) = found else {
            return Ok(EntryState::NeverWritten);
        };
        let revision = found.revision;
        if found.operation != kv::Operation::Put {
            return Ok(EntryState::Removed { revision });
        }
        EventEntry::decode(&found.value)
            .map(|entry| EntryState::Present { entry, revision })
            .map_err(|problem| {
                StoreError::Corrupt(format!(
                    "entry of event {key} in bucket {PAYLOAD_BUCKET} {problem}"
                ))
            })
    }

    /// Remembers an event read without an entry (see [`Inner::lost`]).
    fn mark_lost(&self, record: &Record) {
        self.lost
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                record.hash,
                (record.header.chain.clone(), record.header.seq),
            );
    }

    /// Whether this process already read `hash` without an entry after waiting for it.
    fn known_lost(&self, hash: &Hash) -> Option<(String, u64)> {
        self.lost
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(hash)
            .cloned()
    }

    /// The record with its payload attached when the bucket holds it, and the payload's state.
    ///
    /// An append writes the payload entry and the ledger message in parallel, so a reader can
    /// see a record whose entry is still on its way: the read waits for it until `deadline`.
    /// Past it (the writer stopped between its two writes and the record was not sent again
    /// since), and at once for an entry that was deleted or never held a payload, the record
    /// is returned without payload as [`PayloadState::Missing`]: only an entry written by
    /// [`LedgerStore::remove_payload`] is [`PayloadState::Redacted`]. The next append of the
    /// same record with its payload completes the entry.
    async fn with_payload(
        &self,
        mut record: Record,
        deadline: Instant,
    ) -> Result<(Record, PayloadState), StoreError> {
        let key = record.hash.to_hex();
        // Read once without an entry already: its writer is gone, do not wait again.
        let wait = self.known_lost(&record.hash).is_none();
        let entry = loop {
            match self.entry(&key).await? {
                EntryState::Present { entry, .. } => break Some(entry),
                EntryState::Removed { .. } => {
                    if wait {
                        warn!(event = %record.hash, "payload entry of a stored record was deleted: payload missing");
                    }
                    self.mark_lost(&record);
                    break None;
                }
                EntryState::NeverWritten if wait && Instant::now() < deadline => {
                    tokio::time::sleep(PENDING_POLL).await;
                }
                EntryState::NeverWritten => {
                    if wait {
                        warn!(event = %record.hash, "record without payload entry: its append stopped before writing it; payload missing");
                    }
                    self.mark_lost(&record);
                    break None;
                }
            }
        };
        record.payload = None;
        let Some(entry) = entry else {
            return Ok((record, PayloadState::Missing));
        };
        let location = &entry.location;
        if location
            .chain
            .as_deref()
            .is_some_and(|c| c != record.header.chain)
            || location.seq.is_some_and(|s| s != record.header.seq)
        {
            return Err(StoreError::Corrupt(format!(
                "entry of event {key} in bucket {PAYLOAD_BUCKET} places it elsewhere than its header"
            )));
        }
        let state = match &entry.payload {
            Some(bytes) => {
                record.payload = Some(parse_payload(&record, bytes)?);
                PayloadState::Present
            }
            None if entry.location.redacted => PayloadState::Redacted,
            // Appended without its payload, and not sent again with it since.
            None => PayloadState::Missing,
        };
        Ok((record, state))
    }

    /// When a read that starts now stops waiting for payload entries in flight.
    fn read_deadline(&self) -> Instant {
        Instant::now() + self.pending_wait
    }

    /// Turns ledger messages into stored events with their payloads.
    async fn to_events(&self, raw: Vec<RawMessage>) -> Result<Vec<StoredEvent>, StoreError> {
        let mut parsed = Vec::with_capacity(raw.len());
        for m in raw {
            let record = parse_ledger_message(m.seq, &m.subject, &m.payload)?;
            parsed.push((stream_position(m.seq)?, record));
        }
        let deadline = self.read_deadline();
        futures::stream::iter(parsed)
            .map(|(position, record)| async move {
                let (record, payload) = self.with_payload(record, deadline).await?;
                Ok(StoredEvent {
                    position,
                    record,
                    payload,
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

    /// Where an event is: its payload entry names its chain and chain seq, and the chain is
    /// read to find it (records without payload). An event without an entry that names its
    /// place is found when this process has read its header before ([`Inner::lost`]; a
    /// gateway reads every header when it opens the ledger).
    async fn locate(&self, hash: &Hash) -> Result<Option<(u64, Record)>, StoreError> {
        let key = hash.to_hex();
        let place = match self.entry(&key).await? {
            EntryState::Present { entry, .. } => entry.location.chain.zip(entry.location.seq),
            // Never written (not in the ledger, or its append stopped before writing the
            // entry), or removed (the append lost its place, or the entry was deleted).
            EntryState::NeverWritten | EntryState::Removed { .. } => None,
        };
        let Some((chain, seq)) = place.or_else(|| self.known_lost(hash)) else {
            return Ok(None);
        };
        if !is_valid_chain_id(&chain) {
            return Err(StoreError::Corrupt(format!(
                "entry of event {key} in bucket {PAYLOAD_BUCKET} names an invalid chain"
            )));
        }
        self.find_in_chain(&chain, seq, hash).await
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
            .find_in_chain(&record.header.chain, record.header.seq, &record.hash)
            .await?
            .map(|(position, _)| position))
    }

    /// Writes the payload entry of `record` unless its key was ever written (even if since
    /// removed or redacted). Returns whether this call wrote it.
    async fn write_entry(&self, record: &Record) -> Result<bool, StoreError> {
        let key = record.hash.to_hex();
        let entry = EventEntry::new(
            &record.header.chain,
            record.header.seq,
            payload_bytes(record),
        );
        match self.payloads.update(&key, entry.encode().into(), 0).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => Ok(false),
            Err(e) => Err(store_error(
                &format!("cannot write the payload entry of event {key}"),
                e,
            )),
        }
    }

    /// Completes the entry of a record that is in the ledger, once: writes it when it was
    /// never written or was deleted, and adds the payload to an entry that lacks it (the
    /// record was appended without it). An entry written by a redaction, or one that holds a
    /// payload already, is kept as it is; every write is a compare-and-set on the revision
    /// read, so a redaction that comes in between wins.
    async fn complete_entry(&self, record: &Record) -> Result<(), StoreError> {
        let key = record.hash.to_hex();
        let entry = EventEntry::new(
            &record.header.chain,
            record.header.seq,
            payload_bytes(record),
        );
        loop {
            let revision = match self.entry(&key).await? {
                EntryState::NeverWritten => 0,
                EntryState::Removed { revision } => revision,
                EntryState::Present {
                    entry: found,
                    revision,
                } => {
                    if found.location.redacted
                        || found.payload.is_some()
                        || record.payload.is_none()
                    {
                        return Ok(());
                    }
                    revision
                }
            };
            match self
                .payloads
                .update(&key, entry.encode().into(), revision)
                .await
            {
                Ok(_) => {
                    if record.payload.is_some() {
                        info!(event = %record.hash, "retry completed a missing payload");
                    }
                    return Ok(());
                }
                // Written meanwhile (by the append racing this one, or a redaction): look again.
                Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => continue,
                Err(e) => {
                    return Err(store_error(
                        &format!("cannot write the payload entry of event {key}"),
                        e,
                    ))
                }
            }
        }
    }

    /// Makes sure a record that is in the ledger has its payload entry: `first` is what the
    /// append's own write of it returned (`Ok(false)`: the key was written before, perhaps
    /// without the payload, or deleted since). The entry is completed
    /// ([`Inner::complete_entry`]), tried again a few times on failure; if it still fails the
    /// append is in doubt ([`StoreError::Unavailable`]) and sending the same record again
    /// completes it.
    async fn settle_entry(
        &self,
        record: &Record,
        first: Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let mut last = match first {
            Ok(true) => return Ok(()),
            Ok(false) => match self.complete_entry(record).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            },
            Err(e) => e,
        };
        for attempt in 1..=ENTRY_RETRIES {
            tokio::time::sleep(PENDING_POLL * attempt).await;
            match self.complete_entry(record).await {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
        }
        warn!(event = %record.hash, error = %last, "record stored without its payload entry");
        Err(StoreError::Unavailable(format!(
            "event {} is in the ledger but its payload could not be stored ({last}); send the \
             same record again",
            record.hash
        )))
    }

    /// Removes the entry a conflicting append wrote (best effort): that record can never be
    /// appended, since its place in the chain is taken.
    async fn undo_entry(&self, key: &str) {
        if let Err(e) = self.payloads.purge(key).await {
            warn!(event = key, error = %e, "could not remove the payload of a conflicting record");
        }
    }

    /// Refuses a record the store must not write: an invalid chain id, or a payload its
    /// header does not commit to.
    fn check_appendable(record: &Record) -> Result<(), StoreError> {
        if !is_valid_chain_id(&record.header.chain) {
            return Err(StoreError::Backend(format!(
                "event {} names an invalid chain id; only validated records can be appended",
                record.hash
            )));
        }
        if let Some(payload) = &record.payload {
            // The store writes a payload only where its header commits to it (the ledger
            // validated this; checked again since an entry is hard to take back). The header
            // hashes to the event hash, so it is the stored header of a retried record: the
            // rule for completing a missing payload is the one SQLite applies.
            if record.header.compute_hash() != record.hash
                || !payload_matches(&record.header, payload)
            {
                return Err(StoreError::Backend(format!(
                    "event {}: the payload does not match the payload_digest of its header, or \
                     the header does not hash to the event hash: not stored",
                    record.hash
                )));
            }
        }
        Ok(())
    }

    /// The first record of a batch alone, as [`LedgerStore::append_batch`] answers: its
    /// position when appended, nothing when it is stored already or its place is taken.
    async fn append_first(&self, records: &[Record]) -> Result<(Vec<u64>, usize), StoreError> {
        let Some(first) = records.first() else {
            return Ok((Vec::new(), 0));
        };
        match self.append(first).await {
            Ok(AppendOutcome::Appended { position }) => Ok((vec![position], 1)),
            Ok(AppendOutcome::Duplicate { .. }) | Err(StoreError::Conflict(_)) => {
                Ok((Vec::new(), 1))
            }
            Err(e) => Err(e),
        }
    }

    /// [`LedgerStore::append_batch`]: the records in waves ([`Inner::append_wave`]), each
    /// started once the one before it was stored whole.
    async fn append_batch(&self, records: &[Record]) -> Result<Vec<u64>, StoreError> {
        let mut positions = Vec::with_capacity(records.len());
        let mut rest = records;
        while !rest.is_empty() {
            let (wave, planned) = match self.append_wave(rest).await {
                Ok(done) => done,
                Err(e) if positions.is_empty() => return Err(e),
                Err(_) => break,
            };
            let whole = wave.len() == planned;
            rest = &rest[wave.len()..];
            positions.extend(wave);
            if !whole {
                break;
            }
        }
        Ok(positions)
    }

    /// Appends the first records of a batch with their publishes in flight together: one
    /// round trip for the wave instead of one per record (the server still writes, and with
    /// `sync_interval: always` fsyncs, each message). A wave holds at most one record per
    /// chain and at most [`PIPELINE`] records; each message carries, besides its chain's
    /// expected last sequence, the stream's (`Nats-Expected-Last-Sequence`: the stream's last
    /// sequence when the wave started, plus its index), so a message is stored only at the
    /// place the wave planned for it, and the chain check keeps every chain linear whatever
    /// happens. Another writer's message in between, a duplicate or a refusal ends the
    /// stored run: the messages after it fail, or (when another writer's message happens to
    /// fill the gap) are stored at their planned place. Returns the positions of the prefix
    /// stored and settled (its payload entries written), and how many records the wave tried;
    /// a record of the wave stored after that prefix is answered as a duplicate by the next
    /// `append` of it.
    async fn append_wave(&self, records: &[Record]) -> Result<(Vec<u64>, usize), StoreError> {
        let mut seen = std::collections::HashSet::new();
        let take = records
            .iter()
            .take(PIPELINE)
            .take_while(|r| {
                Self::check_appendable(r).is_ok() && seen.insert(r.header.chain.as_str())
            })
            .count();
        if take < 2 {
            return self.append_first(records).await;
        }
        let mut chains: Vec<&str> = records[..take]
            .iter()
            .map(|r| r.header.chain.as_str())
            .collect();
        chains.sort_unstable();
        let slots: Vec<_> = chains.iter().map(|c| self.chain_slot(c)).collect();
        // In name order, as every batch takes them; a single append holds one.
        let mut guards = HashMap::with_capacity(slots.len());
        for (chain, slot) in chains.iter().zip(&slots) {
            guards.insert(*chain, slot.lock().await);
        }
        let mut heads = Vec::with_capacity(take);
        for record in &records[..take] {
            let Some(guard) = guards.get_mut(record.header.chain.as_str()) else {
                break;
            };
            let head = match **guard {
                CachedHead::Known(head) if extends(record, head) => head,
                _ => {
                    let head = self.fetch_head(&record.header.chain).await?;
                    **guard = CachedHead::Known(head);
                    head
                }
            };
            if !extends(record, head) {
                break;
            }
            heads.push(head);
        }
        if heads.len() < 2 {
            drop(guards);
            return self.append_first(records).await;
        }
        let run = &records[..heads.len()];
        let base = self.last_seq().await?;
        let mut acks = Vec::with_capacity(run.len());
        let mut send_error = None;
        for (i, (record, head)) in run.iter().zip(&heads).enumerate() {
            let message = Publish::build()
                .payload(record.without_payload().to_json_line().into())
                .message_id(record.hash.to_hex())
                .expected_last_sequence(base + i as u64)
                .expected_last_subject_sequence(head.map_or(0, |h| h.stream_seq))
                .expected_stream(LEDGER_STREAM);
            match self
                .js
                .send_publish(chain_subject(&record.header.chain), message)
                .await
            {
                Ok(ack) => acks.push(ack),
                Err(e) => {
                    send_error = Some(store_error("cannot append a batch of events", e));
                    break;
                }
            }
        }
        let sent = &run[..acks.len()];
        let (written, acked) = futures::join!(
            futures::future::join_all(sent.iter().map(|r| self.write_entry(r))),
            futures::future::join_all(acks.into_iter().map(|ack| async move { ack.await })),
        );
        let mut positions = Vec::with_capacity(sent.len());
        let mut whole = true;
        let mut in_doubt = None;
        for (i, ((record, written), acked)) in sent.iter().zip(written).zip(acked).enumerate() {
            let chain = record.header.chain.as_str();
            let Some(guard) = guards.get_mut(chain) else {
                continue;
            };
            match acked {
                Ok(ack) if !ack.duplicate && ack.sequence == base + i as u64 + 1 => {
                    **guard = CachedHead::Known(Some(HeadMessage {
                        seq: record.header.seq,
                        hash: record.hash,
                        stream_seq: ack.sequence,
                    }));
                    let settled = self.settle_entry(record, written).await;
                    if whole && settled.is_ok() {
                        positions.push(stream_position(ack.sequence)?);
                    } else {
                        whole = false;
                    }
                }
                Ok(_) => {
                    // A copy stored earlier (the duplicate window), or a place this batch did
                    // not expect: the record is stored somewhere; `append` says where.
                    **guard = CachedHead::Unknown;
                    let _ = self.settle_entry(record, written).await;
                    whole = false;
                }
                Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {
                    // Not stored: another writer came in between, or an earlier message of
                    // the batch was not stored. The entry it wrote goes only if the chain has
                    // moved past the record's place and not to this very record.
                    **guard = CachedHead::Unknown;
                    whole = false;
                    if matches!(written, Ok(true)) {
                        let real = self.fetch_head(chain).await?;
                        if real.is_some_and(|h| h.seq >= record.header.seq)
                            && self.find_stored(record, real).await?.is_none()
                        {
                            self.undo_entry(&record.hash.to_hex()).await;
                        }
                    }
                }
                Err(e) => {
                    // In doubt: the record may have been stored.
                    **guard = CachedHead::Unknown;
                    whole = false;
                    let err = store_error(&format!("cannot append event {}", record.hash), e);
                    warn!(event = %record.hash, error = %err, "append of a batch failed");
                    in_doubt.get_or_insert(err);
                }
            }
        }
        for record in &run[sent.len()..] {
            if let Some(guard) = guards.get_mut(record.header.chain.as_str()) {
                **guard = CachedHead::Unknown;
            }
        }
        debug!(count = positions.len(), of = run.len(), "wave appended");
        match (positions.is_empty(), in_doubt.or(send_error)) {
            (true, Some(err)) => Err(err),
            _ => Ok((positions, run.len())),
        }
    }

    async fn append(&self, record: &Record) -> Result<AppendOutcome, StoreError> {
        Self::check_appendable(record)?;
        let chain = record.header.chain.as_str();
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
                // A retry: the earlier attempt may have stopped before writing the entry, or
                // the entry was lost since.
                self.settle_entry(record, Ok(false)).await?;
                debug!(event = %record.hash, position, "append of a stored record: duplicate");
                return Ok(AppendOutcome::Duplicate { position });
            }
            return Err(StoreError::Conflict(ChainConflict::raced(
                chain,
                head.map(HeadMessage::chain_head),
            )));
        }

        // The payload entry and the ledger message are written in parallel, on two
        // connections: one round trip. Readers wait for an entry still in flight
        // (`with_payload`), and a record whose entry could not be written is not acknowledged.
        let key = record.hash.to_hex();
        let expected = head.map_or(0, |h| h.stream_seq);
        let message = Publish::build()
            .payload(record.without_payload().to_json_line().into())
            .message_id(&key)
            .expected_last_subject_sequence(expected)
            .expected_stream(LEDGER_STREAM);
        let subject = chain_subject(chain);
        let publish = async {
            match self.js.send_publish(subject, message).await {
                Ok(ack) => ack.await,
                Err(e) => Err(e),
            }
        };
        let (written, acked) = futures::join!(self.write_entry(record), publish);
        match acked {
            Ok(ack) if ack.duplicate => {
                let position = stream_position(ack.sequence)?;
                // The chain may have moved on since that copy was stored.
                *cached = CachedHead::Unknown;
                self.settle_entry(record, written).await?;
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
                self.settle_entry(record, written).await?;
                debug!(event = %record.hash, position, "appended");
                Ok(AppendOutcome::Appended { position })
            }
            Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {
                *cached = CachedHead::Unknown;
                let real = self.fetch_head(chain).await?;
                *cached = CachedHead::Known(real);
                if let Some(position) = self.find_stored(record, real).await? {
                    self.settle_entry(record, written).await?;
                    debug!(event = %record.hash, position, "expected sequence moved to this very record: duplicate");
                    return Ok(AppendOutcome::Duplicate { position });
                }
                // The chain moved past our head, so the record's place is taken for good
                // and the entry written for it can go.
                if real.is_some_and(|h| h.seq >= record.header.seq) && matches!(written, Ok(true)) {
                    self.undo_entry(&key).await;
                }
                debug!(event = %record.hash, "chain moved: conflict");
                Err(StoreError::Conflict(ChainConflict::raced(
                    chain,
                    real.map(HeadMessage::chain_head),
                )))
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

impl Inner {
    /// The last message of the checkpoint history, with its stream sequence.
    async fn last_checkpoint(&self) -> Result<Option<(u64, StoredCheckpoint)>, StoreError> {
        match self
            .checkpoints
            .get_last_raw_message_by_subject(CHECKPOINT_SUBJECT)
            .await
        {
            Ok(message) => Ok(Some((
                message.sequence,
                parse_checkpoint(message.sequence, &message.payload)?,
            ))),
            Err(e) if matches!(e.kind(), LastRawMessageErrorKind::NoMessageFound) => Ok(None),
            Err(e) => Err(store_error("cannot read the latest checkpoint", e)),
        }
    }

    /// The checkpoint history message at stream sequence `seq`.
    async fn checkpoint_at(&self, seq: u64) -> Result<StoredCheckpoint, StoreError> {
        let message = self.checkpoints.get_raw_message(seq).await.map_err(|e| {
            store_error(
                &format!("cannot read message {seq} of stream {CHECKPOINT_STREAM}"),
                e,
            )
        })?;
        parse_checkpoint(seq, &message.payload)
    }

    /// Up to `limit` entries of the checkpoint history from the first of size at least
    /// `from_size`: the first message is found by binary search (sizes never decrease along
    /// the stream), then messages are read forward, the last message of each size kept.
    async fn checkpoints_from(
        &self,
        from_size: u64,
        limit: usize,
    ) -> Result<Vec<StoredCheckpoint>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let info = self
            .checkpoints
            .get_info()
            .await
            .map_err(|e| store_error(&format!("cannot read stream {CHECKPOINT_STREAM}"), e))?;
        let last = info.state.last_sequence;
        // First sequence in 1..=last whose size is at least from_size (last + 1: none).
        let (mut lo, mut hi) = (1u64, last + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.checkpoint_at(mid).await?.size >= from_size {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let mut out: Vec<StoredCheckpoint> = Vec::new();
        let mut next = lo;
        while next <= last {
            let raw = read_log(
                &self.checkpoints,
                CHECKPOINT_STREAM,
                "checkpoints",
                next - 1,
                256,
            )
            .await?;
            if raw.is_empty() {
                break;
            }
            for m in &raw {
                let c = parse_checkpoint(m.seq, &m.payload)?;
                let full = out.len() == limit;
                match out.last_mut() {
                    Some(prev) if prev.size == c.size => *prev = c,
                    Some(prev) if prev.size > c.size => {
                        return Err(StoreError::Corrupt(format!(
                            "message {} of stream {CHECKPOINT_STREAM} is a checkpoint of size {} \
                             after one of size {}: the history went back",
                            m.seq, c.size, prev.size
                        )))
                    }
                    // One more than asked tells that the one before is complete.
                    _ if full => return Ok(out),
                    _ => out.push(c),
                }
                next = m.seq + 1;
            }
        }
        Ok(out)
    }
}

/// A message of the checkpoint history, checked: JSON `{"size", "note"}` with a note of that
/// size, or [`StoreError::Corrupt`] naming the message.
fn parse_checkpoint(seq: u64, data: &[u8]) -> Result<StoredCheckpoint, StoreError> {
    let c: StoredCheckpoint = serde_json::from_slice(data).map_err(|e| {
        StoreError::Corrupt(format!(
            "message {seq} of stream {CHECKPOINT_STREAM} is not a checkpoint: {e}"
        ))
    })?;
    if let Some(why) = checkpoint_note_problem(c.size, &c.note) {
        return Err(StoreError::Corrupt(format!(
            "message {seq} of stream {CHECKPOINT_STREAM} (the checkpoint of size {}) is damaged: the note {why}",
            c.size
        )));
    }
    Ok(c)
}

#[async_trait]
impl LedgerStore for JetStreamStore {
    async fn append(&self, record: &Record) -> Result<AppendOutcome, StoreError> {
        self.inner.append(record).await
    }

    async fn append_batch(&self, records: &[Record]) -> Result<Vec<u64>, StoreError> {
        self.inner.append_batch(records).await
    }

    async fn chain(&self, chain: &str) -> Result<Vec<StoredEvent>, StoreError> {
        let records = self.inner.chain_records(chain).await?;
        let raw = records
            .into_iter()
            .map(|(seq, record)| Ok((stream_position(seq)?, record)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let deadline = self.inner.read_deadline();
        futures::stream::iter(raw)
            .map(|(position, record)| async move {
                let (record, payload) = self.inner.with_payload(record, deadline).await?;
                Ok(StoredEvent {
                    position,
                    record,
                    payload,
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
            .checked_head(chain)
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
        let (record, payload) = self
            .inner
            .with_payload(record, self.inner.read_deadline())
            .await?;
        Ok(Some(StoredEvent {
            position,
            record,
            payload,
        }))
    }

    async fn remove_payload(&self, hash: &Hash) -> Result<(), StoreError> {
        let key = hash.to_hex();
        let fail = |e: &dyn std::fmt::Display| {
            StoreError::Unavailable(format!("cannot remove the payload of event {key}: {e}"))
        };
        // Replace the entry by a redacted one (which a retried append never overwrites),
        // keeping where the event is; compare-and-set, so a concurrent write is not lost.
        loop {
            let found = self.inner.payloads.entry(key.as_str()).await.map_err(|e| {
                store_error(&format!("cannot read the payload entry of event {key}"), e)
            })?;
            // An event whose entry is gone keeps its place if this process read it.
            let lost = self
                .inner
                .known_lost(hash)
                .map(|(chain, seq)| EventEntry::new(&chain, seq, None).location);
            let (location, revision) = match &found {
                None => (lost, 0),
                Some(f) if f.operation == kv::Operation::Put => {
                    match EventEntry::decode(&f.value) {
                        Ok(e) if e.location.redacted => return Ok(()),
                        Ok(e) => (Some(e.location), f.revision),
                        // Unreadable: redact it all the same.
                        Err(_) => (None, f.revision),
                    }
                }
                Some(f) => (lost, f.revision),
            };
            let redacted = EventEntry::redacted(location).encode();
            match self
                .inner
                .payloads
                .update(key.as_str(), redacted.into(), revision)
                .await
            {
                Ok(_) => break,
                Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => continue,
                Err(e) => return Err(fail(&e)),
            }
        }
        info!(event = %key, "payload removed");
        Ok(())
    }

    async fn meta(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let data = self
            .inner
            .meta
            .get(meta_kv_key(key))
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
            .put(meta_kv_key(key), data.into())
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

    async fn record_fork(&self, alarm: &ForkAlarm) -> Result<bool, StoreError> {
        // One subject per other version, which must be empty: the same version twice is one
        // alarm, whenever it comes (the duplicate window is only the fast path).
        let key = alarm.other.hash.to_hex();
        let message = Publish::build()
            .payload(alarm.to_json().into_bytes().into())
            .message_id(&key)
            .expected_last_subject_sequence(0)
            .expected_stream(FORK_STREAM);
        let acked = match self
            .inner
            .js
            .send_publish(format!("{FORK_SUBJECT_PREFIX}{key}"), message)
            .await
        {
            Ok(ack) => ack.await,
            Err(e) => Err(e),
        };
        match acked {
            Ok(ack) if ack.duplicate => Ok(false),
            Ok(_) => {
                warn!(chain = %alarm.chain, seq = alarm.seq, stored = %alarm.stored, other = %alarm.other.hash, "fork alarm recorded");
                Ok(true)
            }
            Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => Ok(false),
            Err(e) => Err(store_error("cannot append to the fork alarm log", e)),
        }
    }

    async fn forks(&self, from: u64, limit: usize) -> Result<Vec<ForkAlarm>, StoreError> {
        let raw = read_log(&self.inner.forks, FORK_STREAM, "fork alarms", from, limit).await?;
        raw.into_iter()
            .map(|m| {
                let alarm = ForkAlarm::from_json(&m.payload).map_err(|e| {
                    StoreError::Corrupt(format!(
                        "message {} of stream {FORK_STREAM} is not a fork alarm: {e}",
                        m.seq
                    ))
                })?;
                if alarm.other.header.compute_hash() != alarm.other.hash
                    || m.subject != format!("{FORK_SUBJECT_PREFIX}{}", alarm.other.hash.to_hex())
                {
                    return Err(StoreError::Corrupt(format!(
                        "message {} of stream {FORK_STREAM} is not under the hash of the record it keeps",
                        m.seq
                    )));
                }
                Ok(alarm)
            })
            .collect()
    }

    async fn add_checkpoint(&self, size: u64, note: &str) -> Result<(), StoreError> {
        check_checkpoint_note(size, note)?;
        for _ in 0..CHECKPOINT_TRIES {
            let latest = self.inner.last_checkpoint().await?;
            let (expected, stored) = match latest {
                Some((_, latest)) if latest.size > size => {
                    return Err(StoreError::CheckpointBehind {
                        size,
                        latest: latest.size,
                    })
                }
                Some((seq, latest)) if latest.size == size => {
                    let merged = merge_checkpoint_note(size, &latest.note, note)?;
                    if merged == latest.note {
                        return Ok(());
                    }
                    (seq, merged)
                }
                Some((seq, _)) => (seq, note.to_string()),
                None => (0, note.to_string()),
            };
            let data = serde_json::to_vec(&StoredCheckpoint { size, note: stored })
                .map_err(|e| StoreError::Backend(format!("cannot encode a checkpoint: {e}")))?;
            let message = Publish::build()
                .payload(data.into())
                .expected_last_subject_sequence(expected)
                .expected_stream(CHECKPOINT_STREAM);
            let acked = match self
                .inner
                .js
                .send_publish(CHECKPOINT_SUBJECT, message)
                .await
            {
                Ok(ack) => ack.await,
                Err(e) => Err(e),
            };
            match acked {
                Ok(_) => {
                    debug!(size, "checkpoint stored");
                    return Ok(());
                }
                // Another writer stored a checkpoint meanwhile: check against it.
                Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => continue,
                Err(e) => return Err(store_error("cannot append to the checkpoint history", e)),
            }
        }
        Err(StoreError::Unavailable(format!(
            "the checkpoint history kept moving while the checkpoint of size {size} was stored; retry"
        )))
    }

    async fn checkpoints(
        &self,
        from_size: u64,
        limit: usize,
    ) -> Result<Vec<StoredCheckpoint>, StoreError> {
        self.inner.checkpoints_from(from_size, limit).await
    }

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        Ok(self.inner.last_checkpoint().await?.map(|(_, c)| c))
    }

    async fn access_log(&self, from: u64, limit: usize) -> Result<Vec<AccessEntry>, StoreError> {
        let raw = read_log(
            &self.inner.access,
            ACCESS_STREAM,
            "access entries",
            from,
            limit,
        )
        .await?;
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
    fn credentials_are_taken_out_of_the_url() {
        assert_eq!(
            split_credentials("nats://custody-monitor:p%40ss@hub:4222"),
            (
                "nats://hub:4222".to_string(),
                Some(("custody-monitor".to_string(), "p@ss".to_string()))
            )
        );
        assert_eq!(
            split_credentials("nats://127.0.0.1:4222"),
            ("nats://127.0.0.1:4222".to_string(), None)
        );
        assert_eq!(
            split_credentials("tls://u@h:1"),
            (
                "tls://h:1".to_string(),
                Some(("u".to_string(), String::new()))
            )
        );
        assert_eq!(percent_decode("a%zz%4"), "a%zz%4");
    }

    #[test]
    fn reconnect_delay_is_short_then_capped() {
        assert_eq!(reconnect_delay(1), Duration::from_millis(100));
        assert!(reconnect_delay(2) > reconnect_delay(1));
        assert_eq!(reconnect_delay(100), Duration::from_secs(2));
    }
}
