//! Inline Hooks API wire DTOs and calls (protocol §4): create the
//! password-import hook, list by type, read, activate, deactivate, delete
//! and execute. The `authScheme.value` secret is write-only in Okta and a
//! [`SecretString`] here; it is serialized only into the create body.

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

use super::client::OktaClient;
use super::error::Result;

/// The inline hook type of the password import hook.
pub const PASSWORD_IMPORT_HOOK_TYPE: &str = "com.okta.user.credential.password.import";
/// Hook and channel version Okta expects.
pub const HOOK_VERSION: &str = "1.0.0";
/// Rate-limit bucket of the Inline Hooks API.
pub(crate) const BUCKET_HOOKS: &str = "inlineHooks";

#[allow(clippy::ref_option)] // serde's `serialize_with` hands us `&Option<_>`
fn expose<S: Serializer>(
    value: &Option<SecretString>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.serialize_str(v.expose_secret()),
        None => s.serialize_none(),
    }
}

/// `channel.config.authScheme`: the header Okta sends to authenticate itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthScheme {
    /// `HEADER` (Okta returns it lower-cased on read).
    #[serde(rename = "type")]
    pub kind: String,
    /// Header name, e.g. `Authorization`.
    pub key: String,
    /// Header value; write-only (absent when read back).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose"
    )]
    pub value: Option<SecretString>,
}

/// One of `channel.config.headers`: an extra header Okta sends with every call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HookHeader {
    /// Header name.
    pub key: String,
    /// Header value (may be a second secret, so handled as one).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose"
    )]
    pub value: Option<SecretString>,
}

/// `channel.config` of an HTTP channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelConfig {
    /// Hook endpoint; https (max 1024 chars).
    pub uri: String,
    /// Always `POST`.
    #[serde(default = "post")]
    pub method: String,
    /// Extra headers.
    #[serde(default)]
    pub headers: Vec<HookHeader>,
    /// How Okta authenticates to the hook (`HEADER`); `null` on an OAUTH channel.
    #[serde(default)]
    pub auth_scheme: Option<AuthScheme>,
    /// OAUTH channel: `client_secret_post` or `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<String>,
    /// OAUTH channel: the client Okta gets the token for (the token's `cid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// OAUTH `client_secret_post`: the client secret; write-only.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "expose"
    )]
    pub client_secret: Option<SecretString>,
    /// OAUTH `private_key_jwt`: the hook key (`POST /api/v1/hook-keys`) Okta signs its assertion with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_key_id: Option<String>,
    /// OAUTH channel: the authorization server's token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// OAUTH channel: the custom scope Okta asks for (the token's `scp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// How Okta's OAUTH channel authenticates to the token endpoint (protocol §3.2).
#[derive(Debug, Clone)]
pub enum OAuthClientAuth {
    /// `client_secret_post` with this secret.
    ClientSecretPost(SecretString),
    /// `private_key_jwt` with this hook key id.
    PrivateKeyJwt(String),
}

/// The OAUTH channel of a hook.
#[derive(Debug, Clone)]
pub struct OAuthChannel {
    /// `clientId`.
    pub client_id: String,
    /// `tokenUrl`.
    pub token_url: String,
    /// `scope`.
    pub scope: Option<String>,
    /// Secret or hook key.
    pub auth: OAuthClientAuth,
}

fn post() -> String {
    "POST".to_owned()
}

/// `channel` of an inline hook.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Channel {
    /// `HTTP` (or `OAUTH`, not used by passbridge).
    #[serde(rename = "type")]
    pub kind: String,
    /// `1.0.0`.
    pub version: String,
    /// Endpoint and authentication.
    pub config: ChannelConfig,
}

/// Body of `POST /api/v1/inlineHooks`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InlineHookCreate {
    /// Display name.
    pub name: String,
    /// Hook type, e.g. [`PASSWORD_IMPORT_HOOK_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// `1.0.0`.
    pub version: String,
    /// Where and how Okta calls the hook.
    pub channel: Channel,
}

impl InlineHookCreate {
    /// The password-import hook with an HTTP channel authenticated by a
    /// `HEADER` auth scheme (`header: secret`), plus optional extra headers.
    pub fn password_import(
        name: &str,
        uri: &str,
        header: &str,
        secret: SecretString,
        headers: Vec<HookHeader>,
    ) -> Self {
        Self {
            name: name.to_owned(),
            kind: PASSWORD_IMPORT_HOOK_TYPE.to_owned(),
            version: HOOK_VERSION.to_owned(),
            channel: Channel {
                kind: "HTTP".to_owned(),
                version: HOOK_VERSION.to_owned(),
                config: ChannelConfig {
                    headers,
                    auth_scheme: Some(AuthScheme {
                        kind: "HEADER".to_owned(),
                        key: header.to_owned(),
                        value: Some(secret),
                    }),
                    ..ChannelConfig::empty(uri)
                },
            },
        }
    }

