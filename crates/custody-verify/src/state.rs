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
//! A file whose JSON does not hash to the header's digest (a byte changed by hand or by a
//! damaged disk) is refused ([`StateError::Digest`]), and a state is bound to the checkpoint it
//! was saved at: [`SavedState::check_checkpoint`] refuses one whose size or Merkle root is not
//! the checkpoint's.

use std::path::Path;

use custody_core::checkpoint::Checkpoint;
use custody_core::encoding::{b64std, hex};
use custody_core::merkle::Frontier;
use custody_core::validate::Validator;
use custody_core::Hash;
use serde::{Deserialize, Serialize};

/// The format line of a saved state file, and the `format` field of its JSON.
pub const STATE_FORMAT: &str = "custody-audit-state/v1";

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
    /// The validation state (authority and every chain).
    pub validator: Validator,
}

impl SavedState {
    /// Checks that the parts agree: the format, the sizes of the frontier and the validator,
    /// the ledger name.
    pub fn check(&self) -> Result<(), StateError> {
        if self.format != STATE_FORMAT {
            return Err(StateError::Inconsistent(format!(
                "format is {:?}, not {STATE_FORMAT:?}",
                self.format
            )));
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

    /// The file form: the format line, the digest line, the JSON.
    pub fn to_bytes(&self) -> Result<Vec<u8>, StateError> {
        let json = serde_json::to_vec(self)?;
        let digest = Hash::of(&json);
        let mut out = format!("{STATE_FORMAT}\nsha256 {}\n", hex(digest.as_bytes())).into_bytes();
        out.extend_from_slice(&json);
        Ok(out)
    }

    /// Reads the file form back: the digest must be the JSON's, and the parts must agree
    /// ([`SavedState::check`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<SavedState, StateError> {
        let (first, rest) =
            split_line(bytes).ok_or_else(|| StateError::Header("no format line".into()))?;
        if first != STATE_FORMAT.as_bytes() {
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
        state.check()?;
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
}

/// The first line (without its `\n`) and the rest.
fn split_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = memchr::memchr(b'\n', bytes)?;
    Some((&bytes[..end], &bytes[end + 1..]))
}
