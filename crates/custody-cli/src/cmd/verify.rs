//! `custody verify [FILE.jsonl]`: every record, in ledger order, through a fresh validator.
//!
//! The verification is `custody_verify`'s (signatures checked on every core, the rest in
//! ledger order); this command picks the input and prints what it found. Without FILE the
//! store's ledger is read in batches; with FILE (`-`: standard input) the export is read in
//! batches of lines. Either way memory holds the validation state, the Merkle frontier and a
//! bounded batch, never the whole ledger. With `--checkpoint` the checkpoint's signature is checked with the ledger's
//! verifier key, and its root must be the root of the verified records at its size.
//!
//! A store read also reports every record whose payload is missing (neither stored nor
//! lawfully redacted: [`custody_store::PayloadState::Missing`]), one line each, and then exits
//! with code 1: the records verify, but the store lost data a monitor must know about. On a
//! replica, which holds what it was sent, such payloads are reported as not received (withheld
//! by the sender: a packet's sealed or restricted payloads imported without the medical key),
//! one line each, and exit 0.
//!
//! The report says what was proved and what was not: the records alone prove every hash,
//! signature, chain link and signer's authority, but not that nothing was dropped from the end
//! of the ledger, that no whole chain was dropped, or that records of two chains were not
//! swapped; a checkpoint held by someone else proves that up to its size. Zero records is a
//! failure, not an empty success: in `custody export | custody verify -` it means the export
//! failed. A store whose index disagrees with its records (a damaged or edited SQLite file) is
//! a failure naming the position, like a refused record.
//!
//! A store read also reports every fork alarm the store keeps (two different validly signed
//! records at one place of a chain: [`custody_store::ForkAlarm`]), one line each, and then
//! exits 1: the records verify, but someone must investigate.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use anyhow::Context;
use custody_core::authority::TrustAnchors;
use custody_core::checkpoint::{verify_checkpoint, Checkpoint, NoteVerifier};
use custody_core::cosignature::{verify_cosigned, CosignatureVerifier};
use custody_core::encoding::{b64std, hex};
use custody_store::ForkAlarm;
use custody_verify::{AheadOfClock, Failure, MissingPayload, Report, Summary, Verifier};
use serde_json::json;

use crate::cli::VerifyArgs;
use crate::clock;
use crate::exit::refused_reported;
use crate::output::Output;
use crate::store;

