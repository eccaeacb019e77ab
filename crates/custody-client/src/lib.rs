//! Client of the custody-ledger HTTP API (`docs/API.md`): signed reads, appends, and errors
//! typed from the gateway's answers.
//!
//! - [`sign_request`] signs a request (the three `Custody-*` headers) over
//!   [`custody_core::request::signing_message`], the one definition of the signed bytes, which
//!   the gateway verifies (`custody_gateway::auth::verify_request`).
//! - [`Client`] appends records (`POST /v1/events`) and makes signed reads (`GET /v1/...`).
//! - [`ApiError`] says why a request failed, from the status and the gateway's error body
//!   `{"error": {"rule", "message"}}`: a stale record with the chain's current head (409), a
//!   store that asks to retry after some seconds (503 `Retry-After`), a record refused by a rule
//!   (422), a read that is not authenticated (401), and so on. The `rule` of an answer is an
//!   [`ApiRule`]: a [`Rule`] when this client knows the code, the code as sent otherwise (a
//!   gateway of a newer version may answer with a code added since).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use custody_core::chain::ChainHead;
use custody_core::encoding::b64url;
use custody_core::merkle::{ConsistencyProofJson, InclusionProofJson};
use custody_core::request::{signing_message, HEADER_DATE, HEADER_KEY, HEADER_SIGNATURE};
use custody_core::{Hash, Record, Rule, SecretKey, Timestamp};
use serde_json::Value;

/// Signs a request: returns the three headers (name, value) to send with it.
///
/// `method` in upper case, `path_and_query` exactly what goes on the request line (e.g.
/// `/v1/chains/d-01jd8x3k5q7v9w2y4z6b8c0e1f`), `date` the client clock, `body` the exact body
/// bytes (empty for a GET).
pub fn sign_request(
    key: &SecretKey,
    method: &str,
    path_and_query: &str,
    date: &Timestamp,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let signature = key.sign(&signing_message(
        method,
        path_and_query,
        date.as_str(),
        body,
    ));
    vec![
        (HEADER_KEY, key.public().to_string()),
        (HEADER_DATE, date.as_str().to_string()),
        (HEADER_SIGNATURE, b64url(&signature)),
    ]
}

/// The system clock in whole seconds, as a wire timestamp (the `Custody-Date` of a request).
pub fn system_now() -> Timestamp {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Timestamp::from_unix_seconds(secs)
}

/// What the gateway answered to an accepted append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The record's ledger position (its Merkle leaf index).
    pub position: u64,
    /// The record's hash.
    pub hash: Hash,
    /// Whether the record was already stored (200, a retry) rather than appended now (201).
    pub duplicate: bool,
}

/// The `rule` of an error answer, as the gateway sent it.
///
/// Forward compatible: a gateway of a newer version may answer with a code this client does not
/// know (a rule added since); it is kept as sent ([`ApiRule::Unknown`]) rather than making the
/// whole answer unreadable. Compare with a [`Rule`] directly (`rule == Rule::Seq`), or take
/// [`ApiRule::known`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ApiRule {
    /// A code of this version.
    Known(Rule),
    /// A code this client does not know, as sent.
    Unknown(String),
}

impl ApiRule {
    /// The rule of a code as sent.
    pub fn parse(code: &str) -> ApiRule {
        code.parse()
            .map_or_else(|_| ApiRule::Unknown(code.to_string()), ApiRule::Known)
    }

    /// The rule, when this client knows the code.
    pub fn known(&self) -> Option<Rule> {
        match self {
            ApiRule::Known(rule) => Some(*rule),
            ApiRule::Unknown(_) => None,
        }
    }

    /// The code, as sent.
    pub fn code(&self) -> &str {
        match self {
            ApiRule::Known(rule) => rule.code(),
            ApiRule::Unknown(code) => code,
        }
    }
}

impl From<Rule> for ApiRule {
    fn from(rule: Rule) -> ApiRule {
        ApiRule::Known(rule)
    }
}

impl PartialEq<Rule> for ApiRule {
    fn eq(&self, other: &Rule) -> bool {
        self.known() == Some(*other)
    }
}

impl std::fmt::Display for ApiRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The gateway's answer to one record of a batch ([`Client::append_batch`]), in the shape of
/// a single append's answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum BatchItemOutcome {
    /// Stored now (`duplicate: false`, 201) or already stored (`duplicate: true`, 200).
    Stored(Appended),
    /// Refused or failed, typed as a single append's error answer would be
    /// ([`ApiError::Conflict`] with the head, [`ApiError::Refused`] with the rule, ...).
    /// Nothing of this record was stored.
    Failed(ApiError),
}

/// What the gateway did with a fork report ([`Client::report_fork`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForkReport {
    /// The gateway's ledger holds `stored` at that place and keeps the reported version in its
    /// fork alarm log; `new` is false when it was already kept.
    Kept {
        /// Hash of the record the gateway's ledger holds there.
        stored: Hash,
        /// Whether this report made a new alarm.
        new: bool,
    },
    /// The reported record is the one the gateway's ledger holds: no fork.
    SameRecord {
        /// Its ledger position.
        position: u64,
    },
}

