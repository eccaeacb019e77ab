//! Event kinds and their bodies.
//!
//! [`EventKind`] names every kind of wire format v1. Each kind has a body type in [`bodies`]
//! and a JSON Schema (draft 2020-12) in `schemas/` at the top of the repository; tests prove
//! the two agree. Validation parses a payload body into its Rust type with
//! [`bodies::parse_body`], so the Rust types are what the validator enforces.
//!
//! The kinds are listed once, in the kind table of this module (the `kinds!` invocation): one row
//! per kind gives its variant, wire name, body type, chain, whether its payload is restricted, and
//! the roles allowed to write it. The table generates [`EventKind`] (with [`EventKind::ALL`],
//! [`EventKind::is_authority`], [`EventKind::is_restricted`]), [`Body`], [`parse_body`],
//! [`body_fields`] and the role table read by [`crate::roles::roles_for`]. Adding a kind is one
//! row here, its body type and checks in a module of [`bodies`], its schema
//! `schemas/<kind>.schema.json` and its examples in `schemas/examples/<kind>/` (the schema tests
//! fail until both exist); its facts, if it has any, are listed in [`crate::facts`].

pub mod bodies;

pub use bodies::BodyError;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;

use crate::roles::Role;

/// Which chain a kind belongs on (the `chain` column of the kind table).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Chain {
    /// The `authority` chain.
    Authority,
    /// A detainee chain.
    Detainee,
}

/// Who may read a kind's payload beyond its header (the `payload` column of the kind table).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Payload {
    /// The roles of the justice chain ([`crate::roles::may_read_payload`]).
    Open,
    /// Medical staff and the registrar of the agency holding the person only.
    Restricted,
}

/// Generates everything that lists the kinds from the one table below: [`EventKind`] and its
/// wire names, [`Body`], [`parse_body`], [`body_fields`] and the writers of each kind.
macro_rules! kinds {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $name:literal, $body:ty, $chain:ident, $payload:ident, $writers:expr;
    )*) => {
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

            /// Whether this kind belongs on the `authority` chain (otherwise on a detainee chain).
            pub const fn is_authority(self) -> bool {
                match self {
                    $( EventKind::$variant => matches!(Chain::$chain, Chain::Authority), )*
                }
            }

            /// Whether the payload of this kind is restricted (medical and risk data: only medical
            /// staff and the registrar of the facility holding the person may read it).
            pub const fn is_restricted(self) -> bool {
                match self {
                    $( EventKind::$variant => matches!(Payload::$payload, Payload::Restricted), )*
                }
            }

            /// The roles allowed to write this kind (public as [`crate::roles::roles_for`]).
            pub(crate) const fn writers(self) -> &'static [Role] {
                use Role::*;
                match self { $( EventKind::$variant => $writers, )* }
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

        /// The body of an event, one variant per [`EventKind`].
        // A body is parsed once per event and lives briefly: boxing would cost more than the
        // size difference between variants.
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Body {
            $(
                #[doc = concat!("Body of [`EventKind::", stringify!($variant), "`].")]
                $variant($body),
            )*
        }

        impl Body {
            /// The kind of event this body belongs to.
            pub fn kind(&self) -> EventKind {
                match self { $( Body::$variant(_) => EventKind::$variant, )* }
            }

            /// The body as a JSON value (what `payload.body` holds).
            pub fn to_value(&self) -> Value {
                match self { $( Body::$variant(b) => bodies::value_of(b), )* }
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
            match kind {
                $( EventKind::$variant => bodies::parse::<$body>(kind, body).map(Body::$variant), )*
            }
        }

        /// The top-level field names of a kind's body (the `properties` of its schema).
        pub fn body_fields(kind: EventKind) -> &'static [&'static str] {
            match kind { $( EventKind::$variant => bodies::field_names::<$body>(), )* }
        }
    };
}

