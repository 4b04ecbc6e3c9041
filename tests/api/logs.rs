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

/// Runs the hook (header and OAuth modes), the importer and the hash CLI at
/// `trace` level and looks for every secret in everything they wrote: the
/// passwords, stored hashes, a salt, a pepper, the hook secret, a bearer
/// token, the OAuth client secret and the Okta API token.
#[tokio::test(flavor = "multi_thread")]
async fn no_secret_at_trace_level_in_hook_importer_or_hash_cli() {
    use passbridge::config::HookAuthMode;
    use passbridge::okta::{CreateUser, InlineHookCreate};

    use crate::helpers::{spawn_app_with, TestDb};
    use crate::okta_standin::{client, profile, sign_in, standin, TOKEN};

    let password = "Trace-Pa55word-51ab";
    let salt = "TraceSalt-9c0e7d";
    let pepper = "TracePepper-3f2a81";
    let salted = hex::encode(Sha256::digest(format!("{salt}{password}").as_bytes()));
    let bcrypt = bcrypt::hash_with_salt(password, 4, [7u8; 16])
        .unwrap()
        .to_string();

    // Hook, header mode, and the importer against the stand-in.
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    db.create_users_table().await;
    db.insert_user(
        "salted@example.com",
        &salted,
        Some(salt),
        Some("salted_sha256"),
    )
    .await;
    db.insert_user("bcrypt@example.com", &bcrypt, None, None)
        .await;
    let legacy_url = db.url.expose().to_owned();
    let app = spawn_app_with(db, |s| {
        s.legacy
            .params
            .insert("salt_position".into(), "prefix".into());
    })
    .await;
    assert_eq!(
        app.verdict("salted@example.com", password).await,
        "VERIFIED"
    );
    assert_eq!(
        app.verdict("salted@example.com", "nope").await,
        "UNVERIFIED"
    );
    let stand = standin(|_| {}).await;
    client(&stand)
        .create_inline_hook(&InlineHookCreate::password_import(
            "passbridge",
            &format!("{}/hooks/password-import", app.address),
            "Authorization",
            app.secret.clone(),
            vec![],
        ))
        .await
        .unwrap();
    let ledger = tempfile::tempdir().unwrap();
    let org_url = stand.base_url.to_string();
    let ledger_url = format!("sqlite://{}?mode=rwc", ledger.path().join("l.db").display());
    let import = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_passbridge"))
            .args(["import", "--quiet"])
            .env_clear()
            .env("PASSBRIDGE_LEGACY_URL", &legacy_url)
            .env(
                "PASSBRIDGE_IMPORT_QUERY",
                "SELECT email AS login, email, 'Trace' AS firstName, 'User' AS lastName, \
                 password_hash, salt, scheme FROM users",
            )
            .env("PASSBRIDGE_LEDGER_URL", &ledger_url)
            .env("OKTA_ORG_URL", &org_url)
            .env("OKTA_API_TOKEN", TOKEN)
            .env("RUST_LOG", "trace")
            // An unknown variable makes a warning: proof the log stream is captured.
            .env("PASSBRIDGE_TRACE_PROBE", "1")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let import_out = format!(
        "{}{}",
        String::from_utf8_lossy(&import.stdout),
        String::from_utf8_lossy(&import.stderr)
    );
    assert_eq!(stand.user_count(), 2, "import: {import_out}");
    assert!(
        import_out.contains("PASSBRIDGE_TRACE_PROBE"),
        "the log output is captured"
    );

    // Hook, OAuth mode: the stand-in signs Okta's bearer token.
    let issuer = stand.oauth_issuer();
    let oauth_app = crate::helpers::spawn_app_with_user("oauth@example.com", password, |s| {
        s.hook.auth = HookAuthMode::Oauth2;
        s.hook.oauth.issuer = Some(issuer);
        s.hook.oauth.audience = Some(stand.oauth_audience().into());
        s.hook.oauth.client_id = Some("0oatrace".into());
        s.hook.oauth.scope = Some("passbridge.hook".into());
    })
    .await;
    let token = stand
        .mint_token("0oatrace", Some("passbridge.hook"))
        .await
        .unwrap();
    let resp = oauth_app
        .client
        .post(format!("{}/hooks/password-import", oauth_app.address))
        .bearer_auth(&token)
        .json(&okta_body("oauth@example.com", password))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let forged = format!("{token}x");
    let resp = oauth_app
        .client
        .post(format!("{}/hooks/password-import", oauth_app.address))
        .bearer_auth(&forged)
        .json(&okta_body("oauth@example.com", password))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    client(&stand)
        .create_user(&CreateUser::with_hook(profile("late@example.com")), true)
        .await
        .unwrap();
    let _ = sign_in(&stand, "late@example.com", password).await;

    // The hash CLI, batch and single, with a salt and a pepper.
    let batch = format!(
        "{}\n{}\n",
        serde_json::json!({"id":1,"hash":salted,"password":password,"scheme":"salted_sha256",
                           "salt":salt,"params":{"salt_position":"prefix"}}),
        serde_json::json!({"id":2,"hash":"00".repeat(32),"password":password,"scheme":"hmac_sha256",
                           "params":{"pepper":pepper}})
    );
    let hash_cli = assert_cmd::Command::cargo_bin("passbridge")
        .unwrap()
        .env_clear()
        .env("RUST_LOG", "trace")
        .env("PASSBRIDGE_TRACE_PROBE", "1")
        .args(["hash", "verify", "--batch", "-"])
        .write_stdin(batch)
        .output()
        .unwrap();
    let single = assert_cmd::Command::cargo_bin("passbridge")
        .unwrap()
        .env_clear()
        .env("RUST_LOG", "trace")
        .env("PASSBRIDGE_TRACE_PROBE", "1")
        .args(["hash", "verify", "--hash", &bcrypt])
        .write_stdin(format!("{password}\n"))
        .output()
        .unwrap();
    let hash_out = [hash_cli, single]
        .iter()
        .map(|o| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        })
        .collect::<String>();
    assert!(hash_out.contains("\"id\":1"), "hash CLI ran: {hash_out}");
    assert!(
        hash_out.contains("PASSBRIDGE_TRACE_PROBE"),
        "the log output is captured"
    );

    let everything = format!("{}{import_out}{hash_out}", captured_logs());
    assert!(everything.contains("hook answered"), "hook logs captured");
    let bcrypt_salt_and_hash = &bcrypt[7..];
    for (what, secret) in [
        ("password", password),
        ("salted hash", salted.as_str()),
        ("bcrypt hash", bcrypt_salt_and_hash),
        ("salt", salt),
        ("pepper", pepper),
        ("hook secret", app.secret.expose_secret()),
        ("bearer token", token.as_str()),
        ("bearer token signature", token.rsplit('.').next().unwrap()),
        ("Okta API token", TOKEN),
    ] {
        assert!(
            !everything.contains(secret),
            "the {what} reached the output"
        );
    }
}
