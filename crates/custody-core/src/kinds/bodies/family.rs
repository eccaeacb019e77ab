//! Contact with the outside: family notified, visits.

use serde::{Deserialize, Serialize};

use super::check::*;

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

impl Check for FamilyNotified {
    fn check(&self) -> Checked {
        field("who", name(&self.who))?;
        field("name", opt(&self.name, name))?;
        field("details", opt(&self.details, text))
    }
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
