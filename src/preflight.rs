//! The checks `serve` runs before it binds and `config check` prints: the
//! legacy database answers the lookup query with the columns the hook reads,
//! and the ledger takes a write. One typed result per check; each failure
//! names the setting to change and how.

use std::fmt;

use crate::config::Settings;
use crate::db::DatabaseUrl;
use crate::ledger::{Ledger, LedgerError};
use crate::legacy::{LegacyDb, ProbeError, QueryShape, StoreError};

/// Why a check failed.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// The legacy URL cannot be used at all.
    #[error("{0}")]
    LegacyUrl(#[source] StoreError),
    /// The lookup query cannot serve a sign-in.
    #[error("{0}")]
    Legacy(#[source] ProbeError),
    /// The ledger cannot be opened or migrated.
    #[error("cannot open the ledger: {0}")]
    LedgerOpen(#[source] LedgerError),
    /// The ledger opens but refuses a write.
    #[error("the ledger refuses a write: {0}")]
    LedgerWrite(#[source] LedgerError),
}

impl Problem {
    /// The setting to change.
    pub fn key(&self) -> &'static str {
        match self {
            Self::LegacyUrl(_)
            | Self::Legacy(ProbeError::MissingFile(_) | ProbeError::Unreachable(_)) => "legacy.url",
            Self::Legacy(ProbeError::Timeout(_)) => "legacy.query_timeout",
            Self::Legacy(_) => "legacy.query",
            Self::LedgerOpen(_) | Self::LedgerWrite(_) => "ledger.url",
        }
    }

    /// How to fix it.
    pub fn fix(&self) -> &'static str {
        match self {
            Self::LegacyUrl(_) => "set PASSBRIDGE_LEGACY_URL or --legacy-url to sqlite://FILE, postgres://… or mysql://…",
            Self::Legacy(ProbeError::MissingFile(_)) => "point PASSBRIDGE_LEGACY_URL / --legacy-url at the existing database file",
            Self::Legacy(ProbeError::Unreachable(_)) => "check host, port, database name and credentials in PASSBRIDGE_LEGACY_URL / --legacy-url",
            Self::Legacy(ProbeError::Prepare(_)) => "correct the table and column names in PASSBRIDGE_LEGACY_QUERY / --legacy-query (one bind parameter, ? or $1)",
            Self::Legacy(ProbeError::MissingHashColumn(_)) => "alias the hash column in PASSBRIDGE_LEGACY_QUERY: SELECT pw AS password_hash …",
            Self::Legacy(ProbeError::Run(_)) => "make PASSBRIDGE_LEGACY_QUERY run for any username (grants, parameter type)",
            Self::Legacy(ProbeError::Timeout(_)) => "index the login column used by legacy.query, or raise PASSBRIDGE_LEGACY_QUERY_TIMEOUT",
            Self::LedgerOpen(_) => "check PASSBRIDGE_LEDGER_URL / --ledger-url (reachable, and allowed to create tables)",
            Self::LedgerWrite(_) => "make the ledger writable (file and directory permissions, no mode=ro, INSERT rights)",
        }
    }

    /// A legacy-database problem, which `--allow-degraded-start` tolerates.
    pub fn is_legacy(&self) -> bool {
        matches!(self, Self::LegacyUrl(_) | Self::Legacy(_))
    }
}

/// A failed check: what, where, and the fix, on one line.
#[derive(Debug)]
pub struct Failure {
    /// The database, redacted.
    pub target: String,
    /// What went wrong.
    pub problem: Problem,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let problem = self.problem.to_string();
        let key = self.problem.key();
        let fix = self.problem.fix();
        // Some driver errors already name the database; say it once.
        if problem.contains(&self.target) {
            write!(f, "{key}: {problem}; fix: {fix}")
        } else {
            write!(f, "{key}: {problem} ({}); fix: {fix}", self.target)
        }
    }
}

/// What the checks found.
#[derive(Debug)]
pub struct Report {
    /// The legacy lookup, or `None` when `legacy.url` / `legacy.query` is not set.
    pub legacy: Option<Result<QueryShape, Failure>>,
    /// The ledger: opens, migrates, takes a write.
    pub ledger: Result<(), Failure>,
    /// Redacted legacy URL, for the success lines.
    pub legacy_target: String,
    /// Redacted ledger URL.
    pub ledger_target: String,
}

impl Report {
    /// Every failure, legacy first.
    pub fn failures(&self) -> impl Iterator<Item = &Failure> {
        self.legacy
            .as_ref()
            .and_then(|r| r.as_ref().err())
            .into_iter()
            .chain(self.ledger.as_ref().err())
    }

    /// No check failed.
    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The success line for the legacy check (None when it failed or did not run).
    pub fn legacy_ok_line(&self) -> Option<String> {
        let shape = self.legacy.as_ref()?.as_ref().ok()?;
        let mut columns = vec!["password_hash"];
        if shape.salt {
            columns.push("salt");
        }
        if shape.scheme {
            columns.push("scheme");
        }
        Some(format!(
            "legacy database {} answers the lookup query (columns: {})",
            self.legacy_target,
            columns.join(", ")
        ))
    }

    /// The success line for the ledger check.
    pub fn ledger_ok_line(&self) -> Option<String> {
        self.ledger.as_ref().ok().map(|()| {
            format!(
                "ledger {} reachable, migrations applied, writable",
                self.ledger_target
            )
        })
    }
}

/// Runs every check, each bounded by the configured timeouts, on its own
/// short-lived connections.
pub async fn run(settings: &Settings) -> Report {
    let ledger_url = settings.ledger_url();
    let legacy = async {
        match (&settings.legacy.url, &settings.legacy.query) {
            (Some(url), Some(query)) => Some(check_legacy(settings, url, query).await),
            _ => None,
        }
    };
    let (legacy, ledger) = tokio::join!(legacy, check_ledger(&ledger_url));
    Report {
        legacy,
        ledger,
        legacy_target: settings
            .legacy
            .url
            .as_ref()
            .map(DatabaseUrl::redacted)
            .unwrap_or_default(),
        ledger_target: ledger_url.redacted(),
    }
}

/// Whether the lookup query works now: for readiness.
pub async fn legacy_ready(db: &LegacyDb) -> bool {
    db.probe().await.is_ok()
}

async fn check_legacy(
    settings: &Settings,
    url: &DatabaseUrl,
    query: &str,
) -> Result<QueryShape, Failure> {
    let fail = |problem| Failure {
        target: url.redacted(),
        problem,
    };
    let db = LegacyDb::side_connection(
        url,
        query,
        settings.legacy.connect_timeout,
        settings.legacy.query_timeout,
    )
    .map_err(|e| fail(Problem::LegacyUrl(e)))?;
    let shape = db.probe().await;
    db.pool().close().await;
    shape.map_err(|e| fail(Problem::Legacy(e)))
}

async fn check_ledger(url: &DatabaseUrl) -> Result<(), Failure> {
    let fail = |problem| Failure {
        target: url.redacted(),
        problem,
    };
    let ledger = Ledger::connect(url)
        .await
        .map_err(|e| fail(Problem::LedgerOpen(e)))?;
    let written = ledger.probe_writable().await;
    ledger.pool().close().await;
    written.map_err(|e| fail(Problem::LedgerWrite(e)))
}
