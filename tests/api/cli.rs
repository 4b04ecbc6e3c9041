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
    // An empty file is an empty SQLite database.
    std::fs::File::create(&db).unwrap();
    let secret = "config-check-secret-value-1234";
    // The table does not exist: the query check must fail and say so.
    passbridge()
        .current_dir(dir.path())
        .env("PASSBRIDGE_HOOK_SECRET", secret)
        .args(["config", "check"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("[FAIL] legacy.query: ")
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

#[test]
fn version_names_the_commit_and_the_build_date() {
    let out = passbridge().arg("--version").assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let expected = format!(
        "passbridge {} (commit {}, built {} UTC)\n",
        env!("CARGO_PKG_VERSION"),
        passbridge::build_info::COMMIT,
        passbridge::build_info::BUILD_DATE
    );
    assert_eq!(text, expected);
    let commit = passbridge::build_info::COMMIT;
    assert!(
        commit == "unknown" || commit.bytes().all(|b| b.is_ascii_hexdigit()),
        "{commit}"
    );
}

#[test]
fn completions_and_man_page_come_from_the_clap_definitions() {
    let bash = passbridge()
        .args(["completions", "bash"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let bash = String::from_utf8(bash).unwrap();
    assert!(bash.contains("serve") && bash.contains("import"), "{bash}");
    assert!(
        bash.contains("--rotate-secret"),
        "subcommand flags complete too"
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        passbridge()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("passbridge"));
    }
    passbridge().args(["completions", "tcsh"]).assert().code(2);
    passbridge().arg("man").assert().success().stdout(
        predicate::str::contains(".TH passbridge 1").and(predicate::str::contains("serve")),
    );
    let dir = tempfile::tempdir().unwrap();
    passbridge()
        .args(["man", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    for page in [
        "passbridge.1",
        "passbridge-serve.1",
        "passbridge-hook-register.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
}

/// Runs `passbridge ARGS` with stdout a pipe whose reading end is already
/// closed (`| head` that has exited): its first write fails with EPIPE.
fn run_with_closed_stdout(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    // The writing end of a pipe whose only reader (`true`) has exited.
    let mut reader = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
    let writer = reader.stdin.take().unwrap();
    assert!(reader.wait().unwrap().success());
    Command::cargo_bin("passbridge")
        .unwrap()
        .current_dir(dir)
        .env_remove("PASSBRIDGE_HOOK_SECRET")
        .env_remove("PASSBRIDGE_CONFIG")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_stdout_ends_commands_quietly() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["config", "check"][..],
        &["completions", "bash"][..],
        &["man"][..],
        &["hash", "schemes"][..],
        &["--help"][..],
    ] {
        let out = run_with_closed_stdout(args, dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(1),
            "{args:?}: {:?} {stderr}",
            out.status
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn each_cause_of_an_error_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let out = passbridge()
        .arg("--config")
        .arg(&missing)
        .args(["config", "check"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    assert_eq!(stderr.matches("missing.toml").count(), 1, "{stderr}");
    // A database that cannot be opened: sqlx's text, then its source's, would repeat.
    let out = passbridge()
        .current_dir(dir.path())
        .args([
            "hash",
            "audit",
            "--legacy-url",
            "sqlite:///nonexistent-dir/users.db",
            "--query",
            "SELECT id, password_hash FROM users",
        ])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.matches("unable to open database file").count(),
        1,
        "{stderr}"
    );
}

#[test]
fn the_error_chain_is_printed_with_each_text_once() {
    let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
    let inner = anyhow::Error::new(io).context("cannot read x.toml: no such file");
    let e = inner.context("loading settings");
    assert_eq!(
        format!("{e:#}"),
        "loading settings: cannot read x.toml: no such file: no such file",
        "the chain as anyhow prints it repeats the cause"
    );
    assert_eq!(
        passbridge::cmd::error_line(&e),
        "loading settings: cannot read x.toml: no such file"
    );
}

#[test]
fn a_bare_port_for_listen_is_refused_with_an_address_hint() {
    let hint = "use an address such as 127.0.0.1:8080 or 0.0.0.0:8080";
    passbridge()
        .args(["serve", "--listen", "8080"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(hint));
    passbridge()
        .env("PASSBRIDGE_LISTEN", "8080")
        .args(["serve"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("PASSBRIDGE_LISTEN").and(predicate::str::contains(hint)));
    passbridge()
        .args(["serve", "--listen", ":9000"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("127.0.0.1:9000 or 0.0.0.0:9000"));
}

/// Every command path, from the clap definitions (`[]` is the top level).
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, path: &mut Vec<String>, all: &mut Vec<Vec<String>>) {
        all.push(path.clone());
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            path.push(sub.get_name().to_owned());
            walk(sub, path, all);
            path.pop();
        }
    }
    let mut all = Vec::new();
    walk(&passbridge::cli::command(), &mut Vec::new(), &mut all);
    all
}

#[test]
fn help_examples_are_whole_commands_even_on_a_narrow_terminal() {
    let mut checked = 0;
    for path in command_paths() {
        let out = passbridge()
            .env("COLUMNS", "40")
            .args(&path)
            .arg("--help")
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let help = String::from_utf8(out).unwrap();
        let mut in_examples = false;
        let mut continued = false;
        for line in help.lines() {
            if matches!(line, "Examples:" | "Example:" | "Runbook:") {
                in_examples = true;
                continue;
            }
            if line.trim().is_empty() {
                in_examples = false;
                continue;
            }
            if !in_examples {
                continue;
            }
            checked += 1;
            let text = line.trim_start();
            let command = text.starts_with("passbridge ")
                || text.starts_with("export ")
                || text.contains("| passbridge ");
            assert!(
                line.chars().count() <= 80,
                "{path:?}: over 80 columns: {line}"
            );
            assert!(
                continued || command || text.starts_with('#'),
                "{path:?}: not a command, a comment or a `\\` continuation (a wrapped line?): {line}"
            );
            continued = line.ends_with('\\');
        }
    }
    assert!(checked > 30, "only {checked} example lines found");
}

#[test]
fn hash_audit_help_documents_its_exit_status() {
    passbridge()
        .args(["hash", "audit", "--help"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Exit status: 0 when every row")
                .and(predicate::str::contains("1 when some"))
                .and(predicate::str::contains("2 on errors")),
        );
}

#[test]
fn serve_logs_its_version_commit_and_build_date_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    // No legacy database: serve stops right after the start-up line.
    let out = passbridge()
        .current_dir(dir.path())
        .env("PASSBRIDGE_LOG_FORMAT", "json")
        .arg("serve")
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let starting: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["message"] == "passbridge starting")
        .collect();
    assert_eq!(starting.len(), 1, "{stderr}");
    assert!(!stderr.contains("unknown PASSBRIDGE_"), "{stderr}");
    let fields = &starting[0];
    assert_eq!(fields["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(fields["commit"], passbridge::build_info::COMMIT);
    assert_eq!(fields["build_date"], passbridge::build_info::BUILD_DATE);
}

#[test]
fn only_a_write_to_a_closed_pipe_counts_as_one() {
    use passbridge::cmd::is_broken_pipe;
    let pipe = || std::io::Error::from(std::io::ErrorKind::BrokenPipe);
    assert!(is_broken_pipe(&anyhow::Error::new(pipe())));
    assert!(is_broken_pipe(
        &anyhow::Error::new(pipe()).context("writing the report")
    ));
    // A socket's broken pipe inside another error is a failure to report.
    let wrapped = anyhow::Error::new(sqlx::Error::Io(pipe()));
    assert!(!is_broken_pipe(&wrapped));
    assert!(!is_broken_pipe(&anyhow::anyhow!("Broken pipe")));
}
