//! Spring Security `DelegatingPasswordEncoder` values: an `{id}` prefix in
//! front of each encoder's own format.
//! - `{bcrypt}` / `{argon2}`: a bcrypt or PHC argon2 string, delegated.
//! - `{scrypt}` (`SCryptPasswordEncoder`): `$<hex params>$<b64 salt>$<b64 key>`,
//!   params = log2(N) << 16 | r << 8 | p.
//! - `{pbkdf2}` (`Pbkdf2PasswordEncoder`): hex (or Base64) of salt ‖ key with the
//!   parameters left to the encoder's configuration: the 5.x defaults
//!   (8-byte salt, 185000 iterations, HMAC-SHA1) or, for a 48-byte value or the
//!   `pbkdf2@SpringSecurity_v5_8` id, the 5.8+ defaults (16-byte salt, 310000,
//!   HMAC-SHA256). `params.iterations`, `params.algorithm`, `params.salt_bytes`
//!   and `params.secret` (or `pepper`) override them.
//! - `{sha256}` (`StandardPasswordEncoder`): hex of an 8-byte salt ‖ SHA-256
//!   applied 1024 times to salt ‖ secret ‖ password.
//! - `{MD4}`, `{MD5}`, `{SHA-1}`, `{SHA-256}` (`MessageDigestPasswordEncoder`):
//!   an optional `{salt}` then hex (or Base64) of digest(password ‖ "{salt}"),
//!   re-digested `params.iterations - 1` times.
//! - `{noop}`: the plaintext.
//!
//! `{MD5}`/`{SHA}` collide with LDAP tags: a leading `{salt}` or a hex digest
//! makes them Spring's; Base64 alone is LDAP's (and computes the same).

use md4::Md4;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::digest::{decode_digest, Algorithm};
use super::django::{scrypt_matches, scrypt_params};
use super::encoding::{b64, ct_eq, hex};
use super::okta::OKTA_MIN_PBKDF2_ITERATIONS;
use super::pbkdf2::MAX_DK_BLOCKS;
use super::{
    detect as detect_any, Family, HashError, Hints, Limits, OktaDigest, OktaHash, OktaPbkdf2Digest,
    Param, Result, SaltOrder, Scheme, StoredHash, Verdict,
};

/// `StandardPasswordEncoder` salt length and digest rounds.
const STANDARD_SALT: usize = 8;
const STANDARD_ROUNDS: usize = 1024;

/// PBKDF2 PRFs Spring's `SecretKeyFactoryAlgorithm` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prf {
    Sha1,
    Sha256,
    Sha512,
}

impl Prf {
    fn parse(name: &str) -> Option<Self> {
        let n = name.trim().to_ascii_lowercase().replace(['-', '_'], "");
        let n = n.strip_prefix("pbkdf2withhmac").unwrap_or(&n);
        match n.strip_prefix("hmac").unwrap_or(n) {
            "sha1" => Some(Self::Sha1),
            "sha256" => Some(Self::Sha256),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "PBKDF2WithHmacSHA1",
            Self::Sha256 => "PBKDF2WithHmacSHA256",
            Self::Sha512 => "PBKDF2WithHmacSHA512",
        }
    }
}

/// Digest of a `MessageDigestPasswordEncoder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MdAlgorithm {
    Md4,
    Other(Algorithm),
}

impl MdAlgorithm {
    fn of_id(id: &str) -> Option<Self> {
        Some(match id.to_ascii_uppercase().as_str() {
            "MD4" => Self::Md4,
            "MD5" => Self::Other(Algorithm::Md5),
            "SHA" | "SHA1" | "SHA-1" => Self::Other(Algorithm::Sha1),
            "SHA-256" => Self::Other(Algorithm::Sha256),
            "SHA-384" => Self::Other(Algorithm::Sha384),
            "SHA-512" => Self::Other(Algorithm::Sha512),
            _ => return None,
        })
    }

    fn output_len(self) -> usize {
        match self {
            Self::Md4 => 16,
            Self::Other(a) => a.output_len(),
        }
    }

    fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        match self {
            Self::Md4 => {
                let mut h = Md4::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().to_vec()
            }
            Self::Other(a) => a.digest(parts),
        }
    }
}

