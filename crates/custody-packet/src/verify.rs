//! Offline verification of a packet: the checkpoint's signature, every record through
//! `custody_verify`'s verifier in ledger order (signatures, chain links, payload digests, the
//! signer's authority at the time of signing, every rule), the inclusion of every event in the
//! checkpoint, the manifest against the signed records, and every evidence blob's digest.
//!
//! The first failure is the answer ([`PacketFailure`]: which event, which rule).

use std::fmt;
use std::io::{self, BufRead};

use custody_core::authority::TrustAnchors;
use custody_core::checkpoint::{verify_checkpoint, Checkpoint, NoteVerifier};
use custody_core::ids::{is_detainee_chain_id, AUTHORITY_CHAIN};
use custody_core::kinds::EventKind;
use custody_core::merkle::{leaf_hash, verify_inclusion};
use custody_core::{Hash, PacketRule, Payload, PublicKeyId, Record, Rule, SecretKey, Timestamp};
use custody_verify::Verifier;
use sha2::{Digest as _, Sha256};

use crate::format::{EvidenceEntry, Manifest, PacketReader, Section, Withheld, MAGIC};
use crate::sealed::{self, SealError};
use crate::tlog::TlogProof;

/// Rule of a packet that is not a well formed container.
pub const FORMAT: Rule = Rule::Packet(PacketRule::Format);
/// Rule of a manifest that is malformed or disagrees with the signed records.
pub const MANIFEST: Rule = Rule::Packet(PacketRule::Manifest);
/// Rule of a checkpoint that does not verify with the ledger key.
pub const CHECKPOINT: Rule = Rule::Packet(PacketRule::Checkpoint);
/// Rule of an event whose inclusion proof does not verify against the checkpoint.
pub const PROOF: Rule = Rule::Packet(PacketRule::Proof);
/// Rule of a record of another chain than the packet's.
pub const CHAIN: Rule = Rule::Packet(PacketRule::Chain);
/// Rule of an evidence blob that is not the one its record names.
pub const EVIDENCE: Rule = Rule::Packet(PacketRule::Evidence);
/// Rule of a sealed payload addressed to the verifier's key that does not open, or is not the
/// payload its header names.
pub const SEALED: Rule = Rule::Packet(PacketRule::Sealed);

/// What to trust when verifying.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Trust anchors; `None` takes the packet's own (then only its internal consistency is
    /// proved, not that it comes from the ledger the reader trusts).
    pub trust: Option<TrustAnchors>,
    /// The ledger's checkpoint verifier key; `None` takes the packet's.
    pub ledger_vkey: Option<String>,
    /// The clock of the future-time rule (`None` skips it).
    pub now: Option<Timestamp>,
    /// A medical key: the sealed payloads addressed to it are opened and checked against their
    /// headers (`None`: sealed payloads are reported sealed, not checked).
    pub medical_key: Option<SecretKey>,
}

/// Why a packet is refused: the first thing found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketFailure {
    /// Rule code: a record rule of the wire format (`signature`, `key_revoked`, `state/...`)
    /// or a packet rule ([`FORMAT`], [`MANIFEST`], [`CHECKPOINT`], [`PROOF`], [`CHAIN`],
    /// [`EVIDENCE`]).
    pub rule: Rule,
    /// The event's ledger position, when known.
    pub position: Option<u64>,
    /// The event's chain, when known.
    pub chain: Option<String>,
    /// The event's `seq` in its chain, when known.
    pub seq: Option<u64>,
    /// The event's hash, when known.
    pub hash: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl PacketFailure {
    fn new(rule: Rule, message: impl Into<String>) -> Self {
        PacketFailure {
            rule,
            position: None,
            chain: None,
            seq: None,
            hash: None,
            message: message.into(),
        }
    }

    fn at(mut self, position: Option<u64>, record: &Record) -> Self {
        self.position = position;
        self.chain = Some(record.header.chain.clone());
        self.seq = Some(record.header.seq);
        self.hash = Some(record.hash.to_hex());
        self
    }
}

