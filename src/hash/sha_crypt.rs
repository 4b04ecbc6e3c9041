//! SHA-crypt (`$5$` SHA-256, `$6$` SHA-512) as specified by Ulrich Drepper's
//! "Unix crypt using SHA-256 and SHA-512": optional `rounds=N` (default
//! 5000, clamped to 1000..=999999999), salt cut at 16 characters. The core
//! function is the `sha-crypt` crate's; this file parses the string and
//! undoes the spec's byte shuffle of the output encoding.

use ::sha_crypt::{sha256_crypt, sha512_crypt, Params};

use super::encoding::{ct_eq, h64_decode};
use super::{Family, HashError, Limits, Param, Result, Scheme, Verdict};

/// Rounds when the string has no `rounds=` field.
const DEFAULT_ROUNDS: u32 = 5_000;
/// The spec clamps smaller counts up to this.
const MIN_ROUNDS: u32 = 1_000;
/// The spec clamps larger counts down to this.
const MAX_ROUNDS: u32 = 999_999_999;
/// The spec uses at most this many salt characters.
const MAX_SALT_CHARS: usize = 16;

/// Which output byte each encoded byte holds (spec §"the final step",
/// read as little-endian hash64 groups), SHA-256.
const ORDER_256: [usize; 32] = [
    20, 10, 0, 11, 1, 21, 2, 22, 12, 23, 13, 3, 14, 4, 24, 5, 25, 15, 26, 16, 6, 17, 7, 27, 8, 28,
    18, 29, 19, 9, 30, 31,
];

/// The same for SHA-512.
const ORDER_512: [usize; 64] = [
    42, 21, 0, 1, 43, 22, 23, 2, 44, 45, 24, 3, 4, 46, 25, 26, 5, 47, 48, 27, 6, 7, 49, 28, 29, 8,
    50, 51, 30, 9, 10, 52, 31, 32, 11, 53, 54, 33, 12, 13, 55, 34, 35, 14, 56, 57, 36, 15, 16, 58,
    37, 38, 17, 59, 60, 39, 18, 19, 61, 40, 41, 20, 62, 63,
];

/// Decoded material of a SHA-crypt hash.
pub(crate) struct ShaCryptHash {
    wide: bool,
    rounds: u32,
    /// The salt characters (the spec hashes the salt text, not decoded bytes).
    salt: Vec<u8>,
    /// The digest in the encoded order.
    digest: Vec<u8>,
}

/// Parses `$5$[rounds=N$]salt$hash` or `$6$…`.
pub(crate) fn parse(scheme: Scheme, stored: &str, limits: &Limits) -> Result<ShaCryptHash> {
    let name = scheme.as_str();
    let (prefix, wide) = match scheme {
        Scheme::Sha256Crypt => ("$5$", false),
        Scheme::Sha512Crypt => ("$6$", true),
        _ => {
            return Err(HashError::Unsupported {
                scheme: name,
                reason: "not a sha-crypt scheme".into(),
            })
        }
    };
    let mut rest = stored
        .strip_prefix(prefix)
        .ok_or_else(|| HashError::malformed(name, format!("expected the `{prefix}` prefix")))?;
    let mut rounds = DEFAULT_ROUNDS;
    if let Some(r) = rest.strip_prefix("rounds=") {
        let (count, after) = r
            .split_once('$')
            .ok_or_else(|| HashError::malformed(name, "missing `$` after rounds"))?;
        if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HashError::malformed(name, "rounds is not a number"));
        }
        // libxcrypt (crypt-sha256.c / crypt-sha512.c) refuses a count that
        // does not start with 1-9: no leading zeros, no explicit zero.
        if count.starts_with('0') {
            return Err(HashError::malformed(
                name,
                "rounds has a leading zero (libxcrypt refuses it)",
            ));
        }
        // A count beyond u64 is still "more than the maximum" to the spec.
        let n: u64 = count.parse().unwrap_or(u64::MAX);
        rounds = n.clamp(u64::from(MIN_ROUNDS), u64::from(MAX_ROUNDS)) as u32;
        rest = after;
    }
    let (salt, hash) = rest
        .rsplit_once('$')
        .ok_or_else(|| HashError::malformed(name, "expected `salt$hash`"))?;
    if salt.contains('$') {
        return Err(HashError::malformed(name, "too many `$` fields"));
    }
    let salt = salt.as_bytes();
    let salt = &salt[..salt.len().min(MAX_SALT_CHARS)];
    let want = if wide { 86 } else { 43 };
    if hash.len() != want {
        return Err(HashError::malformed(
            name,
            format!("hash is {} characters, expected {want}", hash.len()),
        ));
    }
    let digest =
        h64_decode(hash).ok_or_else(|| HashError::malformed(name, "hash is not crypt Base64"))?;
    Limits::check(
        name,
        "crypt_rounds",
        u64::from(rounds),
        u64::from(limits.crypt_rounds),
    )?;
    Ok(ShaCryptHash {
        wide,
        rounds,
        salt: salt.to_vec(),
        digest,
    })
}

