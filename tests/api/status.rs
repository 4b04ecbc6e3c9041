//! The migration's figures (`ledger::Progress`) on SQLite, PostgreSQL and
//! MariaDB from a ledger filled with real rows, and `passbridge status`
//! (`--json` schema and figures, the human report) on them.

use passbridge::db::DbKind;
use passbridge::ledger::progress::{HourlyVerdicts, Stragglers, STRAGGLER_DAYS};
use passbridge::ledger::{
    rfc3339, HookCall, HookCallRow, ImportResult, ImportRun, ImportState, Ledger, Origin,
    PendingImport, Progress,
};
use passbridge::okta::RateLimitSnapshot;
use time::{Duration, OffsetDateTime};

use crate::helpers::TestDb;

fn days_ago(n: i64) -> String {
    rfc3339(OffsetDateTime::now_utc() - Duration::days(n))
}

fn result(login: &str, state: ImportState, scheme: Option<&str>) -> ImportResult {
    ImportResult {
        login: login.to_owned(),
        state,
        path: match state {
            ImportState::CreatedNative => Some("native"),
            _ => Some("hook"),
        },
        scheme: scheme.map(str::to_owned),
        okta_id: state.is_created().then(|| format!("00u-{login}")),
        reason: (state == ImportState::Failed).then(|| "okta said no".to_owned()),
    }
}

async fn hook_call(
    ledger: &Ledger,
    username: &str,
    verdict: &str,
    reason: &str,
    origin: Origin,
    at: String,
) {
    let mut row = HookCallRow::new(HookCall {
        event_id: None,
        request_id: None,
        username: username.to_owned(),
        verdict: verdict.to_owned(),
        reason: reason.to_owned(),
        scheme: None,
        latency_ms: 3,
        origin,
    });
    row.created_at = at;
    ledger.insert_hook_call(&row).await.unwrap();
}

/// A migration in progress, written through the ledger's own writers:
/// one native user; six hook users (h1..h3 `md5_crypt`, imported 100, 40 and
/// 10 days ago, never verified; h4..h6 `argon2id`, imported 1, 2 and 3 days
/// ago: h4 only by a test call, h5 verified yesterday (Okta's event said
/// FAILURE), h6 verified two days ago and confirmed); one failed, one
/// pending, one skipped; an import run 4 of 10 users in, 42 of 600 requests
/// left.
pub async fn seed_migration(ledger: &Ledger) {
    ledger
        .mark_pending(
            "run-0",
            &[PendingImport {
                login: "p1@x.io".into(),
                path: "hook",
                scheme: None,
                known: false,
            }],
        )
        .await
        .unwrap();
    let md5 = Some("md5_crypt");
    let argon = Some("argon2id");
    ledger
        .record_results(
            "run-1",
            &[
                result("n1@x.io", ImportState::CreatedNative, Some("bcrypt_2b")),
                result("h1@x.io", ImportState::CreatedHook, md5),
                result("h2@x.io", ImportState::CreatedHook, md5),
                result("h3@x.io", ImportState::CreatedHook, md5),
                result("h4@x.io", ImportState::CreatedHook, argon),
                result("h5@x.io", ImportState::CreatedHook, argon),
                result("h6@x.io", ImportState::CreatedHook, argon),
                result("f1@x.io", ImportState::Failed, None),
                result("s1@x.io", ImportState::Skipped, None),
            ],
        )
        .await
        .unwrap();
    let set_imported = ledger.sql("UPDATE import_users SET imported_at = ? WHERE login = ?");
    for (login, age) in [
        ("h1", 100),
        ("h2", 40),
        ("h3", 10),
        ("h4", 1),
        ("h5", 2),
        ("h6", 3),
    ] {
        sqlx::query(&set_imported)
            .bind(days_ago(age))
            .bind(format!("{login}@x.io"))
            .execute(ledger.pool())
            .await
            .unwrap();
    }
    // The hook sees the login as typed; the import keeps it lower-cased.
    for (login, verdict, reason, origin, days) in [
        ("H5@x.io", "VERIFIED", "verified", Origin::Okta, 1),
        ("h6@x.io", "VERIFIED", "verified", Origin::Okta, 2),
        ("h6@x.io", "VERIFIED", "verified", Origin::Okta, 1),
        ("h4@x.io", "VERIFIED", "verified", Origin::Test, 0),
        ("h3@x.io", "UNVERIFIED", "wrong_password", Origin::Okta, 0),
    ] {
        hook_call(ledger, login, verdict, reason, origin, days_ago(days)).await;
    }
    let confirm = ledger.sql(
        "INSERT INTO okta_confirmations (login, okta_id, state, source, failures, confirmed_at, updated_at) \
         VALUES (?, ?, ?, 'event', ?, ?, ?)",
    );
    for (login, state, failures) in [("h6@x.io", "confirmed", 0_i64), ("h5@x.io", "failed", 1)] {
        sqlx::query(&confirm)
            .bind(login)
            .bind(format!("00u-{login}"))
            .bind(state)
            .bind(failures)
            .bind((state == "confirmed").then(|| days_ago(1)))
            .bind(days_ago(1))
            .execute(ledger.pool())
            .await
            .unwrap();
    }
    ledger
        .record_import_run(&ImportRun {
            run_id: "run-2".into(),
            started_at: rfc3339(OffsetDateTime::now_utc() - Duration::seconds(60)),
            finished: false,
            users_total: Some(10),
            users_done: 4,
            rate: Some(RateLimitSnapshot {
                limit: 600,
                remaining: 42,
                resets_in: std::time::Duration::from_secs(30),
            }),
        })
        .await
        .unwrap();
}

