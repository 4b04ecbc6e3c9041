//! Per-username failure counting. The hook answers "is this the password?"
//! for anyone holding the hook secret, so after too many wrong passwords in a
//! window a username gets UNVERIFIED without any lookup or hashing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bounded memory: beyond this many tracked usernames, expired entries are swept.
const SWEEP_THRESHOLD: usize = 10_000;

/// Failure counts per username in a sliding window.
pub struct FailureThrottle {
    max_failures: u32,
    window: Duration,
    entries: Mutex<HashMap<String, (u32, Instant)>>,
}

impl FailureThrottle {
    /// `max_failures == 0` disables the throttle.
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `username` has used up its failures for now.
    pub fn is_blocked(&self, username: &str) -> bool {
        if self.max_failures == 0 {
            return false;
        }
        let Ok(entries) = self.entries.lock() else {
            return false;
        };
        entries.get(username).is_some_and(|(count, since)| {
            *count >= self.max_failures && since.elapsed() < self.window
        })
    }

    /// Counts a wrong password.
    pub fn record_failure(&self, username: &str) {
        if self.max_failures == 0 {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= SWEEP_THRESHOLD {
            let window = self.window;
            entries.retain(|_, (_, since)| since.elapsed() < window);
        }
        let entry = entries
            .entry(username.to_owned())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    /// Forgets `username` after a success.
    pub fn record_success(&self, username: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(username);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_and_resets_on_success() {
        let t = FailureThrottle::new(2, Duration::from_secs(60));
        t.record_failure("a");
        assert!(!t.is_blocked("a"));
        t.record_failure("a");
        assert!(t.is_blocked("a"));
        assert!(!t.is_blocked("b"));
        t.record_success("a");
        assert!(!t.is_blocked("a"));
    }

    #[test]
    fn window_expiry_unblocks() {
        let t = FailureThrottle::new(1, Duration::from_millis(1));
        t.record_failure("a");
        std::thread::sleep(Duration::from_millis(5));
        assert!(!t.is_blocked("a"));
        assert!(!FailureThrottle::new(0, Duration::from_secs(1)).is_blocked("x"));
    }
}
