//! The web desk over HTTP against a real SQLite ledger: sign-in by a signed request and a
//! one-time code, the session cookie, the role-by-view matrix, the timeline's verification
//! marks and payload permissions, the access log, sign-out. (The browser test is
//! tests/e2e/desk.rs.)

mod common;

use common::*;
use custody_client::sign_request;
use custody_core::SecretKey;
use custody_gateway::auth::system_now;
use reqwest::StatusCode;

/// A client that does not follow redirects (the sign-in answers 303 with the cookie).
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `POST /v1/desk/sign-in` signed by `key`: the status and the JSON answer.
async fn ask_code(gw: &Gateway, key: &SecretKey) -> (StatusCode, serde_json::Value) {
    let path = "/v1/desk/sign-in";
    let mut req = gw.client.post(format!("{}{path}", gw.base));
    for (name, value) in sign_request(key, "POST", path, &system_now(), b"") {
        req = req.header(name, value);
    }
    let resp = req.send().await.unwrap();
    (resp.status(), resp.json().await.unwrap())
}

/// Signs `key` in: the session cookie's `name=value`, after checking its flags.
async fn sign_in(gw: &Gateway, key: &SecretKey) -> String {
    let (status, v) = ask_code(gw, key).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["expires_in"], 120);
    let path = v["path"].as_str().unwrap();
    let http = no_redirects();
    let resp = http.get(format!("{}{path}", gw.base)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], "/desk/backlog");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("; HttpOnly"), "{cookie}");
    assert!(cookie.contains("; SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("; Path=/desk"), "{cookie}");
    assert!(cookie.contains("; Max-Age=28800"), "{cookie}");
    // The code is spent.
    let again = http.get(format!("{}{path}", gw.base)).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    assert!(again.text().await.unwrap().contains("n'est plus valable"));
    cookie.split(';').next().unwrap().to_string()
}

/// `GET path` with the session cookie: status and HTML.
async fn page(gw: &Gateway, cookie: Option<&str>, path: &str) -> (StatusCode, String) {
    let mut req = no_redirects().get(format!("{}{path}", gw.base));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(resp.headers()["cache-control"], "no-store");
    (status, resp.text().await.unwrap())
}

#[tokio::test]
async fn sign_in_sessions_matrix_timeline_and_access_log() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let gw = sqlite_gateway(dir.path(), &keys).await;
    let chain = detainee_in_prison(&keys, chain_id(11));
    for r in &chain.records {
        gw.append_ok(r).await;
    }
    let id = chain.records[0].header.chain.clone();
    let timeline = format!("/desk/chains/{id}");

    // Unsigned: the sign-in page, 401, no data.
    let (status, html) = page(&gw, None, &timeline).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html.contains("custody login --url") && !html.contains("<table>"));
    // A sign-in request must be signed by a valid key.
    let (status, _, v) = gw
        .send(reqwest::Method::POST, "/v1/desk/sign-in", None, &[], vec![])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(
        ask_code(&gw, &keys.revoked).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        ask_code(&gw, &keys.stranger).await.0,
        StatusCode::UNAUTHORIZED
    );

    // The prosecutor reads the timeline: every event verified, the justice payloads shown,
    // not the medical screening's; every decision is in the access log.
    let prosecutor = sign_in(&gw, &keys.prosecutor).await;
    let (status, html) = page(&gw, Some(&prosecutor), &timeline).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.starts_with("<!doctype html><html lang=\"fr\">"));
    assert_eq!(
        html.matches("data-check=\"ok\"").count(),
        chain.records.len()
    );
    assert_eq!(html.matches("<details>").count(), chain.records.len() - 1);
    assert_eq!(html.matches("réservé").count(), 1);
    // The situation from the live read model: no judicial decision yet, held by the prison.
    assert!(html.contains("data-legal=\"arrested\""), "{html}");
    assert!(html.contains(MCA), "{html}");
    let log = gw.ledger.store().access_log(0, 1000).await.unwrap();
    let p = keys.prosecutor.public().to_string();
    let mine: Vec<_> = log.iter().filter(|e| e.reader == p).collect();
    assert!(mine.iter().any(|e| e.action == "desk_sign_in"));
    assert!(mine
        .iter()
        .any(|e| e.action == "desk_timeline" && e.target == id && e.allowed));
    let decisions: Vec<bool> = mine
        .iter()
        .filter(|e| e.action == "read_payload")
        .map(|e| e.allowed)
        .collect();
    assert_eq!(decisions, vec![true, true, true, false]);

    // The backlog and its CSV; a filter that cannot be is refused, naming it.
    let (status, html) = page(&gw, Some(&prosecutor), "/desk/backlog").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("data-total=\"held\">1</td>"), "{html}");
    assert!(html.contains("<svg") && html.contains("<select name=\"facility\""));
    let resp = no_redirects()
        .get(format!("{}/desk/backlog.csv?facility={MCA}", gw.base))
        .header("cookie", &prosecutor)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = resp.text().await.unwrap();
    assert!(csv.starts_with(custody_views::backlog::CSV_HEADER), "{csv}");
    let (status, html) = page(&gw, Some(&prosecutor), "/desk/backlog?status=guilty").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("Filtre invalide") && html.contains("guilty"),
        "{html}"
    );
    let log = gw.ledger.store().access_log(0, 1000).await.unwrap();
    assert_eq!(
        log.iter()
            .filter(|e| e.reader == p && e.action == "desk_backlog")
            .count(),
        2,
        "the page and the CSV, not the refused filter"
    );

    // The registrar of the prison holding the person reads the whole file, medical screening
    // included; another prison's registrar may not open it.
    let registrar = sign_in(&gw, &keys.registrar).await;
    let (status, html) = page(&gw, Some(&registrar), &timeline).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("<details>").count(), chain.records.len());
    let other = sign_in(&gw, &keys.other_registrar).await;
    assert_eq!(
        page(&gw, Some(&other), &timeline).await.0,
        StatusCode::FORBIDDEN
    );

    // English on request.
    let (_, html) = page(&gw, Some(&prosecutor), &format!("{timeline}?lang=en")).await;
    assert!(html.starts_with("<!doctype html><html lang=\"en\">"));
    assert!(html.contains("✓ verified"));

    // A monitor sees the marks and no payload.
    let monitor = sign_in(&gw, &keys.monitor).await;
    let (status, html) = page(&gw, Some(&monitor), &timeline).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        html.matches("data-check=\"ok\"").count(),
        chain.records.len()
    );
    assert!(!html.contains("<details>"));

    // A trust root holds no role: every page is refused.
    let root = sign_in(&gw, &keys.root).await;
    let (status, html) = page(&gw, Some(&root), &timeline).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("Accès refusé") && !html.contains("data-check=\""));
    assert_eq!(
        page(&gw, Some(&root), "/desk/alarms").await.0,
        StatusCode::FORBIDDEN
    );

    // An unknown chain is a 404 page; a malformed one too.
    let (status, _) = page(
        &gw,
        Some(&prosecutor),
        &format!("/desk/chains/{}", chain_id(12)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = page(&gw, Some(&prosecutor), "/desk/chains/authority").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Sign-out ends the session.
    let resp = no_redirects()
        .post(format!("{}/desk/sign-out", gw.base))
        .header("cookie", &prosecutor)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let (status, html) = page(&gw, Some(&prosecutor), &timeline).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!html.contains("data-check=\""));
    // The monitor's session is untouched.
    assert_eq!(page(&gw, Some(&monitor), &timeline).await.0, StatusCode::OK);
    gw.stop().await;
}

