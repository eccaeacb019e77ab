//! The HTTP gateway of custody-ledger: agencies append signed records, readers fetch chains.
//!
//! The gateway is a thin edge over [`custody_ledger::Ledger`]: every append goes through
//! [`Ledger::append`], which runs the one validator of `custody-core`; the gateway adds no rule
//! of its own except the body size limit and the media type. Errors stay typed until the edge, where
//! [`GatewayError`] maps each kind to one HTTP status, in one place.
//!
//! # Routes
//!
//! | route | auth | answer |
//! |---|---|---|
//! | `POST /v1/events` | none (the record is signed) | 201 `{"position", "hash"}`, 200 with `"duplicate": true` for a retry, 400 malformed JSON, 413 over [`MAX_BODY_BYTES`], 415 not declared `application/json`, 408 body too slow, 422 refused by a rule, 409 stale `seq`/`prev` (with the current `"head"`), 503 store unavailable (`Retry-After`) |
//! | `GET /v1/chains/{chain}` | signed | `{"chain", "code", "records": [{"position", "record", "payload_withheld", "payload_state"}]}` |
//! | `GET /v1/chains/{chain}/head` | signed | `{"chain", "head": {"seq", "hash"}, "custody"}` |
//! | `GET /v1/events/{hash}` | signed | `{"position", "record", "payload_withheld", "payload_state"}` |
//! | `GET /v1/proof/inclusion?hash=H&size=N` | none (hashes only) | `{"hash", "index", "tree_size", "hashes"}` ([`proofs`]) |
//! | `GET /v1/proof/consistency?old=M&new=N` | none (hashes only) | `{"old_size", "new_size", "hashes"}` ([`proofs`]) |
//! | `GET /healthz` | none | 200 when the store answers, 503 otherwise |
//! | `GET /metrics` | none | Prometheus text: counters, no personal data |
//!
//! Every error body is `{"error": {"rule": "<code>", "message": "<text>"}}`, 404 and 405 (with
//! `Allow`) included; `rule` is the validation rule code of `docs/SPEC.md` for refused records.
//! A message quotes at most [`MAX_ECHO_CHARS`] characters of any one input value and is at most
//! [`MAX_MESSAGE_CHARS`] long.
//!
//! # Connections
//!
//! [`serve`] and [`serve_with`] limit the open connections and cut slow and idle clients (see
//! [`ServeConfig`]): a client sending a byte a second, or many half-sent requests, cannot
//! starve the others or exhaust the process's file descriptors.
//!
//! # Reads
//!
//! Reads are authenticated by a request signature, checked by [`auth::verify_request`]:
//! headers `Custody-Key`, `Custody-Date` and `Custody-Signature`, an Ed25519 signature over
//!
//! ```text
//! "custody-ledger/request/v1\n" + METHOD + "\n" + path-and-query + "\n" + Custody-Date + "\n"
//!     + lowercase hex SHA-256 of the body
//! ```
//!
//! by a key enrolled and valid now (or a trust root), dated within 300 s of the server clock.
//! Headers are shown to every such reader; payloads only where
//! [`custody_core::roles::may_read_payload`] allows (see [`reads`]); a withheld payload is
//! removed from the record and flagged `"payload_withheld": true`, so the record's hash and
//! signature still verify. `"payload_state"` says what the store holds of the payload,
//! whatever the reader may see: `present`, `redacted` (a lawful redaction removed it) or
//! `missing` (neither: lost data, counted in `/metrics` as `custody_ledger_payloads_missing`,
//! completed by sending the record again). Every payload decision, allowed or refused, is written to the
//! store's append-only access log before the answer is sent; if the log cannot be written the
//! read fails with 503 and no payload leaves the gateway.
//!
//! # Staying current
//!
//! [`Ledger::open`] rebuilds the validation state from the store; [`serve`] then runs a
//! follower that listens to [`custody_store::LedgerStore::subscribe`] and polls every
//! [`FOLLOW_POLL`], calling [`Ledger::catch_up`], so that records appended by other processes
//! (the `custody` command, another gateway) are known to the validator and to reads.
//!
//! # Logs
//!
//! Tracing events carry route templates, status codes, chain ids, hashes, positions and rule
//! codes only: never a payload, a refusal message (which may quote a body) or a name.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod auth;
pub mod desk;
mod error;
mod metrics;
pub mod proofs;
pub mod ratelimit;
pub mod reads;
mod server;
pub mod views_api;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, OriginalUri, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use custody_core::chain::Custody;
use custody_core::humancode::code_for_chain;
use custody_core::ids::{is_valid_chain_id, AUTHORITY_CHAIN};
use custody_core::{Hash, Record, Timestamp};
use custody_ledger::{ForkError, ForkOutcome, Ledger, OpenError};
use custody_store::AppendOutcome;
use futures::StreamExt;
use serde_json::{json, Value};

pub use error::{GatewayError, MAX_ECHO_CHARS, MAX_MESSAGE_CHARS, RETRY_AFTER_SECS};
pub use ratelimit::{RateLimit, RateLimitError};
pub use server::{serve_with, serve_with_tree, serve_with_views, ConfigError, ServeConfig};
pub use views_api::{follow_views, ViewPolicy, ViewPolicyError, Views};

