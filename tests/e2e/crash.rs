//! Crashes in the middle of appends: nats-server killed (SIGKILL) during `custody submit`, and
//! `custody serve` killed during an HTTP append, on SQLite and on JetStream (until one append
//! was stored but never answered, which the test asserts happened). Afterwards every acknowledged event is stored
//! exactly once, the retried ones too, and the ledger verifies.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use custody_client::Client;
use custody_core::Record;
use custody_testkit::{free_port, NatsServer};

#[test]
fn nats_server_killed_during_submit_loses_nothing_acknowledged() {
    let mut server = NatsServer::start().expect("nats-server");
    let w = World::nats(&server.url());
    let keys = setup_ledger(&w);
    let officer = read_key(&keys.officer);
    let before = w.size();

    const N: u64 = 400;
    let records: Vec<Record> = (0..N).map(|n| signed_arrest(&officer, n, 1)).collect();
    let file = w.path("stream.jsonl");
    write_jsonl(&file, &records);
    let file = file.display().to_string();

    // Start the stream of appends and kill the server once some are acknowledged: batches of
    // 10 records, so that the answers come while the file is being appended and the kill can
    // fall in the middle of a batch.
    let mut child = custody_cmd(w.dir.path(), &w.store)
        .args(["--json", "submit", "--batch", "10", &file])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn submit");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let mut first_run = String::new();
    let mut line = String::new();
    let mut acked = 0;
    while acked < 25 {
        line.clear();
        if reader.read_line(&mut line).expect("read") == 0 {
            break;
        }
        first_run.push_str(&line);
        acked += 1;
    }
    assert_eq!(acked, 25, "submit ended early:\n{first_run}");
    server.kill();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).expect("read rest");
    first_run.push_str(&rest);
    let status = child.wait().expect("wait");
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut stderr).expect("stderr");
    }
    let acked_first = acknowledged(&first_run);
    assert!(
        !status.success() && (acked_first.len() as u64) < N,
        "the server died before the end of the stream ({} acknowledged, {status}):\n{stderr}",
        acked_first.len()
    );
    assert_eq!(
        status.code(),
        Some(2),
        "an unreachable store is an environment error:\n{stderr}"
    );
    assert!(stderr.contains("run the same command again"), "{stderr}");

    eprintln!(
        "first run: {} acknowledged before the crash; {stderr}",
        acked_first.len()
    );
    // Restart and re-run the unacknowledged part (the whole file: stored lines are recognised).
    server.restart().expect("restart");
    let unacked: Vec<Record> = records
        .iter()
        .filter(|r| !acked_first.contains(&r.hash.to_hex()))
        .cloned()
        .collect();
    let rest_file = w.path("rest.jsonl");
    write_jsonl(&rest_file, &unacked);
    w.ok(&["submit", &rest_file.display().to_string()]);

    let stored = w.export();
    assert_eq!(stored.len() as u64, before + N, "every record once");
    for r in &records {
        assert_eq!(
            count_hash(&stored, &r.hash),
            1,
            "record {} stored once",
            r.hash
        );
    }
    let distinct: HashSet<_> = stored.iter().map(|r| r.hash).collect();
    assert_eq!(distinct.len(), stored.len());
    w.ok(&["verify"]);
    // Running the whole file again changes nothing.
    let again = w.ok_json(&["submit", &file]);
    assert_eq!(
        (again["appended"].as_u64(), again["already_stored"].as_u64()),
        (Some(0), Some(N))
    );
}

/// What the first attempt at an append killed mid-flight came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FirstAttempt {
    /// Killed before the record was stored.
    NotStored,
    /// Stored, but the client never heard so: the case a retry exists for.
    StoredUnanswered,
    /// Answered before the kill.
    Answered,
}

/// The `k`-th number of the base-2 van der Corput sequence (0.5, 0.25, 0.75, 0.125, ...): kill
/// delays that spread over a window without repeating.
fn spread(k: u32) -> f64 {
    let (mut n, mut denominator, mut x) = (k + 1, 1.0, 0.0);
    while n > 0 {
        denominator *= 2.0;
        x += f64::from(n % 2) / denominator;
        n /= 2;
    }
    x
}

#[test]
fn serve_killed_during_an_http_append_then_retried_stores_once_on_sqlite() {
    serve_killed_during_an_http_append_then_retried_stores_once(&World::sqlite());
}

#[test]
fn serve_killed_during_an_http_append_then_retried_stores_once_on_jetstream() {
    let server = NatsServer::start().expect("nats-server");
    serve_killed_during_an_http_append_then_retried_stores_once(&World::nats(&server.url()));
}

