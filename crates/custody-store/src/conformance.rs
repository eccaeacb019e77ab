//! The conformance suite: the guarantees of [`LedgerStore`], written once and run by the tests
//! of every backend.
//!
//! A backend's test file implements [`Harness`] (how to open the store, how to restart what is
//! behind it, how to lose or damage a payload behind its back) and expands
//! [`conformance_tests!`](crate::conformance_tests) once:
//!
//! ```ignore
//! use custody_store::conformance::{async_trait, Harness};
//!
//! struct SqliteHarness { dir: tempfile::TempDir }
//!
//! #[async_trait]
//! impl Harness for SqliteHarness {
//!     type Store = SqliteStore;
//!     async fn open(&mut self) -> SqliteStore {
//!         SqliteStore::open(self.dir.path().join("ledger.db")).expect("open")
//!     }
//!     async fn restart(&mut self) {}
//! }
//!
//! custody_store::conformance_tests!(SqliteHarness { dir: tempfile::tempdir().unwrap() });
//! ```
//!
//! Each case is a plain `pub async fn` taking the harness by value, so a backend can also call
//! one directly. Every case builds real signed records ([`test_record`]) and asserts something
//! that fails when the guarantee is broken; the stores do not validate, so kinds are arbitrary.
//!
//! Restarts: a case drops every store it opened before it calls [`Harness::restart`], then
//! opens again. Subscriptions opened before a restart may outlive it (the suite checks that
//! what they still yield is in order, without gaps or duplicates; ending with an error is
//! allowed).

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use async_trait::async_trait;
use custody_core::chain::{ChainConflict, ChainHead};
use custody_core::ids::detainee_chain_id;
use custody_core::record::signed_message;
use custody_core::{Draft, EventKind, Hash, Record, Rule, SecretKey, Timestamp};
use futures::StreamExt;

use crate::{
    encode_payload, AccessEntry, AppendOutcome, EventStream, ForkAlarm, LedgerStore, PayloadState,
    StoreError, StoredCheckpoint, StoredEvent,
};

/// How a backend's tests give the suite a store.
#[async_trait]
pub trait Harness: Send {
    /// The store under test.
    type Store: LedgerStore + 'static;

    /// Opens the store, or reopens the same store after [`Harness::restart`]. Called more than
    /// once without a restart, it opens another handle on the same ledger (as a second process
    /// would).
    async fn open(&mut self) -> Self::Store;

    /// Restarts whatever is behind the store as after a crash, keeping its data: nothing beyond
    /// dropping and reopening for an embedded file; kill -9 and start again on the same port and
    /// store directory for a server. The suite drops its stores before calling this.
    async fn restart(&mut self);

    /// Destroys the stored payload of an event behind the store's back, as damage or an
    /// insider with access to the data would, without any redaction: SQLite deletes the
    /// payload row with the triggers dropped, JetStream deletes the payload entry from its
    /// bucket. The event must then read as [`PayloadState::Missing`], never as redacted.
    async fn lose_payload(&mut self, hash: &Hash);

    /// Overwrites the stored payload of an event with `bytes` behind the store's back, as
    /// damage or an insider with access to the data would, while stores may be open: SQLite
    /// drops the trigger that refuses updates of payload rows and writes the bytes into the
    /// event's row (as text when they are UTF-8, else as a blob); JetStream puts a new value in
    /// the event's payload entry, its location line kept and the bytes after it. The event's
    /// payload must be stored (present) before; `bytes` are not empty. Called with the
    /// payload's own canonical bytes, it repairs the damage.
    async fn corrupt_payload(&mut self, hash: &Hash, bytes: &[u8]);
}

/// Longest time one case may take before it fails as hung.
pub const CASE_TIMEOUT: Duration = Duration::from_secs(120);

/// Longest wait for one event of a subscription.
const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs one case on its own multi-threaded runtime with two workers, failing it after
/// [`CASE_TIMEOUT`]. Used by [`conformance_tests!`](crate::conformance_tests).
pub fn run<F: Future<Output = ()>>(name: &str, case: F) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot start a tokio runtime for {name}: {e}"));
    runtime.block_on(async {
        if tokio::time::timeout(CASE_TIMEOUT, case).await.is_err() {
            panic!("conformance case {name} did not finish within {CASE_TIMEOUT:?}");
        }
    });
}

