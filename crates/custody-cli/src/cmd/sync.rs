//! `custody sync --from post.db --to https://hub/`: a field post pushes its records to the
//! hub's gateway, and pulls the hub's authority chain.
//!
//! - **Pull first.** The hub's authority chain (`GET /v1/chains/authority`, a signed read with
//!   `--key`) is appended to the post's ledger through its validator, so that keys enrolled or
//!   revoked at headquarters count at the post before anything is pushed, and so that the
//!   post can check the signature of any record the hub answers with.
//! - **Push in bounded batches** (`POST /v1/events` as `application/x-ndjson`, `--batch`
//!   records each) of the post's records in ledger order, from a cursor kept in the post's
//!   store metadata (`sync/<hub url>`). The cursor moves only past records the hub has
//!   answered for good: stored (appended or already there) or part of a fork, and only once the
//!   answer arrived. A sync cut off (process killed, connection lost) resends from the cursor;
//!   the hub answers what it already holds as duplicates, so no record is ever stored twice.
//! - **Forks.** When the hub answers a conflict for a record of the post and already holds
//!   another record at its place (`head.seq >= seq`), the chain was written at two places:
//!   the hub's record is fetched and kept in the post's fork alarm log
//!   (`Ledger::record_fork`, which checks its signature), and the post's record is reported to
//!   the hub (`POST /v1/forks`), which keeps it in its own alarm log. Both sides then hold
//!   both versions. Later records of a forked chain cannot extend the hub's chain: they stay
//!   in the post's ledger, are listed as held back, and the cursor moves past them.
//! - **Refusals.** Any other refusal (a key revoked at the hub, a rule) stops the cursor at that
//!   record: the records after it are still sent (the hub stores them), and the command exits 1
//!   naming it, so that nothing is passed over silently.

use std::collections::HashSet;

use anyhow::Context;
use custody_client::{ApiError, BatchItemOutcome, Client, ForkReport};
use custody_core::Record;
use custody_ledger::{AppendError, ForkOutcome, Ledger};
use custody_store::{LedgerScan, StoredEvent};
use serde_json::json;

use crate::cli::SyncArgs;
use crate::clock;
use crate::exit::refused_reported;
use crate::keyfile;
use crate::output::Output;
use crate::store;

/// Counts of one sync.
#[derive(Debug, Default)]
struct Counts {
    pulled: u64,
    appended: u64,
    duplicate: u64,
    forks: u64,
    held_back: u64,
}

/// The metadata key of the cursor towards one hub.
fn cursor_key(hub: &str) -> String {
    format!("sync/{}", hub.trim_end_matches('/'))
}

/// Runs the sync.
pub async fn run(out: Output, spec: &str, args: &SyncArgs) -> anyhow::Result<()> {
    let from = args.from.as_deref().unwrap_or(spec);
    let hub = args.to.trim_end_matches('/').to_string();
    if !(hub.starts_with("http://") || hub.starts_with("https://")) {
        anyhow::bail!(
            "--to {hub} is not a gateway address: give http://host:port or https://host/"
        );
    }
    let key = keyfile::read(&args.key)?;
    let s = store::open_store(from, store::Create::No).await?;
    let ledger = Ledger::open(s.clone(), Default::default())
        .await
        .map_err(|e| store::open_error(from, e))?;
    let client = Client::new(&hub).with_key(key);
    let mut counts = Counts {
        pulled: pull_authority(&ledger, &client, &hub).await?,
        ..Counts::default()
    };
    if counts.pulled > 0 {
        progress(
            out,
            format!("pulled {} authority records from {hub}", counts.pulled),
        );
    }

    let key_name = cursor_key(&hub);
    let mut cursor = s
        .meta(&key_name)
        .await?
        .and_then(|v| v["next"].as_u64())
        .unwrap_or(0);
    let total = s.size().await?;
    let mut forked: HashSet<String> = crate::cmd::forks::all(s.as_ref())
        .await?
        .into_iter()
        .map(|f| f.chain)
        .collect();
    let source = format!("sync: the record the hub {hub} holds");
    let batch = usize::try_from(args.batch).unwrap_or(1000);
    let mut refused: Option<String> = None;
    let mut scan = LedgerScan::new(s.as_ref(), cursor).batch_size(batch);
    while let Some(events) = scan.next_batch().await? {
        let records: Vec<Record> = events.iter().map(|e| e.record.clone()).collect();
        let answers = client.append_batch(&records).await.map_err(|e| {
            anyhow::Error::new(e).context(format!(
                "the hub {hub} did not take the batch from position {cursor}; {} records sent \
                 before it are stored there; run the same command again to go on",
                counts.appended + counts.duplicate
            ))
        })?;
        let mut settled = true;
        for (ev, answer) in events.iter().zip(answers) {
            let done = match answer {
                BatchItemOutcome::Stored(a) => {
                    if a.duplicate {
                        counts.duplicate += 1;
                    } else {
                        counts.appended += 1;
                    }
                    true
                }
                BatchItemOutcome::Failed(ApiError::Conflict { head, .. })
                    if head.is_some_and(|h| h.seq >= ev.record.header.seq) =>
                {
                    fork(out, &ledger, &client, ev, &source).await?;
                    forked.insert(ev.record.header.chain.clone());
                    counts.forks += 1;
                    true
                }
                BatchItemOutcome::Failed(ApiError::Conflict { .. })
                    if forked.contains(&ev.record.header.chain) =>
                {
                    counts.held_back += 1;
                    eprintln!(
                        "custody: position {}: record {} of chain {} seq {} is held back: its chain forked, it stays in this post's ledger",
                        ev.position, ev.record.hash, ev.record.header.chain, ev.record.header.seq
                    );
                    true
                }
                BatchItemOutcome::Failed(e) => {
                    let what = format!(
                        "position {}: record {} of chain {} seq {} refused by the hub: {e}",
                        ev.position, ev.record.hash, ev.record.header.chain, ev.record.header.seq
                    );
                    eprintln!("custody: {what}");
                    refused.get_or_insert(what);
                    false
                }
                _ => false,
            };
            if done && settled {
                cursor = ev.position + 1;
            } else {
                settled = false;
            }
        }
        s.set_meta(&key_name, &json!({"next": cursor}))
            .await
            .context("cannot keep the sync cursor in the post's store")?;
        progress(
            out,
            format!(
                "sent up to position {} of {total}: {} appended, {} already at the hub, {} forks, {} held back",
                events.last().map_or(cursor, |e| e.position + 1),
                counts.appended,
                counts.duplicate,
                counts.forks,
                counts.held_back
            ),
        );
    }
    out.json(&json!({
        "ok": refused.is_none(),
        "hub": hub,
        "pulled": counts.pulled,
        "appended": counts.appended,
        "already_at_hub": counts.duplicate,
        "forks": counts.forks,
        "held_back": counts.held_back,
        "cursor": cursor,
    }));
    if let Some(what) = refused {
        return Err(refused_reported(format!(
            "the hub refused a record ({what}); the cursor stays at position {cursor}: fix the \
             cause and run the same command again"
        )));
    }
    out.result(format!(
        "synced with {hub}: {} appended, {} already there, {} forks kept on both sides, {} held back",
        counts.appended, counts.duplicate, counts.forks, counts.held_back
    ));
    if counts.forks > 0 || !forked.is_empty() {
        eprintln!(
            "custody: FORK ALARMS: chains written at two places; both versions are kept at the post and at the hub: see `custody forks`"
        );
    }
    Ok(())
}

