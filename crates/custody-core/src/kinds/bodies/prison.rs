//! Prison: admission on a commitment order, medical screening, risk assessment.

use serde::{Deserialize, Serialize};

use super::check::*;
use super::common::{Finding, Item, LegalStatus, RiskLevel};
use super::optional_list;
use crate::hash::Hash;
use crate::time::Timestamp;

/// The person is admitted to a facility on a commitment order (Mandela Rules 7-8).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admission {
    /// Id of the facility.
    pub facility: String,
    /// Number in the facility's register (numéro d'écrou).
    pub registry_number: String,
    /// Hash of the commitment order's event (a `detention_order`, or a custodial `judgment`):
    /// no admission without one (Mandela Rule 7).
    pub commitment_order_event: Hash,
    /// Reference of the commitment order, as written on it.
    pub commitment_order_ref: String,
    /// Authority that committed the person.
    pub commitment_authority: String,
    /// Reasons of commitment (charge or sentence, as in the order).
    pub commitment_grounds: String,
    /// Legal status on admission.
    pub legal_status: LegalStatus,
    /// Unit, block or cell assigned.
    pub unit_or_cell: String,
    /// Whether the rules were explained.
    pub rules_explained: bool,
    /// Language in which they were explained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules_language: Option<String>,
    /// Belongings inventoried and kept.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "optional_list"
    )]
    pub belongings: Vec<Item>,
    /// SHA-256 of the fingerprint template kept by the facility (never the template itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint_template_digest: Option<Hash>,
    /// Whether the social worker interview took place.
    pub social_interview_done: bool,
    /// Visible injuries on admission.
    pub visible_injuries: Finding,
    /// Complaints of prior ill-treatment.
    pub complaints_of_ill_treatment: Finding,
    /// Family and next of kin.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "optional_list"
    )]
    pub next_of_kin: Vec<NextOfKin>,
}

impl Check for Admission {
    fn check(&self) -> Checked {
        field("facility", slug(&self.facility))?;
        field("registry_number", reference(&self.registry_number))?;
        field(
            "commitment_order_ref",
            reference(&self.commitment_order_ref),
        )?;
        field("commitment_authority", name(&self.commitment_authority))?;
        field("commitment_grounds", text(&self.commitment_grounds))?;
        field("unit_or_cell", name(&self.unit_or_cell))?;
        field("rules_language", opt(&self.rules_language, name))?;
        each("belongings", &self.belongings)?;
        nested("visible_injuries", &self.visible_injuries)?;
        nested(
            "complaints_of_ill_treatment",
            &self.complaints_of_ill_treatment,
        )?;
        each("next_of_kin", &self.next_of_kin)
    }
}

/// A relative or other person to contact (Mandela Rule 7(f)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextOfKin {
    /// Name.
    pub name: String,
    /// Relationship to the person (e.g. "brother", "wife", "village chief").
    pub relationship: String,
    /// Telephone number or address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// Where they live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl Check for NextOfKin {
    fn check(&self) -> Checked {
        field("name", name(&self.name))?;
        field("relationship", name(&self.relationship))?;
        field("contact", opt(&self.contact, name))?;
        field("location", opt(&self.location, name))
    }
}

/// The profession of whoever examined a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MedicalProfession {
    /// Doctor.
    Doctor,
    /// Nurse.
    Nurse,
    /// Medical assistant.
    MedicalAssistant,
}

/// Restricted: medical screening (Mandela Rules 30, 34).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MedicalScreening {
    /// Who examined.
    pub examined_by: String,
    /// Their profession.
    pub profession: MedicalProfession,
    /// Whether the person consented to the examination.
    pub consent_given: bool,
    /// Findings.
    pub findings: String,
    /// Whether there are signs of ill-treatment.
    pub signs_of_ill_treatment: bool,
    /// The signs, documented; required when `signs_of_ill_treatment` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ill_treatment_findings: Option<String>,
    /// Authority to which the signs were reported (Mandela Rule 34).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_to: Option<String>,
    /// Whether fit for detention.
    pub fit_for_detention: bool,
    /// Treatment needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treatment_needs: Option<String>,
    /// Referral (hospital, specialist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral: Option<String>,
}

impl Check for MedicalScreening {
    fn check(&self) -> Checked {
        field("examined_by", name(&self.examined_by))?;
        field("findings", text(&self.findings))?;
        required_when(
            self.signs_of_ill_treatment,
            &self.ill_treatment_findings,
            "ill_treatment_findings",
            "when signs_of_ill_treatment is true: document the signs (Istanbul Protocol)",
        )?;
        field(
            "ill_treatment_findings",
            opt(&self.ill_treatment_findings, text),
        )?;
        field("reported_to", opt(&self.reported_to, name))?;
        field("treatment_needs", opt(&self.treatment_needs, text))?;
        field("referral", opt(&self.referral, text))
    }
}

/// Restricted: security risk assessment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskAssessment {
    /// Level.
    pub level: RiskLevel,
    /// Assessment tool used.
    pub tool: String,
    /// Who assessed.
    pub assessor: String,
    /// Reasons.
    pub reasons: String,
    /// When the assessment is to be reviewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_due: Option<Timestamp>,
}

impl Check for RiskAssessment {
    fn check(&self) -> Checked {
        field("tool", name(&self.tool))?;
        field("assessor", name(&self.assessor))?;
        field("reasons", text(&self.reasons))
    }
}
