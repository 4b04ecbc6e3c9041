//! The listeners under hostile connections: slow and idle peers are closed
//! on time, a connection flood is survived, shutdown does not wait for idle
//! or slow peers (nor for hashes still running), the admin endpoints live on
//! their own listener, and readiness comes from a background probe.
//!
//! Timeouts are small (hundreds of ms) and the bounds generous, so the tests
//! hold on a loaded 2-core machine.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use passbridge::db::{DatabaseUrl, DbKind};
use secrecy::ExposeSecret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app_with, spawn_app_with_user, TestApp, TestDb};

const EMAIL: &str = "conn@example.com";
const PASSWORD: &str = "pw-conn";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn hook_addr(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes `stream` (EOF or reset); returns how long that took.
/// Fails if it stays open past `limit`.
async fn time_to_close(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "connection still open after {limit:?}");
    started.elapsed()
}

/// Reads until `needle` has arrived.
async fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "closed before {needle:?}: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&seen).contains(needle) {
                break;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "no {needle:?} within 10s");
    String::from_utf8_lossy(&seen).into_owned()
}

fn closed_count(app: &TestApp, listener: &str, reason: &str) -> u64 {
    let text = app.state.metrics.render();
    let key = format!(
        "passbridge_connections_closed_total{{listener=\"{listener}\",reason=\"{reason}\"}} "
    );
    text.lines()
        .find_map(|l| l.strip_prefix(&key))
        .map_or(0, |v| v.trim().parse().unwrap())
}

async fn app_with_http(tweak: impl FnOnce(&mut passbridge::config::Settings)) -> TestApp {
    spawn_app_with_user(EMAIL, PASSWORD, tweak).await
}

#[tokio::test]
async fn slow_headers_are_closed_after_the_header_read_timeout() {
    let app = app_with_http(|s| s.http.header_read_timeout = ms(300)).await;
    let addr = hook_addr(&app);

    // A peer that connects and says nothing.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let silent_closed = time_to_close(&mut silent, Duration::from_secs(10));

    // A peer dripping its head one byte every 50 ms: each byte arrives well
    // within the timeout, the whole head never does.
    let mut drip = TcpStream::connect(&addr).await.unwrap();
    let dripping = async {
        let started = Instant::now();
        let head = b"POST /hooks/password-import HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        for byte in head {
            if drip.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(ms(50)).await;
        }
        // Cut off mid-head (or, on a very slow machine, done writing).
        time_to_close(&mut drip, Duration::from_secs(10)).await;
        started.elapsed()
    };
    let (silent_after, drip_after) = tokio::join!(silent_closed, dripping);

    assert!(
        silent_after >= ms(250) && silent_after < Duration::from_secs(5),
        "silent peer closed after {silent_after:?}"
    );
    assert!(
        drip_after >= ms(250) && drip_after < Duration::from_secs(5),
        "dripping peer closed after {drip_after:?} (the head would take ~5 s to send)"
    );
    assert!(closed_count(&app, "hook", "header_timeout") >= 2);
    // The listener still serves.
    assert_eq!(app.verdict(EMAIL, PASSWORD).await, "VERIFIED");
}

#[tokio::test]
async fn idle_keep_alive_is_closed_after_the_idle_timeout_not_the_header_timeout() {
    let app = app_with_http(|s| {
        s.http.header_read_timeout = ms(300);
        s.http.idle_timeout = ms(1500);
    })
    .await;
    let mut conn = TcpStream::connect(hook_addr(&app)).await.unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until(&mut conn, "\"ok\"").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let idle_for = time_to_close(&mut conn, Duration::from_secs(15)).await;
    assert!(
        idle_for >= ms(1000) && idle_for < Duration::from_secs(10),
        "kept-alive connection closed after {idle_for:?}"
    );
    assert_eq!(closed_count(&app, "hook", "idle_timeout"), 1);
}

