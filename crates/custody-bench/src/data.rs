//! Benchmark data: one valid ledger of a requested size, generated once and cached as JSONL.
//!
//! # Why chains are copied
//!
//! `custody_scenario::build` walks detainee `i` from an arrest `3 * i` days after the first
//! one, and enrols every key for three years; past about 230 detainees (seed 1), records are
//! signed after the keys expire and the build fails with `key_expired`. A ledger of a million
//! events (about 50,000 detainees) cannot come from one scenario, and several scenarios with
//! different seeds would have different authority chains, so they are not one ledger.
//!
//! So the data is one scenario of [`BASE_DETAINEES`] detainees (authority chain, agencies, keys,
//! every path), and then copies of its detainee chains: copy `k` of a chain has a new chain
//! id (same ULID time, other random bits), and each of its records is signed again by the same
//! enrolled key with the same kind, times, agency and body, a fresh salt, and its references
//! (`prev`, and hashes or chain ids inside the body such as `release_event`, `corrects`,
//! `other_chain`) pointing into the same copy. The ledger order is the scenario's, each
//! detainee record followed by its copies, so every chain stays in chain order and times never
//! go back. Every record is validated as it is written: the file is a valid ledger or no file
//! is written.
//!
//! The authority chain is never copied: one ledger, one authority chain, 34 records.
//!
//! # Cache
//!
//! `<cache>/ledger-<events>.jsonl` (canonical JSON lines, with payloads), with
//! `ledger-<events>.meta.json` (ledger name, trust anchors, checkpoint verifier key, how the
//! file was made) and `ledger-<events>.trust.json` (for `custody verify --trust`). The files
//! are written under temporary names and renamed at the end, so an interrupted generation
//! leaves no half file behind. Delete the directory to regenerate.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use custody_core::checkpoint::NoteSigner;
use custody_core::ids::{detainee_chain_id, AUTHORITY_CHAIN};
use custody_core::validate::{Validator, ValidatorConfig};
use custody_core::{Draft, Hash, PublicKeyId, Record, SecretKey};
use custody_ledger::LedgerMeta;
use custody_scenario::{Scenario, ScenarioConfig};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Detainees of the scenario whose chains are copied (it builds up to about 230 with seed 1).
pub const BASE_DETAINEES: usize = 200;
/// Seed of the scenario.
pub const SEED: u64 = 1;
/// Version of the generation procedure: part of the metadata, checked when a cache is read.
const GENERATOR: &str = "custody-bench/ledger/v1";

/// How a cached ledger was made, stored next to it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LedgerInfo {
    /// Generation procedure ([`GENERATOR`]).
    pub generator: String,
    /// Name, trust anchors and verifier key, for `Ledger::init`.
    pub meta: LedgerMeta,
    /// Records in the file.
    pub events: u64,
    /// Records of the authority chain (all at the start).
    pub authority_events: u64,
    /// Detainee chains.
    pub chains: u64,
    /// Detainees of the scenario.
    pub base_detainees: usize,
    /// Copies of each scenario chain (1: the scenario itself).
    pub copies: usize,
    /// Seconds the generation took.
    pub generation_secs: f64,
}

/// A ledger file ready to read.
#[derive(Clone, Debug)]
pub struct LedgerFile {
    /// The JSONL file.
    pub path: PathBuf,
    /// The trust anchors (`trust.json`).
    pub trust_path: PathBuf,
    /// How it was made.
    pub info: LedgerInfo,
    /// Time spent generating it in this run (`None`: read from the cache).
    pub generated_now: Option<Duration>,
}

/// Number of authority records of the scenario (every ledger starts with them).
pub fn authority_events() -> anyhow::Result<usize> {
    let s = build_base(0)?;
    Ok(s.records.len())
}

/// The benchmark's scenario with `detainees` detainees (its authority chain and key holders).
pub fn build_base(detainees: usize) -> anyhow::Result<Scenario> {
    custody_scenario::build(&ScenarioConfig {
        seed: SEED,
        detainees,
    })
    .map_err(|e| anyhow::anyhow!("the scenario of {detainees} detainees does not build: {e}"))
}

