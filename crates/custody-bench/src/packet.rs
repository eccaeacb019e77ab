//! `custody-bench packet`: `custody packet export` and the offline `custody packet verify` of one
//! detainee chain of 200 events carrying evidence, timed and with each process's peak memory,
//! as the real binary runs them.
//!
//! The chain is the first detainee of the demo world (seed 1) extended with `evidence_added`
//! records, each with a blob of random bytes, up to the requested number of events; the total
//! evidence is split evenly over them. The same chain is measured with several evidence
//! totals, and once exported with no blob in the packet (`--max-blob-bytes 0`: manifest
//! entries only) as the baseline, so that what the evidence bytes cost, in time and in
//! memory, shows beside it. Blobs stream: the peak memory should not grow with the evidence.
//!
//! Every record is appended through `Ledger::append` (validated), the checkpoint is signed by
//! the demo's ledger key over the whole ledger, and the binary is `custody` next to this
//! harness (`cargo build --release -p custody-cli -p custody-bench`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use custody_core::checkpoint::{Checkpoint, NoteSigner};
use custody_core::kinds::EventKind;
use custody_core::merkle::{leaf_hash, root_of};
use custody_core::validate::ValidatorConfig;
use custody_core::{Draft, Record, Timestamp};
use custody_evidence::{BlobId, BlobStore, DirBlobStore, Limits};
use custody_ledger::{Ledger, LedgerMeta, LedgerRole};
use custody_scenario::{build_as_of, ScenarioConfig};
use custody_store::{LedgerScan, LedgerStore};
use custody_store_sqlite::SqliteStore;
use serde_json::json;

use crate::sys::run_custody;
use sha2::{Digest as _, Sha256};

/// What to measure.
#[derive(Clone, Debug)]
pub struct PacketSettings {
    /// Events of the chain (arrest and the demo's records included).
    pub events: usize,
    /// Evidence totals to measure, in MiB.
    pub evidence_mib: Vec<u64>,
}

/// Builds the ledger of the measured chain in `dir` (a SQLite file, its evidence directory, a
/// checkpoint over it); returns the store path, the chain id and the checkpoint file.
async fn build_ledger(
    dir: &Path,
    events: usize,
    evidence_bytes: u64,
) -> anyhow::Result<(PathBuf, String, PathBuf)> {
    let now = crate::sys::now();
    let as_of = Timestamp::from_unix_seconds(now.unix_seconds() - 3600);
    let scenario = build_as_of(
        &ScenarioConfig {
            seed: 1,
            detainees: 1,
        },
        &as_of,
    )
    .map_err(|e| anyhow::anyhow!("the demo world does not build: {e}"))?;
    let signer = NoteSigner::new(&scenario.name, scenario.ledger_key.signing_key().clone())
        .map_err(|e| anyhow::anyhow!("ledger name: {e}"))?;
    let meta = LedgerMeta {
        name: scenario.name.clone(),
        trust: scenario.trust.clone(),
        ledger_vkey: signer.verifier_key(),
        role: LedgerRole::Primary,
    };
    let db = dir.join("post.db");
    let store: Arc<dyn LedgerStore> = Arc::new(SqliteStore::open(&db)?);
    Ledger::init(store.clone(), meta).await?;
    let ledger = Ledger::open(store.clone(), ValidatorConfig::default()).await?;
    for record in &scenario.records {
        ledger.append(record, &now).await?;
    }
    let chain = scenario
        .detainees
        .first()
        .context("the demo world has no detainee")?
        .chain
        .clone();
    let mut head: Record = store
        .chain(&chain)
        .await?
        .pop()
        .context("the detainee's chain is empty")?
        .record;
    let have = usize::try_from(head.header.seq + 1).unwrap_or(usize::MAX);
    if have >= events {
        bail!("the demo chain already has {have} events: ask for more than that");
    }
    let extra = events - have;
    let per_blob = (evidence_bytes / extra as u64).max(1);
    let blobs = DirBlobStore::open(
        PathBuf::from(format!("{}.evidence", db.display())),
        Limits {
            max_bytes: u64::MAX / 2,
        },
    )?;
    let mut t = scenario
        .records
        .iter()
        .map(|r| r.header.recorded_at.unix_seconds())
        .max()
        .unwrap_or(0);
    let mut signer_index = None;
    for i in 0..extra {
        let blob = random_bytes(per_blob as usize, i as u64);
        let digest: [u8; 32] = Sha256::digest(&blob).into();
        let id = BlobId {
            digest: custody_core::Hash(digest),
            size: blob.len() as u64,
        };
        blobs.put(id, &mut blob.as_slice()).await?;
        t += 1;
        let body = json!({
            "content_digest": id.digest.to_hex(),
            "size_bytes": id.size,
            "media_type": "application/octet-stream",
            "label": format!("scellé {i}"),
            "provenance": "benchmark: random bytes",
        });
        // The first actor the ledger accepts for this chain signs every evidence record.
        let order: Vec<usize> = match signer_index {
            Some(k) => vec![k],
            None => (0..scenario.actors.len()).collect(),
        };
        let mut appended = None;
        for k in order {
            let actor = &scenario.actors[k];
            let at = Timestamp::from_unix_seconds(t);
            let record = Draft {
                ledger: scenario.name.clone(),
                chain: chain.clone(),
                seq: head.header.seq + 1,
                prev: Some(head.hash),
                kind: EventKind::EvidenceAdded,
                occurred_at: at.clone(),
                recorded_at: at,
                agency: actor.agency.to_string(),
                body: body.clone(),
            }
            .sign(&actor.key, &derive_salt(i as u64));
            if ledger.append(&record, &now).await.is_ok() {
                signer_index = Some(k);
                appended = Some(record);
                break;
            }
        }
        head = appended.context("no actor of the demo world may add evidence to its chain")?;
    }

    // The checkpoint over the whole ledger.
    let mut leaves = Vec::new();
    let mut scan = LedgerScan::new(store.as_ref(), 0);
    while let Some(batch) = scan.next_batch().await? {
        leaves.extend(batch.iter().map(|ev| leaf_hash(&ev.record.hash.0)));
    }
    let note = signer.sign_checkpoint(&Checkpoint {
        origin: scenario.name.clone(),
        size: leaves.len() as u64,
        root: root_of(&leaves),
        extensions: Vec::new(),
    })?;
    let cp = dir.join("checkpoint.txt");
    std::fs::write(&cp, note)?;
    Ok((db, chain, cp))
}

