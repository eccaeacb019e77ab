//! The deadline engine: police custody, first judicial appearance, late recording of an arrest,
//! pre-trial detention orders (lawful maximum, expiry, renewal window, total across renewals),
//! from a rule set of [`crate::policy`] and a [`Calendar`].
//!
//! Every function is pure and deterministic. Every result names the rule set and the rule that
//! produced it and whether that rule is unconfirmed ([`RuleRef`]). What the law does not allow
//! (an extension too many, an order longer than the law, a total beyond it) is returned as a
//! typed [`Finding`], never as an error: the ledger records what happened, lawful or not, and an
//! unlawful fact is reported, never hidden by a refusal nor taken as normal.
//!
//! Pick the rule set with [`crate::policy::PolicySet::for_arrest`] (the one in force at the
//! date of the facts, the arrest's date). The engine does not check that an extension had the
//! written authorisation the rule asks for (`extension_requires_written_authorisation`): that is
//! for the views that read the extension records.

use custody_core::kinds::bodies::OffenceClass;
use custody_core::Timestamp;

use crate::calendar::{plus_months, Calendar, CalendarError, Date, Holiday};
use crate::policy::Policy;

/// The rule a result comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRef {
    /// The rule set (`mali-cpp-2001`).
    pub code: String,
    /// The rule, as the key of its table in the file (`police_custody`, `pre_trial.crime`).
    pub rule: String,
    /// Whether its values were checked against the text of the law. An unconfirmed rule's
    /// results are to be shown as such wherever they are used.
    pub confirmed: bool,
    /// Where the values come from, as the file says.
    pub source: String,
}

impl RuleRef {
    fn new(policy: &Policy, rule: &str, confirmed: bool, source: &str) -> RuleRef {
        RuleRef {
            code: policy.code.clone(),
            rule: rule.to_string(),
            confirmed,
            source: source.to_string(),
        }
    }

    /// Whether the rule is unconfirmed.
    pub fn unconfirmed(&self) -> bool {
        !self.confirmed
    }
}

/// Something the law does not allow, found in what was recorded. A fact to report (an alarm),
/// never a reason to refuse the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// More police custody extensions were recorded than the law allows.
    ExtensionsBeyondLaw {
        /// Extensions recorded.
        recorded: u32,
        /// Extensions allowed.
        allowed: u32,
    },
    /// An order runs past what the law allows for its class.
    OrderLongerThanLaw {
        /// The end the order states.
        stated_until: Timestamp,
        /// The latest end the law allows for it.
        lawful_until: Timestamp,
        /// By how many seconds it exceeds.
        excess_seconds: i64,
    },
    /// A renewal beyond the number the law allows (or of a class that allows none).
    RenewalNotAllowed {
        /// Which renewal (1: the first).
        renewal: u32,
        /// Renewals allowed.
        allowed: u32,
    },
    /// Pre-trial detention across the orders runs past the total the law allows.
    TotalBeyondLaw {
        /// The latest end the orders state.
        stated_until: Timestamp,
        /// The latest end the law allows from the start of the first order.
        lawful_until: Timestamp,
        /// By how many seconds it exceeds.
        excess_seconds: i64,
    },
}

/// A deadline and its rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// The instant the limit is reached.
    pub at: Timestamp,
    /// The rule.
    pub rule: RuleRef,
}

impl Deadline {
    /// Whether an instant comes after the deadline (at the deadline itself is in time).
    pub fn passed_at(&self, at: &Timestamp) -> bool {
        at > &self.at
    }
}

/// Which police custody regime applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustodyRegime {
    /// Ordinary offences.
    Ordinary,
    /// Terrorism or transnational organised crime: blocks of hours.
    TerrorismOrOrganisedCrime,
}

/// The end of police custody.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoliceCustodyDeadline {
    /// The end of police custody with the recorded extensions the law allows counted.
    pub deadline: Deadline,
    /// Extensions counted (at most the number allowed).
    pub extensions_counted: u32,
    /// Set when more extensions were recorded than the law allows.
    pub finding: Option<Finding>,
}