// The kind table: one row per kind, in the order of `docs/SPEC.md` section 8.
//
//     Variant = "wire_name", body type, chain, payload, roles allowed to write it (section 9);
//
// Authority kinds are written by trust-anchor keys only: no role. A `correction` is also limited
// to the roles allowed to write the kind it corrects (checked by the validator).
kinds! {
    /// Authority chain: an agency (force, unit, prison, court, monitor...) is registered.
    AgencyRegistered = "agency_registered", bodies::AgencyRegistered,
        Authority, Open, &[];
    /// Authority chain: a facility (place of detention) is registered.
    FacilityRegistered = "facility_registered", bodies::FacilityRegistered,
        Authority, Open, &[];
    /// Authority chain: a signing key is enrolled for an agency with roles.
    KeyEnrolled = "key_enrolled", bodies::KeyEnrolled,
        Authority, Open, &[];
    /// Authority chain: a signing key is revoked.
    KeyRevoked = "key_revoked", bodies::KeyRevoked,
        Authority, Open, &[];
    /// A person is deprived of liberty; the first event of every detainee chain.
    Arrest = "arrest", bodies::Arrest,
        Detainee, Open, &[ArrestingOfficer, JudicialPoliceOfficer];
    /// The holding agency releases custody to a named receiving agency (first half of a handover).
    CustodyReleased = "custody_released", bodies::CustodyReleased,
        Detainee, Open, &[ArrestingOfficer, JudicialPoliceOfficer, Registrar];
    /// The receiving agency accepts custody (second half of a handover).
    CustodyAccepted = "custody_accepted", bodies::CustodyAccepted,
        Detainee, Open, &[ArrestingOfficer, JudicialPoliceOfficer, Registrar];
    /// A judicial police officer places the person in police custody (garde à vue).
    PoliceCustodyStarted = "police_custody_started", bodies::PoliceCustodyStarted,
        Detainee, Open, &[JudicialPoliceOfficer];
    /// Police custody is extended on written authorisation.
    PoliceCustodyExtended = "police_custody_extended", bodies::PoliceCustodyExtended,
        Detainee, Open, &[JudicialPoliceOfficer, Prosecutor, InvestigatingJudge];
    /// The person is questioned.
    Questioning = "questioning", bodies::Questioning,
        Detainee, Open, &[JudicialPoliceOfficer];
    /// Decision on the destination facility and security classification.
    PlacementDecision = "placement_decision", bodies::PlacementDecision,
        Detainee, Open, &[JudicialPoliceOfficer, Prosecutor];
    /// The person is brought before a judicial authority.
    JudicialAppearance = "judicial_appearance", bodies::JudicialAppearance,
        Detainee, Open, &[Prosecutor, InvestigatingJudge, CourtClerk];
    /// The person is charged.
    Charged = "charged", bodies::Charged,
        Detainee, Open, &[Prosecutor, InvestigatingJudge];
    /// A detention (committal) order is issued.
    DetentionOrder = "detention_order", bodies::DetentionOrder,
        Detainee, Open, &[InvestigatingJudge, CourtClerk];
    /// A detention order is extended by a reasoned order.
    DetentionExtended = "detention_extended", bodies::DetentionExtended,
        Detainee, Open, &[InvestigatingJudge, CourtClerk];
    /// The person is admitted to a facility on a commitment order.
    Admission = "admission", bodies::Admission,
        Detainee, Open, &[Registrar];
    /// Restricted: medical screening (Mandela Rules 30, 34).
    MedicalScreening = "medical_screening", bodies::MedicalScreening,
        Detainee, Restricted, &[Medical];
    /// Restricted: security risk assessment.
    RiskAssessment = "risk_assessment", bodies::RiskAssessment,
        Detainee, Restricted, &[Registrar];
    /// A hearing is scheduled.
    HearingScheduled = "hearing_scheduled", bodies::HearingScheduled,
        Detainee, Open, &[Prosecutor, InvestigatingJudge, CourtClerk];
    /// A hearing took place (or the person was not produced).
    HearingHeld = "hearing_held", bodies::HearingHeld,
        Detainee, Open, &[InvestigatingJudge, CourtClerk];
    /// A judgment is given.
    Judgment = "judgment", bodies::Judgment,
        Detainee, Open, &[CourtClerk];
    /// The person is released.
    Release = "release", bodies::Release,
        Detainee, Open, &[ArrestingOfficer, JudicialPoliceOfficer, Registrar];
    /// Family (or next of kin) is notified.
    FamilyNotified = "family_notified", bodies::FamilyNotified,
        Detainee, Open, &[ArrestingOfficer, JudicialPoliceOfficer, Registrar];
    /// A visit by family, counsel, ICRC or clergy.
    Visit = "visit", bodies::Visit,
        Detainee, Open, &[Registrar, Monitor];
    /// A complaint is lodged by or for the person held (Mandela Rules 8(c), 56-57).
    ComplaintLodged = "complaint_lodged", bodies::ComplaintLodged,
        Detainee, Open, &[JudicialPoliceOfficer, Prosecutor, InvestigatingJudge, Registrar];
    /// A complaint is answered (Mandela Rule 57).
    ComplaintAnswered = "complaint_answered", bodies::ComplaintAnswered,
        Detainee, Open, &[
            JudicialPoliceOfficer, Prosecutor, InvestigatingJudge, CourtClerk, Registrar,
        ];
    /// A disciplinary sanction is decided (Mandela Rules 8(b), 36-46).
    DisciplinarySanction = "disciplinary_sanction", bodies::DisciplinarySanction,
        Detainee, Open, &[Registrar];
    /// Restricted: an injury observed during detention (Mandela Rules 8(d), 30, 34).
    InjuryRecorded = "injury_recorded", bodies::InjuryRecorded,
        Detainee, Restricted, &[Medical, Registrar];
    /// Evidence is attached by digest.
    EvidenceAdded = "evidence_added", bodies::EvidenceAdded,
        Detainee, Open, &[
            ArrestingOfficer, JudicialPoliceOfficer, Prosecutor, InvestigatingJudge, CourtClerk,
        ];
    /// The person died in custody.
    DeathInCustody = "death_in_custody", bodies::DeathInCustody,
        Detainee, Open, &[Registrar, Medical, JudicialPoliceOfficer];
    /// The person escaped.
    Escape = "escape", bodies::Escape,
        Detainee, Open, &[ArrestingOfficer, JudicialPoliceOfficer, Registrar];
    /// A previous event is corrected (events are never edited).
    Correction = "correction", bodies::Correction,
        Detainee, Open, &[
            ArrestingOfficer, JudicialPoliceOfficer, Prosecutor, InvestigatingJudge, CourtClerk,
            Registrar, Medical, Monitor,
        ];
    /// Two detainee chains are the same person.
    IdentityLinked = "identity_linked", bodies::IdentityLinked,
        Detainee, Open, &[JudicialPoliceOfficer, Registrar, CourtClerk];
    /// A reasoned, time-limited restriction of relatives' access (ICPPED art. 20).
    AccessRestricted = "access_restricted", bodies::AccessRestricted,
        Detainee, Open, &[Prosecutor, InvestigatingJudge];
    /// Counsel is appointed or chosen: the lawyer's key may read the chain's open payloads.
    CounselAppointed = "counsel_appointed", bodies::CounselAppointed,
        Detainee, Open, &[Prosecutor, InvestigatingJudge, CourtClerk];
    /// A payload was lawfully removed.
    Redaction = "redaction", bodies::Redaction,
        Detainee, Open, &[InvestigatingJudge, CourtClerk];
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
        assert_eq!(EventKind::ALL.len(), 36);
        assert!("Arrest".parse::<EventKind>().is_err());
    }
}