/// Why a request to the gateway failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 409: the chain moved on (`seq`, `prev`: signed against an older head; `conflict`:
    /// another writer was first). Nothing was stored: rebuild the record on `head` (`seq` =
    /// head seq + 1, `prev` = head hash), sign again and send it.
    #[error("the chain moved on ({rule}): {message}")]
    Conflict {
        /// [`Rule::Seq`], [`Rule::Prev`] or [`Rule::Conflict`].
        rule: ApiRule,
        /// The gateway's message.
        message: String,
        /// The chain's current head (`None`: the chain is empty).
        head: Option<ChainHead>,
    },
    /// 503: the store is unavailable. Retrying the same request is safe, after `retry_after`.
    #[error("the ledger is unavailable ({message}); retry after {} s", retry_after.map_or(0, |d| d.as_secs()))]
    Unavailable {
        /// The gateway's message.
        message: String,
        /// The `Retry-After` header, when the gateway sent one.
        retry_after: Option<Duration>,
    },
    /// 429: too many requests from this client's key or address (the gateway's rate limit).
    /// Nothing was read or stored; the same request may be sent again after `retry_after`.
    #[error("too many requests, refused by the gateway's rate limit ({message}); retry after {} s", retry_after.map_or(0, |d| d.as_secs()))]
    RateLimited {
        /// The gateway's message.
        message: String,
        /// The `Retry-After` header, when the gateway sent one.
        retry_after: Option<Duration>,
    },
    /// 422: the record was refused by a rule of the wire format or of validation (`rule` is
    /// the rule code of `docs/SPEC.md` section 10). Nothing was stored.
    #[error("record refused ({rule}): {message}")]
    Refused {
        /// The rule (`signature`, `state/custody_gap`, ...).
        rule: ApiRule,
        /// The gateway's message.
        message: String,
    },
    /// 401: the read is not authenticated (`rule` is `auth/...`).
    #[error("not authenticated ({rule}): {message}")]
    Unauthorized {
        /// The check that failed ([`Rule::Auth`]: `auth/unknown_key`, `auth/date`, ...).
        rule: ApiRule,
        /// The gateway's message.
        message: String,
    },
    /// 403: the reader's roles do not allow this view (the gateway's role-by-view matrix).
    #[error("refused by the read matrix: {message}")]
    Forbidden {
        /// The gateway's message.
        message: String,
    },
    /// 404: no such chain, event or route.
    #[error("not found: {message}")]
    NotFound {
        /// The gateway's message.
        message: String,
    },
    /// 415: the body was not declared as JSON in UTF-8.
    #[error("media type refused: {message}")]
    UnsupportedMediaType {
        /// The gateway's message.
        message: String,
    },
    /// Any other error answer of the documented form (400 `json`, 413 `body_size`, 500
    /// `internal`, ...).
    #[error("the gateway answered {status} ({rule}): {message}")]
    Other {
        /// The HTTP status.
        status: u16,
        /// The `rule` of the error body.
        rule: ApiRule,
        /// The gateway's message.
        message: String,
    },
    /// The answer is not of the form `docs/API.md` gives (not JSON, no error body, a missing
    /// field): a gateway of another version, or something else on that address.
    #[error("unexpected answer {status} from the gateway: {problem}")]
    UnexpectedAnswer {
        /// The HTTP status.
        status: u16,
        /// What is wrong with it.
        problem: String,
    },
    /// The request did not get an answer: connection refused or cut, time-out. The request
    /// may or may not have been processed; an append can be sent again as it is.
    #[error("no answer from the gateway: {0}")]
    Transport(#[from] reqwest::Error),
    /// A read needs a key: build the client with [`Client::with_key`].
    #[error("a signed read needs a key: give the client one with Client::with_key")]
    NoKey,
}

impl ApiError {
    /// The rule of the gateway's answer, when there was one and this client knows its code
    /// ([`ApiError::rule_code`] gives any code as sent).
    pub fn rule(&self) -> Option<Rule> {
        match self {
            ApiError::Conflict { rule, .. }
            | ApiError::Refused { rule, .. }
            | ApiError::Unauthorized { rule, .. }
            | ApiError::Other { rule, .. } => rule.known(),
            ApiError::Unavailable { .. } => Some(Rule::Unavailable),
            ApiError::RateLimited { .. } => Some(Rule::RateLimited),
            ApiError::Forbidden { .. } => Some(Rule::Forbidden),
            ApiError::NotFound { .. } => Some(Rule::NotFound),
            ApiError::UnsupportedMediaType { .. } => Some(Rule::MediaType),
            ApiError::UnexpectedAnswer { .. } | ApiError::Transport(_) | ApiError::NoKey => None,
        }
    }

