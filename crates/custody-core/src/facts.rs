//! Public facts: the few values of a body that later rules need, signed in the header.
//!
//! A lawful redaction removes a payload; the header stays. Every value that a rule reads from
//! an *earlier* record (which agency a release named, which order an admission rests on and
//! until when that order is valid, which record a correction corrects) is therefore copied into
//! the header's `facts` member when the record is signed, so that a ledger stays verifiable
//! after any redaction. Facts hold no personal data: agency and facility ids, event hashes,
//! chain ids, instants of validity, and a few enumerated values. References between records
//! are event hashes, never the documents' own reference numbers.
//!
//! The facts of a record are exactly the *projection* of its body onto its kind's fact fields
//! ([`fact_fields`]): every fact field present in the body, with the same value, and nothing
//! else. When the payload is present, the validator checks that equality (rule `facts`); when
//! it is absent, the facts still carry what the state rules need. The table here is the one in
//! `docs/SPEC.md` section 8.

use serde_json::{Map, Value};

use crate::hash::Hash;
use crate::ids::{is_detainee_chain_id, is_valid_slug};
use crate::kinds::EventKind;
use crate::record::FormatError;
use crate::time::Timestamp;

/// The type of a fact value, as spelled in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactType {
    /// An agency or facility id (section 2).
    Slug,
    /// An event hash: 64 lowercase hex characters.
    Hash,
    /// A timestamp (section 2).
    Timestamp,
    /// A chain id (section 2).
    ChainId,
    /// `true` or `false`.
    Bool,
    /// One of a fixed list of strings.
    OneOf(&'static [&'static str]),
    /// The name of an authority or court as documents write it (`$defs/name`: 1 to 200
    /// characters, not only whitespace).
    Name,
    /// A document reference such as a case number (`$defs/ref`: 1 to 100 characters, not only
    /// whitespace).
    Ref,
    /// A public key id (`ed25519:` and 43 characters of unpadded base64url).
    PublicKey,
    /// A whole number of days, 1 to 3650.
    Days,
}

/// One fact field of a kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FactField {
    /// Its name, the same in the body and in the facts.
    pub name: &'static str,
    /// Its type.
    pub ty: FactType,
    /// Whether every record of the kind has it (its body schema requires it).
    pub required: bool,
}

const fn req(name: &'static str, ty: FactType) -> FactField {
    FactField {
        name,
        ty,
        required: true,
    }
}

const fn opt(name: &'static str, ty: FactType) -> FactField {
    FactField {
        name,
        ty,
        required: false,
    }
}

/// The values of `detention_order.offence_class`.
pub const OFFENCE_CLASSES: &[&str] = &["misdemeanour_up_to_2y", "misdemeanour_over_2y", "crime"];
/// The values of `judgment.outcome`.
pub const JUDGMENT_OUTCOMES: &[&str] = &[
    "convicted",
    "acquitted",
    "dismissed",
    "released_pending_trial",
];

/// The values of `legal_status` (`admission`, `custody_released`).
pub const LEGAL_STATUSES: &[&str] = &[
    "arrested",
    "police_custody",
    "pre_trial_detention",
    "convicted_not_final",
    "convicted_final",
];
/// The values of `hearing_scheduled.purpose`.
pub const HEARING_PURPOSES: &[&str] = &[
    "investigation",
    "detention_review",
    "trial",
    "appeal",
    "judgment",
    "other",
];
/// The values of `hearing_held.outcome`.
pub const HEARING_OUTCOMES: &[&str] = &[
    "adjourned",
    "detention_maintained",
    "released",
    "judgment_reserved",
    "judgment_delivered",
    "other",
];
/// The values of `judicial_appearance.outcome`.
pub const APPEARANCE_OUTCOMES: &[&str] = &[
    "remanded_in_custody",
    "returned_to_police_custody",
    "judicial_supervision",
    "released",
    "other",
];

