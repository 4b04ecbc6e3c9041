//! parse → authenticate → look up → verify (admission-controlled worker
//! pool, see [`super::verifier`]) → record → answer. Every path ends in a 200 with a verdict,
//! except requests refused by [`super::error::HookError`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use secrecy::SecretString;
use tracing::{error, info, warn, Instrument};

use super::auth::HookCaller;
use super::error::HookError;
use super::extract::HookJson;
use super::protocol::{CredentialVerdict, HookRequest, HookResponse, EVENT_TYPE};
use super::verifier::Checked;
use crate::hash::{HashError, Hints, StoredHash, Verdict};
use crate::ledger::HookCall;
use crate::metrics::VerdictLabels;
use crate::state::AppState;

/// How long the ledger write may add to an answer: with the default 2.5 s
/// budget the worst case stays under Okta's 3 s timeout.
const LEDGER_WRITE_TIMEOUT: Duration = Duration::from_millis(400);

/// Ledger reasons. Stable strings: admins query the ledger by them.
pub mod reason {
    /// Password matched.
    pub const VERIFIED: &str = "verified";
    /// Password did not match.
    pub const WRONG_PASSWORD: &str = "wrong_password";
    /// No legacy row for the username.
    pub const UNKNOWN_USER: &str = "unknown_user";
    /// The stored hash's format is not recognised or not supported.
    pub const UNSUPPORTED_HASH: &str = "unsupported_hash";
    /// The stored hash is recognised but malformed, or lacks a salt/parameter.
    pub const MALFORMED_HASH: &str = "malformed_hash";
    /// A cost parameter exceeds the configured ceiling.
    pub const COST_TOO_HIGH: &str = "cost_too_high";
    /// The typed password exceeds `hash.limits.max_password_bytes`.
    pub const PASSWORD_TOO_LONG: &str = "password_too_long";
    /// The legacy database is down or timed out.
    pub const LEGACY_UNAVAILABLE: &str = "legacy_unavailable";
    /// Too many wrong passwords for this username recently.
    pub const THROTTLED: &str = "throttled";
    /// The answer would not fit in the budget.
    pub const TIMEOUT: &str = "timeout";
    /// Refused before hashing: the verification queue could not finish it
    /// before the deadline.
    pub const OVERLOADED: &str = "overloaded";
}

/// What the hook decided, before it is recorded and sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The verdict.
    pub verdict: CredentialVerdict,
    /// Ledger reason (see [`reason`]).
    pub reason: &'static str,
    /// The scheme used, once a hash was parsed.
    pub scheme: Option<&'static str>,
}

impl Outcome {
    fn unverified(reason: &'static str, scheme: Option<&'static str>) -> Self {
        Self {
            verdict: CredentialVerdict::Unverified,
            reason,
            scheme,
        }
    }
}

/// `POST /hooks/password-import`.
pub async fn password_import(
    State(state): State<AppState>,
    _caller: HookCaller,
    headers: HeaderMap,
    HookJson(request): HookJson<HookRequest>,
) -> Result<Json<HookResponse>, HookError> {
    let started = Instant::now();
    if request
        .event_type
        .as_deref()
        .is_some_and(|t| t != EVENT_TYPE)
    {
        return Err(HookError::WrongEventType);
    }
    let credential = request.data.context.credential;
    let username = if state.settings.legacy.lowercase_username {
        credential.username.trim().to_lowercase()
    } else {
        credential.username
    };
    let budget = state.settings.hook.budget;
    let span = tracing::info_span!("password_import", username = %username);
    let outcome = tokio::time::timeout(
        budget,
        decide(&state, &username, credential.password, started + budget),
    )
    .instrument(span.clone())
    .await
    .unwrap_or_else(|_| Outcome::unverified(reason::TIMEOUT, None));
    let latency = started.elapsed();
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    record(
        &state,
        &request.event_id,
        request_id,
        &username,
        &outcome,
        latency,
    )
    .instrument(span)
    .await;
    Ok(Json(HookResponse::new(outcome.verdict)))
}

