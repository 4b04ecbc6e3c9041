//! The HTTP side of the Okta client: SSWS authentication, org URL policy,
//! rate-limit pacing from `X-Rate-Limit-*`, waiting out 429s, and retrying
//! 5xx/network failures with capped exponential backoff and jitter.
//!
//! The token lives in a [`SecretString`] and is exposed only while building
//! the `Authorization` header, which is marked sensitive so `http`'s `Debug`
//! hides it too.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, DATE};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;

use super::error::{OktaError, OktaErrorBody, Result};

/// Header with the bucket's request budget.
const LIMIT_HEADER: &str = "x-rate-limit-limit";
/// Header with the requests left in the current window.
const REMAINING_HEADER: &str = "x-rate-limit-remaining";
/// Header with the window's reset time, UTC epoch seconds.
const RESET_HEADER: &str = "x-rate-limit-reset";
/// Beyond this difference between our clock and Okta's `Date`, reset times
/// are measured against Okta's clock instead of ours.
const MAX_CLOCK_SKEW: Duration = Duration::from_secs(2);
/// Longest wait honoured for one reset, whatever the header says.
const MAX_RESET_WAIT: Duration = Duration::from_secs(120);

/// How the client retries and paces.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after a 5xx answer or a network failure (not counting 429 waits).
    pub max_retries: u32,
    /// First backoff step; doubled per retry.
    pub base_delay: Duration,
    /// Ceiling of one backoff step.
    pub max_delay: Duration,
    /// How many 429 answers in a row are waited out before giving up.
    pub max_rate_limit_waits: u32,
    /// Upper bound of the random delay added after a reset time, so waiting
    /// workers do not all fire at the same instant.
    pub reset_jitter: Duration,
    /// Requests of each window left unused, as headroom for other clients of
    /// the same org.
    pub reserve: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 6,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(20),
            max_rate_limit_waits: 30,
            reset_jitter: Duration::from_millis(250),
            reserve: 0,
        }
    }
}

/// Everything needed to talk to one org.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://{yourOktaDomain}`; http only for loopback addresses.
    pub org_url: Url,
    /// The API token (sent as `Authorization: SSWS <token>`).
    pub token: SecretString,
    /// Retry and pacing policy.
    pub retry: RetryPolicy,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
}

