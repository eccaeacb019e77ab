//! Files a monitor or a court receives: a tampered export is refused naming the line and the
//! rule; a submission stops at the first bad record and stores nothing from it on;
//! checkpoints and proofs made by one command verify with another.

mod common;

use common::*;
use custody_core::checkpoint::{verify_checkpoint, NoteVerifier};
use custody_core::kinds::EventKind;
use custody_core::merkle::{ConsistencyProofJson, InclusionProofJson};
use custody_core::{Record, SecretKey};
use serde_json::json;

/// A ledger with the test agencies and `n` arrests recorded with `custody record`.
fn ledger_with_arrests(n: usize) -> (World, Keys) {
    let w = World::sqlite();
    let keys = setup_ledger(&w);
    for _ in 0..n {
        record_arrest(&w, &keys);
    }
    (w, keys)
}

/// Verifies a tampered copy of `export` and returns the failure report.
fn verify_tampered(w: &World, name: &str, text: &str) -> serde_json::Value {
    let file = w.write(name, text);
    let r = w.fails(1, &["verify", &file]);
    assert!(
        r.stderr.contains("FAILED at line"),
        "human report names the line: {}",
        r.stderr
    );
    let r = w.fails(1, &["--json", "verify", &file]);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("json report");
    assert_eq!(v["ok"], false);
    v["failure"].clone()
}

#[test]
fn tampering_one_byte_of_an_export_is_refused_naming_line_and_rule() {
    let (w, _keys) = ledger_with_arrests(2);
    let export = w.ok(&["export"]);
    let lines: Vec<&str> = export.lines().collect();
    assert_eq!(lines.len(), 8);
    let file = w.write("good.jsonl", &export);
    w.ok(&["verify", &file]);

    // Change one byte in line 7 (the first arrest), in three places.
    let tamper = |from: &str, to: &str| -> String {
        let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        assert!(out[6].contains(from), "{from} not in line 7");
        out[6] = out[6].replacen(from, to, 1);
        assert_eq!(out[6].len(), lines[6].len(), "one byte changed");
        out.join("\n") + "\n"
    };
    // In the payload: the body no longer matches the signed digest.
    let f = verify_tampered(
        &w,
        "payload.jsonl",
        &tamper("without papers", "without papars"),
    );
    assert_eq!(
        (f["line"].as_u64(), f["rule"].as_str()),
        (Some(7), Some("payload_digest")),
        "{f}"
    );
    assert_eq!(f["position"], 6);
    let hash = Record::from_json(lines[6].as_bytes())
        .expect("parses")
        .hash
        .to_hex();
    assert_eq!(f["hash"], hash.as_str());

    // In the header: the hash no longer matches.
    let f = verify_tampered(
        &w,
        "header.jsonl",
        &tamper(
            "\"agency\":\"ml-police-mopti\"",
            "\"agency\":\"ml-police-mopto\"",
        ),
    );
    assert_eq!(
        (f["line"].as_u64(), f["rule"].as_str()),
        (Some(7), Some("hash")),
        "{f}"
    );

    // In the hash itself (keeping it valid hex): the claimed hash is not the header's.
    let last = &hash[63..];
    let other = if last == "0" { "1" } else { "0" };
    let f = verify_tampered(
        &w,
        "hash.jsonl",
        &tamper(
            &format!("{}\"", &hash),
            &format!("{}{other}\"", &hash[..63]),
        ),
    );
    assert_eq!(
        (f["line"].as_u64(), f["rule"].as_str()),
        (Some(7), Some("hash")),
        "{f}"
    );

    // Dropping a line breaks the chain of the next record of the authority chain.
    let mut dropped: Vec<&str> = lines.clone();
    dropped.remove(1);
    let f = verify_tampered(&w, "dropped.jsonl", &(dropped.join("\n") + "\n"));
    assert_eq!(
        (f["line"].as_u64(), f["rule"].as_str()),
        (Some(2), Some("seq")),
        "{f}"
    );
}

