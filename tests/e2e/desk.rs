//! The web desk in a real browser: headless Chromium driven over WebDriver (chromedriver) by
//! `fantoccini`, against `custody serve` on the demo ledger. A court clerk signs in with the
//! link `custody login` prints, reads the alarms and a timeline (each event verified), the
//! figures on screen equal the command line's, the session cookie has its flags, the pages are
//! refused after sign-out; a monitor sees no payload in a timeline. Each page is checked
//! under 100 KB and photographed into the test's directory (and, when it exists, into
//! /work/notes/ as desk-*.png, to look at them).
//!
//! Chromium is `CUSTODY_CHROMIUM` or /usr/bin/chromium, chromedriver `CUSTODY_CHROMEDRIVER`
//! or /usr/bin/chromedriver (`apt-get install chromium chromium-driver`, as scripts/test.sh
//! does); without them this test fails, saying so.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use custody_client::BacklogQuery;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// The largest page accepted, in bytes of HTML.
const MAX_PAGE_BYTES: usize = 100 * 1024;

fn tool(var: &str, default: &str, package: &str) -> String {
    let path = std::env::var(var).unwrap_or_else(|_| default.to_string());
    assert!(
        Path::new(&path).exists(),
        "{path} does not exist: install it (`apt-get install -y {package}`, as scripts/test.sh \
         does) or name it with {var}"
    );
    path
}

/// chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start(dir: &Path) -> Driver {
        let bin = tool(
            "CUSTODY_CHROMEDRIVER",
            "/usr/bin/chromedriver",
            "chromium-driver",
        );
        let port = custody_testkit::free_port().expect("port");
        let log = std::fs::File::create(dir.join("chromedriver.log")).expect("log");
        let mut child = Command::new(bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("chromedriver exited at start ({status})");
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session with a fresh profile in `profile`.
async fn browser(driver: &Driver, profile: &Path) -> Client {
    let chromium = tool("CUSTODY_CHROMIUM", "/usr/bin/chromium", "chromium");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_string(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-dev-shm-usage",
                "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session with headless Chromium")
}

/// The page's HTML, checked under the size limit.
async fn source(c: &Client) -> String {
    let html = c.source().await.expect("page source");
    assert!(
        html.len() < MAX_PAGE_BYTES,
        "{} is {} bytes",
        c.current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default(),
        html.len()
    );
    html
}

/// Screenshot of the page into the test's directory and, when it exists, /work/notes/.
async fn shot(c: &Client, dir: &Path, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(dir.join(format!("desk-{name}.png")), &png).expect("write shot");
    let notes = Path::new("/work/notes");
    if notes.is_dir() {
        let _ = std::fs::write(notes.join(format!("desk-{name}.png")), &png);
    }
}

/// `custody login` with a key: the link it prints.
fn login(w: &World, url: &str, key: &str) -> String {
    let v = w.ok_json(&["login", "--url", url, "--key", key]);
    assert_eq!(v["expires_in"], 120, "{v}");
    let link = v["link"].as_str().expect("link").to_string();
    assert!(
        link.starts_with(&format!("{url}/desk/sign-in?code=")),
        "{link}"
    );
    link
}

/// The number shown by the element matching `css` (French digit groups removed).
async fn figure(c: &Client, css: &str) -> u64 {
    let text = c
        .find(Locator::Css(css))
        .await
        .expect("figure")
        .text()
        .await
        .expect("text");
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| panic!("{css}: {text:?}"))
}

