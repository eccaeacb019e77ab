//! Streaming verification of a ledger: records in ledger order go through a fresh
//! [`Validator`] and their leaf hashes into a Merkle [`Frontier`].
//!
//! Memory holds the validator's authority and per-chain state and at most 64 tree hashes, never
//! the records themselves, so a file of any length is verified line by line. The verifier can
//! also remember the root at one earlier size, to check a checkpoint for a smaller tree.

use std::io::BufRead;

use custody_core::authority::TrustAnchors;
use custody_core::merkle::{leaf_hash, Digest, Frontier};
use custody_core::validate::{ValidationError, Validator, ValidatorConfig};
use custody_core::{Record, Timestamp};
use serde_json::{json, Value};

/// The first record that failed.
#[derive(Clone, Debug)]
pub struct Failure {
    /// 1-based line of the file, when verifying a file.
    pub line: Option<u64>,
    /// Ledger position (0-based leaf index) the record would have had.
    pub position: u64,
    /// The record's hash, when it could be read.
    pub hash: Option<String>,
    /// Stable rule code (`format`, `hash`, `signature`, `state/custody_gap`...).
    pub rule: String,
    /// What is wrong.
    pub message: String,
}

impl Failure {
    /// The failure as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "line": self.line,
            "position": self.position,
            "hash": self.hash,
            "rule": self.rule,
            "message": self.message,
        })
    }

    /// One human line: where, which record, which rule, why.
    pub fn describe(&self) -> String {
        let place = match self.line {
            Some(line) => format!("line {line} (position {})", self.position),
            None => format!("position {}", self.position),
        };
        let hash = self.hash.as_deref().unwrap_or("unreadable");
        format!(
            "{place}: record {hash} refused ({}): {}",
            self.rule, self.message
        )
    }
}

/// Counts and roots of what was verified.
#[derive(Clone, Debug)]
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
    /// The root at the remembered size, once reached.
    pub root_at_mark: Option<Digest>,
}

/// A streaming ledger verifier.
#[derive(Debug)]
pub struct StreamVerifier {
    validator: Validator,
    frontier: Frontier,
    now: Option<Timestamp>,
    authority_records: u64,
    headers_only: u64,
    mark: Option<u64>,
    root_at_mark: Option<Digest>,
}

impl StreamVerifier {
    /// A verifier of a ledger with these trust anchors. `now` is the clock of the future-time
    /// rule (`None` skips it). `mark`: remember the root when the tree reaches this size.
    pub fn new(trust: TrustAnchors, now: Option<Timestamp>, mark: Option<u64>) -> Self {
        let root_at_mark = (mark == Some(0)).then(|| Frontier::new().root());
        StreamVerifier {
            validator: Validator::new(trust, ValidatorConfig::default()),
            frontier: Frontier::new(),
            now,
            authority_records: 0,
            headers_only: 0,
            mark,
            root_at_mark,
        }
    }

    /// Remembers only these look-back targets (see `Validator::remember_only`).
    pub fn remember_only(&mut self, targets: std::collections::HashSet<custody_core::Hash>) {
        self.validator.remember_only(targets);
    }

    /// Number of records accepted so far.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// Validates the next record and adds it to the tree.
    pub fn push(&mut self, record: &Record) -> Result<(), ValidationError> {
        self.validator.append(record, self.now.as_ref())?;
        self.frontier.push(leaf_hash(record.hash.as_bytes()));
        if record.header.chain == custody_core::ids::AUTHORITY_CHAIN {
            self.authority_records += 1;
        }
        if record.payload.is_none() {
            self.headers_only += 1;
        }
        if self.mark == Some(self.frontier.size()) {
            self.root_at_mark = Some(self.frontier.root());
        }
        Ok(())
    }

    /// The failure report of a record refused at the next position.
    pub fn failure(
        &self,
        line: Option<u64>,
        hash: Option<String>,
        err: &ValidationError,
    ) -> Failure {
        Failure {
            line,
            position: self.size(),
            hash,
            rule: err.rule(),
            message: err.to_string(),
        }
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
            chains: self.validator.chains().count(),
            headers_only: self.headers_only,
            root: self.frontier.root(),
            root_at_mark: self.root_at_mark,
        }
    }

    /// Verifies a JSONL stream line by line, stopping at the first failure. I/O errors are
    /// returned as errors; refused records as `Ok(Some(failure))`.
    pub fn verify_lines(&mut self, mut input: impl BufRead) -> anyhow::Result<Option<Failure>> {
        let mut buf = Vec::with_capacity(4096);
        let mut line_no = 0u64;
        let mut blank_line = None;
        loop {
            buf.clear();
            let n = input.read_until(b'\n', &mut buf)?;
            if n == 0 {
                return Ok(None);
            }
            line_no += 1;
            let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            if text.iter().all(u8::is_ascii_whitespace) {
                // Blank lines are tolerated at the end of a file only.
                blank_line.get_or_insert(line_no);
                continue;
            }
            if let Some(blank) = blank_line {
                return Ok(Some(Failure {
                    line: Some(blank),
                    position: self.size(),
                    hash: None,
                    rule: "format".into(),
                    message: "the line is empty: a JSONL export holds one record per line".into(),
                }));
            }
            let record = match Record::from_json(text) {
                Ok(r) => r,
                Err(e) => {
                    let err = ValidationError::Format(e);
                    return Ok(Some(self.failure(Some(line_no), claimed_hash(text), &err)));
                }
            };
            if let Err(e) = self.push(&record) {
                return Ok(Some(self.failure(
                    Some(line_no),
                    Some(record.hash.to_hex()),
                    &e,
                )));
            }
        }
    }
}

/// The `hash` a malformed line claims, if it can be read at all.
fn claimed_hash(text: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(text).ok()?;
    v.get("hash")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_core::authority::TrustRoot;
    use custody_core::kinds::EventKind;
    use custody_core::{Draft, SecretKey};

    fn agency(root: &SecretKey, seq: u64, prev: Option<custody_core::Hash>, id: &str) -> Record {
        let t = Timestamp::from_unix_seconds(1_700_000_000);
        Draft {
            ledger: "test.ml/custody".into(),
            chain: "authority".into(),
            seq,
            prev,
            kind: EventKind::AgencyRegistered,
            occurred_at: t.clone(),
            recorded_at: t,
            agency: "ml-justice".into(),
            body: json!({"id": id, "name": "Agency", "type": "police", "country": "ML"}),
        }
        .sign(root, &[7; 16])
    }

    #[test]
    fn streams_and_reports_the_failing_line() {
        let root = SecretKey::from_seed([3; 32]);
        let trust = TrustAnchors {
            ledger: "test.ml/custody".into(),
            roots: vec![TrustRoot {
                key: root.public(),
                agency: "ml-justice".into(),
            }],
        };
        let a = agency(&root, 0, None, "ml-police-one");
        let b = agency(&root, 1, Some(a.hash), "ml-police-two");
        let good = format!("{}\n{}\n", a.to_json_line(), b.to_json_line());
        let mut v = StreamVerifier::new(trust.clone(), None, Some(1));
        assert!(v.verify_lines(good.as_bytes()).unwrap().is_none());
        let s = v.summary();
        assert_eq!((s.records, s.authority_records), (2, 2));
        assert!(s.root_at_mark.is_some());

        let bad = good.replace("ml-police-two", "ml-police-tw0");
        let mut v = StreamVerifier::new(trust, None, None);
        let f = v.verify_lines(bad.as_bytes()).unwrap().unwrap();
        assert_eq!(f.line, Some(2));
        assert_eq!(f.position, 1);
        assert_eq!(f.rule, "payload_digest");
    }
}
