//! The gateway's one error type, and the one place where errors become HTTP statuses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use custody_core::chain::ChainHead;
use custody_core::record::FormatError;
use custody_core::validate::ValidationError;
use custody_ledger::AppendError;
use custody_store::StoreError;
use serde_json::{json, Value};

use crate::auth::AuthError;

/// Seconds a client is asked to wait (`Retry-After`) when the store is unavailable.
pub const RETRY_AFTER_SECS: u32 = 2;

/// Why the gateway refused or failed a request. Each kind maps to exactly one HTTP status
/// (see [`GatewayError::status`]); the JSON body is always
/// `{"error": {"rule": "<code>", "message": "<text>"}}`, plus `"head"` for a conflict.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The request body is over the size limit (413). The client's bug.
    #[error("the request body is over the limit of {limit} bytes: a record carries at most 64 KiB of canonical payload; attach larger material as evidence_added by digest")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not acceptable JSON: syntax, duplicate member names, nesting (400). The
    /// client's bug.
    #[error("{0}")]
    MalformedJson(FormatError),
    /// The record is well-formed JSON but refused by a rule of the wire format or of
    /// validation (422). Nothing was stored. The `rule` code is
    /// [`ValidationError::rule`].
    #[error("{0}")]
    Invalid(Box<ValidationError>),
    /// The chain moved on since the record was signed (a stale `seq` or `prev`, or another
    /// writer got there first) (409). Nothing was stored: fetch the head, rebuild and sign
    /// again.
    #[error("{reason}")]
    Conflict {
        /// The chain.
        chain: String,
        /// Its current head (`None`: the chain is empty).
        head: Option<ChainHead>,
        /// Stable code: `seq`, `prev` or `conflict`.
        rule: String,
        /// What did not match.
        reason: String,
    },
    /// A read is not authenticated (401).
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    /// The resource does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The request itself is wrong: a malformed id in the path, an unreadable body (400).
    #[error("{0}")]
    BadRequest(String),
    /// The store is unreachable or overloaded (503 with `Retry-After`). Retrying is safe.
    #[error("the ledger store is unavailable: {0}; retry later")]
    Unavailable(String),
    /// Anything else: a store failure or inconsistency that an operator must look at (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl GatewayError {
    /// The HTTP status of this error: the single mapping used by every route.
    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::MalformedJson(_) | GatewayError::BadRequest(_) => StatusCode::BAD_REQUEST,
            GatewayError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            GatewayError::Conflict { .. } => StatusCode::CONFLICT,
            GatewayError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            GatewayError::NotFound(_) => StatusCode::NOT_FOUND,
            GatewayError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable code naming what refused the request: a validation rule (`signature`,
    /// `state/custody_gap`, ...), an authentication check (`auth/...`), or one of `json`,
    /// `body_size`, `conflict`, `not_found`, `bad_request`, `unavailable`, `internal`.
    pub fn rule(&self) -> String {
        match self {
            GatewayError::BodyTooLarge { .. } => "body_size".to_string(),
            GatewayError::MalformedJson(_) => "json".to_string(),
            GatewayError::Invalid(e) => e.rule(),
            GatewayError::Conflict { rule, .. } => rule.clone(),
            GatewayError::Unauthorized(e) => e.rule().to_string(),
            GatewayError::NotFound(_) => "not_found".to_string(),
            GatewayError::BadRequest(_) => "bad_request".to_string(),
            GatewayError::Unavailable(_) => "unavailable".to_string(),
            GatewayError::Internal(_) => "internal".to_string(),
        }
    }

    /// The label of this error in the `outcome` of the appends counter.
    pub(crate) fn append_outcome(&self) -> &'static str {
        match self {
            GatewayError::BodyTooLarge { .. } => "too_large",
            GatewayError::MalformedJson(_) | GatewayError::BadRequest(_) => "malformed",
            GatewayError::Invalid(_) => "invalid",
            GatewayError::Conflict { .. } => "conflict",
            GatewayError::Unavailable(_) => "unavailable",
            GatewayError::Unauthorized(_)
            | GatewayError::NotFound(_)
            | GatewayError::Internal(_) => "error",
        }
    }

    /// Classifies a parse failure of a submitted record: malformed JSON (400) or a record that
    /// breaks the wire format (422, rule `format`).
    pub fn from_format(e: FormatError) -> Self {
        match e {
            FormatError::Json(_) => GatewayError::MalformedJson(e),
            other => GatewayError::Invalid(Box::new(ValidationError::Format(other))),
        }
    }
}

impl From<StoreError> for GatewayError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => GatewayError::Unavailable(m),
            StoreError::Conflict { chain, head } => GatewayError::Conflict {
                reason: format!("chain {chain} has moved on: another writer extended it first; fetch the head and sign again"),
                rule: "conflict".to_string(),
                chain,
                head,
            },
            other => GatewayError::Internal(other.to_string()),
        }
    }
}

impl From<AppendError> for GatewayError {
    fn from(e: AppendError) -> Self {
        match e {
            AppendError::Invalid(v) => GatewayError::Invalid(v),
            AppendError::Conflict {
                chain,
                head,
                rule,
                reason,
            } => GatewayError::Conflict {
                chain,
                head,
                rule,
                reason,
            },
            AppendError::Store(s) => s.into(),
            other => GatewayError::Internal(other.to_string()),
        }
    }
}

fn head_json(head: &Option<ChainHead>) -> Value {
    match head {
        Some(h) => json!({"seq": h.seq, "hash": h.hash.to_hex()}),
        None => Value::Null,
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = json!({"error": {"rule": self.rule(), "message": self.to_string()}});
        if let GatewayError::Conflict { head, .. } = &self {
            body["head"] = head_json(head);
        }
        let mut response = (status, Json(body)).into_response();
        match &self {
            GatewayError::Unavailable(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
            }
            GatewayError::Unauthorized(_) => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Custody-Signature"),
                );
            }
            _ => {}
        }
        response
    }
}
