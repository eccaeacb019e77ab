//! Records are bound to their ledger (issue 7, item 2): a record signed for one ledger is
//! refused by another where the same keys are enrolled, with rule `ledger`, and nothing is
//! stored.

mod common;

use std::sync::Arc;

use common::*;
use custody_core::authority::{TrustAnchors, TrustRoot};
use custody_core::{Draft, EventKind, Record};
use custody_ledger::{Ledger, LedgerMeta};
use reqwest::StatusCode;

const OTHER_LEDGER: &str = "other.custody-ledger.example/ml";

/// The authority chain of `authority_records`, signed again for another ledger.
fn authority_for(keys: &Keys, ledger: &str) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    for (i, r) in authority_records(keys).into_iter().enumerate() {
        let h = &r.header;
        let body = r.payload.as_ref().unwrap().body.clone();
        let signed = Draft {
            ledger: ledger.to_string(),
            chain: h.chain.clone(),
            seq: h.seq,
            prev: out.last().map(|p| p.hash),
            kind: h.kind,
            occurred_at: h.occurred_at.clone(),
            recorded_at: h.recorded_at.clone(),
            agency: h.agency.clone(),
            body,
        }
        .sign(&keys.root, &salt(5000 + i as u64));
        out.push(signed);
    }
    out
}

async fn other_gateway(dir: &std::path::Path, keys: &Keys) -> Gateway {
    let store = Arc::new(custody_store_sqlite::SqliteStore::open(dir.join("other.db")).unwrap());
    let mut meta: LedgerMeta = meta(keys);
    meta.name = OTHER_LEDGER.to_string();
    meta.trust = TrustAnchors {
        ledger: OTHER_LEDGER.to_string(),
        roots: vec![TrustRoot {
            key: keys.root.public(),
            agency: ROOT_AGENCY.to_string(),
        }],
    };
    Ledger::init(store.clone(), meta).await.unwrap();
    let ledger = Arc::new(Ledger::open(store, config()).await.unwrap());
    let now = custody_gateway::auth::system_now();
    for r in authority_for(keys, OTHER_LEDGER) {
        ledger.append(&r, &now).await.unwrap();
    }
    Gateway::start(ledger).await
}

#[tokio::test]
async fn a_record_of_another_ledger_is_refused_with_rule_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let ours = sqlite_gateway(dir.path(), &keys).await;
    let theirs = other_gateway(dir.path(), &keys).await;

    let mut c = ChainBuilder::new(chain_id(7));
    let arrest = c.next(&keys.officer, GENDARMERIE, EventKind::Arrest, arrest_body());
    assert_eq!(arrest.header.ledger, LEDGER_NAME);
    ours.append_ok(&arrest).await;

    let before = theirs.snapshot(&arrest.header.chain).await;
    let (status, body) = theirs.post(&arrest).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["rule"], "ledger", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains(OTHER_LEDGER),
        "{body}"
    );
    assert_eq!(theirs.snapshot(&arrest.header.chain).await, before);
    assert!(theirs.stored_chain(&arrest.header.chain).await.is_empty());

    // The same arrest signed for the other ledger is accepted there.
    let mut again = arrest.header.clone();
    again.ledger = OTHER_LEDGER.to_string();
    let theirs_arrest = Draft {
        ledger: OTHER_LEDGER.to_string(),
        chain: again.chain.clone(),
        seq: 0,
        prev: None,
        kind: EventKind::Arrest,
        occurred_at: again.occurred_at.clone(),
        recorded_at: again.recorded_at.clone(),
        agency: again.agency.clone(),
        body: arrest_body(),
    }
    .sign(&keys.officer, &salt(9999));
    theirs.append_ok(&theirs_arrest).await;
    ours.stop().await;
    theirs.stop().await;
}
