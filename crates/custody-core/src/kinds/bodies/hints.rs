//! Words for registrars: what to do about a missing or an unknown field.

use super::EventKind;

/// What a registrar should know about a missing required field.
pub(super) fn missing_hint(kind: EventKind, field: &str, nested: bool) -> String {
    let why = match field {
        "description" if kind == EventKind::InjuryRecorded => {
            "document the injury as observed (Istanbul Protocol: site, size, colour, shape)"
        }
        "commitment_order_ref" => {
            "an admission needs the reference of the commitment order (Mandela Rule 7: no admission without a valid commitment order)"
        }
        "commitment_order_event" => {
            "an admission names the hash of the commitment order's event (the detention_order, or the custodial judgment) of this chain"
        }
        "order_event" => "an extension names the hash of the detention_order event it extends",
        "commitment_authority" => "record the authority that committed the person (Mandela Rule 7(b))",
        "commitment_grounds" => "record the reasons of commitment, as in the order (Mandela Rule 7(b))",
        "registry_number" => "an admission needs the number in the facility's register",
        "person" => "an arrest records the identity as known, even if only a physical description",
        "identity_basis" => "say how the identity was established (self_declared, identity_document, biometric_match, third_party_statement or unknown)",
        "place" => "record where it happened (Body of Principles 12: the precise place)",
        "region" => "a place needs its administrative region",
        "description" => "describe the place so that someone on the spot would recognise it",
        "arresting_force" => "name the agency that made the arrest (Disappearance Convention art. 17(3)(b))",
        "officer" => "name the officer responsible, or give a service number",
        "ordering_authority" => "record the authority that ordered the deprivation of liberty, or the rule it was made under (art. 17(3)(c))",
        "grounds" => "record the reasons, as facts (art. 17(3)(c))",
        "suspected_offence" => "record the offence the person is suspected of",
        "visible_injuries" => "record whether injuries are visible: {\"present\": false} when none",
        "complaints_of_ill_treatment" => "record whether the person complains of ill-treatment: {\"present\": false} when not",
        "condition_on_arrival" => "record the condition of the person on arrival (visible injuries, complaints)",
        "legal_status" => "state the legal status explicitly (arrested, police_custody, pre_trial_detention, convicted_not_final, convicted_final)",
        "to_agency" => "a handover names the receiving agency, or the person is in a custody gap",
        "release_event" => "an acceptance names the hash of the custody_released event it accepts",
        "authorisation_ref" => "an extension of police custody needs the reference of the written authorisation",
        "extended_until" => "record the new end of police custody",
        "order_ref" => "record the reference of the detention order",
        "extension_ref" => "record the reference of the extension order",
        "valid_until" => "record until when the order is valid",
        "reasons" => "a decision must be reasoned",
        "verification" => "record how the release was verified (handed to family, counsel, witnessed by a monitor, or signed by the person)",
        "cause" => "record the cause of death as certified, or \"undetermined\" (art. 17(3)(g))",
        "circumstances" => "record the circumstances (art. 17(3)(g))",
        "remains_destination" => "record the destination of the remains (art. 17(3)(g))",
        "until" => "a restriction of access must be time-limited (art. 20)",
        "decision_ref" => "record the reference of the decision",
        "corrected_fields" => "a correction gives the corrected fields with their new values",
        "present" => "say whether there is something: true or false",
        "officers" => "name at least one officer, or give a service number",
        "counsel_present" => "record whether counsel was present",
        "produced" => "record whether the person was brought before the court",
        "complaint" => "record the complaint as the person made it (Mandela Rule 56)",
        "lodged_by" => "say who lodged it: detainee, counsel, family or other",
        "addressed_to" => "say to whom the complaint is addressed",
        "complaint_event" => "an answer names the hash of the complaint_lodged event it answers",
        "sanction" => "state the sanction from the closed list (warning, loss_of_privileges, restriction_of_contact, cell_confinement, solitary_confinement, transfer, other)",
        "offence_found" => "record the disciplinary offence found (Mandela Rule 37)",
        "decided_by" => "record who decided the sanction (Mandela Rule 37(d))",
        "hearing_held" => "record whether the person was heard before the decision (Mandela Rule 39(1)): false is recorded too",
        "appeal_informed" => "record whether the person was told how to appeal (Mandela Rule 41(4))",
        "severity" => "grade the injury: minor, moderate, serious or life_threatening",
        "ill_treatment_alleged" => "record whether the person alleges ill-treatment",
        "reported_to_prosecutor" => "record whether the injury was reported to a prosecutor (Mandela Rule 34): false is recorded too",
        "counsel_key" => "name the lawyer's enrolled key (role counsel), ed25519:...",
        _ => "",
    };
    if why.is_empty() && nested {
        format!("missing field \"{field}\": it is required here")
    } else if why.is_empty() {
        format!("missing field \"{field}\": every {kind} body needs it")
    } else {
        format!("missing field \"{field}\": {why}")
    }
}

pub(super) fn unknown_hint(field: &str, allowed: &[&str]) -> String {
    let lower = field.to_ascii_lowercase();
    let label = ["terror", "guilty", "jihad", "criminal", "bandit"]
        .iter()
        .any(|w| lower.contains(w));
    let mut msg = format!("unknown field \"{field}\"");
    if label {
        msg.push_str(": the record never labels a person; use suspected_offence, charges, legal_status or a judgment");
    }
    if allowed.is_empty() {
        msg.push_str("; no field is allowed here");
    } else {
        msg.push_str("; the fields allowed here are: ");
        msg.push_str(&allowed.join(", "));
    }
    msg
}
