//! The per-detainee fold: the shared read model of the judicial and prison views.
//!
//! [`DetaineeFold`] is everything the views know about one detainee chain, folded from its
//! records in ledger order; [`Directory`] holds the agencies and facilities registered on the
//! authority chain; [`Projection`] is the whole read model in memory (the directory, every
//! detainee's fold, and the ledger position reached). Every report and alarm of the crate that
//! takes a `&Projection` reads it; the projection store persists it (every type is serde).
//!
//! The fold is pure: no I/O, no clock. It reads headers only (kind, agency, instants and the
//! public facts of `docs/SPEC.md` section 8), never a detainee payload, so a monitor's
//! headers-only export folds to the same projection as the full ledger, and a lawful redaction
//! changes nothing. The one exception is the authority chain, whose records keep their payload
//! in every export: the directory reads the bodies of `agency_registered` and
//! `facility_registered`.
//!
//! It is idempotent by ledger position: a position already folded changes nothing, so a
//! follower that sees a record twice (a retried batch, a restart from an older cursor) folds it
//! once. It is fed records that passed validation: it checks nothing itself, and a fact it does
//! not find is left unknown (`None`), never guessed.
//!
//! Legal status follows from the chain's legal events alone (police custody, detention order,
//! judgment, release, death, escape), never from a `legal_status` a record states: a suspect is
//! never shown as guilty because a form said so.

use std::collections::BTreeMap;

use custody_core::humancode::code_for_chain;
use custody_core::ids::AUTHORITY_CHAIN;
use custody_core::kinds::bodies::{AgencyType, FacilityKind, OffenceClass};
use custody_core::kinds::{parse_body, Body};
use custody_core::{EventKind, Hash, Record, Timestamp};
use serde::{Deserialize, Serialize};

pub use crate::census::{CustodyStatus, LegalStatus};

/// An arrest: the start of a deprivation of liberty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrest {
    /// Hash of the `arrest` event.
    pub event: Hash,
    /// When it happened (`occurred_at`).
    pub occurred_at: Timestamp,
    /// When it was recorded (`recorded_at`).
    pub recorded_at: Timestamp,
    /// The arresting agency.
    pub agency: String,
}

/// Police custody (garde à vue) of one deprivation of liberty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoliceCustody {
    /// Start (`occurred_at` of `police_custody_started`).
    pub start: Timestamp,
    /// Where (fact `facility`).
    pub facility: Option<String>,
    /// The agency that placed the person in police custody.
    pub agency: String,
    /// The regime (fact `regime`): terrorism and transnational organised crime run in 48-hour
    /// blocks; `false` for ordinary law.
    #[serde(default)]
    pub terrorism: bool,
    /// When each `police_custody_extended` was recorded as happening, in chain order.
    pub extensions: Vec<Timestamp>,
    /// When it ended: the first judicial appearance, detention order, release, death or
    /// escape; `None` while it goes on.
    pub ended_at: Option<Timestamp>,
}

/// One deprivation of liberty, from an arrest to the release, death or escape: the first
/// hours' facts (arrest, police custody, first judicial appearance) that the time-limit alarms
/// read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Episode {
    /// The arrest that opened it.
    pub arrest: Arrest,
    /// Police custody, if any was started.
    pub police_custody: Option<PoliceCustody>,
    /// The first judicial appearance (`occurred_at`), if any.
    pub first_appearance: Option<Timestamp>,
    /// When it ended (release, death, escape).
    pub ended_at: Option<Timestamp>,
}

/// Where the person stands in custody, as the chain's headers move it (the same moves as the
/// validator's `custody_core::chain::Custody`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CustodyState {
    /// No record folded yet.
    #[default]
    Unknown,
    /// An agency holds the person.
    Held {
        /// The holding agency.
        agency: String,
        /// Since when it holds the person (the arrest or the acceptance).
        since: Timestamp,
    },
    /// Released by one agency, not yet accepted by the next: nobody has recorded holding the
    /// person (a custody gap).
    Gap {
        /// Hash of the `custody_released` event.
        release: Hash,
        /// The releasing agency.
        from: String,
        /// The agency named to receive the person (fact `to_agency`).
        to: Option<String>,
        /// The facility named to receive the person (fact `to_facility`).
        to_facility: Option<String>,
        /// When the release happened.
        since: Timestamp,
    },
    /// Released: the chain is closed.
    Released {
        /// When.
        at: Timestamp,
    },
    /// Died in custody.
    Deceased {
        /// When.
        at: Timestamp,
    },
    /// Escaped (until a new arrest).
    Escaped {
        /// When.
        at: Timestamp,
    },
}