use crate::auth::Reader;
use crate::metrics::{LedgerGauges, Metrics};

/// Largest request body accepted, in bytes (413 over it). A record's canonical payload is at
/// most 64 KiB; the rest leaves room for the header, escaping and whitespace.
pub const MAX_BODY_BYTES: usize = 128 * 1024;

/// Default most records in one batch append ([`ServeConfig::batch_max_records`]).
pub const BATCH_MAX_RECORDS: usize = 1000;

/// Default most bytes of one batch append's body ([`ServeConfig::batch_max_bytes`]).
pub const BATCH_MAX_BYTES: usize = 8 * 1024 * 1024;

/// Chains of one batch whose records are appended at the same time (each chain's records in
/// order, one after the other).
const BATCH_CHAINS_AT_ONCE: usize = 16;

/// The media types of a batch append: one record per line (`application/x-ndjson`, also
/// accepted as `application/jsonl`). The answer has the first.
pub const BATCH_MEDIA_TYPES: [&str; 2] = ["application/x-ndjson", "application/jsonl"];

/// How often the follower asks the store whether other processes appended. Each poll is one
/// size query; records are read only when the store holds records this process has not applied.
pub const FOLLOW_POLL: Duration = Duration::from_millis(250);

/// How long `/healthz` waits for the store before answering 503.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone)]
struct AppState {
    ledger: Arc<Ledger>,
    metrics: Arc<Metrics>,
    /// The live read model (`views_api`).
    views: Arc<Views>,
    /// How long a request's body may take to arrive ([`ServeConfig::request_timeout`]).
    request_timeout: Duration,
    /// Most records of one batch append.
    batch_max_records: usize,
    /// Most bytes of one batch append.
    batch_max_bytes: usize,
    /// The web desk's sessions and settings ([`desk`]).
    desk: Arc<desk::Desk>,
    /// The ledger's Merkle tree, for the proof endpoints ([`proofs`]); `None` only when not even
    /// one in memory could be made (the endpoints answer 503).
    tree: Option<Arc<custody_tlog::TreeDb>>,
}

/// The gateway's routes over a ledger (see the crate documentation), with the default
/// [`ServeConfig::request_timeout`]. The caller serves it; [`serve`] does so and also keeps
/// the validation state current.
pub fn router(ledger: Arc<Ledger>) -> Router {
    router_with(ledger, &ServeConfig::default())
}

/// [`router`] with the request time-out of `config` (the connection limits and the other
/// time-outs are the server's: see [`serve_with`]).
pub fn router_with(ledger: Arc<Ledger>, config: &ServeConfig) -> Router {
    router_with_views(ledger, Arc::new(Views::in_memory()), config)
}

/// [`router_with`] over a read model the caller keeps current ([`follow_views`]), with a
/// Merkle tree in memory for the proof endpoints (built from the ledger on the first proof).
pub fn router_with_views(ledger: Arc<Ledger>, views: Arc<Views>, config: &ServeConfig) -> Router {
    router_with_metrics(
        ledger,
        views,
        memory_tree(),
        config,
        Arc::new(Metrics::default()),
    )
}

/// [`router_with_views`] with the ledger's tree file for the proof endpoints ([`proofs`]),
/// caught up by the routes themselves.
pub fn router_with_tree(
    ledger: Arc<Ledger>,
    views: Arc<Views>,
    tree: Arc<custody_tlog::TreeDb>,
    config: &ServeConfig,
) -> Router {
    router_with_metrics(
        ledger,
        views,
        Some(tree),
        config,
        Arc::new(Metrics::default()),
    )
}

/// A tree kept in memory, for a gateway given no tree file.
fn memory_tree() -> Option<Arc<custody_tlog::TreeDb>> {
    match custody_tlog::TreeDb::in_memory() {
        Ok(tree) => Some(Arc::new(tree)),
        Err(e) => {
            tracing::error!(error = %e, "no Merkle tree in memory: the proof endpoints answer 503");
            None
        }
    }
}

