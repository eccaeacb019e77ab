//! Handovers: the holding agency releases custody, the receiving agency accepts it.

use serde::{Deserialize, Serialize};

use super::check::*;
use super::common::{Condition, Document, Item, LegalStatus, Official, Place};
use super::optional_list;
use crate::hash::Hash;
use crate::time::Timestamp;

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
