//! The `custody-witness` binary: init (key file mode 0600, vkey printed), add-log, serve over
//! TCP, a cosignature that verifies, a restart that keeps the state, status, and refusals (a
//! key file of another witness, a key file others may read).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use custody_core::checkpoint::{Checkpoint, NoteSigner};
use custody_core::cosignature::{add_signature_lines, verify_cosigned, CosignatureVerifier};
use custody_core::merkle::{consistency_proof, leaf_hash, root_of, Digest};
use custody_witness::client::{add_checkpoint, AddCheckpointError};
use ed25519_dalek::SigningKey;

const BIN: &str = env!("CARGO_BIN_EXE_custody-witness");
const ORIGIN: &str = "custody-ledger.cli-test";

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Starts `serve` on a free port; returns the child and the base URL it printed.
fn serve(db: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--db",
            db.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("custody-witness listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, format!("http://{addr}"))
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn init_add_log_serve_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("witness.db");
    let key = dir.path().join("witness.key");
    let (db_s, key_s) = (db.to_str().unwrap(), key.to_str().unwrap());

    let (ok, vkey, err) = run(&[
        "init",
        "--name",
        "witness.test/cli",
        "--key",
        key_s,
        "--db",
        db_s,
    ]);
    assert!(ok, "{err}");
    let wv = CosignatureVerifier::parse(vkey.trim()).unwrap();
    assert_eq!(wv.name(), "witness.test/cli");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // A second init is refused; the key is not overwritten.
    let before = std::fs::read(&key).unwrap();
    let (ok, _, err) = run(&["init", "--name", "x", "--key", key_s, "--db", db_s]);
    assert!(!ok && err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&key).unwrap(), before);

    // A bad log key is refused by name; a good one is added.
    let (ok, _, err) = run(&[
        "add-log", "--db", db_s, "--origin", ORIGIN, "--vkey", "nope",
    ]);
    assert!(!ok && err.contains("log key \"nope\" is invalid"), "{err}");
    let log = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[3; 32])).unwrap();
    let (ok, out, err) = run(&[
        "add-log",
        "--db",
        db_s,
        "--origin",
        ORIGIN,
        "--vkey",
        &log.verifier_key(),
    ]);
    assert!(ok && out.starts_with("added log"), "{err}");

    let leaves: Vec<Digest> = (0..20u8).map(|i| leaf_hash(&[i; 32])).collect();
    let note = |size: u64| {
        log.sign_checkpoint(&Checkpoint {
            origin: ORIGIN.into(),
            size,
            root: root_of(&leaves[..size as usize]),
            extensions: vec![],
        })
        .unwrap()
    };

    {
        let (child, base) = serve(&db);
        let _guard = Killed(child);
        let lines = add_checkpoint(&base, 0, &[], &note(8)).await.unwrap();
        let cosigned = add_signature_lines(&note(8), &lines);
        verify_cosigned(&cosigned, &log.verifier(), std::slice::from_ref(&wv), 1).unwrap();
    }
    // Restarted: the witness remembers size 8.
    let (child, base) = serve(&db);
    let _guard = Killed(child);
    assert_eq!(
        add_checkpoint(&base, 0, &[], &note(12)).await,
        Err(AddCheckpointError::Conflict { witness_size: 8 })
    );
    let proof = consistency_proof(&leaves, 8, 12).unwrap();
    add_checkpoint(&base, 8, &proof, &note(12)).await.unwrap();

    let (ok, out, err) = run(&["status", "--db", db_s]);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("log {ORIGIN} size 12 ")), "{out}");
    assert!(
        out.starts_with(&format!("witness {}", vkey.trim())),
        "{out}"
    );

    // serve refuses a key file that is not the witness's.
    let other = dir.path().join("other.key");
    custody_witness::keyfile::write(&other, &custody_witness::keyfile::random_key().unwrap())
        .unwrap();
    let (ok, _, err) = run(&[
        "serve",
        "--db",
        db_s,
        "--key",
        other.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(!ok && err.contains("is not this witness's key"), "{err}");

    // serve refuses its own key file once group or others may read it, naming it and the fix.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
        let (ok, _, err) = run(&[
            "serve",
            "--db",
            db_s,
            "--key",
            key_s,
            "--listen",
            "127.0.0.1:0",
        ]);
        assert!(!ok, "served with a key file others may read");
        assert!(
            err.contains(&format!(
                "key file {key_s} is readable by others (mode 0640): chmod 600 {key_s}"
            )),
            "{err}"
        );
    }
}
