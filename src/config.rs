//! Settings and how they are layered: built-in defaults < TOML file
//! (`--config`, `PASSBRIDGE_CONFIG`, or `./passbridge.toml` if present) <
//! `PASSBRIDGE_*` environment < command-line flags.
//!
//! The environment layer is an explicit table rather than a generic
//! prefix-splitting provider because the variable names are a public interface
//! (`PASSBRIDGE_LEGACY_URL`, not `PASSBRIDGE_LEGACY__URL`) and secrets must be
//! taken verbatim, never parsed as numbers or arrays.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

use crate::db::DatabaseUrl;
use crate::hash::Limits;

/// Result alias for configuration.
pub type Result<T> = std::result::Result<T, ConfigError>;

/// A configuration problem, naming the key and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid TOML for our settings.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// File.
        path: PathBuf,
        /// What toml said (key and line).
        message: String,
    },
    /// An environment variable has a value of the wrong shape.
    #[error("invalid {var}: {message}")]
    Env {
        /// Variable name.
        var: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A required setting is missing or a value is unusable.
    #[error("{key}: {message}")]
    Invalid {
        /// Config key (and its variable / flag).
        key: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Every setting.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address `serve` listens on.
    pub listen: SocketAddr,
    /// Address of the admin listener (`/metrics`, `/readyz`, `/healthz`).
    pub admin_listen: SocketAddr,
    /// PEM certificate chain: with `tls_key`, the hook listener serves HTTPS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, RSA or EC) of `tls_cert`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// Serve the admin listener over HTTPS too (with the same certificate).
    pub admin_tls: bool,
    /// Bearer token for `GET /admin` and `/admin/status.json`
    /// (`PASSBRIDGE_ADMIN_TOKEN`); without one they answer loopback peers only.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_secret_redacted",
        deserialize_with = "deserialize_secret"
    )]
    pub admin_token: Option<SecretString>,
    /// How often the certificate files are checked for a change (SIGHUP
    /// reloads at once).
    #[serde(with = "humantime_serde")]
    pub tls_reload_interval: Duration,
    /// Connection timeouts and caps of both listeners.
    pub http: HttpSettings,
    /// The legacy user database (read-only except the optional write-back).
    pub legacy: LegacySettings,
    /// passbridge's own tables.
    pub ledger: LedgerSettings,
    /// The inline hook endpoint.
    pub hook: HookSettings,
    /// The Okta event hook endpoint (`user.import.password` outcomes).
    pub event_hook: EventHookSettings,
    /// Hash verification.
    pub hash: HashSettings,
    /// Okta org access (import, hook registration).
    pub okta: OktaSettings,
    /// `passbridge import`.
    pub import: ImportSettings,
    /// Logging.
    pub log: LogSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
            tls_cert: None,
            tls_key: None,
            admin_tls: false,
            admin_token: None,
            tls_reload_interval: Duration::from_secs(5),
            http: HttpSettings::default(),
            legacy: LegacySettings::default(),
            ledger: LedgerSettings::default(),
            hook: HookSettings::default(),
            event_hook: EventHookSettings::default(),
            hash: HashSettings::default(),
            okta: OktaSettings::default(),
            import: ImportSettings::default(),
            log: LogSettings::default(),
        }
    }
}

/// Shortest admin token `serve` accepts (a guessable one would open `/admin`).
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;

/// Connection timeouts and caps: every peer is bounded in time and number,
/// so idle or dripping connections cannot hold the service.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// A request head must arrive within this time (from accept, or from its
    /// first byte on a kept-alive connection).
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// A request body must arrive within this time after its head.
    #[serde(with = "humantime_serde")]
    pub body_read_timeout: Duration,
    /// A kept-alive connection with no request is closed after this time.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Hook connections open at once; more wait in the kernel's accept queue.
    /// Lowered at start if the open-file limit cannot hold it.
    pub max_connections: usize,
    /// How often the background readiness probe checks the databases.
    #[serde(with = "humantime_serde")]
    pub readiness_interval: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(5),
            body_read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            max_connections: 512,
            readiness_interval: Duration::from_secs(2),
        }
    }
}

/// The legacy database.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LegacySettings {
    /// `sqlite://…`, `postgres://…` or `mysql://…`.
    pub url: Option<DatabaseUrl>,
    /// One query, one bind parameter (the username as Okta sends it), in the
    /// database's own dialect; returns `password_hash` and optionally `salt`, `scheme`.
    pub query: Option<String>,
    /// Optional statement run after VERIFIED with the username as its one parameter.
    pub write_back: Option<String>,
    /// Scheme for rows whose `scheme` column is absent or empty and whose hash
    /// does not describe itself (e.g. `salted_sha256`).
    pub scheme: Option<String>,
    /// Parameters for such schemes (`salt_position`, `salt_encoding`, `encoding`, `pepper`, …).
    #[serde(serialize_with = "serialize_params_redacted")]
    pub params: BTreeMap<String, String>,
    /// Lower-case the username before the lookup.
    pub lowercase_username: bool,
    /// Pool size.
    pub max_connections: u32,
    /// Wait at most this long for a connection.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Wait at most this long for the lookup query.
    #[serde(with = "humantime_serde")]
    pub query_timeout: Duration,
}

impl LegacySettings {
    /// The username the hook looks up for `username` as Okta sent it:
    /// trimmed and lower-cased with `lowercase_username`, else as is. The one
    /// place this rule lives (the hook, `throttle clear`, the event hook).
    pub fn login_for(&self, username: &str) -> String {
        if self.lowercase_username {
            username.trim().to_lowercase()
        } else {
            username.to_owned()
        }
    }
}

impl std::fmt::Debug for LegacySettings {
    // `params` may hold a pepper or an encoder secret: show only the keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacySettings")
            .field("url", &self.url)
            .field("query", &self.query)
            .field("write_back", &self.write_back)
            .field("scheme", &self.scheme)
            .field("params", &self.params.keys().collect::<Vec<_>>())
            .field("lowercase_username", &self.lowercase_username)
            .field("max_connections", &self.max_connections)
            .field("connect_timeout", &self.connect_timeout)
            .field("query_timeout", &self.query_timeout)
            .finish()
    }
}

