//! The published packet vector (`tests/vectors/v1/packet.packet`) verifies with the vectors'
//! `trust.json` and `ledger.vkey`, and the container's strictness holds on it.

use std::path::PathBuf;

use custody_core::authority::TrustAnchors;
use custody_packet::verify::SealedState;
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
        medical_key: None,
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
        .any(|w| w.kind == "medical_screening" && w.reason == "sealed"));
    assert!(!v.sealed.is_empty());
    assert!(v.sealed.iter().all(|s| s.state == SealedState::NoKey));
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

/// The published medical key (`medical.key`, a demo key) of the packet vector.
fn medical_key() -> custody_core::SecretKey {
    let doc: serde_json::Value = serde_json::from_slice(&vector("medical.key")).unwrap();
    let seed = custody_core::encoding::unb64url(doc["seed"].as_str().unwrap()).unwrap();
    let key = custody_core::SecretKey::from_seed(seed.try_into().unwrap());
    assert_eq!(key.public().to_string(), doc["public"].as_str().unwrap());
    key
}

#[test]
fn the_sealed_payloads_of_the_vector_open_with_the_published_medical_key() {
    let bytes = vector("packet.packet");
    let mut opts = options();
    opts.medical_key = Some(medical_key());
    let v = verify_packet(&bytes[..], &opts).unwrap();
    assert!(!v.sealed.is_empty());
    for s in &v.sealed {
        let SealedState::Opened(payload) = &s.state else {
            panic!("{} not opened: {:?}", s.event, s.state);
        };
        let (_, record) = v
            .records
            .iter()
            .find(|(_, r)| r.hash.to_hex() == s.event)
            .unwrap();
        assert_eq!(payload.digest(), record.header.payload_digest);
        assert!(
            record.payload.is_none(),
            "the record itself travels as a header"
        );
    }
    // Another key is not addressed, and the packet still verifies.
    opts.medical_key = Some(custody_core::SecretKey::from_seed([5; 32]));
    let v = verify_packet(&bytes[..], &opts).unwrap();
    assert!(v
        .sealed
        .iter()
        .all(|s| s.state == SealedState::NotAddressed));

    // A changed byte of a sealed body: refused with packet/sealed when the key is given, and
    // still verified (not checked) without it.
    let text = bytes.clone();
    let at = find(&text, b"\nsealed ").unwrap() + 1;
    let nl = at + text[at..].iter().position(|&b| b == b'\n').unwrap();
    let len: usize = std::str::from_utf8(&text[at + "sealed ".len()..nl])
        .unwrap()
        .parse()
        .unwrap();
    // A byte of the encrypted payload (after the age header), so that the file still reads as
    // an age file without a key.
    let mut changed = bytes.clone();
    changed[nl + 1 + len - 5] ^= 1;
    let mut opts = options();
    opts.medical_key = Some(medical_key());
    match verify_packet(&changed[..], &opts) {
        Err(PacketError::Refused(f)) => {
            assert_eq!(f.rule.code(), "packet/sealed", "{f}");
            assert!(f.hash.is_some(), "the failure names the record: {f}");
        }
        other => panic!("{other:?}"),
    }
    assert!(verify_packet(&changed[..], &options()).is_ok());
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The vector with its manifest changed by `edit` (written back in canonical form).
fn with_manifest(edit: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    let bytes = vector("packet.packet");
    let start = "custody-ledger/packet/v1\n".len();
    let nl = start + bytes[start..].iter().position(|&b| b == b'\n').unwrap();
    let len: usize = std::str::from_utf8(&bytes[start + "manifest ".len()..nl])
        .unwrap()
        .parse()
        .unwrap();
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&bytes[nl + 1..nl + 1 + len]).unwrap();
    edit(&mut manifest);
    let body = custody_core::jcs::canonicalize(&manifest);
    let mut out = bytes[..start].to_vec();
    out.extend_from_slice(format!("manifest {}\n", body.len()).as_bytes());
    out.extend_from_slice(&body);
    out.extend_from_slice(&bytes[nl + 1 + len..]);
    out
}

#[test]
fn the_manifest_s_sealed_entries_are_checked() {
    // Unchanged, it verifies.
    assert!(verify_packet(&with_manifest(|_| {})[..], &options()).is_ok());
    let sealed = |m: &mut serde_json::Value| -> usize {
        m["withheld"]
            .as_array()
            .unwrap()
            .iter()
            .position(|w| w["reason"] == "sealed")
            .unwrap()
    };
    // No recipients on a sealed entry.
    let b = with_manifest(|m| {
        let i = sealed(m);
        m["withheld"][i]["recipients"] = serde_json::json!([]);
    });
    assert_eq!(rule_of(&b), "packet/manifest");
    // A recipient that is not a key.
    let b = with_manifest(|m| {
        let i = sealed(m);
        m["withheld"][i]["recipients"] = serde_json::json!(["ssh-ed25519 AAAA"]);
    });
    assert_eq!(rule_of(&b), "packet/manifest");
    // A sealed entry told restricted: its sealed section then comes where none is expected.
    let b = with_manifest(|m| {
        let i = sealed(m);
        m["withheld"][i]["reason"] = serde_json::json!("restricted");
        m["withheld"][i]
            .as_object_mut()
            .unwrap()
            .remove("recipients");
    });
    assert_eq!(rule_of(&b), "packet/format");
    // Recipients on an entry that is not sealed.
    let b = with_manifest(|m| {
        let i = sealed(m);
        m["withheld"][i]["reason"] = serde_json::json!("missing");
    });
    assert_eq!(rule_of(&b), "packet/manifest");
}
