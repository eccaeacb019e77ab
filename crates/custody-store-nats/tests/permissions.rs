//! Each refusal of the shipped access control, against a real nats-server started with
//! `deploy/nats/custody.conf` (its accounts, users, permissions and TLS; ports, paths and
//! certificates adapted by `deploy/mod.rs`): the gateway appends and the monitor audits; the
//! monitor cannot read payloads, see the gateway's replies, or publish; nobody, the gateway
//! included, can delete or purge a stream, delete a record or loosen a stream's
//! configuration; an unknown user, a wrong password and a client without a user are refused;
//! a plaintext client is refused.

mod deploy;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Once;
use std::time::Duration;

use async_nats::jetstream;
use custody_store::conformance::{test_chain, test_records};
use custody_store::{AccessEntry, AppendOutcome, LedgerStore, PayloadState};
use custody_store_nats::{
    inbox_prefix, JetStreamReader, JetStreamStore, StoreOptions, CA_FILE_ENV, LEDGER_STREAM,
    META_BUCKET, PAYLOAD_BUCKET,
};
use deploy::{DeployServer, GATEWAY_PASSWORD, MONITOR_PASSWORD, READER_PASSWORD};
use futures::StreamExt;

/// The CA of the throwaway certificates, for every connection of this binary.
fn trust_test_ca() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| std::env::set_var(CA_FILE_ENV, deploy::certs().ca()));
}

fn start() -> DeployServer {
    trust_test_ca();
    DeployServer::start()
}

/// A raw client as `user`, over TLS, with the user's inbox prefix (as custody-store-nats does).
async fn client(
    server: &DeployServer,
    user: &str,
    password: &str,
) -> Result<async_nats::Client, async_nats::ConnectError> {
    async_nats::ConnectOptions::new()
        .user_and_password(user.to_string(), password.to_string())
        .custom_inbox_prefix(inbox_prefix(user))
        .add_root_certificates(deploy::certs().ca())
        .connection_timeout(Duration::from_secs(5))
        .request_timeout(Some(Duration::from_secs(2)))
        .connect(format!("localhost:{}", server.port()))
        .await
}

async fn js(server: &DeployServer, user: &str, password: &str) -> jetstream::Context {
    let c = client(server, user, password)
        .await
        .unwrap_or_else(|e| panic!("{user} cannot connect: {e}"));
    let mut js = jetstream::new(c);
    js.set_timeout(Duration::from_secs(2));
    js
}

/// The gateway's store on the deploy server, with three records appended and their payloads.
async fn gateway_with_records(
    server: &DeployServer,
) -> (JetStreamStore, Vec<custody_core::Record>) {
    let options = StoreOptions {
        request_timeout: Duration::from_secs(5),
        ..StoreOptions::default()
    };
    let store =
        JetStreamStore::connect_with(&server.url("custody-gateway", GATEWAY_PASSWORD), options)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "the gateway cannot open its store: {e}\n{}",
                    server.log_text()
                )
            });
    let records = test_records(&test_chain(7), None, 3, "deploy");
    for (i, r) in records.iter().enumerate() {
        let outcome = store.append(r).await.expect("the gateway appends");
        assert_eq!(outcome, AppendOutcome::Appended { position: i as u64 });
    }
    (store, records)
}

#[tokio::test]
async fn the_gateway_appends_and_the_monitor_audits_under_the_deploy_config() {
    let server = start();
    let (store, records) = gateway_with_records(&server).await;
    // Metadata and the checkpoint history, as the gateway and its checkpointer write them.
    store
        .set_meta("ledger", &serde_json::json!({ "name": "deploy.test" }))
        .await
        .expect("the gateway writes metadata");
    store
        .add_checkpoint(
            3,
            &format!(
                "deploy.test/ledger\n3\n{}=\n\n\u{2014} ledger c2lnbmF0dXJlIG9mIHtzfQ==\n",
                "A".repeat(43)
            ),
        )
        .await
        .expect("the gateway keeps a checkpoint");
    // The access log, written and read back.
    let entry = AccessEntry {
        at: "2026-01-01T10:00:00Z".to_string(),
        reader: "ed25519:reader".to_string(),
        agency: "ml-cndh".to_string(),
        target: test_chain(7),
        action: "read_chain".to_string(),
        allowed: true,
    };
    store
        .log_access(&entry)
        .await
        .expect("the gateway writes the access log");
    assert_eq!(store.access_log(0, 10).await.unwrap(), vec![entry]);
    assert!(store.forks(0, 10).await.unwrap().is_empty());
    let payload = store.event(&records[0].hash).await.unwrap().unwrap();
    assert_eq!(payload.payload, PayloadState::Present);

    let monitor = JetStreamReader::connect(&server.url("custody-monitor", MONITOR_PASSWORD))
        .await
        .expect("the monitor opens the ledger stream");
    let events = monitor.read_from(0, 100).await.expect("the monitor reads");
    let hashes: Vec<_> = events.iter().map(|e| e.record.hash).collect();
    assert_eq!(
        hashes,
        records.iter().map(|r| r.hash).collect::<Vec<_>>(),
        "the monitor reads every record's header"
    );
    for e in &events {
        assert!(e.record.payload.is_none(), "a monitor reads no payload");
    }
    assert_eq!(monitor.size().await.unwrap(), 3);
    assert_eq!(
        monitor.meta("ledger").await.unwrap(),
        Some(serde_json::json!({ "name": "deploy.test" })),
        "the monitor reads the ledger's metadata document"
    );

    let reader = JetStreamReader::connect(&server.url("custody-reader", READER_PASSWORD))
        .await
        .expect("the reader opens the ledger stream");
    assert_eq!(reader.read_from(0, 100).await.unwrap().len(), 3);
}

