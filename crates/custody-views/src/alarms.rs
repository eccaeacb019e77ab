//! Time-limit alarms of the first hours of custody, from record headers alone (kinds and
//! instants: a replica of headers answers the same) and the rule set in force on the date of
//! the arrest ([`crate::policy::PolicySet::for_arrest`]):
//!
//! - an arrest recorded later than the limit after it happened;
//! - a first judicial appearance later than the limit after the arrest (Human Rights Committee
//!   General Comment 35: 48 hours), every past one included, and a person still held with no
//!   appearance past the limit;
//! - police custody past its end (the base duration and the recorded extensions the law allows),
//!   past or current, and more extensions recorded than the law allows.
//!
//! Police custody ends at the first judicial appearance, detention order, release, death or
//! escape. The ordinary regime applies: the ledger does not yet say which cases are of terrorism
//! or organised crime (their 48-hour blocks are in the engine, [`CustodyRegime`]). Whether an
//! extension had its written authorisation is not checked here.

use std::collections::BTreeMap;

use custody_core::humancode::code_for_chain;
use custody_core::ids::AUTHORITY_CHAIN;
use custody_core::kinds::EventKind;
use custody_core::{Record, Timestamp};

use crate::deadlines::{
    arrest_recording_deadline, first_appearance_deadline, police_custody_deadline, CustodyRegime,
    Deadline, Finding,
};
use crate::policy::PolicySet;

/// What an alarm is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlarmKind {
    /// The arrest was recorded later than the limit after it happened.
    ArrestRecordedLate,
    /// The first judicial appearance came later than the limit after the arrest.
    FirstAppearanceLate,
    /// Still held, no judicial appearance, past the limit.
    NoFirstAppearance,
    /// Police custody went on past its end.
    PoliceCustodyOverdue,
    /// More police custody extensions were recorded than the law allows.
    ExtensionsBeyondLaw,
}

impl AlarmKind {
    /// Stable code (JSON, CSV).
    pub fn code(self) -> &'static str {
        match self {
            AlarmKind::ArrestRecordedLate => "arrest_recorded_late",
            AlarmKind::FirstAppearanceLate => "first_appearance_late",
            AlarmKind::NoFirstAppearance => "no_first_appearance",
            AlarmKind::PoliceCustodyOverdue => "police_custody_overdue",
            AlarmKind::ExtensionsBeyondLaw => "extensions_beyond_law",
        }
    }

    /// Words for people, French or English.
    pub fn label(self, french: bool) -> &'static str {
        match (self, french) {
            (AlarmKind::ArrestRecordedLate, true) => "arrestation enregistrée en retard",
            (AlarmKind::ArrestRecordedLate, false) => "arrest recorded late",
            (AlarmKind::FirstAppearanceLate, true) => "première comparution tardive",
            (AlarmKind::FirstAppearanceLate, false) => "first judicial appearance late",
            (AlarmKind::NoFirstAppearance, true) => "aucune comparution devant un juge",
            (AlarmKind::NoFirstAppearance, false) => "no judicial appearance",
            (AlarmKind::PoliceCustodyOverdue, true) => "garde à vue au-delà du délai",
            (AlarmKind::PoliceCustodyOverdue, false) => "police custody past its limit",
            (AlarmKind::ExtensionsBeyondLaw, true) => "prolongations au-delà de la loi",
            (AlarmKind::ExtensionsBeyondLaw, false) => "extensions beyond the law",
        }
    }
}

/// One alarm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alarm {
    /// What it is about.
    pub kind: AlarmKind,
    /// The detainee chain.
    pub chain: String,
    /// Its human code.
    pub code: String,
    /// The limit and the rule it comes from.
    pub deadline: Deadline,
    /// When the late thing happened (the recording, the appearance, the end of police custody);
    /// `None` while it has not happened.
    pub happened_at: Option<Timestamp>,
    /// Whole hours past the limit, at `happened_at` or, while it has not happened, at the time
    /// of the report.
    pub hours_late: i64,
    /// Whether it is still going on (nothing happened yet, the person still held).
    pub current: bool,
}

/// What the alarms need of one chain.
#[derive(Clone, Debug, Default)]
struct Chain {
    arrest: Option<Timestamp>,
    arrest_recorded: Option<Timestamp>,
    appearance: Option<Timestamp>,
    custody_start: Option<Timestamp>,
    extensions: u32,
    custody_end: Option<Timestamp>,
    ended: Option<Timestamp>,
}

/// The alarms of a ledger, fed its records in ledger order.
#[derive(Clone, Debug, Default)]
pub struct Alarms {
    chains: BTreeMap<String, Chain>,
}

