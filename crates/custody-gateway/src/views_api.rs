//! The gateway's read views: the live read model ([`Views`]) and the view endpoints.
//!
//! The read model is the [`Projection`] of `custody-views` (a fold of every record's header),
//! held in memory and kept in a SQLite file ([`custody_projection::ProjectionDb`]) when the
//! gateway was given one. It is caught up with what the ledger has validated (never with a
//! record the validator has not applied): after each append, and by the follower every
//! [`crate::FOLLOW_POLL`] for records appended by other processes. Each batch of records is
//! folded in memory under a short write lock, then its changed rows and the cursor are written
//! to the file in one transaction off the async runtime; a write that fails is kept and
//! written with the next batch, so the file never has a cursor past a row it lacks.
//!
//! `/metrics` shows `custody_projection_position` (records folded) and
//! `custody_projection_lag_events` (ledger size minus records folded).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex, PoisonError};
use std::time::Duration;

use custody_ledger::Ledger;
use custody_projection::{fold_events, Changes, Projection, ProjectionDb, ProjectionError};
use custody_store::{LedgerScan, SCAN_BATCH};
use custody_views::calendar::Calendar;
use custody_views::policy::PolicySet;
use tokio::sync::{Mutex, Notify, RwLock};

/// The legal rule sets and the calendar the time-dependent views (alarms, backlog "overdue")
/// are computed with.
#[derive(Clone, Debug)]
pub struct ViewPolicy {
    /// The rule sets of `deploy/policy/`.
    pub policies: PolicySet,
    /// Working days and public holidays.
    pub calendar: Calendar,
    /// The jurisdiction whose rule sets apply (`ML`).
    pub jurisdiction: String,
}

impl ViewPolicy {
    /// Loads the rule sets of `dir` and the calendar of `dir/calendar`.
    pub fn load_dir(dir: &Path, jurisdiction: &str) -> Result<ViewPolicy, ViewPolicyError> {
        let policies = PolicySet::load_dir(dir)?;
        let calendar = Calendar::load_dir(&dir.join("calendar"))?;
        Ok(ViewPolicy {
            policies,
            calendar,
            jurisdiction: jurisdiction.to_string(),
        })
    }
}

