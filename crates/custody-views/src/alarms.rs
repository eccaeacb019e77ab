//! Alarms: what a clerk of the judicial pole, a prosecutor or a prison registrar must act on,
//! computed from the read model ([`Projection`]) at an instant, under the rule set in force at
//! the arrest ([`PolicySet::for_arrest`]) and the working-day [`Calendar`]:
//!
//! - an arrest recorded more than the limit (24 h) after it happened;
//! - no judicial appearance within the limit (48 h, Human Rights Committee General Comment
//!   35), and every first appearance that came late, past ones included;
//! - police custody past its end (the base duration and the recorded extensions the law
//!   allows), past or current, and more extensions recorded than the law allows;
//! - a detention order expired with the person still held (or held past its expiry before a
//!   late renewal or a release), and an order expiring within its renewal window (8 working
//!   days for a crime; the `[alarms]` notice for a class without a window);
//! - an order or a renewal longer than the law allows for its offence class, a renewal the law
//!   does not allow, and pre-trial detention beyond the legal total (the ledger stores the
//!   order as the fact it is; it is alarmed, never refused);
//! - a release not accepted within the configured hours (a custody gap), past or current;
//! - a person held at a place that is not a registered, officially recognised place of
//!   detention, and every past stay at such a place;
//! - a hearing held without the person produced;
//! - a fork (two validly signed records at one place of a chain), from the store's fork log;
//! - an access restriction (Disappearance Convention art. 20) that expired, or whose review
//!   date passed, or that is not reasoned.
//!
//! Each alarm fires at a precise instant ([`Alarm::since`]): one second past a time limit (at
//! the limit itself is in time), or the instant of the fact (the late recording, the hearing,
//! the arrival at the place). An alarm at an instant `at` reads only what had happened by `at`
//! (an appearance, a release, an extension after `at` has not happened yet), so the alarms of a
//! past day are those the clerk would have seen that day, from the records since kept.
//!
//! Police custody follows the regime its `police_custody_started` states (header fact `regime`):
//! ordinary law, or terrorism and transnational organised crime in 48-hour blocks
//! ([`CustodyRegime`], the number of extensions a setting of the rule set). Whether an extension had its written authorisation is not checked here.

use std::collections::BTreeMap;

use custody_core::humancode::code_for_chain;
use custody_core::ids::AUTHORITY_CHAIN;
use custody_core::kinds::bodies::OffenceClass;
use custody_core::{Hash, Record, Timestamp};
use serde_json::{json, Value};

use crate::calendar::{Calendar, Date};
use crate::deadlines::{
    arrest_recording_deadline, check_order, check_total, first_appearance_deadline,
    police_custody_deadline, renewal_window, CustodyRegime, Finding, RuleRef,
};
use crate::detainee::{DetaineeFold, Projection};
use crate::i18n::{fmt_datetime, fmt_int, Lang};
use crate::policy::{Policy, PolicySet};

/// What an alarm is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlarmKind {
    /// The arrest was recorded later than the limit after it happened.
    ArrestRecordedLate,
    /// The first judicial appearance came later than the limit after the arrest.
    FirstAppearanceLate,
    /// No judicial appearance within the limit: still held without one, or released (dead,
    /// escaped) after the limit without one.
    NoFirstAppearance,
    /// Police custody went on past its end.
    PoliceCustodyOverdue,
    /// More police custody extensions were recorded than the law allows.
    ExtensionsBeyondLaw,
    /// The detention order expired with the person still held.
    OrderExpired,
    /// The detention order expires within its renewal window.
    OrderExpiring,
    /// An order (or a renewal) runs longer than the law allows for its offence class.
    OrderLongerThanLaw,
    /// A renewal the law does not allow (beyond the number allowed, or of a class without one).
    RenewalBeyondLaw,
    /// Pre-trial detention runs past the total the law allows.
    PreTrialBeyondLaw,
    /// Released by one agency and not accepted by the next within the configured hours.
    CustodyGap,
    /// Held at a place that is not a registered, officially recognised place of detention.
    HeldAtUnrecognisedPlace,
    /// A past stay at a place that is not a registered, officially recognised place of
    /// detention.
    UnofficialStay,
    /// A hearing was held without the person produced.
    HearingNotProduced,
    /// Two validly signed records claim one place of a chain.
    Fork,
    /// An access restriction expired: it no longer applies.
    RestrictionExpired,
    /// An access restriction was not reviewed by its review date, or is not reasoned.
    RestrictionNotReviewed,
}

