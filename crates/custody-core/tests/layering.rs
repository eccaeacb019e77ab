//! The layering of the workspace, enforced: the pure core and the layers under the services
//! never depend on a network, HTTP or database crate, and nothing depends on a service.

use std::path::Path;

fn manifest(krate: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("Cargo.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `[dependencies]` section (not dev-dependencies) of a manifest, as dependency names
/// (`tokio.workspace = true` and `tokio = "1"` both name `tokio`).
fn dependencies(krate: &str) -> Vec<String> {
    let text = manifest(krate);
    let mut in_deps = false;
    let mut deps = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps {
            if let Some((name, _)) = line.split_once('=') {
                // `tokio.workspace = true` names `tokio`.
                let name = name.split('.').next().unwrap_or(name).trim();
                if !name.is_empty() && !name.starts_with('#') {
                    deps.push(name.to_string());
                }
            }
        }
    }
    deps
}

const IO_CRATES: &[&str] = &[
    "tokio",
    "async-nats",
    "axum",
    "hyper",
    "reqwest",
    "rusqlite",
    "tower",
    "tower-http",
];
const SERVICE_CRATES: &[&str] = &["custody-gateway", "custody-cli"];

#[test]
fn dependency_names_are_read_whatever_their_form() {
    // Workspace-inherited and path dependencies alike: otherwise a check below could never
    // fail for `tokio.workspace = true`.
    let gateway = dependencies("custody-gateway");
    for name in ["custody-core", "tokio", "axum", "custody-ledger"] {
        assert!(gateway.contains(&name.to_string()), "{name} in {gateway:?}");
    }
}

#[test]
fn core_does_no_io() {
    let deps = dependencies("custody-core");
    assert!(!deps.is_empty());
    for d in &deps {
        assert!(
            !IO_CRATES.contains(&d.as_str()),
            "custody-core depends on {d}"
        );
        assert!(!d.starts_with("custody-"), "custody-core depends on {d}");
    }
}

/// The views are pure projections: no I/O crate, and of the workspace only the core (so the
/// CLI, the gateway and a web desk build the same census).
#[test]
fn views_do_no_io_and_depend_on_the_core_only() {
    let deps = dependencies("custody-views");
    assert!(deps.iter().any(|d| d == "custody-core"), "{deps:?}");
    for d in &deps {
        assert!(
            !IO_CRATES.contains(&d.as_str()),
            "custody-views depends on {d}"
        );
        assert!(
            !d.starts_with("custody-") || d == "custody-core",
            "custody-views depends on {d}"
        );
    }
}

#[test]
fn layers_below_the_services_know_no_transport() {
    for krate in [
        "custody-store",
        "custody-ledger",
        "custody-scenario",
        "custody-verify",
    ] {
        for d in dependencies(krate) {
            for banned in [
                "async-nats",
                "axum",
                "hyper",
                "reqwest",
                "rusqlite",
                "tower",
            ] {
                // The verifier keeps its own resumable audit state (the chains of a split
                // state) in a local SQLite file: a file format of its own, not a store.
                if krate == "custody-verify" && banned == "rusqlite" {
                    continue;
                }
                assert_ne!(d, banned, "{krate} depends on {banned}");
            }
        }
    }
    for krate in ["custody-store-sqlite", "custody-store-nats"] {
        for d in dependencies(krate) {
            assert!(
                !["axum", "hyper", "reqwest"].contains(&d.as_str()),
                "{krate} depends on {d}"
            );
        }
    }
}

#[test]
fn the_client_and_the_gateway_share_only_the_core() {
    // The client is a library over HTTP: no server, store or ledger crate in it.
    for d in dependencies("custody-client") {
        for banned in [
            "axum",
            "hyper",
            "hyper-util",
            "rusqlite",
            "async-nats",
            "custody-store",
            "custody-store-sqlite",
            "custody-store-nats",
            "custody-ledger",
            "custody-gateway",
            "custody-cli",
        ] {
            assert_ne!(d, banned, "custody-client depends on {banned}");
        }
    }
    // The gateway verifies what the client signs through custody-core's signing_message; it
    // does not depend on the client (its tests may).
    let gateway = dependencies("custody-gateway");
    assert!(gateway.contains(&"custody-core".to_string()));
    assert!(
        !gateway.contains(&"custody-client".to_string()),
        "custody-gateway depends on custody-client"
    );
}

#[test]
fn nothing_depends_on_a_service() {
    for krate in [
        "custody-core",
        "custody-store",
        "custody-store-sqlite",
        "custody-store-nats",
        "custody-ledger",
        "custody-scenario",
        "custody-views",
        "custody-verify",
        "custody-client",
    ] {
        for d in dependencies(krate) {
            assert!(
                !SERVICE_CRATES.contains(&d.as_str()),
                "{krate} depends on service {d}"
            );
        }
    }
}
