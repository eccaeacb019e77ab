//! `GET /v1/inbox?agency=A` against a real SQLite ledger: the people released to A and not yet
//! accepted, oldest release first, with the hours since release; an acceptance takes the person
//! out; the reader must be authenticated and name a registered agency.

mod common;

use common::*;
use custody_core::{EventKind, Record, Timestamp};
use reqwest::StatusCode;
use serde_json::Value;

/// An arrest by the gendarmerie and a release to the MCA prison, `delay` ten-minute steps
/// later than the earliest possible release.
fn released_to_prison(keys: &Keys, chain: String, delay: usize) -> (ChainBuilder, Record) {
    let mut c = ChainBuilder::new(chain);
    c.next(&keys.officer, GENDARMERIE, EventKind::Arrest, arrest_body());
    for _ in 0..delay {
        // Advances the builder's clock without adding a record.
        c.draft(&keys.officer, GENDARMERIE, EventKind::Arrest, arrest_body());
    }
    let release = c.next(
        &keys.officer,
        GENDARMERIE,
        EventKind::CustodyReleased,
        released_body(PRISON, MCA),
    );
    (c, release)
}

fn waiting(body: &Value) -> Vec<(String, String, i64)> {
    body["waiting"]
        .as_array()
        .unwrap_or_else(|| panic!("no waiting list: {body}"))
        .iter()
        .map(|w| {
            (
                w["chain"].as_str().unwrap().to_string(),
                w["released_at"].as_str().unwrap().to_string(),
                w["hours_since_release"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_inbox_lists_the_unaccepted_oldest_first_and_an_acceptance_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let gw = sqlite_gateway(dir.path(), &keys).await;
    // The later release is on the smaller chain id: the order is by release time.
    let (early, early_release) = released_to_prison(&keys, chain_id(31), 0);
    let (late, _) = released_to_prison(&keys, chain_id(30), 3);
    let accepted = detainee_in_prison(&keys, chain_id(32));
    for r in early
        .records
        .iter()
        .chain(&late.records)
        .chain(&accepted.records)
    {
        gw.append_ok(r).await;
    }
    let path = format!("/v1/inbox?agency={PRISON}");

    let (status, body) = gw.get_signed(&keys.registrar, &path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["agency"], PRISON);
    let list = waiting(&body);
    let chains: Vec<&str> = list.iter().map(|(c, _, _)| c.as_str()).collect();
    assert_eq!(
        chains,
        vec![early.chain.as_str(), late.chain.as_str()],
        "{body}"
    );
    let at = Timestamp::parse(body["at"].as_str().unwrap()).unwrap();
    for (chain, since, hours) in &list {
        let since = Timestamp::parse(since).unwrap();
        assert_eq!(
            *hours,
            (at.unix_seconds() - since.unix_seconds()) / 3600,
            "{chain}: whole hours since release"
        );
    }
    assert_eq!(
        body["waiting"][0]["release_event"],
        early_release.hash.to_hex()
    );
    assert_eq!(body["waiting"][0]["released_by"], GENDARMERIE);
    assert_eq!(
        body["waiting"][0]["code"],
        custody_core::humancode::code_for_chain(&early.chain)
    );
    // Headers only: no name, no payload field.
    assert!(!body.to_string().contains("Test Person"), "{body}");

    // Another prison waits for nobody; a monitor may read the same list.
    let (status, other) = gw
        .get_signed(
            &keys.other_registrar,
            &format!("/v1/inbox?agency={OTHER_PRISON}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{other}");
    assert!(waiting(&other).is_empty());
    let (status, seen) = gw.get_signed(&keys.monitor, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(waiting(&seen).len(), 2);

    // The prison accepts the early one: only the late one is left.
    let mut early = early;
    let acceptance = early.next(
        &keys.registrar,
        PRISON,
        EventKind::CustodyAccepted,
        accepted_body(&early_release.hash, MCA),
    );
    gw.append_ok(&acceptance).await;
    let (_, body) = gw.get_signed(&keys.registrar, &path).await;
    let chains: Vec<String> = waiting(&body).into_iter().map(|(c, _, _)| c).collect();
    assert_eq!(chains, vec![late.chain.clone()]);
}

#[tokio::test]
async fn the_inbox_needs_a_signed_request_and_a_registered_agency() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let gw = sqlite_gateway(dir.path(), &keys).await;
    let (status, _) = gw.get_text(&format!("/v1/inbox?agency={PRISON}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = gw.get_signed(&keys.registrar, "/v1/inbox").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("agency="),
        "{body}"
    );
    let (status, body) = gw
        .get_signed(&keys.registrar, "/v1/inbox?agency=Not%20An%20Id")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = gw
        .get_signed(&keys.registrar, "/v1/inbox?agency=ml-nowhere")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ml-nowhere"),
        "{body}"
    );
}
