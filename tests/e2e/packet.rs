//! Transfer packets and evidence, end to end on the demo ledger: `custody evidence add/get`,
//! `custody packet export`, `verify` (what the registrar reads, and every way a changed packet
//! is refused) and `import` (idempotent, a fork refused without change).

mod common;

use common::*;
use custody_core::kinds::EventKind;
use custody_core::{Draft, Record};
use serde_json::{json, Value};

/// The demo ledger, and a detainee admitted on a commitment order whose chain carries evidence.
fn demo() -> (World, String) {
    let w = World::sqlite();
    w.ok(&["demo"]);
    let records = w.export();
    let chain = records
        .iter()
        .map(|r| r.header.chain.clone())
        .find(|c| {
            let kinds: Vec<EventKind> = records
                .iter()
                .filter(|r| &r.header.chain == c)
                .map(|r| r.header.kind)
                .collect();
            kinds.contains(&EventKind::Admission)
                && kinds.contains(&EventKind::EvidenceAdded)
                && kinds.contains(&EventKind::MedicalScreening)
        })
        .expect("a demo detainee admitted, with evidence");
    (w, chain)
}

/// Adds a real evidence file to the chain (by the Gao police); returns its digest.
fn add_evidence(w: &World, chain: &str, name: &str, content: &[u8]) -> String {
    let path = w.path(name);
    std::fs::write(&path, content).unwrap();
    let v = w.ok_json(&[
        "evidence",
        "add",
        "--chain",
        chain,
        path.to_str().unwrap(),
        "--label",
        "photograph of the seized radio",
        "--provenance",
        "taken at the place of arrest by the arresting unit",
        "--media-type",
        "image/jpeg",
        "--key",
        "demo-keys/police-gao-opj.key",
        "--agency",
        "ml-police-gao",
    ]);
    v["digest"].as_str().unwrap().to_string()
}