/// An extension of a detention order (`detention_extended`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderExtension {
    /// Hash of the `detention_extended` event.
    pub event: Hash,
    /// When it was ordered (`occurred_at`).
    pub at: Timestamp,
    /// The new end of validity it sets.
    pub valid_until: Timestamp,
}

/// A detention order of the chain, extensions included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetentionOrder {
    /// Hash of the `detention_order` event.
    pub event: Hash,
    /// When it was issued (`occurred_at`).
    pub issued_at: Timestamp,
    /// The agency that recorded it (header `agency`).
    pub agency: String,
    /// Start of detention on this order (fact `start`).
    pub start: Timestamp,
    /// End of validity as the order itself states it (fact `valid_until`).
    pub stated_until: Timestamp,
    /// End of validity, extensions included: the order's `valid_until`, or that of its latest
    /// `detention_extended`.
    pub valid_until: Timestamp,
    /// The offence class (fact `offence_class`), which sets the lawful maximum.
    pub offence_class: Option<OffenceClass>,
    /// The issuing court or authority (fact `issuing_authority`, or `court`, when the record
    /// carries it).
    pub court: Option<String>,
    /// The case reference (fact `case_ref`, when the record carries it).
    pub case_ref: Option<String>,
    /// Its extensions, in chain order.
    pub extensions: Vec<OrderExtension>,
}

/// A hearing that was scheduled (`hearing_scheduled`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledHearing {
    /// Hash of the `hearing_scheduled` event.
    pub event: Hash,
    /// When it was scheduled (`occurred_at`).
    pub scheduled_at: Timestamp,
    /// When the hearing is to take place (fact `hearing_at`).
    pub hearing_at: Option<Timestamp>,
    /// The court (fact `court`).
    pub court: Option<String>,
    /// The case reference (fact `case_ref`).
    pub case_ref: Option<String>,
}

/// A hearing that took place, or at which the person was not produced (`hearing_held`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldHearing {
    /// Hash of the `hearing_held` event.
    pub event: Hash,
    /// `occurred_at` of the record.
    pub occurred_at: Timestamp,
    /// When the hearing took place (fact `hearing_at`).
    pub hearing_at: Option<Timestamp>,
    /// The court (fact `court`).
    pub court: Option<String>,
    /// The case reference (fact `case_ref`).
    pub case_ref: Option<String>,
    /// Whether the person was produced before the court (fact `produced`).
    pub produced: Option<bool>,
}

/// A hearing of the chain: scheduled, held, or both (a `hearing_held` is matched to its
/// `hearing_scheduled` by its fact `scheduled_event`, else by the same instant and case).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hearing {
    /// The scheduling, if one was recorded.
    pub scheduled: Option<ScheduledHearing>,
    /// What happened, once recorded.
    pub held: Option<HeldHearing>,
}

impl Hearing {
    /// When the hearing takes (or took) place: the held record's instant, else the scheduled.
    pub fn at(&self) -> Option<&Timestamp> {
        self.held
            .as_ref()
            .and_then(|h| h.hearing_at.as_ref())
            .or_else(|| self.scheduled.as_ref().and_then(|s| s.hearing_at.as_ref()))
    }

    /// The court.
    pub fn court(&self) -> Option<&str> {
        self.held
            .as_ref()
            .and_then(|h| h.court.as_deref())
            .or_else(|| self.scheduled.as_ref().and_then(|s| s.court.as_deref()))
    }

    /// The case reference.
    pub fn case_ref(&self) -> Option<&str> {
        self.held
            .as_ref()
            .and_then(|h| h.case_ref.as_deref())
            .or_else(|| self.scheduled.as_ref().and_then(|s| s.case_ref.as_deref()))
    }

    /// Whether it was held and the person was not produced.
    pub fn not_produced(&self) -> bool {
        self.held.as_ref().and_then(|h| h.produced) == Some(false)
    }
}

/// A stay at a facility: from the event that put the person there (police custody, acceptance,
/// admission) to the one that took the person away.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stay {
    /// The facility id, as the record names it (it may not be registered).
    pub facility: String,
    /// The agency that recorded the person there.
    pub agency: String,
    /// Arrival.
    pub from: Timestamp,
    /// Departure; `None`: the person is still there.
    pub until: Option<Timestamp>,
}

