//! The authority state: trust anchors, registered agencies and facilities, enrolled and revoked
//! keys, as built by replaying the `authority` chain.

use std::collections::HashMap;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::keys::PublicKeyId;
use crate::kinds::bodies::{AgencyType, FacilityKind};
use crate::kinds::Body;
use crate::roles::Role;
use crate::time::Timestamp;

/// A root (trust-anchor) key, given to every verifier out of band (`trust.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustRoot {
    /// The root's public key.
    pub key: PublicKeyId,
    /// The agency id the root signs for (`header.agency` of its authority events).
    pub agency: String,
}

/// The trust anchors of a ledger: the content of `trust.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustAnchors {
    /// The ledger's name: every record's `header.ledger` must equal it (rule `ledger`).
    pub ledger: String,
    /// Root keys allowed to write the authority chain.
    pub roots: Vec<TrustRoot>,
}

impl TrustAnchors {
    /// The root entry for a key, if it is a trust anchor.
    pub fn root(&self, key: &PublicKeyId) -> Option<&TrustRoot> {
        self.roots.iter().find(|r| &r.key == key)
    }
}

/// A registered agency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgencyInfo {
    /// Display name.
    pub name: String,
    /// Type (military, police, prison...).
    pub agency_type: AgencyType,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

/// A registered facility.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilityInfo {
    /// Agency responsible for the place.
    pub agency: String,
    /// Display name.
    pub name: String,
    /// Kind of place.
    pub kind: FacilityKind,
    /// Official capacity.
    pub capacity: u32,
    /// Whether it is an officially recognised place of detention (ICPPED art. 17(1)).
    pub officially_recognised: bool,
}

/// An enrolled key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyInfo {
    /// Agency the key signs for.
    pub agency: String,
    /// Roles held.
    pub roles: Vec<Role>,
    /// Start of validity.
    pub valid_from: Timestamp,
    /// End of validity (exclusive), if any.
    pub valid_until: Option<Timestamp>,
    /// Revocation, effective from this instant.
    pub revoked_from: Option<Timestamp>,
}

/// Why a key may not sign at a given instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyStatusProblem {
    /// Before `valid_from`.
    NotYetValid(Timestamp),
    /// At or after `valid_until`.
    Expired(Timestamp),
    /// At or after revocation.
    Revoked(Timestamp),
}

impl KeyInfo {
    /// Whether the key may sign at `at`.
    pub fn check_valid_at(&self, at: &Timestamp) -> Result<(), KeyStatusProblem> {
        if at < &self.valid_from {
            return Err(KeyStatusProblem::NotYetValid(self.valid_from.clone()));
        }
        if let Some(until) = &self.valid_until {
            if at >= until {
                return Err(KeyStatusProblem::Expired(until.clone()));
            }
        }
        if let Some(rev) = &self.revoked_from {
            if at >= rev {
                return Err(KeyStatusProblem::Revoked(rev.clone()));
            }
        }
        Ok(())
    }
}

/// Everything the validator needs to know about who may write what.
///
/// It serializes without its cache of decompressed keys, which deserializing rebuilds.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(from = "AuthorityForm")]
pub struct AuthorityState {
    /// Trust anchors.
    pub trust: TrustAnchors,
    /// Agencies by id.
    pub agencies: HashMap<String, AgencyInfo>,
    /// Facilities by id.
    pub facilities: HashMap<String, FacilityInfo>,
    /// Enrolled keys.
    pub keys: HashMap<PublicKeyId, KeyInfo>,
    /// Decompressed public keys of roots and enrolled keys: decompressing a point costs a
    /// field square root, so it is done once per key, not once per record.
    #[serde(skip)]
    verifying: HashMap<PublicKeyId, VerifyingKey>,
}

/// The serialized form of an [`AuthorityState`]: everything but the key cache.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorityForm {
    trust: TrustAnchors,
    agencies: HashMap<String, AgencyInfo>,
    facilities: HashMap<String, FacilityInfo>,
    keys: HashMap<PublicKeyId, KeyInfo>,
}

impl From<AuthorityForm> for AuthorityState {
    fn from(form: AuthorityForm) -> Self {
        let mut state = AuthorityState::new(form.trust);
        state.agencies = form.agencies;
        state.facilities = form.facilities;
        let enrolled: Vec<PublicKeyId> = form.keys.keys().copied().collect();
        state.keys = form.keys;
        for key in enrolled {
            state.cache_key(key);
        }
        state
    }
}

impl AuthorityState {
    /// An empty state trusting the given roots.
    pub fn new(trust: TrustAnchors) -> Self {
        let mut state = AuthorityState {
            trust,
            agencies: HashMap::new(),
            facilities: HashMap::new(),
            keys: HashMap::new(),
            verifying: HashMap::new(),
        };
        let roots: Vec<PublicKeyId> = state.trust.roots.iter().map(|r| r.key).collect();
        for key in roots {
            state.cache_key(key);
        }
        state
    }

    fn cache_key(&mut self, key: PublicKeyId) {
        if let Ok(vk) = key.verifying_key() {
            self.verifying.insert(key, vk);
        }
    }

    /// The decompressed key of a root or enrolled key, if known and usable.
    pub fn cached_verifying_key(&self, key: &PublicKeyId) -> Option<&VerifyingKey> {
        self.verifying.get(key)
    }

    /// Applies a validated authority event body. Validation has already checked that it is
    /// acceptable; events of other kinds are ignored.
    pub fn apply(&mut self, body: &Body) {
        match body {
            Body::AgencyRegistered(b) => {
                self.agencies.insert(
                    b.id.clone(),
                    AgencyInfo {
                        name: b.name.clone(),
                        agency_type: b.r#type,
                        country: b.country.clone(),
                    },
                );
            }
            Body::FacilityRegistered(b) => {
                self.facilities.insert(
                    b.id.clone(),
                    FacilityInfo {
                        agency: b.agency.clone(),
                        name: b.name.clone(),
                        kind: b.kind,
                        capacity: b.capacity,
                        officially_recognised: b.officially_recognised,
                    },
                );
            }
            Body::KeyEnrolled(b) => {
                self.cache_key(b.key);
                self.keys.insert(
                    b.key,
                    KeyInfo {
                        agency: b.agency.clone(),
                        roles: b.roles.clone(),
                        valid_from: b.valid_from.clone(),
                        valid_until: b.valid_until.clone(),
                        revoked_from: None,
                    },
                );
            }
            Body::KeyRevoked(b) => {
                if let Some(k) = self.keys.get_mut(&b.key) {
                    k.revoked_from = Some(b.effective_from.clone());
                }
            }
            _ => {}
        }
    }
}
