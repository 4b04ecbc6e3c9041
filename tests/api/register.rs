//! `passbridge hook register/list/activate/deactivate/delete/test` against
//! the stand-in Okta, with the real hook service behind it; the
//! one-password-import-hook-per-org rule; secrets never echoed unless
//! generated; the token only from the environment.

use std::io::Cursor;
use std::process::ExitCode;

use passbridge::cmd::hook::{execute, ConfiguredSecrets, HookCommand, HookContext, OrgArgs};
use passbridge::db::DbKind;
use secrecy::ExposeSecret;

use crate::helpers::{hook_register, run_hook_with_input, spawn_app};
use crate::okta_standin::{client, standin, HookMode, TestHook, TOKEN};

/// The value of the `export PASSBRIDGE_HOOK_SECRET=…` line the admin is told to run.
fn exported_secret(out: &str) -> String {
    out.lines()
        .find_map(|l| l.trim().strip_prefix("export PASSBRIDGE_HOOK_SECRET="))
        .unwrap_or_else(|| panic!("no export line in:\n{out}"))
        .to_owned()
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
        configured: ConfiguredSecrets::default(),
        oauth: Default::default(),
        events: Default::default(),
    };
    let url = format!("{}/hooks/password-import", app.address);

    // register: uses PASSBRIDGE_HOOK_SECRET and never prints it.
    let (result, out) = run_hook_with_input(&ctx, hook_register(Some(&url), None, false), "").await;
    assert_eq!(result.unwrap(), ExitCode::SUCCESS, "{out}");
    assert!(out.contains("Registered password-import hook cal"), "{out}");
    assert!(!out.contains(app.secret.expose_secret()), "{out}");
    let hooks = stand.hooks();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].channel.config.uri, url);
    let id = hooks[0].id.clone();

    // One password-import hook per org.
    let (result, _) = run_hook_with_input(&ctx, hook_register(Some(&url), None, false), "").await;
    let err = format!("{:#}", result.unwrap_err());
    assert!(
        err.contains("already has a password-import hook") && err.contains(&id),
        "{err}"
    );
    assert_eq!(stand.hooks().len(), 1);

    // list
    let (result, listing) = run_hook_with_input(
        &ctx,
        HookCommand::List {
            json: false,
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
    let (result, out) = run_hook_with_input(&ctx, test(), "ann@example.com\nlegacy-pass\n").await;
    assert_eq!(result.unwrap(), ExitCode::SUCCESS, "{out}");
    assert!(
        out.contains("Verdict for ann@example.com: VERIFIED"),
        "{out}"
    );
    assert!(out.contains("round trip"), "{out}");
    assert!(!out.contains("legacy-pass"), "the password is never echoed");
    let (result, out) = run_hook_with_input(&ctx, test(), "ann@example.com\nwrong-pass\n").await;
    assert_eq!(result.unwrap(), ExitCode::from(1), "{out}");
    assert!(out.contains("UNVERIFIED"), "{out}");
    let (result, _) = run_hook_with_input(&ctx, test(), "ann@example.com\n").await;
    assert!(result.is_err(), "a missing password line is an error");

    // deactivate: execution is refused; activate again.
    let (result, out) = run_hook_with_input(
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
    let (result, _) = run_hook_with_input(&ctx, test(), "ann@example.com\nlegacy-pass\n").await;
    assert!(result.is_err());
    let (result, out) = run_hook_with_input(
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
    let (result, out) =
        run_hook_with_input(&ctx, hook_register(Some(&moved), None, true), "").await;
    assert_eq!(result.unwrap(), ExitCode::SUCCESS, "{out}");
    let hooks = stand.hooks();
    assert_eq!((hooks.len(), hooks[0].id.as_str()), (1, id.as_str()));
    assert_eq!(hooks[0].channel.config.uri, moved);

    // delete deactivates first (Okta deletes only INACTIVE hooks).
    let (result, out) = run_hook_with_input(
        &ctx,
        HookCommand::Delete {
            id: id.clone(),
            yes: true,
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
    let (_, listing) = run_hook_with_input(
        &ctx,
        HookCommand::List {
            json: false,
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
        configured: ConfiguredSecrets::default(),
        oauth: Default::default(),
        events: Default::default(),
    };
    // Act
    let (result, out) =
        run_hook_with_input(&ctx, hook_register(Some(&target.url), None, false), "").await;
    assert_eq!(result.unwrap(), ExitCode::SUCCESS, "{out}");
    let secret = exported_secret(&out);
    let id = stand.hooks()[0].id.clone();
    let (result, _) = run_hook_with_input(
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

/// Runs `passbridge hook ARGS` against the stand-in with only `env` set
/// (plus the org and token); stdin is not a terminal.
fn hook_cli(
    stand: &passbridge::dev_okta::StandIn,
    env: &[(&str, &str)],
    args: &[&str],
) -> std::process::Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_passbridge"));
    c.arg("hook")
        .args(args)
        .env_clear()
        .env("OKTA_ORG_URL", stand.base_url.as_str())
        .env("OKTA_API_TOKEN", TOKEN)
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Has Okta call the hook once; returns the auth header value it sent.
async fn secret_okta_sends(stand: &passbridge::dev_okta::StandIn, target: &TestHook) -> String {
    let ctx = HookContext {
        client: client(stand),
        secret: None,
        header: "Authorization".into(),
        configured: ConfiguredSecrets::default(),
        oauth: Default::default(),
        events: Default::default(),
    };
    let id = stand.hooks()[0].id.clone();
    let (result, out) = run_hook_with_input(
        &ctx,
        HookCommand::Test {
            id,
            org: OrgArgs::default(),
        },
        "u@example.com\npw\n",
    )
    .await;
    assert_eq!(result.unwrap(), ExitCode::SUCCESS, "{out}");
    let received = target.received.lock().unwrap();
    received.last().unwrap().headers["authorization"]
        .to_str()
        .unwrap()
        .to_owned()
}

// Multi-threaded: the stand-in must answer while this thread waits for the child.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_uses_the_secret_serve_uses_replace_keeps_it_and_rotation_has_no_gap() {
    // Arrange
    let target = TestHook::start(HookMode::Password("pw".into())).await;
    let stand = standin(|_| {}).await;
    let old = "the-secret-serve-runs-with-0123456789";
    let moved = format!("{}?v=2", target.url);

    // register with the secret serve has: Okta gets it, it is never printed.
    let first = hook_cli(
        &stand,
        &[("PASSBRIDGE_HOOK_SECRET", old)],
        &["register", "--url", &target.url],
    );
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(!stdout(&first).contains(old), "{}", stdout(&first));
    assert!(!stdout(&first).contains("export PASSBRIDGE_HOOK_SECRET"));
    assert_eq!(secret_okta_sends(&stand, &target).await, old);

    // --replace without the secret: refused, Okta untouched.
    let refused = hook_cli(&stand, &[], &["register", "--replace", "--url", &moved]);
    assert_eq!(refused.status.code(), Some(2), "{}", stdout(&refused));
    assert!(
        stderr(&refused).contains("PASSBRIDGE_HOOK_SECRET")
            && stderr(&refused).contains("--rotate-secret"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(stand.hooks()[0].channel.config.uri, target.url);

    // --replace keeps the configured secret.
    let replaced = hook_cli(
        &stand,
        &[("PASSBRIDGE_HOOK_SECRET", old)],
        &["register", "--replace", "--url", &moved],
    );
    assert!(replaced.status.success(), "{}", stderr(&replaced));
    assert_eq!(stand.hooks()[0].channel.config.uri, moved);
    assert_eq!(secret_okta_sends(&stand, &target).await, old);

    // --rotate-secret: a new secret as new,old; Okta keeps the old one meanwhile.
    let rotation = hook_cli(
        &stand,
        &[("PASSBRIDGE_HOOK_SECRET", old)],
        &["register", "--replace", "--rotate-secret", "--url", &moved],
    );
    assert!(rotation.status.success(), "{}", stderr(&rotation));
    let line = exported_secret(&stdout(&rotation));
    let new = line
        .strip_prefix('"')
        .and_then(|l| l.strip_suffix(",$PASSBRIDGE_HOOK_SECRET\""))
        .unwrap_or_else(|| panic!("\"new,$PASSBRIDGE_HOOK_SECRET\": {line}"))
        .to_owned();
    assert!(new.len() >= 40 && new != old, "{new}");
    assert_eq!(stdout(&rotation).matches(&new).count(), 1, "printed once");
    assert!(
        !stdout(&rotation).contains(old),
        "the current secret is not printed"
    );
    assert_eq!(secret_okta_sends(&stand, &target).await, old, "no gap");
    // What the shell makes of that line.
    let both = format!("{new},{old}");

    // A second rotation before the first is finished is refused.
    let again = hook_cli(
        &stand,
        &[("PASSBRIDGE_HOOK_SECRET", &both)],
        &["register", "--replace", "--rotate-secret", "--url", &moved],
    );
    assert_eq!(again.status.code(), Some(2), "{}", stdout(&again));
    assert!(
        stderr(&again).contains("rotation is under way"),
        "{}",
        stderr(&again)
    );

    // serve now accepts both; --replace with that value switches Okta to the new one.
    let switched = hook_cli(
        &stand,
        &[("PASSBRIDGE_HOOK_SECRET", &both)],
        &["register", "--replace", "--url", &moved],
    );
    assert!(switched.status.success(), "{}", stderr(&switched));
    assert_eq!(secret_okta_sends(&stand, &target).await, new);
    assert_eq!(stand.hooks().len(), 1);

    // --rotate-secret alone is a usage error.
    let alone = hook_cli(
        &stand,
        &[("PASSBRIDGE_HOOK_SECRET", old)],
        &["register", "--rotate-secret", "--url", &moved],
    );
    assert_eq!(alone.status.code(), Some(2));
    assert!(stderr(&alone).contains("--replace"), "{}", stderr(&alone));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_secret_register_prints_the_export_line_serve_needs() {
    // Arrange
    let target = TestHook::start(HookMode::Password("pw".into())).await;
    let stand = standin(|_| {}).await;
    // Act
    let out = hook_cli(&stand, &[], &["register", "--url", &target.url]);
    // Assert
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let secret = exported_secret(&text);
    assert!(secret.len() >= 40, "{text}");
    assert_eq!(text.matches(&secret).count(), 1, "printed once: {text}");
    assert!(
        text.contains(&format!("  export PASSBRIDGE_HOOK_SECRET={secret}\n")),
        "{text}"
    );
    assert_eq!(secret_okta_sends(&stand, &target).await, secret);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_list_json_is_a_stable_array_without_the_secret() {
    // Arrange
    let target = TestHook::start(HookMode::Password("pw".into())).await;
    let stand = standin(|_| {}).await;
    let secret = "list-json-secret-0123456789abcdef";
    let env = [("PASSBRIDGE_HOOK_SECRET", secret)];
    let empty = hook_cli(&stand, &env, &["list", "--json"]);
    assert!(hook_cli(&stand, &env, &["register", "--url", &target.url])
        .status
        .success());
    // Act
    let listed = hook_cli(&stand, &env, &["list", "--json"]);
    // Assert
    assert!(empty.status.success(), "{}", stderr(&empty));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&empty.stdout).unwrap(),
        serde_json::json!([])
    );
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(!stdout(&listed).contains(secret));
    let hooks: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let id = stand.hooks()[0].id.clone();
    assert_eq!(
        hooks,
        serde_json::json!([{
            "id": id,
            "name": "passbridge password import",
            "status": "ACTIVE",
            "type": "com.okta.user.credential.password.import",
            "channel_uri": target.url,
            "auth_type": "HEADER",
            "auth_header": "Authorization",
        }])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_delete_without_a_terminal_needs_yes() {
    // Arrange
    let target = TestHook::start(HookMode::Password("pw".into())).await;
    let stand = standin(|_| {}).await;
    let env = [("PASSBRIDGE_HOOK_SECRET", "delete-test-secret-0123456789")];
    assert!(hook_cli(&stand, &env, &["register", "--url", &target.url])
        .status
        .success());
    let id = stand.hooks()[0].id.clone();
    // Act
    let refused = hook_cli(&stand, &env, &["delete", &id]);
    let hooks_after_refusal = stand.hooks().len();
    let deleted = hook_cli(&stand, &env, &["delete", &id, "--yes"]);
    // Assert
    assert_eq!(refused.status.code(), Some(2), "{}", stdout(&refused));
    assert!(stderr(&refused).contains("--yes"), "{}", stderr(&refused));
    assert_eq!(hooks_after_refusal, 1, "nothing deleted without --yes");
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    assert!(
        stdout(&deleted).contains("Deleted hook"),
        "{}",
        stdout(&deleted)
    );
    assert!(stand.hooks().is_empty());
}

#[tokio::test]
async fn hook_delete_on_a_terminal_deletes_only_after_yes() {
    // Arrange
    let target = TestHook::start(HookMode::Password("pw".into())).await;
    let stand = standin(|_| {}).await;
    let ctx = HookContext {
        client: client(&stand),
        secret: Some("terminal-delete-secret-0123456789".into()),
        header: "Authorization".into(),
        configured: ConfiguredSecrets::default(),
        oauth: Default::default(),
        events: Default::default(),
    };
    let (result, _) =
        run_hook_with_input(&ctx, hook_register(Some(&target.url), None, false), "").await;
    result.unwrap();
    let id = stand.hooks()[0].id.clone();
    let delete = || HookCommand::Delete {
        id: id.clone(),
        yes: false,
        org: OrgArgs::default(),
    };
    let on_terminal = |answer: &str| {
        let mut out = Vec::new();
        let mut input = Cursor::new(answer.as_bytes().to_vec());
        let cmd = delete();
        let ctx = &ctx;
        async move {
            let result = execute(cmd, ctx, &mut out, &mut input, true).await;
            (result, String::from_utf8(out).unwrap())
        }
    };
    // Act
    let (declined, declined_out) = on_terminal("no\n").await;
    let after_decline = stand.hooks().len();
    let (accepted, accepted_out) = on_terminal("yes\n").await;
    // Assert
    assert_eq!(declined.unwrap(), ExitCode::from(1), "{declined_out}");
    assert!(
        declined_out.contains(&id) && declined_out.contains("Type yes to delete"),
        "{declined_out}"
    );
    assert_eq!(after_decline, 1, "kept after `no`");
    assert_eq!(accepted.unwrap(), ExitCode::SUCCESS, "{accepted_out}");
    assert!(stand.hooks().is_empty(), "{accepted_out}");
}
