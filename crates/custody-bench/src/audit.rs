//! `custody-bench audit`: the monitor's audit (the verifier library of `custody audit`) of the
//! cached generated ledger, full and incremental, beside a raw `verify_strict` loop over the
//! same signatures on every core in the same run.
//!
//! - Full audit: every record of an N-event ledger, saving the verifier's state at N - new (as
//!   `custody audit` saves it at the checkpoint it verified); events/s and peak memory (the
//!   child's own `VmHWM`: its `ru_maxrss` read by `wait4` came out the same for the full and the
//!   incremental audit of one ledger, apparently this parent's resident memory at spawn time,
//!   std spawning with a shared address space until exec).
//! - Incremental audit: a new process resumes that saved state (read and checked from its
//!   file) and verifies the last `new` records only. Done at two ledger sizes (N and a smaller
//!   one): the time should follow the new records, not the ledger.
//!
//! Each measured audit runs in a child process of its own (this binary's hidden
//! `audit-stream`), so that its peak memory belongs to it alone. The checkpoint itself (one
//! Ed25519 note signature and a root comparison) is left out: it costs microseconds.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};
use custody_core::authority::TrustAnchors;
use custody_verify::{SavedState, Verifier};
use serde::{Deserialize, Serialize};

use crate::data::{self, LedgerFile};
use crate::sys::{self, mib, thousands};
use crate::verify::{load_signatures, strict_verify};

/// Settings of one `audit` run.
#[derive(Clone, Debug)]
pub struct AuditSettings {
    /// Events of the large ledger.
    pub events: usize,
    /// Events of the smaller ledger of the incremental comparison.
    pub small: usize,
    /// New events verified by the incremental audit.
    pub new: usize,
    /// Where ledgers are cached.
    pub cache: PathBuf,
}

/// What the `audit-stream` child reports on standard output (one JSON line).
#[derive(Debug, Serialize, Deserialize)]
pub struct AuditReport {
    /// Records in the ledger after the audit.
    pub records: u64,
    /// Records verified by this process.
    pub verified: u64,
    /// Seconds reading and checking the saved state (0 for a full audit).
    pub load_secs: f64,
    /// Seconds of the verification (reading included).
    pub secs: f64,
    /// Seconds saving the state (the split form: the chains the audit touched, or every chain
    /// for a full audit; 0 when nothing was saved).
    pub save_secs: f64,
    /// `VmHWM` of this process at the end, KiB (its own high-water mark since exec: the
    /// `ru_maxrss` a parent reads may include the parent's own resident memory when the child
    /// was spawned with a shared address space, as posix_spawn does).
    pub peak_kib: u64,
}