/// Why the rule sets or the calendar could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ViewPolicyError {
    /// A rule set.
    #[error(transparent)]
    Policy(#[from] custody_views::policy::PolicyError),
    /// The calendar.
    #[error(transparent)]
    Calendar(#[from] custody_views::calendar::CalendarError),
}

/// What persists the read model.
struct Persist {
    /// The views file (`None`: in memory only, rebuilt at each start).
    db: Option<Arc<StdMutex<ProjectionDb>>>,
    /// Changes folded in memory and not yet written to the file.
    pending: Changes,
}

/// The live read model of a gateway: the [`Projection`] in memory, its file, and the policy its
/// time-dependent views use. Shared by the routes (`AppState`) and the follower.
pub struct Views {
    live: RwLock<Projection>,
    persist: Mutex<Persist>,
    /// Records folded (the next ledger position).
    folded: AtomicU64,
    /// Wakes the follower after an append.
    poke: Notify,
    policy: Option<ViewPolicy>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Views {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Views")
            .field("path", &self.path)
            .field("folded", &self.folded.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Default for Views {
    fn default() -> Self {
        Views::in_memory()
    }
}

impl Views {
    /// An empty read model kept in memory only (caught up from the start of the ledger by the
    /// first catch-up).
    pub fn in_memory() -> Views {
        Views::with(Projection::new(), None, None)
    }

    fn with(projection: Projection, db: Option<ProjectionDb>, path: Option<PathBuf>) -> Views {
        let folded = projection.position.map_or(0, |p| p + 1);
        Views {
            live: RwLock::new(projection),
            persist: Mutex::new(Persist {
                db: db.map(|d| Arc::new(StdMutex::new(d))),
                pending: Changes::default(),
            }),
            folded: AtomicU64::new(folded),
            poke: Notify::new(),
            policy: None,
            path,
        }
    }

    /// Opens the views file at `path` for `ledger`: loads it and catches it up with what the
    /// ledger validated (a new file folds the whole ledger; a file written by another version of
    /// the fold is rebuilt; a file of another ledger is refused).
    pub async fn open(path: &Path, ledger: &Ledger) -> Result<Views, ProjectionError> {
        let end = ledger.with_state(|v| v.size()).await;
        let store = ledger.store().as_ref();
        let mut db = ProjectionDb::open(path)?;
        let loaded = match db.bind(store).await {
            Ok(()) => db.load(),
            Err(e) => Err(e),
        };
        let mut projection = match loaded {
            Ok(p) => p,
            Err(e) if e.is_rebuildable() => {
                tracing::warn!(error = %e, "views file unreadable by this version: rebuilt");
                let mut fresh = ProjectionDb::open(path)?;
                let (p, _) = fresh.rebuild_until(store, Some(end)).await?;
                db = fresh;
                p
            }
            Err(e) => return Err(e),
        };
        let resumed_from = projection.next_position();
        let done = db.catch_up_until(store, &mut projection, Some(end)).await?;
        tracing::info!(
            resumed_from,
            folded = done.folded,
            "views file loaded and caught up"
        );
        Ok(Views::with(projection, Some(db), Some(path.to_path_buf())))
    }

    /// The read model in memory only, folded from the whole ledger now.
    pub async fn rebuilt(ledger: &Ledger) -> Result<Views, ProjectionError> {
        let views = Views::in_memory();
        views.catch_up(ledger).await?;
        Ok(views)
    }

    /// Sets the rule sets and calendar of the time-dependent views.
    pub fn with_policy(mut self, policy: ViewPolicy) -> Views {
        self.policy = Some(policy);
        self
    }

    /// The rule sets and calendar, when given.
    pub fn policy(&self) -> Option<&ViewPolicy> {
        self.policy.as_ref()
    }

    /// The views file, when the read model is persisted.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Runs `f` on the current read model (a read lock: catch-ups wait).
    pub async fn read<R>(&self, f: impl FnOnce(&Projection) -> R) -> R {
        f(&*self.live.read().await)
    }

    /// Records folded so far: the next ledger position to fold.
    pub fn folded(&self) -> u64 {
        self.folded.load(Ordering::Relaxed)
    }

    /// Asks the follower to catch up now (after an append).
    pub fn poke(&self) {
        self.poke.notify_one();
    }

    /// Folds every record the ledger has validated and the read model has not, batch by batch,
    /// and writes each batch to the file. Returns the records folded.
    pub async fn catch_up(&self, ledger: &Ledger) -> Result<u64, ProjectionError> {
        let mut persist = self.persist.lock().await;
        let end = ledger.with_state(|v| v.size()).await;
        let store = ledger.store().as_ref();
        let mut total = 0;
        loop {
            let from = self.folded();
            if from >= end {
                break;
            }
            let mut scan = LedgerScan::new(store, from)
                .until(end)
                .batch_size(SCAN_BATCH);
            let Some(batch) = scan.next_batch().await? else {
                break;
            };
            let changes = {
                let mut live = self.live.write().await;
                let changes = fold_events(&mut live, &batch)?;
                self.folded
                    .store(live.position.map_or(0, |p| p + 1), Ordering::Relaxed);
                changes
            };
            total += changes.folded();
            persist.pending.merge(changes);
            let Some(db) = persist.db.clone() else {
                persist.pending = Changes::default();
                continue;
            };
            let pending = std::mem::take(&mut persist.pending);
            let written = tokio::task::spawn_blocking(move || {
                let mut db = db.lock().unwrap_or_else(PoisonError::into_inner);
                match db.commit(&pending) {
                    Ok(()) => Ok(()),
                    Err(e) => Err(Box::new((e, pending))),
                }
            })
            .await;
            match written {
                Ok(Ok(())) => {}
                Ok(Err(failed)) => {
                    let (e, pending) = *failed;
                    persist.pending = pending;
                    return Err(e);
                }
                Err(join) => {
                    return Err(ProjectionError::Sqlite {
                        file: self.path.clone().unwrap_or_default(),
                        op: "write a batch",
                        message: join.to_string(),
                    })
                }
            }
        }
        Ok(total)
    }
}

/// Keeps `views` current with `ledger`: catches up after each append ([`Views::poke`]) and
/// every `poll`. Runs until dropped or aborted; the gateway's server runs it next to the
/// ledger's follower ([`crate::follow`]).
pub async fn follow_views(views: Arc<Views>, ledger: Arc<Ledger>, poll: Duration) {
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = views.poke.notified() => {}
        }
        if let Err(e) = views.catch_up(&ledger).await {
            tracing::warn!(error = %e, "views catch-up failed; retrying");
        }
    }
}

// ---- The view endpoints ----

use axum::body::Body;
use axum::extract::{OriginalUri, Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;
use custody_core::Timestamp;
use custody_store::AccessEntry;
use custody_views::access::{access_action, may_view, narrowed_to_own_agency, AccessContext, View};
use custody_views::alarms::{alarms_with_forks, AlarmReport, ForkInfo};
use custody_views::backlog::{backlog, parse_status, BacklogFilter};
use custody_views::calendar::Date;
use custody_views::hearings::{hearings, HearingFilter};
use custody_views::whereabouts::{relatives_view, whereabouts};
use serde_json::Value;

use crate::auth::Reader;
use crate::{authenticate, log_reads, AppState, GatewayError};

/// The query parameters of a view request, each named at most once; an unknown one is refused.
struct ViewQuery {
    pairs: Vec<(String, String)>,
}

impl ViewQuery {
    fn parse(uri: &axum::http::Uri, known: &[&str]) -> Result<ViewQuery, GatewayError> {
        let pairs: Vec<(String, String)> =
            axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri)
                .map_err(|e| GatewayError::BadRequest(format!("the query string: {e}")))?
                .0;
        for (i, (name, _)) in pairs.iter().enumerate() {
            if !known.contains(&name.as_str()) {
                return Err(GatewayError::BadRequest(format!(
                    "unknown parameter {:?}: this view takes {}",
                    custody_core::encoding::excerpt(name),
                    known.join(", ")
                )));
            }
            if pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(GatewayError::BadRequest(format!(
                    "parameter {name} is given twice"
                )));
            }
        }
        Ok(ViewQuery { pairs })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn slug(&self, name: &str) -> Result<Option<String>, GatewayError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if custody_core::ids::is_valid_slug(v) => Ok(Some(v.to_string())),
            Some(v) => Err(GatewayError::BadRequest(format!(
                "parameter {name}: {:?} is not an id (2-64 characters of a-z, 0-9 and -)",
                custody_core::encoding::excerpt(v)
            ))),
        }
    }

    fn flag(&self, name: &str) -> Result<bool, GatewayError> {
        match self.get(name) {
            None | Some("false" | "0" | "no") => Ok(false),
            Some("true" | "1" | "yes") => Ok(true),
            Some(v) => Err(GatewayError::BadRequest(format!(
                "parameter {name}: {:?} is not true or false",
                custody_core::encoding::excerpt(v)
            ))),
        }
    }

    /// `at=` (RFC 3339 UTC), default the server clock.
    fn at(&self, now: &Timestamp) -> Result<Timestamp, GatewayError> {
        match self.get("at") {
            None => Ok(now.clone()),
            Some(v) => Timestamp::parse(v).map_err(|_| {
                GatewayError::BadRequest(format!(
                    "parameter at: {:?} is not an RFC 3339 UTC instant (2026-12-01T08:00:00Z)",
                    custody_core::encoding::excerpt(v)
                ))
            }),
        }
    }

    /// `format=json|csv`, default json.
    fn csv(&self) -> Result<bool, GatewayError> {
        match self.get("format") {
            None | Some("json") => Ok(false),
            Some("csv") => Ok(true),
            Some(v) => Err(GatewayError::BadRequest(format!(
                "parameter format: {:?} is not json or csv",
                custody_core::encoding::excerpt(v)
            ))),
        }
    }
}

