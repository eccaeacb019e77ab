//! The gateway's one error type, and the one place where errors become HTTP statuses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use custody_core::chain::{ChainConflict, ChainHead};
use custody_core::record::FormatError;
use custody_core::validate::ValidationError;
use custody_core::Rule;
use custody_ledger::AppendError;
use custody_store::StoreError;
use serde_json::{json, Value};

use crate::auth::AuthError;

/// Seconds a client is asked to wait (`Retry-After`) when the store is unavailable.
pub const RETRY_AFTER_SECS: u32 = 2;

/// The most characters of one quoted value or one word of an error message sent back: a
/// longer one (a 100 KB header field, a long path) is cut there and followed by `…` and its
/// length, so an error never echoes a large input back whole.
pub const MAX_ECHO_CHARS: usize = 200;

/// The most characters of an error message sent back, after [`MAX_ECHO_CHARS`] was applied
/// to each value it quotes.
pub const MAX_MESSAGE_CHARS: usize = 1000;

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
    /// A batch append is over the batch limits (413, rule `batch_size`): too many records or
    /// too many bytes. Nothing was stored. The client's bug: send smaller batches.
    #[error("{0}")]
    BatchTooLarge(String),
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
    /// writer got there first) (409, with the chain's `head`). Nothing was stored: fetch the
    /// head, rebuild and sign again.
    #[error(transparent)]
    Conflict(ChainConflict),
    /// A read is not authenticated (401).
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    /// The reader's roles do not allow this view (403, rule `forbidden`): the role-by-view
    /// matrix of `custody_views::access`. The refusal is written to the access log.
    #[error("{0}")]
    Forbidden(String),
    /// The resource does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The request itself is wrong: a malformed id in the path, an unreadable body (400).
    #[error("{0}")]
    BadRequest(String),
    /// The body is not declared as JSON: no `Content-Type`, or another media type (415).
    /// Nothing was read or stored.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The route exists but not for this method (405); the answer carries `Allow`.
    #[error("method {method} is not allowed on {path}: use {allowed} (see docs/API.md)")]
    MethodNotAllowed {
        /// The method of the request.
        method: String,
        /// The request path.
        path: String,
        /// The methods the route answers, as in the `Allow` header.
        allowed: String,
    },
    /// The request body did not arrive within the request time-out (408). Nothing was stored;
    /// the connection is closed.
    #[error("the request body did not arrive within {secs} s: send the whole request at once")]
    RequestTimeout {
        /// The time-out, in whole seconds (rounded up).
        secs: u64,
    },
    /// Too many requests from one signing key or client address (429 with `Retry-After`,
    /// rule `rate_limited`; [`crate::ratelimit`]). Nothing was read or stored.
    #[error("{0}")]
    RateLimited(String),
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
            GatewayError::BodyTooLarge { .. } | GatewayError::BatchTooLarge(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            GatewayError::MalformedJson(_) | GatewayError::BadRequest(_) => StatusCode::BAD_REQUEST,
            GatewayError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            GatewayError::Conflict(_) => StatusCode::CONFLICT,
            GatewayError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            GatewayError::NotFound(_) => StatusCode::NOT_FOUND,
            GatewayError::Forbidden(_) => StatusCode::FORBIDDEN,
            GatewayError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            GatewayError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            GatewayError::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            GatewayError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            GatewayError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The rule that refused the request, whose stable code is the `rule` of the answer: a
    /// validation rule (`signature`, `state/custody_gap`, ...), a conflict (`seq`, `prev`,
    /// `conflict`), an authentication check ([`Rule::Auth`], `auth/...`), or one of
    /// [`Rule::REQUEST`] (`json`, `body_size`, `forbidden`, `not_found`, `bad_request`, `media_type`,
    /// `method_not_allowed`, `request_timeout`, `rate_limited`, `unavailable`, `internal`).
    pub fn rule(&self) -> Rule {
        match self {
            GatewayError::BodyTooLarge { .. } => Rule::BodySize,
            GatewayError::BatchTooLarge(_) => Rule::BatchSize,
            GatewayError::MalformedJson(_) => Rule::Json,
            GatewayError::Invalid(e) => e.rule(),
            GatewayError::Conflict(conflict) => conflict.rule(),
            GatewayError::Unauthorized(e) => e.rule(),
            GatewayError::NotFound(_) => Rule::NotFound,
            GatewayError::Forbidden(_) => Rule::Forbidden,
            GatewayError::BadRequest(_) => Rule::BadRequest,
            GatewayError::UnsupportedMediaType(_) => Rule::MediaType,
            GatewayError::MethodNotAllowed { .. } => Rule::MethodNotAllowed,
            GatewayError::RequestTimeout { .. } => Rule::RequestTimeout,
            GatewayError::RateLimited(_) => Rule::RateLimited,
            GatewayError::Unavailable(_) => Rule::Unavailable,
            GatewayError::Internal(_) => Rule::Internal,
        }
    }

    /// The label of this error in the `outcome` of the appends counter.
    pub(crate) fn append_outcome(&self) -> &'static str {
        match self {
            GatewayError::BodyTooLarge { .. } | GatewayError::BatchTooLarge(_) => "too_large",
            GatewayError::MalformedJson(_)
            | GatewayError::BadRequest(_)
            | GatewayError::UnsupportedMediaType(_) => "malformed",
            GatewayError::RequestTimeout { .. } => "timeout",
            GatewayError::Invalid(_) => "invalid",
            GatewayError::Conflict(_) => "conflict",
            GatewayError::Unavailable(_) => "unavailable",
            GatewayError::RateLimited(_) => "rate_limited",
            GatewayError::Unauthorized(_)
            | GatewayError::NotFound(_)
            | GatewayError::Forbidden(_)
            | GatewayError::MethodNotAllowed { .. }
            | GatewayError::Internal(_) => "error",
        }
    }

    /// Classifies a parse failure of a submitted record: malformed JSON (400) or a record that
    /// breaks the wire format (422, rule `format`).
    ///
    /// `source` is the text the record was parsed from: a refused number is named as it was
    /// written there (`18446744073709551616`, not the double it was parsed to).
    pub fn from_format(e: FormatError, source: &[u8]) -> Self {
        let e = match e {
            FormatError::Number(n) => FormatError::Number(n.as_sent(source)),
            other => other,
        };
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
            StoreError::Conflict(conflict) => GatewayError::Conflict(conflict),
            other => GatewayError::Internal(other.to_string()),
        }
    }
}

