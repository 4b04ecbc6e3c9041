//! `GET` (Okta's one-time verification) and `POST` (deliveries) of
//! `/hooks/okta-events`. The caller is authenticated before the body is
//! read. Each event is applied in its own ledger transaction, keyed by its
//! uuid, so a redelivery (Okta delivers at least once, out of order) changes
//! nothing, and a ledger fault answers 503: Okta retries 5xx once, and what
//! was applied before the fault is deduplicated then. Logs counts only.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tracing::{error, info, warn};

use super::protocol::{EventDelivery, LogEvent, USER_IMPORT_PASSWORD, VERIFICATION_HEADER};
use crate::hook::auth::HeaderAuth;
use crate::hook::error::HookError;
use crate::ledger::{Applied, ConfirmationSource, ImportOutcome, OutcomeRecord};
use crate::state::AppState;

/// Longest verification challenge echoed (Okta's are short tokens).
pub const MAX_CHALLENGE_LEN: usize = 256;
/// Time the ledger may take for one delivery, inside Okta's 3 s timeout.
const LEDGER_BUDGET: Duration = Duration::from_secs(2);
/// Longest event uuid accepted (the dedupe column is VARCHAR(64)).
const MAX_UUID_LEN: usize = 64;

/// Proof the caller sent the event hook secret.
pub struct EventCaller;

impl FromRequestParts<AppState> for EventCaller {
    type Rejection = HookError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HookError> {
        let auth = parts
            .extensions
            .get::<Arc<HeaderAuth>>()
            .cloned()
            .ok_or(HookError::NotFound)?;
        auth.check(parts).map(|()| EventCaller).inspect_err(|_| {
            state.metrics.okta_events.auth_refused.inc();
        })
    }
}

/// Whether `challenge` is one to echo: 1 to [`MAX_CHALLENGE_LEN`] characters
/// of a token alphabet (letters, digits, `-_.~+/=`), so the echo can carry
/// nothing else.
pub fn valid_challenge(challenge: &str) -> bool {
    (1..=MAX_CHALLENGE_LEN).contains(&challenge.len())
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~+/=".contains(&b))
}

/// `GET /hooks/okta-events`: answers `{"verification": "<challenge>"}`.
/// Authenticated like deliveries: Okta sends the hook's `authScheme` header
/// with the challenge [unverified; the stand-in does], so an unauthenticated
/// caller cannot use the echo.
pub async fn verify(_caller: EventCaller, headers: HeaderMap) -> Result<Response, HookError> {
    let mut values = headers.get_all(VERIFICATION_HEADER).iter();
    let challenge = match (values.next(), values.next()) {
        (Some(v), None) => v.to_str().ok().filter(|c| valid_challenge(c)),
        _ => None,
    }
    .ok_or(HookError::BadChallenge)?;
    info!("event hook verification answered");
    Ok(Json(json!({ "verification": challenge })).into_response())
}

/// The delivery body: JSON by `Content-Type`, within the body limit, any
/// parse failure one answer (never serde's message).
pub struct Delivery(pub EventDelivery);

impl FromRequest<AppState> for Delivery {
    type Rejection = HookError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, HookError> {
        let json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(HookError::WrongContentType);
        }
        let limit = state.settings.hook.max_body_bytes;
        let body = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                HookError::BodyTooLarge(limit)
            } else {
                HookError::MalformedJson
            }
        })?;
        serde_json::from_slice(&body)
            .map(Self)
            .map_err(|_| HookError::MalformedJson)
    }
}

