//! `custody checkpoint`: a freshly signed checkpoint note over the current ledger.

use std::io::Write;

use anyhow::Context;
use custody_core::checkpoint::{Checkpoint, NoteSigner};
use custody_core::merkle::{leaf_hash, Frontier};
use custody_store::LedgerStore;
use serde_json::json;

use crate::cli::CheckpointArgs;
use crate::output::Output;
use crate::{keyfile, store};

/// Records read from the store per call.
const BATCH: usize = 1000;

/// The Merkle tree (frontier) of every stored record, read in ledger order.
pub async fn tree_of(s: &dyn LedgerStore) -> anyhow::Result<Frontier> {
    let mut frontier = Frontier::new();
    loop {
        let batch = s.read_from(frontier.size(), BATCH).await?;
        if batch.is_empty() {
            return Ok(frontier);
        }
        for ev in batch {
            if ev.position != frontier.size() {
                anyhow::bail!(
                    "the store returned position {} where {} was expected: the store is damaged",
                    ev.position,
                    frontier.size()
                );
            }
            frontier.push(leaf_hash(ev.record.hash.as_bytes()));
        }
    }
}

/// Signs and prints (or writes) the checkpoint.
pub async fn run(out: Output, spec: &str, args: &CheckpointArgs) -> anyhow::Result<()> {
    let key = keyfile::read(&args.ledger_key)?;
    let s = store::open_store(spec, store::Create::No).await?;
    let meta = store::read_meta(spec, s.as_ref()).await?;
    let signer = NoteSigner::new(&meta.name, key.signing_key().clone())
        .map_err(|e| anyhow::anyhow!("ledger name {:?}: {e}", meta.name))?;
    if signer.verifier_key() != meta.ledger_vkey {
        anyhow::bail!(
            "{} is not the checkpoint key of ledger {:?} (its verifier key is {}): pass the --ledger-key given to `custody init`",
            args.ledger_key.display(),
            meta.name,
            meta.ledger_vkey
        );
    }
    let tree = tree_of(s.as_ref()).await?;
    let checkpoint = Checkpoint {
        origin: meta.name.clone(),
        size: tree.size(),
        root: tree.root(),
        extensions: Vec::new(),
    };
    let note = signer
        .sign_checkpoint(&checkpoint)
        .context("cannot sign the checkpoint")?;
    match &args.out {
        Some(path) => {
            crate::files::create_new(path)?
                .write_all(note.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            out.json(
                &json!({"file": path.display().to_string(), "size": checkpoint.size, "note": note}),
            );
            out.info(format!(
                "wrote checkpoint of size {} to {}",
                checkpoint.size,
                path.display()
            ));
        }
        None => {
            if out.json {
                out.json(&json!({"size": checkpoint.size, "note": note}));
            } else {
                print!("{note}");
            }
        }
    }
    Ok(())
}
