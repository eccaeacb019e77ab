//! The embedded SQLite backend of custody-ledger: the whole ledger in one file, for a post
//! without a server and for tests.
//!
//! Design choices:
//! - **Append-only in the database too.** Triggers abort any `UPDATE` or `DELETE` on `events`
//!   and `access_log`, and any insert that would leave a gap in positions, so a mistake in code
//!   (or a hand-typed statement) cannot rewrite history. Only `payloads` may lose a row, and
//!   only by a lawful redaction: [`LedgerStore::remove_payload`] first writes the event's hash
//!   in the append-only `redactions` table, and a trigger refuses to delete a payload row that
//!   has none (and to store a payload again once it has one). The log itself keeps no payload.
//! - **Payload states.** An event with a payload row reads [`PayloadState::Present`], one with a
//!   `redactions` row [`PayloadState::Redacted`], one with neither [`PayloadState::Missing`]
//!   (the row was deleted with the triggers dropped, or the record was appended without its
//!   payload); a retry of the record with the payload its header commits to completes a
//!   missing one. Files of schema version 1, which kept no `redactions` table, are upgraded on
//!   open; their events without payload then read as missing, since version 1 did not record
//!   why a payload was gone.
//! - **Reads trust no index column.** The triggers stop a mistake, not an insider with the
//!   file, who can drop them. So every read checks what a row holds beside its record (the
//!   `chain`, `seq` and `hash` columns, the position, the payload row) against the header it
//!   indexes: the header must hash to the row's hash and name its chain and seq, ledger reads
//!   must find positions without holes, a chain read must find seqs 0, 1, 2... linked and in
//!   ledger order, a head must be the last of exactly `seq + 1` rows, and a payload row must
//!   decode to the payload its header commits to ([`custody_store::decode_payload`], the same
//!   strict decoding as the JetStream backend's). A mismatch is [`StoreError::Corrupt`] naming
//!   the position (and, for a payload, the event hash), never a record served. What no row
//!   can show (the last records or a whole chain dropped, records of two chains swapped) takes
//!   a checkpoint held elsewhere (`custody verify --checkpoint`).
//! - **One transaction per append.** The duplicate check, the chain head check and the insert run
//!   in one `BEGIN IMMEDIATE` transaction on the one writer connection, in WAL mode with
//!   `synchronous=FULL`: an acknowledged append is on disk, and two processes appending to the
//!   same file (a CLI while a server runs) cannot fork a chain.
//! - **Blocking work off the runtime.** Every statement runs on `tokio::task::spawn_blocking`:
//!   writes on the writer connection behind a mutex, reads on a small pool of read connections.
//! - **Subscriptions** read what is stored, then wait for a wake-up from appends in this process
//!   or a poll tick (appends by another process are only seen by polling).
//! - **Private files.** A new ledger file is created with mode 0600 whatever the umask (its
//!   `-wal` and `-shm` companions take the same mode): it holds personal data.
//!
//! - **Fork alarms** ([`LedgerStore::record_fork`]) are rows of the append-only
//!   `fork_alarms` table (schema version 3; older files are upgraded on open), one per other
//!   version, unique by its hash: the ledger's `events` are never touched by an alarm.
//!
//! - **Checkpoint history** ([`LedgerStore::add_checkpoint`]) is the table `checkpoints`
//!   (schema version 4; older files are upgraded on open), one row per tree size, the signed
//!   note in `note`. Triggers refuse a delete, a row below the largest size, a change of size,
//!   and any change of a note other than signature lines appended after it (cosignatures); the
//!   size check and the write are one `BEGIN IMMEDIATE` transaction.
//!
//! Nothing personal is logged: log lines carry positions and hashes only.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use custody_core::chain::{ChainConflict, ChainHead};
use custody_core::{Hash, Record};
use custody_store::{
    check_checkpoint_note, checkpoint_note_problem, decode_payload, encode_payload,
    merge_checkpoint_note, payload_matches, AccessEntry, AppendOutcome, EventStream, ForkAlarm,
    LedgerStore, PayloadState, StoreError, StoredCheckpoint, StoredEvent,
};
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use tokio::sync::watch;

/// Version of the database schema, kept in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 4;

/// The schema. Positions and access log ids are 0-based and dense (the triggers enforce it).
const SCHEMA: &str = "
CREATE TABLE events (
    position INTEGER PRIMARY KEY CHECK (position >= 0),
    chain    TEXT    NOT NULL,
    seq      INTEGER NOT NULL CHECK (seq >= 0),
    hash     BLOB    NOT NULL UNIQUE CHECK (length(hash) = 32),
    record   TEXT    NOT NULL,
    UNIQUE (chain, seq)
);
CREATE TABLE payloads (
    hash    BLOB PRIMARY KEY REFERENCES events (hash),
    payload TEXT NOT NULL
);
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE access_log (
    id    INTEGER PRIMARY KEY CHECK (id >= 0),
    entry TEXT NOT NULL
);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only: updates are refused'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only: deletes are refused'); END;
CREATE TRIGGER events_dense BEFORE INSERT ON events
WHEN NEW.position IS NOT (SELECT COALESCE(MAX(position) + 1, 0) FROM events)
BEGIN SELECT RAISE(ABORT, 'events are append-only: positions must follow without gaps'); END;
CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
BEGIN SELECT RAISE(ABORT, 'the access log is append-only: updates are refused'); END;
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
BEGIN SELECT RAISE(ABORT, 'the access log is append-only: deletes are refused'); END;
CREATE TRIGGER access_log_dense BEFORE INSERT ON access_log
WHEN NEW.id IS NOT (SELECT COALESCE(MAX(id) + 1, 0) FROM access_log)
BEGIN SELECT RAISE(ABORT, 'the access log is append-only: ids must follow without gaps'); END;
";

