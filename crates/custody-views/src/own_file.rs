//! The person's own file (Nelson Mandela Rule 8; the prisoner may see it, Rule 8 and DOMAIN):
//! every record of the chain with its payload, as the detainee or appointed counsel may see
//! it, except the notes addressed to medical staff (`medical_screening`, `risk_assessment`),
//! whose entries say only that they exist; complaints, disciplinary sanctions and injuries
//! (the Rule 8 kinds) are listed apart as well as in order.

use custody_core::Record;
use serde_json::{json, Value};

use crate::i18n::{t, Lang, MessageId};
use crate::timeline::{timeline, Detail, Entry, Mark, Timeline};

/// The wire names of the Mandela Rule 8 kinds (complaints and their answers, disciplinary
/// sanctions, injuries).
pub const RULE8_KINDS: &[&str] = &[
    "complaint_lodged",
    "complaint_answered",
    "disciplinary_sanction",
    "injury_recorded",
];

/// A person's own file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnFile {
    /// Every record, medical payloads withheld.
    pub timeline: Timeline,
}

/// The own file of `chain` from its records (with payloads where the store holds them) and
/// the marks the caller computed.
pub fn own_file<'a>(chain: &str, records: impl IntoIterator<Item = (&'a Record, Mark)>) -> OwnFile {
    OwnFile {
        timeline: timeline(chain, records, Detail::Payloads),
    }
}

impl OwnFile {
    /// The Mandela Rule 8 entries (complaints, sanctions, injuries), in order.
    pub fn rule8(&self) -> impl Iterator<Item = &Entry> {
        self.timeline
            .entries
            .iter()
            .filter(|e| RULE8_KINDS.contains(&e.kind.as_str()))
    }

    /// The machine form.
    pub fn to_json(&self) -> Value {
        let mut v = self.timeline.to_json();
        v["rule8"] = json!(self.rule8().map(|e| e.seq).collect::<Vec<_>>());
        v
    }

    /// The file as text, in a language.
    pub fn render(&self, lang: Lang) -> String {
        self.timeline.render_titled(lang, MessageId::OwnFileTitle)
    }

    /// The heading of the file.
    pub fn title(lang: Lang) -> &'static str {
        t(lang, MessageId::OwnFileTitle)
    }
}
