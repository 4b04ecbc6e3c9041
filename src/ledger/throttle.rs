//! Throttle counters in the ledger database (`throttle_counters`), so a
//! restart does not forget them and replicas sharing one ledger enforce one
//! limit. The hook changes them in batches ([`Ledger::throttle_apply`], one
//! transaction for every attempt arriving together); the admin's commands
//! (`throttle clear`, `throttle show`) use the single statements below.

use std::collections::HashMap;

use sqlx::Row;

use super::{Ledger, LedgerError};
use crate::db::DbKind;

/// Keys per statement: well under every engine's bind limit (SQLite's is
/// 32,766; three binds a key).
const KEYS_PER_STATEMENT: usize = 500;

/// One counter an attempt is reserved under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    /// The counter key (a digest or an IP bucket, never a secret).
    pub key: String,
    /// Attempts allowed per window; 0 turns the counter off (never counted).
    pub limit: u32,
}

/// One change to the counters, applied with others by [`Ledger::throttle_apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CounterChange {
    /// Takes one attempt under every counter, or under none: the first
    /// counter that is full refuses the whole attempt.
    Reserve(Vec<Counter>),
    /// Gives back one attempt in each key (a VERIFIED's own).
    Release(Vec<String>),
}

impl CounterChange {
    fn keys(&self) -> impl Iterator<Item = &str> {
        let (reserve, release) = match self {
            Self::Reserve(counters) => (counters.as_slice(), &[][..]),
            Self::Release(keys) => (&[][..], keys.as_slice()),
        };
        reserve
            .iter()
            .map(|c| c.key.as_str())
            .chain(release.iter().map(String::as_str))
    }
}

/// What became of a [`CounterChange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterOutcome {
    /// Every counter took the attempt.
    Reserved,
    /// The counter at this index (in the change's list) was full; nothing was taken.
    Refused(usize),
    /// The attempts were given back.
    Released,
}

/// A counter as read: when its window started (Unix ms) and attempts in it.
#[derive(Debug, Clone, Copy)]
struct Count {
    window_start: i64,
    attempts: i64,
    changed: bool,
}

