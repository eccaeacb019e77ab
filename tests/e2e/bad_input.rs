//! The bad-input matrix over every entry point: the gateway's appends (one record and
//! NDJSON batches) and read query strings, `custody submit` of a file and `custody verify -`,
//! `custody packet verify` and `packet import`, and `custody sync` against a hub answering
//! garbage. The same hostile inputs everywhere: malformed and truncated JSON, deep nesting,
//! duplicate member names, huge numbers and strings, invalid UTF-8 and lone surrogates, wrong
//! media types, oversized bodies, slow clients, replayed records and records valid for another
//! ledger. Each gets a clear error naming what is wrong; nothing crashes (no exit code 101, no
//! 5xx), nothing hangs, and the store's size is unchanged after each.
//!
//! The witness's `add-checkpoint` has its own table in `crates/custody-witness/tests/bad_input.rs`.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::time::Duration;

use common::*;
use custody_core::ids::detainee_chain_id;
use custody_core::kinds::EventKind;
use custody_core::{Draft, Record};
use custody_testkit::free_port;

/// The most any one exchange of these tests waits for an answer.
const BOUND: Duration = Duration::from_secs(30);

/// One hostile input: its name, the bytes, and the words the refusal must contain.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    /// Expected HTTP status at the gateway.
    status: u16,
    /// Expected `rule` of the gateway's error body.
    rule: &'static str,
    /// A word of the error message (case-insensitive) that names what is wrong.
    says: &'static str,
}

/// A valid arrest of this ledger, as one JSON line.
fn good(keys: &Keys, n: u64) -> Record {
    signed_arrest(&read_key(&keys.officer), n, 1)
}

/// The same arrest, signed for another ledger (valid there, not here).
fn for_another_ledger(keys: &Keys) -> Record {
    let t = now();
    Draft {
        ledger: "other.example/custody".to_string(),
        chain: detainee_chain_id((0x0190_0000_0000u128 << 80) | 77),
        seq: 0,
        prev: None,
        kind: EventKind::Arrest,
        occurred_at: t.clone(),
        recorded_at: t,
        agency: POLICE.to_string(),
        body: arrest_body(),
    }
    .sign(&read_key(&keys.officer), &[3; 16])
}

/// `line` with its first `from` replaced by `to` (which must be there).
fn edit(line: &str, from: &str, to: &str) -> String {
    assert!(line.contains(from), "{from:?} not in {line}");
    line.replacen(from, to, 1)
}

/// The hostile inputs, built around valid records of the test ledger.
fn cases(keys: &Keys) -> Vec<Case> {
    let line = good(keys, 900).to_json_line();
    let mut invalid_utf8 = edit(&line, "blue boubou", "blue XX").into_bytes();
    let at = invalid_utf8
        .windows(2)
        .position(|w| w == b"XX")
        .expect("marker");
    invalid_utf8[at] = 0xff;
    invalid_utf8[at + 1] = 0xfe;
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let huge_string = edit(
        &line,
        "blue boubou",
        &format!("blue boubou {}", "x".repeat(200_000)),
    );
    let mut bad_signature = line.clone().into_bytes();
    // A character in the middle of the signature (the record's last member), changed.
    let sig_end = line.rfind("\"}").expect("signature end") - 40;
    bad_signature[sig_end] = if bad_signature[sig_end] == b'A' {
        b'B'
    } else {
        b'A'
    };
    vec![
        Case {
            name: "malformed",
            bytes: b"{\"header\": {\"seq\": ,}".to_vec(),
            status: 400,
            rule: "json",
            says: "json",
        },
        Case {
            name: "truncated",
            bytes: line.as_bytes()[..line.len() / 2].to_vec(),
            status: 400,
            rule: "json",
            says: "json",
        },
        Case {
            name: "deep nesting",
            bytes: deep.into_bytes(),
            status: 400,
            rule: "json",
            says: "nesting",
        },
        Case {
            name: "duplicate member",
            bytes: edit(&line, "\"seq\":0", "\"seq\":0,\"seq\":0").into_bytes(),
            status: 400,
            rule: "json",
            says: "duplicate",
        },
        Case {
            name: "huge number",
            bytes: edit(&line, "\"seq\":0", "\"seq\":18446744073709551616").into_bytes(),
            status: 422,
            rule: "format",
            says: "18446744073709551616",
        },
        Case {
            name: "huge exponent",
            bytes: edit(&line, "\"seq\":0", "\"seq\":1e999999999").into_bytes(),
            status: 400,
            rule: "json",
            says: "number out of range",
        },
        Case {
            name: "huge string",
            bytes: huge_string.into_bytes(),
            status: 413,
            rule: "body_size",
            says: "limit",
        },
        Case {
            name: "invalid UTF-8",
            bytes: invalid_utf8,
            status: 400,
            rule: "json",
            says: "utf-8",
        },
        Case {
            name: "lone surrogate",
            bytes: edit(&line, "blue boubou", "blue \\ud800 boubou").into_bytes(),
            status: 400,
            rule: "json",
            says: "surrogate",
        },
        Case {
            name: "another ledger",
            bytes: for_another_ledger(keys).to_json_line().into_bytes(),
            status: 422,
            rule: "ledger",
            says: "other.example/custody",
        },
        Case {
            name: "bad signature",
            bytes: bad_signature,
            status: 422,
            rule: "signature",
            says: "signature",
        },
    ]
}

