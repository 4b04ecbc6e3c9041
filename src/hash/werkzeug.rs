//! Werkzeug's (Flask's) `generate_password_hash` format, `method$salt$hash`:
//! `pbkdf2:<hash>[:<iterations>]` and `scrypt[:N:r:p]` (self-describing),
//! and the pre-0.9 salted-HMAC / plain-digest / plaintext methods
//! (`werkzeug_hmac`, e.g. `sha1$salt$hex`, which collide with Django's
//! `sha1$` prefix and so need the scheme named). The salt is used as text;
//! the hash is hex. The primitives are the PBKDF2 and scrypt families'.

use super::digest::Algorithm;
use super::encoding::{ct_eq, hex};
use super::pbkdf2::{Pbkdf2Hash, Prf};
use super::scrypt::ScryptHash;
use super::{Family, HashError, Hints, Limits, Param, Result, Scheme, Verdict};

/// Iterations assumed for a count-less `pbkdf2:sha1$…`: Werkzeug 0.9–0.11's
/// `DEFAULT_PBKDF2_ITERATIONS`, when `pbkdf2:sha1` was the default method
/// and the docs showed the count-less spelling. `params.iterations`
/// overrides it.
const OLD_DEFAULT_ITERATIONS_SHA1: u64 = 1_000;
/// The same for other hashes: Werkzeug 0.12–0.14's default, when the
/// default method became `pbkdf2:sha256` (later releases used 150000,
/// 260000, 600000 and 1000000).
const OLD_DEFAULT_ITERATIONS: u64 = 50_000;
/// Werkzeug's `scrypt` method without arguments: N=2^15, r=8, p=1.
const SCRYPT_DEFAULTS: (u64, u64, u64) = (1 << 15, 8, 1);
/// `hashlib.scrypt`'s default key length, which Werkzeug keeps.
const SCRYPT_DKLEN: usize = 64;

/// Decoded material of a Werkzeug hash.
pub(crate) enum WerkzeugHash {
    Pbkdf2(Pbkdf2Hash),
    Scrypt(ScryptHash),
    Legacy(Legacy),
}

/// A pre-PBKDF2 Werkzeug hash: HMAC(salt, password) when salted, the bare
/// digest when not, or the password itself for `plain`.
pub(crate) struct Legacy {
    algorithm: Option<Algorithm>,
    salt: Vec<u8>,
    expected: Vec<u8>,
}

fn split<'a>(name: &'static str, stored: &'a str) -> Result<(&'a str, &'a str, &'a str)> {
    let mut parts = stored.splitn(3, '$');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(s), Some(h)) => Ok((m, s, h)),
        _ => Err(HashError::malformed(name, "expected `method$salt$hash`")),
    }
}

fn number(name: &'static str, what: &str, s: &str) -> Result<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HashError::malformed(
            name,
            format!("{what} is not a number"),
        ));
    }
    s.parse()
        .map_err(|_| HashError::malformed(name, format!("{what} is not a number")))
}

