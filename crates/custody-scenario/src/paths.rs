//! The paths detainees take through the arrest-to-detention chain.
//!
//! Detainees 0 to 7 take fixed paths so that eight detainees use every event kind; the others
//! take the common path with random variations.

use custody_core::{EventKind as K, Hash};
use serde_json::{json, Value};

use crate::world::{at, ChainWriter, World, DAY, HOUR};

const NAMES: &[&str] = &[
    "Ag Mohamed",
    "Ould Sidi",
    "Maïga",
    "Touré",
    "Cissé",
    "Dicko",
    "Ag Intalla",
    "Diallo",
    "Ould Hamma",
    "Traoré",
    "Sangaré",
    "Ag Alher",
    "Bocoum",
    "Ould Ahmed",
    "Barry",
    "Guindo",
];
const GIVEN: &[&str] = &[
    "Mohamed",
    "Ahmed",
    "Ousmane",
    "Hamadoun",
    "Alhassane",
    "Souleymane",
    "Ibrahim",
    "Moussa",
    "Aliou",
    "Oumar",
    "Fatoumata",
    "Aminata",
    "Sidi",
    "Abdoulaye",
    "Boubacar",
    "Ismaïla",
];
const REGIONS: &[(&str, &str)] = &[
    ("Ménaka", "near the Anderamboukane road"),
    ("Kidal", "wadi north of Aguelhok"),
    ("Gao", "Ansongo market"),
    ("Tombouctou", "Ber, eastern track"),
    ("Mopti", "Boni, road checkpoint"),
    ("Ségou", "Niono, rice fields"),
];
const LANGUAGES: &[&str] = &["Tamasheq", "Arabic", "Fulfulde", "Songhai", "Bambara"];

/// Who arrested, for the records that follow.
struct Arrested {
    chain: ChainWriter,
    force: &'static str,
    t: i64,
    language: &'static str,
}

fn place(region: &str, description: &str) -> Value {
    json!({"description": description, "region": region})
}

fn no_finding() -> Value {
    json!({"present": false})
}

fn condition(injured: bool) -> Value {
    if injured {
        json!({"visible_injuries": {"present": true, "details": "bruises on both wrists from restraints"},
               "complaints_of_ill_treatment": {"present": false}})
    } else {
        json!({"visible_injuries": no_finding(), "complaints_of_ill_treatment": no_finding()})
    }
}

fn official(name: &str) -> Value {
    json!({"name": name})
}

