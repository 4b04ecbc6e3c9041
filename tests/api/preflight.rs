//! Start-up checks (`serve` refuses a broken lookup query or an unwritable
//! ledger; `--allow-degraded-start` starts unready) and who called the hook
//! (`hook test` and marked calls never count as migrations).

use std::io::Cursor;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use passbridge::cmd::hook::{execute, HookCommand, HookContext, OrgArgs};
use passbridge::db::{placeholders, DatabaseUrl, DbKind};
use passbridge::ledger::{Ledger, Origin};
use passbridge::legacy::ProbeError;
use passbridge::okta::{CreateUser, InlineHookCreate};
use passbridge::preflight::{self, Problem};
use secrecy::ExposeSecret;

use crate::helpers::{
    okta_body, random_secret, spawn_app_with, spawn_app_with_user, test_settings, TestDb,
};
use crate::okta_standin::{client, profile, sign_in, standin};
use crate::on_every_db;

/// The legacy problem the checks report for `query` on a fresh `users` table.
async fn legacy_problem(kind: DbKind, query: &str) -> Option<(String, Problem)> {
    let db = TestDb::create(kind).await?;
    db.create_users_table().await;
    let mut settings = test_settings(&db, &random_secret());
    settings.legacy.query = Some(placeholders(kind, query));
    let report = preflight::run(&settings).await;
    assert!(report.ledger.is_ok(), "{:?}", report.ledger);
    let failure = report
        .legacy
        .expect("legacy checked")
        .expect_err("the query must fail the check");
    let line = failure.to_string();
    Some((line, failure.problem))
}

async fn a_good_query_passes(kind: DbKind) {
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    db.create_users_table().await;
    let settings = test_settings(&db, &random_secret());
    let report = preflight::run(&settings).await;
    assert!(
        report.passed(),
        "{:?}",
        report.failures().collect::<Vec<_>>()
    );
    let line = report.legacy_ok_line().unwrap();
    assert!(line.contains("password_hash, salt, scheme"), "{line}");
}

async fn a_typo_in_the_query_fails(kind: DbKind) {
    let Some((line, problem)) =
        legacy_problem(kind, "SELEC password_hash FROM users WHERE email = ?").await
    else {
        return;
    };
    assert!(
        matches!(problem, Problem::Legacy(ProbeError::Prepare(_))),
        "{line}"
    );
    assert!(line.starts_with("legacy.query: "), "{line}");
    assert!(line.contains("fix: "), "{line}");
}

async fn a_missing_table_fails(kind: DbKind) {
    let Some((line, problem)) = legacy_problem(
        kind,
        "SELECT password_hash FROM no_such_users WHERE email = ?",
    )
    .await
    else {
        return;
    };
    assert!(
        matches!(problem, Problem::Legacy(ProbeError::Prepare(_))),
        "{line}"
    );
    assert!(line.starts_with("legacy.query: "), "{line}");
}

async fn a_missing_column_fails(kind: DbKind) {
    let Some((line, problem)) = legacy_problem(
        kind,
        "SELECT password_hash FROM users WHERE no_such_col = ?",
    )
    .await
    else {
        return;
    };
    assert!(
        matches!(problem, Problem::Legacy(ProbeError::Prepare(_))),
        "{line}"
    );
    // A query that runs but lacks the column the hook reads.
    let Some((line, problem)) =
        legacy_problem(kind, "SELECT email, salt FROM users WHERE email = ?").await
    else {
        return;
    };
    assert!(
        matches!(problem, Problem::Legacy(ProbeError::MissingHashColumn(_))),
        "{line}"
    );
    assert!(line.contains("AS password_hash"), "{line}");
    assert!(line.contains("email, salt"), "{line}");
}

on_every_db! {
    good_query => a_good_query_passes;
    typo => a_typo_in_the_query_fails;
    missing_table => a_missing_table_fails;
    missing_column => a_missing_column_fails;
}

#[tokio::test]
async fn an_unreachable_database_fails_naming_legacy_url() {
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    let mut settings = test_settings(&db, &random_secret());
    // Nothing listens on port 9: refused at once.
    settings.legacy.url = Some("postgres://postgres@127.0.0.1:9/legacy".parse().unwrap());
    settings.legacy.query = Some("SELECT password_hash FROM users WHERE email = $1".into());
    let started = Instant::now();
    let report = preflight::run(&settings).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let failure = report.legacy.unwrap().unwrap_err();
    assert!(
        matches!(failure.problem, Problem::Legacy(ProbeError::Unreachable(_))),
        "{failure}"
    );
    assert!(failure.to_string().starts_with("legacy.url: "), "{failure}");
}

