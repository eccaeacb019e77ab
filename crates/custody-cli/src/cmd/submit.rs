//! `custody submit FILE.jsonl`: append already signed records, in order.
//!
//! Each line goes through the ledger's validator. A record already stored (a retry after a lost
//! answer or a crash) is recognised and counted, not stored twice, so a submission interrupted
//! by a failure is completed by running the same command again. The first refused line stops
//! the submission: nothing from that line on is stored.
//!
//! A record already stored whose payload is missing (see docs/OPERATIONS.md, "A missing
//! payload") is completed by its retry. When the missing payload is that of an authority record,
//! the ledger cannot even be opened (the validator needs its body): the file is then searched
//! for that record, whose payload completes the stored header (only if its digest is the
//! header's `payload_digest`), and the ledger is opened again.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};

use anyhow::Context;
use custody_core::validate::ValidationError;
use custody_core::Record;
use custody_ledger::{AppendError, BatchError, Ledger, OpenError};
use custody_store::{AppendOutcome, LedgerStore, PayloadState};
use serde_json::json;

use crate::cli::SubmitArgs;
use crate::clock;
use crate::exit::refused_reported;
use crate::output::Output;
use crate::store;

/// Counts of a submission.
#[derive(Debug, Default)]
struct Counts {
    appended: u64,
    duplicate: u64,
}

/// Appends every line; stops at the first refusal.
pub async fn run(out: Output, spec: &str, args: &SubmitArgs) -> anyhow::Result<()> {
    let name = args.file.display().to_string();
    let input: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(File::open(&args.file).with_context(|| format!("cannot open {name}"))?)
    };
    let ledger = open_completing_authority(out, spec, &args.file).await?;
    let submitted = submit_lines(out, &name, input, &ledger, args).await;
    // Refused or not, what was appended is in the state the next open starts from.
    store::save_state_if_grown(spec, &ledger).await;
    submitted
}

/// Reads the records of `input` line by line and appends them in batches.
async fn submit_lines(
    out: Output,
    name: &str,
    input: Box<dyn Read>,
    ledger: &Ledger,
    args: &SubmitArgs,
) -> anyhow::Result<()> {
    // From a pipe, a batch is appended as soon as no more input is waiting: a live producer
    // (`custody record ... | custody submit -`) is never kept waiting for a full batch.
    let live = args.file.as_os_str() == "-";
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut buf = Vec::with_capacity(4096);
    let mut line_no = 0u64;
    let mut counts = Counts::default();
    let mut batch = Batch::default();
    loop {
        buf.clear();
        let read = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read {name}"))?;
        let ended = read == 0;
        if !ended {
            line_no += 1;
            let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
            if !text.iter().all(u8::is_ascii_whitespace) {
                match Record::from_json(text) {
                    Ok(record) => batch.push(line_no, record),
                    Err(e) => {
                        // The lines before it are stored first: nothing from this line on is.
                        batch.submit(out, name, ledger, &mut counts).await?;
                        return refuse(
                            out,
                            name,
                            line_no,
                            None,
                            &ValidationError::Format(e),
                            &counts,
                        );
                    }
                }
            }
        }
        if ended || batch.len() >= args.batch || (live && reader.buffer().is_empty()) {
            batch.submit(out, name, ledger, &mut counts).await?;
        }
        if ended {
            break;
        }
    }
    out.json(&json!({
        "ok": true,
        "lines": line_no,
        "appended": counts.appended,
        "already_stored": counts.duplicate,
    }));
    out.result(format!(
        "{name}: {} records appended, {} already stored",
        counts.appended, counts.duplicate
    ));
    Ok(())
}

/// Records read and not yet submitted, with their line numbers.
#[derive(Debug, Default)]
struct Batch {
    lines: Vec<u64>,
    records: Vec<Record>,
}

impl Batch {
    fn push(&mut self, line: u64, record: Record) {
        self.lines.push(line);
        self.records.push(record);
    }

    fn len(&self) -> usize {
        self.records.len()
    }

    /// Appends every record of the batch in order and empties it; stops at the first refusal
    /// (the error says which line, and that nothing from it on was stored).
    async fn submit(
        &mut self,
        out: Output,
        name: &str,
        ledger: &Ledger,
        counts: &mut Counts,
    ) -> anyhow::Result<()> {
        let mut from = 0;
        while from < self.records.len() {
            let now = clock::now()?;
            let records = &self.records[from..];
            let (done, stop) = match ledger.append_batch(records, &now).await {
                Ok(done) => (done, None),
                Err(BatchError { done, error }) => (done, Some(error)),
            };
            for (i, outcome) in done.iter().enumerate() {
                counts.note(out, self.lines[from + i], &records[i], *outcome);
            }
            from += done.len();
            let Some(error) = stop else {
                continue;
            };
            let (line_no, record) = (self.lines[from], &self.records[from]);
            let mut result = Err(error);
            if let Err(AppendError::Conflict(_)) = &result {
                // The ledger has caught up with other writers: say precisely why the record
                // does not extend the chain (or append it, if it now does).
                match ledger.with_state(|v| v.check(record, Some(&now))).await {
                    Err(e) => return refuse(out, name, line_no, Some(record), &e, counts),
                    Ok(_) => result = ledger.append(record, &now).await,
                }
            }
            match result {
                Ok(outcome) => counts.note(out, line_no, record, outcome),
                Err(AppendError::Invalid(e)) => {
                    return refuse(out, name, line_no, Some(record), &e, counts)
                }
                Err(AppendError::Conflict(conflict)) => {
                    return Err(crate::exit::refused(format!(
                        "{name}:{line_no}: chain {} keeps moving ({}); {} lines stored before it: run the same command again",
                        conflict.chain,
                        conflict.reason(),
                        counts.appended + counts.duplicate
                    )))
                }
                Err(e) => {
                    return Err(anyhow::Error::new(e).context(format!(
                        "{name}:{line_no}: not stored ({} appended, {} already stored before it); run the same command again once the store is back: stored lines are recognised",
                        counts.appended, counts.duplicate
                    )))
                }
            }
            from += 1;
        }
        self.lines.clear();
        self.records.clear();
        Ok(())
    }
}

