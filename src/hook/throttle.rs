//! Attempt throttling. The hook answers "is this the password?" for anyone
//! who can make Okta call it, so guesses are limited per legacy row and
//! end-user IP, per row, and per IP, in the ledger database (a restart does
//! not forget, replicas sharing a ledger enforce one limit).
//!
//! An attempt is *reserved* before any verification, atomically, so a burst
//! can never evaluate more wrong guesses than a limit allows; a wrong password
//! keeps its reservation, a right one gives its own back. See
//! `docs/security.md` § Throttling for why the keys are what they are.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tracing::warn;
use unicode_normalization::UnicodeNormalization;

use crate::config::HookSettings;
use crate::ledger::{
    now_ms, Counter, CounterChange, CounterOutcome, GroupCommit, Ledger, LedgerError,
};
use crate::legacy::LegacyUser;

/// Throttle statements wait at most this long for the ledger, then the
/// attempt fails closed (the hook's budget bounds the whole answer anyway).
/// The longest the counters in the ledger are waited for (less when the
/// request's deadline is nearer; the in-process mirror then decides).
const LEDGER_TIMEOUT: Duration = Duration::from_secs(1);

/// Bounded memory for the in-process counters.
const LOCAL_CAPACITY: usize = 100_000;
/// The in-process counters forget after this (or the window, if shorter):
/// long enough to bound a burst or an outage, short enough that
/// `passbridge throttle clear` (another process) takes effect within it.
const LOCAL_WINDOW_MS: i64 = 60_000;

/// Bytes of SHA-256 kept in a key: 128 bits, collisions irrelevant.
const DIGEST_BYTES: usize = 16;

/// Expired counters are deleted at most this often.
const SWEEP_EVERY_MS: i64 = 60_000;

/// Effective limits: `[hook.throttle]` with its aliases resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    /// Per (row, IP).
    pub per_row_ip: u32,
    /// Per row.
    pub per_row: u32,
    /// Per IP.
    pub per_ip: u32,
    /// Window, starting at a counter's first attempt.
    pub window: Duration,
}

impl ThrottleLimits {
    /// `hook.throttle.*`, falling back to `hook.max_failures_per_user` and
    /// `hook.failure_window` (kept as aliases).
    pub fn from_settings(hook: &HookSettings) -> Self {
        Self {
            per_row_ip: hook
                .throttle
                .per_row_ip
                .unwrap_or(hook.max_failures_per_user),
            per_row: hook.throttle.per_row,
            per_ip: hook.throttle.per_ip,
            window: hook.throttle.window.unwrap_or(hook.failure_window),
        }
    }
}

/// Whose guesses are counted: the legacy row the lookup returned, or, for
/// an unknown login, its normalised username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject(String);

impl Subject {
    /// The row's `id` column when the query returns one, else a digest of
    /// its stored hash: every spelling that reaches the row shares the key.
    pub fn for_row(user: &LegacyUser) -> Self {
        use secrecy::ExposeSecret;
        let digest = match &user.id {
            Some(id) => digest(b"passbridge/throttle/row-id", id.as_bytes()),
            None => digest(
                b"passbridge/throttle/row-hash",
                user.password_hash.expose_secret().as_bytes(),
            ),
        };
        Self(format!("row:{digest}"))
    }

    /// No row: the username, NFKC-normalised, case-folded and trimmed.
    pub fn for_unknown(username: &str) -> Self {
        let digest = digest(
            b"passbridge/throttle/user",
            normalise_username(username).as_bytes(),
        );
        Self(format!("user:{digest}"))
    }

    /// The counter key.
    pub fn key(&self) -> &str {
        &self.0
    }
}

/// NFKC, lower-cased, trimmed (and NFKC again: lower-casing can denormalise).
pub fn normalise_username(username: &str) -> String {
    let folded = username.nfkc().collect::<String>().to_lowercase();
    folded.trim().nfkc().collect()
}

fn digest(domain: &[u8], value: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(domain);
    h.update([0u8]);
    h.update(value);
    let out = h.finalize();
    hex::encode(out.get(..DIGEST_BYTES).unwrap_or_default())
}

/// The end user's IP as a counter bucket: an IPv4 address, an IPv6 /64
/// (one subscriber usually holds a whole /64), or `unknown` when Okta sent
/// none or something that is not an IP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpBucket(String);

impl IpBucket {
    /// From `data.context.request.ipAddress`.
    pub fn from_okta(ip: Option<&str>) -> Self {
        let parsed = ip.and_then(|s| s.trim().parse::<IpAddr>().ok());
        Self(match parsed {
            Some(IpAddr::V4(v4)) => v4.to_string(),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                    format!("{net}/64")
                }
            },
            None => "unknown".to_owned(),
        })
    }

    /// The bucket's text (`203.0.113.7`, `2001:db8:1:2::/64`, `unknown`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn key(&self) -> String {
        format!("ip:{}", self.0)
    }
}

