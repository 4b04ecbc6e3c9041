//! `passbridge reconcile`: for users imported with the password-import hook
//! flag that the ledger does not know as confirmed, asks Okta
//! (`GET /api/v1/users/{id}`) whether the password now lives in Okta:
//! `credentials.provider.type` `OKTA` confirms (source `reconcile`),
//! `IMPORT` is still waiting. Paced by the Okta client's rate-limit
//! handling; each confirmation commits on its own, so a kill loses nothing
//! and a re-run starts with those still unconfirmed. Logs and shows counts,
//! never a password or a token.

use std::io::Write;

use indicatif::ProgressBar;

use crate::ledger::{ConfirmationSource, ImportOutcome, Ledger, LedgerError, OutcomeRecord};
use crate::okta::{OktaClient, OktaError};

/// Users read from the ledger per page.
const PAGE: u32 = 200;
/// `credentials.provider.type` once Okta owns the password.
const PROVIDER_OKTA: &str = "OKTA";

/// How to run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// List what would change; change nothing.
    pub dry_run: bool,
    /// Check at most this many users.
    pub limit: Option<u64>,
}

/// What a run found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Users asked about.
    pub checked: u64,
    /// Confirmed by this run (with `--dry-run`: would be).
    pub newly_confirmed: u64,
    /// Okta still has the import flag (`IMPORT`, or another provider).
    pub still_waiting: u64,
    /// Okta errors, and users Okta no longer has.
    pub errors: u64,
}

impl Summary {
    /// The text `reconcile` prints.
    pub fn render(&self, dry_run: bool) -> String {
        let confirmed = if dry_run {
            "would confirm"
        } else {
            "newly confirmed"
        };
        format!(
            "checked {}, {confirmed} {}, still waiting {}, errors {}\n",
            self.checked, self.newly_confirmed, self.still_waiting, self.errors
        )
    }
}

/// Errors that stop a run (an Okta error for one user does not).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Okta refused the token (401/403): every further call would fail too.
    #[error("Okta refused the API token: {0}")]
    Unauthorized(OktaError),
    /// Writing the listing failed.
    #[error("writing the listing: {0}")]
    Io(#[from] std::io::Error),
}

/// Walks the unconfirmed hook users in login order; `out` gets one line per
/// change (made, or with `dry_run` that would be made); `bar` counts users.
///
/// # Errors
/// The ledger failed or Okta refused the token; what was confirmed before
/// stays confirmed.
pub async fn run(
    ledger: &Ledger,
    okta: &OktaClient,
    options: Options,
    out: &mut (dyn Write + Send),
    bar: &ProgressBar,
) -> Result<Summary, ReconcileError> {
    let mut summary = Summary::default();
    let mut after: Option<String> = None;
    'pages: loop {
        let page = ledger
            .unconfirmed_hook_users(after.as_deref(), PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.login.clone());
        for user in page {
            if options.limit.is_some_and(|n| summary.checked >= n) {
                break 'pages;
            }
            summary.checked += 1;
            bar.inc(1);
            match okta.find_user(&user.okta_id).await {
                Ok(Some(found)) => {
                    let provider = found
                        .credentials
                        .as_ref()
                        .and_then(|c| c.provider.as_ref())
                        .map(|p| p.kind.as_str());
                    if provider != Some(PROVIDER_OKTA) {
                        summary.still_waiting += 1;
                        continue;
                    }
                    summary.newly_confirmed += 1;
                    if options.dry_run {
                        writeln!(out, "would confirm {} ({})", user.login, user.okta_id)?;
                        continue;
                    }
                    ledger
                        .record_okta_outcome(&OutcomeRecord {
                            login: user.login.clone(),
                            okta_id: Some(user.okta_id.clone()),
                            outcome: ImportOutcome::Success,
                            source: ConfirmationSource::Reconcile,
                        })
                        .await?;
                    writeln!(out, "confirmed {} ({})", user.login, user.okta_id)?;
                }
                Ok(None) => {
                    summary.errors += 1;
                    tracing::warn!(okta_id = %user.okta_id, "reconcile: Okta has no such user");
                }
                Err(e) if matches!(e.status(), Some(401 | 403)) => {
                    return Err(ReconcileError::Unauthorized(e));
                }
                Err(e) => {
                    summary.errors += 1;
                    tracing::warn!(okta_id = %user.okta_id, error = %e, "reconcile: reading the user failed");
                }
            }
        }
    }
    Ok(summary)
}