impl ClientConfig {
    /// A config with the default policy and a 30 s request timeout.
    pub fn new(org_url: Url, token: SecretString) -> Self {
        Self {
            org_url,
            token,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Checks the org URL policy: `https`, or `http` to a loopback address
/// (`127.0.0.0/8`, `::1`, `localhost`) so tests can use a local stand-in.
///
/// # Errors
/// [`OktaError::InvalidOrgUrl`] naming the rule that failed.
pub fn check_org_url(url: &Url) -> Result<()> {
    match url.scheme() {
        "https" => {}
        "http" if crate::net::is_loopback_host(url) => {}
        "http" => {
            return Err(OktaError::InvalidOrgUrl(format!(
                "{url} uses http; Okta org URLs must be https (http is accepted only for loopback addresses)"
            )))
        }
        other => {
            return Err(OktaError::InvalidOrgUrl(format!(
                "{url} has scheme {other:?}; expected https"
            )))
        }
    }
    if url.host().is_none() {
        return Err(OktaError::InvalidOrgUrl(format!("{url} has no host")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(OktaError::InvalidOrgUrl(
            "the org URL must not carry credentials; the token comes from OKTA_API_TOKEN".into(),
        ));
    }
    Ok(())
}

/// Counters for the import report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ClientStats {
    /// HTTP requests sent (every attempt counts).
    pub requests: u64,
    /// Attempts that repeated an earlier one (after 429, 5xx or a network error).
    pub retries: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    /// 5xx answers received.
    pub server_errors: u64,
    /// Network failures (connect, reset, timeout).
    pub network_errors: u64,
    /// Requests that were held back by the pacer before being sent.
    pub paced: u64,
    /// Total time requests spent held back by the pacer, in milliseconds.
    pub paced_wait_ms: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    server_errors: AtomicU64,
    network_errors: AtomicU64,
    paced: AtomicU64,
    paced_wait_ms: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> ClientStats {
        ClientStats {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            server_errors: self.server_errors.load(Ordering::Relaxed),
            network_errors: self.network_errors.load(Ordering::Relaxed),
            paced: self.paced.load(Ordering::Relaxed),
            paced_wait_ms: self.paced_wait_ms.load(Ordering::Relaxed),
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The last rate-limit state seen for one bucket, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSnapshot {
    /// `X-Rate-Limit-Limit`.
    pub limit: u32,
    /// Requests we may still send in this window (our own count, which also
    /// subtracts requests in flight).
    pub remaining: u32,
    /// Time until the window resets.
    pub resets_in: Duration,
}

/// Parsed `X-Rate-Limit-*` headers of one answer.
#[derive(Debug, Clone, Copy)]
struct RateHeaders {
    limit: u32,
    remaining: u32,
    /// When the window resets, on our monotonic clock.
    reset_at: Instant,
}

impl RateHeaders {
    fn parse(headers: &HeaderMap) -> Option<Self> {
        fn num<T: std::str::FromStr>(headers: &HeaderMap, name: &str) -> Option<T> {
            headers.get(name)?.to_str().ok()?.trim().parse().ok()
        }
        let limit = num::<u32>(headers, LIMIT_HEADER)?;
        let remaining = num::<u32>(headers, REMAINING_HEADER)?;
        let reset_epoch = num::<u64>(headers, RESET_HEADER)?;
        let server_now = headers
            .get(DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date);
        Some(Self {
            limit,
            remaining,
            reset_at: Instant::now() + until_reset(reset_epoch, server_now, SystemTime::now()),
        })
    }
}

/// Time from now until `reset_epoch`. Our clock is more precise than the
/// whole-second `Date` header, so it is used unless it disagrees with Okta's
/// by more than [`MAX_CLOCK_SKEW`].
fn until_reset(reset_epoch: u64, server_now: Option<u64>, local_now: SystemTime) -> Duration {
    let reset = UNIX_EPOCH + Duration::from_secs(reset_epoch);
    let local = reset.duration_since(local_now).unwrap_or_default();
    let wait = match server_now {
        Some(server) => {
            let local_secs = local_now
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            if local_secs.abs_diff(server) > MAX_CLOCK_SKEW.as_secs() {
                Duration::from_secs(reset_epoch.saturating_sub(server))
            } else {
                local
            }
        }
        None => local,
    };
    wait.min(MAX_RESET_WAIT)
}

/// Parses an HTTP `Date` header (IMF-fixdate) into epoch seconds.
fn parse_http_date(value: &str) -> Option<u64> {
    let parsed =
        time::OffsetDateTime::parse(value.trim(), &time::format_description::well_known::Rfc2822)
            .ok()?;
    u64::try_from(parsed.unix_timestamp()).ok()
}

/// Paced slots closer than this go at once (see [`Pacer::decide`]).
const MIN_PACED_SLEEP: Duration = Duration::from_millis(2);
/// How often a request held back without a known reset time looks again.
const RECHECK: Duration = Duration::from_millis(25);

/// Pacing state of one rate-limit bucket's current window.
#[derive(Debug)]
struct Window {
    limit: u32,
    /// Requests we may still start in this window.
    remaining: u32,
    /// When the window resets; `None` while provisional (a new window has
    /// begun but no answer has told us its reset time yet).
    reset_at: Option<Instant>,
    /// Earliest start of the next request, spreading the remaining budget
    /// evenly over the time left instead of bursting and then stalling.
    next_slot: Instant,
}

#[derive(Debug, Default)]
struct Bucket {
    window: Option<Window>,
    in_flight: u32,
    /// The last answer carried no rate-limit headers: do not pace.
    unpaced: bool,
    /// The budget of the last window seen, used for the next one.
    last_limit: Option<u32>,
}

/// What the pacer tells a request.
enum Decision {
    /// Send now.
    Go,
    /// Send after this delay (a paced slot).
    GoAfter(Duration),
    /// The budget is spent (or unknown): sleep, then ask again.
    Wait(Duration),
}

/// Client-side pacing per bucket, from the `X-Rate-Limit-*` headers.
///
/// Until the first answer only one request goes out (the probe), so a large
/// `--concurrency` cannot burst past an unknown budget. Within a known window
/// the remaining budget is spread evenly until the reset. When a window
/// resets, the next one is assumed to have the same budget until an answer
/// gives its reset time, so waiting workers do not all fire at once.
#[derive(Debug)]
struct Pacer {
    buckets: Mutex<HashMap<&'static str, Bucket>>,
    reserve: u32,
    jitter: Duration,
}

impl Pacer {
    fn new(reserve: u32, jitter: Duration) -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            reserve,
            jitter,
        }
    }

    fn jitter(&self, max: Duration) -> Duration {
        let max = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
        if max == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(rand::thread_rng().gen_range(0..=max))
    }

    fn decide(&self, bucket: &'static str) -> Decision {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Decision::Go;
        };
        let state = buckets.entry(bucket).or_default();
        let now = Instant::now();
        // A window whose reset has passed becomes a provisional new one.
        if let Some(w) = &state.window {
            if w.reset_at.is_some_and(|r| now >= r) {
                state.window = None;
            }
        }
        if state.window.is_none() {
            match state.last_limit {
                Some(limit) => {
                    state.window = Some(Window {
                        limit,
                        remaining: limit.saturating_sub(state.in_flight),
                        reset_at: None,
                        next_slot: now,
                    });
                }
                // No budget known yet: one probe at a time until an answer
                // tells it; if answers carry no headers, do not pace at all.
                None if state.unpaced || state.in_flight == 0 => {
                    state.in_flight += 1;
                    return Decision::Go;
                }
                None => return Decision::Wait(RECHECK + self.jitter(RECHECK)),
            }
        }
        let reserve = self.reserve;
        let idle = state.in_flight == 0;
        let Some(w) = state.window.as_mut() else {
            return Decision::Go;
        };
        let decision = if w.remaining <= reserve {
            match w.reset_at {
                Some(reset) => {
                    Decision::Wait(reset.saturating_duration_since(now) + self.jitter(self.jitter))
                }
                // A provisional window with no budget left and nothing in
                // flight would never learn its real budget: send one probe.
                None if idle => Decision::Go,
                None => Decision::Wait(RECHECK + self.jitter(RECHECK)),
            }
        } else {
            let usable = w.remaining - reserve;
            w.remaining -= 1;
            match w.reset_at {
                None => Decision::Go,
                Some(reset) => {
                    let interval = reset.saturating_duration_since(now) / usable.max(1);
                    let slot = w.next_slot.max(now);
                    w.next_slot = slot + interval;
                    // Sub-millisecond sleeps round up to the timer's tick and
                    // would throttle a generous budget; the slot schedule still
                    // advances, so real pacing starts once it runs ahead.
                    if slot > now + MIN_PACED_SLEEP {
                        Decision::GoAfter(slot - now)
                    } else {
                        Decision::Go
                    }
                }
            }
        };
        if !matches!(decision, Decision::Wait(_)) {
            state.in_flight += 1;
        }
        decision
    }

    /// Waits for a slot in `bucket`; returns how long it waited.
    async fn acquire(&self, bucket: &'static str) -> Duration {
        let started = Instant::now();
        loop {
            match self.decide(bucket) {
                Decision::Go => break,
                Decision::GoAfter(d) => {
                    tokio::time::sleep(d).await;
                    break;
                }
                Decision::Wait(d) => tokio::time::sleep(d).await,
            }
        }
        started.elapsed()
    }

    /// Records the answer to a request that [`Pacer::acquire`] let through.
    fn observe(&self, bucket: &'static str, headers: Option<RateHeaders>, rate_limited: bool) {
        let Ok(mut buckets) = self.buckets.lock() else {
            return;
        };
        let state = buckets.entry(bucket).or_default();
        state.in_flight = state.in_flight.saturating_sub(1);
        state.unpaced = headers.is_none();
        let Some(h) = headers else { return };
        // Concurrency 429s carry limit 0 (protocol §5.3): not a window budget.
        if h.limit > 0 {
            state.last_limit = Some(h.limit);
        }
        let now = Instant::now();
        if h.reset_at <= now {
            return; // a late answer from a window that is already over
        }
        // The server has not yet counted the other requests we have in flight.
        let remaining = if rate_limited {
            0
        } else {
            h.remaining.saturating_sub(state.in_flight)
        };
        match state.window.as_mut() {
            Some(w) if w.reset_at.is_none() => {
                w.remaining = w.remaining.min(remaining);
                w.limit = h.limit;
                w.reset_at = Some(h.reset_at);
            }
            // Same window (reset times from whole-second headers can differ by
            // a rounding step): keep the lower count.
            Some(w)
                if w.reset_at
                    .is_some_and(|r| h.reset_at <= r + Duration::from_millis(1500)) =>
            {
                w.remaining = w.remaining.min(remaining);
                w.limit = h.limit;
                w.reset_at = w.reset_at.map(|r| r.max(h.reset_at));
            }
            _ => {
                state.window = Some(Window {
                    limit: h.limit,
                    remaining,
                    reset_at: Some(h.reset_at),
                    next_slot: now,
                });
            }
        }
    }

    /// Releases a slot after a failure with no answer (network error).
    fn release(&self, bucket: &'static str) {
        if let Ok(mut buckets) = self.buckets.lock() {
            let state = buckets.entry(bucket).or_default();
            state.in_flight = state.in_flight.saturating_sub(1);
        }
    }

    fn snapshot(&self, bucket: &'static str) -> Option<RateLimitSnapshot> {
        let buckets = self.buckets.lock().ok()?;
        let w = buckets.get(bucket)?.window.as_ref()?;
        Some(RateLimitSnapshot {
            limit: w.limit,
            remaining: w.remaining,
            resets_in: w
                .reset_at
                .map(|r| r.saturating_duration_since(Instant::now()))
                .unwrap_or_default(),
        })
    }
}

/// Client for one Okta org. Cheap to clone; clones share pacing and counters.
#[derive(Clone)]
pub struct OktaClient {
    base: Url,
    token: SecretString,
    http: reqwest::Client,
    policy: RetryPolicy,
    pacer: Arc<Pacer>,
    counters: Arc<Counters>,
}

impl fmt::Debug for OktaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OktaClient")
            .field("org", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// Answer body of a successful call.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: axum::body::Bytes,
}

impl OktaClient {
    /// Builds a client after checking the org URL policy.
    ///
    /// # Errors
    /// [`OktaError::InvalidOrgUrl`] or [`OktaError::Build`].
    pub fn new(config: ClientConfig) -> Result<Self> {
        check_org_url(&config.org_url)?;
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            // Never carry the SSWS header to another host, and never trust a
            // redirect on a management call.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("passbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(OktaError::Build)?;
        let mut base = config.org_url;
        base.set_path("");
        base.set_query(None);
        base.set_fragment(None);
        Ok(Self {
            base,
            token: config.token,
            http,
            pacer: Arc::new(Pacer::new(config.retry.reserve, config.retry.reset_jitter)),
            policy: config.retry,
            counters: Arc::new(Counters::default()),
        })
    }

    /// The same client (same connection pool, pacer and counters) that
    /// never repeats a request after a 5xx or a network failure: for calls
    /// that are not idempotent, whose caller checks the outcome instead.
    /// 429s are still waited out (Okta did nothing).
    pub fn without_retries(&self) -> Self {
        let mut client = self.clone();
        client.policy.max_retries = 0;
        client
    }

    /// The org URL this client talks to.
    pub fn org_url(&self) -> &Url {
        &self.base
    }

    /// Request, retry and pacing counters so far.
    pub fn stats(&self) -> ClientStats {
        self.counters.snapshot()
    }

    /// The last rate-limit state seen for `bucket` (`"users.create"`, ...).
    pub fn rate_limit(&self, bucket: &'static str) -> Option<RateLimitSnapshot> {
        self.pacer.snapshot(bucket)
    }

    /// `base` + `/api/v1/` + the given path segments (each percent-encoded).
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.clear().push("api").push("v1");
            for s in segments {
                path.push(s);
            }
        }
        url
    }

    fn auth_header(&self) -> Result<HeaderValue> {
        let mut value = HeaderValue::from_str(&format!("SSWS {}", self.token.expose_secret()))
            .map_err(|_| {
                OktaError::InvalidOrgUrl(
                    "the API token contains characters not allowed in an HTTP header".into(),
                )
            })?;
        value.set_sensitive(true);
        Ok(value)
    }

    fn backoff(&self, retry: u32) -> Duration {
        // Full jitter over a capped exponential step.
        let step = self
            .policy
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.min(16)))
            .min(self.policy.max_delay);
        let max = u64::try_from(step.as_millis()).unwrap_or(u64::MAX).max(1);
        Duration::from_millis(rand::thread_rng().gen_range(max / 2..=max))
    }