/// When police custody started at `start` ends, with `recorded_extensions` extensions recorded:
/// the base duration plus one extension per recorded extension, up to the number the law
/// allows; the extensions beyond are a [`Finding`] and do not move the deadline.
pub fn police_custody_deadline(
    policy: &Policy,
    start: &Timestamp,
    recorded_extensions: u32,
    regime: CustodyRegime,
) -> PoliceCustodyDeadline {
    let (base, ext, allowed, rule) = match regime {
        CustodyRegime::Ordinary => {
            let r = &policy.police_custody;
            let rule = RuleRef::new(policy, "police_custody", r.confirmed, &r.source);
            (r.base_hours, r.extension_hours, r.max_extensions, rule)
        }
        CustodyRegime::TerrorismOrOrganisedCrime => {
            let r = &policy.police_custody_terrorism;
            let rule = RuleRef::new(policy, "police_custody_terrorism", r.confirmed, &r.source);
            (r.block_hours, r.block_hours, r.max_extensions, rule)
        }
    };
    let counted = recorded_extensions.min(allowed);
    let hours = i64::from(base) + i64::from(ext) * i64::from(counted);
    let finding = (recorded_extensions > allowed).then_some(Finding::ExtensionsBeyondLaw {
        recorded: recorded_extensions,
        allowed,
    });
    PoliceCustodyDeadline {
        deadline: Deadline {
            at: start.plus_seconds(hours * 3600),
            rule,
        },
        extensions_counted: counted,
        finding,
    }
}

/// The latest instant of a first appearance before a judge (Human Rights Committee General
/// Comment 35: ordinarily 48 hours), from the arrest.
pub fn first_appearance_deadline(policy: &Policy, arrest: &Timestamp) -> Deadline {
    let r = &policy.first_appearance;
    Deadline {
        at: arrest.plus_seconds(i64::from(r.max_hours) * 3600),
        rule: RuleRef::new(policy, "first_appearance", r.confirmed, &r.source),
    }
}

/// The latest instant an arrest should be recorded, from the arrest.
pub fn arrest_recording_deadline(policy: &Policy, arrest: &Timestamp) -> Deadline {
    let r = &policy.late_arrest_recording;
    Deadline {
        at: arrest.plus_seconds(i64::from(r.max_hours) * 3600),
        rule: RuleRef::new(policy, "late_arrest_recording", r.confirmed, &r.source),
    }
}

fn class_key(class: OffenceClass) -> &'static str {
    match class {
        OffenceClass::MisdemeanourUpTo2y => "pre_trial.misdemeanour_up_to_2y",
        OffenceClass::MisdemeanourOver2y => "pre_trial.misdemeanour_over_2y",
        OffenceClass::Crime => "pre_trial.crime",
    }
}

fn pre_trial_rule(policy: &Policy, class: OffenceClass) -> RuleRef {
    let r = policy.pre_trial(class);
    RuleRef::new(policy, class_key(class), r.confirmed, &r.source)
}

/// What the law allows for pre-trial detention in an offence class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LawfulMaximum {
    /// Months of the first order.
    pub initial_months: u32,
    /// Months of each renewal.
    pub renewal_months: u32,
    /// Renewals allowed.
    pub max_renewals: u32,
    /// Months in all.
    pub max_total_months: u32,
    /// The rule.
    pub rule: RuleRef,
}

/// What the law allows for pre-trial detention in an offence class.
pub fn lawful_maximum(policy: &Policy, class: OffenceClass) -> LawfulMaximum {
    let r = policy.pre_trial(class);
    LawfulMaximum {
        initial_months: r.initial_months,
        renewal_months: r.renewal_months,
        max_renewals: r.max_renewals,
        max_total_months: r.max_total_months,
        rule: pre_trial_rule(policy, class),
    }
}

/// One order checked against the law.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderCheck {
    /// The end the order states (its `valid_until`): when it expires as recorded.
    pub stated_until: Timestamp,
    /// The latest end the law allows for it: its start plus the months of a first order (or of
    /// a renewal).
    pub lawful_until: Timestamp,
    /// The earlier of the two: past it, the person is held without a lawful order.
    pub expiry: Timestamp,
    /// What the law does not allow in it: a renewal the class does not allow, a duration
    /// longer than the law.
    pub findings: Vec<Finding>,
    /// The rule.
    pub rule: RuleRef,
}

