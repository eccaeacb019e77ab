//! The body of every event kind: its Rust type, its parser and the checks that its JSON Schema
//! (`schemas/<kind>.schema.json` at the top of the repository) also expresses.
//!
//! Conventions, the same in every body and every schema:
//! - a body is a JSON object with snake_case field names; unknown fields are refused;
//! - no floating point numbers anywhere: quantities are integers in a stated unit (hours,
//!   months, minutes, bytes, microdegrees, the smallest unit of a currency);
//! - timestamps are [`Timestamp`]s (RFC 3339 UTC with `Z`), references to other events are
//!   [`Hash`](struct@Hash)es, agency and facility ids are slugs ([`crate::ids::is_valid_slug`]);
//! - an optional field is left out when it has no value: `null` is refused;
//! - an optional list is left out when it is empty: `[]` is refused; a required list holds at
//!   least one element;
//! - text is never empty nor only whitespace, and has a maximum length in characters:
//!   [`NAME_MAX`] for names and labels, [`REF_MAX`] for document references and numbers,
//!   [`TEXT_MAX`] for narrative text;
//! - enumerations are snake_case strings;
//! - legal status is always its own explicit field; nothing in a body labels a suspect as
//!   guilty (there is `suspected_offence`, `legal_status`, `charges`, and `judgment.outcome`);
//! - identity follows Mandela Rule 7: gender is recorded only as the person declares it
//!   (`gender_self_declared`, free text), nothing is imposed.
//!
//! Checks that need more than one event, or compare times (an order that ends before it
//! starts, a questioning that ends before it starts, a key valid until before valid from), are
//! the validator's, not this module's: the schema cannot express them either.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::EventKind;
use crate::hash::Hash;
use crate::ids::{is_detainee_chain_id, is_valid_slug};
use crate::jcs::MAX_SAFE_INTEGER;
use crate::keys::PublicKeyId;
use crate::roles::Role;
use crate::time::Timestamp;

/// Maximum length, in characters, of a name or a label (schema `$defs/name`).
pub const NAME_MAX: usize = 200;
/// Maximum length, in characters, of a document reference or number (schema `$defs/ref`).
pub const REF_MAX: usize = 100;
/// Maximum length, in characters, of narrative text (schema `$defs/text`).
pub const TEXT_MAX: usize = 4000;

// ---------------------------------------------------------------------------------------------
// Shared types
// ---------------------------------------------------------------------------------------------

/// A place: where a person was arrested, handed over or released, or where a facility is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    /// What a person on the spot would recognise (e.g. "checkpoint at the north exit of Sévaré").
    pub description: String,
    /// Administrative region (e.g. "Mopti", "Bamako District").
    pub region: String,
    /// Town, village or cercle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// Position, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinates: Option<Coordinates>,
}

/// WGS 84 coordinates in integer microdegrees (no floating point on the wire).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coordinates {
    /// Latitude in millionths of a degree, -90000000 to 90000000 (north positive).
    pub latitude_microdegrees: i32,
    /// Longitude in millionths of a degree, -180000000 to 180000000 (east positive).
    pub longitude_microdegrees: i32,
    /// Estimated accuracy in metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_metres: Option<u32>,
}

/// An official involved (Body of Principles 12): named, or identified by a service number
/// when the name may not be written. At least one of the two is required.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Official {
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Service or badge number (matricule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_number: Option<String>,
    /// Rank or grade (e.g. "adjudant-chef").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<String>,
    /// Function in this event (e.g. "officier de police judiciaire", "chef d'escorte").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
}

/// An item seized, handed over, received, taken at admission or returned at release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// Short label (e.g. "mobile phone", "national identity card", "cash").
    pub label: String,
    /// Number of such items, at least 1.
    pub quantity: u32,
    /// Description that lets the item be recognised (make, colour, serial number...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Number of the seal (scellé) when the item is sealed as evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal_number: Option<String>,
    /// Amount, for cash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub money: Option<Money>,
}

/// An amount of money in the smallest unit of its currency (CFA francs for `XOF`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// ISO 4217 code in uppercase (e.g. "XOF", "EUR", "DZD").
    pub currency: String,
    /// Amount in the smallest unit of the currency, 0 to 2^53-1.
    pub amount: u64,
}

/// A document that travels with the person (transfer packet): warrant, minutes, order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// What the document is (e.g. "procès-verbal d'interpellation").
    pub title: String,
    /// Its reference number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// SHA-256 of a scanned copy, when one was added as evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_digest: Option<Hash>,
}

/// Whether something was found, with details required when it was (e.g. visible injuries,
/// complaints of ill-treatment). The explicit `present: false` records that the question was
/// asked, which the absence of a field would not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// Whether there was something (injuries seen, a complaint made).
    pub present: bool,
    /// What, where, according to whom. Required when `present` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// The condition of a person at a handover or a release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Visible injuries.
    pub visible_injuries: Finding,
    /// Complaints of ill-treatment made by the person.
    pub complaints_of_ill_treatment: Finding,
    /// Other observations (fatigue, hunger, need of care).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
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

/// One charge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Charge {
    /// The offence as qualified (e.g. "association de malfaiteurs").
    pub offence: String,
    /// The provision (e.g. "art. 4, loi n° 08-025 du 23 juillet 2008").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article: Option<String>,
}

/// The legal status of a person held. A suspect is a suspect until a judgment says otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalStatus {
    /// Deprived of liberty, no judicial decision yet (e.g. held by the arresting force).
    Arrested,
    /// In police custody (garde à vue).
    PoliceCustody,
    /// In pre-trial detention on a detention order (presumed innocent).
    PreTrialDetention,
    /// Convicted by a judgment that is not final (appeal possible or pending).
    ConvictedNotFinal,
    /// Convicted by a final judgment.
    ConvictedFinal,
}

/// A security classification or risk level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// High.
    High,
    /// Medium.
    Medium,
    /// Low.
    Low,
}

// ---------------------------------------------------------------------------------------------
// Authority chain
// ---------------------------------------------------------------------------------------------

