//! The test vectors of wire format v1 (`tests/vectors/v1/`), generated from the demo world.
//!
//! [`generate`] returns every file's bytes; the `custody-vectors` binary writes them and a test
//! compares them with the committed copy, so the vectors regenerate byte for byte. Every
//! invalid case is checked here against the validator before it is written: a case that stops
//! exercising its rule fails generation.

use std::collections::BTreeMap;

use custody_core::checkpoint::{Checkpoint, NoteSigner};
use custody_core::facts::Facts;
use custody_core::ids::AUTHORITY_CHAIN;
use custody_core::keys::KeyError;
use custody_core::merkle::{
    consistency_proof, inclusion_proof, leaf_hash, root_of, ConsistencyProofJson, Digest,
    InclusionProofJson,
};
use custody_core::record::{signed_message, Draft};
use custody_core::validate::{Validator, ValidatorConfig};
use custody_core::{
    EventKind as K, Hash, PublicKeyId, Record, Rule, SecretKey, StateRule as S, Timestamp,
};
use serde_json::{json, Value};

use crate::{build, derive, Scenario, ScenarioConfig};

/// The world of the vectors: seed 1, eight detainees (every kind at least once).
pub const VECTOR_CONFIG: ScenarioConfig = ScenarioConfig {
    seed: 1,
    detainees: 8,
};

/// Generates every file of `tests/vectors/v1/`, keyed by relative path.
pub fn generate() -> Result<BTreeMap<String, Vec<u8>>, String> {
    let s = build(&VECTOR_CONFIG).map_err(|e| e.to_string())?;
    let published = s.published_records();
    let mut files = BTreeMap::new();

    let mut jsonl = String::new();
    for r in &published {
        jsonl.push_str(&r.to_json_line());
        jsonl.push('\n');
    }
    files.insert("records.jsonl".into(), jsonl.into_bytes());
    // The same ledger without any detainee payload (what a monitor receives): it verifies the
    // same, every state rule reading the headers' facts.
    let mut headers = String::new();
    for r in &published {
        let h = if r.header.chain == AUTHORITY_CHAIN {
            r.clone()
        } else {
            r.without_payload()
        };
        headers.push_str(&h.to_json_line());
        headers.push('\n');
    }
    files.insert("headers-only.jsonl".into(), headers.into_bytes());
    files.insert(
        "trust.json".into(),
        pretty(&serde_json::to_value(&s.trust).map_err(|e| e.to_string())?),
    );

    let signer =
        NoteSigner::new(&s.name, s.ledger_key.signing_key().clone()).map_err(|e| e.to_string())?;
    files.insert(
        "ledger.vkey".into(),
        format!("{}\n", signer.verifier_key()).into_bytes(),
    );
    let leaves: Vec<Digest> = published
        .iter()
        .map(|r| leaf_hash(r.hash.as_bytes()))
        .collect();
    let n = leaves.len() as u64;
    let checkpoint = Checkpoint {
        origin: s.name.clone(),
        size: n,
        root: root_of(&leaves),
        extensions: vec![],
    };
    let note = signer.sign(&checkpoint.to_body());
    files.insert("checkpoint.txt".into(), note.clone().into_bytes());
    let (packet, medical_key) =
        packet_vector(&s, &signer.verifier_key(), &published, &leaves, &note)?;
    files.insert("packet.packet".into(), packet);
    files.insert("medical.key".into(), medical_key);

    let mut inclusion = Vec::new();
    for (index, size) in [
        (0, n),
        (1, n),
        (n / 2, n),
        (n - 1, n),
        (5, 6),
        (17, n / 3),
        (0, 1),
    ] {
        let proof = inclusion_proof(&leaves, index, size).map_err(|e| e.to_string())?;
        inclusion.push(InclusionProofJson::new(
            published[index as usize].hash.as_bytes(),
            index,
            size,
            &proof,
        ));
    }
    let mut consistency = Vec::new();
    for (old, new) in [
        (1, n),
        (n / 3, n),
        (n / 2, n),
        (n - 1, n),
        (10, 37),
        (n, n),
        (0, n),
    ] {
        let proof = consistency_proof(&leaves, old, new).map_err(|e| e.to_string())?;
        consistency.push(ConsistencyProofJson::new(old, new, &proof));
    }
    let roots: Vec<Value> = [1, 6, 10, 37, n / 3, n / 2, n - 1, n]
        .iter()
        .map(|size| json!({"tree_size": size, "root": custody_core::encoding::b64std(&root_of(&leaves[..*size as usize]))}))
        .collect();
    files.insert(
        "proofs.json".into(),
        pretty(&json!({"roots": roots, "inclusion": inclusion, "consistency": consistency})),
    );

    files.insert(
        "notes.json".into(),
        pretty(&note_cases(&s.name, &checkpoint)?),
    );
    files.insert(
        "cosignatures.json".into(),
        pretty(&cosignature_cases(&signer, &checkpoint)?),
    );

    for case in invalid_cases(&s)? {
        files.insert(
            format!("invalid/{}.json", case.file),
            pretty(&case.to_json()),
        );
    }
    Ok(files)
}

/// Signed-note cases for section 12: a verifier key whose base64 part holds `+`, a cosignature
/// by another key (ignored), and notes that must be refused.
fn note_cases(name: &str, checkpoint: &Checkpoint) -> Result<Value, String> {
    let signer_for = |label: &str| -> Result<NoteSigner, String> {
        NoteSigner::new(
            name,
            SecretKey::from_seed(derive(7, label)).signing_key().clone(),
        )
        .map_err(|e| e.to_string())
    };
    // The first derived key whose verifier key has a `+` in its base64 part.
    let plus = (0..1000)
        .map(|i| signer_for(&format!("note-key/{i}")))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .find(|s| {
            s.verifier_key()
                .splitn(3, '+')
                .nth(2)
                .is_some_and(|b| b.contains('+'))
        })
        .ok_or("no derived key has a + in its verifier key")?;
    let other = NoteSigner::new(
        "witness.example/monitor",
        SecretKey::from_seed(derive(7, "note-witness"))
            .signing_key()
            .clone(),
    )
    .map_err(|e| e.to_string())?;
    let body = checkpoint.to_body();
    let signed = plus.sign(&body);
    let (text, own_line) = signed
        .split_once("\n\n")
        .ok_or("a signed note has a blank line")?;
    let other_line = other
        .sign(&body)
        .split_once("\n\n")
        .map(|(_, l)| l.to_string())
        .ok_or("a signed note has a blank line")?;
    let cosigned = format!("{text}\n\n{other_line}{own_line}");
    let too_many = format!("{text}\n\n{}{own_line}", other_line.repeat(100));
    let forged_sig = {
        // Our key's line over another text: present, but it does not verify.
        let other_body = Checkpoint {
            size: checkpoint.size - 1,
            ..checkpoint.clone()
        };
        let wrong = plus.sign(&other_body.to_body());
        let line = wrong
            .split_once("\n\n")
            .map(|(_, l)| l.to_string())
            .unwrap_or_default();
        format!("{text}\n\n{line}")
    };
    let other_origin = signer_for("note-key/other-origin")?;
    let renamed = NoteSigner::new(
        "custody-ledger.other.ml",
        SecretKey::from_seed(derive(7, "note-key/other-origin"))
            .signing_key()
            .clone(),
    )
    .map_err(|e| e.to_string())?
    .sign(
        &Checkpoint {
            origin: "custody-ledger.other.ml".into(),
            ..checkpoint.clone()
        }
        .to_body(),
    );
    let root = custody_core::encoding::b64std(&checkpoint.root);
    let valid = |description: &str, vkey: String, note: String| {
        json!({"description": description, "vkey": vkey, "note": note, "valid": true,
               "origin": name, "size": checkpoint.size, "root": root})
    };
    let invalid = |description: &str, vkey: String, note: String| json!({"description": description, "vkey": vkey, "note": note, "valid": false});
    Ok(json!({"notes": [
        valid("the verifier key's base64 part holds '+': split the key at its first two '+' only", plus.verifier_key(), signed.clone()),
        valid("a cosignature line by another key comes first: it is ignored", plus.verifier_key(), cosigned),
        invalid("101 signature lines (100 by another key, then ours): more than 100 makes the note invalid", plus.verifier_key(), too_many),
        invalid("a line with the ledger's name and key ID whose signature does not verify", plus.verifier_key(), forged_sig),
        invalid("signed by another key of the same name: no line of the verifier key", other_origin.verifier_key(), signed),
        invalid("the origin line and key name are another ledger's", plus.verifier_key(), renamed),
    ]}))
}

