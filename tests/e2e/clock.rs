//! A field post whose clock is hours off (issue 12, Faults), with the real binary under
//! libfaketime: the post records with its clock 5 h ahead or 5 h behind, then its ledger is
//! verified, checkpointed and audited with the right clock, and it syncs to a hub whose clock
//! is right.
//!
//! - **Ahead.** The post's records carry a `recorded_at` 5 h in the future. Its own ledger
//!   still verifies and audits with the right clock (a stored record is not refused for lying
//!   in the verifier's future), with a warning naming the records and the clock. The sync says
//!   the post's clock is 5 h ahead of the hub's; the hub refuses the records as `future`, and
//!   the sync names each record, its recorded_at, the hub's clock and the fix; nothing is
//!   stored at the hub and nothing is lost at the post: once the hub's clock has passed them
//!   (the hub run 5 h 10 min later), the same sync delivers each record exactly once.
//! - **Behind.** The post's records carry a `recorded_at` 5 h in the past: the hub takes them
//!   (the sync says the post's clock is 5 h behind); a key enrolled an hour ago is "not yet
//!   valid" at the post, and the refusal names the clock as the likely cause.
//!
//! Without libfaketime (`apt-get install faketime`; scripts/test.sh installs it) the tests say
//! so and pass.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use custody_core::{Record, Timestamp};
use custody_testkit::free_port;
use serde_json::Value;

/// The libfaketime library preloaded into the commands of a post whose clock is off.
const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// Whether libfaketime is here; says why the test is skipped when it is not.
fn faketime_present() -> bool {
    let present = Path::new(LIBFAKETIME).exists();
    if !present {
        eprintln!(
            "SKIPPED: {LIBFAKETIME} is missing (apt-get install faketime): a post's clock cannot be set off"
        );
    }
    present
}

/// `custody ARGS` in `w` with the clock moved by `offset` (libfaketime's `+5h`, `-5h`).
fn faked_cmd(w: &World, offset: &str) -> Command {
    let mut cmd = custody_cmd(w.dir.path(), &w.store);
    cmd.env("LD_PRELOAD", LIBFAKETIME)
        .env("FAKETIME", offset)
        // Timers and time-outs keep the real pace; only the wall clock is off.
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    cmd
}

/// Runs `custody ARGS` in `w` with the clock moved by `offset`.
fn faked(w: &World, offset: &str, args: &[&str]) -> Run {
    let out = faked_cmd(w, offset)
        .args(args)
        .output()
        .expect("run custody");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `custody serve` on `w` with its clock moved by `offset` (`None`: the right clock).
fn serve(w: &World, port: u16, offset: Option<&str>) -> Serve {
    let Some(offset) = offset else {
        return Serve::start(w, port);
    };
    let listen = format!("127.0.0.1:{port}");
    let log = std::fs::File::create(w.path("serve.log")).expect("serve log");
    let mut child = faked_cmd(w, offset)
        .args(["serve", "--listen", &listen])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn serve");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&listen).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(w.path("serve.log")).unwrap_or_default();
            panic!("custody serve exited at start ({status}):\n{log}");
        }
        assert!(Instant::now() < deadline, "custody serve did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Serve {
        child,
        url: format!("http://{listen}"),
    }
}

/// Records an arrest at the post with its clock moved by `offset`, signed by `key`; returns
/// what the command did.
fn record_at_post(post: &World, offset: &str, key: &str) -> Run {
    let body = post.write("arrest.json", &arrest_body().to_string());
    faked(
        post,
        offset,
        &[
            "--json",
            "record",
            "arrest",
            "--key",
            key,
            "--agency",
            POLICE,
            "--new-chain",
            "--body",
            &body,
        ],
    )
}

/// The hash a `custody --json record` answered.
fn recorded_hash(run: &Run) -> String {
    assert_eq!(
        run.code, 0,
        "record failed:\n{}\n{}",
        run.stdout, run.stderr
    );
    let last = run.stdout.lines().last().unwrap_or_default();
    let v: Value = serde_json::from_str(last).expect("record answer is JSON");
    v["hash"].as_str().expect("hash").to_string()
}

/// The stored record with this hash.
fn stored<'a>(records: &'a [Record], hash: &str) -> Vec<&'a Record> {
    records.iter().filter(|r| r.hash.to_hex() == hash).collect()
}

