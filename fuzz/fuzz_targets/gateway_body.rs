//! The gateway's append bodies: one record (`POST /v1/events` as `application/json`, and
//! `POST /v1/forks`) and the NDJSON batch, through the functions its handlers call
//! (`custody_gateway::{parse_record, batch_lines, parse_batch_line}`).
//!
//! Every refusal is a 4xx with a rule and a message; line numbers increase; a batch of one
//! line answers as the single append of that line.
#![no_main]

use custody_gateway::{batch_lines, parse_batch_line, parse_record, GatewayError};
use libfuzzer_sys::fuzz_target;

fn refusal(e: &GatewayError) {
    assert!(
        e.status().is_client_error(),
        "a body parse error is {}",
        e.status()
    );
    let _ = (e.rule(), e.to_string());
}

fuzz_target!(init: custody_fuzz::warm_up(), |data: &[u8]| {
    let single = parse_record(data);
    if let Err(e) = &single {
        refusal(e);
    }
    let lines = batch_lines(data);
    assert!(
        lines.windows(2).all(|w| w[0].0 < w[1].0),
        "line numbers do not increase"
    );
    for (_, text) in &lines {
        match parse_batch_line(text) {
            Ok(_) => {}
            Err(e) => refusal(&e),
        }
    }
    if !data.contains(&b'\n') && !data.iter().all(u8::is_ascii_whitespace) {
        let (_, text) = lines.first().expect("a non-blank line is kept");
        let one = parse_batch_line(text).map_err(|e| e.rule());
        if data.len() <= custody_gateway::MAX_BODY_BYTES {
            let cr = data.strip_suffix(b"\r").unwrap_or(data);
            let direct = parse_record(cr).map_err(|e| e.rule());
            assert_eq!(
                one, direct,
                "a batch line and a single body parse differently"
            );
        }
    }
});
