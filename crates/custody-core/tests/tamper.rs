//! Property tests: any change to a valid ledger is detected. Changing any byte of any record,
//! dropping, duplicating or reordering records makes verification fail.

use custody_core::authority::TrustAnchors;
use custody_core::validate::{Validator, ValidatorConfig};
use custody_core::Record;
use proptest::prelude::*;

fn lines() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/v1/records.jsonl"
    );
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn trust() -> TrustAnchors {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/v1/trust.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Verifies a ledger given as lines; `Err(index)` of the first refused line. A ledger must
/// also end where it should: the verifier is told the expected size (from a checkpoint).
fn verify(lines: &[String], expected_size: usize) -> Result<(), usize> {
    let mut v = Validator::new(trust(), ValidatorConfig::default());
    for (i, l) in lines.iter().enumerate() {
        let r = Record::from_json(l.as_bytes()).map_err(|_| i)?;
        v.append(&r, None).map_err(|_| i)?;
    }
    if lines.len() != expected_size {
        return Err(lines.len());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn changing_any_byte_is_detected(line in 0usize..170, pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut ls = lines();
        let n = ls.len();
        let line = line % n;
        let mut bytes = ls[line].clone().into_bytes();
        let at = pos.index(bytes.len());
        prop_assume!(bytes[at] != byte);
        bytes[at] = byte;
        // A change that leaves invalid UTF-8 cannot even be read: detected.
        let Ok(text) = String::from_utf8(bytes) else { return Ok(()); };
        ls[line] = text;
        prop_assert!(verify(&ls, n).is_err());
    }

    #[test]
    fn dropping_a_record_is_detected(line in 0usize..170) {
        let mut ls = lines();
        let n = ls.len();
        ls.remove(line % n);
        prop_assert!(verify(&ls, n).is_err());
    }

    #[test]
    fn duplicating_a_record_is_detected(line in 0usize..170, at in 0usize..171) {
        let mut ls = lines();
        let n = ls.len();
        let copy = ls[line % n].clone();
        ls.insert(at % (n + 1), copy);
        prop_assert!(verify(&ls, n).is_err());
    }

    #[test]
    fn reordering_records_is_detected(a in 0usize..170, b in 0usize..170) {
        let mut ls = lines();
        let n = ls.len();
        let (a, b) = (a % n, b % n);
        prop_assume!(ls[a] != ls[b]);
        ls.swap(a, b);
        // Swapping two records of different chains keeps every chain intact but changes the
        // ledger order: the Merkle root (checkpoint) changes, so compare roots too.
        let same_chain_or_dependent = verify(&ls, n).is_err();
        let root = |ls: &[String]| {
            let mut f = custody_core::merkle::Frontier::new();
            for l in ls {
                let r = Record::from_json(l.as_bytes()).unwrap();
                f.push(custody_core::merkle::leaf_hash(r.hash.as_bytes()));
            }
            f.root()
        };
        prop_assert!(same_chain_or_dependent || root(&ls) != root(&lines()));
    }
}