fn router_with_metrics(
    ledger: Arc<Ledger>,
    views: Arc<Views>,
    tree: Option<Arc<custody_tlog::TreeDb>>,
    config: &ServeConfig,
    metrics: Arc<Metrics>,
) -> Router {
    let rate = ratelimit::RateState {
        limiter: config
            .rate_limit
            .map(|limit| Arc::new(ratelimit::Limiter::new(limit))),
        metrics: metrics.clone(),
    };
    let state = AppState {
        ledger,
        metrics,
        views,
        request_timeout: config.request_timeout,
        batch_max_records: config.batch_max_records,
        batch_max_bytes: config.batch_max_bytes,
        desk: Arc::new(desk::Desk::new(config.desk.clone())),
        tree,
    };
    Router::new()
        .route(
            "/v1/events",
            post(append_event).fallback(method_not_allowed("POST")),
        )
        .route(
            "/v1/forks",
            post(report_fork).fallback(method_not_allowed("POST")),
        )
        .route(
            "/v1/events/:hash",
            get(get_event).fallback(method_not_allowed("GET,HEAD")),
        )
        .route(
            "/v1/chains/:chain",
            get(get_chain).fallback(method_not_allowed("GET,HEAD")),
        )
        .route(
            "/v1/chains/:chain/head",
            get(get_head).fallback(method_not_allowed("GET,HEAD")),
        )
        .route(
            "/v1/checkpoint",
            get(get_checkpoint).fallback(method_not_allowed("GET,HEAD")),
        )
        .route(
            "/v1/proof/inclusion",
            get(proofs::get_inclusion).fallback(method_not_allowed("GET,HEAD")),
        )
        .route(
            "/v1/proof/consistency",
            get(proofs::get_consistency).fallback(method_not_allowed("GET,HEAD")),
        )
        .route(
            "/v1/checkpoints",
            get(get_checkpoints).fallback(method_not_allowed("GET,HEAD")),
        )
        .route(
            "/v1/inbox",
            get(get_inbox).fallback(method_not_allowed("GET,HEAD")),
        )
        .route(
            "/v1/backlog",
            get(views_api::get_backlog).fallback(method_not_allowed("GET,HEAD")),
        )
        .route(
            "/v1/alarms",
            get(views_api::get_alarms).fallback(method_not_allowed("GET,HEAD")),
        )
        .route(
            "/v1/whereabouts/:chain",
            get(views_api::get_whereabouts).fallback(method_not_allowed("GET,HEAD")),
        )
        .route(
            "/v1/hearings",
            get(views_api::get_hearings).fallback(method_not_allowed("GET,HEAD")),
        )
        .route(
            "/healthz",
            get(healthz).fallback(method_not_allowed("GET,HEAD")),
        )
        .route(
            "/metrics",
            get(metrics_text).fallback(method_not_allowed("GET,HEAD")),
        )
        .fallback(not_found)
        .layer(middleware::from_fn(json_errors))
        // The web desk's errors are pages, not JSON: merged after the JSON error layer.
        .merge(desk::router())
        .layer(middleware::from_fn_with_state(rate, ratelimit::rate_limit))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

/// Serves the gateway on `listener` until `shutdown` completes, then finishes the requests in
/// flight. Runs the follower that keeps the ledger's validation state current with appends
/// made by other processes (see the crate documentation).
///
/// # Examples
///
/// ```no_run
/// # async fn example(ledger: std::sync::Arc<custody_ledger::Ledger>) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// custody_gateway::serve(ledger, listener, async {
///     let _ = tokio::signal::ctrl_c().await;
/// })
/// .await
/// # }
/// ```
///
/// Uses the default [`ServeConfig`]; [`serve_with`] takes the connection limit and time-outs.
pub async fn serve(
    ledger: Arc<Ledger>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(ledger, listener, ServeConfig::default(), shutdown).await
}

/// A description of a catch-up failure without personal data (a replay error's message may
/// quote a payload; its rule code and position do not).
fn describe_open_error(e: &OpenError) -> String {
    match e {
        OpenError::Replay { position, error } => {
            format!(
                "stored record at position {position} fails rule {}",
                error.rule()
            )
        }
        OpenError::Store(s) => s.to_string(),
        other => other.to_string(),
    }
}

/// Keeps the ledger's validation state current with appends made by other processes (another
/// gateway, the `custody` command): calls [`Ledger::catch_up`] every `poll`. A catch-up costs
/// one size query when nothing new arrived, so a gateway that is the only writer never reads
/// back what it appended itself. Runs until dropped or aborted.
///
/// [`serve`] runs it; a caller that serves [`router`] itself should spawn it next to the
/// server.
///
/// # Examples
///
/// ```no_run
/// # async fn example(ledger: std::sync::Arc<custody_ledger::Ledger>) {
/// let follower = tokio::spawn(custody_gateway::follow(ledger.clone(), custody_gateway::FOLLOW_POLL));
/// // ... serve custody_gateway::router(ledger) ...
/// follower.abort();
/// # }
/// ```
pub async fn follow(ledger: Arc<Ledger>, poll: Duration) {
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = ledger.catch_up().await {
            tracing::warn!(error = %describe_open_error(&e), "catch-up failed; retrying");
        }
    }
}

/// Counts every request by route template and status, and logs it without personal data.
async fn track(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = req.method().clone();
    let response = next.run(req).await;
    let status = response.status().as_u16();
    st.metrics.count_request(&route, status);
    tracing::info!(%method, %route, status, "request");
    response
}

/// Gives every error answer a JSON body: those made by the router itself (405 for a known
/// path with another method, a rejected path parameter) have none or plain text. The status
/// and the headers (`Allow`) are kept.
async fn json_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let error = if status == StatusCode::METHOD_NOT_ALLOWED {
        let allowed = parts
            .headers
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("the methods of the Allow header")
            .to_owned();
        GatewayError::MethodNotAllowed {
            method: method.to_string(),
            path,
            allowed,
        }
    } else {
        // A rejection of the router: its text names what is wrong (capped when sent).
        let text = axum::body::to_bytes(body, 16 * 1024)
            .await
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let text = if text.is_empty() {
            status
                .canonical_reason()
                .unwrap_or("the request was refused")
                .to_owned()
        } else {
            text
        };
        match status {
            StatusCode::NOT_FOUND => GatewayError::NotFound(text),
            s if s.is_client_error() => GatewayError::BadRequest(text),
            _ => GatewayError::Internal(text),
        }
    };
    let mut fixed = error.into_response();
    *fixed.status_mut() = status;
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            fixed.headers_mut().insert(name.clone(), value.clone());
        }
    }
    fixed
}