#[test]
fn submit_stops_at_the_first_bad_record_and_stores_nothing_from_it_on() {
    let w = World::sqlite();
    let keys = setup_ledger(&w);
    let officer = read_key(&keys.officer);
    let stranger = SecretKey::from_seed([42; 32]);
    let before = w.size();

    let a = signed_arrest(&officer, 1, 1);
    let b = signed_arrest(&officer, 2, 2);
    let bad = signed_arrest(&stranger, 3, 3); // not an enrolled key
    let c = signed_arrest(&officer, 4, 4);
    let d = signed_next(
        &officer,
        &a,
        EventKind::FamilyNotified,
        POLICE,
        json!({"who": "brother", "means": "phone", "subject": "detention", "reached": true}),
    );
    let file = w.path("batch.jsonl");
    write_jsonl(&file, &[a.clone(), b.clone(), bad.clone(), c.clone(), d]);
    let file = file.display().to_string();

    let r = w.fails(1, &["submit", &file]);
    assert!(
        r.stderr.contains("batch.jsonl:3"),
        "names the line: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("refused (unknown_key)"),
        "names the rule: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("is not an enrolled key"),
        "gives the message: {}",
        r.stderr
    );
    assert!(r.stdout.contains("line 1: appended"), "{}", r.stdout);
    assert!(r.stdout.contains("line 2: appended"), "{}", r.stdout);

    let stored = w.export();
    assert_eq!(stored.len() as u64, before + 2);
    assert_eq!(count_hash(&stored, &a.hash), 1);
    assert_eq!(count_hash(&stored, &b.hash), 1);
    assert_eq!(count_hash(&stored, &bad.hash), 0);
    assert_eq!(
        count_hash(&stored, &c.hash),
        0,
        "nothing after the refused line"
    );
    w.ok(&["verify"]);

    // A malformed line is refused as such.
    let junk = w.write(
        "junk.jsonl",
        &format!("{}\n{{\"header\": 1}}\n", a.to_json_line()),
    );
    let r = w.fails(1, &["--json", "submit", &junk]);
    let last: serde_json::Value =
        serde_json::from_str(r.stdout.lines().last().unwrap_or_default()).expect("json");
    assert_eq!(
        (last["line"].as_u64(), last["rule"].as_str()),
        (Some(2), Some("format")),
        "{last}"
    );
    assert_eq!(
        w.size(),
        before + 2,
        "the retried line 1 is recognised, not stored twice"
    );
}

#[test]
fn checkpoint_prove_and_verify_round_trip() {
    let (w, keys) = ledger_with_arrests(3);
    let vkey_text = w.ok(&["ledger-key"]);
    let vkey = w.write("ledger.vkey", &vkey_text);
    let verifier = NoteVerifier::parse(vkey_text.trim()).expect("verifier key");

    let old = w.path("old.cp").display().to_string();
    w.ok(&["checkpoint", "--ledger-key", &keys.ledger, "--out", &old]);
    let old_cp =
        verify_checkpoint(&std::fs::read_to_string(&old).expect("cp"), &verifier).expect("signed");
    assert_eq!(old_cp.size, 9);
    w.ok(&["verify", "--checkpoint", &old, "--ledger-vkey", &vkey]);

    // The ledger grows; the old checkpoint stays consistent with it.
    let added = record_arrest(&w, &keys);
    let new_note = w.ok(&["checkpoint", "--ledger-key", &keys.ledger]);
    let new = w.write("new.cp", &new_note);
    let new_cp = verify_checkpoint(&new_note, &verifier).expect("signed");
    assert_eq!(new_cp.size, 10);
    let v = w.ok_json(&["verify", "--checkpoint", &old, "--ledger-vkey", &vkey]);
    assert_eq!(v["checkpoint"]["ok"], true, "{v}");
    let export = w.write("all.jsonl", &w.ok(&["export"]));
    w.ok(&[
        "verify",
        &export,
        "--checkpoint",
        &new,
        "--ledger-vkey",
        &vkey,
    ]);

    // Inclusion of the new event in the new checkpoint's tree, and in an older tree size.
    let hash = added["hash"].as_str().expect("hash");
    let proof: InclusionProofJson =
        serde_json::from_str(&w.ok(&["prove", "--event", hash])).expect("inclusion proof");
    assert_eq!((proof.index, proof.tree_size), (9, 10));
    proof
        .verify(&new_cp.root)
        .expect("inclusion verifies against the checkpoint");
    let first = w.export()[6].hash.to_hex();
    let proof: InclusionProofJson =
        serde_json::from_str(&w.ok(&["prove", "--event", &first, "--tree-size", "9"]))
            .expect("inclusion proof");
    proof
        .verify(&old_cp.root)
        .expect("inclusion in the old tree");

    // Consistency between the two checkpoints.
    let proof: ConsistencyProofJson =
        serde_json::from_str(&w.ok(&["prove", "--from", "9"])).expect("consistency proof");
    assert_eq!((proof.old_size, proof.new_size), (9, 10));
    proof
        .verify(&old_cp.root, &new_cp.root)
        .expect("the ledger only grew");

    // The proofs came from the tree file beside the ledger; another tree file, built from
    // scratch by this call, gives the same proofs.
    assert!(w.path("custody.db.tree.sqlite").is_file());
    let elsewhere = w.path("elsewhere.tree.sqlite").display().to_string();
    assert_eq!(
        w.ok(&["prove", "--from", "9", "--tree", &elsewhere]),
        w.ok(&["prove", "--from", "9"])
    );
    assert_eq!(
        w.ok(&[
            "prove",
            "--event",
            &first,
            "--tree-size",
            "9",
            "--tree",
            &elsewhere
        ]),
        w.ok(&["prove", "--event", &first, "--tree-size", "9"])
    );

    // A checkpoint whose root was changed does not verify; nor does one from another key.
    let forged = new_note.replacen(&new_note.lines().nth(2).expect("root line")[..4], "AAAA", 1);
    let forged = w.write("forged.cp", &forged);
    let r = w.fails(
        1,
        &["verify", "--checkpoint", &forged, "--ledger-vkey", &vkey],
    );
    assert!(r.stderr.contains("does not verify"), "{}", r.stderr);
    let r = w.fails(
        1,
        &[
            "verify",
            "--checkpoint",
            &new,
            "--ledger-vkey",
            &vkey,
            &w.write(
                "short.jsonl",
                &w.ok(&["export"])
                    .lines()
                    .take(9)
                    .map(|l| format!("{l}\n"))
                    .collect::<String>(),
            ),
        ],
    );
    assert!(r.stderr.contains("checkpoint"), "{}", r.stderr);
    let r = w.fails(2, &["checkpoint", "--ledger-key", &keys.root]);
    assert!(
        r.stderr.contains("is not the checkpoint key"),
        "{}",
        r.stderr
    );
}

