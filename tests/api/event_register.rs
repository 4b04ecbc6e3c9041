//! `hook register --events` against the stand-in with the real service
//! behind it (created, verified by a real challenge, active; `hook list`
//! shows both hooks), then sign-ins through the hook: the stand-in's
//! late, duplicated `user.import.password` deliveries land in the ledger once.

use std::process::ExitCode;
use std::time::Duration;

use passbridge::cmd::hook::{
    ConfiguredSecrets, EventHookDefaults, HookCommand, HookContext, OrgArgs,
};
use passbridge::db::DbKind;
use passbridge::dev_okta::EventDelivery;
use passbridge::ledger::{ConfirmationSource, ConfirmationState};
use passbridge::okta::{CreateUser, EventHookCreate};
use secrecy::{ExposeSecret, SecretString};

use crate::helpers::{hook_register, random_secret, run_hook, spawn_app_with, TestApp, TestDb};
use crate::okta_standin::{client, profile, sign_in, standin};

/// The service with an event secret and legacy users ann and bob (bcrypt).
async fn service() -> (TestApp, SecretString) {
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    db.create_users_table().await;
    for login in ["ann@example.com", "bob@example.com"] {
        let hash = bcrypt::hash_with_salt("legacy-pass", 4, [9u8; 16])
            .unwrap()
            .to_string();
        db.insert_user(login, &hash, None, None).await;
    }
    let secret = random_secret();
    let for_app = secret.clone();
    let app = spawn_app_with(db, move |s| {
        s.event_hook.secret = Some(for_app);
        s.legacy.lowercase_username = true;
    })
    .await;
    (app, secret)
}

fn context(
    app: &TestApp,
    stand: &passbridge::dev_okta::StandIn,
    events: Option<SecretString>,
) -> HookContext {
    HookContext {
        client: client(stand),
        secret: Some(app.secret.clone()),
        header: "Authorization".into(),
        configured: ConfiguredSecrets::default(),
        oauth: Default::default(),
        events: EventHookDefaults {
            secret: events,
            header: "Authorization".into(),
        },
    }
}

#[tokio::test]
async fn register_events_then_sign_ins_confirm_users_once() {
    // Arrange: every batch delivered twice, late.
    let (app, secret) = service().await;
    let stand = standin(|c| {
        c.seed = Some(7);
        c.events = EventDelivery {
            max_delay: Duration::from_millis(50),
            duplicate_rate: 1.0,
        };
    })
    .await;
    let ctx = context(&app, &stand, Some(secret.clone()));
    let inline = format!("{}/hooks/password-import", app.address);
    let events = format!("{}/hooks/okta-events", app.address);

    // Act: register both hooks in one run, then again (idempotent).
    let (result, out) = run_hook(&ctx, hook_register(Some(&inline), Some(&events), false)).await;
    assert_eq!(result.unwrap(), ExitCode::SUCCESS, "{out}");
    assert!(out.contains("Registered event hook who"), "{out}");
    assert!(
        !out.contains(secret.expose_secret()),
        "a configured secret is never printed"
    );
    let (result, out) = run_hook(&ctx, hook_register(None, Some(&events), false)).await;
    assert_eq!(result.unwrap(), ExitCode::SUCCESS, "{out}");
    assert!(out.contains("Updated the existing event hook"), "{out}");

    // Assert: one hook, verified by the real challenge, active.
    let hooks = stand.event_hooks();
    assert_eq!(hooks.len(), 1);
    assert_eq!(
        (
            hooks[0].status.as_str(),
            hooks[0].verification_status.as_str()
        ),
        ("ACTIVE", "VERIFIED")
    );
    assert_eq!(hooks[0].events.items, ["user.import.password"]);
    assert_eq!(hooks[0].channel.config.uri, events);
    let (result, listing) = run_hook(
        &ctx,
        HookCommand::List {
            json: false,
            org: OrgArgs::default(),
        },
    )
    .await;
    result.unwrap();
    assert!(
        listing.contains("cal") && listing.contains("(event hook)"),
        "{listing}"
    );
    let (result, json) = run_hook(
        &ctx,
        HookCommand::List {
            json: true,
            org: OrgArgs::default(),
        },
    )
    .await;
    result.unwrap();
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let kinds: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "com.okta.user.credential.password.import",
            "com.okta.event_hook"
        ]
    );
    assert_eq!(rows[1]["verification_status"], "VERIFIED");

    // Act: hook users sign in; Bob with a wrong password.
    let okta = client(&stand);
    for login in ["ann@example.com", "bob@example.com"] {
        okta.create_user(&CreateUser::with_hook(profile(login)), true)
            .await
            .unwrap();
    }
    assert_eq!(sign_in(&stand, "Ann@example.com", "legacy-pass").await, 200);
    assert_eq!(sign_in(&stand, "bob@example.com", "wrong").await, 401);

    // Assert: both outcomes arrive, and every duplicate is ignored.
    let ledger = app.ledger();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let ann = ledger.okta_confirmation("ann@example.com").await.unwrap();
        let bob = ledger.okta_confirmation("bob@example.com").await.unwrap();
        let duplicates = app.state.metrics.okta_events.duplicates.get();
        if let (Some(ann), Some(bob), true) = (&ann, &bob, duplicates >= 2) {
            assert_eq!(
                (ann.state, ann.source),
                (ConfirmationState::Confirmed, ConfirmationSource::Event)
            );
            assert_eq!(ann.okta_id, stand.user("ann@example.com").map(|u| u.id));
            assert_eq!((bob.state, bob.failures), (ConfirmationState::Failed, 1));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "events not delivered: ann {ann:?}, bob {bob:?}, duplicates {duplicates}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_generated_secret_is_printed_once_and_a_wrong_one_fails_verification() {
    let (app, _secret) = service().await;
    let stand = standin(|_| {}).await;
    let events = format!("{}/hooks/okta-events", app.address);
    // No configured secret: created, not verified, the secret printed once.
    let ctx = context(&app, &stand, None);
    let (result, out) = run_hook(&ctx, hook_register(None, Some(&events), false)).await;
    assert_eq!(result.unwrap(), ExitCode::SUCCESS, "{out}");
    let exported = out
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("export PASSBRIDGE_EVENT_HOOK_SECRET=")
        })
        .unwrap_or_else(|| panic!("no export line in:\n{out}"));
    assert!(exported.len() >= 32);
    assert_eq!(stand.event_hooks()[0].verification_status, "UNVERIFIED");
    // Re-run with a secret serve does not have: Okta's verification fails.
    let ctx = context(&app, &stand, Some(SecretString::from(exported.to_owned())));
    let (result, out) = run_hook(&ctx, hook_register(None, Some(&events), false)).await;
    let err = format!("{:#}", result.unwrap_err());
    assert!(err.contains("could not verify"), "{err}");
    assert!(!out.contains(exported) && !err.contains(exported));
    assert_eq!(stand.event_hooks()[0].verification_status, "UNVERIFIED");
}

