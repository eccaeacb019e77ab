//! The streaming verifier of a custody ledger: records in ledger order go through a fresh
//! [`Validator`] and their leaf hashes into a Merkle [`Frontier`]; the answer is a [`Report`]:
//! what was verified, or the first record refused, in ledger order ([`Failure`]: position,
//! line, chain, hash, rule, message).
//!
//! ```no_run
//! # fn f(trust: custody_core::authority::TrustAnchors) -> Result<(), custody_verify::VerifyError> {
//! let mut verifier = custody_verify::Verifier::new(trust);
//! let path = std::path::Path::new("ledger.jsonl");
//! let report = verifier.verify_jsonl(|| {
//!     std::fs::File::open(path).map(|f| std::io::BufReader::with_capacity(1 << 16, f))
//! })?;
//! match report.failure {
//!     None => println!("{} records verify", report.summary.records),
//!     Some(f) => println!("position {}: {} ({})", f.position, f.message, f.rule),
//! }
//! # Ok(()) }
//! ```
//!
//! Three sources, one verification: a JSONL file (read twice, [`Verifier::verify_jsonl`]), a
//! store ([`Verifier::verify_store`], which also reports missing payloads and a damaged store as
//! rule [`Rule::StoreCorrupt`]), or batches of parsed records ([`Verifier::verify_records`]).
//!
//! # Every core
//!
//! Parsing a line, hashing its header and the strict Ed25519 check of its signature depend on
//! the record alone; only the authority and chain state must advance in ledger order. So
//! records are taken in batches ([`Verifier::with_batch`]); the records of a batch are
//! parsed and their signatures verified on every core ([`Verifier::with_threads`]), in small
//! chunks claimed in order, while the calling thread takes the proofs
//! ([`custody_core::validate::SignatureVerified`]) in ledger order and runs the rest of
//! validation ([`Validator::check_verified`], then [`Validator::apply`]); when it waits, it
//! verifies signatures too. The verdict is the sequential loop's: records are decided in
//! ledger order and the first refused one is the answer, even when a later record of the same
//! batch, already verified by another thread, is refused too. Each thread keeps the signer
//! keys it decompressed, so a key is decompressed once per thread, not once per record.
//! While a batch of a file is verified, the next one is read.
//!
//! # Bounded memory
//!
//! Memory holds the validator's authority and per-chain state (head, custody status, the
//! commitment orders a rule reads), the look-back targets (the events that a correction or a
//! redaction of the ledger points at: a first pass over the input finds them, see
//! [`Validator::remember_only`]), at most 64 Merkle hashes, and two batches of records: at
//! most [`Verifier::with_batch`] records and [`MAX_BATCH_BYTES`] bytes of lines each (a line
//! longer than [`MAX_LINE_BYTES`] is refused as rule `format` without being held whole). So it
//! grows with the number of chains, i.e. of people, not with the number of records. A store's
//! missing payloads are listed one small entry each (they are what a monitor must be told).
//!
//! The checks of a record are blocking CPU work: an async caller verifying a large store
//! holds its thread for the duration of each batch.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod chains;
mod lines;
mod pipeline;
mod state;
mod store;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use custody_core::authority::TrustAnchors;
use custody_core::ids::AUTHORITY_CHAIN;
use custody_core::merkle::{leaf_hash, Digest, Frontier};
use custody_core::validate::{ValidationError, Validator, ValidatorConfig};
use custody_core::{Hash, Record, Rule, Timestamp};

pub use chains::ChainStore;
pub use lines::{look_back_targets_jsonl, MAX_BATCH_BYTES, MAX_LINE_BYTES};
pub use state::{FilePos, SavedState, StateError, STATE_FORMAT, STATE_FORMAT_V2};
pub use store::MissingPayload;

/// Records per batch unless [`Verifier::with_batch`] says otherwise.
pub const DEFAULT_BATCH: usize = 2048;

/// The first record refused, in ledger order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// 1-based line of the file, when verifying a file.
    pub line: Option<u64>,
    /// Ledger position (0-based leaf index) the record would have had: the number of records
    /// verified before it.
    pub position: u64,
    /// The record's chain, when it could be read (as claimed, for a line that is not a record).
    pub chain: Option<String>,
    /// The record's hash (as claimed, for a line that is not a record), when it could be read.
    pub hash: Option<String>,
    /// The rule that refused it: a rule of the validator ([`Rule::VALIDATION`]: `format` for a
    /// line that is not a record, `hash`, `signature`, `state/custody_gap`...), or
    /// [`Rule::Empty`] (no record at all) or [`Rule::StoreCorrupt`] (a store's data is
    /// inconsistent: [`custody_store::StoreError::Corrupt`]). Its code is stable.
    pub rule: Rule,
    /// What is wrong.
    pub message: String,
}

