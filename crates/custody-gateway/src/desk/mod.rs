//! The web desk: server-rendered pages for court clerks, prosecutors, judges and prison
//! registrars, served by the gateway under `/desk/` (docs/OPERATIONS.md, "The web desk").
//!
//! # Sign-in
//!
//! No password: `custody login --url URL --key KEYFILE` sends `POST /v1/desk/sign-in` signed
//! like every read ([`crate::auth::verify_request`]); the answer is a one-time link
//! `/desk/sign-in?code=...` (256 random bits, single use, valid two minutes). Opening it binds
//! a browser session to the key and to the agency and roles it holds at that moment
//! ([`session`]): cookie `custody_session`, `HttpOnly`, `SameSite=Strict`, `Path=/desk`. The
//! session ends after [`DeskConfig::session_idle`] without a request, after
//! [`DeskConfig::session_max`] in all, at sign-out, and at the first request after its key is
//! revoked or expires. Sessions live in memory: a restart signs everyone out. Neither codes
//! nor tokens are logged (the request log has route templates only).
//!
//! # Pages
//!
//! French by default, English with `?lang=en`; no script; one inline stylesheet with a print
//! version. Every page checks the role-by-view matrix (`custody_views::access::may_view`; a
//! monitor reads timelines from headers only, `timeline_headers_only`); every page that shows
//! personal data writes its access-log entry before answering, and answers 503 if it cannot.
//!
//! | page | shows |
//! |---|---|
//! | `/desk/backlog` | the pre-trial backlog with filters and ageing chart |
//! | `/desk/backlog.csv` | the same figures as CSV |
//! | `/desk/alarms` | the time-limit alarms |
//! | `/desk/chains/{chain}` | a detainee's timeline, each event verified (hash, signature) |

pub mod html;
pub mod session;
pub mod text;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use custody_core::authority::AuthorityState;
use custody_core::humancode::code_for_chain;
use custody_core::ids::{is_valid_chain_id, AUTHORITY_CHAIN};
use custody_core::record::signed_message;
use custody_core::{PublicKeyId, Record, Timestamp};
use custody_store::{AccessEntry, PayloadState};
use serde_json::json;

use self::html::{datetime, esc, number, Nav};
use self::session::{Closed, Holder, Session, Sessions, CODE_LIFETIME_SECS};
use self::text::{t, Lang, Msg};
use crate::auth::{self, Reader};
use crate::{AppState, GatewayError};
use custody_views::access::{
    may_view, narrowed_to_own_agency, timeline_headers_only, AccessContext, View,
};
use custody_views::backlog::{backlog, parse_status, AgeBucket, Backlog, BacklogFilter, STATUSES};
use custody_views::detainee::Projection;
use custody_views::i18n::{self, MessageId};

/// The session cookie's name.
pub const COOKIE: &str = "custody_session";

/// Access-log actions of the desk's pages.
pub const ACTION_TIMELINE: &str = "desk_timeline";
/// Access-log action of the alarms page.
pub const ACTION_ALARMS: &str = "desk_alarms";
/// Access-log action of the backlog page and its CSV.
pub const ACTION_BACKLOG: &str = "desk_backlog";
/// Access-log action of a sign-in (a code traded for a session).
pub const ACTION_SIGN_IN: &str = "desk_sign_in";

/// The desk's settings: the session limits. (The read model and the legal rule sets are the
/// gateway's [`crate::Views`].)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskConfig {
    /// A session without a request for this long ends (default 30 min).
    pub session_idle: Duration,
    /// A session ends this long after sign-in, whatever its activity (default 8 h).
    pub session_max: Duration,
}

impl Default for DeskConfig {
    fn default() -> Self {
        DeskConfig {
            session_idle: Duration::from_secs(30 * 60),
            session_max: Duration::from_secs(8 * 3600),
        }
    }
}

/// The desk's state, shared by its routes: its settings and its sessions.
#[derive(Debug)]
pub struct Desk {
    config: DeskConfig,
    sessions: Sessions,
}

impl Desk {
    /// A desk without any session yet.
    pub fn new(config: DeskConfig) -> Desk {
        Desk {
            sessions: Sessions::new(&config),
            config,
        }
    }
}

/// The desk's routes (merged into the gateway's router after its JSON error layer: the
/// desk's errors are pages).
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/desk/sign-in", post(issue_code))
        .route("/desk", get(home))
        .route("/desk/", get(home))
        .route("/desk/sign-in", get(sign_in))
        .route("/desk/sign-out", post(sign_out))
        .route("/desk/backlog", get(backlog_page))
        .route("/desk/backlog.csv", get(backlog_csv))
        .route("/desk/alarms", get(alarms_page))
        .route("/desk/chains/:chain", get(timeline_page))
}

