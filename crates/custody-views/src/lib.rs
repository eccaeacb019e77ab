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
//! - [`alarms`]: every alarm at an instant, from the read model, the rule set in force at the
//!   arrest and the calendar: the first hours (arrest recorded late, first judicial appearance
//!   late or missing, police custody past its end), detention orders (expired while held,
//!   expiring in the renewal window, longer than the law, pre-trial beyond the legal total),
//!   custody gaps, unofficial places, hearings without the person, forks, art. 20
//!   restrictions.
//! - [`inbox`]: a registrar's inbox, the people released to an agency and not yet accepted.
//! - [`policy`]: the legal rule sets of `deploy/policy/` (one per code of criminal procedure),
//!   chosen by the date of the facts; [`calendar`]: working days and public holidays;
//!   [`deadlines`]: the deadline engine (police custody, first appearance, detention orders),
//!   which reports an unlawful duration as a finding, never as an error.
//! - [`i18n`]: the one message catalogue of the reports, French first and English on request,
//!   with dates and numbers written the French way; [`access`]: the role-by-view read matrix
//!   every read path applies, and the access-log action of each view.
//! - [`backlog`]: the pre-trial backlog by facility and by court (counts, pre-trial shares,
//!   ageing buckets, longest waits, expired orders) and the occupancy of each facility.
//! - [`hearings`]: the hearing calendar (by court and day, who to produce from which facility;
//!   after the day, who was not produced and why); [`whereabouts`]: the official whereabouts
//!   and the relatives' and counsel's view (Disappearance Convention art. 18, 20);
//!   [`timeline`]: a detainee's events with verification marks; [`own_file`]: the person's own
//!   file (Nelson Mandela Rule 8), medical notes withheld.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod access;
pub mod alarms;
pub mod backlog;
pub mod calendar;
pub mod census;
pub mod deadlines;
pub mod detainee;
pub mod hearings;
pub mod i18n;
pub mod inbox;
pub mod own_file;
pub mod policy;
pub mod timeline;
pub mod whereabouts;
