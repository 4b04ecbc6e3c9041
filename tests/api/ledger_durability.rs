//! The ledger never loses a VERIFIED: caller text cannot make an insert
//! fail, a ledger that refuses writes sends rows to the durable spool (then
//! replayed exactly once), neither → UNVERIFIED `ledger_unavailable`, and the
//! write-back follows only a delivered VERIFIED.

use std::time::{Duration, Instant};

use passbridge::db::{placeholders, DbKind};
use passbridge::ledger::{Ledger, Spool};
use passbridge::metrics::DependencyLabels;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::helpers::{okta_body, spawn_app_with, verdict_of, TestApp, TestDb};
use crate::on_every_db;

fn hex_sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn dependency_errors(app: &TestApp, dependency: &str) -> u64 {
    app.state
        .metrics
        .dependency_errors
        .get_or_create(&DependencyLabels {
            dependency: dependency.to_owned(),
        })
        .get()
}

/// Waits up to 10 s for `cond`.
async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// POSTs `body` with an `x-request-id`, returning the verdict.
async fn post_with_request_id(app: &TestApp, body: &serde_json::Value, request_id: &str) -> String {
    let resp = app
        .client
        .post(format!("{}/hooks/password-import", app.address))
        .header("Authorization", app.secret.expose_secret())
        .header("x-request-id", request_id)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    verdict_of(&resp.json().await.unwrap())
}

async fn oversized_and_odd_caller_fields_are_still_recorded(kind: DbKind) {
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    db.create_users_table().await;
    // A 4-byte UTF-8 login (utf8mb4 on MariaDB).
    let emoji_user = "\u{1F600}ann@example.com";
    db.insert_user(
        emoji_user,
        &hex_sha256("pw-emoji"),
        None,
        Some("hex_sha256"),
    )
    .await;
    let app = spawn_app_with(db, |_| {}).await;

    let mut body = okta_body(emoji_user, "pw-emoji");
    body["eventId"] = serde_json::Value::String("e".repeat(1000));
    let verdict = post_with_request_id(&app, &body, &"r".repeat(500)).await;
    assert_eq!(verdict, "VERIFIED");
    let calls = app.ledger().hook_calls_for(emoji_user).await.unwrap();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].verdict, "VERIFIED");
    assert_eq!(calls[0].username, emoji_user);
    assert_eq!(calls[0].event_id.as_deref(), Some("e".repeat(255).as_str()));
    assert_eq!(
        calls[0].request_id.as_deref(),
        Some("r".repeat(64).as_str())
    );

    // NUL, escapes and an over-long login: recorded too, escaped and cut.
    let odd = format!("nul\0esc\x1b[31m{}", "x".repeat(400));
    assert_eq!(app.verdict(&odd, "whatever").await, "UNVERIFIED");
    let calls = app.ledger().hook_calls_for(&odd).await.unwrap();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].reason, "unknown_user");
    assert!(calls[0].username.starts_with("nul\\u{0}esc\\u{1b}[31mxxx"));
    assert_eq!(calls[0].username.chars().count(), 320);

    // Straight into the ledger, no spool needed.
    assert_eq!(app.state.metrics.ledger_spooled.get(), 0);
    assert_eq!(app.state.spool.backlog(), 0);
    assert_eq!(dependency_errors(&app, "ledger"), 0);
}

async fn a_nul_in_the_username_is_an_unknown_user(kind: DbKind) {
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    db.create_users_table().await;
    db.insert_user(
        "nul@example.com",
        &hex_sha256("pw-nul"),
        None,
        Some("hex_sha256"),
    )
    .await;
    let app = spawn_app_with(db, |_| {}).await;
    assert_eq!(
        app.verdict("nul@example.com\0", "pw-nul").await,
        "UNVERIFIED"
    );
    assert_eq!(app.reasons("nul@example.com\0").await, vec!["unknown_user"]);
    assert_eq!(
        dependency_errors(&app, "legacy"),
        0,
        "not a database outage"
    );
    // The real login still works: the pool was not hurt.
    assert_eq!(app.verdict("nul@example.com", "pw-nul").await, "VERIFIED");
}

