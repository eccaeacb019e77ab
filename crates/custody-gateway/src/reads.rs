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
use custody_core::roles::may_read_payload;
use custody_core::validate::Validator;
use custody_core::Timestamp;
use custody_store::{AccessEntry, StoredEvent};
use serde_json::{json, Value};

use crate::auth::Reader;

/// Action recorded in the access log for a payload read.
pub const ACTION_READ_PAYLOAD: &str = "read_payload";

/// The agencies that count as holding the person of a chain (empty for the authority chain and
/// for closed chains).
pub(crate) fn holders(state: &Validator, chain: &str) -> Vec<String> {
    match state.chain(chain).map(|c| &c.custody) {
        Some(Custody::Held { holder }) => vec![holder.clone()],
        Some(Custody::Gap { from, to, .. }) => {
            let mut v = vec![from.clone()];
            v.extend(to.iter().cloned());
            v
        }
        _ => Vec::new(),
    }
}

/// Whether `reader` may read the payload of `event`.
pub(crate) fn payload_allowed(reader: &Reader, holders: &[String], event: &StoredEvent) -> bool {
    let h = &event.record.header;
    if h.kind.is_authority() {
        return true;
    }
    may_read_payload(
        h.kind,
        &reader.roles,
        holders.iter().any(|a| a == &reader.agency),
        h.agency == reader.agency,
    )
}

/// Shows one stored record to a reader: `{"position", "record", "payload_withheld",
/// "payload_state"}`, with the record's payload removed unless allowed. `payload_state` is what
/// the store holds (`present`, `redacted` or `missing`: [`custody_store::PayloadState`]),
/// whether or not this reader may see it. Pushes the access-log entry of the decision when the
/// record has a payload.
pub(crate) fn present(
    reader: &Reader,
    holders: &[String],
    event: StoredEvent,
    now: &Timestamp,
    log: &mut Vec<AccessEntry>,
) -> Value {
    let has_payload = event.record.payload.is_some();
    let allowed = has_payload && payload_allowed(reader, holders, &event);
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
