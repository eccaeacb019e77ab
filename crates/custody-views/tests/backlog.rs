//! The pre-trial backlog: ageing buckets at their exact boundaries.

use custody_core::Timestamp;
use custody_views::backlog::{days_between, percent, AgeBucket, Ageing};

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

#[test]
fn buckets_change_at_the_exact_calendar_month_boundary() {
    let start = ts("2026-01-15T10:00:00Z");
    let cases = [
        ("2026-01-15T10:00:00Z", AgeBucket::Under1Month),
        ("2026-02-15T09:59:59Z", AgeBucket::Under1Month),
        ("2026-02-15T10:00:00Z", AgeBucket::Months1To6),
        ("2026-07-15T09:59:59Z", AgeBucket::Months1To6),
        ("2026-07-15T10:00:00Z", AgeBucket::Months6To12),
        ("2027-01-15T09:59:59Z", AgeBucket::Months6To12),
        ("2027-01-15T10:00:00Z", AgeBucket::Years1To2),
        ("2028-01-15T09:59:59Z", AgeBucket::Years1To2),
        ("2028-01-15T10:00:00Z", AgeBucket::Years2To3),
        ("2029-01-15T09:59:59Z", AgeBucket::Years2To3),
        ("2029-01-15T10:00:00Z", AgeBucket::Over3Years),
        ("2040-01-01T00:00:00Z", AgeBucket::Over3Years),
        // A start after the instant (a record dated ahead) is the youngest bucket.
        ("2025-12-01T00:00:00Z", AgeBucket::Under1Month),
    ];
    for (at, want) in cases {
        assert_eq!(AgeBucket::of(&start, &ts(at)), want, "at {at}");
    }
}

#[test]
fn a_month_from_the_31st_ends_on_the_last_day_of_a_shorter_month() {
    let start = ts("2026-01-31T08:00:00Z");
    assert_eq!(
        AgeBucket::of(&start, &ts("2026-02-28T07:59:59Z")),
        AgeBucket::Under1Month
    );
    assert_eq!(
        AgeBucket::of(&start, &ts("2026-02-28T08:00:00Z")),
        AgeBucket::Months1To6
    );
    // A leap year: 31 January 2028 plus one month is 29 February 2028.
    let leap = ts("2028-01-31T08:00:00Z");
    assert_eq!(
        AgeBucket::of(&leap, &ts("2028-02-28T08:00:00Z")),
        AgeBucket::Under1Month
    );
    assert_eq!(
        AgeBucket::of(&leap, &ts("2028-02-29T08:00:00Z")),
        AgeBucket::Months1To6
    );
}

#[test]
fn ageing_counts_add_up() {
    let mut a = Ageing::default();
    a.add(AgeBucket::Under1Month);
    a.add(AgeBucket::Over3Years);
    a.add(AgeBucket::Over3Years);
    assert_eq!(a.get(AgeBucket::Over3Years), 2);
    assert_eq!(a.get(AgeBucket::Months1To6), 0);
    assert_eq!(a.total(), 3);
    let codes: Vec<_> = AgeBucket::ALL.iter().map(|b| b.code()).collect();
    assert_eq!(
        codes,
        [
            "under_1_month",
            "1_6_months",
            "6_12_months",
            "1_2_years",
            "2_3_years",
            "over_3_years"
        ]
    );
}

#[test]
fn days_and_shares() {
    assert_eq!(
        days_between(&ts("2026-01-01T12:00:00Z"), &ts("2026-01-03T11:59:59Z")),
        1
    );
    assert_eq!(
        days_between(&ts("2026-01-01T12:00:00Z"), &ts("2026-01-03T12:00:00Z")),
        2
    );
    assert_eq!(
        days_between(&ts("2026-01-03T00:00:00Z"), &ts("2026-01-01T00:00:00Z")),
        0
    );
    assert_eq!(percent(1, 8), Some(12.5));
    assert_eq!(percent(0, 0), None);
}

mod report {
    //! The backlog of a projection worked out by hand. The report is taken at
    //! 2026-06-01T00:00:00Z ("at").
    //!
    //! | person | custody | status | facility | court | pre-trial since | order valid until | bucket (by hand) | days |
    //! |---|---|---|---|---|---|---|---|---|
    //! | P1 | held | pre-trial | f-a | c-1 | 2026-05-15 | 2026-06-15 | under 1 month | 17 |
    //! | P2 | held | pre-trial | f-a | c-1 | 2025-12-01 00:00 | 2026-05-31 (expired) | 6-12 months (exactly 6) | 182 |
    //! | P3 | held | convicted | f-a | c-2 | - | - | - | - |
    //! | P4 | held | pre-trial | f-b | none | 2023-06-01 00:00 | 2027-01-01 | over 3 years (exactly 36) | 1096 |
    //! | P5 | held | police custody | f-x (not registered) | none | - | - | - | - |
    //! | P6 | gap | pre-trial | none | c-2 | 2026-01-01 | 2026-05-01 (expired) | 1-6 months | 151 |
    //! | P7 | released | released | - | - | - | - | not counted | - |
    //!
    //! f-a: capacity 4, 3 people: 75,0 %; f-b: capacity not set, 1 person; f-x: not registered,
    //! 1 person. P6 is in a custody gap: counted in the backlog, at no facility.

