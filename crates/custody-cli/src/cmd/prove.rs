//! `custody prove`: an inclusion proof of one event, or a consistency proof between two tree
//! sizes, in the JSON form of `docs/SPEC.md` section 11.
//!
//! Proofs are read from the ledger's tree file ([`custody_tlog::TreeDb`]: `LEDGER.tree.sqlite`
//! beside a SQLite ledger, or `--tree FILE`), caught up with the ledger first: O(log n) reads
//! per proof. A JetStream ledger without `--tree` gets a tree built in memory for the call.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use custody_core::merkle::{ConsistencyProofJson, InclusionProofJson};
use custody_core::Hash;
use custody_store::LedgerStore;
use custody_tlog::TreeDb;

use crate::cli::ProveArgs;
use crate::output::Output;
use crate::store;

/// The default tree file of a SQLite ledger: `LEDGER.tree.sqlite` beside it (`None` for a
/// JetStream ledger).
pub fn default_tree_file(spec: &str) -> Option<PathBuf> {
    if store::is_nats(spec) {
        return None;
    }
    let mut name = Path::new(spec).as_os_str().to_os_string();
    name.push(".tree.sqlite");
    Some(PathBuf::from(name))
}

/// Opens the tree file (`file`, else the default beside a SQLite ledger, else one in memory)
/// and catches it up with the ledger in `s` (up to position `end` when given).
pub async fn open_tree(
    spec: &str,
    file: Option<&Path>,
    s: &dyn LedgerStore,
    end: Option<u64>,
) -> anyhow::Result<TreeDb> {
    let path = file
        .map(Path::to_path_buf)
        .or_else(|| default_tree_file(spec));
    let tree = match &path {
        Some(path) => TreeDb::open(path)
            .with_context(|| format!("cannot open the tree file {}", path.display()))?,
        None => TreeDb::in_memory()?,
    };
    tree.catch_up_until(s, end).await?;
    Ok(tree)
}

/// Prints the requested proof as JSON.
pub async fn run(_out: Output, spec: &str, args: &ProveArgs) -> anyhow::Result<()> {
    let s = store::open_store(spec, store::Create::No).await?;
    store::read_meta(spec, s.as_ref()).await?;
    let tree = open_tree(spec, args.tree.as_deref(), s.as_ref(), None).await?;
    let current = tree.size()?;
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
        let proof = tree.inclusion_proof(stored.position, tree_size)?;
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
        let proof = tree.consistency_proof(old, new)?;
        serde_json::to_value(ConsistencyProofJson::new(old, new, &proof))?
    };
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(())
}