/// Walks detainee `i` through the chain.
pub fn walk(w: &mut World, i: usize) {
    match i {
        0 => common(w, i, "convicted", Ending::Convicted, Extras::all()),
        1 => common(w, i, "acquitted", Ending::Acquitted, Extras::none()),
        2 => common(
            w,
            i,
            "unanswered_handover",
            Ending::UnansweredHandover,
            Extras::none(),
        ),
        3 => common(w, i, "death_in_custody", Ending::Death, Extras::none()),
        4 => common(w, i, "escape", Ending::Escape, Extras::none()),
        5 => common(w, i, "unofficial_detour", Ending::Pending, Extras::detour()),
        6 => common(
            w,
            i,
            "released_without_charge",
            Ending::NoCharge,
            Extras::none(),
        ),
        7 => common(
            w,
            i,
            "restricted_and_corrected",
            Ending::Pending,
            Extras::legal(),
        ),
        _ => {
            let ending = match w.rng.below(100) {
                0..=9 => Ending::NoCharge,
                10..=17 => Ending::Acquitted,
                18..=27 => Ending::Convicted,
                28..=35 => Ending::ProvisionalRelease,
                _ => Ending::Pending,
            };
            let extras = Extras {
                evidence: w.rng.chance(50),
                family: w.rng.chance(60),
                icrc_visit: w.rng.chance(30),
                second_extension: w.rng.chance(50),
                not_produced: w.rng.chance(30),
                ..Extras::none()
            };
            common(w, i, "common", ending, extras)
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ending {
    Convicted,
    Acquitted,
    ProvisionalRelease,
    Pending,
    UnansweredHandover,
    Death,
    Escape,
    NoCharge,
}

#[derive(Clone, Copy, Default)]
struct Extras {
    evidence: bool,
    family: bool,
    icrc_visit: bool,
    second_extension: bool,
    not_produced: bool,
    detour: bool,
    legal: bool,
    /// The file of Mandela Rule 8: counsel appointed, a complaint and its answer, an injury, a
    /// solitary confinement of 20 days (beyond the 15 days Rule 43 allows: recorded as it
    /// happened). Draws nothing from the generator, so the rest of the world is unchanged.
    rule8: bool,
}

impl Extras {
    fn none() -> Self {
        Extras::default()
    }
    fn all() -> Self {
        Extras {
            evidence: true,
            family: true,
            icrc_visit: true,
            second_extension: true,
            not_produced: true,
            rule8: true,
            ..Extras::default()
        }
    }
    fn detour() -> Self {
        Extras {
            detour: true,
            ..Extras::default()
        }
    }
    fn legal() -> Self {
        Extras {
            evidence: true,
            legal: true,
            ..Extras::default()
        }
    }
}

fn arrest(w: &mut World, i: usize, path: &'static str) -> Arrested {
    // Arrests every three days; large worlds wrap around after 600 days so that every record
    // falls inside the keys' three years of validity (the first detainees are unchanged).
    let t = w.first_arrest() + (i as i64 * 3 * DAY) % (600 * DAY) + w.rng.below(20) as i64 * HOUR;
    let mut chain = w.new_chain(t, path);
    let (force, actor, delay) = match w.rng.below(10) {
        0..=2 => ("fr-barkhane", "barkhane-officer", 30 * HOUR),
        3..=6 => ("ml-fama", "fama-officer", 12 * HOUR),
        _ => ("ml-police-gao", "police-gao-opj", HOUR),
    };
    let (region, spot) = *w.rng.pick(REGIONS);
    let language = *w.rng.pick(LANGUAGES);
    let given = *w.rng.pick(GIVEN);
    let family = *w.rng.pick(NAMES);
    let injured = w.rng.chance(15);
    let body = json!({
        "person": {
            "name": format!("{given} {family}"),
            "gender_self_declared": if matches!(given, "Fatoumata" | "Aminata") { "female" } else { "male" },
            "estimated_age_years": 18 + w.rng.below(40),
            "nationalities": ["ML"],
            "languages": [language],
            "origin": region,
            "identity_basis": "self_declared"
        },
        "place": place(region, spot),
        "arresting_force": force,
        "officer": official(match force { "fr-barkhane" => "Capitaine L. Moreau", "ml-fama" => "Lieutenant B. Coulibaly", _ => "Commissaire A. Maïga" }),
        "grounds": "found in possession of a firearm near the site of an attack on a military post",
        "suspected_offence": "association de malfaiteurs en relation avec une entreprise terroriste (suspected)",
        "ordering_authority": "flagrant délit",
        "seized_items": [{"label": "mobile phone", "quantity": 1}, {"label": "rifle", "quantity": 1, "seal_number": format!("SCELLE-{i:04}")}],
        "visible_injuries": if injured { json!({"present": true, "details": "graze on the forehead"}) } else { no_finding() },
        "complaints_of_ill_treatment": no_finding()
    });
    w.record(&mut chain, actor, K::Arrest, t, delay, body);
    Arrested {
        chain,
        force,
        t,
        language,
    }
}

fn actor_of_force(force: &str) -> &'static str {
    match force {
        "fr-barkhane" => "barkhane-officer",
        "ml-fama" => "fama-officer",
        _ => "police-gao-opj",
    }
}

/// A handover: release by `from_actor` to `to_agency`, acceptance by `to_actor`. Returns the
/// time of acceptance, or `None` when `answered` is false.
#[allow(clippy::too_many_arguments)]
fn handover(
    w: &mut World,
    chain: &mut ChainWriter,
    from_actor: &str,
    to_actor: &str,
    to_facility: Option<&str>,
    t: i64,
    travel: i64,
    documents_shared: bool,
    answered: bool,
) -> Option<i64> {
    let to_agency = w.agency_of(to_actor);
    let mut released = json!({
        "to_agency": to_agency,
        "place": place("Bamako", "handover point"),
        "reason": "transfer for judicial proceedings",
        "legal_status": "arrested",
        "transport": "road convoy",
        "items_handed_over": [{"label": "mobile phone", "quantity": 1}]
    });
    if let Some(f) = to_facility {
        released["to_facility"] = Value::from(f);
    }
    if documents_shared {
        released["documents_handed_over"] = json!([{"title": "procès-verbal d'interpellation"}]);
    }
    let release = w.record(chain, from_actor, K::CustodyReleased, t, HOUR, released);
    if !answered {
        return None;
    }
    let arrival = t + travel;
    let mut discrepancies = vec![];
    if !documents_shared {
        discrepancies.push("no arrest report or evidence received with the person");
    }
    let mut accepted = json!({
        "release_event": release.to_hex(),
        "condition_on_arrival": condition(false),
        "items_received": [{"label": "mobile phone", "quantity": 1}]
    });
    if !discrepancies.is_empty() {
        accepted["discrepancies"] = json!(discrepancies);
    }
    if let Some(f) = to_facility {
        accepted["facility"] = Value::from(f);
    }
    w.record(chain, to_actor, K::CustodyAccepted, arrival, HOUR, accepted);
    Some(arrival)
}

fn common(w: &mut World, i: usize, path: &'static str, ending: Ending, extras: Extras) {
    let Arrested {
        mut chain,
        force,
        t,
        language,
    } = arrest(w, i, path);
    let force_actor = actor_of_force(force);
    // Years of reference numbers, moved with the world's dates.
    let (y19, y20) = (w.year(2019), w.year(2020));
    if extras.evidence {
        let digest = Hash::of(format!("photo-{}-{i}", chain.chain).as_bytes());
        let ev = w.record(
            &mut chain,
            force_actor,
            K::EvidenceAdded,
            t + 2 * HOUR,
            DAY,
            json!({"content_digest": digest.to_hex(), "size_bytes": 2_400_000 + i as u64,
                   "media_type": "image/jpeg", "label": "photograph of seized items",
                   "provenance": format!("taken at the place of arrest by the arresting unit ({force})")}),
        );
        if extras.legal {
            // The photograph also shows a child of the family: the judge orders the payload
            // removed (the header stays).
            w.redact(ev);
        }
    }

    // To Camp One.
    let handover_at = t + (2 + w.rng.below(3) as i64) * DAY;
    let Some(mut t) = handover(
        w,
        &mut chain,
        force_actor,
        "camp1-opj",
        Some("camp1-bamako"),
        handover_at,
        DAY,
        force != "fr-barkhane",
        true,
    ) else {
        return;
    };
    t += 2 * HOUR;
    w.record(
        &mut chain,
        "camp1-opj",
        K::PoliceCustodyStarted,
        t,
        HOUR,
        json!({"facility": "camp1-bamako", "started_at": at(t), "officer": official("Adjudant-chef M. Diarra"),
               "grounds": "suspicion of terrorism-related offences reported by the arresting unit",
               "suspected_offence": "terrorism-related offence (suspected)", "regime": "terrorism",
               "rights_notified": true, "rights_language": language}),
    );
    let custody_start = t;
    let interpreter = if matches!(language, "Bambara") {
        Value::Null
    } else {
        Value::from(format!("interprète {language}-français"))
    };
    let mut questioning = json!({"started_at": at(t + 3 * HOUR), "ended_at": at(t + 5 * HOUR),
           "facility": "camp1-bamako", "officers": [official("Adjudant-chef M. Diarra")],
           "language": language, "counsel_present": false});
    if !interpreter.is_null() {
        questioning["interpreter"] = interpreter;
    }
    w.record(
        &mut chain,
        "camp1-opj",
        K::Questioning,
        t + 5 * HOUR,
        HOUR,
        questioning,
    );
    if extras.family {
        w.record(
            &mut chain,
            "camp1-opj",
            K::FamilyNotified,
            t + 6 * HOUR,
            HOUR,
            json!({"who": "brother", "means": "phone", "subject": "detention", "reached": true}),
        );
    }
    let mut until = custody_start + 48 * HOUR;
    for n in 0..if extras.second_extension { 2 } else { 1 } {
        let at_t = until - 2 * HOUR;
        until += 48 * HOUR;
        w.record(
            &mut chain,
            "camp1-opj",
            K::PoliceCustodyExtended,
            at_t,
            HOUR,
            json!({"authorisation_ref": format!("PPJS/GAV/{i:04}-{n}"), "authorised_by": "Procureur du pôle judiciaire spécialisé",
                   "extension_hours": 48, "extended_until": at(until),
                   "reasons": "questioning of co-suspects not completed"}),
        );
    }

    if extras.detour {
        // Taken to State Security (not an officially recognised place of detention) and back.
        let back = handover(
            w,
            &mut chain,
            "camp1-opj",
            "se-officer",
            Some("securite-etat-bamako"),
            until - HOUR,
            HOUR,
            true,
            true,
        );
        let Some(back) = back else { return };
        let returned = handover(
            w,
            &mut chain,
            "se-officer",
            "camp1-opj",
            Some("camp1-bamako"),
            back + 12 * DAY,
            HOUR,
            true,
            true,
        );
        let Some(returned) = returned else { return };
        until = returned + 2 * HOUR;
    }

    if ending == Ending::NoCharge {
        // Detainee 6 turns out to be detainee 5, arrested earlier under another name.
        if i == 6 {
            if let Some(other) = w.detainee_chain(5) {
                w.record(
                    &mut chain,
                    "camp1-opj",
                    K::IdentityLinked,
                    until - 2 * HOUR,
                    HOUR,
                    json!({"other_chain": other, "method": "biometric_match",
                           "basis": "fingerprints taken at Camp One match those of an earlier arrest"}),
                );
            }
        }
        w.record(
            &mut chain,
            "camp1-opj",
            K::Release,
            until - HOUR,
            HOUR,
            json!({"facility": "camp1-bamako", "place": place("Bamako", "Camp I gate"), "reason": "no_charge",
                   "authority": "Procureur du pôle judiciaire spécialisé",
                   "verification": {"method": "handed_to_family", "witness": "brother"}}),
        );
        return;
    }

    // Before the investigating judge.
    let t = until - HOUR;
    let counsel = w.rng.chance(30);
    let mut appearance = json!({"authority": "ml-pole-judiciaire", "judge": "Juge d'instruction F. Keïta", "appeared_at": at(t),
               "counsel_present": counsel, "outcome": "remanded_in_custody"});
    if counsel {
        appearance["counsel_name"] = Value::from("Me D. Sow, commis d'office");
    }
    w.record(
        &mut chain,
        "pole-judge",
        K::JudicialAppearance,
        t,
        2 * HOUR,
        appearance,
    );
    let case_ref = format!("PJS/RI/{y19}/{:04}", 100 + i);
    w.record(
        &mut chain,
        "pole-judge",
        K::Charged,
        t + HOUR,
        HOUR,
        json!({"authority": "ml-pole-judiciaire", "case_ref": case_ref,
               "charges": [{"offence": "association de malfaiteurs en relation avec une entreprise terroriste", "article": "loi 2008-025 art. 5"}],
               "legal_basis": "code de procédure pénale, art. 121"}),
    );
    let order_ref = format!("PJS/MD/{y19}/{:04}", 100 + i);
    let order_until = t + 365 * DAY;
    let order_event = w.record(
        &mut chain,
        "pole-clerk",
        K::DetentionOrder,
        t + 2 * HOUR,
        HOUR,
        json!({"issuing_authority": "Juge d'instruction du pôle judiciaire spécialisé", "order_ref": order_ref,
               "offence_class": "crime", "start": at(t), "valid_until": at(order_until),
               "legal_basis": "code de procédure pénale, art. 135 (mandat de dépôt, matière criminelle)",
               "case_ref": case_ref}),
    );
    let (prison_registrar, prison_medical, facility) = if i % 5 < 3 {
        ("mca-registrar", "mca-medical", "mca-bamako")
    } else {
        ("koulikoro-registrar", "koulikoro-medical", "koulikoro")
    };
    let high = w.rng.chance(40);
    w.record(
        &mut chain,
        "camp1-opj",
        K::PlacementDecision,
        t + 3 * HOUR,
        HOUR,
        json!({"destination_facility": facility, "security_classification": if high { "high" } else { "medium" },
               "reasons": "placement decided on the judge's order and the available information",
               "authority": "ml-gendarmerie-camp1"}),
    );
    let answered = ending != Ending::UnansweredHandover;
    let Some(t) = handover(
        w,
        &mut chain,
        "camp1-opj",
        prison_registrar,
        Some(facility),
        t + DAY,
        4 * HOUR,
        true,
        answered,
    ) else {
        return;
    };
    let registry = format!(
        "{}-{y19}-{:05}",
        if facility == "mca-bamako" {
            "MCA"
        } else {
            "KLK"
        },
        1000 + i
    );
    let cell = 1 + w.rng.below(40);
    let interviewed = w.rng.chance(70);
    let admission = w.record(
        &mut chain,
        prison_registrar,
        K::Admission,
        t + HOUR,
        2 * HOUR,
        json!({"facility": facility, "registry_number": registry,
               "commitment_order_event": order_event.to_hex(), "commitment_order_ref": order_ref,
               "commitment_authority": "Juge d'instruction du pôle judiciaire spécialisé",
               "commitment_grounds": "mandat de dépôt", "legal_status": "pre_trial_detention",
               "unit_or_cell": format!("quartier B, cellule {cell}"),
               "rules_explained": true, "rules_language": language,
               "belongings": [{"label": "mobile phone", "quantity": 1}, {"label": "cash", "quantity": 1, "money": {"currency": "XOF", "amount": 5000}}],
               "social_interview_done": interviewed,
               "visible_injuries": no_finding(), "complaints_of_ill_treatment": no_finding(),
               "next_of_kin": [{"name": "frère", "relationship": "brother", "location": "Gao"}]}),
    );
    w.record(
        &mut chain,
        prison_medical,
        K::MedicalScreening,
        t + 5 * HOUR,
        HOUR,
        json!({"examined_by": "prison medical service", "profession": if prison_medical == "mca-medical" { "doctor" } else { "nurse" },
               "consent_given": true, "findings": "general condition fair; malaria test negative",
               "signs_of_ill_treatment": false, "fit_for_detention": true}),
    );
    w.record(
        &mut chain,
        prison_registrar,
        K::RiskAssessment,
        t + 3 * DAY,
        HOUR,
        json!({"level": if high { "high" } else { "medium" }, "tool": "outil d'évaluation des risques (2019)",
               "assessor": "service socio-éducatif", "reasons": "assessed on the limited file received at intake"}),
    );
    if extras.legal {
        w.record(
            &mut chain,
            prison_registrar,
            K::Correction,
            t + 4 * DAY,
            HOUR,
            json!({"corrects": admission.to_hex(), "reason": "registry number mistyped at intake",
                   "corrected_fields": {"registry_number": format!("MCA-{y19}-{:05}", 2000 + i)}}),
        );
        w.record(
            &mut chain,
            "pole-judge",
            K::AccessRestricted,
            t + 5 * DAY,
            HOUR,
            json!({"decision_ref": format!("PJS/ORD/{y19}/{:04}", i), "authority": "Juge d'instruction du pôle judiciaire spécialisé",
                   "reasons": "risk to an ongoing investigation into co-suspects still at large",
                   "until": at(t + 35 * DAY)}),
        );
        w.record(
            &mut chain,
            "pole-judge",
            K::Redaction,
            t + 6 * DAY,
            HOUR,
            json!({"event": w.last_redacted().map(|h| h.to_hex()), "reason": "photograph shows a child of the family",
                   "authority": "Juge d'instruction du pôle judiciaire spécialisé", "decision_ref": format!("PJS/ORD/{y19}/{:04}-R", i)}),
        );
    }
    if extras.icrc_visit {
        w.record(
            &mut chain,
            prison_registrar,
            K::Visit,
            t + 20 * DAY,
            HOUR,
            json!({"visitor_type": "icrc"}),
        );
    }
    if extras.rule8 {
        rule8_file(w, &mut chain, prison_registrar, prison_medical, facility, t);
    }
    match ending {
        Ending::Death => {
            w.record(
                &mut chain,
                prison_registrar,
                K::DeathInCustody,
                t + 40 * DAY,
                2 * HOUR,
                json!({"facility": facility, "circumstances": "found unconscious in the cell at morning count",
                       "cause": "pending autopsy", "certified_by": "prison doctor", "autopsy_requested": true,
                       "investigation_authority": "Procureur de Koulikoro", "remains_destination": "returned to the family in Gao"}),
            );
            return;
        }
        Ending::Escape => {
            w.record(
                &mut chain,
                prison_registrar,
                K::Escape,
                t + 30 * DAY,
                3 * HOUR,
                json!({"facility": facility, "circumstances": "missing at evening count after a transfer to court",
                       "reported_to": "Procureur du pôle judiciaire spécialisé"}),
            );
            w.record(
                &mut chain,
                prison_registrar,
                K::FamilyNotified,
                t + 31 * DAY,
                HOUR,
                json!({"who": "brother", "means": "via_icrc", "subject": "transfer", "reached": false}),
            );
            return;
        }
        _ => {}
    }
    // Hearings.
    let hearing = t + (90 + w.rng.below(60) as i64) * DAY;
    w.record(
        &mut chain,
        "pole-clerk",
        K::HearingScheduled,
        t + 10 * DAY,
        HOUR,
        json!({"court": "ml-pole-judiciaire", "hearing_at": at(hearing), "case_ref": case_ref, "purpose": "investigation"}),
    );
    let produced = !extras.not_produced;
    let counsel = w.rng.chance(40);
    let mut held = json!({"court": "ml-pole-judiciaire", "hearing_at": at(hearing), "case_ref": case_ref,
           "produced": produced, "counsel_present": counsel,
           "outcome": if produced { "detention_maintained" } else { "adjourned" }});
    if counsel {
        held["counsel_name"] = Value::from("Me D. Sow, commis d'office");
    }
    if !produced {
        held["reason_not_produced"] =
            Value::from("no vehicle available for the transfer from the prison");
    }
    w.record(
        &mut chain,
        "pole-clerk",
        K::HearingHeld,
        hearing,
        4 * HOUR,
        held,
    );
    if matches!(ending, Ending::Convicted) || extras.second_extension {
        w.record(
            &mut chain,
            "pole-clerk",
            K::DetentionExtended,
            order_until - 5 * DAY,
            HOUR,
            json!({"order_event": order_event.to_hex(), "order_ref": order_ref, "extension_ref": format!("{order_ref}/P1"),
                   "issuing_authority": "Juge d'instruction du pôle judiciaire spécialisé",
                   "valid_until": at(order_until + 365 * DAY), "reasons": "investigation abroad pending (commission rogatoire)"}),
        );
    }
    let judgment_at = order_until + 30 * DAY;
    match ending {
        Ending::Convicted => {
            w.record(
                &mut chain,
                "pole-clerk",
                K::Judgment,
                judgment_at,
                DAY,
                json!({"court": "Cour d'assises de Bamako (pôle spécialisé)", "judgment_ref": format!("CA/{y20}/{:04}", i),
                       "case_ref": case_ref, "outcome": "convicted",
                       "convicted_of": [{"offence": "détention illégale d'arme de guerre"}],
                       "sentence_months": 60, "custodial": true}),
            );
        }
        Ending::Acquitted => {
            w.record(
                &mut chain,
                "pole-clerk",
                K::Judgment,
                judgment_at,
                DAY,
                json!({"court": "Cour d'assises de Bamako (pôle spécialisé)", "judgment_ref": format!("CA/{y20}/{:04}", i),
                       "case_ref": case_ref, "outcome": "acquitted", "custodial": false}),
            );
            release_from_prison(
                w,
                &mut chain,
                prison_registrar,
                facility,
                judgment_at + DAY,
                "acquitted",
                &format!("CA/{y20}/{i:04}"),
            );
        }
        Ending::ProvisionalRelease => {
            release_from_prison(
                w,
                &mut chain,
                prison_registrar,
                facility,
                hearing + 2 * DAY,
                "provisional_release",
                &format!("{order_ref}/MLP"),
            );
        }
        _ => {}
    }
}

/// Counsel appointed, a complaint of ill-treatment, the injury the nurse observes, a sanction
/// of 20 days' solitary confinement decided without hearing the person, and the prosecutor's
/// answer to the complaint (Mandela Rule 8).
fn rule8_file(
    w: &mut World,
    chain: &mut ChainWriter,
    registrar: &str,
    medical: &str,
    facility: &str,
    t: i64,
) {
    let counsel_key = w.public_key(crate::world::COUNSEL_ACTOR);
    w.record(
        chain,
        "pole-judge",
        K::CounselAppointed,
        t + 21 * DAY,
        HOUR,
        json!({"counsel_key": counsel_key, "counsel_name": "Maître A. Touré", "bar_number": "BM-0412",
               "chosen_by_detainee": true, "authority": "Juge d'instruction du pôle judiciaire spécialisé"}),
    );
    w.record(
        chain,
        registrar,
        K::DisciplinarySanction,
        t + 22 * DAY,
        HOUR,
        json!({"facility": facility, "offence_found": "fight in the courtyard of quartier B",
               "sanction": "solitary_confinement", "start": at(t + 22 * DAY), "days": 20,
               "decided_by": "commission de discipline", "hearing_held": false, "appeal_informed": false}),
    );
    let complaint = w.record(
        chain,
        registrar,
        K::ComplaintLodged,
        t + 23 * DAY,
        HOUR,
        json!({"lodged_by": "counsel", "addressed_to": "prosecutor", "subject": "ill_treatment",
               "lodged_at": at(t + 23 * DAY),
               "complaint": "says he was beaten by guards when taken to the disciplinary block"}),
    );
    w.record(
        chain,
        medical,
        K::InjuryRecorded,
        t + 23 * DAY + 2 * HOUR,
        HOUR,
        json!({"observed_at": at(t + 23 * DAY + 2 * HOUR), "observed_by": "prison medical service",
               "description": "bruising of both forearms and the back, a few days old", "severity": "moderate",
               "cause_stated": "beaten by guards", "ill_treatment_alleged": true, "reported_to_prosecutor": true}),
    );
    w.record(
        chain,
        "pole-prosecutor",
        K::ComplaintAnswered,
        t + 30 * DAY,
        HOUR,
        json!({"complaint_event": complaint.to_hex(), "answered_by": "Procureur du pôle judiciaire spécialisé",
               "answered_at": at(t + 30 * DAY), "outcome": "investigation_opened",
               "answer": "a forensic examination is ordered and an investigation opened"}),
    );
}

fn release_from_prison(
    w: &mut World,
    chain: &mut ChainWriter,
    registrar: &str,
    facility: &str,
    t: i64,
    reason: &str,
    order_ref: &str,
) {
    w.record(
        chain,
        registrar,
        K::Release,
        t,
        2 * HOUR,
        json!({"facility": facility, "place": place("Bamako", "prison gate"), "reason": reason,
               "authority": "Pôle judiciaire spécialisé", "order_ref": order_ref,
               "verification": {"method": "signed_by_released_person"},
               "belongings_returned": [{"label": "mobile phone", "quantity": 1}]}),
    );
}
