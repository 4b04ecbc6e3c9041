//! The binary as an admin runs it: help, refusals that name the fix,
//! `config check`, and the README's demo command end to end.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use predicates::prelude::*;

fn passbridge() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("passbridge").unwrap();
    cmd.env_remove("PASSBRIDGE_HOOK_SECRET")
        .env_remove("PASSBRIDGE_LEGACY_URL")
        .env_remove("PASSBRIDGE_LEGACY_QUERY");
    cmd
}

#[test]
fn help_teaches_with_examples() {
    passbridge()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("serve").and(predicate::str::contains("Examples:")))
        .stdout(predicate::str::contains("PASSBRIDGE_"));
    passbridge()
        .args(["serve", "--help"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("--demo")
                .and(predicate::str::contains("PASSBRIDGE_LEGACY_URL")),
        );
}

#[test]
fn serve_without_a_secret_refuses_to_start_and_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    passbridge()
        .current_dir(dir.path())
        .args([
            "serve",
            "--legacy-url",
            "sqlite://users.db",
            "--legacy-query",
            "SELECT password_hash FROM users WHERE email = ?",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("PASSBRIDGE_HOOK_SECRET"));
    passbridge()
        .current_dir(dir.path())
        .arg("serve")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("PASSBRIDGE_LEGACY_URL"));
}

#[test]
fn config_check_redacts_secrets_and_tests_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    std::fs::write(
        dir.path().join("passbridge.toml"),
        format!(
            "[legacy]\nurl = \"sqlite://{}?mode=rwc\"\nquery = \"SELECT password_hash FROM users WHERE email = ?\"\n",
            db.display()
        ),
    )
    .unwrap();
    let secret = "config-check-secret-value-1234";
    // The table does not exist: the query check must fail and say so.
    passbridge()
        .current_dir(dir.path())
        .env("PASSBRIDGE_HOOK_SECRET", secret)
        .args(["config", "check"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("[FAIL] legacy database")
                .and(predicate::str::contains(secret).not()),
        )
        .stdout(predicate::str::contains("<redacted>"));
}

/// Reads the demo banner up to its last line; returns (address, secret).
fn read_banner(stdout: impl std::io::Read) -> (String, String, Vec<(String, String)>) {
    let mut lines = BufReader::new(stdout).lines();
    let (mut address, mut secret, mut users) = (String::new(), String::new(), Vec::new());
    let mut secret_next = false;
    let mut in_users = false;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if secret_next {
            secret = line.trim().to_owned();
            secret_next = false;
        }
        if line.starts_with("Generated hook secret") {
            secret_next = true;
        }
        if line.starts_with("Demo users") {
            in_users = true;
            continue;
        }
        if in_users {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() == 3 {
                users.push((cols[0].to_owned(), cols[1].to_owned()));
            } else {
                in_users = false;
            }
        }
        if let Some(rest) = line.strip_prefix("Health: http://") {
            address = rest.split('/').next().unwrap().to_owned();
        }
        if line.starts_with("Stop with Ctrl-C") {
            break;
        }
    }
    (address, secret, users)
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_serves_every_demo_user_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::cargo_bin("passbridge")
        .unwrap()
        .current_dir(dir.path())
        .env_remove("PASSBRIDGE_HOOK_SECRET")
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (address, secret, users) = tokio::task::spawn_blocking(move || read_banner(stdout))
        .await
        .unwrap();
    assert!(
        !address.is_empty() && secret.len() >= 32,
        "banner: {address} / secret length {}",
        secret.len()
    );
    assert!(users.len() >= 6, "{users:?}");

    let client = reqwest::Client::new();
    for (email, password) in &users {
        for (typed, expected) in [
            (password.clone(), "VERIFIED"),
            (format!("{password}x"), "UNVERIFIED"),
        ] {
            let body = crate::helpers::okta_body(email, &typed);
            let resp = client
                .post(format!("http://{address}/hooks/password-import"))
                .header("Authorization", &secret)
                .json(&body)
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let verdict = crate::helpers::verdict_of(&resp.json().await.unwrap());
            assert_eq!(verdict, expected, "{email}");
        }
    }

    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    assert!(dir.path().join("passbridge-demo/legacy.db").exists());
    assert!(dir
        .path()
        .join("passbridge-demo/passbridge-ledger.db")
        .exists());
}
