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
    /// `legacy`, `ledger` or `write_back`.
    pub dependency: String,
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
    /// Verifications refused or dropped because they could not finish in time.
    pub hook_overloaded: Counter,
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
        let hook_overloaded = Counter::default();
        registry.register(
            "hook_overloaded",
            "Verifications refused or dropped because they could not finish within the deadline",
            hook_overloaded.clone(),
        );
        Arc::new(Self {
            hook_overloaded,
            registry,
            hook_answers,
            hook_rejections,
            verify_seconds,
            hook_seconds,
            dependency_errors,
            verifications_in_flight,
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
