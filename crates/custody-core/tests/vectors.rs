//! Runs the published test vectors of wire format v1 (`tests/vectors/v1/`), reading only the
//! files, as an independent verifier would.

use std::path::PathBuf;

use custody_core::authority::TrustAnchors;
use custody_core::checkpoint::{verify_checkpoint, NoteVerifier};
use custody_core::encoding::unb64std;
use custody_core::merkle::{leaf_hash, ConsistencyProofJson, Digest, Frontier, InclusionProofJson};
use custody_core::validate::{verify_signature, Validator, ValidatorConfig};
use custody_core::Rule;
use custody_core::{EventKind, Record, Timestamp};
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/v1")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn records() -> Vec<Record> {
    read("records.jsonl")
        .lines()
        .enumerate()
        .map(|(i, l)| {
            Record::from_json(l.as_bytes()).unwrap_or_else(|e| panic!("line {}: {e}", i + 1))
        })
        .collect()
}

fn trust() -> TrustAnchors {
    serde_json::from_str(&read("trust.json")).unwrap()
}

#[test]
fn records_verify_and_lines_are_canonical() {
    let text = read("records.jsonl");
    let mut v = Validator::new(trust(), ValidatorConfig::default());
    let mut kinds = std::collections::BTreeSet::new();
    let mut headers_only = 0;
    for (i, line) in text.lines().enumerate() {
        let r = Record::from_json(line.as_bytes()).unwrap();
        assert_eq!(r.to_json_line(), line, "line {} is not canonical", i + 1);
        v.append(&r, None)
            .unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        kinds.insert(r.header.kind);
        headers_only += usize::from(r.payload.is_none());
    }
    assert_eq!(
        kinds.len(),
        EventKind::ALL.len(),
        "every kind at least once"
    );
    assert!(
        headers_only >= 1,
        "a redacted record travels without its payload"
    );
}

#[test]
fn checkpoint_matches_the_records() {
    let verifier = NoteVerifier::parse(read("ledger.vkey").trim()).unwrap();
    let cp = verify_checkpoint(&read("checkpoint.txt"), &verifier).unwrap();
    let mut f = Frontier::new();
    for r in records() {
        f.push(leaf_hash(r.hash.as_bytes()));
    }
    assert_eq!(cp.size, f.size());
    assert_eq!(cp.root, f.root());
    // The same note with another size does not verify.
    let forged = read("checkpoint.txt").replacen(
        &format!("\n{}\n", cp.size),
        &format!("\n{}\n", cp.size + 1),
        1,
    );
    assert!(verify_checkpoint(&forged, &verifier).is_err());
}

