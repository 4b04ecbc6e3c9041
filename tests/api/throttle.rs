//! The throttle: counted per legacy row (so spellings that reach one row
//! share a count), per row and IP, and per IP; reserved before verifying;
//! kept in the ledger across restarts; and no faster than a wrong password.

use std::collections::BTreeMap;

use passbridge::config::Settings;
use passbridge::db::{placeholders, DbKind};
use secrecy::ExposeSecret;
use sha2::Digest;

use crate::helpers::{okta_body, spawn_app_with, verdict_of, TestApp, TestDb};
use crate::on_every_db;

pub fn hex_sha256(s: &str) -> String {
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// `passbridge_verify_seconds_count` per scheme label.
pub fn verify_counts(app: &TestApp) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for line in app.state.metrics.render().lines() {
        let Some(rest) = line.strip_prefix("passbridge_verify_seconds_count{scheme=\"") else {
            continue;
        };
        let (scheme, value) = rest.split_once("\"} ").unwrap();
        out.insert(scheme.to_owned(), value.trim().parse().unwrap());
    }
    out
}

/// Verifications of every scheme.
pub fn total_verifications(app: &TestApp) -> u64 {
    verify_counts(app).values().sum()
}

/// Real verifications of the test users' `hex_sha256` hashes.
pub fn user_verifications(app: &TestApp) -> u64 {
    verify_counts(app).get("hex_sha256").copied().unwrap_or(0)
}

/// Okta's body from end-user IP `ip` (`None`: no `request` object at all).
pub fn body_from(username: &str, password: &str, ip: Option<&str>) -> serde_json::Value {
    let mut body = okta_body(username, password);
    match ip {
        Some(ip) => body["data"]["context"]["request"]["ipAddress"] = ip.into(),
        None => {
            body["data"]["context"]
                .as_object_mut()
                .unwrap()
                .remove("request");
        }
    }
    body
}

/// POSTs `body` and returns the verdict.
pub async fn send(app: &TestApp, body: &serde_json::Value) -> String {
    let resp = app
        .client
        .post(format!("{}/hooks/password-import", app.address))
        .header("Authorization", app.secret.expose_secret())
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    verdict_of(&resp.json().await.unwrap())
}

/// An app on a fresh `kind` database with `users` holding `(email, password)`
/// as hex SHA-256, looked up with `query` (`?` placeholders).
pub async fn app_with_users(
    kind: DbKind,
    users: &[(&str, &str)],
    query: &str,
    tweak: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let db = TestDb::create(kind).await?;
    db.create_users_table().await;
    for (email, password) in users {
        db.insert_user(email, &hex_sha256(password), None, Some("hex_sha256"))
            .await;
    }
    let query = placeholders(kind, query);
    Some(
        spawn_app_with(db, |s| {
            s.legacy.query = Some(query);
            tweak(s);
        })
        .await,
    )
}

const BY_EMAIL: &str = "SELECT password_hash, salt, scheme FROM users WHERE email = ?";
const BY_LOWER_EMAIL: &str =
    "SELECT password_hash, salt, scheme FROM users WHERE lower(email) = lower(?)";

/// Reasons recorded for exactly `username` (the ledger's own `=` follows
/// MariaDB's case- and pad-insensitive collation).
pub async fn reasons(app: &TestApp, username: &str) -> Vec<String> {
    app.ledger()
        .hook_calls_for(username)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.username == username)
        .map(|c| c.reason)
        .collect()
}

async fn count_reasons(app: &TestApp, username: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in reasons(app, username).await {
        *out.entry(r).or_default() += 1;
    }
    out
}

