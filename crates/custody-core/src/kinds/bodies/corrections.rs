//! Record maintenance: corrections, identity links, access restrictions, redactions.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::check::*;
use super::de;
use crate::hash::Hash;
use crate::ids::is_detainee_chain_id;
use crate::jcs::MAX_SAFE_INTEGER;
use crate::time::Timestamp;

/// A previous event is corrected (events are never edited).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    /// Hash of the corrected event.
    pub corrects: Hash,
    /// Why.
    pub reason: String,
    /// The corrected top-level fields of the corrected body with their new values: a non-empty
    /// object, integers only. Checking them against the corrected kind is the validator's job.
    pub corrected_fields: Value,
}

impl Check for Correction {
    fn check(&self) -> Checked {
        field("reason", text(&self.reason))?;
        match &self.corrected_fields {
            Value::Object(m) if m.is_empty() => {
                fail("corrected_fields", "must hold at least one corrected field")
            }
            Value::Object(_) => {
                let mut path = String::from("/corrected_fields");
                integers_only(&self.corrected_fields, &mut path)
                    .map_err(|(path, message)| Fail { path, message })
            }
            _ => fail(
                "corrected_fields",
                "must be an object of the corrected fields and their new values",
            ),
        }
    }
}

/// A JSON value with integers only, all within the safe range (schema `$defs/json_value`).
fn integers_only(v: &Value, path: &mut String) -> Result<(), (String, String)> {
    match v {
        Value::Number(n) => {
            let ok = n.as_u64().is_some_and(|u| u <= MAX_SAFE_INTEGER)
                || n.as_i64()
                    .is_some_and(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER);
            if ok {
                Ok(())
            } else if n.is_f64() {
                Err((
                    path.clone(),
                    format!("{n} is a floating point number; wire format v1 allows integers only"),
                ))
            } else {
                Err((
                    path.clone(),
                    format!("{n} is out of range: integers from -(2^53-1) to 2^53-1 only"),
                ))
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                integers_only(x, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(m) => {
            for (k, x) in m {
                let len = path.len();
                path.push('/');
                de::push_escaped(path, k);
                integers_only(x, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
    }
}

/// How two chains were found to be the same person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkMethod {
    /// Fingerprint or other biometric match.
    BiometricMatch,
    /// Same identity document.
    IdentityDocument,
    /// Review of both files by a registrar.
    RegistrarReview,
    /// Court decision.
    CourtDecision,
    /// Other.
    Other,
}

/// Two detainee chains are the same person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityLinked {
    /// The other detainee chain id.
    pub other_chain: String,
    /// Method.
    pub method: LinkMethod,
    /// Basis of the link.
    pub basis: String,
}

impl Check for IdentityLinked {
    fn check(&self) -> Checked {
        if !is_detainee_chain_id(&self.other_chain) {
            return fail(
                "other_chain",
                format!(
                    "{:?} is not a detainee chain id (d- followed by a lowercase ULID)",
                    self.other_chain
                ),
            );
        }
        field("basis", text(&self.basis))
    }
}

/// A reasoned, time-limited restriction of relatives' access (Disappearance Convention
/// art. 20). It never hides that the person is held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRestricted {
    /// Reference of the decision.
    pub decision_ref: String,
    /// Authority that decided.
    pub authority: String,
    /// Reasons.
    pub reasons: String,
    /// End of the restriction.
    pub until: Timestamp,
    /// Judicial authority that controls the restriction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewing_authority: Option<String>,
}

impl Check for AccessRestricted {
    fn check(&self) -> Checked {
        field("decision_ref", reference(&self.decision_ref))?;
        field("authority", name(&self.authority))?;
        field("reasons", text(&self.reasons))?;
        field("reviewing_authority", opt(&self.reviewing_authority, name))
    }
}

/// A payload was lawfully removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redaction {
    /// Hash of the event whose payload is removed.
    pub event: Hash,
    /// Why.
    pub reason: String,
    /// Authority that decided.
    pub authority: String,
    /// Reference of the decision.
    pub decision_ref: String,
}

impl Check for Redaction {
    fn check(&self) -> Checked {
        field("reason", text(&self.reason))?;
        field("authority", name(&self.authority))?;
        field("decision_ref", reference(&self.decision_ref))
    }
}
