//! `custody alarms`: the time limits of the first hours (`custody_views::alarms`) over a ledger
//! verified first, under the rule sets of `--policy-dir` in force at each arrest.

use anyhow::Context;
use custody_core::Timestamp;
use custody_store::LedgerScan;
use custody_views::alarms::Alarms;
use custody_views::policy::PolicySet;
use serde_json::json;

use crate::cli::AlarmsArgs;
use crate::clock;
use crate::cmd::verify;
use crate::output::Output;

/// Prints the alarms; a ledger that does not verify is an error.
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
    let (s, _, _, records) = verify::verified_store(spec, "no alarm is computed").await?;
    let mut alarms = Alarms::new();
    let mut scan = LedgerScan::new(s.as_ref(), 0).until(records);
    while let Some(batch) = scan.next_batch().await? {
        for ev in &batch {
            alarms.observe(&ev.record);
        }
    }
    let found = alarms.report(&policies, &args.jurisdiction, &at);
    let french = args.lang == "fr";
    if out.json {
        out.json(&json!({
            "at": at.as_str(),
            "count": found.alarms.len(),
            "alarms": found.alarms.iter().map(|a| json!({
                "kind": a.kind.code(),
                "chain": a.chain,
                "code": a.code,
                "deadline": a.deadline.at.as_str(),
                "rule_set": a.deadline.rule.code,
                "rule": a.deadline.rule.rule,
                "rule_confirmed": a.deadline.rule.confirmed,
                "happened_at": a.happened_at.as_ref().map(Timestamp::as_str),
                "hours_late": a.hours_late,
                "current": a.current,
            })).collect::<Vec<_>>(),
            "uncovered": found.uncovered.iter().map(|(chain, why)| json!({"chain": chain, "why": why})).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    let (title, none, late, current_word, past_word, limit, unconfirmed) = if french {
        (
            "ALERTES DE DÉLAIS au",
            "aucune alerte",
            "h de retard",
            "EN COURS",
            "passée",
            "limite",
            "règle non confirmée",
        )
    } else {
        (
            "TIME-LIMIT ALARMS at",
            "no alarm",
            "h late",
            "CURRENT",
            "past",
            "limit",
            "unconfirmed rule",
        )
    };
    let colon = if french { " :" } else { ":" };
    println!("{title} {}{colon} {}", at.as_str(), found.alarms.len());
    if found.alarms.is_empty() {
        println!("  {none}");
    }
    for a in &found.alarms {
        let confirmed = if a.deadline.rule.confirmed {
            String::new()
        } else {
            format!(", {unconfirmed}")
        };
        println!(
            "  {}  {:<9} {}{colon} {} {late} ({limit} {}, {} {}{confirmed})",
            a.code,
            if a.current { current_word } else { past_word },
            a.kind.label(french),
            a.hours_late,
            a.deadline.at.as_str(),
            a.deadline.rule.code,
            a.deadline.rule.rule,
        );
    }
    for (chain, why) in &found.uncovered {
        eprintln!("custody: chain {chain}: no rule set applies ({why})");
    }
    Ok(())
}
