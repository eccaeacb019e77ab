//! The ledger-wide Merkle tree of custody-ledger kept in one SQLite file of hashes
//! ([`TreeDb`]), so that a root, an inclusion proof or a consistency proof costs O(log n) reads
//! instead of rehashing every leaf (`custody_core::merkle` computes them from all the leaves).
//!
//! - **Every complete subtree node.** The file holds, for each level `l` and index `i`, the root
//!   of the perfect subtree over leaves `[i * 2^l, (i + 1) * 2^l)` once all of them exist (level 0:
//!   the leaf hashes `SHA-256(0x00 || event hash)`). A node is written once and never changes:
//!   the tree is append-only. The root of any range the RFC 6962 recursion needs is the fold of
//!   at most 64 such nodes, so any tree size up to the stored one is served, not only the latest:
//!   a root or a proof reads at most `2 * log2(n) + 1` nodes. About 2n rows of 32 bytes.
//! - **Derived and rebuildable.** The file is a cache of the ledger: [`TreeDb::catch_up`] reads
//!   the records after its size with [`custody_store::LedgerScan`] (the continuity check of every
//!   reader), batch by batch, each batch's nodes and the new size written in **one
//!   transaction**; deleting the file and catching up again gives the same hashes.
//! - **One ledger per file.** The file names its ledger (the ledger's name and the hash of its
//!   first record, as the views file of `custody-projection` does): a file of another ledger is
//!   refused ([`TreeError::OtherLedger`]). A ledger that holds fewer records than the file, or
//!   whose record at the file's last position is another one, was rewritten
//!   ([`TreeError::Rewritten`]): the file is left untouched, for an operator to look at.
//! - The proofs are exactly those of `custody_core::merkle::{inclusion_proof, consistency_proof}`
//!   (property-tested), verified by `custody_core::merkle::{verify_inclusion, verify_consistency}`.
//!
//! The file holds hashes only (no payload, no chain id): nothing personal. It is created with
//! mode 0600 like the ledger's other files all the same.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use custody_core::merkle::{leaf_hash, node_hash, Digest, ProofError, EMPTY_ROOT};
pub use custody_store::LedgerIdentity;
use custody_store::{Binding, LedgerScan, LedgerStore, StoreError, SCAN_BATCH};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

/// The schema version of the file (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;

/// Bits of a node key holding the index; the level is above them.
const INDEX_BITS: u32 = 57;

const SCHEMA: &str = "
CREATE TABLE tree (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    ledger TEXT,
    genesis TEXT,
    size INTEGER NOT NULL
);
-- key = level << 57 | index: the root of the perfect subtree over leaves
-- [index << level, (index + 1) << level).
CREATE TABLE node (
    key INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
);
";

/// Why the tree file could not be read, written or caught up, or a proof not given.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    /// The tree file was made from another ledger (or the ledger was replaced).
    #[error("the tree file {file} belongs to ledger {expected}, not to this ledger ({found}): pass another tree file, or delete it to rebuild it from this ledger")]
    OtherLedger {
        /// The file.
        file: PathBuf,
        /// The ledger the file names.
        expected: String,
        /// This ledger.
        found: String,
    },
    /// The ledger no longer holds what the tree file recorded from it: it shrank, or the record
    /// at a position the file holds is another one. The ledger was rewritten (or this is another
    /// copy of it): an operator must look; the file is not changed.
    #[error("the ledger was rewritten: {what} (tree file {file}); keep the file as evidence, and rebuild the tree elsewhere only once the ledger is understood")]
    Rewritten {
        /// The file.
        file: PathBuf,
        /// What differs.
        what: String,
    },
    /// A size or index outside the stored tree.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// The file is damaged or was written by another program (a node missing or malformed).
    #[error("the tree file {file} is damaged ({what}): delete it to rebuild it from the ledger (it is a cache)")]
    Damaged {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The SQLite file failed.
    #[error("tree file {file}: {op}: {message}")]
    Sqlite {
        /// The file.
        file: PathBuf,
        /// What was being done.
        op: &'static str,
        /// SQLite's error.
        message: String,
    },
}

/// What a catch-up did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatchUp {
    /// Leaves added by this call.
    pub added: u64,
    /// The tree's size after it.
    pub size: u64,
}

