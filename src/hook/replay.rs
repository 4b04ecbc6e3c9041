//! Okta retries a hook call once after a timeout, with the same `eventId`.
//! A repeat with the same password within `hook.replay_window` gets the first
//! answer without hashing again; one that arrives while the first is still
//! being decided waits for it (single flight). A repeat with a different
//! password is a new attempt.
//!
//! Passwords are compared by HMAC-SHA256 under a random key made at start-up
//! and kept only in this process's memory: nothing derived from a password
//! ever reaches a database, and the MACs are worthless after a restart.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tokio::sync::watch;

/// At most this many remembered calls (about 400 bytes each).
pub const MAX_ENTRIES: usize = 10_000;

/// `eventId`s longer than this are not remembered (Okta's are ~20 characters).
pub const MAX_EVENT_ID_BYTES: usize = 255;

type Tag = [u8; 32];

struct Entry<T> {
    tag: Tag,
    at: Instant,
    generation: u64,
    answer: watch::Receiver<Option<T>>,
}

struct Inner<T> {
    entries: HashMap<String, Entry<T>>,
    /// Every entry made, oldest first (`eventId`, generation), so expired
    /// ones leave from the front: O(1) a call, where a scan of the whole
    /// map under the lock made each call of a flood of fresh `eventId`s
    /// cost `capacity` clock reads.
    order: VecDeque<(Instant, String, u64)>,
    next_generation: u64,
}

impl<T> Inner<T> {
    /// Forgets the entries made `window` or longer before `now`.
    fn expire(&mut self, now: Instant, window: Duration) {
        while let Some((at, _, _)) = self.order.front() {
            if now.saturating_duration_since(*at) < window {
                break;
            }
            if let Some((_, event_id, generation)) = self.order.pop_front() {
                if self
                    .entries
                    .get(&event_id)
                    .is_some_and(|e| e.generation == generation)
                {
                    self.entries.remove(&event_id);
                }
            }
        }
    }

    /// Drops the order's records of entries already forgotten (cancelled
    /// leaders), once they outnumber the live ones: the queue stays within
    /// twice the capacity, at an amortised O(1) a call.
    fn compact(&mut self, capacity: usize) {
        if self.order.len() >= capacity.saturating_mul(2).max(16) {
            let entries = &self.entries;
            self.order
                .retain(|(_, id, g)| entries.get(id).is_some_and(|e| e.generation == *g));
        }
    }
}

/// Remembered answers by `eventId`.
pub struct ReplayCache<T> {
    key: [u8; 32],
    window: Duration,
    capacity: usize,
    inner: Mutex<Inner<T>>,
}

/// What to do with a call.
pub enum Replay<T> {
    /// First of its `eventId`: decide, then [`Leader::finish`].
    Lead(Leader<T>),
    /// Not remembered (no or oversized `eventId`, a different password,
    /// cache full, or replays disabled): decide as usual.
    Bypass,
    /// The same call was answered already: send this again.
    Answered(T),
    /// The same call is being decided: [`wait`] for it.
    Wait(watch::Receiver<Option<T>>),
}

/// The call whose answer duplicates will get. Dropping it unfinished (the
/// request was cancelled) forgets the call, so a retry decides afresh.
pub struct Leader<T> {
    cache: Arc<ReplayCache<T>>,
    event_id: String,
    generation: u64,
    answer: Option<watch::Sender<Option<T>>>,
}

impl<T: Clone> Leader<T> {
    /// Publishes the answer to waiting and later duplicates.
    pub fn finish(mut self, answer: T) {
        if let Some(tx) = self.answer.take() {
            tx.send_replace(Some(answer));
        }
    }
}

impl<T> Drop for Leader<T> {
    fn drop(&mut self) {
        if self.answer.is_some() {
            self.cache.forget(&self.event_id, self.generation);
        }
    }
}

