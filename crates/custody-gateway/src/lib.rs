//! The HTTP gateway of custody-ledger: agencies append signed records, readers fetch chains.
//!
//! The gateway is a thin edge over [`custody_ledger::Ledger`]: every append goes through
//! [`Ledger::append`], which runs the one validator of `custody-core`; the gateway adds no rule
//! of its own except the body size limit. Errors stay typed until the edge, where
//! [`GatewayError`] maps each kind to one HTTP status, in one place.
//!
//! # Routes
//!
//! | route | auth | answer |
//! |---|---|---|
//! | `POST /v1/events` | none (the record is signed) | 201 `{"position", "hash"}`, 200 with `"duplicate": true` for a retry, 400 malformed JSON, 413 over [`MAX_BODY_BYTES`], 422 refused by a rule, 409 stale `seq`/`prev` (with the current `"head"`), 503 store unavailable (`Retry-After`) |
//! | `GET /v1/chains/{chain}` | signed | `{"chain", "code", "records": [{"position", "record", "payload_withheld", "payload_state"}]}` |
//! | `GET /v1/chains/{chain}/head` | signed | `{"chain", "head": {"seq", "hash"}, "custody"}` |
//! | `GET /v1/events/{hash}` | signed | `{"position", "record", "payload_withheld", "payload_state"}` |
//! | `GET /healthz` | none | 200 when the store answers, 503 otherwise |
//! | `GET /metrics` | none | Prometheus text: counters, no personal data |
//!
//! Every error body is `{"error": {"rule": "<code>", "message": "<text>"}}`; `rule` is the
//! validation rule code of `docs/SPEC.md` for refused records.
//!
//! # Reads
//!
//! Reads are authenticated by a request signature ([`auth`]): headers `Custody-Key`,
//! `Custody-Date` and `Custody-Signature`, an Ed25519 signature over
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
mod error;
mod metrics;
pub mod reads;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, OriginalUri, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use custody_core::chain::Custody;
use custody_core::humancode::code_for_chain;
use custody_core::ids::{is_valid_chain_id, AUTHORITY_CHAIN};
use custody_core::{Hash, Record, Timestamp};
use custody_ledger::{Ledger, OpenError};
use custody_store::AppendOutcome;
use serde_json::{json, Value};

pub use error::{GatewayError, RETRY_AFTER_SECS};

use crate::auth::Reader;
use crate::metrics::{LedgerGauges, Metrics};

/// Largest request body accepted, in bytes (413 over it). A record's canonical payload is at
/// most 64 KiB; the rest leaves room for the header, escaping and whitespace.
pub const MAX_BODY_BYTES: usize = 128 * 1024;

/// How often the follower asks the store whether other processes appended. Each poll is one
/// size query; records are read only when the store holds records this process has not applied.
pub const FOLLOW_POLL: Duration = Duration::from_millis(250);

/// How long `/healthz` waits for the store before answering 503.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone)]
struct AppState {
    ledger: Arc<Ledger>,
    metrics: Arc<Metrics>,
}

/// The gateway's routes over a ledger (see the crate documentation). The caller serves it;
/// [`serve`] does so and also keeps the validation state current.
pub fn router(ledger: Arc<Ledger>) -> Router {
    let state = AppState {
        ledger,
        metrics: Arc::new(Metrics::default()),
    };
    Router::new()
        .route("/v1/events", post(append_event))
        .route("/v1/events/:hash", get(get_event))
        .route("/v1/chains/:chain", get(get_chain))
        .route("/v1/chains/:chain/head", get(get_head))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
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
pub async fn serve(
    ledger: Arc<Ledger>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let follower = tokio::spawn(follow(ledger.clone(), FOLLOW_POLL));
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "custody gateway listening");
    }
    let result = axum::serve(listener, router(ledger))
        .with_graceful_shutdown(shutdown)
        .await;
    follower.abort();
    result
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

fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, GatewayError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            GatewayError::BodyTooLarge {
                limit: MAX_BODY_BYTES,
            }
        } else {
            GatewayError::BadRequest(format!("the request body could not be read: {rejection}"))
        }
    })
}

async fn append_event(State(st): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
    let now = auth::system_now();
    let result = append_inner(&st, body, &now).await;
    match result {
        Ok((outcome, hash)) => {
            let (label, status, body) = match outcome {
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
            };
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
    body: Result<Bytes, BytesRejection>,
    now: &Timestamp,
) -> Result<(AppendOutcome, Hash), GatewayError> {
    let bytes = body_bytes(body)?;
    let record = Record::from_json(&bytes).map_err(GatewayError::from_format)?;
    let outcome = st.ledger.append(&record, now).await?;
    Ok((outcome, record.hash))
}

/// Authenticates a read and returns its reader and the server clock used.
async fn authenticate(
    st: &AppState,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Reader, Timestamp), GatewayError> {
    let body = body_bytes(body)?;
    let now = auth::system_now();
    let path_and_query = uri
        .path_and_query()
        .map_or_else(|| uri.path(), |pq| pq.as_str());
    let key = auth::verify_signature(headers, method.as_str(), path_and_query, &body, &now)?;
    let reader = st
        .ledger
        .with_state(|v| auth::authorize(v.authority(), &key, &now))
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
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, GatewayError> {
    let (reader, now) = authenticate(&st, &method, &uri, &headers, body).await?;
    check_chain_id(&chain)?;
    let events = st.ledger.store().chain(&chain).await?;
    if events.is_empty() {
        return Err(GatewayError::NotFound(format!(
            "chain {chain} has no record in this ledger"
        )));
    }
    let holders = st.ledger.with_state(|v| reads::holders(v, &chain)).await;
    let mut log = Vec::new();
    let records: Vec<Value> = events
        .into_iter()
        .map(|ev| reads::present(&reader, &holders, ev, &now, &mut log))
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
    body: Result<Bytes, BytesRejection>,
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

async fn get_event(
    State(st): State<AppState>,
    Path(hash): Path<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
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
    let holders = st.ledger.with_state(|v| reads::holders(v, &chain)).await;
    let mut log = Vec::new();
    let value = reads::present(&reader, &holders, event, &now, &mut log);
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

async fn not_found(OriginalUri(uri): OriginalUri) -> GatewayError {
    GatewayError::NotFound(format!("no route {}: see docs/API.md", uri.path()))
}
