//! Requests refused before any lookup: authentication and bad input each get
//! a defined answer, a metric, and no ledger row.

use passbridge::db::DbKind;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::helpers::{
    okta_body, random_secret, spawn_app_with, spawn_app_with_user, TestApp, TestDb,
};

async fn app_with_user() -> TestApp {
    spawn_app_with_user("u@example.com", "pw-u", |_| {}).await
}

fn hook_url(app: &TestApp) -> String {
    format!("{}/hooks/password-import", app.address)
}

async fn error_code(resp: reqwest::Response) -> String {
    let body: serde_json::Value = resp.json().await.unwrap();
    body["error"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn missing_or_wrong_secret_is_401_and_touches_nothing() {
    let app = app_with_user().await;
    let body = okta_body("u@example.com", "pw-u");

    let none = app
        .client
        .post(hook_url(&app))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(error_code(none).await, "unauthorized");

    let wrong = app
        .client
        .post(hook_url(&app))
        .header("Authorization", "test-secret-wrong")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let prefix = &app.secret.expose_secret()[..10];
    let partial = app
        .client
        .post(hook_url(&app))
        .header("Authorization", prefix)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(partial.status(), 401);

    // Unauthenticated garbage is refused as unauthorized, not parsed.
    let garbage = app
        .client
        .post(hook_url(&app))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 401);

    assert!(app
        .ledger()
        .hook_calls_for("u@example.com")
        .await
        .unwrap()
        .is_empty());
    let metrics = app.state.metrics.render();
    assert!(
        metrics.contains(r#"passbridge_hook_rejections_total{kind="unauthorized"} 4"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn both_rotation_secrets_work_and_the_header_name_is_configurable() {
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    db.create_users_table().await;
    db.insert_user(
        "u@example.com",
        &hex::encode(Sha256::digest(b"pw-u")),
        None,
        Some("hex_sha256"),
    )
    .await;
    let second = random_secret();
    let second_copy = SecretString::from(second.expose_secret().to_owned());
    let app = spawn_app_with(db, move |s| {
        s.hook.header = "X-Okta-Hook-Key".into();
        s.hook.secrets.push(second_copy);
    })
    .await;
    let body = okta_body("u@example.com", "pw-u");

    for (name, secret) in [
        ("x-okta-hook-key", app.secret.expose_secret()),
        ("X-OKTA-HOOK-KEY", second.expose_secret()),
    ] {
        let resp = app
            .client
            .post(hook_url(&app))
            .header(name, secret)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{name}");
    }
    let in_authorization = app
        .client
        .post(hook_url(&app))
        .header("Authorization", app.secret.expose_secret())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        in_authorization.status(),
        401,
        "the secret must come in the configured header"
    );
}

#[tokio::test]
async fn bad_bodies_get_400_with_a_json_error() {
    let app = app_with_user().await;
    let secret = app.secret.expose_secret();
    let post = |body: String, content_type: &'static str| {
        app.client
            .post(hook_url(&app))
            .header("Authorization", secret)
            .header("Content-Type", content_type)
            .body(body)
            .send()
    };

    let malformed = post("{\"data\": {".into(), "application/json")
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(error_code(malformed).await, "malformed_json");

    let wrong_type = post(okta_body("u@example.com", "pw-u").to_string(), "text/plain")
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 400);
    assert_eq!(error_code(wrong_type).await, "wrong_content_type");

    let missing = post(
        r#"{"data":{"context":{"credential":{"username":"u@example.com"}}}}"#.into(),
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(missing.status(), 400);
    assert_eq!(error_code(missing).await, "missing_fields");

    // A numeric password must not be echoed back by a serde message.
    let numeric = post(
        r#"{"data":{"context":{"credential":{"username":"u@example.com","password":987654321}}}}"#
            .into(),
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(numeric.status(), 400);
    assert!(!numeric.text().await.unwrap().contains("987654321"));

    let mut event = okta_body("u@example.com", "pw-u");
    event["eventType"] = "com.okta.user.pre-registration".into();
    let wrong_event = post(event.to_string(), "application/json").await.unwrap();
    assert_eq!(wrong_event.status(), 400);
    assert_eq!(error_code(wrong_event).await, "wrong_event_type");

    assert!(app
        .ledger()
        .hook_calls_for("u@example.com")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn huge_body_is_413_and_unknown_paths_404() {
    let app = app_with_user().await;
    let huge = okta_body("u@example.com", &"x".repeat(70 * 1024));
    let resp = app
        .client
        .post(hook_url(&app))
        .header("Authorization", app.secret.expose_secret())
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(error_code(resp).await, "body_too_large");

    let missing = app
        .client
        .get(format!("{}/nope", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(error_code(missing).await, "not_found");

    let wrong_method = app.client.get(hook_url(&app)).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    let metrics = app.state.metrics.render();
    assert!(metrics.contains(r#"kind="body_too_large""#), "{metrics}");
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let app = app_with_user().await;
    let resp = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    let id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert_eq!(id.len(), 36, "a uuid: {id:?}");
}

#[tokio::test]
async fn a_panicking_handler_becomes_a_generic_500() {
    use tower::ServiceExt;
    let app = app_with_user().await;
    let routes = axum::Router::new().route(
        "/boom",
        axum::routing::get(|| async {
            if std::hint::black_box(true) {
                panic!("internal detail that must not leak");
            }
            "unreachable"
        }),
    );
    let router = passbridge::startup::with_middleware(routes, app.state.clone());

    let resp = router
        .oneshot(
            axum::http::Request::get("/boom")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();

    assert_eq!(resp.status(), 500);
    let bytes = axum::body::to_bytes(resp.into_body(), 1024).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["error"], "internal");
    assert!(!String::from_utf8_lossy(&bytes).contains("must not leak"));
}
