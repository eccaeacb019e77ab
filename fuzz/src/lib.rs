//! Shared set-up of the fuzz targets: the published test vectors (`tests/vectors/v1`), compiled
//! in, and what each target checks its input against (the vector ledger's validation state,
//! its keys, its roots at every size, its witnesses).
//!
//! Every target has one rule beyond "no panic": whatever a parser accepts, it accepts in one
//! spelling only, so writing the parsed value back gives the input again, and parsing that
//! gives the same value.

use std::sync::OnceLock;

use custody_core::authority::TrustAnchors;
use custody_core::checkpoint::NoteVerifier;
use custody_core::cosignature::CosignatureVerifier;
use custody_core::merkle::{leaf_hash, Digest, Frontier};
use custody_core::validate::{Validator, ValidatorConfig};
use custody_core::{Record, SecretKey, Timestamp};
use serde_json::Value;

/// `records.jsonl`: the vector ledger, one canonical record per line.
pub const RECORDS: &str = include_str!("../../tests/vectors/v1/records.jsonl");
/// `trust.json`: the ledger's name and root keys.
pub const TRUST: &str = include_str!("../../tests/vectors/v1/trust.json");
/// `ledger.vkey`: the checkpoint verifier key (with its final newline).
pub const LEDGER_VKEY: &str = include_str!("../../tests/vectors/v1/ledger.vkey");
/// `cosignatures.json`: the witnesses' vkeys and cosigned notes.
pub const COSIGNATURES: &str = include_str!("../../tests/vectors/v1/cosignatures.json");
/// `medical.key`: the demo medical key the packet vector's sealed payloads are addressed to.
pub const MEDICAL_KEY: &str = include_str!("../../tests/vectors/v1/medical.key");
/// `notes.json`: signed notes with their verifier keys.
pub const NOTES: &str = include_str!("../../tests/vectors/v1/notes.json");

/// The vector ledger's records, in ledger order.
pub fn records() -> &'static [Record] {
    static R: OnceLock<Vec<Record>> = OnceLock::new();
    R.get_or_init(|| {
        RECORDS
            .lines()
            .map(|l| Record::from_json(l.as_bytes()).expect("records.jsonl parses"))
            .collect()
    })
}

/// The vector ledger's trust anchors.
pub fn trust() -> TrustAnchors {
    serde_json::from_str(TRUST).expect("trust.json parses")
}

/// The validation state after every vector record.
pub fn validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| {
        let mut v = Validator::new(trust(), ValidatorConfig::default());
        for r in records() {
            v.append(r, None).expect("the vector ledger validates");
        }
        v
    })
}

/// The clock the targets validate at: the last vector record's `recorded_at`.
pub fn now() -> Timestamp {
    records()
        .last()
        .expect("the vector ledger is not empty")
        .header
        .recorded_at
        .clone()
}

/// The secret keys of the vector world (the root key and every key holder's), to re-sign a
/// fuzzed record so that it passes the signature check and reaches the state rules.
pub fn keys() -> &'static [SecretKey] {
    static K: OnceLock<Vec<SecretKey>> = OnceLock::new();
    K.get_or_init(|| {
        let s = custody_scenario::build(&custody_scenario::vectors::VECTOR_CONFIG)
            .expect("the vector world builds");
        let mut keys = vec![s.root_key.clone()];
        keys.extend(s.actors.iter().map(|a| a.key.clone()));
        keys
    })
}

/// The ledger's checkpoint verifier.
pub fn ledger_verifier() -> &'static NoteVerifier {
    static N: OnceLock<NoteVerifier> = OnceLock::new();
    N.get_or_init(|| NoteVerifier::parse(LEDGER_VKEY.trim()).expect("ledger.vkey parses"))
}

/// Every note key of the vectors: the ledger's and those of `notes.json` (one has a `+` in
/// its base64).
pub fn note_verifiers() -> &'static [NoteVerifier] {
    static N: OnceLock<Vec<NoteVerifier>> = OnceLock::new();
    N.get_or_init(|| {
        let v: Value = serde_json::from_str(NOTES).expect("notes.json parses");
        let mut keys = vec![ledger_verifier().clone()];
        for note in v["notes"].as_array().expect("notes.json lists notes") {
            if let Some(k) = note["vkey"]
                .as_str()
                .and_then(|k| NoteVerifier::parse(k).ok())
            {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        keys
    })
}

/// The vector witnesses.
pub fn witnesses() -> &'static [CosignatureVerifier] {
    static W: OnceLock<Vec<CosignatureVerifier>> = OnceLock::new();
    W.get_or_init(|| {
        let v: Value = serde_json::from_str(COSIGNATURES).expect("cosignatures.json parses");
        v["witnesses"]
            .as_array()
            .expect("cosignatures.json lists witnesses")
            .iter()
            .map(|w| {
                let vkey = w.as_str().expect("a witness vkey is a string");
                CosignatureVerifier::parse(vkey).expect("a witness vkey parses")
            })
            .collect()
    })
}

/// The vector ledger's root at every size from 0 to its length.
pub fn roots() -> &'static [Digest] {
    static R: OnceLock<Vec<Digest>> = OnceLock::new();
    R.get_or_init(|| {
        let mut f = Frontier::new();
        let mut roots = vec![f.root()];
        for r in records() {
            f.push(leaf_hash(r.hash.as_bytes()));
            roots.push(f.root());
        }
        roots
    })
}

/// The root at `size`, or a fixed wrong one beyond the vector ledger.
pub fn root_at(size: u64) -> Digest {
    usize::try_from(size)
        .ok()
        .and_then(|s| roots().get(s).copied())
        .unwrap_or([0x5a; 32])
}

/// The vector medical key.
pub fn medical_key() -> SecretKey {
    let doc: Value = serde_json::from_str(MEDICAL_KEY).expect("medical.key parses");
    let seed = doc["seed"]
        .as_str()
        .and_then(custody_core::encoding::unb64url)
        .and_then(|s| <[u8; 32]>::try_from(s.as_slice()).ok())
        .expect("medical.key holds a 32-byte seed");
    SecretKey::from_seed(seed)
}

/// Builds everything above once, before the first input (libFuzzer's `init`), so that no
/// input is charged with the set-up (building the vector world signs every record: seconds,
/// more than the time-out of one input on a loaded machine).
pub fn warm_up() {
    let _ = (
        validator(),
        keys(),
        note_verifiers(),
        witnesses(),
        roots(),
        now(),
    );
}