/// The values of `complaint_lodged.lodged_by`.
pub const COMPLAINANTS: &[&str] = &["detainee", "counsel", "family", "other"];
/// The values of `complaint_lodged.addressed_to`.
pub const COMPLAINT_ADDRESSEES: &[&str] = &[
    "facility_director",
    "prison_administration",
    "prosecutor",
    "investigating_judge",
    "inspection_body",
    "human_rights_commission",
    "other",
];
/// The values of `complaint_lodged.subject`.
pub const COMPLAINT_SUBJECTS: &[&str] = &[
    "ill_treatment",
    "conditions",
    "health_care",
    "discipline",
    "legal_process",
    "access_to_counsel",
    "family_contact",
    "property",
    "other",
];
/// The values of `complaint_answered.outcome`.
pub const COMPLAINT_OUTCOMES: &[&str] = &[
    "upheld",
    "partly_upheld",
    "rejected",
    "referred",
    "investigation_opened",
];
/// The values of `disciplinary_sanction.sanction`.
pub const SANCTIONS: &[&str] = &[
    "warning",
    "loss_of_privileges",
    "restriction_of_contact",
    "cell_confinement",
    "solitary_confinement",
    "transfer",
    "other",
];
/// The values of `injury_recorded.severity`.
pub const INJURY_SEVERITIES: &[&str] = &["minor", "moderate", "serious", "life_threatening"];

use FactType as T;
const CUSTODY_RELEASED: &[FactField] = &[
    req("to_agency", T::Slug),
    opt("to_facility", T::Slug),
    req("legal_status", T::OneOf(LEGAL_STATUSES)),
];
const CUSTODY_ACCEPTED: &[FactField] = &[req("release_event", T::Hash), opt("facility", T::Slug)];
/// The values of `police_custody_started.regime`.
pub const CUSTODY_REGIMES: &[&str] = &["ordinary", "terrorism"];
const POLICE_CUSTODY_STARTED: &[FactField] = &[
    req("facility", T::Slug),
    req("regime", T::OneOf(CUSTODY_REGIMES)),
];
const PLACEMENT_DECISION: &[FactField] = &[req("destination_facility", T::Slug)];
const JUDICIAL_APPEARANCE: &[FactField] = &[
    req("authority", T::Name),
    req("appeared_at", T::Timestamp),
    req("outcome", T::OneOf(APPEARANCE_OUTCOMES)),
];
const CHARGED: &[FactField] = &[req("authority", T::Name), req("case_ref", T::Ref)];
const DETENTION_ORDER: &[FactField] = &[
    req("issuing_authority", T::Name),
    req("offence_class", T::OneOf(OFFENCE_CLASSES)),
    req("start", T::Timestamp),
    req("valid_until", T::Timestamp),
    opt("case_ref", T::Ref),
    opt("facility", T::Slug),
];
const DETENTION_EXTENDED: &[FactField] = &[
    req("order_event", T::Hash),
    req("valid_until", T::Timestamp),
];
const ADMISSION: &[FactField] = &[
    req("facility", T::Slug),
    req("commitment_order_event", T::Hash),
    req("legal_status", T::OneOf(LEGAL_STATUSES)),
];
const HEARING_SCHEDULED: &[FactField] = &[
    req("court", T::Name),
    req("hearing_at", T::Timestamp),
    req("case_ref", T::Ref),
    req("purpose", T::OneOf(HEARING_PURPOSES)),
];
const HEARING_HELD: &[FactField] = &[
    req("court", T::Name),
    req("hearing_at", T::Timestamp),
    req("case_ref", T::Ref),
    req("produced", T::Bool),
    req("outcome", T::OneOf(HEARING_OUTCOMES)),
    opt("next_hearing_at", T::Timestamp),
    opt("scheduled_event", T::Hash),
];
const JUDGMENT: &[FactField] = &[
    req("court", T::Name),
    req("outcome", T::OneOf(JUDGMENT_OUTCOMES)),
    req("custodial", T::Bool),
];
const ACCESS_RESTRICTED: &[FactField] = &[
    req("authority", T::Name),
    req("until", T::Timestamp),
    opt("reviewing_authority", T::Name),
];
const COMPLAINT_LODGED: &[FactField] = &[
    req("lodged_by", T::OneOf(COMPLAINANTS)),
    req("addressed_to", T::OneOf(COMPLAINT_ADDRESSEES)),
    req("subject", T::OneOf(COMPLAINT_SUBJECTS)),
    req("lodged_at", T::Timestamp),
];
const COMPLAINT_ANSWERED: &[FactField] = &[
    req("complaint_event", T::Hash),
    req("answered_at", T::Timestamp),
    req("outcome", T::OneOf(COMPLAINT_OUTCOMES)),
];
const DISCIPLINARY_SANCTION: &[FactField] = &[
    req("facility", T::Slug),
    req("sanction", T::OneOf(SANCTIONS)),
    req("start", T::Timestamp),
    opt("days", T::Days),
    req("hearing_held", T::Bool),
    req("appeal_informed", T::Bool),
    opt("appeal_lodged_at", T::Timestamp),
];
const INJURY_RECORDED: &[FactField] = &[
    req("observed_at", T::Timestamp),
    req("severity", T::OneOf(INJURY_SEVERITIES)),
    req("ill_treatment_alleged", T::Bool),
    req("reported_to_prosecutor", T::Bool),
];
const COUNSEL_APPOINTED: &[FactField] =
    &[req("counsel_key", T::PublicKey), opt("until", T::Timestamp)];
