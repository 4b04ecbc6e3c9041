//! `passbridge hook retire`: the end of the migration. Refuses while hook
//! users are still waiting (the ledger's rule, `Ledger::waiting_count`)
//! unless `--force`; otherwise deactivates the org's password-import hook
//! (and with `--delete` deletes it) and prints what the admin can now remove
//! from the legacy store. Prints names and counts only: never a hash, a
//! secret or a connection string.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use crate::cmd::hook::{okta_client, OrgArgs};
use crate::config::Settings;
use crate::db::DatabaseUrl;
use crate::ledger::ImportState;
use crate::okta::PASSWORD_IMPORT_HOOK_TYPE;

/// What a retired migration no longer needs: (config key, environment variable).
const RETIRED_SETTINGS: [(&str, &str); 9] = [
    ("hook.secrets", "PASSBRIDGE_HOOK_SECRET"),
    ("hook.oauth.*", "PASSBRIDGE_HOOK_OAUTH_*"),
    ("legacy.url", "PASSBRIDGE_LEGACY_URL"),
    ("legacy.query", "PASSBRIDGE_LEGACY_QUERY"),
    ("legacy.write_back", "PASSBRIDGE_LEGACY_WRITE_BACK"),
    ("legacy.scheme", "PASSBRIDGE_LEGACY_SCHEME"),
    ("legacy.query_timeout", "PASSBRIDGE_LEGACY_QUERY_TIMEOUT"),
    ("[legacy.params]", "(config file only)"),
    ("import.query", "PASSBRIDGE_IMPORT_QUERY"),
];

/// `hook retire` options.
#[derive(Debug, Clone, clap::Args)]
pub struct RetireArgs {
    /// Retire even though users are still waiting for the hook (they then
    /// cannot sign in with their legacy password: reset them first with
    /// `passbridge stragglers --reset-password`).
    #[arg(long)]
    pub force: bool,
    /// Delete the hook after deactivating it (otherwise it stays, inactive,
    /// and `hook activate ID` brings it back).
    #[arg(long)]
    pub delete: bool,
    /// Ledger database URL [env: PASSBRIDGE_LEDGER_URL] [default: passbridge-ledger.db next to a SQLite legacy DB].
    #[arg(long, value_name = "URL")]
    pub ledger_url: Option<DatabaseUrl>,
    /// Org selection.
    #[command(flatten)]
    pub org: OrgArgs,
}

/// The table and columns a lookup query reads, when it is a plain
/// `SELECT a, b AS c FROM t WHERE …` (anything fancier: `None`).
fn lookup_parts(query: &str) -> Option<(String, Vec<String>)> {
    let lower = query.to_ascii_lowercase();
    let select = lower.find("select ")? + "select ".len();
    let from = lower.find(" from ")?;
    if from < select {
        return None;
    }
    let columns: Vec<String> = query[select..from]
        .split(',')
        .map(|c| {
            // `expr AS alias` names `expr`'s column: the legacy one.
            let c = c.trim();
            let lower = c.to_ascii_lowercase();
            let expr = lower.find(" as ").map_or(c, |at| &c[..at]);
            expr.trim().trim_matches(['"', '`']).to_owned()
        })
        .filter(|c| !c.is_empty())
        .collect();
    let table = query[from + " from ".len()..]
        .split_whitespace()
        .next()?
        .trim_end_matches(';')
        .trim_matches(['"', '`'])
        .to_owned();
    (!columns.is_empty() && !table.is_empty()).then_some((table, columns))
}

/// Runs `passbridge hook retire`.
///
/// # Errors
/// Missing settings, an unreachable ledger, or Okta refused a call.
pub async fn run(args: RetireArgs, settings: &Settings) -> anyhow::Result<ExitCode> {
    let ledger = super::open_ledger(args.ledger_url.as_ref(), settings).await?;
    let waiting = ledger
        .waiting_count()
        .await
        .context("counting the users still waiting")?;
    if waiting > 0 && !args.force {
        tracing::warn!(waiting, "hook retire refused: users are still waiting");
        eprintln!(
            "error: {waiting} users created with the hook flag are still waiting (not verified at a sign-in, \
             not confirmed by Okta, not sent a password reset). Retiring the hook now would leave them unable \
             to sign in with their legacy password.\n\
             See them: passbridge stragglers --older-than 0d\n\
             Reset them: passbridge stragglers --older-than 0d --reset-password\n\
             Or retire anyway: passbridge hook retire --force"
        );
        return Ok(ExitCode::from(1));
    }
    let okta = okta_client(settings, args.org.okta_org.as_ref())?;
    let mut out = std::io::stdout().lock();
    let hooks = okta
        .list_inline_hooks(Some(PASSWORD_IMPORT_HOOK_TYPE))
        .await
        .context("listing the org's password-import hooks")?;
    if hooks.is_empty() {
        writeln!(
            out,
            "The org has no password-import hook: nothing to deactivate."
        )?;
    }
    for hook in &hooks {
        if hook.is_active() {
            okta.deactivate_inline_hook(&hook.id)
                .await
                .with_context(|| format!("deactivating hook {}", hook.id))?;
            writeln!(
                out,
                "Deactivated the password-import hook {} ({}).",
                hook.id, hook.name
            )?;
        } else {
            writeln!(
                out,
                "The password-import hook {} is already inactive.",
                hook.id
            )?;
        }
        if args.delete {
            okta.delete_inline_hook(&hook.id)
                .await
                .with_context(|| format!("deleting hook {}", hook.id))?;
            writeln!(out, "Deleted the password-import hook {}.", hook.id)?;
        }
    }
    if waiting > 0 {
        writeln!(
            out,
            "--force: {waiting} users were still waiting; they sign in after a password reset in Okta."
        )?;
    }
    let counts = ledger
        .import_counts()
        .await
        .context("reading import counts")?;
    let count = |s: ImportState| counts.get(&s).copied().unwrap_or(0);
    let (native, hook) = (
        count(ImportState::CreatedNative),
        count(ImportState::CreatedHook),
    );
    writeln!(out, "\nThe legacy store can now be retired:")?;
    writeln!(
        out,
        "  - {} users are in Okta ({native} imported with their hash, {hook} through the hook): \
         passbridge no longer needs any of their legacy hashes.",
        native + hook
    )?;
    match settings.legacy.query.as_deref().and_then(lookup_parts) {
        Some((table, columns)) => writeln!(
            out,
            "  - legacy table {table}: the columns the hook read, {}, can be dropped (or the table, \
             once nothing else uses it).",
            columns.join(", ")
        )?,
        None => writeln!(
            out,
            "  - the legacy table and columns named in legacy.query can be dropped."
        )?,
    }
    writeln!(
        out,
        "  - settings to remove (config key / environment variable):"
    )?;
    for (key, var) in RETIRED_SETTINGS {
        writeln!(out, "      {key} / {var}")?;
    }
    writeln!(
        out,
        "  - stop `passbridge serve`; keep the ledger as the migration's record."
    )?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn lookup_queries_name_their_table_and_columns() {
        assert_eq!(
            lookup_parts("SELECT password_hash, salt FROM users WHERE email = $1"),
            Some(("users".into(), vec!["password_hash".into(), "salt".into()]))
        );
        assert_eq!(
            lookup_parts(
                "select pw AS password_hash, \"pw_salt\" as salt from app.members where login = ?"
            ),
            Some(("app.members".into(), vec!["pw".into(), "pw_salt".into()]))
        );
        assert_eq!(lookup_parts("CALL lookup(?)"), None);
    }
}
