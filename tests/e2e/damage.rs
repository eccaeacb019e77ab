//! The files of a ledger, private and checked: every file the command writes is created with
//! mode 0600 under the usual umask (022); a SQLite file edited behind the store's back (the
//! triggers dropped, an index column changed) is reported by `custody verify` and
//! `custody export` instead of being served; a failing export piped into `custody verify -`
//! fails, and so does a verify of nothing.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use custody_testkit::free_port;

/// Runs `bash -c SCRIPT ARGS...` with `$CUSTODY` the binary under test, in the world's directory
/// and on its store, with the environment of [`custody_cmd`].
fn shell_cmd(w: &World, script: &str, args: &[&str]) -> Command {
    let base = custody_cmd(w.dir.path(), &w.store);
    let mut cmd = Command::new("bash");
    cmd.arg("-c").arg(script).arg("custody").args(args);
    for (key, value) in base.get_envs() {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    cmd.env("CUSTODY", BIN)
        .current_dir(w.dir.path())
        .stdin(Stdio::null());
    cmd
}

fn shell(w: &World, script: &str, args: &[&str]) -> Run {
    let out = shell_cmd(w, script, args).output().expect("run bash");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `custody ARGS` under umask 022.
const UMASK_022: &str = "umask 022 && exec \"$CUSTODY\" \"$@\"";

fn mode(w: &World, name: &str) -> u32 {
    let path = w.path(name);
    std::fs::metadata(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Edits the ledger file directly, as an insider with the file can: drops the append-only
/// triggers, then runs `statement`.
fn tamper(w: &World, statement: &str) {
    let raw = rusqlite::Connection::open(&w.store).expect("open the ledger file directly");
    raw.execute_batch(
        "PRAGMA foreign_keys = OFF;
         DROP TRIGGER IF EXISTS events_no_update;
         DROP TRIGGER IF EXISTS events_no_delete;
         DROP TRIGGER IF EXISTS events_dense;",
    )
    .expect("drop the triggers");
    raw.execute(statement, []).expect(statement);
}

#[test]
fn files_the_command_writes_are_private_under_umask_022() {
    let w = World::sqlite();
    // The umask is in effect: a file the shell creates is readable by all.
    assert_eq!(shell(&w, "umask 022 && : > control", &[]).code, 0);
    assert_eq!(mode(&w, "control"), 0o644);

    let private = |args: &[&str]| {
        let r = shell(&w, UMASK_022, args);
        assert_eq!(
            r.code, 0,
            "custody {args:?} failed\nstdout:\n{}\nstderr:\n{}",
            r.stdout, r.stderr
        );
    };
    private(&["keygen", "--out", "root.key"]);
    private(&["keygen", "--out", "ledger.key"]);
    private(&[
        "init",
        "--name",
        "test.ml/custody",
        "--root-key",
        "root.key",
        "--root-agency",
        ROOT_AGENCY,
        "--ledger-key",
        "ledger.key",
    ]);
    private(&["export", "--out", "export.jsonl"]);
    private(&["export", "--headers-only", "--out", "public.jsonl"]);
    private(&["trust", "--out", "trust.json"]);
    private(&[
        "checkpoint",
        "--ledger-key",
        "ledger.key",
        "--out",
        "checkpoint.note",
    ]);
    private(&["--store", "demo.db", "demo", "--detainees", "2"]);
    for name in [
        "root.key",
        "ledger.key",
        "custody.db",
        "export.jsonl",
        "public.jsonl",
        "trust.json",
        "checkpoint.note",
        "demo.db",
    ] {
        assert_eq!(mode(&w, name), 0o600, "{name}");
    }

    // While a server has the database open, its write-ahead log and shared memory exist.
    let port = free_port().expect("port");
    let listen = format!("127.0.0.1:{port}");
    let mut serve: Child = shell_cmd(&w, UMASK_022, &["serve", "--listen", &listen])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn custody serve");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&listen).is_err() {
        assert!(
            serve.try_wait().expect("serve status").is_none(),
            "custody serve exited at start"
        );
        assert!(Instant::now() < deadline, "custody serve did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let companions = ["custody.db-wal", "custody.db-shm"].map(|name| (name, mode(&w, name)));
    let _ = serve.kill();
    let _ = serve.wait();
    for (name, mode) in companions {
        assert_eq!(mode, 0o600, "{name}");
    }
}

#[test]
fn a_changed_index_column_is_reported_by_verify_and_export() {
    let w = World::sqlite();
    let keys = setup_ledger(&w);
    let arrest = record_arrest(&w, &keys);
    assert_eq!(arrest["position"], 6, "{arrest}");
    let chain = arrest["chain"].as_str().expect("chain").to_string();
    record_arrest(&w, &keys);
    let before = w.ok_json(&["verify"]);

    // The arrest claims to be seq 99 of its chain: before, this verified OK.
    tamper(&w, "UPDATE events SET seq = 99 WHERE position = 6");
    let r = w.fails(1, &["verify"]);
    for needle in [
        "FAILED (store_corrupt)",
        "event at position 6",
        "seq 99",
        "header says seq 0",
    ] {
        assert!(r.stderr.contains(needle), "{needle:?} not in: {}", r.stderr);
    }
    assert!(!r.stdout.contains("OK"), "{}", r.stdout);
    let r = w.fails(1, &["--json", "verify"]);
    let report: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("json report");
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["failure"]["rule"], "store_corrupt", "{report}");
    assert_eq!(report["proved"], serde_json::json!([]), "{report}");
    let r = w.fails(2, &["export"]);
    assert!(r.stderr.contains("event at position 6"), "{}", r.stderr);
    let r = w.fails(2, &["export", "--chain", &chain]);
    assert!(r.stderr.contains("event at position 6"), "{}", r.stderr);
    // The operator's signature never covers a ledger that does not verify.
    let cp = w.path("damaged.note");
    let r = w.fails(
        2,
        &[
            "checkpoint",
            "--ledger-key",
            &keys.ledger,
            "--out",
            &cp.display().to_string(),
        ],
    );
    for needle in [
        "does not verify, so no checkpoint was signed",
        "store_corrupt",
        "position 6",
    ] {
        assert!(r.stderr.contains(needle), "{needle:?} not in: {}", r.stderr);
    }
    assert!(!cp.exists(), "no checkpoint file was written");

    // Put back, the same ledger verifies again, to the same root, and is checkpointed.
    tamper(&w, "UPDATE events SET seq = 0 WHERE position = 6");
    assert_eq!(w.ok_json(&["verify"])["root"], before["root"]);
    let signed = w.ok_json(&["checkpoint", "--ledger-key", &keys.ledger]);
    assert_eq!(signed["size"], before["records"], "{signed} {before}");

    // The arrest moved to another chain's index.
    tamper(
        &w,
        "UPDATE events SET chain = 'd-01j00000000000000000000000' WHERE position = 6",
    );
    let r = w.fails(1, &["verify"]);
    assert!(
        r.stderr
            .contains("event at position 6 is indexed under chain"),
        "{}",
        r.stderr
    );
    let r = w.fails(2, &["export"]);
    assert!(r.stderr.contains("position 6"), "{}", r.stderr);
    let r = w.fails(2, &["export", "--chain", "d-01j00000000000000000000000"]);
    assert!(r.stderr.contains("position 6"), "{}", r.stderr);
}

/// What verify says it proved: without a checkpoint, what only a checkpoint held elsewhere can
/// prove is listed as not proved; with one covering every record, that nothing up to its size
/// was dropped or reordered.
#[test]
fn verify_says_what_was_and_was_not_proved() {
    let w = World::sqlite();
    let keys = setup_ledger(&w);
    record_arrest(&w, &keys);
    let human = w.ok(&["verify"]);
    for needle in [
        "proved:      every record's hash, signature, chain link and signer authority verified",
        "NOT proved:  that no record was dropped from the end of the ledger",
        "NOT proved:  that no whole chain was dropped",
        "NOT proved:  that records of two chains were not swapped",
        "checkpoint held by someone else",
    ] {
        assert!(human.contains(needle), "{needle:?} not in:\n{human}");
    }
    let report = w.ok_json(&["verify"]);
    let not_proved = report["not_proved"].to_string();
    assert!(not_proved.contains("dropped from the end"), "{report}");
    assert!(not_proved.contains("whole chain"), "{report}");
    assert!(
        not_proved.contains("two chains were not swapped"),
        "{report}"
    );

    let cp = w.path("cp.note").display().to_string();
    w.ok(&["checkpoint", "--ledger-key", &keys.ledger, "--out", &cp]);
    let vkey = w.write("ledger.vkey", &w.ok(&["ledger-key"]));
    let args = ["verify", "--checkpoint", &cp, "--ledger-vkey", &vkey];
    let human = w.ok(&args);
    assert!(
        human.contains("nothing up to size 7 was dropped or reordered"),
        "{human}"
    );
    assert!(!human.contains("whole chain"), "{human}");
    let report = w.ok_json(&args);
    assert!(
        report["proved"]
            .to_string()
            .contains("nothing up to size 7 was dropped or reordered"),
        "{report}"
    );
    assert!(
        !report["not_proved"].to_string().contains("whole chain"),
        "{report}"
    );

    // A checkpoint older than the ledger proves only its prefix.
    record_arrest(&w, &keys);
    let report = w.ok_json(&args);
    assert!(
        report["not_proved"]
            .to_string()
            .contains("that no whole chain was dropped, after the first 7 records"),
        "{report}"
    );
}

/// `custody export | custody verify -` must not say OK when the export fails.
#[test]
fn a_failing_export_piped_into_verify_fails() {
    let w = World::sqlite();
    setup_ledger(&w);
    let trust = w.path("trust.json").display().to_string();
    w.ok(&["trust", "--out", &trust]);
    // The README's pipeline, as written there.
    let pipeline = "set -o pipefail\n\"$CUSTODY\" export | \"$CUSTODY\" verify -";
    let r = shell(&w, pipeline, &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("OK"), "{}", r.stdout);

    // The first record is made unreadable: the export fails before it writes anything.
    tamper(
        &w,
        "UPDATE events SET record = 'not a record' WHERE position = 0",
    );
    let r = shell(&w, pipeline, &[]);
    assert_ne!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("cannot export"), "{}", r.stderr);
    assert!(!r.stdout.contains("OK"), "{}", r.stdout);
    // Without pipefail too: verify alone fails on the empty input it received.
    let r = shell(&w, "\"$CUSTODY\" export | \"$CUSTODY\" verify -", &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("holds no record"), "{}", r.stderr);
    assert!(!r.stdout.contains("OK"), "{}", r.stdout);

    // Verifying nothing is not a success: an empty file, empty standard input.
    let empty = w.write("empty.jsonl", "");
    let r = w.fails(1, &["verify", &empty, "--trust", &trust]);
    assert!(
        r.stderr.contains("FAILED (empty)") && r.stderr.contains("holds no record"),
        "{}",
        r.stderr
    );
    let r = w.fails(1, &["--json", "verify", &empty, "--trust", &trust]);
    let report: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("json report");
    assert_eq!(
        (&report["ok"], &report["failure"]["rule"]),
        (&serde_json::json!(false), &serde_json::json!("empty")),
        "{report}"
    );
    let r = shell(
        &w,
        "exec \"$CUSTODY\" verify - --trust \"$1\" < /dev/null",
        &[&trust],
    );
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("holds no record"), "{}", r.stderr);
}
