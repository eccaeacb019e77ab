//! The streams and buckets of a ledger, how they are created, and the checks that refuse to run
//! on a server too old for the ledger's guarantees or on a stream whose configuration no longer
//! guarantees an append-only ledger.

use std::time::Duration;

use async_nats::jetstream::context::Context;
use async_nats::jetstream::stream::{Config, DiscardPolicy, RetentionPolicy, StorageType, Stream};
use async_nats::jetstream::{kv, ErrorCode};
use custody_store::StoreError;
use tracing::{debug, error, info, warn};

use crate::errors::store_error;

/// The ledger stream: one message per record, without its payload.
pub const LEDGER_STREAM: &str = "CUSTODY";
/// Subjects of the ledger stream; a record of chain `C` is published on `custody.chain.C`.
pub const LEDGER_SUBJECTS: &str = "custody.chain.*";
/// Prefix of a chain's subject.
pub const CHAIN_SUBJECT_PREFIX: &str = "custody.chain.";
/// The access-log stream.
pub const ACCESS_STREAM: &str = "CUSTODY_ACCESS";
/// The one subject of the access-log stream.
pub const ACCESS_SUBJECT: &str = "custody.access";
/// Stream of the append-only fork alarm log (one message per other version).
pub const FORK_STREAM: &str = "CUSTODY_FORKS";
/// Subjects of [`FORK_STREAM`]: `custody.fork.<hex hash of the other version>`.
pub const FORK_SUBJECTS: &str = "custody.fork.*";
/// Prefix of a fork alarm's subject.
pub const FORK_SUBJECT_PREFIX: &str = "custody.fork.";
/// Stream of the append-only checkpoint history: one message per stored version of a
/// checkpoint (a new size, or the same checkpoint with more cosignatures).
pub const CHECKPOINT_STREAM: &str = "CUSTODY_CHECKPOINTS";
/// The one subject of [`CHECKPOINT_STREAM`].
pub const CHECKPOINT_SUBJECT: &str = "custody.checkpoint";
/// Key-value bucket of payloads and of where their events are (chain, chain seq), keyed by
/// event hash (hex), history 1.
pub const PAYLOAD_BUCKET: &str = "CUSTODY_PAYLOADS";
/// Key-value bucket of metadata documents.
pub const META_BUCKET: &str = "CUSTODY_META";

/// How long the server remembers a `Nats-Msg-Id` (the event hash) to answer a repeated
/// publish with `duplicate: true` at the original sequence.
///
/// The server default is 2 minutes. A retry can come later than that: a client that timed out
/// waits for the connection to come back (reconnects back off up to seconds), a server restart
/// takes its time, and a gateway may replay a queue of unacknowledged records after an outage.
/// Ten minutes covers these while keeping the server's table of ids small (one entry per
/// record appended in the window). A retry after the window is still recognised: its publish
/// fails the expected-sequence check and the store finds the same hash in the chain, so the
/// window is a fast path and a second line of defence, not the only one.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);

/// The oldest nats-server (major, minor) the store runs on.
///
/// 2.10 is the first release with `jetstream { sync_interval: always }`, which makes the server
/// fsync every write before acknowledging it (2.9 acknowledges once the write reached the
/// operating system, fsyncs every 2 minutes and has no option to change that), and its
/// expected-sequence check is part of the replicated write (up to 2.9.20 it was not).
pub(crate) const MIN_SERVER_VERSION: (u64, u64) = (2, 10);

/// How to get a recent enough server, for the refusal message.
const SERVER_FIX: &str = "install Debian 13's nats-server 2.10.27 (on Debian 12, \
     `scripts/install-nats-server.sh` in the custody-ledger repository unpacks it into \
     .tools/nats-server/ without replacing the system package; on Debian 13, `apt-get install \
     nats-server`), run it with `jetstream { sync_interval: always }` (deploy/nats/custody.conf) \
     and connect again";