/// `custody verify FILE` reads a file twice (the first pass finds the targets of corrections
/// and redactions, so memory does not grow with every record): the published vectors, which
/// hold both, verify; and a correction of an event that is not in its chain is still refused.
#[test]
fn verify_file_with_corrections_and_redactions_uses_the_vectors() {
    let w = World::sqlite();
    let vectors = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/v1");
    let records = vectors.join("records.jsonl");
    let trust = vectors.join("trust.json");
    let trust = trust.to_str().expect("utf-8 path");
    let report = w.ok_json(&[
        "verify",
        records.to_str().expect("utf-8 path"),
        "--trust",
        trust,
    ]);
    assert_eq!(report["ok"], true, "{report}");

    let case: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(vectors.join("invalid/state-unknown-event.json")).expect("vector"),
    )
    .expect("json");
    let prefix = case["prefix"].as_u64().expect("prefix") as usize;
    let mut text: String = std::fs::read_to_string(&records)
        .expect("records")
        .lines()
        .take(prefix)
        .map(|l| format!("{l}\n"))
        .collect();
    text.push_str(case["line"].as_str().expect("line"));
    text.push('\n');
    let file = w.write("unknown-target.jsonl", &text);
    let r = w.fails(1, &["--json", "verify", &file, "--trust", trust]);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("json report");
    assert_eq!(v["failure"]["rule"], "state/unknown_event", "{v}");
    assert_eq!(v["failure"]["line"], prefix as u64 + 1, "{v}");

    // The same through standard input (spooled, then read twice).
    let piped = |input: &str| -> (i32, serde_json::Value) {
        use std::io::Write;
        let mut child = common::custody_cmd(w.dir.path(), &w.store)
            .args(["--json", "verify", "-", "--trust", trust])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run custody");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        let out = child.wait_with_output().expect("wait");
        let text = String::from_utf8_lossy(&out.stdout);
        let report = serde_json::from_str(text.trim()).expect("json report");
        (out.status.code().unwrap_or(-1), report)
    };
    let (code, report) = piped(&std::fs::read_to_string(&records).expect("records"));
    assert_eq!(
        (code, report["ok"].clone()),
        (0, serde_json::Value::Bool(true)),
        "{report}"
    );
    let (code, report) = piped(&text);
    assert_eq!(code, 1);
    assert_eq!(report["failure"]["rule"], "state/unknown_event", "{report}");
}