const CORRECTION: &[FactField] = &[req("corrects", T::Hash)];
const REDACTION: &[FactField] = &[req("event", T::Hash)];
const IDENTITY_LINKED: &[FactField] = &[req("other_chain", T::ChainId)];

/// The fact fields of a kind, in the order of `docs/SPEC.md` section 8 (empty for most kinds).
pub fn fact_fields(kind: EventKind) -> &'static [FactField] {
    use EventKind as K;
    match kind {
        K::CustodyReleased => CUSTODY_RELEASED,
        K::CustodyAccepted => CUSTODY_ACCEPTED,
        K::PoliceCustodyStarted => POLICE_CUSTODY_STARTED,
        K::PlacementDecision => PLACEMENT_DECISION,
        K::JudicialAppearance => JUDICIAL_APPEARANCE,
        K::Charged => CHARGED,
        K::DetentionOrder => DETENTION_ORDER,
        K::DetentionExtended => DETENTION_EXTENDED,
        K::Admission => ADMISSION,
        K::HearingScheduled => HEARING_SCHEDULED,
        K::HearingHeld => HEARING_HELD,
        K::Judgment => JUDGMENT,
        K::AccessRestricted => ACCESS_RESTRICTED,
        K::ComplaintLodged => COMPLAINT_LODGED,
        K::ComplaintAnswered => COMPLAINT_ANSWERED,
        K::DisciplinarySanction => DISCIPLINARY_SANCTION,
        K::InjuryRecorded => INJURY_RECORDED,
        K::CounselAppointed => COUNSEL_APPOINTED,
        K::Correction => CORRECTION,
        K::Redaction => REDACTION,
        K::IdentityLinked => IDENTITY_LINKED,
        _ => &[],
    }
}

/// The `facts` member of a header: a JSON object whose members are fact fields of the header's
/// kind. Read through the typed accessors; a `Facts` parsed by [`Facts::from_value`] has every
/// member well typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts(Map<String, Value>);

impl Facts {
    /// The facts of a kind with no fact fields: `{}`.
    pub fn empty() -> Self {
        Facts(Map::new())
    }

    /// The projection of a body onto its kind's fact fields: what a signer puts in the header.
    /// A member of the body that is not a JSON object contributes nothing.
    pub fn project(kind: EventKind, body: &Value) -> Self {
        let mut m = Map::new();
        if let Some(obj) = body.as_object() {
            for f in fact_fields(kind) {
                if let Some(v) = obj.get(f.name) {
                    m.insert(f.name.to_string(), v.clone());
                }
            }
        }
        Facts(m)
    }

