//! The HTTP serve loop shared by the custody-ledger gateway and witness: a limit on open
//! connections, time-outs that keep slow or idle clients from holding connections, and a
//! graceful shutdown (see [`Limits`] and [`serve`]).
//!
//! Connections are accepted only while fewer than [`Limits::max_connections`] are open;
//! beyond that new connections wait in the listen queue of the operating system (they are
//! neither accepted nor refused) until one closes, so a flood of connections never exhausts
//! the process's file descriptors. Each connection is watched:
//!
//! - from its start, and from the first byte of each later request, the request head (request
//!   line and headers) must be complete within [`Limits::header_read_timeout`];
//! - the body must then arrive within [`Limits::request_timeout`]: handlers read it with
//!   [`read_body`], which answers [`BodyError::TimedOut`] (408) over it;
//! - between requests, a connection may stay open without a byte for
//!   [`Limits::idle_timeout`].
//!
//! A connection over a time-out is closed without an answer (a head never completed has no
//! request to answer). The work of answering a complete request is never cut.
//!
//! Every request carries the client's address as an extension
//! ([`axum::extract::ConnectInfo`]`<SocketAddr>`), for per-client limits.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap};
use axum::Router;
use futures::StreamExt;
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The largest [`Limits::max_connections`] accepted.
pub const MAX_CONNECTIONS_LIMIT: usize = 1_000_000;

/// The longest time-out accepted: one day.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// The connection limit and time-outs of [`serve`]. The defaults ([`Limits::default`]) are
/// sized for a site gateway or a witness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once (default 512). More wait in the listen queue until one closes.
    /// Keep it well under the process's open-file limit (`LimitNOFILE` of the systemd unit).
    pub max_connections: usize,
    /// Time for a request head (request line and headers) to arrive, counted from the
    /// connection's start or from the first byte of the request (default 10 s). Over it the
    /// connection is closed.
    pub header_read_timeout: Duration,
    /// Time for a request body to arrive once its head has (default 30 s), enforced by
    /// [`read_body`]: over it the answer is 408.
    pub request_timeout: Duration,
    /// Time a connection may stay open between requests without sending a byte (default
    /// 60 s; keep-alive). Over it the connection is closed.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// [`Limits`] that cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitsError {
    /// The connection limit is 0 or absurdly large.
    #[error("max_connections is {given}: it must be from 1 to {MAX_CONNECTIONS_LIMIT}")]
    MaxConnections {
        /// The value given.
        given: usize,
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

impl Limits {
    /// Checks that every limit is usable: at least one connection, time-outs above zero and
    /// at most a day.
    pub fn validate(&self) -> Result<(), LimitsError> {
        if self.max_connections == 0 || self.max_connections > MAX_CONNECTIONS_LIMIT {
            return Err(LimitsError::MaxConnections {
                given: self.max_connections,
            });
        }
        for (name, given) in [
            ("header_read_timeout", self.header_read_timeout),
            ("request_timeout", self.request_timeout),
            ("idle_timeout", self.idle_timeout),
        ] {
            check_timeout(name, given)?;
        }
        Ok(())
    }
}

/// Refuses a time-out of zero or over [`MAX_TIMEOUT`].
pub fn check_timeout(name: &'static str, given: Duration) -> Result<(), LimitsError> {
    if given.is_zero() || given > MAX_TIMEOUT {
        return Err(LimitsError::Timeout { name, given });
    }
    Ok(())
}

/// What the serve loop tells its owner, for metrics. Every method does nothing by default.
pub trait Observer: Send + Sync + 'static {
    /// A connection was accepted.
    fn connection_opened(&self) {}
    /// A connection ended (each opened one ends once, whatever the reason).
    fn connection_ended(&self) {}
    /// A connection was closed by a time-out: `reason` is `header_timeout` or `idle_timeout`.
    fn connection_timed_out(&self, reason: &'static str) {
        let _ = reason;
    }
    /// The accept loop found every connection slot taken.
    fn connection_limit_reached(&self) {}
}

/// An [`Observer`] that counts nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl Observer for NoObserver {}

/// Serves `app` with HTTP/1.1 on `listener` under `limits` (refused with
/// [`io::ErrorKind::InvalidInput`] if [`Limits::validate`] fails) until `shutdown` completes,
/// then stops accepting, lets every open connection finish its request and returns when all
/// are closed.
///
/// # Examples
///
/// ```no_run
/// # async fn example() -> std::io::Result<()> {
/// let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let observer = std::sync::Arc::new(custody_http::NoObserver);
/// custody_http::serve(listener, app, custody_http::Limits::default(), observer, custody_http::shutdown_signal()).await
/// # }
/// ```
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    observer: Arc<dyn Observer>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    limits
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut last_warning: Option<Instant> = None;
    loop {
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                observer.connection_limit_reached();
                let warned_lately = match last_warning {
                    Some(t) => t.elapsed() < Duration::from_secs(10),
                    None => false,
                };
                if !warned_lately {
                    last_warning = Some(Instant::now());
                    tracing::warn!(
                        max_connections = limits.max_connections,
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
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
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
            peer,
            app.clone(),
            limits,
            closing_rx.clone(),
            permit,
            observer.clone(),
        ));
    }
    drop(listener);
    let _ = closing_tx.send(true);
    // Each connection holds a slot until it ends: all slots back means all connections ended.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

