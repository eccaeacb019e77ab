//! The gateway's validation state follows appends made by another process on the same store,
//! and is rebuilt from the store on start.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use custody_core::EventKind;
use custody_gateway::auth::system_now;
use custody_ledger::Ledger;
use custody_store_sqlite::SqliteStore;
use reqwest::StatusCode;

async fn metric(gw: &Gateway, name: &str) -> u64 {
    let (_, text) = gw.get_text("/metrics").await;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

#[tokio::test]
async fn appends_by_another_process_reach_the_gateway_state() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let gw = sqlite_gateway(dir.path(), &keys).await;
    let size = metric(&gw, "custody_ledger_size").await;

    // "Another process": its own store handle on the same file, its own ledger.
    let other_store = Arc::new(SqliteStore::open(dir.path().join("ledger.db")).unwrap());
    let other = Ledger::open(other_store, config()).await.unwrap();
    let mut c = ChainBuilder::new(chain_id(20));
    let now = system_now();
    other
        .append(
            &c.next(&keys.officer, GENDARMERIE, EventKind::Arrest, arrest_body()),
            &now,
        )
        .await
        .unwrap();
    other
        .append(
            &c.next(
                &keys.officer,
                GENDARMERIE,
                EventKind::CustodyReleased,
                released_body(PRISON, MCA),
            ),
            &now,
        )
        .await
        .unwrap();

    // The follower catches up without any request to the gateway touching that chain.
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(&gw, "custody_ledger_chains_in_custody_gap").await != 1 {
        assert!(
            Instant::now() < deadline,
            "the gateway never saw the other appends"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(metric(&gw, "custody_ledger_size").await, size + 2);
    let (status, body) = gw
        .get_signed(&keys.monitor, &format!("/v1/chains/{}/head", c.chain))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["custody"]["status"], "gap");

    // And the gateway extends the chain from there.
    let rel = c.head().hash;
    let accept = c.next(
        &keys.registrar,
        PRISON,
        EventKind::CustodyAccepted,
        accepted_body(&rel, MCA),
    );
    gw.append_ok(&accept).await;
    gw.stop().await;
}

#[tokio::test]
async fn a_restarted_gateway_rebuilds_its_state_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let gw = sqlite_gateway(dir.path(), &keys).await;
    let mut c = detainee_in_prison(&keys, chain_id(21));
    for r in &c.records {
        gw.append_ok(r).await;
    }
    gw.stop().await;

    let store = Arc::new(SqliteStore::open(dir.path().join("ledger.db")).unwrap());
    let ledger = Arc::new(Ledger::open(store, config()).await.unwrap());
    let gw = Gateway::start(ledger).await;
    assert_eq!(metric(&gw, "custody_ledger_chains").await, 1);
    // The validator knows the chain: a retry is a duplicate, the next record is accepted.
    let (status, _) = gw.post(&c.records[0]).await;
    assert_eq!(status, StatusCode::OK);
    let visit = c.next(
        &keys.monitor,
        MONITOR,
        EventKind::Visit,
        serde_json::json!({"visitor_type": "monitor", "organisation": "CNDH"}),
    );
    gw.append_ok(&visit).await;
    // The monitor reads the payload of its own agency's visit, and nothing else.
    let (_, body) = gw
        .get_signed(&keys.monitor, &format!("/v1/chains/{}", c.chain))
        .await;
    let shown: Vec<bool> = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["record"].get("payload").is_some())
        .collect();
    assert_eq!(shown, vec![false, false, false, false, true]);
    gw.stop().await;
}
