//! The client crate against the gateway: what `custody_client::sign_request` signs,
//! `custody_gateway::auth::verify_request` (the gateway's one verification path) accepts, and
//! `custody_client::Client` gets typed answers from the real gateway over HTTP.

mod common;

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use common::*;
use custody_client::{sign_request, ApiError, Client};
use custody_core::chain::ChainHead;
use custody_core::{AuthRule, EventKind, Role, Rule};
use custody_gateway::auth::{system_now, verify_request, AuthError};
use custody_store_sqlite::SqliteStore;

fn header_map(pairs: Vec<(&'static str, String)>) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in pairs {
        h.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value).unwrap(),
        );
    }
    h
}

#[tokio::test]
async fn what_the_client_signs_the_gateway_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let store = Arc::new(SqliteStore::open(dir.path().join("ledger.db")).unwrap());
    let ledger = ledger_with_authority(store, &keys).await;
    let now = system_now();
    let path = "/v1/chains/authority?x=1";

    let signed = header_map(sign_request(&keys.prosecutor, "GET", path, &now, b""));
    let reader = verify_request(&ledger, &now, &signed, "GET", path, b"")
        .await
        .expect("the client's signature verifies");
    assert_eq!(reader.key, keys.prosecutor.public());
    assert_eq!(reader.agency, PROSECUTOR);
    assert_eq!(reader.roles, vec![Role::Prosecutor]);
    assert!(!reader.trust_root);

    // The same headers for another path, method or body, or too late, do not verify.
    for (method, p, body) in [
        ("GET", "/v1/chains/authority", &b""[..]),
        ("POST", path, &b""[..]),
        ("GET", path, &b"{}"[..]),
    ] {
        assert!(matches!(
            verify_request(&ledger, &now, &signed, method, p, body).await,
            Err(AuthError::BadSignature { .. })
        ));
    }
    assert!(matches!(
        verify_request(&ledger, &now.plus_seconds(301), &signed, "GET", path, b"").await,
        Err(AuthError::DateSkew { .. })
    ));
    // A body is signed too.
    let with_body = header_map(sign_request(
        &keys.monitor,
        "POST",
        path,
        &now,
        b"{\"a\":1}",
    ));
    let reader = verify_request(&ledger, &now, &with_body, "POST", path, b"{\"a\":1}")
        .await
        .expect("a signed body verifies");
    assert_eq!(reader.agency, MONITOR);
    // A good signature by a key the ledger does not know.
    let stranger = header_map(sign_request(&keys.stranger, "GET", path, &now, b""));
    assert_eq!(
        verify_request(&ledger, &now, &stranger, "GET", path, b"").await,
        Err(AuthError::UnknownKey {
            key: keys.stranger.public()
        })
    );
}

#[tokio::test]
async fn the_client_gets_typed_answers_from_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let gw = sqlite_gateway(dir.path(), &keys).await;
    let client = Client::new(&gw.base).with_key(keys.prosecutor.clone());
    let mut c = detainee_in_prison(&keys, chain_id(31));

    // Appends: 201, then a retry is 200 and flagged.
    let mut last = None;
    for (i, r) in c.records.iter().enumerate() {
        let got = client.append(r).await.expect("append");
        assert_eq!(got.hash, r.hash);
        assert!(!got.duplicate, "record {i}");
        last = Some(got);
    }
    let last = last.unwrap();
    let again = client.append(c.head()).await.expect("retry");
    assert_eq!(
        (again.position, again.duplicate),
        (last.position, true),
        "a retry answers the stored position"
    );

    // Signed reads.
    let head = ChainHead {
        seq: c.head().header.seq,
        hash: c.head().hash,
    };
    assert_eq!(client.head(&c.chain).await.unwrap(), Some(head));
    let shown = client.event(&c.head().hash).await.unwrap();
    assert_eq!(shown["position"].as_u64(), Some(last.position));
    let chain = client.chain(&c.chain).await.unwrap();
    assert_eq!(
        chain["records"].as_array().map(Vec::len),
        Some(c.records.len())
    );

    // 409: a record signed against an older head; the answer carries the real head.
    let mut old = ChainBuilder::new(c.chain.clone());
    old.records = c.records[..2].to_vec();
    let forked = old.draft(
        &keys.officer,
        GENDARMERIE,
        EventKind::EvidenceAdded,
        evidence(),
    );
    match client.append(&forked).await {
        Err(ApiError::Conflict { rule, head: h, .. }) => {
            assert_eq!(rule, Rule::Seq);
            assert_eq!(h, Some(head));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // 422: a rule refuses it (a monitor may not record evidence).
    let refused = c.draft(&keys.monitor, MONITOR, EventKind::EvidenceAdded, evidence());
    match client.append(&refused).await {
        Err(e @ ApiError::Refused { .. }) => assert_eq!(e.rule(), Some(Rule::Role)),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // 401 and 404, each with its rule.
    let stranger = Client::new(&gw.base).with_key(keys.stranger.clone());
    match stranger.head(&c.chain).await {
        Err(e @ ApiError::Unauthorized { .. }) => {
            assert_eq!(e.rule(), Some(Rule::Auth(AuthRule::UnknownKey)))
        }
        other => panic!("expected 401, got {other:?}"),
    }
    assert!(matches!(
        client.head(&chain_id(32)).await,
        Err(ApiError::NotFound { .. })
    ));
    // A read without a key is not sent.
    assert!(matches!(
        Client::new(&gw.base).head(&c.chain).await,
        Err(ApiError::NoKey)
    ));
    // Nothing refused was stored.
    assert_eq!(gw.stored_chain(&c.chain).await.len(), c.records.len());
    gw.stop().await;
}

fn evidence() -> serde_json::Value {
    serde_json::json!({
        "content_digest": "8c2931d33eeaeb8ecff5e342151993742d779d31f619ad707013bce06afa2b16",
        "size_bytes": 4831926,
        "media_type": "application/pdf",
        "label": "Extraction report",
        "provenance": "Forensic laboratory"
    })
}
