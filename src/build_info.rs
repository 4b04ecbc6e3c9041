//! What was built: the crate version, the git commit and the build date (UTC),
//! stamped by `build.rs`. Shown by `--version`, logged once by `serve` at
//! start-up and exported as the `passbridge_build_info` metric.

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Short git commit, or `unknown` (no git at build time).
pub const COMMIT: &str = env!("PB_BUILD_INFO_COMMIT");
/// Build date, YYYY-MM-DD in UTC (`SOURCE_DATE_EPOCH` when set).
pub const BUILD_DATE: &str = env!("PB_BUILD_INFO_DATE");

/// `--version` text after the program name: `0.1.0 (commit abc1234, built 2026-01-31 UTC)`.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("PB_BUILD_INFO_COMMIT"),
    ", built ",
    env!("PB_BUILD_INFO_DATE"),
    " UTC)"
);