/// Expands to one named `#[test]` per conformance case, in a module `store_conformance`, each
/// running on a multi-threaded tokio runtime with two workers ([`conformance::run`]).
///
/// The argument is an expression that builds a fresh [`Harness`]; it is evaluated inside the
/// async test body, once per case, so it may use `.await` and any item in scope of the caller:
///
/// ```ignore
/// custody_store::conformance_tests!(SqliteHarness::new());
/// custody_store::conformance_tests!(JetStreamHarness::start().await);
/// ```
///
/// [`conformance::run`]: crate::conformance::run
/// [`Harness`]: crate::conformance::Harness
#[macro_export]
macro_rules! conformance_tests {
    ($harness:expr) => {
        $crate::conformance_tests!(@cases $harness;
            append_read_and_positions,
            payload_stored_apart,
            missing_payload_told_apart,
            corrupt_payload_reported,
            idempotent_retry,
            conflict_carries_real_head,
            concurrent_writers_one_chain,
            concurrent_writers_one_chain_many_handles,
            concurrent_writers_distinct_chains,
            restart_keeps_acknowledged,
            subscribe_existing_then_new,
            subscribe_across_restart,
            two_handles_share_the_ledger,
            meta_round_trip,
            access_log_in_order,
            fork_alarms_keep_both_versions,
            checkpoint_history_only_grows,
            append_batch_appends_a_prefix,
            racing_batches_store_each_record_once,
        );
    };
    (@cases $harness:expr; $($case:ident),* $(,)?) => {
        #[allow(unused_imports)]
        mod store_conformance {
            use super::*;
            $(
                #[test]
                fn $case() {
                    $crate::conformance::run(stringify!($case), async {
                        let harness = $harness;
                        $crate::conformance::$case(harness).await;
                    });
                }
            )*
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/// The fixed signing key of the suite's records.
pub fn test_key() -> SecretKey {
    SecretKey::from_seed([0x5c; 32])
}

/// The ledger name of the suite's records.
pub const TEST_LEDGER: &str = "conformance.test";

/// A detainee chain id for test number `n` (distinct `n`, distinct chains).
pub fn test_chain(n: u64) -> String {
    detainee_chain_id((0x0191_8a2b_3c4d_u128 << 80) | u128::from(n))
}

/// The `(seq, prev)` of the record that extends `head`.
pub fn next_after(head: Option<ChainHead>) -> (u64, Option<Hash>) {
    match head {
        None => (0, None),
        Some(h) => (h.seq + 1, Some(h.hash)),
    }
}

/// A real signed record at `(chain, seq, prev)`, with a payload. `tag` goes into the payload
/// and the salt: different tags give different records (and hashes) at the same place.
pub fn test_record(chain: &str, seq: u64, prev: Option<Hash>, tag: &str) -> Record {
    let at = Timestamp::from_unix_seconds(1_700_000_000 + i64::try_from(seq).unwrap_or(0));
    let salt = Hash::of(format!("conformance salt/{chain}/{seq}/{tag}").as_bytes());
    Draft {
        ledger: TEST_LEDGER.to_string(),
        chain: chain.to_string(),
        seq,
        prev,
        kind: if seq == 0 {
            EventKind::Arrest
        } else {
            EventKind::EvidenceAdded
        },
        occurred_at: at.clone(),
        recorded_at: at,
        agency: "ml-gendarmerie-camp1".to_string(),
        body: serde_json::json!({ "note": tag, "n": seq, "text": "née à Gao – ✓" }),
    }
    .sign(&test_key(), salt.as_bytes())
}

/// Builds `n` records extending `head` on `chain`, each linked to the one before.
pub fn test_records(chain: &str, head: Option<ChainHead>, n: usize, tag: &str) -> Vec<Record> {
    let mut head = head;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let (seq, prev) = next_after(head);
        let r = test_record(chain, seq, prev, tag);
        head = Some(ChainHead { seq, hash: r.hash });
        out.push(r);
    }
    out
}

fn ok<T>(result: Result<T, StoreError>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected error: {e}"),
    }
}

async fn append_new<S: LedgerStore + ?Sized>(store: &S, record: &Record) -> u64 {
    match ok(store.append(record).await, "append") {
        AppendOutcome::Appended { position } => position,
        other => panic!(
            "append of a new record (chain {} seq {}) returned {other:?}, expected Appended",
            record.header.chain, record.header.seq
        ),
    }
}

fn head_of(record: &Record) -> ChainHead {
    ChainHead {
        seq: record.header.seq,
        hash: record.hash,
    }
}

/// Asserts that `events` are exactly `expected` at positions `first..`.
fn assert_events(events: &[StoredEvent], first: u64, expected: &[Record], what: &str) {
    assert_eq!(
        events.len(),
        expected.len(),
        "{what}: {} events, expected {}",
        events.len(),
        expected.len()
    );
    for (i, (ev, rec)) in events.iter().zip(expected).enumerate() {
        let position = first + i as u64;
        assert_eq!(
            ev.position, position,
            "{what}: event {i} has the wrong position"
        );
        assert_eq!(
            &ev.record, rec,
            "{what}: record at position {position} differs"
        );
        if rec.payload.is_some() {
            assert_eq!(
                ev.payload,
                PayloadState::Present,
                "{what}: the payload at position {position} is present"
            );
        }
    }
}

/// The payload states of `events`, in order.
fn states(events: &[StoredEvent]) -> Vec<PayloadState> {
    events.iter().map(|e| e.payload).collect()
}

async fn next_event(stream: &mut EventStream, what: &str) -> StoredEvent {
    match tokio::time::timeout(EVENT_TIMEOUT, stream.next()).await {
        Ok(Some(Ok(ev))) => ev,
        Ok(Some(Err(e))) => panic!("{what}: subscription failed: {e}"),
        Ok(None) => panic!("{what}: subscription ended"),
        Err(_) => panic!("{what}: no event within {EVENT_TIMEOUT:?}"),
    }
}

/// Asserts that a subscription yields nothing more for a while (and has not ended).
async fn assert_quiet(stream: &mut EventStream, what: &str) {
    match tokio::time::timeout(Duration::from_millis(600), stream.next()).await {
        Err(_) => {}
        Ok(Some(Ok(ev))) => panic!(
            "{what}: unexpected extra event at position {} (a duplicate or a phantom)",
            ev.position
        ),
        Ok(Some(Err(e))) => panic!("{what}: subscription failed: {e}"),
        Ok(None) => panic!("{what}: subscription ended; it must wait for new records"),
    }
}

fn access_entry(i: u64) -> AccessEntry {
    AccessEntry {
        at: format!("2024-05-01T10:00:{:02}Z", i % 60),
        reader: format!("ed25519:reader{i}"),
        agency: "ml-cndh".to_string(),
        target: test_chain(900 + i),
        action: if i < 3 { "read_payload" } else { "read_chain" }.to_string(),
        allowed: i != 2,
    }
}

// ---------------------------------------------------------------------------------------------
// Cases

/// Appends records to three interleaved chains, then checks positions `0..n` without gaps,
/// `size`, `read_from` windows, `head`, `chain` and `event` by hash.
pub async fn append_read_and_positions<H: Harness>(mut harness: H) {
    let store = harness.open().await;
    assert_eq!(ok(store.size().await, "size"), 0, "a new store is empty");
    assert!(ok(store.read_from(0, 10).await, "read_from").is_empty());

    let chains = [test_chain(1), test_chain(2), test_chain(3)];
    let per_chain: Vec<Vec<Record>> = chains
        .iter()
        .enumerate()
        .map(|(i, c)| test_records(c, None, 3 + i, "basic"))
        .collect();
    // Ledger order: round robin over the chains.
    let mut ledger = Vec::new();
    for k in 0..5 {
        for records in &per_chain {
            if let Some(r) = records.get(k) {
                ledger.push(r.clone());
            }
        }
    }
    for (i, r) in ledger.iter().enumerate() {
        assert_eq!(
            append_new(&store, r).await,
            i as u64,
            "positions are given in append order from 0 without gaps"
        );
    }
    let n = ledger.len() as u64;
    assert_eq!(ok(store.size().await, "size"), n);

    let all = ok(store.read_from(0, 1000).await, "read_from(0)");
    assert_events(&all, 0, &ledger, "read_from(0)");
    let window = ok(store.read_from(4, 3).await, "read_from(4, 3)");
    assert_events(&window, 4, &ledger[4..7], "read_from(4, 3)");
    let tail = ok(store.read_from(n - 2, 100).await, "read_from(n-2)");
    assert_events(&tail, n - 2, &ledger[ledger.len() - 2..], "read_from(n-2)");
    assert!(ok(store.read_from(n, 10).await, "read_from(n)").is_empty());
    assert!(ok(store.read_from(n + 5, 10).await, "read_from(n+5)").is_empty());
    assert!(ok(store.read_from(0, 0).await, "read_from(0, 0)").is_empty());

    for (chain, records) in chains.iter().zip(&per_chain) {
        let head = ok(store.head(chain).await, "head");
        assert_eq!(head, records.last().map(head_of), "head of {chain}");
        let stored = ok(store.chain(chain).await, "chain");
        let got: Vec<&Record> = stored.iter().map(|e| &e.record).collect();
        let want: Vec<&Record> = records.iter().collect();
        assert_eq!(got, want, "chain {chain} in chain order");
        for ev in &stored {
            assert_eq!(
                ledger[ev.position as usize], ev.record,
                "chain() reports the ledger position of each event"
            );
        }
    }
    assert_eq!(ok(store.head(&test_chain(99)).await, "head"), None);
    assert!(ok(store.chain(&test_chain(99)).await, "chain").is_empty());

    for (i, r) in ledger.iter().enumerate() {
        let ev = ok(store.event(&r.hash).await, "event").unwrap_or_else(|| {
            panic!("event {} not found by its hash", r.hash);
        });
        assert_eq!(ev.position, i as u64);
        assert_eq!(&ev.record, r);
    }
    let unknown = Hash::of(b"no such event");
    assert_eq!(ok(store.event(&unknown).await, "event(unknown)"), None);
}

/// Removes a payload: header, hash and signature stay readable and verify, the payload is gone
/// everywhere, other payloads stay, removal is idempotent, and a retried append of the original
/// record does not bring the payload back.
pub async fn payload_stored_apart<H: Harness>(mut harness: H) {
    let store = harness.open().await;
    let chain = test_chain(10);
    let records = test_records(&chain, None, 3, "redact");
    for r in &records {
        append_new(&store, r).await;
    }
    let target = &records[1];
    ok(store.remove_payload(&target.hash).await, "remove_payload");

    let ev = ok(store.event(&target.hash).await, "event")
        .unwrap_or_else(|| panic!("the event must stay after its payload is removed"));
    assert_eq!(ev.position, 1);
    assert_eq!(ev.record.payload, None, "the payload is gone");
    assert_eq!(ev.payload, PayloadState::Redacted, "and reads as redacted");
    assert_eq!(ev.record.header, target.header, "the header stays");
    assert_eq!(ev.record.hash, target.hash, "the hash stays");
    assert_eq!(ev.record.signature, target.signature, "the signature stays");
    assert_eq!(
        ev.record.header.compute_hash(),
        ev.record.hash,
        "the header still hashes to the event hash"
    );
    assert!(
        ev.record
            .header
            .signer
            .verify(&signed_message(&ev.record.hash), &ev.record.signature)
            .is_ok(),
        "the signature still verifies"
    );

    let all = ok(store.read_from(0, 10).await, "read_from");
    assert_eq!(all.len(), 3);
    assert_eq!(
        all[1].record,
        target.without_payload(),
        "read_from: payload gone"
    );
    assert_eq!(all[0].record, records[0], "other payloads stay");
    assert_eq!(all[2].record, records[2], "other payloads stay");
    let stored = ok(store.chain(&chain).await, "chain");
    assert_eq!(stored[1].record.payload, None, "chain: payload gone");
    assert!(stored[0].record.payload.is_some() && stored[2].record.payload.is_some());

    ok(
        store.remove_payload(&target.hash).await,
        "removing a payload twice is a success",
    );
    assert_eq!(
        ok(store.append(target).await, "append retry"),
        AppendOutcome::Duplicate { position: 1 },
        "a retried append after removal is a duplicate"
    );
    let ev = ok(store.event(&target.hash).await, "event").unwrap_or_else(|| panic!("gone"));
    assert_eq!(
        ev.record.payload, None,
        "a retried append must not restore a removed payload"
    );
    assert_eq!(ev.payload, PayloadState::Redacted);
    assert_eq!(ok(store.size().await, "size"), 3);
}

/// A payload lost behind the store's back (no redaction) reads as `Missing` through every read,
/// a redacted one as `Redacted`, the others as `Present`, also after a restart; a retry with a
/// payload that does not match the header is refused and changes nothing; a retry with the
/// right payload completes a missing payload (also one never given: a record appended without
/// it), never a redacted one.
pub async fn missing_payload_told_apart<H: Harness>(mut harness: H) {
    let store = harness.open().await;
    let chain = test_chain(15);
    let records = test_records(&chain, None, 5, "lost");
    for r in &records[..4] {
        append_new(&store, r).await;
    }
    // Appended without its payload: the store never held it.
    append_new(&store, &records[4].without_payload()).await;
    ok(
        store.remove_payload(&records[1].hash).await,
        "remove_payload",
    );
    drop(store);
    harness.lose_payload(&records[2].hash).await;
    let store = harness.open().await;

    use PayloadState::{Missing, Present, Redacted};
    let want = vec![Present, Redacted, Missing, Present, Missing];
    let all = ok(store.read_from(0, 10).await, "read_from");
    assert_eq!(states(&all), want, "read_from: the state of each payload");
    assert_eq!(
        all[2].record,
        records[2].without_payload(),
        "the header stays"
    );
    assert_eq!(all[0].record, records[0], "other payloads stay");
    let stored = ok(store.chain(&chain).await, "chain");
    assert_eq!(states(&stored), want, "chain: the state of each payload");
    for (r, state) in records.iter().zip(&want) {
        let ev = ok(store.event(&r.hash).await, "event").unwrap_or_else(|| {
            panic!(
                "event {} must be found by hash, whatever its payload",
                r.hash
            )
        });
        assert_eq!(ev.payload, *state, "event({}): its payload state", r.hash);
        assert_eq!(ev.record.payload.is_some(), *state == Present);
    }

    // A retry whose payload is not the one the header commits to changes nothing.
    let mut forged = records[2].clone();
    forged.payload = records[3].payload.clone();
    match store.append(&forged).await {
        Err(StoreError::Backend(_)) => {}
        other => panic!("a retry with a payload that does not match its header: {other:?}"),
    }
    let retry = ok(
        store.append(&records[2].without_payload()).await,
        "retry without payload",
    );
    assert_eq!(retry, AppendOutcome::Duplicate { position: 2 });
    let ev = ok(store.event(&records[2].hash).await, "event").unwrap_or_else(|| panic!("gone"));
    assert_eq!(
        ev.payload, Missing,
        "still missing after retries without the right payload"
    );

    // The right payload completes it, and the one never given.
    for (i, r) in records.iter().enumerate().skip(2).step_by(2) {
        assert_eq!(
            ok(store.append(r).await, "retry with the payload"),
            AppendOutcome::Duplicate { position: i as u64 }
        );
        let ev = ok(store.event(&r.hash).await, "event").unwrap_or_else(|| panic!("gone"));
        assert_eq!(
            ev.payload, Present,
            "the retry completed the payload of {i}"
        );
        assert_eq!(&ev.record, r);
    }
    // The redacted one stays redacted.
    assert_eq!(
        ok(
            store.append(&records[1]).await,
            "retry of a redacted record"
        ),
        AppendOutcome::Duplicate { position: 1 }
    );
    // A completed payload can still be redacted, and then stays so.
    ok(
        store.remove_payload(&records[2].hash).await,
        "remove_payload",
    );
    ok(store.append(&records[2]).await, "retry after redaction");
    drop(store);

    harness.restart().await;
    let store = harness.open().await;
    let all = ok(store.read_from(0, 10).await, "read_from after restart");
    assert_eq!(
        states(&all),
        vec![Present, Redacted, Redacted, Present, Present],
        "after restart"
    );
    assert_eq!(
        all[1].record.payload, None,
        "a retry never restores a redacted payload"
    );
    assert_eq!(
        all[2].record.payload, None,
        "a retry never restores a redacted payload"
    );
    assert_eq!(
        ok(store.size().await, "size"),
        5,
        "retries store nothing new"
    );
}

/// Asserts that `result` is a [`StoreError::Corrupt`] whose message names event `hash`.
#[track_caller]
fn assert_corrupt_naming<T>(result: Result<T, StoreError>, hash: &Hash, what: &str) {
    match result {
        Err(StoreError::Corrupt(m)) => assert!(
            m.contains(&hash.to_hex()),
            "{what}: the Corrupt error does not name event {hash}: {m}"
        ),
        Err(e) => panic!("{what}: expected StoreError::Corrupt naming event {hash}, got: {e}"),
        Ok(_) => panic!(
            "{what}: expected StoreError::Corrupt naming event {hash}, but the read succeeded \
             (the damaged payload was served, or its event skipped)"
        ),
    }
}

/// The next item of a subscription, which must be an error: [`StoreError::Corrupt`] naming
/// `hash`.
async fn expect_corrupt_item(stream: &mut EventStream, hash: &Hash, what: &str) {
    match tokio::time::timeout(EVENT_TIMEOUT, stream.next()).await {
        Ok(Some(item)) => assert_corrupt_naming(item, hash, what),
        Ok(None) => panic!("{what}: the subscription ended without reporting event {hash}"),
        Err(_) => panic!(
            "{what}: nothing within {EVENT_TIMEOUT:?}: the damaged payload of {hash} is neither \
             served nor reported"
        ),
    }
}

/// A payload damaged inside the store is reported on read, never served, by every read that
/// returns its event; reads that do not return it answer as before, and nothing else changes.
///
/// The damage is done behind the open store's back ([`Harness::corrupt_payload`]), four ways:
/// bytes that are not JSON, bytes that are not UTF-8, JSON that is not a payload, and another
/// event's payload (valid canonical JSON, a payload, but not the one the header's
/// `payload_digest` commits to). Each time:
/// - `read_from` over its position, `chain` of its chain and `event` by its hash fail with
///   [`StoreError::Corrupt`] naming the event hash. A read fails as a whole: it neither skips
///   the event nor serves it without payload, which would pass for a redaction or a loss;
/// - a subscription from before it yields, in order, only events before it, then that error
///   (the stream may end there); one from its position yields the error first;
/// - what does not return the event is unaffected: `read_from` windows before and after it,
///   the other chain, every other event by hash (with its payload), `head` and `size` (which
///   read no payload), and a subscription from the position after it.
///
/// A retried append of the damaged record repairs nothing (it is answered as a duplicate, or as
/// corrupt, and stores nothing); putting the original bytes back makes every read whole again,
/// the ledger unchanged.
pub async fn corrupt_payload_reported<H: Harness>(mut harness: H) {
    const POSITION: u64 = 2;
    let store = harness.open().await;
    let chain_a = test_chain(16);
    let chain_b = test_chain(17);
    let a = test_records(&chain_a, None, 3, "corrupt-a");
    let b = test_records(&chain_b, None, 2, "corrupt-b");
    let ledger = vec![
        a[0].clone(),
        b[0].clone(),
        a[1].clone(),
        b[1].clone(),
        a[2].clone(),
    ];
    for (i, r) in ledger.iter().enumerate() {
        assert_eq!(append_new(&store, r).await, i as u64);
    }
    let target = &ledger[POSITION as usize];
    let payload_of = |r: &Record| match &r.payload {
        Some(p) => encode_payload(p).into_bytes(),
        None => panic!("the suite's records have payloads"),
    };
    let damages: [(&str, Vec<u8>); 4] = [
        (
            "bytes that are not JSON",
            b"{\"body\":{\"note\": damaged".to_vec(),
        ),
        ("bytes that are not UTF-8", vec![b'{', 0xff, 0xfe, b'}']),
        (
            "JSON that is not a payload",
            br#"{"body":{"note":"no salt"}}"#.to_vec(),
        ),
        ("another event's payload", payload_of(&b[1])),
    ];

    for (damage, bytes) in &damages {
        harness.corrupt_payload(&target.hash, bytes).await;
        let hash = &target.hash;
        let what = |read: &str| format!("{damage}: {read}");

        // Every read that returns the event reports it.
        assert_corrupt_naming(store.read_from(0, 10).await, hash, &what("read_from(0)"));
        assert_corrupt_naming(
            store.read_from(POSITION, 1).await,
            hash,
            &what("read_from(2, 1)"),
        );
        assert_corrupt_naming(store.chain(&chain_a).await, hash, &what("chain"));
        assert_corrupt_naming(store.event(hash).await, hash, &what("event"));
        let mut from_start = ok(store.subscribe(0).await, "subscribe(0)");
        let mut next = 0u64;
        loop {
            match tokio::time::timeout(EVENT_TIMEOUT, from_start.next()).await {
                Ok(Some(Ok(ev))) => {
                    assert!(
                        ev.position < POSITION,
                        "{damage}: subscribe(0) yielded position {} past the damaged event",
                        ev.position
                    );
                    assert_eq!(ev.position, next, "{damage}: subscribe(0) in order");
                    assert_eq!(ev.record, ledger[ev.position as usize]);
                    next += 1;
                }
                Ok(Some(err)) => {
                    assert_corrupt_naming(err, hash, &what("subscribe(0)"));
                    break;
                }
                Ok(None) => panic!("{damage}: subscribe(0) ended without reporting {hash}"),
                Err(_) => panic!(
                    "{damage}: subscribe(0): nothing within {EVENT_TIMEOUT:?}: the damaged \
                     payload is neither served nor reported"
                ),
            }
        }
        drop(from_start);
        let mut from_it = ok(store.subscribe(POSITION).await, "subscribe(2)");
        expect_corrupt_item(&mut from_it, hash, &what("subscribe(2)")).await;
        drop(from_it);

        // What does not return it is unaffected.
        let before = ok(
            store.read_from(0, POSITION as usize).await,
            "read_from(0, 2)",
        );
        assert_events(&before, 0, &ledger[..2], &what("read_from(0, 2)"));
        let after = ok(store.read_from(POSITION + 1, 10).await, "read_from(3)");
        assert_events(&after, POSITION + 1, &ledger[3..], &what("read_from(3)"));
        let other = ok(store.chain(&chain_b).await, "chain b");
        assert_eq!(
            other.iter().map(|e| &e.record).collect::<Vec<_>>(),
            b.iter().collect::<Vec<_>>(),
            "{damage}: the other chain reads whole"
        );
        assert_eq!(states(&other), vec![PayloadState::Present; 2]);
        for (i, r) in ledger.iter().enumerate() {
            if r.hash == *hash {
                continue;
            }
            let ev = ok(store.event(&r.hash).await, "event")
                .unwrap_or_else(|| panic!("{damage}: event {} not found", r.hash));
            assert_eq!(
                (ev.position, &ev.record, ev.payload),
                (i as u64, r, PayloadState::Present),
                "{damage}: event({}) of another event reads whole",
                r.hash
            );
        }
        assert_eq!(
            ok(store.head(&chain_a).await, "head"),
            Some(head_of(&a[2])),
            "{damage}: head reads no payload"
        );
        assert_eq!(ok(store.head(&chain_b).await, "head"), Some(head_of(&b[1])));
        assert_eq!(ok(store.size().await, "size"), 5);
        let mut past = ok(store.subscribe(POSITION + 1).await, "subscribe(3)");
        for (i, r) in ledger.iter().enumerate().skip(POSITION as usize + 1) {
            let ev = next_event(&mut past, &what("subscribe(3)")).await;
            assert_eq!((ev.position, &ev.record), (i as u64, r));
        }
    }

    // A retry of the damaged record repairs nothing: the store never rewrites a payload it
    // holds. (SQLite answers Corrupt, since it reads the stored event; JetStream a duplicate.)
    match store.append(target).await {
        Ok(AppendOutcome::Duplicate { position }) => assert_eq!(position, POSITION),
        Err(StoreError::Corrupt(m)) => assert!(
            m.contains(&target.hash.to_hex()),
            "a retry of the damaged record: the Corrupt error does not name it: {m}"
        ),
        Ok(other) => panic!("a retry of the damaged record: {other:?}"),
        Err(e) => panic!("a retry of the damaged record: unexpected error: {e}"),
    }
    assert_corrupt_naming(
        store.event(&target.hash).await,
        &target.hash,
        "event after a retry of the damaged record",
    );
    assert_eq!(ok(store.size().await, "size"), 5, "a retry stores nothing");

    // The original bytes back: everything reads whole, nothing else changed.
    harness
        .corrupt_payload(&target.hash, &payload_of(target))
        .await;
    let all = ok(store.read_from(0, 10).await, "read_from after the repair");
    assert_events(&all, 0, &ledger, "after the repair");
    let stored = ok(store.chain(&chain_a).await, "chain after the repair");
    assert_eq!(
        stored.iter().map(|e| &e.record).collect::<Vec<_>>(),
        a.iter().collect::<Vec<_>>()
    );
    let ev = ok(store.event(&target.hash).await, "event after the repair")
        .unwrap_or_else(|| panic!("event {} not found after the repair", target.hash));
    assert_eq!(
        (ev.position, &ev.record, ev.payload),
        (POSITION, target, PayloadState::Present)
    );
    let mut sub = ok(store.subscribe(0).await, "subscribe(0) after the repair");
    for (i, r) in ledger.iter().enumerate() {
        let ev = next_event(&mut sub, "subscribe(0) after the repair").await;
        assert_eq!((ev.position, &ev.record), (i as u64, r));
    }
    assert_eq!(ok(store.size().await, "size"), 5);
}

/// `append_batch` appends records in order, several chains and several records of one chain
/// in one batch, at positions that continue the ledger, durably; it stops before a record
/// already stored and before one that does not extend its head as the batch left it, storing
/// nothing from there on (a batch whose first record is such stores nothing); what it
/// appended reads back like single appends.
pub async fn append_batch_appends_a_prefix<H: Harness>(mut harness: H) {
    let store = harness.open().await;
    let (a, b) = (test_chain(70), test_chain(71));
    let first = test_record(&test_chain(72), 0, None, "batch-first");
    append_new(&store, &first).await;
    let on_a = test_records(&a, None, 4, "batch");
    let on_b = test_records(&b, None, 3, "batch");
    // Interleaved: a0 b0 a1 b1 a2 b2 a3.
    let mut ledger: Vec<Record> = Vec::new();
    for k in 0..4 {
        ledger.extend(on_a.get(k).cloned());
        ledger.extend(on_b.get(k).cloned());
    }
    let positions = ok(store.append_batch(&ledger[..5]).await, "append_batch");
    assert_eq!(
        positions,
        (1..6).collect::<Vec<u64>>(),
        "a batch of new records is appended whole, at the positions after the ledger's end"
    );
    // A stored record stops the batch before it: what comes after is left to `append`.
    let retry = vec![ledger[5].clone(), ledger[2].clone(), ledger[6].clone()];
    assert_eq!(
        ok(
            store.append_batch(&retry).await,
            "append_batch with a stored record"
        ),
        vec![6],
        "the batch stops before the record already stored"
    );
    assert_eq!(
        ok(store.size().await, "size"),
        7,
        "nothing after the stop is stored"
    );
    // A record that does not extend its head (a fork of b's seq 2) first: nothing is stored.
    let fork = test_record(&b, 2, Some(on_b[1].hash), "batch-fork");
    assert_ne!(fork.hash, on_b[2].hash);
    let after_fork = [fork, ledger[6].clone()];
    assert!(
        ok(
            store.append_batch(&after_fork).await,
            "append_batch of a fork"
        )
        .is_empty(),
        "a batch whose first record does not extend its head stores nothing"
    );
    // A record that does not follow the one before it in the batch stops it there.
    let gap = test_record(&a, 5, Some(on_a[3].hash), "batch-gap");
    let with_gap = [ledger[6].clone(), gap];
    assert_eq!(
        ok(
            store.append_batch(&with_gap).await,
            "append_batch with a gap"
        ),
        vec![7]
    );
    assert!(ok(store.append_batch(&[]).await, "empty batch").is_empty());
    drop(store);
    harness.restart().await;
    let store = harness.open().await;
    assert_eq!(
        ok(store.size().await, "size after restart"),
        8,
        "batches are durable"
    );
    let all = ok(store.read_from(0, 100).await, "read_from");
    let mut want = vec![first];
    want.extend(ledger[..7].iter().cloned());
    assert_events(&all, 0, &want, "batched appends read back in order");
    assert_eq!(ok(store.head(&a).await, "head"), Some(head_of(&on_a[3])));
    assert_eq!(ok(store.head(&b).await, "head"), Some(head_of(&on_b[2])));
    assert_eq!(
        ok(store.append(&ledger[3]).await, "retry"),
        AppendOutcome::Duplicate { position: 4 },
        "a record appended in a batch is a duplicate when sent again"
    );
}

/// Four writers, each on its own handle, append the same records of five chains (and each a
/// chain of its own) in batches, as four processes submitting the same file would: after a
/// batch that stopped short each writer appends the next record alone and goes on. Every
/// record is stored once; no position is acknowledged as appended to two writers, and each
/// acknowledged position holds the record acknowledged; the chains are linear and complete.
/// (A record may be acknowledged as appended to none, answered as a duplicate to all: see
/// [`LedgerStore::append_batch`].)
pub async fn racing_batches_store_each_record_once<H: Harness>(mut harness: H) {
    const WRITERS: usize = 4;
    let shared: Vec<Vec<Record>> = (0..5)
        .map(|c| test_records(&test_chain(80 + c), None, 8, "racing-batch"))
        .collect();
    let mut stores = Vec::new();
    for _ in 0..WRITERS {
        stores.push(Arc::new(harness.open().await));
    }
    let mut tasks = Vec::new();
    for (w, store) in stores.iter().enumerate() {
        let own = test_records(&test_chain(90 + w as u64), None, 8, "racing-own");
        // Interleaved by seq: c0 c1 .. c4 own at seq 0, then seq 1, ...
        let mut records = Vec::new();
        for k in 0..8 {
            records.extend(shared.iter().map(|chain| chain[k].clone()));
            records.push(own[k].clone());
        }
        let store = Arc::clone(store);
        tasks.push(tokio::spawn(async move {
            let mut appended: Vec<(u64, Record)> = Vec::new();
            let mut rest = &records[..];
            while !rest.is_empty() {
                let batch = &rest[..rest.len().min(7)];
                let positions = ok(store.append_batch(batch).await, "append_batch");
                appended.extend(positions.iter().copied().zip(batch.iter().cloned()));
                rest = &rest[positions.len()..];
                if positions.len() < batch.len() {
                    match ok(store.append(&rest[0]).await, "append after a short batch") {
                        AppendOutcome::Appended { position } => {
                            appended.push((position, rest[0].clone()));
                        }
                        AppendOutcome::Duplicate { .. } => {}
                    }
                    rest = &rest[1..];
                }
            }
            appended
        }));
    }
    let mut by_position: BTreeMap<u64, (usize, Record)> = BTreeMap::new();
    for (w, t) in tasks.into_iter().enumerate() {
        let appended = match t.await {
            Ok(a) => a,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("writer task failed: {e}"),
        };
        for (position, record) in appended {
            if let Some((other, _)) = by_position.insert(position, (w, record)) {
                panic!("position {position} acknowledged as appended to writers {other} and {w}");
            }
        }
    }
    let total = 5 * 8 + WRITERS * 8;
    let store = &stores[0];
    assert_eq!(
        ok(store.size().await, "size"),
        total as u64,
        "every record once"
    );
    let all = ok(store.read_from(0, 1000).await, "read_from");
    assert_eq!(all.len(), total);
    assert!(
        by_position.len() * 2 >= total,
        "only {} of {total} records acknowledged as appended",
        by_position.len()
    );
    for (position, (w, record)) in &by_position {
        let stored = all.get(usize::try_from(*position).unwrap_or(usize::MAX));
        assert_eq!(
            stored.map(|ev| &ev.record),
            Some(record),
            "writer {w}: acknowledged position {position}"
        );
    }
    for c in 0..5 {
        let events = ok(store.chain(&test_chain(80 + c)).await, "chain");
        assert_linear_chain(&events, 8, "a shared chain");
    }
    for w in 0..WRITERS {
        let events = ok(store.chain(&test_chain(90 + w as u64)).await, "chain");
        assert_linear_chain(&events, 8, "a writer's own chain");
    }
}

/// The same record twice: the second append is a Duplicate at the same position, the size does
/// not change; also for an older record after the chain moved on, and for the record without
/// its payload.
pub async fn idempotent_retry<H: Harness>(mut harness: H) {
    let store = harness.open().await;
    let chain = test_chain(20);
    let records = test_records(&chain, None, 3, "retry");
    let other = test_record(&test_chain(21), 0, None, "retry-other");
    append_new(&store, &other).await;
    let p0 = append_new(&store, &records[0]).await;
    assert_eq!(p0, 1);
    assert_eq!(
        ok(store.append(&records[0]).await, "retry"),
        AppendOutcome::Duplicate { position: 1 }
    );
    assert_eq!(
        ok(store.size().await, "size"),
        2,
        "a duplicate is not stored again"
    );

    append_new(&store, &records[1]).await;
    append_new(&store, &records[2]).await;
    assert_eq!(
        ok(store.append(&records[1]).await, "late retry"),
        AppendOutcome::Duplicate { position: 2 },
        "a retry after the chain moved on is still a duplicate, not a conflict"
    );
    assert_eq!(
        ok(
            store.append(&records[2].without_payload()).await,
            "retry without payload"
        ),
        AppendOutcome::Duplicate { position: 3 },
        "the duplicate check is by hash"
    );
    assert_eq!(ok(store.size().await, "size"), 4);
    assert_eq!(
        ok(store.head(&chain).await, "head"),
        Some(head_of(&records[2]))
    );
    let ev = ok(store.event(&records[2].hash).await, "event").unwrap_or_else(|| panic!("gone"));
    assert_eq!(ev.record, records[2], "the first stored copy is kept");
}

/// Stale `seq` or `prev` gives a Conflict carrying the real head; nothing is stored.
pub async fn conflict_carries_real_head<H: Harness>(mut harness: H) {
    let store = harness.open().await;
    let chain = test_chain(30);
    let records = test_records(&chain, None, 3, "main");
    for r in &records {
        append_new(&store, r).await;
    }
    let real = Some(head_of(&records[2]));

    let attempts = [
        (
            "a fork at seq 1",
            test_record(&chain, 1, Some(records[0].hash), "fork"),
        ),
        (
            "a second seq 0",
            test_record(&chain, 0, None, "second-arrest"),
        ),
        (
            "the next seq with a stale prev",
            test_record(&chain, 3, Some(records[1].hash), "stale-prev"),
        ),
        (
            "a seq beyond the head",
            test_record(&chain, 4, Some(records[2].hash), "gap"),
        ),
    ];
    for (what, r) in &attempts {
        match store.append(r).await {
            Err(StoreError::Conflict(conflict)) => {
                assert_eq!(
                    conflict.chain, chain,
                    "{what}: the conflict names the chain"
                );
                assert_eq!(
                    conflict.head, real,
                    "{what}: the conflict carries the real head"
                );
                assert_eq!(conflict.rule(), Rule::Conflict, "{what}");
            }
            other => panic!("{what}: expected a Conflict, got {other:?}"),
        }
    }

    let fresh = test_chain(31);
    let orphan = test_record(&fresh, 1, Some(records[0].hash), "orphan");
    match store.append(&orphan).await {
        Err(StoreError::Conflict(conflict)) => {
            assert_eq!(conflict.chain, fresh);
            assert_eq!(conflict.head, None, "a new chain has no head");
        }
        other => panic!("seq 1 on a new chain: expected a Conflict, got {other:?}"),
    }
    let orphan0 = test_record(&fresh, 0, Some(records[0].hash), "orphan0");
    match store.append(&orphan0).await {
        Err(StoreError::Conflict(ChainConflict { head: None, .. })) => {}
        other => panic!("seq 0 with a prev on a new chain: expected a Conflict, got {other:?}"),
    }

    assert_eq!(
        ok(store.size().await, "size"),
        3,
        "a conflict stores nothing"
    );
    for (what, r) in &attempts {
        assert_eq!(
            ok(store.event(&r.hash).await, "event"),
            None,
            "{what}: was stored"
        );
    }
    assert_eq!(ok(store.head(&fresh).await, "head"), None);
    assert_eq!(ok(store.head(&chain).await, "head"), real);
    // The real head given by the conflict is enough to extend the chain.
    let (seq, prev) = next_after(real);
    append_new(&store, &test_record(&chain, seq, prev, "rebuilt")).await;
}

/// The head of a chain, reading again after [`StoreError::Unavailable`] (which says retrying
/// is safe: under many writers a backend may see the head move while it reads it).
async fn head_retrying<S: LedgerStore + ?Sized>(
    store: &S,
    chain: &str,
    writer: usize,
) -> Option<ChainHead> {
    for _ in 0..1000 {
        match store.head(chain).await {
            Ok(head) => return head,
            Err(StoreError::Unavailable(_)) => tokio::time::sleep(Duration::from_millis(2)).await,
            Err(e) => panic!("writer {writer}: head: unexpected error: {e}"),
        }
    }
    panic!("writer {writer}: the head of {chain} stayed unavailable")
}

/// Writers racing on a chain: (seq, prev) they believe current, record. On Conflict they
/// rebuild on the head they were given. Returns what each writer appended and was told.
struct WriterReport {
    appended: Vec<(u64, Record)>,
    told: Vec<(u64, ChainHead)>,
}

async fn racing_writer<S: LedgerStore + ?Sized>(
    store: &S,
    chain: &str,
    writer: usize,
    wanted: usize,
) -> WriterReport {
    let mut head = head_retrying(store, chain, writer).await;
    let mut report = WriterReport {
        appended: Vec::new(),
        told: Vec::new(),
    };
    let mut attempt = 0usize;
    let mut pending: Option<Record> = None;
    while report.appended.len() < wanted {
        attempt += 1;
        assert!(attempt < 20_000, "writer {writer} made no progress");
        let retrying = pending.is_some();
        let record = match pending.take() {
            Some(r) => r,
            None => {
                let (seq, prev) = next_after(head);
                test_record(chain, seq, prev, &format!("w{writer}-a{attempt}"))
            }
        };
        match store.append(&record).await {
            Ok(AppendOutcome::Appended { position }) => {
                head = Some(head_of(&record));
                report.appended.push((position, record));
            }
            Ok(AppendOutcome::Duplicate { position }) => {
                // Only after an Unavailable on the same record: it was stored after all.
                assert!(
                    retrying,
                    "writer {writer}: a new record was reported as a duplicate"
                );
                head = Some(head_of(&record));
                report.appended.push((position, record));
            }
            Err(StoreError::Conflict(ChainConflict {
                chain: c,
                head: real,
                ..
            })) => {
                assert_eq!(c, chain);
                let real = real.unwrap_or_else(|| {
                    panic!("writer {writer}: conflict without a head on a chain that has one")
                });
                assert!(
                    real.seq >= record.header.seq,
                    "writer {writer}: conflict at seq {} but the head given is seq {}, not newer",
                    record.header.seq,
                    real.seq
                );
                report.told.push((record.header.seq, real));
                head = Some(real);
            }
            Err(StoreError::Unavailable(_)) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                pending = Some(record);
            }
            Err(e) => panic!("writer {writer}: unexpected error: {e}"),
        }
    }
    report
}

