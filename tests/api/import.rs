//! `passbridge import` end to end: legacy users in mixed schemes on SQLite,
//! PostgreSQL and MariaDB, imported into the stand-in Okta; sign-ins through
//! the stand-in reach the real hook service (`passbridge serve`) only for hook
//! users. Also: killed runs resume without duplicates, strict rate limits and
//! injected 5xx, dry runs, cohorts and CSV sources.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use passbridge::db::{placeholders, DbKind};
use passbridge::dev_okta::{CredentialView, Faults, RateLimit, StandIn};
use passbridge::import::{
    self, ImportOptions, Observer, Report, Silent, Source, Summary, UserOutcome,
};
use passbridge::ledger::ImportState;
use passbridge::okta::{
    verify_hash_object, ClientStats, HashAlgorithm, InlineHookCreate, OktaClient, Sha256Salt,
};
use rand::Rng;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use crate::helpers::{spawn_app_with, TestApp, TestDb};
use crate::okta_standin::{client, sign_in, standin, TOKEN};

const CREATE_TABLE: &str = "CREATE TABLE legacy_users (login VARCHAR(255) NOT NULL PRIMARY KEY, \
    email VARCHAR(255), first_name VARCHAR(64), last_name VARCHAR(64), department VARCHAR(64), \
    password_hash VARCHAR(512), salt VARCHAR(255), scheme VARCHAR(64))";
const IMPORT_QUERY: &str = "SELECT login, email, first_name AS firstName, last_name AS lastName, \
    department, password_hash, salt, scheme FROM legacy_users";
const LOOKUP_QUERY: &str = "SELECT password_hash, salt, scheme FROM legacy_users WHERE login = ?";
/// Distinct passwords (and hashes) per scheme group: hashing stays cheap.
const VARIANTS: usize = 8;

/// The scheme groups of the generated population.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Group {
    Bcrypt,
    Ssha,
    Ssha512,
    SaltedSha256,
    HexMd5,
    DjangoPbkdf2,
    Argon2,
    Md5Crypt,
    Malformed,
}

impl Group {
    /// 20% bcrypt, 10% each {SSHA}, salted SHA-256, hex MD5, Django PBKDF2,
    /// md5-crypt, 20% argon2id, 9% {SSHA512} and 1% malformed.
    fn of(i: usize) -> Self {
        match i % 10 {
            0 | 1 => Self::Bcrypt,
            2 => Self::Ssha,
            3 => Self::SaltedSha256,
            4 => Self::HexMd5,
            5 => Self::DjangoPbkdf2,
            6 | 7 => Self::Argon2,
            8 => Self::Md5Crypt,
            _ if i % 100 == 9 => Self::Malformed,
            _ => Self::Ssha512,
        }
    }

    /// The Okta algorithm when the group goes native.
    fn native(self) -> Option<HashAlgorithm> {
        match self {
            Self::Bcrypt => Some(HashAlgorithm::Bcrypt),
            Self::Ssha => Some(HashAlgorithm::Sha1),
            Self::Ssha512 => Some(HashAlgorithm::Sha512),
            Self::HexMd5 => Some(HashAlgorithm::Md5),
            Self::DjangoPbkdf2 => Some(HashAlgorithm::Pbkdf2),
            Self::SaltedSha256 | Self::Argon2 | Self::Md5Crypt | Self::Malformed => None,
        }
    }
}

/// One stored credential: hash, salt column, scheme column, password.
#[derive(Clone)]
struct Credential {
    hash: String,
    salt: Option<String>,
    scheme: Option<&'static str>,
    password: String,
}

/// A generated legacy user.
#[derive(Clone)]
struct Legacy {
    login: String,
    group: Group,
    password: String,
}

fn rand_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::thread_rng().fill(&mut b[..]);
    b
}