    /// The stable `rule` code of the gateway's answer, when there was one, known to this
    /// client or not.
    pub fn rule_code(&self) -> Option<&str> {
        match self {
            ApiError::Conflict { rule, .. }
            | ApiError::Refused { rule, .. }
            | ApiError::Unauthorized { rule, .. }
            | ApiError::Other { rule, .. } => Some(rule.code()),
            other => other.rule().map(Rule::code),
        }
    }

    /// Whether the gateway asked for the same request again later (429 rate limited, 503
    /// unavailable), and after how long: its `Retry-After`, or one second when it sent none.
    /// `None` for every other error.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Unavailable { retry_after, .. }
            | ApiError::RateLimited { retry_after, .. } => {
                Some(retry_after.unwrap_or(Duration::from_secs(1)))
            }
            _ => None,
        }
    }

    /// Types an error answer: its status, its `Retry-After` header (if any) and its body.
    pub fn from_answer(status: u16, retry_after: Option<&str>, body: &[u8]) -> ApiError {
        let unexpected = |problem: String| ApiError::UnexpectedAnswer { status, problem };
        let value: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return unexpected(format!("the body is not JSON ({e})")),
        };
        let error = &value["error"];
        let (Some(rule), Some(message)) = (error["rule"].as_str(), error["message"].as_str())
        else {
            return unexpected(
                "the body has no {\"error\": {\"rule\", \"message\"}} member".to_string(),
            );
        };
        let (rule, message) = (ApiRule::parse(rule), message.to_string());
        match status {
            409 => match serde_json::from_value::<Option<ChainHead>>(value["head"].clone()) {
                Ok(head) if value.get("head").is_some() => ApiError::Conflict {
                    rule,
                    message,
                    head,
                },
                Ok(_) => unexpected("a conflict without the chain's \"head\"".to_string()),
                Err(e) => unexpected(format!("the conflict's \"head\" is unreadable: {e}")),
            },
            503 => ApiError::Unavailable {
                message,
                retry_after: seconds(retry_after),
            },
            429 => ApiError::RateLimited {
                message,
                retry_after: seconds(retry_after),
            },
            422 => ApiError::Refused { rule, message },
            401 => ApiError::Unauthorized { rule, message },
            403 => ApiError::Forbidden { message },
            404 => ApiError::NotFound { message },
            415 => ApiError::UnsupportedMediaType { message },
            _ => ApiError::Other {
                status,
                rule,
                message,
            },
        }
    }
}

/// A `Retry-After` of delay-seconds (the form the gateway sends).
fn seconds(retry_after: Option<&str>) -> Option<Duration> {
    retry_after
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// How long [`retrying`] waits when the gateway asks to come back later (429, 503).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The longest single wait: a longer `Retry-After` is waited this long, then the request
    /// is sent again.
    pub max_wait: Duration,
    /// The most time spent waiting for one request, all its waits together: a wait that would
    /// go past it is not made, and the gateway's error is returned.
    pub budget: Duration,
}

impl RetryPolicy {
    /// No waiting: the first 429 or 503 is returned.
    pub const NEVER: RetryPolicy = RetryPolicy {
        max_wait: Duration::ZERO,
        budget: Duration::ZERO,
    };

    /// How long to wait before sending again after `error`, having waited `waited` already;
    /// `None`: do not send again (not a 429/503, or the budget is spent).
    pub fn wait_for(&self, error: &ApiError, waited: Duration) -> Option<Duration> {
        let wait = error.retry_after()?.min(self.max_wait);
        (!wait.is_zero() && waited + wait <= self.budget).then_some(wait)
    }
}

/// Runs `call` until it is not refused with a 429 or 503 (see [`ApiError::retry_after`]),
/// waiting the gateway's `Retry-After` between attempts as `policy` allows; `on_wait` is told
/// each wait before it is made (to say so to the user). Safe for every request of this client:
/// a refused request read or stored nothing, and an append sent again is recognised.
pub async fn retrying<T, F, Fut>(
    policy: RetryPolicy,
    mut on_wait: impl FnMut(&ApiError, Duration),
    mut call: F,
) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let mut waited = Duration::ZERO;
    loop {
        match call().await {
            Err(e) => match policy.wait_for(&e, waited) {
                Some(wait) => {
                    on_wait(&e, wait);
                    tokio::time::sleep(wait).await;
                    waited += wait;
                }
                None => return Err(e),
            },
            done => return done,
        }
    }
}

/// A client of one gateway, with an optional key for signed reads.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: Option<SecretKey>,
    /// Seconds added to this machine's clock to date signed reads (the gateway's clock minus
    /// this machine's: see [`Client::with_clock_offset`]).
    clock_offset: i64,
}

impl Client {
    /// A client of the gateway at `base` (`http://127.0.0.1:8080`, no trailing path), with its
    /// own connection pool.
    pub fn new(base: &str) -> Client {
        Client::with_http(base, reqwest::Client::new())
    }

