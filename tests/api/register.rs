//! `passbridge hook register/list/activate/deactivate/delete/test` against
//! the stand-in Okta, with the real hook service behind it; the
//! one-password-import-hook-per-org rule; secrets never echoed unless
//! generated; the token only from the environment.

use std::io::Cursor;
use std::process::ExitCode;

use passbridge::cmd::hook::{execute, HookCommand, HookContext, OrgArgs};
use passbridge::db::DbKind;
use secrecy::ExposeSecret;

use crate::helpers::spawn_app;
use crate::okta_standin::{client, standin, HookMode, TestHook, TOKEN};

/// Runs one hook command, returning its exit code (or error) and output.
async fn hook(
    ctx: &HookContext,
    cmd: HookCommand,
    stdin: &str,
) -> (anyhow::Result<ExitCode>, String) {
    let mut out = Vec::new();
    let mut input = Cursor::new(stdin.as_bytes().to_vec());
    let result = execute(cmd, ctx, &mut out, &mut input, false).await;
    (result, String::from_utf8(out).unwrap())
}

fn register(url: &str, replace: bool) -> HookCommand {
    HookCommand::Register {
        url: url.parse().unwrap(),
        name: "passbridge password import".into(),
        replace,
        auth_header: None,
        headers: vec![],
        org: OrgArgs::default(),
    }
}

fn first_id(listing: &str) -> String {
    listing
        .split_whitespace()
        .next()
        .expect("a hook id")
        .to_owned()
}

#[tokio::test]
async fn hook_lifecycle_against_the_stand_in_and_the_hook_service() {
    // Arrange: the hook service with one legacy bcrypt user, and an org.
    let Some(app) = spawn_app(DbKind::Sqlite).await else {
        return;
    };
    let hash = bcrypt::hash_with_salt("legacy-pass", 4, [9u8; 16])
        .unwrap()
        .to_string();
    app.db
        .insert_user("ann@example.com", &hash, None, None)
        .await;
    let stand = standin(|_| {}).await;
    let ctx = HookContext {
        client: client(&stand),
        secret: Some(app.secret.clone()),
        header: "Authorization".into(),
    };
    let url = format!("{}/hooks/password-import", app.address);

    // register: uses PASSBRIDGE_HOOK_SECRET and never prints it.
    let (result, out) = hook(&ctx, register(&url, false), "").await;
    assert_eq!(result.unwrap(), ExitCode::SUCCESS, "{out}");
    assert!(out.contains("Registered password-import hook cal"), "{out}");
    assert!(!out.contains(app.secret.expose_secret()), "{out}");
    let hooks = stand.hooks();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].channel.config.uri, url);
    let id = hooks[0].id.clone();

    // One password-import hook per org.
    let (result, _) = hook(&ctx, register(&url, false), "").await;
    let err = format!("{:#}", result.unwrap_err());
    assert!(
        err.contains("already has a password-import hook") && err.contains(&id),
        "{err}"
    );
    assert_eq!(stand.hooks().len(), 1);

    // list
    let (result, listing) = hook(
        &ctx,
        HookCommand::List {
            org: OrgArgs::default(),
        },
        "",
    )
    .await;
    assert_eq!(result.unwrap(), ExitCode::SUCCESS);
    assert_eq!(first_id(&listing), id);
    assert!(
        listing.contains("ACTIVE") && listing.contains(&url),
        "{listing}"
    );

    // test: Okta's execute reaches the hook service, which verifies the password.
    let test = || HookCommand::Test {
        id: id.clone(),
        org: OrgArgs::default(),
    };
    let (result, out) = hook(&ctx, test(), "ann@example.com\nlegacy-pass\n").await;
    assert_eq!(result.unwrap(), ExitCode::SUCCESS, "{out}");
    assert!(
        out.contains("Verdict for ann@example.com: VERIFIED"),
        "{out}"
    );
    assert!(out.contains("round trip"), "{out}");
    assert!(!out.contains("legacy-pass"), "the password is never echoed");
    let (result, out) = hook(&ctx, test(), "ann@example.com\nwrong-pass\n").await;
    assert_eq!(result.unwrap(), ExitCode::from(1), "{out}");
    assert!(out.contains("UNVERIFIED"), "{out}");
    let (result, _) = hook(&ctx, test(), "ann@example.com\n").await;
    assert!(result.is_err(), "a missing password line is an error");

    // deactivate: execution is refused; activate again.
    let (result, out) = hook(
        &ctx,
        HookCommand::Deactivate {
            id: id.clone(),
            org: OrgArgs::default(),
        },
        "",
    )
    .await;
    assert_eq!(result.unwrap(), ExitCode::SUCCESS);
    assert!(out.contains("INACTIVE"), "{out}");
    let (result, _) = hook(&ctx, test(), "ann@example.com\nlegacy-pass\n").await;
    assert!(result.is_err());
    let (result, out) = hook(
        &ctx,
        HookCommand::Activate {
            id: id.clone(),
            org: OrgArgs::default(),
        },
        "",
    )
    .await;
    assert_eq!(result.unwrap(), ExitCode::SUCCESS);
    assert!(out.contains("is ACTIVE"), "{out}");

    // register --replace updates the same hook in place.
    let moved = format!("{}/hooks/password-import?v=2", app.address);
    let (result, out) = hook(&ctx, register(&moved, true), "").await;
    assert_eq!(result.unwrap(), ExitCode::SUCCESS, "{out}");
    let hooks = stand.hooks();
    assert_eq!((hooks.len(), hooks[0].id.as_str()), (1, id.as_str()));
    assert_eq!(hooks[0].channel.config.uri, moved);

    // delete deactivates first (Okta deletes only INACTIVE hooks).
    let (result, out) = hook(
        &ctx,
        HookCommand::Delete {
            id: id.clone(),
            org: OrgArgs::default(),
        },
        "",
    )
    .await;
    assert_eq!(result.unwrap(), ExitCode::SUCCESS);
    assert!(
        out.contains("Deactivated hook") && out.contains("Deleted hook"),
        "{out}"
    );
    assert!(stand.hooks().is_empty());
    let (_, listing) = hook(
        &ctx,
        HookCommand::List {
            org: OrgArgs::default(),
        },
        "",
    )
    .await;
    assert!(listing.contains("No password-import hook"), "{listing}");
}

