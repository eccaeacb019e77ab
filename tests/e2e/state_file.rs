//! The ledger state file of the custody command (`LEDGER.state` beside a SQLite ledger): a
//! command that replays a large ledger saves it (mode 0600) and the next command starts from
//! it instead of replaying every record; a damaged file is set aside with a warning and the
//! ledger is replayed, the command's answer unchanged; `--no-state-file` neither reads nor
//! writes one. (A file of another ledger, or ahead of a store restored from an older backup:
//! crates/custody-ledger/tests/state_file.rs.)

mod common;

use common::*;

/// Runs `custody ARGS` with debug logs (the open logs how many records it replayed).
fn debug_run(w: &World, args: &[&str]) -> Run {
    let out = custody_cmd(w.dir.path(), &w.store)
        .env("CUSTODY_LOG", "debug")
        .args(args)
        .output()
        .expect("run custody");
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(r.code, 0, "custody {args:?} failed\n{}", r.stderr);
    r
}

/// How many records the ledger open replayed, from the debug log.
fn replayed(r: &Run) -> u64 {
    r.stderr
        .lines()
        .find_map(|l| l.split("ledger opened: replayed ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no replay count in the log:\n{}", r.stderr))
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("state file")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn a_command_starts_from_the_state_file_and_sets_aside_one_that_does_not_match() {
    let w = World::sqlite();
    w.ok(&["demo", "--detainees", "60"]);
    let size = w.size();
    assert!(size >= 1000, "the demo ledger holds {size} records");
    let empty = w.write("empty.jsonl", "");
    let submit = ["submit", empty.as_str()];
    let state = w.path("custody.db.state");
    let answer = w.ok_json(&["verify"]);

    // The first open replays every record and saves the state.
    assert!(!state.exists());
    assert_eq!(replayed(&debug_run(&w, &submit)), size);
    assert!(
        state.is_file(),
        "no state file after replaying {size} records"
    );
    #[cfg(unix)]
    assert_eq!(mode(&state), 0o600);
    // The next replays none, and the ledger answers the same.
    assert_eq!(replayed(&debug_run(&w, &submit)), 0);
    assert_eq!(w.ok_json(&["verify"])["root"], answer["root"]);

    // A damaged file: set aside, named in a warning, the ledger replayed, the file saved again.
    let mut bytes = std::fs::read(&state).expect("read the state file");
    let last = bytes.len() - 2;
    bytes[last] ^= 0x01;
    std::fs::write(&state, &bytes).expect("damage the state file");
    let r = w.run(&submit);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("set aside") && r.stderr.contains("altered or damaged"),
        "the warning says what became of the file: {}",
        r.stderr
    );
    assert_eq!(replayed(&debug_run(&w, &submit)), 0, "saved again");

    // --no-state-file: every record replayed, no file read or written.
    std::fs::remove_file(&state).expect("remove the state file");
    let r = debug_run(&w, &["--no-state-file", "submit", &empty]);
    assert_eq!(replayed(&r), size);
    assert!(!state.exists());
}
