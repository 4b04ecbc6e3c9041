//! `GET /admin` and `/admin/status.json` on the admin listener: the bearer
//! token (right, wrong, missing, in the URL), the loopback-only rule without
//! one, a ledger that is down, the `/metrics` gauges, and the page itself
//! rendered by headless Chromium with the ledger's numbers on it.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::Request;
use passbridge::db::DbKind;
use passbridge::ledger::Progress;
use passbridge::server::PeerAddr;
use secrecy::SecretString;
use tower::ServiceExt;

use crate::helpers::{captured_logs, spawn_app_with, TestApp, TestDb};
use crate::status::{assert_seeded_figures, seed_migration};

const TOKEN: &str = "admin-token-6f1c0e9a2b7d4c85";

async fn app(token: Option<&str>) -> TestApp {
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    db.create_users_table().await;
    let app = spawn_app_with(db, |s| {
        s.admin_token = token.map(|t| SecretString::from(t.to_owned()));
    })
    .await;
    seed_migration(app.ledger()).await;
    app
}

async fn get(app: &TestApp, path: &str, auth: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(format!("{}{path}", app.admin_address));
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    req.send().await.unwrap()
}

fn without_clock(p: Progress) -> Progress {
    Progress {
        generated_at: String::new(),
        ..p
    }
}

/// `data-figure` name to its text, as rendered.
fn figures_in(html: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = html;
    while let Some(at) = rest.find("data-figure=\"") {
        rest = &rest[at + "data-figure=\"".len()..];
        let Some(end) = rest.find('"') else { break };
        let name = rest[..end].to_owned();
        let Some(open) = rest.find('>') else { break };
        let text = &rest[open + 1..];
        let close = text.find('<').unwrap_or(text.len());
        out.insert(name, text[..close].to_owned());
    }
    out
}

/// The figures the page must show, read straight from `p`.
fn expected_figures(p: &Progress) -> Vec<(String, String)> {
    let (i, h) = (&p.totals.import, &p.totals.hook);
    let mut want: Vec<(String, String)> = [
        ("import.seen", i.seen),
        ("import.native", i.native),
        ("import.hook", i.hook),
        ("import.failed", i.failed),
        ("import.pending", i.pending),
        ("import.skipped", i.skipped),
        ("hook.verified", h.verified),
        ("hook.confirmed", h.confirmed),
        ("hook.awaiting_confirmation", h.awaiting_confirmation),
        ("hook.reset_sent", h.reset_sent),
        ("hook.waiting", h.waiting),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_string()))
    .collect();
    for s in &p.totals.stragglers {
        want.push((
            format!("stragglers.{}", s.older_than_days),
            s.users.to_string(),
        ));
    }
    for g in &p.by_scheme {
        let key = format!(
            "by_scheme.{}.{}",
            g.source,
            g.scheme.as_deref().unwrap_or("-")
        );
        want.push((format!("{key}.waiting"), g.figures.hook.waiting.to_string()));
        want.push((
            format!("{key}.verified"),
            g.figures.hook.verified.to_string(),
        ));
    }
    want.push((
        "rate.verified_per_day".into(),
        format!("{:.1}", p.rate.verified_per_day),
    ));
    want.push((
        "rate.estimated_completion".into(),
        p.rate.estimated_completion.clone().unwrap_or_default(),
    ));
    let run = p.rate_limit.as_ref().unwrap();
    want.push((
        "rate_limit.remaining".into(),
        run.remaining.unwrap().to_string(),
    ));
    want.push(("rate_limit.limit".into(), run.limit.unwrap().to_string()));
    want.push(("rate_limit.users_done".into(), run.users_done.to_string()));
    want
}

