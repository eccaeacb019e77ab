//! `custody submit FILE.jsonl`: append already signed records, in order.
//!
//! Each line goes through the ledger's validator. A record already stored (a retry after a lost
//! answer or a crash) is recognised and counted, not stored twice, so a submission interrupted
//! by a failure is completed by running the same command again. The first refused line stops
//! the submission: nothing from that line on is stored.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};

use anyhow::Context;
use custody_core::validate::ValidationError;
use custody_core::Record;
use custody_ledger::AppendError;
use custody_store::AppendOutcome;
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
    let ledger = store::open_ledger(spec).await?;
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut buf = Vec::with_capacity(4096);
    let mut line_no = 0u64;
    let mut counts = Counts::default();
    loop {
        buf.clear();
        if reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read {name}"))?
            == 0
        {
            break;
        }
        line_no += 1;
        let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record = match Record::from_json(text) {
            Ok(r) => r,
            Err(e) => {
                return refuse(
                    out,
                    &name,
                    line_no,
                    None,
                    &ValidationError::Format(e),
                    &counts,
                )
            }
        };
        let now = clock::now()?;
        let mut result = ledger.append(&record, &now).await;
        if let Err(AppendError::Conflict { .. }) = &result {
            // The ledger has caught up with other writers: say precisely why the record does
            // not extend the chain (or append it, if it now does).
            match ledger.with_state(|v| v.check(&record, Some(&now))).await {
                Err(e) => return refuse(out, &name, line_no, Some(&record), &e, &counts),
                Ok(_) => result = ledger.append(&record, &now).await,
            }
        }
        match result {
            Ok(AppendOutcome::Appended { position }) => {
                counts.appended += 1;
                report_line(out, line_no, &record, position, "appended");
            }
            Ok(AppendOutcome::Duplicate { position }) => {
                counts.duplicate += 1;
                report_line(out, line_no, &record, position, "already stored");
            }
            Err(AppendError::Invalid(e)) => {
                return refuse(out, &name, line_no, Some(&record), &e, &counts)
            }
            Err(AppendError::Conflict { chain, reason, .. }) => {
                return Err(crate::exit::refused(format!(
                    "{name}:{line_no}: chain {chain} keeps moving ({reason}); {} lines stored before it: run the same command again",
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
        eprintln!(
            "nothing from line {line} on was stored ({} records appended, {} already stored before it)",
            counts.appended, counts.duplicate
        );
    }
    Err(refused_reported(format!("{name}:{line}: refused ({rule})")))
}
