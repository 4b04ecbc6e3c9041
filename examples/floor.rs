//! The floor for hook-overhead benchmarks: a bare axum endpoint that answers
//! every `POST /hooks/password-import` with the same VERIFIED command, on the
//! same runtime flavour passbridge uses, doing no auth, no lookup, no hashing
//! and no ledger write. Whatever passbridge adds on top of this is ours.
//! Loopback only. See `scripts/hook-vs-floor.sh`.
//!
//! Usage: cargo run --release --example floor -- [PORT]

use axum::http::header;
use axum::routing::post;
use axum::Router;

const VERIFIED: &str =
    r#"{"commands":[{"type":"com.okta.action.update","value":{"credential":"VERIFIED"}}]}"#;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(18190);
    // The body is read like the hook reads it, then ignored.
    let app = Router::new().route(
        "/hooks/password-import",
        post(|_body: axum::body::Bytes| async {
            ([(header::CONTENT_TYPE, "application/json")], VERIFIED)
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await
}
