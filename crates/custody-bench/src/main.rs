//! `custody-bench`: throughput figures of custody-ledger, each printed next to a baseline
//! measured in the same run, on the same data.
//!
//! This is a harness, not a test: it prints figures and asserts nothing about time. It does
//! check that every path did the work (every append acknowledged, the store holding every
//! record, every record verified), and stops with an error otherwise.
//!
//! - `append`: acknowledged appends per second through the HTTP gateway on JetStream, through
//!   `Ledger::append` on JetStream and on SQLite, and the baseline: a raw async-nats
//!   acknowledged publish of the same header bytes to a file-backed stream. Aim: the gateway
//!   at least half as fast as the raw publish. Also the CPU time per event (this process and
//!   nats-server) and diagnostic paths that measure the parts of the gateway path alone.
//! - `verify`: offline verification of a JSONL ledger (`custody verify FILE`) in events per
//!   second with its peak memory, for a quarter of the file and the whole file, and the
//!   baseline: raw ed25519-dalek `verify_strict` of the same signatures on every core (the
//!   ceiling of a strict verifier; aim: at least 0.8x of it), and on one core.
//! - `packet`: `custody packet export` and the offline `custody packet verify` of a 200-event
//!   chain with 20 MiB (and 200 MiB) of evidence, each process's time and exact peak memory,
//!   beside the same chain's packet without blobs (aim: verify under 1 s, memory independent
//!   of the evidence). Needs `target/release/custody` beside the harness.
//! - `projection`: the rebuild rate of the persisted read model (`custody-projection`) in
//!   events per second beside a plain read of the same ledger in the same run (aim: at least
//!   0.5x), backlog query latency (median, p99 over 1,000 queries with varying filters; aim:
//!   p99 under 50 ms), peak memory. `--events N` (default 1,000,000).
//! - `witness`: `add-checkpoint` requests per second against a witness (`custody-witness`)
//!   served over HTTP on loopback with its SQLite file, sequential growing checkpoints with real
//!   consistency proofs, beside the same requests' checks and cosignature in process (the
//!   baseline) and the checks plus the witness's SQLite step in process.
//!   `--checkpoints N` (default 1,000), `--step S` leaves between checkpoints (default 16).
//! - `all`: `append` and `verify`, with their defaults.
//! - `audit`: the monitor's audit (`custody audit`'s verifier library) of the generated ledger:
//!   the full audit in events per second with its peak memory (the child's `VmHWM`), beside raw
//!   `verify_strict` on every core in the same run (aim: at least 0.8x), and the incremental
//!   audit of the last `--new` records (default 10,000) resumed from the state saved at
//!   N - new, at `--small` (default 100,000) and `--events` (default 1,000,000) records (aim:
//!   the same time at both sizes).
//!
//! - `scale`: a ledger's life at `--sizes` (default 1,000,000 events) through the `custody`
//!   commands, on SQLite and on JetStream: submit (append rate), full audit, a day's growth
//!   and the incremental audit, disk bytes per event, export, an inclusion proof with a tree
//!   file, the clerk's backlog; each step's seconds and peak memory. Needs
//!   `target/release/custody` beside the harness.
//!
//! Benchmark ledgers are generated once and cached under `target/custody-bench/` (see
//! [`data`] for how a ledger larger than the demo scenario is made while staying one valid
//! ledger).
//!
//! # README
//!
//! Needs `nats-server` on `PATH` for `append` (each measurement starts its own, on a free port,
//! with a temporary store). Always build in release mode:
//!
//! ```text
//! cargo run --release -p custody-bench -- append                        # N = 20000, W = 8
//! cargo run --release -p custody-bench -- append --records 5000 --writers 16 --rounds 3
//! cargo run --release -p custody-bench -- verify                        # 1,000,000 events
//! cargo run --release -p custody-bench -- verify --events 200000
//! cargo build --release -p custody-cli -p custody-bench && target/release/custody-bench packet
//! cargo run --release -p custody-bench -- all
//! cargo run --release -p custody-bench -- audit                         # 100,000 and 1,000,000
//! ```
//!
//! `verify` measures `target/release/custody` when it exists (`cargo build --release -p
//! custody-cli`), and otherwise the same verifier library (`custody-verify`) inside this
//! harness; it says which. `--custody PATH` picks another binary, `--in-process` forces the
//! library. The first `verify`
//! of a size generates its ledger (about a minute and a half per million events on two cores)
//! and prints how long it took; later runs reuse `target/custody-bench/ledger-<N>.jsonl`.
//! `--cache-dir DIR` moves the cache; deleting it forces a new generation.
//!
//! The machine is shared: figures move with the load of other processes (the load average is
//! printed before and after). Compare figures of one run with each other, not across runs;
//! `append --rounds R` repeats the four measurements interleaved and prints their medians.
#![deny(missing_docs)]
// One `unsafe` call in all: `wait4` in `sys::wait_with_peak`, for a child's exact peak memory.
#![deny(unsafe_code)]

