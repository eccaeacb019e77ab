//! Evidence attached by content digest.

use serde::{Deserialize, Serialize};

use super::check::*;
use crate::hash::Hash;
use crate::jcs::MAX_SAFE_INTEGER;
use crate::time::Timestamp;

/// Evidence is attached by digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceAdded {
    /// SHA-256 of the content.
    pub content_digest: Hash,
    /// Size in bytes, 1 to 2^53-1.
    pub size_bytes: u64,
    /// Media type in lowercase, without parameters (e.g. "image/jpeg", "application/pdf").
    pub media_type: String,
    /// Label.
    pub label: String,
    /// Where it comes from, who made it and how.
    pub provenance: String,
    /// Who collected it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collected_by: Option<String>,
    /// When it was collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collected_at: Option<Timestamp>,
    /// Seal number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal_number: Option<String>,
    /// Hash of the event it documents, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relates_to: Option<Hash>,
}

impl Check for EvidenceAdded {
    fn check(&self) -> Checked {
        field("size_bytes", range(self.size_bytes, 1, MAX_SAFE_INTEGER))?;
        field("media_type", media_type(&self.media_type))?;
        field("label", name(&self.label))?;
        field("provenance", text(&self.provenance))?;
        field("collected_by", opt(&self.collected_by, name))?;
        field("seal_number", opt(&self.seal_number, reference))
    }
}
