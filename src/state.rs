//! Shared state handed to every request handler.

use std::sync::Arc;

use crate::config::Settings;
use crate::hook::auth::HookAuth;
use crate::hook::throttle::FailureThrottle;
use crate::hook::verifier::Verifier;
use crate::ledger::Ledger;
use crate::legacy::LegacyDb;
use crate::metrics::Metrics;

/// Cloned per request; everything inside is reference-counted.
#[derive(Clone)]
pub struct AppState {
    /// Effective settings.
    pub settings: Arc<Settings>,
    /// The legacy user database.
    pub legacy: LegacyDb,
    /// passbridge's own tables.
    pub ledger: Ledger,
    /// Hook caller authentication.
    pub auth: Arc<HookAuth>,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Admission-controlled verification, and the unknown-user look-alikes.
    pub verifier: Arc<Verifier>,
    /// Per-username failure throttle.
    pub throttle: Arc<FailureThrottle>,
}
