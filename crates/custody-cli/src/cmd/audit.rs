//! `custody audit [FILE]`: a monitor's audit of the whole ledger against a checkpoint, full or
//! incremental.
//!
//! One streaming pass with the verifier library (signatures checked on every core): every
//! header hash, every strict signature, every chain link, the signer's authority at signing
//! time; then the Merkle root of the first N records against the checkpoint of size N (the
//! records after it are verified too, and reported as not yet covered), and consistency with
//! the last checkpoint this auditor verified before, kept in its state directory: a checkpoint
//! older than that one is a rollback, one of the same size with another root a fork, a newer
//! one whose tree does not extend the old one an inconsistency.
//!
//! Incremental: after a successful audit, the state directory holds the checkpoint verified
//! and the verifier's state at its size (a [`custody_verify::SavedState`] file, hashed and
//! bound to that checkpoint, and its chains file beside it, one SQLite row per chain). The
//! next audit resumes there: it verifies only the records from that size (a store is read from
//! that position; a FILE is sought to the byte where the audited part ends, after checking
//! that the last audited record is still there), reading and writing back only the chains the
//! new records touch; and the Merkle frontier saved at the old checkpoint, extended by the new
//! records, must give the new checkpoint's root, which proves the new tree extends the old one;
//! with `--gateway` the gateway's consistency proof is checked too, when it serves one. A day's
//! audit then costs what the day added.
//!
//! Headers alone suffice: a headers-only export (`custody export --headers-only`) or a store
//! read by a monitor that may not read payloads.
//!
//! The state directory is `--state-dir`, else `$CUSTODY_AUDIT_STATE_DIR`, else
//! `$XDG_STATE_HOME/custody-audit`, else `~/.local/state/custody-audit`; each ledger has its
//! own sub-directory (its name, with every character but letters, digits, `-`, `_` and `.`
//! written `_`), holding `checkpoint.note` and `state`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use custody_core::authority::TrustAnchors;
use custody_core::checkpoint::{verify_checkpoint, Checkpoint, NoteVerifier};
use custody_core::cosignature::{verify_cosigned, CosignatureVerifier};
use custody_core::encoding::{b64std, hex};
use custody_core::merkle::ConsistencyProofJson;
use custody_verify::{ChainStore, Failure, Progress, Report, SavedState, Verifier, VerifyError};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use crate::cli::AuditArgs;
use crate::clock;
use crate::exit::refused_reported;
use crate::output::Output;
use crate::store;

/// A checkpoint-level finding of the audit: its stable code and what is wrong.
#[derive(Clone, Debug)]
struct Finding {
    /// `checkpoint/signature`, `checkpoint/rollback`, `checkpoint/fork`,
    /// `checkpoint/inconsistent`, `checkpoint/truncated`, `checkpoint/root`.
    rule: &'static str,
    message: String,
}

/// The previous checkpoint this auditor verified, and the state saved at it.
struct Previous {
    note: String,
    checkpoint: Checkpoint,
    state: Option<SavedState>,
    /// The chains file of a split state.
    chains: Option<ChainStore>,
    /// Why the saved state was not used, if it was not.
    state_problem: Option<String>,
}

/// Where the audit read the records.
enum Source {
    Store(Arc<dyn custody_store::LedgerStore>),
    File(PathBuf),
}

/// A NATS store opened read-only and headers-only ([`custody_store_nats::JetStreamReader`]:
/// a monitor's user may read the ledger stream and nothing else), with the authority records'
/// payloads from `authority` (a JSONL file), which the validator needs.
async fn open_reader(
    spec: &str,
    authority: Option<&Path>,
) -> anyhow::Result<Arc<dyn custody_store::LedgerStore>> {
    let mut records = Vec::new();
    if let Some(path) = authority {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the authority chain {}", path.display()))?;
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let record = custody_core::Record::from_json(line.as_bytes()).map_err(|e| {
                anyhow::anyhow!("{} line {}: not a record: {e}", path.display(), i + 1)
            })?;
            records.push(record);
        }
    }
    let reader = custody_store_nats::JetStreamReader::connect(spec)
        .await
        .with_context(|| format!("cannot read the ledger stream at {}", store::display(spec)))?
        .with_authority(records);
    Ok(Arc::new(reader))
}