/// A SQLite store whose access log can be made to fail.
#[derive(Debug)]
struct LogDown {
    inner: custody_store_sqlite::SqliteStore,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

#[async_trait::async_trait]
impl custody_store::LedgerStore for LogDown {
    async fn append(
        &self,
        record: &custody_core::Record,
    ) -> Result<custody_store::AppendOutcome, custody_store::StoreError> {
        self.inner.append(record).await
    }
    async fn chain(
        &self,
        chain: &str,
    ) -> Result<Vec<custody_store::StoredEvent>, custody_store::StoreError> {
        self.inner.chain(chain).await
    }
    async fn read_from(
        &self,
        position: u64,
        limit: usize,
    ) -> Result<Vec<custody_store::StoredEvent>, custody_store::StoreError> {
        self.inner.read_from(position, limit).await
    }
    async fn subscribe(
        &self,
        position: u64,
    ) -> Result<custody_store::EventStream, custody_store::StoreError> {
        self.inner.subscribe(position).await
    }
    async fn head(
        &self,
        chain: &str,
    ) -> Result<Option<custody_core::chain::ChainHead>, custody_store::StoreError> {
        self.inner.head(chain).await
    }
    async fn size(&self) -> Result<u64, custody_store::StoreError> {
        self.inner.size().await
    }
    async fn event(
        &self,
        hash: &custody_core::Hash,
    ) -> Result<Option<custody_store::StoredEvent>, custody_store::StoreError> {
        self.inner.event(hash).await
    }
    async fn remove_payload(
        &self,
        hash: &custody_core::Hash,
    ) -> Result<(), custody_store::StoreError> {
        self.inner.remove_payload(hash).await
    }
    async fn meta(
        &self,
        key: &str,
    ) -> Result<Option<serde_json::Value>, custody_store::StoreError> {
        self.inner.meta(key).await
    }
    async fn set_meta(
        &self,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<(), custody_store::StoreError> {
        self.inner.set_meta(key, value).await
    }
    async fn log_access(
        &self,
        entry: &custody_store::AccessEntry,
    ) -> Result<(), custody_store::StoreError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(custody_store::StoreError::Unavailable(
                "test: the access log is down".to_string(),
            ));
        }
        self.inner.log_access(entry).await
    }
    async fn access_log(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<custody_store::AccessEntry>, custody_store::StoreError> {
        self.inner.access_log(from, limit).await
    }
    async fn record_fork(
        &self,
        alarm: &custody_store::ForkAlarm,
    ) -> Result<bool, custody_store::StoreError> {
        self.inner.record_fork(alarm).await
    }
    async fn forks(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<custody_store::ForkAlarm>, custody_store::StoreError> {
        self.inner.forks(from, limit).await
    }
}

/// A page with personal data is never sent when its access-log entry cannot be written: 503,
/// nothing of the person shown; the same page answers again once the log is back.
#[tokio::test]
async fn no_access_log_no_page() {
    let dir = tempfile::tempdir().unwrap();
    let keys = Keys::new();
    let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let store = LogDown {
        inner: custody_store_sqlite::SqliteStore::open(dir.path().join("ledger.db")).unwrap(),
        down: down.clone(),
    };
    let ledger = ledger_with_authority(std::sync::Arc::new(store), &keys).await;
    let gw = Gateway::start(ledger).await;
    let chain = detainee_in_prison(&keys, chain_id(13));
    for r in &chain.records {
        gw.append_ok(r).await;
    }
    let timeline = format!("/desk/chains/{}", chain.records[0].header.chain);
    let prosecutor = sign_in(&gw, &keys.prosecutor).await;
    assert_eq!(
        page(&gw, Some(&prosecutor), &timeline).await.0,
        StatusCode::OK
    );

    down.store(true, std::sync::atomic::Ordering::SeqCst);
    let code = custody_core::humancode::code_for_chain(&chain.records[0].header.chain);
    for path in [timeline.as_str(), "/desk/backlog"] {
        let (status, html) = page(&gw, Some(&prosecutor), path).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(html.contains("journal des accès"), "{html}");
        assert!(!html.contains("data-check=\"") && !html.contains("<details>"));
        assert!(!html.contains(&code), "{path}");
    }
    let (status, _) = page(&gw, Some(&prosecutor), "/desk/backlog.csv").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    down.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        page(&gw, Some(&prosecutor), &timeline).await.0,
        StatusCode::OK
    );
    gw.stop().await;
}