/// The server the store connected to is older than [`MIN_SERVER_VERSION`], or does not say
/// which version it is.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServerVersionError {
    /// The server announced a version older than [`MIN_SERVER_VERSION`].
    #[error(
        "the NATS server runs nats-server {found}, and custody-ledger needs 2.10 or newer: older \
         servers acknowledge an append before it is on disk and cannot be told otherwise; \
         {SERVER_FIX}"
    )]
    TooOld {
        /// The version the server announced.
        found: String,
    },
    /// The server's version could not be read as `MAJOR.MINOR.PATCH`.
    #[error(
        "the NATS server announced version {found:?}, which is not a nats-server version \
         (MAJOR.MINOR.PATCH), and custody-ledger needs 2.10 or newer; {SERVER_FIX}"
    )]
    Unreadable {
        /// What the server announced.
        found: String,
    },
}

impl From<ServerVersionError> for StoreError {
    fn from(e: ServerVersionError) -> Self {
        // Not `Unavailable`: connecting again to the same server cannot help.
        StoreError::Backend(e.to_string())
    }
}

/// Checks the version a server announced in its INFO (`client.server_info().version`, e.g.
/// `2.10.27`, `v2.11.0-RC.1`): at least [`MIN_SERVER_VERSION`].
pub(crate) fn check_server_version(found: &str) -> Result<(), ServerVersionError> {
    let unreadable = || ServerVersionError::Unreadable {
        found: found.to_string(),
    };
    let mut parts = found.trim().trim_start_matches('v').splitn(3, '.');
    let mut number = || -> Result<u64, ServerVersionError> {
        let part = parts.next().ok_or_else(unreadable)?;
        let digits = part.split(['-', '+']).next().unwrap_or(part);
        digits.parse().map_err(|_| unreadable())
    };
    let major = number()?;
    let minor = number()?;
    // The patch level must be there, but does not matter.
    number()?;
    if (major, minor) < MIN_SERVER_VERSION {
        return Err(ServerVersionError::TooOld {
            found: found.to_string(),
        });
    }
    Ok(())
}

/// Refuses a connection to a server older than [`MIN_SERVER_VERSION`]; called right after
/// connecting, before anything is created or read.
pub(crate) fn check_server(client: &async_nats::Client) -> Result<(), ServerVersionError> {
    let version = client.server_info().version;
    match check_server_version(&version) {
        Ok(()) => {
            debug!(%version, "nats-server version accepted");
            Ok(())
        }
        Err(e) => {
            error!(%version, "refusing a nats-server older than 2.10");
            Err(e)
        }
    }
}

/// Configuration of the ledger stream.
pub(crate) fn ledger_stream_config(replicas: usize) -> Config {
    Config {
        name: LEDGER_STREAM.to_string(),
        description: Some("custody-ledger: signed, hash-chained custody records".to_string()),
        subjects: vec![LEDGER_SUBJECTS.to_string()],
        duplicate_window: DUPLICATE_WINDOW,
        ..append_only(replicas)
    }
}

/// Configuration of the access-log stream.
pub(crate) fn access_stream_config(replicas: usize) -> Config {
    Config {
        name: ACCESS_STREAM.to_string(),
        description: Some("custody-ledger: append-only access log".to_string()),
        subjects: vec![ACCESS_SUBJECT.to_string()],
        ..append_only(replicas)
    }
}

/// Configuration of the fork alarm stream.
pub(crate) fn fork_stream_config(replicas: usize) -> Config {
    Config {
        name: FORK_STREAM.to_string(),
        description: Some("custody-ledger: append-only fork alarms".to_string()),
        subjects: vec![FORK_SUBJECTS.to_string()],
        duplicate_window: DUPLICATE_WINDOW,
        ..append_only(replicas)
    }
}

/// Configuration of the checkpoint history stream.
pub(crate) fn checkpoint_stream_config(replicas: usize) -> Config {
    Config {
        name: CHECKPOINT_STREAM.to_string(),
        description: Some("custody-ledger: append-only checkpoint history".to_string()),
        subjects: vec![CHECKPOINT_SUBJECT.to_string()],
        ..append_only(replicas)
    }
}

