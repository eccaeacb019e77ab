//! The persisted read model of custody-ledger: the [`Projection`] of `custody-views` (the
//! directory of agencies and facilities, one fold per detainee chain, the ledger position
//! reached) kept in one SQLite file beside the ledger, caught up from the ledger by position.
//!
//! - **Idempotent by ledger position.** The file's `cursor` row holds the last ledger position
//!   folded; every batch of records is folded in memory, then its changed rows (the directory,
//!   each detainee chain the batch touched) and the new cursor are written in **one
//!   transaction** (a rebuild writes larger batches, [`ProjectionDb::rebuild_batch_size`], each
//!   touched row once per transaction). A crash between batches leaves the file at a batch
//!   boundary: the next
//!   catch-up starts after the cursor and folds nothing twice; folding an older position is a
//!   no-op ([`Projection::observe`]).
//! - **One ledger per file.** The cursor row names the ledger (its name and the hash of its first
//!   record); a file made from another ledger is refused ([`ProjectionError::OtherLedger`]), and
//!   so is a file ahead of its ledger.
//! - **Rebuildable.** The file is a cache of the ledger: [`ProjectionDb::rebuild`] folds the whole
//!   ledger again from scratch to the same result, and a file written by another version of
//!   the fold ([`ProjectionError::Undecodable`]) is rebuilt rather than trusted.
//! - **The one scan.** Records are read with [`custody_store::LedgerScan`] (the continuity check of
//!   every reader), from any [`LedgerStore`]: the SQLite file and JetStream alike. The caller
//!   folds only verified records: the gateway bounds the catch-up by what its ledger validated
//!   ([`ProjectionDb::catch_up_until`]); a command verifies the store first.
//!
//! Rows are queryable by indexed columns (custody state, legal status, facility, court) for
//! tools reading the file; the views themselves are computed from the [`Projection`] in memory.
//! The file holds no payload (the fold is made from headers), but it names chains, facilities and
//! courts: it is created with mode 0600, like the ledger. Logs carry positions and counts only.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use custody_core::Timestamp;
use custody_store::{Binding, LedgerScan, LedgerStore, StoreError, StoredEvent, SCAN_BATCH};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

pub use custody_views::detainee::{DetaineeFold, Directory, Projection, ProjectionGap, Touched};

/// The schema version of the file (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;

/// The version of the fold's JSON in the file: a file written with another is rebuilt.
pub const FOLD_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE cursor (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    ledger TEXT NOT NULL,
    genesis TEXT,
    fold_version INTEGER NOT NULL,
    position INTEGER,
    latest_recorded_at TEXT
);
CREATE TABLE directory (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    fold TEXT NOT NULL
);
CREATE TABLE detainee (
    chain TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    last_position INTEGER,
    custody_state TEXT,
    legal_status TEXT,
    facility TEXT,
    court TEXT,
    fold TEXT NOT NULL
);
CREATE INDEX detainee_custody_state ON detainee (custody_state);
CREATE INDEX detainee_legal_status ON detainee (legal_status);
CREATE INDEX detainee_facility ON detainee (facility);
CREATE INDEX detainee_court ON detainee (court);
CREATE INDEX detainee_code ON detainee (code);
";

