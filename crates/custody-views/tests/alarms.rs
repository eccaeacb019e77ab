//! The alarms of the first hours, on chains worked out by hand.
//!
//! Day N is 2024-01-01T00:00:00Z + N days (the 2001 code applies: 24 h to record an arrest,
//! 48 h to a first judicial appearance, police custody 48 h plus one 24 h extension). The
//! report is taken at day 8, 10:00.
//!
//! | chain | story | alarms (by hand) |
//! |---|---|---|
//! | A | arrest d0 10:00 recorded d0 11:00; police custody d0 12:00; judge d1 09:00 | none |
//! | B | arrest d0 10:00 recorded d2 10:00; police custody d0 12:00; judge d3 10:00 | recorded 24 h late (limit d1 10:00); appearance 24 h late (limit d2 10:00); police custody 22 h over (limit d2 12:00, ended d3 10:00) |
//! | C | arrest d5 10:00; police custody d5 10:00, one extension; no judge | no appearance, current, 24 h past d7 10:00; police custody ends d8 10:00 = the report's instant: in time |
//! | D | arrest d5 10:00; police custody d5 10:00; released d6 10:00 | none (released within 48 h) |
//! | E | arrest d1 10:00; police custody d1 10:00, three extensions; released d6 10:00 without a judge | extensions beyond the law (3 > 1); police custody 48 h over (limit d4 10:00, ended d6); no appearance, past, 72 h late (limit d3 10:00) |

mod common;

use std::path::Path;

use common::example;
use custody_core::ids::detainee_chain_id;
use custody_core::{Draft, EventKind as K, Hash, Record, SecretKey, Timestamp};
use custody_views::alarms::{AlarmKind, Alarms};
use custody_views::calendar::Calendar;
use custody_views::policy::PolicySet;
use serde_json::Value;

const T0: i64 = 1_704_067_200; // 2024-01-01T00:00:00Z

fn t(day: i64, hour: i64) -> Timestamp {
    Timestamp::from_unix_seconds(T0 + day * 86_400 + hour * 3_600)
}

struct Chain {
    id: String,
    seq: u64,
    prev: Option<Hash>,
}

fn record(c: &mut Chain, kind: K, occurred: Timestamp, recorded: Timestamp) -> Record {
    record_in(c, kind, occurred, recorded, "ordinary")
}

/// A record of the test; a `police_custody_started` states the police custody `regime`.
fn record_in(
    c: &mut Chain,
    kind: K,
    occurred: Timestamp,
    recorded: Timestamp,
    regime: &str,
) -> Record {
    let key = SecretKey::from_seed([7; 32]);
    let mut body = example(kind.as_str());
    if kind == K::PoliceCustodyStarted {
        body["regime"] = Value::from(regime);
    }
    let r = Draft {
        ledger: "alarms-test.example.ml".to_string(),
        chain: c.id.clone(),
        seq: c.seq,
        prev: c.prev,
        kind,
        occurred_at: occurred,
        recorded_at: recorded,
        agency: "ml-police-mopti".to_string(),
        body,
    }
    .sign(&key, &[c.seq as u8; 16]);
    c.seq += 1;
    c.prev = Some(r.hash);
    r
}

fn at(c: &mut Chain, kind: K, day: i64, hour: i64) -> Record {
    record(c, kind, t(day, hour), t(day, hour))
}

fn policies() -> PolicySet {
    PolicySet::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/policy"))
        .expect("deploy/policy")
}

fn calendar() -> Calendar {
    Calendar::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/policy/calendar"))
        .expect("deploy/policy/calendar")
}

