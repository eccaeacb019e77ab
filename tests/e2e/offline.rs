//! An officer at a post with no network: a local replica of the ledger made without any secret
//! key of headquarters, records signed at the post, then carried to headquarters and submitted.

mod common;

use common::{record_arrest, setup_ledger, World};

/// The public files of a ledger a replica is made from: `trust.json`, the checkpoint verifier
/// key and the authority chain, written by `hq` into its folder.
struct PublicFiles {
    trust: String,
    vkey: String,
    authority: String,
}

fn public_files(hq: &World) -> PublicFiles {
    let trust = hq
        .path("trust.json")
        .to_str()
        .expect("utf-8 path")
        .to_string();
    hq.ok(&["trust", "--out", &trust]);
    let vkey = hq.write("ledger.vkey", &hq.ok(&["ledger-key"]));
    let authority = hq
        .path("authority.jsonl")
        .to_str()
        .expect("utf-8 path")
        .to_string();
    hq.ok(&["export", "--chain", "authority", "--out", &authority]);
    PublicFiles {
        trust,
        vkey,
        authority,
    }
}

/// A replica made from public files only (no secret key of headquarters), its authority chain
/// submitted; what `custody init` printed.
fn replica(files: &PublicFiles) -> (World, String) {
    let post = World::sqlite();
    let init = post.ok(&[
        "init",
        "--trust",
        &files.trust,
        "--ledger-vkey",
        &files.vkey,
    ]);
    post.ok(&["submit", &files.authority]);
    (post, init)
}

#[test]
fn a_post_records_offline_and_headquarters_accepts_its_records() {
    // Headquarters: the ledger, its agencies and keys.
    let hq = World::sqlite();
    let keys = setup_ledger(&hq);
    let files = public_files(&hq);

    // The post: a replica from public files only; the root key is refused nowhere because it is
    // never needed.
    let (post, _) = replica(&files);
    assert_eq!(post.size(), hq.size());
    // A replica cannot be made half-way: a trust file without the ledger key is refused.
    let other = World::sqlite();
    other.fails(2, &["init", "--trust", &files.trust]);

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

/// One append policy per ledger (issue 8): the same header-only record gets the same answer
/// from every path of a primary (refused, `payload_missing`: through `custody submit` and
/// through the gateway), and is replayed by a replica made with `init --trust`.
#[test]
fn one_append_policy_per_ledger_whatever_the_path() {
    let hq = World::sqlite();
    let keys = setup_ledger(&hq);
    let officer = common::read_key(&keys.officer);
    let record = common::signed_arrest(&officer, 4242, 7).without_payload();
    let file = hq.path("header-only.jsonl");
    common::write_jsonl(&file, std::slice::from_ref(&record));
    let file = file.to_str().expect("utf-8 path");
    let before = hq.size();

    // custody submit on the primary.
    let refused = hq.fails(1, &["submit", file]);
    assert!(
        refused.stderr.contains("payload_missing"),
        "{}",
        refused.stderr
    );
    assert_eq!(hq.size(), before);

    // The gateway on the same primary: the same rule.
    let port = custody_testkit::free_port().expect("port");
    let serve = common::Serve::start(&hq, port);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = custody_client::Client::new(&serve.url);
    let answer = rt.block_on(client.append(&record));
    let text = format!("{answer:?}");
    assert_eq!(
        answer.err().and_then(|e| e.rule()),
        Some(custody_core::Rule::PayloadMissing),
        "{text}"
    );
    serve.kill();
    assert_eq!(hq.size(), before);

    // A replica of the same ledger replays what its source holds: it accepts the record.
    let (post, init) = replica(&public_files(&hq));
    assert!(init.contains("replica"), "{init}");
    let size = post.size();
    post.ok(&["submit", file]);
    assert_eq!(post.size(), size + 1);
}