/// What [`seed_migration`] must add up to.
pub fn assert_seeded_figures(p: &Progress) {
    let t = &p.totals;
    let i = t.import;
    assert_eq!(
        (i.seen, i.native, i.hook, i.failed, i.pending, i.skipped),
        (10, 1, 6, 1, 1, 1),
        "{i:?}"
    );
    let h = t.hook;
    assert_eq!(
        (h.verified, h.confirmed, h.awaiting_confirmation, h.waiting),
        (2, 1, 1, 4),
        "test calls do not count: {h:?}"
    );
    let ages: Vec<(i64, i64)> = t
        .stragglers
        .iter()
        .map(|s| (s.older_than_days, s.users))
        .collect();
    assert_eq!(ages, vec![(7, 3), (30, 2), (60, 1), (90, 1)]);
    // By scheme: every group adds up to the totals, and each has its own.
    let scheme = |name: Option<&str>| {
        p.by_scheme
            .iter()
            .find(|g| g.scheme.as_deref() == name)
            .unwrap_or_else(|| panic!("no group {name:?} in {:?}", p.by_scheme))
    };
    let md5 = &scheme(Some("md5_crypt")).figures;
    assert_eq!(
        (md5.import.hook, md5.hook.verified, md5.hook.waiting),
        (3, 0, 3)
    );
    assert_eq!(
        md5.stragglers,
        STRAGGLER_DAYS
            .iter()
            .zip([3, 2, 1, 1])
            .map(|(&d, n)| Stragglers {
                older_than_days: d,
                users: n
            })
            .collect::<Vec<_>>()
    );
    let argon = &scheme(Some("argon2id")).figures;
    assert_eq!(
        (
            argon.import.hook,
            argon.hook.verified,
            argon.hook.confirmed,
            argon.hook.waiting
        ),
        (3, 2, 1, 1)
    );
    assert_eq!(scheme(Some("bcrypt_2b")).figures.import.native, 1);
    let none = &scheme(None).figures.import;
    assert_eq!((none.failed, none.pending, none.skipped), (1, 1, 1));
    assert_eq!(p.by_scheme.len(), 4);
    assert_eq!(
        p.by_scheme.last().and_then(|g| g.scheme.clone()),
        None,
        "no scheme last"
    );
    assert!(p.by_scheme.iter().all(|g| g.source == "legacy"));
    assert_eq!(p.by_source.len(), 1);
    assert_eq!(p.by_source[0].source, "legacy");
    assert_eq!(&p.by_source[0].figures, t);
    // The rate: two verified in the week, four waiting.
    assert_eq!(p.rate.verified_in_window, 2);
    assert!((p.rate.verified_per_day - 2.0 / 7.0).abs() < 1e-9);
    let eta = rfc3339(OffsetDateTime::now_utc() + Duration::days(14));
    assert_eq!(p.rate.estimated_completion.as_deref(), Some(&eta[..10]));
    // The burn-down: imports and verifications of the window, ending at "waiting".
    assert_eq!(p.daily.len(), 30);
    assert_eq!(p.daily.last().map(|d| d.remaining), Some(4));
    assert_eq!(p.daily.iter().map(|d| d.verified).sum::<i64>(), 2);
    assert_eq!(
        p.daily.iter().map(|d| d.imported_hook).sum::<i64>(),
        4,
        "h1, h2 are older"
    );
    let yesterday = &p.daily[p.daily.len() - 2];
    assert_eq!((yesterday.imported_hook, yesterday.verified), (1, 1));
    // Verdicts: Okta's calls of the last 24 hours only.
    assert_eq!(
        p.verdicts_hourly.first().map(|v| v.hour.len()),
        Some(13),
        "YYYY-MM-DDTHH"
    );
    assert_eq!(
        p.verdicts_hourly,
        vec![HourlyVerdicts {
            hour: p
                .verdicts_hourly
                .first()
                .map(|v| v.hour.clone())
                .unwrap_or_default(),
            verdict: "UNVERIFIED".into(),
            reason: "wrong_password".into(),
            calls: 1,
        }]
    );
    let run = p.rate_limit.as_ref().expect("an import run");
    assert_eq!(run.run_id, "run-2");
    assert_eq!((run.limit, run.remaining), (Some(600), Some(42)));
    assert_eq!((run.users_done, run.users_total), (4, Some(10)));
    assert!(run.finished_at.is_none() && run.eta.is_some() && run.resets_at.is_some());
}