    /// A client of the gateway at `base` over an HTTP client built by the caller (its pool,
    /// time-outs).
    pub fn with_http(base: &str, http: reqwest::Client) -> Client {
        Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            key: None,
            clock_offset: 0,
        }
    }

    /// The same client, dating its signed reads `seconds` after this machine's clock: the
    /// gateway's clock minus this machine's, as [`Client::server_clock`] measured it. A field
    /// post whose clock is hours off can still make signed reads (the gateway accepts a
    /// `Custody-Date` within minutes of its own clock only), the date still being fresh.
    pub fn with_clock_offset(mut self, seconds: i64) -> Client {
        self.clock_offset = seconds;
        self
    }

    /// The date signed reads carry: this machine's clock plus the offset.
    fn read_date(&self) -> Timestamp {
        system_now().plus_seconds(self.clock_offset)
    }

    /// The gateway's clock, from the HTTP `Date` header of its answer to an unsigned
    /// `GET /healthz` (whole seconds; `None` when it sent none or one this client cannot
    /// read), and this machine's clock when the answer came.
    pub async fn server_clock(&self) -> Result<(Option<Timestamp>, Timestamp), ApiError> {
        let answer = self
            .http
            .get(format!("{}/healthz", self.base))
            .send()
            .await?;
        let local = system_now();
        let server = answer
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_secs()).ok())
            .map(Timestamp::from_unix_seconds);
        Ok((server, local))
    }

    /// The same client, signing its reads with `key`.
    pub fn with_key(mut self, key: SecretKey) -> Client {
        self.key = Some(key);
        self
    }

    /// The gateway's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Appends a record (`POST /v1/events`, with its payload if it has one). A retry of a
    /// stored record is a success with `duplicate: true`.
    pub async fn append(&self, record: &Record) -> Result<Appended, ApiError> {
        let answer = self
            .http
            .post(format!("{}/v1/events", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(record.to_json_line())
            .send()
            .await?;
        let status = answer.status().as_u16();
        let value = body_of(answer).await?;
        let position = value["position"].as_u64();
        let hash = value["hash"].as_str().and_then(|h| h.parse::<Hash>().ok());
        match (position, hash) {
            (Some(position), Some(hash)) => Ok(Appended {
                position,
                hash,
                duplicate: status == 200,
            }),
            _ => Err(ApiError::UnexpectedAnswer {
                status,
                problem: "an accepted append without \"position\" and \"hash\"".to_string(),
            }),
        }
    }

    /// Appends records in one request (`POST /v1/events` as `application/x-ndjson`, one record
    /// per line): one outcome per record, in order. The gateway validates each record as a
    /// single append; a refused record does not stop the others (those after it on the same
    /// chain fail on `seq` or `prev`). The whole batch failing (413 over the batch limits, 503,
    /// no answer) is the `Err`: then nothing, or for a transport error possibly part of it, was
    /// stored, and the same batch can be sent again (stored records answer as duplicates).
    pub async fn append_batch(
        &self,
        records: &[Record],
    ) -> Result<Vec<BatchItemOutcome>, ApiError> {
        let mut body = String::new();
        for r in records {
            body.push_str(&r.to_json_line());
            body.push('\n');
        }
        let answer = self
            .http
            .post(format!("{}/v1/events", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
            .body(body)
            .send()
            .await?;
        let (status, bytes) = success_bytes(answer).await?;
        let unexpected = |problem: String| ApiError::UnexpectedAnswer {
            status: status.as_u16(),
            problem,
        };
        let mut out = Vec::with_capacity(records.len());
        for line in bytes.split(|b| *b == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let value: Value = serde_json::from_slice(line)
                .map_err(|e| unexpected(format!("an answer line is not JSON ({e})")))?;
            let Some(item_status) = value["status"].as_u64().and_then(|s| u16::try_from(s).ok())
            else {
                return Err(unexpected("an answer line without \"status\"".to_string()));
            };
            if (200..300).contains(&item_status) {
                let position = value["position"].as_u64();
                let hash = value["hash"].as_str().and_then(|h| h.parse::<Hash>().ok());
                let (Some(position), Some(hash)) = (position, hash) else {
                    return Err(unexpected(
                        "an accepted record without \"position\" and \"hash\"".to_string(),
                    ));
                };
                out.push(BatchItemOutcome::Stored(Appended {
                    position,
                    hash,
                    duplicate: item_status == 200,
                }));
            } else {
                out.push(BatchItemOutcome::Failed(ApiError::from_answer(
                    item_status,
                    None,
                    line,
                )));
            }
        }
        if out.len() != records.len() {
            return Err(unexpected(format!(
                "{} answers to a batch of {} records",
                out.len(),
                records.len()
            )));
        }
        Ok(out)
    }

    /// Reports another version of a record the gateway's ledger holds (`POST /v1/forks`): a
    /// fork found by a post's sync. The gateway keeps it in its fork alarm log when it is
    /// validly signed by a key of the ledger; a forged record is refused
    /// ([`ApiError::Refused`]), a record at a place the gateway's ledger has not filled is
    /// [`ApiError::NotFound`].
    pub async fn report_fork(&self, other: &Record) -> Result<ForkReport, ApiError> {
        let answer = self
            .http
            .post(format!("{}/v1/forks", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(other.to_json_line())
            .send()
            .await?;
        let status = answer.status().as_u16();
        let value = body_of(answer).await?;
        if value["fork"].as_bool() == Some(false) {
            if let Some(position) = value["position"].as_u64() {
                return Ok(ForkReport::SameRecord { position });
            }
        }
        match (
            value["stored"]
                .as_str()
                .and_then(|h| h.parse::<Hash>().ok()),
            value["recorded"].as_bool(),
        ) {
            (Some(stored), Some(new)) => Ok(ForkReport::Kept { stored, new }),
            _ => Err(ApiError::UnexpectedAnswer {
                status,
                problem: "a fork report answer without \"stored\" and \"recorded\"".to_string(),
            }),
        }
    }

    /// `GET /v1/checkpoint`: the latest checkpoint note the ledger's operator published, or
    /// `None` when the gateway has none (404). Unsigned: a checkpoint holds no personal data.
    /// The caller verifies the note with the ledger's verifier key.
    pub async fn checkpoint(&self) -> Result<Option<String>, ApiError> {
        let answer = self
            .http
            .get(format!("{}/v1/checkpoint", self.base))
            .send()
            .await?;
        if answer.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let (status, body) = success_bytes(answer).await?;
        String::from_utf8(body)
            .map(Some)
            .map_err(|_| ApiError::UnexpectedAnswer {
                status: status.as_u16(),
                problem: "the checkpoint is not UTF-8 text".to_string(),
            })
    }

    /// `GET /v1/proof/inclusion?hash=H[&size=N]`: the inclusion proof of the event with hash
    /// `hash` in the tree of `size` leaves (default: the gateway's current tree). Unsigned: a
    /// proof holds hashes only. The caller verifies it ([`InclusionProofJson::verify`]) against
    /// the root of a checkpoint it trusts of that size.
    pub async fn inclusion_proof(
        &self,
        hash: &Hash,
        size: Option<u64>,
    ) -> Result<InclusionProofJson, ApiError> {
        let mut path = format!("/v1/proof/inclusion?hash={}", hash.to_hex());
        if let Some(size) = size {
            path.push_str(&format!("&size={size}"));
        }
        self.proof(&path).await
    }

    /// `GET /v1/proof/consistency?old=M[&new=N]`: the consistency proof between the trees of
    /// `old` and `new` leaves (default `new`: the gateway's current tree). Unsigned. The caller
    /// verifies it ([`ConsistencyProofJson::verify`]) between two checkpoints it holds.
    pub async fn consistency_proof(
        &self,
        old: u64,
        new: Option<u64>,
    ) -> Result<ConsistencyProofJson, ApiError> {
        let mut path = format!("/v1/proof/consistency?old={old}");
        if let Some(new) = new {
            path.push_str(&format!("&new={new}"));
        }
        self.proof(&path).await
    }

    async fn proof<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        let answer = self.http.get(format!("{}{path}", self.base)).send().await?;
        let (status, body) = success_bytes(answer).await?;
        serde_json::from_slice(&body).map_err(|e| ApiError::UnexpectedAnswer {
            status: status.as_u16(),
            problem: format!("the body is not a proof ({e})"),
        })
    }

    /// `POST /v1/desk/sign-in`, signed with this client's key: a one-time link that opens a
    /// web desk session for the key in a browser (`custody login`). Returns the whole link
    /// (this client's base URL followed by the path the gateway answered) and the seconds it
    /// stays valid.
    pub async fn desk_sign_in(&self) -> Result<(String, u64), ApiError> {
        let key = self.key.as_ref().ok_or(ApiError::NoKey)?;
        let path = "/v1/desk/sign-in";
        let mut request = self.http.post(format!("{}{path}", self.base));
        for (name, value) in sign_request(key, "POST", path, &self.read_date(), b"") {
            request = request.header(name, value);
        }
        let value = body_of(request.send().await?).await?;
        match (value["path"].as_str(), value["expires_in"].as_u64()) {
            (Some(p), Some(secs)) if p.starts_with("/desk/sign-in?code=") => {
                Ok((format!("{}{p}", self.base), secs))
            }
            _ => Err(ApiError::UnexpectedAnswer {
                status: 201,
                problem: "a sign-in answer without \"path\" and \"expires_in\"".to_string(),
            }),
        }
    }

    /// A signed `GET` of `path_and_query` (e.g. `/v1/chains/authority`), dated now: the
    /// answer's JSON body.
    pub async fn get(&self, path_and_query: &str) -> Result<Value, ApiError> {
        self.get_at(path_and_query, &self.read_date()).await
    }

    /// [`Client::get`] dated `date` (the `Custody-Date` sent).
    pub async fn get_at(&self, path_and_query: &str, date: &Timestamp) -> Result<Value, ApiError> {
        let key = self.key.as_ref().ok_or(ApiError::NoKey)?;
        let mut request = self.http.get(format!("{}{path_and_query}", self.base));
        for (name, value) in sign_request(key, "GET", path_and_query, date, b"") {
            request = request.header(name, value);
        }
        body_of(request.send().await?).await
    }

    /// `GET /v1/chains/{chain}`: the chain's records in chain order, as the gateway shows them
    /// to this reader (`{"chain", "code", "records"}`).
    pub async fn chain(&self, chain: &str) -> Result<Value, ApiError> {
        self.get(&format!("/v1/chains/{chain}")).await
    }

    /// `GET /v1/chains/{chain}/head`: the chain's head (`None` for an empty chain), from the
    /// answer `{"chain", "head", "custody"}`.
    pub async fn head(&self, chain: &str) -> Result<Option<ChainHead>, ApiError> {
        let value = self.get(&format!("/v1/chains/{chain}/head")).await?;
        serde_json::from_value(value["head"].clone()).map_err(|e| ApiError::UnexpectedAnswer {
            status: 200,
            problem: format!("the chain's \"head\" is unreadable: {e}"),
        })
    }

    /// `GET /v1/events/{hash}`: one record as the gateway shows it to this reader
    /// (`{"position", "record", "payload_withheld", "payload_state"}`).
    pub async fn event(&self, hash: &Hash) -> Result<Value, ApiError> {
        self.get(&format!("/v1/events/{}", hash.to_hex())).await
    }
}

/// The filters of [`Client::backlog`] (`GET /v1/backlog`); every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BacklogQuery {
    /// Only people at this facility (id).
    pub facility: Option<String>,
    /// Only people whose current order names this court (id).
    pub court: Option<String>,
    /// Only people of this legal status (code: `pre_trial_detention`...).
    pub status: Option<String>,
    /// Only people held on an expired order.
    pub overdue: bool,
    /// The instant (default: the gateway's clock).
    pub at: Option<Timestamp>,
}

impl BacklogQuery {
    /// The path and query of the request, in `format` (`json` or `csv`).
    pub fn path(&self, format: &str) -> String {
        let mut q = Query::default();
        q.add("facility", self.facility.as_deref());
        q.add("court", self.court.as_deref());
        q.add("status", self.status.as_deref());
        q.add("overdue", self.overdue.then_some("true"));
        q.add("at", self.at.as_ref().map(Timestamp::as_str));
        q.add("format", (format != "json").then_some(format));
        q.path("/v1/backlog")
    }
}

/// The filters of [`Client::hearings`] (`GET /v1/hearings`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HearingsQuery {
    /// Only this day (`YYYY-MM-DD`).
    pub day: Option<String>,
    /// Only this court (id).
    pub court: Option<String>,
    /// The instant (default: the gateway's clock).
    pub at: Option<Timestamp>,
}

impl HearingsQuery {
    /// The path and query of the request.
    pub fn path(&self) -> String {
        let mut q = Query::default();
        q.add("day", self.day.as_deref());
        q.add("court", self.court.as_deref());
        q.add("at", self.at.as_ref().map(Timestamp::as_str));
        q.path("/v1/hearings")
    }
}

/// A query string, percent-encoded.
#[derive(Default)]
struct Query(String);

impl Query {
    fn add(&mut self, name: &str, value: Option<&str>) {
        let Some(value) = value else { return };
        self.0.push(if self.0.is_empty() { '?' } else { '&' });
        self.0.push_str(name);
        self.0.push('=');
        for b in value.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
                self.0.push(char::from(b));
            } else {
                self.0.push_str(&format!("%{b:02X}"));
            }
        }
    }

    fn path(self, base: &str) -> String {
        format!("{base}{}", self.0)
    }
}

