//! `custody prove`: an inclusion proof of one event, or a consistency proof between two tree
//! sizes, in the JSON form of `docs/SPEC.md` section 11.
//!
//! Proofs are computed from the leaf hashes of the stored records (32 bytes per record).

use custody_core::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, ConsistencyProofJson, Digest, InclusionProofJson,
};
use custody_core::Hash;
use custody_store::{LedgerScan, LedgerStore};

use crate::cli::ProveArgs;
use crate::output::Output;
use crate::store;

/// Leaf hashes of the first `size` stored records (the scan fails when the store holds fewer
/// or has a gap).
pub(crate) async fn leaves(s: &dyn LedgerStore, size: u64) -> anyhow::Result<Vec<Digest>> {
    let mut leaves = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let mut scan = LedgerScan::new(s, 0).until(size);
    while let Some(batch) = scan.next_batch().await? {
        leaves.extend(batch.iter().map(|ev| leaf_hash(ev.record.hash.as_bytes())));
    }
    Ok(leaves)
}

/// Prints the requested proof as JSON.
pub async fn run(_out: Output, spec: &str, args: &ProveArgs) -> anyhow::Result<()> {
    let s = store::open_store(spec, store::Create::No).await?;
    store::read_meta(spec, s.as_ref()).await?;
    let current = s.size().await?;
    let shown = store::display(spec);
    let json = if let Some(text) = &args.event {
        let hash: Hash = text.parse().map_err(|e| anyhow::anyhow!("--event: {e}"))?;
        let stored = s.event(&hash).await?.ok_or_else(|| {
            anyhow::anyhow!(
                "no event {hash} in {shown}: check the hash (`custody export` lists them)"
            )
        })?;
        let tree_size = args.tree_size.unwrap_or(current);
        if tree_size > current {
            anyhow::bail!("--tree-size {tree_size} is larger than the ledger ({current} records)");
        }
        if stored.position >= tree_size {
            anyhow::bail!(
                "event {hash} is at position {} and not in a tree of size {tree_size}: pass a larger --tree-size",
                stored.position
            );
        }
        let leaves = leaves(s.as_ref(), tree_size).await?;
        let proof = inclusion_proof(&leaves, stored.position, tree_size)?;
        serde_json::to_value(InclusionProofJson::new(
            hash.as_bytes(),
            stored.position,
            tree_size,
            &proof,
        ))?
    } else {
        let old = args.from.unwrap_or(0);
        let new = args.to.unwrap_or(current);
        if new > current {
            anyhow::bail!("--to {new} is larger than the ledger ({current} records)");
        }
        if old > new {
            anyhow::bail!("--from {old} is larger than --to {new}: a ledger only grows");
        }
        let leaves = leaves(s.as_ref(), new).await?;
        let proof = consistency_proof(&leaves, old, new)?;
        serde_json::to_value(ConsistencyProofJson::new(old, new, &proof))?
    };
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(())
}