/// Reads a request body of at most [`MAX_BODY_BYTES`], which must arrive within the request
/// time-out (408 otherwise: a client sending a byte a second holds no connection for long).
async fn read_body(st: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, GatewayError> {
    read_body_up_to(st, headers, body, MAX_BODY_BYTES, || {
        GatewayError::BodyTooLarge {
            limit: MAX_BODY_BYTES,
        }
    })
    .await
}

/// [`read_body`] with another limit and error (a batch's).
async fn read_body_up_to(
    st: &AppState,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    too_large: impl Fn() -> GatewayError,
) -> Result<Bytes, GatewayError> {
    custody_http::read_body(headers, body, limit, st.request_timeout)
        .await
        .map_err(|e| match e {
            custody_http::BodyError::TooLarge { .. } => too_large(),
            custody_http::BodyError::TimedOut { secs } => GatewayError::RequestTimeout { secs },
            custody_http::BodyError::Read(e) => {
                GatewayError::BadRequest(format!("the request body could not be read: {e}"))
            }
        })
}

/// What an append's body holds, from its media type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AppendBody {
    /// One record (`application/json`).
    One,
    /// One record per line ([`BATCH_MEDIA_TYPES`]).
    Batch,
}

/// Refuses (415) a body not declared as `application/json` or as a batch
/// ([`BATCH_MEDIA_TYPES`]) (parameters allowed, a charset only if UTF-8): a record sent as text
/// or as a form is a client bug, not a record.
fn check_json_content_type(headers: &HeaderMap) -> Result<AppendBody, GatewayError> {
    const WHAT: &str = "send one record as Content-Type: application/json, or a batch (one \
                        record per line) as application/x-ndjson";
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(GatewayError::UnsupportedMediaType(format!(
            "the request has no Content-Type: {WHAT}"
        )));
    };
    let Ok(text) = value.to_str() else {
        return Err(GatewayError::UnsupportedMediaType(format!(
            "the Content-Type is not ASCII text: {WHAT}"
        )));
    };
    let mut parts = text.split(';');
    let essence = parts.next().unwrap_or("").trim();
    let kind = if essence.eq_ignore_ascii_case("application/json") {
        AppendBody::One
    } else if BATCH_MEDIA_TYPES
        .iter()
        .any(|t| essence.eq_ignore_ascii_case(t))
    {
        AppendBody::Batch
    } else {
        return Err(GatewayError::UnsupportedMediaType(format!(
            "Content-Type {text:?} is not accepted: {WHAT}"
        )));
    };
    for param in parts {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        let value = value.trim().trim_matches('"');
        if name.trim().eq_ignore_ascii_case("charset") && !value.eq_ignore_ascii_case("utf-8") {
            return Err(GatewayError::UnsupportedMediaType(format!(
                "Content-Type {text:?} is not accepted: JSON is UTF-8; {WHAT}"
            )));
        }
    }
    Ok(kind)
}

/// The answer to an accepted append: its counter label, status and body.
fn accepted(outcome: AppendOutcome, hash: &Hash) -> (&'static str, StatusCode, Value) {
    match outcome {
        AppendOutcome::Appended { position } => (
            "appended",
            StatusCode::CREATED,
            json!({"position": position, "hash": hash.to_hex()}),
        ),
        AppendOutcome::Duplicate { position } => (
            "duplicate",
            StatusCode::OK,
            json!({"position": position, "hash": hash.to_hex(), "duplicate": true}),
        ),
    }
}

async fn append_event(State(st): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let now = auth::system_now();
    match check_json_content_type(&headers) {
        Ok(AppendBody::Batch) => return append_batch(&st, &headers, body, &now).await,
        Ok(AppendBody::One) => {}
        Err(e) => {
            st.metrics.count_append(e.append_outcome());
            tracing::info!(rule = %e.rule(), status = e.status().as_u16(), "append refused");
            return e.into_response();
        }
    }
    let result = append_inner(&st, &headers, body, &now).await;
    match result {
        Ok((outcome, hash)) => {
            let (label, status, body) = accepted(outcome, &hash);
            st.metrics.count_append(label);
            tracing::info!(
                position = outcome.position(),
                hash = %hash,
                outcome = label,
                "append"
            );
            (status, Json(body)).into_response()
        }
        Err(e) => {
            st.metrics.count_append(e.append_outcome());
            tracing::info!(rule = %e.rule(), status = e.status().as_u16(), "append refused");
            e.into_response()
        }
    }
}

async fn append_inner(
    st: &AppState,
    headers: &HeaderMap,
    body: Body,
    now: &Timestamp,
) -> Result<(AppendOutcome, Hash), GatewayError> {
    let bytes = read_body(st, headers, body).await?;
    let record = parse_record(&bytes)?;
    let outcome = st.ledger.append(&record, now).await?;
    st.views.poke();
    Ok((outcome, record.hash))
}

/// Parses the body of a single append (or a fork report): one record, strictly. Malformed
/// JSON is [`GatewayError::MalformedJson`] (400), a record that breaks the wire format
/// [`GatewayError::Invalid`] (422, rule `format`).
pub fn parse_record(bytes: &[u8]) -> Result<Record, GatewayError> {
    Record::from_json(bytes).map_err(|e| GatewayError::from_format(e, bytes))
}

