//! The value kept for each event in [`crate::PAYLOAD_BUCKET`]: where the event is (its chain and
//! chain seq, so that it can be found by hash) and its payload, in one key-value entry, so an
//! append writes one entry beside its ledger message.
//!
//! Encoding: one line of JSON, a line feed, then the payload's canonical bytes (nothing when
//! the event has no payload):
//!
//! ```text
//! {"chain":"d-01j...","seq":3}\n{"body":{...},"salt":"..."}
//! {"chain":"d-01j...","seq":3,"redacted":true}\n
//! ```
//!
//! The payload bytes are kept exactly as written: its digest in the header is over them. A
//! lawful redaction replaces the entry by one with `"redacted":true` and no payload (the bucket
//! keeps one value per key, so the payload is gone), and the entry is never written again: a
//! retried append cannot restore it.

use serde::{Deserialize, Serialize};

/// The location part of an entry (its first line).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Location {
    /// Chain id. Absent only in the entry a redaction writes for an event it could not
    /// locate (its append never wrote an entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) chain: Option<String>,
    /// Chain seq.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) seq: Option<u64>,
    /// Set when a redaction removed the payload.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) redacted: bool,
}

/// An entry of the payload bucket, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EventEntry {
    /// Where the event is.
    pub(crate) location: Location,
    /// The payload's canonical bytes; `None` when the event has none (never had one, or it was
    /// redacted).
    pub(crate) payload: Option<Vec<u8>>,
}

impl EventEntry {
    /// The entry an append writes.
    pub(crate) fn new(chain: &str, seq: u64, payload: Option<Vec<u8>>) -> EventEntry {
        EventEntry {
            location: Location {
                chain: Some(chain.to_string()),
                seq: Some(seq),
                redacted: false,
            },
            payload,
        }
    }

    /// The entry that replaces this one when its payload is redacted.
    pub(crate) fn redacted(location: Option<Location>) -> EventEntry {
        let mut location = location.unwrap_or(Location {
            chain: None,
            seq: None,
            redacted: false,
        });
        location.redacted = true;
        EventEntry {
            location,
            payload: None,
        }
    }

    /// The bytes stored in the bucket.
    pub(crate) fn encode(&self) -> Vec<u8> {
        // Serialising a struct of strings, integers and a bool cannot fail.
        let mut out = serde_json::to_vec(&self.location).unwrap_or_default();
        out.push(b'\n');
        if let Some(p) = &self.payload {
            out.extend_from_slice(p);
        }
        out
    }

    /// Decodes stored bytes; the error says what is wrong.
    pub(crate) fn decode(data: &[u8]) -> Result<EventEntry, String> {
        let Some(newline) = data.iter().position(|b| *b == b'\n') else {
            return Err("has no line feed after its location".to_string());
        };
        let location: Location = serde_json::from_slice(&data[..newline])
            .map_err(|e| format!("has an unreadable location: {e}"))?;
        let rest = &data[newline + 1..];
        if location.redacted && !rest.is_empty() {
            return Err("is marked redacted but still holds a payload".to_string());
        }
        Ok(EventEntry {
            location,
            payload: (!rest.is_empty()).then(|| rest.to_vec()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_byte_for_byte() {
        let payload = br#"{"body":{"a":"x\ny"},"salt":"AA"}"#.to_vec();
        let e = EventEntry::new("authority", 3, Some(payload.clone()));
        let bytes = e.encode();
        assert_eq!(
            bytes,
            [
                br#"{"chain":"authority","seq":3}"#.as_slice(),
                b"\n",
                &payload
            ]
            .concat()
        );
        assert_eq!(EventEntry::decode(&bytes).unwrap(), e);

        let none = EventEntry::new("authority", 0, None);
        assert_eq!(none.encode(), b"{\"chain\":\"authority\",\"seq\":0}\n");
        assert_eq!(EventEntry::decode(&none.encode()).unwrap(), none);
    }

    #[test]
    fn a_redacted_entry_keeps_the_location_and_drops_the_payload() {
        let e = EventEntry::new("authority", 3, Some(b"{}".to_vec()));
        let r = EventEntry::redacted(Some(e.location.clone()));
        assert_eq!(
            r.encode(),
            b"{\"chain\":\"authority\",\"seq\":3,\"redacted\":true}\n"
        );
        let back = EventEntry::decode(&r.encode()).unwrap();
        assert!(back.location.redacted && back.payload.is_none());
        assert_eq!(back.location.seq, Some(3));

        let blind = EventEntry::redacted(None);
        assert_eq!(blind.encode(), b"{\"redacted\":true}\n");
    }

    #[test]
    fn malformed_entries_are_refused_with_a_reason() {
        for (data, why) in [
            (
                b"{\"chain\":\"authority\",\"seq\":1}".as_slice(),
                "line feed",
            ),
            (b"not json\n{}", "location"),
            (b"{\"chain\":\"a\",\"seq\":1,\"extra\":1}\n", "location"),
            (b"{\"redacted\":true}\n{}", "redacted"),
        ] {
            let err = EventEntry::decode(data).unwrap_err();
            assert!(err.contains(why), "{err}");
        }
    }
}
