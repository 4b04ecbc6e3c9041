//! `passbridge dev okta`: a local Okta stand-in for trying the whole
//! migration flow (import, hook registration, sign-in) without an org.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use crate::config::Settings;
use crate::dev_okta::{self, Faults, RateLimit, Sha256Salt};

/// `passbridge dev …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DevCommand {
    /// Run a local Okta stand-in (users API, inline hooks API, sign-in).
    #[command(
        long_about = "Run a local stand-in for an Okta org: the Users API (create with a hash \
object or the password-import hook flag, get by login, reset_password), the Inline Hooks API, \
and sign-in at \
POST /api/v1/authn {\"username\",\"password\"}, which checks imported hashes itself or calls \
the registered password-import hook exactly as Okta does. It enforces the SSWS token, \
validates bodies field by field, sends X-Rate-Limit-* headers and can answer 429, 5xx or \
slowly. Inspect a user with GET /__dev/users/{login}, the reset-password emails it would \
have sent with GET /__dev/emails (same token). Not Okta: for tests and \
demos only.",
        after_help = "Example:\n  passbridge dev okta --rate-limit 100/min\n  # then, in another shell, use the printed OKTA_ORG_URL and OKTA_API_TOKEN"
    )]
    Okta(DevOktaArgs),
}

/// How `dev okta` answers (CLI form of SHA-256 salt reading).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Sha256SaltArg {
    /// Base64-decode the salt, like the other algorithms.
    Decoded,
    /// Use the salt string's bytes, as Okta's SHA-256 example implies.
    Text,
}

/// `dev okta` options.
#[derive(Debug, Clone, clap::Args)]
pub struct DevOktaArgs {
    /// Address to listen on (keep it on loopback: this is a test double).
    #[arg(long, default_value = "127.0.0.1:8089")]
    pub listen: SocketAddr,
    /// API token clients must send as `SSWS <token>` (default: generated and printed).
    /// A throwaway value for the stand-in, never a real Okta token.
    #[arg(long, env = "PASSBRIDGE_DEV_OKTA_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Request budget per endpoint and window, e.g. 100/min, 600/60s, 20/2s (default: unlimited).
    #[arg(long, value_name = "BUDGET/WINDOW")]
    pub rate_limit: Option<RateLimit>,
    /// Probability of answering a management call with 500 without doing it.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub fail_rate: f64,
    /// Probability of doing a management call and then answering 504.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub fail_after_rate: f64,
    /// Probability of answering a management call slowly.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub slow_rate: f64,
    /// Delay of a slow answer.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub slow_delay: Duration,
    /// Timeout of each call to the password-import hook (Okta: 3s).
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub hook_timeout: Duration,
    /// Accept users without firstName/lastName (Okta's default profile requires them).
    #[arg(long)]
    pub no_require_names: bool,
    /// How to read the salt of imported SHA-256 hashes.
    #[arg(long, value_enum, default_value = "decoded")]
    pub sha256_salt: Sha256SaltArg,
    /// Seed for the fault and event-delivery dice (reproducible runs).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Longest random wait before a batch of user.import.password events is
    /// delivered to the event hooks (Okta delivers late).
    #[arg(long, default_value = "200ms", value_parser = humantime::parse_duration)]
    pub event_delay: Duration,
    /// Probability that an event batch is delivered a second time (Okta
    /// delivers at least once), e.g. 0.25.
    #[arg(long, default_value_t = 0.25, value_name = "P")]
    pub event_duplicate_rate: f64,
}

/// Runs the chosen dev helper until Ctrl-C / SIGTERM.
///
/// # Errors
/// The port is in use or the stand-in failed.
pub async fn run(cmd: DevCommand, _settings: &Settings) -> anyhow::Result<ExitCode> {
    let DevCommand::Okta(args) = cmd;
    let (token, generated) = match args.token.filter(|t| !t.trim().is_empty()) {
        Some(t) => (SecretString::from(t), false),
        None => (crate::startup::generate_secret(), true),
    };
    let mut config = dev_okta::Config::new(token.clone());
    config.rate_limit = args.rate_limit;
    config.faults = Faults {
        error_rate: args.fail_rate,
        error_after_rate: args.fail_after_rate,
        slow_rate: args.slow_rate,
        slow_delay: args.slow_delay,
    };
    config.hook_timeout = args.hook_timeout;
    config.require_names = !args.no_require_names;
    config.sha256_salt = match args.sha256_salt {
        Sha256SaltArg::Decoded => Sha256Salt::Decoded,
        Sha256SaltArg::Text => Sha256Salt::Text,
    };
    config.seed = args.seed;
    config.events = dev_okta::EventDelivery {
        max_delay: args.event_delay,
        duplicate_rate: args.event_duplicate_rate,
    };
    if !args.listen.ip().is_loopback() {
        tracing::warn!(listen = %args.listen, "the Okta stand-in is a test double; it is listening beyond loopback");
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let limit = args
        .rate_limit
        .map_or_else(|| "unlimited".to_owned(), |l| l.to_string());
    dev_okta::serve(
        listener,
        config,
        |url| {
            let url = url.as_str().trim_end_matches('/');
            println!("Okta stand-in listening on {url} (rate limit {limit}). Use:");
            println!("  export OKTA_ORG_URL={url}");
            if generated {
                println!("  export OKTA_API_TOKEN={}", token.expose_secret());
            } else {
                println!("  export OKTA_API_TOKEN=<the --token / PASSBRIDGE_DEV_OKTA_TOKEN value>");
            }
            println!("Sign in as Okta would: curl -s {url}/api/v1/authn -H 'Content-Type: application/json' -d '{{\"username\":\"…\",\"password\":\"…\"}}'");
        },
        crate::startup::shutdown_signal(),
    )
    .await
    .context("Okta stand-in")?;
    Ok(ExitCode::SUCCESS)
}