    /// Parses `header.facts` for a kind: an object whose members are exactly fact fields of
    /// the kind, each well typed, with every required field present.
    pub fn from_value(kind: EventKind, v: &Value) -> Result<Self, FormatError> {
        let obj = v.as_object().ok_or_else(|| FormatError::Invalid {
            field: "/header/facts".into(),
            problem: "must be a JSON object".into(),
        })?;
        let facts = Facts(obj.clone());
        facts.check(kind)?;
        Ok(facts)
    }

    /// Checks that the members are fact fields of `kind`, well typed, with every required one.
    pub fn check(&self, kind: EventKind) -> Result<(), FormatError> {
        let fields = fact_fields(kind);
        for (name, value) in &self.0 {
            let Some(f) = fields.iter().find(|f| f.name == name) else {
                let expected = if fields.is_empty() {
                    format!("{kind} has no facts: expected {{}}")
                } else {
                    let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
                    format!("the facts of {kind} are {}", names.join(", "))
                };
                return Err(FormatError::Invalid {
                    field: format!("/header/facts/{name}"),
                    problem: format!("is not a fact of {kind}: {expected}"),
                });
            };
            if let Err(problem) = check_type(f.ty, value) {
                return Err(FormatError::Invalid {
                    field: format!("/header/facts/{name}"),
                    problem,
                });
            }
        }
        for f in fields.iter().filter(|f| f.required) {
            if !self.0.contains_key(f.name) {
                return Err(FormatError::Missing {
                    field: format!("/header/facts/{}", f.name),
                });
            }
        }
        Ok(())
    }

    /// The facts as a JSON value.
    pub fn to_value(&self) -> Value {
        Value::Object(self.0.clone())
    }

    /// Appends the canonical bytes of the facts object (as `jcs::canonicalize` of
    /// [`Facts::to_value`]) without copying it.
    pub fn canonicalize_into(&self, out: &mut Vec<u8>) {
        crate::jcs::canonicalize_object_into(&self.0, out);
    }

    /// The first fact field of `kind` on which `self` and `other` differ, if any.
    pub fn first_difference(&self, other: &Facts, kind: EventKind) -> Option<&'static str> {
        fact_fields(kind)
            .iter()
            .map(|f| f.name)
            .chain(std::iter::once("(other members)"))
            .find(|name| {
                if *name == "(other members)" {
                    self.0.len() != other.0.len()
                } else {
                    self.0.get(*name) != other.0.get(*name)
                }
            })
    }

    /// A fact that is a string (slug, chain id, enumerated value).
    pub fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name)?.as_str()
    }

    /// A fact that is an event hash.
    pub fn hash(&self, name: &str) -> Option<Hash> {
        self.str(name)?.parse().ok()
    }

    /// A fact that is a timestamp.
    pub fn timestamp(&self, name: &str) -> Option<Timestamp> {
        Timestamp::parse(self.str(name)?).ok()
    }

    /// A fact that is a public key id.
    pub fn key(&self, name: &str) -> Option<crate::keys::PublicKeyId> {
        self.str(name)?.parse().ok()
    }

    /// A fact that is a whole number (`days`).
    pub fn u64(&self, name: &str) -> Option<u64> {
        self.0.get(name)?.as_u64()
    }

    /// A fact that is a boolean.
    pub fn bool(&self, name: &str) -> Option<bool> {
        self.0.get(name)?.as_bool()
    }
}

