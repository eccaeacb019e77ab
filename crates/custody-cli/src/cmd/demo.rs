//! `custody demo`: the deterministic demo world of `custody-scenario`, appended through the
//! ledger's validator, verified again from the store, and summarised.
//!
//! The same seed and `--as-of` day give the same ledger byte for byte (keys, salts and chain
//! ids derive from the seed; every date is moved so that the world ends on the day before
//! `--as-of`, default today, with its keys valid). A store that already holds this very ledger
//! is completed, not duplicated: appends of stored records are recognised. A store holding
//! another ledger, or this demo laid out for another day, is refused. The demo's key files are
//! written into `demo-keys/` ([`crate::demokeys`]).

use custody_core::checkpoint::NoteSigner;
use custody_core::encoding::b64std;
use custody_core::humancode::code_for_chain;
use custody_core::validate::ValidatorConfig;
use custody_ledger::{Ledger, LedgerMeta, OpenError};
use custody_scenario::{stream_as_of, ScenarioConfig, ScenarioStream};
use custody_store::AppendOutcome;
use custody_verify::Verifier;
use custody_views::census::Census;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use crate::cli::DemoArgs;
use crate::clock;
use crate::cmd::verify::{describe, failure_json};
use crate::demokeys::{self, DemoKeys};
use crate::exit::refused_reported;
use crate::output::Output;
use crate::store;