impl AlarmKind {
    /// Every kind, in the order of the list above.
    pub const ALL: &'static [AlarmKind] = &[
        AlarmKind::ArrestRecordedLate,
        AlarmKind::FirstAppearanceLate,
        AlarmKind::NoFirstAppearance,
        AlarmKind::PoliceCustodyOverdue,
        AlarmKind::ExtensionsBeyondLaw,
        AlarmKind::OrderExpired,
        AlarmKind::OrderExpiring,
        AlarmKind::OrderLongerThanLaw,
        AlarmKind::RenewalBeyondLaw,
        AlarmKind::PreTrialBeyondLaw,
        AlarmKind::CustodyGap,
        AlarmKind::HeldAtUnrecognisedPlace,
        AlarmKind::UnofficialStay,
        AlarmKind::HearingNotProduced,
        AlarmKind::Fork,
        AlarmKind::RestrictionExpired,
        AlarmKind::RestrictionNotReviewed,
    ];

    /// Stable code (JSON, CSV).
    pub fn code(self) -> &'static str {
        match self {
            AlarmKind::ArrestRecordedLate => "arrest_recorded_late",
            AlarmKind::FirstAppearanceLate => "first_appearance_late",
            AlarmKind::NoFirstAppearance => "no_first_appearance",
            AlarmKind::PoliceCustodyOverdue => "police_custody_overdue",
            AlarmKind::ExtensionsBeyondLaw => "extensions_beyond_law",
            AlarmKind::OrderExpired => "order_expired",
            AlarmKind::OrderExpiring => "order_expiring",
            AlarmKind::OrderLongerThanLaw => "order_longer_than_law",
            AlarmKind::RenewalBeyondLaw => "renewal_beyond_law",
            AlarmKind::PreTrialBeyondLaw => "pre_trial_beyond_law",
            AlarmKind::CustodyGap => "custody_gap",
            AlarmKind::HeldAtUnrecognisedPlace => "held_at_unrecognised_place",
            AlarmKind::UnofficialStay => "unofficial_stay",
            AlarmKind::HearingNotProduced => "hearing_not_produced",
            AlarmKind::Fork => "fork",
            AlarmKind::RestrictionExpired => "restriction_expired",
            AlarmKind::RestrictionNotReviewed => "restriction_not_reviewed",
        }
    }

    /// The kind of a code.
    pub fn from_code(code: &str) -> Option<AlarmKind> {
        AlarmKind::ALL.iter().copied().find(|k| k.code() == code)
    }

    /// Words for people, French or English.
    pub fn label(self, french: bool) -> &'static str {
        use AlarmKind as A;
        match (self, french) {
            (A::ArrestRecordedLate, true) => "arrestation enregistrée en retard",
            (A::ArrestRecordedLate, false) => "arrest recorded late",
            (A::FirstAppearanceLate, true) => "première comparution tardive",
            (A::FirstAppearanceLate, false) => "first judicial appearance late",
            (A::NoFirstAppearance, true) => "aucune comparution devant un juge",
            (A::NoFirstAppearance, false) => "no judicial appearance",
            (A::PoliceCustodyOverdue, true) => "garde à vue au-delà du délai",
            (A::PoliceCustodyOverdue, false) => "police custody past its limit",
            (A::ExtensionsBeyondLaw, true) => "prolongations au-delà de la loi",
            (A::ExtensionsBeyondLaw, false) => "extensions beyond the law",
            (A::OrderExpired, true) => "mandat de dépôt expiré, personne toujours détenue",
            (A::OrderExpired, false) => "detention order expired, person still held",
            (A::OrderExpiring, true) => "mandat de dépôt à renouveler (délai de renouvellement)",
            (A::OrderExpiring, false) => "detention order expiring (renewal window)",
            (A::OrderLongerThanLaw, true) => "mandat plus long que la loi ne le permet",
            (A::OrderLongerThanLaw, false) => "order longer than the law allows",
            (A::RenewalBeyondLaw, true) => "renouvellement non permis par la loi",
            (A::RenewalBeyondLaw, false) => "renewal the law does not allow",
            (A::PreTrialBeyondLaw, true) => "détention provisoire au-delà du maximum légal",
            (A::PreTrialBeyondLaw, false) => "pre-trial detention beyond the legal maximum",
            (A::CustodyGap, true) => "remise non acceptée (rupture de la garde)",
            (A::CustodyGap, false) => "release not accepted (custody gap)",
            (A::HeldAtUnrecognisedPlace, true) => "détenu dans un lieu non reconnu",
            (A::HeldAtUnrecognisedPlace, false) => "held at a place that is not recognised",
            (A::UnofficialStay, true) => "séjour dans un lieu de détention non officiel",
            (A::UnofficialStay, false) => "stay at an unofficial place of detention",
            (A::HearingNotProduced, true) => "audience sans extraction de la personne",
            (A::HearingNotProduced, false) => "hearing held without the person produced",
            (A::Fork, true) => "bifurcation de chaîne (deux versions signées)",
            (A::Fork, false) => "chain fork (two signed versions)",
            (A::RestrictionExpired, true) => "restriction d'accès expirée",
            (A::RestrictionExpired, false) => "access restriction expired",
            (A::RestrictionNotReviewed, true) => "restriction d'accès non contrôlée",
            (A::RestrictionNotReviewed, false) => "access restriction not reviewed",
        }
    }
}

/// A fork the store recorded: two validly signed records at one place of a chain (the caller
/// reads them from the store's fork log, `custody_store::LedgerStore::forks`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForkInfo {
    /// The chain.
    pub chain: String,
    /// The place in the chain both records claim.
    pub seq: u64,
    /// Hash of the record the ledger holds there.
    pub stored: Hash,
    /// Hash of the other version.
    pub other: Hash,
    /// When the store first saw the other version.
    pub seen_at: Timestamp,
}

/// What an alarm is about, beyond its kind: the data its line shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Nothing more than the kind and the instants.
    None,
    /// Police custody extensions.
    Extensions {
        /// Extensions recorded.
        recorded: u32,
        /// Extensions the law allows.
        allowed: u32,
    },
    /// A detention order (or one of its renewals).
    Order {
        /// Hash of the `detention_order` event.
        event: Hash,
        /// Its offence class.
        offence_class: Option<OffenceClass>,
        /// Its end of validity (as stated, or as of the alarm's instant).
        valid_until: Timestamp,
        /// The latest end the law allows, when the alarm is about it.
        lawful_until: Option<Timestamp>,
        /// Estimated holidays (moon sighting) counted in a renewal window: the window moves if
        /// they move.
        estimated_holidays: Vec<String>,
    },
    /// A release not accepted.
    Gap {
        /// The releasing agency.
        from: String,
        /// The agency named to receive the person.
        to: Option<String>,
    },
    /// A place.
    Place {
        /// The facility id as recorded.
        facility: String,
        /// Whether it is registered.
        registered: bool,
        /// When the person left it (`None`: still there).
        until: Option<Timestamp>,
    },
    /// A hearing.
    Hearing {
        /// The court.
        court: Option<String>,
        /// The case reference.
        case_ref: Option<String>,
    },
    /// A fork.
    Fork {
        /// The place in the chain.
        seq: u64,
        /// The record the ledger holds.
        stored: Hash,
        /// The other version.
        other: Hash,
    },
    /// An access restriction.
    Restriction {
        /// Hash of the `access_restricted` event.
        event: Hash,
        /// Its end.
        until: Option<Timestamp>,
        /// The judicial authority that reviews it.
        review_by: Option<String>,
        /// Why it is flagged (`expired`, `review_date_passed`, `not_reasoned`,
        /// `no_judicial_review`, `not_time_limited`).
        why: &'static str,
    },
}

