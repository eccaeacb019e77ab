//! Evidence blobs of custody-ledger, stored by content: a photograph, a scanned order, a video
//! is named by the SHA-256 of its bytes (the `content_digest` of an `evidence_added` record)
//! and never enters the event stream.
//!
//! One trait, [`BlobStore`], two backends: [`DirBlobStore`] (a directory beside the SQLite
//! ledger, the embedded default) and [`NatsBlobStore`] (a JetStream Object Store bucket, the
//! multi-agency deployment). Both pass the same suite ([`conformance`]).
//!
//! # Streams, never whole blobs
//!
//! A blob goes in from an [`AsyncRead`] and comes out as one ([`BlobReader`]), in chunks of
//! [`CHUNK`] bytes: memory does not grow with the blob (a 2 GB video is never held whole).
//! Whoever stores a blob says which digest and size it has ([`BlobId`]); the store hashes
//! while it writes and keeps the blob only when both match, so a store never holds a blob
//! under a name that is not its digest. Reading hashes again: [`BlobReader`] fails the read
//! that reaches the end with [`std::io::ErrorKind::InvalidData`] when the bytes read are not
//! the digest's (a blob damaged on disk or in the bucket), so a copy never ends "complete"
//! with wrong bytes.
//!
//! # Limits
//!
//! Every store is opened with a largest blob size ([`Limits`]); a larger blob is refused
//! before a byte is stored.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod conformance;
mod dir;
mod nats;
mod reader;

use custody_core::Hash;
use tokio::io::AsyncRead;

pub use dir::DirBlobStore;
pub use nats::{NatsBlobStore, BUCKET};
pub use reader::{BlobReader, HashingReader};

/// Bytes read or written at a time.
pub const CHUNK: usize = 64 * 1024;

/// Largest blob size unless configured otherwise: 4 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 4 << 30;

/// A blob as the ledger names it: the SHA-256 of its bytes and their number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlobId {
    /// SHA-256 of the content.
    pub digest: Hash,
    /// Size in bytes.
    pub size: u64,
}

/// Size limits of a store (configuration, not code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest blob accepted, in bytes.
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// What a [`BlobStore::put`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// The blob was stored.
    Stored,
    /// The store already held it (nothing was written).
    AlreadyStored,
}

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// The blob is larger than the store's limit: nothing was stored.
    #[error("the blob has {size} bytes, more than the limit of {max} bytes: nothing was stored (raise the limit in the configuration)")]
    TooLarge {
        /// Its size (or the size read so far, when it was found while reading).
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The content read is not the blob announced (another digest or size): nothing was
    /// stored.
    #[error("the content read has digest {got} and {got_size} bytes, not {expected} and {expected_size} bytes as announced: nothing was stored")]
    Mismatch {
        /// Announced digest.
        expected: Hash,
        /// Announced size.
        expected_size: u64,
        /// Digest of what was read.
        got: Hash,
        /// Bytes read.
        got_size: u64,
    },
    /// The store holds something under this digest that is not a well formed blob (e.g. a
    /// size other than the one announced).
    #[error("the evidence store holds a damaged blob {digest}: {reason}")]
    Corrupt {
        /// The blob.
        digest: Hash,
        /// What is wrong.
        reason: String,
    },
    /// Reading the input or the file system failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The JetStream Object Store failed.
    #[error("the JetStream object store failed: {0}")]
    Nats(String),
}

impl EvidenceError {
    fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EvidenceError {
        let context = context.into();
        move |source| EvidenceError::Io { context, source }
    }
}

/// An input stream of blob bytes.
pub type BlobInput<'a> = &'a mut (dyn AsyncRead + Unpin + Send);

/// A store of evidence blobs, named by their SHA-256 digest.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores the bytes of `input`, which must be exactly the blob `id` (its digest and size):
    /// hashed while written, and kept only when they match ([`EvidenceError::Mismatch`]
    /// otherwise, and nothing is stored). A blob larger than the store's limit is refused
    /// ([`EvidenceError::TooLarge`]). Storing a blob the store already holds reads nothing and
    /// answers [`PutOutcome::AlreadyStored`].
    async fn put(&self, id: BlobId, input: BlobInput<'_>) -> Result<PutOutcome, EvidenceError>;

    /// Opens the blob of this digest for reading, or `None` when the store does not hold it.
    /// The reader checks the digest and size as it goes: the read that reaches the end fails
    /// when the bytes are not the blob's.
    async fn get(&self, digest: &Hash) -> Result<Option<BlobReader>, EvidenceError>;

    /// The size of the blob of this digest, when the store holds it (without reading it).
    async fn size_of(&self, digest: &Hash) -> Result<Option<u64>, EvidenceError>;

    /// The store's limits.
    fn limits(&self) -> Limits;
}

/// Hashes a whole stream (in chunks) and returns its digest and size; refuses one longer than
/// `max_bytes`.
pub async fn digest_of(input: BlobInput<'_>, max_bytes: u64) -> Result<BlobId, EvidenceError> {
    use sha2::Digest as _;
    use tokio::io::AsyncReadExt;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = input
            .read(&mut buf)
            .await
            .map_err(EvidenceError::io("cannot read the evidence"))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        if size > max_bytes {
            return Err(EvidenceError::TooLarge {
                size,
                max: max_bytes,
            });
        }
        hasher.update(&buf[..n]);
    }
    let digest: [u8; 32] = hasher.finalize().into();
    Ok(BlobId {
        digest: Hash(digest),
        size,
    })
}
