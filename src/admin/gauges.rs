//! The migration's figures as `/metrics` gauges (names below, documented in
//! the README and used by `deploy/grafana/passbridge.json`). Set from each
//! freshly computed [`Progress`]; labels are sources, schemes and fixed
//! words, never a login.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::ledger::progress::{Figures, Progress};

/// Labels of `passbridge_migration_users`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UserLabels {
    /// Legacy source.
    pub source: String,
    /// Legacy scheme (`none` for rows without one).
    pub scheme: String,
    /// `seen`, `native`, `hook`, `failed`, `pending`, `skipped`, `verified`,
    /// `confirmed`, `awaiting_confirmation`, `reset_sent` or `waiting`.
    pub figure: String,
}

/// Labels of `passbridge_migration_stragglers`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StragglerLabels {
    /// Legacy source.
    pub source: String,
    /// Legacy scheme (`none` for rows without one).
    pub scheme: String,
    /// `7`, `30`, `60` or `90`.
    pub older_than_days: String,
}

/// Labels of `passbridge_admin_refused`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AdminRefusalLabels {
    /// `missing_token`, `wrong_token` or `not_loopback`.
    pub reason: String,
}

/// The gauges (and the dashboard's own counters).
pub struct ProgressGauges {
    users: Family<UserLabels, Gauge>,
    stragglers: Family<StragglerLabels, Gauge>,
    verified_per_day: Gauge<f64, AtomicU64>,
    completion: Gauge,
    rate_limit_remaining: Gauge,
    rate_limit_limit: Gauge,
    rate_limit_reset: Gauge,
    import_users_done: Gauge,
    import_users_total: Gauge,
    updated: Gauge,
    errors: Counter,
    refused: Family<AdminRefusalLabels, Counter>,
}

fn unix(stamp: Option<&str>) -> i64 {
    stamp
        .and_then(|s| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
        })
        .map_or(0, time::OffsetDateTime::unix_timestamp)
}

fn day_unix(day: Option<&str>) -> i64 {
    unix(day.map(|d| format!("{d}T00:00:00Z")).as_deref())
}

impl ProgressGauges {
    /// Registers every gauge in `registry` (prefix `passbridge_`).
    pub fn register(registry: &mut Registry) -> Self {
        let g = Self {
            users: Family::default(),
            stragglers: Family::default(),
            verified_per_day: Gauge::default(),
            completion: Gauge::default(),
            rate_limit_remaining: Gauge::default(),
            rate_limit_limit: Gauge::default(),
            rate_limit_reset: Gauge::default(),
            import_users_done: Gauge::default(),
            import_users_total: Gauge::default(),
            updated: Gauge::default(),
            errors: Counter::default(),
            refused: Family::default(),
        };
        registry.register(
            "migration_users",
            "Users by legacy source, scheme and figure (import state, verified, confirmed, waiting)",
            g.users.clone(),
        );
        registry.register(
            "migration_stragglers",
            "Hook-imported users still waiting (not verified, not confirmed, not sent a reset) this many days after import",
            g.stragglers.clone(),
        );
        registry.register(
            "migration_verified_per_day",
            "Hook users verified per day over the last 7 days",
            g.verified_per_day.clone(),
        );
        registry.register(
            "migration_completion_timestamp_seconds",
            "Estimated day every waiting user is verified, at the recent rate (0: unknown)",
            g.completion.clone(),
        );
        registry.register(
            "import_rate_limit_remaining",
            "Okta user-create requests left in the window at the last import report",
            g.rate_limit_remaining.clone(),
        );
        registry.register(
            "import_rate_limit_limit",
            "Okta user-create requests per window at the last import report",
            g.rate_limit_limit.clone(),
        );
        registry.register(
            "import_rate_limit_reset_timestamp_seconds",
            "When that Okta rate-limit window resets (0: unknown)",
            g.rate_limit_reset.clone(),
        );
        registry.register(
            "import_run_users_done",
            "Users the last import run has done",
            g.import_users_done.clone(),
        );
        registry.register(
            "import_run_users_total",
            "Users the last import run had to do (0: not counted)",
            g.import_users_total.clone(),
        );
        registry.register(
            "migration_progress_updated_timestamp_seconds",
            "When these migration figures were last computed from the ledger",
            g.updated.clone(),
        );
        registry.register(
            "migration_progress_errors",
            "Failed or timed-out computations of the migration figures",
            g.errors.clone(),
        );
        registry.register(
            "admin_refused",
            "Requests to /admin refused, by reason",
            g.refused.clone(),
        );
        g
    }

    /// Sets every gauge from `p` (series of vanished schemes are dropped).
    pub fn set(&self, p: &Progress) {
        self.users.clear();
        self.stragglers.clear();
        for group in &p.by_scheme {
            let scheme = group.scheme.as_deref().unwrap_or("none");
            self.set_group(&group.source, scheme, &group.figures);
        }
        self.verified_per_day.set(p.rate.verified_per_day);
        self.completion
            .set(day_unix(p.rate.estimated_completion.as_deref()));
        let run = p.rate_limit.as_ref();
        self.rate_limit_remaining
            .set(run.and_then(|r| r.remaining).unwrap_or(0));
        self.rate_limit_limit
            .set(run.and_then(|r| r.limit).unwrap_or(0));
        self.rate_limit_reset
            .set(unix(run.and_then(|r| r.resets_at.as_deref())));
        self.import_users_done.set(run.map_or(0, |r| r.users_done));
        self.import_users_total
            .set(run.and_then(|r| r.users_total).unwrap_or(0));
        self.updated.set(unix(Some(&p.generated_at)));
    }

    fn set_group(&self, source: &str, scheme: &str, f: &Figures) {
        let (i, h) = (&f.import, &f.hook);
        for (figure, n) in [
            ("seen", i.seen),
            ("native", i.native),
            ("hook", i.hook),
            ("failed", i.failed),
            ("pending", i.pending),
            ("skipped", i.skipped),
            ("verified", h.verified),
            ("confirmed", h.confirmed),
            ("awaiting_confirmation", h.awaiting_confirmation),
            ("reset_sent", h.reset_sent),
            ("waiting", h.waiting),
        ] {
            self.users
                .get_or_create(&UserLabels {
                    source: source.to_owned(),
                    scheme: scheme.to_owned(),
                    figure: figure.to_owned(),
                })
                .set(n);
        }
        for s in &f.stragglers {
            self.stragglers
                .get_or_create(&StragglerLabels {
                    source: source.to_owned(),
                    scheme: scheme.to_owned(),
                    older_than_days: s.older_than_days.to_string(),
                })
                .set(s.users);
        }
    }

    /// Counts a failed computation.
    pub fn failed(&self) {
        self.errors.inc();
    }

    /// Counts a refused `/admin` request.
    pub fn refused(&self, reason: &str) {
        self.refused
            .get_or_create(&AdminRefusalLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }
}
