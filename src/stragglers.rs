//! Wrapping up the stragglers (`passbridge stragglers --reset-password`):
//! sends each one Okta's reset-password email, paced by the Okta client,
//! recorded in the ledger so that no user is emailed twice.
//!
//! Who is a straggler is the ledger's rule ([`crate::ledger::Ledger::stragglers`]);
//! this module only walks a list of them. For each user the ledger row goes
//! to `pending` before the call and to `sent` after it, so a run killed at
//! any point loses nothing and duplicates nothing: a `pending` row left by
//! an earlier run, or a call whose outcome is unknown (5xx, network failure),
//! is settled by reading the user from Okta (a reset moves them to
//! `RECOVERY`) before anything is sent again. Never logs or prints a login
//! in progress lines, a password, a hash or a reset link.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::ledger::stragglers::{ResetState, Straggler};
use crate::ledger::{Ledger, LedgerError};
use crate::okta::{ClientStats, OktaClient, OktaError};

/// Okta status of a user whose password was reset (protocol §11).
const RECOVERY: &str = "RECOVERY";
/// Provider type once the password lives in Okta.
const PROVIDER_OKTA: &str = "OKTA";
/// Sends attempted for one user when each outcome is unknown (5xx, network)
/// and the look-up shows it did not take effect.
const MAX_SEND_ATTEMPTS: u32 = 3;
/// Pause between such attempts.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// What happened to one straggler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetOutcome {
    /// Okta accepted the reset: the email went out now.
    Sent,
    /// An earlier, interrupted attempt had already reset the user (found in
    /// `RECOVERY`, or with their password in Okta): recorded, nothing sent.
    AlreadyReset,
    /// Okta refused, or the call kept failing; the ledger keeps the reason
    /// and the next run tries again.
    Failed,
    /// The ledger has no Okta id for the user: nothing to call.
    NoOktaId,
}

/// Counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ResetSummary {
    /// Stragglers walked.
    pub considered: u64,
    /// Emails sent by this run.
    pub sent: u64,
    /// Users found already reset by an interrupted run (no email now).
    pub already_reset: u64,
    /// Users whose reset failed (re-run to retry).
    pub failed: u64,
    /// Users without an Okta id in the ledger.
    pub no_okta_id: u64,
    /// Okta requests, retries, 429s and pacing of the run.
    pub okta: ClientStats,
}

impl ResetSummary {
    fn count(&mut self, outcome: ResetOutcome) {
        self.considered += 1;
        match outcome {
            ResetOutcome::Sent => self.sent += 1,
            ResetOutcome::AlreadyReset => self.already_reset += 1,
            ResetOutcome::Failed => self.failed += 1,
            ResetOutcome::NoOktaId => self.no_okta_id += 1,
        }
    }

    /// The end-of-run lines.
    pub fn render(&self) -> String {
        format!(
            "Reset password: {} stragglers: {} emails sent, {} already reset by an earlier run, \
             {} failed, {} without an Okta id\n\
             Okta: {} requests, {} retries, {} x 429, {} ms paced\n",
            self.considered,
            self.sent,
            self.already_reset,
            self.failed,
            self.no_okta_id,
            self.okta.requests,
            self.okta.retries,
            self.okta.rate_limited,
            self.okta.paced_wait_ms,
        )
    }
}

/// Errors that stop a run (an Okta refusal for one user does not).
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    /// The ledger could not record a step: stop before sending more.
    #[error("recording the reset in the ledger: {0}")]
    Ledger(#[from] LedgerError),
}

/// Receives progress of a run.
pub trait ResetObserver: Send + Sync {
    /// The run starts with `total` stragglers.
    fn start(&self, _total: u64) {}
    /// One more is done (`done` so far).
    fn done(&self, _done: u64, _outcome: ResetOutcome) {}
    /// The run ended.
    fn finish(&self, _summary: &ResetSummary) {}
}

/// No progress output (tests, `--quiet`).
pub struct Quiet;

impl ResetObserver for Quiet {}

/// Progress on stderr: a bar on a terminal, one plain line per user
/// otherwise (counts and outcome only, never the login).
pub struct ResetProgress {
    bar: Mutex<Option<ProgressBar>>,
    terminal: bool,
    total: Mutex<u64>,
}