fn credential(group: Group, v: usize) -> Credential {
    let password = format!("pw-{group:?}-{v}");
    let pw = password.as_bytes();
    let (hash, salt, scheme) = match group {
        Group::Bcrypt => (
            bcrypt::hash_with_salt(pw, 4, rand_bytes::<16>())
                .unwrap()
                .to_string(),
            None,
            None,
        ),
        Group::Ssha | Group::Ssha512 => {
            let salt = rand_bytes::<8>();
            let (tag, mut digest) = if group == Group::Ssha {
                (
                    "SSHA",
                    Sha1::new()
                        .chain_update(pw)
                        .chain_update(salt)
                        .finalize()
                        .to_vec(),
                )
            } else {
                (
                    "SSHA512",
                    Sha512::new()
                        .chain_update(pw)
                        .chain_update(salt)
                        .finalize()
                        .to_vec(),
                )
            };
            digest.extend_from_slice(&salt);
            (format!("{{{tag}}}{}", STANDARD.encode(digest)), None, None)
        }
        Group::SaltedSha256 => {
            let salt = format!("s{v}-{}", hex::encode(rand_bytes::<4>()));
            let digest = Sha256::new()
                .chain_update(&salt)
                .chain_update(pw)
                .finalize();
            (hex::encode(digest), Some(salt), Some("salted_sha256"))
        }
        Group::HexMd5 => (hex::encode(md5::Md5::digest(pw)), None, Some("hex_md5")),
        Group::DjangoPbkdf2 => {
            let salt = format!("salt{v}{}", hex::encode(rand_bytes::<4>()));
            let mut dk = [0u8; 32];
            pbkdf2::pbkdf2_hmac::<Sha256>(pw, salt.as_bytes(), 4096, &mut dk);
            (
                format!("pbkdf2_sha256$4096${salt}${}", STANDARD.encode(dk)),
                None,
                None,
            )
        }
        Group::Argon2 => {
            let salt = rand_bytes::<16>();
            let mut out = [0u8; 32];
            let params = Params::new(256, 1, 1, Some(32)).unwrap();
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password_into(pw, &salt, &mut out)
                .unwrap();
            (
                format!(
                    "$argon2id$v=19$m=256,t=1,p=1${}${}",
                    STANDARD_NO_PAD.encode(salt),
                    STANDARD_NO_PAD.encode(out)
                ),
                None,
                None,
            )
        }
        // Hash corpus record (libxcrypt/passlib md5_crypt, also the demo's "grace").
        Group::Md5Crypt => {
            return Credential {
                hash: "$1$.Z9ppi93$ZrHAoLsYYImZVt0up895p1".into(),
                salt: None,
                scheme: None,
                password: "password123".into(),
            }
        }
        Group::Malformed => ("$2b$04$not-a-real-hash".into(), None, None),
    };
    Credential {
        hash,
        salt,
        scheme,
        password,
    }
}

/// `legacy.params` for the salted SHA-256 rows (hex of sha256(salt ‖ password)).
fn params() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("salt_position".to_owned(), "prefix".to_owned()),
        ("salt_encoding".to_owned(), "utf8".to_owned()),
        ("encoding".to_owned(), "hex".to_owned()),
    ])
}

fn login(i: usize) -> String {
    format!("user{i:06}@example.com")
}

/// Creates `legacy_users` with `n` users of mixed schemes.
async fn seed(db: &TestDb, n: usize) -> Vec<Legacy> {
    let pool = db.pool().await;
    sqlx::query(CREATE_TABLE).execute(&pool).await.unwrap();
    let groups = [
        Group::Bcrypt,
        Group::Ssha,
        Group::Ssha512,
        Group::SaltedSha256,
        Group::HexMd5,
        Group::DjangoPbkdf2,
        Group::Argon2,
        Group::Md5Crypt,
        Group::Malformed,
    ];
    let pool_of: HashMap<Group, Vec<Credential>> = tokio::task::spawn_blocking(move || {
        groups
            .iter()
            .map(|g| (*g, (0..VARIANTS).map(|v| credential(*g, v)).collect()))
            .collect()
    })
    .await
    .unwrap();
    let mut users = Vec::with_capacity(n);
    for start in (0..n).step_by(250) {
        let end = (start + 250).min(n);
        let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; end - start].join(", ");
        let sql = placeholders(
            db.kind(),
            &format!(
                "INSERT INTO legacy_users (login, email, first_name, last_name, department, \
                 password_hash, salt, scheme) VALUES {values}"
            ),
        );
        let mut q = sqlx::query(&sql);
        for i in start..end {
            let group = Group::of(i);
            let c = &pool_of[&group][i % VARIANTS];
            let login = login(i);
            q = q
                .bind(login.clone())
                .bind(login.clone())
                .bind(format!("First{i}"))
                .bind(format!("Last{i}"))
                .bind(format!("dept-{}", i % 7))
                .bind(c.hash.clone())
                .bind(c.salt.clone())
                .bind(c.scheme.map(str::to_owned));
            users.push(Legacy {
                login,
                group,
                password: c.password.clone(),
            });
        }
        q.execute(&pool).await.unwrap();
    }
    pool.close().await;
    users
}

