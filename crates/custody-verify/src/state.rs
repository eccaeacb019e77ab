//! A verifier's saved state: what a verification reached at a ledger size, so that a later
//! verification (a monitor's daily incremental audit) resumes there instead of at the empty
//! ledger.
//!
//! The state is local to the auditor, not a wire format: a file the auditor writes and reads
//! back (docs/OPERATIONS.md, "Auditing as a monitor"). The file is a header of two lines, then
//! the state as JSON:
//!
//! ```text
//! custody-audit-state/v1
//! sha256 <64 lowercase hex digits: SHA-256 of the JSON bytes that follow>
//! {"format":"custody-audit-state/v1","ledger":...,"size":N,"frontier":{...},...}
//! ```
//!
//! That is the whole form ([`STATE_FORMAT`], `v1`): every chain's state in the JSON, read and
//! written whole. The split form ([`STATE_FORMAT_V2`], `v2`, [`SavedState::save`] and
//! [`SavedState::open`]) has the same two header lines and JSON without the chains, which are
//! in a SQLite file beside it ([`ChainStore`], named by `chains_file`), one row per chain: a
//! resumed verification reads only the chains its new records touch and writes back only
//! those, so resuming costs what the new records cost, not what the ledger holds. A `v1` file
//! is still read (and saved as `v2` afterwards).
//!
//! A file whose JSON does not hash to the header's digest (a byte changed by hand or by a
//! damaged disk) is refused ([`StateError::Digest`]), and a state is bound to the checkpoint it
//! was saved at: [`SavedState::check_checkpoint`] refuses one whose size or Merkle root is not
//! the checkpoint's.

use std::path::{Path, PathBuf};

use custody_core::checkpoint::Checkpoint;
use custody_core::encoding::{b64std, hex};
use custody_core::merkle::Frontier;
use custody_core::validate::Validator;
use custody_core::Hash;
use serde::{Deserialize, Serialize};

use crate::chains::ChainStore;

/// The format line of a saved state file in the whole form (every chain in the JSON), and the
/// `format` field of its JSON.
pub const STATE_FORMAT: &str = "custody-audit-state/v1";
/// The format line of a saved state file in the split form (the chains in a SQLite file beside
/// it, [`SavedState::save`]), and the `format` field of its JSON.
pub const STATE_FORMAT_V2: &str = "custody-audit-state/v2";

/// Where the last verified record of a JSONL file is, so that a resumed verification of the
/// same file seeks there instead of reading the lines before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePos {
    /// Its 1-based line number.
    pub line: u64,
    /// The byte offset where its line starts.
    pub start: u64,
    /// The byte offset just after its line (and its line ending).
    pub end: u64,
    /// Its hash: the line at `start` must still be this record.
    pub hash: Hash,
}

/// Why a saved state was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The file could not be read or written.
    #[error("cannot read or write the saved state: {0}")]
    Io(#[from] std::io::Error),
    /// The file does not start with the format line and the digest line.
    #[error("the saved state is not a {STATE_FORMAT} file: {0}")]
    Header(String),
    /// The JSON does not hash to the digest of the header.
    #[error("the saved state was altered: its JSON hashes to {computed}, not to the {claimed} written beside it")]
    Digest {
        /// The digest in the header.
        claimed: String,
        /// The digest of the JSON.
        computed: String,
    },
    /// The JSON is not a saved state.
    #[error("the saved state is malformed: {0}")]
    Json(#[from] serde_json::Error),
    /// The parts of the state disagree with each other.
    #[error("the saved state is inconsistent: {0}")]
    Inconsistent(String),
    /// The chains file of a split state could not be read or written.
    #[error("the saved chains are unreadable: {0}")]
    Chains(String),
    /// The state is not the one of this checkpoint.
    #[error("the saved state does not match the checkpoint: {0}")]
    Checkpoint(String),
}

/// What a verification reached at a ledger size: the validator's state, the Merkle frontier,
/// the counts, and the checkpoint note it was saved at (if any).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedState {
    /// Always [`STATE_FORMAT`].
    pub format: String,
    /// The ledger's name (the trust anchors' `ledger`).
    pub ledger: String,
    /// Records verified (the tree size).
    pub size: u64,
    /// The Merkle frontier of the first `size` records.
    pub frontier: Frontier,
    /// Records of the authority chain among them.
    pub authority_records: u64,
    /// Records among them that travelled without their payload.
    pub headers_only: u64,
    /// The signed checkpoint note of size `size` the state was saved at, if any.
    pub checkpoint: Option<String>,
    /// The validation state: the authority and every chain (whole form), or the authority and
    /// none (split form, on disk) or the chains a resumed verification touched (in memory).
    pub validator: Validator,
    /// Split form: the number of detainee chains, whose states are in the chains file rather
    /// than in `validator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chains: Option<u64>,
    /// Split form: the chains file's name, in the state file's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chains_file: Option<String>,
    /// Where the last record verified ends in the JSONL file verified, if it was a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FilePos>,
}

