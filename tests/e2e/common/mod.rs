//! Shared harness of the end-to-end tests: runs the real `custody` binary as a user would, in a
//! temporary directory, and builds a small ledger (a police unit, a gendarmerie camp, a prison,
//! their facilities and keys).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use custody_core::encoding::unb64url;
use custody_core::ids::detainee_chain_id;
use custody_core::kinds::EventKind;
use custody_core::{Draft, Hash, Record, SecretKey, Timestamp};
use serde_json::{json, Value};

/// Path of the binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_custody");

/// Validity start of every test key: well before any test runs.
pub const VALID_FROM: &str = "2024-01-01T00:00:00Z";

/// Agencies of the test ledger.
pub const ROOT_AGENCY: &str = "ml-justice";
/// Arresting police unit.
pub const POLICE: &str = "ml-police-mopti";
/// Gendarmerie camp.
pub const GENDARMERIE: &str = "ml-gendarmerie-camp1";
/// Prison.
pub const PRISON: &str = "ml-mca-bamako";

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A `custody` command with a clean environment, in `dir`, on `store`.
pub fn custody_cmd(dir: &Path, store: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("CUSTODY_ROOT_KEY")
        .env_remove("CUSTODY_KEY")
        .env_remove("CUSTODY_LEDGER_KEY")
        .env_remove("CUSTODY_LOG")
        .env_remove("RUST_LOG")
        .env("CUSTODY_STORE", store)
        .stdin(Stdio::null());
    cmd
}

/// A test world: a temporary directory and a store (SQLite file in it, or a NATS URL).
pub struct World {
    /// The temporary directory (removed on drop).
    pub dir: tempfile::TempDir,
    /// The `--store` value.
    pub store: String,
}

impl World {
    /// A world on a SQLite file `custody.db` in a new temporary directory.
    pub fn sqlite() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = dir.path().join("custody.db").display().to_string();
        World { dir, store }
    }

    /// A world on a NATS JetStream server.
    pub fn nats(url: &str) -> World {
        World {
            dir: tempfile::tempdir().expect("tempdir"),
            store: url.to_string(),
        }
    }

    /// A path in the world's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `custody ARGS` and returns what it did.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(
            custody_cmd(self.dir.path(), &self.store)
                .args(args)
                .output()
                .expect("run custody"),
        )
    }

    /// Runs `custody ARGS`, which must succeed; returns standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(
            r.code, 0,
            "custody {args:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
            r.code, r.stdout, r.stderr
        );
        r.stdout
    }

    /// Runs `custody --json ARGS`, which must succeed; returns the last JSON line.
    pub fn ok_json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ok(&all);
        let last = out.lines().last().unwrap_or_default();
        serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }

    /// Runs `custody ARGS`, which must fail with `code`; returns what it printed.
    pub fn fails(&self, code: i32, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(
            r.code, code,
            "custody {args:?} exited {} instead of {code}\nstdout:\n{}\nstderr:\n{}",
            r.code, r.stdout, r.stderr
        );
        r
    }

    /// `custody keygen --out NAME`; returns the path and the public key.
    pub fn keygen(&self, name: &str) -> (String, String) {
        let path = self.path(name).display().to_string();
        let v = self.ok_json(&["keygen", "--out", &path]);
        (path, v["public"].as_str().expect("public").to_string())
    }

    /// Writes a file in the world's directory; returns its path.
    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    }

    /// Number of records in the store (`custody verify --json`).
    pub fn size(&self) -> u64 {
        self.ok_json(&["verify"])["records"]
            .as_u64()
            .expect("records")
    }

    /// Every stored record, via `custody export`.
    pub fn export(&self) -> Vec<Record> {
        self.ok(&["export"])
            .lines()
            .map(|l| Record::from_json(l.as_bytes()).expect("exported record parses"))
            .collect()
    }
}

/// Keys of the test ledger.
pub struct Keys {
    /// Root key file.
    pub root: String,
    /// Checkpoint key file.
    pub ledger: String,
    /// Police officer (arresting_officer, judicial_police_officer) key file.
    pub officer: String,
    /// Its public key.
    pub officer_public: String,
    /// Prison registrar key file.
    pub registrar: String,
}