type Params = Query<HashMap<String, String>>;

fn lang_of(q: &HashMap<String, String>) -> Lang {
    text::parse_lang(q.get("lang").map(String::as_str))
}

/// An HTML answer with the desk's headers: no caching (pages hold personal data), no script
/// at all, no framing, no referrer (a sign-in link never leaks).
fn html_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    security_headers(h);
    r
}

fn security_headers(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

fn redirect(to: &str, cookie: Option<String>) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(to) {
        h.insert(header::LOCATION, v);
    }
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert(header::SET_COOKIE, c);
    }
    security_headers(h);
    r
}

fn session_cookie(token: &str, max: Duration) -> String {
    format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/desk; Max-Age={}",
        max.as_secs()
    )
}

fn clear_cookie() -> String {
    format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/desk; Max-Age=0")
}

/// The session token of the request's cookies, if any.
fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE && !value.is_empty()).then(|| value.to_string())
        })
}

/// The sign-in page, with a message on top (why the visitor is here), answered with `status`.
fn sign_in_page(lang: Lang, status: StatusCode, note: Option<Msg>, clear: bool) -> Response {
    let mut main = String::new();
    if let Some(note) = note {
        let _ = write!(
            main,
            "<p class=\"note\" role=\"status\">{}</p>",
            esc(t(lang, note))
        );
    }
    let _ = write!(
        main,
        "<p>{}</p><pre><code>custody login --url http://HOST:PORT --key {}</code></pre><p>{}</p>",
        esc(t(lang, Msg::SignInHow)),
        esc(t(lang, Msg::KeyFile)),
        esc(t(lang, Msg::SignInThen)),
    );
    let mut r = html_response(
        status,
        html::page(lang, t(lang, Msg::SignInTitle), None, &main),
    );
    if clear {
        if let Ok(v) = HeaderValue::from_str(&clear_cookie()) {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    r
}

/// A page with a title and one paragraph (403, 404, 503).
fn message_page(
    lang: Lang,
    status: StatusCode,
    title: Msg,
    text: Msg,
    agency: &str,
    here: &str,
) -> Response {
    let main = format!("<p role=\"alert\">{}</p>", esc(t(lang, text)));
    let nav = Nav { agency, here };
    html_response(status, html::page(lang, t(lang, title), Some(&nav), &main))
}

/// Whether `key` is, at `now`, an enrolled key valid now or a trust root.
fn key_valid(authority: &AuthorityState, key: &PublicKeyId, now: &Timestamp) -> bool {
    match authority.keys.get(key) {
        Some(info) => info.check_valid_at(now).is_ok(),
        None => authority.trust.root(key).is_some(),
    }
}

/// A request's session, checked: known, within its limits, its key still valid. Otherwise
/// the answer to send instead (the sign-in page saying why, the stale cookie cleared).
async fn signed_in(
    st: &AppState,
    headers: &HeaderMap,
    lang: Lang,
) -> Result<(String, Session, Timestamp), Response> {
    let now = auth::system_now();
    let Some(token) = cookie_token(headers) else {
        return Err(sign_in_page(
            lang,
            StatusCode::UNAUTHORIZED,
            Some(Msg::NoSession),
            false,
        ));
    };
    let session = match st.desk.sessions.touch(&token, now.unix_seconds()) {
        Ok(s) => s,
        Err(why) => {
            let note = match why {
                Closed::Unknown => Msg::NoSession,
                Closed::Idle => Msg::SessionIdle,
                Closed::Expired => Msg::SessionExpired,
            };
            return Err(sign_in_page(
                lang,
                StatusCode::UNAUTHORIZED,
                Some(note),
                true,
            ));
        }
    };
    let key = session.holder.key;
    let valid = st
        .ledger
        .with_state(|v| key_valid(v.authority(), &key, &now))
        .await;
    if !valid {
        st.desk.sessions.end(&token);
        tracing::info!("desk session ended: its key is no longer valid");
        return Err(sign_in_page(
            lang,
            StatusCode::UNAUTHORIZED,
            Some(Msg::KeyInvalid),
            true,
        ));
    }
    Ok((token, session, now))
}

/// The reader a session stands for, as the gateway's read rules see it.
fn reader_of(holder: &Holder, trust_root: bool) -> Reader {
    Reader {
        key: holder.key,
        agency: holder.agency.clone(),
        roles: holder.roles.clone(),
        trust_root,
    }
}

fn entry(holder: &Holder, now: &Timestamp, target: &str, action: &str) -> AccessEntry {
    AccessEntry {
        at: now.as_str().to_string(),
        reader: holder.key.to_string(),
        agency: holder.agency.clone(),
        target: target.to_string(),
        action: action.to_string(),
        allowed: true,
    }
}

/// Writes access-log entries; the 503 page when the log cannot be written.
async fn log_or_503(
    st: &AppState,
    entries: &[AccessEntry],
    lang: Lang,
    agency: &str,
    here: &str,
) -> Result<(), Response> {
    crate::log_reads(st, entries).await.map_err(|_| {
        message_page(
            lang,
            StatusCode::SERVICE_UNAVAILABLE,
            Msg::Unavailable,
            Msg::AccessLogDown,
            agency,
            here,
        )
    })
}

/// The path and query of this request (for the language link).
fn here_of(uri: &axum::http::Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| uri.path().to_string(), |pq| pq.as_str().to_string())
}

/// `POST /v1/desk/sign-in` (signed): a one-time sign-in link for the signing key,
/// `{"path": "/desk/sign-in?code=...", "expires_in": 120}`.
async fn issue_code(
    State(st): State<AppState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let (reader, now) = crate::authenticate(&st, &method, &uri, &headers, body).await?;
    let holder = Holder {
        key: reader.key,
        agency: reader.agency,
        roles: reader.roles,
    };
    let code = st
        .desk
        .sessions
        .issue_code(holder, now.unix_seconds())
        .map_err(|e| GatewayError::Internal(format!("the system random generator failed: {e}")))?;
    tracing::info!("desk sign-in code issued");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "path": format!("/desk/sign-in?code={code}"),
            "expires_in": CODE_LIFETIME_SECS,
        })),
    )
        .into_response())
}

