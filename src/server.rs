//! The HTTP listeners: an accept loop on hyper's HTTP/1 connections with a
//! connection cap, accept-error back-off, per-connection header/body/idle
//! deadlines, and a shutdown that never waits for idle or slow peers.
//!
//! With TLS configured the handshake happens on the same slot and inside the
//! same `header_read_timeout` as the first request head: a slow handshake is
//! a slow-loris too.
//!
//! Why not hyper's own `header_read_timeout`: its timer starts as soon as a
//! kept-alive connection goes idle, so it would cap keep-alive at the header
//! timeout. Each connection here has a small watchdog instead, which knows
//! whether the peer is idle, sending a head, or has a request in flight.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::Router;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tracing::{debug, info, warn};

use crate::config::HttpSettings;
use crate::metrics::{ConnectionCloseLabels, ListenerLabels, Metrics};

/// When the request head had been read: the hook's budget clock starts here.
#[derive(Debug, Clone, Copy)]
pub struct RequestStarted(pub Instant);

/// The TCP peer of the connection a request came on, set by the accept loop
/// (a router driven without it, in unit tests, has no peer: treat as remote).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// File descriptors kept free for database pools, the spool, logs and the
/// admin listener when the connection cap is derived from the fd limit.
const FD_RESERVE: u64 = 128;

/// First and longest pause after a failed `accept`.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_millis(100);

/// While at the cap: how often connections are asked to shed, and how long a
/// connection may stay silent (after accept or after an answer) before it is
/// shed. Okta sends its request as soon as it has connected; a peer holding a
/// slot without a byte is not Okta.
const SHED_EVERY: Duration = Duration::from_millis(250);
const SHED_SILENT_AFTER: Duration = Duration::from_secs(1);

/// At most one "accept failed" log line per this interval.
const ACCEPT_LOG_EVERY: Duration = Duration::from_secs(10);

/// Raises the soft open-file limit to the hard limit, and returns the
/// connection cap that fits in it (`wanted`, or less with a warning).
pub fn raise_fd_limit(wanted: usize) -> usize {
    let limit = match rlimit::Resource::NOFILE.get() {
        Ok((soft, hard)) if soft < hard => {
            match rlimit::setrlimit(rlimit::Resource::NOFILE, hard, hard) {
                Ok(()) => hard,
                Err(e) => {
                    warn!(error = %e, soft, hard, "cannot raise the open-file limit");
                    soft
                }
            }
        }
        Ok((soft, _)) => soft,
        Err(e) => {
            warn!(error = %e, "cannot read the open-file limit");
            return wanted;
        }
    };
    let fits = usize::try_from(limit.saturating_sub(FD_RESERVE).max(1)).unwrap_or(usize::MAX);
    if wanted > fits {
        warn!(
            wanted,
            cap = fits,
            fd_limit = limit,
            "http.max_connections does not fit in the open-file limit; lowered"
        );
        fits
    } else {
        wanted
    }
}

/// How each connection is bounded.
#[derive(Debug, Clone)]
pub struct ConnectionPolicy {
    /// See [`HttpSettings::header_read_timeout`].
    pub header_read_timeout: Duration,
    /// See [`HttpSettings::body_read_timeout`].
    pub body_read_timeout: Duration,
    /// See [`HttpSettings::idle_timeout`].
    pub idle_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

impl ConnectionPolicy {
    /// The policy of `http`, with `max_connections` as given.
    pub fn new(http: &HttpSettings, max_connections: usize) -> Self {
        Self {
            header_read_timeout: http.header_read_timeout,
            body_read_timeout: http.body_read_timeout,
            idle_timeout: http.idle_timeout,
            max_connections: max_connections.max(1),
        }
    }
}

/// One listener and what it serves.
pub struct Server {
    listener: TcpListener,
    router: Router,
    policy: Arc<ConnectionPolicy>,
    metrics: Arc<Metrics>,
    name: &'static str,
    tls: Option<TlsAcceptor>,
}

impl Server {
    /// A server for `router` on the bound `listener`; `name` labels its metrics.
    pub fn new(
        listener: TcpListener,
        router: Router,
        policy: ConnectionPolicy,
        metrics: Arc<Metrics>,
        name: &'static str,
    ) -> Self {
        Self {
            listener,
            router,
            policy: Arc::new(policy),
            metrics,
            name,
            tls: None,
        }
    }