/// Decoded material of a Spring Security value.
pub(crate) enum SpringHash {
    /// `{bcrypt}`, `{argon2}`: the inner hash.
    Wrapped(Box<StoredHash>),
    /// `{scrypt}`.
    Scrypt {
        /// Validated cost parameters.
        params: scrypt::Params,
        /// Salt bytes.
        salt: Vec<u8>,
        /// Derived key.
        derived: Vec<u8>,
    },
    /// `{pbkdf2}`.
    Pbkdf2 {
        /// PRF.
        prf: Prf,
        /// Iterations.
        iterations: u32,
        /// Salt bytes (the stored prefix).
        salt: Vec<u8>,
        /// The encoder's secret, appended to the salt.
        secret: Zeroizing<Vec<u8>>,
        /// Derived key.
        hash: Vec<u8>,
    },
    /// `{sha256}`.
    Standard {
        /// 8 salt bytes.
        salt: Vec<u8>,
        /// The encoder's secret.
        secret: Zeroizing<Vec<u8>>,
        /// The 1024-round SHA-256.
        digest: Vec<u8>,
    },
    /// `{MD5}`, `{SHA-1}`, ...
    MessageDigest {
        /// Hash function.
        algorithm: MdAlgorithm,
        /// The salt including its braces, as Spring appends it.
        salt: Vec<u8>,
        /// Digest rounds (Spring's `setIterations`, default 1).
        iterations: u32,
        /// Digest bytes.
        digest: Vec<u8>,
    },
    /// `{noop}`: the stored plaintext (zeroised on drop).
    Noop(Zeroizing<Vec<u8>>),
}

/// Splits `{id}rest`.
fn split_id(stored: &str) -> Option<(&str, &str)> {
    let rest = stored.strip_prefix('{')?;
    let end = rest.find('}')?;
    Some((&rest[..end], &rest[end + 1..]))
}

/// Strips Spring's `@SpringSecurity_v5_8` style suffix from an id.
fn base_id(id: &str) -> (&str, bool) {
    match id.split_once('@') {
        Some((base, version)) => (base, version.eq_ignore_ascii_case("SpringSecurity_v5_8")),
        None => (id, false),
    }
}