impl ResetProgress {
    /// A bar when `terminal`, plain lines otherwise.
    pub fn new(terminal: bool) -> Self {
        Self {
            bar: Mutex::new(None),
            terminal,
            total: Mutex::new(0),
        }
    }
}

impl ResetObserver for ResetProgress {
    fn start(&self, total: u64) {
        if let Ok(mut t) = self.total.lock() {
            *t = total;
        }
        if self.terminal {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "reset password {bar:40} {pos}/{len} ({per_sec}, ETA {eta})",
            ) {
                bar.set_style(style);
            }
            if let Ok(mut b) = self.bar.lock() {
                *b = Some(bar);
            }
        }
    }

    fn done(&self, done: u64, outcome: ResetOutcome) {
        if let Some(bar) = self.bar.lock().ok().and_then(|b| b.clone()) {
            bar.set_position(done);
            return;
        }
        let total = self.total.lock().map(|t| *t).unwrap_or(0);
        let outcome = serde_json::to_value(outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "reset password: {done}/{total} {outcome}"
        );
    }

    fn finish(&self, _summary: &ResetSummary) {
        if let Some(bar) = self.bar.lock().ok().and_then(|mut b| b.take()) {
            bar.finish_and_clear();
        }
    }
}

/// Sends the reset-password email to each of `stragglers` (run `run_id`).
///
/// `okta` is used without its 5xx/network retries (a repeated reset is a
/// second email); 429s are still waited out by its pacer.
///
/// # Errors
/// A ledger write failed: the run stops at that user (its row says
/// `pending` when the call may have been made, so the next run settles it).
pub async fn reset(
    ledger: &Ledger,
    okta: &OktaClient,
    stragglers: &[Straggler],
    run_id: &str,
    observer: &dyn ResetObserver,
) -> Result<ResetSummary, ResetError> {
    let okta = okta.without_retries();
    let mut summary = ResetSummary::default();
    observer.start(stragglers.len() as u64);
    for straggler in stragglers {
        let outcome = reset_one(ledger, &okta, straggler, run_id).await?;
        summary.count(outcome);
        observer.done(summary.considered, outcome);
    }
    summary.okta = okta.stats();
    observer.finish(&summary);
    Ok(summary)
}

/// Whether Okta shows `id` as reset (or past it): `Some(true)` reset,
/// `Some(false)` not reset, `None` the user is not in Okta.
async fn is_reset(okta: &OktaClient, id: &str) -> Result<Option<bool>, OktaError> {
    Ok(okta.find_user(id).await?.map(|user| {
        user.status == RECOVERY
            || user
                .credentials
                .and_then(|c| c.provider)
                .is_some_and(|p| p.kind == PROVIDER_OKTA)
    }))
}

/// Whether the outcome of a failed call is unknown (it may have been done).
fn outcome_unknown(e: &OktaError) -> bool {
    matches!(e, OktaError::Network(_)) || e.status().is_some_and(|s| s >= 500)
}

async fn reset_one(
    ledger: &Ledger,
    okta: &OktaClient,
    straggler: &Straggler,
    run_id: &str,
) -> Result<ResetOutcome, ResetError> {
    let Some(id) = straggler.okta_id.as_deref() else {
        tracing::warn!("straggler without an Okta id in the ledger; skipped");
        return Ok(ResetOutcome::NoOktaId);
    };
    let login = straggler.login.as_str();
    // An earlier run stopped between marking and recording: settle it first.
    if straggler.reset == Some(ResetState::Pending) {
        match is_reset(okta, id).await {
            Ok(Some(true)) => {
                ledger
                    .reset_finish(
                        login,
                        ResetState::Sent,
                        Some("found reset after an interrupted run"),
                    )
                    .await?;
                return Ok(ResetOutcome::AlreadyReset);
            }
            Ok(Some(false)) => {}
            Ok(None) => return fail(ledger, run_id, login, id, "user not found in Okta").await,
            Err(e) => return fail(ledger, run_id, login, id, &e.to_string()).await,
        }
    }
    ledger.reset_begin(run_id, login, id).await?;
    let mut attempt = 1;
    loop {
        match okta.send_reset_password_email(id).await {
            Ok(()) => {
                ledger.reset_finish(login, ResetState::Sent, None).await?;
                return Ok(ResetOutcome::Sent);
            }
            Err(e) if outcome_unknown(&e) => {
                tracing::warn!(okta_id = %id, error = %e, attempt, "reset_password outcome unknown; reading the user back");
                match is_reset(okta, id).await {
                    Ok(Some(true)) => {
                        ledger.reset_finish(login, ResetState::Sent, None).await?;
                        return Ok(ResetOutcome::Sent);
                    }
                    Ok(Some(false)) if attempt < MAX_SEND_ATTEMPTS => {
                        attempt += 1;
                        tokio::time::sleep(RETRY_PAUSE).await;
                    }
                    // Still pending in the ledger is the honest state only
                    // while the outcome is unknown; here Okta said "not reset".
                    Ok(_) => return finish_failed(ledger, login, id, &e.to_string()).await,
                    // Unknown still: the row stays `pending`, settled next run.
                    Err(lookup) => {
                        tracing::warn!(okta_id = %id, error = %lookup, "could not read the user back; left pending for the next run");
                        return Ok(ResetOutcome::Failed);
                    }
                }
            }
            Err(e) => return finish_failed(ledger, login, id, &e.to_string()).await,
        }
    }
}