/// An HTTP answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Sends `head` (request line and headers, without the blank line) and `body`, with a
/// `Content-Length` unless `head` has one, and reads the answer until the server closes.
fn exchange(url: &str, head: &str, body: &[u8]) -> Answer {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(BOUND)).expect("timeout");
    let mut req = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n");
    if !head.to_ascii_lowercase().contains("content-length") {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("send head");
    // The server may answer (413) and close before the whole body is sent.
    let _ = s.write_all(body);
    read_answer(&mut s)
}

fn read_answer(s: &mut TcpStream) -> Answer {
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Answer {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

fn post(url: &str, content_type: Option<&str>, body: &[u8]) -> Answer {
    let ct = content_type.map_or(String::new(), |c| format!("\r\nContent-Type: {c}"));
    exchange(url, &format!("POST /v1/events HTTP/1.1{ct}"), body)
}

fn get(url: &str, path: &str) -> Answer {
    exchange(url, &format!("GET {path} HTTP/1.1"), b"")
}

/// The gateway's ledger size (`custody_ledger_size` of `/metrics`).
fn gateway_size(url: &str) -> u64 {
    let a = get(url, "/metrics");
    assert_eq!(a.status, 200, "{a:?}");
    a.body
        .lines()
        .find_map(|l| l.strip_prefix("custody_ledger_size "))
        .and_then(|v| v.trim().parse().ok())
        .expect("custody_ledger_size")
}

/// The error body names the rule and says what is wrong.
fn assert_refusal(what: &str, a: &Answer, status: u16, rule: &str, says: &str) {
    assert_eq!(a.status, status, "{what}: {a:?}");
    let v = a.json();
    assert_eq!(v["error"]["rule"], rule, "{what}: {v}");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.to_lowercase().contains(&says.to_lowercase()),
        "{what}: the message does not say {says:?}: {message}"
    );
    assert!(
        message.chars().count() <= 1100,
        "{what}: the message echoes the input: {} characters",
        message.chars().count()
    );
}

/// A ledger served by `custody serve` with short time-outs and a small batch limit.
fn served() -> (World, Keys, Serve) {
    let w = World::sqlite();
    let keys = setup_ledger(&w);
    let port = free_port().expect("port");
    let serve = Serve::start_with(
        &w,
        port,
        &[
            "--request-timeout",
            "1",
            "--header-read-timeout",
            "2",
            "--batch-max-bytes",
            "300000",
        ],
    );
    (w, keys, serve)
}

#[test]
fn gateway_appends_refuse_every_bad_input_and_store_nothing() {
    let (w, keys, serve) = served();
    let url = serve.url.clone();
    let size = gateway_size(&url);
    for case in cases(&keys) {
        let a = post(&url, Some("application/json"), &case.bytes);
        assert_refusal(case.name, &a, case.status, case.rule, case.says);
        assert_eq!(
            gateway_size(&url),
            size,
            "{}: something was stored",
            case.name
        );
    }
    let line = good(&keys, 901).to_json_line();
    for (name, ct, says) in [
        ("no content type", None, "no content-type"),
        ("text/plain", Some("text/plain"), "text/plain"),
        ("a form", Some("application/x-www-form-urlencoded"), "form"),
        (
            "latin-1",
            Some("application/json; charset=iso-8859-1"),
            "utf-8",
        ),
    ] {
        let a = post(&url, ct, line.as_bytes());
        assert_refusal(name, &a, 415, "media_type", says);
        assert_eq!(gateway_size(&url), size, "{name}: something was stored");
    }
    // Oversized, declared: refused before the body is read.
    let a = exchange(
        &url,
        "POST /v1/events HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 50000000",
        b"",
    );
    assert_refusal("declared 50 MB", &a, 413, "body_size", "limit");
    // A slow client: half the body, then nothing: 408 after the request time-out.
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(BOUND)).expect("timeout");
    write!(
        s,
        "POST /v1/events HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        line.len()
    )
    .expect("head");
    s.write_all(&line.as_bytes()[..line.len() / 2])
        .expect("half");
    let a = read_answer(&mut s);
    assert_refusal("slow body", &a, 408, "request_timeout", "within 1 s");
    assert!(a.head.to_lowercase().contains("connection: close"), "{a:?}");
    // A slow head: the connection is closed without an answer.
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(BOUND)).expect("timeout");
    s.write_all(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Ty")
        .expect("half a head");
    let a = read_answer(&mut s);
    assert_eq!(a.status, 0, "no answer to a head never completed: {a:?}");
    assert_eq!(gateway_size(&url), size);

    // A replayed record: stored once, the replay answered as a duplicate.
    let a = post(&url, Some("application/json"), line.as_bytes());
    assert_eq!(a.status, 201, "{a:?}");
    for _ in 0..2 {
        let a = post(&url, Some("application/json"), line.as_bytes());
        assert_eq!(a.status, 200, "{a:?}");
        assert_eq!(a.json()["duplicate"], true, "{a:?}");
    }
    assert_eq!(gateway_size(&url), size + 1);
    drop(serve);
    assert_eq!(w.size(), size + 1, "the store holds the one good record");
}