impl fmt::Display for PacketFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(chain), Some(seq)) = (&self.chain, self.seq) {
            write!(f, "event {chain} seq {seq}")?;
            if let Some(p) = self.position {
                write!(f, " (position {p})")?;
            }
            if let Some(h) = &self.hash {
                write!(f, " {h}")?;
            }
            write!(f, ": ")?;
        }
        write!(f, "{} ({})", self.message, self.rule)
    }
}

/// Why a verification did not give a verdict, or the verdict was a refusal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// The packet could not be read.
    #[error("cannot read the packet: {0}")]
    Io(#[from] io::Error),
    /// The packet is refused.
    #[error("the packet does not verify: {0}")]
    Refused(Box<PacketFailure>),
}

fn refused(rule: Rule, message: impl Into<String>) -> PacketError {
    PacketError::Refused(Box::new(PacketFailure::new(rule, message)))
}

/// Maps a reader error: malformed content is a refusal ([`FORMAT`]), anything else an I/O error.
fn read_error(e: io::Error) -> PacketError {
    if e.kind() == io::ErrorKind::InvalidData {
        refused(FORMAT, e.to_string())
    } else {
        PacketError::Io(e)
    }
}

/// Where an included blob is in the packet file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobSection {
    /// The blob's digest (verified).
    pub digest: Hash,
    /// Offset of its first byte in the file.
    pub offset: u64,
    /// Its size.
    pub size: u64,
}

/// A packet that verified.
#[derive(Clone, Debug)]
pub struct Verified {
    /// Its manifest.
    pub manifest: Manifest,
    /// SHA-256 of the whole file.
    pub digest: [u8; 32],
    /// The checkpoint, verified with the ledger key.
    pub checkpoint: Checkpoint,
    /// The checkpoint note as it is in the packet.
    pub checkpoint_note: String,
    /// Every record with its ledger position, in ledger order (authority and chain).
    pub records: Vec<(u64, Record)>,
    /// Whether the trust anchors were the packet's own (no `--trust`).
    pub trust_from_packet: bool,
    /// Whether the ledger key was the packet's own (no `--ledger-vkey`).
    pub vkey_from_packet: bool,
    /// The included blobs, in order.
    pub blobs: Vec<BlobSection>,
    /// The sealed payloads, in the manifest's order.
    pub sealed: Vec<SealedPayload>,
}

/// What a verifier could do with one sealed payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealedState {
    /// No medical key was given: the payload was not checked.
    NoKey,
    /// The key given is not among its recipients: the payload was not checked.
    NotAddressed,
    /// Opened with the key given: the payload its header names (checked).
    Opened(Payload),
}

/// One sealed payload of a verified packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedPayload {
    /// The record's hash (hex).
    pub event: String,
    /// Its kind.
    pub kind: String,
    /// The keys it is encrypted to.
    pub recipients: Vec<String>,
    /// Whether it was opened.
    pub state: SealedState,
}

impl Verified {
    /// The detainee chain's records, in order.
    pub fn chain_records(&self) -> impl Iterator<Item = &Record> {
        self.records
            .iter()
            .map(|(_, r)| r)
            .filter(|r| r.header.chain != AUTHORITY_CHAIN)
    }
}

fn expect_section(
    reader: &mut PacketReader<impl BufRead>,
    want: Section,
    what: &str,
) -> Result<u64, PacketError> {
    let (kind, len) = reader.next_section().map_err(read_error)?;
    if kind != want {
        return Err(refused(
            FORMAT,
            format!(
                "a {} section comes where {what} was expected",
                kind.as_str()
            ),
        ));
    }
    Ok(len)
}

/// The evidence an `evidence_added` record names, when its payload travels.
pub fn evidence_of(record: &Record) -> Option<(Hash, u64)> {
    if record.header.kind != EventKind::EvidenceAdded {
        return None;
    }
    let body = &record.payload.as_ref()?.body;
    let digest = body.get("content_digest")?.as_str()?.parse().ok()?;
    let size = body.get("size_bytes")?.as_u64()?;
    Some((digest, size))
}

