//! `passbridge hook`: register and manage the Okta password-import inline
//! hook that points at `passbridge serve`.
//!
//! The API token comes from `OKTA_API_TOKEN` (or the config file), never from
//! a flag. A hook secret generated here is printed exactly once, on stdout,
//! with how to hand it to `serve`; a secret given in `PASSBRIDGE_HOOK_SECRET`
//! is never printed.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use url::Url;

use crate::config::{HookAuthMode, OAuthSettings, Settings, Sources};
use crate::okta::{
    check_org_url, ClientConfig, HookHeader, InlineHook, InlineHookCreate, OAuthChannel,
    OAuthClientAuth, OktaClient, PASSWORD_IMPORT_HOOK_TYPE,
};

const REGISTER_EXAMPLES: &str = "\
Examples:
  export OKTA_ORG_URL=https://example.okta.com OKTA_API_TOKEN=...
  export PASSBRIDGE_HOOK_SECRET=...     # the value serve uses
  passbridge hook register \\
    --url https://passbridge.example.com/hooks/password-import
  # Move the hook, same secret
  passbridge hook register --replace \\
    --url https://passbridge2.example.com/hooks/password-import
  # Rotate the secret without a gap
  passbridge hook register --replace --rotate-secret \\
    --url https://passbridge.example.com/hooks/password-import
  # The event hook (Okta's user.import.password outcomes), verified and active
  export PASSBRIDGE_EVENT_HOOK_SECRET=...   # the value serve uses
  passbridge hook register \\
    --events https://passbridge.example.com/hooks/okta-events";

/// Default display name of the hook.
pub const DEFAULT_HOOK_NAME: &str = "passbridge password import";

/// Which org to talk to (overrides `OKTA_ORG_URL`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OrgArgs {
    /// Okta org URL, e.g. https://example.okta.com [env: OKTA_ORG_URL]. The API
    /// token is read from OKTA_API_TOKEN only.
    #[arg(long, value_name = "URL")]
    pub okta_org: Option<Url>,
}

