//! yescrypt crypt strings, `$y$<params>$<salt>$<hash>` (the Debian/Ubuntu
//! `/etc/shadow` default), via the `yescrypt` crate, and libxcrypt's
//! gost-yescrypt `$gy$…`: the yescrypt output y, then
//! HMAC-Streebog256(HMAC-Streebog256(Streebog256(password), "$gy$params$salt"), y)
//! (libxcrypt `crypt-gost-yescrypt.c`), with the `streebog` crate.

use std::str::FromStr;

use ::yescrypt::{yescrypt, Params};
use hmac::{KeyInit, Mac};
use streebog::{Digest, Streebog256};

use super::encoding::{ct_eq, h64_decode, h64_value};
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
    let params_text = params;
    let params = Params::from_str(params)
        .map_err(|_| HashError::malformed(name, "the parameter field is not valid yescrypt"))?;
    let time = time_cost(params_text)
        .ok_or_else(|| HashError::malformed(name, "the parameter field is not valid yescrypt"))?;
    check_cost(name, &params, time, limits)?;
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

/// Bytes of pwxform S-boxes each of the p threads allocates (3 * 2^8 * 2 * 8).
const SBOX_BYTES: u64 = 12_288;

/// Checks yescrypt's memory as `scrypt_memory_bytes` means it (and as
/// `params()` reports it), `128 * r * N`; the per-thread buffers of
/// `128 * r` bytes plus the S-boxes, times p, separately against the same
/// ceiling (as scrypt's p blocks are); and its work, at most
/// `128 * r * N * p * (t + 1)`, against the scrypt family's multiple of it.
/// p and t are free in the format (the crate bounds neither), and each
/// multiplies the time or the buffers.
fn check_cost(name: &'static str, params: &Params, t: u64, limits: &Limits) -> Result<()> {
    let (n, r, p) = (params.n(), u64::from(params.r()), u64::from(params.p()));
    let block = 128u64.saturating_mul(r);
    let memory = block.saturating_mul(n);
    Limits::check(
        name,
        "scrypt_memory_bytes",
        memory,
        limits.scrypt_memory_bytes,
    )?;
    Limits::check(
        name,
        "scrypt_memory_bytes",
        block.saturating_add(SBOX_BYTES).saturating_mul(p),
        limits.scrypt_memory_bytes,
    )?;
    let work = memory.saturating_mul(p).saturating_mul(t.saturating_add(1));
    Limits::check(
        name,
        "scrypt_memory_bytes",
        work,
        limits
            .scrypt_memory_bytes
            .saturating_mul(super::scrypt::MAX_WORK_FACTOR),
    )
}

/// One field of yescrypt's variable-width parameter encoding (the reference
/// `decode64_uint32`): the first character picks a range and the number of
/// characters that follow, each adding six lower bits.
fn decode_field(text: &[u8], pos: &mut usize, min: u64) -> Option<u64> {
    let first = u64::from(h64_value(*text.get(*pos)?)?);
    *pos += 1;
    let (mut start, mut end, mut chars, mut bits) = (0u64, 47u64, 1u32, 0u32);
    let mut value = min;
    while first > end {
        value += (end + 1 - start) << bits;
        start = end + 1;
        end = start + (62 - end) / 2;
        chars += 1;
        bits += 6;
    }
    value += (first - start) << bits;
    for _ in 1..chars {
        bits -= 6;
        value += u64::from(h64_value(*text.get(*pos)?)?) << bits;
        *pos += 1;
    }
    Some(value)
}

/// The `t` (time) parameter of a yescrypt parameter field, which the crate
/// parses but does not expose: flavour, log2 N and r, then an optional
/// "have" bit set followed by p (bit 1) and t (bit 2).
fn time_cost(params: &str) -> Option<u64> {
    let text = params.as_bytes();
    let mut pos = 0;
    decode_field(text, &mut pos, 0)?;
    decode_field(text, &mut pos, 1)?;
    decode_field(text, &mut pos, 1)?;
    if pos >= text.len() {
        return Some(0);
    }
    let have = decode_field(text, &mut pos, 1)?;
    if have & 1 != 0 {
        decode_field(text, &mut pos, 2)?;
    }
    if have & 2 != 0 {
        return decode_field(text, &mut pos, 1);
    }
    Some(0)
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
        crate::hash::testing::assert_match_and_mismatch(
            &h,
            good.as_bytes(),
            bad.as_bytes(),
            stored,
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

    // The ceiling is the memory `params()` reports (128 * r * N): a hash
    // using exactly that much is accepted, one step more is not. Before,
    // the per-thread buffers and S-boxes were added to the compared value,
    // so a j9T hash (N = 4096, r = 32: 16 MiB) failed a 16 MiB ceiling.
    #[test]
    fn a_hash_using_exactly_the_memory_ceiling_is_accepted() {
        let stored = "$y$j9T$LdJMENpBABJJ3hIHjB1Bi.$HboGM6qPrsK.StKYGt6KErmUYtioHreJd98oIugoNB6";
        let exact = Limits {
            scrypt_memory_bytes: 16 * 1024 * 1024,
            ..Limits::default()
        };
        let h = parse(Scheme::Yescrypt, stored, &exact).unwrap();
        assert!(h
            .params()
            .contains(&("memory_bytes", (16u64 * 1024 * 1024).to_string())));
        let below = Limits {
            scrypt_memory_bytes: 16 * 1024 * 1024 - 1,
            ..Limits::default()
        };
        assert!(matches!(
            parse(Scheme::Yescrypt, stored, &below),
            Err(HashError::CostTooHigh {
                value: 16_777_216,
                ..
            })
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

    // Found by tests/api/hash_robustness.rs: only 128 * r * N was checked, so
    // a classic-mode p = 2^30 (verifying allocates 128 * r * p = 128 GiB)
    // and t = 2^30 (a billion-fold time) were accepted.
    #[test]
    fn p_and_t_are_bounded_at_parse_time() {
        let limits = Limits::default();
        let tail = "LdJMENpBABJJ3hIHjB1Bi.$HboGM6qPrsK.StKYGt6KErmUYtioHreJd98oIugoNB6";
        for params in [".7..zyxvrC", "j9T/zyxvrD"] {
            for prefix in ["$y$", "$gy$"] {
                let stored = format!("{prefix}{params}${tail}");
                assert!(
                    matches!(
                        parse(Scheme::Yescrypt, &stored, &limits),
                        Err(HashError::CostTooHigh { .. })
                    ),
                    "{stored}"
                );
            }
        }
    }

    // The t field as the reference encodes it: absent is 0; "j9T/zyxvrD"
    // carries have = 2 (t only) and t = 2^30; "jD5.7" carries p = 11 only.
    #[test]
    fn time_cost_reads_the_optional_t_field() {
        assert_eq!(time_cost("j9T"), Some(0));
        assert_eq!(time_cost("jD5.7"), Some(0));
        assert_eq!(time_cost("j9T/zyxvrD"), Some(1 << 30));
        assert_eq!(time_cost("j9T/"), None);
        assert_eq!(time_cost("j!T"), None);
    }
}
