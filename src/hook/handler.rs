//! parse → authenticate → look up → verify (blocking pool, bounded, within
//! the budget) → record → answer. Every path ends in a 200 with a verdict,
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
use super::replay::{self, Replay};
use super::throttle::{IpBucket, Reservation, Subject};
use crate::hash::{HashError, Hints, StoredHash, Verdict};
use crate::ledger::HookCall;
use crate::metrics::{SchemeLabels, ThrottleLabels, VerdictLabels};
use crate::state::AppState;
use crate::telemetry::spawn_blocking_in_span;

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
    /// Too many attempts for this row (or login), row and IP, or IP recently.
    pub const THROTTLED: &str = "throttled";
    /// The ledger could not be used (here: the throttle counters), so the
    /// attempt was not evaluated.
    pub const LEDGER_UNAVAILABLE: &str = "ledger_unavailable";
    /// The answer would not fit in the budget.
    pub const TIMEOUT: &str = "timeout";
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
    let ip = IpBucket::from_okta(
        request
            .data
            .context
            .request
            .as_ref()
            .and_then(|r| r.ip_address.as_deref()),
    );
    let credential = request.data.context.credential;
    let username = if state.settings.legacy.lowercase_username {
        credential.username.trim().to_lowercase()
    } else {
        credential.username
    };
    let budget = state.settings.hook.budget;
    let deadline = started + budget;
    let span = tracing::info_span!("password_import", username = %username);
    // Okta's retry of the same call: the first answer, without deciding again.
    let outcome =
        match state
            .replay
            .begin(request.event_id.as_deref(), &username, &credential.password)
        {
            Replay::Answered(outcome) => {
                state.metrics.replayed("answered");
                outcome
            }
            Replay::Wait(first) => {
                match tokio::time::timeout_at(deadline.into(), replay::wait(first)).await {
                    Ok(Some(outcome)) => {
                        state.metrics.replayed("joined");
                        outcome
                    }
                    // The first call was cancelled before answering: decide afresh.
                    Ok(None) => {
                        decide_within(&state, &username, credential.password, &ip, deadline)
                            .instrument(span.clone())
                            .await
                    }
                    Err(_) => Outcome::unverified(reason::TIMEOUT, None),
                }
            }
            Replay::Lead(leader) => {
                let outcome = decide_within(&state, &username, credential.password, &ip, deadline)
                    .instrument(span.clone())
                    .await;
                leader.finish(outcome.clone());
                outcome
            }
            Replay::Bypass => {
                decide_within(&state, &username, credential.password, &ip, deadline)
                    .instrument(span.clone())
                    .await
            }
        };
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

/// [`decide`] within the budget.
async fn decide_within(
    state: &AppState,
    username: &str,
    password: SecretString,
    ip: &IpBucket,
    deadline: Instant,
) -> Outcome {
    tokio::time::timeout_at(
        deadline.into(),
        decide(state, username, password, ip, deadline),
    )
    .await
    .unwrap_or_else(|_| Outcome::unverified(reason::TIMEOUT, None))
}

/// The decision itself.
async fn decide(
    state: &AppState,
    username: &str,
    password: SecretString,
    ip: &IpBucket,
    deadline: Instant,
) -> Outcome {
    let user = match state.legacy.find_user(username).await {
        Ok(user) => user,
        Err(e) => {
            state.metrics.dependency_error("legacy");
            error!(error = %e, "legacy database lookup failed; answering UNVERIFIED");
            return Outcome::unverified(reason::LEGACY_UNAVAILABLE, None);
        }
    };
    // Reserve the attempt before any hashing. A refused or unrecordable
    // attempt still runs the dummy verification, so it costs what a wrong
    // password costs and its timing tells nothing.
    let subject = match &user {
        Some(user) => Subject::for_row(user),
        None => Subject::for_unknown(username),
    };
    let granted = match state.throttle.reserve(&subject, ip).await {
        Reservation::Granted(granted) => granted,
        Reservation::Denied(scope) => {
            state
                .metrics
                .throttle_denials
                .get_or_create(&ThrottleLabels {
                    scope: scope.as_str().to_owned(),
                })
                .inc();
            warn!(
                scope = scope.as_str(),
                "too many attempts; answering UNVERIFIED without verifying the stored hash"
            );
            let _ = verify_blocking(state, Arc::clone(&state.dummy_hash), password, deadline).await;
            return Outcome::unverified(reason::THROTTLED, None);
        }
        Reservation::Unavailable => {
            // Fail closed: no guess is evaluated that could not be counted.
            state.metrics.dependency_error("throttle");
            error!("throttle counters unavailable; answering UNVERIFIED");
            let _ = verify_blocking(state, Arc::clone(&state.dummy_hash), password, deadline).await;
            return Outcome::unverified(reason::LEDGER_UNAVAILABLE, None);
        }
    };
    let Some(user) = user else {
        // Same work as a real verification, so a caller cannot tell unknown
        // logins from wrong passwords by timing.
        let _ = verify_blocking(state, Arc::clone(&state.dummy_hash), password, deadline).await;
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
    let result = verify_blocking(state, Arc::new(stored), password, deadline).await;
    match result {
        Some(Ok(Verdict::Match)) => {
            state.throttle.succeeded(granted).await;
            write_back(state, username).await;
            Outcome {
                verdict: CredentialVerdict::Verified,
                reason: reason::VERIFIED,
                scheme: Some(scheme),
            }
        }
        Some(Ok(Verdict::Mismatch)) => {
            // The reservation stays: it was this wrong guess.
            Outcome::unverified(reason::WRONG_PASSWORD, Some(scheme))
        }
        Some(Err(e)) => {
            warn!(error = %e, scheme, "verification failed; answering UNVERIFIED");
            Outcome::unverified(reason_for(&e), Some(scheme))
        }
        None => Outcome::unverified(reason::TIMEOUT, Some(scheme)),
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

/// Verifies on the blocking pool, at most `max_concurrent_verifications` at
/// once. `None` when no slot frees up or the work does not finish by `deadline`.
async fn verify_blocking(
    state: &AppState,
    stored: Arc<StoredHash>,
    password: SecretString,
    deadline: Instant,
) -> Option<Result<Verdict, HashError>> {
    let deadline = tokio::time::Instant::from_std(deadline);
    let metrics = Arc::clone(&state.metrics);
    let limits = state.settings.hash.limits;
    metrics.verifications_in_flight.inc();
    let result = tokio::time::timeout_at(deadline, async {
        let permit = Arc::clone(&state.verify_slots).acquire_owned().await.ok()?;
        let scheme = stored.scheme().as_str();
        let task = spawn_blocking_in_span(move || {
            // The permit lives as long as the hashing, even if the caller gave up waiting.
            let _permit = permit;
            let started = Instant::now();
            let verdict = stored.verify(&password, &limits);
            (verdict, started.elapsed())
        });
        let (verdict, took) = task.await.ok()?;
        metrics
            .verify_seconds
            .get_or_create(&SchemeLabels {
                scheme: scheme.to_owned(),
            })
            .observe(took.as_secs_f64());
        Some(verdict)
    })
    .await
    .ok()
    .flatten();
    state.metrics.verifications_in_flight.dec();
    result
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