    /// Serves HTTPS with `acceptor` (plain HTTP without it).
    #[must_use]
    pub fn with_tls(mut self, acceptor: TlsAcceptor) -> Self {
        self.tls = Some(acceptor);
        self
    }

    /// Accepts until `stop` turns true, then closes idle and slow connections
    /// at once and gives requests in flight up to `grace`.
    ///
    /// At the cap no connection is accepted: new ones wait in the kernel's
    /// accept queue (Okta's connection survives) until a slot frees, which
    /// the timeouts guarantee within `header_read_timeout`. While at the cap,
    /// connections silent for [`SHED_SILENT_AFTER`] (new or kept-alive) are
    /// shed, so an idle flood frees slots in about a second.
    pub async fn run(self, stop: watch::Receiver<bool>, grace: Duration) {
        let slots = Arc::new(Semaphore::new(self.policy.max_connections));
        // Bumped when the cap is reached: kept-alive connections with no
        // request close, so waiting peers are not held up for idle_timeout.
        let (shed, shed_rx) = watch::channel(0u64);
        let mut connections = JoinSet::new();
        let mut backoff = ACCEPT_BACKOFF_MIN;
        let mut failures = AcceptLog::default();
        let labels = ListenerLabels {
            listener: self.name.to_owned(),
        };
        let mut stopped = stop.clone();
        let stopping = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        tokio::pin!(stopping);
        loop {
            if slots.available_permits() == 0 {
                shed.send_modify(|g| *g += 1);
            }
            let at_cap = slots.available_permits() == 0;
            let slot = tokio::select! {
                slot = slots.clone().acquire_owned() => slot,
                () = &mut stopping => break,
                Some(_) = connections.join_next() => continue,
                // Still at the cap: ask again, so connections that have
                // become silent for SHED_SILENT_AFTER since are shed too.
                () = tokio::time::sleep(SHED_EVERY), if at_cap => continue,
            };
            let Ok(slot) = slot else { break };
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                () = &mut stopping => break,
            };
            match accepted {
                Ok((stream, peer)) => {
                    backoff = ACCEPT_BACKOFF_MIN;
                    let _ = stream.set_nodelay(true);
                    let conn = Connection {
                        router: self.router.clone(),
                        policy: self.policy.clone(),
                        metrics: self.metrics.clone(),
                        name: self.name,
                        tls: self.tls.clone(),
                        peer: PeerAddr(peer),
                    };
                    let stop = stop.clone();
                    let shed = shed_rx.clone();
                    connections.spawn(async move {
                        conn.serve(stream, stop, shed).await;
                        drop(slot);
                    });
                }
                Err(e) if is_per_connection_error(&e) => {
                    debug!(error = %e, "accept: peer gone before accept");
                }
                Err(e) => {
                    // Out of descriptors or memory: retrying at once would spin
                    // a core; pause, and let timeouts free descriptors.
                    drop(slot);
                    self.metrics.accept_errors.get_or_create(&labels).inc();
                    failures.failed(self.name, &e);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                }
            }
        }
        drop(self.listener);
        info!(
            listener = self.name,
            open = connections.len(),
            "stopped accepting"
        );
        let drained = tokio::time::timeout(grace, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            warn!(
                listener = self.name,
                open = connections.len(),
                grace = ?grace,
                "requests still in flight after the shutdown grace; closing them"
            );
        }
        connections.shutdown().await;
    }
}

/// Errors about one half-open connection, not the listener.
fn is_per_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted
    )
}

/// Rate-limits the accept-failure log: one line per [`ACCEPT_LOG_EVERY`].
#[derive(Default)]
struct AcceptLog {
    last: Option<Instant>,
    suppressed: u64,
}

impl AcceptLog {
    fn failed(&mut self, listener: &str, e: &std::io::Error) {
        let due = self.last.is_none_or(|at| at.elapsed() >= ACCEPT_LOG_EVERY);
        if due {
            warn!(
                listener,
                error = %e,
                suppressed = self.suppressed,
                "accept failed; backing off (raise the open-file limit or lower http.max_connections)"
            );
            self.last = Some(Instant::now());
            self.suppressed = 0;
        } else {
            self.suppressed += 1;
        }
    }
}

/// Why the watchdog closed a connection.
#[derive(Debug, Clone, Copy)]
enum CloseReason {
    HeaderTimeout,
    IdleTimeout,
    Shed,
    Shutdown,
    TlsHandshake,
}

