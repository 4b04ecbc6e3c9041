//! Counters and histograms, named once here and rendered at `GET /metrics`
//! in the Prometheus text format. Labels never carry usernames or secrets.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of a hook answer.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerdictLabels {
    /// VERIFIED or UNVERIFIED.
    pub verdict: String,
    /// Ledger reason (`verified`, `wrong_password`, `unknown_user`, …).
    pub reason: String,
}

/// Labels naming a scheme.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SchemeLabels {
    /// Canonical scheme name.
    pub scheme: String,
}

/// Labels naming why a request was refused before verification.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectLabels {
    /// `unauthorized`, `malformed_json`, `wrong_content_type`, `body_too_large`, …
    pub kind: String,
}

/// Labels naming a failing dependency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DependencyLabels {
    /// `legacy`, `ledger`, `write_back` or `throttle` (its ledger counters).
    pub dependency: String,
}

/// Labels of `passbridge_build_info`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    /// Crate version.
    pub version: String,
    /// Short git commit (`unknown` without git at build time).
    pub commit: String,
    /// Build date, YYYY-MM-DD UTC.
    pub build_date: String,
}

/// Labels naming a listener (`hook` or `admin`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabels {
    /// `hook` or `admin`.
    pub listener: String,
}

/// Labels of a connection the server closed on its own.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnectionCloseLabels {
    /// `hook` or `admin`.
    pub listener: String,
    /// `header_timeout`, `body_timeout`, `idle_timeout` or `shutdown`.
    pub reason: String,
}

/// Labels naming the throttle limit that refused an attempt.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ThrottleLabels {
    /// `row_ip`, `row` or `ip`.
    pub scope: String,
}

/// Labels of a refused hook caller.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthRefusalLabels {
    /// `header` (wrong or missing secret) or an OAuth reason (`expired`,
    /// `signature`, `unknown_kid`, … see `hook::oauth::Refusal::reason`).
    pub reason: String,
}

/// Labels of a replayed hook call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReplayLabels {
    /// `answered` (first answer resent), `joined` (waited for the first call)
    /// or `ledger` (an UNVERIFIED another replica recorded, resent).
    pub outcome: String,
}

/// Labels of a TLS certificate reload.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TlsReloadLabels {
    /// `ok` (new pair served) or `error` (previous pair kept).
    pub result: String,
}

/// All of passbridge's metrics, with their own registry (no global state, so
/// tests can run several apps in one process).
pub struct Metrics {
    registry: Registry,
    /// Hook answers by verdict and reason.
    pub hook_answers: Family<VerdictLabels, Counter>,
    /// Requests refused before any lookup.
    pub hook_rejections: Family<RejectLabels, Counter>,
    /// Seconds spent verifying, by scheme.
    pub verify_seconds: Family<SchemeLabels, Histogram>,
    /// End-to-end hook latency in seconds.
    pub hook_seconds: Histogram,
    /// Dependency failures.
    pub dependency_errors: Family<DependencyLabels, Counter>,
    /// Verifications queued or running.
    pub verifications_in_flight: Gauge,
    /// Idle verification slots lent to argon2 lanes, one per thread per
    /// verification.
    pub verify_lanes_borrowed: Counter,
    /// Spooled ledger rows and write-backs not yet replayed.
    pub ledger_spool_backlog: Gauge,
    /// Ledger rows written to the spool because the ledger did not take them.
    pub ledger_spooled: Counter,
    /// Spooled ledger rows replayed into the ledger.
    pub ledger_replayed: Counter,
    /// Open connections by listener.
    pub connections_open: Family<ListenerLabels, Gauge>,
    /// Connections closed by the server (timeouts, shutdown).
    pub connections_closed: Family<ConnectionCloseLabels, Counter>,
    /// Failed `accept` calls (e.g. out of file descriptors), each followed by a back-off.
    pub accept_errors: Family<ListenerLabels, Counter>,
    /// Background readiness probes run.
    pub readiness_probes: Counter,
    /// Attempts refused by a throttle limit.
    pub throttle_denials: Family<ThrottleLabels, Counter>,
    /// Repeated `eventId`s answered without deciding again.
    pub hook_replays: Family<ReplayLabels, Counter>,
    /// Verifications refused or dropped because they could not finish in time.
    pub hook_overloaded: Counter,
    /// Hook-call rows per ledger commit (group commit).
    pub ledger_batch_rows: Histogram,
    /// Hook callers refused by authentication, by reason.
    pub hook_auth_refused: Family<AuthRefusalLabels, Counter>,
    /// TLS certificate reloads (SIGHUP or file change), by result.
    pub tls_reloads: Family<TlsReloadLabels, Counter>,
    /// The migration's figures (`passbridge_migration_*`, `passbridge_import_*`).
    pub progress: crate::admin::gauges::ProgressGauges,
    /// The Okta event hook's counters.
    pub okta_events: crate::event_hook::metrics::EventMetrics,
}