impl Counts {
    /// Counts and reports what became of one line.
    fn note(&mut self, out: Output, line: u64, record: &Record, outcome: AppendOutcome) {
        match outcome {
            AppendOutcome::Appended { position } => {
                self.appended += 1;
                report_line(out, line, record, position, "appended");
            }
            AppendOutcome::Duplicate { position } => {
                self.duplicate += 1;
                report_line(out, line, record, position, "already stored");
            }
        }
    }
}

/// How many missing authority payloads one submission completes before it gives up.
const MAX_AUTHORITY_COMPLETIONS: usize = 1000;

/// Opens the ledger; while it does not open because an authority record's payload is missing,
/// completes that payload from the record in `file` and tries again.
async fn open_completing_authority(
    out: Output,
    spec: &str,
    file: &std::path::Path,
) -> anyhow::Result<Ledger> {
    let s = store::open_store(spec, store::Create::No).await?;
    for _ in 0..MAX_AUTHORITY_COMPLETIONS {
        let position = match store::open_ledger_in(spec, s.clone()).await {
            Ok(ledger) => return Ok(ledger),
            Err(OpenError::Replay {
                position,
                error: ValidationError::PayloadMissing { kind },
            }) if kind.is_authority() => position,
            Err(e) => return Err(store::open_error(spec, e)),
        };
        complete_from_file(out, s.as_ref(), position, file).await?;
    }
    anyhow::bail!("more than {MAX_AUTHORITY_COMPLETIONS} authority payloads are missing")
}

/// Completes the missing payload of the stored record at `position` from the record with the
/// same hash in `file`.
async fn complete_from_file(
    out: Output,
    s: &dyn LedgerStore,
    position: u64,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    let stored = s.read_from(position, 1).await?.pop().ok_or_else(|| {
        anyhow::anyhow!("the store has no record at position {position} any more")
    })?;
    let hash = stored.record.hash;
    let not_found = || {
        crate::exit::refused(format!(
            "the ledger does not open: the payload of authority record {hash} at position              {position} is missing ({}); submit a file that holds that record with its payload              (`custody export --chain authority` of another copy of the ledger)",
            stored.payload
        ))
    };
    if stored.payload != PayloadState::Missing || file.as_os_str() == "-" {
        return Err(not_found());
    }
    let name = file.display().to_string();
    let input = File::open(file).with_context(|| format!("cannot open {name}"))?;
    for line in BufReader::new(input).split(b'\n') {
        let line = line.with_context(|| format!("cannot read {name}"))?;
        let Ok(record) = Record::from_json(&line) else {
            continue;
        };
        if record.hash != hash || record.payload.is_none() {
            continue;
        }
        match s.append(&record).await? {
            AppendOutcome::Duplicate { .. } => {
                out.info(format!(
                    "completed the missing payload of authority record {hash} at position {position}"
                ));
                return Ok(());
            }
            AppendOutcome::Appended { position: p } => anyhow::bail!(
                "record {hash} was appended at position {p} while it was expected stored at                  position {position}: the store is inconsistent"
            ),
        }
    }
    Err(not_found())
}

fn report_line(out: Output, line: u64, record: &Record, position: u64, what: &str) {
    tracing::debug!(line, position, "submitted");
    if out.json {
        println!(
            "{}",
            json!({"line": line, "hash": record.hash.to_hex(), "position": position, "status": what})
        );
    } else {
        out.info(format!(
            "line {line}: {what} at position {position} ({})",
            record.hash
        ));
    }
}

fn refuse(
    out: Output,
    name: &str,
    line: u64,
    record: Option<&Record>,
    err: &ValidationError,
    counts: &Counts,
) -> anyhow::Result<()> {
    let rule = err.rule();
    let hash = record.map(|r| r.hash.to_hex());
    if out.json {
        println!(
            "{}",
            json!({
                "ok": false,
                "line": line,
                "hash": hash,
                "rule": rule,
                "message": err.to_string(),
                "appended": counts.appended,
                "already_stored": counts.duplicate,
            })
        );
    } else {
        eprintln!(
            "custody: {name}:{line}: record {} refused ({rule}): {err}",
            hash.as_deref().unwrap_or("unreadable")
        );
        if let Some(hint) = crate::clock::refusal_hint(err) {
            eprintln!("custody: {hint}");
        }
        eprintln!(
            "nothing from line {line} on was stored ({} records appended, {} already stored before it)",
            counts.appended, counts.duplicate
        );
    }
    Err(refused_reported(format!("{name}:{line}: refused ({rule})")))
}