/// What both append-only streams share: file storage, nothing ever removed.
fn append_only(replicas: usize) -> Config {
    Config {
        storage: StorageType::File,
        retention: RetentionPolicy::Limits,
        discard: DiscardPolicy::New,
        max_messages: -1,
        max_bytes: -1,
        max_messages_per_subject: -1,
        max_age: Duration::ZERO,
        max_consumers: -1,
        max_message_size: -1,
        deny_delete: true,
        deny_purge: true,
        allow_rollup: false,
        num_replicas: replicas.max(1),
        ..Default::default()
    }
}

/// A stream or bucket whose configuration breaks a guarantee the ledger relies on.
#[derive(Debug, thiserror::Error)]
#[error(
    "{what} {name} does not have the configuration the ledger relies on: {}; the store refuses \
     to run on it: restore the configuration (e.g. `nats stream edit {stream}`) and find out \
     who changed it",
    problems.join("; ")
)]
pub(crate) struct UnsafeConfig {
    what: &'static str,
    name: String,
    stream: String,
    problems: Vec<String>,
}

impl From<UnsafeConfig> for StoreError {
    fn from(e: UnsafeConfig) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// Checks that an existing stream is append-only with the expected subjects.
pub(crate) fn check_append_only(
    config: &Config,
    subjects: &[&str],
    min_duplicate_window: Option<Duration>,
) -> Result<(), UnsafeConfig> {
    let mut p = Vec::new();
    if config
        .subjects
        .iter()
        .map(String::as_str)
        .ne(subjects.iter().copied())
    {
        p.push(format!(
            "subjects are {:?} (must be exactly {subjects:?})",
            config.subjects
        ));
    }
    if !config.deny_delete {
        p.push("deny_delete is false (must be true)".to_string());
    }
    if !config.deny_purge {
        p.push("deny_purge is false (must be true)".to_string());
    }
    if config.allow_rollup {
        p.push("allow_rollup is true (must be false)".to_string());
    }
    if config.discard != DiscardPolicy::New {
        p.push(format!("discard is {:?} (must be New)", config.discard));
    }
    if config.retention != RetentionPolicy::Limits {
        p.push(format!(
            "retention is {:?} (must be Limits)",
            config.retention
        ));
    }
    if config.storage != StorageType::File {
        p.push(format!("storage is {:?} (must be File)", config.storage));
    }
    p.extend(unlimited(config));
    if config.no_ack {
        p.push("no_ack is true (publishes must be acknowledged)".to_string());
    }
    if config.sealed {
        p.push("the stream is sealed".to_string());
    }
    if config.mirror.is_some() || config.sources.as_ref().is_some_and(|s| !s.is_empty()) {
        p.push("the stream mirrors or sources another stream".to_string());
    }
    if let Some(min) = min_duplicate_window {
        if config.duplicate_window < min {
            p.push(format!(
                "duplicate_window is {:?} (must be at least {min:?})",
                config.duplicate_window
            ));
        }
    }
    finish("stream", &config.name, &config.name, p)
}

/// Checks the stream behind a key-value bucket: file storage, nothing expires, `history`
/// revisions per key.
pub(crate) fn check_bucket(
    bucket: &str,
    config: &Config,
    history: i64,
) -> Result<(), UnsafeConfig> {
    let mut p = Vec::new();
    if config.storage != StorageType::File {
        p.push(format!("storage is {:?} (must be File)", config.storage));
    }
    if config.max_messages_per_subject != history {
        p.push(format!(
            "history is {} (must be {history})",
            config.max_messages_per_subject
        ));
    }
    p.extend(unlimited(config));
    finish("bucket", bucket, &config.name, p)
}

fn unlimited(config: &Config) -> Vec<String> {
    let mut p = Vec::new();
    if !config.max_age.is_zero() {
        p.push(format!(
            "max_age is {:?} (must be unlimited)",
            config.max_age
        ));
    }
    if config.max_messages > 0 {
        p.push(format!(
            "max_msgs is {} (must be unlimited)",
            config.max_messages
        ));
    }
    if config.max_bytes > 0 {
        p.push(format!(
            "max_bytes is {} (must be unlimited)",
            config.max_bytes
        ));
    }
    p
}

fn finish(
    what: &'static str,
    name: &str,
    stream: &str,
    problems: Vec<String>,
) -> Result<(), UnsafeConfig> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(UnsafeConfig {
            what,
            name: name.to_string(),
            stream: stream.to_string(),
            problems,
        })
    }
}

