//! The file of a person held (Mandela Rule 8): complaints and their answers, disciplinary
//! sanctions, injuries observed during detention.

use serde::{Deserialize, Serialize};

use super::check::*;
use crate::hash::Hash;
use crate::time::Timestamp;

/// Who lodged a complaint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplainantType {
    /// The person held.
    Detainee,
    /// Their counsel.
    Counsel,
    /// A relative.
    Family,
    /// Anyone else on their behalf (Mandela Rule 56(4)).
    Other,
}

/// To whom a complaint is addressed (Mandela Rules 56-57).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintAddressee {
    /// The director of the facility.
    FacilityDirector,
    /// The prison administration (direction nationale).
    PrisonAdministration,
    /// The prosecutor.
    Prosecutor,
    /// The investigating judge.
    InvestigatingJudge,
    /// An inspection or oversight body.
    InspectionBody,
    /// The national human rights commission.
    HumanRightsCommission,
    /// Anyone else (see `addressee`).
    Other,
}

/// What a complaint is about (a category; the text says the rest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintSubject {
    /// Torture or ill-treatment.
    IllTreatment,
    /// Conditions of detention (space, food, water, hygiene).
    Conditions,
    /// Health care.
    HealthCare,
    /// A disciplinary measure.
    Discipline,
    /// The legal process (length of detention, access to a judge).
    LegalProcess,
    /// Access to counsel.
    AccessToCounsel,
    /// Contact with family.
    FamilyContact,
    /// Property kept by the facility.
    Property,
    /// Anything else.
    Other,
}

/// A complaint is lodged by or for the person held (Mandela Rules 56-57).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintLodged {
    /// Who lodged it.
    pub lodged_by: ComplainantType,
    /// To whom it is addressed.
    pub addressed_to: ComplaintAddressee,
    /// The addressee by name (an office, not a person), if useful.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addressee: Option<String>,
    /// What it is about.
    pub subject: ComplaintSubject,
    /// When it was lodged.
    pub lodged_at: Timestamp,
    /// The complaint as made.
    pub complaint: String,
}

impl Check for ComplaintLodged {
    fn check(&self) -> Checked {
        field("addressee", opt(&self.addressee, name))?;
        field("complaint", text(&self.complaint))
    }
}

/// What came of a complaint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComplaintOutcome {
    /// Upheld.
    Upheld,
    /// Partly upheld.
    PartlyUpheld,
    /// Rejected.
    Rejected,
    /// Referred to another authority (see `answer`).
    Referred,
    /// An investigation is opened (Mandela Rule 57(3)).
    InvestigationOpened,
}

/// A complaint is answered (Mandela Rule 57(1): promptly).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplaintAnswered {
    /// Hash of the `complaint_lodged` event answered.
    pub complaint_event: Hash,
    /// The authority that answers.
    pub answered_by: String,
    /// When.
    pub answered_at: Timestamp,
    /// Outcome.
    pub outcome: ComplaintOutcome,
    /// The answer as given.
    pub answer: String,
}

impl Check for ComplaintAnswered {
    fn check(&self) -> Checked {
        field("answered_by", name(&self.answered_by))?;
        field("answer", text(&self.answer))
    }
}

/// The kind of a disciplinary sanction (Mandela Rules 36-46).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SanctionType {
    /// A warning.
    Warning,
    /// Loss of privileges (canteen, activities).
    LossOfPrivileges,
    /// Restriction of family contact (Mandela Rule 43(3): never a prohibition).
    RestrictionOfContact,
    /// Confinement to the person's own cell.
    CellConfinement,
    /// Solitary confinement: 22 hours or more a day without meaningful human contact
    /// (Mandela Rule 44; more than 15 consecutive days is prohibited, Rule 43(1)(b)).
    SolitaryConfinement,
    /// Disciplinary transfer.
    Transfer,
    /// Anything else (see `sanction_details`).
    Other,
}

/// A disciplinary sanction is decided (Mandela Rules 36-46). Recorded as it happened, lawful or
/// not: a solitary confinement of more than 15 days is stored as the fact it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisciplinarySanction {
    /// Id of the facility.
    pub facility: String,
    /// The disciplinary offence found.
    pub offence_found: String,
    /// The sanction.
    pub sanction: SanctionType,
    /// The sanction as pronounced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sanction_details: Option<String>,
    /// When it starts.
    pub start: Timestamp,
    /// How many days it lasts (1-3650), for a sanction with a duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    /// Who decided (disciplinary board, director).
    pub decided_by: String,
    /// Whether the person was heard before the decision (Mandela Rule 39(1), 41(2)).
    pub hearing_held: bool,
    /// Whether the person was told how to appeal (Mandela Rule 41(4)).
    pub appeal_informed: bool,
    /// When an appeal was lodged, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appeal_lodged_at: Option<Timestamp>,
}

