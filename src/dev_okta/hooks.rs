//! Inline Hooks API of the stand-in (protocol §4) and the outbound call to a
//! hook, made the way Okta makes it (§1–§2): `POST` with `Accept` and
//! `Content-Type: application/json`, the `authScheme` header and any custom
//! headers, a 3 s timeout, one retry on timeout/network failure/5xx, no retry
//! on 4xx, redirects not followed, answers over 256 KB refused.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::error::{parse_json, ApiError};
use super::hook_store::{stored_hook, with_hook};
use super::state::{bump, now_rfc3339, random_id, HookRecord, OAuthHook, Org};
use crate::okta::{InlineHook, HOOK_VERSION, PASSWORD_IMPORT_HOOK_TYPE};

/// Okta refuses hook answers of 256 KB or more (protocol §2.1).
const MAX_HOOK_ANSWER: usize = 256 * 1024;
/// Longest hook URI Okta accepts.
const MAX_URI_LEN: usize = 1024;
/// Headers an admin may not set on a hook (Okta: "reserved headers, such as Accept").
const RESERVED_HEADERS: &[&str] = &["accept", "content-type", "content-length", "host"];

/// Where and how to call one hook: a copy taken out of the lock.
pub(crate) struct HookTarget {
    pub(crate) id: String,
    uri: String,
    auth_key: String,
    auth_value: SecretString,
    headers: Vec<(String, SecretString)>,
    /// OAUTH: the client and scope to mint a bearer token for.
    oauth: Option<(String, Option<String>)>,
}

impl HookTarget {
    fn of(h: &HookRecord) -> Self {
        Self {
            oauth: h
                .oauth
                .as_ref()
                .map(|o| (o.client_id.clone(), o.scope.clone())),
            id: h.id.clone(),
            uri: h.uri.clone(),
            auth_key: h.auth_key.clone(),
            auth_value: h.auth_value.clone(),
            headers: h.headers.clone(),
        }
    }
}

/// Result of calling a hook: how many HTTP attempts were made, and the final
/// answer (status and body) or why there was none.
pub(crate) struct HookCall {
    pub(crate) attempts: u32,
    pub(crate) answer: Result<(StatusCode, Bytes), String>,
}

impl Org {
    /// The active password-import hook, if any.
    pub(crate) fn active_password_hook(&self) -> Option<HookTarget> {
        let hooks = self.hooks.lock().ok()?;
        hooks
            .iter()
            .find(|h| h.kind == PASSWORD_IMPORT_HOOK_TYPE && h.status == "ACTIVE")
            .map(HookTarget::of)
    }

    /// Calls a hook as Okta does.
    pub(crate) async fn call_hook(&self, target: &HookTarget, body: &Value) -> HookCall {
        let payload = serde_json::to_vec(body).unwrap_or_default();
        let mut attempts = 0;
        let mut answer = Err("not called".to_owned());
        // OAUTH channel: one token for both attempts, as from the
        // client-credentials grant (Okta's token caching is [gap]).
        let bearer = match &target.oauth {
            Some((client_id, scope)) => {
                match self.auth_server.mint(client_id, scope.as_deref()).await {
                    Ok(token) => Some(SecretString::from(format!("Bearer {token}"))),
                    Err(e) => {
                        return HookCall {
                            attempts: 0,
                            answer: Err(format!("could not get an access token: {e}")),
                        }
                    }
                }
            }
            None => None,
        };
        for _ in 0..2 {
            attempts += 1;
            bump(&self.counters.hook_calls);
            let mut request = self
                .hook_http
                .post(&target.uri)
                .header(ACCEPT, "application/json")
                .header(CONTENT_TYPE, "application/json");
            request = match &bearer {
                Some(b) => request.header(AUTHORIZATION, b.expose_secret()),
                None => request.header(target.auth_key.as_str(), target.auth_value.expose_secret()),
            };
            for (key, value) in &target.headers {
                request = request.header(key.as_str(), value.expose_secret());
            }
            let retry = match request.body(payload.clone()).send().await {
                Err(e) => {
                    answer = Err(if e.is_timeout() {
                        "the hook did not answer within the timeout".to_owned()
                    } else {
                        "could not reach the hook".to_owned()
                    });
                    true
                }
                Ok(response) => {
                    let status = response.status();
                    let too_big = response
                        .content_length()
                        .is_some_and(|n| n >= MAX_HOOK_ANSWER as u64);
                    match response.bytes().await {
                        _ if too_big => {
                            answer = Err("the hook's answer is 256 KB or more".to_owned());
                            false
                        }
                        Ok(bytes) if bytes.len() >= MAX_HOOK_ANSWER => {
                            answer = Err("the hook's answer is 256 KB or more".to_owned());
                            false
                        }
                        Ok(bytes) => {
                            answer = Ok((status, bytes));
                            status.is_server_error()
                        }
                        Err(e) => {
                            answer = Err(if e.is_timeout() {
                                "the hook did not finish its answer within the timeout".to_owned()
                            } else {
                                "the hook's answer broke off".to_owned()
                            });
                            true
                        }
                    }
                }
            };
            if !retry {
                break;
            }
        }
        HookCall { attempts, answer }
    }
}

