//! The stand-in's custom authorization server `default` (protocol §3.2, §9):
//! RFC 8414 metadata, the JWKS, and access tokens shaped like Okta's
//! (client credentials: `ver`, `jti`, `iss`, `aud`, `iat`, `exp`, `cid`,
//! `scp`, `sub`, no `uid`), signed RS256 with its own keys. Keys rotate on
//! request; the previous key stays published, as Okta keeps it.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use url::Url;

use super::error::ApiError;
use super::keys::{jwks_of, SigningKey};
use super::state::{random_id, Org};

/// The `aud` of the `default` server's tokens (Okta's default audience).
pub const AUDIENCE: &str = "api://default";
/// Lifetime of an access token (Okta's default: one hour).
const TOKEN_LIFETIME_SECS: u64 = 3600;
/// Published keys: the signing one and the one before it.
const PUBLISHED_KEYS: usize = 2;

/// Keys newest first; created on first use (RSA generation takes a moment).
pub(crate) struct AuthServer {
    issuer: String,
    keys: Mutex<Vec<Arc<SigningKey>>>,
}

impl AuthServer {
    pub(crate) fn new(base_url: &Url) -> Self {
        Self {
            issuer: format!("{}oauth2/default", base_url.as_str()),
            keys: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    async fn generate() -> Result<Arc<SigningKey>, String> {
        let kid = random_id(20);
        // CPU-heavy: off the async workers.
        tokio::task::spawn_blocking(move || SigningKey::generate(&kid))
            .await
            .map_err(|e| format!("key generation task: {e}"))?
            .map(Arc::new)
    }

    async fn published(&self) -> Result<Vec<Arc<SigningKey>>, String> {
        let current = self.keys.lock().map_err(|_| "lock")?.clone();
        if !current.is_empty() {
            return Ok(current);
        }
        let key = Self::generate().await?;
        let mut keys = self.keys.lock().map_err(|_| "lock")?;
        if keys.is_empty() {
            keys.push(key);
        }
        Ok(keys.clone())
    }

    /// A new signing key; the previous one stays published, older ones leave.
    /// Returns the new `kid`.
    pub(crate) async fn rotate(&self) -> Result<String, String> {
        self.published().await?;
        let key = Self::generate().await?;
        let kid = key.kid().to_owned();
        let mut keys = self.keys.lock().map_err(|_| "lock")?;
        keys.insert(0, key);
        keys.truncate(PUBLISHED_KEYS);
        Ok(kid)
    }

    /// The kids published, newest first.
    pub(crate) async fn kids(&self) -> Result<Vec<String>, String> {
        Ok(self
            .published()
            .await?
            .iter()
            .map(|k| k.kid().to_owned())
            .collect())
    }

    /// An access token for `client_id` with `scope`, as Okta's client
    /// credentials grant issues it.
    pub(crate) async fn mint(
        &self,
        client_id: &str,
        scope: Option<&str>,
    ) -> Result<String, String> {
        let keys = self.published().await?;
        let key = keys.first().ok_or("no key")?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let claims = json!({
            "ver": 1,
            "jti": format!("AT.{}", random_id(40)),
            "iss": self.issuer,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + TOKEN_LIFETIME_SECS,
            "cid": client_id,
            "scp": scope.map_or_else(Vec::new, |s| s.split(' ').map(str::to_owned).collect()),
            "sub": client_id,
        });
        key.sign(&claims)
    }
}

/// `GET /oauth2/default/.well-known/oauth-authorization-server`.
pub(crate) async fn metadata(State(org): State<Arc<Org>>) -> Json<Value> {
    let issuer = org.auth_server.issuer();
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/v1/keys"),
        "token_endpoint": format!("{issuer}/v1/token"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
    }))
}

/// `GET /oauth2/default/v1/keys`.
pub(crate) async fn jwks(State(org): State<Arc<Org>>) -> Result<Json<Value>, ApiError> {
    let keys = org
        .auth_server
        .published()
        .await
        .map_err(|_| ApiError::internal())?;
    Ok(Json(jwks_of(keys.iter().map(AsRef::as_ref))))
}

/// `POST /__dev/oauth/rotate-keys` (SSWS): a new signing key.
pub(crate) async fn rotate(State(org): State<Arc<Org>>) -> Result<Json<Value>, ApiError> {
    let kid = org
        .auth_server
        .rotate()
        .await
        .map_err(|_| ApiError::internal())?;
    let kids = org
        .auth_server
        .kids()
        .await
        .map_err(|_| ApiError::internal())?;
    Ok(Json(json!({ "signing_kid": kid, "published": kids })))
}
