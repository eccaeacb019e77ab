//! The authority chain: agencies, facilities and signing keys.

use serde::{Deserialize, Serialize};

use super::check::*;
use super::common::Place;
use super::required_list;
use crate::keys::PublicKeyId;
use crate::roles::Role;
use crate::time::Timestamp;

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
    /// Bar association (ordre des avocats): the agency of counsel's keys.
    BarAssociation,
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

impl Check for FacilityRegistered {
    fn check(&self) -> Checked {
        field("id", slug(&self.id))?;
        field("agency", slug(&self.agency))?;
        field("name", name(&self.name))?;
        nested("place", &self.place)
    }
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

impl Check for KeyRevoked {
    fn check(&self) -> Checked {
        field("reason", text(&self.reason))
    }
}
