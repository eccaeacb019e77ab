//! The checkpointer of custody-ledger: on a schedule, when the ledger's tree grew since the
//! latest stored checkpoint (never one per event), it verifies the new records, checks that
//! the tree still holds the latest stored checkpoint's tree as its prefix (the ledger was not
//! rewritten), signs a C2SP checkpoint with the ledger key, keeps it in the store's append-only
//! checkpoint history ([`LedgerStore::add_checkpoint`]), then sends it to each configured
//! witness (C2SP tlog-witness `add-checkpoint`, with a consistency proof from the witness's last
//! known size) and stores the cosignatures that verify with the witness's key beside it.
//!
//! Guarantees (docs/SPEC.md section 12):
//! - **Only over verified records.** A checkpoint is signed only when every record up to its
//!   size verifies ([`custody_verify::Verifier`]); the first tick verifies the whole ledger,
//!   later ticks only the records appended since (the verifier's state is kept), unless a new
//!   record looks back at an event the kept state does not remember (a correction or a
//!   redaction of an older event), when the whole ledger is verified again.
//! - **Never two inconsistent checkpoints.** Before signing, the root of the current ledger
//!   at the latest stored checkpoint's size must be that checkpoint's root, the ledger must
//!   not be shorter, and the whole current tree must be the one verified; otherwise nothing is
//!   signed and the tick fails with [`CheckpointerError::Inconsistent`] (an alarm: the ledger
//!   was rewritten or records were dropped). The store refuses, atomically, a checkpoint
//!   smaller than the latest one.
//! - **A witness being down never blocks signing.** The checkpoint is stored before any
//!   witness is asked; a witness that fails is logged, reported in the [`TickOutcome`] and
//!   asked again at the next tick (even when the tree did not grow). Every cosignature is
//!   verified with the witness's key before it is kept.
//!
//! Cost of a tick: the ledger's Merkle tree is a [`custody_tlog::TreeDb`] (a file shared with
//! the proof endpoints given with [`Checkpointer::with_tree`], else one in memory), extended
//! with the new leaves only; the roots compared and the consistency proofs sent to the
//! witnesses are read from its stored nodes. A tick costs O(new records + log n), not a read
//! of every leaf.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod witness;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use custody_core::authority::TrustAnchors;
use custody_core::checkpoint::{verify_checkpoint, Checkpoint, NoteSigner, NoteVerifier};
use custody_core::cosignature::{add_signature_lines, CosignatureVerifier};
use custody_core::merkle::Digest;
use custody_core::validate::look_back_target;
use custody_core::{Record, Timestamp};
use custody_ledger::{LedgerMeta, META_PUBLISHED_CHECKPOINT};
use custody_store::{LedgerScan, LedgerStore, StoreError, StoredCheckpoint};
use custody_tlog::{TreeDb, TreeError};
use custody_verify::{Failure, Verifier};
use tokio::sync::{watch, Mutex};
use tracing::{debug, error, info, warn};

pub use witness::WitnessError;

/// Default time between two ticks of [`Checkpointer::run`].
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// Records read from the store per batch.
const BATCH: usize = 1000;

/// A witness the checkpointer sends its checkpoints to.
#[derive(Clone, Debug)]
pub struct Witness {
    /// Base URL of the witness (`http://host:port/prefix`); `add-checkpoint` is posted to
    /// `<url>/add-checkpoint`.
    pub url: String,
    /// The witness's cosignature verifier key.
    pub verifier: CosignatureVerifier,
}

impl Witness {
    /// A witness from the `VKEY=URL` form of `--witness`.
    pub fn parse(spec: &str) -> Result<Witness, CheckpointerError> {
        let (vkey, url) = spec.split_once('=').ok_or_else(|| {
            CheckpointerError::Config(format!(
                "witness {spec:?} is not VKEY=URL (a cosignature verifier key, '=', the witness's base URL)"
            ))
        })?;
        let verifier = CosignatureVerifier::parse(vkey).map_err(|e| {
            CheckpointerError::Config(format!("witness verifier key {vkey:?}: {e}"))
        })?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(CheckpointerError::Config(format!(
                "witness URL {url:?} must start with http:// or https://"
            )));
        }
        Ok(Witness {
            url: url.trim_end_matches('/').to_string(),
            verifier,
        })
    }

    /// The witness's key name.
    pub fn name(&self) -> &str {
        self.verifier.name()
    }
}

