//! Shared state handed to every request handler.

use std::sync::Arc;

use crate::config::Settings;
use crate::hook::auth::HookAuth;
use crate::hook::handler::Outcome;
use crate::hook::replay::ReplayCache;
use crate::hook::throttle::Throttle;
use crate::hook::verifier::Verifier;
use crate::ledger::{GroupCommit, Ledger, Spool};
use crate::legacy::LegacyDb;
use crate::metrics::Metrics;
use crate::readiness::Readiness;

/// Cloned per request; everything inside is reference-counted.
#[derive(Clone)]
pub struct AppState {
    /// Effective settings.
    pub settings: Arc<Settings>,
    /// The legacy user database.
    pub legacy: LegacyDb,
    /// passbridge's own tables.
    pub ledger: Ledger,
    /// The hook's writer of `hook_calls` rows (group commit).
    pub recorder: GroupCommit,
    /// Durable local queue for ledger rows and write-backs ([`Spool::backlog`] for readiness).
    pub spool: Arc<Spool>,
    /// Hook caller authentication.
    pub auth: Arc<HookAuth>,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Admission-controlled verification, and the unknown-user look-alikes.
    pub verifier: Arc<Verifier>,
    /// Attempt limits per legacy row, row and IP, and IP (in the ledger).
    pub throttle: Arc<Throttle>,
    /// Answers by `eventId`, for Okta's retries.
    pub replay: Arc<ReplayCache<Outcome>>,
    /// The background probe's last result, read by `/readyz`.
    pub readiness: Readiness,
    /// The `/admin` dashboard's access rule and cached figures.
    pub admin: Arc<crate::admin::Admin>,
}