impl SavedState {
    /// Checks that the parts agree: the format, the sizes of the frontier and the validator,
    /// the ledger name.
    pub fn check(&self) -> Result<(), StateError> {
        if self.format != STATE_FORMAT && self.format != STATE_FORMAT_V2 {
            return Err(StateError::Inconsistent(format!(
                "format is {:?}, not {STATE_FORMAT:?} or {STATE_FORMAT_V2:?}",
                self.format
            )));
        }
        if self.format == STATE_FORMAT_V2 {
            let named = self
                .chains_file
                .as_deref()
                .is_some_and(|f| !f.is_empty() && !f.contains(['/', '\\']) && f != "..");
            if self.chains.is_none() || !named {
                return Err(StateError::Inconsistent(
                    "a split state names no chain count or no chains file beside it".into(),
                ));
            }
        }
        if self
            .chains
            .is_some_and(|n| n < self.validator.chains().count() as u64)
        {
            return Err(StateError::Inconsistent(
                "fewer chains counted than held".into(),
            ));
        }
        if self.frontier.size() != self.size || self.validator.size() != self.size {
            return Err(StateError::Inconsistent(format!(
                "size {} but the frontier holds {} records and the validator {}",
                self.size,
                self.frontier.size(),
                self.validator.size()
            )));
        }
        if self.validator.authority().trust.ledger != self.ledger {
            return Err(StateError::Inconsistent(format!(
                "ledger {:?} but the validator's trust anchors are for {:?}",
                self.ledger,
                self.validator.authority().trust.ledger
            )));
        }
        if self.authority_records > self.size || self.headers_only > self.size {
            return Err(StateError::Inconsistent(
                "more authority or headers-only records than records".into(),
            ));
        }
        Ok(())
    }

