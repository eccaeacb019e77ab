//! `custody checkpoint`: a freshly signed checkpoint note over the current ledger, signed only
//! when every record of it verifies.

use std::io::Write;

use anyhow::Context;
use custody_checkpointer::{Checkpointer, Witness};
use custody_core::checkpoint::{Checkpoint, NoteSigner};
use custody_core::merkle::Digest;
use custody_store::LedgerStore;
use custody_verify::Verifier;
use serde_json::json;

use crate::cli::CheckpointArgs;
use crate::cmd::verify;
use crate::output::Output;
use crate::{clock, keyfile, store};

/// The size and root of the store's ledger, after verifying every record of it: a checkpoint
/// is the ledger operator's signed word that these records are the ledger, so it is never
/// signed over records that do not verify.
pub(crate) async fn verified_tree(
    s: &dyn LedgerStore,
    trust: custody_core::authority::TrustAnchors,
) -> anyhow::Result<(u64, Digest)> {
    // The store's own records, replayed: none is refused for being ahead of this clock.
    let report = Verifier::new(trust)
        .with_ahead_notice(Some(clock::now()?))
        .verify_store(s, |_| {})
        .await?;
    if let Some(f) = &report.failure {
        // A new ledger holds nothing yet: the checkpoint of the empty tree is its true state.
        if f.rule == custody_core::Rule::Empty {
            return Ok((0, report.summary.root));
        }
        anyhow::bail!(
            "the ledger does not verify, so no checkpoint was signed: {}; run `custody verify` \
             for the whole report",
            verify::describe(f)
        );
    }
    Ok((report.summary.records, report.summary.root))
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
    let (checkpoint, note) = if args.publish {
        // One tick of the checkpointer: the same code as the gateway's schedule.
        let witnesses = args
            .witnesses
            .iter()
            .map(|w| Witness::parse(w).map_err(|e| anyhow::anyhow!("--witness: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut checkpointer = Checkpointer::new(&meta, key.signing_key().clone(), witnesses)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        // A SQLite ledger's tree file beside it: the tick reads only what it does not hold.
        if let Some(path) = crate::cmd::prove::default_tree_file(spec) {
            let tree = custody_tlog::TreeDb::open(&path)
                .with_context(|| format!("cannot open the tree file {}", path.display()))?;
            checkpointer = checkpointer.with_tree(std::sync::Arc::new(tree));
        }
        let outcome = checkpointer
            .tick(s.as_ref())
            .await
            .map_err(|e| anyhow::anyhow!("not published: {e}"))?;
        for (witness, why) in &outcome.witness_failures {
            out.info(format!(
                "witness {witness} did not cosign ({why}); the next tick asks again"
            ));
        }
        let stored = s
            .latest_checkpoint()
            .await?
            .context("the checkpoint history is empty after a tick")?;
        let checkpoint =
            custody_core::checkpoint::verify_checkpoint(&stored.note, &signer.verifier())
                .map_err(|e| anyhow::anyhow!("the stored checkpoint does not verify: {e}"))?;
        out.info(format!(
            "{} checkpoint of size {} (GET /v1/checkpoint), cosigned by {} of {} witnesses",
            if outcome.signed {
                "published"
            } else {
                "the ledger did not grow: kept the"
            },
            checkpoint.size,
            outcome.cosigned_by.len(),
            checkpointer.witnesses().len()
        ));
        (checkpoint, stored.note)
    } else {
        let (size, root) = verified_tree(s.as_ref(), meta.trust.clone()).await?;
        let checkpoint = Checkpoint {
            origin: meta.name.clone(),
            size,
            root,
            extensions: Vec::new(),
        };
        let note = signer
            .sign_checkpoint(&checkpoint)
            .context("cannot sign the checkpoint")?;
        (checkpoint, note)
    };
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
