//! `custody init`: a new, empty ledger (its metadata) in the store.

use custody_core::authority::{TrustAnchors, TrustRoot};
use custody_core::checkpoint::NoteSigner;
use custody_core::ids::is_valid_slug;
use custody_ledger::{Ledger, LedgerMeta, OpenError};
use serde_json::json;

use crate::cli::InitArgs;
use crate::output::Output;
use crate::{keyfile, store};

/// Writes the ledger metadata: name, trust anchor, checkpoint verifier key.
pub async fn run(out: Output, spec: &str, args: &InitArgs) -> anyhow::Result<()> {
    if !is_valid_slug(&args.root_agency) {
        anyhow::bail!(
            "--root-agency {:?} is not an agency id: use 2-64 characters of a-z, 0-9 and -, e.g. ml-justice",
            args.root_agency
        );
    }
    let root = keyfile::read(&args.root_key)?;
    let ledger_key = keyfile::read(&args.ledger_key)?;
    if root.public() == ledger_key.public() {
        anyhow::bail!(
            "--root-key and --ledger-key are the same key: create a separate checkpoint key with `custody keygen`"
        );
    }
    let signer = NoteSigner::new(&args.name, ledger_key.signing_key().clone())
        .map_err(|e| anyhow::anyhow!("--name: {e}, e.g. ml.justice/custody"))?;
    let meta = LedgerMeta {
        name: args.name.clone(),
        trust: TrustAnchors {
            roots: vec![TrustRoot {
                key: root.public(),
                agency: args.root_agency.clone(),
            }],
        },
        ledger_vkey: signer.verifier_key(),
    };
    let s = store::open_store(spec, store::Create::Yes).await?;
    let shown = store::display(spec);
    Ledger::init(s, meta.clone()).await.map_err(|e| match e {
        OpenError::AlreadyInitialised(name) => anyhow::anyhow!(
            "{shown} already holds ledger {name:?}: use another --store for a new ledger"
        ),
        other => store::open_error(spec, other),
    })?;
    tracing::info!(name = %meta.name, "ledger initialised");
    out.json(&json!({
        "store": shown,
        "name": meta.name,
        "root_key": root.public().to_string(),
        "root_agency": args.root_agency,
        "ledger_vkey": meta.ledger_vkey,
    }));
    out.info(format!("initialised ledger {} in {shown}", meta.name));
    out.info(format!(
        "trust anchor: {} for agency {}",
        root.public(),
        args.root_agency
    ));
    out.info(format!("checkpoint verifier key: {}", meta.ledger_vkey));
    out.info("next: register agencies with `custody enroll agency --root-key ...`");
    Ok(())
}
