//! Okta's own word on hook-verified passwords (`okta_confirmations`) and the
//! Okta events already applied (`okta_events_seen`): the one owner of both
//! tables' queries. Okta delivers events at least once and out of order, so
//! an event's uuid is inserted (if absent) in the same transaction as the
//! confirmation it causes: a redelivery finds the uuid and changes nothing,
//! and a crash before the commit loses neither. A `FAILURE` never downgrades
//! a user already confirmed. Never stores a password or a hash.

use sqlx::{Any, Row};

use super::sanitise::{bounded, USERNAME_CHARS};
use super::{now_rfc3339, Ledger, LedgerError};
use crate::db::DbKind;

/// Longest event uuid and Okta user id kept (the columns are VARCHAR(64)).
const ID_CHARS: usize = 64;
/// Longest event type kept (VARCHAR(128)).
const EVENT_TYPE_CHARS: usize = 128;

/// `okta_confirmations.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmationState {
    /// Okta stored the password (`SUCCESS`, or provider `OKTA`).
    Confirmed,
    /// The last word was `FAILURE` (Okta asks the hook again at the next sign-in).
    Failed,
}

impl ConfirmationState {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Confirmed, Self::Failed]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// `okta_confirmations.source`: who said it last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmationSource {
    /// A `user.import.password` event from the event hook.
    Event,
    /// `passbridge reconcile` read `credentials.provider.type`.
    Reconcile,
}

impl ConfirmationSource {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::Reconcile => "reconcile",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Event, Self::Reconcile]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// What Okta said about one user's password import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    /// Okta stored the password.
    Success,
    /// Okta did not; it asks the hook again at the next sign-in.
    Failure,
}

/// One user's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// The login (as the hook normalises it).
    pub login: String,
    /// Okta user id, when known.
    pub okta_id: Option<String>,
    /// Confirmed or failed.
    pub state: ConfirmationState,
    /// Who said it last.
    pub source: ConfirmationSource,
    /// `FAILURE` outcomes counted.
    pub failures: i64,
    /// When it was first confirmed (RFC 3339).
    pub confirmed_at: Option<String>,
}

/// An outcome to record for a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeRecord {
    /// The login (normalised by the caller as the hook does).
    pub login: String,
    /// Okta user id, when known.
    pub okta_id: Option<String>,
    /// Success or failure.
    pub outcome: ImportOutcome,
    /// Who says so.
    pub source: ConfirmationSource,
}

/// What applying one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// First delivery: recorded (and its outcome, if any, applied).
    New,
    /// Its uuid was already applied: nothing changed.
    Duplicate,
}

/// A hook-path user Okta has not been heard confirming yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unconfirmed {
    /// Login in `import_users`.
    pub login: String,
    /// Okta user id.
    pub okta_id: String,
}

impl Ledger {
    /// `INSERT … VALUES (…)` that does nothing when the primary key exists.
    fn insert_if_absent(&self, table_and_columns: &str, values: &str) -> String {
        self.sql(&match self.kind() {
            DbKind::MySql => format!("INSERT IGNORE INTO {table_and_columns} VALUES ({values})"),
            DbKind::Sqlite | DbKind::Postgres => {
                format!("INSERT INTO {table_and_columns} VALUES ({values}) ON CONFLICT DO NOTHING")
            }
        })
    }

    /// Applies one Okta event: records its uuid if absent and, when it is
    /// new and carries an outcome, updates that user's row, all in one
    /// transaction.
    ///
    /// # Errors
    /// A statement or the commit failed (nothing was applied).
    pub async fn apply_okta_event(
        &self,
        uuid: &str,
        event_type: &str,
        outcome: Option<&OutcomeRecord>,
    ) -> Result<Applied, LedgerError> {
        let seen = self.insert_if_absent(
            "okta_events_seen (event_uuid, event_type, received_at)",
            "?, ?, ?",
        );
        let mut tx = self.pool().begin().await?;
        let inserted = sqlx::query(&seen)
            .bind(bounded(uuid, ID_CHARS))
            .bind(bounded(event_type, EVENT_TYPE_CHARS))
            .bind(now_rfc3339())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if inserted == 0 {
            tx.rollback().await?;
            return Ok(Applied::Duplicate);
        }
        if let Some(record) = outcome {
            self.record_outcome_in(&mut tx, record).await?;
        }
        tx.commit().await?;
        Ok(Applied::New)
    }

    /// Records an outcome outside any event (`reconcile`). Returns whether
    /// the user became confirmed now (was not before).
    ///
    /// # Errors
    /// A statement or the commit failed.
    pub async fn record_okta_outcome(&self, record: &OutcomeRecord) -> Result<bool, LedgerError> {
        let mut tx = self.pool().begin().await?;
        let newly = self.record_outcome_in(&mut tx, record).await?;
        tx.commit().await?;
        Ok(newly)
    }