#[test]
fn proofs_verify_against_the_published_roots() {
    let proofs: Value = serde_json::from_str(&read("proofs.json")).unwrap();
    let recs = records();
    let mut roots = std::collections::HashMap::new();
    let mut f = Frontier::new();
    let mut by_size = vec![f.root()];
    for r in &recs {
        f.push(leaf_hash(r.hash.as_bytes()));
        by_size.push(f.root());
    }
    for entry in proofs["roots"].as_array().unwrap() {
        let size = entry["tree_size"].as_u64().unwrap();
        let root: Digest = unb64std(entry["root"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(root, by_size[size as usize], "root at size {size}");
        roots.insert(size, root);
    }
    for p in proofs["inclusion"].as_array().unwrap() {
        let p: InclusionProofJson = serde_json::from_value(p.clone()).unwrap();
        assert_eq!(p.hash, recs[p.index as usize].hash.to_hex());
        let root = by_size[p.tree_size as usize];
        p.verify(&root).unwrap();
        let mut wrong = root;
        wrong[0] ^= 1;
        assert!(p.verify(&wrong).is_err());
    }
    let consistency = proofs["consistency"].as_array().unwrap();
    assert!(!consistency.is_empty());
    for p in consistency {
        let p: ConsistencyProofJson = serde_json::from_value(p.clone()).unwrap();
        p.verify(&by_size[p.old_size as usize], &by_size[p.new_size as usize])
            .unwrap();
    }
}

#[test]
fn every_invalid_vector_is_refused_by_its_rule() {
    let recs = records();
    let mut rules = std::collections::HashSet::new();
    let mut count = 0;
    for entry in std::fs::read_dir(dir().join("invalid")).unwrap() {
        let path = entry.unwrap().path();
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let rule: Rule = case["rule"].as_str().unwrap().parse().unwrap();
        let prefix = case["prefix"].as_u64().unwrap() as usize;
        let mut v = Validator::new(trust(), ValidatorConfig::default());
        for r in &recs[..prefix] {
            v.append(r, None).unwrap();
        }
        let size_before = v.size();
        // `None`: accepted.
        let got = match Record::from_json(case["line"].as_str().unwrap().as_bytes()) {
            Err(_) => Some(Rule::Format),
            Ok(r) => {
                let now = case["now"].as_str().map(|t| Timestamp::parse(t).unwrap());
                // The split path (signature apart, then the rest) decides exactly as `check`.
                let split = verify_signature(&r, v.verifying_key(&r.header.signer).as_ref())
                    .and_then(|proof| v.check_verified(proof, now.as_ref()))
                    .map_or_else(|e| Some(e.rule()), |_| None);
                let whole = match v.append(&r, now.as_ref()) {
                    Ok(()) => None,
                    Err(e) => {
                        assert!(!e.to_string().is_empty());
                        Some(e.rule())
                    }
                };
                assert_eq!(split, whole, "{}", path.display());
                whole
            }
        };
        assert_eq!(got, Some(rule), "{}", path.display());
        assert_eq!(v.size(), size_before, "a refused record changes nothing");
        rules.insert(rule);
        count += 1;
    }
    assert!(count >= 40);
    // Every rule of the validator (record rules and state rules) has a vector.
    for rule in Rule::VALIDATION {
        assert!(rules.contains(rule), "no vector for rule {rule}");
    }
}

/// A validator that remembers only the targets of corrections and redactions reaches the same
/// verdicts as one that remembers every event, on the valid ledger and on every invalid case.
#[test]
fn remembering_only_look_back_targets_changes_no_verdict() {
    use custody_core::validate::look_back_target;
    let recs = records();
    let mut targets: std::collections::HashSet<_> =
        recs.iter().filter_map(look_back_target).collect();
    assert!(
        targets.len() >= 2,
        "the vectors hold a correction and a redaction"
    );
    let mut lean = Validator::new(trust(), ValidatorConfig::default());
    lean.remember_only(targets.clone());
    for r in &recs {
        lean.append(r, None).unwrap();
    }
    let remembered: usize = lean.chains().map(|(_, c)| c.events.len()).sum();
    assert_eq!(remembered, targets.len());
    for entry in std::fs::read_dir(dir().join("invalid")).unwrap() {
        let case: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        let Ok(r) = Record::from_json(case["line"].as_str().unwrap().as_bytes()) else {
            continue;
        };
        if let Some(t) = look_back_target(&r) {
            targets.insert(t);
        }
        let prefix = case["prefix"].as_u64().unwrap() as usize;
        let now = case["now"].as_str().map(|t| Timestamp::parse(t).unwrap());
        let mut full = Validator::new(trust(), ValidatorConfig::default());
        let mut lean = Validator::new(trust(), ValidatorConfig::default());
        lean.remember_only(targets.clone());
        for r in &recs[..prefix] {
            full.append(r, None).unwrap();
            lean.append(r, None).unwrap();
        }
        let verdict = |v: &mut Validator| v.append(&r, now.as_ref()).map_err(|e| e.rule());
        assert_eq!(verdict(&mut full), verdict(&mut lean), "{}", case["rule"]);
    }
}

/// Section 12 cases: a verifier key with `+` in its base64 part, a cosignature by another key,
/// and notes that must be refused (more than 100 signature lines, a line of the key that does
/// not verify, no line of the key, another origin).
#[test]
fn note_cases_verify_or_are_refused() {
    let cases: Value = serde_json::from_str(&read("notes.json")).unwrap();
    let cases = cases["notes"].as_array().unwrap();
    assert!(cases.len() >= 6);
    let mut plus_seen = false;
    for case in cases {
        let description = case["description"].as_str().unwrap();
        let vkey = case["vkey"].as_str().unwrap();
        plus_seen |= vkey.splitn(3, '+').nth(2).unwrap().contains('+');
        let verifier = NoteVerifier::parse(vkey).unwrap();
        let got = verify_checkpoint(case["note"].as_str().unwrap(), &verifier);
        if case["valid"].as_bool().unwrap() {
            let cp = got.unwrap_or_else(|e| panic!("{description}: {e}"));
            assert_eq!(cp.origin, case["origin"].as_str().unwrap(), "{description}");
            assert_eq!(cp.size, case["size"].as_u64().unwrap(), "{description}");
            assert_eq!(
                custody_core::encoding::b64std(&cp.root),
                case["root"].as_str().unwrap(),
                "{description}"
            );
        } else {
            assert!(got.is_err(), "{description}: accepted");
        }
    }
    assert!(plus_seen, "a verifier key with + in its base64 part");
}

/// Section 12 "Cosignatures": each note against `log_vkey`, the trusted `witnesses` and the
/// case's quorum.
#[test]
fn cosignature_cases_verify_or_are_refused() {
    use custody_core::cosignature::{verify_cosigned, CosignatureVerifier};
    let doc: Value = serde_json::from_str(&read("cosignatures.json")).unwrap();
    let log = NoteVerifier::parse(doc["log_vkey"].as_str().unwrap()).unwrap();
    assert_eq!(
        format!("{}\n", doc["log_vkey"].as_str().unwrap()),
        read("ledger.vkey")
    );
    let witnesses: Vec<CosignatureVerifier> = doc["witnesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| CosignatureVerifier::parse(v.as_str().unwrap()).unwrap())
        .collect();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let description = case["description"].as_str().unwrap();
        let quorum = case["quorum"].as_u64().unwrap() as usize;
        let got = verify_cosigned(case["note"].as_str().unwrap(), &log, &witnesses, quorum);
        if case["valid"].as_bool().unwrap() {
            let got = got.unwrap_or_else(|e| panic!("{description}: {e}"));
            let want: Vec<(String, u64)> =
                serde_json::from_value(case["cosigned_by"].clone()).unwrap();
            assert_eq!(got.witnesses, want, "{description}");
        } else {
            assert!(got.is_err(), "{description}: accepted");
        }
    }
}

/// A number too large for 64 bits is named as it was sent, not as the double it parses to
/// (every path that parses a record: gateway, `custody submit`, `custody verify`).
#[test]
fn a_huge_number_is_named_as_sent() {
    let line = records()[0].to_json_line();
    let huge = line.replacen("\"v\":1", "\"v\":18446744073709551616", 1);
    let err = Record::from_json(huge.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("18446744073709551616"), "{err}");
    assert!(!err.contains("e+19"), "{err}");
}

/// `headers-only.jsonl` (the ledger without any detainee payload, as a monitor receives it)
/// verifies like `records.jsonl`, to the same ledger size.
#[test]
fn the_headers_only_ledger_verifies() {
    let mut v = Validator::new(trust(), ValidatorConfig::default());
    let mut without = 0;
    for (i, line) in read("headers-only.jsonl").lines().enumerate() {
        let r = Record::from_json(line.as_bytes()).unwrap();
        without += usize::from(r.payload.is_none());
        v.append(&r, None)
            .unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
    }
    assert_eq!(v.size() as usize, records().len());
    assert!(without > 100, "detainee records travel without payload");
}
