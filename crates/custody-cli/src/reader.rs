//! The reader of a view command's `--as KEYFILE`: an enrolled key whose roles the read matrix
//! (`custody_views::access`) checks, and the access-log entry every read writes, allowed or
//! refused, before anything is printed. Used by `custody whereabouts`, `custody timeline`
//! (one person) and `custody backlog`, `custody alarms`, `custody hearings` (list views),
//! with the entries and the need-to-know narrowing of the gateway's `GET /v1/...`.

use std::path::Path;

use anyhow::Context;
use custody_core::{Role, Timestamp};
use custody_store::{AccessEntry, LedgerStore};
use custody_views::access::{access_action, may_view, narrowed_to_own_agency, AccessContext, View};

use crate::exit;
use crate::keyfile;

/// The reader of `--as`: its key, agency and roles, as the verified ledger enrols them.
pub(crate) struct Reader {
    /// The key id, as the access log names the reader.
    pub key: String,
    /// The key id.
    pub id: custody_core::PublicKeyId,
    /// The agency the key is enrolled for.
    pub agency: String,
    /// The roles the key is enrolled with.
    pub roles: Vec<Role>,
}

/// Reads the key file of `--as` and finds its enrolment in the verified ledger; a key not
/// enrolled, or not valid at `at`, reads nothing (a refusal).
pub(crate) fn reader(
    v: &custody_verify::Verifier,
    path: &Path,
    at: &Timestamp,
) -> anyhow::Result<Reader> {
    let key = keyfile::read(path).with_context(|| format!("--as {}", path.display()))?;
    let id = key.public();
    let info = v.validator().authority().keys.get(&id).ok_or_else(|| {
        exit::refused(format!(
            "--as {}: the key {id} is not enrolled in this ledger, so it reads nothing",
            path.display()
        ))
    })?;
    if let Err(problem) = info.check_valid_at(at) {
        return Err(exit::refused(format!(
            "--as {}: the key {id} is not valid now ({problem:?}), so it reads nothing",
            path.display()
        )));
    }
    Ok(Reader {
        key: id.to_string(),
        id,
        agency: info.agency.clone(),
        roles: info.roles.clone(),
    })
}

/// Writes the access-log entry of a read; a log that cannot be written stops the read.
pub(crate) async fn log(
    s: &dyn LedgerStore,
    r: &Reader,
    target: &str,
    action: &str,
    allowed: bool,
) -> anyhow::Result<()> {
    let entry = AccessEntry {
        at: crate::clock::now()?.as_str().to_string(),
        reader: r.key.clone(),
        agency: r.agency.clone(),
        target: target.to_string(),
        action: action.to_string(),
        allowed,
    };
    s.log_access(&entry)
        .await
        .context("the access log could not be written, so nothing is shown")
}

/// The roles of a reader, for a refusal message.
pub(crate) fn roles_text(roles: &[Role]) -> String {
    if roles.is_empty() {
        "no role".to_string()
    } else {
        roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The refusal of a read by the matrix, exit 1: who was refused what.
pub(crate) fn refusal(r: &Reader, what: &str, hint: &str) -> anyhow::Error {
    exit::refused(format!(
        "access refused: a key of {} with roles {} may not read the {what}{hint} \
         (docs/API.md, \"Views: who reads what\"); the refusal is in the access log",
        r.agency,
        roles_text(&r.roles),
    ))
}

/// A list view (backlog, alarms, hearing calendar) read with `--as`: the reader's roles are
/// checked against the matrix, the decision is written to the access log with the list as
/// target (`backlog`, `alarms`, `hearings`, as `GET /v1/...` writes it), and a refusal is an
/// error (exit 1) before anything is computed or printed. Returns the agency the rows are to be
/// narrowed to, for a registrar or a judicial police officer (its own agency's people only),
/// or `None` for a reader who sees every facility.
pub(crate) async fn check_list_view(
    s: &dyn LedgerStore,
    v: &custody_verify::Verifier,
    as_key: &Path,
    view: View,
) -> anyhow::Result<Option<String>> {
    // The access-log target of the list, as the gateway writes it, and its name for a refusal.
    let (target, what) = match view {
        View::Backlog => ("backlog", "backlog"),
        View::Alarms => ("alarms", "alarms"),
        View::HearingCalendar => ("hearings", "hearing calendar"),
        other => (access_action(other), access_action(other)),
    };
    let r = reader(v, as_key, &crate::clock::now()?)?;
    let allowed = may_view(view, &r.roles, &AccessContext::none());
    log(s, &r, target, access_action(view), allowed).await?;
    if !allowed {
        return Err(refusal(&r, what, ""));
    }
    Ok(narrowed_to_own_agency(&r.roles).then_some(r.agency))
}