/// The Merkle tree file of one ledger. Shareable between tasks (`&self` everywhere): reads and
/// writes go through one connection behind a lock, catch-ups run one at a time.
#[derive(Debug)]
pub struct TreeDb {
    path: PathBuf,
    conn: Mutex<Connection>,
    batch: usize,
    /// Serialises catch-ups (held across the store's awaits, unlike the connection's lock).
    writer: tokio::sync::Mutex<Bound>,
}

/// What this process checked of the file's ledger.
#[derive(Debug, Default)]
struct Bound {
    identity: Option<LedgerIdentity>,
}

/// The root of the perfect subtree at `(level, index)` (see the module documentation).
fn key(level: u32, index: u64) -> i64 {
    ((u64::from(level) << INDEX_BITS) | index) as i64
}

/// Largest power of two strictly smaller than `n`; `n` must be at least 2.
fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

impl TreeDb {
    /// Opens (creating it, mode 0600, if needed) the tree file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<TreeDb, TreeError> {
        let path = path.as_ref().to_path_buf();
        create_private(&path)?;
        let mut conn = Connection::open(&path).map_err(sql(&path, "open"))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql(&path, "open"))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql(&path, "open"))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql(&path, "open"))?;
        init_schema(&path, &mut conn)?;
        Ok(TreeDb {
            path,
            conn: Mutex::new(conn),
            batch: SCAN_BATCH,
            writer: tokio::sync::Mutex::new(Bound::default()),
        })
    }

    /// A tree kept in memory only (no file; rebuilt from the ledger by the first catch-up): for
    /// a gateway given no tree file.
    pub fn in_memory() -> Result<TreeDb, TreeError> {
        let path = PathBuf::from(":memory:");
        let mut conn = Connection::open_in_memory().map_err(sql(&path, "open"))?;
        init_schema(&path, &mut conn)?;
        Ok(TreeDb {
            path,
            conn: Mutex::new(conn),
            batch: SCAN_BATCH,
            writer: tokio::sync::Mutex::new(Bound::default()),
        })
    }

    /// The file's path (`:memory:` for [`TreeDb::in_memory`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads `size` records per batch (one transaction each; at least 1; default
    /// [`SCAN_BATCH`]).
    pub fn batch_size(mut self, size: usize) -> Self {
        self.batch = size.max(1);
        self
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves no half-written state (writes are transactions).
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Number of leaves in the file.
    pub fn size(&self) -> Result<u64, TreeError> {
        read_size(&self.path, &self.conn())
    }

    /// The ledger the file names (`None`: a new file, or one filled by
    /// [`TreeDb::append_event_hashes`] without a ledger).
    pub fn identity(&self) -> Result<Option<LedgerIdentity>, TreeError> {
        let row: Option<(Option<String>, Option<String>)> = self
            .conn()
            .query_row("SELECT ledger, genesis FROM tree WHERE id = 0", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
            .map_err(sql(&self.path, "read the tree size"))?;
        Ok(row.and_then(|(name, genesis)| name.map(|name| LedgerIdentity { name, genesis })))
    }

    /// The root of the tree of the first `size` leaves ([`EMPTY_ROOT`] for 0).
    pub fn root(&self, size: u64) -> Result<Digest, TreeError> {
        let conn = self.conn();
        let stored = read_size(&self.path, &conn)?;
        check_size(size, stored)?;
        Nodes::new(&self.path, &conn).range_root(0, size)
    }

    /// The leaf hash at `index` (`SHA-256(0x00 || event hash)`).
    pub fn leaf(&self, index: u64) -> Result<Digest, TreeError> {
        let conn = self.conn();
        let stored = read_size(&self.path, &conn)?;
        if index >= stored {
            return Err(ProofError::IndexOutOfRange {
                index,
                tree_size: stored,
            }
            .into());
        }
        Nodes::new(&self.path, &conn).get(0, index)
    }

    /// The root of the perfect subtree over leaves `[index << level, (index + 1) << level)`,
    /// `None` while some of them are not in the file.
    pub fn node(&self, level: u32, index: u64) -> Result<Option<Digest>, TreeError> {
        if level > 63 || index >= 1 << INDEX_BITS {
            return Ok(None);
        }
        let conn = self.conn();
        let stored = read_size(&self.path, &conn)?;
        let end = index
            .checked_add(1)
            .and_then(|i| i.checked_mul(1u64 << level));
        if !matches!(end, Some(end) if end <= stored) {
            return Ok(None);
        }
        Nodes::new(&self.path, &conn).get(level, index).map(Some)
    }

    /// Inclusion proof of leaf `index` in the tree of the first `size` leaves, nodes from the
    /// leaf up: equal to `custody_core::merkle::inclusion_proof`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Digest>, TreeError> {
        let conn = self.conn();
        let stored = read_size(&self.path, &conn)?;
        check_size(size, stored)?;
        if index >= size {
            return Err(ProofError::IndexOutOfRange {
                index,
                tree_size: size,
            }
            .into());
        }
        let nodes = Nodes::new(&self.path, &conn);
        // PATH of RFC 9162 section 2.1.3.1 over the range [start, start + n).
        let (mut start, mut n, mut m) = (0u64, size, index);
        let mut path = Vec::new();
        while n > 1 {
            let k = split_point(n);
            if m < k {
                path.push(nodes.range_root(start + k, start + n)?);
                n = k;
            } else {
                path.push(nodes.range_root(start, start + k)?);
                m -= k;
                start += k;
                n -= k;
            }
        }
        path.reverse();
        Ok(path)
    }

    /// Consistency proof between the trees of the first `old` and `new` leaves: equal to
    /// `custody_core::merkle::consistency_proof` (empty when `old` is 0 or equals `new`).
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Digest>, TreeError> {
        let conn = self.conn();
        let stored = read_size(&self.path, &conn)?;
        check_size(new, stored)?;
        check_size(old, new)?;
        if old == 0 || old == new {
            return Ok(Vec::new());
        }
        let nodes = Nodes::new(&self.path, &conn);
        // SUBPROOF of RFC 9162 section 2.1.4.1; `complete` is its `b` flag.
        let (mut start, mut n, mut m) = (0u64, new, old);
        let mut complete = true;
        let mut proof = Vec::new();
        loop {
            if m == n {
                if !complete {
                    proof.push(nodes.range_root(start, start + n)?);
                }
                break;
            }
            let k = split_point(n);
            if m <= k {
                proof.push(nodes.range_root(start + k, start + n)?);
                n = k;
            } else {
                proof.push(nodes.range_root(start, start + k)?);
                m -= k;
                start += k;
                n -= k;
                complete = false;
            }
        }
        proof.reverse();
        Ok(proof)
    }

    /// Appends leaves for these event hashes to a file that names no ledger (for benchmarks
    /// and tools building a tree from hashes alone), in one transaction; returns the new size.
    /// A file bound to a ledger is refused: it is only ever caught up from its ledger.
    pub fn append_event_hashes(&self, event_hashes: &[Digest]) -> Result<u64, TreeError> {
        if let Some(identity) = self.identity()? {
            return Err(TreeError::OtherLedger {
                file: self.path.clone(),
                expected: identity.describe(),
                found: "hashes given without a ledger".to_string(),
            });
        }
        let start = self.size()?;
        let leaves: Vec<Digest> = event_hashes.iter().map(leaf_hash).collect();
        self.write_leaves(start, &leaves)
    }

    /// Writes `leaves` at positions `start..` and every node they complete, with the new size,
    /// in one transaction. Refused when the file's size is not `start` (another writer).
    fn write_leaves(&self, start: u64, leaves: &[Digest]) -> Result<u64, TreeError> {
        let path = &self.path;
        let op = "write a batch";
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(path, op))?;
        let size = read_size(path, &tx)?;
        if size != start {
            return Err(TreeError::Sqlite {
                file: path.clone(),
                op,
                message: format!(
                    "the file holds {size} leaves where {start} were expected: another process is writing it; retry"
                ),
            });
        }
        // The right border of the tree: one perfect subtree root per set bit of the size,
        // largest first (as `custody_core::merkle::Frontier`).
        let mut frontier: Vec<(u32, Digest)> = Vec::new();
        {
            let nodes = Nodes::new(path, &tx);
            let mut offset = 0u64;
            for level in (0..64u32).rev() {
                if size >> level & 1 == 1 {
                    frontier.push((level, nodes.get(level, offset >> level)?));
                    offset += 1 << level;
                }
            }
        }
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO node (key, hash) VALUES (?1, ?2)")
                .map_err(sql(path, op))?;
            for (n, leaf) in (size..).zip(leaves) {
                insert
                    .execute(params![key(0, n), &leaf[..]])
                    .map_err(sql(path, op))?;
                let mut hash = *leaf;
                let mut level = 0u32;
                while let Some(&(l, left)) = frontier.last() {
                    if l != level {
                        break;
                    }
                    frontier.pop();
                    hash = node_hash(&left, &hash);
                    level += 1;
                    insert
                        .execute(params![key(level, n >> level), &hash[..]])
                        .map_err(sql(path, op))?;
                }
                frontier.push((level, hash));
            }
        }
        let new = size + leaves.len() as u64;
        let changed = tx
            .execute(
                "UPDATE tree SET size = ?1 WHERE id = 0",
                params![new as i64],
            )
            .map_err(sql(path, op))?;
        if changed == 0 {
            tx.execute(
                "INSERT INTO tree (id, ledger, genesis, size) VALUES (0, NULL, NULL, ?1)",
                params![new as i64],
            )
            .map_err(sql(path, op))?;
        }
        tx.commit().map_err(sql(path, op))?;
        Ok(new)
    }

    /// Checks that the file belongs to the ledger of `store`, writing the ledger's identity in a
    /// new file.
    fn bind(&self, identity: &LedgerIdentity) -> Result<(), TreeError> {
        let size = self.size()?;
        match self.identity()? {
            None if size > 0 => Err(TreeError::OtherLedger {
                file: self.path.clone(),
                expected: "no ledger (a tree built from hashes alone)".to_string(),
                found: identity.describe(),
            }),
            None => {
                self.conn()
                    .execute(
                        "INSERT INTO tree (id, ledger, genesis, size) VALUES (0, ?1, ?2, 0)
                         ON CONFLICT (id) DO UPDATE SET ledger = excluded.ledger, genesis = excluded.genesis",
                        params![identity.name, identity.genesis],
                    )
                    .map_err(sql(&self.path, "write the ledger identity"))?;
                Ok(())
            }
            Some(file) => match file.binding(identity) {
                Binding::Same => Ok(()),
                Binding::LearnGenesis(genesis) => {
                    self.conn()
                        .execute(
                            "UPDATE tree SET genesis = ?1 WHERE id = 0",
                            params![genesis],
                        )
                        .map_err(sql(&self.path, "write the ledger identity"))?;
                    Ok(())
                }
                Binding::Other { expected, found } => Err(TreeError::OtherLedger {
                    file: self.path.clone(),
                    expected,
                    found,
                }),
            },
        }
    }

    /// Adds to the file every ledger record after its size, batch by batch (one transaction
    /// each); returns the new size. Checks first that the file belongs to this ledger (once per
    /// process), and on every call that the ledger still holds the file's last leaf.
    pub async fn catch_up(&self, store: &dyn LedgerStore) -> Result<u64, TreeError> {
        Ok(self.catch_up_until(store, None).await?.size)
    }

    /// [`TreeDb::catch_up`] up to ledger position `end` (exclusive) when given: the records the
    /// caller verified. When the file already holds `end` leaves (and was checked against this
    /// ledger in this process) nothing is read from the store: a caller that validates the
    /// ledger itself (the gateway) catches up before every proof at no cost.
    pub async fn catch_up_until(
        &self,
        store: &dyn LedgerStore,
        end: Option<u64>,
    ) -> Result<CatchUp, TreeError> {
        let mut bound = self.writer.lock().await;
        if let (Some(end), Some(_)) = (end, &bound.identity) {
            let size = self.size()?;
            if end <= size {
                return Ok(CatchUp { added: 0, size });
            }
        }
        if bound.identity.is_none() {
            let identity = LedgerIdentity::of(store).await?;
            self.bind(&identity)?;
            bound.identity = Some(identity);
        }
        let size = self.size()?;
        let ledger = store.size().await?;
        if ledger < size {
            return Err(TreeError::Rewritten {
                file: self.path.clone(),
                what: format!(
                    "it holds {ledger} records, but the tree file recorded {size} from it"
                ),
            });
        }
        if size > 0 {
            let last = size - 1;
            let stored = self.leaf(last)?;
            let found = store.read_from(last, 1).await?;
            let same = found.first().is_some_and(|ev| {
                ev.position == last && leaf_hash(ev.record.hash.as_bytes()) == stored
            });
            if !same {
                return Err(TreeError::Rewritten {
                    file: self.path.clone(),
                    what: format!(
                        "the record at position {last} is not the one the tree file recorded"
                    ),
                });
            }
        }
        let target = end.map_or(ledger, |e| e.min(ledger));
        if target <= size {
            return Ok(CatchUp { added: 0, size });
        }
        let mut scan = LedgerScan::new(store, size)
            .until(target)
            .batch_size(self.batch);
        let mut next = size;
        while let Some(batch) = scan.next_batch().await? {
            let leaves: Vec<Digest> = batch
                .iter()
                .map(|ev| leaf_hash(ev.record.hash.as_bytes()))
                .collect();
            next = self.write_leaves(next, &leaves)?;
        }
        tracing::debug!(added = next - size, size = next, "tree caught up");
        Ok(CatchUp {
            added: next - size,
            size: next,
        })
    }

    /// Leaves of the ledger not yet in the file.
    pub async fn lag(&self, store: &dyn LedgerStore) -> Result<u64, TreeError> {
        let ledger = store.size().await?;
        Ok(ledger.saturating_sub(self.size()?))
    }
}

