//! End-to-end hook latency over loopback HTTP against a real SQLite legacy
//! database: auth, JSON, lookup, verification on the blocking pool, ledger write.
//! Run: `cargo bench --bench hook`.

use criterion::{criterion_group, criterion_main, Criterion};
use passbridge::config::Settings;
use passbridge::db::{self, DatabaseUrl, PoolSettings};
use passbridge::startup::Application;
use secrecy::SecretString;

const SECRET: &str = "bench-secret-0123456789abcdef";

struct Bench {
    runtime: tokio::runtime::Runtime,
    address: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn setup() -> Option<Bench> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .ok()?;
    let dir = tempfile::tempdir().ok()?;
    let url = DatabaseUrl::sqlite_file(&dir.path().join("legacy.db"));
    let address = runtime.block_on(async {
        let pool = db::connect(&url, PoolSettings::default()).await.ok()?;
        sqlx::query("CREATE TABLE users (email TEXT PRIMARY KEY, password_hash TEXT, scheme TEXT)")
            .execute(&pool)
            .await
            .ok()?;
        let rows = [
            ("bcrypt10@example.com", bcrypt::hash("pw", 10).ok()?, None),
            ("sha512crypt@example.com", "$6$Fj86xn7LSWACeAA4$OIVaJVJ8Orh9TfQTWBkzI.ADSKK/tETzGxzEZWF4n1D7Us81z9289ywk4Q797AmNJbPg3DME.QLUbPugIVVnp1".to_owned(), None),
            ("hexsha1@example.com", "cbfdac6008f9cab4083784cbd1874f76618d2a97".to_owned(), Some("hex_sha1")),
        ];
        for (email, hash, scheme) in rows {
            sqlx::query("INSERT INTO users VALUES (?, ?, ?)").bind(email).bind(hash).bind(scheme).execute(&pool).await.ok()?;
        }
        let mut settings = Settings { listen: "127.0.0.1:0".parse().ok()?, admin_listen: "127.0.0.1:0".parse().ok()?, ..Settings::default() };
        settings.legacy.url = Some(url.clone());
        settings.legacy.query = Some("SELECT password_hash, scheme FROM users WHERE email = ?".into());
        settings.hook.secrets = vec![SecretString::from(SECRET)];
        settings.hook.max_failures_per_user = 0;
        settings.hook.throttle.per_row = 0;
        settings.hook.throttle.per_ip = 0;
        let app = Application::build(settings).await.ok()?;
        let address = format!("http://{}/hooks/password-import", app.local_addr());
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        Some(address)
    })?;
    Some(Bench {
        runtime,
        address,
        client: reqwest::Client::new(),
        _dir: dir,
    })
}

fn hook(c: &mut Criterion) {
    let Some(bench) = setup() else {
        eprintln!("hook bench: setup failed");
        return;
    };
    let mut group = c.benchmark_group("hook");
    group.sample_size(20);
    for (name, user, password) in [
        ("bcrypt cost=10", "bcrypt10@example.com", "pw"),
        (
            "sha512-crypt 5000",
            "sha512crypt@example.com",
            "password123",
        ),
        ("hex sha1", "hexsha1@example.com", "password123"),
        ("unknown user (dummy bcrypt 10)", "nobody@example.com", "pw"),
    ] {
        let body = serde_json::json!({"data": {"context": {"credential": {"username": user, "password": password}}}});
        group.bench_function(name, |b| {
            b.iter(|| {
                bench.runtime.block_on(async {
                    let resp = bench
                        .client
                        .post(&bench.address)
                        .header("Authorization", SECRET)
                        .json(&body)
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0);
                    assert_eq!(resp, 200);
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, hook);
criterion_main!(benches);
