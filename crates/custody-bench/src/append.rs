//! `custody-bench append`: acknowledged appends per second through the gateway and the
//! ledger, against a raw JetStream publish of the same bytes measured in the same run.
//!
//! The data is the first `A + N` records of a cached ledger ([`crate::data`]): its `A`
//! authority records, appended before any clock starts, then `N` detainee records. The detainee
//! chains are dealt round-robin to `W` writers; each writer sends its chains' records in ledger
//! order (so each chain in chain order) and waits for each answer before sending the next, so
//! at most `W` appends are in flight. Every measurement starts from an empty store (a new
//! nats-server, or a new SQLite file) and ends by checking that the store holds `A + N`
//! records.
//!
//! Besides the rates, each path's CPU time per event is printed, for this process (clients,
//! gateway, ledger) and for nats-server, and diagnostic paths (e), (f), (g) measure the parts
//! of the gateway path alone, so that a figure can be explained, not only read. `--only`
//! picks paths (the baseline always runs).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use async_nats::jetstream::stream::{Config as StreamConfig, StorageType};
use bytes::Bytes;
use custody_core::ids::AUTHORITY_CHAIN;
use custody_core::validate::ValidatorConfig;
use custody_core::Record;
use custody_ledger::{Ledger, LedgerMeta};
use custody_store::LedgerStore;
use custody_store_nats::{JetStreamStore, CHAIN_SUBJECT_PREFIX, LEDGER_SUBJECTS};
use custody_store_sqlite::SqliteStore;
use custody_testkit::NatsServer;

use crate::data;
use crate::sys::{self, thousands};

/// Stream of the raw baseline; it takes the ledger stream's subjects (on its own server).
const RAW_STREAM: &str = "BENCH_RAW";

/// Settings of one `append` run.
#[derive(Clone, Debug)]
pub struct AppendSettings {
    /// Detainee records appended in each measurement.
    pub records: usize,
    /// Concurrent writers.
    pub writers: usize,
    /// How many times the measurements are repeated (interleaved).
    pub rounds: usize,
    /// The paths measured beside the baseline (empty: all).
    pub only: Vec<Path>,
    /// Where ledgers are cached.
    pub cache: std::path::PathBuf,
}

/// One record as every path sends it.
struct Item {
    record: Record,
    /// The record with its payload: the HTTP body.
    line: Bytes,
    /// The record without payload: what the ledger stream holds, and the raw baseline sends.
    header_line: Bytes,
    /// Chain id.
    chain: String,
}

/// The same data for every measurement.
struct Workload {
    meta: LedgerMeta,
    authority: Vec<Record>,
    writers: Vec<Arc<Vec<Item>>>,
    records: usize,
}

impl Workload {
    fn total(&self) -> u64 {
        (self.authority.len() + self.records) as u64
    }
}

/// A timed measurement.
#[derive(Clone, Copy, Debug)]
struct Measure {
    elapsed: Duration,
    events: usize,
    /// CPU seconds used by this process (clients, and the gateway when it is measured) while
    /// the clock ran.
    own_cpu: f64,
    /// CPU seconds used by nats-server while the clock ran (0 for SQLite).
    server_cpu: f64,
}

impl Measure {
    fn rate(self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }

    /// Microseconds of CPU per event, in this process and in nats-server.
    fn cpu_per_event(self) -> (f64, f64) {
        let per = |s: f64| s * 1e6 / self.events as f64;
        (per(self.own_cpu), per(self.server_cpu))
    }
}

/// A path that can be measured beside the baseline (`--only`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Path {
    /// (a) HTTP gateway on JetStream.
    Gateway,
    /// (a') the gateway's routes without the follower.
    Router,
    /// (h) batch appends through the gateway on JetStream (the sync path).
    GatewayBatch,
    /// (i) the `custody sync` command, from a post's SQLite file into the gateway on JetStream.
    Sync,
    /// (c) `Ledger::append` on JetStream.
    LedgerNats,
    /// (d) `Ledger::append` on SQLite.
    LedgerSqlite,
    /// (e) `JetStreamStore::append` alone, without validation.
    StoreNats,
    /// (f) raw: the header publish and a payload write in parallel, on two connections.
    RawTwoWrites,
    /// (g) the HTTP round trip alone, to a handler that does nothing.
    HttpOnly,
}

