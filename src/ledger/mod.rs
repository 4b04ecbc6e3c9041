//! passbridge's own tables (created by the migrations in `migrations/`): the
//! verdict of every hook call and the `migrated_users` view. Never stores a
//! password or a hash.

mod confirmations;
mod group_commit;
mod imports;
pub mod progress;
mod replays;
pub mod sanitise;
pub mod spool;
pub mod stragglers;
#[doc(hidden)]
pub mod test_db;
mod throttle;

use std::sync::atomic::{AtomicI64, Ordering};

use sqlx::{AnyPool, Row};

pub use confirmations::{
    Applied, Confirmation, ConfirmationSource, ConfirmationState, ImportOutcome, OutcomeRecord,
    Unconfirmed,
};
pub use group_commit::GroupCommit;
pub use imports::{ImportRecord, ImportResult, ImportState, PendingImport};
pub use progress::{ImportRun, Progress};
pub use replays::RecordedAnswer;
pub use spool::Spool;
pub use throttle::{Counter, CounterChange, CounterOutcome};

use crate::db::{self, placeholders, DatabaseUrl, DbError, DbKind, PoolSettings};

/// Errors writing or reading the ledger.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Could not connect or migrate.
    #[error(transparent)]
    Connect(#[from] DbError),
    /// A statement failed.
    #[error("ledger query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// The group-commit writer has stopped (the service is shutting down).
    #[error("the ledger writer has stopped")]
    WriterStopped,
    /// A group commit took longer than its bound.
    #[error("ledger commit timed out")]
    TimedOut,
    /// The batch this change was part of failed (the error, as text: each
    /// waiter gets its own copy).
    #[error("ledger batch failed: {0}")]
    Batch(String),
}

/// A SQLite ledger in WAL mode with `synchronous = NORMAL`: appends no longer
/// wait for an fsync each (durable at checkpoints; a power cut may lose the
/// last rows, never corrupt the file), and readers do not block the writer.
const SQLITE_LEDGER_PRAGMAS: &str =
    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL";

/// Embedded migrations (portable SQL).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Who made a hook call. Only [`Origin::Okta`] calls count in `migrated_users`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Okta, at a user's sign-in (any call without the test marker).
    #[default]
    Okta,
    /// `passbridge hook test` or a hand-made call carrying the test marker.
    Test,
}

impl Origin {
    /// The stable string in the `origin` column.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Okta => "okta",
            Self::Test => "test",
        }
    }

    /// Reads the column back.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Okta, Self::Test]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One hook call, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HookCall {
    /// Okta's `eventId`, if sent.
    pub event_id: Option<String>,
    /// Our request id.
    pub request_id: Option<String>,
    /// The username Okta sent (after configured normalisation).
    pub username: String,
    /// `VERIFIED` or `UNVERIFIED`.
    pub verdict: String,
    /// Why: `verified`, `wrong_password`, `unknown_user`, `unsupported_hash`, …
    pub reason: String,
    /// Scheme used, when a hash was parsed.
    pub scheme: Option<String>,
    /// Handling time.
    pub latency_ms: i64,
    /// Okta's sign-in or a test call (absent in rows spooled before it existed).
    #[serde(default)]
    pub origin: Origin,
}

/// A hook call with its row id and time, fixed before the first write
/// attempt, so a replay from the spool lands as that same row (never twice).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HookCallRow {
    /// Primary key (UUID v4).
    pub id: String,
    /// When the call was answered (RFC 3339, see [`now_rfc3339`]).
    pub created_at: String,
    /// The call.
    #[serde(flatten)]
    pub call: HookCall,
}

impl HookCallRow {
    /// A new row for `call`, stamped now.
    pub fn new(call: HookCall) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            created_at: now_rfc3339(),
            call,
        }
    }
}

/// A user the hook has verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigratedUser {
    /// Username.
    pub username: String,
    /// First VERIFIED answer (RFC 3339).
    pub first_verified_at: String,
    /// How many VERIFIED answers.
    pub verified_calls: i64,
}

/// The ledger database.
#[derive(Clone)]
pub struct Ledger {
    pool: AnyPool,
    kind: DbKind,
}

/// Now in Unix milliseconds: the clock of the throttle counters.
pub fn now_ms() -> i64 {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX)
}

/// Now as RFC 3339 UTC with microseconds, strictly increasing within this
/// process, so rows written in the same microsecond still sort in the order
/// they were written (the ledger has no portable auto-increment column).
pub fn now_rfc3339() -> String {
    static LAST_MICROS: AtomicI64 = AtomicI64::new(0);
    let now = time::OffsetDateTime::now_utc();
    let micros = i64::try_from(now.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX);
    let mut last = LAST_MICROS.load(Ordering::Relaxed);
    let stamp = loop {
        let next = micros.max(last + 1);
        match LAST_MICROS.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break next,
            Err(seen) => last = seen,
        }
    };
    let at =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(stamp) * 1_000).unwrap_or(now);
    rfc3339(at)
}