/// Parses a Werkzeug value.
pub(crate) fn parse(
    scheme: Scheme,
    stored: &str,
    hints: &Hints,
    limits: &Limits,
) -> Result<WerkzeugHash> {
    let name = scheme.as_str();
    let (method, salt, hash) = split(name, stored)?;
    let mut args = method.split(':');
    let kind = args.next().unwrap_or_default();
    let args: Vec<&str> = args.collect();
    match (scheme, kind) {
        (Scheme::WerkzeugPbkdf2, "pbkdf2") => {
            let (prf, iterations) = match args[..] {
                [] => (Prf::Sha256, None),
                [h] => (prf(name, h)?, None),
                [h, n] => (prf(name, h)?, Some(number(name, "iterations", n)?)),
                _ => {
                    return Err(HashError::malformed(
                        name,
                        "pbkdf2 takes a hash and a count",
                    ))
                }
            };
            let iterations = match (iterations, hints.param("iterations")) {
                (Some(n), _) => n,
                (None, Some(n)) => number(name, "params.iterations", n.trim())?,
                (None, None) if prf == Prf::Sha1 => OLD_DEFAULT_ITERATIONS_SHA1,
                (None, None) => OLD_DEFAULT_ITERATIONS,
            };
            if salt.is_empty() {
                return Err(HashError::malformed(name, "PBKDF2 needs a salt"));
            }
            let dk = hex(hash).ok_or_else(|| HashError::malformed(name, "hash is not hex"))?;
            Pbkdf2Hash::new(name, prf, iterations, salt.as_bytes().to_vec(), dk, limits)
                .map(WerkzeugHash::Pbkdf2)
        }
        (Scheme::WerkzeugScrypt, "scrypt") => {
            let (n, r, p) = match args[..] {
                [] => SCRYPT_DEFAULTS,
                [n, r, p] => (
                    number(name, "N", n)?,
                    number(name, "r", r)?,
                    number(name, "p", p)?,
                ),
                _ => return Err(HashError::malformed(name, "scrypt takes N:r:p")),
            };
            let dk = hex(hash).ok_or_else(|| HashError::malformed(name, "hash is not hex"))?;
            if dk.len() != SCRYPT_DKLEN {
                return Err(HashError::malformed(name, "hash must be 64 bytes of hex"));
            }
            ScryptHash::new(name, n, r, p, salt.as_bytes().to_vec(), dk, limits)
                .map(WerkzeugHash::Scrypt)
        }
        (Scheme::WerkzeugHmac, "plain") if args.is_empty() => Ok(WerkzeugHash::Legacy(Legacy {
            algorithm: None,
            salt: Vec::new(),
            expected: hash.as_bytes().to_vec(),
        })),
        (Scheme::WerkzeugHmac, algo) if args.is_empty() => {
            let algorithm = match algo {
                "md5" => Algorithm::Md5,
                "sha1" => Algorithm::Sha1,
                "sha224" => Algorithm::Sha224,
                "sha256" => Algorithm::Sha256,
                "sha384" => Algorithm::Sha384,
                "sha512" => Algorithm::Sha512,
                _ => return Err(HashError::malformed(name, "unknown hash method")),
            };
            let expected =
                hex(hash).ok_or_else(|| HashError::malformed(name, "hash is not hex"))?;
            if expected.len() != algorithm.output_len() {
                return Err(HashError::malformed(name, "hash has the wrong length"));
            }
            Ok(WerkzeugHash::Legacy(Legacy {
                algorithm: Some(algorithm),
                salt: salt.as_bytes().to_vec(),
                expected,
            }))
        }
        _ => Err(HashError::malformed(
            name,
            format!("the method is not a {name} method"),
        )),
    }
}

fn prf(name: &'static str, h: &str) -> Result<Prf> {
    Prf::parse(h).ok_or_else(|| HashError::malformed(name, "unknown PBKDF2 hash"))
}

