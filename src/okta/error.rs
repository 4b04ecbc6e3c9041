//! Errors of the Okta client, including Okta's own error object
//! (`errorCode`, `errorSummary`, `errorCauses`). Messages never contain the
//! API token, a password or a hash.

use serde::{Deserialize, Serialize};

/// Result alias for the Okta client.
pub type Result<T> = std::result::Result<T, OktaError>;

/// One entry of Okta's `errorCauses` array.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorCause {
    /// Human-readable cause, for example `login: An object with this field already exists …`.
    #[serde(default)]
    pub error_summary: String,
}

/// Okta's error object, as returned with every 4xx/5xx answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OktaErrorBody {
    /// Stable code such as `E0000001` (validation) or `E0000047` (rate limit).
    #[serde(default)]
    pub error_code: String,
    /// One-line description.
    #[serde(default)]
    pub error_summary: String,
    /// Usually repeats the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_link: Option<String>,
    /// Okta's request id, for support cases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_id: Option<String>,
    /// Field-level causes.
    #[serde(default)]
    pub error_causes: Vec<ErrorCause>,
}

impl OktaErrorBody {
    /// Builds an error object (used by the stand-in).
    pub fn new(code: &str, summary: impl Into<String>, causes: Vec<String>) -> Self {
        Self {
            error_code: code.to_owned(),
            error_summary: summary.into(),
            error_link: Some(code.to_owned()),
            error_id: None,
            error_causes: causes
                .into_iter()
                .map(|error_summary| ErrorCause { error_summary })
                .collect(),
        }
    }

    /// `errorSummary` followed by each cause, for messages.
    pub fn describe(&self) -> String {
        let mut out = format!("{} {}", self.error_code, self.error_summary);
        for cause in &self.error_causes {
            out.push_str("; ");
            out.push_str(&cause.error_summary);
        }
        out
    }
}

/// Okta's code for "API validation failed".
pub const E_VALIDATION: &str = "E0000001";
/// Okta's code for "Not found".
pub const E_NOT_FOUND: &str = "E0000007";
/// Okta's code for "Invalid token provided".
pub const E_INVALID_TOKEN: &str = "E0000011";
/// Okta's code for "API call exceeded rate limit".
pub const E_RATE_LIMIT: &str = "E0000047";
/// The cause Okta gives when a login is taken (prefix; Okta appends
/// "in the current organization").
pub const LOGIN_EXISTS_CAUSE: &str = "login: An object with this field already exists";

/// Why a call to Okta failed.
#[derive(Debug, thiserror::Error)]
pub enum OktaError {
    /// The org URL is not usable (not https and not a loopback address, or unparsable).
    #[error("invalid Okta org URL: {0}")]
    InvalidOrgUrl(String),
    /// Okta answered with an error object.
    #[error("Okta answered {status}: {}", .body.describe())]
    Api {
        /// HTTP status.
        status: u16,
        /// Okta's error object (empty fields when the body was not one).
        body: OktaErrorBody,
    },
    /// Still rate limited after the configured number of waits.
    #[error("Okta kept answering 429 (rate limited) after {waits} waits")]
    RateLimited {
        /// How many times the client waited for the reset.
        waits: u32,
    },
    /// Connection, TLS or timeout failure after the configured retries.
    #[error("could not reach Okta: {0}")]
    Network(#[source] reqwest::Error),
    /// Okta answered 2xx with a body that is not what the API documents.
    #[error("unexpected answer from Okta: {0}")]
    Decode(String),
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
}

impl OktaError {
    /// The HTTP status, for API errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Okta's `errorCode`, for API errors.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { body, .. } => Some(body.error_code.as_str()),
            _ => None,
        }
    }

    /// Whether this is "a user with this login already exists" (400 `E0000001`
    /// with the login cause, or a 409).
    pub fn is_login_taken(&self) -> bool {
        match self {
            Self::Api { status: 409, .. } => true,
            Self::Api { status: 400, body } => {
                body.error_code == E_VALIDATION
                    && body
                        .error_causes
                        .iter()
                        .any(|c| c.error_summary.starts_with(LOGIN_EXISTS_CAUSE))
            }
            _ => false,
        }
    }

    /// Whether Okta said the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { status: 404, .. })
    }

    /// A short, stable label for reports and the ledger's reason column.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidOrgUrl(_) => "invalid_org_url",
            Self::Api { status: 401, .. } => "unauthorized",
            Self::Api { status: 403, .. } => "forbidden",
            Self::Api { status, .. } if *status >= 500 => "okta_server_error",
            Self::Api { .. } => "rejected",
            Self::RateLimited { .. } => "rate_limited",
            Self::Network(_) => "network",
            Self::Decode(_) => "bad_answer",
            Self::Build(_) => "client_setup",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, json: &str) -> OktaError {
        let body: OktaErrorBody = serde_json::from_str(json).unwrap_or_default();
        OktaError::Api { status, body }
    }

    #[test]
    fn login_taken_is_recognised_from_okta_error_shape() {
        let dup = api(
            400,
            r#"{"errorCode":"E0000001","errorSummary":"Api validation failed: login","errorLink":"E0000001","errorId":"oae1","errorCauses":[{"errorSummary":"login: An object with this field already exists in the current organization"}]}"#,
        );
        assert!(dup.is_login_taken());
        let other = api(
            400,
            r#"{"errorCode":"E0000001","errorSummary":"Api validation failed: password","errorCauses":[{"errorSummary":"password: Password requirements were not met"}]}"#,
        );
        assert!(!other.is_login_taken());
        assert!(api(409, "{}").is_login_taken());
        assert_eq!(other.kind(), "rejected");
        assert!(other.to_string().contains("Password requirements"));
    }
}
