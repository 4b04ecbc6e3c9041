//! Database plumbing shared by the legacy store and the ledger: URL handling
//! that never prints a password, one sqlx `Any` pool type for SQLite,
//! PostgreSQL and MySQL/MariaDB, and placeholder rewriting for our own SQL.

use std::fmt;
use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;

/// Which database engine a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DbKind {
    /// `sqlite:`
    Sqlite,
    /// `postgres:` / `postgresql:`
    Postgres,
    /// `mysql:` / `mariadb:`
    MySql,
}

/// Errors connecting to a database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL scheme is not one we support.
    #[error("unsupported database URL scheme in {0}; use sqlite://, postgres:// or mysql://")]
    UnsupportedScheme(String),
    /// Could not connect or run a statement.
    #[error("database error on {url}: {source}")]
    Sqlx {
        /// Redacted URL.
        url: String,
        /// Cause.
        #[source]
        source: sqlx::Error,
    },
    /// Migrations failed.
    #[error("migrating {url}: {source}")]
    Migrate {
        /// Redacted URL.
        url: String,
        /// Cause.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
}

/// A database URL. Its `Debug`, `Display` and `Serialize` hide the password.
#[derive(Clone)]
pub struct DatabaseUrl {
    raw: SecretString,
    kind: DbKind,
}

impl DatabaseUrl {
    /// The engine this URL selects.
    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// The URL with its password; pass only to the driver.
    pub fn expose(&self) -> &str {
        self.raw.expose_secret()
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url(self.raw.expose_secret())
    }

    /// For SQLite, the file path (None for `:memory:` or other engines).
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        if self.kind != DbKind::Sqlite {
            return None;
        }
        let rest = self
            .expose()
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:");
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty() && path != ":memory:").then(|| path.into())
    }

    /// This URL, but for SQLite with `mode=rwc` (create the file if missing)
    /// unless the URL already says which mode: passbridge's own databases may be
    /// created, a legacy one never is.
    pub fn create_if_missing(&self) -> Self {
        let raw = self.expose();
        if self.kind != DbKind::Sqlite || raw.contains("mode=") || raw.contains(":memory:") {
            return self.clone();
        }
        let sep = if raw.contains('?') { '&' } else { '?' };
        Self {
            raw: SecretString::from(format!("{raw}{sep}mode=rwc")),
            kind: DbKind::Sqlite,
        }
    }

    /// A SQLite URL for `path`, created if missing.
    pub fn sqlite_file(path: &std::path::Path) -> Self {
        Self {
            raw: SecretString::from(format!("sqlite://{}?mode=rwc", path.display())),
            kind: DbKind::Sqlite,
        }
    }
}

fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            // set_password only fails for cannot-be-a-base URLs, which have no password.
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => raw.to_owned(),
    }
}

impl FromStr for DatabaseUrl {
    type Err = DbError;

    fn from_str(s: &str) -> Result<Self, DbError> {
        let s = s.trim();
        let scheme = s.split(':').next().unwrap_or_default().to_ascii_lowercase();
        let kind = match scheme.as_str() {
            "sqlite" => DbKind::Sqlite,
            "postgres" | "postgresql" => DbKind::Postgres,
            "mysql" | "mariadb" => DbKind::MySql,
            _ => return Err(DbError::UnsupportedScheme(redact_url(s))),
        };
        // sqlx knows MariaDB as mysql://.
        let raw = match s.strip_prefix("mariadb:") {
            Some(rest) => format!("mysql:{rest}"),
            None => s.to_owned(),
        };
        Ok(Self {
            raw: SecretString::from(raw),
            kind,
        })
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Pool sizing and timeouts.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Upper bound of open connections.
    pub max_connections: u32,
    /// How long to wait for a connection (also bounds the first connect).
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

static DRIVERS: Once = Once::new();

/// A connection idle at least this long is pinged before it is handed out;
/// one in steady use is not. Pinging on every acquire (sqlx's default) is a
/// round trip per query, on SQLite a hop to its worker thread and back; a
/// connection that broke while busy fails its query, which every caller
/// already answers (UNVERIFIED `legacy_unavailable`, a spooled row), and sqlx
/// then replaces it.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

fn pool_options(pool: PoolSettings) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(pool.max_connections)
        .acquire_timeout(pool.acquire_timeout)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < PING_WHEN_IDLE_FOR {
                    return Ok(true);
                }
                sqlx::Connection::ping(conn).await.map(|()| true)
            })
        })
}

