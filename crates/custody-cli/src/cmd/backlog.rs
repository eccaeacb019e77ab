//! `custody backlog`: the pre-trial backlog (`custody_views::backlog`) of a ledger verified
//! first: by facility and by court, pre-trial shares, ageing, longest waits, occupancy; read
//! with `--as KEYFILE` under the read matrix, like `GET /v1/backlog` (`crate::reader`). Also
//! the helpers of the other view commands (`custody hearings`, `custody whereabouts`,
//! `custody timeline`): the projection of a verified store, `--at` and `--lang`, and a
//! standard output on which a closed pipe (`| head`) is a normal end.

use std::io::Write;

use anyhow::Context;
use custody_core::Timestamp;
use custody_store::{LedgerScan, LedgerStore, StoredEvent};
use custody_views::access::View;
use custody_views::backlog::{backlog, parse_status, BacklogFilter};
use custody_views::calendar::Date;
use custody_views::detainee::Projection;
use custody_views::i18n::Lang;

use crate::cli::BacklogArgs;
use crate::clock;
use crate::cmd::verify;
use crate::output::Output;
use crate::reader::check_list_view;

/// Writes `text` to standard output through one lock; a reader that closed the pipe ends the
/// output normally (no panic, no error).
pub(crate) fn print_out(text: &str) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    match lock.write_all(text.as_bytes()).and_then(|()| lock.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

/// `--at`: an RFC 3339 UTC instant, or a date `YYYY-MM-DD` (that day at 00:00 UTC, Mali's
/// civil time); default: now.
pub(crate) fn parse_at(at: Option<&str>) -> anyhow::Result<Timestamp> {
    match at {
        None => clock::now(),
        Some(text) => {
            if let Some(d) = Date::parse(text) {
                return Ok(d.start());
            }
            Timestamp::parse(text).map_err(|_| {
                anyhow::anyhow!(
                    "--at {text:?} is neither a date YYYY-MM-DD nor an instant \
                     YYYY-MM-DDTHH:MM:SSZ (UTC)"
                )
            })
        }
    }
}

/// `--lang`: `fr` (default) or `en`.
pub(crate) fn parse_lang(lang: &str) -> anyhow::Result<Lang> {
    lang.parse::<Lang>().map_err(anyhow::Error::new)
}

/// Opens and verifies the store, then folds every verified record into a projection.
/// Returns the store, the verifier and the projection.
pub(crate) async fn verified_projection(
    spec: &str,
    what: &str,
) -> anyhow::Result<(
    std::sync::Arc<dyn LedgerStore>,
    custody_verify::Verifier,
    Projection,
)> {
    let (s, _, v, records) = verify::verified_store(spec, what).await?;
    let mut p = Projection::new();
    let mut scan = LedgerScan::new(s.as_ref(), 0).until(records);
    while let Some(batch) = scan.next_batch().await? {
        fold_batch(&mut p, &batch)?;
    }
    Ok((s, v, p))
}

fn fold_batch(p: &mut Projection, batch: &[StoredEvent]) -> anyhow::Result<()> {
    for ev in batch {
        p.observe(ev.position, &ev.record)
            .context("the store's ledger positions are not consecutive")?;
    }
    Ok(())
}

/// Prints the backlog; a ledger that does not verify, or a reader the matrix refuses, is an
/// error.
pub async fn run(out: Output, spec: &str, args: &BacklogArgs) -> anyhow::Result<()> {
    let at = parse_at(args.at.as_deref())?;
    let lang = parse_lang(&args.lang)?;
    let status = args
        .status
        .as_deref()
        .map(parse_status)
        .transpose()
        .context("--status")?;
    let filter = BacklogFilter {
        facility: args.facility.clone(),
        court: args.court.clone(),
        status,
        overdue_only: args.overdue,
        agency: None,
    };
    let (s, v, p) = verified_projection(spec, "no backlog is computed").await?;
    // The read matrix first: a refused reader learns nothing, not even which facilities exist.
    let own = check_list_view(s.as_ref(), &v, &args.as_key, View::Backlog).await?;
    let filter = BacklogFilter {
        // A registrar or a judicial police officer sees its own agency's people only.
        agency: own,
        ..filter
    };
    if let Some(f) = &filter.facility {
        let known = p.directory.facilities.contains_key(f)
            || p.detainees
                .values()
                .any(|d| d.current_facility() == Some(f));
        anyhow::ensure!(
            known,
            "--facility {f:?}: no facility of that id is registered in the ledger \
             (ids are those of `custody enroll facility`, e.g. ml-mca-bamako)"
        );
    }
    let b = backlog(&p, &at, &filter);
    let format = if out.json {
        "json"
    } else {
        args.format.as_str()
    };
    let text = match format {
        "json" => format!("{}\n", b.to_json()),
        "csv" => b.to_csv(),
        _ => b.render(lang),
    };
    print_out(&text)
}
