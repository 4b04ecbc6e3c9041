//! The command line: global options and one subcommand per job.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::LogFormat;

const ABOUT: &str = "Move users off a legacy database into Okta without a password reset.";

const LONG_ABOUT: &str = "\
Move users off a legacy database into Okta without a password reset.

Okta calls `passbridge serve` (its Password Import Inline Hook) the first time a
migrated user signs in; passbridge finds the user's legacy hash, verifies the
typed password with the right scheme, and answers VERIFIED or UNVERIFIED.
Okta then stores the password itself and never asks again for that user.

Settings come from built-in defaults, then a TOML file (--config or
PASSBRIDGE_CONFIG; ./passbridge.toml if present), then PASSBRIDGE_* environment
variables, then flags. Secrets (PASSBRIDGE_HOOK_SECRET, OKTA_API_TOKEN) are read
from the environment or the file only, never from flags.";

const EXAMPLES: &str = "\
Examples:
  Try it locally with demo users:      passbridge serve --demo
  Serve against a real database:       PASSBRIDGE_HOOK_SECRET=... passbridge serve \\
      --legacy-url postgres://app@db/legacy \\
      --legacy-query 'SELECT password_hash, salt FROM users WHERE email = $1'
  Check a configuration:               passbridge config check --config passbridge.toml
  What hashes does the legacy table hold: passbridge hash audit --query 'SELECT id, password_hash FROM users'
  Plan, then run, the import into Okta: passbridge import --dry-run && passbridge import --report import.jsonl
  Register the hook in the Okta org:   passbridge hook register --url https://hook.example.com/hooks/password-import
  Try everything without an Okta org:  passbridge dev okta";

/// passbridge command line.
#[derive(Debug, Parser)]
#[command(name = "passbridge", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXAMPLES)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// TOML config file (see passbridge.example.toml).
    #[arg(long, global = true, env = "PASSBRIDGE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log output format.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the password import hook service.
    #[command(
        long_about = "Run the Okta password import inline hook at POST /hooks/password-import, \
with /healthz, /readyz and /metrics. Okta must send the configured header \
(default Authorization) with a value equal to PASSBRIDGE_HOOK_SECRET.",
        after_help = "Examples:\n  passbridge serve --demo\n  passbridge serve --listen 0.0.0.0:8080 --legacy-url mysql://ro@db/app \\\n      --legacy-query 'SELECT pw AS password_hash FROM users WHERE login = ?'"
    )]
    Serve(crate::cmd::serve::ServeArgs),
    /// Inspect and validate the configuration.
    #[command(subcommand)]
    Config(crate::cmd::config::ConfigCommand),
    /// Identify, verify and audit legacy password hashes; list supported schemes.
    #[command(subcommand)]
    Hash(crate::cmd::hash::HashCommand),
    /// Create the legacy users in Okta (native hash import or password-import hook).
    Import(crate::cmd::import::ImportArgs),
    /// Register and manage the Okta password-import inline hook.
    #[command(subcommand)]
    Hook(crate::cmd::hook::HookCommand),
    /// Development helpers: a local Okta stand-in.
    #[command(subcommand)]
    Dev(crate::cmd::dev::DevCommand),
    /// Inspect and clear the hook's attempt counters.
    #[command(subcommand)]
    Throttle(crate::cmd::throttle::ThrottleCommand),
}