/// What is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// (b) The baseline.
    Raw,
    /// (a) `custody_gateway::serve` on JetStream.
    Gateway,
    /// (a') The gateway's router without its follower (diagnostic).
    RouterOnly,
    /// (h) Batch appends through `custody_gateway::serve` on JetStream.
    GatewayBatch,
    /// (i) `custody sync` (the binary) from a post's SQLite file into the gateway.
    SyncCommand,
    /// (c) `Ledger::append` on JetStream.
    LedgerNats,
    /// (d) `Ledger::append` on SQLite.
    LedgerSqlite,
    /// (e) `JetStreamStore::append` without validation (diagnostic).
    StoreNats,
    /// (f) The two writes of the ledger's layout, raw (diagnostic).
    RawTwoWrites,
    /// (g) HTTP alone (diagnostic).
    HttpOnly,
}

/// Measurement order (the baseline first; ratios are to it).
const TARGETS: [Target; 10] = [
    Target::Raw,
    Target::Gateway,
    Target::GatewayBatch,
    Target::SyncCommand,
    Target::RouterOnly,
    Target::LedgerNats,
    Target::LedgerSqlite,
    Target::StoreNats,
    Target::RawTwoWrites,
    Target::HttpOnly,
];

impl Target {
    /// Whether `only` selects this target (the baseline always runs).
    fn selected(self, only: &[Path]) -> bool {
        let path = match self {
            Target::Raw => return true,
            Target::Gateway => Path::Gateway,
            Target::RouterOnly => Path::Router,
            Target::GatewayBatch => Path::GatewayBatch,
            Target::SyncCommand => Path::Sync,
            Target::LedgerNats => Path::LedgerNats,
            Target::LedgerSqlite => Path::LedgerSqlite,
            Target::StoreNats => Path::StoreNats,
            Target::RawTwoWrites => Path::RawTwoWrites,
            Target::HttpOnly => Path::HttpOnly,
        };
        only.is_empty() || only.contains(&path)
    }

    fn label(self) -> &'static str {
        match self {
            Target::Raw => "(b) raw JetStream publish, awaiting each ack [baseline]",
            Target::Gateway => "(a) HTTP POST /v1/events: gateway on JetStreamStore",
            Target::RouterOnly => "(a') same, router only, no follower [diagnostic]",
            Target::GatewayBatch => "(h) HTTP batches of 200 (x-ndjson): gateway on JetStream",
            Target::SyncCommand => "(i) custody sync from a post's SQLite file: same gateway",
            Target::LedgerNats => "(c) Ledger::append on JetStreamStore, no HTTP",
            Target::LedgerSqlite => "(d) Ledger::append on SqliteStore (file)",
            Target::StoreNats => "(e) JetStreamStore::append, no validation [diagnostic]",
            Target::RawTwoWrites => "(f) raw publish + payload put, in parallel [diagnostic]",
            Target::HttpOnly => "(g) HTTP POST to an empty handler [diagnostic]",
        }
    }

    async fn measure(self, work: &Workload) -> anyhow::Result<Measure> {
        match self {
            Target::Raw => raw_publish(work).await,
            Target::Gateway => gateway(work, Serve::Full).await,
            Target::RouterOnly => gateway(work, Serve::RouterOnly).await,
            Target::GatewayBatch => gateway(work, Serve::Batches).await,
            Target::SyncCommand => gateway(work, Serve::SyncCommand).await,
            Target::LedgerNats => ledger_nats(work).await,
            Target::LedgerSqlite => ledger_sqlite(work).await,
            Target::StoreNats => store_nats(work).await,
            Target::RawTwoWrites => raw_two_writes(work).await,
            Target::HttpOnly => http_only(work).await,
        }
    }
}

/// The median of some rates.
fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    let n = rates.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => rates[n / 2],
        _ => (rates[n / 2 - 1] + rates[n / 2]) / 2.0,
    }
}

