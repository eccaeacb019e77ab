//! `custody ledger-key` and `custody trust`: what a verifier needs, from the ledger metadata.

use std::io::Write;

use anyhow::Context;
use serde_json::json;

use crate::cli::TrustArgs;
use crate::output::Output;
use crate::store;

/// Prints the checkpoint verifier key (`name+keyid+base64`).
pub async fn run_ledger_key(out: Output, spec: &str) -> anyhow::Result<()> {
    let s = store::open_store(spec, store::Create::No).await?;
    let meta = store::read_meta(spec, s.as_ref()).await?;
    out.json(&json!({"name": meta.name, "ledger_vkey": meta.ledger_vkey}));
    out.result(&meta.ledger_vkey);
    Ok(())
}

/// Prints or writes the trust anchors as `trust.json`.
pub async fn run_trust(out: Output, spec: &str, args: &TrustArgs) -> anyhow::Result<()> {
    let s = store::open_store(spec, store::Create::No).await?;
    let meta = store::read_meta(spec, s.as_ref()).await?;
    let mut text = serde_json::to_string_pretty(&meta.trust)?;
    text.push('\n');
    match &args.out {
        Some(path) => {
            crate::files::create_new(path)?
                .write_all(text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            out.info(format!("wrote {}", path.display()));
        }
        None => {
            if out.json {
                out.json(&serde_json::to_value(&meta.trust)?);
            } else {
                print!("{text}");
            }
        }
    }
    Ok(())
}
