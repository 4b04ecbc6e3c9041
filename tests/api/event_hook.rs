//! `/hooks/okta-events`: Okta's verification GET, the event secret, batched
//! deliveries applied once per uuid, out-of-order outcomes, bounds.

use passbridge::db::DbKind;
use passbridge::ledger::{Confirmation, ConfirmationState};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use crate::helpers::{random_secret, spawn_app_with, TestApp, TestDb};
use crate::on_every_db;

const PATH: &str = "/hooks/okta-events";

async fn spawn(kind: DbKind) -> Option<(TestApp, SecretString)> {
    let db = TestDb::create(kind).await?;
    db.create_users_table().await;
    let secret = random_secret();
    let event_secret = secret.clone();
    let app = spawn_app_with(db, move |s| {
        s.event_hook.secret = Some(event_secret);
        s.event_hook.max_events_per_batch = 10;
        s.legacy.lowercase_username = true;
    })
    .await;
    Some((app, secret))
}

/// A `user.import.password` event as protocol §10.2 reconstructs it.
pub fn import_event(uuid: &str, published: &str, login: &str, result: &str) -> Value {
    json!({"uuid": uuid, "published": published, "eventType": "user.import.password",
      "version": "0", "severity": "INFO", "displayMessage": "Import user password",
      "actor": {"id": "00uACTOR", "type": "User", "alternateId": "someone.else@example.com"},
      "outcome": {"result": result, "reason": null},
      "target": [{"id": "0oaAPP", "type": "AppInstance", "alternateId": "not-a-user"},
                 {"id": format!("00u-{login}"), "type": "User", "alternateId": login}]})
}

pub fn delivery(events: Vec<Value>) -> Value {
    json!({"eventType": "com.okta.event_hook", "eventTypeVersion": "1.0",
      "cloudEventsVersion": "0.1", "contentType": "application/json",
      "source": "https://example.okta.com/api/v1/eventHooks/who8vt36qfNpCGz9H1e6",
      "eventId": uuid::Uuid::new_v4().to_string(), "eventTime": "2026-03-28T17:03:37.093Z",
      "data": {"events": events}})
}

pub async fn post(app: &TestApp, secret: Option<&str>, body: &Value) -> reqwest::Response {
    let mut req = app.client.post(format!("{}{PATH}", app.address)).json(body);
    if let Some(s) = secret {
        req = req.header("Authorization", s);
    }
    req.send().await.unwrap()
}

/// A delivery of one `user.import.password` event for `login`.
fn one_event(uuid: &str, login: &str, result: &str) -> Value {
    delivery(vec![import_event(
        uuid,
        "2026-01-01T00:00:00Z",
        login,
        result,
    )])
}

/// The ledger's record of Okta's outcome for `login`.
async fn confirmation(app: &TestApp, login: &str) -> Option<Confirmation> {
    app.ledger().okta_confirmation(login).await.unwrap()
}

async fn batched_delivery_with_duplicates_applies_once(kind: DbKind) {
    let Some((app, secret)) = spawn(kind).await else {
        return;
    };
    let s = secret.expose_secret();
    // Arrange: a FAILURE then a SUCCESS for Ann, the SUCCESS twice in the
    // batch; Bob fails; another event type rides along.
    let ann_success = import_event(
        "e-2",
        "2026-03-28T17:03:36.000Z",
        "Ann@Example.com",
        "SUCCESS",
    );
    let batch = delivery(vec![
        ann_success.clone(),
        import_event(
            "e-1",
            "2026-03-28T17:03:35.000Z",
            "ann@example.com",
            "FAILURE",
        ),
        ann_success,
        import_event(
            "e-3",
            "2026-03-28T17:03:37.000Z",
            "bob@example.com",
            "FAILURE",
        ),
        json!({"uuid": "e-4", "eventType": "user.session.start", "published": "2026-03-28T17:03:38.000Z"}),
    ]);
    // Act: delivered, then delivered again (at least once).
    let first = post(&app, Some(s), &batch).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.text().await.unwrap(), "", "Okta wants an empty body");
    assert_eq!(post(&app, Some(s), &batch).await.status(), 200);
    // A late FAILURE for Ann, delivered after her SUCCESS.
    let late = delivery(vec![import_event(
        "e-0",
        "2026-03-28T17:03:30.000Z",
        "ann@example.com",
        "FAILURE",
    )]);
    assert_eq!(post(&app, Some(s), &late).await.status(), 200);
    // Assert
    let ann = confirmation(&app, "ann@example.com")
        .await
        .expect("ann recorded under the hook's normalised login");
    assert_eq!(ann.state, ConfirmationState::Confirmed);
    assert_eq!(ann.failures, 2, "e-1 and the late e-0, each once");
    assert_eq!(ann.okta_id.as_deref(), Some("00u-ann@example.com"));
    let bob = confirmation(&app, "bob@example.com").await.unwrap();
    assert_eq!((bob.state, bob.failures), (ConfirmationState::Failed, 1));
    assert!(confirmation(&app, "someone.else@example.com")
        .await
        .is_none());
    let text = app.metrics().await;
    assert!(
        text.contains("passbridge_okta_event_duplicates_total 6"),
        "one in-batch repeat + the five redelivered: {text}"
    );
    assert!(text.contains(
        "passbridge_okta_events_total{event_type=\"user.import.password\",outcome=\"success\"} 1"
    ));
    assert!(text.contains(
        "passbridge_okta_events_total{event_type=\"user.import.password\",outcome=\"failure\"} 3"
    ));
    assert!(
        text.contains("passbridge_okta_events_total{event_type=\"other\",outcome=\"ignored\"} 1")
    );
}

