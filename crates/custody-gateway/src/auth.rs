//! Request signatures: how a reader proves which enrolled key it holds.
//!
//! Appends need no request signature (the record is itself signed and validated); every read
//! does, because what a reader may see depends on who it is. A signed request carries three
//! headers:
//!
//! | header | value |
//! |---|---|
//! | `Custody-Key` | the reader's public key, `ed25519:` + base64url (as on the wire) |
//! | `Custody-Date` | the client's clock, RFC 3339 UTC as in the wire format (`2025-03-01T09:30:00Z`) |
//! | `Custody-Signature` | unpadded base64url of the Ed25519 signature over the message below |
//!
//! The signed message is ASCII text, each part followed by a line feed except the last:
//!
//! ```text
//! custody-ledger/request/v1
//! <METHOD>
//! <path and query, exactly as sent, e.g. /v1/chains/d-01j...?x=1>
//! <Custody-Date, exactly as sent>
//! <lowercase hex SHA-256 of the request body (of the empty string for a GET)>
//! ```
//!
//! The server accepts the request when the signature verifies strictly (the `verify_strict`
//! rules of the wire format), the date is within [`MAX_CLOCK_SKEW_SECS`] of the server clock,
//! and the key is a trust root of the ledger or an enrolled key valid now (not yet valid,
//! expired and revoked keys are refused). The signature is checked before the key is looked
//! up, so only the holder of a key learns whether it is enrolled.
//!
//! Design notes: the domain prefix keeps a request signature from ever being mistaken for an
//! event signature (which signs `custody-ledger/event/v1` + a hash). Binding method, path,
//! date and body hash means a captured signature cannot be moved to another resource; within
//! the skew window it can be replayed to fetch the same resource again, which is why the
//! gateway is meant to run behind TLS and why reads are idempotent.
//!
//! The signed message is defined once, in [`custody_core::request::signing_message`]; clients
//! sign with `custody_client::sign_request` (crate `custody-client`). This module only
//! verifies, through one function: [`verify_request`], which the gateway's read routes call.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use custody_core::authority::{AuthorityState, KeyStatusProblem};
use custody_core::encoding::unb64url;
use custody_core::request::signing_message;
pub use custody_core::request::{HEADER_DATE, HEADER_KEY, HEADER_SIGNATURE, REQUEST_CONTEXT};
use custody_core::{AuthRule, PublicKeyId, Role, Rule, Timestamp};
use custody_ledger::Ledger;

/// How far `Custody-Date` may be from the server clock, either way, in seconds.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

/// The current time of the system clock, in whole seconds, as a wire timestamp.
pub fn system_now() -> Timestamp {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Timestamp::from_unix_seconds(secs)
}

/// Why a read was not authenticated. Every case answers HTTP 401; the message says which check
/// failed and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A signature header is absent.
    #[error("the request is not signed: header {0} is missing (reads need Custody-Key, Custody-Date and Custody-Signature, see docs/API.md)")]
    MissingHeader(&'static str),
    /// A signature header is not of the expected form.
    #[error("header {header} is malformed: {problem}")]
    Malformed {
        /// The header.
        header: &'static str,
        /// What is wrong, then what is expected.
        problem: String,
    },
    /// `Custody-Date` is too far from the server clock.
    #[error("Custody-Date {date} is {skew_secs} s away from the server clock {now}, over the limit of {max_secs} s: check the client clock and sign again")]
    DateSkew {
        /// The date sent.
        date: Timestamp,
        /// The server clock.
        now: Timestamp,
        /// The difference in seconds.
        skew_secs: i64,
        /// The limit.
        max_secs: i64,
    },
    /// The signature does not verify.
    #[error("Custody-Signature does not verify under key {key} for this method, path, date and body: sign exactly what is sent")]
    BadSignature {
        /// The key claimed.
        key: PublicKeyId,
    },
    /// The key is neither enrolled nor a trust root.
    #[error(
        "key {key} is not an enrolled key of this ledger: enroll it on the authority chain first"
    )]
    UnknownKey {
        /// The key.
        key: PublicKeyId,
    },
    /// The key is enrolled but its validity has not started.
    #[error("key {key} is not valid yet: its validity starts at {from}")]
    KeyNotYetValid {
        /// The key.
        key: PublicKeyId,
        /// Start of validity.
        from: Timestamp,
    },
    /// The key's validity has ended.
    #[error("key {key} expired at {until}: enroll a new key")]
    KeyExpired {
        /// The key.
        key: PublicKeyId,
        /// End of validity.
        until: Timestamp,
    },
    /// The key is revoked.
    #[error("key {key} was revoked from {from}: enroll a new key")]
    KeyRevoked {
        /// The key.
        key: PublicKeyId,
        /// Revocation instant.
        from: Timestamp,
    },
}