/// Runs the audit and prints the report; a failure exits with code 1.
pub async fn run(out: Output, spec: &str, args: &AuditArgs) -> anyhow::Result<()> {
    let (source, source_name, meta) = match &args.file {
        Some(file) => {
            let meta = match (&args.trust, &args.ledger_vkey) {
                (Some(_), Some(_)) => None,
                _ => {
                    let s = store::open_store(spec, store::Create::No).await.context(
                        "auditing a file needs the trust anchors and the ledger's verifier key: \
                         pass --trust trust.json and --ledger-vkey FILE",
                    )?;
                    Some(store::read_meta(spec, s.as_ref()).await?)
                }
            };
            (Source::File(file.clone()), file.display().to_string(), meta)
        }
        None if store::is_nats(spec) => {
            let s = open_reader(spec, args.authority.as_deref()).await?;
            let meta = match (&args.trust, &args.ledger_vkey) {
                (Some(_), Some(_)) => None,
                _ => Some(store::read_meta(spec, s.as_ref()).await?),
            };
            (Source::Store(s), store::display(spec), meta)
        }
        None => {
            let s = store::open_store(spec, store::Create::No).await?;
            let meta = store::read_meta(spec, s.as_ref()).await?;
            (Source::Store(s), store::display(spec), Some(meta))
        }
    };
    let trust: TrustAnchors = match (&args.trust, &meta) {
        (Some(path), _) => crate::cmd::verify::read_trust(path)?,
        (None, Some(m)) => m.trust.clone(),
        (None, None) => anyhow::bail!("pass --trust trust.json"),
    };
    let vkey = match (&args.ledger_vkey, &meta) {
        (Some(path), _) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read ledger verifier key {}", path.display()))?
            .trim()
            .to_string(),
        (None, Some(m)) => m.ledger_vkey.clone(),
        (None, None) => anyhow::bail!("pass --ledger-vkey FILE"),
    };
    let log = NoteVerifier::parse(&vkey).context("the ledger's verifier key is malformed")?;

    // The checkpoint to audit against.
    let note = match (&args.checkpoint, &args.gateway, &source) {
        (Some(path), _, _) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read checkpoint {}", path.display()))?,
        (None, Some(url), _) => custody_client::Client::new(url)
            .checkpoint()
            .await
            .with_context(|| format!("cannot fetch the checkpoint from {url}"))?
            .ok_or_else(|| anyhow::anyhow!("the gateway {url} has published no checkpoint"))?,
        (None, None, Source::Store(s)) => s
            .meta(custody_ledger::META_PUBLISHED_CHECKPOINT)
            .await?
            .and_then(|published| published["note"].as_str().map(str::to_string))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "the store holds no published checkpoint: pass --checkpoint FILE or \
                     --gateway URL (an audit checks the ledger against a checkpoint)"
                )
            })?,
        (None, None, Source::File(_)) => {
            anyhow::bail!("pass --checkpoint FILE or --gateway URL: an audit checks the ledger against a checkpoint")
        }
    };
    let state_dir = state_dir(args.state_dir.as_deref(), &trust.ledger)?;
    let (checkpoint, cosigned) = match check_note(&note, &log, args) {
        Ok(c) => c,
        Err(message) => {
            let f = Finding {
                rule: "checkpoint/signature",
                message,
            };
            print_failure(out, &source_name, None, &f, None);
            return Err(refused_reported(format!("audit failed: {}", f.message)));
        }
    };
    let mut previous = read_previous(&state_dir, &log, &trust, args.full)?;

    // The checkpoint against the last one this auditor verified.
    if let Some(p) = &previous {
        let (old, new) = (&p.checkpoint, &checkpoint);
        let finding = if new.size < old.size {
            Some(Finding {
                rule: "checkpoint/rollback",
                message: format!(
                    "the checkpoint is for {} records but this auditor already verified a \
                     checkpoint of {} records: the operator serves an older tree (a rollback)",
                    new.size, old.size
                ),
            })
        } else if new.size == old.size && new.root != old.root {
            Some(Finding {
                rule: "checkpoint/fork",
                message: format!(
                    "the checkpoint of size {} has root {} but this auditor verified root {} at \
                     that size: the operator serves a forked tree",
                    new.size,
                    b64std(&new.root),
                    b64std(&old.root)
                ),
            })
        } else {
            match &args.gateway {
                Some(url) if new.size > old.size => gateway_consistency(url, old, new).await,
                _ => None,
            }
        };
        if let Some(f) = finding {
            print_failure(out, &source_name, None, &f, Some(p));
            return Err(refused_reported(format!("audit failed: {}", f.message)));
        }
    }

    // The verification: resumed from the saved state, or from the start.
    let bar = if out.progress() {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {pos} records verified ({per_sec})")
        {
            bar.set_style(style);
        }
        Some(bar)
    } else {
        None
    };
    let progress = bar.clone().map(|bar| {
        Progress(Arc::new(move |n: u64| {
            bar.set_position(n);
        }))
    });
    let resume_from = previous
        .as_mut()
        .and_then(|p| p.state.clone().map(|s| (s, p.chains.take())));
    let marks: Vec<u64> = previous.iter().map(|p| p.checkpoint.size).collect();
    let new_verifier =
        |state: Option<(SavedState, Option<ChainStore>)>| -> anyhow::Result<Verifier> {
            let v = match state {
                Some((s, chains)) => Verifier::resume_with(trust.clone(), s, chains)?,
                None => Verifier::new(trust.clone()).with_marks(marks.clone()),
            };
            Ok(v.with_ahead_notice(Some(clock::now()?))
                .with_checkpoint_size(Some(checkpoint.size))
                .with_snapshot_at(Some(checkpoint.size))
                .with_progress(progress.clone()))
        };
    let mut incremental = resume_from.is_some();
    let mut verified_from = resume_from.as_ref().map_or(0, |(s, _)| s.size);
    let mut verifier = new_verifier(resume_from)?;
    let mut report = match audit_source(&mut verifier, &source).await {
        Err(
            e @ (VerifyError::NeedsFullPass { .. }
            | VerifyError::FileChanged(_)
            | VerifyError::State(_)),
        ) if incremental => {
            tracing::warn!(
                "the incremental audit cannot go on ({e}): auditing from the first record"
            );
            incremental = false;
            verified_from = 0;
            verifier = new_verifier(None)?;
            audit_source(&mut verifier, &source).await?
        }
        other => other?,
    };
    // A resumed audit whose new checkpoint's root is not reached: either the records served
    // are not the checkpoint's, or the checkpoint's tree does not extend the one verified
    // before. A pass from the start tells which.
    let resumed_root_differs = incremental
        && report.failure.is_none()
        && report.summary.records >= checkpoint.size
        && report.summary.root_at_mark != Some(checkpoint.root);
    if resumed_root_differs {
        incremental = false;
        verified_from = 0;
        verifier = new_verifier(None)?;
        report = audit_source(&mut verifier, &source).await?;
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if let Some(f) = report
        .failure
        .as_mut()
        .filter(|f| f.rule == custody_core::Rule::Empty)
    {
        f.message = format!("{source_name} holds no record, so nothing was verified");
    }
    let s = &report.summary;

    // The records against the checkpoints.
    let finding = if report.failure.is_some() {
        None
    } else if s.records < checkpoint.size {
        Some(Finding {
            rule: "checkpoint/truncated",
            message: format!(
                "the checkpoint covers {} records but the ledger holds only {}: records were \
                 dropped (from the end, or a whole chain with the positions renumbered)",
                checkpoint.size, s.records
            ),
        })
    } else if s.root_at_mark != Some(checkpoint.root) {
        Some(Finding {
            rule: "checkpoint/root",
            message: format!(
                "the root of the first {} records is {} but the checkpoint's is {}: the ledger \
                 was rewritten (a record changed, removed, inserted or moved, or a chain \
                 replaced)",
                checkpoint.size,
                s.root_at_mark
                    .map_or_else(|| "unknown".into(), |r| b64std(&r)),
                b64std(&checkpoint.root)
            ),
        })
    } else {
        previous.as_ref().filter(|_| !incremental).and_then(|p| {
            let at = s
                .roots_at
                .iter()
                .find(|(size, _)| *size == p.checkpoint.size);
            (at.map(|(_, r)| r) != Some(&p.checkpoint.root)).then(|| Finding {
                rule: "checkpoint/inconsistent",
                message: format!(
                    "the ledger's root at size {} is not the root of the checkpoint of that \
                     size this auditor verified before: the ledger was rewritten since",
                    p.checkpoint.size
                ),
            })
        })
    };
    let ok = report.failure.is_none() && finding.is_none();
    if ok {
        save(&state_dir, &note, &mut verifier)?;
    }
    print_report(
        out,
        &source_name,
        &report,
        &checkpoint,
        previous.as_ref(),
        finding.as_ref(),
        (incremental, verified_from),
        &state_dir,
        &cosigned,
    );
    if let Some(f) = &report.failure {
        return Err(refused_reported(format!(
            "audit failed: {}",
            crate::cmd::verify::describe(f)
        )));
    }
    if let Some(f) = finding {
        return Err(refused_reported(format!("audit failed: {}", f.message)));
    }
    Ok(())
}

