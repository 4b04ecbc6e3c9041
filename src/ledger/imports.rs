//! Import state in the ledger (`import_users`): for each legacy login, where
//! `passbridge import` got to (pending, created native, created hook,
//! skipped, failed + reason) and the Okta user id. Written in batches, one
//! transaction each, so a million users do not mean two million commits.
//! Never stores a password or a hash.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use sqlx::Row;

use super::{now_rfc3339, Ledger, LedgerError};

/// Longest reason stored (the column is VARCHAR(512); keep room for UTF-8).
const MAX_REASON_CHARS: usize = 400;

/// Where one user's import stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImportState {
    /// Picked up by a run; the create may or may not have reached Okta.
    Pending,
    /// Created in Okta with an imported hash.
    CreatedNative,
    /// Created in Okta with the password-import hook flag.
    CreatedHook,
    /// Not created (missing login, already in Okta before the import, ...).
    Skipped,
    /// The create failed; `reason` says why. Retried by the next run.
    Failed,
}

impl ImportState {
    /// Every state.
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::CreatedNative,
        Self::CreatedHook,
        Self::Skipped,
        Self::Failed,
    ];

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::CreatedNative => "created_native",
            Self::CreatedHook => "created_hook",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }

    /// Whether a later run leaves this user alone.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::CreatedNative | Self::CreatedHook | Self::Skipped
        )
    }

    /// Whether the user exists in Okta (by either path).
    pub fn is_created(self) -> bool {
        matches!(self, Self::CreatedNative | Self::CreatedHook)
    }
}

impl fmt::Display for ImportState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ImportState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown import state {s:?}"))
    }
}

/// What the ledger knows about one login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    /// Lower-cased login.
    pub login: String,
    /// State.
    pub state: ImportState,
    /// `native` or `hook` (the planned or used path).
    pub path: Option<String>,
    /// Legacy scheme, when recognised.
    pub scheme: Option<String>,
    /// Okta user id, once known.
    pub okta_id: Option<String>,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
    /// Runs that picked this user up.
    pub attempts: i64,
    /// The run that last touched it.
    pub run_id: String,
}

/// A user about to be sent to Okta.
#[derive(Debug, Clone)]
pub struct PendingImport {
    /// Lower-cased login.
    pub login: String,
    /// `native` or `hook`.
    pub path: &'static str,
    /// Legacy scheme, when recognised.
    pub scheme: Option<String>,
    /// Whether a row exists already (from an earlier run).
    pub known: bool,
}

/// The result for one user.
#[derive(Debug, Clone)]
pub struct ImportResult {
    /// Lower-cased login.
    pub login: String,
    /// Final or failed state.
    pub state: ImportState,
    /// `native` or `hook`, when sent.
    pub path: Option<&'static str>,
    /// Legacy scheme, when recognised.
    pub scheme: Option<String>,
    /// Okta id, when known.
    pub okta_id: Option<String>,
    /// Why (failures, skips, "found after an earlier attempt").
    pub reason: Option<String>,
}

fn clip(reason: Option<&str>) -> Option<String> {
    reason.map(|r| r.chars().take(MAX_REASON_CHARS).collect())
}