    use custody_core::kinds::bodies::{AgencyType, FacilityKind};
    use custody_core::{Hash, Timestamp};
    use custody_views::backlog::{backlog, AgeBucket, Backlog, BacklogFilter, CSV_HEADER};
    use custody_views::census::LegalStatus;
    use custody_views::detainee::{
        AgencyEntry, CustodyState, DetaineeFold, DetentionOrder, FacilityEntry, Projection, Stay,
    };
    use custody_views::i18n::{Lang, NBSP};

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    struct P {
        n: u8,
        custody: &'static str,
        legal: LegalStatus,
        facility: Option<&'static str>,
        court: Option<&'static str>,
        order: Option<(&'static str, &'static str)>,
    }

    fn fold(p: &P) -> DetaineeFold {
        let chain =
            custody_core::ids::detainee_chain_id((0x018c_c000_0000u128 << 80) | u128::from(p.n));
        let mut f = DetaineeFold::new(&chain);
        let since = ts("2023-01-01T00:00:00Z");
        f.custody = match p.custody {
            "held" => CustodyState::Held {
                agency: "ml-dnap".into(),
                since: since.clone(),
            },
            "gap" => CustodyState::Gap {
                release: Hash([p.n; 32]),
                from: "ml-dnap".into(),
                to: Some("ml-police".into()),
                to_facility: None,
                since: since.clone(),
            },
            _ => CustodyState::Released {
                at: ts("2026-05-01T00:00:00Z"),
            },
        };
        f.legal = p.legal;
        if let Some(facility) = p.facility {
            f.stays.push(Stay {
                facility: facility.into(),
                agency: "ml-dnap".into(),
                from: since.clone(),
                until: None,
            });
        }
        if let Some((start, until)) = p.order {
            f.orders.push(DetentionOrder {
                event: Hash([p.n; 32]),
                issued_at: ts(start),
                agency: "ml-tgi-bamako".into(),
                start: ts(start),
                stated_until: ts(until),
                valid_until: ts(until),
                offence_class: None,
                court: p.court.map(str::to_string),
                case_ref: None,
                extensions: vec![],
            });
        }
        f
    }

    fn projection() -> Projection {
        use LegalStatus::*;
        let people = [
            P {
                n: 1,
                custody: "held",
                legal: PreTrialDetention,
                facility: Some("f-a"),
                court: Some("c-1"),
                order: Some(("2026-05-15T00:00:00Z", "2026-06-15T00:00:00Z")),
            },
            P {
                n: 2,
                custody: "held",
                legal: PreTrialDetention,
                facility: Some("f-a"),
                court: Some("c-1"),
                order: Some(("2025-12-01T00:00:00Z", "2026-05-31T00:00:00Z")),
            },
            P {
                n: 3,
                custody: "held",
                legal: Convicted,
                facility: Some("f-a"),
                court: Some("c-2"),
                order: Some(("2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z")),
            },
            P {
                n: 4,
                custody: "held",
                legal: PreTrialDetention,
                facility: Some("f-b"),
                court: None,
                order: Some(("2023-06-01T00:00:00Z", "2027-01-01T00:00:00Z")),
            },
            P {
                n: 5,
                custody: "held",
                legal: PoliceCustody,
                facility: Some("f-x"),
                court: None,
                order: None,
            },
            P {
                n: 6,
                custody: "gap",
                legal: PreTrialDetention,
                facility: None,
                court: Some("c-2"),
                order: Some(("2026-01-01T00:00:00Z", "2026-05-01T00:00:00Z")),
            },
            P {
                n: 7,
                custody: "released",
                legal: Released,
                facility: None,
                court: Some("c-1"),
                order: Some(("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")),
            },
        ];
        let mut p = Projection::new();
        for person in &people {
            let f = fold(person);
            p.detainees.insert(f.chain.clone(), f);
        }
        let facility = |name: &str, capacity| FacilityEntry {
            agency: "ml-dnap".into(),
            name: name.into(),
            kind: FacilityKind::Prison,
            capacity,
            officially_recognised: true,
        };
        p.directory
            .facilities
            .insert("f-a".into(), facility("Maison centrale, Bamako", 4));
        p.directory
            .facilities
            .insert("f-b".into(), facility("Maison d'arrêt de Koulikoro", 0));
        p.directory
            .facilities
            .insert("f-empty".into(), facility("Prison vide", 10));
        p.directory.agencies.insert(
            "c-1".into(),
            AgencyEntry {
                name: "Pôle judiciaire spécialisé".into(),
                agency_type: AgencyType::Court,
                country: "ML".into(),
                acronym: None,
                parent: None,
                supervising_authority: None,
            },
        );
        p.position = Some(41);
        p
    }