/// The type of an agency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgencyType {
    /// Armed forces, national or foreign.
    Military,
    /// Police.
    Police,
    /// Gendarmerie.
    Gendarmerie,
    /// Prison administration or one prison.
    Prison,
    /// Court or judicial division.
    Court,
    /// Prosecutor's office.
    Prosecutor,
    /// Independent monitor (human rights commission, ICRC, UN).
    Monitor,
    /// Hospital.
    Hospital,
}

/// An agency is registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyRegistered {
    /// Agency id (slug), e.g. `ml-gendarmerie-camp1`.
    pub id: String,
    /// Official name.
    pub name: String,
    /// Type of agency.
    #[serde(rename = "type")]
    pub r#type: AgencyType,
    /// Country, ISO 3166-1 alpha-2 uppercase (`ML`, `FR`...).
    pub country: String,
    /// Common abbreviation (e.g. "MCA", "DGSE").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acronym: Option<String>,
    /// Id of the agency it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Authority that supervises it (Disappearance Convention art. 17(3)(d)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervising_authority: Option<String>,
}

/// The kind of a facility.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FacilityKind {
    /// Prison (maison d'arrêt, centre de détention).
    Prison,
    /// Gendarmerie post or camp.
    GendarmeriePost,
    /// Police station (commissariat).
    PoliceStation,
    /// Military base.
    MilitaryBase,
    /// Holding cell of a court.
    CourtHoldingCell,
    /// Hospital.
    Hospital,
    /// Any other place where people are held.
    Other,
}

/// A facility (place of detention) is registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilityRegistered {
    /// Facility id (slug), e.g. `ml-mca-bamako`.
    pub id: String,
    /// Id of the agency responsible for the place (art. 17(3)(e)).
    pub agency: String,
    /// Name.
    pub name: String,
    /// Kind of facility.
    pub kind: FacilityKind,
    /// Official capacity in persons (0 when none is set).
    pub capacity: u32,
    /// Whether the place is officially recognised as a place of detention (art. 17(1)). An
    /// unofficial place is registered too, so that nobody held there is out of the record.
    pub officially_recognised: bool,
    /// Location.
    pub place: Place,
}

/// A signing key is enrolled for an agency with roles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEnrolled {
    /// The public key.
    pub key: PublicKeyId,
    /// Id of the agency the holder acts for.
    pub agency: String,
    /// Roles, at least one, no duplicates.
    #[serde(deserialize_with = "required_list")]
    pub roles: Vec<Role>,
    /// Name of the holder.
    pub holder_name: String,
    /// Badge or service number of the holder.
    pub holder_badge: String,
    /// Start of validity.
    pub valid_from: Timestamp,
    /// End of validity, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
}

/// A signing key is revoked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRevoked {
    /// The public key.
    pub key: PublicKeyId,
    /// Why.
    pub reason: String,
    /// From when the key may no longer sign.
    pub effective_from: Timestamp,
}

// ---------------------------------------------------------------------------------------------
// Arrest and handovers
// ---------------------------------------------------------------------------------------------

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

/// The holding agency releases custody to a named receiving agency (first half of a handover).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodyReleased {
    /// Id of the receiving agency.
    pub to_agency: String,
    /// Id of the facility the person is taken to, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_facility: Option<String>,
    /// Where the handover takes place.
    pub place: Place,
    /// Why custody is handed over.
    pub reason: String,
    /// Legal status at the handover.
    pub legal_status: LegalStatus,
    /// Means of transport and escort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    /// The official of the receiving agency who takes the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handed_to: Option<Official>,
    /// When the person should reach the receiving agency: after it, an unaccepted handover is
    /// a custody gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_arrival_by: Option<Timestamp>,
    /// Items handed over with the person.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "optional_list"
    )]
    pub items_handed_over: Vec<Item>,
    /// Documents handed over (the transfer packet).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "optional_list"
    )]
    pub documents_handed_over: Vec<Document>,
    /// Whether the medical file travels with the person, sealed (Mandela Rule 26).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medical_file_transferred: Option<bool>,
    /// Condition at the handover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_at_release: Option<Condition>,
}

/// The receiving agency accepts custody (second half of a handover).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodyAccepted {
    /// Hash of the `custody_released` event this accepts.
    pub release_event: Hash,
    /// Id of the facility where the person is now held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
    /// The official who received the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_by: Option<Official>,
    /// Condition on arrival.
    pub condition_on_arrival: Condition,
    /// Items received.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "optional_list"
    )]
    pub items_received: Vec<Item>,
    /// Documents received.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "optional_list"
    )]
    pub documents_received: Vec<Document>,
    /// Differences between what was announced and what was received.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "optional_list"
    )]
    pub discrepancies: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Police custody and questioning
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Judicial
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Prison
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Hearings and judgment
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Family, visits, evidence, death, escape
// ---------------------------------------------------------------------------------------------

/// How someone was notified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationMeans {
    /// In person.
    InPerson,
    /// Telephone.
    Phone,
    /// Letter.
    Letter,
    /// Red Cross message through the ICRC.
    ViaIcrc,
    /// Through counsel.
    ViaCounsel,
    /// Through a local authority (mayor, village chief).
    ViaLocalAuthority,
    /// Other.
    Other,
}

/// What the family is told about (Mandela Rules 68-69).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationSubject {
    /// The deprivation of liberty and the place.
    Detention,
    /// A transfer.
    Transfer,
    /// Serious illness or injury.
    SeriousIllness,
    /// Death.
    Death,
    /// Release.
    Release,
    /// A hearing.
    Hearing,
}

/// Family (or next of kin) is notified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyNotified {
    /// Relationship of the person notified (e.g. "mother").
    pub who: String,
    /// Their name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Means.
    pub means: NotificationMeans,
    /// Subject.
    pub subject: NotificationSubject,
    /// Whether the notification reached them (an attempt is recorded too).
    pub reached: bool,
    /// Whether the person asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by_detainee: Option<bool>,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// Type of visitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitorType {
    /// Family.
    Family,
    /// Counsel.
    Counsel,
    /// International Committee of the Red Cross: only the fact of the visit is recorded.
    Icrc,
    /// Religious.
    Religious,
    /// Independent monitor.
    Monitor,
}

