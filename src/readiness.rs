//! Readiness from a background probe. Every `http.readiness_interval` a task
//! runs a list of named checks on connections of its own (never the hook's
//! legacy pool or the ledger pool); `GET /readyz` only reads the last result,
//! so no request can make the service query a database.
//!
//! A check is a [`ReadinessCheck`]; more (startup preflight, spool backlog)
//! are added with [`Probe::with_check`].

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::AnyPool;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::Settings;
use crate::db::{self, DatabaseUrl, DbKind, PoolSettings};
use crate::legacy::LegacyDb;
use crate::metrics::Metrics;

/// One named readiness condition.
pub trait ReadinessCheck: Send + Sync {
    /// The key it is reported under in `/readyz` (`legacy`, `ledger`, …).
    fn name(&self) -> &'static str;
    /// True when the dependency is usable. Bounded by the probe's timeout.
    fn check(&self) -> BoxFuture<'_, bool>;
}

/// The result of one probe round.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Each check by name, in the order they were added.
    pub checks: Vec<(&'static str, bool)>,
    /// When the round finished (RFC 3339 UTC); None before the first round.
    pub checked_at: Option<String>,
}

impl Snapshot {
    /// Every check passed (and at least one round ran).
    pub fn ready(&self) -> bool {
        self.checked_at.is_some() && self.checks.iter().all(|(_, up)| *up)
    }

    /// Whether the check `name` passed.
    pub fn is_up(&self, name: &str) -> Option<bool> {
        self.checks
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, up)| *up)
    }
}

/// The cached readiness, shared by the probe (writer) and `/readyz` (readers).
#[derive(Clone)]
pub struct Readiness {
    latest: Arc<watch::Sender<Arc<Snapshot>>>,
}

impl Default for Readiness {
    fn default() -> Self {
        Self::new()
    }
}

impl Readiness {
    /// Unready until the first probe round.
    pub fn new() -> Self {
        Self {
            latest: Arc::new(watch::Sender::new(Arc::new(Snapshot::default()))),
        }
    }

    /// The last result (a clone of an `Arc`: no lock held, no query run).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.latest.borrow().clone()
    }

    fn publish(&self, snapshot: Snapshot) {
        self.latest.send_replace(Arc::new(snapshot));
    }
}

/// Runs the checks and publishes the result.
pub struct Probe {
    checks: Vec<Box<dyn ReadinessCheck>>,
    interval: Duration,
    timeout: Duration,
    readiness: Readiness,
    metrics: Arc<Metrics>,
}

impl Probe {
    /// A probe with no checks, publishing into `readiness`.
    pub fn new(
        readiness: Readiness,
        interval: Duration,
        timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            checks: Vec::new(),
            interval,
            timeout,
            readiness,
            metrics,
        }
    }

    /// The service's probe: the lookup query works, the ledger takes a
    /// write. Each on its own one-connection pool.
    ///
    /// # Errors
    /// A URL the driver cannot parse.
    pub fn for_settings(
        settings: &Settings,
        readiness: Readiness,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let timeout = settings
            .legacy
            .query_timeout
            .max(Duration::from_millis(100));
        let mut probe = Self::new(
            readiness,
            settings.http.readiness_interval,
            timeout,
            metrics,
        );
        if let (Some(url), Some(query)) = (&settings.legacy.url, &settings.legacy.query) {
            let legacy =
                LegacyDb::side_connection(url, query, timeout, settings.legacy.query_timeout)?;
            probe = probe.with_check(LegacyQueryWorks { legacy });
        }
        let ledger = settings.ledger_url();
        probe = probe.with_check(LedgerWritable {
            pool: own_pool(&ledger, timeout)?,
            kind: ledger.kind(),
        });
        Ok(probe)
    }

    /// Adds a check.
    #[must_use]
    pub fn with_check(mut self, check: impl ReadinessCheck + 'static) -> Self {
        self.checks.push(Box::new(check));
        self
    }

    /// Runs every check once, concurrently, each within the timeout.
    pub async fn run_once(&self) {
        let rounds = self.checks.iter().map(|c| async move {
            let up = matches!(
                tokio::time::timeout(self.timeout, c.check()).await,
                Ok(true)
            );
            (c.name(), up)
        });
        let checks = futures::future::join_all(rounds).await;
        self.metrics.readiness_probes.inc();
        let before = self.readiness.snapshot();
        for (name, up) in &checks {
            if before.is_up(name) != Some(*up) {
                if *up {
                    info!(check = name, "readiness: up");
                } else {
                    warn!(check = name, "readiness: down");
                }
            }
        }
        self.readiness.publish(Snapshot {
            checks,
            checked_at: Some(crate::ledger::now_rfc3339()),
        });
    }

    /// Probes every interval, forever (the caller aborts it at shutdown).
    /// The first round is one interval away: start-up ran [`Probe::run_once`].
    pub async fn run(self) {
        let mut tick =
            tokio::time::interval_at(tokio::time::Instant::now() + self.interval, self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.run_once().await;
        }
    }
}

/// A lazy pool of one connection: the probe never competes with requests.
fn own_pool(url: &DatabaseUrl, timeout: Duration) -> Result<AnyPool, db::DbError> {
    db::connect_lazy(
        url,
        PoolSettings {
            max_connections: 1,
            acquire_timeout: timeout,
        },
    )
}

/// The lookup query prepares, returns `password_hash` and runs (the start-up
/// check, [`crate::preflight::legacy_ready`]), on the probe's own connection.
struct LegacyQueryWorks {
    legacy: LegacyDb,
}

impl ReadinessCheck for LegacyQueryWorks {
    fn name(&self) -> &'static str {
        "legacy"
    }

    fn check(&self) -> BoxFuture<'_, bool> {
        Box::pin(crate::preflight::legacy_ready(&self.legacy))
    }
}

/// The ledger commits a write (its one `readiness_probe` row): a read-only
/// file, a full disk or a read-only replica make it fail.
struct LedgerWritable {
    pool: AnyPool,
    kind: DbKind,
}

impl ReadinessCheck for LedgerWritable {
    fn name(&self) -> &'static str {
        "ledger"
    }

    fn check(&self) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            let Ok(mut conn) = self.pool.acquire().await else {
                return false;
            };
            if self.kind == DbKind::Sqlite
                && sqlx::query("PRAGMA busy_timeout = 1000")
                    .execute(&mut *conn)
                    .await
                    .is_err()
            {
                return false;
            }
            let sql = db::placeholders(
                self.kind,
                "UPDATE readiness_probe SET checked_at = ? WHERE id = 1",
            );
            sqlx::query(&sql)
                .bind(crate::ledger::now_rfc3339())
                .execute(&mut *conn)
                .await
                .is_ok()
        })
    }
}
