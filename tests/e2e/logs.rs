//! No secret and no personal data in the logs (issue 12, "Access and secrets"): the full demo
//! (`custody demo`), then a hub's `custody serve` receiving the whole demo ledger through
//! `custody sync` and a few more requests (health, metrics, the checkpoint, a forged record, a
//! malformed body), everything at `RUST_LOG=debug`; every line any of them wrote, on standard
//! error and standard output, is searched for the demo's personal names (every name in its
//! payloads and in its key holders' enrolments) and for its key material (each demo key's
//! seed in base64url, standard base64 and hex). None may appear.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;
use custody_core::encoding::unb64url;
use serde_json::Value;

/// Every string under a key naming a person (`name`, `holder_name`, `family_name`, ...) in a
/// payload, with at least 4 characters.
fn names_in(value: &Value, key: Option<&str>, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                names_in(v, Some(k), out);
            }
        }
        Value::Array(items) => {
            for v in items {
                names_in(v, key, out);
            }
        }
        Value::String(s) => {
            let personal = key.is_some_and(|k| {
                let k = k.to_ascii_lowercase();
                (k == "name" || k.ends_with("_name") || k.contains("holder"))
                    && !k.contains("facility")
                    && !k.contains("agency")
                    && !k.contains("place")
                    && !k.contains("court")
                    && !k.contains("unit")
            });
            if personal && s.chars().count() >= 4 && !out.contains(s) {
                out.push(s.clone());
            }
        }
        _ => {}
    }
}

/// Each demo key's seed, as base64url (the key file's form), standard base64 and hex.
fn key_material(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("demo-keys") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "key") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("key file");
        let v: Value = serde_json::from_str(&text).expect("key file json");
        let seed = v["seed"].as_str().expect("seed").to_string();
        let bytes = unb64url(&seed).expect("seed base64url");
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let std_b64 = seed.replace('-', "+").replace('_', "/");
        // A prefix long enough to be unique, short enough to catch a truncated copy.
        out.push(seed[..24].to_string());
        out.push(std_b64[..24].to_string());
        out.push(hex[..32].to_string());
        out.push(hex[..32].to_ascii_uppercase());
    }
    assert!(
        out.len() >= 8,
        "the demo wrote fewer key files than expected"
    );
    out
}

/// A `custody` child at debug level, standard output and error to one file.
fn spawn_logged(w: &World, args: &[&str], log: &Path) -> Child {
    let file = std::fs::File::create(log).expect("log file");
    let err = file.try_clone().expect("log file");
    custody_cmd(w.dir.path(), &w.store)
        .args(args)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("spawn custody")
}

/// Runs `custody ARGS` at debug level to completion; returns everything it printed.
fn run_logged(w: &World, args: &[&str], log: &Path) -> String {
    let status = spawn_logged(w, args, log).wait().expect("wait");
    let text = std::fs::read_to_string(log).unwrap_or_default();
    assert!(status.success(), "custody {args:?} failed:\n{text}");
    text
}

