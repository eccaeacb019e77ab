//! Who may see which payload, and how a stored record is shown to a reader.
//!
//! The permission itself is [`custody_core::roles::may_read_payload`]; this module only gathers
//! its inputs:
//! - *holder*: the agency holding the person, from the chain's custody status in the
//!   validation state. During a custody gap the releasing agency and the named receiving
//!   agency both count as holding, as in rule S3 of `docs/SPEC.md` (the medical file travels
//!   with the person, Mandela Rule 26). A released, deceased or escaped person has no holder.
//! - *author agency*: the record's `header.agency`.
//!
//! Authority records (agencies, facilities, keys) are the public directory every verifier needs
//! to check signatures, so their payloads are shown to every authenticated reader.
//!
//! Every decision about a payload that exists (allowed or refused) yields an
//! [`AccessEntry`] for the append-only access log; the gateway writes the entries before it
//! answers, and answers 503 if it cannot.

use custody_core::chain::Custody;
use custody_core::roles::may_read_payload_on_chain;
use custody_core::validate::Validator;
use custody_core::{PublicKeyId, Timestamp};
use custody_store::{AccessEntry, StoredEvent};
use custody_views::access::AccessContext;
use serde_json::{json, Value};

use crate::auth::Reader;

/// Action recorded in the access log for a payload read.
pub const ACTION_READ_PAYLOAD: &str = "read_payload";

/// A reader's ties to one chain, from the validation state: the agencies that count as holding
/// the person (empty for the authority chain and for closed chains), and whether a
/// `counsel_appointed` naming the reader's key is in force on the chain at the instant of the
/// read (defence counsel reads by appointment, not by role: `docs/SPEC.md`, role `counsel`).
#[derive(Clone, Debug, Default)]
pub(crate) struct ChainAccess {
    /// The holding agencies.
    pub(crate) holders: Vec<String>,
    /// Whether the reader is counsel appointed on the chain now.
    pub(crate) counsel: bool,
}

impl ChainAccess {
    /// The ties of the reader with key `key` to `chain` at `at`.
    pub(crate) fn of(state: &Validator, chain: &str, key: &PublicKeyId, at: &Timestamp) -> Self {
        let Some(c) = state.chain(chain) else {
            return ChainAccess::default();
        };
        let holders = match &c.custody {
            Custody::Held { holder } => vec![holder.clone()],
            Custody::Gap { from, to, .. } => {
                let mut v = vec![from.clone()];
                v.extend(to.iter().cloned());
                v
            }
            _ => Vec::new(),
        };
        ChainAccess {
            holders,
            counsel: c.counsel_appointed(key, at),
        }
    }

    /// Whether `agency` counts as holding the person.
    pub(crate) fn holds(&self, agency: &str) -> bool {
        self.holders.iter().any(|a| a == agency)
    }

    /// The context of the role-by-view matrix (`custody_views::access::may_view`) for a reader
    /// of `agency`.
    pub(crate) fn context(&self, agency: &str) -> AccessContext {
        AccessContext {
            holds_person: self.holds(agency),
            counsel_for_chain: self.counsel,
        }
    }
}

/// Whether `reader` may read the payload of `event`.
pub(crate) fn payload_allowed(reader: &Reader, access: &ChainAccess, event: &StoredEvent) -> bool {
    let h = &event.record.header;
    if h.kind.is_authority() {
        return true;
    }
    may_read_payload_on_chain(
        h.kind,
        &reader.roles,
        access.holds(&reader.agency),
        h.agency == reader.agency,
        access.counsel,
    )
}

/// Shows one stored record to a reader: `{"position", "record", "payload_withheld",
/// "payload_state"}`, with the record's payload removed unless allowed. `payload_state` is what
/// the store holds (`present`, `redacted` or `missing`: [`custody_store::PayloadState`]),
/// whether or not this reader may see it. Pushes the access-log entry of the decision when the
/// record has a payload.
pub(crate) fn present(
    reader: &Reader,
    access: &ChainAccess,
    event: StoredEvent,
    now: &Timestamp,
    log: &mut Vec<AccessEntry>,
) -> Value {
    let has_payload = event.record.payload.is_some();
    let allowed = has_payload && payload_allowed(reader, access, &event);
    if has_payload {
        log.push(AccessEntry {
            at: now.as_str().to_string(),
            reader: reader.key.to_string(),
            agency: reader.agency.clone(),
            target: event.record.hash.to_hex(),
            action: ACTION_READ_PAYLOAD.to_string(),
            allowed,
        });
    }
    let withheld = has_payload && !allowed;
    let record = if withheld {
        event.record.without_payload()
    } else {
        event.record
    };
    json!({
        "position": event.position,
        "record": record.to_value(),
        "payload_withheld": withheld,
        "payload_state": event.payload.as_str(),
    })
}
