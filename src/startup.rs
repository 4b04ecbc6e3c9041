//! Builds the application from settings, binds the hook and admin listeners
//! (port 0 works, for tests), and runs until a shutdown signal, finishing
//! in-flight requests.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use secrecy::SecretString;
use serde_json::json;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::{error, info, warn};

use crate::config::Settings;
use crate::db::PoolSettings;
use crate::hook::auth::HookAuth;
use crate::hook::error::HookError;
use crate::hook::replay::ReplayCache;
use crate::hook::throttle::{Throttle, ThrottleLimits};
use crate::hook::verifier::Verifier;
use crate::ledger::{GroupCommit, Ledger, Spool};
use crate::legacy::LegacyDb;
use crate::metrics::Metrics;
use crate::readiness::{Probe, Readiness};
use crate::server::{ConnectionPolicy, Server};
use crate::state::AppState;
use crate::tls::Tls;

/// Connections the admin listener keeps open at once (it serves operators
/// and scrapers, not Okta).
const ADMIN_MAX_CONNECTIONS: usize = 64;

/// A built, bound, not yet running service.
pub struct Application {
    listener: TcpListener,
    admin_listener: TcpListener,
    state: AppState,
    probe: Probe,
    max_connections: usize,
    tls: Option<Tls>,
}

impl Application {
    /// Connects the databases, runs the ledger migrations, binds both ports
    /// and runs the first readiness probe.
    ///
    /// # Errors
    /// Invalid settings, a ledger that cannot be opened, or a port in use.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        settings.validate_for_serve().context("configuration")?;
        // Before anything binds: a bad certificate fails the start, named.
        let tls = match (&settings.tls_cert, &settings.tls_key) {
            (Some(cert), Some(key)) => {
                Some(Tls::load(cert, key).context("TLS certificate (tls_cert / tls_key)")?)
            }
            _ => None,
        };
        let max_connections = crate::server::raise_fd_limit(settings.http.max_connections);
        let state = build_state(settings).await?;
        let listener = bind(state.settings.listen, "--listen / PASSBRIDGE_LISTEN").await?;
        let admin_listener = bind(
            state.settings.admin_listen,
            "--admin-listen / PASSBRIDGE_ADMIN_LISTEN",
        )
        .await?;
        let probe = Probe::for_settings(
            &state.settings,
            state.readiness.clone(),
            state.metrics.clone(),
        )
        .context("readiness probe")?;
        let probe = match state.auth.oauth() {
            Some(oauth) => {
                // First fetch before the first probe; a failure leaves the
                // service unready (and every token refused), not stopped.
                if let Err(e) = oauth.jwks().refresh().await {
                    warn!(error = %e, "hook oauth: cannot fetch the issuer's signing keys yet");
                }
                probe.with_check(crate::hook::oauth::JwksReady(oauth.jwks().clone()))
            }
            None => probe,
        };
        probe.run_once().await;
        Ok(Self {
            listener,
            admin_listener,
            state,
            probe,
            max_connections,
            tls,
        })
    }

    /// Whether the hook listener serves HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The bound hook address (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.state.settings.listen)
    }

    /// The bound admin address (`/metrics`, `/readyz`, `/healthz`).
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_listener
            .local_addr()
            .unwrap_or(self.state.settings.admin_listen)
    }

    /// Shared state (tests read the ledger and metrics through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops accepting, closes idle
    /// and slow connections at once and gives in-flight requests
    /// `hook.shutdown_grace` to finish.
    ///
    /// # Errors
    /// A server task failed.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let settings = self.state.settings.clone();
        let grace = settings.hook.shutdown_grace;
        let metrics = self.state.metrics.clone();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut hook = Server::new(
            self.listener,
            router(self.state.clone()),
            ConnectionPolicy::new(&settings.http, self.max_connections),
            metrics.clone(),
            "hook",
        );
        let mut admin = Server::new(
            self.admin_listener,
            admin_router(self.state.clone()),
            ConnectionPolicy::new(&settings.http, ADMIN_MAX_CONNECTIONS),
            metrics.clone(),
            "admin",
        );
        let mut watcher = None;
        if let Some(tls) = self.tls {
            hook = hook.with_tls(tls.acceptor().clone());
            if settings.admin_tls {
                admin = admin.with_tls(tls.acceptor().clone());
            }
            watcher = Some(tokio::spawn(
                tls.watch(settings.tls_reload_interval, metrics),
            ));
        }
        let mut hook = tokio::spawn(hook.run(stop_rx.clone(), grace));
        let mut admin = tokio::spawn(admin.run(stop_rx, grace));
        let probe = tokio::spawn(self.probe.run());
        let gauges = tokio::spawn(self.state.admin.progress.clone().run_gauge_refresher());
        let jwks = self
            .state
            .auth
            .oauth()
            .map(|o| tokio::spawn(o.jwks().clone().run_refresher()));
        let early = tokio::select! {
            () = shutdown => None,
            r = &mut hook => Some(r),
            r = &mut admin => Some(r),
        };
        probe.abort();
        gauges.abort();
        if let Some(jwks) = &jwks {
            jwks.abort();
        }
        if let Some(watcher) = &watcher {
            watcher.abort();
        }
        if let Some(ended) = early {
            let _ = stop_tx.send(true);
            ended.context("server task")?;
            anyhow::bail!("a listener stopped unexpectedly");
        }
        info!("shutdown requested: no new connections, finishing in-flight requests");
        let _ = stop_tx.send(true);
        let (hook, admin) = tokio::join!(hook, admin);
        hook.context("hook server task")?;
        admin.context("admin server task")?;
        Ok(())
    }
}

