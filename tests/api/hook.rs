//! The password import hook end to end, on every database.

use passbridge::db::DbKind;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::helpers::{
    okta_body, spawn_app, spawn_app_with, spawn_app_with_user, verdict_of, TestDb,
};
use crate::on_every_db;

/// Okta's documented sample request (OAS `PasswordImportPayloadExample`), byte for byte.
const OKTA_SAMPLE: &str = r#"{
  "eventId": "3o9jBzq1SmOGmmsDsqyyeQ",
  "eventTime": "2020-01-17T21:23:56.000Z",
  "eventType": "com.okta.user.credential.password.import",
  "eventTypeVersion": "1.0",
  "contentType": "application/json",
  "cloudEventVersion": "0.1",
  "source": "https://${yourOktaDomain}/api/v1/inlineHooks/cbl2ad6phv9fsPLcF0g7",
  "data": {
    "context": {
      "request": {
        "id": "XiIl6wn7005Rr@fjYqeC7CCDBxw",
        "method": "POST",
        "url": { "value": "/idp/idx/challenge/answer" },
        "ipAddress": "66.124.153.138"
      },
      "credential": {
        "username": "isaac.brock@example.com",
        "password": "Okta"
      }
    },
    "action": { "credential": "UNVERIFIED" }
  }
}"#;

fn hex_sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

async fn okta_sample_is_verified(kind: DbKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    app.db
        .insert_user(
            "isaac.brock@example.com",
            &hex_sha256("Okta"),
            None,
            Some("hex_sha256"),
        )
        .await;

    let resp = app
        .client
        .post(format!("{}/hooks/password-import", app.address))
        .header("Authorization", app.secret.expose_secret())
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .body(OKTA_SAMPLE)
        .send()
        .await
        .unwrap();

    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.text().await.unwrap(),
        r#"{"commands":[{"type":"com.okta.action.update","value":{"credential":"VERIFIED"}}]}"#
    );
    let calls = app
        .ledger()
        .hook_calls_for("isaac.brock@example.com")
        .await
        .unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].verdict, "VERIFIED");
    assert_eq!(calls[0].reason, "verified");
    assert_eq!(calls[0].scheme.as_deref(), Some("hex_sha256"));
    assert_eq!(calls[0].event_id.as_deref(), Some("3o9jBzq1SmOGmmsDsqyyeQ"));
    let migrated = app.ledger().migrated_users().await.unwrap();
    assert_eq!(migrated.len(), 1);
    assert_eq!(migrated[0].username, "isaac.brock@example.com");
}

async fn wrong_password_and_unknown_user_are_unverified(kind: DbKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    app.db
        .insert_user(
            "ann@example.com",
            &hex_sha256("right-one"),
            None,
            Some("hex_sha256"),
        )
        .await;

    assert_eq!(
        app.verdict("ann@example.com", "wrong-one").await,
        "UNVERIFIED"
    );
    assert_eq!(
        app.verdict("nobody@example.com", "right-one").await,
        "UNVERIFIED"
    );
    assert_eq!(
        app.verdict("ann@example.com", "right-one").await,
        "VERIFIED"
    );

    assert_eq!(
        app.reasons("ann@example.com").await,
        ["wrong_password", "verified"]
    );
    assert_eq!(app.reasons("nobody@example.com").await, ["unknown_user"]);
    assert!(app
        .ledger()
        .migrated_users()
        .await
        .unwrap()
        .iter()
        .all(|u| u.username == "ann@example.com"));
}