/// What schema version 2 adds to version 1: the record of lawful redactions, so that a payload
/// row deleted without one is told apart (see the crate documentation).
const SCHEMA_V2: &str = "
CREATE TABLE redactions (
    hash BLOB PRIMARY KEY REFERENCES events (hash)
);
CREATE TRIGGER redactions_no_update BEFORE UPDATE ON redactions
BEGIN SELECT RAISE(ABORT, 'redactions are append-only: updates are refused'); END;
CREATE TRIGGER redactions_no_delete BEFORE DELETE ON redactions
BEGIN SELECT RAISE(ABORT, 'redactions are append-only: deletes are refused'); END;
CREATE TRIGGER payloads_no_update BEFORE UPDATE ON payloads
BEGIN SELECT RAISE(ABORT, 'payloads are never rewritten: updates are refused'); END;
CREATE TRIGGER payloads_delete_needs_redaction BEFORE DELETE ON payloads
WHEN NOT EXISTS (SELECT 1 FROM redactions WHERE hash = OLD.hash)
BEGIN SELECT RAISE(ABORT, 'a payload is removed only by a lawful redaction: record it in redactions first'); END;
CREATE TRIGGER payloads_not_after_redaction BEFORE INSERT ON payloads
WHEN EXISTS (SELECT 1 FROM redactions WHERE hash = NEW.hash)
BEGIN SELECT RAISE(ABORT, 'a redacted payload is never stored again'); END;
";

/// What schema version 3 adds: the append-only log of fork alarms (another validly signed
/// record at an occupied place of a chain, kept whole, one row per other version).
const SCHEMA_V3: &str = "
CREATE TABLE fork_alarms (
    id    INTEGER PRIMARY KEY CHECK (id >= 0),
    other BLOB    NOT NULL UNIQUE CHECK (length(other) = 32),
    alarm TEXT    NOT NULL
);
CREATE TRIGGER fork_alarms_no_update BEFORE UPDATE ON fork_alarms
BEGIN SELECT RAISE(ABORT, 'fork alarms are append-only: updates are refused'); END;
CREATE TRIGGER fork_alarms_no_delete BEFORE DELETE ON fork_alarms
BEGIN SELECT RAISE(ABORT, 'fork alarms are append-only: deletes are refused'); END;
CREATE TRIGGER fork_alarms_dense BEFORE INSERT ON fork_alarms
WHEN NEW.id IS NOT (SELECT COALESCE(MAX(id) + 1, 0) FROM fork_alarms)
BEGIN SELECT RAISE(ABORT, 'fork alarms are append-only: ids must follow without gaps'); END;
";

/// What schema version 4 adds: the append-only checkpoint history, one signed note per tree
/// size, sizes growing; a note only gains signature lines (cosignatures) after it.
const SCHEMA_V4: &str = "
CREATE TABLE checkpoints (
    size INTEGER PRIMARY KEY CHECK (size >= 0),
    note TEXT    NOT NULL
);
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: deletes are refused'); END;
CREATE TRIGGER checkpoints_grow BEFORE INSERT ON checkpoints
WHEN NEW.size <= (SELECT COALESCE(MAX(size), -1) FROM checkpoints)
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: a new checkpoint must be larger than every stored one'); END;
CREATE TRIGGER checkpoints_only_gain_signatures BEFORE UPDATE ON checkpoints
WHEN NEW.size IS NOT OLD.size OR substr(NEW.note, 1, length(OLD.note)) IS NOT OLD.note
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only: a stored note only gains signature lines'); END;
";

/// Columns of a stored event with its payload, if any, and whether a redaction removed it:
/// the index columns (position, chain, seq, hash) come along so that every read checks them
/// against the header they index.
const SELECT_EVENT: &str = "SELECT e.position, e.chain, e.seq, e.hash, e.record, p.payload, \
     EXISTS (SELECT 1 FROM redactions r WHERE r.hash = e.hash) \
     FROM events e LEFT JOIN payloads p ON p.hash = e.hash";

/// Records read per batch by a subscription.
const SUBSCRIPTION_BATCH: usize = 256;

/// Idle read connections kept for reuse.
const MAX_IDLE_READERS: usize = 4;

/// Tuning of a [`SqliteStore`]; [`SqliteOptions::default`] suits a server and a CLI.
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// How long a statement waits for another connection's lock before the call fails with
    /// [`StoreError::Unavailable`]. Default: 5 s.
    pub busy_timeout: Duration,
    /// How often an idle subscription looks for records appended by another process.
    /// Default: 200 ms.
    pub poll_interval: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            busy_timeout: Duration::from_secs(5),
            poll_interval: Duration::from_millis(200),
        }
    }
}

