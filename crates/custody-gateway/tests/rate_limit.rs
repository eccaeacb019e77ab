//! The rate limit of the gateway API (`ServeConfig::rate_limit`, `custody serve --rate-limit`)
//! on a real SQLite ledger: unsigned requests and appends by client address, signed reads by
//! their verified key, forged signatures by a bucket of their own; 429 with `Retry-After`,
//! nothing stored, `/healthz` and `/metrics` always served, every refusal counted.

mod common;

use common::*;
use custody_client::sign_request;
use custody_gateway::auth::system_now;
use custody_gateway::ServeConfig;
use reqwest::StatusCode;
use serde_json::Value;

/// A signed GET: `signer` signs, the `Custody-Key` header names `named` (a forgery when they
/// differ).
async fn signed_get(
    gw: &Gateway,
    signer: &custody_core::SecretKey,
    named: &custody_core::SecretKey,
    path: &str,
) -> (StatusCode, Option<u64>, Value) {
    let date = system_now();
    let named_key = sign_request(named, "GET", path, &date, b"")
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("custody-key"))
        .map(|(_, v)| v)
        .expect("a Custody-Key header");
    let mut req = gw.client.get(format!("{}{path}", gw.base));
    for (name, value) in sign_request(signer, "GET", path, &date, b"") {
        if name.eq_ignore_ascii_case("custody-key") {
            req = req.header(name, named_key.clone());
        } else {
            req = req.header(name, value);
        }
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let retry = retry_after(resp.headers());
    let text = resp.text().await.unwrap();
    (
        status,
        retry,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

fn metric(text: &str, line_start: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn requests_over_the_rate_are_refused_per_address_and_per_verified_key() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let config = ServeConfig {
        rate_limit: Some("3/min:3".parse().unwrap()),
        ..ServeConfig::default()
    };
    let gw = sqlite_gateway_with(dir.path(), &keys, config).await;
    let (size, _) = gw.snapshot("authority").await;

    // Unsigned requests, by client address: three, then 429.
    for _ in 0..3 {
        let (status, _) = gw.get_text("/v1/checkpoints").await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, headers, body) = gw
        .send(reqwest::Method::GET, "/v1/checkpoints", None, &[], vec![])
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["rule"], "rate_limited", "{body}");
    let retry = retry_after(&headers).expect("Retry-After");
    assert!((1..=20).contains(&retry), "one token every 20 s: {retry}");
    // An append from the same address: refused before it is read, nothing stored.
    let mut chain = ChainBuilder::new(chain_id(1));
    let arrest = chain.draft(
        &keys.officer,
        GENDARMERIE,
        custody_core::EventKind::Arrest,
        arrest_body(),
    );
    let (status, body) = gw.post(&arrest).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(gw.snapshot("authority").await.0, size);
    assert_eq!(gw.ledger.store().size().await.unwrap(), size);
    // Monitoring is never limited.
    let (status, _) = gw.get_text("/healthz").await;
    assert_eq!(status, StatusCode::OK);

    // Signed reads count to their key, not to the exhausted address.
    let path = "/v1/chains/authority";
    for _ in 0..3 {
        let (status, _, body) = signed_get(&gw, &keys.monitor, &keys.monitor, path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, retry, body) = signed_get(&gw, &keys.monitor, &keys.monitor, path).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(retry.is_some());
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("signing key"),
        "{body}"
    );
    // Another key has its own bucket.
    let (status, _, body) = signed_get(&gw, &keys.registrar, &keys.registrar, path).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Forgeries naming the registrar's key fail (401) and do not spend its allowance...
    for _ in 0..2 {
        let (status, _, body) = signed_get(&gw, &keys.stranger, &keys.registrar, path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let (status, _, body) = signed_get(&gw, &keys.registrar, &keys.registrar, path).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the registrar's second read of three: {body}"
    );
    // ... they have a bucket of their own, per address.
    let (status, _, _) = signed_get(&gw, &keys.stranger, &keys.registrar, path).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, body) = signed_get(&gw, &keys.stranger, &keys.registrar, path).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");

    let (status, text) = gw.get_text("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        metric(&text, "custody_gateway_rate_limited_total{by=\"address\"}"),
        3,
        "{text}"
    );
    assert_eq!(
        metric(&text, "custody_gateway_rate_limited_total{by=\"key\"}"),
        1,
        "{text}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn without_a_rate_limit_nothing_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let gw = sqlite_gateway(dir.path(), &keys).await;
    for _ in 0..50 {
        let (status, _) = gw.get_text("/v1/checkpoints").await;
        assert_eq!(status, StatusCode::OK);
    }
    gw.stop().await;
}

#[test]
fn an_unusable_rate_limit_is_refused_with_its_reason() {
    for (text, words) in [
        ("0/s", "requests is 0"),
        ("10/s:0", "burst is 0"),
        ("10/week", "not a rate limit"),
        ("ten/s", "not a rate limit"),
    ] {
        let err = text
            .parse::<custody_gateway::RateLimit>()
            .expect_err(text)
            .to_string();
        assert!(err.contains(words), "{text}: {err}");
    }
    let config = ServeConfig {
        rate_limit: Some(custody_gateway::RateLimit {
            requests: 0,
            per: std::time::Duration::from_secs(1),
            burst: 1,
        }),
        ..ServeConfig::default()
    };
    assert!(config.validate().is_err());
}
