//! `custody hearings`: the hearing calendar (`custody_views::hearings`) of a verified ledger:
//! upcoming hearings by court and day, who to produce from which facility, and after the day,
//! who was not produced and why (the reasons read from the `hearing_held` payloads). Read with
//! `--as KEYFILE` under the read matrix, like `GET /v1/hearings` (`crate::reader`).

use anyhow::Context;
use custody_core::EventKind;
use custody_store::LedgerScan;
use custody_views::access::View;
use custody_views::calendar::Date;
use custody_views::hearings::{hearings, HearingFilter};

use crate::cli::HearingsArgs;
use crate::cmd::backlog::{parse_at, parse_lang, print_out, verified_projection};
use crate::output::Output;
use crate::reader::check_list_view;

/// Prints the calendar; a ledger that does not verify, or a reader the matrix refuses, is an
/// error.
pub async fn run(out: Output, spec: &str, args: &HearingsArgs) -> anyhow::Result<()> {
    let at = parse_at(args.at.as_deref())?;
    let lang = parse_lang(&args.lang)?;
    let day = args
        .day
        .as_deref()
        .map(|d| Date::parse(d).with_context(|| format!("--day {d:?} is not a date YYYY-MM-DD")))
        .transpose()?;
    let filter = HearingFilter {
        day,
        court: args.court.clone(),
    };
    let (s, v, p) = verified_projection(spec, "no calendar is computed").await?;
    let own = check_list_view(s.as_ref(), &v, &args.as_key, View::HearingCalendar).await?;
    let mut cal = hearings(&p, &at, &filter);
    // A registrar or a judicial police officer sees its own agency's people only.
    if let Some(agency) = &own {
        cal.keep_agency(&p, agency);
    }
    if cal.not_produced.iter().any(|n| n.held_event.is_some()) {
        // The reasons are in the payloads of the `hearing_held` records.
        let mut held = Vec::new();
        let mut scan = LedgerScan::new(s.as_ref(), 0);
        while let Some(batch) = scan.next_batch().await? {
            held.extend(
                batch
                    .into_iter()
                    .filter(|e| e.record.header.kind == EventKind::HearingHeld)
                    .map(|e| e.record),
            );
        }
        cal.fill_reasons(held.iter());
    }
    let format = if out.json {
        "json"
    } else {
        args.format.as_str()
    };
    let text = match format {
        "json" => format!("{}\n", cal.to_json()),
        "csv" => cal.to_csv(),
        _ => cal.render(lang),
    };
    print_out(&text)
}
