//! Both backends pass the same suite: a directory, and a JetStream Object Store bucket on a
//! real nats-server.

use custody_core::Hash;
use custody_evidence::{conformance, BlobStore, DirBlobStore, Limits, NatsBlobStore, BUCKET};

const LIMITS: Limits = Limits { max_bytes: 8 << 20 };

#[tokio::test]
async fn directory_backend_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirBlobStore::open(dir.path().join("custody.db.evidence"), LIMITS).unwrap();
    let damaged = store.clone();
    conformance::run(&store, |digest: Hash, bytes: Vec<u8>| {
        let path = damaged.path_of(&digest);
        async move { std::fs::write(path, bytes).unwrap() }
    })
    .await;
    // Nothing is left behind in tmp/ by refused or failed puts.
    let left = std::fs::read_dir(store.root().join("tmp")).unwrap().count();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn directory_blob_files_are_named_by_digest_and_private() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirBlobStore::open(dir.path().join("blobs"), LIMITS).unwrap();
    let id = conformance::id_of(b"x-ray");
    let mut input: &[u8] = b"x-ray";
    store.put(id, &mut input).await.unwrap();
    let hex = id.digest.to_hex();
    let path = dir.path().join("blobs/sha256").join(&hex[..2]).join(&hex);
    assert_eq!(std::fs::read(&path).unwrap(), b"x-ray");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[tokio::test]
async fn nats_object_store_backend_passes_the_suite() {
    let server = custody_testkit::NatsServer::start().expect("nats-server");
    let store = NatsBlobStore::connect(&server.url(), LIMITS).await.unwrap();
    let client = async_nats::connect(server.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let bucket = js.get_object_store(BUCKET).await.unwrap();
    conformance::run(&store, |digest: Hash, bytes: Vec<u8>| {
        let bucket = bucket.clone();
        async move {
            let mut input: &[u8] = &bytes;
            bucket
                .put(digest.to_hex().as_str(), &mut input)
                .await
                .unwrap();
        }
    })
    .await;
    assert!(store.limits() == LIMITS);
}
