//! `custody record KIND`: sign one event on the current head of a chain and append it.

use custody_core::humancode::code_for_chain;
use custody_core::ids::is_detainee_chain_id;
use custody_core::kinds::EventKind;
use custody_core::Draft;
use serde_json::json;

use crate::append::{read_body, sign_and_append, Appended};
use crate::cli::RecordArgs;
use crate::clock;
use crate::output::Output;
use crate::{keyfile, store};

/// Builds, signs and appends the event; prints position, hash, chain and human code.
pub async fn run(out: Output, spec: &str, args: &RecordArgs) -> anyhow::Result<()> {
    let kind: EventKind = args.kind.parse().map_err(|_| {
        let all: Vec<&str> = EventKind::ALL
            .iter()
            .filter(|k| !k.is_authority())
            .map(|k| k.as_str())
            .collect();
        anyhow::anyhow!(
            "{:?} is not an event kind; kinds are {}",
            args.kind,
            all.join(", ")
        )
    })?;
    if kind.is_authority() {
        anyhow::bail!("{kind} is written with `custody enroll`, signed by a root key");
    }
    let chain = match (&args.chain, args.new_chain) {
        (Some(c), _) => {
            if !is_detainee_chain_id(c) {
                anyhow::bail!(
                    "--chain {c:?} is not a detainee chain id: expected d- followed by a 26-character lowercase ULID"
                );
            }
            c.clone()
        }
        (None, true) => {
            if kind != EventKind::Arrest {
                anyhow::bail!("--new-chain starts a detainee's record, which begins with an arrest, not {kind}: pass --chain");
            }
            clock::new_chain_id()?
        }
        (None, false) => anyhow::bail!("no chain given: pass --chain d-... or --new-chain"),
    };
    let body = read_body(args.body.as_deref(), args.body_json.as_deref())?;
    let occurred = args
        .occurred_at
        .as_deref()
        .map(|t| clock::parse_time("occurred-at", t))
        .transpose()?;
    let key = keyfile::read(&args.key)?;
    let ledger = store::open_ledger(spec).await?;
    let shown = store::display(spec);
    if !args.new_chain && ledger.head(&chain).await.is_none() && kind != EventKind::Arrest {
        anyhow::bail!("chain {chain} has no record in {shown}: check the chain id (a new chain starts with an arrest and --new-chain)");
    }

    let ledger_name = ledger.meta().name.clone();
    let Appended { record, outcome } = sign_and_append(&ledger, &key, &chain, |head| {
        let now = clock::now()?;
        Ok(Draft {
            ledger: ledger_name.clone(),
            chain: chain.clone(),
            seq: head.map_or(0, |h| h.seq + 1),
            prev: head.map(|h| h.hash),
            kind,
            occurred_at: occurred.clone().unwrap_or_else(|| now.clone()),
            recorded_at: now,
            agency: args.agency.clone(),
            body: body.clone(),
        })
    })
    .await?;
    let position = outcome.position();
    let code = code_for_chain(&chain);
    tracing::info!(kind = %kind, position, chain = %chain, "event recorded");
    out.json(&json!({
        "kind": kind.as_str(),
        "position": position,
        "hash": record.hash.to_hex(),
        "chain": chain,
        "seq": record.header.seq,
        "code": code,
    }));
    if out.human() {
        println!("recorded {kind} at position {position}");
        println!("  hash   {}", record.hash);
        println!("  chain  {chain} (seq {})", record.header.seq);
        println!("  code   {code}");
    } else {
        out.result(format!("{position} {} {chain} {code}", record.hash));
    }
    Ok(())
}
