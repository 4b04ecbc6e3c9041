//! Okta management API client: the admin's side of the migration (creating
//! users with an importable hash or the password-import hook flag, and
//! managing the password-import inline hook).
//!
//! Owns the HTTP conversation with the org: SSWS authentication, rate-limit
//! pacing, retries and the wire DTOs. It never logs, prints or stores the API
//! token, a hash object or a hook secret; their `Debug` output is redacted.

mod check;
mod client;
mod error;
mod event_hooks;
mod hooks;
mod users;

pub use check::{verify_hash_object, Sha256Salt};
pub use client::{
    check_org_url, ClientConfig, ClientStats, OktaClient, RateLimitSnapshot, RetryPolicy,
};
pub use error::{
    ErrorCause, OktaError, OktaErrorBody, Result, E_INVALID_TOKEN, E_NOT_FOUND, E_RATE_LIMIT,
    E_VALIDATION, LOGIN_EXISTS_CAUSE,
};
pub use event_hooks::{
    EventHook, EventHookChannel, EventHookChannelConfig, EventHookCreate, EventSubscriptions,
    EVENT_TYPE_SUBSCRIPTION, USER_IMPORT_PASSWORD,
};
pub use hooks::{
    AuthScheme, Channel, ChannelConfig, HookHeader, InlineHook, InlineHookCreate, OAuthChannel,
    OAuthClientAuth, HOOK_VERSION, PASSWORD_IMPORT_HOOK_TYPE,
};
pub use users::{
    CreateCredentials, CreateUser, DigestAlgorithm, HashAlgorithm, PasswordCredential,
    PasswordHash, PasswordHook, Profile, Provider, SaltPosition, User, UserCredentials,
};

/// Rate-limit bucket names used by the client (one per Okta endpoint family).
pub mod buckets {
    /// `POST /api/v1/users`.
    pub const USERS_CREATE: &str = super::users::BUCKET_CREATE;
    /// `GET /api/v1/users/{idOrLogin}`.
    pub const USERS_GET: &str = super::users::BUCKET_GET;
    /// `POST /api/v1/users/{id}/lifecycle/…` (reset_password).
    pub const USERS_LIFECYCLE: &str = super::users::BUCKET_LIFECYCLE;
    /// `/api/v1/inlineHooks…`.
    pub const INLINE_HOOKS: &str = super::hooks::BUCKET_HOOKS;
}
