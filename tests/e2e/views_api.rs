//! The view endpoints of `custody serve` over the demo ledger, through the client library: the
//! API's backlog equals `custody_views::backlog` computed from a fresh fold of the same store;
//! the read model follows appends made through the gateway and by another process (the lag in
//! `/metrics` returns to 0); a restart resumes from the cursor of the views file; every view
//! read is written to the access log; a monitor is refused what the matrix refuses.

mod common;

use std::time::Duration;

use common::{read_key, Serve, World};
use custody_client::{ApiError, BacklogQuery, Client, HearingsQuery};
use custody_core::ids::detainee_chain_id;
use custody_core::kinds::EventKind;
use custody_core::{Draft, Record};
use custody_testkit::free_port;
use custody_views::backlog::{backlog, BacklogFilter};
use custody_views::detainee::Projection;
use serde_json::{json, Value};

const POLICY_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/policy");

fn metric(serve: &Serve, name: &str) -> Option<u64> {
    let (status, text) = serve.get("/metrics");
    assert_eq!(status, 200, "{text}");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
}

/// Polls `/metrics` until the read model has folded the whole ledger (lag 0), a bounded number
/// of times; returns the position.
fn wait_caught_up(serve: &Serve, size: u64) -> u64 {
    for _ in 0..400 {
        let lag = metric(serve, "custody_projection_lag_events");
        let position = metric(serve, "custody_projection_position");
        if lag == Some(0) && position == Some(size) {
            return size;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "the read model did not catch up: {:?}",
        serve.get("/metrics").1
    );
}

fn client(serve: &Serve, w: &World, label: &str) -> Client {
    let key = read_key(
        &w.path(&format!("demo-keys/{label}.key"))
            .display()
            .to_string(),
    );
    Client::new(&serve.url).with_key(key)
}

fn access_log(w: &World) -> Vec<Value> {
    let conn = rusqlite::Connection::open(w.path("custody.db")).expect("open ledger");
    let mut stmt = conn
        .prepare("SELECT entry FROM access_log ORDER BY id")
        .expect("prepare");
    let rows = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .expect("query");
    rows.map(|r| serde_json::from_str(&r.expect("row")).expect("entry JSON"))
        .collect()
}

fn fresh_fold(w: &World) -> Projection {
    let records: Vec<Record> = w.export();
    Projection::of_records(records.iter())
}

fn arrest(n: u64, key: &custody_core::SecretKey) -> Record {
    let t = common::now();
    Draft {
        ledger: custody_scenario::LEDGER_NAME.to_string(),
        chain: detainee_chain_id((0x0191_0000_0000u128 << 80) | u128::from(n)),
        seq: 0,
        prev: None,
        kind: EventKind::Arrest,
        occurred_at: t.clone(),
        recorded_at: t,
        agency: "ml-police-gao".to_string(),
        body: arrest_body(),
    }
    .sign(key, &[n as u8; 16])
}

fn arrest_body() -> Value {
    json!({
        "person": {"identity_basis": "unknown", "physical_description": "adult man, about 30"},
        "place": {"description": "market of Gao", "region": "Gao"},
        "arresting_force": "ml-police-gao",
        "officer": {"service_number": "PN-GAO-117"},
        "grounds": "stopped during a search operation",
        "suspected_offence": "association de malfaiteurs (suspected)",
        "ordering_authority": "flagrante delicto",
        "visible_injuries": {"present": false},
        "complaints_of_ill_treatment": {"present": false}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_api_over_the_demo() {
    let w = World::sqlite();
    w.ok(&["demo", "--detainees", "16"]);
    let size = w.size();
    let flags = ["--policy-dir", POLICY_DIR];
    let serve = Serve::start_with(&w, free_port().expect("port"), &flags);
    wait_caught_up(&serve, size);
    assert!(
        w.path("custody.db.views.sqlite").exists(),
        "the default views file"
    );

    // The API's backlog equals the library's over a fresh fold of the same store.
    let clerk = client(&serve, &w, "pole-clerk");
    let at = common::now();
    let query = BacklogQuery {
        at: Some(at.clone()),
        ..BacklogQuery::default()
    };
    let api = clerk.backlog(&query).await.expect("backlog");
    let fold = fresh_fold(&w);
    let expected = backlog(&fold, &at, &BacklogFilter::default());
    assert_eq!(api, expected.to_json());
    assert!(
        api.to_string().contains("pre_trial"),
        "a backlog with pre-trial detainees: {api}"
    );
    let csv = clerk.backlog_csv(&query).await.expect("csv");
    assert_eq!(csv, expected.to_csv());
    // A filter is applied as the library applies it.
    let facility = fold
        .detainees
        .values()
        .find_map(|d| d.current_facility().map(str::to_owned))
        .expect("someone held at a facility");
    let filtered = BacklogQuery {
        facility: Some(facility.clone()),
        at: Some(at.clone()),
        ..BacklogQuery::default()
    };
    let filter = BacklogFilter {
        facility: Some(facility),
        ..BacklogFilter::default()
    };
    assert_eq!(
        clerk.backlog(&filtered).await.expect("filtered"),
        backlog(&fold, &at, &filter).to_json()
    );
    // Bad query values: 400 naming the parameter, and nothing logged as read.
    for (path, name) in [
        ("/v1/backlog?status=guilty", "status"),
        ("/v1/backlog?at=yesterday", "at"),
        ("/v1/backlog?overdue=maybe", "overdue"),
        ("/v1/backlog?format=xml", "format"),
        ("/v1/backlog?colour=red", "colour"),
        ("/v1/hearings?day=2026-13-01", "day"),
    ] {
        match clerk.get(path).await {
            Err(ApiError::Other {
                status: 400,
                message,
                ..
            }) => assert!(message.contains(name), "{path}: {message}"),
            other => panic!("{path}: {other:?}"),
        }
    }

    // Whereabouts, hearings, alarms for the clerk.
    let someone = fold
        .detainees
        .values()
        .find(|d| d.is_open())
        .expect("someone held")
        .clone();
    let where_ = clerk
        .whereabouts(&someone.code, false, None)
        .await
        .expect("whereabouts by code");
    assert!(where_.to_string().contains(&someone.chain), "{where_}");
    clerk
        .hearings(&HearingsQuery::default())
        .await
        .expect("hearings");
    let alarms = clerk.alarms(Some(&at)).await.expect("alarms");
    assert!(alarms["count"].as_u64().expect("count") > 0, "{alarms}");

    // A prison's registrar sees its own agency's people only (need to know): the backlog the
    // library gives for that agency, a part of the clerk's.
    let registrar = client(&serve, &w, "mca-registrar");
    let own = registrar.backlog(&query).await.expect("registrar backlog");
    let narrowed = backlog(
        &fold,
        &at,
        &BacklogFilter {
            agency: Some("ml-mca-bamako".to_string()),
            ..BacklogFilter::default()
        },
    );
    assert_eq!(own, narrowed.to_json());
    assert!(
        narrowed.total.held > 0 && narrowed.total.held < expected.total.held,
        "the registrar's {} of the clerk's {}",
        narrowed.total.held,
        expected.total.held
    );
    // Its alarms too: only about people MCA holds, and fewer than the clerk's.
    let own_alarms = registrar.alarms(Some(&at)).await.expect("registrar alarms");
    let listed = own_alarms["alarms"].as_array().expect("alarms");
    assert!(
        !listed.is_empty(),
        "MCA holds people past their limits: {own_alarms}"
    );
    assert!(
        listed
            .iter()
            .all(|a| fold.concerns_agency(a["chain"].as_str().expect("chain"), "ml-mca-bamako")),
        "{own_alarms}"
    );
    assert!(
        (listed.len() as u64) < alarms["count"].as_u64().expect("count"),
        "{} of {}",
        listed.len(),
        alarms["count"]
    );
    // A monitor reads the backlog and alarms, not a person's whereabouts nor the calendar.
    let monitor = client(&serve, &w, "cndh-monitor");
    monitor.backlog(&query).await.expect("monitor backlog");
    match monitor.whereabouts(&someone.chain, false, None).await {
        Err(ApiError::Forbidden { message }) => assert!(message.contains("view_whereabouts")),
        other => panic!("a monitor read whereabouts: {other:?}"),
    }
    assert!(matches!(
        monitor.hearings(&HearingsQuery::default()).await,
        Err(ApiError::Forbidden { .. })
    ));

    // Every view read, allowed or refused, is in the access log.
    let log = access_log(&w);
    let has = |action: &str, target: &str, allowed: bool| {
        log.iter()
            .any(|e| e["action"] == action && e["target"] == target && e["allowed"] == allowed)
    };
    assert!(has("view_backlog", "backlog", true), "{log:?}");
    assert!(has("view_whereabouts", &someone.chain, true), "{log:?}");
    assert!(has("view_whereabouts", &someone.chain, false), "{log:?}");
    assert!(has("view_hearings", "hearings", false), "{log:?}");
    assert!(has("view_alarms", "alarms", true), "{log:?}");

    // Appends: one through the gateway, one by another process; the read model follows.
    let tablet = read_key(&w.path("demo-keys/police-gao-opj.key").display().to_string());
    let appended = clerk.append(&arrest(1, &tablet)).await.expect("append");
    assert_eq!(appended.position, size);
    let body = w.write("arrest.json", &arrest_body().to_string());
    let key = w.path("demo-keys/police-gao-opj.key").display().to_string();
    w.ok(&[
        "record",
        "arrest",
        "--key",
        &key,
        "--agency",
        "ml-police-gao",
        "--new-chain",
        "--body",
        &body,
    ]);
    let size = size + 2;
    wait_caught_up(&serve, size);
    let at = common::now();
    let query = BacklogQuery {
        at: Some(at.clone()),
        ..BacklogQuery::default()
    };
    assert_eq!(
        clerk.backlog(&query).await.expect("backlog"),
        backlog(&fresh_fold(&w), &at, &BacklogFilter::default()).to_json()
    );

    // A restart resumes from the file's cursor: the position is in the file, and no row is
    // written again (a mark left in a row's indexed column stays).
    serve.kill();
    let conn = rusqlite::Connection::open(w.path("custody.db.views.sqlite")).expect("views file");
    let position: i64 = conn
        .query_row("SELECT position FROM cursor WHERE id = 0", [], |r| r.get(0))
        .expect("cursor");
    assert_eq!(position as u64, size - 1);
    let marked = conn
        .execute(
            "UPDATE detainee SET court = 'mark-left-by-the-test' WHERE chain = ?1",
            [&someone.chain],
        )
        .expect("mark");
    assert_eq!(marked, 1);
    drop(conn);
    let serve = Serve::start_with(&w, free_port().expect("port"), &flags);
    wait_caught_up(&serve, size);
    let conn = rusqlite::Connection::open(w.path("custody.db.views.sqlite")).expect("views file");
    let court: String = conn
        .query_row(
            "SELECT court FROM detainee WHERE chain = ?1",
            [&someone.chain],
            |r| r.get(0),
        )
        .expect("row");
    assert_eq!(
        court, "mark-left-by-the-test",
        "the restart folded the ledger again"
    );
    drop(conn);
    let clerk = client(&serve, &w, "pole-clerk");
    assert_eq!(
        clerk.backlog(&query).await.expect("backlog after restart"),
        backlog(&fresh_fold(&w), &at, &BacklogFilter::default()).to_json()
    );
}
