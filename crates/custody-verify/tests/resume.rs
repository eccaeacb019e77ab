//! A verification resumed from a saved state gives the report and the state of one pass over
//! the whole ledger, on generated ledgers (custody-scenario); a saved state that was altered,
//! or that is not the state of its checkpoint, is refused.

use custody_core::checkpoint::{verify_checkpoint, Checkpoint, NoteSigner};
use custody_core::merkle::{leaf_hash, Frontier};
use custody_scenario::{build, Scenario, ScenarioConfig};
use custody_verify::{SavedState, StateError, Verifier, VerifyError};

fn scenario(detainees: usize) -> Scenario {
    build(&ScenarioConfig { seed: 7, detainees }).unwrap()
}

fn jsonl(s: &Scenario, n: usize) -> String {
    s.published_records()[..n]
        .iter()
        .map(|r| r.to_json_line() + "\n")
        .collect()
}

fn verify_text(v: &mut Verifier, text: &str) -> Result<custody_verify::Report, VerifyError> {
    v.verify_jsonl(|| Ok(std::io::BufReader::new(text.as_bytes())))
}

fn state_json(state: &SavedState) -> serde_json::Value {
    serde_json::to_value(state).unwrap()
}

/// Verifies `[0, split)`, saves the state through its file form, resumes over `[0, total)`.
fn resumed(s: &Scenario, split: usize, total: usize) -> Result<Verifier, VerifyError> {
    let mut first = Verifier::new(s.trust.clone())
        .with_threads(2)
        .with_batch(64);
    let report = verify_text(&mut first, &jsonl(s, split)).unwrap();
    assert_eq!(report.failure, None);
    let bytes = first.saved_state(None).to_bytes().unwrap();
    let state = SavedState::from_bytes(&bytes).unwrap();
    let mut v = Verifier::resume(s.trust.clone(), state)
        .unwrap()
        .with_threads(2)
        .with_batch(64);
    let report = verify_text(&mut v, &jsonl(s, total))?;
    assert_eq!(report.failure, None, "resumed at {split}");
    Ok(v)
}

#[test]
fn resuming_at_n_gives_the_report_and_state_of_one_pass() {
    let s = scenario(40);
    let total = s.records.len();
    let mut whole = Verifier::new(s.trust.clone()).with_threads(2);
    let full = verify_text(&mut whole, &jsonl(&s, total)).unwrap();
    assert_eq!(full.failure, None);
    let mut resumed_ok = 0;
    for split in [1, 7, total / 3, total / 2, total - 1, total] {
        match resumed(&s, split, total) {
            Ok(v) => {
                assert_eq!(v.summary(), whole.summary(), "resumed at {split}");
                assert_eq!(
                    state_json(&v.saved_state(None)),
                    state_json(&whole.saved_state(None)),
                    "resumed at {split}"
                );
                resumed_ok += 1;
            }
            // Only a correction or redaction of an event before the split that the first
            // part's state did not remember sends it back to the start; that event is before
            // the split indeed.
            Err(VerifyError::NeedsFullPass { target, .. }) => {
                let at = s.records.iter().position(|r| r.hash == target);
                assert!(at.is_some_and(|p| p < split), "resumed at {split}");
            }
            Err(e) => panic!("resumed at {split}: {e}"),
        }
    }
    assert!(resumed_ok >= 4, "{resumed_ok} resumed");
}

#[test]
fn a_refused_record_after_the_saved_size_is_named_as_in_one_pass() {
    let s = scenario(10);
    let total = s.records.len();
    let mut lines: Vec<String> = jsonl(&s, total).lines().map(str::to_string).collect();
    // A record of the second half with a byte of its header changed.
    let bad = total * 3 / 4;
    let mut r = custody_core::Record::from_json(lines[bad].as_bytes()).unwrap();
    r.header.agency.push('x');
    lines[bad] = r.to_json_line();
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let mut whole = Verifier::new(s.trust.clone());
    let full = verify_text(&mut whole, &text).unwrap();
    let mut first = Verifier::new(s.trust.clone());
    verify_text(&mut first, &jsonl(&s, total / 2)).unwrap();
    let state = first.saved_state(None);
    let mut v = Verifier::resume(s.trust.clone(), state).unwrap();
    let part = verify_text(&mut v, &text).unwrap();
    let f = part.failure.unwrap();
    assert_eq!(Some(f.clone()), full.failure);
    assert_eq!((f.position, f.line), (bad as u64, Some(bad as u64 + 1)));
    assert_eq!(f.rule, custody_core::Rule::Hash);
}

