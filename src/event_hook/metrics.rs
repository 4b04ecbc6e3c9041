//! The event hook's metrics, registered once into [`crate::metrics::Metrics`].
//! Labels are closed sets (never an event type or login as sent).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// Labels of an applied event.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    /// `user.import.password` or `other` (folded to a closed set).
    pub event_type: String,
    /// `success`, `failure`, `ignored` (other types) or `invalid` (no uuid,
    /// user or outcome).
    pub outcome: String,
}

/// Event hook counters.
#[derive(Clone, Default)]
pub struct EventMetrics {
    /// Events received (first deliveries), by type and outcome.
    pub received: Family<EventLabels, Counter>,
    /// Events whose uuid was already applied (Okta's at-least-once).
    pub duplicates: Counter,
    /// Deliveries refused for a missing or wrong secret.
    pub auth_refused: Counter,
}

impl EventMetrics {
    /// Creates and registers the counters.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "okta_events",
            "Okta events received through the event hook, by type and outcome",
            m.received.clone(),
        );
        registry.register(
            "okta_event_duplicates",
            "Okta events delivered again (uuid already applied) and ignored",
            m.duplicates.clone(),
        );
        registry.register(
            "okta_event_auth_refused",
            "Event hook requests refused for a missing or wrong secret",
            m.auth_refused.clone(),
        );
        m
    }

    /// Counts one event received for the first time.
    pub fn received(&self, kind: &str, outcome: &str) {
        self.received
            .get_or_create(&EventLabels {
                event_type: kind.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }
}
