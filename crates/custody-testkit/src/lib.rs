//! Test support for custody-ledger: a real `nats-server` with JetStream, started per test.
//!
//! [`NatsServer::start`] runs `nats-server -js` on a free port of 127.0.0.1 with its own
//! temporary store directory, and returns once the server accepts connections and its
//! monitoring endpoint reports JetStream healthy. [`NatsServer::kill`] sends SIGKILL, like a
//! crash or a power cut; [`NatsServer::restart`] starts the server again on the same port with
//! the same store, so a test can check what survived. Dropping the value kills the process and
//! removes the directory.
//!
//! Tests never use a server that happens to run on the machine: each one gets its own.
//!
//! The crate depends on `std` and `tempfile` only; readiness is checked with a plain HTTP/1.0
//! request over a `TcpStream`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Name of the server binary looked up on `PATH`.
const BINARY: &str = "nats-server";
/// How long a start or restart may take before it is reported as failed.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Pause between readiness probes.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// How many fresh ports `start` tries when the chosen one is taken by someone else meanwhile.
const PORT_ATTEMPTS: usize = 5;

/// A free TCP port on 127.0.0.1, chosen by the operating system.
///
/// The port is free when the function returns; another process may take it before the caller
/// binds it, so callers that can should retry with a new port when binding fails.
pub fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// A `nats-server` process with JetStream enabled, owned by a test.
///
/// The process is killed and its store directory removed when the value is dropped.
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    monitor_port: u16,
    dir: tempfile::TempDir,
}

impl NatsServer {
    /// Starts a server on a free port with a new, empty store directory, and waits until it
    /// accepts connections and JetStream is ready.
    ///
    /// Fails with [`io::ErrorKind::NotFound`] when `nats-server` is not installed.
    pub fn start() -> io::Result<NatsServer> {
        let mut dir = tempfile::Builder::new().prefix("custody-nats-").tempdir()?;
        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port()?;
            let monitor_port = free_port()?;
            if port == monitor_port {
                continue;
            }
            let mut server = NatsServer {
                child: None,
                port,
                monitor_port,
                dir,
            };
            match server.spawn_and_wait() {
                Ok(()) => return Ok(server),
                // Another process took a port between `free_port` and the bind: try others.
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                    server.kill();
                    dir = server.take_dir()?;
                    last_error = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("no free port pair found")))
    }

    /// The client URL, `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The process id of the running server, if it runs (for reading its CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The monitoring URL, `http://127.0.0.1:MONITOR_PORT`.
    pub fn monitor_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.monitor_port)
    }

    /// The JetStream store directory (`-sd`), kept across [`NatsServer::restart`].
    pub fn store_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The file that receives the server's log output.
    pub fn log_file(&self) -> PathBuf {
        self.dir.path().join("nats-server.log")
    }

    /// Whether the server process is running (it was started and not killed).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(Ok(Some(_)) | Err(_)) | None => false,
        }
    }

    /// Kills the server with SIGKILL, like a crash: nothing is flushed, no client is told.
    ///
    /// Does nothing when the server is not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // An error means the process has already exited; waiting reaps it either way.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same store directory, killing it
    /// first if it still runs, and waits until it is ready.
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.spawn_and_wait() {
                // The old listening socket may take a moment to be released.
                Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                    self.kill();
                    thread::sleep(Duration::from_millis(100));
                }
                other => return other,
            }
        }
    }

    fn take_dir(self) -> io::Result<tempfile::TempDir> {
        // A fresh directory: `Drop` owns the old one and removes it.
        drop(self);
        tempfile::Builder::new().prefix("custody-nats-").tempdir()
    }

    fn spawn_and_wait(&mut self) -> io::Result<()> {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_file())?;
        let log_err = log.try_clone()?;
        let child = Command::new(BINARY)
            .arg("-js")
            .args(["-a", "127.0.0.1"])
            .args(["-p", &self.port.to_string()])
            .args(["-m", &self.monitor_port.to_string()])
            .arg("-sd")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        "nats-server not found on PATH: apt-get install -y nats-server",
                    )
                } else {
                    io::Error::new(e.kind(), format!("cannot start nats-server: {e}"))
                }
            })?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    let tail = self.log_tail();
                    let kind = if tail.contains("address already in use") {
                        io::ErrorKind::AddrInUse
                    } else {
                        io::ErrorKind::Other
                    };
                    return Err(io::Error::new(
                        kind,
                        format!("nats-server exited during startup ({status}); log:\n{tail}"),
                    ));
                }
            }
            if self.accepts_clients() && self.jetstream_healthy() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let tail = self.log_tail();
                self.kill();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "nats-server on port {} was not ready within {:?}; log:\n{tail}",
                        self.port, START_TIMEOUT
                    ),
                ));
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    fn accepts_clients(&self) -> bool {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
            return false;
        };
        // A ready server greets every client with its INFO line.
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).is_ok() && &buf == b"INFO"
    }

    fn jetstream_healthy(&self) -> bool {
        http_get_status(self.monitor_port, "/healthz?js-enabled-only=true")
            .is_ok_and(|status| status == 200)
            && http_get_status(self.monitor_port, "/healthz").is_ok_and(|status| status == 200)
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        // The TempDir field removes the store directory after this.
    }
}

/// Status code of `GET path` on the monitoring port (HTTP/1.0, so the server closes the
/// connection after the response).
fn http_get_status(port: u16, path: &str) -> io::Result<u16> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an HTTP response"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_kills_and_restarts_on_the_same_port() {
        let mut server = NatsServer::start().unwrap();
        let port = server.port();
        assert!(server.url().starts_with("nats://127.0.0.1:"));
        assert!(server.accepts_clients());
        let dir = server.store_dir().to_path_buf();
        assert!(dir.is_dir());

        server.kill();
        assert!(!server.is_running());
        assert!(!server.accepts_clients());

        server.restart().unwrap();
        assert!(server.is_running());
        assert_eq!(server.port(), port);
        assert_eq!(server.store_dir(), dir);
        assert!(server.accepts_clients());

        drop(server);
        assert!(!dir.exists(), "store directory is removed on drop");
    }

    #[test]
    fn free_port_is_bindable() {
        let port = free_port().unwrap();
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }
}