fn latency_buckets() -> impl Iterator<Item = f64> {
    [
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0,
    ]
    .into_iter()
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("passbridge");
        let hook_answers = Family::<VerdictLabels, Counter>::default();
        registry.register(
            "hook_answers",
            "Hook answers by verdict and reason",
            hook_answers.clone(),
        );
        let hook_rejections = Family::<RejectLabels, Counter>::default();
        registry.register(
            "hook_rejections",
            "Hook requests refused before verification",
            hook_rejections.clone(),
        );
        let verify_seconds = Family::<SchemeLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(latency_buckets())
        });
        registry.register(
            "verify_seconds",
            "Password verification time by scheme",
            verify_seconds.clone(),
        );
        let hook_seconds = Histogram::new(latency_buckets());
        registry.register(
            "hook_seconds",
            "End-to-end hook handling time",
            hook_seconds.clone(),
        );
        let dependency_errors = Family::<DependencyLabels, Counter>::default();
        registry.register(
            "dependency_errors",
            "Failures of the legacy DB, ledger or write-back",
            dependency_errors.clone(),
        );
        let verifications_in_flight = Gauge::default();
        registry.register(
            "verifications_in_flight",
            "Verifications queued or running",
            verifications_in_flight.clone(),
        );
        let verify_lanes_borrowed = Counter::default();
        registry.register(
            "verify_lanes_borrowed",
            "Idle verification slots lent to argon2 lanes (threads beyond a verification's own)",
            verify_lanes_borrowed.clone(),
        );
        // Constant 1: the labels are the information (join on them in queries).
        let build_info = Family::<BuildLabels, Gauge>::default();
        build_info
            .get_or_create(&BuildLabels {
                version: crate::build_info::VERSION.to_owned(),
                commit: crate::build_info::COMMIT.to_owned(),
                build_date: crate::build_info::BUILD_DATE.to_owned(),
            })
            .set(1);
        registry.register(
            "build_info",
            "Version, git commit and build date of this binary",
            build_info,
        );
        let ledger_spool_backlog = Gauge::default();
        registry.register(
            "ledger_spool_backlog",
            "Spooled ledger rows and write-backs not yet replayed",
            ledger_spool_backlog.clone(),
        );
        let ledger_spooled = Counter::default();
        registry.register(
            "ledger_spooled",
            "Ledger rows written to the local spool because the ledger did not take them",
            ledger_spooled.clone(),
        );
        let ledger_replayed = Counter::default();
        registry.register(
            "ledger_replayed",
            "Spooled ledger rows replayed into the ledger",
            ledger_replayed.clone(),
        );
        let connections_open = Family::<ListenerLabels, Gauge>::default();
        registry.register(
            "connections_open",
            "Open connections by listener",
            connections_open.clone(),
        );
        let connections_closed = Family::<ConnectionCloseLabels, Counter>::default();
        registry.register(
            "connections_closed",
            "Connections closed by the server: timeouts and shutdown",
            connections_closed.clone(),
        );
        let accept_errors = Family::<ListenerLabels, Counter>::default();
        registry.register(
            "accept_errors",
            "Failed accepts (e.g. out of file descriptors), each followed by a back-off",
            accept_errors.clone(),
        );
        let readiness_probes = Counter::default();
        registry.register(
            "readiness_probes",
            "Background readiness probes run",
            readiness_probes.clone(),
        );
        let throttle_denials = Family::<ThrottleLabels, Counter>::default();
        registry.register(
            "throttle_denials",
            "Attempts refused by a throttle limit, by scope",
            throttle_denials.clone(),
        );
        let hook_replays = Family::<ReplayLabels, Counter>::default();
        registry.register(
            "hook_replays",
            "Repeated eventIds answered with the first answer",
            hook_replays.clone(),
        );
        let hook_overloaded = Counter::default();
        registry.register(
            "hook_overloaded",
            "Verifications refused or dropped because they could not finish within the deadline",
            hook_overloaded.clone(),
        );
        let ledger_batch_rows =
            Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]);
        registry.register(
            "ledger_batch_rows",
            "Hook-call rows written to the ledger per commit",
            ledger_batch_rows.clone(),
        );
        let hook_auth_refused = Family::<AuthRefusalLabels, Counter>::default();
        registry.register(
            "hook_auth_refused",
            "Hook callers refused by authentication (secret or bearer token), by reason",
            hook_auth_refused.clone(),
        );
        let tls_reloads = Family::<TlsReloadLabels, Counter>::default();
        registry.register(
            "tls_reloads",
            "TLS certificate reloads by result; on error the previous certificate is kept",
            tls_reloads.clone(),
        );
        let progress = crate::admin::gauges::ProgressGauges::register(&mut registry);
        let okta_events = crate::event_hook::metrics::EventMetrics::register(&mut registry);
        Arc::new(Self {
            progress,
            okta_events,
            tls_reloads,
            hook_auth_refused,
            hook_overloaded,
            ledger_batch_rows,
            registry,
            connections_open,
            connections_closed,
            accept_errors,
            readiness_probes,
            hook_answers,
            hook_rejections,
            verify_seconds,
            hook_seconds,
            dependency_errors,
            verifications_in_flight,
            verify_lanes_borrowed,
            ledger_spool_backlog,
            ledger_spooled,
            ledger_replayed,
            throttle_denials,
            hook_replays,
        })
    }

    /// Counts a request refused before verification.
    pub fn reject(&self, kind: &str) {
        self.hook_rejections
            .get_or_create(&RejectLabels {
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// Counts a hook caller refused by authentication.
    pub fn auth_refused(&self, reason: &str) {
        self.hook_auth_refused
            .get_or_create(&AuthRefusalLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Counts a replayed hook call (`answered`, `joined` or `ledger`).
    pub fn replayed(&self, outcome: &str) {
        self.hook_replays
            .get_or_create(&ReplayLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Counts a TLS certificate reload (`ok` or `error`).
    pub fn tls_reloaded(&self, result: &str) {
        self.tls_reloads
            .get_or_create(&TlsReloadLabels {
                result: result.to_owned(),
            })
            .inc();
    }

    /// Counts a dependency failure.
    pub fn dependency_error(&self, dependency: &str) {
        self.dependency_errors
            .get_or_create(&DependencyLabels {
                dependency: dependency.to_owned(),
            })
            .inc();
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn build_info_names_this_binary() {
        let text = super::Metrics::new().render();
        let line = format!(
            "passbridge_build_info{{version=\"{}\",commit=\"{}\",build_date=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION"),
            crate::build_info::COMMIT,
            crate::build_info::BUILD_DATE
        );
        assert!(text.contains(&line), "{text}");
        assert!(!crate::build_info::COMMIT.is_empty());
        assert_eq!(crate::build_info::BUILD_DATE.len(), 10, "YYYY-MM-DD");
    }
}