/// The access-log entry of a view read.
fn entry(reader: &Reader, now: &Timestamp, view: View, target: &str, allowed: bool) -> AccessEntry {
    AccessEntry {
        at: now.as_str().to_string(),
        reader: reader.key.to_string(),
        agency: reader.agency.clone(),
        target: target.to_string(),
        action: access_action(view).to_string(),
        allowed,
    }
}

/// Applies the role-by-view matrix: the decision is written to the access log first (503 if
/// it cannot be), then a refusal is 403.
async fn check_view(
    st: &AppState,
    reader: &Reader,
    now: &Timestamp,
    view: View,
    target: &str,
    ctx: &AccessContext,
) -> Result<(), GatewayError> {
    let allowed = may_view(view, &reader.roles, ctx);
    log_reads(st, &[entry(reader, now, view, target, allowed)]).await?;
    if allowed {
        Ok(())
    } else {
        tracing::info!(
            action = access_action(view),
            "view refused by the read matrix"
        );
        Err(GatewayError::Forbidden(format!(
            "the roles of key {} do not allow the view {} (see docs/API.md, \"Views\")",
            reader.key,
            access_action(view)
        )))
    }
}

fn csv_response(text: String) -> Response {
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    response
}

/// `GET /v1/backlog?facility=&court=&status=&overdue=&at=&format=json|csv`: the pre-trial
/// backlog by facility and by court (`custody_views::backlog`) from the live read model.
pub(crate) async fn get_backlog(
    State(st): State<AppState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let (reader, now) = authenticate(&st, &method, &uri, &headers, body).await?;
    let q = ViewQuery::parse(
        &uri,
        &["facility", "court", "status", "overdue", "at", "format"],
    )?;
    let status = match q.get("status") {
        None => None,
        Some(v) => Some(
            parse_status(v)
                .map_err(|e| GatewayError::BadRequest(format!("parameter status: {e}")))?,
        ),
    };
    let filter = BacklogFilter {
        facility: q.slug("facility")?,
        court: q.slug("court")?,
        status,
        overdue_only: q.flag("overdue")?,
        // A registrar or a judicial police officer sees its own agency's people only.
        agency: narrowed_to_own_agency(&reader.roles).then(|| reader.agency.clone()),
    };
    let at = q.at(&now)?;
    let csv = q.csv()?;
    check_view(
        &st,
        &reader,
        &now,
        View::Backlog,
        "backlog",
        &AccessContext::none(),
    )
    .await?;
    let report = st.views.read(|p| backlog(p, &at, &filter)).await;
    if csv {
        return Ok(csv_response(report.to_csv()));
    }
    Ok(Json(report.to_json()).into_response())
}

