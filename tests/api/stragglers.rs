//! Stragglers: the ledger's rule on every engine (hook users not verified,
//! not confirmed, not reset, older than an age), `passbridge stragglers`
//! (table, `--json`, `--limit`), `--reset-password` against the stand-in
//! (one email per straggler, none on a re-run or a dry run, interrupted runs
//! settled, 429s paced through), the stand-in's `reset_password` rules, and
//! `passbridge hook retire`.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use passbridge::db::DbKind;
use passbridge::dev_okta::{RateLimit, StandIn};
use passbridge::ledger::progress::{Stragglers, STRAGGLER_DAYS};
use passbridge::ledger::stragglers::{ResetState, Straggler, StragglerCount};
use passbridge::ledger::{rfc3339, HookCall, Ledger, Origin};
use passbridge::okta::{CreateUser, OktaClient};
use passbridge::stragglers::{self, Quiet, ResetOutcome};
use serde_json::Value;

use crate::helpers::TestDb;
use crate::okta_standin::{client, profile, register_hook, standin, TOKEN};

const DAY: Duration = Duration::from_secs(86_400);

/// `days` ago as a ledger timestamp.
fn days_ago(days: u64) -> String {
    rfc3339(time::OffsetDateTime::now_utc() - DAY * u32::try_from(days).unwrap())
}

/// An `import_users` row as `import` leaves it, imported `days` ago.
async fn seed(ledger: &Ledger, login: &str, state: &str, okta_id: &str, days: u64) {
    let sql = ledger.sql(
        "INSERT INTO import_users (login, state, path, scheme, okta_id, reason, attempts, run_id, updated_at, imported_at) \
         VALUES (?, ?, 'hook', 'phpass', ?, NULL, 1, 'run0', ?, ?)",
    );
    sqlx::query(&sql)
        .bind(login.to_owned())
        .bind(state.to_owned())
        .bind(okta_id.to_owned())
        .bind(days_ago(days))
        .bind(days_ago(days))
        .execute(ledger.pool())
        .await
        .unwrap();
}

async fn verified(ledger: &Ledger, username: &str, origin: Origin) {
    ledger
        .record_hook_call(&HookCall {
            event_id: None,
            request_id: None,
            username: username.to_owned(),
            verdict: "VERIFIED".into(),
            reason: "verified".into(),
            scheme: Some("phpass".into()),
            latency_ms: 3,
            origin,
        })
        .await
        .unwrap();
}

async fn confirmation(ledger: &Ledger, login: &str, state: &str) {
    let sql = ledger.sql(
        "INSERT INTO okta_confirmations (login, okta_id, state, source, failures, confirmed_at, updated_at) \
         VALUES (?, NULL, ?, 'event', 0, NULL, ?)",
    );
    sqlx::query(&sql)
        .bind(login.to_owned())
        .bind(state.to_owned())
        .bind(days_ago(0))
        .execute(ledger.pool())
        .await
        .unwrap();
}

async fn reset_rows(ledger: &Ledger) -> Vec<(String, String, i64)> {
    sqlx::query_as::<_, (String, String, i64)>(
        "SELECT login, state, attempts FROM straggler_resets ORDER BY login",
    )
    .fetch_all(ledger.pool())
    .await
    .unwrap()
}

/// Every case of the rule, with distinct ages (the list is oldest first):
/// six waiting users (100, 99, 98, 97, 65 and 10 days old: one seen only by
/// a `hook test` call, one whose confirmation failed, one with a pending
/// reset) and, 100 days old, one verified, one confirmed, one sent a reset
/// and one native user.
async fn seed_every_case(ledger: &Ledger) {
    seed(ledger, "old@x.io", "created_hook", "00u1", 100).await;
    seed(ledger, "test-only@x.io", "created_hook", "00u2", 99).await;
    seed(ledger, "refused@x.io", "created_hook", "00u3", 98).await;
    seed(ledger, "pending@x.io", "created_hook", "00u4", 97).await;
    seed(ledger, "sixty-five@x.io", "created_hook", "00u5", 65).await;
    seed(ledger, "young@x.io", "created_hook", "00u6", 10).await;
    seed(ledger, "verified@x.io", "created_hook", "00u7", 100).await;
    seed(ledger, "confirmed@x.io", "created_hook", "00u8", 100).await;
    seed(ledger, "native@x.io", "created_native", "00u9", 100).await;
    seed(ledger, "sent@x.io", "created_hook", "00ua", 100).await;
    // Okta's sign-in (username as typed, matched lower-cased) counts; a
    // `hook test` call and a FAILURE confirmation do not.
    verified(ledger, "Verified@X.io", Origin::Okta).await;
    verified(ledger, "test-only@x.io", Origin::Test).await;
    confirmation(ledger, "confirmed@x.io", "confirmed").await;
    confirmation(ledger, "refused@x.io", "failed").await;
    ledger
        .reset_begin("r1", "pending@x.io", "00u4")
        .await
        .unwrap();
    ledger.reset_begin("r1", "sent@x.io", "00ua").await.unwrap();
    ledger
        .reset_finish("sent@x.io", ResetState::Sent, None)
        .await
        .unwrap();
}

