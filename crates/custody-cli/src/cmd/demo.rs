//! `custody demo`: the deterministic demo world of `custody-scenario`, appended through the
//! ledger's validator, verified again from the store, and summarised.
//!
//! The same seed gives the same ledger byte for byte (keys, salts and chain ids derive from
//! it). A store that already holds this very ledger is completed, not duplicated: appends of
//! stored records are recognised. A store holding another ledger is refused.

use custody_core::checkpoint::NoteSigner;
use custody_core::encoding::b64std;
use custody_core::validate::ValidatorConfig;
use custody_ledger::{Ledger, LedgerMeta, OpenError};
use custody_scenario::{build, ScenarioConfig};
use custody_store::AppendOutcome;
use custody_views::census::Census;
use custody_verify::Verifier;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use crate::cli::DemoArgs;
use crate::clock;
use crate::cmd::verify::{describe, failure_json};
use crate::exit::refused_reported;
use crate::output::Output;
use crate::store;

/// Builds, appends, verifies and summarises the demo ledger.
pub async fn run(out: Output, spec: &str, args: &DemoArgs) -> anyhow::Result<()> {
    let shown = store::display(spec);
    let scenario = build(&ScenarioConfig {
        seed: args.seed,
        detainees: args.detainees,
    })
    .map_err(|e| {
        anyhow::anyhow!("the demo world could not be built (a bug, please report it): {e}")
    })?;
    let signer = NoteSigner::new(&scenario.name, scenario.ledger_key.signing_key().clone())
        .map_err(|e| anyhow::anyhow!("demo ledger name {:?}: {e}", scenario.name))?;
    let meta = LedgerMeta {
        name: scenario.name.clone(),
        trust: scenario.trust.clone(),
        ledger_vkey: signer.verifier_key(),
    };

    let s = store::open_store(spec, store::Create::Yes).await?;
    match Ledger::read_meta(s.as_ref()).await {
        Err(OpenError::NotInitialised) => {
            Ledger::init(s.clone(), meta.clone())
                .await
                .map_err(|e| store::open_error(spec, e))?;
            out.info(format!("initialised demo ledger {} in {shown}", meta.name));
        }
        Ok(existing) if existing == meta => {
            out.info(format!("{shown} already holds demo ledger {} (seed {}): completing it", meta.name, args.seed));
        }
        Ok(existing) => anyhow::bail!(
            "{shown} already holds ledger {:?}, not the demo ledger of seed {}: pass another --store (e.g. --store demo.db)",
            existing.name,
            args.seed
        ),
        Err(e) => return Err(store::open_error(spec, e)),
    }
    let ledger = Ledger::open(s.clone(), ValidatorConfig::default())
        .await
        .map_err(|e| store::open_error(spec, e))?;

    // Append every record through the validator.
    let total = scenario.records.len() as u64;
    let bar = if out.progress() {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} records ({eta})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("appending");
        bar
    } else {
        ProgressBar::hidden()
    };
    let (mut appended, mut already) = (0u64, 0u64);
    for (i, record) in scenario.records.iter().enumerate() {
        let now = clock::now()?;
        match ledger.append(record, &now).await {
            Ok(AppendOutcome::Appended { .. }) => appended += 1,
            Ok(AppendOutcome::Duplicate { .. }) => already += 1,
            Err(e) => {
                bar.abandon();
                return Err(crate::append::append_error(e)
                    .context(format!("demo record {i} of {total} was not appended")));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    // Lawful redactions of the story: the payload goes, the header stays.
    for hash in &scenario.redacted {
        s.remove_payload(hash).await?;
    }
    out.info(format!(
        "appended {appended} records ({already} already stored) for {} detainees, seed {}",
        scenario.detainees.len(),
        args.seed
    ));

    // Verify the whole ledger again, from the store, with a fresh validator.
    let mut census = Census::default();
    let mut v = Verifier::new(meta.trust.clone()).with_clock(Some(clock::now()?));
    let verified = v
        .verify_store(s.as_ref(), |ev| census.observe(&ev.record))
        .await?;
    let (summary, failure) = (verified.summary, verified.failure);
    let report = census.report(v.validator());

    if out.json {
        out.json(&json!({
            "store": shown,
            "ledger": meta.name,
            "seed": args.seed,
            "appended": appended,
            "already_stored": already,
            "summary": report.to_json(),
            "verification": {
                "ok": failure.is_none(),
                "records": summary.records,
                "tree_size": summary.records,
                "root": b64std(&summary.root),
                "failure": failure.as_ref().map(failure_json),
            },
        }));
    } else if !out.quiet {
        println!();
        for line in report.lines() {
            println!("{line}");
        }
        println!();
    }
    if let Some(f) = failure {
        eprintln!(
            "custody: verification of {shown} FAILED at {}",
            describe(&f)
        );
        return Err(refused_reported(format!(
            "verification failed: {}",
            describe(&f)
        )));
    }
    out.result(format!(
        "verification: OK, {} records ({} authority, {} detainee chains, {} without payload), tree size {}, root {}",
        summary.records,
        summary.authority_records,
        summary.chains,
        summary.headers_only,
        summary.records,
        b64std(&summary.root)
    ));
    out.info(format!(
        "next: set -o pipefail; custody --store {shown} export | custody --store {shown} verify -"
    ));
    Ok(())
}
