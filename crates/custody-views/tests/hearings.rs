//! The hearing calendar worked out by hand, on 10 June 2026 at 08:00 ("at").
//!
//! | person | custody | hearing | recorded held? | expected |
//! |---|---|---|---|---|
//! | H1 | held at f-a | c-1, 10 June 09:00, RP-1 | no | upcoming, c-1 10 June, produce from f-a |
//! | H2 | held at f-b | c-1, 10 June 08:30, RP-2 | no | upcoming, c-1 10 June, before H1 |
//! | H3 | held at f-a | c-2, 12 June 10:00, RP-3 | no | upcoming, c-2 12 June |
//! | H4 | held at f-a | c-1, 9 June 09:00, RP-4 | held, not produced ("no vehicle") | not produced, reason from the payload |
//! | H5 | held at f-b | c-1, 8 June 09:00, RP-5 | no | not produced: no record of the hearing |
//! | H6 | held at f-a | c-1, 9 June 11:00, RP-6 | held, produced | nowhere |
//! | H7 | released | c-1, 11 June 09:00 | no | nowhere (not deprived of liberty) |
//! | H8 | held at f-a | c-1, 10 June 07:00 (earlier today) | no | upcoming: the day is not over |
//! | H9 | f-b until 9 June 12:00, then f-a | c-1, 9 June 09:00, RP-9 | no | not produced, from f-b (where the person was then) |

mod common;

use common::{set, Chain};
use custody_core::{EventKind as K, Hash, Timestamp};
use custody_views::calendar::Date;
use custody_views::detainee::{
    CustodyState, DetaineeFold, Hearing, HeldHearing, Projection, ScheduledHearing, Stay,
};
use custody_views::hearings::{hearings, HearingFilter, NotProducedReason};
use custody_views::i18n::Lang;
use serde_json::json;

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

struct H {
    n: u8,
    held_at: Option<&'static str>,
    court: &'static str,
    when: &'static str,
    case_ref: &'static str,
    produced: Option<bool>,
}

fn fold(h: &H, held_event: Option<Hash>) -> DetaineeFold {
    let chain =
        custody_core::ids::detainee_chain_id((0x018d_0000_0000u128 << 80) | u128::from(h.n));
    let mut f = DetaineeFold::new(&chain);
    let since = ts("2026-01-01T00:00:00Z");
    f.custody = match h.held_at {
        Some(_) => CustodyState::Held {
            agency: "ml-dnap".into(),
            since: since.clone(),
        },
        None => CustodyState::Released {
            at: ts("2026-06-01T00:00:00Z"),
        },
    };
    if let Some(facility) = h.held_at {
        f.stays.push(Stay {
            facility: facility.into(),
            agency: "ml-dnap".into(),
            from: since,
            until: None,
        });
    }
    f.hearings.push(Hearing {
        scheduled: Some(ScheduledHearing {
            event: Hash([h.n; 32]),
            scheduled_at: ts("2026-05-01T00:00:00Z"),
            hearing_at: Some(ts(h.when)),
            court: Some(h.court.into()),
            case_ref: Some(h.case_ref.into()),
        }),
        held: h.produced.map(|produced| HeldHearing {
            event: held_event.unwrap_or(Hash([h.n + 100; 32])),
            occurred_at: ts(h.when),
            hearing_at: Some(ts(h.when)),
            court: Some(h.court.into()),
            case_ref: Some(h.case_ref.into()),
            produced: Some(produced),
        }),
    });
    f
}

fn calendar_projection() -> (Projection, Chain) {
    // The `hearing_held` of H4, signed, whose payload gives the reason.
    let mut c = Chain::new(44);
    c.add(
        K::HearingHeld,
        "2026-06-09T09:00:00Z",
        "ml-pjs-bamako",
        |b| {
            set(b, "produced", json!(false));
            set(
                b,
                "reason_not_produced",
                json!("pas de véhicule de transfert"),
            );
            set(b, "counsel_present", json!(false));
            if let Some(o) = b.as_object_mut() {
                o.remove("counsel_name");
            }
        },
    );
    let held4 = c.records[0].hash;
    let people = [
        H {
            n: 1,
            held_at: Some("f-a"),
            court: "c-1",
            when: "2026-06-10T09:00:00Z",
            case_ref: "RP-1",
            produced: None,
        },
        H {
            n: 2,
            held_at: Some("f-b"),
            court: "c-1",
            when: "2026-06-10T08:30:00Z",
            case_ref: "RP-2",
            produced: None,
        },
        H {
            n: 3,
            held_at: Some("f-a"),
            court: "c-2",
            when: "2026-06-12T10:00:00Z",
            case_ref: "RP-3",
            produced: None,
        },
        H {
            n: 4,
            held_at: Some("f-a"),
            court: "c-1",
            when: "2026-06-09T09:00:00Z",
            case_ref: "RP-4",
            produced: Some(false),
        },
        H {
            n: 5,
            held_at: Some("f-b"),
            court: "c-1",
            when: "2026-06-08T09:00:00Z",
            case_ref: "RP-5",
            produced: None,
        },
        H {
            n: 6,
            held_at: Some("f-a"),
            court: "c-1",
            when: "2026-06-09T11:00:00Z",
            case_ref: "RP-6",
            produced: Some(true),
        },
        H {
            n: 7,
            held_at: None,
            court: "c-1",
            when: "2026-06-11T09:00:00Z",
            case_ref: "RP-7",
            produced: None,
        },
        H {
            n: 8,
            held_at: Some("f-a"),
            court: "c-1",
            when: "2026-06-10T07:00:00Z",
            case_ref: "RP-8",
            produced: None,
        },
    ];
    let mut p = Projection::new();
    for h in &people {
        let f = fold(h, (h.n == 4).then_some(held4));
        p.detainees.insert(f.chain.clone(), f);
    }
    // H9: at f-b until 9 June 12:00, then at f-a; its hearing of 9 June 09:00 has no record:
    // f-b had to produce the person.
    let h9 = H {
        n: 9,
        held_at: Some("f-b"),
        court: "c-1",
        when: "2026-06-09T09:00:00Z",
        case_ref: "RP-9",
        produced: None,
    };
    let mut f = fold(&h9, None);
    f.stays[0].until = Some(ts("2026-06-09T12:00:00Z"));
    f.stays.push(Stay {
        facility: "f-a".into(),
        agency: "ml-dnap".into(),
        from: ts("2026-06-09T12:00:00Z"),
        until: None,
    });
    p.detainees.insert(f.chain.clone(), f);
    (p, c)
}