/// Every case of the rule, with distinct ages (the list is oldest first).
async fn the_rule(kind: DbKind) {
    // Arrange
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    let ledger = Ledger::connect(&db.url).await.unwrap();
    seed_every_case(&ledger).await;
    // Act
    let sixty = ledger.stragglers(DAY * 60, None).await.unwrap();
    let first_two = ledger.stragglers(DAY * 60, Some(2)).await.unwrap();
    let again = ledger
        .stragglers_with_sent_resets(DAY * 60, None)
        .await
        .unwrap();
    let counts = ledger.straggler_counts(&[7, 30, 60, 90]).await.unwrap();
    let waiting = ledger.waiting_count().await.unwrap();
    // Assert
    let logins = |l: &[Straggler]| l.iter().map(|s| s.login.clone()).collect::<Vec<_>>();
    assert_eq!(
        logins(&sixty),
        [
            "old@x.io",
            "test-only@x.io",
            "refused@x.io",
            "pending@x.io",
            "sixty-five@x.io"
        ],
        "{kind:?}"
    );
    assert_eq!(logins(&first_two), ["old@x.io", "test-only@x.io"]);
    assert_eq!(sixty[0].okta_id.as_deref(), Some("00u1"));
    assert_eq!(sixty[0].scheme.as_deref(), Some("phpass"));
    assert_eq!(sixty[0].reset, None);
    assert_eq!(sixty[3].reset, Some(ResetState::Pending));
    let age = sixty[0].age(time::OffsetDateTime::now_utc());
    assert!(age >= DAY * 100 && age < DAY * 101, "{age:?}");
    assert_eq!(again.len(), 6, "--again adds the sent user");
    assert!(again
        .iter()
        .any(|s| s.login == "sent@x.io" && s.reset == Some(ResetState::Sent)));
    assert_eq!(
        counts,
        [(7, 6), (30, 5), (60, 5), (90, 4)].map(|(days, count)| StragglerCount { days, count })
    );
    assert_eq!(waiting, 6);
    assert!(ledger.straggler_counts(&[]).await.unwrap().is_empty());
}

/// Marking twice counts attempts; finishing records the state; counts by state.
async fn reset_records(kind: DbKind) {
    // Arrange
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    let ledger = Ledger::connect(&db.url).await.unwrap();
    // Act
    ledger.reset_begin("r1", "a@x.io", "00u1").await.unwrap();
    ledger
        .reset_finish("a@x.io", ResetState::Failed, Some(&"x".repeat(2_000)))
        .await
        .unwrap();
    ledger.reset_begin("r2", "a@x.io", "00u1").await.unwrap();
    ledger
        .reset_finish("a@x.io", ResetState::Sent, None)
        .await
        .unwrap();
    ledger.reset_begin("r2", "b@x.io", "00u2").await.unwrap();
    // Assert
    assert_eq!(
        reset_rows(&ledger).await,
        [
            ("a@x.io".to_owned(), "sent".to_owned(), 2),
            ("b@x.io".to_owned(), "pending".to_owned(), 1)
        ]
    );
    let counts = ledger.reset_counts().await.unwrap();
    assert_eq!(
        (counts[&ResetState::Sent], counts[&ResetState::Pending]),
        (1, 1)
    );
    assert!(!counts.contains_key(&ResetState::Failed));
}

