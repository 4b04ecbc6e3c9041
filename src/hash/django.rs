//! Django `auth_user.password` values other than PBKDF2 (which `pbkdf2`
//! owns): `argon2$…`, `bcrypt$…`, `bcrypt_sha256$…` (bcrypt over the hex
//! SHA-256 of the password), `scrypt$N$salt$r$p$b64`, `md5$salt$hex`,
//! `sha1$salt$hex`, `sha1$$hex`, `md5$$hex` or a bare 32-hex MD5 (not
//! self-describing), and `crypt$$…`. The argon2/bcrypt/crypt primitives are
//! delegated to their own schemes; the framing is Django's (hashers.py).

use super::digest::{decode_digest, Algorithm};
use super::encoding::{b64, ct_eq, CRYPT_ALPHABET};
use super::{
    detect as detect_any, Family, HashError, Hints, Limits, OktaDigest, OktaHash, Param, Result,
    SaltOrder, Scheme, StoredHash, Verdict,
};

/// Decoded material of a Django password.
pub(crate) enum DjangoHash {
    /// `argon2$…`, `bcrypt$…`, `crypt$$…`: the inner hash, given the password as is.
    Wrapped(Box<StoredHash>),
    /// `bcrypt_sha256$…`: the inner bcrypt, given hex(SHA-256(password)).
    BcryptSha256(Box<StoredHash>),
    /// `scrypt$N$salt$r$p$hash`.
    Scrypt {
        /// Validated cost parameters.
        params: scrypt::Params,
        /// The salt string's bytes.
        salt: Vec<u8>,
        /// Derived key (64 bytes from Django).
        hash: Vec<u8>,
    },
    /// `md5$…`, `sha1$…` and bare MD5: digest(salt ‖ password), salt possibly empty.
    Digest {
        /// MD5 or SHA-1.
        algorithm: Algorithm,
        /// The salt string's bytes.
        salt: Vec<u8>,
        /// Digest bytes.
        digest: Vec<u8>,
    },
}

/// Recognises Django's `algorithm$…` prefixes (except PBKDF2).
pub(crate) fn detect(stored: &str) -> Option<Scheme> {
    let (algorithm, rest) = stored.split_once('$')?;
    Some(match algorithm {
        "argon2" if rest.starts_with("argon2") => Scheme::DjangoArgon2,
        "bcrypt" if rest.starts_with("$2") => Scheme::DjangoBcrypt,
        "bcrypt_sha256" if rest.starts_with("$2") => Scheme::DjangoBcryptSha256,
        "scrypt" if rest.split('$').count() == 5 => Scheme::DjangoScrypt,
        // Django's identify_hasher: `md5$$` + 32 hex is the unsalted hasher.
        "md5" if stored.len() == 37 && rest.starts_with('$') => Scheme::DjangoUnsaltedMd5,
        "md5" => Scheme::DjangoSaltedMd5,
        "sha1" if stored.len() == 46 && rest.starts_with('$') => Scheme::DjangoUnsaltedSha1,
        "sha1" => Scheme::DjangoSaltedSha1,
        "crypt" if rest.contains('$') => Scheme::DjangoDesCrypt,
        _ => return None,
    })
}

/// Validates scrypt parameters against the limits and builds them
/// (shared with Spring's `{scrypt}`).
pub(crate) fn scrypt_params(
    scheme: &'static str,
    n: u64,
    r: u32,
    p: u32,
    limits: &Limits,
) -> Result<scrypt::Params> {
    if n < 2 || !n.is_power_of_two() {
        return Err(HashError::malformed(
            scheme,
            "N must be a power of two above 1",
        ));
    }
    if r == 0 || p == 0 {
        return Err(HashError::malformed(scheme, "r and p must be positive"));
    }
    // Memory and work, p included: p multiplies both the block buffer and the time.
    super::scrypt::check_cost(scheme, n, u64::from(r), u64::from(p), limits)?;
    let log_n = u8::try_from(n.trailing_zeros())
        .map_err(|_| HashError::malformed(scheme, "N is out of range"))?;
    scrypt::Params::new(log_n, r, p)
        .map_err(|_| HashError::malformed(scheme, "scrypt parameters are out of range"))
}