/// `passbridge hook …`
// Parsed once per process: the size of `Register` costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, clap::Subcommand)]
pub enum HookCommand {
    /// Create the password-import inline hook pointing at `passbridge serve`.
    #[command(
        long_about = "Create the org's password-import inline hook (POST /api/v1/inlineHooks, \
type com.okta.user.credential.password.import, channel HTTP, authScheme HEADER). Okta then \
sends the secret in the auth header on every call; `passbridge serve` must be given the same \
secret in PASSBRIDGE_HOOK_SECRET.\n\nThe secret comes from where `serve` reads it: \
PASSBRIDGE_HOOK_SECRET or hook.secrets in the config file (the first one during a rotation). \
Only when none is configured is a strong one generated; it is printed once, with the \
`export PASSBRIDGE_HOOK_SECRET=...` line to give `serve`.\n\nOkta allows one \
password-import hook per org: registering fails if one exists, unless --replace, which \
updates the existing hook in place (same id) and keeps the configured secret. --replace \
without a configured secret is refused: a new secret would lock out the running `serve`.\n\n\
Rotating the secret with no gap: --replace --rotate-secret generates a new secret and prints \
the two-secret value new,old (as export PASSBRIDGE_HOOK_SECRET=\"new,$PASSBRIDGE_HOOK_SECRET\", \
so the current secret is not echoed) without changing Okta; restart `serve` with that value (it \
accepts both), then run `hook register --replace` with it (Okta gets the first, new one), \
then drop the old one.\n\n\
--events URL registers Okta's event hook instead (or as well, with --url): subscribed to \
user.import.password, authenticated by PASSBRIDGE_EVENT_HOOK_SECRET in the Authorization header, \
verified by Okta (which calls `serve`'s GET /hooks/okta-events, so serve must already run with \
that secret) and activated. An existing event hook with the same URL is updated in place. \
Without a configured secret one is generated and printed once; the hook is then created but \
not verified: start serve with it and run the command again.",
        after_help = REGISTER_EXAMPLES
    )]
    Register {
        /// The hook's public URL, e.g. https://passbridge.example.com/hooks/password-import.
        /// Okta requires https (http only towards a loopback stand-in).
        #[arg(long, value_name = "URL", required_unless_present = "events")]
        url: Option<Url>,
        /// Register Okta's event hook (user.import.password outcomes) at this
        /// URL, e.g. https://passbridge.example.com/hooks/okta-events.
        #[arg(long, value_name = "URL")]
        events: Option<Url>,
        /// Display name in the Admin Console.
        #[arg(long, default_value = DEFAULT_HOOK_NAME)]
        name: String,
        /// Update the org's existing password-import hook in place instead of
        /// failing; keeps the configured secret.
        #[arg(long)]
        replace: bool,
        /// With --replace: generate a new secret and print the two-secret
        /// PASSBRIDGE_HOOK_SECRET=new,old value for a gap-free rotation (Okta
        /// is switched by the next --replace run with that value; refused
        /// while two secrets are configured).
        #[arg(long, requires = "replace")]
        rotate_secret: bool,
        /// Header Okta sends the secret in [default: hook.header, i.e. Authorization].
        #[arg(long, value_name = "NAME")]
        auth_header: Option<String>,
        /// How Okta authenticates to the hook: header (a shared secret) or oauth2
        /// (channel OAUTH: a bearer token from --token-url) [default: hook.auth].
        #[arg(long, value_enum, value_name = "MODE")]
        auth: Option<HookAuthMode>,
        /// oauth2: the API Services app Okta gets the token as [default: hook.oauth.client_id].
        #[arg(long, value_name = "ID")]
        client_id: Option<String>,
        /// oauth2: the authorization server's token endpoint [default: {hook.oauth.issuer}/v1/token].
        #[arg(long, value_name = "URL")]
        token_url: Option<Url>,
        /// oauth2: the custom scope Okta asks for [default: hook.oauth.scope].
        #[arg(long, value_name = "SCOPE")]
        scope: Option<String>,
        /// oauth2 with private_key_jwt: the hook key id (HKY…). Without it,
        /// client_secret_post with the secret from PASSBRIDGE_HOOK_OAUTH_CLIENT_SECRET.
        #[arg(long, value_name = "ID")]
        hook_key_id: Option<String>,
        /// Extra header Okta sends with every call, KEY=VALUE (repeatable). Values
        /// given here show in the process list: do not put secrets here.
        #[arg(long = "header", value_name = "KEY=VALUE")]
        headers: Vec<String>,
        /// Org selection.
        #[command(flatten)]
        org: OrgArgs,
    },
    /// List the org's password-import hooks and event hooks.
    List {
        /// A JSON array (id, name, status, type, channel_uri, auth_type,
        /// auth_header, and for event hooks verification_status and events;
        /// never the secret) instead of text.
        #[arg(long)]
        json: bool,
        /// Org selection.
        #[command(flatten)]
        org: OrgArgs,
    },
    /// Activate a hook.
    Activate {
        /// Hook id (cal…).
        id: String,
        /// Org selection.
        #[command(flatten)]
        org: OrgArgs,
    },
    /// Deactivate a hook (Okta then stops calling it; hook users cannot sign in).
    Deactivate {
        /// Hook id (cal…).
        id: String,
        /// Org selection.
        #[command(flatten)]
        org: OrgArgs,
    },
    /// Delete a hook (deactivating it first, as Okta requires).
    #[command(
        long_about = "Delete a hook, deactivating it first as Okta requires. Users still \
created with the hook flag cannot sign in afterwards. Asks for confirmation on a terminal; \
without a terminal (scripts, CI) it refuses unless --yes.",
        after_help = "Example:\n  passbridge hook delete cal1abc... --yes"
    )]
    Delete {
        /// Hook id (cal…).
        id: String,
        /// Delete without asking (needed when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        /// Org selection.
        #[command(flatten)]
        org: OrgArgs,
    },
    /// End the migration: deactivate (--delete: delete) the hook once no user waits for it.
    #[command(
        long_about = "Retire the org's password-import hook at the end of the migration. \
Refuses (exit 1) while users created with the hook flag are still waiting: not verified at a \
sign-in, not confirmed by Okta, and not sent a password reset (`passbridge stragglers`); \
--force retires anyway. Then deactivates the hook (Okta stops calling passbridge), with \
--delete also deletes it, and prints what can be removed from the legacy store: the table \
and columns legacy.query reads, how many users no longer need their legacy hash, and the \
settings and environment variables to drop. Reads the ledger (--ledger-url).",
        after_help = "Examples:\n  passbridge hook retire\n  passbridge hook retire --delete\n  passbridge hook retire --force --delete"
    )]
    Retire(crate::cmd::retire::RetireArgs),
    /// Have Okta call the hook once (POST /api/v1/inlineHooks/{id}/execute).
    #[command(
        long_about = "Have Okta send a sample password-import request to the hook and print \
Okta's answer and the round-trip time. Reads the username from the first line of stdin and \
the password from the second (prompted without echo on a terminal). Exit status 0 when the \
hook answered VERIFIED, 1 otherwise.",
        after_help = "Example:\n  printf 'alice@example.com\\n%s\\n' \"$PW\" | passbridge hook test cal1abc..."
    )]
    Test {
        /// Hook id (cal…).
        id: String,
        /// Org selection.
        #[command(flatten)]
        org: OrgArgs,
    },
}