/// Checks that a chain is exactly the `n` events `0..n`, each linked to the one before, in
/// increasing ledger positions.
fn assert_linear_chain(events: &[StoredEvent], n: usize, what: &str) {
    assert_eq!(events.len(), n, "{what}: chain length");
    let mut prev: Option<&StoredEvent> = None;
    for (i, ev) in events.iter().enumerate() {
        assert_eq!(
            ev.record.header.seq, i as u64,
            "{what}: exactly one event per seq"
        );
        assert_eq!(
            ev.record.header.prev,
            prev.map(|p| p.record.hash),
            "{what}: event at seq {i} does not link to the previous hash (a fork)"
        );
        if let Some(p) = prev {
            assert!(
                ev.position > p.position,
                "{what}: chain order and ledger order disagree at seq {i}"
            );
        }
        prev = Some(ev);
    }
}

/// Eight writers each append 20 events to ONE chain through ONE handle, rebuilding on the head a
/// Conflict gives: 160 events, one per seq, no fork, every loser was told the real head.
pub async fn concurrent_writers_one_chain<H: Harness>(mut harness: H) {
    let store = Arc::new(harness.open().await);
    let stores = vec![store; 8];
    racing_writers_on_one_chain(stores, &test_chain(40), "one chain, eight writers").await;
}

