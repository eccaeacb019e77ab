//! The JSON Schemas of the event bodies, embedded in the binary (from `schemas/` at the
//! repository root), for `custody record KIND --interactive`.

/// Each kind's wire name and the text of its body schema, in alphabetical order.
pub const ALL: &[(&str, &str)] = &[
    (
        "access_restricted",
        include_str!("../../../schemas/access_restricted.schema.json"),
    ),
    (
        "admission",
        include_str!("../../../schemas/admission.schema.json"),
    ),
    (
        "agency_registered",
        include_str!("../../../schemas/agency_registered.schema.json"),
    ),
    (
        "arrest",
        include_str!("../../../schemas/arrest.schema.json"),
    ),
    (
        "charged",
        include_str!("../../../schemas/charged.schema.json"),
    ),
    (
        "complaint_answered",
        include_str!("../../../schemas/complaint_answered.schema.json"),
    ),
    (
        "complaint_lodged",
        include_str!("../../../schemas/complaint_lodged.schema.json"),
    ),
    (
        "correction",
        include_str!("../../../schemas/correction.schema.json"),
    ),
    (
        "counsel_appointed",
        include_str!("../../../schemas/counsel_appointed.schema.json"),
    ),
    (
        "custody_accepted",
        include_str!("../../../schemas/custody_accepted.schema.json"),
    ),
    (
        "custody_released",
        include_str!("../../../schemas/custody_released.schema.json"),
    ),
    (
        "death_in_custody",
        include_str!("../../../schemas/death_in_custody.schema.json"),
    ),
    (
        "detention_extended",
        include_str!("../../../schemas/detention_extended.schema.json"),
    ),
    (
        "detention_order",
        include_str!("../../../schemas/detention_order.schema.json"),
    ),
    (
        "disciplinary_sanction",
        include_str!("../../../schemas/disciplinary_sanction.schema.json"),
    ),
    (
        "escape",
        include_str!("../../../schemas/escape.schema.json"),
    ),
    (
        "evidence_added",
        include_str!("../../../schemas/evidence_added.schema.json"),
    ),
    (
        "facility_registered",
        include_str!("../../../schemas/facility_registered.schema.json"),
    ),
    (
        "family_notified",
        include_str!("../../../schemas/family_notified.schema.json"),
    ),
    (
        "hearing_held",
        include_str!("../../../schemas/hearing_held.schema.json"),
    ),
    (
        "hearing_scheduled",
        include_str!("../../../schemas/hearing_scheduled.schema.json"),
    ),
    (
        "identity_linked",
        include_str!("../../../schemas/identity_linked.schema.json"),
    ),
    (
        "injury_recorded",
        include_str!("../../../schemas/injury_recorded.schema.json"),
    ),
    (
        "judgment",
        include_str!("../../../schemas/judgment.schema.json"),
    ),
    (
        "judicial_appearance",
        include_str!("../../../schemas/judicial_appearance.schema.json"),
    ),
    (
        "key_enrolled",
        include_str!("../../../schemas/key_enrolled.schema.json"),
    ),
    (
        "key_revoked",
        include_str!("../../../schemas/key_revoked.schema.json"),
    ),
    (
        "medical_screening",
        include_str!("../../../schemas/medical_screening.schema.json"),
    ),
    (
        "placement_decision",
        include_str!("../../../schemas/placement_decision.schema.json"),
    ),
    (
        "police_custody_extended",
        include_str!("../../../schemas/police_custody_extended.schema.json"),
    ),
    (
        "police_custody_started",
        include_str!("../../../schemas/police_custody_started.schema.json"),
    ),
    (
        "questioning",
        include_str!("../../../schemas/questioning.schema.json"),
    ),
    (
        "redaction",
        include_str!("../../../schemas/redaction.schema.json"),
    ),
    (
        "release",
        include_str!("../../../schemas/release.schema.json"),
    ),
    (
        "risk_assessment",
        include_str!("../../../schemas/risk_assessment.schema.json"),
    ),
    ("visit", include_str!("../../../schemas/visit.schema.json")),
];

/// The body schema of the kind `kind` (its wire name), if there is one.
pub fn for_kind(kind: &str) -> Option<&'static str> {
    ALL.iter().find(|(k, _)| *k == kind).map(|(_, text)| *text)
}

#[cfg(test)]
mod tests {
    use custody_core::kinds::EventKind;

    #[test]
    fn every_event_kind_has_an_embedded_schema_that_parses() {
        for kind in EventKind::ALL {
            let text =
                super::for_kind(kind.as_str()).unwrap_or_else(|| panic!("no schema for {kind}"));
            let schema: serde_json::Value = serde_json::from_str(text).expect("schema is JSON");
            assert_eq!(schema["type"], "object", "{kind}");
        }
        assert_eq!(super::ALL.len(), EventKind::ALL.len());
    }
}