impl Detail {
    /// The detail as words for people, French or English (empty for [`Detail::None`]).
    pub fn text(&self, french: bool) -> String {
        let fr = french;
        let lang = lang_of(french);
        let when = |t: &Timestamp| fmt_datetime(lang, t);
        match self {
            Detail::None => String::new(),
            Detail::Extensions { recorded, allowed } => {
                if fr {
                    format!("{recorded} prolongations enregistrées, {allowed} permises")
                } else {
                    format!("{recorded} extensions recorded, {allowed} allowed")
                }
            }
            Detail::Order {
                valid_until,
                lawful_until,
                offence_class,
                estimated_holidays,
                ..
            } => {
                let class = offence_class
                    .and_then(|c| serde_json::to_value(c).ok())
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_else(|| "?".into());
                let mut s = if fr {
                    format!("mandat valable jusqu'au {} ({class})", when(valid_until))
                } else {
                    format!("order valid until {} ({class})", when(valid_until))
                };
                if let Some(l) = lawful_until {
                    s.push_str(&if fr {
                        format!(", maximum légal {}", when(l))
                    } else {
                        format!(", lawful until {}", when(l))
                    });
                }
                if !estimated_holidays.is_empty() {
                    s.push_str(&if fr {
                        format!(", fêtes estimées : {}", estimated_holidays.join(", "))
                    } else {
                        format!(", estimated holidays: {}", estimated_holidays.join(", "))
                    });
                }
                s
            }
            Detail::Gap { from, to } => {
                let to = to.as_deref().unwrap_or("?");
                if fr {
                    format!("remis par {from} à {to}")
                } else {
                    format!("released by {from} to {to}")
                }
            }
            Detail::Place {
                facility,
                registered,
                until,
            } => {
                let what = match (registered, fr) {
                    (true, true) => "lieu non officiellement reconnu",
                    (true, false) => "not an officially recognised place",
                    (false, true) => "lieu non enregistré",
                    (false, false) => "not a registered place",
                };
                match (until, fr) {
                    (Some(u), true) => format!("{facility} ({what}), jusqu'au {}", when(u)),
                    (Some(u), false) => format!("{facility} ({what}), until {}", when(u)),
                    (None, true) => format!("{facility} ({what}), toujours là"),
                    (None, false) => format!("{facility} ({what}), still there"),
                }
            }
            Detail::Hearing { court, case_ref } => {
                let court = court.as_deref().unwrap_or("?");
                let case = case_ref.as_deref().unwrap_or("?");
                if fr {
                    format!("{court}, affaire {case}")
                } else {
                    format!("{court}, case {case}")
                }
            }
            Detail::Fork { seq, stored, other } => {
                if fr {
                    format!("seq {seq} : le registre tient {stored}, autre version {other}")
                } else {
                    format!("seq {seq}: the ledger holds {stored}, other version {other}")
                }
            }
            Detail::Restriction {
                until,
                review_by,
                why,
                ..
            } => {
                let why_text = match (*why, fr) {
                    ("expired", true) => "expirée, ne s'applique plus",
                    ("expired", false) => "expired, no longer applies",
                    ("review_date_passed", true) => "date de contrôle dépassée",
                    ("review_date_passed", false) => "review date passed",
                    ("not_reasoned", true) => "décision non motivée",
                    ("not_reasoned", false) => "decision not reasoned",
                    ("no_judicial_review", true) => "aucun contrôle judiciaire désigné",
                    ("no_judicial_review", false) => "no judicial review named",
                    ("not_time_limited", true) => "sans limite de durée",
                    ("not_time_limited", false) => "not time-limited",
                    (w, _) => w,
                };
                let until = until.as_ref().map_or("?".to_string(), when);
                let by = review_by.as_deref().unwrap_or("?");
                if fr {
                    format!("{why_text} (jusqu'au {until}, contrôle : {by})")
                } else {
                    format!("{why_text} (until {until}, review: {by})")
                }
            }
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Detail::None => json!({}),
            Detail::Extensions { recorded, allowed } => {
                json!({"recorded": recorded, "allowed": allowed})
            }
            Detail::Order {
                event,
                offence_class,
                valid_until,
                lawful_until,
                estimated_holidays,
            } => json!({
                "order_event": event.to_hex(),
                "offence_class": offence_class,
                "valid_until": valid_until.as_str(),
                "lawful_until": lawful_until.as_ref().map(Timestamp::as_str),
                "estimated_holidays": estimated_holidays,
            }),
            Detail::Gap { from, to } => json!({"from_agency": from, "to_agency": to}),
            Detail::Place {
                facility,
                registered,
                until,
            } => json!({
                "facility": facility, "registered": registered,
                "until": until.as_ref().map(Timestamp::as_str),
            }),
            Detail::Hearing { court, case_ref } => json!({"court": court, "case_ref": case_ref}),
            Detail::Fork { seq, stored, other } => json!({
                "seq": seq, "stored": stored.to_hex(), "other": other.to_hex(),
            }),
            Detail::Restriction {
                event,
                until,
                review_by,
                why,
            } => json!({
                "restriction_event": event.to_hex(),
                "until": until.as_ref().map(Timestamp::as_str),
                "review_by": review_by, "why": why,
            }),
        }
    }
}