/// Why a tick signed nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointerError {
    /// The store failed; the next tick tries again.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A record of the ledger does not verify: no checkpoint is signed over it.
    #[error("the ledger does not verify, so no checkpoint was signed: {0}")]
    DoesNotVerify(String),
    /// The ledger contradicts the latest stored checkpoint: records were dropped or changed.
    /// Nothing was signed; an operator and the monitors must look.
    #[error(
        "ALARM: no checkpoint signed: the ledger (size {new_size}) contradicts the latest stored checkpoint (size {old_size}): {why}"
    )]
    Inconsistent {
        /// Size of the latest stored checkpoint.
        old_size: u64,
        /// Size of the ledger now.
        new_size: u64,
        /// What contradicts it.
        why: String,
    },
    /// The latest stored checkpoint does not verify with the ledger's key.
    #[error(
        "the latest stored checkpoint (size {size}) does not verify with the ledger key: {why}"
    )]
    BadStoredCheckpoint {
        /// Its size.
        size: u64,
        /// Why.
        why: String,
    },
    /// The checkpointer's configuration is unusable (key, witness).
    #[error("{0}")]
    Config(String),
    /// The Merkle tree file failed (damaged, of another ledger, unreadable).
    #[error(transparent)]
    Tree(TreeError),
}

impl From<TreeError> for CheckpointerError {
    fn from(e: TreeError) -> Self {
        match e {
            TreeError::Store(e) => CheckpointerError::Store(e),
            other => CheckpointerError::Tree(other),
        }
    }
}

/// What one tick did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TickOutcome {
    /// Size of the latest stored checkpoint after the tick.
    pub size: u64,
    /// Whether this tick signed a new checkpoint (false: the tree did not grow).
    pub signed: bool,
    /// Witnesses whose verified cosignature the stored checkpoint holds after the tick.
    pub cosigned_by: Vec<String>,
    /// Witnesses asked in this tick that failed, with why (retried at the next tick).
    pub witness_failures: Vec<(String, String)>,
}

/// What the checkpointer keeps between ticks.
#[derive(Default)]
struct State {
    /// The verifier after the records of the last signed checkpoint (incremental
    /// verification), `None` until a full verification succeeded or after a failure.
    verifier: Option<Verifier>,
    /// Per witness URL, the size it last cosigned, as far as this process knows.
    witness_sizes: HashMap<String, u64>,
}

/// Signs checkpoints of one ledger ([`Checkpointer::tick`], [`Checkpointer::run`]).
pub struct Checkpointer {
    signer: NoteSigner,
    verifier_key: NoteVerifier,
    trust: TrustAnchors,
    witnesses: Vec<Witness>,
    /// The ledger's Merkle tree, extended by each tick with the new leaves only.
    tree: Arc<TreeDb>,
    state: Mutex<State>,
    /// The latest tick's outcome, for metrics.
    last: watch::Sender<Option<TickOutcome>>,
}

impl std::fmt::Debug for Checkpointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpointer")
            .field("ledger", &self.signer.name())
            .field("witnesses", &self.witnesses)
            .finish_non_exhaustive()
    }
}

impl Checkpointer {
    /// A checkpointer of the ledger described by `meta`, signing with `key`, which must be the
    /// ledger's checkpoint key (its verifier key is `meta.ledger_vkey`).
    pub fn new(
        meta: &LedgerMeta,
        key: ed25519_dalek::SigningKey,
        witnesses: Vec<Witness>,
    ) -> Result<Checkpointer, CheckpointerError> {
        let signer = NoteSigner::new(&meta.name, key)
            .map_err(|e| CheckpointerError::Config(format!("ledger name {:?}: {e}", meta.name)))?;
        if signer.verifier_key() != meta.ledger_vkey {
            return Err(CheckpointerError::Config(format!(
                "the key given is not the checkpoint key of ledger {:?} (its verifier key is {}): pass the --ledger-key given to `custody init`",
                meta.name, meta.ledger_vkey
            )));
        }
        let verifier_key = signer.verifier();
        let tree = Arc::new(TreeDb::in_memory()?);
        Ok(Checkpointer {
            signer,
            verifier_key,
            trust: meta.trust.clone(),
            witnesses,
            tree,
            state: Mutex::new(State::default()),
            last: watch::Sender::new(None),
        })
    }

