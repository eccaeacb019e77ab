//! `custody serve`: the HTTP append gateway over the store's ledger, until Ctrl-C or SIGTERM.

use std::sync::Arc;

use anyhow::Context;
use custody_core::validate::ValidatorConfig;
use custody_ledger::Ledger;
use serde_json::json;

use crate::cli::ServeArgs;
use crate::output::Output;
use crate::store;

/// Opens the ledger and serves it.
///
/// The validator runs with its default configuration (detainee payloads optional): the
/// ledger's replay applies the same configuration to stored records, and a lawfully redacted
/// record has no payload any more, so requiring payloads would keep a ledger with a redaction
/// from opening at all.
pub async fn run(out: Output, spec: &str, args: &ServeArgs) -> anyhow::Result<()> {
    let s = store::open_store(spec, store::Create::No).await?;
    let ledger = Ledger::open(
        s,
        ValidatorConfig {
            // Appends over HTTP carry their payload; stored records may lack theirs after a
            // lawful redaction, which the replay accepts.
            require_payload: true,
            ..ValidatorConfig::default()
        },
    )
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