/// Waits until the current URL contains `part` (a navigation after a click or a submit).
async fn wait_for(c: &Client, part: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let url = c.current_url().await.expect("url").to_string();
        if url.contains(part) {
            return;
        }
        assert!(Instant::now() < deadline, "never reached {part}: at {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The texts of the elements matching `css`.
async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.expect("find") {
        out.push(e.text().await.expect("text"));
    }
    out
}

/// Copies a directory tree.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_in_headless_chromium() {
    let w = World::sqlite();
    w.ok(&["demo", "--quiet"]);
    // The gateway reads the rule sets from deploy/policy of its working directory.
    copy_dir(&repo_path("deploy/policy"), &w.path("deploy/policy"));
    let policy = repo_path("deploy/policy").display().to_string();
    let serve = Serve::start(&w, custody_testkit::free_port().expect("port"));
    let shots = w.path("shots");
    std::fs::create_dir_all(&shots).expect("shots dir");
    let driver = Driver::start(w.dir.path());
    let c = browser(&driver, &w.path("profile")).await;

    // Unsigned: every page is the sign-in page explaining `custody login`, in French.
    c.goto(&format!("{}/desk/alarms", serve.url))
        .await
        .expect("goto");
    let html = source(&c).await;
    assert!(html.contains("<html lang=\"fr\">"), "{html}");
    assert!(html.contains("custody login --url"), "{html}");
    assert!(html.contains("Vous n'êtes pas connecté."), "{html}");
    shot(&c, &shots, "sign-in").await;

    // Sign in as the clerk of the judicial pole: the link opens the desk on the backlog.
    let clerk = "demo-keys/pole-clerk.key";
    let link = login(&w, &serve.url, clerk);
    c.goto(&link).await.expect("open the link");
    let url = c.current_url().await.expect("url");
    assert_eq!(url.path(), "/desk/backlog", "{url}");
    assert!(source(&c).await.contains("ml-pole-judiciaire"));

    // The backlog, filtered on the facility holding the most people: the figures on screen
    // are the API's (GET /v1/backlog, signed with the same key).
    let api = custody_client::Client::new(&serve.url)
        .with_key(read_key(&w.path(clerk).display().to_string()));
    let all = api
        .backlog(&BacklogQuery::default())
        .await
        .expect("GET /v1/backlog");
    assert_eq!(
        figure(&c, "[data-total=held]").await,
        all["total"]["held"].as_u64().expect("held"),
        "unfiltered total"
    );
    let facility = all["by_facility"]
        .as_array()
        .expect("by_facility")
        .iter()
        .filter(|g| g["id"].is_string())
        .max_by_key(|g| g["held"].as_u64())
        .and_then(|g| g["id"].as_str())
        .expect("a facility holds people")
        .to_string();
    c.find(Locator::Css("select#facility"))
        .await
        .expect("facility field")
        .select_by_value(&facility)
        .await
        .expect("choose the facility");
    c.form(Locator::Css("form[action=\"/desk/backlog\"]"))
        .await
        .expect("the filter form")
        .submit()
        .await
        .expect("submit");
    wait_for(&c, &format!("facility={facility}")).await;
    let expected = api
        .backlog(&BacklogQuery {
            facility: Some(facility.clone()),
            ..BacklogQuery::default()
        })
        .await
        .expect("GET /v1/backlog?facility=");
    assert!(expected["total"]["held"].as_u64() > Some(0), "{expected}");
    for field in ["held", "pre_trial", "overdue"] {
        assert_eq!(
            Some(figure(&c, &format!("[data-total={field}]")).await),
            expected["total"][field].as_u64(),
            "{field} for {facility}"
        );
    }
    let rows = c
        .find_all(Locator::Css("tr[data-facility]"))
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1, "one facility row when filtered on it");
    assert!(source(&c).await.contains("<svg"), "the ageing chart");
    shot(&c, &shots, "backlog").await;
    // The link works once.
    let c2 = browser(&driver, &w.path("profile-2")).await;
    c2.goto(&link).await.expect("open the link again");
    assert!(source(&c2).await.contains("n'est plus valable"));
    c2.close().await.expect("close");

    // The session cookie's flags.
    let cookies = c.get_all_cookies().await.expect("cookies");
    let session = cookies
        .iter()
        .find(|k| k.name() == "custody_session")
        .expect("the session cookie");
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(
        session.same_site().map(|s| s.to_string()).as_deref(),
        Some("Strict")
    );
    assert_eq!(session.path(), Some("/desk"));
    assert_eq!(session.value().len(), 43, "256 bits in base64url");

    // The alarms: the same as `custody alarms`, each linked to its timeline.
    c.goto(&format!("{}/desk/alarms", serve.url))
        .await
        .expect("alarms");
    let html = source(&c).await;
    let cli = w.ok_json(&[
        "alarms",
        "--as",
        "demo-keys/pole-clerk.key",
        "--policy-dir",
        &policy,
    ]);
    let codes = texts(&c, "tbody tr td:first-child").await;
    let expected: Vec<String> = cli["alarms"]
        .as_array()
        .expect("alarms")
        .iter()
        .map(|a| a["code"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(!expected.is_empty(), "the demo has alarms");
    assert_eq!(codes, expected, "the rows are the CLI's alarms, in order");
    let from_api = api.alarms(None).await.expect("GET /v1/alarms");
    assert_eq!(
        from_api["count"].as_u64(),
        Some(expected.len() as u64),
        "the API's count"
    );
    let count = expected.len().to_string();
    assert!(
        html.contains(&format!("<strong>{count}</strong>")),
        "count {count} shown"
    );
    shot(&c, &shots, "alarms").await;

    // A timeline from the first alarm: every event verified, as many as the chain holds.
    let first = c
        .find(Locator::Css("tbody tr td:first-child a"))
        .await
        .expect("an alarm link");
    let href = first.attr("href").await.expect("href").expect("href");
    let chain = href.trim_start_matches("/desk/chains/").to_string();
    first.click().await.expect("open the timeline");
    wait_for(&c, "/desk/chains/").await;
    let html = source(&c).await;
    let marks = c
        .find_all(Locator::Css("td[data-check]"))
        .await
        .expect("marks");
    let exported = w.ok(&["export", "--chain", &chain]);
    assert_eq!(marks.len(), exported.lines().count(), "one row per record");
    for m in &marks {
        assert_eq!(
            m.attr("data-check").await.expect("attr").as_deref(),
            Some("ok")
        );
        assert_eq!(m.text().await.expect("text"), "✓ vérifié");
    }
    assert!(html.contains("<details>"), "the clerk reads the payloads");
    shot(&c, &shots, "timeline").await;

    // English on request, from the language link.
    c.find(Locator::Css("a[hreflang=en]"))
        .await
        .expect("language link")
        .click()
        .await
        .expect("English");
    wait_for(&c, "lang=en").await;
    let html = source(&c).await;
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("✓ verified"));
    shot(&c, &shots, "timeline-en").await;

    // Sign out: the pages are refused.
    c.find(Locator::Css("header form button"))
        .await
        .expect("sign-out button")
        .click()
        .await
        .expect("sign out");
    wait_for(&c, "/desk/sign-out").await;
    let html = source(&c).await;
    assert!(html.contains("You are signed out."), "{html}");
    c.goto(&format!("{}/desk/chains/{chain}", serve.url))
        .await
        .expect("goto");
    let html = source(&c).await;
    assert!(
        html.contains("Vous n'êtes pas connecté.") && !html.contains("<table>"),
        "{html}"
    );

    // A monitor sees the timeline's headers and marks, no payload.
    let link = login(&w, &serve.url, "demo-keys/cndh-monitor.key");
    c.goto(&link).await.expect("monitor sign-in");
    c.goto(&format!("{}/desk/chains/{chain}", serve.url))
        .await
        .expect("goto");
    let html = source(&c).await;
    assert!(!html.contains("<details>"), "no payload for a monitor");
    assert!(html.contains("réservé"), "{html}");
    shot(&c, &shots, "timeline-monitor").await;

    // Revoking the monitor's key ends its session at the next request.
    let monitor_public = read_key(&w.path("demo-keys/cndh-monitor.key").display().to_string())
        .public()
        .to_string();
    w.ok(&[
        "enroll",
        "revoke",
        "--root-key",
        "demo-keys/root.key",
        "--key",
        &monitor_public,
        "--reason",
        "test: key lost",
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        c.goto(&format!("{}/desk/alarms", serve.url))
            .await
            .expect("goto");
        let html = source(&c).await;
        if html.contains("n'est plus valable (révoquée ou expirée)") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway never saw the revocation"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    c.close().await.expect("close the browser");
    drop(serve);
}
