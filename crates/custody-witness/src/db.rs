//! The witness's own state, one SQLite file:
//!
//! - `meta(key, value)`: the witness name and the path of its key file (`init`);
//! - `logs(origin, size, root, updated_at)`: every log the witness is configured for, with the
//!   size and root of the last checkpoint it cosigned (0 and the empty-tree root at first);
//! - `log_keys(origin, vkey)`: the trusted note keys of each log (signed-note vkeys).
//!
//! [`WitnessDb::commit`] is the one step that moves a log forward: in a `BEGIN IMMEDIATE`
//! transaction (no other connection, in this process or another, can write in between) it
//! reads the stored size and root, checks the old size, the same-size root and the consistency
//! proof against them, and writes the new size and root with a compare-and-swap on the old
//! size. Two requests from the same old size therefore cannot both win (c2sp.org/tlog-witness:
//! "checking the old size ... and persisting the new checkpoint must be performed atomically").

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use custody_core::checkpoint::NoteVerifier;
use custody_core::merkle::{verify_consistency, Digest, ProofError, EMPTY_ROOT};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// Why the witness database refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// SQLite failed (I/O, locked for longer than the busy time-out, corrupt file).
    #[error("witness database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file holds a value that this code would never have written.
    #[error("witness database is damaged: {0}")]
    Corrupt(String),
    /// An origin given to [`WitnessDb::add_log`] is empty or holds a control character.
    #[error("origin {0:?} is invalid: it must be one non-empty line without control characters")]
    BadOrigin(String),
    /// A log key given to [`WitnessDb::add_log`] is not a valid note verifier key.
    #[error("log key {vkey:?} is invalid: {reason}")]
    BadLogKey {
        /// The key given.
        vkey: String,
        /// Why it was refused.
        reason: String,
    },
}

/// Why [`WitnessDb::commit`] did not move the log forward (each maps to one HTTP status).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommitError {
    /// The origin is not configured (404).
    #[error("unknown log origin {0:?}: this witness is not configured for it")]
    UnknownOrigin(String),
    /// The old size is not the size last cosigned (409, the body gives `witness_size`).
    #[error("old size {old_size} is not the size this witness last cosigned for the log ({witness_size})")]
    Conflict {
        /// The old size sent.
        old_size: u64,
        /// The size last cosigned.
        witness_size: u64,
    },
    /// The checkpoint has the size last cosigned but another root: a fork (409).
    #[error("the witness cosigned another root at size {size}: refusing a forked tree")]
    Fork {
        /// The size of both trees.
        size: u64,
    },
    /// The consistency proof does not prove that the new tree extends the old one (422).
    #[error("consistency proof from size {old_size} to {new_size} does not verify: {source}")]
    BadProof {
        /// The old size.
        old_size: u64,
        /// The new size.
        new_size: u64,
        /// What the verifier found.
        source: ProofError,
    },
    /// A size does not fit SQLite's signed 64-bit integers (400).
    #[error("tree size {0} is too large (at most 2^63 - 1)")]
    SizeTooLarge(u64),
    /// The database failed (500).
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<rusqlite::Error> for CommitError {
    fn from(e: rusqlite::Error) -> Self {
        CommitError::Db(DbError::Sqlite(e))
    }
}

/// A log's state: the last size and root cosigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogState {
    /// Size of the last cosigned checkpoint (0 before the first).
    pub size: u64,
    /// Its root (the empty-tree root before the first).
    pub root: Digest,
}

/// The witness database: one connection, used by one caller at a time.
pub struct WitnessDb {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for WitnessDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessDb").finish_non_exhaustive()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS logs (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL CHECK (size >= 0),
    root BLOB NOT NULL CHECK (length(root) = 32),
    updated_at INTEGER
) STRICT;
CREATE TABLE IF NOT EXISTS log_keys (
    origin TEXT NOT NULL REFERENCES logs(origin),
    vkey TEXT NOT NULL,
    PRIMARY KEY (origin, vkey)
) STRICT;
";

