//! Okta's side of a sign-in (`POST /api/v1/authn`, Classic shape): an
//! imported hash is checked by the stand-in itself, in Okta's hash-object
//! format; a hook user is checked by calling the active password-import hook
//! with Okta's request body, and on `VERIFIED` the password is stored (as the
//! stand-in's own PBKDF2 hash) and the provider flips to `OKTA`, so the next
//! sign-in never calls the hook. The typed password is never logged.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::hooks::verdict_of;
use super::state::{now_rfc3339, random_id, Credential, Org};
use crate::okta::verify_hash_object;

/// Iterations of the stand-in's own password hash.
const OWN_ITERATIONS: u32 = 10_000;

/// Classic authn request.
#[derive(Deserialize)]
struct AuthnRequest {
    #[serde(default)]
    username: String,
    password: Option<SecretString>,
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The stand-in's own hash of a password it now owns.
pub(crate) fn own_hash(password: &[u8]) -> Credential {
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, &salt, OWN_ITERATIONS, &mut key);
    Credential::Password { salt, key }
}

fn check_own(salt: &[u8; 16], key: &[u8; 32], password: &[u8]) -> bool {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, OWN_ITERATIONS, &mut out);
    ct_eq(&out, key)
}

/// Okta's password-import request body (protocol §1.2), with a fresh `eventId`.
fn hook_body(
    org: &Org,
    hook_id: &str,
    username: &str,
    password: &SecretString,
    ip: &str,
) -> serde_json::Value {
    json!({
        "eventId": random_id(22),
        "eventTime": now_rfc3339(),
        "eventType": "com.okta.user.credential.password.import",
        "eventTypeVersion": "1.0",
        "contentType": "application/json",
        "cloudEventVersion": "0.1",
        "source": format!("{}api/v1/inlineHooks/{hook_id}", org.base_url),
        "data": {
            "context": {
                "request": {
                    "id": random_id(27),
                    "method": "POST",
                    "url": { "value": "/api/v1/authn" },
                    "ipAddress": ip,
                },
                "credential": {
                    "username": username,
                    "password": password.expose_secret(),
                }
            },
            "action": { "credential": "UNVERIFIED" }
        }
    })
}

fn success(user_id: &str, profile: &crate::okta::Profile) -> Response {
    let expires = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let expires = expires
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Json(json!({
        "expiresAt": expires,
        "status": "SUCCESS",
        "sessionToken": random_id(40),
        "_embedded": { "user": {
            "id": user_id,
            "profile": {
                "login": profile.login,
                "firstName": profile.first_name,
                "lastName": profile.last_name,
                "locale": "en",
                "timeZone": "America/Los_Angeles"
            }
        }}
    }))
    .into_response()
}

/// `POST /api/v1/authn`.
pub(crate) async fn sign_in(
    State(org): State<Arc<Org>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: AuthnRequest =
        serde_json::from_slice(&body).map_err(|_| ApiError::malformed_body())?;
    let Some(password) = request.password.filter(|p| !p.expose_secret().is_empty()) else {
        return Err(ApiError::validation(vec![
            "password: The field cannot be left blank".into(),
        ]));
    };
    if request.username.trim().is_empty() {
        return Err(ApiError::validation(vec![
            "username: The field cannot be left blank".into(),
        ]));
    }
    let (user_id, profile, credential) = {
        let users = org.users.lock().map_err(|_| ApiError::internal())?;
        match users.find(request.username.trim()) {
            Some(u) if u.status == "ACTIVE" => {
                (u.id.clone(), u.profile.clone(), u.credential.clone())
            }
            _ => return Err(ApiError::authentication_failed()),
        }
    };
    let verified = match credential {
        Credential::Hash(hash) => {
            let pw = password.clone();
            let mode = org.sha256_salt;
            tokio::task::spawn_blocking(move || {
                verify_hash_object(&hash, pw.expose_secret().as_bytes(), mode)
            })
            .await
            .unwrap_or(false)
        }
        Credential::Password { salt, key } => {
            let pw = password.clone();
            tokio::task::spawn_blocking(move || {
                check_own(&salt, &key, pw.expose_secret().as_bytes())
            })
            .await
            .unwrap_or(false)
        }
        Credential::Hook => {
            let Some(target) = org.active_password_hook() else {
                // No active hook: Okta cannot verify the user [unverified answer].
                return Err(ApiError::authentication_failed());
            };
            let body = hook_body(
                &org,
                &target.id,
                &request.username,
                &password,
                &peer.ip().to_string(),
            );
            let call = org.call_hook(&target, &body).await;
            drop(body);
            let verdict = verdict_of(&call.answer);
            let owned = match verdict {
                Ok(true) => {
                    let pw = password.clone();
                    tokio::task::spawn_blocking(move || own_hash(pw.expose_secret().as_bytes()))
                        .await
                        .ok()
                }
                _ => None,
            };
            let mut users = org.users.lock().map_err(|_| ApiError::internal())?;
            if let Some(user) = users.find_mut(&user_id) {
                user.hook_calls = user.hook_calls.saturating_add(call.attempts);
                if let Some(credential) = owned.clone() {
                    user.credential = credential;
                    user.provider = "OKTA";
                }
            }
            drop(users);
            if let Err(reason) = &verdict {
                tracing::info!(user = %user_id, %reason, "password import hook call failed");
            }
            // Okta's outcome event: SUCCESS once the password is stored.
            org.event_hooks
                .emit_import(&org, &user_id, &profile.login, owned.is_some());
            owned.is_some()
        }
    };
    if !verified {
        return Err(ApiError::authentication_failed());
    }
    if let Ok(mut users) = org.users.lock() {
        if let Some(user) = users.find_mut(&user_id) {
            user.sign_ins = user.sign_ins.saturating_add(1);
        }
    }
    Ok(success(&user_id, &profile))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn own_hash_round_trips() {
        let Credential::Password { salt, key } = own_hash(b"pw") else {
            unreachable!()
        };
        assert!(check_own(&salt, &key, b"pw"));
        assert!(!check_own(&salt, &key, b"pW"));
    }
}
