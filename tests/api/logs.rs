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

/// A login that tries to forge a log line and recolour the terminal.
const FORGING_LOGIN: &str = "forge\nINFO fake line\x1b[31m@example.com";
/// How it must appear in a log line.
const FORGING_ESCAPED: &str = "forge\\nINFO fake line\\u{1b}[31m@example.com";

#[tokio::test]
async fn control_characters_in_a_login_are_escaped_in_json_logs() {
    let app = spawn_app(DbKind::Sqlite).await.unwrap();
    assert_eq!(app.verdict(FORGING_LOGIN, "pw").await, "UNVERIFIED");
    let logs = captured_logs();
    let answered: Vec<serde_json::Value> = logs
        .lines()
        .filter(|l| l.contains("hook answered") && l.contains("forge"))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answered.len(), 1, "{logs}");
    assert_eq!(answered[0]["span"]["username"], FORGING_ESCAPED);
}

#[derive(Clone, Default)]
struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

// Single-threaded runtime: the server's tasks run on this thread, under the
// pretty subscriber set as this thread's default.
#[tokio::test(flavor = "current_thread")]
async fn control_characters_in_a_login_are_escaped_in_pretty_logs() {
    let app = spawn_app(DbKind::Sqlite).await.unwrap();
    let buffer = Buffer::default();
    let _guard = tracing::subscriber::set_default(passbridge::telemetry::subscriber(
        "info",
        passbridge::config::LogFormat::Pretty,
        buffer.clone(),
    ));
    assert_eq!(app.verdict(FORGING_LOGIN, "pw").await, "UNVERIFIED");
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let answered: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("hook answered"))
        .collect();
    assert_eq!(answered.len(), 1, "{text}");
    assert!(answered[0].contains(FORGING_ESCAPED), "{text}");
    assert!(!text.contains('\x1b'), "raw escape in {text}");
    assert!(
        !text.lines().any(|l| l.starts_with("INFO fake line")),
        "forged line in {text}"
    );
}
