//! Witness cosignatures: C2SP `tlog-cosignature` version `cosignature/v1` (Ed25519) over a
//! checkpoint, and the verification of a checkpoint against a quorum of trusted witnesses.
//!
//! A cosignature is one more signed-note signature line on the ledger's checkpoint:
//!
//! ```text
//! — <witness name> base64( key ID (4) || timestamp (u64, big-endian, 8) || Ed25519 signature (64) )
//! ```
//!
//! signed over `cosignature/v1\ntime <timestamp>\n` followed by the checkpoint body (the note
//! text, final newline included, without the blank line or any signature line).
//!
//! Design choices:
//! - The formats are exactly c2sp.org/tlog-cosignature and c2sp.org/signed-note, so that any
//!   witness of that ecosystem (litewitness, omniwitness, sigsum witnesses) can cosign the
//!   ledger, and any of their verifiers can check our witnesses.
//! - The key ID is the first 4 bytes of SHA-256(name || 0x0A || 0x04 || public key): type 0x04
//!   separates a cosigner key from a note key (type 0x01) even when the bytes are equal. A
//!   witness vkey is written `<name>+<hex key ID>+<base64(0x04 || public key)>` and parsed as
//!   strictly as a ledger vkey ([`crate::checkpoint::NoteVerifier::parse`]).
//! - Verification is strict Ed25519 (`verify_strict`), the timestamp must not exceed 2^63 - 1
//!   (as the spec requires); a timestamp in the future is not refused here (the spec lets a
//!   verifier do so; callers that have a clock may).
//! - [`verify_cosigned`] first verifies the log's own signature exactly as
//!   [`crate::checkpoint::verify_checkpoint`] does, then counts **distinct** trusted witnesses
//!   (a witness listed twice, or a witness with several lines, counts once). Signature lines of
//!   unknown keys are ignored; a line with a trusted witness's name and key ID that does not
//!   verify makes the whole note invalid, as for the log key in signed notes.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::checkpoint::{
    check_name, format_vkey, has_control_chars, key_id_of, parse_vkey, Checkpoint, CheckpointError,
    NoteVerifier, SIG_PREFIX,
};
use crate::encoding::{b64std, hex, unb64std};

/// Signature type byte of `cosignature/v1` (Ed25519) in key IDs and vkeys.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Header line of the signed message, domain separation.
const HEADER: &str = "cosignature/v1\n";
/// Bytes of a `cosignature/v1` signature blob: key ID, timestamp, Ed25519 signature.
const BLOB_LEN: usize = 4 + 8 + 64;
/// Largest timestamp the spec allows: 2^63 - 1.
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// Key ID = first 4 bytes of SHA-256(name || 0x0A || 0x04 || public key).
fn key_id(name: &str, public_key: &VerifyingKey) -> [u8; 4] {
    key_id_of(name, ALG_COSIGNATURE_V1, public_key)
}

/// The message a `cosignature/v1` signs: header line, time line, then the checkpoint body.
pub fn signed_message(checkpoint_body: &str, timestamp: u64) -> String {
    format!("{HEADER}time {timestamp}\n{checkpoint_body}")
}

/// A witness's cosigner: an Ed25519 key under the witness's name.
pub struct CosignatureSigner {
    name: String,
    key: SigningKey,
    key_id: [u8; 4],
}

impl std::fmt::Debug for CosignatureSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("CosignatureSigner")
            .field("name", &self.name)
            .field("key_id", &hex(&self.key_id))
            .finish_non_exhaustive()
    }
}

impl CosignatureSigner {
    /// A cosigner for witness `name` (non-empty, no whitespace, no '+').
    pub fn new(name: &str, key: SigningKey) -> Result<Self, CheckpointError> {
        check_name(name)?;
        let key_id = key_id(name, &key.verifying_key());
        Ok(Self {
            name: name.to_owned(),
            key,
            key_id,
        })
    }

