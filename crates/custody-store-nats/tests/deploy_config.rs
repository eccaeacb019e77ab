//! The shipped NATS configurations (`deploy/nats/**/*.conf`: the single node, the three
//! cluster nodes, the field post's leaf node) are accepted by the target nats-server (2.10 or
//! newer, found like the testkit finds it): `nats-server -t -c FILE` checks each without
//! starting, on a copy whose TLS files are throwaway certificates made with openssl; each
//! fsyncs every write (`sync_interval: always`), requires TLS on every listener but the
//! localhost monitoring port, and denies the stream delete and purge API to every user.

mod deploy;

use std::path::Path;

use custody_testkit::{server_binary, server_version, MIN_VERSION};

/// A configuration's lines, comments removed, trimmed, non-empty.
fn settings(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim().to_string())
        .filter(|line| !line.is_empty())
        .collect()
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
    let rendered = deploy::Rendered::new(deploy::Ports::free());
    let configs = deploy::nats_configs();
    for want in [
        "custody.conf",
        "cluster/custody-1.conf",
        "cluster/custody-2.conf",
        "cluster/custody-3.conf",
        "leaf/post.conf",
    ] {
        assert!(
            configs.iter().any(|c| c == Path::new(want)),
            "deploy/nats/{want} is missing"
        );
    }
    for conf in &configs {
        let (ok, text) = deploy::check_config(&rendered.config(conf));
        assert!(ok, "{}: {text}", conf.display());
        assert!(text.contains("is valid"), "{}: {text}", conf.display());
    }
}

#[test]
fn a_config_naming_a_missing_certificate_is_refused() {
    // The check is not a formality: the TLS files are read.
    let rendered = deploy::Rendered::new(deploy::Ports::free());
    let conf = rendered.config(Path::new("custody.conf"));
    let text = std::fs::read_to_string(&conf).expect("read");
    let certs = deploy::certs().dir.display().to_string();
    std::fs::write(&conf, text.replace(&certs, "/nonexistent")).expect("write");
    let (ok, out) = deploy::check_config(&conf);
    assert!(!ok, "a missing certificate must fail the check: {out}");
}

#[test]
fn deploy_nats_configs_fsync_every_write() {
    for conf in deploy::nats_configs() {
        let path = deploy::deploy_dir().join("nats").join(&conf);
        let text = std::fs::read_to_string(&path).expect("read the configuration");
        if !text.contains("jetstream {") {
            continue; // accounts.conf: included, no server settings
        }
        let sync: Vec<String> = settings(&text)
            .into_iter()
            .filter(|line| line.starts_with("sync_interval"))
            .collect();
        assert_eq!(
            sync,
            ["sync_interval: always"],
            "{}: JetStream must fsync every write before acknowledging it",
            conf.display()
        );
    }
}

#[test]
fn every_listener_but_local_monitoring_requires_tls() {
    for conf in deploy::nats_configs() {
        let path = deploy::deploy_dir().join("nats").join(&conf);
        let text = std::fs::read_to_string(&path).expect("read the configuration");
        if !text.contains("jetstream {") {
            continue;
        }
        let lines = settings(&text);
        // Client listener: a top-level tls block.
        assert!(
            lines.iter().any(|l| l == "tls {"),
            "{}: no tls block",
            conf.display()
        );
        // Monitoring: plain HTTP on localhost only, or https.
        for l in lines.iter().filter(|l| l.starts_with("http:")) {
            assert!(
                l.starts_with("http: 127.0.0.1:"),
                "{}: monitoring over plain HTTP must be bound to localhost: {l}",
                conf.display()
            );
        }
        // Every listener block (cluster, leafnodes with listen) carries its own tls block.
        for block in ["cluster {", "leafnodes {"] {
            if let Some(start) = text.find(block) {
                let rest = &text[start..];
                let end = rest.find("\n}").unwrap_or(rest.len());
                assert!(
                    rest[..end].contains("tls {"),
                    "{}: {block} without TLS",
                    conf.display()
                );
            }
        }
    }
}

#[test]
fn the_permissions_deny_stream_delete_and_purge_to_every_user() {
    let path = deploy::deploy_dir().join("policy/nats-permissions.conf");
    let text = std::fs::read_to_string(&path).expect("read the permissions");
    for subject in [
        "\"$JS.API.STREAM.DELETE.>\"",
        "\"$JS.API.STREAM.PURGE.>\"",
        "\"$JS.API.STREAM.MSG.DELETE.>\"",
        "\"$JS.API.STREAM.UPDATE.>\"",
    ] {
        assert!(
            text.contains(subject),
            "nats-permissions.conf must deny {subject}"
        );
    }
    let users = text.matches("_PERMISSIONS = {").count();
    let denies = text.matches("deny: $DENY_DESTRUCTIVE").count();
    assert_eq!(
        users, denies,
        "every user's permissions must deny the destructive API"
    );
}
