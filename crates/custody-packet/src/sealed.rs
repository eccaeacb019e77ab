//! Sealed payloads: a restricted payload (medical screening, risk assessment) travels encrypted
//! to the receiving facility's medical staff, in the [age](https://age-encryption.org/v1)
//! format, so that only a holder of one of their keys reads it (docs/SPEC.md section 18.5).
//!
//! We write no cryptography: the `age` crate encrypts to `ssh-ed25519` recipients, and the
//! ledger's keys are Ed25519 keys. This module only spells our keys the way OpenSSH does:
//!
//! - a public key becomes the OpenSSH public key line `ssh-ed25519 <base64 of the SSH wire
//!   encoding: string "ssh-ed25519", string key>` ([`ssh_public_line`]), parsed by
//!   `age::ssh::Recipient::from_str`;
//! - a secret key becomes an unencrypted OpenSSH private key (`openssh-key-v1`, PEM armour)
//!   built in memory from its seed and public key ([`openssh_private_key`]), parsed by
//!   `age::ssh::Identity::from_buffer`. It is never written to disk.
//!
//! The plaintext is the payload's exact canonical bytes (section 6: the salted payload object),
//! so that a receiver checks it against the signed header's `payload_digest` exactly as a clear
//! payload.

use std::io::{Read, Write};
use std::str::FromStr;

use custody_core::encoding::b64std;
use custody_core::{Hash, Payload, PublicKeyId, SecretKey};

use crate::format::MAX_SMALL_SECTION;

const SSH_ED25519: &[u8] = b"ssh-ed25519";

/// Why a payload could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// A key could not be made an age recipient or identity.
    #[error("key {0} cannot be used with age: {1}")]
    Key(String, String),
    /// Encryption failed.
    #[error("cannot encrypt: {0}")]
    Encrypt(String),
    /// The body is not an age file.
    #[error("the sealed section is not an age file: {0}")]
    NotAge(String),
    /// The age file is not encrypted to the key.
    #[error("it is not encrypted to this key")]
    NotForKey,
    /// Decryption failed (a changed file, a wrong key).
    #[error("it does not decrypt: {0}")]
    Decrypt(String),
    /// The plaintext is not a canonical payload.
    #[error("its plaintext is not a payload in canonical form: {0}")]
    NotPayload(String),
    /// The plaintext is a payload, but not the one the header names.
    #[error("its plaintext has digest {got}, not the payload digest {want} of its header")]
    Digest {
        /// Digest of the plaintext.
        got: Hash,
        /// The header's `payload_digest`.
        want: Hash,
    },
}

fn ssh_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The SSH wire encoding of an Ed25519 public key (RFC 8709): `string "ssh-ed25519"`,
/// `string key`.
fn ssh_public_blob(key: &PublicKeyId) -> Vec<u8> {
    let mut blob = Vec::with_capacity(51);
    ssh_string(&mut blob, SSH_ED25519);
    ssh_string(&mut blob, key.as_bytes());
    blob
}

/// The OpenSSH public key line of an Ed25519 key: `ssh-ed25519 <base64>`.
pub fn ssh_public_line(key: &PublicKeyId) -> String {
    format!("ssh-ed25519 {}", b64std(&ssh_public_blob(key)))
}

/// The age recipient of an Ed25519 public key.
pub fn recipient(key: &PublicKeyId) -> Result<age::ssh::Recipient, SealError> {
    age::ssh::Recipient::from_str(&ssh_public_line(key))
        .map_err(|e| SealError::Key(key.to_string(), format!("{e:?}")))
}

/// An unencrypted OpenSSH private key (PROTOCOL.key, `openssh-key-v1`) of an Ed25519 secret
/// key, PEM armoured: `AUTH_MAGIC`, cipher `none`, kdf `none`, empty kdf options, one key, its
/// public blob, then the private section: two equal check integers, `string "ssh-ed25519"`,
/// `string public`, `string seed || public`, `string comment` (empty), and the padding 1, 2,
/// 3... to a multiple of 8 bytes.
pub fn openssh_private_key(key: &SecretKey) -> String {
    let public = key.public();
    let mut private = Vec::with_capacity(128);
    private.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]); // checkint twice (unencrypted)
    ssh_string(&mut private, SSH_ED25519);
    ssh_string(&mut private, public.as_bytes());
    let mut pair = key.seed().to_vec();
    pair.extend_from_slice(public.as_bytes());
    ssh_string(&mut private, &pair);
    ssh_string(&mut private, b"");
    let mut pad = 1u8;
    while private.len() % 8 != 0 {
        private.push(pad);
        pad += 1;
    }
    let mut bytes = b"openssh-key-v1\0".to_vec();
    ssh_string(&mut bytes, b"none");
    ssh_string(&mut bytes, b"none");
    ssh_string(&mut bytes, b"");
    bytes.extend_from_slice(&1u32.to_be_bytes());
    ssh_string(&mut bytes, &ssh_public_blob(&public));
    ssh_string(&mut bytes, &private);
    let b64 = b64std(&bytes);
    let mut pem = String::from("-----BEGIN OPENSSH PRIVATE KEY-----\n");
    for line in b64.as_bytes().chunks(70) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END OPENSSH PRIVATE KEY-----\n");
    pem
}

/// The age identity of an Ed25519 secret key.
pub fn identity(key: &SecretKey) -> Result<age::ssh::Identity, SealError> {
    let pem = openssh_private_key(key);
    let identity = age::ssh::Identity::from_buffer(pem.as_bytes(), None)
        .map_err(|e| SealError::Key(key.public().to_string(), e.to_string()))?;
    match identity {
        age::ssh::Identity::Unencrypted(_) => Ok(identity),
        _ => Err(SealError::Key(
            key.public().to_string(),
            "age does not read it as an unencrypted ssh-ed25519 key".into(),
        )),
    }
}

