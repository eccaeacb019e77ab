//! The witness's HTTP interface: `POST /add-checkpoint` of C2SP `tlog-witness` v1.0.
//!
//! Checks, in the spec's order, each refusal with its status and a plain-text reason:
//!
//! | status | when |
//! |---|---|
//! | 400 | malformed body, malformed note or checkpoint, old size > checkpoint size |
//! | 404 | the checkpoint's origin is not a configured log |
//! | 403 | no trusted key of that log signed it (or a line of a trusted key does not verify) |
//! | 422 | a non-empty proof with old size 0, or a consistency proof that does not verify |
//! | 409 | old size is not the size last cosigned (body: that size, `text/x.tlog.size`); or the same size with another root (a fork; the same body) |
//! | 413 | body over [`MAX_REQUEST_BYTES`] |
//! | 408 | body not arrived within the request time-out ([`custody_http::Limits::request_timeout`]); the connection is closed |
//! | 200 | the cosignature line(s), after the new size and root are persisted |
//!
//! A 409 for a fork follows the spec ("If the old size matches the checkpoint size ... root
//! hashes ... don't match, the witness MUST respond with a 409"); its body is the witness size,
//! which then equals the old size the client sent, which is how a client tells it apart.
//!
//! Signature checks and the database step run on the blocking thread pool, never on the
//! async workers.
//!
//! [`serve`] serves the router with the gateway's serve loop (`custody-http`): the same
//! connection limit, head, body and idle time-outs, and graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use custody_core::checkpoint::{Checkpoint, CheckpointError};
use custody_core::cosignature::CosignatureSigner;

use crate::db::{CommitError, WitnessDb};
use crate::protocol::{parse_request, CONTENT_TYPE_SIZE, CONTENT_TYPE_TEXT, MAX_REQUEST_BYTES};

/// What the router serves with: the database and the witness's cosigner.
#[derive(Clone)]
pub struct WitnessState {
    inner: Arc<Inner>,
}

struct Inner {
    db: WitnessDb,
    signer: CosignatureSigner,
    stall: Option<Duration>,
}

impl std::fmt::Debug for WitnessState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessState")
            .field("signer", &self.inner.signer)
            .finish_non_exhaustive()
    }
}

impl WitnessState {
    /// A state over an open database and the witness's cosigner.
    pub fn new(db: WitnessDb, signer: CosignatureSigner) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                signer,
                stall: None,
            }),
        }
    }

    /// For tests: wait `stall` inside the database transaction, after the checks and before
    /// the write, to widen the window of the rollback race.
    #[doc(hidden)]
    pub fn with_stall(db: WitnessDb, signer: CosignatureSigner, stall: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                signer,
                stall: Some(stall),
            }),
        }
    }

    /// The database.
    pub fn db(&self) -> &WitnessDb {
        &self.inner.db
    }

    /// The witness vkey (type 0x04) that verifies its cosignatures.
    pub fn verifier_key(&self) -> String {
        self.inner.signer.verifier_key()
    }
}

/// The router: `POST /add-checkpoint`, bodies over [`MAX_REQUEST_BYTES`] refused with 413,
/// bodies slower than the default request time-out with 408. Nest it under a prefix with
/// [`Router::nest`] if the witness is served below one.
pub fn router(state: WitnessState) -> Router {
    router_with(state, &custody_http::Limits::default())
}

/// [`router`] with the request time-out of `limits` (the rest of `limits` is [`serve`]'s).
pub fn router_with(state: WitnessState, limits: &custody_http::Limits) -> Router {
    let timeout = limits.request_timeout;
    Router::new()
        .route(
            "/add-checkpoint",
            post(
                move |st: State<WitnessState>, headers: HeaderMap, body: Body| {
                    add_checkpoint(st, headers, body, timeout)
                },
            ),
        )
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(state)
}

/// Serves `app` (a [`router_with`], maybe nested under a prefix) on `listener` with the
/// connection limit and time-outs of `limits` until `shutdown` completes, then lets the
/// requests in flight finish (see `custody_http::serve`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: custody_http::Limits,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    custody_http::serve(
        listener,
        app,
        limits,
        Arc::new(custody_http::NoObserver),
        shutdown,
    )
    .await
}

/// A refusal: status, plain-text reason (409: the size body).
#[derive(Debug)]
enum Refusal {
    BadRequest(String),
    Forbidden(String),
    NotFound(String),
    Conflict(u64),
    Unprocessable(String),
    TooLarge(String),
    TimedOut(String),
    Internal(String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            Refusal::Conflict(size) => {
                return (
                    StatusCode::CONFLICT,
                    [(header::CONTENT_TYPE, CONTENT_TYPE_SIZE)],
                    format!("{size}\n"),
                )
                    .into_response();
            }
            Refusal::BadRequest(t) => (StatusCode::BAD_REQUEST, t),
            Refusal::Forbidden(t) => (StatusCode::FORBIDDEN, t),
            Refusal::NotFound(t) => (StatusCode::NOT_FOUND, t),
            Refusal::Unprocessable(t) => (StatusCode::UNPROCESSABLE_ENTITY, t),
            Refusal::TooLarge(t) => (StatusCode::PAYLOAD_TOO_LARGE, t),
            Refusal::TimedOut(t) => {
                // The rest of the body may still be on its way: do not read it as a request.
                return (
                    StatusCode::REQUEST_TIMEOUT,
                    [
                        (
                            header::CONTENT_TYPE,
                            HeaderValue::from_static(CONTENT_TYPE_TEXT),
                        ),
                        (header::CONNECTION, HeaderValue::from_static("close")),
                    ],
                    format!("{t}\n"),
                )
                    .into_response();
            }
            Refusal::Internal(t) => (StatusCode::INTERNAL_SERVER_ERROR, t),
        };
        (
            status,
            [(header::CONTENT_TYPE, CONTENT_TYPE_TEXT)],
            format!("{text}\n"),
        )
            .into_response()
    }
}

