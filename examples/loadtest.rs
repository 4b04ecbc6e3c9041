//! A bounded load generator for a running `passbridge serve` (loopback only):
//! N concurrent clients post Okta-shaped hook requests for D seconds, then it
//! prints requests/s and latency percentiles. See `scripts/loadtest.sh`.
//!
//! Usage: cargo run --release --example loadtest -- URL SECRET USERNAME PASSWORD [CONCURRENCY] [SECONDS]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: loadtest URL SECRET USERNAME PASSWORD [CONCURRENCY] [SECONDS]");
        std::process::exit(2);
    }
    let url = args[1].clone();
    let host = url::Url::parse(&url)
        .expect("url")
        .host_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        host == "127.0.0.1" || host == "localhost" || host == "[::1]",
        "loopback targets only"
    );
    let (secret, user, password) = (args[2].clone(), args[3].clone(), args[4].clone());
    let concurrency: usize = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(16);
    let seconds: u64 = args.get(6).and_then(|s| s.parse().ok()).unwrap_or(10);
    let body = serde_json::json!({"eventType": "com.okta.user.credential.password.import",
        "data": {"context": {"credential": {"username": user, "password": password}}}});
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, url, secret, body) =
            (client.clone(), url.clone(), secret.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let started = Instant::now();
                match client
                    .post(&url)
                    .header("Authorization", &secret)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => latencies.push(started.elapsed()),
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "requests={} errors={} rps={:.1} p50={:.1}ms p90={:.1}ms p99={:.1}ms max={:.1}ms (concurrency {concurrency}, {seconds}s)",
        all.len(),
        errors,
        all.len() as f64 / seconds as f64,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.90).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        all.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}
