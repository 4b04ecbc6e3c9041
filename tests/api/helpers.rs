//! The test harness: a fresh database per test (SQLite always; PostgreSQL and
//! MariaDB when PASSBRIDGE_TEST_PG_URL / PASSBRIDGE_TEST_MYSQL_URL are set),
//! the real application on port 0, and captured logs.

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, OnceLock};

use passbridge::cmd::hook::{execute, HookCommand, HookContext, OrgArgs};
use passbridge::config::Settings;
use passbridge::db::{self, placeholders, DatabaseUrl, DbKind, PoolSettings};
use passbridge::ledger::test_db::{server_var, ServerDb};
use passbridge::ledger::Ledger;
use passbridge::startup::Application;
use passbridge::state::AppState;
use secrecy::{ExposeSecret, SecretString};
use sqlx::AnyPool;

/// Every log line any test app wrote, for the no-secrets-in-logs test.
pub fn captured_logs() -> String {
    let buf = log_buffer().lock().map(|b| b.clone()).unwrap_or_default();
    String::from_utf8_lossy(&buf).into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| Arc::new(Mutex::new(Vec::new())))
}

#[derive(Clone)]
struct CaptureWriter;

impl Write for CaptureWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = log_buffer().lock() {
            b.extend_from_slice(data);
        }
        if std::env::var_os("TEST_LOG").is_some() {
            std::io::stderr().write_all(data)?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CaptureWriter {
    type Writer = CaptureWriter;
    fn make_writer(&'a self) -> Self::Writer {
        CaptureWriter
    }
}

/// Installs the capturing subscriber once per test binary (JSON; passbridge at
/// trace level, dependencies at debug,
/// so the test sees everything that could ever be logged).
pub fn init_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        passbridge::telemetry::init(passbridge::telemetry::subscriber(
            "debug,passbridge=trace,tower_http=trace,sqlx=info,hyper=info,h2=info,reqwest=info,tower=info",
            passbridge::config::LogFormat::Json,
            CaptureWriter,
        ));
    });
}

/// A per-test database.
pub struct TestDb {
    /// Its URL.
    pub url: DatabaseUrl,
    /// Keeps a SQLite file (and every test's spool directory) alive.
    dir: tempfile::TempDir,
    /// On a server: the database, dropped when the test ends.
    _server: Option<ServerDb>,
}

impl TestDb {
    /// A fresh database of `kind`, or None (with a message) when its server is not configured.
    pub async fn create(kind: DbKind) -> Option<Self> {
        let dir = tempfile::tempdir().ok()?;
        let Some(var) = server_var(kind) else {
            return Some(Self {
                url: DatabaseUrl::sqlite_file(&dir.path().join("legacy.db")),
                dir,
                _server: None,
            });
        };
        let server = ServerDb::create(var).await;
        Some(Self {
            url: server.url.clone(),
            dir,
            _server: Some(server),
        })
    }

    /// Another handle on this same database with its own scratch directory
    /// (a second `serve` replica's spool); only the original drops the database.
    pub fn replica(&self) -> Self {
        Self {
            url: self.url.clone(),
            dir: tempfile::tempdir().expect("replica scratch dir"),
            _server: None,
        }
    }

    /// A pool on this database.
    pub async fn pool(&self) -> AnyPool {
        db::connect(&self.url, PoolSettings::default())
            .await
            .expect("connect")
    }

    /// The engine.
    pub fn kind(&self) -> DbKind {
        self.url.kind()
    }

