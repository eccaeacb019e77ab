//! `custody-bench verify`: offline verification of a JSONL ledger, events per second and peak
//! memory, against a raw `verify_strict` loop over the same signatures on every core, in the
//! same run (the honest ceiling: batch verification is not equivalent to strict
//! verification, so it is no baseline).
//!
//! Each verification runs in a process of its own, so that its peak resident memory (`VmHWM`)
//! belongs to that run alone: either the real `custody verify FILE --trust trust.json` (when a
//! release build of it exists), or this binary's hidden `verify-stream` subcommand, which calls
//! the same library (`custody_verify::Verifier::verify_jsonl`, with the clock) and reports its
//! own `VmHWM` from `/proc/self/status`. Both a quarter of the file and the whole file are
//! verified, so the report shows how memory grows with the ledger.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use custody_core::authority::TrustAnchors;
use custody_core::encoding::{hex, unb64url};
use custody_core::record::signed_message;
use custody_core::{Hash, PublicKeyId};
use custody_verify::Verifier;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::data::{self, LedgerFile};
use crate::sys::{self, mib, thousands};

/// How often the peak memory of a `custody` child is sampled.
const POLL: Duration = Duration::from_millis(5);

/// Settings of one `verify` run.
#[derive(Clone, Debug)]
pub struct VerifySettings {
    /// Events in the ledger file.
    pub events: usize,
    /// Where ledgers are cached.
    pub cache: PathBuf,
    /// The `custody` binary to measure, if it exists.
    pub custody: PathBuf,
    /// Measure the in-process loop even if the `custody` binary exists.
    pub in_process: bool,
}

/// What the `verify-stream` child reports on standard output (one JSON line).
#[derive(Debug, Serialize, Deserialize)]
pub struct StreamReport {
    /// Records verified.
    pub events: u64,
    /// Seconds of the loop (reading included, process start excluded).
    pub secs: f64,
    /// `VmRSS` before the first line was read, KiB.
    pub start_kib: u64,
    /// `VmHWM` after the last record, KiB.
    pub peak_kib: u64,
    /// Detainee chains in the validator.
    pub chains: u64,
    /// Merkle root of the verified records (hex).
    pub root: String,
}

/// The `verify-stream` subcommand: `custody verify`'s library over one file, in this process.
pub fn stream(file: &Path, trust: &Path) -> anyhow::Result<StreamReport> {
    let trust_text = std::fs::read_to_string(trust)
        .with_context(|| format!("cannot read trust anchors {}", trust.display()))?;
    let trust: TrustAnchors = serde_json::from_str(&trust_text)
        .with_context(|| format!("{} is not a trust.json", trust.display()))?;
    let start_kib = sys::status_kib("self", "VmRSS").unwrap_or(0);
    let start = Instant::now();
    let mut verifier = Verifier::new(trust).with_clock(Some(sys::now()));
    let report = verifier
        .verify_jsonl(|| File::open(file).map(|f| BufReader::with_capacity(1 << 16, f)))
        .with_context(|| format!("cannot read {}", file.display()))?;
    let secs = start.elapsed().as_secs_f64();
    if let Some(f) = report.failure {
        bail!(
            "position {} of {} ({}) is refused ({}): {}",
            f.position,
            file.display(),
            f.hash.as_deref().unwrap_or("unreadable"),
            f.rule,
            f.message
        );
    }
    Ok(StreamReport {
        events: report.summary.records,
        secs,
        start_kib,
        peak_kib: sys::status_kib("self", "VmHWM").unwrap_or(0),
        chains: report.summary.chains as u64,
        root: hex(&report.summary.root),
    })
}

/// One verification, as the parent saw it.
#[derive(Debug)]
struct Run {
    events: u64,
    secs: f64,
    /// CPU time of the child process (every thread), seconds.
    cpu_secs: Option<f64>,
    peak_kib: u64,
    start_kib: Option<u64>,
    chains: Option<u64>,
}

impl Run {
    fn rate(&self) -> f64 {
        self.events as f64 / self.secs
    }
}