impl Client {
    /// `GET /v1/backlog`: the pre-trial backlog by facility and by court, as JSON.
    pub async fn backlog(&self, query: &BacklogQuery) -> Result<Value, ApiError> {
        self.get(&query.path("json")).await
    }

    /// `GET /v1/backlog?format=csv`: the backlog's lines as CSV.
    pub async fn backlog_csv(&self, query: &BacklogQuery) -> Result<String, ApiError> {
        self.get_text(&query.path("csv")).await
    }

    /// `GET /v1/alarms`: the time-limit alarms at `at` (default: the gateway's clock).
    pub async fn alarms(&self, at: Option<&Timestamp>) -> Result<Value, ApiError> {
        let mut q = Query::default();
        q.add("at", at.map(Timestamp::as_str));
        self.get(&q.path("/v1/alarms")).await
    }

    /// `GET /v1/whereabouts/{chain}`: where the person of a chain (id or human code) is held;
    /// with `relatives`, the relatives' and counsel's view (art. 18, 20).
    pub async fn whereabouts(
        &self,
        chain: &str,
        relatives: bool,
        at: Option<&Timestamp>,
    ) -> Result<Value, ApiError> {
        let mut q = Query::default();
        q.add("at", at.map(Timestamp::as_str));
        q.add("relatives", relatives.then_some("true"));
        let mut base = String::from("/v1/whereabouts/");
        let mut segment = Query::default();
        segment.add("x", Some(chain));
        base.push_str(segment.0.trim_start_matches("?x="));
        self.get(&q.path(&base)).await
    }

