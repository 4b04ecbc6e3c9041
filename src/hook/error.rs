//! Errors of the hook endpoint and the HTTP answer each one gets. Per Okta's
//! guidance, 4xx is only for requests we cannot authenticate or parse (Okta
//! does not retry those); every verification outcome, including a database
//! that is down, is a 200 with UNVERIFIED.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// Why a request was refused before any lookup.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HookError {
    /// Missing or wrong authentication header.
    #[error("missing or invalid hook authentication header")]
    Unauthorized,
    /// Body is not JSON.
    #[error("request body is not valid JSON")]
    MalformedJson,
    /// `Content-Type` is not `application/json`.
    #[error("Content-Type must be application/json")]
    WrongContentType,
    /// JSON without the required fields.
    #[error("body must contain data.context.credential.username and data.context.credential.password as strings")]
    MissingFields,
    /// `eventType` is present and is not the password import event.
    #[error("eventType must be com.okta.user.credential.password.import")]
    WrongEventType,
    /// Body over the size limit.
    #[error("request body is larger than the {0}-byte limit")]
    BodyTooLarge(usize),
    /// Unknown path.
    #[error("no such endpoint")]
    NotFound,
    /// An event hook delivery with more events than `event_hook.max_events_per_batch`.
    #[error("more than {0} events in one delivery")]
    TooManyEvents(usize),
    /// An event hook verification without a usable `X-Okta-Verification-Challenge`.
    #[error("X-Okta-Verification-Challenge must be one header of 1-256 token characters")]
    BadChallenge,
    /// A dependency failed; the caller should retry (Okta retries a 5xx once).
    #[error("temporarily unavailable; retry")]
    Unavailable,
    /// A fault of ours (a caught panic).
    #[error("internal error")]
    Internal,
}

impl HookError {
    /// Stable machine-readable code, also the metric label.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::MalformedJson => "malformed_json",
            Self::WrongContentType => "wrong_content_type",
            Self::MissingFields => "missing_fields",
            Self::WrongEventType => "wrong_event_type",
            Self::BodyTooLarge(_) => "body_too_large",
            Self::NotFound => "not_found",
            Self::TooManyEvents(_) => "too_many_events",
            Self::BadChallenge => "bad_challenge",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::MalformedJson
            | Self::WrongContentType
            | Self::MissingFields
            | Self::WrongEventType
            | Self::BadChallenge => StatusCode::BAD_REQUEST,
            Self::BodyTooLarge(_) | Self::TooManyEvents(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for HookError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": self.code(), "message": self.to_string() }));
        let mut response = (self.status(), body).into_response();
        // The logging middleware reads this, so each refusal is logged once, in the request span.
        response.extensions_mut().insert(self);
        response
    }
}