async fn progress_adds_up(kind: DbKind) {
    // Arrange
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    let ledger = Ledger::connect(&db.url).await.unwrap();
    let empty = ledger.progress().await.unwrap();
    assert_eq!(empty.totals.import.seen, 0);
    assert!(empty.rate_limit.is_none() && empty.by_scheme.is_empty());
    seed_migration(&ledger).await;
    // Act
    let progress = ledger.progress().await.unwrap();
    // Assert
    assert_seeded_figures(&progress);
}

async fn import_run_reports_update_one_row(kind: DbKind) {
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    let ledger = Ledger::connect(&db.url).await.unwrap();
    let mut run = ImportRun {
        run_id: "r".into(),
        started_at: rfc3339(OffsetDateTime::now_utc()),
        finished: false,
        users_total: None,
        users_done: 1,
        rate: None,
    };
    ledger.record_import_run(&run).await.unwrap();
    let first = ledger.progress().await.unwrap().rate_limit.unwrap();
    assert_eq!(
        (first.limit, first.remaining, first.eta),
        (None, None, None)
    );
    run.rate = Some(RateLimitSnapshot {
        limit: 100,
        remaining: 7,
        resets_in: std::time::Duration::from_secs(5),
    });
    run.users_done = 9;
    ledger.record_import_run(&run).await.unwrap();
    // A later report without a rate-limit answer keeps the last position.
    run.rate = None;
    run.finished = true;
    run.users_done = 10;
    ledger.record_import_run(&run).await.unwrap();
    let last = ledger.progress().await.unwrap().rate_limit.unwrap();
    assert_eq!((last.limit, last.remaining), (Some(100), Some(7)));
    assert_eq!(last.users_done, 10);
    assert!(last.finished_at.is_some() && last.eta.is_none());
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM import_runs")
        .fetch_one(ledger.pool())
        .await
        .unwrap();
    assert_eq!(rows, 1);
}

