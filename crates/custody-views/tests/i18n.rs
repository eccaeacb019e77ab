//! The message catalogue, French dates and numbers, and the read matrix.

use custody_core::{Role, Timestamp};
use custody_views::access::{access_action, may_view, timeline_headers_only, AccessContext, View};
use custody_views::calendar::Date;
use custody_views::census::{CustodyStatus, LegalStatus};
use custody_views::i18n::*;

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// Messages whose French and English texts are rightly the same word.
const SAME_IN_BOTH: &[MessageId] = &[MessageId::Code, MessageId::Total];

#[test]
fn every_message_has_both_languages_distinct_and_non_empty() {
    assert!(MessageId::ALL.len() > 50);
    for id in MessageId::ALL {
        let (fr, en) = (t(Lang::Fr, *id), t(Lang::En, *id));
        assert!(!fr.trim().is_empty(), "{id:?} has no French text");
        assert!(!en.trim().is_empty(), "{id:?} has no English text");
        if SAME_IN_BOTH.contains(id) {
            assert_eq!(fr, en, "{id:?} is listed as the same in both");
        } else {
            assert_ne!(
                fr, en,
                "{id:?}: French and English are the same by accident"
            );
        }
    }
    // No two ids share a text in the same language (a copy-paste slip).
    for lang in Lang::ALL {
        let mut seen = std::collections::BTreeMap::new();
        for id in MessageId::ALL {
            if let Some(other) = seen.insert(t(lang, *id), *id) {
                panic!("{other:?} and {id:?} have the same {lang} text");
            }
        }
    }
}

#[test]
fn french_is_the_default_and_codes_parse() {
    assert_eq!(Lang::default(), Lang::Fr);
    assert_eq!("fr".parse::<Lang>().unwrap(), Lang::Fr);
    assert_eq!(" EN ".parse::<Lang>().unwrap(), Lang::En);
    let err = "de".parse::<Lang>().unwrap_err();
    assert!(err.to_string().contains("\"de\""), "{err}");
    assert!(err.to_string().contains("fr"), "{err}");
    assert_eq!(serde_json::to_string(&Lang::En).unwrap(), "\"en\"");
    assert_eq!(serde_json::from_str::<Lang>("\"fr\"").unwrap(), Lang::Fr);
    for lang in Lang::ALL {
        assert_eq!(lang.as_str().parse::<Lang>().unwrap(), lang);
    }
}

#[test]
fn dates_the_french_way() {
    let at = ts("2026-12-01T14:05:59Z");
    assert_eq!(fmt_datetime(Lang::Fr, &at), "1 décembre 2026 à 14 h 05");
    assert_eq!(fmt_datetime(Lang::En, &at), "1 December 2026 at 14:05");
    let morning = ts("2026-08-15T09:00:00.5Z");
    assert_eq!(fmt_datetime(Lang::Fr, &morning), "15 août 2026 à 9 h 00");
    assert_eq!(fmt_datetime(Lang::En, &morning), "15 August 2026 at 09:00");
    let d = Date::new(2026, 12, 1).unwrap();
    assert_eq!(fmt_date_short(Lang::Fr, d), "01/12/2026");
    assert_eq!(fmt_date_short(Lang::En, d), "2026-12-01");
    assert_eq!(fmt_date(Lang::Fr, d), "1 décembre 2026");
    assert_eq!(
        fmt_day_of(Lang::Fr, &ts("2024-02-29T23:59:59Z")),
        "29 février 2024"
    );
    assert_eq!(
        fmt_day_of(Lang::En, &ts("2024-02-29T23:59:59Z")),
        "29 February 2024"
    );
    for m in 1..=12 {
        assert_ne!(
            month_name(Lang::Fr, m),
            month_name(Lang::En, m).to_lowercase()
        );
    }
}