mod append;
mod audit;
mod data;
mod packet;
mod projection;
mod proofs;
mod scale;
mod sys;
mod verify;
mod witness;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

/// Throughput of custody-ledger's append and verify paths, each against a baseline measured
/// in the same run.
#[derive(Debug, Parser)]
#[command(name = "custody-bench", version, about, long_about = None)]
struct Cli {
    /// Where generated ledgers are cached [default: target/custody-bench].
    #[arg(long, global = true)]
    cache_dir: Option<PathBuf>,
    /// The measurement to run.
    #[command(subcommand)]
    command: Cmd,
}

/// The measurements.
#[derive(Debug, Subcommand)]
enum Cmd {
    /// Appends per second: gateway, Ledger on JetStream and SQLite, raw JetStream publish.
    Append(AppendArgs),
    /// Offline verification of a JSONL ledger: events per second and peak memory, against raw
    /// strict signature verification on every core.
    Verify(VerifyArgs),
    /// `custody packet export` and offline `custody packet verify` of a 200-event chain with
    /// evidence: time and peak memory of each process, beside a packet without blobs.
    Packet(PacketArgs),
    /// The persisted read model: rebuild rate beside a plain read of the same ledger, backlog
    /// query latency over the folded detainees, peak memory.
    Projection(ProjectionArgs),
    /// `append` and `verify` with their defaults.
    All,
    /// Inclusion and consistency proof latency from the tree file (custody-tlog) at 1,000,000
    /// synthetic leaves, beside the O(n) core functions on the same leaves; tree build rate.
    Proofs(ProofsArgs),
    /// A ledger's life at each size through the custody commands, on SQLite and JetStream:
    /// append, audits, disk, export, proof, backlog; seconds and peak memory of each step.
    Scale(ScaleArgs),
    /// Internal: generates the cached ledger of this many events in this process, so that the
    /// process measuring the steps stays small (a child's `ru_maxrss` counts the resident
    /// memory its parent had when it was spawned).
    #[command(hide = true)]
    GenLedger {
        /// Events in the ledger.
        events: usize,
    },
    /// Internal: verifies one file in this process and prints a JSON report.
    #[command(hide = true)]
    VerifyStream {
        /// Trust anchors.
        #[arg(long)]
        trust: PathBuf,
        /// The JSONL ledger.
        file: PathBuf,
    },
    /// The monitor's audit: full audit of the generated ledger (events/s, peak memory) beside
    /// raw strict signature verification on every core; the incremental audit of the last
    /// records from a saved state, at two ledger sizes.
    Audit(AuditArgs),
    /// Internal: audits one file in this process (full, or resumed) and prints a JSON report.
    #[command(hide = true)]
    AuditStream {
        /// Trust anchors.
        #[arg(long)]
        trust: PathBuf,
        /// Resume the state saved in this file.
        #[arg(long)]
        resume: Option<PathBuf>,
        /// Save the state reached at this many records (with --save).
        #[arg(long, requires = "save")]
        save_at: Option<u64>,
        /// Where to save it.
        #[arg(long, requires = "save_at")]
        save: Option<PathBuf>,
        /// The JSONL ledger.
        file: PathBuf,
    },
    /// Witness `add-checkpoint` requests per second over HTTP, beside the same checks in
    /// process.
    Witness(WitnessArgs),
}