    fn at() -> Timestamp {
        ts("2026-06-01T00:00:00Z")
    }

    fn run(filter: BacklogFilter) -> Backlog {
        backlog(&projection(), &at(), &filter)
    }

    #[test]
    fn counts_shares_buckets_and_expiry_by_facility_and_court() {
        let b = run(BacklogFilter::default());
        let t = &b.total;
        assert_eq!((t.held, t.pre_trial, t.overdue), (6, 4, 2));
        assert_eq!(t.ageing.0, [1, 1, 1, 0, 0, 1]);
        assert_eq!(t.by_status.get(&LegalStatus::Convicted), Some(&1));
        assert_eq!(t.by_status.get(&LegalStatus::PoliceCustody), Some(&1));
        assert_eq!(t.by_status.get(&LegalStatus::Released), None);

        let lines: Vec<_> = b
            .by_facility
            .iter()
            .map(|g| (g.id.as_deref(), g.held, g.pre_trial, g.overdue))
            .collect();
        assert_eq!(
            lines,
            [
                (Some("f-a"), 3, 2, 1),
                (Some("f-b"), 1, 1, 0),
                (Some("f-x"), 1, 0, 0),
                (None, 1, 1, 1)
            ]
        );
        let fa = &b.by_facility[0];
        assert_eq!(fa.name.as_deref(), Some("Maison centrale, Bamako"));
        assert_eq!(fa.ageing.0, [1, 0, 1, 0, 0, 0]);
        assert!((fa.pre_trial_percent().unwrap() - 200.0 / 3.0).abs() < 1e-9);
        assert_eq!(b.by_facility[2].pre_trial_percent(), Some(0.0));

        let courts: Vec<_> = b
            .by_court
            .iter()
            .map(|g| (g.id.as_deref(), g.held, g.pre_trial, g.overdue))
            .collect();
        assert_eq!(
            courts,
            [
                (Some("c-1"), 2, 2, 1),
                (Some("c-2"), 2, 1, 1),
                (None, 2, 1, 0)
            ]
        );
        assert_eq!(
            b.by_court[0].name.as_deref(),
            Some("Pôle judiciaire spécialisé")
        );
        assert_eq!(b.by_court[1].name, None);

        let waits: Vec<_> = b
            .longest_waits
            .iter()
            .map(|w| (w.days, w.bucket, w.overdue))
            .collect();
        assert_eq!(
            waits,
            [
                (1096, AgeBucket::Over3Years, false),
                (182, AgeBucket::Months6To12, true),
                (151, AgeBucket::Months1To6, true),
                (17, AgeBucket::Under1Month, false),
            ]
        );
    }

    #[test]
    fn occupancy_against_capacity() {
        let b = run(BacklogFilter::default());
        let occ: Vec<_> = b
            .occupancy
            .iter()
            .map(|o| {
                (
                    o.facility.as_str(),
                    o.population,
                    o.capacity,
                    o.occupancy_percent(),
                )
            })
            .collect();
        assert_eq!(
            occ,
            [
                ("f-a", 3, 4, Some(75.0)),
                ("f-b", 1, 0, None),
                ("f-empty", 0, 10, Some(0.0)),
                ("f-x", 1, 0, None),
            ]
        );
        assert!(!b.occupancy[3].officially_recognised && b.occupancy[3].name.is_none());
    }