/// `GET /desk/sign-in[?code=...]`: with a valid code, opens the session and goes to the
/// backlog; without, the page that explains `custody login`.
async fn sign_in(State(st): State<AppState>, Query(q): Params) -> Response {
    let lang = lang_of(&q);
    let Some(code) = q.get("code") else {
        return sign_in_page(lang, StatusCode::OK, None, false);
    };
    let now = auth::system_now();
    match st.desk.sessions.redeem(code, now.unix_seconds()) {
        Ok(Some((token, holder))) => {
            let valid = st
                .ledger
                .with_state(|v| key_valid(v.authority(), &holder.key, &now))
                .await;
            if !valid {
                st.desk.sessions.end(&token);
                return sign_in_page(lang, StatusCode::UNAUTHORIZED, Some(Msg::KeyInvalid), true);
            }
            let e = entry(&holder, &now, "desk", ACTION_SIGN_IN);
            if let Err(e) = st.ledger.store().log_access(&e).await {
                tracing::warn!(error = %e, "access log write failed; sign-in refused");
                st.desk.sessions.end(&token);
                return message_page(
                    lang,
                    StatusCode::SERVICE_UNAVAILABLE,
                    Msg::Unavailable,
                    Msg::AccessLogDown,
                    &holder.agency,
                    "/desk/sign-in",
                );
            }
            tracing::info!("desk session opened");
            let to = html::with_lang("/desk/backlog", lang);
            redirect(
                &to,
                Some(session_cookie(&token, st.desk.config.session_max)),
            )
        }
        Ok(None) => sign_in_page(
            lang,
            StatusCode::UNAUTHORIZED,
            Some(Msg::CodeRefused),
            false,
        ),
        Err(e) => {
            tracing::warn!(error = %e, "random generator failed at sign-in");
            sign_in_page(lang, StatusCode::SERVICE_UNAVAILABLE, None, false)
        }
    }
}

/// `POST /desk/sign-out`: ends the session, clears the cookie, shows the sign-in page.
async fn sign_out(headers: HeaderMap, State(st): State<AppState>, Query(q): Params) -> Response {
    let lang = lang_of(&q);
    if let Some(token) = cookie_token(&headers) {
        st.desk.sessions.end(&token);
    }
    sign_in_page(lang, StatusCode::OK, Some(Msg::SignedOut), true)
}

/// `GET /desk/`: the backlog is the desk's first page.
async fn home(Query(q): Params) -> Response {
    redirect(&html::with_lang("/desk/backlog", lang_of(&q)), None)
}

/// The human-facing name of an event kind, from the reports' catalogue.
fn kind_words(record: &Record, lang: Lang) -> String {
    i18n::kind_label(lang, record.header.kind.as_str())
}

/// What the timeline's mark says of one stored record: hash recomputed from the header,
/// signature checked against the signer's key, payload checked against its digest.
pub fn verification(record: &Record) -> Msg {
    if record.header.compute_hash() != record.hash {
        return Msg::BadHash;
    }
    if record
        .header
        .signer
        .verify(&signed_message(&record.hash), &record.signature)
        .is_err()
    {
        return Msg::BadSignature;
    }
    match &record.payload {
        Some(p) if p.digest() != record.header.payload_digest => Msg::BadPayload,
        _ => Msg::Verified,
    }
}

