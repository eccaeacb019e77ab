//! The checkpoint history: every checkpoint the ledger's checkpointer signed, kept append-only
//! beside the ledger ([`LedgerStore::add_checkpoint`](crate::LedgerStore::add_checkpoint)).
//!
//! An entry is one signed note (c2sp.org/signed-note around a c2sp.org/tlog-checkpoint body) of
//! one tree size. Sizes only grow along the history, and one size has one checkpoint body
//! (origin, size, root): the store refuses a smaller size ([`StoreError::CheckpointBehind`])
//! and another body at the latest size ([`StoreError::CheckpointConflict`]). The same body
//! again is how cosignatures gathered after signing are kept: its signature lines are added to
//! the stored note's ([`merge_checkpoint_note`]), never removed. The store checks no signature
//! (the checkpointer verified the ledger before signing, and verifiers check the note).

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// One entry of the checkpoint history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCheckpoint {
    /// Tree size the checkpoint covers (its second body line).
    pub size: u64,
    /// The signed note: the checkpoint body, a blank line, the ledger's signature line and
    /// any witness cosignature lines.
    pub note: String,
}

/// Splits a signed note into its body (ending with its newline) and its signature lines
/// (each with its newline), or says what is wrong.
fn split_note(note: &str) -> Result<(&str, Vec<&str>), String> {
    let split = note
        .rfind("\n\n")
        .ok_or("has no blank line between the checkpoint and its signatures")?;
    let body = &note[..=split];
    let sigs = &note[split + 2..];
    if sigs.is_empty() || !sigs.ends_with('\n') {
        return Err("has a signature block that is empty or does not end in a newline".to_string());
    }
    Ok((body, sigs.split_inclusive('\n').collect()))
}

/// What is wrong with `note` as a signed checkpoint note of tree size `size` (its body's
/// second line), or `None`; the answer completes "the note ...".
pub fn checkpoint_note_problem(size: u64, note: &str) -> Option<String> {
    let (body, _) = match split_note(note) {
        Ok(split) => split,
        Err(why) => return Some(why),
    };
    let mut lines = body.split('\n');
    if lines.next().unwrap_or_default().is_empty() {
        return Some("has an empty origin line".to_string());
    }
    match lines.next() {
        Some(line) if line == size.to_string() => None,
        Some(line) => Some(format!("is of tree size {line:?}")),
        None => Some("has no tree size line".to_string()),
    }
}

/// Checks that `note` is a signed checkpoint note of tree size `size`, as the store must
/// before keeping it: otherwise [`StoreError::Backend`] naming what is wrong.
pub fn check_checkpoint_note(size: u64, note: &str) -> Result<(), StoreError> {
    match checkpoint_note_problem(size, note) {
        None => Ok(()),
        Some(why) => Err(StoreError::Backend(format!(
            "the checkpoint of size {size} was not stored: the note {why}"
        ))),
    }
}

/// The stored note `stored` with the signature lines of `new` that it lacks appended, in
/// `new`'s order, when both notes have the same checkpoint body; `stored` itself when `new`
/// adds nothing. Another body is [`StoreError::CheckpointConflict`].
pub fn merge_checkpoint_note(size: u64, stored: &str, new: &str) -> Result<String, StoreError> {
    let (old_body, old_sigs) = split_note(stored).map_err(|why| {
        StoreError::Corrupt(format!(
            "the stored checkpoint of size {size} is damaged: the note {why}"
        ))
    })?;
    let (new_body, new_sigs) = split_note(new).map_err(|why| {
        StoreError::Backend(format!(
            "the checkpoint of size {size} was not stored: the note {why}"
        ))
    })?;
    if old_body != new_body {
        return Err(StoreError::CheckpointConflict { size });
    }
    let mut merged = stored.to_string();
    let mut kept = old_sigs;
    for line in new_sigs {
        if !kept.contains(&line) {
            merged.push_str(line);
            kept.push(line);
        }
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "ledger.example\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

    #[test]
    fn notes_are_checked_for_their_size() {
        let note = format!("{BODY}\n\u{2014} ledger.example abc=\n");
        check_checkpoint_note(3, &note).unwrap();
        let e = check_checkpoint_note(4, &note).unwrap_err().to_string();
        assert!(e.contains("tree size \"3\""), "{e}");
        let e = check_checkpoint_note(3, BODY).unwrap_err().to_string();
        assert!(e.contains("no blank line"), "{e}");
    }

    #[test]
    fn merging_adds_missing_lines_once_and_refuses_another_body() {
        let log = "\u{2014} ledger.example abc=\n";
        let w1 = "\u{2014} w1.example def=\n";
        let w2 = "\u{2014} w2.example ghi=\n";
        let stored = format!("{BODY}\n{log}{w1}");
        let new = format!("{BODY}\n{log}{w2}{w1}{w2}");
        assert_eq!(
            merge_checkpoint_note(3, &stored, &new).unwrap(),
            format!("{BODY}\n{log}{w1}{w2}")
        );
        assert_eq!(merge_checkpoint_note(3, &stored, &stored).unwrap(), stored);
        let other = stored.replace("AAA=", "AAB=");
        assert_ne!(other, stored);
        assert!(matches!(
            merge_checkpoint_note(3, &stored, &other),
            Err(StoreError::CheckpointConflict { size: 3 })
        ));
    }
}