/// `status` (`Progress`) and `stragglers`/`hook retire` read one rule: the
/// straggler counts per age and `waiting` agree in every case, and the
/// burn-down walks back over the users who settled today (verified or sent
/// a reset), not only the verified ones.
async fn progress_agrees_with_the_rule(kind: DbKind) {
    // Arrange
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    let ledger = Ledger::connect(&db.url).await.unwrap();
    seed_every_case(&ledger).await;
    seed(&ledger, "fresh@x.io", "created_hook", "00ub", 2).await;
    let days = STRAGGLER_DAYS.map(|d| u32::try_from(d).unwrap());
    // Act
    let progress = ledger.progress().await.unwrap();
    let counts = ledger.straggler_counts(&days).await.unwrap();
    let waiting = ledger.waiting_count().await.unwrap();
    // Assert
    let t = &progress.totals;
    let by_age = |s: &[Stragglers]| {
        s.iter()
            .map(|s| (s.older_than_days, s.users))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        by_age(&t.stragglers),
        counts
            .iter()
            .map(|c| (i64::from(c.days), c.count))
            .collect::<Vec<_>>(),
        "{kind:?}"
    );
    assert_eq!(by_age(&t.stragglers), [(7, 6), (30, 5), (60, 5), (90, 4)]);
    assert_eq!((t.hook.waiting, waiting), (7, 7), "{kind:?}: {:?}", t.hook);
    assert_eq!(
        (t.hook.verified, t.hook.confirmed, t.hook.reset_sent),
        (1, 1, 1)
    );
    let phpass = progress
        .by_scheme
        .iter()
        .find(|g| g.scheme.as_deref() == Some("phpass"))
        .unwrap();
    assert_eq!(phpass.figures.hook, t.hook, "one scheme holds every user");
    let daily = &progress.daily;
    assert_eq!(daily.last().map(|d| d.remaining), Some(7));
    assert_eq!(
        daily[daily.len() - 2].remaining,
        7 + 2,
        "verified@ and sent@ settled today: {daily:?}"
    );
    let json = serde_json::to_value(&progress).unwrap();
    assert_eq!(json["hook"]["reset_sent"], 1, "{json}");
}

crate::on_every_db! {
    straggler_rule => the_rule;
    straggler_progress_agrees => progress_agrees_with_the_rule;
    straggler_reset_records => reset_records;
}

// --- the command and the stand-in ------------------------------------------

/// A SQLite ledger in a temp dir, and its URL.
async fn sqlite_ledger(dir: &Path) -> (Ledger, String) {
    let url = format!("sqlite://{}", dir.join("ledger.db").display());
    let ledger = Ledger::connect(&url.parse().unwrap()).await.unwrap();
    (ledger, url)
}

/// Creates `login` in the stand-in with the hook flag and records it in the
/// ledger as imported `days` ago; returns its Okta id.
async fn hook_user(okta: &OktaClient, ledger: &Ledger, login: &str, days: u64) -> String {
    let user = okta
        .create_user(&CreateUser::with_hook(profile(login)), true)
        .await
        .unwrap();
    seed(ledger, login, "created_hook", &user.id, days).await;
    user.id
}

/// Runs the binary in `dir` with the ledger and the org configured.
fn passbridge(dir: &Path, ledger_url: &str, stand: &StandIn, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_passbridge"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PASSBRIDGE_LEDGER_URL", ledger_url)
        .env(
            "PASSBRIDGE_LEGACY_QUERY",
            "SELECT password_hash, salt FROM users WHERE email = ?",
        )
        .env("OKTA_ORG_URL", stand.base_url.as_str())
        .env("OKTA_API_TOKEN", TOKEN)
        .env("PASSBRIDGE_LOG", "warn")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Emails sent to `id` so far.
