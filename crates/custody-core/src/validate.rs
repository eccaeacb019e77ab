//! The one validation function that every append and every verifier uses.
//!
//! [`Validator::check`] decides whether a record may extend the ledger as it stands; it changes
//! nothing. [`Validator::apply`] then moves the state; [`Validator::append`] does both. The
//! checks run in the order of `docs/SPEC.md` section "Validation", and the first failing rule is
//! reported as a [`ValidationError`] whose [`rule`](ValidationError::rule) is a [`Rule`] of
//! [`Rule::VALIDATION`], with a stable code (test vectors in `tests/vectors/v1/invalid/` name
//! it).
//!
//! The first check (hash and signature) depends on the record alone and is most of the cost.
//! A caller that keeps the state behind a lock can run it apart, without the lock:
//! [`verify_signature`], then [`Validator::check_verified`] under the lock. `check` is exactly
//! the two in sequence.

use std::collections::{HashMap, HashSet};

use crate::authority::{AuthorityState, KeyStatusProblem, TrustAnchors};
use crate::chain::{
    ChainConflict, ChainHead, ChainState, CommitmentOrder, ConflictCause, Custody, OrderSource,
};
use crate::facts::{fact_fields, Facts};
use crate::hash::Hash;
use crate::ids::AUTHORITY_CHAIN;
use crate::keys::{KeyError, PublicKeyId};
use crate::kinds::bodies::AgencyType;
use crate::kinds::{body_fields, parse_body, Body, BodyError, EventKind};
use crate::record::{signed_message, FormatError, Record};
use crate::roles::{roles_for, Role};
use crate::rule::Rule;
pub use crate::rule::StateRule;
use crate::time::Timestamp;

/// Limits and tolerances of validation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorConfig {
    /// How far `recorded_at` may lie after the validator's clock, in seconds (clock skew of
    /// offline posts). Default 300.
    pub future_tolerance_secs: i64,
    /// Largest canonical payload, in bytes. Default 65,536.
    pub max_payload_bytes: usize,
    /// Whether new detainee events must carry their payload (true on a primary ledger; false
    /// on a replica and for a verifier reading a headers-only export; `custody_ledger::Ledger`
    /// sets it from the ledger's role). Authority events always need theirs.
    pub require_payload: bool,
}

impl Default for ValidatorConfig {
    fn default() -> Self {
        ValidatorConfig {
            future_tolerance_secs: 300,
            max_payload_bytes: 64 * 1024,
            require_payload: false,
        }
    }
}

/// Why a record was refused. Messages state the fact, then what is expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The record is not well formed.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// `hash` is not the SHA-256 of the canonical header.
    #[error("/hash is {claimed} but the canonical header hashes to {computed}: the header was altered or the hash miscomputed")]
    HashMismatch {
        /// The hash in the record.
        claimed: Hash,
        /// The hash of the header.
        computed: Hash,
    },
    /// The signer's key is unusable (not on the curve, or weak).
    #[error("/header/signer: {0}")]
    UnusableKey(KeyError),
    /// The signature does not verify.
    #[error("/signature does not verify under /header/signer {signer}: the record was altered or signed with another key")]
    BadSignature {
        /// The claimed signer.
        signer: PublicKeyId,
    },
    /// The record was signed for another ledger.
    #[error("/header/ledger is {got:?} but this is ledger {expected:?}: a record signed for one ledger is never valid in another")]
    WrongLedger {
        /// This validator's ledger.
        expected: String,
        /// The record's ledger (cut to 64 characters).
        got: String,
    },
    /// The kind does not belong on this chain.
    #[error("/header/kind {kind} cannot be written to chain {chain}: authority kinds go on the authority chain, detainee kinds on a d- chain")]
    WrongChain {
        /// The kind.
        kind: EventKind,
        /// The chain.
        chain: String,
    },
    /// `seq` does not extend the head.
    #[error("/header/seq is {got} but chain {chain} expects {expected}: fetch the chain head and sign again")]
    WrongSeq {
        /// The chain.
        chain: String,
        /// The expected next position.
        expected: u64,
        /// The record's seq.
        got: u64,
    },
    /// `prev` is not the head's hash.
    #[error("/header/prev is {} but the head of chain {chain} is {}: fetch the chain head and sign again", hash_or_null(.got), hash_or_null(.expected))]
    WrongPrev {
        /// The chain.
        chain: String,
        /// The head's hash (`None`, written `null`, for a new chain).
        expected: Option<Hash>,
        /// The record's prev (`None`: `null`).
        got: Option<Hash>,
    },
    /// An authority event not signed by a trust anchor.
    #[error(
        "/header/signer {key} is not a trust-anchor key: only root keys write the authority chain"
    )]
    NotTrustRoot {
        /// The signer.
        key: PublicKeyId,
    },
    /// The signer is not enrolled.
    #[error("/header/signer {key} is not an enrolled key: enroll it on the authority chain first")]
    UnknownKey {
        /// The signer.
        key: PublicKeyId,
    },
    /// The key is enrolled for another agency.
    #[error("/header/agency is {header} but key {key} signs for agency {key_agency}")]
    AgencyMismatch {
        /// The signer.
        key: PublicKeyId,
        /// The key's agency.
        key_agency: String,
        /// The header's agency.
        header: String,
    },
    /// `recorded_at` is before the key's validity.
    #[error("/header/recorded_at {at} is before key {key} becomes valid at {from}")]
    KeyNotYetValid {
        /// The signer.
        key: PublicKeyId,
        /// When it was used.
        at: Timestamp,
        /// Start of validity (boxed to keep the error small).
        from: Box<Timestamp>,
    },
    /// `recorded_at` is after the key's validity.
    #[error("/header/recorded_at {at} is after key {key} expired at {until}")]
    KeyExpired {
        /// The signer.
        key: PublicKeyId,
        /// When it was used.
        at: Timestamp,
        /// End of validity (boxed to keep the error small).
        until: Box<Timestamp>,
    },
    /// The key is revoked at `recorded_at`.
    #[error("/header/signer {key} was revoked from {from}, before /header/recorded_at {at}")]
    KeyRevoked {
        /// The signer.
        key: PublicKeyId,
        /// When it was used.
        at: Timestamp,
        /// Revocation instant (boxed to keep the error small).
        from: Box<Timestamp>,
    },
    /// The key holds no role allowed to write this kind.
    #[error("/header/kind {kind} may be written by {allowed} but key {key} holds {held}")]
    RoleNotAllowed {
        /// The signer.
        key: PublicKeyId,
        /// The kind.
        kind: EventKind,
        /// Roles allowed, comma separated.
        allowed: String,
        /// Roles held, comma separated.
        held: String,
    },
    /// `occurred_at` is after `recorded_at`.
    #[error("/header/occurred_at {occurred} is after /header/recorded_at {recorded}: a fact is recorded after it happens")]
    OccurredAfterRecorded {
        /// occurred_at.
        occurred: Timestamp,
        /// recorded_at.
        recorded: Timestamp,
    },
    /// `recorded_at` is in the future.
    #[error("/header/recorded_at {recorded} is more than {tolerance_secs} s after the validator's clock {now}: check the device clock")]
    InFuture {
        /// recorded_at.
        recorded: Timestamp,
        /// The validator's clock.
        now: Timestamp,
        /// Tolerance in seconds.
        tolerance_secs: i64,
    },
    /// The payload is required here but absent.
    #[error("/payload is missing: {kind} records must carry their payload here")]
    PayloadMissing {
        /// The kind.
        kind: EventKind,
    },
    /// The canonical payload is too large.
    #[error("/payload is {size} bytes in canonical form, over the limit of {limit}: attach large material as evidence_added by digest")]
    PayloadTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The payload does not match `payload_digest`.
    #[error("/payload hashes to {computed} but /header/payload_digest is {claimed}: the payload was altered")]
    PayloadDigestMismatch {
        /// Digest in the header.
        claimed: Hash,
        /// Digest of the payload.
        computed: Hash,
    },
    /// The body does not match its kind's schema.
    #[error("{0}")]
    Body(#[from] BodyError),
    /// `header.facts` is not the projection of the body onto the kind's fact fields.
    #[error("/header/facts/{field} does not match payload.body/{field}: the facts of a {kind} are copies of its body's fact fields")]
    FactsMismatch {
        /// The kind.
        kind: EventKind,
        /// The first fact field that differs.
        field: String,
    },
    /// A rule of the chain's state refuses the event.
    #[error("{message}")]
    State {
        /// Stable code of the rule (e.g. `custody_gap`).
        rule: StateRule,
        /// What is wrong and what to do.
        message: String,
    },
}

