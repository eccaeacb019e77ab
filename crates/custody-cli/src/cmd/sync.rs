//! `custody sync --from post.db --to https://hub/`: a field post pushes its records to the
//! hub's gateway, and pulls the hub's authority chain. `--to nats://...` does the same straight
//! into the hub's JetStream ledger, for an operator inside the hub who holds NATS credentials
//! (posts never do): every record goes through the hub ledger's own validated append
//! (`Ledger::append`), exactly as the gateway would append it.
//!
//! - **The clocks first.** The hub's HTTP `Date` (of `GET /healthz`) is compared with the
//!   post's clock, and the difference said (a warning beyond the validator's future
//!   tolerance); the sync's signed reads are dated by the hub's clock, so that a post whose
//!   clock is hours off can still sync, and a record the hub refuses as `future` is named with
//!   its recorded_at, the hub's clock and the fix.
//! - **Waits.** A 429 (rate limited) or 503 (unavailable) answer is waited out as its
//!   `Retry-After` says (each wait at most a minute and `--timeout`, all the waits of one
//!   request at most `--timeout`), said on standard error, and the same request sent again.
//! - **Pull first.** The hub's authority chain (`GET /v1/chains/authority`, a signed read with
//!   `--key`) is appended to the post's ledger through its validator, so that keys enrolled or
//!   revoked at headquarters count at the post before anything is pushed, and so that the
//!   post can check the signature of any record the hub answers with.
//! - **The hub's checkpoint.** Its latest published checkpoint (`GET /v1/checkpoint`) is
//!   checked against the ledger's checkpoint key and kept in the post's metadata; one that
//!   contradicts the checkpoint pulled before (same size, other root) stops the sync.
//! - **Push in bounded batches** (`POST /v1/events` as `application/x-ndjson`, `--batch`
//!   records each, `--lanes` batches in flight at once, each lane holding whole chains, authority
//!   records alone as barriers) of the post's records in ledger order, from a cursor kept in the post's
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
use std::sync::Arc;

use anyhow::Context;
use custody_client::{retrying, ApiError, BatchItemOutcome, Client, ForkReport, RetryPolicy};
use custody_core::checkpoint::{verify_checkpoint, NoteVerifier};
use custody_core::Record;
use custody_ledger::{AppendError, ForkOutcome, Ledger, META_PUBLISHED_CHECKPOINT};
use custody_store::{AppendOutcome, LedgerScan, LedgerStore, StoredEvent};
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

/// Where the post's records go: the hub's gateway, or (an operator inside the hub) its
/// JetStream ledger itself. One per run: the size of its variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Hub {
    /// `http(s)://`: the batch endpoint of the gateway, over the client library; the waits
    /// allowed when it answers 429 or 503 with `Retry-After`.
    Gateway(Client, RetryPolicy),
    /// `nats://`: the hub's ledger, appended to through its own validator.
    Ledger(Ledger),
}

/// The hub's answer for one record of a batch.
enum Answer {
    /// Stored now (`false`) or already there (`true`).
    Stored { duplicate: bool },
    /// The hub's chain is elsewhere; `head_seq` is its head's seq, when it has one.
    Conflict { head_seq: Option<u64> },
    /// Refused or failed for another reason, in words; `future` when the rule was the
    /// hub's future-time rule (the record's `recorded_at` ahead of the hub's clock).
    Refused { why: String, future: bool },
}

/// Prints a wait the hub asked for (429 rate limited, 503 unavailable) before it is made.
fn say_wait(hub: &str) -> impl FnMut(&ApiError, std::time::Duration) + '_ {
    move |e, wait| {
        eprintln!(
            "custody: the hub {hub} asks to wait ({e}): waiting {} s, then sending the same request again",
            wait.as_secs_f64().ceil()
        );
    }
}

impl Hub {
    /// The hub's authority chain, in order.
    async fn authority(&self, hub: &str) -> anyhow::Result<Vec<Record>> {
        match self {
            Hub::Gateway(client, retry) => {
                let answer = retrying(*retry, say_wait(hub), || {
                    client.chain(custody_core::ids::AUTHORITY_CHAIN)
                })
                .await
                .with_context(|| format!("cannot read the authority chain of the hub {hub}"))?;
                records_of(&answer, hub)
            }
            Hub::Ledger(ledger) => Ok(ledger
                .store()
                .chain(custody_core::ids::AUTHORITY_CHAIN)
                .await
                .with_context(|| format!("cannot read the authority chain of the hub {hub}"))?
                .into_iter()
                .map(|ev| ev.record)
                .collect()),
        }
    }