/// scrypt with the output length of `expected`, compared in constant time.
pub(crate) fn scrypt_matches(
    password: &[u8],
    salt: &[u8],
    params: &scrypt::Params,
    expected: &[u8],
) -> bool {
    let mut out = vec![0u8; expected.len()];
    scrypt::scrypt(password, salt, params, &mut out).is_ok() && ct_eq(&out, expected)
}

/// Parses a Django value as `scheme`.
pub(crate) fn parse(scheme: Scheme, stored: &str, limits: &Limits) -> Result<DjangoHash> {
    let name = scheme.as_str();
    let stored = stored.trim();
    let after = |prefix: &str| {
        stored
            .strip_prefix(prefix)
            .ok_or_else(|| HashError::malformed(name, format!("expected the `{prefix}` prefix")))
    };
    match scheme {
        Scheme::DjangoArgon2 => {
            let inner = after("argon2")?;
            let wrapped = delegate(
                name,
                inner,
                &[Scheme::Argon2i, Scheme::Argon2d, Scheme::Argon2id],
                limits,
            )?;
            Ok(DjangoHash::Wrapped(Box::new(wrapped)))
        }
        Scheme::DjangoBcrypt => {
            let wrapped = delegate(name, after("bcrypt$")?, BCRYPT, limits)?;
            Ok(DjangoHash::Wrapped(Box::new(wrapped)))
        }
        Scheme::DjangoBcryptSha256 => {
            let wrapped = delegate(name, after("bcrypt_sha256$")?, BCRYPT, limits)?;
            Ok(DjangoHash::BcryptSha256(Box::new(wrapped)))
        }
        Scheme::DjangoScrypt => parse_scrypt(after("scrypt$")?, limits),
        Scheme::DjangoDesCrypt => {
            let rest = after("crypt$")?;
            // crypt$<salt>$<crypt output>: the crypt string carries its own salt.
            let (_, data) = rest
                .split_once('$')
                .ok_or_else(|| HashError::malformed(name, "expected crypt$salt$data"))?;
            let inner_scheme = match detect_any(data) {
                // `crypt$$` around `{CRYPT}crypt$$…` would recurse without end.
                Some(s) if super::ldap::is_wrapper(s) => {
                    return Err(HashError::malformed(
                        name,
                        "the crypt data is another wrapper, not a crypt(3) value",
                    ))
                }
                Some(s) => s,
                None if data.len() == 13 && data.bytes().all(|b| CRYPT_ALPHABET.contains(&b)) => {
                    Scheme::DesCrypt
                }
                None => {
                    return Err(HashError::malformed(
                        name,
                        "the crypt data is not a recognised crypt(3) format",
                    ))
                }
            };
            let inner = StoredHash::parse_as(inner_scheme, data, &Hints::default(), limits)?;
            Ok(DjangoHash::Wrapped(Box::new(inner)))
        }
        Scheme::DjangoSaltedMd5 => salted(name, after("md5$")?, Algorithm::Md5, true),
        Scheme::DjangoSaltedSha1 => salted(name, after("sha1$")?, Algorithm::Sha1, true),
        Scheme::DjangoUnsaltedSha1 => salted(name, after("sha1$")?, Algorithm::Sha1, false),
        Scheme::DjangoUnsaltedMd5 => match stored.strip_prefix("md5$") {
            Some(rest) => salted(name, rest, Algorithm::Md5, false),
            None => Ok(DjangoHash::Digest {
                algorithm: Algorithm::Md5,
                salt: Vec::new(),
                digest: decode_digest(name, stored, Some("hex"), 16)?,
            }),
        },
        other => Err(HashError::Unsupported {
            scheme: other.as_str(),
            reason: "not a Django scheme".into(),
        }),
    }
}

const BCRYPT: &[Scheme] = &[
    Scheme::Bcrypt2a,
    Scheme::Bcrypt2b,
    Scheme::Bcrypt2y,
    Scheme::Bcrypt2x,
];