const AT: &str = "2026-06-10T08:00:00Z";

#[test]
fn upcoming_by_court_and_day_with_the_facility_to_produce_from() {
    let (p, _) = calendar_projection();
    let cal = hearings(&p, &ts(AT), &HearingFilter::default());
    let days: Vec<_> = cal
        .upcoming
        .iter()
        .map(|cd| {
            (
                cd.court.as_deref().unwrap(),
                cd.day.to_string(),
                cd.hearings
                    .iter()
                    .map(|h| (h.case_ref.clone().unwrap(), h.produce_from.clone().unwrap()))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        days,
        [
            (
                "c-1",
                "2026-06-10".to_string(),
                vec![s("RP-8", "f-a"), s("RP-2", "f-b"), s("RP-1", "f-a")]
            ),
            ("c-2", "2026-06-12".to_string(), vec![s("RP-3", "f-a")]),
        ]
    );
}

#[test]
fn after_the_day_who_was_not_produced_and_why() {
    let (p, c) = calendar_projection();
    let mut cal = hearings(&p, &ts(AT), &HearingFilter::default());
    let got: Vec<_> = cal
        .not_produced
        .iter()
        .map(|n| (n.hearing.case_ref.clone().unwrap(), n.reason.clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("RP-5".to_string(), NotProducedReason::NoRecord),
            // RP-4 and RP-9 at the same time: by human code.
            ("RP-9".to_string(), NotProducedReason::NoRecord),
            ("RP-4".to_string(), NotProducedReason::Recorded(None)),
        ]
    );
    // A past hearing names the facility that held the person at its time, not the current one.
    assert_eq!(
        cal.not_produced[1].hearing.produce_from.as_deref(),
        Some("f-b")
    );
    cal.fill_reasons(c.records.iter());
    assert_eq!(
        cal.not_produced[2].reason,
        NotProducedReason::Recorded(Some("pas de véhicule de transfert".into()))
    );
    let fr = cal.render(Lang::Fr);
    assert!(fr.contains("aucun procès-verbal de l'audience"), "{fr}");
    assert!(fr.contains("pas de véhicule de transfert"), "{fr}");
    assert!(fr.contains("c-1 — 10 juin 2026"), "{fr}");
    assert!(fr.contains("8 h 30"), "{fr}");
    let en = cal.render(Lang::En);
    assert!(
        en.contains("no record of the hearing") && en.contains("08:30"),
        "{en}"
    );
    let j = cal.to_json();
    assert_eq!(j["not_produced"][0]["reason"], "no_record");
    assert_eq!(
        j["not_produced"][2]["reason_text"],
        "pas de véhicule de transfert"
    );
    let csv = cal.to_csv();
    assert_eq!(csv.lines().count(), 1 + 4 + 3);
}

#[test]
fn filters_by_day_and_court() {
    let (p, _) = calendar_projection();
    let day = |d: &str, court: Option<&str>| HearingFilter {
        day: Date::parse(d),
        court: court.map(str::to_string),
    };
    let cal = hearings(&p, &ts(AT), &day("2026-06-09", None));
    assert!(cal.upcoming.is_empty());
    assert_eq!(cal.not_produced.len(), 2);
    let cal = hearings(&p, &ts(AT), &day("2026-06-12", Some("c-1")));
    assert!(cal.upcoming.is_empty() && cal.not_produced.is_empty());
    let cal = hearings(
        &p,
        &ts(AT),
        &HearingFilter {
            day: None,
            court: Some("c-2".into()),
        },
    );
    assert_eq!(cal.upcoming.len(), 1);
    assert!(cal.not_produced.is_empty());
}