/// The hook service on `db`, with the lookup query and params of this table.
async fn hook_service(db: TestDb) -> TestApp {
    let lookup = placeholders(db.kind(), LOOKUP_QUERY);
    spawn_app_with(db, |s| {
        s.legacy.query = Some(lookup);
        s.legacy.params = params();
    })
    .await
}

/// Registers the hook service as the stand-in's password-import hook.
async fn register(okta: &OktaClient, app: &TestApp) {
    let hook = InlineHookCreate::password_import(
        "passbridge",
        &format!("{}/hooks/password-import", app.address),
        "Authorization",
        app.secret.clone(),
        vec![],
    );
    okta.create_inline_hook(&hook).await.unwrap();
}

fn options() -> ImportOptions {
    ImportOptions {
        concurrency: 16,
        params: params(),
        ..ImportOptions::default()
    }
}

async fn run_import(
    app: &TestApp,
    okta: &OktaClient,
    options: &ImportOptions,
    observer: &dyn Observer,
) -> Summary {
    let source = Source::Sql {
        pool: app.db.pool().await,
        query: IMPORT_QUERY.to_owned(),
    };
    import::run(
        source,
        options,
        Some(okta),
        Some(app.ledger()),
        None,
        observer,
    )
    .await
    .unwrap()
}

fn expected_counts(users: &[Legacy]) -> (u64, u64) {
    let native = users.iter().filter(|u| u.group.native().is_some()).count() as u64;
    (native, users.len() as u64 - native)
}

/// Every user exists once in the stand-in, on the right path, with a hash
/// object of the right algorithm (and, for a sample, one that accepts the
/// user's password under Okta's semantics).
fn assert_created(stand: &StandIn, users: &[Legacy]) {
    assert_eq!(stand.user_count(), users.len());
    assert_eq!(stand.stats().users_created, users.len() as u64);
    for (i, u) in users.iter().enumerate() {
        let got = stand
            .user(&u.login)
            .unwrap_or_else(|| panic!("{} missing", u.login));
        assert_eq!(got.provider, "IMPORT", "{}", u.login);
        assert_eq!(got.status, "ACTIVE", "{}", u.login);
        assert_eq!(
            got.profile.extra["department"],
            serde_json::json!(format!("dept-{}", i % 7))
        );
        match (u.group.native(), &got.credential) {
            (Some(alg), CredentialView::Hash { hash, .. }) => {
                assert_eq!(hash.algorithm, alg, "{}", u.login);
                if i % 97 == 0 {
                    assert!(verify_hash_object(
                        hash,
                        u.password.as_bytes(),
                        Sha256Salt::Decoded
                    ));
                    assert!(!verify_hash_object(hash, b"wrong", Sha256Salt::Decoded));
                }
            }
            (None, CredentialView::Hook) => {}
            (want, got) => panic!("{}: expected {want:?}, got {got:?}", u.login),
        }
    }
}

