//! The shipped NATS configurations (`deploy/nats/`), copied into a temporary directory with
//! their site paths and ports adapted: throwaway TLS certificates made with `openssl` at test
//! time, a temporary store directory, free loopback ports. Used by `deploy_config.rs` (every
//! configuration passes `nats-server -t`) and `permissions.rs` (each refusal, against a server
//! started with `deploy/nats/custody.conf`).

#![allow(dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use custody_testkit::{free_port, server_binary};

/// The passwords given to the servers through their environment, as a site's secrets.env would.
pub const GATEWAY_PASSWORD: &str = "test-gateway-password";
/// The reader's password.
pub const READER_PASSWORD: &str = "test-reader-password";
/// The monitor's password.
pub const MONITOR_PASSWORD: &str = "test-monitor-password";
/// The field posts' leaf password.
pub const POST_PASSWORD: &str = "test-post-password";

/// The environment of every server started from the deploy configurations.
pub fn server_env() -> Vec<(&'static str, String)> {
    vec![
        (
            "CUSTODY_GATEWAY_NATS_PASSWORD",
            GATEWAY_PASSWORD.to_string(),
        ),
        ("CUSTODY_READER_NATS_PASSWORD", READER_PASSWORD.to_string()),
        (
            "CUSTODY_MONITOR_NATS_PASSWORD",
            MONITOR_PASSWORD.to_string(),
        ),
        ("CUSTODY_POST_NATS_PASSWORD", POST_PASSWORD.to_string()),
        (
            "CUSTODY_HUB_LEAF_URL",
            format!("tls://custody-post:{POST_PASSWORD}@localhost:7422"),
        ),
    ]
}

/// The repository's `deploy/` directory.
pub fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// Every `.conf` file under `deploy/nats/`, relative to it (`custody.conf`,
/// `cluster/custody-1.conf`, ...), sorted.
pub fn nats_configs() -> Vec<PathBuf> {
    let root = deploy_dir().join("nats");
    let mut out = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "conf") {
                out.push(
                    path.strip_prefix(&root)
                        .expect("under deploy/nats")
                        .to_path_buf(),
                );
            }
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no configuration in {}", root.display());
    out
}

/// A throwaway CA and a server certificate it signed, valid for `localhost` and 127.0.0.1, for
/// server and client use (cluster routes use it both ways). Made once per test binary; the
/// directory is kept until the process exits.
pub struct Certs {
    /// The directory holding `ca.pem`, `hub-ca.pem` (the same CA), `server.pem`,
    /// `server-key.pem`.
    pub dir: PathBuf,
}

impl Certs {
    /// The CA certificate clients trust.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl (apt-get install openssl): {e}"));
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The certificates of this test binary (made on first use).
pub fn certs() -> &'static Certs {
    static CERTS: OnceLock<Certs> = OnceLock::new();
    CERTS.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("custody-deploy-tls-")
            .tempdir()
            .expect("temporary directory")
            .keep();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend([
            "-days",
            "2",
            "-subj",
            "/CN=custody-test-ca",
            "-keyout",
            "ca-key.pem",
            "-out",
            "ca.pem",
        ]);
        openssl(&dir, &ca);
        let mut csr = vec!["req"];
        csr.extend(ec);
        csr.extend([
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server-key.pem",
            "-out",
            "server.csr",
        ]);
        openssl(&dir, &csr);
        fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n\
             extendedKeyUsage=serverAuth,clientAuth\n",
        )
        .expect("write ext.cnf");
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca-key.pem",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
                "-out",
                "server.pem",
            ],
        );
        fs::copy(dir.join("ca.pem"), dir.join("hub-ca.pem")).expect("copy the CA");
        Certs { dir }
    })
}

/// The loopback ports a rendered configuration listens on.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// Clients (4222 in the files).
    pub client: u16,
    /// Monitoring (8222).
    pub monitor: u16,
    /// Leaf nodes (7422).
    pub leaf: u16,
    /// Cluster routes (6222).
    pub cluster: u16,
}

impl Ports {
    /// Four free ports, distinct.
    pub fn free() -> Ports {
        loop {
            let p = [
                free_port().expect("free port"),
                free_port().expect("free port"),
                free_port().expect("free port"),
                free_port().expect("free port"),
            ];
            let mut sorted = p;
            sorted.sort_unstable();
            if sorted.windows(2).all(|w| w[0] != w[1]) {
                return Ports {
                    client: p[0],
                    monitor: p[1],
                    leaf: p[2],
                    cluster: p[3],
                };
            }
        }
    }
}

