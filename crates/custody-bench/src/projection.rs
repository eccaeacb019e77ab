//! `projection`: the rebuild rate of the persisted read model (`custody-projection`) over a
//! generated ledger, beside a plain read of the same ledger (the same scan, no fold) in the
//! same run; then the latency of backlog queries (`custody_views::backlog`) with varying
//! filters over the folded detainees, and the peak memory.
//!
//! The ledger is the cached JSONL file of [`crate::data`] (generated once, streamed: the world
//! is never held in memory), served to `LedgerScan` by a small read-only store that reads the
//! file line by line, so both measurements read and parse the same records the same way and
//! differ only by the fold and its SQLite writes. The detainee count follows from the events
//! (the generator copies the 200 chains of its scenario, about 20 records each); `--detainees`
//! is checked against it and reported.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context};
use async_trait::async_trait;
use custody_core::chain::ChainHead;
use custody_core::{Hash, Record, Timestamp};
use custody_projection::ProjectionDb;
use custody_store::{
    AccessEntry, AppendOutcome, EventStream, ForkAlarm, LedgerScan, LedgerStore, PayloadState,
    StoreError, StoredEvent,
};
use custody_views::backlog::{backlog, BacklogFilter};
use custody_views::census::LegalStatus;

use crate::data;
use crate::sys;

/// What to measure.
#[derive(Debug, Clone)]
pub struct ProjectionSettings {
    /// Events in the ledger.
    pub events: usize,
    /// Detainees expected (reported beside the detainees the ledger holds).
    pub detainees: Option<usize>,
    /// Backlog queries.
    pub queries: usize,
    /// Records per rebuild transaction.
    pub batch: usize,
    /// Also time the catch-up path from an empty file, in batches of this many records.
    pub compare_catch_up: Option<usize>,
    /// The cache of generated ledgers.
    pub cache: PathBuf,
}

/// A read-only store over a JSONL ledger, read forwards line by line.
#[derive(Debug)]
struct FileStore {
    path: PathBuf,
    name: String,
    size: u64,
    reader: Mutex<(u64, BufReader<File>)>,
}

impl FileStore {
    fn open(path: &Path, name: &str, size: u64) -> anyhow::Result<FileStore> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        Ok(FileStore {
            path: path.to_path_buf(),
            name: name.to_string(),
            size,
            reader: Mutex::new((0, BufReader::with_capacity(1 << 20, file))),
        })
    }
}

fn unsupported<T>() -> Result<T, StoreError> {
    Err(StoreError::Backend(
        "the benchmark's file store only reads forwards".to_string(),
    ))
}

