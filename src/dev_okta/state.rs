//! The stand-in org's state: users, inline hooks, rate-limit windows, fault
//! dice and counters. Locks are `std` mutexes held only for short, synchronous
//! sections, never across an `.await`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use rand::distributions::Alphanumeric;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use secrecy::SecretString;
use serde::Serialize;
use url::Url;

use super::{Config, Faults, RateLimit, Sha256Salt};
use crate::okta::{
    AuthScheme, Channel, ChannelConfig, HookHeader, InlineHook, PasswordHash, Profile, Provider,
    User, UserCredentials, HOOK_VERSION,
};

/// `count` random alphanumeric characters (Okta-like ids).
pub(crate) fn random_id(count: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(count)
        .map(char::from)
        .collect()
}

/// Now as RFC 3339 with milliseconds, like Okta's timestamps.
pub(crate) fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    now.format(&format).unwrap_or_default()
}

/// How a user's password is checked at sign-in.
#[derive(Clone)]
pub(crate) enum Credential {
    /// An imported hash object, checked by the stand-in itself.
    Hash(PasswordHash),
    /// Verified by the password-import hook at sign-in.
    Hook,
    /// A password the stand-in stored: PBKDF2-HMAC-SHA256 of its own.
    Password { salt: [u8; 16], key: [u8; 32] },
}

/// A stored user.
pub(crate) struct UserRecord {
    pub(crate) id: String,
    pub(crate) status: &'static str,
    pub(crate) profile: Profile,
    pub(crate) credential: Credential,
    /// `IMPORT` until a password is stored, then `OKTA`.
    pub(crate) provider: &'static str,
    pub(crate) created: String,
    pub(crate) hook_calls: u32,
    pub(crate) sign_ins: u32,
}

impl UserRecord {
    pub(crate) fn to_api(&self) -> User {
        User {
            id: self.id.clone(),
            status: self.status.to_owned(),
            profile: self.profile.clone(),
            credentials: Some(UserCredentials {
                password: Some(serde_json::json!({})),
                provider: Some(Provider {
                    kind: self.provider.to_owned(),
                    name: Some(self.provider.to_owned()),
                }),
            }),
        }
    }
}

/// What a test or the `/__dev` endpoint sees of a user's credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CredentialView {
    /// An imported hash (the object as received; not serialized to `/__dev`).
    Hash {
        /// The hash object.
        #[serde(skip)]
        hash: PasswordHash,
        /// Its algorithm name.
        algorithm: &'static str,
    },
    /// Password-import hook.
    Hook,
    /// A password stored after a verified sign-in.
    Password,
}

/// A user as the test handle sees it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    /// Okta id.
    pub id: String,
    /// Login.
    pub login: String,
    /// `ACTIVE` or `STAGED`.
    pub status: String,
    /// `IMPORT` or `OKTA`.
    pub provider: String,
    /// The credential.
    pub credential: CredentialView,
    /// HTTP calls made to the password-import hook for this user (retries count).
    pub hook_calls: u32,
    /// Successful sign-ins.
    pub sign_ins: u32,
    /// Profile.
    pub profile: Profile,
    /// Creation time.
    pub created: String,
}

/// A stored inline hook.
pub(crate) struct HookRecord {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) status: &'static str,
    pub(crate) created: String,
    pub(crate) last_updated: String,
    pub(crate) uri: String,
    pub(crate) auth_key: String,
    pub(crate) auth_value: SecretString,
    pub(crate) headers: Vec<(String, SecretString)>,
    /// OAUTH channel: Okta sends a bearer token instead of `auth_key: auth_value`.
    pub(crate) oauth: Option<OAuthHook>,
}

/// An OAUTH channel's settings (the client secret is only checked, not kept).
#[derive(Clone)]
pub(crate) struct OAuthHook {
    pub(crate) auth_type: String,
    pub(crate) client_id: String,
    pub(crate) token_url: String,
    pub(crate) scope: Option<String>,
    pub(crate) hook_key_id: Option<String>,
}

