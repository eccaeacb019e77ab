//! Faults, with real parts (issue 12): nats-server killed (SIGKILL) and restarted while a few
//! clients append through the gateway; the SQLite file and the JetStream store directory on a
//! full disk (a small tmpfs), through the gateway and `custody submit` (the gateway killed
//! mid-append is in crash.rs). After each: every acknowledged append is stored exactly once,
//! nothing is half-written (`custody verify`), and the user was told what happened (the
//! gateway's answer, the command's message).
//!
//! The full-disk tests mount a tmpfs, which needs root (CAP_SYS_ADMIN): without it they fail
//! saying so, unless `CUSTODY_SKIP_TMPFS=1` is set, which makes them print that they are
//! skipped and pass.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use custody_client::{ApiError, Client};
use custody_core::Record;
use custody_testkit::{free_port, NatsServer, ServerOptions, Tmpfs};

/// What the clients of a load saw: the records acknowledged, and every error answer.
#[derive(Default)]
struct Seen {
    acked: Vec<Record>,
    errors: Vec<String>,
    unavailable: Vec<(String, Option<Duration>)>,
}

/// Appends `records` through `client`, in order, each retried until it is acknowledged (or
/// `deadline`), and notes what happened in `seen`.
async fn append_all(
    client: Client,
    records: Vec<Record>,
    seen: Arc<Mutex<Seen>>,
    deadline: Instant,
) {
    for record in records {
        loop {
            match client.append(&record).await {
                Ok(a) => {
                    assert_eq!(a.hash, record.hash);
                    seen.lock().unwrap().acked.push(record.clone());
                    break;
                }
                Err(e) => {
                    {
                        let mut s = seen.lock().unwrap();
                        if let ApiError::Unavailable {
                            message,
                            retry_after,
                        } = &e
                        {
                            s.unavailable.push((message.clone(), *retry_after));
                        } else {
                            s.errors.push(e.to_string());
                        }
                    }
                    assert!(Instant::now() < deadline, "record never stored: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// Every record of `records` is stored exactly once in `w`, with nothing else added since
/// `before` records; the ledger verifies.
fn all_stored_once(w: &World, before: u64, records: &[Record]) {
    let stored = w.export();
    assert_eq!(stored.len() as u64, before + records.len() as u64);
    for r in records {
        assert_eq!(count_hash(&stored, &r.hash), 1, "record {} once", r.hash);
    }
    let distinct: HashSet<_> = stored.iter().map(|r| r.hash).collect();
    assert_eq!(distinct.len(), stored.len());
    let report = w.ok_json(&["verify"]);
    assert_eq!(report["records"].as_u64(), Some(stored.len() as u64));
}

#[test]
fn nats_server_killed_under_gateway_load_answers_503_then_resumes() {
    const TASKS: u64 = 4;
    const PER_TASK: u64 = 50;
    let mut server = NatsServer::start().expect("nats-server");
    let w = World::nats(&server.url());
    let keys = setup_ledger(&w);
    let officer = read_key(&keys.officer);
    let before = w.size();
    let port = free_port().expect("port");
    let serve = Serve::start(&w, port);
    let client = Client::new(&serve.url);

    let records: Vec<Vec<Record>> = (0..TASKS)
        .map(|t| {
            (0..PER_TASK)
                .map(|n| signed_arrest(&officer, t * 1000 + n, 3))
                .collect()
        })
        .collect();
    let all: Vec<Record> = records.iter().flatten().cloned().collect();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let deadline = Instant::now() + Duration::from_secs(90);
    let tasks: Vec<_> = records
        .into_iter()
        .map(|r| rt.spawn(append_all(client.clone(), r, seen.clone(), deadline)))
        .collect();

    // Kill the server once a few appends are acknowledged, while the others are in flight.
    let wait = |what: &str, done: &dyn Fn(&Seen) -> bool| {
        while !done(&seen.lock().unwrap()) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait("the first appends", &|s| s.acked.len() >= 30);
    server.kill();
    let acked_at_kill = seen.lock().unwrap().acked.len();
    // Every client hears of the outage: the gateway answers 503, not a hang.
    wait("503 answers", &|s| {
        s.unavailable.len() >= 2 * TASKS as usize
    });
    let acked_in_outage = seen.lock().unwrap().acked.len() - acked_at_kill;
    std::thread::sleep(Duration::from_millis(500));
    server.restart().expect("restart");
    for t in tasks {
        rt.block_on(t).expect("client task");
    }
    let seen = seen.lock().unwrap();
    eprintln!(
        "{} acknowledged before the kill, {acked_in_outage} during the outage (in flight at \
         the kill), {} answers 503, other errors: {:?}",
        acked_at_kill,
        seen.unavailable.len(),
        seen.errors
    );
    assert!(acked_at_kill < all.len(), "the kill came before the end");
    let (message, retry_after) = &seen.unavailable[0];
    assert!(
        message.contains("unavailable") && message.contains("retry"),
        "the 503 says what is wrong: {message}"
    );
    assert!(retry_after.is_some(), "the 503 carries Retry-After");
    assert!(
        seen.errors.is_empty(),
        "the outage is answered 503 only: {:?}",
        seen.errors
    );
    assert_eq!(seen.acked.len(), all.len());
    drop(serve);
    all_stored_once(&w, before, &all);
}

#[test]
fn sqlite_on_a_full_disk_refuses_clearly_then_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let disk = dir.path().join("disk");
    let Some(tmpfs) = Tmpfs::mount(&disk, "32m") else {
        return;
    };
    // The ledger file on the small disk; key files and logs beside it, on the big one. 32 MB:
    // once the filler is removed, the WAL (checkpointed at 1,000 pages, 4 MB) must fit.
    let w = World {
        store: disk.join("custody.db").display().to_string(),
        dir,
    };
    let keys = setup_ledger(&w);
    let officer = read_key(&keys.officer);
    let before = w.size();
    let port = free_port().expect("port");
    let serve = Serve::start(&w, port);
    let client = Client::new(&serve.url);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let first = signed_arrest(&officer, 1, 5);
    rt.block_on(client.append(&first))
        .expect("append with room");

    const N: u64 = 400;
    let records: Vec<Record> = (2..N + 2).map(|n| signed_arrest(&officer, n, 5)).collect();
    let file = w.path("records.jsonl");
    write_jsonl(&file, &records);
    let file = file.display().to_string();
    let filler = tmpfs.fill("filler");

    // The command: an environment error saying the disk is full, after the lines it stored.
    let run = w.run(&["--json", "submit", &file]);
    let acked = acknowledged(&run.stdout);
    eprintln!(
        "submit on the full disk: exit {}, {} lines stored first; {}",
        run.code,
        acked.len(),
        run.stderr.trim()
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("disk holding the ledger database is full")
            && run.stderr.contains("free space")
            && run.stderr.contains("run the same command again"),
        "{}",
        run.stderr
    );
    assert!((acked.len() as u64) < N);

    // The gateway: 503, saying the disk is full; the record is not stored.
    let refused = &records[N as usize - 1];
    match rt.block_on(client.append(refused)) {
        Err(ApiError::Unavailable {
            message,
            retry_after,
        }) => {
            assert!(message.contains("disk"), "{message}");
            assert!(message.contains("full"), "{message}");
            assert!(retry_after.is_some());
        }
        other => panic!("an append on a full disk is answered 503: {other:?}"),
    }

    // Nothing half-written: the store opens, holds exactly what was acknowledged, verifies.
    let stored = w.export();
    assert_eq!(stored.len() as u64, before + 1 + acked.len() as u64);
    for hash in &acked {
        assert_eq!(
            stored.iter().filter(|r| &r.hash.to_hex() == hash).count(),
            1
        );
    }
    assert_eq!(count_hash(&stored, &refused.hash), 0);
    w.ok(&["verify"]);

    // Space freed: the same command and the same request succeed, nothing twice.
    std::fs::remove_file(&filler).expect("free space");
    let again = rt
        .block_on(client.append(refused))
        .expect("append after space was freed");
    assert!(!again.duplicate);
    let done = w.ok_json(&["submit", &file]);
    assert_eq!(
        done["already_stored"].as_u64(),
        Some(acked.len() as u64 + 1)
    );
    drop(serve);
    let mut all = vec![first];
    all.extend(records);
    all_stored_once(&w, before, &all);
}

#[test]
fn jetstream_store_on_a_full_disk_is_reported_then_recovers_after_restart() {
    let parent = tempfile::tempdir().expect("tempdir");
    let disk = parent.path().join("jetstream");
    let Some(tmpfs) = Tmpfs::mount(&disk, "32m") else {
        return;
    };
    // The store directory on the small disk, with a JetStream storage limit above the disk's
    // size, so that the disk fills before the limit is reached: the last `jetstream` block of a
    // configuration is the one nats-server uses.
    let options = ServerOptions {
        extra_config: format!(
            "jetstream {{\n  store_dir: \"{}\"\n  sync_interval: always\n  max_file_store: 1G\n}}\n",
            disk.display()
        ),
        ..ServerOptions::default()
    };
    let mut server = NatsServer::start_with(options).expect("nats-server");
    let w = World::nats(&server.url());
    let keys = setup_ledger(&w);
    let officer = read_key(&keys.officer);
    let before = w.size();
    let port = free_port().expect("port");
    let serve = Serve::start(&w, port);
    let client = Client::new(&serve.url);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let records: Vec<Record> = (0..400).map(|n| signed_arrest(&officer, n, 6)).collect();
    rt.block_on(client.append(&records[0]))
        .expect("append with room");
    let filler = tmpfs.fill("filler");

    // Append until the full disk stops the server's writes: the gateway answers 503.
    let mut acked = vec![records[0].clone()];
    let mut refusal = None;
    for r in &records[1..] {
        match rt.block_on(client.append(r)) {
            Ok(_) => acked.push(r.clone()),
            Err(e) => {
                refusal = Some(e);
                break;
            }
        }
    }
    let log = std::fs::read_to_string(server.log_file()).unwrap_or_default();
    let said: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("[ERR]") || l.contains("[WRN]"))
        .collect();
    eprintln!(
        "{} appends acknowledged on the full disk, then {refusal:?}; the server said:\n{}",
        acked.len() - 1,
        said.join("\n")
    );
    match refusal {
        Some(ApiError::Unavailable {
            message,
            retry_after,
        }) => {
            assert!(message.contains("unavailable"), "{message}");
            assert!(retry_after.is_some());
        }
        other => panic!("the full disk is answered 503, got {other:?}"),
    }

    // Space freed, server restarted: what was acknowledged is there, the ledger verifies, and
    // the clients' retries of the rest are stored once.
    std::fs::remove_file(&filler).expect("free space");
    drop(serve);
    server.restart().expect("restart");
    let serve = Serve::start(&w, port);
    let client = Client::new(&serve.url);
    let stored = w.export();
    for r in &acked {
        assert_eq!(count_hash(&stored, &r.hash), 1, "acknowledged {}", r.hash);
    }
    for r in &records {
        rt.block_on(client.append(r)).expect("append after restart");
    }
    drop(serve);
    all_stored_once(&w, before, &records);
}