/// `GET /desk/chains/{chain}`: the timeline of one detainee chain, each record with its
/// verification mark, and its payload where the reader may read it.
async fn timeline_page(
    State(st): State<AppState>,
    Path(chain): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let lang = lang_of(&q);
    let (_, session, now) = match signed_in(&st, &headers, lang).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let here = here_of(&uri);
    let holder = &session.holder;
    let not_found = || {
        message_page(
            lang,
            StatusCode::NOT_FOUND,
            Msg::NotFound,
            Msg::NoSuchChain,
            &holder.agency,
            &here,
        )
    };
    if chain == AUTHORITY_CHAIN || !is_valid_chain_id(&chain) {
        return not_found();
    }
    let events = match st.ledger.store().chain(&chain).await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "desk timeline: store unavailable");
            return message_page(
                lang,
                StatusCode::SERVICE_UNAVAILABLE,
                Msg::Unavailable,
                Msg::StoreDown,
                &holder.agency,
                &here,
            );
        }
    };
    if events.is_empty() {
        return not_found();
    }
    let access = st
        .ledger
        .with_state(|v| crate::reads::ChainAccess::of(v, &chain, &holder.key, &now))
        .await;
    let ctx = access.context(&holder.agency);
    let full = may_view(View::Timeline, &holder.roles, &ctx);
    if !full && !timeline_headers_only(&holder.roles, &ctx) {
        return message_page(
            lang,
            StatusCode::FORBIDDEN,
            Msg::Forbidden,
            Msg::ForbiddenText,
            &holder.agency,
            &here,
        );
    }
    let reader = reader_of(holder, false);
    let mut log = vec![entry(holder, &now, &chain, ACTION_TIMELINE)];
    let code = code_for_chain(&chain);
    let mut rows = String::new();
    for ev in &events {
        let r = &ev.record;
        let mark = verification(r);
        let class = if mark == Msg::Verified { "ok" } else { "bad" };
        let content = match (&r.payload, ev.payload) {
            (Some(p), _) => {
                let allowed = full && crate::reads::payload_allowed(&reader, &access, ev);
                log.push(AccessEntry {
                    allowed,
                    ..entry(
                        holder,
                        &now,
                        &r.hash.to_hex(),
                        crate::reads::ACTION_READ_PAYLOAD,
                    )
                });
                if allowed {
                    let pretty = serde_json::to_string_pretty(&p.body).unwrap_or_default();
                    format!(
                        "<details><summary>{}</summary><pre>{}</pre></details>",
                        esc(t(lang, Msg::ShowContent)),
                        esc(&pretty)
                    )
                } else {
                    esc(t(lang, Msg::Withheld))
                }
            }
            (None, PayloadState::Redacted) => esc(t(lang, Msg::Redacted)),
            (None, _) => esc(t(lang, Msg::Missing)),
        };
        let _ = write!(
            rows,
            "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"{class}\" data-check=\"{}\">{}</td><td>{content}</td></tr>",
            r.header.seq,
            esc(&kind_words(r, lang)),
            esc(&datetime(&r.header.occurred_at, lang)),
            esc(&datetime(&r.header.recorded_at, lang)),
            esc(&r.header.agency),
            if mark == Msg::Verified { "ok" } else { "bad" },
            esc(t(lang, mark)),
        );
    }
    if let Err(r) = log_or_503(&st, &log, lang, &holder.agency, &here).await {
        return r;
    }
    let title = format!("{} {code}", t(lang, Msg::TimelineTitle));
    let summary = situation(&st, &chain, lang).await;
    let main = format!(
        "{summary}<p>{}</p><table><thead><tr><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead>\
         <tbody>{rows}</tbody></table>",
        esc(t(lang, Msg::TimelineIntro)),
        esc(t(lang, Msg::ColSeq)),
        esc(t(lang, Msg::ColEvent)),
        esc(t(lang, Msg::ColOccurred)),
        esc(t(lang, Msg::ColRecorded)),
        esc(t(lang, Msg::ColAgency)),
        esc(t(lang, Msg::ColCheck)),
        esc(t(lang, Msg::ColContent)),
    );
    let nav = Nav {
        agency: &holder.agency,
        here: &here,
    };
    html_response(StatusCode::OK, html::page(lang, &title, Some(&nav), &main))
}