/// Reads a password-import answer: `Ok(true)` for `VERIFIED`, `Ok(false)` for
/// `UNVERIFIED` or an empty 2xx (the default action), `Err` when the call
/// failed (non-2xx, redirect, unreadable body).
pub(crate) fn verdict_of(answer: &Result<(StatusCode, Bytes), String>) -> Result<bool, String> {
    let (status, body) = answer.as_ref().map_err(Clone::clone)?;
    if !status.is_success() {
        return Err(format!("the hook answered {status}"));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(false);
    }
    let json: Value =
        serde_json::from_slice(body).map_err(|_| "the hook's answer is not JSON".to_owned())?;
    let commands = json
        .get("commands")
        .and_then(Value::as_array)
        .ok_or_else(|| "the hook's answer has no commands".to_owned())?;
    let mut verdict = None;
    for command in commands {
        if command.get("type").and_then(Value::as_str) != Some("com.okta.action.update") {
            continue;
        }
        match command
            .get("value")
            .and_then(|v| v.get("credential"))
            .and_then(Value::as_str)
        {
            Some("VERIFIED") => verdict = Some(true),
            Some("UNVERIFIED") => verdict = Some(false),
            _ => return Err("the hook's command has no valid credential value".to_owned()),
        }
    }
    verdict.ok_or_else(|| "the hook's answer has no com.okta.action.update command".to_owned())
}

pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    cur.as_str()
}

/// Checks a hook URI: https (http only to loopback when allowed), ≤ 1024
/// chars, no whitespace.
pub(crate) fn check_uri(uri: &str, allow_http_loopback: bool) -> Option<String> {
    if uri.len() > MAX_URI_LEN || uri.chars().any(char::is_whitespace) {
        return Some(format!(
            "channel.config.uri: Must be at most {MAX_URI_LEN} characters without whitespace"
        ));
    }
    let Ok(url) = url::Url::parse(uri) else {
        return Some("channel.config.uri: Must be a valid URL".into());
    };
    match url.scheme() {
        "https" => None,
        "http" if allow_http_loopback && crate::net::is_loopback_host(&url) => None,
        _ => Some("channel.config.uri: Must start with https://".into()),
    }
}

