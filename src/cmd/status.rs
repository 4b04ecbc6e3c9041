//! `passbridge status [--json]`: the migration's progress from the ledger
//! ([`crate::ledger::Progress`]), as an aligned report for people or as the
//! stable JSON document for scripts (the same one `GET /admin/status.json`
//! serves).

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::config::Settings;
use crate::ledger::progress::{Figures, Group, Progress, STRAGGLER_DAYS};

/// Examples shown by `status --help`.
pub const EXAMPLES: &str = "\
Examples:
  passbridge status
  passbridge status --json | jq '.hook.waiting'
  passbridge status --ledger-url postgres://pb@db/passbridge --json

Figures: users seen by the import and their import state; hook users
verified by an Okta sign-in, confirmed by Okta, sent a password reset and
still waiting (none of those: the rule `stragglers` and `hook retire` use);
stragglers (users still waiting 7/30/60/90 days after import); the same per legacy
source and scheme; the verification rate of the last 7 days with an estimated
completion date; the last import run's Okta rate-limit position. The JSON
schema is documented in the README (\"Watching the migration\").";

/// `status` options.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Print the JSON document (stable schema, see the README) instead of the report.
    #[arg(long)]
    pub json: bool,
    /// Ledger database URL [env: PASSBRIDGE_LEDGER_URL]
    #[arg(long, value_name = "URL")]
    pub ledger_url: Option<crate::db::DatabaseUrl>,
}

/// Runs `status`.
///
/// # Errors
/// The ledger cannot be opened or queried.
pub async fn run(args: StatusArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let ledger = super::open_ledger(args.ledger_url.as_ref(), settings).await?;
    let progress = ledger
        .progress()
        .await
        .context("reading the migration's progress from the ledger")?;
    let text = if args.json {
        let mut json = serde_json::to_string_pretty(&progress)?;
        json.push('\n');
        json
    } else {
        report(&progress)
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// The human report: sections of label/value lines and one table per breakdown.
pub fn report(p: &Progress) -> String {
    let t = &p.totals;
    let mut out = String::new();
    let _ = writeln!(out, "passbridge status at {}", p.generated_at);
    section(
        &mut out,
        "Import",
        &[
            ("legacy users seen", t.import.seen.to_string()),
            ("imported native", t.import.native.to_string()),
            ("imported via hook", t.import.hook.to_string()),
            ("failed", t.import.failed.to_string()),
            ("pending", t.import.pending.to_string()),
            ("skipped", t.import.skipped.to_string()),
        ],
    );
    section(
        &mut out,
        "Hook users",
        &[
            ("verified", t.hook.verified.to_string()),
            ("confirmed by Okta", t.hook.confirmed.to_string()),
            (
                "awaiting confirmation",
                t.hook.awaiting_confirmation.to_string(),
            ),
            ("sent a password reset", t.hook.reset_sent.to_string()),
            ("still waiting", t.hook.waiting.to_string()),
        ],
    );
    let stragglers: Vec<(String, String)> = t
        .stragglers
        .iter()
        .map(|s| {
            (
                format!("still waiting after {} days", s.older_than_days),
                s.users.to_string(),
            )
        })
        .collect();
    let stragglers: Vec<(&str, String)> = stragglers
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    section(&mut out, "Stragglers", &stragglers);
    let r = &p.rate;
    let window = format!("verified, last {} days", r.window_days);
    section(
        &mut out,
        "Rate",
        &[
            (
                window.as_str(),
                format!("{} ({:.1}/day)", r.verified_in_window, r.verified_per_day),
            ),
            (
                "estimated completion",
                r.estimated_completion
                    .clone()
                    .unwrap_or_else(|| "unknown (no verification in the window)".into()),
            ),
        ],
    );
    // The last week of the burn-down, newest first.
    let days: Vec<(&str, String)> = p
        .daily
        .iter()
        .rev()
        .take(usize::try_from(r.window_days).unwrap_or(0))
        .map(|d| {
            (
                d.day.as_str(),
                format!(
                    "{} verified, {} imported via hook, {} still to migrate",
                    d.verified, d.imported_hook, d.remaining
                ),
            )
        })
        .collect();
    section(&mut out, "Per day", &days);
    match &p.rate_limit {
        Some(run) => {
            let window = match (run.remaining, run.limit) {
                (Some(left), Some(limit)) => format!(
                    "{left} of {limit} left, window resets {}",
                    run.resets_at.as_deref().unwrap_or("?")
                ),
                _ => "not seen (no Okta answer yet)".into(),
            };
            let users = match run.users_total {
                Some(total) => format!("{} of {total}", run.users_done),
                None => run.users_done.to_string(),
            };
            let state = match (&run.finished_at, &run.eta) {
                (Some(at), _) => format!("finished {at}"),
                (None, Some(eta)) => format!("running (last report {}), ETA {eta}", run.updated_at),
                (None, None) => format!("running or stopped (last report {})", run.updated_at),
            };
            section(
                &mut out,
                "Last import run",
                &[
                    ("run", run.run_id.clone()),
                    ("state", state),
                    ("users done", users),
                    ("Okta requests", window),
                ],
            );
        }
        None => section(
            &mut out,
            "Last import run",
            &[("run", "none recorded".into())],
        ),
    }
    let _ = writeln!(out, "\nBy legacy source");
    out.push_str(&table(&p.by_source));
    let _ = writeln!(out, "\nBy scheme");
    out.push_str(&table(&p.by_scheme));
    out
}

fn section(out: &mut String, title: &str, lines: &[(&str, String)]) {
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let _ = writeln!(out, "\n{title}");
    for (k, v) in lines {
        let _ = writeln!(out, "  {k:<width$}  {v}");
    }
}

/// The table's first columns; one `>ND` column per straggler age follows.
const COLUMNS: [&str; 10] = [
    "SOURCE",
    "SCHEME",
    "SEEN",
    "NATIVE",
    "HOOK",
    "FAILED",
    "PENDING",
    "VERIFIED",
    "CONFIRMED",
    "WAITING",
];

fn cells(g: &Group) -> Vec<String> {
    let Figures {
        import: i,
        hook: h,
        stragglers,
    } = &g.figures;
    let mut row = vec![
        g.source.clone(),
        g.scheme.clone().unwrap_or_else(|| "-".into()),
    ];
    row.extend(
        [
            i.seen,
            i.native,
            i.hook,
            i.failed,
            i.pending,
            h.verified,
            h.confirmed,
            h.waiting,
        ]
        .map(|n| n.to_string()),
    );
    row.extend(stragglers.iter().map(|s| s.users.to_string()));
    row
}

/// Columns padded to their widest cell; text left, numbers right.
fn table(groups: &[Group]) -> String {
    let mut header: Vec<String> = COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    header.extend(STRAGGLER_DAYS.iter().map(|d| format!(">{d}D")));
    let rows: Vec<Vec<String>> = groups.iter().map(cells).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .chain(std::iter::once(&header[c]))
                .map(String::len)
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::from(" ");
        for (c, cell) in row.iter().enumerate() {
            let w = widths[c];
            if c < 2 {
                let _ = write!(line, " {cell:<w$}");
            } else {
                let _ = write!(line, " {cell:>w$}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if rows.is_empty() {
        out.push_str("  (no users imported yet)\n");
    }
    out
}