/// Whether the ledger of exactly `events` records is in the cache (made by this version of the
/// harness): [`ensure_ledger`] then only reads it.
pub fn is_cached(cache: &Path, events: usize) -> bool {
    let meta_path = cache.join(format!("ledger-{events}.meta.json"));
    cache.join(format!("ledger-{events}.jsonl")).is_file()
        && cache.join(format!("ledger-{events}.trust.json")).is_file()
        && fs::read_to_string(&meta_path)
            .ok()
            .and_then(|text| serde_json::from_str::<LedgerInfo>(&text).ok())
            .is_some_and(|info| info.generator == GENERATOR && info.events == events as u64)
}

/// The cached ledger of exactly `events` records, generated first if needed.
pub fn ensure_ledger(cache: &Path, events: usize) -> anyhow::Result<LedgerFile> {
    let path = cache.join(format!("ledger-{events}.jsonl"));
    let meta_path = cache.join(format!("ledger-{events}.meta.json"));
    let trust_path = cache.join(format!("ledger-{events}.trust.json"));
    if path.is_file() && meta_path.is_file() && trust_path.is_file() {
        let text = fs::read_to_string(&meta_path)
            .with_context(|| format!("cannot read {}", meta_path.display()))?;
        match serde_json::from_str::<LedgerInfo>(&text) {
            Ok(info) if info.generator == GENERATOR && info.events == events as u64 => {
                return Ok(LedgerFile {
                    path,
                    trust_path,
                    info,
                    generated_now: None,
                });
            }
            _ => eprintln!(
                "{} is from another version of this harness: generating again",
                meta_path.display()
            ),
        }
    }
    fs::create_dir_all(cache).with_context(|| format!("cannot create {}", cache.display()))?;
    let start = Instant::now();
    let tmp = cache.join(format!("ledger-{events}.jsonl.tmp"));
    let mut info = match generate(&tmp, events) {
        Ok(info) => info,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let took = start.elapsed();
    info.generation_secs = took.as_secs_f64();
    write_json(&trust_path, &info.meta.trust)?;
    fs::rename(&tmp, &path).with_context(|| format!("cannot rename {}", tmp.display()))?;
    write_json(&meta_path, &info)?;
    Ok(LedgerFile {
        path,
        trust_path,
        info,
        generated_now: Some(took),
    })
}

/// The first `events` records of a ledger file, as a file of their own (cached).
pub fn ensure_prefix(full: &LedgerFile, events: usize) -> anyhow::Result<LedgerFile> {
    let stem = full
        .path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("ledger");
    let dir = full.path.parent().unwrap_or(Path::new("."));
    let path = dir.join(format!("{stem}.first-{events}.jsonl"));
    if !path.is_file() {
        let tmp = path.with_extension("jsonl.tmp");
        let input = BufReader::new(
            File::open(&full.path)
                .with_context(|| format!("cannot open {}", full.path.display()))?,
        );
        let mut out = BufWriter::new(
            File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?,
        );
        let mut written = 0;
        for line in input.lines().take(events) {
            let line = line.with_context(|| format!("cannot read {}", full.path.display()))?;
            writeln!(out, "{line}")?;
            written += 1;
        }
        if written != events {
            bail!(
                "{} holds {written} records, fewer than the {events} asked for",
                full.path.display()
            );
        }
        out.flush()?;
        drop(out);
        fs::rename(&tmp, &path).with_context(|| format!("cannot rename {}", tmp.display()))?;
    }
    let mut info = full.info.clone();
    info.events = events as u64;
    info.chains = count_detainee_chains(&path)?;
    Ok(LedgerFile {
        path,
        trust_path: full.trust_path.clone(),
        info,
        generated_now: None,
    })
}

/// Number of detainee chains in a canonical JSONL ledger: the records at `seq` 0, less the
/// authority chain's.
fn count_detainee_chains(path: &Path) -> anyhow::Result<u64> {
    let input = BufReader::new(
        File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
    );
    let mut first_records = 0u64;
    for line in input.lines() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.contains("\"seq\":0,") {
            first_records += 1;
        }
    }
    Ok(first_records.saturating_sub(1))
}

/// Reads every record of a ledger file with its line (the canonical JSON).
pub fn read_records(file: &LedgerFile) -> anyhow::Result<Vec<(Record, String)>> {
    let input = BufReader::new(
        File::open(&file.path).with_context(|| format!("cannot open {}", file.path.display()))?,
    );
    let mut out = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", file.path.display()))?;
        let record = Record::from_json(line.as_bytes()).with_context(|| {
            format!("line {} of {} is not a record", i + 1, file.path.display())
        })?;
        out.push((record, line));
    }
    Ok(out)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text + "\n").with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot rename {}", tmp.display()))
}