/// Which limit refused an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Per (row, IP).
    RowIp,
    /// Per row.
    Row,
    /// Per IP.
    Ip,
}

impl Scope {
    /// Metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RowIp => "row_ip",
            Self::Row => "row",
            Self::Ip => "ip",
        }
    }
}

/// The outcome of [`Throttle::reserve`].
#[derive(Debug)]
pub enum Reservation {
    /// The attempt may be verified.
    Granted(Granted),
    /// A limit is used up: answer without verifying the real hash.
    Denied(Scope),
    /// Neither the ledger's counters nor the in-process fallback could
    /// count the attempt: fail closed.
    Unavailable,
}

/// A reserved attempt; hand it back with [`Throttle::succeeded`] after a match.
#[derive(Debug)]
pub struct Granted {
    subject: String,
    row_ip: String,
    ip: String,
    /// Counted in the process because the ledger could not be used.
    pub local: bool,
}

/// Counters cleared by `passbridge throttle clear`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleared {
    /// Counter rows deleted.
    pub counters: u64,
}

/// The throttle.
pub struct Throttle {
    ledger: Ledger,
    /// Reservations and give-backs go through the hook's one ledger writer,
    /// batched with every other attempt arriving at the same time.
    writer: GroupCommit,
    limits: ThrottleLimits,
    last_sweep_ms: AtomicI64,
    /// The same limits counted in this process (see [`Throttle::reserve`]):
    /// a ledger outage neither stops sign-ins (their verdicts go to the
    /// spool) nor opens an unthrottled oracle.
    local: Mutex<HashMap<String, (u32, i64)>>,
}