#[test]
fn the_alarms_of_the_first_hours_fire_as_worked_out_by_hand() {
    let mut chains: Vec<Chain> = (1..=6u128)
        .map(|n| Chain {
            id: detainee_chain_id((0x018c_c000_0000u128 << 80) | n),
            seq: 0,
            prev: None,
        })
        .collect();
    let ids: Vec<String> = chains.iter().map(|c| c.id.clone()).collect();
    let [a, b, c, d, e, f] = &mut chains[..] else {
        unreachable!()
    };
    let mut records = vec![
        record(a, K::Arrest, t(0, 10), t(0, 11)),
        at(a, K::PoliceCustodyStarted, 0, 12),
        at(a, K::JudicialAppearance, 1, 9),
        record(b, K::Arrest, t(0, 10), t(2, 10)),
        at(b, K::PoliceCustodyStarted, 0, 12),
        at(b, K::JudicialAppearance, 3, 10),
        at(c, K::Arrest, 5, 10),
        at(c, K::PoliceCustodyStarted, 5, 10),
        at(c, K::PoliceCustodyExtended, 7, 9),
        at(d, K::Arrest, 5, 10),
        at(d, K::PoliceCustodyStarted, 5, 10),
        at(d, K::Release, 6, 10),
        at(e, K::Arrest, 1, 10),
        at(e, K::PoliceCustodyStarted, 1, 10),
    ];
    for day in 2..5 {
        records.push(at(e, K::PoliceCustodyExtended, day, 9));
    }
    records.push(at(e, K::Release, 6, 10));
    // f: e's days under the terrorism regime (48-hour blocks, three extensions allowed by the
    // 2001 rule set: 48 + 3 x 48 = 192 hours, and f was released after 120): no police custody
    // alarm; the first appearance, a limit of every regime, is still missing.
    records.push(at(f, K::Arrest, 1, 10));
    let (t1, t1r) = (t(1, 10), t(1, 10));
    records.push(record_in(f, K::PoliceCustodyStarted, t1, t1r, "terrorism"));
    for day in 2..5 {
        records.push(at(f, K::PoliceCustodyExtended, day, 9));
    }
    records.push(at(f, K::Release, 6, 10));

    let mut alarms = Alarms::new();
    for r in &records {
        alarms.observe(r);
    }
    let report = alarms.report(&policies(), &calendar(), "ML", &t(8, 10));
    assert!(report.uncovered.is_empty(), "{:?}", report.uncovered);
    // The places of the example bodies are not registered in this ledger (it has no
    // authority chain): they are alarms of their own, not the subject here.
    let first_hours = [
        AlarmKind::ArrestRecordedLate,
        AlarmKind::FirstAppearanceLate,
        AlarmKind::NoFirstAppearance,
        AlarmKind::PoliceCustodyOverdue,
        AlarmKind::ExtensionsBeyondLaw,
    ];
    assert!(report
        .alarms
        .iter()
        .all(|al| first_hours.contains(&al.kind) || al.rule.is_none()));
    let got: Vec<(usize, AlarmKind, i64, bool)> = report
        .alarms
        .iter()
        .filter(|al| first_hours.contains(&al.kind))
        .map(|al| {
            let who = ids
                .iter()
                .position(|id| *id == al.chain)
                .expect("a chain of the test");
            (who, al.kind, al.hours_late, al.current)
        })
        .collect();
    let (b, c, e, f) = (1, 2, 4, 5);
    let mut expected = vec![
        (b, AlarmKind::ArrestRecordedLate, 24, false),
        (b, AlarmKind::FirstAppearanceLate, 24, false),
        (b, AlarmKind::PoliceCustodyOverdue, 22, false),
        (c, AlarmKind::NoFirstAppearance, 24, true),
        // A fact, not a limit: no hours late.
        (e, AlarmKind::ExtensionsBeyondLaw, 0, false),
        (e, AlarmKind::PoliceCustodyOverdue, 48, false),
        (e, AlarmKind::NoFirstAppearance, 72, false),
        (f, AlarmKind::NoFirstAppearance, 72, false),
    ];
    let mut sorted = got.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected);
    // Current alarms come first.
    assert_eq!(got[0], (c, AlarmKind::NoFirstAppearance, 24, true));
    // Every alarm names the 2001 code's rule it comes from.
    for al in report
        .alarms
        .iter()
        .filter(|al| first_hours.contains(&al.kind))
    {
        let rule = al.rule.as_ref().expect("a time limit names its rule");
        assert_eq!(rule.code, "mali-cpp-2001", "{al:?}");
    }
    // An hour later, C's police custody is past its end too.
    let later = alarms.report(&policies(), &calendar(), "ML", &t(8, 11));
    assert!(later.alarms.iter().any(|al| al.chain == ids[c]
        && al.kind == AlarmKind::PoliceCustodyOverdue
        && al.current
        && al.hours_late == 1));

    // Each fires one second past its limit, not at it; an alarm at an earlier instant reads
    // only what had happened by then.
    let kinds_at = |t: &Timestamp, who: usize| -> Vec<(AlarmKind, bool)> {
        let mut v: Vec<_> = alarms
            .report(&policies(), &calendar(), "ML", t)
            .alarms
            .iter()
            .filter(|al| al.chain == ids[who])
            .map(|al| (al.kind, al.current))
            .collect();
        v.sort();
        v
    };
    let second = |t: Timestamp, s: i64| t.plus_seconds(s);
    // B: recorded late at d2 10:00 (limit d1 10:00): the alarm appears with the recording.
    assert!(!kinds_at(&second(t(2, 10), -1), b).contains(&(AlarmKind::ArrestRecordedLate, false)));
    assert!(kinds_at(&t(2, 10), b).contains(&(AlarmKind::ArrestRecordedLate, false)));
    // B: first appearance due d2 10:00; from d2 10:00:01 none yet (current), from d3 10:00 late.
    assert!(!kinds_at(&t(2, 10), b).contains(&(AlarmKind::NoFirstAppearance, true)));
    assert!(kinds_at(&second(t(2, 10), 1), b).contains(&(AlarmKind::NoFirstAppearance, true)));
    assert!(kinds_at(&second(t(3, 10), -1), b).contains(&(AlarmKind::NoFirstAppearance, true)));
    assert_eq!(
        kinds_at(&t(3, 10), b)
            .into_iter()
            .filter(|k| matches!(
                k.0,
                AlarmKind::NoFirstAppearance | AlarmKind::FirstAppearanceLate
            ))
            .collect::<Vec<_>>(),
        vec![(AlarmKind::FirstAppearanceLate, false)]
    );
    // B: police custody ends d2 12:00 (48 h from d0 12:00).
    assert!(!kinds_at(&t(2, 12), b)
        .iter()
        .any(|k| k.0 == AlarmKind::PoliceCustodyOverdue));
    assert!(kinds_at(&second(t(2, 12), 1), b).contains(&(AlarmKind::PoliceCustodyOverdue, true)));
    // C: one extension, police custody ends d8 10:00: in time at it, overdue one second later.
    assert!(!kinds_at(&t(8, 10), c)
        .iter()
        .any(|k| k.0 == AlarmKind::PoliceCustodyOverdue));
    assert!(kinds_at(&second(t(8, 10), 1), c).contains(&(AlarmKind::PoliceCustodyOverdue, true)));
    // C: with its extension of d7 09:00 counted, police custody is in time at d7 10:00 + 1 s.
    assert!(kinds_at(&second(t(7, 10), 1), c)
        .iter()
        .all(|k| k.0 != AlarmKind::PoliceCustodyOverdue));
    // E: the second extension (d3 09:00) is the one beyond the law.
    assert!(!kinds_at(&second(t(3, 9), -1), e)
        .iter()
        .any(|k| k.0 == AlarmKind::ExtensionsBeyondLaw));
    assert!(kinds_at(&t(3, 9), e).contains(&(AlarmKind::ExtensionsBeyondLaw, true)));
}

