//! Reading a blob while checking its digest.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use custody_core::Hash;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncRead, ReadBuf};

use crate::BlobId;

/// Wraps a stream and hashes what goes through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R> HashingReader<R> {
    /// Hashes what is read from `inner`.
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// Bytes read so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Digest and size of what was read so far.
    pub fn finish(&self) -> BlobId {
        BlobId {
            digest: Hash(self.hasher.clone().finalize().into()),
            size: self.size,
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for HashingReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let new = &buf.filled()[before..];
                this.hasher.update(new);
                this.size += new.len() as u64;
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

/// A blob being read from a store: yields its bytes, and fails the read that reaches the end
/// (or goes past the announced size) with [`io::ErrorKind::InvalidData`] when they are not the
/// blob's digest and size.
pub struct BlobReader {
    inner: HashingReader<Pin<Box<dyn AsyncRead + Send>>>,
    id: BlobId,
    checked: bool,
}

impl BlobReader {
    /// A reader of `inner`, which should hold the blob `id`.
    pub fn new(id: BlobId, inner: Pin<Box<dyn AsyncRead + Send>>) -> Self {
        BlobReader {
            inner: HashingReader::new(inner),
            id,
            checked: false,
        }
    }

    /// The blob announced (its digest and size).
    pub fn id(&self) -> BlobId {
        self.id
    }

    fn damaged(&self, got: BlobId) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "evidence blob {} is damaged in the store: {} bytes with digest {} were read, not {} bytes with that digest",
                self.id.digest, got.size, got.digest, self.id.size
            ),
        )
    }
}

impl AsyncRead for BlobReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.checked {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let eof = buf.filled().len() == before;
                if self.inner.size() > self.id.size || eof {
                    let got = self.inner.finish();
                    if got != self.id {
                        // Hand out nothing of this read: the caller sees an error, not bytes.
                        buf.set_filled(before);
                        return Poll::Ready(Err(self.damaged(got)));
                    }
                    self.checked = eof;
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}