impl HookCommand {
    fn org(&self) -> &OrgArgs {
        match self {
            Self::Register { org, .. }
            | Self::List { org, .. }
            | Self::Activate { org, .. }
            | Self::Deactivate { org, .. }
            | Self::Delete { org, .. }
            | Self::Test { org, .. }
            | Self::Retire(crate::cmd::retire::RetireArgs { org, .. }) => org,
        }
    }
}

/// Builds the Okta client from settings, with `--okta-org` winning.
///
/// # Errors
/// No org URL or token, or an org URL that is not https (nor loopback).
pub fn okta_client(settings: &Settings, org: Option<&Url>) -> anyhow::Result<OktaClient> {
    let url = org.or(settings.okta.org_url.as_ref()).cloned().context(
        "okta.org_url: not set; set OKTA_ORG_URL or --okta-org (e.g. https://example.okta.com)",
    )?;
    check_org_url(&url).context("okta.org_url")?;
    let token = settings
        .okta
        .api_token
        .clone()
        .filter(|t| !t.expose_secret().trim().is_empty())
        .context("okta.api_token: not set; set OKTA_API_TOKEN (an Okta API token; never passed as a flag)")?;
    Ok(OktaClient::new(ClientConfig::new(url, token))?)
}

/// What the hook commands need besides the command itself.
pub struct HookContext {
    /// The Okta client.
    pub client: OktaClient,
    /// `PASSBRIDGE_HOOK_SECRET` (first value), if configured.
    pub secret: Option<SecretString>,
    /// Default auth header name (`hook.header`).
    pub header: String,
    /// Where the configured secrets came from and how many there are:
    /// `--rotate-secret` words its instructions for the source and refuses
    /// while a rotation is under way.
    pub configured: ConfiguredSecrets,
    /// Defaults for `--auth oauth2` registrations.
    pub oauth: OAuthDefaults,
    /// `PASSBRIDGE_EVENT_HOOK_SECRET` and `event_hook.header`, for `--events`.
    pub events: EventHookDefaults,
}

/// What `hook register --events` takes from the settings.
#[derive(Debug, Clone)]
pub struct EventHookDefaults {
    /// `PASSBRIDGE_EVENT_HOOK_SECRET`, if configured.
    pub secret: Option<SecretString>,
    /// `event_hook.header`.
    pub header: String,
}

impl Default for EventHookDefaults {
    fn default() -> Self {
        let settings = crate::config::EventHookSettings::default();
        Self {
            secret: settings.secret,
            header: settings.header,
        }
    }
}

/// What `hook register --auth oauth2` takes from the settings and environment.
#[derive(Debug, Clone, Default)]
pub struct OAuthDefaults {
    /// `hook.auth`.
    pub mode: HookAuthMode,
    /// `[hook.oauth]` (client id, scope, issuer for the token URL).
    pub settings: OAuthSettings,
    /// `PASSBRIDGE_HOOK_OAUTH_CLIENT_SECRET` (client_secret_post), never a flag.
    pub client_secret: Option<SecretString>,
}

/// The variable the OAuth client secret is read from.
const CLIENT_SECRET_VAR: &str = "PASSBRIDGE_HOOK_OAUTH_CLIENT_SECRET";

/// How `hook.secrets` is configured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConfiguredSecrets {
    /// How many secrets (two during a rotation).
    pub count: usize,
    /// Set by `PASSBRIDGE_HOOK_SECRET` (else by the config file).
    pub from_env: bool,
}

/// The variable `serve` and `hook register` read the secret from.
const SECRET_VAR: &str = "PASSBRIDGE_HOOK_SECRET";

/// Runs `passbridge hook …` with stdin/stdout.
///
/// # Errors
/// Missing settings, or Okta refused the call.
pub async fn run(
    cmd: HookCommand,
    settings: &Settings,
    sources: &Sources,
) -> anyhow::Result<ExitCode> {
    // Retiring needs the ledger, not the hook-registration context.
    if let HookCommand::Retire(args) = cmd {
        return crate::cmd::retire::run(args, settings).await;
    }
    let ctx = HookContext {
        client: okta_client(settings, cmd.org().okta_org.as_ref())?,
        secret: settings.hook.secrets.first().cloned(),
        header: settings.hook.header.clone(),
        configured: ConfiguredSecrets {
            count: settings.hook.secrets.len(),
            from_env: sources.env.contains(&SECRET_VAR),
        },
        oauth: OAuthDefaults {
            mode: settings.hook.auth,
            settings: settings.hook.oauth.clone(),
            client_secret: std::env::var(CLIENT_SECRET_VAR)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(SecretString::from),
        },
        events: EventHookDefaults {
            secret: settings.event_hook.secret.clone(),
            header: settings.event_hook.header.clone(),
        },
    };
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let mut input = stdin.lock();
    let mut out = std::io::stdout().lock();
    execute(cmd, &ctx, &mut out, &mut input, interactive).await
}