#[test]
fn gateway_batches_refuse_every_bad_line_and_store_nothing_of_them() {
    let (w, keys, serve) = served();
    let url = serve.url.clone();
    let size = gateway_size(&url);
    let cases: Vec<Case> = cases(&keys)
        .into_iter()
        .filter(|c| c.name != "huge string")
        .collect();
    let mut body = Vec::new();
    for case in &cases {
        // A line holds no newline: the bad bytes stay on their line.
        assert!(!case.bytes.contains(&b'\n'), "{}", case.name);
        body.extend_from_slice(&case.bytes);
        body.push(b'\n');
    }
    let a = post(&url, Some("application/x-ndjson"), &body);
    assert_eq!(a.status, 200, "{a:?}");
    let answers: Vec<serde_json::Value> = a
        .body
        .lines()
        .map(|l| serde_json::from_str(l).expect("an answer line is JSON"))
        .collect();
    assert_eq!(answers.len(), cases.len(), "{}", a.body);
    for (case, answer) in cases.iter().zip(&answers) {
        assert_eq!(answer["status"], case.status, "{}: {answer}", case.name);
        assert_eq!(
            answer["error"]["rule"], case.rule,
            "{}: {answer}",
            case.name
        );
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.to_lowercase().contains(&case.says.to_lowercase()),
            "{}: {message}",
            case.name
        );
    }
    assert_eq!(gateway_size(&url), size);
    // Over the byte limit: 413, nothing of it read as records.
    let mut big = good(&keys, 902).to_json_line().into_bytes();
    big.push(b'\n');
    big.extend_from_slice(&vec![b' '; 300_001]);
    let a = post(&url, Some("application/x-ndjson"), &big);
    assert_refusal(
        "oversized batch",
        &a,
        413,
        "batch_size",
        "nothing was stored",
    );
    assert_eq!(gateway_size(&url), size);
    drop(serve);
    assert_eq!(w.size(), size);
}

