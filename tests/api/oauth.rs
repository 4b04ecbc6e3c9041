//! `hook.auth = "oauth2"`: Okta's bearer token against an issuer served by the
//! test (discovery + JWKS it controls), with keys generated in the test.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use passbridge::config::HookAuthMode;
use passbridge::dev_okta::keys::{jwks_of, SigningKey};
use serde_json::{json, Value};

use crate::helpers::{captured_logs, okta_body, spawn_app_with_user, verdict_of, TestApp};

const USER: &str = "oauth-user@example.com";
const PASSWORD: &str = "correct horse oauth";
const CLIENT_ID: &str = "0oahookclient";
const SCOPE: &str = "passbridge.hook";
const AUDIENCE: &str = "api://passbridge";

fn keys() -> &'static [SigningKey; 2] {
    static KEYS: OnceLock<[SigningKey; 2]> = OnceLock::new();
    KEYS.get_or_init(|| {
        [
            SigningKey::generate("it-kid-a").unwrap(),
            SigningKey::generate("it-kid-b").unwrap(),
        ]
    })
}

/// What the test issuer publishes, and how often it was asked.
struct IssuerState {
    issuer: String,
    published: Mutex<Vec<usize>>,
    down: AtomicBool,
    jwks_fetches: AtomicUsize,
}

struct Issuer {
    issuer: String,
    state: Arc<IssuerState>,
    _server: tokio::task::JoinHandle<()>,
}