/// One alarm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alarm {
    /// What it is about.
    pub kind: AlarmKind,
    /// The chain.
    pub chain: String,
    /// Its human code.
    pub code: String,
    /// The instant the alarm fires: it is reported at that instant and after, never before
    /// (one second past a limit, or the instant of the fact).
    pub since: Timestamp,
    /// The limit passed, when the alarm is about a time limit.
    pub due: Option<Timestamp>,
    /// When the late or unlawful thing happened or ended (the recording, the appearance, the
    /// end of police custody, the acceptance, the departure); `None` while it goes on.
    pub happened_at: Option<Timestamp>,
    /// Whether it is still going on at the report's instant.
    pub current: bool,
    /// Whole hours past the limit, at `happened_at` or, while it goes on, at the report's
    /// instant (0 without a limit).
    pub hours_late: i64,
    /// What it is about.
    pub detail: Detail,
    /// The rule it comes from (none for a fork or a place: they break no time limit).
    pub rule: Option<RuleRef>,
}

impl Alarm {
    /// The alarm as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "kind": self.kind.code(),
            "label_fr": self.kind.label(true),
            "label_en": self.kind.label(false),
            "chain": self.chain,
            "code": self.code,
            "since": self.since.as_str(),
            "due": self.due.as_ref().map(Timestamp::as_str),
            "deadline": self.due.as_ref().map(Timestamp::as_str),
            "happened_at": self.happened_at.as_ref().map(Timestamp::as_str),
            "current": self.current,
            "hours_late": self.hours_late,
            "detail": self.detail.to_json(),
            "detail_fr": self.detail.text(true),
            "detail_en": self.detail.text(false),
            "rule_set": self.rule.as_ref().map(|r| r.code.as_str()),
            "rule": self.rule.as_ref().map(|r| r.rule.as_str()),
            "rule_confirmed": self.rule.as_ref().map(|r| r.confirmed),
        })
    }

    /// One line for people, French or English, naming the person by code only.
    pub fn line(&self, french: bool) -> String {
        let lang = lang_of(french);
        let when = |t: &Timestamp| fmt_datetime(lang, t);
        let colon = if french { " :" } else { ":" };
        let state = match (self.current, french) {
            (true, true) => "EN COURS",
            (true, false) => "CURRENT",
            (false, true) => "passée",
            (false, false) => "past",
        };
        let mut s = format!(
            "{}  {:<9} {}{colon} ",
            self.code,
            state,
            self.kind.label(french)
        );
        if let Some(due) = &self.due {
            s.push_str(&if french {
                format!(
                    "{} h de retard (limite {}",
                    fmt_int(lang, self.hours_late),
                    when(due)
                )
            } else {
                format!(
                    "{} h late (limit {}",
                    fmt_int(lang, self.hours_late),
                    when(due)
                )
            });
            if let Some(r) = &self.rule {
                s.push_str(&format!(", {} {}", r.code, r.rule));
                if !r.confirmed {
                    s.push_str(if french {
                        ", règle non confirmée"
                    } else {
                        ", unconfirmed rule"
                    });
                }
            }
            s.push(')');
        } else if french {
            s.push_str(&format!("depuis le {}", when(&self.since)));
        } else {
            s.push_str(&format!("since {}", when(&self.since)));
        }
        let detail = self.detail.text(french);
        if !detail.is_empty() {
            s.push_str(" — ");
            s.push_str(&detail);
        }
        s
    }
}

/// The alarms at an instant, and the chains no rule set (or no calendar year) covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlarmReport {
    /// The instant.
    pub at: Option<Timestamp>,
    /// The alarms: current ones first, then the longest overdue first.
    pub alarms: Vec<Alarm>,
    /// Chains for which a rule could not be applied (no rule set in force at the arrest, a
    /// renewal window in a year no calendar file describes), with why.
    pub uncovered: Vec<(String, String)>,
}

impl AlarmReport {
    /// Keeps only the alarms and uncovered chains of the people `agency` holds or has at its
    /// facilities ([`Projection::concerns_agency`]): what a reader narrowed to its own agency
    /// sees ([`crate::access::narrowed_to_own_agency`]). The API, the web desk and the
    /// `custody alarms` command narrow through it.
    pub fn keep_agency(&mut self, p: &Projection, agency: &str) {
        self.alarms.retain(|a| p.concerns_agency(&a.chain, agency));
        self.uncovered.retain(|(c, _)| p.concerns_agency(c, agency));
    }

    /// The number of alarms of a kind.
    pub fn count(&self, kind: AlarmKind) -> usize {
        self.alarms.iter().filter(|a| a.kind == kind).count()
    }

    /// The alarms of a chain.
    pub fn of_chain<'a>(&'a self, chain: &'a str) -> impl Iterator<Item = &'a Alarm> + 'a {
        self.alarms.iter().filter(move |a| a.chain == chain)
    }

    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        let mut by_kind = BTreeMap::new();
        for a in &self.alarms {
            *by_kind.entry(a.kind.code()).or_insert(0u64) += 1;
        }
        json!({
            "at": self.at.as_ref().map(Timestamp::as_str),
            "count": self.alarms.len(),
            "by_kind": by_kind,
            "alarms": self.alarms.iter().map(Alarm::to_json).collect::<Vec<_>>(),
            "uncovered": self.uncovered.iter().map(|(chain, why)| json!({"chain": chain, "why": why})).collect::<Vec<_>>(),
        })
    }

    /// The report as text, in a language (French dates and numbers in French).
    pub fn render(&self, lang: Lang) -> String {
        let mut text = self.lines(lang == Lang::Fr).join("\n");
        text.push('\n');
        text
    }

    /// The report as text lines, French or English.
    pub fn lines(&self, french: bool) -> Vec<String> {
        let colon = if french { " :" } else { ":" };
        let title = if french {
            "ALERTES DE DÉLAIS au"
        } else {
            "TIME-LIMIT ALARMS at"
        };
        let at = self
            .at
            .as_ref()
            .map_or("?".to_string(), |t| fmt_datetime(lang_of(french), t));
        let mut out = vec![format!("{title} {at}{colon} {}", self.alarms.len())];
        if self.alarms.is_empty() {
            out.push(
                if french {
                    "  aucune alerte"
                } else {
                    "  no alarm"
                }
                .to_string(),
            );
        }
        out.extend(self.alarms.iter().map(|a| format!("  {}", a.line(french))));
        out
    }
}

