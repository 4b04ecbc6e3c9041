//! Okta-shaped error answers of the stand-in (`errorCode`, `errorSummary`,
//! `errorLink`, `errorId`, `errorCauses`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::state::random_id;
use crate::okta::{OktaErrorBody, E_INVALID_TOKEN, E_NOT_FOUND, E_RATE_LIMIT, E_VALIDATION};

/// An error answer.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    body: Box<OktaErrorBody>,
}

impl ApiError {
    fn new(
        status: StatusCode,
        code: &str,
        summary: impl Into<String>,
        causes: Vec<String>,
    ) -> Self {
        Self {
            status,
            body: Box::new(OktaErrorBody::new(code, summary, causes)),
        }
    }

    /// 400 `E0000001` "Api validation failed: <field>" with one cause per problem.
    pub(crate) fn validation(causes: Vec<String>) -> Self {
        let field = causes
            .first()
            .and_then(|c| c.split(':').next())
            .unwrap_or("body")
            .to_owned();
        Self::new(
            StatusCode::BAD_REQUEST,
            E_VALIDATION,
            format!("Api validation failed: {field}"),
            causes,
        )
    }

    /// 400 `E0000003`: the body is not JSON of the expected shape.
    pub(crate) fn malformed_body() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000003",
            "The request body was not well-formed.",
            Vec::new(),
        )
    }

    /// 404 `E0000007`.
    pub(crate) fn not_found(id: &str, kind: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            E_NOT_FOUND,
            format!("Not found: Resource not found: {id} ({kind})"),
            Vec::new(),
        )
    }

    /// 401 `E0000011`.
    pub(crate) fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            E_INVALID_TOKEN,
            "Invalid token provided",
            Vec::new(),
        )
    }

    /// 401 `E0000004`: sign-in failed (never says why).
    pub(crate) fn authentication_failed() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "E0000004",
            "Authentication failed",
            Vec::new(),
        )
    }

    /// 403 `E0000038`: the user's status does not allow the operation.
    pub(crate) fn wrong_status() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "E0000038",
            "This operation is not allowed in the user's current status.",
            Vec::new(),
        )
    }

    /// 429 `E0000047`.
    pub(crate) fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            E_RATE_LIMIT,
            "API call exceeded rate limit due to too many requests.",
            Vec::new(),
        )
    }

    /// 500 `E0000009`.
    pub(crate) fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "E0000009",
            "Internal Server Error",
            Vec::new(),
        )
    }

    /// 405 `E0000022`.
    pub(crate) fn wrong_method() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "E0000022",
            "The endpoint does not support the provided HTTP method",
            Vec::new(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = *self.body;
        body.error_id = Some(format!("oae{}", random_id(19)));
        (self.status, Json(body)).into_response()
    }
}

/// Fallback for unknown paths.
pub(crate) async fn not_found_route(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(uri.path(), "path")
}

/// Fallback for a known path with the wrong method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::wrong_method()
}

/// Parses a JSON body into a `Value`, answering Okta's malformed-body error.
pub(crate) fn parse_json(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(body).map_err(|_| ApiError::malformed_body())
}