async fn bind(addr: SocketAddr, how_to_change: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (set {how_to_change})"))
}

/// Connects everything the handlers need.
///
/// # Errors
/// The ledger cannot be opened or the legacy URL is unusable.
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    let legacy_url = settings
        .legacy
        .url
        .clone()
        .context("legacy.url is not set")?;
    let legacy = LegacyDb::connect(
        &legacy_url,
        settings.legacy.query.clone().unwrap_or_default(),
        settings.legacy.write_back.clone(),
        PoolSettings {
            max_connections: settings.legacy.max_connections,
            acquire_timeout: settings.legacy.connect_timeout,
        },
        settings.legacy.query_timeout,
    )
    .context("legacy database")?;
    let ledger_url = settings.ledger_url();
    let ledger = Ledger::connect(&ledger_url)
        .await
        .with_context(|| format!("ledger database {ledger_url} (set PASSBRIDGE_LEDGER_URL)"))?;
    let auth = HookAuth::from_settings(&settings.hook).context("hook authentication")?;
    let metrics = Metrics::new();
    let admin = Arc::new(crate::admin::Admin::new(
        settings.admin_token.as_ref(),
        ledger.clone(),
        Arc::clone(&metrics),
    ));
    let spool = Spool::open(settings.spool_dir(), Arc::clone(&metrics));
    spool.spawn_replayer(ledger.clone(), legacy.clone());
    let verifier = Verifier::new(&settings, Arc::clone(&metrics))?;
    let recorder = GroupCommit::spawn(ledger.clone(), Arc::clone(&metrics));
    Ok(AppState {
        verifier,
        throttle: Arc::new(Throttle::new(
            ledger.clone(),
            recorder.clone(),
            ThrottleLimits::from_settings(&settings.hook),
        )),
        replay: Arc::new(ReplayCache::new(settings.hook.replay_window)),
        settings: Arc::new(settings),
        legacy,
        recorder,
        ledger,
        spool,
        auth: Arc::new(auth),
        metrics,
        readiness: Readiness::new(),
        admin,
    })
}

/// What the hook listener serves: the hook and `/healthz`, nothing else.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(crate::hook::router())
        .merge(event_hook_routes(&state))
        .route("/healthz", get(healthz));
    with_middleware(routes, state)
}

/// The event hook's routes; a bad `event_hook.header` was refused by
/// `validate_for_serve`, so none here means none configured.
fn event_hook_routes(state: &AppState) -> Router<AppState> {
    crate::event_hook::router(state).unwrap_or_else(|e| {
        error!(error = %e, "event hook disabled: event_hook.header is not a header name");
        Router::new()
    })
}

/// What the admin listener serves: `/metrics`, `/readyz`, `/healthz`, and
/// the dashboard (`/admin`, `/admin/status.json`).
pub fn admin_router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(crate::admin::router());
    with_middleware(routes, state)
}

/// Wraps `routes` in passbridge's middleware: 404 fallback, body limit,
/// refusal logging, request ids, tracing and the catch-panic guard.
pub fn with_middleware(routes: Router<AppState>, state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let body_limit = state.settings.hook.max_body_bytes;
    routes
        .fallback(|| async { HookError::NotFound })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), log_refusals))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<Body>| {
                            let id = req
                                .headers()
                                .get("x-request-id")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("-");
                            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                        })
                        .on_failure(()),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(CatchPanicLayer::custom(|_panic: Box<dyn std::any::Any + Send>| {
                    error!("handler panicked; answered 500");
                    HookError::Internal.into_response()
                })),
        )
        .with_state(state)
}

/// Logs each refusal once, inside the request span, and counts it.
async fn log_refusals(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    if let Some(err) = response.extensions().get::<HookError>() {
        state.metrics.reject(err.code());
        match err {
            HookError::Internal => error!(code = err.code(), "request failed"),
            _ => warn!(
                code = err.code(),
                status = response.status().as_u16(),
                "request refused"
            ),
        }
    }
    response
}

/// `GET /healthz`: the process is alive.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the background probe's last result. Runs no query.
async fn readyz(State(state): State<AppState>) -> Response {
    let snapshot = state.readiness.snapshot();
    let status = if snapshot.ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = serde_json::Map::new();
    body.insert(
        "status".into(),
        json!(if snapshot.ready() { "ready" } else { "unready" }),
    );
    for (name, up) in &snapshot.checks {
        body.insert((*name).into(), json!(if *up { "up" } else { "down" }));
    }
    body.insert("checked_at".into(), json!(snapshot.checked_at));
    // Shown, not judged: a backlog drains by itself once the ledger is back.
    body.insert("spool_backlog".into(), json!(state.spool.backlog()));
    (status, Json(serde_json::Value::Object(body))).into_response()
}

/// `GET /metrics`: Prometheus text format.
async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// A fresh random hook secret (32 random bytes, Base64url): for `--demo` and `hook register`.
pub fn generate_secret() -> SecretString {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}
