//! `custody record KIND --interactive` driven through a real pseudo-terminal: each field asked
//! in French, a wrong answer asked again with its error, the record shown in plain words, and
//! signed and appended only on yes.

mod common;

use std::process::Command;

use common::*;
use rexpect::session::PtySession;

/// Generous: the machine may be slow and loaded; nothing here waits for a timeout to pass.
const TIMEOUT_MS: u64 = 120_000;

/// rexpect reads the terminal byte by byte as chars: the same view of a UTF-8 needle.
fn bytes(s: &str) -> String {
    s.bytes().map(char::from).collect()
}

/// Waits for `text` (UTF-8) on the terminal; returns what came before it, decoded.
fn wait(p: &mut PtySession, text: &str) -> String {
    match p.exp_string(&bytes(text)) {
        Ok(before) => {
            let raw: Vec<u8> = before.chars().map(|c| c as u32 as u8).collect();
            String::from_utf8_lossy(&raw).into_owned()
        }
        Err(e) => panic!("waiting for {text:?}: {e}"),
    }
}

/// Types a line (Enter at the end).
fn type_line(p: &mut PtySession, line: &str) {
    p.send_line(line).expect("type on the terminal");
}

/// Starts `custody record family_notified --interactive` on `code` in a pseudo-terminal.
fn spawn(w: &World, code: &str) -> PtySession {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(w.dir.path())
        .env_remove("CUSTODY_KEY")
        .env_remove("CUSTODY_LOG")
        .env_remove("RUST_LOG")
        .env("CUSTODY_STORE", &w.store)
        .args([
            "record",
            "family_notified",
            "--interactive",
            "--chain",
            code,
            "--key",
            "demo-keys/police-gao-opj.key",
            "--agency",
            "ml-police-gao",
        ]);
    rexpect::session::spawn_command(cmd, Some(TIMEOUT_MS)).expect("spawn in a pty")
}

/// Answers every field of a family notification, with one blank and one wrong answer that
/// must be asked again; then waits for the plain-words summary and the final question.
fn answer_the_fields(p: &mut PtySession) -> String {
    wait(p, "Nouvel événement family_notified");
    wait(p, "Personne prévenue (lien de parenté)");
    type_line(p, "   ");
    wait(
        p,
        "erreur : la réponse ne peut pas être faite que d'espaces",
    );
    wait(p, "Personne prévenue (lien de parenté)");
    type_line(p, "oncle");
    // A selection list: one step down from "en personne" is "téléphone".
    wait(p, "Moyen");
    wait(p, "en personne");
    p.send("j").expect("type on the terminal");
    type_line(p, "");
    wait(p, "Objet de la notification");
    wait(p, "détention");
    type_line(p, "");
    wait(p, "Personne jointe (o/n)");
    type_line(p, "peut etre");
    wait(p, "erreur : répondez o (oui) ou n (non)");
    type_line(p, "o");
    wait(p, "Précisions (facultatif, Entrée pour passer)");
    type_line(p, "");
    wait(p, "Nom (facultatif, Entrée pour passer)");
    type_line(p, "Aminata Traore");
    wait(
        p,
        "Demandé par la personne détenue (facultatif, Entrée pour passer)",
    );
    type_line(p, "");
    wait(p, "Récapitulatif de l'événement family_notified");
    let mut summary = String::new();
    for line in [
        "Agence : ml-police-gao",
        "Moyen : téléphone",
        "Nom : Aminata Traore",
        "Personne jointe : oui",
        "Objet de la notification : détention",
        "Personne prévenue (lien de parenté) : oncle",
    ] {
        wait(p, line);
        summary.push_str(line);
        summary.push('\n');
    }
    wait(p, "Signer et enregistrer ? (o/n)");
    summary
}

/// Waits for the end of the program and returns its exit code.
fn exit_code(p: &mut PtySession) -> i32 {
    p.exp_eof().expect("the program ends");
    match p.process_mut().wait() {
        Ok(rexpect::process::WaitStatus::Exited(_, code)) => code,
        other => panic!("custody did not exit normally: {other:?}"),
    }
}

#[test]
fn interactive_record_asks_each_field_shows_the_record_and_signs_only_on_yes() {
    let w = World::sqlite();
    w.ok(&["demo", "--detainees", "5", "--quiet"]);
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../schemas/examples/arrest/valid-menaka-barkhane.json");
    let arrest = w.ok_json(&[
        "record",
        "arrest",
        "--new-chain",
        "--key",
        "demo-keys/police-gao-opj.key",
        "--agency",
        "ml-police-gao",
        "--body",
        &example.display().to_string(),
    ]);
    let code = arrest["code"].as_str().expect("a code").to_string();
    let before = w.ok(&["export", "--chain", &code]).lines().count();
    assert_eq!(before, 1);

    // Yes: signed and appended, with the typed values.
    let mut p = spawn(&w, &code);
    answer_the_fields(&mut p);
    type_line(&mut p, "o");
    wait(&mut p, "recorded family_notified");
    assert_eq!(exit_code(&mut p), 0);
    let exported = w.ok(&["export", "--chain", &code]);
    assert_eq!(exported.lines().count(), before + 1, "{exported}");
    let last: serde_json::Value =
        serde_json::from_str(exported.lines().last().unwrap_or_default()).expect("a JSON line");
    assert_eq!(last["header"]["kind"], "family_notified", "{last}");
    let body = &last["payload"]["body"];
    assert_eq!(
        body,
        &serde_json::json!({
            "who": "oncle",
            "means": "phone",
            "subject": "detention",
            "reached": true,
            "name": "Aminata Traore",
        }),
        "{last}"
    );
    assert_eq!(last["header"]["agency"], "ml-police-gao");
    let size = w.size();

    // No: nothing appended, said so, exit 0.
    let mut p = spawn(&w, &code);
    answer_the_fields(&mut p);
    type_line(&mut p, "n");
    wait(&mut p, "Rien n'a été enregistré.");
    assert_eq!(exit_code(&mut p), 0);
    assert_eq!(
        w.ok(&["export", "--chain", &code]).lines().count(),
        before + 1
    );
    assert_eq!(w.size(), size, "a no changes nothing");

    // Without a terminal, --interactive is refused with the reason, and nothing is asked.
    let r = w.run(&[
        "record",
        "family_notified",
        "--interactive",
        "--chain",
        &code,
        "--key",
        "demo-keys/police-gao-opj.key",
        "--agency",
        "ml-police-gao",
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("demande un terminal"), "{}", r.stderr);
    // Exactly one source of the body.
    let r = w.run(&[
        "record",
        "family_notified",
        "--interactive",
        "--body-json",
        "{}",
        "--chain",
        &code,
        "--key",
        "demo-keys/police-gao-opj.key",
        "--agency",
        "ml-police-gao",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--body-json"), "{}", r.stderr);
    assert_eq!(w.size(), size);
}
