//! LDAP `userPassword` values (RFC 2307 style `{TAG}` prefixes, as written by
//! OpenLDAP, 389-ds, passlib and `htpasswd -s`): `{MD5}`, `{SMD5}`, `{SHA}`,
//! `{SSHA}`, `{SHA256}`…`{SSHA512}` and `{CRYPT}`. Tags are case-insensitive.
//! Salted forms are Base64 of digest ‖ salt with any salt length, computed
//! as digest(password ‖ salt). `{CRYPT}` wraps a crypt(3) string and
//! delegates to that scheme. Spring's `{ldap}` id in front is tolerated.

use super::digest::{decode_digest, Algorithm};
use super::encoding::{b64, CRYPT_ALPHABET};
use super::{
    detect as detect_any, Family, HashError, Hints, Limits, OktaDigest, OktaHash, Param, Result,
    SaltOrder, Scheme, StoredHash, Verdict,
};

/// Decoded material of an LDAP `{TAG}` value.
pub(crate) enum LdapHash {
    /// `{MD5}`, `{SHA}`, `{SSHA256}`, ...: digest(password ‖ salt), salt possibly empty.
    Digest {
        /// Hash function named by the tag.
        algorithm: Algorithm,
        /// Salt bytes (empty for the unsalted tags).
        salt: Vec<u8>,
        /// Digest bytes.
        digest: Vec<u8>,
        /// Whether the tag is a salted one.
        salted: bool,
    },
    /// `{CRYPT}` around another crypt(3) format.
    Crypt(Box<StoredHash>),
}

/// The scheme and digest of an LDAP tag (upper-cased, without braces).
fn scheme_of_tag(tag: &str) -> Option<Scheme> {
    Some(match tag {
        "MD5" => Scheme::LdapMd5,
        "SMD5" => Scheme::LdapSaltedMd5,
        "SHA" | "SHA1" => Scheme::LdapSha1,
        "SSHA" | "SSHA1" => Scheme::LdapSaltedSha1,
        "SHA256" => Scheme::LdapSha256,
        "SSHA256" => Scheme::LdapSaltedSha256,
        "SHA384" => Scheme::LdapSha384,
        "SSHA384" => Scheme::LdapSaltedSha384,
        "SHA512" => Scheme::LdapSha512,
        "SSHA512" => Scheme::LdapSaltedSha512,
        "CRYPT" => Scheme::LdapCrypt,
        _ => return None,
    })
}

/// Digest algorithm and whether the scheme is salted (`None` for `{CRYPT}`).
fn algorithm_of(scheme: Scheme) -> Option<(Algorithm, bool)> {
    Some(match scheme {
        Scheme::LdapMd5 | Scheme::LdapHexMd5 => (Algorithm::Md5, false),
        Scheme::LdapSaltedMd5 => (Algorithm::Md5, true),
        Scheme::LdapSha1 | Scheme::LdapHexSha1 => (Algorithm::Sha1, false),
        Scheme::LdapSaltedSha1 => (Algorithm::Sha1, true),
        Scheme::LdapSha256 => (Algorithm::Sha256, false),
        Scheme::LdapSaltedSha256 => (Algorithm::Sha256, true),
        Scheme::LdapSha384 => (Algorithm::Sha384, false),
        Scheme::LdapSaltedSha384 => (Algorithm::Sha384, true),
        Scheme::LdapSha512 => (Algorithm::Sha512, false),
        Scheme::LdapSaltedSha512 => (Algorithm::Sha512, true),
        _ => return None,
    })
}

/// Splits `{TAG}rest` into the upper-cased tag and the rest.
pub(crate) fn split_tag(stored: &str) -> Option<(String, &str)> {
    let rest = stored.strip_prefix('{')?;
    let end = rest.find('}')?;
    Some((rest[..end].to_ascii_uppercase(), &rest[end + 1..]))
}

/// Drops a Spring Security `{ldap}` id in front of the LDAP tag.
fn strip_spring_id(stored: &str) -> &str {
    match stored.get(..6) {
        Some(id) if id.eq_ignore_ascii_case("{ldap}") => &stored[6..],
        _ => stored,
    }
}

/// Recognises an LDAP tag. Content decides nothing here: the Spring ids that
/// share a tag (`{MD5}` with a hex digest) are recognised first by `spring`.
pub(crate) fn detect(stored: &str) -> Option<Scheme> {
    let (tag, _) = split_tag(strip_spring_id(stored))?;
    scheme_of_tag(&tag)
}

