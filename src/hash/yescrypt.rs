//! yescrypt crypt strings, `$y$<params>$<salt>$<hash>` (the Debian/Ubuntu
//! `/etc/shadow` default), via the `yescrypt` crate, and libxcrypt's
//! gost-yescrypt `$gy$…`: the yescrypt output y, then
//! HMAC-Streebog256(HMAC-Streebog256(Streebog256(password), "$gy$params$salt"), y)
//! (libxcrypt `crypt-gost-yescrypt.c`), with the `streebog` crate.

use std::str::FromStr;

use ::yescrypt::{yescrypt, Params};
use hmac::{KeyInit, Mac};
use streebog::{Digest, Streebog256};

use super::encoding::{ct_eq, h64_decode};
use super::{Family, HashError, Limits, Param, Result, Scheme, Verdict};

/// Decoded material of a yescrypt hash.
pub(crate) struct YescryptHash {
    params: Params,
    salt: Vec<u8>,
    hash: Vec<u8>,
    /// For `$gy$`: the setting text `$gy$<params>$<salt>` the GOST HMAC covers.
    gost_setting: Option<Vec<u8>>,
}

/// Parses `$y$…` or `$gy$…`.
pub(crate) fn parse(scheme: Scheme, stored: &str, limits: &Limits) -> Result<YescryptHash> {
    let name = scheme.as_str();
    if scheme != Scheme::Yescrypt {
        return Err(HashError::Unsupported {
            scheme: name,
            reason: "not a yescrypt scheme".into(),
        });
    }
    let (rest, gost) = match (stored.strip_prefix("$y$"), stored.strip_prefix("$gy$")) {
        (Some(rest), _) => (rest, false),
        (None, Some(rest)) => (rest, true),
        (None, None) => {
            return Err(HashError::malformed(
                name,
                "expected the `$y$` or `$gy$` prefix",
            ))
        }
    };
    let parts: Vec<&str> = rest.split('$').collect();
    let [params, salt, hash] = parts[..] else {
        return Err(HashError::malformed(name, "expected `params$salt$hash`"));
    };
    let gost_setting = gost.then(|| format!("$gy${params}${salt}").into_bytes());
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
    Ok(YescryptHash {
        params,
        salt,
        hash,
        gost_setting,
    })
}

fn hmac_streebog256(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this cannot fail.
    let Ok(mut mac) = <hmac::Hmac<Streebog256> as KeyInit>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
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
        let out = match &self.gost_setting {
            None => out.to_vec(),
            Some(setting) => {
                let hk = Streebog256::digest(password);
                let interm = hmac_streebog256(&hk, setting);
                hmac_streebog256(&interm, &out)
            }
        };
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

    // libxcrypt `test/crypt-kat.inc` (generated known answers), gost-yescrypt.
    #[test]
    fn gost_yescrypt_libxcrypt_vectors() {
        both(
            "$gy$j75$LdJMENpBABJJ3hIHjB1Bi.$tJg7PZ3RWCiTHYH5k4CwP93mvcLHrQcXEpzxH0fJbe.",
            "THE YEAR",
            "THE YEAR ",
        );
        both(
            "$gy$j85$.......$AKYs/ze5RzoPsxsE2SCEHYW1nAXZrp4twD6Acs77NbC",
            "THE YEAR",
            "the year",
        );
        both(
            "$gy$j75$LdJMENpBABJJ3hIHjB1Bi.$dx7MeqVF.xJON221S8MehLC/2EF8Pvf5WuJRrS24dC8",
            "*U*U*U*U",
            "*U*U*U*",
        );
        let h = parse(
            Scheme::Yescrypt,
            "$gy$j75$LdJMENpBABJJ3hIHjB1Bi.$ZHNcBWtiGfWpz02p4Cg4GYsV4qGrfFRWZeDo8sjfXR7",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(h.verify(b"\xa3").unwrap(), Verdict::Match);
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
