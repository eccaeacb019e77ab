//! The arrest, first event of every detainee chain, and the identity it records.

use serde::{Deserialize, Serialize};

use super::check::*;
use super::common::{Finding, Item, Official, Place};
use super::optional_list;

/// A person is deprived of liberty (art. 17(3)(a)-(c); Body of Principles 12). The time of the
/// arrest is the header's `occurred_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arrest {
    /// Identity as known.
    pub person: Person,
    /// Where.
    pub place: Place,
    /// Id of the agency that arrested (the authority that deprived of liberty).
    pub arresting_force: String,
    /// Unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Operation, when the arrest took place in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The officer responsible for the arrest.
    pub officer: Official,
    /// The reasons for the arrest, as facts.
    pub grounds: String,
    /// The offence the person is suspected of. A suspicion, never a finding.
    pub suspected_offence: String,
    /// The authority that ordered the arrest (or the rule under which it was made without
    /// order, e.g. flagrante delicto).
    pub ordering_authority: String,
    /// Reference of the warrant, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warrant_ref: Option<String>,
    /// Circumstances (alone or with others, resistance...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circumstances: Option<String>,
    /// Force used, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_of_force: Option<String>,
    /// Items seized.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "optional_list"
    )]
    pub seized_items: Vec<Item>,
    /// Visible injuries at arrest.
    pub visible_injuries: Finding,
    /// Complaints of ill-treatment at arrest.
    pub complaints_of_ill_treatment: Finding,
}

impl Check for Arrest {
    fn check(&self) -> Checked {
        nested("person", &self.person)?;
        nested("place", &self.place)?;
        field("arresting_force", slug(&self.arresting_force))?;
        field("unit", opt(&self.unit, name))?;
        field("operation", opt(&self.operation, name))?;
        nested("officer", &self.officer)?;
        field("grounds", text(&self.grounds))?;
        field("suspected_offence", text(&self.suspected_offence))?;
        field("ordering_authority", name(&self.ordering_authority))?;
        field("warrant_ref", opt(&self.warrant_ref, reference))?;
        field("circumstances", opt(&self.circumstances, text))?;
        field("use_of_force", opt(&self.use_of_force, text))?;
        each("seized_items", &self.seized_items)?;
        nested("visible_injuries", &self.visible_injuries)?;
        nested(
            "complaints_of_ill_treatment",
            &self.complaints_of_ill_treatment,
        )
    }
}

/// Identity as known (Disappearance Convention art. 17(3)(a), Mandela Rule 7(a)). Either a name
/// or a physical description is required: a person with no known name is still recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Full name as declared or read on a document, in Latin script.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The name in its original script (Arabic, Tifinagh), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_original_script: Option<String>,
    /// Other names the person is known by.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "optional_list"
    )]
    pub aliases: Vec<String>,
    /// Father's name (filiation, as on Malian civil records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub father_name: Option<String>,
    /// Mother's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mother_name: Option<String>,
    /// Gender as the person declares it, in their words (Mandela Rule 7). Nothing is imposed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender_self_declared: Option<String>,
    /// Date of birth as known: `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (year 1900-2099).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    /// Estimated age in years (0-120) when the date of birth is unknown or doubtful.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_age_years: Option<u32>,
    /// Place of birth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_place: Option<String>,
    /// Nationalities as declared or documented, ISO 3166-1 alpha-2 uppercase.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "optional_list"
    )]
    pub nationalities: Vec<String>,
    /// Languages the person speaks (e.g. "Tamasheq", "Arabic", "Fulfulde"), first the one
    /// they understand best: it decides the need of an interpreter.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "optional_list"
    )]
    pub languages: Vec<String>,
    /// Where the person comes from (region, cercle, community).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Usual residence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residence: Option<String>,
    /// Identity documents seen.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "optional_list"
    )]
    pub identity_documents: Vec<IdentityDocument>,
    /// How the identity was established.
    pub identity_basis: IdentityBasis,
    /// Physical description, required when no name is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_description: Option<String>,
}

impl Check for Person {
    fn check(&self) -> Checked {
        if self.name.is_none() && self.physical_description.is_none() {
            return Err(Fail {
                path: String::new(),
                message: "a person needs a name or, when no name is known, a physical_description"
                    .into(),
            });
        }
        field("name", opt(&self.name, name))?;
        field(
            "name_original_script",
            opt(&self.name_original_script, name),
        )?;
        each_str("aliases", &self.aliases, name)?;
        field("father_name", opt(&self.father_name, name))?;
        field("mother_name", opt(&self.mother_name, name))?;
        field(
            "gender_self_declared",
            opt(&self.gender_self_declared, name),
        )?;
        field("birth_date", opt(&self.birth_date, partial_date))?;
        if let Some(age) = self.estimated_age_years {
            field("estimated_age_years", range(age, 0, 120))?;
        }
        field("birth_place", opt(&self.birth_place, name))?;
        each_str("nationalities", &self.nationalities, country)?;
        each_str("languages", &self.languages, name)?;
        field("origin", opt(&self.origin, text))?;
        field("residence", opt(&self.residence, text))?;
        each("identity_documents", &self.identity_documents)?;
        field(
            "physical_description",
            opt(&self.physical_description, text),
        )
    }
}

/// An identity document seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityDocument {
    /// Kind of document (e.g. "carte NINA", "passport", "carte d'identité consulaire").
    pub document_type: String,
    /// Its number.
    pub number: String,
    /// Issuing authority or country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_by: Option<String>,
}

impl Check for IdentityDocument {
    fn check(&self) -> Checked {
        field("document_type", name(&self.document_type))?;
        field("number", reference(&self.number))?;
        field("issued_by", opt(&self.issued_by, name))
    }
}

/// How an identity was established.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityBasis {
    /// Declared by the person only.
    SelfDeclared,
    /// Read on an identity document.
    IdentityDocument,
    /// Matched by fingerprints or another biometric record.
    BiometricMatch,
    /// Stated by a third person (relative, village chief, co-detainee).
    ThirdPartyStatement,
    /// Not established.
    Unknown,
}