/// The alarms of a projection at `at`, under the rule sets of `jurisdiction` and the calendar,
/// without forks (see [`alarms_with_forks`]).
pub fn alarms_at(
    p: &Projection,
    policies: &PolicySet,
    calendar: &Calendar,
    jurisdiction: &str,
    at: &Timestamp,
) -> AlarmReport {
    alarms_with_forks(p, policies, calendar, jurisdiction, at, &[])
}

/// The alarms of a projection at `at`, with the forks the store recorded.
pub fn alarms_with_forks(
    p: &Projection,
    policies: &PolicySet,
    calendar: &Calendar,
    jurisdiction: &str,
    at: &Timestamp,
    forks: &[ForkInfo],
) -> AlarmReport {
    let mut report = AlarmReport {
        at: Some(at.clone()),
        ..AlarmReport::default()
    };
    for d in p.detainees.values() {
        let mut c = ChainAlarms {
            d,
            p,
            at,
            calendar,
            out: &mut report,
        };
        c.places();
        c.hearings();
        let Some(first) = d.first_arrested_at() else {
            continue;
        };
        if first > at {
            continue;
        }
        let policy = match policies.for_arrest(jurisdiction, first) {
            Ok(policy) => policy,
            Err(e) => {
                c.out.uncovered.push((d.chain.clone(), e.to_string()));
                continue;
            }
        };
        c.first_hours(policies, jurisdiction);
        c.orders(policy);
        c.gaps(policy);
        c.restrictions();
    }
    for f in forks.iter().filter(|f| &f.seen_at <= at) {
        report.alarms.push(Alarm {
            kind: AlarmKind::Fork,
            chain: f.chain.clone(),
            code: if f.chain == AUTHORITY_CHAIN {
                AUTHORITY_CHAIN.to_string()
            } else {
                code_for_chain(&f.chain)
            },
            since: f.seen_at.clone(),
            due: None,
            happened_at: None,
            current: true,
            hours_late: 0,
            detail: Detail::Fork {
                seq: f.seq,
                stored: f.stored,
                other: f.other,
            },
            rule: None,
        });
    }
    report.alarms.sort_by(|a, b| {
        b.current
            .cmp(&a.current)
            .then(b.hours_late.cmp(&a.hours_late))
            .then(a.since.cmp(&b.since))
            .then(a.chain.cmp(&b.chain))
            .then(a.kind.cmp(&b.kind))
    });
    report
}

fn lang_of(french: bool) -> Lang {
    if french {
        Lang::Fr
    } else {
        Lang::En
    }
}

/// One second after an instant: when a limit is passed.
fn after(t: &Timestamp) -> Timestamp {
    t.plus_seconds(1)
}

fn hours_between(from: &Timestamp, to: &Timestamp) -> i64 {
    ((to.unix_seconds() - from.unix_seconds()) / 3600).max(0)
}

/// The alarms of one chain being computed.
struct ChainAlarms<'a> {
    d: &'a DetaineeFold,
    p: &'a Projection,
    at: &'a Timestamp,
    calendar: &'a Calendar,
    out: &'a mut AlarmReport,
}