/// Eight writers, each on its OWN handle (its own connection, as eight processes would), each
/// append 20 events to ONE chain: nothing inside one handle serialises them, so only the
/// store's own check (SQLite's write transaction, JetStream's expected last sequence of the
/// chain's subject) keeps them from forking. 160 events, one per seq, no fork, every loser
/// was told the real head.
pub async fn concurrent_writers_one_chain_many_handles<H: Harness>(mut harness: H) {
    let mut stores = Vec::new();
    for _ in 0..8 {
        stores.push(Arc::new(harness.open().await));
    }
    racing_writers_on_one_chain(stores, &test_chain(41), "one chain, eight handles").await;
}

/// One racing writer per store in `stores` (20 events each) on `chain`, then the checks: the
/// chain is linear and complete, every acknowledgement is true, every head told is real.
async fn racing_writers_on_one_chain<S: LedgerStore + 'static>(
    stores: Vec<Arc<S>>,
    chain: &str,
    what: &str,
) {
    const EACH: usize = 20;
    let writers = stores.len();
    let mut tasks = Vec::new();
    for (w, store) in stores.iter().enumerate() {
        let store = Arc::clone(store);
        let chain = chain.to_string();
        tasks.push(tokio::spawn(async move {
            racing_writer(store.as_ref(), &chain, w, EACH).await
        }));
    }
    let mut reports = Vec::new();
    for t in tasks {
        match t.await {
            Ok(r) => reports.push(r),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("writer task failed: {e}"),
        }
    }

    let store = &stores[0];
    let events = ok(store.chain(chain).await, "chain");
    assert_linear_chain(&events, writers * EACH, what);
    let by_hash: BTreeMap<Hash, &StoredEvent> = events.iter().map(|e| (e.record.hash, e)).collect();
    for (w, report) in reports.iter().enumerate() {
        assert_eq!(report.appended.len(), EACH, "writer {w}");
        for (position, record) in &report.appended {
            let ev = by_hash.get(&record.hash).unwrap_or_else(|| {
                panic!("writer {w}: acknowledged event {} is missing", record.hash)
            });
            assert_eq!(ev.position, *position, "writer {w}: acknowledged position");
            assert_eq!(&ev.record, record);
        }
        for (tried, head) in &report.told {
            let ev = by_hash.get(&head.hash).unwrap_or_else(|| {
                panic!(
                    "writer {w}: told a head {} that is not in the chain",
                    head.hash
                )
            });
            assert_eq!(
                ev.record.header.seq, head.seq,
                "writer {w}: conflict at seq {tried} gave a head whose seq is wrong"
            );
        }
    }
    assert_eq!(ok(store.size().await, "size"), (writers * EACH) as u64);
    let all = ok(store.read_from(0, 1000).await, "read_from");
    for (i, ev) in all.iter().enumerate() {
        assert_eq!(ev.position, i as u64, "positions are dense");
    }
    let last = events.last().map(|e| head_of(&e.record));
    for s in &stores {
        assert_eq!(
            ok(s.head(chain).await, "head"),
            last,
            "{what}: every handle's head"
        );
    }
}

