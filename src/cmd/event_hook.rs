//! `passbridge hook register --events URL` and the event-hook half of
//! `hook list`: Okta's event hook subscribed to `user.import.password`,
//! pointing at `serve`'s `/hooks/okta-events`. The secret is the one `serve`
//! reads (`PASSBRIDGE_EVENT_HOOK_SECRET`); only when none is configured is
//! one generated, and then it is printed exactly once.

use std::io::Write;

use anyhow::{bail, Context};
use secrecy::ExposeSecret;
use url::Url;

use super::hook::{check_hook_url, HookContext, DEFAULT_HOOK_NAME};
use crate::okta::{EventHook, EventHookCreate};

/// Display name of the event hook when `--name` is left at its default.
pub const DEFAULT_EVENT_HOOK_NAME: &str = "passbridge password import outcomes";
/// The variable `serve` reads the event hook secret from.
const SECRET_VAR: &str = "PASSBRIDGE_EVENT_HOOK_SECRET";
/// `serve` refuses shorter secrets (`Settings::validate_for_serve`).
const MIN_SECRET_LEN: usize = 16;

/// Creates (or, for the same URL, updates) the event hook, then has Okta
/// verify it and activates it. With a generated secret it stops after the
/// create: `serve` cannot answer Okta's verification before it has the secret.
///
/// # Errors
/// A bad URL or secret, or Okta refused a call (verification included).
pub async fn register(
    ctx: &HookContext,
    out: &mut dyn Write,
    url: &Url,
    name: &str,
) -> anyhow::Result<()> {
    check_hook_url(url)?;
    let name = if name == DEFAULT_HOOK_NAME {
        DEFAULT_EVENT_HOOK_NAME
    } else {
        name
    };
    if ctx
        .events
        .secret
        .as_ref()
        .is_some_and(|s| s.expose_secret().len() < MIN_SECRET_LEN)
    {
        bail!(
            "event_hook.secret: {SECRET_VAR} is shorter than {MIN_SECRET_LEN} characters, and \
             `serve` would refuse it; use a long random value (e.g. `openssl rand -base64 32`)"
        );
    }
    let existing = ctx
        .client
        .list_event_hooks()
        .await
        .context("listing the org's event hooks")?
        .into_iter()
        .find(|h| h.channel.config.uri == url.as_str());
    let (secret, generated) = match (&ctx.events.secret, &existing) {
        (Some(s), _) => (s.clone(), false),
        (None, Some(h)) => bail!(
            "the org already has an event hook for {url}: {} ({}). Set {SECRET_VAR} to the value \
             the running `serve` has and re-run to update and verify it (a new secret would lock \
             out the running serve)",
            h.id,
            h.status
        ),
        (None, None) => (crate::startup::generate_secret(), true),
    };
    let create = EventHookCreate::password_import_outcomes(
        name,
        url.as_str(),
        &ctx.events.header,
        secret.clone(),
    );
    let mut hook = match &existing {
        Some(old) => {
            let h = ctx
                .client
                .replace_event_hook(&old.id, &create)
                .await
                .with_context(|| format!("updating event hook {}", old.id))?;
            writeln!(
                out,
                "Updated the existing event hook for this URL in place."
            )?;
            h
        }
        None => ctx
            .client
            .create_event_hook(&create)
            .await
            .context("creating the event hook")?,
    };
    if generated {
        announce(out, "Created", &hook)?;
        writeln!(out)?;
        writeln!(
            out,
            "Generated an event hook secret; it is shown only here, so store it in your secret manager."
        )?;
        writeln!(
            out,
            "Okta delivers no events until the hook is verified. Start (or restart) `passbridge serve` \
             with this variable, then run this command again with it set to verify and activate the hook:"
        )?;
        writeln!(out)?;
        writeln!(out, "  export {SECRET_VAR}={}", secret.expose_secret())?;
        return Ok(());
    }
    if !hook.is_verified() {
        hook = ctx
            .client
            .event_hook_lifecycle(&hook.id, "verify")
            .await
            .with_context(|| {
                format!(
                    "Okta could not verify event hook {} at {url}: is `passbridge serve` running \
                     there with {SECRET_VAR} set to the same secret?",
                    hook.id
                )
            })?;
    }
    if !hook.is_active() {
        hook = ctx
            .client
            .event_hook_lifecycle(&hook.id, "activate")
            .await
            .with_context(|| format!("activating event hook {}", hook.id))?;
    }
    announce(out, "Registered", &hook)?;
    writeln!(
        out,
        "Okta will send {SECRET_VAR} in the {} header.",
        ctx.events.header
    )?;
    Ok(())
}

/// "`<done>` event hook <id> (<status>, <verification>)." and its description.
fn announce(out: &mut dyn Write, done: &str, hook: &EventHook) -> std::io::Result<()> {
    writeln!(
        out,
        "{done} event hook {} ({}, {}).",
        hook.id, hook.status, hook.verification_status
    )?;
    describe(out, hook)
}

/// The org's event hooks.
///
/// # Errors
/// Okta refused the call.
pub async fn list(ctx: &HookContext) -> anyhow::Result<Vec<EventHook>> {
    ctx.client
        .list_event_hooks()
        .await
        .context("listing event hooks")
}

/// Human-readable lines for one event hook (never the secret).
///
/// # Errors
/// Writing failed.
pub fn describe(out: &mut dyn Write, h: &EventHook) -> std::io::Result<()> {
    writeln!(
        out,
        "{}  {:<8}  {:<10}  {} (event hook)",
        h.id, h.status, h.verification_status, h.name
    )?;
    writeln!(out, "    url:         {}", h.channel.config.uri)?;
    writeln!(out, "    events:      {}", h.events.items.join(", "))?;
    let header = super::hook::auth_header_label(h.channel.config.auth_scheme.as_ref());
    writeln!(out, "    auth header: {header}")
}