/// Cosignature cases for section 12 ("Cosignatures"): `checkpoint.txt`'s checkpoint cosigned by
/// witnesses of fixed keys at fixed times, each case a note, a quorum and the verdict.
fn cosignature_cases(log: &NoteSigner, checkpoint: &Checkpoint) -> Result<Value, String> {
    use custody_core::cosignature::{add_signature_lines, CosignatureSigner};
    let witness = |i: u32| -> Result<CosignatureSigner, String> {
        CosignatureSigner::new(
            &format!("witness-{i}.custody-ledger.example"),
            SecretKey::from_seed(derive(7, &format!("witness/{i}")))
                .signing_key()
                .clone(),
        )
        .map_err(|e| e.to_string())
    };
    let (w1, w2, w3, untrusted) = (witness(1)?, witness(2)?, witness(3)?, witness(9)?);
    // 2026-01-01T00:00:00Z and the following minutes.
    const T: u64 = 1_767_225_600;
    let body = checkpoint.to_body();
    let note = log.sign(&body);
    let l1 = w1.cosign(&body, T);
    let l2 = w2.cosign(&body, T + 60);
    let two = add_signature_lines(&note, &[l1.clone(), l2.clone()]);
    let with_untrusted = add_signature_lines(&note, &[untrusted.cosign(&body, T), l1.clone()]);
    let twice = add_signature_lines(&note, &[l1.clone(), w1.cosign(&body, T + 120)]);
    // w1's line with its timestamp changed (one bit of the big-endian u64), w2's intact.
    let bad_time = {
        let b64 = l1
            .trim_end()
            .rsplit(' ')
            .next()
            .ok_or("a cosignature line has a space")?;
        let mut blob = custody_core::encoding::unb64std(b64).ok_or("base64")?;
        blob[11] ^= 1;
        let line = format!(
            "\u{2014} {} {}\n",
            w1.name(),
            custody_core::encoding::b64std(&blob)
        );
        add_signature_lines(&note, &[line, l2.clone()])
    };
    let moved = {
        let older = Checkpoint {
            size: checkpoint.size - 1,
            ..checkpoint.clone()
        };
        add_signature_lines(&note, &[w1.cosign(&older.to_body(), T)])
    };
    let as_note_key = {
        // The witness's key as a note key (type 0x01): another key ID, not a cosignature.
        let n = NoteSigner::new(
            w1.name(),
            SecretKey::from_seed(derive(7, "witness/1"))
                .signing_key()
                .clone(),
        )
        .map_err(|e| e.to_string())?
        .sign(&body);
        let line = n
            .split_once("\n\n")
            .map(|(_, l)| l.to_string())
            .ok_or("a signed note has a blank line")?;
        add_signature_lines(&note, &[line])
    };
    let unsigned = format!("{body}\n{l1}{l2}");
    let valid = |description: &str, note: &str, quorum: usize, by: Value| json!({"description": description, "note": note, "quorum": quorum, "valid": true, "cosigned_by": by});
    let invalid = |description: &str, note: &str, quorum: usize| json!({"description": description, "note": note, "quorum": quorum, "valid": false});
    Ok(json!({
        "log_vkey": log.verifier_key(),
        "witnesses": [w1.verifier_key(), w2.verifier_key(), w3.verifier_key()],
        "cases": [
            valid("cosigned by witnesses 1 and 2, quorum 2", &two, 2,
                  json!([[w1.name(), T], [w2.name(), T + 60]])),
            invalid("cosigned by witnesses 1 and 2, quorum 3: witness 3 is missing", &two, 3),
            valid("a cosignature of an untrusted witness is ignored, quorum 1", &with_untrusted, 1,
                  json!([[w1.name(), T]])),
            invalid("an untrusted witness does not count towards the quorum (2)", &with_untrusted, 2),
            invalid("witness 1 twice (two timestamps) counts once: quorum 2 not met", &twice, 2),
            valid("witness 1 twice: counted once, with its latest timestamp", &twice, 1,
                  json!([[w1.name(), T + 120]])),
            invalid("witness 1's line with its timestamp changed: the whole note is refused, even with witness 2 valid and quorum 1", &bad_time, 1),
            invalid("witness 1's cosignature of the checkpoint one size smaller, put on this one", &moved, 1),
            invalid("a note signature (type 0x01) by witness 1's key is not a cosignature", &as_note_key, 1),
            invalid("cosignatures without the ledger's signature: refused whatever the quorum", &unsigned, 0),
        ]
    }))
}