#[test]
fn gateway_reads_refuse_bad_query_strings_and_paths() {
    let (w, _keys, serve) = served();
    let url = serve.url.clone();
    let size = gateway_size(&url);
    let hash = "ab".repeat(32);
    let huge_size = format!("/v1/proof/inclusion?hash={hash}&size=99999999999999999999999");
    let negative_size = format!("/v1/proof/inclusion?hash={hash}&size=-1");
    for (path, status, rule, says) in [
        (
            "/v1/proof/inclusion?hash=zz",
            400,
            "bad_request",
            "not an event hash",
        ),
        ("/v1/proof/inclusion", 400, "bad_request", "name the event"),
        (huge_size.as_str(), 400, "bad_request", "not a tree size"),
        (
            negative_size.as_str(),
            400,
            "bad_request",
            "not a tree size",
        ),
        (
            "/v1/proof/consistency?old=%FF%FE",
            400,
            "bad_request",
            "old",
        ),
        (
            "/v1/proof/consistency?old=1e9",
            400,
            "bad_request",
            "not a tree size",
        ),
        (
            "/v1/proof/consistency?old=5&new=2",
            400,
            "bad_request",
            "larger",
        ),
        (
            "/v1/checkpoints?from=-1",
            400,
            "bad_request",
            "not a tree size",
        ),
        (
            "/v1/checkpoints?evil=1",
            400,
            "bad_request",
            "unknown query parameter",
        ),
        // An unsigned read is refused before its path is looked at: nothing is said of
        // which chains exist.
        (
            "/v1/chains/..%2F..%2Fetc",
            401,
            "auth/missing_header",
            "not signed",
        ),
        (
            "/v1/events/not-a-hash",
            401,
            "auth/missing_header",
            "not signed",
        ),
        (
            "/v1/chains/authority",
            401,
            "auth/missing_header",
            "not signed",
        ),
    ] {
        let a = get(&url, path);
        assert_refusal(path, &a, status, rule, says);
    }
    // A query string of 60 KB: refused, its echo capped.
    let long = format!("/v1/checkpoints?from={}", "9".repeat(60_000));
    let a = get(&url, &long);
    assert_refusal("60 KB query", &a, 400, "bad_request", "not a tree size");
    assert_eq!(gateway_size(&url), size);
    drop(serve);
    assert_eq!(w.size(), size);
}

/// Runs `custody ARGS` in `w` with `stdin` as standard input.
fn run_with_stdin(w: &World, args: &[&str], stdin: &[u8]) -> Run {
    let mut child = custody_cmd(w.dir.path(), &w.store)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn custody");
    let mut input = child.stdin.take().expect("stdin");
    let bytes = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    let out = child.wait_with_output().expect("custody ran");
    let _ = writer.join();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Words a CLI refusal says instead of the gateway's rule code.
fn cli_says(case: &Case) -> &'static str {
    match case.name {
        "huge string" => "",
        _ => case.says,
    }
}

