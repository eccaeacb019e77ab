//! The packet reader and verifier (`custody_packet::verify_packet`), with the vectors' trust
//! anchors, ledger key and medical key, and with the packet's own (no `--trust`): a verdict or
//! a refusal naming a rule, never a panic; a packet that verifies verifies again the same.
#![no_main]

use custody_fuzz::{medical_key, now, trust, LEDGER_VKEY};
use custody_packet::{verify_packet, Options, PacketError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: custody_fuzz::warm_up(), |data: &[u8]| {
    let trusted = Options {
        trust: Some(trust()),
        ledger_vkey: Some(LEDGER_VKEY.trim().to_owned()),
        now: Some(now()),
        medical_key: Some(medical_key()),
    };
    for options in [trusted, Options::default()] {
        match verify_packet(data, &options) {
            Ok(v) => {
                let again = verify_packet(data, &options).expect("a verified packet is refused");
                assert_eq!(again.digest, v.digest);
                assert_eq!(again.records, v.records);
            }
            Err(PacketError::Refused(f)) => {
                let _ = f.to_string();
            }
            Err(e) => panic!("reading bytes in memory failed with an I/O error: {e}"),
        }
    }
});
