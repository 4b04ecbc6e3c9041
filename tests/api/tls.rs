//! HTTPS on the hook listener: certificates generated here (rcgen), a
//! client that trusts only them, rotation picked up without a restart, a bad
//! new pair keeping the old one, and plain HTTP, TLS 1.1 and a stalled
//! handshake refused and counted.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use passbridge::db::DatabaseUrl;
use secrecy::ExposeSecret;

use passbridge::db::DbKind;
use passbridge::startup::Application;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{random_secret, spawn_app_with_user, test_settings, TestApp, TestDb};

const EMAIL: &str = "tls@example.com";
const PASSWORD: &str = "pw-tls";

/// A self-signed certificate for `localhost` and its key, as PEM.
struct Pair {
    cert_pem: String,
    key_pem: String,
    cert_der: Vec<u8>,
}

fn generate() -> Pair {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    Pair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        cert_der: cert.der().to_vec(),
    }
}

struct Files {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
}

fn write_files(pair: &Pair) -> Files {
    let dir = tempfile::tempdir().unwrap();
    let files = Files {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
        _dir: dir,
    };
    install(&files, pair);
    files
}

fn install(files: &Files, pair: &Pair) {
    std::fs::write(&files.key, &pair.key_pem).unwrap();
    std::fs::write(&files.cert, &pair.cert_pem).unwrap();
}

/// A client trusting exactly `pairs`, opening a new connection (so a new
/// handshake) per request and exposing the peer certificate.
fn client_trusting(pairs: &[&Pair]) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .tls_info(true)
        .pool_max_idle_per_host(0);
    for pair in pairs {
        builder = builder.add_root_certificate(
            reqwest::Certificate::from_pem(pair.cert_pem.as_bytes()).unwrap(),
        );
    }
    builder.build().unwrap()
}

async fn spawn_tls_app(files: &Files) -> TestApp {
    spawn_tls_app_with(files, |_| {}).await
}

async fn spawn_tls_app_with(
    files: &Files,
    tweak: impl FnOnce(&mut passbridge::config::Settings),
) -> TestApp {
    let (cert, key) = (files.cert.clone(), files.key.clone());
    let mut app = spawn_app_with_user(EMAIL, PASSWORD, move |s| {
        s.tls_cert = Some(cert);
        s.tls_key = Some(key);
        s.tls_reload_interval = Duration::from_millis(100);
        s.http.header_read_timeout = Duration::from_millis(600);
        tweak(s);
    })
    .await;
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    app.address = format!("https://localhost:{port}");
    app
}

/// The DER of the certificate the server presented in a full handshake (a
/// fresh client: a resumed session would report the certificate of the
/// session it resumes).
async fn served_cert(app: &TestApp, pairs: &[&Pair]) -> Vec<u8> {
    let resp = client_trusting(pairs)
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .expect("TLS info")
        .to_vec()
}

fn metric(app: &TestApp, line_prefix: &str) -> u64 {
    app.state
        .metrics
        .render()
        .lines()
        .find_map(|l| l.strip_prefix(line_prefix))
        .map_or(0, |v| v.trim().parse().unwrap())
}

fn reloads(app: &TestApp, result: &str) -> u64 {
    metric(
        app,
        &format!("passbridge_tls_reloads_total{{result=\"{result}\"}} "),
    )
}

fn closed(app: &TestApp, reason: &str) -> u64 {
    metric(
        app,
        &format!("passbridge_connections_closed_total{{listener=\"hook\",reason=\"{reason}\"}} "),
    )
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not within 10s: {what}");
}

#[tokio::test]
async fn the_hook_answers_over_https_and_a_rotated_certificate_is_served_without_restart() {
    // Arrange
    let first = generate();
    let second = generate();
    let files = write_files(&first);
    let mut app = spawn_tls_app(&files).await;
    app.client = client_trusting(&[&first]);
    let both = [&first, &second];

    // Act + Assert: the hook itself, over HTTPS, with the first certificate.
    assert_eq!(app.verdict(EMAIL, PASSWORD).await, "VERIFIED");
    assert_eq!(served_cert(&app, &both).await, first.cert_der);

    // A broken renewal (key file truncated): the old pair keeps serving.
    std::fs::write(&files.key, "-----BEGIN PRIVATE KEY-----\nAAAA\n").unwrap();
    eventually("the bad key is tried and counted", async || {
        reloads(&app, "error") >= 1
    })
    .await;
    assert_eq!(served_cert(&app, &both).await, first.cert_der);
    assert_eq!(reloads(&app, "ok"), 0, "nothing bad was swapped in");

    // The real renewal: served from the next handshake on.
    install(&files, &second);
    eventually("the second certificate is served", async || {
        served_cert(&app, &both).await == second.cert_der
    })
    .await;
    assert!(reloads(&app, "ok") >= 1);
    let only_second = client_trusting(&[&second]);
    let resp = only_second
        .post(format!("{}/hooks/password-import", app.address))
        .header(
            "Authorization",
            secrecy::ExposeSecret::expose_secret(&app.secret),
        )
        .json(&crate::helpers::okta_body(EMAIL, PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let logs = crate::helpers::captured_logs();
    assert!(
        logs.contains("TLS certificate reload failed"),
        "error logged"
    );
    assert!(
        !logs.contains(first.key_pem.lines().nth(1).unwrap()),
        "no key material in logs"
    );
    assert!(
        !logs.contains(second.key_pem.lines().nth(1).unwrap()),
        "no key material in logs"
    );
    app.shutdown().await.unwrap();
}

fn port_of(app: &TestApp) -> String {
    format!("127.0.0.1:{}", app.address.rsplit(':').next().unwrap())
}

/// Reads what the server sends until it closes; fails past `limit`.
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "connection still open after {limit:?}");
    seen
}

