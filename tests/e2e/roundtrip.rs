//! keygen + init + enroll + record + export + verify, on SQLite and on NATS JetStream; key
//! files with loose permissions or a damaged public key are refused.

mod common;

use common::*;
use custody_core::Record;
use custody_testkit::{free_port, NatsServer};

/// The whole path a new deployment takes, on one store.
fn round_trip(w: &World) {
    let keys = setup_ledger(w);

    // An arrest on a new chain, then a handover to the prison, accepted by the registrar.
    let arrest = record_arrest(w, &keys);
    let chain = arrest["chain"].as_str().expect("chain").to_string();
    assert!(chain.starts_with("d-"), "{arrest}");
    let code = arrest["code"].as_str().expect("code");
    assert_eq!(code.len(), "XXXX-XXXX-C".len(), "{arrest}");
    assert_eq!(arrest["position"], 6, "{arrest}");

    let released = w.ok_json(&[
        "record",
        "custody_released",
        "--key",
        &keys.officer,
        "--agency",
        POLICE,
        "--chain",
        &chain,
        "--body-json",
        &serde_json::json!({
            "to_agency": PRISON,
            "place": {"description": "MCA Bamako gate", "region": "Bamako District"},
            "reason": "transfer after placement decision",
            "legal_status": "arrested"
        })
        .to_string(),
    ]);
    let release_hash = released["hash"].as_str().expect("hash").to_string();

    // Human output names position, hash, chain and code.
    let human = w.ok(&[
        "record",
        "custody_accepted",
        "--key",
        &keys.registrar,
        "--agency",
        PRISON,
        "--chain",
        &chain,
        "--body-json",
        &serde_json::json!({
            "release_event": release_hash,
            "facility": "ml-mca-bamako-main",
            "condition_on_arrival": {
                "visible_injuries": {"present": false},
                "complaints_of_ill_treatment": {"present": false}
            }
        })
        .to_string(),
    ]);
    assert!(human.contains("position 8"), "{human}");
    assert!(human.contains(&chain), "{human}");
    assert!(human.contains(code), "{human}");

    // A refused record: the officer's key cannot record an admission (exit 1, rule named).
    let refused = w.fails(
        1,
        &[
            "record",
            "admission",
            "--key",
            &keys.officer,
            "--agency",
            POLICE,
            "--chain",
            &chain,
            "--body-json",
            "{}",
        ],
    );
    assert!(
        refused.stderr.contains("refused (role)"),
        "{}",
        refused.stderr
    );

    // Export: canonical lines in ledger order, one chain or all, with or without payloads.
    let export = w.ok(&["export"]);
    let lines: Vec<&str> = export.lines().collect();
    assert_eq!(lines.len(), 9);
    for line in &lines {
        let r = Record::from_json(line.as_bytes()).expect("parses");
        assert_eq!(&r.to_json_line(), line, "lines are canonical");
    }
    let chain_export = w.ok(&["export", "--chain", &chain]);
    assert_eq!(chain_export.lines().count(), 3);
    let headers = w.path("headers.jsonl").display().to_string();
    w.ok(&["export", "--headers-only", "--out", &headers]);
    let headers_text = std::fs::read_to_string(&headers).expect("headers export");
    assert_eq!(
        headers_text.matches("\"payload\"").count(),
        6,
        "only authority payloads"
    );
    assert_eq!(headers_text.lines().count(), 9);
    // --out never overwrites.
    w.fails(2, &["export", "--out", &headers]);

    // Verify the store, the full export and the headers-only export (with trust.json).
    let v = w.ok_json(&["verify"]);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["records"], 9);
    assert_eq!(v["chains"], 1);
    let full = w.write("full.jsonl", &export);
    let trust = w.path("trust.json").display().to_string();
    w.ok(&["trust", "--out", &trust]);
    let vf = w.ok_json(&["verify", &full, "--trust", &trust]);
    assert_eq!(vf["root"], v["root"], "file and store give the same root");
    let vh = w.ok_json(&["verify", &headers, "--trust", &trust]);
    assert_eq!(vh["root"], v["root"]);
    assert_eq!(
        vh["headers_only"], 3,
        "authority records keep their payload"
    );
    let human = w.ok(&["verify"]);
    assert!(human.contains("OK"), "{human}");
}

