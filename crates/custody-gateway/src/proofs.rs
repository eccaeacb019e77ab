//! The proof endpoints: `GET /v1/proof/inclusion?hash=H&size=N` and
//! `GET /v1/proof/consistency?old=M&new=N`, answered from the ledger's Merkle tree file
//! ([`custody_tlog::TreeDb`]) in the JSON forms of `custody_core::merkle` (`docs/SPEC.md`
//! section 11, the same as `custody prove` prints).
//!
//! A proof holds hashes only (no personal data), so like `GET /v1/checkpoint` no request
//! signature is asked. Before each answer the tree is caught up with what the ledger has
//! validated (free when nothing new was validated: no store read), so a proof never speaks
//! about a record the validator has not accepted.
//!
//! Sizes: `size` and `new` default to the current tree size; a size larger than it is 404
//! (`not_found`: no such tree yet). Bad, repeated, unknown or oversized parameters are 400.

use axum::extract::{OriginalUri, State};
use axum::Json;
use custody_core::merkle::{ConsistencyProofJson, InclusionProofJson};
use custody_core::Hash;
use custody_tlog::TreeError;
use serde_json::Value;

use crate::{AppState, GatewayError};

/// Longest accepted query string, in bytes: a hash and a size with room to spare.
const MAX_QUERY_BYTES: usize = 256;

/// The query parameters of a proof request: each named at most once, none unknown.
fn params<'a>(
    uri: &'a axum::http::Uri,
    known: &[&str],
) -> Result<Vec<(&'a str, &'a str)>, GatewayError> {
    let query = uri.query().unwrap_or("");
    if query.len() > MAX_QUERY_BYTES {
        return Err(GatewayError::BadRequest(format!(
            "the query string is over {MAX_QUERY_BYTES} bytes: a proof request names {} only",
            known.join(" and ")
        )));
    }
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !known.contains(&name) {
            return Err(GatewayError::BadRequest(format!(
                "unknown parameter {:?}: this endpoint takes {}",
                custody_core::encoding::excerpt(name),
                known.join(" and ")
            )));
        }
        if pairs.iter().any(|(n, _)| *n == name) {
            return Err(GatewayError::BadRequest(format!(
                "parameter {name} is given twice"
            )));
        }
        pairs.push((name, value));
    }
    Ok(pairs)
}

fn get<'a>(pairs: &[(&'a str, &'a str)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// A tree size: decimal digits, at most 2^63 - 1 (SQLite's integers).
fn size_param(name: &str, value: &str) -> Result<u64, GatewayError> {
    let bad = || {
        GatewayError::BadRequest(format!(
            "{name} {:?} is not a tree size: a decimal number of leaves, at most {}",
            custody_core::encoding::excerpt(value),
            i64::MAX
        ))
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = value.parse().map_err(|_| bad())?;
    if n > i64::MAX as u64 {
        return Err(bad());
    }
    Ok(n)
}

fn tree_error(e: TreeError) -> GatewayError {
    match e {
        TreeError::Store(s) => GatewayError::from(s),
        other => {
            tracing::error!(error = %other, "the tree file cannot answer");
            GatewayError::Internal(other.to_string())
        }
    }
}

/// Catches the tree up with what the ledger validated; returns the tree size.
async fn current(
    st: &AppState,
) -> Result<(std::sync::Arc<custody_tlog::TreeDb>, u64), GatewayError> {
    let Some(tree) = st.tree.clone() else {
        return Err(GatewayError::Unavailable(
            "this gateway keeps no Merkle tree (it could not create one in memory)".to_string(),
        ));
    };
    let end = st.ledger.with_state(|v| v.size()).await;
    let done = tree
        .catch_up_until(st.ledger.store().as_ref(), Some(end))
        .await
        .map_err(tree_error)?;
    // A file caught up further by another process (`custody prove`) still answers for the
    // validated records only.
    Ok((tree, done.size.min(end)))
}

fn too_large(name: &str, size: u64, current: u64) -> GatewayError {
    GatewayError::NotFound(format!(
        "{name} {size} is larger than the ledger's tree ({current} leaves): no such tree yet"
    ))
}

/// `GET /v1/proof/inclusion?hash=H[&size=N]`: the inclusion proof of the event with hash `H`
/// in the tree of the first `N` leaves (default: the current tree).
pub(crate) async fn get_inclusion(
    State(st): State<AppState>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, GatewayError> {
    let pairs = params(&uri, &["hash", "size"])?;
    let Some(text) = get(&pairs, "hash") else {
        return Err(GatewayError::BadRequest(
            "name the event: GET /v1/proof/inclusion?hash=EVENT_HASH[&size=N]".to_string(),
        ));
    };
    let hash: Hash = text.parse().map_err(|_| {
        GatewayError::BadRequest(format!(
            "hash {:?} is not an event hash: 64 lowercase hexadecimal characters",
            custody_core::encoding::excerpt(text)
        ))
    })?;
    let size = get(&pairs, "size")
        .map(|v| size_param("size", v))
        .transpose()?;
    let (tree, current) = current(&st).await?;
    let size = size.unwrap_or(current);
    if size > current {
        return Err(too_large("size", size, current));
    }
    let stored = st.ledger.store().event(&hash).await?;
    let Some(stored) = stored.filter(|ev| ev.position < current) else {
        return Err(GatewayError::NotFound(format!(
            "no event {hash} in this ledger"
        )));
    };
    if stored.position >= size {
        return Err(GatewayError::BadRequest(format!(
            "event {hash} is at position {} and not in a tree of size {size}: ask a larger size",
            stored.position
        )));
    }
    let proof = tree
        .inclusion_proof(stored.position, size)
        .map_err(tree_error)?;
    let json = InclusionProofJson::new(hash.as_bytes(), stored.position, size, &proof);
    Ok(Json(
        serde_json::to_value(json).map_err(|e| GatewayError::Internal(e.to_string()))?,
    ))
}

/// `GET /v1/proof/consistency?old=M[&new=N]`: the consistency proof between the trees of the
/// first `M` and `N` leaves (default `N`: the current tree).
pub(crate) async fn get_consistency(
    State(st): State<AppState>,
    OriginalUri(uri): OriginalUri,
) -> Result<Json<Value>, GatewayError> {
    let pairs = params(&uri, &["old", "new"])?;
    let Some(old) = get(&pairs, "old") else {
        return Err(GatewayError::BadRequest(
            "name the older tree size: GET /v1/proof/consistency?old=M[&new=N]".to_string(),
        ));
    };
    let old = size_param("old", old)?;
    let new = get(&pairs, "new")
        .map(|v| size_param("new", v))
        .transpose()?;
    let (tree, current) = current(&st).await?;
    let new = new.unwrap_or(current);
    if old > new {
        return Err(GatewayError::BadRequest(format!(
            "old {old} is larger than new {new}: a ledger only grows"
        )));
    }
    if new > current {
        return Err(too_large("new", new, current));
    }
    let proof = tree.consistency_proof(old, new).map_err(tree_error)?;
    let json = ConsistencyProofJson::new(old, new, &proof);
    Ok(Json(
        serde_json::to_value(json).map_err(|e| GatewayError::Internal(e.to_string()))?,
    ))
}