/// Renames `hook_calls` away (every insert fails) or back.
pub async fn toggle_hook_calls(ledger: &Ledger, away: bool) {
    let (from, to) = if away {
        ("hook_calls", "hook_calls_away")
    } else {
        ("hook_calls_away", "hook_calls")
    };
    let sql = match ledger.kind() {
        DbKind::MySql => format!("RENAME TABLE {from} TO {to}"),
        _ => format!("ALTER TABLE {from} RENAME TO {to}"),
    };
    sqlx::query(&sql).execute(ledger.pool()).await.unwrap();
}

async fn a_ledger_that_refuses_writes_spools_and_replays_exactly_once(kind: DbKind) {
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    db.create_users_table().await;
    db.insert_user(
        "down@example.com",
        &hex_sha256("pw-down"),
        None,
        Some("hex_sha256"),
    )
    .await;
    let spool_dir = db.scratch().join("spool");
    let app = spawn_app_with(db, |_| {}).await;
    toggle_hook_calls(app.ledger(), true).await;

    assert_eq!(app.verdict("down@example.com", "pw-down").await, "VERIFIED");
    assert_eq!(app.state.spool.backlog(), 1);
    assert_eq!(app.state.metrics.ledger_spooled.get(), 1);
    assert!(dependency_errors(&app, "ledger") >= 1);
    assert!(app
        .state
        .metrics
        .render()
        .contains("passbridge_ledger_spool_backlog 1"));
    let spooled: Vec<_> = std::fs::read_dir(&spool_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(spooled.len(), 1, "{spooled:?}");
    let kept = std::fs::read(&spooled[0]).unwrap();

    toggle_hook_calls(app.ledger(), false).await;
    eventually("the spool is replayed", || async {
        app.state.spool.backlog() == 0
    })
    .await;
    let calls = app
        .ledger()
        .hook_calls_for("down@example.com")
        .await
        .unwrap();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].verdict, "VERIFIED");
    assert_eq!(app.state.metrics.ledger_replayed.get(), 1);

    // A crash after the insert but before the file was removed: the entry
    // comes back, and replaying it again adds nothing.
    // (In a directory of its own, so the app's replayer does not race us.)
    let crashed_dir = spool_dir.with_file_name("crashed-spool");
    std::fs::create_dir_all(&crashed_dir).unwrap();
    std::fs::write(crashed_dir.join(spooled[0].file_name().unwrap()), &kept).unwrap();
    let again = Spool::open(crashed_dir, passbridge::metrics::Metrics::new());
    assert_eq!(again.backlog(), 1);
    assert_eq!(
        again.replay_once(app.ledger(), &app.state.legacy).await,
        passbridge::ledger::spool::Replayed::Empty
    );
    assert_eq!(again.backlog(), 0);
    let calls = app
        .ledger()
        .hook_calls_for("down@example.com")
        .await
        .unwrap();
    assert_eq!(calls.len(), 1, "replayed twice: {calls:?}");
}

/// A genuinely read-only SQLite ledger (`mode=ro`): VERIFIED goes out, the
/// row waits in the spool, and the next start with a writable ledger
/// replays it.
#[tokio::test]
async fn a_read_only_sqlite_ledger_spools_until_a_writable_start() {
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    db.create_users_table().await;
    db.insert_user(
        "ro@example.com",
        &hex_sha256("pw-ro"),
        None,
        Some("hex_sha256"),
    )
    .await;
    let ledger_path = db.scratch().join("ro-ledger.db");
    let writable = passbridge::db::DatabaseUrl::sqlite_file(&ledger_path);
    Ledger::connect(&writable)
        .await
        .unwrap()
        .pool()
        .close()
        .await;
    let read_only: passbridge::db::DatabaseUrl = writable
        .expose()
        .replace("mode=rwc", "mode=ro")
        .parse()
        .unwrap();
    let spool_dir = db.scratch().join("ro-spool");
    let spool_for_app = spool_dir.clone();
    let app = spawn_app_with(db, move |s| {
        s.ledger.url = Some(read_only);
        s.ledger.spool_dir = Some(spool_for_app);
    })
    .await;
    assert_eq!(app.verdict("ro@example.com", "pw-ro").await, "VERIFIED");
    assert_eq!(app.state.spool.backlog(), 1);

    // The next start (its own legacy database; the first app stays up and
    // keeps failing to replay into its read-only ledger).
    let next_db = TestDb::create(DbKind::Sqlite).await.unwrap();
    next_db.create_users_table().await;
    let restarted = spawn_app_with(next_db, move |s| {
        s.ledger.url = Some(writable);
        s.ledger.spool_dir = Some(spool_dir);
    })
    .await;
    eventually("the spool is replayed at start", || async {
        restarted.state.spool.backlog() == 0
    })
    .await;
    let calls = restarted
        .ledger()
        .hook_calls_for("ro@example.com")
        .await
        .unwrap();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].verdict, "VERIFIED");
}