impl ValidationError {
    /// The stable code of the rule that refused the record: one of [`Rule::VALIDATION`]
    /// (`format`, `hash`, `signature`, `seq`, ..., or [`Rule::State`]).
    pub fn rule(&self) -> Rule {
        match self {
            ValidationError::Format(_) => Rule::Format,
            ValidationError::HashMismatch { .. } => Rule::Hash,
            ValidationError::UnusableKey(_) => Rule::SignerKey,
            ValidationError::BadSignature { .. } => Rule::Signature,
            ValidationError::WrongLedger { .. } => Rule::Ledger,
            ValidationError::WrongChain { .. } => Rule::ChainKind,
            ValidationError::WrongSeq { .. } => Rule::Seq,
            ValidationError::WrongPrev { .. } => Rule::Prev,
            ValidationError::NotTrustRoot { .. } => Rule::NotTrustRoot,
            ValidationError::UnknownKey { .. } => Rule::UnknownKey,
            ValidationError::AgencyMismatch { .. } => Rule::AgencyMismatch,
            ValidationError::KeyNotYetValid { .. } => Rule::KeyNotYetValid,
            ValidationError::KeyExpired { .. } => Rule::KeyExpired,
            ValidationError::KeyRevoked { .. } => Rule::KeyRevoked,
            ValidationError::RoleNotAllowed { .. } => Rule::Role,
            ValidationError::OccurredAfterRecorded { .. } => Rule::OccurredAfterRecorded,
            ValidationError::InFuture { .. } => Rule::Future,
            ValidationError::PayloadMissing { .. } => Rule::PayloadMissing,
            ValidationError::PayloadTooLarge { .. } => Rule::PayloadSize,
            ValidationError::PayloadDigestMismatch { .. } => Rule::PayloadDigest,
            ValidationError::Body(_) => Rule::Schema,
            ValidationError::FactsMismatch { .. } => Rule::Facts,
            ValidationError::State { rule, .. } => Rule::State(*rule),
        }
    }

    /// Whether the record lost a race rather than being wrong: the chain moved on since it was
    /// signed (fetch the head and sign again). [`ValidationError::conflict`] says how.
    pub fn is_stale(&self) -> bool {
        matches!(
            self,
            ValidationError::WrongSeq { .. } | ValidationError::WrongPrev { .. }
        )
    }

    /// The chain conflict this refusal is, when the record lost a race (a stale `seq` or
    /// `prev`, see [`ValidationError::is_stale`]); `head` is the chain's head the record was
    /// checked against. `None` for any other refusal.
    pub fn conflict(&self, head: Option<ChainHead>) -> Option<ChainConflict> {
        let (chain, cause) = match self {
            ValidationError::WrongSeq { chain, got, .. } => {
                (chain, ConflictCause::Seq { got: *got })
            }
            ValidationError::WrongPrev { chain, got, .. } => {
                (chain, ConflictCause::Prev { got: *got })
            }
            _ => return None,
        };
        Some(ChainConflict {
            chain: chain.clone(),
            head,
            cause,
        })
    }
}