/// A handover between agencies: `custody_released`, then (once recorded) `custody_accepted`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handover {
    /// Hash of the `custody_released` event.
    pub release: Hash,
    /// The releasing agency.
    pub from: String,
    /// The agency named to receive the person (fact `to_agency`).
    pub to: Option<String>,
    /// When the release happened.
    pub released_at: Timestamp,
    /// When the acceptance happened; `None` while nobody has accepted the person.
    pub accepted_at: Option<Timestamp>,
    /// The accepting agency.
    pub accepted_by: Option<String>,
    /// When the person left the gap otherwise (death or escape before any acceptance).
    pub ended_at: Option<Timestamp>,
}

/// A restriction of relatives' access (`access_restricted`, Disappearance Convention art. 20).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRestriction {
    /// Hash of the `access_restricted` event.
    pub event: Hash,
    /// When it was decided (`occurred_at`).
    pub decided_at: Timestamp,
    /// The agency that recorded it.
    pub agency: String,
    /// The authority that decided it (fact `authority`).
    pub authority: Option<String>,
    /// Its end (fact `until`).
    pub until: Option<Timestamp>,
    /// The judicial authority that reviews it (fact `reviewing_authority`).
    pub review_by: Option<String>,
    /// When it is to be reviewed (fact `review_at`, when the record carries it).
    pub review_at: Option<Timestamp>,
    /// Whether the decision is reasoned (fact `reasoned`).
    pub reasoned: Option<bool>,
}

/// A judgment (`judgment`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JudgmentFold {
    /// Hash of the `judgment` event.
    pub event: Hash,
    /// When it was given (`occurred_at`).
    pub at: Timestamp,
    /// The status its outcome gives (fact `outcome`).
    pub outcome: Option<LegalStatus>,
    /// Whether it is custodial (fact `custodial`).
    pub custodial: Option<bool>,
    /// The court (fact `court`).
    pub court: Option<String>,
}

/// An admission to a facility (`admission`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admission {
    /// When (`occurred_at`).
    pub at: Timestamp,
    /// The facility (fact `facility`).
    pub facility: Option<String>,
    /// The admitting agency.
    pub agency: String,
}

/// A Mandela Rule 8 event of the person's file: a complaint lodged or answered, a
/// disciplinary sanction, an injury during detention.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule8Event {
    /// The kind.
    pub kind: EventKind,
    /// Hash of the event.
    pub event: Hash,
    /// When (`occurred_at`).
    pub at: Timestamp,
    /// The agency that recorded it.
    pub agency: String,
}

/// Everything the views know about one detainee chain, folded from its records in ledger order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DetaineeFold {
    /// The chain id.
    pub chain: String,
    /// Its human code: the only way the views name the person.
    pub code: String,
    /// The ledger position of the latest record folded.
    pub last_position: Option<u64>,
    /// Records folded.
    pub records: u64,
    /// `recorded_at` of the latest record folded.
    pub last_recorded_at: Option<Timestamp>,
    /// The current (latest) arrest.
    pub arrest: Option<Arrest>,
    /// Police custody of the current deprivation of liberty.
    pub police_custody: Option<PoliceCustody>,
    /// First judicial appearance of the current deprivation of liberty (`occurred_at`).
    pub first_appearance: Option<Timestamp>,
    /// Earlier deprivations of liberty (before an escape and a new arrest), oldest first.
    pub earlier: Vec<Episode>,
    /// Custody state.
    pub custody: CustodyState,
    /// Legal status, from the chain's legal events alone.
    pub legal: LegalStatus,
    /// The latest judicial decision (a detention order: pre-trial; or a judgment's outcome).
    pub judicial: Option<LegalStatus>,
    /// Every admission to a facility, in chain order (the first: "since admission").
    pub admissions: Vec<Admission>,
    /// Every detention order, in chain order.
    pub orders: Vec<DetentionOrder>,
    /// Every hearing, in the order it was first recorded.
    pub hearings: Vec<Hearing>,
    /// Every stay at a facility, past and present, in chain order (the present one last, with
    /// no `until`).
    pub stays: Vec<Stay>,
    /// Every handover (release by one agency, acceptance by the next), in chain order.
    pub handovers: Vec<Handover>,
    /// Every restriction of relatives' access, in chain order.
    pub restrictions: Vec<AccessRestriction>,
    /// Every judgment, in chain order.
    pub judgments: Vec<JudgmentFold>,
    /// When the family (or next of kin) was notified, each time.
    pub family_notified: Vec<Timestamp>,
    /// Mandela Rule 8 events (complaints, sanctions, injuries), in chain order.
    pub rule8: Vec<Rule8Event>,
}