/// A transfer packet (docs/SPEC.md section 18) of the first detainee admitted to a prison
/// whose chain has evidence and a medical screening, against `checkpoint.txt`. The evidence
/// travels as manifest entries only (the vectors hold no blob), the restricted payloads (medical
/// screening, risk assessment) sealed to the medical keys of the admitting prison's agency.
/// Also the key file (`medical.key`, a demo key: its secret is public) of the first of those
/// keys, which opens them. Sealing is randomised: the packet regenerates identical except for
/// its `sealed` sections ([`mask_sealed`]).
fn packet_vector(
    s: &Scenario,
    vkey: &str,
    published: &[Record],
    leaves: &[Digest],
    note: &str,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    use custody_packet::build::{self, Held};
    use custody_packet::{EvidenceEntry, Manifest, PacketWriter, Section, MAGIC};
    let has = |chain: &str, kind: K| {
        published
            .iter()
            .any(|r| r.header.chain == chain && r.header.kind == kind)
    };
    let chain = published
        .iter()
        .map(|r| r.header.chain.clone())
        .find(|c| has(c, K::Admission) && has(c, K::EvidenceAdded) && has(c, K::MedicalScreening))
        .ok_or("no detainee of the vectors fits the packet vector")?;
    let redacted: Vec<&str> = published
        .iter()
        .filter(|r| r.header.kind == K::Redaction)
        .filter_map(|r| r.header.facts.str("event"))
        .collect();
    let events = published.iter().enumerate().map(|(i, r)| {
        let held = match &r.payload {
            Some(_) => Held::Present,
            None if redacted.contains(&r.hash.to_hex().as_str()) => Held::Redacted,
            None => Held::Missing,
        };
        (i as u64, r.clone(), held)
    });
    let (records, mut withheld) = build::select(&chain, events);
    let prison = published
        .iter()
        .find(|r| r.header.chain == chain && r.header.kind == K::Admission)
        .map(|r| r.header.agency.clone())
        .ok_or("no admission")?;
    let mut medical: Vec<&crate::Actor> = s
        .actors
        .iter()
        .filter(|a| a.agency == prison && a.roles.contains(&custody_core::Role::Medical))
        .collect();
    medical.sort_by_key(|a| a.key.public());
    let recipients: Vec<PublicKeyId> = medical.iter().map(|a| a.key.public()).collect();
    let first = medical
        .first()
        .ok_or("no medical key at the admitting prison")?;
    let sealed = build::seal_restricted(
        &mut withheld,
        |event| {
            published
                .iter()
                .find(|r| r.hash.to_hex() == event)
                .and_then(|r| r.payload.as_ref())
        },
        &recipients,
    )
    .map_err(|e| e.to_string())?;
    if sealed.is_empty() {
        return Err("the packet vector seals no payload".into());
    }
    let key_file = pretty(&json!({
        "type": "custody-ledger/ed25519-secret-key",
        "public": first.key.public().to_string(),
        "seed": custody_core::encoding::b64url(&first.key.seed()),
        "demo": true,
    }));
    let evidence = records
        .iter()
        .filter_map(|(_, r)| {
            custody_packet::verify::evidence_of(r).map(|(d, size)| EvidenceEntry {
                event: r.hash.to_hex(),
                digest: d.to_hex(),
                size_bytes: size,
                included: false,
                reason: Some("not_in_store".into()),
            })
        })
        .collect();
    let last = published.last().ok_or("no record")?;
    let manifest = Manifest {
        format: MAGIC.into(),
        ledger: s.name.clone(),
        chain: chain.clone(),
        code: custody_core::humancode::code_for_chain(&chain),
        exported_at: last.header.recorded_at.to_string(),
        trust: s.trust.clone(),
        ledger_vkey: vkey.to_string(),
        records: records.len() as u64,
        withheld,
        evidence,
    };
    let size = leaves.len() as u64;
    let io = |e: std::io::Error| e.to_string();
    let mut w = PacketWriter::new(Vec::new(), &manifest).map_err(io)?;
    for (_, r) in &records {
        w.record(r).map_err(io)?;
    }
    w.section(Section::Checkpoint, note.as_bytes())
        .map_err(io)?;
    for (position, _) in &records {
        let proof = build::proof(leaves, *position, size, note).map_err(|e| e.to_string())?;
        w.section(Section::Proof, proof.to_text().as_bytes())
            .map_err(io)?;
    }
    for body in &sealed {
        w.section(Section::Sealed, body).map_err(io)?;
    }
    Ok((w.finish().map_err(io)?.0, key_file))
}

/// A packet with every `sealed` section (header and body) replaced by the line `sealed`: what
/// must regenerate byte for byte (age encryption is randomised, and so is the length of the
/// "grease" stanza age adds to each file's header).
pub fn mask_sealed(bytes: &[u8]) -> Vec<u8> {
    let first = bytes
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |n| n + 1);
    let mut out = bytes[..first].to_vec();
    let mut at = first;
    while at < bytes.len() {
        let Some(nl) = bytes[at..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let header = String::from_utf8_lossy(&bytes[at..at + nl]).into_owned();
        let Some(len) = header
            .split_once(' ')
            .and_then(|(_, len)| len.parse::<usize>().ok())
        else {
            break;
        };
        let end = (at + nl + 1 + len + 1).min(bytes.len());
        if header.starts_with("sealed ") {
            out.extend_from_slice(b"sealed\n");
        } else {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
    }
    out.extend_from_slice(&bytes[at.min(bytes.len())..]);
    out
}

fn pretty(v: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_default();
    out.push(b'\n');
    out
}

/// One refusal case.
struct Case {
    file: String,
    rule: Rule,
    description: String,
    prefix: usize,
    line: String,
    now: Option<String>,
}

impl Case {
    fn to_json(&self) -> Value {
        let mut v = json!({
            "rule": self.rule,
            "description": self.description,
            "prefix": self.prefix,
            "line": self.line,
        });
        if let Some(now) = &self.now {
            v["now"] = Value::from(now.clone());
        }
        v
    }
}

/// Crafts records against a prefix of the ledger.
struct Crafter<'a> {
    s: &'a Scenario,
    records: Vec<Record>,
    salt: u64,
}

impl<'a> Crafter<'a> {
    fn state_at(&self, prefix: usize) -> Validator {
        let mut v = Validator::new(self.s.trust.clone(), ValidatorConfig::default());
        for r in &self.records[..prefix] {
            // The prefix is the valid ledger: it replays.
            let _ = v.append(r, None);
        }
        v
    }

    fn key(&self, label: &str) -> SecretKey {
        if label == "root" {
            return self.s.root_key.clone();
        }
        self.s
            .actor(label)
            .map(|a| a.key.clone())
            .unwrap_or_else(|| SecretKey::from_seed(derive(0, label)))
    }

    fn agency(&self, label: &str) -> String {
        if label == "root" {
            return self.s.root_agency.to_string();
        }
        self.s
            .actor(label)
            .map_or("ml-unknown-unit", |a| a.agency)
            .to_string()
    }

    /// Signs a record that extends `chain` as it stands after `prefix` records.
    #[allow(clippy::too_many_arguments)]
    fn craft(
        &mut self,
        prefix: usize,
        chain: &str,
        label: &str,
        kind: K,
        occurred: &str,
        recorded: &str,
        body: Value,
    ) -> Record {
        let head = self.state_at(prefix).head(chain);
        self.salt += 1;
        let salt = &derive(99, &format!("vector-salt/{}", self.salt))[..16];
        Draft {
            ledger: self.s.name.clone(),
            chain: chain.to_string(),
            seq: head.map_or(0, |h| h.seq + 1),
            prev: head.map(|h| h.hash),
            kind,
            occurred_at: ts(occurred),
            recorded_at: ts(recorded),
            agency: self.agency(label),
            body,
        }
        .sign(&self.key(label), salt)
    }

    fn position_of(&self, pred: impl Fn(&Record) -> bool) -> usize {
        self.records.iter().position(pred).unwrap_or(0)
    }

    fn chain_of(&self, path: &str) -> String {
        self.s
            .detainees
            .iter()
            .find(|d| d.path == path)
            .map(|d| d.chain.clone())
            .unwrap_or_default()
    }

    fn last_of(&self, chain: &str, kind: K) -> Option<&Record> {
        self.records
            .iter()
            .rev()
            .find(|r| r.header.chain == chain && r.header.kind == kind)
    }
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap_or_else(|_| Timestamp::from_unix_seconds(0))
}

/// Re-signs a record after its header was changed.
fn resign(mut r: Record, key: &SecretKey) -> Record {
    r.hash = r.header.compute_hash();
    r.signature = key.sign(&signed_message(&r.hash));
    r
}

fn resign_payload(mut r: Record, key: &SecretKey) -> Record {
    if let Some(p) = &r.payload {
        r.header.payload_digest = p.digest();
    }
    resign(r, key)
}