/// How verification is measured.
enum Method {
    /// The `custody` binary.
    Binary(PathBuf),
    /// This binary's `verify-stream`.
    InProcess(PathBuf),
}

fn run_child(method: &Method, file: &LedgerFile) -> anyhow::Result<Run> {
    let cpu_before = sys::children_cpu_seconds();
    let mut run = run_child_once(method, file)?;
    run.cpu_secs = cpu_before
        .zip(sys::children_cpu_seconds())
        .map(|(before, after)| after - before);
    Ok(run)
}

fn run_child_once(method: &Method, file: &LedgerFile) -> anyhow::Result<Run> {
    match method {
        Method::InProcess(exe) => {
            let output = Command::new(exe)
                .arg("verify-stream")
                .arg("--trust")
                .arg(&file.trust_path)
                .arg(&file.path)
                .stdin(Stdio::null())
                .stderr(Stdio::inherit())
                .output()
                .with_context(|| format!("cannot run {}", exe.display()))?;
            if !output.status.success() {
                bail!(
                    "verification of {} failed ({})",
                    file.path.display(),
                    output.status
                );
            }
            let report: StreamReport = serde_json::from_slice(&output.stdout)
                .context("verify-stream printed no report")?;
            if report.events != file.info.events {
                bail!(
                    "verified {} records of {}, expected {}",
                    report.events,
                    file.path.display(),
                    file.info.events
                );
            }
            Ok(Run {
                events: report.events,
                secs: report.secs,
                cpu_secs: None,
                peak_kib: report.peak_kib,
                start_kib: Some(report.start_kib),
                chains: Some(report.chains),
            })
        }
        Method::Binary(custody) => {
            let start = Instant::now();
            let mut child = Command::new(custody)
                .arg("--quiet")
                .arg("verify")
                .arg(&file.path)
                .arg("--trust")
                .arg(&file.trust_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .with_context(|| format!("cannot run {}", custody.display()))?;
            let pid = child.id().to_string();
            let mut peak = 0;
            let status = loop {
                if let Some(kib) = sys::status_kib(&pid, "VmHWM") {
                    peak = peak.max(kib);
                }
                if let Some(status) = child.try_wait()? {
                    break status;
                }
                std::thread::sleep(POLL);
            };
            let secs = start.elapsed().as_secs_f64();
            if !status.success() {
                bail!(
                    "{} verify {} failed ({status})",
                    custody.display(),
                    file.path.display()
                );
            }
            Ok(Run {
                events: file.info.events,
                secs,
                cpu_secs: None,
                peak_kib: peak,
                start_kib: None,
                chains: Some(file.info.chains),
            })
        }
    }
}

/// The fields of a line that signature verification needs.
#[derive(Deserialize)]
struct SigLine {
    hash: String,
    signature: String,
    header: SigHeader,
}

#[derive(Deserialize)]
struct SigHeader {
    signer: String,
}

/// Signed messages, signatures and decompressed keys of every record of a file.
pub(crate) struct Signatures {
    /// Signed messages, back to back, `stride` bytes each.
    messages: Vec<u8>,
    stride: usize,
    pub(crate) signatures: Vec<Signature>,
    /// Index into `keys` of each record's signer.
    signer: Vec<u32>,
    /// Every distinct signer, decompressed once.
    keys: Vec<VerifyingKey>,
}

pub(crate) fn load_signatures(file: &LedgerFile) -> anyhow::Result<Signatures> {
    let input = BufReader::with_capacity(
        1 << 16,
        File::open(&file.path).with_context(|| format!("cannot open {}", file.path.display()))?,
    );
    let stride = signed_message(&Hash::default()).len();
    let n = usize::try_from(file.info.events).unwrap_or(0);
    let mut s = Signatures {
        messages: Vec::with_capacity(n * stride),
        stride,
        signatures: Vec::with_capacity(n),
        signer: Vec::with_capacity(n),
        keys: Vec::new(),
    };
    let mut index: HashMap<String, u32> = HashMap::new();
    for (i, line) in input.lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", file.path.display()))?;
        let bad = || format!("line {} of {} is not a record", i + 1, file.path.display());
        let l: SigLine = serde_json::from_str(&line).with_context(bad)?;
        let hash: Hash = l.hash.parse().with_context(bad)?;
        let sig: [u8; 64] = unb64url(&l.signature)
            .and_then(|b| b.try_into().ok())
            .with_context(bad)?;
        let k = match index.get(&l.header.signer) {
            Some(k) => *k,
            None => {
                let key: PublicKeyId = l.header.signer.parse().with_context(bad)?;
                s.keys.push(key.verifying_key().with_context(bad)?);
                let k = u32::try_from(s.keys.len() - 1)?;
                index.insert(l.header.signer, k);
                k
            }
        };
        s.messages.extend_from_slice(&signed_message(&hash));
        s.signatures.push(Signature::from_bytes(&sig));
        s.signer.push(k);
    }
    Ok(s)
}