/// Node reads on one connection (or transaction).
struct Nodes<'a> {
    path: &'a Path,
    conn: &'a Connection,
}

impl<'a> Nodes<'a> {
    fn new(path: &'a Path, conn: &'a Connection) -> Self {
        Nodes { path, conn }
    }

    fn get(&self, level: u32, index: u64) -> Result<Digest, TreeError> {
        let op = "read a node";
        let mut stmt = self
            .conn
            .prepare_cached("SELECT hash FROM node WHERE key = ?1")
            .map_err(sql(self.path, op))?;
        let bytes: Option<Vec<u8>> = stmt
            .query_row(params![key(level, index)], |row| row.get(0))
            .optional()
            .map_err(sql(self.path, op))?;
        let damaged = |what: String| TreeError::Damaged {
            file: self.path.to_path_buf(),
            what,
        };
        let bytes = bytes.ok_or_else(|| damaged(format!("node {level}/{index} is missing")))?;
        Digest::try_from(bytes.as_slice())
            .map_err(|_| damaged(format!("node {level}/{index} is not 32 bytes")))
    }

    /// MTH of leaves `[start, end)`, where `start` is a multiple of the largest power of two not
    /// above `end - start` (every range of the RFC 6962 recursion is): the right fold of its
    /// perfect subtrees, largest first.
    fn range_root(&self, start: u64, end: u64) -> Result<Digest, TreeError> {
        let len = end - start;
        if len == 0 {
            return Ok(EMPTY_ROOT);
        }
        let mut parts = Vec::new();
        let mut offset = start;
        for level in (0..64u32).rev() {
            if len >> level & 1 == 1 {
                parts.push(self.get(level, offset >> level)?);
                offset += 1 << level;
            }
        }
        let mut iter = parts.iter().rev();
        let last = *iter.next().unwrap_or(&EMPTY_ROOT);
        Ok(iter.fold(last, |acc, left| node_hash(left, &acc)))
    }
}