fn load(settings: &AppendSettings) -> anyhow::Result<Workload> {
    if settings.writers == 0 {
        bail!("--writers must be at least 1");
    }
    if settings.records == 0 {
        bail!("--records must be at least 1");
    }
    let authority = data::authority_events()?;
    let file = data::ensure_ledger(&settings.cache, authority + settings.records)?;
    if let Some(took) = file.generated_now {
        println!(
            "generated {} in {:.1} s",
            file.path.display(),
            took.as_secs_f64()
        );
    }
    let mut auth = Vec::new();
    let mut writers: Vec<Vec<Item>> = (0..settings.writers).map(|_| Vec::new()).collect();
    let mut owner = std::collections::HashMap::<String, usize>::new();
    for (record, line) in data::read_records(&file)? {
        if record.header.chain == AUTHORITY_CHAIN {
            auth.push(record);
            continue;
        }
        let next = owner.len() % settings.writers;
        let w = *owner.entry(record.header.chain.clone()).or_insert(next);
        writers[w].push(Item {
            header_line: Bytes::from(record.without_payload().to_json_line()),
            line: Bytes::from(line),
            chain: record.header.chain.clone(),
            record,
        });
    }
    let records = writers.iter().map(Vec::len).sum();
    if records != settings.records || auth.len() != authority {
        bail!(
            "{} holds {} authority and {records} detainee records, expected {authority} and {}",
            file.path.display(),
            auth.len(),
            settings.records
        );
    }
    println!(
        "data: {} ({} authority records appended before timing, then {records} detainee records \
         on {} chains, {} writers)",
        file.path.display(),
        auth.len(),
        owner.len(),
        settings.writers
    );
    Ok(Workload {
        meta: file.info.meta,
        authority: auth,
        writers: writers.into_iter().map(Arc::new).collect(),
        records,
    })
}

/// Runs the `append` subcommand.
pub async fn run(settings: &AppendSettings) -> anyhow::Result<()> {
    println!("== custody-bench append");
    println!(
        "Acknowledged appends per second of the same N signed records, W writers each \
         waiting for every answer, each path on an empty store (a new nats-server, or a new \
         SQLite file).\n\
         (b) baseline: async-nats publish of each record's header bytes (what the ledger \
         stream stores) to a file-backed stream, awaiting the ack: no validation, no payload.\n\
         (a) the full path: HTTP POST to custody_gateway::serve (validation, signature, chain \
         check, JetStreamStore append, and the gateway's follower); (a') the same routes \
         without the follower; (c) and (d) Ledger::append without HTTP.\n\
         Diagnostics that take (a) apart: (e) JetStreamStore::append without validation; (f) \
         the two writes of the store's layout, raw (header publish and payload put, in \
         parallel on two connections); (g) the HTTP exchange alone, to an empty handler.\n\
         CPU per event is read from /proc for this process and for nats-server."
    );
    let work = load(settings)?;
    let version = nats_version().await?;
    println!(
        "N = {} records, W = {} writers, nats-server {version}, {} CPUs, load average {}",
        work.records,
        settings.writers,
        sys::cpus(),
        load_text()
    );

    let rounds = settings.rounds.max(1);
    let targets: Vec<Target> = TARGETS
        .into_iter()
        .filter(|t| t.selected(&settings.only))
        .collect();
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); targets.len()];
    let mut cpus: Vec<Vec<(f64, f64)>> = vec![Vec::new(); targets.len()];
    for round in 0..rounds {
        if rounds > 1 {
            println!("round {}/{rounds}", round + 1);
        }
        for (i, target) in targets.iter().enumerate() {
            let m = target
                .measure(&work)
                .await
                .with_context(|| format!("measurement {} failed", target.label()))?;
            if rounds > 1 {
                println!(
                    "  {:<56} {:>9} events/s",
                    target.label(),
                    thousands(m.rate())
                );
            }
            rates[i].push(m.rate());
            cpus[i].push(m.cpu_per_event());
        }
    }

    println!();
    let what = if rounds > 1 {
        "median of the rounds"
    } else {
        "one pass each"
    };
    println!(
        "results ({what}; N = {}, W = {}; CPU per event: this process, which holds the clients \
         and the gateway or ledger, and nats-server):",
        work.records, settings.writers
    );
    let rates: Vec<f64> = rates.into_iter().map(median).collect();
    let raw = rates[0];
    for ((target, rate), cpu) in targets.iter().zip(&rates).zip(&cpus) {
        let own = median(cpu.iter().map(|c| c.0).collect());
        let server = median(cpu.iter().map(|c| c.1).collect());
        println!(
            "  {:<56} {:>9} events/s  {:>6.2} s  {:>5.2}x raw  CPU {:>4.0} + {:>4.0} us",
            target.label(),
            thousands(*rate),
            work.records as f64 / rate,
            rate / raw,
            own,
            server
        );
    }
    println!();
    if let Some(i) = targets.iter().position(|t| *t == Target::Gateway) {
        let ratio = rates[i] / raw;
        println!(
            "gateway / raw acknowledged publish = {ratio:.2}x  (aim: gateway >= 0.5x raw \
             acknowledged publish: {})",
            if ratio >= 0.5 { "met" } else { "NOT met" }
        );
    }
    let position = |want: Target| targets.iter().position(|t| *t == want);
    for (batched, what) in [
        (Target::GatewayBatch, "batched gateway"),
        (Target::SyncCommand, "custody sync"),
    ] {
        let Some(b) = position(batched) else {
            continue;
        };
        if let Some(i) = position(Target::Gateway) {
            let ratio = rates[b] / rates[i];
            println!(
                "{what} / single-record gateway = {ratio:.2}x  (aim >= 2x: {})",
                if ratio >= 2.0 { "met" } else { "NOT met" }
            );
        }
        if let Some(i) = position(Target::LedgerNats) {
            let ratio = rates[b] / rates[i];
            println!(
                "{what} / Ledger::append on JetStream = {ratio:.2}x  (aim >= 0.8x: {})",
                if ratio >= 0.8 { "met" } else { "NOT met" }
            );
        }
    }
    println!("load average after: {}", load_text());
    Ok(())
}