#[tokio::test]
async fn plain_http_to_the_https_port_is_closed_with_an_alert_and_counted() {
    // Arrange
    let pair = generate();
    let files = write_files(&pair);
    let app = spawn_tls_app(&files).await;
    let mut stream = TcpStream::connect(port_of(&app)).await.unwrap();

    // Act
    stream
        .write_all(
            b"POST /hooks/password-import HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
        )
        .await
        .unwrap();
    let answer = read_to_close(&mut stream, Duration::from_secs(2)).await;

    // Assert: no HTTP answer, at most a TLS alert record, and the listener still works.
    assert!(
        !String::from_utf8_lossy(&answer).contains("HTTP/1.1"),
        "answered in plain HTTP"
    );
    if let Some(first) = answer.first() {
        assert_eq!(*first, 0x15, "only an alert record");
    }
    eventually("the failed handshake is counted", async || {
        closed(&app, "tls_handshake") == 1
    })
    .await;
    assert_eq!(served_cert(&app, &[&pair]).await, pair.cert_der);
    app.shutdown().await.unwrap();
}

/// A TLS 1.1 ClientHello (legacy_version 3.2, no supported_versions
/// extension) offering only RSA-AES128-CBC-SHA.
fn tls11_client_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x02];
    body.extend_from_slice(&[0x42; 32]); // random
    body.push(0); // no session id
    body.extend_from_slice(&[0x00, 0x02, 0x00, 0x2f]); // one suite
    body.extend_from_slice(&[0x01, 0x00]); // null compression
    let mut handshake = vec![0x01, 0x00];
    handshake.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x02];
    record.extend_from_slice(&u16::try_from(handshake.len()).unwrap().to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

#[tokio::test]
async fn a_tls_1_1_client_is_refused_with_an_alert() {
    // Arrange
    let pair = generate();
    let files = write_files(&pair);
    let app = spawn_tls_app(&files).await;
    let mut stream = TcpStream::connect(port_of(&app)).await.unwrap();

    // Act
    stream.write_all(&tls11_client_hello()).await.unwrap();
    let answer = read_to_close(&mut stream, Duration::from_secs(2)).await;

    // Assert: an alert record (content type 21), never a ServerHello (22).
    assert_eq!(answer.first(), Some(&0x15), "answer: {answer:02x?}");
    // Fatal alert: protocol_version (70) or handshake_failure (40).
    assert!(
        matches!(answer.get(6), Some(70 | 40)),
        "alert description: {answer:02x?}"
    );
    eventually("the refusal is counted", async || {
        closed(&app, "tls_handshake") == 1
    })
    .await;
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_stalled_handshake_is_closed_at_the_header_read_timeout() {
    // Arrange
    let pair = generate();
    let files = write_files(&pair);
    let app = spawn_tls_app(&files).await;
    let mut stream = TcpStream::connect(port_of(&app)).await.unwrap();
    let started = Instant::now();

    // Act: half a ClientHello, then silence.
    let hello = tls11_client_hello();
    stream.write_all(&hello[..10]).await.unwrap();
    read_to_close(&mut stream, Duration::from_secs(5)).await;

    // Assert
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(4),
        "closed after {took:?} (header_read_timeout 600ms)"
    );
    eventually("the timeout is counted", async || {
        closed(&app, "header_timeout") == 1
    })
    .await;
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn silent_connections_holding_every_slot_are_shed_before_a_handshake() {
    // Arrange: two slots, both taken by peers that never say a word, and a
    // header timeout far longer than the test.
    let pair = generate();
    let files = write_files(&pair);
    let app = spawn_tls_app_with(&files, |s| {
        s.http.max_connections = 2;
        s.http.header_read_timeout = Duration::from_secs(30);
    })
    .await;
    let _silent = [
        TcpStream::connect(port_of(&app)).await.unwrap(),
        TcpStream::connect(port_of(&app)).await.unwrap(),
    ];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();

    // Act
    let served = tokio::time::timeout(Duration::from_secs(10), served_cert(&app, &[&pair])).await;

    // Assert: answered after about the 1 s silence allowance, not 30 s.
    assert_eq!(served.expect("answered within 10 s"), pair.cert_der);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(closed(&app, "shed") >= 1);
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_admin_listener_stays_plain_http_unless_admin_tls_is_set() {
    let pair = generate();
    let files = write_files(&pair);
    let plain = spawn_tls_app(&files).await;
    let resp = reqwest::get(format!("{}/metrics", plain.admin_address))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "plain HTTP admin next to an HTTPS hook");
    plain.shutdown().await.unwrap();

    let tls = spawn_tls_app_with(&files, |s| s.admin_tls = true).await;
    let port = tls.admin_address.rsplit(':').next().unwrap().to_owned();
    let resp = client_trusting(&[&pair])
        .get(format!("https://localhost:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
            .await
            .is_err(),
        "plain HTTP refused on an HTTPS admin listener"
    );
    tls.shutdown().await.unwrap();
}

async fn build_with(files: (&Path, &Path)) -> anyhow::Result<Application> {
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    db.create_users_table().await;
    let mut settings = test_settings(&db, &random_secret());
    settings.tls_cert = Some(files.0.to_path_buf());
    settings.tls_key = Some(files.1.to_path_buf());
    Application::build(settings).await
}

#[tokio::test]
async fn a_certificate_that_does_not_load_stops_the_start_with_the_file_named() {
    // Arrange: the key of another certificate.
    let pair = generate();
    let other = generate();
    let files = write_files(&pair);
    std::fs::write(&files.key, &other.key_pem).unwrap();

    // Act
    let mismatched = build_with((&files.cert, &files.key)).await;
    let missing = build_with((&files.cert, &files.key.with_extension("nope"))).await;

    // Assert
    let message = format!("{:#}", mismatched.err().expect("refused"));
    assert!(message.contains("tls_cert"), "{message}");
    assert!(message.contains("key.pem"), "{message}");
    assert!(!message.contains(other.key_pem.lines().nth(1).unwrap()));
    let message = format!("{:#}", missing.err().expect("refused"));
    assert!(message.contains("key.nope"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_tls_flags_reloads_the_certificate_on_sighup() {
    // Arrange: `serve --tls-cert --tls-key`, file polling effectively off.
    let first = generate();
    let second = generate();
    let files = write_files(&first);
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    db.create_users_table().await;
    let config = dir.path().join("passbridge.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\ntls_reload_interval = \"1h\"\n",
    )
    .unwrap();
    let secret = random_secret();
    let mut child = Command::cargo_bin("passbridge")
        .unwrap()
        .current_dir(dir.path())
        .env("PASSBRIDGE_CONFIG", &config)
        .env("PASSBRIDGE_LEGACY_URL", db.url.expose())
        .env("PASSBRIDGE_LEGACY_QUERY", db.lookup_query())
        .env(
            "PASSBRIDGE_LEDGER_URL",
            DatabaseUrl::sqlite_file(&dir.path().join("ledger.db")).expose(),
        )
        .env("PASSBRIDGE_HOOK_SECRET", secret.expose_secret())
        .env("PASSBRIDGE_LOG_FORMAT", "json")
        .env("PASSBRIDGE_LOG", "info")
        .env_remove("RUST_LOG")
        .arg("serve")
        .arg("--tls-cert")
        .arg(&files.cert)
        .arg("--tls-key")
        .arg(&files.key)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<serde_json::Value>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                let _ = tx.send(v);
            }
        }
    });
    let next_log = |message: &str| loop {
        let v = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no {message:?} log"));
        if v["message"] == message {
            break v;
        }
    };
    let listening = next_log("passbridge listening");
    assert_eq!(listening["tls"], true);
    let port = listening["addr"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let url = format!("https://localhost:{port}/healthz");
    let served = async |pairs: &[&Pair]| {
        let resp = client_trusting(pairs).get(&url).send().await.unwrap();
        resp.extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|i| i.peer_certificate())
            .unwrap()
            .to_vec()
    };
    assert_eq!(served(&[&first]).await, first.cert_der);

    // Act: renew, then SIGHUP.
    install(&files, &second);
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    let reloaded = next_log("TLS certificate reloaded");

    // Assert
    assert_eq!(reloaded["trigger"], "SIGHUP");
    assert_eq!(served(&[&first, &second]).await, second.cert_der);
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP does not stop serve"
    );
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    reader.join().unwrap();
}
