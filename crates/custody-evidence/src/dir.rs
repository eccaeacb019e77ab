//! The directory backend: one file per blob, named by its digest.
//!
//! Layout under the root (docs/OPERATIONS.md, "Evidence blobs"):
//!
//! ```text
//! sha256/<first two hex digits>/<64 hex digits>   one blob, its exact bytes, mode 0600
//! tmp/put-<random>                                a blob being written (removed on failure)
//! ```
//!
//! A blob is written to a temporary file in `tmp/` (the same file system) while it is hashed,
//! fsynced, then renamed to its digest's name and the directory fsynced: a crash leaves either
//! no blob or the whole blob, never a partial file under a digest's name.

use std::path::{Path, PathBuf};

use custody_core::Hash;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::reader::HashingReader;
use crate::{BlobId, BlobInput, BlobReader, BlobStore, EvidenceError, Limits, PutOutcome, CHUNK};

/// Evidence blobs in a directory.
#[derive(Clone, Debug)]
pub struct DirBlobStore {
    root: PathBuf,
    limits: Limits,
}

impl DirBlobStore {
    /// Opens (creating it when absent, mode 0700) the blob directory `root`.
    pub fn open(root: impl Into<PathBuf>, limits: Limits) -> Result<Self, EvidenceError> {
        let root = root.into();
        for dir in [root.join("sha256"), root.join("tmp")] {
            create_private_dir(&dir).map_err(EvidenceError::io(format!(
                "cannot create {}",
                dir.display()
            )))?;
        }
        Ok(DirBlobStore { root, limits })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob of `digest` is (or would be) stored.
    pub fn path_of(&self, digest: &Hash) -> PathBuf {
        let hex = digest.to_hex();
        self.root.join("sha256").join(&hex[..2]).join(hex)
    }

    fn temp_path(&self) -> Result<PathBuf, EvidenceError> {
        let mut bytes = [0u8; 12];
        getrandom::getrandom(&mut bytes).map_err(|e| EvidenceError::Io {
            context: "cannot draw a temporary file name".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(self.root.join("tmp").join(format!("put-{name}")))
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

async fn open_private(path: &Path) -> std::io::Result<tokio::fs::File> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path).await
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[async_trait::async_trait]
impl BlobStore for DirBlobStore {
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
        let temp = self.temp_path()?;
        let result = write_temp(&temp, id, input).await;
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(e);
        }
        let target = self.path_of(&id.digest);
        let parent = target.parent().map(Path::to_path_buf).unwrap_or_default();
        let done = async {
            create_private_dir(&parent)?;
            tokio::fs::rename(&temp, &target).await?;
            sync_dir(&parent)
        }
        .await;
        if let Err(e) = done {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(EvidenceError::Io {
                context: format!("cannot store blob {} in {}", id.digest, self.root.display()),
                source: e,
            });
        }
        tracing::info!(digest = %id.digest, size = id.size, "evidence blob stored");
        Ok(PutOutcome::Stored)
    }

    async fn get(&self, digest: &Hash) -> Result<Option<BlobReader>, EvidenceError> {
        let path = self.path_of(digest);
        let file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(EvidenceError::Io {
                    context: format!("cannot open {}", path.display()),
                    source: e,
                })
            }
        };
        let size = file
            .metadata()
            .await
            .map_err(EvidenceError::io(format!("cannot read {}", path.display())))?
            .len();
        let reader = tokio::io::BufReader::with_capacity(CHUNK, file);
        Ok(Some(BlobReader::new(
            BlobId {
                digest: *digest,
                size,
            },
            Box::pin(reader),
        )))
    }

    async fn size_of(&self, digest: &Hash) -> Result<Option<u64>, EvidenceError> {
        let path = self.path_of(digest);
        match tokio::fs::metadata(&path).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(EvidenceError::Io {
                context: format!("cannot read {}", path.display()),
                source: e,
            }),
        }
    }

    fn limits(&self) -> Limits {
        self.limits
    }
}

/// Copies at most `id.size + 1` bytes of `input` into a new file at `temp`, hashing them, and
/// fsyncs it; fails when they are not the blob `id`.
async fn write_temp(temp: &Path, id: BlobId, input: BlobInput<'_>) -> Result<(), EvidenceError> {
    let context = || format!("cannot write {}", temp.display());
    let mut file = open_private(temp)
        .await
        .map_err(EvidenceError::io(context()))?;
    // One byte more than announced is enough to know the input is too long.
    let mut reader = HashingReader::new(input.take(id.size.saturating_add(1)));
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = reader
            .read(&mut buf)
            .await
            .map_err(EvidenceError::io("cannot read the evidence"))?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n])
            .await
            .map_err(EvidenceError::io(context()))?;
    }
    let got = reader.finish();
    if got != id {
        return Err(EvidenceError::Mismatch {
            expected: id.digest,
            expected_size: id.size,
            got: got.digest,
            got_size: got.size,
        });
    }
    file.flush().await.map_err(EvidenceError::io(context()))?;
    file.sync_all()
        .await
        .map_err(EvidenceError::io(context()))?;
    Ok(())
}
