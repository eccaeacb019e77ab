//! Pure core of custody-ledger: the wire format v1 of signed, hash-chained custody events.
//!
//! This crate does no I/O. It owns, in one place each:
//! - the canonical bytes of a JSON value ([`jcs`], RFC 8785) and the strict parser that refuses
//!   duplicate keys and floating point numbers;
//! - the record format ([`record`]): header, hash, signature, salted payload, and the public
//!   facts a header carries for the rules that look back ([`facts`]);
//! - the event kinds and their bodies ([`kinds`]), and the role allowed to write each ([`roles`]);
//! - the one validation function that every append and every verifier uses ([`validate`]), and
//!   the stable codes of every rule, whichever layer refuses by it ([`rule`]);
//! - the ledger-wide transparency primitives: RFC 6962 Merkle tree and proofs ([`merkle`]),
//!   C2SP checkpoints and signed notes ([`checkpoint`]), witness cosignatures ([`cosignature`]);
//! - the short human code printed on paper forms ([`humancode`]);
//! - the bytes an HTTP read request signs ([`request`]), for the client and the gateway alike.
//!
//! Backends and services depend on this crate, never the reverse.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod authority;
pub mod chain;
pub mod checkpoint;
pub mod cosignature;
pub mod encoding;
pub mod facts;
pub mod hash;
pub mod humancode;
pub mod ids;
pub mod jcs;
pub mod keys;
pub mod kinds;
pub mod merkle;
pub mod record;
pub mod request;
pub mod roles;
pub mod rule;
pub mod time;
pub mod validate;

pub use chain::{ChainConflict, ConflictCause};
pub use hash::Hash;
pub use keys::{PublicKeyId, SecretKey};
pub use kinds::EventKind;
pub use record::{Draft, Header, Payload, Record};
pub use roles::Role;
pub use rule::{AuthRule, PacketRule, Rule, StateRule};
pub use time::Timestamp;
pub use validate::{ValidationError, Validator, ValidatorConfig};
