//! `custody demo`, the README's first command: a deterministic ledger that verifies, and a
//! summary that names nobody.

mod common;

use std::process::{Command, Stdio};

use common::*;
use custody_core::humancode::code_for_chain;
use custody_core::EventKind;

/// Runs one shell command line as a user would type it after the demo: in the demo's
/// directory, with `custody` on PATH, on the default store (`custody.db` there).
fn sh(w: &World, line: &str) -> Run {
    let bin_dir = std::path::Path::new(BIN).parent().expect("bin dir");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-o", "pipefail", "-c", line])
        .current_dir(w.dir.path())
        .env("PATH", path)
        .env_remove("CUSTODY_STORE")
        .env_remove("CUSTODY_KEY")
        .env_remove("CUSTODY_ROOT_KEY")
        .env_remove("CUSTODY_LEDGER_KEY")
        .stdin(Stdio::null())
        .output()
        .expect("run bash");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The command lines of the ```sh blocks of README.md's "Run the demo" section.
fn readme_demo_commands() -> Vec<String> {
    let readme = include_str!("../../README.md");
    let start = readme.find("## Run the demo").expect("demo section");
    let end = readme[start..]
        .find("\n## ")
        .map_or(readme.len(), |e| start + 1 + e);
    let mut lines = Vec::new();
    let mut in_block = false;
    for line in readme[start..end].lines() {
        if line.starts_with("```") {
            in_block = line.trim() == "```sh" && !in_block;
            continue;
        }
        if in_block && !line.trim().is_empty() {
            lines.push(line.trim().to_string());
        }
    }
    lines
}

/// Copies a file of the repository into the demo's directory at the same relative path (the
/// README's commands run from the repository root).
fn copy_from_repo(w: &World, rel: &str) {
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    let to = w.path(rel);
    std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
    std::fs::copy(&from, &to).expect("copy");
}

/// Every command of the README's demo section runs as written right after the demo (the
/// gateway on a free port instead of 8080, which another program may hold), and so does
/// every command the demo prints to try.
#[test]
fn readme_demo_commands_run_as_written_after_the_demo() {
    let w = World::sqlite();
    copy_from_repo(&w, "schemas/examples/arrest/valid-menaka-barkhane.json");
    let commands = readme_demo_commands();
    assert!(
        commands.iter().any(|c| c.contains("demo-keys/ledger.key")),
        "{commands:?}"
    );
    let mut demo_output = None;
    for line in &commands {
        let command = line.split(" #").next().unwrap_or(line).trim();
        if command == "cargo run --release -p custody-cli -- demo" {
            let r = sh(&w, "custody demo");
            assert_eq!(r.code, 0, "custody demo: {}{}", r.stdout, r.stderr);
            demo_output = Some(r.stdout);
        } else if command.starts_with("custody serve") {
            assert!(demo_output.is_some(), "serve before the demo");
            let serve = Serve::start(&w, custody_testkit::free_port().expect("port"));
            assert_eq!(serve.get("/healthz").0, 200);
            serve.kill();
        } else if command == "set -o pipefail" {
            // Every line runs under pipefail (see sh).
        } else {
            assert!(demo_output.is_some(), "{command} before the demo");
            let r = sh(&w, command);
            assert_eq!(r.code, 0, "README: {command}\n{}\n{}", r.stdout, r.stderr);
        }
    }
    let demo_output = demo_output.expect("the README runs the demo");
    assert!(w.path("public.jsonl").is_file());

    // The key files: beside the database, private, marked as demo keys.
    let keys = w.path("demo-keys");
    let mut count = 0;
    for entry in std::fs::read_dir(&keys).expect("demo-keys/") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("key file");
        let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON key file");
        assert_eq!(doc["demo"], true, "{}", path.display());
        assert_eq!(doc["type"], "custody-ledger/ed25519-secret-key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
        }
        count += 1;
    }
    assert_eq!(count, 19, "root, ledger and the 17 enrolled keys");

    // The commands the demo prints to try run too.
    let tried: Vec<&str> = demo_output
        .lines()
        .filter_map(|l| l.strip_prefix("  custody "))
        .collect();
    assert!(tried.len() >= 3, "{demo_output}");
    for rest in tried {
        let command = format!("custody {rest}");
        let r = sh(&w, &command);
        assert_eq!(r.code, 0, "demo: {command}\n{}\n{}", r.stdout, r.stderr);
    }
}