/// Verifies the records of the source, after what the verifier verified before.
async fn audit_source(v: &mut Verifier, source: &Source) -> Result<Report, VerifyError> {
    match source {
        Source::Store(s) => v.verify_store(s.as_ref(), |_| {}).await,
        Source::File(path) => v.verify_file(path),
    }
}

/// Verifies the checkpoint note with the ledger's key, and the witnesses' cosignatures when
/// witnesses are given: the checkpoint and the witnesses that cosigned it.
fn check_note(
    note: &str,
    log: &NoteVerifier,
    args: &AuditArgs,
) -> Result<(Checkpoint, Vec<(String, u64)>), String> {
    let mut witnesses = Vec::new();
    for w in &args.witness {
        let text = if std::path::Path::new(w).is_file() {
            std::fs::read_to_string(w).map_err(|e| format!("cannot read witness key {w}: {e}"))?
        } else {
            w.clone()
        };
        witnesses.push(
            CosignatureVerifier::parse(text.trim())
                .map_err(|e| format!("witness key {w} is malformed: {e}"))?,
        );
    }
    let quorum = args.quorum.unwrap_or(witnesses.len());
    if quorum > witnesses.len() {
        return Err(format!(
            "--quorum {quorum} but only {} witness keys given",
            witnesses.len()
        ));
    }
    verify_cosigned(note, log, &witnesses, quorum)
        .map(|c| (c.checkpoint, c.witnesses))
        .map_err(|e| {
            format!(
                "the checkpoint does not verify with the ledger's key {} and a quorum of {quorum} \
                 witnesses: {e}",
                log.name()
            )
        })
}