/// Runs the verification and prints the report; a failure exits with code 1.
pub async fn run(out: Output, spec: &str, args: &VerifyArgs) -> anyhow::Result<()> {
    let checkpoint = match (&args.checkpoint, &args.ledger_vkey) {
        (Some(cp), Some(vk)) => Some(read_checkpoint(cp, vk, &args.witnesses, args.quorum)?),
        _ => None,
    };
    let source = args
        .file
        .as_ref()
        .map_or_else(|| store::display(spec), |f| f.display().to_string());
    let verifier = |trust| -> anyhow::Result<Verifier> {
        // A stored ledger is replayed: records it accepted are not refused now for lying in
        // this clock's future (a post whose clock was ahead); they are reported.
        Ok(Verifier::new(trust)
            .with_ahead_notice(Some(clock::now()?))
            .with_checkpoint_size(checkpoint.as_ref().map(|c| c.size)))
    };

    // On a replica, records without payload are what its source sent (withheld or redacted
    // there): expected, reported as such; on a primary they are lost data.
    let mut replica = false;
    let mut withheld = std::collections::HashMap::new();
    let mut forks = Vec::new();
    let report = match &args.file {
        Some(file) => {
            let trust = match &args.trust {
                Some(path) => read_trust(path)?,
                None => trust_from_store(spec).await?,
            };
            // Standard input is spooled to a private temporary file (mode 0600, removed on
            // exit), so that it too can be read twice: a first, cheap pass finds the few
            // events that corrections and redactions point back at, so that memory grows with
            // the chains, not with the records.
            let spooled = if file.as_os_str() == "-" {
                Some(spool_stdin()?)
            } else {
                None
            };
            let path = spooled.as_ref().map_or(file.as_path(), |t| t.path());
            verifier(trust)?
                .verify_jsonl(|| File::open(path).map(|f| BufReader::with_capacity(1 << 16, f)))
                .with_context(|| format!("cannot read {}", file.display()))?
        }
        None => {
            let s = store::open_store(spec, store::Create::No).await?;
            let meta = store::read_meta(spec, s.as_ref()).await?;
            replica = meta.role == custody_ledger::LedgerRole::Replica;
            let trust = match &args.trust {
                Some(path) => read_trust(path)?,
                None => meta.trust,
            };
            forks = crate::cmd::forks::all(s.as_ref()).await?;
            withheld = crate::cmd::packet::withheld_by_sender(s.as_ref()).await?;
            verifier(trust)?.verify_store(s.as_ref(), |_| {}).await?
        }
    };
    let Report {
        summary,
        failure,
        missing_payloads: missing,
    } = report;
    // A replica holds what its source sent: a payload it never received (withheld by the
    // sender: a packet's restricted or unopened sealed payloads, a need-to-know read) is not a
    // payload it lost, and is reported as not received, not as missing.
    // A payload that an imported packet withheld is known never to have been received; any
    // other record without payload on a replica is what its source sent (a need-to-know read,
    // a headers-only file), which the replica cannot tell from a payload it lost.
    let (missing, not_received): (Vec<_>, Vec<_>) = if replica {
        (Vec::new(), missing)
    } else {
        (missing, Vec::new())
    };
    let (not_received, unexplained): (Vec<_>, Vec<_>) = not_received
        .into_iter()
        .partition(|m| withheld.contains_key(&m.hash.to_hex()));
    let not_received: Vec<NotReceived> = not_received
        .into_iter()
        .map(|m| {
            let (reason, packet) = withheld.get(&m.hash.to_hex()).cloned().unwrap_or_default();
            NotReceived {
                missing: m,
                reason,
                packet,
            }
        })
        .collect();
    // Nothing verified is not a success: the input was empty (an export that failed?).
    let failure = failure.map(|mut f| {
        if f.rule == custody_core::Rule::Empty {
            f.message = format!(
                "{source} holds no record, so nothing was verified (a ledger holds at least its \
                 authority records; if this is the output of `custody export`, the export failed)"
            );
        }
        f
    });

    let checkpoint_problem = match (&checkpoint, &failure) {
        (Some(cp), None) => check_checkpoint(cp, &summary).err(),
        _ => None,
    };
    print_report(
        out,
        &source,
        &summary,
        failure.as_ref(),
        checkpoint.as_ref(),
        checkpoint_problem.as_deref(),
        Findings {
            missing: &missing,
            not_received: &not_received,
            unexplained: &unexplained,
            forks: &forks,
        },
    );
    if let Some(f) = failure {
        return Err(refused_reported(format!(
            "verification failed: {}",
            describe(&f)
        )));
    }
    if let Some(problem) = checkpoint_problem {
        return Err(refused_reported(format!("checkpoint refused: {problem}")));
    }
    if !missing.is_empty() {
        return Err(refused_reported(format!(
            "{} payloads missing",
            missing.len()
        )));
    }
    if !forks.is_empty() {
        return Err(refused_reported(format!(
            "{} fork alarms: see `custody forks`",
            forks.len()
        )));
    }
    Ok(())
}

/// One human line of a failure: where, which record, which rule, why.
pub fn describe(f: &Failure) -> String {
    let place = match f.line {
        Some(line) => format!("line {line} (position {})", f.position),
        None => format!("position {}", f.position),
    };
    let hash = f.hash.as_deref().unwrap_or("unreadable");
    format!("{place}: record {hash} refused ({}): {}", f.rule, f.message)
}

/// The warning about stored records recorded after this machine's clock: they verify (the
/// ledger accepted them), and a clock somewhere is wrong.
pub fn ahead_warning(a: &AheadOfClock) -> String {
    format!(
        "WARNING: {} records were recorded more than {} s after this machine's clock ({}): the first at position {} (record {}), the latest at {}, {} ahead. The clock of the post that recorded them was ahead, or this machine's clock is behind: set the wrong one right (NTP, or `date -s` from a trusted clock). They still verify: a ledger keeps what it accepted; a hub refuses them until its own clock passes their recorded_at.",
        a.count,
        custody_core::ValidatorConfig::default().future_tolerance_secs,
        a.clock,
        a.first.0,
        a.first.1,
        a.latest,
        clock::span(a.latest.unix_seconds() - a.clock.unix_seconds())
    )
}

