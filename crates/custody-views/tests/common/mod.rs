//! Signed records of one chain built from the schema examples, for the report tests.
#![allow(dead_code)]

use std::path::Path;

use custody_core::ids::detainee_chain_id;
use custody_core::{Draft, EventKind as K, Hash, Record, SecretKey, Timestamp};
use serde_json::Value;

/// The first valid example body of a kind (schemas/examples).
pub fn example(kind: &str) -> Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../schemas/examples")
        .join(kind);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("valid-"))
        })
        .collect();
    files.sort();
    serde_json::from_str(&std::fs::read_to_string(&files[0]).expect("read")).expect("json")
}

/// A chain being written.
pub struct Chain {
    /// Its id.
    pub id: String,
    seq: u64,
    prev: Option<Hash>,
    /// Its records so far.
    pub records: Vec<Record>,
}

impl Chain {
    /// A new chain, numbered `n`.
    pub fn new(n: u128) -> Chain {
        Chain {
            id: detainee_chain_id((0x018c_c000_0000u128 << 80) | n),
            seq: 0,
            prev: None,
            records: Vec::new(),
        }
    }

    /// Appends a record of `kind` at `at` by `agency`, its example body changed by `edit`.
    pub fn add(&mut self, kind: K, at: &str, agency: &str, edit: impl FnOnce(&mut Value)) -> Hash {
        let mut body = example(kind.as_str());
        edit(&mut body);
        let at = Timestamp::parse(at).expect("instant");
        let r = Draft {
            ledger: "views-test.example.ml".to_string(),
            chain: self.id.clone(),
            seq: self.seq,
            prev: self.prev,
            kind,
            occurred_at: at.clone(),
            recorded_at: at,
            agency: agency.to_string(),
            body,
        }
        .sign(&SecretKey::from_seed([7; 32]), &[self.seq as u8; 16]);
        self.seq += 1;
        self.prev = Some(r.hash);
        let h = r.hash;
        self.records.push(r);
        h
    }
}

/// Sets a member of a JSON object.
pub fn set(body: &mut Value, field: &str, v: Value) {
    body[field] = v;
}
