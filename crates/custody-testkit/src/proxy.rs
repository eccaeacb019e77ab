//! A TCP proxy a test can cut and restore: the network link between a field post and the hub.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How often the accept loop looks whether the link was cut.
const ACCEPT_POLL: Duration = Duration::from_millis(10);
/// How long [`TcpProxy::restore`] waits for the old listening port to be free again.
const REBIND_TIMEOUT: Duration = Duration::from_secs(10);
/// Budget value meaning "no budget".
const NO_BUDGET: u64 = u64::MAX;

/// A TCP proxy on a port of 127.0.0.1 that forwards every connection to an upstream address,
/// until the test cuts it.
///
/// [`TcpProxy::cut`] closes the listening socket (new connections are refused, as on a dead
/// link) and shuts down every forwarded connection in both directions; [`TcpProxy::restore`]
/// listens again on the same port. [`TcpProxy::cut_after_bytes`] makes the link fail by itself
/// once that many more bytes went towards the upstream, so a test can cut a transfer midway
/// without racing it. Dropping the value cuts the link for good.
#[derive(Debug)]
pub struct TcpProxy {
    port: u16,
    shared: Arc<Shared>,
}

/// What the proxy's threads share.
#[derive(Debug)]
struct Shared {
    upstream: SocketAddr,
    /// Bumped by every cut: an accept loop or a connection of an older generation stops.
    generation: AtomicUsize,
    /// Whether the link is up.
    up: AtomicBool,
    /// Bytes that may still go towards the upstream before the link cuts itself.
    budget: AtomicU64,
    /// Bytes forwarded towards the upstream since the proxy started.
    sent: AtomicU64,
    /// Connections accepted since the proxy started.
    accepted: AtomicU64,
    /// Both ends of every forwarded connection, to shut them down on a cut.
    streams: Mutex<Vec<TcpStream>>,
}