    /// Keeps the ledger's tree in `tree` (the ledger's tree file, shared with the proof
    /// endpoints) instead of a tree in memory rebuilt by the first tick.
    pub fn with_tree(mut self, tree: Arc<TreeDb>) -> Self {
        self.tree = tree;
        self
    }

    /// The Merkle tree the checkpointer reads roots and proofs from.
    pub fn tree(&self) -> &Arc<TreeDb> {
        &self.tree
    }

    /// The configured witnesses.
    pub fn witnesses(&self) -> &[Witness] {
        &self.witnesses
    }

    /// The outcome of the latest successful tick (for metrics), `None` before the first.
    pub fn last_outcome(&self) -> Option<TickOutcome> {
        self.last.borrow().clone()
    }

    /// Follows the outcome of each successful tick.
    pub fn subscribe(&self) -> watch::Receiver<Option<TickOutcome>> {
        self.last.subscribe()
    }

    /// One tick: signs, stores and sends to the witnesses a new checkpoint when the tree grew
    /// since the latest stored one (or when none is stored); otherwise only asks the witnesses
    /// that have not cosigned the latest one again.
    pub async fn tick(&self, store: &dyn LedgerStore) -> Result<TickOutcome, CheckpointerError> {
        let mut state = self.state.lock().await;
        let result = self.tick_locked(store, &mut state).await;
        match &result {
            Ok(outcome) => {
                self.last.send_replace(Some(outcome.clone()));
            }
            Err(e) => {
                // Whatever failed, the next tick starts from a full verification.
                state.verifier = None;
                match e {
                    CheckpointerError::Inconsistent { .. }
                    | CheckpointerError::DoesNotVerify(_)
                    | CheckpointerError::BadStoredCheckpoint { .. } => {
                        error!(error = %e, "checkpointer refused to sign")
                    }
                    _ => warn!(error = %e, "checkpointer tick failed"),
                }
            }
        }
        result
    }

    async fn tick_locked(
        &self,
        store: &dyn LedgerStore,
        state: &mut State,
    ) -> Result<TickOutcome, CheckpointerError> {
        let latest = self.latest(store).await?;
        let size = store.size().await?;
        if let Some((stored, old)) = &latest {
            if size < old.size {
                return Err(CheckpointerError::Inconsistent {
                    old_size: old.size,
                    new_size: size,
                    why: format!(
                        "the ledger holds {size} records, fewer than the {} the checkpoint covers: records were removed",
                        old.size
                    ),
                });
            }
            if size == old.size {
                debug!(size, "the tree did not grow: no checkpoint signed");
                let (note, failures) = self.cosign(store, state, stored, old).await?;
                return Ok(self.outcome(old.size, false, &note, failures));
            }
        }
        let (new_size, new_root) = self.verified_tree(store, state).await?;
        let old_size = latest.as_ref().map_or(0, |(_, c)| c.size);
        self.extend_tree(store, old_size, new_size).await?;
        let checkpoint = Checkpoint {
            origin: self.signer.name().to_string(),
            size: new_size,
            root: new_root,
            extensions: Vec::new(),
        };
        if let Some((stored, old)) = &latest {
            let prefix = if old.size <= new_size {
                Some(self.tree.root(old.size)?)
            } else {
                None
            };
            if let Some(why) = inconsistency(old, &checkpoint, prefix) {
                return Err(CheckpointerError::Inconsistent {
                    old_size: old.size,
                    new_size,
                    why,
                });
            }
            if new_size == old.size {
                // The records verified are those of the stored checkpoint already.
                let (note, failures) = self.cosign(store, state, stored, old).await?;
                return Ok(self.outcome(old.size, false, &note, failures));
            }
        }
        if self.tree.root(new_size)? != new_root {
            return Err(CheckpointerError::Inconsistent {
                old_size: latest.as_ref().map_or(0, |(_, c)| c.size),
                new_size,
                why: "the records the store holds now are not the records verified: the ledger changed under the checkpointer".to_string(),
            });
        }
        let note = self
            .signer
            .sign_checkpoint(&checkpoint)
            .map_err(|e| CheckpointerError::Config(format!("cannot sign the checkpoint: {e}")))?;
        self.store_note(store, new_size, &note).await?;
        info!(size = new_size, "checkpoint signed and stored");
        let stored = StoredCheckpoint {
            size: new_size,
            note,
        };
        // Witnesses that never answered start from the previous stored checkpoint's size.
        let previous = latest.as_ref().map_or(0, |(_, c)| c.size);
        for w in &self.witnesses {
            state.witness_sizes.entry(w.url.clone()).or_insert(previous);
        }
        let (note, failures) = self.cosign(store, state, &stored, &checkpoint).await?;
        Ok(self.outcome(new_size, true, &note, failures))
    }

