//! Hashing stays off the async workers, unknown users cost a real
//! verification, and shutdown lets in-flight requests finish.

use passbridge::db::DbKind;

use crate::helpers::{spawn_app, spawn_app_with, TestDb};

/// bcrypt cost 12: slow enough (~250 ms) that blocking a worker would be visible.
fn slow_bcrypt(password: &str) -> String {
    bcrypt::hash(password, 12).unwrap()
}

// `#[tokio::test]` runs on ONE thread. If verification ran on that thread,
// the health check sent after the hook request could not be answered until
// the hash finished; it must come back first.
#[tokio::test]
async fn verification_does_not_block_the_runtime() {
    let app = spawn_app(DbKind::Sqlite).await.unwrap();
    app.db
        .insert_user("slow@example.com", &slow_bcrypt("pw-slow"), None, None)
        .await;

    let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let hook = {
        let order = order.clone();
        let fut = app.verdict("slow@example.com", "pw-slow");
        async move {
            let v = fut.await;
            order.lock().unwrap().push("hook");
            v
        }
    };
    let health = {
        let order = order.clone();
        let client = app.client.clone();
        let url = format!("{}/healthz", app.address);
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let status = client.get(url).send().await.unwrap().status();
            order.lock().unwrap().push("health");
            status
        }
    };
    let (verdict, status) = tokio::join!(hook, health);

    assert_eq!(verdict, "VERIFIED");
    assert_eq!(status, 200);
    assert_eq!(*order.lock().unwrap(), ["health", "hook"]);
}

#[tokio::test]
async fn unknown_users_are_verified_against_the_dummy_hash() {
    let app = spawn_app(DbKind::Sqlite).await.unwrap();
    assert_eq!(
        app.verdict("ghost@example.com", "anything").await,
        "UNVERIFIED"
    );
    let metrics = app.state.metrics.render();
    assert!(
        metrics.contains(r#"passbridge_verify_seconds_count{scheme="dummy"} 1"#),
        "the dummy bcrypt verification ran: {metrics}"
    );
}

#[tokio::test]
async fn cost_over_the_ceiling_is_refused_without_hashing() {
    let app = spawn_app(DbKind::Sqlite).await.unwrap();
    // A bcrypt cost of 31 would take days; the ceiling refuses it at parse time.
    let absurd = "$2b$31$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui";
    app.db
        .insert_user("absurd@example.com", absurd, None, None)
        .await;

    assert_eq!(app.verdict("absurd@example.com", "x").await, "UNVERIFIED");
    assert_eq!(app.reasons("absurd@example.com").await, ["cost_too_high"]);
}

#[tokio::test]
async fn budget_exceeded_answers_unverified_in_time() {
    let db = TestDb::create(DbKind::Sqlite).await.unwrap();
    db.create_users_table().await;
    db.insert_user("slow@example.com", &slow_bcrypt("pw"), None, None)
        .await;
    let app = spawn_app_with(db, |s| {
        s.hook.budget = std::time::Duration::from_millis(100)
    })
    .await;

    let started = std::time::Instant::now();
    assert_eq!(app.verdict("slow@example.com", "pw").await, "UNVERIFIED");
    assert!(started.elapsed() < std::time::Duration::from_millis(600));
    // bcrypt-12 takes longer than 100 ms: refused before hashing.
    assert_eq!(app.reasons("slow@example.com").await, ["cost_too_high"]);
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests() {
    let mut app = spawn_app(DbKind::Sqlite).await.unwrap();
    app.db
        .insert_user("inflight@example.com", &slow_bcrypt("pw-in"), None, None)
        .await;

    let stop_switch = app.take_stop();
    let metrics = app.state.metrics.clone();
    let request = app.verdict("inflight@example.com", "pw-in");
    // Signal shutdown once the verification is really running, however
    // slow the machine is.
    let stop = async move {
        while metrics.verifications_in_flight.get() == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        stop_switch.send(()).unwrap();
    };
    let (verdict, ()) = tokio::join!(request, stop);

    assert_eq!(verdict, "VERIFIED");
    let stopped = app.stopped.take().unwrap().await.unwrap();
    assert!(stopped.is_ok(), "{stopped:?}");
    assert!(
        app.client
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .is_err(),
        "no longer accepting"
    );
}