/// A ledger in one SQLite file.
///
/// Cheap to share behind an `Arc`; several stores (in this process or others) may open the
/// same file.
pub struct SqliteStore {
    path: PathBuf,
    writer: Arc<Mutex<Connection>>,
    readers: Arc<Readers>,
    /// Ledger size after the latest append by this store: wakes subscriptions.
    appended: watch::Sender<u64>,
    options: SqliteOptions,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the ledger file at `path` with [`SqliteOptions::default`], creating the file and
    /// its schema if needed.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens the ledger file at `path` with explicit options, creating the file and its schema
    /// if needed.
    pub fn open_with(
        path: impl AsRef<Path>,
        options: SqliteOptions,
    ) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        create_private(&path)?;
        let mut writer = open_connection(&path, true, options.busy_timeout)?;
        init_schema(&mut writer, &path)?;
        let size = ledger_size(&writer)?;
        tracing::debug!(size, "sqlite ledger opened");
        let readers = Arc::new(Readers {
            path: path.clone(),
            busy_timeout: options.busy_timeout,
            idle: Mutex::new(Vec::new()),
        });
        Ok(SqliteStore {
            path,
            writer: Arc::new(Mutex::new(writer)),
            readers,
            appended: watch::Sender::new(size),
            options,
        })
    }

    /// The path of the ledger file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the writer connection, off the async runtime.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let writer = Arc::clone(&self.writer);
        tokio::task::spawn_blocking(move || {
            let mut conn = writer.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn)
        })
        .await
        .map_err(join_error)?
    }
}

/// The read connections of one ledger file.
struct Readers {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    /// Runs `f` on a read connection, off the async runtime.
    async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || readers.with(f))
            .await
            .map_err(join_error)?
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => open_connection(&self.path, false, self.busy_timeout)?,
        };
        let out = f(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE_READERS && conn.is_autocommit() {
            idle.push(conn);
        }
        out
    }
}

fn join_error(e: tokio::task::JoinError) -> StoreError {
    StoreError::Backend(format!("a sqlite task failed: {e}"))
}

/// Maps a SQLite error of operation `op`: busy or locked is [`StoreError::Unavailable`]; so is
/// a full disk (SQLite rolled the transaction back, nothing was written: once space is freed the
/// same call succeeds), with a message saying so.
fn sql(op: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) =>
        {
            tracing::warn!(op, "sqlite ledger is busy");
            StoreError::Unavailable(format!("{op}: the ledger database is busy ({e})"))
        }
        rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::DiskFull => {
            tracing::error!(op, "the disk of the sqlite ledger is full");
            StoreError::Unavailable(format!(
                "{op}: the disk holding the ledger database is full ({e}); nothing was written: \
                 free space on it"
            ))
        }
        _ => StoreError::Backend(format!("{op}: sqlite: {e}")),
    }
}

/// Creates the ledger file, empty, with mode 0600 whatever the umask, if it does not exist: it
/// holds personal data. SQLite gives its `-wal` and `-shm` companions the mode of the database
/// file, so they are private too. An existing file keeps its mode.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => {
            return Err(StoreError::Backend(format!(
                "cannot create the ledger file {}: {e}",
                path.display()
            )))
        }
    };
    // The umask may have taken bits away from 0600 at creation; set the mode exactly.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| {
                StoreError::Backend(format!(
                    "cannot make the ledger file {} private (mode 0600): {e}",
                    path.display()
                ))
            })?;
    }
    drop(file);
    Ok(())
}

fn open_connection(
    path: &Path,
    writer: bool,
    busy_timeout: Duration,
) -> Result<Connection, StoreError> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if writer {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags).map_err(|e| {
        StoreError::Backend(format!(
            "cannot open the ledger file {}: {e}",
            path.display()
        ))
    })?;
    conn.busy_timeout(busy_timeout).map_err(sql("open"))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sql("open"))?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sql("open"))?;
    if writer {
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(sql("open"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "the ledger file {} cannot use write-ahead logging (journal mode {mode}); \
                 put it on a local file system",
                path.display()
            )));
        }
    } else {
        conn.pragma_update(None, "query_only", "ON")
            .map_err(sql("open"))?;
    }
    Ok(conn)
}

fn init_schema(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql("create schema"))?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(sql("create schema"))?;
    match version {
        0 => {
            tx.execute_batch(SCHEMA).map_err(sql("create schema"))?;
            tx.execute_batch(SCHEMA_V2).map_err(sql("create schema"))?;
            tx.execute_batch(SCHEMA_V3).map_err(sql("create schema"))?;
            tx.execute_batch(SCHEMA_V4).map_err(sql("create schema"))?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(sql("create schema"))?;
            tx.commit().map_err(sql("create schema"))?;
            tracing::info!(version = SCHEMA_VERSION, "sqlite ledger schema created");
            Ok(())
        }
        1..=3 => {
            if version == 1 {
                tx.execute_batch(SCHEMA_V2).map_err(sql("upgrade schema"))?;
            }
            if version <= 2 {
                tx.execute_batch(SCHEMA_V3).map_err(sql("upgrade schema"))?;
            }
            tx.execute_batch(SCHEMA_V4).map_err(sql("upgrade schema"))?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(sql("upgrade schema"))?;
            tx.commit().map_err(sql("upgrade schema"))?;
            if version == 1 {
                tracing::info!(
                    from = 1,
                    to = SCHEMA_VERSION,
                    "sqlite ledger schema upgraded; events without payload read as missing"
                );
            } else {
                tracing::info!(
                    from = version,
                    to = SCHEMA_VERSION,
                    "sqlite ledger schema upgraded"
                );
            }
            Ok(())
        }
        SCHEMA_VERSION => Ok(()),
        other => Err(StoreError::Backend(format!(
            "the ledger file {} has schema version {other}, this program knows version \
             {SCHEMA_VERSION}: use a newer program",
            path.display()
        ))),
    }
}

