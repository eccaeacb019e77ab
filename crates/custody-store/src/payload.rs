//! Payloads as the backends store them: one encoding, one decoding, one digest rule, written
//! once for both backends.
//!
//! A backend keeps a payload's RFC 8785 canonical bytes ([`encode_payload`]), the bytes its
//! header's `payload_digest` is over. Reading them back ([`decode_payload`]) trusts nothing:
//! the bytes are parsed with the strict parser (`custody_core::jcs::parse_strict`: valid UTF-8,
//! one value, no duplicate key), must be a payload (exactly `salt` and `body`), and the payload
//! must be the one the header commits to. Whatever fails is a [`PayloadDecodeError`], which
//! the backend reports as [`StoreError::Corrupt`](crate::StoreError::Corrupt) naming the
//! event and where the bytes are (its bucket or table), never as a record served.
//!
//! The digest is that of the decoded payload's canonical bytes: stored bytes that are not
//! canonical but hold the same payload (another member order, whitespace) decode to the
//! payload the header commits to, and are accepted.
//!
//! A payload sent again for an event already stored completes a missing payload only when
//! [`payload_matches`] its stored header: the same rule as on reading.

use custody_core::jcs::{self, JsonError};
use custody_core::record::FormatError;
use custody_core::{Hash, Header, Payload};

/// Why the stored bytes of a payload are not the payload its header commits to.
///
/// Displayed as the end of a sentence about the payload (`"payload of event … in bucket …
/// {error}"`): `is not JSON: …`, `is not a payload: …`, or `does not match the payload_digest
/// of its header …`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadDecodeError {
    /// The bytes are not JSON as the strict parser reads it (not UTF-8, a syntax error, a
    /// duplicate key, too deep, trailing data).
    #[error("is not JSON: {0}")]
    NotJson(#[source] JsonError),
    /// The bytes are JSON but not a payload (exactly `salt` and `body`, a long enough salt, an
    /// object body).
    #[error("is not a payload: {0}")]
    NotPayload(#[source] FormatError),
    /// The bytes are a payload, but not the one the header commits to: its digest is not the
    /// header's `payload_digest` (another event's payload, or an altered one).
    #[error(
        "does not match the payload_digest of its header (the header commits to {expected}, \
         the stored payload digests to {found})"
    )]
    DigestMismatch {
        /// The header's `payload_digest`.
        expected: Hash,
        /// The digest of the payload found.
        found: Hash,
    },
}

/// The bytes a backend stores for a payload: its RFC 8785 canonical bytes (the bytes its digest
/// is over), as text, since canonical JSON is UTF-8.
pub fn encode_payload(payload: &Payload) -> String {
    // Canonical JSON is written from strings and numbers only, so it is valid UTF-8; were it
    // not, the changed bytes would fail the digest check on reading rather than be served.
    String::from_utf8_lossy(&payload.canonical_bytes()).into_owned()
}

/// Decodes the stored bytes of the payload of the record whose header is `header`: strict JSON
/// (`custody_core::jcs::parse_strict`), a payload (`Payload::from_value`), and the one the
/// header's `payload_digest` commits to ([`payload_matches`]).
///
/// # Errors
///
/// [`PayloadDecodeError`] saying which of the three failed; a backend reports it as
/// [`StoreError::Corrupt`](crate::StoreError::Corrupt) naming the event.
pub fn decode_payload(header: &Header, bytes: &[u8]) -> Result<Payload, PayloadDecodeError> {
    let value = jcs::parse_strict(bytes).map_err(PayloadDecodeError::NotJson)?;
    let payload = Payload::from_value(&value).map_err(PayloadDecodeError::NotPayload)?;
    let found = payload.digest();
    if found != header.payload_digest {
        return Err(PayloadDecodeError::DigestMismatch {
            expected: header.payload_digest,
            found,
        });
    }
    Ok(payload)
}

/// Whether `payload` is the one `header` commits to: its digest is the header's
/// `payload_digest`. A backend stores a payload sent again for a stored event (completing a
/// missing payload) only when it matches the stored header.
pub fn payload_matches(header: &Header, payload: &Payload) -> bool {
    payload.digest() == header.payload_digest
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_core::{Draft, EventKind, SecretKey, Timestamp};

    fn record(tag: &str) -> custody_core::Record {
        let at = Timestamp::from_unix_seconds(1_700_000_000);
        Draft {
            ledger: "payload.test".to_string(),
            chain: "authority".to_string(),
            seq: 0,
            prev: None,
            kind: EventKind::EvidenceAdded,
            occurred_at: at.clone(),
            recorded_at: at,
            agency: "ml-test".to_string(),
            body: serde_json::json!({ "note": tag, "text": "née à Gao – ✓" }),
        }
        .sign(&SecretKey::from_seed([7; 32]), &[tag.len() as u8; 16])
    }

    #[test]
    fn encoded_payloads_decode_to_themselves() {
        let r = record("a");
        let payload = r.payload.clone().unwrap();
        let text = encode_payload(&payload);
        assert_eq!(text.as_bytes(), payload.canonical_bytes());
        assert_eq!(
            decode_payload(&r.header, text.as_bytes()),
            Ok(payload.clone())
        );
        assert!(payload_matches(&r.header, &payload));
        // The same payload written otherwise (not canonical) is still that payload.
        let loose = serde_json::to_string_pretty(&payload.to_value()).unwrap();
        assert_eq!(decode_payload(&r.header, loose.as_bytes()), Ok(payload));
    }

    #[test]
    fn each_failure_says_what_is_wrong() {
        let r = record("a");
        let other = record("bb");
        let header = &r.header;
        for bytes in [
            b"{\"body\": not json".as_slice(),
            b"\xff\xfe",
            b"",
            b"{} {}",
        ] {
            match decode_payload(header, bytes) {
                Err(e @ PayloadDecodeError::NotJson(_)) => {
                    assert!(e.to_string().starts_with("is not JSON: "), "{e}")
                }
                other => panic!("{bytes:?}: {other:?}"),
            }
        }
        let duplicate = br#"{"body":{},"body":{},"salt":"AAAAAAAAAAAAAAAAAAAAAA"}"#;
        assert!(matches!(
            decode_payload(header, duplicate),
            Err(PayloadDecodeError::NotJson(JsonError::DuplicateKey { .. }))
        ));
        for bytes in [
            br#"{"body":{}}"#.as_slice(),
            br#"{"body":[],"salt":"AAAAAAAAAAAAAAAAAAAAAA"}"#,
            br#"{"body":{},"salt":"short"}"#,
            b"3",
        ] {
            match decode_payload(header, bytes) {
                Err(e @ PayloadDecodeError::NotPayload(_)) => {
                    assert!(e.to_string().starts_with("is not a payload: "), "{e}")
                }
                other => panic!("{bytes:?}: {other:?}"),
            }
        }
        let theirs = other.payload.clone().unwrap();
        assert!(!payload_matches(header, &theirs));
        match decode_payload(header, encode_payload(&theirs).as_bytes()) {
            Err(e @ PayloadDecodeError::DigestMismatch { expected, found }) => {
                assert_eq!((expected, found), (header.payload_digest, theirs.digest()));
                assert!(
                    e.to_string()
                        .starts_with("does not match the payload_digest of its header"),
                    "{e}"
                );
            }
            other => panic!("another record's payload: {other:?}"),
        }
    }
}