/// Completes on Ctrl-C or (on Unix) SIGTERM: the shutdown of a service run by systemd.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Why a request body could not be read by [`read_body`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The body (declared or sent) is over the limit: answer 413.
    #[error("the request body is over the limit of {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body did not arrive within the request time-out: answer 408.
    #[error("the request body did not arrive within {secs} s")]
    TimedOut {
        /// The time-out, in whole seconds (rounded up).
        secs: u64,
    },
    /// The connection failed while the body was read: answer 400.
    #[error("the request body could not be read: {0}")]
    Read(String),
}

/// Reads a request body of at most `limit` bytes, which must arrive within `timeout`
/// ([`Limits::request_timeout`]): a client sending a byte a second holds no connection for
/// long. A `Content-Length` over the limit is refused before a byte is read.
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let read = async {
        let mut stream = body.into_data_stream();
        let mut buf = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| BodyError::Read(e.to_string()))?;
            if buf.len() + chunk.len() > limit {
                return Err(BodyError::TooLarge { limit });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(buf))
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(result) => result,
        Err(_) => Err(BodyError::TimedOut {
            secs: timeout.as_secs_f64().ceil() as u64,
        }),
    }
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

/// Ends a connection for the observer when dropped.
struct Open(Arc<dyn Observer>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.connection_ended();
    }
}

/// Serves one connection with HTTP/1.1, closing it when it is over a time-out.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    mut closing: watch::Receiver<bool>,
    permit: OwnedSemaphorePermit,
    observer: Arc<dyn Observer>,
) {
    let _permit = permit;
    observer.connection_opened();
    let _open = Open(observer.clone());
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let app = TowerToHyperService::new(app);
    let service_activity = activity.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        let busy = service_activity.request_started();
        req.extensions_mut().insert(ConnectInfo(peer));
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
        let deadline = activity.deadline(&limits);
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = sleep_until(deadline) => {
                if let Some(reason) = activity.expired(&limits) {
                    observer.connection_timed_out(reason);
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
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        match *self.lock() {
            Phase::Head { since } => Some(since + limits.header_read_timeout),
            Phase::Idle { since } => Some(since + limits.idle_timeout),
            Phase::Busy { .. } => None,
        }
    }

    /// The time-out the connection is over, if any.
    fn expired(&self, limits: &Limits) -> Option<&'static str> {
        let now = Instant::now();
        match *self.lock() {
            Phase::Head { since } if now >= since + limits.header_read_timeout => {
                Some("header_timeout")
            }
            Phase::Idle { since } if now >= since + limits.idle_timeout => Some("idle_timeout"),
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
    fn limits_are_validated() {
        assert_eq!(Limits::default().validate(), Ok(()));
        let zero = Limits {
            max_connections: 0,
            ..Limits::default()
        };
        assert_eq!(
            zero.validate(),
            Err(LimitsError::MaxConnections { given: 0 })
        );
        let forever = Limits {
            idle_timeout: Duration::from_secs(100_000),
            ..Limits::default()
        };
        let err = forever.validate().expect_err("too long");
        assert!(
            err.to_string().starts_with("idle_timeout is 100000s"),
            "{err}"
        );
        let none = Limits {
            header_read_timeout: Duration::ZERO,
            ..Limits::default()
        };
        assert!(matches!(
            none.validate(),
            Err(LimitsError::Timeout {
                name: "header_read_timeout",
                ..
            })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn phases_follow_reads_and_requests() {
        let limits = Limits {
            header_read_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(5),
            ..Limits::default()
        };
        let a = Arc::new(Activity::new());
        let start = Instant::now();
        assert_eq!(a.deadline(&limits), Some(start + Duration::from_secs(2)));
        tokio::time::advance(Duration::from_secs(1)).await;
        a.bytes_read();
        // Bytes of a head already running do not restart its clock.
        assert_eq!(a.deadline(&limits), Some(start + Duration::from_secs(2)));
        let busy = a.request_started();
        assert_eq!(a.deadline(&limits), None);
        tokio::time::advance(Duration::from_secs(100)).await;
        assert_eq!(a.expired(&limits), None);
        drop(busy);
        let idle_since = Instant::now();
        assert_eq!(
            a.deadline(&limits),
            Some(idle_since + Duration::from_secs(5))
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(a.expired(&limits), None);
        // The first byte after an idle spell starts the next head's clock.
        a.bytes_read();
        assert_eq!(
            a.deadline(&limits),
            Some(idle_since + Duration::from_secs(3))
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(a.expired(&limits), Some("header_timeout"));
    }
}
