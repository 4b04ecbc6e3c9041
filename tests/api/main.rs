//! The one integration test binary (a single binary links once and shares
//! the log capture).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admission;
mod audit;
mod cli;
mod dashboard;
mod deploy;
mod event_hook;
mod event_register;
mod fuzz_regressions;
mod hash_cli;
mod hash_properties;
mod hash_robustness;
mod hashcorpus;
mod helpers;
mod hook;
mod import;
mod import_preflight;
mod ledger_durability;
mod listeners;
mod logs;
mod oauth;
mod okta_standin;
mod preflight;
mod readme;
mod reconcile;
mod register;
mod replay;
mod replicas;
mod requests;
mod runbook;
mod runtime;
mod status;
mod stragglers;
mod throttle;
mod tls;