impl Family for ShaCryptHash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        let scheme = if self.wide {
            "sha512_crypt"
        } else {
            "sha256_crypt"
        };
        let params = Params::new(self.rounds).map_err(|_| HashError::Unsupported {
            scheme,
            reason: "rounds outside the spec's range".into(),
        })?;
        let ordered: Vec<u8> = if self.wide {
            let raw = sha512_crypt(password, &self.salt, params);
            ORDER_512.iter().map(|&i| raw[i]).collect()
        } else {
            let raw = sha256_crypt(password, &self.salt, params);
            ORDER_256.iter().map(|&i| raw[i]).collect()
        };
        Ok(Verdict::from_bool(ct_eq(&ordered, &self.digest)))
    }

    fn params(&self) -> Vec<Param> {
        vec![
            ("rounds", self.rounds.to_string()),
            ("salt_chars", self.salt.len().to_string()),
        ]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(scheme: Scheme, stored: &str, pw: &str) -> Verdict {
        parse(scheme, stored, &Limits::default())
            .unwrap()
            .verify(pw.as_bytes())
            .unwrap()
    }

    fn both(scheme: Scheme, stored: &str, good: &str, bad: &str) {
        assert_eq!(check(scheme, stored, good), Verdict::Match, "{stored}");
        assert_eq!(check(scheme, stored, bad), Verdict::Mismatch, "{stored}");
    }

    // Test vectors from Drepper's specification ("Unix crypt using SHA-256
    // and SHA-512", https://www.akkadia.org/drepper/SHA-crypt.txt). They
    // cover the default rounds, an explicit default, a salt longer than 16
    // characters and a rounds count below the minimum (clamped to 1000).
    #[test]
    fn drepper_sha256_vectors() {
        let s = Scheme::Sha256Crypt;
        both(
            s,
            "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
            "Hello world!",
            "Hello world",
        );
        both(
            s,
            "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
            "Hello world!",
            "hello world!",
        );
        both(
            s,
            "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5",
            "This is just a test",
            "This is just a test ",
        );
        both(
            s,
            "$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1",
            "a very much longer text to encrypt.  This one even stretches over morethan one line.",
            "a very much longer text to encrypt.",
        );
        both(
            s,
            "$5$rounds=10$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC",
            "the minimum number is still observed",
            "the minimum number is still observe",
        );
    }

    #[test]
    fn drepper_sha512_vectors() {
        let s = Scheme::Sha512Crypt;
        both(
            s,
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
            "Hello world!",
            "Hello world",
        );
        both(
            s,
            "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
            "Hello world!",
            "Hello world!!",
        );
        both(
            s,
            "$6$rounds=10$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.",
            "the minimum number is still observed",
            "the minimum number is still observed.",
        );
    }

    // The spec's own vector with an over-long salt, given untruncated: the
    // verifier must cut it at 16 characters as the spec says.
    #[test]
    fn salt_is_cut_at_16_characters() {
        both(
            Scheme::Sha256Crypt,
            "$5$rounds=10000$saltstringsaltstring$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
            "Hello world!",
            "Hello world?",
        );
    }

    #[test]
    fn malformed_values_are_rejected() {
        let limits = Limits::default();
        for bad in [
            "",
            "$5$saltstring",
            "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZF4ZTcK9",
            "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZF4ZTcK9!",
            "$5$rounds=x$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
            // Leading zeros and an explicit zero, which libxcrypt refuses
            // (EINVAL in crypt-sha256.c: the first digit must be 1-9);
            // the hash is Drepper's valid rounds=10000 vector.
            "$5$rounds=010000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
            "$5$rounds=0$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA",
            "$5$a$b$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
            "$6$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
        ] {
            assert!(
                matches!(
                    parse(Scheme::Sha256Crypt, bad, &limits),
                    Err(HashError::Malformed { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn sha512_rounds_with_a_leading_zero_are_refused_like_libxcrypt() {
        let canonical = "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.";
        assert!(parse(Scheme::Sha512Crypt, canonical, &Limits::default()).is_ok());
        let padded = canonical.replace("rounds=10000", "rounds=0010000");
        assert!(matches!(
            parse(Scheme::Sha512Crypt, &padded, &Limits::default()),
            Err(HashError::Malformed { .. })
        ));
    }

    #[test]
    fn rounds_ceiling_is_checked_at_parse_time() {
        let limits = Limits {
            crypt_rounds: 9_999,
            ..Limits::default()
        };
        let stored = "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA";
        assert!(matches!(
            parse(Scheme::Sha256Crypt, stored, &limits),
            Err(HashError::CostTooHigh { value: 10000, .. })
        ));
        // Clamping happens before the check: an absurd count is judged as the maximum.
        let huge = "$5$rounds=99999999999999999999$s$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA";
        assert!(matches!(
            parse(Scheme::Sha256Crypt, huge, &Limits::default()),
            Err(HashError::CostTooHigh {
                value: 999_999_999,
                ..
            })
        ));
    }

    #[test]
    fn detect_recognises_this_family() {
        for (stored, scheme) in [
            ("$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", Scheme::Sha256Crypt),
            ("$6$rounds=10$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.", Scheme::Sha512Crypt),
        ] {
            assert_eq!(super::super::detect(stored), Some(scheme), "{stored}");
        }
    }
}
