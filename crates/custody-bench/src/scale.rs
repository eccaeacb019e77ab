//! `custody-bench scale`: a whole ledger's life at a given size, on SQLite and on JetStream,
//! through the `custody` commands an operator runs, each step's time and peak memory.
//!
//! For each size N (events) the cached generated ledger ([`crate::data`]) is used: its first
//! N - `new` records, then its last `new` records as a day's growth. For each store, in a new
//! SQLite file or on a new nats-server (2.10, `sync_interval: always`, temporary store):
//!
//! 1. `init` as a replica (the trust anchors and the ledger's verifier key);
//! 2. `submit` of the N - new records: every record validated and appended, in order (the
//!    append rate; a restore from an export is exactly this);
//! 3. `checkpoint --publish` then `audit --full`: the monitor's full audit from the store;
//! 4. `submit` of the `new` records, `checkpoint --publish`, `audit`: the incremental audit
//!    resumed from the state the full audit saved;
//! 5. disk bytes per event (the SQLite file and its WAL, or nats-server's store directory);
//! 6. `export` of the whole ledger;
//! 7. `prove --event` of a record near the end with a tree file: the first call builds the
//!    tree file (every leaf), the second is the proof itself (a new process: its start-up and
//!    the store's opening are in it);
//! 8. `backlog` read by a court clerk (a key the run enrolls first: the generated world's
//!    keys have expired): the command verifies the store, folds the read model (the
//!    projection rebuild) and answers the query.
//!
//! Each step is a child process; its peak memory is its `ru_maxrss` from `wait4`. The baseline
//! printed beside the append rate is the same run's plain `export` rate (reading what was
//! written); beside the audit, the generated file's size. Figures at two sizes in one run show
//! the growth.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use custody_testkit::NatsServer;

use crate::data::{self, LedgerFile};
use crate::sys::{self, mib, run_custody, thousands, Timed};

/// The stores a `scale` run measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    /// The embedded SQLite store.
    Sqlite,
    /// NATS JetStream on a nats-server started for the run.
    Jetstream,
}

impl StoreKind {
    fn label(self) -> &'static str {
        match self {
            StoreKind::Sqlite => "SQLite",
            StoreKind::Jetstream => "JetStream",
        }
    }
}

/// Settings of one `scale` run.
#[derive(Clone, Debug)]
pub struct ScaleSettings {
    /// Ledger sizes, in events.
    pub sizes: Vec<usize>,
    /// Records of the day's growth appended after the full audit.
    pub new: usize,
    /// Stores measured.
    pub stores: Vec<StoreKind>,
    /// Where ledgers are cached.
    pub cache: PathBuf,
}

/// What one store did at one size.
#[derive(Debug)]
struct Row {
    size: usize,
    store: StoreKind,
    chains: u64,
    append: Timed,
    appended: usize,
    full_audit: Timed,
    tail_append: Timed,
    incremental_audit: Timed,
    disk_bytes: u64,
    export: Timed,
    tree_build: Timed,
    proof: Timed,
    backlog: Timed,
}

/// Key files and the ledger's verifier key, written once for the run.
struct Keys {
    vkey: PathBuf,
    ledger_key: PathBuf,
    root_key: PathBuf,
    /// A court clerk's key, enrolled by the run itself (the generated world's keys expired
    /// with its last day, and a reader's key must be valid now).
    clerk: PathBuf,
    clerk_public: String,
    clerk_agency: String,
}

fn write_keys(dir: &Path, full: &LedgerFile) -> anyhow::Result<Keys> {
    let base = data::build_base(0)?;
    let clerk = base
        .actor("pole-clerk")
        .context("the scenario has no pole-clerk")?;
    let clerk_key = custody_core::SecretKey::from_seed(*b"custody-bench scale court clerk!");
    let keys = Keys {
        vkey: dir.join("ledger.vkey"),
        ledger_key: dir.join("ledger.key"),
        root_key: dir.join("root.key"),
        clerk: dir.join("clerk.key"),
        clerk_public: clerk_key.public().to_string(),
        clerk_agency: clerk.agency.to_string(),
    };
    fs::write(&keys.vkey, format!("{}\n", full.info.meta.ledger_vkey))
        .with_context(|| format!("cannot write {}", keys.vkey.display()))?;
    sys::write_key_file(&keys.ledger_key, &base.ledger_key)?;
    sys::write_key_file(&keys.root_key, &base.root_key)?;
    sys::write_key_file(&keys.clerk, &clerk_key)?;
    Ok(keys)
}