#[tokio::test]
async fn a_missing_sqlite_file_fails_and_is_not_created() {
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-legacy.db");
    let mut settings = test_settings(&db, &random_secret());
    // Even with mode=rwc the check must not create the file.
    settings.legacy.url = Some(DatabaseUrl::sqlite_file(&missing));
    settings.ledger.url = Some(DatabaseUrl::sqlite_file(&dir.path().join("ledger.db")));
    let report = preflight::run(&settings).await;
    let failure = report.legacy.unwrap().unwrap_err();
    assert!(
        matches!(failure.problem, Problem::Legacy(ProbeError::MissingFile(_))),
        "{failure}"
    );
    assert!(failure.to_string().starts_with("legacy.url: "), "{failure}");
    assert!(!missing.exists(), "the check created the legacy file");
}

/// A migrated SQLite ledger, and its URL opened read-only.
async fn read_only_ledger(dir: &std::path::Path) -> DatabaseUrl {
    let path = dir.join("ledger.db");
    let ledger = Ledger::connect(&DatabaseUrl::sqlite_file(&path))
        .await
        .unwrap();
    ledger.pool().close().await;
    format!("sqlite://{}?mode=ro", path.display())
        .parse()
        .unwrap()
}

/// A migrated ledger on `db`'s server, and a URL for a user that may read
/// it and create tables (so opening and migrating work) but not insert.
async fn read_only_ledger_on_server(db: &TestDb) -> (DatabaseUrl, String) {
    let ledger = Ledger::connect(&db.url).await.unwrap();
    ledger.pool().close().await;
    let pool = db.pool().await;
    let user = format!("pb_ro_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let mut url = url::Url::parse(db.url.expose()).unwrap();
    let name = url.path().trim_start_matches('/').to_owned();
    let grants = match db.kind() {
        DbKind::Postgres => vec![
            format!("CREATE ROLE {user} LOGIN"),
            format!("GRANT CONNECT ON DATABASE {name} TO {user}"),
            format!("GRANT USAGE, CREATE ON SCHEMA public TO {user}"),
            format!("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user}"),
        ],
        _ => vec![
            format!("CREATE USER '{user}'@'%'"),
            format!("GRANT SELECT, CREATE ON {name}.* TO '{user}'@'%'"),
        ],
    };
    for sql in grants {
        sqlx::query(&sql).execute(&pool).await.unwrap();
    }
    pool.close().await;
    url.set_username(&user).unwrap();
    (url.as_str().parse().unwrap(), user)
}

async fn a_ledger_that_refuses_writes_fails(kind: DbKind) {
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    db.create_users_table().await;
    let dir = tempfile::tempdir().unwrap();
    let (ledger, user) = match kind {
        DbKind::Sqlite => (read_only_ledger(dir.path()).await, None),
        _ => {
            let (url, user) = read_only_ledger_on_server(&db).await;
            (url, Some(user))
        }
    };
    let mut settings = test_settings(&db, &random_secret());
    settings.ledger.url = Some(ledger);
    let report = preflight::run(&settings).await;
    assert!(report.legacy.as_ref().unwrap().is_ok());
    let failure = report.ledger.unwrap_err();
    // It opens (migrations are applied), and the write probe catches it.
    assert!(
        matches!(failure.problem, Problem::LedgerWrite(_)),
        "{failure}"
    );
    assert!(failure.to_string().starts_with("ledger.url: "), "{failure}");
    assert!(!failure.problem.is_legacy());
    if let Some(user) = user {
        // Best effort: leave no login behind on the shared server.
        let pool = db.pool().await;
        let cleanup = match kind {
            DbKind::Postgres => vec![format!("DROP OWNED BY {user}"), format!("DROP ROLE {user}")],
            _ => vec![format!("DROP USER '{user}'@'%'")],
        };
        for sql in cleanup {
            let _ = sqlx::query(&sql).execute(&pool).await;
        }
        pool.close().await;
    }
}

on_every_db! {
    read_only_ledger => a_ledger_that_refuses_writes_fails;
}

#[tokio::test]
async fn degraded_start_is_unready_until_the_query_works() {
    // The users table does not exist yet: SELECT 1 works, the lookup does not.
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    // Opening a pool creates the (empty) file.
    db.pool().await.close().await;
    let app = spawn_app_with(db, |_| {}).await;
    assert!(!preflight::legacy_ready(&app.state.legacy).await);
    let ready = |app: &crate::helpers::TestApp| {
        let req = app
            .client
            .get(format!("{}/readyz", app.admin_address))
            .send();
        async move {
            let resp = req.await.unwrap();
            let status = resp.status();
            let body: serde_json::Value = resp.json().await.unwrap();
            (status, body)
        }
    };
    let (status, body) = ready(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["legacy"], "down", "{body}");
    // The database comes up (the table appears): ready at the background
    // probe's next round.
    app.db.create_users_table().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let (status, body) = loop {
        let (status, body) = ready(&app).await;
        if status == 200 || Instant::now() > deadline {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(status, 200, "{body}");
    assert!(preflight::legacy_ready(&app.state.legacy).await);
}

// --- through the binary --------------------------------------------------------

fn serve(dir: &std::path::Path, legacy_url: &str, query: &str) -> Command {
    let mut cmd = Command::cargo_bin("passbridge").unwrap();
    cmd.current_dir(dir)
        .env_remove("PASSBRIDGE_ALLOW_DEGRADED_START")
        .env_remove("PASSBRIDGE_LEDGER_URL")
        .env(
            "PASSBRIDGE_HOOK_SECRET",
            "preflight-test-secret-0123456789abcdef",
        )
        .args(["serve", "--legacy-url", legacy_url, "--legacy-query", query]);
    cmd
}

async fn sqlite_users(dir: &std::path::Path) -> String {
    let url = DatabaseUrl::sqlite_file(&dir.join("users.db"));
    let pool = passbridge::db::connect(&url, Default::default())
        .await
        .unwrap();
    sqlx::query("CREATE TABLE users (email TEXT PRIMARY KEY, password_hash TEXT NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    format!("sqlite://{}", dir.join("users.db").display())
}

#[tokio::test]
async fn serve_refuses_a_broken_query_with_exit_2_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_users(dir.path()).await;
    for (query, key) in [
        (
            "SELECT password_hash FROM users WHERE emial = ?",
            "legacy.query",
        ),
        (
            "SELECT password_hash FROM no_such_table WHERE email = ?",
            "legacy.query",
        ),
        ("SELECT email FROM users WHERE email = ?", "legacy.query"),
    ] {
        let out = serve(dir.path(), &url, query)
            .args(["--listen", "127.0.0.1:0"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{query}: {stderr}");
        assert!(stderr.contains(&format!("error: {key}: ")), "{stderr}");
        assert!(stderr.contains("fix: "), "{stderr}");
        assert!(!stderr.contains("preflight-test-secret"), "{stderr}");
    }
    // A missing file: refused, and not created.
    let missing = dir.path().join("missing.db");
    let out = serve(
        dir.path(),
        &format!("sqlite://{}", missing.display()),
        "SELECT password_hash FROM users WHERE email = ?",
    )
    .args(["--listen", "127.0.0.1:0"])
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("error: legacy.url: "), "{stderr}");
    assert!(!missing.exists());
    // A read-only ledger: refused, even with --allow-degraded-start.
    let ledger = read_only_ledger(dir.path()).await;
    let out = serve(
        dir.path(),
        &url,
        "SELECT password_hash FROM users WHERE email = ?",
    )
    .args(["--listen", "127.0.0.1:0", "--allow-degraded-start"])
    .env("PASSBRIDGE_LEDGER_URL", ledger.expose())
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("error: ledger.url: "), "{stderr}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_with_allow_degraded_start_runs_unready() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_users(dir.path()).await;
    for by_env in [false, true] {
        let port = free_port();
        let admin_port = free_port();
        let mut cmd = serve(
            dir.path(),
            &url,
            "SELECT password_hash FROM no_such_table WHERE email = ?",
        );
        cmd.args(["--listen", &format!("127.0.0.1:{port}")]);
        cmd.args(["--admin-listen", &format!("127.0.0.1:{admin_port}")]);
        if by_env {
            cmd.env("PASSBRIDGE_ALLOW_DEGRADED_START", "1");
        } else {
            cmd.arg("--allow-degraded-start");
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        let resp = loop {
            match client
                .get(format!("http://127.0.0.1:{admin_port}/readyz"))
                .send()
                .await
            {
                Ok(resp) => break resp,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("serve never answered: {e}"),
            }
        };
        assert_eq!(resp.status(), 503, "by env: {by_env}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["legacy"], "down");
        assert_eq!(body["status"], "unready");
        child.kill().unwrap();
        let _ = child.wait();
    }
}

// --- who called ----------------------------------------------------------------

#[tokio::test]
async fn a_marked_call_is_recorded_as_test_and_not_migrated() {
    let app = spawn_app_with_user("t@example.com", "pw-t", |_| {}).await;
    let resp = app
        .client
        .post(format!("{}/hooks/password-import", app.address))
        .header("Authorization", app.secret.expose_secret())
        .header("x-passbridge-test", "1")
        .json(&okta_body("t@example.com", "pw-t"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        crate::helpers::verdict_of(&resp.json().await.unwrap()),
        "VERIFIED"
    );
    let calls = app.ledger().hook_calls_for("t@example.com").await.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].origin, Origin::Test);
    assert!(app.ledger().migrated_users().await.unwrap().is_empty());
    // The same call without the marker is Okta's and counts.
    assert_eq!(app.verdict("t@example.com", "pw-t").await, "VERIFIED");
    let migrated = app.ledger().migrated_users().await.unwrap();
    assert_eq!(migrated.len(), 1);
    assert_eq!(migrated[0].verified_calls, 1);
}

#[tokio::test]
async fn hook_test_is_not_a_migration_and_a_real_sign_in_is() {
    let app = spawn_app_with_user("h@example.com", "legacy-pw", |_| {}).await;
    let stand = standin(|_| {}).await;
    let okta = client(&stand);
    let url = format!("{}/hooks/password-import", app.address);
    let create = InlineHookCreate::password_import(
        "passbridge",
        &url,
        "Authorization",
        app.secret.clone(),
        vec![],
    );
    let id = okta.create_inline_hook(&create).await.unwrap().id;
    okta.create_user(&CreateUser::with_hook(profile("h@example.com")), true)
        .await
        .unwrap();
    let ctx = HookContext {
        client: client(&stand),
        secret: Some(app.secret.clone()),
        header: "Authorization".into(),
        configured: passbridge::cmd::hook::ConfiguredSecrets::default(),
        oauth: Default::default(),
        events: Default::default(),
    };

    // `passbridge hook test` through Okta's /execute: VERIFIED, but a test.
    let mut out = Vec::new();
    let mut input = Cursor::new(b"h@example.com\nlegacy-pw\n".to_vec());
    let cmd = HookCommand::Test {
        id,
        org: OrgArgs::default(),
    };
    let code = execute(cmd, &ctx, &mut out, &mut input, false)
        .await
        .unwrap();
    assert_eq!(code, ExitCode::SUCCESS, "{}", String::from_utf8_lossy(&out));
    let calls = app.ledger().hook_calls_for("h@example.com").await.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].verdict.as_str(), calls[0].origin),
        ("VERIFIED", Origin::Test)
    );
    assert!(app.ledger().migrated_users().await.unwrap().is_empty());

    // The user's real sign-in: Okta's call, counted.
    assert_eq!(sign_in(&stand, "h@example.com", "legacy-pw").await, 200);
    let calls = app.ledger().hook_calls_for("h@example.com").await.unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].origin, Origin::Okta);
    let migrated = app.ledger().migrated_users().await.unwrap();
    assert_eq!(migrated.len(), 1);
    assert_eq!(migrated[0].username, "h@example.com");
    assert_eq!(migrated[0].verified_calls, 1);
}

