//! Hostile clients against the real gateway on 127.0.0.1, with a small connection limit and
//! short time-outs: half-sent requests, silent connections, heads and bodies sent a byte at a
//! time, idle keep-alive connections. Healthy clients are still served, and every slow
//! connection is cut once its time-out has passed.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use custody_core::EventKind;
use custody_gateway::ServeConfig;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LIMIT: usize = 8;
const TIMEOUT: Duration = Duration::from_secs(1);
/// The most any one client of these tests waits for anything.
const BOUND: Duration = Duration::from_secs(40);

fn limits() -> ServeConfig {
    ServeConfig {
        max_connections: LIMIT,
        header_read_timeout: TIMEOUT,
        request_timeout: TIMEOUT,
        idle_timeout: TIMEOUT,
        ..ServeConfig::default()
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Slow {
    /// Sends part of a request head, then nothing.
    HalfSent,
    /// Connects and sends nothing.
    Silent,
    /// Sends a request head a byte every 100 ms, never finishing it.
    TrickleHead,
    /// Sends a complete head, then the body a byte every 100 ms.
    TrickleBody,
}

struct Cut {
    kind: Slow,
    /// Whether the server closed the connection within [`BOUND`].
    closed: bool,
    /// How long after connecting.
    after: Duration,
    /// What the server sent before closing.
    received: Vec<u8>,
}

/// Runs one slow client until the server closes its connection (or [`BOUND`] passes).
async fn slow_client(addr: SocketAddr, kind: Slow) -> Cut {
    let started = Instant::now();
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        let (first, trickle): (&[u8], u8) = match kind {
            Slow::HalfSent => (b"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty", 0),
            Slow::Silent => (b"", 0),
            Slow::TrickleHead => (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", b'a'),
            Slow::TrickleBody => (
                b"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
                b' ',
            ),
        };
        if wr.write_all(first).await.is_err() || trickle == 0 {
            // Keep the write half open (no FIN) while waiting to be cut.
            tokio::time::sleep(BOUND).await;
            return;
        }
        for _ in 0..400 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if wr.write_all(&[trickle]).await.is_err() {
                return;
            }
        }
    });
    let mut received = Vec::new();
    let closed = tokio::time::timeout(BOUND, async {
        let mut buf = [0u8; 4096];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    writer.abort();
    Cut {
        kind,
        closed,
        after: started.elapsed(),
        received,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(BOUND).build().unwrap()
}

fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_do_not_starve_healthy_ones() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let store = custody_store_sqlite::SqliteStore::open(dir.path().join("ledger.db")).unwrap();
    let ledger = ledger_with_authority(std::sync::Arc::new(store), &keys).await;
    let gw = Gateway::start_with(ledger, limits()).await;
    let addr: SocketAddr = gw.base.trim_start_matches("http://").parse().unwrap();
    let size_before = gw.snapshot("authority").await.0;

    // Six times the connection limit of slow clients, all connected before any healthy one.
    let mut slow = Vec::new();
    for (kind, n) in [
        (Slow::HalfSent, 24),
        (Slow::Silent, 8),
        (Slow::TrickleHead, 8),
        (Slow::TrickleBody, 8),
    ] {
        for _ in 0..n {
            slow.push(tokio::spawn(slow_client(addr, kind)));
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Healthy clients, each on its own connection: health checks, an append, metrics.
    let base = gw.base.clone();
    let mut healthy = Vec::new();
    for _ in 0..5 {
        let url = format!("{base}/healthz");
        healthy.push(tokio::spawn(async move {
            let resp = client().get(url).send().await.expect("healthz answered");
            (resp.status(), resp.text().await.unwrap())
        }));
    }
    let mut c = ChainBuilder::new(chain_id(40));
    let arrest = c.next(&keys.officer, GENDARMERIE, EventKind::Arrest, arrest_body());
    let line = arrest.to_json_line();
    let url = format!("{base}/v1/events");
    healthy.push(tokio::spawn(async move {
        let resp = client()
            .post(url)
            .header("content-type", "application/json")
            .body(line)
            .send()
            .await
            .expect("append answered");
        (resp.status(), resp.text().await.unwrap())
    }));
    for task in healthy {
        let (status, body) = task.await.unwrap();
        assert!(
            status == StatusCode::OK || status == StatusCode::CREATED,
            "{status} {body}"
        );
    }

    // Every slow client was cut, none before its time-out; a slow body got 408 first.
    let mut cuts = Vec::new();
    for task in slow {
        cuts.push(task.await.unwrap());
    }
    for cut in &cuts {
        assert!(cut.closed, "{:?} never cut", cut.kind);
        assert!(
            cut.after >= TIMEOUT - Duration::from_millis(50),
            "{:?} cut after {:?}, before its time-out",
            cut.kind,
            cut.after
        );
        let text = String::from_utf8_lossy(&cut.received);
        if cut.kind == Slow::TrickleBody {
            assert!(text.starts_with("HTTP/1.1 408 "), "{:?}: {text}", cut.kind);
            let body = &text[text.find("\r\n\r\n").expect("a head") + 4..];
            let body: Value = serde_json::from_str(body).expect("a JSON error body");
            assert_eq!(body["error"]["rule"], "request_timeout", "{body}");
        } else {
            assert!(
                cut.received.is_empty(),
                "{:?} was answered: {text}",
                cut.kind
            );
        }
    }

    // Never more connections open than the limit; the slow ones counted as cut.
    let resp = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    let open = metric(&text, "custody_gateway_connections_open").expect("open gauge");
    assert!((1..=LIMIT as u64).contains(&open), "{open} open\n{text}");
    assert!(
        metric(&text, "custody_gateway_connection_limit_reached_total").unwrap_or(0) > 0,
        "{text}"
    );
    let header_cuts = metric(
        &text,
        "custody_gateway_connections_closed_total{reason=\"header_timeout\"}",
    )
    .unwrap_or(0);
    assert!(header_cuts >= 40, "{header_cuts} cut\n{text}");
    assert!(
        text.contains("custody_gateway_http_requests_total{route=\"/v1/events\",status=\"408\"} 8"),
        "{text}"
    );

    // Only the healthy append was stored.
    assert_eq!(gw.snapshot("authority").await.0, size_before + 1);
    assert_eq!(gw.stored_chain(&c.chain).await.len(), 1);
    gw.stop().await;
}

/// Reads one HTTP/1.1 response with a Content-Length from `stream`.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(BOUND, stream.read(&mut buf))
            .await
            .expect("an answer in time")
            .unwrap();
        assert!(n > 0, "closed before the answer: {got:?}");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .expect("content-length");
            if got.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let gw = {
        let store = custody_store_sqlite::SqliteStore::open(dir.path().join("ledger.db")).unwrap();
        let ledger = ledger_with_authority(std::sync::Arc::new(store), &keys).await;
        Gateway::start_with(ledger, limits()).await
    };
    let addr: SocketAddr = gw.base.trim_start_matches("http://").parse().unwrap();

    // Two requests on one connection (keep-alive works), then silence.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    for _ in 0..2 {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        let answer = read_response(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    }
    let idle_from = Instant::now();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(BOUND, stream.read(&mut buf))
        .await
        .expect("the idle connection is closed");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(idle_from.elapsed() >= TIMEOUT - Duration::from_millis(50));

    let resp = client()
        .get(format!("{}/metrics", gw.base))
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    assert_eq!(
        metric(
            &text,
            "custody_gateway_connections_closed_total{reason=\"idle_timeout\"}"
        ),
        Some(1),
        "{text}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn an_unusable_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let store = custody_store_sqlite::SqliteStore::open(dir.path().join("ledger.db")).unwrap();
    let ledger = ledger_with_authority(std::sync::Arc::new(store), &keys).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = ServeConfig {
        max_connections: 0,
        ..ServeConfig::default()
    };
    let err = custody_gateway::serve_with(ledger, listener, config, async {})
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("max_connections is 0"), "{err}");
}
