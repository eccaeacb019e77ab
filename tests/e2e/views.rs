//! The judicial and prison views on the demo: `custody backlog` (its figures equal the demo's
//! own census, computed by other code, and an ageing worked out here from the export),
//! `custody hearings`, `custody whereabouts` in French and English with its access-log entry,
//! and the read matrix refusing a monitor the full timeline.

mod common;

use std::collections::BTreeMap;

use common::*;
use custody_core::humancode::code_for_chain;
use custody_core::{EventKind, Timestamp};
use serde_json::Value;

/// The demo's court clerk of the judicial pole: reads every view but the own file.
const CLERK: &str = "demo-keys/pole-clerk.key";

/// The demo, its JSON summary (the census of `custody_views::census`) and its export.
fn demo() -> (World, Value, Vec<custody_core::Record>) {
    let w = World::sqlite();
    let summary = w.ok_json(&["demo"]);
    let records = w.export();
    (w, summary["summary"].clone(), records)
}

fn access_log(w: &World) -> Vec<Value> {
    let conn = rusqlite::Connection::open(w.path("custody.db")).expect("open the ledger file");
    let mut stmt = conn
        .prepare("SELECT entry FROM access_log ORDER BY id")
        .expect("access log");
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("rows")
        .map(|r| serde_json::from_str(&r.expect("row")).expect("json entry"))
        .collect();
    rows
}

/// Calendar months from `start` to `at`, counted as the backlog documents (same time of day,
/// the last day of a shorter month), written independently of the code under test.
fn whole_months(start: &Timestamp, at: &Timestamp) -> u32 {
    fn ymd(t: &Timestamp) -> (i64, i64, i64, &str) {
        let s = t.as_str();
        (
            s[0..4].parse().unwrap(),
            s[5..7].parse().unwrap(),
            s[8..10].parse().unwrap(),
            &s[11..19],
        )
    }
    let (y0, m0, d0, t0) = ymd(start);
    let (y1, m1, d1, t1) = ymd(at);
    let mut months = (y1 - y0) * 12 + (m1 - m0);
    let days_in = |y: i64, m: i64| match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    };
    // The anniversary in the month of `at`: the same day, or the month's last day.
    let anniversary = d0.min(days_in(y1, m1));
    if (d1, t1) < (anniversary, t0) {
        months -= 1;
    }
    months.max(0) as u32
}

fn bucket(months: u32) -> &'static str {
    match months {
        0 => "under_1_month",
        1..=5 => "1_6_months",
        6..=11 => "6_12_months",
        12..=23 => "1_2_years",
        24..=35 => "2_3_years",
        _ => "over_3_years",
    }
}

