//! The whereabouts, the relatives' view (art. 18, 20), the timeline and the own file, over
//! signed records folded by the real projection.

mod common;

use common::{set, Chain};
use custody_core::kinds::bodies::{AgencyType, FacilityKind};
use custody_core::{EventKind as K, Timestamp};
use custody_views::detainee::{AccessRestriction, AgencyEntry, FacilityEntry, Projection};
use custody_views::i18n::Lang;
use custody_views::own_file::own_file;
use custody_views::timeline::{timeline, Detail, Mark, Shown};
use custody_views::whereabouts::{relatives_view, restriction_in_force, whereabouts, Current};
use serde_json::json;

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// Arrested at Sévaré by the gendarmerie on 3 March 2026 at 06:40, police custody at its
/// post, a detention order, handed to the prison administration, admitted at MCA Bamako,
/// screened by a doctor on 6 March.
fn story() -> (Chain, Projection) {
    let mut c = Chain::new(1);
    c.add(K::Arrest, "2026-03-03T06:40:00Z", "ml-gendarmerie-sevare", |b| {
        set(b, "ordering_authority", json!("Procureur de la République, Mopti"));
        set(b, "place", json!({"description": "poste de contrôle nord", "region": "Mopti", "locality": "Sévaré"}));
    });
    c.add(
        K::PoliceCustodyStarted,
        "2026-03-03T08:00:00Z",
        "ml-gendarmerie-sevare",
        |b| {
            set(b, "facility", json!("ml-post-sevare"));
        },
    );
    let order = c.add(
        K::DetentionOrder,
        "2026-03-05T10:00:00Z",
        "ml-pjs-bamako",
        |b| {
            set(
                b,
                "issuing_authority",
                json!("Juge d'instruction, Pôle judiciaire spécialisé"),
            );
            set(b, "start", json!("2026-03-05T10:00:00Z"));
            set(b, "valid_until", json!("2027-03-05T10:00:00Z"));
        },
    );
    c.add(
        K::CustodyReleased,
        "2026-03-05T12:00:00Z",
        "ml-gendarmerie-sevare",
        |b| {
            set(b, "to_agency", json!("ml-dnap"));
            set(b, "to_facility", json!("ml-mca-bamako"));
        },
    );
    let release = c.records.last().unwrap().hash;
    c.add(K::CustodyAccepted, "2026-03-06T09:00:00Z", "ml-dnap", |b| {
        set(b, "release_event", json!(release.to_hex()));
        set(b, "facility", json!("ml-mca-bamako"));
    });
    c.add(K::Admission, "2026-03-06T09:30:00Z", "ml-dnap", |b| {
        set(b, "facility", json!("ml-mca-bamako"));
        set(b, "commitment_order_event", json!(order.to_hex()));
    });
    c.add(
        K::MedicalScreening,
        "2026-03-06T11:00:00Z",
        "ml-dnap",
        |b| {
            set(b, "findings", json!("SECRET MEDICAL FINDING"));
        },
    );
    let mut p = Projection::of_records(c.records.iter());
    let facility = |agency: &str, name: &str, recognised| FacilityEntry {
        agency: agency.into(),
        name: name.into(),
        kind: FacilityKind::Prison,
        capacity: 400,
        officially_recognised: recognised,
    };
    p.directory.facilities.insert(
        "ml-mca-bamako".into(),
        facility("ml-dnap", "Maison centrale d'arrêt de Bamako", true),
    );
    p.directory.facilities.insert(
        "ml-post-sevare".into(),
        facility("ml-gendarmerie-sevare", "Brigade de Sévaré", true),
    );
    p.directory.agencies.insert(
        "ml-dnap".into(),
        AgencyEntry {
            name: "Direction nationale de l'administration pénitentiaire".into(),
            agency_type: AgencyType::Prison,
            country: "ML".into(),
            acronym: None,
            parent: None,
            supervising_authority: Some("Ministère de la Justice".into()),
        },
    );
    (c, p)
}

const AT: &str = "2026-04-01T08:00:00Z";