    /// Whether this is the state at `checkpoint`: the same size and the same Merkle root.
    pub fn check_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), StateError> {
        if checkpoint.size != self.size {
            return Err(StateError::Checkpoint(format!(
                "the state is at size {} and the checkpoint at {}",
                self.size, checkpoint.size
            )));
        }
        let root = self.frontier.root();
        if root != checkpoint.root {
            return Err(StateError::Checkpoint(format!(
                "the state's root at size {} is {} and the checkpoint's {}",
                self.size,
                b64std(&root),
                b64std(&checkpoint.root)
            )));
        }
        Ok(())
    }

    /// The file form: the format line, the digest line, the JSON. A state whose chains are
    /// partly elsewhere (resumed from a split state) is saved with [`SavedState::save`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, StateError> {
        if self.format == STATE_FORMAT && self.chains.is_some() {
            return Err(StateError::Inconsistent(
                "this state holds only the chains its records touched: save it with \
                 SavedState::save beside its chains file"
                    .into(),
            ));
        }
        let json = serde_json::to_vec(self)?;
        let digest = Hash::of(&json);
        let mut out = format!("{}\nsha256 {}\n", self.format, hex(digest.as_bytes())).into_bytes();
        out.extend_from_slice(&json);
        Ok(out)
    }

    /// Reads the file form back: the digest must be the JSON's, and the parts must agree
    /// ([`SavedState::check`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<SavedState, StateError> {
        let (first, rest) =
            split_line(bytes).ok_or_else(|| StateError::Header("no format line".into()))?;
        if first != STATE_FORMAT.as_bytes() && first != STATE_FORMAT_V2.as_bytes() {
            return Err(StateError::Header(format!(
                "the first line is {:?}",
                String::from_utf8_lossy(&first[..first.len().min(64)])
            )));
        }
        let (second, json) =
            split_line(rest).ok_or_else(|| StateError::Header("no digest line".into()))?;
        let claimed = second
            .strip_prefix(b"sha256 ")
            .and_then(|d| std::str::from_utf8(d).ok())
            .filter(|d| d.len() == 64)
            .ok_or_else(|| {
                StateError::Header("the second line is not `sha256 <64 hex digits>`".into())
            })?;
        let computed = hex(Hash::of(json).as_bytes());
        if computed != claimed {
            return Err(StateError::Digest {
                claimed: claimed.to_string(),
                computed,
            });
        }
        let state: SavedState = serde_json::from_slice(json)?;
        if state.format.as_bytes() != first {
            return Err(StateError::Header(format!(
                "the first line says {} but the JSON {}",
                String::from_utf8_lossy(first),
                state.format
            )));
        }
        state.check()?;
        if state.format == STATE_FORMAT_V2 && state.validator.chains().next().is_some() {
            return Err(StateError::Inconsistent(
                "a split state holds chains in its JSON".into(),
            ));
        }
        Ok(state)
    }

    /// Writes the file form to `path`, replacing it atomically (a temporary file beside it,
    /// then a rename).
    pub fn write(&self, path: &Path) -> Result<(), StateError> {
        let bytes = self.to_bytes()?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    /// Reads a state file ([`SavedState::from_bytes`]).
    pub fn read(path: &Path) -> Result<SavedState, StateError> {
        SavedState::from_bytes(&std::fs::read(path)?)
    }

    /// Reads a state file of either form, with the chains file of a split one (give both to
    /// [`crate::Verifier::resume_with`]).
    pub fn open(path: &Path) -> Result<(SavedState, Option<ChainStore>), StateError> {
        let state = SavedState::read(path)?;
        let store = match &state.chains_file {
            Some(name) if state.format == STATE_FORMAT_V2 => {
                let chains = dir_of(path).join(name);
                if !chains.is_file() {
                    return Err(StateError::Chains(format!(
                        "{} is missing (the state file names it)",
                        chains.display()
                    )));
                }
                Some(ChainStore::open(&chains, state.size)?)
            }
            _ => None,
        };
        Ok((state, store))
    }

    /// Saves the split form at `path`: the chains this state holds are written to its chains
    /// file (`store`: the one it was resumed with, when it holds only the chains its records
    /// touched; a new file beside `path` for a whole state), then the state file replaces the
    /// old one atomically, then the rows it supersedes (or the older chains files) are
    /// deleted.
    pub fn save(mut self, path: &Path, store: Option<&mut ChainStore>) -> Result<(), StateError> {
        let dir = dir_of(path);
        let base = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| StateError::Header(format!("{} names no file", path.display())))?;
        let chains = self.validator.take_chains();
        let size = self.size;
        let mut fresh;
        let (store, name, count, whole) = match (self.chains, self.chains_file.clone(), store) {
            (Some(count), Some(name), Some(store)) => (store, name, count, false),
            (Some(_), _, _) => {
                return Err(StateError::Inconsistent(
                    "this state holds only the chains its records touched: save it with the \
                     chains file it was resumed with"
                        .into(),
                ))
            }
            (None, _, _) => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                let name = format!("{base}.chains.{size}.{}.{nanos}.sqlite", std::process::id());
                fresh = ChainStore::open(&dir.join(&name), size)?;
                (&mut fresh, name, chains.len() as u64, true)
            }
        };
        store.write(size, &chains)?;
        self.format = STATE_FORMAT_V2.to_string();
        self.chains = Some(count);
        self.chains_file = Some(name.clone());
        let bytes = self.to_bytes()?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)?;
        store.commit(size)?;
        if whole {
            // The chains files of earlier states (the state file no longer names them).
            let prefix = format!("{base}.chains.");
            for entry in std::fs::read_dir(&dir)?.flatten() {
                let file = entry.file_name().to_string_lossy().into_owned();
                if file.starts_with(&prefix) && !file.starts_with(&name) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }
}

/// The directory of a file path (`.` for a bare name).
fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The first line (without its `\n`) and the rest.
fn split_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = memchr::memchr(b'\n', bytes)?;
    Some((&bytes[..end], &bytes[end + 1..]))
}