impl Failure {
    /// The failure of a record refused by the validator at `position`.
    fn refused(line: Option<u64>, position: u64, record: &Record, e: &ValidationError) -> Self {
        Failure {
            line,
            position,
            chain: Some(record.header.chain.clone()),
            hash: Some(record.hash.to_hex()),
            rule: e.rule(),
            message: e.to_string(),
        }
    }
}

/// Counts and roots of what was verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Records accepted (the tree size).
    pub records: u64,
    /// Records of the authority chain.
    pub authority_records: u64,
    /// Detainee chains seen.
    pub chains: usize,
    /// Records that travelled without their payload.
    pub headers_only: u64,
    /// Merkle root of the accepted records.
    pub root: Digest,
    /// The root at the size given to [`Verifier::with_checkpoint_size`], once reached.
    pub root_at_mark: Option<Digest>,
    /// The roots at the sizes given to [`Verifier::with_marks`] that were reached, in the
    /// order reached.
    pub roots_at: Vec<(u64, Digest)>,
    /// Records accepted whose `recorded_at` lies after the clock given to
    /// [`Verifier::with_ahead_notice`] by more than the validator's future tolerance: written
    /// where a clock was ahead (or this clock is behind). `None` when there were none.
    pub ahead_of_clock: Option<AheadOfClock>,
}

/// Stored records recorded "in the future" of the verifier's clock
/// ([`Verifier::with_ahead_notice`]): accepted, since a ledger already accepted them, and
/// reported, since a clock somewhere is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AheadOfClock {
    /// The clock they are ahead of.
    pub clock: Timestamp,
    /// How many there are.
    pub count: u64,
    /// The first of them: its position and hash.
    pub first: (u64, Hash),
    /// The latest `recorded_at` among them.
    pub latest: Timestamp,
}

/// What a verification found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// What was verified (up to the failure, if any).
    pub summary: Summary,
    /// The first record refused, or why nothing was verified ([`Rule::Empty`],
    /// [`Rule::StoreCorrupt`]).
    pub failure: Option<Failure>,
    /// Accepted records of a store whose payload is missing (neither stored nor lawfully
    /// redacted). Always empty for a file.
    pub missing_payloads: Vec<MissingPayload>,
}

impl Report {
    /// Whether everything verified and nothing is missing.
    pub fn is_ok(&self) -> bool {
        self.failure.is_none() && self.missing_payloads.is_empty()
    }
}