fn load_text() -> String {
    sys::load_average().map_or_else(|| "unknown".to_string(), |l| format!("{l:.2}"))
}

async fn start_nats() -> anyhow::Result<NatsServer> {
    tokio::task::spawn_blocking(NatsServer::start)
        .await?
        .context("cannot start nats-server 2.10 or newer (scripts/install-nats-server.sh)")
}

async fn nats_version() -> anyhow::Result<String> {
    let server = start_nats().await?;
    let client = async_nats::connect(server.url()).await?;
    let version = client.server_info().version;
    drop(client);
    stop_nats(server).await;
    Ok(version)
}

async fn stop_nats(server: NatsServer) {
    // Killing and removing the directory blocks: keep it off the runtime's threads.
    let _ = tokio::task::spawn_blocking(move || drop(server)).await;
}

/// Runs `f` on every item of every writer, `W` tasks in parallel, and times it.
/// `server` is nats-server's process id, whose CPU time is read too.
async fn timed<F, Fut>(work: &Workload, server: Option<u32>, f: F) -> anyhow::Result<Measure>
where
    F: Fn(usize, Arc<Vec<Item>>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let server_cpu = || {
        server
            .and_then(|pid| sys::cpu_seconds(&pid.to_string()))
            .unwrap_or(0.0)
    };
    let own_cpu = || sys::cpu_seconds("self").unwrap_or(0.0);
    let (own_before, server_before) = (own_cpu(), server_cpu());
    let start = Instant::now();
    let tasks: Vec<_> = work
        .writers
        .iter()
        .enumerate()
        .map(|(w, items)| tokio::spawn(f(w, items.clone())))
        .collect();
    for t in tasks {
        t.await??;
    }
    let elapsed = start.elapsed();
    Ok(Measure {
        elapsed,
        events: work.records,
        own_cpu: own_cpu() - own_before,
        server_cpu: server_cpu() - server_before,
    })
}

/// A ledger on `store` holding the authority records (appended before timing).
async fn prepared_ledger(
    store: Arc<dyn LedgerStore>,
    work: &Workload,
) -> anyhow::Result<Arc<Ledger>> {
    Ledger::init(store.clone(), work.meta.clone()).await?;
    // As `custody serve` opens it: detainee records must carry their payload.
    let config = ValidatorConfig {
        require_payload: true,
        ..ValidatorConfig::default()
    };
    let ledger = Ledger::open(store, config).await?;
    let now = sys::now();
    for r in &work.authority {
        ledger
            .append(r, &now)
            .await
            .with_context(|| format!("authority record {} refused", r.hash))?;
    }
    Ok(Arc::new(ledger))
}