fn to_i64(n: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Backend(format!("{what} {n} is out of range")))
}

fn limit_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn hash_from_blob(blob: &[u8], what: impl FnOnce() -> String) -> Result<Hash, StoreError> {
    let bytes: [u8; 32] = blob.try_into().map_err(|_| {
        StoreError::Corrupt(format!("{} has a hash of {} bytes", what(), blob.len()))
    })?;
    Ok(Hash(bytes))
}

fn ledger_size(conn: &Connection) -> Result<u64, StoreError> {
    let next: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(position) + 1, 0) FROM events",
            [],
            |row| row.get(0),
        )
        .map_err(sql("size"))?;
    u64::try_from(next)
        .map_err(|_| StoreError::Corrupt(format!("the ledger size {next} is negative")))
}

/// The head of a chain, checked: the row's index columns must match its header, and the chain
/// must hold exactly `seq + 1` rows (seqs 0..=seq), or the store is [`StoreError::Corrupt`].
fn head_of(conn: &Connection, chain: &str) -> Result<Option<ChainHead>, StoreError> {
    let row: Option<(RawEvent, i64)> = conn
        .query_row(
            "SELECT e.position, e.chain, e.seq, e.hash, e.record, NULL, \
             (SELECT COUNT(*) FROM events WHERE chain = ?1) \
             FROM events e WHERE e.chain = ?1 ORDER BY e.seq DESC LIMIT 1",
            [chain],
            |row| Ok((raw_event(row)?, row.get(6)?)),
        )
        .optional()
        .map_err(sql("head"))?;
    let Some((raw, rows)) = row else {
        return Ok(None);
    };
    let head = decode_event(raw)?;
    let seq = head.record.header.seq;
    if u64::try_from(rows).ok() != seq.checked_add(1) {
        return Err(StoreError::Corrupt(format!(
            "chain {chain} has {rows} rows but its last record (event at position {}) is seq \
             {seq}: records of the chain are missing or were moved",
            head.position
        )));
    }
    Ok(Some(ChainHead {
        seq,
        hash: head.record.hash,
    }))
}

/// A row of [`SELECT_EVENT`], with column errors kept so that they can name the position.
struct RawEvent {
    position: i64,
    chain: rusqlite::Result<String>,
    seq: rusqlite::Result<i64>,
    hash: rusqlite::Result<Vec<u8>>,
    record: rusqlite::Result<String>,
    /// The payload column's bytes, whatever type the row stores them as: a payload is text,
    /// but an insider can put anything there, and it is reported by the decoding, naming the
    /// event.
    payload: rusqlite::Result<Option<Vec<u8>>>,
    redacted: rusqlite::Result<bool>,
}

fn raw_event(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawEvent> {
    Ok(RawEvent {
        position: row.get(0)?,
        chain: row.get(1),
        seq: row.get(2),
        hash: row.get(3),
        record: row.get(4),
        payload: row.get_ref(5).map(payload_bytes),
        redacted: row.get(6),
    })
}

/// The bytes of a payload column: text and blobs as they are, a number as its text (which is
/// not a payload), `NULL` as none.
fn payload_bytes(value: rusqlite::types::ValueRef<'_>) -> Option<Vec<u8>> {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => None,
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Some(bytes.to_vec()),
        ValueRef::Integer(n) => Some(n.to_string().into_bytes()),
        ValueRef::Real(x) => Some(x.to_string().into_bytes()),
    }
}

/// Rebuilds a stored event from its row; anything unreadable, and any index column (chain,
/// seq, hash) that disagrees with the header it indexes, is [`StoreError::Corrupt`] naming the
/// position.
fn decode_event(raw: RawEvent) -> Result<StoredEvent, StoreError> {
    let RawEvent {
        position,
        chain,
        seq,
        hash,
        record,
        payload,
        redacted,
    } = raw;
    let corrupt =
        |what: String| StoreError::Corrupt(format!("event at position {position} {what}"));
    let position_u64 = u64::try_from(position)
        .map_err(|_| StoreError::Corrupt(format!("an event has a negative position {position}")))?;
    let hash = hash.map_err(|e| corrupt(format!("has an unreadable hash: {e}")))?;
    let hash = hash_from_blob(&hash, || format!("event at position {position}"))?;
    let text = record.map_err(|e| corrupt(format!("has an unreadable record: {e}")))?;
    let mut record = Record::from_json(text.as_bytes())
        .map_err(|e| corrupt(format!("has an unreadable record: {e}")))?;
    if record.hash != hash {
        return Err(corrupt(format!(
            "is stored under hash {hash} but its record claims {}",
            record.hash
        )));
    }
    check_index(&record, chain, seq).map_err(corrupt)?;
    if record.payload.is_some() {
        return Err(corrupt("keeps a payload inside the log".to_string()));
    }
    let payload = payload.map_err(|e| corrupt(format!("has an unreadable payload: {e}")))?;
    let redacted = redacted.map_err(|e| corrupt(format!("has an unreadable redaction: {e}")))?;
    let state = match payload {
        Some(bytes) => {
            let payload = decode_payload(&record.header, &bytes).map_err(|e| {
                corrupt(format!(
                    "(event {}) has a payload in table payloads that {e}",
                    record.hash
                ))
            })?;
            record.payload = Some(payload);
            PayloadState::Present
        }
        None if redacted => PayloadState::Redacted,
        None => {
            tracing::debug!(position, hash = %record.hash, "event without payload or redaction: payload missing");
            PayloadState::Missing
        }
    };
    Ok(StoredEvent {
        position: position_u64,
        record,
        payload: state,
    })
}

