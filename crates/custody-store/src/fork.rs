//! Fork alarms: two different records at the same place of a chain.
//!
//! A chain holds exactly one record per `seq` in a store ([`crate::LedgerStore::append`] never
//! forks it). When another, validly signed record at an occupied `(chain, seq)` reaches a
//! store (a post synchronising with headquarters, a transfer packet imported), it is evidence
//! of tampering or of one chain written at two posts: the stored record stays where it is, and
//! the other version is kept whole, payload included when it came with one, in an append-only
//! alarm log beside the ledger ([`crate::LedgerStore::record_fork`]). The store does not check
//! the signature (stores never validate): `custody_ledger::Ledger::record_fork` does, before.

use custody_core::{Hash, Record, Timestamp};
use serde_json::{json, Value};

/// Two different records at one `(chain, seq)`: the one the ledger holds and another one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForkAlarm {
    /// The chain.
    pub chain: String,
    /// The place in the chain both records claim.
    pub seq: u64,
    /// Hash of the record the ledger holds at that place.
    pub stored: Hash,
    /// The other version, whole (with its payload when it came with one).
    pub other: Record,
    /// When this store first saw the other version.
    pub seen_at: Timestamp,
    /// Where the other version came from (`sync from post X`, `packet import`, ...): for the
    /// people who investigate, never personal data.
    pub source: String,
}

impl ForkAlarm {
    /// The alarm as one JSON document: `chain`, `seq`, `stored` (hex), `other` (the record as
    /// on the wire), `seen_at`, `source`. The form both backends store.
    pub fn to_json(&self) -> String {
        json!({
            "chain": self.chain,
            "seq": self.seq,
            "stored": self.stored.to_hex(),
            "other": self.other.to_value(),
            "seen_at": self.seen_at.as_str(),
            "source": self.source,
        })
        .to_string()
    }

    /// Reads an alarm written by [`ForkAlarm::to_json`]; the error says what is wrong.
    pub fn from_json(bytes: &[u8]) -> Result<ForkAlarm, String> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let text = |name: &str| {
            v[name]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("member {name:?} is not a string"))
        };
        let seq = v["seq"]
            .as_u64()
            .ok_or_else(|| "member \"seq\" is not a whole number".to_string())?;
        let stored = text("stored")?
            .parse::<Hash>()
            .map_err(|e| format!("member \"stored\": {e}"))?;
        let other =
            Record::from_value(&v["other"]).map_err(|e| format!("member \"other\": {e}"))?;
        let seen_at =
            Timestamp::parse(&text("seen_at")?).map_err(|e| format!("member \"seen_at\": {e}"))?;
        Ok(ForkAlarm {
            chain: text("chain")?,
            seq,
            stored,
            other,
            seen_at,
            source: text("source")?,
        })
    }
}
