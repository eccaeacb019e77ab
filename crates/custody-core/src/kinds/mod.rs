//! Event kinds and their bodies.
//!
//! [`EventKind`] names every kind of wire format v1. Each kind has a body type in [`bodies`]
//! and a JSON Schema (draft 2020-12) in `schemas/` at the top of the repository; tests prove
//! the two agree. Validation parses a payload body into its Rust type with
//! [`bodies::parse_body`], so the Rust types are what the validator enforces.

pub mod bodies;

pub use bodies::{body_fields, parse_body, Body, BodyError};

use std::fmt;
use std::str::FromStr;

macro_rules! event_kinds {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, )*) => {
        /// The kind of an event (`header.kind`), written in snake_case on the wire.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventKind {
            $( $(#[$doc])* $variant, )*
        }

        impl EventKind {
            /// Every kind, in the order of the specification.
            pub const ALL: &'static [EventKind] = &[ $( EventKind::$variant, )* ];

            /// The wire name of the kind.
            pub const fn as_str(self) -> &'static str {
                match self { $( EventKind::$variant => $name, )* }
            }
        }

        impl FromStr for EventKind {
            type Err = UnknownKind;
            fn from_str(s: &str) -> Result<Self, UnknownKind> {
                match s {
                    $( $name => Ok(EventKind::$variant), )*
                    _ => Err(UnknownKind(s.to_string())),
                }
            }
        }
    };
}

event_kinds! {
    /// Authority chain: an agency (force, unit, prison, court, monitor...) is registered.
    AgencyRegistered = "agency_registered",
    /// Authority chain: a facility (place of detention) is registered.
    FacilityRegistered = "facility_registered",
    /// Authority chain: a signing key is enrolled for an agency with roles.
    KeyEnrolled = "key_enrolled",
    /// Authority chain: a signing key is revoked.
    KeyRevoked = "key_revoked",
    /// A person is deprived of liberty; the first event of every detainee chain.
    Arrest = "arrest",
    /// The holding agency releases custody to a named receiving agency (first half of a handover).
    CustodyReleased = "custody_released",
    /// The receiving agency accepts custody (second half of a handover).
    CustodyAccepted = "custody_accepted",
    /// A judicial police officer places the person in police custody (garde à vue).
    PoliceCustodyStarted = "police_custody_started",
    /// Police custody is extended on written authorisation.
    PoliceCustodyExtended = "police_custody_extended",
    /// The person is questioned.
    Questioning = "questioning",
    /// Decision on the destination facility and security classification.
    PlacementDecision = "placement_decision",
    /// The person is brought before a judicial authority.
    JudicialAppearance = "judicial_appearance",
    /// The person is charged.
    Charged = "charged",
    /// A detention (committal) order is issued.
    DetentionOrder = "detention_order",
    /// A detention order is extended by a reasoned order.
    DetentionExtended = "detention_extended",
    /// The person is admitted to a facility on a commitment order.
    Admission = "admission",
    /// Restricted: medical screening (Mandela Rules 30, 34).
    MedicalScreening = "medical_screening",
    /// Restricted: security risk assessment.
    RiskAssessment = "risk_assessment",
    /// A hearing is scheduled.
    HearingScheduled = "hearing_scheduled",
    /// A hearing took place (or the person was not produced).
    HearingHeld = "hearing_held",
    /// A judgment is given.
    Judgment = "judgment",
    /// The person is released.
    Release = "release",
    /// Family (or next of kin) is notified.
    FamilyNotified = "family_notified",
    /// A visit by family, counsel, ICRC or clergy.
    Visit = "visit",
    /// Evidence is attached by digest.
    EvidenceAdded = "evidence_added",
    /// The person died in custody.
    DeathInCustody = "death_in_custody",
    /// The person escaped.
    Escape = "escape",
    /// A previous event is corrected (events are never edited).
    Correction = "correction",
    /// Two detainee chains are the same person.
    IdentityLinked = "identity_linked",
    /// A reasoned, time-limited restriction of relatives' access (ICPPED art. 20).
    AccessRestricted = "access_restricted",
    /// A payload was lawfully removed.
    Redaction = "redaction",
}

impl EventKind {
    /// Whether this kind belongs on the `authority` chain (otherwise on a detainee chain).
    pub const fn is_authority(self) -> bool {
        matches!(
            self,
            EventKind::AgencyRegistered
                | EventKind::FacilityRegistered
                | EventKind::KeyEnrolled
                | EventKind::KeyRevoked
        )
    }

    /// Whether the payload of this kind is restricted (medical and risk data: only medical staff
    /// and the registrar of the facility holding the person may read it).
    pub const fn is_restricted(self) -> bool {
        matches!(
            self,
            EventKind::MedicalScreening | EventKind::RiskAssessment
        )
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A `kind` that wire format v1 does not define.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown event kind {0:?}")]
pub struct UnknownKind(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>().unwrap(), *k);
        }
        assert_eq!(EventKind::ALL.len(), 31);
        assert!("Arrest".parse::<EventKind>().is_err());
    }
}