/// Whether `rest` is a `MessageDigestPasswordEncoder` body: `{salt}` or a hex digest.
fn looks_like_message_digest(rest: &str, algorithm: MdAlgorithm) -> bool {
    if rest.starts_with('{') {
        return rest.contains('}');
    }
    rest.len() == 2 * algorithm.output_len() && rest.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_hex_of(s: &str, bytes: usize) -> bool {
    s.len() == 2 * bytes && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Recognises a Spring `{id}` prefix (Spring ids are case-sensitive; the
/// digest ids shared with LDAP are decided by content).
pub(crate) fn detect(stored: &str) -> Option<Scheme> {
    let (id, rest) = split_id(stored)?;
    let (base, _) = base_id(id);
    match base {
        "bcrypt" if rest.starts_with("$2") => Some(Scheme::SpringBcrypt),
        "argon2" if rest.starts_with("$argon2") => Some(Scheme::SpringArgon2),
        "scrypt" if rest.starts_with('$') => Some(Scheme::SpringScrypt),
        // LDAP's `{PBKDF2}rounds$salt$hash` has '$'; Spring's hex/Base64 has none.
        "pbkdf2" if !rest.is_empty() && !rest.contains('$') => Some(Scheme::SpringPbkdf2),
        "noop" => Some(Scheme::SpringNoop),
        _ if id.eq_ignore_ascii_case("sha256") && is_hex_of(rest, STANDARD_SALT + 32) => {
            Some(Scheme::SpringSha256)
        }
        _ => MdAlgorithm::of_id(id)
            .filter(|&a| looks_like_message_digest(rest, a))
            .map(|_| Scheme::SpringMessageDigest),
    }
}

/// The encoder secret from `params.secret` or `params.pepper` (UTF-8, as Spring takes it).
fn secret(hints: &Hints) -> Zeroizing<Vec<u8>> {
    let value = hints
        .param("secret")
        .or_else(|| hints.param("pepper"))
        .unwrap_or_default();
    Zeroizing::new(value.as_bytes().to_vec())
}

/// Decodes Spring's `Hex.encode` output, or Base64 when `encodeHashAsBase64` was set.
fn hex_or_b64(s: &str) -> Option<Vec<u8>> {
    if s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex(s)
    } else {
        b64(s)
    }
}

/// Parses a Spring value as `scheme`.
pub(crate) fn parse(
    scheme: Scheme,
    stored: &str,
    hints: &Hints,
    limits: &Limits,
) -> Result<SpringHash> {
    let name = scheme.as_str();
    let stored = stored.trim();
    let (id, rest) =
        split_id(stored).ok_or_else(|| HashError::malformed(name, "missing the {id} prefix"))?;
    let (base, v5_8) = base_id(id);
    let wrong_id = || HashError::malformed(name, "the {id} prefix names another encoder");
    match scheme {
        Scheme::SpringBcrypt | Scheme::SpringArgon2 => {
            let (expected, allowed): (&str, &[Scheme]) = if scheme == Scheme::SpringBcrypt {
                (
                    "bcrypt",
                    &[
                        Scheme::Bcrypt2a,
                        Scheme::Bcrypt2b,
                        Scheme::Bcrypt2y,
                        Scheme::Bcrypt2x,
                    ],
                )
            } else {
                (
                    "argon2",
                    &[Scheme::Argon2d, Scheme::Argon2i, Scheme::Argon2id],
                )
            };
            if base != expected {
                return Err(wrong_id());
            }
            match detect_any(rest) {
                Some(s) if allowed.contains(&s) => Ok(SpringHash::Wrapped(Box::new(
                    StoredHash::parse_as(s, rest, &Hints::default(), limits)?,
                ))),
                _ => Err(HashError::malformed(
                    name,
                    format!("the value after {{{expected}}} is not a {expected} hash"),
                )),
            }
        }
        Scheme::SpringScrypt if base == "scrypt" => parse_scrypt(rest, limits),
        Scheme::SpringPbkdf2 if base == "pbkdf2" => parse_pbkdf2(rest, v5_8, hints, limits),
        Scheme::SpringSha256 if id.eq_ignore_ascii_case("sha256") => {
            let raw = hex(rest)
                .filter(|r| r.len() == STANDARD_SALT + 32)
                .ok_or_else(|| HashError::malformed(name, "expected 80 hex digits"))?;
            let (salt, digest) = raw.split_at(STANDARD_SALT);
            Ok(SpringHash::Standard {
                salt: salt.to_vec(),
                secret: secret(hints),
                digest: digest.to_vec(),
            })
        }
        Scheme::SpringMessageDigest => {
            let algorithm = MdAlgorithm::of_id(id).ok_or_else(wrong_id)?;
            let (salt, body) = match rest.strip_prefix('{') {
                Some(after) => {
                    let end = after
                        .find('}')
                        .ok_or_else(|| HashError::malformed(name, "unterminated {salt}"))?;
                    (&rest[..end + 2], &after[end + 1..])
                }
                None => ("", rest),
            };
            let iterations = match hints.param("iterations") {
                Some(v) => v
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|&i| i > 0)
                    .ok_or_else(|| {
                        HashError::malformed(name, "params.iterations is not a positive integer")
                    })?,
                None => 1,
            };
            Limits::check(
                name,
                "pbkdf2_iterations",
                u64::from(iterations),
                u64::from(limits.pbkdf2_iterations),
            )?;
            let digest =
                decode_digest(name, body, hints.param("encoding"), algorithm.output_len())?;
            Ok(SpringHash::MessageDigest {
                algorithm,
                salt: salt.as_bytes().to_vec(),
                iterations,
                digest,
            })
        }
        Scheme::SpringNoop if base == "noop" => {
            Ok(SpringHash::Noop(Zeroizing::new(rest.as_bytes().to_vec())))
        }
        Scheme::SpringScrypt | Scheme::SpringPbkdf2 | Scheme::SpringSha256 | Scheme::SpringNoop => {
            Err(wrong_id())
        }
        other => Err(HashError::Unsupported {
            scheme: other.as_str(),
            reason: "not a Spring Security scheme".into(),
        }),
    }
}

/// `$<hex params>$<salt>$<derived>` (after `{scrypt}`).
fn parse_scrypt(rest: &str, limits: &Limits) -> Result<SpringHash> {
    let name = Scheme::SpringScrypt.as_str();
    let bad = |why: &str| HashError::malformed(name, why.to_owned());
    let parts: Vec<&str> = rest.split('$').collect();
    let ["", packed, salt, derived] = parts[..] else {
        return Err(bad("expected $params$salt$derived"));
    };
    let packed = u64::from_str_radix(packed, 16).map_err(|_| bad("params are not hex"))?;
    let log_n = (packed >> 16) & 0xffff;
    if log_n == 0 || log_n > 63 {
        return Err(bad("log2(N) is out of range"));
    }
    // Both fit in a byte by the masks.
    let r = u32::try_from((packed >> 8) & 0xff).unwrap_or_default();
    let p = u32::try_from(packed & 0xff).unwrap_or_default();
    let params = scrypt_params(name, 1u64 << log_n, r, p, limits)?;
    let salt = b64(salt).ok_or_else(|| bad("salt is not valid Base64"))?;
    let derived = b64(derived)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| bad("derived key is not valid Base64"))?;
    Ok(SpringHash::Scrypt {
        params,
        salt,
        derived,
    })
}