/// Why the read model could not be read, written or caught up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectionError {
    /// The views file was made from another ledger (or the ledger was replaced).
    #[error("the views file {file} belongs to ledger {expected}, not to this ledger ({found}): pass another views file, or delete it to rebuild it from this ledger")]
    OtherLedger {
        /// The file.
        file: PathBuf,
        /// The ledger the file names.
        expected: String,
        /// This ledger.
        found: String,
    },
    /// The file has folded more records than the ledger holds.
    #[error("the views file {file} has folded the ledger up to position {position}, but the ledger holds only {size} records: it was made from another copy of the ledger; delete it to rebuild it")]
    AheadOfLedger {
        /// The file.
        file: PathBuf,
        /// The last position the file folded.
        position: u64,
        /// The ledger's size.
        size: u64,
    },
    /// A row of the file does not decode as this version's fold (an older or newer program
    /// wrote it, or it was damaged): rebuild the file.
    #[error("the views file {file} cannot be read by this version ({what}): rebuild it (it is a cache of the ledger)")]
    Undecodable {
        /// The file.
        file: PathBuf,
        /// What could not be read.
        what: String,
    },
    /// Records were folded out of order (a gap in the positions given).
    #[error("views fold: {0}")]
    Gap(#[from] ProjectionGap),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The SQLite file failed.
    #[error("views file {file}: {op}: {message}")]
    Sqlite {
        /// The file.
        file: PathBuf,
        /// What was being done.
        op: &'static str,
        /// SQLite's error.
        message: String,
    },
}

impl ProjectionError {
    /// Whether rebuilding the file from the ledger repairs it (a cache written by another version
    /// or damaged), as opposed to a file of another ledger, which is not overwritten.
    pub fn is_rebuildable(&self) -> bool {
        matches!(self, ProjectionError::Undecodable { .. })
    }
}

/// The identity of a ledger, written in the file's cursor row (shared with the tree file of
/// `custody-tlog`).
pub use custody_store::LedgerIdentity;

/// What a catch-up did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatchUp {
    /// Records folded by this call.
    pub folded: u64,
    /// The last ledger position folded (`None`: nothing yet).
    pub position: Option<u64>,
}

impl CatchUp {
    /// The ledger position the next catch-up starts from.
    pub fn next(&self) -> u64 {
        self.position.map_or(0, |p| p + 1)
    }
}

/// One detainee row of the file, ready to write.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    code: String,
    last_position: Option<u64>,
    index: Index,
    fold: String,
}

/// The indexed columns of a detainee row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Index {
    /// Custody state code (`held`, `gap`, `released`...).
    pub custody_state: Option<String>,
    /// Legal status code.
    pub legal_status: Option<String>,
    /// The facility the person is held at, if held at one.
    pub facility: Option<String>,
    /// The court of the current order or next hearing.
    pub court: Option<String>,
}

/// The indexed columns of a fold: its custody status, legal status, current facility and the
/// court of its current order (else of its latest hearing).
pub fn index_of(fold: &DetaineeFold) -> Index {
    let court = fold
        .current_order()
        .and_then(|o| o.court.clone())
        .or_else(|| {
            fold.hearings
                .iter()
                .rev()
                .find_map(|h| h.court().map(str::to_owned))
        });
    Index {
        custody_state: fold.custody_status().map(|s| s.code().to_owned()),
        legal_status: Some(fold.legal.code().to_owned()),
        facility: fold.current_facility().map(str::to_owned),
        court,
    }
}

/// The rows a batch of records changed, written in one transaction by
/// [`ProjectionDb::commit`]. Changes not yet written are [merged](Changes::merge) with the next
/// batch's, so the file never has a cursor past a change it did not write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Changes {
    directory: Option<String>,
    detainees: BTreeMap<String, Row>,
    position: Option<u64>,
    latest_recorded_at: Option<Timestamp>,
    folded: u64,
}

impl Changes {
    /// Whether the batch folded nothing.
    pub fn is_empty(&self) -> bool {
        self.folded == 0
    }

    /// Records folded.
    pub fn folded(&self) -> u64 {
        self.folded
    }

    /// The last position folded.
    pub fn position(&self) -> Option<u64> {
        self.position
    }

    /// Adds the changes of a later batch (its rows replace these).
    pub fn merge(&mut self, later: Changes) {
        if later.directory.is_some() {
            self.directory = later.directory;
        }
        self.detainees.extend(later.detainees);
        if later.position.is_some() {
            self.position = later.position;
        }
        if later.latest_recorded_at.is_some() {
            self.latest_recorded_at = later.latest_recorded_at;
        }
        self.folded += later.folded;
    }
}