#[test]
fn cli_submit_and_verify_refuse_every_bad_input_and_store_nothing() {
    let w = World::sqlite();
    let keys = setup_ledger(&w);
    let size = w.size();
    let export = w.ok(&["export"]);
    for case in cases(&keys) {
        // `custody submit FILE`: refused naming the line, nothing stored.
        let name = format!("{}.jsonl", case.name.replace(' ', "_"));
        let path = w.path(&name);
        std::fs::write(&path, &case.bytes).expect("write");
        let r = w.run(&["submit", path.to_str().expect("utf-8")]);
        assert!(
            r.code == 1 || r.code == 2,
            "{}: submit exited {}\n{}",
            case.name,
            r.code,
            r.stderr
        );
        let says = cli_says(&case);
        assert!(
            r.stderr.to_lowercase().contains(&says.to_lowercase()),
            "{}: submit does not say {says:?}:\n{}",
            case.name,
            r.stderr
        );
        assert!(
            r.stderr.contains("line 1"),
            "{}: submit names the line:\n{}",
            case.name,
            r.stderr
        );
        assert_eq!(w.size(), size, "{}: submit stored something", case.name);
        // The same as `custody submit -`.
        let r = run_with_stdin(&w, &["submit", "-"], &case.bytes);
        assert!(
            r.code == 1 || r.code == 2,
            "{}: submit - exited {}",
            case.name,
            r.code
        );
        assert_eq!(w.size(), size, "{}: submit - stored something", case.name);
        // `custody verify -` of the ledger's export followed by the bad line: refused at
        // that line, not a crash.
        let mut input = export.clone().into_bytes();
        input.extend_from_slice(&case.bytes);
        input.push(b'\n');
        let r = run_with_stdin(&w, &["--json", "verify", "-"], &input);
        assert_eq!(
            r.code, 1,
            "{}: verify - exited {}\n{}",
            case.name, r.code, r.stderr
        );
        let report: serde_json::Value =
            serde_json::from_str(r.stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| {
                panic!(
                    "{}: verify report is not JSON ({e}): {}",
                    case.name, r.stdout
                )
            });
        assert_eq!(report["ok"], false, "{}: {report}", case.name);
        let at = u64::try_from(export.lines().count() + 1).expect("count");
        assert_eq!(
            report["failure"]["line"], at,
            "{}: verify names the bad line: {report}",
            case.name
        );
    }
    // Not JSON lines at all: a binary file, an empty file.
    for (name, bytes) in [
        (
            "binary",
            (0u8..=255).cycle().take(4096).collect::<Vec<u8>>(),
        ),
        ("empty", Vec::new()),
    ] {
        let r = run_with_stdin(&w, &["submit", "-"], &bytes);
        assert!(
            r.code == 1 || r.code == 2 || (name == "empty" && r.code == 0),
            "{name}: {r:?}"
        );
        assert!(!r.stderr.contains("panicked"), "{name}: {}", r.stderr);
        let r = run_with_stdin(&w, &["verify", "-"], &bytes);
        assert_eq!(
            r.code, 1,
            "{name}: verify - exited {}: {}",
            r.code, r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{name}: {}", r.stderr);
    }
    assert_eq!(w.size(), size);
}

#[test]
fn packet_verify_and_import_refuse_garbage_and_truncation() {
    let w = World::sqlite();
    let keys = setup_ledger(&w);
    let arrest = record_arrest(&w, &keys);
    let chain = arrest["chain"].as_str().expect("chain").to_string();
    let packet = w.path("good.packet");
    w.ok(&[
        "packet",
        "export",
        "--chain",
        &chain,
        "--out",
        packet.to_str().expect("utf-8"),
        "--ledger-key",
        &keys.ledger,
    ]);
    let good = std::fs::read(&packet).expect("packet");
    // The receiving side: a replica without the chain.
    let receiver = replica_of(&w);
    let size = receiver.size();
    let magic = custody_packet::MAGIC;
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x20;
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("binary", (0u8..=255).cycle().take(8192).collect()),
        ("json", b"{\"records\": []}".to_vec()),
        ("magic only", format!("{magic}\n").into_bytes()),
        (
            "huge section",
            format!("{magic}\nmanifest 99999999999999999\n").into_bytes(),
        ),
        (
            "section longer than the file",
            format!("{magic}\nmanifest 1000\n{{}}").into_bytes(),
        ),
        ("truncated at a third", good[..good.len() / 3].to_vec()),
        ("truncated by one byte", good[..good.len() - 1].to_vec()),
        ("one byte changed", flipped),
        ("invalid UTF-8 header", b"\xff\xfe\xfd\n".to_vec()),
    ];
    for (name, bytes) in inputs {
        let path = receiver.path(&format!("{}.packet", name.replace(' ', "_")));
        std::fs::write(&path, &bytes).expect("write");
        let p = path.to_str().expect("utf-8");
        let r = receiver.run(&["packet", "verify", p]);
        assert_eq!(
            r.code, 1,
            "{name}: packet verify exited {}:\n{}\n{}",
            r.code, r.stdout, r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{name}: {}", r.stderr);
        assert!(
            !(r.stdout.trim().is_empty() && r.stderr.trim().is_empty()),
            "{name}: refused in silence"
        );
        let r = receiver.run(&["packet", "import", p]);
        assert_eq!(
            r.code, 1,
            "{name}: packet import exited {}:\n{}\n{}",
            r.code, r.stdout, r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{name}: {}", r.stderr);
        assert_eq!(receiver.size(), size, "{name}: import stored something");
    }
    // The good packet imports; again, it is a replay that stores nothing more.
    let p = packet.to_str().expect("utf-8");
    receiver.ok(&["packet", "import", p]);
    let after = receiver.size();
    assert!(after > size);
    receiver.ok(&["packet", "import", p]);
    assert_eq!(receiver.size(), after, "a replayed packet stores nothing");
}

/// What a fake hub answers to every request.
#[derive(Clone)]
enum Garbage {
    /// 200, a body that is not JSON.
    NotJson,
    /// 200, JSON of the wrong shape.
    WrongShape,
    /// 200, JSON cut in the middle.
    Truncated,
    /// 500 with an HTML page.
    ServerError,
    /// 200, a body of invalid UTF-8 declared as JSON.
    InvalidUtf8,
    /// Accepts the connection, reads the request, answers nothing.
    Silent,
    /// 200, a valid chain answer holding another ledger's authority chain.
    Body(String),
}

/// A hub on 127.0.0.1 answering `garbage` to everything; its base URL.
fn fake_hub(garbage: Garbage) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let garbage = garbage.clone();
            std::thread::spawn(move || answer_garbage(conn, &garbage));
        }
    });
    format!("http://{addr}")
}