/// 32 bytes derived from a label, for chain ids and salts of copies.
fn derive(label: &str, k: usize, hash: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(GENERATOR.as_bytes());
    h.update(b"\n");
    h.update(label.as_bytes());
    h.update((k as u64).to_be_bytes());
    h.update(hash);
    h.finalize().into()
}

/// The 128 bits of a chain id's ULID.
fn ulid_of(chain: &str) -> anyhow::Result<u128> {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let text = chain
        .strip_prefix("d-")
        .with_context(|| format!("{chain:?} is not a detainee chain id"))?;
    let mut v: u128 = 0;
    for c in text.bytes() {
        let digit = ALPHABET
            .iter()
            .position(|&a| a == c)
            .with_context(|| format!("{chain:?} is not a detainee chain id"))?;
        v = (v << 5) | digit as u128;
    }
    Ok(v)
}

/// The chain id of copy `k` of a scenario chain: same ULID time, other random bits.
fn copy_chain_id(chain: &str, k: usize) -> anyhow::Result<String> {
    let ulid = ulid_of(chain)?;
    let d = derive("chain", k, chain.as_bytes());
    let mut random = [0u8; 16];
    random[6..].copy_from_slice(&d[..10]);
    let random = u128::from_be_bytes(random);
    let time = ulid >> 80;
    Ok(detainee_chain_id((time << 80) | random))
}

/// Replaces every string of the body that names a record or a chain of the scenario by the
/// same record or chain of copy `k`.
fn rewrite(value: &Value, hashes: &HashMap<Hash, Hash>, chains: &HashMap<&str, String>) -> Value {
    match value {
        Value::String(s) => {
            if let Some(c) = chains.get(s.as_str()) {
                return Value::String(c.clone());
            }
            if s.len() == 64 {
                if let Some(h) = s.parse::<Hash>().ok().and_then(|h| hashes.get(&h)) {
                    return Value::String(h.to_hex());
                }
            }
            value.clone()
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| rewrite(v, hashes, chains)).collect())
        }
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), rewrite(v, hashes, chains)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// One copy of the scenario's detainee chains: chain ids and the hashes signed so far.
struct Copy<'a> {
    k: usize,
    chains: HashMap<&'a str, String>,
    hashes: HashMap<Hash, Hash>,
}

/// Signs copy `copy.k` of a scenario record.
fn copy_record(
    record: &Record,
    copy: &mut Copy<'_>,
    keys: &HashMap<PublicKeyId, SecretKey>,
) -> anyhow::Result<Record> {
    let h = &record.header;
    let key = keys
        .get(&h.signer)
        .with_context(|| format!("no scenario actor holds key {}", h.signer))?;
    let payload = record
        .payload
        .as_ref()
        .with_context(|| format!("scenario record {} has no payload", record.hash))?;
    let chain = copy
        .chains
        .get(h.chain.as_str())
        .with_context(|| format!("chain {} is not a scenario detainee", h.chain))?
        .clone();
    let prev = match h.prev {
        None => None,
        Some(p) => Some(
            *copy
                .hashes
                .get(&p)
                .with_context(|| format!("record {} comes before its prev", record.hash))?,
        ),
    };
    let salt = derive("salt", copy.k, record.hash.as_bytes());
    let copied = Draft {
        ledger: h.ledger.clone(),
        chain,
        seq: h.seq,
        prev,
        kind: h.kind,
        occurred_at: h.occurred_at.clone(),
        recorded_at: h.recorded_at.clone(),
        agency: h.agency.clone(),
        body: rewrite(&payload.body, &copy.hashes, &copy.chains),
    }
    .sign(key, &salt[..16]);
    copy.hashes.insert(record.hash, copied.hash);
    Ok(copied)
}

