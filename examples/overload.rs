//! Overload and enumeration-timing load generator for `scripts/overload.sh`
//! (loopback targets only; every loop is bounded in time or count).
//!
//! ```text
//! overload seed KIND N SQL_OUT BATCH_OUT     legacy rows (SQL) + a `hash verify --batch` file
//! overload load URL SECRET N CLIENTS SECONDS PAUSE_MS
//! overload enum URL SECRET N ROUNDS          median wrong-password vs unknown-user time
//! ```
//! KIND: bcrypt10, bcrypt12, argon2id, pbkdf2, ssha256. User i is
//! `user{i}@example.com` with password `pw-{i}`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::time::{Duration, Instant};

use base64::Engine;
use sha2::Digest;

fn row(kind: &str, i: usize) -> (String, Option<String>, Option<&'static str>) {
    let pw = format!("pw-{i}");
    let salt16: [u8; 16] = rand::random();
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    match kind {
        "bcrypt10" => (bcrypt::hash(&pw, 10).unwrap(), None, None),
        "bcrypt12" => (bcrypt::hash(&pw, 12).unwrap(), None, None),
        "argon2id" => {
            let params = argon2::Params::new(19456, 2, 1, Some(32)).unwrap();
            let ctx =
                argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
            let mut out = [0u8; 32];
            ctx.hash_password_into(pw.as_bytes(), &salt16, &mut out)
                .unwrap();
            (
                format!(
                    "$argon2id$v=19$m=19456,t=2,p=1${}${}",
                    b64.encode(salt16),
                    b64.encode(out)
                ),
                None,
                None,
            )
        }
        "pbkdf2" => {
            let mut out = [0u8; 32];
            let salt = hex::encode(salt16);
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(pw.as_bytes(), salt.as_bytes(), 100_000, &mut out);
            let std = base64::engine::general_purpose::STANDARD;
            (
                format!("pbkdf2_sha256$100000${salt}${}", std.encode(out)),
                None,
                None,
            )
        }
        "ssha256" => {
            let salt = hex::encode(salt16);
            let digest = sha2::Sha256::digest(format!("{pw}{salt}").as_bytes());
            (hex::encode(digest), Some(salt), Some("salted_sha256"))
        }
        other => panic!("unknown kind {other}"),
    }
}

fn seed(kind: &str, n: usize, sql_out: &str, batch_out: &str) {
    let rows: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n).map(|i| s.spawn(move || (i, row(kind, i)))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sql = std::fs::File::create(sql_out).unwrap();
    writeln!(sql, "CREATE TABLE users (email TEXT PRIMARY KEY, password_hash TEXT NOT NULL, salt TEXT, scheme TEXT, migrated_at TEXT);").unwrap();
    let mut batch = std::fs::File::create(batch_out).unwrap();
    for (i, (hash, salt, scheme)) in &rows {
        let q = |v: &Option<String>| v.as_ref().map_or("NULL".to_owned(), |s| format!("'{s}'"));
        writeln!(
            sql,
            "INSERT INTO users VALUES ('user{i}@example.com', '{hash}', {}, {}, NULL);",
            q(salt),
            q(&scheme.map(str::to_owned))
        )
        .unwrap();
        let mut line = serde_json::json!({"id": i, "hash": hash, "password": format!("pw-{i}")});
        if let (Some(salt), Some(scheme)) = (salt, scheme) {
            line["salt"] = salt.clone().into();
            line["scheme"] = (*scheme).into();
            line["params"] = serde_json::json!({"salt_position": "suffix"});
        }
        writeln!(batch, "{line}").unwrap();
    }
}

fn body(user: &str, password: &str) -> serde_json::Value {
    serde_json::json!({"eventType": "com.okta.user.credential.password.import",
        "eventId": uuid::Uuid::new_v4().simple().to_string(),
        "data": {"context": {"request": {"ipAddress": "127.0.0.1"},
                             "credential": {"username": user, "password": password}}}})
}

fn loopback(url: &str) {
    let host = url::Url::parse(url)
        .unwrap()
        .host_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        host == "127.0.0.1" || host == "localhost",
        "loopback targets only"
    );
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p) as usize).min(sorted.len() - 1);
    sorted[i].as_secs_f64() * 1e3
}