/// The alarms at an instant, and the chains no rule set covers.
#[derive(Clone, Debug, Default)]
pub struct AlarmReport {
    /// The alarms: current ones first, then the longest overdue first.
    pub alarms: Vec<Alarm>,
    /// Chains whose arrest date no rule set of the jurisdiction covers, with why.
    pub uncovered: Vec<(String, String)>,
}

impl Alarms {
    /// An empty set.
    pub fn new() -> Alarms {
        Alarms::default()
    }

    /// Takes one record (its header).
    pub fn observe(&mut self, record: &Record) {
        let h = &record.header;
        if h.chain == AUTHORITY_CHAIN {
            return;
        }
        let c = self.chains.entry(h.chain.clone()).or_default();
        let at = h.occurred_at.clone();
        match h.kind {
            // A first arrest, or a re-arrest after release: its own clock.
            EventKind::Arrest if c.arrest.is_none() || c.ended.is_some() => {
                *c = Chain {
                    arrest: Some(at),
                    arrest_recorded: Some(h.recorded_at.clone()),
                    ..Chain::default()
                };
            }
            EventKind::PoliceCustodyStarted => {
                c.custody_start.get_or_insert(at);
            }
            EventKind::PoliceCustodyExtended => c.extensions += 1,
            EventKind::JudicialAppearance => {
                c.appearance.get_or_insert(at.clone());
                c.custody_end.get_or_insert(at);
            }
            EventKind::DetentionOrder => {
                c.custody_end.get_or_insert(at);
            }
            EventKind::Release | EventKind::DeathInCustody | EventKind::Escape => {
                c.custody_end.get_or_insert(at.clone());
                c.ended.get_or_insert(at);
            }
            _ => {}
        }
    }

    /// The alarms at `as_of`, under the rule sets of `jurisdiction`.
    pub fn report(
        &self,
        policies: &PolicySet,
        jurisdiction: &str,
        as_of: &Timestamp,
    ) -> AlarmReport {
        let mut report = AlarmReport::default();
        for (chain, c) in &self.chains {
            let Some(arrest) = &c.arrest else { continue };
            let policy = match policies.for_arrest(jurisdiction, arrest) {
                Ok(p) => p,
                Err(e) => {
                    report.uncovered.push((chain.clone(), e.to_string()));
                    continue;
                }
            };
            let mut push = |kind, deadline: Deadline, happened_at: Option<Timestamp>| {
                let until = happened_at.as_ref().unwrap_or(as_of);
                report.alarms.push(Alarm {
                    kind,
                    chain: chain.clone(),
                    code: code_for_chain(chain),
                    hours_late: (until.unix_seconds() - deadline.at.unix_seconds()) / 3600,
                    current: happened_at.is_none(),
                    deadline,
                    happened_at,
                });
            };

            if let Some(recorded) = &c.arrest_recorded {
                let d = arrest_recording_deadline(policy, arrest);
                if d.passed_at(recorded) {
                    push(AlarmKind::ArrestRecordedLate, d, Some(recorded.clone()));
                }
            }

            let d = first_appearance_deadline(policy, arrest);
            match (&c.appearance, &c.ended) {
                (Some(a), _) if d.passed_at(a) => {
                    push(AlarmKind::FirstAppearanceLate, d, Some(a.clone()));
                }
                (Some(_), _) => {}
                // Released (or dead, escaped) after the limit without ever seeing a judge.
                (None, Some(end)) if d.passed_at(end) => {
                    push(AlarmKind::NoFirstAppearance, d, Some(end.clone()));
                }
                (None, Some(_)) => {}
                (None, None) if d.passed_at(as_of) => push(AlarmKind::NoFirstAppearance, d, None),
                (None, None) => {}
            }

            if let Some(start) = &c.custody_start {
                let pc =
                    police_custody_deadline(policy, start, c.extensions, CustodyRegime::Ordinary);
                if let Some(Finding::ExtensionsBeyondLaw { .. }) = &pc.finding {
                    push(
                        AlarmKind::ExtensionsBeyondLaw,
                        pc.deadline.clone(),
                        c.custody_end.clone(),
                    );
                }
                match &c.custody_end {
                    Some(end) if pc.deadline.passed_at(end) => {
                        push(
                            AlarmKind::PoliceCustodyOverdue,
                            pc.deadline,
                            Some(end.clone()),
                        );
                    }
                    Some(_) => {}
                    None if pc.deadline.passed_at(as_of) => {
                        push(AlarmKind::PoliceCustodyOverdue, pc.deadline, None);
                    }
                    None => {}
                }
            }
        }
        report.alarms.sort_by(|a, b| {
            b.current
                .cmp(&a.current)
                .then(b.hours_late.cmp(&a.hours_late))
                .then(a.chain.cmp(&b.chain))
                .then(a.kind.cmp(&b.kind))
        });
        report
    }
}