/// The hex-digest spelling of `scheme`'s tag, if it has one (passlib's
/// `ldap_hex_md5` / `ldap_hex_sha1`: `{MD5}` or `{SHA}` and a hex digest).
fn hex_variant(tag: &str) -> Option<Scheme> {
    match tag {
        "MD5" => Some(Scheme::LdapHexMd5),
        "SHA" | "SHA1" => Some(Scheme::LdapHexSha1),
        _ => None,
    }
}

/// Recognises `{MD5}` / `{SHA}` followed by exactly a hex digest. Runs before
/// Spring's detection: Spring's unsalted `{MD5}hex` is the same computation.
pub(crate) fn detect_hex(stored: &str) -> Option<Scheme> {
    let (tag, value) = split_tag(stored)?;
    let scheme = hex_variant(&tag)?;
    let (algorithm, _) = algorithm_of(scheme)?;
    let is_hex =
        value.len() == 2 * algorithm.output_len() && value.bytes().all(|b| b.is_ascii_hexdigit());
    is_hex.then_some(scheme)
}

/// Whether `s` is a traditional DES crypt string: 13 characters of the crypt alphabet.
fn is_des_crypt(s: &str) -> bool {
    s.len() == 13 && s.bytes().all(|b| CRYPT_ALPHABET.contains(&b))
}

/// Parses an LDAP `{TAG}` value as `scheme`.
pub(crate) fn parse(
    scheme: Scheme,
    stored: &str,
    hints: &Hints,
    limits: &Limits,
) -> Result<LdapHash> {
    let name = scheme.as_str();
    let stored = strip_spring_id(stored.trim());
    let (tag, value) =
        split_tag(stored).ok_or_else(|| HashError::malformed(name, "missing the {TAG} prefix"))?;
    if scheme_of_tag(&tag) != Some(scheme) && hex_variant(&tag) != Some(scheme) {
        return Err(HashError::malformed(
            name,
            "the {TAG} prefix names another scheme",
        ));
    }
    if scheme == Scheme::LdapCrypt {
        return parse_crypt(value, hints, limits).map(|h| LdapHash::Crypt(Box::new(h)));
    }
    let (algorithm, salted) = algorithm_of(scheme).ok_or_else(|| HashError::Unsupported {
        scheme: name,
        reason: "not an LDAP digest scheme".into(),
    })?;
    let len = algorithm.output_len();
    if !salted {
        // Base64 per RFC 2307; a few directories hold hex under the same tag,
        // and the two lengths never collide. The `ldap_hex_*` names insist on hex.
        let encoding = matches!(scheme, Scheme::LdapHexMd5 | Scheme::LdapHexSha1).then_some("hex");
        let digest = decode_digest(name, value, encoding, len)?;
        return Ok(LdapHash::Digest {
            algorithm,
            salt: Vec::new(),
            digest,
            salted,
        });
    }
    let raw = b64(value).ok_or_else(|| HashError::malformed(name, "value is not valid Base64"))?;
    if raw.len() <= len {
        return Err(HashError::malformed(
            name,
            format!(
                "value is {} bytes; a salted digest needs more than {len}",
                raw.len()
            ),
        ));
    }
    let (digest, salt) = raw.split_at(len);
    Ok(LdapHash::Digest {
        algorithm,
        salt: salt.to_vec(),
        digest: digest.to_vec(),
        salted,
    })
}

/// `{CRYPT}`: the inner scheme comes from `params.inner_scheme`, from the
/// inner string's own prefix, or is DES crypt (13 characters, no marker).
fn parse_crypt(inner: &str, hints: &Hints, limits: &Limits) -> Result<StoredHash> {
    let name = Scheme::LdapCrypt.as_str();
    let inner_hints = Hints::default();
    let not_crypt3 = || {
        HashError::malformed(
            name,
            "the value after {CRYPT} is another wrapper, not a crypt(3) value",
        )
    };
    if let Some(wanted) = hints.param("inner_scheme").filter(|s| !s.trim().is_empty()) {
        let parsed = StoredHash::parse_with(Some(wanted), inner, &inner_hints, limits)?;
        if is_wrapper(parsed.scheme()) {
            return Err(not_crypt3());
        }
        return Ok(parsed);
    }
    let scheme = match detect_any(inner) {
        Some(Scheme::LdapCrypt) => {
            return Err(HashError::malformed(name, "nested {CRYPT} prefix"));
        }
        // Wrappers would let `{CRYPT}crypt$${CRYPT}…` recurse once per
        // few bytes until the stack overflows.
        Some(s) if is_wrapper(s) => return Err(not_crypt3()),
        Some(s) => s,
        None if is_des_crypt(inner) => Scheme::DesCrypt,
        None => {
            return Err(HashError::malformed(
                name,
                "the value after {CRYPT} is not a recognised crypt(3) format",
            ))
        }
    };
    StoredHash::parse_as(scheme, inner, &inner_hints, limits)
}