async fn burst_evaluates_at_most_the_limit(kind: DbKind) {
    let Some(app) = app_with_users(kind, &[("burst@example.com", "right")], BY_EMAIL, |s| {
        s.hook.throttle.per_row_ip = Some(10);
    })
    .await
    else {
        return;
    };
    // Warm the pools with an unrelated call, so the burst measures the
    // throttle rather than connection set-up.
    send(
        &app,
        &body_from("warm-up@example.com", "x", Some("192.0.2.99")),
    )
    .await;
    let mut calls: Vec<_> = (0..15)
        .map(|i| {
            body_from(
                "burst@example.com",
                &format!("wrong-{i}"),
                Some("198.51.100.7"),
            )
        })
        .collect();
    calls.insert(
        7,
        body_from("burst@example.com", "right", Some("198.51.100.7")),
    );
    let verdicts = futures::future::join_all(calls.iter().map(|b| send(&app, b))).await;
    assert_eq!(verdicts.len(), 16);

    // The property: at most 10 wrong guesses reached the stored hash (the
    // right one gives its place back, so at most 11 verifications). On an
    // overloaded machine some of the others may answer `timeout` or
    // `ledger_unavailable` instead of `throttled`; none is evaluated.
    assert!(user_verifications(&app) <= 11, "{:?}", verify_counts(&app));
    let reasons = count_reasons(&app, "burst@example.com").await;
    let wrong = reasons.get("wrong_password").copied().unwrap_or(0);
    assert!(wrong <= 10, "{wrong} wrong guesses evaluated: {reasons:?}");
    assert!(
        reasons.get("throttled").copied().unwrap_or(0) >= 1,
        "{reasons:?}"
    );
    let verified = verdicts.iter().filter(|v| *v == "VERIFIED").count();
    assert!(verified <= 1, "{reasons:?}");
}

async fn case_variants_share_one_count(kind: DbKind) {
    let Some(app) = app_with_users(
        kind,
        &[("alice@example.com", "right")],
        BY_LOWER_EMAIL,
        |s| {
            s.hook.throttle.per_row_ip = Some(3);
        },
    )
    .await
    else {
        return;
    };
    let ip = Some("198.51.100.8");
    for (i, variant) in [
        "Alice@example.com",
        "ALICE@EXAMPLE.COM",
        "alice@Example.com",
    ]
    .iter()
    .enumerate()
    {
        let body = body_from(variant, &format!("wrong-{i}"), ip);
        assert_eq!(send(&app, &body).await, "UNVERIFIED");
    }
    assert_eq!(
        send(&app, &body_from("aLiCe@eXaMpLe.cOm", "right", ip)).await,
        "UNVERIFIED",
        "a fourth spelling of the same row is throttled"
    );
    assert_eq!(reasons(&app, "aLiCe@eXaMpLe.cOm").await, ["throttled"]);
    assert_eq!(user_verifications(&app), 3);
}

async fn an_attacker_ip_does_not_lock_out_the_real_user(kind: DbKind) {
    let Some(app) = app_with_users(kind, &[("bob@example.com", "right")], BY_EMAIL, |s| {
        s.hook.throttle.per_row_ip = Some(3);
        s.hook.throttle.per_row = 10;
    })
    .await
    else {
        return;
    };
    let attacker = Some("203.0.113.66");
    for i in 0..3 {
        let body = body_from("bob@example.com", &format!("guess-{i}"), attacker);
        assert_eq!(send(&app, &body).await, "UNVERIFIED");
    }
    assert_eq!(
        send(&app, &body_from("bob@example.com", "right", attacker)).await,
        "UNVERIFIED",
        "the attacker's IP is locked, even with the right password"
    );
    assert_eq!(
        send(
            &app,
            &body_from("bob@example.com", "right", Some("192.0.2.10"))
        )
        .await,
        "VERIFIED",
        "the real user from another IP gets in"
    );
    assert_eq!(
        reasons(&app, "bob@example.com").await,
        [
            "wrong_password",
            "wrong_password",
            "wrong_password",
            "throttled",
            "verified"
        ]
    );
}

async fn spraying_from_one_ip_is_limited(kind: DbKind) {
    let Some(app) = app_with_users(
        kind,
        &[("u1@example.com", "p1"), ("u2@example.com", "p2")],
        BY_EMAIL,
        |s| s.hook.throttle.per_ip = 3,
    )
    .await
    else {
        return;
    };
    let sprayer = Some("203.0.113.99");
    assert_eq!(
        send(&app, &body_from("u1@example.com", "Summer2026", sprayer)).await,
        "UNVERIFIED"
    );
    assert_eq!(
        send(
            &app,
            &body_from("nobody@example.com", "Summer2026", sprayer)
        )
        .await,
        "UNVERIFIED"
    );
    assert_eq!(
        send(&app, &body_from("u2@example.com", "Summer2026", sprayer)).await,
        "UNVERIFIED"
    );
    assert_eq!(
        send(&app, &body_from("u2@example.com", "p2", sprayer)).await,
        "UNVERIFIED",
        "the IP's budget is spent across rows"
    );
    assert_eq!(
        reasons(&app, "u2@example.com").await,
        ["wrong_password", "throttled"]
    );
    assert_eq!(
        send(&app, &body_from("u2@example.com", "p2", Some("192.0.2.20"))).await,
        "VERIFIED"
    );
}