/// [`ahead_warning`] as JSON.
pub fn ahead_json(a: &AheadOfClock) -> serde_json::Value {
    json!({
        "count": a.count,
        "clock": a.clock.as_str(),
        "first_position": a.first.0,
        "first_hash": a.first.1.to_hex(),
        "latest_recorded_at": a.latest.as_str(),
        "ahead_secs": a.latest.unix_seconds() - a.clock.unix_seconds(),
    })
}

/// A failure as JSON.
pub fn failure_json(f: &Failure) -> serde_json::Value {
    json!({
        "line": f.line,
        "position": f.position,
        "chain": f.chain,
        "hash": f.hash,
        "rule": f.rule,
        "message": f.message,
    })
}

/// The report line of a missing payload: position, chain and hash, and what to do.
fn describe_missing(m: &MissingPayload) -> String {
    format!(
        "payload missing at position {}, chain {}, event {}: the store holds neither the \
         payload nor a redaction of it; submit the record with its payload again to complete it",
        m.position, m.chain, m.hash
    )
}

fn missing_json(m: &MissingPayload) -> serde_json::Value {
    json!({"position": m.position, "chain": m.chain, "hash": m.hash.to_hex()})
}

/// What a successful verification proved, and what it could not: `cp` is the checkpoint that
/// was checked, if any.
pub fn proved(records: u64, cp: Option<&Checkpoint>) -> (Vec<String>, Vec<String>) {
    let mut proved = vec![
        format!(
            "every record's hash, signature, chain link and signer authority verified, for all \
             {records} records in ledger order"
        ),
        format!("the Merkle root of the {records} records (tree size {records})"),
    ];
    let unproved_tail = [
        "that no record was dropped from the end of the ledger",
        "that no whole chain was dropped",
        "that records of two chains were not swapped",
    ];
    let mut not_proved: Vec<String> = Vec::new();
    match cp {
        Some(c) if c.size == records => {
            proved.push(format!(
                "the checkpoint's signature, and that its root is the root of all {records} \
                 records: nothing up to size {records} was dropped or reordered"
            ));
            not_proved.push(format!(
                "that no record appended after the checkpoint (size {records}) was dropped: a \
                 newer checkpoint held by someone else proves that"
            ));
        }
        Some(c) => {
            proved.push(format!(
                "the checkpoint's signature, and that its root is the root of the first {} \
                 records: nothing up to size {} was dropped or reordered",
                c.size, c.size
            ));
            not_proved.extend(unproved_tail.iter().map(|what| {
                format!(
                    "{what}, after the first {} records: that takes a checkpoint covering all \
                     records, held by someone else",
                    c.size
                )
            }));
        }
        None => not_proved.extend(unproved_tail.iter().map(|what| {
            format!("{what}: that takes a checkpoint held by someone else (--checkpoint)")
        })),
    }
    (proved, not_proved)
}

/// Copies standard input to a private temporary file.
fn spool_stdin() -> anyhow::Result<tempfile::NamedTempFile> {
    let mut spool = tempfile::NamedTempFile::new()
        .context("cannot create a temporary file to read standard input twice")?;
    std::io::copy(&mut std::io::stdin().lock(), &mut spool)
        .context("cannot copy standard input to a temporary file")?;
    Ok(spool)
}

/// Reads trust anchors (`trust.json`).
pub fn read_trust(path: &Path) -> anyhow::Result<TrustAnchors> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read trust anchors {}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a trust.json ({e}): expected {{\"roots\": [{{\"key\": \"ed25519:...\", \"agency\": \"...\"}}]}}",
            path.display()
        )
    })
}

async fn trust_from_store(spec: &str) -> anyhow::Result<TrustAnchors> {
    let s = store::open_store(spec, store::Create::No).await.context(
        "verifying a file needs the trust anchors: pass --trust trust.json (from `custody trust`)",
    )?;
    Ok(store::read_meta(spec, s.as_ref())
        .await
        .context("verifying a file needs the trust anchors: pass --trust trust.json (from `custody trust`)")?
        .trust)
}

