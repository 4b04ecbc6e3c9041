//! Deciding each user's path: **native** when Okta can take the stored hash
//! as it is (after a passing conversion self-test and within Okta's rules),
//! **hook** for everything else. Hashes are parsed exactly as the hook
//! service parses them (`scheme` column, else `legacy.scheme`, same hints),
//! so a user sent natively is one the hook would have verified the same way.

use std::collections::{BTreeMap, HashMap};

use secrecy::ExposeSecret;

use super::selftest::{self, SelfTest};
use super::source::LegacyRow;
use crate::hash::{HashError, Hints, Limits, Scheme, StoredHash};
use crate::okta::{HashAlgorithm, PasswordHash};

/// Okta's bcrypt salt and value lengths, cost range, PBKDF2 minimum.
const BCRYPT_SALT_LEN: usize = 22;
const BCRYPT_VALUE_LEN: usize = 31;
const BCRYPT_MAX_COST: u32 = 20;
const PBKDF2_MIN_ITERATIONS: u32 = 4096;
const PBKDF2_MAX_KEY_SIZE: u32 = 64;

/// How a user goes to Okta.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Path {
    /// With an imported hash object.
    Native,
    /// With the password-import hook flag.
    Hook,
    /// Not at all.
    Skip,
}

impl Path {
    /// Name in reports and the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Hook => "hook",
            Self::Skip => "skip",
        }
    }
}

/// Why a user is not on the native path (or is flagged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Note {
    /// The row has no login.
    MissingLogin,
    /// The row has no password hash.
    NoHash,
    /// The hash names no scheme we know (and no scheme was given).
    Unrecognised,
    /// The hash claims a scheme but does not parse (or misses a hint).
    Malformed,
    /// Okta cannot import this scheme (argon2, scrypt, crypt, ...).
    NotImportable,
    /// SHA-256: Okta's salt reading is ambiguous; `--trust-okta-sha256` not given.
    Sha256Ambiguous,
    /// The scheme's conversion self-test failed or has no vector.
    SelfTestNotPassed,
    /// The converted object breaks an Okta rule (cost, iterations, lengths).
    OutsideOktaRules,
}

impl Note {
    /// Stable label for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingLogin => "missing_login",
            Self::NoHash => "no_password_hash",
            Self::Unrecognised => "unrecognised_hash",
            Self::Malformed => "malformed_hash",
            Self::NotImportable => "not_importable_by_okta",
            Self::Sha256Ambiguous => "sha256_salt_ambiguous",
            Self::SelfTestNotPassed => "conversion_self_test_not_passed",
            Self::OutsideOktaRules => "outside_okta_limits",
        }
    }

    /// Whether the stored value itself is unusable (listed by row in audits).
    pub fn is_bad_hash(self) -> bool {
        matches!(self, Self::Unrecognised | Self::Malformed)
    }
}

/// The decision for one row.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Path.
    pub path: Path,
    /// Scheme, when the hash parsed.
    pub scheme: Option<Scheme>,
    /// The hash object, on the native path.
    pub hash: Option<PasswordHash>,
    /// Why not native, when not.
    pub note: Option<Note>,
}

/// Makes the decisions and remembers each scheme's self-test.
pub struct Planner {
    limits: Limits,
    default_scheme: Option<String>,
    params: BTreeMap<String, String>,
    trust_okta_sha256: bool,
    self_tests: HashMap<Scheme, SelfTest>,
}

impl Planner {
    /// A planner with the hook service's parsing settings.
    pub fn new(
        limits: Limits,
        default_scheme: Option<String>,
        params: BTreeMap<String, String>,
        trust_okta_sha256: bool,
    ) -> Self {
        Self {
            limits,
            default_scheme,
            params,
            trust_okta_sha256,
            self_tests: HashMap::new(),
        }
    }

    /// Self-test results so far, by scheme.
    pub fn self_tests(&self) -> &HashMap<Scheme, SelfTest> {
        &self.self_tests
    }

