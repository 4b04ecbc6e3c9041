//! OAuth 2.0 authentication of Okta (`hook.auth = "oauth2"`): the hook call
//! carries `Authorization: Bearer <JWT>`, an access token Okta obtained from
//! a custom authorization server with the client-credentials grant
//! (protocol §3.2, §9). The token is checked before the body is read; a
//! refused token never causes a lookup or a hash. The token is never logged.

pub mod jwks;
pub mod token;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

pub use jwks::{Jwks, JwksReady};
pub use token::{validate, Claims, KeySet, Refusal, TokenPolicy};

use crate::config::OAuthSettings;

/// The policy and the issuer's keys.
pub struct OAuthAuth {
    policy: TokenPolicy,
    jwks: Arc<Jwks>,
}

impl OAuthAuth {
    /// From `[hook.oauth]` (already validated by `Settings::validate_for_serve`).
    ///
    /// # Errors
    /// A required setting is missing, or the HTTP client cannot be built.
    pub fn from_settings(s: &OAuthSettings) -> anyhow::Result<Self> {
        let policy = s.policy()?;
        let jwks = Jwks::new(&policy.issuer, s.jwks_url.clone())?;
        Ok(Self {
            policy,
            jwks: Arc::new(jwks),
        })
    }

    /// The issuer's key cache (for readiness, the refresher and tests).
    pub fn jwks(&self) -> &Arc<Jwks> {
        &self.jwks
    }

    /// The token rules.
    pub fn policy(&self) -> &TokenPolicy {
        &self.policy
    }

    /// Checks the request's bearer token; an unknown `kid` (or no keys yet)
    /// may cause one rate-limited JWKS refetch.
    ///
    /// # Errors
    /// Why the token was refused.
    pub async fn check(&self, parts: &Parts) -> Result<Claims, Refusal> {
        let token = bearer(parts).ok_or(Refusal::MissingToken)?;
        let now = unix_now();
        let keys = self.jwks.keys();
        match validate(token, &keys, &self.policy, now) {
            Err(Refusal::UnknownKey | Refusal::NoKeys) => {
                let Some(newer) = self.jwks.refetch_for_unknown_kid(&keys).await else {
                    return Err(if keys.is_empty() {
                        Refusal::NoKeys
                    } else {
                        Refusal::UnknownKey
                    });
                };
                validate(token, &newer, &self.policy, unix_now())
            }
            other => other,
        }
    }
}

/// The token of the one `Authorization: Bearer …` header, if exactly one.
fn bearer(parts: &Parts) -> Option<&str> {
    let mut values = parts.headers.get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let value = value.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