#[tokio::test]
async fn neither_ledger_nor_spool_answers_ledger_unavailable() {
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    db.create_users_table().await;
    db.insert_user(
        "none@example.com",
        &hex_sha256("pw-none"),
        None,
        Some("hex_sha256"),
    )
    .await;
    // A spool path below a regular file: unwritable even for root.
    let blocker = db.scratch().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let spool_dir = blocker.join("spool");
    let app = spawn_app_with(db, move |s| {
        s.ledger.spool_dir = Some(spool_dir);
        s.hook.budget = Duration::from_millis(500);
    })
    .await;
    toggle_hook_calls(app.ledger(), true).await;

    let started = Instant::now();
    assert_eq!(
        app.verdict("none@example.com", "pw-none").await,
        "UNVERIFIED"
    );
    assert!(
        started.elapsed() < Duration::from_millis(550),
        "{:?}",
        started.elapsed()
    );
    let metrics = app.state.metrics.render();
    assert!(
        metrics.contains(
            r#"passbridge_hook_answers_total{verdict="UNVERIFIED",reason="ledger_unavailable"} 1"#
        ),
        "{metrics}"
    );
    assert!(dependency_errors(&app, "spool") >= 1);
    // A wrong password is still just UNVERIFIED wrong_password (not recorded, not changed).
    assert_eq!(app.verdict("none@example.com", "nope").await, "UNVERIFIED");
    assert!(app.state.metrics.render().contains(
        r#"passbridge_hook_answers_total{verdict="UNVERIFIED",reason="wrong_password"} 1"#
    ));
}