/// `custody serve` on `w`'s store killed (SIGKILL) at spread delays while an HTTP append is in
/// flight, until one append was stored but never answered; each record retried: every
/// acknowledged append and every retry stored exactly once, the ledger verifies.
fn serve_killed_during_an_http_append_then_retried_stores_once(w: &World) {
    // Kill delays tried first, as fractions of one append's time: from "before the request
    // arrives" through "while it is being appended" to "after the answer".
    const SCHEDULE: [f64; 8] = [0.0, 0.02, 0.04, 0.07, 0.1, 0.2, 0.4, 1.5];
    // Then more delays, narrowed to where the answer was still missing but the record stored,
    // until that case happened: at most this many attempts in all.
    const MAX_ATTEMPTS: u32 = 48;
    let keys = setup_ledger(w);
    let officer = read_key(&keys.officer);
    let registrar = read_key(&keys.registrar);
    let port = free_port().expect("port");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // No connection reuse: a pooled connection to a killed server would fail at once.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let client = Client::with_http(&format!("http://127.0.0.1:{port}"), http);
    let reader = client.clone().with_key(registrar);
    let before = w.size();
    let record_n = |n: u32| signed_arrest(&officer, 1000 + u64::from(n), 2);

    // How long one append takes here, answer included (the first record, on a fresh server).
    let mut records = vec![record_n(0)];
    let serve = Serve::start(w, port);
    let started = Instant::now();
    let first = rt
        .block_on(client.append(&records[0]))
        .expect("first append");
    let full = started.elapsed();
    assert!(!first.duplicate);
    serve.kill();
    eprintln!("one HTTP append takes {full:?}");

    let mut outcomes = Vec::new();
    // The latest delay at which nothing was stored, the earliest at which an answer came.
    let (mut not_stored, mut answered) = (Duration::ZERO, full.mul_f64(1.5));
    for n in 1..=MAX_ATTEMPTS {
        let attempt = n as usize - 1;
        let happened = outcomes.contains(&FirstAttempt::StoredUnanswered);
        if attempt >= SCHEDULE.len() && happened {
            break;
        }
        let delay = match SCHEDULE.get(attempt) {
            Some(fraction) => full.mul_f64(*fraction),
            None => {
                // Between the two, widened a little: timings vary from run to run.
                let (a, b) = (not_stored.min(answered), not_stored.max(answered));
                let margin = full / 20;
                a.saturating_sub(margin) + (b - a + 2 * margin).mul_f64(spread(n))
            }
        };
        let record = record_n(n);
        records.push(record.clone());
        let mut serve = Serve::start(w, port);
        // Kill the server (SIGKILL) while the request is in flight, `delay` after it is sent.
        let first = rt.block_on(async {
            let send = client.append(&record);
            tokio::pin!(send);
            tokio::select! {
                biased;
                () = tokio::time::sleep(delay) => {
                    let _ = serve.child.kill();
                    None
                }
                r = &mut send => Some(r.map(|a| a.position)),
            }
        });
        serve.kill();
        let stored_before_retry = count_hash(&w.export(), &record.hash);
        assert!(stored_before_retry <= 1);
        let outcome = match (&first, stored_before_retry) {
            (Some(Ok(_)), 1) => FirstAttempt::Answered,
            (Some(Ok(_)), _) => panic!("record {n} was acknowledged but is not stored"),
            (Some(Err(_)) | None, 0) => FirstAttempt::NotStored,
            (Some(Err(_)) | None, _) => FirstAttempt::StoredUnanswered,
        };
        match outcome {
            FirstAttempt::NotStored => not_stored = not_stored.max(delay),
            FirstAttempt::Answered => answered = answered.min(delay),
            FirstAttempt::StoredUnanswered => {}
        }
        outcomes.push(outcome);
        eprintln!("record {n}: killed after {delay:?}: answer {first:?}: {outcome:?}");

        // Whatever the first attempt did, the client retries the same record.
        let serve = Serve::start(w, port);
        let retry = rt
            .block_on(client.append(&record))
            .unwrap_or_else(|e| panic!("retry of record {n} failed: {e} (first: {first:?})"));
        assert_eq!(
            retry.duplicate,
            outcome != FirstAttempt::NotStored,
            "retry of record {n} after {outcome:?}"
        );

        // The gateway's signed read finds it.
        let got = rt
            .block_on(reader.event(&record.hash))
            .expect("signed read");
        assert_eq!(
            got["record"]["hash"],
            record.hash.to_hex().as_str(),
            "{got}"
        );
        assert_eq!(got["position"].as_u64(), Some(retry.position));
        serve.kill();
    }

    let count = |o: FirstAttempt| outcomes.iter().filter(|x| **x == o).count();
    eprintln!(
        "{} attempts: {} killed before storing, {} stored but never answered, {} answered",
        outcomes.len(),
        count(FirstAttempt::NotStored),
        count(FirstAttempt::StoredUnanswered),
        count(FirstAttempt::Answered)
    );
    // What this test is for: an append stored but never answered happened, and its retry was
    // recognised (above) instead of being stored twice (below).
    assert!(
        count(FirstAttempt::StoredUnanswered) >= 1,
        "in {MAX_ATTEMPTS} attempts no kill fell between the store write and the answer: \
         {outcomes:?}"
    );
    let stored = w.export();
    assert_eq!(stored.len() as u64, before + records.len() as u64);
    for r in &records {
        assert_eq!(
            count_hash(&stored, &r.hash),
            1,
            "record {} stored exactly once",
            r.hash
        );
    }
    w.ok(&["verify"]);
}
