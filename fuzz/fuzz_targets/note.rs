//! Signed notes and checkpoints (`custody_core::checkpoint`): a note verified with every vector
//! key, its text parsed as a checkpoint, the input parsed as a verifier key.
//!
//! A checkpoint body that parses writes back to the same text; a vkey that parses has the name
//! and key ID it was written with.
#![no_main]

use custody_core::checkpoint::{verify_checkpoint, Checkpoint, NoteVerifier};
use custody_fuzz::note_verifiers;
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: custody_fuzz::warm_up(), |data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for key in note_verifiers() {
        if let Ok(body) = key.verify(text) {
            assert!(
                text.starts_with(&body),
                "the verified text is not the note's text"
            );
            if let Ok(cp) = verify_checkpoint(text, key) {
                assert_eq!(cp.origin, key.name());
            }
        }
    }
    if let Ok(cp) = Checkpoint::parse_body(text) {
        assert_eq!(
            cp.to_body(),
            text,
            "a checkpoint body does not write back the same"
        );
    }
    if let Ok(vkey) = NoteVerifier::parse(text) {
        let (name, rest) = text.split_once('+').expect("a parsed vkey has a '+'");
        assert_eq!(vkey.name(), name);
        let id: String = vkey.key_id().iter().map(|b| format!("{b:02x}")).collect();
        assert!(rest.starts_with(&id), "key ID {id} is not the one written");
    }
});
