//! `import` checks the token and org with one call before the first user,
//! names missing profile attributes in a dry run, and ends with the failure
//! reasons and where the report is.

use std::process::Command;
use std::time::{Duration, Instant};

use passbridge::db::{DatabaseUrl, DbKind};

use crate::helpers::TestDb;
use crate::okta_standin::{standin, TOKEN};

const QUERY: &str = "SELECT login, email, first_name AS firstName, last_name AS lastName, \
    password_hash FROM people";

/// A legacy table: two complete hook users (unrecognised hash) and `partial`
/// rows lacking an email or a last name.
async fn legacy(partial: bool) -> TestDb {
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    let pool = db.pool().await;
    sqlx::query(
        "CREATE TABLE people (login TEXT PRIMARY KEY, email TEXT, first_name TEXT, last_name TEXT, password_hash TEXT)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let mut rows = vec![
        "('a@example.com', 'a@example.com', 'A', 'Ay', 'opaque-1')",
        "('b@example.com', 'b@example.com', 'B', 'Bee', 'opaque-2')",
    ];
    if partial {
        // No email, and a login that cannot stand in for one.
        rows.push("('carol', NULL, 'C', 'Cee', 'opaque-3')");
        rows.push("('d@example.com', 'd@example.com', 'D', '', 'opaque-4')");
        rows.push("('erin', '', 'E', 'Ee', 'opaque-5')");
    }
    sqlx::query(&format!(
        "INSERT INTO people (login, email, first_name, last_name, password_hash) VALUES {}",
        rows.join(", ")
    ))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    db
}

fn import(db: &TestDb, org: &str, token: &str, ledger: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_passbridge"));
    cmd.arg("import")
        .arg("--quiet")
        .env_clear()
        .env("PASSBRIDGE_LEGACY_URL", db.url.expose())
        .env("PASSBRIDGE_IMPORT_QUERY", QUERY)
        .env(
            "PASSBRIDGE_LEDGER_URL",
            DatabaseUrl::sqlite_file(ledger).expose(),
        )
        .env("OKTA_ORG_URL", org)
        .env("OKTA_API_TOKEN", token);
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_token_stops_the_import_before_any_user() {
    let db = legacy(false).await;
    let stand = standin(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db");
    let started = Instant::now();
    let out = import(&db, stand.base_url.as_str(), "00-not-the-token", &ledger)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(started.elapsed() < Duration::from_secs(5), "{stderr}");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "OKTA_API_TOKEN is not valid for {}",
            stand.base_url
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("00-not-the-token"), "{stderr}");
    let stats = stand.stats();
    assert_eq!((stats.requests, stats.unauthorized), (1, 1), "{stats:?}");
    assert_eq!(stats.users_created, 0);
    assert!(!ledger.exists(), "nothing was recorded");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_org_stops_the_import_naming_okta_org_url() {
    let db = legacy(false).await;
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db");
    // Nothing listens on port 9.
    let out = import(&db, "http://127.0.0.1:9/", TOKEN, &ledger)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot reach the Okta org at OKTA_ORG_URL=http://127.0.0.1:9/"),
        "{stderr}"
    );
    assert!(!ledger.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_names_missing_profile_fields_and_the_report() {
    let db = legacy(true).await;
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db");
    let report = dir.path().join("plan.jsonl");
    let out = import(&db, "http://127.0.0.1:9/", TOKEN, &ledger)
        .arg("--dry-run")
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("Would fail: 3"), "{stdout}");
    assert!(stdout.contains("Failures by reason (top 2):"), "{stdout}");
    assert!(
        stdout.contains("       2  missing_profile_field:email"),
        "{stdout}"
    );
    assert!(
        stdout.contains("       1  missing_profile_field:lastName"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("Report: {}", report.display())),
        "{stdout}"
    );
    let lines = std::fs::read_to_string(&report).unwrap();
    let c = lines
        .lines()
        .find(|l| l.contains(r#""login":"carol""#))
        .unwrap();
    assert!(
        c.contains(r#""state":"failed""#) && c.contains("missing_profile_field:email"),
        "{c}"
    );
    assert!(!ledger.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_run_summarises_okta_refusals_and_says_how_to_get_a_report() {
    let db = legacy(true).await;
    let stand = standin(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db");
    let out = import(&db, stand.base_url.as_str(), TOKEN, &ledger)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(stand.stats().users_created, 2);
    assert!(stdout.contains("Failures by reason"), "{stdout}");
    // The stand-in refuses the three incomplete profiles, as Okta does.
    let reasons: u64 = stdout
        .lines()
        .skip_while(|l| !l.starts_with("Failures by reason"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| l.contains("rejected"))
        .map(|l| l.split_whitespace().next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(reasons, 3, "{stdout}");
    assert!(stdout.contains("re-run with --report FILE"), "{stdout}");
}