/// A witness verifier key given on the command line, or read from the file it names.
fn witness_key(given: &str) -> anyhow::Result<CosignatureVerifier> {
    let text = if Path::new(given).is_file() {
        std::fs::read_to_string(given)
            .with_context(|| format!("cannot read witness key {given}"))?
    } else {
        given.to_string()
    };
    CosignatureVerifier::parse(text.trim())
        .map_err(|e| anyhow::anyhow!("--witness {given}: not a witness verifier key: {e}"))
}

fn read_checkpoint(
    note_path: &Path,
    vkey_path: &Path,
    witnesses: &[String],
    quorum: Option<usize>,
) -> anyhow::Result<Checkpoint> {
    let vkey = std::fs::read_to_string(vkey_path)
        .with_context(|| format!("cannot read ledger verifier key {}", vkey_path.display()))?;
    let verifier = NoteVerifier::parse(vkey.trim())
        .with_context(|| format!("{} is not a ledger verifier key", vkey_path.display()))?;
    let note = std::fs::read_to_string(note_path)
        .with_context(|| format!("cannot read checkpoint {}", note_path.display()))?;
    if !witnesses.is_empty() {
        let keys = witnesses
            .iter()
            .map(|w| witness_key(w))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let quorum = quorum.unwrap_or(keys.len());
        if quorum > keys.len() {
            anyhow::bail!(
                "--quorum {quorum} is more than the {} --witness keys given",
                keys.len()
            );
        }
        return verify_cosigned(&note, &verifier, &keys, quorum)
            .map(|c| c.checkpoint)
            .map_err(|e| {
                crate::exit::refused(format!(
                    "checkpoint {} is not accepted: {e}",
                    note_path.display()
                ))
            });
    }
    verify_checkpoint(&note, &verifier).map_err(|e| {
        crate::exit::refused(format!(
            "checkpoint {} does not verify with {}: {e}",
            note_path.display(),
            vkey_path.display()
        ))
    })
}

/// Whether the checkpoint commits to the verified records: its root must equal the root of the
/// first `size` records.
fn check_checkpoint(cp: &Checkpoint, s: &Summary) -> Result<(), String> {
    if cp.size > s.records {
        return Err(format!(
            "the checkpoint is for {} records but only {} were verified: the ledger is missing records or the export is incomplete",
            cp.size, s.records
        ));
    }
    match s.root_at_mark {
        Some(root) if root == cp.root => Ok(()),
        Some(root) => Err(format!(
            "the checkpoint's root {} for size {} differs from the verified root {}: the ledger was rewritten",
            b64std(&cp.root),
            cp.size,
            b64std(&root)
        )),
        None => Err(format!("no root was computed at size {}", cp.size)),
    }
}

/// A payload an imported packet withheld (docs/SPEC.md section 18.7): never received.
#[derive(Clone, Debug)]
pub struct NotReceived {
    /// The record without payload.
    pub missing: MissingPayload,
    /// The manifest's reason (`sealed`, `restricted`, `redacted`, `missing`).
    pub reason: String,
    /// The digest of the packet that withheld it.
    pub packet: String,
}

/// What a verification of a store found beside the records, that an operator must look at.
#[derive(Clone, Copy, Debug)]
pub struct Findings<'a> {
    /// Payloads neither stored nor lawfully redacted.
    pub missing: &'a [MissingPayload],
    /// On a replica: payloads it never received (an imported packet withheld them).
    pub not_received: &'a [NotReceived],
    /// On a replica: other records without payload (what its source sent, or lost: a replica
    /// cannot tell).
    pub unexplained: &'a [MissingPayload],
    /// Fork alarms the store keeps.
    pub forks: &'a [ForkAlarm],
}

