//! The shipped NATS configurations (`deploy/nats/*.conf`) are accepted by the target
//! nats-server (2.10 or newer, found like the testkit finds it): `nats-server -t -c FILE`
//! checks each without starting, and each fsyncs every write (`sync_interval: always`).

use std::path::{Path, PathBuf};
use std::process::Command;

use custody_testkit::{server_binary, server_version, MIN_VERSION};

fn deploy_configs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nats");
    let mut configs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "conf"))
        .collect();
    configs.sort();
    assert!(!configs.is_empty(), "no configuration in {}", dir.display());
    configs
}

#[test]
fn deploy_nats_configs_are_valid_for_the_target_server() {
    let binary = server_binary();
    let version = server_version(&binary).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        version >= MIN_VERSION,
        "{} is nats-server {version}; the deploy configurations target 2.10 or newer \
         (scripts/install-nats-server.sh)",
        binary.display()
    );
    for conf in deploy_configs() {
        let out = Command::new(&binary)
            .arg("-t")
            .arg("-c")
            .arg(&conf)
            .env("CUSTODY_GATEWAY_NATS_PASSWORD", "test-gateway")
            .env("CUSTODY_READER_NATS_PASSWORD", "test-reader")
            .env("CUSTODY_MONITOR_NATS_PASSWORD", "test-monitor")
            .output()
            .expect("run nats-server -t");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{}: {text}", conf.display());
        assert!(text.contains("is valid"), "{}: {text}", conf.display());
    }
}

#[test]
fn deploy_nats_configs_fsync_every_write() {
    for conf in deploy_configs() {
        let text = std::fs::read_to_string(&conf).expect("read the configuration");
        let settings: Vec<&str> = text
            .lines()
            .map(|line| line.split('#').next().unwrap_or("").trim())
            .filter(|line| line.starts_with("sync_interval"))
            .collect();
        assert_eq!(
            settings,
            ["sync_interval: always"],
            "{}: JetStream must fsync every write before acknowledging it",
            conf.display()
        );
    }
}
