//! `custody-bench witness`: `add-checkpoint` requests per second against a running witness
//! (`custody-witness`'s router served over TCP on loopback, its SQLite file on disk), one
//! client sending a growing log's checkpoints one after another, each with its real consistency
//! proof from the previous one, over a keep-alive connection.
//!
//! Beside it, in the same run and over the same requests:
//! - baseline "checks only": the witness's cryptographic work per request in this process,
//!   without HTTP or SQLite: the log's note signature (strict Ed25519), the consistency proof,
//!   and the cosignature (an Ed25519 signature);
//! - "checks + SQLite": the same plus the witness's atomic database step
//!   ([`custody_witness::db::WitnessDb::commit`], one `BEGIN IMMEDIATE` transaction with a
//!   synchronous write per request), still without HTTP.
//!
//! The difference between the three says where a request's time goes (the durable write is
//! usually most of it). Every answer is checked: the last cosignature is verified, and the
//! witness's stored size must be the last checkpoint's.

use std::time::Instant;

use anyhow::{bail, Context};
use custody_core::checkpoint::{Checkpoint, NoteSigner};
use custody_core::cosignature::{add_signature_lines, verify_cosigned, CosignatureSigner};
use custody_core::merkle::{consistency_proof, leaf_hash, verify_consistency, Digest, Frontier};
use custody_witness::client::WitnessClient;
use custody_witness::db::WitnessDb;
use custody_witness::server::{router, WitnessState};
use ed25519_dalek::SigningKey;

use crate::sys;

/// What `custody-bench witness` measures.
#[derive(Debug, Clone)]
pub struct WitnessSettings {
    /// Checkpoints sent (requests).
    pub checkpoints: usize,
    /// Leaves the log grows by between two checkpoints.
    pub step: usize,
}

const ORIGIN: &str = "bench.custody-ledger.example";

/// One request: old size, proof, note, and the checkpoint.
struct Request {
    old: u64,
    proof: Vec<Digest>,
    note: String,
    checkpoint: Checkpoint,
}

/// Runs the measurement and prints the figures.
pub async fn run(settings: &WitnessSettings) -> anyhow::Result<()> {
    if settings.checkpoints == 0 || settings.step == 0 {
        bail!("--checkpoints and --step must be at least 1");
    }
    println!(
        "witness add-checkpoint: {} checkpoints, the log growing by {} leaves each ({} leaves); load average {}",
        settings.checkpoints,
        settings.step,
        settings.checkpoints * settings.step,
        sys::load_average().map_or("?".into(), |l| format!("{l:.2}"))
    );
    let log = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[11; 32]))?;
    let cosigner = || {
        CosignatureSigner::new(
            "bench.witness.example/w1",
            SigningKey::from_bytes(&[12; 32]),
        )
    };

    // The log and every request, prepared before any timing.
    let t = Instant::now();
    let total = settings.checkpoints * settings.step;
    let leaves: Vec<Digest> = (0..total as u64)
        .map(|i| {
            let mut e = [0u8; 32];
            e[..8].copy_from_slice(&i.to_be_bytes());
            leaf_hash(&e)
        })
        .collect();
    let mut frontier = Frontier::new();
    let mut requests = Vec::with_capacity(settings.checkpoints);
    let mut old = 0u64;
    for (i, leaf) in leaves.iter().enumerate() {
        frontier.push(*leaf);
        if (i + 1) % settings.step != 0 {
            continue;
        }
        let size = frontier.size();
        let checkpoint = Checkpoint {
            origin: ORIGIN.into(),
            size,
            root: frontier.root(),
            extensions: vec![],
        };
        let proof = if old == 0 {
            Vec::new()
        } else {
            consistency_proof(&leaves[..size as usize], old, size)?
        };
        requests.push(Request {
            old,
            proof,
            note: log.sign_checkpoint(&checkpoint)?,
            checkpoint,
        });
        old = size;
    }
    println!(
        "  prepared {} requests in {:.1} s",
        requests.len(),
        t.elapsed().as_secs_f64()
    );

    // Baseline: the checks and the cosignature, in process.
    let verifier = log.verifier();
    let signer = cosigner()?;
    let t = Instant::now();
    let mut root = custody_core::merkle::EMPTY_ROOT;
    let mut lines = 0usize;
    for r in &requests {
        let text = verifier.verify(&r.note)?;
        let cp = Checkpoint::parse_body(&text)?;
        verify_consistency(r.old, cp.size, &root, &cp.root, &r.proof)?;
        root = cp.root;
        lines += signer.cosign(&text, 1_700_000_000).len();
    }
    let checks = t.elapsed().as_secs_f64();
    if lines == 0 {
        bail!("no cosignature was made");
    }

    // The same plus the atomic SQLite step, in process.
    let dir = tempfile::tempdir()?;
    let db = WitnessDb::open(&dir.path().join("direct.db"))?;
    db.add_log(ORIGIN, &log.verifier_key())?;
    let t = Instant::now();
    for r in &requests {
        let text = verifier.verify(&r.note)?;
        let cp = Checkpoint::parse_body(&text)?;
        db.commit(ORIGIN, r.old, cp.size, &cp.root, &r.proof, None)?;
        lines += signer.cosign(&text, 1_700_000_000).len();
    }
    let with_db = t.elapsed().as_secs_f64();
    if lines < 2 * requests.len() {
        bail!("a cosignature is missing");
    }

    // The witness over HTTP on loopback.
    let db = WitnessDb::open(&dir.path().join("witness.db"))?;
    db.add_log(ORIGIN, &log.verifier_key())?;
    let state = WitnessState::new(db, cosigner()?);
    let witness_vkey = state.verifier_key();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = router(state.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let client = WitnessClient::new();
    let t = Instant::now();
    let mut last = Vec::new();
    for r in &requests {
        last = client
            .add_checkpoint(&base, r.old, &r.proof, &r.note)
            .await
            .with_context(|| format!("add-checkpoint of size {}", r.checkpoint.size))?;
    }
    let http = t.elapsed().as_secs_f64();
    server.abort();

    let final_request = requests.last().context("no request")?;
    let cosigned = add_signature_lines(&final_request.note, &last);
    let w = custody_core::cosignature::CosignatureVerifier::parse(&witness_vkey)?;
    verify_cosigned(&cosigned, &verifier, &[w], 1)?;
    let stored = state.db().state(ORIGIN)?.context("the log is configured")?;
    if stored.size != final_request.checkpoint.size {
        bail!(
            "the witness holds size {}, not {}",
            stored.size,
            final_request.checkpoint.size
        );
    }

    let n = requests.len() as f64;
    let row = |name: &str, secs: f64| {
        println!(
            "  {name:<44} {:>9} req/s  {:>8.3} ms/req",
            sys::thousands(n / secs),
            secs * 1000.0 / n
        );
    };
    row("witness over HTTP (loopback, SQLite, fsync)", http);
    row("checks + SQLite step, in process", with_db);
    row("baseline: checks + cosignature, in process", checks);
    println!(
        "  HTTP witness at {:.2}x the in-process checks + SQLite, {:.3}x the bare checks; load average {}",
        with_db / http,
        checks / http,
        sys::load_average().map_or("?".into(), |l| format!("{l:.2}"))
    );
    Ok(())
}
