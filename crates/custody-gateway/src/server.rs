//! Serving the gateway over TCP: a limit on open connections, and time-outs that keep slow or
//! idle clients from holding connections (see [`ServeConfig`]).
//!
//! Connections are accepted only while fewer than [`ServeConfig::max_connections`] are open;
//! beyond that new connections wait in the listen queue of the operating system (they are
//! neither accepted nor refused) until one closes, so a flood of connections never exhausts
//! the process's file descriptors. Each connection is watched:
//!
//! - from its start, and from the first byte of each later request, the request head (request
//!   line and headers) must be complete within [`ServeConfig::header_read_timeout`];
//! - the body must then arrive within [`ServeConfig::request_timeout`] (408, connection closed);
//! - between requests, a connection may stay open without a byte for
//!   [`ServeConfig::idle_timeout`].
//!
//! A connection over a time-out is closed without an answer (a head never completed has no
//! request to answer). The work of answering a complete request is never cut.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use custody_ledger::Ledger;
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::metrics::Metrics;
use crate::views_api::{follow_views, Views};
use crate::{follow, memory_tree, router_with_metrics, FOLLOW_POLL};

/// The largest [`ServeConfig::max_connections`] accepted.
const MAX_CONNECTIONS_LIMIT: usize = 1_000_000;

/// The longest time-out accepted: one day.
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// The connection limit and time-outs of [`serve_with`]. Every field has a default
/// ([`ServeConfig::default`]) sized for a site gateway; `custody serve` sets them from its
/// flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// Connections open at once (default 512). More wait in the listen queue until one closes.
    /// Keep it well under the process's open-file limit (`LimitNOFILE` of the systemd unit):
    /// the store and the log need descriptors too.
    pub max_connections: usize,
    /// Time for a request head (request line and headers) to arrive, counted from the
    /// connection's start or from the first byte of the request (default 10 s). Over it the
    /// connection is closed.
    pub header_read_timeout: Duration,
    /// Time for a request body to arrive once its head has (default 30 s). Over it the answer
    /// is 408 and the connection is closed.
    pub request_timeout: Duration,
    /// Time a connection may stay open between requests without sending a byte (default
    /// 60 s; keep-alive). Over it the connection is closed.
    pub idle_timeout: Duration,
    /// Most records in one batch append (`POST /v1/events` as `application/x-ndjson`; default
    /// [`crate::BATCH_MAX_RECORDS`]). Over it the answer is 413 and nothing is stored.
    pub batch_max_records: usize,
    /// Most bytes of one batch append's body (default [`crate::BATCH_MAX_BYTES`]). Over it the
    /// answer is 413 and nothing is stored.
    pub batch_max_bytes: usize,
    /// The web desk's session limits and rule sets ([`crate::desk`]).
    pub desk: crate::desk::DeskConfig,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            batch_max_records: crate::BATCH_MAX_RECORDS,
            batch_max_bytes: crate::BATCH_MAX_BYTES,
            desk: crate::desk::DeskConfig::default(),
        }
    }
}

/// A [`ServeConfig`] that cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The connection limit is 0 or absurdly large.
    #[error("max_connections is {given}: it must be from 1 to {MAX_CONNECTIONS_LIMIT}")]
    MaxConnections {
        /// The value given.
        given: usize,
    },
    /// A batch limit is 0 (no batch could be sent) or over the hard cap.
    #[error("{name} is {given}: it must be from 1 to {max}")]
    BatchLimit {
        /// The field.
        name: &'static str,
        /// The value given.
        given: usize,
        /// The largest value allowed.
        max: usize,
    },
    /// A time-out is zero or longer than a day.
    #[error("{name} is {given:?}: it must be more than 0 and at most one day")]
    Timeout {
        /// The field.
        name: &'static str,
        /// The value given.
        given: Duration,
    },
}

impl ServeConfig {
    /// Checks that every limit is usable: at least one connection, time-outs above zero and
    /// at most a day.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_connections == 0 || self.max_connections > MAX_CONNECTIONS_LIMIT {
            return Err(ConfigError::MaxConnections {
                given: self.max_connections,
            });
        }
        for (name, given) in [
            ("header_read_timeout", self.header_read_timeout),
            ("request_timeout", self.request_timeout),
            ("idle_timeout", self.idle_timeout),
            ("desk.session_idle", self.desk.session_idle),
            ("desk.session_max", self.desk.session_max),
        ] {
            if given.is_zero() || given > MAX_TIMEOUT {
                return Err(ConfigError::Timeout { name, given });
            }
        }
        for (name, given, max) in [
            ("batch_max_records", self.batch_max_records, 1_000_000),
            ("batch_max_bytes", self.batch_max_bytes, 1 << 30),
        ] {
            if given == 0 || given > max {
                return Err(ConfigError::BatchLimit { name, given, max });
            }
        }
        Ok(())
    }
}