/// Signs in a sample of each group through the stand-in.
async fn assert_sign_ins(stand: &StandIn, users: &[Legacy]) {
    let mut per_group: HashMap<Group, usize> = HashMap::new();
    for u in users {
        let n = per_group.entry(u.group).or_default();
        if *n >= 3 {
            continue;
        }
        *n += 1;
        if u.group == Group::Malformed {
            // The hook cannot verify it either: the user must reset the password.
            assert_eq!(
                sign_in(stand, &u.login, &u.password).await,
                401,
                "{}",
                u.login
            );
            assert_eq!(stand.user(&u.login).unwrap().hook_calls, 1, "{}", u.login);
            continue;
        }
        assert_eq!(
            sign_in(stand, &u.login, "not-the-password").await,
            401,
            "{}",
            u.login
        );
        assert_eq!(
            sign_in(stand, &u.login, &u.password).await,
            200,
            "{}",
            u.login
        );
        assert_eq!(
            sign_in(stand, &u.login, &u.password).await,
            200,
            "{}",
            u.login
        );
        let view = stand.user(&u.login).unwrap();
        if u.group.native().is_some() {
            assert_eq!(
                view.hook_calls, 0,
                "native user {} reached the hook",
                u.login
            );
        } else {
            // The wrong password reached the hook once, the right one once,
            // the second sign-in never.
            assert_eq!(view.hook_calls, 2, "hook user {}", u.login);
            assert_eq!(view.provider, "OKTA", "{}", u.login);
        }
    }
    assert_eq!(per_group.len(), 9, "every group sampled");
}

// --- 10,000 users on each database ------------------------------------------

async fn imports_ten_thousand_mixed_users(kind: DbKind) {
    // Arrange
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    let users = seed(&db, 10_000).await;
    let app = hook_service(db).await;
    let stand = standin(|_| {}).await;
    let okta = client(&stand);
    register(&okta, &app).await;
    let requests_before = okta.stats().requests;
    // Act
    let started = Instant::now();
    let summary = run_import(&app, &okta, &options(), &Silent).await;
    let elapsed = started.elapsed();
    // Assert
    let (native, hook) = expected_counts(&users);
    assert_eq!(
        (summary.created_native, summary.created_hook),
        (native, hook)
    );
    assert_eq!((summary.failed, summary.found_in_okta), (0, 0));
    assert_eq!(summary.bad_hashes, 100);
    assert_eq!(summary.notes["sha256_salt_ambiguous"], 1000);
    assert_created(&stand, &users);
    let counts = app.ledger().import_counts().await.unwrap();
    assert_eq!(
        counts.get(&ImportState::CreatedNative),
        Some(&(native as i64))
    );
    assert_eq!(counts.get(&ImportState::CreatedHook), Some(&(hook as i64)));
    let stats: ClientStats = summary.okta.unwrap();
    eprintln!(
        "10k import on {kind:?}: {:.1}s, {} requests, {} retries, {} x 429",
        elapsed.as_secs_f64(),
        stats.requests,
        stats.retries,
        stats.rate_limited
    );
    assert_eq!(stats.requests - requests_before, 10_000);
    assert_sign_ins(&stand, &users).await;
    // `status` counts them: three users of each hook-only group signed in
    // (the malformed ones cannot be verified).
    let progress = app.ledger().progress().await.unwrap();
    let t = &progress.totals;
    assert_eq!(
        (t.import.native, t.import.hook),
        (native as i64, hook as i64)
    );
    assert_eq!((t.hook.verified, t.hook.waiting), (9, hook as i64 - 9));
    assert_eq!(progress.rate.verified_in_window, 9);
    let run = progress.rate_limit.expect("the run is recorded");
    assert_eq!((run.users_done, run.users_total), (10_000, Some(10_000)));
    // A second run changes nothing and sends nothing.
    let before = stand.stats().requests;
    let again = run_import(&app, &okta, &options(), &Silent).await;
    assert_eq!(again.already_done, 10_000);
    assert_eq!(stand.stats().requests, before);
}

crate::on_every_db! {
    ten_thousand => imports_ten_thousand_mixed_users;
}

// --- killed runs --------------------------------------------------------------

/// Signals once `at` users are done.
struct KillAt {
    at: u64,
    fired: tokio::sync::Notify,
    seen: AtomicU64,
}