    /// The witness name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key ID (type 0x04).
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The witness vkey `<name>+<8 hex key ID>+<base64(0x04 || public key)>`, to publish.
    pub fn verifier_key(&self) -> String {
        format_vkey(
            &self.name,
            &self.key_id,
            ALG_COSIGNATURE_V1,
            &self.key.verifying_key(),
        )
    }

    /// The matching verifier.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// One cosignature line `— <name> <base64(key ID || u64be(timestamp) || signature)>\n`
    /// over `cosignature/v1\ntime <timestamp>\n` + `checkpoint_body`.
    ///
    /// The body is the note text before the blank line and must end in a newline (one is
    /// added if missing, and is then part of what is signed). `timestamp` is POSIX seconds;
    /// verifiers refuse one above [`MAX_TIMESTAMP`].
    pub fn cosign(&self, checkpoint_body: &str, timestamp: u64) -> String {
        let mut body = checkpoint_body.to_owned();
        if !body.ends_with('\n') {
            body.push('\n');
        }
        let signature = self.key.sign(signed_message(&body, timestamp).as_bytes());
        let mut blob = Vec::with_capacity(BLOB_LEN);
        blob.extend_from_slice(&self.key_id);
        blob.extend_from_slice(&timestamp.to_be_bytes());
        blob.extend_from_slice(&signature.to_bytes());
        format!("{SIG_PREFIX}{} {}\n", self.name, b64std(&blob))
    }
}

/// A trusted witness key, parsed from its vkey (signature type 0x04).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key_id: [u8; 4],
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// Parses `<name>+<8 lowercase hex key ID>+<base64(0x04 || 32-byte public key)>`, checking
    /// the key ID against the name and key.
    pub fn parse(vkey: &str) -> Result<Self, CheckpointError> {
        let (name, key_id, key) = parse_vkey(vkey, ALG_COSIGNATURE_V1, |_| {
            CheckpointError::MalformedVerifierKey {
                reason: "a witness key must have signature type 0x04 (cosignature/v1, Ed25519)",
            }
        })?;
        Ok(Self { name, key_id, key })
    }

    /// The witness name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key ID (type 0x04).
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The vkey string of this witness.
    pub fn verifier_key(&self) -> String {
        format_vkey(&self.name, &self.key_id, ALG_COSIGNATURE_V1, &self.key)
    }

    /// Verifies one cosignature line (with or without its final newline) over the checkpoint
    /// `body` (the note text, final newline included) and returns its timestamp.
    ///
    /// A well-formed line of another key (another name or key ID) is
    /// [`CheckpointError::NoSignature`]; a line of this key that does not verify, or whose blob
    /// is not 76 bytes or whose timestamp exceeds 2^63 - 1, is
    /// [`CheckpointError::InvalidSignature`].
    pub fn verify_line(&self, body: &str, line: &str) -> Result<u64, CheckpointError> {
        let malformed = |reason| CheckpointError::MalformedNote { reason };
        if !body.ends_with('\n') {
            return Err(malformed("the checkpoint text does not end in a newline"));
        }
        if has_control_chars(body) {
            return Err(malformed(
                "the checkpoint text contains a control character other than newline",
            ));
        }
        let line = line.strip_suffix('\n').unwrap_or(line);
        if has_control_chars(line) || line.contains('\n') {
            return Err(malformed("a signature line contains a control character"));
        }
        let (name, blob) = parse_line(line)?;
        if name != self.name || blob[..4] != self.key_id {
            return Err(CheckpointError::NoSignature {
                name: self.name.clone(),
                key_id: hex(&self.key_id),
            });
        }
        self.verify_blob(body, &blob)
    }

    /// Checks a blob whose key ID is this key's.
    fn verify_blob(&self, body: &str, blob: &[u8]) -> Result<u64, CheckpointError> {
        let invalid = || CheckpointError::InvalidSignature {
            name: self.name.clone(),
            key_id: hex(&self.key_id),
        };
        if blob.len() != BLOB_LEN {
            return Err(invalid());
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&blob[4..12]);
        let timestamp = u64::from_be_bytes(ts);
        if timestamp > MAX_TIMESTAMP {
            return Err(invalid());
        }
        let signature = Signature::from_slice(&blob[12..]).map_err(|_| invalid())?;
        self.key
            .verify_strict(signed_message(body, timestamp).as_bytes(), &signature)
            .map_err(|_| invalid())?;
        Ok(timestamp)
    }
}

