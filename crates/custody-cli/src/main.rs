//! `custody`: the command-line front of custody-ledger.
//!
//! The binary only wires the library crates together: flags ([`cli`]) are turned into key files,
//! a store and a [`custody_ledger::Ledger`], and every append goes through the ledger's
//! validator. Errors are printed once, here, with their whole chain (`{:#}`); the exit code is
//! 0 on success, 1 when a record or a ledger is refused, 2 for a usage or environment error.
#![forbid(unsafe_code)]

mod append;
mod chainref;
mod cli;
mod clock;
mod cmd;
mod demokeys;
mod evidence_store;
mod exit;
mod files;
mod interactive;
mod keyfile;
mod labels;
mod output;
mod reader;
mod schemas;
mod store;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::output::Output;

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    init_tracing(cli.global.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("custody: cannot start the async runtime: {e}");
            return ExitCode::from(exit::ENVIRONMENT);
        }
    };
    let result = runtime.block_on(run(cli));
    // Do not wait for stray background tasks (e.g. a reconnecting NATS client).
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => exit::report(&e),
    }
}

/// Logs go to standard error; `CUSTODY_LOG` (or `RUST_LOG`) sets the filter, default `warn`.
fn init_tracing(quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if quiet { "error" } else { "warn" };
    let filter = std::env::var("CUSTODY_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let out = Output {
        json: cli.global.json,
        quiet: cli.global.quiet,
    };
    let spec = cli.global.store.as_str();
    store::set_nats_replicas(cli.global.nats_replicas);
    store::set_state_file(cli.global.state_file.clone(), cli.global.no_state_file);
    match &cli.command {
        Command::Keygen(a) => cmd::keygen::run(out, a),
        Command::Init(a) => cmd::init::run(out, spec, a).await,
        Command::Enroll(c) => cmd::enroll::run(out, spec, c).await,
        Command::Record(a) => cmd::record::run(out, spec, a).await,
        Command::Submit(a) => cmd::submit::run(out, spec, a).await,
        Command::Sync(a) => cmd::sync::run(out, spec, a).await,
        Command::Forks(a) => cmd::forks::run(out, spec, a).await,
        Command::Export(a) => cmd::export::run(out, spec, a).await,
        Command::Verify(a) => cmd::verify::run(out, spec, a).await,
        Command::Checkpoint(a) => cmd::checkpoint::run(out, spec, a).await,
        Command::Inbox(a) => cmd::inbox::run(out, spec, a).await,
        Command::Alarms(a) => cmd::alarms::run(out, spec, a).await,
        Command::Backlog(a) => cmd::backlog::run(out, spec, a).await,
        Command::Hearings(a) => cmd::hearings::run(out, spec, a).await,
        Command::Whereabouts(a) => cmd::whereabouts::run(out, spec, a).await,
        Command::Timeline(a) => cmd::whereabouts::run_timeline(out, spec, a).await,
        Command::LedgerKey => cmd::ledger_key::run_ledger_key(out, spec).await,
        Command::Trust(a) => cmd::ledger_key::run_trust(out, spec, a).await,
        Command::Prove(a) => cmd::prove::run(out, spec, a).await,
        Command::Serve(a) => cmd::serve::run(out, spec, a).await,
        Command::Login(a) => cmd::login::run(out, a).await,
        Command::Demo(a) => cmd::demo::run(out, spec, a).await,
        Command::Evidence(c) => cmd::evidence::run(out, spec, c).await,
        Command::Packet(c) => cmd::packet::run(out, spec, c).await,
        Command::Audit(a) => cmd::audit::run(out, spec, a).await,
    }
}