/// Parses the inner hash of a wrapper, which must be one of `allowed`.
fn delegate(
    name: &'static str,
    inner: &str,
    allowed: &[Scheme],
    limits: &Limits,
) -> Result<StoredHash> {
    match detect_any(inner) {
        Some(s) if allowed.contains(&s) => {
            StoredHash::parse_as(s, inner, &Hints::default(), limits)
        }
        _ => Err(HashError::malformed(
            name,
            format!(
                "the wrapped value is not a {} hash",
                allowed.first().map_or("", |s| s.family())
            ),
        )),
    }
}

/// `salt$hexdigest` (salted) or `$hexdigest` (unsalted).
fn salted(
    name: &'static str,
    rest: &str,
    algorithm: Algorithm,
    salted: bool,
) -> Result<DjangoHash> {
    let (salt, digest) = rest
        .rsplit_once('$')
        .ok_or_else(|| HashError::malformed(name, "expected salt$digest"))?;
    if !salted && !salt.is_empty() {
        return Err(HashError::malformed(
            name,
            "an unsalted value has an empty salt field",
        ));
    }
    Ok(DjangoHash::Digest {
        algorithm,
        salt: salt.as_bytes().to_vec(),
        digest: decode_digest(name, digest, Some("hex"), algorithm.output_len())?,
    })
}

/// `N$salt$r$p$hash` (after `scrypt$`).
fn parse_scrypt(rest: &str, limits: &Limits) -> Result<DjangoHash> {
    let name = Scheme::DjangoScrypt.as_str();
    let bad = |why: &str| HashError::malformed(name, why.to_owned());
    let parts: Vec<&str> = rest.split('$').collect();
    let [n, salt, r, p, hash] = parts[..] else {
        return Err(bad("expected scrypt$N$salt$r$p$hash"));
    };
    let n: u64 = n.parse().map_err(|_| bad("N is not an integer"))?;
    let r: u32 = r.parse().map_err(|_| bad("r is not an integer"))?;
    let p: u32 = p.parse().map_err(|_| bad("p is not an integer"))?;
    let params = scrypt_params(name, n, r, p, limits)?;
    let hash = b64(hash)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("hash is not valid Base64"))?;
    Ok(DjangoHash::Scrypt {
        params,
        salt: salt.as_bytes().to_vec(),
        hash,
    })
}

/// Django's bcrypt_sha256 pre-hash: lower-case hex of SHA-256(password).
fn sha256_hex(password: &[u8]) -> Vec<u8> {
    ::hex::encode(Algorithm::Sha256.digest(&[password])).into_bytes()
}