impl Observer for KillAt {
    fn user_done(&self, done: u64, _outcome: &UserOutcome, _okta: Option<ClientStats>) {
        self.seen.store(done, Ordering::Relaxed);
        if done == self.at {
            self.fired.notify_one();
        }
    }
}

async fn killed_import_resumes_without_duplicates(kind: DbKind) {
    // Arrange
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    let n = 1_500;
    let users = seed(&db, n).await;
    let app = hook_service(db).await;
    // Slow answers now and then keep requests in flight at the kill.
    let stand = standin(|c| {
        c.faults = Faults {
            slow_rate: 0.05,
            slow_delay: Duration::from_millis(30),
            ..Faults::default()
        };
    })
    .await;
    let okta = client(&stand);
    let kill = KillAt {
        // In the first half: creates run ahead of the recorded "done" count
        // (batched ledger writes), so a kill near the end could come after
        // the last create.
        at: rand::thread_rng().gen_range(50..n as u64 / 2),
        fired: tokio::sync::Notify::new(),
        seen: AtomicU64::new(0),
    };
    // Act: run until `kill.at` users are done, then drop the run mid-flight.
    let opts = options();
    tokio::select! {
        _ = run_import(&app, &okta, &opts, &kill) => panic!("finished before the kill"),
        () = kill.fired.notified() => {}
    }
    let created_before_resume = stand.user_count();
    let resumed = run_import(&app, &okta, &options(), &Silent).await;
    // Assert
    // The kill came mid-run: some users exist, not all. (Not `>= kill.at`:
    // a user counted as done may be one whose create failed under load and
    // is retried by the resumed run.)
    assert!(created_before_resume > 0, "the first run created nobody");
    assert!(
        created_before_resume < n,
        "the first run was not interrupted"
    );
    assert_created(&stand, &users);
    assert_eq!(resumed.failed, 0);
    assert_eq!(
        resumed.already_done
            + resumed.created_native
            + resumed.created_hook
            + resumed.found_in_okta,
        n as u64
    );
    // Users created by the killed run whose result was not yet recorded were
    // found ("login exists") and recorded, each exactly once.
    assert_eq!(resumed.found_in_okta, stand.stats().duplicate_logins);
    let counts = app.ledger().import_counts().await.unwrap();
    let (native, hook) = expected_counts(&users);
    assert_eq!(
        counts.get(&ImportState::CreatedNative),
        Some(&(native as i64))
    );
    assert_eq!(counts.get(&ImportState::CreatedHook), Some(&(hook as i64)));
    assert_eq!(counts.get(&ImportState::Pending), None);
}

crate::on_every_db! {
    killed_run => killed_import_resumes_without_duplicates;
}

#[tokio::test]
async fn killed_process_resumes_without_duplicates() {
    // Arrange: 600 users, a stand-in limited to 200 requests per second.
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    let users = seed(&db, 600).await;
    let app = hook_service(db).await;
    let stand = standin(|c| {
        c.rate_limit = Some(RateLimit {
            budget: 200,
            window: Duration::from_secs(1),
        });
    })
    .await;
    let ledger_dir = tempfile::tempdir().unwrap();
    let ledger_url = format!(
        "sqlite://{}?mode=rwc",
        ledger_dir.path().join("ledger.db").display()
    );
    let legacy_url = app.db.url.expose().to_owned();
    let org_url = stand.base_url.to_string();
    let command = move || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_passbridge"));
        c.args(["import", "--quiet", "--concurrency", "8"])
            .env_clear()
            .env("PASSBRIDGE_LEGACY_URL", &legacy_url)
            .env("PASSBRIDGE_IMPORT_QUERY", IMPORT_QUERY)
            .env("PASSBRIDGE_LEDGER_URL", &ledger_url)
            .env("OKTA_ORG_URL", &org_url)
            .env("OKTA_API_TOKEN", TOKEN)
            .env("PASSBRIDGE_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c
    };
    // Act: kill -9 once some users exist, then run again to the end.
    let mut child = command.clone()().spawn().unwrap();
    // Generous: on a loaded CI machine the first creates can take a while.
    let deadline = Instant::now() + Duration::from_secs(90);
    while stand.user_count() < 150 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    let _ = child.wait();
    let at_kill = stand.user_count();
    let mut first_stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut err, &mut first_stderr);
    }
    let second = tokio::task::spawn_blocking(move || command().output().unwrap())
        .await
        .unwrap();
    // Assert
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(
        second.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&second.stderr)
    );
    // Killed mid-run: some users existed and some did not. (Under load the
    // kill can land before 150 or the first run can get further; both still
    // test the resume.)
    assert!(
        (1..600).contains(&at_kill),
        "killed at {at_kill}; first run said: {first_stderr}"
    );
    assert_created(&stand, &users);
    assert!(stdout.contains("already done"), "{stdout}");
    assert!(!stdout.contains(TOKEN));
}

