//! The issuer's signing keys: discovered from
//! `{issuer}/.well-known/oauth-authorization-server` (or configured), fetched
//! over HTTPS (plain HTTP only to loopback), cached and replaced as a whole
//! on each successful fetch, so a key that leaves the JWKS stops working at
//! the next fetch. A failed fetch keeps the cached keys.
//!
//! An unknown `kid` may trigger a fetch, at most one per
//! [`UNKNOWN_KID_REFETCH_INTERVAL`], so a flood of made-up kids costs Okta
//! one request a minute. A background task refreshes every
//! [`REFRESH_INTERVAL`] (every [`RETRY_INTERVAL`] while no key was ever fetched).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tracing::{info, warn};
use url::Url;

use super::token::KeySet;
use crate::readiness::ReadinessCheck;

/// At most one fetch per this interval is caused by unknown `kid`s.
pub const UNKNOWN_KID_REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// Routine refresh once keys are cached (picks up removals).
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Refresh while no key set was ever fetched.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(10);
/// One discovery or JWKS request, connection included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Larger documents are refused (Okta's are a few KB).
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Why a fetch failed (no secret involved: URLs and statuses only).
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// The URL is not https (nor http to loopback).
    #[error("{0}: only https:// (or http:// to a loopback address) is allowed")]
    Insecure(String),
    /// Transport failure or timeout.
    #[error("cannot fetch {url}: {message}")]
    Fetch {
        /// What was fetched.
        url: String,
        /// Cause.
        message: String,
    },
    /// Non-2xx answer.
    #[error("{url} answered {status}")]
    Status {
        /// What was fetched.
        url: String,
        /// HTTP status.
        status: u16,
    },
    /// Not the document expected.
    #[error("{url}: {message}")]
    Document {
        /// What was fetched.
        url: String,
        /// What is wrong.
        message: String,
    },
}

/// Whether `url` may be fetched: https, or http to a loopback host (tests).
pub fn is_allowed_url(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => crate::net::is_loopback_host(url),
        _ => false,
    }
}

/// The cached keys and when they were last fetched.
struct Cached {
    keys: Arc<KeySet>,
    fetched: bool,
    jwks_url: Option<Url>,
}

/// The JWKS of one issuer.
pub struct Jwks {
    issuer: String,
    configured_url: Option<Url>,
    http: reqwest::Client,
    cached: RwLock<Cached>,
    /// When an unknown `kid` last caused a fetch; held across that fetch so
    /// concurrent callers wait for it instead of fetching again.
    kid_refetch: Mutex<Option<Instant>>,
}

