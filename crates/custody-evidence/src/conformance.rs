//! The behaviour every [`BlobStore`] backend must have, written once and run by each
//! backend's tests (`tests/conformance.rs`).

use custody_core::Hash;
use tokio::io::AsyncReadExt;

use crate::{digest_of, BlobId, BlobStore, EvidenceError, PutOutcome};

/// The id of some bytes.
pub fn id_of(bytes: &[u8]) -> BlobId {
    BlobId {
        digest: Hash::of(bytes),
        size: bytes.len() as u64,
    }
}

/// Reads a whole blob (test sizes only).
pub async fn read_all(store: &dyn BlobStore, digest: &Hash) -> std::io::Result<Option<Vec<u8>>> {
    let Some(mut reader) = store
        .get(digest)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?
    else {
        return Ok(None);
    };
    let mut out = Vec::new();
    reader.read_to_end(&mut out).await?;
    Ok(Some(out))
}

/// A few megabytes of deterministic, not repetitive content (more than one chunk of any
/// backend).
pub fn big_content() -> Vec<u8> {
    let mut out = Vec::with_capacity(3 << 20);
    let mut h = Hash::of(b"custody-evidence conformance");
    while out.len() < (3 << 20) + 17 {
        out.extend_from_slice(h.as_bytes());
        h = Hash::of(h.as_bytes());
    }
    out
}

/// Runs every case against `store`, whose limit must be at least 4 MiB and at most 64 MiB.
/// `damage(digest, bytes)` replaces what the backend holds under `digest` with `bytes` behind
/// its back, as a failing disk or an insider would.
pub async fn run<S, D, F>(store: &S, damage: D)
where
    S: BlobStore,
    D: Fn(Hash, Vec<u8>) -> F,
    F: std::future::Future<Output = ()>,
{
    round_trip(store).await;
    big_blob_round_trip(store).await;
    put_twice_is_idempotent(store).await;
    wrong_content_is_refused_and_not_stored(store).await;
    too_large_is_refused(store).await;
    unknown_digest_is_none(store).await;
    damaged_blob_fails_the_read(store, damage).await;
}

async fn round_trip(store: &dyn BlobStore) {
    let content = b"photograph of seized items".to_vec();
    let id = id_of(&content);
    let mut input: &[u8] = &content;
    let outcome = store.put(id, &mut input).await.unwrap();
    assert_eq!(outcome, PutOutcome::Stored);
    assert_eq!(store.size_of(&id.digest).await.unwrap(), Some(id.size));
    assert_eq!(read_all(store, &id.digest).await.unwrap(), Some(content));
}

async fn big_blob_round_trip(store: &dyn BlobStore) {
    let content = big_content();
    let mut input: &[u8] = &content;
    let id = digest_of(&mut input, u64::MAX).await.unwrap();
    assert_eq!(id, id_of(&content));
    let mut input: &[u8] = &content;
    store.put(id, &mut input).await.unwrap();
    let back = read_all(store, &id.digest).await.unwrap().unwrap();
    assert!(back == content, "the big blob came back different");
}

async fn put_twice_is_idempotent(store: &dyn BlobStore) {
    let content = b"scanned detention order".to_vec();
    let id = id_of(&content);
    let mut input: &[u8] = &content;
    store.put(id, &mut input).await.unwrap();
    let mut input: &[u8] = &content;
    let again = store.put(id, &mut input).await.unwrap();
    assert_eq!(again, PutOutcome::AlreadyStored);
    assert_eq!(read_all(store, &id.digest).await.unwrap(), Some(content));
}

async fn wrong_content_is_refused_and_not_stored(store: &dyn BlobStore) {
    let announced = id_of(b"the real statement");
    for wrong in [
        &b"another statement!"[..],
        b"the real statement, and more",
        b"short",
    ] {
        let mut input: &[u8] = wrong;
        let err = store.put(announced, &mut input).await.unwrap_err();
        assert!(matches!(err, EvidenceError::Mismatch { .. }), "{err}");
        assert_eq!(store.size_of(&announced.digest).await.unwrap(), None);
        assert_eq!(read_all(store, &announced.digest).await.unwrap(), None);
    }
}

async fn too_large_is_refused(store: &dyn BlobStore) {
    let max = store.limits().max_bytes;
    let id = BlobId {
        digest: Hash::of(b"too large"),
        size: max + 1,
    };
    let mut input: &[u8] = b"";
    let err = store.put(id, &mut input).await.unwrap_err();
    assert!(matches!(err, EvidenceError::TooLarge { .. }), "{err}");
    assert_eq!(store.size_of(&id.digest).await.unwrap(), None);
}

async fn unknown_digest_is_none(store: &dyn BlobStore) {
    let digest = Hash::of(b"never stored");
    assert!(store.get(&digest).await.unwrap().is_none());
    assert_eq!(store.size_of(&digest).await.unwrap(), None);
}

async fn damaged_blob_fails_the_read<D, F>(store: &dyn BlobStore, damage: D)
where
    D: Fn(Hash, Vec<u8>) -> F,
    F: std::future::Future<Output = ()>,
{
    for (case, content, replacement) in [
        (
            "one byte changed",
            b"medical certificate".to_vec(),
            b"medical certificatf".to_vec(),
        ),
        (
            "cut short",
            b"medical certificate".to_vec(),
            b"medical".to_vec(),
        ),
        (
            "made longer",
            b"arrest photograph".to_vec(),
            b"arrest photograph and more".to_vec(),
        ),
    ] {
        let content = [case.as_bytes(), &content].concat();
        let replacement = [case.as_bytes(), &replacement].concat();
        let id = id_of(&content);
        let mut input: &[u8] = &content;
        store.put(id, &mut input).await.unwrap();
        damage(id.digest, replacement).await;
        let err = read_all(store, &id.digest).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{case}: {err}");
        assert!(
            err.to_string().contains(&id.digest.to_hex()),
            "{case}: {err}"
        );
    }
}