impl Family for DjangoHash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        match self {
            Self::Wrapped(inner) => inner.material.family().verify(password),
            Self::BcryptSha256(inner) => inner.material.family().verify(&sha256_hex(password)),
            Self::Scrypt { params, salt, hash } => Ok(Verdict::from_bool(scrypt_matches(
                password, salt, params, hash,
            ))),
            Self::Digest {
                algorithm,
                salt,
                digest,
            } => Ok(Verdict::from_bool(ct_eq(
                &algorithm.digest(&[salt, password]),
                digest,
            ))),
        }
    }

    fn params(&self) -> Vec<Param> {
        match self {
            Self::Wrapped(inner) | Self::BcryptSha256(inner) => {
                let mut out = vec![("inner_scheme", inner.scheme().as_str().to_owned())];
                out.extend(inner.params());
                out
            }
            Self::Scrypt { params, salt, hash } => vec![
                ("N", params.n().to_string()),
                ("r", params.r().to_string()),
                ("p", params.p().to_string()),
                ("salt_bytes", salt.len().to_string()),
                ("dklen", hash.len().to_string()),
            ],
            Self::Digest { salt, digest, .. } => {
                let mut out = vec![("digest_bytes", digest.len().to_string())];
                if !salt.is_empty() {
                    out.push(("salt_bytes", salt.len().to_string()));
                    out.push(("salt_position", "prefix".to_owned()));
                }
                out
            }
        }
    }

    fn okta_native(&self) -> Option<OktaHash> {
        match self {
            Self::Wrapped(inner) => inner.okta_native(),
            Self::BcryptSha256(_) | Self::Scrypt { .. } => None,
            Self::Digest {
                algorithm,
                salt,
                digest,
            } => Some(OktaHash::Digest {
                algorithm: match algorithm {
                    Algorithm::Md5 => OktaDigest::Md5,
                    Algorithm::Sha1 => OktaDigest::Sha1,
                    _ => return None,
                },
                salt: (!salt.is_empty()).then(|| salt.clone()),
                salt_order: SaltOrder::Prefix,
                value: digest.clone(),
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn verify(stored: &str, pw: &str) -> Verdict {
        let scheme = detect(stored).unwrap_or(Scheme::DjangoUnsaltedMd5);
        parse(scheme, stored, &Limits::default())
            .and_then(|h| h.verify(pw.as_bytes()))
            .unwrap()
    }

    // Django's own tests (tests/auth_tests/test_hashers.py):
    // test_sha1: make_password("lètmein", "seasalt", "sha1");
    // test_md5: make_password("lètmein", "seasalt", "md5");
    // test_unsalted_md5 / test_unsalted_sha1 for "lètmein".
    #[test]
    fn django_test_suite_digests() {
        let sha1 = "sha1$seasalt$cff36ea83f5706ce9aa7454e63e431fc726b2dc8";
        assert_eq!(detect(sha1), Some(Scheme::DjangoSaltedSha1));
        assert_eq!(verify(sha1, "lètmein"), Verdict::Match);
        assert_eq!(verify(sha1, "lètmeinz"), Verdict::Mismatch);
        let md5 = "md5$seasalt$3f86d0d3d465b7b458c231bf3555c0e3";
        assert_eq!(detect(md5), Some(Scheme::DjangoSaltedMd5));
        assert_eq!(verify(md5, "lètmein"), Verdict::Match);
        let unsalted = "88a434c88cca4e900f7874cd98123f43";
        assert_eq!(detect(unsalted), None);
        assert_eq!(verify(unsalted, "lètmein"), Verdict::Match);
        let legacy = "md5$$88a434c88cca4e900f7874cd98123f43";
        assert_eq!(detect(legacy), Some(Scheme::DjangoUnsaltedMd5));
        assert_eq!(verify(legacy, "lètmein"), Verdict::Match);
        let unsalted_sha1 = "sha1$$6d138ca3ae545631b3abd71a4f076ce759c5700b";
        assert_eq!(detect(unsalted_sha1), Some(Scheme::DjangoUnsaltedSha1));
        assert_eq!(verify(unsalted_sha1, "lètmein"), Verdict::Match);
        assert_eq!(verify(unsalted_sha1, "letmein"), Verdict::Mismatch);
    }

    // Django test_hashers.py test_scrypt: make_password("lètmein", "seasalt", "scrypt").
    #[test]
    fn django_test_suite_scrypt() {
        let stored = "scrypt$16384$seasalt$8$1$Qj3+9PPyRjSJIebHnG81TMjsqtaIGxNQG/aEB/NYafTJ7tibgfYz71m0ldQESkXFRkdVCBhhY8mx7rQwite/Pw==";
        assert_eq!(detect(stored), Some(Scheme::DjangoScrypt));
        assert_eq!(verify(stored, "lètmein"), Verdict::Match);
        assert_eq!(verify(stored, "lètmeinz"), Verdict::Mismatch);
        let low = Limits {
            scrypt_memory_bytes: 1024 * 1024,
            ..Limits::default()
        };
        assert!(matches!(
            parse(Scheme::DjangoScrypt, stored, &low),
            Err(HashError::CostTooHigh { .. })
        ));
    }

    // Django test_hashers.py test_argon2 / test_argon2_version_upgrade ("secret"):
    // an old argon2i hash without a version field, one with v=19, and argon2id;
    // test_crypt: make_password("lètmei", "ab", "crypt") == "crypt$$ab1Hv2Lg7ltQo".
    #[test]
    fn django_test_suite_wrapped_formats() {
        let old = "argon2$argon2i$m=8,t=1,p=1$c29tZXNhbHQ$gwQOXSNhxiOxPOA0+PY10P9QFO4NAYysnqRt1GSQLE55m+2GYDt9FEjPMHhP2Cuf0nOEXXMocVrsJAtNSsKyfg";
        let v19 = "argon2$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q";
        let id = "argon2$argon2id$v=19$m=102400,t=2,p=8$Y041dExhNkljRUUy$TMa6A8fPJhCAUXRhJXCXdw";
        for stored in [old, v19, id] {
            assert_eq!(detect(stored), Some(Scheme::DjangoArgon2));
            assert_eq!(verify(stored, "secret"), Verdict::Match, "{stored}");
            assert_eq!(verify(stored, "wrong"), Verdict::Mismatch, "{stored}");
        }
        let crypt = "crypt$$ab1Hv2Lg7ltQo";
        assert_eq!(detect(crypt), Some(Scheme::DjangoDesCrypt));
        assert_eq!(verify(crypt, "lètmei"), Verdict::Match);
        assert_eq!(verify(crypt, "lètmeiz"), Verdict::Mismatch);
    }

    #[test]
    fn malformed_values() {
        let l = Limits::default();
        assert!(parse(Scheme::DjangoScrypt, "scrypt$1000$salt$8$1$AAAA", &l).is_err());
        assert!(parse(Scheme::DjangoScrypt, "scrypt$1024$salt$8$1", &l).is_err());
        assert!(parse(Scheme::DjangoSaltedMd5, "md5$salt$abc", &l).is_err());
        assert!(parse(
            Scheme::DjangoUnsaltedSha1,
            "sha1$x$6d138ca3ae545631b3abd71a4f076ce759c5700b",
            &l
        )
        .is_err());
        assert!(parse(Scheme::DjangoBcrypt, "bcrypt$md5$x$y", &l).is_err());
        assert!(parse(
            Scheme::DjangoUnsaltedMd5,
            "88a434c88cca4e900f7874cd98123f4",
            &l
        )
        .is_err());
        assert_eq!(detect("pbkdf2_sha256$1$a$b"), None);
    }

    #[test]
    fn okta_takes_salted_digests_as_prefix() {
        let h = parse(
            Scheme::DjangoSaltedSha1,
            "sha1$seasalt$cff36ea83f5706ce9aa7454e63e431fc726b2dc8",
            &Limits::default(),
        )
        .unwrap();
        match h.okta_native() {
            Some(OktaHash::Digest {
                algorithm,
                salt,
                salt_order,
                ..
            }) => {
                assert_eq!(algorithm, OktaDigest::Sha1);
                assert_eq!(salt, Some(b"seasalt".to_vec()));
                assert_eq!(salt_order, SaltOrder::Prefix);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    // Found by tests/api/hash_robustness.rs: Django's scrypt checked only
    // 128 * r * N, so p = 10^8 was accepted (verifying would allocate
    // 128 * r * p = 100 GB) and so was N = 2^20, r = 1, p = 16384.
    #[test]
    fn scrypt_p_is_bounded_at_parse_time() {
        let limits = Limits::default();
        for stored in [
            "scrypt$16384$salt$8$100000000$a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
            "scrypt$1048576$salt$1$16384$a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
        ] {
            assert!(
                matches!(
                    parse(Scheme::DjangoScrypt, stored, &limits),
                    Err(HashError::CostTooHigh { .. })
                ),
                "{stored}"
            );
        }
    }

    // Found by tests/api/hash_robustness.rs: `crypt$$` accepted any detected
    // inner format, `{CRYPT}` did the same, and `crypt$${CRYPT}crypt$${CRYPT}…`
    // recursed once per 14 bytes until the stack overflowed.
    #[test]
    fn crypt_does_not_wrap_other_wrappers() {
        let limits = Limits::default();
        let one = "crypt$${CRYPT}$1$saltsalt$hash";
        assert!(matches!(
            parse(Scheme::DjangoDesCrypt, one, &limits),
            Err(HashError::Malformed { .. })
        ));
        let deep = format!("{}$1$salt$", "crypt$${CRYPT}".repeat(10_000));
        assert!(parse(Scheme::DjangoDesCrypt, &deep, &limits).is_err());
    }
}