    /// The upsert behind both: insert the row if absent, else update it.
    /// `SUCCESS` confirms (keeping the first `confirmed_at`); `FAILURE`
    /// counts and marks `failed` only a user not yet confirmed.
    async fn record_outcome_in(
        &self,
        tx: &mut sqlx::Transaction<'static, Any>,
        record: &OutcomeRecord,
    ) -> Result<bool, LedgerError> {
        let login = bounded(&record.login, USERNAME_CHARS);
        let okta_id = record.okta_id.as_deref().map(|i| bounded(i, ID_CHARS));
        let source = record.source.as_str();
        let now = now_rfc3339();
        let (state, failures, confirmed_at) = match record.outcome {
            ImportOutcome::Success => (ConfirmationState::Confirmed, 0_i64, Some(now.clone())),
            ImportOutcome::Failure => (ConfirmationState::Failed, 1, None),
        };
        let before = self.sql("SELECT state FROM okta_confirmations WHERE login = ?");
        let before: Option<String> = sqlx::query_scalar(&before)
            .bind(login.clone())
            .fetch_optional(&mut **tx)
            .await?;
        let was_confirmed = before.as_deref() == Some(ConfirmationState::Confirmed.as_str());
        let insert = self.insert_if_absent(
            "okta_confirmations (login, okta_id, state, source, failures, confirmed_at, updated_at)",
            "?, ?, ?, ?, ?, ?, ?",
        );
        let inserted = sqlx::query(&insert)
            .bind(login.clone())
            .bind(okta_id.clone())
            .bind(state.as_str())
            .bind(source)
            .bind(failures)
            .bind(confirmed_at.clone())
            .bind(now.clone())
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if inserted > 0 {
            return Ok(record.outcome == ImportOutcome::Success);
        }
        match record.outcome {
            ImportOutcome::Success => {
                let sql = self.sql(
                    "UPDATE okta_confirmations SET state = 'confirmed', source = ?, \
                     okta_id = COALESCE(?, okta_id), confirmed_at = COALESCE(confirmed_at, ?), \
                     updated_at = ? WHERE login = ?",
                );
                sqlx::query(&sql)
                    .bind(source)
                    .bind(okta_id)
                    .bind(confirmed_at)
                    .bind(now)
                    .bind(login)
                    .execute(&mut **tx)
                    .await?;
            }
            ImportOutcome::Failure => {
                // `source` is set before `state` and reads the old `state`,
                // so MySQL's left-to-right SET gives the same result. A late
                // FAILURE leaves a confirmed user confirmed, and its source.
                let sql = self.sql(
                    "UPDATE okta_confirmations SET \
                     source = CASE WHEN state = 'confirmed' THEN source ELSE ? END, \
                     state = CASE WHEN state = 'confirmed' THEN 'confirmed' ELSE 'failed' END, \
                     failures = failures + 1, okta_id = COALESCE(?, okta_id), updated_at = ? \
                     WHERE login = ?",
                );
                sqlx::query(&sql)
                    .bind(source)
                    .bind(okta_id)
                    .bind(now)
                    .bind(login)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Ok(record.outcome == ImportOutcome::Success && !was_confirmed)
    }

    /// The row for `login`, if any.
    ///
    /// # Errors
    /// The query failed.
    pub async fn okta_confirmation(
        &self,
        login: &str,
    ) -> Result<Option<Confirmation>, LedgerError> {
        let sql = self.sql(
            "SELECT login, okta_id, state, source, failures, confirmed_at \
             FROM okta_confirmations WHERE login = ?",
        );
        let Some(row) = sqlx::query(&sql)
            .bind(bounded(login, USERNAME_CHARS))
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        let state: String = row.try_get("state")?;
        let source: String = row.try_get("source")?;
        Ok(Some(Confirmation {
            login: row.try_get("login")?,
            okta_id: row.try_get("okta_id")?,
            state: ConfirmationState::parse(&state).unwrap_or(ConfirmationState::Failed),
            source: ConfirmationSource::parse(&source).unwrap_or(ConfirmationSource::Event),
            failures: row.try_get("failures")?,
            confirmed_at: row.try_get("confirmed_at")?,
        }))
    }

    /// Up to `limit` users imported with the hook flag (path `hook`, an
    /// Okta id) and not confirmed, in login order after `after`: the pages
    /// `reconcile` walks, so a re-run resumes where confirmations stopped.
    ///
    /// # Errors
    /// The query failed.
    pub async fn unconfirmed_hook_users(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Unconfirmed>, LedgerError> {
        let sql = self.sql(
            "SELECT i.login, i.okta_id FROM import_users i \
             LEFT JOIN okta_confirmations c ON c.login = i.login \
             WHERE i.path = 'hook' AND i.okta_id IS NOT NULL \
             AND (c.state IS NULL OR c.state <> 'confirmed') AND i.login > ? \
             ORDER BY i.login LIMIT ?",
        );
        let rows = sqlx::query(&sql)
            .bind(after.unwrap_or("").to_owned())
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Unconfirmed {
                    login: r.try_get("login")?,
                    okta_id: r.try_get("okta_id")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::ledger::test_db::TestLedger;
    use crate::ledger::{ImportResult, ImportState};

    fn success(login: &str) -> OutcomeRecord {
        OutcomeRecord {
            login: login.into(),
            okta_id: Some("00u1".into()),
            outcome: ImportOutcome::Success,
            source: ConfirmationSource::Event,
        }
    }

    fn failure(login: &str) -> OutcomeRecord {
        OutcomeRecord {
            outcome: ImportOutcome::Failure,
            ..success(login)
        }
    }

    async fn redelivered_events_apply_once(kind: DbKind) {
        let Some(db) = TestLedger::create(kind).await else {
            return;
        };
        let ledger = &db.ledger;
        let ev = failure("a@x.io");
        let first = ledger
            .apply_okta_event("u-1", "user.import.password", Some(&ev))
            .await
            .unwrap();
        let again = ledger
            .apply_okta_event("u-1", "user.import.password", Some(&ev))
            .await
            .unwrap();
        assert_eq!((first, again), (Applied::New, Applied::Duplicate));
        let row = ledger.okta_confirmation("a@x.io").await.unwrap().unwrap();
        assert_eq!((row.state, row.failures), (ConfirmationState::Failed, 1));
        // Another type is remembered (deduped) without touching a user.
        assert_eq!(
            ledger
                .apply_okta_event("u-2", "user.session.start", None)
                .await
                .unwrap(),
            Applied::New
        );
        assert_eq!(
            ledger
                .apply_okta_event("u-2", "user.session.start", None)
                .await
                .unwrap(),
            Applied::Duplicate
        );
    }

    async fn late_failure_never_downgrades(kind: DbKind) {
        let Some(db) = TestLedger::create(kind).await else {
            return;
        };
        let ledger = &db.ledger;
        ledger
            .apply_okta_event("f-1", "user.import.password", Some(&failure("b@x.io")))
            .await
            .unwrap();
        ledger
            .apply_okta_event("s-1", "user.import.password", Some(&success("b@x.io")))
            .await
            .unwrap();
        let confirmed = ledger.okta_confirmation("b@x.io").await.unwrap().unwrap();
        assert_eq!(confirmed.state, ConfirmationState::Confirmed);
        let at = confirmed.confirmed_at.clone().expect("confirmed_at set");
        // Delivered late, out of order: counted, the user stays confirmed.
        ledger
            .apply_okta_event("f-0", "user.import.password", Some(&failure("b@x.io")))
            .await
            .unwrap();
        // A second SUCCESS keeps the first moment.
        let newly = ledger
            .record_okta_outcome(&success("b@x.io"))
            .await
            .unwrap();
        let row = ledger.okta_confirmation("b@x.io").await.unwrap().unwrap();
        assert_eq!(
            (row.state, row.failures, row.confirmed_at.as_deref(), newly),
            (ConfirmationState::Confirmed, 2, Some(at.as_str()), false)
        );
        assert_eq!(row.source, ConfirmationSource::Event);
    }

    async fn unconfirmed_hook_users_page_and_shrink(kind: DbKind) {
        let Some(db) = TestLedger::create(kind).await else {
            return;
        };
        let ledger = &db.ledger;
        let result = |login: &str, path: &'static str, okta_id: Option<&str>| ImportResult {
            login: login.into(),
            state: ImportState::CreatedHook,
            path: Some(path),
            scheme: None,
            okta_id: okta_id.map(Into::into),
            reason: None,
        };
        ledger
            .record_results(
                "run1",
                &[
                    result("a@x.io", "hook", Some("00ua")),
                    result("b@x.io", "hook", Some("00ub")),
                    result("c@x.io", "hook", Some("00uc")),
                    result("n@x.io", "native", Some("00un")),
                    result("z@x.io", "hook", None),
                ],
            )
            .await
            .unwrap();
        let page = ledger.unconfirmed_hook_users(None, 2).await.unwrap();
        let logins: Vec<&str> = page.iter().map(|u| u.login.as_str()).collect();
        assert_eq!(logins, ["a@x.io", "b@x.io"]);
        assert_eq!(page[0].okta_id, "00ua");
        let rest = ledger
            .unconfirmed_hook_users(Some("b@x.io"), 10)
            .await
            .unwrap();
        assert_eq!(rest.len(), 1);
        let reconciled = OutcomeRecord {
            source: ConfirmationSource::Reconcile,
            ..success("a@x.io")
        };
        assert!(ledger.record_okta_outcome(&reconciled).await.unwrap());
        ledger
            .apply_okta_event("f", "user.import.password", Some(&failure("b@x.io")))
            .await
            .unwrap();
        let left = ledger.unconfirmed_hook_users(None, 10).await.unwrap();
        let logins: Vec<&str> = left.iter().map(|u| u.login.as_str()).collect();
        assert_eq!(logins, ["b@x.io", "c@x.io"], "failed users stay waiting");
        let a = ledger.okta_confirmation("a@x.io").await.unwrap().unwrap();
        assert_eq!(a.source, ConfirmationSource::Reconcile);
    }

    crate::ledger::test_db::on_every_ledger! {
        redelivered => redelivered_events_apply_once;
        out_of_order => late_failure_never_downgrades;
        unconfirmed => unconfirmed_hook_users_page_and_shrink;
    }
}
