//! The deadline engine against the real rule sets and calendars of `deploy/policy/`, with every
//! expected instant worked out by hand in the comments (never computed by the code under test).
//!
//! Days of the week used below: 2026-03-16 is a Monday, so 2026-03-20 is a Friday (Korité,
//! estimated), 21-22 the weekend, 23 Monday, 24 Tuesday, 25 Wednesday, 26 Thursday (martyrs'
//! day), 27 Friday, 28-29 the weekend, 30 Monday.

use std::path::{Path, PathBuf};

use custody_core::kinds::bodies::OffenceClass;
use custody_core::Timestamp;
use custody_views::calendar::{Calendar, CalendarError, Date};
use custody_views::deadlines::{
    arrest_recording_deadline, check_order, check_total, first_appearance_deadline, lawful_maximum,
    police_custody_deadline, renewal_window, CustodyRegime, Finding,
};
use custody_views::policy::{Policy, PolicyError, PolicySet};

fn policy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/policy")
}

fn policies() -> PolicySet {
    match PolicySet::load_dir(&policy_dir()) {
        Ok(set) => set,
        Err(e) => panic!("deploy/policy: {e}"),
    }
}

fn calendar() -> Calendar {
    match Calendar::load_dir(&policy_dir().join("calendar")) {
        Ok(c) => c,
        Err(e) => panic!("deploy/policy/calendar: {e}"),
    }
}

