//! Stragglers: the one definition of "a hook user still waiting", and the
//! reset-password record (`straggler_resets`) that ends the wait.
//!
//! A user is **waiting** when `import` created them with the password-import
//! hook flag (`import_users.state = 'created_hook'`), no Okta-origin
//! `VERIFIED` hook call exists for them (`migrated_users`, matched on
//! `LOWER(username) = login`), Okta has not confirmed it stores their password
//! (`okta_confirmations.state = 'confirmed'`), and they were not sent Okta's
//! reset-password email (`straggler_resets.state = 'sent'`). A **straggler**
//! is a waiting user imported (`import_users.imported_at`) more than a given
//! age ago. `passbridge stragglers`, `hook retire` and `status` all read these
//! figures from here; nothing else spells the rule out.
//!
//! Never stores a password, a hash or a reset link.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Row;
use time::OffsetDateTime;

use super::{now_rfc3339, rfc3339, ImportState, Ledger, LedgerError};

/// Longest reason stored (the column is VARCHAR(512); keep room for UTF-8).
const MAX_REASON_CHARS: usize = 400;

/// `okta_confirmations.state` once Okta stored the password (the event hook's
/// `SUCCESS` or `reconcile`'s provider `OKTA`; see that table's migration).
const CONFIRMED: &str = "confirmed";

/// Where one straggler's reset-password email stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResetState {
    /// Written before the call: the email may or may not have gone out.
    Pending,
    /// Okta accepted the reset: the email went out; the user no longer waits.
    Sent,
    /// Okta refused (or the call failed); `reason` says why. Retried by a re-run.
    Failed,
}

impl ResetState {
    /// Every state.
    pub const ALL: [Self; 3] = [Self::Pending, Self::Sent, Self::Failed];

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
}

impl fmt::Display for ResetState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResetState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown reset state {s:?}"))
    }
}

/// A hook user who has not signed in since the import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Straggler {
    /// Lower-cased login.
    pub login: String,
    /// Okta user id (`00u…`), when the import recorded one.
    pub okta_id: Option<String>,
    /// When the user was first created in Okta.
    pub imported_at: OffsetDateTime,
    /// Legacy scheme, when recognised.
    pub scheme: Option<String>,
    /// The reset-password record, if a reset was attempted.
    pub reset: Option<ResetState>,
}

impl Straggler {
    /// Time since the import, as of `now` (zero for a clock that went back).
    pub fn age(&self, now: OffsetDateTime) -> Duration {
        Duration::try_from(now - self.imported_at).unwrap_or_default()
    }
}

/// Waiting users imported more than `days` ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StragglerCount {
    /// The age bucket, in days.
    pub days: u32,
    /// How many.
    pub count: i64,
}

/// Whether users already sent a reset email count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SentResets {
    /// They are handled: left out (the definition).
    Excluded,
    /// Listed too (`--reset-password --again`).
    Included,
}

/// The waiting rule as SQL over `import_users u`, with its binds in order:
/// the `created_hook` state and the confirmed state.
const WAITING_SQL: &str = "u.state = ? \
     AND NOT EXISTS (SELECT 1 FROM migrated_users m WHERE LOWER(m.username) = u.login) \
     AND NOT EXISTS (SELECT 1 FROM okta_confirmations c WHERE c.login = u.login AND c.state = ?)";

/// Users already sent a reset are handled; bind: the `sent` state.
const NOT_SENT_SQL: &str =
    "NOT EXISTS (SELECT 1 FROM straggler_resets r WHERE r.login = u.login AND r.state = ?)";

/// `now - age` as a ledger timestamp; an age past the calendar's start
/// means "any time".
fn cutoff(now: OffsetDateTime, age: Duration) -> String {
    let at = time::Duration::try_from(age)
        .ok()
        .and_then(|age| now.checked_sub(age))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    rfc3339(at)
}

fn clip(reason: Option<&str>) -> Option<String> {
    reason.map(|r| r.chars().take(MAX_REASON_CHARS).collect())
}

fn decode_error(e: impl std::fmt::Display) -> LedgerError {
    LedgerError::Query(sqlx::Error::Decode(e.to_string().into()))
}

