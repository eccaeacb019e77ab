//! `custody inbox --agency A`: the people released to agency A and not yet accepted by it,
//! oldest release first, with the hours since the release (`custody_views::inbox`), from a
//! ledger verified first, so that nobody waits at a gate unrecorded.

use anyhow::Context;
use custody_core::Timestamp;
use custody_views::inbox::{inbox, inbox_lines};
use serde_json::json;

use crate::cli::InboxArgs;
use crate::clock;
use crate::cmd::verify;
use crate::output::Output;

/// Prints the inbox; a ledger that does not verify is an error.
pub async fn run(out: Output, spec: &str, args: &InboxArgs) -> anyhow::Result<()> {
    let at = match &args.at {
        Some(text) => Timestamp::parse(text).with_context(|| format!("--at {text:?}"))?,
        None => clock::now()?,
    };
    let (_, meta, v, _) = verify::verified_store(spec, "no inbox is shown").await?;
    let validator = v.validator();
    if !validator.authority().agencies.contains_key(&args.agency) {
        let known: Vec<&str> = validator
            .authority()
            .agencies
            .keys()
            .map(String::as_str)
            .collect();
        anyhow::bail!(
            "agency {:?} is not registered in ledger {:?}; registered agencies: {}",
            args.agency,
            meta.name,
            known.join(", ")
        );
    }
    let lines = inbox(validator, &args.agency, &at);
    if out.json {
        out.json(&json!({
            "agency": args.agency,
            "at": at.as_str(),
            "waiting": lines.iter().map(|l| l.to_json()).collect::<Vec<_>>(),
        }));
    } else {
        for line in inbox_lines(&args.agency, &lines, &args.lang) {
            println!("{line}");
        }
    }
    Ok(())
}