/// Checks a row's index columns against its header: the header must hash to the row's hash
/// (already compared with the record's), and name the row's chain and seq. An insider who
/// drops the triggers can change a column; a read must then report the row, not serve it.
fn check_index(
    record: &Record,
    chain: rusqlite::Result<String>,
    seq: rusqlite::Result<i64>,
) -> Result<(), String> {
    let header = &record.header;
    if header.compute_hash() != record.hash {
        return Err(format!(
            "is stored under hash {} but its header hashes to another value",
            record.hash
        ));
    }
    let chain = chain.map_err(|e| format!("has an unreadable chain column: {e}"))?;
    if chain != header.chain {
        return Err(format!(
            "is indexed under chain {chain} but its header names chain {}",
            header.chain
        ));
    }
    let seq = seq.map_err(|e| format!("has an unreadable seq column: {e}"))?;
    if u64::try_from(seq).ok() != Some(header.seq) {
        return Err(format!(
            "is indexed as seq {seq} of its chain but its header says seq {}",
            header.seq
        ));
    }
    Ok(())
}

/// Checks the events of one chain read in seq order: seqs 0, 1, 2... each linked to the one
/// before and stored after it, or the store is [`StoreError::Corrupt`] naming the position.
fn check_chain(events: &[StoredEvent]) -> Result<(), StoreError> {
    let mut before: Option<&StoredEvent> = None;
    for (i, ev) in events.iter().enumerate() {
        let header = &ev.record.header;
        let prev = before.map(|b| b.record.hash);
        let problem = if header.seq != i as u64 {
            Some(format!("is seq {} where seq {i} was expected", header.seq))
        } else if header.prev != prev {
            Some("does not link to the record before it".to_string())
        } else if before.is_some_and(|b| b.position >= ev.position) {
            Some("is stored before the record it follows".to_string())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(StoreError::Corrupt(format!(
                "event at position {} of chain {} {problem}: the chain has a gap or was \
                 reordered",
                ev.position, header.chain
            )));
        }
        before = Some(ev);
    }
    Ok(())
}

fn query_events(
    conn: &Connection,
    op: &'static str,
    tail: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!("{SELECT_EVENT} {tail}"))
        .map_err(sql(op))?;
    let rows = stmt.query_map(params, raw_event).map_err(sql(op))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(decode_event(row.map_err(sql(op))?)?);
    }
    Ok(out)
}

fn read_events(
    conn: &Connection,
    position: u64,
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    let Ok(from) = i64::try_from(position) else {
        return Ok(Vec::new());
    };
    let events = query_events(
        conn,
        "read",
        "WHERE e.position >= ?1 ORDER BY e.position LIMIT ?2",
        params![from, limit_i64(limit)],
    )?;
    // Positions are dense: a row removed behind the triggers' back is a hole, not a skip.
    for (i, ev) in events.iter().enumerate() {
        let expected = position + i as u64;
        if ev.position != expected {
            return Err(StoreError::Corrupt(format!(
                "the ledger has no event at position {expected} (the next row is at position {})",
                ev.position
            )));
        }
    }
    Ok(events)
}

/// The append transaction: duplicate check, head check and insert under one write lock.
fn append_in(conn: &mut Connection, record: &Record) -> Result<AppendOutcome, StoreError> {
    let header = &record.header;
    let hash = record.hash.as_bytes().to_vec();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql("append"))?;
    let existing: Option<i64> = tx
        .query_row(
            "SELECT position FROM events WHERE hash = ?1",
            [&hash],
            |row| row.get(0),
        )
        .optional()
        .map_err(sql("append"))?;
    if let Some(position) = existing {
        let position = u64::try_from(position).map_err(|_| {
            StoreError::Corrupt(format!("an event has a negative position {position}"))
        })?;
        if complete_payload(&tx, position, record)? {
            tx.commit().map_err(sql("append"))?;
            tracing::info!(position, hash = %record.hash, "retry completed a missing payload");
        }
        tracing::debug!(position, hash = %record.hash, "append of a stored record: duplicate");
        return Ok(AppendOutcome::Duplicate { position });
    }
    let head = head_of(&tx, &header.chain)?;
    let expected = match head {
        None => (0, None),
        Some(h) => (h.seq + 1, Some(h.hash)),
    };
    if (header.seq, header.prev) != expected {
        tracing::debug!(hash = %record.hash, "append does not extend the chain head: conflict");
        return Err(StoreError::Conflict(ChainConflict::raced(
            header.chain.clone(),
            head,
        )));
    }
    let position = ledger_size(&tx)?;
    insert_event(&tx, position, record)?;
    tx.commit().map_err(sql("append"))?;
    tracing::debug!(position, hash = %record.hash, "event appended");
    Ok(AppendOutcome::Appended { position })
}

