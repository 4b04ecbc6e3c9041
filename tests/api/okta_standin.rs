//! The Okta client against the stand-in: SSWS auth, create-body validation,
//! duplicates, rate-limit pacing and 429s, injected 5xx, and sign-in through
//! an imported hash or the password-import hook (with Okta's retry rules).
//! Also home of the stand-in helpers the other Okta test files share.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use passbridge::dev_okta::{self, Config, CredentialView, Faults, RateLimit, StandIn};
use passbridge::okta::{
    ClientConfig, CreateUser, HashAlgorithm, InlineHookCreate, OktaClient, PasswordHash, Profile,
    RetryPolicy,
};
use secrecy::SecretString;
use serde_json::{json, Value};

/// The stand-in's API token in tests.
pub const TOKEN: &str = "00test-ssws-token-for-the-stand-in";

/// A stand-in with `adjust` applied to the default config.
pub async fn standin(adjust: impl FnOnce(&mut Config)) -> StandIn {
    let mut config = Config::new(SecretString::from(TOKEN));
    adjust(&mut config);
    dev_okta::spawn(config).await.expect("stand-in starts")
}

/// A retry policy with short waits, so tests stay fast.
pub fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_retries: 8,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(300),
        max_rate_limit_waits: 50,
        reset_jitter: Duration::from_millis(50),
        reserve: 0,
    }
}

/// A client for the stand-in.
pub fn client(stand: &StandIn) -> OktaClient {
    let mut config = ClientConfig::new(stand.base_url.clone(), SecretString::from(TOKEN));
    config.retry = fast_policy();
    OktaClient::new(config).expect("client builds")
}

/// A profile for `login`.
pub fn profile(login: &str) -> Profile {
    Profile {
        login: login.to_owned(),
        email: Some(login.to_owned()),
        first_name: Some("Test".to_owned()),
        last_name: Some("User".to_owned()),
        ..Profile::default()
    }
}

/// Signs in through the stand-in (`POST /api/v1/authn`); returns the status.
pub async fn sign_in(stand: &StandIn, login: &str, password: &str) -> StatusCode {
    let url = stand.base_url.join("api/v1/authn").expect("url");
    let status = reqwest::Client::new()
        .post(url)
        .json(&json!({"username": login, "password": password}))
        .send()
        .await
        .expect("authn answers")
        .status();
    StatusCode::from_u16(status.as_u16()).expect("status")
}

/// How the test hook answers.
#[derive(Clone)]
pub enum HookMode {
    /// VERIFIED when the password equals this, else UNVERIFIED.
    Password(String),
    /// This status with an empty body.
    Status(u16),
    /// Sleep, then answer VERIFIED.
    Sleep(Duration),
    /// Redirect to this URL.
    Redirect(String),
}

/// One request the test hook received.
#[derive(Clone, Debug)]
pub struct Received {
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Value,
}

/// A small password-import hook for stand-in tests.
#[derive(Clone)]
pub struct TestHook {
    /// Its URL.
    pub url: String,
    /// Requests received.
    pub received: Arc<Mutex<Vec<Received>>>,
    mode: Arc<Mutex<HookMode>>,
}

impl TestHook {
    /// Starts it.
    pub async fn start(mode: HookMode) -> Self {
        let hook = Self {
            url: String::new(),
            received: Arc::default(),
            mode: Arc::new(Mutex::new(mode)),
        };
        let app = Router::new()
            .route("/hook", post(answer))
            .route("/elsewhere", post(|| async { StatusCode::OK }))
            .with_state(hook.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: format!("http://{addr}/hook"),
            ..hook
        }
    }

    /// Requests received so far.
    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// Changes the answer mode.
    pub fn set_mode(&self, mode: HookMode) {
        *self.mode.lock().unwrap() = mode;
    }
}