    /// Extends the tree with the ledger's records up to `size` (the records just verified):
    /// only those it does not hold yet are read. A ledger rewritten under the tree, or one
    /// shorter than `size` now, is an inconsistency against the checkpoint of size `old_size`.
    async fn extend_tree(
        &self,
        store: &dyn LedgerStore,
        old_size: u64,
        size: u64,
    ) -> Result<(), CheckpointerError> {
        let inconsistent = |why: String| CheckpointerError::Inconsistent {
            old_size,
            new_size: size,
            why,
        };
        let caught = match self.tree.catch_up_until(store, Some(size)).await {
            Ok(c) => c,
            Err(TreeError::Rewritten { what, .. }) => {
                return Err(inconsistent(format!(
                    "the ledger was rewritten under the Merkle tree: {what}"
                )))
            }
            Err(e) => return Err(e.into()),
        };
        if caught.size < size {
            return Err(inconsistent(format!(
                "the ledger holds {} records now, fewer than the {size} verified: the ledger changed under the checkpointer",
                caught.size
            )));
        }
        debug!(added = caught.added, size, "tree extended");
        Ok(())
    }

    /// The latest stored checkpoint (the history, or else the checkpoint published by older
    /// versions in the store's metadata), verified with the ledger key.
    async fn latest(
        &self,
        store: &dyn LedgerStore,
    ) -> Result<Option<(StoredCheckpoint, Checkpoint)>, CheckpointerError> {
        let stored = match store.latest_checkpoint().await? {
            Some(c) => Some(c),
            None => published_meta(store).await?,
        };
        let Some(stored) = stored else {
            return Ok(None);
        };
        let checkpoint = verify_checkpoint(&stored.note, &self.verifier_key).map_err(|e| {
            CheckpointerError::BadStoredCheckpoint {
                size: stored.size,
                why: e.to_string(),
            }
        })?;
        if checkpoint.size != stored.size {
            return Err(CheckpointerError::BadStoredCheckpoint {
                size: stored.size,
                why: format!("its note is of size {}", checkpoint.size),
            });
        }
        Ok(Some((stored, checkpoint)))
    }

    /// Keeps a note in the history and as the published checkpoint of older callers.
    async fn store_note(
        &self,
        store: &dyn LedgerStore,
        size: u64,
        note: &str,
    ) -> Result<(), CheckpointerError> {
        store.add_checkpoint(size, note).await?;
        let stored = store
            .latest_checkpoint()
            .await?
            .filter(|c| c.size == size)
            .map_or_else(|| note.to_string(), |c| c.note);
        store
            .set_meta(
                META_PUBLISHED_CHECKPOINT,
                &serde_json::json!({"size": size, "note": stored}),
            )
            .await?;
        Ok(())
    }

