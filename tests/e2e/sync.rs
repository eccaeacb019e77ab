//! Field posts that recorded offline push their records to the hub with `custody sync`: the
//! real binary, a real `custody serve` on SQLite (and one on JetStream), real signatures.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{
    count_hash, read_key, record_arrest, replica_of, setup_ledger, signed_arrest, signed_next,
    Keys, Serve, World,
};
use custody_core::kinds::EventKind;
use custody_core::Record;
use serde_json::{json, Value};

/// A hub, its keys, and a post (a replica) holding `n` arrests signed offline (chains
/// numbered from `first`, salt `salt`).
fn post_with_arrests(n: u64, first: u64, salt: u8) -> (World, Keys, World, Vec<Record>) {
    let hq = World::sqlite();
    let keys = setup_ledger(&hq);
    let post = replica_of(&hq);
    let officer = read_key(&keys.officer);
    let arrests: Vec<Record> = (0..n)
        .map(|i| signed_arrest(&officer, first + i, salt))
        .collect();
    submit(&post, "arrests.jsonl", &arrests);
    (hq, keys, post, arrests)
}

/// Every one of `records` is in `hub` exactly once.
fn assert_each_once(hub: &[Record], records: &[Record]) {
    for r in records {
        assert_eq!(
            count_hash(hub, &r.hash),
            1,
            "record {} exactly once",
            r.hash
        );
    }
}

/// `custody sync` from `post` to `url`, batches of `batch`.
fn sync(post: &World, url: &str, keys: &Keys, batch: &str) -> common::Run {
    post.run(&[
        "sync",
        "--to",
        url,
        "--key",
        &keys.officer,
        "--batch",
        batch,
    ])
}

fn released_body(reason: &str) -> Value {
    json!({
        "to_agency": common::PRISON,
        "to_facility": "ml-mca-bamako-main",
        "place": {"description": "Mopti police station yard", "region": "Mopti"},
        "reason": reason,
        "legal_status": "arrested"
    })
}

/// Submits records at a post (signed there, offline).
fn submit(post: &World, name: &str, records: &[Record]) {
    let file = post.path(name);
    common::write_jsonl(&file, records);
    post.ok(&["submit", file.to_str().expect("utf-8 path")]);
}

fn detainee_records(w: &World) -> Vec<Record> {
    w.export()
        .into_iter()
        .filter(|r| r.header.chain != "authority")
        .collect()
}

#[test]
fn two_posts_sync_offline_records_into_the_hub_exactly_once() {
    let hq = World::sqlite();
    let keys = setup_ledger(&hq);
    let post_a = replica_of(&hq);
    let post_b = replica_of(&hq);
    for _ in 0..3 {
        record_arrest(&post_a, &keys);
    }
    for _ in 0..2 {
        record_arrest(&post_b, &keys);
    }
    let port = custody_testkit::free_port().expect("port");
    let serve = Serve::start(&hq, port);

    let a = sync(&post_a, &serve.url, &keys, "2");
    assert_eq!(a.code, 0, "{}\n{}", a.stdout, a.stderr);
    assert!(
        a.stderr.contains("sent up to position"),
        "progress: {}",
        a.stderr
    );
    let b = sync(&post_b, &serve.url, &keys, "2");
    assert_eq!(b.code, 0, "{}\n{}", b.stdout, b.stderr);
    // A second sync sends nothing new and changes nothing.
    let again = post_a.ok_json(&["sync", "--to", &serve.url, "--key", &keys.officer]);
    assert_eq!(again["appended"], 0, "{again}");
    serve.kill();

    let hub = hq.export();
    for post in [&post_a, &post_b] {
        assert_each_once(&hub, &detainee_records(post));
    }
    assert_eq!(
        hub.iter().filter(|r| r.header.chain != "authority").count(),
        5
    );
    hq.ok(&["verify"]);
}

/// A TCP proxy that forwards to `upstream` and cuts every connection once `budget` bytes in
/// all went from the client to the server.
fn cutting_proxy(upstream: String, budget: usize) -> String {
    proxy(upstream, budget, Cut::Requests)
}

/// Which direction a [`proxy`] counts and cuts.
#[derive(Clone, Copy, PartialEq)]
enum Cut {
    /// Client to server: the hub never gets the end of a request.
    Requests,
    /// Server to client: the hub did the work but its answer is lost on the way.
    Answers,
}