impl CloseReason {
    fn label(self) -> &'static str {
        match self {
            Self::HeaderTimeout => "header_timeout",
            Self::IdleTimeout => "idle_timeout",
            Self::Shed => "shed",
            Self::Shutdown => "shutdown",
            Self::TlsHandshake => "tls_handshake",
        }
    }
}

/// What a connection is doing, shared by its stream, its service and its watchdog.
/// Times are milliseconds since `opened`, plus one (0 means "not set").
struct Activity {
    opened: Instant,
    in_flight: AtomicUsize,
    requests: AtomicU64,
    idle_since: AtomicU64,
    head_started: AtomicU64,
    body_pending: AtomicBool,
    changed: Notify,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            head_started: AtomicU64::new(0),
            body_pending: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    fn stamp(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }

    fn at(&self, stamp: u64) -> Instant {
        self.opened + Duration::from_millis(stamp.saturating_sub(1))
    }

    /// Bytes arrived: the first since the last answer starts a head.
    fn on_read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0
            && self
                .head_started
                .compare_exchange(0, self.stamp(), Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.changed.notify_one();
        }
    }

    fn request_started(self: &Arc<Self>, has_body: bool) -> RequestGuard {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.requests.fetch_add(1, Ordering::AcqRel);
        self.body_pending.store(has_body, Ordering::Release);
        self.changed.notify_one();
        RequestGuard(self.clone())
    }

    /// Nothing would be lost by closing now: no request, or one still
    /// waiting for its body.
    fn is_quiet(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0 || self.body_pending.load(Ordering::Acquire)
    }

    /// No request and not a byte for at least `after`: since accept, or since
    /// the last answer on a kept-alive connection. Waiting that long makes a
    /// race with a client reusing the connection unlikely.
    fn is_sheddable(&self, after: Duration) -> bool {
        if self.in_flight.load(Ordering::Acquire) > 0
            || self.head_started.load(Ordering::Acquire) != 0
        {
            return false;
        }
        let quiet_since = match self.requests.load(Ordering::Acquire) {
            0 => self.opened,
            _ => self.at(self.idle_since.load(Ordering::Acquire)),
        };
        quiet_since.elapsed() >= after
    }

    /// When the connection must be closed if nothing changes, and why.
    fn deadline(&self, policy: &ConnectionPolicy) -> Option<(Instant, CloseReason)> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        if self.requests.load(Ordering::Acquire) == 0 {
            return Some((
                self.opened + policy.header_read_timeout,
                CloseReason::HeaderTimeout,
            ));
        }
        match self.head_started.load(Ordering::Acquire) {
            0 => Some((
                self.at(self.idle_since.load(Ordering::Acquire)) + policy.idle_timeout,
                CloseReason::IdleTimeout,
            )),
            started => Some((
                self.at(started) + policy.header_read_timeout,
                CloseReason::HeaderTimeout,
            )),
        }
    }
}

/// Marks the end of a request, however its future ends (answered or dropped).
struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let a = &self.0;
        a.idle_since.store(a.stamp(), Ordering::Release);
        a.head_started.store(0, Ordering::Release);
        a.body_pending.store(false, Ordering::Release);
        a.in_flight.fetch_sub(1, Ordering::AcqRel);
        a.changed.notify_one();
    }
}

/// One accepted connection.
struct Connection {
    router: Router,
    policy: Arc<ConnectionPolicy>,
    metrics: Arc<Metrics>,
    name: &'static str,
    tls: Option<TlsAcceptor>,
    peer: PeerAddr,
}

impl Connection {
    fn count_close(&self, reason: CloseReason) {
        self.metrics
            .connections_closed
            .get_or_create(&ConnectionCloseLabels {
                listener: self.name.to_owned(),
                reason: reason.label().to_owned(),
            })
            .inc();
        debug!(reason = reason.label(), "closing connection");
    }

