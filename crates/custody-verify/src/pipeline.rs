//! One batch on every core: parse and signature checks in parallel, the rest in ledger order.
//!
//! The batch is cut into chunks of [`CHUNK`] records, claimed in order from a counter by the
//! worker threads and by the calling thread. A chunk's outcome is one proof of a verified
//! signature ([`SignatureVerified`], borrowing the record, parsed into the slot's cell) or one
//! refusal per record. The calling thread decides the chunks in order: it runs
//! [`Validator::check_verified`] and [`Validator::apply`] on each proof, and stops at the first
//! refusal; while the next chunk in order is not ready it claims and verifies one itself.
//! Workers stop claiming once a refusal is found.
//!
//! [`Validator::check_verified`]: custody_core::validate::Validator::check_verified
//! [`Validator::apply`]: custody_core::validate::Validator::apply

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, OnceLock};

use custody_core::record::FormatError;
use custody_core::validate::{verify_signature, SignatureVerified, ValidationError};
use custody_core::{PublicKeyId, Record, Rule};
use ed25519_dalek::VerifyingKey;

use crate::{Failure, Verifier};

/// Records per chunk: small, so that the calling thread rarely waits at the end of a batch.
const CHUNK: usize = 16;
/// Decompressed keys a thread keeps at most. A ledger has far fewer signers; a forged file
/// naming a new key on every line stops at its first record anyway (`unknown_key`), but the
/// threads run up to a batch ahead, so the cache is bounded too.
const MAX_KEYS: usize = 4096;

/// One record of a batch, as given.
#[derive(Debug)]
enum Input<'a> {
    /// A line of a file, to parse.
    Text(&'a [u8]),
    /// A parsed record.
    Record(&'a Record),
    /// A line refused before parsing (a blank line inside the file, an over-long line).
    Refused(String),
}

/// One record of a batch and, for a line, the record parsed from it.
#[derive(Debug)]
pub(crate) struct Slot<'a> {
    line: Option<u64>,
    /// Where a line of a file starts and ends, in bytes.
    span: Option<(u64, u64)>,
    input: Input<'a>,
    parsed: OnceLock<Result<Record, FormatError>>,
}

impl<'a> Slot<'a> {
    /// A line of a file (1-based line number, where it starts and ends), to parse.
    pub(crate) fn text(line: u64, span: (u64, u64), text: &'a [u8]) -> Self {
        let mut slot = Slot::new(Some(line), Input::Text(text));
        slot.span = Some(span);
        slot
    }

    /// A parsed record.
    pub(crate) fn record(line: Option<u64>, record: &'a Record) -> Self {
        Slot::new(line, Input::Record(record))
    }

    /// A line refused as rule `format` before parsing, for this reason.
    pub(crate) fn refused(line: u64, message: String) -> Self {
        Slot::new(Some(line), Input::Refused(message))
    }

    fn new(line: Option<u64>, input: Input<'a>) -> Self {
        Slot {
            line,
            span: None,
            input,
            parsed: OnceLock::new(),
        }
    }

    /// Parses the record if needed and verifies its hash and signature: the work that depends
    /// on the record alone.
    fn prepare<'s>(&'s self, keys: &mut KeyCache) -> Outcome<'s> {
        let record: &'s Record = match &self.input {
            Input::Record(record) => record,
            Input::Text(text) => match self.parsed.get_or_init(|| Record::from_json(text)) {
                Ok(record) => record,
                Err(e) => return Outcome::Refused(ValidationError::Format(e.clone())),
            },
            Input::Refused(_) => return Outcome::Unreadable,
        };
        match keys.verify(record) {
            Ok(proof) => Outcome::Verified(proof),
            Err(e) => Outcome::Refused(e),
        }
    }

    /// The record, once parsed.
    fn parsed(&self) -> Option<&Record> {
        match &self.input {
            Input::Record(record) => Some(record),
            Input::Text(_) => self.parsed.get().and_then(|r| r.as_ref().ok()),
            Input::Refused(_) => None,
        }
    }

    /// The failure of this slot refused by `e` (`None`: refused before parsing) at `position`.
    fn failure(&self, position: u64, e: Option<&ValidationError>) -> Failure {
        match (self.parsed(), e, &self.input) {
            (Some(record), Some(e), _) => Failure::refused(self.line, position, record, e),
            (_, _, Input::Refused(message)) => Failure {
                line: self.line,
                position,
                chain: None,
                hash: None,
                rule: Rule::Format,
                message: message.clone(),
            },
            (_, e, input) => {
                let claimed = match input {
                    Input::Text(text) => claimed(text),
                    _ => (None, None),
                };
                Failure {
                    line: self.line,
                    position,
                    chain: claimed.0,
                    hash: claimed.1,
                    rule: e.map_or(Rule::Format, ValidationError::rule),
                    message: e.map_or_else(String::new, ToString::to_string),
                }
            }
        }
    }
}

/// The chain and hash a line that is not a record claims, if they can be read at all.
fn claimed(text: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(text) else {
        return (None, None);
    };
    let text_at = |pointer: &str| v.pointer(pointer)?.as_str().map(str::to_string);
    (text_at("/header/chain"), text_at("/hash"))
}

/// What the parallel step found about one record.
#[derive(Debug)]
enum Outcome<'s> {
    /// Hash and signature verified.
    Verified(SignatureVerified<'s>),
    /// Refused by the record alone: format, hash, signer key or signature.
    Refused(ValidationError),
    /// Refused before parsing ([`Input::Refused`]).
    Unreadable,
}