/// Whether `scheme` wraps other formats (an LDAP tag, a Django or Spring
/// prefix) rather than being a crypt(3) format itself. `{CRYPT}` and
/// Django's `crypt$` hold only the latter.
pub(crate) fn is_wrapper(scheme: Scheme) -> bool {
    matches!(scheme.family(), "ldap" | "django" | "spring")
}

fn okta_digest(algorithm: Algorithm) -> Option<OktaDigest> {
    match algorithm {
        Algorithm::Md5 => Some(OktaDigest::Md5),
        Algorithm::Sha1 => Some(OktaDigest::Sha1),
        Algorithm::Sha256 => Some(OktaDigest::Sha256),
        Algorithm::Sha512 => Some(OktaDigest::Sha512),
        Algorithm::Md4 | Algorithm::Sha224 | Algorithm::Sha384 => None,
    }
}

impl Family for LdapHash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        match self {
            Self::Digest {
                algorithm,
                salt,
                digest,
                ..
            } => Ok(Verdict::from_bool(
                algorithm.matches(&[password, salt], digest),
            )),
            Self::Crypt(inner) => inner.material.family().verify(password),
        }
    }

    fn params(&self) -> Vec<Param> {
        match self {
            Self::Digest {
                digest,
                salt,
                salted,
                ..
            } => {
                let mut out = vec![("digest_bytes", digest.len().to_string())];
                if *salted {
                    out.push(("salt_bytes", salt.len().to_string()));
                    out.push(("salt_position", "suffix".to_owned()));
                }
                out
            }
            Self::Crypt(inner) => {
                let mut out = vec![("inner_scheme", inner.scheme().as_str().to_owned())];
                out.extend(inner.params());
                out
            }
        }
    }

    fn okta_native(&self) -> Option<OktaHash> {
        match self {
            Self::Digest {
                algorithm,
                salt,
                digest,
                salted,
            } => Some(OktaHash::Digest {
                algorithm: okta_digest(*algorithm)?,
                salt: salted.then(|| salt.clone()),
                salt_order: SaltOrder::Postfix,
                value: digest.clone(),
            }),
            Self::Crypt(inner) => inner.okta_native(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(stored: &str, pw: &str) -> Verdict {
        let scheme = detect(stored).expect("detected");
        let h = parse(scheme, stored, &Hints::default(), &Limits::default()).expect("parses");
        h.verify(pw.as_bytes()).expect("verifies")
    }

    // Spring Security PasswordEncoderFactoriesTests.matchesWhenLdapThenWorks:
    // "{ldap}{SSHA}igvD9lOiTXm16dmOw0YWRb9OjK2ThZvdQku2EQ==" is "password".
    #[test]
    fn spring_ldap_ssha_vector() {
        let stored = "{ldap}{SSHA}igvD9lOiTXm16dmOw0YWRb9OjK2ThZvdQku2EQ==";
        assert_eq!(detect(stored), Some(Scheme::LdapSaltedSha1));
        assert_eq!(check(stored, "password"), Verdict::Match);
        assert_eq!(check(stored, "Password"), Verdict::Mismatch);
    }

    // MD5 and SHA-1 of "password" (RFC 1321 / FIPS 180 functions; hex
    // 5f4dcc3b5aa765d61d8327deb882cf99 and 5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8),
    // Base64-encoded after the tag as RFC 2307 and `htpasswd -s` write them.
    #[test]
    fn unsalted_tags_in_any_case() {
        assert_eq!(
            check("{MD5}X03MO1qnZdYdgyfeuILPmQ==", "password"),
            Verdict::Match
        );
        assert_eq!(
            check("{md5}X03MO1qnZdYdgyfeuILPmQ==", "password"),
            Verdict::Match
        );
        assert_eq!(
            check("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "password"),
            Verdict::Match
        );
        assert_eq!(
            check("{sha}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "passwore"),
            Verdict::Mismatch
        );
        // The same MD5 digest in hex (RFC 1321 value of "password").
        let hex = Hints::default();
        let h = parse(
            Scheme::LdapMd5,
            "{MD5}5f4dcc3b5aa765d61d8327deb882cf99",
            &hex,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(h.verify(b"password").unwrap(), Verdict::Match);
    }

    // passlib's ldap_hex_md5 / ldap_hex_sha1 known_correct_hashes ("password"),
    // and libpass 1.9.4 values (one upper-cased, which passlib also accepts).
    // These were recognised as Spring `{MD5}` ids or not named at all before.
    #[test]
    fn hex_digest_tags_have_their_own_names() {
        for (stored, scheme, pw) in [
            (
                "{MD5}5f4dcc3b5aa765d61d8327deb882cf99",
                Scheme::LdapHexMd5,
                "password",
            ),
            (
                "{SHA}5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8",
                Scheme::LdapHexSha1,
                "password",
            ),
            (
                "{MD5}f0d7dcddc73095a7d6c9271bf5c1143e",
                Scheme::LdapHexMd5,
                "Grüße, Straße!",
            ),
            (
                "{SHA}A1240147FDEF47C452757613B0D817C007A49ED5",
                Scheme::LdapHexSha1,
                "😀emoji😀pass",
            ),
        ] {
            assert_eq!(super::super::detect(stored), Some(scheme), "{stored}");
            let h = parse(scheme, stored, &Hints::default(), &Limits::default()).unwrap();
            assert_eq!(h.verify(pw.as_bytes()).unwrap(), Verdict::Match, "{stored}");
            assert_eq!(
                h.verify(b"passwore").unwrap(),
                Verdict::Mismatch,
                "{stored}"
            );
        }
        // The hex names take hex only.
        assert!(parse(
            Scheme::LdapHexMd5,
            "{MD5}X03MO1qnZdYdgyfeuILPmQ==",
            &Hints::default(),
            &Limits::default()
        )
        .is_err());
    }

    // libpass 1.9.4 `ldap_sha1_crypt.hash` (checked with libxcrypt 4.4.33).
    #[test]
    fn crypt_wraps_netbsd_sha1_crypt() {
        let stored = "{CRYPT}$sha1$100$FqBzWqW2$PwMVj8qOTec/CRXUVYGLzxZR3C47";
        assert_eq!(check(stored, "naïve café"), Verdict::Match);
        assert_eq!(check(stored, "naïve cafe"), Verdict::Mismatch);
    }

    #[test]
    fn salted_digest_is_postfix_for_okta() {
        let stored = "{SSHA}igvD9lOiTXm16dmOw0YWRb9OjK2ThZvdQku2EQ==";
        let h = parse(
            Scheme::LdapSaltedSha1,
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
                assert_eq!(salt.map(|s| s.len()), Some(8));
                assert_eq!(salt_order, SaltOrder::Postfix);
                assert_eq!(value.len(), 20);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn malformed_values_fail_at_parse() {
        let l = Limits::default();
        let none = Hints::default();
        // Salt missing: exactly one digest's worth of bytes.
        assert!(matches!(
            parse(
                Scheme::LdapSaltedSha1,
                "{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
                &none,
                &l
            ),
            Err(HashError::Malformed { .. })
        ));
        assert!(parse(Scheme::LdapSha1, "{SHA}not base64!", &none, &l).is_err());
        assert!(parse(
            Scheme::LdapSha1,
            "{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
            &none,
            &l
        )
        .is_err());
        assert!(parse(Scheme::LdapSha1, "W6ph5Mm5Pz8GgiULbPgzG37mj9g=", &none, &l).is_err());
        assert!(parse(Scheme::LdapCrypt, "{CRYPT}!!", &none, &l).is_err());
        let err = parse(Scheme::LdapSha1, "{SHA}c2VjcmV0LWRpZ2VzdA==", &none, &l)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!err.contains("c2VjcmV0"), "{err}");
    }

    #[test]
    fn crypt_des_is_recognised_without_marker() {
        assert!(is_des_crypt("EC93K7Lz2ptxA"));
        assert!(!is_des_crypt("$1$abc$def"));
        assert_eq!(detect("{crypt}$6$x$y"), Some(Scheme::LdapCrypt));
    }

    // Found by tests/api/hash_robustness.rs: `{CRYPT}crypt$${CRYPT}…`
    // recursed through Django's `crypt$` until the stack overflowed.
    #[test]
    fn crypt_does_not_wrap_other_wrappers() {
        let limits = Limits::default();
        let none = Hints::default();
        for stored in ["{CRYPT}crypt$$$1$saltsalt$hash", "{CRYPT}{bcrypt}$2a$05$x"] {
            assert!(
                matches!(
                    parse(Scheme::LdapCrypt, stored, &none, &limits),
                    Err(HashError::Malformed { .. })
                ),
                "{stored}"
            );
        }
        let deep = format!("{}$1$salt$", "{CRYPT}crypt$$".repeat(10_000));
        assert!(parse(Scheme::LdapCrypt, &deep, &none, &limits).is_err());
        // Naming the wrapper as the inner scheme does not get around it.
        let named = Hints::default().with_param("inner_scheme", "django_des_crypt");
        assert!(parse(
            Scheme::LdapCrypt,
            "{CRYPT}crypt$$ab1Hv2Lg7ltQo",
            &named,
            &limits
        )
        .is_err());
    }
}
