//! Crashes in the middle of appends: nats-server killed (SIGKILL) during `custody submit`, and
//! `custody serve` killed during an HTTP append. Afterwards every acknowledged event is stored
//! exactly once, the retried ones too, and the ledger verifies.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Instant;

use common::*;
use custody_core::Record;
use custody_testkit::{free_port, NatsServer};

/// Records acknowledged by a `custody --json submit` run, from its per-line reports.
fn acknowledged(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["status"].is_string())
        .filter_map(|v| v["hash"].as_str().map(str::to_string))
        .collect()
}

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

    // Start the stream of appends and kill the server once some are acknowledged.
    let mut child = custody_cmd(w.dir.path(), &w.store)
        .args(["--json", "submit", &file])
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

#[test]
fn serve_killed_during_an_http_append_then_retried_stores_once() {
    let w = World::sqlite();
    let keys = setup_ledger(&w);
    let officer = read_key(&keys.officer);
    let registrar = read_key(&keys.registrar);
    let port = free_port().expect("port");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // No connection reuse: a pooled connection to a killed server would fail at once.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let before = w.size();

    let records: Vec<Record> = (0..9)
        .map(|n| signed_arrest(&officer, 1000 + n, 2))
        .collect();

    // How long one append takes here, answer included (the first record, on a fresh server).
    let post = |url: &str, body: String| {
        client
            .post(format!("{url}/v1/events"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let serve = Serve::start(&w, port);
    let started = Instant::now();
    let status = rt
        .block_on(post(&serve.url, records[0].to_json_line()))
        .expect("first append")
        .status();
    let full = started.elapsed();
    assert_eq!(status.as_u16(), 201);
    serve.kill();
    eprintln!("one HTTP append takes {full:?}");

    let mut killed_mid_append = 0;
    for (i, record) in records.iter().enumerate().skip(1) {
        let mut serve = Serve::start(&w, port);
        let body = record.to_json_line();
        // Kill the server (SIGKILL) while the request is in flight, after a delay from "before
        // the request arrives" through "while it is being appended" to "after the answer".
        let delay = full.mul_f64([0.0, 0.02, 0.04, 0.07, 0.1, 0.2, 0.4, 1.5][i - 1]);
        let first = rt.block_on(async {
            let send = post(&serve.url, body.clone());
            tokio::pin!(send);
            tokio::select! {
                biased;
                () = tokio::time::sleep(delay) => {
                    let _ = serve.child.kill();
                    None
                }
                r = &mut send => Some(r.map(|r| r.status().as_u16())),
            }
        });
        serve.kill();
        let stored_before_retry = count_hash(&w.export(), &record.hash);
        assert!(stored_before_retry <= 1);
        if first.is_none() && stored_before_retry == 1 {
            killed_mid_append += 1; // stored, but the client never heard so
        }
        eprintln!(
            "record {i}: killed after {delay:?}: answer {first:?}, stored: {stored_before_retry}"
        );
        // Whatever the first attempt did, the client retries the same record.
        let serve = Serve::start(&w, port);
        let status = rt
            .block_on(post(&serve.url, body))
            .expect("retry answered")
            .status()
            .as_u16();
        assert!(
            status == 201 || status == 200,
            "retry of record {i} answered {status} (first attempt: {first:?})"
        );

        // The gateway's signed read finds it.
        let path = format!("/v1/events/{}", record.hash);
        let headers = custody_gateway::auth::sign_request(
            &registrar,
            "GET",
            &path,
            &custody_gateway::auth::system_now(),
            b"",
        );
        let mut req = client.get(format!("{}{path}", serve.url));
        for (name, value) in headers {
            req = req.header(name, value);
        }
        let got: serde_json::Value = rt
            .block_on(async { req.send().await?.json().await })
            .expect("signed read");
        assert_eq!(
            got["record"]["hash"],
            record.hash.to_hex().as_str(),
            "{got}"
        );
        serve.kill();
    }

    eprintln!("{killed_mid_append} appends were stored but never answered");
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
