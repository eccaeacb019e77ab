//! The event record of wire format v1: `header`, `hash`, `signature` and an optional salted
//! `payload`.
//!
//! Parsing is exact: a record has one accepted spelling of each field, so the header that is
//! re-canonicalised for hashing is byte for byte the header that was received. The canonical
//! bytes are produced only by [`crate::jcs`].

use serde_json::{Map, Value};

use crate::encoding::{b64url, unb64url};
use crate::facts::Facts;
use crate::hash::Hash;
use crate::ids::{is_valid_chain_id, is_valid_ledger_name};
use crate::jcs;
use crate::keys::{PublicKeyId, SecretKey};
use crate::kinds::EventKind;
use crate::time::Timestamp;

pub use crate::hash::Hash as EventHash;

/// The only version of the format this crate reads and writes.
pub const FORMAT_VERSION: u64 = 1;
/// Domain separation prefix of the signed message: the signature covers these bytes followed by
/// the 32 raw bytes of the event hash.
pub const SIGNATURE_CONTEXT: &[u8] = b"custody-ledger/event/v1\n";
/// Minimum number of random salt bytes in a payload.
pub const MIN_SALT_BYTES: usize = 16;
/// Largest JSON integer the format accepts (2^53 - 1).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The signed part of an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version, always 1.
    pub v: u64,
    /// Name of the ledger the record belongs to (the origin of its checkpoints): a record
    /// signed for one ledger is refused by every other (rule `ledger`).
    pub ledger: String,
    /// Chain id: `authority` or `d-` + lowercase ULID.
    pub chain: String,
    /// 0-based position in the chain.
    pub seq: u64,
    /// Hash of the previous event of the chain; `None` when `seq` is 0.
    pub prev: Option<Hash>,
    /// Event kind.
    pub kind: EventKind,
    /// When the fact happened.
    pub occurred_at: Timestamp,
    /// When it was recorded (signed).
    pub recorded_at: Timestamp,
    /// Id of the acting agency.
    pub agency: String,
    /// Public key of the signer.
    pub signer: PublicKeyId,
    /// SHA-256 of the canonical payload.
    pub payload_digest: Hash,
    /// The public facts of the body that later rules need ([`crate::facts`]).
    pub facts: Facts,
}

/// The salted payload: `{"salt": ..., "body": {...}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    /// At least 16 random bytes, unpadded base64url.
    pub salt: String,
    /// The kind-specific body (a JSON object).
    pub body: Value,
}

/// One event record as it travels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The signed header.
    pub header: Header,
    /// SHA-256 of the canonical header, as claimed by the record.
    pub hash: Hash,
    /// Ed25519 signature over [`SIGNATURE_CONTEXT`] + hash.
    pub signature: [u8; 64],
    /// The payload, unless withheld or redacted.
    pub payload: Option<Payload>,
}

/// Why a record is not well formed. `field` is a JSON Pointer into the record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The text is not acceptable JSON (syntax, duplicate key, depth).
    #[error("record is not acceptable JSON: {0}")]
    Json(#[from] jcs::JsonError),
    /// A number that is not an integer in the safe range.
    #[error("record has a {0}")]
    Number(#[from] jcs::NumberError),
    /// A field is missing.
    #[error("{field} is missing")]
    Missing {
        /// Where.
        field: String,
    },
    /// A field that the format does not define.
    #[error("{field} is not a field of wire format v1")]
    Unknown {
        /// Where.
        field: String,
    },
    /// A field has the wrong type or spelling.
    #[error("{field} {problem}")]
    Invalid {
        /// Where.
        field: String,
        /// What is wrong, then what is expected.
        problem: String,
    },
}

fn invalid(field: &str, problem: impl Into<String>) -> FormatError {
    FormatError::Invalid {
        field: field.to_string(),
        problem: problem.into(),
    }
}

fn exact_object<'a>(
    v: &'a Value,
    field: &str,
    required: &[&str],
    optional: &[&str],
) -> Result<&'a Map<String, Value>, FormatError> {
    let obj = v
        .as_object()
        .ok_or_else(|| invalid(field, "must be a JSON object"))?;
    for key in obj.keys() {
        if !required.contains(&key.as_str()) && !optional.contains(&key.as_str()) {
            return Err(FormatError::Unknown {
                field: format!("{field}/{key}"),
            });
        }
    }
    for key in required {
        if !obj.contains_key(*key) {
            return Err(FormatError::Missing {
                field: format!("{field}/{key}"),
            });
        }
    }
    Ok(obj)
}