#[test]
fn whereabouts_give_the_art18_fields_and_never_medical_content() {
    let (c, p) = story();
    let w = whereabouts(&p, &c.id, &c.records, &ts(AT)).unwrap();
    assert_eq!(
        w.ordering_authority.as_deref(),
        Some("Juge d'instruction, Pôle judiciaire spécialisé")
    );
    assert_eq!(w.deprived_at, Some(ts("2026-03-03T06:40:00Z")));
    assert_eq!(w.deprived_by.as_deref(), Some("ml-gendarmerie-sevare"));
    assert_eq!(
        w.deprived_place.as_deref(),
        Some("poste de contrôle nord, Sévaré, Mopti")
    );
    assert_eq!(
        w.admission,
        Some((ts("2026-03-06T09:30:00Z"), Some("ml-mca-bamako".into())))
    );
    assert_eq!(
        w.supervising_authority.as_deref(),
        Some("Ministère de la Justice")
    );
    match &w.current {
        Current::Held {
            agency,
            facility,
            recognised,
            ..
        } => {
            assert_eq!(agency, "ml-dnap");
            assert_eq!(facility.as_deref(), Some("ml-mca-bamako"));
            assert!(recognised);
        }
        other => panic!("{other:?}"),
    }
    let stays: Vec<_> = w
        .stays
        .iter()
        .map(|s| (s.facility.as_str(), s.until.is_some()))
        .collect();
    assert_eq!(stays, [("ml-post-sevare", true), ("ml-mca-bamako", false)]);
    assert_eq!(w.medical_screenings, [ts("2026-03-06T11:00:00Z")]);

    let fr = w.render(Lang::Fr, false);
    assert!(fr.contains("La personne est en vie et détenue par Direction nationale de l'administration pénitentiaire (ml-dnap)"), "{fr}");
    assert!(
        fr.contains("un examen médical a eu lieu le 6 mars 2026"),
        "{fr}"
    );
    assert!(fr.contains("3 mars 2026 à 6 h 40"), "{fr}");
    let en = w.render(Lang::En, true);
    assert!(en.contains("The person is alive and held by"), "{en}");
    assert!(
        en.contains("a medical screening took place on 6 March 2026"),
        "{en}"
    );
    for text in [fr, en, w.to_json().to_string()] {
        assert!(!text.contains("SECRET MEDICAL FINDING"));
    }
}

fn restriction(
    until: &str,
    review_by: Option<&str>,
    reasoned: bool,
    review_at: Option<&str>,
) -> AccessRestriction {
    AccessRestriction {
        event: custody_core::Hash([9; 32]),
        decided_at: ts("2026-03-10T00:00:00Z"),
        agency: "ml-pjs-bamako".into(),
        authority: None,
        until: Some(ts(until)),
        review_by: review_by.map(str::to_string),
        review_at: review_at.map(ts),
        reasoned: Some(reasoned),
    }
}

