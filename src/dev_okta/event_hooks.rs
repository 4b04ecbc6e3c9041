//! Event Hooks API of the stand-in (protocol §10.3) and Okta's deliveries
//! (§10.1): create (`ACTIVE`, `UNVERIFIED`), list, read, replace (a changed
//! channel must be verified again), verify (a real `GET` with a random
//! `X-Okta-Verification-Challenge`, the echo checked; 3 s, one retry, 400 on
//! failure), activate, deactivate, delete (only `INACTIVE`).
//!
//! After each sign-in that called the password-import hook, a
//! `user.import.password` event (`SUCCESS` when the hook answered VERIFIED,
//! `FAILURE` otherwise) is queued; a background deliverer sends queued
//! events in batches to every `ACTIVE` + `VERIFIED` hook subscribed to it,
//! after a random delay, sometimes twice (Okta delivers at least once, late
//! and out of order). The dice are seeded by [`super::Config::seed`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::Json;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::error::{parse_json, ApiError};
use super::hook_store::{stored_hook, with_hook};
use super::hooks::{check_uri, str_at};
use super::state::{header_scheme, now_rfc3339, random_id, write_only_headers, Org};
use crate::okta::{
    EventHook, EventHookChannel, EventHookChannelConfig, EventSubscriptions,
    EVENT_TYPE_SUBSCRIPTION, HOOK_VERSION, USER_IMPORT_PASSWORD,
};

/// Event types one hook may subscribe to (protocol §10.1).
const MAX_EVENT_TYPES: usize = 300;
/// Events per delivery.
const MAX_BATCH: usize = 50;
/// Okta's event hook timeout (protocol §10.1).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(3);

/// How the stand-in delivers events (see [`super::Config::events`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventDelivery {
    /// Each batch waits a random time up to this before it is sent (late delivery).
    pub max_delay: Duration,
    /// Probability that a batch is delivered a second time (at least once).
    pub duplicate_rate: f64,
}

impl Default for EventDelivery {
    fn default() -> Self {
        Self {
            max_delay: Duration::from_millis(200),
            duplicate_rate: 0.25,
        }
    }
}

/// A stored event hook.
pub(crate) struct EventHookRecord {
    id: String,
    name: String,
    status: &'static str,
    verification_status: &'static str,
    items: Vec<String>,
    uri: String,
    auth_key: String,
    auth_value: SecretString,
    headers: Vec<(String, SecretString)>,
    created: String,
    last_updated: String,
}

impl EventHookRecord {
    fn to_api(&self) -> EventHook {
        EventHook {
            id: self.id.clone(),
            name: self.name.clone(),
            status: self.status.to_owned(),
            verification_status: self.verification_status.to_owned(),
            events: EventSubscriptions {
                kind: EVENT_TYPE_SUBSCRIPTION.to_owned(),
                items: self.items.clone(),
            },
            channel: EventHookChannel {
                kind: "HTTP".to_owned(),
                version: HOOK_VERSION.to_owned(),
                config: EventHookChannelConfig {
                    uri: self.uri.clone(),
                    headers: write_only_headers(&self.headers),
                    auth_scheme: Some(header_scheme(&self.auth_key)),
                },
            },
            created: Some(self.created.clone()),
            last_updated: Some(self.last_updated.clone()),
        }
    }

    fn target(&self) -> Target {
        Target {
            uri: self.uri.clone(),
            auth_key: self.auth_key.clone(),
            auth_value: self.auth_value.clone(),
            headers: self.headers.clone(),
        }
    }
}

/// Where and how to call one hook: a copy taken out of the lock.
struct Target {
    uri: String,
    auth_key: String,
    auth_value: SecretString,
    headers: Vec<(String, SecretString)>,
}

impl Target {
    /// `request` with Okta's event hook timeout, the auth header and the
    /// hook's custom headers.
    fn request(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        self.headers.iter().fold(
            request
                .timeout(DELIVERY_TIMEOUT)
                .header(self.auth_key.as_str(), self.auth_value.expose_secret()),
            |request, (k, v)| request.header(k.as_str(), v.expose_secret()),
        )
    }
}

/// The org's event hooks, the delivery queue and its dice.
pub(crate) struct EventHooks {
    hooks: Mutex<Vec<EventHookRecord>>,
    queue: mpsc::UnboundedSender<Value>,
    pending: Mutex<Option<mpsc::UnboundedReceiver<Value>>>,
    delivery: EventDelivery,
    dice: Mutex<StdRng>,
    /// Delivery POSTs answered 2xx.
    pub(crate) delivered: AtomicU64,
}

