//! `custody checkpoint`: a freshly signed checkpoint note over the current ledger, signed only
//! when every record of it verifies.

use std::io::Write;

use anyhow::Context;
use custody_core::checkpoint::{verify_checkpoint, Checkpoint, NoteSigner, NoteVerifier};
use custody_core::merkle::{root_of, Digest};
use custody_ledger::META_PUBLISHED_CHECKPOINT;
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
    let report = Verifier::new(trust)
        .with_clock(Some(clock::now()?))
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

/// Why a new checkpoint cannot follow the one published before: `None` when it can (the old
/// tree is a prefix of the new one). `leaves` are the new tree's leaves.
pub(crate) fn inconsistency(
    old: &Checkpoint,
    new: &Checkpoint,
    leaves: &[Digest],
) -> Option<String> {
    if old.origin != new.origin {
        return Some(format!(
            "it is of ledger {:?}, not {:?}",
            old.origin, new.origin
        ));
    }
    if new.size < old.size {
        return Some(format!(
            "the ledger now holds {} records, fewer than the {} the published checkpoint covers: records were removed",
            new.size, old.size
        ));
    }
    let old_size = usize::try_from(old.size).unwrap_or(usize::MAX);
    if leaves.len() < old_size || root_of(&leaves[..old_size]) != old.root {
        return Some(format!(
            "the first {} records of the ledger no longer have the root the published checkpoint signed: records were changed",
            old.size
        ));
    }
    None
}

/// Keeps `note` as the ledger's published checkpoint, after checking it is consistent with
/// the one published before (a ledger operator never signs two checkpoints that contradict
/// each other).
async fn publish(
    s: &dyn LedgerStore,
    meta: &custody_ledger::LedgerMeta,
    new: &Checkpoint,
    note: &str,
) -> anyhow::Result<()> {
    if let Some(old) = s.meta(META_PUBLISHED_CHECKPOINT).await? {
        let old_note = old["note"]
            .as_str()
            .context("the published checkpoint in the store is damaged (no note)")?;
        let verifier = NoteVerifier::parse(&meta.ledger_vkey)
            .map_err(|e| anyhow::anyhow!("the ledger's verifier key is unusable: {e}"))?;
        let old = verify_checkpoint(old_note, &verifier).map_err(|e| {
            anyhow::anyhow!("the published checkpoint in the store does not verify ({e})")
        })?;
        let leaves = crate::cmd::prove::leaves(s, new.size).await?;
        if let Some(why) = inconsistency(&old, new, &leaves) {
            anyhow::bail!(
                "not published: the new checkpoint (size {}) contradicts the one published before (size {}): {why}",
                new.size,
                old.size
            );
        }
    }
    s.set_meta(
        META_PUBLISHED_CHECKPOINT,
        &json!({"size": new.size, "note": note}),
    )
    .await
    .context("cannot keep the published checkpoint in the store")?;
    Ok(())
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
    if args.publish {
        publish(s.as_ref(), &meta, &checkpoint, &note).await?;
        out.info(format!(
            "published checkpoint of size {} (GET /v1/checkpoint)",
            checkpoint.size
        ));
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use custody_core::merkle::leaf_hash;

    fn tree(n: u8) -> Vec<Digest> {
        (0..n).map(|i| leaf_hash(&[i; 32])).collect()
    }

    fn cp(leaves: &[Digest]) -> Checkpoint {
        Checkpoint {
            origin: "test.example/ledger".to_string(),
            size: leaves.len() as u64,
            root: root_of(leaves),
            extensions: Vec::new(),
        }
    }

    #[test]
    fn a_checkpoint_follows_an_older_one_only_over_the_same_records() {
        let leaves = tree(7);
        let old = cp(&leaves[..4]);
        assert_eq!(inconsistency(&old, &cp(&leaves), &leaves), None);
        assert_eq!(inconsistency(&old, &cp(&leaves[..4]), &leaves[..4]), None);
        // Fewer records than before.
        let shorter = cp(&leaves[..3]);
        let why = inconsistency(&old, &shorter, &leaves[..3]).expect("refused");
        assert!(why.contains("removed"), "{why}");
        // A record among the first four changed.
        let mut changed = leaves.clone();
        changed[2] = leaf_hash(&[99; 32]);
        let why = inconsistency(&old, &cp(&changed), &changed).expect("refused");
        assert!(why.contains("changed"), "{why}");
        // Another ledger's checkpoint.
        let mut other = cp(&leaves);
        other.origin = "other.example/ledger".to_string();
        assert!(inconsistency(&old, &other, &leaves).is_some());
    }
}
