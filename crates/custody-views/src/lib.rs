//! Read-only projections of a verified custody ledger.
//!
//! A view takes records that passed validation, in ledger order (with or without their
//! payloads), and the validator's state of the same records, and returns typed structs. It does
//! no I/O and names people only by the human code of their chain.
//!
//! - [`census`]: who is held where, under which legal status, since when; the pre-trial
//!   detainees and their orders; the custody gaps; the stays at places that are not official
//!   places of detention.
//! - [`inbox`]: a registrar's inbox, the people released to an agency and not yet accepted.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod census;
pub mod inbox;