/// How long a stream or bucket creation waits for a cluster that cannot place its replicas
/// yet (JetStream error 10005, "no suitable peers for placement"): after a cluster starts,
/// the meta leader knows each peer only once that peer has reported its JetStream stats,
/// which takes a few seconds. A gateway started with the cluster waits instead of failing.
const PLACEMENT_PATIENCE: Duration = Duration::from_secs(20);
/// Pause between two tries while the cluster cannot place replicas.
const PLACEMENT_RETRY: Duration = Duration::from_millis(250);

/// Whether an error (or one of its sources) is the server's "no suitable peers for
/// placement" refusal. async-nats keeps the code only as text in a bucket creation error,
/// so the chain's text is searched for it.
fn is_no_placement(err: &(dyn std::error::Error + 'static)) -> bool {
    // ErrorCode::CLUSTER_NO_PEERS, as the server's answer writes it.
    const CODE: &str = "error code 10005";
    let mut cur = Some(err);
    while let Some(e) = cur {
        if e.to_string().contains(CODE) {
            return true;
        }
        cur = e.source();
    }
    false
}

/// Runs `create` until it succeeds, fails otherwise than with "no suitable peers for
/// placement", or [`PLACEMENT_PATIENCE`] has passed.
async fn create_when_placeable<T, E, F, Fut>(what: &str, mut create: F) -> Result<T, E>
where
    E: std::error::Error + 'static,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let deadline = tokio::time::Instant::now() + PLACEMENT_PATIENCE;
    loop {
        match create().await {
            Err(e) if is_no_placement(&e) && tokio::time::Instant::now() < deadline => {
                warn!(
                    what,
                    "the cluster cannot place the replicas yet; trying again"
                );
                tokio::time::sleep(PLACEMENT_RETRY).await;
            }
            other => return other,
        }
    }
}

/// Whether a stream lookup failed because the stream does not exist.
fn is_not_found(err: &async_nats::jetstream::context::GetStreamError) -> bool {
    use async_nats::jetstream::context::GetStreamErrorKind;
    matches!(err.kind(), GetStreamErrorKind::JetStream(e) if e.error_code() == ErrorCode::STREAM_NOT_FOUND)
}

/// Returns the stream, checked, creating it when it does not exist; `created` tells which.
pub(crate) async fn ensure_stream(
    js: &Context,
    config: Config,
    min_duplicate_window: Option<Duration>,
) -> Result<(Stream, bool), StoreError> {
    let subjects: Vec<String> = config.subjects.clone();
    let subjects: Vec<&str> = subjects.iter().map(String::as_str).collect();
    match js.get_stream(&config.name).await {
        Ok(stream) => {
            check_append_only(
                &stream.cached_info().config,
                &subjects,
                min_duplicate_window,
            )?;
            Ok((stream, false))
        }
        Err(e) if is_not_found(&e) => {
            let name = config.name.clone();
            let stream = create_when_placeable(&name, || js.create_stream(config.clone()))
                .await
                .map_err(|e| store_error(&format!("cannot create stream {name}"), e))?;
            // Check what the server made of the request, too.
            check_append_only(
                &stream.cached_info().config,
                &subjects,
                min_duplicate_window,
            )?;
            info!(stream = %name, "created stream");
            Ok((stream, true))
        }
        Err(e) => Err(store_error(
            &format!("cannot look up stream {}", config.name),
            e,
        )),
    }
}

