//! Users API of the stand-in: `POST /api/v1/users` with field-by-field
//! validation of the profile and of `credentials.password` (hash object or
//! hook flag), duplicate-login refusal in Okta's error shape, and
//! `GET /api/v1/users/{idOrLogin}`. Also the `/__dev` inspection endpoints.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::Json;
use base64::alphabet::STANDARD;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde_json::{Map, Value};

use super::error::{parse_json, ApiError};
use super::state::{bump, now_rfc3339, random_id, Credential, Org, Stats, UserRecord, UserView};
use crate::okta::{PasswordHash, Profile, User, LOGIN_EXISTS_CAUSE};

/// Okta's limits on bcrypt hash objects.
const BCRYPT_SALT_LEN: usize = 22;
const BCRYPT_VALUE_LEN: usize = 31;
const BCRYPT_MIN_WORK_FACTOR: u64 = 1;
const BCRYPT_MAX_WORK_FACTOR: u64 = 20;
/// Okta's PBKDF2 minimum.
const PBKDF2_MIN_ITERATIONS: u64 = 4096;
/// Longest derived key accepted (SHA-512 output; longer keys make no sense).
const PBKDF2_MAX_KEY_SIZE: u64 = 64;
/// Longest login Okta accepts.
const MAX_LOGIN_LEN: usize = 100;
/// Longest plain password Okta accepts on create.
const MAX_PASSWORD_LEN: usize = 72;
/// The bcrypt radix-64 alphabet.
const BCRYPT_ALPHABET: &str = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Standard Base64 with or without padding, no stray bits.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A create-user body that passed validation.
pub(crate) struct NewUser {
    pub(crate) profile: Profile,
    pub(crate) credential: Credential,
}

fn text<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

fn blank(field: &str) -> String {
    format!("{field}: The field cannot be left blank")
}

/// Validates the profile attributes Okta's default schema requires.
fn check_profile(profile: &Map<String, Value>, require_names: bool, causes: &mut Vec<String>) {
    match text(profile, "login").map(str::trim) {
        None | Some("") => causes.push(blank("login")),
        Some(login) if login.len() > MAX_LOGIN_LEN => causes.push(format!(
            "login: The field is too long (at most {MAX_LOGIN_LEN} characters)"
        )),
        Some(_) => {}
    }
    match text(profile, "email").map(str::trim) {
        None | Some("") => causes.push(blank("email")),
        Some(email) => {
            let valid = email
                .split_once('@')
                .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'));
            if !valid {
                causes.push("email: Does not match required pattern".into());
            }
        }
    }
    if require_names {
        for field in ["firstName", "lastName"] {
            if text(profile, field).is_none_or(|v| v.trim().is_empty()) {
                causes.push(blank(field));
            }
        }
    }
}

/// Digest length in bytes of a digest algorithm name.
fn digest_len(algorithm: &str) -> Option<usize> {
    match algorithm {
        "MD5" => Some(16),
        "SHA-1" => Some(20),
        "SHA-256" => Some(32),
        "SHA-512" => Some(64),
        _ => None,
    }
}

