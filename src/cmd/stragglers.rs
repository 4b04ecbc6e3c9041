//! `passbridge stragglers`: list the hook users who have not signed in since
//! the import, and optionally send each of them Okta's reset-password email.
//! Who counts is the ledger's rule (`ledger::Ledger::stragglers`); the reset
//! run is `crate::stragglers::reset`.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;
use time::OffsetDateTime;

use crate::cmd::hook::{okta_client, OrgArgs};
use crate::config::Settings;
use crate::db::DatabaseUrl;
use crate::ledger::stragglers::{ResetState, Straggler};
use crate::stragglers::{self, Age, Quiet, ResetObserver, ResetProgress};

const LONG_ABOUT: &str = "\
List the stragglers: users `import` created with the password-import hook flag
more than --older-than ago who have not been verified by the hook at a real
sign-in since, whom Okta has not confirmed as migrated, and who were not sent a
reset-password email yet. Read from the ledger (--ledger-url); nothing is sent.

--reset-password sends each of them Okta's reset-password email
(POST /api/v1/users/{id}/lifecycle/reset_password?sendEmail=true; the user is
then in RECOVERY and sets a new password in Okta, without the hook). The run
is paced by Okta's X-Rate-Limit-* headers and waits out 429s. Every user is
recorded in the ledger (straggler_resets) as pending before the call and sent
after it: a re-run never emails a user twice (unless --again), and a run killed
half-way is resumed by running it again (a user left pending is read back from
Okta before anything is sent). --dry-run says what would be sent and does
nothing. Exit status: 0 when no reset failed, 1 when some did (a re-run retries
them), 2 on errors.

The API token is read from OKTA_API_TOKEN only.";

const EXAMPLES: &str = "\
Examples:
  # Who has not signed in within 60 days of the import
  passbridge stragglers --older-than 60d
  # The same for scripts (schema in the README)
  passbridge stragglers --older-than 60d --json
  # What a reset would do, then a first batch, then everyone
  passbridge stragglers --older-than 60d --reset-password --dry-run
  passbridge stragglers --older-than 60d --reset-password --limit 100
  passbridge stragglers --older-than 60d --reset-password";

/// `stragglers` options.
#[derive(Debug, Clone, clap::Args)]
#[command(long_about = LONG_ABOUT, after_help = EXAMPLES)]
pub struct StragglersArgs {
    /// Only users imported more than this long ago: 7d, 12h, 90d, 0d (everyone).
    #[arg(long, value_name = "AGE", default_value = "60d")]
    pub older_than: Age,
    /// Print the list as JSON (schema in the README) instead of a table.
    #[arg(long, conflicts_with = "reset_password")]
    pub json: bool,
    /// At most N stragglers (the oldest first).
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Send each straggler Okta's reset-password email.
    #[arg(long)]
    pub reset_password: bool,
    /// With --reset-password: say what would be sent; call nothing, write nothing.
    #[arg(long, requires = "reset_password")]
    pub dry_run: bool,
    /// With --reset-password: also email users already sent one by an earlier run.
    #[arg(long, requires = "reset_password")]
    pub again: bool,
    /// Ledger database URL [env: PASSBRIDGE_LEDGER_URL] [default: passbridge-ledger.db next to a SQLite legacy DB].
    #[arg(long, value_name = "URL")]
    pub ledger_url: Option<DatabaseUrl>,
    /// Org selection.
    #[command(flatten)]
    pub org: OrgArgs,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}

/// One straggler in `--json` output.
#[derive(Debug, Serialize)]
struct JsonStraggler<'a> {
    login: &'a str,
    okta_id: Option<&'a str>,
    imported_at: String,
    age_days: u64,
    age_seconds: u64,
    scheme: Option<&'a str>,
    reset: Option<ResetState>,
}

/// The `--json` document.
#[derive(Debug, Serialize)]
struct JsonList<'a> {
    older_than: String,
    older_than_seconds: u64,
    generated_at: String,
    count: usize,
    stragglers: Vec<JsonStraggler<'a>>,
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn json_list(list: &[Straggler], older_than: Age, now: OffsetDateTime) -> anyhow::Result<String> {
    let doc = JsonList {
        older_than: older_than.to_string(),
        older_than_seconds: older_than.0.as_secs(),
        generated_at: rfc3339(now),
        count: list.len(),
        stragglers: list
            .iter()
            .map(|s| {
                let age = s.age(now).as_secs();
                JsonStraggler {
                    login: &s.login,
                    okta_id: s.okta_id.as_deref(),
                    imported_at: rfc3339(s.imported_at),
                    age_days: age / 86_400,
                    age_seconds: age,
                    scheme: s.scheme.as_deref(),
                    reset: s.reset,
                }
            })
            .collect(),
    };
    Ok(serde_json::to_string_pretty(&doc)?)
}

fn table(list: &[Straggler], now: OffsetDateTime, out: &mut dyn Write) -> std::io::Result<()> {
    let width = list.iter().map(|s| s.login.len()).max().unwrap_or(0).max(5);
    writeln!(
        out,
        "{:width$}  {:20}  {:20}  {:>6}  {:16}  RESET",
        "LOGIN", "OKTA ID", "IMPORTED AT", "AGE", "SCHEME"
    )?;
    for s in list {
        let imported = s
            .imported_at
            .format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]Z"
            ))
            .unwrap_or_default();
        writeln!(
            out,
            "{:width$}  {:20}  {:20}  {:>5}d  {:16}  {}",
            s.login,
            s.okta_id.as_deref().unwrap_or("-"),
            imported,
            s.age(now).as_secs() / 86_400,
            s.scheme.as_deref().unwrap_or("-"),
            s.reset.map_or("-", ResetState::as_str),
        )?;
    }
    Ok(())
}

/// Runs `passbridge stragglers`.
///
/// # Errors
/// Missing settings, an unreachable ledger or Okta, or a ledger write failure.
pub async fn run(args: StragglersArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let ledger = super::open_ledger(args.ledger_url.as_ref(), settings).await?;
    let list = if args.again {
        ledger
            .stragglers_with_sent_resets(args.older_than.0, args.limit)
            .await
    } else {
        ledger.stragglers(args.older_than.0, args.limit).await
    }
    .context("reading the stragglers from the ledger")?;
    let now = OffsetDateTime::now_utc();
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", json_list(&list, args.older_than, now)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if !args.reset_password || args.dry_run {
        if !list.is_empty() {
            table(&list, now, &mut out)?;
        }
        writeln!(
            out,
            "{} stragglers imported more than {} ago (not verified at a sign-in, not confirmed by Okta, not reset){}",
            list.len(),
            args.older_than,
            if args.limit.is_some() { " (--limit applied)" } else { "" }
        )?;
    }
    if !args.reset_password {
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        writeln!(
            out,
            "Dry run: would send Okta's reset-password email to {} users; nothing was sent to Okta and nothing was written",
            list.iter().filter(|s| s.okta_id.is_some()).count()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let okta = okta_client(settings, args.org.okta_org.as_ref())?;
    crate::import::preflight::check_org(&okta).await?;
    let run_id = uuid::Uuid::new_v4().to_string();
    let progress = ResetProgress::new(std::io::stderr().is_terminal());
    let observer: &dyn ResetObserver = if args.quiet { &Quiet } else { &progress };
    let summary = stragglers::reset(&ledger, &okta, &list, &run_id, observer).await?;
    write!(out, "{}", summary.render())?;
    Ok(if summary.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