/// The person's situation now, from the live read model: legal status (from the chain's legal
/// events alone: a suspect is never shown as convicted without a judgment), custody status,
/// holder and facility, current order's end. Empty when the read model does not know the chain.
async fn situation(st: &AppState, chain: &str, lang: Lang) -> String {
    if let Err(e) = st.views.catch_up(&st.ledger).await {
        tracing::warn!(error = %e, "desk timeline: the read model could not catch up");
    }
    st.views
        .read(|p| {
            let Some(f) = p.detainee(chain) else {
                return String::new();
            };
            let m = |id: MessageId| esc(i18n::t(lang, id));
            let colon = if lang == Lang::Fr { " :" } else { ":" };
            let mut out = format!(
                "<ul class=\"situation\"><li>{}{colon} <strong data-legal=\"{}\">{}</strong></li>",
                m(MessageId::Status),
                f.legal.code(),
                esc(i18n::legal_status_label(lang, f.legal)),
            );
            if let Some(cs) = f.custody_status() {
                let _ = write!(
                    out,
                    "<li>{}{}</li>",
                    esc(i18n::custody_status_label(lang, cs)),
                    f.holder().map_or(String::new(), |h| format!(
                        " — {}{colon} {}{}",
                        m(MessageId::Agency),
                        esc(h),
                        f.current_facility().map_or(String::new(), |fa| format!(
                            ", {}{colon} {}",
                            m(MessageId::Facility),
                            esc(fa)
                        ))
                    )),
                );
            }
            if let Some(o) = f.current_order() {
                let _ = write!(
                    out,
                    "<li>{}{colon} {}</li>",
                    m(MessageId::OrderValidUntil),
                    esc(&datetime(&o.valid_until, lang)),
                );
            }
            out.push_str("</ul>");
            out
        })
        .await
}

/// `GET /desk/alarms`: the time-limit alarms now, under the rule sets of the policy directory.
async fn alarms_page(
    State(st): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let lang = lang_of(&q);
    let (_, session, now) = match signed_in(&st, &headers, lang).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let here = here_of(&uri);
    let holder = &session.holder;
    if !may_view(View::Alarms, &holder.roles, &AccessContext::none()) {
        return message_page(
            lang,
            StatusCode::FORBIDDEN,
            Msg::Forbidden,
            Msg::ForbiddenText,
            &holder.agency,
            &here,
        );
    }
    let policy = st.views.policy();
    let title = t(lang, Msg::AlarmsTitle);
    let nav = Nav {
        agency: &holder.agency,
        here: &here,
    };
    let Some(policy) = policy else {
        let main = format!(
            "<p class=\"note\" role=\"alert\">{}</p>",
            esc(t(lang, Msg::NoPolicies))
        );
        return html_response(StatusCode::OK, html::page(lang, title, Some(&nav), &main));
    };
    if let Err(e) = st.views.catch_up(&st.ledger).await {
        tracing::warn!(error = %e, "desk alarms: the read model could not catch up");
    }
    // The same alarms as GET /v1/alarms, forks included, narrowed as the API narrows them.
    let report = match crate::views_api::alarms_for(
        &st,
        policy,
        &holder.roles,
        &holder.agency,
        &now,
    )
    .await
    {
        Ok(report) => report,
        Err(e) => {
            tracing::warn!(error = %e, "desk alarms: store unavailable");
            return message_page(
                lang,
                StatusCode::SERVICE_UNAVAILABLE,
                Msg::Unavailable,
                Msg::StoreDown,
                &holder.agency,
                &here,
            );
        }
    };
    if let Err(r) = log_or_503(
        &st,
        &[entry(holder, &now, "alarms", ACTION_ALARMS)],
        lang,
        &holder.agency,
        &here,
    )
    .await
    {
        return r;
    }
    let french = lang == Lang::Fr;
    let q = if lang == Lang::En { "?lang=en" } else { "" };
    let mut main = format!(
        "<p>{} {} : <strong>{}</strong></p>",
        esc(t(lang, Msg::AsOf)),
        esc(&datetime(&now, lang)),
        number(report.alarms.len() as u64, lang)
    );
    if report.alarms.is_empty() {
        let _ = write!(main, "<p>{}</p>", esc(t(lang, Msg::NoAlarm)));
    } else {
        let _ = write!(
            main,
            "<table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
            esc(t(lang, Msg::ColFile)),
            esc(t(lang, Msg::ColAlarm)),
            esc(t(lang, Msg::ColDeadline)),
            esc(t(lang, Msg::ColLate)),
            esc(t(lang, Msg::ColState)),
            esc(t(lang, Msg::ColRule)),
        );
        for a in &report.alarms {
            let rule = a.rule.as_ref().map_or(String::new(), |r| {
                let unconfirmed = if r.confirmed {
                    String::new()
                } else {
                    format!(" ({})", t(lang, Msg::Unconfirmed))
                };
                format!("{} {}{unconfirmed}", r.code, r.rule)
            });
            let detail = a.detail.text(french);
            let _ = write!(
                main,
                "<tr><td class=\"code\"><a href=\"/desk/chains/{}{q}\">{}</a></td><td data-kind=\"{}\">{}{}</td><td>{}</td>\
                 <td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(&a.chain),
                esc(&a.code),
                a.kind.code(),
                esc(a.kind.label(french)),
                if detail.is_empty() {
                    String::new()
                } else {
                    format!("<br><small>{}</small>", esc(&detail))
                },
                esc(&datetime(a.due.as_ref().unwrap_or(&a.since), lang)),
                number(u64::try_from(a.hours_late).unwrap_or(0), lang),
                esc(t(lang, if a.current { Msg::Current } else { Msg::Past })),
                esc(&rule),
            );
        }
        main.push_str("</tbody></table>");
    }
    html_response(StatusCode::OK, html::page(lang, title, Some(&nav), &main))
}