fn questioning_body() -> Value {
    json!({"started_at": "2019-06-01T08:00:00Z", "language": "French", "counsel_present": false, "facility": "camp1-bamako",
           "officers": [{"name": "Adjudant-chef M. Diarra"}]})
}

fn invalid_cases(s: &Scenario) -> Result<Vec<Case>, String> {
    let records = s.published_records();
    let n = records.len();
    let mut c = Crafter {
        s,
        records,
        salt: 0,
    };
    let authority_count = c.position_of(|r| r.header.chain != AUTHORITY_CHAIN);
    let mut cases = Vec::new();
    let mut add = |file: &str,
                   rule: Rule,
                   description: &str,
                   prefix: usize,
                   line: String,
                   now: Option<&str>| {
        cases.push(Case {
            file: file.to_string(),
            rule,
            description: description.to_string(),
            prefix,
            line,
            now: now.map(str::to_string),
        });
    };

    let convicted = c.chain_of("convicted");
    let acquitted = c.chain_of("acquitted");
    let gap = c.chain_of("unanswered_handover");
    let pending = c.chain_of("restricted_and_corrected");
    let t = "2021-06-01T10:00:00Z";
    let t_after = "2021-06-01T10:05:00Z";

    // Form.
    let q = c.craft(
        n,
        &convicted,
        "mca-registrar",
        K::Visit,
        t,
        t_after,
        json!({"visitor_type": "family"}),
    );
    let line = q.to_json_line();
    add(
        "format-duplicate-key",
        Rule::Format,
        "a member name appears twice in the header",
        n,
        line.replacen("\"seq\":", "\"seq\":0,\"seq\":", 1),
        None,
    );
    add(
        "format-float",
        Rule::Format,
        "a floating point number in the body",
        n,
        line.replacen(
            "\"visitor_type\":\"family\"",
            "\"duration_minutes\":1.5,\"visitor_type\":\"family\"",
            1,
        ),
        None,
    );
    add(
        "format-unknown-header-field",
        Rule::Format,
        "the header has a member the format does not define",
        n,
        line.replacen("\"v\":1", "\"v\":1,\"x\":true", 1),
        None,
    );
    add(
        "format-bad-timestamp",
        Rule::Format,
        "occurred_at is not UTC with Z",
        n,
        line.replacen(t, "2021-06-01T10:00:00+00:00", 1),
        None,
    );

    // Hash and signature.
    let mut r = q.clone();
    r.header.occurred_at = ts("2021-06-01T09:00:00Z");
    add(
        "hash",
        Rule::Hash,
        "the header was altered after signing",
        n,
        r.to_json_line(),
        None,
    );
    let mut r = q.clone();
    r.header.occurred_at = ts("2021-06-01T09:00:00Z");
    r.hash = r.header.compute_hash();
    add(
        "signature",
        Rule::Signature,
        "hash recomputed after altering the header, signature not",
        n,
        r.to_json_line(),
        None,
    );
    let mut r = q.clone();
    let mut weak = [0u8; 32];
    weak[0] = 1;
    r.header.signer = PublicKeyId::from_bytes(weak);
    r.hash = r.header.compute_hash();
    add(
        "signer-key-weak",
        Rule::SignerKey,
        "the signer is a small-order (weak) key",
        n,
        r.to_json_line(),
        None,
    );

    // Chain link.
    let r = c.craft(n, AUTHORITY_CHAIN, "root", K::Arrest, t, t, json!({}));
    add(
        "chain-kind",
        Rule::ChainKind,
        "an arrest on the authority chain",
        n,
        r.to_json_line(),
        None,
    );
    let mut r = q.clone();
    r.header.seq += 1;
    add(
        "seq",
        Rule::Seq,
        "seq skips a position",
        n,
        resign(r, &c.key("mca-registrar")).to_json_line(),
        None,
    );
    let mut r = q.clone();
    r.header.prev = Some(Hash::of(b"not the head"));
    add(
        "prev",
        Rule::Prev,
        "prev is not the head's hash (a fork)",
        n,
        resign(r, &c.key("mca-registrar")).to_json_line(),
        None,
    );

    // Authority of the signer.
    let r = c.craft(
        n,
        AUTHORITY_CHAIN,
        "camp1-opj",
        K::AgencyRegistered,
        t,
        t,
        json!({"id": "ml-new-unit", "name": "New unit", "type": "police", "country": "ML"}),
    );
    let mut r = r;
    r.header.agency = s.root_agency.to_string();
    add(
        "not-trust-root",
        Rule::NotTrustRoot,
        "an authority event signed by an enrolled key that is not a root",
        n,
        resign(r, &c.key("camp1-opj")).to_json_line(),
        None,
    );
    let r = c.craft(
        n,
        &convicted,
        "stranger",
        K::Visit,
        t,
        t_after,
        json!({"visitor_type": "family"}),
    );
    add(
        "unknown-key",
        Rule::UnknownKey,
        "signed by a key never enrolled",
        n,
        r.to_json_line(),
        None,
    );
    let mut r = q.clone();
    r.header.agency = "ml-prison-koulikoro".into();
    add(
        "agency-mismatch",
        Rule::AgencyMismatch,
        "the MCA registrar's key signs for Koulikoro",
        n,
        resign(r, &c.key("mca-registrar")).to_json_line(),
        None,
    );
    let new_chain = custody_core::ids::detainee_chain_id(0x0168_0000_0000_0000_0000_0000_0000_0001);
    let arrest_body = c
        .records
        .iter()
        .find(|r| r.header.kind == K::Arrest)
        .and_then(|r| r.payload.clone())
        .map(|p| p.body)
        .unwrap_or(Value::Null);
    let r = c.craft(
        n,
        &new_chain,
        "fama-officer",
        K::Arrest,
        "2018-12-01T08:00:00Z",
        "2018-12-01T09:00:00Z",
        arrest_body.clone(),
    );
    add(
        "key-not-yet-valid",
        Rule::KeyNotYetValid,
        "recorded before the key's valid_from",
        n,
        r.to_json_line(),
        None,
    );
    let r = c.craft(
        n,
        &new_chain,
        "fama-officer",
        K::Arrest,
        "2022-01-01T08:00:00Z",
        "2022-01-01T09:00:00Z",
        arrest_body.clone(),
    );
    add(
        "key-expired",
        Rule::KeyExpired,
        "recorded after the key's valid_until",
        n,
        r.to_json_line(),
        None,
    );
    let r = c.craft(
        n,
        &new_chain,
        "police-gao-tablet",
        K::Arrest,
        t,
        t_after,
        arrest_body.clone(),
    );
    add(
        "key-revoked",
        Rule::KeyRevoked,
        "signed by the lost tablet's key after its revocation",
        n,
        r.to_json_line(),
        None,
    );
    let r = c.craft(
        n,
        &new_chain,
        "mca-registrar",
        K::Arrest,
        t,
        t_after,
        arrest_body.clone(),
    );
    add(
        "role",
        Rule::Role,
        "a registrar records an arrest",
        n,
        r.to_json_line(),
        None,
    );

    // Time.
    let r = c.craft(
        n,
        &convicted,
        "mca-registrar",
        K::Visit,
        t_after,
        t,
        json!({"visitor_type": "family"}),
    );
    add(
        "occurred-after-recorded",
        Rule::OccurredAfterRecorded,
        "occurred_at after recorded_at",
        n,
        r.to_json_line(),
        None,
    );
    let r = c.craft(
        authority_count,
        &new_chain,
        "fama-officer",
        K::Arrest,
        "2019-06-01T00:00:00Z",
        "2019-06-01T01:00:00Z",
        arrest_body.clone(),
    );
    add("future", Rule::Future, "recorded an hour after the verifier's clock (given as now; the prefix replays without the future rule)", authority_count, r.to_json_line(), Some("2019-06-01T00:00:00Z"));

    let r = c.craft(n, &convicted, "pole-clerk", K::DetentionOrder, t, t_after,
        json!({"issuing_authority": "Juge", "order_ref": "PJS/MD/2021/0001", "offence_class": "crime",
               "start": "2021-06-01T00:00:00Z", "valid_until": "2020-06-01T00:00:00Z", "legal_basis": "art. 135"}));
    add(
        "state-time-order",
        Rule::State(S::TimeOrder),
        "a detention order valid until before it starts",
        n,
        r.to_json_line(),
        None,
    );

    // Payload.
    let first_agency = c.records[0].clone();
    add(
        "payload-missing",
        Rule::PayloadMissing,
        "an authority record without its payload",
        0,
        first_agency.without_payload().to_json_line(),
        None,
    );
    let mut big = arrest_body.clone();
    big["grounds"] = Value::from("x".repeat(70_000));
    let r = c.craft(n, &new_chain, "fama-officer", K::Arrest, t, t_after, big);
    add(
        "payload-size",
        Rule::PayloadSize,
        "a canonical payload over 65,536 bytes",
        n,
        r.to_json_line(),
        None,
    );
    let mut r = q.clone();
    if let Some(p) = r.payload.as_mut() {
        p.body["visitor_type"] = Value::from("counsel");
    }
    add(
        "payload-digest",
        Rule::PayloadDigest,
        "the payload was altered after signing",
        n,
        r.to_json_line(),
        None,
    );
    let mut r = q.clone();
    if let Some(p) = r.payload.as_mut() {
        p.body = json!({"visitor": "family"});
    }
    add(
        "schema",
        Rule::Schema,
        "the body does not match the visit schema",
        n,
        resign_payload(r, &c.key("mca-registrar")).to_json_line(),
        None,
    );

    // State: detainee chains.
    let r = c.craft(
        n,
        &new_chain,
        "camp1-opj",
        K::Questioning,
        t,
        t_after,
        questioning_body(),
    );
    add(
        "state-first-event-arrest",
        Rule::State(S::FirstEventArrest),
        "a new chain that does not start with arrest",
        n,
        r.to_json_line(),
        None,
    );
    let r = c.craft(
        n,
        &gap,
        "camp1-opj",
        K::Questioning,
        t,
        t_after,
        questioning_body(),
    );
    add(
        "state-custody-gap",
        Rule::State(S::CustodyGap),
        "questioning while a handover is unanswered",
        n,
        r.to_json_line(),
        None,
    );
    let r = c.craft(
        n,
        &acquitted,
        "camp1-opj",
        K::Questioning,
        t,
        t_after,
        questioning_body(),
    );
    add(
        "state-status-forbids",
        Rule::State(S::StatusForbids),
        "questioning after release",
        n,
        r.to_json_line(),
        None,
    );
    let r = c.craft(
        n,
        &convicted,
        "camp1-opj",
        K::Questioning,
        t,
        t_after,
        questioning_body(),
    );
    add(
        "state-not-holder",
        Rule::State(S::NotHolder),
        "Camp One questions a person held by a prison",
        n,
        r.to_json_line(),
        None,
    );
    let any_release = c
        .last_of(&convicted, K::CustodyReleased)
        .map(|r| r.hash)
        .unwrap_or_default();
    let accepted = |release: Hash| json!({"release_event": release.to_hex(), "condition_on_arrival": {"visible_injuries": {"present": false}, "complaints_of_ill_treatment": {"present": false}}});
    let r = c.craft(
        n,
        &convicted,
        "mca-registrar",
        K::CustodyAccepted,
        t,
        t_after,
        accepted(any_release),
    );
    add(
        "state-no-pending-release",
        Rule::State(S::NoPendingRelease),
        "custody accepted with no pending release",
        n,
        r.to_json_line(),
        None,
    );
    let gap_release = c
        .last_of(&gap, K::CustodyReleased)
        .map(|r| r.hash)
        .unwrap_or_default();
    let gap_to = c
        .last_of(&gap, K::CustodyReleased)
        .and_then(|r| r.payload.as_ref())
        .and_then(|p| p.body["to_agency"].as_str().map(str::to_string))
        .unwrap_or_default();
    let (right, wrong) = if gap_to == "ml-mca-bamako" {
        ("mca-registrar", "koulikoro-registrar")
    } else {
        ("koulikoro-registrar", "mca-registrar")
    };
    let r = c.craft(
        n,
        &gap,
        wrong,
        K::CustodyAccepted,
        t,
        t_after,
        accepted(gap_release),
    );
    add(
        "state-wrong-receiver",
        Rule::State(S::WrongReceiver),
        "custody accepted by an agency the release did not name",
        n,
        r.to_json_line(),
        None,
    );
    let r = c.craft(
        n,
        &gap,
        right,
        K::CustodyAccepted,
        t,
        t_after,
        accepted(any_release),
    );
    add(
        "state-release-mismatch",
        Rule::State(S::ReleaseMismatch),
        "custody accepted answering another release",
        n,
        r.to_json_line(),
        None,
    );
    let release_body = |to: &str, facility: Option<&str>| {
        let mut b = json!({"to_agency": to, "place": {"description": "prison gate", "region": "Bamako"}, "reason": "transfer", "legal_status": "pre_trial_detention"});
        if let Some(f) = facility {
            b["to_facility"] = Value::from(f);
        }
        b
    };
    let r = c.craft(
        n,
        &convicted,
        "mca-registrar",
        K::CustodyReleased,
        t,
        t_after,
        release_body("ml-mca-bamako", None),
    );
    add(
        "state-self-handover",
        Rule::State(S::SelfHandover),
        "a prison hands a person over to itself",
        n,
        r.to_json_line(),
        None,
    );
    let r = c.craft(
        n,
        &convicted,
        "mca-registrar",
        K::CustodyReleased,
        t,
        t_after,
        release_body("ml-unknown-unit", None),
    );
    add(
        "state-unknown-agency",
        Rule::State(S::UnknownAgency),
        "a handover to an agency that is not registered",
        n,
        r.to_json_line(),
        None,
    );
    let r = c.craft(
        n,
        &convicted,
        "mca-registrar",
        K::CustodyReleased,
        t,
        t_after,
        release_body("ml-prison-koulikoro", Some("mca-bamako")),
    );
    add(
        "state-facility-of-other-agency",
        Rule::State(S::FacilityOfOtherAgency),
        "a handover to Koulikoro naming an MCA facility",
        n,
        r.to_json_line(),
        None,
    );
    let r = c.craft(n, &convicted, "camp1-opj", K::PlacementDecision, t, t_after,
        json!({"destination_facility": "nowhere-prison", "security_classification": "low", "reasons": "r", "authority": "ml-gendarmerie-camp1"}));
    add(
        "state-unknown-facility",
        Rule::State(S::UnknownFacility),
        "a placement in a facility that is not registered",
        n,
        r.to_json_line(),
        None,
    );

    let admission = |facility: &str, order_event: Hash, order: &str| {
        json!({"facility": facility, "registry_number": "MCA-2021-09999",
               "commitment_order_event": order_event.to_hex(), "commitment_order_ref": order,
               "commitment_authority": "Juge d'instruction", "commitment_grounds": "mandat de dépôt",
               "legal_status": "pre_trial_detention", "unit_or_cell": "B-1", "rules_explained": true,
               "social_interview_done": false, "visible_injuries": {"present": false},
               "complaints_of_ill_treatment": {"present": false}})
    };
    let convicted_order = c.last_of(&convicted, K::DetentionOrder);
    let order_event = convicted_order.map(|r| r.hash).unwrap_or_default();
    let order_ref = convicted_order
        .and_then(|r| r.payload.as_ref())
        .and_then(|p| p.body["order_ref"].as_str().map(str::to_string))
        .unwrap_or_default();
    let holder_registrar = if c
        .last_of(&convicted, K::Admission)
        .and_then(|r| r.payload.as_ref())
        .and_then(|p| p.body["facility"].as_str())
        == Some("mca-bamako")
    {
        ("mca-registrar", "mca-annexe")
    } else {
        ("koulikoro-registrar", "koulikoro")
    };
    let r = c.craft(
        n,
        &convicted,
        holder_registrar.0,
        K::Admission,
        t,
        t_after,
        admission("mca-annexe", order_event, &order_ref),
    );
    if holder_registrar.0 == "mca-registrar" {
        add(
            "state-facility-not-recognised",
            Rule::State(S::FacilityNotRecognised),
            "admission to a place that is not an officially recognised place of detention",
            n,
            r.to_json_line(),
            None,
        );
    }
    let facility = if holder_registrar.0 == "mca-registrar" {
        "mca-bamako"
    } else {
        "koulikoro"
    };
    let r = c.craft(
        n,
        &convicted,
        holder_registrar.0,
        K::Admission,
        t,
        t_after,
        admission(facility, Hash::of(b"no such order"), &order_ref),
    );
    add(
        "state-no-commitment-order",
        Rule::State(S::NoCommitmentOrder),
        "admission without a valid commitment order (Mandela Rule 7)",
        n,
        r.to_json_line(),
        None,
    );
    let p_order_record = c.last_of(&pending, K::DetentionOrder);
    let p_order_event = p_order_record.map(|r| r.hash).unwrap_or_default();
    let in_force = p_order_record
        .and_then(|r| r.header.facts.timestamp("start"))
        .unwrap_or_else(|| ts(t))
        .plus_seconds(86_400);
    let p_order = p_order_record
        .and_then(|r| r.payload.as_ref())
        .map(|p| {
            (
                p.body["order_ref"].as_str().unwrap_or("").to_string(),
                p.body["valid_until"].as_str().unwrap_or("").to_string(),
            )
        })
        .unwrap_or_default();
    let p_reg = c
        .last_of(&pending, K::Admission)
        .map(|r| r.header.agency.clone())
        .unwrap_or_default();
    let (p_label, p_fac) = if p_reg == "ml-mca-bamako" {
        ("mca-registrar", "mca-bamako")
    } else {
        ("koulikoro-registrar", "koulikoro")
    };
    let late = ts(&p_order.1).plus_seconds(10 * 86_400);
    let r = c.craft(
        n,
        &pending,
        p_label,
        K::Admission,
        late.as_str(),
        late.plus_seconds(60).as_str(),
        admission(p_fac, p_order_event, &p_order.0),
    );
    add(
        "state-commitment-order-expired",
        Rule::State(S::CommitmentOrderExpired),
        "admission on a detention order that has expired",
        n,
        r.to_json_line(),
        None,
    );
    // The file of Mandela Rule 8: an answer to no complaint; counsel named by a key that is not
    // a lawyer's.
    let r = c.craft(n, &convicted, "pole-prosecutor", K::ComplaintAnswered, t, t_after,
        json!({"complaint_event": Hash::of(b"no such complaint").to_hex(), "answered_by": "Procureur",
               "answered_at": t, "outcome": "rejected", "answer": "a"}));
    add(
        "state-unknown-event-complaint",
        Rule::State(S::UnknownEvent),
        "an answer to a complaint the chain does not hold",
        n,
        r.to_json_line(),
        None,
    );
    let not_a_lawyer = c.key("mca-registrar").public().to_string();
    let r = c.craft(
        n,
        &convicted,
        "pole-judge",
        K::CounselAppointed,
        t,
        t_after,
        json!({"counsel_key": not_a_lawyer, "counsel_name": "Maître X", "chosen_by_detainee": false,
               "authority": "Juge d'instruction"}),
    );
    add(
        "state-counsel-key",
        Rule::State(S::CounselKey),
        "counsel appointed with a key that is not enrolled with role counsel (a registrar's)",
        n,
        r.to_json_line(),
        None,
    );
    // Legal status: a person awaiting trial (a detention order, no judgment) called convicted.
    let mut convicted_admission = admission(p_fac, p_order_event, &p_order.0);
    convicted_admission["legal_status"] = json!("convicted_final");
    let r = c.craft(
        n,
        &pending,
        p_label,
        K::Admission,
        in_force.as_str(),
        in_force.plus_seconds(60).as_str(),
        convicted_admission,
    );
    add(
        "state-legal-status",
        Rule::State(S::LegalStatus),
        "an admission that calls a person awaiting trial convicted_final: no judgment convicts them",
        n,
        r.to_json_line(),
        None,
    );
    let r = c.craft(
        n,
        &pending,
        p_label,
        K::CustodyReleased,
        t,
        t_after,
        json!({"to_agency": "ml-gendarmerie-camp1", "place": {"description": "prison gate", "region": "Bamako"},
               "reason": "transfer", "legal_status": "convicted_not_final"}),
    );
    add(
        "state-legal-status-release",
        Rule::State(S::LegalStatus),
        "a handover that calls a person awaiting trial convicted_not_final",
        n,
        r.to_json_line(),
        None,
    );
    let r = c.craft(n, &convicted, "pole-clerk", K::DetentionExtended, t, t_after,
        json!({"order_event": Hash::of(b"no such order").to_hex(), "order_ref": "PJS/MD/NO-SUCH-ORDER", "extension_ref": "X/P1", "issuing_authority": "Juge", "valid_until": "2022-01-01T00:00:00Z", "reasons": "r"}));
    add(
        "state-unknown-order",
        Rule::State(S::UnknownOrder),
        "extension of an order the chain does not hold",
        n,
        r.to_json_line(),
        None,
    );
    let barkhane_arrest =
        c.position_of(|r| r.header.kind == K::Arrest && r.header.agency == "fr-barkhane");
    let b_chain = c.records[barkhane_arrest].header.chain.clone();
    let b_time = c.records[barkhane_arrest]
        .header
        .recorded_at
        .plus_seconds(60);
    let r = c.craft(barkhane_arrest + 1, &b_chain, "barkhane-prevot", K::PoliceCustodyExtended, b_time.as_str(), b_time.as_str(),
        json!({"authorisation_ref": "X", "authorised_by": "Y", "extension_hours": 24, "extended_until": "2022-01-01T00:00:00Z", "reasons": "r"}));
    add(
        "state-no-police-custody",
        Rule::State(S::NoPoliceCustody),
        "an extension of police custody that never started",
        barkhane_arrest + 1,
        r.to_json_line(),
        None,
    );
    let r = c.craft(barkhane_arrest + 1, &b_chain, "barkhane-prevot", K::PoliceCustodyStarted, b_time.as_str(), b_time.as_str(),
        json!({"facility": "camp1-bamako", "started_at": b_time.as_str(), "officer": {"name": "Major P. Garnier"}, "grounds": "g",
               "suspected_offence": "s", "regime": "terrorism", "rights_notified": true}));
    add(
        "state-agency-type",
        Rule::State(S::AgencyType),
        "a foreign military unit places a person in police custody",
        barkhane_arrest + 1,
        r.to_json_line(),
        None,
    );
    let r = c.craft(n, &convicted, "pole-clerk", K::Correction, t, t_after,
        json!({"corrects": Hash::of(b"elsewhere").to_hex(), "reason": "r", "corrected_fields": {"x": 1}}));
    add(
        "state-unknown-event",
        Rule::State(S::UnknownEvent),
        "a correction of an event that is not in the chain",
        n,
        r.to_json_line(),
        None,
    );
    let adm = c
        .last_of(&convicted, K::Admission)
        .map(|r| r.hash)
        .unwrap_or_default();
    let r = c.craft(n, &convicted, "pole-clerk", K::Correction, t, t_after,
        json!({"corrects": adm.to_hex(), "reason": "r", "corrected_fields": {"unit_or_cell": "C-2"}}));
    add(
        "state-correction-role",
        Rule::State(S::CorrectionRole),
        "a court clerk corrects a registrar's admission",
        n,
        r.to_json_line(),
        None,
    );
    let r = c.craft(
        n,
        &convicted,
        "mca-registrar",
        K::IdentityLinked,
        t,
        t_after,
        json!({"other_chain": convicted, "method": "registrar_review", "basis": "b"}),
    );
    add(
        "state-self-link",
        Rule::State(S::SelfLink),
        "a chain linked to itself",
        n,
        r.to_json_line(),
        None,
    );

    // State: authority chain.
    let root_t = "2021-06-01T10:00:00Z";
    let r = c.craft(
        n,
        AUTHORITY_CHAIN,
        "root",
        K::AgencyRegistered,
        root_t,
        root_t,
        json!({"id": "ml-mca-bamako", "name": "again", "type": "prison", "country": "ML"}),
    );
    add(
        "state-duplicate",
        Rule::State(S::Duplicate),
        "an agency registered twice",
        n,
        r.to_json_line(),
        None,
    );
    let r = c.craft(n, AUTHORITY_CHAIN, "root", K::KeyRevoked, root_t, root_t,
        json!({"key": c.key("stranger").public().to_string(), "reason": "r", "effective_from": root_t}));
    add(
        "state-key-not-enrolled",
        Rule::State(S::KeyNotEnrolled),
        "revocation of a key never enrolled",
        n,
        r.to_json_line(),
        None,
    );
    let r = c.craft(n, AUTHORITY_CHAIN, "root", K::KeyEnrolled, root_t, root_t,
        json!({"key": c.key("newcomer").public().to_string(), "agency": "ml-mca-bamako", "roles": ["registrar"], "holder_name": "h",
               "holder_badge": "b", "valid_from": "2021-06-01T00:00:00Z", "valid_until": "2021-05-01T00:00:00Z"}));
    add(
        "state-bad-validity",
        Rule::State(S::BadValidity),
        "a key valid until before it is valid from",
        n,
        r.to_json_line(),
        None,
    );

    // Records bound to their ledger.
    let mut r = q.clone();
    r.header.ledger = "custody-ledger.other.ml".into();
    add(
        "ledger",
        Rule::Ledger,
        "a record signed for another ledger where the same key is enrolled",
        n,
        resign(r, &c.key("mca-registrar")).to_json_line(),
        None,
    );

    // Facts.
    let release = c.craft(
        n,
        &convicted,
        "mca-registrar",
        K::CustodyReleased,
        t,
        t_after,
        release_body("ml-prison-koulikoro", Some("koulikoro")),
    );
    let mut r = release.clone();
    let mut facts = release.header.facts.to_value();
    facts["to_agency"] = json!("ml-gendarmerie-camp1");
    r.header.facts = Facts::from_value(K::CustodyReleased, &facts).map_err(|e| e.to_string())?;
    add(
        "facts",
        Rule::Facts,
        "the header's facts name another receiving agency than the body",
        n,
        resign(r, &c.key("mca-registrar")).to_json_line(),
        None,
    );
    let mut r = release.without_payload();
    r.header.facts = Facts::empty();
    add(
        "format-missing-fact",
        Rule::Format,
        "a header-only custody_released whose facts lack to_agency",
        n,
        resign(r, &c.key("mca-registrar")).to_json_line(),
        None,
    );

    // Form: numbers, strings, depth, payload shape.
    add(
        "format-negative-zero",
        Rule::Format,
        "-0 is not an integer spelling of this format (its canonical form would be 0)",
        n,
        line.replacen(
            "\"visitor_type\":\"family\"",
            "\"duration_minutes\":-0,\"visitor_type\":\"family\"",
            1,
        ),
        None,
    );
    add(
        "format-lone-surrogate",
        Rule::Format,
        "a string holding a lone surrogate escape",
        n,
        line.replacen(
            "\"visitor_type\":\"family\"",
            "\"visitor_type\":\"fam\\ud800ily\"",
            1,
        ),
        None,
    );
    // The record object is level 1, its payload 2, the body 3: arrays nested 62 deep inside the
    // body reach level 65, one over the limit; 61 deep reach 64, which parses (and then fails
    // the schema).
    let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    add(
        "format-too-deep",
        Rule::Format,
        "nesting 65 levels deep, counting the record object as level 1",
        n,
        line.replacen(
            "\"visitor_type\":\"family\"",
            &format!("\"deep\":{},\"visitor_type\":\"family\"", nested(62)),
            1,
        ),
        None,
    );
    add(
        "schema-deep-within-limit",
        Rule::Schema,
        "nesting exactly 64 levels deep parses; the unknown member then fails the schema",
        n,
        resign_payload(
            {
                let mut r = q.clone();
                if let Some(p) = r.payload.as_mut() {
                    let mut v = Value::Array(vec![]);
                    for _ in 1..61 {
                        v = Value::Array(vec![v]);
                    }
                    p.body["deep"] = v;
                }
                r
            },
            &c.key("mca-registrar"),
        )
        .to_json_line(),
        None,
    );
    let salt15 = custody_core::encoding::b64url(&[7u8; 15]);
    let mut r = q.clone();
    if let Some(p) = r.payload.as_mut() {
        p.salt = salt15;
    }
    add(
        "format-short-salt",
        Rule::Format,
        "a payload salt of 15 bytes (at least 16 are required)",
        n,
        resign_payload(r, &c.key("mca-registrar")).to_json_line(),
        None,
    );
    add(
        "format-payload-shape",
        Rule::Format,
        "a payload with a member other than salt and body",
        n,
        line.replacen("\"payload\":{", "\"payload\":{\"extra\":1,", 1),
        None,
    );
    let r = c.craft(n, &convicted, "pole-judge", K::PoliceCustodyExtended, t, t_after,
        json!({"authorisation_ref": "X", "authorised_by": "Y", "extension_hours": 24, "extended_until": "2021-02-29T00:00:00Z", "reasons": "r"}));
    add(
        "schema-calendar-invalid-instant",
        Rule::Schema,
        "an instant inside a body that is not a calendar date (29 February 2021)",
        n,
        r.to_json_line(),
        None,
    );

    // Chain link at position 0.
    let r = c.craft(
        n,
        &new_chain,
        "fama-officer",
        K::Arrest,
        t,
        t_after,
        arrest_body.clone(),
    );
    let mut r = r;
    r.header.prev = Some(Hash::of(b"no previous record"));
    add(
        "prev-at-seq-0",
        Rule::Prev,
        "the first record of a new chain names a previous record",
        n,
        resign(r, &c.key("fama-officer")).to_json_line(),
        None,
    );

    // Keys: a non-canonical encoding of a valid point (y + p), as signer and as enrolled key.
    let non_canonical = (2u8..=18)
        .map(|y| {
            let mut b = [0xffu8; 32];
            b[0] = 0xed + y;
            b[31] = 0x7f;
            PublicKeyId::from_bytes(b)
        })
        .find(|k| matches!(k.verifying_key(), Err(KeyError::NonCanonical(_))))
        .ok_or("no non-canonical encoding of a usable point among y + p, y in 2..=18")?;
    let mut r = q.clone();
    r.header.signer = non_canonical;
    r.hash = r.header.compute_hash();
    add(
        "signer-key-non-canonical",
        Rule::SignerKey,
        "the signer is a valid point written with y >= p (not its canonical encoding)",
        n,
        r.to_json_line(),
        None,
    );
    let r = c.craft(n, AUTHORITY_CHAIN, "root", K::KeyEnrolled, root_t, root_t,
        json!({"key": non_canonical.to_string(), "agency": "ml-mca-bamako", "roles": ["registrar"], "holder_name": "h",
               "holder_badge": "b", "valid_from": "2021-06-01T00:00:00Z"}));
    add(
        "state-unusable-key",
        Rule::State(S::UnusableKey),
        "enrolment of a key that is not the canonical encoding of its point",
        n,
        r.to_json_line(),
        None,
    );

    // Corrections name fields of the corrected kind, never its facts.
    let holder = holder_registrar.0;
    let r = c.craft(
        n,
        &convicted,
        holder,
        K::Correction,
        t,
        t_after,
        json!({"corrects": adm.to_hex(), "reason": "r", "corrected_fields": {"cell": "C-2"}}),
    );
    add(
        "state-correction-fields",
        Rule::State(S::CorrectionFields),
        "a correction of a field the admission schema does not have",
        n,
        r.to_json_line(),
        None,
    );
    let r = c.craft(n, &convicted, holder, K::Correction, t, t_after,
        json!({"corrects": adm.to_hex(), "reason": "r", "corrected_fields": {"facility": "koulikoro"}}));
    add(
        "state-correction-fields-fact",
        Rule::State(S::CorrectionFields),
        "a correction of a fact (the admission's facility), which rules read",
        n,
        r.to_json_line(),
        None,
    );

    // Strict signatures and spellings an independent verifier must refuse by itself.
    let mut r = q.clone();
    // S >= L: add the group order L to S (little-endian), so that S mod L verifies.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (s_byte, l_byte) in r.signature[32..].iter_mut().zip(L) {
        let sum = u16::from(*s_byte) + u16::from(l_byte) + carry;
        *s_byte = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    if carry == 0 && r.signature[63] & 0xe0 == 0 {
        add(
            "signature-s-not-reduced",
            Rule::Signature,
            "S + L in place of S: the same value mod L, but not reduced",
            n,
            r.to_json_line(),
            None,
        );
    }
    let mut r = q.clone();
    // R = the identity point (small order), S = 0: strict verification refuses the small-order
    // R by itself, before any equation.
    let mut sig = [0u8; 64];
    sig[0] = 1;
    r.signature = sig;
    add(
        "signature-small-order-r",
        Rule::Signature,
        "R is the identity (a small-order point) and S is 0",
        n,
        r.to_json_line(),
        None,
    );
    add(
        "format-header-calendar-instant",
        Rule::Format,
        "a header timestamp that is not a calendar date (31 June)",
        n,
        line.replacen(t_after, "2021-06-31T10:05:00Z", 1),
        None,
    );
    add(
        "format-integer-too-large",
        Rule::Format,
        "an integer beyond 2^53-1 in the body",
        n,
        line.replacen(
            "\"visitor_type\":\"family\"",
            "\"duration_minutes\":9007199254740992,\"visitor_type\":\"family\"",
            1,
        ),
        None,
    );
    add(
        "format-uppercase-hex",
        Rule::Format,
        "the record hash written in uppercase hexadecimal",
        n,
        line.replacen(&q.hash.to_hex(), &q.hash.to_hex().to_uppercase(), 1),
        None,
    );
    let sig_text = custody_core::encoding::b64url(&q.signature);
    add(
        "format-base64-padding",
        Rule::Format,
        "the signature written with base64 padding",
        n,
        line.replacen(&sig_text, &format!("{sig_text}=="), 1),
        None,
    );
    add(
        "format-header-value",
        Rule::Format,
        "a well-typed header member with a value the format does not allow (v = 2)",
        n,
        line.replacen("\"v\":1", "\"v\":2", 1),
        None,
    );

    // Every case must be refused by exactly its rule.
    for case in &cases {
        let mut v = c.state_at(case.prefix);
        // `None`: accepted.
        let got = match Record::from_json(case.line.as_bytes()) {
            Err(_) => Some(Rule::Format),
            Ok(r) => {
                let now = case.now.as_deref().map(ts);
                v.append(&r, now.as_ref()).err().map(|e| e.rule())
            }
        };
        if got != Some(case.rule) {
            return Err(format!(
                "invalid case {} expects rule {} but the validator says {}",
                case.file,
                case.rule,
                got.map_or("accepted", Rule::code)
            ));
        }
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regenerated vectors must equal the committed ones byte for byte: run
    /// `cargo run -p custody-scenario --bin custody-vectors` after a deliberate format change.
    #[test]
    fn committed_vectors_are_up_to_date() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/v1");
        let files = generate().unwrap();
        for (name, bytes) in &files {
            let mut committed = std::fs::read(dir.join(name)).unwrap_or_default();
            let mut bytes = bytes.clone();
            if name == "packet.packet" {
                committed = mask_sealed(&committed);
                bytes = mask_sealed(&bytes);
            }
            assert!(committed == bytes, "tests/vectors/v1/{name} differs from its regeneration: run `cargo run -p custody-scenario --bin custody-vectors`");
        }
        let committed_invalid = std::fs::read_dir(dir.join("invalid")).unwrap().count();
        let generated_invalid = files.keys().filter(|k| k.starts_with("invalid/")).count();
        assert_eq!(
            committed_invalid, generated_invalid,
            "stale files in tests/vectors/v1/invalid"
        );
    }
}