/// [`crate::serve`] with the connection limit and time-outs of `config` (refused with
/// [`io::ErrorKind::InvalidInput`] if [`ServeConfig::validate`] fails). Serves HTTP/1.1 until
/// `shutdown` completes, then stops accepting, lets every open connection finish its request
/// and returns when all are closed.
///
/// # Examples
///
/// ```no_run
/// # async fn example(ledger: std::sync::Arc<custody_ledger::Ledger>) -> std::io::Result<()> {
/// let config = custody_gateway::ServeConfig {
///     max_connections: 256,
///     ..custody_gateway::ServeConfig::default()
/// };
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// custody_gateway::serve_with(ledger, listener, config, async {
///     let _ = tokio::signal::ctrl_c().await;
/// })
/// .await
/// # }
/// ```
pub async fn serve_with(
    ledger: Arc<Ledger>,
    listener: TcpListener,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with_views(
        ledger,
        Arc::new(Views::in_memory()),
        listener,
        config,
        shutdown,
    )
    .await
}

/// [`serve_with`] over a read model ([`Views`]: in memory, or persisted in a views file),
/// which the server keeps current with the ledger ([`follow_views`]) next to the ledger's own
/// follower.
pub async fn serve_with_views(
    ledger: Arc<Ledger>,
    views: Arc<Views>,
    listener: TcpListener,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_tree(ledger, views, memory_tree(), listener, config, shutdown).await
}

/// [`serve_with_views`] with the ledger's Merkle tree file for the proof endpoints
/// ([`crate::proofs`]), caught up with what the ledger validated before each proof.
pub async fn serve_with_tree(
    ledger: Arc<Ledger>,
    views: Arc<Views>,
    tree: Arc<custody_tlog::TreeDb>,
    listener: TcpListener,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_tree(ledger, views, Some(tree), listener, config, shutdown).await
}

async fn serve_tree(
    ledger: Arc<Ledger>,
    views: Arc<Views>,
    tree: Option<Arc<custody_tlog::TreeDb>>,
    listener: TcpListener,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    config
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let metrics = Arc::new(Metrics::default());
    let app = router_with_metrics(
        ledger.clone(),
        views.clone(),
        tree,
        &config,
        metrics.clone(),
    );
    let views_follower = tokio::spawn(follow_views(views, ledger.clone(), FOLLOW_POLL));
    let follower = tokio::spawn(follow(ledger, FOLLOW_POLL));
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(
            %addr,
            max_connections = config.max_connections,
            header_read_timeout_ms = config.header_read_timeout.as_millis() as u64,
            request_timeout_ms = config.request_timeout.as_millis() as u64,
            idle_timeout_ms = config.idle_timeout.as_millis() as u64,
            "custody gateway listening"
        );
    }
    accept_loop(listener, app, config, metrics, shutdown).await;
    follower.abort();
    views_follower.abort();
    Ok(())
}

