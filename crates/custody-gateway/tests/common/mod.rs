//! Test support: a small, deterministic world (root, agencies, facilities, keys), a real ledger
//! on a real store, the real gateway served on 127.0.0.1:0, and a reqwest client that signs
//! its reads with `custody_client::sign_request` (the client crate).
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use custody_client::sign_request;
use custody_core::authority::{TrustAnchors, TrustRoot};
use custody_core::validate::ValidatorConfig;
use custody_core::{Draft, EventKind, Hash, Record, SecretKey, Timestamp};
use custody_gateway::auth::system_now;
use custody_ledger::{Ledger, LedgerMeta};
use custody_store::{LedgerStore, StoredEvent};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::oneshot;

pub const ROOT_AGENCY: &str = "ml-ministry-justice";
pub const GENDARMERIE: &str = "ml-gendarmerie-camp1";
pub const PRISON: &str = "ml-prison-mca";
pub const OTHER_PRISON: &str = "ml-prison-koulikoro";
pub const PROSECUTOR: &str = "ml-pole-judiciaire";
pub const MONITOR: &str = "ml-cndh";
pub const CAMP1: &str = "camp1";
pub const MCA: &str = "mca-bamako";
pub const KOULIKORO: &str = "koulikoro";

/// Every key of the world, from fixed seeds.
pub struct Keys {
    pub root: SecretKey,
    /// Gendarmerie: arresting officer and judicial police officer.
    pub officer: SecretKey,
    /// Registrar of the MCA prison.
    pub registrar: SecretKey,
    /// Medical staff of the MCA prison.
    pub medical: SecretKey,
    /// Prosecutor of the judicial pole.
    pub prosecutor: SecretKey,
    /// Monitor of the human rights commission.
    pub monitor: SecretKey,
    /// Registrar of another prison (never holds the test detainees).
    pub other_registrar: SecretKey,
    /// A gendarmerie key revoked from 2024-01-01.
    pub revoked: SecretKey,
    /// A key that is never enrolled.
    pub stranger: SecretKey,
}

impl Keys {
    pub fn new() -> Self {
        let k = |n: u8| SecretKey::from_seed([n; 32]);
        Keys {
            root: k(1),
            officer: k(2),
            registrar: k(3),
            medical: k(4),
            prosecutor: k(5),
            monitor: k(6),
            other_registrar: k(7),
            revoked: k(8),
            stranger: k(9),
        }
    }
}

pub fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// A distinct, deterministic salt per record.
pub fn salt(n: u64) -> Vec<u8> {
    let mut s = vec![0xa5; 16];
    s[..8].copy_from_slice(&n.to_be_bytes());
    s
}

/// The name of the test ledger.
pub const LEDGER_NAME: &str = "test.custody-ledger.example/ml";

pub fn meta(keys: &Keys) -> LedgerMeta {
    LedgerMeta {
        name: LEDGER_NAME.to_string(),
        trust: TrustAnchors {
            ledger: LEDGER_NAME.to_string(),
            roots: vec![TrustRoot {
                key: keys.root.public(),
                agency: ROOT_AGENCY.to_string(),
            }],
        },
        ledger_vkey: "test.custody-ledger.example/ml+00000000+AQ".to_string(),
        role: custody_ledger::LedgerRole::Primary,
    }
}

fn place(description: &str) -> Value {
    json!({"description": description, "region": "Bamako"})
}