/// `custody-bench witness`.
#[derive(Debug, Args)]
struct WitnessArgs {
    /// Checkpoints sent, one request each.
    #[arg(long, default_value_t = 1000)]
    checkpoints: usize,
    /// Leaves the log grows by between two checkpoints.
    #[arg(long, default_value_t = 16)]
    step: usize,
}

/// `custody-bench proofs`.
#[derive(Debug, Args)]
struct ProofsArgs {
    /// Leaves of the tree (synthetic event hashes).
    #[arg(long, default_value_t = 1_000_000)]
    leaves: u64,
    /// Proofs of each kind timed from the tree file.
    #[arg(long, default_value_t = 2000)]
    queries: usize,
    /// Proofs of each kind timed with the O(n) core functions (each rehashes every leaf).
    #[arg(long, default_value_t = 5)]
    baseline: usize,
    /// Leaves per transaction while building the file.
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
}

/// `custody-bench audit`.
#[derive(Debug, Args)]
struct AuditArgs {
    /// Events in the large ledger.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Events in the smaller ledger of the incremental comparison.
    #[arg(long, default_value_t = 100_000)]
    small: usize,
    /// New events verified by the incremental audit.
    #[arg(long, default_value_t = 10_000)]
    new: usize,
}

/// `custody-bench scale`.
#[derive(Debug, Args)]
struct ScaleArgs {
    /// Ledger sizes in events, comma-separated (e.g. 1000000,10000000).
    #[arg(long, value_delimiter = ',', default_value = "1000000")]
    sizes: Vec<usize>,
    /// Records of the day's growth, appended and audited after the full audit.
    #[arg(long, default_value_t = 10_000)]
    new: usize,
    /// Stores to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,jetstream")]
    stores: Vec<scale::StoreKind>,
}

/// `custody-bench projection`.
#[derive(Debug, Args)]
struct ProjectionArgs {
    /// Events in the ledger.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Detainees asked for (the generator gives about one per 20 events; reported beside).
    #[arg(long)]
    detainees: Option<usize>,
    /// Backlog queries measured.
    #[arg(long, default_value_t = 1000)]
    queries: usize,
    /// Records per transaction of the rebuild (each touched detainee row is written once per
    /// transaction); default: the rebuild's own (`custody_projection::REBUILD_BATCH`).
    #[arg(long, default_value_t = custody_projection::REBUILD_BATCH)]
    batch: usize,
    /// Also fold the same ledger into an empty file by the catch-up path in batches of this
    /// many records (one transaction each: the gateway's catch-up, and how a rebuild ran
    /// before it had its own path), timed beside the rebuild in the same run.
    #[arg(long)]
    compare_catch_up: Option<usize>,
}

/// `custody-bench packet`.
#[derive(Debug, Args)]
struct PacketArgs {
    /// Events of the detainee's chain.
    #[arg(long, default_value_t = 200)]
    events: usize,
    /// Evidence totals to measure, in MiB (comma-separated); the first is also measured as a
    /// packet with no blob in it, the baseline.
    #[arg(long, value_delimiter = ',', default_values_t = vec![20, 200])]
    evidence_mib: Vec<u64>,
}