impl HookRecord {
    /// The hook as the API returns it: `authScheme.value` and header values
    /// are write-only [unverified for headers; omitting them is the safe side].
    pub(crate) fn to_api(&self) -> InlineHook {
        InlineHook {
            id: self.id.clone(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            version: HOOK_VERSION.to_owned(),
            status: self.status.to_owned(),
            created: Some(self.created.clone()),
            last_updated: Some(self.last_updated.clone()),
            channel: Channel {
                kind: if self.oauth.is_some() {
                    "OAUTH"
                } else {
                    "HTTP"
                }
                .to_owned(),
                version: HOOK_VERSION.to_owned(),
                config: ChannelConfig {
                    auth_type: self.oauth.as_ref().map(|o| o.auth_type.clone()),
                    client_id: self.oauth.as_ref().map(|o| o.client_id.clone()),
                    token_url: self.oauth.as_ref().map(|o| o.token_url.clone()),
                    scope: self.oauth.as_ref().and_then(|o| o.scope.clone()),
                    hook_key_id: self.oauth.as_ref().and_then(|o| o.hook_key_id.clone()),
                    client_secret: None,
                    uri: self.uri.clone(),
                    method: "POST".to_owned(),
                    headers: write_only_headers(&self.headers),
                    auth_scheme: self.oauth.is_none().then(|| header_scheme(&self.auth_key)),
                },
            },
        }
    }
}

/// A hook's custom headers as the API returns them: the values are
/// write-only [unverified for headers; omitting them is the safe side].
pub(crate) fn write_only_headers(headers: &[(String, SecretString)]) -> Vec<HookHeader> {
    headers
        .iter()
        .map(|(key, _)| HookHeader {
            key: key.clone(),
            value: None,
        })
        .collect()
}

/// A `HEADER` auth scheme as the API returns it: `value` is write-only.
pub(crate) fn header_scheme(key: &str) -> AuthScheme {
    AuthScheme {
        kind: "HEADER".to_owned(),
        key: key.to_owned(),
        value: None,
    }
}

/// Users by lower-cased login, with an id index and creation order.
#[derive(Default)]
pub(crate) struct Users {
    pub(crate) by_login: HashMap<String, UserRecord>,
    pub(crate) login_by_id: HashMap<String, String>,
    pub(crate) order: Vec<String>,
}

impl Users {
    pub(crate) fn find_mut(&mut self, login_or_id: &str) -> Option<&mut UserRecord> {
        let key = match self.login_by_id.get(login_or_id) {
            Some(login) => login.clone(),
            None => login_or_id.to_lowercase(),
        };
        self.by_login.get_mut(&key)
    }

    pub(crate) fn find(&self, login_or_id: &str) -> Option<&UserRecord> {
        match self.login_by_id.get(login_or_id) {
            Some(login) => self.by_login.get(login),
            None => self.by_login.get(&login_or_id.to_lowercase()),
        }
    }
}

/// One rate-limit window of one bucket.
pub(crate) struct Window {
    pub(crate) ends: Instant,
    /// `X-Rate-Limit-Reset` of this window, epoch seconds.
    pub(crate) reset_epoch: u64,
    pub(crate) used: u32,
}

/// Counters, readable through [`super::StandIn::stats`] and `/__dev/stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Requests received (all paths).
    pub requests: u64,
    /// 429 answers sent.
    pub rate_limited: u64,
    /// Injected 500s.
    pub injected_errors: u64,
    /// Injected "done, then 504" answers.
    pub injected_after_errors: u64,
    /// Injected slow answers.
    pub slowed: u64,
    /// 401 answers for a missing or wrong token.
    pub unauthorized: u64,
    /// Users created.
    pub users_created: u64,
    /// Creates refused because the login exists.
    pub duplicate_logins: u64,
    /// Creates refused by validation.
    pub invalid_creates: u64,
    /// HTTP calls made to a password-import hook (sign-ins and execute).
    pub hook_calls: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) injected_errors: AtomicU64,
    pub(crate) injected_after_errors: AtomicU64,
    pub(crate) slowed: AtomicU64,
    pub(crate) unauthorized: AtomicU64,
    pub(crate) users_created: AtomicU64,
    pub(crate) duplicate_logins: AtomicU64,
    pub(crate) invalid_creates: AtomicU64,
    pub(crate) hook_calls: AtomicU64,
}

pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Settings that tests may change while the stand-in runs.
pub(crate) struct Runtime {
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) faults: Faults,
    pub(crate) dice: StdRng,
}

