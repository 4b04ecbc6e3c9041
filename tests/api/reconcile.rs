//! `passbridge reconcile` against the stand-in: users whose password Okta
//! stores (provider `OKTA`, after a hook sign-in) are confirmed with source
//! `reconcile`; `IMPORT` users stay waiting; `--dry-run` changes nothing;
//! `--limit` and re-runs resume with the users still unconfirmed.

use indicatif::ProgressBar;
use passbridge::db::DbKind;
use passbridge::ledger::{ConfirmationSource, ConfirmationState, ImportResult, ImportState};
use passbridge::okta::{CreateUser, HookHeader, InlineHookCreate};
use passbridge::reconcile::{self, Options, Summary};

use crate::helpers::{spawn_app_with, TestDb};
use crate::okta_standin::{client, profile, sign_in, standin};

#[tokio::test]
async fn reconcile_confirms_users_okta_stores_and_resumes() {
    // Arrange: the service with three legacy users, all created in Okta
    // with the hook flag and recorded in import_users; Ann signs in.
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    db.create_users_table().await;
    let hash = bcrypt::hash_with_salt("legacy-pass", 4, [9u8; 16])
        .unwrap()
        .to_string();
    let logins = ["ann@example.com", "bob@example.com", "cy@example.com"];
    for login in logins {
        db.insert_user(login, &hash, None, None).await;
    }
    let app = spawn_app_with(db, |_| {}).await;
    let stand = standin(|_| {}).await;
    let okta = client(&stand);
    okta.create_inline_hook(&InlineHookCreate::password_import(
        "h",
        &format!("{}/hooks/password-import", app.address),
        "Authorization",
        app.secret.clone(),
        Vec::<HookHeader>::new(),
    ))
    .await
    .unwrap();
    let mut results = Vec::new();
    for login in logins {
        let user = okta
            .create_user(&CreateUser::with_hook(profile(login)), true)
            .await
            .unwrap();
        results.push(ImportResult {
            login: login.into(),
            state: ImportState::CreatedHook,
            path: Some("hook"),
            scheme: Some("bcrypt_2b".into()),
            okta_id: Some(user.id),
            reason: None,
        });
    }
    let ledger = app.ledger();
    ledger.record_results("run1", &results).await.unwrap();
    assert_eq!(sign_in(&stand, "ann@example.com", "legacy-pass").await, 200);
    assert_eq!(sign_in(&stand, "cy@example.com", "legacy-pass").await, 200);
    let (okta, bar) = (&okta, &ProgressBar::hidden());
    let run = |options: Options| async move {
        let mut out = Vec::new();
        let summary = reconcile::run(ledger, okta, options, &mut out, bar)
            .await
            .unwrap();
        (summary, String::from_utf8(out).unwrap())
    };

    // Act + Assert: a dry run lists Ann and Cy and changes nothing.
    let (summary, out) = run(Options {
        dry_run: true,
        limit: None,
    })
    .await;
    assert_eq!(
        summary,
        Summary {
            checked: 3,
            newly_confirmed: 2,
            still_waiting: 1,
            errors: 0
        }
    );
    assert!(out.contains("would confirm ann@example.com"), "{out}");
    assert!(ledger
        .okta_confirmation("ann@example.com")
        .await
        .unwrap()
        .is_none());

    // --limit 1: Ann only.
    let (summary, _) = run(Options {
        dry_run: false,
        limit: Some(1),
    })
    .await;
    assert_eq!((summary.checked, summary.newly_confirmed), (1, 1));
    let ann = ledger
        .okta_confirmation("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (ann.state, ann.source),
        (ConfirmationState::Confirmed, ConfirmationSource::Reconcile)
    );
    assert!(ledger
        .okta_confirmation("cy@example.com")
        .await
        .unwrap()
        .is_none());

    // A re-run skips Ann and confirms Cy; Bob still waits.
    let (summary, out) = run(Options::default()).await;
    assert_eq!(
        summary,
        Summary {
            checked: 2,
            newly_confirmed: 1,
            still_waiting: 1,
            errors: 0
        },
        "{out}"
    );
    assert!(out.contains("confirmed cy@example.com"), "{out}");
    assert!(ledger
        .okta_confirmation("bob@example.com")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        summary.render(false),
        "checked 2, newly confirmed 1, still waiting 1, errors 0\n"
    );
}

#[tokio::test]
async fn reconcile_counts_unknown_users_and_stops_on_a_refused_token() {
    // Arrange: a ledger with two hook users Okta does not have.
    let dir = tempfile::tempdir().unwrap();
    let ledger = passbridge::ledger::Ledger::connect(&passbridge::db::DatabaseUrl::sqlite_file(
        &dir.path().join("l.db"),
    ))
    .await
    .unwrap();
    let results: Vec<ImportResult> = ["a@x.io", "b@x.io"]
        .into_iter()
        .map(|login| ImportResult {
            login: login.into(),
            state: ImportState::CreatedHook,
            path: Some("hook"),
            scheme: None,
            okta_id: Some(format!("00unope{}", &login[..1])),
            reason: None,
        })
        .collect();
    ledger.record_results("run1", &results).await.unwrap();
    let stand = standin(|_| {}).await;
    let bar = ProgressBar::hidden();
    let mut out = Vec::new();
    // Act + Assert: each unknown user is an error; the run goes on.
    let summary = reconcile::run(&ledger, &client(&stand), Options::default(), &mut out, &bar)
        .await
        .unwrap();
    assert_eq!((summary.checked, summary.errors), (2, 2));
    // A refused token stops the run at the first user.
    let mut config = passbridge::okta::ClientConfig::new(
        stand.base_url.clone(),
        secrecy::SecretString::from("00wrong-token"),
    );
    config.retry = crate::okta_standin::fast_policy();
    let refused = passbridge::okta::OktaClient::new(config).unwrap();
    let err = reconcile::run(&ledger, &refused, Options::default(), &mut out, &bar)
        .await
        .unwrap_err();
    assert!(
        matches!(err, reconcile::ReconcileError::Unauthorized(_)),
        "{err}"
    );
    assert!(!err.to_string().contains("00wrong-token"));
}