#[async_trait]
impl LedgerStore for FileStore {
    async fn append(&self, _record: &Record) -> Result<AppendOutcome, StoreError> {
        unsupported()
    }
    async fn chain(&self, _chain: &str) -> Result<Vec<StoredEvent>, StoreError> {
        unsupported()
    }
    async fn read_from(&self, position: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let mut guard = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        if position != guard.0 {
            // Reopen and skip forwards (only for a restart of the scan at 0 in practice).
            let file = File::open(&self.path).map_err(|e| StoreError::Backend(e.to_string()))?;
            *guard = (0, BufReader::with_capacity(1 << 20, file));
            let mut line = String::new();
            while guard.0 < position {
                line.clear();
                if guard
                    .1
                    .read_line(&mut line)
                    .map_err(|e| StoreError::Backend(e.to_string()))?
                    == 0
                {
                    return Ok(Vec::new());
                }
                guard.0 += 1;
            }
        }
        let mut out = Vec::with_capacity(limit);
        let mut line = String::new();
        while out.len() < limit {
            line.clear();
            let n = guard
                .1
                .read_line(&mut line)
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            if n == 0 {
                break;
            }
            let record = Record::from_json(line.trim_end().as_bytes()).map_err(|e| {
                StoreError::Corrupt(format!("line {} of the ledger: {e}", guard.0 + 1))
            })?;
            out.push(StoredEvent {
                position: guard.0,
                record,
                payload: PayloadState::Present,
            });
            guard.0 += 1;
        }
        Ok(out)
    }
    async fn subscribe(&self, _position: u64) -> Result<EventStream, StoreError> {
        unsupported()
    }
    async fn head(&self, _chain: &str) -> Result<Option<ChainHead>, StoreError> {
        unsupported()
    }
    async fn size(&self) -> Result<u64, StoreError> {
        Ok(self.size)
    }
    async fn event(&self, _hash: &Hash) -> Result<Option<StoredEvent>, StoreError> {
        unsupported()
    }
    async fn remove_payload(&self, _hash: &Hash) -> Result<(), StoreError> {
        unsupported()
    }
    async fn meta(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        Ok((key == "ledger").then(|| serde_json::json!({"name": self.name})))
    }
    async fn set_meta(&self, _key: &str, _value: &serde_json::Value) -> Result<(), StoreError> {
        unsupported()
    }
    async fn log_access(&self, _entry: &AccessEntry) -> Result<(), StoreError> {
        unsupported()
    }
    async fn access_log(&self, _from: u64, _limit: usize) -> Result<Vec<AccessEntry>, StoreError> {
        Ok(Vec::new())
    }
    async fn record_fork(&self, _alarm: &ForkAlarm) -> Result<bool, StoreError> {
        unsupported()
    }
    async fn forks(&self, _from: u64, _limit: usize) -> Result<Vec<ForkAlarm>, StoreError> {
        Ok(Vec::new())
    }
}

