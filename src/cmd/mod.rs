//! One module per subcommand; `run` dispatches after loading settings and logging.

pub mod audit;
pub mod config;
pub mod dev;
pub mod event_hook;
pub mod generate;
pub mod hash;
pub mod hook;
pub mod import;
pub mod reconcile;
pub mod retire;
pub mod serve;
pub mod status;
pub mod stragglers;
pub mod throttle;

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{Cli, Command};
use crate::config::{Settings, Sources};
use crate::db::DatabaseUrl;
use crate::ledger::Ledger;
use crate::telemetry;

/// Opens the ledger of a command: its `--ledger-url` when given, else the
/// settings' (`PASSBRIDGE_LEDGER_URL`).
///
/// # Errors
/// The ledger cannot be opened or migrated; the error names the URL
/// (password redacted) and how to set it.
pub async fn open_ledger(
    flag: Option<&DatabaseUrl>,
    settings: &Settings,
) -> anyhow::Result<Ledger> {
    let url = flag.cloned().unwrap_or_else(|| settings.ledger_url());
    Ledger::connect(&url)
        .await
        .with_context(|| format!("ledger database {url} (set PASSBRIDGE_LEDGER_URL)"))
}

/// Loads settings (file < env), applies `--log-format`, starts logging, runs the command.
///
/// # Errors
/// Whatever the command reports; `main` prints the chain.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // These need no settings: a broken config file must not block them.
    match &cli.command {
        Command::Completions { shell } => {
            return generate::completions(*shell, &mut std::io::stdout().lock())
        }
        Command::Man { out } => {
            return generate::man(out.as_deref(), &mut std::io::stdout().lock())
        }
        _ => {}
    }
    let (mut settings, sources) =
        crate::config::load(cli.global.config.as_deref(), &crate::config::process_env())
            .context("loading settings")?;
    if let Some(format) = cli.global.log_format {
        settings.log.format = format;
    }
    init_logging(&settings, &sources);
    match cli.command {
        Command::Serve(args) => {
            tracing::info!(
                version = crate::build_info::VERSION,
                commit = crate::build_info::COMMIT,
                build_date = crate::build_info::BUILD_DATE,
                "passbridge starting"
            );
            serve::run(args, settings).await
        }
        Command::Config(cmd) => self::config::run(cmd, settings, &sources).await,
        Command::Hash(hash::HashCommand::Audit(args)) => audit::run(args, &settings).await,
        Command::Hash(cmd) => hash::run(cmd, &settings.hash.limits),
        Command::Import(args) => import::run(args, &settings).await,
        Command::Hook(cmd) => hook::run(cmd, &settings, &sources).await,
        Command::Dev(cmd) => dev::run(cmd, &settings).await,
        Command::Completions { .. } | Command::Man { .. } => Ok(ExitCode::SUCCESS),
        Command::Throttle(cmd) => throttle::run(cmd, &settings).await,
        Command::Stragglers(args) => stragglers::run(args, &settings).await,
        Command::Status(args) => status::run(args, &settings).await,
        Command::Reconcile(args) => reconcile::run(args, &settings).await,
    }
}

/// True when `e` comes from writing to a closed pipe (`passbridge … | head`):
/// the reader has what it wanted, so this is no error to report.
///
/// Only a bare `io::Error` (what `writeln!(out, …)?` returns) counts; a
/// broken pipe deep inside a database or HTTP error is a real failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// The error and its causes on one line, `a: b: c`, each cause once.
///
/// Many errors (ours and sqlx's) already include their source in their own
/// message; printing every layer of the chain would then repeat the same
/// text two or three times. A cause whose text the line already holds adds
/// nothing and is left out.
pub fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

fn init_logging(settings: &Settings, sources: &Sources) {
    telemetry::init(telemetry::subscriber(
        &settings.log.filter,
        settings.log.format,
        std::io::stderr,
    ));
    for name in &sources.unknown_env {
        tracing::warn!(variable = %name, "unknown PASSBRIDGE_ environment variable ignored (typo?)");
    }
}
