//! The shipped NATS configuration (`deploy/nats/custody.conf`) is accepted by the target
//! nats-server: `nats-server -t` checks it without starting.

use std::path::Path;
use std::process::Command;

#[test]
fn deploy_nats_config_is_valid_for_the_target_server() {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nats/custody.conf");
    let out = Command::new("nats-server")
        .arg("-c")
        .arg(&conf)
        .arg("-t")
        .env("CUSTODY_GATEWAY_NATS_PASSWORD", "test-gateway")
        .env("CUSTODY_READER_NATS_PASSWORD", "test-reader")
        .output()
        .expect("nats-server on PATH (apt-get install -y nats-server)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("is valid"), "{text}");
}