/// A visit. The content of a visit is never recorded; an ICRC visit records only
/// `visitor_type` (ICRC confidentiality).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Visit {
    /// Type of visitor.
    pub visitor_type: VisitorType,
    /// Visitor's name (not for `icrc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_name: Option<String>,
    /// Relationship to the person (not for `icrc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<String>,
    /// Organisation (bar, commission; not for `icrc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// Duration in minutes, 1-1440 (not for `icrc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_minutes: Option<u32>,
}

/// Evidence is attached by digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceAdded {
    /// SHA-256 of the content.
    pub content_digest: Hash,
    /// Size in bytes, 1 to 2^53-1.
    pub size_bytes: u64,
    /// Media type in lowercase, without parameters (e.g. "image/jpeg", "application/pdf").
    pub media_type: String,
    /// Label.
    pub label: String,
    /// Where it comes from, who made it and how.
    pub provenance: String,
    /// Who collected it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collected_by: Option<String>,
    /// When it was collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collected_at: Option<Timestamp>,
    /// Seal number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal_number: Option<String>,
    /// Hash of the event it documents, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relates_to: Option<Hash>,
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

// ---------------------------------------------------------------------------------------------
// Record maintenance
// ---------------------------------------------------------------------------------------------

/// A previous event is corrected (events are never edited).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    /// Hash of the corrected event.
    pub corrects: Hash,
    /// Why.
    pub reason: String,
    /// The corrected top-level fields of the corrected body with their new values: a non-empty
    /// object, integers only. Checking them against the corrected kind is the validator's job.
    pub corrected_fields: Value,
}

/// How two chains were found to be the same person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkMethod {
    /// Fingerprint or other biometric match.
    BiometricMatch,
    /// Same identity document.
    IdentityDocument,
    /// Review of both files by a registrar.
    RegistrarReview,
    /// Court decision.
    CourtDecision,
    /// Other.
    Other,
}

/// Two detainee chains are the same person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityLinked {
    /// The other detainee chain id.
    pub other_chain: String,
    /// Method.
    pub method: LinkMethod,
    /// Basis of the link.
    pub basis: String,
}

/// A reasoned, time-limited restriction of relatives' access (Disappearance Convention
/// art. 20). It never hides that the person is held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRestricted {
    /// Reference of the decision.
    pub decision_ref: String,
    /// Authority that decided.
    pub authority: String,
    /// Reasons.
    pub reasons: String,
    /// End of the restriction.
    pub until: Timestamp,
    /// Judicial authority that controls the restriction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewing_authority: Option<String>,
}

/// A payload was lawfully removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redaction {
    /// Hash of the event whose payload is removed.
    pub event: Hash,
    /// Why.
    pub reason: String,
    /// Authority that decided.
    pub authority: String,
    /// Reference of the decision.
    pub decision_ref: String,
}

// ---------------------------------------------------------------------------------------------
// Body, parse_body, BodyError
// ---------------------------------------------------------------------------------------------

macro_rules! bodies {
    ($($variant:ident,)*) => {
        /// The body of an event, one variant per [`EventKind`].
        // A body is parsed once per event and lives briefly: boxing would cost more than the
        // size difference between variants.
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Body {
            $(
                #[doc = concat!("Body of [`EventKind::", stringify!($variant), "`].")]
                $variant($variant),
            )*
        }

        impl Body {
            /// The kind of event this body belongs to.
            pub fn kind(&self) -> EventKind {
                match self { $( Body::$variant(_) => EventKind::$variant, )* }
            }

            /// The body as a JSON value (what `payload.body` holds).
            pub fn to_value(&self) -> Value {
                match self { $( Body::$variant(b) => value_of(b), )* }
            }
        }

        impl Serialize for Body {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self { $( Body::$variant(b) => b.serialize(s), )* }
            }
        }

        /// Parses and checks a body for a kind: types (deny unknown fields), then semantic
        /// checks that JSON Schema also expresses (non-empty strings, slug ids, enum values,
        /// min/max). Error names the field path.
        pub fn parse_body(kind: EventKind, body: &Value) -> Result<Body, BodyError> {
            match kind { $( EventKind::$variant => parse::<$variant>(kind, body).map(Body::$variant), )* }
        }

        /// The top-level field names of a kind's body (the `properties` of its schema).
        pub fn body_fields(kind: EventKind) -> &'static [&'static str] {
            match kind { $( EventKind::$variant => field_names::<$variant>(), )* }
        }
    };
}

/// The field names serde knows for a struct, read by a deserializer that only asks for them.
fn field_names<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    match T::deserialize(FieldNames) {
        Err(FieldNamesError(Some(fields))) => fields,
        _ => &[],
    }
}

/// A deserializer that fails at once, carrying the field list of the struct asked for.
struct FieldNames;

#[derive(Debug)]
struct FieldNamesError(Option<&'static [&'static str]>);

impl std::fmt::Display for FieldNamesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names only")
    }
}

impl std::error::Error for FieldNamesError {}

impl serde::de::Error for FieldNamesError {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        FieldNamesError(None)
    }
}

impl<'de> Deserializer<'de> for FieldNames {
    type Error = FieldNamesError;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(FieldNamesError(None))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        Err(FieldNamesError(Some(fields)))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

bodies! {
    AgencyRegistered,
    FacilityRegistered,
    KeyEnrolled,
    KeyRevoked,
    Arrest,
    CustodyReleased,
    CustodyAccepted,
    PoliceCustodyStarted,
    PoliceCustodyExtended,
    Questioning,
    PlacementDecision,
    JudicialAppearance,
    Charged,
    DetentionOrder,
    DetentionExtended,
    Admission,
    MedicalScreening,
    RiskAssessment,
    HearingScheduled,
    HearingHeld,
    Judgment,
    Release,
    FamilyNotified,
    Visit,
    EvidenceAdded,
    DeathInCustody,
    Escape,
    Correction,
    IdentityLinked,
    AccessRestricted,
    Redaction,
}

/// A body that does not parse or does not pass its checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payload.body{path}: {message}")]
pub struct BodyError {
    /// The kind the body was parsed for.
    pub kind: EventKind,
    /// JSON pointer of the offending field within the body, e.g. `/place/region`; empty for the
    /// body itself.
    pub path: String,
    /// What is wrong, in words a registrar can act on.
    pub message: String,
}

fn value_of<T: Serialize>(body: &T) -> Value {
    // Serialising these types into a `Value` cannot fail: every map key is a string and every
    // number an integer. `Null` would only ever signal a bug, and fails every schema.
    serde_json::to_value(body).unwrap_or(Value::Null)
}

fn parse<T>(kind: EventKind, body: &Value) -> Result<T, BodyError>
where
    T: serde::de::DeserializeOwned + Check,
{
    let root = de::Seg::Root;
    let parsed = T::deserialize(de::ValueDe::new(body, &root))
        .map_err(|e| e.into_body_error(kind, &root))?;
    parsed.check().map_err(|f| BodyError {
        kind,
        path: f.path,
        message: f.message,
    })?;
    Ok(parsed)
}

/// Deserialises an optional list, refusing `[]` (an empty list is left out).
fn optional_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let v = Vec::<T>::deserialize(d)?;
    if v.is_empty() {
        return Err(serde::de::Error::custom(
            "an empty list is not allowed: leave the field out when there is nothing to record",
        ));
    }
    Ok(v)
}