/// Sends one raw HTTP/1.0 request; returns the status.
fn request(addr: &str, head: &str, body: &[u8]) -> u16 {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        s,
        "{head}\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .expect("send head");
    s.write_all(body).expect("send body");
    let mut response = String::new();
    let _ = s.read_to_string(&mut response);
    response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn the_logs_of_a_full_demo_run_hold_no_name_and_no_key() {
    let demo = World::sqlite();
    let mut logs = Vec::new();
    let demo_log = run_logged(
        &demo,
        &["demo", "--detainees", "12"],
        &demo.path("demo.log"),
    );
    logs.push(("custody demo".to_string(), demo_log));

    // The names to look for: every personal name the demo's ledger holds.
    let mut names = Vec::new();
    for r in demo.export() {
        if r.payload.is_some() {
            let line: serde_json::Value =
                serde_json::from_str(&r.to_json_line()).expect("a record is JSON");
            let v = line["payload"].clone();
            if r.header.chain == "authority" {
                // Agencies and facilities are public; the holders of keys are people.
                let holders = v["body"]
                    .as_object()
                    .map(|b| {
                        b.iter()
                            .filter(|(k, _)| k.contains("holder"))
                            .filter_map(|(_, v)| v.as_str().map(str::to_string))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                for h in holders {
                    if h.chars().count() >= 4 && !names.contains(&h) {
                        names.push(h);
                    }
                }
            } else {
                names_in(&v, None, &mut names);
            }
        }
    }
    assert!(
        names.len() >= 12,
        "the demo's payloads should name its detainees and key holders: {names:?}"
    );
    let keys = key_material(&demo.path("demo-keys"));

    // A hub made from the demo's public files, serving at debug level.
    let hub = replica_of(&demo);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let serve_log = hub.path("serve.log");
    let mut serve = spawn_logged(&hub, &["serve", "--listen", &addr], &serve_log);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            serve.try_wait().expect("try_wait").is_none(),
            "custody serve exited: {}",
            std::fs::read_to_string(&serve_log).unwrap_or_default()
        );
        assert!(Instant::now() < deadline, "custody serve did not start");
        std::thread::sleep(Duration::from_millis(20));
    }

    // The whole demo ledger, payloads and all, through the gateway.
    let officer = demo.path("demo-keys/police-gao-opj.key");
    let sync_log = run_logged(
        &demo,
        &[
            "sync",
            "--to",
            &format!("http://{addr}/"),
            "--key",
            &officer.display().to_string(),
        ],
        &demo.path("sync.log"),
    );
    logs.push(("custody sync".to_string(), sync_log));
    assert!(hub.size() > 100, "the sync pushed the demo's records");

    // A few more requests: reads, and bad input carrying a name.
    let name = names[0].clone();
    assert_eq!(request(&addr, "GET /healthz HTTP/1.0", b""), 200);
    assert_eq!(request(&addr, "GET /metrics HTTP/1.0", b""), 200);
    let _ = request(&addr, "GET /v1/checkpoint HTTP/1.0", b"");
    let victim = demo
        .export()
        .into_iter()
        .rfind(|r| r.header.chain != "authority" && r.payload.is_some())
        .expect("a detainee record with a payload");
    let mut forged: Value = serde_json::from_str(&victim.to_json_line()).expect("record json");
    if let Some(body) = forged
        .pointer_mut("/payload/body")
        .and_then(Value::as_object_mut)
    {
        body.insert("name".to_string(), Value::String(name.clone()));
    }
    let forged = serde_json::to_vec(&forged).expect("json");
    let status = request(
        &addr,
        "POST /v1/events HTTP/1.0\r\nContent-Type: application/json",
        &forged,
    );
    assert!(
        (400..500).contains(&status),
        "a forged record is refused: {status}"
    );
    let malformed = format!("{{\"header\": {{\"name\": \"{name}\"");
    let status = request(
        &addr,
        "POST /v1/events HTTP/1.0\r\nContent-Type: application/json",
        malformed.as_bytes(),
    );
    assert!((400..500).contains(&status), "malformed body: {status}");

    let _ = serve.kill();
    let _ = serve.wait();
    let serve_text = std::fs::read_to_string(&serve_log).expect("serve log");
    assert!(
        serve_text.contains("DEBUG"),
        "the gateway logged at debug level: {serve_text}"
    );
    logs.push(("custody serve".to_string(), serve_text));

    let mut leaks = Vec::new();
    for (what, text) in &logs {
        for (n, line) in text.lines().enumerate() {
            for name in &names {
                if line.contains(name.as_str()) {
                    leaks.push(format!("{what}, line {}: name {name:?}: {line}", n + 1));
                }
            }
            for key in &keys {
                if line.contains(key.as_str()) {
                    leaks.push(format!("{what}, line {}: key material: {line}", n + 1));
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{} log lines leak personal data or keys:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}
