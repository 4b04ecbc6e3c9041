//! Okta's password import inline hook wire format, exactly as
//! `docs/okta-hook-protocol.md` §1–§2 documents it. Deserialisation is
//! tolerant: every field is optional and unknown fields are ignored, except
//! `data.context.credential.{username,password}`.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::ledger::Origin;

/// The only `eventType` this endpoint accepts (when the field is present).
pub const EVENT_TYPE: &str = "com.okta.user.credential.password.import";

/// The request Okta POSTs at a hook-backed user's sign-in.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookRequest {
    /// Per-request id (used to spot Okta's retry of the same call).
    pub event_id: Option<String>,
    /// Always [`EVENT_TYPE`] for this hook.
    pub event_type: Option<String>,
    /// Payload.
    pub data: HookData,
}

impl HookRequest {
    /// The end user's IP as Okta saw it (`data.context.request.ipAddress`).
    pub fn end_user_ip(&self) -> Option<&str> {
        self.data
            .context
            .request
            .as_ref()
            .and_then(|r| r.ip_address.as_deref())
    }
}

/// `data`.
#[derive(Debug, Deserialize)]
pub struct HookData {
    /// `data.context`.
    pub context: HookContext,
}

/// `data.context`.
#[derive(Debug, Deserialize)]
pub struct HookContext {
    /// What the user typed.
    pub credential: Credential,
    /// The Okta request that triggered the hook, if sent (ignored, not
    /// refused, when it has an unexpected shape).
    #[serde(default, deserialize_with = "lenient")]
    pub request: Option<RequestContext>,
}

/// `data.context.request`: the fields passbridge uses, each read leniently.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    /// Okta's request id at a sign-in; [`TEST_REQUEST_ID_PREFIX`]… for `hook test`.
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    /// The end user's client IP, as Okta saw it.
    #[serde(default, deserialize_with = "lenient")]
    pub ip_address: Option<String>,
}

/// `Some` when the value has the expected shape, `None` otherwise: an
/// optional field we only use for counting never fails a sign-in.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(value).ok())
}

/// Header a hand-made test call sends (`x-passbridge-test: 1`) so its row is
/// not counted as a migration. Okta never sends it at a sign-in.
pub const TEST_HEADER: &str = "x-passbridge-test";

/// Prefix of `data.context.request.id` in the body `passbridge hook test` has
/// Okta's `/execute` deliver: that call passes on the body, not our headers.
pub const TEST_REQUEST_ID_PREFIX: &str = "passbridge-hook-test-";

/// [`Origin::Test`] when the call carries either test marker, else Okta's.
/// Only an authenticated caller's marker is ever read, and a forged one only
/// hides a sign-in from `migrated_users`.
pub fn origin_of(headers: &axum::http::HeaderMap, request: &HookRequest) -> Origin {
    let header = headers
        .get(TEST_HEADER)
        .is_some_and(|v| v.as_bytes().trim_ascii() == b"1");
    let body = request
        .data
        .context
        .request
        .as_ref()
        .and_then(|r| r.id.as_deref())
        .is_some_and(|id| id.starts_with(TEST_REQUEST_ID_PREFIX));
    if header || body {
        Origin::Test
    } else {
        Origin::Okta
    }
}

/// `data.context.credential`: the typed username and the plaintext password.
#[derive(Deserialize)]
pub struct Credential {
    /// As typed at sign-in.
    pub username: String,
    /// Plaintext; a secret from here on.
    pub password: SecretString,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// `VERIFIED` or `UNVERIFIED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CredentialVerdict {
    /// Okta stores the password and never calls the hook again for this user.
    Verified,
    /// Sign-in fails; the next attempt calls the hook again.
    Unverified,
}

impl CredentialVerdict {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "VERIFIED",
            Self::Unverified => "UNVERIFIED",
        }
    }
}

/// The answer: `{"commands":[{"type":"com.okta.action.update","value":{"credential":"VERIFIED"}}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookResponse {
    /// Exactly one command.
    pub commands: Vec<Command>,
}

/// One command of the response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// Always `com.okta.action.update`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The verdict.
    pub value: CommandValue,
}

/// `commands[].value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandValue {
    /// The verdict.
    pub credential: CredentialVerdict,
}

impl HookResponse {
    /// The response carrying `verdict`.
    pub fn new(verdict: CredentialVerdict) -> Self {
        Self {
            commands: vec![Command {
                kind: "com.okta.action.update".to_owned(),
                value: CommandValue {
                    credential: verdict,
                },
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn response_has_the_documented_shape() {
        let json = serde_json::to_string(&HookResponse::new(CredentialVerdict::Verified)).unwrap();
        assert_eq!(
            json,
            r#"{"commands":[{"type":"com.okta.action.update","value":{"credential":"VERIFIED"}}]}"#
        );
    }

    #[test]
    fn request_needs_only_the_credential() {
        let r: HookRequest = serde_json::from_str(
            r#"{"eventTypeVersion":1,"data":{"context":{"credential":{"username":"a","password":"b"}},"extra":true}}"#,
        )
        .unwrap();
        assert_eq!(r.data.context.credential.username, "a");
        assert!(r.data.context.request.is_none());
        let r: HookRequest = serde_json::from_str(
            r#"{"data":{"context":{"request":{"ipAddress":"66.124.153.138"},"credential":{"username":"a","password":"b"}}}}"#,
        )
        .unwrap();
        assert_eq!(
            r.data.context.request.unwrap().ip_address.as_deref(),
            Some("66.124.153.138")
        );
        let r: HookRequest = serde_json::from_str(
            r#"{"data":{"context":{"request":{"ipAddress":42},"credential":{"username":"a","password":"b"}}}}"#,
        )
        .unwrap();
        // A field of the wrong type is ignored alone; the rest still counts.
        assert!(r.data.context.request.unwrap().ip_address.is_none());
        assert!(serde_json::from_str::<HookRequest>(
            r#"{"data":{"context":{"credential":{"username":"a"}}}}"#
        )
        .is_err());
    }
}