fn describe(name: &str, mut v: Vec<Duration>) -> String {
    v.sort();
    format!(
        "{name}: n={} p50={:.1}ms p99={:.1}ms max={:.1}ms",
        v.len(),
        pct(&v, 0.5),
        pct(&v, 0.99),
        v.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    )
}

async fn load(url: String, secret: String, n: usize, clients: usize, seconds: u64, pause: u64) {
    loopback(&url);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (client, url, secret) = (client.clone(), url.clone(), secret.clone());
            tokio::spawn(async move {
                let (mut verified, mut unverified, mut errors) = (Vec::new(), Vec::new(), 0u64);
                let i = c % n;
                let (user, pw) = (format!("user{i}@example.com"), format!("pw-{i}"));
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let r = client
                        .post(&url)
                        .header("Authorization", &secret)
                        .json(&body(&user, &pw))
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status().is_success() => {
                            let v: serde_json::Value = r.json().await.unwrap_or_default();
                            let verdict = v["commands"][0]["value"]["credential"].clone();
                            if verdict == "VERIFIED" {
                                verified.push(t.elapsed());
                            } else {
                                unverified.push(t.elapsed());
                            }
                        }
                        _ => errors += 1,
                    }
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
                (verified, unverified, errors)
            })
        })
        .collect();
    let (mut verified, mut unverified, mut errors) = (Vec::new(), Vec::new(), 0);
    for t in tasks {
        let (v, u, e) = t.await.unwrap();
        verified.extend(v);
        unverified.extend(u);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let all: Vec<Duration> = verified.iter().chain(&unverified).copied().collect();
    let under3 = all.iter().filter(|d| **d < Duration::from_secs(3)).count();
    println!(
        "clients={clients} seconds={seconds} pause={pause}ms answers={} verified={} verified_per_s={:.2} unverified={} connection_errors={errors} under_3s={:.2}%",
        all.len(),
        verified.len(),
        verified.len() as f64 / elapsed,
        unverified.len(),
        100.0 * under3 as f64 / all.len().max(1) as f64,
    );
    println!("  {}", describe("all answers", all));
    println!("  {}", describe("VERIFIED", verified));
    println!(
        "  {}",
        describe(
            "UNVERIFIED (overloaded: every password is right)",
            unverified
        )
    );
}

async fn enumeration(url: String, secret: String, n: usize, rounds: usize) {
    loopback(&url);
    let client = reqwest::Client::new();
    let post = |user: String, pw: String| {
        let (client, url, secret) = (client.clone(), url.clone(), secret.clone());
        async move {
            let t = Instant::now();
            let r = client
                .post(&url)
                .header("Authorization", &secret)
                .json(&body(&user, &pw))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success());
            let _ = r.bytes().await;
            t.elapsed()
        }
    };
    // Warm-up: the cost estimate and the dummy's shape come from real lookups.
    for i in 0..3 {
        post(format!("user{}@example.com", i % n), "wrong".into()).await;
    }
    let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        wrong.push(post(format!("user{}@example.com", r % n), "wrong".into()).await);
        unknown.push(post(format!("ghost{r}@example.com"), "wrong".into()).await);
    }
    wrong.sort();
    unknown.sort();
    let (w, u) = (pct(&wrong, 0.5), pct(&unknown, 0.5));
    println!(
        "wrong_password_median={w:.1}ms unknown_user_median={u:.1}ms difference={:+.1}%",
        100.0 * (u - w) / w
    );
}

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().collect();
    let arg = |i: usize| a.get(i).cloned().unwrap_or_default();
    let num = |i: usize| arg(i).parse::<usize>().expect("number");
    match arg(1).as_str() {
        "seed" => seed(&arg(2), num(3), &arg(4), &arg(5)),
        "load" => load(arg(2), arg(3), num(4), num(5), num(6) as u64, num(7) as u64).await,
        "enum" => enumeration(arg(2), arg(3), num(4), num(5)).await,
        _ => {
            eprintln!("usage: see the header of examples/overload.rs");
            std::process::exit(2);
        }
    }
}
