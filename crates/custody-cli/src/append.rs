//! Building, signing and appending one event on the current head of its chain.
//!
//! The head is read from the ledger just before signing. When another writer extends the chain
//! meanwhile, the append is refused as a conflict and nothing is stored: the event is then built
//! once more on the new head, signed again and appended (one retry; a second conflict is
//! reported).

use anyhow::Context;
use custody_core::chain::ChainHead;
use custody_core::{Draft, Record, SecretKey};
use custody_ledger::{AppendError, Ledger};
use custody_store::AppendOutcome;

use crate::clock;
use crate::exit::refused;

/// An appended event.
#[derive(Debug)]
pub struct Appended {
    /// The signed record.
    pub record: Record,
    /// Where it went.
    pub outcome: AppendOutcome,
}

/// Builds a draft on the chain's current head with `build`, signs it with `key` and a fresh
/// salt, and appends it; retries once on a conflict.
pub async fn sign_and_append(
    ledger: &Ledger,
    key: &SecretKey,
    chain: &str,
    build: impl Fn(Option<ChainHead>) -> anyhow::Result<Draft>,
) -> anyhow::Result<Appended> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let head = ledger.head(chain).await;
        let record = build(head)?.sign(key, &clock::salt()?);
        let now = clock::now()?;
        match ledger.append(&record, &now).await {
            Ok(outcome) => return Ok(Appended { record, outcome }),
            Err(AppendError::Conflict(_)) if attempt < 2 => {
                tracing::info!(
                    chain,
                    "chain moved on while signing; signing again on the new head"
                );
            }
            Err(e) => return Err(append_error(e)),
        }
    }
}

/// Maps an append error to the CLI's error kinds: a validation refusal or a conflict is a
/// refusal (exit code 1), a store failure an environment error (exit code 2).
pub fn append_error(err: AppendError) -> anyhow::Error {
    match err {
        AppendError::Invalid(e) => match clock::refusal_hint(&e) {
            Some(hint) => refused(format!("record refused ({}): {e}; {hint}", e.rule())),
            None => refused(format!("record refused ({}): {e}", e.rule())),
        },
        AppendError::Conflict(conflict) => refused(format!(
            "chain {} keeps moving while this event is signed ({}): run the command again",
            conflict.chain,
            conflict.reason()
        )),
        other => anyhow::Error::new(other).context("cannot append to the ledger"),
    }
}

/// Reads a JSON body from a file or an inline string, refusing duplicate keys and anything but
/// an object.
pub fn read_body(
    file: Option<&std::path::Path>,
    inline: Option<&str>,
) -> anyhow::Result<serde_json::Value> {
    let (bytes, source) = match (file, inline) {
        (Some(path), _) => (
            std::fs::read(path)
                .with_context(|| format!("cannot read body file {}", path.display()))?,
            path.display().to_string(),
        ),
        (None, Some(text)) => (text.as_bytes().to_vec(), "--body-json".to_string()),
        (None, None) => {
            anyhow::bail!("no body given: pass --body FILE.json or --body-json '{{...}}'")
        }
    };
    let value = custody_core::jcs::parse_strict(&bytes)
        .map_err(|e| anyhow::anyhow!("{source} is not acceptable JSON: {e}"))?;
    if !value.is_object() {
        anyhow::bail!("{source} must hold a JSON object (the event body)");
    }
    Ok(value)
}
