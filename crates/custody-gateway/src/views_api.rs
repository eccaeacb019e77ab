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
        let (db, projection) =
            ProjectionDb::open_current(path, ledger.store().as_ref(), Some(end)).await?;
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