/// Inserts a record (header row, and its payload row when it carries one) at `position`.
fn insert_event(
    tx: &rusqlite::Transaction<'_>,
    position: u64,
    record: &Record,
) -> Result<(), StoreError> {
    let header = &record.header;
    let hash = record.hash.as_bytes().to_vec();
    let stored = record.without_payload().to_json_line();
    let (position, seq) = (to_i64(position, "position")?, to_i64(header.seq, "seq")?);
    tx.prepare_cached(
        "INSERT INTO events (position, chain, seq, hash, record) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut stmt| stmt.execute(params![position, header.chain, seq, hash, stored]))
    .map_err(sql("append"))?;
    if let Some(payload) = &record.payload {
        tx.prepare_cached("INSERT INTO payloads (hash, payload) VALUES (?1, ?2)")
            .and_then(|mut stmt| stmt.execute(params![hash, encode_payload(payload)]))
            .map_err(sql("append"))?;
    }
    Ok(())
}

/// The batch transaction ([`LedgerStore::append_batch`]): the records in order, each checked
/// against the stored hashes and its chain's head as the batch left it, up to the first that
/// is not new or does not extend its head; one commit for all.
fn append_batch_in(conn: &mut Connection, records: &[Record]) -> Result<Vec<u64>, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql("append batch"))?;
    let mut positions = Vec::with_capacity(records.len());
    for (position, record) in (ledger_size(&tx)?..).zip(records) {
        let header = &record.header;
        let stored: Option<i64> = tx
            .prepare_cached("SELECT position FROM events WHERE hash = ?1")
            .and_then(|mut stmt| {
                stmt.query_row([record.hash.as_bytes().as_slice()], |row| row.get(0))
                    .optional()
            })
            .map_err(sql("append batch"))?;
        if stored.is_some() {
            break;
        }
        let expected = match head_of(&tx, &header.chain)? {
            None => (0, None),
            Some(h) => (h.seq + 1, Some(h.hash)),
        };
        if (header.seq, header.prev) != expected {
            break;
        }
        insert_event(&tx, position, record)?;
        positions.push(position);
    }
    if !positions.is_empty() {
        tx.commit().map_err(sql("append batch"))?;
        tracing::debug!(
            first = positions[0],
            count = positions.len(),
            "events appended in one transaction"
        );
    }
    Ok(positions)
}

/// Stores the payload of a retried record when the stored event at `position` has none and no
/// redaction, and the payload matches the stored header ([`payload_matches`]). Returns whether
/// it wrote a row; a payload that does not match is [`StoreError::Backend`].
fn complete_payload(
    tx: &rusqlite::Transaction<'_>,
    position: u64,
    record: &Record,
) -> Result<bool, StoreError> {
    let Some(payload) = &record.payload else {
        return Ok(false);
    };
    let stored = query_events(
        tx,
        "append",
        "WHERE e.position = ?1",
        [to_i64(position, "position")?],
    )?
    .pop()
    .ok_or_else(|| StoreError::Corrupt(format!("the event at position {position} vanished")))?;
    if stored.payload != PayloadState::Missing {
        return Ok(false);
    }
    if !payload_matches(&stored.record.header, payload) {
        return Err(StoreError::Backend(format!(
            "the payload sent again for event {} does not match the payload_digest of its \
             stored header: not stored",
            record.hash
        )));
    }
    tx.execute(
        "INSERT INTO payloads (hash, payload) VALUES (?1, ?2)",
        params![record.hash.as_bytes().to_vec(), encode_payload(payload)],
    )
    .map_err(sql("complete payload"))?;
    Ok(true)
}

#[async_trait]
impl LedgerStore for SqliteStore {
    async fn append(&self, record: &Record) -> Result<AppendOutcome, StoreError> {
        let record = record.clone();
        let outcome = self.write(move |conn| append_in(conn, &record)).await?;
        if let AppendOutcome::Appended { position } = outcome {
            self.appended
                .send_modify(|size| *size = (*size).max(position + 1));
        }
        Ok(outcome)
    }

    async fn append_batch(&self, records: &[Record]) -> Result<Vec<u64>, StoreError> {
        let records = records.to_vec();
        let positions = self
            .write(move |conn| append_batch_in(conn, &records))
            .await?;
        if let Some(last) = positions.last() {
            self.appended
                .send_modify(|size| *size = (*size).max(last + 1));
        }
        Ok(positions)
    }

    async fn chain(&self, chain: &str) -> Result<Vec<StoredEvent>, StoreError> {
        let chain = chain.to_string();
        self.readers
            .read(move |conn| {
                let events =
                    query_events(conn, "chain", "WHERE e.chain = ?1 ORDER BY e.seq", [chain])?;
                check_chain(&events)?;
                Ok(events)
            })
            .await
    }

    async fn read_from(&self, position: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.readers
            .read(move |conn| read_events(conn, position, limit))
            .await
    }

    async fn subscribe(&self, position: u64) -> Result<EventStream, StoreError> {
        let subscription = Subscription {
            readers: Arc::clone(&self.readers),
            next: position,
            buffer: VecDeque::new(),
            wake: Some(self.appended.subscribe()),
            poll_interval: self.options.poll_interval,
            failed: false,
        };
        Ok(Box::pin(futures::stream::unfold(
            subscription,
            Subscription::step,
        )))
    }

    async fn head(&self, chain: &str) -> Result<Option<ChainHead>, StoreError> {
        let chain = chain.to_string();
        self.readers.read(move |conn| head_of(conn, &chain)).await
    }

    async fn size(&self) -> Result<u64, StoreError> {
        self.readers.read(ledger_size).await
    }

    async fn event(&self, hash: &Hash) -> Result<Option<StoredEvent>, StoreError> {
        let hash = hash.as_bytes().to_vec();
        let mut found = self
            .readers
            .read(move |conn| query_events(conn, "event", "WHERE e.hash = ?1", [hash]))
            .await?;
        Ok(found.pop())
    }

