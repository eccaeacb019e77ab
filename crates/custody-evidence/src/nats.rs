//! The JetStream Object Store backend: one object per blob in the bucket [`BUCKET`], named by
//! the lowercase hex of its digest.
//!
//! The object store cuts a blob into chunks of a stream and keeps its metadata apart, so a blob
//! is streamed in and out without being held whole. An object is written under its digest's
//! name while it is hashed; when the bytes turn out not to be the blob announced the object is
//! deleted again and the put fails.

use async_nats::jetstream::object_store::{self, GetErrorKind, InfoErrorKind, ObjectStore};
use custody_core::Hash;
use tokio::io::AsyncReadExt;

use crate::reader::HashingReader;
use crate::{BlobId, BlobInput, BlobReader, BlobStore, EvidenceError, Limits, PutOutcome};

/// Name of the object store bucket holding the evidence blobs.
pub const BUCKET: &str = "custody-evidence";

/// Evidence blobs in a JetStream Object Store bucket.
#[derive(Clone)]
pub struct NatsBlobStore {
    bucket: ObjectStore,
    limits: Limits,
}

impl std::fmt::Debug for NatsBlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsBlobStore")
            .field("bucket", &BUCKET)
            .field("limits", &self.limits)
            .finish()
    }
}

fn nats_error(what: &str) -> impl FnOnce(&dyn std::fmt::Display) -> EvidenceError + '_ {
    move |e| EvidenceError::Nats(format!("{what}: {e}"))
}

impl NatsBlobStore {
    /// Connects to the NATS server at `url` and opens (creating it when absent, file storage)
    /// the bucket [`BUCKET`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), custody_evidence::EvidenceError> {
    /// use custody_evidence::{Limits, NatsBlobStore};
    /// let blobs = NatsBlobStore::connect("nats://127.0.0.1:4222", Limits::default()).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(url: &str, limits: Limits) -> Result<Self, EvidenceError> {
        let client = async_nats::ConnectOptions::new()
            .name("custody-evidence")
            .connect(url)
            .await
            .map_err(|e| nats_error("cannot connect")(&e))?;
        Self::with_client(client, limits).await
    }

    /// Opens (creating it when absent) the bucket [`BUCKET`] over an existing connection.
    pub async fn with_client(
        client: async_nats::Client,
        limits: Limits,
    ) -> Result<Self, EvidenceError> {
        let js = async_nats::jetstream::new(client);
        let bucket = match js.get_object_store(BUCKET).await {
            Ok(b) => b,
            Err(_) => js
                .create_object_store(object_store::Config {
                    bucket: BUCKET.to_string(),
                    description: Some("custody-ledger evidence blobs, named by SHA-256".into()),
                    ..Default::default()
                })
                .await
                .map_err(|e| nats_error("cannot create the evidence bucket")(&e))?,
        };
        Ok(NatsBlobStore { bucket, limits })
    }
}

#[async_trait::async_trait]
impl BlobStore for NatsBlobStore {
    async fn put(&self, id: BlobId, input: BlobInput<'_>) -> Result<PutOutcome, EvidenceError> {
        if id.size > self.limits.max_bytes {
            return Err(EvidenceError::TooLarge {
                size: id.size,
                max: self.limits.max_bytes,
            });
        }
        if self.size_of(&id.digest).await?.is_some() {
            return Ok(PutOutcome::AlreadyStored);
        }
        let name = id.digest.to_hex();
        let mut reader = HashingReader::new(input.take(id.size.saturating_add(1)));
        let put = self.bucket.put(name.as_str(), &mut reader).await;
        let got = reader.finish();
        if let Err(e) = put {
            let _ = self.bucket.delete(&name).await;
            return Err(nats_error("cannot store the blob")(&e));
        }
        if got != id {
            let _ = self.bucket.delete(&name).await;
            return Err(EvidenceError::Mismatch {
                expected: id.digest,
                expected_size: id.size,
                got: got.digest,
                got_size: got.size,
            });
        }
        tracing::info!(digest = %id.digest, size = id.size, "evidence blob stored");
        Ok(PutOutcome::Stored)
    }

    async fn get(&self, digest: &Hash) -> Result<Option<BlobReader>, EvidenceError> {
        let Some(size) = self.size_of(digest).await? else {
            return Ok(None);
        };
        match self.bucket.get(digest.to_hex()).await {
            Ok(object) => Ok(Some(BlobReader::new(
                BlobId {
                    digest: *digest,
                    size,
                },
                Box::pin(object),
            ))),
            Err(e) if e.kind() == GetErrorKind::NotFound => Ok(None),
            Err(e) => Err(nats_error("cannot read the blob")(&e)),
        }
    }

    async fn size_of(&self, digest: &Hash) -> Result<Option<u64>, EvidenceError> {
        match self.bucket.info(digest.to_hex()).await {
            Ok(info) if info.deleted => Ok(None),
            Ok(info) => Ok(Some(info.size as u64)),
            Err(e) if e.kind() == InfoErrorKind::NotFound => Ok(None),
            Err(e) => Err(nats_error("cannot read the blob's metadata")(&e)),
        }
    }

    fn limits(&self) -> Limits {
        self.limits
    }
}