impl Check for DisciplinarySanction {
    fn check(&self) -> Checked {
        field("facility", slug(&self.facility))?;
        field("offence_found", text(&self.offence_found))?;
        field("sanction_details", opt(&self.sanction_details, text))?;
        if let Some(d) = self.days {
            field("days", range(d, 1, 3650))?;
        }
        field("decided_by", name(&self.decided_by))
    }
}

/// How serious an injury is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InjurySeverity {
    /// Minor.
    Minor,
    /// Moderate.
    Moderate,
    /// Serious.
    Serious,
    /// Life-threatening.
    LifeThreatening,
}

/// Restricted: an injury is observed during detention (Mandela Rules 8(d), 30(b), 34).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InjuryRecorded {
    /// When it was observed.
    pub observed_at: Timestamp,
    /// Who observed it.
    pub observed_by: String,
    /// The injury, documented.
    pub description: String,
    /// Severity.
    pub severity: InjurySeverity,
    /// The cause as the person states it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause_stated: Option<String>,
    /// Whether the person alleges ill-treatment.
    pub ill_treatment_alleged: bool,
    /// Whether it was reported to a prosecutor or another judicial authority (Mandela Rule 34).
    pub reported_to_prosecutor: bool,
    /// Treatment given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treatment: Option<String>,
}

impl Check for InjuryRecorded {
    fn check(&self) -> Checked {
        field("observed_by", name(&self.observed_by))?;
        field("description", text(&self.description))?;
        field("cause_stated", opt(&self.cause_stated, text))?;
        field("treatment", opt(&self.treatment, text))
    }
}

/// Counsel (avocat) is appointed or chosen for the person: the lawyer's enrolled key may then
/// read the payloads of the chain that are not restricted (Mandela Rule 8; `docs/SPEC.md`
/// section 9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounselAppointed {
    /// The key id of the lawyer's enrolled key (role `counsel`).
    pub counsel_key: crate::keys::PublicKeyId,
    /// The lawyer's name.
    pub counsel_name: String,
    /// Bar registration number, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bar_number: Option<String>,
    /// Whether chosen by the person (or their family) rather than appointed (commis d'office).
    pub chosen_by_detainee: bool,
    /// The authority that records the appointment.
    pub authority: String,
    /// End of the appointment, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
}

impl Check for CounselAppointed {
    fn check(&self) -> Checked {
        field("counsel_name", name(&self.counsel_name))?;
        field("bar_number", opt(&self.bar_number, reference))?;
        field("authority", name(&self.authority))
    }
}

#[cfg(test)]
mod tests {
    use crate::kinds::{parse_body, EventKind};
    use serde_json::json;

    #[test]
    fn missing_fields_of_the_rule_8_file_are_explained() {
        let injury = json!({"observed_at": "2019-06-02T08:15:00Z", "observed_by": "infirmier",
                            "severity": "minor", "ill_treatment_alleged": false,
                            "reported_to_prosecutor": false});
        let e = parse_body(EventKind::InjuryRecorded, &injury).expect_err("no description");
        assert_eq!(e.path, "/description");
        assert!(e.message.contains("document the injury"), "{}", e.message);
        let sanction = json!({"facility": "mca-bamako", "offence_found": "o", "sanction": "warning",
                              "start": "2020-02-01T08:00:00Z", "decided_by": "d",
                              "appeal_informed": true});
        let e = parse_body(EventKind::DisciplinarySanction, &sanction).expect_err("no hearing");
        assert_eq!(e.path, "/hearing_held");
        assert!(e.message.contains("Mandela Rule 39"), "{}", e.message);
    }

    #[test]
    fn a_solitary_confinement_beyond_15_days_is_a_valid_body() {
        let sanction = json!({"facility": "mca-bamako", "offence_found": "fight",
                              "sanction": "solitary_confinement", "start": "2020-02-01T08:00:00Z",
                              "days": 45, "decided_by": "commission de discipline",
                              "hearing_held": false, "appeal_informed": false});
        assert!(parse_body(EventKind::DisciplinarySanction, &sanction).is_ok());
    }
}