/// Accepts connections while under the limit, until `shutdown`; then waits for every
/// connection to end.
async fn accept_loop(
    listener: TcpListener,
    app: Router,
    config: ServeConfig,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut last_warning: Option<Instant> = None;
    loop {
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                metrics.count_connection_limit_reached();
                let warned_lately = match last_warning {
                    Some(t) => t.elapsed() < Duration::from_secs(10),
                    None => false,
                };
                if !warned_lately {
                    last_warning = Some(Instant::now());
                    tracing::warn!(
                        max_connections = config.max_connections,
                        "connection limit reached: new connections wait in the listen queue"
                    );
                }
                tokio::select! {
                    permit = slots.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors, most likely: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed; retrying in 1 s");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        () = &mut shutdown => break,
                    }
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        tokio::spawn(serve_connection(
            stream,
            app.clone(),
            config.clone(),
            closing_rx.clone(),
            permit,
            metrics.clone(),
        ));
    }
    drop(listener);
    let _ = closing_tx.send(true);
    // Each connection holds a slot until it ends: all slots back means all connections ended.
    let all = u32::try_from(config.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}

/// Errors of one incoming connection, not of the listener.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// Serves one connection with HTTP/1.1, closing it when it is over a time-out.
async fn serve_connection(
    stream: TcpStream,
    app: Router,
    config: ServeConfig,
    mut closing: watch::Receiver<bool>,
    permit: OwnedSemaphorePermit,
    metrics: Arc<Metrics>,
) {
    let _permit = permit;
    let _open = metrics.connection_opened();
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let app = TowerToHyperService::new(app);
    let service_activity = activity.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let busy = service_activity.request_started();
        let answer = app.call(req);
        async move {
            let response = answer.await;
            drop(busy);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The time-outs are the watchdog's below, not hyper's (whose head time-out also runs while
    // a keep-alive connection waits for its next request).
    builder.header_read_timeout(None);
    let mut conn = std::pin::pin!(builder.serve_connection(io, service));
    let mut shutting_down = false;
    loop {
        if !shutting_down && *closing.borrow() {
            shutting_down = true;
            conn.as_mut().graceful_shutdown();
        }
        let deadline = activity.deadline(&config);
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = sleep_until(deadline) => {
                if let Some(reason) = activity.expired(&config) {
                    metrics.count_connection_closed(reason);
                    tracing::debug!(reason, "connection closed");
                    return;
                }
            }
            () = activity.changed.notified() => {}
            changed = closing.changed(), if !shutting_down => {
                if changed.is_err() {
                    shutting_down = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Sleeps until `deadline`, or forever.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Where a connection is, for its time-outs.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// A request head is awaited or arriving, since this instant (the connection's start, or
    /// the first byte after an idle spell).
    Head { since: Instant },
    /// Requests are being answered; no time-out runs (the body's is the handler's).
    Busy { requests: usize },
    /// The last answer is done; nothing was received since this instant.
    Idle { since: Instant },
}

/// The phase of one connection, updated by its reads and its requests.
#[derive(Debug)]
struct Activity {
    phase: Mutex<Phase>,
    /// Woken on every change of phase, so that the watchdog recomputes its deadline.
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Activity {
            phase: Mutex::new(Phase::Head {
                since: Instant::now(),
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, phase: Phase) {
        *self.lock() = phase;
        self.changed.notify_one();
    }

    /// Bytes arrived: after an idle spell they begin the next request's head.
    fn bytes_read(&self) {
        let idle = matches!(*self.lock(), Phase::Idle { .. });
        if idle {
            self.set(Phase::Head {
                since: Instant::now(),
            });
        }
    }

    /// A request head is complete and handed to the routes; busy until the guard drops.
    fn request_started(self: &Arc<Self>) -> BusyGuard {
        let requests = match *self.lock() {
            Phase::Busy { requests } => requests + 1,
            _ => 1,
        };
        self.set(Phase::Busy { requests });
        BusyGuard(self.clone())
    }

    fn request_ended(&self) {
        let next = match *self.lock() {
            Phase::Busy { requests } if requests > 1 => Phase::Busy {
                requests: requests - 1,
            },
            _ => Phase::Idle {
                since: Instant::now(),
            },
        };
        self.set(next);
    }

    /// When the current phase's time-out ends (`None` while busy).
    fn deadline(&self, config: &ServeConfig) -> Option<Instant> {
        match *self.lock() {
            Phase::Head { since } => Some(since + config.header_read_timeout),
            Phase::Idle { since } => Some(since + config.idle_timeout),
            Phase::Busy { .. } => None,
        }
    }

    /// The time-out the connection is over, if any.
    fn expired(&self, config: &ServeConfig) -> Option<&'static str> {
        let now = Instant::now();
        match *self.lock() {
            Phase::Head { since } if now >= since + config.header_read_timeout => {
                Some("header_timeout")
            }
            Phase::Idle { since } if now >= since + config.idle_timeout => Some("idle_timeout"),
            _ => None,
        }
    }
}

/// Marks a connection busy while a request is being answered (also if the answer is dropped).
struct BusyGuard(Arc<Activity>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

/// A TCP stream that reports the bytes it reads to its connection's [`Activity`].
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.bytes_read();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_validated() {
        assert_eq!(ServeConfig::default().validate(), Ok(()));
        let zero = ServeConfig {
            max_connections: 0,
            ..ServeConfig::default()
        };
        assert_eq!(
            zero.validate(),
            Err(ConfigError::MaxConnections { given: 0 })
        );
        let forever = ServeConfig {
            idle_timeout: Duration::from_secs(100_000),
            ..ServeConfig::default()
        };
        let err = forever.validate().expect_err("too long");
        assert!(
            err.to_string().starts_with("idle_timeout is 100000s"),
            "{err}"
        );
        let none = ServeConfig {
            header_read_timeout: Duration::ZERO,
            ..ServeConfig::default()
        };
        assert!(matches!(
            none.validate(),
            Err(ConfigError::Timeout {
                name: "header_read_timeout",
                ..
            })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn phases_follow_reads_and_requests() {
        let config = ServeConfig {
            header_read_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(5),
            ..ServeConfig::default()
        };
        let a = Arc::new(Activity::new());
        let start = Instant::now();
        assert_eq!(a.deadline(&config), Some(start + Duration::from_secs(2)));
        tokio::time::advance(Duration::from_secs(1)).await;
        a.bytes_read();
        // Bytes of a head already running do not restart its clock.
        assert_eq!(a.deadline(&config), Some(start + Duration::from_secs(2)));
        let busy = a.request_started();
        assert_eq!(a.deadline(&config), None);
        tokio::time::advance(Duration::from_secs(100)).await;
        assert_eq!(a.expired(&config), None);
        drop(busy);
        let idle_since = Instant::now();
        assert_eq!(
            a.deadline(&config),
            Some(idle_since + Duration::from_secs(5))
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(a.expired(&config), None);
        // The first byte after an idle spell starts the next head's clock.
        a.bytes_read();
        assert_eq!(
            a.deadline(&config),
            Some(idle_since + Duration::from_secs(3))
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(a.expired(&config), Some("header_timeout"));
    }
}