/// The gateway's consistency proof between the two checkpoints, if it serves one: a finding
/// when it does not verify.
async fn gateway_consistency(url: &str, old: &Checkpoint, new: &Checkpoint) -> Option<Finding> {
    let client = custody_client::Client::new(url);
    let path = format!("/v1/proof/consistency?old={}&new={}", old.size, new.size);
    let value = client.get(&path).await.ok()?;
    let proof: ConsistencyProofJson = serde_json::from_value(value).ok()?;
    let verified = (proof.old_size == old.size && proof.new_size == new.size)
        .then(|| proof.verify(&old.root, &new.root));
    match verified {
        Some(Ok(())) => None,
        Some(Err(e)) => Some(Finding {
            rule: "checkpoint/inconsistent",
            message: format!(
                "the gateway's consistency proof from size {} to {} does not verify ({e}): the \
                 new tree does not extend the one this auditor verified",
                old.size, new.size
            ),
        }),
        None => Some(Finding {
            rule: "checkpoint/inconsistent",
            message: "the gateway answered a consistency proof for other sizes".into(),
        }),
    }
}

/// The state directory of this ledger.
fn state_dir(given: Option<&Path>, ledger: &str) -> anyhow::Result<PathBuf> {
    let base = match given {
        Some(dir) => dir.to_path_buf(),
        None => match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
            Some(xdg) => PathBuf::from(xdg).join("custody-audit"),
            None => {
                let home = std::env::var_os("HOME")
                    .ok_or_else(|| anyhow::anyhow!("no HOME: pass --state-dir DIR"))?;
                PathBuf::from(home).join(".local/state/custody-audit")
            }
        },
    };
    let name: String = ledger
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(base.join(name))
}