/// Deterministic pseudo-random bytes (xorshift), so blobs do not compress or repeat.
fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}

fn derive_salt(i: u64) -> [u8; 16] {
    let d: [u8; 32] = Sha256::digest(format!("custody-bench/packet/salt/{i}")).into();
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&d[..16]);
    salt
}

/// Runs the measurement and prints the table.
pub fn run(settings: &PacketSettings) -> anyhow::Result<()> {
    let custody = crate::sys::custody_binary()?;
    let rt = tokio::runtime::Runtime::new()?;
    println!(
        "custody-bench packet: export and offline verify of a {}-event chain (custody binary: {}, {} CPUs, load {:.2})",
        settings.events,
        custody.display(),
        crate::sys::cpus(),
        crate::sys::load_average().unwrap_or(f64::NAN)
    );
    println!(
        "{:<34} {:>11} {:>10} {:>11} {:>10} {:>11}",
        "evidence", "packet MiB", "export s", "export MiB", "verify s", "verify MiB"
    );
    for &mib in &settings.evidence_mib {
        let dir = tempfile::tempdir()?;
        let (db, chain, cp) = rt.block_on(build_ledger(dir.path(), settings.events, mib << 20))?;
        let cp = cp.display().to_string();
        let mut cases = vec![(format!("{mib} MiB in the packet"), u64::MAX / 4)];
        if mib == settings.evidence_mib[0] {
            cases.insert(0, (format!("baseline: {mib} MiB, manifest only"), 0));
        }
        for (label, max_blob) in cases {
            let out = dir.path().join(format!("p-{max_blob}.packet"));
            let out_s = out.display().to_string();
            let export = run_custody(
                &custody,
                &db,
                &[
                    "packet",
                    "export",
                    "--chain",
                    &chain,
                    "--out",
                    &out_s,
                    "--checkpoint",
                    &cp,
                    "--max-blob-bytes",
                    &max_blob.to_string(),
                ],
            )?;
            let verify = run_custody(&custody, &db, &["packet", "verify", &out_s])?;
            let size = std::fs::metadata(&out)?.len();
            println!(
                "{:<34} {:>11.1} {:>10.3} {:>11.1} {:>10.3} {:>11.1}",
                label,
                size as f64 / (1 << 20) as f64,
                export.secs,
                export.peak_kib as f64 / 1024.0,
                verify.secs,
                verify.peak_kib as f64 / 1024.0,
            );
        }
    }
    println!("aim: verify of the 20 MiB packet under 1 s; peak memory the same whatever the evidence size");
    Ok(())
}
