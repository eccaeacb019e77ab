//! `custody serve`: the HTTP append gateway over the store's ledger.

use crate::cli::ServeArgs;
use crate::output::Output;

/// Runs the gateway until Ctrl-C or SIGTERM.
pub async fn run(_out: Output, _spec: &str, _args: &ServeArgs) -> anyhow::Result<()> {
    anyhow::bail!("serve is not available yet")
}