/// The name of the test ledger (`custody init --name`).
pub const LEDGER_NAME: &str = "test.ml/custody";

/// Creates keys, initialises the ledger and enrolls agencies, a facility and two keys.
pub fn setup_ledger(w: &World) -> Keys {
    let (root, _) = w.keygen("root.key");
    let (ledger, _) = w.keygen("ledger.key");
    let (officer, officer_public) = w.keygen("officer.key");
    let (registrar, registrar_public) = w.keygen("registrar.key");
    w.ok(&[
        "init",
        "--name",
        LEDGER_NAME,
        "--root-key",
        &root,
        "--root-agency",
        ROOT_AGENCY,
        "--ledger-key",
        &ledger,
    ]);
    for (id, name, ty) in [
        (POLICE, "Commissariat de Mopti", "police"),
        (GENDARMERIE, "Gendarmerie Camp I", "gendarmerie"),
        (PRISON, "Maison Centrale d'Arrêt de Bamako", "prison"),
    ] {
        w.ok(&[
            "enroll",
            "agency",
            "--root-key",
            &root,
            "--id",
            id,
            "--name",
            name,
            "--type",
            ty,
            "--country",
            "ML",
        ]);
    }
    w.ok(&[
        "enroll",
        "facility",
        "--root-key",
        &root,
        "--id",
        "ml-mca-bamako-main",
        "--agency",
        PRISON,
        "--name",
        "MCA Bamako",
        "--kind",
        "prison",
        "--capacity",
        "400",
        "--recognised",
        "--region",
        "Bamako District",
    ]);
    for (key, agency, roles, badge) in [
        (
            &officer_public,
            POLICE,
            "arresting_officer,judicial_police_officer",
            "PM-0001",
        ),
        (&registrar_public, PRISON, "registrar", "MCA-0001"),
    ] {
        w.ok(&[
            "enroll",
            "key",
            "--root-key",
            &root,
            "--key",
            key,
            "--agency",
            agency,
            "--roles",
            roles,
            "--holder-name",
            "Test Holder",
            "--badge",
            badge,
            "--valid-from",
            VALID_FROM,
        ]);
    }
    Keys {
        root,
        ledger,
        officer,
        officer_public,
        registrar,
    }
}

/// `custody --json record arrest --new-chain` by the test officer; returns the JSON answer
/// (chain id, human code, position, hash).
pub fn record_arrest(w: &World, keys: &Keys) -> Value {
    let body = w.write("arrest.json", &arrest_body().to_string());
    w.ok_json(&[
        "record",
        "arrest",
        "--key",
        &keys.officer,
        "--agency",
        POLICE,
        "--new-chain",
        "--body",
        &body,
    ])
}

/// A valid arrest body (no name: an unknown person described physically).
pub fn arrest_body() -> Value {
    json!({
        "person": {
            "identity_basis": "unknown",
            "physical_description": "adult man, about 30, blue boubou"
        },
        "place": {"description": "checkpoint at the north exit of Sévaré", "region": "Mopti"},
        "arresting_force": POLICE,
        "officer": {"service_number": "PM-0001"},
        "grounds": "stopped at the checkpoint without papers during a search operation",
        "suspected_offence": "association de malfaiteurs (suspected)",
        "ordering_authority": "flagrante delicto",
        "visible_injuries": {"present": false},
        "complaints_of_ill_treatment": {"present": false}
    })
}

/// Reads a key file written by `custody keygen`.
pub fn read_key(path: &str) -> SecretKey {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("key file")).expect("key JSON");
    let seed: [u8; 32] = unb64url(v["seed"].as_str().expect("seed"))
        .expect("base64url")
        .try_into()
        .expect("32 bytes");
    SecretKey::from_seed(seed)
}

/// Now, whole seconds.
pub fn now() -> Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    Timestamp::from_unix_seconds(secs as i64)
}