    /// Sends one logical request, pacing, waiting out 429s and retrying
    /// 5xx/network failures. Returns the 2xx answer.
    pub(crate) async fn send<B: Serialize + ?Sized>(
        &self,
        bucket: &'static str,
        method: Method,
        url: Url,
        body: Option<&B>,
    ) -> Result<Answer> {
        let mut failures = 0u32;
        let mut waits = 0u32;
        let mut first = true;
        loop {
            let waited = self.pacer.acquire(bucket).await;
            if waited > Duration::from_millis(1) {
                bump(&self.counters.paced);
                self.counters.paced_wait_ms.fetch_add(
                    u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                    Ordering::Relaxed,
                );
            }
            if !first {
                bump(&self.counters.retries);
            }
            first = false;
            bump(&self.counters.requests);
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header(AUTHORIZATION, self.auth_header()?)
                .header(ACCEPT, "application/json");
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    self.pacer.release(bucket);
                    bump(&self.counters.network_errors);
                    if failures < self.policy.max_retries && is_transient(&e) {
                        tracing::debug!(bucket, retry = failures + 1, "network error; retrying");
                        tokio::time::sleep(self.backoff(failures)).await;
                        failures += 1;
                        continue;
                    }
                    return Err(OktaError::Network(e.without_url()));
                }
            };
            let status = response.status();
            let rate = RateHeaders::parse(response.headers());
            self.pacer
                .observe(bucket, rate, status == StatusCode::TOO_MANY_REQUESTS);
            let body = match response.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    bump(&self.counters.network_errors);
                    if failures < self.policy.max_retries && status.is_server_error() {
                        tokio::time::sleep(self.backoff(failures)).await;
                        failures += 1;
                        continue;
                    }
                    return Err(OktaError::Network(e.without_url()));
                }
            };
            if status.is_success() {
                return Ok(Answer { status, body });
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                bump(&self.counters.rate_limited);
                if waits >= self.policy.max_rate_limit_waits {
                    return Err(OktaError::RateLimited { waits });
                }
                waits += 1;
                tracing::debug!(bucket, waits, "rate limited (429); waiting for the reset");
                if rate.is_none() {
                    // No reset time (some concurrency 429s): back off instead.
                    tokio::time::sleep(self.backoff(waits)).await;
                }
                // With a reset time the pacer now holds this bucket at zero
                // and the next `acquire` sleeps until the reset plus jitter.
                continue;
            }
            if status.is_server_error() {
                bump(&self.counters.server_errors);
                if failures < self.policy.max_retries {
                    tracing::debug!(bucket, %status, retry = failures + 1, "Okta server error; retrying");
                    tokio::time::sleep(self.backoff(failures)).await;
                    failures += 1;
                    continue;
                }
            }
            let error_body = serde_json::from_slice::<OktaErrorBody>(&body).unwrap_or_default();
            return Err(OktaError::Api {
                status: status.as_u16(),
                body: error_body,
            });
        }
    }

    /// [`Self::send`] and decode the JSON answer.
    pub(crate) async fn send_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        bucket: &'static str,
        method: Method,
        url: Url,
        body: Option<&B>,
    ) -> Result<T> {
        let answer = self.send(bucket, method, url, body).await?;
        serde_json::from_slice(&answer.body).map_err(|e| {
            OktaError::Decode(format!(
                "{} answer is not the documented JSON: {e}",
                answer.status
            ))
        })
    }
}