impl DetaineeFold {
    /// An empty fold of a chain.
    pub fn new(chain: &str) -> DetaineeFold {
        DetaineeFold {
            chain: chain.to_string(),
            code: code_for_chain(chain),
            ..DetaineeFold::default()
        }
    }

    /// Folds one record of this chain at ledger position `position`; a position already folded
    /// (<= last_position) changes nothing and returns false (idempotent by ledger position).
    /// A record of another chain changes nothing either and returns false.
    pub fn observe(&mut self, position: u64, record: &Record) -> bool {
        if self.last_position.is_some_and(|last| position <= last) {
            return false;
        }
        let h = &record.header;
        if h.chain != self.chain {
            return false;
        }
        self.last_position = Some(position);
        self.records += 1;
        self.last_recorded_at = Some(h.recorded_at.clone());
        self.fold(record);
        self.legal = self.legal_status();
        true
    }

    fn fold(&mut self, record: &Record) {
        let h = &record.header;
        let at = &h.occurred_at;
        let facts = &h.facts;
        let agency = h.agency.clone();
        match h.kind {
            EventKind::Arrest => {
                // A first arrest, or a new arrest after an escape: a new episode.
                if let Some(arrest) = self.arrest.take() {
                    self.earlier.push(Episode {
                        arrest,
                        police_custody: self.police_custody.take(),
                        first_appearance: self.first_appearance.take(),
                        ended_at: self.custody.ended_at().cloned(),
                    });
                }
                self.leave(at);
                self.arrest = Some(Arrest {
                    event: record.hash,
                    occurred_at: at.clone(),
                    recorded_at: h.recorded_at.clone(),
                    agency: agency.clone(),
                });
                self.custody = CustodyState::Held {
                    agency,
                    since: at.clone(),
                };
            }
            EventKind::PoliceCustodyStarted => {
                let facility = facts.str("facility").map(str::to_string);
                if self.police_custody.is_none() {
                    self.police_custody = Some(PoliceCustody {
                        start: at.clone(),
                        facility: facility.clone(),
                        agency: agency.clone(),
                        terrorism: facts.str("regime") == Some("terrorism"),
                        extensions: Vec::new(),
                        ended_at: None,
                    });
                }
                self.move_to(facility.as_deref(), &agency, at);
            }
            EventKind::PoliceCustodyExtended => {
                if let Some(pc) = &mut self.police_custody {
                    pc.extensions.push(at.clone());
                }
            }
            EventKind::JudicialAppearance => {
                if self.first_appearance.is_none() {
                    self.first_appearance = Some(at.clone());
                }
                self.end_police_custody(at);
            }
            EventKind::CustodyReleased => {
                self.leave(at);
                self.handovers.push(Handover {
                    release: record.hash,
                    from: agency.clone(),
                    to: facts.str("to_agency").map(str::to_string),
                    released_at: at.clone(),
                    accepted_at: None,
                    accepted_by: None,
                    ended_at: None,
                });
                self.custody = CustodyState::Gap {
                    release: record.hash,
                    from: agency,
                    to: facts.str("to_agency").map(str::to_string),
                    to_facility: facts.str("to_facility").map(str::to_string),
                    since: at.clone(),
                };
            }
            EventKind::CustodyAccepted => {
                let release = facts.hash("release_event");
                if let Some(hd) = self
                    .handovers
                    .iter_mut()
                    .rev()
                    .find(|hd| Some(hd.release) == release && hd.accepted_at.is_none())
                {
                    hd.accepted_at = Some(at.clone());
                    hd.accepted_by = Some(agency.clone());
                }
                self.move_to(facts.str("facility"), &agency, at);
                self.custody = CustodyState::Held {
                    agency,
                    since: at.clone(),
                };
            }
            EventKind::Admission => {
                let facility = facts.str("facility");
                self.move_to(facility, &agency, at);
                self.admissions.push(Admission {
                    at: at.clone(),
                    facility: facility.map(str::to_string),
                    agency,
                });
            }
            EventKind::DetentionOrder => {
                self.judicial = Some(LegalStatus::PreTrialDetention);
                self.end_police_custody(at);
                if let (Some(start), Some(valid_until)) =
                    (facts.timestamp("start"), facts.timestamp("valid_until"))
                {
                    self.orders.push(DetentionOrder {
                        event: record.hash,
                        issued_at: at.clone(),
                        agency,
                        start,
                        stated_until: valid_until.clone(),
                        valid_until,
                        offence_class: facts.str("offence_class").and_then(offence_class),
                        court: facts
                            .str("issuing_authority")
                            .or_else(|| facts.str("court"))
                            .map(str::to_string),
                        case_ref: facts.str("case_ref").map(str::to_string),
                        extensions: Vec::new(),
                    });
                }
            }
            EventKind::DetentionExtended => {
                let target = facts.hash("order_event");
                let until = facts.timestamp("valid_until");
                if let (Some(target), Some(until)) = (target, until) {
                    if let Some(o) = self.orders.iter_mut().find(|o| o.event == target) {
                        o.valid_until = until.clone();
                        o.extensions.push(OrderExtension {
                            event: record.hash,
                            at: at.clone(),
                            valid_until: until,
                        });
                    }
                }
            }
            EventKind::HearingScheduled => self.hearings.push(Hearing {
                scheduled: Some(ScheduledHearing {
                    event: record.hash,
                    scheduled_at: at.clone(),
                    hearing_at: facts.timestamp("hearing_at"),
                    court: facts.str("court").map(str::to_string),
                    case_ref: facts.str("case_ref").map(str::to_string),
                }),
                held: None,
            }),
            EventKind::HearingHeld => {
                let held = HeldHearing {
                    event: record.hash,
                    occurred_at: at.clone(),
                    hearing_at: facts.timestamp("hearing_at"),
                    court: facts.str("court").map(str::to_string),
                    case_ref: facts.str("case_ref").map(str::to_string),
                    produced: facts.bool("produced"),
                };
                let scheduled = facts.hash("scheduled_event");
                let slot = self.hearings.iter_mut().find(|x| {
                    let Some(s) = &x.scheduled else { return false };
                    if x.held.is_some() {
                        return false;
                    }
                    match scheduled {
                        Some(event) => s.event == event,
                        None => {
                            held.hearing_at.is_some()
                                && s.hearing_at == held.hearing_at
                                && s.case_ref == held.case_ref
                        }
                    }
                });
                match slot {
                    Some(x) => x.held = Some(held),
                    None => self.hearings.push(Hearing {
                        scheduled: None,
                        held: Some(held),
                    }),
                }
            }
            EventKind::Judgment => {
                let outcome = facts.str("outcome").and_then(LegalStatus::of_outcome);
                if let Some(s) = outcome {
                    self.judicial = Some(s);
                }
                self.judgments.push(JudgmentFold {
                    event: record.hash,
                    at: at.clone(),
                    outcome,
                    custodial: facts.bool("custodial"),
                    court: facts.str("court").map(str::to_string),
                });
            }
            EventKind::AccessRestricted => self.restrictions.push(AccessRestriction {
                event: record.hash,
                decided_at: at.clone(),
                agency,
                authority: facts.str("authority").map(str::to_string),
                until: facts.timestamp("until"),
                review_by: facts
                    .str("reviewing_authority")
                    .or_else(|| facts.str("review_by"))
                    .map(str::to_string),
                review_at: facts.timestamp("review_at"),
                reasoned: facts.bool("reasoned"),
            }),
            EventKind::FamilyNotified => self.family_notified.push(at.clone()),
            EventKind::Release => {
                self.end(at);
                self.custody = CustodyState::Released { at: at.clone() };
            }
            EventKind::DeathInCustody => {
                self.end(at);
                self.custody = CustodyState::Deceased { at: at.clone() };
            }
            EventKind::Escape => {
                self.end(at);
                self.custody = CustodyState::Escaped { at: at.clone() };
            }
            kind if is_rule8(kind) => self.rule8.push(Rule8Event {
                kind,
                event: record.hash,
                at: at.clone(),
                agency,
            }),
            _ => {}
        }
    }

