//! Legal rule sets loaded from `deploy/policy/` (one TOML file per jurisdiction and code of
//! criminal procedure), and the choice of the rule set in force at the date of the facts.
//!
//! Parsing is strict: an unknown key, a missing key or a value out of range refuses the file,
//! with an error naming the file and the key. Each rule carries `confirmed` (whether its values
//! were checked against the text of the law) and `source`; the deadline engine
//! ([`crate::deadlines`]) reports both with every result it derives from the rule.

use std::path::{Path, PathBuf};

use custody_core::kinds::bodies::OffenceClass;
use custody_core::Timestamp;
use serde::Deserialize;

use crate::calendar::{toml_date, Date};

/// Why a rule set could not be loaded, or none applies.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A file or directory could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not a valid rule set (an unknown key, a missing one, a bad value).
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
    /// Two rule sets of the same jurisdiction are in force on a common date.
    #[error("{file}: {code} overlaps {other} (both in force on {date})")]
    Overlap {
        /// The second file.
        file: PathBuf,
        /// Its code.
        code: String,
        /// The rule set it overlaps.
        other: String,
        /// A date both claim.
        date: Date,
    },
    /// No rule set of the jurisdiction was in force at the date of the facts.
    #[error("no rule set of {jurisdiction} in force on {date}")]
    NoneInForce {
        /// The jurisdiction asked for.
        jurisdiction: String,
        /// The date of the facts.
        date: Date,
    },
}

/// Police custody (garde à vue) in ordinary cases.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoliceCustodyRule {
    /// Hours from the start of police custody.
    pub base_hours: u32,
    /// Hours added by each extension.
    pub extension_hours: u32,
    /// Extensions the law allows.
    pub max_extensions: u32,
    /// Whether an extension needs a written authorisation (of the prosecutor or the
    /// investigating judge).
    pub extension_requires_written_authorisation: bool,
    /// Whether the values were checked against the text of the law.
    pub confirmed: bool,
    /// Where the values come from.
    pub source: String,
}

/// Police custody for terrorism and transnational organised crime: blocks of hours.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoliceCustodyBlocksRule {
    /// Hours of each block (the first one included).
    pub block_hours: u32,
    /// Extensions (further blocks) the law allows: a setting, since sources differ.
    pub max_extensions: u32,
    /// Whether the values were checked against the text of the law.
    pub confirmed: bool,
    /// Where the values come from.
    pub source: String,
}

/// Pre-trial detention for one offence class.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreTrialRule {
    /// Months of the first order.
    pub initial_months: u32,
    /// Months of each renewal (0: no renewal).
    pub renewal_months: u32,
    /// Renewals the law allows.
    pub max_renewals: u32,
    /// Months of pre-trial detention in all, across renewals.
    pub max_total_months: u32,
    /// A renewal is ordered within this many working days before expiry (absent: the law
    /// states no window).
    #[serde(default)]
    pub renewal_window_working_days: Option<u32>,
    /// Whether the values were checked against the text of the law.
    pub confirmed: bool,
    /// Where the values come from.
    pub source: String,
}

/// A limit in hours (first judicial appearance, late recording of an arrest).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoursRule {
    /// Hours allowed.
    pub max_hours: u32,
    /// Whether the value was checked against its source.
    pub confirmed: bool,
    /// Where the value comes from.
    pub source: String,
}

/// Settings of the alarms that are not figures of the law: set by the project, per rule set.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmSettings {
    /// Hours after a release (`custody_released`) within which the receiving agency is to
    /// record accepting the person; past them, the custody gap is an alarm.
    pub custody_gap_hours: u32,
    /// Working days before the expiry of a detention order from which its coming expiry is an
    /// alarm, for an offence class whose rule states no renewal window (a class with a window,
    /// `renewal_window_working_days`, uses its window).
    pub order_expiry_notice_working_days: u32,
    /// Whether the values were checked against their source.
    pub confirmed: bool,
    /// Where the values come from.
    pub source: String,
}