/// Failures worth another attempt: the request may never have arrived, or
/// the connection broke before an answer.
fn is_transient(e: &reqwest::Error) -> bool {
    e.is_timeout() || e.is_connect() || e.is_request() || e.is_body()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn org_url_must_be_https_unless_loopback() {
        assert!(check_org_url(&url("https://dev-1.okta.com")).is_ok());
        assert!(check_org_url(&url("http://127.0.0.1:8089")).is_ok());
        assert!(check_org_url(&url("http://127.3.4.5")).is_ok());
        assert!(check_org_url(&url("http://[::1]:9000")).is_ok());
        assert!(check_org_url(&url("http://localhost:9000")).is_ok());
        assert!(check_org_url(&url("http://dev-1.okta.com")).is_err());
        assert!(check_org_url(&url("http://10.0.0.1")).is_err());
        assert!(check_org_url(&url("http://localhost.evil.com")).is_err());
        assert!(check_org_url(&url("ftp://dev-1.okta.com")).is_err());
        assert!(check_org_url(&url("https://user:pw@dev-1.okta.com")).is_err());
    }

    #[test]
    fn urls_percent_encode_logins() {
        let client = OktaClient::new(ClientConfig::new(
            url("https://dev-1.okta.com/some/path?x=1"),
            SecretString::from("tok-SECRET-123"),
        ))
        .unwrap();
        let u = client.url(&["users", "a+b/c@example.com"]);
        assert_eq!(
            u.as_str(),
            "https://dev-1.okta.com/api/v1/users/a+b%2Fc@example.com"
        );
        assert!(!format!("{client:?}").contains("SECRET"));
    }

    #[test]
    fn http_dates_parse_and_reset_uses_server_clock_when_skewed() {
        // RFC 9110 §5.6.7 example date.
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        let local = UNIX_EPOCH + Duration::from_secs(1_000);
        // Clocks agree: our clock decides.
        assert_eq!(
            until_reset(1_030, Some(1_000), local),
            Duration::from_secs(30)
        );
        // Our clock is an hour behind Okta's: trust Okta's Date.
        assert_eq!(
            until_reset(4_630, Some(4_600), local),
            Duration::from_secs(30)
        );
        // A reset in the past is no wait; a huge one is capped.
        assert_eq!(until_reset(900, None, local), Duration::ZERO);
        assert_eq!(until_reset(100_000, None, local), MAX_RESET_WAIT);
    }

    fn headers(limit: u32, remaining: u32, reset_in: Duration) -> RateHeaders {
        RateHeaders {
            limit,
            remaining,
            reset_at: Instant::now() + reset_in,
        }
    }

    #[tokio::test]
    async fn pacer_probes_first_then_spreads_the_budget_and_waits_when_spent() {
        let pacer = Pacer::new(0, Duration::ZERO);
        // Unknown budget: the probe goes at once, a second request waits for its answer.
        assert!(pacer.acquire("b").await < Duration::from_millis(5));
        assert!(matches!(pacer.decide("b"), Decision::Wait(_)));
        pacer.observe("b", Some(headers(10, 2, Duration::from_millis(400))), false);
        // Two left over ~400 ms: the first goes now, the second is spread out.
        assert!(pacer.acquire("b").await < Duration::from_millis(5));
        pacer.observe("b", Some(headers(10, 1, Duration::from_millis(400))), false);
        let second = pacer.acquire("b").await;
        assert!(second >= Duration::from_millis(100), "{second:?}");
        pacer.observe("b", Some(headers(10, 0, Duration::from_millis(400))), false);
        // Spent: waits until the reset.
        let t = Instant::now();
        pacer.acquire("b").await;
        assert!(
            t.elapsed() >= Duration::from_millis(150),
            "{:?}",
            t.elapsed()
        );
        // After the reset the next window is assumed to have the same budget
        // (10): nine more go without waiting for an answer, the eleventh waits.
        for _ in 0..9 {
            assert!(matches!(pacer.decide("b"), Decision::Go));
        }
        assert!(matches!(pacer.decide("b"), Decision::Wait(_)));
        // Other buckets are independent.
        assert!(pacer.acquire("other").await < Duration::from_millis(5));
    }

    #[tokio::test]
    async fn without_headers_nothing_is_paced() {
        let pacer = Pacer::new(0, Duration::ZERO);
        pacer.acquire("b").await;
        pacer.observe("b", None, false);
        for _ in 0..5 {
            assert!(matches!(pacer.decide("b"), Decision::Go));
        }
    }

    #[tokio::test]
    async fn a_concurrency_429_with_zero_limit_does_not_stall() {
        let pacer = Pacer::new(0, Duration::ZERO);
        pacer.acquire("b").await;
        pacer.observe("b", Some(headers(0, 0, Duration::from_millis(100))), true);
        let t = Instant::now();
        pacer.acquire("b").await;
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
        // Only one probe at a time until an answer tells the budget.
        assert!(matches!(pacer.decide("b"), Decision::Wait(_)));
        pacer.observe("b", Some(headers(10, 9, Duration::from_millis(500))), false);
        assert!(matches!(pacer.decide("b"), Decision::Go));
    }

    #[tokio::test]
    async fn a_429_holds_the_bucket_until_reset() {
        let pacer = Pacer::new(0, Duration::ZERO);
        pacer.acquire("b").await;
        pacer.observe("b", Some(headers(10, 7, Duration::from_millis(300))), true);
        let t = Instant::now();
        pacer.acquire("b").await;
        assert!(t.elapsed() >= Duration::from_millis(250));
    }
}
