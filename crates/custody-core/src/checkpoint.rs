//! Checkpoints: the signed head of the ledger-wide Merkle tree, as a C2SP tlog-checkpoint in a
//! C2SP signed note with an Ed25519 ledger key.
//!
//! A signed checkpoint looks like this (the dash is U+2014 EM DASH):
//!
//! ```text
//! custody.example/ledger
//! 4711
//! qUnvc0Ew6+Cq0gSw/+Yc54fk6H6QwcD2J6W3wfVNo4k=
//!
//! — custody.example/ledger Az3grlgt...base64(key ID || Ed25519 signature)...=
//! ```
//!
//! Design choices:
//! - We implement the published formats (c2sp.org/tlog-checkpoint, c2sp.org/signed-note)
//!   rather than a bespoke envelope, so that Go's `golang.org/x/mod/sumdb/note`, the
//!   transparency-dev tooling and witnesses can check our checkpoints; the known-answer test uses
//!   the Go package's own published key and note.
//! - Only Ed25519 (signature type 0x01) is supported. Verification uses `verify_strict`, which
//!   refuses small-order keys and non-canonical signatures, so a signature has one accepted
//!   form.
//! - Verification follows the signed-note rules: signatures by unknown keys (another name or
//!   key ID) are ignored, which allows key rotation and witness cosignatures; a signature by the
//!   expected key that fails is an error for the whole note, not skipped; at least one must
//!   verify. At most 100 signature lines are accepted (the spec requires at least 16).
//! - Parsing is strict: the tree size is decimal without sign or leading zeros, the root is
//!   canonical padded base64 of exactly 32 bytes, lines are non-empty and the text contains no
//!   control characters other than newline. The verifier key's stated key ID must match its name
//!   and public key, and the hexadecimal key ID must be lowercase.
//! - [`verify_checkpoint`] additionally requires the origin line to equal the verifier's key
//!   name: the ledger signs its own checkpoints under its own name, and a checkpoint of another
//!   log signed with the same key is refused.
//! - Extension lines are parsed and kept, never interpreted; we do not emit any.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::encoding::{b64std, hex, unb64std, unhex};

/// Signature type identifier of Ed25519 in signed notes.
const ALG_ED25519: u8 = 0x01;
/// Start of every signature line: EM DASH, space.
pub(crate) const SIG_PREFIX: &str = "\u{2014} ";
/// Most signature lines accepted in one note.
pub(crate) const MAX_SIGNATURES: usize = 100;

/// Why a checkpoint, a signed note or a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// A key name is empty or contains whitespace, a control character or '+'.
    #[error("key name {name:?} is invalid: it must be non-empty, without spaces or '+'")]
    InvalidName {
        /// The refused name.
        name: String,
    },
    /// A verifier key string is not `<name>+<8 hex key ID>+<base64 key>`.
    #[error("verifier key is malformed: {reason}")]
    MalformedVerifierKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A verifier key names another algorithm than Ed25519.
    #[error("verifier key algorithm 0x{algorithm:02x} is not supported: only 0x01 (Ed25519) is")]
    UnsupportedAlgorithm {
        /// The signature type byte found.
        algorithm: u8,
    },
    /// A verifier key holds bytes that are not an acceptable Ed25519 public key.
    #[error("verifier key holds an invalid or weak Ed25519 public key")]
    InvalidPublicKey,
    /// A verifier key's stated key ID is not the one computed from its name and public key.
    #[error(
        "verifier key ID {stated} does not match its name and public key (expected {computed})"
    )]
    KeyIdMismatch {
        /// Key ID written in the key, hex.
        stated: String,
        /// Key ID computed from the name and public key, hex.
        computed: String,
    },
    /// A signed note does not follow the signed-note format.
    #[error("signed note is malformed: {reason}")]
    MalformedNote {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A signed note carries no signature line by the expected key.
    #[error("signed note has no signature by key {name}+{key_id}")]
    NoSignature {
        /// Expected key name.
        name: String,
        /// Expected key ID, hex.
        key_id: String,
    },
    /// A signature line by the expected key does not verify.
    #[error("signature by key {name}+{key_id} does not verify")]
    InvalidSignature {
        /// Key name.
        name: String,
        /// Key ID, hex.
        key_id: String,
    },
    /// A checkpoint body does not follow the tlog-checkpoint format.
    #[error("checkpoint is malformed: {reason}")]
    MalformedCheckpoint {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Fewer distinct trusted witnesses cosigned the checkpoint than the quorum asks.
    #[error(
        "checkpoint has {got} valid cosignature(s) of the {needed} required (cosigned by: {}; missing: {})",
        list_or_none(cosigned), list_or_none(missing)
    )]
    QuorumNotMet {
        /// Distinct trusted witnesses whose cosignature verified.
        got: usize,
        /// The quorum asked for.
        needed: usize,
        /// Names of the witnesses whose cosignature verified.
        cosigned: Vec<String>,
        /// Names of the trusted witnesses without a cosignature in the note.
        missing: Vec<String>,
    },
    /// The checkpoint's origin line is not the name of the key it was verified with.
    #[error("checkpoint origin {origin:?} is not the ledger name {expected:?}")]
    OriginMismatch {
        /// Origin line found.
        origin: String,
        /// Name of the verifier key.
        expected: String,
    },
}

