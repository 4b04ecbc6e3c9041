//! Test support (hidden from the docs; the `tests/api` harness uses
//! [`ServerDb`] too): a fresh, migrated ledger on SQLite (a temp file), PostgreSQL
//! or MariaDB (a `pb_<uuid>` database on the server named by
//! `PASSBRIDGE_TEST_PG_URL` / `PASSBRIDGE_TEST_MYSQL_URL`, dropped at the
//! end), and `on_every_ledger!` to run one scenario on all three.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::db::{self, DatabaseUrl, DbKind, PoolSettings};

/// The variable naming the test server of `kind` (`None` for SQLite).
pub fn server_var(kind: DbKind) -> Option<&'static str> {
    match kind {
        DbKind::Sqlite => None,
        DbKind::Postgres => Some("PASSBRIDGE_TEST_PG_URL"),
        DbKind::MySql => Some("PASSBRIDGE_TEST_MYSQL_URL"),
    }
}

/// A `pb_<uuid>` database of its own on the test server named by `var`,
/// dropped when this value is (so runs leave nothing behind;
/// `scripts/ensure-databases.sh` also sweeps leftovers of killed runs).
pub struct ServerDb {
    /// The new database.
    pub url: DatabaseUrl,
    admin: DatabaseUrl,
    name: String,
}

impl ServerDb {
    /// Creates the database; panics when `var` is unset or the server refuses.
    pub async fn create(var: &str) -> Self {
        // Server tests are marked ignored at build time when their variable is
        // unset (see build.rs), so reaching here without it means the variable
        // was unset after the build: say so instead of passing silently.
        let Ok(admin) = std::env::var(var) else {
            panic!("{var} was set when the tests were built but is not set now; rebuild or set it");
        };
        let admin: DatabaseUrl = admin.parse().expect("test server URL");
        let name = format!("pb_{}", uuid::Uuid::new_v4().simple());
        let pool = db::connect(&admin, PoolSettings::default())
            .await
            .expect("connect to test server");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await
            .expect("create test database");
        pool.close().await;
        let mut url = url::Url::parse(admin.expose()).expect("url");
        url.set_path(&format!("/{name}"));
        Self {
            url: url.as_str().parse().expect("db url"),
            admin,
            name,
        }
    }
}

impl Drop for ServerDb {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let statement = match admin.kind() {
            DbKind::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            _ => format!("DROP DATABASE IF EXISTS {}", self.name),
        };
        // Drop runs inside the test's runtime: use a thread with its own.
        let dropper = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let work = async {
                    let pool = db::connect(&admin, PoolSettings::default()).await.ok()?;
                    let _ = sqlx::query(&statement).execute(&pool).await;
                    pool.close().await;
                    Some(())
                };
                let _ = tokio::time::timeout(std::time::Duration::from_secs(15), work).await;
            });
        });
        let _ = dropper.join();
    }
}

/// A ledger that lives as long as the test.
#[cfg(test)]
pub(crate) struct TestLedger {
    /// The migrated ledger.
    pub(crate) ledger: super::Ledger,
    _dir: tempfile::TempDir,
    _server: Option<ServerDb>,
}

#[cfg(test)]
impl TestLedger {
    /// A fresh ledger of `kind`; `None` when that server is not configured.
    pub(crate) async fn create(kind: DbKind) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let server = match server_var(kind) {
            Some(var) => Some(ServerDb::create(var).await),
            None => None,
        };
        let url = match &server {
            Some(server) => server.url.clone(),
            None => DatabaseUrl::sqlite_file(&dir.path().join("ledger.db")),
        };
        let ledger = super::Ledger::connect(&url).await.unwrap();
        Some(Self {
            ledger,
            _dir: dir,
            _server: server,
        })
    }
}

#[cfg(test)]
/// `#[tokio::test]`s running `scenario(kind)` on SQLite, PostgreSQL and MariaDB.
macro_rules! on_every_ledger {
    ($($name:ident => $scenario:ident;)*) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() { super::$scenario($crate::db::DbKind::Sqlite).await }
                #[tokio::test]
                #[cfg_attr(not(passbridge_test_pg), ignore = "skipped: set PASSBRIDGE_TEST_PG_URL to run against PostgreSQL")]
                async fn postgres() { super::$scenario($crate::db::DbKind::Postgres).await }
                #[tokio::test]
                #[cfg_attr(not(passbridge_test_mysql), ignore = "skipped: set PASSBRIDGE_TEST_MYSQL_URL to run against MariaDB")]
                async fn mariadb() { super::$scenario($crate::db::DbKind::MySql).await }
            }
        )*
    };
}
#[cfg(test)]
pub(crate) use on_every_ledger;