/// Returns the bucket, checked, creating it when it does not exist; `created` tells which.
pub(crate) async fn ensure_bucket(
    js: &Context,
    bucket: &str,
    description: &str,
    replicas: usize,
) -> Result<(kv::Store, bool), StoreError> {
    const HISTORY: i64 = 1;
    let stream_name = format!("KV_{bucket}");
    let created = match js.get_stream(&stream_name).await {
        Ok(stream) => {
            check_bucket(bucket, &stream.cached_info().config, HISTORY)?;
            false
        }
        Err(e) if is_not_found(&e) => {
            let config = || kv::Config {
                bucket: bucket.to_string(),
                description: description.to_string(),
                history: HISTORY,
                storage: StorageType::File,
                max_bytes: -1,
                max_value_size: -1,
                max_age: Duration::ZERO,
                num_replicas: replicas.max(1),
                ..Default::default()
            };
            let store = create_when_placeable(bucket, || js.create_key_value(config()))
                .await
                .map_err(|e| store_error(&format!("cannot create bucket {bucket}"), e))?;
            check_bucket(bucket, &store.stream.cached_info().config, HISTORY)?;
            info!(bucket, "created key-value bucket");
            true
        }
        Err(e) => return Err(store_error(&format!("cannot look up bucket {bucket}"), e)),
    };
    let store = js
        .get_key_value(bucket)
        .await
        .map_err(|e| store_error(&format!("cannot open bucket {bucket}"), e))?;
    Ok((store, created))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_no_placement_refusal_is_told_apart_from_other_errors() {
        let refusal = std::io::Error::other(
            "jetstream error: 400 (code no suitable peers for placement, error code 10005)",
        );
        assert!(is_no_placement(&refusal));
        let other = std::io::Error::other("jetstream error: 400 (error code 10058)");
        assert!(!is_no_placement(&other));
    }

    #[test]
    fn our_configs_pass_our_checks() {
        let c = ledger_stream_config(1);
        check_append_only(&c, &[LEDGER_SUBJECTS], Some(DUPLICATE_WINDOW)).unwrap();
        let c = access_stream_config(3);
        check_append_only(&c, &[ACCESS_SUBJECT], None).unwrap();
        let c = checkpoint_stream_config(1);
        check_append_only(&c, &[CHECKPOINT_SUBJECT], None).unwrap();
    }

    #[test]
    fn servers_from_2_10_are_accepted() {
        for v in [
            "2.10.0",
            "2.10.27",
            "v2.10.27",
            "2.11.0-RC.1",
            "2.12.1",
            "3.0.0",
        ] {
            check_server_version(v).unwrap_or_else(|e| panic!("{v}: {e}"));
        }
    }

    #[test]
    fn older_servers_are_refused_with_the_version_and_the_fix() {
        for v in ["2.9.10", "2.9.25", "v2.2.6", "1.4.1"] {
            let e = check_server_version(v).unwrap_err();
            assert!(matches!(e, ServerVersionError::TooOld { .. }), "{v}: {e:?}");
            let msg = e.to_string();
            assert!(msg.contains(&format!("nats-server {v}")), "{msg}");
            assert!(msg.contains("2.10 or newer"), "{msg}");
            assert!(msg.contains("scripts/install-nats-server.sh"), "{msg}");
            assert!(msg.contains("sync_interval: always"), "{msg}");
            assert!(matches!(StoreError::from(e), StoreError::Backend(_)));
        }
    }

    #[test]
    fn unreadable_versions_are_refused() {
        for v in ["", "2", "2.10", "x.y.z", "2.ten.1"] {
            let e = check_server_version(v).unwrap_err();
            assert!(
                matches!(e, ServerVersionError::Unreadable { .. }),
                "{v:?}: {e:?}"
            );
            assert!(e.to_string().contains("2.10 or newer"), "{e}");
        }
    }

    #[test]
    fn weakened_ledger_stream_is_refused_with_every_reason() {
        let c = Config {
            deny_delete: false,
            discard: DiscardPolicy::Old,
            max_age: Duration::from_secs(3600),
            duplicate_window: Duration::from_secs(120),
            ..ledger_stream_config(1)
        };
        let e = check_append_only(&c, &[LEDGER_SUBJECTS], Some(DUPLICATE_WINDOW)).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("stream CUSTODY does not have the configuration"),
            "{msg}"
        );
        for needle in [
            "deny_delete",
            "discard",
            "max_age",
            "duplicate_window",
            "refuses",
        ] {
            assert!(msg.contains(needle), "{needle} missing from: {msg}");
        }
    }
}
