//! The evidence blob store beside the ledger: a directory `<file>.evidence/` beside a SQLite
//! ledger, or the JetStream Object Store bucket `custody-evidence` on a NATS ledger's server.

use std::sync::Arc;

use anyhow::Context;
use custody_evidence::{BlobStore, DirBlobStore, Limits, NatsBlobStore};

use crate::store;

/// The blob directory of a SQLite ledger file.
pub fn dir_of(spec: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("{spec}.evidence"))
}

/// Opens the evidence store that goes with the ledger `spec`.
pub async fn open(spec: &str, max_bytes: u64) -> anyhow::Result<Arc<dyn BlobStore>> {
    let limits = Limits { max_bytes };
    if store::is_nats(spec) {
        let blobs = NatsBlobStore::connect(spec, limits)
            .await
            .with_context(|| {
                format!(
                    "cannot open the evidence bucket at {}",
                    store::display(spec)
                )
            })?;
        return Ok(Arc::new(blobs));
    }
    if !std::path::Path::new(spec).exists() {
        anyhow::bail!("no ledger in {spec}: the file does not exist; run `custody init` or `custody demo` first, or pass --store");
    }
    let dir = dir_of(spec);
    let blobs = DirBlobStore::open(&dir, limits)
        .with_context(|| format!("cannot open the evidence directory {}", dir.display()))?;
    Ok(Arc::new(blobs))
}
