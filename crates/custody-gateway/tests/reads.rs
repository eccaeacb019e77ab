//! Signed reads against a real SQLite ledger: authentication, payload permissions, the access
//! log.

mod common;

use common::*;
use custody_client::sign_request;
use custody_core::{EventKind, Record, SecretKey};
use custody_gateway::auth::system_now;
use reqwest::StatusCode;
use serde_json::Value;

/// The payload of each returned record, if shown, by position in the chain.
fn payloads_shown(body: &Value) -> Vec<bool> {
    body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let shown = r["record"].get("payload").is_some();
            assert_eq!(r["payload_withheld"], !shown, "{r}");
            shown
        })
        .collect()
}

async fn setup() -> (tempfile::TempDir, Keys, Gateway, Vec<Record>) {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let gw = sqlite_gateway(dir.path(), &keys).await;
    let chain = detainee_in_prison(&keys, chain_id(10));
    for r in &chain.records {
        gw.append_ok(r).await;
    }
    (dir, keys, gw, chain.records)
}

#[tokio::test]
async fn payloads_follow_roles_and_every_payload_read_is_logged() {
    let (_dir, keys, gw, records) = setup().await;
    let chain = records[0].header.chain.clone();
    let path = format!("/v1/chains/{chain}");
    let screening = &records[3];
    assert_eq!(screening.header.kind, EventKind::MedicalScreening);

    // A monitor sees every header and no payload.
    let (status, body) = gw.get_signed(&keys.monitor, &path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["chain"], chain);
    assert_eq!(
        body["code"],
        custody_core::humancode::code_for_chain(&chain)
    );
    assert_eq!(payloads_shown(&body), vec![false; 4]);
    for (shown, original) in body["records"].as_array().unwrap().iter().zip(&records) {
        // What is shown is the signed record without its payload: it still parses and verifies.
        let r = Record::from_value(&shown["record"]).unwrap();
        assert_eq!(r, original.without_payload());
    }

    // The prosecutor reads the justice records but not the medical screening.
    let (status, body) = gw.get_signed(&keys.prosecutor, &path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(payloads_shown(&body), vec![true, true, true, false]);
    let shown = Record::from_value(&body["records"][0]["record"]).unwrap();
    assert_eq!(&shown, &records[0]);

    // Medical staff and the registrar of the holding prison read it; another prison's
    // registrar does not.
    let (_, body) = gw.get_signed(&keys.medical, &path).await;
    assert_eq!(payloads_shown(&body), vec![true; 4]);
    let (_, body) = gw.get_signed(&keys.registrar, &path).await;
    assert_eq!(payloads_shown(&body), vec![true; 4]);
    let (_, body) = gw.get_signed(&keys.other_registrar, &path).await;
    assert_eq!(payloads_shown(&body), vec![true, true, true, false]);

    // The same decisions by event.
    let event_path = format!("/v1/events/{}", screening.hash);
    for (key, allowed) in [
        (&keys.medical, true),
        (&keys.registrar, true),
        (&keys.prosecutor, false),
        (&keys.monitor, false),
    ] {
        let (status, body) = gw.get_signed(key, &event_path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["position"], gw.snapshot(&chain).await.0 - 1);
        assert_eq!(body["record"].get("payload").is_some(), allowed, "{body}");
        assert_eq!(body["payload_withheld"], !allowed);
        assert_eq!(body["record"]["hash"], screening.hash.to_hex());
    }

    // The access log holds every decision, allowed or refused.
    let log = gw.ledger.store().access_log(0, 1000).await.unwrap();
    let decisions = |key: &SecretKey| -> Vec<bool> {
        log.iter()
            .filter(|e| e.reader == key.public().to_string() && e.target == screening.hash.to_hex())
            .map(|e| {
                assert_eq!(e.action, "read_payload");
                e.allowed
            })
            .collect()
    };
    assert_eq!(decisions(&keys.medical), vec![true, true]);
    assert_eq!(decisions(&keys.registrar), vec![true, true]);
    assert_eq!(decisions(&keys.prosecutor), vec![false, false]);
    assert_eq!(decisions(&keys.monitor), vec![false, false]);
    assert_eq!(decisions(&keys.other_registrar), vec![false]);
    // 6 chain reads of 4 payloads, 4 event reads of 1.
    assert_eq!(log.len(), 6 * 4 - 4 + 4, "{log:#?}");
    let monitor_entry = log
        .iter()
        .find(|e| e.reader == keys.monitor.public().to_string())
        .unwrap();
    assert_eq!(monitor_entry.agency, MONITOR);
    assert!(!monitor_entry.allowed);
    custody_core::Timestamp::parse(&monitor_entry.at).unwrap();
    gw.stop().await;
}

#[tokio::test]
async fn head_and_authority_reads() {
    let (_dir, keys, gw, records) = setup().await;
    let chain = records[0].header.chain.clone();

    let (status, body) = gw
        .get_signed(&keys.monitor, &format!("/v1/chains/{chain}/head"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["head"]["seq"], 3);
    assert_eq!(body["head"]["hash"], records[3].hash.to_hex());
    assert_eq!(body["custody"]["status"], "held");
    assert_eq!(body["custody"]["holder"], PRISON);

    // The authority chain is the public directory: every reader sees its payloads.
    let (status, body) = gw.get_signed(&keys.monitor, "/v1/chains/authority").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["code"].is_null());
    let shown = payloads_shown(&body);
    assert_eq!(shown.len(), authority_records(&keys).len());
    assert!(shown.iter().all(|s| *s));

    // A trust root reads detainee headers only.
    let (status, body) = gw
        .get_signed(&keys.root, &format!("/v1/chains/{chain}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(payloads_shown(&body), vec![false; 4]);

    // Unknown chains and events, malformed ids.
    let (status, body) = gw
        .get_signed(&keys.monitor, &format!("/v1/chains/{}", chain_id(99)))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["rule"], "not_found");
    let (status, _) = gw
        .get_signed(&keys.monitor, &format!("/v1/chains/{}/head", chain_id(99)))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = gw.get_signed(&keys.monitor, "/v1/chains/D-NOPE").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = gw
        .get_signed(&keys.monitor, &format!("/v1/events/{}", "0".repeat(64)))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = gw.get_signed(&keys.monitor, "/v1/events/xyz").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    gw.stop().await;
}

#[tokio::test]
async fn unauthenticated_reads_are_refused_with_the_reason() {
    let (_dir, keys, gw, records) = setup().await;
    let path = format!("/v1/chains/{}", records[0].header.chain);
    let now = system_now();

    let expect_401 = |status: StatusCode, body: &Value, rule: &str, words: &str| {
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"]["rule"], rule, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{message:?} lacks {words:?}");
    };

    let (status, body) = gw.get_signed_at(None, &path, &now).await;
    expect_401(status, &body, "auth/missing_header", "custody-key");

    let (status, body) = gw
        .get_signed_at(Some(&keys.prosecutor), &path, &now.plus_seconds(-600))
        .await;
    expect_401(status, &body, "auth/date", "server clock");

    let (status, body) = gw
        .get_signed_at(Some(&keys.prosecutor), &path, &now.plus_seconds(600))
        .await;
    expect_401(status, &body, "auth/date", "server clock");

    let (status, body) = gw.get_signed(&keys.stranger, &path).await;
    expect_401(status, &body, "auth/unknown_key", "not an enrolled key");

    let (status, body) = gw.get_signed(&keys.revoked, &path).await;
    expect_401(status, &body, "auth/key_revoked", "revoked");

    // A signature over another path does not open this one.
    let mut req = gw.client.get(format!("{}{path}", gw.base));
    for (name, value) in sign_request(&keys.prosecutor, "GET", "/v1/chains/authority", &now, b"") {
        req = req.header(name, value);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers().get("www-authenticate").unwrap(),
        "Custody-Signature"
    );
    let body: Value = resp.json().await.unwrap();
    expect_401(
        StatusCode::UNAUTHORIZED,
        &body,
        "auth/signature",
        "does not verify",
    );

    // A garbled signature header.
    let resp = gw
        .client
        .get(format!("{}{path}", gw.base))
        .header("custody-key", keys.prosecutor.public().to_string())
        .header("custody-date", now.as_str())
        .header("custody-signature", "not-base64!")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // Head and event reads are guarded too.
    let (status, _) = gw.get_signed_at(None, &format!("{path}/head"), &now).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = gw
        .get_signed_at(None, &format!("/v1/events/{}", records[0].hash), &now)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // None of that reached the access log.
    assert!(gw
        .ledger
        .store()
        .access_log(0, 100)
        .await
        .unwrap()
        .is_empty());
    gw.stop().await;
}