    /// The password-import hook with an OAUTH channel: Okta sends
    /// `Authorization: Bearer <access token>` it got from `token_url`.
    pub fn password_import_oauth(
        name: &str,
        uri: &str,
        oauth: OAuthChannel,
        headers: Vec<HookHeader>,
    ) -> Self {
        let (auth_type, client_secret, hook_key_id) = match oauth.auth {
            OAuthClientAuth::ClientSecretPost(s) => ("client_secret_post", Some(s), None),
            OAuthClientAuth::PrivateKeyJwt(k) => ("private_key_jwt", None, Some(k)),
        };
        Self {
            name: name.to_owned(),
            kind: PASSWORD_IMPORT_HOOK_TYPE.to_owned(),
            version: HOOK_VERSION.to_owned(),
            channel: Channel {
                kind: "OAUTH".to_owned(),
                version: HOOK_VERSION.to_owned(),
                config: ChannelConfig {
                    headers,
                    auth_type: Some(auth_type.to_owned()),
                    client_id: Some(oauth.client_id),
                    client_secret,
                    hook_key_id,
                    token_url: Some(oauth.token_url),
                    scope: oauth.scope,
                    ..ChannelConfig::empty(uri)
                },
            },
        }
    }
}

impl ChannelConfig {
    /// A `POST` to `uri` with no authentication or headers set yet.
    pub fn empty(uri: &str) -> Self {
        Self {
            uri: uri.to_owned(),
            method: post(),
            headers: Vec::new(),
            auth_scheme: None,
            auth_type: None,
            client_id: None,
            client_secret: None,
            hook_key_id: None,
            token_url: None,
            scope: None,
        }
    }
}

/// An inline hook as Okta returns it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InlineHook {
    /// Hook id (`cal…`).
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Hook type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Hook version.
    #[serde(default)]
    pub version: String,
    /// `ACTIVE` or `INACTIVE`.
    #[serde(default)]
    pub status: String,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    /// Channel (secrets omitted by Okta).
    pub channel: Channel,
}

impl InlineHook {
    /// Whether the hook is `ACTIVE`.
    pub fn is_active(&self) -> bool {
        self.status.eq_ignore_ascii_case("ACTIVE")
    }
}

impl OktaClient {
    /// `POST /api/v1/inlineHooks`.
    ///
    /// # Errors
    /// Okta's validation error (for example a second password-import hook),
    /// or a transport failure after retries.
    pub async fn create_inline_hook(&self, hook: &InlineHookCreate) -> Result<InlineHook> {
        let url = self.url(&["inlineHooks"]);
        self.send_json(BUCKET_HOOKS, Method::POST, url, Some(hook))
            .await
    }