/// The previous checkpoint and saved state, if any. A previous checkpoint that no longer
/// verifies is an error (the auditor's own files were altered); a saved state that is refused
/// is set aside (the audit then starts from the first record).
fn read_previous(
    dir: &Path,
    log: &NoteVerifier,
    trust: &TrustAnchors,
    full: bool,
) -> anyhow::Result<Option<Previous>> {
    let note_path = dir.join("checkpoint.note");
    let note = match std::fs::read_to_string(&note_path) {
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", note_path.display())),
    };
    let checkpoint = verify_checkpoint(&note, log).map_err(|e| {
        crate::exit::refused(format!(
            "{} does not verify with the ledger's key ({e}): this auditor's own record of the \
             last checkpoint was altered; remove it to start over",
            note_path.display()
        ))
    })?;
    let state_path = dir.join("state");
    let (state, state_problem) = if full {
        (None, Some("--full".to_string()))
    } else {
        match SavedState::open(&state_path) {
            Ok((s, chains)) => match s
                .check_checkpoint(&checkpoint)
                .map_err(|e| e.to_string())
                .and_then(|()| {
                    (s.validator.authority().trust == *trust)
                        .then_some(())
                        .ok_or_else(|| "other trust anchors".to_string())
                }) {
                Ok(()) => (Some((s, chains)), None),
                Err(e) => (None, Some(e)),
            },
            Err(e) => (None, Some(e.to_string())),
        }
    };
    let (state, chains) = state.map_or((None, None), |(s, c)| (Some(s), c));
    if let Some(problem) = &state_problem {
        tracing::warn!(
            "the saved audit state {} is not used ({problem}): auditing from the first record",
            state_path.display()
        );
    }
    Ok(Some(Previous {
        note,
        checkpoint,
        state,
        chains,
        state_problem,
    }))
}

/// Keeps the checkpoint verified and the state at its size.
fn save(dir: &Path, note: &str, verifier: &mut Verifier) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    if let Some(mut state) = verifier.take_snapshot() {
        state.checkpoint = Some(note.to_string());
        verifier
            .save_state(state, &dir.join("state"))
            .with_context(|| format!("cannot save the audit state in {}", dir.display()))?;
    }
    let tmp = dir.join("checkpoint.note.tmp");
    std::fs::write(&tmp, note).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join("checkpoint.note"))
        .with_context(|| format!("cannot write the checkpoint in {}", dir.display()))?;
    Ok(())
}

fn finding_json(f: &Finding) -> serde_json::Value {
    json!({"position": null, "chain": null, "rule": f.rule, "message": f.message})
}

fn failure_json(f: &Failure) -> serde_json::Value {
    json!({
        "position": f.position,
        "line": f.line,
        "chain": f.chain,
        "hash": f.hash,
        "rule": f.rule,
        "message": f.message,
    })
}