/// Records a failure for a user not yet marked pending in this run.
async fn fail(
    ledger: &Ledger,
    run_id: &str,
    login: &str,
    id: &str,
    reason: &str,
) -> Result<ResetOutcome, ResetError> {
    ledger.reset_begin(run_id, login, id).await?;
    finish_failed(ledger, login, id, reason).await
}

async fn finish_failed(
    ledger: &Ledger,
    login: &str,
    id: &str,
    reason: &str,
) -> Result<ResetOutcome, ResetError> {
    tracing::warn!(okta_id = %id, reason, "reset_password failed");
    ledger
        .reset_finish(login, ResetState::Failed, Some(reason))
        .await?;
    Ok(ResetOutcome::Failed)
}

/// A straggler's minimum age, as typed: `7d`, `12h`, `90d`, `2w`, `0d`
/// (humantime units: s, m, h, d, w, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Age(pub Duration);

impl std::str::FromStr for Age {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        // humantime wants a unit; a bare 0 is unambiguous.
        if s == "0" {
            return Ok(Self(Duration::ZERO));
        }
        humantime::parse_duration(s)
            .map(Self)
            .map_err(|e| format!("{s:?} is not an age such as 7d, 12h or 90d: {e}"))
    }
}

/// Shown the way it is typed (`60d`, `12h`): humantime's own format would
/// say `1month 29days 13h 26m 24s` for 60 days (its month is 30.44 days).
impl std::fmt::Display for Age {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.0.as_secs();
        match secs {
            0 => f.write_str("0d"),
            s if s % 86_400 == 0 => write!(f, "{}d", s / 86_400),
            s if s % 3_600 == 0 => write!(f, "{}h", s / 3_600),
            s if s % 60 == 0 => write!(f, "{}m", s / 60),
            s => write!(f, "{s}s"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ages_parse_in_days_and_hours_and_refuse_nonsense() {
        let day = Duration::from_secs(86_400);
        assert_eq!("60d".parse::<Age>().unwrap(), Age(day * 60));
        assert_eq!("7d".parse::<Age>().unwrap(), Age(day * 7));
        assert_eq!(
            "12h".parse::<Age>().unwrap(),
            Age(Duration::from_secs(12 * 3600))
        );
        assert_eq!("0d".parse::<Age>().unwrap(), Age(Duration::ZERO));
        assert_eq!("0".parse::<Age>().unwrap(), Age(Duration::ZERO));
        for bad in ["", "60", "sixty days", "-7d", "7x"] {
            assert!(bad.parse::<Age>().is_err(), "{bad:?}");
        }
        for typed in ["90d", "12h", "45m", "0d", "90s"] {
            assert_eq!(typed.parse::<Age>().unwrap().to_string(), typed);
        }
    }

    #[test]
    fn the_summary_counts_each_outcome_once() {
        let mut s = ResetSummary::default();
        for o in [
            ResetOutcome::Sent,
            ResetOutcome::Sent,
            ResetOutcome::AlreadyReset,
            ResetOutcome::Failed,
            ResetOutcome::NoOktaId,
        ] {
            s.count(o);
        }
        assert_eq!(
            (
                s.considered,
                s.sent,
                s.already_reset,
                s.failed,
                s.no_okta_id
            ),
            (5, 2, 1, 1, 1)
        );
        assert!(s.render().contains("2 emails sent"));
    }
}