fn to_i64(v: u64) -> Result<i64, CommitError> {
    i64::try_from(v).map_err(|_| CommitError::SizeTooLarge(v))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl WitnessDb {
    /// Opens (creating if needed) the database file, in WAL mode with a 5-second busy
    /// time-out so that a second connection waits for a writer rather than failing.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction half done: rusqlite rolls
        // back an unfinished transaction when it is dropped.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets a `meta` value (the witness name, the key file path).
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), DbError> {
        self.conn().execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Reads a `meta` value.
    pub fn meta(&self, key: &str) -> Result<Option<String>, DbError> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Configures a log (idempotent): its origin line and one trusted note key. A log may have
    /// several keys (call again); its state starts at size 0. Returns whether the key was new.
    pub fn add_log(&self, origin: &str, vkey: &str) -> Result<bool, DbError> {
        if origin.is_empty() || origin.chars().any(char::is_control) {
            return Err(DbError::BadOrigin(origin.to_owned()));
        }
        NoteVerifier::parse(vkey).map_err(|e| DbError::BadLogKey {
            vkey: vkey.to_owned(),
            reason: e.to_string(),
        })?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT OR IGNORE INTO logs (origin, size, root) VALUES (?1, 0, ?2)",
            params![origin, EMPTY_ROOT.as_slice()],
        )?;
        let added = tx.execute(
            "INSERT OR IGNORE INTO log_keys (origin, vkey) VALUES (?1, ?2)",
            params![origin, vkey],
        )?;
        tx.commit()?;
        Ok(added == 1)
    }

    /// The trusted keys of a log, or `None` when the origin is not configured.
    pub fn log_keys(&self, origin: &str) -> Result<Option<Vec<NoteVerifier>>, DbError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT vkey FROM log_keys WHERE origin = ?1")?;
        let vkeys = stmt
            .query_map([origin], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        if vkeys.is_empty() {
            return Ok(None);
        }
        vkeys
            .iter()
            .map(|k| {
                NoteVerifier::parse(k)
                    .map_err(|e| DbError::Corrupt(format!("stored log key {k:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// The configured origins, sorted.
    pub fn origins(&self) -> Result<Vec<String>, DbError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT origin FROM logs ORDER BY origin")?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The last cosigned state of a log, or `None` when the origin is not configured.
    pub fn state(&self, origin: &str) -> Result<Option<LogState>, DbError> {
        let conn = self.conn();
        read_state(&conn, origin)
    }

    /// Moves the log `origin` from `old_size` to the checkpoint (`new_size`, `new_root`) if
    /// `old_size` is the size last cosigned and `proof` proves consistency from the stored
    /// root; atomically (see the module documentation). `stall` waits inside the transaction,
    /// between the checks and the write (tests use it to widen the race window).
    ///
    /// The caller has checked `old_size <= new_size` and that a non-empty proof has
    /// `old_size > 0`.
    pub fn commit(
        &self,
        origin: &str,
        old_size: u64,
        new_size: u64,
        new_root: &Digest,
        proof: &[Digest],
        stall: Option<Duration>,
    ) -> Result<(), CommitError> {
        let old_i = to_i64(old_size)?;
        let new_i = to_i64(new_size)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let state = read_state(&tx, origin)?
            .ok_or_else(|| CommitError::UnknownOrigin(origin.to_owned()))?;
        if state.size != old_size {
            return Err(CommitError::Conflict {
                old_size,
                witness_size: state.size,
            });
        }
        if old_size == new_size && state.root != *new_root {
            return Err(CommitError::Fork { size: new_size });
        }
        verify_consistency(old_size, new_size, &state.root, new_root, proof).map_err(|source| {
            CommitError::BadProof {
                old_size,
                new_size,
                source,
            }
        })?;
        if let Some(d) = stall {
            std::thread::sleep(d);
        }
        let changed = tx.execute(
            "UPDATE logs SET size = ?1, root = ?2, updated_at = ?3 WHERE origin = ?4 AND size = ?5",
            params![new_i, new_root.as_slice(), unix_now(), origin, old_i],
        )?;
        if changed != 1 {
            // Unreachable while the transaction holds the write lock; kept as the
            // compare-and-swap that makes the write safe on its own.
            let now = read_state(&tx, origin)?.map_or(0, |s| s.size);
            return Err(CommitError::Conflict {
                old_size,
                witness_size: now,
            });
        }
        tx.commit()?;
        Ok(())
    }
}

fn read_state(conn: &Connection, origin: &str) -> Result<Option<LogState>, DbError> {
    let row: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT size, root FROM logs WHERE origin = ?1")?
        .query_row([origin], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((size, root)) = row else {
        return Ok(None);
    };
    let size = u64::try_from(size)
        .map_err(|_| DbError::Corrupt(format!("negative size {size} for {origin:?}")))?;
    let root = <Digest>::try_from(root.as_slice())
        .map_err(|_| DbError::Corrupt(format!("root of {origin:?} is not 32 bytes")))?;
    Ok(Some(LogState { size, root }))
}
