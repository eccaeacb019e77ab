//! `custody forks`: lists the fork alarms the store keeps.
//!
//! A fork alarm is two different validly signed records at one place (chain, seq) of a chain:
//! the ledger holds one, the alarm log keeps the other whole (docs/OPERATIONS.md, "Fork
//! alarms"). Each is evidence of tampering or of one chain written at two posts, for people
//! to investigate; the command exits 1 when there is any, so that scripts notice.

use custody_store::{ForkAlarm, LedgerStore};
use serde_json::{json, Value};

use crate::cli::ForksArgs;
use crate::exit::refused_reported;
use crate::output::Output;
use crate::store;

/// Alarms read per store call.
const PAGE: usize = 1000;

/// Every fork alarm of a store, in the order recorded.
pub async fn all(s: &dyn LedgerStore) -> anyhow::Result<Vec<ForkAlarm>> {
    let mut out = Vec::new();
    loop {
        let page = s.forks(out.len() as u64, PAGE).await?;
        let n = page.len();
        out.extend(page);
        if n < PAGE {
            return Ok(out);
        }
    }
}

/// One human line of an alarm: where, both hashes, where the other came from.
pub fn describe(f: &ForkAlarm) -> String {
    format!(
        "FORK at chain {} seq {}: the ledger holds {}, another validly signed record {} (signed \
         by {} for {}) came by {} at {}{}",
        f.chain,
        f.seq,
        f.stored,
        f.other.hash,
        f.other.header.signer,
        f.other.header.agency,
        f.source,
        f.seen_at,
        if f.other.payload.is_some() {
            ""
        } else {
            " (without its payload)"
        }
    )
}

/// An alarm as JSON (the other version as on the wire, payload included when kept).
pub fn alarm_json(f: &ForkAlarm) -> Value {
    json!({
        "chain": f.chain,
        "seq": f.seq,
        "stored": f.stored.to_hex(),
        "other_hash": f.other.hash.to_hex(),
        "other": f.other.to_value(),
        "seen_at": f.seen_at.as_str(),
        "source": f.source,
    })
}

/// Lists the alarms; exits 1 when there is any.
pub async fn run(out: Output, spec: &str, _args: &ForksArgs) -> anyhow::Result<()> {
    let s = store::open_store(spec, store::Create::No).await?;
    let forks = all(s.as_ref()).await?;
    out.json(&json!({
        "fork_alarms": forks.iter().map(alarm_json).collect::<Vec<_>>(),
        "count": forks.len(),
    }));
    if forks.is_empty() {
        out.result(format!("{}: no fork alarm", store::display(spec)));
        return Ok(());
    }
    if !out.json {
        for f in &forks {
            println!("{}", describe(f));
        }
        eprintln!(
            "custody: {} fork alarms in {}: both versions of each are kept; investigate (docs/OPERATIONS.md, \"Fork alarms\")",
            forks.len(),
            store::display(spec)
        );
    }
    Err(refused_reported(format!("{} fork alarms", forks.len())))
}