/// Reads and verifies a whole packet.
pub fn verify_packet(input: impl BufRead, options: &Options) -> Result<Verified, PacketError> {
    let mut reader = PacketReader::new(input).map_err(read_error)?;

    // The manifest.
    let len = expect_section(&mut reader, Section::Manifest, "the manifest")?;
    let bytes = reader.body(len).map_err(read_error)?;
    let manifest: Manifest = custody_core::jcs::parse_strict(&bytes)
        .map_err(|e| e.to_string())
        .and_then(|v| serde_json::from_value(v).map_err(|e| e.to_string()))
        .map_err(|e| refused(MANIFEST, format!("the manifest is not acceptable: {e}")))?;
    if manifest.format != MAGIC {
        return Err(refused(
            MANIFEST,
            format!(
                "the manifest's format is {:?}, not {MAGIC}",
                manifest.format
            ),
        ));
    }
    if !is_detainee_chain_id(&manifest.chain) {
        return Err(refused(
            MANIFEST,
            format!(
                "the manifest's chain {:?} is not a detainee chain id",
                manifest.chain
            ),
        ));
    }
    let trust_from_packet = options.trust.is_none();
    let trust = options
        .trust
        .clone()
        .unwrap_or_else(|| manifest.trust.clone());
    if trust.ledger != manifest.ledger {
        return Err(refused(
            MANIFEST,
            format!(
                "the packet is from ledger {:?}, but the trust anchors are those of ledger {:?}",
                manifest.ledger, trust.ledger
            ),
        ));
    }

    // The records.
    let mut records = Vec::new();
    for i in 0..manifest.records {
        let len = expect_section(
            &mut reader,
            Section::Record,
            &format!("record {} of {}", i + 1, manifest.records),
        )?;
        let bytes = reader.body(len).map_err(read_error)?;
        let record = Record::from_json(&bytes).map_err(|e| {
            refused(
                Rule::Format,
                format!("record {} of the packet is not a record: {e}", i + 1),
            )
        })?;
        if record.header.chain != AUTHORITY_CHAIN && record.header.chain != manifest.chain {
            return Err(PacketError::Refused(Box::new(
                PacketFailure::new(
                    CHAIN,
                    format!(
                        "the record is of chain {}, not of the packet's chain {}",
                        record.header.chain, manifest.chain
                    ),
                )
                .at(None, &record),
            )));
        }
        records.push(record);
    }
    if !records.iter().any(|r| r.header.chain == manifest.chain) {
        return Err(refused(
            MANIFEST,
            format!("the packet holds no record of its chain {}", manifest.chain),
        ));
    }

    // The checkpoint, signed by the ledger key.
    let len = expect_section(&mut reader, Section::Checkpoint, "the checkpoint")?;
    let note = String::from_utf8(reader.body(len).map_err(read_error)?)
        .map_err(|_| refused(CHECKPOINT, "the checkpoint is not UTF-8 text"))?;
    let vkey_from_packet = options.ledger_vkey.is_none();
    let vkey = options
        .ledger_vkey
        .clone()
        .unwrap_or_else(|| manifest.ledger_vkey.clone());
    let verifier = NoteVerifier::parse(&vkey).map_err(|e| {
        refused(
            CHECKPOINT,
            format!("the ledger verifier key {vkey:?} is not usable: {e}"),
        )
    })?;
    let checkpoint = verify_checkpoint(&note, &verifier).map_err(|e| {
        refused(
            CHECKPOINT,
            format!("the checkpoint does not verify with the ledger key {vkey}: {e}"),
        )
    })?;
    if checkpoint.origin != manifest.ledger {
        return Err(refused(
            CHECKPOINT,
            format!(
                "the checkpoint is of ledger {:?}, not {:?}",
                checkpoint.origin, manifest.ledger
            ),
        ));
    }

    // The proofs: one per record, in the same order, increasing positions.
    let mut positions = Vec::with_capacity(records.len());
    let mut proofs = Vec::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        let len = expect_section(
            &mut reader,
            Section::Proof,
            &format!("the proof of record {}", i + 1),
        )?;
        let text = String::from_utf8(reader.body(len).map_err(read_error)?).map_err(|_| {
            PacketError::Refused(Box::new(
                PacketFailure::new(PROOF, "its proof is not UTF-8 text").at(None, record),
            ))
        })?;
        let proof = TlogProof::parse(&text).map_err(|e| {
            PacketError::Refused(Box::new(
                PacketFailure::new(
                    PROOF,
                    format!("its proof is not a c2sp.org/tlog-proof@v1: {e}"),
                )
                .at(None, record),
            ))
        })?;
        if let Some(&last) = positions.last() {
            if proof.index <= last {
                return Err(PacketError::Refused(Box::new(
                    PacketFailure::new(PROOF, format!("its proof gives position {}, not after the previous record's {last}: records are not in ledger order", proof.index)).at(Some(proof.index), record),
                )));
            }
        }
        positions.push(proof.index);
        proofs.push(proof);
    }

    // Every record, in ledger order, through the one verifier.
    let mut verifier = Verifier::new(trust)
        .with_clock(options.now.clone())
        .with_threads(1);
    if let Err(f) = verifier.verify_records(&records, |_| {}) {
        let i = usize::try_from(f.position).unwrap_or(usize::MAX);
        let failure = match records.get(i) {
            Some(r) => {
                PacketFailure::new(f.rule, f.message.clone()).at(positions.get(i).copied(), r)
            }
            None => PacketFailure::new(f.rule, f.message.clone()),
        };
        return Err(PacketError::Refused(Box::new(failure)));
    }

    // Every event is in the checkpoint.
    for ((record, proof), &position) in records.iter().zip(&proofs).zip(&positions) {
        let fail = |message: String| {
            PacketError::Refused(Box::new(
                PacketFailure::new(PROOF, message).at(Some(position), record),
            ))
        };
        if proof.checkpoint != note {
            return Err(fail(
                "its proof is against another checkpoint than the packet's".into(),
            ));
        }
        if position >= checkpoint.size {
            return Err(fail(format!("it is at position {position}, outside the checkpoint of size {}: the checkpoint does not cover it", checkpoint.size)));
        }
        verify_inclusion(
            &leaf_hash(record.hash.as_bytes()),
            position,
            checkpoint.size,
            &proof.hashes,
            &checkpoint.root,
        )
        .map_err(|e| {
            fail(format!(
                "it is not proved included in the checkpoint of size {}: {e}",
                checkpoint.size
            ))
        })?;
    }

    // The manifest says what was withheld, exactly.
    let records_with_pos: Vec<(u64, Record)> = positions.iter().copied().zip(records).collect();
    let headers_only: Vec<(String, String)> = records_with_pos
        .iter()
        .filter(|(_, r)| r.payload.is_none() && r.header.chain != AUTHORITY_CHAIN)
        .map(|(_, r)| (r.hash.to_hex(), r.header.kind.as_str().to_string()))
        .collect();
    let listed: Vec<(String, String)> = manifest
        .withheld
        .iter()
        .map(|w| (w.event.clone(), w.kind.clone()))
        .collect();
    if headers_only != listed {
        return Err(refused(MANIFEST, "the manifest's list of withheld payloads is not exactly the records that travel without their payload"));
    }

    // The evidence: the manifest lists exactly what the signed bodies name.
    let named: Vec<(String, String, u64)> = records_with_pos
        .iter()
        .filter_map(|(_, r)| evidence_of(r).map(|(d, s)| (r.hash.to_hex(), d.to_hex(), s)))
        .collect();
    let listed: Vec<(String, String, u64)> = manifest
        .evidence
        .iter()
        .map(|e| (e.event.clone(), e.digest.clone(), e.size_bytes))
        .collect();
    if named != listed {
        return Err(refused(EVIDENCE, "the manifest's evidence list is not exactly the evidence the signed evidence_added records name (digest and size)"));
    }
    check_withheld_entries(&manifest.withheld)?;
    let mut sealed = Vec::new();
    for entry in manifest.withheld.iter().filter(|w| w.is_sealed()) {
        sealed.push(check_sealed(
            &mut reader,
            entry,
            &records_with_pos,
            options.medical_key.as_ref(),
        )?);
    }
    let mut blobs = Vec::new();
    for entry in manifest.evidence.iter().filter(|e| e.included) {
        blobs.push(check_blob(&mut reader, entry, &records_with_pos)?);
    }
    let len = expect_section(&mut reader, Section::End, "the end of the packet")?;
    if len != 0 {
        return Err(refused(FORMAT, "the end section is not empty"));
    }
    reader.body(0).map_err(read_error)?;
    let digest = reader.finish().map_err(read_error)?;
    Ok(Verified {
        manifest,
        digest,
        checkpoint,
        checkpoint_note: note,
        records: records_with_pos,
        trust_from_packet,
        vkey_from_packet,
        blobs,
        sealed,
    })
}