    /// A scratch directory living as long as this database (the spool's home).
    pub fn scratch(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The lookup query in this engine's dialect.
    pub fn lookup_query(&self) -> String {
        placeholders(
            self.kind(),
            "SELECT password_hash, salt, scheme FROM users WHERE email = ?",
        )
    }

    /// Creates the legacy `users` table.
    pub async fn create_users_table(&self) {
        let pool = self.pool().await;
        sqlx::query(
            "CREATE TABLE users (email VARCHAR(255) NOT NULL PRIMARY KEY, password_hash VARCHAR(512) NOT NULL, \
             salt VARCHAR(255), scheme VARCHAR(64), migrated_at VARCHAR(64))",
        )
        .execute(&pool)
        .await
        .expect("create users");
        pool.close().await;
    }

    /// Inserts one legacy user.
    pub async fn insert_user(
        &self,
        email: &str,
        hash: &str,
        salt: Option<&str>,
        scheme: Option<&str>,
    ) {
        let pool = self.pool().await;
        let sql = placeholders(
            self.kind(),
            "INSERT INTO users (email, password_hash, salt, scheme) VALUES (?, ?, ?, ?)",
        );
        sqlx::query(&sql)
            .bind(email.to_owned())
            .bind(hash.to_owned())
            .bind(salt.map(str::to_owned))
            .bind(scheme.map(str::to_owned))
            .execute(&pool)
            .await
            .expect("insert user");
        pool.close().await;
    }

    /// `migrated_at` of a user.
    pub async fn migrated_at(&self, email: &str) -> Option<String> {
        let pool = self.pool().await;
        let sql = placeholders(self.kind(), "SELECT migrated_at FROM users WHERE email = ?");
        let v: Option<String> = sqlx::query_scalar(&sql)
            .bind(email.to_owned())
            .fetch_one(&pool)
            .await
            .expect("select");
        pool.close().await;
        v
    }
}

/// A running application.
pub struct TestApp {
    /// `http://127.0.0.1:PORT` of the hook listener.
    pub address: String,
    /// `http://127.0.0.1:PORT` of the admin listener (`/metrics`, `/readyz`).
    pub admin_address: String,
    /// The secret Okta would send.
    pub secret: SecretString,
    /// HTTP client.
    pub client: reqwest::Client,
    /// The app's state (ledger, metrics).
    pub state: AppState,
    /// The legacy database.
    pub db: TestDb,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// Resolves when the server has stopped.
    pub stopped: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// A long random secret.
pub fn random_secret() -> SecretString {
    SecretString::from(format!("test-secret-{}", uuid::Uuid::new_v4().simple()))
}

/// Settings for a test app on `db`: port 0, the users table, one secret, the
/// ledger in the same database for servers and next to the file for SQLite.
pub fn test_settings(db: &TestDb, secret: &SecretString) -> Settings {
    let mut s = Settings {
        listen: "127.0.0.1:0".parse().expect("addr"),
        admin_listen: "127.0.0.1:0".parse().expect("addr"),
        ..Settings::default()
    };
    s.legacy.url = Some(db.url.clone());
    s.legacy.query = Some(db.lookup_query());
    s.hook.secrets = vec![secret.clone()];
    if db.kind() != DbKind::Sqlite {
        s.ledger.url = Some(db.url.clone());
    }
    s.ledger.spool_dir = Some(db.scratch().join("spool"));
    s
}

/// Spawns the app on `db` with `tweak` applied to its settings.
pub async fn spawn_app_with(db: TestDb, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    init_logs();
    let secret = random_secret();
    let mut settings = test_settings(&db, &secret);
    tweak(&mut settings);
    let app = Application::build(settings).await.expect("build app");
    let address = format!("http://{}", app.local_addr());
    let admin_address = format!("http://{}", app.admin_addr());
    let state = app.state().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let stopped = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    TestApp {
        address,
        admin_address,
        secret,
        client: reqwest::Client::new(),
        state,
        db,
        stop: Some(tx),
        stopped: Some(stopped),
    }
}

/// Spawns the app on a fresh database of `kind` with a `users` table, or
/// None when that server is not configured.
pub async fn spawn_app(kind: DbKind) -> Option<TestApp> {
    let db = TestDb::create(kind).await?;
    db.create_users_table().await;
    Some(spawn_app_with(db, |_| {}).await)
}

/// A SQLite app whose one legacy user `email` is stored as the hex SHA-256
/// of `password` (scheme column `hex_sha256`), with `tweak` applied.
pub async fn spawn_app_with_user(
    email: &str,
    password: &str,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    use sha2::Digest;
    let db = TestDb::create(DbKind::Sqlite).await.expect("sqlite");
    db.create_users_table().await;
    let stored = hex::encode(sha2::Sha256::digest(password.as_bytes()));
    db.insert_user(email, &stored, None, Some("hex_sha256"))
        .await;
    spawn_app_with(db, tweak).await
}

/// Okta's request body for `username`/`password`.
pub fn okta_body(username: &str, password: &str) -> serde_json::Value {
    serde_json::json!({
        "eventId": uuid::Uuid::new_v4().simple().to_string(),
        "eventTime": "2020-01-17T21:23:56.000Z",
        "eventType": "com.okta.user.credential.password.import",
        "eventTypeVersion": "1.0",
        "contentType": "application/json",
        "cloudEventVersion": "0.1",
        "source": "https://example.okta.com/api/v1/inlineHooks/cbl2ad6phv9fsPLcF0g7",
        "data": {
            "context": {
                "request": {"id": "XiIl6wn7005Rr@fjYqeC7CCDBxw", "method": "POST",
                            "url": {"value": "/idp/idx/challenge/answer"}, "ipAddress": "66.124.153.138"},
                "credential": {"username": username, "password": password}
            },
            "action": {"credential": "UNVERIFIED"}
        }
    })
}

impl TestApp {
    /// POSTs Okta's body with the right secret.
    pub async fn post_hook(&self, username: &str, password: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/hooks/password-import", self.address))
            .header("Authorization", self.secret.expose_secret())
            .json(&okta_body(username, password))
            .send()
            .await
            .expect("request")
    }