impl ChainAlarms<'_> {
    /// Whether an instant has come by the report's instant.
    fn seen(&self, t: &Timestamp) -> bool {
        t <= self.at
    }

    /// An instant, if it has come by the report's instant.
    fn by_now<'t>(&self, t: Option<&'t Timestamp>) -> Option<&'t Timestamp> {
        t.filter(|t| *t <= self.at)
    }

    /// Pushes an alarm about a limit `due`: past when `happened` (by now), else current.
    fn limit(
        &mut self,
        kind: AlarmKind,
        due: &Timestamp,
        happened: Option<&Timestamp>,
        detail: Detail,
        rule: Option<RuleRef>,
    ) {
        let until = happened.unwrap_or(self.at);
        self.out.alarms.push(Alarm {
            kind,
            chain: self.d.chain.clone(),
            code: self.d.code.clone(),
            since: after(due),
            due: Some(due.clone()),
            happened_at: happened.cloned(),
            current: happened.is_none(),
            hours_late: hours_between(due, until),
            detail,
            rule,
        });
    }

    /// Pushes an alarm about a fact of instant `since`.
    fn fact(
        &mut self,
        kind: AlarmKind,
        since: &Timestamp,
        happened: Option<&Timestamp>,
        current: bool,
        detail: Detail,
        rule: Option<RuleRef>,
    ) {
        self.out.alarms.push(Alarm {
            kind,
            chain: self.d.chain.clone(),
            code: self.d.code.clone(),
            since: since.clone(),
            due: None,
            happened_at: happened.cloned(),
            current,
            hours_late: 0,
            detail,
            rule,
        });
    }

    /// When custody ended (release, death, escape), if by now.
    fn ended(&self) -> Option<&Timestamp> {
        self.by_now(self.d.custody.ended_at())
    }

    /// Arrest recorded late, first appearance, police custody: per deprivation of liberty,
    /// under the rule set in force at its arrest.
    fn first_hours(&mut self, policies: &PolicySet, jurisdiction: &str) {
        for ep in self.d.episodes() {
            let arrest = &ep.arrest.occurred_at;
            if !self.seen(arrest) {
                continue;
            }
            let policy = match policies.for_arrest(jurisdiction, arrest) {
                Ok(p) => p,
                Err(e) => {
                    self.out
                        .uncovered
                        .push((self.d.chain.clone(), e.to_string()));
                    continue;
                }
            };
            let ended = self.by_now(ep.ended_at.as_ref()).cloned();

            let d = arrest_recording_deadline(policy, arrest);
            let recorded = &ep.arrest.recorded_at;
            if d.passed_at(recorded) && self.seen(recorded) {
                self.out.alarms.push(Alarm {
                    kind: AlarmKind::ArrestRecordedLate,
                    chain: self.d.chain.clone(),
                    code: self.d.code.clone(),
                    since: recorded.clone(),
                    due: Some(d.at.clone()),
                    happened_at: Some(recorded.clone()),
                    current: false,
                    hours_late: hours_between(&d.at, recorded),
                    detail: Detail::None,
                    rule: Some(d.rule),
                });
            }

            let d = first_appearance_deadline(policy, arrest);
            match (self.by_now(ep.first_appearance.as_ref()), &ended) {
                (Some(a), _) if d.passed_at(a) => {
                    let a = a.clone();
                    self.out.alarms.push(Alarm {
                        kind: AlarmKind::FirstAppearanceLate,
                        chain: self.d.chain.clone(),
                        code: self.d.code.clone(),
                        since: a.clone(),
                        due: Some(d.at.clone()),
                        happened_at: Some(a.clone()),
                        current: false,
                        hours_late: hours_between(&d.at, &a),
                        detail: Detail::None,
                        rule: Some(d.rule),
                    });
                }
                (Some(_), _) => {}
                (None, Some(end)) if d.passed_at(end) => self.limit(
                    AlarmKind::NoFirstAppearance,
                    &d.at,
                    Some(end),
                    Detail::None,
                    Some(d.rule.clone()),
                ),
                (None, Some(_)) => {}
                (None, None) if d.passed_at(self.at) => self.limit(
                    AlarmKind::NoFirstAppearance,
                    &d.at,
                    None,
                    Detail::None,
                    Some(d.rule.clone()),
                ),
                (None, None) => {}
            }

            let Some(pc) = &ep.police_custody else {
                continue;
            };
            if !self.seen(&pc.start) {
                continue;
            }
            let extensions: Vec<&Timestamp> =
                pc.extensions.iter().filter(|t| self.seen(t)).collect();
            let n = u32::try_from(extensions.len()).unwrap_or(u32::MAX);
            let regime = if pc.terrorism {
                CustodyRegime::TerrorismOrOrganisedCrime
            } else {
                CustodyRegime::Ordinary
            };
            let pcd = police_custody_deadline(policy, &pc.start, n, regime);
            let end = self.by_now(pc.ended_at.as_ref()).cloned();
            if let Some(Finding::ExtensionsBeyondLaw { recorded, allowed }) = &pcd.finding {
                let beyond = extensions
                    .get(*allowed as usize)
                    .map_or_else(|| pc.start.clone(), |t| (*t).clone());
                self.fact(
                    AlarmKind::ExtensionsBeyondLaw,
                    &beyond,
                    end.as_ref(),
                    end.is_none(),
                    Detail::Extensions {
                        recorded: *recorded,
                        allowed: *allowed,
                    },
                    Some(pcd.deadline.rule.clone()),
                );
            }
            match &end {
                Some(e) if pcd.deadline.passed_at(e) => self.limit(
                    AlarmKind::PoliceCustodyOverdue,
                    &pcd.deadline.at,
                    Some(e),
                    Detail::None,
                    Some(pcd.deadline.rule.clone()),
                ),
                Some(_) => {}
                None if pcd.deadline.passed_at(self.at) => self.limit(
                    AlarmKind::PoliceCustodyOverdue,
                    &pcd.deadline.at,
                    None,
                    Detail::None,
                    Some(pcd.deadline.rule.clone()),
                ),
                None => {}
            }
        }
    }

    /// Orders: expired while held, expiring in the renewal window, longer than the law,
    /// renewals the law does not allow, total beyond the law.
    fn orders(&mut self, policy: &Policy) {
        let d = self.d;
        let orders: Vec<_> = d
            .orders
            .iter()
            .filter(|o| self.seen(&o.issued_at))
            .collect();
        let Some(current) = orders.last() else {
            return;
        };
        // Every period of detention ordered, in order: (class, start, until, renewal index,
        // issued at, order event).
        let mut segments = Vec::new();
        for o in &orders {
            let Some(class) = o.offence_class else {
                continue;
            };
            segments.push((
                class,
                o.start.clone(),
                o.stated_until.clone(),
                0u32,
                o.issued_at.clone(),
                o.event,
            ));
            let mut prev = o.stated_until.clone();
            for (i, x) in o.extensions.iter().filter(|x| self.seen(&x.at)).enumerate() {
                let renewal = u32::try_from(i + 1).unwrap_or(u32::MAX);
                segments.push((
                    class,
                    prev.clone(),
                    x.valid_until.clone(),
                    renewal,
                    x.at.clone(),
                    o.event,
                ));
                prev = x.valid_until.clone();
            }
        }
        for (class, start, until, renewal, issued, event) in &segments {
            let check = check_order(policy, *class, start, until, *renewal);
            for f in &check.findings {
                let kind = match f {
                    Finding::OrderLongerThanLaw { .. } => AlarmKind::OrderLongerThanLaw,
                    Finding::RenewalNotAllowed { .. } => AlarmKind::RenewalBeyondLaw,
                    _ => continue,
                };
                let current = self.ended().is_none();
                self.fact(
                    kind,
                    issued,
                    Some(issued),
                    current,
                    Detail::Order {
                        event: *event,
                        offence_class: Some(*class),
                        valid_until: until.clone(),
                        lawful_until: Some(check.lawful_until.clone()),
                        estimated_holidays: Vec::new(),
                    },
                    Some(check.rule.clone()),
                );
            }
        }

        // Still in pre-trial detention at the instant: no judgment since the current order.
        let judged = d
            .judgments
            .iter()
            .any(|j| self.seen(&j.at) && j.at >= current.issued_at);
        if judged {
            return;
        }
        let ended = self.ended().cloned();

        // Held past the expiry before a late renewal.
        let mut prev = current.stated_until.clone();
        let at = self.at;
        for x in current.extensions.iter().filter(|x| &x.at <= at) {
            if x.at > prev {
                self.limit(
                    AlarmKind::OrderExpired,
                    &prev,
                    Some(&x.at),
                    self.order_detail(current, &prev, None),
                    current
                        .offence_class
                        .map(|c| check_order(policy, c, &current.start, &prev, 0).rule),
                );
            }
            prev = x.valid_until.clone();
        }
        let expiry = prev;
        let rule = current
            .offence_class
            .map(|c| check_order(policy, c, &current.start, &expiry, 0).rule);
        match &ended {
            Some(e) if e > &expiry => self.limit(
                AlarmKind::OrderExpired,
                &expiry,
                Some(e),
                self.order_detail(current, &expiry, None),
                rule.clone(),
            ),
            Some(_) => {}
            None if self.at > &expiry => self.limit(
                AlarmKind::OrderExpired,
                &expiry,
                None,
                self.order_detail(current, &expiry, None),
                rule.clone(),
            ),
            None => self.expiring(policy, current, &expiry),
        }

        // Pre-trial detention in all, against the total the law allows.
        let Some(class) = orders.iter().find_map(|o| o.offence_class) else {
            return;
        };
        let periods: Vec<(Timestamp, Timestamp)> = segments
            .iter()
            .filter(|s| s.0 == class)
            .map(|s| (s.1.clone(), s.2.clone()))
            .collect();
        let Some(total) = check_total(policy, class, &periods) else {
            return;
        };
        let stated_beyond = segments
            .iter()
            .find(|s| s.0 == class && s.2 > total.lawful_until);
        let detail = Detail::Order {
            event: current.event,
            offence_class: Some(class),
            valid_until: total.stated_until.clone(),
            lawful_until: Some(total.lawful_until.clone()),
            estimated_holidays: Vec::new(),
        };
        if let Some(s) = stated_beyond {
            let issued = s.4.clone();
            self.fact(
                AlarmKind::PreTrialBeyondLaw,
                &issued,
                ended.as_ref(),
                ended.is_none(),
                detail,
                Some(total.rule),
            );
        } else {
            match &ended {
                Some(e) if e > &total.lawful_until => self.limit(
                    AlarmKind::PreTrialBeyondLaw,
                    &total.lawful_until,
                    Some(e),
                    detail,
                    Some(total.rule),
                ),
                Some(_) => {}
                None if self.at > &total.lawful_until => self.limit(
                    AlarmKind::PreTrialBeyondLaw,
                    &total.lawful_until,
                    None,
                    detail,
                    Some(total.rule),
                ),
                None => {}
            }
        }
    }

    fn order_detail(
        &self,
        o: &crate::detainee::DetentionOrder,
        valid_until: &Timestamp,
        lawful_until: Option<Timestamp>,
    ) -> Detail {
        Detail::Order {
            event: o.event,
            offence_class: o.offence_class,
            valid_until: valid_until.clone(),
            lawful_until,
            estimated_holidays: Vec::new(),
        }
    }

    /// An order expiring at `expiry`, not yet expired: an alarm from the opening of its
    /// renewal window.
    fn expiring(
        &mut self,
        policy: &Policy,
        o: &crate::detainee::DetentionOrder,
        expiry: &Timestamp,
    ) {
        // A window of at most a few weeks: no need to count working days for an expiry far off
        // (nor to have the calendar of its year yet).
        if expiry.unix_seconds() - self.at.unix_seconds() > 45 * 86_400 {
            return;
        }
        let Some(class) = o.offence_class else { return };
        let window = match renewal_window(policy, self.calendar, class, expiry) {
            Ok(Some(w)) => Ok((w.opens, w.estimated_holidays, w.rule)),
            Ok(None) => self.notice_window(policy, expiry),
            Err(e) => Err(e.to_string()),
        };
        match window {
            Ok((opens, holidays, rule)) => {
                if &opens <= self.at {
                    self.out.alarms.push(Alarm {
                        kind: AlarmKind::OrderExpiring,
                        chain: self.d.chain.clone(),
                        code: self.d.code.clone(),
                        since: opens,
                        due: Some(expiry.clone()),
                        happened_at: None,
                        current: true,
                        hours_late: 0,
                        detail: Detail::Order {
                            event: o.event,
                            offence_class: o.offence_class,
                            valid_until: expiry.clone(),
                            lawful_until: None,
                            estimated_holidays: holidays.into_iter().map(|h| h.name).collect(),
                        },
                        rule: Some(rule),
                    });
                }
            }
            Err(why) => self.out.uncovered.push((self.d.chain.clone(), why)),
        }
    }

    /// The notice of the `[alarms]` settings, for a class whose rule states no window.
    #[allow(clippy::type_complexity)]
    fn notice_window(
        &self,
        policy: &Policy,
        expiry: &Timestamp,
    ) -> Result<(Timestamp, Vec<crate::calendar::Holiday>, RuleRef), String> {
        if self.calendar.jurisdiction() != policy.jurisdiction {
            return Err(format!(
                "the calendar is of jurisdiction {:?}, the rule set of {:?}",
                self.calendar.jurisdiction(),
                policy.jurisdiction
            ));
        }
        let n = i64::from(policy.alarms.order_expiry_notice_working_days);
        let (day, holidays) = self
            .calendar
            .walk_working_days(Date::of(expiry), -n)
            .map_err(|e| e.to_string())?;
        Ok((day.start(), holidays, alarms_rule(policy)))
    }

    /// Releases not accepted within the configured hours.
    fn gaps(&mut self, policy: &Policy) {
        let hours = i64::from(policy.alarms.custody_gap_hours);
        for h in &self.d.handovers {
            if !self.seen(&h.released_at) {
                continue;
            }
            let due = h.released_at.plus_seconds(hours * 3600);
            let out = self
                .by_now(h.accepted_at.as_ref())
                .or_else(|| self.by_now(h.ended_at.as_ref()))
                .cloned();
            let detail = Detail::Gap {
                from: h.from.clone(),
                to: h.to.clone(),
            };
            match &out {
                Some(x) if x > &due => self.limit(
                    AlarmKind::CustodyGap,
                    &due,
                    Some(x),
                    detail,
                    Some(alarms_rule(policy)),
                ),
                Some(_) => {}
                None if self.at > &due => self.limit(
                    AlarmKind::CustodyGap,
                    &due,
                    None,
                    detail,
                    Some(alarms_rule(policy)),
                ),
                None => {}
            }
        }
    }

    /// Stays at places that are not registered, officially recognised places of detention.
    fn places(&mut self) {
        for s in &self.d.stays {
            if !self.seen(&s.from) || self.p.directory.is_recognised_facility(&s.facility) {
                continue;
            }
            let registered = self.p.directory.facility(&s.facility).is_some();
            let until = self.by_now(s.until.as_ref()).cloned();
            let kind = if until.is_none() {
                AlarmKind::HeldAtUnrecognisedPlace
            } else {
                AlarmKind::UnofficialStay
            };
            self.fact(
                kind,
                &s.from,
                until.as_ref(),
                until.is_none(),
                Detail::Place {
                    facility: s.facility.clone(),
                    registered,
                    until: until.clone(),
                },
                None,
            );
        }
    }

    /// Hearings held without the person produced.
    fn hearings(&mut self) {
        for h in self.d.hearings.iter().filter(|h| h.not_produced()) {
            let Some(held) = &h.held else { continue };
            if !self.seen(&held.occurred_at) {
                continue;
            }
            self.fact(
                AlarmKind::HearingNotProduced,
                &held.occurred_at,
                Some(&held.occurred_at),
                false,
                Detail::Hearing {
                    court: h.court().map(str::to_string),
                    case_ref: h.case_ref().map(str::to_string),
                },
                None,
            );
        }
    }

    /// The latest access restriction, while the person is deprived of liberty: expired, review
    /// date passed, not reasoned.
    fn restrictions(&mut self) {
        if self.ended().is_some() {
            return;
        }
        let Some(r) = self
            .d
            .restrictions
            .iter()
            .rev()
            .find(|r| self.seen(&r.decided_at))
        else {
            return;
        };
        let detail = |why| Detail::Restriction {
            event: r.event,
            until: r.until.clone(),
            review_by: r.review_by.clone(),
            why,
        };
        if let Some(u) = &r.until {
            if self.at > u {
                self.limit(
                    AlarmKind::RestrictionExpired,
                    u,
                    None,
                    detail("expired"),
                    None,
                );
                return;
            }
        }
        if let Some(review) = &r.review_at {
            if self.at > review {
                self.limit(
                    AlarmKind::RestrictionNotReviewed,
                    review,
                    None,
                    detail("review_date_passed"),
                    None,
                );
                return;
            }
        }
        // A restriction must name the judicial authority that reviews it (art. 20); a record
        // that carries the restriction's facts (its `until`) and names none is flagged.
        let why = if r.reasoned == Some(false) {
            Some("not_reasoned")
        } else if r.until.is_some() && r.review_by.is_none() {
            Some("no_judicial_review")
        } else {
            None
        };
        if let Some(why) = why {
            self.fact(
                AlarmKind::RestrictionNotReviewed,
                &r.decided_at,
                None,
                true,
                detail(why),
                None,
            );
        }
    }
}