/// A signed arrest opening a new chain number `n` (deterministic chain ids).
pub fn signed_arrest(key: &SecretKey, n: u64, salt: u8) -> Record {
    let t = now();
    Draft {
        ledger: LEDGER_NAME.to_string(),
        chain: detainee_chain_id((0x0190_0000_0000u128 << 80) | u128::from(n)),
        seq: 0,
        prev: None,
        kind: EventKind::Arrest,
        occurred_at: t.clone(),
        recorded_at: t,
        agency: POLICE.to_string(),
        body: arrest_body(),
    }
    .sign(key, &[salt; 16])
}

/// A signed event extending a chain.
pub fn signed_next(
    key: &SecretKey,
    prev: &Record,
    kind: EventKind,
    agency: &str,
    body: Value,
) -> Record {
    let t = now();
    Draft {
        ledger: prev.header.ledger.clone(),
        chain: prev.header.chain.clone(),
        seq: prev.header.seq + 1,
        prev: Some(prev.hash),
        kind,
        occurred_at: t.clone(),
        recorded_at: t,
        agency: agency.to_string(),
        body,
    }
    .sign(key, &[9; 16])
}

/// Records acknowledged by a `custody --json submit` run, from its per-line reports.
pub fn acknowledged(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["status"].is_string())
        .filter_map(|v| v["hash"].as_str().map(str::to_string))
        .collect()
}

/// Writes records as JSONL.
pub fn write_jsonl(path: &Path, records: &[Record]) {
    let mut text = String::new();
    for r in records {
        text.push_str(&r.to_json_line());
        text.push('\n');
    }
    std::fs::write(path, text).expect("write jsonl");
}

/// How many stored records have this hash.
pub fn count_hash(records: &[Record], hash: &Hash) -> usize {
    records.iter().filter(|r| &r.hash == hash).count()
}

/// A running `custody serve`.
pub struct Serve {
    /// The process.
    pub child: Child,
    /// Its base URL.
    pub url: String,
}

impl Serve {
    /// Starts `custody serve` on a port and waits until it accepts connections.
    pub fn start(w: &World, port: u16) -> Serve {
        Serve::start_with(w, port, &[])
    }

    /// [`Serve::start`] with more flags of `custody serve`.
    pub fn start_with(w: &World, port: u16, flags: &[&str]) -> Serve {
        let listen = format!("127.0.0.1:{port}");
        let log_path = w.path("serve.log");
        let log = std::fs::File::create(&log_path).expect("serve log");
        let child = custody_cmd(w.dir.path(), &w.store)
            .args(["serve", "--listen", &listen])
            .args(flags)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn serve");
        let url = format!("http://{listen}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut child = child;
        while std::net::TcpStream::connect(&listen).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("custody serve exited at start ({status}):\n{log}");
            }
            assert!(Instant::now() < deadline, "custody serve did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Serve { child, url }
    }

    /// `GET path` over plain HTTP/1.0: the status code and the body.
    pub fn get(&self, path: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("send");
        let mut response = String::new();
        s.read_to_string(&mut response).expect("read");
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        (status, body.to_string())
    }

    /// Kills it with SIGKILL.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new SQLite store that is a replica of `hq`'s ledger, made from its public files
/// (trust.json, ledger.vkey, the authority chain), as a post or a prison is set up.
pub fn replica_of(hq: &World) -> World {
    let trust = hq.path("trust.json").display().to_string();
    if !hq.path("trust.json").exists() {
        hq.ok(&["trust", "--out", &trust]);
        hq.write("ledger.vkey", &hq.ok(&["ledger-key"]));
        let authority = hq.path("authority.jsonl").display().to_string();
        hq.ok(&["export", "--chain", "authority", "--out", &authority]);
    }
    let post = World::sqlite();
    let vkey = hq.path("ledger.vkey").display().to_string();
    post.ok(&["init", "--trust", &trust, "--ledger-vkey", &vkey]);
    post.ok(&["submit", &hq.path("authority.jsonl").display().to_string()]);
    post
}