/// Progress on standard error (not with `--quiet` or `--json`).
fn progress(out: Output, line: String) {
    if out.human() {
        eprintln!("{line}");
    }
}

/// Appends the hub's authority chain to the post's ledger; returns how many records were new.
async fn pull_authority(ledger: &Ledger, client: &Client, hub: &str) -> anyhow::Result<u64> {
    let answer = client
        .chain(custody_core::ids::AUTHORITY_CHAIN)
        .await
        .with_context(|| format!("cannot read the authority chain of the hub {hub}"))?;
    let records = answer["records"].as_array().cloned().unwrap_or_default();
    let mut new = 0;
    for item in records {
        let record = Record::from_value(&item["record"]).map_err(|e| {
            anyhow::anyhow!("the hub {hub} sent an unreadable authority record: {e}")
        })?;
        let now = clock::now()?;
        match ledger.append(&record, &now).await {
            Ok(custody_store::AppendOutcome::Appended { .. }) => new += 1,
            Ok(custody_store::AppendOutcome::Duplicate { .. }) => {}
            Err(AppendError::Invalid(e)) => {
                return Err(crate::exit::refused(format!(
                    "authority record {} of the hub {hub} is refused by this post's ledger ({}): {e}; is it the same ledger?",
                    record.hash,
                    e.rule()
                )))
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot append authority record {} of the hub {hub}",
                    record.hash
                )))
            }
        }
    }
    Ok(new)
}

/// A record of the post whose place the hub holds with another record: both versions are kept
/// on both sides.
async fn fork(
    out: Output,
    ledger: &Ledger,
    client: &Client,
    ev: &StoredEvent,
    source: &str,
) -> anyhow::Result<()> {
    let h = &ev.record.header;
    let chain = client
        .chain(&h.chain)
        .await
        .with_context(|| format!("cannot read chain {} at the hub", h.chain))?;
    let theirs = chain["records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| Record::from_value(&item["record"]).ok())
        .find(|r| r.header.seq == h.seq)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "the hub answered a conflict for chain {} seq {} but shows no record there",
                h.chain,
                h.seq
            )
        })?;
    let now = clock::now()?;
    let kept = ledger
        .record_fork(&theirs, source, &now)
        .await
        .with_context(|| {
            format!(
                "the hub's record {} at chain {} seq {} could not be kept as a fork alarm",
                theirs.hash, h.chain, h.seq
            )
        })?;
    let reported = client.report_fork(&ev.record).await.with_context(|| {
        format!(
            "cannot report record {} to the hub as a fork",
            ev.record.hash
        )
    })?;
    eprintln!(
        "custody: FORK at chain {} seq {}: this post holds {}, the hub holds {}; kept here ({}) and at the hub ({})",
        h.chain,
        h.seq,
        ev.record.hash,
        theirs.hash,
        match kept {
            ForkOutcome::Recorded { .. } => "new alarm",
            ForkOutcome::AlreadyRecorded { .. } => "already kept",
            _ => "same record",
        },
        match reported {
            ForkReport::Kept { new: true, .. } => "new alarm",
            ForkReport::Kept { new: false, .. } => "already kept",
            ForkReport::SameRecord { .. } => "same record",
        }
    );
    let _ = out;
    Ok(())
}
