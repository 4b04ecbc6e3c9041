//! A local stand-in for an Okta org, for tests and demos (`passbridge dev okta`).
//!
//! It enforces the parts of Okta's contract passbridge relies on: SSWS
//! authentication, field-by-field validation of user-create bodies, duplicate
//! logins, `X-Rate-Limit-*` headers and 429s, the Inline Hooks API with its
//! one-password-import-hook rule, the `reset_password` lifecycle call (with
//! the emails it would send kept for tests), the Event Hooks API with its
//! verification call and `user.import.password` deliveries, and Okta's side of a sign-in (checking an
//! imported hash itself, or calling the password-import hook exactly as Okta
//! does and storing the password on `VERIFIED`). Faults (5xx, slow answers)
//! can be injected. It is not Okta: where Okta's behaviour is undocumented the
//! choice made is marked `[unverified]` in the code.
//!
//! Passwords typed at sign-in are never logged; once verified they are kept
//! only as the stand-in's own PBKDF2 hash.

mod authn;
mod authserver;
mod error;
mod event_hooks;
mod hook_store;
mod hooks;
pub mod keys;
mod lifecycle;
mod limits;
mod state;
mod users;

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use url::Url;

pub use event_hooks::EventDelivery;
pub use lifecycle::{EmailKind, SentEmail};
pub use state::{CredentialView, Stats, UserView};

/// Okta's inline-hook timeout (protocol §2.2).
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(3);

/// A request budget per window, per endpoint bucket (Okta: for example 100
/// or 600 per minute for `/api/v1/users`; tests scale the window down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub budget: u32,
    /// Window length.
    pub window: Duration,
}

impl FromStr for RateLimit {
    type Err = String;

    /// `100/min`, `600/60s`, `20/2s`, `5/500ms`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (budget, window) = s
            .split_once('/')
            .ok_or_else(|| format!("expected BUDGET/WINDOW such as 100/min, got {s:?}"))?;
        let budget: u32 = budget
            .trim()
            .parse()
            .map_err(|_| format!("budget {budget:?} is not a whole number"))?;
        let window = match window.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            other => humantime::parse_duration(other).map_err(|e| format!("window: {e}"))?,
        };
        if budget == 0 || window.is_zero() {
            return Err("budget and window must be positive".into());
        }
        Ok(Self { budget, window })
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}",
            self.budget,
            humantime::format_duration(self.window)
        )
    }
}

/// Faults injected into management API calls (`/api/v1/users…`, `/api/v1/inlineHooks…`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// Probability of answering 500 `E0000009` without doing anything.
    pub error_rate: f64,
    /// Probability of doing the work and then answering 504 with a non-JSON
    /// body, as a proxy timing out would: the retry then meets its own effect.
    pub error_after_rate: f64,
    /// Probability of delaying the answer by `slow_delay`.
    pub slow_rate: f64,
    /// Delay of a slow answer.
    pub slow_delay: Duration,
}

pub use crate::okta::Sha256Salt;

/// Stand-in settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The API token clients must send as `Authorization: SSWS <token>`.
    pub token: SecretString,
    /// Per-bucket budget; `None` = unlimited (headers still sent).
    pub rate_limit: Option<RateLimit>,
    /// Injected faults.
    pub faults: Faults,
    /// Timeout of one call to the password-import hook (Okta: 3 s).
    pub hook_timeout: Duration,
    /// Require `firstName`/`lastName`, as Okta's default user profile does.
    pub require_names: bool,
    /// Salt reading for imported `SHA-256` hashes.
    pub sha256_salt: Sha256Salt,
    /// Allow `http://` hook URIs on loopback addresses (Okta itself requires https).
    pub allow_http_loopback_hooks: bool,
    /// Seed of the fault-injection and event-delivery dice (`None` = random).
    pub seed: Option<u64>,
    /// How `user.import.password` events are delivered to event hooks.
    pub events: EventDelivery,
}

impl Config {
    /// Defaults: no rate limit, no faults, Okta's 3 s hook timeout, names required.
    pub fn new(token: SecretString) -> Self {
        Self {
            token,
            rate_limit: None,
            faults: Faults::default(),
            hook_timeout: HOOK_TIMEOUT,
            require_names: true,
            sha256_salt: Sha256Salt::default(),
            allow_http_loopback_hooks: true,
            seed: None,
            events: EventDelivery::default(),
        }
    }
}