    /// The size and root of the ledger after verifying its records: only the new ones when
    /// the state kept from the last tick allows, else all of them.
    async fn verified_tree(
        &self,
        store: &dyn LedgerStore,
        state: &mut State,
    ) -> Result<(u64, Digest), CheckpointerError> {
        let now = Some(now());
        if let Some(verifier) = state.verifier.take() {
            if let Some(verifier) = extend(store, verifier.with_clock(now.clone())).await? {
                let summary = verifier.summary();
                state.verifier = Some(verifier);
                return Ok((summary.records, summary.root));
            }
            info!("a new record looks back at an event the kept state does not hold: verifying the whole ledger");
        }
        let mut verifier = Verifier::new(self.trust.clone()).with_clock(now);
        let report = verifier
            .verify_store(store, |_| {})
            .await
            .map_err(|e| match e {
                custody_verify::VerifyError::Store(e) => CheckpointerError::Store(e),
                other => CheckpointerError::DoesNotVerify(other.to_string()),
            })?;
        if let Some(f) = &report.failure {
            // A new ledger holds nothing yet: the checkpoint of the empty tree is its state.
            if f.rule == custody_core::Rule::Empty {
                return Ok((0, report.summary.root));
            }
            return Err(CheckpointerError::DoesNotVerify(describe(f)));
        }
        state.verifier = Some(verifier);
        Ok((report.summary.records, report.summary.root))
    }

    /// Sends the stored checkpoint to each witness whose verified cosignature it lacks, keeps
    /// the cosignatures that verify, and returns the stored note and the failures.
    async fn cosign(
        &self,
        store: &dyn LedgerStore,
        state: &mut State,
        stored: &StoredCheckpoint,
        checkpoint: &Checkpoint,
    ) -> Result<(String, Vec<(String, String)>), CheckpointerError> {
        let body = checkpoint.to_body();
        let pending: Vec<&Witness> = self
            .witnesses
            .iter()
            .filter(|w| !cosigned(&stored.note, &body, &w.verifier))
            .collect();
        if pending.is_empty() {
            return Ok((stored.note.clone(), Vec::new()));
        }
        // The proofs come from the tree: it must hold the checkpoint's tree (a restarted
        // checkpointer whose ledger did not grow extends it here first).
        self.extend_tree(store, checkpoint.size, checkpoint.size)
            .await?;
        if self.tree.root(checkpoint.size)? != checkpoint.root {
            return Err(CheckpointerError::Inconsistent {
                old_size: checkpoint.size,
                new_size: checkpoint.size,
                why: format!(
                    "the first {} records of the ledger no longer have the root the checkpoint signed: records were changed",
                    checkpoint.size
                ),
            });
        }
        let mut lines = Vec::new();
        let mut failures = Vec::new();
        for w in pending {
            let known = state.witness_sizes.get(&w.url).copied().unwrap_or(0);
            match witness::ask(w, known, &stored.note, &body, &self.tree, checkpoint.size).await {
                Ok(line) => {
                    info!(
                        witness = w.name(),
                        size = checkpoint.size,
                        "witness cosigned"
                    );
                    state.witness_sizes.insert(w.url.clone(), checkpoint.size);
                    lines.push(line);
                }
                Err(e) => {
                    warn!(witness = w.name(), size = checkpoint.size, error = %e, "witness did not cosign; asked again at the next tick");
                    if let WitnessError::Conflict { witness_size } = e {
                        state.witness_sizes.insert(w.url.clone(), witness_size);
                    }
                    failures.push((w.name().to_string(), e.to_string()));
                }
            }
        }
        if lines.is_empty() {
            return Ok((stored.note.clone(), failures));
        }
        let note = add_signature_lines(&stored.note, &lines);
        self.store_note(store, checkpoint.size, &note).await?;
        let note = store
            .latest_checkpoint()
            .await?
            .filter(|c| c.size == checkpoint.size)
            .map_or(note, |c| c.note);
        Ok((note, failures))
    }