impl Issuer {
    async fn start(published: Vec<usize>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let issuer = format!("{base}/oauth2/aushook");
        let state = Arc::new(IssuerState {
            issuer: issuer.clone(),
            published: Mutex::new(published),
            down: AtomicBool::new(false),
            jwks_fetches: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route(
                "/oauth2/aushook/.well-known/oauth-authorization-server",
                get(metadata),
            )
            .route("/oauth2/aushook/v1/keys", get(jwks))
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            issuer,
            state,
            _server: server,
        }
    }

    fn publish(&self, which: Vec<usize>) {
        *self.state.published.lock().unwrap() = which;
    }

    fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    fn fetches(&self) -> usize {
        self.state.jwks_fetches.load(Ordering::SeqCst)
    }

    fn claims(&self) -> Value {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        json!({"ver":1,"jti":format!("AT.{}", uuid::Uuid::new_v4().simple()),"iss":self.issuer,
               "aud":AUDIENCE,"iat":now,"exp":now + 3600,"cid":CLIENT_ID,"scp":[SCOPE],"sub":CLIENT_ID})
    }

    fn token(&self, key: usize) -> String {
        keys()[key].sign(&self.claims()).unwrap()
    }

    fn token_with(&self, change: impl FnOnce(&mut Value)) -> String {
        let mut c = self.claims();
        change(&mut c);
        keys()[0].sign(&c).unwrap()
    }
}

async fn metadata(State(s): State<Arc<IssuerState>>) -> Response {
    if s.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    Json(
        json!({"issuer": s.issuer, "jwks_uri": format!("{}/v1/keys", s.issuer),
                "token_endpoint": format!("{}/v1/token", s.issuer)}),
    )
    .into_response()
}

async fn jwks(State(s): State<Arc<IssuerState>>) -> Response {
    s.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    if s.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let published = s.published.lock().unwrap().clone();
    Json(jwks_of(published.iter().map(|i| &keys()[*i]))).into_response()
}

async fn oauth_app(issuer: &Issuer) -> TestApp {
    let iss = issuer.issuer.clone();
    spawn_app_with_user(USER, PASSWORD, move |s| {
        s.hook.auth = HookAuthMode::Oauth2;
        s.hook.secrets.clear();
        s.hook.oauth.issuer = Some(iss);
        s.hook.oauth.audience = Some(AUDIENCE.into());
        s.hook.oauth.client_id = Some(CLIENT_ID.into());
        s.hook.oauth.scope = Some(SCOPE.into());
    })
    .await
}

async fn call(app: &TestApp, auth: Option<String>) -> reqwest::Response {
    let mut req = app
        .client
        .post(format!("{}/hooks/password-import", app.address))
        .json(&okta_body(USER, PASSWORD));
    if let Some(auth) = auth {
        req = req.header("Authorization", auth);
    }
    req.send().await.unwrap()
}

async fn bearer(app: &TestApp, token: &str) -> StatusCode {
    call(app, Some(format!("Bearer {token}"))).await.status()
}

fn refused(app: &TestApp, reason: &str) -> bool {
    app.state.metrics.render().lines().any(|l| {
        l.starts_with(&format!(
            "passbridge_hook_auth_refused_total{{reason=\"{reason}\"}}"
        )) && !l.ends_with(" 0")
    })
}

#[tokio::test]
async fn a_valid_token_is_accepted_and_bad_ones_refused_before_any_lookup() {
    let issuer = Issuer::start(vec![0]).await;
    let app = oauth_app(&issuer).await;

    let resp = call(&app, Some(format!("Bearer {}", issuer.token(0)))).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(verdict_of(&resp.json().await.unwrap()), "VERIFIED");
    let looked_up = app.reasons(USER).await.len();
    assert_eq!(looked_up, 1);

    let forged = {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        h.kid = Some("it-kid-a".into());
        jsonwebtoken::encode(
            &h,
            &issuer.claims(),
            &jsonwebtoken::EncodingKey::from_secret(keys()[0].public_der()),
        )
        .unwrap()
    };
    let cases: Vec<(String, &str)> = vec![
        (
            keys()[1].sign_as("it-kid-a", &issuer.claims()).unwrap(),
            "signature",
        ),
        (forged, "algorithm"),
        (
            issuer.token_with(|c| c["exp"] = json!(1_000_000_000)),
            "expired",
        ),
        (
            issuer.token_with(|c| c["iat"] = json!(9_000_000_000u64)),
            "not_yet_valid",
        ),
        (
            issuer.token_with(|c| c["iss"] = json!("https://evil.example.com/oauth2/default")),
            "issuer",
        ),
        (
            issuer.token_with(|c| c["aud"] = json!("api://default")),
            "audience",
        ),
        (
            issuer.token_with(|c| c["cid"] = json!("0oaother")),
            "client_id",
        ),
        (issuer.token_with(|c| c["scp"] = json!(["openid"])), "scope"),
        ("not.a.jwt".to_owned(), "malformed"),
    ];
    for (token, reason) in &cases {
        assert_eq!(bearer(&app, token).await, 401, "{reason}");
        assert!(refused(&app, reason), "metric for {reason}");
    }
    // The shared secret means nothing in oauth2 mode; nor does no header.
    assert_eq!(call(&app, Some(app.secret_value())).await.status(), 401);
    assert_eq!(call(&app, None).await.status(), 401);
    assert!(refused(&app, "missing_token"));
    assert_eq!(
        app.reasons(USER).await.len(),
        looked_up,
        "no lookup after a refusal"
    );

    let logs = captured_logs();
    assert!(
        logs.contains("hook caller refused"),
        "a log line per refusal"
    );
    for (token, _) in &cases {
        assert!(!logs.contains(token.as_str()), "a token was logged");
    }
    assert!(!logs.contains(&issuer.token(0)[..40]));
}

#[tokio::test]
async fn unknown_kids_cause_at_most_one_refetch() {
    let issuer = Issuer::start(vec![0]).await;
    let app = oauth_app(&issuer).await;
    let before = issuer.fetches();
    for i in 0..5 {
        let token = keys()[1]
            .sign_as(&format!("bogus-{i}"), &issuer.claims())
            .unwrap();
        assert_eq!(bearer(&app, &token).await, 401);
    }
    assert!(refused(&app, "unknown_kid"));
    assert!(
        issuer.fetches() - before <= 1,
        "{} JWKS fetches for 5 unknown kids",
        issuer.fetches() - before
    );
    assert_eq!(
        bearer(&app, &issuer.token(0)).await,
        200,
        "known key still works"
    );
}

#[tokio::test]
async fn key_rotation_new_kid_appears_old_one_leaves() {
    let issuer = Issuer::start(vec![0]).await;
    let app = oauth_app(&issuer).await;
    assert_eq!(bearer(&app, &issuer.token(0)).await, 200);

    // Okta publishes the next key next to the current one and starts signing with it.
    issuer.publish(vec![0, 1]);
    assert_eq!(
        bearer(&app, &issuer.token(1)).await,
        200,
        "new kid refetched"
    );
    assert_eq!(
        bearer(&app, &issuer.token(0)).await,
        200,
        "old key still published"
    );

    // The old key leaves the JWKS: after the next fetch it no longer works.
    issuer.publish(vec![1]);
    let jwks = app.state.auth.oauth().unwrap().jwks().clone();
    jwks.refresh().await.unwrap();
    assert_eq!(bearer(&app, &issuer.token(0)).await, 401);
    assert_eq!(bearer(&app, &issuer.token(1)).await, 200);
}

#[tokio::test]
async fn jwks_down_keeps_cached_keys_working() {
    let issuer = Issuer::start(vec![0]).await;
    let app = oauth_app(&issuer).await;
    issuer.set_down(true);
    let jwks = app.state.auth.oauth().unwrap().jwks().clone();
    assert!(jwks.refresh().await.is_err());
    assert_eq!(bearer(&app, &issuer.token(0)).await, 200);
    let ready = app
        .client
        .get(format!("{}/readyz", app.admin_address))
        .send()
        .await
        .unwrap();
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["jwks"], "up", "{body}");
}

