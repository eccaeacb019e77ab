//! `custody demo`, the README's first command: a deterministic ledger that verifies, and a
//! summary that names nobody.

mod common;

use common::*;
use custody_core::EventKind;

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
    w.ok(&[
        "--store",
        &third,
        "demo",
        "--seed",
        "2",
        "--detainees",
        "5",
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