/// Pre-trial detention by offence class (the classes of `detention_order.offence_class`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreTrialRules {
    /// Offence punishable by at most 2 years.
    pub misdemeanour_up_to_2y: PreTrialRule,
    /// Offence punishable by more than 2 years.
    pub misdemeanour_over_2y: PreTrialRule,
    /// Crime.
    pub crime: PreTrialRule,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    jurisdiction: String,
    code: String,
    title: String,
    in_force_from: toml::value::Datetime,
    #[serde(default)]
    in_force_until: Option<toml::value::Datetime>,
    in_force_confirmed: bool,
    police_custody: PoliceCustodyRule,
    police_custody_terrorism: PoliceCustodyBlocksRule,
    pre_trial: PreTrialRules,
    first_appearance: HoursRule,
    late_arrest_recording: HoursRule,
    alarms: AlarmSettings,
}

/// One rule set: a code of criminal procedure of a jurisdiction, with the dates it applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The jurisdiction (ISO 3166 code, `ML`).
    pub jurisdiction: String,
    /// The code's name (`mali-cpp-2001`), as the file names it.
    pub code: String,
    /// Its title.
    pub title: String,
    /// First date of the facts it applies to.
    pub in_force_from: Date,
    /// First date of the facts it no longer applies to (none: still in force).
    pub in_force_until: Option<Date>,
    /// Whether the dates of entry into force were checked.
    pub in_force_confirmed: bool,
    /// Police custody, ordinary cases.
    pub police_custody: PoliceCustodyRule,
    /// Police custody, terrorism and transnational organised crime.
    pub police_custody_terrorism: PoliceCustodyBlocksRule,
    /// Pre-trial detention by offence class.
    pub pre_trial: PreTrialRules,
    /// Limit before a first appearance before a judge, from the arrest.
    pub first_appearance: HoursRule,
    /// Limit for recording an arrest, from the arrest.
    pub late_arrest_recording: HoursRule,
    /// Settings of the alarms (custody gap hours, notice before an order expires).
    pub alarms: AlarmSettings,
}

impl Policy {
    /// Parses a rule set from the text of its file (`file` names it in errors).
    pub fn parse(file: &Path, text: &str) -> Result<Policy, PolicyError> {
        let parse = |message: String| PolicyError::Parse {
            file: file.to_path_buf(),
            message,
        };
        let f: PolicyFile = toml::from_str(text).map_err(|e| parse(e.to_string()))?;
        let in_force_from = toml_date(&f.in_force_from, "in_force_from").map_err(parse)?;
        let in_force_until = match &f.in_force_until {
            Some(d) => Some(toml_date(d, "in_force_until").map_err(parse)?),
            None => None,
        };
        if in_force_until.is_some_and(|u| u <= in_force_from) {
            return Err(parse(
                "in_force_until: must come after in_force_from".into(),
            ));
        }
        let positive = |key: &str, v: u32| {
            if v == 0 {
                Err(parse(format!("{key}: must be more than 0")))
            } else {
                Ok(())
            }
        };
        positive("police_custody.base_hours", f.police_custody.base_hours)?;
        positive(
            "police_custody_terrorism.block_hours",
            f.police_custody_terrorism.block_hours,
        )?;
        positive("first_appearance.max_hours", f.first_appearance.max_hours)?;
        positive(
            "late_arrest_recording.max_hours",
            f.late_arrest_recording.max_hours,
        )?;
        positive("alarms.custody_gap_hours", f.alarms.custody_gap_hours)?;
        positive(
            "alarms.order_expiry_notice_working_days",
            f.alarms.order_expiry_notice_working_days,
        )?;
        for (name, r) in [
            ("misdemeanour_up_to_2y", &f.pre_trial.misdemeanour_up_to_2y),
            ("misdemeanour_over_2y", &f.pre_trial.misdemeanour_over_2y),
            ("crime", &f.pre_trial.crime),
        ] {
            positive(
                &format!("pre_trial.{name}.initial_months"),
                r.initial_months,
            )?;
            let most = u64::from(r.initial_months)
                + u64::from(r.renewal_months) * u64::from(r.max_renewals);
            if u64::from(r.max_total_months) < u64::from(r.initial_months)
                || u64::from(r.max_total_months) > most
            {
                return Err(parse(format!(
                    "pre_trial.{name}.max_total_months: {} is not between initial_months ({}) \
                     and initial_months + renewal_months x max_renewals ({most})",
                    r.max_total_months, r.initial_months
                )));
            }
        }
        Ok(Policy {
            jurisdiction: f.jurisdiction,
            code: f.code,
            title: f.title,
            in_force_from,
            in_force_until,
            in_force_confirmed: f.in_force_confirmed,
            police_custody: f.police_custody,
            police_custody_terrorism: f.police_custody_terrorism,
            pre_trial: f.pre_trial,
            first_appearance: f.first_appearance,
            late_arrest_recording: f.late_arrest_recording,
            alarms: f.alarms,
        })
    }