#[tokio::test]
async fn no_keys_ever_fetched_is_unready_and_refuses() {
    let issuer = Issuer::start(vec![0]).await;
    issuer.set_down(true);
    let app = oauth_app(&issuer).await;
    let ready = app
        .client
        .get(format!("{}/readyz", app.admin_address))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["jwks"], "down", "{body}");
    assert_eq!(bearer(&app, &issuer.token(0)).await, 401);
    assert!(refused(&app, "no_keys"));
    assert!(app.reasons(USER).await.is_empty());
}

trait SecretValue {
    fn secret_value(&self) -> String;
}

impl SecretValue for TestApp {
    fn secret_value(&self) -> String {
        use secrecy::ExposeSecret;
        self.secret.expose_secret().to_owned()
    }
}

/// The whole path in OAuth mode: `hook register --auth oauth2` against the
/// stand-in, a user created with the hook flag, a sign-in: the stand-in
/// mints a token from its own key and calls the hook with it; passbridge
/// fetches the stand-in's JWKS and answers VERIFIED. After a key rotation a
/// sign-in still works (the new kid is fetched).
#[tokio::test]
async fn a_sign_in_through_the_stand_in_in_oauth_mode() {
    use passbridge::cmd::hook::{HookContext, OAuthDefaults};
    use passbridge::okta::{CreateUser, PASSWORD_IMPORT_HOOK_TYPE};
    use secrecy::SecretString;

    use crate::helpers::{hook_register, run_hook};
    use crate::okta_standin::{client, profile, sign_in, standin};

    let stand = standin(|_| {}).await;
    let issuer = stand.oauth_issuer();
    let audience = stand.oauth_audience();
    let iss = issuer.clone();
    let app = spawn_app_with_user(USER, PASSWORD, move |s| {
        s.hook.auth = HookAuthMode::Oauth2;
        s.hook.secrets.clear();
        s.hook.oauth.issuer = Some(iss);
        s.hook.oauth.audience = Some(audience.into());
        s.hook.oauth.client_id = Some(CLIENT_ID.into());
        s.hook.oauth.scope = Some(SCOPE.into());
    })
    .await;

    let settings = passbridge::config::OAuthSettings {
        issuer: Some(issuer.clone()),
        client_id: Some(CLIENT_ID.into()),
        scope: Some(SCOPE.into()),
        ..Default::default()
    };
    let client_secret = "oauth-client-secret-not-to-print";
    let ctx = HookContext {
        client: client(&stand),
        secret: None,
        header: "Authorization".into(),
        configured: Default::default(),
        oauth: OAuthDefaults {
            mode: HookAuthMode::Oauth2,
            settings,
            client_secret: Some(SecretString::from(client_secret)),
        },
        events: Default::default(),
    };
    let url = format!("{}/hooks/password-import", app.address);
    let (result, out) = run_hook(&ctx, hook_register(Some(&url), None, false)).await;
    result.unwrap();
    assert!(out.contains("OAuth 2.0 channel"), "{out}");
    assert!(!out.contains(client_secret), "{out}");
    let hooks = stand.hooks();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].kind, PASSWORD_IMPORT_HOOK_TYPE);
    assert_eq!(hooks[0].channel.kind, "OAUTH");
    let config = &hooks[0].channel.config;
    assert_eq!(config.auth_type.as_deref(), Some("client_secret_post"));
    assert_eq!(config.client_id.as_deref(), Some(CLIENT_ID));
    assert_eq!(
        config.token_url.as_deref(),
        Some(format!("{issuer}/v1/token").as_str())
    );
    assert!(config.auth_scheme.is_none() && config.client_secret.is_none());

    client(&stand)
        .create_user(&CreateUser::with_hook(profile(USER)), true)
        .await
        .unwrap();
    assert_eq!(sign_in(&stand, USER, "wrong password").await, 401);
    assert_eq!(sign_in(&stand, USER, PASSWORD).await, 200);
    assert_eq!(
        app.reasons(USER).await.last().map(String::as_str),
        Some("verified")
    );

    // A token from the stand-in for another client is refused.
    let other = stand.mint_token("0oaother", Some(SCOPE)).await.unwrap();
    assert_eq!(bearer(&app, &other).await, 401);
    assert!(refused(&app, "client_id"));

    // Key rotation at the authorization server: the next token has a new kid.
    stand.rotate_keys().await.unwrap();
    let rotated = stand.mint_token(CLIENT_ID, Some(SCOPE)).await.unwrap();
    assert_eq!(bearer(&app, &rotated).await, 200);
    assert!(!captured_logs().contains(&rotated[..60]), "token logged");
}
