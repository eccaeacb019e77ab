//! The witness over real HTTP on loopback, with its real SQLite file and real signatures:
//! every status of C2SP tlog-witness v1.0, the 409 body, the rollback race, a restart, rollback
//! and fork attempts, and cosignatures checked with custody-core's verifiers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use custody_core::checkpoint::CheckpointError;
use custody_core::checkpoint::{Checkpoint, NoteSigner};
use custody_core::cosignature::{
    add_signature_lines, verify_cosigned, CosignatureSigner, CosignatureVerifier,
};
use custody_core::merkle::{consistency_proof, leaf_hash, root_of, Digest};
use custody_witness::client::{add_checkpoint, AddCheckpointError};
use custody_witness::db::{LogState, WitnessDb};
use custody_witness::protocol::format_request;
use custody_witness::server::{router, WitnessState};
use ed25519_dalek::SigningKey;

const ORIGIN: &str = "custody-ledger.test";

/// The ledger side: its note key and its leaves.
struct Log {
    signer: NoteSigner,
    leaves: Vec<Digest>,
}

impl Log {
    fn new(seed: u8, leaves: usize) -> Self {
        Self::with_leaf_seed(seed, leaves, 0)
    }

    /// `variant` changes every leaf: another tree of the same sizes (a fork).
    fn with_leaf_seed(seed: u8, leaves: usize, variant: u8) -> Self {
        Log {
            signer: NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[seed; 32])).unwrap(),
            leaves: (0..leaves)
                .map(|i| {
                    let mut e = [variant; 32];
                    e[..8].copy_from_slice(&(i as u64).to_be_bytes());
                    leaf_hash(&e)
                })
                .collect(),
        }
    }

    fn checkpoint(&self, size: u64) -> Checkpoint {
        Checkpoint {
            origin: ORIGIN.into(),
            size,
            root: root_of(&self.leaves[..size as usize]),
            extensions: vec![],
        }
    }

    fn note(&self, size: u64) -> String {
        self.signer.sign_checkpoint(&self.checkpoint(size)).unwrap()
    }

    fn proof(&self, old: u64, new: u64) -> Vec<Digest> {
        consistency_proof(&self.leaves, old, new).unwrap()
    }
}