/// Writes a ledger of exactly `events` records to `path`; see the module documentation.
fn generate(path: &Path, events: usize) -> anyhow::Result<LedgerInfo> {
    let base = build_base(BASE_DETAINEES)?;
    let authority = base
        .records
        .iter()
        .filter(|r| r.header.chain == AUTHORITY_CHAIN)
        .count();
    if base.records[..authority]
        .iter()
        .any(|r| r.header.chain != AUTHORITY_CHAIN)
    {
        bail!("the scenario's authority records are not all at the start of its ledger");
    }
    let detainee_records = base.records.len() - authority;
    let copies = if events <= base.records.len() {
        1
    } else {
        (events - authority).div_ceil(detainee_records)
    };
    println!(
        "generating a ledger of {events} records: scenario of {BASE_DETAINEES} detainees \
         (seed {SEED}, {} records){}",
        base.records.len(),
        if copies > 1 {
            format!(", each detainee chain and {} re-signed copies", copies - 1)
        } else {
            String::new()
        }
    );
    let signer = NoteSigner::new(&base.name, base.ledger_key.signing_key().clone())
        .map_err(|e| anyhow::anyhow!("ledger name {:?}: {e}", base.name))?;
    let meta = LedgerMeta {
        name: base.name.clone(),
        trust: base.trust.clone(),
        ledger_vkey: signer.verifier_key(),
        role: custody_ledger::LedgerRole::Primary,
    };

    // Thread 1 signs the copies in ledger order; this thread validates and writes, so signing
    // and validating share the two cores.
    let (tx, rx) = mpsc::sync_channel::<anyhow::Result<Record>>(4096);
    let writer_result = thread::scope(|scope| -> anyhow::Result<(u64, u64)> {
        let base = &base;
        scope.spawn(move || {
            let keys: HashMap<PublicKeyId, SecretKey> = base
                .actors
                .iter()
                .map(|a| (a.key.public(), a.key.clone()))
                .collect();
            let mut state = Vec::with_capacity(copies);
            for k in 1..copies {
                let mut chains = HashMap::new();
                for d in &base.detainees {
                    match copy_chain_id(&d.chain, k) {
                        Ok(c) => chains.insert(d.chain.as_str(), c),
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                }
                state.push(Copy {
                    k,
                    chains,
                    hashes: HashMap::new(),
                });
            }
            let mut sent = 0;
            for record in &base.records {
                if sent == events {
                    return;
                }
                if tx.send(Ok(record.clone())).is_err() {
                    return;
                }
                sent += 1;
                if record.header.chain == AUTHORITY_CHAIN {
                    continue;
                }
                for copy in state.iter_mut() {
                    if sent == events {
                        return;
                    }
                    if tx.send(copy_record(record, copy, &keys)).is_err() {
                        return;
                    }
                    sent += 1;
                }
            }
        });

        let mut out = BufWriter::with_capacity(
            1 << 20,
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        );
        let mut validator = Validator::new(meta.trust.clone(), ValidatorConfig::default());
        let mut written = 0u64;
        let mut progress = Instant::now();
        for record in rx {
            let record = record?;
            validator.append(&record, None).map_err(|e| {
                anyhow::anyhow!(
                    "generated record {written} ({} on {}) does not validate: {e}",
                    record.header.kind,
                    record.header.chain
                )
            })?;
            out.write_all(record.to_json_line().as_bytes())?;
            out.write_all(b"\n")?;
            written += 1;
            if progress.elapsed() > Duration::from_secs(10) {
                eprintln!("  {written} / {events} records");
                progress = Instant::now();
            }
        }
        out.flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok((written, validator.chains().count() as u64))
    });
    let (written, chains) = writer_result?;
    if written != events as u64 {
        bail!("generated {written} records where {events} were asked for");
    }
    Ok(LedgerInfo {
        generator: GENERATOR.to_string(),
        meta,
        events: written,
        authority_events: authority.min(events) as u64,
        chains,
        base_detainees: BASE_DETAINEES,
        copies,
        generation_secs: 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copied_chain_ids_are_valid_and_distinct() {
        let chain = "d-01jd8x3k5q7v9w2y4z6b8c0e1f";
        let a = copy_chain_id(chain, 1).unwrap();
        let b = copy_chain_id(chain, 2).unwrap();
        assert!(custody_core::ids::is_detainee_chain_id(&a));
        assert_ne!(a, b);
        assert_ne!(a, chain);
        // Same ULID time (the first 10 characters encode the 48-bit time and 2 random bits).
        assert_eq!(ulid_of(&a).unwrap() >> 80, ulid_of(chain).unwrap() >> 80);
    }

    #[test]
    fn a_small_copied_ledger_validates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.jsonl");
        let base = build_base(BASE_DETAINEES).unwrap().records.len();
        // Every record of the scenario and one more copy of part of it.
        let info = generate(&path, base + 500).unwrap();
        assert_eq!(info.copies, 2);
        assert_eq!(info.events, base as u64 + 500);
    }
}