#[tokio::test]
async fn slow_body_is_closed_after_the_body_read_timeout() {
    let app = app_with_http(|s| s.http.body_read_timeout = ms(300)).await;
    let mut conn = TcpStream::connect(hook_addr(&app)).await.unwrap();
    let head = format!(
        "POST /hooks/password-import HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n{{\"data\":",
        app.secret.expose_secret()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let (mut reader, mut writer) = conn.into_split();
    let drip = tokio::spawn(async move {
        for _ in 0..200 {
            if writer.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(ms(50)).await;
        }
    });
    let mut seen = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(8), reader.read_to_end(&mut seen)).await;
    let after = started.elapsed();
    drip.abort();
    assert!(read.is_ok(), "slow body still open after {after:?}");
    assert!(
        after >= ms(250) && after < Duration::from_secs(5),
        "slow body closed after {after:?} (the body would take 10 s)"
    );
    let answer = String::from_utf8_lossy(&seen);
    assert!(
        !answer.contains("VERIFIED"),
        "no verdict for a body that never arrived: {answer}"
    );
    assert_eq!(closed_count(&app, "hook", "body_timeout"), 1);
}

#[tokio::test]
async fn a_connection_flood_is_survived_and_a_sign_in_still_answered() {
    const CAP: usize = 50;
    let app = app_with_http(|s| {
        s.http.max_connections = CAP;
        // Long enough that only shedding silent connections at the cap can
        // explain a timely answer.
        s.http.header_read_timeout = Duration::from_secs(30);
    })
    .await;
    let addr = hook_addr(&app);
    // CAP + 200 silent connections: the first CAP are accepted, the rest wait
    // in the kernel's accept queue; at the cap, connections silent for 1 s are shed.
    let mut flood = Vec::new();
    for _ in 0..CAP + 200 {
        flood.push(TcpStream::connect(&addr).await.unwrap());
    }
    let started = Instant::now();
    let response = app
        .client
        .post(format!("{}/hooks/password-import", app.address))
        .header("Authorization", app.secret.expose_secret())
        .json(&crate::helpers::okta_body(EMAIL, PASSWORD))
        .timeout(Duration::from_secs(40))
        .send()
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(response.status(), 200);
    let verdict = crate::helpers::verdict_of(&response.json().await.unwrap());
    assert_eq!(verdict, "VERIFIED");
    assert!(
        waited < Duration::from_secs(20),
        "answered after {waited:?} (header timeout 30 s)"
    );
    eprintln!(
        "sign-in behind {} silent connections (cap {CAP}) answered in {waited:?}",
        CAP + 200
    );
    assert!(
        closed_count(&app, "hook", "shed") >= CAP as u64,
        "the flood was accepted and shed"
    );
    let metrics = app.state.metrics.render();
    assert!(
        !metrics.contains("passbridge_accept_errors_total{listener=\"hook\"}"),
        "{metrics}"
    );
    drop(flood);
}