impl Ledger {
    /// Stragglers imported more than `older_than` ago, oldest first, at most
    /// `limit` of them. Users already sent a reset email are not stragglers.
    ///
    /// # Errors
    /// The query failed or a stored timestamp is not RFC 3339.
    pub async fn stragglers(
        &self,
        older_than: Duration,
        limit: Option<u64>,
    ) -> Result<Vec<Straggler>, LedgerError> {
        self.select_stragglers(older_than, limit, SentResets::Excluded)
            .await
    }

    /// [`Self::stragglers`] plus the users already sent a reset email (who
    /// are otherwise handled): what `--reset-password --again` goes through.
    ///
    /// # Errors
    /// The query failed or a stored timestamp is not RFC 3339.
    pub async fn stragglers_with_sent_resets(
        &self,
        older_than: Duration,
        limit: Option<u64>,
    ) -> Result<Vec<Straggler>, LedgerError> {
        self.select_stragglers(older_than, limit, SentResets::Included)
            .await
    }

    async fn select_stragglers(
        &self,
        older_than: Duration,
        limit: Option<u64>,
        sent: SentResets,
    ) -> Result<Vec<Straggler>, LedgerError> {
        let not_sent = match sent {
            SentResets::Excluded => format!(" AND {NOT_SENT_SQL}"),
            SentResets::Included => String::new(),
        };
        let limit_sql = if limit.is_some() { " LIMIT ?" } else { "" };
        let sql = self.sql(&format!(
            "SELECT u.login, u.okta_id, u.imported_at, u.scheme, \
             (SELECT r.state FROM straggler_resets r WHERE r.login = u.login) AS reset_state \
             FROM import_users u \
             WHERE {WAITING_SQL} AND u.imported_at <= ?{not_sent} \
             ORDER BY u.imported_at, u.login{limit_sql}"
        ));
        let mut query = sqlx::query(&sql)
            .bind(ImportState::CreatedHook.as_str())
            .bind(CONFIRMED)
            .bind(cutoff(OffsetDateTime::now_utc(), older_than));
        if sent == SentResets::Excluded {
            query = query.bind(ResetState::Sent.as_str());
        }
        if let Some(limit) = limit {
            query = query.bind(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                let imported_at: String = row.try_get("imported_at")?;
                let reset: Option<String> = row.try_get("reset_state")?;
                Ok(Straggler {
                    login: row.try_get("login")?,
                    okta_id: row.try_get("okta_id")?,
                    imported_at: OffsetDateTime::parse(
                        &imported_at,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .map_err(decode_error)?,
                    scheme: row.try_get("scheme")?,
                    reset: reset
                        .map(|r| r.parse::<ResetState>())
                        .transpose()
                        .map_err(decode_error)?,
                })
            })
            .collect()
    }

    /// For each of `days`, how many waiting users were imported more than
    /// that many days ago (so the counts are cumulative: 90 ⊆ 60 ⊆ 30 ⊆ 7).
    ///
    /// # Errors
    /// The query failed.
    pub async fn straggler_counts(&self, days: &[u32]) -> Result<Vec<StragglerCount>, LedgerError> {
        if days.is_empty() {
            return Ok(Vec::new());
        }
        let now = OffsetDateTime::now_utc();
        let columns: Vec<String> = (0..days.len())
            .map(|i| format!("COUNT(CASE WHEN u.imported_at <= ? THEN 1 END) AS n{i}"))
            .collect();
        let sql = self.sql(&format!(
            "SELECT {} FROM import_users u WHERE {WAITING_SQL} AND {NOT_SENT_SQL}",
            columns.join(", ")
        ));
        let mut query = sqlx::query(&sql);
        for d in days {
            query = query.bind(cutoff(
                now,
                Duration::from_secs(u64::from(*d).saturating_mul(86_400)),
            ));
        }
        let row = query
            .bind(ImportState::CreatedHook.as_str())
            .bind(CONFIRMED)
            .bind(ResetState::Sent.as_str())
            .fetch_one(self.pool())
            .await?;
        days.iter()
            .enumerate()
            .map(|(i, d)| {
                Ok(StragglerCount {
                    days: *d,
                    count: row.try_get(format!("n{i}").as_str())?,
                })
            })
            .collect()
    }

    /// Hook users still waiting, whatever their age: what `hook retire`
    /// refuses over.
    ///
    /// # Errors
    /// The query failed.
    pub async fn waiting_count(&self) -> Result<i64, LedgerError> {
        let sql = self.sql(&format!(
            "SELECT COUNT(*) FROM import_users u WHERE {WAITING_SQL} AND {NOT_SENT_SQL}"
        ));
        Ok(sqlx::query_scalar(&sql)
            .bind(ImportState::CreatedHook.as_str())
            .bind(CONFIRMED)
            .bind(ResetState::Sent.as_str())
            .fetch_one(self.pool())
            .await?)
    }

    /// Records that `login`'s reset is about to be sent by `run_id`, before
    /// the call: after a kill the next run knows it may have gone out.
    ///
    /// # Errors
    /// The statement failed.
    pub async fn reset_begin(
        &self,
        run_id: &str,
        login: &str,
        okta_id: &str,
    ) -> Result<(), LedgerError> {
        let now = now_rfc3339();
        let update = self.sql(
            "UPDATE straggler_resets SET state = ?, okta_id = ?, reason = NULL, \
             attempts = attempts + 1, run_id = ?, updated_at = ? WHERE login = ?",
        );
        let done = sqlx::query(&update)
            .bind(ResetState::Pending.as_str())
            .bind(okta_id.to_owned())
            .bind(run_id.to_owned())
            .bind(now.clone())
            .bind(login.to_owned())
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            let insert = self.sql(
                "INSERT INTO straggler_resets (login, okta_id, state, reason, attempts, run_id, sent_at, updated_at) \
                 VALUES (?, ?, ?, NULL, 1, ?, NULL, ?)",
            );
            sqlx::query(&insert)
                .bind(login.to_owned())
                .bind(okta_id.to_owned())
                .bind(ResetState::Pending.as_str())
                .bind(run_id.to_owned())
                .bind(now)
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }

    /// Records the outcome of `login`'s reset (`Sent` or `Failed` + reason).
    ///
    /// # Errors
    /// The statement failed.
    pub async fn reset_finish(
        &self,
        login: &str,
        state: ResetState,
        reason: Option<&str>,
    ) -> Result<(), LedgerError> {
        let now = now_rfc3339();
        let sent_at = (state == ResetState::Sent).then(|| now.clone());
        let sql = self.sql(
            "UPDATE straggler_resets SET state = ?, reason = ?, \
             sent_at = COALESCE(?, sent_at), updated_at = ? WHERE login = ?",
        );
        sqlx::query(&sql)
            .bind(state.as_str())
            .bind(clip(reason))
            .bind(sent_at)
            .bind(now)
            .bind(login.to_owned())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// How many reset records are in each state.
    ///
    /// # Errors
    /// The query failed.
    pub async fn reset_counts(&self) -> Result<HashMap<ResetState, i64>, LedgerError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM straggler_resets GROUP BY state")
            .fetch_all(self.pool())
            .await?;
        let mut out = HashMap::new();
        for row in rows {
            let state: String = row.try_get("state")?;
            if let Ok(state) = state.parse() {
                out.insert(state, row.try_get::<i64, _>("n")?);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reset_states_round_trip() {
        for s in ResetState::ALL {
            assert_eq!(s.as_str().parse::<ResetState>().unwrap(), s);
        }
        assert!("sending".parse::<ResetState>().is_err());
    }

    #[test]
    fn cutoffs_sort_with_ledger_stamps() {
        let now = OffsetDateTime::now_utc();
        let day = cutoff(now, Duration::from_secs(86_400));
        assert!(day < now_rfc3339());
        assert!(day > cutoff(now, Duration::from_secs(2 * 86_400)));
        // An absurd age means "since the epoch", not an overflow.
        assert_eq!(
            cutoff(now, Duration::from_secs(u64::MAX)),
            "1970-01-01T00:00:00.000000Z"
        );
    }
}