    /// The hub's latest published checkpoint note, when it publishes one.
    async fn checkpoint(&self, hub: &str) -> anyhow::Result<Option<String>> {
        let what = || format!("cannot read the checkpoint of the hub {hub}");
        match self {
            Hub::Gateway(client, retry) => retrying(*retry, say_wait(hub), || client.checkpoint())
                .await
                .with_context(what),
            Hub::Ledger(ledger) => Ok(ledger
                .store()
                .meta(META_PUBLISHED_CHECKPOINT)
                .await
                .with_context(what)?
                .and_then(|v| v["note"].as_str().map(str::to_string))),
        }
    }

    /// Sends one batch; one answer per record, in order. An error means the batch as a whole
    /// got no answer (the records may or may not be stored: the next run resends them).
    async fn send(&self, records: &[Record], hub: &str) -> anyhow::Result<Vec<Answer>> {
        match self {
            Hub::Gateway(client, retry) => {
                let answers = retrying(*retry, say_wait(hub), || client.append_batch(records))
                    .await
                    .map_err(anyhow::Error::new)?;
                Ok(answers
                    .into_iter()
                    .map(|answer| match answer {
                        BatchItemOutcome::Stored(a) => Answer::Stored {
                            duplicate: a.duplicate,
                        },
                        BatchItemOutcome::Failed(ApiError::Conflict { head, .. }) => {
                            Answer::Conflict {
                                head_seq: head.map(|h| h.seq),
                            }
                        }
                        BatchItemOutcome::Failed(e) => Answer::Refused {
                            future: e.rule() == Some(custody_core::Rule::Future),
                            why: e.to_string(),
                        },
                        _ => Answer::Refused {
                            why: "an answer this client does not know".to_string(),
                            future: false,
                        },
                    })
                    .collect())
            }
            Hub::Ledger(ledger) => {
                let mut answers = Vec::with_capacity(records.len());
                for record in records {
                    let now = clock::now()?;
                    answers.push(match ledger.append(record, &now).await {
                        Ok(AppendOutcome::Appended { .. }) => Answer::Stored { duplicate: false },
                        Ok(AppendOutcome::Duplicate { .. }) => Answer::Stored { duplicate: true },
                        Err(AppendError::Conflict(c)) => Answer::Conflict {
                            head_seq: c.head.map(|h| h.seq),
                        },
                        Err(AppendError::Invalid(e)) => Answer::Refused {
                            why: format!("record refused ({}): {e}", e.rule()),
                            future: e.rule() == custody_core::Rule::Future,
                        },
                        Err(e) => {
                            return Err(anyhow::Error::new(e)
                                .context(format!("the hub ledger {hub} failed")))
                        }
                    });
                }
                Ok(answers)
            }
        }
    }

    /// The hub's record at `(chain, seq)`.
    async fn record_at(&self, chain: &str, seq: u64, hub: &str) -> anyhow::Result<Record> {
        let found = match self {
            Hub::Gateway(client, retry) => {
                let answer = retrying(*retry, say_wait(hub), || client.chain(chain))
                    .await
                    .with_context(|| format!("cannot read chain {chain} at the hub"))?;
                answer["records"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|item| Record::from_value(&item["record"]).ok())
                    .find(|r| r.header.seq == seq)
            }
            Hub::Ledger(ledger) => ledger
                .store()
                .chain(chain)
                .await
                .with_context(|| format!("cannot read chain {chain} at the hub"))?
                .into_iter()
                .map(|ev| ev.record)
                .find(|r| r.header.seq == seq),
        };
        found.ok_or_else(|| {
            anyhow::anyhow!(
                "the hub answered a conflict for chain {chain} seq {seq} but shows no record there"
            )
        })
    }