impl Throttle {
    /// Counters in `ledger`, changed through `writer`, limits as given.
    pub fn new(ledger: Ledger, writer: GroupCommit, limits: ThrottleLimits) -> Self {
        Self {
            ledger,
            writer,
            limits,
            last_sweep_ms: AtomicI64::new(0),
            local: Mutex::new(HashMap::new()),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> ThrottleLimits {
        self.limits
    }

    fn window_ms(&self) -> i64 {
        i64::try_from(self.limits.window.as_millis()).unwrap_or(i64::MAX)
    }

    /// Reserves one attempt for `subject` from `ip` under every limit, or none.
    /// The ledger is waited for until `by` at the latest.
    pub async fn reserve(
        &self,
        subject: &Subject,
        ip: &IpBucket,
        by: std::time::Instant,
    ) -> Reservation {
        let granted = Granted {
            subject: subject.key().to_owned(),
            row_ip: format!("{}@{}", subject.key(), ip.as_str()),
            ip: ip.key(),
            local: false,
        };
        let now = now_ms();
        let expired_before = now.saturating_sub(self.window_ms());
        self.maybe_sweep(now, expired_before);
        // Every attempt is also counted in the process (over at most the
        // last minute). The ledger decides; when it cannot (down, slow), this
        // mirror does, so an outage neither stops sign-ins nor lets a burst
        // through unbounded.
        let local_steps = [
            (Scope::RowIp, granted.row_ip.clone(), self.limits.per_row_ip),
            (Scope::Row, granted.subject.clone(), self.limits.per_row),
            (Scope::Ip, granted.ip.clone(), self.limits.per_ip),
        ];
        let local_expired_before = expired_before.max(now.saturating_sub(LOCAL_WINDOW_MS));
        let mirrored = self.count_locally(&local_steps, now, local_expired_before);
        // Only the limits in force are counted; a refusal names its scope.
        let (scopes, counters): (Vec<Scope>, Vec<Counter>) = local_steps
            .iter()
            .filter(|(_, _, limit)| *limit > 0)
            .map(|(scope, key, limit)| {
                (
                    *scope,
                    Counter {
                        key: key.clone(),
                        limit: *limit,
                    },
                )
            })
            .unzip();
        if counters.is_empty() {
            return Reservation::Granted(granted);
        }
        let work = self
            .writer
            .counters(CounterChange::Reserve(counters), self.window_ms());
        let wait = LEDGER_TIMEOUT.min(by.saturating_duration_since(std::time::Instant::now()));
        let failed = match tokio::time::timeout(wait, work).await {
            Ok(Ok(CounterOutcome::Refused(i))) => {
                return Reservation::Denied(scopes.get(i).copied().unwrap_or(Scope::RowIp))
            }
            Ok(Ok(_)) => return Reservation::Granted(granted),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "timed out".to_owned(),
        };
        warn!(error = %failed, "throttle counters in the ledger unavailable; the in-process count decides");
        match mirrored {
            Some(Ok(())) => Reservation::Granted(Granted {
                local: true,
                ..granted
            }),
            Some(Err(scope)) => Reservation::Denied(scope),
            None => Reservation::Unavailable,
        }
    }

    /// Counts the attempt in the process under every limit; `Err(scope)`
    /// when it is over one (the count still includes it: the mirror errs on
    /// the side of refusing). `None` when the counters cannot be used.
    fn count_locally(
        &self,
        steps: &[(Scope, String, u32)],
        now: i64,
        expired_before: i64,
    ) -> Option<Result<(), Scope>> {
        let mut local = self.local.lock().ok()?;
        if local.len() >= LOCAL_CAPACITY {
            local.retain(|_, (_, since)| *since > expired_before);
            if local.len() >= LOCAL_CAPACITY {
                return None;
            }
        }
        let mut over = None;
        for (scope, key, limit) in steps {
            if *limit == 0 {
                continue;
            }
            let entry = local.entry(key.clone()).or_insert((0, now));
            if entry.1 <= expired_before {
                *entry = (0, now);
            }
            entry.0 += 1;
            if entry.0 > *limit && over.is_none() {
                over = Some(*scope);
            }
        }
        Some(over.map_or(Ok(()), Err))
    }

    /// The reserved attempt was the right password: it gives its place back
    /// in every counter, so successes never add up (an admin's repeated
    /// `hook test`), while the failures before it keep theirs. Counters are
    /// not reset: after a VERIFIED Okta holds the password and stops calling
    /// for that user, so a reset would buy the user nothing and would hand a
    /// burst still in flight a fresh allowance. A failure here only leaves
    /// the counters higher, so it is logged, not returned.
    pub async fn succeeded(&self, granted: Granted) {
        if let Ok(mut local) = self.local.lock() {
            for key in [&granted.row_ip, &granted.subject, &granted.ip] {
                if let Some((n, _)) = local.get_mut(key) {
                    *n = n.saturating_sub(1);
                }
            }
        }
        if granted.local {
            return;
        }
        // Queued, not awaited: the VERIFIED must not wait on bookkeeping.
        let keys = vec![granted.row_ip, granted.subject, granted.ip];
        if !self
            .writer
            .counters_later(CounterChange::Release(keys), self.window_ms())
        {
            warn!("the ledger writer is full; a VERIFIED's throttle attempt is not given back");
        }
    }

    /// Deletes `subject`'s counters, from every IP.
    ///
    /// # Errors
    /// The ledger failed.
    pub async fn clear_subject(&self, subject: &Subject) -> Result<Cleared, LedgerError> {
        let own = self.ledger.throttle_reset(subject.key()).await?;
        let per_ip = self
            .ledger
            .throttle_reset_prefix(&format!("{}@", subject.key()))
            .await?;
        Ok(Cleared {
            counters: own + per_ip,
        })
    }

    /// Deletes `ip`'s own counter (not the per-row ones).
    ///
    /// # Errors
    /// The ledger failed.
    pub async fn clear_ip(&self, ip: &IpBucket) -> Result<Cleared, LedgerError> {
        Ok(Cleared {
            counters: self.ledger.throttle_reset(&ip.key()).await?,
        })
    }

    /// Attempts counted now for `subject` (all IPs), `subject` from `ip`, and `ip`.
    ///
    /// # Errors
    /// The ledger failed.
    pub async fn attempts(
        &self,
        subject: &Subject,
        ip: &IpBucket,
    ) -> Result<(i64, i64, i64), LedgerError> {
        let expired_before = now_ms().saturating_sub(self.window_ms());
        let row_ip = format!("{}@{}", subject.key(), ip.as_str());
        Ok((
            self.ledger
                .throttle_attempts(subject.key(), expired_before)
                .await?,
            self.ledger
                .throttle_attempts(&row_ip, expired_before)
                .await?,
            self.ledger
                .throttle_attempts(&ip.key(), expired_before)
                .await?,
        ))
    }

    /// Deletes expired counters in the background, at most once a minute,
    /// so the table stays as small as the traffic of one window.
    fn maybe_sweep(&self, now: i64, expired_before: i64) {
        let last = self.last_sweep_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < SWEEP_EVERY_MS
            || self
                .last_sweep_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let ledger = self.ledger.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(LEDGER_TIMEOUT * 5, ledger.throttle_sweep(expired_before))
                .await
            {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => warn!(error = %e, "sweeping expired throttle counters failed"),
                Err(_) => warn!("sweeping expired throttle counters timed out"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use secrecy::SecretString;

    fn user(hash: &str, id: Option<&str>) -> LegacyUser {
        LegacyUser {
            password_hash: SecretString::from(hash.to_owned()),
            salt: None,
            scheme: None,
            id: id.map(str::to_owned),
        }
    }

    #[test]
    fn usernames_normalise_case_space_and_compatibility_forms() {
        assert_eq!(
            normalise_username("  Alice@Example.COM "),
            "alice@example.com"
        );
        // Fullwidth letters (NFKC) and a trailing no-break space.
        assert_eq!(normalise_username("ＡＬＩＣＥ\u{a0}"), "alice");
        assert_eq!(
            Subject::for_unknown("Bob@x.org "),
            Subject::for_unknown("bob@X.ORG")
        );
        assert_ne!(Subject::for_unknown("bob"), Subject::for_unknown("rob"));
    }

    #[test]
    fn row_keys_prefer_the_id_and_never_contain_the_hash() {
        let hash = "$2b$10$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01";
        let by_hash = Subject::for_row(&user(hash, None));
        assert!(!by_hash.key().contains("abcdefghij"));
        assert_eq!(by_hash, Subject::for_row(&user(hash, None)));
        assert_ne!(by_hash, Subject::for_row(&user("other", None)));
        let by_id = Subject::for_row(&user(hash, Some("42")));
        assert_eq!(by_id, Subject::for_row(&user("changed", Some("42"))));
        assert_ne!(by_id, by_hash);
        // Bounded: fits the VARCHAR(128) key with an IP bucket appended.
        assert_eq!(by_id.key().len(), "row:".len() + 2 * DIGEST_BYTES);
    }

    #[test]
    fn ip_buckets() {
        assert_eq!(
            IpBucket::from_okta(Some(" 66.124.153.138")).as_str(),
            "66.124.153.138"
        );
        assert_eq!(
            IpBucket::from_okta(Some("2001:db8:1:2:aaaa::1")).as_str(),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            IpBucket::from_okta(Some("2001:db8:1:2:bbbb::9")),
            IpBucket::from_okta(Some("2001:db8:1:2:aaaa::1"))
        );
        assert_eq!(
            IpBucket::from_okta(Some("::ffff:10.0.0.1")).as_str(),
            "10.0.0.1"
        );
        assert_eq!(IpBucket::from_okta(None).as_str(), "unknown");
        assert_eq!(IpBucket::from_okta(Some("not an ip\n")).as_str(), "unknown");
    }

    #[test]
    fn limits_fall_back_to_the_aliases() {
        let mut hook = HookSettings::default();
        assert_eq!(
            ThrottleLimits::from_settings(&hook),
            ThrottleLimits {
                per_row_ip: 10,
                per_row: 50,
                per_ip: 100,
                window: Duration::from_secs(900)
            }
        );
        hook.max_failures_per_user = 3;
        hook.failure_window = Duration::from_secs(60);
        let l = ThrottleLimits::from_settings(&hook);
        assert_eq!((l.per_row_ip, l.window), (3, Duration::from_secs(60)));
        hook.throttle.per_row_ip = Some(7);
        hook.throttle.window = Some(Duration::from_secs(5));
        let l = ThrottleLimits::from_settings(&hook);
        assert_eq!((l.per_row_ip, l.window), (7, Duration::from_secs(5)));
    }

    #[test]
    fn env_and_toml_keys() {
        let env: Vec<(String, String)> = [
            ("PASSBRIDGE_THROTTLE_PER_ROW_IP", "4"),
            ("PASSBRIDGE_THROTTLE_PER_ROW", "20"),
            ("PASSBRIDGE_THROTTLE_PER_IP", "30"),
            ("PASSBRIDGE_THROTTLE_WINDOW", "5m"),
            ("PASSBRIDGE_HOOK_REPLAY_WINDOW", "2m"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let (s, src) = crate::config::load(None, &env).unwrap();
        assert!(src.unknown_env.is_empty(), "{:?}", src.unknown_env);
        assert_eq!(
            ThrottleLimits::from_settings(&s.hook),
            ThrottleLimits {
                per_row_ip: 4,
                per_row: 20,
                per_ip: 30,
                window: Duration::from_secs(300)
            }
        );
        assert_eq!(s.hook.replay_window, Duration::from_secs(120));
        let parsed: crate::config::Settings = toml::from_str(
            "[hook]\nreplay_window = \"1m\"\n[hook.throttle]\nper_row_ip = 2\nper_row = 3\nper_ip = 4\nwindow = \"10s\"\n",
        )
        .unwrap();
        assert_eq!(ThrottleLimits::from_settings(&parsed.hook).per_ip, 4);
        assert_eq!(parsed.hook.replay_window, Duration::from_secs(60));
    }
}