    #[test]
    fn filters_narrow_the_people_counted() {
        let f = |facility: Option<&str>, court: Option<&str>, status, overdue_only| BacklogFilter {
            facility: facility.map(str::to_string),
            court: court.map(str::to_string),
            status,
            overdue_only,
            agency: None,
        };
        let b = run(f(Some("f-a"), None, None, false));
        assert_eq!((b.total.held, b.total.pre_trial), (3, 2));
        assert_eq!(b.occupancy.len(), 1);
        assert_eq!(b.occupancy[0].population, 3);
        let b = run(f(None, Some("c-2"), None, false));
        assert_eq!(
            (b.total.held, b.total.pre_trial, b.total.overdue),
            (2, 1, 1)
        );
        let b = run(f(None, None, Some(LegalStatus::Convicted), false));
        assert_eq!((b.total.held, b.total.pre_trial), (1, 0));
        // Occupancy is physical: a status filter does not empty the prisons.
        assert_eq!(b.occupancy[0].population, 3);
        let b = run(f(None, None, None, true));
        assert_eq!((b.total.held, b.total.overdue), (2, 2));
        let codes: Vec<_> = b.longest_waits.iter().map(|w| w.days).collect();
        assert_eq!(codes, [182, 151]);
        let b = run(f(Some("f-a"), None, None, true));
        assert_eq!(b.total.held, 1);
        let b = run(f(Some("nowhere"), None, None, false));
        assert_eq!(b.total.held, 0);
        assert!(b.by_facility.is_empty() && b.occupancy.is_empty());
        // A registrar's backlog, narrowed to its agency (ml-dnap holds P1-P5; P6 is in a gap,
        // held by nobody; f-x is registered to nobody): P1-P5, three of them pre-trial; the
        // occupancy of ml-dnap's prisons only (f-a, f-b and the empty one).
        let own = |agency: &str| BacklogFilter {
            agency: Some(agency.to_string()),
            ..BacklogFilter::default()
        };
        let b = run(own("ml-dnap"));
        assert_eq!((b.total.held, b.total.pre_trial), (5, 3));
        let occupied: Vec<_> = b.occupancy.iter().map(|o| o.facility.as_str()).collect();
        assert_eq!(occupied, ["f-a", "f-b", "f-empty"]);
        let b = run(own("ml-police"));
        assert_eq!(b.total.held, 0);
        assert!(b.occupancy.is_empty() && b.longest_waits.is_empty());
    }

    #[test]
    fn json_csv_and_text_agree() {
        let b = run(BacklogFilter::default());
        let j = b.to_json();
        assert_eq!(j["total"]["held"], 6);
        assert_eq!(j["total"]["pre_trial_percent"], 66.7);
        assert_eq!(j["total"]["ageing"]["over_3_years"], 1);
        assert_eq!(j["by_facility"][0]["pre_trial_percent"], 66.7);
        assert_eq!(j["by_facility"][3]["id"], serde_json::Value::Null);
        assert_eq!(j["occupancy"][0]["occupancy_percent"], 75.0);
        assert_eq!(
            j["occupancy"][1]["occupancy_percent"],
            serde_json::Value::Null
        );
        assert_eq!(j["longest_waits"][0]["days"], 1096);
        assert_eq!(j["position"], 41);

        let csv = b.to_csv();
        let rows: Vec<Vec<String>> = parse_csv(&csv);
        assert_eq!(rows[0].join(","), CSV_HEADER);
        assert!(rows.iter().all(|r| r.len() == rows[0].len()));
        assert_eq!(rows[1][0], "total");
        assert_eq!(rows[1][3], "6");
        // The name with a comma is quoted and reads back whole.
        let fa = rows.iter().find(|r| r[1] == "f-a").unwrap();
        assert_eq!(fa[2], "Maison centrale, Bamako");
        assert_eq!(fa[5], "66.7");
        assert_eq!(&fa[13..], ["4", "3", "75.0"]);
        let held_by_facility: u64 = rows
            .iter()
            .filter(|r| r[0] == "facility")
            .map(|r| r[3].parse::<u64>().unwrap())
            .sum();
        assert_eq!(held_by_facility, 6);
        assert!(csv.contains("\"Maison centrale, Bamako\""));

        let fr = b.render(Lang::Fr);
        assert!(fr.contains("Situation au 1 juin 2026 à 0 h 00"), "{fr}");
        assert!(fr.contains(&format!("66,7{NBSP}%")), "{fr}");
        assert!(fr.contains(&format!("75,0{NBSP}%")), "{fr}");
        assert!(fr.contains(&format!("1{NBSP}096 jours")), "{fr}");
        assert!(fr.contains("01/06/2023"), "{fr}");
        assert!(fr.contains("plus de 3 ans"), "{fr}");
        let en = b.render(Lang::En);
        assert!(en.contains("As of 1 June 2026 at 00:00"), "{en}");
        assert!(en.contains("66.7%") && en.contains("1,096 days"), "{en}");
        assert!(!en.contains("jours"));
    }

    /// A small RFC 4180 reader for the test (quoted fields, doubled quotes, CRLF).
    fn parse_csv(text: &str) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        for line in text.split("\r\n").filter(|l| !l.is_empty()) {
            let mut fields = Vec::new();
            let mut cur = String::new();
            let mut quoted = false;
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                match (c, quoted) {
                    ('"', true) if chars.peek() == Some(&'"') => {
                        cur.push('"');
                        chars.next();
                    }
                    ('"', _) => quoted = !quoted,
                    (',', false) => fields.push(std::mem::take(&mut cur)),
                    (c, _) => cur.push(c),
                }
            }
            fields.push(cur);
            rows.push(fields);
        }
        rows
    }
}