impl Default for LegacySettings {
    fn default() -> Self {
        Self {
            url: None,
            query: None,
            write_back: None,
            scheme: None,
            params: BTreeMap::new(),
            lowercase_username: false,
            max_connections: 8,
            connect_timeout: Duration::from_millis(1500),
            query_timeout: Duration::from_millis(1000),
        }
    }
}

/// passbridge's own database.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LedgerSettings {
    /// Defaults to `passbridge-ledger.db` next to a SQLite legacy database,
    /// or in the working directory otherwise.
    pub url: Option<DatabaseUrl>,
    /// Durable local spool for rows the ledger cannot take in time. Defaults
    /// to `passbridge-spool` next to a SQLite ledger, or in the working directory.
    pub spool_dir: Option<PathBuf>,
}

/// How Okta authenticates itself to the hook (`hook.auth`, `PASSBRIDGE_HOOK_AUTH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum HookAuthMode {
    /// A shared secret in a header (`hook.header`, `hook.secrets`); channel `HTTP`.
    #[default]
    Header,
    /// An OAuth 2.0 access token (`Authorization: Bearer`); channel `OAUTH`, `[hook.oauth]`.
    Oauth2,
}

/// `[hook.oauth]`: what an Okta access token must satisfy in `oauth2` mode.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthSettings {
    /// `https://{org}/oauth2/{authServerId}`, compared exactly with `iss`.
    pub issuer: Option<String>,
    /// Must be in `aud` (e.g. `api://default`).
    pub audience: Option<String>,
    /// Must equal `cid`: the client Okta's hook channel uses.
    pub client_id: Option<String>,
    /// Must be in `scp` (the hook's custom scope).
    pub scope: Option<String>,
    /// Accepted header `alg` values; `none` and HS* are refused at load.
    #[serde(
        serialize_with = "serialize_algorithms",
        deserialize_with = "deserialize_algorithms"
    )]
    pub algorithms: Vec<jsonwebtoken::Algorithm>,
    /// Clock skew allowed for `exp`, `nbf`, `iat`.
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
    /// JWKS location; default: `jwks_uri` of `{issuer}/.well-known/oauth-authorization-server`.
    pub jwks_url: Option<url::Url>,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        Self {
            issuer: None,
            audience: None,
            client_id: None,
            scope: None,
            algorithms: vec![jsonwebtoken::Algorithm::RS256],
            leeway: Duration::from_secs(60),
            jwks_url: None,
        }
    }
}

fn serialize_algorithms<S: Serializer>(
    v: &[jsonwebtoken::Algorithm],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|a| format!("{a:?}")))
}

fn deserialize_algorithms<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<jsonwebtoken::Algorithm>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|name| parse_algorithm(name).map_err(serde::de::Error::custom))
        .collect()
}

/// One `hook.oauth.algorithms` entry. `none` and HS* are refused whatever
/// the config says: an unsigned token, or an HMAC "signed" with the public
/// key from the JWKS, would authenticate anyone (algorithm confusion).
///
/// # Errors
/// A refused or unknown name.
pub fn parse_algorithm(name: &str) -> std::result::Result<jsonwebtoken::Algorithm, String> {
    let trimmed = name.trim();
    if trimmed.eq_ignore_ascii_case("none") {
        return Err("hook.oauth.algorithms: \"none\" is refused: an unsigned token would authenticate anyone; use [\"RS256\"]".into());
    }
    if trimmed.to_ascii_uppercase().starts_with("HS") {
        return Err(format!("hook.oauth.algorithms: {trimmed:?} is refused: a shared-secret algorithm lets anyone holding the public JWKS forge tokens; use [\"RS256\"]"));
    }
    trimmed.parse::<jsonwebtoken::Algorithm>().map_err(|_| {
        format!("hook.oauth.algorithms: {trimmed:?} is not a JWS algorithm (Okta signs with RS256)")
    })
}

impl OAuthSettings {
    /// The token rules, checking the required keys.
    ///
    /// # Errors
    /// `issuer`, `audience` or `client_id` missing or unusable, no algorithm,
    /// a refused algorithm, or a `jwks_url` that is not https.
    pub fn policy(&self) -> Result<crate::hook::oauth::TokenPolicy> {
        let required = |v: &Option<String>, key: &'static str, var: &str, example: &str| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| ConfigError::Invalid {
                    key,
                    message: format!(
                        "not set; hook.auth = \"oauth2\" needs it: set {var} (e.g. {example})"
                    ),
                })
        };
        let issuer = required(
            &self.issuer,
            "hook.oauth.issuer",
            "PASSBRIDGE_HOOK_OAUTH_ISSUER",
            "https://example.okta.com/oauth2/default",
        )?;
        let allowed = |u: &url::Url| crate::hook::oauth::jwks::is_allowed_url(u);
        if !url::Url::parse(&issuer).is_ok_and(|u| allowed(&u)) {
            return Err(ConfigError::Invalid {
                key: "hook.oauth.issuer",
                message: "must be an https:// URL such as https://example.okta.com/oauth2/default (http only to loopback)".into(),
            });
        }
        if self.jwks_url.as_ref().is_some_and(|u| !allowed(u)) {
            return Err(ConfigError::Invalid {
                key: "hook.oauth.jwks_url",
                message: "must be an https:// URL (http only to loopback)".into(),
            });
        }
        let audience = required(
            &self.audience,
            "hook.oauth.audience",
            "PASSBRIDGE_HOOK_OAUTH_AUDIENCE",
            "api://default",
        )?;
        let client_id = required(
            &self.client_id,
            "hook.oauth.client_id",
            "PASSBRIDGE_HOOK_OAUTH_CLIENT_ID",
            "0oa1b2c3d4e5f6g7h8i9",
        )?;
        if self.algorithms.is_empty() {
            return Err(ConfigError::Invalid {
                key: "hook.oauth.algorithms",
                message: "is empty; use [\"RS256\"]".into(),
            });
        }
        if let Some(bad) = self
            .algorithms
            .iter()
            .find(|a| !crate::hook::oauth::token::is_asymmetric(**a))
        {
            return Err(ConfigError::Invalid {
                key: "hook.oauth.algorithms",
                message: format!("{bad:?} is refused: use [\"RS256\"]"),
            });
        }
        Ok(crate::hook::oauth::TokenPolicy {
            issuer,
            audience,
            client_id,
            scope: self
                .scope
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            algorithms: self.algorithms.clone(),
            leeway: self.leeway,
        })
    }
}

