//! The Okta password import inline hook endpoint, `POST /hooks/password-import`.

pub mod auth;
pub mod delivered;
pub mod error;
pub mod extract;
pub mod handler;
mod hash_threads;
pub mod oauth;
pub mod protocol;
pub mod replay;
pub mod throttle;
pub mod verifier;

use axum::routing::post;
use axum::Router;

use crate::state::AppState;

/// The endpoint path Okta is configured to call.
pub const PATH: &str = "/hooks/password-import";

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route(PATH, post(handler::password_import))
}