/// Hex or Base64 of salt ‖ key (after `{pbkdf2}`).
fn parse_pbkdf2(rest: &str, v5_8: bool, hints: &Hints, limits: &Limits) -> Result<SpringHash> {
    let name = Scheme::SpringPbkdf2.as_str();
    let raw = hex_or_b64(rest)
        .ok_or_else(|| HashError::malformed(name, "value is neither hex nor Base64"))?;
    // 5.8+ defaults: 16-byte salt + 32-byte key; 5.x: 8 + 32.
    let modern = v5_8 || raw.len() == 16 + 32;
    let (mut salt_len, mut iterations, mut prf) = if modern {
        (16usize, 310_000u32, Prf::Sha256)
    } else {
        (8usize, 185_000u32, Prf::Sha1)
    };
    if let Some(v) = hints.param("salt_bytes") {
        salt_len = v
            .trim()
            .parse()
            .map_err(|_| HashError::malformed(name, "params.salt_bytes is not an integer"))?;
    }
    if let Some(v) = hints.param("iterations") {
        iterations = v.trim().parse().ok().filter(|&i| i > 0).ok_or_else(|| {
            HashError::malformed(name, "params.iterations is not a positive integer")
        })?;
    }
    if let Some(v) = hints.param("algorithm") {
        prf = Prf::parse(v).ok_or_else(|| {
            HashError::malformed(name, "params.algorithm must be sha1, sha256 or sha512")
        })?;
    }
    Limits::check(
        name,
        "pbkdf2_iterations",
        u64::from(iterations),
        u64::from(limits.pbkdf2_iterations),
    )?;
    if raw.len() <= salt_len {
        return Err(HashError::malformed(
            name,
            format!(
                "value is {} bytes, too short for a {salt_len}-byte salt",
                raw.len()
            ),
        ));
    }
    let (salt, hash) = raw.split_at(salt_len);
    // Each PRF block of the key repeats every iteration: bound the work as
    // the PBKDF2 family does.
    if hash.len() > MAX_DK_BLOCKS * prf.output_len() {
        return Err(HashError::malformed(
            name,
            format!("derived key is {} bytes", hash.len()),
        ));
    }
    Ok(SpringHash::Pbkdf2 {
        prf,
        iterations,
        salt: salt.to_vec(),
        secret: secret(hints),
        hash: hash.to_vec(),
    })
}

fn pbkdf2(prf: Prf, password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    match prf {
        Prf::Sha1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, iterations, out),
        Prf::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, out),
        Prf::Sha512 => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, salt, iterations, out),
    }
}