/// The backlog filter of a query: `facility`, `court` (ids), `status` (a legal status code),
/// `overdue` (`1` or `on`); an empty value is no filter. A value that cannot be one is an
/// error naming the field and the value.
fn filter_of(q: &HashMap<String, String>) -> Result<BacklogFilter, String> {
    let id = |name: &str| -> Result<Option<String>, String> {
        match q.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) if custody_core::ids::is_valid_slug(v) => Ok(Some(v.to_string())),
            Some(v) => Err(format!(
                "{name} = {:?}: 2-64 characters of a-z, 0-9 and -",
                custody_core::encoding::excerpt(v)
            )),
        }
    };
    let status = match q.get("status").map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(parse_status(v).map_err(|e| e.to_string())?),
    };
    Ok(BacklogFilter {
        facility: id("facility")?,
        court: id("court")?,
        status,
        overdue_only: q
            .get("overdue")
            .is_some_and(|v| v == "1" || v == "on" || v == "true"),
        agency: None,
    })
}

/// The query string of a filter (and language), for the CSV link and the page's own links.
fn filter_query(f: &BacklogFilter, lang: Lang) -> String {
    let mut pairs = Vec::new();
    if let Some(v) = &f.facility {
        pairs.push(format!("facility={}", html::query_escape(v)));
    }
    if let Some(v) = &f.court {
        pairs.push(format!("court={}", html::query_escape(v)));
    }
    if let Some(v) = f.status {
        pairs.push(format!("status={}", v.code()));
    }
    if f.overdue_only {
        pairs.push("overdue=1".to_string());
    }
    if lang == Lang::En {
        pairs.push("lang=en".to_string());
    }
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

fn pct(x: Option<f64>, lang: Lang) -> String {
    x.map_or_else(|| "–".to_string(), |v| i18n::fmt_percent(lang, v))
}

/// One `<option>` of a select.
fn option(value: &str, label: &str, selected: bool) -> String {
    format!(
        "<option value=\"{}\"{}>{}</option>",
        esc(value),
        if selected { " selected" } else { "" },
        esc(label)
    )
}

/// The backlog page's main part: the filter form, the totals, the ageing chart, the tables by
/// facility and by court, the occupancy and the longest waits.
fn backlog_main(lang: Lang, b: &Backlog, all: &Backlog, p: &Projection) -> String {
    let m = |id: MessageId| esc(i18n::t(lang, id));
    let f = &b.filter;
    let mut out = String::new();
    // The form: a GET, every field labelled.
    let mut facilities = option("", t(lang, Msg::Any), f.facility.is_none());
    for (id, entry) in &p.directory.facilities {
        facilities.push_str(&option(
            id,
            &format!("{} ({id})", entry.name),
            f.facility.as_deref() == Some(id),
        ));
    }
    let mut courts = option("", t(lang, Msg::Any), f.court.is_none());
    for line in &all.by_court {
        if let Some(id) = &line.id {
            let label = line
                .name
                .as_deref()
                .map_or(id.clone(), |n| format!("{n} ({id})"));
            courts.push_str(&option(id, &label, f.court.as_deref() == Some(id)));
        }
    }
    let mut statuses = option("", t(lang, Msg::Any), f.status.is_none());
    for s in STATUSES {
        statuses.push_str(&option(
            s.code(),
            i18n::legal_status_label(lang, s),
            f.status == Some(s),
        ));
    }
    let _ = write!(
        out,
        "<form method=\"get\" action=\"/desk/backlog\" class=\"noprint\"><fieldset><legend>{}</legend>\
         <label>{} <select name=\"facility\" id=\"facility\">{facilities}</select></label>\
         <label>{} <select name=\"court\" id=\"court\">{courts}</select></label>\
         <label>{} <select name=\"status\" id=\"status\">{statuses}</select></label>\
         <label class=\"check\"><input type=\"checkbox\" name=\"overdue\" value=\"1\"{}> {}</label>\
         {}<button type=\"submit\">{}</button></fieldset></form>",
        m(MessageId::Filters),
        m(MessageId::Facility),
        m(MessageId::Court),
        m(MessageId::Status),
        if f.overdue_only { " checked" } else { "" },
        m(MessageId::OverdueOnly),
        if lang == Lang::En {
            "<input type=\"hidden\" name=\"lang\" value=\"en\">"
        } else {
            ""
        },
        esc(t(lang, Msg::Apply)),
    );
    // Totals.
    let _ = write!(
        out,
        "<p>{} {} ({} {}) · <a href=\"/desk/backlog.csv{}\">{}</a></p>\
         <table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead>\
         <tbody><tr><td class=\"n\" data-total=\"held\">{}</td><td class=\"n\" data-total=\"pre_trial\">{}</td>\
         <td class=\"n\" data-total=\"pre_trial_percent\">{}</td><td class=\"n\" data-total=\"overdue\">{}</td></tr></tbody></table>",
        m(MessageId::AsOf),
        esc(&datetime(&b.at, lang)),
        esc(t(lang, Msg::Position)),
        b.position.map_or_else(|| "–".to_string(), |n| number(n, lang)),
        esc(&filter_query(f, lang)),
        esc(t(lang, Msg::ExportCsv)),
        m(MessageId::Held),
        m(MessageId::PreTrial),
        m(MessageId::PreTrialShare),
        m(MessageId::Overdue),
        number(b.total.held, lang),
        number(b.total.pre_trial, lang),
        pct(b.total.pre_trial_percent(), lang),
        number(b.total.overdue, lang),
    );
    // The ageing chart, and the same figures as a table.
    let bars: Vec<(String, u64)> = AgeBucket::ALL
        .iter()
        .map(|k| {
            (
                i18n::t(lang, k.message()).to_string(),
                b.total.ageing.get(*k),
            )
        })
        .collect();
    let _ = write!(
        out,
        "<h2>{}</h2>{}",
        esc(t(lang, Msg::AgeingChart)),
        html::bar_chart(t(lang, Msg::AgeingChart), &bars, lang)
    );
    // By facility and by court.
    let head = |first: MessageId| {
        let mut h = format!(
            "<thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>",
            m(first),
            m(MessageId::Held),
            m(MessageId::PreTrial),
            m(MessageId::PreTrialShare),
            m(MessageId::Overdue)
        );
        for k in AgeBucket::ALL {
            let _ = write!(h, "<th scope=\"col\">{}</th>", m(k.message()));
        }
        h.push_str("</tr></thead>");
        h
    };
    let rows = |lines: &[custody_views::backlog::GroupLine], kind: &str| {
        let mut r = String::new();
        for g in lines {
            let name = match (&g.name, &g.id) {
                (Some(n), Some(id)) => format!("{n} ({id})"),
                (None, Some(id)) => id.clone(),
                _ => i18n::t(lang, MessageId::NotRecorded).to_string(),
            };
            let _ = write!(
                r,
                "<tr data-{kind}=\"{}\"><th scope=\"row\">{}</th><td class=\"n\" data-figure=\"held\">{}</td>\
                 <td class=\"n\" data-figure=\"pre_trial\">{}</td><td class=\"n\">{}</td><td class=\"n\" data-figure=\"overdue\">{}</td>",
                esc(g.id.as_deref().unwrap_or("")),
                esc(&name),
                number(g.held, lang),
                number(g.pre_trial, lang),
                pct(g.pre_trial_percent(), lang),
                number(g.overdue, lang),
            );
            for k in AgeBucket::ALL {
                let _ = write!(r, "<td class=\"n\">{}</td>", number(g.ageing.get(k), lang));
            }
            r.push_str("</tr>");
        }
        r
    };
    let _ = write!(
        out,
        "<h2>{}</h2><table>{}<tbody>{}</tbody></table><h2>{}</h2><table>{}<tbody>{}</tbody></table>",
        m(MessageId::ByFacility),
        head(MessageId::Facility),
        rows(&b.by_facility, "facility"),
        m(MessageId::ByCourt),
        head(MessageId::Court),
        rows(&b.by_court, "court"),
    );
    // Occupancy.
    let _ = write!(
        out,
        "<h2>{}</h2><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        m(MessageId::OccupancyTitle),
        m(MessageId::Facility),
        m(MessageId::Capacity),
        m(MessageId::Held),
        m(MessageId::Occupancy),
    );
    for o in &b.occupancy {
        let name = o
            .name
            .as_deref()
            .map_or(o.facility.clone(), |n| format!("{n} ({})", o.facility));
        let capacity = if o.capacity == 0 {
            i18n::t(lang, MessageId::CapacityUnknown).to_string()
        } else {
            number(u64::from(o.capacity), lang)
        };
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&name),
            esc(&capacity),
            number(o.population, lang),
            pct(o.occupancy_percent(), lang),
        );
    }
    out.push_str("</tbody></table>");
    // Longest waits.
    let q = if lang == Lang::En { "?lang=en" } else { "" };
    let _ = write!(
        out,
        "<h2>{}</h2><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        m(MessageId::LongestWaits),
        m(MessageId::Code),
        m(MessageId::Facility),
        m(MessageId::Court),
        m(MessageId::PreTrialSince),
        m(MessageId::Duration),
        m(MessageId::OrderValidUntil),
    );
    for w in &b.longest_waits {
        let until = w.valid_until.as_ref().map_or_else(
            || i18n::t(lang, MessageId::Unknown).to_string(),
            |u| datetime(u, lang),
        );
        let overdue = if w.overdue {
            format!(" <strong>({})</strong>", i18n::t(lang, MessageId::Overdue))
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<tr><td class=\"code\"><a href=\"/desk/chains/{}{q}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}{}</td></tr>",
            esc(&w.chain),
            esc(&w.code),
            esc(w.facility.as_deref().unwrap_or("–")),
            esc(w.court.as_deref().unwrap_or("–")),
            esc(&i18n::fmt_day_of(lang, &w.since)),
            esc(&i18n::fmt_days(lang, w.days)),
            esc(&until),
            overdue,
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// What the backlog routes share: the session, the matrix, the filter, the figures and the
/// access-log entry; the answer to send instead when one fails.
async fn backlog_of(
    st: &AppState,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> Result<(Lang, Holder, String, Backlog, String), Response> {
    let lang = lang_of(q);
    let (_, session, now) = signed_in(st, headers, lang).await?;
    let here = here_of(uri);
    let holder = session.holder;
    if !may_view(View::Backlog, &holder.roles, &AccessContext::none()) {
        return Err(message_page(
            lang,
            StatusCode::FORBIDDEN,
            Msg::Forbidden,
            Msg::ForbiddenText,
            &holder.agency,
            &here,
        ));
    }
    // A registrar or a judicial police officer sees its own agency's people only.
    let own = narrowed_to_own_agency(&holder.roles).then(|| holder.agency.clone());
    let filter = match filter_of(q) {
        Ok(f) => BacklogFilter {
            agency: own.clone(),
            ..f
        },
        Err(why) => {
            let main = format!(
                "<p role=\"alert\">{} : {}</p><p><a href=\"/desk/backlog\">{}</a></p>",
                esc(t(lang, Msg::BadFilter)),
                esc(&why),
                esc(t(lang, Msg::NavBacklog))
            );
            let nav = Nav {
                agency: &holder.agency,
                here: &here,
            };
            return Err(html_response(
                StatusCode::BAD_REQUEST,
                html::page(lang, t(lang, Msg::BadFilter), Some(&nav), &main),
            ));
        }
    };
    // The live read model, first caught up with what the ledger validated.
    if let Err(e) = st.views.catch_up(&st.ledger).await {
        tracing::warn!(error = %e, "desk backlog: the read model could not catch up");
    }
    let (b, main) = st
        .views
        .read(|p| {
            let b = backlog(p, &now, &filter);
            let all = backlog(
                p,
                &now,
                &BacklogFilter {
                    agency: own.clone(),
                    ..BacklogFilter::default()
                },
            );
            let main = backlog_main(lang, &b, &all, p);
            (b, main)
        })
        .await;
    log_or_503(
        st,
        &[entry(&holder, &now, "backlog", ACTION_BACKLOG)],
        lang,
        &holder.agency,
        &here,
    )
    .await?;
    Ok((lang, holder, here, b, main))
}

/// `GET /desk/backlog`: the pre-trial backlog with its filters and ageing chart.
async fn backlog_page(
    State(st): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let (lang, holder, here, _, main) = match backlog_of(&st, &uri, &headers, &q).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let nav = Nav {
        agency: &holder.agency,
        here: &here,
    };
    html_response(
        StatusCode::OK,
        html::page(
            lang,
            i18n::t(lang, MessageId::BacklogTitle),
            Some(&nav),
            &main,
        ),
    )
}

/// `GET /desk/backlog.csv`: the backlog's figures as CSV (`custody_views::backlog`'s columns),
/// same filters as the page.
async fn backlog_csv(
    State(st): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let (_, _, _, b, _) = match backlog_of(&st, &uri, &headers, &q).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut r = (StatusCode::OK, b.to_csv()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"backlog.csv\""),
    );
    security_headers(h);
    r
}