/// The whole org.
pub(crate) struct Org {
    pub(crate) token: SecretString,
    pub(crate) base_url: Url,
    pub(crate) require_names: bool,
    pub(crate) sha256_salt: Sha256Salt,
    pub(crate) allow_http_loopback_hooks: bool,
    pub(crate) runtime: Mutex<Runtime>,
    pub(crate) users: Mutex<Users>,
    pub(crate) hooks: Mutex<Vec<HookRecord>>,
    pub(crate) windows: Mutex<HashMap<String, Window>>,
    /// Emails "sent" (reset password), for tests to count.
    pub(crate) emails: Mutex<Vec<super::lifecycle::SentEmail>>,
    pub(crate) counters: Counters,
    /// Client for calls to the password-import hook: Okta's timeout, no redirects.
    pub(crate) hook_http: reqwest::Client,
    /// The custom authorization server OAUTH hooks get their tokens from.
    pub(crate) auth_server: super::authserver::AuthServer,
    /// Event hooks and the queue of events to deliver.
    pub(crate) event_hooks: super::event_hooks::EventHooks,
}

impl Org {
    pub(crate) fn new(config: Config, base_url: Url) -> Result<Self, String> {
        let hook_http = reqwest::Client::builder()
            .timeout(config.hook_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Okta Hooks (passbridge dev okta)")
            .build()
            .map_err(|e| format!("hook client: {e}"))?;
        let dice = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        Ok(Self {
            event_hooks: super::event_hooks::EventHooks::new(config.events, config.seed),
            token: config.token,
            auth_server: super::authserver::AuthServer::new(&base_url),
            base_url,
            require_names: config.require_names,
            sha256_salt: config.sha256_salt,
            allow_http_loopback_hooks: config.allow_http_loopback_hooks,
            runtime: Mutex::new(Runtime {
                rate_limit: config.rate_limit,
                faults: config.faults,
                dice,
            }),
            users: Mutex::new(Users::default()),
            hooks: Mutex::new(Vec::new()),
            windows: Mutex::new(HashMap::new()),
            emails: Mutex::new(Vec::new()),
            counters: Counters::default(),
            hook_http,
        })
    }

    pub(crate) fn user_view(&self, login_or_id: &str) -> Option<UserView> {
        let users = self.users.lock().ok()?;
        users.find(login_or_id).map(view)
    }

    pub(crate) fn all_users(&self) -> Vec<UserView> {
        let Ok(users) = self.users.lock() else {
            return Vec::new();
        };
        users
            .order
            .iter()
            .filter_map(|login| users.by_login.get(login))
            .map(view)
            .collect()
    }

    pub(crate) fn user_count(&self) -> usize {
        self.users.lock().map(|u| u.by_login.len()).unwrap_or(0)
    }

    pub(crate) fn hook_views(&self) -> Vec<InlineHook> {
        self.hooks
            .lock()
            .map(|hooks| hooks.iter().map(HookRecord::to_api).collect())
            .unwrap_or_default()
    }

    pub(crate) fn stats(&self) -> Stats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            requests: get(&c.requests),
            rate_limited: get(&c.rate_limited),
            injected_errors: get(&c.injected_errors),
            injected_after_errors: get(&c.injected_after_errors),
            slowed: get(&c.slowed),
            unauthorized: get(&c.unauthorized),
            users_created: get(&c.users_created),
            duplicate_logins: get(&c.duplicate_logins),
            invalid_creates: get(&c.invalid_creates),
            hook_calls: get(&c.hook_calls),
        }
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        if let Ok(mut rt) = self.runtime.lock() {
            rt.faults = faults;
        }
    }

    pub(crate) fn set_rate_limit(&self, rate_limit: Option<RateLimit>) {
        if let Ok(mut rt) = self.runtime.lock() {
            rt.rate_limit = rate_limit;
        }
        if let Ok(mut windows) = self.windows.lock() {
            windows.clear();
        }
    }
}

fn view(u: &UserRecord) -> UserView {
    UserView {
        id: u.id.clone(),
        login: u.profile.login.clone(),
        status: u.status.to_owned(),
        provider: u.provider.to_owned(),
        credential: match &u.credential {
            Credential::Hash(h) => CredentialView::Hash {
                algorithm: h.algorithm.as_str(),
                hash: h.clone(),
            },
            Credential::Hook => CredentialView::Hook,
            Credential::Password { .. } => CredentialView::Password,
        },
        hook_calls: u.hook_calls,
        sign_ins: u.sign_ins,
        profile: u.profile.clone(),
        created: u.created.clone(),
    }
}