/// `at` (UTC) in the ledger's timestamp format, the one [`now_rfc3339`]
/// writes: compared as text, such stamps sort as times.
pub fn rfc3339(at: time::OffsetDateTime) -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_default()
}

/// Hook-call rows per insert statement (ten binds a row: well under every
/// engine's bind limit).
const ROWS_PER_INSERT: usize = 64;

/// `query` (a hook-call insert) with `row`'s values bound next. Caller-controlled fields
/// are bounded and escaped here, the one place ledger text is cleaned
/// ([`sanitise`]), so no caller input can make the insert fail.
fn bind_hook_call<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    row: &HookCallRow,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    use sanitise::{bounded, EVENT_ID_CHARS, REQUEST_ID_CHARS, SCHEME_CHARS, USERNAME_CHARS};
    let call = &row.call;
    query
        .bind(row.id.clone())
        .bind(call.event_id.as_deref().map(|e| bounded(e, EVENT_ID_CHARS)))
        .bind(
            call.request_id
                .as_deref()
                .map(|r| bounded(r, REQUEST_ID_CHARS)),
        )
        .bind(bounded(&call.username, USERNAME_CHARS))
        .bind(call.verdict.clone())
        .bind(call.reason.clone())
        .bind(call.scheme.as_deref().map(|s| bounded(s, SCHEME_CHARS)))
        .bind(call.latency_ms)
        .bind(row.created_at.clone())
        .bind(call.origin.as_str())
}