async fn check_size(store: &dyn LedgerStore, work: &Workload, extra: u64) -> anyhow::Result<()> {
    let size = store.size().await?;
    if size != work.total() + extra {
        bail!(
            "the store holds {size} records after the run, expected {}",
            work.total() + extra
        );
    }
    Ok(())
}

/// (b) Raw acknowledged publish of the header bytes to a file-backed stream.
async fn raw_publish(work: &Workload) -> anyhow::Result<Measure> {
    let server = start_nats().await?;
    let client = async_nats::connect(server.url()).await?;
    let js = async_nats::jetstream::new(client.clone());
    let mut stream = raw_stream(&js).await?;
    let m = timed(work, server.pid(), |_, items| {
        let js = js.clone();
        async move {
            for item in items.iter() {
                let subject = format!("{CHAIN_SUBJECT_PREFIX}{}", item.chain);
                js.publish(subject, item.header_line.clone())
                    .await
                    .map_err(|e| anyhow::anyhow!("publish failed: {e}"))?
                    .await
                    .map_err(|e| anyhow::anyhow!("publish not acknowledged: {e}"))?;
            }
            Ok(())
        }
    })
    .await?;
    check_messages(&mut stream, work.records).await?;
    drop(client);
    stop_nats(server).await;
    Ok(m)
}

/// The scratch stream of the raw baselines, on the ledger stream's subjects.
async fn raw_stream(
    js: &async_nats::jetstream::Context,
) -> anyhow::Result<async_nats::jetstream::stream::Stream> {
    js.create_stream(StreamConfig {
        name: RAW_STREAM.to_string(),
        subjects: vec![LEDGER_SUBJECTS.to_string()],
        storage: StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(|e| anyhow::anyhow!("cannot create stream {RAW_STREAM}: {e}"))
}

/// Checks that a scratch stream holds `expected` messages after a run.
async fn check_messages(
    stream: &mut async_nats::jetstream::stream::Stream,
    expected: usize,
) -> anyhow::Result<()> {
    let info = stream
        .info()
        .await
        .map_err(|e| anyhow::anyhow!("cannot read a scratch stream: {e}"))?;
    let (name, stored) = (&info.config.name, info.state.messages);
    if stored != expected as u64 {
        bail!("stream {name} holds {stored} messages, expected {expected}");
    }
    Ok(())
}

/// How the gateway is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Serve {
    /// `custody_gateway::serve`: the routes and the follower that keeps the validation state
    /// current with the store (it reads back every record appended).
    Full,
    /// `custody_gateway::router` alone, served by axum: the same routes without the follower,
    /// to show what the follower costs.
    RouterOnly,
    /// The full gateway, sent batches ([`post_batches`]).
    Batches,
    /// The full gateway, fed by the `custody sync` binary from a post ([`sync_command`]).
    SyncCommand,
}

/// Records per batch of the batch path (h), as `custody sync` sends them by default.
const BATCH: usize = 200;

/// (a) The full gateway path: HTTP, validation, JetStreamStore.
async fn gateway(work: &Workload, serve: Serve) -> anyhow::Result<Measure> {
    let server = start_nats().await?;
    let store = JetStreamStore::connect(&server.url()).await?;
    let store: Arc<dyn LedgerStore> = Arc::new(store);
    let ledger = prepared_ledger(store.clone(), work).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/v1/events", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let serving = match serve {
        Serve::Full | Serve::Batches | Serve::SyncCommand => {
            tokio::spawn(custody_gateway::serve(ledger, listener, shutdown))
        }
        Serve::RouterOnly => tokio::spawn(async move {
            axum::serve(listener, custody_gateway::router(ledger))
                .with_graceful_shutdown(shutdown)
                .await
        }),
    };
    let post = match serve {
        Serve::SyncCommand => Some(PostFile::prepare(work).await?),
        _ => None,
    };
    let m = match (&serve, &post) {
        (Serve::Batches, _) => post_batches(work, &url, server.pid()).await?,
        (Serve::SyncCommand, Some(post)) => {
            post.enroll_reader(&server.url())?;
            let base = url.trim_end_matches("/v1/events");
            sync_command(work, post, base, server.pid()).await?
        }
        _ => post_all(work, &url, server.pid()).await?,
    };
    // Path (i) enrolled the sync's reader key at the hub: one more authority record.
    let extra = u64::from(post.is_some());
    drop(post);
    check_size(store.as_ref(), work, extra).await?;
    let _ = stop.send(());
    serving.await??;
    drop(store);
    stop_nats(server).await;
    Ok(m)
}

