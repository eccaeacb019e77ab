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
//! request to answer). The work of answering a complete request is never cut. The loop itself
//! is `custody-http`'s, shared with the witness.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use custody_ledger::Ledger;
use tokio::net::TcpListener;

use crate::metrics::Metrics;
use crate::ratelimit::RateLimit;
use crate::views_api::{follow_views, Views};
use crate::{follow, memory_tree, router_with_metrics, FOLLOW_POLL};

use custody_http::MAX_CONNECTIONS_LIMIT;

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
    /// Requests allowed per signing key and per client address ([`crate::ratelimit`]);
    /// `None` (the default) for no limit.
    pub rate_limit: Option<RateLimit>,
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
            rate_limit: None,
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
    /// The rate limit allows nothing, or its numbers are out of range.
    #[error("rate_limit: {0}")]
    RateLimit(crate::ratelimit::RateLimitError),
}

impl From<custody_http::LimitsError> for ConfigError {
    fn from(e: custody_http::LimitsError) -> Self {
        match e {
            custody_http::LimitsError::MaxConnections { given } => {
                ConfigError::MaxConnections { given }
            }
            custody_http::LimitsError::Timeout { name, given } => {
                ConfigError::Timeout { name, given }
            }
        }
    }
}

impl ServeConfig {
    /// The connection limit and time-outs of the serve loop (`custody-http`).
    pub fn limits(&self) -> custody_http::Limits {
        custody_http::Limits {
            max_connections: self.max_connections,
            header_read_timeout: self.header_read_timeout,
            request_timeout: self.request_timeout,
            idle_timeout: self.idle_timeout,
        }
    }

    /// Checks that every limit is usable: at least one connection, time-outs above zero and
    /// at most a day.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.limits().validate().map_err(ConfigError::from)?;
        for (name, given) in [
            ("desk.session_idle", self.desk.session_idle),
            ("desk.session_max", self.desk.session_max),
        ] {
            custody_http::check_timeout(name, given).map_err(ConfigError::from)?;
        }
        if let Some(rate) = &self.rate_limit {
            rate.validate().map_err(ConfigError::RateLimit)?;
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
    let observer: Arc<dyn custody_http::Observer> = metrics;
    let served = custody_http::serve(listener, app, config.limits(), observer, shutdown).await;
    follower.abort();
    views_follower.abort();
    served
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
}
