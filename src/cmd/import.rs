//! `passbridge import`: move legacy users into Okta, natively where Okta can
//! take the hash, through the password-import hook otherwise.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};

use crate::cmd::hook::{okta_client, OrgArgs};
use crate::config::Settings;
use crate::db::{self, DatabaseUrl, PoolSettings};
use crate::import::{self, ImportOptions, Observer, Progress, Report, Silent, Source};

const LONG_ABOUT: &str = "\
Create every legacy user in Okta, the best way each one can go:

  native  Okta imports the stored hash as it is (bcrypt $2a$/$2b$/$2y$; salted or
          unsalted SHA-1, SHA-512, MD5 incl. LDAP {SSHA}/{SSHA512}, Django and
          PostgreSQL md5; PBKDF2-HMAC-SHA256/512 with >= 4096 iterations), so the
          user signs in at once and passbridge is never called for them.
  hook    everything else: the user is created with the password-import hook
          flag and `passbridge serve` verifies the password at first sign-in.

Each conversion is self-tested on a known-answer vector before use; a scheme
whose self-test fails goes to the hook. SHA-256 goes to the hook unless
--trust-okta-sha256 (see that flag).

Users come from --import-query (PASSBRIDGE_IMPORT_QUERY) on --legacy-url, streamed,
or from --csv. Columns are Okta profile attributes (login, email, firstName,
lastName, any other attribute) plus password_hash and optionally salt and scheme;
use SQL aliases for the mapping. In PostgreSQL unquoted aliases are lower-cased:
Okta's base attributes (firstName, ...) are matched case-insensitively, quote
any custom attribute (AS \"costCode\").

Every user's state is kept in the ledger (--ledger-url): re-running continues
where the last run stopped and never creates a user twice; a login that already
exists in Okta is looked up and recorded. Okta's rate-limit headers are obeyed
and 429/5xx answers retried. Exit status: 0 when no user failed, 1 when some
did (see --report; a re-run retries them), 2 on errors.

The API token is read from OKTA_API_TOKEN only.";

const EXAMPLES: &str = "\
Runbook:
  # audit: paths, schemes, bad hashes, self-tests
  passbridge import --dry-run
  # a first cohort
  passbridge import --limit 50 --report cohort.jsonl
  # one user
  passbridge import --only-login alice@example.com
  # everyone (re-run to resume)
  passbridge import --concurrency 8 --report all.jsonl";

/// `import` options.
#[derive(Debug, Clone, clap::Args)]
#[command(long_about = LONG_ABOUT, after_help = EXAMPLES)]
pub struct ImportArgs {
    /// Legacy database URL [env: PASSBRIDGE_LEGACY_URL].
    #[arg(long, value_name = "URL")]
    pub legacy_url: Option<DatabaseUrl>,
    /// Query streaming the users, in the database's dialect [env: PASSBRIDGE_IMPORT_QUERY].
    #[arg(long, value_name = "SQL")]
    pub import_query: Option<String>,
    /// Read users from a CSV export (header row = column names) instead of a database.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["import_query", "where_clause"])]
    pub csv: Option<PathBuf>,
    /// Ledger database URL [env: PASSBRIDGE_LEDGER_URL] [default: passbridge-ledger.db next to a SQLite legacy DB].
    #[arg(long, value_name = "URL")]
    pub ledger_url: Option<DatabaseUrl>,
    /// Org selection.
    #[command(flatten)]
    pub org: OrgArgs,
    /// Create users STAGED (activate=false) instead of ACTIVE.
    #[arg(long)]
    pub staged: bool,
    /// Plan only: print paths, schemes, bad hashes (by row) and self-test results; touch nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Consider at most N rows (a cohort).
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Import only this login (repeatable).
    #[arg(long = "only-login", value_name = "LOGIN")]
    pub only_login: Vec<String>,
    /// SQL condition on the query's columns: SELECT * FROM (<query>) WHERE <SQL>.
    #[arg(long = "where", value_name = "SQL")]
    pub where_clause: Option<String>,
    /// Okta calls in flight [default: import.concurrency, 8]. Okta's default
    /// concurrency limit is 75 per org, shared with everything else.
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Write every user's outcome as JSON Lines (login, path, Okta id, error) plus a summary line.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Import SHA-256 hashes natively. Okta's documented SHA-256 example only
    /// reproduces when the salt is read as text, while its SHA-1, SHA-512 and
    /// MD5 examples Base64-decode it; passbridge sends Base64 salts. Without this
    /// flag SHA-256 users go to the hook, which is always correct. Use it after a
    /// canary: import one SHA-256 user with --only-login and sign in as them.
    #[arg(long)]
    pub trust_okta_sha256: bool,
    /// Scheme of rows without a `scheme` value whose hash does not describe itself [env: PASSBRIDGE_LEGACY_SCHEME].
    #[arg(long, value_name = "NAME")]
    pub scheme: Option<String>,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `passbridge import`.
///
/// # Errors
/// Missing settings, unreachable databases, or a source/ledger failure.
pub async fn run(args: ImportArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let mut settings = settings.clone();
    if let Some(url) = args.legacy_url.clone() {
        settings.legacy.url = Some(url);
    }
    if let Some(url) = args.ledger_url.clone() {
        settings.ledger.url = Some(url);
    }
    if let Some(q) = args.import_query.clone() {
        settings.import.query = Some(q);
    }
    if let Some(s) = args.scheme.clone() {
        settings.legacy.scheme = Some(s);
    }
    let source = match &args.csv {
        Some(path) => Source::Csv { path: path.clone() },
        None => {
            let url = settings.legacy.url.clone().context(
                "legacy.url: not set; set PASSBRIDGE_LEGACY_URL or --legacy-url, or read a CSV export with --csv",
            )?;
            let query = settings.import.query.clone().context(
                "import.query: not set; set PASSBRIDGE_IMPORT_QUERY or --import-query, e.g. \
                 \"SELECT email AS login, email, first_name AS firstName, last_name AS lastName, pw AS password_hash FROM users\"",
            )?;
            let pool = db::connect(&url, PoolSettings::default())
                .await
                .context("connecting to the legacy database")?;
            Source::Sql {
                pool,
                query: import::with_filter(&query, args.where_clause.as_deref()),
            }
        }
    };
    let options = ImportOptions {
        activate: !args.staged,
        dry_run: args.dry_run,
        limit: args.limit,
        only_logins: args.only_login.clone(),
        concurrency: args
            .concurrency
            .unwrap_or(settings.import.concurrency)
            .max(1),
        trust_okta_sha256: args.trust_okta_sha256,
        default_scheme: settings.legacy.scheme.clone(),
        params: settings.legacy.params.clone(),
        limits: settings.hash.limits,
        ..ImportOptions::default()
    };
    if options.concurrency > 75 {
        bail!(
            "--concurrency {} exceeds Okta's default org concurrency limit (75)",
            options.concurrency
        );
    }
    let report = match &args.report {
        Some(path) => Some(
            Report::create(path)
                .with_context(|| format!("creating the report {}", path.display()))?,
        ),
        None => None,
    };
    let progress = Progress::new(std::io::stderr().is_terminal());
    let observer: &dyn Observer = if args.quiet { &Silent } else { &progress };
    let summary = if args.dry_run {
        import::run(source, &options, None, None, report, observer).await?
    } else {
        let okta = okta_client(&settings, args.org.okta_org.as_ref())?;
        // One cheap call before any user: a wrong token or org fails here, once.
        import::preflight::check_org(&okta).await?;
        let ledger = super::open_ledger(None, &settings).await?;
        import::run(
            source,
            &options,
            Some(&okta),
            Some(&ledger),
            report,
            observer,
        )
        .await?
    };
    print!("{}", summary.render());
    match &args.report {
        Some(path) => println!(
            "Report: {} (one JSON line per user; failed users carry their reason in \"error\")",
            path.display()
        ),
        None if summary.failed > 0 => println!(
            "No report was written: re-run with --report FILE to list each failed user and its reason"
        ),
        None => {}
    }
    Ok(if summary.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