async fn add_checkpoint(
    State(state): State<WitnessState>,
    headers: HeaderMap,
    body: Body,
    timeout: Duration,
) -> Response {
    let body = match custody_http::read_body(&headers, body, MAX_REQUEST_BYTES, timeout).await {
        Ok(body) => body,
        Err(e @ custody_http::BodyError::TooLarge { .. }) => {
            return Refusal::TooLarge(e.to_string()).into_response()
        }
        Err(e @ custody_http::BodyError::TimedOut { .. }) => {
            tracing::debug!("add-checkpoint body too slow");
            return Refusal::TimedOut(e.to_string()).into_response();
        }
        Err(e) => return Refusal::BadRequest(e.to_string()).into_response(),
    };
    let inner = state.inner.clone();
    match tokio::task::spawn_blocking(move || process(&inner, &body)).await {
        Ok(Ok(lines)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, CONTENT_TYPE_TEXT)],
            lines,
        )
            .into_response(),
        Ok(Err(refusal)) => refusal.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "add-checkpoint task failed");
            Refusal::Internal("internal error".into()).into_response()
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Checks a request and, if it passes, persists the new state and returns the cosignature.
fn process(inner: &Inner, body: &[u8]) -> Result<String, Refusal> {
    let req = parse_request(body).map_err(|e| Refusal::BadRequest(e.to_string()))?;
    let origin = req.note.split('\n').next().unwrap_or_default();
    let keys = inner
        .db
        .log_keys(origin)
        .map_err(|e| internal(&e))?
        .ok_or_else(|| {
            tracing::debug!(origin, "add-checkpoint for an unknown origin");
            Refusal::NotFound(CommitError::UnknownOrigin(origin.to_owned()).to_string())
        })?;

    let mut text = None;
    for key in &keys {
        match key.verify(&req.note) {
            Ok(t) => text = Some(t),
            Err(CheckpointError::NoSignature { .. }) => {}
            Err(e @ CheckpointError::InvalidSignature { .. }) => {
                tracing::warn!(origin, error = %e, "add-checkpoint with a bad log signature");
                return Err(Refusal::Forbidden(e.to_string()));
            }
            Err(e) => return Err(Refusal::BadRequest(e.to_string())),
        }
    }
    let text = text.ok_or_else(|| {
        Refusal::Forbidden(format!(
            "no trusted key of log {origin:?} signed this checkpoint"
        ))
    })?;
    let checkpoint =
        Checkpoint::parse_body(&text).map_err(|e| Refusal::BadRequest(e.to_string()))?;
    if req.old_size > checkpoint.size {
        return Err(Refusal::BadRequest(format!(
            "old size {} is larger than the checkpoint size {}",
            req.old_size, checkpoint.size
        )));
    }
    if req.old_size == 0 && !req.proof.is_empty() {
        return Err(Refusal::Unprocessable(format!(
            "a consistency proof from size 0 must be empty ({} lines sent)",
            req.proof.len()
        )));
    }
    match inner.db.commit(
        origin,
        req.old_size,
        checkpoint.size,
        &checkpoint.root,
        &req.proof,
        inner.stall,
    ) {
        Ok(()) => {}
        Err(CommitError::Conflict { witness_size, .. }) => {
            tracing::debug!(
                origin,
                old_size = req.old_size,
                witness_size,
                "add-checkpoint from another old size"
            );
            return Err(Refusal::Conflict(witness_size));
        }
        Err(e @ CommitError::Fork { .. }) => {
            tracing::warn!(origin, size = checkpoint.size, error = %e, "refused a forked checkpoint: possible log misbehaviour");
            return Err(Refusal::Conflict(checkpoint.size));
        }
        Err(e @ CommitError::BadProof { .. }) => {
            tracing::warn!(origin, old_size = req.old_size, size = checkpoint.size, error = %e, "refused an inconsistent checkpoint: possible log misbehaviour");
            return Err(Refusal::Unprocessable(e.to_string()));
        }
        Err(e @ CommitError::SizeTooLarge(_)) => return Err(Refusal::BadRequest(e.to_string())),
        Err(CommitError::UnknownOrigin(o)) => {
            return Err(Refusal::NotFound(CommitError::UnknownOrigin(o).to_string()))
        }
        Err(e) => return Err(internal(&e)),
    }
    let line = inner.signer.cosign(&text, unix_now());
    tracing::info!(
        origin,
        old_size = req.old_size,
        size = checkpoint.size,
        "cosigned checkpoint"
    );
    Ok(line)
}

fn internal(e: &dyn std::fmt::Display) -> Refusal {
    tracing::error!(error = %e, "witness database failure");
    Refusal::Internal("internal error: the witness database failed".into())
}