/// Validates a create body; returns the record to store.
fn validate(body: &Value, allow_http_loopback: bool) -> Result<HookRecord, Vec<String>> {
    let mut causes = Vec::new();
    let name = str_at(body, &["name"]).map(str::trim).unwrap_or("");
    if name.is_empty() {
        causes.push("name: The field cannot be left blank".into());
    }
    let kind = str_at(body, &["type"]).unwrap_or("");
    if kind != PASSWORD_IMPORT_HOOK_TYPE {
        causes.push(format!(
            "type: The stand-in implements only {PASSWORD_IMPORT_HOOK_TYPE}"
        ));
    }
    if str_at(body, &["version"]) != Some(HOOK_VERSION) {
        causes.push(format!("version: Must be {HOOK_VERSION}"));
    }
    let is_oauth = match str_at(body, &["channel", "type"]) {
        Some("HTTP") => false,
        Some("OAUTH") => true,
        _ => {
            causes.push("channel.type: Does not match one of HTTP, OAUTH".into());
            false
        }
    };
    if str_at(body, &["channel", "version"]) != Some(HOOK_VERSION) {
        causes.push(format!("channel.version: Must be {HOOK_VERSION}"));
    }
    let uri = str_at(body, &["channel", "config", "uri"]).unwrap_or("");
    if uri.is_empty() {
        causes.push("channel.config.uri: The field cannot be left blank".into());
    } else if let Some(cause) = check_uri(uri, allow_http_loopback) {
        causes.push(cause);
    }
    match str_at(body, &["channel", "config", "method"]) {
        None | Some("POST") => {}
        Some(_) => causes.push("channel.config.method: Only POST is accepted".into()),
    }
    let scheme = body
        .get("channel")
        .and_then(|c| c.get("config"))
        .and_then(|c| c.get("authScheme"));
    let oauth = if is_oauth {
        validate_oauth(body, scheme, allow_http_loopback, &mut causes)
    } else {
        None
    };
    let (auth_key, auth_value) = match scheme {
        _ if is_oauth => (String::new(), String::new()),
        Some(s) if !s.is_null() => {
            if str_at(s, &["type"]) != Some("HEADER") {
                causes.push("channel.config.authScheme.type: Must be HEADER".into());
            }
            let key = str_at(s, &["key"]).unwrap_or("").to_owned();
            let value = str_at(s, &["value"]).unwrap_or("").to_owned();
            if key.is_empty() {
                causes.push("channel.config.authScheme.key: The field cannot be left blank".into());
            }
            if value.is_empty() {
                causes
                    .push("channel.config.authScheme.value: The field cannot be left blank".into());
            }
            (key, value)
        }
        // [unverified] Okta may accept a hook without authScheme; the stand-in
        // refuses it because passbridge never registers one.
        _ => {
            causes.push("channel.config.authScheme: The field cannot be left blank".into());
            (String::new(), String::new())
        }
    };
    let mut headers = Vec::new();
    if let Some(list) = body
        .get("channel")
        .and_then(|c| c.get("config"))
        .and_then(|c| c.get("headers"))
    {
        match list.as_array() {
            Some(items) => {
                for item in items {
                    let key = str_at(item, &["key"]).unwrap_or("");
                    let value = str_at(item, &["value"]).unwrap_or("");
                    if key.is_empty()
                        || axum::http::HeaderName::from_bytes(key.as_bytes()).is_err()
                        || axum::http::HeaderValue::from_str(value).is_err()
                    {
                        causes.push(
                            "channel.config.headers: Each header needs a valid key and value"
                                .into(),
                        );
                    } else if RESERVED_HEADERS.contains(&key.to_ascii_lowercase().as_str())
                        || key.eq_ignore_ascii_case(&auth_key)
                    {
                        causes.push(format!(
                            "channel.config.headers: {key} is a reserved header"
                        ));
                    } else {
                        headers.push((key.to_owned(), SecretString::from(value.to_owned())));
                    }
                }
            }
            None => causes.push("channel.config.headers: Must be an array".into()),
        }
    }
    let header_ok = is_oauth
        || axum::http::HeaderName::from_bytes(auth_key.as_bytes()).is_ok()
            && axum::http::HeaderValue::from_str(&auth_value).is_ok();
    if !header_ok && !auth_key.is_empty() && !auth_value.is_empty() {
        causes.push("channel.config.authScheme: Not a valid HTTP header".into());
    }
    if !causes.is_empty() {
        return Err(causes);
    }
    let now = now_rfc3339();
    Ok(HookRecord {
        id: format!("cal{}", random_id(17)),
        name: name.to_owned(),
        kind: kind.to_owned(),
        status: "ACTIVE", // Okta creates hooks ACTIVE (protocol §4)
        created: now.clone(),
        last_updated: now,
        uri: uri.to_owned(),
        auth_key,
        auth_value: SecretString::from(auth_value),
        headers,
        oauth,
    })
}

/// An OAUTH channel (protocol §3.2): `authScheme` null, `authType`
/// `client_secret_post` (with `clientSecret`) or `private_key_jwt` (with
/// `hookKeyId`), `clientId`, `tokenUrl`, optional `scope`.
fn validate_oauth(
    body: &Value,
    scheme: Option<&Value>,
    allow_http_loopback: bool,
    causes: &mut Vec<String>,
) -> Option<OAuthHook> {
    let config = &["channel", "config"];
    let field = |name: &str| {
        let mut path = config.to_vec();
        path.push(name);
        str_at(body, &path).map(str::trim).filter(|v| !v.is_empty())
    };
    if scheme.is_some_and(|s| !s.is_null()) {
        causes.push("channel.config.authScheme: Must be null for an OAUTH channel".into());
    }
    let auth_type = field("authType");
    match auth_type {
        Some("client_secret_post") => {
            if field("clientSecret").is_none() {
                causes.push("channel.config.clientSecret: The field cannot be left blank".into());
            }
            if field("hookKeyId").is_some() {
                causes.push("channel.config.hookKeyId: Not allowed with client_secret_post".into());
            }
        }
        Some("private_key_jwt") => {
            if field("hookKeyId").is_none() {
                causes.push("channel.config.hookKeyId: The field cannot be left blank".into());
            }
            if field("clientSecret").is_some() {
                causes.push("channel.config.clientSecret: Not allowed with private_key_jwt".into());
            }
        }
        _ => causes.push(
            "channel.config.authType: Does not match one of client_secret_post, private_key_jwt"
                .into(),
        ),
    }
    let client_id = field("clientId");
    if client_id.is_none() {
        causes.push("channel.config.clientId: The field cannot be left blank".into());
    }
    let token_url = field("tokenUrl");
    match token_url {
        None => causes.push("channel.config.tokenUrl: The field cannot be left blank".into()),
        Some(url) => {
            if let Some(cause) = check_uri(url, allow_http_loopback) {
                causes.push(cause.replace("channel.config.uri", "channel.config.tokenUrl"));
            }
        }
    }
    Some(OAuthHook {
        auth_type: auth_type?.to_owned(),
        client_id: client_id?.to_owned(),
        token_url: token_url?.to_owned(),
        scope: field("scope").map(str::to_owned),
        hook_key_id: field("hookKeyId").map(str::to_owned),
    })
}

