//! A payload lost between the two writes of a JetStream append, the way it happened: 32
//! concurrent appends through `custody serve`, kill -9 of the gateway in the middle, restart,
//! retry of everything unacknowledged: every payload present exactly once, none missing, and
//! `custody verify` OK. Since timing does not leave a header without its payload entry in every
//! run, the same state is also made on purpose (the header published alone; on SQLite the
//! payload row deleted behind the triggers' back): `custody verify` names it and fails,
//! `custody submit` of the record completes it.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use custody_core::Record;
use custody_testkit::{free_port, NatsServer};
use serde_json::Value;

/// The value of `custody_ledger_payloads_missing` in a `/metrics` text.
fn missing_gauge(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("custody_ledger_payloads_missing "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no custody_ledger_payloads_missing gauge in:\n{metrics}"))
}

/// Publishes a record's header alone to the ledger stream, as the store does, without its
/// payload entry: what a gateway killed between its two writes leaves.
fn publish_header_only(url: &str, record: &Record) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = async_nats::connect(url).await.expect("connect");
        let js = async_nats::jetstream::new(client);
        js.send_publish(
            format!("custody.chain.{}", record.header.chain),
            async_nats::jetstream::context::Publish::build()
                .payload(record.without_payload().to_json_line().into())
                .message_id(record.hash.to_hex()),
        )
        .await
        .expect("publish")
        .await
        .expect("acknowledged");
    });
}

/// `custody verify` fails (exit 1) naming the missing payload, and says the records verify.
fn assert_verify_names_missing(w: &World, record: &Record, position: u64) {
    let r = w.fails(1, &["verify"]);
    let line = format!(
        "payload missing at position {position}, chain {}, event {}",
        record.header.chain, record.hash
    );
    assert!(r.stderr.contains(&line), "{}", r.stderr);
    assert!(r.stderr.contains("the records verify"), "{}", r.stderr);
    let r = w.fails(1, &["--json", "verify"]);
    let v: Value = serde_json::from_str(r.stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("verify --json ({e}): {}", r.stdout));
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["failure"], Value::Null, "the chain itself verifies: {v}");
    assert_eq!(
        v["missing_payloads"],
        serde_json::json!([{"position": position, "chain": record.header.chain, "hash": record.hash.to_hex()}])
    );
}