impl AuthError {
    /// The stable code of the check that failed: a [`Rule::Auth`] (`auth/missing_header`,
    /// `auth/date`, ...).
    pub fn rule(&self) -> Rule {
        Rule::Auth(match self {
            AuthError::MissingHeader(_) => AuthRule::MissingHeader,
            AuthError::Malformed { .. } => AuthRule::MalformedHeader,
            AuthError::DateSkew { .. } => AuthRule::Date,
            AuthError::BadSignature { .. } => AuthRule::Signature,
            AuthError::UnknownKey { .. } => AuthRule::UnknownKey,
            AuthError::KeyNotYetValid { .. } => AuthRule::KeyNotYetValid,
            AuthError::KeyExpired { .. } => AuthRule::KeyExpired,
            AuthError::KeyRevoked { .. } => AuthRule::KeyRevoked,
        })
    }
}

/// An authenticated reader: the key that signed the request and what it is enrolled as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reader {
    /// The key.
    pub key: PublicKeyId,
    /// The agency the key is enrolled for (a trust root's own agency).
    pub agency: String,
    /// Roles held (none for a trust root: roots administer the authority chain and read
    /// detainee headers only).
    pub roles: Vec<Role>,
    /// Whether the key is a trust root rather than an enrolled key.
    pub trust_root: bool,
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, AuthError> {
    let value = headers.get(name).ok_or(AuthError::MissingHeader(name))?;
    value.to_str().map_err(|_| AuthError::Malformed {
        header: name,
        problem: "it is not visible ASCII".to_string(),
    })
}

/// Checks the signature and the date of a request; returns the key that signed it. Does not
/// look at whether the key is enrolled ([`authorize`] does).
fn verify_signature(
    headers: &HeaderMap,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    now: &Timestamp,
) -> Result<PublicKeyId, AuthError> {
    let key_text = header(headers, HEADER_KEY)?;
    let date_text = header(headers, HEADER_DATE)?;
    let sig_text = header(headers, HEADER_SIGNATURE)?;
    let key: PublicKeyId = key_text.parse().map_err(|e| AuthError::Malformed {
        header: HEADER_KEY,
        problem: format!("{e}"),
    })?;
    let date = Timestamp::parse(date_text).map_err(|e| AuthError::Malformed {
        header: HEADER_DATE,
        problem: format!("{e}"),
    })?;
    let signature: [u8; 64] = unb64url(sig_text)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| AuthError::Malformed {
            header: HEADER_SIGNATURE,
            problem: "expected 64 bytes written as unpadded base64url (86 characters)".to_string(),
        })?;
    let skew_secs = (date.unix_seconds() - now.unix_seconds()).abs();
    if skew_secs > MAX_CLOCK_SKEW_SECS {
        return Err(AuthError::DateSkew {
            date,
            now: now.clone(),
            skew_secs,
            max_secs: MAX_CLOCK_SKEW_SECS,
        });
    }
    let message = signing_message(method, path_and_query, date_text, body);
    key.verify(&message, &signature)
        .map_err(|_| AuthError::BadSignature { key })?;
    Ok(key)
}

/// Decides who a verified key is: a trust root, or an enrolled key valid at `now`.
fn authorize(
    authority: &AuthorityState,
    key: &PublicKeyId,
    now: &Timestamp,
) -> Result<Reader, AuthError> {
    if let Some(info) = authority.keys.get(key) {
        info.check_valid_at(now).map_err(|p| match p {
            KeyStatusProblem::NotYetValid(from) => AuthError::KeyNotYetValid { key: *key, from },
            KeyStatusProblem::Expired(until) => AuthError::KeyExpired { key: *key, until },
            KeyStatusProblem::Revoked(from) => AuthError::KeyRevoked { key: *key, from },
        })?;
        return Ok(Reader {
            key: *key,
            agency: info.agency.clone(),
            roles: info.roles.clone(),
            trust_root: false,
        });
    }
    if let Some(root) = authority.trust.root(key) {
        return Ok(Reader {
            key: *key,
            agency: root.agency.clone(),
            roles: Vec::new(),
            trust_root: true,
        });
    }
    Err(AuthError::UnknownKey { key: *key })
}