    fn outcome(
        &self,
        size: u64,
        signed: bool,
        note: &str,
        witness_failures: Vec<(String, String)>,
    ) -> TickOutcome {
        let body = note
            .rfind("\n\n")
            .map_or(String::new(), |i| note[..=i].to_string());
        TickOutcome {
            size,
            signed,
            cosigned_by: self
                .witnesses
                .iter()
                .filter(|w| cosigned(note, &body, &w.verifier))
                .map(|w| w.name().to_string())
                .collect(),
            witness_failures,
        }
    }

    /// Ticks every `interval` until `shutdown` turns true (or its sender is dropped); a failed
    /// tick is logged and the loop goes on.
    pub async fn run(
        self: Arc<Self>,
        store: Arc<dyn LedgerStore>,
        interval: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                    continue;
                }
            }
            if *shutdown.borrow() {
                break;
            }
            if let Ok(outcome) = self.tick(store.as_ref()).await {
                debug!(
                    size = outcome.size,
                    signed = outcome.signed,
                    cosigned = outcome.cosigned_by.len(),
                    "checkpointer tick"
                );
            }
        }
        info!("checkpointer stopped");
    }
}

/// Whether a note holds a verifying cosignature of this witness over `body`.
fn cosigned(note: &str, body: &str, witness: &CosignatureVerifier) -> bool {
    note.get(body.len() + 1..)
        .unwrap_or_default()
        .split_inclusive('\n')
        .any(|line| witness.verify_line(body, line).is_ok())
}

/// The checkpoint older versions published in the store's metadata, if any.
async fn published_meta(
    store: &dyn LedgerStore,
) -> Result<Option<StoredCheckpoint>, CheckpointerError> {
    let Some(value) = store.meta(META_PUBLISHED_CHECKPOINT).await? else {
        return Ok(None);
    };
    match (value["size"].as_u64(), value["note"].as_str()) {
        (Some(size), Some(note)) => Ok(Some(StoredCheckpoint {
            size,
            note: note.to_string(),
        })),
        _ => Err(CheckpointerError::BadStoredCheckpoint {
            size: 0,
            why: "the published checkpoint in the store's metadata is damaged (no size or note)"
                .to_string(),
        }),
    }
}

/// Verifies the records appended after what `verifier` verified; `None` when one of them
/// looks back at an event the verifier does not remember (then only a full verification can
/// tell).
async fn extend(
    store: &dyn LedgerStore,
    mut verifier: Verifier,
) -> Result<Option<Verifier>, CheckpointerError> {
    let from = verifier.size();
    let mut scan = LedgerScan::new(store, from).batch_size(BATCH);
    let mut verified = 0u64;
    while let Some(batch) = scan.next_batch().await? {
        let records: Vec<Record> = batch.into_iter().map(|ev| ev.record).collect();
        for r in &records {
            if let Some(target) = look_back_target(r) {
                let known = verifier
                    .validator()
                    .chain(&r.header.chain)
                    .and_then(|c| c.kind_of(&target))
                    .is_some();
                if !known {
                    return Ok(None);
                }
            }
        }
        verifier
            .verify_records(&records, |_| {})
            .map_err(|f| CheckpointerError::DoesNotVerify(describe(&f)))?;
        verified += records.len() as u64;
    }
    debug!(from, verified, "new records verified");
    Ok(Some(verifier))
}

/// A refused record in a few words: position, chain, rule and why.
fn describe(f: &Failure) -> String {
    format!(
        "position {}{}: rule {}: {}",
        f.position,
        f.chain
            .as_ref()
            .map_or(String::new(), |c| format!(" (chain {c})")),
        f.rule,
        f.message
    )
}

/// The consistency proof from the tree of the first `old` leaves to the tree of the first
/// `size` leaves, read from the tree's stored nodes, or why there is none (`old` beyond it).
pub(crate) fn proof(tree: &TreeDb, old: u64, size: u64) -> Result<Vec<Digest>, String> {
    tree.consistency_proof(old, size)
        .map_err(|e| format!("no consistency proof from size {old} to size {size}: {e}"))
}