#[tokio::test]
async fn a_generated_secret_is_printed_once_and_is_what_okta_sends() {
    // Arrange
    let target = TestHook::start(HookMode::Password("pw".into())).await;
    let stand = standin(|_| {}).await;
    let ctx = HookContext {
        client: client(&stand),
        secret: None,
        header: "X-Passbridge-Secret".into(),
    };
    // Act
    let (result, out) = hook(&ctx, register(&target.url, false), "").await;
    assert_eq!(result.unwrap(), ExitCode::SUCCESS, "{out}");
    let secret = out
        .lines()
        .skip_while(|l| !l.starts_with("Generated hook secret"))
        .nth(1)
        .expect("the secret line")
        .trim()
        .to_owned();
    let id = stand.hooks()[0].id.clone();
    let (result, _) = hook(
        &ctx,
        HookCommand::Test {
            id,
            org: OrgArgs::default(),
        },
        "u@example.com\npw\n",
    )
    .await;
    // Assert
    assert_eq!(result.unwrap(), ExitCode::SUCCESS);
    assert!(secret.len() >= 40, "a strong secret: {secret}");
    assert_eq!(out.matches(&secret).count(), 1, "printed once");
    let received = target.received.lock().unwrap()[0].headers.clone();
    assert_eq!(received["x-passbridge-secret"], secret.as_str());
    assert_eq!(received["accept"], "application/json");
}

// Multi-threaded: the stand-in must answer while this thread waits for the child.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_takes_the_token_from_the_environment_only() {
    // Arrange
    let stand = standin(|_| {}).await;
    let run = |env: &[(&str, &str)], args: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_passbridge"));
        c.arg("hook").args(args).env_clear();
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let org = stand.base_url.to_string();
    // Act
    let listed = run(
        &[("OKTA_ORG_URL", &org), ("OKTA_API_TOKEN", TOKEN)],
        &["list"],
    );
    let no_token = run(&[("OKTA_ORG_URL", &org)], &["list"]);
    let wrong_token = run(
        &[("OKTA_ORG_URL", &org), ("OKTA_API_TOKEN", "nope")],
        &["list"],
    );
    let plain_http = run(
        &[
            ("OKTA_ORG_URL", "http://example.okta.com"),
            ("OKTA_API_TOKEN", TOKEN),
        ],
        &["list"],
    );
    let http_hook = run(
        &[("OKTA_ORG_URL", &org), ("OKTA_API_TOKEN", TOKEN)],
        &[
            "register",
            "--url",
            "http://hooks.example.com/hooks/password-import",
        ],
    );
    // Assert
    let text = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    assert!(listed.status.success(), "{}", text(&listed));
    assert!(text(&listed).contains("No password-import hook"));
    assert!(!no_token.status.success());
    assert!(
        text(&no_token).contains("OKTA_API_TOKEN"),
        "{}",
        text(&no_token)
    );
    assert!(!wrong_token.status.success());
    assert!(
        text(&wrong_token).contains("E0000011"),
        "{}",
        text(&wrong_token)
    );
    assert!(!plain_http.status.success());
    assert!(text(&plain_http).contains("https"), "{}", text(&plain_http));
    assert!(!http_hook.status.success());
    assert!(text(&http_hook).contains("https"), "{}", text(&http_hook));
    assert!(stand.hooks().is_empty());
    for o in [&listed, &no_token, &wrong_token, &plain_http, &http_hook] {
        assert!(!text(o).contains(TOKEN), "the token never shows");
    }
}