/// The decompressed keys of the signers one thread has seen.
#[derive(Debug, Default)]
pub(crate) struct KeyCache {
    keys: HashMap<PublicKeyId, VerifyingKey>,
}

impl KeyCache {
    /// [`verify_signature`] with the signer's key decompressed once per thread.
    fn verify<'r>(&mut self, record: &'r Record) -> Result<SignatureVerified<'r>, ValidationError> {
        let signer = &record.header.signer;
        if let Some(key) = self.keys.get(signer) {
            return verify_signature(record, Some(key));
        }
        match signer.verifying_key() {
            Ok(key) => {
                if self.keys.len() < MAX_KEYS {
                    self.keys.insert(*signer, key);
                }
                verify_signature(record, Some(&key))
            }
            // Refused exactly as the validator refuses it (the hash is checked first).
            Err(_) => verify_signature(record, None),
        }
    }
}

/// Outcomes of the records of chunk `chunk`.
fn work<'s>(slots: &'s [Slot<'_>], chunk: usize, keys: &mut KeyCache) -> Vec<Outcome<'s>> {
    let start = chunk * CHUNK;
    let end = (start + CHUNK).min(slots.len());
    slots[start..end].iter().map(|s| s.prepare(keys)).collect()
}

impl Verifier {
    /// Verifies one batch after what was verified before; `accepted` sees the index of each
    /// accepted slot, in order. Returns the first slot refused.
    pub(crate) fn run(
        &mut self,
        slots: &[Slot<'_>],
        accepted: impl FnMut(usize),
    ) -> Result<(), Failure> {
        self.run_beside(slots, accepted, || ()).0
    }

    /// [`Verifier::run`], with `beside` run on a thread of its own meanwhile (the reading of the
    /// next batch).
    pub(crate) fn run_beside<T: Send>(
        &mut self,
        slots: &[Slot<'_>],
        mut accepted: impl FnMut(usize),
        beside: impl FnOnce() -> T + Send,
    ) -> (Result<(), Failure>, T) {
        let chunks = slots.len().div_ceil(CHUNK);
        let mut keys = std::mem::take(&mut self.keys);
        keys.resize_with(self.threads, KeyCache::default);
        let (own_keys, worker_keys) = keys.split_at_mut(1);
        let own_keys = &mut own_keys[0];
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let result = std::thread::scope(|scope| {
            let beside = scope.spawn(beside);
            let (done, finished) = mpsc::channel();
            for cache in worker_keys.iter_mut().take(chunks.saturating_sub(1)) {
                let (done, next, stop) = (done.clone(), &next, &stop);
                scope.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let chunk = next.fetch_add(1, Ordering::Relaxed);
                        if chunk >= chunks || done.send((chunk, work(slots, chunk, cache))).is_err()
                        {
                            break;
                        }
                    }
                });
            }
            drop(done);
            let mut ready: Vec<Option<Vec<Outcome<'_>>>> = (0..chunks).map(|_| None).collect();
            let mut decided = 0;
            let verdict = loop {
                if decided == chunks {
                    break Ok(());
                }
                if let Some(outcomes) = ready[decided].take() {
                    if let Err(f) = self.decide(slots, decided, outcomes, &mut accepted) {
                        stop.store(true, Ordering::Relaxed);
                        break Err(f);
                    }
                    decided += 1;
                    continue;
                }
                if let Ok((chunk, outcomes)) = finished.try_recv() {
                    ready[chunk] = Some(outcomes);
                    continue;
                }
                let chunk = next.fetch_add(1, Ordering::Relaxed);
                if chunk < chunks {
                    ready[chunk] = Some(work(slots, chunk, own_keys));
                    continue;
                }
                match finished.recv() {
                    Ok((chunk, outcomes)) => ready[chunk] = Some(outcomes),
                    // Every worker is gone without the chunk: one panicked, and the scope
                    // raises its panic when it ends.
                    Err(_) => break Ok(()),
                }
            };
            let beside = beside
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (verdict, beside)
        });
        self.keys = keys;
        result
    }

    /// Decides the records of chunk `chunk` in order.
    fn decide(
        &mut self,
        slots: &[Slot<'_>],
        chunk: usize,
        outcomes: Vec<Outcome<'_>>,
        accepted: &mut impl FnMut(usize),
    ) -> Result<(), Failure> {
        for (k, outcome) in outcomes.into_iter().enumerate() {
            let index = chunk * CHUNK + k;
            let slot = &slots[index];
            let position = self.size();
            let proof = match outcome {
                Outcome::Verified(proof) => proof,
                Outcome::Refused(e) => return Err(slot.failure(position, Some(&e))),
                Outcome::Unreadable => return Err(slot.failure(position, None)),
            };
            let record = proof.record();
            if !self.load_chain(&record.header.chain) {
                // The chains file failed: the verification stops, and says so as an error.
                return Err(slot.failure(position, None));
            }
            match self.validator.check_verified(proof, self.now.as_ref()) {
                Ok(checked) => self.validator.apply(checked),
                Err(e) => return Err(slot.failure(position, Some(&e))),
            }
            let file_pos = match (slot.line, slot.span) {
                (Some(line), Some((start, end))) => Some(crate::FilePos {
                    line,
                    start,
                    end,
                    hash: record.hash,
                }),
                _ => None,
            };
            self.accepted(record, file_pos);
            accepted(index);
        }
        Ok(())
    }
}
