//! Read-only projections of a verified custody ledger.
//!
//! A view takes records that passed validation, in ledger order (with or without their
//! payloads), and the validator's state of the same records, and returns typed structs. It does
//! no I/O and names people only by the human code of their chain. The only I/O of the crate is
//! the loading of the policy files ([`policy::PolicySet::load_dir`],
//! [`calendar::Calendar::load_dir`]), done once by the caller.
//!
//! - [`census`]: who is held where, under which legal status, since when; the pre-trial
//!   detainees and their orders; the custody gaps; the stays at places that are not official
//!   places of detention.
//! - [`detainee`]: the per-detainee fold, the shared read model ([`detainee::Projection`]:
//!   the directory of agencies and facilities and every detainee's fold, idempotent by ledger
//!   position), which the reports and alarms read.
//! - [`alarms`]: the time limits of the first hours (arrest recorded late, first judicial
//!   appearance late or missing, police custody past its end), from headers and the rule set
//!   in force at the arrest.
//! - [`inbox`]: a registrar's inbox, the people released to an agency and not yet accepted.
//! - [`policy`]: the legal rule sets of `deploy/policy/` (one per code of criminal procedure),
//!   chosen by the date of the facts; [`calendar`]: working days and public holidays;
//!   [`deadlines`]: the deadline engine (police custody, first appearance, detention orders),
//!   which reports an unlawful duration as a finding, never as an error.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod alarms;
pub mod calendar;
pub mod census;
pub mod deadlines;
pub mod detainee;
pub mod inbox;
pub mod policy;
