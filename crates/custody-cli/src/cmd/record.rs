//! `custody record KIND`: sign one event on the current head of a chain and append it.
//!
//! The body comes from `--body FILE`, `--body-json JSON` or, with `--interactive`, from the
//! terminal ([`crate::interactive`]): the chain is resolved first, then the fields are asked,
//! the record is shown in plain words and signed only when the user says yes. A no records
//! nothing and exits 0 (with "Rien n'a été enregistré." / "Nothing was recorded.").

use custody_core::humancode::code_for_chain;
use custody_core::ids::{is_detainee_chain_id, AUTHORITY_CHAIN};
use custody_core::kinds::EventKind;
use custody_core::Draft;
use serde_json::json;

use crate::append::{read_body, sign_and_append, Appended};
use crate::chainref::ChainArg;
use crate::cli::RecordArgs;
use crate::clock;
use crate::interactive::Session;
use crate::labels::Lang;
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
    let chain_arg = match (&args.chain, args.new_chain) {
        (Some(c), _) => {
            let arg = ChainArg::parse("chain", c)?;
            if arg == ChainArg::Id(AUTHORITY_CHAIN.to_string()) {
                anyhow::bail!(
                    "--chain authority : la chaîne d'autorité s'écrit avec `custody enroll`, signée par une clé racine ; passez une chaîne de détenu (d-... ou son code XXXX-XXXX-C)"
                );
            }
            Some(arg)
        }
        (None, true) => {
            if kind != EventKind::Arrest {
                anyhow::bail!("--new-chain starts a detainee's record, which begins with an arrest, not {kind}: pass --chain");
            }
            None
        }
        (None, false) => {
            anyhow::bail!("aucune chaîne donnée : passez --chain d-... (ou le code XXXX-XXXX-C du détenu), ou --new-chain pour une arrestation")
        }
    };
    let body = if args.interactive {
        None
    } else {
        Some(read_body(args.body.as_deref(), args.body_json.as_deref())?)
    };
    let occurred = args
        .occurred_at
        .as_deref()
        .map(|t| clock::parse_time("occurred-at", t))
        .transpose()?;
    let key = keyfile::read(&args.key)?;
    let ledger = store::open_ledger(spec).await?;
    let shown = store::display(spec);
    let chain = match &chain_arg {
        Some(arg) => {
            arg.resolve("chain", ledger.store().as_ref(), &shown)
                .await?
        }
        None => clock::new_chain_id()?,
    };
    if !is_detainee_chain_id(&chain) {
        anyhow::bail!("--chain : le code {} est celui de la chaîne {chain}, qui n'est pas une chaîne de détenu (la chaîne d'autorité s'écrit avec `custody enroll`)", code_for_chain(&chain));
    }
    if !args.new_chain && ledger.head(&chain).await.is_none() && kind != EventKind::Arrest {
        anyhow::bail!("chain {chain} has no record in {shown}: check the chain id (a new chain starts with an arrest and --new-chain)");
    }

    let body = match body {
        Some(body) => body,
        None => match ask(kind, &chain, args, occurred.as_ref())? {
            Some(body) => body,
            None => return Ok(()),
        },
    };

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

/// Asks the body on the terminal, shows the record in plain words and asks for the go-ahead:
/// the body on yes, `None` (after saying that nothing was recorded) on no.
fn ask(
    kind: EventKind,
    chain: &str,
    args: &RecordArgs,
    occurred: Option<&custody_core::Timestamp>,
) -> anyhow::Result<Option<serde_json::Value>> {
    let session = Session::new(kind, Lang::from_flag(&args.lang))?;
    let l = session.lang();
    let code = code_for_chain(chain);
    session.say(&format!(
        "{} {kind} — {} {code} ({chain})",
        l.pick("Nouvel événement", "New event"),
        l.pick("détenu", "detainee")
    ))?;
    let body = session.ask_body(kind)?;
    session.say("")?;
    session.say(&format!(
        "{} {kind}",
        l.pick("Récapitulatif de l'événement", "Summary of the event")
    ))?;
    let sep = l.pick(" : ", ": ");
    session.say(&format!(
        "  {}{sep}{code} ({chain})",
        l.pick("Détenu", "Detainee")
    ))?;
    session.say(&format!(
        "  {}{sep}{}",
        l.pick("Agence", "Agency"),
        args.agency
    ))?;
    let when = occurred.map_or_else(
        || {
            l.pick("maintenant, à la signature", "now, when signed")
                .to_string()
        },
        |t| t.as_str().to_string(),
    );
    session.say(&format!(
        "  {}{sep}{when}",
        l.pick("Date des faits", "Occurred at")
    ))?;
    for line in session.summary(&body) {
        session.say(&line)?;
    }
    if session.ask_yes_no(l.pick("Signer et enregistrer ? (o/n)", "Sign and record? (y/n)"))? {
        Ok(Some(body))
    } else {
        session.say(l.pick("Rien n'a été enregistré.", "Nothing was recorded."))?;
        Ok(None)
    }
}
