//! `custody demo`: a deterministic demo ledger and its summary.

use crate::cli::DemoArgs;
use crate::output::Output;

/// Builds the demo ledger.
pub async fn run(_out: Output, _spec: &str, _args: &DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!("demo is not available yet")
}
