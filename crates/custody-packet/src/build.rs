//! What goes into a packet, decided once for every writer (`custody packet export`, the test
//! vectors): which records, which payloads are withheld and why, and the proof of each record.

use custody_core::ids::AUTHORITY_CHAIN;
use custody_core::merkle::{inclusion_proof, Digest, ProofError};
use custody_core::{PublicKeyId, Record};

use crate::format::{Withheld, RESTRICTED, SEALED};
use crate::sealed::{seal, SealError};
use crate::tlog::TlogProof;

/// What the sender's store holds of a record's payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Held {
    /// The payload is there.
    Present,
    /// A lawful redaction removed it.
    Redacted,
    /// Neither.
    Missing,
}

/// From the records of a ledger up to the checkpoint, in ledger order with their positions,
/// the packet's records of `chain` (the authority chain and the chain, restricted payloads
/// removed) and the list of withheld payloads.
pub fn select(
    chain: &str,
    events: impl IntoIterator<Item = (u64, Record, Held)>,
) -> (Vec<(u64, Record)>, Vec<Withheld>) {
    let mut records = Vec::new();
    let mut withheld = Vec::new();
    for (position, record, held) in events {
        let h = &record.header;
        if h.chain != AUTHORITY_CHAIN && h.chain != chain {
            continue;
        }
        let is_chain = h.chain == chain;
        let reason = if is_chain && h.kind.is_restricted() {
            Some("restricted")
        } else if is_chain && record.payload.is_none() {
            Some(if held == Held::Redacted {
                "redacted"
            } else {
                "missing"
            })
        } else {
            None
        };
        match reason {
            Some(reason) => {
                withheld.push(Withheld {
                    event: record.hash.to_hex(),
                    kind: h.kind.as_str().to_string(),
                    reason: reason.to_string(),
                    recipients: None,
                });
                records.push((position, record.without_payload()));
            }
            None => records.push((position, record)),
        }
    }
    (records, withheld)
}

/// The tlog-proof of the record at `position` in the tree of the first `size` of `leaves`,
/// against the checkpoint `note` (rebuilt from every leaf: O(n); a writer holding the ledger's
/// tree of stored nodes uses [`proof_with`]).
pub fn proof(
    leaves: &[Digest],
    position: u64,
    size: u64,
    note: &str,
) -> Result<TlogProof, ProofError> {
    proof_with(position, size, note, |index, size| {
        inclusion_proof(leaves, index, size)
    })
}

/// The tlog-proof of the record at `position` in the tree of size `size`, against the
/// checkpoint `note`, with the inclusion proof given by `inclusion(index, size)`: for a writer
/// reading it from the ledger's tree of stored nodes (`custody_tlog::TreeDb::inclusion_proof`,
/// O(log n) reads), equal to [`proof`] over the same leaves.
pub fn proof_with<E>(
    position: u64,
    size: u64,
    note: &str,
    inclusion: impl FnOnce(u64, u64) -> Result<Vec<Digest>, E>,
) -> Result<TlogProof, E> {
    Ok(TlogProof {
        index: position,
        hashes: inclusion(position, size)?,
        checkpoint: note.to_string(),
    })
}

/// Seals every `restricted` payload of `withheld` to `recipients` (none: nothing changes): each
/// entry whose payload `payload_of` gives becomes `sealed` with its recipients, and its
/// `sealed` section body (a binary age file of the payload's canonical bytes) is returned, in
/// the manifest's order.
pub fn seal_restricted<'a>(
    withheld: &mut [Withheld],
    payload_of: impl Fn(&str) -> Option<&'a custody_core::Payload>,
    recipients: &[PublicKeyId],
) -> Result<Vec<Vec<u8>>, SealError> {
    let mut bodies = Vec::new();
    if recipients.is_empty() {
        return Ok(bodies);
    }
    for w in withheld.iter_mut().filter(|w| w.reason == RESTRICTED) {
        let Some(payload) = payload_of(&w.event) else {
            continue;
        };
        bodies.push(seal(&payload.canonical_bytes(), recipients)?);
        w.reason = SEALED.to_string();
        w.recipients = Some(recipients.iter().map(|k| k.to_string()).collect());
    }
    Ok(bodies)
}
