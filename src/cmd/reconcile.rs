//! `passbridge reconcile`: thin CLI over [`crate::reconcile`] (settings,
//! the Okta client, the ledger, a progress bar on a terminal).

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::hook::{okta_client, OrgArgs};
use crate::config::Settings;
use crate::db::DatabaseUrl;
use crate::reconcile::{self, Options};

const EXAMPLES: &str = "\
Examples:
  export OKTA_ORG_URL=https://example.okta.com OKTA_API_TOKEN=...
  # What would change, without changing anything
  passbridge reconcile --dry-run
  # Confirm up to 1000 users now; run again to go on
  passbridge reconcile --limit 1000";

/// `passbridge reconcile …`
#[derive(Debug, Clone, clap::Args)]
#[command(
    long_about = "Ask Okta about every user imported with the password-import hook flag that \
the ledger does not know as confirmed (no user.import.password SUCCESS event seen): \
GET /api/v1/users/{id}, reading credentials.provider.type. OKTA means Okta stored the \
password (the ledger records it confirmed, source reconcile); IMPORT means the user has not \
signed in through the hook yet. Paced within Okta's rate limit. Each confirmation is committed \
at once, so an interrupted run loses nothing and a re-run skips users already confirmed. \
Prints a summary: checked, newly confirmed, still waiting, errors. Exit status 1 when any \
user could not be checked.",
    after_help = EXAMPLES
)]
pub struct ReconcileArgs {
    /// List the users that would be confirmed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Check at most N users this run.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Ledger database URL [env: PASSBRIDGE_LEDGER_URL].
    #[arg(long, value_name = "URL")]
    pub ledger_url: Option<DatabaseUrl>,
    /// Org selection.
    #[command(flatten)]
    pub org: OrgArgs,
}

/// Runs `passbridge reconcile`.
///
/// # Errors
/// Missing settings, an unreachable ledger, or a token Okta refuses.
pub async fn run(args: ReconcileArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let okta = okta_client(settings, args.org.okta_org.as_ref())?;
    let ledger = super::open_ledger(args.ledger_url.as_ref(), settings).await?;
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} users checked ({per_sec}) {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let options = Options {
        dry_run: args.dry_run,
        limit: args.limit,
    };
    let mut out = std::io::stdout();
    let summary = reconcile::run(&ledger, &okta, options, &mut out, &bar)
        .await
        .context("reconcile")?;
    bar.finish_and_clear();
    print!("{}", summary.render(args.dry_run));
    Ok(if summary.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
