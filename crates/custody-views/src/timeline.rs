//! A detainee's timeline: the events of the chain in order, labelled in French or English,
//! each with its verification mark (hash, signature, link to the previous record), which the
//! caller computed with `custody_core` (the command line and the gateway verify the whole
//! ledger before they show any of it).
//!
//! Two forms: headers only ([`Detail::HeadersOnly`], what a monitor reads: kind, instants,
//! agency, public facts, mark) and with payloads ([`Detail::Payloads`]). Medical payloads
//! (`medical_screening`, `risk_assessment`) never appear in a timeline: their entry says only
//! that the examination took place.

use std::fmt::Write as _;

use custody_core::{Record, Timestamp};
use serde_json::{json, Value};

use crate::calendar::Date;
use crate::i18n::{fmt_datetime, kind_label, t, Lang, MessageId};

/// How a record verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Its hash, signature and link to the previous record of its chain verified.
    Verified,
    /// It did not verify: the rule that failed.
    Failed(String),
}

/// How much of each record a timeline shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Headers only: kind, instants, agency, public facts.
    HeadersOnly,
    /// Headers and payloads, medical payloads excepted.
    Payloads,
}

/// What a timeline shows of a record's payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shown {
    /// Not shown: a headers-only timeline.
    NotShown,
    /// The body.
    Body(Value),
    /// A medical payload, for medical staff only.
    MedicalWithheld,
    /// The store holds no payload (lawfully redacted, or not held by this copy).
    Absent,
}

/// One event of a timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Sequence number in the chain.
    pub seq: u64,
    /// The wire name of the kind.
    pub kind: String,
    /// When it happened.
    pub occurred_at: Timestamp,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// The agency that recorded it.
    pub agency: String,
    /// The record's hash (hex).
    pub hash: String,
    /// Its public facts (header).
    pub facts: Value,
    /// Its verification mark.
    pub mark: Mark,
    /// What is shown of its payload.
    pub payload: Shown,
}

/// A detainee's timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeline {
    /// The chain id.
    pub chain: String,
    /// Its human code.
    pub code: String,
    /// The form.
    pub detail: Detail,
    /// Its events, in chain order.
    pub entries: Vec<Entry>,
}

/// The timeline of `chain` from its records (any order; other chains' records are ignored),
/// each with the mark the caller computed.
pub fn timeline<'a>(
    chain: &str,
    records: impl IntoIterator<Item = (&'a Record, Mark)>,
    detail: Detail,
) -> Timeline {
    let mut entries: Vec<Entry> = records
        .into_iter()
        .filter(|(r, _)| r.header.chain == chain)
        .map(|(r, mark)| {
            let h = &r.header;
            let payload = match (detail, &r.payload) {
                (Detail::HeadersOnly, _) => Shown::NotShown,
                _ if h.kind.is_restricted() => Shown::MedicalWithheld,
                (Detail::Payloads, Some(p)) => Shown::Body(p.body.clone()),
                (Detail::Payloads, None) => Shown::Absent,
            };
            Entry {
                seq: h.seq,
                kind: h.kind.as_str().to_string(),
                occurred_at: h.occurred_at.clone(),
                recorded_at: h.recorded_at.clone(),
                agency: h.agency.clone(),
                hash: r.hash.to_hex(),
                facts: h.facts.to_value(),
                mark,
                payload,
            }
        })
        .collect();
    entries.sort_by_key(|e| e.seq);
    Timeline {
        chain: chain.to_string(),
        code: custody_core::humancode::code_for_chain(chain),
        detail,
        entries,
    }
}

impl Timeline {
    /// Whether every record verified.
    pub fn all_verified(&self) -> bool {
        self.entries.iter().all(|e| e.mark == Mark::Verified)
    }

    /// The machine form.
    pub fn to_json(&self) -> Value {
        json!({
            "chain": self.chain,
            "code": self.code,
            "detail": match self.detail { Detail::HeadersOnly => "headers_only", Detail::Payloads => "payloads" },
            "events": self.entries.iter().map(|e| {
                let mut v = json!({
                    "seq": e.seq,
                    "kind": e.kind,
                    "occurred_at": e.occurred_at.as_str(),
                    "recorded_at": e.recorded_at.as_str(),
                    "agency": e.agency,
                    "hash": e.hash,
                    "facts": e.facts,
                    "verified": e.mark == Mark::Verified,
                });
                if let Mark::Failed(rule) = &e.mark {
                    v["failure"] = json!(rule);
                }
                match &e.payload {
                    Shown::NotShown => {}
                    Shown::Body(b) => v["payload"] = b.clone(),
                    Shown::MedicalWithheld => v["payload_withheld"] = json!("medical"),
                    Shown::Absent => v["payload_withheld"] = json!("absent"),
                }
                v
            }).collect::<Vec<_>>(),
        })
    }

    /// The timeline as text, in a language (`title`: the heading, e.g.
    /// [`MessageId::TimelineTitle`]).
    pub fn render_titled(&self, lang: Lang, title: MessageId) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{} — {}", t(lang, title), self.code);
        for e in &self.entries {
            let mark = match &e.mark {
                Mark::Verified => format!("✓ {}", t(lang, MessageId::Verified)),
                Mark::Failed(rule) => format!("✗ {} ({rule})", t(lang, MessageId::NotVerified)),
            };
            let recorded = if Date::of(&e.recorded_at) != Date::of(&e.occurred_at)
                || e.recorded_at.unix_seconds() - e.occurred_at.unix_seconds() >= 3600
            {
                format!(
                    " ({} {})",
                    t(lang, MessageId::Recorded).to_lowercase(),
                    fmt_datetime(lang, &e.recorded_at)
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "{:>3}  {}{recorded}  {} — {}  [{mark}]",
                e.seq,
                fmt_datetime(lang, &e.occurred_at),
                kind_label(lang, &e.kind),
                e.agency,
            );
            match &e.payload {
                Shown::NotShown | Shown::Absent => {}
                Shown::MedicalWithheld => {
                    let _ = writeln!(out, "       {}", t(lang, MessageId::MedicalNoteWithheld));
                }
                Shown::Body(b) => {
                    if let Some(obj) = b.as_object() {
                        for (k, v) in obj {
                            let text = match v {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            let _ = writeln!(out, "       {k}: {text}");
                        }
                    }
                }
            }
        }
        out
    }

    /// The timeline as text under its usual heading.
    pub fn render(&self, lang: Lang) -> String {
        self.render_titled(lang, MessageId::TimelineTitle)
    }
}