/// Waits for the leader's answer; `None` if it gave up without one.
pub async fn wait<T: Clone>(mut rx: watch::Receiver<Option<T>>) -> Option<T> {
    loop {
        if let Some(answer) = rx.borrow_and_update().clone() {
            return Some(answer);
        }
        if rx.changed().await.is_err() {
            return rx.borrow().clone();
        }
    }
}

impl<T: Clone> ReplayCache<T> {
    /// A cache remembering calls for `window` (zero disables it), with a fresh random key.
    pub fn new(window: Duration) -> Self {
        Self::with_capacity(window, MAX_ENTRIES)
    }

    /// Like [`Self::new`] with another bound (tests).
    pub fn with_capacity(window: Duration, capacity: usize) -> Self {
        use rand::RngCore;
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Self {
            key,
            window,
            capacity,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                order: VecDeque::new(),
                next_generation: 0,
            }),
        }
    }

    fn tag(&self, event_id: &str, username: &str, password: &SecretString) -> Tag {
        let mut tag = [0u8; 32];
        if let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key) {
            // Length-prefixed, so no two (eventId, username) pairs collide.
            for part in [event_id.as_bytes(), username.as_bytes()] {
                mac.update(&(part.len() as u64).to_be_bytes());
                mac.update(part);
            }
            mac.update(password.expose_secret().as_bytes());
            tag.copy_from_slice(&mac.finalize().into_bytes());
        }
        tag
    }

    /// Looks up the call `event_id` for `username` with `password` (a repeat
    /// must match all three to get the first answer).
    pub fn begin(
        self: &Arc<Self>,
        event_id: Option<&str>,
        username: &str,
        password: &SecretString,
    ) -> Replay<T> {
        let Some(event_id) = event_id.filter(|e| !e.is_empty() && e.len() <= MAX_EVENT_ID_BYTES)
        else {
            return Replay::Bypass;
        };
        if self.window.is_zero() {
            return Replay::Bypass;
        }
        let tag = self.tag(event_id, username, password);
        let Ok(mut inner) = self.inner.lock() else {
            return Replay::Bypass;
        };
        let now = Instant::now();
        inner.expire(now, self.window);
        if let Some(entry) = inner.entries.get(event_id) {
            if now.saturating_duration_since(entry.at) < self.window {
                if !bool::from(entry.tag.ct_eq(&tag)) {
                    return Replay::Bypass;
                }
                let answer = entry.answer.borrow().clone();
                return match answer {
                    Some(answer) => Replay::Answered(answer),
                    None => Replay::Wait(entry.answer.clone()),
                };
            }
            inner.entries.remove(event_id);
        }
        if inner.entries.len() >= self.capacity {
            return Replay::Bypass;
        }
        inner.compact(self.capacity);
        let generation = inner.next_generation;
        inner.next_generation += 1;
        let (tx, rx) = watch::channel(None);
        inner.entries.insert(
            event_id.to_owned(),
            Entry {
                tag,
                at: now,
                generation,
                answer: rx,
            },
        );
        inner
            .order
            .push_back((now, event_id.to_owned(), generation));
        Replay::Lead(Leader {
            cache: Arc::clone(self),
            event_id: event_id.to_owned(),
            generation,
            answer: Some(tx),
        })
    }

    /// Calls remembered now (expired ones included until swept).
    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.entries.len()).unwrap_or(0)
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> ReplayCache<T> {
    fn forget(&self, event_id: &str, generation: u64) {
        if let Ok(mut inner) = self.inner.lock() {
            if inner
                .entries
                .get(event_id)
                .is_some_and(|e| e.generation == generation)
            {
                inner.entries.remove(event_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn pw(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    fn cache(window: Duration, cap: usize) -> Arc<ReplayCache<u32>> {
        Arc::new(ReplayCache::with_capacity(window, cap))
    }

    #[test]
    fn same_password_replays_different_password_bypasses() {
        let c = cache(Duration::from_secs(60), 10);
        let Replay::Lead(leader) = c.begin(Some("e1"), "u", &pw("a")) else {
            panic!("first call leads")
        };
        assert!(matches!(
            c.begin(Some("e1"), "u", &pw("a")),
            Replay::Wait(_)
        ));
        leader.finish(7);
        assert!(matches!(
            c.begin(Some("e1"), "u", &pw("a")),
            Replay::Answered(7)
        ));
        assert!(matches!(c.begin(Some("e1"), "u", &pw("b")), Replay::Bypass));
        assert!(matches!(c.begin(Some("e1"), "v", &pw("a")), Replay::Bypass));
        assert!(matches!(c.begin(None, "u", &pw("a")), Replay::Bypass));
        let long = "x".repeat(MAX_EVENT_ID_BYTES + 1);
        assert!(matches!(
            c.begin(Some(&long), "u", &pw("a")),
            Replay::Bypass
        ));
    }

    #[test]
    fn an_abandoned_leader_is_forgotten() {
        let c = cache(Duration::from_secs(60), 10);
        let first = c.begin(Some("e"), "u", &pw("a"));
        assert!(matches!(first, Replay::Lead(_)));
        drop(first);
        assert!(matches!(c.begin(Some("e"), "u", &pw("a")), Replay::Lead(_)));
    }

    #[test]
    fn expiry_and_the_capacity_bound() {
        let c = cache(Duration::from_millis(20), 2);
        for e in ["a", "b"] {
            if let Replay::Lead(l) = c.begin(Some(e), "u", &pw("p")) {
                l.finish(1);
            } else {
                panic!("leads");
            }
        }
        assert!(
            matches!(c.begin(Some("c"), "u", &pw("p")), Replay::Bypass),
            "full"
        );
        std::thread::sleep(Duration::from_millis(30));
        assert!(
            matches!(c.begin(Some("a"), "u", &pw("p")), Replay::Lead(_)),
            "expired"
        );
        assert!(c.len() <= 2);
        let off = cache(Duration::ZERO, 2);
        assert!(matches!(
            off.begin(Some("a"), "u", &pw("p")),
            Replay::Bypass
        ));
    }

    #[test]
    fn a_flood_of_fresh_event_ids_keeps_the_bookkeeping_bounded() {
        let c = cache(Duration::from_secs(60), 4);
        // Cancelled leaders (dropped unfinished) free their place at once;
        // their records in the order must not pile up.
        for i in 0..1_000 {
            let lead = c.begin(Some(&format!("e{i}")), "u", &pw("p"));
            assert!(matches!(lead, Replay::Lead(_)), "call {i} leads");
        }
        assert!(c.is_empty());
        assert!(c.inner.lock().unwrap().order.len() <= 16);
        // Answered ones stay until the window ends; past the capacity, calls
        // are decided as usual rather than remembered.
        for i in 0..10 {
            match c.begin(Some(&format!("kept{i}")), "u", &pw("p")) {
                Replay::Lead(l) => l.finish(i),
                Replay::Bypass => assert!(i >= 4, "call {i} bypassed before the cache was full"),
                _ => panic!("fresh ids lead or bypass"),
            }
        }
        assert_eq!(c.len(), 4);
        assert!(matches!(
            c.begin(Some("kept3"), "u", &pw("p")),
            Replay::Answered(3)
        ));
    }

    #[tokio::test]
    async fn waiters_get_the_leaders_answer() {
        let c = cache(Duration::from_secs(60), 10);
        let Replay::Lead(leader) = c.begin(Some("e"), "u", &pw("a")) else {
            panic!("leads")
        };
        let Replay::Wait(rx) = c.begin(Some("e"), "u", &pw("a")) else {
            panic!("waits")
        };
        let waiter = tokio::spawn(wait(rx));
        tokio::task::yield_now().await;
        leader.finish(42);
        assert_eq!(waiter.await.unwrap(), Some(42));
        let Replay::Lead(leader) = c.begin(Some("f"), "u", &pw("a")) else {
            panic!("leads")
        };
        let Replay::Wait(rx) = c.begin(Some("f"), "u", &pw("a")) else {
            panic!("waits")
        };
        drop(leader);
        assert_eq!(wait(rx).await, None);
    }
}
