//! Event Hooks API wire DTOs and calls (protocol §10.3): create, list, read,
//! replace, verify, activate, deactivate, delete. The `authScheme.value`
//! secret is write-only in Okta and a [`SecretString`] here.

use reqwest::Method;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::client::OktaClient;
use super::error::Result;
use super::hooks::{AuthScheme, HookHeader, HOOK_VERSION};

/// The event passbridge subscribes to: Okta's outcome of a password import.
pub const USER_IMPORT_PASSWORD: &str = "user.import.password";
/// `events.type` of a subscription to event types.
pub const EVENT_TYPE_SUBSCRIPTION: &str = "EVENT_TYPE";
/// Rate-limit bucket of the Event Hooks API.
const BUCKET_EVENT_HOOKS: &str = "eventHooks";

/// `events`: what the hook is subscribed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSubscriptions {
    /// `EVENT_TYPE`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Event types, e.g. [`USER_IMPORT_PASSWORD`].
    #[serde(default)]
    pub items: Vec<String>,
}

/// `channel.config` of an event hook (no `method`: Okta always POSTs).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventHookChannelConfig {
    /// Endpoint; https.
    pub uri: String,
    /// Extra headers.
    #[serde(default)]
    pub headers: Vec<HookHeader>,
    /// The header Okta authenticates with.
    #[serde(default)]
    pub auth_scheme: Option<AuthScheme>,
}

/// `channel` of an event hook: `HTTP` `1.0.0` only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventHookChannel {
    /// `HTTP`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `1.0.0`.
    pub version: String,
    /// Endpoint and authentication.
    pub config: EventHookChannelConfig,
}

/// Body of `POST /api/v1/eventHooks` (and of the `PUT` replacing one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventHookCreate {
    /// Display name.
    pub name: String,
    /// Subscriptions.
    pub events: EventSubscriptions,
    /// Where and how Okta delivers.
    pub channel: EventHookChannel,
}

impl EventHookCreate {
    /// A hook subscribed to `user.import.password`, delivering to `uri`
    /// with `header: secret`.
    pub fn password_import_outcomes(
        name: &str,
        uri: &str,
        header: &str,
        secret: SecretString,
    ) -> Self {
        Self {
            name: name.to_owned(),
            events: EventSubscriptions {
                kind: EVENT_TYPE_SUBSCRIPTION.to_owned(),
                items: vec![USER_IMPORT_PASSWORD.to_owned()],
            },
            channel: EventHookChannel {
                kind: "HTTP".to_owned(),
                version: HOOK_VERSION.to_owned(),
                config: EventHookChannelConfig {
                    uri: uri.to_owned(),
                    headers: Vec::new(),
                    auth_scheme: Some(AuthScheme {
                        kind: "HEADER".to_owned(),
                        key: header.to_owned(),
                        value: Some(secret),
                    }),
                },
            },
        }
    }
}

/// An event hook as Okta returns it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventHook {
    /// Hook id (`who…`).
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// `ACTIVE` or `INACTIVE`.
    #[serde(default)]
    pub status: String,
    /// `VERIFIED` or `UNVERIFIED` (only verified hooks receive events).
    #[serde(default)]
    pub verification_status: String,
    /// Subscriptions.
    pub events: EventSubscriptions,
    /// Channel (the secret omitted by Okta).
    pub channel: EventHookChannel,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
}

impl EventHook {
    /// Whether the hook is `ACTIVE`.
    pub fn is_active(&self) -> bool {
        self.status.eq_ignore_ascii_case("ACTIVE")
    }

    /// Whether Okta verified the endpoint.
    pub fn is_verified(&self) -> bool {
        self.verification_status.eq_ignore_ascii_case("VERIFIED")
    }
}

impl OktaClient {
    /// `POST /api/v1/eventHooks`: created `ACTIVE` but `UNVERIFIED`.
    ///
    /// # Errors
    /// Okta's validation error or a transport failure after retries.
    pub async fn create_event_hook(&self, hook: &EventHookCreate) -> Result<EventHook> {
        let url = self.url(&["eventHooks"]);
        self.send_json(BUCKET_EVENT_HOOKS, Method::POST, url, Some(hook))
            .await
    }

    /// `PUT /api/v1/eventHooks/{id}`: a changed channel must be verified again.
    ///
    /// # Errors
    /// Okta's validation error or a transport failure after retries.
    pub async fn replace_event_hook(&self, id: &str, hook: &EventHookCreate) -> Result<EventHook> {
        let url = self.url(&["eventHooks", id]);
        self.send_json(BUCKET_EVENT_HOOKS, Method::PUT, url, Some(hook))
            .await
    }

    /// `GET /api/v1/eventHooks`.
    ///
    /// # Errors
    /// Okta's error or a transport failure after retries.
    pub async fn list_event_hooks(&self) -> Result<Vec<EventHook>> {
        let url = self.url(&["eventHooks"]);
        self.send_json::<(), _>(BUCKET_EVENT_HOOKS, Method::GET, url, None)
            .await
    }

    /// `GET /api/v1/eventHooks/{id}`.
    ///
    /// # Errors
    /// 404 when there is no such hook, or a transport failure after retries.
    pub async fn get_event_hook(&self, id: &str) -> Result<EventHook> {
        let url = self.url(&["eventHooks", id]);
        self.send_json::<(), _>(BUCKET_EVENT_HOOKS, Method::GET, url, None)
            .await
    }

    /// `POST /api/v1/eventHooks/{id}/lifecycle/{action}` for `verify`
    /// (Okta sends the challenge GET now; 400 when it is not echoed),
    /// `activate` or `deactivate`.
    ///
    /// # Errors
    /// Okta's error or a transport failure after retries.
    pub async fn event_hook_lifecycle(&self, id: &str, action: &str) -> Result<EventHook> {
        let url = self.url(&["eventHooks", id, "lifecycle", action]);
        self.send_json::<(), _>(BUCKET_EVENT_HOOKS, Method::POST, url, None)
            .await
    }

    /// `DELETE /api/v1/eventHooks/{id}` (only an `INACTIVE` hook).
    ///
    /// # Errors
    /// Okta's error or a transport failure after retries.
    pub async fn delete_event_hook(&self, id: &str) -> Result<()> {
        let url = self.url(&["eventHooks", id]);
        self.send::<()>(BUCKET_EVENT_HOOKS, Method::DELETE, url, None)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    // Protocol §10.3 create body.
    #[test]
    fn create_body_matches_okta_shape_and_debug_hides_the_secret() {
        let hook = EventHookCreate::password_import_outcomes(
            "passbridge",
            "https://hook.example.com/okta/events",
            "Authorization",
            SecretString::from("Basic dXNlcjpwYXNz"),
        );
        assert_eq!(
            serde_json::to_value(&hook).unwrap(),
            json!({"name":"passbridge","events":{"type":"EVENT_TYPE","items":["user.import.password"]},
              "channel":{"type":"HTTP","version":"1.0.0","config":{"uri":"https://hook.example.com/okta/events",
              "headers":[],"authScheme":{"type":"HEADER","key":"Authorization","value":"Basic dXNlcjpwYXNz"}}}})
        );
        assert!(!format!("{hook:?}").contains("dXNlcjpwYXNz"));
    }
}
