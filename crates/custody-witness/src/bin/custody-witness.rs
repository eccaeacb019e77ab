//! `custody-witness`: a C2SP tlog-witness v1.0 for custody-ledger checkpoints, run by a monitor.
//!
//! ```text
//! custody-witness init --name witness.example.org/w1 --key /var/lib/custody-witness/witness.key --db /var/lib/custody-witness/witness.db
//! custody-witness add-log --db FILE --origin custody-ledger.example --vkey 'custody-ledger.example+1234abcd+AQ...'
//! custody-witness serve --db FILE --listen 127.0.0.1:8090 [--log VKEY]... [--prefix /witness]
//!     [--max-connections N] [--header-read-timeout SECS] [--request-timeout SECS] [--idle-timeout SECS]
//! custody-witness status --db FILE
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use custody_core::checkpoint::NoteVerifier;
use custody_core::cosignature::CosignatureSigner;
use custody_core::encoding::b64std;
use custody_witness::db::WitnessDb;
use custody_witness::keyfile;
use custody_witness::server::{router_with, WitnessState};

const META_NAME: &str = "name";
const META_KEY_FILE: &str = "key_file";
const META_VKEY: &str = "vkey";

#[derive(Parser)]
#[command(
    name = "custody-witness",
    version,
    about = "A C2SP tlog-witness v1.0 for custody-ledger checkpoints"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates the witness database and a new witness key file (mode 0600); prints the
    /// witness vkey to give to the ledger's operator and to verifiers.
    Init {
        /// The witness name (a schema-less URL identifying the witness).
        #[arg(long)]
        name: String,
        /// The key file to create (never overwritten).
        #[arg(long)]
        key: PathBuf,
        /// The SQLite database file to create.
        #[arg(long)]
        db: PathBuf,
    },
    /// Configures a log to witness: its origin line and one trusted note key (repeat for
    /// more keys).
    AddLog {
        /// The witness database.
        #[arg(long)]
        db: PathBuf,
        /// The log's origin line (the ledger name, for custody-ledger).
        #[arg(long)]
        origin: String,
        /// The log's note verifier key (the content of `ledger.vkey`).
        #[arg(long)]
        vkey: String,
    },
    /// Serves `POST <prefix>/add-checkpoint`.
    Serve {
        /// The witness database.
        #[arg(long)]
        db: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        /// The witness key file (default: the one given to `init`).
        #[arg(long)]
        key: Option<PathBuf>,
        /// Also configure this log key, with the key's name as origin (as `add-log`).
        #[arg(long = "log")]
        logs: Vec<String>,
        /// URL path prefix of the endpoint, e.g. `/witness` (default: none).
        #[arg(long, default_value = "")]
        prefix: String,
        /// The connection limit and time-outs (the gateway's, same flags and defaults).
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Prints the witness vkey and the last cosigned size and root of every log.
    Status {
        /// The witness database.
        #[arg(long)]
        db: PathBuf,
    },
}

/// `serve`'s connection limit and time-outs.
#[derive(clap::Args)]
struct LimitArgs {
    /// Most connections open at once; more wait in the listen queue until one closes.
    #[arg(
        long,
        value_name = "N",
        default_value_t = custody_http::Limits::default().max_connections as u64,
        value_parser = clap::value_parser!(u64).range(1..=1_000_000)
    )]
    max_connections: u64,
    /// Seconds for a request's line and headers to arrive; over it the connection is closed.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = custody_http::Limits::default().header_read_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    header_read_timeout: u64,
    /// Seconds for a request's body to arrive after its headers; over it the answer is 408.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = custody_http::Limits::default().request_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    request_timeout: u64,
    /// Seconds a connection may stay open between requests without sending anything.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = custody_http::Limits::default().idle_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    idle_timeout: u64,
}

