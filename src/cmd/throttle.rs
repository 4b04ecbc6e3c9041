//! `passbridge throttle clear LOGIN [--ip IP]`: forget the attempt counters
//! of a user an admin has verified by other means, or of an IP bucket.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::config::Settings;
use crate::hook::throttle::{IpBucket, Subject, Throttle, ThrottleLimits};
use crate::ledger::GroupCommit;
use crate::legacy::LegacyDb;
use crate::metrics::Metrics;

/// `throttle` subcommands.
#[derive(Debug, Subcommand)]
pub enum ThrottleCommand {
    /// Clear the counters of LOGIN's legacy row and its normalised username, and/or of an IP.
    #[command(
        after_help = "Examples:\n  passbridge throttle clear alice@example.com\n  passbridge throttle clear --ip 203.0.113.7\n\nThe login is looked up with the configured legacy query (PASSBRIDGE_LEGACY_URL,\nPASSBRIDGE_LEGACY_QUERY) to find the row whose counters to clear."
    )]
    Clear(ClearArgs),
}

/// `throttle clear` options.
#[derive(Debug, Clone, Args)]
pub struct ClearArgs {
    /// The login as users type it.
    #[arg(required_unless_present = "ip")]
    pub login: Option<String>,
    /// Also clear this end-user IP's counter (an IPv6 address clears its /64).
    #[arg(long, value_name = "IP")]
    pub ip: Option<String>,
    /// Ledger database URL [env: PASSBRIDGE_LEDGER_URL]
    #[arg(long, value_name = "URL")]
    pub ledger_url: Option<crate::db::DatabaseUrl>,
}

/// Runs a `throttle` subcommand.
///
/// # Errors
/// The ledger or the legacy database cannot be used.
pub async fn run(cmd: ThrottleCommand, settings: &Settings) -> anyhow::Result<ExitCode> {
    let ThrottleCommand::Clear(args) = cmd;
    let ledger = super::open_ledger(args.ledger_url.as_ref(), settings).await?;
    let writer = GroupCommit::spawn(ledger.clone(), Metrics::new());
    let throttle = Throttle::new(
        ledger,
        writer,
        ThrottleLimits::from_settings(&settings.hook),
    );
    if let Some(login) = &args.login {
        clear_login(&throttle, settings, login).await?;
    }
    if let Some(ip) = &args.ip {
        let bucket = IpBucket::from_okta(Some(ip));
        if bucket.as_str() == "unknown" && ip.trim() != "unknown" {
            anyhow::bail!("{ip:?} is not an IP address (use `unknown` for calls without one)");
        }
        let cleared = throttle.clear_ip(&bucket).await?;
        println!(
            "cleared {} counter(s) for IP {}",
            cleared.counters,
            bucket.as_str()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn clear_login(throttle: &Throttle, settings: &Settings, login: &str) -> anyhow::Result<()> {
    // The same username the hook looks up (see hook::handler::password_import).
    let username = settings.legacy.login_for(login);
    let by_name = Subject::for_unknown(&username);
    let cleared = throttle.clear_subject(&by_name).await?;
    println!(
        "cleared {} counter(s) for the username {login:?} ({})",
        cleared.counters,
        by_name.key()
    );
    let (Some(url), Some(query)) = (&settings.legacy.url, &settings.legacy.query) else {
        anyhow::bail!(
            "legacy.url and legacy.query are needed to find {login:?}'s row \
             (set PASSBRIDGE_LEGACY_URL and PASSBRIDGE_LEGACY_QUERY)"
        );
    };
    let legacy = LegacyDb::side_connection(
        url,
        query,
        settings.legacy.connect_timeout,
        settings.legacy.query_timeout,
    )?;
    match legacy
        .find_user(&username)
        .await
        .context("looking up the login")?
    {
        Some(user) => {
            let row = Subject::for_row(&user);
            let cleared = throttle.clear_subject(&row).await?;
            println!(
                "cleared {} counter(s) for {login:?}'s legacy row ({})",
                cleared.counters,
                row.key()
            );
        }
        None => println!("no legacy row for {login:?}; only its username counters were cleared"),
    }
    Ok(())
}
