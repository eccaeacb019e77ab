//! How custody ends: release, death in custody, escape.

use serde::{Deserialize, Serialize};

use super::check::*;
use super::common::{Condition, Item, Place};
use super::optional_list;
use crate::time::Timestamp;

/// Why a person is released.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseReason {
    /// Police custody ended without charge.
    NoCharge,
    /// Provisional release (liberté provisoire).
    ProvisionalRelease,
    /// Release under judicial supervision.
    JudicialSupervision,
    /// The detention order expired with no extension.
    DetentionOrderExpired,
    /// Acquitted.
    Acquitted,
    /// Charges dismissed.
    ChargesDismissed,
    /// Sentence served.
    SentenceServed,
    /// Conditional release.
    ConditionalRelease,
    /// Pardon.
    Pardon,
    /// Amnesty.
    Amnesty,
    /// Other (explain in `verification.details`).
    Other,
}

/// How a release was verified, so that a release is not a disappearance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationMethod {
    /// Handed to a named relative.
    HandedToFamily,
    /// Handed to counsel.
    HandedToCounsel,
    /// Witnessed by an independent monitor.
    WitnessedByMonitor,
    /// The released person signed the release register.
    SignedByReleasedPerson,
    /// Other (see `details`).
    Other,
}

/// Verification of a release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    /// Method.
    pub method: VerificationMethod,
    /// Witness's name and quality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness: Option<String>,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

impl Check for Verification {
    fn check(&self) -> Checked {
        field("witness", opt(&self.witness, name))?;
        field("details", opt(&self.details, text))
    }
}

/// The person is released (art. 17(3)(h)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// Id of the facility released from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
    /// Where the person was released.
    pub place: Place,
    /// Why.
    pub reason: ReleaseReason,
    /// The authority that ordered or decided the release.
    pub authority: String,
    /// Reference of the release order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_ref: Option<String>,
    /// How the release was verified.
    pub verification: Verification,
    /// Name of the person into whose hands the released person was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_to: Option<String>,
    /// Where the person says they are going.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// Belongings returned.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "optional_list"
    )]
    pub belongings_returned: Vec<Item>,
    /// Condition at release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_at_release: Option<Condition>,
}

impl Check for Release {
    fn check(&self) -> Checked {
        field("facility", opt(&self.facility, slug))?;
        nested("place", &self.place)?;
        field("authority", name(&self.authority))?;
        field("order_ref", opt(&self.order_ref, reference))?;
        nested("verification", &self.verification)?;
        field("released_to", opt(&self.released_to, name))?;
        field("destination", opt(&self.destination, text))?;
        each("belongings_returned", &self.belongings_returned)?;
        nested_opt("condition_at_release", &self.condition_at_release)
    }
}

/// The person died in custody (art. 17(3)(g)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeathInCustody {
    /// Id of the facility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
    /// Place, when not in a facility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
    /// Circumstances.
    pub circumstances: String,
    /// Cause, as certified or "undetermined".
    pub cause: String,
    /// Who certified the death.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certified_by: Option<String>,
    /// Whether an autopsy was requested.
    pub autopsy_requested: bool,
    /// Authority investigating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub investigation_authority: Option<String>,
    /// Reference of the investigation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub investigation_ref: Option<String>,
    /// Destination of the remains.
    pub remains_destination: String,
}

impl Check for DeathInCustody {
    fn check(&self) -> Checked {
        if self.facility.is_none() && self.place.is_none() {
            return fail(
                "facility",
                "a death in custody needs a facility id or, outside a registered facility, a place (art. 17(3)(g))",
            );
        }
        field("facility", opt(&self.facility, slug))?;
        nested_opt("place", &self.place)?;
        field("circumstances", text(&self.circumstances))?;
        field("cause", text(&self.cause))?;
        field("certified_by", opt(&self.certified_by, name))?;
        field(
            "investigation_authority",
            opt(&self.investigation_authority, name),
        )?;
        field("investigation_ref", opt(&self.investigation_ref, reference))?;
        field("remains_destination", text(&self.remains_destination))
    }
}

/// The person escaped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escape {
    /// Id of the facility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
    /// Place, when not in a facility (e.g. during transport).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
    /// Circumstances.
    pub circumstances: String,
    /// When the escape was discovered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered_at: Option<Timestamp>,
    /// Authority informed.
    pub reported_to: String,
}

impl Check for Escape {
    fn check(&self) -> Checked {
        if self.facility.is_none() && self.place.is_none() {
            return fail(
                "facility",
                "an escape needs a facility id or, outside a registered facility, a place",
            );
        }
        field("facility", opt(&self.facility, slug))?;
        nested_opt("place", &self.place)?;
        field("circumstances", text(&self.circumstances))?;
        field("reported_to", name(&self.reported_to))
    }
}