/// The inline hook endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HookSettings {
    /// `header` (default) or `oauth2`.
    pub auth: HookAuthMode,
    /// `oauth2` mode: issuer, audience, client id, scope, algorithms, leeway, JWKS URL.
    pub oauth: OAuthSettings,
    /// Header Okta sends the secret in (`authScheme.key`), matched case-insensitively.
    pub header: String,
    /// Accepted header values (`authScheme.value`); two during a rotation.
    #[serde(
        serialize_with = "serialize_secrets_redacted",
        deserialize_with = "deserialize_secrets"
    )]
    pub secrets: Vec<SecretString>,
    /// Answer within this time, well inside Okta's 3 s timeout.
    #[serde(with = "humantime_serde")]
    pub budget: Duration,
    /// Verifications running at once on the blocking pool (default: 2 per core).
    pub max_concurrent_verifications: usize,
    /// Requests larger than this are refused with 413.
    pub max_body_bytes: usize,
    /// Alias of `hook.throttle.per_row_ip` (used when that is unset): attempts
    /// per legacy row and end-user IP within the window. 0 disables.
    pub max_failures_per_user: u32,
    /// Alias of `hook.throttle.window` (used when that is unset).
    #[serde(with = "humantime_serde")]
    pub failure_window: Duration,
    /// Attempt limits (the hook is a password oracle); see `hook::throttle`.
    pub throttle: ThrottleSettings,
    /// A repeated `eventId` with the same password within this window gets
    /// the first answer without hashing again (Okta retries once). 0 disables.
    #[serde(with = "humantime_serde")]
    pub replay_window: Duration,
    /// How long in-flight requests may take to finish after SIGTERM.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// A stored hash whose scheme and parameters unknown-user verifications
    /// imitate, instead of following the rows recently looked up.
    pub dummy_hash: Option<String>,
}

impl Default for HookSettings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            auth: HookAuthMode::Header,
            oauth: OAuthSettings::default(),
            header: "Authorization".to_owned(),
            secrets: Vec::new(),
            budget: Duration::from_millis(2500),
            max_concurrent_verifications: cores * 2,
            max_body_bytes: 64 * 1024,
            max_failures_per_user: 10,
            failure_window: Duration::from_secs(15 * 60),
            throttle: ThrottleSettings::default(),
            replay_window: Duration::from_secs(10 * 60),
            shutdown_grace: Duration::from_secs(10),
            dummy_hash: None,
        }
    }
}

/// `[hook.throttle]`: attempts counted per legacy row (or normalised unknown
/// username) and end-user IP, in the ledger database. 0 disables a limit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleSettings {
    /// Per (row, end-user IP); unset: `hook.max_failures_per_user` (10).
    pub per_row_ip: Option<u32>,
    /// Per row from all IPs, so one IP cannot lock the real user out elsewhere.
    pub per_row: u32,
    /// Per end-user IP over all rows (password spraying).
    pub per_ip: u32,
    /// Window; unset: `hook.failure_window` (15 min).
    #[serde(with = "humantime_serde")]
    pub window: Option<Duration>,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            per_row_ip: None,
            per_row: 50,
            per_ip: 100,
            window: None,
        }
    }
}

/// Hash verification.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HashSettings {
    /// Cost ceilings checked when a stored hash is parsed.
    pub limits: Limits,
    /// Threads one argon2 verification with `p > 1` may use for its lanes.
    pub argon2_lanes: Argon2Lanes,
}

/// `hash.argon2_lanes`: `"auto"` (up to one thread per lane, per core and per
/// verification slot, borrowed only while slots are idle), `"off"` (lanes
/// one after the other on the verification's own thread), or a number of
/// threads at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Argon2LanesValue", into = "Argon2LanesValue")]
pub enum Argon2Lanes {
    /// As many as lanes, cores and idle slots allow.
    #[default]
    Auto,
    /// Never more than the verification's own thread.
    Off,
    /// At most this many threads (1 is the same as `Off`).
    AtMost(usize),
}

/// How `hash.argon2_lanes` is written: a word or a number.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Argon2LanesValue {
    Threads(usize),
    Word(String),
}

impl TryFrom<Argon2LanesValue> for Argon2Lanes {
    type Error = String;
    fn try_from(value: Argon2LanesValue) -> std::result::Result<Self, String> {
        match value {
            Argon2LanesValue::Threads(0) => Err("hash.argon2_lanes must be at least 1".into()),
            Argon2LanesValue::Threads(n) => Ok(Self::AtMost(n)),
            Argon2LanesValue::Word(w) => match w.as_str() {
                "auto" => Ok(Self::Auto),
                "off" => Ok(Self::Off),
                other => other
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map(Self::AtMost)
                    .ok_or_else(|| {
                        format!("hash.argon2_lanes is \"auto\", \"off\" or a thread count, not {other:?}")
                    }),
            },
        }
    }
}

impl From<Argon2Lanes> for Argon2LanesValue {
    fn from(lanes: Argon2Lanes) -> Self {
        match lanes {
            Argon2Lanes::Auto => Self::Word("auto".into()),
            Argon2Lanes::Off => Self::Word("off".into()),
            Argon2Lanes::AtMost(n) => Self::Threads(n),
        }
    }
}

/// The Okta event hook endpoint, `POST /hooks/okta-events`: answered 404
/// until a secret is configured.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventHookSettings {
    /// The value Okta sends in `header` (`PASSBRIDGE_EVENT_HOOK_SECRET`); its
    /// own secret, never the inline hook's.
    #[serde(
        serialize_with = "serialize_secret_redacted",
        deserialize_with = "deserialize_secret"
    )]
    pub secret: Option<SecretString>,
    /// Header Okta sends the secret in (`authScheme.key`).
    pub header: String,
    /// Events accepted in one delivery; a larger batch is refused with 413.
    pub max_events_per_batch: usize,
}

impl Default for EventHookSettings {
    fn default() -> Self {
        Self {
            secret: None,
            header: "Authorization".to_owned(),
            max_events_per_batch: 500,
        }
    }
}