/// Two processes ("replicas") sharing one ledger apply overlapping batches at
/// once: the shared counters never let more attempts through than a limit,
/// all-or-nothing holds across keys, and the lock order never deadlocks.
async fn replicas_batches_share_one_limit(kind: DbKind) {
    use passbridge::ledger::{Counter, CounterChange, CounterOutcome, Ledger};
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    let (a, b) = (
        Ledger::connect(&db.url).await.expect("ledger a"),
        Ledger::connect(&db.url).await.expect("ledger b"),
    );
    let attempt = |i: usize| {
        // Every attempt shares `row:shared` (limit 30); each also names one
        // of five IP counters (limit 8), in varying key order.
        let ip = format!("ip:10.0.0.{}", i % 5);
        let mut counters = vec![
            Counter {
                key: "row:shared".to_owned(),
                limit: 30,
            },
            Counter { key: ip, limit: 8 },
        ];
        if i.is_multiple_of(2) {
            counters.reverse();
        }
        CounterChange::Reserve(counters)
    };
    let now = 1_000_000;
    let batches = (0..10).map(|n| {
        let ledger = if n % 2 == 0 { a.clone() } else { b.clone() };
        let changes: Vec<CounterChange> = (0..10).map(|i| attempt(n * 10 + i)).collect();
        async move { ledger.throttle_apply(&changes, now, 60_000).await }
    });
    let results = futures::future::join_all(batches).await;
    let mut reserved = 0;
    for r in results {
        let outcomes = r.expect("no batch fails (no deadlock, no lock timeout)");
        reserved += outcomes
            .iter()
            .filter(|o| **o == CounterOutcome::Reserved)
            .count();
    }
    assert_eq!(reserved, 30, "100 attempts against a shared limit of 30");
    let expired_before = now - 60_000;
    assert_eq!(
        a.throttle_attempts("row:shared", expired_before)
            .await
            .unwrap(),
        30
    );
    let mut per_ip = 0;
    for i in 0..5 {
        let n = b
            .throttle_attempts(&format!("ip:10.0.0.{i}"), expired_before)
            .await
            .unwrap();
        assert!(n <= 8, "ip counter {i} took {n} > 8");
        per_ip += n;
    }
    assert_eq!(
        per_ip, 30,
        "every reserved attempt counted once per IP, refused ones not at all"
    );
}

on_every_db! {
    replicas_batches => replicas_batches_share_one_limit;
    burst => burst_evaluates_at_most_the_limit;
    case_variants => case_variants_share_one_count;
    per_row_ip => an_attacker_ip_does_not_lock_out_the_real_user;
    per_ip => spraying_from_one_ip_is_limited;
}

#[tokio::test]
#[cfg_attr(
    not(passbridge_test_mysql),
    ignore = "skipped: set PASSBRIDGE_TEST_MYSQL_URL to run against MariaDB"
)]
async fn mariadb_collation_variants_share_one_count() {
    // MariaDB's default collation matches case and trailing spaces with a plain `=`.
    let Some(app) = app_with_users(
        DbKind::MySql,
        &[("carol@example.com", "right")],
        BY_EMAIL,
        |s| {
            s.hook.throttle.per_row_ip = Some(2);
        },
    )
    .await
    else {
        return;
    };
    let ip = Some("198.51.100.9");
    assert_eq!(
        send(&app, &body_from("CAROL@example.com", "w1", ip)).await,
        "UNVERIFIED"
    );
    assert_eq!(
        send(&app, &body_from("carol@example.com  ", "w2", ip)).await,
        "UNVERIFIED"
    );
    assert_eq!(
        send(&app, &body_from("Carol@Example.com", "right", ip)).await,
        "UNVERIFIED"
    );
    assert_eq!(reasons(&app, "Carol@Example.com").await, ["throttled"]);
}

#[tokio::test]
async fn unknown_users_are_throttled_by_normalised_username() {
    let app = app_with_users(DbKind::Sqlite, &[], BY_EMAIL, |s| {
        s.hook.throttle.per_row_ip = Some(2);
    })
    .await
    .unwrap();
    let ip = Some("198.51.100.10");
    assert_eq!(
        send(&app, &body_from("Ghost@example.com", "a", ip)).await,
        "UNVERIFIED"
    );
    assert_eq!(
        send(&app, &body_from(" GHOST@EXAMPLE.COM", "b", ip)).await,
        "UNVERIFIED"
    );
    assert_eq!(
        send(&app, &body_from("ghost@example.com", "c", ip)).await,
        "UNVERIFIED"
    );
    assert_eq!(reasons(&app, "Ghost@example.com").await, ["unknown_user"]);
    assert_eq!(reasons(&app, "ghost@example.com").await, ["throttled"]);
}