#[test]
fn an_arrest_before_any_rule_set_is_reported_as_uncovered_not_guessed() {
    let mut chain = Chain {
        id: detainee_chain_id((0x018c_c000_0000u128 << 80) | 99),
        seq: 0,
        prev: None,
    };
    let old = Timestamp::from_unix_seconds(946_684_800); // 2000-01-01, before the 2001 code
    let mut alarms = Alarms::new();
    alarms.observe(&record(&mut chain, K::Arrest, old.clone(), old));
    let report = alarms.report(&policies(), &calendar(), "ML", &t(8, 10));
    assert!(report.alarms.is_empty());
    assert_eq!(report.uncovered.len(), 1);
    assert_eq!(report.uncovered[0].0, chain.id);
}

/// The `[alarms]` settings of a rule set are read strictly: the table is required, its hours
/// must be more than 0, and the real files set the figures.
#[test]
fn the_alarm_settings_of_a_rule_set_are_strict() {
    use custody_views::policy::Policy;
    let set = policies();
    for p in set.policies() {
        assert_eq!(p.alarms.custody_gap_hours, 24, "{}", p.code);
        assert_eq!(p.alarms.order_expiry_notice_working_days, 8, "{}", p.code);
    }
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/policy/mali-cpp-2001.toml");
    let text = std::fs::read_to_string(&file).expect("read");
    let start = text.find("[alarms]").expect("an [alarms] table");
    let without: String = text[..start].to_string();
    let e = Policy::parse(Path::new("x.toml"), &without)
        .expect_err("no [alarms]")
        .to_string();
    assert!(e.contains("x.toml") && e.contains("alarms"), "{e}");
    let zero = text.replace("custody_gap_hours = 24", "custody_gap_hours = 0");
    let e = Policy::parse(Path::new("x.toml"), &zero)
        .expect_err("0 hours")
        .to_string();
    assert!(e.contains("alarms.custody_gap_hours"), "{e}");
    let unknown = text.replace(
        "custody_gap_hours = 24",
        "custody_gap_hours = 24\ngap_days = 1",
    );
    let e = Policy::parse(Path::new("x.toml"), &unknown)
        .expect_err("unknown key")
        .to_string();
    assert!(e.contains("gap_days"), "{e}");
}