/// Names joined by ", ", or "none".
fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// A tree head: the body of a signed checkpoint (c2sp.org/tlog-checkpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Origin line: the ledger name, equal to the signing key's name.
    pub origin: String,
    /// Number of leaves in the tree.
    pub size: u64,
    /// RFC 6962 root hash of the tree.
    pub root: [u8; 32],
    /// Opaque extension lines, without their newlines (non-empty each; usually none).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: origin, decimal size and base64 root, then extension lines, each ending
    /// in a newline.
    ///
    /// Fields that [`Checkpoint::parse_body`] would refuse (an empty origin, a newline inside a
    /// line, an empty extension) yield a body that does not parse back;
    /// [`NoteSigner::sign_checkpoint`] checks this before signing.
    pub fn to_body(&self) -> String {
        let mut body = format!("{}\n{}\n{}\n", self.origin, self.size, b64std(&self.root));
        for ext in &self.extensions {
            body.push_str(ext);
            body.push('\n');
        }
        body
    }

    /// Parses a note text (as returned by [`NoteVerifier::verify`]) strictly.
    pub fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        let malformed = |reason| CheckpointError::MalformedCheckpoint { reason };
        if has_control_chars(text) {
            return Err(malformed("it contains a control character"));
        }
        let text = text
            .strip_suffix('\n')
            .ok_or(malformed("it does not end in a newline"))?;
        let mut lines = text.split('\n');
        let origin = lines.next().unwrap_or_default();
        let size = lines
            .next()
            .ok_or(malformed("the tree size line is missing"))?;
        let root = lines
            .next()
            .ok_or(malformed("the root hash line is missing"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if origin.is_empty() {
            return Err(malformed("the origin line is empty"));
        }
        let size = parse_decimal(size).ok_or(malformed(
            "the tree size is not a decimal number without sign or leading zeros",
        ))?;
        let root = unb64std(root)
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .ok_or(malformed(
                "the root hash is not standard base64 of 32 bytes",
            ))?;
        if extensions.iter().any(String::is_empty) {
            return Err(malformed("it contains an empty line"));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

/// Parses a u64 in canonical decimal: digits only, no leading zero unless the value is 0.
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Whether `text` holds an ASCII control character other than newline, which signed notes must
/// not contain.
pub(crate) fn has_control_chars(text: &str) -> bool {
    text.chars().any(|c| c < ' ' && c != '\n')
}

/// Key names: non-empty, no Unicode whitespace, no '+' (and no control characters, which the
/// note could not carry anyway).
pub(crate) fn check_name(name: &str) -> Result<(), CheckpointError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
    {
        return Err(CheckpointError::InvalidName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Key ID = first 4 bytes of SHA-256(name || 0x0A || alg || public key), where `alg` is the
/// signature type byte (0x01 for a note key, 0x04 for a `cosignature/v1` key).
pub(crate) fn key_id_of(name: &str, alg: u8, public_key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', alg]);
    h.update(public_key.as_bytes());
    let digest = h.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// Key ID of a note key (type 0x01).
fn key_id(name: &str, public_key: &VerifyingKey) -> [u8; 4] {
    key_id_of(name, ALG_ED25519, public_key)
}

/// The verifier key string `<name>+<8 hex key ID>+<base64(alg || public key)>`.
pub(crate) fn format_vkey(name: &str, key_id: &[u8; 4], alg: u8, public: &VerifyingKey) -> String {
    let mut key = Vec::with_capacity(33);
    key.push(alg);
    key.extend_from_slice(public.as_bytes());
    format!("{name}+{}+{}", hex(key_id), b64std(&key))
}

/// Parses `<name>+<8 lowercase hex key ID>+<base64(alg || 32-byte public key)>`, checking the
/// name, the type byte (`wrong_type` is the error for another one) and the key ID against the
/// name and key; returns the name, key ID and key.
pub(crate) fn parse_vkey(
    vkey: &str,
    alg: u8,
    wrong_type: impl FnOnce(u8) -> CheckpointError,
) -> Result<(String, [u8; 4], VerifyingKey), CheckpointError> {
    let malformed = |reason| CheckpointError::MalformedVerifierKey { reason };
    let (name, rest) = vkey
        .split_once('+')
        .ok_or(malformed("expected <name>+<key ID>+<key>"))?;
    let (id_hex, key_b64) = rest
        .split_once('+')
        .ok_or(malformed("expected <name>+<key ID>+<key>"))?;
    check_name(name)?;
    let stated = unhex::<4>(id_hex).ok_or(malformed(
        "the key ID is not 8 lowercase hexadecimal characters",
    ))?;
    let key = unb64std(key_b64).ok_or(malformed("the key is not standard base64"))?;
    let (&algorithm, public) = key.split_first().ok_or(malformed("the key is empty"))?;
    if algorithm != alg {
        return Err(wrong_type(algorithm));
    }
    let public: [u8; 32] = public
        .try_into()
        .map_err(|_| malformed("the Ed25519 public key is not 32 bytes"))?;
    let key = VerifyingKey::from_bytes(&public).map_err(|_| CheckpointError::InvalidPublicKey)?;
    if key.is_weak() {
        return Err(CheckpointError::InvalidPublicKey);
    }
    let computed = key_id_of(name, alg, &key);
    if computed != stated {
        return Err(CheckpointError::KeyIdMismatch {
            stated: hex(&stated),
            computed: hex(&computed),
        });
    }
    Ok((name.to_owned(), computed, key))
}

/// The ledger's note signer: an Ed25519 key under a key name.
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    key_id: [u8; 4],
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &hex(&self.key_id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer for key `name` (non-empty, no whitespace, no '+').
    pub fn new(name: &str, key: SigningKey) -> Result<Self, CheckpointError> {
        check_name(name)?;
        let key_id = key_id(name, &key.verifying_key());
        Ok(Self {
            name: name.to_owned(),
            key,
            key_id,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key ID.
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The verifier key string `<name>+<8 hex key ID>+<base64(0x01 || public key)>`, to publish.
    pub fn verifier_key(&self) -> String {
        format_vkey(
            &self.name,
            &self.key_id,
            ALG_ED25519,
            &self.key.verifying_key(),
        )
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// Signs a note text and returns the full signed note: text, blank line, signature line.
    ///
    /// The text should be what [`Checkpoint::to_body`] produces: it must end in a newline (one is
    /// added if missing, and is then part of what is signed) and contain no control character
    /// other than newline, or verifiers will refuse the note.
    pub fn sign(&self, body: &str) -> String {
        let mut text = body.to_owned();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let signature = self.key.sign(text.as_bytes());
        let mut blob = Vec::with_capacity(4 + 64);
        blob.extend_from_slice(&self.key_id);
        blob.extend_from_slice(&signature.to_bytes());
        format!("{text}\n{SIG_PREFIX}{} {}\n", self.name, b64std(&blob))
    }

    /// Signs a checkpoint after checking that it is well formed and that its origin is this
    /// key's name (what [`verify_checkpoint`] will require).
    pub fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> Result<String, CheckpointError> {
        let body = checkpoint.to_body();
        if Checkpoint::parse_body(&body)? != *checkpoint {
            return Err(CheckpointError::MalformedCheckpoint {
                reason: "a field contains a newline",
            });
        }
        if checkpoint.origin != self.name {
            return Err(CheckpointError::OriginMismatch {
                origin: checkpoint.origin.clone(),
                expected: self.name.clone(),
            });
        }
        Ok(self.sign(&body))
    }
}

/// A trusted Ed25519 note key, parsed from its verifier key string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: [u8; 4],
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses `<name>+<8 lowercase hex key ID>+<base64(0x01 || 32-byte public key)>`, checking
    /// the key ID against the name and key.
    pub fn parse(vkey: &str) -> Result<Self, CheckpointError> {
        let (name, key_id, key) = parse_vkey(vkey, ALG_ED25519, |algorithm| {
            CheckpointError::UnsupportedAlgorithm { algorithm }
        })?;
        Ok(Self { name, key_id, key })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key ID.
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// Verifies a signed note and returns its text (including the final newline, without the
    /// blank line).
    ///
    /// Signature lines by other keys (another name or key ID) are ignored; every line by this
    /// key must verify (strict Ed25519), and there must be at least one.
    pub fn verify(&self, note: &str) -> Result<String, CheckpointError> {
        let malformed = |reason| CheckpointError::MalformedNote { reason };
        if has_control_chars(note) {
            return Err(malformed(
                "it contains a control character other than newline",
            ));
        }
        // The text ends at the last empty line; signature lines cannot be empty.
        let split = note.rfind("\n\n").ok_or(malformed(
            "no blank line separates the text from the signatures",
        ))?;
        let text = &note[..=split];
        let sigs = &note[split + 2..];
        let sigs = sigs.strip_suffix('\n').ok_or(malformed(
            "the signature block is empty or not newline-terminated",
        ))?;
        let key_id_hex = || hex(&self.key_id);
        let mut verified = false;
        for (count, line) in sigs.split('\n').enumerate() {
            if count >= MAX_SIGNATURES {
                return Err(malformed("it has more than 100 signature lines"));
            }
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
            let (id, signature) = blob.split_at(4);
            if name != self.name || id != self.key_id {
                continue; // Another key: ignored, as the signed-note spec requires.
            }
            let invalid = || CheckpointError::InvalidSignature {
                name: self.name.clone(),
                key_id: key_id_hex(),
            };
            let signature = Signature::from_slice(signature).map_err(|_| invalid())?;
            self.key
                .verify_strict(text.as_bytes(), &signature)
                .map_err(|_| invalid())?;
            verified = true;
        }
        if !verified {
            return Err(CheckpointError::NoSignature {
                name: self.name.clone(),
                key_id: key_id_hex(),
            });
        }
        Ok(text.to_owned())
    }
}

/// Verifies a signed checkpoint with the ledger key and parses it; the origin line must be the
/// key's name.
pub fn verify_checkpoint(
    note: &str,
    verifier: &NoteVerifier,
) -> Result<Checkpoint, CheckpointError> {
    let body = verifier.verify(note)?;
    let checkpoint = Checkpoint::parse_body(&body)?;
    if checkpoint.origin != verifier.name {
        return Err(CheckpointError::OriginMismatch {
            origin: checkpoint.origin,
            expected: verifier.name.clone(),
        });
    }
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEDGER: &str = "custody.example/ledger";

    fn signer(seed: u8) -> NoteSigner {
        NoteSigner::new(LEDGER, SigningKey::from_bytes(&[seed; 32])).unwrap()
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: LEDGER.into(),
            size: 4711,
            root: [0x5a; 32],
            extensions: vec![],
        }
    }

    // Known answers from golang.org/x/mod/sumdb/note (note_test.go).
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                              then you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    fn peter_signer() -> NoteSigner {
        // PRIVATE+KEY+<name>+<key ID>+<base64(0x01 || seed)>; the base64 may contain '+'.
        let b64 = PETER_SKEY.splitn(5, '+').nth(4).unwrap();
        let raw = unb64std(b64).unwrap();
        assert_eq!(raw[0], ALG_ED25519);
        let seed: [u8; 32] = raw[1..].try_into().unwrap();
        NoteSigner::new("PeterNeumann", SigningKey::from_bytes(&seed)).unwrap()
    }

    #[test]
    fn go_note_known_answer() {
        let note = format!("{PETER_TEXT}\n{PETER_SIG}");
        let v = NoteVerifier::parse(PETER_VKEY).unwrap();
        assert_eq!(v.name(), "PeterNeumann");
        assert_eq!(v.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
        assert_eq!(v.verify(&note).unwrap(), PETER_TEXT);

        // Ed25519 is deterministic: our signer reproduces Go's note byte for byte.
        let s = peter_signer();
        assert_eq!(s.verifier_key(), PETER_VKEY);
        assert_eq!(s.sign(PETER_TEXT), note);

        // Two signatures, one of an unknown key: ignored. Both known: both checked.
        let both = format!("{PETER_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        assert_eq!(v.verify(&both).unwrap(), PETER_TEXT);
        let enoch = NoteVerifier::parse(ENOCH_VKEY).unwrap();
        assert_eq!(enoch.verify(&both).unwrap(), PETER_TEXT);
        assert!(matches!(
            enoch.verify(&note),
            Err(CheckpointError::NoSignature { .. })
        ));

        // A corrupted signature by the known key fails the whole note.
        let bad = format!(
            "{PETER_TEXT}\n{}ABCD{}{ENOCH_SIG}",
            &PETER_SIG[..60],
            &PETER_SIG[60..]
        );
        assert!(matches!(
            v.verify(&bad),
            Err(CheckpointError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn go_note_malformed_messages() {
        let v = NoteVerifier::parse(PETER_VKEY).unwrap();
        let bad = [
            PETER_TEXT.to_owned(),
            format!("{PETER_TEXT}\n"),
            format!("{PETER_TEXT}\n{}", PETER_SIG.trim_end_matches('\n')),
            format!("\x01{PETER_TEXT}\n{PETER_SIG}"),
            format!("{PETER_TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"),
            format!("{PETER_TEXT}\n{PETER_SIG}Unexpected line.\n"),
            format!("{PETER_TEXT}\n{}", PETER_SIG.repeat(101)),
            format!("{PETER_TEXT}\n{}", PETER_SIG.replacen('\u{2014}', "-", 1)),
            format!("{PETER_TEXT}\r\n{PETER_SIG}"),
        ];
        for note in bad {
            assert!(
                matches!(v.verify(&note), Err(CheckpointError::MalformedNote { .. })),
                "{note:?}: {:?}",
                v.verify(&note)
            );
        }
    }

    #[test]
    fn go_verifier_key_manglings_are_refused() {
        // As in Go's TestNewVerifier: every proper substring and every single-byte change fails.
        let b = PETER_VKEY.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i == 0 && j == b.len() {
                    continue;
                }
                let k = std::str::from_utf8(&b[i..j]).unwrap();
                assert!(NoteVerifier::parse(k).is_err(), "{k:?}");
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] += 1;
            let k = String::from_utf8(m).unwrap();
            assert!(NoteVerifier::parse(&k).is_err(), "{k:?}");
        }
        // Wrong key length and unknown algorithm, each with a key ID recomputed to match.
        assert!(NoteVerifier::parse(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
        .is_err());
        assert_eq!(
            NoteVerifier::parse(
                "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(CheckpointError::UnsupportedAlgorithm { algorithm: 0x65 })
        );
        // Uppercase key ID: one spelling only.
        assert!(matches!(
            NoteVerifier::parse(&PETER_VKEY.replace("c74f20a3", "C74F20A3")),
            Err(CheckpointError::MalformedVerifierKey { .. })
        ));
    }

    #[test]
    fn key_id_matches_hand_computation() {
        let v = NoteVerifier::parse(PETER_VKEY).unwrap();
        let raw = unb64std(PETER_VKEY.splitn(3, '+').nth(2).unwrap()).unwrap();
        let mut input = b"PeterNeumann".to_vec();
        input.push(0x0a);
        input.extend_from_slice(&raw); // 0x01 || public key
        assert_eq!(raw.len(), 33);
        let digest = Sha256::digest(&input);
        assert_eq!(v.key_id()[..], digest[..4]);
        assert_eq!(hex(&digest[..4]), "c74f20a3");

        let s = signer(9);
        let mut input = LEDGER.as_bytes().to_vec();
        input.extend_from_slice(&[0x0a, 0x01]);
        input.extend_from_slice(s.key.verifying_key().as_bytes());
        assert_eq!(s.key_id()[..], Sha256::digest(&input)[..4]);
        assert_eq!(
            s.verifier_key(),
            format!(
                "{LEDGER}+{}+{}",
                hex(&s.key_id()),
                b64std(&[&[1u8][..], s.key.verifying_key().as_bytes()].concat())
            )
        );
    }

    #[test]
    fn round_trip() {
        let s = signer(1);
        let v = NoteVerifier::parse(&s.verifier_key()).unwrap();
        assert_eq!(v, s.verifier());
        let cp = checkpoint();
        let note = s.sign_checkpoint(&cp).unwrap();
        assert!(note.starts_with(&format!(
            "{LEDGER}\n4711\n{}\n\n\u{2014} {LEDGER} ",
            b64std(&[0x5a; 32])
        )));
        assert_eq!(verify_checkpoint(&note, &v).unwrap(), cp);

        // With a random key and extension lines.
        let s = NoteSigner::new(LEDGER, SigningKey::generate(&mut rand_core::OsRng)).unwrap();
        let cp = Checkpoint {
            extensions: vec!["ext one".into(), "— two".into()],
            size: 0,
            root: crate::merkle::EMPTY_ROOT,
            ..checkpoint()
        };
        let note = s.sign(&cp.to_body());
        let got = verify_checkpoint(&note, &NoteVerifier::parse(&s.verifier_key()).unwrap());
        assert_eq!(got.unwrap(), cp);
    }

    #[test]
    fn sign_adds_missing_final_newline() {
        let s = signer(2);
        let note = s.sign("hello");
        assert_eq!(s.verifier().verify(&note).unwrap(), "hello\n");
    }

    #[test]
    fn other_key_is_refused() {
        let note = signer(1).sign_checkpoint(&checkpoint()).unwrap();
        // Same name, other key: different key ID, so the line is ignored and none is left.
        let err = verify_checkpoint(&note, &signer(2).verifier()).unwrap_err();
        assert!(matches!(err, CheckpointError::NoSignature { .. }), "{err}");
        assert!(err
            .to_string()
            .starts_with("signed note has no signature by key custody.example/ledger+"));
    }

    #[test]
    fn modified_checkpoint_is_refused() {
        let s = signer(1);
        let v = s.verifier();
        let note = s.sign_checkpoint(&checkpoint()).unwrap();
        let tampered = [
            note.replacen("4711", "4712", 1),
            note.replacen(&b64std(&[0x5a; 32]), &b64std(&[0x5b; 32]), 1),
            note.replacen("custody.example/ledger\n", "custody.example/ledgeR\n", 1),
            note.replacen("\n\n", "\nextra\n\n", 1),
        ];
        for t in tampered {
            assert_ne!(t, note);
            assert!(
                matches!(
                    verify_checkpoint(&t, &v),
                    Err(CheckpointError::InvalidSignature { .. })
                ),
                "{t}"
            );
        }
    }

    #[test]
    fn missing_blank_line_is_refused() {
        let s = signer(1);
        let note = s.sign_checkpoint(&checkpoint()).unwrap();
        let joined = note.replacen("\n\n", "\n", 1);
        assert_eq!(
            verify_checkpoint(&joined, &s.verifier()),
            Err(CheckpointError::MalformedNote {
                reason: "no blank line separates the text from the signatures"
            })
        );
    }

    #[test]
    fn wrong_key_id_is_refused() {
        let s = signer(1);
        let note = s.sign_checkpoint(&checkpoint()).unwrap();
        let (text, line) = note.split_once("\n\n").unwrap();
        let b64 = line.trim_end().rsplit(' ').next().unwrap();
        let mut blob = unb64std(b64).unwrap();
        blob[0] ^= 1;
        let forged = format!("{text}\n\n\u{2014} {LEDGER} {}\n", b64std(&blob));
        assert!(matches!(
            verify_checkpoint(&forged, &s.verifier()),
            Err(CheckpointError::NoSignature { .. })
        ));
    }

    #[test]
    fn tampered_verifier_key_is_refused() {
        let s = signer(1);
        let vkey = s.verifier_key();
        // Another name with the same key and ID.
        let renamed = vkey.replacen(LEDGER, "custody.example/other", 1);
        assert!(matches!(
            NoteVerifier::parse(&renamed),
            Err(CheckpointError::KeyIdMismatch { .. })
        ));
        // Another key with the same name and ID.
        let other = signer(2).verifier_key();
        let other_key = other.splitn(3, '+').nth(2).unwrap();
        let swapped = format!("{LEDGER}+{}+{other_key}", hex(&s.key_id()));
        let err = NoteVerifier::parse(&swapped).unwrap_err();
        assert!(err.to_string().starts_with("verifier key ID "), "{err}");
        // Structure.
        for bad in [
            "",
            "name",
            "name+01020304",
            "+01020304+AQ==",
            "a b+01020304+AQ==",
        ] {
            assert!(NoteVerifier::parse(bad).is_err(), "{bad:?}");
        }
        // A small-order public key (the identity point) with a correct key ID is refused.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = VerifyingKey::from_bytes(&identity).unwrap();
        let vkey = format!(
            "weak+{}+{}",
            hex(&key_id("weak", &weak)),
            b64std(&[&[1u8][..], &identity].concat())
        );
        assert_eq!(
            NoteVerifier::parse(&vkey),
            Err(CheckpointError::InvalidPublicKey)
        );
    }

    #[test]
    fn origin_must_be_the_key_name() {
        let s = NoteSigner::new("other.example/log", SigningKey::from_bytes(&[3; 32])).unwrap();
        // sign_checkpoint refuses; a raw signature is refused by the verifier.
        assert!(matches!(
            s.sign_checkpoint(&checkpoint()),
            Err(CheckpointError::OriginMismatch { .. })
        ));
        let note = s.sign(&checkpoint().to_body());
        assert_eq!(
            verify_checkpoint(&note, &s.verifier()),
            Err(CheckpointError::OriginMismatch {
                origin: LEDGER.into(),
                expected: "other.example/log".into()
            })
        );
    }

    #[test]
    fn invalid_names_are_refused() {
        for name in ["", "a b", "a+b", "a\tb", "a\u{a0}b", "a\nb"] {
            assert!(
                matches!(
                    NoteSigner::new(name, SigningKey::from_bytes(&[1; 32])),
                    Err(CheckpointError::InvalidName { .. })
                ),
                "{name:?}"
            );
        }
    }

    #[test]
    fn body_parsing_is_strict() {
        let root = b64std(&[7u8; 32]);
        let ok = Checkpoint::parse_body(&format!("o\n0\n{root}\n")).unwrap();
        assert_eq!(ok.size, 0);
        let ok =
            Checkpoint::parse_body(&format!("o\n18446744073709551615\n{root}\nx\ny\n")).unwrap();
        assert_eq!(ok.size, u64::MAX);
        assert_eq!(ok.extensions, ["x", "y"]);
        for bad in [
            format!("o\n1\n{root}"),
            format!("\n1\n{root}\n"),
            "o\n1\n".to_owned(),
            "o\n".to_owned(),
            String::new(),
            format!("o\n01\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n 1\n{root}\n"),
            format!("o\n\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            format!("o\n1\n{}\n", root.trim_end_matches('=')),
            format!("o\n1\n{}\n", b64std(&[7u8; 31])),
            format!("o\n1\n{}\n", crate::encoding::b64url(&[0xff; 32])),
            format!("o\n1\n{root}\n\n"),
            format!("o\n1\n{root}\nx\n\ny\n"),
            format!("o\n1\n{root}\r\n"),
        ] {
            assert!(
                matches!(
                    Checkpoint::parse_body(&bad),
                    Err(CheckpointError::MalformedCheckpoint { .. })
                ),
                "{bad:?}"
            );
        }
        // A body that cannot round-trip is not signed.
        let cp = Checkpoint {
            extensions: vec![String::new()],
            ..checkpoint()
        };
        assert!(signer(1).sign_checkpoint(&cp).is_err());
        let cp = Checkpoint {
            extensions: vec!["a\nb".into()],
            ..checkpoint()
        };
        assert!(signer(1).sign_checkpoint(&cp).is_err());
    }

    #[test]
    fn debug_does_not_print_the_key() {
        let s = signer(1);
        let dbg = format!("{s:?}");
        assert!(dbg.contains(LEDGER) && !dbg.contains("SigningKey"), "{dbg}");
    }
}