/// Eight writers on distinct chains, 25 events each: all present, positions unique and dense.
pub async fn concurrent_writers_distinct_chains<H: Harness>(mut harness: H) {
    const WRITERS: usize = 8;
    const EACH: usize = 25;
    let store = Arc::new(harness.open().await);
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let chain = test_chain(50 + w as u64);
            let records = test_records(&chain, None, EACH, "distinct");
            let mut positions = Vec::new();
            for r in &records {
                positions.push(append_new(store.as_ref(), r).await);
            }
            (chain, records, positions)
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        match t.await {
            Ok(r) => results.push(r),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("writer task failed: {e}"),
        }
    }
    let total = (WRITERS * EACH) as u64;
    let mut all_positions: Vec<u64> = results.iter().flat_map(|r| r.2.clone()).collect();
    all_positions.sort_unstable();
    assert_eq!(
        all_positions,
        (0..total).collect::<Vec<_>>(),
        "acknowledged positions are unique and dense"
    );
    assert_eq!(ok(store.size().await, "size"), total);
    let all = ok(store.read_from(0, 10_000).await, "read_from");
    assert_eq!(all.len() as u64, total);
    let by_position: BTreeMap<u64, &Record> = all.iter().map(|e| (e.position, &e.record)).collect();
    for (i, ev) in all.iter().enumerate() {
        assert_eq!(ev.position, i as u64, "read_from positions are dense");
    }
    for (chain, records, positions) in &results {
        for (r, p) in records.iter().zip(positions) {
            assert_eq!(
                by_position.get(p),
                Some(&r),
                "record at its acknowledged position"
            );
        }
        let stored = ok(store.chain(chain).await, "chain");
        assert_linear_chain(&stored, EACH, chain);
    }
}