fn content(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn export(w: &World, chain: &str, name: &str) -> String {
    let out = w.path(name).display().to_string();
    w.ok(&[
        "packet",
        "export",
        "--chain",
        chain,
        "--out",
        &out,
        "--ledger-key",
        "demo-keys/ledger.key",
    ]);
    out
}

/// A packet's sections (type, body), as docs/SPEC.md section 18 lays them out.
fn sections(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let magic = b"custody-ledger/packet/v1\n";
    assert!(bytes.starts_with(magic));
    let mut at = magic.len();
    let mut out = Vec::new();
    while at < bytes.len() {
        let nl = at + bytes[at..].iter().position(|&b| b == b'\n').unwrap();
        let header = std::str::from_utf8(&bytes[at..nl]).unwrap();
        let (kind, len) = header.split_once(' ').unwrap();
        let len: usize = len.parse().unwrap();
        out.push((kind.to_string(), bytes[nl + 1..nl + 1 + len].to_vec()));
        at = nl + 1 + len + 1;
    }
    out
}

fn assemble(sections: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = b"custody-ledger/packet/v1\n".to_vec();
    for (kind, body) in sections {
        out.extend_from_slice(format!("{kind} {}\n", body.len()).as_bytes());
        out.extend_from_slice(body);
        out.push(b'\n');
    }
    out
}

/// Verifies a changed packet, which must be refused (exit 1) with `rule`.
fn refused_with(w: &World, name: &str, bytes: &[u8], rule: &str) -> Value {
    let path = w.path(name);
    std::fs::write(&path, bytes).unwrap();
    let r = w.fails(1, &["--json", "packet", "verify", path.to_str().unwrap()]);
    let v: Value = serde_json::from_str(r.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(v["ok"], false, "{name}: {v}");
    assert_eq!(v["rule"], rule, "{name}: {v}");
    v
}

#[test]
fn a_packet_of_the_demo_verifies_and_its_timeline_names_custodians_and_the_commitment_order() {
    let (w, chain) = demo();
    let digest = add_evidence(&w, &chain, "radio.jpg", &content(200_000, 7));
    let packet = export(&w, &chain, "transfer.packet");
    let bytes = std::fs::read(&packet).unwrap();

    let fr = w.ok(&["packet", "verify", &packet, "--trust", &{
        w.ok(&["trust", "--out", "trust.json"]);
        w.path("trust.json").display().to_string()
    }]);
    assert!(fr.contains("PAQUET VÉRIFIÉ"), "{fr}");
    let sha = custody_core::Hash::of(&bytes).to_hex();
    assert!(fr.contains(&sha), "the packet digest is shown: {fr}");
    for custodian in ["ml-police-gao", "ml-gendarmerie-camp1"] {
        assert!(fr.contains(custodian), "{custodian}: {fr}");
    }
    assert!(fr.contains("Garde successive"), "{fr}");
    assert!(fr.contains("sur l'ordonnance : mandat de dépôt"), "{fr}");
    assert!(
        fr.contains(&format!("jointe, empreinte vérifiée ; sha256 {digest}")),
        "{fr}"
    );
    assert!(fr.contains("examen médical x1 (secret médical"), "{fr}");

    let en = w.ok(&["packet", "verify", &packet, "--lang", "en"]);
    assert!(en.contains("PACKET VERIFIED"), "{en}");
    assert!(en.contains("on the order: detention order"), "{en}");
    assert!(
        en.contains("medical screening x1 (medical confidentiality"),
        "{en}"
    );
    assert!(
        en.contains("WARNING: trust anchors"),
        "without --trust it says so: {en}"
    );

    // The medical payload is withheld; its header travels and is listed by kind.
    let v = w.ok_json(&["packet", "verify", &packet]);
    let withheld = v["withheld"].as_array().unwrap();
    assert!(
        withheld
            .iter()
            .any(|x| x["kind"] == "medical_screening" && x["reason"] == "sealed"),
        "the demo's receiving prison has medical staff: the note travels sealed to them: {v}"
    );
    assert!(
        !String::from_utf8_lossy(&bytes).contains("\"body\":{\"findings"),
        "no medical body in the packet"
    );
    let evidence = v["evidence"].as_array().unwrap();
    assert!(
        evidence
            .iter()
            .any(|e| e["digest"] == digest.as_str() && e["included"] == true),
        "{v}"
    );
}

#[test]
fn a_changed_packet_is_refused_with_the_rule_that_names_what_changed() {
    let (w, chain) = demo();
    add_evidence(&w, &chain, "radio.jpg", &content(100_000, 3));
    let packet = export(&w, &chain, "transfer.packet");
    let good = sections(&std::fs::read(&packet).unwrap());
    assert_eq!(assemble(&good), std::fs::read(&packet).unwrap());
    let last_record = good.iter().rposition(|(k, _)| k == "record").unwrap();

    // A byte of a record's body: its payload digest no longer holds.
    let mut s = good.clone();
    let text = String::from_utf8(s[last_record].1.clone()).unwrap();
    s[last_record].1 = text.replace("radio", "radia").into_bytes();
    let v = refused_with(&w, "body.packet", &assemble(&s), "payload_digest");
    assert_eq!(v["chain"], chain.as_str());

    // A byte of a header: its hash no longer holds.
    let mut s = good.clone();
    let text = String::from_utf8(s[last_record].1.clone()).unwrap();
    s[last_record].1 = text
        .replace(
            "\"agency\":\"ml-police-gao\"",
            "\"agency\":\"ml-police-gaa\"",
        )
        .into_bytes();
    refused_with(&w, "header.packet", &assemble(&s), "hash");

    // A hash of an inclusion proof.
    let mut s = good.clone();
    let proof = s.iter().rposition(|(k, _)| k == "proof").unwrap();
    let text = String::from_utf8(s[proof].1.clone()).unwrap();
    let line = text.lines().nth(2).unwrap().to_string();
    let changed = if line.starts_with('A') {
        line.replacen('A', "B", 1)
    } else {
        format!("A{}", &line[1..])
    };
    s[proof].1 = text.replacen(&line, &changed, 1).into_bytes();
    let v = refused_with(&w, "proof.packet", &assemble(&s), "packet/proof");
    assert!(v["seq"].is_u64(), "the failure names the event: {v}");

    // The checkpoint's signature.
    let mut s = good.clone();
    let cp = s.iter().position(|(k, _)| k == "checkpoint").unwrap();
    let mut note = s[cp].1.clone();
    let at = note.len() - 5;
    note[at] = if note[at] == b'A' { b'B' } else { b'A' };
    s[cp].1 = note;
    refused_with(&w, "checkpoint.packet", &assemble(&s), "packet/checkpoint");

    // An evidence blob swapped for other bytes of the same size.
    let mut s = good.clone();
    let blob = s.iter().position(|(k, _)| k == "blob").unwrap();
    s[blob].1 = content(s[blob].1.len(), 4);
    let v = refused_with(&w, "blob.packet", &assemble(&s), "packet/evidence");
    assert!(v["message"].as_str().unwrap().contains("digest"), "{v}");

    // A record dropped from the middle of the chain (and its proof).
    let mut s = good.clone();
    let first_chain = s
        .iter()
        .position(|(k, b)| k == "record" && String::from_utf8_lossy(b).contains(&chain))
        .unwrap();
    let second = first_chain + 1;
    let records = s.iter().filter(|(k, _)| k == "record").count();
    s.remove(second + records + 1); // its proof: after the records and the checkpoint
    s.remove(second);
    let mut manifest: Value = serde_json::from_slice(&s[0].1).unwrap();
    manifest["records"] = json!(records - 1);
    s[0].1 = serde_json::to_vec(&manifest).unwrap();
    refused_with(&w, "dropped.packet", &assemble(&s), "seq");

    // Truncated.
    let bytes = assemble(&good);
    refused_with(
        &w,
        "short.packet",
        &bytes[..bytes.len() - 10],
        "packet/format",
    );
}

#[test]
fn a_record_signed_after_its_key_was_revoked_is_refused_in_a_packet() {
    let (w, chain) = demo();
    let packet = export(&w, &chain, "transfer.packet");
    let mut s = sections(&std::fs::read(&packet).unwrap());
    let records: Vec<Record> = s
        .iter()
        .filter(|(k, _)| k == "record")
        .map(|(_, b)| Record::from_json(b).unwrap())
        .collect();
    let last = records
        .iter()
        .rev()
        .find(|r| r.header.chain == chain)
        .unwrap();
    // The lost tablet's key, revoked before the first arrest, signs one more event.
    let key = read_key(
        &w.path("demo-keys/police-gao-tablet.key")
            .display()
            .to_string(),
    );
    let forged = Draft {
        ledger: last.header.ledger.clone(),
        chain: chain.clone(),
        seq: last.header.seq + 1,
        prev: Some(last.hash),
        kind: EventKind::EvidenceAdded,
        occurred_at: now(),
        recorded_at: now(),
        agency: "ml-police-gao".into(),
        body: json!({"content_digest": custody_core::Hash::of(b"x").to_hex(), "size_bytes": 1,
                     "media_type": "image/jpeg", "label": "photo", "provenance": "tablet"}),
    }
    .sign(&key, &[9u8; 16]);
    let n = records.len();
    let cp = s.iter().position(|(k, _)| k == "checkpoint").unwrap();
    // Its proof claims the next position (it cannot prove anything: the rule comes first).
    let last_proof = String::from_utf8(s.last().unwrap().1.clone()).unwrap();
    let last_proof = s
        .iter()
        .rev()
        .find(|(k, _)| k == "proof")
        .map(|(_, b)| String::from_utf8(b.clone()).unwrap())
        .unwrap_or(last_proof);
    let index: u64 = last_proof.lines().nth(1).unwrap()["index ".len()..]
        .parse()
        .unwrap();
    let fake = last_proof.replacen(
        &format!("index {index}"),
        &format!("index {}", index + 1),
        1,
    );
    s.insert(cp, ("record".into(), forged.to_json_line().into_bytes()));
    let end_of_proofs = cp + 1 + 1 + n;
    s.insert(end_of_proofs, ("proof".into(), fake.into_bytes()));
    let mut manifest: Value = serde_json::from_slice(&s[0].1).unwrap();
    manifest["records"] = json!(n + 1);
    let mut evidence = manifest["evidence"].as_array().unwrap().clone();
    evidence.push(json!({"event": forged.hash.to_hex(), "digest": custody_core::Hash::of(b"x").to_hex(), "size_bytes": 1, "included": false, "reason": "not_in_store"}));
    manifest["evidence"] = json!(evidence);
    s[0].1 = serde_json::to_vec(&manifest).unwrap();
    let v = refused_with(&w, "revoked.packet", &assemble(&s), "key_revoked");
    assert_eq!(v["seq"], last.header.seq + 1, "{v}");
}

#[test]
fn a_checkpoint_that_does_not_cover_every_event_is_refused() {
    let (w, chain) = demo();
    let old = w.path("old.checkpoint").display().to_string();
    w.ok(&[
        "checkpoint",
        "--ledger-key",
        "demo-keys/ledger.key",
        "--out",
        &old,
    ]);
    add_evidence(&w, &chain, "radio.jpg", &content(1000, 1));

    // Export refuses it: the newest event is after it.
    let out = w.path("p.packet").display().to_string();
    let r = w.fails(
        2,
        &[
            "packet",
            "export",
            "--chain",
            &chain,
            "--out",
            &out,
            "--checkpoint",
            &old,
        ],
    );
    assert!(
        r.stderr.contains("does not cover event seq"),
        "{}",
        r.stderr
    );
    assert!(!w.path("p.packet").exists());

    // A packet whose checkpoint (and proofs) were replaced by the older one is refused.
    let packet = export(&w, &chain, "transfer.packet");
    let good = sections(&std::fs::read(&packet).unwrap());
    let new_note = good
        .iter()
        .find(|(k, _)| k == "checkpoint")
        .unwrap()
        .1
        .clone();
    let old_note = std::fs::read(&old).unwrap();
    let s: Vec<(String, Vec<u8>)> = good
        .into_iter()
        .map(|(k, b)| match k.as_str() {
            "checkpoint" => (k, old_note.clone()),
            "proof" => {
                let text = String::from_utf8(b).unwrap();
                let text = text.replace(
                    std::str::from_utf8(&new_note).unwrap(),
                    std::str::from_utf8(&old_note).unwrap(),
                );
                (k, text.into_bytes())
            }
            _ => (k, b),
        })
        .collect();
    let v = refused_with(&w, "old.packet", &assemble(&s), "packet/proof");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("outside the checkpoint")
            || v["message"]
                .as_str()
                .unwrap()
                .contains("not proved included"),
        "{v}"
    );
}

/// A replica made from the ledger's public files (as a prison's own store would be).
fn replica(w: &World, name: &str) -> World {
    w.ok(&["trust", "--out", &format!("{name}-trust.json")]);
    let vkey = w.ok(&["ledger-key"]);
    let b = World::sqlite();
    let vkey_file = b.write("ledger.vkey", vkey.trim());
    b.ok(&[
        "init",
        "--trust",
        &w.path(&format!("{name}-trust.json")).display().to_string(),
        "--ledger-vkey",
        &vkey_file,
    ]);
    b
}

#[test]
fn import_is_idempotent_and_a_fork_is_kept_as_an_alarm_and_imports_nothing() {
    let (w, chain) = demo();
    let digest = add_evidence(&w, &chain, "radio.jpg", &content(50_000, 9));
    let packet = export(&w, &chain, "transfer.packet");

    // Into the store it came from (a primary): everything is already there.
    let own = w.ok_json(&["packet", "import", &packet]);
    assert_eq!(own["appended"], 0, "{own}");
    assert_eq!(own["blobs_stored"], 0, "{own}");

    let b = replica(&w, "b");
    let first = b.ok_json(&["packet", "import", &packet]);
    assert!(first["appended"].as_u64().unwrap() > 10, "{first}");
    assert_eq!(first["blobs_stored"], 1);
    let size = b.size();
    let second = b.ok_json(&["packet", "import", &packet]);
    assert_eq!(second["appended"], 0, "{second}");
    assert_eq!(second["already_stored"], first["appended"]);
    assert_eq!(second["blobs_stored"], 0);
    assert_eq!(b.size(), size);
    // The blob came along, and reads back checked.
    let got = b.path("got.jpg").display().to_string();
    b.ok(&["evidence", "get", &digest, "--out", &got]);
    assert_eq!(std::fs::read(&got).unwrap(), content(50_000, 9));

    // The replica records its own next event on the chain; the source records another one.
    let demo_keys = w.path("demo-keys");
    let keys_here = b.path("demo-keys");
    std::fs::create_dir_all(&keys_here).unwrap();
    std::fs::copy(
        demo_keys.join("police-gao-opj.key"),
        keys_here.join("police-gao-opj.key"),
    )
    .unwrap();
    add_evidence(&b, &chain, "mine.jpg", &content(10, 1));
    add_evidence(&w, &chain, "theirs.jpg", &content(10, 2));
    let newer = export(&w, &chain, "newer.packet");
    let size = b.size();
    let before = b.export();
    let r = b.fails(1, &["packet", "import", &newer]);
    assert!(r.stderr.contains("fork"), "{}", r.stderr);
    assert!(r.stderr.contains(&chain), "{}", r.stderr);
    let seq = before.iter().filter(|r| r.header.chain == chain).count() - 1;
    assert!(r.stderr.contains(&format!("seq {seq}")), "{}", r.stderr);
    let mine = before
        .iter()
        .rev()
        .find(|r| r.header.chain == chain)
        .unwrap();
    assert!(
        r.stderr.contains(&mine.hash.to_hex()),
        "both hashes named: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("kept as a new fork alarm"),
        "{}",
        r.stderr
    );
    // Nothing was imported; the packet's version is kept whole in the fork alarm log, so
    // verify now reports the fork (exit 1) over the same records.
    assert_eq!(b.export(), before);
    let report = b.fails(1, &["--json", "verify"]);
    let report: serde_json::Value = serde_json::from_str(report.stdout.trim()).expect("json");
    assert_eq!(
        report["records"].as_u64(),
        Some(size),
        "nothing was imported: {report}"
    );
    let alarms = report["fork_alarms"].as_array().expect("fork alarms");
    assert_eq!(alarms.len(), 1, "{report}");
    assert_eq!(alarms[0]["stored"], mine.hash.to_hex());
    assert_eq!(alarms[0]["chain"], chain.as_str());
    assert_ne!(alarms[0]["other_hash"], mine.hash.to_hex());
    // A second import of the same packet keeps no second alarm.
    let again = b.fails(1, &["packet", "import", &newer]);
    assert!(again.stderr.contains("already kept"), "{}", again.stderr);
}

#[test]
fn evidence_get_detects_a_blob_damaged_on_disk() {
    let (w, chain) = demo();
    let digest = add_evidence(&w, &chain, "radio.jpg", &content(300_000, 5));
    let out = w.path("back.jpg").display().to_string();
    w.ok(&["evidence", "get", &digest, "--out", &out]);
    assert_eq!(std::fs::read(&out).unwrap(), content(300_000, 5));

    // The blob file is where docs/OPERATIONS.md says; one byte changed behind the store's back.
    let blob = w.path(&format!(
        "custody.db.evidence/sha256/{}/{digest}",
        &digest[..2]
    ));
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[150_000] ^= 1;
    std::fs::write(&blob, bytes).unwrap();
    let damaged = w.path("damaged.jpg").display().to_string();
    let r = w.fails(1, &["evidence", "get", &digest, "--out", &damaged]);
    assert!(r.stderr.contains("damaged"), "{}", r.stderr);
    assert!(
        !w.path("damaged.jpg").exists(),
        "no file from a damaged blob"
    );
    let r = w.fails(1, &["evidence", "get", &digest]);
    assert!(r.stderr.contains(&digest), "{}", r.stderr);

    // An unknown digest, and one mistyped.
    let r = w.fails(
        2,
        &["evidence", "get", &custody_core::Hash::of(b"none").to_hex()],
    );
    assert!(r.stderr.contains("no evidence blob"), "{}", r.stderr);
    w.fails(2, &["evidence", "get", "ABC"]);
}

/// Evidence and a packet on a small ledger, on either backend: the blob goes to the directory
/// beside the SQLite file, or to the JetStream Object Store bucket.
fn evidence_and_packet_round_trip(w: &World) {
    let keys = setup_ledger(w);
    let chain = record_arrest(w, &keys)["chain"]
        .as_str()
        .unwrap()
        .to_string();
    let file = w.path("statement.pdf");
    std::fs::write(&file, content(700_000, 11)).unwrap();
    let added = w.ok_json(&[
        "evidence",
        "add",
        "--chain",
        &chain,
        file.to_str().unwrap(),
        "--provenance",
        "statement written at the post",
        "--media-type",
        "application/pdf",
        "--key",
        &keys.officer,
        "--agency",
        POLICE,
    ]);
    let digest = added["digest"].as_str().unwrap().to_string();
    assert_eq!(
        digest,
        custody_core::Hash::of(&content(700_000, 11)).to_hex()
    );
    assert_eq!(added["blob"], "stored");
    let back = w.path("back.pdf").display().to_string();
    w.ok(&["evidence", "get", &digest, "--out", &back]);
    assert_eq!(std::fs::read(&back).unwrap(), content(700_000, 11));

    // Too large for the configured limit: refused, nothing recorded.
    let size = w.size();
    let r = w.fails(
        2,
        &[
            "evidence",
            "add",
            "--chain",
            &chain,
            file.to_str().unwrap(),
            "--provenance",
            "x",
            "--key",
            &keys.officer,
            "--agency",
            POLICE,
            "--max-bytes",
            "1000",
        ],
    );
    assert!(
        r.stderr.contains("more than the limit of 1000 bytes"),
        "{}",
        r.stderr
    );
    assert_eq!(w.size(), size);

    let packet = w.path("p.packet").display().to_string();
    w.ok(&[
        "packet",
        "export",
        "--chain",
        &chain,
        "--out",
        &packet,
        "--ledger-key",
        &keys.ledger,
    ]);
    let text = w.ok(&["packet", "verify", &packet, "--lang", "en"]);
    assert!(text.contains("PACKET VERIFIED"), "{text}");
    assert!(
        text.contains("statement.pdf (application/pdf, 700000 bytes) : included, digest verified"),
        "{text}"
    );
    assert!(
        text.contains("no commitment order"),
        "what is missing is said: {text}"
    );
    let fr = w.ok(&["packet", "verify", &packet]);
    assert!(fr.contains("aucun titre de détention"), "{fr}");
}

#[test]
fn evidence_and_packets_on_sqlite() {
    evidence_and_packet_round_trip(&World::sqlite());
}

#[test]
fn evidence_and_packets_on_jetstream() {
    let server = custody_testkit::NatsServer::start().expect("nats-server");
    evidence_and_packet_round_trip(&World::nats(&server.url()));
}

/// The facility (or agency) the chain's last handover names, and its agency.
fn receiving(w: &World, chain: &str) -> (String, String) {
    let released = w
        .export()
        .into_iter()
        .rev()
        .find(|r| r.header.chain == chain && r.header.kind == EventKind::CustodyReleased)
        .expect("a handover in the demo chain");
    let agency = released.header.facts.str("to_agency").unwrap().to_string();
    let target = released
        .header
        .facts
        .str("to_facility")
        .unwrap_or(&agency)
        .to_string();
    (target, agency)
}

/// Enrols a new key with role medical for `agency`; returns its key file and public key.
fn enrol_medical(w: &World, name: &str, agency: &str) -> (String, String) {
    let (file, public) = w.keygen(name);
    w.ok(&[
        "enroll",
        "key",
        "--root-key",
        "demo-keys/root.key",
        "--key",
        &public,
        "--agency",
        agency,
        "--roles",
        "medical",
        "--holder-name",
        "Infirmière A. Diarra",
        "--badge",
        "MED-77",
    ]);
    (file, public)
}

/// The chain's medical screening as the sender holds it (with its payload).
fn medical_record(w: &World, chain: &str) -> Record {
    w.export()
        .into_iter()
        .find(|r| r.header.chain == chain && r.header.kind == EventKind::MedicalScreening)
        .expect("a medical screening")
}

/// Every string of a JSON value (to check none is printed).
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.len() >= 6 => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

#[test]
fn medical_notes_travel_sealed_to_the_receiving_facility_s_medical_staff() {
    let (w, chain) = demo();
    let (_, agency) = receiving(&w, &chain);
    let (nurse, nurse_public) = enrol_medical(&w, "nurse.key", &agency);
    let medical = medical_record(&w, &chain);
    let hash = medical.hash.to_hex();
    let packet = export(&w, &chain, "transfer.packet");
    let bytes = std::fs::read(&packet).unwrap();

    // The manifest lists the note sealed to the new key (and the other medical staff there).
    let v = w.ok_json(&["packet", "verify", &packet]);
    let entry = v["withheld"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["event"] == hash.as_str())
        .cloned()
        .expect("the medical screening is listed");
    assert_eq!(entry["reason"], "sealed", "{entry}");
    assert_eq!(entry["kind"], "medical_screening");
    let recipients: Vec<&str> = entry["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert!(recipients.contains(&nurse_public.as_str()), "{entry}");
    let sealed_entries = v["withheld"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["reason"] == "sealed")
        .count();
    let secs = sections(&bytes);
    assert_eq!(
        secs.iter().filter(|(k, _)| k == "sealed").count(),
        sealed_entries,
        "one sealed section per sealed entry"
    );
    let order: Vec<&str> = secs.iter().map(|(k, _)| k.as_str()).collect();
    let last_proof = order.iter().rposition(|k| *k == "proof").unwrap();
    let first_sealed = order.iter().position(|k| *k == "sealed").unwrap();
    assert_eq!(
        first_sealed,
        last_proof + 1,
        "sealed sections follow the proofs"
    );
    // Nothing of the medical body is in the packet in clear.
    let mut secrets = Vec::new();
    strings(&medical.payload.as_ref().unwrap().body, &mut secrets);
    assert!(!secrets.is_empty());
    let text = String::from_utf8_lossy(&bytes);
    for s in &secrets {
        assert!(
            !text.contains(s.as_str()),
            "{s:?} is in the packet in clear"
        );
    }
    assert_eq!(v["sealed"][0]["state"], "not_opened", "{v}");

    // Without a key: verified, the note reported sealed, not opened.
    let fr = w.ok(&["packet", "verify", &packet]);
    assert!(fr.contains("PAQUET VÉRIFIÉ"), "{fr}");
    assert!(fr.contains("scellé, non ouvert"), "{fr}");
    // With the right key: opened and matching; its content is never printed.
    let fr = w.ok(&["packet", "verify", &packet, "--medical-key", &nurse]);
    assert!(
        fr.contains(
            "note médicale ouverte avec la clé médicale donnée : conforme à l'en-tête signé"
        ),
        "{fr}"
    );
    assert!(fr.contains("[contenu scellé, ouvert : conforme]"), "{fr}");
    let en = w.ok(&[
        "packet",
        "verify",
        &packet,
        "--medical-key",
        &nurse,
        "--lang",
        "en",
    ]);
    assert!(
        en.contains("medical note opened with the medical key given: matches its signed header"),
        "{en}"
    );
    for out in [&fr, &en] {
        for s in &secrets {
            assert!(!out.contains(s.as_str()), "{s:?} printed: {out}");
        }
    }
    let opened = w.ok_json(&["packet", "verify", &packet, "--medical-key", &nurse]);
    let state = opened["sealed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["event"] == hash.as_str())
        .unwrap()["state"]
        .clone();
    assert_eq!(state, "opened", "{opened}");
    // With another key: not addressed to it, which is no failure.
    let (other, _) = w.keygen("other.key");
    let fr = w.ok(&["packet", "verify", &packet, "--medical-key", &other]);
    assert!(fr.contains("non adressé à la clé médicale donnée"), "{fr}");
    let v = w.ok_json(&["packet", "verify", &packet, "--medical-key", &other]);
    assert!(
        v["sealed"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["state"] == "not_addressed"),
        "{v}"
    );

    // A byte of a sealed section changed: refused with packet/sealed when the key is given, the
    // record named; without a key it is not checked.
    let mut s = secs.clone();
    let at = first_sealed;
    let n = s[at].1.len();
    s[at].1[n - 5] ^= 0x01;
    let path = w.path("changed.packet");
    std::fs::write(&path, assemble(&s)).unwrap();
    let path = path.display().to_string();
    let r = w.fails(
        1,
        &["--json", "packet", "verify", &path, "--medical-key", &nurse],
    );
    let v: Value = serde_json::from_str(r.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(v["rule"], "packet/sealed", "{v}");
    assert_eq!(v["chain"], chain.as_str(), "{v}");
    let r = w.fails(1, &["packet", "verify", &path, "--medical-key", &nurse]);
    assert!(
        r.stderr.contains("PAQUET REFUSÉ (packet/sealed)"),
        "{}",
        r.stderr
    );
    w.ok(&["packet", "verify", &path]);

    // Import with the key: the receiving store holds the note with its record.
    let b = replica(&w, "b");
    let imported = b.ok_json(&["packet", "import", &packet, "--medical-key", &nurse]);
    assert!(
        imported["sealed_opened"].as_u64().unwrap() >= 1,
        "{imported}"
    );
    let stored = b
        .export()
        .into_iter()
        .find(|r| r.hash == medical.hash)
        .unwrap();
    assert_eq!(
        stored.payload, medical.payload,
        "the note is stored with its record"
    );
    let report = b.ok_json(&["verify"]);
    assert_eq!(report["ok"], true, "{report}");

    // Import without the key: headers only; verify says not received, not missing.
    let c = replica(&w, "c");
    let imported = c.ok_json(&["packet", "import", &packet]);
    assert_eq!(imported["sealed_opened"], 0, "{imported}");
    let stored = c
        .export()
        .into_iter()
        .find(|r| r.hash == medical.hash)
        .unwrap();
    assert!(stored.payload.is_none());
    let report = c.ok_json(&["verify"]);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["missing_payloads"], json!([]), "{report}");
    let not_received = report["not_received"].as_array().unwrap();
    let digest = custody_core::Hash::of(&bytes).to_hex();
    assert!(
        not_received.iter().any(|m| m["hash"] == hash.as_str()
            && m["reason"] == "sealed"
            && m["packet"] == digest.as_str()),
        "the import remembers that the sender withheld it: {report}"
    );
    assert_eq!(report["replica_without_payload"], json!([]), "{report}");
    let human = c.run(&["verify"]);
    assert_eq!(human.code, 0, "{}{}", human.stdout, human.stderr);
    let all = format!("{}{}", human.stdout, human.stderr);
    assert!(all.contains("not received"), "{all}");
    assert!(all.contains("withheld by the sender"), "{all}");
    assert!(
        all.contains(&format!("event {hash}: sealed by the sender")),
        "{all}"
    );
    assert!(!all.contains("payload missing"), "{all}");
    // The same import later with the key completes the record.
    c.ok(&["packet", "import", &packet, "--medical-key", &nurse]);
    let stored = c
        .export()
        .into_iter()
        .find(|r| r.hash == medical.hash)
        .unwrap();
    assert_eq!(stored.payload, medical.payload);
}

#[test]
fn without_a_medical_key_for_the_receiver_the_note_stays_withheld_with_a_warning() {
    let (w, chain) = demo();
    let out = w.path("t.packet").display().to_string();
    let r = w.run(&[
        "packet",
        "export",
        "--chain",
        &chain,
        "--out",
        &out,
        "--ledger-key",
        "demo-keys/ledger.key",
        "--medical-to",
        "ml-cndh",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("no valid key with role medical is enrolled for ml-cndh"),
        "{}",
        r.stderr
    );
    let v = w.ok_json(&["packet", "verify", &out]);
    assert!(
        v["withheld"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["kind"] == "medical_screening"
                && x["reason"] == "restricted"
                && x.get("recipients").is_none()),
        "{v}"
    );
    let bytes = std::fs::read(&out).unwrap();
    assert!(!sections(&bytes).iter().any(|(k, _)| k == "sealed"));
    // An explicit recipient must be an enrolled medical key.
    let (_, stranger) = w.keygen("stranger.key");
    let r = w.run(&[
        "packet",
        "export",
        "--chain",
        &chain,
        "--out",
        &w.path("u.packet").display().to_string(),
        "--ledger-key",
        "demo-keys/ledger.key",
        "--medical-recipient",
        &stranger,
    ]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("not a key enrolled with role medical"),
        "{}",
        r.stderr
    );
}
