//! Wire DTOs of an event hook delivery (protocol §10.2): the envelope's
//! `data.events[]` of System Log `LogEvent`s. Every field is optional and
//! unknown ones are ignored, as Okta's events carry more than we read.

use serde::{Deserialize, Serialize};

/// The event type of a password import outcome.
pub const USER_IMPORT_PASSWORD: &str = "user.import.password";
/// The header of Okta's one-time verification request.
pub const VERIFICATION_HEADER: &str = "x-okta-verification-challenge";

/// One `POST` from Okta.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDelivery {
    /// The envelope's id (per delivery, not per event).
    #[serde(default)]
    pub event_id: Option<String>,
    /// The batch.
    #[serde(default)]
    pub data: Option<EventData>,
}

/// `data`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EventData {
    /// The events, several per delivery.
    #[serde(default)]
    pub events: Vec<LogEvent>,
}

/// One System Log event.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEvent {
    /// Unique per event: the dedupe key.
    #[serde(default)]
    pub uuid: Option<String>,
    /// When it happened (RFC 3339): the order events are applied in.
    #[serde(default)]
    pub published: Option<String>,
    /// E.g. [`USER_IMPORT_PASSWORD`].
    #[serde(default)]
    pub event_type: Option<String>,
    /// `SUCCESS` or `FAILURE`.
    #[serde(default)]
    pub outcome: Option<EventOutcome>,
    /// What the event is about; the user is the entry of type `User`.
    #[serde(default)]
    pub target: Option<Vec<EventTarget>>,
}

/// `outcome`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EventOutcome {
    /// `SUCCESS` or `FAILURE`.
    #[serde(default)]
    pub result: Option<String>,
    /// Why it failed (values undocumented).
    #[serde(default)]
    pub reason: Option<String>,
}

/// One `target[]` entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventTarget {
    /// Okta id (`00u…` for a user).
    #[serde(default)]
    pub id: Option<String>,
    /// `User`, `AppInstance`, …
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The user's login.
    #[serde(default)]
    pub alternate_id: Option<String>,
}

impl LogEvent {
    /// The target of type `User` (searched by type, never by position, as
    /// Okta advises; the actor is not keyed on, protocol §10.2).
    pub fn user(&self) -> Option<&EventTarget> {
        self.target.as_deref()?.iter().find(|t| {
            t.kind
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case("user"))
        })
    }
}
