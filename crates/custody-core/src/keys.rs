//! Ed25519 keys: the `ed25519:` public key id used on the wire, and secret keys that sign.
//!
//! Verification is strict (`verify_strict`): non-canonical signatures and small-order ("weak")
//! public keys are refused, so one message has one valid signature per key.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::encoding::{b64url, unb64url};

/// Prefix of a public key id.
pub const KEY_PREFIX: &str = "ed25519:";

/// A public key as written on the wire: `ed25519:` + unpadded base64url of the 32 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKeyId([u8; 32]);

/// Why a public key id was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not `ed25519:` + 43 characters of unpadded base64url.
    #[error(
        "key {0:?} is not written as ed25519: followed by 43 characters of unpadded base64url"
    )]
    Malformed(String),
    /// The bytes are not a point on the curve.
    #[error("key {0} is not a valid Ed25519 public key")]
    NotOnCurve(String),
    /// The key has small order: any signature could verify with it.
    #[error("key {0} is a weak (small-order) Ed25519 key and is refused")]
    Weak(String),
    /// The bytes decode to a point, but are not that point's canonical encoding (y >= p, or
    /// the sign bit set with x = 0): one key would have several spellings.
    #[error("key {0} is not the canonical encoding of its Ed25519 point and is refused")]
    NonCanonical(String),
}

impl PublicKeyId {
    /// The key's 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Builds an id from raw bytes (not checked; [`PublicKeyId::verifying_key`] checks).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        PublicKeyId(bytes)
    }

    /// The usable verifying key: on the curve and not of small order.
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        let vk = VerifyingKey::from_bytes(&self.0)
            .map_err(|_| KeyError::NotOnCurve(self.to_string()))?;
        if vk.is_weak() {
            return Err(KeyError::Weak(self.to_string()));
        }
        if vk.to_edwards().compress().to_bytes() != self.0 {
            return Err(KeyError::NonCanonical(self.to_string()));
        }
        Ok(vk)
    }

    /// Verifies a signature over `message` strictly.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> Result<(), SignatureError> {
        let vk = self.verifying_key().map_err(SignatureError::Key)?;
        vk.verify_strict(message, &Signature::from_bytes(signature))
            .map_err(|_| SignatureError::Invalid)
    }
}

/// Why a signature did not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signer's key is unusable.
    #[error(transparent)]
    Key(KeyError),
    /// The signature does not verify under the key.
    #[error("signature does not verify under the signer's key")]
    Invalid,
}

impl FromStr for PublicKeyId {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let bytes = s
            .strip_prefix(KEY_PREFIX)
            .and_then(unb64url)
            .ok_or_else(|| KeyError::Malformed(s.to_string()))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError::Malformed(s.to_string()))?;
        Ok(PublicKeyId(arr))
    }
}

impl fmt::Display for PublicKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{KEY_PREFIX}{}", b64url(&self.0))
    }
}

impl fmt::Debug for PublicKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for PublicKeyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PublicKeyId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A secret Ed25519 signing key. Its `Debug` never prints the secret.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// The key derived from a 32-byte seed (RFC 8032 secret key).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        SecretKey(SigningKey::from_bytes(&seed))
    }

    /// The 32-byte seed, for writing a key file.
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public key id.
    pub fn public(&self) -> PublicKeyId {
        PublicKeyId(self.0.verifying_key().to_bytes())
    }

    /// Signs a message.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    /// The underlying `ed25519-dalek` key (for checkpoint signing).
    pub fn signing_key(&self) -> &SigningKey {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.public())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_spelling() {
        let k = SecretKey::from_seed([7; 32]);
        let id = k.public();
        let text = id.to_string();
        assert!(text.starts_with("ed25519:") && text.len() == 8 + 43);
        assert_eq!(text.parse::<PublicKeyId>().unwrap(), id);
        let sig = k.sign(b"hello");
        assert!(id.verify(b"hello", &sig).is_ok());
        assert_eq!(id.verify(b"hellp", &sig), Err(SignatureError::Invalid));
        assert!(format!("{k:?}").contains("ed25519:"));
    }

    /// The encodings of `y + p` for small `y`: the same points as `y`, spelled non-canonically.
    pub(crate) fn non_canonical_encodings() -> impl Iterator<Item = [u8; 32]> {
        (2u8..=18).map(|y| {
            let mut b = [0xffu8; 32];
            b[0] = 0xed + y;
            b[31] = 0x7f;
            b
        })
    }

    #[test]
    fn non_canonical_keys_refused() {
        let mut seen = 0;
        for b in non_canonical_encodings() {
            if ed25519_dalek::VerifyingKey::from_bytes(&b).is_ok_and(|vk| !vk.is_weak()) {
                let id = PublicKeyId::from_bytes(b);
                assert!(
                    matches!(id.verifying_key(), Err(KeyError::NonCanonical(_))),
                    "{id}"
                );
                seen += 1;
            }
        }
        // The library itself accepts such encodings, so the check above is what refuses them.
        assert!(seen > 0, "no non-canonical point among y + p, y in 2..=18");
    }

    #[test]
    fn weak_and_malformed_keys_refused() {
        // The identity point (small order) encodes as 0x01 followed by zeros.
        let mut weak = [0u8; 32];
        weak[0] = 1;
        let id = PublicKeyId::from_bytes(weak);
        assert!(matches!(id.verifying_key(), Err(KeyError::Weak(_))));
        assert!("ed25519:abc".parse::<PublicKeyId>().is_err());
        assert!("ed25519:".parse::<PublicKeyId>().is_err());
        let k = SecretKey::from_seed([1; 32]).public().to_string();
        assert!(k
            .replace("ed25519:", "ed448:")
            .parse::<PublicKeyId>()
            .is_err());
    }
}
