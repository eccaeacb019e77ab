//! Tamper drills: each way an operator with full access to the servers could drop or rewrite
//! records is detected by `custody audit` and named by its failure's rule.
//!
//! A byte changed in a stored header (the SQLite file edited); an event removed from a copy;
//! two events swapped; a chain replaced by a re-signed one after a checkpoint the auditor saw;
//! a key revoked before the time it signed at; a rollback (an older checkpoint, or a forked
//! tree, served to an auditor that saw a newer one); a checkpoint signed by an unknown key; the
//! last records dropped, or a whole chain dropped with the positions renumbered; a forged
//! message (a byte changed, or a re-hashed record nobody signed) published into a copy of the
//! JetStream stream on another nats-server. Also: the
//! incremental audit verifies only the new records, and a headers-only export suffices.

mod common;

use common::*;
use custody_core::checkpoint::{Checkpoint, NoteSigner};
use custody_core::Record;
use serde_json::Value;

/// A demo ledger (a few detainees: chains of many events), its checkpoint `cp1.note`, the
/// trust anchors and the ledger's verifier key in files.
fn demo() -> World {
    let w = World::sqlite();
    w.ok(&["demo", "--detainees", "3"]);
    auditor_files(&w);
    w
}

/// What an auditor is given beside the ledger: the checkpoint `cp1.note` of the whole ledger,
/// the trust anchors `trust.json` and the ledger's verifier key `ledger.vkey`.
fn auditor_files(w: &World) {
    w.ok(&[
        "checkpoint",
        "--ledger-key",
        "demo-keys/ledger.key",
        "--out",
        "cp1.note",
    ]);
    w.ok(&["trust", "--out", "trust.json"]);
    let vkey = w.ok_json(&["ledger-key"])["ledger_vkey"]
        .as_str()
        .expect("vkey")
        .to_string();
    w.write("ledger.vkey", &vkey);
}

/// `custody --json audit ARGS` with its own state directory `state`: exit code and report.
fn audit(w: &World, args: &[&str]) -> (i32, Value) {
    audit_in(w, "state", args)
}

fn audit_in(w: &World, state: &str, args: &[&str]) -> (i32, Value) {
    let state = w.path(state).display().to_string();
    let mut all = vec!["--json", "audit", "--state-dir", &state];
    all.extend_from_slice(args);
    let r = w.run(&all);
    let last = r.stdout.lines().last().unwrap_or_default();
    let v: Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", r.stdout, r.stderr));
    (r.code, v)
}

/// An audit that must fail with `rule`; returns the failure.
fn fails_with(w: &World, state: &str, args: &[&str], rule: &str) -> Value {
    let (code, v) = audit_in(w, state, args);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["failure"]["rule"], rule, "{v}");
    v["failure"].clone()
}

/// Audits a JSONL file against a checkpoint with the files' trust and key.
fn file_args<'a>(file: &'a str, cp: &'a str) -> Vec<&'a str> {
    vec![
        file,
        "--checkpoint",
        cp,
        "--trust",
        "trust.json",
        "--ledger-vkey",
        "ledger.vkey",
    ]
}

