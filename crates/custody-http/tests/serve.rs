//! The shared serve loop on 127.0.0.1 with a small connection limit and short time-outs:
//! the client's address reaches the routes, silent connections are cut, a full connection
//! table makes new clients wait (not fail), slow and oversized bodies are refused, and a
//! shutdown lets the request in flight finish.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use custody_http::{read_body, serve, BodyError, Limits, Observer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

const TIMEOUT: Duration = Duration::from_millis(400);

#[derive(Default)]
struct Counts {
    opened: AtomicU64,
    ended: AtomicU64,
    timed_out: AtomicU64,
    limit_reached: AtomicU64,
}

impl Observer for Counts {
    fn connection_opened(&self) {
        self.opened.fetch_add(1, Ordering::SeqCst);
    }
    fn connection_ended(&self) {
        self.ended.fetch_add(1, Ordering::SeqCst);
    }
    fn connection_timed_out(&self, _reason: &'static str) {
        self.timed_out.fetch_add(1, Ordering::SeqCst);
    }
    fn connection_limit_reached(&self) {
        self.limit_reached.fetch_add(1, Ordering::SeqCst);
    }
}

fn app() -> Router {
    Router::new()
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(800)).await;
                "done"
            }),
        )
        .route(
            "/body",
            post(|headers: HeaderMap, body: Body| async move {
                match read_body(&headers, body, 16, TIMEOUT).await {
                    Ok(b) => (StatusCode::OK, format!("{} bytes", b.len())),
                    Err(e @ BodyError::TooLarge { .. }) => {
                        (StatusCode::PAYLOAD_TOO_LARGE, e.to_string())
                    }
                    Err(e @ BodyError::TimedOut { .. }) => {
                        (StatusCode::REQUEST_TIMEOUT, e.to_string())
                    }
                    Err(e) => (StatusCode::BAD_REQUEST, e.to_string()),
                }
            }),
        )
}

struct Server {
    addr: SocketAddr,
    counts: Arc<Counts>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(max_connections: usize) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let counts = Arc::new(Counts::default());
    let limits = Limits {
        max_connections,
        header_read_timeout: TIMEOUT,
        request_timeout: TIMEOUT,
        idle_timeout: TIMEOUT,
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let observer: Arc<dyn Observer> = counts.clone();
    let done = tokio::spawn(serve(listener, app(), limits, observer, async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        counts,
        stop: Some(stop),
        done,
    }
}

/// Sends `request` whole and reads the answer until the server closes the connection.
async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("send");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

fn get_request(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").into_bytes()
}

#[tokio::test]
async fn routes_see_the_client_address_and_silent_connections_are_cut() {
    let server = start(8).await;
    let answer = exchange(server.addr, &get_request("/peer")).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("127.0.0.1"), "{answer}");

    // Half a head, then silence: closed without an answer once the head time-out passed.
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    silent
        .write_all(b"GET /peer HTTP/1.1\r\nHo")
        .await
        .expect("send");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), silent.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the silent connection was never cut");
    assert!(buf.is_empty(), "no answer to a head never completed");
    assert_eq!(server.counts.timed_out.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_full_connection_table_makes_new_clients_wait_not_fail() {
    let server = start(1).await;
    // The only slot, held by a client that sends nothing.
    let _silent = TcpStream::connect(server.addr).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Served once the silent connection is cut.
    let answer = exchange(server.addr, &get_request("/peer")).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(server.counts.limit_reached.load(Ordering::SeqCst) >= 1);
    assert!(server.counts.timed_out.load(Ordering::SeqCst) >= 1);
}

#[tokio::test]
async fn oversized_and_slow_bodies_are_refused() {
    let server = start(8).await;
    let declared = exchange(
        server.addr,
        b"POST /body HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 17\r\n\r\n12345678901234567",
    )
    .await;
    assert!(declared.starts_with("HTTP/1.1 413"), "{declared}");
    let chunked = exchange(
        server.addr,
        b"POST /body HTTP/1.1\r\nHost: t\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n1234567890123456\r\n1\r\nx\r\n0\r\n\r\n",
    )
    .await;
    assert!(chunked.starts_with("HTTP/1.1 413"), "{chunked}");
    let fits = exchange(
        server.addr,
        b"POST /body HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 16\r\n\r\n1234567890123456",
    )
    .await;
    assert!(
        fits.starts_with("HTTP/1.1 200") && fits.ends_with("16 bytes"),
        "{fits}"
    );
    // Five bytes of ten, then nothing: 408 once the body time-out passed.
    let slow = exchange(
        server.addr,
        b"POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12345",
    )
    .await;
    assert!(slow.starts_with("HTTP/1.1 408"), "{slow}");
}

#[tokio::test]
async fn a_shutdown_lets_the_request_in_flight_finish() {
    let mut server = start(8).await;
    let addr = server.addr;
    let in_flight = tokio::spawn(async move { exchange(addr, &get_request("/slow")).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    if let Some(stop) = server.stop.take() {
        let _ = stop.send(());
    }
    let answer = in_flight.await.expect("client task");
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("done"),
        "{answer}"
    );
    let served = tokio::time::timeout(Duration::from_secs(20), server.done)
        .await
        .expect("serve returned after the shutdown")
        .expect("serve task");
    assert!(served.is_ok(), "{served:?}");
    // Every connection opened has ended, and new ones are refused.
    assert_eq!(
        server.counts.opened.load(Ordering::SeqCst),
        server.counts.ended.load(Ordering::SeqCst)
    );
    assert!(TcpStream::connect(addr).await.is_err());
}
