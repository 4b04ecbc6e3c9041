//! Test-only: a fresh, migrated ledger on SQLite (a temp file), PostgreSQL
//! or MariaDB (a `pb_<uuid>` database on the server named by
//! `PASSBRIDGE_TEST_PG_URL` / `PASSBRIDGE_TEST_MYSQL_URL`, dropped at the
//! end), and `on_every_ledger!` to run one scenario on all three.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::Ledger;
use crate::db::{self, DatabaseUrl, DbKind, PoolSettings};

/// A ledger that lives as long as the test.
pub(crate) struct TestLedger {
    /// The migrated ledger.
    pub(crate) ledger: Ledger,
    _dir: tempfile::TempDir,
    server: Option<(DatabaseUrl, String)>,
}

impl TestLedger {
    /// A fresh ledger of `kind`; `None` when that server is not configured.
    pub(crate) async fn create(kind: DbKind) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let var = match kind {
            DbKind::Sqlite => {
                let url = DatabaseUrl::sqlite_file(&dir.path().join("ledger.db"));
                let ledger = Ledger::connect(&url).await.unwrap();
                return Some(Self {
                    ledger,
                    _dir: dir,
                    server: None,
                });
            }
            DbKind::Postgres => "PASSBRIDGE_TEST_PG_URL",
            DbKind::MySql => "PASSBRIDGE_TEST_MYSQL_URL",
        };
        // Marked ignored at build time when unset (build.rs): unset now is a mistake.
        let admin = std::env::var(var)
            .unwrap_or_else(|_| panic!("{var} was set when the tests were built but is not now"));
        let admin: DatabaseUrl = admin.parse().unwrap();
        let name = format!("pb_{}", uuid::Uuid::new_v4().simple());
        let pool = db::connect(&admin, PoolSettings::default()).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let mut url = url::Url::parse(admin.expose()).unwrap();
        url.set_path(&format!("/{name}"));
        let url: DatabaseUrl = url.as_str().parse().unwrap();
        let ledger = Ledger::connect(&url).await.unwrap();
        Some(Self {
            ledger,
            _dir: dir,
            server: Some((admin, name)),
        })
    }
}

impl Drop for TestLedger {
    fn drop(&mut self) {
        let Some((admin, name)) = self.server.take() else {
            return;
        };
        let statement = match admin.kind() {
            DbKind::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            _ => format!("DROP DATABASE IF EXISTS {name}"),
        };
        // Drop runs inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(pool) = db::connect(&admin, PoolSettings::default()).await {
                    let _ = sqlx::query(&statement).execute(&pool).await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

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
pub(crate) use on_every_ledger;