/// `custody sync` from `post` to `url`, its clock moved by `offset` (`None`: the right one).
fn sync(post: &World, offset: Option<&str>, url: &str, keys: &Keys) -> Run {
    let args = ["sync", "--to", url, "--key", &keys.officer, "--batch", "1"];
    match offset {
        Some(offset) => faked(post, offset, &args),
        None => post.run(&args),
    }
}

/// Seconds `t` is after the real clock now.
fn ahead_of_now(t: &Timestamp) -> i64 {
    t.unix_seconds() - now().unix_seconds()
}

#[test]
fn a_post_clock_5_h_ahead_keeps_its_records_verifiable_and_the_hub_takes_them_once_its_clock_passes(
) {
    if !faketime_present() {
        return;
    }
    let hq = World::sqlite();
    let keys = setup_ledger(&hq);
    let post = replica_of(&hq);
    let hashes: Vec<String> = (0..2)
        .map(|_| recorded_hash(&record_at_post(&post, "+5h", &keys.officer)))
        .collect();
    let at_post = post.export();
    for h in &hashes {
        let r = stored(&at_post, h);
        assert_eq!(r.len(), 1, "record {h} stored once at the post");
        let ahead = ahead_of_now(&r[0].header.recorded_at);
        assert!(
            (5 * 3600 - 120..=5 * 3600 + 120).contains(&ahead),
            "recorded 5 h ahead: {ahead} s"
        );
    }

    // (1) The post's own ledger, with the right clock: it verifies, and says what is odd.
    let v = post.run(&["--json", "verify"]);
    assert_eq!(
        v.code, 0,
        "the post's ledger verifies:\n{}\n{}",
        v.stdout, v.stderr
    );
    let report: Value =
        serde_json::from_str(v.stdout.lines().last().unwrap_or_default()).expect("verify JSON");
    assert_eq!(
        report["ahead_of_clock"]["count"].as_u64(),
        Some(2),
        "{report}"
    );
    assert!(
        v.stderr.contains(
            "WARNING: 2 records were recorded more than 300 s after this machine's clock"
        ) && v.stderr.contains(&hashes[0])
            && v.stderr.contains("5 h ")
            && v.stderr.contains("They still verify"),
        "{}",
        v.stderr
    );
    // A checkpoint of the post's ledger is signed over it, and the audit passes.
    let note = post.path("post.note").display().to_string();
    post.ok(&["checkpoint", "--ledger-key", &keys.ledger, "--out", &note]);
    let state = post.path("audit-state").display().to_string();
    let audit = post.run(&["audit", "--checkpoint", &note, "--state-dir", &state]);
    assert_eq!(
        audit.code, 0,
        "the audit passes:\n{}\n{}",
        audit.stdout, audit.stderr
    );
    assert!(
        audit.stderr.contains("WARNING: 2 records"),
        "{}",
        audit.stderr
    );

    // (2) The sync, the post's clock still ahead, to a hub whose clock is right.
    let hub_before = hq.size();
    let port = free_port().expect("port");
    let hub = serve(&hq, port, None);
    let s = sync(&post, Some("+5h"), &hub.url, &keys);
    assert_eq!(
        s.code, 1,
        "the hub refuses them:\n{}\n{}",
        s.stdout, s.stderr
    );
    assert!(
        s.stderr
            .contains("WARNING: this post's clock is 4 h 59 min ahead of the hub's")
            || s.stderr
                .contains("WARNING: this post's clock is 5 h 00 min ahead of the hub's"),
        "the sync measures the clock:\n{}",
        s.stderr
    );
    for h in &hashes {
        let line = s
            .stderr
            .lines()
            .find(|l| l.contains(h.as_str()) && l.contains("refused by the hub"))
            .unwrap_or_else(|| panic!("record {h} is named:\n{}", s.stderr));
        let recorded = &stored(&at_post, h)[0].header.recorded_at;
        assert!(
            line.contains("(future)")
                && line.contains(&format!("recorded_at {recorded}"))
                && line.contains("after the hub's clock (")
                && line.contains("Set the post's clock"),
            "{line}"
        );
    }
    assert_eq!(
        hq.size(),
        hub_before,
        "nothing of the post's is stored at the hub"
    );
    hub.kill();

    // The post's clock set right, 5 h 10 min later (the hub's clock past the records): the
    // same sync delivers them, each once (libfaketime: +18600 s).
    let hub = serve(&hq, port, Some("+18600"));
    let s = sync(&post, None, &hub.url, &keys);
    assert_eq!(
        s.code, 0,
        "the sync goes through:\n{}\n{}",
        s.stdout, s.stderr
    );
    assert!(
        s.stderr.contains("behind the hub's"),
        "the clocks are compared again:\n{}",
        s.stderr
    );
    hub.kill();
    let at_hub = hq.export();
    assert_eq!(at_hub.len() as u64, hub_before + 2);
    for h in &hashes {
        assert_eq!(stored(&at_hub, h).len(), 1, "record {h} once at the hub");
    }
    // The hub's ledger verifies with the right clock too, the two records reported.
    let v = hq.ok_json(&["verify"]);
    assert_eq!(v["ahead_of_clock"]["count"].as_u64(), Some(2), "{v}");
    // A sync again sends nothing twice.
    let hub = serve(&hq, port, Some("+18600"));
    let again = sync(&post, None, &hub.url, &keys);
    assert_eq!(again.code, 0, "{}", again.stderr);
    hub.kill();
    assert_eq!(hq.size(), hub_before + 2);
}