/// Everything acknowledged before a restart is there after it: records, positions, heads,
/// removed payloads, metadata, access log; appends continue at the next position.
pub async fn restart_keeps_acknowledged<H: Harness>(mut harness: H) {
    let store = harness.open().await;
    let chains = [test_chain(60), test_chain(61), test_chain(62)];
    let mut ledger = Vec::new();
    let mut heads = vec![None; chains.len()];
    for k in 0..12 {
        let c = k % chains.len();
        let (seq, prev) = next_after(heads[c]);
        let r = test_record(&chains[c], seq, prev, "restart");
        assert_eq!(append_new(&store, &r).await, k as u64);
        heads[c] = Some(head_of(&r));
        ledger.push(r);
    }
    ok(
        store.remove_payload(&ledger[4].hash).await,
        "remove_payload",
    );
    ledger[4] = ledger[4].without_payload();
    let meta = serde_json::json!({ "name": "ml-test", "anchors": ["ed25519:x"] });
    ok(store.set_meta("ledger", &meta).await, "set_meta");
    ok(store.log_access(&access_entry(0)).await, "log_access");
    ok(store.log_access(&access_entry(1)).await, "log_access");
    drop(store);

    harness.restart().await;
    let store = harness.open().await;
    assert_eq!(ok(store.size().await, "size after restart"), 12);
    let all = ok(store.read_from(0, 100).await, "read_from after restart");
    assert_events(&all, 0, &ledger, "after restart");
    for (c, head) in chains.iter().zip(&heads) {
        assert_eq!(&ok(store.head(c).await, "head after restart"), head);
    }
    assert_eq!(
        ok(store.meta("ledger").await, "meta after restart"),
        Some(meta)
    );
    assert_eq!(
        ok(store.access_log(0, 10).await, "access_log after restart"),
        vec![access_entry(0), access_entry(1)]
    );

    let (seq, prev) = next_after(heads[0]);
    let r = test_record(&chains[0], seq, prev, "after-restart");
    assert_eq!(
        append_new(&store, &r).await,
        12,
        "appends continue at the next position"
    );
    assert_eq!(
        ok(store.append(&ledger[0]).await, "retry after restart"),
        AppendOutcome::Duplicate { position: 0 },
        "duplicates are recognised across a restart"
    );
    let stale = test_record(&chains[1], 1, Some(ledger[1].hash), "stale");
    match store.append(&stale).await {
        Err(StoreError::Conflict(ChainConflict { head, .. })) => assert_eq!(head, heads[1]),
        other => panic!("a stale append after restart: expected a Conflict, got {other:?}"),
    }
}

/// A subscription from a position yields the stored records from there, then each new record
/// in order, and nothing twice; a subscription from the end yields only new records.
pub async fn subscribe_existing_then_new<H: Harness>(mut harness: H) {
    let store = Arc::new(harness.open().await);
    let chain = test_chain(70);
    let records = test_records(&chain, None, 10, "sub");
    for r in &records[..5] {
        append_new(store.as_ref(), r).await;
    }
    let mut from_two = ok(store.subscribe(2).await, "subscribe(2)");
    let mut from_end = ok(store.subscribe(5).await, "subscribe(5)");
    for (i, r) in records.iter().enumerate().take(5).skip(2) {
        let ev = next_event(&mut from_two, "existing records").await;
        assert_eq!(ev.position, i as u64);
        assert_eq!(&ev.record, r);
    }

    let writer = {
        let store = Arc::clone(&store);
        let later = records[5..].to_vec();
        tokio::spawn(async move {
            for r in &later {
                tokio::time::sleep(Duration::from_millis(20)).await;
                append_new(store.as_ref(), r).await;
            }
        })
    };
    for (i, r) in records.iter().enumerate().skip(5) {
        let ev = next_event(&mut from_two, "new records").await;
        assert_eq!(ev.position, i as u64, "new records in order");
        assert_eq!(&ev.record, r);
        let ev = next_event(&mut from_end, "subscription from the end").await;
        assert_eq!(
            ev.position, i as u64,
            "from the end: only new records, in order"
        );
        assert_eq!(&ev.record, r);
    }
    match writer.await {
        Ok(()) => {}
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("writer task failed: {e}"),
    }
    assert_quiet(&mut from_two, "after the last record").await;
    assert_quiet(&mut from_end, "after the last record").await;
}

/// Subscribe, restart, append more: a new subscription from the old position sees everything
/// exactly once; the old subscription yields nothing out of order or twice.
pub async fn subscribe_across_restart<H: Harness>(mut harness: H) {
    let store = harness.open().await;
    let chain = test_chain(80);
    let records = test_records(&chain, None, 6, "sub-restart");
    for r in &records[..3] {
        append_new(&store, r).await;
    }
    let mut old = ok(store.subscribe(1).await, "subscribe(1)");
    for i in 1..3u64 {
        let ev = next_event(&mut old, "before restart").await;
        assert_eq!(ev.position, i);
    }
    drop(store);
    harness.restart().await;
    let store = harness.open().await;
    for (i, r) in records.iter().enumerate().skip(3) {
        assert_eq!(append_new(&store, r).await, i as u64);
    }

    let mut fresh = ok(store.subscribe(1).await, "subscribe(1) after restart");
    for (i, r) in records.iter().enumerate().skip(1) {
        let ev = next_event(&mut fresh, "after restart").await;
        assert_eq!(ev.position, i as u64, "everything exactly once, in order");
        assert_eq!(&ev.record, r);
    }
    assert_quiet(&mut fresh, "after restart").await;

    // The old subscription may fail, but what it yields must continue where it stopped.
    let mut expected = 3u64;
    while let Ok(Some(Ok(ev))) = tokio::time::timeout(Duration::from_secs(2), old.next()).await {
        assert_eq!(
            ev.position, expected,
            "the subscription from before the restart skipped or repeated an event"
        );
        let want = records.get(expected as usize).unwrap_or_else(|| {
            panic!("the subscription from before the restart yielded a phantom event at {expected}")
        });
        assert_eq!(&ev.record, want);
        expected += 1;
    }
}