/// Why a new checkpoint cannot follow an older one: `None` when it can (the old tree is a
/// prefix of the new one). `prefix_root` is the root of the new tree's first `old.size`
/// leaves (`None` when it has fewer).
pub fn inconsistency(
    old: &Checkpoint,
    new: &Checkpoint,
    prefix_root: Option<Digest>,
) -> Option<String> {
    if old.origin != new.origin {
        return Some(format!(
            "it is of ledger {:?}, not {:?}",
            old.origin, new.origin
        ));
    }
    if new.size < old.size {
        return Some(format!(
            "the ledger now holds {} records, fewer than the {} the checkpoint covers: records were removed",
            new.size, old.size
        ));
    }
    if prefix_root != Some(old.root) {
        return Some(format!(
            "the first {} records of the ledger no longer have the root the checkpoint signed: records were changed",
            old.size
        ));
    }
    None
}

/// Now, as a ledger timestamp.
fn now() -> Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Timestamp::from_unix_seconds(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_core::merkle::{leaf_hash, root_of};

    fn tree(n: u8) -> Vec<Digest> {
        (0..n).map(|i| leaf_hash(&[i; 32])).collect()
    }

    fn cp(leaves: &[Digest]) -> Checkpoint {
        Checkpoint {
            origin: "test.example/ledger".to_string(),
            size: leaves.len() as u64,
            root: root_of(leaves),
            extensions: Vec::new(),
        }
    }

    #[test]
    fn a_checkpoint_follows_an_older_one_only_over_the_same_records() {
        let leaves = tree(7);
        let old = cp(&leaves[..4]);
        let prefix = |l: &[Digest]| Some(root_of(&l[..4]));
        assert_eq!(inconsistency(&old, &cp(&leaves), prefix(&leaves)), None);
        assert_eq!(
            inconsistency(&old, &cp(&leaves[..4]), prefix(&leaves)),
            None
        );
        let shorter = cp(&leaves[..3]);
        let why = inconsistency(&old, &shorter, None).expect("refused");
        assert!(why.contains("removed"), "{why}");
        let mut changed = leaves.clone();
        changed[2] = leaf_hash(&[99; 32]);
        let why = inconsistency(&old, &cp(&changed), prefix(&changed)).expect("refused");
        assert!(why.contains("changed"), "{why}");
        let mut other = cp(&leaves);
        other.origin = "other.example/ledger".to_string();
        assert!(inconsistency(&old, &other, prefix(&leaves)).is_some());
    }

    #[test]
    fn consistency_proofs_from_the_tree_equal_those_from_every_leaf() {
        let leaves = tree(21);
        let db = TreeDb::in_memory().unwrap();
        let hashes: Vec<Digest> = (0..21u8).map(|i| [i; 32]).collect();
        db.append_event_hashes(&hashes).unwrap();
        for size in 0..=21u64 {
            for old in 0..=size {
                let expected =
                    custody_core::merkle::consistency_proof(&leaves[..size as usize], old, size)
                        .unwrap();
                assert_eq!(proof(&db, old, size).unwrap(), expected, "{old} -> {size}");
            }
            assert_eq!(db.root(size).unwrap(), root_of(&leaves[..size as usize]));
        }
        let err = proof(&db, 22, 21).unwrap_err();
        assert!(
            err.contains("no consistency proof from size 22 to size 21"),
            "{err}"
        );
    }

    #[test]
    fn witnesses_are_parsed_from_vkey_equals_url() {
        let signer = custody_core::cosignature::CosignatureSigner::new(
            "witness.example",
            ed25519_dalek::SigningKey::from_bytes(&[7; 32]),
        )
        .unwrap();
        let w =
            Witness::parse(&format!("{}=http://127.0.0.1:9/w/", signer.verifier_key())).unwrap();
        assert_eq!(w.url, "http://127.0.0.1:9/w");
        assert_eq!(w.name(), "witness.example");
        for bad in [
            "no-equals",
            "x=http://a",
            &format!("{}=ftp://a", signer.verifier_key()),
        ] {
            assert!(Witness::parse(bad).is_err(), "{bad}");
        }
    }
}
