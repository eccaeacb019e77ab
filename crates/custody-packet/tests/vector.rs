//! The published packet vector (`tests/vectors/v1/packet.packet`) verifies with the vectors'
//! `trust.json` and `ledger.vkey`, and the container's strictness holds on it.

use std::path::PathBuf;

use custody_core::authority::TrustAnchors;
use custody_packet::{verify_packet, Options, PacketError};

fn vector(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/vectors/v1")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn options() -> Options {
    let trust: TrustAnchors = serde_json::from_slice(&vector("trust.json")).unwrap();
    let vkey = String::from_utf8(vector("ledger.vkey"))
        .unwrap()
        .trim()
        .to_string();
    Options {
        trust: Some(trust),
        ledger_vkey: Some(vkey),
        now: None,
    }
}

fn rule_of(bytes: &[u8]) -> String {
    match verify_packet(bytes, &options()) {
        Ok(_) => panic!("a changed packet verified"),
        Err(PacketError::Refused(f)) => f.rule.to_string(),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn the_packet_vector_verifies() {
    let bytes = vector("packet.packet");
    let v = verify_packet(&bytes[..], &options()).unwrap();
    assert!(!v.trust_from_packet && !v.vkey_from_packet);
    let checkpoint = String::from_utf8(vector("checkpoint.txt")).unwrap();
    assert_eq!(v.checkpoint_note, checkpoint);
    assert!(v
        .manifest
        .withheld
        .iter()
        .any(|w| w.kind == "medical_screening" && w.reason == "restricted"));
    assert!(!v.manifest.evidence.is_empty());
    assert!(v.manifest.evidence.iter().all(|e| !e.included));
    assert_eq!(v.digest, sha2_digest(&bytes));
    // Positions increase, the authority chain comes with the detainee's chain.
    assert!(v.records.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(v.records.iter().any(|(_, r)| r.header.chain == "authority"));
}

fn sha2_digest(bytes: &[u8]) -> [u8; 32] {
    *custody_core::Hash::of(bytes).as_bytes()
}

#[test]
fn the_container_is_read_strictly() {
    let bytes = vector("packet.packet");
    // Anything after the end section.
    let mut more = bytes.clone();
    more.push(b'\n');
    assert_eq!(rule_of(&more), "packet/format");
    // Cut short anywhere.
    for cut in [10, bytes.len() / 2, bytes.len() - 1] {
        assert_eq!(rule_of(&bytes[..cut]), "packet/format", "cut at {cut}");
    }
    // Another first line.
    let other = [b"custody-ledger/packet/v2".as_slice(), &bytes[24..]].concat();
    assert_eq!(rule_of(&other), "packet/format");
    // A length with a leading zero.
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let zero = text.replacen("\nmanifest ", "\nmanifest 0", 1);
    assert_eq!(rule_of(zero.as_bytes()), "packet/format");
    // A ledger key that is not usable (malformed, or of another ledger) is refused.
    let mut opts = options();
    opts.ledger_vkey = Some("other.example+00000000+AQ".into());
    match verify_packet(&bytes[..], &opts) {
        Err(PacketError::Refused(f)) => assert_eq!(f.rule.code(), "packet/checkpoint"),
        other => panic!("{other:?}"),
    }
}