/// Okta org access.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OktaSettings {
    /// `https://your-org.okta.com` (`OKTA_ORG_URL`).
    pub org_url: Option<url::Url>,
    /// API token (`OKTA_API_TOKEN`; never a flag, so it stays out of argv and shell history).
    #[serde(
        serialize_with = "serialize_secret_redacted",
        deserialize_with = "deserialize_secret"
    )]
    pub api_token: Option<SecretString>,
}

/// `passbridge import`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportSettings {
    /// Query streaming the users to import (`PASSBRIDGE_IMPORT_QUERY`).
    pub query: Option<String>,
    /// Requests in flight at once.
    pub concurrency: usize,
}

impl Default for ImportSettings {
    fn default() -> Self {
        Self {
            query: None,
            concurrency: 8,
        }
    }
}

/// Logging.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `pretty` or `json`.
    pub format: LogFormat,
    /// tracing env-filter directives; `RUST_LOG` wins when set.
    pub filter: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            filter: "info,sqlx=warn,tower_http=info".to_owned(),
        }
    }
}

const REDACTED: &str = "<redacted>";

fn serialize_secrets_redacted<S: Serializer>(
    v: &[SecretString],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|_| REDACTED))
}

fn serialize_secret_redacted<S: Serializer>(
    v: &Option<SecretString>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str(REDACTED),
        None => s.serialize_none(),
    }
}

fn serialize_params_redacted<S: Serializer>(
    v: &BTreeMap<String, String>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    // Peppers, keys and encoder secrets are secrets; other parameters are not.
    s.collect_map(v.iter().map(|(k, val)| {
        let shown = if ["pepper", "key", "secret", "password"]
            .iter()
            .any(|w| k.contains(w))
        {
            REDACTED
        } else {
            val.as_str()
        };
        (k, shown)
    }))
}

/// Accepts a list of strings or one comma-separated string.
fn deserialize_secrets<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<SecretString>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => split_secrets(&s),
        OneOrMany::Many(v) => v.into_iter().map(SecretString::from).collect(),
    })
}

fn deserialize_secret<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<SecretString>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(SecretString::from))
}

/// Splits `PASSBRIDGE_HOOK_SECRET`: comma-separated, blanks ignored.
pub fn split_secrets(s: &str) -> Vec<SecretString> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| SecretString::from(p.to_owned()))
        .collect()
}

impl HttpSettings {
    /// Zero timeouts or caps would refuse every connection (or none).
    ///
    /// # Errors
    /// The first unusable value.
    pub fn validate(&self) -> Result<()> {
        let timeouts = [
            ("http.header_read_timeout", self.header_read_timeout),
            ("http.body_read_timeout", self.body_read_timeout),
            ("http.idle_timeout", self.idle_timeout),
            ("http.readiness_interval", self.readiness_interval),
        ];
        if let Some((key, _)) = timeouts.iter().find(|(_, d)| d.is_zero()) {
            return Err(ConfigError::Invalid {
                key,
                message: "must be more than 0 (e.g. 5s)".into(),
            });
        }
        if self.max_connections == 0 {
            return Err(ConfigError::Invalid {
                key: "http.max_connections",
                message: "must be at least 1 (PASSBRIDGE_HTTP_MAX_CONNECTIONS)".into(),
            });
        }
        Ok(())
    }
}

/// One environment variable and how it sets a field.
struct EnvVar {
    name: &'static str,
    apply: fn(&mut Settings, &str) -> std::result::Result<(), String>,
}

fn parse_duration(v: &str) -> std::result::Result<Duration, String> {
    humantime::parse_duration(v).map_err(|e| format!("{e} (examples: 2500ms, 3s)"))
}

/// A listen address (`PASSBRIDGE_LISTEN`, `serve --listen`). A bare port is
/// the common mistake, so the error shows what an address looks like.
///
/// # Errors
/// Not an `IP:PORT` socket address.
pub fn parse_listen(v: &str) -> std::result::Result<SocketAddr, String> {
    v.trim().parse().map_err(|e| {
        let port = v.trim().trim_start_matches(':');
        let port = if port.parse::<u16>().is_ok() {
            port
        } else {
            "8080"
        };
        format!("{e}: use an address such as 127.0.0.1:{port} or 0.0.0.0:{port}")
    })
}

fn parse_count(v: &str) -> std::result::Result<u32, String> {
    v.trim()
        .parse()
        .map_err(|e| format!("{e} (a whole number; 0 disables)"))
}

fn parse_db(v: &str) -> std::result::Result<Option<DatabaseUrl>, String> {
    v.parse()
        .map(Some)
        .map_err(|e: crate::db::DbError| e.to_string())
}

/// A path from the environment; empty means unset.
fn non_empty_path(v: &str) -> Option<PathBuf> {
    let v = v.trim();
    (!v.is_empty()).then(|| PathBuf::from(v))
}

/// `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`.
fn parse_bool(v: &str) -> std::result::Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        other => Err(format!("{other:?} is not a boolean (true or false)")),
    }
}