/// `custody-bench append`.
#[derive(Debug, Args)]
struct AppendArgs {
    /// Detainee records appended by each path (after the authority records).
    #[arg(long, default_value_t = 20_000)]
    records: usize,
    /// Concurrent writers, each waiting for every acknowledgement.
    #[arg(long, default_value_t = 8)]
    writers: usize,
    /// Repetitions of the four measurements, interleaved; medians are reported.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Measure only these paths beside the baseline (comma-separated; default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<append::Path>,
}

impl Default for AppendArgs {
    fn default() -> Self {
        AppendArgs {
            records: 20_000,
            writers: 8,
            rounds: 1,
            only: Vec::new(),
        }
    }
}

/// `custody-bench verify`.
#[derive(Debug, Args)]
struct VerifyArgs {
    /// Events in the ledger file.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// The `custody` binary to measure [default: target/release/custody, if built].
    #[arg(long)]
    custody: Option<PathBuf>,
    /// Measure the verifier library in this harness even if the `custody` binary exists.
    #[arg(long)]
    in_process: bool,
}

impl Default for VerifyArgs {
    fn default() -> Self {
        VerifyArgs {
            events: 1_000_000,
            custody: None,
            in_process: false,
        }
    }
}

/// The workspace's target directory.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    // crates/custody-bench -> the workspace root.
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .join("target")
}

fn run_append(cache: PathBuf, args: &AppendArgs) -> anyhow::Result<()> {
    let settings = append::AppendSettings {
        records: args.records,
        writers: args.writers,
        rounds: args.rounds,
        only: args.only.clone(),
        cache,
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(append::run(&settings))
}

fn run_verify(cache: PathBuf, args: &VerifyArgs) -> anyhow::Result<()> {
    verify::run(&verify::VerifySettings {
        events: args.events,
        cache,
        custody: args
            .custody
            .clone()
            .unwrap_or_else(|| target_dir().join("release").join("custody")),
        in_process: args.in_process,
    })
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let cache = cli
        .cache_dir
        .unwrap_or_else(|| target_dir().join("custody-bench"));
    match cli.command {
        Cmd::Append(args) => run_append(cache, &args),
        Cmd::Verify(args) => run_verify(cache, &args),
        Cmd::Packet(args) => packet::run(&packet::PacketSettings {
            events: args.events,
            evidence_mib: args.evidence_mib,
        }),
        Cmd::Projection(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?
            .block_on(projection::run(&projection::ProjectionSettings {
                events: args.events,
                detainees: args.detainees,
                queries: args.queries,
                batch: args.batch,
                compare_catch_up: args.compare_catch_up,
                cache,
            })),
        Cmd::All => {
            run_append(cache.clone(), &AppendArgs::default())?;
            println!();
            run_verify(cache, &VerifyArgs::default())
        }
        Cmd::Proofs(args) => proofs::run(&proofs::ProofSettings {
            leaves: args.leaves,
            queries: args.queries,
            baseline: args.baseline,
            batch: args.batch.max(1),
            cache,
        }),
        Cmd::Scale(args) => scale::run(&scale::ScaleSettings {
            sizes: args.sizes,
            new: args.new,
            stores: args.stores,
            cache,
        }),
        Cmd::Audit(args) => audit::run(&audit::AuditSettings {
            events: args.events,
            small: args.small,
            new: args.new,
            cache,
        }),
        Cmd::AuditStream {
            trust,
            resume,
            save_at,
            save,
            file,
        } => {
            let save = save_at.zip(save);
            let report = audit::stream(
                &file,
                &trust,
                resume.as_deref(),
                save.as_ref().map(|(at, p)| (*at, p.as_path())),
            )?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        Cmd::GenLedger { events } => {
            data::ensure_ledger(&cache, events)?;
            Ok(())
        }
        Cmd::VerifyStream { trust, file } => {
            let report = verify::stream(&file, &trust)?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        Cmd::Witness(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?
            .block_on(witness::run(&witness::WitnessSettings {
                checkpoints: args.checkpoints,
                step: args.step,
            })),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("custody-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