impl Family for SpringHash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        let ok = match self {
            Self::Wrapped(inner) => return inner.material.family().verify(password),
            Self::Scrypt {
                params,
                salt,
                derived,
            } => scrypt_matches(password, salt, params, derived),
            Self::Pbkdf2 {
                prf,
                iterations,
                salt,
                secret,
                hash,
            } => {
                let full_salt = [salt.as_slice(), secret.as_slice()].concat();
                let mut out = vec![0u8; hash.len()];
                pbkdf2(*prf, password, &full_salt, *iterations, &mut out);
                ct_eq(&out, hash)
            }
            Self::Standard {
                salt,
                secret,
                digest,
            } => {
                let mut d = Sha256::new()
                    .chain_update(salt)
                    .chain_update(secret.as_slice())
                    .chain_update(password)
                    .finalize();
                for _ in 1..STANDARD_ROUNDS {
                    d = Sha256::digest(d);
                }
                ct_eq(&d, digest)
            }
            Self::MessageDigest {
                algorithm,
                salt,
                iterations,
                digest,
            } => {
                let mut d = algorithm.digest(&[password, salt]);
                for _ in 1..*iterations {
                    d = algorithm.digest(&[&d]);
                }
                ct_eq(&d, digest)
            }
            Self::Noop(plain) => ct_eq(password, plain),
        };
        Ok(Verdict::from_bool(ok))
    }

    fn params(&self) -> Vec<Param> {
        match self {
            Self::Wrapped(inner) => {
                let mut out = vec![("inner_scheme", inner.scheme().as_str().to_owned())];
                out.extend(inner.params());
                out
            }
            Self::Scrypt {
                params,
                salt,
                derived,
            } => vec![
                ("N", params.n().to_string()),
                ("r", params.r().to_string()),
                ("p", params.p().to_string()),
                ("salt_bytes", salt.len().to_string()),
                ("dklen", derived.len().to_string()),
            ],
            Self::Pbkdf2 {
                prf,
                iterations,
                salt,
                secret,
                hash,
            } => vec![
                ("algorithm", prf.name().to_owned()),
                ("iterations", iterations.to_string()),
                ("salt_bytes", salt.len().to_string()),
                ("dklen", hash.len().to_string()),
                (
                    "secret",
                    if secret.is_empty() { "none" } else { "set" }.to_owned(),
                ),
            ],
            Self::Standard { .. } => vec![
                ("rounds", STANDARD_ROUNDS.to_string()),
                ("salt_bytes", STANDARD_SALT.to_string()),
            ],
            Self::MessageDigest {
                salt,
                iterations,
                digest,
                ..
            } => vec![
                ("digest_bytes", digest.len().to_string()),
                ("salt_chars", salt.len().saturating_sub(2).to_string()),
                ("iterations", iterations.to_string()),
            ],
            Self::Noop(_) => vec![("plaintext", "yes".to_owned())],
        }
    }

    fn okta_native(&self) -> Option<OktaHash> {
        match self {
            Self::Wrapped(inner) => inner.okta_native(),
            Self::Pbkdf2 {
                prf,
                iterations,
                salt,
                secret,
                hash,
            } if secret.is_empty() && *iterations >= OKTA_MIN_PBKDF2_ITERATIONS => {
                Some(OktaHash::Pbkdf2 {
                    digest: match prf {
                        Prf::Sha256 => OktaPbkdf2Digest::Sha256,
                        Prf::Sha512 => OktaPbkdf2Digest::Sha512,
                        Prf::Sha1 => return None,
                    },
                    iterations: *iterations,
                    salt: salt.clone(),
                    value: hash.clone(),
                })
            }
            // digest(password ‖ "{salt}") once is Okta's digest with a POSTFIX salt.
            Self::MessageDigest {
                algorithm: MdAlgorithm::Other(algorithm),
                salt,
                iterations: 1,
                digest,
            } => Some(OktaHash::Digest {
                algorithm: match algorithm {
                    Algorithm::Md5 => OktaDigest::Md5,
                    Algorithm::Sha1 => OktaDigest::Sha1,
                    Algorithm::Sha256 => OktaDigest::Sha256,
                    Algorithm::Sha512 => OktaDigest::Sha512,
                    _ => return None,
                },
                salt: (!salt.is_empty()).then(|| salt.clone()),
                salt_order: SaltOrder::Postfix,
                value: digest.clone(),
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn verify_with(stored: &str, hints: &Hints, pw: &str) -> Verdict {
        let scheme = detect(stored).unwrap_or_else(|| panic!("not detected: {stored}"));
        parse(scheme, stored, hints, &Limits::default())
            .and_then(|h| h.verify(pw.as_bytes()))
            .unwrap()
    }

    fn verify(stored: &str, pw: &str) -> Verdict {
        verify_with(stored, &Hints::default(), pw)
    }

    // Spring Security PasswordEncoderFactoriesTests: each value is "password".
    #[test]
    fn password_encoder_factories_vectors() {
        for stored in [
            "{MD4}{KYp8/QErWyQemYazZQ8UnWWfbGbkYkVC8qMi0duoA84=}152ce09d3261d2b53cac55b2ea4d1c7a",
            "{MD5}{aRYR+Yp2xSqtgF+vtjH6jNda6M083iEbP+zCFjLt9IA=}905e382a25eed53e22224223b3581092",
            "{noop}password",
            "{pbkdf2}5d923b44a6d129f3ddf3e3c8d29412723dcbde72445e8ef6bf3b508fbf17fa4ed4d6b99ca763d8dc",
            "{scrypt}$e0801$8bWJaSu2IKSn9Z9kM+TPXfOc/9bdYSrN1oD9qfVThWEwdRTnO7re7Ei+fUZRJ68k9lTyuTeUp4of4g24hHnazw==$OAOec05+bXxvuu/1qZ6NUR+xQYvYv7BeL1QxwRpY5Pc=",
            "{SHA-1}{6581QepZz2qd8jVrT2QYPVtK8DuM2n45dVslmc3UTWc=}4f31573948ddbfb8ac9dd80107dfad13fd8f2454",
            "{SHA-256}{UisHp3pFSMqcqrhQsrhR+hspIG0SyMDyDW/XtY+t6nA=}a98efbaf59277bfd1837c33fd4fde67de5bcfd2205bcba0992f6fc32b03a8f88",
            "{sha256}97cde38028ad898ebc02e690819fa220e88c62e0699403e94fff291cfffaf8410849f27605abcbc0",
        ] {
            assert_eq!(verify(stored, "password"), Verdict::Match, "{stored}");
            assert_eq!(verify(stored, "passwore"), Verdict::Mismatch, "{stored}");
        }
    }

    // Delegated encoders. PasswordEncoderFactoriesTests: {bcrypt} and {argon2}
    // are "password"; Okta's db-to-okta example (sql/02-data.sql) stores
    // user1@example.com's "password" as {bcrypt}$2a$10$GRLd…
    #[test]
    fn delegated_bcrypt_and_argon2() {
        for stored in [
            "{bcrypt}$2a$10$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG",
            "{bcrypt}$2a$10$GRLdNijSQMUvl/au9ofL.eDwmoohzzS7.rmNSJZ.0FxO/BTk76klW",
            "{argon2}$argon2d$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$Li5eBf5XrCz0cuzQRe9oflYqmA/VAzmzichw4ZYrvEU",
        ] {
            assert_eq!(verify(stored, "password"), Verdict::Match, "{stored}");
            assert_eq!(verify(stored, "passwort"), Verdict::Mismatch, "{stored}");
        }
        let h = parse(
            Scheme::SpringBcrypt,
            "{bcrypt}$2a$10$GRLdNijSQMUvl/au9ofL.eDwmoohzzS7.rmNSJZ.0FxO/BTk76klW",
            &Hints::default(),
            &Limits::default(),
        )
        .unwrap();
        assert!(matches!(
            h.okta_native(),
            Some(OktaHash::Bcrypt {
                work_factor: 10,
                ..
            })
        ));
    }

    // Okta's db-to-okta reference example (oktadev/okta-reference-coexistence-db-example,
    // sql/02-data.sql): user2@example.com's password is "password".
    #[test]
    fn okta_reference_example_scrypt() {
        let stored = "{scrypt}$e0801$lFhoTwfU4hAjfIt0W+jNop6H2IJTGfUg4d/Z2yi0eUeQxwZ6r9R/Hr86wOuuXhqi7CRp0ErqxGfGqhetL44O6A==$NcwvQOopkOZFp723IbMdcr9zfaodHNNBjI07DwxaXjA=";
        assert_eq!(detect(stored), Some(Scheme::SpringScrypt));
        assert_eq!(verify(stored, "password"), Verdict::Match);
        assert_eq!(verify(stored, "Password"), Verdict::Mismatch);
        let h = parse(
            Scheme::SpringScrypt,
            stored,
            &Hints::default(),
            &Limits::default(),
        )
        .unwrap();
        assert!(h.params().contains(&("N", "16384".to_owned())));
    }

    // Pbkdf2PasswordEncoderTests with `new Pbkdf2PasswordEncoder("secret")`:
    // passivity (hex, SHA-1), matchWhenBase64ThenSuccess, matchWhenSha256ThenSuccess.
    #[test]
    fn pbkdf2_encoder_tests_with_secret() {
        let secret = Hints::default().with_param("secret", "secret");
        let passivity = "{pbkdf2}ab1146a8458d4ce4e65789e5a3f60e423373cfa10b01abd23739e5ae2fdc37f8e9ede4ae6da65264";
        assert_eq!(verify_with(passivity, &secret, "password"), Verdict::Match);
        assert_eq!(verify(passivity, "password"), Verdict::Mismatch);
        let base64 = "{pbkdf2}3FOwOMcDgxP+z1x/sv184LFY2WVD+ZGMgYP3LPOSmCcDmk1XPYvcCQ==";
        assert_eq!(verify_with(base64, &secret, "password"), Verdict::Match);
        let sha256 = "{pbkdf2}821447f994e2b04c5014e31fa9fca4ae1cc9f2188c4ed53d3ddb5ba7980982b51a0ecebfc0b81a79";
        let secret256 = secret
            .clone()
            .with_param("algorithm", "PBKDF2WithHmacSHA256");
        assert_eq!(verify_with(sha256, &secret256, "password"), Verdict::Match);
        assert_eq!(verify_with(sha256, &secret, "password"), Verdict::Mismatch);
    }

    // MessageDigestPasswordEncoderTests (MD5): salted, empty "{}" salt,
    // unsalted, two iterations, and Base64 output.
    #[test]
    fn message_digest_encoder_tests() {
        assert_eq!(
            verify(
                "{MD5}{THIS_IS_A_SALT}a68aafd90299d0b137de28fb4bb68573",
                "abc123"
            ),
            Verdict::Match
        );
        assert_eq!(
            verify("{MD5}{salt}ce421738b1c5540836bdc8ff707f1572", "password"),
            Verdict::Match
        );
        assert_eq!(
            verify("{MD5}{}f1026a66095fc2058c1f8771ed05d6da", "password"),
            Verdict::Match
        );
        assert_eq!(
            verify("{MD5}5f4dcc3b5aa765d61d8327deb882cf99", "password"),
            Verdict::Match
        );
        let twice = Hints::default().with_param("iterations", "2");
        assert_eq!(
            verify_with(
                "{MD5}{salt}eb753fb0c370582b4ee01b30f304b9fc",
                &twice,
                "password"
            ),
            Verdict::Match
        );
        assert_eq!(
            verify("{MD5}{salt}eb753fb0c370582b4ee01b30f304b9fc", "password"),
            Verdict::Mismatch
        );
        assert_eq!(
            verify("{MD5}{THIS_IS_A_SALT}poqv2QKZ0LE33ij7S7aFcw==", "abc123"),
            Verdict::Match
        );
        // Md4PasswordEncoderTests.testEncodeSaltedPassword (Base64).
        assert_eq!(
            verify("{MD4}{Alan K Stewart}ZplT6P5Kv6Rlu6W4FIoYNA==", "ww_uni123"),
            Verdict::Match
        );
    }

    #[test]
    fn single_round_message_digest_is_okta_native_postfix() {
        let stored = "{SHA-1}{6581QepZz2qd8jVrT2QYPVtK8DuM2n45dVslmc3UTWc=}4f31573948ddbfb8ac9dd80107dfad13fd8f2454";
        let h = parse(
            Scheme::SpringMessageDigest,
            stored,
            &Hints::default(),
            &Limits::default(),
        )
        .unwrap();
        match h.okta_native() {
            Some(OktaHash::Digest {
                algorithm,
                salt,
                salt_order,
                value,
            }) => {
                assert_eq!(algorithm, OktaDigest::Sha1);
                assert_eq!(
                    salt,
                    Some(b"{6581QepZz2qd8jVrT2QYPVtK8DuM2n45dVslmc3UTWc=}".to_vec())
                );
                assert_eq!(salt_order, SaltOrder::Postfix);
                assert_eq!(value.len(), 20);
            }
            other => panic!("unexpected {other:?}"),
        }
        let md4 =
            "{MD4}{KYp8/QErWyQemYazZQ8UnWWfbGbkYkVC8qMi0duoA84=}152ce09d3261d2b53cac55b2ea4d1c7a";
        let h = parse(
            Scheme::SpringMessageDigest,
            md4,
            &Hints::default(),
            &Limits::default(),
        )
        .unwrap();
        assert!(h.okta_native().is_none());
    }

    #[test]
    fn ldap_and_spring_tags_are_told_apart_by_content() {
        assert_eq!(
            detect("{MD5}5f4dcc3b5aa765d61d8327deb882cf99"),
            Some(Scheme::SpringMessageDigest)
        );
        assert_eq!(detect("{MD5}X03MO1qnZdYdgyfeuILPmQ=="), None);
        assert_eq!(
            detect("{SHA256}XohImNooBHFR0OVvjcYpJ3NgPQ1qq73WKhHvch0VQtg="),
            None
        );
        assert_eq!(
            crate::hash::detect("{MD5}X03MO1qnZdYdgyfeuILPmQ=="),
            Some(Scheme::LdapMd5)
        );
        assert_eq!(
            crate::hash::detect("{sha256}97cde38028ad898ebc02e690819fa220e88c62e0699403e94fff291cfffaf8410849f27605abcbc0"),
            Some(Scheme::SpringSha256)
        );
        assert_eq!(detect("{bcrypt}$2a$10$x"), Some(Scheme::SpringBcrypt));
        assert_eq!(detect("{unknown}abc"), None);
    }

    #[test]
    fn malformed_and_limits() {
        let l = Limits::default();
        let none = Hints::default();
        assert!(parse(Scheme::SpringScrypt, "{scrypt}$zz$a$b", &none, &l).is_err());
        assert!(parse(Scheme::SpringScrypt, "{scrypt}$e0801$abc", &none, &l).is_err());
        assert!(parse(Scheme::SpringSha256, "{sha256}97cde380", &none, &l).is_err());
        assert!(parse(Scheme::SpringPbkdf2, "{pbkdf2}5d92", &none, &l).is_err());
        assert!(parse(Scheme::SpringNoop, "{bcrypt}x", &none, &l).is_err());
        assert!(parse(Scheme::SpringBcrypt, "{bcrypt}notbcrypt", &none, &l).is_err());
        // log2(N) = 0x20: 128 * 8 * 2^32 bytes is far over the memory ceiling.
        assert!(matches!(
            parse(
                Scheme::SpringScrypt,
                "{scrypt}$200801$c2FsdA==$c2FsdA==",
                &none,
                &l
            ),
            Err(HashError::CostTooHigh { .. })
        ));
        let low = Limits {
            pbkdf2_iterations: 100_000,
            ..Limits::default()
        };
        assert!(matches!(
            parse(
                Scheme::SpringPbkdf2,
                "{pbkdf2}5d923b44a6d129f3ddf3e3c8d29412723dcbde72445e8ef6bf3b508fbf17fa4ed4d6b99ca763d8dc",
                &none,
                &low
            ),
            Err(HashError::CostTooHigh { .. })
        ));
    }

    #[test]
    fn pbkdf2_sha256_is_okta_native() {
        // 5.8 layout (16-byte salt + 32-byte key): parameters only, not a verification vector.
        let stored = format!("{{pbkdf2@SpringSecurity_v5_8}}{}", "ab".repeat(48));
        let h = parse(
            Scheme::SpringPbkdf2,
            &stored,
            &Hints::default(),
            &Limits::default(),
        )
        .unwrap();
        match h.okta_native() {
            Some(OktaHash::Pbkdf2 {
                digest,
                iterations,
                salt,
                value,
            }) => {
                assert_eq!(digest, OktaPbkdf2Digest::Sha256);
                assert_eq!(iterations, 310_000);
                assert_eq!(salt.len(), 16);
                assert_eq!(value.len(), 32);
            }
            other => panic!("unexpected {other:?}"),
        }
        let v55 = parse(
            Scheme::SpringPbkdf2,
            "{pbkdf2}5d923b44a6d129f3ddf3e3c8d29412723dcbde72445e8ef6bf3b508fbf17fa4ed4d6b99ca763d8dc",
            &Hints::default(),
            &Limits::default(),
        )
        .unwrap();
        assert!(v55.okta_native().is_none());
    }

    // Found by tests/api/hash_robustness.rs: the `{pbkdf2}` key length was
    // unbounded, and each 20-byte PRF block repeats all 185000 iterations,
    // so 100 KB of hex meant 2500 blocks of work.
    #[test]
    fn pbkdf2_key_length_is_bounded() {
        let none = Hints::default();
        let long = format!("{{pbkdf2}}{}", "ab".repeat(50_000));
        assert!(matches!(
            parse(Scheme::SpringPbkdf2, &long, &none, &Limits::default()),
            Err(HashError::Malformed { .. })
        ));
        // 16 blocks of SHA-1 after the 8-byte salt still parse.
        let max = format!("{{pbkdf2}}{}", "ab".repeat(8 + 16 * 20));
        assert!(parse(Scheme::SpringPbkdf2, &max, &none, &Limits::default()).is_ok());
    }
}