async fn answer(State(hook): State<TestHook>, headers: HeaderMap, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let password = body["data"]["context"]["credential"]["password"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    hook.received
        .lock()
        .unwrap()
        .push(Received { headers, body });
    let mode = hook.mode.lock().unwrap().clone();
    let verdict = |ok: bool| {
        Json(json!({"commands":[{"type":"com.okta.action.update",
            "value":{"credential": if ok {"VERIFIED"} else {"UNVERIFIED"}}}]}))
        .into_response()
    };
    match mode {
        HookMode::Password(expected) => verdict(password == expected),
        HookMode::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        HookMode::Sleep(d) => {
            tokio::time::sleep(d).await;
            verdict(true)
        }
        HookMode::Redirect(to) => (StatusCode::FOUND, [("location", to)]).into_response(),
    }
}

/// Registers `hook` with the stand-in (secret `hook-secret`) and returns its id.
pub async fn register_hook(client: &OktaClient, url: &str) -> String {
    let create = InlineHookCreate::password_import(
        "test hook",
        url,
        "Authorization",
        SecretString::from("hook-secret"),
        vec![],
    );
    client.create_inline_hook(&create).await.unwrap().id
}

// --- tests -----------------------------------------------------------------

#[tokio::test]
async fn missing_or_wrong_token_gets_e0000011_with_rate_headers() {
    // Arrange
    let stand = standin(|_| {}).await;
    let url = stand.base_url.join("api/v1/users/x@example.com").unwrap();
    let http = reqwest::Client::new();
    // Act
    let none = http.get(url.clone()).send().await.unwrap();
    let wrong = http
        .get(url.clone())
        .header("Authorization", "SSWS not-the-token")
        .send()
        .await
        .unwrap();
    let bearer = http
        .get(url)
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    // Assert
    for response in [none, wrong, bearer] {
        assert_eq!(response.status(), 401);
        for h in [
            "x-rate-limit-limit",
            "x-rate-limit-remaining",
            "x-rate-limit-reset",
        ] {
            assert!(response.headers().contains_key(h), "missing {h}");
        }
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errorCode"], "E0000011");
        assert_eq!(body["errorSummary"], "Invalid token provided");
    }
    assert_eq!(stand.stats().unauthorized, 3);
}

#[tokio::test]
async fn creates_users_validates_bodies_and_refuses_duplicates() {
    // Arrange
    let stand = standin(|_| {}).await;
    let okta = client(&stand);
    let bcrypt = PasswordHash {
        algorithm: HashAlgorithm::Bcrypt,
        work_factor: Some(10),
        salt: Some("rwh3vH166HCH/NT9XV5FYu".into()),
        value: "qaMqvAPULkbiQzkTCWo5XDcvzpk8Tna".into(),
        salt_order: None,
        iteration_count: None,
        key_size: None,
        digest_algorithm: None,
    };
    // Act
    let created = okta
        .create_user(
            &CreateUser::with_hash(profile("a@example.com"), bcrypt.clone()),
            true,
        )
        .await
        .unwrap();
    let staged = okta
        .create_user(&CreateUser::with_hook(profile("b@example.com")), false)
        .await
        .unwrap();
    let dup = okta
        .create_user(&CreateUser::with_hook(profile("A@Example.com")), true)
        .await
        .unwrap_err();
    let mut short_salt = bcrypt.clone();
    short_salt.salt = Some("rwh3vH166HCH/NT9XV5FY".into());
    let invalid = okta
        .create_user(
            &CreateUser::with_hash(profile("c@example.com"), short_salt),
            true,
        )
        .await
        .unwrap_err();
    let found = okta.find_user("a@example.com").await.unwrap();
    let missing = okta.find_user("nobody@example.com").await.unwrap();
    // Assert
    assert!(created.id.starts_with("00u"));
    assert_eq!(created.status, "ACTIVE");
    assert_eq!(staged.status, "STAGED");
    let provider = created.credentials.unwrap().provider.unwrap();
    assert_eq!(provider.kind, "IMPORT");
    assert!(dup.is_login_taken(), "{dup}");
    assert_eq!(dup.code(), Some("E0000001"));
    assert!(!invalid.is_login_taken());
    assert_eq!(invalid.status(), Some(400));
    assert!(
        invalid
            .to_string()
            .contains("credentials.password.hash.salt"),
        "{invalid}"
    );
    assert_eq!(found.map(|u| u.id), Some(created.id.clone()));
    assert!(missing.is_none());
    assert_eq!(stand.user_count(), 2);
    match stand.user("a@example.com").unwrap().credential {
        CredentialView::Hash { hash, .. } => assert_eq!(hash, bcrypt),
        other => panic!("expected a hash, got {other:?}"),
    }
    let stats = stand.stats();
    assert_eq!((stats.duplicate_logins, stats.invalid_creates), (1, 1));
}

#[tokio::test]
async fn client_paces_itself_under_a_strict_rate_limit() {
    // Arrange: 10 requests per second, 40 creates from 4 workers.
    let stand = standin(|c| {
        c.rate_limit = Some(RateLimit {
            budget: 10,
            window: Duration::from_secs(1),
        });
    })
    .await;
    let okta = client(&stand);
    let started = Instant::now();
    // Act
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let okta = okta.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let login = format!("w{worker}-{i}@example.com");
                okta.create_user(&CreateUser::with_hook(profile(&login)), true)
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // Assert: 40 requests at 10 per window span at least three resets (the
    // first window may be partial), and pacing avoids every 429.
    let elapsed = started.elapsed();
    let stats = okta.stats();
    assert_eq!(stand.user_count(), 40);
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert!(stats.paced > 0, "{stats:?}");
    assert_eq!(stand.stats().rate_limited, 0, "{:?}", stand.stats());
    assert_eq!(stats.requests, 40, "{stats:?}");
}

#[tokio::test]
async fn client_waits_out_429s_when_another_app_spent_the_budget() {
    // Arrange: 5 requests per second, and another client of the org spends
    // the current window before ours starts.
    let stand = standin(|c| {
        c.rate_limit = Some(RateLimit {
            budget: 5,
            window: Duration::from_secs(1),
        });
    })
    .await;
    let users_url = stand.base_url.join("api/v1/users").unwrap();
    let other_app = reqwest::Client::new();
    for _ in 0..5 {
        other_app
            .post(users_url.clone())
            .header("Authorization", format!("SSWS {TOKEN}"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
    }
    let okta = client(&stand);
    // Act
    let creates = (0..12).map(|i| {
        let okta = okta.clone();
        async move {
            let user = CreateUser::with_hook(profile(&format!("u{i}@example.com")));
            okta.create_user(&user, true).await
        }
    });
    let results = futures::future::join_all(creates).await;
    // Assert
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(stand.user_count(), 12);
    let stats = okta.stats();
    assert!(stats.rate_limited >= 1, "{stats:?}");
    assert_eq!(stats.retries, stats.rate_limited, "{stats:?}");
    assert_eq!(stats.requests, 12 + stats.rate_limited, "{stats:?}");
}

#[tokio::test]
async fn client_retries_injected_server_errors() {
    // Arrange
    let stand = standin(|c| {
        c.seed = Some(7);
        c.faults = Faults {
            error_rate: 0.3,
            ..Faults::default()
        };
    })
    .await;
    let okta = client(&stand);
    // Act
    for i in 0..30 {
        okta.create_user(
            &CreateUser::with_hook(profile(&format!("f{i}@example.com"))),
            true,
        )
        .await
        .unwrap();
    }
    // Assert
    let stats = okta.stats();
    assert_eq!(stand.user_count(), 30);
    assert!(stats.server_errors > 0, "{stats:?}");
    assert_eq!(stats.server_errors, stand.stats().injected_errors);
    assert_eq!(stats.requests, 30 + stats.server_errors);
}

#[tokio::test]
async fn sign_in_checks_native_hashes_itself_and_calls_the_hook_once() {
    // Arrange
    let hook = TestHook::start(HookMode::Password("legacy-pw".into())).await;
    let stand = standin(|_| {}).await;
    let okta = client(&stand);
    let hook_id = register_hook(&okta, &hook.url).await;
    let mcf = bcrypt::hash_with_salt("native-pw", 4, [3u8; 16])
        .unwrap()
        .to_string();
    let native = PasswordHash {
        algorithm: HashAlgorithm::Bcrypt,
        work_factor: Some(4),
        salt: Some(mcf[7..29].to_owned()),
        value: mcf[29..].to_owned(),
        salt_order: None,
        iteration_count: None,
        key_size: None,
        digest_algorithm: None,
    };
    okta.create_user(
        &CreateUser::with_hash(profile("n@example.com"), native),
        true,
    )
    .await
    .unwrap();
    okta.create_user(&CreateUser::with_hook(profile("h@example.com")), true)
        .await
        .unwrap();
    // Act + Assert: native user, right and wrong password, no hook call.
    assert_eq!(sign_in(&stand, "n@example.com", "native-pw").await, 200);
    assert_eq!(sign_in(&stand, "n@example.com", "wrong").await, 401);
    assert_eq!(hook.count(), 0);
    // Hook user: a wrong password reaches the hook and fails; so does the next try.
    assert_eq!(sign_in(&stand, "h@example.com", "nope").await, 401);
    assert_eq!(sign_in(&stand, "h@example.com", "nope2").await, 401);
    assert_eq!(hook.count(), 2);
    assert_eq!(stand.user("h@example.com").unwrap().provider, "IMPORT");
    // The right password: VERIFIED, stored, provider flips to OKTA.
    assert_eq!(sign_in(&stand, "H@example.com", "legacy-pw").await, 200);
    assert_eq!(hook.count(), 3);
    let user = stand.user("h@example.com").unwrap();
    assert_eq!(user.provider, "OKTA");
    assert_eq!(user.credential, CredentialView::Password);
    assert_eq!(user.hook_calls, 3);
    // Later sign-ins never call the hook again.
    assert_eq!(sign_in(&stand, "h@example.com", "legacy-pw").await, 200);
    assert_eq!(sign_in(&stand, "h@example.com", "nope").await, 401);
    assert_eq!(hook.count(), 3);
    // What Okta sent: §1.1 headers and the §1.2 body.
    let last = hook.received.lock().unwrap()[2].clone();
    assert_eq!(last.headers["accept"], "application/json");
    assert_eq!(last.headers["content-type"], "application/json");
    assert_eq!(last.headers["authorization"], "hook-secret");
    let b = &last.body;
    assert_eq!(b["eventType"], "com.okta.user.credential.password.import");
    assert_eq!(b["eventTypeVersion"], "1.0");
    assert_eq!(b["contentType"], "application/json");
    assert_eq!(b["cloudEventVersion"], "0.1");
    assert!(b["source"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/api/v1/inlineHooks/{hook_id}")));
    assert_eq!(
        b["data"]["context"]["credential"]["username"],
        "H@example.com"
    );
    assert_eq!(b["data"]["context"]["credential"]["password"], "legacy-pw");
    assert_eq!(
        b["data"]["context"]["request"]["url"]["value"],
        "/api/v1/authn"
    );
    assert_eq!(b["data"]["action"]["credential"], "UNVERIFIED");
    let ids: std::collections::HashSet<String> = hook
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.body["eventId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3, "every call has a fresh eventId");
}

#[tokio::test]
async fn hook_calls_retry_once_on_5xx_and_timeout_never_on_4xx_or_redirect() {
    // Arrange
    let hook = TestHook::start(HookMode::Status(500)).await;
    let stand = standin(|c| c.hook_timeout = Duration::from_millis(300)).await;
    let okta = client(&stand);
    register_hook(&okta, &hook.url).await;
    for login in ["a@x.io", "b@x.io", "c@x.io", "d@x.io"] {
        okta.create_user(&CreateUser::with_hook(profile(login)), true)
            .await
            .unwrap();
    }
    // Act + Assert
    assert_eq!(sign_in(&stand, "a@x.io", "pw").await, 401);
    assert_eq!(
        stand.user("a@x.io").unwrap().hook_calls,
        2,
        "5xx: one retry"
    );
    hook.set_mode(HookMode::Status(403));
    assert_eq!(sign_in(&stand, "b@x.io", "pw").await, 401);
    assert_eq!(stand.user("b@x.io").unwrap().hook_calls, 1, "4xx: no retry");
    hook.set_mode(HookMode::Sleep(Duration::from_millis(600)));
    assert_eq!(sign_in(&stand, "c@x.io", "pw").await, 401);
    assert_eq!(
        stand.user("c@x.io").unwrap().hook_calls,
        2,
        "timeout: one retry"
    );
    let elsewhere = hook.url.replace("/hook", "/elsewhere");
    hook.set_mode(HookMode::Redirect(elsewhere));
    assert_eq!(sign_in(&stand, "d@x.io", "pw").await, 401);
    assert_eq!(
        stand.user("d@x.io").unwrap().hook_calls,
        1,
        "redirect: not followed"
    );
    assert_eq!(stand.user("d@x.io").unwrap().provider, "IMPORT");
}

#[tokio::test]
async fn one_password_import_hook_per_org_and_delete_only_when_inactive() {
    // Arrange
    let hook = TestHook::start(HookMode::Password("x".into())).await;
    let stand = standin(|_| {}).await;
    let okta = client(&stand);
    let id = register_hook(&okta, &hook.url).await;
    // Act
    let second = okta
        .create_inline_hook(&InlineHookCreate::password_import(
            "again",
            &hook.url,
            "Authorization",
            SecretString::from("s"),
            vec![],
        ))
        .await
        .unwrap_err();
    let delete_active = okta.delete_inline_hook(&id).await.unwrap_err();
    let deactivated = okta.deactivate_inline_hook(&id).await.unwrap();
    okta.delete_inline_hook(&id).await.unwrap();
    let listed = okta
        .list_inline_hooks(Some(passbridge::okta::PASSWORD_IMPORT_HOOK_TYPE))
        .await
        .unwrap();
    let gone = okta.get_inline_hook(&id).await.unwrap_err();
    // Assert
    assert_eq!(second.status(), Some(400));
    assert!(second.to_string().contains("only one"), "{second}");
    assert_eq!(delete_active.status(), Some(400));
    assert_eq!(deactivated.status, "INACTIVE");
    assert!(listed.is_empty());
    assert!(gone.is_not_found());
}