#[tokio::test]
async fn shutdown_closes_idle_and_slow_connections_at_once() {
    let mut app = app_with_http(|s| {
        s.http.header_read_timeout = Duration::from_secs(30);
        s.http.body_read_timeout = Duration::from_secs(30);
        s.http.idle_timeout = Duration::from_secs(60);
        s.hook.shutdown_grace = Duration::from_secs(10);
    })
    .await;
    let addr = hook_addr(&app);
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let mut half_head = TcpStream::connect(&addr).await.unwrap();
    half_head
        .write_all(b"POST /hooks/password-import HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let mut kept_alive = TcpStream::connect(&addr).await.unwrap();
    kept_alive
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    read_until(&mut kept_alive, "\"ok\"").await;
    let mut half_body = TcpStream::connect(&addr).await.unwrap();
    half_body
        .write_all(
            format!(
                "POST /hooks/password-import HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{{",
                app.secret.expose_secret()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    // Let the server see every byte before it is told to stop.
    tokio::time::sleep(ms(200)).await;

    let stop = app.take_stop();
    let started = Instant::now();
    stop.send(()).unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(8), app.stopped.take().unwrap())
        .await
        .expect("shutdown waited for idle or slow connections");
    let took = started.elapsed();
    assert!(stopped.unwrap().is_ok());
    assert!(
        took < Duration::from_secs(3),
        "shutdown took {took:?} with a 10 s grace"
    );
    for conn in [&mut silent, &mut half_head, &mut kept_alive, &mut half_body] {
        time_to_close(conn, Duration::from_secs(2)).await;
    }
}

#[tokio::test]
async fn admin_endpoints_are_only_on_the_admin_listener() {
    let app = app_with_http(|_| {}).await;
    assert_ne!(app.address, app.admin_address);
    let get = |url: String| {
        let client = app.client.clone();
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get(format!("{}/metrics", app.address)).await, 404);
    assert_eq!(get(format!("{}/readyz", app.address)).await, 404);
    assert_eq!(get(format!("{}/healthz", app.address)).await, 200);
    assert_eq!(get(format!("{}/metrics", app.admin_address)).await, 200);
    assert_eq!(get(format!("{}/readyz", app.admin_address)).await, 200);
    assert_eq!(get(format!("{}/healthz", app.admin_address)).await, 200);
    let hook_on_admin = app
        .client
        .post(format!("{}/hooks/password-import", app.admin_address))
        .header("Authorization", app.secret.expose_secret())
        .json(&crate::helpers::okta_body(EMAIL, PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(hook_on_admin.status(), 404);
    assert!(
        app.reasons(EMAIL).await.is_empty(),
        "no sign-in on the admin port"
    );
}

fn probes_run(app: &TestApp) -> u64 {
    app.state
        .metrics
        .render()
        .lines()
        .find_map(|l| l.strip_prefix("passbridge_readiness_probes_total "))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_readyz_flood_runs_no_query_and_leaves_sign_ins_alone() {
    let app = app_with_http(|s| {
        // One legacy connection: a /readyz that used the hook's pool would
        // starve the sign-ins at once.
        s.legacy.max_connections = 1;
        s.http.readiness_interval = Duration::from_secs(3600);
        // 20 sign-ins at once for one row: this test is about readiness.
        s.hook.throttle.per_row_ip = Some(0);
        s.hook.throttle.per_row = 0;
    })
    .await;
    let first: serde_json::Value = app
        .client
        .get(format!("{}/readyz", app.admin_address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["status"], "ready", "{first}");
    assert_eq!(first["legacy"], "up");
    assert_eq!(first["ledger"], "up");
    let checked_at = first["checked_at"].as_str().unwrap().to_owned();
    let probes_before = probes_run(&app);
    assert!(probes_before >= 1);

    let readies = (0..200).map(|_| {
        let client = app.client.clone();
        let url = format!("{}/readyz", app.admin_address);
        async move {
            let body: serde_json::Value =
                client.get(url).send().await.unwrap().json().await.unwrap();
            body["checked_at"].as_str().unwrap().to_owned()
        }
    });
    let sign_ins = (0..20).map(|_| app.verdict(EMAIL, PASSWORD));
    let (stamps, verdicts) = tokio::join!(
        futures::future::join_all(readies),
        futures::future::join_all(sign_ins)
    );

    assert!(verdicts.iter().all(|v| v == "VERIFIED"), "{verdicts:?}");
    let reasons = app.reasons(EMAIL).await;
    assert!(
        !reasons.iter().any(|r| r == "legacy_unavailable"),
        "{reasons:?}"
    );
    assert!(
        stamps.iter().all(|s| *s == checked_at),
        "answers came from the cache"
    );
    assert_eq!(probes_run(&app), probes_before, "no request ran a probe");
}

#[tokio::test]
async fn the_probe_runs_in_the_background() {
    let app = app_with_http(|s| s.http.readiness_interval = ms(100)).await;
    let before = probes_run(&app);
    tokio::time::sleep(ms(1500)).await;
    let after = probes_run(&app);
    assert!(after >= before + 3, "{before} -> {after} probes in 1.5 s");
}

#[tokio::test]
async fn a_read_only_ledger_makes_readyz_unready() {
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    db.create_users_table().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    // The ledger exists (migrated), then the service gets it read-only.
    let writable = passbridge::ledger::Ledger::connect(&DatabaseUrl::sqlite_file(&path))
        .await
        .unwrap();
    writable.pool().close().await;
    let read_only: DatabaseUrl = format!("sqlite://{}?mode=ro", path.display())
        .parse()
        .unwrap();
    let app = spawn_app_with(db, move |s| {
        s.ledger.url = Some(read_only);
        s.http.readiness_interval = ms(200);
    })
    .await;

    let deadline = Instant::now() + Duration::from_secs(5);
    let body = loop {
        let resp = app
            .client
            .get(format!("{}/readyz", app.admin_address))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap();
        if status == 503 {
            break body;
        }
        assert!(Instant::now() < deadline, "still ready: {body}");
        tokio::time::sleep(ms(100)).await;
    };
    assert_eq!(body["status"], "unready", "{body}");
    assert_eq!(body["ledger"], "down", "{body}");
    assert_eq!(body["legacy"], "up", "{body}");
    assert!(body["checked_at"].is_string(), "{body}");
}

/// phpass at the default ceiling (2^24 MD5 rounds, `M`): seconds of CPU per
/// verification, and a family the verifier's cost model measures on first
/// use, so the first verifications really start (a modelled family this slow
/// would be refused before hashing as `cost_too_high`).
fn very_slow_phpass() -> String {
    "$P$Mslowsalt0123456789abcdefghijk.".to_owned()
}

/// The JSON log line `message` of the child, parsed.
fn wait_for_log(lines: &mut impl Iterator<Item = String>, message: &str) -> serde_json::Value {
    for line in lines {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
            if v["message"] == message {
                return v;
            }
        }
    }
    panic!("the child never logged {message:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_within_the_grace_while_hashes_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    db.create_users_table().await;
    db.insert_user("slow@example.com", &very_slow_phpass(), None, None)
        .await;
    let config = dir.path().join("passbridge.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n[hook]\nshutdown_grace = \"3s\"\nmax_concurrent_verifications = 4\n",
    )
    .unwrap();
    let secret = crate::helpers::random_secret();
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
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let started = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stderr).lines().map_while(Result::ok);
            let listening = wait_for_log(&mut lines, "passbridge listening");
            let field = |k: &str| listening[k].as_str().unwrap().to_owned();
            (field("addr"), field("admin"), lines)
        }),
    )
    .await;
    let Ok(started) = started else {
        let _ = child.kill();
        panic!("the child did not start listening within 60 s");
    };
    let (addr, admin, rest) = started.unwrap();
    // Keep draining the child's log so it never blocks on a full pipe.
    let drain = std::thread::spawn(move || rest.count());

    let client = reqwest::Client::new();
    let mut sign_ins = Vec::new();
    for _ in 0..4 {
        let client = client.clone();
        let url = format!("http://{addr}/hooks/password-import");
        let secret = secret.expose_secret().to_owned();
        sign_ins.push(tokio::spawn(async move {
            client
                .post(url)
                .header("Authorization", secret)
                .json(&crate::helpers::okta_body("slow@example.com", "guess"))
                .timeout(Duration::from_secs(20))
                .send()
                .await
        }));
    }
    // Signal once the hashes are really running.
    let running = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let metrics = client
                .get(format!("http://{admin}/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if metrics
                .lines()
                .any(|l| l.starts_with("passbridge_verifications_in_flight ") && !l.ends_with(" 0"))
            {
                break;
            }
            tokio::time::sleep(ms(20)).await;
        }
    })
    .await;
    assert!(running.is_ok(), "no verification started");

    let pid = child.id().to_string();
    let signalled = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if signalled.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("still running 20 s after SIGTERM");
        }
        tokio::time::sleep(ms(20)).await;
    };
    let took = signalled.elapsed();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    assert!(
        took < Duration::from_secs(3 + 3),
        "exited {took:?} after SIGTERM with a 3 s grace"
    );
    for sign_in in sign_ins {
        // Answered (UNVERIFIED, timeout) or cut at exit: never left hanging.
        let _ = sign_in.await.unwrap();
    }
    drain.join().unwrap();
}
