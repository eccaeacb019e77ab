//! POST /v1/events over HTTP against a real SQLite ledger: status codes, error bodies, nothing
//! stored on refusal, idempotent retries, metrics.

mod common;

use common::*;
use custody_core::{Draft, EventKind, Hash};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// One refused input: what to send, the status and rule expected, and words the message must
/// contain.
struct Case {
    name: &'static str,
    body: Vec<u8>,
    status: StatusCode,
    rule: &'static str,
    message_has: &'static str,
}

/// One refused request that is not a JSON body posted to /v1/events: another method, path,
/// media type or header.
struct HttpCase {
    name: &'static str,
    method: reqwest::Method,
    path: String,
    content_type: Option<&'static str>,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    status: StatusCode,
    rule: &'static str,
    message_has: String,
}

fn mutate(record: &custody_core::Record, f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = record.to_value();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

#[tokio::test]
async fn bad_input_matrix_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    // Short time-outs, so that the slow request below is cut quickly.
    let limits = custody_gateway::ServeConfig {
        header_read_timeout: std::time::Duration::from_secs(1),
        request_timeout: std::time::Duration::from_secs(1),
        ..custody_gateway::ServeConfig::default()
    };
    let gw = sqlite_gateway_with(dir.path(), &keys, limits).await;

    // A chain with two records; every bad input tries to extend it (or to start another).
    let chain = chain_id(1);
    let mut c = ChainBuilder::new(chain.clone());
    let first = c.next(&keys.officer, GENDARMERIE, EventKind::Arrest, arrest_body());
    gw.append_ok(&first).await;
    let second = c.next(
        &keys.officer,
        GENDARMERIE,
        EventKind::CustodyReleased,
        released_body(PRISON, MCA),
    );
    gw.append_ok(&second).await;
    let good_next = c.draft(
        &keys.registrar,
        PRISON,
        EventKind::CustodyAccepted,
        accepted_body(&second.hash, MCA),
    );

    // A new chain signed by someone else.
    let other = chain_id(2);
    let new_chain = |key: &custody_core::SecretKey, agency: &str, kind, body| {
        Draft {
            ledger: common::LEDGER_NAME.to_string(),
            chain: other.clone(),
            seq: 0,
            prev: None,
            kind,
            occurred_at: ts("2024-05-01T08:00:00Z"),
            recorded_at: ts("2024-05-01T08:00:00Z"),
            agency: agency.to_string(),
            body,
        }
        .sign(key, &salt(77))
    };

    let mut bad_sig = good_next.clone();
    bad_sig.signature[10] ^= 0x01;

    let unknown_key = new_chain(
        &keys.stranger,
        GENDARMERIE,
        EventKind::Arrest,
        arrest_body(),
    );
    let revoked = new_chain(&keys.revoked, GENDARMERIE, EventKind::Arrest, arrest_body());
    let wrong_role = new_chain(
        &keys.prosecutor,
        PROSECUTOR,
        EventKind::Arrest,
        arrest_body(),
    );

    let mut fork = ChainBuilder::new(chain.clone());
    fork.records = vec![first.clone()];
    let stale_seq = fork.draft(
        &keys.officer,
        GENDARMERIE,
        EventKind::CustodyReleased,
        released_body(PRISON, MCA),
    );

    // The right seq, signed over a prev that is not the head.
    let wrong_prev = Draft {
        ledger: common::LEDGER_NAME.to_string(),
        chain: chain.clone(),
        seq: 2,
        prev: Some(Hash::of(b"not the head")),
        kind: EventKind::CustodyAccepted,
        occurred_at: ts("2024-05-01T09:00:00Z"),
        recorded_at: ts("2024-05-01T09:00:00Z"),
        agency: PRISON.to_string(),
        body: accepted_body(&second.hash, MCA),
    }
    .sign(&keys.registrar, &salt(5));

    let mut no_grounds = arrest_body();
    no_grounds.as_object_mut().unwrap().remove("grounds");
    let schema = new_chain(&keys.officer, GENDARMERIE, EventKind::Arrest, no_grounds);

    let future = Draft {
        ledger: common::LEDGER_NAME.to_string(),
        chain: other.clone(),
        seq: 0,
        prev: None,
        kind: EventKind::Arrest,
        occurred_at: ts("2024-05-01T08:00:00Z"),
        recorded_at: ts("2099-01-01T00:00:00Z"),
        agency: GENDARMERIE.to_string(),
        body: arrest_body(),
    }
    .sign(&keys.officer, &salt(78));

    let cases = vec![
        Case {
            name: "syntax error",
            body: b"{\"header\": {".to_vec(),
            status: StatusCode::BAD_REQUEST,
            rule: "json",
            message_has: "JSON",
        },
        Case {
            name: "duplicate member name",
            body: br#"{"hash": "a", "hash": "b"}"#.to_vec(),
            status: StatusCode::BAD_REQUEST,
            rule: "json",
            message_has: "JSON",
        },
        Case {
            name: "not an object",
            body: b"[1, 2]".to_vec(),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            rule: "format",
            message_has: "object",
        },
        Case {
            name: "floating point number",
            body: mutate(&good_next, |v| v["header"]["seq"] = json!(2.5)),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            rule: "format",
            message_has: "",
        },
        Case {
            name: "unknown kind",
            body: mutate(&good_next, |v| v["header"]["kind"] = json!("abduction")),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            rule: "format",
            message_has: "/header/kind",
        },
        Case {
            name: "unknown member",
            body: mutate(&good_next, |v| v["extra"] = json!(1)),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            rule: "format",
            message_has: "/extra",
        },
        Case {
            name: "altered header",
            body: mutate(&good_next, |v| {
                v["header"]["occurred_at"] = json!("2024-05-01T08:00:01Z")
            }),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            rule: "hash",
            message_has: "/hash",
        },
        Case {
            name: "wrong signature",
            body: bad_sig.to_json_line().into_bytes(),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            rule: "signature",
            message_has: "/signature does not verify",
        },
        Case {
            name: "unknown key",
            body: unknown_key.to_json_line().into_bytes(),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            rule: "unknown_key",
            message_has: "not an enrolled key",
        },
        Case {
            name: "revoked key",
            body: revoked.to_json_line().into_bytes(),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            rule: "key_revoked",
            message_has: "revoked",
        },
        Case {
            name: "wrong role",
            body: wrong_role.to_json_line().into_bytes(),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            rule: "role",
            message_has: "prosecutor",
        },
        Case {
            name: "schema violation",
            body: schema.to_json_line().into_bytes(),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            rule: "schema",
            message_has: "payload.body",
        },
        Case {
            name: "recorded in the future",
            body: future.to_json_line().into_bytes(),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            rule: "future",
            message_has: "clock",
        },
        Case {
            name: "payload missing",
            body: good_next.without_payload().to_json_line().into_bytes(),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            rule: "payload_missing",
            message_has: "/payload is missing",
        },
        Case {
            name: "state rule: not the receiving agency",
            body: {
                let mut b = ChainBuilder::new(chain.clone());
                b.records = vec![first.clone(), second.clone()];
                b.draft(
                    &keys.other_registrar,
                    OTHER_PRISON,
                    EventKind::CustodyAccepted,
                    accepted_body(&second.hash, KOULIKORO),
                )
                .to_json_line()
                .into_bytes()
            },
            status: StatusCode::UNPROCESSABLE_ENTITY,
            rule: "state/wrong_receiver",
            message_has: "receiving agency",
        },
        Case {
            name: "stale seq",
            body: stale_seq.to_json_line().into_bytes(),
            status: StatusCode::CONFLICT,
            rule: "seq",
            message_has: "/header/seq",
        },
        Case {
            name: "wrong prev",
            body: wrong_prev.to_json_line().into_bytes(),
            status: StatusCode::CONFLICT,
            rule: "prev",
            message_has: "/header/prev",
        },
        Case {
            name: "oversized body",
            body: {
                let pad = "x".repeat(200 * 1024);
                mutate(&good_next, |v| {
                    v["payload"]["body"]["discrepancies"] = json!([pad])
                })
            },
            status: StatusCode::PAYLOAD_TOO_LARGE,
            rule: "body_size",
            message_has: "limit",
        },
    ];

    // Requests refused before they are read as a record, and inputs an error must not echo
    // back whole.
    let valid = good_next.to_json_line().into_bytes();
    let long_agency = mutate(&good_next, |v| {
        v["header"]["agency"] = json!("x".repeat(100_000))
    });
    let http = |name, method, path: &str, content_type, body: &[u8]| HttpCase {
        name,
        method,
        path: path.to_string(),
        content_type,
        headers: Vec::new(),
        body: body.to_vec(),
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        rule: "media_type",
        message_has: String::new(),
    };
    let post = reqwest::Method::POST;
    let now = custody_gateway::auth::system_now();
    let mut long_key =
        custody_client::sign_request(&keys.monitor, "GET", "/v1/chains/authority", &now, b"");
    for (name, value) in &mut long_key {
        if name.eq_ignore_ascii_case("custody-key") {
            *value = format!("ed25519:{}", "A".repeat(100_000));
        }
    }
    let two_to_the_64 = String::from_utf8(valid.clone()).unwrap().replacen(
        "\"seq\":2,",
        "\"seq\":18446744073709551616,",
        1,
    );
    assert!(two_to_the_64.contains("18446744073709551616"));
    let http_cases = vec![
        HttpCase {
            message_has: "text/plain".into(),
            ..http(
                "record as text/plain",
                post.clone(),
                "/v1/events",
                Some("text/plain"),
                &valid,
            )
        },
        HttpCase {
            message_has: "application/x-www-form-urlencoded".into(),
            ..http(
                "record form-encoded",
                post.clone(),
                "/v1/events",
                Some("application/x-www-form-urlencoded"),
                &valid,
            )
        },
        HttpCase {
            message_has: "no Content-Type".into(),
            ..http(
                "record without Content-Type",
                post.clone(),
                "/v1/events",
                None,
                &valid,
            )
        },
        HttpCase {
            message_has: "UTF-8".into(),
            ..http(
                "JSON in another charset",
                post.clone(),
                "/v1/events",
                Some("application/json; charset=iso-8859-1"),
                &valid,
            )
        },
        HttpCase {
            status: StatusCode::METHOD_NOT_ALLOWED,
            rule: "method_not_allowed",
            message_has: "method GET is not allowed on /v1/events: use POST".into(),
            ..http(
                "GET on the append route",
                reqwest::Method::GET,
                "/v1/events",
                None,
                b"",
            )
        },
        HttpCase {
            status: StatusCode::METHOD_NOT_ALLOWED,
            rule: "method_not_allowed",
            message_has: "use GET".into(),
            ..http(
                "DELETE of a chain",
                reqwest::Method::DELETE,
                &format!("/v1/chains/{chain}"),
                None,
                b"",
            )
        },
        HttpCase {
            status: StatusCode::BAD_REQUEST,
            rule: "bad_request",
            message_has: "Invalid UTF-8 in `chain`".into(),
            ..http(
                "path not UTF-8 (a rejection of the router)",
                reqwest::Method::GET,
                "/v1/chains/%FF",
                None,
                b"",
            )
        },
        HttpCase {
            status: StatusCode::NOT_FOUND,
            rule: "not_found",
            message_has: "no route /v1/record".into(),
            ..http(
                "unknown path",
                post.clone(),
                "/v1/record",
                Some("application/json"),
                &valid,
            )
        },
        HttpCase {
            status: StatusCode::NOT_FOUND,
            rule: "not_found",
            message_has: "… (10001 characters)".into(),
            ..http(
                "long unknown path",
                reqwest::Method::GET,
                &format!("/{}", "p".repeat(10_000)),
                None,
                b"",
            )
        },
        HttpCase {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            rule: "format",
            message_has: "…\" (100000 characters) is not an agency id".into(),
            ..http(
                "100 KB header field",
                post.clone(),
                "/v1/events",
                Some("application/json"),
                &long_agency,
            )
        },
        HttpCase {
            status: StatusCode::UNAUTHORIZED,
            rule: "auth/malformed_header",
            message_has: "…\" (100008 characters) is not written as ed25519".into(),
            headers: long_key,
            ..http(
                "100 KB request header",
                reqwest::Method::GET,
                "/v1/chains/authority",
                None,
                b"",
            )
        },
        HttpCase {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            rule: "format",
            message_has: "number 18446744073709551616 at /header/seq is out of range".into(),
            ..http(
                "2^64",
                post.clone(),
                "/v1/events",
                Some("application/json; charset=UTF-8"),
                two_to_the_64.as_bytes(),
            )
        },
    ];

    let before = gw.snapshot(&chain).await;
    let before_other = gw.snapshot(&other).await;
    let state_size = gw.ledger.with_state(|v| v.size()).await;
    let mut requests: Vec<(Case, Option<HttpCase>)> =
        cases.into_iter().map(|c| (c, None)).collect();
    for h in http_cases {
        let case = Case {
            name: h.name,
            body: Vec::new(),
            status: h.status,
            rule: h.rule,
            message_has: "",
        };
        requests.push((case, Some(h)));
    }
    for (case, http_case) in requests {
        let (status, headers, body) = match &http_case {
            None => gw.post_bytes(case.body).await,
            Some(h) => {
                gw.send(
                    h.method.clone(),
                    &h.path,
                    h.content_type,
                    &h.headers,
                    h.body.clone(),
                )
                .await
            }
        };
        assert_eq!(status, case.status, "{}: {body}", case.name);
        assert_eq!(
            headers.get("content-type").unwrap(),
            "application/json",
            "{}",
            case.name
        );
        assert_eq!(body["error"]["rule"], case.rule, "{}: {body}", case.name);
        let message = body["error"]["message"].as_str().unwrap();
        let message_has = http_case
            .as_ref()
            .map_or(case.message_has, |h| &h.message_has);
        assert!(
            message.contains(message_has),
            "{}: message {message:?} lacks {message_has:?}",
            case.name,
        );
        // An error repeats at most a capped part of what was sent.
        assert!(
            message.chars().count() <= custody_gateway::MAX_MESSAGE_CHARS + 50,
            "{}: message of {} characters",
            case.name,
            message.len()
        );
        if status == StatusCode::METHOD_NOT_ALLOWED {
            assert!(headers.get("allow").is_some(), "{}: no Allow", case.name);
        }
        if status == StatusCode::CONFLICT {
            assert_eq!(body["head"]["seq"], 1, "{}: {body}", case.name);
            assert_eq!(body["head"]["hash"], second.hash.to_hex(), "{}", case.name);
        }
        assert_eq!(
            gw.snapshot(&chain).await,
            before,
            "{}: stored something",
            case.name
        );
        assert_eq!(gw.snapshot(&other).await, before_other, "{}", case.name);
        assert_eq!(
            gw.ledger.with_state(|v| v.size()).await,
            state_size,
            "{}",
            case.name
        );
    }

    // A valid record whose body stops half-way: 408 with the JSON error body once the
    // request time-out has passed, the connection closed, nothing stored.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = gw.base.trim_start_matches("http://").to_string();
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let line = good_next.to_json_line();
        let head = format!(
            "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            line.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream
            .write_all(&line.as_bytes()[..line.len() / 2])
            .await
            .unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(30),
            stream.read_to_end(&mut answer),
        )
        .await
        .expect("cut by the request time-out")
        .unwrap();
        let answer = String::from_utf8(answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{head}"
        );
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"]["rule"], "request_timeout", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("did not arrive within 1 s"),
            "{body}"
        );
        assert_eq!(
            gw.snapshot(&chain).await,
            before,
            "slow body stored something"
        );
        assert_eq!(gw.ledger.with_state(|v| v.size()).await, state_size);
    }

    // The good record still goes in after all that.
    let (status, body) = gw.post(&good_next).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    gw.stop().await;
}