async fn write_back_marks_the_legacy_row(kind: DbKind) {
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    db.create_users_table().await;
    db.insert_user(
        "wb@example.com",
        &hex_sha256("pw-wb"),
        None,
        Some("hex_sha256"),
    )
    .await;
    let sql = passbridge::db::placeholders(
        kind,
        "UPDATE users SET migrated_at = 'done' WHERE email = ?",
    );
    let app = spawn_app_with(db, |s| s.legacy.write_back = Some(sql)).await;

    assert_eq!(app.verdict("wb@example.com", "not-it").await, "UNVERIFIED");
    assert_eq!(
        app.db.migrated_at("wb@example.com").await,
        None,
        "no write-back on failure"
    );
    assert_eq!(app.verdict("wb@example.com", "pw-wb").await, "VERIFIED");
    // The write-back runs after the answer was sent, from the durable queue.
    let mut migrated = None;
    for _ in 0..100 {
        migrated = app.db.migrated_at("wb@example.com").await;
        if migrated.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(migrated.as_deref(), Some("done"));
}

async fn unusable_hashes_are_unverified_with_a_reason(kind: DbKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    app.db
        .insert_user("odd@example.com", "not-a-hash-at-all", None, None)
        .await;
    app.db
        .insert_user("short@example.com", "abc123", None, Some("hex_sha256"))
        .await;
    app.db
        .insert_user(
            "nosalt@example.com",
            &hex_sha256("x"),
            None,
            Some("salted_sha256"),
        )
        .await;
    app.db
        .insert_user("typo@example.com", &hex_sha256("x"), None, Some("sha-257"))
        .await;

    for user in [
        "odd@example.com",
        "short@example.com",
        "nosalt@example.com",
        "typo@example.com",
    ] {
        assert_eq!(app.verdict(user, "x").await, "UNVERIFIED", "{user}");
    }
    assert_eq!(app.reasons("odd@example.com").await, ["unsupported_hash"]);
    assert_eq!(app.reasons("short@example.com").await, ["malformed_hash"]);
    assert_eq!(app.reasons("nosalt@example.com").await, ["malformed_hash"]);
    assert_eq!(app.reasons("typo@example.com").await, ["unsupported_hash"]);
}

/// The login is only ever a bind parameter: SQL in it matches no row, on
/// every engine, and the right password of another user does not help.
async fn sql_in_the_login_is_only_data(kind: DbKind) {
    let Some(app) = spawn_app(kind).await else {
        return;
    };
    app.db
        .insert_user(
            "ann@example.com",
            &hex_sha256("right-one"),
            None,
            Some("hex_sha256"),
        )
        .await;
    for login in [
        "' OR '1'='1",
        "ann@example.com' --",
        "x'; DROP TABLE users; --",
        "\" OR \"\"=\"",
    ] {
        assert_eq!(
            app.verdict(login, "right-one").await,
            "UNVERIFIED",
            "{login}"
        );
        assert_eq!(app.reasons(login).await, ["unknown_user"], "{login}");
    }
    // The table is still there and the real user still signs in.
    assert_eq!(
        app.verdict("ann@example.com", "right-one").await,
        "VERIFIED"
    );
}

on_every_db! {
    sql_injection => sql_in_the_login_is_only_data;
    okta_sample => okta_sample_is_verified;
    wrong_and_unknown => wrong_password_and_unknown_user_are_unverified;
    write_back => write_back_marks_the_legacy_row;
    unusable_hashes => unusable_hashes_are_unverified_with_a_reason;
}

#[tokio::test]
async fn salted_digest_uses_the_salt_column_and_configured_params() {
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    db.create_users_table().await;
    let digest = hex::encode(
        Sha256::new()
            .chain_update("pw-salted")
            .chain_update("NaCl")
            .finalize(),
    );
    db.insert_user("salty@example.com", &digest, Some("NaCl"), None)
        .await;
    let app = spawn_app_with(db, |s| {
        s.legacy.scheme = Some("salted_sha256".into());
        s.legacy
            .params
            .insert("salt_position".into(), "suffix".into());
    })
    .await;

    assert_eq!(
        app.verdict("salty@example.com", "pw-salted").await,
        "VERIFIED"
    );
    assert_eq!(
        app.verdict("salty@example.com", "NaClpw-salted").await,
        "UNVERIFIED"
    );
}

#[tokio::test]
async fn lowercase_username_option_normalises_the_lookup() {
    let app = spawn_app_with_user("mixed@example.com", "pw-case", |s| {
        s.legacy.lowercase_username = true
    })
    .await;

    assert_eq!(
        app.verdict("  Mixed@Example.COM ", "pw-case").await,
        "VERIFIED"
    );
}

#[tokio::test]
async fn repeated_wrong_passwords_are_throttled_without_verifying() {
    let app = spawn_app_with_user("t@example.com", "right", |s| {
        s.hook.max_failures_per_user = 2
    })
    .await;

    assert_eq!(app.verdict("t@example.com", "w1").await, "UNVERIFIED");
    assert_eq!(app.verdict("t@example.com", "w2").await, "UNVERIFIED");
    assert_eq!(
        app.verdict("t@example.com", "right").await,
        "UNVERIFIED",
        "blocked even with the right password"
    );
    assert_eq!(
        app.reasons("t@example.com").await,
        ["wrong_password", "wrong_password", "throttled"]
    );
}

#[tokio::test]
async fn legacy_database_down_answers_unverified_and_goes_unready() {
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    let ledger_dir = tempfile::tempdir().unwrap();
    let ledger = passbridge::db::DatabaseUrl::sqlite_file(&ledger_dir.path().join("ledger.db"));
    let app = spawn_app_with(db, |s| {
        // Nothing listens on port 9: connections are refused at once.
        s.legacy.url = Some("postgres://postgres@127.0.0.1:9/legacy".parse().unwrap());
        s.legacy.query = Some("SELECT password_hash FROM users WHERE email = $1".into());
        s.ledger.url = Some(ledger);
    })
    .await;

    let started = std::time::Instant::now();
    assert_eq!(app.verdict("any@example.com", "pw").await, "UNVERIFIED");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "within Okta's budget"
    );
    assert_eq!(app.reasons("any@example.com").await, ["legacy_unavailable"]);

    let ready = app
        .client
        .get(format!("{}/readyz", app.admin_address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["legacy"], "down");
    assert_eq!(body["ledger"], "up");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"passbridge_dependency_errors_total{dependency="legacy"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn health_ready_and_metrics_answer() {
    let app = spawn_app(DbKind::Sqlite).await.unwrap();
    app.db
        .insert_user(
            "m@example.com",
            &hex_sha256("pw-m"),
            None,
            Some("hex_sha256"),
        )
        .await;
    assert_eq!(app.verdict("m@example.com", "pw-m").await, "VERIFIED");

    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = app
        .client
        .get(format!("{}/readyz", app.admin_address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let metrics = app.metrics().await;
    assert!(
        metrics
            .contains(r#"passbridge_hook_answers_total{verdict="VERIFIED",reason="verified"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("passbridge_verify_seconds_bucket"),
        "{metrics}"
    );
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn okta_retry_with_the_same_event_id_gets_the_same_answer() {
    let app = spawn_app(DbKind::Sqlite).await.unwrap();
    app.db
        .insert_user(
            "r@example.com",
            &hex_sha256("pw-r"),
            None,
            Some("hex_sha256"),
        )
        .await;
    let body = okta_body("r@example.com", "pw-r");
    for _ in 0..2 {
        let resp = app
            .client
            .post(format!("{}/hooks/password-import", app.address))
            .header("authorization", app.secret.expose_secret())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(verdict_of(&resp.json().await.unwrap()), "VERIFIED");
    }
    let calls = app.ledger().hook_calls_for("r@example.com").await.unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0].event_id, calls[1].event_id,
        "both attempts are traceable to one event"
    );
}

async fn slow_legacy_query_times_out_within_the_budget(kind: DbKind) {
    let sleepy = match kind {
        DbKind::Postgres => {
            "SELECT password_hash, salt, scheme FROM users, pg_sleep(2) WHERE email = $1"
        }
        DbKind::MySql => {
            "SELECT password_hash, salt, scheme FROM users WHERE email = ? AND SLEEP(2) = 0"
        }
        // SQLite has no sleep; the outage case is covered by the connection test.
        DbKind::Sqlite => return,
    };
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    db.create_users_table().await;
    db.insert_user(
        "sleepy@example.com",
        &hex_sha256("pw"),
        None,
        Some("hex_sha256"),
    )
    .await;
    let app = spawn_app_with(db, |s| {
        s.legacy.query = Some(sleepy.to_owned());
        s.legacy.query_timeout = std::time::Duration::from_millis(300);
    })
    .await;

    let started = std::time::Instant::now();
    assert_eq!(app.verdict("sleepy@example.com", "pw").await, "UNVERIFIED");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(
        app.reasons("sleepy@example.com").await,
        ["legacy_unavailable"]
    );
}

on_every_db! {
    slow_query => slow_legacy_query_times_out_within_the_budget;
}
