//! The split saved state (the chains in a SQLite file beside the state file) and the resumed
//! verification of a growing JSONL file, sought past the part verified before: the same verdict
//! as one pass over the whole file; a new record refused is named with its position; an old
//! record rewritten is caught by the root, a file changed where the saved part ends is refused;
//! a state of another ledger is refused; a whole (v1) state file is still resumed.

use std::io::Write;
use std::path::Path;

use custody_core::merkle::{leaf_hash, Frontier};
use custody_core::Record;
use custody_scenario::{build, Scenario, ScenarioConfig};
use custody_verify::{
    SavedState, StateError, Verifier, VerifyError, STATE_FORMAT, STATE_FORMAT_V2,
};

fn scenario(seed: u64, detainees: usize) -> Scenario {
    build(&ScenarioConfig { seed, detainees }).unwrap()
}

fn lines(s: &Scenario) -> Vec<String> {
    s.published_records()
        .iter()
        .map(|r| r.to_json_line() + "\n")
        .collect()
}

fn write(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.concat()).unwrap();
}

fn append(path: &Path, lines: &[String]) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(lines.concat().as_bytes()).unwrap();
}

/// Verifies the first `split` lines of `file` (written there) and saves the split state.
fn save_at(s: &Scenario, all: &[String], split: usize, file: &Path, state: &Path) {
    write(file, &all[..split]);
    let mut v = Verifier::new(s.trust.clone())
        .with_threads(2)
        .with_batch(64);
    let report = v.verify_file(file).unwrap();
    assert_eq!(report.failure, None);
    assert_eq!(report.summary.records, split as u64);
    let snapshot = v.saved_state(None);
    v.save_state(snapshot, state).unwrap();
}

fn resume(s: &Scenario, state: &Path) -> Verifier {
    let (saved, chains) = SavedState::open(state).unwrap();
    assert_eq!(saved.format, STATE_FORMAT_V2);
    assert!(chains.is_some());
    Verifier::resume_with(s.trust.clone(), saved, chains)
        .unwrap()
        .with_threads(2)
        .with_batch(64)
}

/// The Merkle root of these lines' records.
fn root_of(lines: &[String]) -> [u8; 32] {
    let mut f = Frontier::new();
    for l in lines {
        let r = Record::from_json(l.trim_end().as_bytes()).unwrap();
        f.push(leaf_hash(r.hash.as_bytes()));
    }
    f.root()
}

#[test]
fn resuming_a_split_state_over_the_grown_file_gives_the_verdict_of_one_pass() {
    let s = scenario(7, 40);
    let all = lines(&s);
    let total = all.len();
    let dir = tempfile::tempdir().unwrap();
    let whole_file = dir.path().join("whole.jsonl");
    write(&whole_file, &all);
    let mut whole = Verifier::new(s.trust.clone()).with_threads(2);
    let full = whole.verify_file(&whole_file).unwrap();
    assert_eq!(full.failure, None);
    let mut resumed_ok = 0;
    for split in [1, total / 3, total / 2, total - 1] {
        let file = dir.path().join(format!("ledger-{split}.jsonl"));
        let state = dir.path().join(format!("state-{split}"));
        save_at(&s, &all, split, &file, &state);
        append(&file, &all[split..]);
        let mut v = resume(&s, &state);
        match v.verify_file(&file) {
            Ok(report) => {
                assert_eq!(report.failure, None, "resumed at {split}");
                assert_eq!(report.summary, full.summary, "resumed at {split}");
                // Saved back: the touched chains written, the others kept; every chain's
                // state is the one pass's.
                let snapshot = v.saved_state(None);
                assert!(snapshot.validator.chains().count() <= full.summary.chains);
                v.save_state(snapshot, &state).unwrap();
                let (saved, chains) = SavedState::open(&state).unwrap();
                let chains = chains.unwrap();
                assert_eq!(saved.size, total as u64);
                assert_eq!(saved.chains, Some(full.summary.chains as u64));
                assert_eq!(chains.count().unwrap(), full.summary.chains as u64);
                for (name, chain) in whole.validator().chains() {
                    assert_eq!(chains.load(name).unwrap().as_ref(), Some(chain), "{name}");
                }
                resumed_ok += 1;
            }
            // A correction or redaction of an event before the split that the saved state did
            // not remember sends it back to the start; that event is before the split indeed.
            Err(VerifyError::NeedsFullPass { target, .. }) => {
                let at = s.records.iter().position(|r| r.hash == target);
                assert!(at.is_some_and(|p| p < split), "resumed at {split}");
            }
            Err(e) => panic!("resumed at {split}: {e}"),
        }
    }
    assert!(resumed_ok >= 3, "{resumed_ok} resumed");
}

#[test]
fn a_tampered_new_record_is_named_with_its_position_when_resuming() {
    let s = scenario(7, 10);
    let mut all = lines(&s);
    let total = all.len();
    let split = total / 2;
    let bad = total * 3 / 4;
    let dir = tempfile::tempdir().unwrap();
    let (file, state) = (dir.path().join("l.jsonl"), dir.path().join("state"));
    save_at(&s, &all, split, &file, &state);
    let mut r = Record::from_json(all[bad].trim_end().as_bytes()).unwrap();
    r.header.agency.push('x');
    all[bad] = r.to_json_line() + "\n";
    append(&file, &all[split..]);
    let mut whole = Verifier::new(s.trust.clone());
    let one_pass = whole.verify_file(&file).unwrap().failure.unwrap();
    let f = resume(&s, &state)
        .verify_file(&file)
        .unwrap()
        .failure
        .unwrap();
    assert_eq!(f, one_pass);
    assert_eq!((f.position, f.line), (bad as u64, Some(bad as u64 + 1)));
    assert_eq!(f.rule, custody_core::Rule::Hash);
    assert_eq!(f.hash, Some(r.hash.to_hex()));
}