impl Ledger {
    /// Applies `changes` in order, in one transaction: every counter they
    /// name is created if missing and locked (in key order, so batches of
    /// several replicas cannot deadlock), read, decided on in memory and
    /// written back in one statement. `window_ms` is the counters' window; an
    /// expired window restarts at `now_ms`. A burst can never take more than
    /// a limit: the counters stay locked from the read to the commit.
    ///
    /// # Errors
    /// A statement failed; nothing of the batch is applied.
    pub async fn throttle_apply(
        &self,
        changes: &[CounterChange],
        now_ms: i64,
        window_ms: i64,
    ) -> Result<Vec<CounterOutcome>, LedgerError> {
        let mut keys: Vec<&str> = changes.iter().flat_map(CounterChange::keys).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut counts: HashMap<&str, Count> = HashMap::with_capacity(keys.len());
        if keys.is_empty() {
            let expired_before = now_ms.saturating_sub(window_ms);
            return Ok(changes
                .iter()
                .map(|change| decide(change, &mut counts, now_ms, expired_before))
                .collect());
        }
        let mut tx = self.pool().begin().await?;
        for chunk in keys.chunks(KEYS_PER_STATEMENT) {
            // A write first: on SQLite it takes the database's write lock
            // before anything is read; on PostgreSQL and MariaDB the no-op
            // update locks the rows that already exist.
            let values = vec!["(?, ?, 0)"; chunk.len()].join(", ");
            let sql = match self.kind() {
                DbKind::Sqlite => format!(
                    "INSERT INTO throttle_counters (throttle_key, window_start, attempts) VALUES {values} \
                     ON CONFLICT (throttle_key) DO NOTHING"
                ),
                DbKind::Postgres => format!(
                    "INSERT INTO throttle_counters (throttle_key, window_start, attempts) VALUES {values} \
                     ON CONFLICT (throttle_key) DO UPDATE SET attempts = throttle_counters.attempts"
                ),
                DbKind::MySql => format!(
                    "INSERT INTO throttle_counters (throttle_key, window_start, attempts) VALUES {values} \
                     ON DUPLICATE KEY UPDATE attempts = attempts"
                ),
            };
            let sql = self.sql(&sql);
            let mut lock = sqlx::query(&sql);
            for key in chunk {
                lock = lock.bind((*key).to_owned()).bind(now_ms);
            }
            lock.execute(&mut *tx).await?;
            let list = vec!["?"; chunk.len()].join(", ");
            let for_update = if self.kind() == DbKind::Sqlite {
                ""
            } else {
                " FOR UPDATE"
            };
            let sql = self.sql(&format!(
                "SELECT throttle_key, window_start, attempts FROM throttle_counters \
                 WHERE throttle_key IN ({list}){for_update}"
            ));
            let mut read = sqlx::query(&sql);
            for key in chunk {
                read = read.bind((*key).to_owned());
            }
            for row in read.fetch_all(&mut *tx).await? {
                let key: String = row.try_get(0)?;
                if let Some(k) = chunk.iter().find(|k| **k == key) {
                    counts.insert(
                        k,
                        Count {
                            window_start: row.try_get(1)?,
                            attempts: row.try_get(2)?,
                            changed: false,
                        },
                    );
                }
            }
        }
        let expired_before = now_ms.saturating_sub(window_ms);
        let outcomes = changes
            .iter()
            .map(|change| decide(change, &mut counts, now_ms, expired_before))
            .collect();
        let changed: Vec<(&str, Count)> = keys
            .iter()
            .filter_map(|k| counts.get(k).filter(|c| c.changed).map(|c| (*k, *c)))
            .collect();
        for chunk in changed.chunks(KEYS_PER_STATEMENT) {
            let values = vec!["(?, ?, ?)"; chunk.len()].join(", ");
            let sql = match self.kind() {
                DbKind::Sqlite | DbKind::Postgres => format!(
                    "INSERT INTO throttle_counters (throttle_key, window_start, attempts) VALUES {values} \
                     ON CONFLICT (throttle_key) DO UPDATE SET window_start = excluded.window_start, \
                     attempts = excluded.attempts"
                ),
                DbKind::MySql => format!(
                    "INSERT INTO throttle_counters (throttle_key, window_start, attempts) VALUES {values} \
                     ON DUPLICATE KEY UPDATE window_start = VALUES(window_start), attempts = VALUES(attempts)"
                ),
            };
            let sql = self.sql(&sql);
            let mut write = sqlx::query(&sql);
            for (key, count) in chunk {
                write = write
                    .bind((*key).to_owned())
                    .bind(count.window_start)
                    .bind(count.attempts);
            }
            write.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(outcomes)
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

/// One change against the counters as they stand (a counter the read did
/// not find, say deleted by `throttle clear` since, starts empty: never "over
/// the limit").
fn decide<'k>(
    change: &'k CounterChange,
    counts: &mut HashMap<&'k str, Count>,
    now_ms: i64,
    expired_before: i64,
) -> CounterOutcome {
    let fresh = Count {
        window_start: now_ms,
        attempts: 0,
        changed: true,
    };
    match change {
        CounterChange::Reserve(counters) => {
            let live = |counts: &HashMap<&str, Count>, key: &str| match counts.get(key) {
                Some(c) if c.window_start > expired_before => *c,
                _ => fresh,
            };
            if let Some(full) = counters
                .iter()
                .position(|c| c.limit > 0 && live(counts, &c.key).attempts >= i64::from(c.limit))
            {
                return CounterOutcome::Refused(full);
            }
            for c in counters.iter().filter(|c| c.limit > 0) {
                let mut count = live(counts, &c.key);
                count.attempts += 1;
                count.changed = true;
                counts.insert(&c.key, count);
            }
            CounterOutcome::Reserved
        }
        CounterChange::Release(keys) => {
            for key in keys {
                if let Some(c) = counts.get_mut(key.as_str()) {
                    if c.attempts > 0 {
                        c.attempts -= 1;
                        c.changed = true;
                    }
                }
            }
            CounterOutcome::Released
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::db::DatabaseUrl;

    fn reserve(keys: &[(&str, u32)]) -> CounterChange {
        CounterChange::Reserve(
            keys.iter()
                .map(|(key, limit)| Counter {
                    key: (*key).to_owned(),
                    limit: *limit,
                })
                .collect(),
        )
    }

    fn release(keys: &[&str]) -> CounterChange {
        CounterChange::Release(keys.iter().map(|k| (*k).to_owned()).collect())
    }

    async fn ledger() -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::connect(&DatabaseUrl::sqlite_file(&dir.path().join("l.db")))
            .await
            .unwrap();
        (dir, ledger)
    }

    #[tokio::test]
    async fn a_batch_caps_all_or_nothing_restarts_the_window_and_sweeps() {
        let (_dir, ledger) = ledger().await;
        let (k, ip) = ("row:abc", "ip:x");
        // Window of 10 s. Four attempts in one batch against a limit of 2 on
        // `k`: two pass; the third is refused by `k` and takes nothing from `ip`.
        let out = ledger
            .throttle_apply(
                &[
                    reserve(&[(k, 2), (ip, 5)]),
                    reserve(&[(k, 2), (ip, 5)]),
                    reserve(&[(ip, 5), (k, 2)]),
                    release(&[k]),
                    reserve(&[(ip, 5), (k, 2)]),
                ],
                1_000,
                10_000,
            )
            .await
            .unwrap();
        use CounterOutcome::{Refused, Released, Reserved};
        assert_eq!(out, [Reserved, Reserved, Refused(1), Released, Reserved]);
        assert_eq!(ledger.throttle_attempts(k, -9_000).await.unwrap(), 2);
        assert_eq!(ledger.throttle_attempts(ip, -9_000).await.unwrap(), 3);
        // A later batch sees the committed counts.
        let out = ledger
            .throttle_apply(&[reserve(&[(k, 2)])], 2_000, 10_000)
            .await
            .unwrap();
        assert_eq!(out, [Refused(0)]);
        // The window that started at 1 000 has expired by 11 001: it restarts at 1.
        let out = ledger
            .throttle_apply(&[reserve(&[(k, 2)])], 11_001, 10_000)
            .await
            .unwrap();
        assert_eq!(out, [Reserved]);
        assert_eq!(ledger.throttle_attempts(k, 1_001).await.unwrap(), 1);
        // `ip` took nothing since 1 000; sweeping drops it, not `k`.
        assert_eq!(ledger.throttle_sweep(1_001).await.unwrap(), 1);
        assert_eq!(ledger.throttle_reset_prefix("row:").await.unwrap(), 1);
        assert_eq!(ledger.throttle_reset(k).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_deleted_counter_starts_empty_and_releases_stop_at_zero() {
        // `throttle clear` (another process) deletes counters between batches.
        let (_dir, ledger) = ledger().await;
        let k = "row:gone";
        ledger
            .throttle_apply(&[reserve(&[(k, 1)])], 1_000, 10_000)
            .await
            .unwrap();
        assert_eq!(ledger.throttle_reset(k).await.unwrap(), 1);
        let out = ledger
            .throttle_apply(
                &[
                    release(&[k]),
                    release(&[k]),
                    reserve(&[(k, 1)]),
                    reserve(&[(k, 1)]),
                ],
                1_001,
                10_000,
            )
            .await
            .unwrap();
        use CounterOutcome::{Refused, Released, Reserved};
        assert_eq!(out, [Released, Released, Reserved, Refused(0)]);
        assert_eq!(ledger.throttle_attempts(k, -9_000).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn nothing_to_count_touches_nothing() {
        let (_dir, ledger) = ledger().await;
        let out = ledger
            .throttle_apply(&[reserve(&[])], 1_000, 10_000)
            .await
            .unwrap();
        assert_eq!(out, [CounterOutcome::Reserved]);
    }
}