/// A witness serving over TCP on 127.0.0.1, its database file in `dir`.
struct Witness {
    base: String,
    vkey: String,
    db_path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Witness {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn witness_signer(seed: u8) -> CosignatureSigner {
    CosignatureSigner::new(
        &format!("witness.test/w{seed}"),
        SigningKey::from_bytes(&[seed; 32]),
    )
    .unwrap()
}

async fn start(db_path: &Path, witness_seed: u8, log: &Log, stall: Option<Duration>) -> Witness {
    let db = WitnessDb::open(db_path).unwrap();
    db.add_log(ORIGIN, &log.signer.verifier_key()).unwrap();
    let signer = witness_signer(witness_seed);
    let vkey = signer.verifier_key();
    let state = match stall {
        Some(d) => WitnessState::with_stall(db, signer, d),
        None => WitnessState::new(db, signer),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(state);
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Witness {
        base: format!("http://{addr}"),
        vkey,
        db_path: db_path.to_path_buf(),
        task,
    }
}

/// Raw POST: status, content type, body.
async fn post(base: &str, body: impl Into<reqwest::Body>) -> (u16, String, String) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/add-checkpoint"))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, resp.text().await.unwrap())
}

fn stored(path: &Path) -> LogState {
    WitnessDb::open(path)
        .unwrap()
        .state(ORIGIN)
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn cosigns_a_growing_log_and_the_cosignatures_verify() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::new(1, 40);
    let w = start(&dir.path().join("w.db"), 4, &log, None).await;
    let wv = CosignatureVerifier::parse(&w.vkey).unwrap();

    // First checkpoint: old 0, no proof.
    let note = log.note(5);
    let lines = add_checkpoint(&w.base, 0, &[], &note).await.unwrap();
    assert_eq!(lines.len(), 1);
    let body = log.checkpoint(5).to_body();
    let ts = wv.verify_line(&body, &lines[0]).unwrap();
    assert!(ts > 1_700_000_000, "{ts}");
    let cosigned = add_signature_lines(&note, &lines);
    let got = verify_cosigned(
        &cosigned,
        &log.signer.verifier(),
        std::slice::from_ref(&wv),
        1,
    )
    .unwrap();
    assert_eq!(got.checkpoint, log.checkpoint(5));
    assert_eq!(got.witnesses, [("witness.test/w4".to_owned(), ts)]);
    assert_eq!(stored(&w.db_path).size, 5);

    // Growth with real consistency proofs, one of each shape.
    let mut old = 5;
    for new in [8, 9, 16, 17, 40] {
        let lines = add_checkpoint(&w.base, old, &log.proof(old, new), &log.note(new))
            .await
            .unwrap();
        let cosigned = add_signature_lines(&log.note(new), &lines);
        verify_cosigned(
            &cosigned,
            &log.signer.verifier(),
            std::slice::from_ref(&wv),
            1,
        )
        .unwrap();
        let s = stored(&w.db_path);
        assert_eq!((s.size, s.root), (new, log.checkpoint(new).root));
        old = new;
    }
    // The same checkpoint again: cosigned again, nothing changes.
    let lines = add_checkpoint(&w.base, 40, &[], &log.note(40))
        .await
        .unwrap();
    wv.verify_line(&log.checkpoint(40).to_body(), &lines[0])
        .unwrap();
    assert_eq!(stored(&w.db_path).size, 40);

    // A note with a cosignature of another witness already on it is still accepted.
    let other = witness_signer(9).cosign(&log.checkpoint(40).to_body(), 1);
    let with_other = add_signature_lines(&log.note(40), &[other]);
    add_checkpoint(&w.base, 40, &[], &with_other).await.unwrap();
}

#[tokio::test]
async fn every_refusal_has_its_status_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::new(1, 40);
    let w = start(&dir.path().join("w.db"), 4, &log, None).await;
    add_checkpoint(&w.base, 0, &[], &log.note(10))
        .await
        .unwrap();
    let before = stored(&w.db_path);

    let req = |old: u64, proof: &[Digest], note: &str| format_request(old, proof, note);
    let good_proof = log.proof(10, 20);

    // 404: another origin (a log this witness is not configured for).
    let other_origin = NoteSigner::new("other.test", SigningKey::from_bytes(&[1; 32]))
        .unwrap()
        .sign_checkpoint(&Checkpoint {
            origin: "other.test".into(),
            ..log.checkpoint(20)
        })
        .unwrap();
    let (s, _, text) = post(&w.base, req(10, &good_proof, &other_origin)).await;
    assert_eq!(s, 404, "{text}");
    assert!(text.contains("unknown log origin \"other.test\""), "{text}");

    // 403: signed by another key under the log's name; or a bad line of the trusted key.
    let impostor = Log::new(2, 40);
    let (s, _, text) = post(&w.base, req(10, &good_proof, &impostor.note(20))).await;
    assert_eq!(s, 403, "{text}");
    assert!(text.contains("no trusted key"), "{text}");
    let forged = {
        let note = log.note(20);
        let (t, _) = note.split_once("\n\n").unwrap();
        let sig_of_other_size = log.note(21).split_once("\n\n").unwrap().1.to_owned();
        format!("{t}\n\n{sig_of_other_size}")
    };
    let (s, _, text) = post(&w.base, req(10, &good_proof, &forged)).await;
    assert_eq!(s, 403, "{text}");
    assert!(text.contains("does not verify"), "{text}");

    // 400: old size above the checkpoint's; malformed bodies and notes.
    let (s, _, text) = post(&w.base, req(30, &[], &log.note(20))).await;
    assert_eq!(s, 400, "{text}");
    assert!(
        text.contains("old size 30 is larger than the checkpoint size 20"),
        "{text}"
    );
    for bad in [
        "old 10\n".to_owned(),
        format!("old 010\n\n{}", log.note(20)),
        format!("old 10\nnot base64\n\n{}", log.note(20)),
        format!("old 10\n\n{}", log.note(20).replacen("\n\n", "\n", 1)),
        // Signed by the log key, but the size has a leading zero.
        format!(
            "old 10\n\n{}",
            log.signer.sign(
                &log.checkpoint(20)
                    .to_body()
                    .replacen("\n20\n", "\n020\n", 1)
            )
        ),
    ] {
        let (s, _, text) = post(&w.base, bad.clone()).await;
        assert_eq!(s, 400, "{bad:?}: {text}");
        assert!(!text.trim().is_empty());
    }
    let (s, _, _) = post(&w.base, vec![0xffu8, b'\n', b'\n', b'x']).await;
    assert_eq!(s, 400);
    let too_many = format!(
        "old 10\n{}\n{}",
        format!("{}\n", custody_core::encoding::b64std(&[1; 32])).repeat(64),
        log.note(20)
    );
    let (s, _, text) = post(&w.base, too_many).await;
    assert_eq!((s, text.contains("at most 63")), (400, true), "{text}");

    // 409: old size is not the witness's; the body is its size, text/x.tlog.size.
    let (s, ct, text) = post(&w.base, req(5, &log.proof(5, 20), &log.note(20))).await;
    assert_eq!(
        (s, ct.as_str(), text.as_str()),
        (409, "text/x.tlog.size", "10\n")
    );
    let (s, ct, text) = post(&w.base, req(0, &[], &log.note(20))).await;
    assert_eq!(
        (s, ct.as_str(), text.as_str()),
        (409, "text/x.tlog.size", "10\n")
    );
    assert_eq!(
        add_checkpoint(&w.base, 0, &[], &log.note(20)).await,
        Err(AddCheckpointError::Conflict { witness_size: 10 })
    );

    // 422: a bad proof (a hash changed, a proof for other sizes, a short one).
    let mut bad = good_proof.clone();
    bad[0][0] ^= 1;
    for proof in [bad, log.proof(9, 20), good_proof[1..].to_vec()] {
        let (s, _, text) = post(&w.base, req(10, &proof, &log.note(20))).await;
        assert_eq!(s, 422, "{text}");
        assert!(
            text.contains("consistency proof from size 10 to 20 does not verify"),
            "{text}"
        );
    }
    // 422: a non-empty proof with old size 0 (on a fresh log).
    let dir2 = tempfile::tempdir().unwrap();
    let fresh = start(&dir2.path().join("w.db"), 4, &log, None).await;
    let (s, _, text) = post(&fresh.base, req(0, &good_proof, &log.note(20))).await;
    assert_eq!(s, 422, "{text}");
    assert!(text.contains("from size 0 must be empty"), "{text}");
    assert_eq!(stored(&fresh.db_path).size, 0);

    // 413: an oversized body.
    let (s, _, _) = post(&w.base, "x".repeat(70 * 1024)).await;
    assert_eq!(s, 413);

    // Nothing moved.
    assert_eq!(stored(&w.db_path), before);
    // And the right request still goes through.
    add_checkpoint(&w.base, 10, &good_proof, &log.note(20))
        .await
        .unwrap();
}

#[tokio::test]
async fn rollback_and_fork_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::new(1, 40);
    let w = start(&dir.path().join("w.db"), 4, &log, None).await;
    add_checkpoint(&w.base, 0, &[], &log.note(10))
        .await
        .unwrap();
    add_checkpoint(&w.base, 10, &log.proof(10, 30), &log.note(30))
        .await
        .unwrap();
    let before = stored(&w.db_path);