impl EventHooks {
    pub(crate) fn new(delivery: EventDelivery, seed: Option<u64>) -> Self {
        let (queue, rx) = mpsc::unbounded_channel();
        Self {
            hooks: Mutex::new(Vec::new()),
            queue,
            pending: Mutex::new(Some(rx)),
            delivery,
            dice: Mutex::new(match seed {
                // A different stream from the fault dice, still reproducible.
                Some(seed) => StdRng::seed_from_u64(seed ^ 0x5eed_e7e7),
                None => StdRng::from_entropy(),
            }),
            delivered: AtomicU64::new(0),
        }
    }

    /// Every event hook, as the API would return it.
    pub(crate) fn views(&self) -> Vec<EventHook> {
        self.hooks
            .lock()
            .map(|h| h.iter().map(EventHookRecord::to_api).collect())
            .unwrap_or_default()
    }

    /// Queues Okta's outcome of a password import for `user_id`/`login`.
    pub(crate) fn emit_import(&self, org: &Org, user_id: &str, login: &str, stored: bool) {
        let event = json!({
            "uuid": uuid::Uuid::new_v4().to_string(),
            "published": now_rfc3339(),
            "eventType": USER_IMPORT_PASSWORD,
            "version": "0",
            "severity": "INFO",
            "displayMessage": "Import user password",
            "actor": {"id": user_id, "type": "User", "alternateId": login},
            "outcome": {"result": if stored { "SUCCESS" } else { "FAILURE" }, "reason": null},
            "target": [{"id": user_id, "type": "User", "alternateId": login}],
            "debugContext": {"debugData": {"requestUri": "/api/v1/authn"}},
            "transaction": {"type": "WEB", "id": random_id(27)},
            "_org": org.base_url.as_str(),
        });
        let _ = self.queue.send(event);
    }

    fn roll(&self, p: f64) -> bool {
        self.dice
            .lock()
            .is_ok_and(|mut d| d.gen_bool(p.clamp(0.0, 1.0)))
    }

    fn delay(&self) -> Duration {
        let max = u64::try_from(self.delivery.max_delay.as_millis()).unwrap_or(u64::MAX);
        let ms = self
            .dice
            .lock()
            .map_or(0, |mut d| if max == 0 { 0 } else { d.gen_range(0..=max) });
        Duration::from_millis(ms)
    }

    fn subscribed_targets(&self) -> Vec<Target> {
        self.hooks
            .lock()
            .map(|hooks| {
                hooks
                    .iter()
                    .filter(|h| {
                        h.status == "ACTIVE"
                            && h.verification_status == "VERIFIED"
                            && h.items.iter().any(|i| i == USER_IMPORT_PASSWORD)
                    })
                    .map(EventHookRecord::target)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Starts the background deliverer of `org` (once; it ends with the org).
pub(crate) fn spawn_deliverer(org: &Arc<Org>) {
    let Some(mut rx) = org
        .event_hooks
        .pending
        .lock()
        .ok()
        .and_then(|mut p| p.take())
    else {
        return;
    };
    let weak: Weak<Org> = Arc::downgrade(org);
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let Some(delay) = weak.upgrade().map(|o| o.event_hooks.delay()) else {
                break;
            };
            tokio::time::sleep(delay).await;
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(e) => batch.push(e),
                    Err(_) => break,
                }
            }
            let Some(org) = weak.upgrade() else { break };
            let again = org
                .event_hooks
                .roll(org.event_hooks.delivery.duplicate_rate);
            deliver(&org, &batch).await;
            if again {
                // Redelivered, late and in reverse: the receiver dedupes by uuid.
                tokio::time::sleep(org.event_hooks.delay()).await;
                batch.reverse();
                deliver(&org, &batch).await;
            }
        }
    });
}