#[test]
fn art20_restrictions_apply_only_when_reasoned_time_limited_and_reviewed() {
    let (c, mut p) = story();
    let at = ts(AT);
    let fold = p.detainees.get_mut(&c.id).unwrap();
    let cases = [
        (
            restriction(
                "2026-05-01T00:00:00Z",
                Some("Chambre d'accusation"),
                true,
                None,
            ),
            true,
        ),
        (
            restriction(
                "2026-05-01T00:00:00Z",
                Some("Chambre d'accusation"),
                false,
                None,
            ),
            false,
        ),
        (restriction("2026-05-01T00:00:00Z", None, true, None), false),
        (
            restriction(
                "2026-04-01T08:00:00Z",
                Some("Chambre d'accusation"),
                true,
                None,
            ),
            false,
        ),
        (
            restriction(
                "2026-05-01T00:00:00Z",
                Some("Chambre d'accusation"),
                true,
                Some("2026-03-31T00:00:00Z"),
            ),
            false,
        ),
        (
            restriction(
                "2026-05-01T00:00:00Z",
                Some("Chambre d'accusation"),
                true,
                Some("2026-04-02T00:00:00Z"),
            ),
            true,
        ),
    ];
    // No `reasoned` fact: the schema requires the reasons, so the record is reasoned.
    let mut unstated = restriction(
        "2026-05-01T00:00:00Z",
        Some("Chambre d'accusation"),
        true,
        None,
    );
    unstated.reasoned = None;
    let cases: Vec<_> = cases.into_iter().chain([(unstated, true)]).collect();
    for (r, applies) in cases {
        fold.restrictions = vec![r.clone()];
        assert_eq!(restriction_in_force(fold, &at).is_some(), applies, "{r:?}");
    }
    fold.restrictions = vec![restriction(
        "2026-05-01T00:00:00Z",
        Some("Chambre d'accusation"),
        true,
        None,
    )];

    let official = whereabouts(&p, &c.id, &c.records, &at).unwrap();
    assert!(!official.withheld && official.restriction.is_some());
    let rel = relatives_view(&p, &c.id, &c.records, &at).unwrap();
    assert!(rel.withheld);
    assert!(rel.stays.is_empty() && rel.deprived_place.is_none());
    // Never hidden: alive, held by a named authority, since when.
    match &rel.current {
        Current::Held {
            agency, facility, ..
        } => {
            assert_eq!(agency, "ml-dnap");
            assert_eq!(*facility, None);
        }
        other => panic!("{other:?}"),
    }
    let fr = rel.render(Lang::Fr, true);
    assert!(fr.contains("La personne est en vie et détenue par"), "{fr}");
    assert!(fr.contains("non communiqué (restriction art. 20)"), "{fr}");
    assert!(
        fr.contains("Restriction d'information en vigueur (art. 20) jusqu'au 1 mai 2026"),
        "{fr}"
    );
    assert!(
        !fr.contains("Maison centrale") && !fr.contains("Sévaré"),
        "{fr}"
    );
    // Past its end, the same restriction no longer applies.
    let later = relatives_view(&p, &c.id, &c.records, &ts("2026-05-01T00:00:00Z")).unwrap();
    assert!(!later.withheld && later.stays.len() == 2);
}

#[test]
fn timeline_marks_each_event_and_headers_only_shows_no_payload() {
    let (c, _) = story();
    let marked = c.records.iter().enumerate().map(|(i, r)| {
        (
            r,
            if i == 2 {
                Mark::Failed("signature".into())
            } else {
                Mark::Verified
            },
        )
    });
    let tl = timeline(&c.id, marked, Detail::Payloads);
    assert_eq!(tl.entries.len(), 7);
    assert!(!tl.all_verified());
    assert_eq!(tl.entries[0].kind, "arrest");
    assert!(matches!(tl.entries[0].payload, Shown::Body(_)));
    assert_eq!(tl.entries[6].payload, Shown::MedicalWithheld);
    let fr = tl.render(Lang::Fr);
    assert!(
        fr.contains("mandat de dépôt") && fr.contains("NON VÉRIFIÉ (signature)"),
        "{fr}"
    );
    assert!(fr.contains("✓ vérifié"), "{fr}");
    assert!(!fr.contains("SECRET MEDICAL FINDING"));
    let en = tl.render(Lang::En);
    assert!(
        en.contains("detention order") && en.contains("NOT VERIFIED"),
        "{en}"
    );

    let headers = timeline(
        &c.id,
        c.records.iter().map(|r| (r, Mark::Verified)),
        Detail::HeadersOnly,
    );
    assert!(headers.entries.iter().all(|e| e.payload == Shown::NotShown));
    let j = headers.to_json().to_string();
    assert!(
        !j.contains("poste de contrôle") && !j.contains("SECRET"),
        "{j}"
    );
    assert!(headers.all_verified());
}

#[test]
fn own_file_holds_every_record_but_medical_notes() {
    let (c, _) = story();
    let f = own_file(&c.id, c.records.iter().map(|r| (r, Mark::Verified)));
    assert_eq!(f.timeline.entries.len(), 7);
    let text = f.render(Lang::Fr);
    assert!(
        text.starts_with("Dossier personnel (règle Nelson Mandela 8)"),
        "{text}"
    );
    assert!(text.contains("poste de contrôle nord"), "{text}");
    assert!(
        text.contains("note médicale réservée au personnel soignant"),
        "{text}"
    );
    assert!(!text.contains("SECRET MEDICAL FINDING"));
    assert!(!f.to_json().to_string().contains("SECRET MEDICAL FINDING"));
    assert_eq!(f.rule8().count(), 0);
}