#[tokio::test]
async fn calls_without_an_ip_share_the_unknown_bucket() {
    let app = app_with_users(
        DbKind::Sqlite,
        &[("dan@example.com", "right")],
        BY_EMAIL,
        |s| {
            s.hook.throttle.per_ip = 2;
        },
    )
    .await
    .unwrap();
    assert_eq!(
        send(&app, &body_from("x1@example.com", "a", None)).await,
        "UNVERIFIED"
    );
    assert_eq!(
        send(&app, &body_from("x2@example.com", "a", Some("not-an-ip"))).await,
        "UNVERIFIED"
    );
    assert_eq!(
        send(&app, &body_from("dan@example.com", "right", None)).await,
        "UNVERIFIED"
    );
    assert_eq!(reasons(&app, "dan@example.com").await, ["throttled"]);
    assert_eq!(
        send(
            &app,
            &body_from("dan@example.com", "right", Some("192.0.2.30"))
        )
        .await,
        "VERIFIED"
    );
}

#[tokio::test]
async fn a_throttled_attempt_costs_a_verification_like_a_wrong_password() {
    let app = app_with_users(
        DbKind::Sqlite,
        &[("eve@example.com", "right")],
        BY_EMAIL,
        |s| {
            s.hook.throttle.per_row_ip = Some(1);
        },
    )
    .await
    .unwrap();
    let ip = Some("198.51.100.11");
    assert_eq!(
        send(&app, &body_from("eve@example.com", "wrong", ip)).await,
        "UNVERIFIED"
    );
    let (total, real) = (total_verifications(&app), user_verifications(&app));
    assert_eq!((total, real), (1, 1));
    assert_eq!(
        send(&app, &body_from("eve@example.com", "right", ip)).await,
        "UNVERIFIED"
    );
    assert_eq!(
        reasons(&app, "eve@example.com").await,
        ["wrong_password", "throttled"]
    );
    assert_eq!(
        total_verifications(&app),
        total + 1,
        "a dummy verification ran"
    );
    assert_eq!(
        user_verifications(&app),
        real,
        "the stored hash was not tried"
    );
    assert!(app
        .state
        .metrics
        .render()
        .contains("passbridge_throttle_denials_total{scope=\"row_ip\"} 1"));
}

#[tokio::test]
async fn counts_survive_a_restart() {
    let mut app = app_with_users(
        DbKind::Sqlite,
        &[("fay@example.com", "right")],
        BY_EMAIL,
        |s| {
            s.hook.throttle.per_row_ip = Some(2);
        },
    )
    .await
    .unwrap();
    let ip = Some("198.51.100.12");
    for pw in ["w1", "w2"] {
        assert_eq!(
            send(&app, &body_from("fay@example.com", pw, ip)).await,
            "UNVERIFIED"
        );
    }
    let _ = app.take_stop().send(());
    app.stopped.take().unwrap().await.unwrap().unwrap();
    let db = app.db;

    let query = placeholders(DbKind::Sqlite, BY_EMAIL);
    let again = spawn_app_with(db, |s| {
        s.legacy.query = Some(query);
        s.hook.throttle.per_row_ip = Some(2);
    })
    .await;
    assert_eq!(
        send(&again, &body_from("fay@example.com", "right", ip)).await,
        "UNVERIFIED"
    );
    assert_eq!(
        reasons(&again, "fay@example.com").await,
        ["wrong_password", "wrong_password", "throttled"]
    );
}

