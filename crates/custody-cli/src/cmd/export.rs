//! `custody export`: records as JSONL, in ledger order, one canonical line each.
//!
//! `--headers-only` removes the payload of every detainee record; authority records keep
//! theirs, without which no verifier can check who may sign.

use std::io::{BufWriter, Write};

use anyhow::Context;
use custody_core::ids::AUTHORITY_CHAIN;
use custody_store::{LedgerScan, LedgerStore};
use serde_json::json;

use crate::chainref::ChainArg;
use crate::cli::ExportArgs;
use crate::output::Output;
use crate::store;

/// Writes the export to the file or to standard output.
pub async fn run(out: Output, spec: &str, args: &ExportArgs) -> anyhow::Result<()> {
    let chain_arg = args
        .chain
        .as_deref()
        .map(|c| ChainArg::parse("chain", c))
        .transpose()?;
    let s = store::open_store(spec, store::Create::No).await?;
    // Refuse a store without a ledger with the usual message.
    store::read_meta(spec, s.as_ref()).await?;
    let chain = match &chain_arg {
        Some(arg) => Some(
            arg.resolve("chain", s.as_ref(), &store::display(spec))
                .await?,
        ),
        None => None,
    };

    let (mut writer, target): (Box<dyn Write>, String) = match &args.out {
        Some(path) => (
            Box::new(BufWriter::new(crate::files::create_new(path)?)),
            path.display().to_string(),
        ),
        None => (
            Box::new(BufWriter::new(std::io::stdout().lock())),
            "standard output".into(),
        ),
    };
    let written = write_records(s.as_ref(), chain.as_deref(), args, &mut writer).await;
    let count = match written {
        Ok(n) => n,
        // `custody export | head` closes the pipe early: not an error.
        Err(e) if is_broken_pipe(&e) => return Ok(()),
        Err(e) => return Err(e.context(format!("cannot export to {target}"))),
    };
    match writer.flush() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
        r => r.with_context(|| format!("cannot write {target}"))?,
    }
    drop(writer);
    if let Some(path) = &args.out {
        out.json(&json!({"file": path.display().to_string(), "records": count}));
        out.info(format!("wrote {count} records to {}", path.display()));
    }
    Ok(())
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

async fn write_records(
    s: &dyn LedgerStore,
    chain: Option<&str>,
    args: &ExportArgs,
    w: &mut dyn Write,
) -> anyhow::Result<u64> {
    let mut count = 0u64;
    let mut line = |record: &custody_core::Record| -> std::io::Result<()> {
        // Authority records keep their payload: verifiers need it (SPEC section 7), and it
        // holds no detainee's personal data.
        let text = if args.headers_only && record.header.chain != AUTHORITY_CHAIN {
            record.without_payload().to_json_line()
        } else {
            record.to_json_line()
        };
        w.write_all(text.as_bytes())?;
        w.write_all(b"\n")
    };
    match chain {
        Some(chain) => {
            for ev in s.chain(chain).await? {
                line(&ev.record)?;
                count += 1;
            }
        }
        None => {
            let mut scan = LedgerScan::new(s, 0);
            while let Some(batch) = scan.next_batch().await? {
                for ev in batch {
                    line(&ev.record)?;
                    count += 1;
                }
            }
        }
    }
    Ok(count)
}
