//! A ledger's saved validation state: what a replay of the store reached, kept in a file beside
//! the store so that the next process opening the ledger starts there instead of replaying
//! (and verifying the signature of) every stored record again.
//!
//! The file is a cache, local to the host that runs the ledger, not a wire format. Two header
//! lines, then the state as JSON:
//!
//! ```text
//! custody-ledger-state/v1
//! sha256 <64 lowercase hex digits: SHA-256 of the JSON bytes that follow>
//! {"format":"custody-ledger-state/v1","meta":{...},"size":N,"last":"<hash>",...}
//! ```
//!
//! It is used only when it matches the store: the same ledger description and validator
//! limits, a size the store has reached, and at its last position the record it names (a store
//! restored from an older backup, or another ledger's, does not match). Anything else (a
//! missing, damaged, altered, older or foreign file) is set aside with the reason and the
//! ledger is replayed from the start, as without a file: the file can make an open faster,
//! never different. It is written with mode 0600, atomically (a temporary file, fsync, then a
//! rename). What it does not do: prove that the stored records before its size are still the
//! ones it was computed from. `custody verify` and a monitor's audit re-verify everything, from
//! the records alone (docs/THREATS.md, "State file").

use std::io::Write;
use std::path::{Path, PathBuf};

use custody_core::encoding::hex;
use custody_core::validate::Validator;
use custody_core::Hash;
use custody_store::{LedgerScan, LedgerStore, StoreError};
use serde::{Deserialize, Serialize};

use crate::LedgerMeta;

/// The format line of a ledger state file, and the `format` field of its JSON.
pub const STATE_FILE_FORMAT: &str = "custody-ledger-state/v1";

/// The state file's JSON.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SavedLedgerState {
    pub(crate) format: String,
    /// The ledger description it was computed for.
    pub(crate) meta: LedgerMeta,
    /// Records replayed: positions `0..size`.
    pub(crate) size: u64,
    /// Hash of the record at position `size - 1` (`None` when `size` is 0).
    pub(crate) last: Option<Hash>,
    /// Events below `size` read with their payload missing, as `(position, hash)`.
    pub(crate) missing: Vec<(u64, Hash)>,
    /// The validation state after position `size - 1`.
    pub(crate) validator: Validator,
}

/// Why a state file was not used (the ledger is then replayed from its first record), or could
/// not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateFileError {
    /// The file could not be read or written.
    #[error("cannot read or write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not a state file of this format, or its JSON is malformed.
    #[error("{path} is not a {STATE_FILE_FORMAT} file: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Its JSON does not hash to the digest written beside it.
    #[error("{path} was altered or damaged: its JSON does not hash to the digest of its header")]
    Digest {
        /// The file.
        path: PathBuf,
    },
    /// It was computed for another ledger, other limits, or a store that is not this one.
    #[error("{path} does not match the store: {reason}")]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// The store failed while the file was checked against it.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What [`crate::Ledger::open_with_state_file`] did with the state file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateFileUse {
    /// There was none: the ledger was replayed from its first record.
    Absent,
    /// It was used: the replay started at `size` (the records after it were replayed).
    Resumed {
        /// Records the file covered.
        size: u64,
    },
    /// It was set aside (the ledger was replayed from its first record) for this reason.
    SetAside(String),
}

impl SavedLedgerState {
    /// The file's bytes: format line, digest line, JSON.
    fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        let json = serde_json::to_vec(self)?;
        let digest = hex(Hash::of(&json).as_bytes());
        let mut bytes = Vec::with_capacity(json.len() + 100);
        bytes.extend_from_slice(STATE_FILE_FORMAT.as_bytes());
        bytes.extend_from_slice(b"\nsha256 ");
        bytes.extend_from_slice(digest.as_bytes());
        bytes.push(b'\n');
        bytes.extend_from_slice(&json);
        Ok(bytes)
    }

    /// Reads a state file; `Ok(None)` when there is none.
    pub(crate) fn read(path: &Path) -> Result<Option<SavedLedgerState>, StateFileError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateFileError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let format = |reason: &str| StateFileError::Format {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let rest = bytes
            .strip_prefix(STATE_FILE_FORMAT.as_bytes())
            .and_then(|r| r.strip_prefix(b"\nsha256 "))
            .ok_or_else(|| {
                format("its first lines are not the format line and `sha256 <digest>`")
            })?;
        let (digest, json) = rest
            .split_at_checked(64)
            .ok_or_else(|| format("the file ends in its digest line"))?;
        let json = json
            .strip_prefix(b"\n")
            .ok_or_else(|| format("the digest line is not 64 hex digits"))?;
        if digest != hex(Hash::of(json).as_bytes()).as_bytes() {
            return Err(StateFileError::Digest {
                path: path.to_path_buf(),
            });
        }
        let state: SavedLedgerState =
            serde_json::from_slice(json).map_err(|e| format(&e.to_string()))?;
        if state.format != STATE_FILE_FORMAT {
            return Err(format(&format!("its JSON says format {:?}", state.format)));
        }
        Ok(Some(state))
    }

    /// Checks that the state was computed for this ledger and this store: the same
    /// description, limits the caller's, the same validator size as `size`, a size the store
    /// has reached, and at `size - 1` the record it names.
    pub(crate) async fn check(
        &self,
        path: &Path,
        meta: &LedgerMeta,
        config: &custody_core::validate::ValidatorConfig,
        store: &dyn LedgerStore,
    ) -> Result<(), StateFileError> {
        let mismatch = |reason: String| StateFileError::Mismatch {
            path: path.to_path_buf(),
            reason,
        };
        if &self.meta != meta {
            return Err(mismatch(format!(
                "it is the state of ledger {:?}, and the store's description differs",
                self.meta.name
            )));
        }
        if self.validator.config() != config {
            return Err(mismatch(
                "it was computed with other validator limits".into(),
            ));
        }
        if self.validator.size() != self.size {
            return Err(mismatch(format!(
                "its validator holds {} records, not the {} it claims",
                self.validator.size(),
                self.size
            )));
        }
        let stored = store.size().await?;
        if self.size > stored {
            return Err(mismatch(format!(
                "it covers {} records and the store holds {stored} (a store restored from an \
                 older backup?)",
                self.size
            )));
        }
        let Some(at) = self.size.checked_sub(1) else {
            return Ok(());
        };
        let found = LedgerScan::new(store, at)
            .batch_size(1)
            .next_batch()
            .await?
            .and_then(|batch| batch.into_iter().find(|ev| ev.position == at))
            .map(|ev| ev.record.hash);
        if found != self.last {
            return Err(mismatch(format!(
                "the store's record at position {at} is not the one the state ends with"
            )));
        }
        Ok(())
    }

    /// Writes the file atomically with mode 0600: a temporary file beside it, fsynced, then
    /// renamed over it.
    pub(crate) fn write(&self, path: &Path) -> Result<(), StateFileError> {
        let io = |source| StateFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let bytes = self.to_bytes().map_err(|e| StateFileError::Format {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let mut tmp_name = path.as_os_str().to_owned();
        tmp_name.push(format!(".tmp.{}", std::process::id()));
        let tmp = PathBuf::from(tmp_name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let written = options.open(&tmp).and_then(|mut file| {
            file.write_all(&bytes)?;
            file.sync_all()
        });
        if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(e));
        }
        Ok(())
    }
}