/// Raw `verify_strict` of every signature with its decompressed key, the records split into
/// `threads` equal contiguous ranges, one thread each; wall and CPU seconds.
pub(crate) fn strict_verify(s: &Signatures, threads: usize) -> anyhow::Result<(f64, Option<f64>)> {
    let n = s.signatures.len();
    let per_thread = n.div_ceil(threads.max(1)).max(1);
    let cpu_before = sys::cpu_seconds("self");
    let start = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..n)
            .step_by(per_thread)
            .map(|first| {
                scope.spawn(move || -> anyhow::Result<()> {
                    for i in first..(first + per_thread).min(n) {
                        let message = &s.messages[i * s.stride..(i + 1) * s.stride];
                        s.keys[s.signer[i] as usize]
                            .verify_strict(message, &s.signatures[i])
                            .map_err(|e| anyhow::anyhow!("record {i} does not verify: {e}"))?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .map_err(|_| anyhow::anyhow!("a verifying thread panicked"))?
        })
    })?;
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_before
        .zip(sys::cpu_seconds("self"))
        .map(|(before, after)| after - before);
    Ok((wall, cpu))
}

/// Runs the `verify` subcommand.
pub fn run(settings: &VerifySettings) -> anyhow::Result<()> {
    println!("== custody-bench verify");
    println!(
        "Offline verification of a JSONL ledger (parse, hash, strict signature, authority and \
         chain rules, Merkle frontier), events/s and peak resident memory, against raw \
         ed25519-dalek verify_strict of the same signatures (keys decompressed once) on every \
         core: the ceiling of a strict verifier (aim: verify at 0.8x of it or more). Memory is \
         measured for a quarter of the file and for the whole file."
    );
    if settings.events < 4 {
        bail!("--events must be at least 4");
    }
    let full = data::ensure_ledger(&settings.cache, settings.events)?;
    match full.generated_now {
        Some(took) => println!(
            "generated {} in {:.1} s ({} chains: scenario of {} detainees, each chain {} times)",
            full.path.display(),
            took.as_secs_f64(),
            full.info.chains,
            full.info.base_detainees,
            full.info.copies
        ),
        None => println!(
            "data: {} (cached; its generation took {:.1} s; {} chains)",
            full.path.display(),
            full.info.generation_secs,
            full.info.chains
        ),
    }
    let quarter = data::ensure_prefix(&full, settings.events / 4)?;

    let method = if !settings.in_process && settings.custody.is_file() {
        Method::Binary(settings.custody.clone())
    } else {
        Method::InProcess(std::env::current_exe().context("cannot find this program")?)
    };
    match &method {
        Method::Binary(p) => println!(
            "measured: {} verify FILE --trust trust.json (wall time of the process; peak \
             memory sampled from /proc/<pid>/status every {} ms)",
            p.display(),
            POLL.as_millis()
        ),
        Method::InProcess(_) => println!(
            "measured: custody_verify::Verifier::verify_jsonl (the library of `custody \
             verify`) in this harness, in a child process of its own per file; {} was not \
             found or --in-process was given",
            settings.custody.display()
        ),
    }
    println!(
        "{} CPUs, load average {}",
        sys::cpus(),
        sys::load_average().map_or_else(|| "unknown".to_string(), |l| format!("{l:.2}"))
    );

    let q = run_child(&method, &quarter)?;
    let f = run_child(&method, &full)?;
    let sigs = load_signatures(&full)?;
    let cpus = sys::cpus();
    let (raw_secs, raw_cpu) = strict_verify(&sigs, cpus)?;
    let raw_rate = sigs.signatures.len() as f64 / raw_secs;
    let (one_secs, one_cpu) = strict_verify(&sigs, 1)?;
    let one_rate = sigs.signatures.len() as f64 / one_secs;
    drop(sigs);

    let us_per_event = |cpu: Option<f64>, events: u64| {
        cpu.map_or_else(
            || "-".to_string(),
            |c| format!("{:.1}", c * 1e6 / events.max(1) as f64),
        )
    };
    println!();
    println!(
        "  {:<38} {:>10} {:>9} {:>11} {:>12} {:>8} {:>10}",
        "", "events", "seconds", "events/s", "peak RSS", "chains", "CPU us/ev"
    );
    for (label, r) in [("verify, first quarter", &q), ("verify, whole file", &f)] {
        println!(
            "  {label:<38} {:>10} {:>9.2} {:>11} {:>12} {:>8} {:>10}",
            thousands(r.events as f64),
            r.secs,
            thousands(r.rate()),
            mib(r.peak_kib),
            r.chains
                .map_or_else(|| "-".to_string(), |c| thousands(c as f64)),
            us_per_event(r.cpu_secs, r.events)
        );
    }
    for (label, secs, rate, cpu) in [
        (
            format!("raw verify_strict, {cpus} threads (ceiling)"),
            raw_secs,
            raw_rate,
            raw_cpu,
        ),
        (
            "raw verify_strict, 1 thread".to_string(),
            one_secs,
            one_rate,
            one_cpu,
        ),
    ] {
        println!(
            "  {label:<38} {:>10} {:>9.2} {:>11} {:>12} {:>8} {:>10}",
            thousands(f.events as f64),
            secs,
            thousands(rate),
            "",
            "",
            us_per_event(cpu, f.events)
        );
    }
    println!();
    println!(
        "verify / raw verify_strict on {cpus} threads = {:.2}x (aim: 0.80x or more)",
        f.rate() / raw_rate
    );
    if let (Some(verify_cpu), Some(raw_cpu)) = (f.cpu_secs, raw_cpu) {
        println!(
            "CPU time: raw verify_strict / verify = {:.2} (the ratio reachable on {cpus} idle \
             cores: the CPU a record costs beyond its signature check; the machine is shared, \
             so wall-clock rates move with the load, CPU time much less)",
            raw_cpu / verify_cpu
        );
    }
    if let Some(start) = f.start_kib {
        println!(
            "resident memory before the first record: {} (program and libraries)",
            mib(start)
        );
    }
    let grew = f.peak_kib.saturating_sub(q.peak_kib) as f64 * 1024.0;
    let more_events = f.events.saturating_sub(q.events) as f64;
    print!(
        "memory grows with the ledger: +{} for +{} events = {:.0} bytes/event",
        mib(f.peak_kib.saturating_sub(q.peak_kib)),
        thousands(more_events),
        grew / more_events.max(1.0)
    );
    match (q.chains, f.chains) {
        (Some(qc), Some(fc)) if fc > qc => println!(
            ", {:.0} bytes/chain (+{} chains)",
            grew / (fc - qc) as f64,
            thousands((fc - qc) as f64)
        ),
        _ => println!(),
    }
    println!(
        "(the validator keeps, per detainee chain, its head, custody status and commitment \
         orders; reading a file, `custody verify` remembers an individual event only when a \
         correction or redaction points at it (a first pass finds them), so memory follows the \
         number of chains, i.e. of people, not the number of records; besides, two batches of \
         at most 2,048 lines and the Merkle frontier, at most 64 hashes)"
    );
    Ok(())
}