#[test]
fn round_trip_on_sqlite() {
    let w = World::sqlite();
    round_trip(&w);
    // Commands other than init refuse a missing store with a message saying what to do.
    let other = w.path("other.db").display().to_string();
    let r = w.fails(2, &["--store", &other, "export"]);
    assert!(
        r.stderr
            .contains("run `custody init` or `custody demo` first"),
        "{}",
        r.stderr
    );
    assert!(
        !w.path("other.db").exists(),
        "no empty database is left behind"
    );
}

#[test]
fn round_trip_on_jetstream() {
    let server = NatsServer::start().expect("nats-server");
    let w = World::nats(&server.url());
    round_trip(&w);
}

#[test]
fn key_files_with_loose_permissions_or_damage_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let w = World::sqlite();
    let (root, _) = w.keygen("root.key");
    let mode = std::fs::metadata(&root).expect("key").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // keygen never overwrites.
    w.fails(2, &["keygen", "--out", &root]);

    let (ledger, _) = w.keygen("ledger.key");
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let init = [
        "init",
        "--name",
        "t",
        "--root-key",
        &root,
        "--root-agency",
        ROOT_AGENCY,
        "--ledger-key",
        &ledger,
    ];
    let r = w.fails(2, &init);
    assert!(
        r.stderr.contains(&format!(
            "key file {root} is readable by others (mode 0644): chmod 600 {root}"
        )),
        "{}",
        r.stderr
    );
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o620)).expect("chmod");
    let r = w.fails(2, &init);
    assert!(
        r.stderr.contains("writable by others (mode 0620)"),
        "{}",
        r.stderr
    );
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o600)).expect("chmod");

    // A key file whose public key is not its seed's.
    let (_, other_public) = w.keygen("other.key");
    let text = std::fs::read_to_string(&ledger).expect("read");
    let public = serde_json::from_str::<serde_json::Value>(&text).expect("json")["public"]
        .as_str()
        .expect("public")
        .to_string();
    std::fs::write(&ledger, text.replace(&public, &other_public)).expect("write");
    let r = w.fails(2, &init);
    assert!(r.stderr.contains("does not match its seed"), "{}", r.stderr);
    assert!(!w.path("custody.db").exists(), "nothing was initialised");
}

/// `custody serve` takes its connection limit and time-outs from its flags: a connection that
/// sends nothing is closed after `--header-read-timeout` while `/healthz` is answered; an
/// unusable limit is refused by name.
#[test]
fn serve_limits_come_from_its_flags() {
    use std::io::Read;
    use std::time::{Duration, Instant};

    let w = World::sqlite();
    setup_ledger(&w);
    for (flag, value) in [("--max-connections", "0"), ("--idle-timeout", "0")] {
        let r = w.fails(2, &["serve", flag, value]);
        assert!(r.stderr.contains(flag), "{}", r.stderr);
    }

    let port = free_port().expect("port");
    let serve = Serve::start_with(
        &w,
        port,
        &["--max-connections", "4", "--header-read-timeout", "1"],
    );
    let addr = serve.url.trim_start_matches("http://").to_string();
    let connected = Instant::now();
    let mut silent = std::net::TcpStream::connect(&addr).expect("connect");
    silent
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    let (status, body) = serve.get("/healthz");
    assert_eq!(status, 200, "{body}");
    let mut buf = [0u8; 16];
    match silent.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the silent connection was not closed: {other:?}"),
    }
    assert!(connected.elapsed() >= Duration::from_millis(900));
    serve.kill();
}