/// Folds verified records, in ledger order, into `projection` and returns the rows they
/// changed (an already folded position changes nothing; a gap is an error, and the records
/// before it stay folded). Pure: writes nothing.
pub fn fold_events(
    projection: &mut Projection,
    events: &[StoredEvent],
) -> Result<Changes, ProjectionError> {
    let mut touched_directory = false;
    let mut chains: Vec<String> = Vec::new();
    let mut folded = 0;
    let mut gap = None;
    for ev in events {
        match projection.observe(ev.position, &ev.record) {
            Ok(Touched::Nothing) => {}
            Ok(Touched::Directory) => {
                folded += 1;
                touched_directory = true;
            }
            Ok(Touched::Chain(chain)) => {
                folded += 1;
                chains.push(chain);
            }
            Err(e) => {
                gap = Some(e);
                break;
            }
        }
    }
    let changes = changes_of(projection, touched_directory, chains, folded)?;
    match gap {
        // The caller keeps the changes of the records before the gap only through a retry:
        // the projection in memory is ahead; commit what was folded first.
        Some(e) if folded == 0 => Err(e.into()),
        Some(e) => {
            tracing::warn!(error = %e, folded, "views fold stopped at a gap");
            Ok(changes)
        }
        None => Ok(changes),
    }
}

fn changes_of(
    projection: &Projection,
    touched_directory: bool,
    mut chains: Vec<String>,
    folded: u64,
) -> Result<Changes, ProjectionError> {
    chains.sort_unstable();
    chains.dedup();
    let encode = |what: &str, e: serde_json::Error| ProjectionError::Undecodable {
        file: PathBuf::new(),
        what: format!("{what} cannot be encoded: {e}"),
    };
    let directory = if touched_directory {
        Some(serde_json::to_string(&projection.directory).map_err(|e| encode("the directory", e))?)
    } else {
        None
    };
    let mut detainees = BTreeMap::new();
    for chain in chains {
        if let Some(fold) = projection.detainees.get(&chain) {
            let json = serde_json::to_string(fold).map_err(|e| encode("a detainee fold", e))?;
            detainees.insert(
                chain,
                Row {
                    code: fold.code.clone(),
                    last_position: fold.last_position,
                    index: index_of(fold),
                    fold: json,
                },
            );
        }
    }
    Ok(Changes {
        directory,
        detainees,
        position: projection.position,
        latest_recorded_at: projection.latest_recorded_at.clone(),
        folded,
    })
}

/// Records per transaction of a rebuild unless set ([`ProjectionDb::rebuild_batch_size`]): a
/// ledger of up to a million records is rebuilt in one transaction, each detainee row written
/// once.
pub const REBUILD_BATCH: usize = 1_000_000;

/// What a rebuild folded and has not written yet: the records, whether the directory changed,
/// and the chains they touched.
#[derive(Debug, Default)]
struct Pending {
    records: u64,
    directory: bool,
    chains: std::collections::BTreeSet<String>,
}

/// The read model's SQLite file.
#[derive(Debug)]
pub struct ProjectionDb {
    path: PathBuf,
    conn: Connection,
    batch: usize,
    rebuild_batch: usize,
    /// The ledger the file was checked against in this process.
    bound: Option<LedgerIdentity>,
}