/// `--as-of`: the world ends on the day before, its keys sign today, and the same day gives
/// the same bytes; a store built for another day is refused, naming the day it was built for.
#[test]
fn demo_as_of_ends_on_that_day_and_keys_sign_today() {
    let w = World::sqlite();
    let v = w.ok_json(&["demo", "--as-of", "2026-06-01", "--detainees", "10"]);
    assert_eq!(v["as_of"], "2026-06-01", "{v}");
    let ends = v["ends_at"].as_str().expect("ends_at");
    assert!(ends.starts_with("2026-05-31T"), "{ends}");
    let records = w.export();
    let last = records
        .iter()
        .map(|r| r.header.recorded_at.as_str().to_string())
        .max()
        .expect("records");
    assert_eq!(last, ends);
    let again = w.path("again.db").display().to_string();
    w.ok(&[
        "--store",
        &again,
        "demo",
        "--as-of",
        "2026-06-01",
        "--detainees",
        "10",
        "--quiet",
    ]);
    assert_eq!(
        w.ok(&["export"]),
        w.ok(&["--store", &again, "export"]),
        "same seed and --as-of, same bytes"
    );
    let r = w.fails(2, &["demo", "--as-of", "2026-06-02", "--detainees", "10"]);
    assert!(r.stderr.contains("--as-of 2026-06-01"), "{}", r.stderr);
    let r = w.fails(2, &["demo", "--as-of", "9999-01-01"]);
    assert!(r.stderr.contains("après aujourd'hui"), "{}", r.stderr);
    let r = w.fails(2, &["demo", "--as-of", "01/06/2026"]);
    assert!(r.stderr.contains("AAAA-MM-JJ"), "{}", r.stderr);

    // The demo keys are valid now: the Gao police officer records an arrest, the
    // gendarmerie signs a checkpoint with the ledger key.
    copy_from_repo(&w, "schemas/examples/arrest/valid-menaka-barkhane.json");
    let rec = w.ok_json(&[
        "record",
        "arrest",
        "--new-chain",
        "--key",
        "demo-keys/police-gao-opj.key",
        "--agency",
        "ml-police-gao",
        "--body",
        "schemas/examples/arrest/valid-menaka-barkhane.json",
    ]);
    assert_eq!(rec["kind"], "arrest", "{rec}");
    w.ok(&["checkpoint", "--ledger-key", "demo-keys/ledger.key"]);
}

/// Two chain ids whose SHA-256 starts with the same 40 bits, so the same human code (found
/// by a birthday search over 1.4 million ids).
const SHARED_CODE: [&str; 2] = [
    "d-01m8p570g00qqd00000000g5cn",
    "d-01m8p570g00qqd00000000w8vn",
];