impl Ledger {
    /// The state of each of `logins` (lower-cased) that the ledger knows.
    ///
    /// # Errors
    /// The query failed.
    pub async fn import_records(
        &self,
        logins: &[String],
    ) -> Result<HashMap<String, ImportRecord>, LedgerError> {
        let mut out = HashMap::with_capacity(logins.len());
        for chunk in logins.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = self.sql(&format!(
                "SELECT login, state, path, scheme, okta_id, reason, attempts, run_id \
                 FROM import_users WHERE login IN ({marks})"
            ));
            let mut query = sqlx::query(&sql);
            for login in chunk {
                query = query.bind(login.clone());
            }
            for row in query.fetch_all(self.pool()).await? {
                let state: String = row.try_get("state")?;
                let record = ImportRecord {
                    login: row.try_get("login")?,
                    state: state
                        .parse()
                        .map_err(|e: String| LedgerError::Query(sqlx::Error::Decode(e.into())))?,
                    path: row.try_get("path")?,
                    scheme: row.try_get("scheme")?,
                    okta_id: row.try_get("okta_id")?,
                    reason: row.try_get("reason")?,
                    attempts: row.try_get("attempts")?,
                    run_id: row.try_get("run_id")?,
                };
                out.insert(record.login.clone(), record);
            }
        }
        Ok(out)
    }

    /// One login's record.
    ///
    /// # Errors
    /// The query failed.
    pub async fn import_record(&self, login: &str) -> Result<Option<ImportRecord>, LedgerError> {
        let key = login.to_lowercase();
        Ok(self
            .import_records(std::slice::from_ref(&key))
            .await?
            .remove(&key))
    }

    /// Marks users as pending for `run_id` before their creates are sent, in
    /// one transaction: after a crash the next run knows they may exist.
    ///
    /// # Errors
    /// A statement failed (nothing of the batch is written).
    pub async fn mark_pending(
        &self,
        run_id: &str,
        users: &[PendingImport],
    ) -> Result<(), LedgerError> {
        if users.is_empty() {
            return Ok(());
        }
        let now = now_rfc3339();
        let mut tx = self.pool().begin().await?;
        let update = self.sql(
            "UPDATE import_users SET state = ?, path = ?, scheme = ?, reason = NULL, \
             attempts = attempts + 1, run_id = ?, updated_at = ? WHERE login = ?",
        );
        for u in users.iter().filter(|u| u.known) {
            sqlx::query(&update)
                .bind(ImportState::Pending.as_str())
                .bind(u.path)
                .bind(u.scheme.clone())
                .bind(run_id.to_owned())
                .bind(now.clone())
                .bind(u.login.clone())
                .execute(&mut *tx)
                .await?;
        }
        let new: Vec<&PendingImport> = users.iter().filter(|u| !u.known).collect();
        for chunk in new.chunks(200) {
            let values = vec!["(?, ?, ?, ?, NULL, NULL, 1, ?, ?)"; chunk.len()].join(", ");
            let sql = self.sql(&format!(
                "INSERT INTO import_users (login, state, path, scheme, okta_id, reason, attempts, run_id, updated_at) \
                 VALUES {values}"
            ));
            let mut query = sqlx::query(&sql);
            for u in chunk {
                query = query
                    .bind(u.login.clone())
                    .bind(ImportState::Pending.as_str())
                    .bind(u.path)
                    .bind(u.scheme.clone())
                    .bind(run_id.to_owned())
                    .bind(now.clone());
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records results in one transaction. Users without a row yet (skips
    /// decided before any create) are inserted.
    ///
    /// # Errors
    /// A statement failed (nothing of the batch is written).
    pub async fn record_results(
        &self,
        run_id: &str,
        results: &[ImportResult],
    ) -> Result<(), LedgerError> {
        if results.is_empty() {
            return Ok(());
        }
        let now = now_rfc3339();
        let mut tx = self.pool().begin().await?;
        let update = self.sql(
            "UPDATE import_users SET state = ?, path = ?, scheme = ?, okta_id = ?, reason = ?, \
             run_id = ?, updated_at = ?, imported_at = COALESCE(imported_at, ?) WHERE login = ?",
        );
        let insert = self.sql(
            "INSERT INTO import_users (login, state, path, scheme, okta_id, reason, attempts, run_id, updated_at, imported_at) \
             VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
        );
        for r in results {
            // The first moment the user exists in Okta; later re-runs keep it.
            let imported_at = r.state.is_created().then(|| now.clone());
            let done = sqlx::query(&update)
                .bind(r.state.as_str())
                .bind(r.path)
                .bind(r.scheme.clone())
                .bind(r.okta_id.clone())
                .bind(clip(r.reason.as_deref()))
                .bind(run_id.to_owned())
                .bind(now.clone())
                .bind(imported_at.clone())
                .bind(r.login.clone())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                sqlx::query(&insert)
                    .bind(r.login.clone())
                    .bind(r.state.as_str())
                    .bind(r.path)
                    .bind(r.scheme.clone())
                    .bind(r.okta_id.clone())
                    .bind(clip(r.reason.as_deref()))
                    .bind(run_id.to_owned())
                    .bind(now.clone())
                    .bind(imported_at)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// How many users are in each state.
    ///
    /// # Errors
    /// The query failed.
    pub async fn import_counts(&self) -> Result<HashMap<ImportState, i64>, LedgerError> {
        self.state_counts("import_users").await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::db::DatabaseUrl;

    async fn ledger() -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::sqlite_file(&dir.path().join("ledger.db"));
        let ledger = Ledger::connect(&url).await.unwrap();
        (dir, ledger)
    }

    #[tokio::test]
    async fn pending_then_results_round_trip() {
        let (_dir, ledger) = ledger().await;
        let pending = vec![
            PendingImport {
                login: "a@x.io".into(),
                path: "native",
                scheme: Some("bcrypt_2b".into()),
                known: false,
            },
            PendingImport {
                login: "b@x.io".into(),
                path: "hook",
                scheme: None,
                known: false,
            },
        ];
        ledger.mark_pending("run1", &pending).await.unwrap();
        let rec = ledger.import_record("A@x.io").await.unwrap().unwrap();
        assert_eq!((rec.state, rec.attempts), (ImportState::Pending, 1));
        ledger
            .record_results(
                "run1",
                &[
                    ImportResult {
                        login: "a@x.io".into(),
                        state: ImportState::CreatedNative,
                        path: Some("native"),
                        scheme: Some("bcrypt_2b".into()),
                        okta_id: Some("00u1".into()),
                        reason: None,
                    },
                    ImportResult {
                        login: "c@x.io".into(),
                        state: ImportState::Skipped,
                        path: None,
                        scheme: None,
                        okta_id: None,
                        reason: Some("missing login".into()),
                    },
                ],
            )
            .await
            .unwrap();
        // A second run picks b up again.
        ledger
            .mark_pending(
                "run2",
                &[PendingImport {
                    known: true,
                    ..pending[1].clone()
                }],
            )
            .await
            .unwrap();
        let all = ledger
            .import_records(&["a@x.io".into(), "b@x.io".into(), "c@x.io".into()])
            .await
            .unwrap();
        assert_eq!(all["a@x.io"].state, ImportState::CreatedNative);
        assert_eq!(all["a@x.io"].okta_id.as_deref(), Some("00u1"));
        assert_eq!(
            (all["b@x.io"].attempts, all["b@x.io"].run_id.as_str()),
            (2, "run2")
        );
        assert_eq!(all["c@x.io"].state, ImportState::Skipped);
        let counts = ledger.import_counts().await.unwrap();
        assert_eq!(counts[&ImportState::Pending], 1);
        assert!(ImportState::Skipped.is_final() && !ImportState::Failed.is_final());
    }

    #[tokio::test]
    async fn imported_at_is_the_first_creation_and_stays() {
        let (_dir, ledger) = ledger().await;
        let result = |state| ImportResult {
            login: "a@x.io".into(),
            state,
            path: Some("hook"),
            scheme: None,
            okta_id: Some("00u1".into()),
            reason: None,
        };
        let imported_at = || async {
            sqlx::query_scalar::<_, Option<String>>(
                "SELECT imported_at FROM import_users WHERE login = 'a@x.io'",
            )
            .fetch_one(ledger.pool())
            .await
            .unwrap()
        };
        ledger
            .record_results("run1", &[result(ImportState::Failed)])
            .await
            .unwrap();
        assert_eq!(imported_at().await, None, "not in Okta yet");
        ledger
            .record_results("run2", &[result(ImportState::CreatedHook)])
            .await
            .unwrap();
        let first = imported_at().await.expect("set on creation");
        sqlx::query("UPDATE import_users SET imported_at = '2026-01-01T00:00:00Z'")
            .execute(ledger.pool())
            .await
            .unwrap();
        ledger
            .record_results("run3", &[result(ImportState::CreatedHook)])
            .await
            .unwrap();
        assert_eq!(
            imported_at().await.as_deref(),
            Some("2026-01-01T00:00:00Z"),
            "a re-run keeps the first moment (was {first})"
        );
    }
}