crate::on_every_db! {
    progress_figures => progress_adds_up;
    import_run_reports => import_run_reports_update_one_row;
}

/// Runs `passbridge <args>` (without a ledger URL from the environment)
/// off the runtime.
async fn passbridge_output(args: &[&str]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        assert_cmd::Command::cargo_bin("passbridge")
            .unwrap()
            .env_remove("PASSBRIDGE_LEDGER_URL")
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// `passbridge status <extra> --ledger-url …` on a freshly seeded SQLite
/// ledger, which must succeed: the database (kept alive), the ledger and
/// what the command printed.
async fn status_of_a_seeded_ledger(extra: &[&str]) -> (TestDb, Ledger, Vec<u8>) {
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    let ledger = Ledger::connect(&db.url).await.unwrap();
    seed_migration(&ledger).await;
    let url = db.url.expose().to_owned();
    let mut args = vec!["status"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--ledger-url", &url]);
    let out = passbridge_output(&args).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (db, ledger, out.stdout)
}

/// Every top-level key of the documented `status --json` schema.
pub const SCHEMA_KEYS: [&str; 11] = [
    "schema",
    "generated_at",
    "import",
    "hook",
    "stragglers",
    "rate",
    "by_source",
    "by_scheme",
    "daily",
    "verdicts_hourly",
    "rate_limit",
];

#[tokio::test]
async fn status_json_is_the_documented_schema_with_the_ledgers_figures() {
    // Arrange, Act
    let (_db, ledger, stdout) = status_of_a_seeded_ledger(&["--json"]).await;
    // Assert
    let doc: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    let keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = SCHEMA_KEYS.to_vec();
    want.sort_unstable();
    let mut got = keys.clone();
    got.sort_unstable();
    assert_eq!(got, want);
    assert_eq!(doc["schema"], 1);
    assert_eq!(doc["hook"]["waiting"], 4);
    assert_eq!(doc["import"]["seen"], 10);
    assert_eq!(
        doc["stragglers"][0],
        serde_json::json!({"older_than_days": 7, "users": 3})
    );
    assert_eq!(doc["by_scheme"][0]["source"], "legacy");
    assert_eq!(doc["rate_limit"]["remaining"], 42);
    let printed: Progress = serde_json::from_value(doc).unwrap();
    assert_seeded_figures(&printed);
    let now = ledger.progress().await.unwrap();
    assert_eq!(
        Progress {
            generated_at: String::new(),
            ..printed
        },
        Progress {
            generated_at: String::new(),
            ..now
        },
        "the command prints the ledger's figures"
    );
}

#[tokio::test]
async fn status_prints_an_aligned_report() {
    let (_db, _ledger, stdout) = status_of_a_seeded_ledger(&[]).await;
    let text = String::from_utf8(stdout).unwrap();
    for line in [
        "  legacy users seen  10",
        "  imported via hook  6",
        "  still waiting          4",
        "  still waiting after 90 days  1",
        "  Okta requests  42 of 600 left",
        "1 verified, 1 imported via hook, 4 still to migrate",
    ] {
        assert!(text.contains(line), "{line:?} missing in:\n{text}");
    }
    // The table's columns line up: every row as long as the header.
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "By scheme")
        .skip(1)
        .collect();
    assert_eq!(table.len(), 5, "{text}");
    assert!(table[0].trim_start().starts_with("SOURCE"));
    let end = table[0].len();
    assert!(table.iter().all(|l| l.len() == end), "{table:#?}");
}

#[tokio::test]
async fn status_without_a_reachable_ledger_fails_naming_it() {
    let out = passbridge_output(&[
        "status",
        "--ledger-url",
        "postgres://nobody@127.0.0.1:1/none",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ledger database") && err.contains("PASSBRIDGE_LEDGER_URL"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}