#[test]
fn numbers_the_french_way() {
    let nb = NBSP;
    assert_eq!(fmt_int(Lang::Fr, 1234), format!("1{nb}234"));
    assert_eq!(fmt_int(Lang::Fr, 1_234_567), format!("1{nb}234{nb}567"));
    assert_eq!(fmt_int(Lang::Fr, 999), "999");
    assert_eq!(fmt_int(Lang::Fr, 0), "0");
    assert_eq!(fmt_int(Lang::Fr, -1000), format!("-1{nb}000"));
    assert_eq!(fmt_int(Lang::En, 1_234_567), "1,234,567");
    assert_eq!(fmt_int(Lang::En, 100_000), "100,000");
    assert_eq!(fmt_percent(Lang::Fr, 12.5), format!("12,5{nb}%"));
    assert_eq!(fmt_percent(Lang::En, 12.5), "12.5%");
    assert_eq!(fmt_percent(Lang::Fr, 100.0), format!("100,0{nb}%"));
    assert_eq!(fmt_share(Lang::Fr, 1, 3), format!("33,3{nb}%"));
    assert_eq!(fmt_share(Lang::Fr, 2, 3), format!("66,7{nb}%"));
    assert_eq!(fmt_share(Lang::En, 0, 0), "–");
    assert_eq!(fmt_share(Lang::Fr, 1234, 1000), format!("123,4{nb}%"));
    assert_eq!(fmt_decimal(Lang::Fr, 1234.56, 1), format!("1{nb}234,6"));
    assert_eq!(fmt_decimal(Lang::En, -0.25, 1), "-0.3");
    assert_eq!(fmt_decimal(Lang::Fr, f64::NAN, 1), "–");
    assert_eq!(fmt_days(Lang::Fr, 1), "1 jour");
    assert_eq!(fmt_days(Lang::Fr, 0), "0 jour");
    assert_eq!(fmt_days(Lang::Fr, 1234), format!("1{nb}234 jours"));
    assert_eq!(fmt_days(Lang::En, 0), "0 days");
    assert_eq!(fmt_days(Lang::En, 1), "1 day");
}

#[test]
fn statuses_have_labels_and_no_suspect_is_called_guilty() {
    use LegalStatus::*;
    let all = [
        Arrested,
        PoliceCustody,
        PreTrialDetention,
        Convicted,
        Acquitted,
        Dismissed,
        ReleasedPendingTrial,
        Released,
        Deceased,
        Escaped,
    ];
    for s in all {
        let (fr, en) = (
            legal_status_label(Lang::Fr, s),
            legal_status_label(Lang::En, s),
        );
        assert!(!fr.is_empty() && !en.is_empty());
        if s != Convicted {
            for word in ["condamn", "coupable"] {
                assert!(!fr.contains(word), "{s:?}: {fr}");
            }
            for word in ["convict", "guilty"] {
                assert!(!en.contains(word), "{s:?}: {en}");
            }
        }
    }
    assert_eq!(
        legal_status_label(Lang::Fr, PreTrialDetention),
        "détention provisoire"
    );
    for c in [
        CustodyStatus::Held,
        CustodyStatus::Gap,
        CustodyStatus::Released,
        CustodyStatus::Deceased,
        CustodyStatus::Escaped,
    ] {
        assert_ne!(
            custody_status_label(Lang::Fr, c),
            custody_status_label(Lang::En, c)
        );
    }
}

#[test]
fn kinds_have_labels_in_both_languages() {
    for kind in custody_core::EventKind::ALL {
        let (fr, en) = (
            kind_label(Lang::Fr, kind.as_str()),
            kind_label(Lang::En, kind.as_str()),
        );
        assert!(!fr.is_empty() && !en.is_empty(), "{}", kind.as_str());
    }
    assert_eq!(kind_label(Lang::Fr, "detention_order"), "mandat de dépôt");
    assert_eq!(kind_label(Lang::En, "not_a_kind_yet"), "not a kind yet");
}

#[test]
fn judicial_roles_see_the_lists_and_timelines() {
    let none = AccessContext::none();
    for role in [Role::CourtClerk, Role::Prosecutor, Role::InvestigatingJudge] {
        for view in [
            View::Backlog,
            View::Alarms,
            View::HearingCalendar,
            View::Timeline,
            View::Whereabouts,
            View::RelativesView,
            View::Occupancy,
        ] {
            assert!(may_view(view, &[role], &none), "{role:?} {view:?}");
        }
        assert!(!may_view(View::OwnFile, &[role], &none), "{role:?}");
    }
}