/// A human code is accepted wherever a chain id is, resolved against the ledger's chains; a
/// code two chains share is refused with both ids, never guessed.
#[test]
fn human_codes_stand_for_chain_ids_and_a_shared_code_is_refused() {
    let w = World::sqlite();
    w.ok(&["demo", "--detainees", "5", "--quiet"]);
    let records = w.export();
    let chain = records
        .iter()
        .find(|r| r.header.kind == EventKind::Arrest)
        .expect("an arrest")
        .header
        .chain
        .clone();
    let code = code_for_chain(&chain);
    let by_id = w.ok(&["export", "--chain", &chain]);
    assert!(by_id.lines().count() > 3);
    assert_eq!(w.ok(&["export", "--chain", &code]), by_id);
    // Read leniently, as a clerk types it.
    let typed = code.to_lowercase().replace('-', "");
    assert_eq!(w.ok(&["export", "--chain", &typed]), by_id);
    // A mistyped character is caught by the check character; an unknown code is named.
    let mut wrong: Vec<char> = code.chars().collect();
    wrong[1] = if wrong[1] == '0' { '1' } else { '0' };
    let wrong: String = wrong.into_iter().collect();
    let r = w.fails(2, &["export", "--chain", &wrong]);
    assert!(r.stderr.contains("caractère de contrôle"), "{}", r.stderr);

    // `record --chain CODE` on a fresh chain: the officer notifies the family.
    copy_from_repo(&w, "schemas/examples/arrest/valid-menaka-barkhane.json");
    let arrest = |chain: &str| {
        w.ok_json(&[
            "record",
            "arrest",
            "--chain",
            chain,
            "--key",
            "demo-keys/police-gao-opj.key",
            "--agency",
            "ml-police-gao",
            "--body",
            "schemas/examples/arrest/valid-menaka-barkhane.json",
        ])
    };
    let [a, b] = SHARED_CODE;
    let shared = code_for_chain(a);
    assert_eq!(shared, code_for_chain(b));
    assert_eq!(arrest(a)["code"], shared.as_str());
    let notify = |chain: &str| {
        w.run(&[
            "--json",
            "record",
            "family_notified",
            "--chain",
            chain,
            "--key",
            "demo-keys/police-gao-opj.key",
            "--agency",
            "ml-police-gao",
            "--body-json",
            r#"{"who": "brother", "means": "phone", "subject": "detention", "reached": true}"#,
        ])
    };
    let one = notify(&shared);
    assert_eq!(one.code, 0, "{}{}", one.stdout, one.stderr);
    assert!(
        one.stdout.contains(a),
        "the code resolved to {a}: {}",
        one.stdout
    );

    // A second chain with the same code: refused, both listed, nothing appended.
    arrest(b);
    let size = w.size();
    for r in [w.fails(2, &["export", "--chain", &shared]), notify(&shared)] {
        assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains("2 chaînes"), "{}", r.stderr);
        assert!(r.stderr.contains(a) && r.stderr.contains(b), "{}", r.stderr);
    }
    assert_eq!(w.size(), size, "a refused code changes nothing");
    // The full ids still work.
    assert!(w.ok(&["export", "--chain", b]).lines().count() == 1);
}