    /// The person is now at `facility` (or at a place not recorded) from `at`.
    fn move_to(&mut self, facility: Option<&str>, agency: &str, at: &Timestamp) {
        if facility.is_some() && self.current_facility() == facility {
            return;
        }
        self.leave(at);
        if let Some(f) = facility {
            self.stays.push(Stay {
                facility: f.to_string(),
                agency: agency.to_string(),
                from: at.clone(),
                until: None,
            });
        }
    }

    /// The person leaves the current facility at `at`.
    fn leave(&mut self, at: &Timestamp) {
        if let Some(stay) = self.stays.last_mut().filter(|s| s.until.is_none()) {
            stay.until = Some(at.clone());
        }
    }

    fn end_police_custody(&mut self, at: &Timestamp) {
        if let Some(pc) = self
            .police_custody
            .as_mut()
            .filter(|p| p.ended_at.is_none())
        {
            pc.ended_at = Some(at.clone());
        }
    }

    /// Release, death or escape at `at`.
    fn end(&mut self, at: &Timestamp) {
        if let Some(hd) = self
            .handovers
            .last_mut()
            .filter(|hd| hd.accepted_at.is_none() && hd.ended_at.is_none())
        {
            hd.ended_at = Some(at.clone());
        }
        self.leave(at);
        self.end_police_custody(at);
    }