/// Splits `— <name> <base64>` (no final newline) into the name and the decoded blob (more
/// than 4 bytes), as signed-note requires of every signature line.
fn parse_line(line: &str) -> Result<(&str, Vec<u8>), CheckpointError> {
    let malformed = |reason| CheckpointError::MalformedNote { reason };
    let line = line.strip_prefix(SIG_PREFIX).ok_or(malformed(
        "a signature line does not start with an em dash and a space",
    ))?;
    let (name, b64) = line.split_once(' ').ok_or(malformed(
        "a signature line has no space after the key name",
    ))?;
    if check_name(name).is_err() {
        return Err(malformed("a signature line has an invalid key name"));
    }
    let blob = unb64std(b64).filter(|b| b.len() > 4).ok_or(malformed(
        "a signature is not standard base64 of a key ID and signature bytes",
    ))?;
    Ok((name, blob))
}

/// A checkpoint whose log signature verified, with the trusted witnesses that cosigned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// Each distinct trusted witness whose cosignature verified: its name and the timestamp
    /// of its cosignature (the latest, if it cosigned more than once), in the order of
    /// `witnesses` given to [`verify_cosigned`].
    pub witnesses: Vec<(String, u64)>,
}

/// Verifies a cosigned checkpoint: the log's signature as
/// [`crate::checkpoint::verify_checkpoint`] does (origin = log key name), then at least
/// `quorum` distinct trusted `witnesses` must have a verifying cosignature line.
///
/// Lines of unknown keys are ignored; a line with a trusted witness's name and key ID that
/// does not verify fails the whole note. Fewer than `quorum` is
/// [`CheckpointError::QuorumNotMet`], naming the witnesses that cosigned and those missing.
pub fn verify_cosigned(
    note: &str,
    log: &NoteVerifier,
    witnesses: &[CosignatureVerifier],
    quorum: usize,
) -> Result<CosignedCheckpoint, CheckpointError> {
    // Checks the note's structure (control characters, blank line, every signature line,
    // at most 100 of them) and the log's signature.
    let body = log.verify(note)?;
    let checkpoint = Checkpoint::parse_body(&body)?;
    if checkpoint.origin != log.name() {
        return Err(CheckpointError::OriginMismatch {
            origin: checkpoint.origin,
            expected: log.name().to_owned(),
        });
    }
    let sigs = note[body.len() + 1..]
        .strip_suffix('\n')
        .unwrap_or_default();

    // Distinct witnesses: the first of several entries with the same name and key ID.
    let mut trusted: Vec<&CosignatureVerifier> = Vec::with_capacity(witnesses.len());
    for w in witnesses {
        if !trusted
            .iter()
            .any(|t| t.name == w.name && t.key_id == w.key_id)
        {
            trusted.push(w);
        }
    }
    let mut seen: Vec<Option<u64>> = vec![None; trusted.len()];
    for line in sigs.split('\n') {
        let (name, blob) = parse_line(line)?;
        for (i, w) in trusted.iter().enumerate() {
            if name == w.name && blob[..4] == w.key_id {
                let ts = w.verify_blob(&body, &blob)?;
                seen[i] = Some(seen[i].map_or(ts, |prev| prev.max(ts)));
            }
        }
    }
    let mut cosigned = Vec::new();
    let mut missing = Vec::new();
    for (w, ts) in trusted.iter().zip(&seen) {
        match ts {
            Some(ts) => cosigned.push((w.name.clone(), *ts)),
            None => missing.push(w.name.clone()),
        }
    }
    if cosigned.len() < quorum {
        return Err(CheckpointError::QuorumNotMet {
            got: cosigned.len(),
            needed: quorum,
            cosigned: cosigned.into_iter().map(|(n, _)| n).collect(),
            missing,
        });
    }
    Ok(CosignedCheckpoint {
        checkpoint,
        witnesses: cosigned,
    })
}

