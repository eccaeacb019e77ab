//! A read-only, headers-only view of a JetStream ledger, for a monitor's NATS user.
//!
//! [`JetStreamReader::connect`] creates nothing and never touches the payload bucket: it looks
//! up the ledger stream [`LEDGER_STREAM`] and, if the user may read it, the metadata bucket
//! [`META_BUCKET`], so a user holding only the reader permissions
//! (`deploy/policy/nats-permissions.conf`, `MONITOR_PERMISSIONS`) can open it. Records are
//! served without payload, except the authority records' payloads the caller hands in
//! ([`JetStreamReader::with_authority`]: the public authority chain, e.g. `custody export
//! --chain authority`), which the validator needs to know the keys; every write is refused.

use std::collections::HashMap;
use std::fmt;

use async_nats::jetstream::kv;
use async_nats::jetstream::stream::{LastRawMessageErrorKind, Stream};
use async_trait::async_trait;
use custody_core::chain::ChainHead;
use custody_core::ids::{is_valid_chain_id, AUTHORITY_CHAIN};
use custody_core::{Hash, Payload, Record};
use custody_store::{
    AccessEntry, AppendOutcome, EventStream, ForkAlarm, LedgerStore, PayloadState, StoreError,
    StoredEvent,
};

use crate::errors::store_error;
use crate::read::{read_range, Range};
use crate::{
    chain_subject, connect_client, parse_ledger_message, stream_position, StoreOptions,
    LEDGER_STREAM, META_BUCKET,
};

/// A read-only view of the ledger stream (headers only), with the metadata bucket when
/// readable. Writes fail with [`StoreError::Backend`].
#[derive(Clone)]
pub struct JetStreamReader {
    ledger: Stream,
    meta: Option<kv::Store>,
    authority: HashMap<Hash, Payload>,
}

impl fmt::Debug for JetStreamReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JetStreamReader")
            .field("stream", &LEDGER_STREAM)
            .field("authority_payloads", &self.authority.len())
            .finish_non_exhaustive()
    }
}

fn read_only(what: &str) -> StoreError {
    StoreError::Backend(format!(
        "{what}: this is a read-only, headers-only view of the ledger stream {LEDGER_STREAM}"
    ))
}

impl JetStreamReader {
    /// Connects and looks up the ledger stream (and the metadata bucket, if the user may read
    /// it), creating nothing, with [`StoreOptions::default`]'s time-out. Fails with
    /// [`StoreError::Unavailable`] when the server cannot be reached, and with an error naming
    /// the stream when it does not exist or the user may not read it.
    pub async fn connect(url: &str) -> Result<JetStreamReader, StoreError> {
        let timeout = StoreOptions::default().request_timeout;
        let client = connect_client(url, timeout, "custody-store-nats-reader").await?;
        let mut js = async_nats::jetstream::new(client);
        js.set_timeout(timeout);
        let ledger = js.get_stream(LEDGER_STREAM).await.map_err(|e| {
            store_error(
                &format!("cannot open stream {LEDGER_STREAM} (does it exist, and may this user read it?)"),
                e,
            )
        })?;
        // Optional: a monitor may be given the stream alone (then --trust, --ledger-vkey and
        // --checkpoint come from elsewhere).
        let meta = js.get_key_value(META_BUCKET).await.ok();
        Ok(JetStreamReader {
            ledger,
            meta,
            authority: HashMap::new(),
        })
    }

    /// Serves these authority records' payloads with their headers (records of other chains,
    /// and records without payload, are ignored). The validator checks each payload against
    /// the digest its signed header commits to, so a wrong one is refused, not trusted.
    pub fn with_authority(mut self, records: impl IntoIterator<Item = Record>) -> Self {
        for r in records {
            if r.header.chain == AUTHORITY_CHAIN {
                if let Some(p) = r.payload {
                    self.authority.insert(r.hash, p);
                }
            }
        }
        self
    }

    /// The number of records, checking that the stream has no hole.
    async fn last_seq(&self) -> Result<u64, StoreError> {
        let info = self
            .ledger
            .get_info()
            .await
            .map_err(|e| store_error(&format!("cannot read stream {LEDGER_STREAM}"), e))?;
        let state = &info.state;
        if state.messages != state.last_sequence {
            return Err(StoreError::Corrupt(format!(
                "stream {LEDGER_STREAM} holds {} messages for sequences up to {}: messages were \
                 removed and the ledger has gaps",
                state.messages, state.last_sequence
            )));
        }
        Ok(state.last_sequence)
    }

    /// A stored event from a message: the authority payload when handed in.
    fn event_of(&self, position: u64, mut record: Record) -> StoredEvent {
        let payload = if record.header.chain == AUTHORITY_CHAIN {
            match self.authority.get(&record.hash) {
                Some(p) => {
                    record.payload = Some(p.clone());
                    PayloadState::Present
                }
                None => PayloadState::Missing,
            }
        } else {
            // Not read: a monitor does not see payloads, stored or redacted.
            PayloadState::Redacted
        };
        StoredEvent {
            position,
            record,
            payload,
        }
    }
}

