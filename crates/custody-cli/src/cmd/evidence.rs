//! `custody evidence add` and `custody evidence get`: evidence blobs stored by their SHA-256
//! beside the ledger (never in the event stream), and the `evidence_added` record that names
//! one.
//!
//! `add` hashes the file (one streamed pass), stores the blob (a second pass, checked against
//! that digest), then signs and appends the record exactly as `custody record` does: the record
//! never names a blob the store does not hold. `get` streams the blob out and fails when its
//! bytes are not its digest; with `--out` the file appears only once the whole blob verified.

use std::io::Write;

use anyhow::Context;
use custody_core::humancode::code_for_chain;
use custody_core::kinds::EventKind;
use custody_core::{Draft, Hash};
use custody_evidence::{digest_of, PutOutcome};
use serde_json::json;
use tokio::io::AsyncReadExt;

use crate::append::{sign_and_append, Appended};
use crate::chainref::ChainArg;
use crate::cli::{EvidenceAddArgs, EvidenceCommand, EvidenceGetArgs};
use crate::output::Output;
use crate::{clock, evidence_store, keyfile, store};

/// Runs an evidence command.
pub async fn run(out: Output, spec: &str, cmd: &EvidenceCommand) -> anyhow::Result<()> {
    match cmd {
        EvidenceCommand::Add(a) => add(out, spec, a).await,
        EvidenceCommand::Get(a) => get(out, spec, a).await,
    }
}

async fn open_file(path: &std::path::Path) -> anyhow::Result<tokio::fs::File> {
    tokio::fs::File::open(path)
        .await
        .with_context(|| format!("cannot open evidence file {}", path.display()))
}

async fn add(out: Output, spec: &str, args: &EvidenceAddArgs) -> anyhow::Result<()> {
    let chain_arg = ChainArg::parse("chain", &args.chain)?;
    let label = match &args.label {
        Some(l) => l.clone(),
        None => args
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "evidence".into()),
    };
    let occurred = args
        .occurred_at
        .as_deref()
        .map(|t| clock::parse_time("occurred-at", t))
        .transpose()?;
    let key = keyfile::read(&args.key)?;
    let ledger = store::open_ledger(spec).await?;
    let shown = store::display(spec);
    let chain = chain_arg
        .resolve("chain", ledger.store().as_ref(), &shown)
        .await?;
    if ledger.head(&chain).await.is_none() {
        anyhow::bail!("chain {chain} has no record in {shown}: evidence is added to a detainee's existing chain");
    }
    let blobs = evidence_store::open(spec, args.max_bytes).await?;
    let mut file = open_file(&args.file).await?;
    let id = digest_of(&mut file, args.max_bytes)
        .await
        .with_context(|| format!("{} is not stored", args.file.display()))?;
    if id.size == 0 {
        anyhow::bail!(
            "{} is empty: there is no evidence to store",
            args.file.display()
        );
    }
    let mut file = open_file(&args.file).await?;
    let stored = blobs.put(id, &mut file).await.with_context(|| {
        format!(
            "{} is not stored (did it change while being read?)",
            args.file.display()
        )
    })?;
    let body = json!({
        "content_digest": id.digest.to_hex(),
        "size_bytes": id.size,
        "media_type": args.media_type,
        "label": label,
        "provenance": args.provenance,
    });
    let ledger_name = ledger.meta().name.clone();
    let Appended { record, outcome } = sign_and_append(&ledger, &key, &chain, |head| {
        let now = clock::now()?;
        Ok(Draft {
            ledger: ledger_name.clone(),
            chain: chain.clone(),
            seq: head.map_or(0, |h| h.seq + 1),
            prev: head.map(|h| h.hash),
            kind: EventKind::EvidenceAdded,
            occurred_at: occurred.clone().unwrap_or_else(|| now.clone()),
            recorded_at: now,
            agency: args.agency.clone(),
            body: body.clone(),
        })
    })
    .await?;
    let position = outcome.position();
    tracing::info!(position, chain = %chain, size = id.size, "evidence recorded");
    out.json(&json!({
        "digest": id.digest.to_hex(),
        "size_bytes": id.size,
        "blob": if stored == PutOutcome::Stored { "stored" } else { "already stored" },
        "position": position,
        "hash": record.hash.to_hex(),
        "chain": chain,
        "seq": record.header.seq,
        "code": code_for_chain(&chain),
    }));
    if out.human() {
        println!("recorded evidence_added at position {position}");
        println!("  digest {} ({} bytes)", id.digest, id.size);
        println!("  hash   {}", record.hash);
        println!("  chain  {chain} (seq {})", record.header.seq);
    } else {
        out.result(id.digest.to_hex());
    }
    Ok(())
}

async fn get(out: Output, spec: &str, args: &EvidenceGetArgs) -> anyhow::Result<()> {
    let digest: Hash = args
        .digest
        .parse()
        .map_err(|e| anyhow::anyhow!("DIGEST: {e}"))?;
    // Reading needs no limit: the blob is already stored.
    let blobs = evidence_store::open(spec, u64::MAX).await?;
    let mut reader = blobs.get(&digest).await?.ok_or_else(|| {
        anyhow::anyhow!(
            "no evidence blob {digest} in the evidence store of {}",
            store::display(spec)
        )
    })?;
    let size = reader.id().size;
    let mut buf = vec![0u8; custody_evidence::CHUNK];
    match &args.out {
        Some(path) => {
            let partial = path.with_file_name(format!(
                ".{}.partial",
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ));
            if path.exists() {
                anyhow::bail!(
                    "{} already exists: choose another file name (files are never overwritten)",
                    path.display()
                );
            }
            let mut file = crate::files::create_new(&partial)?;
            let copied = async {
                loop {
                    let n = reader.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    file.write_all(&buf[..n])?;
                }
                file.sync_all()
            }
            .await;
            if let Err(e) = copied {
                let _ = std::fs::remove_file(&partial);
                return Err(crate::exit::refused(format!(
                    "{e}; nothing was written to {}",
                    path.display()
                )));
            }
            std::fs::hard_link(&partial, path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let _ = std::fs::remove_file(&partial);
            out.json(&json!({"digest": digest.to_hex(), "size_bytes": size, "file": path.display().to_string()}));
            out.info(format!(
                "wrote {size} bytes to {} (digest verified)",
                path.display()
            ));
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            loop {
                let n = reader.read(&mut buf).await.map_err(|e| {
                    crate::exit::refused(format!(
                        "{e}; the bytes written so far are not the evidence"
                    ))
                })?;
                if n == 0 {
                    break;
                }
                stdout
                    .write_all(&buf[..n])
                    .context("cannot write to standard output")?;
            }
            stdout.flush().context("cannot write to standard output")?;
        }
    }
    Ok(())
}