#[tokio::test]
async fn the_monitor_cannot_read_payloads_see_replies_or_publish() {
    let server = start();
    let (store, records) = gateway_with_records(&server).await;
    let monitor = client(&server, "custody-monitor", MONITOR_PASSWORD)
        .await
        .expect("monitor connects");
    let mut js = jetstream::new(monitor.clone());
    js.set_timeout(Duration::from_secs(2));

    // The payload bucket: neither opened nor read directly nor through a consumer.
    assert!(
        js.get_key_value(PAYLOAD_BUCKET).await.is_err(),
        "the monitor must not open the payload bucket"
    );
    let key = records[0].hash.to_string();
    let direct = format!("$JS.API.DIRECT.GET.KV_{PAYLOAD_BUCKET}.$KV.{PAYLOAD_BUCKET}.{key}");
    assert!(
        monitor.request(direct.clone(), "".into()).await.is_err(),
        "the monitor must not read a payload entry"
    );
    let get = format!("$JS.API.STREAM.MSG.GET.KV_{PAYLOAD_BUCKET}");
    assert!(
        monitor.request(get, r#"{"seq":1}"#.into()).await.is_err(),
        "the monitor must not read the payload stream by sequence"
    );
    assert!(
        server.wait_log(&format!(
            "Publish Violation - User \"custody-monitor\", Subject \"{direct}\""
        )),
        "the server must log the refusal: {}",
        server.log_text()
    );

    // The gateway's replies (payloads among them) are out of the monitor's reach.
    for inbox in ["_INBOX.>", "_INBOX_custody-gateway.>", ">"] {
        let mut sub = monitor.subscribe(inbox).await.expect("subscribe is sent");
        monitor.flush().await.expect("flush");
        let _ = store
            .event(&records[1].hash)
            .await
            .expect("the gateway reads");
        let got = tokio::time::timeout(Duration::from_secs(1), sub.next()).await;
        assert!(
            !matches!(got, Ok(Some(_))),
            "the monitor received a message on {inbox}"
        );
        assert!(
            server.wait_log(&format!(
                "Subscription Violation - User \"custody-monitor\", Subject \"{inbox}\""
            )),
            "the server must refuse the subscription to {inbox}: {}",
            server.log_text()
        );
    }

    // Publishing a record, even a validly signed one, is refused; nothing is stored.
    let extra = test_records(&test_chain(8), None, 1, "monitor");
    let body = extra[0].to_json_line().into_bytes();
    let ack = js
        .publish(format!("custody.chain.{}", test_chain(8)), body.into())
        .await;
    let acked = match ack {
        Ok(future) => future.await.is_ok(),
        Err(_) => false,
    };
    assert!(!acked, "a monitor's publish must not be acknowledged");
    let meta = js
        .get_key_value(META_BUCKET)
        .await
        .expect("the monitor opens the metadata bucket for its two documents");
    assert!(
        meta.put("ledger", "{}".into()).await.is_err(),
        "the monitor must not write metadata"
    );
    assert_eq!(store.size().await.unwrap(), 3, "nothing was stored");
    assert_eq!(store.meta("ledger").await.unwrap(), None);
}

#[tokio::test]
async fn nobody_can_delete_or_purge_a_stream_or_delete_a_record() {
    let server = start();
    let (store, records) = gateway_with_records(&server).await;
    // Every refused request waits for its time-out: all of them at once.
    let users = [
        ("custody-gateway", GATEWAY_PASSWORD),
        ("custody-reader", READER_PASSWORD),
        ("custody-monitor", MONITOR_PASSWORD),
    ];
    let attempts = users.iter().map(|&(user, password)| {
        let server = &server;
        async move {
            let client = client(server, user, password)
                .await
                .unwrap_or_else(|e| panic!("{user} cannot connect: {e}"));
            let mut js = jetstream::new(client.clone());
            js.set_timeout(Duration::from_secs(2));
            let update = format!(
                r#"{{"name":"{LEDGER_STREAM}","subjects":["custody.chain.*"],"deny_delete":false,"deny_purge":false}}"#
            );
            let requests = [
                (format!("$JS.API.STREAM.DELETE.{LEDGER_STREAM}"), String::new()),
                ("$JS.API.STREAM.DELETE.CUSTODY_ACCESS".to_string(), String::new()),
                ("$JS.API.STREAM.DELETE.KV_CUSTODY_PAYLOADS".to_string(), String::new()),
                (format!("$JS.API.STREAM.PURGE.{LEDGER_STREAM}"), "{}".to_string()),
                ("$JS.API.STREAM.PURGE.KV_CUSTODY_PAYLOADS".to_string(), "{}".to_string()),
                (
                    format!("$JS.API.STREAM.MSG.DELETE.{LEDGER_STREAM}"),
                    r#"{"seq":1}"#.to_string(),
                ),
                (format!("$JS.API.STREAM.UPDATE.{LEDGER_STREAM}"), update),
            ];
            let answers = futures::future::join_all(
                requests
                    .iter()
                    .map(|(subject, body)| client.request(subject.clone(), body.clone().into())),
            )
            .await;
            for ((subject, _), answer) in requests.iter().zip(answers) {
                assert!(
                    answer.is_err(),
                    "{user}'s request on {subject} must be refused, got an answer: {:?}",
                    answer.map(|m| String::from_utf8_lossy(&m.payload).into_owned())
                );
            }
            assert!(
                js.delete_stream(LEDGER_STREAM).await.is_err(),
                "{user} must not delete stream {LEDGER_STREAM}"
            );
            assert!(
                server.wait_log(&format!(
                    "Publish Violation - User \"{user}\", Subject \"$JS.API.STREAM.DELETE.{LEDGER_STREAM}\""
                )),
                "the server must log {user}'s refused delete: {}",
                server.log_text()
            );
        }
    });
    futures::future::join_all(attempts).await;

    // Everything is still there, payloads included, and the stream kept its guarantees.
    assert_eq!(store.size().await.unwrap(), 3);
    for r in &records {
        let e = store.event(&r.hash).await.unwrap().expect("still stored");
        assert_eq!(e.payload, PayloadState::Present);
        assert_eq!(&e.record, r);
    }
    let gateway = js(&server, "custody-gateway", GATEWAY_PASSWORD).await;
    let mut stream = gateway.get_stream(LEDGER_STREAM).await.unwrap();
    let config = stream.info().await.unwrap().config.clone();
    assert!(config.deny_delete && config.deny_purge);
    // A second start of the gateway (which checks, and never updates, its streams) works.
    drop(store);
    let again = JetStreamStore::connect(&server.url("custody-gateway", GATEWAY_PASSWORD))
        .await
        .expect("the gateway starts again");
    assert_eq!(again.size().await.unwrap(), 3);
}

#[tokio::test]
async fn an_unknown_user_a_wrong_password_and_no_user_are_refused() {
    let server = start();
    for (user, password) in [
        ("intruder", "anything"),
        ("custody-gateway", "wrong-password"),
        ("custody-monitor", GATEWAY_PASSWORD),
    ] {
        let err = client(&server, user, password)
            .await
            .expect_err("must be refused");
        assert!(
            err.to_string().to_lowercase().contains("authorization"),
            "{user}: {err}"
        );
        let store = JetStreamStore::connect(&server.url(user, password)).await;
        assert!(store.is_err(), "{user} opened the store");
        assert!(
            server.wait_log(&format!("authentication error - User \"{user}\"")),
            "{}",
            server.log_text()
        );
    }
    let anonymous = async_nats::ConnectOptions::new()
        .add_root_certificates(deploy::certs().ca())
        .connection_timeout(Duration::from_secs(5))
        .connect(format!("localhost:{}", server.port()))
        .await;
    assert!(
        anonymous.is_err(),
        "a client without a user must be refused"
    );
    assert!(
        server.wait_log("authentication error - User \"\""),
        "{}",
        server.log_text()
    );
}

#[test]
fn a_plaintext_client_is_refused() {
    let server = start();
    let mut s = TcpStream::connect(("127.0.0.1", server.port())).expect("tcp connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut info = Vec::new();
    let mut byte = [0u8; 1];
    while !info.ends_with(b"\r\n") {
        s.read_exact(&mut byte).expect("INFO line");
        info.push(byte[0]);
    }
    let info = String::from_utf8_lossy(&info);
    assert!(
        info.contains("\"tls_required\":true"),
        "the server must announce TLS: {info}"
    );
    // A client that goes on in plaintext, with valid credentials.
    let connect = format!(
        "CONNECT {{\"user\":\"custody-gateway\",\"pass\":\"{GATEWAY_PASSWORD}\",\"verbose\":false,\"tls_required\":false}}\r\nPING\r\nPUB custody.chain.x 2\r\nhi\r\n"
    );
    let _ = s.write_all(connect.as_bytes());
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    let rest = String::from_utf8_lossy(&rest);
    assert!(
        !rest.contains("PONG"),
        "a plaintext client was served: {rest}"
    );
    assert!(
        server.wait_log("TLS handshake error"),
        "the server must log the refused handshake: {}",
        server.log_text()
    );
}