    /// The TLS handshake, when configured, bounded by the first head's
    /// deadline and cut short by shutdown. `Err` names why the connection
    /// closed instead.
    async fn handshake(
        &self,
        stream: TcpStream,
        activity: &Activity,
        stop: &mut watch::Receiver<bool>,
        shed: &mut watch::Receiver<u64>,
    ) -> Result<MaybeTls, CloseReason> {
        let Some(acceptor) = &self.tls else {
            return Ok(MaybeTls::Plain(stream));
        };
        let deadline = activity.opened + self.policy.header_read_timeout;
        // Until its first byte a peer is as silent as an idle plain
        // connection, and is shed the same way at the cap.
        let mut first_byte = [0u8; 1];
        loop {
            tokio::select! {
                // `peek` waits for a byte (or EOF), not merely readiness.
                first = stream.peek(&mut first_byte) => {
                    if !matches!(first, Ok(n) if n > 0) {
                        return Err(CloseReason::TlsHandshake);
                    }
                    break;
                }
                () = tokio::time::sleep_until(deadline.into()) => return Err(CloseReason::HeaderTimeout),
                Ok(()) = shed.changed() => {
                    if activity.is_sheddable(SHED_SILENT_AFTER) {
                        return Err(CloseReason::Shed);
                    }
                }
                _ = stop.wait_for(|s| *s) => return Err(CloseReason::Shutdown),
            }
        }
        tokio::select! {
            done = tokio::time::timeout_at(deadline.into(), acceptor.accept(stream)) => match done {
                Ok(Ok(tls)) => Ok(MaybeTls::Tls(Box::new(tls))),
                Ok(Err(e)) => {
                    // Plain HTTP, an old protocol version or no shared suite:
                    // rustls has already sent its alert.
                    debug!(error = %e, "TLS handshake failed");
                    Err(CloseReason::TlsHandshake)
                }
                Err(_) => Err(CloseReason::HeaderTimeout),
            },
            _ = stop.wait_for(|s| *s) => Err(CloseReason::Shutdown),
        }
    }

    async fn serve(
        self,
        stream: TcpStream,
        mut stop: watch::Receiver<bool>,
        mut shed: watch::Receiver<u64>,
    ) {
        let activity = Arc::new(Activity::new());
        let open = self
            .metrics
            .connections_open
            .get_or_create(&ListenerLabels {
                listener: self.name.to_owned(),
            })
            .clone();
        open.inc();
        let stream = match self
            .handshake(stream, &activity, &mut stop, &mut shed)
            .await
        {
            Ok(stream) => stream,
            Err(reason) => {
                self.count_close(reason);
                open.dec();
                return;
            }
        };
        // Tracked above TLS: only request bytes count as activity.
        let io = TokioIo::new(TrackedStream {
            inner: stream,
            activity: activity.clone(),
        });
        let service = {
            let activity = activity.clone();
            let router = self.router.clone();
            let policy = self.policy.clone();
            let metrics = self.metrics.clone();
            let name = self.name;
            let peer = self.peer;
            hyper::service::service_fn(move |req: Request<Incoming>| {
                let started = Instant::now();
                let guard = activity.request_started(!req.body().is_end_stream());
                let (mut parts, body) = req.into_parts();
                parts.extensions.insert(RequestStarted(started));
                parts.extensions.insert(peer);
                let body = DeadlineBody {
                    inner: body,
                    deadline: Box::pin(tokio::time::sleep_until(
                        (started + policy.body_read_timeout).into(),
                    )),
                    activity: activity.clone(),
                    metrics: metrics.clone(),
                    name,
                    expired: false,
                };
                let req = Request::from_parts(parts, Body::new(body));
                let router = router.clone();
                async move {
                    let response = router.oneshot(req).await;
                    drop(guard);
                    response
                }
            })
        };
        let conn = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .serve_connection(io, service);
        tokio::pin!(conn);
        let mut stopping = false;
        let closed_by = loop {
            let deadline = activity.deadline(&self.policy);
            if let Some((at, reason)) = deadline {
                if Instant::now() >= at {
                    break Some(reason);
                }
            }
            let wake = deadline.map_or_else(
                || Instant::now() + self.policy.header_read_timeout,
                |(at, _)| at,
            );
            let changed = activity.changed.notified();
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        debug!(error = %e, "connection ended with an error");
                    }
                    break None;
                }
                () = tokio::time::sleep_until(wake.into()) => {}
                () = changed => {}
                Ok(()) = shed.changed() => {
                    if activity.is_sheddable(SHED_SILENT_AFTER) {
                        break Some(CloseReason::Shed);
                    }
                }
                _ = stop.wait_for(|s| *s), if !stopping => {
                    stopping = true;
                    if activity.is_quiet() {
                        break Some(CloseReason::Shutdown);
                    }
                    // Answer what is in flight, then close.
                    conn.as_mut().graceful_shutdown();
                }
            }
        };
        if let Some(reason) = closed_by {
            self.count_close(reason);
        }
        open.dec();
    }
}

