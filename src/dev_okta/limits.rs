//! Middleware of the stand-in: per-bucket rate limits with `X-Rate-Limit-*`
//! headers on every answer, injected faults, and SSWS token checks.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::state::{bump, Org, Window};

/// Budget advertised when rate limiting is off.
const UNLIMITED_BUDGET: u32 = 100_000_000;
/// Window advertised when rate limiting is off (Okta's windows are a minute).
const DEFAULT_WINDOW: Duration = Duration::from_secs(60);

/// Okta keeps one budget per endpoint; the stand-in groups paths the same way.
fn bucket_of(method: &Method, path: &str) -> String {
    let path = path.trim_end_matches('/');
    if path.starts_with("/api/v1/inlineHooks") {
        return "/api/v1/inlineHooks".to_owned();
    }
    if path.starts_with("/api/v1/eventHooks") {
        return "/api/v1/eventHooks".to_owned();
    }
    if path.starts_with("/api/v1/users/") {
        return format!("{method} /api/v1/users/{{id}}");
    }
    format!("{method} {path}")
}

/// What the rate limiter decided for one request.
struct Admission {
    allowed: bool,
    limit: u32,
    remaining: u32,
    reset_epoch: u64,
}

impl Org {
    fn admit(&self, bucket: String) -> Admission {
        let limit = self.runtime.lock().ok().and_then(|rt| rt.rate_limit);
        let (budget, window_len) = match limit {
            Some(l) => (l.budget, l.window),
            None => (UNLIMITED_BUDGET, DEFAULT_WINDOW),
        };
        let now = Instant::now();
        let (used, reset_epoch) = match self.windows.lock() {
            Ok(mut windows) => {
                let w = windows
                    .entry(bucket)
                    .or_insert_with(|| new_window(now, window_len));
                if now >= w.ends {
                    // Windows start with the first request after a reset, not
                    // on wall-clock minutes (protocol §5.3).
                    *w = new_window(now, window_len);
                }
                if limit.is_some() {
                    w.used = w.used.saturating_add(1);
                }
                (w.used, w.reset_epoch)
            }
            Err(_) => (0, 0),
        };
        Admission {
            allowed: used <= budget,
            limit: budget,
            remaining: budget.saturating_sub(used),
            reset_epoch,
        }
    }
}

/// A window starting now. Windows of whole seconds start on a whole second
/// of the epoch, so the whole-second `X-Rate-Limit-Reset` header is exact
/// (Okta's real windows are a minute long, where a second does not matter;
/// tests scale windows down to a second or two, where it would).
fn new_window(now: Instant, len: Duration) -> Window {
    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    if len.subsec_nanos() == 0 {
        let into_second = Duration::from_nanos(u64::from(epoch.subsec_nanos()));
        return Window {
            ends: now + len.saturating_sub(into_second),
            reset_epoch: epoch.as_secs() + len.as_secs(),
            used: 0,
        };
    }
    let reset = epoch + len;
    Window {
        ends: now + len,
        // Round up: a client waiting until the advertised second never
        // arrives before the real reset.
        reset_epoch: reset.as_secs() + u64::from(reset.subsec_nanos() > 0),
        used: 0,
    }
}

/// Counts the request, answers 429 `E0000047` when its bucket's budget is
/// spent, and puts `X-Rate-Limit-*` on every answer.
pub(crate) async fn rate_limit(State(org): State<Arc<Org>>, req: Request, next: Next) -> Response {
    bump(&org.counters.requests);
    if req.uri().path().starts_with("/__dev") {
        return next.run(req).await;
    }
    let admission = org.admit(bucket_of(req.method(), req.uri().path()));
    let mut response = if admission.allowed {
        next.run(req).await
    } else {
        bump(&org.counters.rate_limited);
        ApiError::rate_limited().into_response()
    };
    let headers = response.headers_mut();
    headers.insert("x-rate-limit-limit", HeaderValue::from(admission.limit));
    headers.insert(
        "x-rate-limit-remaining",
        HeaderValue::from(admission.remaining),
    );
    headers.insert(
        "x-rate-limit-reset",
        HeaderValue::from(admission.reset_epoch),
    );
    response
}

/// Rolls the fault dice for a management call: slow answer, 500 before
/// doing anything, or 504 after doing the work.
pub(crate) async fn inject_faults(
    State(org): State<Arc<Org>>,
    req: Request,
    next: Next,
) -> Response {
    if req.uri().path().starts_with("/__dev") {
        return next.run(req).await;
    }
    let (slow, fail_before, fail_after) = match org.runtime.lock() {
        Ok(mut rt) => {
            let f = rt.faults;
            let slow = f.slow_rate > 0.0 && rt.dice.gen_bool(f.slow_rate.clamp(0.0, 1.0));
            let before = f.error_rate > 0.0 && rt.dice.gen_bool(f.error_rate.clamp(0.0, 1.0));
            let after =
                f.error_after_rate > 0.0 && rt.dice.gen_bool(f.error_after_rate.clamp(0.0, 1.0));
            (slow.then_some(f.slow_delay), before, after)
        }
        Err(_) => (None, false, false),
    };
    if let Some(delay) = slow {
        bump(&org.counters.slowed);
        tokio::time::sleep(delay).await;
    }
    if fail_before {
        bump(&org.counters.injected_errors);
        return ApiError::internal().into_response();
    }
    let response = next.run(req).await;
    if fail_after {
        bump(&org.counters.injected_after_errors);
        return (
            StatusCode::GATEWAY_TIMEOUT,
            [(CONTENT_TYPE, "text/html")],
            "<html><body>504 Gateway Time-out</body></html>",
        )
            .into_response();
    }
    response
}

/// Requires `Authorization: SSWS <token>`; otherwise 401 `E0000011`.
pub(crate) async fn require_token(
    State(org): State<Arc<Org>>,
    req: Request,
    next: Next,
) -> Response {
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("SSWS "))
        .unwrap_or("");
    let expected = org.token.expose_secret().as_bytes();
    let ok = presented.len() == expected.len()
        && bool::from(presented.as_bytes().ct_eq(expected))
        && !expected.is_empty();
    if !ok {
        bump(&org.counters.unauthorized);
        return ApiError::invalid_token().into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_okta_endpoint_families() {
        assert_eq!(
            bucket_of(&Method::POST, "/api/v1/users"),
            "POST /api/v1/users"
        );
        assert_eq!(
            bucket_of(&Method::GET, "/api/v1/users/a@b.c"),
            "GET /api/v1/users/{id}"
        );
        assert_eq!(
            bucket_of(&Method::DELETE, "/api/v1/inlineHooks/cal1"),
            "/api/v1/inlineHooks"
        );
    }
}
