//! What the stand-in's Inline Hooks API (protocol §4) and Event Hooks API
//! (§10.3) share: a hook kept under its id in the org, read, activated,
//! deactivated, and deleted only when `INACTIVE`. The kind-specific parts
//! (create, replace, execute, verify) stay in `hooks` and `event_hooks`.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use super::error::ApiError;
use super::state::{now_rfc3339, Org};

/// A hook record the shared handlers can serve.
pub(crate) trait StoredHook: Sized {
    /// The record as the API returns it.
    type Api;
    /// The resource named in a 404 (`InlineHook`, `EventHook`).
    const RESOURCE: &'static str;
    /// The hook's kind in messages (`inline hook`, `event hook`).
    const NOUN: &'static str;

    /// The org's hooks of this kind.
    fn store(org: &Org) -> &Mutex<Vec<Self>>;
    fn id(&self) -> &str;
    fn status(&self) -> &'static str;
    /// Sets `status` and `lastUpdated`.
    fn set_status(&mut self, status: &'static str, now: String);
    fn to_api(&self) -> Self::Api;
}

/// Implements [`StoredHook`] for a record with `id`, `status` and
/// `last_updated` fields and an inherent `to_api`:
/// `stored_hook! { Record => Api, "Resource", "noun", |org| &org.field }`.
macro_rules! stored_hook {
    ($record:ty => $api:ty, $resource:literal, $noun:literal, |$org:ident| $store:expr) => {
        impl $crate::dev_okta::hook_store::StoredHook for $record {
            type Api = $api;
            const RESOURCE: &'static str = $resource;
            const NOUN: &'static str = $noun;

            fn store($org: &$crate::dev_okta::state::Org) -> &::std::sync::Mutex<Vec<Self>> {
                $store
            }
            fn id(&self) -> &str {
                &self.id
            }
            fn status(&self) -> &'static str {
                self.status
            }
            fn set_status(&mut self, status: &'static str, now: String) {
                self.status = status;
                self.last_updated = now;
            }
            fn to_api(&self) -> $api {
                <$record>::to_api(self)
            }
        }
    };
}
pub(crate) use stored_hook;

/// Runs `f` on the hook `id` under the lock; 404 when there is none.
pub(crate) fn with_hook<R: StoredHook, T>(
    org: &Org,
    id: &str,
    f: impl FnOnce(&mut R) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut hooks = R::store(org).lock().map_err(|_| ApiError::internal())?;
    let hook = hooks
        .iter_mut()
        .find(|h| h.id() == id)
        .ok_or_else(|| ApiError::not_found(id, R::RESOURCE))?;
    f(hook)
}

fn set_status<R: StoredHook>(
    org: &Org,
    id: &str,
    status: &'static str,
) -> Result<Json<R::Api>, ApiError> {
    with_hook(org, id, |h: &mut R| {
        if h.status() != status {
            h.set_status(status, now_rfc3339());
        }
        Ok(Json(h.to_api()))
    })
}

/// `GET …/{id}`.
pub(crate) async fn get<R: StoredHook>(
    State(org): State<Arc<Org>>,
    Path(id): Path<String>,
) -> Result<Json<R::Api>, ApiError> {
    with_hook(&org, &id, |h: &mut R| Ok(Json(h.to_api())))
}

/// `POST …/{id}/lifecycle/activate`.
pub(crate) async fn activate<R: StoredHook>(
    State(org): State<Arc<Org>>,
    Path(id): Path<String>,
) -> Result<Json<R::Api>, ApiError> {
    set_status::<R>(&org, &id, "ACTIVE")
}

/// `POST …/{id}/lifecycle/deactivate`.
pub(crate) async fn deactivate<R: StoredHook>(
    State(org): State<Arc<Org>>,
    Path(id): Path<String>,
) -> Result<Json<R::Api>, ApiError> {
    set_status::<R>(&org, &id, "INACTIVE")
}

/// `DELETE …/{id}`: only an `INACTIVE` hook.
pub(crate) async fn delete<R: StoredHook>(
    State(org): State<Arc<Org>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut hooks = R::store(&org).lock().map_err(|_| ApiError::internal())?;
    let Some(pos) = hooks.iter().position(|h| h.id() == id) else {
        return Err(ApiError::not_found(&id, R::RESOURCE));
    };
    if hooks.get(pos).is_some_and(|h| h.status() != "INACTIVE") {
        // [unverified] wording; the rule itself is documented (protocol §4).
        return Err(ApiError::validation(vec![format!(
            "status: The {} must be INACTIVE before it can be deleted",
            R::NOUN
        )]));
    }
    hooks.remove(pos);
    Ok(StatusCode::NO_CONTENT)
}