impl Family for WerkzeugHash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        match self {
            Self::Pbkdf2(h) => h.verify(password),
            Self::Scrypt(h) => h.verify(password),
            Self::Legacy(l) => {
                let computed = match l.algorithm {
                    None => password.to_vec(),
                    Some(a) if l.salt.is_empty() => a.digest(&[password]),
                    Some(a) => a.hmac(&l.salt, &[password]),
                };
                Ok(Verdict::from_bool(ct_eq(&computed, &l.expected)))
            }
        }
    }

    fn params(&self) -> Vec<Param> {
        match self {
            Self::Pbkdf2(h) => h.params(),
            Self::Scrypt(h) => h.params(),
            Self::Legacy(l) => vec![(
                "construction",
                match l.algorithm {
                    None => "plaintext",
                    Some(_) if l.salt.is_empty() => "unsalted digest",
                    Some(_) => "hmac(salt, password)",
                }
                .to_owned(),
            )],
        }
    }

    fn okta_native(&self) -> Option<super::OktaHash> {
        match self {
            Self::Pbkdf2(h) => h.okta_native(),
            _ => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn both(scheme: Scheme, stored: &str, good: &str, bad: &str) {
        let h = parse(scheme, stored, &Hints::default(), &Limits::default()).unwrap();
        crate::hash::testing::assert_match_and_mismatch(
            &h,
            good.as_bytes(),
            bad.as_bytes(),
            stored,
        );
    }

    // Werkzeug's `tests/test_security.py::test_pbkdf2` checks its PBKDF2
    // against these RFC 6070 / PBKDF2-HMAC-SHA256 outputs ("password",
    // salt "salt"); here they are in the stored `method$salt$hash` framing.
    #[test]
    fn pbkdf2_framing_with_werkzeug_test_vectors() {
        both(
            Scheme::WerkzeugPbkdf2,
            "pbkdf2:sha256:1$salt$120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b",
            "password",
            "passwore",
        );
        both(
            Scheme::WerkzeugPbkdf2,
            "pbkdf2:sha256:2$salt$ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43",
            "password",
            "Password",
        );
        both(
            Scheme::WerkzeugPbkdf2,
            "pbkdf2:sha1:4096$salt$4b007901b765489abead49d926f721d065a429c1",
            "password",
            "password ",
        );
    }

    // A count-less method takes the old default (or params.iterations).
    #[test]
    fn countless_pbkdf2_uses_the_old_default_or_the_hint() {
        let stored = "pbkdf2:sha1$salt$4b007901b765489abead49d926f721d065a429c1";
        let limits = Limits::default();
        let h = parse(Scheme::WerkzeugPbkdf2, stored, &Hints::default(), &limits).unwrap();
        assert_eq!(h.verify(b"password").unwrap(), Verdict::Mismatch);
        assert!(h
            .params()
            .contains(&("iterations", OLD_DEFAULT_ITERATIONS_SHA1.to_string())));
        let hint = Hints::default().with_param("iterations", "4096");
        let h = parse(Scheme::WerkzeugPbkdf2, stored, &hint, &limits).unwrap();
        assert_eq!(h.verify(b"password").unwrap(), Verdict::Match);
    }

    // RFC 7914 §12 vector 3 in Werkzeug's `scrypt:N:r:p$salt$hex` framing
    // (Werkzeug keeps hashlib.scrypt's 64-byte key).
    #[test]
    fn scrypt_framing_with_rfc7914_vector() {
        both(
            Scheme::WerkzeugScrypt,
            "scrypt:16384:8:1$SodiumChloride$7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887",
            "pleaseletmein",
            "pleaseletmeout",
        );
    }

    // Werkzeug's `tests/test_security.py::test_password_hashing`: the
    // unsalted legacy MD5 and the `plain` method.
    #[test]
    fn legacy_methods() {
        both(
            Scheme::WerkzeugHmac,
            "md5$$c21f969b5f03d33d43e04f8f136e7682",
            "default",
            "Default",
        );
        both(Scheme::WerkzeugHmac, "plain$$default", "default", "defaul");
        // Salted: HMAC with the salt as key (RFC 4231 case 2 as the vector).
        both(
            Scheme::WerkzeugHmac,
            "sha256$Jefe$5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            "what do ya want for nothing?",
            "what do ya want for nothing",
        );
    }

    #[test]
    fn malformed_values_are_rejected() {
        let limits = Limits::default();
        let none = Hints::default();
        for (scheme, bad) in [
            (Scheme::WerkzeugPbkdf2, "pbkdf2:sha256:1000$salt"),
            (Scheme::WerkzeugPbkdf2, "pbkdf2:sha256:x$salt$00"),
            (Scheme::WerkzeugPbkdf2, "pbkdf2:md4:1000$salt$00"),
            (Scheme::WerkzeugPbkdf2, "pbkdf2:sha256:1000$salt$zz"),
            (Scheme::WerkzeugPbkdf2, "scrypt:16384:8:1$salt$00"),
            (Scheme::WerkzeugScrypt, "scrypt:16384:8$salt$00"),
            (Scheme::WerkzeugScrypt, "scrypt:16384:8:1$salt$00"),
            (Scheme::WerkzeugHmac, "sha999$salt$00"),
        ] {
            assert!(
                matches!(
                    parse(scheme, bad, &none, &limits),
                    Err(HashError::Malformed { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn cost_ceilings_are_checked_at_parse_time() {
        let limits = Limits {
            scrypt_memory_bytes: 1024 * 1024,
            pbkdf2_iterations: 999,
            ..Limits::default()
        };
        let none = Hints::default();
        let scrypt = format!("scrypt:32768:8:1$salt${}", "00".repeat(64));
        assert!(matches!(
            parse(Scheme::WerkzeugScrypt, &scrypt, &none, &limits),
            Err(HashError::CostTooHigh { .. })
        ));
        assert!(matches!(
            parse(
                Scheme::WerkzeugPbkdf2,
                "pbkdf2:sha256:1000$salt$00",
                &none,
                &limits
            ),
            Err(HashError::CostTooHigh { .. })
        ));
    }

    #[test]
    fn detect_recognises_this_family() {
        for (stored, scheme) in [
            ("pbkdf2:sha256:1$salt$120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b", Scheme::WerkzeugPbkdf2),
            ("scrypt:16384:8:1$SodiumChloride$7023", Scheme::WerkzeugScrypt),
        ] {
            assert_eq!(super::super::detect(stored), Some(scheme), "{stored}");
        }
        // Django's scrypt has the same first word but six fields.
        assert_ne!(
            super::super::detect("scrypt$16384$salt$8$1$aGFzaA=="),
            Some(Scheme::WerkzeugScrypt)
        );
    }
}