/// Deserialises a required list, refusing `[]`.
fn required_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let v = Vec::<T>::deserialize(d)?;
    if v.is_empty() {
        return Err(serde::de::Error::custom("must list at least one entry"));
    }
    Ok(v)
}

/// What a registrar should know about a missing required field.
fn missing_hint(kind: EventKind, field: &str, nested: bool) -> String {
    let why = match field {
        "commitment_order_ref" => {
            "an admission needs the reference of the commitment order (Mandela Rule 7: no admission without a valid commitment order)"
        }
        "commitment_order_event" => {
            "an admission names the hash of the commitment order's event (the detention_order, or the custodial judgment) of this chain"
        }
        "order_event" => "an extension names the hash of the detention_order event it extends",
        "commitment_authority" => "record the authority that committed the person (Mandela Rule 7(b))",
        "commitment_grounds" => "record the reasons of commitment, as in the order (Mandela Rule 7(b))",
        "registry_number" => "an admission needs the number in the facility's register",
        "person" => "an arrest records the identity as known, even if only a physical description",
        "identity_basis" => "say how the identity was established (self_declared, identity_document, biometric_match, third_party_statement or unknown)",
        "place" => "record where it happened (Body of Principles 12: the precise place)",
        "region" => "a place needs its administrative region",
        "description" => "describe the place so that someone on the spot would recognise it",
        "arresting_force" => "name the agency that made the arrest (Disappearance Convention art. 17(3)(b))",
        "officer" => "name the officer responsible, or give a service number",
        "ordering_authority" => "record the authority that ordered the deprivation of liberty, or the rule it was made under (art. 17(3)(c))",
        "grounds" => "record the reasons, as facts (art. 17(3)(c))",
        "suspected_offence" => "record the offence the person is suspected of",
        "visible_injuries" => "record whether injuries are visible: {\"present\": false} when none",
        "complaints_of_ill_treatment" => "record whether the person complains of ill-treatment: {\"present\": false} when not",
        "condition_on_arrival" => "record the condition of the person on arrival (visible injuries, complaints)",
        "legal_status" => "state the legal status explicitly (arrested, police_custody, pre_trial_detention, convicted_not_final, convicted_final)",
        "to_agency" => "a handover names the receiving agency, or the person is in a custody gap",
        "release_event" => "an acceptance names the hash of the custody_released event it accepts",
        "authorisation_ref" => "an extension of police custody needs the reference of the written authorisation",
        "extended_until" => "record the new end of police custody",
        "order_ref" => "record the reference of the detention order",
        "extension_ref" => "record the reference of the extension order",
        "valid_until" => "record until when the order is valid",
        "reasons" => "a decision must be reasoned",
        "verification" => "record how the release was verified (handed to family, counsel, witnessed by a monitor, or signed by the person)",
        "cause" => "record the cause of death as certified, or \"undetermined\" (art. 17(3)(g))",
        "circumstances" => "record the circumstances (art. 17(3)(g))",
        "remains_destination" => "record the destination of the remains (art. 17(3)(g))",
        "until" => "a restriction of access must be time-limited (art. 20)",
        "decision_ref" => "record the reference of the decision",
        "corrected_fields" => "a correction gives the corrected fields with their new values",
        "present" => "say whether there is something: true or false",
        "officers" => "name at least one officer, or give a service number",
        "counsel_present" => "record whether counsel was present",
        "produced" => "record whether the person was brought before the court",
        _ => "",
    };
    if why.is_empty() && nested {
        format!("missing field \"{field}\": it is required here")
    } else if why.is_empty() {
        format!("missing field \"{field}\": every {kind} body needs it")
    } else {
        format!("missing field \"{field}\": {why}")
    }
}

fn unknown_hint(field: &str, allowed: &[&str]) -> String {
    let lower = field.to_ascii_lowercase();
    let label = ["terror", "guilty", "jihad", "criminal", "bandit"]
        .iter()
        .any(|w| lower.contains(w));
    let mut msg = format!("unknown field \"{field}\"");
    if label {
        msg.push_str(": the record never labels a person; use suspected_offence, charges, legal_status or a judgment");
    }
    if allowed.is_empty() {
        msg.push_str("; no field is allowed here");
    } else {
        msg.push_str("; the fields allowed here are: ");
        msg.push_str(&allowed.join(", "));
    }
    msg
}

// ---------------------------------------------------------------------------------------------
// Semantic checks (the ones the JSON Schemas express too)
// ---------------------------------------------------------------------------------------------

struct Fail {
    path: String,
    message: String,
}

impl Fail {
    fn under(mut self, field: &str) -> Fail {
        self.path = format!("/{field}{}", self.path);
        self
    }

    fn under_index(mut self, field: &str, i: usize) -> Fail {
        self.path = format!("/{field}/{i}{}", self.path);
        self
    }
}

type Checked = Result<(), Fail>;
type Rule = Result<(), String>;

/// Checks of a parsed value that its schema also expresses.
trait Check {
    fn check(&self) -> Checked;
}

fn field(name: &str, r: Rule) -> Checked {
    r.map_err(|message| Fail {
        path: format!("/{name}"),
        message,
    })
}

fn fail(name: &str, message: impl Into<String>) -> Checked {
    field(name, Err(message.into()))
}

fn nested<T: Check>(name: &str, v: &T) -> Checked {
    v.check().map_err(|f| f.under(name))
}

