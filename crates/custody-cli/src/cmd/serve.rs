//! `custody serve`: the HTTP append gateway over the store's ledger, until Ctrl-C or SIGTERM.

use std::sync::Arc;

use anyhow::Context;
use custody_core::validate::ValidatorConfig;
use custody_ledger::Ledger;
use serde_json::json;

use crate::cli::ServeArgs;
use crate::output::Output;
use crate::store;

/// Opens the ledger and serves it. The append policy (whether new detainee records must carry
/// their payload) is the ledger's own, the same for every path (`custody_ledger::LedgerRole`):
/// a primary requires payloads on new records; stored records replay without them (a lawful
/// redaction removes one).
pub async fn run(out: Output, spec: &str, args: &ServeArgs) -> anyhow::Result<()> {
    let s = store::open_store(spec, store::Create::No).await?;
    let ledger = Ledger::open(s, ValidatorConfig::default())
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
    out.info("stop with Ctrl-C");
    custody_gateway::serve_with(Arc::new(ledger), listener, limits, shutdown_signal())
        .await
        .context("the gateway stopped")?;
    out.info("stopped");
    Ok(())
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
