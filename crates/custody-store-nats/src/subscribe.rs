//! `subscribe`: the ledger from a position, then each new record, exactly once and in order,
//! across server restarts.
//!
//! The subscription is a loop over [`Inner::read_events`] from the next position it has not
//! yielded: it never relies on server-side consumer state, so nothing is lost or repeated when
//! the server restarts or the connection breaks. A read that fails is retried with a capped
//! back-off (the stream stays open and simply waits for the server). When it has caught up it
//! waits for a wake-up: a plain NATS subscription on the ledger subjects (re-established by the
//! client after a reconnect), or a poll every [`POLL`] in case a wake-up was missed.
//!
//! Only [`StoreError::Corrupt`] ends the stream (after yielding the error): retrying cannot fix
//! a gap in the ledger.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_nats::Subscriber;
use custody_store::{EventStream, StoreError, StoredEvent};
use futures::{FutureExt, StreamExt};
use tracing::warn;

use crate::Inner;

/// Records read at once.
const BATCH: usize = 256;
/// Poll interval when no wake-up arrives.
const POLL: Duration = Duration::from_millis(500);
/// Longest pause between two attempts while the server is unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

pub(crate) fn follow(inner: Arc<Inner>, position: u64, wake: Subscriber) -> EventStream {
    let follower = Follower {
        inner,
        next: position,
        buffer: VecDeque::new(),
        wake,
        failures: 0,
        done: false,
    };
    futures::stream::unfold(follower, Follower::step).boxed()
}

struct Follower {
    inner: Arc<Inner>,
    /// The next position to yield.
    next: u64,
    buffer: VecDeque<StoredEvent>,
    wake: Subscriber,
    failures: u32,
    done: bool,
}

impl Follower {
    async fn step(mut self) -> Option<(Result<StoredEvent, StoreError>, Self)> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                return Some((Ok(event), self));
            }
            if self.done {
                return None;
            }
            match self.inner.read_events(self.next, BATCH).await {
                Ok(events) if events.is_empty() => {
                    self.failures = 0;
                    self.wait().await;
                }
                Ok(events) => {
                    self.failures = 0;
                    for event in events {
                        // read_events checks density; this guards the invariant the caller
                        // relies on: each position once, in order.
                        if event.position != self.next {
                            self.done = true;
                            let e = StoreError::Corrupt(format!(
                                "subscription expected position {} but read {}",
                                self.next, event.position
                            ));
                            return Some((Err(e), self));
                        }
                        self.next += 1;
                        self.buffer.push_back(event);
                    }
                }
                Err(e @ StoreError::Corrupt(_)) => {
                    self.done = true;
                    return Some((Err(e), self));
                }
                Err(e) => {
                    self.failures = self.failures.saturating_add(1);
                    let pause = backoff(self.failures);
                    warn!(position = self.next, error = %e, ?pause, "subscription read failed; retrying");
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    /// Waits for a new record to be published (or for the poll interval), then drains the
    /// wake-ups that are already queued so that a burst of appends causes one read.
    async fn wait(&mut self) {
        tokio::select! {
            woke = self.wake.next() => {
                if woke.is_none() {
                    // The wake-up subscription is gone (client closed): poll only.
                    tokio::time::sleep(POLL).await;
                }
            }
            _ = tokio::time::sleep(POLL) => {}
        }
        while let Some(Some(_)) = self.wake.next().now_or_never() {}
    }
}

fn backoff(failures: u32) -> Duration {
    let factor = 1u32 << failures.min(5);
    (Duration::from_millis(100) * factor).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert!(backoff(3) > backoff(2));
        assert_eq!(backoff(30), MAX_BACKOFF);
    }
}
