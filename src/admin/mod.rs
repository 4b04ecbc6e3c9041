//! The migration dashboard on the admin listener: `GET /admin` (an HTML
//! page, self-contained, refreshing itself) and `GET /admin/status.json`
//! (exactly the `passbridge status --json` document), plus the `/metrics`
//! gauges of the same figures. All of them read one [`Progress`] through
//! [`ProgressCache`], so a flood of requests runs the ledger queries at
//! most once per [`PROGRESS_TTL`].
//!
//! Access: with `PASSBRIDGE_ADMIN_TOKEN` set, `Authorization: Bearer
//! <token>` (compared in constant time; never a query parameter, since URLs
//! end up in logs); without it, loopback peers only, and anyone else gets
//! the same 404 as an unknown path. Never logs the token.

pub mod gauges;
mod page;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use secrecy::SecretString;
use tracing::warn;

use crate::hook::auth::HeaderAuth;
use crate::hook::error::HookError;
use crate::ledger::{Ledger, LedgerError, Progress};
use crate::metrics::Metrics;
use crate::server::PeerAddr;
use crate::state::AppState;

/// The shortest time computed figures are served before the ledger is asked
/// again (a failure is remembered as long, so a down ledger is not hammered
/// either); longer when the computation is slow, see [`ttl_after`].
pub const PROGRESS_TTL: Duration = Duration::from_secs(5);
/// How often the background task refreshes the `/metrics` gauges.
pub const GAUGE_REFRESH: Duration = Duration::from_secs(15);
/// How often the page reloads itself.
pub const PAGE_REFRESH_SECS: u32 = 30;

/// Why an admin request was refused (the `reason` label of
/// `passbridge_admin_refused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A token is configured and none was presented.
    MissingToken,
    /// A token is configured and another one was presented.
    WrongToken,
    /// No token is configured and the peer is not on loopback (or unknown).
    NotLoopback,
}

impl Refusal {
    /// Stable label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::WrongToken => "wrong_token",
            Self::NotLoopback => "not_loopback",
        }
    }
}

/// Who may see the dashboard.
pub enum AdminAccess {
    /// `Authorization: Bearer` with this token (kept as a digest).
    Token(HeaderAuth),
    /// No token configured: loopback peers only.
    LoopbackOnly,
}

impl AdminAccess {
    /// From `PASSBRIDGE_ADMIN_TOKEN`.
    pub fn new(token: Option<&SecretString>) -> Self {
        match token {
            Some(t) => HeaderAuth::new("authorization", std::slice::from_ref(t))
                .map_or(Self::LoopbackOnly, Self::Token),
            None => Self::LoopbackOnly,
        }
    }

    /// Whether a request with `headers` from `peer` may see the figures.
    ///
    /// # Errors
    /// The [`Refusal`].
    pub fn check(&self, headers: &HeaderMap, peer: Option<PeerAddr>) -> Result<(), Refusal> {
        match self {
            Self::Token(auth) => {
                let mut values = headers.get_all(header::AUTHORIZATION).iter();
                let presented = match (values.next(), values.next()) {
                    (None, _) => return Err(Refusal::MissingToken),
                    (Some(v), None) => v.as_bytes(),
                    (Some(_), Some(_)) => return Err(Refusal::WrongToken),
                };
                let token = presented
                    .strip_prefix(b"Bearer ")
                    .or_else(|| presented.strip_prefix(b"bearer "))
                    .ok_or(Refusal::WrongToken)?;
                if auth.accepts(token) {
                    Ok(())
                } else {
                    Err(Refusal::WrongToken)
                }
            }
            Self::LoopbackOnly => match peer {
                Some(PeerAddr(addr)) if addr.ip().to_canonical().is_loopback() => Ok(()),
                _ => Err(Refusal::NotLoopback),
            },
        }
    }
}

/// The figures, computed at most once per [`PROGRESS_TTL`] whatever the
/// number of callers (they wait for one computation, then share it).
pub struct ProgressCache {
    ledger: Ledger,
    metrics: Arc<Metrics>,
    slot: tokio::sync::Mutex<Option<Cached>>,
}

/// A computation's result, with how long it stays served.
struct Cached {
    at: Instant,
    ttl: Duration,
    result: Result<Arc<Progress>, String>,
}

/// At least [`PROGRESS_TTL`], and ten times what the computation took: the
/// ledger spends at most a tenth of its time on these figures, however
/// large the migration.
fn ttl_after(took: Duration) -> Duration {
    PROGRESS_TTL.max(took.saturating_mul(10))
}

impl ProgressCache {
    /// An empty cache over `ledger`.
    pub fn new(ledger: Ledger, metrics: Arc<Metrics>) -> Self {
        Self {
            ledger,
            metrics,
            slot: tokio::sync::Mutex::new(None),
        }
    }

    /// The figures, from the cache when fresh. Fresh figures also update
    /// the gauges.
    ///
    /// # Errors
    /// The ledger query failed or timed out (now or within the TTL); the
    /// text is the error's, which names no secret.
    pub async fn get(&self) -> Result<Arc<Progress>, String> {
        let mut slot = self.slot.lock().await;
        if let Some(cached) = slot.as_ref() {
            if cached.at.elapsed() < cached.ttl {
                return cached.result.clone();
            }
        }
        let started = Instant::now();
        let fresh = self.ledger.progress().await.map(Arc::new);
        let fresh = match fresh {
            Ok(p) => {
                self.metrics.progress.set(&p);
                Ok(p)
            }
            Err(e) => {
                self.metrics.progress.failed();
                warn!(error = %e, "cannot compute the migration progress from the ledger");
                Err(describe(&e))
            }
        };
        *slot = Some(Cached {
            at: Instant::now(),
            ttl: ttl_after(started.elapsed()),
            result: fresh.clone(),
        });
        fresh
    }

