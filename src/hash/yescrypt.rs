//! yescrypt crypt strings, `$y$<params>$<salt>$<hash>` (the Debian/Ubuntu
//! `/etc/shadow` default), via the `yescrypt` crate. `$gy$` (gost-yescrypt:
//! yescrypt followed by GOST R 34.11-2012 HMACs) is recognised but reported
//! as unsupported, since no dependency provides Streebog.

use std::str::FromStr;

use ::yescrypt::{yescrypt, Params};

use super::encoding::{ct_eq, h64_decode};
use super::{Family, HashError, Limits, Param, Result, Scheme, Verdict};

/// Decoded material of a yescrypt hash.
pub(crate) struct YescryptHash {
    params: Params,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

/// Parses `$y$…` (and names `$gy$…` as unsupported).
pub(crate) fn parse(scheme: Scheme, stored: &str, limits: &Limits) -> Result<YescryptHash> {
    let name = scheme.as_str();
    if scheme != Scheme::Yescrypt {
        return Err(HashError::Unsupported {
            scheme: name,
            reason: "not a yescrypt scheme".into(),
        });
    }
    if stored.starts_with("$gy$") {
        return Err(HashError::Unsupported {
            scheme: name,
            reason: "gost-yescrypt ($gy$) needs GOST R 34.11-2012 (Streebog) HMAC, which passbridge does not include".into(),
        });
    }
    let rest = stored
        .strip_prefix("$y$")
        .ok_or_else(|| HashError::malformed(name, "expected the `$y$` prefix"))?;
    let parts: Vec<&str> = rest.split('$').collect();
    let [params, salt, hash] = parts[..] else {
        return Err(HashError::malformed(name, "expected `params$salt$hash`"));
    };
    let params = Params::from_str(params)
        .map_err(|_| HashError::malformed(name, "the parameter field is not valid yescrypt"))?;
    let memory = 128u64
        .saturating_mul(u64::from(params.r()))
        .saturating_mul(params.n());
    Limits::check(
        name,
        "scrypt_memory_bytes",
        memory,
        limits.scrypt_memory_bytes,
    )?;
    let salt =
        h64_decode(salt).ok_or_else(|| HashError::malformed(name, "salt is not crypt Base64"))?;
    let hash =
        h64_decode(hash).ok_or_else(|| HashError::malformed(name, "hash is not crypt Base64"))?;
    if hash.len() != 32 {
        return Err(HashError::malformed(name, "hash must be 32 bytes"));
    }
    Ok(YescryptHash { params, salt, hash })
}

impl Family for YescryptHash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        let mut out = [0u8; 32];
        yescrypt(password, &self.salt, &self.params, &mut out).map_err(|e| {
            HashError::Unsupported {
                scheme: "yescrypt",
                reason: format!("yescrypt rejected the parameters: {e}"),
            }
        })?;
        Ok(Verdict::from_bool(ct_eq(&out, &self.hash)))
    }

    fn params(&self) -> Vec<Param> {
        vec![
            ("N", self.params.n().to_string()),
            ("r", self.params.r().to_string()),
            ("p", self.params.p().to_string()),
            (
                "memory_bytes",
                (128 * u64::from(self.params.r()) * self.params.n()).to_string(),
            ),
            ("salt_bytes", self.salt.len().to_string()),
        ]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn both(stored: &str, good: &str, bad: &str) {
        let h = parse(Scheme::Yescrypt, stored, &Limits::default()).unwrap();
        assert_eq!(
            h.verify(good.as_bytes()).unwrap(),
            Verdict::Match,
            "{stored}"
        );
        assert_eq!(
            h.verify(bad.as_bytes()).unwrap(),
            Verdict::Mismatch,
            "{stored}"
        );
    }

    // The yescrypt reference implementation's `TESTS-OK` (openwall/yescrypt),
    // password "pleaseletmein".
    #[test]
    fn reference_vectors() {
        both(
            "$y$jD5.7$LdJMENpBABJJ3hIHjB1Bi.$HboGM6qPrsK.StKYGt6KErmUYtioHreJd98oIugoNB6",
            "pleaseletmein",
            "pleaseletmeout",
        );
        both(
            "$y$j//$LdJMENpBABJJ3hIHjB1B$U8a2MaK.yesqWySK8Owk6PWeWmp/XuagMbpP45q1/q1",
            "pleaseletmein",
            "Pleaseletmein",
        );
        both(
            "$y$j0/$LdJM$k7BXzSDuoGHW56SY3HxROCiA0gWRscZe2aA0q5oHPM0",
            "pleaseletmein",
            "pleaseletme",
        );
    }

    #[test]
    fn gost_yescrypt_is_named_unsupported() {
        let err = parse(
            Scheme::Yescrypt,
            "$gy$j9T$onZ3Ez4Sv2a8fP8bQgYrG0$s2ZSrMfEDVLCoKBwDk0YcGuhOX6Xr1Q6NaJ7zmuKW33",
            &Limits::default(),
        );
        assert!(matches!(err, Err(HashError::Unsupported { .. })));
    }

    #[test]
    fn malformed_and_memory_ceiling() {
        let limits = Limits::default();
        for bad in [
            "",
            "$y$j9T$salt",
            "$y$!!!$LdJMENpBABJJ3hIHjB1Bi.$HboGM6qPrsK.StKYGt6KErmUYtioHreJd98oIugoNB6",
            "$y$j9T$LdJMENpBABJJ3hIHjB1Bi.$HboGM6qPrsK",
        ] {
            assert!(
                matches!(
                    parse(Scheme::Yescrypt, bad, &limits),
                    Err(HashError::Malformed { .. })
                ),
                "{bad}"
            );
        }
        let low = Limits {
            scrypt_memory_bytes: 1024 * 1024,
            ..Limits::default()
        };
        // j9T: N = 4096, r = 32: 16 MiB.
        assert!(matches!(
            parse(
                Scheme::Yescrypt,
                "$y$j9T$LdJMENpBABJJ3hIHjB1Bi.$HboGM6qPrsK.StKYGt6KErmUYtioHreJd98oIugoNB6",
                &low
            ),
            Err(HashError::CostTooHigh { .. })
        ));
    }

    #[test]
    fn detect_recognises_this_family() {
        for (stored, scheme) in [
            (
                "$y$j0/$LdJM$k7BXzSDuoGHW56SY3HxROCiA0gWRscZe2aA0q5oHPM0",
                Scheme::Yescrypt,
            ),
            (
                "$gy$j9T$onZ3Ez4Sv2a8fP8bQgYrG0$s2ZSrMfEDVLCoKBwDk0YcGuhOX6Xr1Q6NaJ7zmuKW33",
                Scheme::Yescrypt,
            ),
        ] {
            assert_eq!(super::super::detect(stored), Some(scheme), "{stored}");
        }
    }
}
