//! passbridge: move users off a legacy database into Okta without a password reset.

pub mod hash;