#[tokio::test]
async fn retry_of_an_appended_record_is_a_duplicate_at_the_same_position() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let gw = sqlite_gateway(dir.path(), &keys).await;
    let authority_size = gw.snapshot("authority").await.0;

    let mut c = ChainBuilder::new(chain_id(3));
    let arrest = c.next(&keys.officer, GENDARMERIE, EventKind::Arrest, arrest_body());
    let (status, body) = gw.post(&arrest).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["position"], authority_size);
    assert_eq!(body["hash"], arrest.hash.to_hex());
    assert!(body.get("duplicate").is_none());

    for _ in 0..2 {
        let (status, again) = gw.post(&arrest).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(again["position"], body["position"]);
        assert_eq!(again["hash"], body["hash"]);
        assert_eq!(again["duplicate"], true);
    }
    // Also after the chain moved on.
    let next = c.next(
        &keys.officer,
        GENDARMERIE,
        EventKind::CustodyReleased,
        released_body(PRISON, MCA),
    );
    gw.append_ok(&next).await;
    let (status, again) = gw.post(&arrest).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["position"], body["position"]);
    assert_eq!(gw.snapshot(&c.chain).await.0, authority_size + 2);
    assert_eq!(gw.stored_chain(&c.chain).await.len(), 2);
    gw.stop().await;
}