/// A copy of `deploy/nats` and `deploy/policy` in a temporary directory, with the site paths
/// (`/etc/custody/nats/tls/`, `/var/lib/custody-nats`) and ports replaced.
pub struct Rendered {
    /// The temporary copy (removed on drop).
    pub dir: tempfile::TempDir,
    /// The ports written in.
    pub ports: Ports,
}

impl Rendered {
    /// Renders the deploy tree for these ports.
    pub fn new(ports: Ports) -> Rendered {
        let dir = tempfile::Builder::new()
            .prefix("custody-deploy-")
            .tempdir()
            .expect("temporary directory");
        let certs = certs();
        let store = dir.path().join("store");
        fs::create_dir(&store).expect("store directory");
        for sub in ["nats", "policy"] {
            copy_tree(&deploy_dir().join(sub), &dir.path().join(sub), &|text| {
                text.replace(
                    "/etc/custody/nats/tls/",
                    &format!("{}/", certs.dir.display()),
                )
                .replace("/var/lib/custody-nats", &store.display().to_string())
                .replace("0.0.0.0:4222", &format!("127.0.0.1:{}", ports.client))
                .replace("127.0.0.1:4222", &format!("127.0.0.1:{}", ports.client))
                .replace("127.0.0.1:8222", &format!("127.0.0.1:{}", ports.monitor))
                .replace("0.0.0.0:7422", &format!("127.0.0.1:{}", ports.leaf))
                .replace("0.0.0.0:6222", &format!("127.0.0.1:{}", ports.cluster))
            });
        }
        Rendered { dir, ports }
    }

    /// The rendered path of a configuration (relative to `deploy/nats`).
    pub fn config(&self, rel: &Path) -> PathBuf {
        self.dir.path().join("nats").join(rel)
    }
}

fn copy_tree(from: &Path, to: &Path, rewrite: &dyn Fn(&str) -> String) {
    fs::create_dir_all(to).expect("create directory");
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let path = entry.expect("directory entry").path();
        let target = to.join(path.file_name().expect("file name"));
        if path.is_dir() {
            copy_tree(&path, &target, rewrite);
        } else if path.extension().is_some_and(|ext| ext == "conf") {
            let text = fs::read_to_string(&path).expect("read configuration");
            fs::write(&target, rewrite(&text)).expect("write configuration");
        } else {
            fs::copy(&path, &target).expect("copy file");
        }
    }
}

/// `nats-server -t -c FILE` with the passwords in the environment: (success, output).
pub fn check_config(file: &Path) -> (bool, String) {
    let mut cmd = Command::new(server_binary());
    cmd.arg("-t").arg("-c").arg(file);
    for (k, v) in server_env() {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run nats-server -t");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A nats-server running `deploy/nats/custody.conf` (rendered), killed on drop.
pub struct DeployServer {
    child: Child,
    /// The rendered tree it runs from.
    pub rendered: Rendered,
    log: PathBuf,
}

impl DeployServer {
    /// Starts the single-node configuration and waits until it accepts connections and
    /// JetStream is healthy.
    pub fn start() -> DeployServer {
        let rendered = Rendered::new(Ports::free());
        let conf = rendered.config(Path::new("custody.conf"));
        let log = rendered.dir.path().join("nats-server.log");
        let out = fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let mut cmd = Command::new(server_binary());
        cmd.arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        for (k, v) in server_env() {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start nats-server");
        let mut server = DeployServer {
            child,
            rendered,
            log,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("nats-server exited ({status}): {}", self.log_text());
            }
            if self.greets() && self.http_status("/healthz") == Some(200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nats-server not ready: {}",
                self.log_text()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn greets(&self) -> bool {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.rendered.ports.client));
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).is_ok() && &buf == b"INFO"
    }

    /// The status of `GET path` on the (localhost, plain HTTP) monitoring port.
    pub fn http_status(&self, path: &str) -> Option<u16> {
        let (status, _) = self.http_get(path)?;
        Some(status)
    }

    /// Status and body of `GET path` on the monitoring port.
    pub fn http_get(&self, path: &str) -> Option<(u16, String)> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.rendered.ports.monitor));
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        let status = text.split_whitespace().nth(1)?.parse().ok()?;
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
        Some((status, body))
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.rendered.ports.client
    }

    /// `nats://USER:PASSWORD@localhost:PORT` (TLS is negotiated: the server requires it).
    pub fn url(&self, user: &str, password: &str) -> String {
        format!("nats://{user}:{password}@localhost:{}", self.port())
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the server's log contains `needle` (true), or 10 s pass (false).
    pub fn wait_log(&self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.log_text().contains(needle) {
                return true;
            }
            thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for DeployServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
