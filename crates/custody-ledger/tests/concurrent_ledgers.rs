//! Several `Ledger`s, each on its own JetStream connection, write ONE chain of a real
//! nats-server at once, as several gateways would. Nothing in one process serialises them:
//! only the server's expected-sequence check stands between them and a fork. Afterwards the
//! chain has exactly one record per seq, every acknowledged record is in it, and the whole
//! ledger verifies on replay.

mod common;

use std::sync::Arc;
use std::time::Duration;

use custody_core::ids::{detainee_chain_id, AUTHORITY_CHAIN};
use custody_core::validate::ValidatorConfig;
use custody_core::{Draft, EventKind, Record, Timestamp};
use custody_ledger::{AppendError, Ledger};
use custody_scenario::{build, ScenarioConfig};
use custody_store::{AppendOutcome, LedgerStore, StoreError};
use custody_store_nats::{JetStreamStore, StoreOptions};
use custody_testkit::NatsServer;

const LEDGERS: usize = 4;
const EACH: usize = 12;

async fn connect(url: &str) -> Arc<dyn LedgerStore> {
    let options = StoreOptions {
        request_timeout: Duration::from_secs(5),
        ..StoreOptions::default()
    };
    Arc::new(JetStreamStore::connect_with(url, options).await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledgers_on_separate_connections_never_fork_a_chain() {
    let s = build(&ScenarioConfig {
        seed: 3,
        detainees: 2,
    })
    .unwrap();
    let server = NatsServer::start().expect("nats-server");
    let url = server.url();

    // The ledger, its authority chain, and the arrest that opens the chain they all extend.
    let first = connect(&url).await;
    common::init_primary(&s, first.clone()).await;
    let setup = Ledger::open(first.clone(), ValidatorConfig::default())
        .await
        .unwrap();
    let authority: Vec<&Record> = s
        .records
        .iter()
        .filter(|r| r.header.chain == AUTHORITY_CHAIN)
        .collect();
    let latest = s.records.iter().map(|r| r.header.recorded_at.clone()).max();
    let now = latest.unwrap().plus_seconds(86_400);
    for r in &authority {
        setup.append(r, &now).await.unwrap();
    }
    let arrest = s
        .records
        .iter()
        .find(|r| r.header.kind == EventKind::Arrest)
        .unwrap();
    let officer = s
        .actors
        .iter()
        .find(|a| a.key.public() == arrest.header.signer)
        .unwrap()
        .clone();
    let chain = detainee_chain_id(0x0192_0000_0000_0000_0000_0000_0000_7777);
    let maker = Maker {
        ledger: s.name.clone(),
        chain: chain.clone(),
        agency: officer.agency.to_string(),
        key: officer.key.clone(),
        start: arrest.header.recorded_at.clone(),
        arrest_body: arrest.payload.as_ref().unwrap().body.clone(),
    };
    let opening = maker.event(0, None, "arrest");
    setup.append(&opening, &now).await.unwrap();
    let before = first.size().await.unwrap();
    drop(setup);

    // One connection and one Ledger per writer, each opened (replayed) before any writes.
    let mut ledgers = Vec::new();
    for _ in 0..LEDGERS {
        let store = connect(&url).await;
        ledgers.push(Arc::new(
            Ledger::open(store, ValidatorConfig::default())
                .await
                .unwrap(),
        ));
    }
    // Deterministically first: two ledgers that both know the arrest as head extend it. The
    // second one's state does not know of the first one's record, so it passes validation
    // there; only the server's expected-sequence check can refuse it, and it must.
    let head0 = Some(opening.hash);
    let by_first = maker.event(1, head0, "first-ledger");
    let by_second = maker.event(1, head0, "second-ledger");
    assert!(matches!(
        ledgers[0].append(&by_first, &now).await.unwrap(),
        AppendOutcome::Appended { .. }
    ));
    match ledgers[1].append(&by_second, &now).await {
        Err(AppendError::Conflict(conflict)) => {
            // The store refused it; the ledger caught up and decided again: its seq is taken.
            assert_eq!(conflict.rule(), custody_core::Rule::Seq);
            assert_eq!(
                conflict.head.map(|h| h.hash),
                Some(by_first.hash),
                "told the real head"
            )
        }
        other => panic!("a second record at seq 1 from another connection: {other:?}"),
    }
    assert!(first.event(&by_second.hash).await.unwrap().is_none());
    let before = before + 1;

    let mut tasks = Vec::new();
    for (w, ledger) in ledgers.iter().enumerate() {
        let ledger = Arc::clone(ledger);
        let now = now.clone();
        let maker = maker.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut conflicts = 0usize;
            let mut attempt = 0usize;
            while acked.len() < EACH {
                attempt += 1;
                assert!(attempt < 5_000, "writer {w} made no progress");
                let head = ledger.head(&maker.chain).await;
                let (seq, prev) = match head {
                    Some(h) => (h.seq + 1, Some(h.hash)),
                    None => panic!("writer {w}: the chain has no head"),
                };
                let record = maker.event(seq, prev, &format!("w{w}-a{attempt}"));
                match ledger.append(&record, &now).await {
                    Ok(AppendOutcome::Appended { position }) => acked.push((position, record)),
                    Ok(other) => panic!("writer {w}: a new record answered {other:?}"),
                    Err(AppendError::Conflict(_)) => {
                        // Another ledger was first: learn what it wrote and build on it.
                        conflicts += 1;
                        ledger.catch_up().await.unwrap();
                    }
                    Err(AppendError::Store(StoreError::Unavailable(_))) => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        ledger.catch_up().await.unwrap();
                    }
                    Err(e) => panic!("writer {w}: {e}"),
                }
            }
            (acked, conflicts)
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let conflicts: usize = results.iter().map(|r| r.1).sum();
    eprintln!(
        "{LEDGERS} ledgers, {} appends, {conflicts} conflicts",
        LEDGERS * EACH
    );

    // Read back through a fresh connection: one record per seq, each linked to the one before.
    let reader = connect(&url).await;
    let stored = reader.chain(&chain).await.unwrap();
    assert_eq!(
        stored.len(),
        2 + LEDGERS * EACH,
        "the chain holds every append once"
    );
    for (i, ev) in stored.iter().enumerate() {
        assert_eq!(ev.record.header.seq, i as u64, "exactly one record per seq");
        let prev = i.checked_sub(1).map(|p| stored[p].record.hash);
        assert_eq!(
            ev.record.header.prev,
            prev,
            "seq {i} links to seq {} (no fork)",
            i.max(1) - 1
        );
    }
    assert_eq!(
        reader.size().await.unwrap(),
        before + (LEDGERS * EACH) as u64,
        "nothing else was stored"
    );
    for (w, (acked, _)) in results.iter().enumerate() {
        for (position, record) in acked {
            let ev = reader.event(&record.hash).await.unwrap();
            let ev = ev.unwrap_or_else(|| panic!("writer {w}: acknowledged record missing"));
            assert_eq!(ev.position, *position, "writer {w}: acknowledged position");
        }
    }
    // The whole ledger validates on replay, and a fresh ledger knows the last record as head.
    let replayed = Ledger::open(reader, ValidatorConfig::default())
        .await
        .unwrap();
    assert_eq!(
        replayed.head(&chain).await.map(|h| h.hash),
        stored.last().map(|e| e.record.hash)
    );
    for ledger in &ledgers {
        ledger.catch_up().await.unwrap();
        assert_eq!(
            ledger.head(&chain).await.map(|h| h.hash),
            stored.last().map(|e| e.record.hash)
        );
    }
}

/// Makes the records of the test chain: an arrest (the scenario's body), then evidence.
#[derive(Clone)]
struct Maker {
    ledger: String,
    chain: String,
    agency: String,
    key: custody_core::SecretKey,
    start: Timestamp,
    arrest_body: serde_json::Value,
}

impl Maker {
    fn event(&self, seq: u64, prev: Option<custody_core::Hash>, tag: &str) -> Record {
        let at = self.start.plus_seconds(i64::try_from(seq).unwrap());
        let (kind, body) = if seq == 0 {
            (EventKind::Arrest, self.arrest_body.clone())
        } else {
            (
                EventKind::EvidenceAdded,
                serde_json::json!({
                    "content_digest": custody_core::Hash::of(tag.as_bytes()).to_hex(),
                    "size_bytes": 1000 + seq,
                    "media_type": "image/jpeg",
                    "label": format!("Photograph {tag}"),
                    "provenance": "taken at the post"
                }),
            )
        };
        Draft {
            ledger: self.ledger.clone(),
            chain: self.chain.clone(),
            seq,
            prev,
            kind,
            occurred_at: at.clone(),
            recorded_at: at,
            agency: self.agency.clone(),
            body,
        }
        .sign(&self.key, custody_core::Hash::of(tag.as_bytes()).as_bytes())
    }
}