async fn ledger_appends(
    work: &Workload,
    ledger: Arc<Ledger>,
    server: Option<u32>,
) -> anyhow::Result<Measure> {
    let now = sys::now();
    timed(work, server, |_, items| {
        let ledger = ledger.clone();
        let now = now.clone();
        async move {
            for item in items.iter() {
                ledger
                    .append(&item.record, &now)
                    .await
                    .with_context(|| format!("append of {} refused", item.record.hash))?;
            }
            Ok(())
        }
    })
    .await
}

/// (c) `Ledger::append` on a JetStreamStore.
async fn ledger_nats(work: &Workload) -> anyhow::Result<Measure> {
    let server = start_nats().await?;
    let store: Arc<dyn LedgerStore> = Arc::new(JetStreamStore::connect(&server.url()).await?);
    let ledger = prepared_ledger(store.clone(), work).await?;
    let m = ledger_appends(work, ledger, server.pid()).await?;
    check_size(store.as_ref(), work, 0).await?;
    drop(store);
    stop_nats(server).await;
    Ok(m)
}

/// (d) `Ledger::append` on a SqliteStore in a temporary directory.
async fn ledger_sqlite(work: &Workload) -> anyhow::Result<Measure> {
    let dir = tempfile::Builder::new()
        .prefix("custody-bench-")
        .tempdir()?;
    let store: Arc<dyn LedgerStore> = Arc::new(SqliteStore::open(dir.path().join("ledger.db"))?);
    let ledger = prepared_ledger(store.clone(), work).await?;
    let m = ledger_appends(work, ledger, None).await?;
    check_size(store.as_ref(), work, 0).await?;
    Ok(m)
}

/// (e) `JetStreamStore::append` alone: the store's share of (c).
async fn store_nats(work: &Workload) -> anyhow::Result<Measure> {
    let server = start_nats().await?;
    let store = Arc::new(JetStreamStore::connect(&server.url()).await?);
    for r in &work.authority {
        store.append(r).await?;
    }
    let m = timed(work, server.pid(), |_, items| {
        let store = store.clone();
        async move {
            for item in items.iter() {
                store
                    .append(&item.record)
                    .await
                    .with_context(|| format!("append of {} failed", item.record.hash))?;
            }
            Ok(())
        }
    })
    .await?;
    check_size(store.as_ref(), work, 0).await?;
    drop(store);
    stop_nats(server).await;
    Ok(m)
}