/// Prints the verification report (human or JSON).
pub fn print_report(
    out: Output,
    source: &str,
    s: &Summary,
    failure: Option<&Failure>,
    cp: Option<&Checkpoint>,
    cp_problem: Option<&str>,
    found: Findings<'_>,
) {
    let Findings {
        missing,
        not_received,
        unexplained,
        forks,
    } = found;
    let ok = failure.is_none() && cp_problem.is_none();
    if let Some(ahead) = &s.ahead_of_clock {
        eprintln!("custody: {}", ahead_warning(ahead));
    }
    let (proved, not_proved) = if ok {
        proved(s.records, cp)
    } else {
        (
            Vec::new(),
            vec!["that the ledger is intact: verification failed".to_string()],
        )
    };
    if out.json {
        out.json(&json!({
            "source": source,
            "ok": ok && missing.is_empty() && forks.is_empty(),
            "missing_payloads": missing.iter().map(missing_json).collect::<Vec<_>>(),
            "not_received": not_received.iter().map(|n| {
                let mut v = missing_json(&n.missing);
                v["reason"] = json!(n.reason);
                v["packet"] = json!(n.packet);
                v
            }).collect::<Vec<_>>(),
            "replica_without_payload": unexplained.iter().map(missing_json).collect::<Vec<_>>(),
            "fork_alarms": forks.iter().map(crate::cmd::forks::alarm_json).collect::<Vec<_>>(),
            "records": s.records,
            "authority_records": s.authority_records,
            "chains": s.chains,
            "headers_only": s.headers_only,
            "tree_size": s.records,
            "root": b64std(&s.root),
            "root_hex": hex(&s.root),
            "failure": failure.map(failure_json),
            "ahead_of_clock": s.ahead_of_clock.as_ref().map(ahead_json),
            "checkpoint": cp.map(|c| json!({
                "size": c.size,
                "root": b64std(&c.root),
                "ok": ok,
                "problem": cp_problem,
            })),
            "proved": proved,
            "not_proved": not_proved,
        }));
        return;
    }
    if let Some(f) = failure {
        match (&f.line, &f.hash) {
            // Not a record: an empty input or a damaged store.
            (None, None) => eprintln!(
                "custody: verification of {source} FAILED ({}): {}",
                f.rule, f.message
            ),
            _ => eprintln!(
                "custody: verification of {source} FAILED at {}",
                describe(f)
            ),
        }
        if !out.quiet && s.records > 0 {
            eprintln!(
                "the {} records before it verify (tree size {}, root {})",
                s.records,
                s.records,
                b64std(&s.root)
            );
        }
        return;
    }
    if let Some(problem) = cp_problem {
        eprintln!("custody: checkpoint refused: {problem}");
        return;
    }
    out.info(format!("verified {source}"));
    out.info(format!(
        "  records:     {} ({} authority, {} detainee chains, {} without payload)",
        s.records, s.authority_records, s.chains, s.headers_only
    ));
    out.info(format!("  tree size:   {}", s.records));
    out.info(format!("  root:        {}", b64std(&s.root)));
    if let Some(c) = cp {
        let how = if c.size == s.records {
            "matches the verified root".to_string()
        } else {
            format!("matches the root of the first {} records", c.size)
        };
        out.info(format!(
            "  checkpoint:  signature OK, size {}, {how}",
            c.size
        ));
    }
    for line in &proved {
        out.info(format!("  proved:      {line}"));
    }
    for line in &not_proved {
        out.info(format!("  NOT proved:  {line}"));
    }
    if !not_received.is_empty() {
        out.info(format!(
            "  not received: {} payloads withheld by the sender of an imported packet (sealed \
             to medical keys and imported without one, or restricted, redacted or missing at the \
             sender): never received, not lost by this store",
            not_received.len()
        ));
        for n in not_received {
            out.info(format!(
                "    not received: position {}, chain {}, event {}: {} by the sender (packet sha256 {})",
                n.missing.position, n.missing.chain, n.missing.hash, n.reason, n.packet
            ));
        }
    }
    if !unexplained.is_empty() {
        out.info(format!(
            "  {} other records without payload: this store is a replica, which holds what its \
             source sent (payloads withheld or lawfully redacted there)",
            unexplained.len()
        ));
    }
    if !forks.is_empty() {
        for f in forks {
            eprintln!("custody: {}", crate::cmd::forks::describe(f));
        }
        eprintln!(
            "custody: {source}: the records verify, but {} FORK ALARMS are kept: two different \
             validly signed records at one place of a chain (tampering, or one chain written at \
             two posts); both versions are kept: see `custody forks` and docs/OPERATIONS.md, \
             \"Fork alarms\"",
            forks.len()
        );
    }
    if !missing.is_empty() {
        for m in missing {
            eprintln!("custody: {}", describe_missing(m));
        }
        eprintln!(
            "custody: {source}: the records verify, but {} payloads are missing (neither stored \
             nor lawfully redacted): the store lost data; see docs/OPERATIONS.md, \"A missing \
             payload\"",
            missing.len()
        );
        return;
    }
    if !forks.is_empty() {
        return;
    }
    out.result("OK");
}