/// `custody submit` of the record completes its payload: "already stored", not "refused
/// (seq)", then `custody verify` is OK and the export holds the payload.
fn assert_submit_completes(w: &World, record: &Record) {
    let file = w.path("retry.jsonl");
    write_jsonl(&file, std::slice::from_ref(record));
    let r = w.run(&["submit", &file.display().to_string()]);
    assert_eq!(r.code, 0, "submit: {}\n{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("refused"), "{}", r.stderr);
    assert!(r.stderr.contains("already stored") || r.stdout.contains("already stored"));
    w.ok(&["verify"]);
    let stored = w.export();
    let got = stored
        .iter()
        .find(|s| s.hash == record.hash)
        .expect("exported");
    assert_eq!(got, record, "exported with its payload");
}

#[test]
fn submit_completes_a_payload_whose_entry_was_never_written_on_jetstream() {
    let server = NatsServer::start().expect("nats-server");
    let w = World::nats(&server.url());
    let keys = setup_ledger(&w);
    let officer = read_key(&keys.officer);
    let position = w.size();
    let record = signed_arrest(&officer, 7000, 4);
    publish_header_only(&server.url(), &record);
    assert_verify_names_missing(&w, &record, position);
    assert_submit_completes(&w, &record);
}

#[test]
fn verify_names_a_payload_row_deleted_behind_the_triggers_and_submit_completes_it() {
    let w = World::sqlite();
    let keys = setup_ledger(&w);
    let officer = read_key(&keys.officer);
    let position = w.size();
    let record = signed_arrest(&officer, 7001, 4);
    let file = w.path("one.jsonl");
    write_jsonl(&file, std::slice::from_ref(&record));
    w.ok(&["submit", &file.display().to_string()]);
    let raw = rusqlite::Connection::open(&w.store).expect("open the file");
    raw.execute_batch("DROP TRIGGER payloads_delete_needs_redaction")
        .expect("drop the trigger");
    let deleted = raw
        .execute(
            "DELETE FROM payloads WHERE hash = ?1",
            [record.hash.as_bytes().to_vec()],
        )
        .expect("delete");
    assert_eq!(deleted, 1);
    drop(raw);
    assert_verify_names_missing(&w, &record, position);
    assert_submit_completes(&w, &record);
}

/// How one writer's appends ended.
#[derive(Default)]
struct Writer {
    /// Answered 201.
    acked: Vec<Record>,
    /// Sent, and not answered 201: the record the writer had in flight when the gateway died
    /// (or an error answer).
    unacked: Vec<Record>,
    /// Whether the last request failed while the gateway was processing it (the connection
    /// was open and then broke), rather than being refused a connection.
    in_flight: bool,
}

#[test]
fn serve_killed_during_32_concurrent_appends_on_jetstream_then_retried_loses_no_payload() {
    const WRITERS: u64 = 32;
    const EACH: u64 = 150;
    let server = NatsServer::start().expect("nats-server");
    let w = World::nats(&server.url());
    let keys = setup_ledger(&w);
    let officer = read_key(&keys.officer);
    let before = w.size();
    let records: Vec<Vec<Record>> = (0..WRITERS)
        .map(|k| {
            (0..EACH)
                .map(|n| signed_arrest(&officer, 10_000 + k * EACH + n, 5))
                .collect()
        })
        .collect();
    let port = free_port().expect("port");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");

    let serve = Serve::start(&w, port);
    let url = serve.url.clone();
    let writers: Vec<Writer> = rt.block_on(async {
        let tasks: Vec<_> = records
            .iter()
            .cloned()
            .map(|mine| {
                let client = client.clone();
                let url = url.clone();
                tokio::spawn(async move {
                    let mut out = Writer::default();
                    for r in mine {
                        let sent = client
                            .post(format!("{url}/v1/events"))
                            .header("content-type", "application/json")
                            .body(r.to_json_line())
                            .send()
                            .await;
                        match sent {
                            Ok(resp) if resp.status().as_u16() == 201 => out.acked.push(r),
                            Ok(resp) => {
                                eprintln!("answered {}", resp.status());
                                out.unacked.push(r);
                            }
                            Err(e) => {
                                out.in_flight = !e.is_connect();
                                out.unacked.push(r);
                                break;
                            }
                        }
                    }
                    out
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut serve = serve;
        let _ = serve.child.kill(); // SIGKILL
        let _ = serve.child.wait();
        let mut writers = Vec::new();
        for t in tasks {
            writers.push(t.await.expect("writer"));
        }
        writers
    });
    let acked: Vec<&Record> = writers.iter().flat_map(|w| &w.acked).collect();
    let unacked: Vec<&Record> = writers.iter().flat_map(|w| &w.unacked).collect();
    let in_flight = writers.iter().filter(|w| w.in_flight).count();
    eprintln!(
        "killed after 500 ms: {} acknowledged, {} unacknowledged, {in_flight} writers had an \
         append in flight",
        acked.len(),
        unacked.len()
    );
    assert!(
        !acked.is_empty(),
        "the gateway acknowledged appends before the kill"
    );
    assert!(
        in_flight >= 1,
        "no append was in flight when the gateway was killed: the test did not test the case"
    );
    assert!(
        writers.iter().all(|w| w.acked.len() < EACH as usize),
        "a writer finished before the kill"
    );

    // Restart; what the kill left: headers without their payload are reported, not hidden.
    let serve = Serve::start(&w, port);
    let (status, metrics) = serve.get("/metrics");
    assert_eq!(status, 200);
    let missing = missing_gauge(&metrics);
    let stored = w.export();
    let without_payload = unacked
        .iter()
        .filter(|r| {
            stored
                .iter()
                .any(|s| s.hash == r.hash && s.payload.is_none())
        })
        .count() as u64;
    eprintln!(
        "after restart: {missing} payloads missing ({without_payload} unacknowledged records \
         stored without payload)"
    );
    assert_eq!(
        missing, without_payload,
        "the gauge counts the payloads lost"
    );
    if missing > 0 {
        let r = w.fails(1, &["verify"]);
        assert_eq!(
            r.stderr.matches("payload missing at position").count() as u64,
            missing,
            "{}",
            r.stderr
        );
    }

    // The clients retry everything unacknowledged: a duplicate (200) or a first store (201).
    let answers: Vec<u16> = rt.block_on(async {
        let mut answers = Vec::new();
        for r in &unacked {
            let resp = client
                .post(format!("{}/v1/events", serve.url))
                .header("content-type", "application/json")
                .body(r.to_json_line())
                .send()
                .await
                .expect("retry answered");
            answers.push(resp.status().as_u16());
        }
        answers
    });
    for (r, status) in unacked.iter().zip(&answers) {
        assert!(
            *status == 200 || *status == 201,
            "retry of {} answered {status}",
            r.hash
        );
    }

    let (_, metrics) = serve.get("/metrics");
    assert_eq!(
        missing_gauge(&metrics),
        0,
        "no payload missing after the retries"
    );
    drop(serve);
    let stored = w.export();
    let by_hash: HashMap<_, Vec<&Record>> = stored.iter().fold(HashMap::new(), |mut m, r| {
        m.entry(r.hash).or_default().push(r);
        m
    });
    for r in acked.iter().chain(&unacked) {
        let copies = by_hash.get(&r.hash).map_or(0, Vec::len);
        assert_eq!(copies, 1, "record {} stored exactly once", r.hash);
        assert_eq!(
            by_hash[&r.hash][0], *r,
            "record {} with its payload",
            r.hash
        );
    }
    assert_eq!(
        stored.len() as u64,
        before + (acked.len() + unacked.len()) as u64,
        "nothing else stored"
    );
    w.ok(&["verify"]);
}

/// The payload of an authority record (here a key enrolment) lost from the bucket: the ledger
/// cannot open (the validator needs the body), so the gateway refuses to start naming it, and
/// `custody submit` of the exported authority chain completes it.
#[test]
fn submit_completes_a_missing_authority_payload_without_which_the_ledger_cannot_open() {
    let server = NatsServer::start().expect("nats-server");
    let w = World::nats(&server.url());
    setup_ledger(&w);
    let file = w.path("authority.jsonl").display().to_string();
    w.ok(&["export", "--chain", "authority", "--out", &file]);
    let text = std::fs::read_to_string(&file).expect("export");
    let last = Record::from_json(text.lines().last().expect("records").as_bytes()).expect("parse");
    let position = w.size() - 1;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(server.url()).await.unwrap());
        let bucket = js.get_key_value("CUSTODY_PAYLOADS").await.expect("bucket");
        bucket
            .delete(last.hash.to_hex())
            .await
            .expect("delete the entry");
    });

    let r = w.fails(1, &["verify"]);
    assert!(r.stderr.contains("payload_missing"), "{}", r.stderr);
    let r = w.fails(1, &["serve", "--listen", "127.0.0.1:0"]);
    assert!(
        r.stderr
            .contains(&format!("record at position {position} is missing")),
        "{}",
        r.stderr
    );
    let r = w.run(&["submit", &file]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("completed the missing payload"),
        "{}",
        r.stdout
    );
    w.ok(&["verify"]);
    let stored = w.export();
    assert_eq!(stored.iter().find(|s| s.hash == last.hash), Some(&last));
}
