//! `custody-witness`: a C2SP tlog-witness v1.0 for custody-ledger checkpoints, run by a monitor.
//!
//! ```text
//! custody-witness init --name witness.example.org/w1 --key /var/lib/custody-witness/witness.key --db /var/lib/custody-witness/witness.db
//! custody-witness add-log --db FILE --origin custody-ledger.example --vkey 'custody-ledger.example+1234abcd+AQ...'
//! custody-witness serve --db FILE --listen 127.0.0.1:8090 [--log VKEY]... [--prefix /witness]
//! custody-witness status --db FILE
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use custody_core::checkpoint::NoteVerifier;
use custody_core::cosignature::CosignatureSigner;
use custody_core::encoding::b64std;
use custody_witness::db::WitnessDb;
use custody_witness::keyfile;
use custody_witness::server::{router, WitnessState};

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
    },
    /// Prints the witness vkey and the last cosigned size and root of every log.
    Status {
        /// The witness database.
        #[arg(long)]
        db: PathBuf,
    },
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
        } => serve(&db, listen, key.as_deref(), &logs, &prefix),
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
) -> anyhow::Result<()> {
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
    let app = router(WitnessState::new(db, signer));
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
        tracing::info!(%addr, witness = %vkey, logs = origins.len(), "witness serving");
        println!("custody-witness listening on {addr}");
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("server failed")
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("witness stopping");
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
