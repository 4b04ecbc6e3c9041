//! Throttle counters in the ledger database (`throttle_counters`), so a
//! restart does not forget them and replicas sharing one ledger enforce one
//! limit. Each call is one statement; each statement is
//! atomic on every engine, so no transaction (and no lock-order deadlock) is
//! needed.

use super::{Ledger, LedgerError};
use crate::db::DbKind;

impl Ledger {
    /// Creates the counters in `keys` that do not exist yet (one statement).
    /// Keys are inserted in sorted order, so concurrent calls sharing keys
    /// cannot wait on each other in a cycle.
    ///
    /// # Errors
    /// The statement failed.
    pub async fn throttle_ensure(&self, keys: &[&str], now_ms: i64) -> Result<(), LedgerError> {
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() {
            return Ok(());
        }
        let values = vec!["(?, ?, 0)"; keys.len()].join(", ");
        let sql = match self.kind() {
            DbKind::MySql => format!(
                "INSERT IGNORE INTO throttle_counters (throttle_key, window_start, attempts) VALUES {values}"
            ),
            DbKind::Sqlite | DbKind::Postgres => format!(
                "INSERT INTO throttle_counters (throttle_key, window_start, attempts) VALUES {values} \
                 ON CONFLICT (throttle_key) DO NOTHING"
            ),
        };
        let sql = self.sql(&sql);
        let mut query = sqlx::query(&sql);
        for key in keys {
            query = query.bind(key.to_owned()).bind(now_ms);
        }
        query.execute(self.pool()).await?;
        Ok(())
    }

    /// Takes one attempt for `key` (created by [`Self::throttle_ensure`]) if
    /// fewer than `limit` were taken since `expired_before` (Unix ms); an
    /// expired window restarts at `now_ms`. `true` when the attempt was
    /// reserved. The check and the increment are one statement, so a burst
    /// can never take more than `limit`. A counter deleted since it was
    /// ensured (a VERIFIED's reset, a sweep, `throttle clear`) is created
    /// again, never read as "over the limit".
    ///
    /// # Errors
    /// The statement failed.
    pub async fn throttle_reserve(
        &self,
        key: &str,
        limit: u32,
        now_ms: i64,
        expired_before: i64,
    ) -> Result<bool, LedgerError> {
        // `attempts` is assigned before `window_start` and reads only the old
        // `window_start`, so MySQL's left-to-right SET gives the same result.
        let update = self.sql(
            "UPDATE throttle_counters SET \
             attempts = CASE WHEN window_start <= ? THEN 1 ELSE attempts + 1 END, \
             window_start = CASE WHEN window_start <= ? THEN ? ELSE window_start END \
             WHERE throttle_key = ? AND (window_start <= ? OR attempts < ?)",
        );
        let exists = self.sql("SELECT COUNT(*) FROM throttle_counters WHERE throttle_key = ?");
        // Twice at most: a second deletion racing the same attempt is not
        // worth a loop, and refusing then errs on the safe side.
        for _ in 0..2 {
            let done = sqlx::query(&update)
                .bind(expired_before)
                .bind(expired_before)
                .bind(now_ms)
                .bind(key.to_owned())
                .bind(expired_before)
                .bind(i64::from(limit))
                .execute(self.pool())
                .await?;
            if done.rows_affected() > 0 {
                return Ok(true);
            }
            let present: i64 = sqlx::query_scalar(&exists)
                .bind(key.to_owned())
                .fetch_one(self.pool())
                .await?;
            if present > 0 {
                return Ok(false);
            }
            self.throttle_ensure(&[key], now_ms).await?;
        }
        Ok(false)
    }