#[test]
fn an_old_record_rewritten_is_caught_by_the_root_and_a_changed_end_is_refused() {
    let s = scenario(7, 10);
    let all = lines(&s);
    let total = all.len();
    let split = total / 2;
    let dir = tempfile::tempdir().unwrap();
    let (file, state) = (dir.path().join("l.jsonl"), dir.path().join("state"));
    save_at(&s, &all, split, &file, &state);

    // Two old records swapped (the same bytes before the saved end, so the last verified
    // record is still in its place): the resumed pass does not read them, but the root it
    // reaches from the saved frontier is not the root of the rewritten ledger, so the
    // operator's checkpoint of the rewritten tree is refused (`custody audit`:
    // `checkpoint/root`, then a pass from the start names what changed).
    let mut rewritten = all.clone();
    rewritten.swap(2, 3);
    assert_ne!(rewritten[..split], all[..split]);
    write(&file, &rewritten);
    let mut v = resume(&s, &state).with_checkpoint_size(Some(total as u64));
    let report = v.verify_file(&file).unwrap();
    assert_eq!(report.failure, None);
    assert_eq!(report.summary.root, root_of(&all));
    assert_ne!(report.summary.root_at_mark, Some(root_of(&rewritten)));
    // The pass from the start over the rewritten file refuses it.
    let mut from_start = Verifier::new(s.trust.clone());
    assert!(from_start
        .verify_file(&file)
        .unwrap()
        .failure
        .is_some_and(|f| f.position <= 3));

    // A record before the saved end removed: the line where it ended is another one.
    let mut dropped = all.clone();
    dropped.remove(1);
    write(&file, &dropped);
    let e = resume(&s, &state).verify_file(&file).unwrap_err();
    assert!(matches!(e, VerifyError::FileChanged(_)), "{e}");
    assert!(e.to_string().contains(&format!("line {split}")), "{e}");

    // The file cut before the saved end.
    write(&file, &all[..split - 1]);
    let e = resume(&s, &state).verify_file(&file).unwrap_err();
    assert!(matches!(e, VerifyError::FileChanged(_)), "{e}");
}

#[test]
fn a_state_of_another_ledger_or_without_its_chains_file_is_refused() {
    let s = scenario(7, 5);
    let other = scenario(8, 5);
    let all = lines(&s);
    let dir = tempfile::tempdir().unwrap();
    let (file, state) = (dir.path().join("l.jsonl"), dir.path().join("state"));
    save_at(&s, &all, all.len() / 2, &file, &state);
    let (saved, chains) = SavedState::open(&state).unwrap();
    let e = Verifier::resume_with(other.trust.clone(), saved.clone(), chains).unwrap_err();
    assert!(matches!(e, StateError::Inconsistent(_)), "{e}");
    assert!(e.to_string().contains("other trust anchors"), "{e}");
    // A split state without its chains.
    let e = Verifier::resume_with(s.trust.clone(), saved.clone(), None).unwrap_err();
    assert!(matches!(e, StateError::Chains(_)), "{e}");
    let name = saved.chains_file.clone().unwrap();
    std::fs::remove_file(dir.path().join(&name)).unwrap();
    let e = SavedState::open(&state).unwrap_err();
    assert!(matches!(e, StateError::Chains(_)), "{e}");
    assert!(e.to_string().contains("missing"), "{e}");
}

#[test]
fn a_whole_v1_state_file_still_resumes_and_is_saved_split() {
    let s = scenario(7, 10);
    let all = lines(&s);
    let total = all.len();
    let split = total / 2;
    let dir = tempfile::tempdir().unwrap();
    let (file, state) = (dir.path().join("l.jsonl"), dir.path().join("state"));
    write(&file, &all[..split]);
    let mut v = Verifier::new(s.trust.clone());
    v.verify_file(&file).unwrap();
    v.saved_state(None).write(&state).unwrap();
    append(&file, &all[split..]);
    let (saved, chains) = SavedState::open(&state).unwrap();
    assert_eq!(saved.format, STATE_FORMAT);
    assert!(chains.is_none());
    let mut v = Verifier::resume_with(s.trust.clone(), saved, None).unwrap();
    let report = v.verify_file(&file).unwrap();
    assert_eq!(report.failure, None);
    assert_eq!(report.summary.records, total as u64);
    let snapshot = v.saved_state(None);
    v.save_state(snapshot, &state).unwrap();
    let mut resumed = resume(&s, &state);
    assert_eq!(resumed.size(), total as u64);
    assert_eq!(resumed.summary().chains, report.summary.chains);
    // Nothing new: nothing verified, the same verdict.
    let again = resumed.verify_file(&file).unwrap();
    assert_eq!(again.summary, report.summary);
}