/// A connection's byte stream: TCP, or TLS over TCP.
enum MaybeTls {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for MaybeTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            Self::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// The connection's stream, telling [`Activity`] when bytes arrive.
struct TrackedStream {
    inner: MaybeTls,
    activity: Arc<Activity>,
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read();
        }
        polled
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The request body, failing once `body_read_timeout` after the head has
/// passed: a total deadline, so a peer dripping one byte at a time cannot
/// stretch it.
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    activity: Arc<Activity>,
    metrics: Arc<Metrics>,
    name: &'static str,
    expired: bool,
}

/// The body did not arrive within `http.body_read_timeout`.
#[derive(Debug, thiserror::Error)]
#[error("request body not received within http.body_read_timeout")]
pub struct BodyTimeout;

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.expired {
            return Poll::Ready(Some(Err(Box::new(BodyTimeout))));
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                self.activity.body_pending.store(false, Ordering::Release);
                Poll::Ready(None)
            }
            Poll::Ready(Some(frame)) => Poll::Ready(Some(frame.map_err(Into::into))),
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.expired = true;
                    self.metrics
                        .connections_closed
                        .get_or_create(&ConnectionCloseLabels {
                            listener: self.name.to_owned(),
                            reason: "body_timeout".to_owned(),
                        })
                        .inc();
                    Poll::Ready(Some(Err(Box::new(BodyTimeout))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestStarted {
    type Rejection = Infallible;

    /// Set by the accept loop; a router driven without it (unit tests)
    /// starts the clock now.
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Infallible> {
        Ok(parts
            .extensions
            .get::<Self>()
            .copied()
            .unwrap_or_else(|| Self(Instant::now())))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_fd_limit_is_raised_and_the_cap_fits_in_it() {
        let cap = raise_fd_limit(usize::MAX);
        let (soft, hard) = rlimit::Resource::NOFILE.get().unwrap();
        assert_eq!(soft, hard, "soft limit raised to the hard limit");
        assert!(
            u64::try_from(cap).unwrap() <= soft.saturating_sub(FD_RESERVE).max(1),
            "{cap} connections in {soft} descriptors"
        );
        assert_eq!(raise_fd_limit(16), 16, "a cap that fits is kept");
    }

    #[test]
    fn deadlines_follow_the_connection_state() {
        let policy = ConnectionPolicy {
            header_read_timeout: Duration::from_secs(5),
            body_read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1,
        };
        let a = Arc::new(Activity::new());
        let (at, reason) = a.deadline(&policy).unwrap();
        assert!(matches!(reason, CloseReason::HeaderTimeout));
        assert_eq!(at, a.opened + policy.header_read_timeout, "from accept");
        a.on_read();
        let guard = a.request_started(true);
        assert!(a.deadline(&policy).is_none(), "no deadline while in flight");
        assert!(a.is_quiet(), "still waiting for its body");
        a.body_pending.store(false, Ordering::Release);
        assert!(!a.is_quiet());
        a.on_read();
        drop(guard);
        assert_eq!(
            a.head_started.load(Ordering::Acquire),
            0,
            "body bytes start no head"
        );
        assert!(a.is_sheddable(Duration::ZERO));
        assert!(!a.is_sheddable(Duration::from_secs(60)), "just answered");
        let (_, reason) = a.deadline(&policy).unwrap();
        assert!(matches!(reason, CloseReason::IdleTimeout));
        a.on_read();
        assert!(!a.is_sheddable(Duration::ZERO));
        let (_, reason) = a.deadline(&policy).unwrap();
        assert!(
            matches!(reason, CloseReason::HeaderTimeout),
            "next head started"
        );
    }

    #[test]
    fn accept_failures_are_logged_at_most_once_per_interval() {
        let mut log = AcceptLog::default();
        let e = std::io::Error::from_raw_os_error(24);
        for _ in 0..5 {
            log.failed("hook", &e);
        }
        assert_eq!(log.suppressed, 4);
        assert!(!is_per_connection_error(&e), "EMFILE backs off");
        assert!(is_per_connection_error(&std::io::Error::from(
            std::io::ErrorKind::ConnectionAborted
        )));
    }
}