    fn legal_status(&self) -> LegalStatus {
        use LegalStatus as L;
        let end = match &self.custody {
            CustodyState::Deceased { .. } => return L::Deceased,
            CustodyState::Escaped { .. } => return L::Escaped,
            CustodyState::Released { .. } => true,
            _ => false,
        };
        match (end, self.judicial) {
            (
                true,
                Some(j @ (L::Convicted | L::Acquitted | L::Dismissed | L::ReleasedPendingTrial)),
            ) => j,
            (true, _) => L::Released,
            (false, Some(j)) => j,
            (false, None) if self.police_custody.is_some() => L::PoliceCustody,
            (false, None) => L::Arrested,
        }
    }

    /// Custody status (held, in a gap, released, deceased, escaped); `None` before any record.
    pub fn custody_status(&self) -> Option<CustodyStatus> {
        match &self.custody {
            CustodyState::Unknown => None,
            CustodyState::Held { .. } => Some(CustodyStatus::Held),
            CustodyState::Gap { .. } => Some(CustodyStatus::Gap),
            CustodyState::Released { .. } => Some(CustodyStatus::Released),
            CustodyState::Deceased { .. } => Some(CustodyStatus::Deceased),
            CustodyState::Escaped { .. } => Some(CustodyStatus::Escaped),
        }
    }

    /// Whether the person is deprived of liberty (held, or in a gap between two agencies).
    pub fn is_open(&self) -> bool {
        matches!(
            self.custody,
            CustodyState::Held { .. } | CustodyState::Gap { .. }
        )
    }

    /// Whether the person is in a custody gap.
    pub fn in_gap(&self) -> bool {
        matches!(self.custody, CustodyState::Gap { .. })
    }

    /// The holding agency, when held.
    pub fn holder(&self) -> Option<&str> {
        match &self.custody {
            CustodyState::Held { agency, .. } => Some(agency),
            _ => None,
        }
    }

    /// The current stay, when the person is at a recorded facility.
    pub fn current_stay(&self) -> Option<&Stay> {
        self.stays.last().filter(|s| s.until.is_none())
    }

    /// The facility where the person is now, when recorded.
    pub fn current_facility(&self) -> Option<&str> {
        self.current_stay().map(|s| s.facility.as_str())
    }

    /// When the current deprivation of liberty began (the current arrest).
    pub fn held_since(&self) -> Option<&Timestamp> {
        self.arrest.as_ref().map(|a| &a.occurred_at)
    }

    /// When the person was first deprived of liberty (the first arrest of the chain).
    pub fn first_arrested_at(&self) -> Option<&Timestamp> {
        self.earlier
            .first()
            .map(|e| &e.arrest.occurred_at)
            .or_else(|| self.held_since())
    }

    /// The first admission to a facility.
    pub fn first_admission(&self) -> Option<&Admission> {
        self.admissions.first()
    }

    /// The current order: the latest detention order.
    pub fn current_order(&self) -> Option<&DetentionOrder> {
        self.orders.last()
    }

    /// Start of pre-trial detention: the start of the chain's first detention order.
    pub fn pre_trial_since(&self) -> Option<&Timestamp> {
        self.orders.first().map(|o| &o.start)
    }

