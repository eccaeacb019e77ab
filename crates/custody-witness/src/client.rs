//! The client side of `add-checkpoint`, for the checkpointer (and the benchmark).
//!
//! [`add_checkpoint`] posts to `<http_base>/add-checkpoint` through one process-wide HTTP
//! client (keep-alive connections are reused, as the spec recommends); [`WitnessClient`] does
//! the same with a client of its own.

use std::sync::OnceLock;
use std::time::Duration;

use custody_core::merkle::Digest;

use crate::protocol::{format_request, parse_cosignature_lines, parse_size_body};

/// Most bytes of a witness answer read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Most characters of a refusal text kept in an error.
const MAX_MESSAGE_CHARS: usize = 500;

/// Why a witness did not cosign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddCheckpointError {
    /// 409: the witness last cosigned another size; retry with a consistency proof from
    /// `witness_size` (if the ledger has that size behind it).
    #[error("witness last cosigned size {witness_size}: send a consistency proof from there")]
    Conflict {
        /// The size the witness last cosigned.
        witness_size: u64,
    },
    /// The witness refused the checkpoint (400, 403, 404, 413, 422; 409 for a fork at the same
    /// size, `message` then says so); retrying the same request will not help.
    #[error("witness refused the checkpoint ({status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The witness's reason (or ours, for an answer we could not read).
        message: String,
    },
    /// The witness could not be reached, timed out, failed (5xx), or answered nonsense.
    #[error("witness unavailable: {0}")]
    Unavailable(String),
}

/// A witness client with its own connection pool.
#[derive(Debug, Clone)]
pub struct WitnessClient {
    http: reqwest::Client,
}

impl Default for WitnessClient {
    fn default() -> Self {
        Self::new()
    }
}

impl WitnessClient {
    /// A client with a 5 s connect and a 30 s request time-out.
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self { http }
    }

    /// Posts a checkpoint `note` with the consistency `proof` from `old_size` to
    /// `<http_base>/add-checkpoint` and returns the cosignature lines (each ending in "\n").
    ///
    /// The lines are not verified here: append them with
    /// [`custody_core::cosignature::add_signature_lines`] and verify with
    /// [`custody_core::cosignature::verify_cosigned`] (or `CosignatureVerifier::verify_line`).
    pub async fn add_checkpoint(
        &self,
        http_base: &str,
        old_size: u64,
        proof: &[Digest],
        note: &str,
    ) -> Result<Vec<String>, AddCheckpointError> {
        let url = format!("{}/add-checkpoint", http_base.trim_end_matches('/'));
        let unavailable =
            |e: &dyn std::fmt::Display| AddCheckpointError::Unavailable(format!("POST {url}: {e}"));
        let mut resp = self
            .http
            .post(&url)
            .body(format_request(old_size, proof, note))
            .send()
            .await
            .map_err(|e| unavailable(&e))?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| unavailable(&e))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(unavailable(&"answer over 64 KiB"));
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8_lossy(&body);
        match status {
            200 => parse_cosignature_lines(&text)
                .ok_or_else(|| unavailable(&"200 answer is not a list of signature lines")),
            409 => match parse_size_body(&text) {
                Some(size) if size == old_size => Err(AddCheckpointError::Refused {
                    status,
                    message: format!(
                        "the witness cosigned another root at size {size}: the ledger's tree forked"
                    ),
                }),
                Some(witness_size) => Err(AddCheckpointError::Conflict { witness_size }),
                None => Err(AddCheckpointError::Refused {
                    status,
                    message: excerpt(&text),
                }),
            },
            500..=599 => Err(unavailable(&format!("{status}: {}", excerpt(&text)))),
            _ => Err(AddCheckpointError::Refused {
                status,
                message: excerpt(&text),
            }),
        }
    }
}

fn excerpt(text: &str) -> String {
    let t = text.trim_end();
    match t.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((i, _)) => format!("{}...", &t[..i]),
        None => t.to_owned(),
    }
}

/// [`WitnessClient::add_checkpoint`] through one process-wide client.
pub async fn add_checkpoint(
    http_base: &str,
    old_size: u64,
    proof: &[Digest],
    note: &str,
) -> Result<Vec<String>, AddCheckpointError> {
    static CLIENT: OnceLock<WitnessClient> = OnceLock::new();
    CLIENT
        .get_or_init(WitnessClient::new)
        .add_checkpoint(http_base, old_size, proof, note)
        .await
}