    /// Refreshes the gauges every [`GAUGE_REFRESH`] until aborted.
    pub async fn run_gauge_refresher(self: Arc<Self>) {
        // The first round after one period: the start is busy enough.
        let mut tick =
            tokio::time::interval_at(tokio::time::Instant::now() + GAUGE_REFRESH, GAUGE_REFRESH);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let _ = self.get().await;
        }
    }
}

fn describe(e: &LedgerError) -> String {
    match e {
        LedgerError::TimedOut => "the ledger did not answer in time".to_owned(),
        _ => "the ledger is unavailable".to_owned(),
    }
}

/// What the dashboard needs, in [`AppState`].
pub struct Admin {
    /// Who may see it.
    pub access: AdminAccess,
    /// The figures.
    pub progress: Arc<ProgressCache>,
}

impl Admin {
    /// From the admin token setting and the ledger.
    pub fn new(token: Option<&SecretString>, ledger: Ledger, metrics: Arc<Metrics>) -> Self {
        Self {
            access: AdminAccess::new(token),
            progress: Arc::new(ProgressCache::new(ledger, metrics)),
        }
    }
}

/// `/admin` and `/admin/status.json`, for the admin listener's router.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(dashboard))
        .route("/admin/status.json", get(status_json))
}

/// The refusal's answer, counted and logged once (never the presented value).
fn refuse(state: &AppState, refusal: Refusal) -> Response {
    state.metrics.progress.refused(refusal.as_str());
    match refusal {
        // Indistinguishable from an unknown path (logged by the middleware).
        Refusal::NotLoopback => HookError::NotFound.into_response(),
        Refusal::MissingToken | Refusal::WrongToken => {
            warn!(reason = refusal.as_str(), "admin request refused");
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                Json(serde_json::json!({ "error": "unauthorized" })),
            )
                .into_response()
        }
    }
}

/// The dashboard's figures (or why the ledger cannot give them), for a
/// caller the access rules let in; a rejection answers everyone else.
struct Authorized(Result<Arc<Progress>, String>);

impl FromRequestParts<AppState> for Authorized {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let peer = parts.extensions.get::<PeerAddr>().copied();
        state
            .admin
            .access
            .check(&parts.headers, peer)
            .map_err(|refusal| refuse(state, refusal))?;
        Ok(Self(state.admin.progress.get().await))
    }
}

fn private(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Inline CSS only: no script, no external resource of any kind.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
    );
    response
}

/// `GET /admin`.
async fn dashboard(Authorized(progress): Authorized) -> Response {
    let (status, html) = match progress {
        Ok(p) => (StatusCode::OK, page::render(&p, PAGE_REFRESH_SECS)),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            page::unavailable(&e, PAGE_REFRESH_SECS),
        ),
    };
    private((status, axum::response::Html(html)).into_response())
}

/// `GET /admin/status.json`.
async fn status_json(Authorized(progress): Authorized) -> Response {
    private(match progress {
        Ok(p) => Json(p.as_ref()).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "error": "ledger_unavailable", "message": e })),
        )
            .into_response(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(v) = auth {
            h.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(v).unwrap_or_else(|_| HeaderValue::from_static("x")),
            );
        }
        h
    }

    fn peer(addr: &str) -> Option<PeerAddr> {
        addr.parse().ok().map(PeerAddr)
    }

    #[test]
    fn slow_figures_are_kept_longer() {
        assert_eq!(ttl_after(Duration::from_millis(20)), PROGRESS_TTL);
        assert_eq!(ttl_after(Duration::from_secs(2)), Duration::from_secs(20));
    }

    #[test]
    fn a_token_is_needed_from_everywhere_when_set() {
        let token = SecretString::from("0123456789abcdef-admin".to_owned());
        let access = AdminAccess::new(Some(&token));
        let local = peer("127.0.0.1:5000");
        assert_eq!(
            access.check(
                &headers(Some("Bearer 0123456789abcdef-admin")),
                peer("203.0.113.9:1")
            ),
            Ok(())
        );
        assert_eq!(
            access.check(&headers(None), local),
            Err(Refusal::MissingToken)
        );
        assert_eq!(
            access.check(&headers(Some("Bearer 0123456789abcdef-admiN")), local),
            Err(Refusal::WrongToken)
        );
        assert_eq!(
            access.check(&headers(Some("0123456789abcdef-admin")), local),
            Err(Refusal::WrongToken),
            "the scheme is required"
        );
    }

    #[test]
    fn without_a_token_only_loopback_peers_get_in() {
        let access = AdminAccess::new(None);
        assert_eq!(access.check(&headers(None), peer("127.0.0.1:5000")), Ok(()));
        assert_eq!(access.check(&headers(None), peer("[::1]:5000")), Ok(()));
        assert_eq!(
            access.check(&headers(None), peer("[::ffff:127.0.0.1]:5000")),
            Ok(())
        );
        assert_eq!(
            access.check(&headers(None), peer("192.168.1.5:5000")),
            Err(Refusal::NotLoopback)
        );
        assert_eq!(
            access.check(&headers(Some("Bearer anything")), None),
            Err(Refusal::NotLoopback),
            "an unknown peer is not loopback"
        );
    }
}