/// Runs a hook command against `ctx`, writing human-readable output to `out`
/// and reading `hook test` credentials from `input`.
///
/// # Errors
/// Okta refused the call, the org already has a hook (without `--replace`),
/// or the input is incomplete.
pub async fn execute(
    cmd: HookCommand,
    ctx: &HookContext,
    out: &mut dyn Write,
    input: &mut dyn BufRead,
    interactive: bool,
) -> anyhow::Result<ExitCode> {
    let okta = &ctx.client;
    match cmd {
        HookCommand::Register {
            url,
            events,
            name,
            replace,
            rotate_secret,
            auth_header,
            headers,
            auth,
            client_id,
            token_url,
            scope,
            hook_key_id,
            ..
        } => {
            let Some(url) = url else {
                if let Some(events) = &events {
                    super::event_hook::register(ctx, out, events, &name).await?;
                }
                return Ok(ExitCode::SUCCESS);
            };
            if auth.unwrap_or(ctx.oauth.mode) == HookAuthMode::Oauth2 {
                if rotate_secret {
                    bail!("--rotate-secret rotates the shared header secret; an OAuth hook has none (rotate the client secret in Okta, then re-run with --replace)");
                }
                let flags = OAuthFlags {
                    client_id,
                    token_url,
                    scope,
                    hook_key_id,
                };
                register_oauth(ctx, out, &url, &name, replace, &headers, flags).await?;
                if let Some(events) = &events {
                    super::event_hook::register(ctx, out, events, &name).await?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            let secret = match (rotate_secret, replace) {
                (true, _) => SecretChoice::Rotate,
                (false, true) => SecretChoice::Keep,
                (false, false) => SecretChoice::ConfiguredOrNew,
            };
            let request = Registration {
                url: &url,
                name: &name,
                replace,
                secret,
                auth_header,
                headers: &headers,
            };
            register(ctx, out, request).await?;
            if let Some(events) = &events {
                super::event_hook::register(ctx, out, events, &name).await?;
            }
        }
        HookCommand::List { json, .. } => {
            let hooks = okta
                .list_inline_hooks(Some(PASSWORD_IMPORT_HOOK_TYPE))
                .await
                .context("listing inline hooks")?;
            let event_hooks = super::event_hook::list(ctx).await?;
            if json {
                let listed: Vec<HookListing<'_>> = hooks
                    .iter()
                    .map(HookListing::from)
                    .chain(event_hooks.iter().map(HookListing::from))
                    .collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&listed)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            if hooks.is_empty() {
                writeln!(out, "No password-import hook in this org. Create one with `passbridge hook register --url …`.")?;
            }
            for h in &hooks {
                describe(out, h)?;
            }
            if event_hooks.is_empty() {
                writeln!(out, "No event hook in this org. Create one with `passbridge hook register --events …`.")?;
            }
            for h in &event_hooks {
                super::event_hook::describe(out, h)?;
            }
        }
        HookCommand::Activate { id, .. } => {
            let h = okta
                .activate_inline_hook(&id)
                .await
                .with_context(|| format!("activating hook {id}"))?;
            writeln!(out, "Hook {} is {}.", h.id, h.status)?;
        }
        HookCommand::Deactivate { id, .. } => {
            let h = okta
                .deactivate_inline_hook(&id)
                .await
                .with_context(|| format!("deactivating hook {id}"))?;
            writeln!(
                out,
                "Hook {} is {}. Users created with the hook flag cannot sign in until it is active again.",
                h.id, h.status
            )?;
        }
        HookCommand::Delete { id, yes, .. } => {
            let h = okta
                .get_inline_hook(&id)
                .await
                .with_context(|| format!("reading hook {id}"))?;
            if !yes && !confirm_delete(out, input, interactive, &h)? {
                writeln!(out, "Not deleted.")?;
                return Ok(ExitCode::from(1));
            }
            if h.is_active() {
                okta.deactivate_inline_hook(&id)
                    .await
                    .with_context(|| format!("deactivating hook {id} before deleting it"))?;
                writeln!(out, "Deactivated hook {id}.")?;
            }
            okta.delete_inline_hook(&id)
                .await
                .with_context(|| format!("deleting hook {id}"))?;
            writeln!(out, "Deleted hook {id}.")?;
        }
        HookCommand::Test { id, .. } => return test(ctx, out, input, interactive, &id).await,
        HookCommand::Retire(_) => {
            bail!("hook retire reads the ledger: run it through `hook::run`")
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks before deleting; refuses (an error) when nobody can be asked.
fn confirm_delete(
    out: &mut dyn Write,
    input: &mut dyn BufRead,
    interactive: bool,
    h: &InlineHook,
) -> anyhow::Result<bool> {
    if !interactive {
        bail!(
            "refusing to delete hook {} without confirmation: standard input is not a terminal; \
             re-run with --yes to delete it",
            h.id
        );
    }
    writeln!(
        out,
        "Delete hook {} ({}, {}, {})? Users created with the hook flag cannot sign in afterwards.",
        h.id, h.name, h.status, h.channel.config.uri
    )?;
    write!(out, "Type yes to delete: ")?;
    out.flush()?;
    let mut answer = String::new();
    input.read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "yes" | "y" | "YES" | "Y"))
}

/// One row of `hook list --json`: a stable shape of our own, not Okta's
/// object (which carries the secret's header config and may grow).
#[derive(serde::Serialize)]
struct HookListing<'a> {
    id: &'a str,
    name: &'a str,
    status: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    channel_uri: &'a str,
    /// Upper-cased: Okta writes `HEADER` and reads back `header`.
    auth_type: String,
    auth_header: Option<&'a str>,
    /// Event hooks only: `VERIFIED` or `UNVERIFIED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    verification_status: Option<&'a str>,
    /// Event hooks only: the subscribed event types.
    #[serde(skip_serializing_if = "Option::is_none")]
    events: Option<&'a [String]>,
}

/// `type` of an event hook's row in `hook list --json`.
pub const EVENT_HOOK_LISTING_TYPE: &str = "com.okta.event_hook";

impl<'a> From<&'a crate::okta::EventHook> for HookListing<'a> {
    fn from(h: &'a crate::okta::EventHook) -> Self {
        let auth = h.channel.config.auth_scheme.as_ref();
        Self {
            id: &h.id,
            name: &h.name,
            status: &h.status,
            kind: EVENT_HOOK_LISTING_TYPE,
            channel_uri: &h.channel.config.uri,
            auth_type: auth.map_or_else(|| "NONE".to_owned(), |a| a.kind.to_ascii_uppercase()),
            auth_header: auth.map(|a| a.key.as_str()),
            verification_status: Some(&h.verification_status),
            events: Some(&h.events.items),
        }
    }
}

impl<'a> From<&'a InlineHook> for HookListing<'a> {
    fn from(h: &'a InlineHook) -> Self {
        let auth = h.channel.config.auth_scheme.as_ref();
        Self {
            id: &h.id,
            name: &h.name,
            status: &h.status,
            kind: &h.kind,
            channel_uri: &h.channel.config.uri,
            auth_type: auth.map_or_else(|| "NONE".to_owned(), |a| a.kind.to_ascii_uppercase()),
            auth_header: auth.map(|a| a.key.as_str()),
            verification_status: None,
            events: None,
        }
    }
}