/// A hash as a message writes it: its hex, or `null`.
fn hash_or_null(hash: &Option<Hash>) -> String {
    hash.map_or_else(|| "null".to_string(), |h| h.to_hex())
}

fn state(rule: StateRule, message: impl Into<String>) -> ValidationError {
    ValidationError::State {
        rule,
        message: message.into(),
    }
}

fn join_roles(roles: &[Role]) -> String {
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    if names.is_empty() {
        "no role".to_string()
    } else {
        names.join(", ")
    }
}

/// The earlier event a record refers back to, if it is a `correction` or a `redaction`: what
/// [`Validator::remember_only`] needs to know in advance. Read from the header's facts, so a
/// record without its payload names its target too.
pub fn look_back_target(record: &Record) -> Option<Hash> {
    match record.header.kind {
        EventKind::Correction => record.header.facts.hash("corrects"),
        EventKind::Redaction => record.header.facts.hash("event"),
        _ => None,
    }
}

fn out_of_order(
    later: &str,
    later_t: &Timestamp,
    earlier: &str,
    earlier_t: &Timestamp,
) -> ValidationError {
    state(
        StateRule::TimeOrder,
        format!("{later} {later_t} is not after {earlier} {earlier_t}"),
    )
}

/// Rule `time_order` on a body: a questioning's end is not before its start.
fn check_body_time_order(body: &Body) -> Result<(), ValidationError> {
    match body {
        Body::Questioning(b) => match &b.ended_at {
            Some(end) if end < &b.started_at => Err(out_of_order(
                "payload.body/ended_at",
                end,
                "payload.body/started_at",
                &b.started_at,
            )),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// A fact the header must carry (its presence was checked with the header's form).
fn fact_str<'a>(h: &'a crate::record::Header, name: &str) -> Result<&'a str, ValidationError> {
    h.facts.str(name).ok_or_else(|| missing_fact(name))
}

fn fact_hash(h: &crate::record::Header, name: &str) -> Result<Hash, ValidationError> {
    h.facts.hash(name).ok_or_else(|| missing_fact(name))
}

fn fact_time(h: &crate::record::Header, name: &str) -> Result<Timestamp, ValidationError> {
    h.facts.timestamp(name).ok_or_else(|| missing_fact(name))
}

fn missing_fact(name: &str) -> ValidationError {
    ValidationError::Format(FormatError::Missing {
        field: format!("/header/facts/{name}"),
    })
}

/// Proof that a record's hash and signature were checked (the first validation step, which
/// depends on the record alone): made by [`verify_signature`], taken by
/// [`Validator::check_verified`].
///
/// The proof borrows the record it was made for, so the rest of validation runs on exactly
/// that record, and the record cannot change while the proof exists:
///
/// ```compile_fail
/// # fn f(v: &custody_core::Validator, mut record: custody_core::Record) {
/// let proof = custody_core::validate::verify_signature(&record, None).unwrap();
/// record.signature[0] ^= 1; // error: `record` is borrowed by the proof
/// let _ = v.check_verified(proof, None);
/// # }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SignatureVerified<'a> {
    record: &'a Record,
}

impl<'a> SignatureVerified<'a> {
    /// The record that was verified.
    pub fn record(&self) -> &'a Record {
        self.record
    }
}

/// Step 1 of validation: the record's hash is the hash of its header, and its signature is a
/// strict Ed25519 signature by the header's `signer`. `key` is that signer's decompressed key
/// when the caller has it ([`Validator::verifying_key`]); otherwise it is decompressed here.
pub fn verify_signature<'a>(
    record: &'a Record,
    key: Option<&ed25519_dalek::VerifyingKey>,
) -> Result<SignatureVerified<'a>, ValidationError> {
    let h = &record.header;
    let computed = h.compute_hash();
    if computed != record.hash {
        return Err(ValidationError::HashMismatch {
            claimed: record.hash,
            computed,
        });
    }
    let decompressed;
    let vk = match key {
        Some(vk) => vk,
        None => {
            decompressed = h
                .signer
                .verifying_key()
                .map_err(ValidationError::UnusableKey)?;
            &decompressed
        }
    };
    vk.verify_strict(
        &signed_message(&record.hash),
        &ed25519_dalek::Signature::from_bytes(&record.signature),
    )
    .map_err(|_| ValidationError::BadSignature { signer: h.signer })?;
    Ok(SignatureVerified { record })
}

/// Proof that a record passed [`Validator::check`], with its parsed body: the only way to move
/// the state ([`Validator::apply`]).
///
/// It borrows the record it was made for, so the state moves for exactly the record that was
/// checked, and the record cannot change in between:
///
/// ```compile_fail
/// # fn f(v: &mut custody_core::Validator, mut record: custody_core::Record) {
/// let checked = v.check(&record, None).unwrap();
/// record.header.seq += 1; // error: `record` is borrowed by the proof
/// v.apply(checked);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Checked<'a> {
    record: &'a Record,
    /// The parsed body, when the payload was present.
    pub body: Option<Body>,
}

impl<'a> Checked<'a> {
    /// The record that was checked.
    pub fn record(&self) -> &'a Record {
        self.record
    }
}

/// Validation state of a whole ledger: authority and every chain, built by replaying records
/// in ledger order.
///
/// It serializes (serde) to everything it holds but the cache of decompressed keys, which
/// deserializing rebuilds: a verifier can save the state it reached and resume from it (a saved
/// audit state, `custody_verify::SavedState`). Deserializing checks the form, not that the
/// state is one a ledger could reach: keep a saved state where only its owner can write, and
/// bind it to what it was computed for.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Validator {
    config: ValidatorConfig,
    /// Events whose hash and kind each chain remembers for the rules that refer back
    /// (corrections and redactions); `None`: every event.
    #[serde(serialize_with = "sorted_set")]
    remembered: Option<HashSet<Hash>>,
    authority: AuthorityState,
    authority_head: Option<ChainHead>,
    chains: HashMap<String, ChainState>,
    size: u64,
}

