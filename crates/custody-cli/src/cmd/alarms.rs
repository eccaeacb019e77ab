//! `custody alarms`: every alarm of `custody_views::alarms` (time limits of the first hours,
//! detention orders, custody gaps, places, hearings, access restrictions, forks) over a ledger
//! verified first, folded into the read model (`custody_views::detainee::Projection`), under
//! the rule sets of `--policy-dir` in force at each arrest and the working-day calendar of
//! `--policy-dir`/calendar. The forks come from the store's fork log. Read with `--as KEYFILE`
//! under the read matrix, like `GET /v1/alarms` (`crate::reader`): a registrar or a judicial
//! police officer sees its own agency's people only.
//!
//! French by default, English with `--lang en`; people are named by the human code of their
//! chain only. Output goes through a locked standard output, and a closed pipe
//! (`custody alarms | head`) ends the listing quietly instead of panicking.

use std::io::Write;

use anyhow::Context;
use custody_core::Timestamp;
use custody_views::access::View;
use custody_views::alarms::{alarms_with_forks, ForkInfo};
use custody_views::calendar::Calendar;
use custody_views::policy::PolicySet;

use crate::cli::AlarmsArgs;
use crate::clock;
use crate::cmd::backlog::verified_projection;
use crate::cmd::forks;
use crate::output::Output;
use crate::reader::check_list_view;

/// Prints the alarms; a ledger that does not verify, or a reader the matrix refuses, is an
/// error.
pub async fn run(out: Output, spec: &str, args: &AlarmsArgs) -> anyhow::Result<()> {
    let at = match &args.at {
        Some(text) => Timestamp::parse(text).with_context(|| format!("--at {text:?}"))?,
        None => clock::now()?,
    };
    let policies = PolicySet::load_dir(&args.policy_dir).with_context(|| {
        format!(
            "cannot load the legal rule sets of {} (pass --policy-dir, or set CUSTODY_POLICY_DIR)",
            args.policy_dir.display()
        )
    })?;
    let calendar_dir = args
        .calendar_dir
        .clone()
        .unwrap_or_else(|| args.policy_dir.join("calendar"));
    let calendar = Calendar::load_dir(&calendar_dir).with_context(|| {
        format!(
            "cannot load the working-day calendar of {} (pass --calendar-dir)",
            calendar_dir.display()
        )
    })?;
    let (s, v, projection) = verified_projection(spec, "no alarm is computed").await?;
    let own = check_list_view(s.as_ref(), &v, &args.as_key, View::Alarms).await?;
    let fork_log: Vec<ForkInfo> = forks::all(s.as_ref())
        .await?
        .iter()
        .map(|f| ForkInfo {
            chain: f.chain.clone(),
            seq: f.seq,
            stored: f.stored,
            other: f.other.hash,
            seen_at: f.seen_at.clone(),
        })
        .collect();
    let mut found = alarms_with_forks(
        &projection,
        &policies,
        &calendar,
        &args.jurisdiction,
        &at,
        &fork_log,
    );
    // A registrar or a judicial police officer sees its own agency's people only.
    if let Some(agency) = &own {
        found.keep_agency(&projection, agency);
    }
    let french = args.lang == "fr";
    let text = if out.json {
        vec![found.to_json().to_string()]
    } else {
        found.lines(french)
    };
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    let written = text
        .iter()
        .try_for_each(|line| writeln!(w, "{line}"))
        .and_then(|()| w.flush());
    match written {
        Ok(()) => {}
        // The reader went away (`custody alarms | head`): a normal end.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
        Err(e) => return Err(e).context("cannot write the alarms to standard output"),
    }
    for (chain, why) in &found.uncovered {
        eprintln!("custody: chain {chain}: a rule could not be applied ({why})");
    }
    Ok(())
}
