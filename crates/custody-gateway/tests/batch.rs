//! Batch appends (`POST /v1/events` as `application/x-ndjson`) and fork reports
//! (`POST /v1/forks`) against a real SQLite ledger, through the client library.

mod common;

use common::*;
use custody_client::{ApiError, BatchItemOutcome, Client, ForkReport};
use custody_core::EventKind;
use reqwest::StatusCode;

/// Mixed valid and invalid lines get one answer each, in order, in the shape of single
/// answers; nothing invalid is stored; records after a refused one of the same chain are
/// answered 409; other chains go on.
#[tokio::test]
async fn mixed_batch_gets_per_line_answers_and_stores_only_the_valid() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let gw = sqlite_gateway(dir.path(), &keys).await;
    let client = Client::new(&gw.base);

    let mut a = ChainBuilder::new(chain_id(11));
    let a0 = a.next(&keys.officer, GENDARMERIE, EventKind::Arrest, arrest_body());
    let a1 = a.next(
        &keys.officer,
        GENDARMERIE,
        EventKind::CustodyReleased,
        released_body(PRISON, MCA),
    );
    // Chain b: its first record is signed by a key that is not enrolled (refused), so its
    // second cannot extend anything.
    let mut b = ChainBuilder::new(chain_id(12));
    let b0 = b.next(
        &keys.stranger,
        GENDARMERIE,
        EventKind::Arrest,
        arrest_body(),
    );
    let b1 = b.next(
        &keys.officer,
        GENDARMERIE,
        EventKind::CustodyReleased,
        released_body(PRISON, MCA),
    );
    let mut c = ChainBuilder::new(chain_id(13));
    let c0 = c.next(&keys.officer, GENDARMERIE, EventKind::Arrest, arrest_body());
    gw.append_ok(&c0).await; // already stored: a duplicate in the batch

    let before = gw.ledger.store().size().await.unwrap();
    let batch = vec![a0.clone(), b0.clone(), a1.clone(), b1.clone(), c0.clone()];
    let answers = client.append_batch(&batch).await.expect("batch answered");
    assert_eq!(answers.len(), 5);
    let stored = |o: &BatchItemOutcome| match o {
        BatchItemOutcome::Stored(s) => Some(s.clone()),
        _ => None,
    };
    let s0 = stored(&answers[0]).expect("a0 stored");
    assert!(!s0.duplicate);
    assert_eq!(s0.hash, a0.hash);
    match &answers[1] {
        BatchItemOutcome::Failed(ApiError::Refused { rule, .. }) => {
            assert_eq!(*rule, custody_core::Rule::UnknownKey)
        }
        other => panic!("b0: {other:?}"),
    }
    assert_eq!(
        stored(&answers[2]).expect("a1 stored").position,
        s0.position + 1
    );
    match &answers[3] {
        BatchItemOutcome::Failed(ApiError::Conflict { head, .. }) => assert_eq!(*head, None),
        other => panic!("b1 must fail on seq/prev behind the refused b0: {other:?}"),
    }
    assert!(stored(&answers[4]).expect("c0 answered").duplicate);

    // Exactly the two new valid records were stored; nothing of chain b.
    assert_eq!(gw.ledger.store().size().await.unwrap(), before + 2);
    assert!(gw.stored_chain(&b.chain).await.is_empty());
    assert_eq!(gw.stored_chain(&a.chain).await.len(), 2);

    // The raw answer: one NDJSON line per record with its line number and status; a line that
    // is not JSON gets a 400 answer of its own and the others go on.
    let mut a2b = ChainBuilder::new(chain_id(14));
    let d0 = a2b.next(&keys.officer, GENDARMERIE, EventKind::Arrest, arrest_body());
    let body = format!("{{not json\n\n{}\n", d0.to_json_line());
    let (status, headers, value) = gw
        .send(
            reqwest::Method::POST,
            "/v1/events",
            Some("application/jsonl"),
            &[],
            body.into_bytes(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/x-ndjson");
    let text = value.as_str().expect("ndjson text").to_string();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["status"], 400);
    assert_eq!(lines[0]["error"]["rule"], "json");
    assert_eq!(lines[1]["line"], 3);
    assert_eq!(lines[1]["status"], 201);
    assert_eq!(lines[1]["hash"], d0.hash.to_hex());

    // The metrics count each record.
    let (_, metrics) = gw.get_text("/metrics").await;
    assert!(
        metrics.contains("custody_gateway_appends_total{outcome=\"invalid\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("custody_ledger_fork_alarms 0\n"),
        "{metrics}"
    );
}

/// A batch over the record or byte limit is 413 and stores nothing, not even its valid head.
#[tokio::test]
async fn oversized_batch_is_413_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let limits = custody_gateway::ServeConfig {
        batch_max_records: 3,
        batch_max_bytes: 64 * 1024,
        ..custody_gateway::ServeConfig::default()
    };
    let gw = sqlite_gateway_with(dir.path(), &keys, limits).await;
    let client = Client::new(&gw.base);
    let records: Vec<_> = (0..4)
        .map(|i| {
            ChainBuilder::new(chain_id(20 + i)).next(
                &keys.officer,
                GENDARMERIE,
                EventKind::Arrest,
                arrest_body(),
            )
        })
        .collect();
    let before = gw.ledger.store().size().await.unwrap();
    match client.append_batch(&records).await {
        Err(ApiError::Other {
            status: 413,
            rule,
            message,
        }) => {
            assert_eq!(rule, custody_core::Rule::BatchSize);
            assert!(message.contains("4 records"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Over the byte limit: the same records, padded with blank lines.
    let mut body = String::new();
    for r in &records[..2] {
        body.push_str(&r.to_json_line());
        body.push('\n');
    }
    body.push_str(&" ".repeat(70 * 1024));
    let (status, _, value) = gw
        .send(
            reqwest::Method::POST,
            "/v1/events",
            Some("application/x-ndjson"),
            &[],
            body.into_bytes(),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{value}");
    assert_eq!(value["error"]["rule"], "batch_size");
    assert_eq!(
        gw.ledger.store().size().await.unwrap(),
        before,
        "nothing stored"
    );
    // Within the limits the same records go in.
    let answers = client.append_batch(&records[..3]).await.unwrap();
    assert!(answers
        .iter()
        .all(|a| matches!(a, BatchItemOutcome::Stored(_))));
    assert_eq!(gw.ledger.store().size().await.unwrap(), before + 3);
}

/// A fork report keeps a validly signed other version (once), refuses a forged one, and the
/// metrics count the alarm; the stored record stays.
#[tokio::test]
async fn fork_reports_keep_valid_other_versions_only() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let gw = sqlite_gateway(dir.path(), &keys).await;
    let client = Client::new(&gw.base);
    let mut c = ChainBuilder::new(chain_id(30));
    let ours = c.next(&keys.officer, GENDARMERIE, EventKind::Arrest, arrest_body());
    gw.append_ok(&ours).await;
    // Another record at the same place, validly signed (another salt: another hash).
    let mut other_builder = ChainBuilder::new(chain_id(30));
    let _ = other_builder.draft(&keys.officer, GENDARMERIE, EventKind::Arrest, arrest_body());
    let theirs = other_builder.draft(&keys.officer, GENDARMERIE, EventKind::Arrest, arrest_body());
    assert_ne!(theirs.hash, ours.hash);
    assert_eq!(theirs.header.seq, 0);

    assert_eq!(
        client.report_fork(&theirs).await.unwrap(),
        ForkReport::Kept {
            stored: ours.hash,
            new: true
        }
    );
    assert_eq!(
        client.report_fork(&theirs).await.unwrap(),
        ForkReport::Kept {
            stored: ours.hash,
            new: false
        },
        "the same other version twice is one alarm"
    );
    assert_eq!(
        client.report_fork(&ours).await.unwrap(),
        ForkReport::SameRecord {
            position: gw.stored_chain(&c.chain).await[0].position
        }
    );
    // A forged version (signed by a key the ledger does not know) is refused, kept nowhere.
    let forged = other_builder.draft(
        &keys.stranger,
        GENDARMERIE,
        EventKind::Arrest,
        arrest_body(),
    );
    match client.report_fork(&forged).await {
        Err(ApiError::Refused { rule, .. }) => assert_eq!(rule, custody_core::Rule::UnknownKey),
        other => panic!("{other:?}"),
    }
    // A version whose signature was altered is refused too.
    let mut altered = theirs.clone();
    altered.signature[0] ^= 1;
    assert!(matches!(
        client.report_fork(&altered).await,
        Err(ApiError::Refused { .. })
    ));

    let alarms = gw.ledger.store().forks(0, 10).await.unwrap();
    assert_eq!(alarms.len(), 1);
    assert_eq!(alarms[0].stored, ours.hash);
    assert_eq!(alarms[0].other, theirs, "kept whole, payload included");
    let stored = gw.stored_chain(&c.chain).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].record.hash, ours.hash,
        "the stored record is untouched"
    );
    let (_, metrics) = gw.get_text("/metrics").await;
    assert!(
        metrics.contains("custody_ledger_fork_alarms 1\n"),
        "{metrics}"
    );
}
