//! Field types shared by the bodies of several kinds, and their checks.

use serde::{Deserialize, Serialize};

use super::check::*;
use crate::hash::Hash;
use crate::jcs::MAX_SAFE_INTEGER;

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

impl Check for Place {
    fn check(&self) -> Checked {
        field("description", text(&self.description))?;
        field("region", name(&self.region))?;
        field("locality", opt(&self.locality, name))?;
        nested_opt("coordinates", &self.coordinates)
    }
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

impl Check for Item {
    fn check(&self) -> Checked {
        field("label", name(&self.label))?;
        field("quantity", range(self.quantity, 1, u32::MAX))?;
        field("description", opt(&self.description, text))?;
        field("seal_number", opt(&self.seal_number, reference))?;
        nested_opt("money", &self.money)
    }
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

impl Check for Money {
    fn check(&self) -> Checked {
        field("currency", currency(&self.currency))?;
        field("amount", range(self.amount, 0, MAX_SAFE_INTEGER))
    }
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

impl Check for Document {
    fn check(&self) -> Checked {
        field("title", name(&self.title))?;
        field("reference", opt(&self.reference, reference))
    }
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

impl Check for Charge {
    fn check(&self) -> Checked {
        field("offence", name(&self.offence))?;
        field("article", opt(&self.article, name))
    }
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

impl LegalStatus {
    /// Every status, from the first (arrested) to the last (convicted by a final judgment).
    pub const ALL: &'static [LegalStatus] = &[
        LegalStatus::Arrested,
        LegalStatus::PoliceCustody,
        LegalStatus::PreTrialDetention,
        LegalStatus::ConvictedNotFinal,
        LegalStatus::ConvictedFinal,
    ];

    /// The wire name (`pre_trial_detention`).
    pub const fn as_str(self) -> &'static str {
        match self {
            LegalStatus::Arrested => "arrested",
            LegalStatus::PoliceCustody => "police_custody",
            LegalStatus::PreTrialDetention => "pre_trial_detention",
            LegalStatus::ConvictedNotFinal => "convicted_not_final",
            LegalStatus::ConvictedFinal => "convicted_final",
        }
    }

    /// The status of a wire name, if it is one.
    pub fn from_wire(s: &str) -> Option<LegalStatus> {
        LegalStatus::ALL.iter().copied().find(|l| l.as_str() == s)
    }

    /// Whether the status says the person was convicted.
    pub const fn is_conviction(self) -> bool {
        matches!(
            self,
            LegalStatus::ConvictedNotFinal | LegalStatus::ConvictedFinal
        )
    }
}

impl std::fmt::Display for LegalStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