    async fn self_test(&mut self, scheme: Scheme) -> bool {
        if let Some(done) = self.self_tests.get(&scheme) {
            return done.passed();
        }
        let limits = self.limits;
        // A vector may be a slow KDF (600 000 PBKDF2 rounds): off the runtime.
        let result = tokio::task::spawn_blocking(move || selftest::run(scheme, &limits))
            .await
            .unwrap_or(SelfTest::Failed {
                reason: "the self-test did not finish".into(),
            });
        let passed = result.passed();
        self.self_tests.insert(scheme, result);
        passed
    }

    /// Decides the path of one row.
    pub async fn plan(&mut self, row: &LegacyRow) -> Plan {
        let hook = |scheme: Option<Scheme>, note: Note| Plan {
            path: Path::Hook,
            scheme,
            hash: None,
            note: Some(note),
        };
        if row.profile.login.trim().is_empty() {
            return Plan {
                path: Path::Skip,
                scheme: None,
                hash: None,
                note: Some(Note::MissingLogin),
            };
        }
        let Some(stored) = row
            .password_hash
            .as_ref()
            .filter(|h| !h.expose_secret().trim().is_empty())
        else {
            return hook(None, Note::NoHash);
        };
        let hints = Hints {
            salt: row.salt.clone(),
            username: Some(row.profile.login.clone()),
            params: self.params.clone(),
        };
        let name = row.scheme.as_deref().or(self.default_scheme.as_deref());
        let parsed = StoredHash::parse_with(name, stored.expose_secret(), &hints, &self.limits);
        let parsed = match parsed {
            Ok(p) => p,
            Err(HashError::Unrecognised { .. } | HashError::UnknownScheme(_)) => {
                return hook(None, Note::Unrecognised)
            }
            Err(HashError::Unsupported { .. }) => return hook(None, Note::NotImportable),
            Err(_) => return hook(None, Note::Malformed),
        };
        let scheme = parsed.scheme();
        let Some(native) = parsed.okta_native() else {
            return hook(Some(scheme), Note::NotImportable);
        };
        let object = PasswordHash::from(&native);
        if object.algorithm == HashAlgorithm::Sha256 && !self.trust_okta_sha256 {
            return hook(Some(scheme), Note::Sha256Ambiguous);
        }
        if !within_okta_rules(&object) {
            return hook(Some(scheme), Note::OutsideOktaRules);
        }
        if !self.self_test(scheme).await {
            return hook(Some(scheme), Note::SelfTestNotPassed);
        }
        Plan {
            path: Path::Native,
            scheme: Some(scheme),
            hash: Some(object),
            note: None,
        }
    }
}