fn answer_garbage(mut conn: TcpStream, garbage: &Garbage) {
    let _ = conn.set_read_timeout(Some(BOUND));
    // Read the head and the declared body.
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while raw.len() < head_end + length {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let (status, ct, body): (&str, &str, Vec<u8>) = match garbage {
        Garbage::NotJson => (
            "200 OK",
            "application/json",
            b"hello, this is not JSON".to_vec(),
        ),
        Garbage::WrongShape => (
            "200 OK",
            "application/json",
            b"{\"records\": 7, \"head\": []}".to_vec(),
        ),
        Garbage::Truncated => (
            "200 OK",
            "application/json",
            b"{\"chain\": \"authority\", \"records\": [{\"rec".to_vec(),
        ),
        Garbage::ServerError => (
            "500 Internal Server Error",
            "text/html",
            b"<html><body>oops</body></html>".to_vec(),
        ),
        Garbage::InvalidUtf8 => (
            "200 OK",
            "application/json",
            b"{\"records\": [\"\xff\xfe\"]}".to_vec(),
        ),
        Garbage::Silent => {
            std::thread::sleep(BOUND);
            return;
        }
        Garbage::Body(b) => ("200 OK", "application/json", b.clone().into_bytes()),
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn.write_all(&body);
}

#[test]
fn sync_refuses_a_hub_answering_garbage_and_stores_nothing() {
    let hq = World::sqlite();
    let keys = setup_ledger(&hq);
    let post = replica_of(&hq);
    let officer = read_key(&keys.officer);
    let arrests: Vec<Record> = (0..3).map(|i| signed_arrest(&officer, 40 + i, 4)).collect();
    let file = post.path("arrests.jsonl");
    write_jsonl(&file, &arrests);
    post.ok(&["submit", file.to_str().expect("utf-8")]);
    let size = post.size();

    // Another ledger of the same name (its own root): its authority chain, as a hub would
    // answer GET /v1/chains/authority.
    let other = World::sqlite();
    setup_ledger(&other);
    let records: Vec<serde_json::Value> = other
        .export()
        .into_iter()
        .filter(|r| r.header.chain == "authority")
        .map(|r| {
            let record: serde_json::Value =
                serde_json::from_str(&r.to_json_line()).expect("a record is JSON");
            serde_json::json!({"position": 0, "record": record, "payload_withheld": false})
        })
        .collect();
    let other_chain = serde_json::json!({"chain": "authority", "records": records}).to_string();

    for (name, garbage, says) in [
        ("not JSON", Garbage::NotJson, "hub"),
        ("wrong shape", Garbage::WrongShape, "hub"),
        ("truncated", Garbage::Truncated, "hub"),
        ("server error", Garbage::ServerError, "500"),
        ("invalid UTF-8", Garbage::InvalidUtf8, "hub"),
        ("silent", Garbage::Silent, "hub"),
        (
            "another ledger",
            Garbage::Body(other_chain.clone()),
            "chain authority",
        ),
    ] {
        let url = fake_hub(garbage);
        let r = post.run(&[
            "sync",
            "--to",
            &url,
            "--key",
            &keys.officer,
            "--timeout",
            "2",
        ]);
        assert!(
            r.code == 1 || r.code == 2,
            "{name}: sync exited {}\nstdout:\n{}\nstderr:\n{}",
            r.code,
            r.stdout,
            r.stderr
        );
        assert!(
            r.stderr.to_lowercase().contains(&says.to_lowercase()),
            "{name}: sync does not say {says:?}:\n{}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{name}: {}", r.stderr);
        assert_eq!(post.size(), size, "{name}: the post stored something");
    }
}
