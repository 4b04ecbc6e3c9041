//! Three `serve` replicas on ONE server ledger (PostgreSQL, MariaDB): the
//! throttle, the replay window, the event-hook dedupe and the status figures
//! are shared, whichever replica a call lands on.

use passbridge::db::DbKind;
use passbridge::ledger::ConfirmationState;
use secrecy::{ExposeSecret, SecretString};

use crate::event_hook::{delivery, import_event, post};
use crate::helpers::{okta_body, random_secret, spawn_app_with, TestApp, TestDb};
use crate::throttle::{hex_sha256, reasons, send, user_verifications};

/// Wrong guesses one (row, IP) may have evaluated within the window.
const PER_ROW_IP: u32 = 3;

/// Three replicas sharing `kind`'s database as legacy store and ledger,
/// each with its own spool, all with the same event-hook secret.
async fn replicas(kind: DbKind, users: &[(&str, &str)]) -> Option<([TestApp; 3], SecretString)> {
    let db = TestDb::create(kind).await?;
    db.create_users_table().await;
    for (email, password) in users {
        db.insert_user(email, &hex_sha256(password), None, Some("hex_sha256"))
            .await;
    }
    let event_secret = random_secret();
    let tweak = |s: &mut passbridge::config::Settings| {
        s.hook.throttle.per_row_ip = Some(PER_ROW_IP);
        s.event_hook.secret = Some(event_secret.clone());
    };
    let (second, third) = (db.replica(), db.replica());
    // The first owns the database (and drops it last); the others share it.
    let one = spawn_app_with(db, tweak).await;
    let two = spawn_app_with(second, tweak).await;
    let three = spawn_app_with(third, tweak).await;
    Some(([one, two, three], event_secret))
}

/// `passbridge_hook_replays_total{outcome="ledger"}` of `app`.
fn ledger_replays(app: &TestApp) -> u64 {
    app.state
        .metrics
        .render()
        .lines()
        .find_map(|l| l.strip_prefix("passbridge_hook_replays_total{outcome=\"ledger\"} "))
        .map_or(0, |v| v.trim().parse().unwrap())
}

fn total_user_verifications(apps: &[TestApp]) -> u64 {
    apps.iter().map(user_verifications).sum()
}

async fn replicas_share_limits_replays_dedupe_and_figures(kind: DbKind) {
    let Some((apps, event_secret)) = replicas(
        kind,
        &[
            ("ann@example.com", "ann-right"),
            ("bea@example.com", "bea-right"),
            ("cid@example.com", "cid-right"),
        ],
    )
    .await
    else {
        return;
    };
    let mut calls_sent = 0_i64;

    // (a) Brute force spread round-robin over the replicas: the shared
    // per-(row, IP) limit holds across them, each guess counted once.
    for i in 0..7 {
        let body = okta_body("ann@example.com", &format!("wrong-{i}"));
        assert_eq!(send(&apps[i % 3], &body).await, "UNVERIFIED");
        calls_sent += 1;
    }
    let mut ann = reasons(&apps[0], "ann@example.com").await;
    ann.sort();
    assert_eq!(
        ann,
        [vec!["throttled"; 4], vec!["wrong_password"; 3]].concat(),
        "exactly {PER_ROW_IP} guesses evaluated over three replicas"
    );
    assert_eq!(total_user_verifications(&apps), u64::from(PER_ROW_IP));

    // (b) An UNVERIFIED from replica 1, Okta's retry (same eventId and body)
    // on replicas 2 and 3: the same answer, not hashed, not a new attempt.
    let first = okta_body("bea@example.com", "bea-wrong");
    assert_eq!(send(&apps[0], &first).await, "UNVERIFIED");
    let hashed_before = total_user_verifications(&apps);
    assert_eq!(send(&apps[1], &first).await, "UNVERIFIED");
    assert_eq!(send(&apps[2], &first).await, "UNVERIFIED");
    calls_sent += 3;
    assert_eq!(total_user_verifications(&apps), hashed_before, "no hash");
    assert_eq!((ledger_replays(&apps[1]), ledger_replays(&apps[2])), (1, 1));
    assert_eq!(
        reasons(&apps[0], "bea@example.com").await,
        ["wrong_password"; 3],
        "each retry recorded as its own row"
    );
    // Only the first used an attempt: two more fresh guesses are still
    // evaluated, the next one is throttled.
    for (i, expected) in ["wrong_password", "wrong_password", "throttled"]
        .iter()
        .enumerate()
    {
        let guess = okta_body("bea@example.com", &format!("bea-wrong-{i}"));
        assert_eq!(send(&apps[(i + 1) % 3], &guess).await, "UNVERIFIED");
        calls_sent += 1;
        let last = reasons(&apps[0], "bea@example.com").await;
        assert_eq!(last.last().map(String::as_str), Some(*expected));
    }
    // A retry of a VERIFIED is decided afresh: the password verifies again.
    let right = okta_body("cid@example.com", "cid-right");
    assert_eq!(send(&apps[0], &right).await, "VERIFIED");
    let hashed_before = user_verifications(&apps[1]);
    assert_eq!(send(&apps[1], &right).await, "VERIFIED");
    calls_sent += 2;
    assert_eq!(user_verifications(&apps[1]), hashed_before + 1);
    assert_eq!(ledger_replays(&apps[1]), 1, "a VERIFIED is not replayed");

    // (c) The same event delivered to replicas 1 and 3: applied once.
    let batch = delivery(vec![import_event(
        "evt-replicas-1",
        "2026-03-28T17:03:35.000Z",
        "ann@example.com",
        "FAILURE",
    )]);
    for app in [&apps[0], &apps[2]] {
        let resp = post(app, Some(event_secret.expose_secret()), &batch).await;
        assert_eq!(resp.status(), 200);
    }
    let confirmation = apps[1]
        .ledger()
        .okta_confirmation("ann@example.com")
        .await
        .unwrap()
        .expect("recorded");
    assert_eq!(
        (confirmation.state, confirmation.failures),
        (ConfirmationState::Failed, 1)
    );

    // (d) The status figures: the same on every replica, every call counted.
    let now = time::OffsetDateTime::now_utc();
    let mut figures = Vec::new();
    for app in &apps {
        figures.push(app.ledger().progress_at(now).await.unwrap());
    }
    assert_eq!(figures[0], figures[1]);
    assert_eq!(figures[1], figures[2]);
    let counted: i64 = figures[0].verdicts_hourly.iter().map(|h| h.calls).sum();
    assert_eq!(counted, calls_sent);
}

#[tokio::test]
#[cfg_attr(
    not(passbridge_test_pg),
    ignore = "skipped: set PASSBRIDGE_TEST_PG_URL to run against PostgreSQL"
)]
async fn three_replicas_on_one_postgres_ledger() {
    replicas_share_limits_replays_dedupe_and_figures(DbKind::Postgres).await;
}

#[tokio::test]
#[cfg_attr(
    not(passbridge_test_mysql),
    ignore = "skipped: set PASSBRIDGE_TEST_MYSQL_URL to run against MariaDB"
)]
async fn three_replicas_on_one_mariadb_ledger() {
    replicas_share_limits_replays_dedupe_and_figures(DbKind::MySql).await;
}