/// Two handles on one ledger (a server and a CLI): each sees the other's appends, a
/// subscription on one sees appends made through the other, and they cannot fork a chain.
pub async fn two_handles_share_the_ledger<H: Harness>(mut harness: H) {
    let a = harness.open().await;
    let b = harness.open().await;
    let chain = test_chain(90);
    let records = test_records(&chain, None, 4, "shared");
    append_new(&a, &records[0]).await;
    assert_eq!(ok(b.size().await, "size via b"), 1);
    assert_eq!(
        ok(b.head(&chain).await, "head via b"),
        Some(head_of(&records[0]))
    );
    let mut sub = ok(b.subscribe(0).await, "subscribe via b");
    assert_eq!(next_event(&mut sub, "existing").await.record, records[0]);

    // The subscription is already waiting when the other handle appends: only the other
    // handle's write (or polling the shared storage) can wake it.
    let a = Arc::new(a);
    let later = {
        let a = Arc::clone(&a);
        let record = records[1].clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            append_new(a.as_ref(), &record).await
        })
    };
    let ev = next_event(&mut sub, "append by the other handle").await;
    assert_eq!(ev.position, 1);
    assert_eq!(ev.record, records[1]);
    match later.await {
        Ok(position) => assert_eq!(position, 1),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("writer task failed: {e}"),
    }

    // Both handles try to extend the same head.
    let via_a = test_record(&chain, 2, Some(records[1].hash), "via-a");
    let via_b = test_record(&chain, 2, Some(records[1].hash), "via-b");
    let (ra, rb) = tokio::join!(a.append(&via_a), b.append(&via_b));
    let (winner, loser) = match (ra, rb) {
        (
            Ok(AppendOutcome::Appended { .. }),
            Err(StoreError::Conflict(ChainConflict { head, .. })),
        ) => (via_a.clone(), head),
        (
            Err(StoreError::Conflict(ChainConflict { head, .. })),
            Ok(AppendOutcome::Appended { .. }),
        ) => (via_b.clone(), head),
        other => panic!(
            "two handles extending one head: expected one Appended and one Conflict, got {other:?}"
        ),
    };
    assert_eq!(
        loser,
        Some(head_of(&winner)),
        "the loser is told the winner"
    );
    let ev = next_event(&mut sub, "the winner").await;
    assert_eq!(ev.position, 2);
    assert_eq!(ev.record, winner);
    assert_eq!(ok(a.size().await, "size"), 3);
    assert_eq!(ok(b.size().await, "size"), 3);
}

/// Metadata documents round-trip, are replaced by a second write, and are absent until written.
pub async fn meta_round_trip<H: Harness>(mut harness: H) {
    let store = harness.open().await;
    assert_eq!(ok(store.meta("ledger").await, "meta"), None);
    let v1 = serde_json::json!({
        "name": "ml-bamako",
        "anchors": [{"key": "ed25519:abc", "roles": ["registrar"]}],
        "n": 9_007_199_254_740_991_u64,
        "text": "Maison Centrale d'Arrêt – Bamako",
        "empty": {},
        "none": null
    });
    ok(store.set_meta("ledger", &v1).await, "set_meta");
    ok(
        store.set_meta("other", &serde_json::json!("x")).await,
        "set_meta",
    );
    assert_eq!(ok(store.meta("ledger").await, "meta"), Some(v1));
    let v2 = serde_json::json!({ "name": "ml-koulikoro" });
    ok(store.set_meta("ledger", &v2).await, "set_meta again");
    assert_eq!(ok(store.meta("ledger").await, "meta"), Some(v2), "replaced");
    assert_eq!(
        ok(store.meta("other").await, "meta"),
        Some(serde_json::json!("x")),
        "keys are independent"
    );
    assert_eq!(ok(store.meta("ledger2").await, "meta"), None);
    // Keys hold what the sync keeps per hub (`sync/<hub url>`): any characters, each key
    // its own document, even keys that differ only in an escaped character.
    const ANY_KEYS: [&str; 5] = [
        "sync/http://127.0.0.1:4000",
        "hub-checkpoint/https://hub.example.ml/",
        ".starts with a dot.",
        "sync/http://127.0.0.1:4000=3A",
        "sync/a..b é",
    ];
    for (i, key) in ANY_KEYS.iter().enumerate() {
        ok(
            store.set_meta(key, &serde_json::json!({ "next": i })).await,
            "set_meta of a key with any characters",
        );
    }
    for (i, key) in ANY_KEYS.iter().enumerate() {
        assert_eq!(
            ok(store.meta(key).await, "meta of a key with any characters"),
            Some(serde_json::json!({ "next": i })),
            "{key}"
        );
    }
}

/// The access log returns entries in append order from a 0-based index.
pub async fn access_log_in_order<H: Harness>(mut harness: H) {
    let store = harness.open().await;
    assert!(ok(store.access_log(0, 10).await, "access_log").is_empty());
    let entries: Vec<AccessEntry> = (0..6).map(access_entry).collect();
    for e in &entries {
        ok(store.log_access(e).await, "log_access");
    }
    assert_eq!(ok(store.access_log(0, 100).await, "access_log"), entries);
    assert_eq!(
        ok(store.access_log(2, 3).await, "access_log(2, 3)"),
        entries[2..5].to_vec()
    );
    assert_eq!(
        ok(store.access_log(5, 10).await, "access_log(5)"),
        entries[5..].to_vec()
    );
    assert!(ok(store.access_log(6, 10).await, "access_log(6)").is_empty());
    assert!(ok(store.access_log(0, 0).await, "access_log(0, 0)").is_empty());
    let mut seen = HashSet::new();
    for e in ok(store.access_log(0, 100).await, "access_log") {
        assert!(seen.insert(e.reader.clone()), "no entry twice");
    }
}

/// A store that passes every call to `inner`, with faults a test can switch on: answers to
/// appends that arrive late (the record is stored at once, as an acknowledgement still on its
/// way), a ledger position that `read_from` does not return (as a damaged backend would), and
/// a count of `read_from` calls. For tests of what sits above a store (the ledger, the scan).
#[derive(Debug)]
pub struct Faulty<S> {
    /// The store that does the work.
    pub inner: S,
    /// How late each append's answer comes.
    pub answer_delay: Duration,
    /// A position `read_from` leaves out of its answer.
    pub hidden_position: Option<u64>,
    /// `read_from` calls so far.
    pub reads: std::sync::atomic::AtomicUsize,
    /// `append` calls so far.
    pub appends: std::sync::atomic::AtomicUsize,
    /// `append_batch` calls so far.
    pub batches: std::sync::atomic::AtomicUsize,
}