fn emails_to(stand: &StandIn, id: &str) -> usize {
    stand.emails().iter().filter(|e| e.user_id == id).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn stragglers_are_listed_as_a_table_and_as_json() {
    // Arrange: users of different ages, one verified at a sign-in.
    let dir = tempfile::tempdir().unwrap();
    let (ledger, url) = sqlite_ledger(dir.path()).await;
    let stand = standin(|_| {}).await;
    seed(&ledger, "ninety@x.io", "created_hook", "00u90", 90).await;
    seed(&ledger, "seventy@x.io", "created_hook", "00u70", 70).await;
    seed(&ledger, "thirty@x.io", "created_hook", "00u30", 30).await;
    seed(&ledger, "signed-in@x.io", "created_hook", "00u99", 95).await;
    verified(&ledger, "signed-in@x.io", Origin::Okta).await;
    // Act
    let table = passbridge(
        dir.path(),
        &url,
        &stand,
        &["stragglers", "--older-than", "60d"],
    );
    let json = passbridge(
        dir.path(),
        &url,
        &stand,
        &["stragglers", "--older-than", "60d", "--json"],
    );
    let limited = passbridge(
        dir.path(),
        &url,
        &stand,
        &[
            "stragglers",
            "--older-than",
            "12h",
            "--json",
            "--limit",
            "1",
        ],
    );
    let bad_age = passbridge(
        dir.path(),
        &url,
        &stand,
        &["stragglers", "--older-than", "60"],
    );
    // Assert
    let text = stdout(&table);
    assert!(table.status.success(), "{text}");
    assert!(
        text.contains("ninety@x.io") && text.contains("seventy@x.io"),
        "{text}"
    );
    assert!(
        !text.contains("thirty@x.io") && !text.contains("signed-in"),
        "{text}"
    );
    assert!(text.contains("   90d") && text.contains("phpass"), "{text}");
    assert!(
        text.contains("2 stragglers imported more than 60d ago"),
        "{text}"
    );
    let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["count"], 2);
    assert_eq!(doc["older_than"], "60d");
    assert_eq!(doc["older_than_seconds"], 60 * 86_400);
    let first = &doc["stragglers"][0];
    assert_eq!(first["login"], "ninety@x.io");
    assert_eq!(first["okta_id"], "00u90");
    assert_eq!(first["age_days"], 90);
    assert_eq!(first["scheme"], "phpass");
    assert_eq!(first["reset"], Value::Null);
    assert!(first["imported_at"].as_str().unwrap().ends_with('Z'));
    let doc: Value = serde_json::from_slice(&limited.stdout).unwrap();
    assert_eq!(doc["count"], 1, "--limit");
    assert_eq!(doc["stragglers"][0]["login"], "ninety@x.io");
    assert_eq!(bad_age.status.code(), Some(2), "an age needs a unit");
    assert_eq!(stand.stats().requests, 0, "listing never calls Okta");
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_password_emails_each_straggler_once_and_a_rerun_nobody() {
    // Arrange: three stragglers and a user imported yesterday, in the
    // stand-in and the ledger.
    let dir = tempfile::tempdir().unwrap();
    let (ledger, url) = sqlite_ledger(dir.path()).await;
    let stand = standin(|_| {}).await;
    let okta = client(&stand);
    let mut old = Vec::new();
    for (i, days) in [90, 80, 70].into_iter().enumerate() {
        old.push(hook_user(&okta, &ledger, &format!("old{i}@x.io"), days).await);
    }
    let young = hook_user(&okta, &ledger, "young@x.io", 1).await;
    let requests_before = stand.stats().requests;
    let reset = |extra: &[&str]| {
        let mut args = vec!["stragglers", "--older-than", "60d", "--reset-password"];
        args.extend_from_slice(extra);
        passbridge(dir.path(), &url, &stand, &args)
    };
    // Act + Assert: the dry run says what it would do and does nothing.
    let dry = reset(&["--dry-run"]);
    assert!(dry.status.success(), "{}", stdout(&dry));
    assert!(
        stdout(&dry).contains("would send Okta's reset-password email to 3 users"),
        "{}",
        stdout(&dry)
    );
    assert!(stand.emails().is_empty());
    assert_eq!(
        stand.stats().requests,
        requests_before,
        "the dry run calls nothing"
    );
    assert!(
        reset_rows(&ledger).await.is_empty(),
        "the dry run writes nothing"
    );
    // --limit 1: the oldest only.
    let first = reset(&["--limit", "1"]);
    assert!(first.status.success(), "{}", stdout(&first));
    assert_eq!(stand.emails().len(), 1);
    assert_eq!(emails_to(&stand, &old[0]), 1);
    // The rest.
    let rest = reset(&[]);
    assert!(rest.status.success(), "{}", stdout(&rest));
    assert!(stdout(&rest).contains("2 emails sent"), "{}", stdout(&rest));
    for id in &old {
        assert_eq!(emails_to(&stand, id), 1, "one email each");
        assert_eq!(stand.user(id).unwrap().status, "RECOVERY");
    }
    assert_eq!(emails_to(&stand, &young), 0, "not a straggler");
    // A re-run finds nobody and sends nothing.
    let rerun = reset(&[]);
    assert!(rerun.status.success());
    assert!(
        stdout(&rerun).contains("0 emails sent"),
        "{}",
        stdout(&rerun)
    );
    assert_eq!(stand.emails().len(), 3);
    assert!(reset_rows(&ledger)
        .await
        .iter()
        .all(|(_, state, attempts)| state == "sent" && *attempts == 1));
    // Reset users are handled: the counts and the listing leave them out.
    assert_eq!(ledger.waiting_count().await.unwrap(), 1);
    // --again sends once more, on purpose.
    let again = reset(&["--again"]);
    assert!(again.status.success(), "{}", stdout(&again));
    assert_eq!(stand.emails().len(), 6);
}

#[tokio::test]
async fn an_interrupted_run_is_settled_from_okta_without_a_second_email() {
    // Arrange: a run killed after marking two users pending; Okta had
    // already reset the first (the call went out), not the second.
    let dir = tempfile::tempdir().unwrap();
    let (ledger, _) = sqlite_ledger(dir.path()).await;
    let stand = standin(|_| {}).await;
    let okta = client(&stand);
    let done = hook_user(&okta, &ledger, "done@x.io", 90).await;
    let not_yet = hook_user(&okta, &ledger, "not-yet@x.io", 80).await;
    ledger
        .reset_begin("killed", "done@x.io", &done)
        .await
        .unwrap();
    okta.send_reset_password_email(&done).await.unwrap();
    ledger
        .reset_begin("killed", "not-yet@x.io", &not_yet)
        .await
        .unwrap();
    let list = ledger.stragglers(DAY * 60, None).await.unwrap();
    // Act
    let summary = stragglers::reset(&ledger, &okta, &list, "resume", &Quiet)
        .await
        .unwrap();
    // Assert
    assert_eq!((summary.sent, summary.already_reset), (1, 1), "{summary:?}");
    assert_eq!(emails_to(&stand, &done), 1, "never twice");
    assert_eq!(emails_to(&stand, &not_yet), 1, "not lost");
    assert!(reset_rows(&ledger)
        .await
        .iter()
        .all(|(_, state, _)| state == "sent"));
}

#[tokio::test]
async fn a_429_burst_is_paced_through_and_refusals_are_recorded() {
    // Arrange: a tight budget, already spent by someone else when the run
    // starts; one straggler Okta no longer knows and one it refuses (STAGED).
    let dir = tempfile::tempdir().unwrap();
    let (ledger, _) = sqlite_ledger(dir.path()).await;
    let stand = standin(|_| {}).await;
    let okta = client(&stand);
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(hook_user(&okta, &ledger, &format!("u{i}@x.io"), 90 - i).await);
    }
    let staged = okta
        .create_user(&CreateUser::with_hook(profile("staged@x.io")), false)
        .await
        .unwrap();
    seed(&ledger, "staged@x.io", "created_hook", &staged.id, 50 + 20).await;
    seed(&ledger, "gone@x.io", "created_hook", "00ugone", 65).await;
    stand.set_rate_limit(Some(RateLimit {
        budget: 2,
        window: Duration::from_secs(1),
    }));
    let http = reqwest::Client::new();
    for _ in 0..2 {
        http.post(
            stand
                .base_url
                .join("api/v1/users/00unobody/lifecycle/reset_password?sendEmail=true")
                .unwrap(),
        )
        .header("Authorization", format!("SSWS {TOKEN}"))
        .send()
        .await
        .unwrap();
    }
    let list = ledger.stragglers(DAY * 60, None).await.unwrap();
    // Act
    let summary = stragglers::reset(&ledger, &okta, &list, "run", &Quiet)
        .await
        .unwrap();
    // Assert: every reachable straggler got exactly one email despite the 429s.
    assert_eq!((summary.sent, summary.failed), (4, 2), "{summary:?}");
    for id in &ids {
        assert_eq!(emails_to(&stand, id), 1);
    }
    assert!(stand.stats().rate_limited >= 1, "{:?}", stand.stats());
    assert!(summary.okta.rate_limited >= 1, "{summary:?}");
    let rows = reset_rows(&ledger).await;
    let state_of = |login: &str| rows.iter().find(|r| r.0 == login).unwrap().1.clone();
    assert_eq!(state_of("staged@x.io"), "failed");
    assert_eq!(state_of("gone@x.io"), "failed");
    let outcome = serde_json::to_value(ResetOutcome::AlreadyReset).unwrap();
    assert_eq!(outcome, "already_reset");
}

