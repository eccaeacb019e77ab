//! Test support for custody-ledger: a real `nats-server` with JetStream, started per test.
//!
//! [`NatsServer::start`] runs nats-server 2.10 or newer on a free port of 127.0.0.1 with its
//! own temporary store directory and `jetstream { sync_interval: always }` (every write is
//! fsynced before it is acknowledged), and returns once the server accepts connections and its
//! monitoring endpoint reports JetStream healthy. [`NatsServer::kill`] sends SIGKILL, like a
//! crash or a power cut; [`NatsServer::restart`] starts the server again on the same port with
//! the same store, so a test can check what survived. Dropping the value kills the process and
//! removes the directory.
//!
//! Tests never use a server that happens to run on the machine: each one gets its own.
//!
//! The binary is [`server_binary`]: `$CUSTODY_NATS_SERVER` when set, else the copy of Debian
//! 13's nats-server that `scripts/install-nats-server.sh` unpacks into `.tools/nats-server/`
//! of the workspace, else `nats-server` on `PATH`. [`NatsServer::start_with`] starts another
//! binary, e.g. Debian 12's 2.9.10, to test that it is refused.
//!
//! [`Cluster`] starts a 3-node JetStream cluster on loopback (routes, `sync_interval: always`;
//! kill and restart one node, wait for a leader, read each node's copy of a stream from its
//! `/jsz`). [`LeafNode`] starts a hub and a field post's server connected to it as a leaf
//! node, each with its own JetStream domain, over a [`TcpProxy`] link the test cuts and
//! restores.
//!
//! The crate depends on `std`, `tempfile` and `serde_json` (to read the monitoring endpoints)
//! only; readiness is checked with a plain HTTP/1.0 request over a `TcpStream`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod cluster;
mod leaf;
mod proxy;
mod tmpfs;

pub use cluster::{Cluster, StreamState, CLUSTER_NAME};
pub use leaf::{LeafNode, HUB_DOMAIN, POST_DOMAIN};
pub use proxy::TcpProxy;
pub use tmpfs::Tmpfs;

/// Name of the server binary looked up on `PATH`.
const BINARY: &str = "nats-server";
/// Environment variable naming the server binary, which then takes precedence.
pub const BINARY_ENV: &str = "CUSTODY_NATS_SERVER";
/// Where `scripts/install-nats-server.sh` unpacks nats-server, relative to the workspace root.
pub const LOCAL_BINARY: &str = ".tools/nats-server/usr/sbin/nats-server";
/// The oldest nats-server [`NatsServer::start`] runs: the first with `sync_interval`.
pub const MIN_VERSION: Version = Version {
    major: 2,
    minor: 10,
    patch: 0,
};
/// Debian 12's system nats-server (2.9.10), which tests start on purpose to check that a
/// server older than [`MIN_VERSION`] is refused.
pub const OLD_SYSTEM_BINARY: &str = "/usr/sbin/nats-server";
/// What to run when no recent enough server is found.
const INSTALL_HINT: &str = "run scripts/install-nats-server.sh (it unpacks Debian 13's \
     nats-server 2.10.27 into .tools/nats-server/), or set CUSTODY_NATS_SERVER to a nats-server \
     2.10 or newer";
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

/// A nats-server version, as `nats-server --version` prints it (`nats-server: v2.10.27`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch level.
    pub patch: u32,
}

impl Version {
    /// Parses `2.10.27`, `v2.10.27` or `nats-server: v2.10.27` (a pre-release suffix such as
    /// `-RC.1` is ignored); `None` when the text is not such a version.
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.trim();
        let text = text.strip_prefix("nats-server:").unwrap_or(text).trim();
        let mut parts = text.strip_prefix('v').unwrap_or(text).splitn(3, '.');
        let mut number = || -> Option<u32> {
            let part = parts.next()?;
            part.split(['-', '+', ' ']).next()?.parse().ok()
        };
        Some(Version {
            major: number()?,
            minor: number()?,
            patch: number()?,
        })
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The workspace root: two levels above this crate's manifest directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The nats-server binary tests use: `$CUSTODY_NATS_SERVER` when set and not empty, else
/// [`LOCAL_BINARY`] in the workspace when it exists, else `nats-server` (looked up on `PATH`
/// when it runs).
pub fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os(BINARY_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let local = workspace_root().join(LOCAL_BINARY);
    if local.is_file() {
        return local;
    }
    PathBuf::from(BINARY)
}

/// The version of a nats-server binary, from `BINARY --version`.
///
/// Fails with [`io::ErrorKind::NotFound`] when the binary does not exist, and with
/// [`io::ErrorKind::InvalidData`] when it does not print a version.
pub fn server_version(binary: &Path) -> io::Result<Version> {
    let out = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| spawn_error(binary, e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    Version::parse(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} --version printed {:?}{}, not a nats-server version",
                binary.display(),
                text.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        )
    })
}