/// Checks one order of a class running from `start` to `valid_until` (the order's own fields;
/// the law counts a first order from the first appearance, which is the order's `start` as
/// recorded). `renewal` is 0 for the first order, 1 for the first renewal, and so on.
pub fn check_order(
    policy: &Policy,
    class: OffenceClass,
    start: &Timestamp,
    valid_until: &Timestamp,
    renewal: u32,
) -> OrderCheck {
    let r = policy.pre_trial(class);
    let mut findings = Vec::new();
    if renewal > r.max_renewals {
        findings.push(Finding::RenewalNotAllowed {
            renewal,
            allowed: r.max_renewals,
        });
    }
    let months = if renewal == 0 {
        r.initial_months
    } else {
        r.renewal_months
    };
    let lawful_until = plus_months(start, months);
    if valid_until > &lawful_until {
        findings.push(Finding::OrderLongerThanLaw {
            stated_until: valid_until.clone(),
            lawful_until: lawful_until.clone(),
            excess_seconds: valid_until.unix_seconds() - lawful_until.unix_seconds(),
        });
    }
    let expiry = valid_until.clone().min(lawful_until.clone());
    OrderCheck {
        stated_until: valid_until.clone(),
        lawful_until,
        expiry,
        findings,
        rule: pre_trial_rule(policy, class),
    }
}

/// The period in which a renewal is to be ordered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenewalWindow {
    /// Opens at midnight UTC at the start of the N-th working day before the expiry date.
    pub opens: Timestamp,
    /// Closes at the expiry.
    pub closes: Timestamp,
    /// N.
    pub working_days: u32,
    /// The estimated holidays (moon sighting) skipped in the count: the opening moves if they
    /// move.
    pub estimated_holidays: Vec<Holiday>,
    /// The rule.
    pub rule: RuleRef,
}

impl RenewalWindow {
    /// Whether an instant is inside the window.
    pub fn contains(&self, at: &Timestamp) -> bool {
        at >= &self.opens && at <= &self.closes
    }
}

/// The renewal window of an order of a class expiring at `expiry`: it opens N working days
/// before the expiry date (the expiry date itself not counted), N from the rule; none when the
/// rule states no window. An error only when the calendar does not cover the days counted, or
/// is of another jurisdiction.
pub fn renewal_window(
    policy: &Policy,
    calendar: &Calendar,
    class: OffenceClass,
    expiry: &Timestamp,
) -> Result<Option<RenewalWindow>, CalendarError> {
    let r = policy.pre_trial(class);
    let Some(n) = r.renewal_window_working_days else {
        return Ok(None);
    };
    if calendar.jurisdiction() != policy.jurisdiction {
        return Err(CalendarError::OtherJurisdiction {
            calendar: calendar.jurisdiction().to_string(),
            policy: policy.jurisdiction.clone(),
        });
    }
    let (day, estimated_holidays) = calendar.walk_working_days(Date::of(expiry), -i64::from(n))?;
    Ok(Some(RenewalWindow {
        opens: day.start(),
        closes: expiry.clone(),
        working_days: n,
        estimated_holidays,
        rule: pre_trial_rule(policy, class),
    }))
}

/// Pre-trial detention across all its orders, checked against the total the law allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotalCheck {
    /// The start of the first order.
    pub first_start: Timestamp,
    /// The latest end the orders state.
    pub stated_until: Timestamp,
    /// The start of the first order plus the total months allowed.
    pub lawful_until: Timestamp,
    /// Renewals recorded (orders after the first).
    pub renewals: u32,
    /// What the law does not allow: a total past the limit, renewals beyond the number allowed.
    pub findings: Vec<Finding>,
    /// The rule.
    pub rule: RuleRef,
}

/// Checks the orders of one detention, `(start, valid_until)` in the order they were issued
/// (the first order, then its renewals), against the total the law allows for the class. None
/// when there is no order.
pub fn check_total(
    policy: &Policy,
    class: OffenceClass,
    orders: &[(Timestamp, Timestamp)],
) -> Option<TotalCheck> {
    let r = policy.pre_trial(class);
    let first_start = orders.iter().map(|(s, _)| s).min()?.clone();
    let stated_until = orders.iter().map(|(_, u)| u).max()?.clone();
    let lawful_until = plus_months(&first_start, r.max_total_months);
    let renewals = u32::try_from(orders.len().saturating_sub(1)).unwrap_or(u32::MAX);
    let mut findings = Vec::new();
    if stated_until > lawful_until {
        findings.push(Finding::TotalBeyondLaw {
            stated_until: stated_until.clone(),
            lawful_until: lawful_until.clone(),
            excess_seconds: stated_until.unix_seconds() - lawful_until.unix_seconds(),
        });
    }
    if renewals > r.max_renewals {
        findings.push(Finding::RenewalNotAllowed {
            renewal: renewals,
            allowed: r.max_renewals,
        });
    }
    Some(TotalCheck {
        first_start,
        stated_until,
        lawful_until,
        renewals,
        findings,
        rule: pre_trial_rule(policy, class),
    })
}