/// Each withheld entry's reason is one of the four, and `recipients` is there exactly for a
/// sealed one (of a restricted kind), a non-empty list of distinct key ids.
fn check_withheld_entries(withheld: &[Withheld]) -> Result<(), PacketError> {
    for w in withheld {
        let restricted = w.kind.parse::<EventKind>().is_ok_and(|k| k.is_restricted());
        let ok = match (w.reason.as_str(), &w.recipients) {
            ("sealed", Some(keys)) => {
                restricted
                    && !keys.is_empty()
                    && keys
                        .iter()
                        .enumerate()
                        .all(|(i, k)| k.parse::<PublicKeyId>().is_ok() && !keys[..i].contains(k))
            }
            ("restricted", None) => restricted,
            ("redacted" | "missing", None) => true,
            _ => false,
        };
        if !ok {
            return Err(refused(
                MANIFEST,
                format!(
                    "the manifest's withheld entry of event {} ({}, reason {:?}) is not acceptable: a sealed entry is of a restricted kind and lists its recipients' keys, no other entry has recipients",
                    w.event, w.kind, w.reason
                ),
            ));
        }
    }
    Ok(())
}

fn check_sealed(
    reader: &mut PacketReader<impl BufRead>,
    entry: &Withheld,
    records: &[(u64, Record)],
    key: Option<&SecretKey>,
) -> Result<SealedPayload, PacketError> {
    let (position, record) = records
        .iter()
        .find(|(_, r)| r.hash.to_hex() == entry.event)
        .map(|(p, r)| (*p, r))
        .ok_or_else(|| refused(MANIFEST, "a withheld entry names no record of the packet"))?;
    let fail = |e: SealError| {
        PacketError::Refused(Box::new(
            PacketFailure::new(SEALED, format!("its sealed payload: {e}"))
                .at(Some(position), record),
        ))
    };
    let len = expect_section(reader, Section::Sealed, "a sealed payload")?;
    let body = reader.body(len).map_err(read_error)?;
    sealed::check_age(&body).map_err(fail)?;
    let recipients = entry.recipients.clone().unwrap_or_default();
    let state = match key {
        None => SealedState::NoKey,
        Some(k) if !recipients.contains(&k.public().to_string()) => SealedState::NotAddressed,
        Some(k) => {
            let plaintext = sealed::open(&body, k).map_err(fail)?;
            let payload =
                sealed::payload_of(&plaintext, &record.header.payload_digest).map_err(fail)?;
            SealedState::Opened(payload)
        }
    };
    Ok(SealedPayload {
        event: entry.event.clone(),
        kind: entry.kind.clone(),
        recipients,
        state,
    })
}

