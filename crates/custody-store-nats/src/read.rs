//! Reading ranges of a stream with a short-lived pull consumer.
//!
//! One helper serves the ledger (`read_from`, `subscribe`, index rebuild), a chain (filtered
//! by its subject) and the access log. The consumer is ephemeral, acknowledges nothing, starts
//! at a stream sequence and is deleted after the read (the server also removes it after
//! [`INACTIVE_THRESHOLD`] if the delete is lost).

use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
use async_nats::jetstream::stream::Stream;
use bytes::Bytes;
use custody_store::StoreError;
use futures::StreamExt;
use tracing::debug;

use crate::errors::{boxed_store_error, store_error};

/// Messages asked for in one pull request.
const BATCH: usize = 256;
/// How long the server holds a pull request that cannot be filled. Reads stop as soon as they
/// reach the last sequence they expect, so this only bounds reads of missing messages.
const BATCH_EXPIRES: Duration = Duration::from_secs(1);
/// The server deletes a forgotten read consumer after this much inactivity.
const INACTIVE_THRESHOLD: Duration = Duration::from_secs(30);

/// One message read from a stream.
#[derive(Debug)]
pub(crate) struct RawMessage {
    /// Stream sequence (1-based).
    pub seq: u64,
    /// Subject it was published on.
    pub subject: String,
    /// Its data.
    pub payload: Bytes,
}

/// What to read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Range<'a> {
    /// Stream name, for messages.
    pub stream_name: &'a str,
    /// Only messages on this subject (a chain), or every message.
    pub filter: Option<&'a str>,
    /// First stream sequence.
    pub first: u64,
    /// Last stream sequence wanted (inclusive).
    pub last: u64,
    /// At most this many messages.
    pub max: usize,
}

/// Reads the messages of `range`, in stream order.
///
/// Without a filter the sequences must be dense (the ledger and the access log never lose a
/// message): a gap is reported as [`StoreError::Corrupt`]. The result may be shorter than
/// asked when the stream holds fewer messages; callers that know how many to expect check.
pub(crate) async fn read_range(
    stream: &Stream,
    range: Range<'_>,
) -> Result<Vec<RawMessage>, StoreError> {
    if range.max == 0 || range.first == 0 || range.first > range.last {
        return Ok(Vec::new());
    }
    let consumer = stream
        .create_consumer(pull::Config {
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: range.first,
            },
            ack_policy: AckPolicy::None,
            filter_subject: range.filter.unwrap_or_default().to_string(),
            inactive_threshold: INACTIVE_THRESHOLD,
            memory_storage: true,
            ..Default::default()
        })
        .await
        .map_err(|e| {
            store_error(
                &format!(
                    "cannot create a read consumer on stream {}",
                    range.stream_name
                ),
                e,
            )
        })?;
    let result = drain(&consumer, range).await;
    let name = consumer.cached_info().name.clone();
    if let Err(e) = stream.delete_consumer(&name).await {
        // The server removes it after INACTIVE_THRESHOLD anyway.
        debug!(stream = range.stream_name, error = %e, "could not delete a read consumer");
    }
    result
}

async fn drain(
    consumer: &async_nats::jetstream::consumer::PullConsumer,
    range: Range<'_>,
) -> Result<Vec<RawMessage>, StoreError> {
    let dense = range.filter.is_none();
    let what = || format!("cannot read stream {}", range.stream_name);
    let mut out: Vec<RawMessage> = Vec::new();
    let mut next = range.first;
    loop {
        let mut want = (range.max - out.len()).min(BATCH);
        if dense {
            let left = usize::try_from(range.last - next + 1).unwrap_or(usize::MAX);
            want = want.min(left);
        }
        let mut batch = consumer
            .batch()
            .max_messages(want)
            .expires(BATCH_EXPIRES)
            .messages()
            .await
            .map_err(|e| store_error(&what(), e))?;
        let mut got = 0usize;
        while let Some(message) = batch.next().await {
            let message = message.map_err(|e| boxed_store_error(&what(), &e))?;
            let seq = message
                .info()
                .map_err(|e| boxed_store_error(&what(), &e))?
                .stream_sequence;
            if seq > range.last {
                return Ok(out);
            }
            if seq < next || (dense && seq != next) {
                return Err(StoreError::Corrupt(format!(
                    "stream {} delivered sequence {seq} where {next} was expected: the stream \
                     has a gap or was rewritten",
                    range.stream_name
                )));
            }
            next = seq + 1;
            got += 1;
            out.push(RawMessage {
                seq,
                subject: message.message.subject.to_string(),
                payload: message.message.payload.clone(),
            });
            if seq == range.last || out.len() >= range.max {
                return Ok(out);
            }
        }
        if got == 0 {
            return Ok(out);
        }
    }
}

/// Up to `limit` messages of a whole-stream log (the access log, the fork alarm log) from the
/// 0-based entry index `from`, all of them or an error: `what` names the entries in the error
/// (`access entries`, `fork alarms`).
pub(crate) async fn read_log(
    stream: &Stream,
    stream_name: &str,
    what: &str,
    from: u64,
    limit: usize,
) -> Result<Vec<RawMessage>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let info = stream
        .get_info()
        .await
        .map_err(|e| crate::errors::store_error(&format!("cannot read stream {stream_name}"), e))?;
    let last = info.state.last_sequence;
    if from >= last {
        return Ok(Vec::new());
    }
    let first = from + 1;
    let end = last.min(from.saturating_add(u64::try_from(limit).unwrap_or(u64::MAX)));
    let raw = read_range(
        stream,
        Range {
            stream_name,
            filter: None,
            first,
            last: end,
            max: limit,
        },
    )
    .await?;
    if raw.len() as u64 != end - first + 1 {
        return Err(StoreError::Unavailable(format!(
            "read {} of the {} {what} from {from}; retry",
            raw.len(),
            end - first + 1
        )));
    }
    Ok(raw)
}