/// The error of a failed spawn of `binary`, saying how to get a server when it is missing.
fn spawn_error(binary: &Path, e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::NotFound {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "nats-server not found (tried {}: ${BINARY_ENV}, then {LOCAL_BINARY} in the \
                 workspace, then PATH): {INSTALL_HINT}",
                binary.display()
            ),
        )
    } else {
        io::Error::new(e.kind(), format!("cannot run {}: {e}", binary.display()))
    }
}

/// [`OLD_SYSTEM_BINARY`] when it exists and is older than [`MIN_VERSION`]; `None` (and a
/// line on stderr saying the test is skipped) otherwise.
pub fn old_server_binary() -> Option<PathBuf> {
    let old = PathBuf::from(OLD_SYSTEM_BINARY);
    match server_version(&old) {
        Ok(v) if v < MIN_VERSION => Some(old),
        Ok(v) => {
            eprintln!(
                "skipped: {OLD_SYSTEM_BINARY} is nats-server {v}, not older than {MIN_VERSION}"
            );
            None
        }
        Err(e) => {
            eprintln!("skipped: no old nats-server at {OLD_SYSTEM_BINARY}: {e}");
            None
        }
    }
}

/// How [`NatsServer::start_with`] starts a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    /// The binary to run. Default: [`server_binary`].
    pub binary: PathBuf,
    /// Whether to run with `jetstream { sync_interval: always }`, so that every write is
    /// fsynced before it is acknowledged. Default `true`; requires [`MIN_VERSION`] (older
    /// servers refuse the option), so `false` is only for starting an old server on purpose.
    pub sync_always: bool,
    /// Configuration appended to the server's (users, permissions...). Default empty.
    pub extra_config: String,
    /// Lines added inside the server's `jetstream { }` block (e.g. `domain: post`). Default
    /// empty.
    pub jetstream_config: String,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            binary: server_binary(),
            sync_always: true,
            extra_config: String::new(),
            jetstream_config: String::new(),
        }
    }
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
    options: ServerOptions,
    version: Version,
}

impl NatsServer {
    /// Starts [`server_binary`] with `sync_interval: always` on a free port with a new, empty
    /// store directory, and waits until it accepts connections and JetStream is ready.
    ///
    /// Fails with [`io::ErrorKind::NotFound`] when no nats-server is found, and with
    /// [`io::ErrorKind::Unsupported`] when it is older than [`MIN_VERSION`] (both messages say
    /// how to install one).
    pub fn start() -> io::Result<NatsServer> {
        NatsServer::start_with(ServerOptions::default())
    }

