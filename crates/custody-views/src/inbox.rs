//! A registrar's inbox: the people released to an agency and not yet accepted by it, oldest
//! release first, with the hours since the release, so that nobody waits at a gate unrecorded.
//!
//! Built from the validator's state alone (the custody status of each chain, which follows
//! from headers and their facts), so it works on a replica holding headers only.

use custody_core::chain::Custody;
use custody_core::humancode::code_for_chain;
use custody_core::{Hash, Timestamp, Validator};
use serde_json::{json, Value};

/// One person released to the agency and not yet accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxLine {
    /// Chain id.
    pub chain: String,
    /// Human code of the chain (what the registrar reads and types).
    pub code: String,
    /// The `custody_released` event.
    pub release: Hash,
    /// The releasing agency.
    pub from: String,
    /// When the release happened.
    pub since: Timestamp,
    /// Whole hours from the release to the inbox's instant (0 when the release is later).
    pub hours: i64,
}

impl InboxLine {
    /// The line as JSON (`docs/API.md`, `GET /v1/inbox`).
    pub fn to_json(&self) -> Value {
        json!({
            "chain": self.chain,
            "code": self.code,
            "release_event": self.release.to_hex(),
            "released_by": self.from,
            "released_at": self.since.as_str(),
            "hours_since_release": self.hours,
        })
    }
}

/// The inbox of `agency` as of `as_of`: every chain in a custody gap whose release names
/// `agency` as the receiver, oldest release first (then by code).
///
/// A release whose receiver is not known (its payload withheld and its facts silent) is in no
/// agency's inbox; the census lists it among the custody gaps.
pub fn inbox(v: &Validator, agency: &str, as_of: &Timestamp) -> Vec<InboxLine> {
    let mut lines: Vec<InboxLine> = v
        .chains()
        .filter_map(|(chain, state)| match &state.custody {
            Custody::Gap {
                release,
                from,
                to: Some(to),
                since,
            } if to == agency => Some(InboxLine {
                chain: chain.clone(),
                code: code_for_chain(chain),
                release: *release,
                from: from.clone(),
                since: since.clone(),
                hours: ((as_of.unix_seconds() - since.unix_seconds()) / 3_600).max(0),
            }),
            _ => None,
        })
        .collect();
    lines.sort_by(|a, b| a.since.cmp(&b.since).then_with(|| a.code.cmp(&b.code)));
    lines
}

/// The inbox as text for a registrar, in French (`fr`) or English (anything else).
pub fn inbox_lines(agency: &str, lines: &[InboxLine], lang: &str) -> Vec<String> {
    let fr = lang == "fr";
    let mut out = Vec::with_capacity(lines.len() + 1);
    out.push(match (fr, lines.len()) {
        (true, 0) => format!("{agency} : personne n'attend d'être prise en charge"),
        (true, n) => format!(
            "{agency} : {n} personne{} remise{} et pas encore prise{} en charge (la plus ancienne d'abord)",
            plural(n),
            plural(n),
            plural(n)
        ),
        (false, 0) => format!("{agency}: nobody is waiting to be accepted"),
        (false, n) => format!(
            "{agency}: {n} {} released to you and not yet accepted (oldest first)",
            if n == 1 { "person" } else { "people" }
        ),
    });
    for l in lines {
        out.push(if fr {
            format!(
                "  {}  remis par {} le {}, il y a {} h",
                l.code, l.from, l.since, l.hours
            )
        } else {
            format!(
                "  {}  released by {} at {}, {} h ago",
                l.code, l.from, l.since, l.hours
            )
        });
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n > 1 {
        "s"
    } else {
        ""
    }
}
