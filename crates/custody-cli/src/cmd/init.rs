//! `custody init`: a new, empty ledger (its metadata) in the store.

use custody_core::authority::{TrustAnchors, TrustRoot};
use std::path::Path;

use anyhow::Context;
use custody_core::checkpoint::{NoteSigner, NoteVerifier};
use custody_core::ids::is_valid_slug;
use custody_ledger::{Ledger, LedgerMeta, OpenError};
use serde_json::json;

use crate::cli::InitArgs;
use crate::output::Output;
use crate::{keyfile, store};

/// Writes the ledger metadata: name, trust anchor, checkpoint verifier key. With `--trust` and
/// `--ledger-vkey`, the metadata of an existing ledger, for a replica.
pub async fn run(out: Output, spec: &str, args: &InitArgs) -> anyhow::Result<()> {
    let meta = match (&args.trust, &args.ledger_vkey) {
        (Some(trust), Some(vkey)) => replica_meta(args, trust, vkey)?,
        _ => new_meta(args)?,
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
        "trust": meta.trust,
        "ledger_vkey": meta.ledger_vkey,
        "role": meta.role,
    }));
    let role = match meta.role {
        custody_ledger::LedgerRole::Primary => {
            "primary: every new detainee record must carry its payload"
        }
        custody_ledger::LedgerRole::Replica => {
            "replica: replays what its source holds, records without payload included"
        }
    };
    out.info(format!(
        "initialised ledger {} in {shown} ({role})",
        meta.name
    ));
    for root in &meta.trust.roots {
        out.info(format!(
            "trust anchor: {} for agency {}",
            root.key, root.agency
        ));
    }
    out.info(format!("checkpoint verifier key: {}", meta.ledger_vkey));
    if args.trust.is_some() {
        out.info(
            "next: `custody submit` the ledger's authority chain (`custody export --chain authority` where the ledger lives)",
        );
    } else {
        out.info("next: register agencies with `custody enroll agency --root-key ...`");
    }
    Ok(())
}

fn new_meta(args: &InitArgs) -> anyhow::Result<LedgerMeta> {
    let (Some(name), Some(root_key), Some(root_agency), Some(ledger_key)) = (
        &args.name,
        &args.root_key,
        &args.root_agency,
        &args.ledger_key,
    ) else {
        anyhow::bail!(
            "a new ledger needs --name, --root-key, --root-agency and --ledger-key (a replica needs --trust and --ledger-vkey)"
        );
    };
    if !is_valid_slug(root_agency) {
        anyhow::bail!(
            "--root-agency {root_agency:?} is not an agency id: use 2-64 characters of a-z, 0-9 and -, e.g. ml-justice"
        );
    }
    let root = keyfile::read(root_key)?;
    let ledger_key = keyfile::read(ledger_key)?;
    if root.public() == ledger_key.public() {
        anyhow::bail!(
            "--root-key and --ledger-key are the same key: create a separate checkpoint key with `custody keygen`"
        );
    }
    if !custody_core::ids::is_valid_ledger_name(name) {
        anyhow::bail!(
            "--name {:?} is not a ledger name: use 1-255 characters of printable ASCII without spaces or +, e.g. ml.justice/custody",
            custody_core::encoding::excerpt(name)
        );
    }
    let signer = NoteSigner::new(name, ledger_key.signing_key().clone())
        .map_err(|e| anyhow::anyhow!("--name: {e}, e.g. ml.justice/custody"))?;
    Ok(LedgerMeta {
        name: name.clone(),
        trust: TrustAnchors {
            ledger: name.clone(),
            roots: vec![TrustRoot {
                key: root.public(),
                agency: root_agency.clone(),
            }],
        },
        ledger_vkey: signer.verifier_key(),
        role: custody_ledger::LedgerRole::Primary,
    })
}

fn replica_meta(args: &InitArgs, trust: &Path, vkey: &Path) -> anyhow::Result<LedgerMeta> {
    let trust_text = std::fs::read_to_string(trust)
        .with_context(|| format!("cannot read --trust {}", trust.display()))?;
    let anchors: TrustAnchors = serde_json::from_str(&trust_text).with_context(|| {
        format!(
            "--trust {} is not a trust.json of custody-ledger ({{\"ledger\", \"roots\": [{{\"key\", \"agency\"}}]}})",
            trust.display()
        )
    })?;
    if anchors.roots.is_empty() {
        anyhow::bail!("--trust {} names no root key", trust.display());
    }
    let vkey_text = std::fs::read_to_string(vkey)
        .with_context(|| format!("cannot read --ledger-vkey {}", vkey.display()))?;
    let verifier = NoteVerifier::parse(vkey_text.trim())
        .map_err(|e| anyhow::anyhow!("--ledger-vkey {}: {e}", vkey.display()))?;
    if anchors.ledger != verifier.name() {
        anyhow::bail!(
            "--trust {} is for ledger {:?} but --ledger-vkey {} is the key of ledger {:?}: give both files of the same ledger",
            trust.display(),
            anchors.ledger,
            vkey.display(),
            verifier.name()
        );
    }
    if let Some(name) = &args.name {
        if name != verifier.name() {
            anyhow::bail!(
                "--name {name:?} is not the name of the ledger key ({:?}): leave --name out for a replica",
                verifier.name()
            );
        }
    }
    Ok(LedgerMeta {
        name: verifier.name().to_string(),
        trust: anchors,
        ledger_vkey: vkey_text.trim().to_string(),
        // A copy of an existing ledger: it replays what its source holds.
        role: custody_ledger::LedgerRole::Replica,
    })
}
