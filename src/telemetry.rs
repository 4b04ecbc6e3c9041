//! Logging setup and the one helper that moves CPU-heavy work off the async
//! workers while keeping its tracing span.
//!
//! Nothing in passbridge logs a password, a hash, a hook secret or an API
//! token: those live in `SecretString`s and log fields are opted in one by one.

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Registry};

use crate::config::LogFormat;

/// Builds a subscriber writing to `writer` (stderr in production, a buffer in tests).
/// `RUST_LOG`, when set, overrides `default_filter`.
pub fn subscriber<W>(
    default_filter: &str,
    format: LogFormat,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = Registry::default().with(filter);
    match format {
        LogFormat::Json => Box::new(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(writer),
            ),
        ),
        LogFormat::Pretty => Box::new(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    // Colours only on a terminal: log files and collectors get plain text.
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                    .with_writer(writer),
            ),
        ),
    }
}

/// Installs `subscriber` globally; a second call is ignored (tests call it per test).
pub fn init(subscriber: Box<dyn Subscriber + Send + Sync>) {
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Runs `f` on tokio's blocking pool inside the caller's span. Password
/// hashing goes through here: a KDF on an async worker would stall every
/// other request on that worker.
pub fn spawn_blocking_in_span<F, R>(f: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
}

/// Displays caller-controlled text with control characters escaped
/// (`\n`, `\u{1b}`, `\u{0}`, …), so a username cannot forge a log line,
/// recolour a terminal or hide text. Everything else is shown as sent.
/// The ledger stores caller text through the same escaping.
pub struct Escaped<'a>(pub &'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        for c in self.0.chars() {
            if needs_escape(c) {
                for e in c.escape_default() {
                    f.write_char(e)?;
                }
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// C0/C1 controls and DEL, plus the Unicode line separators and bidi
/// overrides that can reorder or split what a reader sees.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::Escaped;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(
            Escaped("a\nb\r\x1b[31mc\0d\u{7f}\u{202e}").to_string(),
            "a\\nb\\r\\u{1b}[31mc\\u{0}d\\u{7f}\\u{202e}"
        );
        let plain = "ann.o'neil+x@exämple.com \\ 𝔘";
        assert_eq!(Escaped(plain).to_string(), plain);
    }
}
