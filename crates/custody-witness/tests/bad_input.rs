//! The witness's `add-checkpoint` under hostile input, served by the shared serve loop
//! (`custody_witness::server::serve`) with short time-outs: truncated and malformed bodies,
//! huge numbers, invalid UTF-8, repeated lines, oversized and slow bodies, slow heads, and a
//! replayed request. Each is refused with its status and a reason; the witness's stored state
//! never moves; and a good request still goes through afterwards.

use std::path::Path;
use std::time::Duration;

use custody_core::checkpoint::{Checkpoint, NoteSigner};
use custody_core::cosignature::CosignatureSigner;
use custody_core::merkle::{consistency_proof, leaf_hash, root_of, Digest};
use custody_witness::db::{LogState, WitnessDb};
use custody_witness::protocol::format_request;
use custody_witness::server::{router_with, serve, WitnessState};
use ed25519_dalek::SigningKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ORIGIN: &str = "custody-ledger.test";
const TIMEOUT: Duration = Duration::from_secs(1);
/// The most any exchange of this test waits.
const BOUND: Duration = Duration::from_secs(30);

struct Log {
    signer: NoteSigner,
    leaves: Vec<Digest>,
}

impl Log {
    fn new() -> Self {
        Log {
            signer: NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[1; 32])).unwrap(),
            leaves: (0..40u64)
                .map(|i| {
                    let mut e = [0u8; 32];
                    e[..8].copy_from_slice(&i.to_be_bytes());
                    leaf_hash(&e)
                })
                .collect(),
        }
    }

    fn note(&self, size: u64) -> String {
        self.signer
            .sign_checkpoint(&Checkpoint {
                origin: ORIGIN.into(),
                size,
                root: root_of(&self.leaves[..size as usize]),
                extensions: vec![],
            })
            .unwrap()
    }

    fn proof(&self, old: u64, new: u64) -> Vec<Digest> {
        consistency_proof(&self.leaves, old, new).unwrap()
    }
}

fn stored(path: &Path) -> Option<LogState> {
    WitnessDb::open(path).unwrap().state(ORIGIN).unwrap()
}

/// Sends `request` (head and body, as bytes) and reads until the witness closes: status, text.
async fn exchange(addr: &str, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(request).await;
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(BOUND, s.read_to_end(&mut raw)).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

fn post(addr: &str, body: &[u8]) -> Vec<u8> {
    let mut req = format!(
        "POST /add-checkpoint HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

#[tokio::test]
async fn hostile_add_checkpoint_requests_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("w.db");
    let log = Log::new();
    let db = WitnessDb::open(&db_path).unwrap();
    db.add_log(ORIGIN, &log.signer.verifier_key()).unwrap();
    let signer =
        CosignatureSigner::new("witness.test/w4", SigningKey::from_bytes(&[4; 32])).unwrap();
    let limits = custody_http::Limits {
        max_connections: 16,
        header_read_timeout: TIMEOUT,
        request_timeout: TIMEOUT,
        idle_timeout: TIMEOUT,
    };
    let app = router_with(WitnessState::new(db, signer), &limits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app, limits, async {
        let _ = stopped.await;
    }));

    let first = format_request(0, &[], &log.note(10));
    let (s, text) = exchange(&addr, &post(&addr, first.as_bytes())).await;
    assert_eq!(s, 200, "{text}");
    let before = stored(&db_path);
    assert_eq!(before.as_ref().map(|s| s.size), Some(10));

    let good = format_request(10, &log.proof(10, 20), &log.note(20));
    let mut invalid_utf8 = good.clone().into_bytes();
    let at = invalid_utf8.len() - 10;
    invalid_utf8[at] = 0xff;
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("empty", Vec::new(), 400),
        ("truncated", good.as_bytes()[..good.len() / 2].to_vec(), 400),
        (
            "truncated by one byte",
            good.as_bytes()[..good.len() - 1].to_vec(),
            400,
        ),
        (
            "huge old size",
            good.replacen("old 10", "old 99999999999999999999999", 1)
                .into_bytes(),
            400,
        ),
        (
            "negative old size",
            good.replacen("old 10", "old -10", 1).into_bytes(),
            400,
        ),
        (
            "two old lines",
            good.replacen("old 10\n", "old 10\nold 10\n", 1)
                .into_bytes(),
            400,
        ),
        ("invalid UTF-8", invalid_utf8, 400),
        ("JSON", br#"{"old": 10, "note": "x"}"#.to_vec(), 400),
        ("binary", (0u8..=255).cycle().take(2048).collect(), 400),
        ("huge", vec![b'x'; 200 * 1024], 413),
    ];
    for (name, body, status) in cases {
        let (s, text) = exchange(&addr, &post(&addr, &body)).await;
        assert_eq!(s, status, "{name}: {text}");
        assert!(!text.trim().is_empty(), "{name}: a refusal says why");
        assert_eq!(stored(&db_path), before, "{name}: the witness state moved");
    }
    // Declared oversized: refused before the body is read.
    let (s, _) = exchange(
        &addr,
        format!(
            "POST /add-checkpoint HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 50000000\r\n\r\n"
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(s, 413);
    // A slow body: 408 once the request time-out passed.
    let mut slow = post(&addr, good.as_bytes());
    slow.truncate(slow.len() - 20);
    let (s, text) = exchange(&addr, &slow).await;
    assert_eq!(s, 408, "{text}");
    assert!(text.contains("did not arrive within 1 s"), "{text}");
    // A slow head: closed without an answer.
    let (s, text) = exchange(
        &addr,
        b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Le",
    )
    .await;
    assert_eq!((s, text.as_str()), (0, ""));
    assert_eq!(stored(&db_path), before);

    // The good request goes through; replayed, it is a conflict (the witness moved on).
    let (s, text) = exchange(&addr, &post(&addr, good.as_bytes())).await;
    assert_eq!(s, 200, "{text}");
    let after = stored(&db_path);
    assert_eq!(after.as_ref().map(|s| s.size), Some(20));
    let (s, text) = exchange(&addr, &post(&addr, good.as_bytes())).await;
    assert_eq!((s, text.as_str()), (409, "20\n"));
    assert_eq!(stored(&db_path), after);

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
