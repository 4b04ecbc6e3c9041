//! The shared half of the replay window: the latest answer recorded for an
//! Okta `eventId`, so a retry that lands on another `serve` replica finds the
//! first call's verdict. Reads `hook_calls` only; nothing here knows (or
//! could know) the password.

use sqlx::Row;

use super::{sanitise, Ledger, LedgerError, Origin};

/// The verdict and reason of an earlier call, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedAnswer {
    /// `VERIFIED` or `UNVERIFIED`.
    pub verdict: String,
    /// The ledger reason (`wrong_password`, …).
    pub reason: String,
}

impl Ledger {
    /// The latest answer to an Okta call `event_id` for `username` recorded
    /// at or after `since` (RFC 3339, see [`super::rfc3339`]). Both are
    /// cleaned the way they were stored. Uses the `hook_calls_event_id` index.
    ///
    /// # Errors
    /// The query failed.
    pub async fn recorded_answer(
        &self,
        event_id: &str,
        username: &str,
        since: &str,
    ) -> Result<Option<RecordedAnswer>, LedgerError> {
        let event_id = sanitise::bounded(event_id, sanitise::EVENT_ID_CHARS);
        let username = sanitise::bounded(username, sanitise::USERNAME_CHARS);
        let sql = self.sql(
            "SELECT verdict, reason FROM hook_calls \
             WHERE event_id = ? AND username = ? AND origin = ? AND created_at >= ? \
             ORDER BY created_at DESC LIMIT 1",
        );
        let row = sqlx::query(&sql)
            .bind(event_id)
            .bind(username)
            .bind(Origin::Okta.as_str())
            .bind(since.to_owned())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(RecordedAnswer {
                verdict: r.try_get("verdict")?,
                reason: r.try_get("reason")?,
            })
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::db::DbKind;
    use crate::ledger::test_db::{on_every_ledger, TestLedger};
    use crate::ledger::{now_rfc3339, HookCall, HookCallRow};

    fn call(event_id: &str, username: &str, reason: &str, origin: Origin) -> HookCallRow {
        HookCallRow::new(HookCall {
            event_id: Some(event_id.to_owned()),
            request_id: None,
            username: username.to_owned(),
            verdict: "UNVERIFIED".to_owned(),
            reason: reason.to_owned(),
            scheme: None,
            latency_ms: 1,
            origin,
        })
    }

    async fn latest_okta_answer_for_the_event_and_user_only(kind: DbKind) {
        let Some(test) = TestLedger::create(kind).await else {
            return;
        };
        let ledger = &test.ledger;
        let before = now_rfc3339();
        for row in [
            call("e1", "ann", "unknown_user", Origin::Okta),
            call("e1", "ann", "wrong_password", Origin::Okta),
            call("e2", "ann", "throttled", Origin::Test),
        ] {
            ledger.insert_hook_call(&row).await.unwrap();
        }
        let found = ledger.recorded_answer("e1", "ann", &before).await.unwrap();
        assert_eq!(found.map(|a| a.reason).as_deref(), Some("wrong_password"));
        let other_user = ledger.recorded_answer("e1", "bob", &before).await.unwrap();
        assert_eq!(other_user, None);
        let test_call = ledger.recorded_answer("e2", "ann", &before).await.unwrap();
        assert_eq!(test_call, None, "test calls are not Okta's");
        let later = now_rfc3339();
        let expired = ledger.recorded_answer("e1", "ann", &later).await.unwrap();
        assert_eq!(expired, None, "outside the window");
    }

    on_every_ledger! {
        recorded_answer => latest_okta_answer_for_the_event_and_user_only;
    }
}