    /// Gives the hub the post's version of a forked place; says what the hub did with it.
    async fn report_fork(
        &self,
        record: &Record,
        source: &str,
        hub: &str,
    ) -> anyhow::Result<&'static str> {
        let what = || format!("cannot report record {} to the hub as a fork", record.hash);
        match self {
            Hub::Gateway(client, retry) => {
                let report = retrying(*retry, say_wait(hub), || client.report_fork(record))
                    .await
                    .with_context(what)?;
                Ok(match report {
                    ForkReport::Kept { new: true, .. } => "new alarm",
                    ForkReport::Kept { new: false, .. } => "already kept",
                    ForkReport::SameRecord { .. } => "same record",
                })
            }
            Hub::Ledger(ledger) => {
                let now = clock::now()?;
                Ok(fork_words(
                    &ledger
                        .record_fork(record, source, &now)
                        .await
                        .with_context(what)?,
                ))
            }
        }
    }
}

/// The records of a `GET /v1/chains/{chain}` answer.
fn records_of(answer: &serde_json::Value, hub: &str) -> anyhow::Result<Vec<Record>> {
    answer["records"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| {
            Record::from_value(&item["record"])
                .map_err(|e| anyhow::anyhow!("the hub {hub} sent an unreadable record: {e}"))
        })
        .collect()
}

/// A fork outcome in the words of the progress lines.
fn fork_words(outcome: &ForkOutcome) -> &'static str {
    match outcome {
        ForkOutcome::Recorded { .. } => "new alarm",
        ForkOutcome::AlreadyRecorded { .. } => "already kept",
        _ => "same record",
    }
}

/// Connects to the hub named by `--to`.
async fn connect(to: &str, args: &SyncArgs) -> anyhow::Result<Hub> {
    if store::is_nats(to) {
        let s: Arc<dyn LedgerStore> = store::open_store(to, store::Create::No).await?;
        let ledger = Ledger::open(s, Default::default())
            .await
            .map_err(|e| store::open_error(to, e))?;
        return Ok(Hub::Ledger(ledger));
    }
    if !(to.starts_with("http://") || to.starts_with("https://")) {
        anyhow::bail!(
            "--to {to} is not a hub address: give the gateway's http://host:port or https://host/, or nats://host:port for the hub's JetStream ledger"
        );
    }
    let Some(key) = &args.key else {
        anyhow::bail!(
            "--key KEYFILE is needed to sync with a gateway: an enrolled key of the post signs the reads"
        );
    };
    // Bounded waits: a hub that accepts and never answers, or trickles its answer, cannot
    // hold the sync (nor its memory) for long.
    let http = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(args.timeout.min(30)))
        .timeout(std::time::Duration::from_secs(args.timeout))
        .build()
        .context("cannot build the HTTP client")?;
    // A 429 or 503 is waited out as the hub's Retry-After says: each wait at most a minute
    // (and --timeout), all the waits of one request at most --timeout.
    let retry = RetryPolicy {
        max_wait: std::time::Duration::from_secs(args.timeout.min(60)),
        budget: std::time::Duration::from_secs(args.timeout),
    };
    Ok(Hub::Gateway(
        Client::with_http(to, http).with_key(keyfile::read(key)?),
        retry,
    ))
}

/// Seconds over which a post's clock is said to differ from the hub's.
const CLOCK_NOTICE_SECS: i64 = 60;

/// Compares this post's clock with the hub's (the HTTP `Date` of its `/healthz` answer) and
/// says how far off it is; returns the hub's clock minus the post's, in seconds (0 when the
/// hub sent no date). Beyond the validator's future tolerance it is a warning: records this
/// post writes are that far off, and the hub refuses those ahead of its clock.
async fn check_clock(client: &Client, hub: &str) -> anyhow::Result<i64> {
    let (hub_clock, local) = retrying(RetryPolicy::NEVER, |_, _| {}, || client.server_clock())
        .await
        .with_context(|| format!("cannot reach the hub {hub}"))?;
    let Some(hub_clock) = hub_clock else {
        tracing::warn!("the hub sent no HTTP Date header: the post's clock is not compared");
        return Ok(0);
    };
    let offset = hub_clock.unix_seconds() - local.unix_seconds();
    let tolerance = custody_core::ValidatorConfig::default().future_tolerance_secs;
    if offset.abs() > CLOCK_NOTICE_SECS {
        let how = if offset < 0 { "ahead of" } else { "behind" };
        let span = clock::span(offset);
        if offset.abs() > tolerance {
            eprintln!(
                "custody: WARNING: this post's clock is {span} {how} the hub's (post {local}, hub {hub_clock}): the records it writes carry times {span} off{}; set the post's clock (NTP, or `date -s` from a trusted clock) before recording more",
                if offset < 0 {
                    format!(", and the hub refuses those more than {tolerance} s ahead of its clock until its clock passes them")
                } else {
                    String::new()
                }
            );
        } else {
            eprintln!("custody: this post's clock is {span} {how} the hub's (post {local}, hub {hub_clock})");
        }
    }
    Ok(offset)
}