/// Encrypts `plaintext` to every key of `recipients` (at least one): a binary age file.
pub fn seal(plaintext: &[u8], recipients: &[PublicKeyId]) -> Result<Vec<u8>, SealError> {
    let recipients: Vec<age::ssh::Recipient> =
        recipients.iter().map(recipient).collect::<Result<_, _>>()?;
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| SealError::Encrypt(e.to_string()))?;
    let mut out = Vec::with_capacity(plaintext.len() + 512);
    let mut w = encryptor
        .wrap_output(&mut out)
        .map_err(|e| SealError::Encrypt(e.to_string()))?;
    w.write_all(plaintext)
        .and_then(|()| w.finish().map(|_| ()))
        .map_err(|e| SealError::Encrypt(e.to_string()))?;
    Ok(out)
}

/// Checks that `body` is an age file (its header parses), without a key.
pub fn check_age(body: &[u8]) -> Result<(), SealError> {
    age::Decryptor::new_buffered(body)
        .map(|_| ())
        .map_err(|e| SealError::NotAge(e.to_string()))
}

/// Decrypts an age file with `key`: the plaintext (at most the size of a packet section).
pub fn open(body: &[u8], key: &SecretKey) -> Result<Vec<u8>, SealError> {
    let identity = identity(key)?;
    let decryptor =
        age::Decryptor::new_buffered(body).map_err(|e| SealError::NotAge(e.to_string()))?;
    let reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => SealError::NotForKey,
            e => SealError::Decrypt(e.to_string()),
        })?;
    let mut plaintext = Vec::new();
    reader
        .take(MAX_SMALL_SECTION + 1)
        .read_to_end(&mut plaintext)
        .map_err(|e| SealError::Decrypt(e.to_string()))?;
    if plaintext.len() as u64 > MAX_SMALL_SECTION {
        return Err(SealError::NotPayload(format!(
            "more than {MAX_SMALL_SECTION} bytes"
        )));
    }
    Ok(plaintext)
}

/// Parses a plaintext strictly as a payload in canonical form and checks it against the
/// header's `payload_digest`.
pub fn payload_of(plaintext: &[u8], payload_digest: &Hash) -> Result<Payload, SealError> {
    let value = custody_core::jcs::parse_strict(plaintext)
        .map_err(|e| SealError::NotPayload(e.to_string()))?;
    let payload = Payload::from_owned(value).map_err(|e| SealError::NotPayload(e.to_string()))?;
    let canonical = payload.canonical_bytes();
    if canonical != plaintext {
        return Err(SealError::NotPayload(
            "it is not written in canonical form (section 3)".into(),
        ));
    }
    let got = Hash::of(&canonical);
    if &got != payload_digest {
        return Err(SealError::Digest {
            got,
            want: *payload_digest,
        });
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_public_line_is_openssh_s() {
        // RFC 8709 / OpenSSH: the blob of a key is 51 bytes, so its base64 starts with the
        // fixed prefix of `string "ssh-ed25519"` and the length 32.
        let line = ssh_public_line(&SecretKey::from_seed([7; 32]).public());
        assert!(
            line.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"),
            "{line}"
        );
        assert_eq!(line.len(), "ssh-ed25519 ".len() + 68);
    }

    #[test]
    fn the_private_key_is_read_by_age_and_opens_what_was_sealed_to_its_public_key() {
        let key = SecretKey::from_seed([1; 32]);
        let other = SecretKey::from_seed([2; 32]);
        let third = SecretKey::from_seed([3; 32]);
        let pem = openssh_private_key(&key);
        assert!(pem.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
        assert!(identity(&key).is_ok());

        let payload = Payload::new(&[9; 16], json!({"findings": "fit for detention"}));
        let plaintext = payload.canonical_bytes();
        let sealed = seal(&plaintext, &[key.public(), third.public()]).unwrap();
        assert!(!sealed.windows(b"fit for".len()).any(|w| w == b"fit for"));
        check_age(&sealed).unwrap();
        // Each recipient opens it; another key does not.
        assert_eq!(open(&sealed, &key).unwrap(), plaintext);
        assert_eq!(open(&sealed, &third).unwrap(), plaintext);
        assert!(matches!(open(&sealed, &other), Err(SealError::NotForKey)));
        let opened = payload_of(&open(&sealed, &key).unwrap(), &payload.digest()).unwrap();
        assert_eq!(opened, payload);

        // A changed byte of the ciphertext does not decrypt.
        let mut changed = sealed.clone();
        let at = changed.len() - 3;
        changed[at] ^= 1;
        assert!(matches!(open(&changed, &key), Err(SealError::Decrypt(_))));
        // Not an age file at all.
        assert!(matches!(check_age(b"hello"), Err(SealError::NotAge(_))));
    }

    #[test]
    fn a_plaintext_is_checked_strictly_against_the_header() {
        let payload = Payload::new(&[9; 16], json!({"a": 1}));
        let other = Payload::new(&[8; 16], json!({"a": 1}));
        assert!(matches!(
            payload_of(&payload.canonical_bytes(), &other.digest()),
            Err(SealError::Digest { .. })
        ));
        let spaced = String::from_utf8(payload.canonical_bytes())
            .unwrap()
            .replace(':', ": ");
        assert!(matches!(
            payload_of(spaced.as_bytes(), &payload.digest()),
            Err(SealError::NotPayload(_))
        ));
        assert!(matches!(
            payload_of(b"{\"body\":{}}", &payload.digest()),
            Err(SealError::NotPayload(_))
        ));
    }
}
