//! Authenticates Okta, in the mode `hook.auth` names: the configured header
//! must carry one of the configured secrets, or `Authorization` must carry a
//! valid OAuth 2.0 access token ([`super::oauth`]). Runs before the body is
//! read, so an unauthenticated caller causes no parsing, lookup or hashing.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderName;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::HookError;
use super::oauth::OAuthAuth;
use crate::config::{HookAuthMode, HookSettings};
use crate::state::AppState;

/// How callers are authenticated: one variant per `hook.auth` mode.
pub enum HookAuth {
    /// `hook.auth = "header"`: a shared secret.
    Header(HeaderAuth),
    /// `hook.auth = "oauth2"`: a bearer token.
    OAuth2(OAuthAuth),
}

impl HookAuth {
    /// From the hook settings.
    ///
    /// # Errors
    /// An invalid header name, or incomplete `[hook.oauth]` settings.
    pub fn from_settings(hook: &HookSettings) -> anyhow::Result<Self> {
        Ok(match hook.auth {
            HookAuthMode::Header => Self::Header(HeaderAuth::new(&hook.header, &hook.secrets)?),
            HookAuthMode::Oauth2 => Self::OAuth2(OAuthAuth::from_settings(&hook.oauth)?),
        })
    }

    /// The OAuth state, in `oauth2` mode.
    pub fn oauth(&self) -> Option<&OAuthAuth> {
        match self {
            Self::OAuth2(o) => Some(o),
            Self::Header(_) => None,
        }
    }
}

/// The accepted header and secrets, kept as SHA-256 digests so comparisons
/// take the same time whatever the length of the presented value.
pub struct HeaderAuth {
    header: HeaderName,
    digests: Vec<[u8; 32]>,
}

fn digest(value: &[u8]) -> [u8; 32] {
    Sha256::digest(value).into()
}

impl HeaderAuth {
    /// From the configured header name and secrets.
    ///
    /// # Errors
    /// The header name is not a valid HTTP header name.
    pub fn new(
        header: &str,
        secrets: &[SecretString],
    ) -> Result<Self, axum::http::header::InvalidHeaderName> {
        Ok(Self {
            header: HeaderName::from_bytes(header.trim().as_bytes())?,
            digests: secrets
                .iter()
                .map(|s| digest(s.expose_secret().as_bytes()))
                .collect(),
        })
    }

    /// Whether `presented` equals one of the secrets. Every secret is
    /// compared (no early exit), each in constant time.
    pub fn accepts(&self, presented: &[u8]) -> bool {
        let presented = digest(presented);
        let mut ok = subtle::Choice::from(0);
        for d in &self.digests {
            ok |= d.ct_eq(&presented);
        }
        bool::from(ok)
    }

    /// Checks a request's headers. Header names match case-insensitively
    /// (HTTP header maps are case-insensitive by construction).
    pub fn check(&self, parts: &Parts) -> Result<(), HookError> {
        let mut values = parts.headers.get_all(&self.header).iter();
        match (values.next(), values.next()) {
            (Some(v), None) if self.accepts(v.as_bytes()) => Ok(()),
            _ => Err(HookError::Unauthorized),
        }
    }
}

/// Extractor proving the caller presented a valid secret.
pub struct HookCaller;

impl FromRequestParts<AppState> for HookCaller {
    type Rejection = HookError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HookError> {
        check_with(&state.auth, parts, state)
            .await
            .map(|()| HookCaller)
    }
}

async fn check_with(
    auth: &Arc<HookAuth>,
    parts: &Parts,
    state: &AppState,
) -> Result<(), HookError> {
    match &**auth {
        HookAuth::Header(h) => h.check(parts).inspect_err(|_| {
            state.metrics.auth_refused("header");
        }),
        HookAuth::OAuth2(o) => match o.check(parts).await {
            Ok(claims) => {
                // `jti` names the token without being usable as one.
                tracing::debug!(
                    jti = claims.jti.as_deref().unwrap_or("-"),
                    "hook caller: bearer token accepted"
                );
                Ok(())
            }
            Err(refusal) => {
                // The reason only: never the token or any of its claims.
                tracing::warn!(reason = refusal.reason(), "hook caller refused: {refusal}");
                state.metrics.auth_refused(refusal.reason());
                Err(HookError::Unauthorized)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn accepts_either_rotation_secret_only() {
        let auth = HeaderAuth::new(
            "x-hook-secret",
            &[
                SecretString::from("old-secret-0123456789"),
                SecretString::from("new-secret-0123456789"),
            ],
        )
        .unwrap();
        assert!(auth.accepts(b"old-secret-0123456789"));
        assert!(auth.accepts(b"new-secret-0123456789"));
        assert!(!auth.accepts(b"new-secret-012345678"));
        assert!(!auth.accepts(b""));
    }

    #[test]
    fn header_name_is_case_insensitive() {
        let auth = HeaderAuth::new(
            "X-Hook-Secret",
            &[SecretString::from("s3cret-s3cret-s3cret")],
        )
        .unwrap();
        let req = axum::http::Request::builder()
            .header("x-hook-secret", "s3cret-s3cret-s3cret")
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        assert!(auth.check(&parts).is_ok());
        let req = axum::http::Request::builder()
            .header("authorization", "s3cret-s3cret-s3cret")
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        assert!(auth.check(&parts).is_err());
    }
}