#[tokio::test]
async fn admin_needs_the_bearer_token_when_one_is_set() {
    // Arrange
    let app = app(Some(TOKEN)).await;
    let bearer = format!("Bearer {TOKEN}");
    for path in ["/admin", "/admin/status.json"] {
        // Act + Assert: refused without the right header, whatever else.
        let missing = get(&app, path, None).await;
        assert_eq!(missing.status(), 401, "{path}");
        assert_eq!(missing.headers()["www-authenticate"], "Bearer");
        let body = missing.text().await.unwrap();
        assert!(!body.contains("waiting"), "nothing leaks: {body}");
        let wrong = get(&app, path, Some("Bearer admin-token-6f1c0e9a2b7d4c86")).await;
        assert_eq!(wrong.status(), 401, "{path}");
        let no_scheme = get(&app, path, Some(TOKEN)).await;
        assert_eq!(no_scheme.status(), 401, "{path}");
        let in_url = get(&app, &format!("{path}?token={TOKEN}"), None).await;
        assert_eq!(in_url.status(), 401, "a token in the URL is not accepted");
        let right = get(&app, path, Some(&bearer)).await;
        assert_eq!(right.status(), 200, "{path}");
        assert_eq!(right.headers()["cache-control"], "no-store");
    }
    // The JSON is the status document, with the ledger's figures.
    let json: Progress = get(&app, "/admin/status.json", Some(&bearer))
        .await
        .json()
        .await
        .unwrap();
    assert_seeded_figures(&json);
    assert_eq!(
        without_clock(json),
        without_clock(app.ledger().progress().await.unwrap())
    );
    let metrics = app.state.metrics.render();
    for line in [
        "passbridge_admin_refused_total{reason=\"missing_token\"} 4",
        "passbridge_admin_refused_total{reason=\"wrong_token\"} 4",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    assert!(
        !captured_logs().contains(TOKEN),
        "the token is never logged"
    );
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn admin_without_a_token_answers_loopback_peers_only() {
    // Arrange
    let app = app(None).await;
    let router = passbridge::startup::admin_router(app.state.clone());
    let from = |peer: Option<&str>| {
        let mut req = Request::builder().uri("/admin");
        if let Some(p) = peer {
            req = req.extension(PeerAddr(p.parse().unwrap()));
        }
        req.body(Body::empty()).unwrap()
    };
    // Act
    let local = get(&app, "/admin", None).await;
    let remote = router
        .clone()
        .oneshot(from(Some("203.0.113.7:40000")))
        .await
        .unwrap();
    let unknown = router.clone().oneshot(from(None)).await.unwrap();
    let nowhere = router
        .clone()
        .oneshot(
            Request::builder()
                .uri("/no-such-page")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    // Assert
    assert_eq!(local.status(), 200);
    assert!(local
        .text()
        .await
        .unwrap()
        .contains("data-figure=\"hook.waiting\">4<"));
    let body = |r: axum::response::Response| async move {
        axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap()
    };
    assert_eq!(remote.status(), 404);
    assert_eq!(unknown.status(), 404);
    let not_found = body(nowhere).await;
    assert_eq!(body(remote).await, not_found, "looks like no page at all");
    assert_eq!(body(unknown).await, not_found);
    let metrics = app.state.metrics.render();
    assert!(
        metrics.contains("passbridge_admin_refused_total{reason=\"not_loopback\"} 2"),
        "{metrics}"
    );
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_gauges_carry_the_same_figures() {
    let app = app(None).await;
    assert_eq!(get(&app, "/admin/status.json", None).await.status(), 200);
    let metrics = get(&app, "/metrics", None).await.text().await.unwrap();
    for line in [
        "passbridge_migration_users{source=\"legacy\",scheme=\"md5_crypt\",figure=\"waiting\"} 3",
        "passbridge_migration_users{source=\"legacy\",scheme=\"argon2id\",figure=\"confirmed\"} 1",
        "passbridge_migration_users{source=\"legacy\",scheme=\"none\",figure=\"failed\"} 1",
        "passbridge_migration_stragglers{source=\"legacy\",scheme=\"md5_crypt\",older_than_days=\"90\"} 1",
        "passbridge_import_rate_limit_remaining 42",
        "passbridge_import_rate_limit_limit 600",
        "passbridge_import_run_users_done 4",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    assert!(metrics.contains("passbridge_migration_verified_per_day 0.2857"));
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_ledger_that_is_down_gets_a_503_page_not_a_hang() {
    // Arrange: the figures were never computed, then the ledger goes away.
    let app = app(None).await;
    app.ledger().pool().close().await;
    // Act
    let page = get(&app, "/admin", None).await;
    let json = get(&app, "/admin/status.json", None).await;
    // Assert
    assert_eq!(page.status(), 503);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("the ledger is unavailable"));
    assert_eq!(json.status(), 503);
    let body: serde_json::Value = json.json().await.unwrap();
    assert_eq!(body["error"], "ledger_unavailable");
    let metrics = app.state.metrics.render();
    assert!(
        metrics.contains("passbridge_migration_progress_errors_total 1"),
        "one computation for both requests (the failure is cached): {metrics}"
    );
}

#[tokio::test]
#[cfg_attr(
    not(passbridge_test_chromium),
    ignore = "skipped: set PASSBRIDGE_TEST_CHROMIUM to a chromium binary to render /admin in a browser"
)]
async fn dashboard_renders_in_headless_chromium() {
    // Arrange: loopback-only mode (--dump-dom cannot send a header).
    let chromium = std::env::var("PASSBRIDGE_TEST_CHROMIUM")
        .expect("PASSBRIDGE_TEST_CHROMIUM was set when the tests were built; set it again");
    let app = app(None).await;
    let profile = tempfile::tempdir().unwrap();
    // Act
    let run = tokio::process::Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("{}/admin", app.admin_address))
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), run)
        .await
        .expect("chromium finishes")
        .expect("chromium starts");
    // Assert
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && dom.contains("</html>"),
        "chromium: {}\n{dom}",
        String::from_utf8_lossy(&out.stderr)
    );
    for id in ["burndown-chart", "verdicts-chart"] {
        assert!(
            dom.contains(&format!("<svg id=\"{id}\"")),
            "chart {id} in\n{dom}"
        );
    }
    assert!(dom.contains("<polyline"), "the burn-down has a line");
    assert!(dom.contains("<rect"), "the verdicts chart has bars");
    let shown = figures_in(&dom);
    let ledger = app.ledger().progress().await.unwrap();
    assert_seeded_figures(&ledger);
    for (name, value) in expected_figures(&ledger) {
        assert_eq!(
            shown.get(&name),
            Some(&value),
            "figure {name} in\n{shown:#?}"
        );
    }
    app.shutdown().await.unwrap();
}

#[test]
fn the_grafana_board_uses_only_metrics_we_export() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let board: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("deploy/grafana/passbridge.json")).unwrap(),
    )
    .unwrap();
    let exported = passbridge::metrics::Metrics::new().render();
    let mut used = Vec::new();
    for panel in board["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let mut rest = expr;
            while let Some(at) = rest.find("passbridge_") {
                let name: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                rest = &rest[at + name.len()..];
                used.push(name);
            }
        }
    }
    assert!(used.len() > 10, "{used:?}");
    for name in used {
        let gauge = exported.contains(&format!("# TYPE {name} "));
        let counter = name
            .strip_suffix("_total")
            .is_some_and(|family| exported.contains(&format!("# TYPE {family} counter")));
        assert!(gauge || counter, "{name} is not a passbridge metric");
    }
}
