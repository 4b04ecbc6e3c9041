//! Read-only access to the customer's legacy user database: one admin-given
//! query finds a user's stored hash. The SQL is the admin's, in their
//! database's dialect, and the username is always a bind parameter.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Column, Executor, Row, Statement};

use crate::db::{self, DatabaseUrl, DbError, DbKind, PoolSettings};

/// Errors talking to the legacy database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Connection or query failed.
    #[error("legacy database query failed: {0}")]
    Query(#[source] sqlx::Error),
    /// The query took longer than `legacy.query_timeout`.
    #[error("legacy database query timed out after {0:?}")]
    Timeout(Duration),
    /// The query does not return a `password_hash` column.
    #[error("the legacy query returned no `password_hash` column; alias the hash column: SELECT pw AS password_hash …")]
    MissingHashColumn,
    /// Opening the pool failed.
    #[error(transparent)]
    Connect(#[from] DbError),
}

/// A username no directory can hold (`.invalid` is reserved, RFC 2606): the
/// probe runs the admin's query with it, so it finds no row.
pub const PROBE_USERNAME: &str = "passbridge-probe@invalid";

/// The optional columns the lookup query returns besides `password_hash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryShape {
    /// A `salt` column.
    pub salt: bool,
    /// A `scheme` column.
    pub scheme: bool,
}