    // The operator serves an older tree (size 20 after 30): from the witness's size it is
    // 400 (old > new); from its own size 409, the witness answering 30.
    let (s, _, _) = post(&w.base, format_request(30, &[], &log.note(20))).await;
    assert_eq!(s, 400);
    assert_eq!(
        add_checkpoint(&w.base, 20, &[], &log.note(20)).await,
        Err(AddCheckpointError::Conflict { witness_size: 30 })
    );

    // A forked tree: other leaves, properly signed by the log key.
    let fork = Log::with_leaf_seed(1, 40, 0x77);
    // Same size, another root: 409 with the size (the spec), which the client names a fork.
    let (s, ct, text) = post(&w.base, format_request(30, &[], &fork.note(30))).await;
    assert_eq!(
        (s, ct.as_str(), text.as_str()),
        (409, "text/x.tlog.size", "30\n")
    );
    match add_checkpoint(&w.base, 30, &[], &fork.note(30)).await {
        Err(AddCheckpointError::Refused {
            status: 409,
            message,
        }) => {
            assert!(message.contains("forked"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // Larger, with the fork's own (valid for the fork) consistency proof: 422.
    let (s, _, text) = post(
        &w.base,
        format_request(30, &fork.proof(30, 40), &fork.note(40)),
    )
    .await;
    assert_eq!(s, 422, "{text}");
    // A tree that kept the first 30 leaves but not the rest is still fine only if consistent:
    // here the fork shares no leaf, so no proof from 30 can pass.
    assert_eq!(stored(&w.db_path), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_requests_from_the_same_old_size_one_wins() {
    // Two servers over the same SQLite file (two connections, as two processes would have),
    // each waiting 300 ms inside its transaction between the checks and the write: without
    // the atomic step, both would see size 10 and both would cosign.
    for same_server in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let log = Log::new(1, 40);
        let stall = Some(Duration::from_millis(300));
        let a = start(&path, 4, &log, stall).await;
        add_checkpoint(&a.base, 0, &[], &log.note(10))
            .await
            .unwrap();
        let b = if same_server {
            None
        } else {
            Some(start(&path, 4, &log, stall).await)
        };
        let b_base = b.as_ref().map_or(a.base.clone(), |b| b.base.clone());

        let (pa, na) = (log.proof(10, 25), log.note(25));
        let (pb, nb) = (log.proof(10, 20), log.note(20));
        let (ra, rb) = tokio::join!(
            add_checkpoint(&a.base, 10, &pa, &na),
            add_checkpoint(&b_base, 10, &pb, &nb),
        );
        let winner = match (&ra, &rb) {
            (Ok(_), Err(AddCheckpointError::Conflict { witness_size: 25 })) => 25,
            (Err(AddCheckpointError::Conflict { witness_size: 20 }), Ok(_)) => 20,
            other => panic!("same_server={same_server}: both or neither won: {other:?}"),
        };
        let s = stored(&path);
        assert_eq!((s.size, s.root), (winner, log.checkpoint(winner).root));
    }
}

#[tokio::test]
async fn a_restarted_witness_keeps_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let log = Log::new(1, 40);
    {
        let w = start(&path, 4, &log, None).await;
        add_checkpoint(&w.base, 0, &[], &log.note(12))
            .await
            .unwrap();
    }
    // Reopened from the file: it remembers size 12 and its root.
    let w = start(&path, 4, &log, None).await;
    assert_eq!(
        add_checkpoint(&w.base, 0, &[], &log.note(12)).await,
        Err(AddCheckpointError::Conflict { witness_size: 12 })
    );
    let fork = Log::with_leaf_seed(1, 40, 0x55);
    assert!(matches!(
        add_checkpoint(&w.base, 12, &[], &fork.note(12)).await,
        Err(AddCheckpointError::Refused { status: 409, .. })
    ));
    add_checkpoint(&w.base, 12, &log.proof(12, 13), &log.note(13))
        .await
        .unwrap();
    assert_eq!(stored(&path).size, 13);
}

#[tokio::test]
async fn a_quorum_of_two_witnesses() {
    let log = Log::new(1, 40);
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let w1 = start(&d1.path().join("w.db"), 4, &log, None).await;
    let w2 = start(&d2.path().join("w.db"), 5, &log, None).await;
    let third = witness_signer(6).verifier();
    let trusted = [
        CosignatureVerifier::parse(&w1.vkey).unwrap(),
        CosignatureVerifier::parse(&w2.vkey).unwrap(),
        third,
    ];
    let mut note = log.note(7);
    for w in [&w1, &w2] {
        let lines = add_checkpoint(&w.base, 0, &[], &note).await.unwrap();
        note = add_signature_lines(&note, &lines);
    }
    let got = verify_cosigned(&note, &log.signer.verifier(), &trusted, 2).unwrap();
    assert_eq!(got.witnesses.len(), 2);
    match verify_cosigned(&note, &log.signer.verifier(), &trusted, 3) {
        Err(CheckpointError::QuorumNotMet {
            got: 2,
            needed: 3,
            missing,
            ..
        }) => assert_eq!(missing, ["witness.test/w6"]),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_witness_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let log = Log::new(1, 4);
    assert!(matches!(
        add_checkpoint(&format!("http://{addr}"), 0, &[], &log.note(4)).await,
        Err(AddCheckpointError::Unavailable(_))
    ));
}