fn get_str<'a>(
    obj: &'a Map<String, Value>,
    parent: &str,
    key: &str,
) -> Result<&'a str, FormatError> {
    obj.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(&format!("{parent}/{key}"), "must be a string"))
}

fn get_uint(obj: &Map<String, Value>, parent: &str, key: &str) -> Result<u64, FormatError> {
    obj.get(key)
        .and_then(Value::as_u64)
        .filter(|n| *n <= MAX_SAFE_INTEGER)
        .ok_or_else(|| {
            invalid(
                &format!("{parent}/{key}"),
                "must be a non-negative integer of at most 2^53-1",
            )
        })
}

impl Header {
    /// Parses a header from its JSON value, refusing any other spelling.
    pub fn from_value(v: &Value) -> Result<Self, FormatError> {
        const F: &str = "/header";
        let o = exact_object(
            v,
            F,
            &[
                "v",
                "ledger",
                "chain",
                "seq",
                "prev",
                "kind",
                "occurred_at",
                "recorded_at",
                "agency",
                "signer",
                "payload_digest",
                "facts",
            ],
            &[],
        )?;
        let version = get_uint(o, F, "v")?;
        if version != FORMAT_VERSION {
            return Err(invalid(
                "/header/v",
                format!("is {version}: only version 1 is defined"),
            ));
        }
        let ledger = get_str(o, F, "ledger")?;
        if !is_valid_ledger_name(ledger) {
            return Err(invalid(
                "/header/ledger",
                format!(
                    "{:?} is not a ledger name: 1-255 characters of printable ASCII, no space, no +",
                    crate::encoding::excerpt(ledger)
                ),
            ));
        }
        let chain = get_str(o, F, "chain")?;
        if !is_valid_chain_id(chain) {
            return Err(invalid(
                "/header/chain",
                format!("{chain:?} is not a chain id: expected \"authority\" or d- followed by a 26-character lowercase ULID"),
            ));
        }
        let seq = get_uint(o, F, "seq")?;
        let prev = match o.get("prev") {
            Some(Value::Null) => None,
            Some(Value::String(s)) => Some(
                s.parse::<Hash>()
                    .map_err(|e| invalid("/header/prev", e.to_string()))?,
            ),
            _ => return Err(invalid("/header/prev", "must be a hash or null")),
        };
        let kind = get_str(o, F, "kind")?
            .parse::<EventKind>()
            .map_err(|e| invalid("/header/kind", e.to_string()))?;
        let ts = |key: &str| -> Result<Timestamp, FormatError> {
            Timestamp::parse(get_str(o, F, key)?)
                .map_err(|e| invalid(&format!("{F}/{key}"), e.to_string()))
        };
        let occurred_at = ts("occurred_at")?;
        let recorded_at = ts("recorded_at")?;
        let agency = get_str(o, F, "agency")?;
        if !crate::ids::is_valid_slug(agency) {
            return Err(invalid(
                "/header/agency",
                format!("{agency:?} is not an agency id: 2-64 characters of a-z, 0-9 and -"),
            ));
        }
        let signer = get_str(o, F, "signer")?
            .parse::<PublicKeyId>()
            .map_err(|e| invalid("/header/signer", e.to_string()))?;
        let payload_digest = get_str(o, F, "payload_digest")?
            .parse::<Hash>()
            .map_err(|e| invalid("/header/payload_digest", e.to_string()))?;
        let facts = Facts::from_value(kind, &o["facts"])?;
        Ok(Header {
            v: version,
            ledger: ledger.to_string(),
            chain: chain.to_string(),
            seq,
            prev,
            kind,
            occurred_at,
            recorded_at,
            agency: agency.to_string(),
            signer,
            payload_digest,
            facts,
        })
    }

