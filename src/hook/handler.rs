//! parse → authenticate → look up → verify (admission-controlled worker
//! pool, see [`super::verifier`]) → record → answer. Every path ends in a 200 with a verdict,
//! except requests refused by [`super::error::HookError`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use tracing::{error, info, warn, Instrument};

use super::auth::HookCaller;
use super::delivered::NotifyOnSent;
use super::error::HookError;
use super::extract::HookJson;
use super::protocol::{CredentialVerdict, HookRequest, HookResponse, EVENT_TYPE};
use super::replay::{self, Replay};
use super::throttle::{IpBucket, Reservation, Subject};
use super::verifier::Checked;
use crate::hash::{HashError, Hints, StoredHash, Verdict};
use crate::ledger::{HookCall, HookCallRow, Origin};
use crate::metrics::{ThrottleLabels, VerdictLabels};
use crate::server::RequestStarted;
use crate::state::AppState;
use crate::telemetry::Escaped;

/// The durable record may finish this long after the budget: every answer
/// leaves within `hook.budget` + this.
const RECORD_SLACK: Duration = Duration::from_millis(50);
/// The longest the ledger itself is waited for; past it the row is spooled.
const LEDGER_TRY: Duration = Duration::from_millis(400);
/// Time kept back from the ledger attempt for the spool write.
const SPOOL_RESERVE: Duration = Duration::from_millis(25);
/// The decision (lookup, throttle, hashing) ends this long before the
/// deadline, so the durable record of its answer fits in the budget too.
const RECORD_RESERVE: Duration = Duration::from_millis(50);
/// How long the best-effort record of a `ledger_unavailable` answer may take.
const BEST_EFFORT_RECORD: Duration = Duration::from_secs(5);
/// The longest the ledger is asked whether another replica already answered
/// a call; past it the call is decided as usual.
const LEDGER_REPLAY_TRY: Duration = Duration::from_millis(100);

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
    /// The answer would not fit in the budget.
    pub const TIMEOUT: &str = "timeout";
    /// The ledger could not be used: neither it nor the local spool recorded
    /// a VERIFIED in time, or the throttle counters in it could not be reached
    /// (the attempt was then not evaluated).
    pub const LEDGER_UNAVAILABLE: &str = "ledger_unavailable";
    /// Refused before hashing: the verification queue could not finish it
    /// before the deadline.
    pub const OVERLOADED: &str = "overloaded";

    /// The recorded reason `s`, when a retry of its call may be answered
    /// with it again: a verdict on the credential or its throttle. Transient
    /// faults (`timeout`, `overloaded`, `legacy_unavailable`,
    /// `ledger_unavailable`) are not: a retry after them is decided afresh.
    pub fn replayable(s: &str) -> Option<&'static str> {
        [
            WRONG_PASSWORD,
            UNKNOWN_USER,
            UNSUPPORTED_HASH,
            MALFORMED_HASH,
            COST_TOO_HIGH,
            PASSWORD_TOO_LONG,
            THROTTLED,
        ]
        .into_iter()
        .find(|r| *r == s)
    }
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
    head: RequestStarted,
    HookJson(request): HookJson<HookRequest>,
) -> Result<Response, HookError> {
    let started = head.0;
    if request
        .event_type
        .as_deref()
        .is_some_and(|t| t != EVENT_TYPE)
    {
        return Err(HookError::WrongEventType);
    }
    let origin = super::protocol::origin_of(&headers, &request);
    let ip = IpBucket::from_okta(request.end_user_ip());
    let credential = request.data.context.credential;
    let username = state.settings.legacy.login_for(&credential.username);
    let budget = state.settings.hook.budget;
    let deadline = started + budget;
    let span = tracing::info_span!("password_import", username = %Escaped(&username));
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
                let event_id = request.event_id.as_deref().unwrap_or_default();
                let outcome =
                    match replay_from_ledger(&state, origin, event_id, &username, deadline)
                        .instrument(span.clone())
                        .await
                    {
                        Some(outcome) => outcome,
                        None => {
                            decide_within(&state, &username, credential.password, &ip, deadline)
                                .instrument(span.clone())
                                .await
                        }
                    };
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
    let caller = Caller {
        event_id: &request.event_id,
        request_id,
        username: &username,
        origin,
    };
    let outcome = record(&state, caller, outcome, latency, deadline)
        .instrument(span.clone())
        .await;
    // The whole handling time, the durable record included.
    state
        .metrics
        .hook_seconds
        .observe(started.elapsed().as_secs_f64());
    Ok(answer(&state, outcome.verdict, username, span))
}

