//! The store on a 3-node JetStream cluster (R3) on loopback: appends continue when a node is
//! killed, the returned node catches up, nothing acknowledged is lost, and two stores writing
//! the same chains through different nodes never fork a chain.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use custody_core::chain::ChainHead;
use custody_core::record::signed_message;
use custody_core::{Hash, Record};
use custody_store::conformance::{next_after, test_chain, test_key, test_record, test_records};
use custody_store::{AppendOutcome, LedgerStore, StoreError, StoredEvent};
use custody_store_nats::{JetStreamStore, StoreOptions, LEDGER_STREAM, PAYLOAD_BUCKET};
use custody_testkit::Cluster;

/// Longest wait for appends to make progress, or for writers to finish (a liveness bound, not
/// a speed figure: it only turns a hang into a failure).
const PATIENCE: Duration = Duration::from_secs(30);

fn cluster() -> Cluster {
    Cluster::start().unwrap_or_else(|e| panic!("cannot start the cluster: {e}"))
}

/// A store on `url` (one node, or a comma-separated list), creating R3 streams and buckets.
async fn open(url: &str) -> JetStreamStore {
    let options = StoreOptions {
        request_timeout: Duration::from_secs(2),
        replicas: 3,
    };
    JetStreamStore::connect_with(url, options)
        .await
        .unwrap_or_else(|e| panic!("cannot open the store on {url}: {e}"))
}

/// Every record of a chain read back is signed by the suite's key, hashes to its hash, carries
/// the payload its header commits to, and links to the one before.
fn assert_chain_verifies(events: &[StoredEvent]) {
    let key = test_key().public();
    let mut head: Option<ChainHead> = None;
    for ev in events {
        let r = &ev.record;
        assert_eq!(r.header.compute_hash(), r.hash, "hash of {}", r.hash);
        assert_eq!(r.header.signer, key, "signer of {}", r.hash);
        r.header
            .signer
            .verify(&signed_message(&r.hash), &r.signature)
            .unwrap_or_else(|e| panic!("signature of {}: {e}", r.hash));
        let payload = r.payload.as_ref().expect("payload kept");
        assert_eq!(
            payload.digest(),
            r.header.payload_digest,
            "payload of {}",
            r.hash
        );
        let (seq, prev) = next_after(head);
        assert_eq!(
            (r.header.seq, r.header.prev),
            (seq, prev),
            "{} is linked",
            r.hash
        );
        head = Some(ChainHead {
            seq: r.header.seq,
            hash: r.hash,
        });
    }
}

