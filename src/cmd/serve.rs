//! `passbridge serve`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::db::DatabaseUrl;
use crate::startup::{self, Application};

/// Flags that override the legacy-database settings (shared with `config check`).
#[derive(Debug, Clone, Default, Args)]
pub struct LegacyArgs {
    /// Legacy database URL: sqlite://users.db, postgres://…, mysql://… [env: PASSBRIDGE_LEGACY_URL]
    #[arg(long, value_name = "URL")]
    pub legacy_url: Option<DatabaseUrl>,
    /// Lookup query with one bind parameter (? or $1) returning password_hash [, salt, scheme] [env: PASSBRIDGE_LEGACY_QUERY]
    #[arg(long, value_name = "SQL")]
    pub legacy_query: Option<String>,
    /// Ledger database URL (default: passbridge-ledger.db next to a SQLite legacy DB) [env: PASSBRIDGE_LEDGER_URL]
    #[arg(long, value_name = "URL")]
    pub ledger_url: Option<DatabaseUrl>,
}

impl LegacyArgs {
    /// CLI flags win over file and environment.
    pub fn apply(self, settings: &mut Settings) {
        if let Some(url) = self.legacy_url {
            settings.legacy.url = Some(url);
        }
        if let Some(query) = self.legacy_query {
            settings.legacy.query = Some(query);
        }
        if let Some(url) = self.ledger_url {
            settings.ledger.url = Some(url);
        }
    }
}

/// `serve` options.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on [env: PASSBRIDGE_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR", value_parser = crate::config::parse_listen)]
    pub listen: Option<std::net::SocketAddr>,
    /// Address of /metrics, /readyz and /healthz; keep it private [env: PASSBRIDGE_ADMIN_LISTEN] [default: 127.0.0.1:9090]
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<std::net::SocketAddr>,
    /// PEM certificate chain; with --tls-key the hook listener serves HTTPS (reloaded on SIGHUP or file change) [env: PASSBRIDGE_TLS_CERT]
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert [env: PASSBRIDGE_TLS_KEY]
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Legacy database options.
    #[command(flatten)]
    pub legacy: LegacyArgs,
    /// Create a SQLite legacy database with demo users, generate a hook secret, and print a ready-to-run curl command.
    #[arg(long)]
    pub demo: bool,
    /// Where --demo keeps its databases.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "passbridge-demo",
        requires = "demo"
    )]
    pub demo_dir: PathBuf,
    /// Start even when the legacy database or its lookup query fails the
    /// start-up checks (for a database that comes up later); /readyz reports
    /// unready until the query works. The ledger must always pass.
    #[arg(long, env = "PASSBRIDGE_ALLOW_DEGRADED_START", value_parser = clap::builder::BoolishValueParser::new())]
    pub allow_degraded_start: bool,
}

/// Runs the service until SIGTERM / Ctrl-C.
///
/// # Errors
/// Invalid settings, unreachable ledger, port in use.
pub async fn run(args: ServeArgs, mut settings: Settings) -> anyhow::Result<ExitCode> {
    if let Some(listen) = args.listen {
        settings.listen = listen;
    }
    if let Some(admin) = args.admin_listen {
        settings.admin_listen = admin;
    }
    if let Some(cert) = args.tls_cert {
        settings.tls_cert = Some(cert);
    }
    if let Some(key) = args.tls_key {
        settings.tls_key = Some(key);
    }
    args.legacy.apply(&mut settings);
    let mut demo_config = None;
    let demo_secret = if args.demo {
        let db = crate::demo::ensure_database(&args.demo_dir)
            .await
            .context("creating the demo database")?;
        let config = crate::demo::apply(&mut settings, &db)?;
        demo_config = Some(config);
        if settings.hook.secrets.is_empty() {
            let secret = startup::generate_secret();
            settings.hook.secrets.push(secret.clone());
            Some(secret)
        } else {
            None
        }
    } else {
        None
    };
    settings.validate_for_serve().context("configuration")?;
    if !startup_checks(&settings, args.allow_degraded_start).await {
        return Ok(ExitCode::from(2));
    }
    let app = Application::build(settings.clone()).await?;
    let addr = app.local_addr();
    let admin = app.admin_addr();
    if args.demo {
        print_demo_banner(
            addr,
            admin,
            &settings,
            demo_secret.as_ref().map(|s| s.expose_secret()),
            demo_config.as_deref(),
        );
    }
    let tls = app.is_tls();
    tracing::info!(%addr, %admin, hook = crate::hook::PATH, tls, "passbridge listening");
    app.run_until_stopped(startup::shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Runs the `config check` probes before binding; prints one line per failed
/// check on stderr. `false` when `serve` must not start.
pub async fn startup_checks(settings: &Settings, allow_degraded: bool) -> bool {
    let report = crate::preflight::run(settings).await;
    let mut start = true;
    for failure in report.failures() {
        if allow_degraded && failure.problem.is_legacy() {
            eprintln!("warning: {failure}");
            eprintln!("warning: starting anyway (--allow-degraded-start); /readyz reports unready until the lookup query works");
            tracing::warn!(key = failure.problem.key(), error = %failure.problem, "degraded start");
        } else {
            eprintln!("error: {failure}");
            start = false;
        }
    }
    if !start {
        eprintln!("error: serve did not start; `passbridge config check` runs the same checks");
    }
    start
}

fn print_demo_banner(
    addr: std::net::SocketAddr,
    admin: std::net::SocketAddr,
    settings: &Settings,
    secret: Option<&str>,
    config: Option<&std::path::Path>,
) {
    let header = &settings.hook.header;
    let shown_secret = secret.unwrap_or("$PASSBRIDGE_HOOK_SECRET");
    let hook_scheme = if settings.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let admin_scheme = if settings.admin_tls { "https" } else { "http" };
    println!(
        "passbridge demo: legacy database {}",
        settings
            .legacy
            .url
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    );
    println!("ledger: {}", settings.ledger_url());
    println!();
    println!("Demo users (sample data, stored in different legacy hash schemes):");
    for user in crate::demo::users() {
        println!("  {:<20} {:<17} {}", user.email, user.password, user.scheme);
    }
    println!();
    match secret {
        Some(_) => println!("Generated hook secret (shown once; Okta sends it in the {header} header):\n  {shown_secret}"),
        None => println!("Using the hook secret from PASSBRIDGE_HOOK_SECRET."),
    }
    if let Some(config) = config {
        println!();
        println!(
            "The demo's settings are in {0}; the other commands read them with --config:\n  passbridge --config {0} hash audit",
            config.display()
        );
    }
    println!();
    println!("Try it (Okta's request shape; x-passbridge-test keeps it out of migrated_users):");
    println!(
        "  curl -sS -X POST {hook_scheme}://{addr}{path} \\\n    -H '{header}: {shown_secret}' -H 'Content-Type: application/json' -H 'x-passbridge-test: 1' \\\n    -d '{{\"eventType\":\"com.okta.user.credential.password.import\",\"data\":{{\"context\":{{\"credential\":{{\"username\":\"alice@example.com\",\"password\":\"alice-Passw0rd!\"}}}},\"action\":{{\"credential\":\"UNVERIFIED\"}}}}}}'",
        path = crate::hook::PATH
    );
    println!();
    println!("Health: {hook_scheme}://{addr}/healthz  Ready: {admin_scheme}://{admin}/readyz  Metrics: {admin_scheme}://{admin}/metrics");
    println!("Stop with Ctrl-C.");
}