impl From<AppendError> for GatewayError {
    fn from(e: AppendError) -> Self {
        match e {
            AppendError::Invalid(v) => GatewayError::Invalid(v),
            AppendError::Conflict(conflict) => GatewayError::Conflict(conflict),
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

impl GatewayError {
    /// The JSON body of this error's answer: `{"error": {"rule", "message"}}`, plus `"head"`
    /// for a conflict. The same for a single answer and for one line of a batch's answer.
    pub(crate) fn body(&self) -> Value {
        let message = cap_echoes(&self.to_string());
        let mut body = json!({"error": {"rule": self.rule(), "message": message}});
        if let GatewayError::Conflict(conflict) = self {
            body["head"] = head_json(&conflict.head);
        }
        body
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = self.body();
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
            GatewayError::MethodNotAllowed { allowed, .. } => {
                if let Ok(v) = HeaderValue::from_str(allowed) {
                    response.headers_mut().insert(header::ALLOW, v);
                }
            }
            GatewayError::RequestTimeout { .. } => {
                // The rest of the body may still be on its way: do not read it as a request.
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}

/// `message` with every quoted value (`"..."`) and every other word longer than
/// [`MAX_ECHO_CHARS`] cut to that many characters, followed by `…` and the original length,
/// and the whole cut to [`MAX_MESSAGE_CHARS`]. Messages quote what was sent (an agency id, a
/// member name, a path): this keeps the answer to a hostile input small.
pub(crate) fn cap_echoes(message: &str) -> String {
    let chars: Vec<char> = message.chars().collect();
    let mut out = String::with_capacity(message.len().min(4 * MAX_MESSAGE_CHARS));
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            out.push(c);
            i += 1;
            continue;
        }
        if c == '"' {
            // A quoted value as `{:?}` writes it: up to the closing quote not escaped.
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            let inner_end = j.min(chars.len());
            let inner = &chars[i + 1..inner_end];
            if inner.len() > MAX_ECHO_CHARS {
                out.push('"');
                out.extend(&inner[..MAX_ECHO_CHARS]);
                out.push_str("…\"");
                out.push_str(&format!(" ({} characters)", inner.len()));
            } else {
                out.extend(&chars[i..(inner_end + 1).min(chars.len())]);
            }
            i = inner_end + 1;
        } else {
            let mut j = i;
            while j < chars.len() && !chars[j].is_whitespace() && chars[j] != '"' {
                j += 1;
            }
            // Punctuation ending the word belongs to the sentence, not to what is quoted.
            let mut end = j;
            while end > i + 1 && matches!(chars[end - 1], ':' | ',' | ';' | '.') {
                end -= 1;
            }
            let word = &chars[i..end];
            if word.len() > MAX_ECHO_CHARS {
                out.extend(&word[..MAX_ECHO_CHARS]);
                out.push_str(&format!("… ({} characters)", word.len()));
            } else {
                out.extend(word);
            }
            out.extend(&chars[end..j]);
            i = j;
        }
    }
    let total = out.chars().count();
    if total > MAX_MESSAGE_CHARS {
        let mut cut: String = out.chars().take(MAX_MESSAGE_CHARS).collect();
        cut.push_str(&format!("… (message of {total} characters cut)"));
        cut
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_echoes_are_cut_with_their_length() {
        let short = r#"/header/agency "ml-x" is not an agency id: "a\"b" ok"#;
        assert_eq!(cap_echoes(short), short);

        let long = format!(
            r#"/header/agency "{}" is not an agency id"#,
            "X".repeat(100_000)
        );
        let capped = cap_echoes(&long);
        assert_eq!(
            capped,
            format!(
                r#"/header/agency "{}…" (100000 characters) is not an agency id"#,
                "X".repeat(MAX_ECHO_CHARS)
            )
        );

        let word = format!("no route /{}: see docs/API.md", "p".repeat(5000));
        assert_eq!(
            cap_echoes(&word),
            format!(
                "no route /{}… (5001 characters): see docs/API.md",
                "p".repeat(MAX_ECHO_CHARS - 1)
            )
        );

        // An escaped quote does not end the value; an unclosed quote runs to the end.
        let escaped = format!(r#"x "{}\"{}" y"#, "a".repeat(150), "b".repeat(150));
        assert!(cap_echoes(&escaped).ends_with(r#"…" (302 characters) y"#));
        let unclosed = format!("x \"{}", "c".repeat(300));
        assert!(cap_echoes(&unclosed).ends_with("…\" (300 characters)"));

        // Many short words: the whole message is cut.
        let many = "word ".repeat(1000);
        let capped = cap_echoes(&many);
        assert!(
            capped.ends_with("… (message of 5000 characters cut)"),
            "{capped}"
        );
        assert_eq!(
            capped.chars().count(),
            MAX_MESSAGE_CHARS + "… (message of 5000 characters cut)".chars().count()
        );
    }
}