    async fn remove_payload(&self, hash: &Hash) -> Result<(), StoreError> {
        let key = hash.as_bytes().to_vec();
        let removed = self
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql("remove payload"))?;
                // The redaction is recorded first: the trigger refuses a deletion without it.
                tx.execute(
                    "INSERT OR IGNORE INTO redactions (hash) \
                     SELECT hash FROM events WHERE hash = ?1",
                    [&key],
                )
                .map_err(sql("remove payload"))?;
                let removed = tx
                    .execute("DELETE FROM payloads WHERE hash = ?1", [&key])
                    .map_err(sql("remove payload"))?;
                tx.commit().map_err(sql("remove payload"))?;
                Ok(removed)
            })
            .await?;
        tracing::info!(hash = %hash, removed = removed > 0, "payload removed");
        Ok(())
    }

    async fn meta(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let key = key.to_string();
        self.readers
            .read(move |conn| {
                let text: Option<String> = conn
                    .query_row("SELECT value FROM meta WHERE key = ?1", [&key], |row| {
                        row.get(0)
                    })
                    .optional()
                    .map_err(sql("meta"))?;
                text.map(|t| {
                    serde_json::from_str(&t).map_err(|e| {
                        StoreError::Corrupt(format!("meta document {key:?} is unreadable: {e}"))
                    })
                })
                .transpose()
            })
            .await
    }

    async fn set_meta(&self, key: &str, value: &serde_json::Value) -> Result<(), StoreError> {
        let key = key.to_string();
        let text = value.to_string();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, text],
            )
            .map_err(sql("set meta"))
            .map(drop)
        })
        .await
    }

    async fn log_access(&self, entry: &AccessEntry) -> Result<(), StoreError> {
        let text = serde_json::to_string(entry)
            .map_err(|e| StoreError::Backend(format!("cannot encode an access entry: {e}")))?;
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO access_log (id, entry) \
                 SELECT COALESCE(MAX(id) + 1, 0), ?1 FROM access_log",
                [text],
            )
            .map_err(sql("log access"))
            .map(drop)
        })
        .await
    }

    async fn record_fork(&self, alarm: &ForkAlarm) -> Result<bool, StoreError> {
        let other = alarm.other.hash.as_bytes().to_vec();
        let text = alarm.to_json();
        let new = self
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO fork_alarms (id, other, alarm) \
                     SELECT (SELECT COALESCE(MAX(id) + 1, 0) FROM fork_alarms), ?1, ?2 \
                     WHERE NOT EXISTS (SELECT 1 FROM fork_alarms WHERE other = ?1)",
                    params![other, text],
                )
                .map_err(sql("record fork"))
                .map(|n| n == 1)
            })
            .await?;
        if new {
            tracing::warn!(chain = %alarm.chain, seq = alarm.seq, stored = %alarm.stored, other = %alarm.other.hash, "fork alarm recorded");
        }
        Ok(new)
    }

    async fn forks(&self, from: u64, limit: usize) -> Result<Vec<ForkAlarm>, StoreError> {
        let Ok(from) = i64::try_from(from) else {
            return Ok(Vec::new());
        };
        self.readers
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT id, other, alarm FROM fork_alarms WHERE id >= ?1 ORDER BY id LIMIT ?2",
                    )
                    .map_err(sql("forks"))?;
                let rows = stmt
                    .query_map(params![from, limit_i64(limit)], |row| {
                        Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1), row.get::<_, String>(2)))
                    })
                    .map_err(sql("forks"))?;
                let mut out = Vec::new();
                for (i, row) in rows.enumerate() {
                    let (id, other, text) = row.map_err(sql("forks"))?;
                    if id != from + i as i64 {
                        return Err(StoreError::Corrupt(format!(
                            "the fork alarm log has no alarm {} (the next row is {id})",
                            from + i as i64
                        )));
                    }
                    let alarm = text
                        .map_err(|e| e.to_string())
                        .and_then(|t| ForkAlarm::from_json(t.as_bytes()))
                        .map_err(|e| {
                            StoreError::Corrupt(format!("fork alarm {id} is unreadable: {e}"))
                        })?;
                    // The index column must be the hash of the version the alarm keeps.
                    if other.ok().as_deref() != Some(alarm.other.hash.as_bytes().as_slice())
                        || alarm.other.header.compute_hash() != alarm.other.hash
                    {
                        return Err(StoreError::Corrupt(format!(
                            "fork alarm {id} is indexed under another hash than the record it keeps"
                        )));
                    }
                    out.push(alarm);
                }
                Ok(out)
            })
            .await
    }

    async fn add_checkpoint(&self, size: u64, note: &str) -> Result<(), StoreError> {
        check_checkpoint_note(size, note)?;
        let note = note.to_string();
        let size_i64 = to_i64(size, "checkpoint size")?;
        let added = self
            .write(move |conn| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql("add checkpoint"))?;
                let latest = latest_checkpoint_in(&tx)?;
                let changed = match latest {
                    Some(latest) if latest.size > size => {
                        return Err(StoreError::CheckpointBehind {
                            size,
                            latest: latest.size,
                        })
                    }
                    Some(latest) if latest.size == size => {
                        let merged = merge_checkpoint_note(size, &latest.note, &note)?;
                        if merged == latest.note {
                            false
                        } else {
                            tx.execute(
                                "UPDATE checkpoints SET note = ?1 WHERE size = ?2",
                                params![merged, size_i64],
                            )
                            .map_err(sql("add checkpoint"))?;
                            true
                        }
                    }
                    _ => {
                        tx.execute(
                            "INSERT INTO checkpoints (size, note) VALUES (?1, ?2)",
                            params![size_i64, note],
                        )
                        .map_err(sql("add checkpoint"))?;
                        true
                    }
                };
                tx.commit().map_err(sql("add checkpoint"))?;
                Ok(changed)
            })
            .await?;
        tracing::debug!(size, changed = added, "checkpoint stored");
        Ok(())
    }

    async fn checkpoints(
        &self,
        from_size: u64,
        limit: usize,
    ) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let Ok(from) = i64::try_from(from_size) else {
            return Ok(Vec::new());
        };
        self.readers
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT size, note FROM checkpoints WHERE size >= ?1 ORDER BY size LIMIT ?2",
                    )
                    .map_err(sql("checkpoints"))?;
                let rows = stmt
                    .query_map(params![from, limit_i64(limit)], checkpoint_row)
                    .map_err(sql("checkpoints"))?;
                let mut out = Vec::new();
                for row in rows {
                    out.push(decode_checkpoint(row.map_err(sql("checkpoints"))?)?);
                }
                Ok(out)
            })
            .await
    }

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        self.readers.read(latest_checkpoint_in).await
    }

    async fn access_log(&self, from: u64, limit: usize) -> Result<Vec<AccessEntry>, StoreError> {
        let Ok(from) = i64::try_from(from) else {
            return Ok(Vec::new());
        };
        self.readers
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT id, entry FROM access_log WHERE id >= ?1 ORDER BY id LIMIT ?2",
                    )
                    .map_err(sql("access log"))?;
                let rows = stmt
                    .query_map(params![from, limit_i64(limit)], |row| {
                        Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)))
                    })
                    .map_err(sql("access log"))?;
                let mut out = Vec::new();
                for row in rows {
                    let (id, text) = row.map_err(sql("access log"))?;
                    let entry = text
                        .map_err(|e| e.to_string())
                        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
                        .map_err(|e| {
                            StoreError::Corrupt(format!("access log entry {id} is unreadable: {e}"))
                        })?;
                    out.push(entry);
                }
                Ok(out)
            })
            .await
    }
}

