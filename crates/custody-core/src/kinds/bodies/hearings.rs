//! Hearings and judgment.

use serde::{Deserialize, Serialize};

use super::check::*;
use super::common::Charge;
use super::optional_list;
use crate::hash::Hash;
use crate::time::Timestamp;

/// Purpose of a hearing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HearingPurpose {
    /// Investigation (interrogatoire, confrontation).
    Investigation,
    /// Review of detention.
    DetentionReview,
    /// Trial.
    Trial,
    /// Appeal.
    Appeal,
    /// Delivery of judgment.
    Judgment,
    /// Other (see `details`).
    Other,
}

/// A hearing is scheduled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HearingScheduled {
    /// Court.
    pub court: String,
    /// When.
    pub hearing_at: Timestamp,
    /// Case reference.
    pub case_ref: String,
    /// Purpose.
    pub purpose: HearingPurpose,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

impl Check for HearingScheduled {
    fn check(&self) -> Checked {
        field("court", name(&self.court))?;
        field("case_ref", reference(&self.case_ref))?;
        field("details", opt(&self.details, text))
    }
}

/// What came of a hearing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HearingOutcome {
    /// Adjourned (renvoi).
    Adjourned,
    /// Detention maintained.
    DetentionMaintained,
    /// Released.
    Released,
    /// Judgment reserved (mis en délibéré).
    JudgmentReserved,
    /// Judgment delivered (see the `judgment` event).
    JudgmentDelivered,
    /// Other (see `outcome_details`).
    Other,
}

/// A hearing took place (or the person was not produced).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HearingHeld {
    /// Court.
    pub court: String,
    /// When.
    pub hearing_at: Timestamp,
    /// Case reference.
    pub case_ref: String,
    /// Whether the person was produced before the court.
    pub produced: bool,
    /// Why not; required when not produced, refused when produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_not_produced: Option<String>,
    /// Whether counsel was present.
    pub counsel_present: bool,
    /// Counsel's name; required when counsel was present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counsel_name: Option<String>,
    /// Outcome.
    pub outcome: HearingOutcome,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_details: Option<String>,
    /// Next hearing, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hearing_at: Option<Timestamp>,
    /// Hash of the `hearing_scheduled` event, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_event: Option<Hash>,
}

impl Check for HearingHeld {
    fn check(&self) -> Checked {
        field("court", name(&self.court))?;
        field("case_ref", reference(&self.case_ref))?;
        match (self.produced, &self.reason_not_produced) {
            (false, None) => {
                return fail(
                    "reason_not_produced",
                    "required when produced is false: say why the person was not brought to court",
                )
            }
            (true, Some(_)) => {
                return fail("reason_not_produced", "not allowed when produced is true")
            }
            _ => {}
        }
        field("reason_not_produced", opt(&self.reason_not_produced, text))?;
        counsel(self.counsel_present, &self.counsel_name)?;
        field("outcome_details", opt(&self.outcome_details, text))
    }
}

/// Outcome of a judgment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JudgmentOutcome {
    /// Convicted.
    Convicted,
    /// Acquitted.
    Acquitted,
    /// Case dismissed (non-lieu).
    Dismissed,
    /// Released pending trial.
    ReleasedPendingTrial,
}

/// A judgment is given. Only a conviction may be custodial or carry a sentence; a custodial
/// judgment states `sentence_months` or, for a life or death sentence, `sentence_details`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Judgment {
    /// Court.
    pub court: String,
    /// Reference of the judgment.
    pub judgment_ref: String,
    /// Case reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_ref: Option<String>,
    /// Outcome.
    pub outcome: JudgmentOutcome,
    /// Offences the person is convicted of (only with `convicted`).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "optional_list"
    )]
    pub convicted_of: Vec<Charge>,
    /// Length of the custodial sentence in months (1-1200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentence_months: Option<u32>,
    /// Whether the sentence is custodial.
    pub custodial: bool,
    /// The sentence as pronounced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentence_details: Option<String>,
}

impl Check for Judgment {
    fn check(&self) -> Checked {
        field("court", name(&self.court))?;
        field("judgment_ref", reference(&self.judgment_ref))?;
        field("case_ref", opt(&self.case_ref, reference))?;
        if self.outcome != JudgmentOutcome::Convicted {
            if self.custodial {
                return fail("custodial", "only a conviction can be custodial");
            }
            if self.sentence_months.is_some() {
                return fail("sentence_months", "only a conviction carries a sentence");
            }
            if !self.convicted_of.is_empty() {
                return fail(
                    "convicted_of",
                    "only a conviction lists offences convicted of",
                );
            }
        }
        each("convicted_of", &self.convicted_of)?;
        match (self.custodial, self.sentence_months) {
            (false, Some(_)) => {
                return fail(
                    "sentence_months",
                    "not allowed when custodial is false",
                )
            }
            (true, None) if self.sentence_details.is_none() => {
                return fail(
                    "sentence_months",
                    "required when custodial is true (or, for a life or death sentence, sentence_details)",
                )
            }
            (_, Some(m)) => field("sentence_months", range(m, 1, 1200))?,
            _ => {}
        }
        field("sentence_details", opt(&self.sentence_details, text))
    }
}