/// A TCP proxy to `upstream` that cuts every connection once `budget` bytes in all went in the
/// direction `cut`.
fn proxy(upstream: String, budget: usize, cut: Cut) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let sent = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let sent = sent.clone();
            let (c_read, s_write) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            let (s_read, c_write) = (server, client);
            let (counted, free) = match cut {
                Cut::Requests => ((c_read, s_write), (s_read, c_write)),
                Cut::Answers => ((s_read, c_write), (c_read, s_write)),
            };
            std::thread::spawn(move || {
                let (mut from, mut to) = counted;
                let mut buf = [0u8; 512];
                loop {
                    let n = match from.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let before = sent.fetch_add(n, Ordering::SeqCst);
                    if before + n > budget {
                        let keep = budget.saturating_sub(before);
                        let _ = to.write_all(&buf[..keep]);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                        let _ = from.shutdown(std::net::Shutdown::Both);
                        break;
                    }
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
            std::thread::spawn(move || {
                let (mut from, mut to) = free;
                let _ = std::io::copy(&mut from, &mut to);
                let _ = to.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    format!("http://{addr}")
}

#[test]
fn a_sync_cut_midway_resumes_and_stores_every_record_exactly_once() {
    let hq = World::sqlite();
    let keys = setup_ledger(&hq);
    let post = replica_of(&hq);
    for _ in 0..6 {
        record_arrest(&post, &keys);
    }
    let records = detainee_records(&post);
    let port = custody_testkit::free_port().expect("port");
    let serve = Serve::start(&hq, port);
    // Room for the authority read, the authority records resent (duplicates) and some of the
    // arrests: the connection is cut in the middle of a later batch.
    let authority: usize = post
        .export()
        .iter()
        .filter(|r| r.header.chain == "authority")
        .map(|r| r.to_json_line().len() + 1)
        .sum();
    let arrests: usize = records[..3]
        .iter()
        .map(|r| r.to_json_line().len() + 1)
        .sum();
    let proxy = cutting_proxy(
        serve.url.trim_start_matches("http://").to_string(),
        600 + authority + arrests + 1500,
    );
    let cut = sync(&post, &proxy, &keys, "2");
    assert_ne!(
        cut.code, 0,
        "the cut sync must fail: {}\n{}",
        cut.stdout, cut.stderr
    );
    let partial = hq.export();
    let at_hub = records
        .iter()
        .filter(|r| count_hash(&partial, &r.hash) == 1)
        .count();
    assert!(
        at_hub < records.len(),
        "the cut came before the end ({at_hub} stored)"
    );

    // The same command again, on a good connection, ends the work: every record exactly once.
    let done = sync(&post, &serve.url, &keys, "2");
    assert_eq!(done.code, 0, "{}\n{}", done.stdout, done.stderr);
    serve.kill();
    let hub = hq.export();
    assert_each_once(&hub, &records);
    hq.ok(&["verify"]);
}

#[test]
fn a_chain_extended_at_two_posts_is_a_fork_kept_on_both_sides() {
    let hq = World::sqlite();
    let keys = setup_ledger(&hq);
    let post_a = replica_of(&hq);
    let post_b = replica_of(&hq);
    let officer = read_key(&keys.officer);
    // The arrest is recorded at post A and synced; post B gets the chain on paper (the file).
    let arrest = record_arrest(&post_a, &keys);
    let chain = arrest["chain"].as_str().expect("chain").to_string();
    let port = custody_testkit::free_port().expect("port");
    let serve = Serve::start(&hq, port);
    assert_eq!(sync(&post_a, &serve.url, &keys, "10").code, 0);
    let carried = post_a.path("carried.jsonl").display().to_string();
    post_a.ok(&["export", "--chain", &chain, "--out", &carried]);
    post_b.ok(&["submit", &carried]);
    let first = detainee_records(&post_b).pop().expect("the arrest");

    // Both posts extend the chain, offline, each with its own record at seq 1.
    let ours_a = signed_next(
        &officer,
        &first,
        EventKind::CustodyReleased,
        common::POLICE,
        released_body("transfer from post A"),
    );
    let ours_b = signed_next(
        &officer,
        &first,
        EventKind::CustodyReleased,
        common::POLICE,
        released_body("transfer from post B"),
    );
    assert_ne!(ours_a.hash, ours_b.hash);
    submit(&post_a, "a.jsonl", std::slice::from_ref(&ours_a));
    submit(&post_b, "b.jsonl", std::slice::from_ref(&ours_b));
    assert_eq!(sync(&post_a, &serve.url, &keys, "10").code, 0);
    let b = sync(&post_b, &serve.url, &keys, "10");
    assert_eq!(b.code, 0, "{}\n{}", b.stdout, b.stderr);
    assert!(b.stderr.contains("FORK"), "loud: {}", b.stderr);

    // The hub keeps A's record in its chain and B's in its alarm log; the post the reverse.
    let (status, metrics) = serve.get("/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("custody_ledger_fork_alarms 1\n"),
        "{metrics}"
    );
    serve.kill();
    let hub_forks = hq.run(&["--json", "forks"]);
    assert_eq!(hub_forks.code, 1, "{}", hub_forks.stderr);
    let hub_forks: Value = serde_json::from_str(hub_forks.stdout.trim()).expect("json");
    assert_eq!(hub_forks["count"], 1);
    assert_eq!(hub_forks["fork_alarms"][0]["stored"], ours_a.hash.to_hex());
    assert_eq!(
        hub_forks["fork_alarms"][0]["other_hash"],
        ours_b.hash.to_hex()
    );
    assert!(
        hub_forks["fork_alarms"][0]["other"]["payload"].is_object(),
        "kept with its payload"
    );
    let post_forks: Value =
        serde_json::from_str(post_b.run(&["--json", "forks"]).stdout.trim()).expect("json");
    assert_eq!(post_forks["fork_alarms"][0]["stored"], ours_b.hash.to_hex());
    assert_eq!(
        post_forks["fork_alarms"][0]["other_hash"],
        ours_a.hash.to_hex()
    );
    let hub = hq.export();
    assert_eq!(count_hash(&hub, &ours_a.hash), 1);
    assert_eq!(
        count_hash(&hub, &ours_b.hash),
        0,
        "B's version is in the alarm log, not the chain"
    );
    assert_eq!(
        count_hash(&post_b.export(), &ours_b.hash),
        1,
        "the post keeps its own version"
    );
    // verify reports the alarm and fails.
    let verify = hq.run(&["verify"]);
    assert_eq!(verify.code, 1);
    assert!(verify.stderr.contains("FORK at chain"), "{}", verify.stderr);
}

/// The hub on JetStream: a post's records reach it through the same batch endpoint.
#[test]
fn a_post_syncs_into_a_hub_on_jetstream() {
    let server = custody_testkit::NatsServer::start().expect("nats-server (CUSTODY_NATS_SERVER)");
    let hq = World::nats(&server.url());
    let keys = setup_ledger(&hq);
    let post = replica_of(&hq);
    for _ in 0..3 {
        record_arrest(&post, &keys);
    }
    let port = custody_testkit::free_port().expect("port");
    let serve = Serve::start(&hq, port);
    let run = sync(&post, &serve.url, &keys, "2");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    serve.kill();
    let hub = hq.export();
    assert_each_once(&hub, &detainee_records(&post));
}

/// An operator inside the hub syncs a post's file straight into the hub's JetStream ledger
/// (`--to nats://`, no gateway, no key): every record through the hub ledger's validator,
/// exactly once, and a chain written at two posts is a fork kept on both sides.
#[test]
fn an_operator_syncs_a_post_straight_into_the_jetstream_ledger() {
    let server = custody_testkit::NatsServer::start().expect("nats-server (CUSTODY_NATS_SERVER)");
    let hq = World::nats(&server.url());
    let keys = setup_ledger(&hq);
    let post_a = replica_of(&hq);
    let post_b = replica_of(&hq);
    let officer = read_key(&keys.officer);
    let arrest = record_arrest(&post_a, &keys);
    for _ in 0..2 {
        record_arrest(&post_a, &keys);
    }
    let chain = arrest["chain"].as_str().expect("chain").to_string();
    let url = server.url();

    let first = post_a.ok_json(&["sync", "--to", &url, "--batch", "2"]);
    assert_eq!(first["appended"], 3, "{first}");
    let again = post_a.ok_json(&["sync", "--to", &url]);
    assert_eq!(again["appended"], 0, "{again}");
    let hub = hq.export();
    assert_each_once(&hub, &detainee_records(&post_a));

    // Post B got the chain on paper and extends it as post A does: a fork.
    let carried = post_a.path("carried.jsonl").display().to_string();
    post_a.ok(&["export", "--chain", &chain, "--out", &carried]);
    post_b.ok(&["submit", &carried]);
    let arrest_record = detainee_records(&post_b).pop().expect("the arrest");
    let ours_a = signed_next(
        &officer,
        &arrest_record,
        EventKind::CustodyReleased,
        common::POLICE,
        released_body("transfer from post A"),
    );
    let ours_b = signed_next(
        &officer,
        &arrest_record,
        EventKind::CustodyReleased,
        common::POLICE,
        released_body("transfer from post B"),
    );
    submit(&post_a, "a.jsonl", std::slice::from_ref(&ours_a));
    submit(&post_b, "b.jsonl", std::slice::from_ref(&ours_b));
    post_a.ok(&["sync", "--to", &url]);
    let b = post_b.run(&["sync", "--to", &url]);
    assert_eq!(b.code, 0, "{}\n{}", b.stdout, b.stderr);
    assert!(b.stderr.contains("FORK"), "loud: {}", b.stderr);
    let hub_forks: Value =
        serde_json::from_str(hq.run(&["--json", "forks"]).stdout.trim()).expect("json");
    assert_eq!(hub_forks["count"], 1, "{hub_forks}");
    assert_eq!(
        hub_forks["fork_alarms"][0]["other_hash"],
        ours_b.hash.to_hex()
    );
    let post_forks: Value =
        serde_json::from_str(post_b.run(&["--json", "forks"]).stdout.trim()).expect("json");
    assert_eq!(
        post_forks["fork_alarms"][0]["other_hash"],
        ours_a.hash.to_hex()
    );

    // Another ledger's store is refused before anything is sent.
    let stranger = World::sqlite();
    setup_ledger(&stranger);
    let other = World::nats(&url);
    let refused = stranger.run(&["sync", "--to", &other.store]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("not the same ledger"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        hq.export().len(),
        hub.len() + 1,
        "nothing of the stranger's ledger reached the hub"
    );
}

/// A sync killed by a signal in the middle of its batches (the laptop's battery, Ctrl-C twice)
/// loses nothing and duplicates nothing: the same command again ends the work.
#[test]
fn a_sync_killed_by_a_signal_resumes_and_stores_every_record_exactly_once() {
    use std::io::BufRead;

    let (hq, keys, post, arrests) = post_with_arrests(80, 5000, 3);
    // The post's ledger starts with the authority chain (sent first, as duplicates): the
    // sync is killed once five of the arrests were answered.
    let authority = post.size() - arrests.len() as u64;
    let port = custody_testkit::free_port().expect("port");
    let serve = Serve::start(&hq, port);

    let mut child = common::custody_cmd(post.dir.path(), &post.store)
        .args([
            "sync",
            "--to",
            &serve.url,
            "--key",
            &keys.officer,
            "--batch",
            "1",
        ])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn sync");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = std::io::BufReader::new(stderr).lines();
    loop {
        let line = lines
            .next()
            .expect("sync ended early")
            .expect("stderr line");
        let sent: Option<u64> = line
            .strip_prefix("sent up to position ")
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok());
        if sent.is_some_and(|n| n >= authority + 5) {
            break;
        }
    }
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    assert!(status.code().is_none(), "killed by a signal: {status:?}");

    let partial = hq.export();
    let at_hub = arrests
        .iter()
        .filter(|r| count_hash(&partial, &r.hash) == 1)
        .count();
    assert!(at_hub >= 1, "some records reached the hub before the kill");
    assert!(
        at_hub < arrests.len(),
        "killed before the end ({at_hub} stored)"
    );

    let done = post.ok_json(&[
        "sync",
        "--to",
        &serve.url,
        "--key",
        &keys.officer,
        "--batch",
        "7",
    ]);
    serve.kill();
    assert_eq!(done["ok"], true, "{done}");
    let appended = done["appended"].as_u64().expect("appended");
    assert_eq!(
        appended as usize + at_hub,
        arrests.len(),
        "the second run appends exactly what the first did not: {done}"
    );
    let hub = hq.export();
    assert_each_once(&hub, &arrests);
    hq.ok(&["verify"]);
}

/// A copy of a world's SQLite ledger in a new world (same keys: the key files stay where the
/// original's are).
fn copy_of(w: &World) -> World {
    let copy = World::sqlite();
    for suffix in ["", "-wal", "-shm"] {
        let from = w.path(&format!("custody.db{suffix}"));
        if from.exists() {
            std::fs::copy(&from, copy.path(&format!("custody.db{suffix}"))).expect("copy");
        }
    }
    copy
}

/// The hub publishes checkpoints (`custody checkpoint --publish`, `GET /v1/checkpoint`), each
/// consistent with the one before; a post's sync pulls the latest; a hub that shows the post
/// another ledger of the same size under the same key (a split view) stops the sync before
/// anything is sent.
#[test]
fn posts_pull_the_hubs_checkpoint_and_a_split_view_stops_the_sync() {
    let hq = World::sqlite();
    let keys = setup_ledger(&hq);
    let post = replica_of(&hq);
    record_arrest(&post, &keys);
    let port = custody_testkit::free_port().expect("port");

    // Nothing published yet: 404, and the sync says so and carries on.
    let serve = Serve::start(&hq, port);
    let (status, _) = serve.get("/v1/checkpoint");
    assert_eq!(status, 404);
    let first = post.ok_json(&["sync", "--to", &serve.url, "--key", &keys.officer]);
    assert_eq!(first["hub_checkpoint"], Value::Null, "{first}");
    assert_eq!(first["appended"], 1, "{first}");
    serve.kill();

    // Published: served as the signed note, pulled by the post.
    let size = hq.size();
    hq.ok(&["checkpoint", "--ledger-key", &keys.ledger, "--publish"]);
    let serve = Serve::start(&hq, port);
    let (status, note) = serve.get("/v1/checkpoint");
    assert_eq!(status, 200);
    assert_eq!(
        note.lines().nth(1),
        Some(size.to_string().as_str()),
        "size line of {note}"
    );
    record_arrest(&post, &keys);
    let second = post.ok_json(&["sync", "--to", &serve.url, "--key", &keys.officer]);
    assert_eq!(second["hub_checkpoint"], size, "{second}");
    serve.kill();

    // The hub grows; the next checkpoint extends the published one.
    hq.ok(&["checkpoint", "--ledger-key", &keys.ledger, "--publish"]);

    // A second copy of the hub's ledger, grown differently to the same size, published under
    // the same key: one is shown to the post first, the other next.
    let other = copy_of(&hq);
    record_arrest(&hq, &keys);
    record_arrest(&other, &keys);
    assert_eq!(hq.size(), other.size());
    hq.ok(&["checkpoint", "--ledger-key", &keys.ledger, "--publish"]);
    other.ok(&["checkpoint", "--ledger-key", &keys.ledger, "--publish"]);
    let serve = Serve::start(&hq, port);
    post.ok(&["sync", "--to", &serve.url, "--key", &keys.officer]);
    serve.kill();
    record_arrest(&post, &keys);
    let before = other.size();
    let serve = Serve::start(&other, port);
    let split = post.run(&["sync", "--to", &serve.url, "--key", &keys.officer]);
    serve.kill();
    assert_eq!(split.code, 1, "{}\n{}", split.stdout, split.stderr);
    assert!(
        split.stderr.contains("CHECKPOINT CONFLICT"),
        "{}",
        split.stderr
    );
    assert_eq!(other.size(), before, "nothing was sent");
}

/// A link that drops at every kind of place: requests cut after a few hundred bytes to a few
/// kilobytes, and answers lost after the hub stored a batch (the hub did the work, the post
/// never heard). Sync after sync resumes, and in the end every record is at the hub exactly
/// once.
#[test]
fn a_link_dropping_at_many_places_in_both_directions_loses_and_duplicates_nothing() {
    let (hq, keys, post, arrests) = post_with_arrests(30, 7000, 5);
    let port = custody_testkit::free_port().expect("port");
    let serve = Serve::start(&hq, port);
    let upstream = serve.url.trim_start_matches("http://").to_string();

    let mut cut_runs = 0;
    for (cut, budget) in [
        (Cut::Requests, 150),
        (Cut::Answers, 100),
        (Cut::Requests, 2_500),
        (Cut::Answers, 3_000),
        (Cut::Requests, 6_000),
        (Cut::Answers, 9_000),
        (Cut::Answers, 20_000),
    ] {
        let run = sync(&post, &proxy(upstream.clone(), budget, cut), &keys, "3");
        if run.code != 0 {
            cut_runs += 1;
        }
    }
    assert!(cut_runs >= 5, "the link was cut in most runs ({cut_runs})");
    let partial = hq.export();
    let before = arrests
        .iter()
        .filter(|r| count_hash(&partial, &r.hash) == 1)
        .count();
    assert!(
        before > 0,
        "some records reached the hub through the bad link"
    );

    let done = post.ok_json(&["sync", "--to", &serve.url, "--key", &keys.officer]);
    serve.kill();
    assert_eq!(
        done["appended"].as_u64(),
        Some((arrests.len() - before) as u64),
        "the good run appends exactly what the bad link did not deliver: {done}"
    );
    let hub = hq.export();
    assert_each_once(&hub, &arrests);
    hq.ok(&["verify"]);
}

/// Batches in flight at once (`--lanes`) keep every chain in order: twelve chains of three
/// records each, interleaved in the post's ledger, reach the hub whole, each record once, and
/// the hub's ledger verifies.
#[test]
fn lanes_keep_each_chain_in_order() {
    let hq = World::sqlite();
    let keys = setup_ledger(&hq);
    let post = replica_of(&hq);
    let officer = read_key(&keys.officer);
    let evidence = |n: u64| {
        json!({
            "content_digest": format!("{:064x}", n + 1),
            "size_bytes": 1000 + n,
            "media_type": "image/jpeg",
            "label": format!("photograph {n}"),
            "provenance": "taken at the place of arrest",
        })
    };
    let mut heads: Vec<Record> = (0..12)
        .map(|n| signed_arrest(&officer, 9000 + n, 7))
        .collect();
    let mut records = heads.clone();
    // Then, round after round, one more record on every chain: chains interleave.
    for round in 0..2u64 {
        for (i, head) in heads.iter_mut().enumerate() {
            let next = signed_next(
                &officer,
                head,
                EventKind::EvidenceAdded,
                common::POLICE,
                evidence(round * 100 + i as u64),
            );
            records.push(next.clone());
            *head = next;
        }
    }
    submit(&post, "interleaved.jsonl", &records);
    let port = custody_testkit::free_port().expect("port");
    let serve = Serve::start(&hq, port);
    let run = post.ok_json(&[
        "sync",
        "--to",
        &serve.url,
        "--key",
        &keys.officer,
        "--batch",
        "2",
        "--lanes",
        "4",
    ]);
    serve.kill();
    assert_eq!(run["appended"], 36, "{run}");
    let hub = hq.export();
    assert_each_once(&hub, &records);
    for head in &heads {
        let chain: Vec<u64> = hub
            .iter()
            .filter(|r| r.header.chain == head.header.chain)
            .map(|r| r.header.seq)
            .collect();
        assert_eq!(chain, vec![0, 1, 2], "chain {} in order", head.header.chain);
    }
    hq.ok(&["verify"]);
}

#[test]
fn sync_waits_out_the_hubs_rate_limit_and_delivers_every_record_once() {
    // 12 records in batches of 2, one lane: six appends and the unsigned checkpoint read from
    // one address, against a hub letting through one request a second (bursts of 2).
    let (hq, keys, post, arrests) = post_with_arrests(12, 7000, 71);
    let before = hq.size();
    let port = custody_testkit::free_port().expect("port");
    let serve = Serve::start_with(&hq, port, &["--rate-limit", "1/s:2"]);
    let r = post.run(&[
        "sync",
        "--to",
        &serve.url,
        "--key",
        &keys.officer,
        "--batch",
        "2",
        "--lanes",
        "1",
    ]);
    assert_eq!(
        r.code, 0,
        "the sync waits and finishes:\n{}\n{}",
        r.stdout, r.stderr
    );
    let waits = r
        .stderr
        .lines()
        .filter(|l| l.contains("asks to wait") && l.contains("rate limit"))
        .count();
    assert!(waits >= 1, "each wait is said:\n{}", r.stderr);
    let (status, metrics) = serve.get("/metrics");
    assert_eq!(status, 200);
    let refused: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("custody_gateway_rate_limited_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(refused >= 1, "the hub did refuse requests:\n{metrics}");
    serve.kill();
    eprintln!("{waits} waits told; the hub refused {refused} requests with 429");
    let hub = hq.export();
    assert_eq!(hub.len() as u64, before + arrests.len() as u64);
    assert_each_once(&hub, &arrests);
    hq.ok(&["verify"]);
}