impl<S> Faulty<S> {
    /// `inner` without faults.
    pub fn new(inner: S) -> Self {
        Faulty {
            inner,
            answer_delay: Duration::ZERO,
            hidden_position: None,
            reads: std::sync::atomic::AtomicUsize::new(0),
            appends: std::sync::atomic::AtomicUsize::new(0),
            batches: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

#[async_trait]
impl<S: LedgerStore> LedgerStore for Faulty<S> {
    async fn append(&self, record: &Record) -> Result<AppendOutcome, StoreError> {
        self.appends
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let out = self.inner.append(record).await;
        if !self.answer_delay.is_zero() {
            tokio::time::sleep(self.answer_delay).await;
        }
        out
    }
    async fn append_batch(&self, records: &[Record]) -> Result<Vec<u64>, StoreError> {
        self.batches
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let out = self.inner.append_batch(records).await;
        if !self.answer_delay.is_zero() {
            tokio::time::sleep(self.answer_delay).await;
        }
        out
    }
    async fn chain(&self, chain: &str) -> Result<Vec<StoredEvent>, StoreError> {
        self.inner.chain(chain).await
    }
    async fn read_from(&self, position: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut events = self.inner.read_from(position, limit).await?;
        events.retain(|ev| Some(ev.position) != self.hidden_position);
        Ok(events)
    }
    async fn subscribe(&self, position: u64) -> Result<EventStream, StoreError> {
        self.inner.subscribe(position).await
    }
    async fn head(&self, chain: &str) -> Result<Option<ChainHead>, StoreError> {
        self.inner.head(chain).await
    }
    async fn size(&self) -> Result<u64, StoreError> {
        self.inner.size().await
    }
    async fn event(&self, hash: &Hash) -> Result<Option<StoredEvent>, StoreError> {
        self.inner.event(hash).await
    }
    async fn remove_payload(&self, hash: &Hash) -> Result<(), StoreError> {
        self.inner.remove_payload(hash).await
    }
    async fn meta(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        self.inner.meta(key).await
    }
    async fn set_meta(&self, key: &str, value: &serde_json::Value) -> Result<(), StoreError> {
        self.inner.set_meta(key, value).await
    }
    async fn log_access(&self, entry: &AccessEntry) -> Result<(), StoreError> {
        self.inner.log_access(entry).await
    }
    async fn access_log(&self, from: u64, limit: usize) -> Result<Vec<AccessEntry>, StoreError> {
        self.inner.access_log(from, limit).await
    }
    async fn record_fork(&self, alarm: &ForkAlarm) -> Result<bool, StoreError> {
        self.inner.record_fork(alarm).await
    }
    async fn forks(&self, from: u64, limit: usize) -> Result<Vec<ForkAlarm>, StoreError> {
        self.inner.forks(from, limit).await
    }
}

/// Fork alarms: another version of a stored record is kept whole (payload included) in the
/// alarm log, the ledger untouched; the same other version twice is one alarm; alarms list in
/// the order recorded, survive a restart, and are shared by every handle.
pub async fn fork_alarms_keep_both_versions<H: Harness>(mut harness: H) {
    let chain = test_chain(700);
    let stored = test_records(&chain, None, 2, "post-a");
    let store = harness.open().await;
    for r in &stored {
        append_new(&store, r).await;
    }
    assert!(
        ok(store.forks(0, 10).await, "forks").is_empty(),
        "no alarm yet"
    );
    // Another version of seq 1, with its payload, and one of seq 0 without.
    let other1 = test_record(&chain, 1, Some(stored[0].hash), "post-b");
    let other0 = test_record(&chain, 0, None, "post-b").without_payload();
    let alarm = |other: &Record, stored: &Record, source: &str| ForkAlarm {
        chain: chain.clone(),
        seq: other.header.seq,
        stored: stored.hash,
        other: other.clone(),
        seen_at: Timestamp::from_unix_seconds(1_700_000_100),
        source: source.to_string(),
    };
    let first = alarm(&other1, &stored[1], "sync from post B");
    assert!(
        ok(store.record_fork(&first).await, "record_fork"),
        "a new alarm"
    );
    // The same other version again, even from elsewhere and later: one alarm.
    let mut again = first.clone();
    again.source = "packet import".to_string();
    again.seen_at = Timestamp::from_unix_seconds(1_700_000_200);
    assert!(
        !ok(store.record_fork(&again).await, "record_fork again"),
        "the same other version twice is one alarm"
    );
    let second = alarm(&other0, &stored[0], "packet import");
    assert!(
        ok(store.record_fork(&second).await, "record_fork"),
        "a second alarm"
    );

    // The ledger is untouched: the stored versions stay, nothing of the others entered it.
    assert_eq!(ok(store.size().await, "size"), 2);
    let events = ok(store.chain(&chain).await, "chain");
    assert_events(&events, 0, &stored, "the chain after the alarms");
    assert_eq!(ok(store.event(&other1.hash).await, "event"), None);
    assert_eq!(
        ok(store.head(&chain).await, "head"),
        Some(head_of(&stored[1]))
    );

    let listed = ok(store.forks(0, 10).await, "forks");
    assert_eq!(
        listed,
        vec![first.clone(), second.clone()],
        "both alarms, in order"
    );
    assert!(
        listed[0].other.payload.is_some(),
        "the other version's payload is kept"
    );
    assert_eq!(
        ok(store.forks(1, 10).await, "forks(1)"),
        vec![second.clone()]
    );
    assert_eq!(
        ok(store.forks(0, 1).await, "forks(0, 1)"),
        vec![first.clone()]
    );
    assert!(ok(store.forks(2, 10).await, "forks(2)").is_empty());
    assert!(ok(store.forks(0, 0).await, "forks(0, 0)").is_empty());

    // Another handle sees them; a restart keeps them, and idempotence holds after it.
    let other_handle = harness.open().await;
    assert_eq!(ok(other_handle.forks(0, 10).await, "forks").len(), 2);
    drop(other_handle);
    drop(store);
    harness.restart().await;
    let store = harness.open().await;
    assert_eq!(
        ok(store.forks(0, 10).await, "forks after a restart"),
        vec![first.clone(), second]
    );
    assert!(!ok(
        store.record_fork(&first).await,
        "record_fork after a restart"
    ));
    assert_eq!(ok(store.forks(0, 10).await, "forks").len(), 2);
}

/// A checkpoint note of `size` over a root made of `root` bytes, with the given signature
/// lines (the store checks the shape and the size line, not the signatures).
fn checkpoint_note(size: u64, root: char, signers: &[&str]) -> String {
    let mut note = format!(
        "conformance.example/ledger\n{size}\n{}=\n\n",
        root.to_string().repeat(43)
    );
    for s in signers {
        note.push_str(&format!("\u{2014} {s} c2lnbmF0dXJlIG9mIHtzfQ==\n"));
    }
    note
}

/// The checkpoint history: entries in increasing size, one per size; a smaller size is
/// refused (typed), another body at the latest size is refused (typed), the same body again
/// adds the signature lines the stored note lacks (cosignatures), a note that is not of its
/// size is refused; refusals change nothing; the history is shared by handles and survives a
/// restart.
pub async fn checkpoint_history_only_grows<H: Harness>(mut harness: H) {
    let store = harness.open().await;
    assert_eq!(ok(store.latest_checkpoint().await, "latest"), None);
    assert!(ok(store.checkpoints(0, 10).await, "checkpoints").is_empty());

    let empty = checkpoint_note(0, 'A', &["ledger"]);
    ok(store.add_checkpoint(0, &empty).await, "add size 0");
    let three = checkpoint_note(3, 'B', &["ledger"]);
    ok(store.add_checkpoint(3, &three).await, "add size 3");
    let entry = |size, note: &str| StoredCheckpoint {
        size,
        note: note.to_string(),
    };
    assert_eq!(
        ok(store.latest_checkpoint().await, "latest"),
        Some(entry(3, &three))
    );
    // The same checkpoint again, with cosignatures: they are added once, in order.
    ok(
        store
            .add_checkpoint(3, &checkpoint_note(3, 'B', &["ledger", "witness-a"]))
            .await,
        "add size 3 cosigned by a",
    );
    ok(
        store
            .add_checkpoint(
                3,
                &checkpoint_note(3, 'B', &["witness-b", "ledger", "witness-a"]),
            )
            .await,
        "add size 3 cosigned by b",
    );
    let cosigned = checkpoint_note(3, 'B', &["ledger", "witness-a", "witness-b"]);
    assert_eq!(
        ok(store.latest_checkpoint().await, "latest"),
        Some(entry(3, &cosigned))
    );
    // The very same note again is an idempotent success.
    ok(
        store.add_checkpoint(3, &cosigned).await,
        "add the same note",
    );

    // Refusals, each naming why, changing nothing.
    match store
        .add_checkpoint(2, &checkpoint_note(2, 'C', &["ledger"]))
        .await
    {
        Err(StoreError::CheckpointBehind { size: 2, latest: 3 }) => {}
        other => panic!("a smaller checkpoint must be refused as behind: {other:?}"),
    }
    match store.add_checkpoint(0, &empty).await {
        Err(StoreError::CheckpointBehind { size: 0, latest: 3 }) => {}
        other => panic!("an older checkpoint again must be refused as behind: {other:?}"),
    }
    match store
        .add_checkpoint(3, &checkpoint_note(3, 'D', &["ledger"]))
        .await
    {
        Err(StoreError::CheckpointConflict { size: 3 }) => {}
        other => panic!("another checkpoint of size 3 must be refused: {other:?}"),
    }
    match store
        .add_checkpoint(5, &checkpoint_note(4, 'E', &["ledger"]))
        .await
    {
        Err(StoreError::Backend(m)) => assert!(m.contains("tree size"), "{m}"),
        other => panic!("a note of another size must be refused: {other:?}"),
    }
    match store.add_checkpoint(5, "not a note").await {
        Err(StoreError::Backend(m)) => assert!(m.contains("size 5"), "{m}"),
        other => panic!("a text that is not a note must be refused: {other:?}"),
    }
    let history = vec![entry(0, &empty), entry(3, &cosigned)];
    assert_eq!(ok(store.checkpoints(0, 10).await, "checkpoints"), history);

    let seven = checkpoint_note(7, 'F', &["ledger"]);
    ok(store.add_checkpoint(7, &seven).await, "add size 7");
    let history = vec![entry(0, &empty), entry(3, &cosigned), entry(7, &seven)];
    assert_eq!(ok(store.checkpoints(0, 10).await, "checkpoints"), history);
    assert_eq!(
        ok(store.checkpoints(1, 10).await, "checkpoints(1)"),
        history[1..].to_vec()
    );
    assert_eq!(
        ok(store.checkpoints(3, 1).await, "checkpoints(3, 1)"),
        vec![entry(3, &cosigned)]
    );
    assert_eq!(
        ok(store.checkpoints(0, 2).await, "checkpoints(0, 2)"),
        history[..2].to_vec()
    );
    assert_eq!(
        ok(store.checkpoints(7, 10).await, "checkpoints(7)"),
        history[2..].to_vec()
    );
    assert!(ok(store.checkpoints(8, 10).await, "checkpoints(8)").is_empty());
    assert!(ok(store.checkpoints(0, 0).await, "checkpoints(0, 0)").is_empty());

    // Another handle sees the history and is held to it.
    let other = harness.open().await;
    assert_eq!(ok(other.checkpoints(0, 10).await, "checkpoints"), history);
    match other.add_checkpoint(3, &cosigned).await {
        Err(StoreError::CheckpointBehind { size: 3, latest: 7 }) => {}
        other => panic!("behind through another handle: {other:?}"),
    }
    drop(other);
    drop(store);
    harness.restart().await;
    let store = harness.open().await;
    assert_eq!(
        ok(
            store.checkpoints(0, 10).await,
            "checkpoints after a restart"
        ),
        history
    );
    assert_eq!(
        ok(store.latest_checkpoint().await, "latest after a restart"),
        Some(entry(7, &seven))
    );
}