    /// The next hearing at or after `at` that is not yet recorded as held.
    pub fn next_hearing(&self, at: &Timestamp) -> Option<&Hearing> {
        self.hearings
            .iter()
            .filter(|x| x.held.is_none())
            .filter(|x| x.at().is_some_and(|t| t >= at))
            .min_by(|a, b| a.at().cmp(&b.at()))
    }

    /// The hearings held without the person produced.
    pub fn hearings_not_produced(&self) -> impl Iterator<Item = &Hearing> {
        self.hearings.iter().filter(|x| x.not_produced())
    }

    /// Every deprivation of liberty, the current one last (with no end while it goes on).
    pub fn episodes(&self) -> Vec<Episode> {
        let mut all = self.earlier.clone();
        if let Some(arrest) = &self.arrest {
            all.push(Episode {
                arrest: arrest.clone(),
                police_custody: self.police_custody.clone(),
                first_appearance: self.first_appearance.clone(),
                ended_at: self.custody.ended_at().cloned(),
            });
        }
        all
    }
}

impl CustodyState {
    /// When custody ended (release, death, escape).
    pub fn ended_at(&self) -> Option<&Timestamp> {
        match self {
            CustodyState::Released { at }
            | CustodyState::Deceased { at }
            | CustodyState::Escaped { at } => Some(at),
            _ => None,
        }
    }
}

fn offence_class(text: &str) -> Option<OffenceClass> {
    serde_json::from_value(serde_json::Value::from(text)).ok()
}

/// Whether a kind is a Mandela Rule 8 event of the person's file (complaints and their
/// answers, disciplinary sanctions, injuries during detention).
fn is_rule8(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::ComplaintLodged
            | EventKind::ComplaintAnswered
            | EventKind::DisciplinarySanction
            | EventKind::InjuryRecorded
    )
}

/// A registered agency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgencyEntry {
    /// Official name.
    pub name: String,
    /// Type of agency.
    pub agency_type: AgencyType,
    /// Country, ISO 3166-1 alpha-2.
    pub country: String,
    /// Common abbreviation.
    pub acronym: Option<String>,
    /// Id of the agency it belongs to.
    pub parent: Option<String>,
    /// Authority that supervises it (Disappearance Convention art. 17(3)(d)).
    pub supervising_authority: Option<String>,
}

/// A registered facility (place of detention).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacilityEntry {
    /// Id of the agency responsible for it.
    pub agency: String,
    /// Name.
    pub name: String,
    /// Kind of facility.
    pub kind: FacilityKind,
    /// Official capacity in persons (0: none set).
    pub capacity: u32,
    /// Whether it is officially recognised as a place of detention (art. 17(1)).
    pub officially_recognised: bool,
}

/// Agencies and facilities (name, agency, capacity, officially recognised), from authority records.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Directory {
    /// Agencies by id.
    pub agencies: BTreeMap<String, AgencyEntry>,
    /// Facilities by id.
    pub facilities: BTreeMap<String, FacilityEntry>,
    /// The ledger position of the latest authority record folded.
    pub last_position: Option<u64>,
}

impl Directory {
    /// Folds one authority record at ledger position `position` (its payload body: authority
    /// records keep theirs in every export); a position already folded, a record of another
    /// chain or one without payload changes nothing and returns false.
    pub fn observe(&mut self, position: u64, record: &Record) -> bool {
        if self.last_position.is_some_and(|last| position <= last)
            || record.header.chain != AUTHORITY_CHAIN
        {
            return false;
        }
        self.last_position = Some(position);
        let kind = record.header.kind;
        if !matches!(
            kind,
            EventKind::AgencyRegistered | EventKind::FacilityRegistered
        ) {
            return false;
        }
        let Some(payload) = &record.payload else {
            return false;
        };
        match parse_body(kind, &payload.body) {
            Ok(Body::AgencyRegistered(b)) => {
                self.agencies.insert(
                    b.id,
                    AgencyEntry {
                        name: b.name,
                        agency_type: b.r#type,
                        country: b.country,
                        acronym: b.acronym,
                        parent: b.parent,
                        supervising_authority: b.supervising_authority,
                    },
                );
                true
            }
            Ok(Body::FacilityRegistered(b)) => {
                self.facilities.insert(
                    b.id,
                    FacilityEntry {
                        agency: b.agency,
                        name: b.name,
                        kind: b.kind,
                        capacity: b.capacity,
                        officially_recognised: b.officially_recognised,
                    },
                );
                true
            }
            _ => false,
        }
    }

