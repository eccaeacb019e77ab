//! The validator's legal-status rule, the file of Mandela Rule 8 and counsel's appointments,
//! on the demo world of the test vectors, with records signed by the world's own keys.

use custody_core::kinds::bodies::LegalStatus;
use custody_core::{
    Draft, EventKind, Hash, Record, Rule, SecretKey, StateRule, Timestamp, Validator,
    ValidatorConfig,
};
use custody_scenario::{build, Scenario, ScenarioConfig};
use serde_json::{json, Value};

fn world() -> Scenario {
    build(&ScenarioConfig {
        seed: 1,
        detainees: 8,
    })
    .expect("the demo world builds")
}

fn replay(s: &Scenario) -> Validator {
    let mut v = Validator::new(s.trust.clone(), ValidatorConfig::default());
    for r in &s.records {
        v.append(r, None).expect("the demo world validates");
    }
    v
}

fn chain_of(s: &Scenario, path: &str) -> String {
    s.detainees
        .iter()
        .find(|d| d.path == path)
        .map(|d| d.chain.clone())
        .expect("path in the world")
}

fn key(s: &Scenario, label: &str) -> SecretKey {
    s.actor(label).expect("actor").key.clone()
}

/// Signs a record extending `chain` as the validator holds it, at `at`.
fn sign(
    s: &Scenario,
    v: &Validator,
    chain: &str,
    label: &str,
    kind: EventKind,
    at: &str,
    body: Value,
) -> Record {
    let head = v.head(chain);
    let at = Timestamp::parse(at).expect("instant");
    Draft {
        ledger: s.name.clone(),
        chain: chain.to_string(),
        seq: head.map_or(0, |h| h.seq + 1),
        prev: head.map(|h| h.hash),
        kind,
        occurred_at: at.clone(),
        recorded_at: at.plus_seconds(60),
        agency: s.actor(label).expect("actor").agency.to_string(),
        body,
    }
    .sign(&key(s, label), &[7; 16])
}

fn last_of<'a>(s: &'a Scenario, chain: &str, kind: EventKind) -> &'a Record {
    s.records
        .iter()
        .rev()
        .find(|r| r.header.chain == chain && r.header.kind == kind)
        .expect("record of the kind")
}

fn admission(facility: &str, order: Hash, status: &str) -> Value {
    json!({"facility": facility, "registry_number": "MCA-2021-09998",
           "commitment_order_event": order.to_hex(), "commitment_order_ref": "CA/2021/0001",
           "commitment_authority": "Cour d'assises", "commitment_grounds": "jugement",
           "legal_status": status, "unit_or_cell": "B-2", "rules_explained": true,
           "social_interview_done": false, "visible_injuries": {"present": false},
           "complaints_of_ill_treatment": {"present": false}})
}