    /// `GET /v1/hearings`: the hearing calendar, as JSON.
    pub async fn hearings(&self, query: &HearingsQuery) -> Result<Value, ApiError> {
        self.get(&query.path()).await
    }

    /// A signed `GET` whose answer is text (CSV), dated now.
    pub async fn get_text(&self, path_and_query: &str) -> Result<String, ApiError> {
        let key = self.key.as_ref().ok_or(ApiError::NoKey)?;
        let mut request = self.http.get(format!("{}{path_and_query}", self.base));
        for (name, value) in sign_request(key, "GET", path_and_query, &self.read_date(), b"") {
            request = request.header(name, value);
        }
        let (status, body) = success_bytes(request.send().await?).await?;
        String::from_utf8(body).map_err(|e| ApiError::UnexpectedAnswer {
            status: status.as_u16(),
            problem: format!("the body is not UTF-8 text ({e})"),
        })
    }
}

/// The status and bytes of a success (2xx), or the typed error of any other answer.
async fn success_bytes(
    answer: reqwest::Response,
) -> Result<(reqwest::StatusCode, Vec<u8>), ApiError> {
    let status = answer.status();
    let retry_after = answer
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = answer.bytes().await?;
    if !status.is_success() {
        return Err(ApiError::from_answer(
            status.as_u16(),
            retry_after.as_deref(),
            &body,
        ));
    }
    Ok((status, body.to_vec()))
}