/// Serializes a set of hashes in order, so that equal states serialize equally.
fn sorted_set<S: serde::Serializer>(set: &Option<HashSet<Hash>>, s: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    set.as_ref()
        .map(|set| {
            let mut v: Vec<&Hash> = set.iter().collect();
            v.sort();
            v
        })
        .serialize(s)
}

impl Validator {
    /// A validator for an empty ledger with the given trust anchors.
    pub fn new(trust: TrustAnchors, config: ValidatorConfig) -> Self {
        Validator {
            config,
            remembered: None,
            authority: AuthorityState::new(trust),
            authority_head: None,
            chains: HashMap::new(),
            size: 0,
        }
    }

    /// Remembers only these events (hash and kind) instead of every event of every chain.
    ///
    /// Rules S11 and S15 look back at an earlier event of the chain (the target of a
    /// `correction` or a `redaction`). A verifier that knows the targets in advance (a first
    /// pass over a file collects them) passes them here, and its memory then grows with the
    /// number of chains, not with the number of records; the rules stay exact, since a target
    /// that is not in the set is not in the chain either.
    pub fn remember_only(&mut self, targets: HashSet<Hash>) {
        self.remembered = Some(targets);
    }

    /// Adds these events to those remembered (see [`Validator::remember_only`]), for a
    /// validator resumed from a saved state that is given more records: their look-back
    /// targets. Nothing changes when every event is remembered.
    pub fn remember_also(&mut self, targets: impl IntoIterator<Item = Hash>) {
        if let Some(set) = &mut self.remembered {
            set.extend(targets);
        }
    }

    /// Whether the event `hash` is one this validator remembers (or would remember) for the
    /// look-back rules: always when it remembers every event.
    pub fn remembers(&self, hash: &Hash) -> bool {
        self.remembered
            .as_ref()
            .is_none_or(|set| set.contains(hash))
    }

    /// The configuration.
    pub fn config(&self) -> &ValidatorConfig {
        &self.config
    }

    /// The authority state.
    pub fn authority(&self) -> &AuthorityState {
        &self.authority
    }

    /// The state of a detainee chain.
    pub fn chain(&self, chain: &str) -> Option<&ChainState> {
        self.chains.get(chain)
    }

    /// Every detainee chain with its state.
    pub fn chains(&self) -> impl Iterator<Item = (&String, &ChainState)> {
        self.chains.iter()
    }

    /// Puts the state of a detainee chain saved before (a verifier that keeps the chains of a
    /// saved state on disk and loads only those its new records touch), replacing any state of
    /// that chain. The state must be one this validator's ledger reached.
    pub fn insert_chain(&mut self, chain: String, state: ChainState) {
        self.chains.insert(chain, state);
    }

    /// Takes every detainee chain's state out (to save them one by one); the validator then
    /// knows no detainee chain.
    pub fn take_chains(&mut self) -> HashMap<String, ChainState> {
        std::mem::take(&mut self.chains)
    }