/// A row of the `checkpoints` table: its size and its note, unchecked.
fn checkpoint_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, rusqlite::Result<String>)> {
    Ok((row.get(0)?, row.get(1)))
}

/// Checks a `checkpoints` row: a non-negative size and a note of that size, or
/// [`StoreError::Corrupt`] naming the size.
fn decode_checkpoint(
    (size, note): (i64, rusqlite::Result<String>),
) -> Result<StoredCheckpoint, StoreError> {
    let size = u64::try_from(size)
        .map_err(|_| StoreError::Corrupt(format!("a checkpoint has a negative size {size}")))?;
    let note = note.map_err(|e| {
        StoreError::Corrupt(format!("the checkpoint of size {size} is unreadable: {e}"))
    })?;
    if let Some(why) = checkpoint_note_problem(size, &note) {
        return Err(StoreError::Corrupt(format!(
            "the stored checkpoint of size {size} is damaged: the note {why}"
        )));
    }
    Ok(StoredCheckpoint { size, note })
}

/// The largest checkpoint of the history, checked.
fn latest_checkpoint_in(conn: &Connection) -> Result<Option<StoredCheckpoint>, StoreError> {
    conn.query_row(
        "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1",
        [],
        checkpoint_row,
    )
    .optional()
    .map_err(sql("latest checkpoint"))?
    .map(decode_checkpoint)
    .transpose()
}

/// The state of one subscription: the stored records not yet yielded, where to read next, and
/// what wakes it.
struct Subscription {
    readers: Arc<Readers>,
    next: u64,
    buffer: VecDeque<StoredEvent>,
    /// Appends by the store that opened the subscription; `None` once that store is dropped.
    wake: Option<watch::Receiver<u64>>,
    poll_interval: Duration,
    failed: bool,
}

impl Subscription {
    async fn step(mut self) -> Option<(Result<StoredEvent, StoreError>, Self)> {
        if self.failed {
            return None;
        }
        loop {
            if let Some(event) = self.buffer.pop_front() {
                return Some((Ok(event), self));
            }
            // Mark the current size seen before reading, so that no append is missed.
            if let Some(wake) = &mut self.wake {
                wake.borrow_and_update();
            }
            let next = self.next;
            match self
                .readers
                .read(move |conn| read_events(conn, next, SUBSCRIPTION_BATCH))
                .await
            {
                Ok(events) if events.is_empty() => self.wait().await,
                Ok(events) => {
                    for (i, event) in events.iter().enumerate() {
                        let expected = next + i as u64;
                        if event.position != expected {
                            self.failed = true;
                            let e = StoreError::Corrupt(format!(
                                "the ledger has no event at position {expected}"
                            ));
                            return Some((Err(e), self));
                        }
                    }
                    self.next = next + events.len() as u64;
                    self.buffer.extend(events);
                }
                Err(e) => {
                    self.failed = true;
                    return Some((Err(e), self));
                }
            }
        }
    }

    /// Waits for an append by this process or the next poll tick.
    async fn wait(&mut self) {
        let tick = tokio::time::sleep(self.poll_interval);
        match &mut self.wake {
            Some(wake) => {
                let store_gone = tokio::select! {
                    changed = wake.changed() => changed.is_err(),
                    () = tick => false,
                };
                if store_gone {
                    self.wake = None;
                }
            }
            None => tick.await,
        }
    }
}