impl Shared {
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
        let streams = std::mem::take(&mut *self.streams.lock().unwrap_or_else(|p| p.into_inner()));
        for s in streams {
            // Already closed is fine.
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl TcpProxy {
    /// Starts a proxy on a free port of 127.0.0.1 forwarding to `upstream`, link up.
    pub fn start(upstream: SocketAddr) -> io::Result<TcpProxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let proxy = TcpProxy {
            port,
            shared: Arc::new(Shared {
                upstream,
                generation: AtomicUsize::new(0),
                up: AtomicBool::new(true),
                budget: AtomicU64::new(NO_BUDGET),
                sent: AtomicU64::new(0),
                accepted: AtomicU64::new(0),
                streams: Mutex::new(Vec::new()),
            }),
        };
        proxy.serve(listener)?;
        Ok(proxy)
    }

    /// The proxy's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The proxy's address, `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// Whether the link is up.
    pub fn is_up(&self) -> bool {
        self.shared.up.load(Ordering::SeqCst)
    }

    /// Bytes forwarded towards the upstream so far.
    pub fn bytes_sent(&self) -> u64 {
        self.shared.sent.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Cuts the link: refuses new connections and breaks every open one. Does nothing when
    /// the link is already cut.
    pub fn cut(&self) {
        self.shared.budget.store(NO_BUDGET, Ordering::SeqCst);
        self.shared.cut();
    }

    /// Makes the link cut itself once `bytes` more bytes went towards the upstream (counted
    /// from now); the connection that crosses the budget is broken mid-transfer.
    pub fn cut_after_bytes(&self, bytes: u64) {
        self.shared.budget.store(bytes, Ordering::SeqCst);
    }

    /// Restores a cut link: listens again on the same port. Does nothing when it is up.
    pub fn restore(&self) -> io::Result<()> {
        if self.is_up() {
            return Ok(());
        }
        let deadline = Instant::now() + REBIND_TIMEOUT;
        let listener = loop {
            match TcpListener::bind((Ipv4Addr::LOCALHOST, self.port)) {
                Ok(l) => break l,
                Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                    thread::sleep(ACCEPT_POLL);
                }
                Err(e) => return Err(e),
            }
        };
        self.shared.up.store(true, Ordering::SeqCst);
        self.serve(listener)
    }

    /// Runs the accept loop of the current generation on its own thread.
    fn serve(&self, listener: TcpListener) -> io::Result<()> {
        listener.set_nonblocking(true)?;
        let shared = Arc::clone(&self.shared);
        let generation = shared.generation.load(Ordering::SeqCst);
        thread::spawn(move || {
            while shared.generation.load(Ordering::SeqCst) == generation {
                match listener.accept() {
                    Ok((client, _)) => {
                        if forward(&shared, client, generation).is_err() {
                            // The upstream refused: the client sees its connection closed.
                            continue;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(ACCEPT_POLL),
                    Err(_) => thread::sleep(ACCEPT_POLL),
                }
            }
            // Dropping the listener closes the port: new connections are refused.
        });
        Ok(())
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.shared.cut();
    }
}

/// Connects `client` to the upstream and copies both ways on two threads.
fn forward(shared: &Arc<Shared>, client: TcpStream, generation: usize) -> io::Result<()> {
    client.set_nonblocking(false)?;
    let upstream = TcpStream::connect_timeout(&shared.upstream, Duration::from_secs(2))?;
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    shared.accepted.fetch_add(1, Ordering::SeqCst);
    {
        let mut streams = shared.streams.lock().unwrap_or_else(|p| p.into_inner());
        streams.push(client.try_clone()?);
        streams.push(upstream.try_clone()?);
    }
    if shared.generation.load(Ordering::SeqCst) != generation {
        // Cut while connecting.
        let _ = client.shutdown(Shutdown::Both);
        let _ = upstream.shutdown(Shutdown::Both);
        return Ok(());
    }
    let (c2, u2) = (client.try_clone()?, upstream.try_clone()?);
    let up = Arc::clone(shared);
    thread::spawn(move || copy(client, upstream, Some(up)));
    thread::spawn(move || copy(u2, c2, None));
    Ok(())
}

/// Copies `from` to `to` until either closes; `counted` is set for the direction towards the
/// upstream, whose bytes spend the budget.
fn copy(mut from: TcpStream, mut to: TcpStream, counted: Option<Arc<Shared>>) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut n = n;
        let mut cut_now = false;
        if let Some(shared) = &counted {
            let budget = shared.budget.load(Ordering::SeqCst);
            if budget != NO_BUDGET {
                let allowed = budget.min(n as u64);
                shared.budget.store(budget - allowed, Ordering::SeqCst);
                if allowed < n as u64 || budget - allowed == 0 {
                    n = allowed as usize;
                    cut_now = true;
                }
            }
            shared.sent.fetch_add(n as u64, Ordering::SeqCst);
        }
        if n > 0 && to.write_all(&buf[..n]).is_err() {
            break;
        }
        if cut_now {
            if let Some(shared) = &counted {
                shared.budget.store(NO_BUDGET, Ordering::SeqCst);
                shared.cut();
            }
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upstream that answers every line with the same line.
    fn echo() -> SocketAddr {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            for s in listener.incoming().flatten() {
                thread::spawn(move || {
                    let mut r = s.try_clone().unwrap();
                    let mut w = s;
                    let _ = io::copy(&mut r, &mut w);
                });
            }
        });
        addr
    }

    fn round_trip(addr: SocketAddr, text: &[u8]) -> io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(text)?;
        let mut got = vec![0u8; text.len()];
        s.read_exact(&mut got)?;
        Ok(got)
    }

    #[test]
    fn forwards_refuses_when_cut_and_forwards_again_when_restored() {
        let proxy = TcpProxy::start(echo()).unwrap();
        assert_eq!(round_trip(proxy.addr(), b"hello").unwrap(), b"hello");

        let mut open = TcpStream::connect(proxy.addr()).unwrap();
        open.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        open.write_all(b"x").unwrap();
        let mut one = [0u8; 1];
        open.read_exact(&mut one).unwrap();

        proxy.cut();
        assert!(!proxy.is_up());
        // The open connection is broken, and new ones are refused.
        let mut rest = Vec::new();
        let broken = open.read_to_end(&mut rest).map(|n| n == 0).unwrap_or(true);
        assert!(broken, "an open connection ends when the link is cut");
        assert!(round_trip(proxy.addr(), b"again").is_err());

        proxy.restore().unwrap();
        assert!(proxy.is_up());
        assert_eq!(round_trip(proxy.addr(), b"again").unwrap(), b"again");
        assert!(proxy.connections() >= 3);
    }

    #[test]
    fn a_byte_budget_cuts_the_link_mid_transfer() {
        let proxy = TcpProxy::start(echo()).unwrap();
        proxy.cut_after_bytes(4);
        assert!(round_trip(proxy.addr(), b"0123456789").is_err());
        assert!(!proxy.is_up(), "the link cut itself");
        assert_eq!(proxy.bytes_sent(), 4, "only the budget went through");
        proxy.restore().unwrap();
        assert_eq!(
            round_trip(proxy.addr(), b"0123456789").unwrap(),
            b"0123456789"
        );
    }
}