#[tokio::test]
async fn an_existing_event_hook_is_not_given_a_new_secret() {
    let (app, secret) = service().await;
    let stand = standin(|_| {}).await;
    let events = format!("{}/hooks/okta-events", app.address);
    let (result, out) = run_hook(
        &context(&app, &stand, Some(secret)),
        hook_register(None, Some(&events), false),
    )
    .await;
    assert_eq!(result.unwrap(), ExitCode::SUCCESS, "{out}");
    // Without the secret serve uses, a re-run is refused and changes nothing.
    let (result, out) = run_hook(
        &context(&app, &stand, None),
        hook_register(None, Some(&events), false),
    )
    .await;
    let err = format!("{:#}", result.unwrap_err());
    assert!(err.contains("PASSBRIDGE_EVENT_HOOK_SECRET"), "{err}");
    assert!(!out.contains("export "), "{out}");
    assert_eq!(stand.event_hooks()[0].verification_status, "VERIFIED");
}

#[tokio::test]
async fn the_stand_in_event_hooks_api_follows_okta_rules() {
    let (app, secret) = service().await;
    let stand = standin(|_| {}).await;
    let okta = client(&stand);
    let uri = format!("{}/hooks/okta-events", app.address);
    let create =
        EventHookCreate::password_import_outcomes("h", &uri, "Authorization", secret.clone());
    // Created ACTIVE but UNVERIFIED; the secret is write-only.
    let hook = okta.create_event_hook(&create).await.unwrap();
    assert_eq!(
        (hook.status.as_str(), hook.verification_status.as_str()),
        ("ACTIVE", "UNVERIFIED")
    );
    assert!(hook
        .channel
        .config
        .auth_scheme
        .as_ref()
        .unwrap()
        .value
        .is_none());
    let verified = okta.event_hook_lifecycle(&hook.id, "verify").await.unwrap();
    assert!(verified.is_verified());
    // Only an INACTIVE hook can be deleted.
    let err = okta.delete_event_hook(&hook.id).await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(400), Some("E0000001")));
    // A changed channel must be verified again.
    let moved = EventHookCreate::password_import_outcomes(
        "h",
        &format!("{}/hooks/okta-events?v=2", app.address),
        "Authorization",
        secret,
    );
    let replaced = okta.replace_event_hook(&hook.id, &moved).await.unwrap();
    assert_eq!(replaced.verification_status, "UNVERIFIED");
    // Validation: https only (http to loopback in the stand-in), no empty subscription.
    let mut bad = create.clone();
    bad.channel.config.uri = "http://hook.example.com/x".into();
    bad.events.items.clear();
    let err = okta.create_event_hook(&bad).await.unwrap_err();
    assert_eq!(err.code(), Some("E0000001"));
    let off = okta
        .event_hook_lifecycle(&hook.id, "deactivate")
        .await
        .unwrap();
    assert!(!off.is_active());
    okta.delete_event_hook(&hook.id).await.unwrap();
    let gone = okta.get_event_hook(&hook.id).await.unwrap_err();
    assert_eq!((gone.status(), gone.code()), (Some(404), Some("E0000007")));
    assert!(okta.list_event_hooks().await.unwrap().is_empty());
}