    /// Reads and parses a rule set file.
    pub fn load(file: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(file).map_err(|source| PolicyError::Read {
            file: file.to_path_buf(),
            source,
        })?;
        Policy::parse(file, &text)
    }

    /// Whether facts of that date fall under this rule set.
    pub fn in_force_on(&self, date: Date) -> bool {
        self.in_force_from <= date && !matches!(self.in_force_until, Some(u) if u <= date)
    }

    /// The pre-trial rule of an offence class.
    pub fn pre_trial(&self, class: OffenceClass) -> &PreTrialRule {
        match class {
            OffenceClass::MisdemeanourUpTo2y => &self.pre_trial.misdemeanour_up_to_2y,
            OffenceClass::MisdemeanourOver2y => &self.pre_trial.misdemeanour_over_2y,
            OffenceClass::Crime => &self.pre_trial.crime,
        }
    }
}

/// The rule sets known, of one or more jurisdictions, without overlap within one.
#[derive(Clone, Debug, Default)]
pub struct PolicySet {
    policies: Vec<Policy>,
}

impl PolicySet {
    /// Loads every `*.toml` file directly in a directory (not its subdirectories, such as
    /// `calendar/`).
    pub fn load_dir(dir: &Path) -> Result<PolicySet, PolicyError> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|source| PolicyError::Read {
                file: dir.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        let mut set = PolicySet::default();
        for file in files {
            let policy = Policy::load(&file)?;
            set.add(&file, policy)?;
        }
        Ok(set)
    }

    /// Adds a rule set, refused when it overlaps one of the same jurisdiction (`file` names it
    /// in errors).
    pub fn add(&mut self, file: &Path, policy: Policy) -> Result<(), PolicyError> {
        for other in self
            .policies
            .iter()
            .filter(|o| o.jurisdiction == policy.jurisdiction)
        {
            let start = policy.in_force_from.max(other.in_force_from);
            if policy.in_force_on(start) && other.in_force_on(start) {
                return Err(PolicyError::Overlap {
                    file: file.to_path_buf(),
                    code: policy.code.clone(),
                    other: other.code.clone(),
                    date: start,
                });
            }
        }
        self.policies.push(policy);
        self.policies.sort_by_key(|p| p.in_force_from);
        Ok(())
    }

    /// Every rule set, by date of entry into force.
    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    /// The rule set of a jurisdiction in force on the (UTC) date of an arrest: the one that
    /// governs its police custody and pre-trial detention.
    pub fn for_arrest(
        &self,
        jurisdiction: &str,
        arrest: &Timestamp,
    ) -> Result<&Policy, PolicyError> {
        self.in_force(jurisdiction, Date::of(arrest))
    }

    /// The rule set of a jurisdiction in force at the date of the facts (for police custody and
    /// pre-trial detention: the date of the arrest).
    pub fn in_force(&self, jurisdiction: &str, facts: Date) -> Result<&Policy, PolicyError> {
        self.policies
            .iter()
            .find(|p| p.jurisdiction == jurisdiction && p.in_force_on(facts))
            .ok_or_else(|| PolicyError::NoneInForce {
                jurisdiction: jurisdiction.to_string(),
                date: facts,
            })
    }
}