/// Appends `r`, retrying while the store says it is unavailable (a leader election); returns
/// the acknowledged position and whether a retry was needed.
async fn append_until_acknowledged(store: &JetStreamStore, r: &Record) -> (u64, bool) {
    let mut retried = false;
    let deadline = Instant::now() + PATIENCE;
    loop {
        match store.append(r).await {
            Ok(AppendOutcome::Appended { position }) => return (position, retried),
            Ok(AppendOutcome::Duplicate { position }) => {
                assert!(retried, "a first attempt was reported as a duplicate");
                return (position, retried);
            }
            Err(StoreError::Unavailable(e)) => {
                assert!(
                    Instant::now() < deadline,
                    "appends did not resume within {PATIENCE:?}: {e}"
                );
                retried = true;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("unexpected error appending {}: {e}", r.hash),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r3_appends_continue_when_a_node_is_killed_and_nothing_acknowledged_is_lost() {
    const WRITERS: u64 = 2;
    const EACH: usize = 60;
    let mut cluster = cluster();
    let store = Arc::new(open(&cluster.urls()).await);

    // Every stream and bucket has a replica on each of the three nodes.
    let leader = tokio::task::block_in_place(|| cluster.wait_stream_leader(LEDGER_STREAM))
        .expect("the ledger stream has a leader");
    for i in 0..3 {
        for stream in [LEDGER_STREAM.to_string(), format!("KV_{PAYLOAD_BUCKET}")] {
            assert!(
                cluster.stream_state(i, &stream).unwrap().is_some(),
                "node {} holds a replica of {stream}",
                cluster.name(i)
            );
        }
    }

    let acked: Arc<Mutex<Vec<(u64, Hash)>>> = Arc::default();
    let retried = Arc::new(Mutex::new(0usize));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = Arc::clone(&store);
        let acked = Arc::clone(&acked);
        let retried = Arc::clone(&retried);
        writers.push(tokio::spawn(async move {
            let records = test_records(&test_chain(300 + w), None, EACH, "r3");
            for r in &records {
                let (position, was_retried) = append_until_acknowledged(&store, r).await;
                acked.lock().unwrap().push((position, r.hash));
                if was_retried {
                    *retried.lock().unwrap() += 1;
                }
                // A steady load rather than a burst: the kill lands mid-stream.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            records
        }));
    }

    let count = || acked.lock().unwrap().len();
    wait_until("20 acknowledged appends", || count() >= 20).await;
    // Kill the ledger stream's leader: the hardest node to lose.
    tokio::task::block_in_place(|| cluster.kill(leader));
    let at_kill = count();
    // Appends continue on the two others (after an election).
    wait_until("20 more appends with a node down", || {
        count() >= at_kill + 20
    })
    .await;
    assert!(!cluster.is_running(leader), "the node is still down");
    let new_leader = tokio::task::block_in_place(|| cluster.wait_stream_leader(LEDGER_STREAM))
        .expect("a new leader");
    assert_ne!(new_leader, leader, "the survivors elected a new leader");

    tokio::task::block_in_place(|| cluster.restart(leader)).expect("the node comes back");
    let mut all = Vec::new();
    for w in writers {
        let records = tokio::time::timeout(PATIENCE, w)
            .await
            .expect("writers finish")
            .expect("writer panicked");
        all.extend(records);
    }
    let total = WRITERS * EACH as u64;

    // The cluster recovered: every node, the returned one included, holds every record.
    let states = tokio::task::block_in_place(|| cluster.wait_stream_current(LEDGER_STREAM, total))
        .expect("every node catches up");
    assert_eq!(states.len(), 3, "three nodes hold the stream: {states:?}");

    // Read back through a survivor and through the returned node alone.
    let survivor = (leader + 1) % 3;
    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked.len() as u64, total, "every record acknowledged once");
    for node in [survivor, leader] {
        let reader = open(&cluster.url(node)).await;
        let size = retrying("size", || reader.size()).await;
        assert_eq!(size, total, "through {}", cluster.name(node));
        let events = retrying("read", || reader.read_from(0, 10_000)).await;
        assert_eq!(events.len() as u64, total);
        let mut seen = HashSet::new();
        for (i, ev) in events.iter().enumerate() {
            assert_eq!(ev.position, i as u64, "positions are dense");
            assert!(
                seen.insert(ev.record.hash),
                "{} stored twice",
                ev.record.hash
            );
        }
        for (position, hash) in &acked {
            assert_eq!(
                &events[*position as usize].record.hash,
                hash,
                "acknowledged event at its acknowledged position, through {}",
                cluster.name(node)
            );
        }
        for r in &all {
            let ev = retrying("event", || reader.event(&r.hash))
                .await
                .expect("stored");
            assert_eq!(&ev.record, r, "record and payload survived");
        }
        for w in 0..WRITERS {
            let chain_id = test_chain(300 + w);
            let chain = retrying("chain", || reader.chain(&chain_id)).await;
            assert_eq!(chain.len(), EACH);
            assert_chain_verifies(&chain);
        }
    }
    eprintln!(
        "{} of {total} appends needed a retry across the leader's death",
        retried.lock().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_different_nodes_never_fork_a_chain() {
    const CHAINS: u64 = 3;
    const LENGTH: u64 = 8;
    let mut cluster = cluster();
    // Two gateways, each with its own connection, cache of heads and per-chain locks, each
    // talking to another node: only the server's expected-sequence check stands between them.
    let a = Arc::new(open(&cluster.url(0)).await);
    let b = Arc::new(open(&cluster.url(1)).await);
    // Every node holds its replica of the new, empty stream and knows its leader.
    tokio::task::block_in_place(|| cluster.wait_stream_current(LEDGER_STREAM, 0))
        .expect("the ledger stream is replicated");
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    // Per store: (chain, seq) -> hash of what it appended; and how many conflicts it got.
    type Wins = Arc<Mutex<HashMap<(String, u64), Hash>>>;
    let wins: [Wins; 2] = [Arc::default(), Arc::default()];
    let conflicts = Arc::new(Mutex::new([0u64; 2]));

    let mut sides = Vec::new();
    for (side, store) in [a.clone(), b.clone()].into_iter().enumerate() {
        let barrier = Arc::clone(&barrier);
        let wins = Arc::clone(&wins[side]);
        let conflicts = Arc::clone(&conflicts);
        sides.push(tokio::spawn(async move {
            let tag = if side == 0 { "gateway-a" } else { "gateway-b" };
            for c in 0..CHAINS {
                let chain = test_chain(400 + c);
                for _round in 0..LENGTH {
                    // Both read the head, then both append their own version at once.
                    let head = head_when_available(&store, &chain).await;
                    let (seq, prev) = next_after(head);
                    let r = test_record(&chain, seq, prev, tag);
                    barrier.wait().await;
                    match append_racing(&store, &r).await {
                        Ok(()) => {
                            wins.lock().unwrap().insert((chain.clone(), seq), r.hash);
                        }
                        Err(StoreError::Conflict(conflict)) => {
                            let real = conflict.head.expect("the winner's record is the head");
                            assert_eq!(real.seq, seq, "the conflict names the winner");
                            assert_ne!(real.hash, r.hash);
                            conflicts.lock().unwrap()[side] += 1;
                        }
                        Err(e) => panic!("side {side}: unexpected error: {e}"),
                    }
                    // The next round starts when both know how this one ended.
                    barrier.wait().await;
                }
            }
        }));
    }
    for side in sides {
        tokio::time::timeout(PATIENCE, side)
            .await
            .expect("both sides finish")
            .expect("side panicked");
    }

    let [wins_a, wins_b] = wins.map(|w| w.lock().unwrap().clone());
    let conflicts = *conflicts.lock().unwrap();
    let rounds = CHAINS * LENGTH;
    // Exactly one winner per position: each round one side appended and the other was refused.
    assert_eq!(wins_a.len() as u64 + wins_b.len() as u64, rounds);
    assert_eq!(conflicts[0] + conflicts[1], rounds, "{conflicts:?}");
    assert!(
        wins_a.keys().all(|k| !wins_b.contains_key(k)),
        "a position won twice"
    );
    for store in [&a, &b] {
        assert_eq!(store.size().await.unwrap(), rounds, "nothing else stored");
        for c in 0..CHAINS {
            let chain = test_chain(400 + c);
            let events = store.chain(&chain).await.unwrap();
            assert_eq!(events.len() as u64, LENGTH);
            assert_chain_verifies(&events);
            for ev in &events {
                let key = (chain.clone(), ev.record.header.seq);
                let winner = wins_a.get(&key).or_else(|| wins_b.get(&key));
                assert_eq!(
                    winner,
                    Some(&ev.record.hash),
                    "the stored record is the winner"
                );
            }
        }
    }
    eprintln!(
        "gateway a won {} positions, gateway b {}",
        wins_a.len(),
        wins_b.len()
    );
}

/// `read()`, again while the store says it is unavailable ("retry later": a node that just
/// rejoined, an election), which it may say for a moment after a node returns.
async fn retrying<T, F, Fut>(what: &str, mut read: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        match read().await {
            Ok(v) => return v,
            Err(StoreError::Unavailable(e)) if Instant::now() < deadline => {
                eprintln!("{what} unavailable, retrying: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

/// The head of `chain`, retrying while the store is unavailable (a stream just created on
/// the cluster).
async fn head_when_available(store: &JetStreamStore, chain: &str) -> Option<ChainHead> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match store.head(chain).await {
            Ok(head) => return head,
            Err(StoreError::Unavailable(e)) if Instant::now() < deadline => {
                eprintln!("head of {chain} unavailable, retrying: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("head of {chain}: {e}"),
        }
    }
}

/// Appends `r` racing another store: `Ok` when this record took its place (at the first try,
/// or as a duplicate of an attempt in doubt), the conflict when the other's did.
async fn append_racing(store: &JetStreamStore, r: &Record) -> Result<(), StoreError> {
    let deadline = Instant::now() + PATIENCE;
    let mut retried = false;
    loop {
        match store.append(r).await {
            Ok(AppendOutcome::Appended { .. }) => return Ok(()),
            Ok(AppendOutcome::Duplicate { .. }) if retried => return Ok(()),
            Ok(other) => panic!("a first attempt answered {other:?}"),
            Err(StoreError::Unavailable(e)) if Instant::now() < deadline => {
                eprintln!("append of {} in doubt, retrying: {e}", r.hash);
                retried = true;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Waits, without blocking the runtime, until `done` holds; fails after [`PATIENCE`].
async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "no {what} within {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