/// Validates a `credentials.password.hash` object field by field.
fn check_hash(hash: &Map<String, Value>, causes: &mut Vec<String>) {
    const P: &str = "credentials.password.hash";
    let Some(algorithm) = text(hash, "algorithm") else {
        causes.push(format!("{P}.algorithm: The field cannot be left blank"));
        return;
    };
    let allowed: &[&str] = match algorithm {
        "BCRYPT" => &["algorithm", "workFactor", "salt", "value"],
        "SHA-512" | "SHA-256" | "SHA-1" | "MD5" => &["algorithm", "salt", "saltOrder", "value"],
        "PBKDF2" => &[
            "algorithm",
            "salt",
            "value",
            "iterationCount",
            "keySize",
            "digestAlgorithm",
        ],
        _ => {
            causes.push(format!(
                "{P}.algorithm: Does not match one of BCRYPT, SHA-512, SHA-256, SHA-1, MD5, PBKDF2"
            ));
            return;
        }
    };
    for key in hash.keys() {
        if !allowed.contains(&key.as_str()) {
            causes.push(format!("{P}.{key}: Not a property of a {algorithm} hash"));
        }
    }
    let b64 = |field: &str, causes: &mut Vec<String>| -> Option<Vec<u8>> {
        match hash.get(field) {
            None => None,
            Some(Value::String(s)) => match BASE64.decode(s) {
                Ok(bytes) => Some(bytes),
                Err(_) => {
                    causes.push(format!("{P}.{field}: Must be valid Base64"));
                    None
                }
            },
            Some(_) => {
                causes.push(format!("{P}.{field}: Must be a string"));
                None
            }
        }
    };
    let uint = |field: &str| hash.get(field).and_then(Value::as_u64);
    match algorithm {
        "BCRYPT" => {
            match uint("workFactor") {
                Some(w) if (BCRYPT_MIN_WORK_FACTOR..=BCRYPT_MAX_WORK_FACTOR).contains(&w) => {}
                _ => causes.push(format!(
                    "{P}.workFactor: Must be a number between {BCRYPT_MIN_WORK_FACTOR} and {BCRYPT_MAX_WORK_FACTOR}"
                )),
            }
            for (field, len) in [("salt", BCRYPT_SALT_LEN), ("value", BCRYPT_VALUE_LEN)] {
                let ok = text(hash, field).is_some_and(|s| {
                    s.len() == len && s.chars().all(|c| BCRYPT_ALPHABET.contains(c))
                });
                if !ok {
                    causes.push(format!(
                        "{P}.{field}: Must be exactly {len} characters of the bcrypt alphabet [./A-Za-z0-9]"
                    ));
                }
            }
        }
        "PBKDF2" => {
            if !hash.contains_key("salt") {
                causes.push(format!("{P}.salt: The field cannot be left blank"));
            }
            let _ = b64("salt", causes);
            let value = b64("value", causes);
            if !hash.contains_key("value") {
                causes.push(format!("{P}.value: The field cannot be left blank"));
            }
            match uint("iterationCount") {
                Some(n) if n >= PBKDF2_MIN_ITERATIONS && n <= u64::from(u32::MAX) => {}
                _ => causes.push(format!(
                    "{P}.iterationCount: Must be at least {PBKDF2_MIN_ITERATIONS}"
                )),
            }
            match uint("keySize") {
                Some(k) if (1..=PBKDF2_MAX_KEY_SIZE).contains(&k) => {
                    if let Some(v) = value {
                        if u64::try_from(v.len()).ok() != Some(k) {
                            causes.push(format!(
                                "{P}.keySize: Does not match the length of the value"
                            ));
                        }
                    }
                }
                _ => causes.push(format!(
                    "{P}.keySize: Must be a number between 1 and {PBKDF2_MAX_KEY_SIZE}"
                )),
            }
            match text(hash, "digestAlgorithm") {
                Some("SHA256_HMAC" | "SHA512_HMAC") => {}
                _ => causes.push(format!(
                    "{P}.digestAlgorithm: Does not match one of SHA256_HMAC, SHA512_HMAC"
                )),
            }
        }
        _ => {
            let len = digest_len(algorithm).unwrap_or_default();
            match b64("value", causes) {
                Some(v) if v.len() == len => {}
                Some(_) => causes.push(format!(
                    "{P}.value: Must be the Base64 of a {len}-byte {algorithm} digest"
                )),
                None if !hash.contains_key("value") => {
                    causes.push(format!("{P}.value: The field cannot be left blank"));
                }
                None => {}
            }
            let salt = b64("salt", causes);
            match (hash.get("salt"), text(hash, "saltOrder")) {
                (Some(_), Some("PREFIX" | "POSTFIX")) | (None, None) => {}
                (Some(_), Some(_)) => causes.push(format!(
                    "{P}.saltOrder: Does not match one of PREFIX, POSTFIX"
                )),
                (Some(_), None) => causes.push(format!(
                    "{P}.saltOrder: The field cannot be left blank when a salt is given"
                )),
                (None, Some(_)) => {
                    causes.push(format!("{P}.saltOrder: Not allowed without a salt"));
                }
            }
            let _ = salt;
        }
    }
}