/// Writes the ledger row, counts the answer and logs the one line per call.
async fn record(
    state: &AppState,
    event_id: &Option<String>,
    request_id: Option<String>,
    username: &str,
    outcome: &Outcome,
    latency: Duration,
) {
    let latency_ms = i64::try_from(latency.as_millis()).unwrap_or(i64::MAX);
    let call = HookCall {
        event_id: event_id.clone(),
        request_id,
        username: username.to_owned(),
        verdict: outcome.verdict.as_str().to_owned(),
        reason: outcome.reason.to_owned(),
        scheme: outcome.scheme.map(str::to_owned),
        latency_ms,
    };
    // The answer must not wait long on our own bookkeeping; a lost ledger row
    // is logged and counted, the user's sign-in is not failed for it.
    match tokio::time::timeout(LEDGER_WRITE_TIMEOUT, state.ledger.record_hook_call(&call)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            state.metrics.dependency_error("ledger");
            error!(error = %e, "could not record hook call in the ledger");
        }
        Err(_) => {
            state.metrics.dependency_error("ledger");
            error!("recording hook call in the ledger timed out");
        }
    }
    state
        .metrics
        .hook_answers
        .get_or_create(&VerdictLabels {
            verdict: outcome.verdict.as_str().to_owned(),
            reason: outcome.reason.to_owned(),
        })
        .inc();
    state.metrics.hook_seconds.observe(latency.as_secs_f64());
    info!(
        verdict = outcome.verdict.as_str(),
        reason = outcome.reason,
        scheme = outcome.scheme.unwrap_or("-"),
        latency_ms,
        event_id = event_id.as_deref().unwrap_or("-"),
        "hook answered"
    );
}

/// The decision itself.
async fn decide(
    state: &AppState,
    username: &str,
    password: SecretString,
    deadline: Instant,
) -> Outcome {
    if state.throttle.is_blocked(username) {
        warn!("too many wrong passwords for this username; answering UNVERIFIED without verifying");
        return Outcome::unverified(reason::THROTTLED, None);
    }
    let user = match state.legacy.find_user(username).await {
        Ok(user) => user,
        Err(e) => {
            state.metrics.dependency_error("legacy");
            error!(error = %e, "legacy database lookup failed; answering UNVERIFIED");
            return Outcome::unverified(reason::LEGACY_UNAVAILABLE, None);
        }
    };
    let Some(user) = user else {
        // Same work as a real verification, so a caller cannot tell unknown
        // logins from wrong passwords by timing.
        let _ = state.verifier.verify_dummy(password, deadline).await;
        return Outcome::unverified(reason::UNKNOWN_USER, None);
    };
    let settings = &state.settings;
    let scheme_name = user.scheme.as_deref().or(settings.legacy.scheme.as_deref());
    let hints = Hints {
        salt: user.salt,
        username: Some(username.to_owned()),
        params: settings.legacy.params.clone(),
    };
    let parsed = {
        use secrecy::ExposeSecret;
        StoredHash::parse_with(
            scheme_name,
            user.password_hash.expose_secret(),
            &hints,
            &settings.hash.limits,
        )
    };
    let stored = match parsed {
        Ok(stored) => stored,
        Err(e) => {
            state.metrics.dependency_error("stored_hash");
            warn!(error = %e, "stored hash cannot be verified; answering UNVERIFIED");
            return Outcome::unverified(reason_for(&e), None);
        }
    };
    let scheme = stored.scheme().as_str();
    state.verifier.note_real(&stored);
    match state
        .verifier
        .verify(Arc::new(stored), password, deadline)
        .await
    {
        Checked::Done(Ok(Verdict::Match)) => {
            state.throttle.record_success(username);
            write_back(state, username).await;
            Outcome {
                verdict: CredentialVerdict::Verified,
                reason: reason::VERIFIED,
                scheme: Some(scheme),
            }
        }
        Checked::Done(Ok(Verdict::Mismatch)) => {
            state.throttle.record_failure(username);
            Outcome::unverified(reason::WRONG_PASSWORD, Some(scheme))
        }
        Checked::Done(Err(e)) => {
            warn!(error = %e, scheme, "verification failed; answering UNVERIFIED");
            Outcome::unverified(reason_for(&e), Some(scheme))
        }
        Checked::Overloaded => {
            warn!(
                scheme,
                "verification could not finish before the deadline; answering UNVERIFIED"
            );
            Outcome::unverified(reason::OVERLOADED, Some(scheme))
        }
        Checked::TooCostly => {
            warn!(
                scheme,
                "stored hash would take longer than the budget to verify; answering UNVERIFIED"
            );
            Outcome::unverified(reason::COST_TOO_HIGH, Some(scheme))
        }
        Checked::TimedOut => Outcome::unverified(reason::TIMEOUT, Some(scheme)),
    }
}

fn reason_for(e: &HashError) -> &'static str {
    match e.kind() {
        "unsupported_hash" => reason::UNSUPPORTED_HASH,
        "cost_too_high" => reason::COST_TOO_HIGH,
        "password_too_long" => reason::PASSWORD_TOO_LONG,
        _ => reason::MALFORMED_HASH,
    }
}

/// Runs the admin's write-back statement after VERIFIED. A failure is logged
/// and counted; the verdict stands (Okta stores the password either way).
async fn write_back(state: &AppState, username: &str) {
    match state.legacy.write_back(username).await {
        Ok(Some(0)) => warn!("write-back statement matched no row"),
        Ok(_) => {}
        Err(e) => {
            state.metrics.dependency_error("write_back");
            error!(error = %e, "write-back after VERIFIED failed");
        }
    }
}