/// The JSON body of a success (2xx), or the typed error of any other answer.
async fn body_of(answer: reqwest::Response) -> Result<Value, ApiError> {
    let (status, body) = success_bytes(answer).await?;
    serde_json::from_slice(&body).map_err(|e| ApiError::UnexpectedAnswer {
        status: status.as_u16(),
        problem: format!("the body is not JSON ({e})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, retry_after: Option<&str>, body: &str) -> ApiError {
        ApiError::from_answer(status, retry_after, body.as_bytes())
    }

    #[test]
    fn view_queries_are_encoded() {
        let q = BacklogQuery {
            facility: Some("mca-bamako".into()),
            status: Some("pre_trial_detention".into()),
            overdue: true,
            at: Some(Timestamp::parse("2026-12-01T08:00:00Z").expect("ts")),
            ..BacklogQuery::default()
        };
        assert_eq!(
            q.path("csv"),
            "/v1/backlog?facility=mca-bamako&status=pre_trial_detention&overdue=true&at=2026-12-01T08:00:00Z&format=csv"
        );
        assert_eq!(BacklogQuery::default().path("json"), "/v1/backlog");
        let h = HearingsQuery {
            court: Some("a b&c".into()),
            ..HearingsQuery::default()
        };
        assert_eq!(h.path(), "/v1/hearings?court=a%20b%26c");
        assert!(matches!(
            answer(
                403,
                None,
                r#"{"error": {"rule": "forbidden", "message": "no"}}"#
            ),
            ApiError::Forbidden { .. }
        ));
    }

    #[test]
    fn conflicts_carry_the_head() {
        let hash = Hash::of(b"x");
        let body = format!(
            r#"{{"error": {{"rule": "seq", "message": "stale"}}, "head": {{"seq": 7, "hash": "{}"}}}}"#,
            hash.to_hex()
        );
        match answer(409, None, &body) {
            ApiError::Conflict { rule, head, .. } => {
                assert_eq!(rule, Rule::Seq);
                assert_eq!(head, Some(ChainHead { seq: 7, hash }));
            }
            other => panic!("{other:?}"),
        }
        let empty = r#"{"error": {"rule": "conflict", "message": "m"}, "head": null}"#;
        assert!(matches!(
            answer(409, None, empty),
            ApiError::Conflict { head: None, .. }
        ));
        let headless = r#"{"error": {"rule": "conflict", "message": "m"}}"#;
        assert!(matches!(
            answer(409, None, headless),
            ApiError::UnexpectedAnswer { status: 409, .. }
        ));
    }

    /// A 429 is typed as rate limited with its Retry-After, and asks for a retry as a 503
    /// does; the policy bounds each wait and their sum; no other error is retried.
    #[test]
    fn rate_limits_and_unavailability_are_waited_within_the_policy() {
        let body = |rule: &str| format!(r#"{{"error": {{"rule": "{rule}", "message": "why"}}}}"#);
        let limited = answer(429, Some("7"), &body("rate_limited"));
        match &limited {
            ApiError::RateLimited { retry_after, .. } => {
                assert_eq!(*retry_after, Some(Duration::from_secs(7)))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(limited.rule(), Some(Rule::RateLimited));
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
        let unavailable = answer(503, None, &body("unavailable"));
        assert_eq!(unavailable.retry_after(), Some(Duration::from_secs(1)));
        assert_eq!(answer(422, None, &body("future")).retry_after(), None);

        let policy = RetryPolicy {
            max_wait: Duration::from_secs(5),
            budget: Duration::from_secs(12),
        };
        // A long Retry-After is cut to the longest wait; waits stop at the budget.
        assert_eq!(
            policy.wait_for(&limited, Duration::ZERO),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            policy.wait_for(&limited, Duration::from_secs(7)),
            Some(Duration::from_secs(5))
        );
        assert_eq!(policy.wait_for(&limited, Duration::from_secs(8)), None);
        assert_eq!(RetryPolicy::NEVER.wait_for(&limited, Duration::ZERO), None);
        assert_eq!(
            policy.wait_for(&answer(422, None, &body("future")), Duration::ZERO),
            None
        );
    }

    /// `retrying` sends again after each 429 until the answer is not one, telling each wait.
    #[test]
    fn retrying_sends_again_until_the_limit_lets_through() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let policy = RetryPolicy {
            max_wait: Duration::from_secs(60),
            budget: Duration::from_secs(120),
        };
        let mut calls = 0;
        let mut waits = Vec::new();
        let got: Result<u32, ApiError> = rt.block_on(retrying(
            policy,
            |_, wait| waits.push(wait),
            || {
                calls += 1;
                let n = calls;
                async move {
                    if n < 3 {
                        Err(ApiError::RateLimited {
                            message: "slow down".into(),
                            retry_after: Some(Duration::from_millis(20)),
                        })
                    } else {
                        Ok(n)
                    }
                }
            },
        ));
        assert_eq!(got.expect("third call passes"), 3);
        assert_eq!(waits, vec![Duration::from_millis(20); 2]);
        // A refusal for good is returned at once.
        let mut calls = 0;
        let refused: Result<(), ApiError> = rt.block_on(retrying(
            policy,
            |_, _| panic!("no wait for a 422"),
            || {
                calls += 1;
                async {
                    Err(ApiError::Refused {
                        rule: ApiRule::Known(Rule::Future),
                        message: "ahead".into(),
                    })
                }
            },
        ));
        assert!(matches!(refused, Err(ApiError::Refused { .. })));
        assert_eq!(calls, 1);
    }

    #[test]
    fn each_status_has_its_kind() {
        let body = |rule: &str| format!(r#"{{"error": {{"rule": "{rule}", "message": "why"}}}}"#);
        match answer(503, Some("2"), &body("unavailable")) {
            ApiError::Unavailable { retry_after, .. } => {
                assert_eq!(retry_after, Some(Duration::from_secs(2)))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            answer(503, None, &body("unavailable")),
            ApiError::Unavailable {
                retry_after: None,
                ..
            }
        ));
        let refused = answer(422, None, &body("state/custody_gap"));
        assert!(matches!(refused, ApiError::Refused { .. }));
        assert_eq!(
            refused.rule(),
            Some(Rule::State(custody_core::StateRule::CustodyGap))
        );
        assert_eq!(refused.rule_code(), Some("state/custody_gap"));
        let media = answer(415, None, &body("media_type"));
        assert!(matches!(media, ApiError::UnsupportedMediaType { .. }));
        assert_eq!(media.rule(), Some(Rule::MediaType));
        assert!(matches!(
            answer(401, None, &body("auth/date")),
            ApiError::Unauthorized { rule, .. } if rule == Rule::Auth(custody_core::AuthRule::Date)
        ));
        assert!(matches!(
            answer(404, None, &body("not_found")),
            ApiError::NotFound { .. }
        ));
        assert!(matches!(
            answer(413, None, &body("body_size")),
            ApiError::Other { status: 413, rule, .. } if rule == Rule::BodySize
        ));
        // A code of a newer gateway is kept as sent.
        let newer = answer(422, None, &body("state/some_new_rule"));
        assert!(matches!(
            &newer,
            ApiError::Refused { rule: ApiRule::Unknown(code), .. } if code == "state/some_new_rule"
        ));
        assert_eq!(newer.rule(), None);
        assert_eq!(newer.rule_code(), Some("state/some_new_rule"));
        assert_eq!(
            newer.to_string(),
            "record refused (state/some_new_rule): why"
        );
    }

    #[test]
    fn answers_not_of_the_documented_form_are_named() {
        assert!(matches!(
            answer(502, None, "<html>bad gateway</html>"),
            ApiError::UnexpectedAnswer { status: 502, .. }
        ));
        assert!(matches!(
            answer(400, None, r#"{"message": "no error member"}"#),
            ApiError::UnexpectedAnswer { status: 400, .. }
        ));
    }
}
