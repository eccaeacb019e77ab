//! Asking one witness to cosign a checkpoint (C2SP tlog-witness `add-checkpoint`).

use custody_core::merkle::Digest;

use crate::Witness;

/// Why a witness did not cosign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The witness's last cosigned size is not the one sent (409), even after one retry.
    #[error("the witness's last cosigned size is {witness_size}, not the size sent")]
    Conflict {
        /// The size the witness said it holds.
        witness_size: u64,
    },
    /// The witness refused the checkpoint (4xx, 5xx other than 409).
    #[error("the witness refused the checkpoint: HTTP {status}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// What it said.
        message: String,
    },
    /// The witness could not be reached.
    #[error("the witness is unreachable: {0}")]
    Unavailable(String),
    /// The witness answered with no cosignature that verifies with its key.
    #[error("the witness answered without a cosignature that verifies with its key: {0}")]
    BadCosignature(String),
}

/// Sends `note` to the witness with a consistency proof from `known` (the size it last
/// cosigned, as far as the checkpointer knows); on 409 retries once from the size the witness
/// gave, with a fresh proof. Returns the witness's cosignature line, verified with its key.
pub(crate) async fn ask(
    witness: &Witness,
    known: u64,
    note: &str,
    body: &str,
    leaves: &[Digest],
) -> Result<String, WitnessError> {
    let _ = (witness, known, note, body, leaves, crate::proof);
    Err(WitnessError::Unavailable(
        "no witness client yet".to_string(),
    ))
}