/// The `audit-stream` subcommand: a full audit saving the state at `save_at` into `save`, or
/// an incremental one resuming the state in `resume`.
pub fn stream(
    file: &Path,
    trust: &Path,
    resume: Option<&Path>,
    save: Option<(u64, &Path)>,
) -> anyhow::Result<AuditReport> {
    let trust_text = std::fs::read_to_string(trust)
        .with_context(|| format!("cannot read trust anchors {}", trust.display()))?;
    let trust: TrustAnchors = serde_json::from_str(&trust_text)
        .with_context(|| format!("{} is not a trust.json", trust.display()))?;
    let start = Instant::now();
    let (verifier, from) = match resume {
        Some(path) => {
            let (state, chains) = SavedState::open(path)
                .with_context(|| format!("cannot read the saved state {}", path.display()))?;
            let from = state.size;
            (Verifier::resume_with(trust, state, chains)?, from)
        }
        None => (Verifier::new(trust), 0),
    };
    let load_secs = start.elapsed().as_secs_f64();
    let mut verifier = verifier
        .with_clock(Some(sys::now()))
        .with_snapshot_at(save.map(|(at, _)| at));
    let start = Instant::now();
    let report = verifier
        .verify_file(file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let secs = start.elapsed().as_secs_f64();
    if let Some(f) = report.failure {
        bail!(
            "position {} of {} is refused ({}): {}",
            f.position,
            file.display(),
            f.rule,
            f.message
        );
    }
    let start = Instant::now();
    if let Some((at, path)) = save {
        let state = verifier
            .take_snapshot()
            .with_context(|| format!("the audit did not reach {at} records"))?;
        verifier
            .save_state(state, path)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let save_secs = start.elapsed().as_secs_f64();
    Ok(AuditReport {
        records: report.summary.records,
        verified: report.summary.records - from,
        load_secs,
        secs,
        save_secs,
        peak_kib: sys::status_kib("self", "VmHWM").unwrap_or(0),
    })
}

/// One audit child: its report and its peak resident memory (KiB).
fn run_child(
    file: &LedgerFile,
    resume: Option<&Path>,
    save: Option<(u64, &Path)>,
) -> anyhow::Result<(AuditReport, u64)> {
    let exe = std::env::current_exe().context("cannot find this program")?;
    let mut cmd = Command::new(&exe);
    cmd.arg("audit-stream")
        .arg("--trust")
        .arg(&file.trust_path)
        .arg(&file.path);
    if let Some(path) = resume {
        cmd.arg("--resume").arg(path);
    }
    if let Some((at, path)) = save {
        cmd.arg("--save-at")
            .arg(at.to_string())
            .arg("--save")
            .arg(path);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    let stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        use std::io::Read;
        let mut text = String::new();
        if let Some(mut s) = stdout {
            let _ = s.read_to_string(&mut text);
        }
        text
    });
    let (ended, _rusage_kib) = sys::wait_with_peak(child)?;
    let out = reader.join().unwrap_or_default();
    if !ended.success() {
        bail!(
            "the audit of {} failed: {}",
            file.path.display(),
            ended.stderr
        );
    }
    let report: AuditReport =
        serde_json::from_str(out.trim()).context("audit-stream printed no report")?;
    let peak_kib = report.peak_kib;
    Ok((report, peak_kib))
}

/// Runs the `audit` subcommand.
pub fn run(settings: &AuditSettings) -> anyhow::Result<()> {
    println!("== custody-bench audit");
    println!(
        "The monitor's audit (custody audit's verifier library: parse, hash, strict signature, \
         authority and chain rules, Merkle frontier, saved state): a full audit of the ledger, \
         events/s and peak memory, beside raw ed25519-dalek verify_strict of the same \
         signatures on every core (aim: 0.8x or more); then the incremental audit of the last \
         {} records, resumed from the state saved at N - {}, at two ledger sizes (aim: the same \
         time at both).",
        thousands(settings.new as f64),
        thousands(settings.new as f64)
    );
    if settings.small <= settings.new || settings.events <= settings.small {
        bail!("need --new < --small < --events");
    }
    println!(
        "{} CPUs, load average {}",
        sys::cpus(),
        sys::load_average().map_or_else(|| "unknown".to_string(), |l| format!("{l:.2}"))
    );
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let mut incremental = Vec::new();
    let mut full_run = None;
    for (i, size) in [settings.small, settings.events].into_iter().enumerate() {
        let ledger = data::ensure_ledger(&settings.cache, size)?;
        match ledger.generated_now {
            Some(took) => println!(
                "generated {} in {:.1} s",
                ledger.path.display(),
                took.as_secs_f64()
            ),
            None => println!("data: {} (cached)", ledger.path.display()),
        }
        let at = (size - settings.new) as u64;
        let state = dir.path().join(format!("state-{size}"));
        let (full, full_peak) = run_child(&ledger, None, Some((at, &state)))?;
        let state_bytes = dir_bytes(dir.path(), &format!("state-{size}"));
        // The incremental audit saves its state back at the end, as `custody audit` does.
        let (inc, inc_peak) = run_child(&ledger, Some(&state), Some((size as u64, &state)))?;
        if inc.verified != settings.new as u64 || inc.records != size as u64 {
            bail!(
                "the incremental audit verified {} records of {}, expected {} of {size}",
                inc.verified,
                inc.records,
                settings.new
            );
        }
        incremental.push((size, inc, inc_peak, state_bytes));
        if i == 1 {
            full_run = Some((ledger, full, full_peak));
        }
    }
    let Some((ledger, full, full_peak)) = full_run else {
        bail!("no full audit ran");
    };
    let sigs = load_signatures(&ledger)?;
    let cpus = sys::cpus();
    let (raw_secs, _) = strict_verify(&sigs, cpus)?;
    let raw_rate = sigs.signatures.len() as f64 / raw_secs;
    drop(sigs);

    let full_rate = full.verified as f64 / full.secs;
    println!();
    println!(
        "  {:<44} {:>10} {:>9} {:>11} {:>12}",
        "", "events", "seconds", "events/s", "peak RSS"
    );
    println!(
        "  {:<44} {:>10} {:>9.2} {:>11} {:>12}",
        "full audit",
        thousands(full.verified as f64),
        full.secs,
        thousands(full_rate),
        mib(full_peak)
    );
    println!(
        "  {:<44} {:>10} {:>9.2} {:>11} {:>12}",
        format!("raw verify_strict, {cpus} threads (ceiling)"),
        thousands(full.verified as f64),
        raw_secs,
        thousands(raw_rate),
        ""
    );
    for (size, inc, peak, state_bytes) in &incremental {
        println!(
            "  {:<44} {:>10} {:>9.2} {:>11} {:>12}",
            format!("incremental audit, ledger of {}", thousands(*size as f64)),
            thousands(inc.verified as f64),
            inc.load_secs + inc.secs + inc.save_secs,
            thousands(inc.verified as f64 / (inc.load_secs + inc.secs + inc.save_secs)),
            mib(*peak)
        );
        println!(
            "    (state file and chains file {}: read and checked in {:.2} s, verified in {:.2} \
             s, touched chains saved in {:.2} s; the {} earlier lines of the file are sought \
             past, not read)",
            mib(state_bytes / 1024),
            inc.load_secs,
            inc.secs,
            inc.save_secs,
            thousands(inc.records as f64 - inc.verified as f64)
        );
    }
    println!();
    println!(
        "full audit / raw verify_strict on {cpus} threads = {:.2}x (aim: 0.80x or more)",
        full_rate / raw_rate
    );
    if let [(s_small, small, _, _), (s_big, big, _, _)] = incremental.as_slice() {
        println!(
            "incremental audit of {} new records: {:.2} s at {} records, {:.2} s at {} records \
             ({:.2}x)",
            thousands(settings.new as f64),
            small.load_secs + small.secs + small.save_secs,
            thousands(*s_small as f64),
            big.load_secs + big.secs + big.save_secs,
            thousands(*s_big as f64),
            (big.load_secs + big.secs + big.save_secs)
                / (small.load_secs + small.secs + small.save_secs)
        );
    }
    Ok(())
}

/// Bytes of the files in `dir` whose names start with `prefix` (a state file and its chains
/// file).
fn dir_bytes(dir: &Path, prefix: &str) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name == prefix || name.starts_with(&format!("{prefix}."))
                })
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
