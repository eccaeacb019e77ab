//! Before a judge: first appearance, charges, detention orders and their extension.

use serde::{Deserialize, Serialize};

use super::check::*;
use super::common::{Charge, Finding};
use super::required_list;
use crate::hash::Hash;
use crate::time::Timestamp;

/// What came of a first appearance before a judicial authority.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppearanceOutcome {
    /// Remanded in custody (mandat de dépôt).
    RemandedInCustody,
    /// Sent back to police custody.
    ReturnedToPoliceCustody,
    /// Released under judicial supervision (contrôle judiciaire).
    JudicialSupervision,
    /// Released.
    Released,
    /// Anything else (see `outcome_details`).
    Other,
}

/// The person is brought before a judicial authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudicialAppearance {
    /// The judicial authority (e.g. "Pôle judiciaire spécialisé, Bamako").
    pub authority: String,
    /// The judge or prosecutor.
    pub judge: String,
    /// When the person appeared.
    pub appeared_at: Timestamp,
    /// Case reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_ref: Option<String>,
    /// Whether counsel was present.
    pub counsel_present: bool,
    /// Counsel's name; required when counsel was present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counsel_name: Option<String>,
    /// Interpreter's name, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<String>,
    /// Outcome.
    pub outcome: AppearanceOutcome,
    /// Details of the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_details: Option<String>,
    /// Complaints of ill-treatment made before the judge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaints_of_ill_treatment: Option<Finding>,
}

impl Check for JudicialAppearance {
    fn check(&self) -> Checked {
        field("authority", name(&self.authority))?;
        field("judge", name(&self.judge))?;
        field("case_ref", opt(&self.case_ref, reference))?;
        counsel(self.counsel_present, &self.counsel_name)?;
        field("interpreter", opt(&self.interpreter, name))?;
        field("outcome_details", opt(&self.outcome_details, text))?;
        nested_opt(
            "complaints_of_ill_treatment",
            &self.complaints_of_ill_treatment,
        )
    }
}

/// The person is charged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Charged {
    /// The authority that charges.
    pub authority: String,
    /// Case reference.
    pub case_ref: String,
    /// Charges, at least one.
    #[serde(deserialize_with = "required_list")]
    pub charges: Vec<Charge>,
    /// Legal basis of the charging decision.
    pub legal_basis: String,
    /// Investigating chamber (cabinet d'instruction), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub investigating_chamber: Option<String>,
}

impl Check for Charged {
    fn check(&self) -> Checked {
        field("authority", name(&self.authority))?;
        field("case_ref", reference(&self.case_ref))?;
        each("charges", &self.charges)?;
        field("legal_basis", text(&self.legal_basis))?;
        field(
            "investigating_chamber",
            opt(&self.investigating_chamber, name),
        )
    }
}

/// The class of offence, which sets the length of pre-trial detention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OffenceClass {
    /// Misdemeanour punishable by at most 2 years.
    #[serde(rename = "misdemeanour_up_to_2y")]
    MisdemeanourUpTo2y,
    /// Misdemeanour punishable by more than 2 years.
    #[serde(rename = "misdemeanour_over_2y")]
    MisdemeanourOver2y,
    /// Crime.
    #[serde(rename = "crime")]
    Crime,
}

/// A detention (committal) order is issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetentionOrder {
    /// Issuing authority.
    pub issuing_authority: String,
    /// Reference of the order.
    pub order_ref: String,
    /// Class of the offence.
    pub offence_class: OffenceClass,
    /// Start of detention under this order.
    pub start: Timestamp,
    /// End of validity of the order.
    pub valid_until: Timestamp,
    /// Legal basis.
    pub legal_basis: String,
    /// The judge who signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<String>,
    /// Case reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_ref: Option<String>,
    /// Id of the facility where detention is ordered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
}

impl Check for DetentionOrder {
    fn check(&self) -> Checked {
        field("issuing_authority", name(&self.issuing_authority))?;
        field("order_ref", reference(&self.order_ref))?;
        field("legal_basis", text(&self.legal_basis))?;
        field("judge", opt(&self.judge, name))?;
        field("case_ref", opt(&self.case_ref, reference))?;
        field("facility", opt(&self.facility, slug))
    }
}

/// A detention order is extended by a reasoned order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetentionExtended {
    /// Hash of the `detention_order` event that is extended.
    pub order_event: Hash,
    /// Reference of the original detention order.
    pub order_ref: String,
    /// Reference of the extension order.
    pub extension_ref: String,
    /// Issuing authority.
    pub issuing_authority: String,
    /// New end of validity.
    pub valid_until: Timestamp,
    /// Reasons (an extension must be reasoned).
    pub reasons: String,
    /// Legal basis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
}

impl Check for DetentionExtended {
    fn check(&self) -> Checked {
        field("order_ref", reference(&self.order_ref))?;
        field("extension_ref", reference(&self.extension_ref))?;
        field("issuing_authority", name(&self.issuing_authority))?;
        field("reasons", text(&self.reasons))?;
        field("legal_basis", opt(&self.legal_basis, text))
    }
}