fn checkpoint_of(s: &Scenario, v: &Verifier) -> (String, Checkpoint) {
    let signer = NoteSigner::new(&s.name, s.ledger_key.signing_key().clone()).unwrap();
    let summary = v.summary();
    let cp = Checkpoint {
        origin: s.name.clone(),
        size: summary.records,
        root: summary.root,
        extensions: Vec::new(),
    };
    let note = signer.sign_checkpoint(&cp).unwrap();
    let parsed = verify_checkpoint(&note, &signer.verifier()).unwrap();
    (note, parsed)
}

#[test]
fn an_altered_state_file_is_refused() {
    let s = scenario(5);
    let n = s.records.len() / 2;
    let mut v = Verifier::new(s.trust.clone());
    verify_text(&mut v, &jsonl(&s, n)).unwrap();
    let (note, cp) = checkpoint_of(&s, &v);
    let state = v.saved_state(Some(note));
    state.check_checkpoint(&cp).unwrap();
    let bytes = state.to_bytes().unwrap();
    assert!(SavedState::from_bytes(&bytes).is_ok());

    // One byte of the JSON changed: the digest beside it refuses it.
    let text = String::from_utf8(bytes.clone()).unwrap();
    let at = text.find("\"authority_records\":").unwrap() + "\"authority_records\":".len();
    let digit = if &text[at..=at] == "9" { "8" } else { "9" };
    let edited = format!("{}{digit}{}", &text[..at], &text[at + 1..]);
    assert_ne!(edited, text);
    assert!(matches!(
        SavedState::from_bytes(edited.as_bytes()),
        Err(StateError::Digest { .. })
    ));

    // The JSON changed and its digest recomputed (the file rewritten by someone who read the
    // format): the state no longer matches the checkpoint it claims to be at.
    let mut forged = state.clone();
    let mut frontier = Frontier::new();
    for r in &s.records[..n - 1] {
        frontier.push(leaf_hash(r.hash.as_bytes()));
    }
    frontier.push(leaf_hash(&[9; 32]));
    forged.frontier = frontier;
    let reread = SavedState::from_bytes(&forged.to_bytes().unwrap()).unwrap();
    assert!(matches!(
        reread.check_checkpoint(&cp),
        Err(StateError::Checkpoint(_))
    ));

    // A frontier whose node count is not the size's bits is not a frontier.
    let json = text.split_once('\n').unwrap().1.split_once('\n').unwrap().1;
    let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
    value["frontier"]["size"] = serde_json::json!(n as u64 | (1 << 40));
    let body = serde_json::to_vec(&value).unwrap();
    let digest = custody_core::Hash::of(&body).to_hex();
    let mut file = format!("custody-audit-state/v1\nsha256 {digest}\n").into_bytes();
    file.extend_from_slice(&body);
    assert!(matches!(
        SavedState::from_bytes(&file),
        Err(StateError::Json(_))
    ));
}

#[tokio::test]
async fn a_store_resumed_at_its_saved_size_reads_only_the_new_records() {
    use custody_store::LedgerStore;
    let s = scenario(10);
    let records = s.published_records();
    let dir = tempfile::tempdir().unwrap();
    let store = custody_store_sqlite::SqliteStore::open(dir.path().join("l.db")).unwrap();
    let split = records.len() / 2;
    for r in &records[..split] {
        store.append(r).await.unwrap();
    }
    let mut first = Verifier::new(s.trust.clone()).with_threads(2);
    assert_eq!(
        first.verify_store(&store, |_| {}).await.unwrap().failure,
        None
    );
    let state = SavedState::from_bytes(&first.saved_state(None).to_bytes().unwrap()).unwrap();
    for r in &records[split..] {
        store.append(r).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut v = Verifier::resume(s.trust.clone(), state).unwrap();
    let resumed = v
        .verify_store(&store, |ev| seen.push(ev.position))
        .await
        .unwrap();
    let mut whole = Verifier::new(s.trust.clone());
    let full = whole.verify_store(&store, |_| {}).await.unwrap();
    assert_eq!(resumed.failure, None);
    assert_eq!(resumed.summary, full.summary);
    assert_eq!(seen.first().copied(), Some(split as u64));
    assert_eq!(seen.len(), records.len() - split);
}
