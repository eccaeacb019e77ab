//! An officer at a post with no network: a local replica of the ledger made without any secret
//! key of headquarters, records signed at the post, then carried to headquarters and submitted.

mod common;

use common::{record_arrest, setup_ledger, World};

#[test]
fn a_post_records_offline_and_headquarters_accepts_its_records() {
    // Headquarters: the ledger, its agencies and keys.
    let hq = World::sqlite();
    let keys = setup_ledger(&hq);
    let trust = hq.path("trust.json");
    let trust = trust.to_str().expect("utf-8 path");
    hq.ok(&["trust", "--out", trust]);
    let vkey = hq.write("ledger.vkey", &hq.ok(&["ledger-key"]));
    let authority = hq.path("authority.jsonl");
    let authority = authority.to_str().expect("utf-8 path");
    hq.ok(&["export", "--chain", "authority", "--out", authority]);

    // The post: a replica from public files only; the root key is refused nowhere because it is
    // never needed.
    let post = World::sqlite();
    post.ok(&["init", "--trust", trust, "--ledger-vkey", &vkey]);
    post.ok(&["submit", authority]);
    assert_eq!(post.size(), hq.size());
    // A replica cannot be made half-way: a trust file without the ledger key is refused.
    let other = World::sqlite();
    other.fails(2, &["init", "--trust", trust]);

    // An arrest recorded at the post, offline.
    let arrest = record_arrest(&post, &keys);
    let chain = arrest["chain"].as_str().expect("chain id").to_string();

    // Back at headquarters: the post's export of that chain is submitted and verifies.
    let carried = post.path("carried.jsonl");
    let carried = carried.to_str().expect("utf-8 path");
    post.ok(&["export", "--chain", &chain, "--out", carried]);
    let before = hq.size();
    hq.ok(&["submit", carried]);
    assert_eq!(hq.size(), before + 1);
    let exported = hq.export();
    assert_eq!(exported.last().map(|r| r.header.chain.clone()), Some(chain));
    hq.ok(&["verify"]);
    // Submitting the same file again changes nothing.
    hq.ok(&["submit", carried]);
    assert_eq!(hq.size(), before + 1);
}