/// The authority chain: agencies, facilities, keys, one revocation.
pub fn authority_records(keys: &Keys) -> Vec<Record> {
    let at = ts("2020-01-01T00:00:00Z");
    let mut bodies: Vec<(EventKind, Value)> = Vec::new();
    for (id, name, ty) in [
        (GENDARMERIE, "Gendarmerie, Camp I", "gendarmerie"),
        (PRISON, "Maison centrale d'arret de Bamako", "prison"),
        (OTHER_PRISON, "Prison de Koulikoro", "prison"),
        (PROSECUTOR, "Pole judiciaire specialise", "prosecutor"),
        (
            MONITOR,
            "Commission nationale des droits de l'homme",
            "monitor",
        ),
    ] {
        bodies.push((
            EventKind::AgencyRegistered,
            json!({"id": id, "name": name, "type": ty, "country": "ML"}),
        ));
    }
    for (id, agency, kind) in [
        (CAMP1, GENDARMERIE, "gendarmerie_post"),
        (MCA, PRISON, "prison"),
        (KOULIKORO, OTHER_PRISON, "prison"),
    ] {
        bodies.push((
            EventKind::FacilityRegistered,
            json!({"id": id, "agency": agency, "name": id, "kind": kind, "capacity": 400,
                   "officially_recognised": true, "place": place("main building")}),
        ));
    }
    for (key, agency, roles, badge) in [
        (
            &keys.officer,
            GENDARMERIE,
            json!(["arresting_officer", "judicial_police_officer"]),
            "G-1",
        ),
        (&keys.registrar, PRISON, json!(["registrar"]), "P-1"),
        (&keys.medical, PRISON, json!(["medical"]), "P-2"),
        (&keys.prosecutor, PROSECUTOR, json!(["prosecutor"]), "J-1"),
        (&keys.monitor, MONITOR, json!(["monitor"]), "M-1"),
        (
            &keys.other_registrar,
            OTHER_PRISON,
            json!(["registrar"]),
            "K-1",
        ),
        (
            &keys.revoked,
            GENDARMERIE,
            json!(["arresting_officer", "judicial_police_officer"]),
            "G-2",
        ),
    ] {
        bodies.push((
            EventKind::KeyEnrolled,
            json!({"key": key.public().to_string(), "agency": agency, "roles": roles,
                   "holder_name": format!("Staff {badge}"), "holder_badge": badge,
                   "valid_from": "2020-01-01T00:00:00Z"}),
        ));
    }
    bodies.push((
        EventKind::KeyRevoked,
        json!({"key": keys.revoked.public().to_string(), "reason": "device lost",
               "effective_from": "2024-01-01T00:00:00Z"}),
    ));
    let mut out: Vec<Record> = Vec::new();
    for (i, (kind, body)) in bodies.into_iter().enumerate() {
        let draft = Draft {
            ledger: LEDGER_NAME.to_string(),
            chain: "authority".to_string(),
            seq: i as u64,
            prev: out.last().map(|r| r.hash),
            kind,
            occurred_at: at.clone(),
            recorded_at: at.clone(),
            agency: ROOT_AGENCY.to_string(),
            body,
        };
        out.push(draft.sign(&keys.root, &salt(1000 + i as u64)));
    }
    out
}

/// A detainee chain id from a small number.
pub fn chain_id(n: u8) -> String {
    format!("d-01jd8x3k5q7v9w2y4z6b8c0e{:02}", n % 100)
}

/// Builds the next record of a chain.
pub struct ChainBuilder {
    pub chain: String,
    pub records: Vec<Record>,
    /// Salt counter.
    n: u64,
    /// Minutes after the arrest.
    minute: u64,
}

impl ChainBuilder {
    pub fn new(chain: String) -> Self {
        let n = chain.bytes().map(u64::from).sum::<u64>() * 1000;
        ChainBuilder {
            chain,
            records: Vec::new(),
            n,
            minute: 0,
        }
    }

    /// Signs the next record without adding it to the chain.
    pub fn draft(&mut self, key: &SecretKey, agency: &str, kind: EventKind, body: Value) -> Record {
        self.n += 1;
        self.minute += 10;
        let at = ts("2024-05-01T08:00:00Z").plus_seconds(60 * self.minute as i64);
        Draft {
            ledger: LEDGER_NAME.to_string(),
            chain: self.chain.clone(),
            seq: self.records.len() as u64,
            prev: self.records.last().map(|r| r.hash),
            kind,
            occurred_at: at.clone(),
            recorded_at: at,
            agency: agency.to_string(),
            body,
        }
        .sign(key, &salt(self.n))
    }

    /// Signs the next record and adds it to the chain (the caller appends it).
    pub fn next(&mut self, key: &SecretKey, agency: &str, kind: EventKind, body: Value) -> Record {
        let r = self.draft(key, agency, kind, body);
        self.records.push(r.clone());
        r
    }

    pub fn head(&self) -> &Record {
        self.records.last().unwrap()
    }
}

pub fn arrest_body() -> Value {
    json!({
        "person": {"name": "Test Person", "identity_basis": "self_declared"},
        "place": place("checkpoint on the road to Segou"),
        "arresting_force": GENDARMERIE,
        "officer": {"service_number": "G-1", "rank": "adjudant"},
        "grounds": "flagrant offence",
        "suspected_offence": "association de malfaiteurs",
        "ordering_authority": "procureur du pole judiciaire specialise",
        "visible_injuries": {"present": false},
        "complaints_of_ill_treatment": {"present": false}
    })
}

pub fn released_body(to_agency: &str, to_facility: &str) -> Value {
    json!({
        "to_agency": to_agency,
        "to_facility": to_facility,
        "place": place("Camp I gate"),
        "reason": "placement decision",
        "legal_status": "arrested"
    })
}

pub fn accepted_body(release: &Hash, facility: &str) -> Value {
    json!({
        "release_event": release.to_hex(),
        "facility": facility,
        "condition_on_arrival": {
            "visible_injuries": {"present": false},
            "complaints_of_ill_treatment": {"present": false}
        }
    })
}

