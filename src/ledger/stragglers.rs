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

/// One row `u` per lower-cased login, every flag the rule reads, from one
/// UNION grouped by login (a join on `LOWER(...)` cannot use an index and
/// goes quadratic on SQLite; sorting the four inputs once stays O(n log n)
/// on every engine):
/// - from `import_users`: `scheme`, `state`, `okta_id`, `imported_at`;
/// - `verified` (0/1) and `verified_at`: a `VERIFIED` hook call at an Okta
///   sign-in (`migrated_users`, which counts only `origin = 'okta'` calls);
/// - `confirmed` (0/1): Okta confirmed it stores the password;
/// - `reset_state` (`straggler_resets.state`, if a reset was attempted) and
///   `reset_sent` (0/1: Okta's reset-password email went out);
/// - `settled_at`: the earliest of the first verification, the confirmation
///   and the reset email, i.e. when a hook user stopped waiting.
///
/// `status` composes [`waiting_sql`] over this into its one grouped pass; the
/// straggler queries here read it too, so there is one spelling of the rule.
pub(super) fn per_user_sql() -> String {
    format!(
        "(SELECT login, MAX(scheme) AS scheme, MAX(state) AS state, MAX(okta_id) AS okta_id, \
         MAX(imported_at) AS imported_at, MAX(verified) AS verified, MIN(verified_at) AS verified_at, \
         MAX(confirmed) AS confirmed, MAX(reset_state) AS reset_state, MAX(reset_sent) AS reset_sent, \
         MIN(settled_at) AS settled_at FROM (\
         SELECT login, scheme, state, okta_id, imported_at, 0 AS verified, NULL AS verified_at, \
         0 AS confirmed, NULL AS reset_state, 0 AS reset_sent, NULL AS settled_at FROM import_users \
         UNION ALL SELECT LOWER(username), NULL, NULL, NULL, NULL, 1, first_verified_at, 0, NULL, 0, \
         first_verified_at FROM migrated_users \
         UNION ALL SELECT LOWER(login), NULL, NULL, NULL, NULL, 0, NULL, 1, NULL, 0, confirmed_at \
         FROM okta_confirmations WHERE state = '{CONFIRMED}' \
         UNION ALL SELECT LOWER(login), NULL, NULL, NULL, NULL, 0, NULL, 0, state, \
         CASE WHEN state = '{sent}' THEN 1 ELSE 0 END, CASE WHEN state = '{sent}' THEN sent_at END \
         FROM straggler_resets) r GROUP BY login) u",
        sent = ResetState::Sent.as_str(),
    )
}

/// Still on the hook, over [`per_user_sql`]'s `u`: created with the hook
/// flag, not verified at an Okta sign-in, not confirmed by Okta (whether
/// or not a reset email went out).
fn on_hook_sql() -> String {
    format!(
        "u.state = '{}' AND u.verified = 0 AND u.confirmed = 0",
        ImportState::CreatedHook.as_str()
    )
}

/// The waiting rule over [`per_user_sql`]'s `u`: still on the hook and not
/// sent a reset (those users are handled).
pub(super) fn waiting_sql() -> String {
    format!("{} AND u.reset_sent = 0", on_hook_sql())
}

/// A `COUNT` column named `alias` over [`per_user_sql`]'s `u`: the
/// stragglers, waiting users imported at or before the one bind, a
/// [`days_cutoff`].
pub(super) fn straggler_count_sql(alias: &str) -> String {
    format!(
        "COUNT(CASE WHEN {} AND u.imported_at <= ? THEN 1 END) AS {alias}",
        waiting_sql()
    )
}

/// `days` days before `now` as a ledger timestamp (the bind of
/// [`straggler_count_sql`]).
pub(super) fn days_cutoff(now: OffsetDateTime, days: u64) -> String {
    cutoff(now, Duration::from_secs(days.saturating_mul(86_400)))
}

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
        let rule = match sent {
            SentResets::Excluded => waiting_sql(),
            SentResets::Included => on_hook_sql(),
        };
        let limit_sql = if limit.is_some() { " LIMIT ?" } else { "" };
        let sql = self.sql(&format!(
            "SELECT u.login, u.okta_id, u.imported_at, u.scheme, u.reset_state \
             FROM {} WHERE {rule} AND u.imported_at <= ? \
             ORDER BY u.imported_at, u.login{limit_sql}",
            per_user_sql()
        ));
        let mut query = sqlx::query(&sql).bind(cutoff(OffsetDateTime::now_utc(), older_than));
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
            .map(|i| straggler_count_sql(&format!("n{i}")))
            .collect();
        let sql = self.sql(&format!(
            "SELECT {} FROM {}",
            columns.join(", "),
            per_user_sql()
        ));
        let mut query = sqlx::query(&sql);
        for d in days {
            query = query.bind(days_cutoff(now, u64::from(*d)));
        }
        let row = query.fetch_one(self.pool()).await?;
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
            "SELECT COUNT(*) FROM {} WHERE {}",
            per_user_sql(),
            waiting_sql()
        ));
        Ok(sqlx::query_scalar(&sql).fetch_one(self.pool()).await?)
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
        self.state_counts("straggler_resets").await
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