/// Validates a create-user body; on success returns the profile and credential.
pub(crate) fn validate(body: &Value, require_names: bool) -> Result<NewUser, Vec<String>> {
    let mut causes = Vec::new();
    let Some(root) = body.as_object() else {
        return Err(vec!["body: Must be a JSON object".into()]);
    };
    let profile = root.get("profile").and_then(Value::as_object);
    match profile {
        Some(p) => check_profile(p, require_names, &mut causes),
        None => causes.push(blank("profile")),
    }
    let password = root
        .get("credentials")
        .and_then(|c| c.get("password"))
        .and_then(Value::as_object);
    let mut credential = None;
    match password {
        None => causes
            .push("credentials.password: The stand-in requires a hash, a hook or a value".into()),
        Some(pw) => {
            let given: Vec<&str> = ["hash", "hook", "value"]
                .into_iter()
                .filter(|k| pw.contains_key(*k))
                .collect();
            match given.as_slice() {
                ["hash"] => match pw.get("hash").and_then(Value::as_object) {
                    Some(hash) => {
                        let before = causes.len();
                        check_hash(hash, &mut causes);
                        if causes.len() == before {
                            match serde_json::from_value::<PasswordHash>(Value::Object(
                                hash.clone(),
                            )) {
                                Ok(h) => credential = Some(Credential::Hash(h)),
                                Err(_) => causes.push(
                                    "credentials.password.hash: Does not match the hash object"
                                        .into(),
                                ),
                            }
                        }
                    }
                    None => causes.push("credentials.password.hash: Must be an object".into()),
                },
                ["hook"] => {
                    let kind = pw
                        .get("hook")
                        .and_then(|h| h.get("type"))
                        .and_then(Value::as_str);
                    if kind == Some("default") {
                        credential = Some(Credential::Hook);
                    } else {
                        causes.push(
                            "credentials.password.hook.type: Must be set to \"default\"".into(),
                        );
                    }
                }
                ["value"] => match pw.get("value").and_then(Value::as_str) {
                    Some(v) if !v.is_empty() && v.chars().count() <= MAX_PASSWORD_LEN => {
                        credential = Some(super::authn::own_hash(v.as_bytes()));
                    }
                    _ => causes.push(format!(
                        "credentials.password.value: Must be 1 to {MAX_PASSWORD_LEN} characters"
                    )),
                },
                _ => causes.push(
                    "credentials.password: Exactly one of hash, hook or value is allowed".into(),
                ),
            }
        }
    }
    if !causes.is_empty() {
        return Err(causes);
    }
    let profile = profile
        .cloned()
        .map(Value::Object)
        .and_then(|p| serde_json::from_value::<Profile>(p).ok());
    match (profile, credential) {
        (Some(profile), Some(credential)) => Ok(NewUser {
            profile,
            credential,
        }),
        _ => Err(vec![
            "profile: Does not match the user profile schema".into()
        ]),
    }
}