#[tokio::test]
async fn the_stand_in_resets_passwords_as_okta_does() {
    // Arrange
    let stand = standin(|_| {}).await;
    let okta = client(&stand);
    let active = okta
        .create_user(&CreateUser::with_hook(profile("a@x.io")), true)
        .await
        .unwrap();
    let staged = okta
        .create_user(&CreateUser::with_hook(profile("s@x.io")), false)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let call = |id: &str, query: &str, token: &str| {
        http.post(
            stand
                .base_url
                .join(&format!(
                    "api/v1/users/{id}/lifecycle/reset_password{query}"
                ))
                .unwrap(),
        )
        .header("Authorization", format!("SSWS {token}"))
        .send()
    };
    // Act
    let unknown = call("00unknown", "?sendEmail=true", TOKEN).await.unwrap();
    let no_flag = call(&active.id, "", TOKEN).await.unwrap();
    let bad_flag = call(&active.id, "?sendEmail=yes", TOKEN).await.unwrap();
    let wrong_state = call(&staged.id, "?sendEmail=true", TOKEN).await.unwrap();
    let no_token = call(&active.id, "?sendEmail=true", "wrong").await.unwrap();
    let link = call(&active.id, "?sendEmail=false", TOKEN).await.unwrap();
    let emails_before = stand.emails().len();
    let email = call(&active.id, "?sendEmail=true", TOKEN).await.unwrap();
    // Assert
    let code = |v: &Value| v["errorCode"].as_str().unwrap_or_default().to_owned();
    assert_eq!(unknown.status(), 404);
    assert_eq!(code(&unknown.json().await.unwrap()), "E0000007");
    assert_eq!(no_flag.status(), 400);
    assert_eq!(code(&no_flag.json().await.unwrap()), "E0000001");
    assert_eq!(bad_flag.status(), 400);
    assert_eq!(wrong_state.status(), 403);
    assert_eq!(code(&wrong_state.json().await.unwrap()), "E0000038");
    assert_eq!(no_token.status(), 401);
    assert!(link.headers().contains_key("x-rate-limit-remaining"));
    let link: Value = link.json().await.unwrap();
    assert!(link["resetPasswordUrl"].as_str().is_some(), "{link}");
    assert_eq!(emails_before, 0, "sendEmail=false mails nothing");
    assert_eq!(email.status(), 200);
    let emails = stand.emails();
    assert_eq!(emails.len(), 1);
    assert_eq!(
        (emails[0].user_id.as_str(), emails[0].to.as_str()),
        (active.id.as_str(), "a@x.io")
    );
    assert_eq!(stand.user(&active.id).unwrap().status, "RECOVERY");
    assert_eq!(stand.user(&staged.id).unwrap().status, "STAGED");
    let listed: Value = http
        .get(stand.base_url.join("__dev/emails").unwrap())
        .header("Authorization", format!("SSWS {TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["kind"], "reset_password");
}

#[tokio::test(flavor = "multi_thread")]
async fn hook_retire_refuses_while_users_wait_then_forces_and_deletes() {
    // Arrange: an org with the hook, one user still waiting.
    let dir = tempfile::tempdir().unwrap();
    let (ledger, url) = sqlite_ledger(dir.path()).await;
    let stand = standin(|_| {}).await;
    let okta = client(&stand);
    let hook_id = register_hook(&okta, "http://127.0.0.1:9/hooks/password-import").await;
    let waiting = hook_user(&okta, &ledger, "w@x.io", 3).await;
    seed(&ledger, "n@x.io", "created_native", "00unative", 3).await;
    let is_active = |stand: &StandIn| {
        stand
            .hooks()
            .iter()
            .find(|h| h.id == hook_id)
            .map(|h| h.is_active())
    };
    // Act + Assert: refused, the hook untouched.
    let refused = passbridge(dir.path(), &url, &stand, &["hook", "retire"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("1 users created with the hook flag are still waiting"),
        "{stderr}"
    );
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(is_active(&stand), Some(true));
    // --force deactivates and says what the legacy store no longer needs.
    let forced = passbridge(dir.path(), &url, &stand, &["hook", "retire", "--force"]);
    let text = stdout(&forced);
    assert!(forced.status.success(), "{text}");
    assert_eq!(is_active(&stand), Some(false), "inactive in the org");
    assert!(
        text.contains(&format!("Deactivated the password-import hook {hook_id}")),
        "{text}"
    );
    assert!(
        text.contains("2 users are in Okta (1 imported with their hash, 1 through the hook)"),
        "{text}"
    );
    assert!(
        text.contains("legacy table users: the columns the hook read, password_hash, salt"),
        "{text}"
    );
    assert!(
        text.contains("PASSBRIDGE_HOOK_SECRET") && text.contains("PASSBRIDGE_LEGACY_URL"),
        "{text}"
    );
    assert!(
        !text.contains("hook-secret") && !text.contains(TOKEN),
        "no secret printed"
    );
    // Once the waiting user is reset, --delete needs no --force.
    ledger.reset_begin("r", "w@x.io", &waiting).await.unwrap();
    ledger
        .reset_finish("w@x.io", ResetState::Sent, None)
        .await
        .unwrap();
    let deleted = passbridge(dir.path(), &url, &stand, &["hook", "retire", "--delete"]);
    assert!(deleted.status.success(), "{}", stdout(&deleted));
    assert!(stdout(&deleted).contains(&format!("Deleted the password-import hook {hook_id}")));
    assert_eq!(is_active(&stand), None, "gone from the org");
}

#[tokio::test]
async fn a_reset_whose_answer_is_lost_is_never_sent_twice() {
    // Arrange: Okta does the work, then a proxy answers 504 (to the reset and
    // to the read-back alike); and a straggler the ledger has no Okta id for.
    let dir = tempfile::tempdir().unwrap();
    let (ledger, _) = sqlite_ledger(dir.path()).await;
    let stand = standin(|_| {}).await;
    let okta = client(&stand);
    let id = hook_user(&okta, &ledger, "lost@x.io", 90).await;
    sqlx::query(
        "INSERT INTO import_users (login, state, path, attempts, run_id, updated_at, imported_at) \
         VALUES ('no-id@x.io', 'created_hook', 'hook', 1, 'run0', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
    )
    .execute(ledger.pool())
    .await
    .unwrap();
    stand.set_faults(passbridge::dev_okta::Faults {
        error_after_rate: 1.0,
        ..Default::default()
    });
    let list = ledger.stragglers(DAY * 60, None).await.unwrap();
    // Act: the first run cannot learn the outcome; the second, with Okta
    // answering again, settles it.
    let first = stragglers::reset(&ledger, &okta, &list, "run1", &Quiet)
        .await
        .unwrap();
    let left = reset_rows(&ledger).await;
    stand.set_faults(passbridge::dev_okta::Faults::default());
    let list = ledger.stragglers(DAY * 60, None).await.unwrap();
    let second = stragglers::reset(&ledger, &okta, &list, "run2", &Quiet)
        .await
        .unwrap();
    // Assert
    assert_eq!((first.failed, first.no_okta_id), (1, 1), "{first:?}");
    assert_eq!(left, [("lost@x.io".to_owned(), "pending".to_owned(), 1)]);
    assert_eq!(second.already_reset, 1, "{second:?}");
    assert_eq!(
        emails_to(&stand, &id),
        1,
        "one email, whatever the proxy said"
    );
    assert_eq!(
        reset_rows(&ledger).await,
        [("lost@x.io".to_owned(), "sent".to_owned(), 1)]
    );
}