/// Runs the sync.
pub async fn run(out: Output, spec: &str, args: &SyncArgs) -> anyhow::Result<()> {
    let from = args.from.as_deref().unwrap_or(spec);
    let to = args.to.trim_end_matches('/').to_string();
    // The hub as it may be printed and kept in the cursor's name (no NATS credentials).
    let hub = store::display(&to);
    if store::is_nats(from) && store::display(from) == hub {
        anyhow::bail!("--to {hub} is the post's own store");
    }
    let mut target = connect(&to, args).await?;
    // The post's clock against the hub's; the sync's signed reads are dated by the hub's
    // clock, so that a post whose clock is hours off can still sync and be told so.
    let mut clock_offset = 0;
    if let Hub::Gateway(client, _) = &mut target {
        clock_offset = check_clock(client, &hub).await?;
        *client = client.clone().with_clock_offset(clock_offset);
    }
    let s = store::open_store(from, store::Create::No).await?;
    let ledger = Ledger::open(s.clone(), Default::default())
        .await
        .map_err(|e| store::open_error(from, e))?;
    if let Hub::Ledger(h) = &target {
        let (theirs, ours) = (h.meta(), ledger.meta());
        if theirs.name != ours.name
            || theirs.ledger_vkey != ours.ledger_vkey
            || theirs.trust != ours.trust
        {
            anyhow::bail!(
                "the hub {hub} holds ledger {:?} (checkpoint key {}), the post ledger {:?} (checkpoint key {}): not the same ledger",
                theirs.name,
                theirs.ledger_vkey,
                ours.name,
                ours.ledger_vkey
            );
        }
    }
    let mut counts = Counts {
        pulled: pull_authority(&ledger, &target, &hub, clock_offset).await?,
        ..Counts::default()
    };
    if counts.pulled > 0 {
        progress(
            out,
            format!("pulled {} authority records from {hub}", counts.pulled),
        );
    }

    let hub_checkpoint = pull_checkpoint(out, &ledger, &target, &hub).await?;

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
    let their_source = "sync: the record a field post holds".to_string();
    let batch = usize::try_from(args.batch).unwrap_or(1000);
    let lanes = usize::try_from(args.lanes).unwrap_or(1).max(1);
    let mut refused: Option<String> = None;
    let mut scan = LedgerScan::new(s.as_ref(), cursor).batch_size(batch.saturating_mul(lanes));
    while let Some(events) = scan.next_batch().await? {
        let answers = send_window(&target, &events, batch, lanes, &hub)
            .await
            .map_err(|e| {
                e.context(format!(
                    "the hub {hub} did not take the batch from position {cursor}; {} records sent \
                 before it are stored there; run the same command again to go on",
                    counts.appended + counts.duplicate
                ))
            })?;
        let mut settled = true;
        for (ev, answer) in events.iter().zip(answers) {
            let done = match answer {
                Answer::Stored { duplicate } => {
                    if duplicate {
                        counts.duplicate += 1;
                    } else {
                        counts.appended += 1;
                    }
                    true
                }
                Answer::Conflict { head_seq }
                    if head_seq.is_some_and(|s| s >= ev.record.header.seq) =>
                {
                    fork(&ledger, &target, ev, &source, &their_source, &hub).await?;
                    forked.insert(ev.record.header.chain.clone());
                    counts.forks += 1;
                    true
                }
                Answer::Conflict { .. } if forked.contains(&ev.record.header.chain) => {
                    counts.held_back += 1;
                    eprintln!(
                        "custody: position {}: record {} of chain {} seq {} is held back: its chain forked, it stays in this post's ledger",
                        ev.position, ev.record.hash, ev.record.header.chain, ev.record.header.seq
                    );
                    true
                }
                Answer::Conflict { .. } => {
                    refuse(
                        &mut refused,
                        ev,
                        "the hub's chain does not continue where this record does (conflict)",
                    );
                    false
                }
                Answer::Refused { why, future: true } => {
                    let recorded = &ev.record.header.recorded_at;
                    let hub_now = clock::now()?.plus_seconds(clock_offset);
                    refuse(
                        &mut refused,
                        ev,
                        &format!(
                            "{why}; recorded_at {recorded} is {} after the hub's clock ({hub_now}): this post's clock was ahead when the record was written. Set the post's clock (NTP, or `date -s` from a trusted clock); the record stays in this post's ledger and the hub takes it once its clock passes {recorded}: run the same sync again then",
                            clock::span(recorded.unix_seconds() - hub_now.unix_seconds())
                        ),
                    );
                    false
                }
                Answer::Refused { why, .. } => {
                    refuse(&mut refused, ev, &why);
                    false
                }
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
        "hub_checkpoint": hub_checkpoint,
        "appended": counts.appended,
        "already_at_hub": counts.duplicate,
        "forks": counts.forks,
        "held_back": counts.held_back,
        "cursor": cursor,
        "clock_offset_secs": clock_offset,
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

/// Sends a window of consecutive records of the post and returns one answer per record, in
/// the window's order. Runs of authority records go one batch after another (they are barriers:
/// a record may need a key they enrol); the records between them go in `lanes` batches in
/// flight at once, each lane holding whole chains, so a chain's records stay in order in one
/// lane (no rule makes one detainee chain depend on another's record). An error means some
/// batch got no answer: nothing of the window counts as settled, and the next run sends it
/// again (the hub answers what it already holds as duplicates).
async fn send_window(
    target: &Hub,
    events: &[StoredEvent],
    batch: usize,
    lanes: usize,
    hub: &str,
) -> anyhow::Result<Vec<Answer>> {
    let is_authority =
        |i: usize| events[i].record.header.chain == custody_core::ids::AUTHORITY_CHAIN;
    let mut answers: Vec<Option<Answer>> = events.iter().map(|_| None).collect();
    let mut start = 0;
    while start < events.len() {
        let authority = is_authority(start);
        let end = (start..events.len())
            .find(|&i| is_authority(i) != authority)
            .unwrap_or(events.len());
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); if authority { 1 } else { lanes }];
        for (i, ev) in events.iter().enumerate().take(end).skip(start) {
            let lane = if authority {
                0
            } else {
                lane_of(&ev.record.header.chain, lanes)
            };
            groups[lane].push(i);
        }
        let sends = groups
            .iter()
            .filter(|g| !g.is_empty())
            .map(|group| async move {
                let mut got = Vec::with_capacity(group.len());
                for chunk in group.chunks(batch.max(1)) {
                    let records: Vec<Record> =
                        chunk.iter().map(|&i| events[i].record.clone()).collect();
                    let answers = target.send(&records, hub).await?;
                    if answers.len() != chunk.len() {
                        anyhow::bail!(
                            "the hub answered {} of the {} records of a batch",
                            answers.len(),
                            chunk.len()
                        );
                    }
                    got.extend(chunk.iter().copied().zip(answers));
                }
                Ok::<_, anyhow::Error>(got)
            });
        for got in futures::future::try_join_all(sends).await? {
            for (i, answer) in got {
                answers[i] = Some(answer);
            }
        }
        start = end;
    }
    answers
        .into_iter()
        .map(|a| a.ok_or_else(|| anyhow::anyhow!("a record of the batch got no answer")))
        .collect()
}

/// The lane of a chain: FNV-1a of its id, modulo `lanes`.
fn lane_of(chain: &str, lanes: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in chain.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    usize::try_from(h % lanes.max(1) as u64).unwrap_or(0)
}

/// A refusal by the hub, reported and kept as the first one.
fn refuse(refused: &mut Option<String>, ev: &StoredEvent, why: &str) {
    let what = format!(
        "position {}: record {} of chain {} seq {} refused by the hub: {why}",
        ev.position, ev.record.hash, ev.record.header.chain, ev.record.header.seq
    );
    eprintln!("custody: {what}");
    refused.get_or_insert(what);
}

/// Pulls the hub's published checkpoint, checks it is signed by this ledger's checkpoint key
/// and does not contradict the one pulled before, and keeps it in the post's metadata
/// (`hub-checkpoint/<hub>`); returns its size. Two different checkpoints of the same size
/// signed by the same key (a split view: the hub shows different ledgers to different
/// readers) stop the sync before anything is sent, and both notes are kept
/// (`hub-checkpoint-conflict/<hub>`).
async fn pull_checkpoint(
    out: Output,
    ledger: &Ledger,
    target: &Hub,
    hub: &str,
) -> anyhow::Result<Option<u64>> {
    let Some(note) = target.checkpoint(hub).await? else {
        progress(out, format!("the hub {hub} publishes no checkpoint yet"));
        return Ok(None);
    };
    let verifier = NoteVerifier::parse(&ledger.meta().ledger_vkey)
        .map_err(|e| anyhow::anyhow!("this post's ledger verifier key is unusable: {e}"))?;
    let new = verify_checkpoint(&note, &verifier).map_err(|e| {
        crate::exit::refused(format!(
            "the checkpoint the hub {hub} serves is not one of this ledger ({e}): nothing was sent; is it the same ledger?"
        ))
    })?;
    let s = ledger.store();
    let key = format!("hub-checkpoint/{hub}");
    if let Some(old_note) = s
        .meta(&key)
        .await?
        .and_then(|v| v["note"].as_str().map(str::to_string))
    {
        if let Ok(old) = verify_checkpoint(&old_note, &verifier) {
            if old.size == new.size && old.root != new.root {
                s.set_meta(
                    &format!("hub-checkpoint-conflict/{hub}"),
                    &json!({"kept": old_note, "new": note}),
                )
                .await?;
                return Err(crate::exit::refused(format!(
                    "CHECKPOINT CONFLICT: the hub {hub} signed two different ledgers of size {}: the one this post pulled before and the one it serves now (both kept in this post's metadata); nothing was sent: tell the ledger's monitors",
                    new.size
                )));
            }
            if new.size < old.size {
                eprintln!(
                    "custody: the hub {hub} serves a checkpoint of size {}, older than the one of size {} this post holds: kept the newer one",
                    new.size, old.size
                );
                return Ok(Some(old.size));
            }
        }
    }
    s.set_meta(&key, &json!({"size": new.size, "note": note}))
        .await
        .context("cannot keep the hub's checkpoint in the post's store")?;
    progress(
        out,
        format!("pulled the hub's checkpoint of size {}", new.size),
    );
    Ok(Some(new.size))
}

/// Appends the hub's authority chain to the post's ledger; returns how many records were new.
/// The future-time rule takes the later of the post's clock and the hub's (`offset` seconds
/// after the post's): the hub accepted these records by its clock, and a post whose clock is
/// behind must still take the keys enrolled there.
async fn pull_authority(
    ledger: &Ledger,
    target: &Hub,
    hub: &str,
    offset: i64,
) -> anyhow::Result<u64> {
    let mut new = 0;
    for record in target.authority(hub).await? {
        let now = clock::now()?.plus_seconds(offset.max(0));
        match ledger.append(&record, &now).await {
            Ok(AppendOutcome::Appended { .. }) => new += 1,
            Ok(AppendOutcome::Duplicate { .. }) => {}
            Err(AppendError::Invalid(e)) => {
                let why = match clock::refusal_hint(&e) {
                    Some(hint) => hint,
                    None => "is it the same ledger?".to_string(),
                };
                return Err(crate::exit::refused(format!(
                    "authority record {} of the hub {hub} is refused by this post's ledger ({}): {e}; {why}",
                    record.hash,
                    e.rule()
                )));
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
    ledger: &Ledger,
    target: &Hub,
    ev: &StoredEvent,
    source: &str,
    their_source: &str,
    hub: &str,
) -> anyhow::Result<()> {
    let h = &ev.record.header;
    let theirs = target.record_at(&h.chain, h.seq, hub).await?;
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
    let reported = target.report_fork(&ev.record, their_source, hub).await?;
    eprintln!(
        "custody: FORK at chain {} seq {}: this post holds {}, the hub holds {}; kept here ({}) and at the hub ({reported})",
        h.chain,
        h.seq,
        ev.record.hash,
        theirs.hash,
        fork_words(&kept),
    );
    Ok(())
}