/// `GET /v1/alarms?at=`: every alarm of the read model at an instant
/// (`custody_views::alarms::alarms_with_forks`: time limits, orders, custody gaps, places,
/// hearings, restrictions, and the store's fork alarms), under the rule sets and calendar of
/// `custody serve --policy-dir`.
pub(crate) async fn get_alarms(
    State(st): State<AppState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, GatewayError> {
    let (reader, now) = authenticate(&st, &method, &uri, &headers, body).await?;
    let q = ViewQuery::parse(&uri, &["at"])?;
    let at = q.at(&now)?;
    let Some(policy) = st.views.policy() else {
        return Err(GatewayError::Unavailable(
            "this gateway has no legal rule sets (custody serve --policy-dir DIR), so it computes no alarm".to_string(),
        ));
    };
    check_view(
        &st,
        &reader,
        &now,
        View::Alarms,
        "alarms",
        &AccessContext::none(),
    )
    .await?;
    let report = alarms_for(&st, policy, &reader.roles, &reader.agency, &at).await?;
    Ok(Json(report.to_json()))
}

/// Every alarm at `at` over the live read model, with the fork alarms the store recorded (read
/// in pages), as the reader with `roles` of `agency` may see them: a registrar or a judicial
/// police officer sees its own agency's people only (`access::narrowed_to_own_agency`). The
/// API and the web desk both answer from it.
pub(crate) async fn alarms_for(
    st: &AppState,
    policy: &ViewPolicy,
    roles: &[custody_core::Role],
    agency: &str,
    at: &Timestamp,
) -> Result<AlarmReport, custody_store::StoreError> {
    let store = st.ledger.store();
    let mut forks = Vec::new();
    loop {
        let page = store.forks(forks.len() as u64, 1000).await?;
        if page.is_empty() {
            break;
        }
        forks.extend(page.into_iter().map(|f| ForkInfo {
            chain: f.chain,
            seq: f.seq,
            stored: f.stored,
            other: f.other.hash,
            seen_at: f.seen_at,
        }));
    }
    let own = narrowed_to_own_agency(roles).then_some(agency);
    Ok(st
        .views
        .read(|p| {
            let mut report = alarms_with_forks(
                p,
                &policy.policies,
                &policy.calendar,
                &policy.jurisdiction,
                at,
                &forks,
            );
            if let Some(agency) = own {
                report.keep_agency(p, agency);
            }
            report
        })
        .await)
}

/// `GET /v1/whereabouts/{chain}?at=&relatives=`: where the person of a chain (id or human
/// code) is held, since when, every stay (`custody_views::whereabouts`); with `relatives=true`
/// the relatives' and counsel's view (art. 18 fields, art. 20 restrictions applied).
pub(crate) async fn get_whereabouts(
    State(st): State<AppState>,
    UrlPath(chain): UrlPath<String>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, GatewayError> {
    let (reader, now) = authenticate(&st, &method, &uri, &headers, body).await?;
    let q = ViewQuery::parse(&uri, &["at", "relatives"])?;
    let at = q.at(&now)?;
    let relatives = q.flag("relatives")?;
    let view = if relatives {
        View::RelativesView
    } else {
        View::Whereabouts
    };
    let Some(chain) = st
        .views
        .read(|p| p.find(&chain).map(|f| f.chain.clone()))
        .await
    else {
        return Err(GatewayError::NotFound(format!(
            "no detainee chain {:?} in this ledger (a chain id d-... or a human code XXXX-XXXX-C)",
            custody_core::encoding::excerpt(&chain)
        )));
    };
    let ctx = st
        .ledger
        .with_state(|v| {
            crate::reads::ChainAccess::of(v, &chain, &reader.key, &now).context(&reader.agency)
        })
        .await;
    check_view(&st, &reader, &now, view, &chain, &ctx).await?;
    let records: Vec<custody_core::Record> = st
        .ledger
        .store()
        .chain(&chain)
        .await?
        .into_iter()
        .map(|ev| ev.record)
        .collect();
    let found = st
        .views
        .read(|p| {
            if relatives {
                relatives_view(p, &chain, &records, &at)
            } else {
                whereabouts(p, &chain, &records, &at)
            }
        })
        .await
        .ok_or_else(|| GatewayError::NotFound(format!("no detainee chain {chain}")))?;
    Ok(Json(found.to_json()))
}

/// `GET /v1/hearings?day=&court=&at=&format=json|csv`: the hearing calendar
/// (`custody_views::hearings`): upcoming hearings by court and day, who to produce from which
/// facility, and the past hearings where the person was not produced, with the reason.
pub(crate) async fn get_hearings(
    State(st): State<AppState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GatewayError> {
    let (reader, now) = authenticate(&st, &method, &uri, &headers, body).await?;
    let q = ViewQuery::parse(&uri, &["day", "court", "at", "format"])?;
    let day = match q.get("day") {
        None => None,
        Some(v) => Some(Date::parse(v).ok_or_else(|| {
            GatewayError::BadRequest(format!(
                "parameter day: {:?} is not a date (YYYY-MM-DD)",
                custody_core::encoding::excerpt(v)
            ))
        })?),
    };
    let filter = HearingFilter {
        day,
        court: q.slug("court")?,
    };
    let at = q.at(&now)?;
    let csv = q.csv()?;
    check_view(
        &st,
        &reader,
        &now,
        View::HearingCalendar,
        "hearings",
        &AccessContext::none(),
    )
    .await?;
    let own = narrowed_to_own_agency(&reader.roles).then(|| reader.agency.clone());
    let mut calendar = st
        .views
        .read(|p| {
            let mut calendar = hearings(p, &at, &filter);
            // A registrar or a judicial police officer sees its own agency's people only.
            if let Some(agency) = &own {
                calendar.keep_agency(p, agency);
            }
            calendar
        })
        .await;
    // The reasons a person was not produced are in the payloads of the hearing_held records.
    let mut chains: Vec<String> = calendar
        .not_produced
        .iter()
        .map(|l| l.hearing.chain.clone())
        .collect();
    chains.sort_unstable();
    chains.dedup();
    for chain in chains {
        let events = st.ledger.store().chain(&chain).await?;
        calendar.fill_reasons(events.iter().map(|ev| &ev.record));
    }
    if csv {
        return Ok(csv_response(calendar.to_csv()));
    }
    Ok(Json(calendar.to_json()).into_response())
}
