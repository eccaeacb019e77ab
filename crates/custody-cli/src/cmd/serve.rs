//! `custody serve`: the HTTP append gateway over the store's ledger, until Ctrl-C or SIGTERM.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use custody_gateway::{ViewPolicy, Views};
use custody_ledger::Ledger;
use serde_json::json;

use crate::cli::ServeArgs;
use crate::output::Output;
use crate::store;

/// The rule sets' directory when `--policy-dir` and `CUSTODY_POLICY_DIR` are not given.
pub const DEFAULT_POLICY_DIR: &str = "deploy/policy";

/// Opens the ledger and serves it. The append policy (whether new detainee records must carry
/// their payload) is the ledger's own, the same for every path (`custody_ledger::LedgerRole`):
/// a primary requires payloads on new records; stored records replay without them (a lawful
/// redaction removes one).
pub async fn run(out: Output, spec: &str, args: &ServeArgs) -> anyhow::Result<()> {
    let s = store::open_store(spec, store::Create::No).await?;
    let ledger = store::open_ledger_in(spec, s)
        .await
        .map_err(|e| store::open_error(spec, e))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}: pick another --listen address",
                args.listen
            )
        })?;
    let addr = listener.local_addr()?;
    let ledger = Arc::new(ledger);
    let views = open_views(&out, spec, args, &ledger).await?;
    let name = ledger.meta().name.clone();
    out.json(&json!({"listening": addr.to_string(), "ledger": name}));
    out.info(format!(
        "serving ledger {name} from {} on http://{addr}",
        store::display(spec)
    ));
    let limits = args.serve_config();
    out.info(format!(
        "at most {} connections; time-outs: headers {} s, body {} s, idle {} s",
        limits.max_connections,
        limits.header_read_timeout.as_secs(),
        limits.request_timeout.as_secs(),
        limits.idle_timeout.as_secs()
    ));
    match limits.rate_limit {
        Some(rate) => out.info(format!(
            "rate limit: {rate} per signing key and per client address (429 over it)"
        )),
        None => out.info("no rate limit (set one with --rate-limit)"),
    }
    out.info("stop with Ctrl-C");
    let validated = ledger.with_state(|v| v.size()).await;
    let tree = crate::cmd::prove::open_tree(
        spec,
        args.tree.as_deref(),
        ledger.store().as_ref(),
        Some(validated),
    )
    .await
    .context("cannot catch up the Merkle tree of the proof endpoints")?;
    out.info(format!(
        "proofs: a tree of {} leaves, kept in {}",
        tree.size()?,
        tree.path().display()
    ));
    let tree = Arc::new(tree);
    // The checkpointer extends the same tree: a tick reads only the new records.
    let checkpointer = start_checkpointer(&out, args, &ledger, &tree)?;
    let saver = start_state_saver(spec, &ledger);
    let kept = Arc::clone(&ledger);
    let served =
        custody_gateway::serve_with_tree(ledger, views, tree, listener, limits, shutdown_signal())
            .await;
    if let Some((stop, task)) = checkpointer {
        let _ = stop.send(true);
        let _ = task.await;
    }
    saver.abort();
    // The next start opens from here instead of replaying the ledger.
    kept.catch_up()
        .await
        .map_err(|e| store::open_error(spec, e))?;
    store::save_state(spec, &kept).await;
    served.context("the gateway stopped")?;
    out.info("stopped");
    Ok(())
}

/// How often a running gateway saves its ledger state file when the ledger grew by
/// [`store::STATE_SAVE_EVERY`] records or more (and once more when it stops).
const STATE_SAVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(300);

/// Saves the ledger state file every [`STATE_SAVE_INTERVAL`] when the ledger grew, so that a
/// gateway killed without a clean stop restarts without replaying the whole ledger.
fn start_state_saver(spec: &str, ledger: &Arc<Ledger>) -> tokio::task::JoinHandle<()> {
    let spec = spec.to_string();
    let ledger = Arc::clone(ledger);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(STATE_SAVE_INTERVAL);
        every.tick().await;
        loop {
            every.tick().await;
            store::save_state_if_grown(&spec, &ledger).await;
        }
    })
}

