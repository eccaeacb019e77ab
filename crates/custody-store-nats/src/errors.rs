//! Mapping async-nats errors to [`StoreError`], in one place.
//!
//! async-nats gives each operation its own error kind; what the store needs to know is only
//! whether retrying the same call later is safe and useful ([`StoreError::Unavailable`]: the
//! server did not answer, no responder, the connection broke) or not ([`StoreError::Backend`]).
//! The kinds that say so are often wrapped (`LastRawMessageErrorKind::Other` around a request
//! time-out), so the whole source chain is inspected.

use std::error::Error as StdError;

use async_nats::jetstream::context::{
    CreateKeyValueErrorKind, CreateStreamErrorKind, PublishError, PublishErrorKind, RequestError,
    RequestErrorKind,
};
use async_nats::jetstream::kv::{EntryError, EntryErrorKind, UpdateError, UpdateErrorKind};
use async_nats::jetstream::stream::{ConsumerError, ConsumerErrorKind};
use async_nats::{ConnectError, ConnectErrorKind};
use custody_store::StoreError;

/// JetStream API error codes that mean "try again": 503 (JetStream temporarily unavailable,
/// e.g. during a leader election) and 408 (request time-out inside the server).
const RETRYABLE_STATUS: [usize; 2] = [503, 408];

/// Whether an error (or any error it wraps) says the server could not be reached or did not
/// answer in time, so that the same call may be retried later.
pub(crate) fn is_transient(err: &(dyn StdError + 'static)) -> bool {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if transient_here(e) {
            return true;
        }
        current = e.source();
    }
    false
}

fn transient_here(e: &(dyn StdError + 'static)) -> bool {
    if let Some(e) = e.downcast_ref::<PublishError>() {
        return matches!(
            e.kind(),
            PublishErrorKind::TimedOut
                | PublishErrorKind::BrokenPipe
                | PublishErrorKind::StreamNotFound
        );
    }
    if let Some(e) = e.downcast_ref::<RequestError>() {
        return matches!(
            e.kind(),
            RequestErrorKind::TimedOut | RequestErrorKind::NoResponders
        );
    }
    if let Some(e) = e.downcast_ref::<async_nats::RequestError>() {
        return matches!(
            e.kind(),
            async_nats::RequestErrorKind::TimedOut | async_nats::RequestErrorKind::NoResponders
        );
    }
    if let Some(e) = e.downcast_ref::<ConnectError>() {
        return matches!(
            e.kind(),
            ConnectErrorKind::TimedOut
                | ConnectErrorKind::Io
                | ConnectErrorKind::Dns
                | ConnectErrorKind::MaxReconnects
        );
    }
    if let Some(e) = e.downcast_ref::<EntryError>() {
        return e.kind() == EntryErrorKind::TimedOut;
    }
    if let Some(e) = e.downcast_ref::<UpdateError>() {
        return e.kind() == UpdateErrorKind::TimedOut;
    }
    if let Some(e) = e.downcast_ref::<ConsumerError>() {
        return e.kind() == ConsumerErrorKind::TimedOut;
    }
    if let Some(e) = e.downcast_ref::<async_nats::jetstream::context::CreateStreamError>() {
        return matches!(
            e.kind(),
            CreateStreamErrorKind::TimedOut | CreateStreamErrorKind::JetStreamUnavailable
        );
    }
    if let Some(e) = e.downcast_ref::<async_nats::jetstream::context::CreateKeyValueError>() {
        return e.kind() == CreateKeyValueErrorKind::TimedOut;
    }
    if let Some(e) = e.downcast_ref::<async_nats::jetstream::Error>() {
        return RETRYABLE_STATUS.contains(&e.code());
    }
    if e.downcast_ref::<tokio::time::error::Elapsed>().is_some() {
        return true;
    }
    // Pull batches report broken connections and server status codes as I/O errors.
    e.downcast_ref::<std::io::Error>().is_some()
}

/// `Unavailable` when retrying may help, `Backend` otherwise; `what` says which operation
/// failed. Messages carry stream names, sequences and hashes only.
pub(crate) fn store_error<E>(what: &str, err: E) -> StoreError
where
    E: StdError + 'static,
{
    if is_transient(&err) {
        StoreError::Unavailable(format!("{what}: {err}"))
    } else {
        StoreError::Backend(format!("{what}: {err}"))
    }
}

/// Like [`store_error`] for errors already boxed by async-nats (`async_nats::Error`).
pub(crate) fn boxed_store_error(what: &str, err: &async_nats::Error) -> StoreError {
    let inner: &(dyn StdError + 'static) = err.as_ref();
    if is_transient(inner) {
        StoreError::Unavailable(format!("{what}: {err}"))
    } else {
        StoreError::Backend(format!("{what}: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_and_missing_responders_are_transient() {
        let e = PublishError::from(PublishErrorKind::TimedOut);
        assert!(matches!(
            store_error("publish", e),
            StoreError::Unavailable(_)
        ));
        let e = PublishError::from(PublishErrorKind::StreamNotFound);
        assert!(matches!(
            store_error("publish", e),
            StoreError::Unavailable(_)
        ));
        let e = RequestError::from(RequestErrorKind::NoResponders);
        assert!(matches!(store_error("info", e), StoreError::Unavailable(_)));
    }

    #[test]
    fn other_failures_are_backend_errors() {
        let e = PublishError::from(PublishErrorKind::Other);
        assert!(matches!(store_error("publish", e), StoreError::Backend(_)));
        let e = EntryError::from(EntryErrorKind::InvalidKey);
        assert!(matches!(store_error("get", e), StoreError::Backend(_)));
    }
}
