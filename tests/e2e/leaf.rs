//! A field post as a NATS leaf node of the hub, with its own JetStream domain: its gateway
//! keeps recording when the link is cut, and `custody sync` (HTTP to the hub's gateway, over
//! the same link) brings what it recorded to the hub exactly once, also when the link fails in
//! the middle of a sync.
//!
//! Topology (docs/OPERATIONS.md "A field post as a leaf node"): the post's store is the
//! JetStream of the post's own nats-server (domain `post`), which is a leaf node of the hub's
//! (domain `hub`); the hub's store is the hub's JetStream. The two ledgers never share a
//! stream: the post's records reach the hub only through the hub gateway's validated batch
//! endpoint. Both the leaf connection and the HTTP path go through the testkit's link, which
//! the test cuts and restores.

mod common;

use std::net::{Ipv4Addr, SocketAddr};

use common::{count_hash, record_arrest, setup_ledger, Keys, Serve, World};
use custody_core::Record;
use custody_testkit::LeafNode;

/// A post on the JetStream `url` holding a replica of `hq`'s ledger (trust anchors, ledger
/// key, authority chain), as a post is set up before it goes to the field.
fn nats_replica_of(hq: &World, url: &str) -> World {
    let trust = hq.path("trust.json").display().to_string();
    hq.ok(&["trust", "--out", &trust]);
    hq.write("ledger.vkey", &hq.ok(&["ledger-key"]));
    let authority = hq.path("authority.jsonl").display().to_string();
    hq.ok(&["export", "--chain", "authority", "--out", &authority]);
    let post = World::nats(url);
    let vkey = hq.path("ledger.vkey").display().to_string();
    post.ok(&["init", "--trust", &trust, "--ledger-vkey", &vkey]);
    post.ok(&["submit", &authority]);
    post
}

fn detainee_records(w: &World) -> Vec<Record> {
    w.export()
        .into_iter()
        .filter(|r| r.header.chain != "authority")
        .collect()
}

/// `custody sync` from the post to the hub gateway at `url`, two records a batch, one lane.
fn sync(post: &World, url: &str, keys: &Keys) -> common::Run {
    post.run(&[
        "--json",
        "sync",
        "--to",
        url,
        "--key",
        &keys.officer,
        "--batch",
        "2",
        "--lanes",
        "1",
    ])
}

#[test]
fn a_leaf_post_cut_off_keeps_recording_and_its_sync_reaches_the_hub_exactly_once() {
    let mut leaf = LeafNode::start().expect("hub and leaf nats-servers (CUSTODY_NATS_SERVER)");
    let hq = World::nats(&leaf.hub().url());
    let keys = setup_ledger(&hq);
    let post = nats_replica_of(&hq, &leaf.post().url());
    let hub_size = hq.size();

    let port = custody_testkit::free_port().expect("port");
    let serve = Serve::start(&hq, port);
    let http = leaf
        .carry(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .expect("HTTP path over the link");
    let hub_url = format!("http://{}", http.addr());

    // Linked: the post records; its records stay in the post's own domain until it syncs.
    for _ in 0..2 {
        record_arrest(&post, &keys);
    }
    assert_eq!(
        hq.size(),
        hub_size,
        "the hub's ledger does not see the post's stream"
    );
    let first = sync(&post, &hub_url, &keys);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    assert_eq!(hq.size(), hub_size + 2);

    // Cut off: the post's gateway keeps recording on its own JetStream.
    leaf.cut();
    leaf.wait_unlinked().expect("the leaf connection drops");
    for _ in 0..8 {
        record_arrest(&post, &keys);
    }
    let offline = post.ok_json(&["verify"]);
    assert_eq!(offline["records"], hub_size + 10, "{offline}");
    let refused = sync(&post, &hub_url, &keys);
    assert_ne!(refused.code, 0, "a sync over a dead link fails");
    assert!(
        refused.stderr.contains("no answer from the gateway"),
        "the failure is explained: {}",
        refused.stderr
    );
    assert_eq!(hq.size(), hub_size + 2, "nothing reached the hub");

    // Linked again, the link fails in the middle of the sync: some batches arrive, not all.
    leaf.restore().expect("link restored");
    leaf.wait_linked().expect("the post dials the hub again");
    let pending = detainee_records(&post);
    let three: u64 = pending[2..5]
        .iter()
        .map(|r| r.to_json_line().len() as u64 + 1)
        .sum();
    // The sync's reads of the authority chain and the checkpoint, then about a batch and a
    // half of arrests.
    http.cut_after_bytes(3_000 + three);
    let cut = sync(&post, &hub_url, &keys);
    assert_ne!(cut.code, 0, "the cut sync fails: {}", cut.stderr);
    leaf.cut();
    let arrived = hq.size() - hub_size - 2;
    assert!(
        arrived < 8,
        "the link failed before the end of the sync ({arrived} of 8 arrived): {}",
        cut.stderr
    );

    // Resumed over the restored link: the rest arrives, nothing twice.
    leaf.restore().expect("link restored");
    leaf.wait_linked().expect("the post dials the hub again");
    let resumed = sync(&post, &hub_url, &keys);
    assert_eq!(resumed.code, 0, "{}\n{}", resumed.stdout, resumed.stderr);
    let again = sync(&post, &hub_url, &keys);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
    let last = again.stdout.lines().last().unwrap_or_default();
    let again: serde_json::Value = serde_json::from_str(last).expect("JSON report");
    assert_eq!(
        again["appended"], 0,
        "a second sync sends nothing new: {again}"
    );
    serve.kill();

    let hub = hq.export();
    let recorded = detainee_records(&post);
    assert_eq!(recorded.len(), 10);
    for r in &recorded {
        assert_eq!(
            count_hash(&hub, &r.hash),
            1,
            "record {} exactly once",
            r.hash
        );
    }
    assert_eq!(
        hub.iter().filter(|r| r.header.chain != "authority").count(),
        10
    );
    hq.ok(&["verify"]);
    post.ok(&["verify"]);
    eprintln!("{arrived} of 8 records arrived before the link failed mid-sync");
}
