//! One module per subcommand; `run` dispatches after loading settings and logging.

pub mod audit;
pub mod config;
pub mod dev;
pub mod hash;
pub mod hook;
pub mod import;
pub mod serve;
pub mod throttle;

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{Cli, Command};
use crate::config::{Settings, Sources};
use crate::telemetry;

/// Loads settings (file < env), applies `--log-format`, starts logging, runs the command.
///
/// # Errors
/// Whatever the command reports; `main` prints the chain.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let (mut settings, sources) =
        crate::config::load(cli.global.config.as_deref(), &crate::config::process_env())
            .context("loading settings")?;
    if let Some(format) = cli.global.log_format {
        settings.log.format = format;
    }
    init_logging(&settings, &sources);
    match cli.command {
        Command::Serve(args) => serve::run(args, settings).await,
        Command::Config(cmd) => self::config::run(cmd, settings, &sources).await,
        Command::Hash(hash::HashCommand::Audit(args)) => audit::run(args, &settings).await,
        Command::Hash(cmd) => hash::run(cmd, &settings.hash.limits),
        Command::Import(args) => import::run(args, &settings).await,
        Command::Hook(cmd) => hook::run(cmd, &settings).await,
        Command::Dev(cmd) => dev::run(cmd, &settings).await,
        Command::Throttle(cmd) => throttle::run(cmd, &settings).await,
    }
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