    /// `PUT /api/v1/inlineHooks/{id}`: replaces name, version and channel in
    /// place (the type is immutable), so the org is never without its hook.
    ///
    /// # Errors
    /// Okta's validation error or a transport failure after retries.
    pub async fn replace_inline_hook(
        &self,
        id: &str,
        hook: &InlineHookCreate,
    ) -> Result<InlineHook> {
        #[derive(Serialize)]
        struct Replace<'a> {
            name: &'a str,
            version: &'a str,
            channel: &'a Channel,
        }
        let body = Replace {
            name: &hook.name,
            version: &hook.version,
            channel: &hook.channel,
        };
        let url = self.url(&["inlineHooks", id]);
        self.send_json(BUCKET_HOOKS, Method::PUT, url, Some(&body))
            .await
    }

    /// `GET /api/v1/inlineHooks[?type=…]`.
    ///
    /// # Errors
    /// Okta's error or a transport failure after retries.
    pub async fn list_inline_hooks(&self, kind: Option<&str>) -> Result<Vec<InlineHook>> {
        let mut url = self.url(&["inlineHooks"]);
        if let Some(kind) = kind {
            url.query_pairs_mut().append_pair("type", kind);
        }
        self.send_json::<(), _>(BUCKET_HOOKS, Method::GET, url, None)
            .await
    }

    /// `GET /api/v1/inlineHooks/{id}`.
    ///
    /// # Errors
    /// 404 when there is no such hook, or a transport failure after retries.
    pub async fn get_inline_hook(&self, id: &str) -> Result<InlineHook> {
        let url = self.url(&["inlineHooks", id]);
        self.send_json::<(), _>(BUCKET_HOOKS, Method::GET, url, None)
            .await
    }

    /// `POST /api/v1/inlineHooks/{id}/lifecycle/activate`.
    ///
    /// # Errors
    /// Okta's error or a transport failure after retries.
    pub async fn activate_inline_hook(&self, id: &str) -> Result<InlineHook> {
        let url = self.url(&["inlineHooks", id, "lifecycle", "activate"]);
        self.send_json::<(), _>(BUCKET_HOOKS, Method::POST, url, None)
            .await
    }

    /// `POST /api/v1/inlineHooks/{id}/lifecycle/deactivate`.
    ///
    /// # Errors
    /// Okta's error or a transport failure after retries.
    pub async fn deactivate_inline_hook(&self, id: &str) -> Result<InlineHook> {
        let url = self.url(&["inlineHooks", id, "lifecycle", "deactivate"]);
        self.send_json::<(), _>(BUCKET_HOOKS, Method::POST, url, None)
            .await
    }

    /// `DELETE /api/v1/inlineHooks/{id}` (Okta requires the hook to be `INACTIVE`).
    ///
    /// # Errors
    /// Okta's error (an active hook) or a transport failure after retries.
    pub async fn delete_inline_hook(&self, id: &str) -> Result<()> {
        let url = self.url(&["inlineHooks", id]);
        self.send::<()>(BUCKET_HOOKS, Method::DELETE, url, None)
            .await
            .map(|_| ())
    }

    /// `POST /api/v1/inlineHooks/{id}/execute`: Okta sends `body` to the hook
    /// and returns the hook's answer. For testing only (Okta's own words).
    ///
    /// # Errors
    /// 400 with details when the hook did not answer successfully, or a
    /// transport failure after retries.
    pub async fn execute_inline_hook(
        &self,
        id: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value> {
        let url = self.url(&["inlineHooks", id, "execute"]);
        let answer = self
            .send(BUCKET_HOOKS, Method::POST, url, Some(body))
            .await?;
        if answer.body.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&answer.body)
            .map_err(|e| super::OktaError::Decode(format!("execute answer is not JSON: {e}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    // Protocol §4 create body.
    #[test]
    fn create_body_matches_okta_shape_and_debug_hides_the_secret() {
        let hook = InlineHookCreate::password_import(
            "Password import hook",
            "https://hook.example.com/passwordImport",
            "Authorization",
            SecretString::from("Basic dXNlcjpwYXNz"),
            vec![HookHeader {
                key: "x-any-key".into(),
                value: Some(SecretString::from("my-header-value")),
            }],
        );
        assert_eq!(
            serde_json::to_value(&hook).unwrap(),
            json!({"name":"Password import hook","type":"com.okta.user.credential.password.import",
              "version":"1.0.0","channel":{"type":"HTTP","version":"1.0.0","config":{
              "uri":"https://hook.example.com/passwordImport","method":"POST",
              "headers":[{"key":"x-any-key","value":"my-header-value"}],
              "authScheme":{"type":"HEADER","key":"Authorization","value":"Basic dXNlcjpwYXNz"}}}})
        );
        let debug = format!("{hook:?}");
        assert!(!debug.contains("dXNlcjpwYXNz") && !debug.contains("my-header-value"));
    }

    // Protocol §3.2 / OAS `InlineHookMgmtCreateOAuthClientSecretRequest`.
    #[test]
    fn oauth_create_body_matches_okta_shape() {
        let hook = InlineHookCreate::password_import_oauth(
            "h",
            "https://hook.example.com/x",
            OAuthChannel {
                client_id: "0oa1".into(),
                token_url: "https://example.okta.com/oauth2/default/v1/token".into(),
                scope: Some("passbridge.hook".into()),
                auth: OAuthClientAuth::ClientSecretPost(SecretString::from("cs-secret")),
            },
            vec![],
        );
        assert_eq!(
            serde_json::to_value(&hook).unwrap()["channel"],
            json!({"type":"OAUTH","version":"1.0.0","config":{"uri":"https://hook.example.com/x",
              "method":"POST","headers":[],"authScheme":null,"authType":"client_secret_post",
              "clientId":"0oa1","clientSecret":"cs-secret",
              "tokenUrl":"https://example.okta.com/oauth2/default/v1/token","scope":"passbridge.hook"}})
        );
        assert!(!format!("{hook:?}").contains("cs-secret"));
        let pk = InlineHookCreate::password_import_oauth(
            "h",
            "https://hook.example.com/x",
            OAuthChannel {
                client_id: "0oa1".into(),
                token_url: "https://t/v1/token".into(),
                scope: None,
                auth: OAuthClientAuth::PrivateKeyJwt("HKY1".into()),
            },
            vec![],
        );
        let config = &serde_json::to_value(&pk).unwrap()["channel"]["config"];
        assert_eq!(config["authType"], "private_key_jwt");
        assert_eq!(config["hookKeyId"], "HKY1");
        assert!(config.get("clientSecret").is_none());
    }

    // OAS example `InlineHookMgmtCreateHTTPResponse`: the secret is not returned.
    #[test]
    fn read_shape_parses_without_secret() {
        let hook: InlineHook = serde_json::from_value(json!({
            "id":"calmm7uzomo8KMrID0g4","status":"ACTIVE","name":"x",
            "type":"com.okta.user.credential.password.import","version":"1.0.0",
            "channel":{"type":"HTTP","version":"1.0.0","config":{"uri":"https://h/x",
              "headers":[],"method":"POST","authScheme":{"type":"header","key":"authorization"}}},
            "created":"2023-07-14T17:26:58.000Z","lastUpdated":"2023-07-14T17:26:58.000Z",
            "_links":{"self":{"href":"x"}}
        }))
        .unwrap();
        assert!(hook.is_active());
        let scheme = hook.channel.config.auth_scheme.unwrap();
        assert_eq!(scheme.key, "authorization");
        assert!(scheme.value.is_none());
    }
}