/// Opens the store `spec` and verifies its whole ledger, for a command that shows a view of it
/// (`what`: "no inbox is shown"). A ledger that does not verify is an error naming its first
/// failure; a new, empty ledger is not. Returns the store, its metadata, the verifier (whose
/// validator holds the ledger's state) and the number of records verified.
pub(crate) async fn verified_store(
    spec: &str,
    what: &str,
) -> anyhow::Result<(
    std::sync::Arc<dyn custody_store::LedgerStore>,
    custody_ledger::LedgerMeta,
    custody_verify::Verifier,
    u64,
)> {
    let s = crate::store::open_store(spec, crate::store::Create::No).await?;
    let meta = crate::store::read_meta(spec, s.as_ref()).await?;
    let mut v = custody_verify::Verifier::new(meta.trust.clone())
        .with_ahead_notice(Some(crate::clock::now()?));
    let report = v.verify_store(s.as_ref(), |_| {}).await?;
    if let Some(f) = report
        .failure
        .as_ref()
        .filter(|f| f.rule != custody_core::Rule::Empty)
    {
        anyhow::bail!(
            "the ledger does not verify, so {what}: {}; run `custody verify`",
            describe(f)
        );
    }
    Ok((s, meta, v, report.summary.records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_core::checkpoint::NoteSigner;
    use custody_core::cosignature::CosignatureSigner;

    /// `--witness`/`--quorum`: a checkpoint cosigned by one witness of two passes a quorum of
    /// one and fails a quorum of two (and the default, every witness) naming who is missing.
    #[test]
    fn a_quorum_of_witnesses_is_demanded() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = NoteSigner::new(
            "quorum.example/ledger",
            custody_core::SecretKey::from_seed([3; 32])
                .signing_key()
                .clone(),
        )
        .unwrap();
        let a = CosignatureSigner::new(
            "a.example",
            custody_core::SecretKey::from_seed([4; 32])
                .signing_key()
                .clone(),
        )
        .unwrap();
        let b = CosignatureSigner::new(
            "b.example",
            custody_core::SecretKey::from_seed([5; 32])
                .signing_key()
                .clone(),
        )
        .unwrap();
        let checkpoint = Checkpoint {
            origin: "quorum.example/ledger".to_string(),
            size: 2,
            root: [7; 32],
            extensions: Vec::new(),
        };
        let note = ledger.sign_checkpoint(&checkpoint).unwrap();
        let note = custody_core::cosignature::add_signature_lines(
            &note,
            &[a.cosign(&checkpoint.to_body(), 1_700_000_000)],
        );
        let note_path = dir.path().join("checkpoint.txt");
        std::fs::write(&note_path, &note).unwrap();
        let vkey_path = dir.path().join("ledger.vkey");
        std::fs::write(&vkey_path, ledger.verifier_key()).unwrap();
        let b_path = dir.path().join("b.vkey");
        std::fs::write(&b_path, b.verifier_key()).unwrap();
        let both = vec![a.verifier_key(), b_path.display().to_string()];

        let ok = read_checkpoint(&note_path, &vkey_path, &both, Some(1)).unwrap();
        assert_eq!(ok, checkpoint);
        for quorum in [Some(2), None] {
            let e = read_checkpoint(&note_path, &vkey_path, &both, quorum)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("1 valid cosignature(s) of the 2 required"),
                "{e}"
            );
            assert!(e.contains("b.example"), "{e}");
        }
        let e = read_checkpoint(&note_path, &vkey_path, &both, Some(3))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--quorum 3"), "{e}");
        let e = read_checkpoint(&note_path, &vkey_path, &["nonsense".to_string()], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a witness verifier key"), "{e}");
    }
}