fn check_type(ty: FactType, v: &Value) -> Result<(), String> {
    let text = || v.as_str().ok_or_else(|| "must be a string".to_string());
    match ty {
        FactType::Slug => {
            let s = text()?;
            if !is_valid_slug(s) {
                return Err(format!(
                    "{s:?} is not an agency or facility id: 2-64 characters of a-z, 0-9 and -"
                ));
            }
        }
        FactType::Hash => {
            text()?
                .parse::<Hash>()
                .map_err(|e| format!("must be an event hash: {e}"))?;
        }
        FactType::Timestamp => {
            Timestamp::parse(text()?).map_err(|e| e.to_string())?;
        }
        FactType::ChainId => {
            let s = text()?;
            if !is_detainee_chain_id(s) {
                return Err(format!("{s:?} is not a detainee chain id (d- and a ULID)"));
            }
        }
        FactType::Bool => {
            if !v.is_boolean() {
                return Err("must be true or false".into());
            }
        }
        FactType::OneOf(values) => {
            let s = text()?;
            if !values.contains(&s) {
                return Err(format!("{s:?} is not one of {}", values.join(", ")));
            }
        }
        FactType::Name => bounded_text(text()?, crate::kinds::bodies::NAME_MAX)?,
        FactType::Ref => bounded_text(text()?, crate::kinds::bodies::REF_MAX)?,
        FactType::PublicKey => {
            text()?
                .parse::<crate::keys::PublicKeyId>()
                .map_err(|e| e.to_string())?;
        }
        FactType::Days => {
            if !v.as_u64().is_some_and(|d| (1..=3650).contains(&d)) {
                return Err("must be a whole number of days from 1 to 3650".into());
            }
        }
    }
    Ok(())
}