#[tokio::test]
async fn whole_chain_appends_in_order_and_metrics_count_it() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let gw = sqlite_gateway(dir.path(), &keys).await;

    // One person in prison, one left in a custody gap.
    let held = detainee_in_prison(&keys, chain_id(4));
    for r in &held.records {
        gw.append_ok(r).await;
    }
    let mut gap = ChainBuilder::new(chain_id(5));
    gw.append_ok(&gap.next(&keys.officer, GENDARMERIE, EventKind::Arrest, arrest_body()))
        .await;
    gw.append_ok(&gap.next(
        &keys.officer,
        GENDARMERIE,
        EventKind::CustodyReleased,
        released_body(PRISON, MCA),
    ))
    .await;
    // One duplicate, one refusal, one malformed body.
    gw.post(&held.records[0]).await;
    let (status, _) = gw
        .post(&gap.draft(&keys.monitor, MONITOR, EventKind::Arrest, arrest_body()))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    gw.post_bytes(b"not json".to_vec()).await;

    let (status, text) = gw.get_text("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let size = authority_records(&keys).len() + 6;
    for line in [
        "custody_gateway_appends_total{outcome=\"appended\"} 6".to_string(),
        "custody_gateway_appends_total{outcome=\"duplicate\"} 1".to_string(),
        "custody_gateway_appends_total{outcome=\"invalid\"} 1".to_string(),
        "custody_gateway_appends_total{outcome=\"malformed\"} 1".to_string(),
        "custody_gateway_http_requests_total{route=\"/v1/events\",status=\"201\"} 6".to_string(),
        "custody_gateway_http_requests_total{route=\"/v1/events\",status=\"422\"} 1".to_string(),
        format!("custody_ledger_size {size}"),
        "custody_ledger_chains 2".to_string(),
        "custody_ledger_chains_in_custody_gap 1".to_string(),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    let (status, text) = gw.get_text("/healthz").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (status, _) = gw.get_text("/no/such/route").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, text) = gw.get_text("/metrics").await;
    assert!(
        text.contains("custody_gateway_http_requests_total{route=\"unmatched\",status=\"404\"} 1"),
        "{text}"
    );
    gw.stop().await;
}