    /// The header as a JSON value.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("v".into(), Value::from(self.v));
        m.insert("ledger".into(), Value::from(self.ledger.clone()));
        m.insert("chain".into(), Value::from(self.chain.clone()));
        m.insert("seq".into(), Value::from(self.seq));
        m.insert(
            "prev".into(),
            self.prev.map_or(Value::Null, |h| Value::from(h.to_hex())),
        );
        m.insert("kind".into(), Value::from(self.kind.as_str()));
        m.insert("occurred_at".into(), Value::from(self.occurred_at.as_str()));
        m.insert("recorded_at".into(), Value::from(self.recorded_at.as_str()));
        m.insert("agency".into(), Value::from(self.agency.clone()));
        m.insert("signer".into(), Value::from(self.signer.to_string()));
        m.insert(
            "payload_digest".into(),
            Value::from(self.payload_digest.to_hex()),
        );
        m.insert("facts".into(), self.facts.to_value());
        Value::Object(m)
    }

    /// RFC 8785 canonical bytes of the header: the bytes that are hashed.
    ///
    /// The same bytes as `jcs::canonicalize(&self.to_value())`, written straight from the
    /// fields (members in canonical order) without building the JSON value: this runs once per
    /// record verified. A test compares both forms on every kind.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        // Member names in RFC 8785 order (all ASCII, so byte order is UTF-16 order).
        out.extend_from_slice(b"{\"agency\":");
        jcs::write_string(&self.agency, &mut out);
        out.extend_from_slice(b",\"chain\":");
        jcs::write_string(&self.chain, &mut out);
        out.extend_from_slice(b",\"facts\":");
        self.facts.canonicalize_into(&mut out);
        out.extend_from_slice(b",\"kind\":");
        jcs::write_string(self.kind.as_str(), &mut out);
        out.extend_from_slice(b",\"ledger\":");
        jcs::write_string(&self.ledger, &mut out);
        out.extend_from_slice(b",\"occurred_at\":");
        jcs::write_string(self.occurred_at.as_str(), &mut out);
        out.extend_from_slice(b",\"payload_digest\":\"");
        out.extend_from_slice(self.payload_digest.to_hex().as_bytes());
        out.extend_from_slice(b"\",\"prev\":");
        match &self.prev {
            Some(h) => {
                out.push(b'"');
                out.extend_from_slice(h.to_hex().as_bytes());
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"recorded_at\":");
        jcs::write_string(self.recorded_at.as_str(), &mut out);
        out.extend_from_slice(b",\"seq\":");
        jcs::write_uint(self.seq, &mut out);
        out.extend_from_slice(b",\"signer\":");
        jcs::write_string(&self.signer.to_string(), &mut out);
        out.extend_from_slice(b",\"v\":");
        jcs::write_uint(self.v, &mut out);
        out.push(b'}');
        out
    }

    /// The event hash: SHA-256 of the canonical header.
    pub fn compute_hash(&self) -> Hash {
        Hash::of(&self.canonical_bytes())
    }
}

/// The message an event signature covers: [`SIGNATURE_CONTEXT`] followed by the raw hash.
pub fn signed_message(hash: &Hash) -> [u8; SIGNATURE_CONTEXT.len() + 32] {
    let mut m = [0u8; SIGNATURE_CONTEXT.len() + 32];
    m[..SIGNATURE_CONTEXT.len()].copy_from_slice(SIGNATURE_CONTEXT);
    m[SIGNATURE_CONTEXT.len()..].copy_from_slice(hash.as_bytes());
    m
}

impl Payload {
    /// Builds a payload from salt bytes and a body.
    pub fn new(salt: &[u8], body: Value) -> Self {
        Payload {
            salt: b64url(salt),
            body,
        }
    }

    /// Parses a payload value: exactly `salt` and `body`.
    pub fn from_value(v: &Value) -> Result<Self, FormatError> {
        Self::from_owned(v.clone())
    }

    /// [`Payload::from_value`] of an owned value: the body is moved, not copied.
    pub fn from_owned(mut v: Value) -> Result<Self, FormatError> {
        const F: &str = "/payload";
        exact_object(&v, F, &["salt", "body"], &[])?;
        let body = v
            .as_object_mut()
            .and_then(|o| o.remove("body"))
            .unwrap_or(Value::Null);
        let o = exact_object(&v, F, &["salt"], &[])?;
        let salt = get_str(o, F, "salt")?;
        match unb64url(salt) {
            Some(bytes) if bytes.len() >= MIN_SALT_BYTES => {}
            _ => {
                return Err(invalid(
                    "/payload/salt",
                    "must be at least 16 random bytes written as unpadded base64url",
                ))
            }
        }
        if !body.is_object() {
            return Err(invalid("/payload/body", "must be a JSON object"));
        }
        Ok(Payload {
            salt: salt.to_string(),
            body,
        })
    }

    /// The payload as a JSON value.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("salt".into(), Value::from(self.salt.clone()));
        m.insert("body".into(), self.body.clone());
        Value::Object(m)
    }

    /// RFC 8785 canonical bytes of the payload: the bytes digested and size-limited.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // Writing the two members directly avoids cloning the body; "body" < "salt".
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"{\"body\":");
        jcs::canonicalize_into(&self.body, &mut out);
        out.extend_from_slice(b",\"salt\":");
        jcs::canonicalize_into(&Value::from(self.salt.as_str()), &mut out);
        out.push(b'}');
        out
    }

    /// SHA-256 of the canonical payload.
    pub fn digest(&self) -> Hash {
        Hash::of(&self.canonical_bytes())
    }
}