/// The header a hook's `HEADER` auth scheme names, as `describe` shows it.
pub(crate) fn auth_header_label(scheme: Option<&crate::okta::AuthScheme>) -> &str {
    scheme.map_or("(none)", |a| a.key.as_str())
}

fn describe(out: &mut dyn Write, h: &InlineHook) -> std::io::Result<()> {
    let header = auth_header_label(h.channel.config.auth_scheme.as_ref());
    writeln!(out, "{}  {:<8}  {}", h.id, h.status, h.name)?;
    writeln!(out, "    url:         {}", h.channel.config.uri)?;
    match &h.channel.config.client_id {
        Some(client) if h.channel.kind.eq_ignore_ascii_case("OAUTH") => {
            writeln!(
                out,
                "    auth:        OAuth 2.0 ({}), client {client}",
                h.channel.config.auth_type.as_deref().unwrap_or("?")
            )?;
        }
        _ => writeln!(out, "    auth header: {header}")?,
    }
    let extra: Vec<&str> = h
        .channel
        .config
        .headers
        .iter()
        .map(|x| x.key.as_str())
        .collect();
    if !extra.is_empty() {
        writeln!(out, "    headers:     {}", extra.join(", "))?;
    }
    Ok(())
}

/// Okta wants https; http is allowed only towards a loopback address (a
/// local stand-in, in tests and demos).
pub(crate) fn check_hook_url(url: &Url) -> anyhow::Result<()> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if crate::net::is_loopback_host(url) => Ok(()),
        _ => bail!("--url {url}: Okta only calls https:// hook URLs"),
    }
}

/// Which secret `hook register` gives Okta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SecretChoice {
    /// The configured one; generate (and print) one only when none is.
    ConfiguredOrNew,
    /// `--replace`: the configured one, or refuse (a new one would lock out
    /// the running `serve`).
    Keep,
    /// `--rotate-secret`: print a new one as `new,old` and leave Okta as is.
    Rotate,
}

/// A `hook register` request.
struct Registration<'a> {
    url: &'a Url,
    name: &'a str,
    replace: bool,
    secret: SecretChoice,
    auth_header: Option<String>,
    headers: &'a [String],
}