    /// Like [`NatsServer::start`], with another binary or without `sync_interval`.
    ///
    /// Fails with [`io::ErrorKind::Unsupported`] when `options.sync_always` is set and the
    /// binary is older than [`MIN_VERSION`].
    pub fn start_with(options: ServerOptions) -> io::Result<NatsServer> {
        let version = server_version(&options.binary)?;
        if options.sync_always && version < MIN_VERSION {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "{} is nats-server {version}, older than {MIN_VERSION}, which the tests need \
                     (jetstream sync_interval: always): {INSTALL_HINT}",
                    options.binary.display()
                ),
            ));
        }
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
                options: options.clone(),
                version,
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

    /// The configuration file the server runs with (written by each start and restart).
    pub fn config_file(&self) -> PathBuf {
        self.dir.path().join("nats-server.conf")
    }

    /// The binary this server runs.
    pub fn binary(&self) -> &Path {
        &self.options.binary
    }

    /// The version of the binary this server runs.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Whether the server runs with `jetstream { sync_interval: always }`.
    pub fn sync_always(&self) -> bool {
        self.options.sync_always
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

    /// The server's configuration: loopback ports, the store directory, and
    /// `sync_interval: always` when asked for.
    fn config_text(&self) -> io::Result<String> {
        let store = self
            .dir
            .path()
            .to_str()
            .filter(|p| !p.contains(['"', '\\', '\n']));
        let Some(store) = store else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "store directory {} cannot be written in a nats-server configuration",
                    self.dir.path().display()
                ),
            ));
        };
        let sync = if self.options.sync_always {
            // Fsync every write before acknowledging it (nats-server 2.10 and later).
            "  sync_interval: always\n"
        } else {
            ""
        };
        Ok(format!(
            "# Written by custody-testkit for one test.\n\
             listen: 127.0.0.1:{}\n\
             http: 127.0.0.1:{}\n\
             jetstream {{\n  store_dir: \"{store}\"\n{sync}{}\n}}\n{}\n",
            self.port, self.monitor_port, self.options.jetstream_config, self.options.extra_config
        ))
    }

    /// A server not started yet, on the given ports, with a new store directory.
    pub(crate) fn unstarted(
        options: ServerOptions,
        port: u16,
        monitor_port: u16,
    ) -> io::Result<NatsServer> {
        let version = server_version(&options.binary)?;
        if options.sync_always && version < MIN_VERSION {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "{} is nats-server {version}, older than {MIN_VERSION}: {INSTALL_HINT}",
                    options.binary.display()
                ),
            ));
        }
        let dir = tempfile::Builder::new().prefix("custody-nats-").tempdir()?;
        Ok(NatsServer {
            child: None,
            port,
            monitor_port,
            dir,
            options,
            version,
        })
    }

    fn spawn_and_wait(&mut self) -> io::Result<()> {
        self.spawn()?;
        self.wait_ready()
    }

    /// Writes the configuration and starts the process, without waiting for it to be ready.
    pub(crate) fn spawn(&mut self) -> io::Result<()> {
        std::fs::write(self.config_file(), self.config_text()?)?;
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_file())?;
        let log_err = log.try_clone()?;
        let child = Command::new(&self.options.binary)
            .arg("-c")
            .arg(self.config_file())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .map_err(|e| spawn_error(&self.options.binary, e))?;
        self.child = Some(child);
        Ok(())
    }

    /// Waits until the server accepts clients and its JetStream is healthy.
    pub(crate) fn wait_ready(&mut self) -> io::Result<()> {
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

    /// The body of `GET path` on the monitoring port (e.g. `/varz`, `/jsz`), when the server
    /// answers 200.
    pub fn monitor_get(&self, path: &str) -> io::Result<String> {
        let (status, body) = http_get(self.monitor_port, path)?;
        if status == 200 {
            Ok(body)
        } else {
            Err(io::Error::other(format!("GET {path}: status {status}")))
        }
    }

    /// The last 20 lines of the server's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        let lines = collapse_repeats(&text);
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// The lines of a nats-server log, each run of lines with the same message (the text after
/// `[pid] date time`) folded into its first line and a count, so that a tail shows what
/// happened before a wait, not twenty copies of one health check warning.
fn collapse_repeats(text: &str) -> Vec<String> {
    fn message(line: &str) -> &str {
        // `[1234] 2026/12/02 10:22:19.993043 [WRN] ...`: the message starts after the third space.
        line.splitn(4, ' ').nth(3).unwrap_or(line)
    }
    let mut out: Vec<String> = Vec::new();
    let mut last: Option<&str> = None;
    let mut repeats = 0usize;
    for line in text.lines() {
        if last.is_some_and(|m| m == message(line)) {
            repeats += 1;
            continue;
        }
        if repeats > 0 {
            out.push(format!("    (the line above {repeats} more times)"));
        }
        repeats = 0;
        last = Some(message(line));
        out.push(line.to_string());
    }
    if repeats > 0 {
        out.push(format!("    (the line above {repeats} more times)"));
    }
    out
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        // The TempDir field removes the store directory after this.
    }
}

/// Status code of `GET path` on the monitoring port.
fn http_get_status(port: u16, path: &str) -> io::Result<u16> {
    http_get(port, path).map(|(status, _)| status)
}

