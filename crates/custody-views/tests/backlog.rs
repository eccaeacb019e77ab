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
