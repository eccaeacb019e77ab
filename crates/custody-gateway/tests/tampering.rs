//! A SQLite ledger file edited behind the gateway's back (the triggers dropped, one index
//! column changed): the gateway answers 500 `internal` naming the position, instead of serving
//! a head of seq 99 or a chain out of order.

mod common;

use common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn a_changed_seq_column_is_an_internal_error_not_a_head() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let gw = sqlite_gateway(dir.path(), &keys).await;
    let records = detainee_in_prison(&keys, chain_id(10)).records;
    for r in &records {
        gw.append_ok(r).await;
    }
    let chain = records[0].header.chain.clone();
    let position = gw.stored_chain(&chain).await[1].position;
    let head_path = format!("/v1/chains/{chain}/head");
    let chain_path = format!("/v1/chains/{chain}");
    let (status, before) = gw.get_signed(&keys.monitor, &head_path).await;
    assert_eq!(status, StatusCode::OK, "{before}");

    let raw = rusqlite::Connection::open(dir.path().join("ledger.db")).unwrap();
    raw.execute_batch("DROP TRIGGER events_no_update;").unwrap();
    raw.execute(
        "UPDATE events SET seq = 99 WHERE position = ?1",
        [i64::try_from(position).unwrap()],
    )
    .unwrap();

    for path in [&head_path, &chain_path] {
        let (status, body) = gw.get_signed(&keys.monitor, path).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}: {body}");
        assert_eq!(body["error"]["rule"], "internal", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("event at position {position}"))
                && message.contains("seq 99"),
            "{message}"
        );
    }

    raw.execute(
        "UPDATE events SET seq = 1 WHERE position = ?1",
        [i64::try_from(position).unwrap()],
    )
    .unwrap();
    let (status, after) = gw.get_signed(&keys.monitor, &head_path).await;
    assert_eq!((status, &after), (StatusCode::OK, &before));
}