/// Status code and body of `GET path` on the monitoring port (HTTP/1.0, so the server closes
/// the connection after the response).
fn http_get(port: u16, path: &str) -> io::Result<(u16, String)> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an HTTP response"))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `/varz` says JetStream fsyncs every write.
    fn varz_sync_always(server: &NatsServer) -> bool {
        let varz = server.monitor_get("/varz").unwrap();
        varz.contains("\"sync_always\": true")
    }

    #[test]
    fn starts_kills_and_restarts_on_the_same_port() {
        let mut server = NatsServer::start().unwrap();
        assert!(server.version() >= MIN_VERSION, "{}", server.version());
        assert!(server.sync_always());
        assert!(
            varz_sync_always(&server),
            "sync_interval: always is in effect"
        );
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
        assert!(
            varz_sync_always(&server),
            "a restart keeps sync_interval: always"
        );

        drop(server);
        assert!(!dir.exists(), "store directory is removed on drop");
    }

    #[test]
    fn the_default_server_is_the_target_version() {
        let binary = server_binary();
        let version = server_version(&binary).unwrap();
        assert!(
            version >= MIN_VERSION,
            "{} is {version}: {INSTALL_HINT}",
            binary.display()
        );
        let server = NatsServer::start().unwrap();
        let varz = server.monitor_get("/varz").unwrap();
        assert!(
            varz.contains(&format!("\"version\": \"{version}\"")),
            "the running server is the binary found: {varz}"
        );
    }

    #[test]
    fn versions_parse() {
        let v = Version::parse("nats-server: v2.10.27\n").unwrap();
        assert_eq!(
            v,
            Version {
                major: 2,
                minor: 10,
                patch: 27
            }
        );
        assert_eq!(v.to_string(), "2.10.27");
        assert_eq!(Version::parse("v2.9.10").map(|v| v.minor), Some(9));
        assert_eq!(Version::parse("2.11.0-RC.1").map(|v| v.minor), Some(11));
        assert!(Version::parse("2.9.10").unwrap() < MIN_VERSION);
        assert!(Version::parse("2.10").is_none());
        assert!(Version::parse("nats-server").is_none());
    }

    #[test]
    fn an_old_server_is_refused_sync_always_and_runs_without_it() {
        let Some(old) = old_server_binary() else {
            return;
        };
        let e = NatsServer::start_with(ServerOptions {
            binary: old.clone(),
            sync_always: true,
            ..ServerOptions::default()
        })
        .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Unsupported, "{e}");
        assert!(
            e.to_string().contains("scripts/install-nats-server.sh"),
            "{e}"
        );

        let server = NatsServer::start_with(ServerOptions {
            binary: old,
            sync_always: false,
            ..ServerOptions::default()
        })
        .unwrap();
        assert!(server.version() < MIN_VERSION);
        assert!(!server.sync_always());
        assert!(!server.config_text().unwrap().contains("sync_interval"));
        assert!(server.accepts_clients());
    }

    #[test]
    fn a_missing_binary_says_how_to_install_one() {
        let e = server_version(Path::new("/nonexistent/nats-server")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(
            e.to_string().contains("scripts/install-nats-server.sh"),
            "{e}"
        );
    }

    #[test]
    fn a_log_tail_folds_repeated_messages() {
        let log = "[1] 2026/12/02 10:22:19.1 [INF] Starting\n\
                   [1] 2026/12/02 10:22:19.2 [WRN] Healthcheck failed: x\n\
                   [1] 2026/12/02 10:22:19.3 [WRN] Healthcheck failed: x\n\
                   [1] 2026/12/02 10:22:19.4 [WRN] Healthcheck failed: x\n\
                   [1] 2026/12/02 10:22:19.5 [ERR] Route Error";
        assert_eq!(
            collapse_repeats(log),
            vec![
                "[1] 2026/12/02 10:22:19.1 [INF] Starting",
                "[1] 2026/12/02 10:22:19.2 [WRN] Healthcheck failed: x",
                "    (the line above 2 more times)",
                "[1] 2026/12/02 10:22:19.5 [ERR] Route Error",
            ]
        );
    }

    #[test]
    fn free_port_is_bindable() {
        let port = free_port().unwrap();
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }
}