#[test]
fn demo_on_sqlite_verifies_and_is_deterministic() {
    let w = World::sqlite();
    let out = w.ok(&["demo"]);
    assert!(out.contains("verification: OK"), "{out}");
    assert!(
        out.contains("CUSTODY GAPS (1)"),
        "a custody gap is loud: {out}"
    );
    assert!(out.contains("pre-trial detention"), "{out}");
    assert!(out.contains("population / capacity"), "{out}");
    let v = w.ok_json(&["verify"]);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["chains"], 50);

    // The summary names people by human code only, never by name.
    let records = w.export();
    let mut names = Vec::new();
    for r in records
        .iter()
        .filter(|r| r.header.kind == EventKind::Arrest)
    {
        if let Some(name) = r
            .payload
            .as_ref()
            .and_then(|p| p.body["person"]["name"].as_str())
        {
            names.push(name.to_string());
        }
    }
    assert!(!names.is_empty(), "the demo world has named people");
    for name in &names {
        assert!(
            !out.contains(name.as_str()),
            "the summary printed a name: {name}"
        );
    }

    // Same seed, another store: the same bytes.
    let first = w.ok(&["export"]);
    let other = w.path("other.db").display().to_string();
    w.ok(&["--store", &other, "demo", "--quiet"]);
    let second = w.ok(&["--store", &other, "export"]);
    assert_eq!(first, second, "same seed, same export");

    // Running it again on the same store adds nothing.
    let again = w.ok_json(&["demo"]);
    assert_eq!(again["appended"], 0, "{again}");
    assert_eq!(again["verification"]["ok"], true);
    assert_eq!(w.ok(&["export"]), first);

    // Another seed is another ledger: refused on this store, different on a new one.
    let r = w.fails(2, &["demo", "--seed", "2"]);
    assert!(r.stderr.contains("already holds ledger"), "{}", r.stderr);
    let third = w.path("seed2.db").display().to_string();
    // Beside the same demo-keys/, another seed's keys are refused (keys are never
    // overwritten), before the store is touched.
    let r = w.fails(
        2,
        &["--store", &third, "demo", "--seed", "2", "--detainees", "5"],
    );
    assert!(r.stderr.contains("existe déjà"), "{}", r.stderr);
    assert!(r.stderr.contains("--keys-dir"), "{}", r.stderr);
    let seed2_keys = w.path("seed2-keys").display().to_string();
    w.ok(&[
        "--store",
        &third,
        "demo",
        "--seed",
        "2",
        "--detainees",
        "5",
        "--keys-dir",
        &seed2_keys,
        "--quiet",
    ]);
    assert_ne!(w.ok(&["--store", &third, "export"]), first);

    // The demo export verifies as a file too.
    let file = w.write("demo.jsonl", &first);
    w.ok(&["verify", &file]);

    // The gateway serves the demo ledger, lawful redaction included.
    let port = custody_testkit::free_port().expect("port");
    let serve = Serve::start(&w, port);
    let (status, _) = serve.get("/healthz");
    assert_eq!(status, 200);
    let (status, metrics) = serve.get("/metrics");
    assert_eq!(status, 200, "{metrics}");
}

/// `custody inbox`: on the demo, the people whose last record is a release to the agency,
/// worked out here from the exported headers, are the inbox, oldest release first; French by
/// default, English on request; an unknown agency is named.
#[test]
fn the_inbox_of_the_demo_is_every_release_nobody_accepted() {
    let w = World::sqlite();
    w.ok(&["demo", "--quiet"]);
    let records = w.export();
    // The last record of each chain, in ledger order of those last records.
    let mut last: std::collections::BTreeMap<&str, &custody_core::Record> = Default::default();
    for r in &records {
        last.insert(&r.header.chain, r);
    }
    let mut expected: Vec<(&str, String, String)> = last
        .values()
        .filter(|r| r.header.kind == EventKind::CustodyReleased)
        .map(|r| {
            let to = r.header.facts.str("to_agency").unwrap_or("").to_string();
            (
                r.header.occurred_at.as_str(),
                code_for_chain(&r.header.chain),
                to,
            )
        })
        .collect();
    expected.sort();
    assert!(
        !expected.is_empty(),
        "the demo leaves a handover unanswered"
    );
    let agency = expected[0].2.clone();
    let mine: Vec<String> = expected
        .iter()
        .filter(|(_, _, to)| *to == agency)
        .map(|(_, code, _)| code.clone())
        .collect();

    let listed = w.ok_json(&["inbox", "--agency", &agency]);
    let codes: Vec<&str> = listed["waiting"]
        .as_array()
        .expect("a waiting list")
        .iter()
        .map(|l| l["code"].as_str().expect("a code"))
        .collect();
    assert_eq!(codes, mine, "{listed}");

    let fr = w.ok(&["inbox", "--agency", &agency]);
    assert!(fr.contains("pas encore prise"), "{fr}");
    assert!(fr.contains(&format!("{}  remis par", mine[0])), "{fr}");
    let en = w.ok(&["inbox", "--agency", &agency, "--lang", "en"]);
    assert!(en.contains("not yet accepted"), "{en}");
    assert!(en.contains(&format!("{}  released by", mine[0])), "{en}");

    let r = w.fails(2, &["inbox", "--agency", "ml-nowhere"]);
    assert!(
        r.stderr.contains("\"ml-nowhere\" is not registered"),
        "{}",
        r.stderr
    );
}