on_every_db! {
    batched_delivery => batched_delivery_with_duplicates_applies_once;
}

#[tokio::test]
async fn verification_echoes_a_bounded_challenge() {
    let (app, secret) = spawn(DbKind::Sqlite).await.unwrap();
    let get = |challenge: Option<String>, auth: Option<&str>| {
        let mut req = app.client.get(format!("{}{PATH}", app.address));
        if let Some(c) = challenge {
            req = req.header("X-Okta-Verification-Challenge", c);
        }
        if let Some(a) = auth {
            req = req.header("Authorization", a.to_owned());
        }
        req.send()
    };
    let s = secret.expose_secret();
    let ok = get(Some("X5_3k2-a.b".into()), Some(s)).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.json::<Value>().await.unwrap(),
        json!({"verification": "X5_3k2-a.b"})
    );
    assert_eq!(get(None, Some(s)).await.unwrap().status(), 400);
    assert_eq!(
        get(Some("a\"b".into()), Some(s)).await.unwrap().status(),
        400
    );
    assert_eq!(
        get(Some("a".repeat(257)), Some(s)).await.unwrap().status(),
        400
    );
    assert_eq!(get(Some("abc".into()), None).await.unwrap().status(), 401);
    assert_eq!(
        get(Some("abc".into()), Some("wrong"))
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn deliveries_need_the_event_secret_not_the_hook_secret() {
    let (app, secret) = spawn(DbKind::Sqlite).await.unwrap();
    let batch = one_event("x-1", "a@x.io", "SUCCESS");
    let missing = post(&app, None, &batch).await;
    assert_eq!(missing.status(), 401);
    let wrong = post(&app, Some("not-the-secret"), &batch).await;
    assert_eq!(wrong.status(), 401);
    let inline_secret = app.secret.expose_secret().to_owned();
    assert_eq!(post(&app, Some(&inline_secret), &batch).await.status(), 401);
    assert!(confirmation(&app, "a@x.io").await.is_none());
    let text = app.metrics().await;
    assert!(
        text.contains("passbridge_okta_event_auth_refused_total 3"),
        "{text}"
    );
    // The right one is applied.
    assert_eq!(
        post(&app, Some(secret.expose_secret()), &batch)
            .await
            .status(),
        200
    );
    assert!(confirmation(&app, "a@x.io").await.is_some());
}

#[tokio::test]
async fn without_an_event_secret_the_route_is_absent() {
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    db.create_users_table().await;
    let app = spawn_app_with(db, |_| {}).await;
    let resp = post(&app, Some("anything"), &delivery(vec![])).await;
    assert_eq!(resp.status(), 404);
    let get = app
        .client
        .get(format!("{}{PATH}", app.address))
        .header("X-Okta-Verification-Challenge", "abc")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 404);
}

#[tokio::test]
async fn bad_bodies_and_oversized_batches_are_refused() {
    let (app, secret) = spawn(DbKind::Sqlite).await.unwrap();
    let s = secret.expose_secret();
    let too_many: Vec<Value> = (0..11)
        .map(|i| {
            import_event(
                &format!("b-{i}"),
                "2026-01-01T00:00:00Z",
                "a@x.io",
                "SUCCESS",
            )
        })
        .collect();
    assert_eq!(post(&app, Some(s), &delivery(too_many)).await.status(), 413);
    assert!(confirmation(&app, "a@x.io").await.is_none());
    let not_json = app
        .client
        .post(format!("{}{PATH}", app.address))
        .header("Authorization", s)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    let not_declared_json = app
        .client
        .post(format!("{}{PATH}", app.address))
        .header("Authorization", s)
        .header("Content-Type", "text/plain")
        .body(delivery(vec![]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(not_declared_json.status(), 400);
    let padding = "x".repeat(70 * 1024);
    let oversized = json!({"data": {"events": []}, "padding": padding});
    assert_eq!(post(&app, Some(s), &oversized).await.status(), 413);
    // Events without a uuid, user or outcome are skipped, the rest applied.
    let mixed = delivery(vec![
        json!({"eventType": "user.import.password", "outcome": {"result": "SUCCESS"}}),
        json!({"uuid": "m-1", "eventType": "user.import.password", "target": [{"type": "User", "alternateId": "c@x.io"}]}),
        import_event("m-2", "2026-01-01T00:00:00Z", "d@x.io", "SUCCESS"),
    ]);
    assert_eq!(post(&app, Some(s), &mixed).await.status(), 200);
    assert!(confirmation(&app, "c@x.io").await.is_none());
    assert!(confirmation(&app, "d@x.io").await.is_some());
    let text = app.metrics().await;
    assert!(text.contains(
        "passbridge_okta_events_total{event_type=\"user.import.password\",outcome=\"invalid\"} 2"
    ), "{text}");
}

#[tokio::test]
async fn a_ledger_fault_answers_503_so_okta_redelivers() {
    let (app, secret) = spawn(DbKind::Sqlite).await.unwrap();
    sqlx::query("DROP TABLE okta_events_seen")
        .execute(app.ledger().pool())
        .await
        .unwrap();
    let batch = one_event("f-1", "a@x.io", "SUCCESS");
    let resp = post(&app, Some(secret.expose_secret()), &batch).await;
    assert_eq!(resp.status(), 503);
    assert!(confirmation(&app, "a@x.io").await.is_none());
    let text = app.metrics().await;
    assert!(
        text.contains("passbridge_dependency_errors_total{dependency=\"ledger\"}"),
        "{text}"
    );
}