/// One delivery to every subscribed hook: 3 s timeout, one retry on a
/// timeout, network error or 5xx, none on 4xx (protocol §10.1).
async fn deliver(org: &Org, events: &[Value]) {
    let body = json!({
        "eventType": "com.okta.event_hook",
        "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1",
        "contentType": "application/json",
        "source": format!("{}api/v1/eventHooks", org.base_url),
        "eventId": uuid::Uuid::new_v4().to_string(),
        "eventTime": now_rfc3339(),
        "data": {"events": events},
    });
    let payload = serde_json::to_vec(&body).unwrap_or_default();
    for target in org.event_hooks.subscribed_targets() {
        for _ in 0..2 {
            let request = target
                .request(org.hook_http.post(&target.uri))
                .header(CONTENT_TYPE, "application/json");
            match request.body(payload.clone()).send().await {
                Ok(r) if r.status().is_success() => {
                    org.event_hooks.delivered.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Ok(r) if r.status().is_client_error() => {
                    tracing::info!(status = %r.status(), "event hook refused a delivery; not retried");
                    break;
                }
                _ => {}
            }
        }
    }
}

/// Validates a create (or replace) body.
fn validate(body: &Value, allow_http_loopback: bool) -> Result<EventHookRecord, Vec<String>> {
    let mut causes = Vec::new();
    let name = str_at(body, &["name"]).map(str::trim).unwrap_or("");
    if name.is_empty() {
        causes.push("name: The field cannot be left blank".into());
    }
    if str_at(body, &["events", "type"]) != Some(EVENT_TYPE_SUBSCRIPTION) {
        causes.push(format!("events.type: Must be {EVENT_TYPE_SUBSCRIPTION}"));
    }
    let items: Vec<String> = body
        .get("events")
        .and_then(|e| e.get("items"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if items.is_empty() {
        causes.push("events.items: The field cannot be left blank".into());
    } else if items.len() > MAX_EVENT_TYPES {
        causes.push(format!(
            "events.items: At most {MAX_EVENT_TYPES} event types per hook"
        ));
    }
    if str_at(body, &["channel", "type"]) != Some("HTTP") {
        causes.push("channel.type: Does not match one of HTTP".into());
    }
    if str_at(body, &["channel", "version"]) != Some(HOOK_VERSION) {
        causes.push(format!("channel.version: Must be {HOOK_VERSION}"));
    }
    let uri = str_at(body, &["channel", "config", "uri"]).unwrap_or("");
    if uri.is_empty() {
        causes.push("channel.config.uri: The field cannot be left blank".into());
    } else if let Some(cause) = check_uri(uri, allow_http_loopback) {
        causes.push(cause);
    }
    let key = str_at(body, &["channel", "config", "authScheme", "key"]).unwrap_or("");
    let value = str_at(body, &["channel", "config", "authScheme", "value"]).unwrap_or("");
    if str_at(body, &["channel", "config", "authScheme", "type"]) != Some("HEADER") {
        causes.push("channel.config.authScheme.type: Must be HEADER".into());
    }
    if key.is_empty() || axum::http::HeaderName::from_bytes(key.as_bytes()).is_err() {
        causes.push("channel.config.authScheme.key: Must be a header name".into());
    }
    if value.is_empty() || axum::http::HeaderValue::from_str(value).is_err() {
        causes.push("channel.config.authScheme.value: The field cannot be left blank".into());
    }
    let mut headers = Vec::new();
    for item in body
        .get("channel")
        .and_then(|c| c.get("config"))
        .and_then(|c| c.get("headers"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (k, v) = (
            str_at(item, &["key"]).unwrap_or(""),
            str_at(item, &["value"]).unwrap_or(""),
        );
        if axum::http::HeaderName::from_bytes(k.as_bytes()).is_err()
            || axum::http::HeaderValue::from_str(v).is_err()
        {
            causes.push("channel.config.headers: Each header needs a valid key and value".into());
        } else {
            headers.push((k.to_owned(), SecretString::from(v.to_owned())));
        }
    }
    if !causes.is_empty() {
        return Err(causes);
    }
    let now = now_rfc3339();
    Ok(EventHookRecord {
        id: format!("who{}", random_id(17)),
        name: name.to_owned(),
        status: "ACTIVE",
        verification_status: "UNVERIFIED",
        items,
        uri: uri.to_owned(),
        auth_key: key.to_owned(),
        auth_value: SecretString::from(value.to_owned()),
        headers,
        created: now.clone(),
        last_updated: now,
    })
}

stored_hook! { EventHookRecord => EventHook, "EventHook", "event hook", |org| &org.event_hooks.hooks }

/// `POST /api/v1/eventHooks`.
pub(crate) async fn create(
    State(org): State<Arc<Org>>,
    body: Bytes,
) -> Result<Json<EventHook>, ApiError> {
    let body = parse_json(&body)?;
    let record = validate(&body, org.allow_http_loopback_hooks).map_err(ApiError::validation)?;
    let answer = record.to_api();
    org.event_hooks
        .hooks
        .lock()
        .map_err(|_| ApiError::internal())?
        .push(record);
    Ok(Json(answer))
}

/// `GET /api/v1/eventHooks`.
pub(crate) async fn list(State(org): State<Arc<Org>>) -> Json<Vec<EventHook>> {
    Json(org.event_hooks.views())
}

/// `PUT /api/v1/eventHooks/{id}`: a changed channel is `UNVERIFIED` again.
pub(crate) async fn replace(
    State(org): State<Arc<Org>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<EventHook>, ApiError> {
    let body = parse_json(&body)?;
    let new = validate(&body, org.allow_http_loopback_hooks).map_err(ApiError::validation)?;
    with_hook::<EventHookRecord, _>(&org, &id, |h| {
        let same_channel = h.uri == new.uri
            && h.auth_key == new.auth_key
            && h.auth_value.expose_secret() == new.auth_value.expose_secret();
        if !same_channel {
            h.verification_status = "UNVERIFIED";
        }
        h.name = new.name;
        h.items = new.items;
        h.uri = new.uri;
        h.auth_key = new.auth_key;
        h.auth_value = new.auth_value;
        h.headers = new.headers;
        h.last_updated = now_rfc3339();
        Ok(Json(h.to_api()))
    })
}

/// `POST /api/v1/eventHooks/{id}/lifecycle/verify`: Okta's one-time GET.
pub(crate) async fn verify(
    State(org): State<Arc<Org>>,
    Path(id): Path<String>,
) -> Result<Json<EventHook>, ApiError> {
    let target = with_hook::<EventHookRecord, _>(&org, &id, |h| Ok(h.target()))?;
    let challenge = random_id(40);
    let mut failure = String::from("not called");
    for _ in 0..2 {
        let request = target
            .request(org.hook_http.get(&target.uri))
            .header("x-okta-verification-challenge", &challenge);
        match request.send().await {
            Ok(r) if r.status() == StatusCode::OK => {
                let echoed = r.json::<Value>().await.ok().and_then(|v| {
                    v.get("verification")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                });
                if echoed.as_deref() == Some(challenge.as_str()) {
                    return with_hook::<EventHookRecord, _>(&org, &id, |h| {
                        h.verification_status = "VERIFIED";
                        h.last_updated = now_rfc3339();
                        Ok(Json(h.to_api()))
                    });
                }
                failure = "the answer did not echo the challenge".into();
                break;
            }
            Ok(r) if r.status().is_client_error() => {
                failure = format!("the endpoint answered {}", r.status());
                break;
            }
            Ok(r) => failure = format!("the endpoint answered {}", r.status()),
            Err(e) if e.is_timeout() => failure = "the endpoint did not answer in time".into(),
            Err(_) => failure = "could not reach the endpoint".into(),
        }
    }
    // [unverified] Okta's exact error body for a failed verification.
    Err(ApiError::validation(vec![format!(
        "verification: Event hook verification failed: {failure}"
    )]))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn create_rules() {
        let good = json!({"name":"passbridge","events":{"type":"EVENT_TYPE","items":["user.import.password"]},
            "channel":{"type":"HTTP","version":"1.0.0","config":{"uri":"https://h.example.com/hooks/okta-events",
            "headers":[],"authScheme":{"type":"HEADER","key":"Authorization","value":"s3cret-s3cret-s3cret"}}}});
        let record = validate(&good, false).unwrap();
        let api = record.to_api();
        assert_eq!(
            (api.status.as_str(), api.verification_status.as_str()),
            ("ACTIVE", "UNVERIFIED")
        );
        assert!(api.channel.config.auth_scheme.unwrap().value.is_none());
        let mut no_items = good.clone();
        no_items["events"]["items"] = json!([]);
        assert!(validate(&no_items, false).is_err());
        let mut oauth = good.clone();
        oauth["channel"]["type"] = json!("OAUTH");
        assert!(
            validate(&oauth, false).is_err(),
            "event hooks have no OAuth"
        );
        let mut http = good;
        http["channel"]["config"]["uri"] = json!("http://hook.example.com/x");
        assert!(validate(&http, true).is_err());
    }
}
