//! Okta's retry of a call (same `eventId`): the first answer again without
//! hashing, a duplicate in flight waits for the first, and a different
//! password under the same `eventId` is a new, counted attempt.

use passbridge::db::DbKind;

use crate::helpers::{spawn_app_with, TestDb};
use crate::throttle::{app_with_users, body_from, send, total_verifications, user_verifications};

const BY_EMAIL: &str = "SELECT password_hash, salt, scheme FROM users WHERE email = ?";

fn with_event(mut body: serde_json::Value, event_id: &str) -> serde_json::Value {
    body["eventId"] = event_id.into();
    body
}

#[tokio::test]
async fn a_retry_gets_the_first_answer_without_hashing_again() {
    let app = app_with_users(
        DbKind::Sqlite,
        &[("rita@example.com", "right")],
        BY_EMAIL,
        |_| {},
    )
    .await
    .unwrap();
    let body = with_event(
        body_from("rita@example.com", "right", Some("192.0.2.50")),
        "evt-retry-1",
    );
    assert_eq!(send(&app, &body).await, "VERIFIED");
    assert_eq!(user_verifications(&app), 1);
    assert_eq!(send(&app, &body).await, "VERIFIED");
    assert_eq!(user_verifications(&app), 1, "not hashed again");
    assert_eq!(
        app.reasons("rita@example.com").await,
        ["verified", "verified"]
    );
    assert!(app
        .state
        .metrics
        .render()
        .contains("passbridge_hook_replays_total{outcome=\"answered\"} 1"));

    // A wrong password is replayed as UNVERIFIED and not counted twice.
    let wrong = with_event(
        body_from("rita@example.com", "wrong", Some("192.0.2.50")),
        "evt-retry-2",
    );
    assert_eq!(send(&app, &wrong).await, "UNVERIFIED");
    assert_eq!(send(&app, &wrong).await, "UNVERIFIED");
    assert_eq!(user_verifications(&app), 2);
}

#[tokio::test]
async fn a_duplicate_in_flight_waits_for_the_first() {
    // A slow hash, so the duplicate arrives while the first is still hashing.
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    db.create_users_table().await;
    let slow = bcrypt::hash("right", 12).unwrap();
    db.insert_user("sam@example.com", &slow, None, None).await;
    let app = spawn_app_with(db, |_| {}).await;
    let body = with_event(
        body_from("sam@example.com", "right", Some("192.0.2.51")),
        "evt-in-flight",
    );
    let (a, b) = tokio::join!(send(&app, &body), send(&app, &body));
    assert_eq!((a.as_str(), b.as_str()), ("VERIFIED", "VERIFIED"));
    assert_eq!(total_verifications(&app), 1, "one hash for both calls");
    assert!(app
        .state
        .metrics
        .render()
        .contains("passbridge_hook_replays_total{outcome=\"joined\"} 1"));
}

#[tokio::test]
async fn the_same_event_with_another_password_is_a_new_counted_attempt() {
    let app = app_with_users(
        DbKind::Sqlite,
        &[("tom@example.com", "right")],
        BY_EMAIL,
        |s| {
            s.hook.throttle.per_row_ip = Some(2);
        },
    )
    .await
    .unwrap();
    let ip = Some("192.0.2.52");
    for pw in ["w1", "w2", "right"] {
        let body = with_event(body_from("tom@example.com", pw, ip), "evt-same");
        assert_eq!(send(&app, &body).await, "UNVERIFIED");
    }
    assert_eq!(
        app.reasons("tom@example.com").await,
        ["wrong_password", "wrong_password", "throttled"]
    );
    assert_eq!(user_verifications(&app), 2);
}

#[tokio::test]
async fn replays_can_be_turned_off() {
    let app = app_with_users(
        DbKind::Sqlite,
        &[("una@example.com", "right")],
        BY_EMAIL,
        |s| {
            s.hook.replay_window = std::time::Duration::ZERO;
        },
    )
    .await
    .unwrap();
    let body = with_event(body_from("una@example.com", "right", None), "evt-off");
    assert_eq!(send(&app, &body).await, "VERIFIED");
    assert_eq!(send(&app, &body).await, "VERIFIED");
    assert_eq!(user_verifications(&app), 2);
}

#[tokio::test]
async fn a_failing_ledger_replay_lookup_decides_as_usual() {
    let app = app_with_users(
        DbKind::Sqlite,
        &[("vic@example.com", "right")],
        BY_EMAIL,
        |_| {},
    )
    .await
    .unwrap();
    // `hook_calls` gone: the lookup for another replica's answer fails (and
    // the call's own row goes to the spool).
    crate::ledger_durability::toggle_hook_calls(app.ledger(), true).await;
    let body = with_event(
        body_from("vic@example.com", "right", Some("192.0.2.53")),
        "evt-lookup-fails",
    );
    assert_eq!(send(&app, &body).await, "VERIFIED");
    assert_eq!(user_verifications(&app), 1, "decided as usual");
    assert!(app
        .state
        .metrics
        .render()
        .contains("passbridge_dependency_errors_total{dependency=\"ledger_replay\"} 1"));
}