/// Okta's documented limits on hash objects (protocol §5.2).
fn within_okta_rules(h: &PasswordHash) -> bool {
    match h.algorithm {
        HashAlgorithm::Bcrypt => {
            h.work_factor
                .is_some_and(|w| (1..=BCRYPT_MAX_COST).contains(&w))
                && h.salt.as_ref().is_some_and(|s| s.len() == BCRYPT_SALT_LEN)
                && h.value.len() == BCRYPT_VALUE_LEN
        }
        HashAlgorithm::Pbkdf2 => {
            h.iteration_count
                .is_some_and(|n| n >= PBKDF2_MIN_ITERATIONS)
                && h.key_size
                    .is_some_and(|k| (1..=PBKDF2_MAX_KEY_SIZE).contains(&k))
                && h.salt.as_ref().is_some_and(|s| !s.is_empty())
        }
        _ => !h.value.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::okta::Profile;
    use secrecy::SecretString;

    fn row(hash: Option<&str>, salt: Option<&str>, scheme: Option<&str>) -> LegacyRow {
        LegacyRow {
            row: 1,
            profile: Profile {
                login: "a@x.io".into(),
                ..Profile::default()
            },
            password_hash: hash.map(|h| SecretString::from(h.to_owned())),
            salt: salt.map(str::to_owned),
            scheme: scheme.map(str::to_owned),
        }
    }

    fn planner(trust: bool) -> Planner {
        Planner::new(Limits::default(), None, BTreeMap::new(), trust)
    }

    #[tokio::test]
    async fn paths_follow_the_rules() {
        let mut p = planner(false);
        // bcrypt (hash corpus pub-0710): native.
        let bcrypt = p
            .plan(&row(
                Some("$2b$04$HnXkQnl4WZsr7iXr.Jp29.Hw8is/kvljFsWD29SS6HC53FqzlsPRO"),
                None,
                None,
            ))
            .await;
        assert_eq!(bcrypt.path, Path::Native);
        assert_eq!(bcrypt.hash.unwrap().work_factor, Some(4));
        // {SSHA} (hash corpus pub-0426): native SHA-1 POSTFIX.
        let ssha = p
            .plan(&row(
                Some("{SSHA}n4vEbeXwncs2bJaLbHdA4Am679aqFQKg"),
                None,
                None,
            ))
            .await;
        assert_eq!(ssha.path, Path::Native);
        assert_eq!(ssha.hash.unwrap().algorithm, HashAlgorithm::Sha1);
        // argon2id (hash corpus pub-0079, argon2-cffi 25.1.0): no Okta conversion.
        let argon = p
            .plan(&row(Some("$argon2id$v=19$m=65536,t=3,p=4$o+zslGTgw5jNSEb9ByqKXg$ZntlkZP7pVMIXbcr5xXJYvyouXlqtxfPRLs/Lzy4Ok0"), None, None))
            .await;
        assert_eq!(
            (argon.path, argon.note),
            (Path::Hook, Some(Note::NotImportable))
        );
        // SHA-256 {SSHA256} (hash corpus pub-1070): hook unless trusted.
        let sha256 = "{SSHA256}l1MYdOA6cWxypUK9dnZflUdKrx0uMIbKO6MPPawGwC9hLKVUyllrTQ==";
        let held = p.plan(&row(Some(sha256), None, None)).await;
        assert_eq!(
            (held.path, held.note),
            (Path::Hook, Some(Note::Sha256Ambiguous))
        );
        let trusted = planner(true).plan(&row(Some(sha256), None, None)).await;
        assert_eq!(trusted.path, Path::Native);
        // Garbage, truncated bcrypt, empty hash, missing login.
        let junk = p.plan(&row(Some("not-a-hash"), None, None)).await;
        assert_eq!(junk.note, Some(Note::Unrecognised));
        let cut = p
            .plan(&row(Some("$2b$04$HnXkQnl4WZsr7iXr"), None, None))
            .await;
        assert_eq!((cut.path, cut.note), (Path::Hook, Some(Note::Malformed)));
        assert_eq!(
            p.plan(&row(None, None, None)).await.note,
            Some(Note::NoHash)
        );
        let mut nologin = row(Some("x"), None, None);
        nologin.profile.login.clear();
        assert_eq!(p.plan(&nologin).await.path, Path::Skip);
        assert!(p.self_tests()[&Scheme::Bcrypt2b].passed());
    }

    #[test]
    fn okta_rules_reject_low_iterations_and_bad_bcrypt_lengths() {
        let mut h = PasswordHash {
            algorithm: HashAlgorithm::Pbkdf2,
            work_factor: None,
            salt: Some("c2FsdA==".into()),
            salt_order: None,
            value: "AAAA".into(),
            iteration_count: Some(4095),
            key_size: Some(32),
            digest_algorithm: None,
        };
        assert!(!within_okta_rules(&h));
        h.iteration_count = Some(4096);
        assert!(within_okta_rules(&h));
        let bcrypt = PasswordHash {
            algorithm: HashAlgorithm::Bcrypt,
            work_factor: Some(31),
            salt: Some("a".repeat(22)),
            value: "b".repeat(31),
            ..h
        };
        assert!(!within_okta_rules(&bcrypt));
    }
}