/// With `--ledger-key`: the checkpointer's loop in the background (one tick at start, then
/// every `--checkpoint-every`), with the sender that stops it and its task.
#[allow(clippy::type_complexity)]
fn start_checkpointer(
    out: &Output,
    args: &ServeArgs,
    ledger: &Arc<Ledger>,
    tree: &Arc<custody_tlog::TreeDb>,
) -> anyhow::Result<
    Option<(
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    )>,
> {
    let Some(path) = &args.ledger_key else {
        return Ok(None);
    };
    let key = crate::keyfile::read(path)?;
    let witnesses = args
        .witnesses
        .iter()
        .map(|w| {
            custody_checkpointer::Witness::parse(w).map_err(|e| anyhow::anyhow!("--witness: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let checkpointer = custody_checkpointer::Checkpointer::new(
        ledger.meta(),
        key.signing_key().clone(),
        witnesses,
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
    .with_tree(Arc::clone(tree));
    out.info(format!(
        "checkpointer: a signed checkpoint every {} s when the ledger grew, sent to {} witnesses",
        args.checkpoint_every,
        checkpointer.witnesses().len()
    ));
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(Arc::new(checkpointer).run(
        Arc::clone(ledger.store()),
        std::time::Duration::from_secs(args.checkpoint_every),
        shutdown,
    ));
    Ok(Some((stop, task)))
}

/// The default views file of a SQLite ledger: `LEDGER.views.sqlite` beside it.
pub fn default_views_file(spec: &str) -> Option<PathBuf> {
    if store::is_nats(spec) {
        return None;
    }
    let mut name = Path::new(spec).as_os_str().to_os_string();
    name.push(".views.sqlite");
    Some(PathBuf::from(name))
}

/// The read model of the view endpoints: the views file (`--views`, or beside a SQLite
/// ledger) loaded and caught up, or for a JetStream ledger without `--views` one rebuilt in
/// memory; with the rule sets of `--policy-dir`.
async fn open_views(
    out: &Output,
    spec: &str,
    args: &ServeArgs,
    ledger: &Ledger,
) -> anyhow::Result<Arc<Views>> {
    let policy = match &args.policy_dir {
        Some(dir) => Some(
            ViewPolicy::load_dir(dir, &args.jurisdiction).with_context(|| {
                format!(
                    "cannot load the legal rule sets of {} (--policy-dir or CUSTODY_POLICY_DIR)",
                    dir.display()
                )
            })?,
        ),
        None => {
            let dir = Path::new(DEFAULT_POLICY_DIR);
            if dir.is_dir() {
                Some(
                    ViewPolicy::load_dir(dir, &args.jurisdiction).with_context(|| {
                        format!("cannot load the legal rule sets of {}", dir.display())
                    })?,
                )
            } else {
                out.info(format!(
                    "no rule sets: {DEFAULT_POLICY_DIR} does not exist here, so /v1/alarms answers 503 (pass --policy-dir)"
                ));
                None
            }
        }
    };
    let file = args.views.clone().or_else(|| default_views_file(spec));
    let views = match &file {
        Some(path) => {
            let views = Views::open(path, ledger)
                .await
                .with_context(|| format!("cannot open the views file {}", path.display()))?;
            out.info(format!(
                "views: {} records folded, kept in {}",
                views.folded(),
                path.display()
            ));
            views
        }
        None => {
            let views = Views::rebuilt(ledger)
                .await
                .context("cannot fold the ledger into the views")?;
            out.info(format!(
                "views: {} records folded in memory (pass --views FILE to keep them)",
                views.folded()
            ));
            views
        }
    };
    Ok(Arc::new(match policy {
        Some(p) => views.with_policy(p),
        None => views,
    }))
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C: stopping"),
        () = term => tracing::info!("SIGTERM: stopping"),
    }
}