/// The last `count` lines of `file` as a file of their own in `dir`.
fn tail_file(file: &LedgerFile, count: usize, dir: &Path) -> anyhow::Result<PathBuf> {
    let skip = usize::try_from(file.info.events)?
        .checked_sub(count)
        .context("the ledger is smaller than its day's growth")?;
    let path = dir.join(format!("tail-{}.jsonl", file.info.events));
    let input = BufReader::new(
        File::open(&file.path).with_context(|| format!("cannot open {}", file.path.display()))?,
    );
    let mut out = BufWriter::new(
        File::create(&path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    let mut written = 0;
    for line in input.lines().skip(skip) {
        writeln!(out, "{}", line?)?;
        written += 1;
    }
    out.flush()?;
    if written != count {
        bail!(
            "{} ends early: {written} of {count} lines",
            file.path.display()
        );
    }
    Ok(path)
}

/// The first `count` lines of `file` (its authority chain: every generated ledger starts with
/// it) as a file of their own in `dir`: what a monitor auditing a JetStream store's headers is
/// given (`custody audit --authority`).
fn head_file(file: &LedgerFile, count: usize, dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!("authority-{}.jsonl", file.info.events));
    let input = BufReader::new(
        File::open(&file.path).with_context(|| format!("cannot open {}", file.path.display()))?,
    );
    let mut out = BufWriter::new(
        File::create(&path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    for line in input.lines().take(count) {
        writeln!(out, "{}", line?)?;
    }
    out.flush()?;
    Ok(path)
}

/// The hash of the record on line `index` (0-based) of a JSONL ledger.
fn hash_at(path: &Path, index: usize) -> anyhow::Result<String> {
    let input = BufReader::new(
        File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
    );
    let line = input
        .lines()
        .nth(index)
        .context("the ledger is shorter than the record asked for")??;
    let v: serde_json::Value = serde_json::from_str(&line)?;
    v["hash"]
        .as_str()
        .map(str::to_string)
        .context("a record without a hash")
}

/// Bytes of every file under `path` (a file or a directory).
fn disk_bytes(path: &Path) -> u64 {
    match fs::metadata(path) {
        Ok(m) if m.is_file() => m.len(),
        Ok(m) if m.is_dir() => fs::read_dir(path)
            .map(|entries| entries.flatten().map(|e| disk_bytes(&e.path())).sum())
            .unwrap_or(0),
        _ => 0,
    }
}

/// A store for one measurement, removed when dropped.
enum Store {
    Sqlite(PathBuf),
    Jetstream(NatsServer),
}

impl Store {
    fn spec(&self) -> String {
        match self {
            Store::Sqlite(path) => path.display().to_string(),
            Store::Jetstream(server) => server.url(),
        }
    }

    fn bytes(&self) -> u64 {
        match self {
            Store::Sqlite(path) => {
                let mut wal = path.clone().into_os_string();
                wal.push("-wal");
                disk_bytes(path) + disk_bytes(Path::new(&wal))
            }
            Store::Jetstream(server) => disk_bytes(server.store_dir()),
        }
    }
}

/// Measures one store at one size.
#[allow(clippy::too_many_arguments)]
fn measure(
    custody: &Path,
    kind: StoreKind,
    dir: &Path,
    keys: &Keys,
    full: &LedgerFile,
    prefix: &LedgerFile,
    tail: &Path,
    new: usize,
) -> anyhow::Result<Row> {
    let size = usize::try_from(full.info.events)?;
    let work = dir.join(format!("{}-{size}", kind.label().to_lowercase()));
    fs::create_dir_all(&work)?;
    let store = match kind {
        StoreKind::Sqlite => Store::Sqlite(work.join("ledger.db")),
        StoreKind::Jetstream => Store::Jetstream(
            NatsServer::start().context("cannot start nats-server (CUSTODY_NATS_SERVER)")?,
        ),
    };
    let spec = store.spec();
    // The ledger state file lets each command open the ledger without replaying it: beside
    // the SQLite file by default, named for JetStream.
    let state_file = work.join("ledger.state").display().to_string();
    let global: Vec<&str> = match kind {
        StoreKind::Sqlite => Vec::new(),
        StoreKind::Jetstream => vec!["--state-file", &state_file],
    };
    let step = |args: &[&str]| run_custody(custody, &spec, &[&global[..], args].concat());
    let path_arg = |p: &Path| p.display().to_string();
    let trust = path_arg(&full.trust_path);
    let vkey = path_arg(&keys.vkey);
    let ledger_key = path_arg(&keys.ledger_key);
    let state = path_arg(&work.join("audit-state"));
    let tree = path_arg(&work.join("ledger.tree.sqlite"));
    println!(
        "  {} at {}: init and submit",
        kind.label(),
        thousands(size as f64)
    );
    step(&["init", "--trust", &trust, "--ledger-vkey", &vkey])?;
    let append = step(&["submit", &path_arg(&prefix.path)])?;
    let publish = ["checkpoint", "--ledger-key", &ledger_key, "--publish"];
    step(&publish)?;
    println!(
        "  {} at {}: full audit",
        kind.label(),
        thousands(size as f64)
    );
    // On JetStream the audit reads the header stream, as a monitor's user does, so it is given
    // the authority chain with its payloads.
    let authority = path_arg(&head_file(
        full,
        usize::try_from(full.info.authority_events)?,
        &work,
    )?);
    let mut audit = vec!["audit", "--state-dir", &state];
    if kind == StoreKind::Jetstream {
        audit.extend(["--authority", &authority]);
    }
    let full_audit = step(&[&audit[..], &["--full"]].concat())?;
    let tail_append = step(&["submit", &path_arg(tail)])?;
    step(&publish)?;
    let incremental_audit = step(&audit)?;
    let disk_bytes = store.bytes();
    println!(
        "  {} at {}: export, proof, backlog",
        kind.label(),
        thousands(size as f64)
    );
    let out = work.join("export.jsonl");
    let export = step(&["export", "--out", &path_arg(&out)])?;
    let exported = BufReader::new(File::open(&out)?).lines().count();
    if exported != size {
        bail!(
            "the export of the {} store holds {exported} records, not {size}",
            kind.label()
        );
    }
    fs::remove_file(&out)?;
    let hash = hash_at(&full.path, size - new / 2)?;
    let prove = ["prove", "--event", &hash, "--tree", &tree];
    let tree_build = step(&prove)?;
    let proof = step(&prove)?;
    step(&[
        "enroll",
        "key",
        "--root-key",
        &path_arg(&keys.root_key),
        "--key",
        &keys.clerk_public,
        "--agency",
        &keys.clerk_agency,
        "--roles",
        "court_clerk",
        "--holder-name",
        "Greffier du banc d'essai",
        "--badge",
        "BENCH-1",
    ])?;
    let backlog = step(&[
        "backlog",
        "--as",
        &path_arg(&keys.clerk),
        "--format",
        "json",
    ])?;
    drop(store);
    let _ = fs::remove_dir_all(&work);
    Ok(Row {
        size,
        store: kind,
        chains: full.info.chains,
        append,
        appended: usize::try_from(prefix.info.events)?,
        full_audit,
        tail_append,
        incremental_audit,
        disk_bytes,
        export,
        tree_build,
        proof,
        backlog,
    })
}

/// Generates (when not cached) the ledger of `size` events in a child process, its progress
/// on this standard output: generating in this process would leave its resident memory here,
/// and every step's `ru_maxrss` would count it (a child starts with its parent's).
fn generate_in_child(cache: &Path, size: usize) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("cannot find this program")?;
    let status = std::process::Command::new(exe)
        .arg("--cache-dir")
        .arg(cache)
        .arg("gen-ledger")
        .arg(size.to_string())
        .status()
        .context("cannot start the generator")?;
    if !status.success() {
        anyhow::bail!("generating the ledger of {size} events failed ({status})");
    }
    Ok(())
}

/// Runs the `scale` subcommand.
pub fn run(settings: &ScaleSettings) -> anyhow::Result<()> {
    println!("== custody-bench scale");
    println!(
        "A ledger's life through the custody commands, on {}: submit (every record validated \
         and appended), full audit, a day's growth of {} records and the incremental audit, \
         disk bytes per event, export, an inclusion proof with a tree file, the clerk's \
         backlog (verify, projection rebuild, query). Each step is a process of its own: \
         seconds and peak memory (ru_maxrss).",
        settings
            .stores
            .iter()
            .map(|s| s.label())
            .collect::<Vec<_>>()
            .join(" and "),
        thousands(settings.new as f64)
    );
    let custody = sys::custody_binary()?;
    if settings.sizes.iter().any(|&s| s <= settings.new) {
        bail!("every size must be larger than --new");
    }
    println!(
        "{} CPUs, load average {}",
        sys::cpus(),
        sys::load_average().map_or_else(|| "unknown".to_string(), |l| format!("{l:.2}"))
    );
    let dir = tempfile::tempdir_in(&settings.cache)
        .or_else(|_| tempfile::tempdir())
        .context("cannot create a temporary directory")?;
    let mut rows = Vec::new();
    for &size in &settings.sizes {
        let cached = data::is_cached(&settings.cache, size);
        generate_in_child(&settings.cache, size)?;
        let full = data::ensure_ledger(&settings.cache, size)?;
        if !cached {
            println!(
                "generated {} in {:.1} s",
                full.path.display(),
                full.info.generation_secs
            );
        }
        let prefix = data::ensure_prefix(&full, size - settings.new)?;
        let tail = tail_file(&full, settings.new, dir.path())?;
        let keys = write_keys(dir.path(), &full)?;
        println!(
            "this harness's resident memory: {} (a floor under each step's peak below)",
            sys::status_kib("self", "VmRSS").map_or_else(|| "?".to_string(), sys::mib)
        );
        for &kind in &settings.stores {
            rows.push(measure(
                &custody,
                kind,
                dir.path(),
                &keys,
                &full,
                &prefix,
                &tail,
                settings.new,
            )?);
        }
        let _ = fs::remove_file(&tail);
    }
    print_rows(&rows, settings.new);
    println!(
        "load average at the end {}",
        sys::load_average().map_or_else(|| "unknown".to_string(), |l| format!("{l:.2}"))
    );
    Ok(())
}

fn print_rows(rows: &[Row], new: usize) {
    println!();
    println!(
        "  {:<10} {:>10} {:>8} {:<34} {:>9} {:>12} {:>11}",
        "store", "events", "chains", "step", "seconds", "rate/s", "peak RSS"
    );
    for r in rows {
        let line = |step: &str, t: &Timed, events: Option<usize>| {
            println!(
                "  {:<10} {:>10} {:>8} {:<34} {:>9.2} {:>12} {:>11}",
                r.store.label(),
                thousands(r.size as f64),
                thousands(r.chains as f64),
                step,
                t.secs,
                events.map_or_else(String::new, |n| thousands(n as f64 / t.secs)),
                mib(t.peak_kib)
            );
        };
        line("submit (append)", &r.append, Some(r.appended));
        line("audit --full", &r.full_audit, Some(r.size - new));
        line(
            &format!("submit of {} more", thousands(new as f64)),
            &r.tail_append,
            Some(new),
        );
        line("audit (incremental)", &r.incremental_audit, Some(new));
        line("export", &r.export, Some(r.size));
        line("prove (builds the tree file)", &r.tree_build, Some(r.size));
        line("prove (tree file ready)", &r.proof, None);
        line(
            "backlog (verify + project + query)",
            &r.backlog,
            Some(r.size),
        );
        println!(
            "  {:<10} {:>10} {:>8} {:<34} {} bytes, {:.0} bytes per event",
            r.store.label(),
            thousands(r.size as f64),
            thousands(r.chains as f64),
            "disk",
            thousands(r.disk_bytes as f64),
            r.disk_bytes as f64 / r.size as f64
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_bytes_adds_up_a_directory_tree() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a"), [0u8; 10]).unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub").join("b"), [0u8; 32]).unwrap();
        assert_eq!(disk_bytes(dir.path()), 42);
        assert_eq!(disk_bytes(&dir.path().join("a")), 10);
        assert_eq!(disk_bytes(&dir.path().join("missing")), 0);
    }
}