impl LimitArgs {
    fn limits(&self) -> custody_http::Limits {
        custody_http::Limits {
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            header_read_timeout: Duration::from_secs(self.header_read_timeout),
            request_timeout: Duration::from_secs(self.request_timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
        }
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Init { name, key, db } => init(&name, &key, &db),
        Command::AddLog { db, origin, vkey } => {
            let db = open_existing(&db)?;
            let added = db.add_log(&origin, vkey.trim())?;
            println!(
                "{} log {origin} with key {}",
                if added { "added" } else { "already had" },
                vkey.trim()
            );
            Ok(())
        }
        Command::Serve {
            db,
            listen,
            key,
            logs,
            prefix,
            limits,
        } => serve(&db, listen, key.as_deref(), &logs, &prefix, limits.limits()),
        Command::Status { db } => status(&db),
    }
}

fn open_existing(path: &Path) -> anyhow::Result<WitnessDb> {
    if !path.exists() {
        bail!(
            "witness database {} does not exist: create it with `custody-witness init`",
            path.display()
        );
    }
    let db = WitnessDb::open(path)?;
    if db.meta(META_NAME)?.is_none() {
        bail!(
            "{} is not an initialised witness database: run `custody-witness init`",
            path.display()
        );
    }
    Ok(db)
}

fn init(name: &str, key_path: &Path, db_path: &Path) -> anyhow::Result<()> {
    if db_path.exists() {
        bail!(
            "{} already exists: a witness is initialised once (its state must never be reset)",
            db_path.display()
        );
    }
    let key = keyfile::random_key()?;
    let signer = CosignatureSigner::new(name, key.signing_key().clone())?;
    keyfile::write(key_path, &key)?;
    let db = WitnessDb::open(db_path)?;
    let key_abs = std::fs::canonicalize(key_path)
        .with_context(|| format!("cannot resolve {}", key_path.display()))?;
    db.set_meta(META_KEY_FILE, &key_abs.to_string_lossy())?;
    db.set_meta(META_VKEY, &signer.verifier_key())?;
    db.set_meta(META_NAME, name)?;
    println!("{}", signer.verifier_key());
    Ok(())
}

fn load_signer(db: &WitnessDb, key: Option<&Path>) -> anyhow::Result<CosignatureSigner> {
    let name = db
        .meta(META_NAME)?
        .context("the database has no witness name")?;
    let key_path = match key {
        Some(k) => k.to_path_buf(),
        None => PathBuf::from(
            db.meta(META_KEY_FILE)?
                .context("the database has no key file: pass --key")?,
        ),
    };
    let key = keyfile::read(&key_path)?;
    let signer = CosignatureSigner::new(&name, key.signing_key().clone())?;
    if let Some(vkey) = db.meta(META_VKEY)? {
        if vkey != signer.verifier_key() {
            bail!(
                "key file {} is not this witness's key (the database was initialised with {vkey})",
                key_path.display()
            );
        }
    }
    Ok(signer)
}

fn serve(
    db_path: &Path,
    listen: SocketAddr,
    key: Option<&Path>,
    logs: &[String],
    prefix: &str,
    limits: custody_http::Limits,
) -> anyhow::Result<()> {
    limits.validate()?;
    let db = open_existing(db_path)?;
    let signer = load_signer(&db, key)?;
    for vkey in logs {
        let v = NoteVerifier::parse(vkey.trim())
            .with_context(|| format!("--log {vkey:?} is not a note verifier key"))?;
        db.add_log(v.name(), vkey.trim())?;
    }
    if !prefix.is_empty() && (!prefix.starts_with('/') || prefix.ends_with('/')) {
        bail!("--prefix {prefix:?} must start with '/' and not end with one, e.g. /witness");
    }
    let vkey = signer.verifier_key();
    let origins = db.origins()?;
    let app = router_with(WitnessState::new(db, signer), &limits);
    let app = if prefix.is_empty() {
        app
    } else {
        axum::Router::new().nest(prefix, app)
    };
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        tracing::info!(
            %addr,
            witness = %vkey,
            logs = origins.len(),
            max_connections = limits.max_connections,
            header_read_timeout_s = limits.header_read_timeout.as_secs(),
            request_timeout_s = limits.request_timeout.as_secs(),
            idle_timeout_s = limits.idle_timeout.as_secs(),
            "witness serving"
        );
        println!("custody-witness listening on {addr}");
        custody_witness::server::serve(listener, app, limits, async {
            custody_http::shutdown_signal().await;
            tracing::info!("witness stopping");
        })
        .await
        .context("server failed")
    })
}

fn status(db_path: &Path) -> anyhow::Result<()> {
    let db = open_existing(db_path)?;
    println!(
        "witness {}",
        db.meta(META_VKEY)?.unwrap_or_else(|| "(no vkey)".into())
    );
    for origin in db.origins()? {
        if let Some(s) = db.state(&origin)? {
            println!("log {origin} size {} root {}", s.size, b64std(&s.root));
        }
    }
    Ok(())
}