/// The response; after a VERIFIED that was handed to the connection, the
/// write-back is queued (durably) for the background replayer.
fn answer(
    state: &AppState,
    verdict: CredentialVerdict,
    username: String,
    span: tracing::Span,
) -> Response {
    let json = match serde_json::to_vec(&HookResponse::new(verdict)) {
        Ok(json) => json,
        Err(_) => return HookError::Internal.into_response(),
    };
    if verdict != CredentialVerdict::Verified || !state.legacy.has_write_back() {
        return json_response(Body::from(json));
    }
    let (body, sent) = NotifyOnSent::new(json.into());
    let spool = Arc::clone(&state.spool);
    tokio::spawn(
        async move {
            if sent.await.is_err() {
                warn!("VERIFIED answer was not delivered; no write-back");
                return;
            }
            if let Err(e) = spool.enqueue_write_back(&username).await {
                error!(error = %e, "cannot queue the write-back after VERIFIED");
            }
        }
        .instrument(span),
    );
    json_response(Body::new(body))
}

fn json_response(body: Body) -> Response {
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Who made a call, as recorded with its verdict.
struct Caller<'a> {
    event_id: &'a Option<String>,
    request_id: Option<String>,
    username: &'a str,
    origin: Origin,
}

/// Makes the call durable (ledger, else spool) before the answer leaves,
/// counts it and logs the one line per call. Returns the answer to send: a
/// VERIFIED that could not be made durable by `deadline` + [`RECORD_SLACK`]
/// goes out as UNVERIFIED `ledger_unavailable`.
async fn record(
    state: &AppState,
    caller: Caller<'_>,
    outcome: Outcome,
    latency: Duration,
    deadline: Instant,
) -> Outcome {
    let Caller {
        event_id,
        request_id,
        username,
        origin,
    } = caller;
    let latency_ms = i64::try_from(latency.as_millis()).unwrap_or(i64::MAX);
    let call = HookCall {
        event_id: event_id.clone(),
        request_id,
        username: username.to_owned(),
        verdict: outcome.verdict.as_str().to_owned(),
        reason: outcome.reason.to_owned(),
        scheme: outcome.scheme.map(str::to_owned),
        latency_ms,
        origin,
    };
    let durable = persist(state, &HookCallRow::new(call.clone()), deadline).await;
    let outcome = if durable || outcome.verdict != CredentialVerdict::Verified {
        outcome
    } else {
        error!("no durable record of a VERIFIED; answering UNVERIFIED ledger_unavailable");
        let refused = Outcome::unverified(reason::LEDGER_UNAVAILABLE, outcome.scheme);
        let row = HookCallRow::new(HookCall {
            verdict: refused.verdict.as_str().to_owned(),
            reason: refused.reason.to_owned(),
            ..call
        });
        let (ledger, spool) = (state.ledger.clone(), Arc::clone(&state.spool));
        tokio::spawn(
            async move {
                let stored =
                    tokio::time::timeout(BEST_EFFORT_RECORD, ledger.insert_hook_call(&row));
                if !matches!(stored.await, Ok(Ok(()))) {
                    let _ = tokio::time::timeout(BEST_EFFORT_RECORD, spool.spool_row(&row)).await;
                }
            }
            .in_current_span(),
        );
        refused
    };
    state
        .metrics
        .hook_answers
        .get_or_create(&VerdictLabels {
            verdict: outcome.verdict.as_str().to_owned(),
            reason: outcome.reason.to_owned(),
        })
        .inc();
    info!(
        verdict = outcome.verdict.as_str(),
        reason = outcome.reason,
        scheme = outcome.scheme.unwrap_or("-"),
        latency_ms,
        event_id = %Escaped(event_id.as_deref().unwrap_or("-")),
        origin = origin.as_str(),
        "hook answered"
    );
    outcome
}

/// Writes `row` to the ledger, or failing that in time to the spool; true
/// once one of them confirmed, all by `deadline` + [`RECORD_SLACK`].
async fn persist(state: &AppState, row: &HookCallRow, deadline: Instant) -> bool {
    let write_by = tokio::time::Instant::from_std(deadline + RECORD_SLACK);
    let now = tokio::time::Instant::now();
    let ledger_by = (now + LEDGER_TRY).min(write_by - SPOOL_RESERVE);
    match tokio::time::timeout_at(ledger_by, state.recorder.insert(row.clone())).await {
        Ok(Ok(())) => return true,
        Ok(Err(e)) => {
            state.metrics.dependency_error("ledger");
            error!(error = %e, "could not record hook call in the ledger; spooling it");
        }
        Err(_) => {
            state.metrics.dependency_error("ledger");
            error!("recording hook call in the ledger timed out; spooling it");
        }
    }
    match tokio::time::timeout_at(write_by, state.spool.spool_row(row)).await {
        Ok(Ok(())) => {
            warn!(
                backlog = state.spool.backlog(),
                "hook call recorded in the local spool"
            );
            true
        }
        Ok(Err(e)) => {
            state.metrics.dependency_error("spool");
            error!(error = %e, spool = %state.spool.dir().display(), "could not write the hook call to the spool either");
            false
        }
        Err(_) => {
            state.metrics.dependency_error("spool");
            error!("writing the hook call to the spool timed out");
            false
        }
    }
}

