//! Read-only access to the customer's legacy user database: one admin-given
//! query finds a user's stored hash. The SQL is the admin's, in their
//! database's dialect, and the username is always a bind parameter.

use std::time::Duration;

use secrecy::SecretString;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

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
}

impl LegacyDb {
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

    /// `SELECT 1` within the query timeout.
    pub async fn ping(&self) -> bool {
        let ping = sqlx::query("SELECT 1").fetch_one(&self.pool);
        matches!(
            tokio::time::timeout(self.query_timeout, ping).await,
            Ok(Ok(_))
        )
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