impl Ledger {
    /// Connects and applies pending migrations.
    ///
    /// # Errors
    /// The database is unreachable or a migration fails.
    pub async fn connect(url: &DatabaseUrl) -> Result<Self, LedgerError> {
        // A new SQLite ledger file is created, as the README promises.
        let url = &url.create_if_missing();
        let pool =
            db::connect_with_sqlite_pragmas(url, PoolSettings::default(), SQLITE_LEDGER_PRAGMAS)
                .await?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| DbError::Migrate {
                url: url.redacted(),
                source,
            })?;
        Ok(Self {
            pool,
            kind: url.kind(),
        })
    }

    /// The pool, for other ledger tables.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The engine.
    pub fn kind(&self) -> DbKind {
        self.kind
    }

    /// Rows per `state` in `table` (one of the ledger's own tables, never
    /// caller input); states this build does not know are left out.
    ///
    /// # Errors
    /// The query failed.
    pub(crate) async fn state_counts<S>(
        &self,
        table: &'static str,
    ) -> Result<std::collections::HashMap<S, i64>, LedgerError>
    where
        S: std::str::FromStr + std::hash::Hash + Eq,
    {
        let sql = format!("SELECT state, COUNT(*) AS n FROM {table} GROUP BY state");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        let mut out = std::collections::HashMap::new();
        for row in rows {
            let state: String = row.try_get("state")?;
            if let Ok(state) = state.parse() {
                out.insert(state, row.try_get::<i64, _>("n")?);
            }
        }
        Ok(out)
    }

    /// `sql` with `?` rewritten for this engine.
    pub fn sql(&self, sql: &str) -> String {
        placeholders(self.kind, sql)
    }

    /// Appends one hook call.
    ///
    /// # Errors
    /// The insert failed.
    pub async fn record_hook_call(&self, call: &HookCall) -> Result<(), LedgerError> {
        self.insert_hook_call(&HookCallRow::new(call.clone())).await
    }

    /// Inserts `row` unless a row with its id is already there (a replay
    /// after a crash, or a write that committed after we stopped waiting).
    ///
    /// # Errors
    /// The insert failed and no row with this id exists.
    pub async fn insert_hook_call(&self, row: &HookCallRow) -> Result<(), LedgerError> {
        let sql = self.insert_hook_calls_sql(1);
        match bind_hook_call(sqlx::query(&sql), row)
            .execute(&self.pool)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let duplicate = e
                    .as_database_error()
                    .is_some_and(|d| d.is_unique_violation());
                if duplicate && self.has_hook_call(&row.id).await? {
                    Ok(())
                } else {
                    Err(e.into())
                }
            }
        }
    }

    /// Inserts `rows` in one transaction: all of them or none (a duplicate
    /// id fails the lot; [`GroupCommit`] then falls back to
    /// [`Self::insert_hook_call`] row by row).
    ///
    /// # Errors
    /// A statement or the commit failed.
    pub async fn insert_hook_calls(&self, rows: &[HookCallRow]) -> Result<(), LedgerError> {
        if rows.len() <= ROWS_PER_INSERT {
            // One statement is atomic on its own.
            let sql = self.insert_hook_calls_sql(rows.len());
            let query = rows.iter().fold(sqlx::query(&sql), bind_hook_call);
            query.execute(&self.pool).await?;
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let sql = self.insert_hook_calls_sql(chunk.len());
            let query = chunk.iter().fold(sqlx::query(&sql), bind_hook_call);
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The insert of `rows` hook-call rows in one statement.
    fn insert_hook_calls_sql(&self, rows: usize) -> String {
        let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; rows.max(1)].join(", ");
        self.sql(&format!(
            "INSERT INTO hook_calls (id, event_id, request_id, username, verdict, reason, scheme, latency_ms, created_at, origin) \
             VALUES {values}"
        ))
    }

    /// Whether a hook call row with `id` exists.
    ///
    /// # Errors
    /// The query failed.
    pub async fn has_hook_call(&self, id: &str) -> Result<bool, LedgerError> {
        let sql = self.sql("SELECT COUNT(*) FROM hook_calls WHERE id = ?");
        let n: i64 = sqlx::query_scalar(&sql)
            .bind(id.to_owned())
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// Every call recorded for `username` (as sent: it is cleaned the same
    /// way as when it was stored), oldest first.
    ///
    /// # Errors
    /// The query failed.
    pub async fn hook_calls_for(&self, username: &str) -> Result<Vec<HookCall>, LedgerError> {
        let username = sanitise::bounded(username, sanitise::USERNAME_CHARS);
        let sql = self.sql(
            "SELECT event_id, request_id, username, verdict, reason, scheme, latency_ms, origin FROM hook_calls \
             WHERE username = ? ORDER BY created_at, id",
        );
        let rows = sqlx::query(&sql)
            .bind(username)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(HookCall {
                    event_id: r.try_get("event_id")?,
                    request_id: r.try_get("request_id")?,
                    username: r.try_get("username")?,
                    verdict: r.try_get("verdict")?,
                    reason: r.try_get("reason")?,
                    scheme: r.try_get("scheme")?,
                    latency_ms: r.try_get("latency_ms")?,
                    origin: Origin::parse(r.try_get::<String, _>("origin")?.as_str())
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Who has been verified, and when.
    ///
    /// # Errors
    /// The query failed.
    pub async fn migrated_users(&self) -> Result<Vec<MigratedUser>, LedgerError> {
        let rows = sqlx::query("SELECT username, first_verified_at, verified_calls FROM migrated_users ORDER BY username")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(MigratedUser {
                    username: r.try_get("username")?,
                    first_verified_at: r.try_get("first_verified_at")?,
                    verified_calls: r.try_get("verified_calls")?,
                })
            })
            .collect()
    }

    /// Whether a hook call could be recorded now: inserts a row in a
    /// transaction and rolls it back, within 5 s. A read-only file or a user
    /// without INSERT fails here, not at the first sign-in.
    ///
    /// # Errors
    /// The write failed or timed out.
    pub async fn probe_writable(&self) -> Result<(), LedgerError> {
        let sql = self.sql(
            "INSERT INTO hook_calls (id, username, verdict, reason, latency_ms, created_at, origin) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        );
        let write = async {
            let mut tx = self.pool.begin().await?;
            sqlx::query(&sql)
                .bind(uuid::Uuid::new_v4().to_string())
                .bind(crate::legacy::PROBE_USERNAME)
                .bind("UNVERIFIED")
                .bind("probe")
                .bind(0_i64)
                .bind(now_rfc3339())
                .bind(Origin::Test.as_str())
                .execute(&mut *tx)
                .await?;
            tx.rollback().await?;
            Ok::<(), sqlx::Error>(())
        };
        tokio::time::timeout(std::time::Duration::from_secs(5), write)
            .await
            .map_err(|_| LedgerError::Query(sqlx::Error::PoolTimedOut))??;
        Ok(())
    }

    /// `SELECT 1`, bounded.
    pub async fn ping(&self) -> bool {
        let ping = sqlx::query("SELECT 1").fetch_one(&self.pool);
        matches!(
            tokio::time::timeout(std::time::Duration::from_secs(1), ping).await,
            Ok(Ok(_))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_strictly_increase_and_sort_as_text() {
        let stamps: Vec<String> = (0..1000).map(|_| now_rfc3339()).collect();
        for pair in stamps.windows(2) {
            assert!(pair[0] < pair[1], "{} !< {}", pair[0], pair[1]);
        }
        assert_eq!(stamps[0].len(), "2026-11-25T21:18:12.070700Z".len());
    }
}
