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

// Example lines stay under 80 columns and long commands continue with ` \`:
// `help_width` never lets clap wrap narrower than 80, so no command is broken
// in the middle and every line can be copied as it is.
const EXAMPLES: &str = "\
Examples:
  # Try it locally with demo users
  passbridge serve --demo
  # Serve against a real database (the same secret for serve and hook register)
  export PASSBRIDGE_HOOK_SECRET=\"$(openssl rand -base64 32)\"
  passbridge serve --legacy-url postgres://app@db/legacy \\
    --legacy-query 'SELECT password_hash, salt FROM users WHERE email = $1'
  # Check a configuration
  passbridge config check --config passbridge.toml
  # What hashes does the legacy table hold
  passbridge hash audit --query 'SELECT id, password_hash FROM users'
  # Plan, then run, the import into Okta
  passbridge import --dry-run && passbridge import --report import.jsonl
  # Watch the migration (add --json for scripts)
  passbridge status
  # Register the hook in the Okta org
  passbridge hook register --url https://hook.example.com/hooks/password-import
  # The end: email the users who never signed in, then retire the hook
  passbridge stragglers --older-than 60d --reset-password
  passbridge hook retire --delete
  # Confirm with Okta which hook users' passwords it now stores
  passbridge reconcile --dry-run
  # Try everything without an Okta org
  passbridge dev okta
  # Shell completion and man page
  passbridge completions bash > /etc/bash_completion.d/passbridge
  passbridge man --out ~/.local/share/man/man1";

const SERVE_EXAMPLES: &str = "\
Examples:
  passbridge serve --demo
  passbridge serve --listen 0.0.0.0:8080 --legacy-url mysql://ro@db/app \\
    --legacy-query 'SELECT pw AS password_hash FROM users WHERE login = ?'";

/// passbridge command line.
#[derive(Debug, Parser)]
#[command(
    name = "passbridge",
    version = crate::build_info::LONG_VERSION,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXAMPLES
)]
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
        after_help = SERVE_EXAMPLES
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
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(
        after_help = "Examples:\n  passbridge completions bash > /etc/bash_completion.d/passbridge\n  passbridge completions zsh > \"${fpath[1]}/_passbridge\"\n  passbridge completions fish > ~/.config/fish/completions/passbridge.fish"
    )]
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man page (passbridge.1; with --out, one page per subcommand too).
    #[command(
        after_help = "Examples:\n  passbridge man | man -l -\n  passbridge man --out ~/.local/share/man/man1"
    )]
    Man {
        /// Directory to write passbridge.1 and passbridge-SUBCOMMAND.1 into
        /// (default: passbridge.1 on standard output).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Inspect and clear the hook's attempt counters.
    #[command(subcommand)]
    Throttle(crate::cmd::throttle::ThrottleCommand),
    /// List hook users who never signed in; send them Okta's reset-password email.
    Stragglers(crate::cmd::stragglers::StragglersArgs),
    /// Show the migration's progress: imports, verifications, stragglers, rate, ETA.
    #[command(after_help = crate::cmd::status::EXAMPLES)]
    Status(crate::cmd::status::StatusArgs),
    /// Ask Okta which hook users' passwords it now stores; record them confirmed.
    Reconcile(crate::cmd::reconcile::ReconcileArgs),
}

/// The width help is laid out for: the terminal's, but never under 80
/// columns. Narrower, clap would break example commands in the middle (copy
/// and paste then fails); a terminal's own soft wrap keeps them whole.
pub fn help_width() -> usize {
    let detected = terminal_size::terminal_size()
        .map(|(w, _)| usize::from(w.0))
        .or_else(|| std::env::var("COLUMNS").ok()?.trim().parse().ok())
        .unwrap_or(100);
    detected.max(MIN_HELP_WIDTH)
}

/// See [`help_width`].
pub const MIN_HELP_WIDTH: usize = 80;

/// The clap command with the help width applied (to every subcommand).
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    Cli::command().term_width(help_width())
}

/// Parses the process arguments (exits with clap's message and status on
/// a usage error, `--help` or `--version`).
pub fn parse() -> Cli {
    use clap::FromArgMatches;
    match Cli::from_arg_matches(&command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    }
}