    /// A copy of this validator that knows the whole authority but only the named detainee
    /// chains: enough to check a run of records on those chains one after the other (each
    /// [`Validator::apply`]d to the copy before the next is checked) without copying every
    /// chain. A chain it does not know is, to the copy, a chain not yet started; the copy's
    /// [`Validator::size`] starts at this validator's.
    pub fn fork_chains<'c>(&self, chains: impl IntoIterator<Item = &'c str>) -> Validator {
        Validator {
            config: self.config.clone(),
            remembered: self.remembered.clone(),
            authority: self.authority.clone(),
            authority_head: self.authority_head,
            chains: chains
                .into_iter()
                .filter_map(|c| self.chains.get(c).map(|s| (c.to_string(), s.clone())))
                .collect(),
            size: self.size,
        }
    }

    /// The head of any chain (authority included).
    pub fn head(&self, chain: &str) -> Option<ChainHead> {
        if chain == AUTHORITY_CHAIN {
            self.authority_head
        } else {
            self.chains.get(chain).map(|c| c.head)
        }
    }

    /// Number of records applied (the ledger size).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Checks and applies a record.
    pub fn append(
        &mut self,
        record: &Record,
        now: Option<&Timestamp>,
    ) -> Result<(), ValidationError> {
        let checked = self.check(record, now)?;
        self.apply(checked);
        Ok(())
    }

    /// Decides whether `record` may extend the ledger now; changes nothing. `now` is the
    /// validator's clock for the future-time rule (`None` skips that rule, e.g. when replaying
    /// a ledger that was already accepted).
    pub fn check<'r>(
        &self,
        record: &'r Record,
        now: Option<&Timestamp>,
    ) -> Result<Checked<'r>, ValidationError> {
        self.check_inner(record, now, self.config.require_payload)
    }

    /// The decompressed key of a root or enrolled key, for [`verify_signature`] (a copy, so
    /// the caller can verify without holding the validator).
    pub fn verifying_key(&self, key: &PublicKeyId) -> Option<ed25519_dalek::VerifyingKey> {
        self.authority.cached_verifying_key(key).copied()
    }

    /// [`Validator::check`] of the record whose hash and signature [`verify_signature`]
    /// verified apart: the same rules after the first, in the same order.
    pub fn check_verified<'r>(
        &self,
        verified: SignatureVerified<'r>,
        now: Option<&Timestamp>,
    ) -> Result<Checked<'r>, ValidationError> {
        self.check_state(verified.record, now, self.config.require_payload)
    }

    /// Replays a record that was already accepted into the ledger: every rule applies except
    /// the future-time rule and the need for a detainee payload (a stored record may have lost
    /// its payload to a lawful redaction since it was accepted).
    pub fn replay(&mut self, record: &Record) -> Result<(), ValidationError> {
        let checked = self.check_inner(record, None, false)?;
        self.apply(checked);
        Ok(())
    }

    fn check_inner<'r>(
        &self,
        record: &'r Record,
        now: Option<&Timestamp>,
        require_payload: bool,
    ) -> Result<Checked<'r>, ValidationError> {
        // 1. Hash and signature.
        verify_signature(
            record,
            self.authority.cached_verifying_key(&record.header.signer),
        )?;
        self.check_state(record, now, require_payload)
    }

    /// Steps 2 to 6, after the hash and signature.
    fn check_state<'r>(
        &self,
        record: &'r Record,
        now: Option<&Timestamp>,
        require_payload: bool,
    ) -> Result<Checked<'r>, ValidationError> {
        let h = &record.header;
        // The facts of a parsed header were checked with its form. A record built in memory
        // without its payload is checked here; with its payload, its facts must equal the
        // body's projection (step 6), which the body's schema makes well formed.
        if record.payload.is_none() {
            h.facts.check(h.kind)?;
        }

        // 2. The ledger.
        if h.ledger != self.authority.trust.ledger {
            return Err(ValidationError::WrongLedger {
                expected: self.authority.trust.ledger.clone(),
                got: crate::encoding::excerpt(&h.ledger),
            });
        }

        // 3. Chain link.
        let is_authority_chain = h.chain == AUTHORITY_CHAIN;
        if h.kind.is_authority() != is_authority_chain {
            return Err(ValidationError::WrongChain {
                kind: h.kind,
                chain: h.chain.clone(),
            });
        }
        let head = self.head(&h.chain);
        let expected_seq = head.map_or(0, |hd| hd.seq + 1);
        if h.seq != expected_seq {
            return Err(ValidationError::WrongSeq {
                chain: h.chain.clone(),
                expected: expected_seq,
                got: h.seq,
            });
        }
        if h.prev != head.map(|hd| hd.hash) {
            return Err(ValidationError::WrongPrev {
                chain: h.chain.clone(),
                expected: head.map(|hd| hd.hash),
                got: h.prev,
            });
        }

        // 4. Authority of the signer.
        let signer_roles: &[Role] = if is_authority_chain {
            let root = self
                .authority
                .trust
                .root(&h.signer)
                .ok_or(ValidationError::NotTrustRoot { key: h.signer })?;
            if root.agency != h.agency {
                return Err(ValidationError::AgencyMismatch {
                    key: h.signer,
                    key_agency: root.agency.clone(),
                    header: h.agency.clone(),
                });
            }
            &[]
        } else {
            let key = self
                .authority
                .keys
                .get(&h.signer)
                .ok_or(ValidationError::UnknownKey { key: h.signer })?;
            if key.agency != h.agency {
                return Err(ValidationError::AgencyMismatch {
                    key: h.signer,
                    key_agency: key.agency.clone(),
                    header: h.agency.clone(),
                });
            }
            key.check_valid_at(&h.recorded_at).map_err(|p| {
                let (key, at) = (h.signer, h.recorded_at.clone());
                match p {
                    KeyStatusProblem::NotYetValid(from) => ValidationError::KeyNotYetValid {
                        key,
                        at,
                        from: Box::new(from),
                    },
                    KeyStatusProblem::Expired(until) => ValidationError::KeyExpired {
                        key,
                        at,
                        until: Box::new(until),
                    },
                    KeyStatusProblem::Revoked(from) => ValidationError::KeyRevoked {
                        key,
                        at,
                        from: Box::new(from),
                    },
                }
            })?;
            let allowed = roles_for(h.kind);
            if !key.roles.iter().any(|r| allowed.contains(r)) {
                return Err(ValidationError::RoleNotAllowed {
                    key: h.signer,
                    kind: h.kind,
                    allowed: join_roles(allowed),
                    held: join_roles(&key.roles),
                });
            }
            &key.roles
        };

        // 5. Time.
        if h.occurred_at > h.recorded_at {
            return Err(ValidationError::OccurredAfterRecorded {
                occurred: h.occurred_at.clone(),
                recorded: h.recorded_at.clone(),
            });
        }
        if let Some(now) = now {
            let limit = i128::from(self.config.future_tolerance_secs) * 1_000_000_000;
            if h.recorded_at.unix_nanos() - now.unix_nanos() > limit {
                return Err(ValidationError::InFuture {
                    recorded: h.recorded_at.clone(),
                    now: now.clone(),
                    tolerance_secs: self.config.future_tolerance_secs,
                });
            }
        }

        // 6. Payload: size, digest, schema, facts.
        let body = match &record.payload {
            None => {
                if is_authority_chain || require_payload {
                    return Err(ValidationError::PayloadMissing { kind: h.kind });
                }
                None
            }
            Some(p) => {
                let bytes = p.canonical_bytes();
                if bytes.len() > self.config.max_payload_bytes {
                    return Err(ValidationError::PayloadTooLarge {
                        size: bytes.len(),
                        limit: self.config.max_payload_bytes,
                    });
                }
                let computed = Hash::of(&bytes);
                if computed != h.payload_digest {
                    return Err(ValidationError::PayloadDigestMismatch {
                        claimed: h.payload_digest,
                        computed,
                    });
                }
                let body = parse_body(h.kind, &p.body)?;
                let projected = Facts::project(h.kind, &p.body);
                if let Some(field) = h.facts.first_difference(&projected, h.kind) {
                    return Err(ValidationError::FactsMismatch {
                        kind: h.kind,
                        field: field.to_string(),
                    });
                }
                Some(body)
            }
        };

        // 7. State.
        if is_authority_chain {
            if let Some(b) = &body {
                self.check_authority_body(b)?;
            }
        } else {
            self.check_detainee_state(record, body.as_ref(), signer_roles)?;
        }
        Ok(Checked { record, body })
    }

    fn check_authority_body(&self, body: &Body) -> Result<(), ValidationError> {
        let a = &self.authority;
        match body {
            Body::AgencyRegistered(b) if a.agencies.contains_key(&b.id) => {
                return Err(state(
                    StateRule::Duplicate,
                    format!("payload.body/id: agency {} is already registered", b.id),
                ));
            }
            Body::FacilityRegistered(b) => {
                if a.facilities.contains_key(&b.id) {
                    return Err(state(
                        StateRule::Duplicate,
                        format!("payload.body/id: facility {} is already registered", b.id),
                    ));
                }
                self.need_agency("payload.body/agency", &b.agency)?;
            }
            Body::KeyEnrolled(b) => {
                if a.keys.contains_key(&b.key) {
                    return Err(state(
                        StateRule::Duplicate,
                        format!("payload.body/key: key {} is already enrolled: revoke it and enroll a new key", b.key),
                    ));
                }
                b.key
                    .verifying_key()
                    .map_err(|e| state(StateRule::UnusableKey, format!("payload.body/key: {e}")))?;
                self.need_agency("payload.body/agency", &b.agency)?;
                if let Some(until) = &b.valid_until {
                    if until <= &b.valid_from {
                        return Err(state(
                            StateRule::BadValidity,
                            format!(
                                "payload.body/valid_until {until} is not after valid_from {}",
                                b.valid_from
                            ),
                        ));
                    }
                }
            }
            Body::KeyRevoked(b) => match a.keys.get(&b.key) {
                None => {
                    return Err(state(
                        StateRule::KeyNotEnrolled,
                        format!("payload.body/key: key {} is not enrolled", b.key),
                    ))
                }
                Some(k) if k.revoked_from.is_some() => {
                    return Err(state(
                        StateRule::KeyNotEnrolled,
                        format!("payload.body/key: key {} is already revoked", b.key),
                    ))
                }
                Some(_) => {}
            },
            _ => {}
        }
        Ok(())
    }

    fn need_agency(&self, field: &str, id: &str) -> Result<AgencyType, ValidationError> {
        self.authority
            .agencies
            .get(id)
            .map(|a| a.agency_type)
            .ok_or_else(|| {
                state(
                    StateRule::UnknownAgency,
                    format!("{field}: agency {id} is not registered on the authority chain"),
                )
            })
    }

    fn need_facility(
        &self,
        field: &str,
        id: &str,
        of_agency: Option<&str>,
    ) -> Result<&crate::authority::FacilityInfo, ValidationError> {
        let f = self.authority.facilities.get(id).ok_or_else(|| {
            state(
                StateRule::UnknownFacility,
                format!("{field}: facility {id} is not registered on the authority chain"),
            )
        })?;
        if let Some(agency) = of_agency {
            if f.agency != agency {
                return Err(state(
                    StateRule::FacilityOfOtherAgency,
                    format!(
                        "{field}: facility {id} belongs to agency {}, not {agency}",
                        f.agency
                    ),
                ));
            }
        }
        Ok(f)
    }

    fn check_detainee_state(
        &self,
        record: &Record,
        body: Option<&Body>,
        signer_roles: &[Role],
    ) -> Result<(), ValidationError> {
        use EventKind as K;
        let h = &record.header;
        let Some(chain) = self.chains.get(&h.chain) else {
            if h.kind != K::Arrest {
                return Err(state(
                    StateRule::FirstEventArrest,
                    format!(
                        "/header/kind is {} but a detainee chain starts with arrest",
                        h.kind
                    ),
                ));
            }
            return Ok(());
        };
        if !chain.kind_allowed(h.kind) {
            if let Custody::Gap { release, to, .. } = &chain.custody {
                return Err(state(
                    StateRule::CustodyGap,
                    format!(
                        "/header/kind {} cannot be recorded: the person is in a custody gap since release {release} to {}; the receiving agency must record custody_accepted first",
                        h.kind,
                        to.as_deref().unwrap_or("an unnamed agency"),
                    ),
                ));
            }
            return Err(state(
                StateRule::StatusForbids,
                format!(
                    "/header/kind {} cannot be recorded: the person is {}",
                    h.kind,
                    chain.custody.name()
                ),
            ));
        }

        // S3: events that only the holding agency records.
        let holder_only = matches!(
            h.kind,
            K::CustodyReleased
                | K::PoliceCustodyStarted
                | K::Questioning
                | K::Admission
                | K::RiskAssessment
                | K::Release
                | K::DisciplinarySanction
        ) || (matches!(
            h.kind,
            K::MedicalScreening | K::InjuryRecorded | K::Escape | K::DeathInCustody
        ) && self
            .authority
            .agencies
            .get(&h.agency)
            .map(|a| a.agency_type)
            != Some(AgencyType::Hospital));
        if holder_only {
            match &chain.custody {
                Custody::Held { holder } if holder != &h.agency => {
                    return Err(state(
                        StateRule::NotHolder,
                        format!(
                            "/header/agency {} does not hold the person ({holder} does): only the holding agency records {}",
                            h.agency, h.kind
                        ),
                    ));
                }
                Custody::Gap { from, to, .. }
                    if from != &h.agency && to.as_deref() != Some(h.agency.as_str()) =>
                {
                    return Err(state(
                        StateRule::NotHolder,
                        format!(
                            "/header/agency {} is neither the releasing nor the receiving agency of the pending handover",
                            h.agency
                        ),
                    ));
                }
                _ => {}
            }
        }

        // S4 to S15, in the order of the specification; every value they read comes from the
        // header (its facts), so they hold for a record without its payload too.
        match h.kind {
            K::CustodyAccepted => {
                let Custody::Gap {
                    from, to, release, ..
                } = &chain.custody
                else {
                    return Err(state(
                        StateRule::NoPendingRelease,
                        "custody_accepted answers no pending custody_released",
                    ));
                };
                if let Some(to) = to {
                    if to != &h.agency {
                        return Err(state(
                            StateRule::WrongReceiver,
                            format!(
                                "/header/agency {} is not the receiving agency {to} named by the pending release from {from}",
                                h.agency
                            ),
                        ));
                    }
                }
                let answered = fact_hash(h, "release_event")?;
                if &answered != release {
                    return Err(state(
                        StateRule::ReleaseMismatch,
                        format!(
                            "/header/facts/release_event {answered} is not the pending release {release}"
                        ),
                    ));
                }
                if let Some(f) = h.facts.str("facility") {
                    self.need_facility("/header/facts/facility", f, Some(&h.agency))?;
                }
            }
            K::CustodyReleased => {
                let to_agency = fact_str(h, "to_agency")?;
                self.need_agency("/header/facts/to_agency", to_agency)?;
                if to_agency == h.agency {
                    return Err(state(
                        StateRule::SelfHandover,
                        format!(
                            "/header/facts/to_agency {to_agency} is the releasing agency itself"
                        ),
                    ));
                }
                if let Some(f) = h.facts.str("to_facility") {
                    self.need_facility("/header/facts/to_facility", f, Some(to_agency))?;
                }
                check_legal_status(h, chain)?;
            }
            K::PoliceCustodyExtended if !chain.police_custody => {
                return Err(state(
                    StateRule::NoPoliceCustody,
                    "police_custody_extended needs a police_custody_started earlier in the chain",
                ));
            }
            K::PoliceCustodyStarted => {
                let t = self.need_agency("/header/agency", &h.agency)?;
                if !matches!(t, AgencyType::Police | AgencyType::Gendarmerie) {
                    return Err(state(
                        StateRule::AgencyType,
                        format!("police custody is placed by a police or gendarmerie unit, not by agency {} ({t:?})", h.agency),
                    ));
                }
                self.need_facility(
                    "/header/facts/facility",
                    fact_str(h, "facility")?,
                    Some(&h.agency),
                )?;
            }
            K::PlacementDecision => {
                self.need_facility(
                    "/header/facts/destination_facility",
                    fact_str(h, "destination_facility")?,
                    None,
                )?;
            }
            K::DetentionExtended => {
                let order = fact_hash(h, "order_event")?;
                if !chain
                    .order(&order)
                    .is_some_and(|o| o.source == OrderSource::DetentionOrder)
                {
                    return Err(state(
                        StateRule::UnknownOrder,
                        format!(
                            "/header/facts/order_event {order} is not a detention_order event of this chain"
                        ),
                    ));
                }
            }
            K::Admission => {
                let t = self.need_agency("/header/agency", &h.agency)?;
                if t != AgencyType::Prison {
                    return Err(state(
                        StateRule::AgencyType,
                        format!(
                            "admission is recorded by a prison, not by agency {} ({t:?})",
                            h.agency
                        ),
                    ));
                }
                let facility = fact_str(h, "facility")?;
                let f = self.need_facility("/header/facts/facility", facility, Some(&h.agency))?;
                if !f.officially_recognised {
                    return Err(state(
                        StateRule::FacilityNotRecognised,
                        format!("/header/facts/facility {facility} is not an officially recognised place of detention (ICPPED art. 17(1))"),
                    ));
                }
                let order = fact_hash(h, "commitment_order_event")?;
                match chain.order(&order) {
                    None => {
                        return Err(state(
                            StateRule::NoCommitmentOrder,
                            format!(
                                "/header/facts/commitment_order_event {order} is not a detention_order or custodial judgment of this chain: no admission without a valid commitment order (Mandela Rule 7)"
                            ),
                        ))
                    }
                    Some(CommitmentOrder {
                        valid_until: Some(until),
                        ..
                    }) if until < &h.occurred_at => {
                        return Err(state(
                            StateRule::CommitmentOrderExpired,
                            format!(
                                "/header/facts/commitment_order_event {order}: the order expired at {until}, before the admission at {}",
                                h.occurred_at
                            ),
                        ))
                    }
                    Some(_) => {}
                }
                check_legal_status(h, chain)?;
            }
            K::Correction => {
                let target = fact_hash(h, "corrects")?;
                let Some(kind) = chain.kind_of(&target) else {
                    return Err(state(
                        StateRule::UnknownEvent,
                        format!(
                            "/header/facts/corrects {target} is not an event of chain {}",
                            h.chain
                        ),
                    ));
                };
                let allowed = roles_for(kind);
                if !signer_roles.iter().any(|r| allowed.contains(r)) {
                    return Err(state(
                        StateRule::CorrectionRole,
                        format!(
                            "a correction of a {kind} event may be signed by {} but the signer holds {}",
                            join_roles(allowed),
                            join_roles(signer_roles)
                        ),
                    ));
                }
                if let Some(Body::Correction(b)) = body {
                    check_corrected_fields(kind, &b.corrected_fields)?;
                }
            }
            K::Redaction => {
                let target = fact_hash(h, "event")?;
                if chain.kind_of(&target).is_none() {
                    return Err(state(
                        StateRule::UnknownEvent,
                        format!(
                            "/header/facts/event {target} is not an event of chain {}",
                            h.chain
                        ),
                    ));
                }
            }
            K::ComplaintAnswered => {
                let complaint = fact_hash(h, "complaint_event")?;
                if !chain.complaints.contains(&complaint) {
                    return Err(state(
                        StateRule::UnknownEvent,
                        format!(
                            "/header/facts/complaint_event {complaint} is not a complaint_lodged event of chain {}",
                            h.chain
                        ),
                    ));
                }
            }
            K::DisciplinarySanction => {
                self.need_facility(
                    "/header/facts/facility",
                    fact_str(h, "facility")?,
                    Some(&h.agency),
                )?;
            }
            K::CounselAppointed => {
                let key = h
                    .facts
                    .key("counsel_key")
                    .ok_or_else(|| missing_fact("counsel_key"))?;
                let enrolled = self.authority.keys.get(&key);
                if !enrolled.is_some_and(|k| k.roles.contains(&Role::Counsel)) {
                    return Err(state(
                        StateRule::CounselKey,
                        format!(
                            "/header/facts/counsel_key {key} is not an enrolled key with role counsel: enrol the lawyer's key (agency of type bar_association, role counsel) first"
                        ),
                    ));
                }
            }
            K::IdentityLinked if fact_str(h, "other_chain")? == h.chain => {
                return Err(state(
                    StateRule::SelfLink,
                    "/header/facts/other_chain is this chain itself",
                ));
            }
            K::DetentionOrder => {
                let (start, until) = (fact_time(h, "start")?, fact_time(h, "valid_until")?);
                if until <= start {
                    return Err(out_of_order(
                        "/header/facts/valid_until",
                        &until,
                        "/header/facts/start",
                        &start,
                    ));
                }
            }
            _ => {}
        }
        if let Some(body) = body {
            check_body_time_order(body)?;
        }
        Ok(())
    }

    /// Applies a record that passed [`Validator::check`] against the current state.
    pub fn apply(&mut self, checked: Checked<'_>) {
        use EventKind as K;
        let record = checked.record;
        let h = &record.header;
        let head = ChainHead {
            seq: h.seq,
            hash: record.hash,
        };
        self.size += 1;
        if h.chain == AUTHORITY_CHAIN {
            self.authority_head = Some(head);
            if let Some(b) = &checked.body {
                self.authority.apply(b);
            }
            return;
        }
        let chain = self
            .chains
            .entry(h.chain.clone())
            .or_insert_with(|| ChainState {
                head,
                custody: Custody::Held {
                    holder: h.agency.clone(),
                },
                events: Vec::new(),
                orders: Vec::new(),
                police_custody: false,
                convicted: false,
                counsel: Vec::new(),
                complaints: Vec::new(),
                since: h.occurred_at.clone(),
            });
        chain.head = head;
        if self
            .remembered
            .as_ref()
            .is_none_or(|targets| targets.contains(&record.hash))
        {
            chain.events.push((record.hash, h.kind));
        }
        match h.kind {
            K::Arrest => {
                chain.custody = Custody::Held {
                    holder: h.agency.clone(),
                }
            }
            K::CustodyReleased => {
                chain.custody = Custody::Gap {
                    release: record.hash,
                    from: h.agency.clone(),
                    to: h.facts.str("to_agency").map(str::to_string),
                    since: h.occurred_at.clone(),
                };
            }
            K::CustodyAccepted => {
                chain.custody = Custody::Held {
                    holder: h.agency.clone(),
                }
            }
            K::PoliceCustodyStarted => chain.police_custody = true,
            K::ComplaintLodged => chain.complaints.push(record.hash),
            K::CounselAppointed => {
                if let Some(key) = h.facts.key("counsel_key") {
                    chain.counsel.push(crate::chain::CounselAppointment {
                        event: record.hash,
                        key,
                        from: h.occurred_at.clone(),
                        until: h.facts.timestamp("until"),
                    });
                }
            }
            K::Release => chain.custody = Custody::Released,
            K::DeathInCustody => chain.custody = Custody::Dead,
            K::Escape => chain.custody = Custody::Escaped,
            K::DetentionOrder => chain.orders.push(CommitmentOrder {
                event: record.hash,
                source: OrderSource::DetentionOrder,
                valid_until: h.facts.timestamp("valid_until"),
            }),
            K::DetentionExtended => {
                if let (Some(order), Some(until)) = (
                    h.facts.hash("order_event"),
                    h.facts.timestamp("valid_until"),
                ) {
                    if let Some(o) = chain.orders.iter_mut().find(|o| o.event == order) {
                        o.valid_until = Some(until);
                    }
                }
            }
            K::Judgment => {
                let convicted = h.facts.str("outcome") == Some("convicted");
                chain.convicted = convicted;
                if convicted && h.facts.bool("custodial") == Some(true) {
                    chain.orders.push(CommitmentOrder {
                        event: record.hash,
                        source: OrderSource::CustodialJudgment,
                        valid_until: None,
                    })
                }
            }
            _ => {}
        }
    }
}