/// Why a verification could not be carried out (not a refused record: that is a
/// [`Failure`] in the [`Report`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The input could not be read.
    #[error("cannot read the ledger: {0}")]
    Read(#[from] std::io::Error),
    /// The store failed (other than by inconsistent data, which is a [`Rule::StoreCorrupt`]
    /// failure).
    #[error(transparent)]
    Store(custody_store::StoreError),
    /// The chains of the saved state a verifier resumed from could not be read.
    #[error("cannot read the saved state: {0}")]
    State(#[from] StateError),
    /// A verifier resumed from a saved state made over a file was given a file whose record
    /// where the saved part ends is not the one verified: only a verification from the start
    /// can decide it.
    #[error("{0}: verify from the start")]
    FileChanged(String),
    /// A verifier resumed from a saved state met a correction or a redaction of an event
    /// before the saved size that the state did not remember: only a verification from the
    /// start can decide it.
    #[error("the record {record} points back at event {target}, which the saved state does not remember: verify from the start")]
    NeedsFullPass {
        /// The correction or redaction.
        record: Hash,
        /// The event it points at.
        target: Hash,
    },
}

/// Called with the number of records accepted so far, every few thousand records.
#[derive(Clone)]
pub struct Progress(pub Arc<dyn Fn(u64) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// Records accepted between two calls of a [`Progress`] (a power of two).
const PROGRESS_EVERY: u64 = 4096;

/// A streaming ledger verifier: configure it, then give it the ledger once.
#[derive(Debug)]
pub struct Verifier {
    validator: Validator,
    frontier: Frontier,
    now: Option<Timestamp>,
    /// The clock of [`Verifier::with_ahead_notice`], and what was found ahead of it.
    ahead_clock: Option<Timestamp>,
    ahead: Option<AheadOfClock>,
    authority_records: u64,
    headers_only: u64,
    mark: Option<u64>,
    root_at_mark: Option<Digest>,
    threads: usize,
    batch: usize,
    keys: Vec<pipeline::KeyCache>,
    marks: Vec<u64>,
    roots_at: Vec<(u64, Digest)>,
    snapshot_at: Option<u64>,
    snapshot: Option<SavedState>,
    progress: Option<Progress>,
    /// Of a resumed verifier: the look-back records among the new ones whose target the saved
    /// state did not remember (record hash to target).
    unresolved: HashMap<Hash, Hash>,
    /// Of a verifier resumed from a split state: its chains file, read for each chain the
    /// first time a record of it comes.
    chain_store: Option<ChainStore>,
    /// Chains counted in the saved state resumed from, when the validator holds only those
    /// that the new records touched.
    chain_base: Option<u64>,
    /// Chains of new records that the chains file does not hold (new chains).
    new_chains: HashSet<String>,
    /// Why the chains file could not be read, if it could not.
    chain_error: Option<StateError>,
    /// Where the last record accepted ends in the file being verified (`None` after a record
    /// that did not come from a file).
    file_pos: Option<FilePos>,
    /// The chains file name of the split state resumed from.
    chains_file: Option<String>,
}

impl Verifier {
    /// A verifier of a ledger with these trust anchors: no clock (the future-time rule is
    /// skipped), on every core, in batches of [`DEFAULT_BATCH`] records.
    pub fn new(trust: TrustAnchors) -> Self {
        Verifier {
            validator: Validator::new(trust, ValidatorConfig::default()),
            frontier: Frontier::new(),
            now: None,
            ahead_clock: None,
            ahead: None,
            authority_records: 0,
            headers_only: 0,
            mark: None,
            root_at_mark: None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            batch: DEFAULT_BATCH,
            keys: Vec::new(),
            marks: Vec::new(),
            roots_at: Vec::new(),
            snapshot_at: None,
            snapshot: None,
            progress: None,
            unresolved: HashMap::new(),
            chain_store: None,
            chain_base: None,
            new_chains: HashSet::new(),
            chain_error: None,
            file_pos: None,
            chains_file: None,
        }
    }

    /// A verifier that resumes where a saved state stopped: the next record it is given is
    /// the one at position [`SavedState::size`], and the report is the one a single
    /// verification of the whole ledger would give. The state is checked
    /// ([`SavedState::check`]); binding it to a checkpoint is the caller's
    /// ([`SavedState::check_checkpoint`]).
    ///
    /// A store is read from the saved size ([`Verifier::verify_store`]); a file still holds the
    /// records before it, which [`Verifier::verify_jsonl`] skips.
    pub fn resume(trust: TrustAnchors, state: SavedState) -> Result<Self, StateError> {
        Verifier::resume_with(trust, state, None)
    }

    /// [`Verifier::resume`] from a state of either form ([`SavedState::open`]): a split
    /// state's chains are read from `chains` (its chains file) as new records touch them, so
    /// that resuming costs what the new records cost.
    pub fn resume_with(
        trust: TrustAnchors,
        state: SavedState,
        chains: Option<ChainStore>,
    ) -> Result<Self, StateError> {
        state.check()?;
        if state.chains.is_some() && chains.is_none() {
            return Err(StateError::Chains(
                "the saved state keeps its chains in a chains file, which was not given".into(),
            ));
        }
        if let Some(store) = &chains {
            if store.at() != state.size {
                return Err(StateError::Chains(format!(
                    "the chains file is opened at size {} and the state is at {}",
                    store.at(),
                    state.size
                )));
            }
        }
        if state.validator.authority().trust != trust {
            return Err(StateError::Inconsistent(
                "the saved state was computed with other trust anchors".into(),
            ));
        }
        let mut v = Verifier::new(trust);
        v.validator = state.validator;
        v.frontier = state.frontier;
        v.authority_records = state.authority_records;
        v.headers_only = state.headers_only;
        v.file_pos = state.file;
        if let (Some(count), Some(store)) = (state.chains, chains) {
            v.chain_base = Some(count);
            v.chain_store = Some(store);
            v.chains_file = state.chains_file;
        }
        Ok(v)
    }

    /// Saves a state taken from this verifier ([`Verifier::take_snapshot`],
    /// [`Verifier::saved_state`]) in the split form at `path` ([`SavedState::save`]), with the
    /// chains file this verifier resumed from, if any.
    pub fn save_state(&mut self, state: SavedState, path: &Path) -> Result<(), StateError> {
        state.save(path, self.chain_store.as_mut())
    }

    /// The number of detainee chains known so far.
    fn chain_count(&self) -> u64 {
        let held = self.validator.chains().count() as u64;
        match self.chain_base {
            // Resumed from a split state: the validator holds the chains loaded or created.
            Some(base) => {
                base + self
                    .new_chains
                    .iter()
                    .filter(|c| self.validator.chain(c).is_some())
                    .count() as u64
            }
            None => held,
        }
    }

    /// Before a record of `chain` is decided: its saved state, loaded from the chains file if
    /// this verifier resumed from one and has not loaded it yet. `false`: the file could not
    /// be read ([`Verifier::chain_error`]).
    pub(crate) fn load_chain(&mut self, chain: &str) -> bool {
        let Some(store) = &self.chain_store else {
            return true;
        };
        if chain == AUTHORITY_CHAIN
            || self.validator.chain(chain).is_some()
            || self.new_chains.contains(chain)
        {
            return true;
        }
        match store.load(chain) {
            Ok(Some(state)) => self.validator.insert_chain(chain.to_string(), state),
            Ok(None) => {
                self.new_chains.insert(chain.to_string());
            }
            Err(e) => {
                self.chain_error = Some(e);
                return false;
            }
        }
        true
    }

    /// The error reading the chains file, if one stopped the verification.
    fn chain_error(&mut self) -> Result<(), VerifyError> {
        match self.chain_error.take() {
            Some(e) => Err(VerifyError::State(e)),
            None => Ok(()),
        }
    }

    /// The state reached so far, to save and resume from ([`Verifier::resume`]); `checkpoint`
    /// is the signed note of the current size it is saved at, if any.
    pub fn saved_state(&self, checkpoint: Option<String>) -> SavedState {
        SavedState {
            format: STATE_FORMAT.to_string(),
            ledger: self.validator.authority().trust.ledger.clone(),
            size: self.frontier.size(),
            frontier: self.frontier.clone(),
            authority_records: self.authority_records,
            headers_only: self.headers_only,
            checkpoint,
            validator: self.validator.clone(),
            chains: self.chain_base.map(|_| self.chain_count()),
            chains_file: self.chains_file.clone(),
            file: self.file_pos.clone(),
        }
    }

    /// Keep the state reached when the tree reaches `size` records (a checkpoint's size), for
    /// [`Verifier::take_snapshot`]: the verification may go on past it. The validator is
    /// copied once then.
    pub fn with_snapshot_at(mut self, size: Option<u64>) -> Self {
        self.snapshot_at = size;
        self.snapshot = (size == Some(self.size())).then(|| self.saved_state(None));
        self
    }

    /// The state kept at the size given to [`Verifier::with_snapshot_at`], if reached.
    pub fn take_snapshot(&mut self) -> Option<SavedState> {
        self.snapshot.take()
    }

    /// Remember the Merkle roots at these sizes too, in [`Summary::roots_at`] (a size already
    /// passed is not).
    pub fn with_marks(mut self, sizes: impl IntoIterator<Item = u64>) -> Self {
        self.marks = sizes.into_iter().collect();
        let here = self.size();
        if self.marks.contains(&here) {
            self.roots_at.push((here, self.frontier.root()));
        }
        self
    }

    /// Report progress every few thousand records accepted.
    pub fn with_progress(mut self, progress: Option<Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// Before verifying the records that follow a resumed state: remembers their look-back
    /// targets, and notes those the saved state did not remember (decided by the
    /// verification: a target among the new records is found there; one before the saved size
    /// makes the verification fail with [`VerifyError::NeedsFullPass`]).
    fn remember_new(&mut self, targets: Vec<(Hash, Hash)>) {
        self.unresolved = targets
            .iter()
            .filter(|(_, target)| !self.validator.remembers(target))
            .copied()
            .collect();
        self.validator
            .remember_also(targets.into_iter().map(|(_, t)| t));
    }

    /// A failure of a resumed verification that only a verification from the start can
    /// decide, as [`VerifyError::NeedsFullPass`].
    fn needs_full_pass(&self, failure: &Failure) -> Result<(), VerifyError> {
        let record = failure.hash.as_deref().and_then(|h| h.parse::<Hash>().ok());
        match record.and_then(|r| self.unresolved.get(&r).map(|t| (r, *t))) {
            Some((record, target)) => Err(VerifyError::NeedsFullPass { record, target }),
            None => Ok(()),
        }
    }

    /// The clock of the future-time rule (`None` skips the rule): for records being accepted
    /// (a packet, a file received), not for a ledger's own store replayed (see
    /// [`Verifier::with_ahead_notice`]).
    pub fn with_clock(mut self, now: Option<Timestamp>) -> Self {
        self.now = now;
        self
    }

    /// Counts, without refusing them, the records whose `recorded_at` is after `clock` by more
    /// than the future tolerance, in [`Summary::ahead_of_clock`]: for replaying a ledger that
    /// already accepted its records (a post whose clock was ahead wrote them, and its ledger
    /// must still verify once the clock is set right).
    pub fn with_ahead_notice(mut self, clock: Option<Timestamp>) -> Self {
        self.ahead_clock = clock;
        self
    }

    /// Remember the Merkle root when the tree reaches `size` records (a checkpoint's size), in
    /// [`Summary::root_at_mark`] (at once when the tree has that size already: a verifier
    /// resumed at it).
    pub fn with_checkpoint_size(mut self, size: Option<u64>) -> Self {
        self.mark = size;
        self.root_at_mark = (size == Some(self.size())).then(|| self.frontier.root());
        self
    }

    /// Threads that parse and verify signatures, the calling one included (at least 1;
    /// default: the CPUs this process may run on).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Records per batch (at least 1; default [`DEFAULT_BATCH`]). Memory holds two batches.
    pub fn with_batch(mut self, records: usize) -> Self {
        self.batch = records.max(1);
        self
    }

    /// Remembers only these look-back targets (see [`Validator::remember_only`]); the drivers
    /// that read their input twice find them themselves.
    pub fn remember_only(&mut self, targets: HashSet<Hash>) {
        self.validator.remember_only(targets);
    }

    /// Number of records accepted so far.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The validation state reached (authority and every chain).
    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// Counts and roots so far.
    pub fn summary(&self) -> Summary {
        Summary {
            records: self.frontier.size(),
            authority_records: self.authority_records,
            chains: self.chain_count() as usize,
            headers_only: self.headers_only,
            root: self.frontier.root(),
            root_at_mark: self.root_at_mark,
            roots_at: self.roots_at.clone(),
            ahead_of_clock: self.ahead.clone(),
        }
    }

    /// Verifies a JSONL ledger (one record per line; blank lines only at the end) that can be
    /// read twice: `open` is called once for a first pass that finds the look-back targets, and
    /// once for the verification. I/O errors are errors; a refused record is the report's
    /// failure.
    pub fn verify_jsonl<R: BufRead + Send>(
        &mut self,
        mut open: impl FnMut() -> std::io::Result<R>,
    ) -> Result<Report, VerifyError> {
        let skip = self.size();
        if skip == 0 {
            let targets = look_back_targets_jsonl(open()?)?;
            self.remember_only(targets);
            return self.verify_lines(open()?);
        }
        // Resumed: the first `skip` lines were verified before.
        let targets = lines::look_back_pairs_jsonl(open()?, skip)?;
        self.remember_new(targets);
        let failure = lines::verify_from(self, open()?, skip, None)?;
        self.chain_error()?;
        if let Some(f) = &failure {
            self.needs_full_pass(f)?;
        }
        Ok(self.report(failure, Vec::new()))
    }

    /// Verifies a JSONL ledger file ([`Verifier::verify_jsonl`]). Resumed from a state saved
    /// over a file ([`SavedState::file`]), it does not read the lines verified before: it
    /// checks that the line where they end is still the last record verified (same place,
    /// same hash), then seeks past it, so that resuming costs what the new lines cost. A file
    /// whose line there is another one is [`VerifyError::FileChanged`].
    pub fn verify_file(&mut self, path: &Path) -> Result<Report, VerifyError> {
        let open = || std::fs::File::open(path).map(|f| BufReader::with_capacity(1 << 16, f));
        let pos = match (&self.file_pos, self.size()) {
            (Some(pos), n) if n > 0 => pos.clone(),
            _ => return self.verify_jsonl(open),
        };
        let mut input = open()?;
        input.seek(SeekFrom::Start(pos.start))?;
        let mut line = Vec::new();
        let read = (&mut input)
            .take(MAX_LINE_BYTES as u64 + 2)
            .read_until(b'\n', &mut line)?;
        let changed = |why: String| {
            VerifyError::FileChanged(format!(
                "{}: line {} ({} bytes from the start) {why}; the saved state ends with record \
                 {} there",
                path.display(),
                pos.line,
                pos.start,
                pos.hash
            ))
        };
        if pos.start + read as u64 != pos.end {
            return Err(changed(format!(
                "is {read} bytes long, not {}",
                pos.end.saturating_sub(pos.start)
            )));
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        match Record::from_json(text) {
            Ok(r) if r.hash == pos.hash => {}
            Ok(r) => return Err(changed(format!("is record {}", r.hash))),
            Err(e) => return Err(changed(format!("is not a record ({e})"))),
        }
        let mut input = open()?;
        input.seek(SeekFrom::Start(pos.end))?;
        let targets = lines::look_back_pairs_jsonl(input, 0)?;
        self.remember_new(targets);
        let mut input = open()?;
        input.seek(SeekFrom::Start(pos.end))?;
        let failure = lines::verify_from(self, input, 0, Some((pos.line, pos.end)))?;
        self.chain_error()?;
        if let Some(f) = &failure {
            self.needs_full_pass(f)?;
        }
        Ok(self.report(failure, Vec::new()))
    }

    /// Verifies a JSONL ledger read once, after what was verified before. Without
    /// [`Verifier::remember_only`] first, the validator remembers every event (memory then grows
    /// with the records); [`Verifier::verify_jsonl`] does both passes.
    pub fn verify_lines<R: BufRead + Send>(&mut self, input: R) -> Result<Report, VerifyError> {
        let failure = lines::verify(self, input)?;
        self.chain_error()?;
        Ok(self.report(failure, Vec::new()))
    }

    /// Verifies parsed records in ledger order, after what was verified before, on every core
    /// (the whole slice is one batch, so give it in batches); `accepted` sees the index of each
    /// accepted record. Returns the first record refused.
    pub fn verify_records(
        &mut self,
        records: &[Record],
        accepted: impl FnMut(usize),
    ) -> Result<(), Failure> {
        let slots: Vec<pipeline::Slot<'_>> = records
            .iter()
            .map(|record| pipeline::Slot::record(None, record))
            .collect();
        self.run(&slots, accepted)
    }

    /// The report of what was verified, with the failure found (or [`Rule::Empty`] when nothing
    /// was verified).
    fn report(&self, failure: Option<Failure>, missing_payloads: Vec<MissingPayload>) -> Report {
        let failure = match failure {
            None if self.size() == 0 => Some(Failure {
                line: None,
                position: 0,
                chain: None,
                hash: None,
                rule: Rule::Empty,
                message: "no record at all, so nothing was verified (a ledger holds at least \
                          its authority records)"
                    .into(),
            }),
            other => other,
        };
        Report {
            summary: self.summary(),
            failure,
            missing_payloads,
        }
    }

    /// Moves the tree and the counts for an accepted record.
    fn accepted(&mut self, record: &Record, file_pos: Option<FilePos>) {
        self.file_pos = file_pos;
        if let Some(clock) = &self.ahead_clock {
            let at = &record.header.recorded_at;
            let limit = i128::from(self.validator.config().future_tolerance_secs) * 1_000_000_000;
            if at.unix_nanos() - clock.unix_nanos() > limit {
                let position = self.frontier.size();
                let ahead = self.ahead.get_or_insert_with(|| AheadOfClock {
                    clock: clock.clone(),
                    count: 0,
                    first: (position, record.hash),
                    latest: at.clone(),
                });
                ahead.count += 1;
                if *at > ahead.latest {
                    ahead.latest = at.clone();
                }
            }
        }
        self.frontier.push(leaf_hash(record.hash.as_bytes()));
        if record.header.chain == AUTHORITY_CHAIN {
            self.authority_records += 1;
        }
        if record.payload.is_none() {
            self.headers_only += 1;
        }
        let size = self.frontier.size();
        if self.mark == Some(size) {
            self.root_at_mark = Some(self.frontier.root());
        }
        if self.marks.contains(&size) {
            self.roots_at.push((size, self.frontier.root()));
        }
        if self.snapshot_at == Some(size) {
            self.snapshot = Some(self.saved_state(None));
        }
        if size & (PROGRESS_EVERY - 1) == 0 {
            if let Some(p) = &self.progress {
                (p.0)(size);
            }
        }
    }
}

/// The look-back targets of records (the events their corrections and redactions point at),
/// for [`Verifier::remember_only`].
pub fn look_back_targets<'a>(records: impl IntoIterator<Item = &'a Record>) -> HashSet<Hash> {
    records
        .into_iter()
        .filter_map(custody_core::validate::look_back_target)
        .collect()
}