/// Serve refuses shorter secrets (`Settings::validate_for_serve`); so does this.
const MIN_SECRET_LEN: usize = 16;

/// Replaces the org's existing password-import hook `id` with `create`
/// (Okta allows one per org) and activates it if it is not active.
async fn replace_in_place(
    ctx: &HookContext,
    id: &str,
    create: &InlineHookCreate,
    out: &mut dyn Write,
) -> anyhow::Result<InlineHook> {
    let mut h = ctx
        .client
        .replace_inline_hook(id, create)
        .await
        .with_context(|| format!("updating hook {id}"))?;
    if !h.is_active() {
        h = ctx
            .client
            .activate_inline_hook(&h.id)
            .await
            .with_context(|| format!("activating hook {id}"))?;
    }
    writeln!(out, "Updated the existing password-import hook in place.")?;
    Ok(h)
}

async fn register(
    ctx: &HookContext,
    out: &mut dyn Write,
    req: Registration<'_>,
) -> anyhow::Result<()> {
    let url = req.url;
    check_hook_url(url)?;
    let header = req.auth_header.unwrap_or_else(|| ctx.header.clone());
    if axum::http::HeaderName::from_bytes(header.as_bytes()).is_err() {
        bail!("--auth-header {header:?} is not a valid HTTP header name");
    }
    if ctx
        .secret
        .as_ref()
        .is_some_and(|s| s.expose_secret().len() < MIN_SECRET_LEN)
    {
        bail!(
            "hook.secrets: PASSBRIDGE_HOOK_SECRET is shorter than {MIN_SECRET_LEN} characters, \
             and `serve` would refuse it; use a long random value (e.g. `openssl rand -base64 32`)"
        );
    }
    match (req.secret, &ctx.secret) {
        (SecretChoice::Keep, None) => bail!(
            "--replace needs the secret `serve` uses: PASSBRIDGE_HOOK_SECRET (or hook.secrets in \
             the config file) is not set. Set it to the value the running `serve` has, or add \
             --rotate-secret to start a rotation"
        ),
        (SecretChoice::Rotate, None) => bail!(
            "--rotate-secret needs the current secret in PASSBRIDGE_HOOK_SECRET (or hook.secrets \
             in the config file), so that `serve` can accept the old and the new one together"
        ),
        _ => {}
    }
    let extra = req
        .headers
        .iter()
        .map(|h| {
            let (key, value) = h
                .split_once('=')
                .with_context(|| format!("--header {h:?}: expected KEY=VALUE"))?;
            Ok(HookHeader {
                key: key.trim().to_owned(),
                value: Some(SecretString::from(value.to_owned())),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let existing = ctx
        .client
        .list_inline_hooks(Some(PASSWORD_IMPORT_HOOK_TYPE))
        .await
        .context("listing the org's inline hooks")?;
    if let (Some(h), false) = (existing.first(), req.replace) {
        bail!(
            "the org already has a password-import hook: {} ({}, {}, {}). Okta allows one per org; \
             re-run with --replace to update it in place, or remove it with `passbridge hook delete {}`",
            h.id,
            h.name,
            h.status,
            h.channel.config.uri,
            h.id
        );
    }
    // (A configured secret was checked above.)
    if req.secret == SecretChoice::Rotate {
        return print_rotation(out, existing.first(), ctx.configured, url);
    }
    let (secret, generated) = match &ctx.secret {
        Some(s) => (s.clone(), false),
        None => (crate::startup::generate_secret(), true),
    };
    let create =
        InlineHookCreate::password_import(req.name, url.as_str(), &header, secret.clone(), extra);
    let hook = match existing.first() {
        Some(old) => replace_in_place(ctx, &old.id, &create, out).await?,
        None => ctx
            .client
            .create_inline_hook(&create)
            .await
            .context("creating the password-import hook")?,
    };
    writeln!(
        out,
        "Registered password-import hook {} ({}).",
        hook.id, hook.status
    )?;
    describe(out, &hook)?;
    if generated {
        writeln!(out)?;
        writeln!(
            out,
            "Generated a hook secret; it is shown only here, so store it in your secret manager."
        )?;
        writeln!(
            out,
            "`passbridge serve` must have the same secret: run this in the shell (or put the \
             variable in the service unit) that starts it, then (re)start serve:"
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "  export PASSBRIDGE_HOOK_SECRET={}",
            secret.expose_secret()
        )?;
        if !header.eq_ignore_ascii_case(&ctx.header) {
            writeln!(out, "  export PASSBRIDGE_HOOK_HEADER={header}")?;
        }
    } else {
        writeln!(
            out,
            "Okta will send PASSBRIDGE_HOOK_SECRET (the first value) in the {header} header."
        )?;
    }
    Ok(())
}

/// `--auth oauth2` flags.
struct OAuthFlags {
    client_id: Option<String>,
    token_url: Option<Url>,
    scope: Option<String>,
    hook_key_id: Option<String>,
}

fn parse_headers(headers: &[String]) -> anyhow::Result<Vec<HookHeader>> {
    headers
        .iter()
        .map(|h| {
            let (key, value) = h
                .split_once('=')
                .with_context(|| format!("--header {h:?}: expected KEY=VALUE"))?;
            Ok(HookHeader {
                key: key.trim().to_owned(),
                value: Some(SecretString::from(value.to_owned())),
            })
        })
        .collect()
}

/// Registers (or with `replace`, updates) the hook with an OAUTH channel
/// (protocol §3.2): `client_secret_post` with the secret from
/// `PASSBRIDGE_HOOK_OAUTH_CLIENT_SECRET`, or `private_key_jwt` with a hook key.
async fn register_oauth(
    ctx: &HookContext,
    out: &mut dyn Write,
    url: &Url,
    name: &str,
    replace: bool,
    headers: &[String],
    flags: OAuthFlags,
) -> anyhow::Result<()> {
    check_hook_url(url)?;
    let defaults = &ctx.oauth.settings;
    let client_id = flags
        .client_id
        .or_else(|| defaults.client_id.clone())
        .filter(|c| !c.trim().is_empty())
        .context("--client-id: not set (nor hook.oauth.client_id / PASSBRIDGE_HOOK_OAUTH_CLIENT_ID): the client id of the API Services app Okta gets its token as")?;
    let token_url = match flags.token_url {
        Some(u) => u,
        None => {
            let issuer = defaults.issuer.as_deref().context(
                "--token-url: not set, and no hook.oauth.issuer (PASSBRIDGE_HOOK_OAUTH_ISSUER) to derive {issuer}/v1/token from",
            )?;
            Url::parse(&format!("{}/v1/token", issuer.trim_end_matches('/')))
                .context("hook.oauth.issuer")?
        }
    };
    if !crate::hook::oauth::jwks::is_allowed_url(&token_url) {
        bail!("--token-url {token_url}: must be https:// (http only to loopback)");
    }
    let scope = flags.scope.or_else(|| defaults.scope.clone());
    let auth = match flags.hook_key_id {
        Some(key) => OAuthClientAuth::PrivateKeyJwt(key),
        None => OAuthClientAuth::ClientSecretPost(ctx.oauth.client_secret.clone().with_context(|| {
            format!("{CLIENT_SECRET_VAR}: not set; client_secret_post needs the app's client secret there (never a flag), or pass --hook-key-id for private_key_jwt")
        })?),
    };
    let create = InlineHookCreate::password_import_oauth(
        name,
        url.as_str(),
        OAuthChannel {
            client_id: client_id.clone(),
            token_url: token_url.to_string(),
            scope: scope.clone(),
            auth,
        },
        parse_headers(headers)?,
    );
    let existing = ctx
        .client
        .list_inline_hooks(Some(PASSWORD_IMPORT_HOOK_TYPE))
        .await
        .context("listing the org's inline hooks")?;
    let hook = match (existing.first(), replace) {
        (Some(h), false) => bail!(
            "the org already has a password-import hook: {} ({}). Okta allows one per org; \
             re-run with --replace to update it in place",
            h.id,
            h.channel.config.uri
        ),
        (Some(old), true) => replace_in_place(ctx, &old.id, &create, out).await?,
        (None, _) => ctx
            .client
            .create_inline_hook(&create)
            .await
            .context("creating the password-import hook")?,
    };
    writeln!(
        out,
        "Registered password-import hook {} ({}), OAuth 2.0 channel.",
        hook.id, hook.status
    )?;
    describe(out, &hook)?;
    writeln!(
        out,
        "`passbridge serve` must check Okta's token: PASSBRIDGE_HOOK_AUTH=oauth2, \
         PASSBRIDGE_HOOK_OAUTH_CLIENT_ID={client_id}{}, and the issuer and audience of \
         the authorization server behind {token_url}.",
        scope
            .as_deref()
            .map(|s| format!(", PASSBRIDGE_HOOK_OAUTH_SCOPE={s}"))
            .unwrap_or_default()
    )?;
    Ok(())
}

/// `--rotate-secret`: a new secret, and the steps that switch to it without
/// a single refused sign-in. Okta is not changed yet: until `serve` accepts
/// the new secret, Okta must keep sending the old one. The current secret is
/// not printed: the line refers to it (`$PASSBRIDGE_HOOK_SECRET`).
fn print_rotation(
    out: &mut dyn Write,
    hook: Option<&InlineHook>,
    configured: ConfiguredSecrets,
    url: &Url,
) -> anyhow::Result<()> {
    let hook = hook.context(
        "--rotate-secret: the org has no password-import hook yet; register one first \
         (`passbridge hook register --url …`)",
    )?;
    if configured.count > 1 {
        bail!(
            "--rotate-secret: a rotation is under way ({SECRET_VAR} holds {} secrets). Finish it: \
             `passbridge hook register --replace --url {url}` gives Okta the first one; then keep \
             only that one in {SECRET_VAR}, restart serve, and rotate again if needed",
            configured.count
        );
    }
    let new = crate::startup::generate_secret();
    writeln!(
        out,
        "Generated a new hook secret for hook {} ({}); it is shown only here, so store it in \
         your secret manager. Okta still sends the current secret: nothing was changed yet.",
        hook.id, hook.name
    )?;
    writeln!(out)?;
    if configured.from_env {
        writeln!(
            out,
            "1. In the shell (or service unit) that has the current {SECRET_VAR}, make serve \
             accept both, new first, and restart it:"
        )?;
        writeln!(
            out,
            "  export {SECRET_VAR}=\"{},${SECRET_VAR}\"",
            new.expose_secret()
        )?;
    } else {
        writeln!(
            out,
            "1. In the config file, make serve accept both, new first, and restart it:"
        )?;
        writeln!(
            out,
            "  [hook]\n  secrets = [\"{}\", \"<the current secret>\"]",
            new.expose_secret()
        )?;
    }
    writeln!(
        out,
        "2. With the same settings, switch Okta to the new (first) secret:"
    )?;
    writeln!(out, "  passbridge hook register --replace --url {url}")?;
    writeln!(
        out,
        "3. Once `passbridge hook test {}` passes, keep only the new secret and restart serve.",
        hook.id
    )?;
    Ok(())
}

/// Reads the username and password for `hook test`.
fn read_credentials(
    out: &mut dyn Write,
    input: &mut dyn BufRead,
    interactive: bool,
) -> anyhow::Result<(String, SecretString)> {
    if interactive {
        write!(out, "Username: ")?;
        out.flush()?;
    }
    let mut username = String::new();
    input.read_line(&mut username)?;
    let username = username.trim().to_owned();
    if username.is_empty() {
        bail!("hook test reads the username from the first line of stdin");
    }
    let password = if interactive {
        out.flush()?;
        SecretString::from(rpassword::prompt_password("Password: ")?)
    } else {
        let mut line = String::new();
        input.read_line(&mut line)?;
        let trimmed = line.trim_end_matches(['\r', '\n']).to_owned();
        line.clear();
        SecretString::from(trimmed)
    };
    if password.expose_secret().is_empty() {
        bail!("hook test reads the password from the second line of stdin");
    }
    Ok((username, password))
}

/// A password-import request in Okta's shape (protocol §1.2).
fn sample_request(org: &Url, hook_id: &str, username: &str, password: &SecretString) -> Value {
    let event_id = uuid::Uuid::new_v4().simple().to_string();
    json!({
        "eventId": event_id,
        "eventTime": crate::ledger::now_rfc3339(),
        "eventType": PASSWORD_IMPORT_HOOK_TYPE,
        "eventTypeVersion": "1.0",
        "contentType": "application/json",
        "cloudEventVersion": "0.1",
        "source": format!("{}api/v1/inlineHooks/{hook_id}", org),
        "data": {
            "context": {
                "request": {
                    "id": format!("{}{event_id}", crate::hook::protocol::TEST_REQUEST_ID_PREFIX),
                    "method": "POST",
                    "url": { "value": "/api/v1/authn" },
                    "ipAddress": "127.0.0.1"
                },
                "credential": { "username": username, "password": password.expose_secret() }
            },
            "action": { "credential": "UNVERIFIED" }
        }
    })
}

async fn test(
    ctx: &HookContext,
    out: &mut dyn Write,
    input: &mut dyn BufRead,
    interactive: bool,
    id: &str,
) -> anyhow::Result<ExitCode> {
    let (username, password) = read_credentials(out, input, interactive)?;
    let body = sample_request(ctx.client.org_url(), id, &username, &password);
    let started = Instant::now();
    let answer = ctx.client.execute_inline_hook(id, &body).await;
    let elapsed = started.elapsed();
    drop(body);
    let answer = answer.with_context(|| format!("executing hook {id}"))?;
    writeln!(
        out,
        "Okta's answer (round trip {} ms):",
        elapsed.as_millis()
    )?;
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&answer).unwrap_or_default()
    )?;
    let verified = answer["commands"].as_array().is_some_and(|cmds| {
        cmds.iter().any(|c| {
            c["type"] == "com.okta.action.update" && c["value"]["credential"] == "VERIFIED"
        })
    });
    writeln!(
        out,
        "Verdict for {username}: {}",
        if verified { "VERIFIED" } else { "UNVERIFIED" }
    )?;
    Ok(if verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