#[async_trait]
impl LedgerStore for JetStreamReader {
    async fn append(&self, _record: &Record) -> Result<AppendOutcome, StoreError> {
        Err(read_only("cannot append"))
    }

    async fn chain(&self, chain: &str) -> Result<Vec<StoredEvent>, StoreError> {
        if !is_valid_chain_id(chain) {
            return Ok(Vec::new());
        }
        let subject = chain_subject(chain);
        let last = self.last_seq().await?;
        let raw = read_range(
            &self.ledger,
            Range {
                stream_name: LEDGER_STREAM,
                filter: Some(&subject),
                first: 1,
                last,
                max: usize::MAX,
            },
        )
        .await?;
        let mut out = Vec::with_capacity(raw.len());
        for (i, m) in raw.into_iter().enumerate() {
            let record = parse_ledger_message(m.seq, &m.subject, &m.payload)?;
            if record.header.seq != i as u64 {
                return Err(StoreError::Corrupt(format!(
                    "message {} of stream {LEDGER_STREAM} is seq {} of chain {chain} at place {i}",
                    m.seq, record.header.seq
                )));
            }
            out.push(self.event_of(stream_position(m.seq)?, record));
        }
        Ok(out)
    }

    async fn read_from(&self, position: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let last = self.last_seq().await?;
        if position >= last {
            return Ok(Vec::new());
        }
        let first = position + 1;
        let end = last.min(position.saturating_add(u64::try_from(limit).unwrap_or(u64::MAX)));
        let expected = end - first + 1;
        let raw = read_range(
            &self.ledger,
            Range {
                stream_name: LEDGER_STREAM,
                filter: None,
                first,
                last: end,
                max: usize::try_from(expected).unwrap_or(usize::MAX),
            },
        )
        .await?;
        if raw.len() as u64 != expected {
            return Err(StoreError::Unavailable(format!(
                "read {} of the {expected} records from position {position}; retry",
                raw.len()
            )));
        }
        raw.into_iter()
            .map(|m| {
                let record = parse_ledger_message(m.seq, &m.subject, &m.payload)?;
                Ok(self.event_of(stream_position(m.seq)?, record))
            })
            .collect()
    }

    async fn subscribe(&self, _position: u64) -> Result<EventStream, StoreError> {
        Err(read_only("cannot follow the ledger"))
    }

    async fn head(&self, chain: &str) -> Result<Option<ChainHead>, StoreError> {
        if !is_valid_chain_id(chain) {
            return Ok(None);
        }
        match self
            .ledger
            .get_last_raw_message_by_subject(&chain_subject(chain))
            .await
        {
            Ok(m) => {
                let record = parse_ledger_message(m.sequence, m.subject.as_str(), &m.payload)?;
                Ok(Some(ChainHead {
                    seq: record.header.seq,
                    hash: record.hash,
                }))
            }
            Err(e) if matches!(e.kind(), LastRawMessageErrorKind::NoMessageFound) => Ok(None),
            Err(e) => Err(store_error("cannot read a chain head", e)),
        }
    }

    async fn size(&self) -> Result<u64, StoreError> {
        self.last_seq().await
    }

    async fn event(&self, _hash: &Hash) -> Result<Option<StoredEvent>, StoreError> {
        Err(read_only(
            "cannot find an event by hash (that needs the payload bucket)",
        ))
    }

    async fn remove_payload(&self, _hash: &Hash) -> Result<(), StoreError> {
        Err(read_only("cannot remove a payload"))
    }

    async fn meta(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let Some(meta) = &self.meta else {
            return Err(StoreError::Backend(format!(
                "this NATS user may not read bucket {META_BUCKET}: pass the trust anchors, the \
                 ledger's verifier key and the checkpoint from elsewhere"
            )));
        };
        let data = meta
            .get(crate::meta_kv_key(key))
            .await
            .map_err(|e| store_error("cannot read a metadata document", e))?;
        data.map(|d| {
            serde_json::from_slice(&d).map_err(|e| {
                StoreError::Corrupt(format!(
                    "metadata document in bucket {META_BUCKET} is not JSON: {e}"
                ))
            })
        })
        .transpose()
    }

    async fn set_meta(&self, _key: &str, _value: &serde_json::Value) -> Result<(), StoreError> {
        Err(read_only("cannot write metadata"))
    }

    async fn log_access(&self, _entry: &AccessEntry) -> Result<(), StoreError> {
        Err(read_only("cannot write the access log"))
    }

    async fn access_log(&self, _from: u64, _limit: usize) -> Result<Vec<AccessEntry>, StoreError> {
        Err(read_only("cannot read the access log"))
    }

    async fn record_fork(&self, _alarm: &ForkAlarm) -> Result<bool, StoreError> {
        Err(read_only("cannot record a fork alarm"))
    }

    async fn forks(&self, _from: u64, _limit: usize) -> Result<Vec<ForkAlarm>, StoreError> {
        Err(read_only("cannot read the fork alarms"))
    }
}