fn check_blob(
    reader: &mut PacketReader<impl BufRead>,
    entry: &EvidenceEntry,
    records: &[(u64, Record)],
) -> Result<BlobSection, PacketError> {
    let (position, record) = records
        .iter()
        .find(|(_, r)| r.hash.to_hex() == entry.event)
        .map(|(p, r)| (*p, r))
        .ok_or_else(|| refused(EVIDENCE, "an evidence entry names no record of the packet"))?;
    let fail = |m: String| {
        PacketError::Refused(Box::new(
            PacketFailure::new(EVIDENCE, m).at(Some(position), record),
        ))
    };
    let len = expect_section(reader, Section::Blob, "an evidence blob")?;
    if len != entry.size_bytes {
        return Err(fail(format!(
            "its evidence blob has {len} bytes, not the {} its record names",
            entry.size_bytes
        )));
    }
    let offset = reader.offset();
    let mut hasher = Sha256::new();
    reader
        .stream(len, |chunk| {
            hasher.update(chunk);
            Ok(())
        })
        .map_err(read_error)?;
    let got = Hash(hasher.finalize().into());
    if got.to_hex() != entry.digest {
        return Err(fail(format!(
            "its evidence blob has digest {got}, not the {} its record names",
            entry.digest
        )));
    }
    Ok(BlobSection {
        digest: got,
        offset,
        size: len,
    })
}
