//! Backup and restore (docs/OPERATIONS.md, "Backup and restore"): a ledger exported, restored
//! into a new store made from the ledger's public files, verifies and passes an audit against
//! the checkpoint signed before the backup; a backup that lost its last record fails the
//! audit, and an edited record is refused, naming its line.

mod common;

use common::*;

/// The demo ledger, its checkpoint note and its export, with the public files a restore needs.
fn backed_up() -> (World, String, String, String, String) {
    let w = World::sqlite();
    w.ok(&["demo", "--detainees", "3"]);
    let note = w.path("checkpoint.note").display().to_string();
    w.ok(&[
        "checkpoint",
        "--ledger-key",
        "demo-keys/ledger.key",
        "--out",
        &note,
    ]);
    let backup = w.path("backup.jsonl").display().to_string();
    w.ok(&["export", "--out", &backup]);
    let trust = w.path("trust.json").display().to_string();
    w.ok(&["trust", "--out", &trust]);
    let vkey = w.write("ledger.vkey", &w.ok(&["ledger-key"]));
    (w, note, backup, trust, vkey)
}

/// A new, empty store for the same ledger (its trust anchors and checkpoint key).
fn fresh(trust: &str, vkey: &str) -> World {
    let r = World::sqlite();
    r.ok(&["init", "--trust", trust, "--ledger-vkey", vkey]);
    r
}

#[test]
fn a_restored_backup_verifies_and_passes_the_audit_against_the_last_checkpoint() {
    let (original, note, backup, trust, vkey) = backed_up();
    let restored = fresh(&trust, &vkey);
    restored.ok(&["submit", &backup]);
    assert_eq!(restored.size(), original.size());
    assert_eq!(
        restored.export(),
        original.export(),
        "same records, same order"
    );
    restored.ok(&["verify"]);
    let state = restored.path("audit-state").display().to_string();
    restored.ok(&["audit", "--checkpoint", &note, "--state-dir", &state]);
}

#[test]
fn a_backup_missing_its_last_record_fails_the_audit_and_an_edited_one_is_refused() {
    let (_original, note, backup, trust, vkey) = backed_up();
    let text = std::fs::read_to_string(&backup).expect("backup");
    let lines: Vec<&str> = text.lines().collect();

    // The last record lost (a backup taken too early, or cut): every link still holds, the
    // checkpoint does not.
    let short = fresh(&trust, &vkey);
    let cut = short.write("cut.jsonl", &(lines[..lines.len() - 1].join("\n") + "\n"));
    short.ok(&["submit", &cut]);
    short.ok(&["verify"]);
    let state = short.path("audit-state").display().to_string();
    let audit = short.run(&["audit", "--checkpoint", &note, "--state-dir", &state]);
    assert_ne!(audit.code, 0, "a truncated restore must fail the audit");
    let said = format!("{}{}", audit.stdout, audit.stderr);
    assert!(said.contains("checkpoint/truncated"), "{said}");

    // One record edited: refused at submit, naming the line; nothing after it is stored.
    let edited = fresh(&trust, &vkey);
    let mut changed: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let at = changed.len() / 2;
    // A change inside the signed header (the agency), not only whitespace.
    changed[at] = lines[at].replacen("\"agency\":\"", "\"agency\":\"x", 1);
    assert_ne!(changed[at], lines[at], "the edit changed nothing");
    let file = edited.write("edited.jsonl", &(changed.join("\n") + "\n"));
    let refused = edited.run(&["submit", &file]);
    assert_ne!(refused.code, 0, "an edited backup must be refused");
    let said = format!("{}{}", refused.stdout, refused.stderr);
    assert!(
        said.contains(&format!("line {}", at + 1)),
        "the refusal names the line {}: {said}",
        at + 1
    );
    assert!(
        edited
            .export()
            .iter()
            .all(|r| !r.header.agency.starts_with('x')),
        "the edited record is not stored"
    );
}