/// The rule reference of the `[alarms]` settings.
fn alarms_rule(policy: &Policy) -> RuleRef {
    RuleRef {
        code: policy.code.clone(),
        rule: "alarms".to_string(),
        confirmed: policy.alarms.confirmed,
        source: policy.alarms.source.clone(),
    }
}

/// The alarms of records in ledger order (a thin wrapper over a [`Projection`], kept for
/// callers that fold records themselves).
#[derive(Clone, Debug, Default)]
pub struct Alarms {
    projection: Projection,
}

impl Alarms {
    /// An empty set.
    pub fn new() -> Alarms {
        Alarms::default()
    }

    /// Takes the next record of the ledger.
    pub fn observe(&mut self, record: &Record) {
        let next = self.projection.next_position();
        // The next position: never a gap.
        let _ = self.projection.observe(next, record);
    }

    /// The projection folded so far.
    pub fn projection(&self) -> &Projection {
        &self.projection
    }

    /// The alarms at `as_of`, under the rule sets of `jurisdiction` and the calendar.
    pub fn report(
        &self,
        policies: &PolicySet,
        calendar: &Calendar,
        jurisdiction: &str,
        as_of: &Timestamp,
    ) -> AlarmReport {
        alarms_at(&self.projection, policies, calendar, jurisdiction, as_of)
    }
}