    /// Gives back one attempt taken by [`Self::throttle_reserve`].
    ///
    /// # Errors
    /// The statement failed.
    pub async fn throttle_release(&self, key: &str) -> Result<(), LedgerError> {
        let sql = self.sql(
            "UPDATE throttle_counters SET attempts = attempts - 1 WHERE throttle_key = ? AND attempts > 0",
        );
        sqlx::query(&sql)
            .bind(key.to_owned())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Forgets `key`'s counter. Returns the rows deleted.
    ///
    /// # Errors
    /// The statement failed.
    pub async fn throttle_reset(&self, key: &str) -> Result<u64, LedgerError> {
        let sql = self.sql("DELETE FROM throttle_counters WHERE throttle_key = ?");
        let done = sqlx::query(&sql)
            .bind(key.to_owned())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Forgets every counter whose key starts with `prefix` (keys are digests
    /// and IP buckets, so they hold no LIKE wildcards). Returns the rows deleted.
    ///
    /// # Errors
    /// The statement failed.
    pub async fn throttle_reset_prefix(&self, prefix: &str) -> Result<u64, LedgerError> {
        let sql = self.sql("DELETE FROM throttle_counters WHERE throttle_key LIKE ?");
        let done = sqlx::query(&sql)
            .bind(format!("{prefix}%"))
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Attempts counted for `key` in a window that has not expired.
    ///
    /// # Errors
    /// The query failed.
    pub async fn throttle_attempts(
        &self,
        key: &str,
        expired_before: i64,
    ) -> Result<i64, LedgerError> {
        let sql = self.sql(
            "SELECT attempts FROM throttle_counters WHERE throttle_key = ? AND window_start > ?",
        );
        let n: Option<i64> = sqlx::query_scalar(&sql)
            .bind(key.to_owned())
            .bind(expired_before)
            .fetch_optional(self.pool())
            .await?;
        Ok(n.unwrap_or(0))
    }

    /// Deletes counters whose window ended before `expired_before`.
    ///
    /// # Errors
    /// The statement failed.
    pub async fn throttle_sweep(&self, expired_before: i64) -> Result<u64, LedgerError> {
        let sql = self.sql("DELETE FROM throttle_counters WHERE window_start <= ?");
        let done = sqlx::query(&sql)
            .bind(expired_before)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::db::DatabaseUrl;

    #[tokio::test]
    async fn reserve_caps_restarts_the_window_and_sweeps() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::connect(&DatabaseUrl::sqlite_file(&dir.path().join("l.db")))
            .await
            .unwrap();
        let k = "row:abc";
        ledger
            .throttle_ensure(&[k, "ip:x", k], 1_000)
            .await
            .unwrap();
        ledger.throttle_ensure(&[k], 5_000).await.unwrap();
        // Window of 10 s: expired_before = now - 10_000.
        assert!(ledger.throttle_reserve(k, 2, 1_000, -9_000).await.unwrap());
        assert!(ledger.throttle_reserve(k, 2, 2_000, -8_000).await.unwrap());
        assert!(!ledger.throttle_reserve(k, 2, 3_000, -7_000).await.unwrap());
        assert_eq!(ledger.throttle_attempts(k, -7_000).await.unwrap(), 2);
        ledger.throttle_release(k).await.unwrap();
        assert!(ledger.throttle_reserve(k, 2, 3_000, -7_000).await.unwrap());
        // The window that started at 1 000 has expired by 11 001: it restarts at 1.
        assert!(ledger.throttle_reserve(k, 2, 11_001, 1_001).await.unwrap());
        assert_eq!(ledger.throttle_attempts(k, 1_001).await.unwrap(), 1);
        // `ip:x` never took an attempt since 1 000; sweeping drops it, not `k`.
        assert_eq!(ledger.throttle_sweep(1_001).await.unwrap(), 1);
        assert_eq!(ledger.throttle_reset_prefix("row:").await.unwrap(), 1);
        assert_eq!(ledger.throttle_reset(k).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_counter_deleted_after_it_was_ensured_is_not_a_refusal() {
        // The race behind a VERIFIED's background reset: ensure, the reset
        // deletes the row, then the reservation runs.
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::connect(&DatabaseUrl::sqlite_file(&dir.path().join("l.db")))
            .await
            .unwrap();
        let k = "row:gone";
        ledger.throttle_ensure(&[k], 1_000).await.unwrap();
        assert_eq!(ledger.throttle_reset(k).await.unwrap(), 1);
        assert!(ledger.throttle_reserve(k, 5, 1_000, -9_000).await.unwrap());
        assert_eq!(ledger.throttle_attempts(k, -9_000).await.unwrap(), 1);
        // A real refusal is still one.
        assert!(!ledger.throttle_reserve(k, 1, 1_001, -9_000).await.unwrap());
    }
}