/// `POST /api/v1/users?activate=true|false`.
pub(crate) async fn create(
    State(org): State<Arc<Org>>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Json<User>, ApiError> {
    let body = parse_json(&body)?;
    let activate = match query.get("activate").map(|s| s.to_ascii_lowercase()) {
        None => true, // Okta's default
        Some(v) if v == "true" => true,
        Some(v) if v == "false" => false,
        Some(_) => {
            bump(&org.counters.invalid_creates);
            return Err(ApiError::validation(vec![
                "activate: Must be true or false".into(),
            ]));
        }
    };
    let new = validate(&body, org.require_names).map_err(|causes| {
        bump(&org.counters.invalid_creates);
        ApiError::validation(causes)
    })?;
    let key = new.profile.login.to_lowercase();
    let mut users = org.users.lock().map_err(|_| ApiError::internal())?;
    if users.by_login.contains_key(&key) {
        bump(&org.counters.duplicate_logins);
        return Err(ApiError::validation(vec![format!(
            "{LOGIN_EXISTS_CAUSE} in the current organization"
        )]));
    }
    let record = UserRecord {
        id: format!("00u{}", random_id(17)),
        status: if activate { "ACTIVE" } else { "STAGED" },
        profile: new.profile,
        provider: if matches!(new.credential, Credential::Password { .. }) {
            "OKTA"
        } else {
            "IMPORT"
        },
        credential: new.credential,
        created: now_rfc3339(),
        hook_calls: 0,
        sign_ins: 0,
    };
    let answer = record.to_api();
    users.login_by_id.insert(record.id.clone(), key.clone());
    users.order.push(key.clone());
    users.by_login.insert(key, record);
    drop(users);
    bump(&org.counters.users_created);
    Ok(Json(answer))
}

/// `GET /api/v1/users/{idOrLogin}`.
pub(crate) async fn get(
    State(org): State<Arc<Org>>,
    Path(id): Path<String>,
) -> Result<Json<User>, ApiError> {
    let users = org.users.lock().map_err(|_| ApiError::internal())?;
    users
        .find(&id)
        .map(|u| Json(u.to_api()))
        .ok_or_else(|| ApiError::not_found(&id, "User"))
}

/// `GET /__dev/users/{idOrLogin}`: provider, credential kind and hook calls.
pub(crate) async fn dev_view(
    State(org): State<Arc<Org>>,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    org.user_view(&id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(&id, "User"))
}

/// `GET /__dev/stats`.
pub(crate) async fn dev_stats(State(org): State<Arc<Org>>) -> Json<Stats> {
    Json(org.stats())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn body(hash: Value) -> Value {
        json!({"profile":{"login":"a@example.com","email":"a@example.com","firstName":"A","lastName":"B"},
               "credentials":{"password":{"hash":hash}}})
    }

    fn causes(v: Value) -> Vec<String> {
        match validate(&v, true) {
            Ok(_) => Vec::new(),
            Err(c) => c,
        }
    }

    // Okta's examples (protocol §5.2) pass.
    #[test]
    fn okta_examples_are_accepted() {
        for hash in [
            json!({"algorithm":"BCRYPT","workFactor":10,"salt":"rwh3vH166HCH/NT9XV5FYu","value":"qaMqvAPULkbiQzkTCWo5XDcvzpk8Tna"}),
            json!({"algorithm":"SHA-1","salt":"UEO3wsAsgzQ=","saltOrder":"POSTFIX","value":"xjrauE6J6kbjcvMjWSSc+PsBBls="}),
            json!({"algorithm":"MD5","salt":"TXlTYWx0","saltOrder":"PREFIX","value":"jqACjUUFXM1XE6NiLALAbA=="}),
            json!({"algorithm":"SHA-256","salt":"MPu13OmY","saltOrder":"PREFIX","value":"Gjxo7mxvvzQWa83ovhYRUH2dWUhC1N77Ntc56UfI4sY"}),
            json!({"algorithm":"PBKDF2","salt":"RBDXRWs9","value":"eKe8/dcL5gvRsMmp7WwxZq0Y7WAodielIcLaelLlgNs=","iterationCount":4096,"keySize":32,"digestAlgorithm":"SHA512_HMAC"}),
        ] {
            assert_eq!(causes(body(hash.clone())), Vec::<String>::new(), "{hash}");
        }
    }

    #[test]
    fn bad_hash_objects_are_refused_field_by_field() {
        let c = causes(body(
            json!({"algorithm":"BCRYPT","workFactor":21,"salt":"rwh3vH166HCH/NT9XV5FY","value":"qaMqvAPULkbiQzkTCWo5XDcvzpk8Tn_"}),
        ));
        assert_eq!(c.len(), 3, "{c:?}");
        assert!(c[0].starts_with("credentials.password.hash.workFactor"));
        let c = causes(body(
            json!({"algorithm":"PBKDF2","salt":"RBDXRWs9","value":"eKe8/dcL5gvRsMmp7WwxZq0Y7WAodielIcLaelLlgNs=","iterationCount":4095,"keySize":64,"digestAlgorithm":"SHA1_HMAC"}),
        ));
        assert_eq!(c.len(), 3, "{c:?}");
        let c = causes(body(
            json!({"algorithm":"SHA-1","salt":"not base64!","saltOrder":"MIDDLE","value":"xjrauE6J6kbjcvMjWSSc+PsBBls="}),
        ));
        assert_eq!(c.len(), 2, "{c:?}");
        let c = causes(body(json!({"algorithm":"SHA-512","value":"AAAA"})));
        assert_eq!(c.len(), 1, "{c:?}");
        let c = causes(body(json!({"algorithm":"SCRYPT","value":"AAAA"})));
        assert_eq!(c.len(), 1, "{c:?}");
    }

    #[test]
    fn profile_and_hook_rules() {
        let c = causes(json!({"profile":{"login":"","email":"nope"},
            "credentials":{"password":{"hook":{"type":"custom"}}}}));
        assert_eq!(c.len(), 5, "{c:?}"); // login, email, firstName, lastName, hook.type
        let ok = causes(
            json!({"profile":{"login":"a@b.co","email":"a@b.co","firstName":"A","lastName":"B"},
            "credentials":{"password":{"hook":{"type":"default"}}}}),
        );
        assert!(ok.is_empty());
        let both = causes(
            json!({"profile":{"login":"a@b.co","email":"a@b.co","firstName":"A","lastName":"B"},
            "credentials":{"password":{"hook":{"type":"default"},"value":"x"}}}),
        );
        assert_eq!(both.len(), 1);
    }
}