/// A SQLite legacy database whose `users` rows refuse updates while a
/// trigger is in place (a real statement failure, then recovery).
async fn block_updates(app: &TestApp, blocked: bool) {
    let pool = app.db.pool().await;
    let sql = if blocked {
        "CREATE TRIGGER users_blip BEFORE UPDATE ON users BEGIN SELECT RAISE(ABORT, 'blip'); END"
    } else {
        "DROP TRIGGER users_blip"
    };
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

#[tokio::test]
async fn write_back_never_follows_an_unverified_answer_even_a_timeout() {
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    db.create_users_table().await;
    let slow = tokio::task::spawn_blocking(|| bcrypt::hash("pw-slow", 13).unwrap())
        .await
        .unwrap();
    db.insert_user("slow@example.com", &slow, None, None).await;
    db.insert_user(
        "fast@example.com",
        &hex_sha256("pw-fast"),
        None,
        Some("hex_sha256"),
    )
    .await;
    let sql = placeholders(
        DbKind::Sqlite,
        "UPDATE users SET migrated_at = 'done' WHERE email = ?",
    );
    let app = spawn_app_with(db, |s| {
        s.legacy.write_back = Some(sql);
        s.hook.budget = Duration::from_millis(150);
    })
    .await;

    assert_eq!(app.verdict("fast@example.com", "wrong").await, "UNVERIFIED");
    // The right password, but the hash cannot fit the budget: refused before
    // hashing (`cost_too_high`) by admission control, or `timeout` once its
    // estimate has not been learned yet. UNVERIFIED either way.
    assert_eq!(
        app.verdict("slow@example.com", "pw-slow").await,
        "UNVERIFIED"
    );
    let reasons = app.reasons("slow@example.com").await;
    assert!(
        reasons == ["timeout"] || reasons == ["cost_too_high"],
        "{reasons:?}"
    );
    // Let the abandoned verification finish and the replayer run.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(app.db.migrated_at("slow@example.com").await, None);
    assert_eq!(app.db.migrated_at("fast@example.com").await, None);
    // The same statement does run after a VERIFIED (the test can fail).
    assert_eq!(app.verdict("fast@example.com", "pw-fast").await, "VERIFIED");
    eventually("write-back after VERIFIED", || async {
        app.db.migrated_at("fast@example.com").await.is_some()
    })
    .await;
    assert_eq!(app.db.migrated_at("slow@example.com").await, None);
}

#[tokio::test]
async fn write_back_is_retried_when_the_legacy_database_blips() {
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    db.create_users_table().await;
    db.insert_user(
        "blip@example.com",
        &hex_sha256("pw-blip"),
        None,
        Some("hex_sha256"),
    )
    .await;
    let sql = placeholders(
        DbKind::Sqlite,
        "UPDATE users SET migrated_at = 'done' WHERE email = ?",
    );
    let app = spawn_app_with(db, |s| s.legacy.write_back = Some(sql)).await;
    block_updates(&app, true).await;

    assert_eq!(app.verdict("blip@example.com", "pw-blip").await, "VERIFIED");
    eventually("a failed write-back attempt", || async {
        dependency_errors(&app, "write_back") >= 1
    })
    .await;
    assert_eq!(app.db.migrated_at("blip@example.com").await, None);
    assert_eq!(
        app.state.spool.backlog(),
        1,
        "the write-back waits in the queue"
    );

    block_updates(&app, false).await;
    eventually("the write-back retried", || async {
        app.db.migrated_at("blip@example.com").await.as_deref() == Some("done")
    })
    .await;
    eventually("the queue drained", || async {
        app.state.spool.backlog() == 0
    })
    .await;
    assert_eq!(app.reasons("blip@example.com").await, vec!["verified"]);
}

on_every_db! {
    oversized_fields => oversized_and_odd_caller_fields_are_still_recorded;
    nul_username => a_nul_in_the_username_is_an_unknown_user;
    ledger_refuses_writes => a_ledger_that_refuses_writes_spools_and_replays_exactly_once;
}

/// A ledger that hangs (another process holds SQLite's write lock, so the
/// insert would wait out the 5 s busy timeout): the wait is cut inside the
/// budget, the row is spooled, VERIFIED leaves in time, and the row is
/// replayed once the lock is released.
#[tokio::test]
async fn a_hanging_ledger_is_cut_off_inside_the_budget() {
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    db.create_users_table().await;
    db.insert_user(
        "hang@example.com",
        &hex_sha256("pw-hang"),
        None,
        Some("hex_sha256"),
    )
    .await;
    let budget = Duration::from_millis(1000);
    let app = spawn_app_with(db, move |s| s.hook.budget = budget).await;
    let locker = passbridge::db::connect(
        &app.state.settings.ledger_url(),
        passbridge::db::PoolSettings::default(),
    )
    .await
    .unwrap();
    let mut lock = locker.acquire().await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut *lock)
        .await
        .unwrap();

    let started = Instant::now();
    assert_eq!(app.verdict("hang@example.com", "pw-hang").await, "VERIFIED");
    let took = started.elapsed();
    assert!(
        took < budget + Duration::from_millis(50 + 100),
        "answered after {took:?}"
    );
    assert_eq!(app.state.metrics.ledger_spooled.get(), 1);

    sqlx::query("COMMIT").execute(&mut *lock).await.unwrap();
    drop(lock);
    locker.close().await;
    eventually("the spool is replayed", || async {
        app.state.spool.backlog() == 0
    })
    .await;
    let calls = app
        .ledger()
        .hook_calls_for("hang@example.com")
        .await
        .unwrap();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].verdict, "VERIFIED");
}