/// Builds, appends, verifies and summarises the demo ledger.
pub async fn run(out: Output, spec: &str, args: &DemoArgs) -> anyhow::Result<()> {
    let shown = store::display(spec);
    let as_of = as_of(args.as_of.as_deref())?;
    // The world is streamed: one lap of detainees in memory at a time, appended as signed
    // (the ledger's append validates each record, so the stream does not validate again).
    let mut scenario = stream_as_of(
        &ScenarioConfig {
            seed: args.seed,
            detainees: args.detainees,
        },
        &as_of,
    )
    .unvalidated();
    let built = |e: custody_scenario::ScenarioError| {
        anyhow::anyhow!("the demo world could not be built (a bug, please report it): {e}")
    };
    let mut first = scenario.next().transpose().map_err(built)?;
    let signer = NoteSigner::new(&scenario.name, scenario.ledger_key.signing_key().clone())
        .map_err(|e| anyhow::anyhow!("demo ledger name {:?}: {e}", scenario.name))?;
    let meta = LedgerMeta {
        name: scenario.name.clone(),
        trust: scenario.trust.clone(),
        ledger_vkey: signer.verifier_key(),
        role: custody_ledger::LedgerRole::Primary,
    };

    let keys_dir = args
        .keys_dir
        .clone()
        .unwrap_or_else(|| demokeys::default_dir(spec));
    let keys = DemoKeys::plan_stream(&scenario, &keys_dir);

    let s = store::open_store(spec, store::Create::Yes).await?;
    match Ledger::read_meta(s.as_ref()).await {
        Err(OpenError::NotInitialised) => {
            keys.check()?;
            Ledger::init(s.clone(), meta.clone())
                .await
                .map_err(|e| store::open_error(spec, e))?;
            out.info(format!("initialised demo ledger {} in {shown}", meta.name));
        }
        Ok(existing) if existing == meta => {
            refuse_other_day(s.as_ref(), first.as_ref(), &shown, &as_of, args).await?;
            keys.check()?;
            out.info(format!("{shown} already holds demo ledger {} (seed {}): completing it", meta.name, args.seed));
        }
        Ok(existing) => anyhow::bail!(
            "{shown} already holds ledger {:?}, not the demo ledger of seed {}: pass another --store (e.g. --store demo.db)",
            existing.name,
            args.seed
        ),
        Err(e) => return Err(store::open_error(spec, e)),
    }
    let keys_written = keys.write()?;
    let ledger = Ledger::open(s.clone(), ValidatorConfig::default())
        .await
        .map_err(|e| store::open_error(spec, e))?;

    // Append every record through the validator.
    let total = scenario.total().unwrap_or(0);
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
    let mut i = 0u64;
    while let Some(record) = match first.take() {
        Some(r) => Some(r),
        None => scenario.next().transpose().map_err(built)?,
    } {
        let now = clock::now()?;
        i += 1;
        match ledger.append(&record, &now).await {
            Ok(AppendOutcome::Appended { .. }) => appended += 1,
            Ok(AppendOutcome::Duplicate { .. }) => already += 1,
            Err(e) => {
                bar.abandon();
                return Err(crate::append::append_error(e)
                    .context(format!("demo record {} of {total} was not appended", i - 1)));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    // Lawful redactions of the story: the payload goes, the header stays.
    for hash in scenario.redacted() {
        s.remove_payload(hash).await?;
    }
    out.info(format!(
        "appended {appended} records ({already} already stored) for {} detainees, seed {}",
        scenario.detainees(),
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
            "as_of": &as_of.as_str()[..10],
            "ends_at": scenario.ends_at().as_str(),
            "keys_valid_until": scenario.keys_valid_until.as_str(),
            "keys_dir": keys.dir.display().to_string(),
            "keys_written": keys_written,
            "keys": keys.to_json(),
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
    if out.human() {
        print_keys_and_examples(spec, &scenario, &keys, keys_written);
    }
    out.info(format!(
        "next: set -o pipefail; custody --store {shown} export | custody --store {shown} verify -"
    ));
    Ok(())
}

/// The `--as-of` day (default today), refused when after today: the world would end after
/// now, and its records would be refused as recorded in the future.
fn as_of(text: Option<&str>) -> anyhow::Result<custody_core::Timestamp> {
    let today = clock::today()?;
    let Some(text) = text else { return Ok(today) };
    let day = clock::parse_day("as-of", text)?;
    if day > today {
        anyhow::bail!(
            "--as-of {text} est après aujourd'hui ({}) : le monde de démonstration finirait après \
             maintenant, et ses enregistrements seraient refusés comme datés du futur",
            &today.as_str()[..10]
        );
    }
    if day.as_str() < "2000-01-01" {
        anyhow::bail!("--as-of {text} est avant 2000-01-01 : choisissez une date plus récente");
    }
    Ok(day)
}

/// Refuses a store holding this demo ledger laid out for another day (or size): its records
/// would conflict with these. Says which `--as-of` it was probably built with.
async fn refuse_other_day(
    s: &dyn custody_store::LedgerStore,
    ours: Option<&custody_core::Record>,
    shown: &str,
    as_of: &custody_core::Timestamp,
    args: &DemoArgs,
) -> anyhow::Result<()> {
    let Some(first) = s.read_from(0, 1).await?.into_iter().next() else {
        return Ok(());
    };
    let Some(ours) = ours else {
        return Ok(());
    };
    if first.record.hash == ours.hash {
        return Ok(());
    }
    let days = (first.record.header.recorded_at.unix_seconds()
        - ours.header.recorded_at.unix_seconds())
    .div_euclid(86_400);
    let theirs = as_of.plus_seconds(days * 86_400);
    anyhow::bail!(
        "{shown} contient déjà la démo de graine {}, mais construite pour un autre jour que \
         --as-of {} (ou une autre taille) : relancez avec --as-of {} et le même --detainees, \
         ou passez un autre --store (par exemple --store demo.db)",
        args.seed,
        &as_of.as_str()[..10],
        &theirs.as_str()[..10]
    )
}

/// Where the demo's keys are and commands to try with them (French, for the people practising).
fn print_keys_and_examples(spec: &str, scenario: &ScenarioStream, keys: &DemoKeys, written: usize) {
    let dir = keys.dir.display();
    println!(
        "clés de démonstration dans {dir}/ ({written} écrites, mode 0600, marquées \"demo\": true ; \
         n'importe qui peut les recalculer : jamais pour un vrai registre), valides jusqu'au {} :",
        &scenario.keys_valid_until.as_str()[..10]
    );
    for line in keys.lines() {
        println!("{line}");
    }
    let custody = if spec == crate::cli::DEFAULT_STORE {
        "custody".to_string()
    } else {
        format!("custody --store {}", store::display(spec))
    };
    println!();
    println!("pour essayer (les codes XXXX-XXXX-C valent les identifiants de chaîne) :");
    println!(
        "  {custody} checkpoint --ledger-key {}",
        keys.path_of("ledger").display()
    );
    if let Some(gap) = scenario
        .notable_detainees()
        .iter()
        .find(|d| d.path == "unanswered_handover")
    {
        println!("  {custody} export --chain {}", code_for_chain(&gap.chain));
    }
    println!(
        "  {custody} record arrest --new-chain --key {} --agency ml-police-gao \
         --body schemas/examples/arrest/valid-menaka-barkhane.json",
        keys.path_of("police-gao-opj").display()
    );
    println!("  (custody record --help : les types d'événements, leurs schémas et des exemples)");
}
