//! `passbridge config check`: validate settings, try the databases and the
//! lookup query, print the effective settings with secrets redacted.

use std::io::Write;
use std::process::ExitCode;

use clap::Subcommand;
use secrecy::ExposeSecret;

use super::serve::LegacyArgs;
use crate::config::{Settings, Sources};
use crate::hash::{Hints, StoredHash};
use crate::legacy::LegacyDb;

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration, test the database connection and the lookup query, and print the effective settings (secrets redacted).
    #[command(
        after_help = "Examples:\n  passbridge config check\n  passbridge config check --config passbridge.toml \\\n    --probe-user alice@example.com"
    )]
    Check {
        /// Legacy database options.
        #[command(flatten)]
        legacy: LegacyArgs,
        /// Also look up this login and report the scheme of its stored hash (never the hash).
        #[arg(long, value_name = "LOGIN")]
        probe_user: Option<String>,
    },
}

/// Whether `stored`'s shape can be verified within `hook.budget` here.
async fn budget_fit(
    stored: &StoredHash,
    settings: &Settings,
    report: &mut impl FnMut(bool, &str) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut fit = crate::hook::verifier::BudgetFit::default();
    fit.note(stored, &settings.legacy.params);
    for f in fit.evaluate(settings.hook.budget).await {
        match (f.estimate_ms, f.fits) {
            (Some(ms), Some(good)) => report(
                good,
                &format!(
                    "{}: estimated {ms:.1} ms per verification, hook.budget {} ms",
                    f.shape,
                    settings.hook.budget.as_millis()
                ),
            )?,
            _ => report(
                true,
                &format!("{}: cost not modelled; measured on first use", f.shape),
            )?,
        }
    }
    Ok(())
}

/// Runs a `config` subcommand. Exit 0 when everything checks out, 1 otherwise.
///
/// # Errors
/// Never for a failed check (that is exit code 1); only for I/O on stdout.
pub async fn run(
    cmd: ConfigCommand,
    mut settings: Settings,
    sources: &Sources,
) -> anyhow::Result<ExitCode> {
    let ConfigCommand::Check { legacy, probe_user } = cmd;
    legacy.apply(&mut settings);
    let mut ok = true;
    let mut stdout = std::io::stdout();
    let out: &mut dyn Write = &mut stdout;
    let mut report = |good: bool, what: &str| -> std::io::Result<()> {
        ok &= good;
        writeln!(out, "[{}] {what}", if good { " ok " } else { "FAIL" })
    };
    match &sources.file {
        Some(path) => report(true, &format!("config file {}", path.display()))?,
        None => report(true, "no config file (defaults + environment + flags)")?,
    }
    for name in &sources.unknown_env {
        report(
            false,
            &format!("unknown environment variable {name} (typo?)"),
        )?;
    }
    match settings.validate_for_serve() {
        Ok(()) => report(true, "settings are complete")?,
        Err(e) => report(false, &e.to_string())?,
    }
    let checks = crate::preflight::run(&settings).await;
    match (&checks.legacy, checks.legacy_ok_line()) {
        (Some(Err(failure)), _) => report(false, &failure.to_string())?,
        (Some(Ok(_)), Some(line)) => report(true, &line)?,
        _ => {}
    }
    if let (Some(probe), Some(url), Some(query), Some(Ok(_))) = (
        &probe_user,
        &settings.legacy.url,
        &settings.legacy.query,
        &checks.legacy,
    ) {
        match LegacyDb::side_connection(
            url,
            query,
            settings.legacy.connect_timeout,
            settings.legacy.query_timeout,
        ) {
            Ok(db) => match db.find_user(probe).await {
                Ok(None) => report(false, &format!("no legacy row for {probe}"))?,
                Ok(Some(user)) => {
                    let hints = Hints {
                        salt: user.salt.clone(),
                        username: Some(probe.clone()),
                        params: settings.legacy.params.clone(),
                    };
                    let scheme = user.scheme.as_deref().or(settings.legacy.scheme.as_deref());
                    match StoredHash::parse_with(
                        scheme,
                        user.password_hash.expose_secret(),
                        &hints,
                        &settings.hash.limits,
                    ) {
                        Ok(h) => {
                            report(
                                true,
                                &format!(
                                    "{probe}: stored hash is {} (okta native: {})",
                                    h.scheme(),
                                    h.okta_native().is_some()
                                ),
                            )?;
                            budget_fit(&h, &settings, &mut report).await?;
                        }
                        Err(e) => report(false, &format!("{probe}: {e}"))?,
                    }
                }
                Err(e) => report(false, &format!("legacy database {url}: {e}"))?,
            },
            Err(e) => report(false, &e.to_string())?,
        }
    }
    match (&checks.ledger, checks.ledger_ok_line()) {
        (Err(failure), _) => report(false, &failure.to_string())?,
        (Ok(()), Some(line)) => report(true, &line)?,
        (Ok(()), None) => {}
    }
    writeln!(
        stdout,
        "\n# effective settings (secrets redacted)\n{}",
        settings.to_redacted_toml()
    )?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
