//! A witness for custody-ledger checkpoints: C2SP `tlog-witness` v1.0 (c2sp.org/tlog-witness)
//! with `cosignature/v1` cosignatures (c2sp.org/tlog-cosignature, [`custody_core::cosignature`]).
//!
//! A monitor (a human rights commission, the ICRC, a UN office) runs the witness, not the
//! ledger's operator. The checkpointer posts every new checkpoint with a consistency proof from
//! the size the witness last cosigned; the witness cosigns only checkpoints consistent with
//! everything it cosigned before, so an operator who drops, rewrites or forks the ledger cannot
//! obtain a cosignature for the new view.
//!
//! - [`protocol`]: the `add-checkpoint` request body, parsed strictly with typed errors, and
//!   formatted for the client.
//! - [`db`]: the witness's own SQLite file: the logs it is configured for (origin and trusted
//!   log keys) and, per origin, the last cosigned size and root. The size check and the write
//!   are one `BEGIN IMMEDIATE` transaction with a compare-and-swap on the stored size.
//! - [`server`]: the axum router (`POST /add-checkpoint`).
//! - [`client`]: [`client::add_checkpoint`], what the checkpointer calls.
//! - [`keyfile`]: the witness key file, in the project's key file format.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod client;
pub mod db;
/// The witness key file, in the project's key file format (shared with `custody keygen`).
pub use custody_keyfile as keyfile;
pub mod protocol;
pub mod server;
