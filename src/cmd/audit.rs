//! `passbridge hash audit`: stream every row of the legacy table, identify
//! each stored hash, and report what was found. No password needed, nothing
//! written, and no hash or salt ever printed.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use futures::TryStreamExt;
use serde::Serialize;
use sqlx::Row;

use crate::config::Settings;
use crate::db::{self, PoolSettings};
use crate::hash::{Hints, StoredHash};
use crate::legacy::text_column;

/// How many problem row ids to list per reason before summarising.
const MAX_LISTED_IDS: usize = 50;

/// `hash audit` options.
#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// Query returning every user: password_hash [, salt, scheme, id|login|email]. Default: the import query (PASSBRIDGE_IMPORT_QUERY).
    #[arg(long, value_name = "SQL")]
    pub query: Option<String>,
    /// Legacy database URL [env: PASSBRIDGE_LEGACY_URL]
    #[arg(long, value_name = "URL")]
    pub legacy_url: Option<crate::db::DatabaseUrl>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The audit's findings.
#[derive(Debug, Default, Serialize)]
pub struct AuditReport {
    /// Rows read.
    pub rows: u64,
    /// Rows per scheme.
    pub schemes: BTreeMap<String, u64>,
    /// `scheme param=value` → rows (e.g. `bcrypt_2y cost=10`).
    pub parameters: BTreeMap<String, u64>,
    /// Rows Okta could import with their hash as it is.
    pub okta_native: u64,
    /// Rows that need the hook.
    pub hook: u64,
    /// Problem kind (`unsupported_hash`, `malformed_hash`, `cost_too_high`) → row ids.
    pub problems: BTreeMap<String, Vec<String>>,
    /// Problem kind → count (ids beyond the listed ones are only counted).
    pub problem_counts: BTreeMap<String, u64>,
    /// Which shapes fit `hook.budget` on this machine.
    pub budget_fit: Vec<crate::hook::verifier::ShapeFit>,
}

impl AuditReport {
    fn add(&mut self, id: String, parsed: Result<StoredHash, crate::hash::HashError>) {
        self.rows += 1;
        match parsed {
            Ok(hash) => {
                let scheme = hash.scheme().as_str();
                *self.schemes.entry(scheme.to_owned()).or_default() += 1;
                for (name, value) in hash.params() {
                    if name.contains("salt") || name.contains("digest") {
                        continue;
                    }
                    *self
                        .parameters
                        .entry(format!("{scheme} {name}={value}"))
                        .or_default() += 1;
                }
                if hash.okta_native().is_some() {
                    self.okta_native += 1;
                } else {
                    self.hook += 1;
                }
            }
            Err(e) => {
                let kind = e.kind().to_owned();
                let count = self.problem_counts.entry(kind.clone()).or_default();
                *count += 1;
                if *count as usize <= MAX_LISTED_IDS {
                    self.problems.entry(kind).or_default().push(id);
                }
            }
        }
    }

    fn print(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "rows: {}", self.rows)?;
        writeln!(out, "okta can import natively: {}", self.okta_native)?;
        writeln!(out, "need the password import hook: {}", self.hook)?;
        writeln!(out, "\nschemes:")?;
        for (scheme, n) in &self.schemes {
            writeln!(out, "  {scheme:<28} {n}")?;
        }
        writeln!(out, "\nparameters:")?;
        for (p, n) in &self.parameters {
            writeln!(out, "  {p:<40} {n}")?;
        }
        if !self.problem_counts.is_empty() {
            writeln!(out, "\nproblems (row ids):")?;
            for (kind, n) in &self.problem_counts {
                let ids = self
                    .problems
                    .get(kind)
                    .map(|v| v.join(", "))
                    .unwrap_or_default();
                let more = if *n as usize > MAX_LISTED_IDS {
                    ", …"
                } else {
                    ""
                };
                writeln!(out, "  {kind} ({n}): {ids}{more}")?;
            }
        }
        Ok(())
    }
}

fn row_id(row: &sqlx::any::AnyRow, n: u64) -> String {
    for col in ["id", "login", "email", "username"] {
        if let Ok(Some(v)) = text_column(row, col) {
            return v;
        }
        if let Ok(v) = row.try_get::<i64, _>(col) {
            return v.to_string();
        }
    }
    format!("row {n}")
}

/// Runs the audit. Exit 0 when every row is verifiable, 1 when some are not.
///
/// # Errors
/// No query or URL configured, or the database cannot be read.
pub async fn run(args: AuditArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let url = args
        .legacy_url
        .or_else(|| settings.legacy.url.clone())
        .context("no legacy database: set PASSBRIDGE_LEGACY_URL or --legacy-url")?;
    let query = args
        .query
        .or_else(|| settings.import.query.clone())
        .context("no audit query: pass --query 'SELECT id, password_hash FROM users' or set PASSBRIDGE_IMPORT_QUERY")?;
    let pool = db::connect(
        &url,
        PoolSettings {
            max_connections: 1,
            ..PoolSettings::default()
        },
    )
    .await?;
    let mut report = AuditReport::default();
    let mut fit = crate::hook::verifier::BudgetFit::default();
    let mut rows = sqlx::query(&query).fetch(&pool);
    while let Some(row) = rows.try_next().await.context("reading the legacy table")? {
        let id = row_id(&row, report.rows + 1);
        let parsed = match text_column(&row, "password_hash") {
            Ok(Some(hash)) => {
                let hints = Hints {
                    salt: text_column(&row, "salt")
                        .ok()
                        .flatten()
                        .filter(|s| !s.is_empty()),
                    username: text_column(&row, "login").ok().flatten(),
                    params: settings.legacy.params.clone(),
                };
                let scheme = text_column(&row, "scheme")
                    .ok()
                    .flatten()
                    .filter(|s| !s.trim().is_empty());
                let scheme = scheme.as_deref().or(settings.legacy.scheme.as_deref());
                StoredHash::parse_with(scheme, &hash, &hints, &settings.hash.limits)
            }
            Ok(None) => Err(crate::hash::HashError::malformed(
                "none",
                "password_hash is NULL",
            )),
            Err(e) => anyhow::bail!("{e}"),
        };
        if let Ok(h) = &parsed {
            fit.note(h, &settings.legacy.params);
        }
        report.add(id, parsed);
    }
    let mut out = std::io::stdout();
    let budget = settings.hook.budget;
    report.budget_fit = fit.evaluate(budget).await;
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        report.print(&mut out)?;
        print_budget_fit(&mut out, &report.budget_fit, budget)?;
    }
    Ok(if report.problem_counts.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The budget-fit section: which stored-hash shapes can be verified within
/// `hook.budget` on this machine (the hook's own cost model).
fn print_budget_fit(
    out: &mut dyn Write,
    fits: &[crate::hook::verifier::ShapeFit],
    budget: std::time::Duration,
) -> std::io::Result<()> {
    writeln!(
        out,
        "\nbudget fit (hook.budget = {} ms, estimated on this machine):",
        budget.as_millis()
    )?;
    for f in fits {
        let (est, verdict) = match (f.estimate_ms, f.fits) {
            (Some(ms), Some(true)) => (format!("{ms:.1} ms"), "fits"),
            (Some(ms), _) => (format!("{ms:.1} ms"), "TOO SLOW: answered cost_too_high"),
            (None, _) => ("?".to_owned(), "not modelled: measured on first use"),
        };
        writeln!(
            out,
            "  {:<60} rows {:<8} {est:<12} {verdict}",
            f.shape, f.rows
        )?;
    }
    Ok(())
}