pub fn medical_body() -> Value {
    json!({
        "examined_by": "Dr Test",
        "profession": "doctor",
        "consent_given": true,
        "findings": "no acute condition",
        "signs_of_ill_treatment": false,
        "fit_for_detention": true
    })
}

/// arrest (gendarmerie) -> custody_released to the MCA -> custody_accepted (MCA) ->
/// medical_screening (MCA medical staff).
pub fn detainee_in_prison(keys: &Keys, chain: String) -> ChainBuilder {
    let mut c = ChainBuilder::new(chain);
    c.next(&keys.officer, GENDARMERIE, EventKind::Arrest, arrest_body());
    let rel = c.next(
        &keys.officer,
        GENDARMERIE,
        EventKind::CustodyReleased,
        released_body(PRISON, MCA),
    );
    c.next(
        &keys.registrar,
        PRISON,
        EventKind::CustodyAccepted,
        accepted_body(&rel.hash, MCA),
    );
    c.next(
        &keys.medical,
        PRISON,
        EventKind::MedicalScreening,
        medical_body(),
    );
    c
}

pub fn config() -> ValidatorConfig {
    ValidatorConfig {
        require_payload: true,
        ..ValidatorConfig::default()
    }
}

/// Initialises a ledger in a store and appends the authority chain.
pub async fn ledger_with_authority(store: Arc<dyn LedgerStore>, keys: &Keys) -> Arc<Ledger> {
    Ledger::init(store.clone(), meta(keys)).await.unwrap();
    let ledger = Arc::new(Ledger::open(store, config()).await.unwrap());
    let now = system_now();
    for r in authority_records(keys) {
        ledger.append(&r, &now).await.unwrap();
    }
    ledger
}

/// A running gateway.
pub struct Gateway {
    pub base: String,
    pub ledger: Arc<Ledger>,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Gateway {
    pub async fn start(ledger: Arc<Ledger>) -> Self {
        Self::start_with(ledger, custody_gateway::ServeConfig::default()).await
    }

    /// A gateway with its own connection limit and time-outs.
    pub async fn start_with(ledger: Arc<Ledger>, config: custody_gateway::ServeConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(custody_gateway::serve_with(
            ledger.clone(),
            listener,
            config,
            async {
                let _ = rx.await;
            },
        ));
        Gateway {
            base: format!("http://{addr}"),
            ledger,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    /// POST /v1/events with raw bytes.
    pub async fn post_bytes(
        &self,
        body: Vec<u8>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let resp = self
            .client
            .post(format!("{}/v1/events", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, headers, value)
    }

    /// Any request: method, path, Content-Type (none if `None`), extra headers, body.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: Option<&str>,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, headers, value)
    }

    pub async fn post(&self, record: &Record) -> (StatusCode, Value) {
        let (s, _, v) = self.post_bytes(record.to_json_line().into_bytes()).await;
        (s, v)
    }

    /// Appends a record and asserts it was created.
    pub async fn append_ok(&self, record: &Record) -> u64 {
        let (status, body) = self.post(record).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["position"].as_u64().unwrap()
    }

    /// A GET signed by `key` with the given date.
    pub async fn get_signed_at(
        &self,
        key: Option<&SecretKey>,
        path: &str,
        date: &Timestamp,
    ) -> (StatusCode, Value) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(key) = key {
            for (name, value) in sign_request(key, "GET", path, date, b"") {
                req = req.header(name, value);
            }
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get_signed(&self, key: &SecretKey, path: &str) -> (StatusCode, Value) {
        self.get_signed_at(Some(key), path, &system_now()).await
    }

    pub async fn get_text(&self, path: &str) -> (StatusCode, String) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (resp.status(), resp.text().await.unwrap())
    }

    /// Ledger size and a chain's head, as stored.
    pub async fn snapshot(&self, chain: &str) -> (u64, Option<custody_core::chain::ChainHead>) {
        let store = self.ledger.store();
        (
            store.size().await.unwrap(),
            store.head(chain).await.unwrap(),
        )
    }

    pub async fn stored_chain(&self, chain: &str) -> Vec<StoredEvent> {
        self.ledger.store().chain(chain).await.unwrap()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A gateway over a fresh SQLite ledger in `dir`, with the authority chain appended.
pub async fn sqlite_gateway(dir: &Path, keys: &Keys) -> Gateway {
    sqlite_gateway_with(dir, keys, custody_gateway::ServeConfig::default()).await
}

/// [`sqlite_gateway`] with its own connection limit and time-outs.
pub async fn sqlite_gateway_with(
    dir: &Path,
    keys: &Keys,
    config: custody_gateway::ServeConfig,
) -> Gateway {
    let store = custody_store_sqlite::SqliteStore::open(dir.join("ledger.db")).unwrap();
    let ledger = ledger_with_authority(Arc::new(store), keys).await;
    Gateway::start_with(ledger, config).await
}