/// The note with extra signature lines appended after its existing ones, skipping any line
/// identical to one already there (or given twice). Each line gets a final newline if it lacks
/// one; empty lines are skipped.
pub fn add_signature_lines(note: &str, lines: &[String]) -> String {
    let mut out = note.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    let existing_start = out.rfind("\n\n").map_or(out.len(), |i| i + 2);
    let mut present: Vec<String> = out[existing_start..]
        .split('\n')
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    for line in lines {
        let line = line.strip_suffix('\n').unwrap_or(line);
        if line.is_empty() || present.iter().any(|p| p == line) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
        present.push(line.to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::NoteSigner;
    use sha2::{Digest as _, Sha256};

    const LEDGER: &str = "custody.example/ledger";

    fn log() -> NoteSigner {
        NoteSigner::new(LEDGER, SigningKey::from_bytes(&[1; 32])).unwrap()
    }

    fn witness(name: &str, seed: u8) -> CosignatureSigner {
        CosignatureSigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: LEDGER.into(),
            size: 4711,
            root: [0x5a; 32],
            extensions: vec![],
        }
    }

    /// A note signed by the log with cosignatures of `ws` at time 1_700_000_000 + i.
    fn cosigned(ws: &[&CosignatureSigner]) -> String {
        let body = checkpoint().to_body();
        let note = log().sign(&body);
        let lines: Vec<String> = ws
            .iter()
            .enumerate()
            .map(|(i, w)| w.cosign(&body, 1_700_000_000 + i as u64))
            .collect();
        add_signature_lines(&note, &lines)
    }

    #[test]
    fn key_id_and_message_match_hand_computation() {
        let w = witness("witness.example/w1", 4);
        let public = SigningKey::from_bytes(&[4; 32]).verifying_key();
        let mut input = b"witness.example/w1\n".to_vec();
        input.push(0x04);
        input.extend_from_slice(public.as_bytes());
        assert_eq!(w.key_id()[..], Sha256::digest(&input)[..4]);
        assert_eq!(
            w.verifier_key(),
            format!(
                "witness.example/w1+{}+{}",
                hex(&w.key_id()),
                b64std(&[&[4u8][..], public.as_bytes()].concat())
            )
        );
        // The same key as a note key (type 0x01) has another key ID.
        let n = NoteSigner::new("witness.example/w1", SigningKey::from_bytes(&[4; 32])).unwrap();
        assert_ne!(n.key_id(), w.key_id());

        // The line: key ID, big-endian timestamp, then a plain Ed25519 signature of the
        // message spelled out by hand.
        let body = checkpoint().to_body();
        let line = w.cosign(&body, 1_679_315_147);
        let b64 = line
            .strip_prefix("\u{2014} witness.example/w1 ")
            .and_then(|l| l.strip_suffix('\n'))
            .unwrap();
        let blob = unb64std(b64).unwrap();
        assert_eq!(blob.len(), 76);
        assert_eq!(blob[..4], w.key_id());
        assert_eq!(blob[4..12], 1_679_315_147u64.to_be_bytes());
        let message = format!(
            "cosignature/v1\ntime 1679315147\ncustody.example/ledger\n4711\n{}\n",
            b64std(&[0x5a; 32])
        );
        let sig = Signature::from_slice(&blob[12..]).unwrap();
        public.verify_strict(message.as_bytes(), &sig).unwrap();
        assert_eq!(w.verifier().verify_line(&body, &line), Ok(1_679_315_147));
        assert_eq!(
            w.verifier().verify_line(&body, line.trim_end()),
            Ok(1_679_315_147)
        );
    }

    #[test]
    fn known_answer() {
        // Self-made (no published cosignature/v1 vector has a published key): seed 0x04 * 32,
        // name witness.example/w1, the checkpoint above, time 1679315147. Ed25519 is
        // deterministic, so this line must never change.
        let w = witness("witness.example/w1", 4);
        let line = w.cosign(&checkpoint().to_body(), 1_679_315_147);
        assert_eq!(line, KNOWN_LINE);
        assert_eq!(w.verifier_key(), KNOWN_VKEY);
        let v = CosignatureVerifier::parse(KNOWN_VKEY).unwrap();
        assert_eq!(v, w.verifier());
        assert_eq!(v.verifier_key(), KNOWN_VKEY);
        assert_eq!(
            v.verify_line(&checkpoint().to_body(), KNOWN_LINE),
            Ok(1_679_315_147)
        );
    }

    const KNOWN_VKEY: &str =
        "witness.example/w1+141f260a+BMqTrBcFGHBx1nuDx/8O/oEI6OxFMFdddyaHkzPb2r58";
    const KNOWN_LINE: &str = "\u{2014} witness.example/w1 FB8mCgAAAABkGFDLvY/ID/IzigOqyzgYjhIfHov3qcaCNuOA14g90+JBFIPnodjrcGSfs68DJOmhmq2gIMxs6Cz1CGb49QS9IjThBA==\n";

    #[test]
    fn verify_line_refuses_tampering() {
        let w = witness("witness.example/w1", 4);
        let v = w.verifier();
        let body = checkpoint().to_body();
        let line = w.cosign(&body, 1_700_000_000);
        // Another body, another timestamp in the blob, another key.
        let other_body = Checkpoint {
            size: 4712,
            ..checkpoint()
        }
        .to_body();
        assert!(matches!(
            v.verify_line(&other_body, &line),
            Err(CheckpointError::InvalidSignature { .. })
        ));
        let b64 = line.trim_end().rsplit(' ').next().unwrap();
        let mut blob = unb64std(b64).unwrap();
        blob[11] ^= 1;
        let forged = format!("\u{2014} witness.example/w1 {}\n", b64std(&blob));
        assert!(matches!(
            v.verify_line(&body, &forged),
            Err(CheckpointError::InvalidSignature { .. })
        ));
        // A timestamp above 2^63 - 1, even well signed, is refused.
        let big = w.cosign(&body, MAX_TIMESTAMP + 1);
        assert!(matches!(
            v.verify_line(&body, &big),
            Err(CheckpointError::InvalidSignature { .. })
        ));
        assert!(v
            .verify_line(&body, &w.cosign(&body, MAX_TIMESTAMP))
            .is_ok());
        // Truncated blob of the right key ID.
        let short = format!("\u{2014} witness.example/w1 {}\n", b64std(&blob[..70]));
        assert!(matches!(
            v.verify_line(&body, &short),
            Err(CheckpointError::InvalidSignature { .. })
        ));
        // Another witness's line: not ours.
        let other = witness("witness.example/w2", 5).cosign(&body, 1);
        assert!(matches!(
            v.verify_line(&body, &other),
            Err(CheckpointError::NoSignature { .. })
        ));
        // Same name, other key.
        let other = witness("witness.example/w1", 5).cosign(&body, 1);
        assert!(matches!(
            v.verify_line(&body, &other),
            Err(CheckpointError::NoSignature { .. })
        ));
        // Malformed lines and bodies.
        for bad in [
            line.replacen('\u{2014}', "-", 1),
            line.replacen(' ', "", 2),
            format!("{}\n\n", line.trim_end()),
            format!("{}=\n", line.trim_end()),
        ] {
            assert!(
                matches!(
                    v.verify_line(&body, &bad),
                    Err(CheckpointError::MalformedNote { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            v.verify_line(body.trim_end(), &line),
            Err(CheckpointError::MalformedNote { .. })
        ));
        // A note signature (type 0x01, no timestamp) by the same key and name is not a
        // cosignature: another key ID.
        let note_sig = NoteSigner::new("witness.example/w1", SigningKey::from_bytes(&[4; 32]))
            .unwrap()
            .sign(&body);
        let note_line = note_sig.split_once("\n\n").unwrap().1;
        assert!(matches!(
            v.verify_line(&body, note_line),
            Err(CheckpointError::NoSignature { .. })
        ));
    }

    #[test]
    fn vkey_parsing_is_strict() {
        let w = witness("witness.example/w1", 4);
        let vkey = w.verifier_key();
        assert_eq!(CosignatureVerifier::parse(&vkey).unwrap(), w.verifier());
        // A note key (type 0x01) is not a witness key.
        let note_key = NoteSigner::new("witness.example/w1", SigningKey::from_bytes(&[4; 32]))
            .unwrap()
            .verifier_key();
        assert!(matches!(
            CosignatureVerifier::parse(&note_key),
            Err(CheckpointError::MalformedVerifierKey { .. })
        ));
        // Every proper substring and every single-byte change fails.
        let b = vkey.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i == 0 && j == b.len() {
                    continue;
                }
                let k = std::str::from_utf8(&b[i..j]).unwrap();
                assert!(CosignatureVerifier::parse(k).is_err(), "{k:?}");
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] += 1;
            if let Ok(k) = String::from_utf8(m) {
                assert!(CosignatureVerifier::parse(&k).is_err(), "{k:?}");
            }
        }
        assert!(matches!(
            CosignatureVerifier::parse(&vkey.replacen(
                "witness.example/w1",
                "witness.example/w2",
                1
            )),
            Err(CheckpointError::KeyIdMismatch { .. })
        ));
    }

    #[test]
    fn quorum_counts_distinct_trusted_witnesses() {
        let (w1, w2, w3) = (
            witness("witness.example/w1", 4),
            witness("witness.example/w2", 5),
            witness("witness.example/w3", 6),
        );
        let unknown = witness("witness.example/unknown", 7);
        let note = cosigned(&[&unknown, &w1, &w2]);
        let trusted = [w1.verifier(), w2.verifier(), w3.verifier()];
        let got = verify_cosigned(&note, &log().verifier(), &trusted, 2).unwrap();
        assert_eq!(got.checkpoint, checkpoint());
        assert_eq!(
            got.witnesses,
            [
                ("witness.example/w1".to_owned(), 1_700_000_001),
                ("witness.example/w2".to_owned(), 1_700_000_002)
            ]
        );
        assert!(verify_cosigned(&note, &log().verifier(), &trusted, 0).is_ok());
        let err = verify_cosigned(&note, &log().verifier(), &trusted, 3).unwrap_err();
        assert_eq!(
            err,
            CheckpointError::QuorumNotMet {
                got: 2,
                needed: 3,
                cosigned: vec!["witness.example/w1".into(), "witness.example/w2".into()],
                missing: vec!["witness.example/w3".into()],
            }
        );
        assert_eq!(
            err.to_string(),
            "checkpoint has 2 valid cosignature(s) of the 3 required (cosigned by: \
             witness.example/w1, witness.example/w2; missing: witness.example/w3)"
        );

        // One witness listed twice, or cosigning twice, counts once (latest timestamp).
        let twice = [w1.verifier(), w1.verifier()];
        assert!(matches!(
            verify_cosigned(&note, &log().verifier(), &twice, 2),
            Err(CheckpointError::QuorumNotMet { got: 1, .. })
        ));
        let body = checkpoint().to_body();
        let again = add_signature_lines(&note, &[w1.cosign(&body, 1_800_000_000)]);
        let got = verify_cosigned(&again, &log().verifier(), &[w1.verifier()], 1).unwrap();
        assert_eq!(
            got.witnesses,
            [("witness.example/w1".into(), 1_800_000_000)]
        );
        assert!(matches!(
            verify_cosigned(&again, &log().verifier(), &trusted, 3),
            Err(CheckpointError::QuorumNotMet { got: 2, .. })
        ));
    }

    #[test]
    fn log_signature_comes_first() {
        let w1 = witness("witness.example/w1", 4);
        let trusted = [w1.verifier()];
        let body = checkpoint().to_body();
        // Cosigned but not signed by the log: refused whatever the quorum.
        let only_cosigned = format!("{body}\n{}", w1.cosign(&body, 1));
        assert!(matches!(
            verify_cosigned(&only_cosigned, &log().verifier(), &trusted, 0),
            Err(CheckpointError::NoSignature { .. })
        ));
        // Signed by another log key.
        let other = NoteSigner::new(LEDGER, SigningKey::from_bytes(&[2; 32])).unwrap();
        let note = cosigned(&[&w1]);
        assert!(matches!(
            verify_cosigned(&note, &other.verifier(), &trusted, 1),
            Err(CheckpointError::NoSignature { .. })
        ));
        // Another origin than the log key's name.
        let foreign = NoteSigner::new("other.example/log", SigningKey::from_bytes(&[1; 32]))
            .unwrap()
            .sign(&body);
        assert!(matches!(
            verify_cosigned(
                &foreign,
                &NoteSigner::new("other.example/log", SigningKey::from_bytes(&[1; 32]))
                    .unwrap()
                    .verifier(),
                &trusted,
                0
            ),
            Err(CheckpointError::OriginMismatch { .. })
        ));
    }

    #[test]
    fn a_bad_cosignature_of_a_trusted_witness_fails_the_note() {
        let (w1, w2) = (
            witness("witness.example/w1", 4),
            witness("witness.example/w2", 5),
        );
        let note = cosigned(&[&w1, &w2]);
        let body = checkpoint().to_body();
        // w1's line over another checkpoint, put in place of its own.
        let wrong = w1.cosign(
            &Checkpoint {
                size: 1,
                ..checkpoint()
            }
            .to_body(),
            1_700_000_000,
        );
        let good = w1.cosign(&body, 1_700_000_000);
        assert!(note.contains(&good));
        let tampered = note.replacen(&good, &wrong, 1);
        let trusted = [w1.verifier(), w2.verifier()];
        assert!(matches!(
            verify_cosigned(&tampered, &log().verifier(), &trusted, 1),
            Err(CheckpointError::InvalidSignature { ref name, .. }) if name == "witness.example/w1"
        ));
        // Untrusted, the same bad line is ignored.
        assert!(verify_cosigned(&tampered, &log().verifier(), &[w2.verifier()], 1).is_ok());
        // A cosignature moved to another checkpoint does not verify there.
        let other_body = Checkpoint {
            size: 4712,
            ..checkpoint()
        }
        .to_body();
        let moved = add_signature_lines(&log().sign(&other_body), &[good]);
        assert!(matches!(
            verify_cosigned(&moved, &log().verifier(), &trusted, 1),
            Err(CheckpointError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn add_signature_lines_appends_once() {
        let w1 = witness("witness.example/w1", 4);
        let body = checkpoint().to_body();
        let note = log().sign(&body);
        let line = w1.cosign(&body, 9);
        let once = add_signature_lines(&note, std::slice::from_ref(&line));
        assert_eq!(once, format!("{note}{line}"));
        assert_eq!(
            add_signature_lines(
                &once,
                &[line.clone(), line.trim_end().to_owned(), String::new()]
            ),
            once
        );
        // The log's own line is not repeated either.
        let log_line = note.split_once("\n\n").unwrap().1.to_owned();
        assert_eq!(add_signature_lines(&note, &[log_line]), note);
        assert!(verify_cosigned(&once, &log().verifier(), &[w1.verifier()], 1).is_ok());
    }

    #[test]
    fn debug_does_not_print_the_key() {
        let dbg = format!("{:?}", witness("witness.example/w1", 4));
        assert!(
            dbg.contains("witness.example/w1") && !dbg.contains("SigningKey"),
            "{dbg}"
        );
    }
}