#[test]
fn a_post_clock_5_h_behind_syncs_its_records_and_is_told_its_clock_is_behind() {
    if !faketime_present() {
        return;
    }
    let hq = World::sqlite();
    let keys = setup_ledger(&hq);
    // A key enrolled at headquarters, valid from an hour ago (real time).
    let (new_key, new_public) = hq.keygen("new-officer.key");
    let valid_from = Timestamp::from_unix_seconds(now().unix_seconds() - 3600);
    hq.ok(&[
        "enroll",
        "key",
        "--root-key",
        &keys.root,
        "--key",
        &new_public,
        "--agency",
        POLICE,
        "--roles",
        "arresting_officer",
        "--holder-name",
        "Test Holder",
        "--badge",
        "PM-0002",
        "--valid-from",
        valid_from.as_str(),
    ]);
    let post = replica_of(&hq);

    let hash = recorded_hash(&record_at_post(&post, "-5h", &keys.officer));
    let recorded = stored(&post.export(), &hash)[0].header.recorded_at.clone();
    let behind = -ahead_of_now(&recorded);
    assert!(
        (5 * 3600 - 120..=5 * 3600 + 120).contains(&behind),
        "recorded 5 h behind: {behind} s"
    );
    // The new key is not valid yet by the post's clock: the refusal names the clock.
    let refused = record_at_post(&post, "-5h", &new_key);
    assert_eq!(refused.code, 1, "{}\n{}", refused.stdout, refused.stderr);
    assert!(
        refused.stderr.contains("key_not_yet_valid")
            && refused.stderr.contains("this machine's clock reads")
            && refused.stderr.contains("is behind")
            && refused.stderr.contains("set it"),
        "{}",
        refused.stderr
    );

    // Verified with the right clock: nothing to say.
    let v = post.run(&["verify"]);
    assert_eq!(v.code, 0, "{}\n{}", v.stdout, v.stderr);
    assert!(!v.stderr.contains("WARNING"), "{}", v.stderr);

    // The sync, the post's clock still behind: the hub takes the record, and the post is told.
    let hub_before = hq.size();
    let port = free_port().expect("port");
    let hub = serve(&hq, port, None);
    let s = sync(&post, Some("-5h"), &hub.url, &keys);
    hub.kill();
    assert_eq!(s.code, 0, "{}\n{}", s.stdout, s.stderr);
    assert!(
        s.stderr
            .contains("WARNING: this post's clock is 5 h 00 min behind the hub's")
            || s.stderr
                .contains("WARNING: this post's clock is 4 h 59 min behind the hub's"),
        "{}",
        s.stderr
    );
    let at_hub = hq.export();
    assert_eq!(at_hub.len() as u64, hub_before + 1);
    assert_eq!(stored(&at_hub, &hash).len(), 1);
    let v = hq.ok_json(&["verify"]);
    assert!(v["ahead_of_clock"].is_null(), "{v}");
}