stored_hook! { HookRecord => InlineHook, "InlineHook", "inline hook", |org| &org.hooks }

/// `POST /api/v1/inlineHooks`.
pub(crate) async fn create(
    State(org): State<Arc<Org>>,
    body: Bytes,
) -> Result<Json<InlineHook>, ApiError> {
    let body = parse_json(&body)?;
    let record = validate(&body, org.allow_http_loopback_hooks).map_err(ApiError::validation)?;
    let mut hooks = org.hooks.lock().map_err(|_| ApiError::internal())?;
    if hooks.iter().any(|h| h.kind == record.kind) {
        // One password-import hook per org (OAS note); the exact error Okta
        // returns is [unverified].
        return Err(ApiError::validation(vec![format!(
            "type: An org can have only one inline hook of type {PASSWORD_IMPORT_HOOK_TYPE}"
        )]));
    }
    let answer = record.to_api();
    hooks.push(record);
    Ok(Json(answer))
}

/// `PUT /api/v1/inlineHooks/{id}`: new name, version and channel; the type
/// is immutable, id, status and creation time are kept.
pub(crate) async fn replace(
    State(org): State<Arc<Org>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<InlineHook>, ApiError> {
    let mut body = parse_json(&body)?;
    let kind = with_hook::<HookRecord, _>(&org, &id, |h| Ok(h.kind.clone()))?;
    match body.get("type").and_then(Value::as_str) {
        Some(t) if t != kind => {
            return Err(ApiError::validation(vec![
                "type: The type of an inline hook cannot be changed".into(),
            ]))
        }
        _ => {}
    }
    if let Some(obj) = body.as_object_mut() {
        obj.insert("type".into(), Value::String(kind));
    }
    let new = validate(&body, org.allow_http_loopback_hooks).map_err(ApiError::validation)?;
    with_hook::<HookRecord, _>(&org, &id, |h| {
        h.name = new.name;
        h.uri = new.uri;
        h.auth_key = new.auth_key;
        h.auth_value = new.auth_value;
        h.headers = new.headers;
        h.oauth = new.oauth;
        h.last_updated = now_rfc3339();
        Ok(Json(h.to_api()))
    })
}

/// `GET /api/v1/inlineHooks[?type=…]`.
pub(crate) async fn list(
    State(org): State<Arc<Org>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Vec<InlineHook>>, ApiError> {
    let hooks = org.hooks.lock().map_err(|_| ApiError::internal())?;
    let wanted = query.get("type");
    Ok(Json(
        hooks
            .iter()
            .filter(|h| wanted.is_none_or(|t| *t == h.kind))
            .map(HookRecord::to_api)
            .collect(),
    ))
}

/// `POST /api/v1/inlineHooks/{id}/execute`: sends the given body to the hook
/// and returns the hook's answer; 400 with the reason when it fails. The body
/// goes as given, with only the hook's configured headers, as Okta documents
/// (protocol §4): a test marker must travel in the body (`hook test` puts it
/// in `data.context.request.id`), so the stand-in adds none of its own.
pub(crate) async fn execute(
    State(org): State<Arc<Org>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_json(&body)?;
    let target = with_hook::<HookRecord, _>(&org, &id, |h| {
        if h.status == "ACTIVE" {
            Ok(HookTarget::of(h))
        } else {
            Err(ApiError::validation(vec![
                "status: An INACTIVE inline hook cannot be executed".into(),
            ]))
        }
    })?;
    let call = org.call_hook(&target, &body).await;
    match call.answer {
        Ok((status, bytes)) if status.is_success() => {
            if bytes.is_empty() {
                return Ok(StatusCode::NO_CONTENT.into_response());
            }
            let json: Value = serde_json::from_slice(&bytes).map_err(|_| {
                ApiError::validation(vec!["execute: The hook's answer is not JSON".into()])
            })?;
            Ok(Json(json).into_response())
        }
        Ok((status, _)) => Err(ApiError::validation(vec![format!(
            "execute: The hook answered {status}"
        )])),
        Err(reason) => Err(ApiError::validation(vec![format!("execute: {reason}")])),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn answer(status: u16, body: &str) -> Result<(StatusCode, Bytes), String> {
        Ok((
            StatusCode::from_u16(status).unwrap(),
            Bytes::from(body.to_owned()),
        ))
    }

    // Protocol §2.1 examples.
    #[test]
    fn verdicts_follow_the_protocol() {
        let verified =
            r#"{"commands":[{"type":"com.okta.action.update","value":{"credential":"VERIFIED"}}]}"#;
        let unverified = r#"{"commands":[{"type":"com.okta.action.update","value":{"credential":"UNVERIFIED"}}]}"#;
        assert_eq!(verdict_of(&answer(200, verified)), Ok(true));
        assert_eq!(verdict_of(&answer(200, unverified)), Ok(false));
        assert_eq!(verdict_of(&answer(204, "")), Ok(false));
        assert!(verdict_of(&answer(200, "{}")).is_err());
        assert!(verdict_of(&answer(200, "not json")).is_err());
        assert!(verdict_of(&answer(302, "")).is_err());
        assert!(verdict_of(&answer(401, verified)).is_err());
        assert!(verdict_of(&Err("timeout".into())).is_err());
    }

    #[test]
    fn oauth_channel_rules() {
        let good = json!({"name":"h","type":PASSWORD_IMPORT_HOOK_TYPE,"version":"1.0.0",
            "channel":{"type":"OAUTH","version":"1.0.0","config":{"uri":"https://h.example.com/x",
            "method":"POST","headers":[],"authScheme":null,"authType":"client_secret_post",
            "clientId":"0oa1","clientSecret":"cs","tokenUrl":"https://o.example.com/oauth2/default/v1/token",
            "scope":"passbridge.hook"}}});
        let record = validate(&good, false).unwrap();
        assert_eq!(record.oauth.as_ref().unwrap().client_id, "0oa1");
        assert_eq!(record.to_api().channel.kind, "OAUTH");
        assert!(record.to_api().channel.config.client_secret.is_none());
        let mut pk = good.clone();
        pk["channel"]["config"]["authType"] = json!("private_key_jwt");
        assert!(
            validate(&pk, false).is_err(),
            "private_key_jwt with a secret and no hookKeyId"
        );
        pk["channel"]["config"]
            .as_object_mut()
            .unwrap()
            .remove("clientSecret");
        pk["channel"]["config"]["hookKeyId"] = json!("HKY1");
        assert!(validate(&pk, false).is_ok());
        let mut with_scheme = good.clone();
        with_scheme["channel"]["config"]["authScheme"] =
            json!({"type":"HEADER","key":"Authorization","value":"x"});
        assert!(validate(&with_scheme, false).is_err());
        let mut jwt = good.clone();
        jwt["channel"]["config"]["authType"] = json!("client_secret_jwt");
        assert!(validate(&jwt, false).is_err());
        let mut no_client = good;
        no_client["channel"]["config"]["clientId"] = json!("");
        assert!(validate(&no_client, false).is_err());
    }

    #[test]
    fn create_body_rules() {
        let good = json!({"name":"h","type":PASSWORD_IMPORT_HOOK_TYPE,"version":"1.0.0",
            "channel":{"type":"HTTP","version":"1.0.0","config":{"uri":"https://h.example.com/x",
            "method":"POST","headers":[{"key":"X-Extra","value":"v"}],
            "authScheme":{"type":"HEADER","key":"Authorization","value":"s3cret"}}}});
        assert!(validate(&good, false).is_ok());
        let mut http = good.clone();
        http["channel"]["config"]["uri"] = json!("http://127.0.0.1:9/x");
        assert!(validate(&http, true).is_ok());
        assert!(validate(&http, false).is_err());
        let mut remote_http = good.clone();
        remote_http["channel"]["config"]["uri"] = json!("http://hook.example.com/x");
        assert!(validate(&remote_http, true).is_err());
        let mut reserved = good.clone();
        reserved["channel"]["config"]["headers"] = json!([{"key":"Accept","value":"x"}]);
        assert!(validate(&reserved, false).is_err());
        let mut no_secret = good;
        no_secret["channel"]["config"]["authScheme"]["value"] = json!("");
        let causes = validate(&no_secret, false).err().unwrap();
        assert_eq!(causes.len(), 1, "{causes:?}");
    }
}
