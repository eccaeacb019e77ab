//! Transfer packets: everything a registrar must see before accepting a person, in one file
//! that verifies offline (docs/SPEC.md section 18).
//!
//! A packet holds one detainee's whole chain (with the payloads the sender may share), every
//! record of the authority chain up to the checkpoint (so each signer's authority at the time
//! of signing can be checked), the ledger's signed checkpoint, one C2SP `tlog-proof` per event
//! ([`tlog`]) and the evidence blobs, or only their manifest above a size.
//!
//! - [`format`]: the container (sections `<type> <length>\n<bytes>\n`), written and read as a
//!   stream, so memory does not grow with the evidence;
//! - [`verify`]: the offline verification (records through `custody_verify`'s verifier in
//!   ledger order, inclusion of every event in the checkpoint, evidence digests);
//! - [`sealed`]: restricted payloads encrypted (age) to the receiving facility's medical keys;
//! - [`timeline`]: what the registrar reads at the gate, in French or English;
//! - [`receipt`]: the printable handover receipt (one A4 page of HTML) both sides sign.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod build;
pub mod format;
pub mod receipt;
pub mod sealed;
pub mod timeline;
pub mod tlog;
pub mod verify;

pub use format::{EvidenceEntry, Manifest, PacketReader, PacketWriter, Section, Withheld, MAGIC};
pub use verify::{verify_packet, Options, PacketError, PacketFailure, Verified};
