//! User lifecycle calls of the stand-in:
//! `POST /api/v1/users/{id}/lifecycle/reset_password?sendEmail=true|false`
//! (protocol §11). Validates `sendEmail` and the user's status as Okta does,
//! moves the user to `RECOVERY` (no sign-in until the reset is completed; the
//! password-import hook is no longer called for them), and records every
//! email it "sends" so tests can count them ([`super::StandIn::emails`],
//! `GET /__dev/emails`). Rate-limited with the other `POST
//! /api/v1/users/{id}` calls by the router's middleware.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::state::{now_rfc3339, random_id, Org};

/// Statuses Okta moves to `RECOVERY` on a reset; any other (`STAGED`,
/// `PROVISIONED`, `SUSPENDED`, `DEPROVISIONED`) is refused [unverified:
/// Okta's reference names the target status, not the allowed ones].
const RESETTABLE: [&str; 4] = ["ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT"];

/// What a reset leaves the user in.
const RECOVERY: &str = "RECOVERY";

/// Kind of an email the stand-in sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// The reset-password email (`reset_password?sendEmail=true`).
    ResetPassword,
}

/// An email the stand-in would have sent (never the link it would carry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SentEmail {
    /// What it was.
    pub kind: EmailKind,
    /// The user's Okta id.
    pub user_id: String,
    /// The user's login (the address it went to, in the stand-in).
    pub to: String,
    /// When.
    pub sent_at: String,
}

/// `POST /api/v1/users/{id}/lifecycle/reset_password?sendEmail=…`.
pub(crate) async fn reset_password(
    State(org): State<Arc<Org>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    // `sendEmail` is required (OAS `resetPassword`).
    let send_email = match query.get("sendEmail").map(|v| v.to_ascii_lowercase()) {
        Some(v) if v == "true" => true,
        Some(v) if v == "false" => false,
        Some(_) => {
            return Err(ApiError::validation(vec![
                "sendEmail: Must be true or false".into(),
            ]))
        }
        None => {
            return Err(ApiError::validation(vec![
                "sendEmail: The parameter is required".into(),
            ]))
        }
    };
    let (user_id, login) = {
        let mut users = org.users.lock().map_err(|_| ApiError::internal())?;
        let user = users
            .find_mut(&id)
            .ok_or_else(|| ApiError::not_found(&id, "User"))?;
        if !RESETTABLE.contains(&user.status) {
            return Err(ApiError::wrong_status());
        }
        user.status = RECOVERY;
        (user.id.clone(), user.profile.login.clone())
    };
    if !send_email {
        // Okta returns the one-time link instead of mailing it.
        return Ok(Json(json!({
            "summary": "Reset password without sending email",
            "resetPasswordUrl": format!("{}signin/reset-password/{}", org.base_url, random_id(20)),
        })));
    }
    if let Ok(mut emails) = org.emails.lock() {
        emails.push(SentEmail {
            kind: EmailKind::ResetPassword,
            user_id,
            to: login,
            sent_at: now_rfc3339(),
        });
    }
    Ok(Json(json!({})))
}

/// `GET /__dev/emails`: every email sent so far, oldest first.
pub(crate) async fn dev_emails(State(org): State<Arc<Org>>) -> Json<Vec<SentEmail>> {
    Json(org.sent_emails())
}

impl Org {
    pub(crate) fn sent_emails(&self) -> Vec<SentEmail> {
        self.emails.lock().map(|e| e.clone()).unwrap_or_default()
    }
}
