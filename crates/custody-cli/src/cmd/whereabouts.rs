//! `custody whereabouts C` and `custody timeline C`: reads that show one person, so each needs
//! `--as KEYFILE`, an enrolled key whose roles the read matrix (`custody_views::access`)
//! checks, and each read, allowed or refused, is written to the store's access log before
//! anything is printed. A refusal exits 1 with the reason.

use anyhow::Context;
use custody_core::Record;
use custody_store::LedgerStore;
use custody_views::access::{
    access_action, may_view, timeline_headers_only, AccessContext, View, TIMELINE_HEADERS_ACTION,
};
use custody_views::detainee::Projection;
use custody_views::own_file::own_file;
use custody_views::timeline::{timeline, Detail, Mark};
use custody_views::whereabouts::{relatives_view, whereabouts};

use crate::chainref::ChainArg;
use crate::cli::{TimelineArgs, WhereaboutsArgs};
use crate::cmd::backlog::{parse_at, parse_lang, print_out, verified_projection};
use crate::output::Output;
use crate::reader::{log, reader, refusal, Reader};

/// Whether a `counsel_appointed` naming the reader's key is in force on the chain now
/// (defence counsel reads a chain's file by appointment, not by role).
fn counsel_now(v: &custody_verify::Verifier, chain: &str, r: &Reader) -> anyhow::Result<bool> {
    let now = crate::clock::now()?;
    Ok(v.validator()
        .chain(chain)
        .is_some_and(|c| c.counsel_appointed(&r.id, &now)))
}

async fn resolve(
    s: &dyn LedgerStore,
    spec: &str,
    chain: &str,
    p: &Projection,
) -> anyhow::Result<String> {
    let id = ChainArg::parse("chain", chain)?
        .resolve("chain", s, spec)
        .await?;
    anyhow::ensure!(
        p.detainee(&id).is_some(),
        "{chain:?}: no detainee chain of that id in this ledger"
    );
    Ok(id)
}

async fn chain_records(s: &dyn LedgerStore, chain: &str) -> anyhow::Result<Vec<Record>> {
    Ok(s.chain(chain)
        .await
        .with_context(|| format!("cannot read chain {chain}"))?
        .into_iter()
        .map(|e| e.record)
        .collect())
}

/// `custody whereabouts C`.
pub async fn run(out: Output, spec: &str, args: &WhereaboutsArgs) -> anyhow::Result<()> {
    let lang = parse_lang(&args.lang)?;
    let at = parse_at(args.at.as_deref())?;
    let (s, v, p) = verified_projection(spec, "no whereabouts are shown").await?;
    let r = reader(&v, &args.as_key, &crate::clock::now()?)?;
    let chain = resolve(s.as_ref(), spec, &args.chain, &p).await?;
    let view = if args.relatives {
        View::RelativesView
    } else {
        View::Whereabouts
    };
    let ctx = AccessContext {
        holds_person: p.detainee(&chain).and_then(|d| d.holder()) == Some(r.agency.as_str()),
        counsel_for_chain: counsel_now(&v, &chain, &r)?,
    };
    let allowed = may_view(view, &r.roles, &ctx);
    log(s.as_ref(), &r, &chain, access_action(view), allowed).await?;
    if !allowed {
        let what = if args.relatives {
            "relatives' view"
        } else {
            "whereabouts"
        };
        let code = custody_core::humancode::code_for_chain(&chain);
        return Err(refusal(&r, &format!("{what} of {code}"), ""));
    }
    let records = chain_records(s.as_ref(), &chain).await?;
    let w = if args.relatives {
        relatives_view(&p, &chain, &records, &at)
    } else {
        whereabouts(&p, &chain, &records, &at)
    }
    .context("the chain has no record")?;
    let text = if out.json {
        format!("{}\n", w.to_json())
    } else {
        w.render(lang, args.relatives)
    };
    print_out(&text)
}

/// `custody timeline C`.
pub async fn run_timeline(out: Output, spec: &str, args: &TimelineArgs) -> anyhow::Result<()> {
    let lang = parse_lang(&args.lang)?;
    let (s, v, p) = verified_projection(spec, "no timeline is shown").await?;
    let r = reader(&v, &args.as_key, &crate::clock::now()?)?;
    let chain = resolve(s.as_ref(), spec, &args.chain, &p).await?;
    let ctx = AccessContext {
        holds_person: p.detainee(&chain).and_then(|d| d.holder()) == Some(r.agency.as_str()),
        counsel_for_chain: counsel_now(&v, &chain, &r)?,
    };
    let (view, allowed, action) = if args.own_file {
        let ok = may_view(View::OwnFile, &r.roles, &ctx);
        (View::OwnFile, ok, access_action(View::OwnFile))
    } else if args.headers_only {
        let ok = may_view(View::Timeline, &r.roles, &ctx) || timeline_headers_only(&r.roles, &ctx);
        (View::Timeline, ok, TIMELINE_HEADERS_ACTION)
    } else {
        let ok = may_view(View::Timeline, &r.roles, &ctx);
        (View::Timeline, ok, access_action(View::Timeline))
    };
    log(s.as_ref(), &r, &chain, action, allowed).await?;
    if !allowed {
        let hint = if view == View::Timeline
            && !args.headers_only
            && timeline_headers_only(&r.roles, &ctx)
        {
            "; a monitor reads timelines from headers only (--headers-only)"
        } else {
            ""
        };
        let what = if args.own_file {
            "own file"
        } else {
            "timeline"
        };
        let code = custody_core::humancode::code_for_chain(&chain);
        return Err(refusal(&r, &format!("{what} of {code}"), hint));
    }
    // Every record shown was verified with the whole ledger just now.
    let records = chain_records(s.as_ref(), &chain).await?;
    let marked = records.iter().map(|r| (r, Mark::Verified));
    let text = if args.own_file {
        let f = own_file(&chain, marked);
        if out.json {
            format!("{}\n", f.to_json())
        } else {
            f.render(lang)
        }
    } else {
        let detail = if args.headers_only || !may_view(View::Timeline, &r.roles, &ctx) {
            Detail::HeadersOnly
        } else {
            Detail::Payloads
        };
        let tl = timeline(&chain, marked, detail);
        if out.json {
            format!("{}\n", tl.to_json())
        } else {
            tl.render(lang)
        }
    };
    print_out(&text)
}