fn nested_opt<T: Check>(name: &str, v: &Option<T>) -> Checked {
    v.as_ref().map_or(Ok(()), |v| nested(name, v))
}

fn each<T: Check>(name: &str, items: &[T]) -> Checked {
    for (i, it) in items.iter().enumerate() {
        it.check().map_err(|f| f.under_index(name, i))?;
    }
    Ok(())
}

fn each_str(name: &str, items: &[String], rule: fn(&str) -> Rule) -> Checked {
    for (i, s) in items.iter().enumerate() {
        rule(s).map_err(|message| Fail {
            path: format!("/{name}/{i}"),
            message,
        })?;
    }
    Ok(())
}

fn opt(v: &Option<String>, rule: fn(&str) -> Rule) -> Rule {
    v.as_deref().map_or(Ok(()), rule)
}

/// A blank string holds only spaces, tabs and line breaks (schema: pattern `[^\t\n\r ]`).
fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

fn string(s: &str, max: usize) -> Rule {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if is_blank(s) {
        return Err("must not be only whitespace".into());
    }
    let n = s.chars().count();
    if n > max {
        return Err(format!("is {n} characters long; the maximum is {max}"));
    }
    Ok(())
}

fn name(s: &str) -> Rule {
    string(s, NAME_MAX)
}

fn text(s: &str) -> Rule {
    string(s, TEXT_MAX)
}

fn reference(s: &str) -> Rule {
    string(s, REF_MAX)
}

fn slug(s: &str) -> Rule {
    if is_valid_slug(s) {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not an agency or facility id: 2 to 64 characters of a-z, 0-9 and '-', starting with a letter or digit (e.g. \"ml-gendarmerie-camp1\")"
        ))
    }
}

fn upper_code(s: &str, len: usize, what: &str) -> Rule {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(format!("{s:?} is not {what}"))
    }
}

fn country(s: &str) -> Rule {
    upper_code(
        s,
        2,
        "an ISO 3166-1 alpha-2 country code in uppercase (e.g. \"ML\")",
    )
}