/// Copies folded detainees under new chain ids until the projection holds `want`; returns the
/// number of copies made.
fn pad_detainees(projection: &mut custody_views::detainee::Projection, want: usize) -> usize {
    let originals: Vec<_> = projection.detainees.values().cloned().collect();
    if originals.is_empty() {
        return 0;
    }
    let mut copied = 0;
    let mut copy = 0usize;
    while projection.detainees.len() < want {
        let mut fold = originals[copy % originals.len()].clone();
        fold.chain = format!("{}c{}", fold.chain, copy / originals.len());
        fold.code = custody_core::humancode::code_for_chain(&fold.chain);
        projection.detainees.insert(fold.chain.clone(), fold);
        copy += 1;
        copied += 1;
    }
    copied
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs the measurement and prints its figures.
pub async fn run(settings: &ProjectionSettings) -> anyhow::Result<()> {
    println!(
        "projection: {} events; load average {:.2}",
        settings.events,
        sys::load_average().unwrap_or(f64::NAN)
    );
    let file = data::ensure_ledger(&settings.cache, settings.events)?;
    if let Some(d) = file.generated_now {
        println!("  generated the ledger in {:.1} s", d.as_secs_f64());
    }
    let events = file.info.events;
    let name = file.info.meta.name.clone();

    // Baseline: the same scan, no fold.
    let store = FileStore::open(&file.path, &name, events)?;
    let started = Instant::now();
    let mut scan = LedgerScan::new(&store, 0);
    let mut read = 0u64;
    while let Some(batch) = scan.next_batch().await? {
        read += batch.len() as u64;
    }
    let plain = started.elapsed().as_secs_f64();
    if read != events {
        bail!("the plain read saw {read} records of {events}");
    }

    // The rebuild: scan, fold and write every batch to a fresh views file.
    let dir = tempfile::tempdir().context("temporary directory")?;
    let store = FileStore::open(&file.path, &name, events)?;
    let mut db =
        ProjectionDb::open(dir.path().join("views.sqlite"))?.rebuild_batch_size(settings.batch);
    let started = Instant::now();
    let (projection, done) = db.rebuild(&store).await?;
    let rebuild = started.elapsed().as_secs_f64();
    if done.folded != events {
        bail!("the rebuild folded {} records of {events}", done.folded);
    }
    let detainees = projection.detainees.len();
    let views_bytes = std::fs::metadata(dir.path().join("views.sqlite"))
        .map(|m| m.len())
        .unwrap_or(0);
    let plain_rate = events as f64 / plain;
    let rebuild_rate = events as f64 / rebuild;
    println!(
        "  detainees folded: {}{}",
        sys::thousands(detainees as f64),
        settings
            .detainees
            .map(|d| format!(
                " (asked {}: the generator gives about one per 20 events)",
                sys::thousands(d as f64)
            ))
            .unwrap_or_default()
    );
    println!(
        "  plain read (LedgerScan, parse only):   {:>10} events/s ({plain:.1} s)",
        sys::thousands(plain_rate)
    );
    println!(
        "  rebuild (scan, fold, SQLite writes, {} records per transaction): {:>10} events/s ({rebuild:.1} s), {:.2}x the plain read (aim >= 0.5x); views file {} MiB",
        sys::thousands(settings.batch as f64),
        sys::thousands(rebuild_rate),
        rebuild_rate / plain_rate,
        views_bytes / (1 << 20)
    );

    // The catch-up path from an empty file, in the same run: what a rebuild did before it
    // folded in memory and wrote each row once per transaction.
    if let Some(batch) = settings.compare_catch_up {
        let store = FileStore::open(&file.path, &name, events)?;
        let mut db = ProjectionDb::open(dir.path().join("catch-up.sqlite"))?.batch_size(batch);
        let mut caught = custody_views::detainee::Projection::new();
        let started = Instant::now();
        let done = db.catch_up(&store, &mut caught).await?;
        let took = started.elapsed().as_secs_f64();
        if done.folded != events || caught != projection {
            bail!(
                "the catch-up folded {} records of {events}, or another fold",
                done.folded
            );
        }
        let rate = events as f64 / took;
        println!(
            "  catch-up from an empty file ({} records per transaction, the rebuild's path before): {:>10} events/s ({took:.1} s), {:.2}x the plain read",
            sys::thousands(batch as f64),
            sys::thousands(rate),
            rate / plain_rate
        );
    }

    // Backlog queries with varying filters over the folded detainees; when more detainees are
    // asked than the generated ledger holds, the folded ones are copied under new chain ids
    // (same facilities, orders and ages: the same distribution, more people) until there are
    // as many, and the line says so.
    let mut projection = projection;
    let copied = pad_detainees(&mut projection, settings.detainees.unwrap_or(0));
    let detainees = projection.detainees.len();
    let facilities: Vec<String> = projection.directory.facilities.keys().cloned().collect();
    let statuses = [
        None,
        Some(LegalStatus::PreTrialDetention),
        Some(LegalStatus::Convicted),
        Some(LegalStatus::PoliceCustody),
    ];
    let base = projection
        .latest_recorded_at
        .clone()
        .unwrap_or_else(sys::now);
    let mut times = Vec::with_capacity(settings.queries);
    let mut checksum = 0u64;
    for i in 0..settings.queries {
        let filter = BacklogFilter {
            facility: (i % 3 == 1 && !facilities.is_empty())
                .then(|| facilities[i % facilities.len()].clone()),
            court: None,
            status: statuses[i % statuses.len()],
            overdue_only: i % 5 == 0,
            agency: None,
        };
        let at = Timestamp::from_unix_seconds(base.unix_seconds() - (i as i64 % 30) * 86_400);
        let started = Instant::now();
        let report = backlog(&projection, &at, &filter);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        checksum = checksum.wrapping_add(report.to_json().to_string().len() as u64);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "  backlog queries over {} detainees{}: median {:.2} ms, p99 {:.2} ms (aim < 50 ms), {} queries ({checksum} bytes of answers)",
        sys::thousands(detainees as f64),
        if copied > 0 {
            format!(" ({} of them copies of folded ones)", sys::thousands(copied as f64))
        } else {
            String::new()
        },
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        settings.queries
    );
    println!(
        "  peak memory (VmHWM): {}; load average {:.2}",
        sys::status_kib("self", "VmHWM").map_or_else(|| "?".to_string(), sys::mib),
        sys::load_average().unwrap_or(f64::NAN)
    );
    Ok(())
}
