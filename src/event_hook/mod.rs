//! The Okta event hook endpoint, `POST /hooks/okta-events` (protocol §10):
//! Okta's own word on each password the inline hook said was VERIFIED. Its
//! one-time verification `GET`, its header secret (no OAuth for event
//! hooks), batched `data.events` applied once each by uuid into
//! [`crate::ledger`]'s `okta_confirmations`. Without a configured secret the
//! route does not exist (404, like any unknown path).

pub mod handler;
pub mod metrics;
pub mod protocol;

use std::sync::Arc;

use axum::routing::get;
use axum::{Extension, Router};

use crate::hook::auth::HeaderAuth;
use crate::state::AppState;

/// The endpoint path Okta's event hook is configured to call.
pub const PATH: &str = "/hooks/okta-events";

/// Routes of this module: none until `event_hook.secret` is set.
///
/// # Errors
/// `event_hook.header` is not a valid header name.
pub fn router(state: &AppState) -> anyhow::Result<Router<AppState>> {
    let settings = &state.settings.event_hook;
    let Some(secret) = &settings.secret else {
        return Ok(Router::new());
    };
    let auth = HeaderAuth::new(&settings.header, std::slice::from_ref(secret))?;
    Ok(Router::new()
        .route(PATH, get(handler::verify).post(handler::deliver))
        .layer(Extension(Arc::new(auth))))
}