fn currency(s: &str) -> Rule {
    upper_code(
        s,
        3,
        "an ISO 4217 currency code in uppercase (e.g. \"XOF\")",
    )
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, year 1900-2099, day within the month (29 February is
/// accepted in any year, as in the schema pattern).
fn partial_date(s: &str) -> Rule {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let d = b.get(r)?;
        if d.iter().all(u8::is_ascii_digit) {
            Some(d.iter().fold(0, |n, c| n * 10 + u32::from(c - b'0')))
        } else {
            None
        }
    };
    let ok = (|| {
        let year = num(0..4)?;
        if !(1900..=2099).contains(&year) {
            return None;
        }
        if b.len() == 4 {
            return Some(());
        }
        if b.get(4) != Some(&b'-') {
            return None;
        }
        let month = num(5..7)?;
        if !(1..=12).contains(&month) {
            return None;
        }
        if b.len() == 7 {
            return Some(());
        }
        if b.len() != 10 || b.get(7) != Some(&b'-') {
            return None;
        }
        let day = num(8..10)?;
        let max = match month {
            2 => 29,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        (1..=max).contains(&day).then_some(())
    })();
    ok.ok_or_else(|| format!("{s:?} is not a date written YYYY, YYYY-MM or YYYY-MM-DD"))
}

fn media_type(s: &str) -> Rule {
    let part = |p: &str| {
        let b = p.as_bytes();
        (1..=127).contains(&b.len())
            && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"!#$&^_.+-".contains(c))
    };
    match s.split_once('/') {
        Some((t, sub)) if part(t) && part(sub) => Ok(()),
        _ => Err(format!(
            "{s:?} is not a media type in lowercase without parameters (e.g. \"image/jpeg\")"
        )),
    }
}

fn range<T: PartialOrd + std::fmt::Display>(v: T, min: T, max: T) -> Rule {
    if v < min || v > max {
        Err(format!("{v} is out of range: from {min} to {max}"))
    } else {
        Ok(())
    }
}

/// `details` is required when `present` is true.
fn required_when(cond: bool, v: &Option<String>, name: &str, why: &str) -> Checked {
    if cond && v.is_none() {
        return fail(name, format!("required {why}"));
    }
    Ok(())
}

fn counsel(present: bool, counsel_name: &Option<String>) -> Checked {
    required_when(
        present,
        counsel_name,
        "counsel_name",
        "when counsel_present is true: name counsel",
    )?;
    field("counsel_name", opt(counsel_name, name))
}

impl Check for Place {
    fn check(&self) -> Checked {
        field("description", text(&self.description))?;
        field("region", name(&self.region))?;
        field("locality", opt(&self.locality, name))?;
        nested_opt("coordinates", &self.coordinates)
    }
}

impl Check for Coordinates {
    fn check(&self) -> Checked {
        field(
            "latitude_microdegrees",
            range(self.latitude_microdegrees, -90_000_000, 90_000_000),
        )?;
        field(
            "longitude_microdegrees",
            range(self.longitude_microdegrees, -180_000_000, 180_000_000),
        )
    }
}

impl Check for Official {
    fn check(&self) -> Checked {
        if self.name.is_none() && self.service_number.is_none() {
            return Err(Fail {
                path: String::new(),
                message: "an official needs a name or a service_number".into(),
            });
        }
        field("name", opt(&self.name, name))?;
        field("service_number", opt(&self.service_number, reference))?;
        field("rank", opt(&self.rank, name))?;
        field("function", opt(&self.function, name))
    }
}

impl Check for Item {
    fn check(&self) -> Checked {
        field("label", name(&self.label))?;
        field("quantity", range(self.quantity, 1, u32::MAX))?;
        field("description", opt(&self.description, text))?;
        field("seal_number", opt(&self.seal_number, reference))?;
        nested_opt("money", &self.money)
    }
}

impl Check for Money {
    fn check(&self) -> Checked {
        field("currency", currency(&self.currency))?;
        field("amount", range(self.amount, 0, MAX_SAFE_INTEGER))
    }
}

impl Check for Document {
    fn check(&self) -> Checked {
        field("title", name(&self.title))?;
        field("reference", opt(&self.reference, reference))
    }
}

impl Check for Finding {
    fn check(&self) -> Checked {
        required_when(
            self.present,
            &self.details,
            "details",
            "when present is true: describe what was seen or reported",
        )?;
        field("details", opt(&self.details, text))
    }
}

impl Check for Condition {
    fn check(&self) -> Checked {
        nested("visible_injuries", &self.visible_injuries)?;
        nested(
            "complaints_of_ill_treatment",
            &self.complaints_of_ill_treatment,
        )?;
        field("notes", opt(&self.notes, text))
    }
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

impl Check for IdentityDocument {
    fn check(&self) -> Checked {
        field("document_type", name(&self.document_type))?;
        field("number", reference(&self.number))?;
        field("issued_by", opt(&self.issued_by, name))
    }
}

impl Check for NextOfKin {
    fn check(&self) -> Checked {
        field("name", name(&self.name))?;
        field("relationship", name(&self.relationship))?;
        field("contact", opt(&self.contact, name))?;
        field("location", opt(&self.location, name))
    }
}

impl Check for Charge {
    fn check(&self) -> Checked {
        field("offence", name(&self.offence))?;
        field("article", opt(&self.article, name))
    }
}

impl Check for Verification {
    fn check(&self) -> Checked {
        field("witness", opt(&self.witness, name))?;
        field("details", opt(&self.details, text))
    }
}

impl Check for AgencyRegistered {
    fn check(&self) -> Checked {
        field("id", slug(&self.id))?;
        field("name", name(&self.name))?;
        field("country", country(&self.country))?;
        field("acronym", opt(&self.acronym, name))?;
        field("parent", opt(&self.parent, slug))?;
        field(
            "supervising_authority",
            opt(&self.supervising_authority, name),
        )
    }
}

impl Check for FacilityRegistered {
    fn check(&self) -> Checked {
        field("id", slug(&self.id))?;
        field("agency", slug(&self.agency))?;
        field("name", name(&self.name))?;
        nested("place", &self.place)
    }
}

impl Check for KeyEnrolled {
    fn check(&self) -> Checked {
        field("agency", slug(&self.agency))?;
        for (i, r) in self.roles.iter().enumerate() {
            if self.roles[..i].contains(r) {
                return Err(Fail {
                    path: format!("/roles/{i}"),
                    message: format!("role {r} is listed twice"),
                });
            }
        }
        field("holder_name", name(&self.holder_name))?;
        field("holder_badge", reference(&self.holder_badge))
    }
}

impl Check for KeyRevoked {
    fn check(&self) -> Checked {
        field("reason", text(&self.reason))
    }
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

impl Check for CustodyReleased {
    fn check(&self) -> Checked {
        field("to_agency", slug(&self.to_agency))?;
        field("to_facility", opt(&self.to_facility, slug))?;
        nested("place", &self.place)?;
        field("reason", text(&self.reason))?;
        field("transport", opt(&self.transport, text))?;
        nested_opt("handed_to", &self.handed_to)?;
        each("items_handed_over", &self.items_handed_over)?;
        each("documents_handed_over", &self.documents_handed_over)?;
        nested_opt("condition_at_release", &self.condition_at_release)
    }
}

impl Check for CustodyAccepted {
    fn check(&self) -> Checked {
        field("facility", opt(&self.facility, slug))?;
        nested_opt("received_by", &self.received_by)?;
        nested("condition_on_arrival", &self.condition_on_arrival)?;
        each("items_received", &self.items_received)?;
        each("documents_received", &self.documents_received)?;
        each_str("discrepancies", &self.discrepancies, text)
    }
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

impl Check for PoliceCustodyExtended {
    fn check(&self) -> Checked {
        field("authorisation_ref", reference(&self.authorisation_ref))?;
        field("authorised_by", name(&self.authorised_by))?;
        field("extension_hours", range(self.extension_hours, 1, 240))?;
        field("reasons", text(&self.reasons))
    }
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

impl Check for PlacementDecision {
    fn check(&self) -> Checked {
        field("destination_facility", slug(&self.destination_facility))?;
        field("reasons", text(&self.reasons))?;
        field("authority", name(&self.authority))
    }
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

impl Check for DetentionExtended {
    fn check(&self) -> Checked {
        field("order_ref", reference(&self.order_ref))?;
        field("extension_ref", reference(&self.extension_ref))?;
        field("issuing_authority", name(&self.issuing_authority))?;
        field("reasons", text(&self.reasons))?;
        field("legal_basis", opt(&self.legal_basis, text))
    }
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

impl Check for RiskAssessment {
    fn check(&self) -> Checked {
        field("tool", name(&self.tool))?;
        field("assessor", name(&self.assessor))?;
        field("reasons", text(&self.reasons))
    }
}

impl Check for HearingScheduled {
    fn check(&self) -> Checked {
        field("court", name(&self.court))?;
        field("case_ref", reference(&self.case_ref))?;
        field("details", opt(&self.details, text))
    }
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

impl Check for FamilyNotified {
    fn check(&self) -> Checked {
        field("who", name(&self.who))?;
        field("name", opt(&self.name, name))?;
        field("details", opt(&self.details, text))
    }
}

impl Check for Visit {
    fn check(&self) -> Checked {
        if self.visitor_type == VisitorType::Icrc {
            let present = [
                ("visitor_name", self.visitor_name.is_some()),
                ("relationship", self.relationship.is_some()),
                ("organisation", self.organisation.is_some()),
                ("duration_minutes", self.duration_minutes.is_some()),
            ];
            if let Some((f, _)) = present.iter().find(|(_, p)| *p) {
                return fail(
                    f,
                    "ICRC visits are confidential: record only the fact of the visit (visitor_type)",
                );
            }
        }
        field("visitor_name", opt(&self.visitor_name, name))?;
        field("relationship", opt(&self.relationship, name))?;
        field("organisation", opt(&self.organisation, name))?;
        if let Some(m) = self.duration_minutes {
            field("duration_minutes", range(m, 1, 1440))?;
        }
        Ok(())
    }
}

impl Check for EvidenceAdded {
    fn check(&self) -> Checked {
        field("size_bytes", range(self.size_bytes, 1, MAX_SAFE_INTEGER))?;
        field("media_type", media_type(&self.media_type))?;
        field("label", name(&self.label))?;
        field("provenance", text(&self.provenance))?;
        field("collected_by", opt(&self.collected_by, name))?;
        field("seal_number", opt(&self.seal_number, reference))
    }
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

/// A JSON value with integers only, all within the safe range (schema `$defs/json_value`).
fn integers_only(v: &Value, path: &mut String) -> Result<(), (String, String)> {
    match v {
        Value::Number(n) => {
            let ok = n.as_u64().is_some_and(|u| u <= MAX_SAFE_INTEGER)
                || n.as_i64()
                    .is_some_and(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER);
            if ok {
                Ok(())
            } else if n.is_f64() {
                Err((
                    path.clone(),
                    format!("{n} is a floating point number; wire format v1 allows integers only"),
                ))
            } else {
                Err((
                    path.clone(),
                    format!("{n} is out of range: integers from -(2^53-1) to 2^53-1 only"),
                ))
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                integers_only(x, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(m) => {
            for (k, x) in m {
                let len = path.len();
                path.push('/');
                de::push_escaped(path, k);
                integers_only(x, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
    }
}

impl Check for Correction {
    fn check(&self) -> Checked {
        field("reason", text(&self.reason))?;
        match &self.corrected_fields {
            Value::Object(m) if m.is_empty() => {
                fail("corrected_fields", "must hold at least one corrected field")
            }
            Value::Object(_) => {
                let mut path = String::from("/corrected_fields");
                integers_only(&self.corrected_fields, &mut path)
                    .map_err(|(path, message)| Fail { path, message })
            }
            _ => fail(
                "corrected_fields",
                "must be an object of the corrected fields and their new values",
            ),
        }
    }
}

impl Check for IdentityLinked {
    fn check(&self) -> Checked {
        if !is_detainee_chain_id(&self.other_chain) {
            return fail(
                "other_chain",
                format!(
                    "{:?} is not a detainee chain id (d- followed by a lowercase ULID)",
                    self.other_chain
                ),
            );
        }
        field("basis", text(&self.basis))
    }
}

impl Check for AccessRestricted {
    fn check(&self) -> Checked {
        field("decision_ref", reference(&self.decision_ref))?;
        field("authority", name(&self.authority))?;
        field("reasons", text(&self.reasons))?;
        field("reviewing_authority", opt(&self.reviewing_authority, name))
    }
}

impl Check for Redaction {
    fn check(&self) -> Checked {
        field("reason", text(&self.reason))?;
        field("authority", name(&self.authority))?;
        field("decision_ref", reference(&self.decision_ref))
    }
}

// ---------------------------------------------------------------------------------------------
// A deserializer over `&Value` that knows where it is
// ---------------------------------------------------------------------------------------------

/// Deserialises straight from a borrowed [`Value`] (no copy), like serde_json's own
/// `Deserializer for &Value`, and in addition keeps the JSON pointer of the current position
/// (built only when there is an error), refuses `null` for optional fields and words errors for
/// registrars.
mod de {
    use std::fmt;

    use serde::de::value::BorrowedStrDeserializer;
    use serde::de::{self, DeserializeSeed, Expected, MapAccess, SeqAccess, Unexpected, Visitor};
    use serde_json::Value;

    use super::{missing_hint, unknown_hint, BodyError, EventKind};

    /// One step of a JSON pointer, linked to its parent on the stack.
    pub(super) enum Seg<'a> {
        Root,
        Key(&'a Seg<'a>, &'a str),
        Index(&'a Seg<'a>, usize),
    }

    impl Seg<'_> {
        fn pointer(&self) -> String {
            let mut out = String::new();
            self.write(&mut out);
            out
        }

        fn write(&self, out: &mut String) {
            match self {
                Seg::Root => {}
                Seg::Key(parent, k) => {
                    parent.write(out);
                    out.push('/');
                    push_escaped(out, k);
                }
                Seg::Index(parent, i) => {
                    parent.write(out);
                    out.push('/');
                    out.push_str(&i.to_string());
                }
            }
        }
    }

    /// Appends a key to a JSON pointer, escaped as RFC 6901 says.
    pub(super) fn push_escaped(out: &mut String, key: &str) {
        for c in key.chars() {
            match c {
                '~' => out.push_str("~0"),
                '/' => out.push_str("~1"),
                c => out.push(c),
            }
        }
    }

    #[derive(Debug)]
    enum Problem {
        Missing(&'static str),
        Unknown(String, &'static [&'static str]),
        Other(String),
    }

    /// A deserialisation error and, once known, where it happened.
    #[derive(Debug)]
    pub(super) struct Error {
        path: Option<String>,
        problem: Problem,
    }

    impl Error {
        fn other(message: String) -> Self {
            Error {
                path: None,
                problem: Problem::Other(message),
            }
        }

        /// Sets the position, unless a deeper one is already set.
        fn at(mut self, seg: &Seg<'_>) -> Self {
            if self.path.is_none() {
                let mut p = seg.pointer();
                if let Problem::Missing(f) = &self.problem {
                    p.push('/');
                    push_escaped(&mut p, f);
                }
                self.path = Some(p);
            }
            self
        }

        pub(super) fn into_body_error(self, kind: EventKind, root: &Seg<'_>) -> BodyError {
            let e = self.at(root);
            let nested = e
                .path
                .as_deref()
                .is_some_and(|p| p.matches('/').count() > 1);
            let message = match e.problem {
                Problem::Missing(f) => missing_hint(kind, f, nested),
                Problem::Unknown(f, allowed) => unknown_hint(&f, allowed),
                Problem::Other(m) => m,
            };
            BodyError {
                kind,
                path: e.path.unwrap_or_default(),
                message,
            }
        }
    }

    impl fmt::Display for Error {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match &self.problem {
                Problem::Missing(field) => write!(f, "missing field \"{field}\""),
                Problem::Unknown(field, _) => write!(f, "unknown field \"{field}\""),
                Problem::Other(m) => f.write_str(m),
            }
        }
    }

    impl std::error::Error for Error {}

    /// What was expected, in words.
    fn expected(exp: &dyn Expected) -> String {
        let s = exp.to_string();
        if s.starts_with("struct ") || s == "a map" {
            "a JSON object".into()
        } else if s == "a sequence" {
            "a JSON array".into()
        } else if s.starts_with("enum ") || s == "variant identifier" {
            "a string naming one of the allowed values".into()
        } else if matches!(s.as_str(), "u8" | "u16" | "u32" | "u64") {
            format!("a non-negative integer ({s})")
        } else if matches!(s.as_str(), "i8" | "i16" | "i32" | "i64") {
            format!("an integer ({s})")
        } else {
            s
        }
    }

    fn found(unexp: &Unexpected<'_>) -> String {
        match unexp {
            Unexpected::Unit => "null".into(),
            Unexpected::Map => "an object".into(),
            Unexpected::Seq => "an array".into(),
            Unexpected::Float(_) => {
                format!("{unexp}: wire format v1 allows no floating point numbers")
            }
            other => other.to_string(),
        }
    }

    impl de::Error for Error {
        fn custom<T: fmt::Display>(msg: T) -> Self {
            Error::other(msg.to_string())
        }

        fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
            Error::other(format!(
                "expected {}, found {}",
                expected(exp),
                found(&unexp)
            ))
        }

        fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
            Error::other(format!(
                "{} is out of range: expected {}",
                found(&unexp),
                expected(exp)
            ))
        }

        fn unknown_variant(variant: &str, allowed: &'static [&'static str]) -> Self {
            Error::other(format!(
                "{variant:?} is not an allowed value; allowed: {}",
                allowed.join(", ")
            ))
        }

        fn unknown_field(field: &str, allowed: &'static [&'static str]) -> Self {
            Error {
                path: None,
                problem: Problem::Unknown(field.to_string(), allowed),
            }
        }

        fn missing_field(field: &'static str) -> Self {
            Error {
                path: None,
                problem: Problem::Missing(field),
            }
        }
    }

    /// The deserializer of one value at one position.
    pub(super) struct ValueDe<'de, 'p> {
        value: &'de Value,
        path: &'p Seg<'p>,
    }

    impl<'de, 'p> ValueDe<'de, 'p> {
        pub(super) fn new(value: &'de Value, path: &'p Seg<'p>) -> Self {
            ValueDe { value, path }
        }
    }

    fn unexpected(v: &Value) -> Unexpected<'_> {
        match v {
            Value::Null => Unexpected::Unit,
            Value::Bool(b) => Unexpected::Bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    Unexpected::Unsigned(u)
                } else if let Some(i) = n.as_i64() {
                    Unexpected::Signed(i)
                } else {
                    Unexpected::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => Unexpected::Str(s),
            Value::Array(_) => Unexpected::Seq,
            Value::Object(_) => Unexpected::Map,
        }
    }

    impl<'de> de::Deserializer<'de> for ValueDe<'de, '_> {
        type Error = Error;

        fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            let path = self.path;
            let r = match self.value {
                Value::Null => visitor.visit_unit(),
                Value::Bool(b) => visitor.visit_bool(*b),
                Value::Number(n) => {
                    if let Some(u) = n.as_u64() {
                        visitor.visit_u64(u)
                    } else if let Some(i) = n.as_i64() {
                        visitor.visit_i64(i)
                    } else {
                        visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                    }
                }
                Value::String(s) => visitor.visit_borrowed_str(s),
                Value::Array(a) => visitor.visit_seq(SeqDe {
                    iter: a.iter().enumerate(),
                    path,
                }),
                Value::Object(m) => visitor.visit_map(MapDe {
                    iter: m.iter(),
                    pending: None,
                    path,
                }),
            };
            r.map_err(|e| e.at(path))
        }

        fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.value {
                Value::Null => Err(Error::other(
                    "null is not allowed: leave the field out when there is no value".into(),
                )
                .at(self.path)),
                _ => {
                    let path = self.path;
                    visitor.visit_some(self).map_err(|e| e.at(path))
                }
            }
        }

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _name: &'static str,
            _variants: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, Error> {
            let r = match self.value {
                Value::String(s) => visitor.visit_enum(BorrowedStrDeserializer::new(s)),
                other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
            };
            r.map_err(|e: Error| e.at(self.path))
        }

        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            visitor: V,
        ) -> Result<V::Value, Error> {
            let path = self.path;
            visitor.visit_newtype_struct(self).map_err(|e| e.at(path))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
        }
    }

    struct SeqDe<'de, 'p> {
        iter: std::iter::Enumerate<std::slice::Iter<'de, Value>>,
        path: &'p Seg<'p>,
    }

    impl<'de> SeqAccess<'de> for SeqDe<'de, '_> {
        type Error = Error;

        fn next_element_seed<T: DeserializeSeed<'de>>(
            &mut self,
            seed: T,
        ) -> Result<Option<T::Value>, Error> {
            match self.iter.next() {
                Some((i, v)) => {
                    let seg = Seg::Index(self.path, i);
                    seed.deserialize(ValueDe::new(v, &seg))
                        .map(Some)
                        .map_err(|e| e.at(&seg))
                }
                None => Ok(None),
            }
        }

        fn size_hint(&self) -> Option<usize> {
            Some(self.iter.len())
        }
    }

    struct MapDe<'de, 'p> {
        iter: serde_json::map::Iter<'de>,
        pending: Option<(&'de str, &'de Value)>,
        path: &'p Seg<'p>,
    }

    impl<'de> MapAccess<'de> for MapDe<'de, '_> {
        type Error = Error;

        fn next_key_seed<K: DeserializeSeed<'de>>(
            &mut self,
            seed: K,
        ) -> Result<Option<K::Value>, Error> {
            match self.iter.next() {
                Some((k, v)) => {
                    self.pending = Some((k.as_str(), v));
                    seed.deserialize(BorrowedStrDeserializer::new(k.as_str()))
                        .map(Some)
                        .map_err(|e: Error| e.at(&Seg::Key(self.path, k)))
                }
                None => Ok(None),
            }
        }

        fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
            let (k, v) = self
                .pending
                .take()
                .ok_or_else(|| Error::other("a value was requested before its key".into()))?;
            let seg = Seg::Key(self.path, k);
            seed.deserialize(ValueDe::new(v, &seg))
                .map_err(|e| e.at(&seg))
        }

        fn size_hint(&self) -> Option<usize> {
            Some(self.iter.len())
        }
    }
}
