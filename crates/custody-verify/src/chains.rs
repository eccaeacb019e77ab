//! The chains of a saved state ([`crate::STATE_FORMAT`] v2), one SQLite row per chain and per
//! save, read only for the chains that new records touch.
//!
//! A row is `(name, gen, state)`: `gen` is the ledger size of the save that wrote it, `state`
//! the chain's [`ChainState`] as JSON. A state saved at size `S` reads, for a chain, its row of
//! the highest `gen <= S`. A save writes the chains it touched at its new size in one
//! transaction, then the state file names the new size (an atomic rename), then the rows it
//! superseded are deleted: a crash between the two leaves rows of a size no state file names,
//! which the next opening deletes.

use std::path::Path;

use custody_core::chain::ChainState;
use rusqlite::{params, Connection, OptionalExtension};

use crate::StateError;

/// The SQLite file of a saved state's chains.
#[derive(Debug)]
pub struct ChainStore {
    conn: Connection,
    /// The size of the saved state whose chains are read.
    at: u64,
}

fn db(e: rusqlite::Error) -> StateError {
    StateError::Chains(e.to_string())
}

impl ChainStore {
    /// Opens (or creates) the chains file of a state saved at `at`: rows written after it (by a
    /// save that did not finish) are deleted.
    pub fn open(path: &Path, at: u64) -> Result<ChainStore, StateError> {
        let conn = Connection::open(path).map_err(db)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS chains (
                 name TEXT NOT NULL,
                 gen INTEGER NOT NULL,
                 state TEXT NOT NULL,
                 PRIMARY KEY (name, gen)
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS chains_gen ON chains (gen);",
        )
        .map_err(db)?;
        let at_sql = i64::try_from(at)
            .map_err(|_| StateError::Inconsistent(format!("size {at} is too large")))?;
        conn.execute("DELETE FROM chains WHERE gen > ?1", params![at_sql])
            .map_err(db)?;
        Ok(ChainStore { conn, at })
    }

    /// The size of the state whose chains are read.
    pub fn at(&self) -> u64 {
        self.at
    }

    /// The state of one chain at the saved size, if the chain existed then.
    pub fn load(&self, chain: &str) -> Result<Option<ChainState>, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT state FROM chains WHERE name = ?1 AND gen <= ?2 ORDER BY gen DESC LIMIT 1",
            )
            .map_err(db)?;
        let text: Option<String> = stmt
            .query_row(params![chain, self.at as i64], |row| row.get(0))
            .optional()
            .map_err(db)?;
        match text {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
                StateError::Chains(format!(
                    "the saved state of chain {chain} is malformed: {e}"
                ))
            }),
        }
    }

    /// Writes these chains' states at size `at` (one transaction). Not read before
    /// [`ChainStore::commit`].
    pub fn write<'a>(
        &mut self,
        at: u64,
        chains: impl IntoIterator<Item = (&'a String, &'a ChainState)>,
    ) -> Result<(), StateError> {
        let tx = self.conn.transaction().map_err(db)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO chains (name, gen, state) VALUES (?1, ?2, ?3)",
                )
                .map_err(db)?;
            for (name, state) in chains {
                let json = serde_json::to_string(state)?;
                stmt.execute(params![name, at as i64, json]).map_err(db)?;
            }
        }
        tx.commit().map_err(db)
    }

    /// Once the state file names size `at`: reads at `at`, and deletes the rows it supersedes.
    pub fn commit(&mut self, at: u64) -> Result<(), StateError> {
        self.at = at;
        self.conn
            .execute(
                "DELETE FROM chains WHERE gen < ?1 AND name IN \
                 (SELECT name FROM chains WHERE gen = ?1)",
                params![at as i64],
            )
            .map_err(db)?;
        Ok(())
    }

    /// Number of chains at the saved size.
    pub fn count(&self) -> Result<u64, StateError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(DISTINCT name) FROM chains WHERE gen <= ?1",
                params![self.at as i64],
                |row| row.get(0),
            )
            .map_err(db)?;
        Ok(n as u64)
    }
}