async fn rows_from_before_the_origin_column_count_as_okta(kind: DbKind) {
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    // The ledger as it was before origin: only the earlier migrations.
    let earlier = tempfile::tempdir().unwrap();
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(&migrations).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.as_str() < "20261202000001" {
            std::fs::copy(&path, earlier.path().join(&name)).unwrap();
        }
    }
    let pool = db.pool().await;
    sqlx::migrate::Migrator::new(earlier.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let insert = placeholders(
        kind,
        "INSERT INTO hook_calls (id, username, verdict, reason, latency_ms, created_at) \
         VALUES (?, ?, 'VERIFIED', 'verified', 5, '2026-11-30T10:00:00.000000Z')",
    );
    sqlx::query(&insert)
        .bind(uuid::Uuid::new_v4().to_string())
        .bind("old@example.com")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    // Today's ledger applies the origin migration over it.
    let ledger = Ledger::connect(&db.url).await.unwrap();
    let calls = ledger.hook_calls_for("old@example.com").await.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].origin, Origin::Okta);
    let migrated = ledger.migrated_users().await.unwrap();
    assert_eq!(migrated.len(), 1, "{migrated:?}");
    assert_eq!(migrated[0].username, "old@example.com");
}

on_every_db! {
    origin_migration => rows_from_before_the_origin_column_count_as_okta;
}
