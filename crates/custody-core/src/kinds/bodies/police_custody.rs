//! Police custody (garde à vue), questioning and the placement decision.

use serde::{Deserialize, Serialize};

use super::check::*;
use super::common::{Official, Place, RiskLevel};
use super::required_list;
use crate::time::Timestamp;

/// Which police custody regime applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustodyRegime {
    /// Ordinary law.
    Ordinary,
    /// Terrorism and transnational organised crime.
    Terrorism,
}

/// A judicial police officer places the person in police custody (garde à vue).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoliceCustodyStarted {
    /// Id of the facility.
    pub facility: String,
    /// When police custody starts (the clock runs from here).
    pub started_at: Timestamp,
    /// The judicial police officer who decides it.
    pub officer: Official,
    /// Grounds.
    pub grounds: String,
    /// The offence suspected.
    pub suspected_offence: String,
    /// Regime.
    pub regime: CustodyRegime,
    /// Whether the person was told of their rights.
    pub rights_notified: bool,
    /// Language in which the rights were notified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rights_language: Option<String>,
    /// When the prosecutor was informed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prosecutor_informed_at: Option<Timestamp>,
}

impl Check for PoliceCustodyStarted {
    fn check(&self) -> Checked {
        field("facility", slug(&self.facility))?;
        nested("officer", &self.officer)?;
        field("grounds", text(&self.grounds))?;
        field("suspected_offence", text(&self.suspected_offence))?;
        field("rights_language", opt(&self.rights_language, name))
    }
}

/// Police custody is extended on written authorisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoliceCustodyExtended {
    /// Reference of the written authorisation.
    pub authorisation_ref: String,
    /// The prosecutor or judge who authorised it.
    pub authorised_by: String,
    /// Length of the extension in hours (1-240).
    pub extension_hours: u32,
    /// New end of police custody.
    pub extended_until: Timestamp,
    /// Reasons.
    pub reasons: String,
    /// Whether the person was brought before the authorising magistrate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presented_to_authority: Option<bool>,
}

impl Check for PoliceCustodyExtended {
    fn check(&self) -> Checked {
        field("authorisation_ref", reference(&self.authorisation_ref))?;
        field("authorised_by", name(&self.authorised_by))?;
        field("extension_hours", range(self.extension_hours, 1, 240))?;
        field("reasons", text(&self.reasons))
    }
}

/// The person is questioned. Either `facility` or `place` is required.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Questioning {
    /// Start.
    pub started_at: Timestamp,
    /// End.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    /// Id of the facility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
    /// Place, when not a registered facility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
    /// The officers who questioned, at least one.
    #[serde(deserialize_with = "required_list")]
    pub officers: Vec<Official>,
    /// Language of the questioning.
    pub language: String,
    /// Interpreter's name, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<String>,
    /// Whether counsel was present.
    pub counsel_present: bool,
    /// Counsel's name; required when counsel was present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counsel_name: Option<String>,
    /// Reference of the minutes (procès-verbal d'audition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes_ref: Option<String>,
}

impl Check for Questioning {
    fn check(&self) -> Checked {
        if self.facility.is_none() && self.place.is_none() {
            return fail(
                "facility",
                "a questioning needs a facility id or, outside a registered facility, a place",
            );
        }
        field("facility", opt(&self.facility, slug))?;
        nested_opt("place", &self.place)?;
        each("officers", &self.officers)?;
        field("language", name(&self.language))?;
        field("interpreter", opt(&self.interpreter, name))?;
        counsel(self.counsel_present, &self.counsel_name)?;
        field("minutes_ref", opt(&self.minutes_ref, reference))
    }
}

/// Decision on the destination facility and security classification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlacementDecision {
    /// Id of the destination facility.
    pub destination_facility: String,
    /// Security classification.
    pub security_classification: RiskLevel,
    /// Reasons.
    pub reasons: String,
    /// Authority that decided.
    pub authority: String,
}

impl Check for PlacementDecision {
    fn check(&self) -> Checked {
        field("destination_facility", slug(&self.destination_facility))?;
        field("reasons", text(&self.reasons))?;
        field("authority", name(&self.authority))
    }
}