/// Splits the body of a batch append into its records' lines: each with its 1-based line
/// number, without its final `\r`; blank lines (only ASCII whitespace) are skipped.
pub fn batch_lines(bytes: &[u8]) -> Vec<(usize, &[u8])> {
    let mut lines = Vec::new();
    for (i, text) in bytes.split(|b| *b == b'\n').enumerate() {
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        lines.push((i + 1, text));
    }
    lines
}

/// Parses one line of a batch append: over [`MAX_BODY_BYTES`] it is
/// [`GatewayError::BodyTooLarge`], otherwise as [`parse_record`].
pub fn parse_batch_line(text: &[u8]) -> Result<Record, GatewayError> {
    if text.len() > MAX_BODY_BYTES {
        return Err(GatewayError::BodyTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    parse_record(text)
}

/// One line of a batch: its 1-based line number and what it held.
struct BatchLine {
    line: usize,
    parsed: Result<Record, GatewayError>,
}

/// A batch append (`POST /v1/events` as `application/x-ndjson`): every record through the
/// same [`Ledger::append`] as a single append, one answer line per record, in order.
///
/// The whole body is read and counted first: over the limits, 413 and nothing is stored.
/// Records of different chains are appended at the same time (up to [`BATCH_CHAINS_AT_ONCE`]
/// chains), each chain's records in order; an authority record is a barrier (everything before
/// it is answered before it is appended, everything after it waits for it), so a key enrolled
/// in a batch signs the records after it. A refused record does not stop the others; the
/// records after it on the same chain are then answered 409 (`seq` or `prev`), as a single
/// append of each would be.
async fn append_batch(st: &AppState, headers: &HeaderMap, body: Body, now: &Timestamp) -> Response {
    let max_bytes = st.batch_max_bytes;
    let bytes = match read_body_up_to(st, headers, body, max_bytes, || {
        GatewayError::BatchTooLarge(format!(
            "the batch is over the limit of {max_bytes} bytes: nothing was stored; send fewer \
             records per batch"
        ))
    })
    .await
    {
        Ok(b) => b,
        Err(e) => {
            st.metrics.count_append(e.append_outcome());
            tracing::info!(rule = %e.rule(), status = e.status().as_u16(), "batch refused");
            return e.into_response();
        }
    };
    let lines = batch_lines(&bytes);
    if lines.len() > st.batch_max_records {
        let e = GatewayError::BatchTooLarge(format!(
            "the batch holds {} records, over the limit of {}: nothing was stored; send at most \
             {} records per batch",
            lines.len(),
            st.batch_max_records,
            st.batch_max_records
        ));
        st.metrics.count_append(e.append_outcome());
        tracing::info!(records = lines.len(), "batch refused: too many records");
        return e.into_response();
    }
    let batch: Vec<BatchLine> = lines
        .into_iter()
        .map(|(line, text)| BatchLine {
            line,
            parsed: parse_batch_line(text),
        })
        .collect();
    let answers = append_lines(st, &batch, now).await;
    st.views.poke();
    let mut out = String::new();
    let (mut appended, mut refused) = (0usize, 0usize);
    for (entry, answer) in batch.iter().zip(answers) {
        let mut value = match answer {
            Ok(outcome) => {
                let hash = entry
                    .parsed
                    .as_ref()
                    .map(|r| r.hash)
                    .unwrap_or(Hash([0; 32]));
                let (label, status, mut body) = accepted(outcome, &hash);
                st.metrics.count_append(label);
                appended += 1;
                body["status"] = json!(status.as_u16());
                body
            }
            Err(e) => {
                st.metrics.count_append(e.append_outcome());
                refused += 1;
                let mut body = e.body();
                body["status"] = json!(e.status().as_u16());
                if let Ok(r) = &entry.parsed {
                    body["hash"] = json!(r.hash.to_hex());
                }
                body
            }
        };
        value["line"] = json!(entry.line);
        out.push_str(&value.to_string());
        out.push('\n');
    }
    tracing::info!(
        records = batch.len(),
        accepted = appended,
        refused,
        "batch append"
    );
    let mut response = (StatusCode::OK, out).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    response
}

/// Appends the parsed lines of a batch (see [`append_batch`]); one answer per line, in order.
async fn append_lines(
    st: &AppState,
    batch: &[BatchLine],
    now: &Timestamp,
) -> Vec<Result<AppendOutcome, GatewayError>> {
    let mut answers: Vec<Option<Result<AppendOutcome, GatewayError>>> =
        (0..batch.len()).map(|_| None).collect();
    // Segments between authority records; within one, chains run at the same time.
    let mut start = 0;
    while start < batch.len() {
        let barrier = batch[start..]
            .iter()
            .position(|l| {
                l.parsed
                    .as_ref()
                    .is_ok_and(|r| r.header.chain == AUTHORITY_CHAIN)
            })
            .map(|i| start + i);
        let end = barrier.unwrap_or(batch.len());
        let mut chains: Vec<(String, Vec<usize>)> = Vec::new();
        let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, line) in batch.iter().enumerate().take(end).skip(start) {
            match &line.parsed {
                Ok(r) => {
                    let slot = *index.entry(r.header.chain.as_str()).or_insert_with(|| {
                        chains.push((r.header.chain.clone(), Vec::new()));
                        chains.len() - 1
                    });
                    chains[slot].1.push(i);
                }
                Err(e) => answers[i] = Some(Err(clone_error(e))),
            }
        }
        let ledger = &st.ledger;
        let done: Vec<Vec<(usize, Result<AppendOutcome, GatewayError>)>> =
            futures::stream::iter(chains.into_iter().map(|(_, members)| async move {
                let mut out = Vec::with_capacity(members.len());
                for i in members {
                    if let Ok(record) = &batch[i].parsed {
                        out.push((
                            i,
                            ledger.append(record, now).await.map_err(GatewayError::from),
                        ));
                    }
                }
                out
            }))
            .buffer_unordered(BATCH_CHAINS_AT_ONCE)
            .collect()
            .await;
        for (i, answer) in done.into_iter().flatten() {
            answers[i] = Some(answer);
        }
        if let Some(b) = barrier {
            if let Ok(record) = &batch[b].parsed {
                answers[b] = Some(
                    st.ledger
                        .append(record, now)
                        .await
                        .map_err(GatewayError::from),
                );
            }
            start = b + 1;
        } else {
            start = end;
        }
    }
    answers
        .into_iter()
        .map(|a| {
            a.unwrap_or_else(|| {
                Err(GatewayError::Internal(
                    "a batch line got no answer".to_string(),
                ))
            })
        })
        .collect()
}

/// A parse error of a batch line, again (errors are not `Clone`; only parse errors are copied).
fn clone_error(e: &GatewayError) -> GatewayError {
    match e {
        GatewayError::BodyTooLarge { limit } => GatewayError::BodyTooLarge { limit: *limit },
        GatewayError::MalformedJson(f) => GatewayError::MalformedJson(f.clone()),
        GatewayError::Invalid(v) => GatewayError::Invalid(v.clone()),
        other => GatewayError::BadRequest(other.to_string()),
    }
}

/// `POST /v1/forks`: another version of a stored record, as found by a post's sync or a
/// packet import. Kept in the store's fork alarm log when it is validly signed
/// ([`Ledger::record_fork`]); the stored record is untouched.
async fn report_fork(State(st): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let now = auth::system_now();
    let result = async {
        if check_json_content_type(&headers)? != AppendBody::One {
            return Err(GatewayError::UnsupportedMediaType(
                "a fork report is one record: send it as Content-Type: application/json"
                    .to_string(),
            ));
        }
        let bytes = read_body(&st, &headers, body).await?;
        let record = parse_record(&bytes)?;
        let outcome = st
            .ledger
            .record_fork(&record, "fork report to the gateway", &now)
            .await
            .map_err(|e| match e {
                ForkError::Invalid(v) => GatewayError::Invalid(v),
                ForkError::NothingStored { .. } => GatewayError::NotFound(e.to_string()),
                ForkError::Store(s) => s.into(),
                other => GatewayError::Internal(other.to_string()),
            })?;
        Ok((outcome, record.hash))
    }
    .await;
    match result {
        Ok((ForkOutcome::Recorded { stored }, hash)) => {
            tracing::warn!(%hash, %stored, "fork reported: alarm recorded");
            (
                StatusCode::CREATED,
                Json(json!({"fork": true, "recorded": true, "stored": stored.to_hex(), "hash": hash.to_hex()})),
            )
                .into_response()
        }
        Ok((ForkOutcome::AlreadyRecorded { stored }, hash)) => (
            StatusCode::OK,
            Json(json!({"fork": true, "recorded": false, "stored": stored.to_hex(), "hash": hash.to_hex()})),
        )
            .into_response(),
        Ok((ForkOutcome::SameRecord { position }, hash)) => (
            StatusCode::OK,
            Json(json!({"fork": false, "position": position, "hash": hash.to_hex()})),
        )
            .into_response(),
        Ok((_, hash)) => GatewayError::Internal(format!("fork report of {hash}: unknown outcome")).into_response(),
        Err(e) => {
            tracing::info!(rule = %e.rule(), status = e.status().as_u16(), "fork report refused");
            e.into_response()
        }
    }
}

/// Authenticates a read and returns its reader and the server clock used.
async fn authenticate(
    st: &AppState,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Reader, Timestamp), GatewayError> {
    let body = read_body(st, headers, body).await?;
    let now = auth::system_now();
    let path_and_query = uri
        .path_and_query()
        .map_or_else(|| uri.path(), |pq| pq.as_str());
    let reader = auth::verify_request(
        &st.ledger,
        &now,
        headers,
        method.as_str(),
        path_and_query,
        &body,
    )
    .await?;
    Ok((reader, now))
}

fn check_chain_id(chain: &str) -> Result<(), GatewayError> {
    if is_valid_chain_id(chain) {
        Ok(())
    } else {
        Err(GatewayError::BadRequest(format!(
            "{chain:?} is not a chain id: expected \"authority\" or d- followed by a 26-character lowercase ULID"
        )))
    }
}

/// Writes access-log entries before a payload leaves the gateway.
async fn log_reads(
    st: &AppState,
    entries: &[custody_store::AccessEntry],
) -> Result<(), GatewayError> {
    for entry in entries {
        st.ledger.store().log_access(entry).await.map_err(|e| {
            tracing::warn!(error = %e, "access log write failed; read refused");
            match GatewayError::from(e) {
                GatewayError::Unavailable(m) => GatewayError::Unavailable(m),
                other => GatewayError::Unavailable(format!(
                    "the access log could not be written ({other}), so no payload is served"
                )),
            }
        })?;
    }
    Ok(())
}

async fn get_chain(
    State(st): State<AppState>,
    Path(chain): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, GatewayError> {
    let (reader, now) = authenticate(&st, &method, &uri, &headers, body).await?;
    check_chain_id(&chain)?;
    let events = st.ledger.store().chain(&chain).await?;
    if events.is_empty() {
        return Err(GatewayError::NotFound(format!(
            "chain {chain} has no record in this ledger"
        )));
    }
    let access = st
        .ledger
        .with_state(|v| reads::ChainAccess::of(v, &chain, &reader.key, &now))
        .await;
    let mut log = Vec::new();
    let records: Vec<Value> = events
        .into_iter()
        .map(|ev| reads::present(&reader, &access, ev, &now, &mut log))
        .collect();
    log_reads(&st, &log).await?;
    tracing::debug!(%chain, records = records.len(), "chain read");
    let code = (chain != AUTHORITY_CHAIN).then(|| code_for_chain(&chain));
    Ok(Json(
        json!({"chain": chain, "code": code, "records": records}),
    ))
}

fn custody_json(custody: Option<&Custody>) -> Value {
    match custody {
        None => Value::Null,
        Some(Custody::Held { holder }) => json!({"status": "held", "holder": holder}),
        Some(Custody::Gap { from, since, .. }) => {
            json!({"status": "gap", "released_by": from, "since": since.as_str()})
        }
        Some(Custody::Released) => json!({"status": "released"}),
        Some(Custody::Dead) => json!({"status": "dead"}),
        Some(Custody::Escaped) => json!({"status": "escaped"}),
    }
}

async fn get_head(
    State(st): State<AppState>,
    Path(chain): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, GatewayError> {
    authenticate(&st, &method, &uri, &headers, body).await?;
    check_chain_id(&chain)?;
    let Some(head) = st.ledger.store().head(&chain).await? else {
        return Err(GatewayError::NotFound(format!(
            "chain {chain} has no record in this ledger: its first record has seq 0 and prev null"
        )));
    };
    let custody = st
        .ledger
        .with_state(|v| custody_json(v.chain(&chain).map(|c| &c.custody)))
        .await;
    Ok(Json(json!({
        "chain": chain,
        "head": {"seq": head.seq, "hash": head.hash.to_hex()},
        "custody": custody,
    })))
}

/// `GET /v1/checkpoint`: the latest checkpoint of the store's checkpoint history (signed by
/// the checkpointer, `custody serve --ledger-key` or `custody checkpoint --publish`), as its
/// signed note with every witness cosignature gathered (`text/plain`), or 404 when none was.
/// A ledger published by an older version without history serves the checkpoint kept in its
/// metadata. A checkpoint holds no personal data (an origin, a size, a root hash,
/// signatures), so no request signature is asked: monitors, witnesses and field posts read it
/// alike.
async fn get_checkpoint(State(st): State<AppState>) -> Result<Response, GatewayError> {
    let store = st.ledger.store();
    let note = match store.latest_checkpoint().await? {
        Some(latest) => latest.note,
        None => {
            let published = store
                .meta(custody_ledger::META_PUBLISHED_CHECKPOINT)
                .await?;
            let Some(published) = published else {
                return Err(GatewayError::NotFound(
                    "this ledger has published no checkpoint yet (the operator runs `custody serve --ledger-key` or `custody checkpoint --publish`)"
                        .to_string(),
                ));
            };
            let Some(note) = published["note"].as_str() else {
                return Err(GatewayError::Unavailable(
                    "the published checkpoint in the store is damaged (no note)".to_string(),
                ));
            };
            note.to_string()
        }
    };
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        note,
    )
        .into_response())
}

/// Most entries of one `GET /v1/checkpoints` answer.
const CHECKPOINTS_PAGE: usize = 100;

/// `GET /v1/checkpoints?from=SIZE`: the checkpoint history from the first checkpoint of size
/// at least `SIZE` (default 0), at most 100 entries in increasing size, as JSON
/// `{"checkpoints": [{"size": N, "note": "..."}], "next": SIZE or null}` (`next`: the `from` of
/// the next page). No request signature, as for `GET /v1/checkpoint`.
async fn get_checkpoints(
    State(st): State<AppState>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, GatewayError> {
    let mut from = 0u64;
    for (k, v) in uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
    {
        match k {
            "from" => {
                from = v.parse().map_err(|_| {
                    GatewayError::BadRequest(format!(
                        "from={v:?} is not a tree size (a decimal number)"
                    ))
                })?
            }
            other => {
                return Err(GatewayError::BadRequest(format!(
                    "unknown query parameter {other:?}: only from=SIZE"
                )))
            }
        }
    }
    let mut page = st
        .ledger
        .store()
        .checkpoints(from, CHECKPOINTS_PAGE + 1)
        .await?;
    let next = (page.len() > CHECKPOINTS_PAGE).then(|| page[CHECKPOINTS_PAGE].size);
    page.truncate(CHECKPOINTS_PAGE);
    Ok(Json(json!({"checkpoints": page, "next": next})))
}

/// `GET /v1/inbox?agency=A`: the people released to agency A and not yet accepted, oldest
/// release first, with the hours since release (`custody_views::inbox`). Header data only
/// (chain, code, release event and time, releasing agency), so any authenticated reader may
/// ask, as for a chain's head.
async fn get_inbox(
    State(st): State<AppState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, GatewayError> {
    let (_, now) = authenticate(&st, &method, &uri, &headers, body).await?;
    let agency = uri
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("agency="))
        .ok_or_else(|| {
            GatewayError::BadRequest(
                "name the receiving agency: GET /v1/inbox?agency=AGENCY_ID".to_string(),
            )
        })?;
    if !custody_core::ids::is_valid_slug(agency) {
        return Err(GatewayError::BadRequest(format!(
            "agency {:?} is not an agency id: 2-64 characters of a-z, 0-9 and -",
            custody_core::encoding::excerpt(agency)
        )));
    }
    let lines = st
        .ledger
        .with_state(|v| {
            v.authority()
                .agencies
                .contains_key(agency)
                .then(|| custody_views::inbox::inbox(v, agency, &now))
        })
        .await
        .ok_or_else(|| {
            GatewayError::NotFound(format!("agency {agency} is not registered in this ledger"))
        })?;
    Ok(Json(json!({
        "agency": agency,
        "at": now.as_str(),
        "waiting": lines.iter().map(|l| l.to_json()).collect::<Vec<_>>(),
    })))
}

async fn get_event(
    State(st): State<AppState>,
    Path(hash): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, GatewayError> {
    let (reader, now) = authenticate(&st, &method, &uri, &headers, body).await?;
    let hash: Hash = hash
        .parse()
        .map_err(|e| GatewayError::BadRequest(format!("{e}")))?;
    let Some(event) = st.ledger.store().event(&hash).await? else {
        return Err(GatewayError::NotFound(format!(
            "event {hash} is not in this ledger"
        )));
    };
    let chain = event.record.header.chain.clone();
    let access = st
        .ledger
        .with_state(|v| reads::ChainAccess::of(v, &chain, &reader.key, &now))
        .await;
    let mut log = Vec::new();
    let value = reads::present(&reader, &access, event, &now, &mut log);
    log_reads(&st, &log).await?;
    Ok(Json(value))
}

async fn healthz(State(st): State<AppState>) -> Response {
    match tokio::time::timeout(HEALTH_TIMEOUT, st.ledger.store().size()).await {
        Ok(Ok(size)) => {
            (StatusCode::OK, Json(json!({"status": "ok", "size": size}))).into_response()
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: store unreachable");
            GatewayError::Unavailable(e.to_string()).into_response()
        }
        Err(_) => {
            tracing::warn!("health check: store did not answer in time");
            GatewayError::Unavailable(format!(
                "the store did not answer within {} s",
                HEALTH_TIMEOUT.as_secs()
            ))
            .into_response()
        }
    }
}

async fn metrics_text(State(st): State<AppState>) -> Response {
    // Payloads known missing are read again, so that one completed by another process leaves
    // the count; if the store does not answer, the last known count stands.
    let payloads_missing = match st.ledger.recheck_missing().await {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "cannot recheck missing payloads");
            st.ledger.missing_payloads().len()
        }
    } as u64;
    let fork_alarms = match st.ledger.fork_count().await {
        Ok(n) => Some(n),
        Err(e) => {
            tracing::warn!(error = %e, "cannot count fork alarms");
            None
        }
    };
    let projection_position = st.views.folded();
    let projection_lag = match st.ledger.store().size().await {
        Ok(size) => Some(size.saturating_sub(projection_position)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the ledger size for the views lag");
            None
        }
    };
    let gauges = st
        .ledger
        .with_state(|v| {
            let mut chains = 0;
            let mut gaps = 0;
            for (_, c) in v.chains() {
                chains += 1;
                if matches!(c.custody, Custody::Gap { .. }) {
                    gaps += 1;
                }
            }
            LedgerGauges {
                size: v.size(),
                chains,
                chains_in_gap: gaps,
                payloads_missing,
                fork_alarms,
                projection_position,
                projection_lag,
            }
        })
        .await;
    let mut response = st.metrics.render(gauges).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// The 405 answer of a route that answers only the methods `allowed` (as in `Allow`).
fn method_not_allowed(
    allowed: &'static str,
) -> impl Fn(Method, OriginalUri) -> std::future::Ready<GatewayError> + Clone + Send + Sync + 'static
{
    move |method: Method, OriginalUri(uri): OriginalUri| {
        std::future::ready(GatewayError::MethodNotAllowed {
            method: method.to_string(),
            path: uri.path().to_owned(),
            allowed: allowed.to_owned(),
        })
    }
}

async fn not_found(OriginalUri(uri): OriginalUri) -> GatewayError {
    GatewayError::NotFound(format!("no route {}: see docs/API.md", uri.path()))
}