fn check_size(size: u64, max: u64) -> Result<(), TreeError> {
    if size > max {
        return Err(ProofError::SizeOutOfRange { size, max }.into());
    }
    Ok(())
}

fn read_size(path: &Path, conn: &Connection) -> Result<u64, TreeError> {
    let size: Option<i64> = conn
        .query_row("SELECT size FROM tree WHERE id = 0", [], |row| row.get(0))
        .optional()
        .map_err(sql(path, "read the tree size"))?;
    u64::try_from(size.unwrap_or(0)).map_err(|_| TreeError::Damaged {
        file: path.to_path_buf(),
        what: "a negative size".to_string(),
    })
}

fn init_schema(path: &Path, conn: &mut Connection) -> Result<(), TreeError> {
    let op = "create schema";
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql(path, op))?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(sql(path, op))?;
    match version {
        0 => {
            tx.execute_batch(SCHEMA).map_err(sql(path, op))?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(sql(path, op))?;
            tx.commit().map_err(sql(path, op))?;
            Ok(())
        }
        SCHEMA_VERSION => Ok(()),
        other => Err(TreeError::Damaged {
            file: path.to_path_buf(),
            what: format!("schema version {other}, this program knows {SCHEMA_VERSION}"),
        }),
    }
}

fn sql<'a>(path: &'a Path, op: &'static str) -> impl Fn(rusqlite::Error) -> TreeError + 'a {
    move |e| TreeError::Sqlite {
        file: path.to_path_buf(),
        op,
        message: e.to_string(),
    }
}

/// Creates the file with mode 0600 if it does not exist.
fn create_private(path: &Path) -> Result<(), TreeError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(TreeError::Sqlite {
            file: path.to_path_buf(),
            op: "create",
            message: e.to_string(),
        }),
    }
}