    /// POSTs and returns the verdict string (asserting a 200 and the documented shape).
    pub async fn verdict(&self, username: &str, password: &str) -> String {
        let resp = self.post_hook(username, password).await;
        assert_eq!(resp.status(), 200);
        verdict_of(&resp.json::<serde_json::Value>().await.expect("json"))
    }

    /// The admin listener's `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.admin_address))
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.state.ledger
    }

    /// Reasons recorded for `username`, oldest first.
    pub async fn reasons(&self, username: &str) -> Vec<String> {
        self.ledger()
            .hook_calls_for(username)
            .await
            .expect("ledger")
            .into_iter()
            .map(|c| c.reason)
            .collect()
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.stopped.take() {
            Some(handle) => handle.await?,
            None => Ok(()),
        }
    }

    /// Takes the stop switch, to signal shutdown while requests are running.
    pub fn take_stop(&mut self) -> tokio::sync::oneshot::Sender<()> {
        self.stop.take().expect("not stopped yet")
    }
}

/// Extracts `commands[0].value.credential`, checking the documented shape.
pub fn verdict_of(body: &serde_json::Value) -> String {
    let commands = body["commands"].as_array().expect("commands array");
    assert_eq!(commands.len(), 1, "{body}");
    assert_eq!(commands[0]["type"], "com.okta.action.update", "{body}");
    commands[0]["value"]["credential"]
        .as_str()
        .expect("credential")
        .to_owned()
}

/// Generates `#[tokio::test]`s running `scenario(kind)` on SQLite, PostgreSQL and MariaDB.
#[macro_export]
macro_rules! on_every_db {
    ($($name:ident => $scenario:ident;)*) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() { super::$scenario(passbridge::db::DbKind::Sqlite).await }
                #[tokio::test]
                #[cfg_attr(not(passbridge_test_pg), ignore = "skipped: set PASSBRIDGE_TEST_PG_URL to run against PostgreSQL")]
                async fn postgres() { super::$scenario(passbridge::db::DbKind::Postgres).await }
                #[tokio::test]
                #[cfg_attr(not(passbridge_test_mysql), ignore = "skipped: set PASSBRIDGE_TEST_MYSQL_URL to run against MariaDB")]
                async fn mariadb() { super::$scenario(passbridge::db::DbKind::MySql).await }
            }
        )*
    };
}

/// `passbridge hook register` with the defaults: `url` the inline hook's
/// address, `events` the event hook's, `replace` its `--replace`.
pub fn hook_register(url: Option<&str>, events: Option<&str>, replace: bool) -> HookCommand {
    HookCommand::Register {
        url: url.map(|u| u.parse().expect("hook url")),
        events: events.map(|u| u.parse().expect("event hook url")),
        name: "passbridge password import".into(),
        replace,
        rotate_secret: false,
        auth_header: None,
        headers: vec![],
        auth: None,
        client_id: None,
        token_url: None,
        scope: None,
        hook_key_id: None,
        org: OrgArgs::default(),
    }
}

/// Runs one `passbridge hook` command (not on a terminal) with `stdin`,
/// returning its exit code (or error) and output.
pub async fn run_hook_with_input(
    ctx: &HookContext,
    cmd: HookCommand,
    stdin: &str,
) -> (anyhow::Result<ExitCode>, String) {
    let mut out = Vec::new();
    let mut input = std::io::Cursor::new(stdin.as_bytes().to_vec());
    let result = execute(cmd, ctx, &mut out, &mut input, false).await;
    (result, String::from_utf8(out).expect("utf-8 output"))
}

/// [`run_hook_with_input`] with nothing on stdin.
pub async fn run_hook(ctx: &HookContext, cmd: HookCommand) -> (anyhow::Result<ExitCode>, String) {
    run_hook_with_input(ctx, cmd, "").await
}
