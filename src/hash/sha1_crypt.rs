//! NetBSD's `$sha1$rounds$salt$checksum` (crypt-sha1, in family `sha_crypt`):
//! HMAC-SHA1 keyed with the password, first over `salt ‖ "$sha1$" ‖ rounds`
//! (rounds in decimal), then over its own output, `rounds` times in all. The
//! 20-byte result is written in crypt hash64 after a fixed byte shuffle
//! (groups of three, reversed, with byte 0 repeated to fill the last group).
//! The salt is hashed as text, at most 64 characters.

use hmac::{KeyInit, Mac};
use sha1::Sha1;

use super::encoding::{ct_eq, h64_decode, h64_value};
use super::{Family, HashError, Limits, Param, Result, Scheme, Verdict};

/// Longest salt NetBSD writes and reads.
const MAX_SALT_CHARS: usize = 64;
/// Checksum length in crypt characters (21 shuffled bytes).
const CHECKSUM_CHARS: usize = 28;
/// Which HMAC output byte each encoded byte holds.
const ORDER: [usize; 21] = [
    2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9, 14, 13, 12, 17, 16, 15, 0, 19, 18,
];

/// Decoded material of a `$sha1$` hash.
pub(crate) struct Sha1CryptHash {
    rounds: u32,
    /// The salt characters (hashed as text).
    salt: String,
    /// The checksum bytes in encoded (shuffled) order.
    checksum: Vec<u8>,
}

/// Parses `$sha1$rounds$salt$checksum`.
pub(crate) fn parse(stored: &str, limits: &Limits) -> Result<Sha1CryptHash> {
    let name = Scheme::Sha1Crypt.as_str();
    let rest = stored
        .strip_prefix("$sha1$")
        .ok_or_else(|| HashError::malformed(name, "expected the `$sha1$` prefix"))?;
    let mut fields = rest.split('$');
    let (Some(rounds), Some(salt), Some(checksum), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(HashError::malformed(
            name,
            "expected `$sha1$rounds$salt$checksum`",
        ));
    };
    // The decimal text is hashed, so only its canonical spelling is accepted.
    if rounds.is_empty()
        || rounds.len() > 10
        || !rounds.bytes().all(|b| b.is_ascii_digit())
        || rounds.starts_with('0')
    {
        return Err(HashError::malformed(
            name,
            "rounds is not a canonical number",
        ));
    }
    let rounds: u64 = rounds
        .parse()
        .map_err(|_| HashError::malformed(name, "rounds is not a number"))?;
    Limits::check(name, "crypt_rounds", rounds, u64::from(limits.crypt_rounds))?;
    let rounds =
        u32::try_from(rounds).map_err(|_| HashError::malformed(name, "rounds is too large"))?;
    if salt.len() > MAX_SALT_CHARS || !salt.bytes().all(|b| h64_value(b).is_some()) {
        return Err(HashError::malformed(
            name,
            "salt is not up to 64 crypt characters",
        ));
    }
    if checksum.len() != CHECKSUM_CHARS {
        return Err(HashError::malformed(
            name,
            format!("checksum is {} characters, expected 28", checksum.len()),
        ));
    }
    let checksum = h64_decode(checksum)
        .ok_or_else(|| HashError::malformed(name, "checksum is not crypt Base64"))?;
    Ok(Sha1CryptHash {
        rounds,
        salt: salt.to_owned(),
        checksum,
    })
}

impl Family for Sha1CryptHash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        let keyed = <hmac::Hmac<Sha1> as KeyInit>::new_from_slice(password).map_err(|_| {
            HashError::Unsupported {
                scheme: Scheme::Sha1Crypt.as_str(),
                reason: "HMAC key rejected".into(),
            }
        })?;
        let seed = format!("{}$sha1${}", self.salt, self.rounds);
        let mut mac = keyed.clone();
        mac.update(seed.as_bytes());
        let mut block = mac.finalize().into_bytes();
        for _ in 1..self.rounds {
            let mut mac = keyed.clone();
            mac.update(&block);
            block = mac.finalize().into_bytes();
        }
        let shuffled: Vec<u8> = ORDER.iter().map(|&i| block[i]).collect();
        Ok(Verdict::from_bool(ct_eq(&shuffled, &self.checksum)))
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

    fn check(stored: &str, pw: &str) -> Verdict {
        parse(stored, &Limits::default())
            .unwrap()
            .verify(pw.as_bytes())
            .unwrap()
    }

    // passlib's sha1_crypt known_correct_hashes (passlib/tests/test_handlers.py).
    #[test]
    fn passlib_vectors() {
        for stored in [
            "$sha1$19703$iVdJqfSE$v4qYKl1zqYThwpjJAoKX6UvlHq/a",
            "$sha1$21773$uV7PTeux$I9oHnvwPZHMO0Nq6/WgyGV/tDJIH",
        ] {
            assert_eq!(check(stored, "password"), Verdict::Match, "{stored}");
            assert_eq!(check(stored, "Password"), Verdict::Mismatch, "{stored}");
        }
        assert_eq!(
            super::super::detect("$sha1$19703$iVdJqfSE$v4qYKl1zqYThwpjJAoKX6UvlHq/a"),
            Some(Scheme::Sha1Crypt)
        );
    }

    // Produced by libpass 1.9.4 `sha1_crypt.hash("pw")` and confirmed by
    // libxcrypt 4.4.33 `crypt()`: one round, and a 64-character salt.
    #[test]
    fn libxcrypt_relatives() {
        assert_eq!(
            check("$sha1$1$tGeL9wgf$m3WPAX/C7KiNuGyRXZ.bjDv2i7/T", "pw"),
            Verdict::Match
        );
        assert_eq!(
            check(
                "$sha1$1000$CoR3eZFm.qlyb0mzsg.rGglGFu0cOoDb9PPyiRt8RGNEiq4cpS09C49S125/CjTE$J9xb6Lk2.SxsB00vpdGaWzTiT0jv",
                "pw"
            ),
            Verdict::Match
        );
        assert_eq!(
            check("$sha1$1$tGeL9wgf$m3WPAX/C7KiNuGyRXZ.bjDv2i7/T", "pw "),
            Verdict::Mismatch
        );
    }

    // passlib's known_malformed_hashes, plus a rounds ceiling.
    #[test]
    fn malformed_and_costly_values_fail_at_parse() {
        let l = Limits::default();
        for bad in [
            "$sha1$21773$u!7PTeux$I9oHnvwPZHMO0Nq6/WgyGV/tDJIH",
            "$sha1$01773$uV7PTeux$I9oHnvwPZHMO0Nq6/WgyGV/tDJIH",
            "$sha1$21773$uV7PTeux$I9oHnvwPZHMO0Nq6/WgyGV/tDJIH$",
            "$sha1$$uV7PTeux$I9oHnvwPZHMO0Nq6/WgyGV/tDJIH$",
            "$sha1$21773$uV7PTeux$I9oHnvwPZHMO0Nq6/WgyGV/tDJI",
        ] {
            assert!(
                matches!(parse(bad, &l), Err(HashError::Malformed { .. })),
                "{bad}"
            );
        }
        let low = Limits {
            crypt_rounds: 20_000,
            ..Limits::default()
        };
        assert!(matches!(
            parse("$sha1$21773$uV7PTeux$I9oHnvwPZHMO0Nq6/WgyGV/tDJIH", &low),
            Err(HashError::CostTooHigh { value: 21773, .. })
        ));
    }
}