#[tokio::test]
async fn a_ledger_the_throttle_cannot_use_counts_in_the_process() {
    let app = app_with_users(
        DbKind::Sqlite,
        &[("gil@example.com", "right")],
        BY_EMAIL,
        |s| s.hook.throttle.per_row_ip = Some(2),
    )
    .await
    .unwrap();
    sqlx::query("DROP TABLE throttle_counters")
        .execute(app.ledger().pool())
        .await
        .unwrap();
    let ip = Some("192.0.2.40");
    // The outage stops neither sign-ins nor the limit.
    assert_eq!(
        send(&app, &body_from("gil@example.com", "right", ip)).await,
        "VERIFIED"
    );
    for _ in 0..2 {
        assert_eq!(
            send(&app, &body_from("gil@example.com", "wrong", ip)).await,
            "UNVERIFIED"
        );
    }
    let before = total_verifications(&app);
    assert_eq!(
        send(&app, &body_from("gil@example.com", "right", ip)).await,
        "UNVERIFIED",
        "the in-process count holds the limit"
    );
    assert_eq!(
        reasons(&app, "gil@example.com").await,
        ["verified", "wrong_password", "wrong_password", "throttled"]
    );
    assert_eq!(
        total_verifications(&app),
        before + 1,
        "a dummy verification ran"
    );
}

#[tokio::test]
async fn the_row_id_column_keys_the_count() {
    // The stored hash changes (a password reset in the legacy app) but the id
    // stays: the count stays with the row.
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    let pool = db.pool().await;
    sqlx::query("CREATE TABLE accounts (id INTEGER PRIMARY KEY, login TEXT, pw TEXT)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO accounts (id, login, pw) VALUES (7, 'hal@example.com', ?)")
        .bind(hex_sha256("old"))
        .execute(&pool)
        .await
        .unwrap();
    let app = spawn_app_with(db, |s| {
        s.legacy.query = Some(
            "SELECT id, pw AS password_hash, 'hex_sha256' AS scheme FROM accounts WHERE login = ?"
                .into(),
        );
        s.hook.throttle.per_row_ip = Some(1);
    })
    .await;
    let ip = Some("198.51.100.13");
    assert_eq!(
        send(&app, &body_from("hal@example.com", "x", ip)).await,
        "UNVERIFIED"
    );
    sqlx::query("UPDATE accounts SET pw = ? WHERE id = 7")
        .bind(hex_sha256("new"))
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        send(&app, &body_from("hal@example.com", "new", ip)).await,
        "UNVERIFIED"
    );
    assert_eq!(
        reasons(&app, "hal@example.com").await,
        ["wrong_password", "throttled"]
    );
}

#[tokio::test]
async fn throttle_clear_through_the_binary() {
    let app = app_with_users(
        DbKind::Sqlite,
        &[("ivy@example.com", "right")],
        BY_EMAIL,
        |s| {
            s.hook.throttle.per_row_ip = Some(2);
            s.hook.throttle.per_ip = 3;
        },
    )
    .await
    .unwrap();
    let ip = "198.51.100.14";
    for pw in ["w1", "w2"] {
        assert_eq!(
            send(&app, &body_from("ivy@example.com", pw, Some(ip))).await,
            "UNVERIFIED"
        );
    }
    assert_eq!(
        send(&app, &body_from("ivy@example.com", "right", Some(ip))).await,
        "UNVERIFIED"
    );

    let run = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("passbridge"));
        cmd.args(args)
            .env("PASSBRIDGE_LEGACY_URL", app.db.url.expose())
            .env("PASSBRIDGE_LEGACY_QUERY", BY_EMAIL)
            .env_remove("PASSBRIDGE_LEDGER_URL")
            .env_remove("PASSBRIDGE_CONFIG");
        cmd.output()
    };
    let out = run(&["throttle", "clear", "ivy@example.com"])
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("cleared 2 counter(s) for \"ivy@example.com\"'s legacy row (row:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("cleared 0 counter(s) for the username"),
        "{stdout}"
    );
    assert_eq!(
        send(&app, &body_from("ivy@example.com", "wrong-again", Some(ip))).await,
        "UNVERIFIED"
    );
    assert_eq!(
        reasons(&app, "ivy@example.com")
            .await
            .last()
            .map(String::as_str),
        Some("wrong_password"),
        "the row's count started over"
    );
    // The IP has now spent its 3 attempts; clearing it lets the user in.
    assert_eq!(
        send(&app, &body_from("ivy@example.com", "right", Some(ip))).await,
        "UNVERIFIED"
    );
    let out = run(&["throttle", "clear", "--ip", ip]).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("cleared 1 counter(s) for IP {ip}")),
        "{stdout}"
    );
    assert_eq!(
        send(&app, &body_from("ivy@example.com", "right", Some(ip))).await,
        "VERIFIED"
    );

    let out = run(&["throttle", "clear", "--ip", "nonsense"])
        .await
        .unwrap();
    assert!(!out.status.success());
}