fn lines(w: &World, name: &str) -> Vec<String> {
    std::fs::read_to_string(w.path(name))
        .expect("read")
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(w: &World, name: &str, lines: &[String]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    w.write(name, &text);
}

fn chain_of(line: &str) -> String {
    Record::from_json(line.as_bytes())
        .expect("record")
        .header
        .chain
}

#[test]
fn an_audit_of_the_store_and_of_its_headers_passes_then_resumes_incrementally() {
    let w = demo();
    let (code, v) = audit(&w, &["--checkpoint", "cp1.note"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["incremental"], false);
    let size = v["records"].as_u64().unwrap();
    assert_eq!(v["checkpoint"]["size"], size);
    assert_eq!(v["not_yet_covered"], 0);

    // Headers alone: a headers-only export, a fresh auditor.
    w.ok(&["export", "--headers-only", "--out", "public.jsonl"]);
    let (code, v) = audit_in(&w, "other", &file_args("public.jsonl", "cp1.note"));
    assert_eq!(code, 0, "{v}");
    assert!(v["headers_only"].as_u64().unwrap() > 0, "{v}");

    // The ledger grows; the next audit verifies only the new record.
    let body = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../schemas/examples/arrest/valid-menaka-barkhane.json");
    w.ok(&[
        "record",
        "arrest",
        "--new-chain",
        "--key",
        "demo-keys/police-gao-opj.key",
        "--agency",
        "ml-police-gao",
        "--body",
        &body.display().to_string(),
    ]);
    // Beyond the checkpoint: verified, not yet covered.
    let (code, v) = audit(&w, &["--checkpoint", "cp1.note"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["not_yet_covered"], 1, "{v}");
    assert_eq!(v["incremental"], true, "{v}");
    assert_eq!(v["verified_records"], 1, "{v}");
    w.ok(&[
        "checkpoint",
        "--ledger-key",
        "demo-keys/ledger.key",
        "--out",
        "cp2.note",
    ]);
    let (code, v) = audit(&w, &["--checkpoint", "cp2.note"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["incremental"], true, "{v}");
    assert_eq!(v["positions"]["from"], size, "{v}");
    assert_eq!(v["verified_records"], 1, "{v}");

    // Rollback: the older checkpoint, to the auditor that saw the newer one.
    fails_with(
        &w,
        "state",
        &["--checkpoint", "cp1.note"],
        "checkpoint/rollback",
    );

    // An altered saved state is not used: the audit starts from the first record.
    let state_file = w.path("state").join(
        std::fs::read_dir(w.path("state"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .file_name(),
    );
    let path = state_file.join("state");
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let (code, v) = audit(&w, &["--checkpoint", "cp2.note"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["incremental"], false, "{v}");
    assert!(v["previous_checkpoint"]["state_problem"]
        .as_str()
        .unwrap()
        .contains("altered"));
}

#[test]
fn a_byte_changed_in_a_stored_header_is_named() {
    let w = demo();
    let raw = rusqlite::Connection::open(&w.store).unwrap();
    raw.execute_batch("DROP TRIGGER IF EXISTS events_no_update;")
        .unwrap();
    let changed = raw
        .execute(
            "UPDATE events SET record = replace(record, '\"recorded_at\":\"20', '\"recorded_at\":\"21') WHERE position = 20",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(raw);
    // The store itself refuses to serve the edited row: its hash column is not its header's.
    let f = fails_with(&w, "state", &["--checkpoint", "cp1.note"], "store_corrupt");
    assert!(
        f["message"].as_str().unwrap().contains("position 20"),
        "{f}"
    );
}

#[test]
fn removed_swapped_and_dropped_records_of_a_copy_are_named() {
    let w = demo();
    w.ok(&["export", "--headers-only", "--out", "public.jsonl"]);
    let all = lines(&w, "public.jsonl");
    let n = all.len();

    // An event removed from the middle of a chain: the next one's link is refused.
    let chains: Vec<String> = all.iter().map(|l| chain_of(l)).collect();
    let (at, next) = (0..n)
        .filter(|&i| chains[i].starts_with("d-"))
        .find_map(|i| (i + 1..n).find(|&j| chains[j] == chains[i]).map(|j| (i, j)))
        .expect("a chain of two records");
    let mut removed = all.clone();
    removed.remove(at);
    write_lines(&w, "removed.jsonl", &removed);
    let f = fails_with(&w, "s1", &file_args("removed.jsonl", "cp1.note"), "seq");
    assert_eq!(f["position"], next as u64 - 1, "{f}");

    // Two events of two chains swapped: every chain still verifies, the tree does not.
    let i = (1..n)
        .find(|&i| {
            chains[i].starts_with("d-")
                && chains[i - 1].starts_with("d-")
                && chains[i] != chains[i - 1]
        })
        .expect("two neighbours of two chains");
    let mut swapped = all.clone();
    swapped.swap(i - 1, i);
    write_lines(&w, "swapped.jsonl", &swapped);
    fails_with(
        &w,
        "s2",
        &file_args("swapped.jsonl", "cp1.note"),
        "checkpoint/root",
    );

    // The last records dropped.
    write_lines(&w, "short.jsonl", &all[..n - 3]);
    fails_with(
        &w,
        "s3",
        &file_args("short.jsonl", "cp1.note"),
        "checkpoint/truncated",
    );

    // A whole chain dropped, the positions renumbered (the file is the copy).
    let victim = chains.iter().find(|c| c.starts_with("d-")).unwrap().clone();
    let without: Vec<String> = all
        .iter()
        .filter(|l| chain_of(l) != victim)
        .cloned()
        .collect();
    write_lines(&w, "nochain.jsonl", &without);
    fails_with(
        &w,
        "s4",
        &file_args("nochain.jsonl", "cp1.note"),
        "checkpoint/truncated",
    );

    // ... and then the checkpoint claims the shorter tree: signed by another key.
    let body = std::fs::read_to_string(w.path("cp1.note")).unwrap();
    let mut cp =
        Checkpoint::parse_body(&format!("{}\n", body.split("\n\n").next().unwrap())).unwrap();
    cp.size = without.len() as u64;
    let forger = NoteSigner::new(
        &cp.origin,
        custody_core::SecretKey::from_seed([7; 32])
            .signing_key()
            .clone(),
    )
    .unwrap();
    w.write("forged.note", &forger.sign_checkpoint(&cp).unwrap());
    fails_with(
        &w,
        "s5",
        &file_args("nochain.jsonl", "forged.note"),
        "checkpoint/signature",
    );
}

#[test]
fn a_forked_or_rewritten_tree_after_a_checkpoint_the_auditor_saw_is_named() {
    let w = demo();
    let (code, v) = audit(&w, &["--checkpoint", "cp1.note"]);
    assert_eq!(code, 0, "{v}");
    // A copy of the ledger whose last chain is replaced by a re-signed one (same key, other
    // content), then grown, with a checkpoint the operator signs over it.
    std::fs::copy(&w.store, w.path("fork.db")).unwrap();
    let fork = World {
        dir: tempfile::tempdir().unwrap(),
        store: w.path("fork.db").display().to_string(),
    };
    let raw = rusqlite::Connection::open(&fork.store).unwrap();
    let triggers: Vec<String> = raw
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for t in triggers {
        raw.execute_batch(&format!("DROP TRIGGER \"{t}\";"))
            .unwrap();
    }
    raw.execute_batch(
        "DELETE FROM payloads WHERE hash IN (SELECT hash FROM events WHERE position = (SELECT max(position) FROM events));
         DELETE FROM redactions WHERE hash IN (SELECT hash FROM events WHERE position = (SELECT max(position) FROM events));
         DELETE FROM events WHERE position = (SELECT max(position) FROM events);",
    )
    .unwrap();
    drop(raw);
    let keys = w.path("demo-keys").display().to_string();
    let body = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../schemas/examples/arrest/valid-menaka-barkhane.json");
    for _ in 0..2 {
        fork.ok(&[
            "record",
            "arrest",
            "--new-chain",
            "--key",
            &format!("{keys}/police-gao-opj.key"),
            "--agency",
            "ml-police-gao",
            "--body",
            &body.display().to_string(),
        ]);
    }
    fork.ok(&[
        "checkpoint",
        "--ledger-key",
        &format!("{keys}/ledger.key"),
        "--out",
        &w.path("fork.note").display().to_string(),
    ]);
    // The auditor is served the fork: its tree does not extend the one it verified.
    let f = fails_with(
        &w,
        "state",
        &["--store", &fork.store, "--checkpoint", "fork.note"],
        "checkpoint/inconsistent",
    );
    assert!(f["message"].as_str().unwrap().contains("rewritten"), "{f}");
}

#[test]
fn a_record_signed_after_its_key_was_revoked_is_named() {
    let w = World::sqlite();
    let keys = setup_ledger(&w);
    record_arrest(&w, &keys);
    w.ok(&[
        "enroll",
        "revoke",
        "--key",
        &keys.officer_public,
        "--reason",
        "tablet lost",
        "--effective-from",
        "2025-01-01T00:00:00Z",
        "--root-key",
        &keys.root,
    ]);
    w.ok(&[
        "checkpoint",
        "--ledger-key",
        &keys.ledger,
        "--out",
        "cp.note",
    ]);
    w.ok(&["trust", "--out", "trust.json"]);
    let vkey = w.ok_json(&["ledger-key"])["ledger_vkey"]
        .as_str()
        .unwrap()
        .to_string();
    w.write("ledger.vkey", &vkey);
    // The operator slips in a record the revoked key signed after its revocation.
    let mut records = w.export();
    records.push(signed_arrest(&read_key(&keys.officer), 77, 3));
    write_jsonl(&w.path("ledger.jsonl"), &records);
    let f = fails_with(
        &w,
        "s",
        &file_args("ledger.jsonl", "cp.note"),
        "key_revoked",
    );
    assert_eq!(f["position"], records.len() as u64 - 1, "{f}");
}

#[test]
fn records_dropped_against_a_witnessed_checkpoint_are_named() {
    use custody_core::cosignature::{add_signature_lines, CosignatureSigner};
    let w = demo();
    let note = std::fs::read_to_string(w.path("cp1.note")).unwrap();
    let body = format!("{}\n", note.split("\n\n").next().unwrap());
    let witness = CosignatureSigner::new(
        "witness.example/icrc",
        custody_core::SecretKey::from_seed([5; 32])
            .signing_key()
            .clone(),
    )
    .unwrap();
    let vkey = witness.verifier_key();
    let cosigned = add_signature_lines(&note, &[witness.cosign(&body, 1_700_000_000)]);
    w.write("cosigned.note", &cosigned);
    w.ok(&["export", "--headers-only", "--out", "public.jsonl"]);
    let all = lines(&w, "public.jsonl");

    let mut args = file_args("public.jsonl", "cosigned.note");
    args.extend(["--witness", &vkey]);
    let (code, v) = audit_in(&w, "s1", &args);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["checkpoint"]["witnesses"][0]["name"],
        "witness.example/icrc"
    );

    // The note without the witness's cosignature does not meet the quorum.
    let mut args = file_args("public.jsonl", "cp1.note");
    args.extend(["--witness", &vkey]);
    fails_with(&w, "s2", &args, "checkpoint/signature");

    // The last records dropped from the copy the auditor is served.
    write_lines(&w, "short.jsonl", &all[..all.len() - 2]);
    let mut args = file_args("short.jsonl", "cosigned.note");
    args.extend(["--witness", &vkey]);
    fails_with(&w, "s3", &args, "checkpoint/truncated");
}

/// The NATS users of the test server: an operator (everything) and the monitor with the shipped
/// `MONITOR_PERMISSIONS` (deploy/policy/nats-permissions.conf; nats-server refuses a variable
/// no user refers to, hence the other two users).
fn monitor_server() -> custody_testkit::NatsServer {
    let permissions = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../deploy/policy/nats-permissions.conf"),
    )
    .expect("read deploy/policy/nats-permissions.conf");
    let extra_config = format!(
        "{permissions}\nauthorization {{\n  users: [\n    {{ user: operator, password: op-pw }}\n    \
         {{ user: custody-monitor, password: mon-pw, permissions: $MONITOR_PERMISSIONS }}\n    \
         {{ user: custody-gateway, password: gw-pw, permissions: $GATEWAY_PERMISSIONS }}\n    \
         {{ user: custody-reader, password: rd-pw, permissions: $READER_PERMISSIONS }}\n  ]\n}}\n"
    );
    custody_testkit::NatsServer::start_with(custody_testkit::ServerOptions {
        extra_config,
        ..custody_testkit::ServerOptions::default()
    })
    .expect("nats-server")
}

#[test]
fn a_monitor_nats_user_audits_the_header_stream_and_can_do_nothing_else() {
    let server = monitor_server();
    let port = server.port();
    let operator = World::nats(&format!("nats://operator:op-pw@127.0.0.1:{port}"));
    operator.ok(&["demo", "--detainees", "2"]);
    operator.ok(&[
        "checkpoint",
        "--ledger-key",
        "demo-keys/ledger.key",
        "--out",
        "cp1.note",
    ]);
    operator.ok(&["export", "--chain", "authority", "--out", "authority.jsonl"]);
    let size = operator.size();

    // The monitor audits with its own user: headers from the stream, the authority chain's
    // payloads from the file, trust anchors and key from the metadata bucket.
    let monitor_url = format!("nats://custody-monitor:mon-pw@127.0.0.1:{port}");
    let state = operator.path("monitor-state").display().to_string();
    let audit = |extra: &[&str]| {
        let mut args = vec![
            "--store",
            &monitor_url,
            "--json",
            "audit",
            "--state-dir",
            &state,
            "--checkpoint",
            "cp1.note",
        ];
        args.extend_from_slice(extra);
        operator.run(&args)
    };
    let r = audit(&["--authority", "authority.jsonl", "--full"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let v: Value = serde_json::from_str(r.stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["records"], size, "{v}");
    assert!(v["headers_only"].as_u64().unwrap_or(0) > 0, "{v}");
    // Without the authority chain, the keys are unknown: refused, naming the rule.
    let r = audit(&["--full"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("payload_missing"), "{}", r.stdout);

    // The monitor's full store open is refused (it would create streams and buckets).
    let r = operator.run(&["--store", &monitor_url, "verify"]);
    assert_ne!(r.code, 0, "{}", r.stdout);

    // Everything but reading the header stream is refused to the monitor's user.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let client = async_nats::ConnectOptions::new()
            .user_and_password("custody-monitor".into(), "mon-pw".into())
            // Replies come to the user's own inbox prefix (deploy/policy/nats-permissions.conf).
            .custom_inbox_prefix("_INBOX_custody-monitor")
            .request_timeout(Some(std::time::Duration::from_secs(2)))
            .connect(format!("nats://127.0.0.1:{port}"))
            .await
            .expect("the monitor connects");
        let js = async_nats::jetstream::new(client.clone());
        // It reads the stream's state (the audit above read every record).
        let mut stream = js.get_stream("CUSTODY").await.expect("stream info");
        assert_eq!(stream.info().await.expect("info").state.messages, size);
        // Not the payload bucket.
        assert!(js.get_key_value("CUSTODY_PAYLOADS").await.is_err());
        let direct = client
            .request(
                "$JS.API.DIRECT.GET.KV_CUSTODY_PAYLOADS",
                r#"{"last_by_subj":"$KV.CUSTODY_PAYLOADS.>"}"#.into(),
            )
            .await;
        assert!(direct.is_err(), "payload bucket read: {direct:?}");
        // Not publishing a record.
        if let Ok(ack) = js.publish("custody.chain.forged", "{}".into()).await {
            assert!(ack.await.is_err(), "a forged record was stored");
        }
        // Not writing metadata.
        let meta = js.get_key_value("CUSTODY_META").await.expect("meta bucket");
        assert!(meta.put("ledger", "{}".into()).await.is_err());
        // Not deleting or purging the stream, nor deleting a message.
        assert!(js.delete_stream("CUSTODY").await.is_err());
        assert!(stream.purge().await.is_err());
        assert!(stream.delete_message(1).await.is_err());
        client.flush().await.ok();
    });
    // Nothing changed: the operator's audit of the same checkpoint still passes.
    assert_eq!(operator.size(), size);
    let state2 = operator.path("operator-state").display().to_string();
    let r = operator.run(&[
        "--json",
        "audit",
        "--state-dir",
        &state2,
        "--checkpoint",
        "cp1.note",
        "--authority",
        "authority.jsonl",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

/// What is done to one record message of the copy of the stream.
#[derive(Clone, Copy, Debug)]
enum Forgery {
    /// A byte of its header changed (its hash no longer matches).
    ByteChanged,
    /// Its header edited and its hash recomputed, the old signature kept: a forged record
    /// that hashes right but that nobody signed.
    Rehashed,
}

/// Copies the ledger stream `CUSTODY` of `from` into a new stream of the same configuration on
/// `to`, message by message on the same subjects, with the message at ledger `position`
/// forged as `forgery` says; returns that record's chain.
async fn copy_stream_forging(from: &str, to: &str, position: u64, forgery: Forgery) -> String {
    let source = async_nats::jetstream::new(async_nats::connect(from).await.expect("connect"));
    let target = async_nats::jetstream::new(async_nats::connect(to).await.expect("connect"));
    let mut stream = source.get_stream("CUSTODY").await.expect("source stream");
    let info = stream.info().await.expect("info").clone();
    target
        .create_stream(info.config.clone())
        .await
        .expect("copy stream");
    let mut chain = String::new();
    for seq in 1..=info.state.last_sequence {
        let m = stream.get_raw_message(seq).await.expect("message");
        let mut payload = m.payload.to_vec();
        if seq == position + 1 {
            let record = Record::from_json(&payload).expect("record");
            chain = record.header.chain.clone();
            let text = String::from_utf8(payload).expect("utf-8");
            let edited = text.replacen("\"recorded_at\":\"20", "\"recorded_at\":\"21", 1);
            assert_ne!(edited, text, "the record has a recorded_at");
            payload = match forgery {
                Forgery::ByteChanged => edited.into_bytes(),
                Forgery::Rehashed => {
                    let mut forged = Record::from_json(edited.as_bytes()).expect("forged");
                    forged.hash = forged.header.compute_hash();
                    assert_ne!(forged.hash, record.hash);
                    forged.to_json_line().into_bytes()
                }
            };
        }
        target
            .publish(m.subject.to_string(), payload.into())
            .await
            .expect("publish")
            .await
            .expect("stored in the copy");
    }
    chain
}

#[test]
fn a_forged_message_published_into_a_copy_of_the_jetstream_stream_is_named() {
    let server = custody_testkit::NatsServer::start().expect("nats-server");
    let w = World::nats(&server.url());
    w.ok(&["demo", "--detainees", "2"]);
    auditor_files(&w);
    w.ok(&["export", "--chain", "authority", "--out", "authority.jsonl"]);
    // A record of a detainee's chain well inside the ledger.
    let exported = w.export();
    let position = exported
        .iter()
        .enumerate()
        .filter(|(_, r)| r.header.chain != custody_core::ids::AUTHORITY_CHAIN)
        .nth(5)
        .map(|(i, _)| i as u64)
        .expect("a detainee record");
    let rt = tokio::runtime::Runtime::new().expect("runtime");

    for (forgery, rule) in [
        (Forgery::ByteChanged, "hash"),
        (Forgery::Rehashed, "signature"),
    ] {
        // The copy: another real nats-server holding the stream with one message forged.
        let copy = custody_testkit::NatsServer::start().expect("nats-server for the copy");
        let chain = rt.block_on(copy_stream_forging(
            &server.url(),
            &copy.url(),
            position,
            forgery,
        ));
        assert_eq!(chain, exported[position as usize].header.chain);
        // An auditor of the copy (the monitor's view: the stream, the authority chain from a
        // file, trust anchors, key and checkpoint from the operator).
        let state = w.path(&format!("state-{forgery:?}")).display().to_string();
        let copy_url = copy.url();
        let r = w.run(&[
            "--store",
            &copy_url,
            "--json",
            "audit",
            "--state-dir",
            &state,
            "--authority",
            "authority.jsonl",
            "--trust",
            "trust.json",
            "--ledger-vkey",
            "ledger.vkey",
            "--checkpoint",
            "cp1.note",
        ]);
        assert_eq!(r.code, 1, "{forgery:?}: {}\n{}", r.stdout, r.stderr);
        let v: Value = serde_json::from_str(r.stdout.lines().last().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
        assert_eq!(v["ok"], false, "{v}");
        let f = &v["failure"];
        assert_eq!(f["position"], position, "{forgery:?}: {v}");
        assert_eq!(f["chain"], chain.as_str(), "{forgery:?}: {v}");
        assert_eq!(f["rule"], rule, "{forgery:?}: {v}");
    }
    // The original still audits clean.
    let state = w.path("state-original").display().to_string();
    let r = w.run(&[
        "--json",
        "audit",
        "--state-dir",
        &state,
        "--authority",
        "authority.jsonl",
        "--checkpoint",
        "cp1.note",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}
