//! Asking one witness to cosign a checkpoint (C2SP tlog-witness `add-checkpoint`).

use custody_tlog::TreeDb;
use custody_witness::client::{self, AddCheckpointError};

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
    tree: &TreeDb,
    size: u64,
) -> Result<String, WitnessError> {
    let mut old = known;
    let mut retried = false;
    let lines = loop {
        // A witness that says it holds more than this tree cannot be given a proof: it saw
        // another (later or forked) tree of this ledger.
        let proof = crate::proof(tree, old, size).map_err(|why| WitnessError::Refused {
            status: 409,
            message: why,
        })?;
        match client::add_checkpoint(&witness.url, old, &proof, note).await {
            Ok(lines) => break lines,
            Err(AddCheckpointError::Conflict { witness_size }) if !retried => {
                retried = true;
                old = witness_size;
            }
            Err(AddCheckpointError::Conflict { witness_size }) => {
                return Err(WitnessError::Conflict { witness_size })
            }
            Err(AddCheckpointError::Refused { status, message }) => {
                return Err(WitnessError::Refused { status, message })
            }
            Err(AddCheckpointError::Unavailable(why)) => {
                return Err(WitnessError::Unavailable(why))
            }
        }
    };
    let mut problems = Vec::new();
    for line in &lines {
        match witness.verifier.verify_line(body, line) {
            Ok(_) => return Ok(line.clone()),
            Err(e) => problems.push(e.to_string()),
        }
    }
    Err(WitnessError::BadCosignature(if problems.is_empty() {
        "no signature line".to_string()
    } else {
        problems.join("; ")
    }))
}