/// Rule `legal_status` (S17): the legal status a record states (`facts.legal_status`) is one
/// the chain's legal events support ([`ChainState::supports`]).
fn check_legal_status(
    h: &crate::record::Header,
    chain: &ChainState,
) -> Result<(), ValidationError> {
    let stated = fact_str(h, "legal_status")?;
    let Some(status) = crate::kinds::bodies::LegalStatus::from_wire(stated) else {
        return Err(missing_fact("legal_status"));
    };
    if chain.supports(status) {
        return Ok(());
    }
    let needs = match status {
        crate::kinds::bodies::LegalStatus::PoliceCustody => "a police_custody_started",
        crate::kinds::bodies::LegalStatus::PreTrialDetention => "a detention_order",
        _ => "a judgment with outcome convicted (and no later judgment that is not a conviction)",
    };
    Err(state(
        StateRule::LegalStatus,
        format!(
            "/header/facts/legal_status is {status} but the chain's legal events support {}: {status} needs {needs} in the chain",
            chain.supported_status()
        ),
    ))
}

/// Rule `correction_fields`: every corrected field is a top-level field of the corrected
/// kind's body, and none is one of its facts (facts are never corrected: the rules read them).
fn check_corrected_fields(
    kind: EventKind,
    corrected: &serde_json::Value,
) -> Result<(), ValidationError> {
    let Some(fields) = corrected.as_object() else {
        return Ok(()); // the schema of `correction` already requires an object
    };
    let known = body_fields(kind);
    for name in fields.keys() {
        if fact_fields(kind).iter().any(|f| f.name == name) {
            return Err(state(
                StateRule::CorrectionFields,
                format!(
                    "payload.body/corrected_fields/{name} is a fact of {kind}, which a correction cannot change: record a new event instead"
                ),
            ));
        }
        if !known.contains(&name.as_str()) {
            return Err(state(
                StateRule::CorrectionFields,
                format!(
                    "payload.body/corrected_fields/{name} is not a field of {kind}: its fields are {}",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}
