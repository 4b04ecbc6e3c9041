//! `HookJson<T>`: axum's JSON extractor with its rejections mapped onto
//! [`HookError`], so malformed input gets our error body and never echoes
//! serde's message (which can quote a value, such as a numeric password).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;

use super::error::HookError;
use crate::state::AppState;

/// JSON body extractor with passbridge's error mapping.
pub struct HookJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for HookJson<T> {
    type Rejection = HookError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, HookError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(map_rejection(
                &rejection,
                state.settings.hook.max_body_bytes,
            )),
        }
    }
}

fn map_rejection(rejection: &JsonRejection, limit: usize) -> HookError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => HookError::WrongContentType,
        JsonRejection::JsonDataError(_) => HookError::MissingFields,
        JsonRejection::JsonSyntaxError(_) => HookError::MalformedJson,
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => HookError::BodyTooLarge(limit),
        _ => HookError::MalformedJson,
    }
}