impl ProjectionDb {
    /// Opens (creating it, mode 0600, if needed) the views file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<ProjectionDb, ProjectionError> {
        let path = path.as_ref().to_path_buf();
        create_private(&path)?;
        let conn = Connection::open(&path).map_err(sql(&path, "open"))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql(&path, "open"))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql(&path, "open"))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql(&path, "open"))?;
        let mut db = ProjectionDb {
            path,
            conn,
            batch: SCAN_BATCH,
            rebuild_batch: REBUILD_BATCH,
            bound: None,
        };
        db.init_schema()?;
        Ok(db)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads `size` records per batch of a catch-up (one transaction each; at least 1; default
    /// [`SCAN_BATCH`]).
    pub fn batch_size(mut self, size: usize) -> Self {
        self.batch = size.max(1);
        self
    }

    /// Writes a rebuild in transactions of `size` records (at least 1; default
    /// [`REBUILD_BATCH`]). A rebuild reads the ledger in scans of at most [`SCAN_BATCH`]
    /// records and folds them in memory; each transaction writes every row its records touched
    /// once, from the fold as it stands then, with the cursor: a rebuild stopped at any point
    /// leaves the file at the boundary of its last transaction.
    pub fn rebuild_batch_size(mut self, size: usize) -> Self {
        self.rebuild_batch = size.max(1);
        self
    }

    fn init_schema(&mut self) -> Result<(), ProjectionError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(&path, "create schema"))?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(sql(&path, "create schema"))?;
        match version {
            0 => {
                tx.execute_batch(SCHEMA)
                    .map_err(sql(&path, "create schema"))?;
                tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                    .map_err(sql(&path, "create schema"))?;
                tx.commit().map_err(sql(&path, "create schema"))?;
                Ok(())
            }
            SCHEMA_VERSION => Ok(()),
            other => Err(ProjectionError::Undecodable {
                file: path,
                what: format!("schema version {other}, this program knows {SCHEMA_VERSION}"),
            }),
        }
    }

    /// The ledger the file names, and its fold version (`None`: a new file).
    fn cursor_row(&self) -> Result<Option<(LedgerIdentity, i64)>, ProjectionError> {
        self.conn
            .query_row(
                "SELECT ledger, genesis, fold_version FROM cursor WHERE id = 0",
                [],
                |row| {
                    Ok((
                        LedgerIdentity {
                            name: row.get(0)?,
                            genesis: row.get(1)?,
                        },
                        row.get(2)?,
                    ))
                },
            )
            .optional()
            .map_err(sql(&self.path, "read the cursor"))
    }

    /// The last ledger position folded into the file (`None`: nothing yet).
    pub fn position(&self) -> Result<Option<u64>, ProjectionError> {
        let p: Option<Option<i64>> = self
            .conn
            .query_row("SELECT position FROM cursor WHERE id = 0", [], |row| {
                row.get(0)
            })
            .optional()
            .map_err(sql(&self.path, "read the cursor"))?;
        Ok(p.flatten().map(|p| p as u64))
    }

    /// Checks that the file belongs to the ledger of `store` (writing the ledger's identity in a
    /// new file) and that it is not ahead of it. Done once per process, on the first catch-up.
    pub async fn bind(&mut self, store: &dyn LedgerStore) -> Result<(), ProjectionError> {
        let identity = LedgerIdentity::of(store).await?;
        let size = store.size().await?;
        self.bind_to(&identity, size)
    }

    fn bind_to(&mut self, identity: &LedgerIdentity, size: u64) -> Result<(), ProjectionError> {
        match self.cursor_row()? {
            None => {
                self.conn
                    .execute(
                        "INSERT INTO cursor (id, ledger, genesis, fold_version, position) VALUES (0, ?1, ?2, ?3, NULL)",
                        params![identity.name, identity.genesis, FOLD_VERSION],
                    )
                    .map_err(sql(&self.path, "write the cursor"))?;
            }
            Some((file, version)) => {
                let binding = file.binding(identity);
                if let Binding::Other { expected, found } = binding {
                    return Err(ProjectionError::OtherLedger {
                        file: self.path.clone(),
                        expected,
                        found,
                    });
                }
                if version != FOLD_VERSION {
                    return Err(ProjectionError::Undecodable {
                        file: self.path.clone(),
                        what: format!("fold version {version}, this program writes {FOLD_VERSION}"),
                    });
                }
                if let Some(position) = self.position()? {
                    if position >= size {
                        return Err(ProjectionError::AheadOfLedger {
                            file: self.path.clone(),
                            position,
                            size,
                        });
                    }
                }
                if let Binding::LearnGenesis(genesis) = binding {
                    self.conn
                        .execute(
                            "UPDATE cursor SET genesis = ?1 WHERE id = 0",
                            params![genesis],
                        )
                        .map_err(sql(&self.path, "write the cursor"))?;
                }
            }
        }
        self.bound = Some(identity.clone());
        Ok(())
    }

    /// Reads the whole read model from the file (empty for a new file).
    pub fn load(&self) -> Result<Projection, ProjectionError> {
        let undecodable = |what: String| ProjectionError::Undecodable {
            file: self.path.clone(),
            what,
        };
        let mut projection = Projection::new();
        let head: Option<(Option<i64>, Option<String>, i64)> = self
            .conn
            .query_row(
                "SELECT position, latest_recorded_at, fold_version FROM cursor WHERE id = 0",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()
            .map_err(sql(&self.path, "read the cursor"))?;
        let Some((position, latest, version)) = head else {
            return Ok(projection);
        };
        if version != FOLD_VERSION {
            return Err(undecodable(format!(
                "fold version {version}, this program reads {FOLD_VERSION}"
            )));
        }
        projection.position = position.map(|p| p as u64);
        projection.latest_recorded_at = match latest {
            Some(t) => Some(
                Timestamp::parse(&t)
                    .map_err(|e| undecodable(format!("the latest recorded_at: {e:?}")))?,
            ),
            None => None,
        };
        let directory: Option<String> = self
            .conn
            .query_row("SELECT fold FROM directory WHERE id = 0", [], |row| {
                row.get(0)
            })
            .optional()
            .map_err(sql(&self.path, "read the directory"))?;
        if let Some(json) = directory {
            projection.directory = serde_json::from_str(&json)
                .map_err(|e| undecodable(format!("the directory: {e}")))?;
        }
        let mut stmt = self
            .conn
            .prepare("SELECT chain, fold FROM detainee")
            .map_err(sql(&self.path, "read the detainees"))?;
        let rows = stmt
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(sql(&self.path, "read the detainees"))?;
        for row in rows {
            let (chain, json) = row.map_err(sql(&self.path, "read the detainees"))?;
            let fold: DetaineeFold = serde_json::from_str(&json)
                .map_err(|e| undecodable(format!("the fold of chain {chain}: {e}")))?;
            projection.detainees.insert(chain, fold);
        }
        Ok(projection)
    }

    /// Writes a batch's changed rows and the new cursor in one transaction. Refuses changes
    /// older than the file's cursor (they were written already): nothing changes then.
    pub fn commit(&mut self, changes: &Changes) -> Result<(), ProjectionError> {
        if changes.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let op = "write a batch";
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(&path, op))?;
        let current: Option<Option<i64>> = tx
            .query_row("SELECT position FROM cursor WHERE id = 0", [], |row| {
                row.get(0)
            })
            .optional()
            .map_err(sql(&path, op))?;
        let Some(current) = current else {
            return Err(ProjectionError::Sqlite {
                file: path,
                op,
                message: "the file is not bound to a ledger yet (catch up first)".to_string(),
            });
        };
        let new = changes.position.map(|p| p as i64);
        if current.is_some() && new <= current {
            return Ok(());
        }
        if let Some(json) = &changes.directory {
            tx.execute(
                "INSERT INTO directory (id, fold) VALUES (0, ?1)
                 ON CONFLICT (id) DO UPDATE SET fold = excluded.fold",
                params![json],
            )
            .map_err(sql(&path, op))?;
        }
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO detainee (chain, code, last_position, custody_state, legal_status, facility, court, fold)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (chain) DO UPDATE SET code = excluded.code,
                        last_position = excluded.last_position, custody_state = excluded.custody_state,
                        legal_status = excluded.legal_status, facility = excluded.facility,
                        court = excluded.court, fold = excluded.fold",
                )
                .map_err(sql(&path, op))?;
            for (chain, row) in &changes.detainees {
                stmt.execute(params![
                    chain,
                    row.code,
                    row.last_position.map(|p| p as i64),
                    row.index.custody_state,
                    row.index.legal_status,
                    row.index.facility,
                    row.index.court,
                    row.fold,
                ])
                .map_err(sql(&path, op))?;
            }
        }
        tx.execute(
            "UPDATE cursor SET position = ?1, latest_recorded_at = ?2 WHERE id = 0",
            params![
                new,
                changes
                    .latest_recorded_at
                    .as_ref()
                    .map(|t| t.as_str().to_owned())
            ],
        )
        .map_err(sql(&path, op))?;
        tx.commit().map_err(sql(&path, op))?;
        Ok(())
    }

    /// Folds into `projection` (which must be this file's [`ProjectionDb::load`], or kept in step
    /// with it) every ledger record after its position, batch by batch, each batch committed
    /// with the cursor in one transaction.
    pub async fn catch_up(
        &mut self,
        store: &dyn LedgerStore,
        projection: &mut Projection,
    ) -> Result<CatchUp, ProjectionError> {
        self.catch_up_until(store, projection, None).await
    }

    /// [`ProjectionDb::catch_up`] up to ledger position `end` (exclusive) when given: the records
    /// the caller verified.
    pub async fn catch_up_until(
        &mut self,
        store: &dyn LedgerStore,
        projection: &mut Projection,
        end: Option<u64>,
    ) -> Result<CatchUp, ProjectionError> {
        if self.bound.is_none() {
            self.bind(store).await?;
        }
        let from = projection.position.map_or(0, |p| p + 1);
        let mut folded = 0;
        if end.is_some_and(|e| e <= from) {
            return Ok(CatchUp {
                folded,
                position: projection.position,
            });
        }
        let mut scan = LedgerScan::new(store, from).batch_size(self.batch);
        if let Some(end) = end {
            scan = scan.until(end);
        }
        while let Some(batch) = scan.next_batch().await? {
            let changes = fold_events(projection, &batch)?;
            self.commit(&changes)?;
            folded += changes.folded;
        }
        if folded > 0 {
            tracing::debug!(folded, position = ?projection.position, "views caught up");
        }
        Ok(CatchUp {
            folded,
            position: projection.position,
        })
    }

    /// Empties the file and folds the whole ledger again; returns the new read model.
    pub async fn rebuild(
        &mut self,
        store: &dyn LedgerStore,
    ) -> Result<(Projection, CatchUp), ProjectionError> {
        self.rebuild_until(store, None).await
    }

    /// [`ProjectionDb::rebuild`] up to ledger position `end` (exclusive) when given.
    pub async fn rebuild_until(
        &mut self,
        store: &dyn LedgerStore,
        end: Option<u64>,
    ) -> Result<(Projection, CatchUp), ProjectionError> {
        let identity = LedgerIdentity::of(store).await?;
        self.clear(&identity)?;
        let mut projection = Projection::new();
        let mut scan = LedgerScan::new(store, 0).batch_size(self.rebuild_batch.min(SCAN_BATCH));
        if let Some(end) = end {
            scan = scan.until(end);
        }
        // Folded in memory; the rows touched since the last transaction are named here and
        // encoded only when it is written, so a row touched by many records of a transaction
        // is encoded and written once (not once per scan).
        let mut pending = Pending::default();
        let mut folded = 0;
        while let Some(batch) = scan.next_batch().await? {
            for ev in &batch {
                match projection.observe(ev.position, &ev.record) {
                    Ok(Touched::Nothing) => continue,
                    Ok(Touched::Directory) => pending.directory = true,
                    Ok(Touched::Chain(chain)) => {
                        pending.chains.insert(chain);
                    }
                    Err(e) => {
                        folded += self.write_pending(&projection, &mut pending)?;
                        tracing::warn!(error = %e, folded, "views rebuild stopped at a gap");
                        return Err(e.into());
                    }
                }
                pending.records += 1;
                if pending.records >= self.rebuild_batch as u64 {
                    folded += self.write_pending(&projection, &mut pending)?;
                }
            }
        }
        folded += self.write_pending(&projection, &mut pending)?;
        tracing::debug!(folded, position = ?projection.position, "views rebuilt");
        let done = CatchUp {
            folded,
            position: projection.position,
        };
        Ok((projection, done))
    }

    /// Writes the rows `pending` names, from `projection`, with the cursor, in one transaction;
    /// returns the records they account for.
    fn write_pending(
        &mut self,
        projection: &Projection,
        pending: &mut Pending,
    ) -> Result<u64, ProjectionError> {
        let p = std::mem::take(pending);
        let changes = changes_of(
            projection,
            p.directory,
            p.chains.into_iter().collect(),
            p.records,
        )?;
        self.commit(&changes)?;
        Ok(p.records)
    }

    /// Deletes every row and names the ledger of `identity` in the cursor.
    fn clear(&mut self, identity: &LedgerIdentity) -> Result<(), ProjectionError> {
        let path = self.path.clone();
        let op = "empty the file";
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(&path, op))?;
        tx.execute_batch("DELETE FROM detainee; DELETE FROM directory; DELETE FROM cursor;")
            .map_err(sql(&path, op))?;
        tx.execute(
            "INSERT INTO cursor (id, ledger, genesis, fold_version, position) VALUES (0, ?1, ?2, ?3, NULL)",
            params![identity.name, identity.genesis, FOLD_VERSION],
        )
        .map_err(sql(&path, op))?;
        tx.commit().map_err(sql(&path, op))?;
        self.bound = Some(identity.clone());
        Ok(())
    }

    /// Records of the ledger not yet folded into the file: the ledger's size minus the file's
    /// next position.
    pub async fn lag(&self, store: &dyn LedgerStore) -> Result<u64, ProjectionError> {
        let size = store.size().await?;
        let next = self.position()?.map_or(0, |p| p + 1);
        Ok(size.saturating_sub(next))
    }

    /// Opens the file at `path`, loads it and catches it up with `store`; a file written by
    /// another version of the fold is rebuilt (a file of another ledger is refused).
    pub async fn open_current(
        path: impl AsRef<Path>,
        store: &dyn LedgerStore,
        end: Option<u64>,
    ) -> Result<(ProjectionDb, Projection), ProjectionError> {
        let mut db = ProjectionDb::open(path)?;
        let loaded = match db.bind(store).await {
            Ok(()) => db.load(),
            Err(e) => Err(e),
        };
        let mut projection = match loaded {
            Ok(p) => p,
            Err(e) if e.is_rebuildable() => {
                tracing::warn!(error = %e, "views file rebuilt from the ledger");
                let (p, _) = db.rebuild_until(store, end).await?;
                return Ok((db, p));
            }
            Err(e) => return Err(e),
        };
        db.catch_up_until(store, &mut projection, end).await?;
        Ok((db, projection))
    }
}

fn sql<'a>(path: &'a Path, op: &'static str) -> impl Fn(rusqlite::Error) -> ProjectionError + 'a {
    move |e| ProjectionError::Sqlite {
        file: path.to_path_buf(),
        op,
        message: e.to_string(),
    }
}

/// Creates the file with mode 0600 if it does not exist.
fn create_private(path: &Path) -> Result<(), ProjectionError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(ProjectionError::Sqlite {
            file: path.to_path_buf(),
            op: "create",
            message: e.to_string(),
        }),
    }
}