/// (f) What the ledger's layout writes per record, with nothing else: the header publish and
/// a put of the payload bytes into a key-value bucket, in parallel on two connections.
async fn raw_two_writes(work: &Workload) -> anyhow::Result<Measure> {
    let server = start_nats().await?;
    let client = async_nats::connect(server.url()).await?;
    let js = async_nats::jetstream::new(client.clone());
    let kv_js = async_nats::jetstream::new(async_nats::connect(server.url()).await?);
    let mut stream = raw_stream(&js).await?;
    let bucket = kv_js
        .create_key_value(async_nats::jetstream::kv::Config {
            bucket: "BENCH_RAW_PAYLOADS".to_string(),
            history: 1,
            storage: StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the scratch bucket: {e}"))?;
    let m = timed(work, server.pid(), |_, items| {
        let (js, bucket) = (js.clone(), bucket.clone());
        async move {
            for item in items.iter() {
                let subject = format!("{CHAIN_SUBJECT_PREFIX}{}", item.chain);
                let payload = item
                    .record
                    .payload
                    .as_ref()
                    .map(|p| Bytes::from(p.canonical_bytes()))
                    .unwrap_or_default();
                let publish = async {
                    js.publish(subject, item.header_line.clone())
                        .await
                        .map_err(|e| anyhow::anyhow!("publish failed: {e}"))?
                        .await
                        .map_err(|e| anyhow::anyhow!("publish not acknowledged: {e}"))
                };
                let put = async {
                    bucket
                        .put(item.record.hash.to_hex(), payload)
                        .await
                        .map_err(|e| anyhow::anyhow!("payload put failed: {e}"))
                };
                futures::try_join!(publish, put)?;
            }
            Ok(())
        }
    })
    .await?;
    check_messages(&mut stream, work.records).await?;
    check_messages(&mut bucket.stream.clone(), work.records).await?;
    drop(client);
    stop_nats(server).await;
    Ok(m)
}

/// Every writer POSTs its records to `url` (one keep-alive connection each) and checks each
/// answer is 201.
async fn post_all(work: &Workload, url: &str, server: Option<u32>) -> anyhow::Result<Measure> {
    timed(work, server, |_, items| {
        let url = url.to_string();
        async move {
            let client = reqwest::Client::new();
            for item in items.iter() {
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(item.line.clone())
                    .send()
                    .await
                    .context("POST /v1/events failed")?;
                let status = response.status();
                if status != reqwest::StatusCode::CREATED {
                    let body = response.text().await.unwrap_or_default();
                    bail!(
                        "POST /v1/events of {} answered {status}: {body}",
                        item.record.hash
                    );
                }
                // Read the answer, as a client does.
                response
                    .bytes()
                    .await
                    .context("reading the answer failed")?;
            }
            Ok(())
        }
    })
    .await
}

/// (h) Each writer sends its records in batches of [`BATCH`] (`application/x-ndjson`), each
/// batch after the answer to the one before, and checks that every line was stored.
async fn post_batches(work: &Workload, url: &str, server: Option<u32>) -> anyhow::Result<Measure> {
    timed(work, server, |_, items| {
        let url = url.to_string();
        async move {
            let client = reqwest::Client::new();
            for chunk in items.chunks(BATCH) {
                let mut body = Vec::new();
                for item in chunk {
                    body.extend_from_slice(&item.line);
                    body.push(b'\n');
                }
                let response = client
                    .post(&url)
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                    .await
                    .context("POST /v1/events (batch) failed")?;
                let status = response.status();
                let text = response.text().await.context("reading the answer failed")?;
                if status != reqwest::StatusCode::OK {
                    bail!("a batch answered {status}: {text}");
                }
                let created = text.matches("\"status\":201").count();
                if created != chunk.len() {
                    bail!(
                        "a batch of {} records stored {created}: {}",
                        chunk.len(),
                        text.lines()
                            .find(|l| !l.contains("\"status\":201"))
                            .unwrap_or("")
                    );
                }
            }
            Ok(())
        }
    })
    .await
}

/// A field post's ledger file holding the workload, and a key file of an enrolled key of the
/// ledger for the sync's signed reads: what path (i) syncs.
struct PostFile {
    dir: tempfile::TempDir,
    /// Agency, role and public key of the reader key enrolled at the hub.
    reader_agency: String,
    reader_role: String,
    reader_public: String,
}

impl PostFile {
    /// Stores the authority records and every record of the workload in a new SQLite post
    /// ledger (a replica of the hub's), writer after writer (each chain in order); untimed.
    async fn prepare(work: &Workload) -> anyhow::Result<PostFile> {
        let dir = tempfile::Builder::new()
            .prefix("custody-bench-post-")
            .tempdir()?;
        let store: Arc<dyn LedgerStore> = Arc::new(SqliteStore::open(dir.path().join("post.db"))?);
        let meta = LedgerMeta {
            role: custody_ledger::LedgerRole::Replica,
            ..work.meta.clone()
        };
        Ledger::init(store.clone(), meta).await?;
        // Straight into the store: the workload is a ledger validated when it was generated
        // (and `custody sync` validates it again when it opens the post). Through
        // `Ledger::append` its redactions would remove their payloads at the post, and a
        // primary hub refuses a detainee record without payload (`payload_missing`) that
        // arrives before its redaction: see docs/OPERATIONS.md, "Syncing a post with the hub".
        for r in &work.authority {
            store.append(r).await?;
        }
        for items in &work.writers {
            for item in items.iter() {
                store
                    .append(&item.record)
                    .await
                    .with_context(|| format!("post record {} not stored", item.record.hash))?;
            }
        }
        // The scenario's keys expired long ago (its records are signed at their own times), so
        // the sync's signed reads need a key valid now: the root key enrols one at the hub
        // before timing ([`PostFile::enroll_reader`]).
        let scenario = data::build_base(0)?;
        let actor = scenario
            .actors
            .first()
            .context("the scenario has no key holder")?;
        let reader = custody_core::SecretKey::from_seed(
            <sha2::Sha256 as sha2::Digest>::digest(b"custody-bench/sync-reader").into(),
        );
        crate::sys::write_key_file(&dir.path().join("root.key"), &scenario.root_key)?;
        crate::sys::write_key_file(&dir.path().join("reader.key"), &reader)?;
        Ok(PostFile {
            dir,
            reader_agency: actor.agency.to_string(),
            reader_role: actor
                .roles
                .first()
                .context("the scenario's first key holder has no role")?
                .as_str()
                .to_string(),
            reader_public: reader.public().to_string(),
        })
    }

    /// Enrols the sync's reader key at the hub (`custody enroll key`, signed by the root key).
    fn enroll_reader(&self, hub_nats: &str) -> anyhow::Result<()> {
        let custody = sys::custody_binary()?;
        let out = std::process::Command::new(&custody)
            .arg("--store")
            .arg(hub_nats)
            .args([
                "--quiet",
                "enroll",
                "key",
                "--key",
                &self.reader_public,
                "--agency",
            ])
            .arg(&self.reader_agency)
            .args([
                "--roles",
                &self.reader_role,
                "--holder-name",
                "Benchmark reader",
                "--badge",
                "BENCH-1",
                "--root-key",
            ])
            .arg(self.dir.path().join("root.key"))
            .output()
            .with_context(|| format!("cannot run {}", custody.display()))?;
        if !out.status.success() {
            bail!(
                "cannot enrol the sync's reader key at the hub: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }
}

/// (i) `custody --store post.db sync --to URL --key K --batch 200`, the binary beside this
/// harness, timed from its start to its exit; its CPU time is counted with this process's
/// (which holds the gateway).
async fn sync_command(
    work: &Workload,
    post: &PostFile,
    url: &str,
    server: Option<u32>,
) -> anyhow::Result<Measure> {
    let custody = sys::custody_binary()?;
    let server_cpu = || {
        server
            .and_then(|pid| sys::cpu_seconds(&pid.to_string()))
            .unwrap_or(0.0)
    };
    let cpu =
        || sys::cpu_seconds("self").unwrap_or(0.0) + sys::children_cpu_seconds().unwrap_or(0.0);
    let (own_before, server_before) = (cpu(), server_cpu());
    let start = Instant::now();
    let out = tokio::process::Command::new(&custody)
        .arg("--store")
        .arg(post.dir.path().join("post.db"))
        .args([
            "--json",
            "sync",
            "--to",
            url,
            "--batch",
            &BATCH.to_string(),
            "--key",
        ])
        .arg(post.dir.path().join("reader.key"))
        .output()
        .await
        .with_context(|| format!("cannot run {}", custody.display()))?;
    let elapsed = start.elapsed();
    if !out.status.success() {
        bail!(
            "custody sync failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let report: serde_json::Value = serde_json::from_slice(
        out.stdout
            .split(|&b| b == b'\n')
            .rfind(|l| !l.is_empty())
            .unwrap_or_default(),
    )
    .context("custody sync printed no JSON report")?;
    if report["appended"].as_u64() != Some(work.records as u64) {
        bail!(
            "custody sync appended {} of {} records: {report}",
            report["appended"],
            work.records
        );
    }
    Ok(Measure {
        elapsed,
        events: work.records,
        own_cpu: cpu() - own_before,
        server_cpu: server_cpu() - server_before,
    })
}

/// (g) The HTTP part of (a) alone: the same requests to an axum route that reads the body and
/// answers 201 with a small JSON body, as the gateway does.
async fn http_only(work: &Workload) -> anyhow::Result<Measure> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/v1/events", listener.local_addr()?);
    let app = axum::Router::new().route(
        "/v1/events",
        axum::routing::post(|body: axum::body::Bytes| async move {
            (
                axum::http::StatusCode::CREATED,
                axum::Json(serde_json::json!({"position": body.len(), "hash": "-"})),
            )
        }),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    let m = post_all(work, &url, None).await?;
    let _ = stop.send(());
    serving.await??;
    Ok(m)
}