/// The public environment interface. Each entry is documented in the README.
const ENV_VARS: &[EnvVar] = &[
    EnvVar {
        name: "PASSBRIDGE_LISTEN",
        apply: |s, v| {
            s.listen = parse_listen(v)?;
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_ADMIN_LISTEN",
        apply: |s, v| {
            s.admin_listen = v
                .parse()
                .map_err(|e| format!("{e} (example: 127.0.0.1:9090)"))?;
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_TLS_CERT",
        apply: |s, v| {
            s.tls_cert = non_empty_path(v);
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_TLS_KEY",
        apply: |s, v| {
            s.tls_key = non_empty_path(v);
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_ADMIN_TLS",
        apply: |s, v| {
            s.admin_tls = parse_bool(v)?;
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_ADMIN_TOKEN",
        apply: |s, v| {
            let v = v.trim();
            s.admin_token = (!v.is_empty()).then(|| SecretString::from(v.to_owned()));
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_TLS_RELOAD_INTERVAL",
        apply: |s, v| {
            s.tls_reload_interval = parse_duration(v)?;
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_HTTP_HEADER_READ_TIMEOUT",
        apply: |s, v| {
            s.http.header_read_timeout = parse_duration(v)?;
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_HTTP_BODY_READ_TIMEOUT",
        apply: |s, v| {
            s.http.body_read_timeout = parse_duration(v)?;
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_HTTP_IDLE_TIMEOUT",
        apply: |s, v| {
            s.http.idle_timeout = parse_duration(v)?;
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_HTTP_MAX_CONNECTIONS",
        apply: |s, v| {
            s.http.max_connections = v
                .trim()
                .parse()
                .map_err(|e| format!("{e} (example: 512)"))?;
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_LEGACY_URL",
        apply: |s, v| {
            s.legacy.url = parse_db(v)?;
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_LEGACY_QUERY",
        apply: |s, v| {
            s.legacy.query = Some(v.to_owned());
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_LEGACY_WRITE_BACK",
        apply: |s, v| {
            s.legacy.write_back = Some(v.to_owned());
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_LEGACY_SCHEME",
        apply: |s, v| {
            s.legacy.scheme = Some(v.to_owned());
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_LEGACY_QUERY_TIMEOUT",
        apply: |s, v| {
            s.legacy.query_timeout = parse_duration(v)?;
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_LEDGER_URL",
        apply: |s, v| {
            s.ledger.url = parse_db(v)?;
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_LEDGER_SPOOL_DIR",
        apply: |s, v| {
            s.ledger.spool_dir = Some(PathBuf::from(v));
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_HOOK_SECRET",
        apply: |s, v| {
            s.hook.secrets = split_secrets(v);
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_EVENT_HOOK_SECRET",
        apply: |s, v| {
            s.event_hook.secret = Some(SecretString::from(v.trim().to_owned()))
                .filter(|v| !v.expose_secret().is_empty());
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_HOOK_AUTH",
        apply: |s, v| {
            s.hook.auth = match v.trim() {
                "header" => HookAuthMode::Header,
                "oauth2" => HookAuthMode::Oauth2,
                other => return Err(format!("{other:?} is not header or oauth2")),
            };
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_HOOK_OAUTH_ISSUER",
        apply: |s, v| {
            s.hook.oauth.issuer = Some(v.trim().to_owned());
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_HOOK_OAUTH_AUDIENCE",
        apply: |s, v| {
            s.hook.oauth.audience = Some(v.trim().to_owned());
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_HOOK_OAUTH_CLIENT_ID",
        apply: |s, v| {
            s.hook.oauth.client_id = Some(v.trim().to_owned());
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_HOOK_OAUTH_SCOPE",
        apply: |s, v| {
            s.hook.oauth.scope = Some(v.trim().to_owned());
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_HOOK_HEADER",
        apply: |s, v| {
            s.hook.header = v.trim().to_owned();
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_HOOK_BUDGET",
        apply: |s, v| {
            s.hook.budget = parse_duration(v)?;
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_THROTTLE_PER_ROW_IP",
        apply: |s, v| {
            s.hook.throttle.per_row_ip = Some(parse_count(v)?);
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_THROTTLE_PER_ROW",
        apply: |s, v| {
            s.hook.throttle.per_row = parse_count(v)?;
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_THROTTLE_PER_IP",
        apply: |s, v| {
            s.hook.throttle.per_ip = parse_count(v)?;
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_THROTTLE_WINDOW",
        apply: |s, v| {
            s.hook.throttle.window = Some(parse_duration(v)?);
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_HOOK_REPLAY_WINDOW",
        apply: |s, v| {
            s.hook.replay_window = parse_duration(v)?;
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_HOOK_DUMMY_HASH",
        apply: |s, v| {
            s.hook.dummy_hash = Some(v.trim().to_owned()).filter(|v| !v.is_empty());
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_IMPORT_QUERY",
        apply: |s, v| {
            s.import.query = Some(v.to_owned());
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_LOG_FORMAT",
        apply: |s, v| {
            s.log.format = match v.trim() {
                "json" => LogFormat::Json,
                "pretty" => LogFormat::Pretty,
                other => return Err(format!("{other:?} is not pretty or json")),
            };
            Ok(())
        },
    },
    EnvVar {
        name: "PASSBRIDGE_LOG",
        apply: |s, v| {
            s.log.filter = v.to_owned();
            Ok(())
        },
    },
    EnvVar {
        name: "OKTA_ORG_URL",
        apply: |s, v| {
            s.okta.org_url = Some(
                url::Url::parse(v.trim())
                    .map_err(|e| format!("{e} (example: https://example.okta.com)"))?,
            );
            Ok(())
        },
    },
    EnvVar {
        name: "OKTA_API_TOKEN",
        apply: |s, v| {
            s.okta.api_token = Some(SecretString::from(v.trim().to_owned()));
            Ok(())
        },
    },
];

/// Variables read elsewhere (not settings) that must not trigger the unknown-variable warning.
const OTHER_KNOWN_VARS: &[&str] = &[
    "PASSBRIDGE_CONFIG",
    "PASSBRIDGE_TEST_PG_URL",
    "PASSBRIDGE_TEST_MYSQL_URL",
    "PASSBRIDGE_TEST_CHROMIUM",
    "PASSBRIDGE_HASHCORPUS",
    "PASSBRIDGE_DEV_OKTA_TOKEN",
    // Read by build.rs (the commit `--version` shows), not at run time.
    "PASSBRIDGE_BUILD_COMMIT",
    "PASSBRIDGE_ALLOW_DEGRADED_START",
    // `hook register --auth oauth2` (client_secret_post); never a setting of `serve`.
    "PASSBRIDGE_HOOK_OAUTH_CLIENT_SECRET",
    // The test suite's Kubernetes schema validator (build.rs, tests/api/deploy.rs).
    "PASSBRIDGE_TEST_K8S_VALIDATE",
];

/// Every environment variable passbridge reads: the settings' (README
/// § Configuration) and the others above. For checks that a deployment sets
/// no variable passbridge would ignore.
pub fn known_env_vars() -> impl Iterator<Item = &'static str> {
    ENV_VARS
        .iter()
        .map(|v| v.name)
        .chain(OTHER_KNOWN_VARS.iter().copied())
}

/// Where settings came from, for `config check`.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The config file read, if any.
    pub file: Option<PathBuf>,
    /// Environment variables applied.
    pub env: Vec<&'static str>,
    /// `PASSBRIDGE_*` variables that are not ours (probably typos).
    pub unknown_env: Vec<String>,
}

/// Loads defaults < file < environment. CLI overrides are applied by the caller
/// (each command knows its own flags) before [`Settings::validate_for_serve`].
///
/// # Errors
/// Unreadable or invalid file, or an environment value of the wrong shape.
pub fn load(config_file: Option<&Path>, env: &[(String, String)]) -> Result<(Settings, Sources)> {
    let mut sources = Sources::default();
    let file = match config_file {
        Some(p) => Some(p.to_path_buf()),
        None => {
            let default = PathBuf::from("passbridge.toml");
            default.exists().then_some(default)
        }
    };
    let mut settings = match &file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            parse_toml(&text, path)?
        }
        None => Settings::default(),
    };
    sources.file = file;
    apply_env(&mut settings, env, &mut sources)?;
    Ok((settings, sources))
}

/// Parses the text of a config file (`path` only names it in the error).
///
/// # Errors
/// [`ConfigError::Parse`]: not TOML, an unknown key, or a value of the wrong type.
pub fn parse_toml(text: &str, path: &Path) -> Result<Settings> {
    toml::from_str::<Settings>(text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Applies the `PASSBRIDGE_*` variables in `env` over `settings`, noting in
/// `sources` which were used and which are not ours.
///
/// # Errors
/// [`ConfigError::Env`]: a value of the wrong shape.
pub fn apply_env(
    settings: &mut Settings,
    env: &[(String, String)],
    sources: &mut Sources,
) -> Result<()> {
    for (name, value) in env {
        if let Some(var) = ENV_VARS.iter().find(|v| v.name == name) {
            (var.apply)(settings, value).map_err(|message| ConfigError::Env {
                var: var.name,
                message,
            })?;
            sources.env.push(var.name);
        } else if name.starts_with("PASSBRIDGE_") && !OTHER_KNOWN_VARS.contains(&name.as_str()) {
            sources.unknown_env.push(name.clone());
        }
    }
    Ok(())
}

/// The process environment as pairs (secrets stay in memory only).
pub fn process_env() -> Vec<(String, String)> {
    std::env::vars().collect()
}

impl Settings {
    /// The ledger URL: configured, or a SQLite file next to a SQLite legacy DB.
    pub fn ledger_url(&self) -> DatabaseUrl {
        if let Some(url) = &self.ledger.url {
            return url.clone();
        }
        let dir = self
            .legacy
            .url
            .as_ref()
            .and_then(DatabaseUrl::sqlite_path)
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        DatabaseUrl::sqlite_file(&dir.join("passbridge-ledger.db"))
    }

    /// The spool directory: configured, or `passbridge-spool` next to a
    /// SQLite ledger, or in the working directory.
    pub fn spool_dir(&self) -> PathBuf {
        if let Some(dir) = &self.ledger.spool_dir {
            return dir.clone();
        }
        let ledger = self.ledger_url();
        ledger
            .sqlite_path()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default()
            .join("passbridge-spool")
    }

    /// `tls_cert` and `tls_key` come together; `admin_tls` needs both.
    ///
    /// # Errors
    /// One set without the other.
    pub fn validate_tls(&self) -> Result<()> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => Err(ConfigError::Invalid {
                key: "tls_key",
                message: "tls_cert is set but tls_key is not; set both (--tls-key / PASSBRIDGE_TLS_KEY) or neither".into(),
            }),
            (None, Some(_)) => Err(ConfigError::Invalid {
                key: "tls_cert",
                message: "tls_key is set but tls_cert is not; set both (--tls-cert / PASSBRIDGE_TLS_CERT) or neither".into(),
            }),
            (None, None) if self.admin_tls => Err(ConfigError::Invalid {
                key: "admin_tls",
                message: "admin_tls needs tls_cert and tls_key".into(),
            }),
            _ => Ok(()),
        }
    }

    /// Checks what `serve` needs, with errors that name the key and the fix.
    ///
    /// # Errors
    /// The first missing or unusable setting.
    pub fn validate_for_serve(&self) -> Result<()> {
        if self.legacy.url.is_none() {
            return Err(ConfigError::Invalid {
                key: "legacy.url",
                message: "not set; set PASSBRIDGE_LEGACY_URL or --legacy-url (e.g. sqlite://users.db, postgres://user@host/db, mysql://user@host/db)".into(),
            });
        }
        self.validate_query()?;
        self.validate_tls()?;
        let header_mode = self.hook.auth == HookAuthMode::Header;
        if header_mode && self.hook.secrets.is_empty() {
            return Err(ConfigError::Invalid {
                key: "hook.secrets",
                message: "no hook secret configured; set PASSBRIDGE_HOOK_SECRET to the value Okta sends in the auth header (two comma-separated during rotation), or run `passbridge serve --demo` to try it out".into(),
            });
        }
        if let Some(short) = self
            .hook
            .secrets
            .iter()
            .find(|s| header_mode && s.expose_secret().len() < 16)
        {
            let _ = short;
            return Err(ConfigError::Invalid {
                key: "hook.secrets",
                message: "a hook secret is shorter than 16 characters; use a long random value (e.g. `openssl rand -base64 32`)".into(),
            });
        }
        if self
            .admin_token
            .as_ref()
            .is_some_and(|t| t.expose_secret().len() < MIN_ADMIN_TOKEN_CHARS)
        {
            return Err(ConfigError::Invalid {
                key: "admin_token",
                message: format!("PASSBRIDGE_ADMIN_TOKEN is shorter than {MIN_ADMIN_TOKEN_CHARS} characters; use a long random value (e.g. `openssl rand -base64 32`)"),
            });
        }
        if self.hook.header.is_empty()
            || axum::http::HeaderName::from_bytes(self.hook.header.as_bytes()).is_err()
        {
            return Err(ConfigError::Invalid {
                key: "hook.header",
                message: format!(
                    "{:?} is not a valid HTTP header name (PASSBRIDGE_HOOK_HEADER)",
                    self.hook.header
                ),
            });
        }
        if self
            .event_hook
            .secret
            .as_ref()
            .is_some_and(|s| s.expose_secret().len() < 16)
        {
            return Err(ConfigError::Invalid {
                key: "event_hook.secret",
                message: "PASSBRIDGE_EVENT_HOOK_SECRET is shorter than 16 characters; use a long random value (e.g. `openssl rand -base64 32`)".into(),
            });
        }
        if axum::http::HeaderName::from_bytes(self.event_hook.header.as_bytes()).is_err() {
            return Err(ConfigError::Invalid {
                key: "event_hook.header",
                message: format!(
                    "{:?} is not a valid HTTP header name",
                    self.event_hook.header
                ),
            });
        }
        if self.hook.auth == HookAuthMode::Oauth2 {
            self.hook.oauth.policy()?;
        }
        if self.hook.budget >= Duration::from_secs(3)
            || self.hook.budget < Duration::from_millis(100)
        {
            return Err(ConfigError::Invalid {
                key: "hook.budget",
                message: "must be between 100ms and 3s: Okta gives up after 3 seconds".into(),
            });
        }
        if self.hook.max_concurrent_verifications == 0 {
            return Err(ConfigError::Invalid {
                key: "hook.max_concurrent_verifications",
                message: "must be at least 1".into(),
            });
        }
        self.http.validate()?;
        if let Some(name) = &self.legacy.scheme {
            crate::hash::SchemeName::parse(name).map_err(|e| ConfigError::Invalid {
                key: "legacy.scheme",
                message: e.to_string(),
            })?;
        }
        Ok(())
    }

    /// Checks the legacy lookup query has exactly one placeholder of its dialect.
    ///
    /// # Errors
    /// Missing query or wrong placeholder.
    pub fn validate_query(&self) -> Result<()> {
        let Some(query) = self
            .legacy
            .query
            .as_deref()
            .filter(|q| !q.trim().is_empty())
        else {
            return Err(ConfigError::Invalid {
                key: "legacy.query",
                message: "not set; set PASSBRIDGE_LEGACY_QUERY or --legacy-query, e.g. \"SELECT password_hash, salt FROM users WHERE email = ?\" (use $1 for PostgreSQL)".into(),
            });
        };
        let kind = self.legacy.url.as_ref().map(DatabaseUrl::kind);
        let uses_dollar = query.contains("$1");
        let uses_question = query.contains('?');
        let ok = match kind {
            Some(crate::db::DbKind::Postgres) => uses_dollar,
            Some(crate::db::DbKind::MySql) => uses_question,
            _ => uses_dollar || uses_question,
        };
        if !ok {
            return Err(ConfigError::Invalid {
                key: "legacy.query",
                message: "needs one bind parameter for the username: ? for MySQL/MariaDB and SQLite, $1 for PostgreSQL (never paste values into the SQL)".into(),
            });
        }
        Ok(())
    }

    /// The effective settings as TOML, secrets redacted.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render settings: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\n[legacy]\nquery = \"SELECT 1 WHERE x = ?\"\n",
        )
        .unwrap();
        let (s, src) = load(
            Some(&file),
            &env(&[
                ("PASSBRIDGE_LISTEN", "127.0.0.1:9100"),
                ("PASSBRIDGE_LISTNE", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(s.listen.port(), 9100, "env beats file");
        assert_eq!(s.legacy.query.as_deref(), Some("SELECT 1 WHERE x = ?"));
        assert_eq!(src.unknown_env, vec!["PASSBRIDGE_LISTNE".to_owned()]);
    }

    #[test]
    fn secrets_split_and_stay_redacted() {
        let (mut s, _) = load(
            None,
            &env(&[
                (
                    "PASSBRIDGE_HOOK_SECRET",
                    "first-secret-value-123, second-secret-value-456",
                ),
                ("OKTA_API_TOKEN", "00tok-en"),
            ]),
        )
        .unwrap();
        s.legacy
            .params
            .insert("secret".into(), "spring-encoder-secret".into());
        s.legacy
            .params
            .insert("pepper".into(), "hmac-pepper-value".into());
        assert_eq!(s.hook.secrets.len(), 2);
        let shown = s.to_redacted_toml() + &format!("{s:?}");
        assert!(!shown.contains("spring-encoder-secret") && !shown.contains("hmac-pepper-value"));
        assert!(!shown.contains("first-secret-value-123"));
        assert!(!shown.contains("00tok-en"));
        assert!(!shown.contains("spring-encoder-secret") && !shown.contains("hmac-pepper-value"));
    }

    #[test]
    fn errors_name_the_key_and_the_fix() {
        let (mut s, _) = load(None, &[]).unwrap();
        let err = s.validate_for_serve().unwrap_err().to_string();
        assert!(
            err.contains("legacy.url") && err.contains("PASSBRIDGE_LEGACY_URL"),
            "{err}"
        );
        s.legacy.url = Some("postgres://h/db".parse().unwrap());
        s.legacy.query = Some("SELECT password_hash FROM users WHERE email = ?".into());
        let err = s.validate_for_serve().unwrap_err().to_string();
        assert!(err.contains("$1"), "{err}");
        let bad = load(None, &env(&[("PASSBRIDGE_LISTEN", "nowhere")]))
            .unwrap_err()
            .to_string();
        assert!(bad.contains("PASSBRIDGE_LISTEN"), "{bad}");
    }

    #[test]
    fn argon2_lanes_is_a_word_or_a_thread_count() {
        let parsed = |v: &str| {
            toml::from_str::<Settings>(&format!("[hash]\nargon2_lanes = {v}\n"))
                .map(|s| s.hash.argon2_lanes)
                .map_err(|e| e.to_string())
        };
        assert_eq!(parsed("\"auto\""), Ok(Argon2Lanes::Auto));
        assert_eq!(parsed("\"off\""), Ok(Argon2Lanes::Off));
        assert_eq!(parsed("3"), Ok(Argon2Lanes::AtMost(3)));
        assert_eq!(parsed("\"2\""), Ok(Argon2Lanes::AtMost(2)));
        assert!(parsed("0").is_err());
        assert!(parsed("\"all\"").unwrap_err().contains("argon2_lanes"));
        assert_eq!(Settings::default().hash.argon2_lanes, Argon2Lanes::Auto);
    }

    #[test]
    fn a_short_admin_token_is_refused() {
        let base = [
            ("PASSBRIDGE_LEGACY_URL", "sqlite://users.db"),
            (
                "PASSBRIDGE_LEGACY_QUERY",
                "SELECT password_hash FROM users WHERE email = ?",
            ),
            ("PASSBRIDGE_HOOK_SECRET", "a-long-enough-hook-secret"),
        ];
        let with = |token: &str| {
            let mut vars = base.to_vec();
            vars.push(("PASSBRIDGE_ADMIN_TOKEN", token));
            load(None, &env(&vars)).unwrap().0
        };
        let short = with("too-short").validate_for_serve().unwrap_err();
        assert!(short.to_string().contains("admin_token"), "{short}");
        let long = with("0123456789abcdef");
        assert!(long.validate_for_serve().is_ok());
        assert!(!long.to_redacted_toml().contains("0123456789abcdef"));
        assert!(with("").admin_token.is_none(), "empty means unset");
    }

    #[test]
    fn the_example_file_matches_the_settings() {
        let example: Settings = toml::from_str(include_str!("../passbridge.example.toml")).unwrap();
        assert_eq!(example.hook.header, "Authorization");
        assert_eq!(example.hash.limits, crate::hash::Limits::default());
        assert_eq!(example.hash.argon2_lanes, Argon2Lanes::Auto);
        assert_eq!(example.legacy.query_timeout, Duration::from_secs(1));
        assert_eq!(example.http, HttpSettings::default());
        assert_eq!(example.admin_listen, Settings::default().admin_listen);
    }

    #[test]
    fn http_settings_come_from_the_environment() {
        let (s, src) = load(
            None,
            &env(&[
                ("PASSBRIDGE_HTTP_HEADER_READ_TIMEOUT", "300ms"),
                ("PASSBRIDGE_HTTP_BODY_READ_TIMEOUT", "2s"),
                ("PASSBRIDGE_HTTP_IDLE_TIMEOUT", "1m"),
                ("PASSBRIDGE_HTTP_MAX_CONNECTIONS", "64"),
                ("PASSBRIDGE_ADMIN_LISTEN", "127.0.0.1:9191"),
            ]),
        )
        .unwrap();
        assert!(src.unknown_env.is_empty(), "{:?}", src.unknown_env);
        assert_eq!(s.http.header_read_timeout, Duration::from_millis(300));
        assert_eq!(s.http.body_read_timeout, Duration::from_secs(2));
        assert_eq!(s.http.idle_timeout, Duration::from_secs(60));
        assert_eq!(s.http.max_connections, 64);
        assert_eq!(s.admin_listen.port(), 9191);
        let bad = load(None, &env(&[("PASSBRIDGE_HTTP_MAX_CONNECTIONS", "many")]))
            .unwrap_err()
            .to_string();
        assert!(bad.contains("PASSBRIDGE_HTTP_MAX_CONNECTIONS"), "{bad}");
        let zero = HttpSettings {
            max_connections: 0,
            ..HttpSettings::default()
        };
        assert!(zero
            .validate()
            .unwrap_err()
            .to_string()
            .contains("http.max_connections"));
    }

    #[test]
    fn oauth_mode_needs_its_settings_and_refuses_none_and_hs() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        for bad in ["none", "HS256", "hs512"] {
            std::fs::write(
                &file,
                format!("[hook]\nauth = \"oauth2\"\n[hook.oauth]\nalgorithms = [\"RS256\", \"{bad}\"]\n"),
            )
            .unwrap();
            let err = load(Some(&file), &[]).unwrap_err().to_string();
            assert!(err.contains("is refused"), "{bad}: {err}");
        }
        let (mut s, src) = load(
            None,
            &env(&[
                ("PASSBRIDGE_HOOK_AUTH", "oauth2"),
                (
                    "PASSBRIDGE_HOOK_OAUTH_ISSUER",
                    "https://example.okta.com/oauth2/default",
                ),
                ("PASSBRIDGE_HOOK_OAUTH_AUDIENCE", "api://default"),
                ("PASSBRIDGE_HOOK_OAUTH_SCOPE", "passbridge.hook"),
            ]),
        )
        .unwrap();
        assert!(src.unknown_env.is_empty());
        assert_eq!(s.hook.auth, HookAuthMode::Oauth2);
        assert_eq!(s.hook.oauth.leeway, Duration::from_secs(60));
        s.legacy.url = Some("sqlite://u.db".parse().unwrap());
        s.legacy.query = Some("SELECT password_hash FROM users WHERE email = ?".into());
        let err = s.validate_for_serve().unwrap_err().to_string();
        assert!(
            err.contains("hook.oauth.client_id") && err.contains("PASSBRIDGE_HOOK_OAUTH_CLIENT_ID"),
            "{err}"
        );
        s.hook.oauth.client_id = Some("0oa1".into());
        s.validate_for_serve().unwrap();
        s.hook.oauth.issuer = Some("http://example.okta.com/oauth2/default".into());
        assert!(
            s.validate_for_serve().is_err(),
            "plain http to a remote issuer"
        );
        assert!(load(None, &env(&[("PASSBRIDGE_HOOK_AUTH", "jwt")])).is_err());
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        std::fs::write(&file, "[legacy]\nqeury = \"x\"\n").unwrap();
        let err = load(Some(&file), &[]).unwrap_err().to_string();
        assert!(err.contains("qeury"), "{err}");
    }

    #[test]
    fn tls_settings_come_from_the_environment_and_only_in_pairs() {
        let (s, _) = load(
            None,
            &env(&[
                ("PASSBRIDGE_TLS_CERT", "/etc/pb/cert.pem"),
                ("PASSBRIDGE_ADMIN_TLS", "true"),
                ("PASSBRIDGE_TLS_RELOAD_INTERVAL", "30s"),
            ]),
        )
        .unwrap();
        assert_eq!(s.tls_cert, Some(PathBuf::from("/etc/pb/cert.pem")));
        assert!(s.admin_tls);
        assert_eq!(s.tls_reload_interval, Duration::from_secs(30));
        let err = s.validate_tls().unwrap_err().to_string();
        assert!(err.contains("tls_key"), "{err}");
        let (s, _) = load(
            None,
            &env(&[
                ("PASSBRIDGE_TLS_CERT", "c.pem"),
                ("PASSBRIDGE_TLS_KEY", "k.pem"),
            ]),
        )
        .unwrap();
        assert!(s.validate_tls().is_ok());
        let err = load(None, &env(&[("PASSBRIDGE_ADMIN_TLS", "maybe")])).unwrap_err();
        assert!(err.to_string().contains("PASSBRIDGE_ADMIN_TLS"), "{err}");
        let only_admin = Settings {
            admin_tls: true,
            ..Settings::default()
        };
        assert!(only_admin.validate_tls().is_err());
    }
}
