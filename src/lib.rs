//! passbridge: move users off a legacy database into Okta without a password reset.
//!
//! `hash` verifies legacy password hashes; `hook` answers Okta's password
//! import inline hook; `legacy` reads the old user table; `ledger` keeps
//! passbridge's own record of verdicts.

pub mod admin;
pub mod build_info;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod db;
pub mod demo;
pub mod dev_okta;
pub mod event_hook;
pub mod hash;
pub mod hook;
pub mod import;
pub mod ledger;
pub mod legacy;
pub mod metrics;
pub mod net;
pub mod okta;
pub mod preflight;
pub mod readiness;
pub mod reconcile;
pub mod server;
pub mod startup;
pub mod state;
pub mod stragglers;
pub mod telemetry;
pub mod tls;
