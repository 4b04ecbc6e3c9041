//! Passwords, hook secrets and API tokens never reach the logs, even at debug
//! level and on every failure path.

use passbridge::db::DbKind;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::helpers::{captured_logs, okta_body, spawn_app};

#[tokio::test]
async fn no_password_or_secret_in_any_log_line() {
    let app = spawn_app(DbKind::Sqlite).await.unwrap();
    let right = "Right-Pa55word-7c1d";
    let wrong = "Wrong-Pa55word-94be";
    let unknown = "Unknown-Pa55word-e3f0";
    let stored_hash = hex::encode(Sha256::digest(right.as_bytes()));
    app.db
        .insert_user("log@example.com", &stored_hash, None, Some("hex_sha256"))
        .await;
    app.db
        .insert_user(
            "bad@example.com",
            "zz-malformed-hash-value-zz",
            None,
            Some("hex_sha256"),
        )
        .await;

    assert_eq!(app.verdict("log@example.com", right).await, "VERIFIED");
    assert_eq!(app.verdict("log@example.com", wrong).await, "UNVERIFIED");
    assert_eq!(
        app.verdict("nobody@example.com", unknown).await,
        "UNVERIFIED"
    );
    assert_eq!(app.verdict("bad@example.com", wrong).await, "UNVERIFIED");
    let unauthorized = app
        .client
        .post(format!("{}/hooks/password-import", app.address))
        .header("Authorization", format!("{}x", app.secret.expose_secret()))
        .json(&okta_body("log@example.com", right))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    let malformed = app
        .client
        .post(format!("{}/hooks/password-import", app.address))
        .header("Authorization", app.secret.expose_secret())
        .header("Content-Type", "application/json")
        .body(format!(r#"{{"data":{{"context":{{"credential":{{"username":"log@example.com","password":"{right}""#))
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);

    let logs = captured_logs();
    // The log capture works: the hook's own line is there, with its fields.
    assert!(logs.contains("hook answered"), "no hook log line captured");
    assert!(logs.contains("log@example.com"));
    assert!(logs.contains("wrong_password"));
    for secret in [
        right,
        wrong,
        unknown,
        app.secret.expose_secret(),
        &stored_hash,
        "zz-malformed-hash-value-zz",
    ] {
        assert!(!logs.contains(secret), "a secret value reached the logs");
    }
}