// --- rate limits and faults -----------------------------------------------------

#[tokio::test]
async fn strict_rate_limit_and_injected_5xx_lose_nobody() {
    // Arrange: 300 users, 50 requests per second, 5% 500s and 5% "done, then 504".
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    let users = seed(&db, 300).await;
    let app = hook_service(db).await;
    let stand = standin(|c| {
        c.seed = Some(42);
        c.rate_limit = Some(RateLimit {
            budget: 50,
            window: Duration::from_secs(1),
        });
        c.faults = Faults {
            error_rate: 0.05,
            error_after_rate: 0.05,
            ..Faults::default()
        };
    })
    .await;
    let okta = client(&stand);
    let report_dir = tempfile::tempdir().unwrap();
    let report_path = report_dir.path().join("report.jsonl");
    let source = Source::Sql {
        pool: app.db.pool().await,
        query: IMPORT_QUERY.to_owned(),
    };
    let started = Instant::now();
    // Act
    let summary = import::run(
        source,
        &options(),
        Some(&okta),
        Some(app.ledger()),
        Some(Report::create(&report_path).unwrap()),
        &Silent,
    )
    .await
    .unwrap();
    // Assert
    let elapsed = started.elapsed();
    eprintln!("{}", summary.render());
    assert_eq!(summary.failed, 0);
    assert_created(&stand, &users);
    let stats = summary.okta.unwrap();
    // 300+ create requests at 50 per second take at least five resets.
    assert!(elapsed >= Duration::from_secs(5), "{elapsed:?}");
    assert!(stats.paced > 0 && stats.paced_wait_ms > 0, "{stats:?}");
    assert!(stats.server_errors > 0, "{stats:?}");
    assert!(
        stats.rate_limited <= 5,
        "pacing should avoid 429s: {stats:?}"
    );
    // Creates whose answer was lost (504 after the work) came back as
    // "login exists" and were recorded, not failed and not duplicated.
    // (A "login exists" answer can itself be lost to a 504 and be repeated.)
    assert!(summary.found_in_okta > 0, "{}", summary.render());
    assert!(summary.found_in_okta <= stand.stats().duplicate_logins);
    // The report shows every user and the pacing.
    let text = std::fs::read_to_string(&report_path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 301);
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "summary");
    assert!(last["okta"]["paced"].as_u64().unwrap() > 0);
    assert!(last["okta"]["retries"].as_u64().unwrap() >= stats.server_errors);
    assert!(lines[..300]
        .iter()
        .all(|l| l["type"] == "user" && l["oktaId"].is_string()));
    // The run left its position for `status`: every user, the create window.
    let run = app
        .ledger()
        .progress()
        .await
        .unwrap()
        .rate_limit
        .expect("the run is recorded");
    assert_eq!((run.users_done, run.users_total), (300, Some(300)));
    assert!(run.finished_at.is_some() && run.eta.is_none(), "{run:?}");
    assert_eq!(run.limit, Some(50), "the stand-in's budget");
    assert!(
        run.remaining.is_some_and(|r| (0..=50).contains(&r)),
        "{run:?}"
    );
    assert!(run.resets_at.is_some());
}