/// Why the lookup query cannot serve a sign-in right now.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A SQLite legacy file that is not there (never created by the probe).
    #[error("the SQLite file {} does not exist", .0.display())]
    MissingFile(PathBuf),
    /// No connection within `legacy.connect_timeout`.
    #[error("cannot connect: {0}")]
    Unreachable(#[source] sqlx::Error),
    /// The database rejects the SQL (typo, missing table or column).
    #[error("the database rejects the lookup query: {0}")]
    Prepare(#[source] sqlx::Error),
    /// The query prepares but has no `password_hash` column.
    #[error("the lookup query returns no `password_hash` column (it returns: {0})")]
    MissingHashColumn(String),
    /// The query prepares but fails when run.
    #[error("running the lookup query failed: {0}")]
    Run(#[source] sqlx::Error),
    /// Preparing and running took longer than `legacy.query_timeout`.
    #[error("the lookup query did not answer within {0:?}")]
    Timeout(Duration),
}

/// A legacy user's stored credential, as the query returned it.
pub struct LegacyUser {
    /// The stored hash (treated as a secret: never logged).
    pub password_hash: SecretString,
    /// Separate salt column, if any.
    pub salt: Option<String>,
    /// Explicit scheme column, if any.
    pub scheme: Option<String>,
    /// The row's `id` column, if the query returns one (text or integer):
    /// the throttle counts attempts per row by it.
    pub id: Option<String>,
}

impl std::fmt::Debug for LegacyUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacyUser")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

/// The legacy database and the admin's lookup statements.
#[derive(Clone)]
pub struct LegacyDb {
    pool: AnyPool,
    kind: DbKind,
    query: String,
    write_back: Option<String>,
    query_timeout: Duration,
    sqlite_file: Option<PathBuf>,
}

impl LegacyDb {
    /// The lookup on a pool of its own, one connection, no write-back: for
    /// the checks and tools that must never take a connection from the hook
    /// (start-up checks, readiness, `config check`, `throttle clear`).
    ///
    /// # Errors
    /// A URL the driver cannot parse.
    pub fn side_connection(
        url: &DatabaseUrl,
        query: &str,
        acquire_timeout: Duration,
        query_timeout: Duration,
    ) -> Result<Self, StoreError> {
        Self::connect(
            url,
            query.to_owned(),
            None,
            PoolSettings {
                max_connections: 1,
                acquire_timeout,
            },
            query_timeout,
        )
    }

    /// Opens a lazy pool: a database that is down does not stop start-up.
    ///
    /// # Errors
    /// A URL the driver cannot parse.
    pub fn connect(
        url: &DatabaseUrl,
        query: String,
        write_back: Option<String>,
        pool: PoolSettings,
        query_timeout: Duration,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            pool: db::connect_lazy(url, pool)?,
            kind: url.kind(),
            query,
            write_back,
            query_timeout,
            sqlite_file: url.sqlite_path(),
        })
    }

    /// The pool, for commands that stream their own queries (import, audit).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The engine.
    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// Looks up one user by the username Okta sent.
    ///
    /// # Errors
    /// Query failure, timeout, or a query without a `password_hash` column.
    pub async fn find_user(&self, username: &str) -> Result<Option<LegacyUser>, StoreError> {
        // No stored login holds a NUL, and PostgreSQL refuses one in a text
        // parameter: answer "no such user" without asking.
        if username.contains('\0') {
            return Ok(None);
        }
        let fetch = sqlx::query(&self.query)
            .bind(username.to_owned())
            .fetch_optional(&self.pool);
        let row = tokio::time::timeout(self.query_timeout, fetch)
            .await
            .map_err(|_| StoreError::Timeout(self.query_timeout))?
            .map_err(StoreError::Query)?;
        let Some(row) = row else { return Ok(None) };
        let hash = text_column(&row, "password_hash")?.ok_or(StoreError::MissingHashColumn)?;
        Ok(Some(LegacyUser {
            password_hash: SecretString::from(hash),
            salt: text_column(&row, "salt")
                .ok()
                .flatten()
                .filter(|s| !s.is_empty()),
            scheme: text_column(&row, "scheme")
                .ok()
                .flatten()
                .filter(|s| !s.trim().is_empty()),
            id: id_column(&row),
        }))
    }

    /// Whether a write-back statement is configured.
    pub fn has_write_back(&self) -> bool {
        self.write_back.is_some()
    }

    /// Runs the configured write-back statement for `username`, if any.
    /// Returns the number of rows affected.
    ///
    /// # Errors
    /// Query failure or timeout.
    pub async fn write_back(&self, username: &str) -> Result<Option<u64>, StoreError> {
        let Some(sql) = &self.write_back else {
            return Ok(None);
        };
        let exec = sqlx::query(sql)
            .bind(username.to_owned())
            .execute(&self.pool);
        let done = tokio::time::timeout(self.query_timeout, exec)
            .await
            .map_err(|_| StoreError::Timeout(self.query_timeout))?
            .map_err(StoreError::Query)?;
        Ok(Some(done.rows_affected()))
    }

    /// Whether the lookup query works (see [`Self::probe`]); not just `SELECT 1`,
    /// so a typo in `legacy.query` makes the service unready.
    pub async fn ping(&self) -> bool {
        self.probe().await.is_ok()
    }

    /// Connects, prepares the lookup query, checks it returns `password_hash`,
    /// and runs it once for [`PROBE_USERNAME`]. A missing SQLite file is
    /// reported, never created.
    ///
    /// # Errors
    /// The first step that fails.
    pub async fn probe(&self) -> Result<QueryShape, ProbeError> {
        if let Some(path) = &self.sqlite_file {
            if !path.exists() {
                return Err(ProbeError::MissingFile(path.clone()));
            }
        }
        // The pool's acquire timeout bounds the connect.
        let mut conn = self.pool.acquire().await.map_err(ProbeError::Unreachable)?;
        let check = async {
            let statement = conn
                .prepare(&self.query)
                .await
                .map_err(ProbeError::Prepare)?;
            let names: Vec<String> = statement
                .columns()
                .iter()
                .map(|c| c.name().to_owned())
                .collect();
            // Exact names: that is how `find_user` reads the row.
            let has = |name: &str| names.iter().any(|n| n == name);
            if !has("password_hash") {
                return Err(ProbeError::MissingHashColumn(if names.is_empty() {
                    "no columns".to_owned()
                } else {
                    names.join(", ")
                }));
            }
            sqlx::query(&self.query)
                .bind(PROBE_USERNAME.to_owned())
                .fetch_optional(&mut *conn)
                .await
                .map_err(ProbeError::Run)?;
            Ok(QueryShape {
                salt: has("salt"),
                scheme: has("scheme"),
            })
        };
        tokio::time::timeout(self.query_timeout, check)
            .await
            .map_err(|_| ProbeError::Timeout(self.query_timeout))?
    }
}

/// The optional `id` column as text, whether the database stores it as an
/// integer or as text; `None` when absent, NULL or empty.
fn id_column(row: &AnyRow) -> Option<String> {
    if let Ok(Some(n)) = row.try_get::<Option<i64>, _>("id") {
        return Some(n.to_string());
    }
    text_column(row, "id")
        .ok()
        .flatten()
        .filter(|s| !s.is_empty())
}

/// Reads a text column by name; `Ok(None)` for NULL, an error when the
/// column is absent. Binary columns holding UTF-8 (MySQL VARBINARY, BLOB) are
/// accepted as text.
pub fn text_column(row: &AnyRow, name: &str) -> Result<Option<String>, StoreError> {
    match row.try_get::<Option<String>, _>(name) {
        Ok(v) => Ok(v),
        Err(sqlx::Error::ColumnNotFound(_)) => Err(StoreError::MissingHashColumn),
        Err(_) => match row.try_get::<Option<Vec<u8>>, _>(name) {
            Ok(v) => Ok(v.map(|b| String::from_utf8_lossy(&b).into_owned())),
            Err(e) => Err(StoreError::Query(e)),
        },
    }
}