impl Jwks {
    /// For `issuer`; `jwks_url` skips discovery.
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(issuer: &str, jwks_url: Option<Url>) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            // A redirect could leave https or the issuer's host.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("passbridge/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            configured_url: jwks_url,
            http,
            cached: RwLock::new(Cached {
                keys: Arc::new(KeySet::default()),
                fetched: false,
                jwks_url: None,
            }),
            kid_refetch: Mutex::new(None),
        })
    }

    /// The cached keys (empty before the first successful fetch).
    pub fn keys(&self) -> Arc<KeySet> {
        self.cached
            .read()
            .map_or_else(|p| p.into_inner().keys.clone(), |c| c.keys.clone())
    }

    /// Whether a key set was ever fetched.
    pub fn ever_fetched(&self) -> bool {
        self.cached
            .read()
            .map_or_else(|p| p.into_inner().fetched, |c| c.fetched)
    }

    /// Fetches the JWKS now (discovering its URL first if needed) and
    /// replaces the cached keys. On failure the cached keys stay.
    ///
    /// # Errors
    /// Discovery or the JWKS fetch failed.
    pub async fn refresh(&self) -> Result<Arc<KeySet>, JwksError> {
        let url = match self.known_jwks_url() {
            Some(url) => url,
            None => self.discover().await?,
        };
        let body = self.get(&url).await?;
        let keys = KeySet::from_jwks_json(&body).map_err(|e| JwksError::Document {
            url: url.to_string(),
            message: format!("not a JWKS: {e}"),
        })?;
        let keys = Arc::new(keys);
        let before = self.keys();
        if before.kids() != keys.kids() {
            info!(kids = ?keys.kids(), "hook oauth: signing keys changed");
        }
        if let Ok(mut c) = self.cached.write() {
            c.keys = keys.clone();
            c.fetched = true;
            c.jwks_url = Some(url);
        }
        Ok(keys)
    }

    /// Called when a token names a `kid` that `seen` lacks. Returns newer
    /// keys to retry with: keys another request already fetched, or a fresh
    /// fetch if none was caused by an unknown `kid` within the last
    /// [`UNKNOWN_KID_REFETCH_INTERVAL`]. `None`: nothing new, refuse.
    pub async fn refetch_for_unknown_kid(&self, seen: &Arc<KeySet>) -> Option<Arc<KeySet>> {
        let mut last = self.kid_refetch.lock().await;
        let current = self.keys();
        if !Arc::ptr_eq(&current, seen) {
            return Some(current);
        }
        if last.is_some_and(|t| t.elapsed() < UNKNOWN_KID_REFETCH_INTERVAL) {
            return None;
        }
        *last = Some(Instant::now());
        match self.refresh().await {
            Ok(keys) => Some(keys),
            Err(e) => {
                warn!(error = %e, "hook oauth: JWKS refetch for an unknown kid failed; cached keys kept");
                None
            }
        }
    }

    /// Refreshes forever: every [`REFRESH_INTERVAL`], or every
    /// [`RETRY_INTERVAL`] while nothing was ever fetched. The caller aborts it.
    pub async fn run_refresher(self: Arc<Self>) {
        loop {
            let wait = if self.ever_fetched() {
                REFRESH_INTERVAL
            } else {
                RETRY_INTERVAL
            };
            tokio::time::sleep(wait).await;
            if let Err(e) = self.refresh().await {
                warn!(error = %e, "hook oauth: JWKS refresh failed; cached keys kept");
            }
        }
    }

    fn known_jwks_url(&self) -> Option<Url> {
        self.configured_url
            .clone()
            .or_else(|| self.cached.read().ok().and_then(|c| c.jwks_url.clone()))
    }

    /// RFC 8414 metadata: its `issuer` must be ours, its `jwks_uri` allowed.
    async fn discover(&self) -> Result<Url, JwksError> {
        let meta = format!("{}/.well-known/oauth-authorization-server", self.issuer);
        let meta_url = Url::parse(&meta).map_err(|e| JwksError::Document {
            url: meta.clone(),
            message: e.to_string(),
        })?;
        let body = self.get(&meta_url).await?;
        #[derive(serde::Deserialize)]
        struct Metadata {
            issuer: String,
            jwks_uri: String,
        }
        let doc = |message: String| JwksError::Document {
            url: meta.clone(),
            message,
        };
        let m: Metadata = serde_json::from_slice(&body)
            .map_err(|e| doc(format!("not authorization server metadata: {e}")))?;
        if m.issuer.trim_end_matches('/') != self.issuer {
            return Err(doc(format!(
                "metadata names issuer {:?}, not the configured one",
                m.issuer
            )));
        }
        Url::parse(&m.jwks_uri).map_err(|e| doc(format!("jwks_uri: {e}")))
    }

    async fn get(&self, url: &Url) -> Result<Vec<u8>, JwksError> {
        if !is_allowed_url(url) {
            return Err(JwksError::Insecure(url.to_string()));
        }
        let fetch = |e: reqwest::Error| JwksError::Fetch {
            url: url.to_string(),
            message: e.without_url().to_string(),
        };
        let mut response = self
            .http
            .get(url.clone())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(fetch)?;
        if !response.status().is_success() {
            return Err(JwksError::Status {
                url: url.to_string(),
                status: response.status().as_u16(),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fetch)? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_DOCUMENT_BYTES {
                return Err(JwksError::Document {
                    url: url.to_string(),
                    message: format!("larger than {MAX_DOCUMENT_BYTES} bytes"),
                });
            }
        }
        Ok(body)
    }
}

/// `/readyz` check `jwks`: up once a key set was fetched (cached keys keep
/// it up while the issuer is unreachable).
pub struct JwksReady(pub Arc<Jwks>);

impl ReadinessCheck for JwksReady {
    fn name(&self) -> &'static str {
        "jwks"
    }

    fn check(&self) -> BoxFuture<'_, bool> {
        Box::pin(async move { self.0.ever_fetched() })
    }
}
