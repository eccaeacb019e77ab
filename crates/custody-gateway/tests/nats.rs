//! The gateway over the NATS JetStream backend, against a real nats-server.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use custody_store_nats::{JetStreamStore, StoreOptions, CHAIN_SUBJECT_PREFIX};
use custody_testkit::NatsServer;
use reqwest::StatusCode;

#[tokio::test]
async fn appends_reads_and_unavailability_over_jetstream() {
    let mut server = NatsServer::start().expect("nats-server must be installed for this test");
    // A short request timeout keeps the store-down part of the test quick.
    let options = StoreOptions {
        request_timeout: Duration::from_secs(1),
        ..StoreOptions::default()
    };
    let store = JetStreamStore::connect_with(&server.url(), options)
        .await
        .unwrap();
    let keys = Keys::new();
    let ledger = ledger_with_authority(Arc::new(store), &keys).await;
    let gw = Gateway::start(ledger).await;

    let chain = detainee_in_prison(&keys, chain_id(30));
    let mut positions = Vec::new();
    for r in &chain.records {
        positions.push(gw.append_ok(r).await);
    }
    let authority = authority_records(&keys).len() as u64;
    assert_eq!(positions, (authority..authority + 4).collect::<Vec<_>>());

    // Idempotent retry.
    let (status, body) = gw.post(&chain.records[1]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["duplicate"], true);
    assert_eq!(body["position"], positions[1]);

    // A stale record is a conflict with the head, and nothing is stored.
    let mut fork = ChainBuilder::new(chain.records[0].header.chain.clone());
    fork.records = vec![chain.records[0].clone()];
    let stale = fork.draft(
        &keys.officer,
        GENDARMERIE,
        custody_core::EventKind::CustodyReleased,
        released_body(PRISON, MCA),
    );
    let (status, body) = gw.post(&stale).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["head"]["seq"], 3);
    assert_eq!(gw.snapshot(&fork.chain).await.0, authority + 4);

    // Reads with permissions and the access log.
    let path = format!("/v1/chains/{}", fork.chain);
    let (status, body) = gw.get_signed(&keys.prosecutor, &path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let withheld: Vec<bool> = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["payload_withheld"].as_bool().unwrap())
        .collect();
    assert_eq!(withheld, vec![false, false, false, true]);
    let log = gw.ledger.store().access_log(0, 100).await.unwrap();
    assert_eq!(log.len(), 4);
    assert_eq!(log.iter().filter(|e| !e.allowed).count(), 1);

    let (status, _) = gw.get_text("/healthz").await;
    assert_eq!(status, StatusCode::OK);

    // The server dies: appends and health answer 503 with Retry-After, promptly.
    server.kill();
    let next = {
        let mut c = ChainBuilder::new(chain_id(31));
        c.next(
            &keys.officer,
            GENDARMERIE,
            custody_core::EventKind::Arrest,
            arrest_body(),
        )
    };
    let (append, health) = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::join!(
            gw.post_bytes(next.to_json_line().into_bytes()),
            gw.get_text("/healthz")
        )
    })
    .await
    .expect("the gateway must answer with the store down");
    let (status, headers, body) = append;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(headers.get("retry-after").is_some());
    assert_eq!(body["error"]["rule"], "unavailable");
    assert_eq!(health.0, StatusCode::SERVICE_UNAVAILABLE, "{}", health.1);

    // It comes back: the same append then succeeds.
    server.restart().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = gw.post(&next).await;
        if status == StatusCode::CREATED {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(
            std::time::Instant::now() < deadline,
            "store never came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    gw.stop().await;
}

/// Two gateways on one JetStream ledger: while one appends handovers on many chains from
/// several tasks (each append writes its payload entry and its ledger message in parallel),
/// the other catches up continuously. Its state must hold what the payloads say (the agency a
/// release names), so that it accepts each chain's next record: a catch-up that replayed the
/// records without their payloads would refuse them. (The store's own tests force the case of
/// a record read before its entry arrives.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_gateway_follows_appends_in_flight_with_their_payloads() {
    const CHAINS: u8 = 24;
    let server = NatsServer::start().expect("nats-server must be installed for this test");
    let keys = Keys::new();
    let a_store = JetStreamStore::connect(&server.url()).await.unwrap();
    let a = ledger_with_authority(Arc::new(a_store), &keys).await;
    let b_store = JetStreamStore::connect(&server.url()).await.unwrap();
    let b = Arc::new(
        custody_ledger::Ledger::open(Arc::new(b_store), config())
            .await
            .unwrap(),
    );

    let chains: Vec<ChainBuilder> = (0..CHAINS)
        .map(|n| detainee_in_prison(&keys, chain_id(100 + n)))
        .collect();
    let following = {
        let b = b.clone();
        tokio::spawn(async move {
            loop {
                b.catch_up().await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    let now = custody_gateway::auth::system_now();
    let mut writers = Vec::new();
    for part in chains.chunks(usize::from(CHAINS) / 4) {
        // Arrest and release (naming the prison) of each chain, through `a`.
        let records: Vec<_> = part.iter().flat_map(|c| c.records[..2].to_vec()).collect();
        let (a, now) = (a.clone(), now.clone());
        writers.push(tokio::spawn(async move {
            for r in &records {
                a.append(r, &now).await.unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    following.abort();
    b.catch_up().await.unwrap();

    // `b` accepts every chain's next record: the prison's acceptance of the release.
    for c in &chains {
        b.append(&c.records[2], &now)
            .await
            .unwrap_or_else(|e| panic!("chain {}: {e}", c.chain));
    }
    assert_eq!(
        b.with_state(|v| v.size()).await,
        a.with_state(|v| v.size()).await + u64::from(CHAINS)
    );
}

/// A gateway killed between its two writes leaves a record's header in the stream without its
/// payload entry. The restarted gateway shows the record marked `missing` (by hash and in the
/// chain read, not 404), counts it in `/metrics`, and answers the client's retry as a duplicate
/// (200, not 409 `seq`), which completes the payload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_through_the_gateway_completes_a_payload_whose_entry_was_never_written() {
    let server = NatsServer::start().expect("nats-server must be installed for this test");
    let options = StoreOptions {
        request_timeout: Duration::from_secs(1),
        ..StoreOptions::default()
    };
    let keys = Keys::new();
    let chain = detainee_in_prison(&keys, chain_id(40));
    let (lost, before) = chain.records.split_last().unwrap();
    {
        let store = JetStreamStore::connect_with(&server.url(), options.clone())
            .await
            .unwrap();
        let ledger = ledger_with_authority(Arc::new(store), &keys).await;
        let gw = Gateway::start(ledger).await;
        for r in before {
            gw.append_ok(r).await;
        }
        gw.stop().await;
    }
    // The header alone, published as the store does, with no payload entry.
    let js = async_nats::jetstream::new(async_nats::connect(server.url()).await.unwrap());
    let ack = js
        .send_publish(
            format!("{CHAIN_SUBJECT_PREFIX}{}", lost.header.chain),
            async_nats::jetstream::context::Publish::build()
                .payload(lost.without_payload().to_json_line().into())
                .message_id(lost.hash.to_hex()),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let position = ack.sequence - 1;

    // The gateway restarts on the ledger.
    let store = JetStreamStore::connect_with(&server.url(), options)
        .await
        .unwrap();
    let ledger = Arc::new(
        custody_ledger::Ledger::open(Arc::new(store), config())
            .await
            .unwrap(),
    );
    let gw = Gateway::start(ledger).await;
    let event_path = format!("/v1/events/{}", lost.hash.to_hex());
    let (status, body) = gw.get_signed(&keys.medical, &event_path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["payload_state"], "missing", "{body}");
    assert_eq!(body["position"], position);
    assert!(body["record"].get("payload").is_none(), "{body}");
    let chain_path = format!("/v1/chains/{}", lost.header.chain);
    let (status, body) = gw.get_signed(&keys.medical, &chain_path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let states: Vec<&str> = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["payload_state"].as_str().unwrap())
        .collect();
    assert_eq!(states, vec!["present", "present", "present", "missing"]);
    let (_, metrics) = gw.get_text("/metrics").await;
    assert!(
        metrics.contains("\ncustody_ledger_payloads_missing 1\n"),
        "{metrics}"
    );

    let (status, body) = gw.post(lost).await;
    assert_eq!(status, StatusCode::OK, "the retry is a duplicate: {body}");
    assert_eq!(body["duplicate"], true);
    assert_eq!(body["position"], position);

    let (status, body) = gw.get_signed(&keys.medical, &event_path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["payload_state"], "present", "{body}");
    assert_eq!(
        body["record"]["payload"],
        lost.to_value()["payload"],
        "the payload is the record's"
    );
    let (_, metrics) = gw.get_text("/metrics").await;
    assert!(
        metrics.contains("\ncustody_ledger_payloads_missing 0\n"),
        "{metrics}"
    );
    assert_eq!(gw.snapshot(&lost.header.chain).await.0, position + 1);
    gw.stop().await;
}