fn t(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn d(text: &str) -> Date {
    Date::parse(text).unwrap()
}

fn cpp2001() -> Policy {
    policies().in_force("ML", d("2020-01-01")).unwrap().clone()
}

#[test]
fn the_real_files_load() {
    let set = policies();
    let codes: Vec<&str> = set.policies().iter().map(|p| p.code.as_str()).collect();
    assert_eq!(codes, ["mali-cpp-2001", "mali-cpp-2024"]);
    let cal = calendar();
    assert_eq!(cal.years().collect::<Vec<_>>(), [2025, 2026, 2027]);
    assert_eq!(cal.jurisdiction(), "ML");
    // Every duration of the 2024 code is a placeholder, marked unconfirmed.
    let p2024 = set.in_force("ML", d("2026-01-01")).unwrap();
    assert!(!p2024.police_custody.confirmed);
    assert!(!p2024.police_custody_terrorism.confirmed);
    for class in [
        OffenceClass::MisdemeanourUpTo2y,
        OffenceClass::MisdemeanourOver2y,
        OffenceClass::Crime,
    ] {
        assert!(!p2024.pre_trial(class).confirmed);
        assert!(lawful_maximum(p2024, class).rule.unconfirmed());
    }
    // The 2001 durations of DOMAIN.md.
    let p = cpp2001();
    assert_eq!(p.police_custody.base_hours, 48);
    assert_eq!(p.police_custody.extension_hours, 24);
    assert_eq!(p.police_custody.max_extensions, 1);
    let crime = lawful_maximum(&p, OffenceClass::Crime);
    assert_eq!(
        (
            crime.initial_months,
            crime.renewal_months,
            crime.max_total_months
        ),
        (12, 12, 36)
    );
    assert_eq!(
        p.pre_trial(OffenceClass::Crime).renewal_window_working_days,
        Some(8)
    );
    let over = lawful_maximum(&p, OffenceClass::MisdemeanourOver2y);
    assert_eq!(
        (over.initial_months, over.renewal_months, over.max_renewals),
        (6, 6, 1)
    );
    assert_eq!(
        lawful_maximum(&p, OffenceClass::MisdemeanourUpTo2y).initial_months,
        1
    );
}

#[test]
fn the_offence_class_keys_are_the_ledgers_names() {
    // The keys of [pre_trial.*] in the files are the enum values of detention_order.offence_class.
    for (class, key) in [
        (OffenceClass::MisdemeanourUpTo2y, "misdemeanour_up_to_2y"),
        (OffenceClass::MisdemeanourOver2y, "misdemeanour_over_2y"),
        (OffenceClass::Crime, "crime"),
    ] {
        assert_eq!(serde_json::to_value(class).unwrap(), key);
        assert_eq!(
            lawful_maximum(&cpp2001(), class).rule.rule,
            format!("pre_trial.{key}")
        );
    }
}

#[test]
fn the_rule_set_is_chosen_by_the_date_of_the_facts() {
    let set = policies();
    assert_eq!(
        set.in_force("ML", d("2025-06-12")).unwrap().code,
        "mali-cpp-2001"
    );
    assert_eq!(
        set.in_force("ML", d("2025-06-13")).unwrap().code,
        "mali-cpp-2024"
    );
    assert!(matches!(
        set.in_force("ML", d("1999-01-01")),
        Err(PolicyError::NoneInForce { .. })
    ));
    assert!(matches!(
        set.in_force("SN", d("2026-01-01")),
        Err(PolicyError::NoneInForce { .. })
    ));
    // The rule set of the arrest's date names itself in every result.
    let arrest = t("2025-06-12T23:59:59Z");
    let p = set.for_arrest("ML", &arrest).unwrap();
    let r = police_custody_deadline(p, &arrest, 0, CustodyRegime::Ordinary);
    assert_eq!(r.deadline.rule.code, "mali-cpp-2001");
    assert!(r.deadline.rule.confirmed);
    let arrest = t("2025-06-13T00:00:00Z");
    let p = set.for_arrest("ML", &arrest).unwrap();
    let r = police_custody_deadline(p, &arrest, 0, CustodyRegime::Ordinary);
    assert_eq!(r.deadline.rule.code, "mali-cpp-2024");
    assert!(r.deadline.rule.unconfirmed());
}

#[test]
fn police_custody_48_hours_and_one_extension_of_24() {
    let p = cpp2001();
    let start = t("2026-03-24T10:00:00Z");
    // 48 h: Tuesday 10:00 -> Thursday 10:00.
    let r = police_custody_deadline(&p, &start, 0, CustodyRegime::Ordinary);
    assert_eq!(r.deadline.at, t("2026-03-26T10:00:00Z"));
    assert_eq!(r.deadline.rule.rule, "police_custody");
    assert_eq!(r.finding, None);
    // 48 + 24 = 72 h: Friday 10:00.
    let r = police_custody_deadline(&p, &start, 1, CustodyRegime::Ordinary);
    assert_eq!(r.deadline.at, t("2026-03-27T10:00:00Z"));
    assert_eq!(r.extensions_counted, 1);
    assert_eq!(r.finding, None);
    // Six extensions recorded (the demo's 240-hour ones): the law allows one. The deadline
    // stays at 72 h and the five others are a finding, not an error.
    let r = police_custody_deadline(&p, &start, 6, CustodyRegime::Ordinary);
    assert_eq!(r.deadline.at, t("2026-03-27T10:00:00Z"));
    assert_eq!(
        r.finding,
        Some(Finding::ExtensionsBeyondLaw {
            recorded: 6,
            allowed: 1
        })
    );
    assert!(r.deadline.passed_at(&t("2026-03-27T10:00:01Z")));
    assert!(!r.deadline.passed_at(&t("2026-03-27T10:00:00Z")));
}

#[test]
fn police_custody_for_terrorism_in_48_hour_blocks() {
    let p = cpp2001();
    let start = t("2026-03-24T10:00:00Z");
    let regime = CustodyRegime::TerrorismOrOrganisedCrime;
    // The file's setting: three extensions. 4 x 48 = 192 h = 8 days: Wednesday 1 April 10:00.
    let r = police_custody_deadline(&p, &start, 3, regime);
    assert_eq!(r.deadline.at, t("2026-04-01T10:00:00Z"));
    assert_eq!(r.deadline.rule.rule, "police_custody_terrorism");
    // The number of extensions is a setting the sources disagree on: unconfirmed.
    assert!(r.deadline.rule.unconfirmed());
    assert_eq!(r.finding, None);
    // One extension: 2 x 48 = 96 h: Saturday 28 March 10:00 (hours run on holidays and weekends).
    let r = police_custody_deadline(&p, &start, 1, regime);
    assert_eq!(r.deadline.at, t("2026-03-28T10:00:00Z"));
    let r = police_custody_deadline(&p, &start, 4, regime);
    assert_eq!(r.deadline.at, t("2026-04-01T10:00:00Z"));
    assert_eq!(
        r.finding,
        Some(Finding::ExtensionsBeyondLaw {
            recorded: 4,
            allowed: 3
        })
    );
    // With the setting at two extensions, a third is beyond the law: the deadline stays at
    // 3 x 48 = 144 h = 6 days, Monday 30 March 10:00.
    let mut two = p.clone();
    two.police_custody_terrorism.max_extensions = 2;
    let r = police_custody_deadline(&two, &start, 3, regime);
    assert_eq!(r.deadline.at, t("2026-03-30T10:00:00Z"));
    assert_eq!(
        r.finding,
        Some(Finding::ExtensionsBeyondLaw {
            recorded: 3,
            allowed: 2
        })
    );
}

#[test]
fn first_appearance_within_48_hours_and_arrest_recorded_within_24() {
    let p = cpp2001();
    let arrest = t("2026-03-24T10:00:00Z");
    let f = first_appearance_deadline(&p, &arrest);
    assert_eq!(f.at, t("2026-03-26T10:00:00Z"));
    assert_eq!(f.rule.rule, "first_appearance");
    assert!(f.passed_at(&t("2026-03-26T10:00:01Z")));
    assert!(!f.passed_at(&t("2026-03-26T09:59:59Z")));
    let r = arrest_recording_deadline(&p, &arrest);
    assert_eq!(r.at, t("2026-03-25T10:00:00Z"));
    assert_eq!(r.rule.rule, "late_arrest_recording");
}

#[test]
fn a_twenty_year_order_for_a_misdemeanour_is_a_finding() {
    let p = cpp2001();
    let start = t("2026-01-10T09:00:00Z");
    let until = t("2046-01-10T09:00:00Z");
    let c = check_order(&p, OffenceClass::MisdemeanourUpTo2y, &start, &until, 0);
    // One month: 10 February 2026, same hour.
    assert_eq!(c.lawful_until, t("2026-02-10T09:00:00Z"));
    assert_eq!(c.stated_until, until);
    assert_eq!(c.expiry, t("2026-02-10T09:00:00Z"));
    // 2026-02-10 -> 2046-02-10 is 20 years with 5 leap days (2028, 2032, 2036, 2040, 2044):
    // 20 x 365 + 5 = 7305 days; back to 10 January: 31 days less, 7274 days.
    assert_eq!(
        c.findings,
        vec![Finding::OrderLongerThanLaw {
            stated_until: until.clone(),
            lawful_until: t("2026-02-10T09:00:00Z"),
            excess_seconds: 7274 * 86_400,
        }]
    );
    assert!(c.rule.confirmed);
    // No renewal for this class.
    let c = check_order(
        &p,
        OffenceClass::MisdemeanourUpTo2y,
        &t("2026-02-10T09:00:00Z"),
        &t("2026-02-20T09:00:00Z"),
        1,
    );
    assert!(c.findings.contains(&Finding::RenewalNotAllowed {
        renewal: 1,
        allowed: 0
    }));
}

#[test]
fn months_end_on_the_same_day_or_the_last_of_a_shorter_month() {
    let p = cpp2001();
    let start = t("2026-01-31T12:00:00Z");
    // 31 January + 1 month: February 2026 has 28 days.
    let c = check_order(
        &p,
        OffenceClass::MisdemeanourUpTo2y,
        &start,
        &t("2026-03-01T12:00:00Z"),
        0,
    );
    assert_eq!(c.lawful_until, t("2026-02-28T12:00:00Z"));
    assert_eq!(
        c.findings,
        vec![Finding::OrderLongerThanLaw {
            stated_until: t("2026-03-01T12:00:00Z"),
            lawful_until: t("2026-02-28T12:00:00Z"),
            excess_seconds: 86_400,
        }]
    );
    // 31 January + 6 months: 31 July. An order that stops short of it is lawful.
    let c = check_order(
        &p,
        OffenceClass::MisdemeanourOver2y,
        &start,
        &t("2026-07-01T00:00:00Z"),
        0,
    );
    assert_eq!(c.lawful_until, t("2026-07-31T12:00:00Z"));
    assert_eq!(c.expiry, t("2026-07-01T00:00:00Z"));
    assert!(c.findings.is_empty());
}

#[test]
fn the_renewal_window_skips_the_martyrs_day_korite_and_weekends() {
    let p = cpp2001();
    let cal = calendar();
    // A crime, committal order of one year: 30 March 2025 09:00 -> 30 March 2026 09:00 (Monday).
    let start = t("2025-03-30T09:00:00Z");
    let until = t("2026-03-30T09:00:00Z");
    let c = check_order(&p, OffenceClass::Crime, &start, &until, 0);
    assert_eq!(c.lawful_until, until);
    assert!(c.findings.is_empty());
    // 8 working days before Monday 30 March, the expiry day not counted:
    // Fri 27 (1), Thu 26 martyrs' day skipped, Wed 25 (2), Tue 24 (3), Mon 23 (4), weekend
    // skipped, Fri 20 Korité (estimated) skipped, Thu 19 (5), Wed 18 (6), Tue 17 (7), Mon 16 (8).
    let w = renewal_window(&p, &cal, OffenceClass::Crime, &c.expiry)
        .unwrap()
        .unwrap();
    assert_eq!(w.opens, t("2026-03-16T00:00:00Z"));
    assert_eq!(w.closes, until);
    assert_eq!(w.working_days, 8);
    assert_eq!(w.rule.rule, "pre_trial.crime");
    // The opening depends on the sighting of the moon for Korité: said so.
    let estimated: Vec<String> = w
        .estimated_holidays
        .iter()
        .map(|h| h.date.to_string())
        .collect();
    assert_eq!(estimated, ["2026-03-20"]);
    assert!(!w.contains(&t("2026-03-15T23:59:59Z")));
    assert!(w.contains(&t("2026-03-16T00:00:00Z")));
    assert!(w.contains(&until));
    assert!(!w.contains(&t("2026-03-30T09:00:01Z")));

    // The same count with weekends only: Fri 27, Thu 26, Wed 25, Tue 24, Mon 23, Fri 20,
    // Thu 19, Wed 18 -> opens Wednesday 18 March.
    let mut plain = Calendar::default();
    plain
        .add_year(
            Path::new("plain-2026.toml"),
            "jurisdiction = \"ML\"\nyear = 2026\nweekend = [\"saturday\", \"sunday\"]\n",
        )
        .unwrap();
    let w = renewal_window(&p, &plain, OffenceClass::Crime, &until)
        .unwrap()
        .unwrap();
    assert_eq!(w.opens, t("2026-03-18T00:00:00Z"));
    assert!(w.estimated_holidays.is_empty());

    // No window stated for a misdemeanour over 2 years.
    assert_eq!(
        renewal_window(&p, &cal, OffenceClass::MisdemeanourOver2y, &until).unwrap(),
        None
    );
    // A calendar of another jurisdiction is not used.
    let mut other = Calendar::default();
    other
        .add_year(
            Path::new("sn-2026.toml"),
            "jurisdiction = \"SN\"\nyear = 2026\nweekend = [\"saturday\", \"sunday\"]\n",
        )
        .unwrap();
    assert!(matches!(
        renewal_window(&p, &other, OffenceClass::Crime, &until),
        Err(CalendarError::OtherJurisdiction { .. })
    ));
    // A year without a calendar file cannot be counted.
    assert!(matches!(
        renewal_window(&p, &cal, OffenceClass::Crime, &t("2028-06-01T00:00:00Z")),
        Err(CalendarError::YearNotCovered(2028))
    ));
}

#[test]
fn the_2027_renewal_window_skips_easter_monday_the_martyrs_day_and_weekends() {
    let p = cpp2001();
    let cal = calendar();
    // Expiry Wednesday 31 March 2027 09:00; 8 working days before, the expiry day not counted:
    // Tue 30 (1), Mon 29 Easter Monday (Easter: 28 March) skipped, weekend skipped, Fri 26
    // martyrs' day skipped, Thu 25 (2), Wed 24 (3), Tue 23 (4), Mon 22 (5), weekend skipped,
    // Fri 19 (6), Thu 18 (7), Wed 17 (8). Korité (10 March, estimated) lies before the window.
    let until = t("2027-03-31T09:00:00Z");
    let w = renewal_window(&p, &cal, OffenceClass::Crime, &until)
        .unwrap()
        .unwrap();
    assert_eq!(w.opens, t("2027-03-17T00:00:00Z"));
    assert_eq!(w.closes, until);
    assert_eq!(w.working_days, 8);
    assert!(w.estimated_holidays.is_empty());
    // Expiry Monday 15 March 2027: Fri 12 (1), Thu 11 (2), Wed 10 Korité (estimated) skipped,
    // Tue 9 (3), Mon 8 (4), weekend skipped, Fri 5 (5), Thu 4 (6), Wed 3 (7), Tue 2 (8).
    let w = renewal_window(&p, &cal, OffenceClass::Crime, &t("2027-03-15T09:00:00Z"))
        .unwrap()
        .unwrap();
    assert_eq!(w.opens, t("2027-03-02T00:00:00Z"));
    let estimated: Vec<String> = w
        .estimated_holidays
        .iter()
        .map(|h| h.date.to_string())
        .collect();
    assert_eq!(estimated, ["2027-03-10"]);
}

#[test]
fn working_days() {
    let cal = calendar();
    assert!(!cal.is_working_day(d("2026-03-26")).unwrap()); // martyrs' day, Thursday
    assert!(!cal.is_working_day(d("2026-03-28")).unwrap()); // Saturday
    assert!(!cal.is_working_day(d("2026-03-29")).unwrap()); // Sunday
    assert!(cal.is_working_day(d("2026-03-27")).unwrap()); // Friday
    assert!(!cal.is_working_day(d("2026-01-20")).unwrap()); // armed forces day
    assert!(!cal.is_working_day(d("2026-04-06")).unwrap()); // Easter Monday (Easter: 5 April)
    assert!(!cal.is_working_day(d("2025-09-22")).unwrap()); // independence, a Monday
                                                            // Thursday 11 and Friday 12 September 2025, announced days off (Maouloud).
    assert!(!cal.is_working_day(d("2025-09-11")).unwrap());
    assert!(!cal.is_working_day(d("2025-09-12")).unwrap());
    assert!(cal.is_working_day(d("2025-09-10")).unwrap());
    // Estimated or not, a holiday is not a working day; the calendar says which are estimated.
    assert!(cal.holiday(d("2026-03-20")).unwrap().unwrap().estimated);
    assert!(!cal.holiday(d("2026-03-26")).unwrap().unwrap().estimated);
    // Wednesday 25 + 1 working day: Thursday 26 is a holiday -> Friday 27.
    assert_eq!(
        cal.add_working_days(d("2026-03-25"), 1).unwrap(),
        d("2026-03-27")
    );
    // + 2: the weekend -> Monday 30.
    assert_eq!(
        cal.add_working_days(d("2026-03-25"), 2).unwrap(),
        d("2026-03-30")
    );
    assert_eq!(
        cal.add_working_days(d("2026-03-30"), -1).unwrap(),
        d("2026-03-27")
    );
    assert_eq!(
        cal.add_working_days(d("2026-03-30"), -2).unwrap(),
        d("2026-03-25")
    );
    assert_eq!(
        cal.add_working_days(d("2026-03-28"), 0).unwrap(),
        d("2026-03-28")
    );
    // From Monday 23 up to (not including) Monday 30: Mon 23, Tue 24, Wed 25, Fri 27.
    assert_eq!(
        cal.working_days_between(d("2026-03-23"), d("2026-03-30"))
            .unwrap(),
        4
    );
    assert_eq!(
        cal.working_days_between(d("2026-03-30"), d("2026-03-23"))
            .unwrap(),
        0
    );
    // Across the new year: Wed 31 Dec 2025 (1), Thu 1 Jan holiday, Fri 2 Jan (2).
    assert_eq!(
        cal.working_days_between(d("2025-12-31"), d("2026-01-03"))
            .unwrap(),
        2
    );
    // 2027: Thursday 31 December 2026 (1), Friday 1 January 2027 holiday, weekend, Monday 4 (2).
    assert_eq!(
        cal.working_days_between(d("2026-12-31"), d("2027-01-05"))
            .unwrap(),
        2
    );
    assert!(!cal.is_working_day(d("2027-01-20")).unwrap()); // armed forces day, Wednesday
    assert!(!cal.is_working_day(d("2027-03-29")).unwrap()); // Easter Monday (Easter: 28 March)
    assert!(!cal.is_working_day(d("2027-09-22")).unwrap()); // independence, Wednesday
    assert!(cal.is_working_day(d("2027-09-21")).unwrap());
    assert!(cal.holiday(d("2027-05-17")).unwrap().unwrap().estimated); // Tabaski
    assert!(!cal.holiday(d("2027-05-25")).unwrap().unwrap().estimated); // Africa day
                                                                        // From Monday 22 to (not including) Thursday 1 April 2027: Mon 22, Tue 23, Wed 24, Thu 25,
                                                                        // (Fri 26 martyrs' day, weekend, Mon 29 Easter Monday), Tue 30, Wed 31.
    assert_eq!(
        cal.working_days_between(d("2027-03-22"), d("2027-04-01"))
            .unwrap(),
        6
    );
    // Thursday 25 March 2027 + 1 working day: Tuesday 30.
    assert_eq!(
        cal.add_working_days(d("2027-03-25"), 1).unwrap(),
        d("2027-03-30")
    );
    assert!(matches!(
        cal.is_working_day(d("2028-01-03")),
        Err(CalendarError::YearNotCovered(2028))
    ));
}

#[test]
fn three_years_in_all_for_a_crime() {
    let p = cpp2001();
    let o = |a: &str, b: &str| (t(a), t(b));
    let mut orders = vec![
        o("2023-01-15T08:00:00Z", "2024-01-15T08:00:00Z"),
        o("2024-01-15T08:00:00Z", "2025-01-15T08:00:00Z"),
        o("2025-01-15T08:00:00Z", "2026-01-15T08:00:00Z"),
    ];
    let c = check_total(&p, OffenceClass::Crime, &orders).unwrap();
    // 15 January 2023 + 36 months.
    assert_eq!(c.lawful_until, t("2026-01-15T08:00:00Z"));
    assert_eq!(c.renewals, 2);
    assert!(c.findings.is_empty());
    // A third renewal, to 15 January 2027: 365 days beyond (2026 is not a leap year).
    orders.push(o("2026-01-15T08:00:00Z", "2027-01-15T08:00:00Z"));
    let c = check_total(&p, OffenceClass::Crime, &orders).unwrap();
    assert_eq!(
        c.findings,
        vec![
            Finding::TotalBeyondLaw {
                stated_until: t("2027-01-15T08:00:00Z"),
                lawful_until: t("2026-01-15T08:00:00Z"),
                excess_seconds: 365 * 86_400,
            },
            Finding::RenewalNotAllowed {
                renewal: 3,
                allowed: 2
            },
        ]
    );
    let c = check_order(
        &p,
        OffenceClass::Crime,
        &t("2026-01-15T08:00:00Z"),
        &t("2027-01-15T08:00:00Z"),
        3,
    );
    assert_eq!(
        c.findings,
        vec![Finding::RenewalNotAllowed {
            renewal: 3,
            allowed: 2
        }]
    );
    assert_eq!(check_total(&p, OffenceClass::Crime, &[]), None);
}

fn real_2001_text() -> String {
    std::fs::read_to_string(policy_dir().join("mali-cpp-2001.toml")).unwrap()
}

#[test]
fn a_file_with_an_unknown_key_is_refused_naming_the_key() {
    let file = Path::new("deploy/policy/mali-cpp-2001.toml");
    let text = real_2001_text().replace(
        "extension_hours = 24\n",
        "extension_hours = 24\nextension_days = 1\n",
    );
    let e = Policy::parse(file, &text).unwrap_err().to_string();
    assert!(e.contains("extension_days"), "{e}");
    assert!(e.contains("mali-cpp-2001.toml"), "{e}");

    let text = format!("max_detention_years = 20\n{}", real_2001_text());
    let e = Policy::parse(file, &text).unwrap_err().to_string();
    assert!(e.contains("max_detention_years"), "{e}");

    // An offence class the ledger does not have.
    let text = format!(
        "{}\n[pre_trial.contravention]\ninitial_months = 1\n",
        real_2001_text()
    );
    let e = Policy::parse(file, &text).unwrap_err().to_string();
    assert!(e.contains("contravention"), "{e}");

    // A missing key.
    let text = real_2001_text().replace("max_hours = 48\n", "");
    let e = Policy::parse(file, &text).unwrap_err().to_string();
    assert!(e.contains("max_hours"), "{e}");

    // A calendar with an unknown key.
    let mut cal = Calendar::default();
    let e = cal
        .add_year(
            Path::new("ml-2026.toml"),
            "jurisdiction = \"ML\"\nyear = 2026\nweekend = [\"sunday\"]\n\n[[holiday]]\ndate = 2026-01-01\nname = \"x\"\nmovable = true\n",
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("movable") && e.contains("ml-2026.toml"), "{e}");
}

#[test]
fn inconsistent_files_are_refused() {
    let file = Path::new("x.toml");
    // A total longer than the first order and its renewals can reach.
    let text = real_2001_text().replace("max_total_months = 36", "max_total_months = 240");
    let e = Policy::parse(file, &text).unwrap_err().to_string();
    assert!(e.contains("pre_trial.crime.max_total_months"), "{e}");
    // A date with a time.
    let text = real_2001_text().replace(
        "in_force_from = 2001-08-20",
        "in_force_from = 2001-08-20T00:00:00Z",
    );
    let e = Policy::parse(file, &text).unwrap_err().to_string();
    assert!(e.contains("in_force_from"), "{e}");
    // Two rule sets in force on the same date.
    let mut set = PolicySet::default();
    let p = Policy::parse(file, &real_2001_text()).unwrap();
    set.add(file, p.clone()).unwrap();
    assert!(matches!(set.add(file, p), Err(PolicyError::Overlap { .. })));
    // A holiday outside its year.
    let mut cal = Calendar::default();
    let e = cal
        .add_year(
            Path::new("ml-2026.toml"),
            "jurisdiction = \"ML\"\nyear = 2026\nweekend = []\n[[holiday]]\ndate = 2025-01-01\nname = \"x\"\n",
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("holiday.date"), "{e}");
}