/// Verifies a signed request and identifies its reader: the one path of every signed read.
///
/// The signature and the date are checked first, without the ledger's state (the signature
/// is most of the cost and depends on the request alone); then the key is looked up in the
/// validation state: a trust root, or an enrolled key valid at `now`. `path_and_query` and
/// `body` are exactly what was received.
pub async fn verify_request(
    ledger: &Ledger,
    now: &Timestamp,
    headers: &HeaderMap,
    method: &str,
    path_and_query: &str,
    body: &[u8],
) -> Result<Reader, AuthError> {
    let key = verify_signature(headers, method, path_and_query, body, now)?;
    ledger
        .with_state(|v| authorize(v.authority(), &key, now))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    use custody_core::encoding::b64url;
    use custody_core::SecretKey;

    /// What a client sends (the client crate's `sign_request`, written out here so that the
    /// gateway's unit tests do not depend on the client).
    fn sign_request(
        key: &SecretKey,
        method: &str,
        path: &str,
        date: &Timestamp,
        body: &[u8],
    ) -> Vec<(&'static str, String)> {
        let signature = key.sign(&signing_message(method, path, date.as_str(), body));
        vec![
            (HEADER_KEY, key.public().to_string()),
            (HEADER_DATE, date.as_str().to_string()),
            (HEADER_SIGNATURE, b64url(&signature)),
        ]
    }

    fn headers_of(pairs: Vec<(&'static str, String)>) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k, HeaderValue::from_str(&v).unwrap());
        }
        h
    }

    #[test]
    fn sign_then_verify_and_tamper() {
        let key = SecretKey::from_seed([9; 32]);
        let now = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
        let h = headers_of(sign_request(&key, "GET", "/v1/chains/x", &now, b""));
        assert_eq!(
            verify_signature(&h, "GET", "/v1/chains/x", b"", &now),
            Ok(key.public())
        );
        assert!(matches!(
            verify_signature(&h, "GET", "/v1/chains/y", b"", &now),
            Err(AuthError::BadSignature { .. })
        ));
        assert!(matches!(
            verify_signature(&h, "POST", "/v1/chains/x", b"", &now),
            Err(AuthError::BadSignature { .. })
        ));
        assert!(matches!(
            verify_signature(&h, "GET", "/v1/chains/x", b"x", &now),
            Err(AuthError::BadSignature { .. })
        ));
        let later = now.plus_seconds(301);
        assert!(matches!(
            verify_signature(&h, "GET", "/v1/chains/x", b"", &later),
            Err(AuthError::DateSkew { skew_secs: 301, .. })
        ));
        assert!(verify_signature(&h, "GET", "/v1/chains/x", b"", &now.plus_seconds(300)).is_ok());
        let mut missing = h.clone();
        missing.remove(HEADER_DATE);
        assert_eq!(
            verify_signature(&missing, "GET", "/v1/chains/x", b"", &now),
            Err(AuthError::MissingHeader(HEADER_DATE))
        );
    }

    #[test]
    fn unknown_keys_are_refused_and_roots_have_no_roles() {
        use custody_core::authority::{TrustAnchors, TrustRoot};
        let root = SecretKey::from_seed([1; 32]).public();
        let now = Timestamp::parse("2025-01-01T00:00:00Z").unwrap();
        let state = AuthorityState::new(TrustAnchors {
            ledger: "test.ml/custody".to_string(),
            roots: vec![TrustRoot {
                key: root,
                agency: "ml-root".to_string(),
            }],
        });
        let r = authorize(&state, &root, &now).unwrap();
        assert!(r.trust_root && r.roles.is_empty() && r.agency == "ml-root");
        let other = SecretKey::from_seed([2; 32]).public();
        assert_eq!(
            authorize(&state, &other, &now),
            Err(AuthError::UnknownKey { key: other })
        );
    }
}