/// A running stand-in. Dropping it stops the server.
pub struct StandIn {
    /// `http://127.0.0.1:<port>`: use as the org URL.
    pub base_url: Url,
    org: Arc<state::Org>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl fmt::Debug for StandIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StandIn")
            .field("base_url", &self.base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl StandIn {
    /// A user by login (case-insensitive) or id.
    pub fn user(&self, login_or_id: &str) -> Option<UserView> {
        self.org.user_view(login_or_id)
    }

    /// Every user, in creation order.
    pub fn users(&self) -> Vec<UserView> {
        self.org.all_users()
    }

    /// Number of users.
    pub fn user_count(&self) -> usize {
        self.org.user_count()
    }

    /// Every inline hook, as the API would return it.
    pub fn hooks(&self) -> Vec<crate::okta::InlineHook> {
        self.org.hook_views()
    }

    /// Every email sent so far (reset password), oldest first.
    pub fn emails(&self) -> Vec<SentEmail> {
        self.org.sent_emails()
    }

    /// Every event hook, as the API would return it.
    pub fn event_hooks(&self) -> Vec<crate::okta::EventHook> {
        self.org.event_hooks.views()
    }

    /// Event deliveries the event hooks answered with a 2xx.
    pub fn events_delivered(&self) -> u64 {
        self.org
            .event_hooks
            .delivered
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Request and fault counters.
    pub fn stats(&self) -> Stats {
        self.org.stats()
    }

    /// Changes the injected faults from now on.
    pub fn set_faults(&self, faults: Faults) {
        self.org.set_faults(faults);
    }

    /// Changes the rate limit from now on.
    pub fn set_rate_limit(&self, rate_limit: Option<RateLimit>) {
        self.org.set_rate_limit(rate_limit);
    }

    /// Issuer of the stand-in's authorization server (`{base}/oauth2/default`).
    pub fn oauth_issuer(&self) -> String {
        self.org.auth_server.issuer().to_owned()
    }

    /// Audience of its tokens.
    pub fn oauth_audience(&self) -> &'static str {
        authserver::AUDIENCE
    }

    /// A new signing key (the previous one stays published); returns its kid.
    ///
    /// # Errors
    /// Key generation failed.
    pub async fn rotate_keys(&self) -> Result<String, String> {
        self.org.auth_server.rotate().await
    }

    /// An access token as Okta's client-credentials grant would issue it.
    ///
    /// # Errors
    /// Key generation or signing failed.
    pub async fn mint_token(&self, client_id: &str, scope: Option<&str>) -> Result<String, String> {
        self.org.auth_server.mint(client_id, scope).await
    }

    /// Stops the server.
    pub fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts a stand-in on `127.0.0.1` with a free port, in the current runtime.
///
/// # Errors
/// Binding the port or building the hook client failed.
pub async fn spawn(config: Config) -> std::io::Result<StandIn> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let (tx, rx) = oneshot::channel::<()>();
    let (base_url, org, server) = bind(listener, config)?;
    tokio::spawn(async move {
        let _ = server
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    Ok(StandIn {
        base_url,
        org,
        shutdown: Some(tx),
    })
}

/// Serves a stand-in on `listener` until `shutdown` completes.
///
/// # Errors
/// Building the hook client failed, or the server failed.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    on_ready: impl FnOnce(&Url),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (base_url, _org, server) = bind(listener, config)?;
    on_ready(&base_url);
    server.with_graceful_shutdown(shutdown).await
}

type Server = axum::serve::Serve<
    TcpListener,
    axum::extract::connect_info::IntoMakeServiceWithConnectInfo<Router, SocketAddr>,
    axum::middleware::AddExtension<Router, axum::extract::ConnectInfo<SocketAddr>>,
>;

fn bind(listener: TcpListener, config: Config) -> std::io::Result<(Url, Arc<state::Org>, Server)> {
    let addr = listener.local_addr()?;
    let base_url = Url::parse(&format!("http://{addr}"))
        .map_err(|e| std::io::Error::other(format!("base URL: {e}")))?;
    let org = Arc::new(state::Org::new(config, base_url.clone()).map_err(std::io::Error::other)?);
    event_hooks::spawn_deliverer(&org);
    let app = router(org.clone());
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    );
    Ok((base_url, org, server))
}

/// All routes, with authentication, rate limiting and fault injection.
fn router(org: Arc<state::Org>) -> Router {
    let management = Router::new()
        .route("/api/v1/users", post(users::create))
        .route("/api/v1/users/{id}", get(users::get))
        .route(
            "/api/v1/users/{id}/lifecycle/reset_password",
            post(lifecycle::reset_password),
        )
        .route("/api/v1/inlineHooks", post(hooks::create).get(hooks::list))
        .route(
            "/api/v1/inlineHooks/{id}",
            get(hook_store::get::<state::HookRecord>)
                .put(hooks::replace)
                .delete(hook_store::delete::<state::HookRecord>),
        )
        .route(
            "/api/v1/inlineHooks/{id}/lifecycle/activate",
            post(hook_store::activate::<state::HookRecord>),
        )
        .route(
            "/api/v1/inlineHooks/{id}/lifecycle/deactivate",
            post(hook_store::deactivate::<state::HookRecord>),
        )
        .route("/api/v1/inlineHooks/{id}/execute", post(hooks::execute))
        .route(
            "/api/v1/eventHooks",
            post(event_hooks::create).get(event_hooks::list),
        )
        .route(
            "/api/v1/eventHooks/{id}",
            get(hook_store::get::<event_hooks::EventHookRecord>)
                .put(event_hooks::replace)
                .delete(hook_store::delete::<event_hooks::EventHookRecord>),
        )
        .route(
            "/api/v1/eventHooks/{id}/lifecycle/verify",
            post(event_hooks::verify),
        )
        .route(
            "/api/v1/eventHooks/{id}/lifecycle/activate",
            post(hook_store::activate::<event_hooks::EventHookRecord>),
        )
        .route(
            "/api/v1/eventHooks/{id}/lifecycle/deactivate",
            post(hook_store::deactivate::<event_hooks::EventHookRecord>),
        )
        .route("/__dev/users/{id}", get(users::dev_view))
        .route("/__dev/stats", get(users::dev_stats))
        .route("/__dev/emails", get(lifecycle::dev_emails))
        .route("/__dev/oauth/rotate-keys", post(authserver::rotate))
        .layer(axum::middleware::from_fn_with_state(
            org.clone(),
            limits::require_token,
        ))
        .layer(axum::middleware::from_fn_with_state(
            org.clone(),
            limits::inject_faults,
        ));
    Router::new()
        .route("/api/v1/authn", post(authn::sign_in))
        .route(
            "/oauth2/default/.well-known/oauth-authorization-server",
            get(authserver::metadata),
        )
        .route("/oauth2/default/v1/keys", get(authserver::jwks))
        .merge(management)
        .fallback(error::not_found_route)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            org.clone(),
            limits::rate_limit,
        ))
        .with_state(org)
}