/// Okta's retry of a call this replica has not seen (another replica, or
/// before a restart, answered it): when the ledger holds an UNVERIFIED
/// answer to the same `eventId` and username from Okta within
/// `hook.replay_window`, that answer again, without hashing or taking a
/// throttle attempt. A recorded VERIFIED is decided afresh, so the password
/// must verify again. `None` (decide as usual) also when the ledger does not
/// answer within [`LEDGER_REPLAY_TRY`].
async fn replay_from_ledger(
    state: &AppState,
    origin: Origin,
    event_id: &str,
    username: &str,
    deadline: Instant,
) -> Option<Outcome> {
    if origin != Origin::Okta || event_id.is_empty() {
        return None;
    }
    let now = time::OffsetDateTime::now_utc();
    let since = time::Duration::try_from(state.settings.hook.replay_window)
        .ok()
        .and_then(|window| now.checked_sub(window))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let since = crate::ledger::rfc3339(since);
    let by = (Instant::now() + LEDGER_REPLAY_TRY).min(deadline);
    let lookup = state.ledger.recorded_answer(event_id, username, &since);
    let answer = match tokio::time::timeout_at(by.into(), lookup).await {
        Ok(Ok(answer)) => answer?,
        Ok(Err(e)) => {
            state.metrics.dependency_error("ledger_replay");
            warn!(error = %e, "ledger replay lookup failed; deciding as usual");
            return None;
        }
        Err(_) => {
            state.metrics.dependency_error("ledger_replay");
            warn!("ledger replay lookup timed out; deciding as usual");
            return None;
        }
    };
    if answer.verdict != CredentialVerdict::Unverified.as_str() {
        return None;
    }
    let reason = reason::replayable(&answer.reason)?;
    state.metrics.replayed("ledger");
    Some(Outcome::unverified(reason, None))
}

/// [`decide`] within the budget, less the time its record needs.
async fn decide_within(
    state: &AppState,
    username: &str,
    password: SecretString,
    ip: &IpBucket,
    deadline: Instant,
) -> Outcome {
    let deadline = deadline.checked_sub(RECORD_RESERVE).unwrap_or(deadline);
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
    if state.verifier.shed_before_lookup(deadline) {
        return Outcome::unverified(reason::OVERLOADED, None);
    }
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
    // Half of what is left at most: the verification and its record need the rest.
    let now = Instant::now();
    let by = now + deadline.saturating_duration_since(now) / 2;
    let granted = match state.throttle.reserve(&subject, ip, by).await {
        Reservation::Granted(granted) => {
            if granted.local {
                state.metrics.dependency_error("throttle");
            }
            granted
        }
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
            let _ = state.verifier.verify_dummy(password, deadline).await;
            return Outcome::unverified(reason::THROTTLED, None);
        }
        Reservation::Unavailable => {
            // Fail closed: no guess is evaluated that could not be counted.
            state.metrics.dependency_error("throttle");
            error!("throttle counters unavailable; answering UNVERIFIED");
            let _ = state.verifier.verify_dummy(password, deadline).await;
            return Outcome::unverified(reason::LEDGER_UNAVAILABLE, None);
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
    let stored = Arc::new(stored);
    state.verifier.note_real(&stored);
    match state.verifier.verify(stored, password, deadline).await {
        Checked::Done(Ok(Verdict::Match)) => {
            state.throttle.succeeded(granted).await;
            Outcome {
                verdict: CredentialVerdict::Verified,
                reason: reason::VERIFIED,
                scheme: Some(scheme),
            }
        }
        Checked::Done(Ok(Verdict::Mismatch)) => {
            // The reservation stays: it was this wrong guess.
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

#[cfg(test)]
mod tests {
    use super::reason;

    #[test]
    fn only_final_unverified_reasons_are_replayed_from_the_ledger() {
        for final_reason in [
            reason::WRONG_PASSWORD,
            reason::UNKNOWN_USER,
            reason::THROTTLED,
            reason::MALFORMED_HASH,
        ] {
            assert_eq!(reason::replayable(final_reason), Some(final_reason));
        }
        for transient in [
            reason::VERIFIED,
            reason::TIMEOUT,
            reason::OVERLOADED,
            reason::LEGACY_UNAVAILABLE,
            reason::LEDGER_UNAVAILABLE,
            "probe",
        ] {
            assert_eq!(reason::replayable(transient), None, "{transient}");
        }
    }
}