#[test]
fn the_backlog_of_the_demo_equals_its_census_and_an_ageing_worked_out_from_the_export() {
    let (w, census, records) = demo();
    let at = census["as_of"].as_str().expect("as_of").to_string();
    let b = w.ok_json(&["backlog", "--as", CLERK, "--format", "json", "--at", &at]);
    let total = &b["total"];

    // Counts by legal status: the census counts the people deprived of liberty as the backlog.
    let by_legal: BTreeMap<String, u64> = census["by_legal_status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["status"].as_str().unwrap().to_string(),
                s["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let mine: BTreeMap<String, u64> = total["by_status"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(mine, by_legal, "{b}");
    assert_eq!(
        total["held"].as_u64().unwrap(),
        by_legal.values().sum::<u64>()
    );

    // Pre-trial detainees and expired orders.
    let pre_trial = census["pre_trial"].as_array().unwrap();
    assert!(!pre_trial.is_empty());
    assert_eq!(total["pre_trial"].as_u64().unwrap(), pre_trial.len() as u64);
    let expired = pre_trial
        .iter()
        .filter(|p| p["order_expired"] == true)
        .count() as u64;
    assert!(expired > 0, "the demo has expired orders (issue 10)");
    assert_eq!(total["overdue"].as_u64().unwrap(), expired);

    // Pre-trial counts by facility.
    let mut by_facility: BTreeMap<Option<String>, u64> = BTreeMap::new();
    for p in pre_trial {
        *by_facility
            .entry(p["facility"].as_str().map(str::to_string))
            .or_default() += 1;
    }
    for line in b["by_facility"].as_array().unwrap() {
        let id = line["id"].as_str().map(str::to_string);
        assert_eq!(
            line["pre_trial"].as_u64().unwrap(),
            by_facility.get(&id).copied().unwrap_or(0),
            "{line}"
        );
    }

    // Occupancy: the census's population of each facility.
    for f in census["facilities"].as_array().unwrap() {
        let id = f["id"].as_str().unwrap();
        let o = b["occupancy"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["facility"] == id)
            .unwrap_or_else(|| panic!("no occupancy line for {id}: {b}"));
        assert_eq!(o["population"], f["population"], "{id}");
        assert_eq!(o["capacity"], f["capacity"], "{id}");
    }

    // Ageing, worked out here from the first detention order of each pre-trial chain.
    let at_ts = Timestamp::parse(&at).unwrap();
    let mut first_start: BTreeMap<String, Timestamp> = BTreeMap::new();
    for r in &records {
        if r.header.kind == EventKind::DetentionOrder {
            let code = code_for_chain(&r.header.chain);
            if let Some(start) = r.header.facts.timestamp("start") {
                first_start.entry(code).or_insert(start);
            }
        }
    }
    let mut ageing: BTreeMap<&str, u64> = BTreeMap::new();
    for p in pre_trial {
        let start = &first_start[p["code"].as_str().unwrap()];
        *ageing
            .entry(bucket(whole_months(start, &at_ts)))
            .or_default() += 1;
    }
    for (k, v) in total["ageing"].as_object().unwrap() {
        assert_eq!(
            v.as_u64().unwrap(),
            ageing.get(k.as_str()).copied().unwrap_or(0),
            "bucket {k}: {b}"
        );
    }

    // The CSV has the same totals, and parses as one table.
    let csv = w.ok(&["backlog", "--as", CLERK, "--format", "csv", "--at", &at]);
    let rows: Vec<Vec<&str>> = csv
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').collect())
        .collect();
    let width = rows[0].len();
    assert_eq!(rows[0][0], "group");
    let total_row = rows.iter().find(|r| r[0] == "total").unwrap();
    assert_eq!(total_row[3], total["held"].to_string());
    assert_eq!(total_row[4], total["pre_trial"].to_string());
    assert_eq!(total_row[6], total["overdue"].to_string());
    let held_sum: u64 = rows
        .iter()
        .filter(|r| r[0] == "facility")
        .map(|r| {
            assert_eq!(
                r.len(),
                width,
                "{r:?} (no facility name of the demo holds a comma)"
            );
            r[3].parse::<u64>().unwrap()
        })
        .sum();
    assert_eq!(held_sum, total["held"].as_u64().unwrap());

    // French table by default, English on request; filters narrow it.
    let fr = w.ok(&["backlog", "--as", CLERK, "--at", &at]);
    assert!(
        fr.starts_with("Détention provisoire : état des stocks"),
        "{fr}"
    );
    assert!(
        fr.contains("Part des prévenus") && fr.contains("\u{a0}%"),
        "{fr}"
    );
    let en = w.ok(&["backlog", "--as", CLERK, "--at", &at, "--lang", "en"]);
    assert!(
        en.starts_with("Pre-trial detention backlog") && en.contains("Longest pre-trial waits"),
        "{en}"
    );
    let overdue = w.ok_json(&["backlog", "--as", CLERK, "--at", &at, "--overdue"]);
    assert_eq!(overdue["total"]["held"].as_u64().unwrap(), expired);
    let convicted = w.ok_json(&[
        "backlog",
        "--as",
        CLERK,
        "--at",
        &at,
        "--status",
        "convicted",
    ]);
    assert_eq!(convicted["total"]["pre_trial"], 0);
    let bad = w.fails(2, &["backlog", "--as", CLERK, "--status", "guilty"]);
    assert!(
        bad.stderr.contains("unknown legal status \"guilty\""),
        "{}",
        bad.stderr
    );
    let bad = w.fails(2, &["backlog", "--as", CLERK, "--facility", "ml-nowhere"]);
    assert!(bad.stderr.contains("ml-nowhere"), "{}", bad.stderr);
    let bad = w.fails(2, &["backlog", "--as", CLERK, "--at", "yesterday"]);
    assert!(bad.stderr.contains("--at \"yesterday\""), "{}", bad.stderr);
    // A closed pipe is a normal end.
    let out = std::process::Command::new("bash")
        .args([
            "-o",
            "pipefail",
            "-c",
            &format!(
                "{BIN} backlog --as {} --store {} | true",
                w.path(CLERK).display(),
                w.store
            ),
        ])
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn whereabouts_of_a_demo_person_in_french_and_english_logged_and_the_matrix_enforced() {
    let (w, census, _) = demo();
    let person = census["pre_trial"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["custody_status"] == "held" && p["facility"].is_string())
        .expect("someone held at a facility");
    let code = person["code"].as_str().unwrap();
    let facility = person["facility"].as_str().unwrap();

    let fr = w.ok(&["whereabouts", code, "--as", "demo-keys/pole-clerk.key"]);
    assert!(fr.contains("La personne est en vie et détenue par"), "{fr}");
    assert!(fr.contains(facility), "{fr}");
    assert!(
        fr.contains("Autorité ayant ordonné la privation de liberté"),
        "{fr}"
    );
    let en = w.ok(&[
        "whereabouts",
        code,
        "--as",
        "demo-keys/pole-clerk.key",
        "--lang",
        "en",
        "--relatives",
    ]);
    assert!(
        en.contains("Information for relatives and counsel (art. 18)"),
        "{en}"
    );
    assert!(en.contains("The person is alive and held by"), "{en}");
    let j = w.ok_json(&["whereabouts", code, "--as", "demo-keys/pole-clerk.key"]);
    assert_eq!(j["code"], code);
    assert_eq!(j["current"]["state"], "held");

    let log = access_log(&w);
    let clerk: Vec<&Value> = log
        .iter()
        .filter(|e| e["action"] == "view_whereabouts")
        .collect();
    assert_eq!(clerk.len(), 2, "{log:?}");
    assert!(clerk
        .iter()
        .all(|e| e["allowed"] == true && e["agency"] == "ml-pole-judiciaire"));
    assert!(clerk[0]["target"].as_str().unwrap().starts_with("d-"));
    assert_eq!(
        log.iter()
            .filter(|e| e["action"] == "view_relatives")
            .count(),
        1
    );

    // A monitor may not read the full timeline: refused, exit 1, and the refusal logged.
    let r = w.fails(1, &["timeline", code, "--as", "demo-keys/cndh-monitor.key"]);
    assert!(
        r.stderr.contains("access refused") && r.stderr.contains("--headers-only"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());
    let log = access_log(&w);
    let last = log.last().unwrap();
    assert_eq!(last["action"], "view_timeline");
    assert_eq!(last["allowed"], false);
    assert_eq!(last["agency"], "ml-cndh");
    // Headers only, it may; no payload is shown.
    let h = w.ok_json(&[
        "timeline",
        code,
        "--as",
        "demo-keys/cndh-monitor.key",
        "--headers-only",
    ]);
    assert_eq!(h["detail"], "headers_only");
    assert!(h["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e.get("payload").is_none()));
    assert_eq!(
        access_log(&w).last().unwrap()["action"],
        "view_timeline_headers"
    );
    // Nor the whereabouts; the clerk reads the timeline with marks.
    w.fails(
        1,
        &["whereabouts", code, "--as", "demo-keys/cndh-monitor.key"],
    );
    let tl = w.ok(&["timeline", code, "--as", "demo-keys/pole-clerk.key"]);
    assert!(
        tl.contains("✓ vérifié") && tl.contains("arrestation"),
        "{tl}"
    );
    // The own file: not for the clerk; for the registrar of the prison holding the person,
    // who prints it for the detainee (Mandela Rule 8), medical notes withheld.
    let r = w.fails(
        1,
        &[
            "timeline",
            code,
            "--own-file",
            "--as",
            "demo-keys/pole-clerk.key",
        ],
    );
    assert!(r.stderr.contains("own file"), "{}", r.stderr);
    let at_mca = census["pre_trial"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["custody_status"] == "held" && p["facility"] == "mca-bamako")
        .expect("someone held at MCA Bamako");
    let mca = at_mca["code"].as_str().unwrap();
    let own = w.ok(&[
        "timeline",
        mca,
        "--own-file",
        "--as",
        "demo-keys/mca-registrar.key",
    ]);
    assert!(
        own.starts_with("Dossier personnel (règle Nelson Mandela 8)"),
        "{own}"
    );
    assert!(
        own.contains("note médicale réservée au personnel soignant"),
        "{own}"
    );
    assert_eq!(access_log(&w).last().unwrap()["action"], "view_own_file");
    // Another prison's registrar does not hold the person: refused, and logged.
    w.fails(
        1,
        &[
            "whereabouts",
            mca,
            "--as",
            "demo-keys/koulikoro-registrar.key",
        ],
    );
    let last = access_log(&w).last().unwrap().clone();
    assert_eq!(
        (last["action"].as_str(), last["allowed"].as_bool()),
        (Some("view_whereabouts"), Some(false))
    );
    w.ok(&["whereabouts", mca, "--as", "demo-keys/mca-registrar.key"]);
    // A key of no ledger reads nothing.
    let (stranger, _) = w.keygen("stranger.key");
    let r = w.fails(1, &["whereabouts", code, "--as", &stranger]);
    assert!(r.stderr.contains("not enrolled"), "{}", r.stderr);
}

#[test]
fn the_hearing_calendar_of_the_demo_runs_in_both_languages() {
    let (w, census, _) = demo();
    let at = census["as_of"].as_str().unwrap().to_string();
    let j = w.ok_json(&["hearings", "--as", CLERK, "--at", &at]);
    assert!(
        j["upcoming"].is_array() && j["not_produced"].is_array(),
        "{j}"
    );
    let fr = w.ok(&["hearings", "--as", CLERK, "--at", &at]);
    assert!(fr.starts_with("Audiences"), "{fr}");
    let en = w.ok(&["hearings", "--as", CLERK, "--at", &at, "--lang", "en"]);
    assert!(
        en.starts_with("Hearings") && en.contains("Upcoming hearings"),
        "{en}"
    );
    let bad = w.fails(2, &["hearings", "--as", CLERK, "--day", "01/12/2026"]);
    assert!(
        bad.stderr.contains("--day \"01/12/2026\""),
        "{}",
        bad.stderr
    );
}

/// Defence counsel reads by appointment, not by role: the demo's lawyer, appointed on one chain
/// by a `counsel_appointed` record, reads that person's own file and whereabouts, and nothing of
/// any other person; every decision is in the access log.
#[test]
fn counsel_reads_the_file_of_the_chain_it_is_appointed_on_and_no_other() {
    let (w, census, records) = demo();
    let appointed = records
        .iter()
        .find(|r| r.header.kind == EventKind::CounselAppointed)
        .expect("the demo appoints counsel on one chain");
    let client = code_for_chain(&appointed.header.chain);
    let key = "demo-keys/counsel-toure.key";
    let own = w.ok(&["timeline", &client, "--own-file", "--as", key]);
    assert!(
        own.starts_with("Dossier personnel (règle Nelson Mandela 8)"),
        "{own}"
    );
    let last = access_log(&w).last().unwrap().clone();
    assert_eq!(
        (last["action"].as_str(), last["allowed"].as_bool()),
        (Some("view_own_file"), Some(true))
    );
    w.ok(&["whereabouts", &client, "--as", key]);
    // Counsel is no clerk: the full timeline is not its view, even on its client's chain.
    w.fails(1, &["timeline", &client, "--as", key]);
    // Another person's file: refused and logged.
    let other = census["pre_trial"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_string())
        .find(|c| *c != client)
        .expect("another detainee");
    let r = w.fails(1, &["timeline", &other, "--own-file", "--as", key]);
    assert!(r.stderr.contains("access refused"), "{}", r.stderr);
    let last = access_log(&w).last().unwrap().clone();
    assert_eq!(
        (last["action"].as_str(), last["allowed"].as_bool()),
        (Some("view_own_file"), Some(false))
    );
}

/// `custody backlog`, `custody alarms` and `custody hearings` are read with an enrolled key
/// (`--as`), as `GET /v1/backlog`, `/v1/alarms` and `/v1/hearings` are: the same read matrix,
/// the same access-log entry (target the list, action `view_...`), the same narrowing of a
/// registrar to its own agency's people. A refused role gets an error naming the refusal and no
/// output, and its refusal is logged; an allowed one gets its output and exactly one entry.
#[test]
fn the_list_views_take_a_key_check_the_matrix_and_write_the_access_log() {
    let (w, census, _) = demo();
    let at = census["as_of"].as_str().unwrap().to_string();
    let policy = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/policy")
        .display()
        .to_string();
    // The clerk's key id, as the access log names it after a whereabouts read.
    let someone = census["pre_trial"][0]["code"].as_str().unwrap().to_string();
    w.ok(&["whereabouts", &someone, "--as", CLERK]);
    let clerk_id = access_log(&w).last().unwrap()["reader"].clone();
    assert!(clerk_id.is_string(), "{clerk_id}");
    let views: [(&str, &str, Vec<&str>); 3] = [
        ("backlog", "view_backlog", vec!["--at", &at]),
        (
            "alarms",
            "view_alarms",
            vec!["--at", &at, "--policy-dir", &policy],
        ),
        ("hearings", "view_hearings", vec!["--at", &at]),
    ];
    let run_as = |view: &str, key: &str, extra: &[&str]| {
        let mut args = vec!["--json", view, "--as", key];
        args.extend_from_slice(extra);
        w.run(&args)
    };
    for (view, action, extra) in &views {
        // Without a key, nothing is read: the flag is required, as for `custody whereabouts`.
        let mut args = vec![*view];
        args.extend_from_slice(extra);
        let r = w.fails(2, &args);
        assert!(r.stderr.contains("--as"), "{view}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{view}: {}", r.stdout);

        // An arresting officer reads no list view: exit 1, a clear reason, no output, logged.
        let before = access_log(&w).len();
        let r = run_as(view, "demo-keys/fama-officer.key", extra);
        assert_eq!(r.code, 1, "{view}: {}", r.stderr);
        assert!(
            r.stderr.contains("access refused")
                && r.stderr.contains("ml-fama")
                && r.stderr.contains("arresting_officer"),
            "{view}: {}",
            r.stderr
        );
        assert!(r.stdout.is_empty(), "{view}: {}", r.stdout);
        let log = access_log(&w);
        assert_eq!(log.len(), before + 1, "{view}: {log:?}");
        let last = &log[before];
        assert_eq!(last["target"], *view);
        assert_eq!(last["action"], *action);
        assert_eq!(last["allowed"], false);
        assert_eq!(last["agency"], "ml-fama");

        // The clerk reads it: output, and one entry of the gateway's shape.
        let r = run_as(view, CLERK, extra);
        assert_eq!(r.code, 0, "{view}: {}", r.stderr);
        assert!(!r.stdout.is_empty(), "{view}");
        let log = access_log(&w);
        assert_eq!(log.len(), before + 2, "{view}: {log:?}");
        let last = &log[before + 1];
        let mut keys: Vec<&str> = last
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["action", "agency", "allowed", "at", "reader", "target"],
            "{last}"
        );
        assert_eq!(last["target"], *view);
        assert_eq!(last["action"], *action);
        assert_eq!(last["allowed"], true);
        assert_eq!(last["agency"], "ml-pole-judiciaire");
        assert_eq!(last["reader"], clerk_id);
    }

    // A monitor reads the backlog and the alarms, not the hearing calendar (who is to be
    // produced where is for the courts and prisons).
    let r = run_as("hearings", "demo-keys/cndh-monitor.key", &["--at", &at]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("access refused") && r.stderr.contains("hearing calendar"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());
    assert_eq!(access_log(&w).last().unwrap()["allowed"], false);
    let r = run_as("backlog", "demo-keys/cndh-monitor.key", &["--at", &at]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // A prison's registrar sees its own agency's people only, in each list.
    let json = |view: &str, key: &str, extra: &[&str]| -> Value {
        let r = run_as(view, key, extra);
        assert_eq!(r.code, 0, "{view}: {}", r.stderr);
        serde_json::from_str(r.stdout.lines().last().unwrap()).expect("json")
    };
    let registrar = "demo-keys/mca-registrar.key";
    let all = json("backlog", CLERK, &["--at", &at]);
    let own = json("backlog", registrar, &["--at", &at]);
    let held = |b: &Value| b["total"]["held"].as_u64().unwrap();
    assert!(held(&own) > 0 && held(&own) < held(&all), "{own}");
    let codes = |v: &Value, list: &str| -> Vec<String> {
        v[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["chain"].as_str().unwrap().to_string())
            .collect()
    };
    // Only its own facilities' occupancy.
    let occupancy = own["occupancy"].as_array().unwrap();
    assert!(!occupancy.is_empty(), "{own}");
    assert!(
        occupancy.iter().all(|o| o["agency"] == "ml-mca-bamako"),
        "{own}"
    );
    let alarm_extra = ["--at", at.as_str(), "--policy-dir", policy.as_str()];
    let all = json("alarms", CLERK, &alarm_extra);
    let own = json("alarms", registrar, &alarm_extra);
    let n = |v: &Value| v["alarms"].as_array().unwrap().len();
    assert!(n(&own) < n(&all), "{} of {}", n(&own), n(&all));
    let all_alarmed = codes(&all, "alarms");
    assert!(codes(&own, "alarms")
        .iter()
        .all(|c| all_alarmed.contains(c)));
    let hearing_chains = |v: &Value| -> usize {
        v["upcoming"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["hearings"].as_array().map_or(0, Vec::len))
            .sum::<usize>()
            + v["not_produced"].as_array().unwrap().len()
    };
    let all = json("hearings", CLERK, &["--at", &at]);
    let own = json("hearings", registrar, &["--at", &at]);
    assert!(hearing_chains(&own) <= hearing_chains(&all));

    // A key of no ledger reads nothing, and is told why.
    let (stranger, _) = w.keygen("stranger.key");
    let r = run_as("backlog", &stranger, &["--at", &at]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("not enrolled"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}