impl Record {
    /// Parses one record from JSON text (one JSONL line).
    pub fn from_json(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut v = jcs::parse_strict(bytes)?;
        // The payload is moved out of the parsed value rather than copied: its body can be the
        // larger part of the record.
        let payload = v.as_object_mut().and_then(|o| o.remove("payload"));
        Self::from_parts(&v, payload).map_err(|e| match e {
            // Name a refused number as it was written, not as the double it was parsed to.
            FormatError::Number(n) => FormatError::Number(n.as_sent(bytes)),
            other => other,
        })
    }

    /// Parses one record from a JSON value.
    pub fn from_value(v: &Value) -> Result<Self, FormatError> {
        Self::from_parts(v, v.get("payload").cloned())
    }

    /// Parses a record from its value with the `payload` member, if any, given apart (owned).
    fn from_parts(v: &Value, payload: Option<Value>) -> Result<Self, FormatError> {
        jcs::check_integers_only(v)?;
        if let Some(p) = &payload {
            // Checked after the header, as in the canonical order of the record's members.
            jcs::check_integers_only(p).map_err(|mut e| {
                e.path.insert_str(0, "/payload");
                e
            })?;
        }
        let o = exact_object(v, "", &["header", "hash", "signature"], &["payload"])?;
        let header = Header::from_value(&o["header"])?;
        let hash = get_str(o, "", "hash")?
            .parse::<Hash>()
            .map_err(|e| invalid("/hash", e.to_string()))?;
        let sig_text = get_str(o, "", "signature")?;
        let signature: [u8; 64] = unb64url(sig_text)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                invalid(
                    "/signature",
                    "must be 64 bytes written as unpadded base64url (86 characters)",
                )
            })?;
        let payload = payload.map(Payload::from_owned).transpose()?;
        Ok(Record {
            header,
            hash,
            signature,
            payload,
        })
    }

    /// The record as a JSON value.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("header".into(), self.header.to_value());
        m.insert("hash".into(), Value::from(self.hash.to_hex()));
        m.insert("signature".into(), Value::from(b64url(&self.signature)));
        if let Some(p) = &self.payload {
            m.insert("payload".into(), p.to_value());
        }
        Value::Object(m)
    }

    /// The record as one canonical JSON line (no trailing newline): the form of JSONL exports
    /// and test vectors.
    pub fn to_json_line(&self) -> String {
        // Canonical JSON is UTF-8 by construction.
        String::from_utf8_lossy(&jcs::canonicalize(&self.to_value())).into_owned()
    }

    /// The same record without its payload (header, hash and signature still verify).
    pub fn without_payload(&self) -> Record {
        Record {
            payload: None,
            ..self.clone()
        }
    }
}

/// An event not yet signed: everything the author decides.
#[derive(Clone, Debug)]
pub struct Draft {
    /// Name of the ledger the record is for.
    pub ledger: String,
    /// Chain id.
    pub chain: String,
    /// Position in the chain.
    pub seq: u64,
    /// Hash of the chain's previous event.
    pub prev: Option<Hash>,
    /// Kind.
    pub kind: EventKind,
    /// When the fact happened.
    pub occurred_at: Timestamp,
    /// When it is recorded.
    pub recorded_at: Timestamp,
    /// Acting agency.
    pub agency: String,
    /// Kind-specific body (JSON object).
    pub body: Value,
}

impl Draft {
    /// Signs the draft with a key and a salt of at least [`MIN_SALT_BYTES`] random bytes (the
    /// core does no I/O: callers bring the randomness). The header's facts are the projection
    /// of the body ([`Facts::project`]).
    pub fn sign(self, key: &SecretKey, salt: &[u8]) -> Record {
        let facts = Facts::project(self.kind, &self.body);
        let payload = Payload::new(salt, self.body);
        let header = Header {
            v: FORMAT_VERSION,
            ledger: self.ledger,
            chain: self.chain,
            seq: self.seq,
            prev: self.prev,
            kind: self.kind,
            occurred_at: self.occurred_at,
            recorded_at: self.recorded_at,
            agency: self.agency,
            signer: key.public(),
            payload_digest: payload.digest(),
            facts,
        };
        let hash = header.compute_hash();
        let signature = key.sign(&signed_message(&hash));
        Record {
            header,
            hash,
            signature,
            payload: Some(payload),
        }
    }
}