#[tokio::test]
async fn an_unwritable_run_report_does_not_stop_the_import() {
    // Arrange: the ledger has lost its import_runs table.
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    let users = seed(&db, 30).await;
    let app = hook_service(db).await;
    sqlx::query("DROP TABLE import_runs")
        .execute(app.ledger().pool())
        .await
        .unwrap();
    let stand = standin(|_| {}).await;
    let okta = client(&stand);
    // Act
    let summary = run_import(&app, &okta, &options(), &Silent).await;
    // Assert: every user imported and recorded; only the position is missing.
    let (native, hook) = expected_counts(&users);
    assert_eq!(
        (summary.created_native, summary.created_hook, summary.failed),
        (native, hook, 0)
    );
    let counts = app.ledger().import_counts().await.unwrap();
    assert_eq!(counts.get(&ImportState::CreatedHook), Some(&(hook as i64)));
    assert!(crate::helpers::captured_logs().contains("cannot record the import run's position"));
}

// --- dry run, cohorts, CSV ------------------------------------------------------

#[tokio::test]
async fn dry_run_plans_without_touching_okta_or_the_ledger() {
    // Arrange
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    let users = seed(&db, 200).await;
    let pool = db.pool().await;
    let stand = standin(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("plan.jsonl");
    let ledger_path = dir.path().join("ledger.db");
    let options = ImportOptions {
        dry_run: true,
        ..options()
    };
    // Act
    let summary = import::run(
        Source::Sql {
            pool: pool.clone(),
            query: IMPORT_QUERY.to_owned(),
        },
        &options,
        None,
        None,
        Some(Report::create(&report_path).unwrap()),
        &Silent,
    )
    .await
    .unwrap();
    // Assert
    let (native, hook) = expected_counts(&users);
    assert!(summary.dry_run);
    assert_eq!(
        (summary.planned_native, summary.planned_hook),
        (native, hook)
    );
    assert_eq!(summary.by_scheme["bcrypt_2b"].native, 40);
    assert_eq!(summary.by_scheme["salted_sha256"].hook, 20);
    assert_eq!(summary.by_scheme["argon2id"].hook, 40);
    // Rows 10 and 110 (1-based) hold the malformed hashes (users 9 and 109).
    assert_eq!(summary.bad_hash_rows, vec![10, 110]);
    assert!(summary.self_tests["bcrypt_2b"].starts_with("pass"));
    assert!(summary.self_tests["ldap_salted_sha1"].starts_with("pass"));
    let report = std::fs::read_to_string(&report_path).unwrap();
    assert_eq!(report.lines().count(), 201);
    assert!(report
        .lines()
        .take(200)
        .all(|l| l.contains("\"state\":\"planned\"")));
    // Never a hash or a password in the plan.
    for needle in ["$2b$04$", "{SSHA}", "$argon2id$", "pbkdf2_sha256$", "pw-"] {
        assert!(!report.contains(needle), "report contains {needle}");
        assert!(!summary.render().contains(needle));
    }
    // The CLI's dry run, pointed at a live org and ledger, touches neither.
    let config = dir.path().join("passbridge.toml");
    std::fs::write(
        &config,
        "[legacy.params]\nsalt_position = \"prefix\"\nsalt_encoding = \"utf8\"\nencoding = \"hex\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_passbridge"))
        .args(["import", "--dry-run", "--quiet", "--config"])
        .arg(&config)
        .env_clear()
        .env("PASSBRIDGE_LEGACY_URL", db.url.expose())
        .env("PASSBRIDGE_IMPORT_QUERY", IMPORT_QUERY)
        .env(
            "PASSBRIDGE_LEDGER_URL",
            format!("sqlite://{}?mode=rwc", ledger_path.display()),
        )
        .env("OKTA_ORG_URL", stand.base_url.as_str())
        .env("OKTA_API_TOKEN", TOKEN)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("Dry run"), "{stdout}");
    assert!(stdout.contains("rows 10, 110"), "{stdout}");
    assert!(stdout.contains("sha256_salt_ambiguous"), "{stdout}");
    assert_eq!(stand.stats().requests, 0);
    assert!(!ledger_path.exists());
    drop(pool);
}