/// `custody alarms` on the demo: the issue measured on it that 44 of the 50 first judicial
/// appearances came more than 48 hours after arrest; every alarm names the rule set in force at
/// the arrest; the listing is French by default and English on request.
#[test]
fn the_alarms_of_the_demo_count_its_late_first_appearances() {
    let w = World::sqlite();
    w.ok(&["demo", "--quiet"]);
    let policy = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/policy")
        .display()
        .to_string();
    let v = w.ok_json(&[
        "alarms",
        "--as",
        "demo-keys/pole-clerk.key",
        "--policy-dir",
        &policy,
    ]);
    let alarms = v["alarms"].as_array().expect("alarms");
    let late = alarms
        .iter()
        .filter(|a| a["kind"] == "first_appearance_late")
        .count();
    assert_eq!(late, 44, "{v}");
    for a in alarms {
        // A limit of the code names its rule set; a place, a hearing, a fork or an art. 20
        // restriction (the Convention's, not the code's) names none.
        let ruleless = [
            "unofficial_stay",
            "held_at_unrecognised_place",
            "hearing_not_produced",
            "fork",
            "restriction_expired",
            "restriction_not_reviewed",
        ];
        if a["rule_set"].is_null() {
            assert!(ruleless.iter().any(|k| a["kind"] == *k), "{a}");
        } else {
            assert!(
                a["rule_set"] == "mali-cpp-2001" || a["rule_set"] == "mali-cpp-2024",
                "{a}"
            );
        }
        assert!(a["hours_late"].as_i64().expect("hours") >= 0, "{a}");
    }
    // The demo's detour through State Security and its unanswered handover are alarms too.
    assert!(alarms.iter().any(|a| a["kind"] == "unofficial_stay"), "{v}");
    assert!(
        alarms
            .iter()
            .any(|a| a["kind"] == "custody_gap" && a["current"] == true),
        "{v}"
    );
    assert!(v["uncovered"].as_array().expect("uncovered").is_empty());
    let fr = w.ok(&[
        "alarms",
        "--as",
        "demo-keys/pole-clerk.key",
        "--policy-dir",
        &policy,
    ]);
    assert!(fr.starts_with("ALERTES DE DÉLAIS"), "{fr}");
    assert!(fr.contains("première comparution tardive"), "{fr}");
    let en = w.ok(&[
        "alarms",
        "--as",
        "demo-keys/pole-clerk.key",
        "--policy-dir",
        &policy,
        "--lang",
        "en",
    ]);
    assert!(en.contains("first judicial appearance late"), "{en}");
    // A reader that goes away (`custody alarms | head`) ends the listing quietly: `true` reads
    // nothing and exits, so the listing, written after the ledger is verified, meets a closed
    // pipe; it must not panic, and exits 0 (bash's pipefail reports custody's status).
    for line in [
        format!("custody alarms --as demo-keys/pole-clerk.key --policy-dir {policy} | true"),
        format!("custody alarms --as demo-keys/pole-clerk.key --policy-dir {policy} | head -n 1"),
    ] {
        let piped = sh(&w, &line);
        assert_eq!(piped.code, 0, "{line}: {}", piped.stderr);
        assert!(
            !piped.stderr.contains("panicked"),
            "{line}: {}",
            piped.stderr
        );
    }
    // A policy directory that does not exist is a clear error naming it.
    let missing = w.run(&[
        "alarms",
        "--as",
        "demo-keys/pole-clerk.key",
        "--policy-dir",
        "no-such-dir",
    ]);
    assert_ne!(missing.code, 0);
    assert!(missing.stderr.contains("no-such-dir"), "{}", missing.stderr);
}