    /// A facility, if registered.
    pub fn facility(&self, id: &str) -> Option<&FacilityEntry> {
        self.facilities.get(id)
    }

    /// Whether a place is a registered, officially recognised place of detention.
    pub fn is_recognised_facility(&self, id: &str) -> bool {
        self.facility(id).is_some_and(|f| f.officially_recognised)
    }
}

/// What a record folded into a [`Projection`] touched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Touched {
    /// Nothing: a position already folded.
    Nothing,
    /// The directory (an authority record).
    Directory,
    /// The fold of one detainee chain (its id).
    Chain(String),
}

/// A record handed to [`Projection::observe`] past the next position: records are missing
/// between the projection and it, and nothing was folded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("projection gap: the next ledger position is {expected}, record at position {got} refused (records {expected}..{got} are missing)")]
pub struct ProjectionGap {
    /// The position expected (the next one).
    pub expected: u64,
    /// The position given.
    pub got: u64,
}

/// The whole read model in memory: the directory and every detainee's fold, and the ledger position reached.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    /// Agencies and facilities.
    pub directory: Directory,
    /// Every detainee's fold, by chain id.
    pub detainees: BTreeMap<String, DetaineeFold>,
    /// The ledger position of the latest record folded (`None`: nothing yet).
    pub position: Option<u64>,
    /// The latest `recorded_at` folded.
    pub latest_recorded_at: Option<Timestamp>,
}

impl Projection {
    /// Whether the person of `chain` is one of `agency`'s: held by it, or at one of its
    /// facilities now (the people a registrar's or a judicial police officer's list views are
    /// narrowed to: [`crate::access::narrowed_to_own_agency`]).
    pub fn concerns_agency(&self, chain: &str, agency: &str) -> bool {
        self.detainees.get(chain).is_some_and(|f| {
            f.holder() == Some(agency)
                || f.current_facility()
                    .and_then(|id| self.directory.facility(id))
                    .is_some_and(|e| e.agency == agency)
        })
    }

    /// An empty projection.
    pub fn new() -> Self {
        Projection::default()
    }

    /// The ledger position expected next: 0 when empty.
    pub fn next_position(&self) -> u64 {
        self.position.map_or(0, |p| p + 1)
    }

    /// Folds the record at `position` (must be the next position: position == self.position+1, or 0 when empty;
    /// an older position is skipped and returns Touched::Nothing; a gap is an error).
    pub fn observe(&mut self, position: u64, record: &Record) -> Result<Touched, ProjectionGap> {
        let expected = self.next_position();
        if position < expected {
            return Ok(Touched::Nothing);
        }
        if position > expected {
            return Err(ProjectionGap {
                expected,
                got: position,
            });
        }
        self.position = Some(position);
        let recorded = &record.header.recorded_at;
        if self
            .latest_recorded_at
            .as_ref()
            .is_none_or(|t| t < recorded)
        {
            self.latest_recorded_at = Some(recorded.clone());
        }
        let chain = &record.header.chain;
        if chain == AUTHORITY_CHAIN {
            self.directory.observe(position, record);
            return Ok(Touched::Directory);
        }
        self.detainees
            .entry(chain.clone())
            .or_insert_with(|| DetaineeFold::new(chain))
            .observe(position, record);
        Ok(Touched::Chain(chain.clone()))
    }

    /// The projection of records in ledger order, from position 0: a full rebuild.
    pub fn of_records<'a>(records: impl IntoIterator<Item = &'a Record>) -> Projection {
        let mut p = Projection::new();
        for (position, r) in records.into_iter().enumerate() {
            // Positions are consecutive from 0: never a gap.
            let _ = p.observe(position as u64, r);
        }
        p
    }

    /// The fold of a chain.
    pub fn detainee(&self, chain: &str) -> Option<&DetaineeFold> {
        self.detainees.get(chain)
    }

    /// The fold of a chain named by its id or its human code.
    pub fn find(&self, chain_or_code: &str) -> Option<&DetaineeFold> {
        self.detainees.get(chain_or_code).or_else(|| {
            self.detainees
                .values()
                .find(|d| d.code.eq_ignore_ascii_case(chain_or_code))
        })
    }
}