#[test]
fn registrars_see_only_the_people_their_agency_holds() {
    let (none, holder) = (AccessContext::none(), AccessContext::holder());
    for view in [
        View::Timeline,
        View::Whereabouts,
        View::RelativesView,
        View::OwnFile,
    ] {
        assert!(!may_view(view, &[Role::Registrar], &none), "{view:?}");
        assert!(may_view(view, &[Role::Registrar], &holder), "{view:?}");
    }
    for view in [
        View::Backlog,
        View::Occupancy,
        View::Alarms,
        View::HearingCalendar,
    ] {
        assert!(may_view(view, &[Role::Registrar], &none), "{view:?}");
    }
}

#[test]
fn monitors_see_counts_and_alarms_and_timelines_from_headers_only() {
    let none = AccessContext::none();
    let m = [Role::Monitor];
    for view in [View::Backlog, View::Alarms, View::Occupancy] {
        assert!(may_view(view, &m, &none), "{view:?}");
    }
    for view in [
        View::Timeline,
        View::Whereabouts,
        View::RelativesView,
        View::OwnFile,
        View::HearingCalendar,
    ] {
        assert!(!may_view(view, &m, &none), "{view:?}");
        assert!(!may_view(view, &m, &AccessContext::holder()), "{view:?}");
    }
    assert!(timeline_headers_only(&m, &none));
    assert!(!timeline_headers_only(&[Role::CourtClerk], &none));
    assert!(!timeline_headers_only(
        &[Role::Monitor, Role::CourtClerk],
        &none
    ));
    assert!(!timeline_headers_only(&[Role::Medical], &none));
}

#[test]
fn medical_staff_arresting_officers_and_no_roles_see_no_view() {
    for ctx in [AccessContext::none(), AccessContext::holder()] {
        for view in View::ALL {
            assert!(!may_view(view, &[Role::Medical], &ctx), "{view:?}");
            assert!(!may_view(view, &[Role::ArrestingOfficer], &ctx), "{view:?}");
            assert!(!may_view(view, &[], &ctx), "{view:?}");
        }
    }
    // Roles add up: a medical key that is also a clerk's sees what the clerk sees.
    assert!(may_view(
        View::Backlog,
        &[Role::Medical, Role::CourtClerk],
        &AccessContext::none()
    ));
}

#[test]
fn counsel_appointed_for_the_chain_sees_the_person_only() {
    let counsel = AccessContext {
        holds_person: false,
        counsel_for_chain: true,
    };
    for view in [View::Whereabouts, View::RelativesView, View::OwnFile] {
        assert!(may_view(view, &[], &counsel), "{view:?}");
    }
    for view in [
        View::Backlog,
        View::Alarms,
        View::HearingCalendar,
        View::Timeline,
        View::Occupancy,
    ] {
        assert!(!may_view(view, &[], &counsel), "{view:?}");
    }
}

#[test]
fn each_view_has_its_own_access_action() {
    let mut actions: Vec<_> = View::ALL.iter().map(|v| access_action(*v)).collect();
    assert_eq!(access_action(View::Backlog), "view_backlog");
    assert!(actions.iter().all(|a| a.starts_with("view_")));
    actions.sort();
    actions.dedup();
    assert_eq!(actions.len(), View::ALL.len());
    assert!(View::Timeline.shows_a_person() && !View::Backlog.shows_a_person());
}

#[test]
fn list_views_are_narrowed_for_registrars_and_judicial_police_only() {
    use custody_core::Role;
    use custody_views::access::narrowed_to_own_agency;
    assert!(narrowed_to_own_agency(&[Role::Registrar]));
    assert!(narrowed_to_own_agency(&[Role::JudicialPoliceOfficer]));
    assert!(!narrowed_to_own_agency(&[Role::CourtClerk]));
    assert!(!narrowed_to_own_agency(&[Role::Monitor]));
    // A registrar who is also the court's clerk sees the whole backlog.
    assert!(!narrowed_to_own_agency(&[
        Role::Registrar,
        Role::CourtClerk
    ]));
    // No role that sees a list view: nothing to narrow (may_view refuses it anyway).
    assert!(!narrowed_to_own_agency(&[Role::Medical]));
}