/// Opens a pool. Connects lazily: a database that is down at start-up does
/// not stop the service, it makes `/readyz` fail and lookups answer UNVERIFIED.
///
/// # Errors
/// Only a URL the driver cannot parse.
pub fn connect_lazy(url: &DatabaseUrl, pool: PoolSettings) -> Result<AnyPool, DbError> {
    DRIVERS.call_once(sqlx::any::install_default_drivers);
    pool_options(pool)
        .connect_lazy(url.expose())
        .map_err(|source| DbError::Sqlx {
            url: url.redacted(),
            source,
        })
}

/// Opens a pool and checks that it answers.
///
/// # Errors
/// The database cannot be reached.
pub async fn connect(url: &DatabaseUrl, pool: PoolSettings) -> Result<AnyPool, DbError> {
    connect_with_sqlite_pragmas(url, pool, SQLITE_BUSY_TIMEOUT).await
}

/// Waits for a lock instead of failing at once when two passbridge processes
/// (say `serve` and `import`) share a SQLite file.
const SQLITE_BUSY_TIMEOUT: &str = "PRAGMA busy_timeout = 5000";

/// Like [`connect`], running `pragmas` on every new SQLite connection
/// (ignored for other engines).
///
/// # Errors
/// The database cannot be reached.
pub async fn connect_with_sqlite_pragmas(
    url: &DatabaseUrl,
    pool: PoolSettings,
    pragmas: &'static str,
) -> Result<AnyPool, DbError> {
    DRIVERS.call_once(sqlx::any::install_default_drivers);
    let is_sqlite = url.kind() == DbKind::Sqlite;
    pool_options(pool)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if is_sqlite {
                    sqlx::Executor::execute(&mut *conn, pragmas).await?;
                }
                Ok(())
            })
        })
        .connect(url.expose())
        .await
        .map_err(|source| DbError::Sqlx {
            url: url.redacted(),
            source,
        })
}

/// Rewrites `?` placeholders to `$1, $2, …` for PostgreSQL, so passbridge's
/// own statements can be written once. (Admin-given SQL is used verbatim.)
pub fn placeholders(kind: DbKind, sql: &str) -> String {
    if kind != DbKind::Postgres {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn url_password_never_shows() {
        let url: DatabaseUrl = "postgres://app:hunter2@db.internal:5432/legacy"
            .parse()
            .unwrap();
        assert_eq!(url.kind(), DbKind::Postgres);
        for shown in [
            format!("{url:?}"),
            url.to_string(),
            serde_json::to_string(&url).unwrap(),
        ] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("db.internal"), "{shown}");
        }
        assert!(url.expose().contains("hunter2"));
    }

    #[test]
    fn kinds_and_bad_schemes() {
        assert_eq!(
            "mariadb://root@localhost/test"
                .parse::<DatabaseUrl>()
                .unwrap()
                .kind(),
            DbKind::MySql
        );
        assert_eq!(
            "sqlite://x.db"
                .parse::<DatabaseUrl>()
                .unwrap()
                .sqlite_path(),
            Some("x.db".into())
        );
        assert!("oracle://x".parse::<DatabaseUrl>().is_err());
    }

    #[test]
    fn only_sqlite_urls_without_a_mode_get_created() {
        let create = |u: &str| {
            u.parse::<DatabaseUrl>()
                .unwrap()
                .create_if_missing()
                .expose()
                .to_owned()
        };
        assert_eq!(create("sqlite://l.db"), "sqlite://l.db?mode=rwc");
        assert_eq!(
            create("sqlite://l.db?cache=shared"),
            "sqlite://l.db?cache=shared&mode=rwc"
        );
        assert_eq!(create("sqlite://l.db?mode=ro"), "sqlite://l.db?mode=ro");
        assert_eq!(create("postgres://h/db"), "postgres://h/db");
    }

    #[test]
    fn placeholders_rewrite_only_for_postgres() {
        assert_eq!(
            placeholders(DbKind::Postgres, "a = ? AND b = ?"),
            "a = $1 AND b = $2"
        );
        assert_eq!(placeholders(DbKind::MySql, "a = ?"), "a = ?");
    }
}