/// Text of 1 to `max` characters, not only whitespace (the bodies' rule for names and references).
fn bounded_text(s: &str, max: usize) -> Result<(), String> {
    if s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
        return Err("must not be empty nor only whitespace".into());
    }
    let n = s.chars().count();
    if n > max {
        return Err(format!("is {n} characters long; the maximum is {max}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::bodies::{
        AppearanceOutcome, ComplainantType, ComplaintAddressee, ComplaintOutcome, ComplaintSubject,
        HearingOutcome, HearingPurpose, InjurySeverity, JudgmentOutcome, LegalStatus, OffenceClass,
        SanctionType,
    };
    use serde_json::json;

    #[test]
    fn enumerated_values_are_those_of_the_body_types() {
        for v in OFFENCE_CLASSES {
            assert!(
                serde_json::from_value::<OffenceClass>(json!(v)).is_ok(),
                "{v}"
            );
        }
        for v in JUDGMENT_OUTCOMES {
            assert!(
                serde_json::from_value::<JudgmentOutcome>(json!(v)).is_ok(),
                "{v}"
            );
        }
        assert!(serde_json::from_value::<OffenceClass>(json!("other")).is_err());
        fn all_parse<T: serde::de::DeserializeOwned>(values: &[&str]) {
            for v in values {
                assert!(serde_json::from_value::<T>(json!(v)).is_ok(), "{v}");
            }
        }
        all_parse::<LegalStatus>(LEGAL_STATUSES);
        all_parse::<crate::kinds::bodies::CustodyRegime>(CUSTODY_REGIMES);
        all_parse::<HearingPurpose>(HEARING_PURPOSES);
        all_parse::<HearingOutcome>(HEARING_OUTCOMES);
        all_parse::<AppearanceOutcome>(APPEARANCE_OUTCOMES);
        all_parse::<ComplainantType>(COMPLAINANTS);
        all_parse::<ComplaintAddressee>(COMPLAINT_ADDRESSEES);
        all_parse::<ComplaintSubject>(COMPLAINT_SUBJECTS);
        all_parse::<ComplaintOutcome>(COMPLAINT_OUTCOMES);
        all_parse::<SanctionType>(SANCTIONS);
        all_parse::<InjurySeverity>(INJURY_SEVERITIES);
    }

    #[test]
    fn names_and_references_are_bounded_non_blank_text() {
        let k = EventKind::Charged;
        let ok = json!({"authority": "Pôle judiciaire spécialisé", "case_ref": "PJS/2026/001"});
        assert!(Facts::from_value(k, &ok).is_ok());
        for (authority, case_ref) in [
            (json!(" \t"), json!("x")),
            (json!(""), json!("x")),
            (json!("é".repeat(201)), json!("x")),
            (json!("a"), json!("r".repeat(101))),
            (json!(1), json!("x")),
        ] {
            let v = json!({"authority": authority, "case_ref": case_ref});
            assert!(Facts::from_value(k, &v).is_err(), "{v}");
        }
        let at_limits = json!({"authority": "é".repeat(200), "case_ref": "r".repeat(100)});
        assert!(Facts::from_value(k, &at_limits).is_ok());
    }

    #[test]
    fn days_and_keys_are_checked() {
        let k = EventKind::DisciplinarySanction;
        let sanction = |days: Value| {
            json!({"facility": "mca-bamako", "sanction": "solitary_confinement",
                   "start": "2020-02-01T08:00:00Z", "days": days, "hearing_held": false,
                   "appeal_informed": false})
        };
        for ok in [json!(1), json!(20), json!(3650)] {
            assert!(Facts::from_value(k, &sanction(ok.clone())).is_ok(), "{ok}");
        }
        for bad in [json!(0), json!(3651), json!(-1), json!("20"), json!(true)] {
            assert!(
                Facts::from_value(k, &sanction(bad.clone())).is_err(),
                "{bad}"
            );
        }
        let f = Facts::from_value(k, &sanction(json!(20))).expect("facts");
        assert_eq!(f.u64("days"), Some(20));

        let k = EventKind::CounselAppointed;
        let key = crate::keys::SecretKey::from_seed([3; 32]).public();
        let f = Facts::from_value(k, &json!({"counsel_key": key.to_string()})).expect("facts");
        assert_eq!(f.key("counsel_key"), Some(key));
        for bad in [json!("ed25519:abc"), json!(1), json!("")] {
            assert!(
                Facts::from_value(k, &json!({"counsel_key": bad})).is_err(),
                "{bad}"
            );
        }
        assert!(Facts::from_value(k, &json!({"until": "2030-01-01T00:00:00Z"})).is_err());
    }

    #[test]
    fn projection_keeps_fact_fields_only() {
        let body = json!({"to_agency": "ml-prison", "place": {"x": 1}, "reason": "r",
                          "legal_status": "arrested"});
        let f = Facts::project(EventKind::CustodyReleased, &body);
        assert_eq!(
            f.to_value(),
            json!({"to_agency": "ml-prison", "legal_status": "arrested"})
        );
        assert!(f.check(EventKind::CustodyReleased).is_ok());
        assert_eq!(
            Facts::project(EventKind::Arrest, &json!({"facility": "x"})).to_value(),
            json!({})
        );
    }

    #[test]
    fn parse_refuses_unknown_missing_and_mistyped_facts() {
        let k = EventKind::DetentionExtended;
        let h = "ab".repeat(32);
        let ok = json!({"order_event": h, "valid_until": "2020-01-01T00:00:00Z"});
        assert!(Facts::from_value(k, &ok).is_ok());
        let missing = json!({"order_event": h});
        assert!(matches!(
            Facts::from_value(k, &missing),
            Err(FormatError::Missing { field }) if field == "/header/facts/valid_until"
        ));
        let unknown = json!({"order_event": h, "valid_until": "2020-01-01T00:00:00Z", "x": 1});
        assert!(matches!(
            Facts::from_value(k, &unknown),
            Err(FormatError::Invalid { field, .. }) if field == "/header/facts/x"
        ));
        let mistyped = json!({"order_event": "AB", "valid_until": "2020-01-01T00:00:00Z"});
        assert!(matches!(
            Facts::from_value(k, &mistyped),
            Err(FormatError::Invalid { field, .. }) if field == "/header/facts/order_event"
        ));
        assert!(Facts::from_value(EventKind::Arrest, &json!({"facility": "ab"})).is_err());
        assert!(Facts::from_value(EventKind::Arrest, &json!([])).is_err());
    }
}