#[test]
fn a_conviction_supports_convicted_statuses_until_a_later_judgment_ends_it() {
    let s = world();
    let mut v = replay(&s);
    let convicted = chain_of(&s, "convicted");
    let pending = chain_of(&s, "restricted_and_corrected");
    let state = v.chain(&convicted).expect("chain");
    assert_eq!(state.supported_status(), LegalStatus::ConvictedNotFinal);
    assert_eq!(
        v.chain(&pending).expect("chain").supported_status(),
        LegalStatus::PreTrialDetention
    );

    // The convicted person is admitted again on the judgment: a convicted status is supported.
    let judgment = last_of(&s, &convicted, EventKind::Judgment).hash;
    let before = last_of(&s, &convicted, EventKind::Admission);
    let facility = before.header.facts.str("facility").expect("facility");
    let registrar = if before.header.agency == "ml-mca-bamako" {
        "mca-registrar"
    } else {
        "koulikoro-registrar"
    };
    let t = "2021-06-01T10:00:00Z";
    let ok = sign(
        &s,
        &v,
        &convicted,
        registrar,
        EventKind::Admission,
        t,
        admission(facility, judgment, "convicted_final"),
    );
    assert!(v.check(&ok, None).is_ok());

    // Acquitted on appeal: the chain no longer stands convicted.
    let appeal = sign(
        &s,
        &v,
        &convicted,
        "pole-clerk",
        EventKind::Judgment,
        t,
        json!({"court": "Cour d'appel de Bamako", "judgment_ref": "CA-APP/2021/0007",
               "outcome": "acquitted", "custodial": false}),
    );
    v.append(&appeal, None).expect("an acquittal on appeal");
    assert_eq!(
        v.chain(&convicted).expect("chain").supported_status(),
        LegalStatus::PreTrialDetention
    );
    let late = sign(
        &s,
        &v,
        &convicted,
        registrar,
        EventKind::Admission,
        "2021-06-02T10:00:00Z",
        admission(facility, judgment, "convicted_not_final"),
    );
    let err = v.check(&late, None).expect_err("refused");
    assert_eq!(err.rule(), Rule::State(StateRule::LegalStatus));
    let message = err.to_string();
    assert!(
        message.contains("convicted_not_final") && message.contains("pre_trial_detention"),
        "{message}"
    );
    // The same record without its payload is refused by the same rule (headers only).
    let err = v
        .check(&late.without_payload(), None)
        .expect_err("refused without payload");
    assert_eq!(err.rule(), Rule::State(StateRule::LegalStatus));
    // Saying less than the chain supports is no label of guilt: accepted.
    let less = sign(
        &s,
        &v,
        &convicted,
        registrar,
        EventKind::Admission,
        "2021-06-02T10:00:00Z",
        admission(facility, judgment, "pre_trial_detention"),
    );
    assert!(v.check(&less, None).is_ok());
}

#[test]
fn counsel_is_appointed_by_the_chain_from_the_appointment_on() {
    let s = world();
    let v = replay(&s);
    let appointed = s
        .records
        .iter()
        .find(|r| r.header.kind == EventKind::CounselAppointed)
        .expect("the demo appoints counsel");
    let lawyer = s
        .actor("counsel-toure")
        .expect("the demo's lawyer")
        .key
        .public();
    assert_eq!(
        appointed.header.facts.key("counsel_key"),
        Some(lawyer),
        "the appointment names the lawyer's key in its facts"
    );
    let state = v.chain(&appointed.header.chain).expect("chain");
    let at = &appointed.header.occurred_at;
    assert!(state.counsel_appointed(&lawyer, at));
    assert!(state.counsel_appointed(&lawyer, &at.plus_seconds(86_400 * 365)));
    assert!(!state.counsel_appointed(&lawyer, &at.plus_seconds(-1)));
    let registrar = key(&s, "mca-registrar").public();
    assert!(!state.counsel_appointed(&registrar, at));
    // On no other chain.
    for (chain, other) in v.chains() {
        if chain != &appointed.header.chain {
            assert!(!other.counsel_appointed(&lawyer, at), "{chain}");
        }
    }
}

#[test]
fn the_rule_8_file_is_recorded_as_it_happened_and_its_facts_stay_public_only() {
    let s = world();
    let sanction = s
        .records
        .iter()
        .find(|r| r.header.kind == EventKind::DisciplinarySanction)
        .expect("a sanction in the demo");
    // Twenty days of solitary confinement (Mandela Rule 43 forbids more than 15): accepted.
    assert_eq!(
        sanction.header.facts.str("sanction"),
        Some("solitary_confinement")
    );
    assert_eq!(sanction.header.facts.u64("days"), Some(20));
    assert_eq!(sanction.header.facts.bool("hearing_held"), Some(false));
    let injury = s
        .records
        .iter()
        .find(|r| r.header.kind == EventKind::InjuryRecorded)
        .expect("an injury in the demo");
    assert!(EventKind::InjuryRecorded.is_restricted());
    let facts = injury.header.facts.to_value();
    let names: Vec<&str> = facts
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        [
            "ill_treatment_alleged",
            "observed_at",
            "reported_to_prosecutor",
            "severity"
        ]
    );
    let answer = s
        .records
        .iter()
        .find(|r| r.header.kind == EventKind::ComplaintAnswered)
        .expect("an answer in the demo");
    let complaint = s
        .records
        .iter()
        .find(|r| r.header.kind == EventKind::ComplaintLodged)
        .expect("a complaint in the demo");
    assert_eq!(
        answer.header.facts.hash("complaint_event"),
        Some(complaint.hash)
    );
}