/// A failure before any record was read (the checkpoint itself).
fn print_failure(
    out: Output,
    source: &str,
    _r: Option<&Report>,
    f: &Finding,
    p: Option<&Previous>,
) {
    if out.json {
        out.json(&json!({
            "source": source,
            "ok": false,
            "verdict": "failed",
            "previous_checkpoint": p.map(|p| json!({"size": p.checkpoint.size, "root": b64std(&p.checkpoint.root)})),
            "failure": finding_json(f),
        }));
        return;
    }
    eprintln!(
        "custody: audit of {source} FAILED ({}): {}",
        f.rule, f.message
    );
}

#[allow(clippy::too_many_arguments)]
fn print_report(
    out: Output,
    source: &str,
    report: &Report,
    cp: &Checkpoint,
    previous: Option<&Previous>,
    finding: Option<&Finding>,
    (incremental, from): (bool, u64),
    dir: &Path,
    cosigned: &[(String, u64)],
) {
    let s = &report.summary;
    let ok = report.failure.is_none() && finding.is_none();
    let beyond = s.records.saturating_sub(cp.size);
    if let Some(ahead) = &s.ahead_of_clock {
        eprintln!("custody: {}", crate::cmd::verify::ahead_warning(ahead));
    }
    if out.json {
        let failure = report
            .failure
            .as_ref()
            .map(failure_json)
            .or_else(|| finding.map(finding_json));
        out.json(&json!({
            "source": source,
            "ok": ok,
            "verdict": if ok { "ok" } else { "failed" },
            "ahead_of_clock": s.ahead_of_clock.as_ref().map(crate::cmd::verify::ahead_json),
            "incremental": incremental,
            "positions": {"from": from, "to": s.records},
            "verified_records": s.records - from,
            "records": s.records,
            "authority_records": s.authority_records,
            "chains": s.chains,
            "headers_only": s.headers_only,
            "root": b64std(&s.root),
            "root_hex": hex(&s.root),
            "checkpoint": {
                "size": cp.size,
                "root": b64std(&cp.root),
                "witnesses": cosigned.iter().map(|(name, time)| json!({"name": name, "timestamp": time})).collect::<Vec<_>>(),
            },
            "not_yet_covered": beyond,
            "previous_checkpoint": previous.map(|p| json!({
                "size": p.checkpoint.size,
                "root": b64std(&p.checkpoint.root),
                "state_used": p.state.is_some() && incremental,
                "state_problem": p.state_problem,
            })),
            "state_dir": dir.display().to_string(),
            "failure": failure,
        }));
        return;
    }
    if let Some(f) = &report.failure {
        eprintln!(
            "custody: audit of {source} FAILED at {}",
            crate::cmd::verify::describe(f)
        );
        return;
    }
    if let Some(f) = finding {
        eprintln!(
            "custody: audit of {source} FAILED ({}): {}",
            f.rule, f.message
        );
        return;
    }
    out.info(format!("audited {source}"));
    if incremental {
        out.info(format!(
            "  verified:    records {from} to {} ({} new), resumed from the state saved at the \
             checkpoint of size {from}",
            s.records,
            s.records - from
        ));
    } else {
        out.info(format!("  verified:    all {} records", s.records));
    }
    out.info(format!(
        "  records:     {} ({} authority, {} detainee chains, {} without payload)",
        s.records, s.authority_records, s.chains, s.headers_only
    ));
    out.info(format!(
        "  checkpoint:  signature OK, size {}, root {} matches",
        cp.size,
        b64std(&cp.root)
    ));
    for (name, time) in cosigned {
        out.info(format!(
            "  witness:     {name} cosigned it (timestamp {time})"
        ));
    }
    if let Some(p) = previous {
        out.info(format!(
            "  consistent:  with the checkpoint of size {} verified before",
            p.checkpoint.size
        ));
        let _ = &p.note;
    }
    if beyond > 0 {
        out.info(format!(
            "  NOT covered: {beyond} records after the checkpoint verify, but no checkpoint \
             covers them yet"
        ));
    }
    out.info(format!("  state:       {}", dir.display()));
    out.result("OK");
}