#[tokio::test]
async fn cohorts_then_the_rest() {
    // Arrange
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    let users = seed(&db, 120).await;
    let app = hook_service(db).await;
    let stand = standin(|_| {}).await;
    let okta = client(&stand);
    let pool = app.db.pool().await;
    let query = |filter: Option<&str>| Source::Sql {
        pool: pool.clone(),
        query: import::with_filter(IMPORT_QUERY, filter),
    };
    let ledger = app.ledger();
    // Act: ten users, then one login, then one department, then everyone.
    let first = import::run(
        query(None),
        &ImportOptions {
            limit: Some(10),
            ..options()
        },
        Some(&okta),
        Some(ledger),
        None,
        &Silent,
    )
    .await
    .unwrap();
    let one = import::run(
        query(None),
        &ImportOptions {
            only_logins: vec![login(77).to_uppercase()],
            ..options()
        },
        Some(&okta),
        Some(ledger),
        None,
        &Silent,
    )
    .await
    .unwrap();
    let dept = import::run(
        query(Some("department = 'dept-3'")),
        &options(),
        Some(&okta),
        Some(ledger),
        None,
        &Silent,
    )
    .await
    .unwrap();
    let after_cohorts = stand.user_count();
    let rest = import::run(
        query(None),
        &options(),
        Some(&okta),
        Some(ledger),
        None,
        &Silent,
    )
    .await
    .unwrap();
    // Assert
    assert_eq!((first.rows, first.imported()), (10, 10));
    assert_eq!((one.rows, one.imported()), (1, 1));
    let in_dept = (0..120).filter(|i| i % 7 == 3).count() as u64;
    assert_eq!(dept.rows, in_dept);
    assert_eq!(after_cohorts as u64, 10 + 1 + dept.imported());
    assert_eq!(rest.already_done, after_cohorts as u64);
    assert_created(&stand, &users);
}

#[tokio::test]
async fn imports_from_csv_staged() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("users.csv");
    let mut csv = String::from("login,email,firstName,lastName,costCenter,password_hash\n");
    let bcrypt = credential(Group::Bcrypt, 0);
    let ssha = credential(Group::Ssha, 1);
    for i in 0..30 {
        let c = if i % 2 == 0 { &bcrypt } else { &ssha };
        csv.push_str(&format!(
            "csv{i}@example.com,csv{i}@example.com,C,V,cc-{i},{}\n",
            c.hash
        ));
    }
    csv.push_str(",nologin@example.com,No,Login,cc,$2b$04$x\n");
    std::fs::write(&csv_path, csv).unwrap();
    let ledger_url: passbridge::db::DatabaseUrl = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("ledger.db").display()
    )
    .parse()
    .unwrap();
    let ledger = passbridge::ledger::Ledger::connect(&ledger_url)
        .await
        .unwrap();
    let stand = standin(|_| {}).await;
    let okta = client(&stand);
    // Act
    let summary = import::run(
        Source::Csv { path: csv_path },
        &ImportOptions {
            activate: false,
            ..options()
        },
        Some(&okta),
        Some(&ledger),
        None,
        &Silent,
    )
    .await
    .unwrap();
    // Assert
    assert_eq!((summary.rows, summary.created_native), (31, 30));
    assert_eq!(summary.skipped, 1);
    assert_eq!(stand.user_count(), 30);
    let u = stand.user("csv3@example.com").unwrap();
    assert_eq!(u.status, "STAGED");
    assert_eq!(u.profile.extra["costCenter"], serde_json::json!("cc-3"));
    match u.credential {
        CredentialView::Hash { hash, .. } => {
            assert!(verify_hash_object(
                &hash,
                ssha.password.as_bytes(),
                Sha256Salt::Decoded
            ));
        }
        other => panic!("{other:?}"),
    }
}

/// The token must never show in argv: the CLI has no flag for it.
#[test]
fn import_has_no_token_flag() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_passbridge"))
        .args(["import", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("OKTA_API_TOKEN"));
    assert!(help.contains("--trust-okta-sha256"));
    assert!(!help.contains("--token") && !help.contains("--api-token"));
}