/// What one event asks of the ledger, or why it is skipped.
enum Plan {
    /// Dedupe and apply (with an outcome for `user.import.password`).
    Apply {
        uuid: String,
        event_type: &'static str,
        outcome: Option<OutcomeRecord>,
    },
    /// Unusable: counted as `invalid`.
    Invalid(&'static str),
}

fn plan(state: &AppState, event: &LogEvent) -> Plan {
    let Some(uuid) = event
        .uuid
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty() && u.len() <= MAX_UUID_LEN)
    else {
        return Plan::Invalid(kind_of(event));
    };
    if kind_of(event) != USER_IMPORT_PASSWORD {
        return Plan::Apply {
            uuid: uuid.to_owned(),
            event_type: "other",
            outcome: None,
        };
    }
    let outcome = match event.outcome.as_ref().and_then(|o| o.result.as_deref()) {
        Some(r) if r.eq_ignore_ascii_case("SUCCESS") => ImportOutcome::Success,
        Some(r) if r.eq_ignore_ascii_case("FAILURE") => ImportOutcome::Failure,
        _ => return Plan::Invalid(USER_IMPORT_PASSWORD),
    };
    let Some(user) = event.user() else {
        return Plan::Invalid(USER_IMPORT_PASSWORD);
    };
    let Some(login) = user
        .alternate_id
        .as_deref()
        .filter(|l| !l.trim().is_empty())
    else {
        return Plan::Invalid(USER_IMPORT_PASSWORD);
    };
    Plan::Apply {
        uuid: uuid.to_owned(),
        event_type: USER_IMPORT_PASSWORD,
        outcome: Some(OutcomeRecord {
            login: state.settings.legacy.login_for(login),
            okta_id: user.id.clone(),
            outcome,
            source: ConfirmationSource::Event,
        }),
    }
}

fn kind_of(event: &LogEvent) -> &'static str {
    match event.event_type.as_deref() {
        Some(USER_IMPORT_PASSWORD) => USER_IMPORT_PASSWORD,
        _ => "other",
    }
}

fn outcome_label(outcome: Option<&OutcomeRecord>) -> &'static str {
    match outcome.map(|o| o.outcome) {
        Some(ImportOutcome::Success) => "success",
        Some(ImportOutcome::Failure) => "failure",
        None => "ignored",
    }
}

/// `POST /hooks/okta-events`: applies the batch, oldest `published` first,
/// and answers 200 with an empty body.
pub async fn deliver(
    State(state): State<AppState>,
    _caller: EventCaller,
    Delivery(delivery): Delivery,
) -> Result<Response, HookError> {
    let mut events = delivery.data.map(|d| d.events).unwrap_or_default();
    let max = state.settings.event_hook.max_events_per_batch;
    if events.len() > max {
        return Err(HookError::TooManyEvents(max));
    }
    // Out of order across deliveries too; within one, the oldest first.
    events.sort_by(|a, b| a.published.cmp(&b.published));
    let metrics = &state.metrics.okta_events;
    let (mut applied, mut duplicates, mut invalid) = (0_usize, 0_usize, 0_usize);
    let work = async {
        for event in &events {
            match plan(&state, event) {
                Plan::Invalid(kind) => {
                    invalid += 1;
                    metrics.received(kind, "invalid");
                }
                Plan::Apply {
                    uuid,
                    event_type,
                    outcome,
                } => match state
                    .ledger
                    .apply_okta_event(&uuid, event_type, outcome.as_ref())
                    .await?
                {
                    Applied::New => {
                        applied += 1;
                        metrics.received(event_type, outcome_label(outcome.as_ref()));
                    }
                    Applied::Duplicate => {
                        duplicates += 1;
                        metrics.duplicates.inc();
                    }
                },
            }
        }
        Ok::<(), crate::ledger::LedgerError>(())
    };
    let result = tokio::time::timeout(LEDGER_BUDGET, work).await;
    let fault = match result {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some("timed out".to_owned()),
    };
    if let Some(cause) = fault {
        state.metrics.dependency_error("ledger");
        error!(
            error = %cause,
            applied, duplicates, "event hook: ledger write failed; answering 503 so Okta redelivers"
        );
        return Err(HookError::Unavailable);
    }
    if invalid > 0 {
        warn!(
            invalid,
            "event hook: events without a uuid, user or outcome skipped"
        );
    }
    info!(
        events = events.len(),
        applied, duplicates, invalid, "event hook delivery applied"
    );
    Ok(StatusCode::OK.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_bounded_tokens() {
        assert!(valid_challenge("X5_3k-2a.b~c+d/e="));
        assert!(!valid_challenge(""));
        assert!(!valid_challenge("a b"));
        assert!(!valid_challenge("<script>"));
        assert!(!valid_challenge("\"},{\"x"));
        assert!(valid_challenge(&"a".repeat(MAX_CHALLENGE_LEN)));
        assert!(!valid_challenge(&"a".repeat(MAX_CHALLENGE_LEN + 1)));
    }
}
