//! Bounds and cleans caller-controlled text before it is stored, so that no
//! input can make a ledger insert fail on any engine: control characters
//! (NUL is refused by PostgreSQL `text`) are escaped as in the logs, and the
//! result is cut on a character boundary to the column's width (PostgreSQL
//! and MariaDB count characters in `VARCHAR(n)`; SQLite does not check).

use crate::telemetry::Escaped;

/// `hook_calls.event_id` is `VARCHAR(255)`.
pub const EVENT_ID_CHARS: usize = 255;
/// `hook_calls.request_id` is `VARCHAR(64)`.
pub const REQUEST_ID_CHARS: usize = 64;
/// `hook_calls.username` is `VARCHAR(320)`.
pub const USERNAME_CHARS: usize = 320;
/// `hook_calls.scheme` is `VARCHAR(64)`.
pub const SCHEME_CHARS: usize = 64;

/// `text` with control characters escaped, at most `max_chars` characters.
pub fn bounded(text: &str, max_chars: usize) -> String {
    let escaped = Escaped(text).to_string();
    match escaped.char_indices().nth(max_chars) {
        Some((cut, _)) => escaped[..cut].to_owned(),
        None => escaped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let long = "é".repeat(300);
        let cut = bounded(&long, 255);
        assert_eq!(cut.chars().count(), 255);
        assert!(long.starts_with(&cut));
        let four_byte = "😀".repeat(70);
        assert_eq!(bounded(&four_byte, 64).chars().count(), 64);
    }

    #[test]
    fn nul_and_escapes_never_reach_storage() {
        let stored = bounded("a\0b\x1b[31m", USERNAME_CHARS);
        assert_eq!(stored, "a\\u{0}b\\u{1b}[31m");
        assert!(!stored.contains('\0'));
    }

    #[test]
    fn short_clean_text_is_unchanged() {
        assert_eq!(
            bounded("ann@example.com", USERNAME_CHARS),
            "ann@example.com"
        );
        assert_eq!(bounded("", 0), "");
        assert_eq!(bounded("abc", 0), "");
    }
}
