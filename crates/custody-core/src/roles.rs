//! Roles held by enrolled keys, and which role may write which kind.
//!
//! Which roles may write a kind is a column of the kind table in [`crate::kinds`], read here by
//! [`roles_for`]; the table is part of the public contract and is reproduced in `docs/SPEC.md`.

use std::fmt;
use std::str::FromStr;

use crate::kinds::EventKind;

macro_rules! roles {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, )*) => {
        /// A role an enrolled key holds (`key_enrolled.roles`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Role { $( $(#[$doc])* $variant, )* }

        impl Role {
            /// Every role.
            pub const ALL: &'static [Role] = &[ $( Role::$variant, )* ];
            /// The wire name.
            pub const fn as_str(self) -> &'static str {
                match self { $( Role::$variant => $name, )* }
            }
        }

        impl FromStr for Role {
            type Err = UnknownRole;
            fn from_str(s: &str) -> Result<Self, UnknownRole> {
                match s { $( $name => Ok(Role::$variant), )* _ => Err(UnknownRole(s.to_string())) }
            }
        }
    };
}

roles! {
    /// Member of a military or police unit who arrests and hands over.
    ArrestingOfficer = "arresting_officer",
    /// Judicial police officer (officier de police judiciaire): places in police custody.
    JudicialPoliceOfficer = "judicial_police_officer",
    /// Prosecutor (procureur).
    Prosecutor = "prosecutor",
    /// Investigating judge (juge d'instruction) or liberty and detention judge.
    InvestigatingJudge = "investigating_judge",
    /// Court clerk (greffier) of a court or of the judicial pole.
    CourtClerk = "court_clerk",
    /// Prison registrar (greffe pénitentiaire, bureau aux fichiers).
    Registrar = "registrar",
    /// Doctor or nurse.
    Medical = "medical",
    /// Independent monitor (human rights commission, ICRC, UN).
    Monitor = "monitor",
    /// Defence counsel (avocat): writes nothing; reads the open payloads of the chains for
    /// which a `counsel_appointed` naming the key is in force.
    Counsel = "counsel",
}

/// A role name that wire format v1 does not define.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}")]
pub struct UnknownRole(pub String);

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The roles allowed to write a detainee-chain kind. Authority kinds are written by trust-anchor
/// keys only and return an empty slice. A `correction` is also limited to the roles allowed to
/// write the kind it corrects (checked by the validator).
pub fn roles_for(kind: EventKind) -> &'static [Role] {
    kind.writers()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_detainee_kind_has_a_writer_and_authority_kinds_none() {
        for k in EventKind::ALL {
            assert_eq!(roles_for(*k).is_empty(), k.is_authority(), "{k}");
        }
        assert!(!roles_for(EventKind::MedicalScreening).contains(&Role::Registrar));
        assert_eq!("registrar".parse::<Role>().unwrap(), Role::Registrar);
    }
}

/// Who may read a payload, beyond its header (which every enrolled key may read).
///
/// - Restricted kinds (`medical_screening`, `risk_assessment`, `injury_recorded`): medical
///   staff, and the registrar of the agency holding the person (`reader_is_holder`).
/// - Monitors read headers only: they check that nobody disappears without reading personal
///   data. A monitor may read the payload of a `visit` recorded by its own agency.
/// - Every other payload: the roles of the justice chain (arresting officer, judicial police
///   officer, prosecutor, investigating judge, court clerk, registrar, medical).
/// - Counsel reads no payload by role alone: see [`may_read_payload_as_counsel`], which needs
///   the chain's appointment ([`crate::chain::ChainState::counsel_appointed`]).
pub fn may_read_payload(
    kind: EventKind,
    reader_roles: &[Role],
    reader_is_holder: bool,
    reader_is_author_agency: bool,
) -> bool {
    if kind.is_restricted() {
        return reader_roles.contains(&Role::Medical)
            || (reader_is_holder && reader_roles.contains(&Role::Registrar));
    }
    if kind == EventKind::Visit && reader_is_author_agency && reader_roles.contains(&Role::Monitor)
    {
        return true;
    }
    reader_roles
        .iter()
        .any(|r| !matches!(r, Role::Monitor | Role::Counsel))
}

/// Whether counsel may read a payload of a chain: only while a `counsel_appointed` naming
/// counsel's key is in force on that chain (`appointed`), and never a restricted (medical or
/// risk) payload: the person's own file (Mandela Rule 8) is open to their lawyer, their medical
/// file stays with medical staff.
pub fn may_read_payload_as_counsel(kind: EventKind, appointed: bool) -> bool {
    appointed && !kind.is_restricted()
}

/// [`may_read_payload`] for a reader who may also be appointed counsel on the chain
/// (`counsel_appointed`: whether a `counsel_appointed` naming the reader's key is in force).
pub fn may_read_payload_on_chain(
    kind: EventKind,
    reader_roles: &[Role],
    reader_is_holder: bool,
    reader_is_author_agency: bool,
    counsel_appointed: bool,
) -> bool {
    may_read_payload(
        kind,
        reader_roles,
        reader_is_holder,
        reader_is_author_agency,
    ) || (reader_roles.contains(&Role::Counsel)
        && may_read_payload_as_counsel(kind, counsel_appointed))
}

#[cfg(test)]
mod read_tests {
    use super::*;

    #[test]
    fn restricted_payloads_need_medical_or_holding_registrar() {
        let k = EventKind::MedicalScreening;
        assert!(may_read_payload(k, &[Role::Medical], false, false));
        assert!(may_read_payload(k, &[Role::Registrar], true, false));
        assert!(!may_read_payload(k, &[Role::Registrar], false, false));
        assert!(!may_read_payload(
            k,
            &[Role::Prosecutor, Role::CourtClerk],
            true,
            true
        ));
    }

    #[test]
    fn counsel_reads_open_payloads_of_appointed_chains_only() {
        let c = [Role::Counsel];
        assert!(!may_read_payload(EventKind::Arrest, &c, false, false));
        assert!(!may_read_payload_on_chain(
            EventKind::Arrest,
            &c,
            false,
            false,
            false
        ));
        assert!(may_read_payload_on_chain(
            EventKind::Arrest,
            &c,
            false,
            false,
            true
        ));
        for k in [
            EventKind::MedicalScreening,
            EventKind::RiskAssessment,
            EventKind::InjuryRecorded,
        ] {
            assert!(!may_read_payload_as_counsel(k, true), "{k}");
            assert!(!may_read_payload_on_chain(k, &c, true, true, true), "{k}");
        }
        assert!(may_read_payload_as_counsel(
            EventKind::ComplaintLodged,
            true
        ));
        assert!(may_read_payload_as_counsel(
            EventKind::DisciplinarySanction,
            true
        ));
        // Counsel writes nothing.
        for k in EventKind::ALL {
            assert!(!roles_for(*k).contains(&Role::Counsel), "{k}");
        }
    }

    #[test]
    fn monitors_read_headers_only() {
        assert!(!may_read_payload(
            EventKind::Arrest,
            &[Role::Monitor],
            false,
            false
        ));
        assert!(may_read_payload(
            EventKind::Visit,
            &[Role::Monitor],
            false,
            true
        ));
        assert!(may_read_payload(
            EventKind::Arrest,
            &[Role::CourtClerk],
            false,
            false
        ));
    }
}
