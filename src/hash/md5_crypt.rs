//! MD5-crypt as Poul-Henning Kamp wrote it for FreeBSD (`$1$`, also Cisco
//! "type 5") and Apache's variant with the `$apr1$` magic (htpasswd `-m`).
//! The construction (1000 rounds of MD5 over password, salt and magic) has
//! no crate, so it is written here over the `md-5` crate.

use md5::{Digest, Md5};

use super::encoding::{ct_eq, h64_decode};
use super::{Family, HashError, Param, Result, Scheme, Verdict};

/// At most this many salt characters are used.
const MAX_SALT_CHARS: usize = 8;

/// Which MD5 output byte each encoded byte holds (little-endian hash64 groups
/// of the reference `to64` calls).
const ORDER: [usize; 16] = [12, 6, 0, 13, 7, 1, 14, 8, 2, 15, 9, 3, 5, 10, 4, 11];

/// Decoded material of an MD5-crypt hash.
pub(crate) struct Md5CryptHash {
    magic: &'static str,
    salt: Vec<u8>,
    digest: Vec<u8>,
}

/// Parses `$1$salt$hash` or `$apr1$salt$hash`.
pub(crate) fn parse(scheme: Scheme, stored: &str) -> Result<Md5CryptHash> {
    let name = scheme.as_str();
    let magic = match scheme {
        Scheme::Md5Crypt => "$1$",
        Scheme::AprMd5Crypt => "$apr1$",
        _ => {
            return Err(HashError::Unsupported {
                scheme: name,
                reason: "not an md5-crypt scheme".into(),
            })
        }
    };
    let rest = stored
        .strip_prefix(magic)
        .ok_or_else(|| HashError::malformed(name, format!("expected the `{magic}` prefix")))?;
    let (salt, hash) = rest
        .split_once('$')
        .ok_or_else(|| HashError::malformed(name, "expected `salt$hash`"))?;
    if hash.len() != 22 {
        return Err(HashError::malformed(
            name,
            format!("hash is {} characters, expected 22", hash.len()),
        ));
    }
    let digest =
        h64_decode(hash).ok_or_else(|| HashError::malformed(name, "hash is not crypt Base64"))?;
    let salt = salt.as_bytes();
    Ok(Md5CryptHash {
        magic,
        salt: salt[..salt.len().min(MAX_SALT_CHARS)].to_vec(),
        digest,
    })
}

/// The raw 16-byte MD5-crypt result.
pub(crate) fn md5_crypt_raw(password: &[u8], magic: &[u8], salt: &[u8]) -> [u8; 16] {
    let alternate = Md5::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    let mut ctx = Md5::new()
        .chain_update(password)
        .chain_update(magic)
        .chain_update(salt);
    let mut left = password.len();
    while left > 0 {
        let n = left.min(16);
        ctx.update(&alternate[..n]);
        left -= n;
    }
    // The reference adds a NUL for each set bit of the length and the first
    // password byte for each clear bit (`final` was zeroed by then).
    let mut bits = password.len();
    while bits > 0 {
        if bits & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&password[..1]);
        }
        bits >>= 1;
    }
    let mut digest: [u8; 16] = ctx.finalize().into();
    for i in 0..1000 {
        let mut round = Md5::new();
        if i % 2 == 1 {
            round.update(password);
        } else {
            round.update(digest);
        }
        if i % 3 != 0 {
            round.update(salt);
        }
        if i % 7 != 0 {
            round.update(password);
        }
        if i % 2 == 1 {
            round.update(digest);
        } else {
            round.update(password);
        }
        digest = round.finalize().into();
    }
    digest
}

impl Family for Md5CryptHash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        let raw = md5_crypt_raw(password, self.magic.as_bytes(), &self.salt);
        let ordered: Vec<u8> = ORDER.iter().map(|&i| raw[i]).collect();
        Ok(Verdict::from_bool(ct_eq(&ordered, &self.digest)))
    }

    fn params(&self) -> Vec<Param> {
        vec![
            ("rounds", "1000".to_owned()),
            ("salt_chars", self.salt.len().to_string()),
        ]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn both(scheme: Scheme, stored: &str, good: &str, bad: &str) {
        let h = parse(scheme, stored).unwrap();
        crate::hash::testing::assert_match_and_mismatch(
            &h,
            good.as_bytes(),
            bad.as_bytes(),
            stored,
        );
    }

    // passlib `test_handlers.py`, `md5_crypt_test.known_correct_hashes`.
    #[test]
    fn md5_crypt_vectors() {
        let s = Scheme::Md5Crypt;
        both(s, "$1$dOHYPKoP$tnxS1T8Q6VVn3kpV8cN6o.", "", " ");
        both(s, "$1$m/5ee7ol$bZn0kIBFipq39e.KDXX8I0", " ", "");
        both(s, "$1$ec6XvcoW$ghEtNK2U1MC5l.Dwgi3020", "test", "Test");
        both(
            s,
            "$1$nX1e7EeI$ljQn72ZUgt6Wxd9hfvHdV0",
            "Compl3X AlphaNu3meric",
            "Compl3X AlphaNu3meriC",
        );
        both(
            s,
            "$1$jQS7o98J$V6iTcr71CGgwW2laf17pi1",
            "4lpHa N|_|M3r1K W/ Cur5Es: #$%(*)(*%#",
            "4lpHa N|_|M3r1K W/ Cur5Es: #$%(*)(*%",
        );
        both(
            s,
            "$1$d6/Ky1lU$/xpf8m7ftmWLF.TjHCqel0",
            "t\u{e1}\u{411}\u{2113}\u{259}",
            "t\u{e1}\u{411}\u{2113}",
        );
    }

    // Apache's own documentation example (httpd "Password Formats"):
    // `htpasswd -nbm myName myPassword`.
    #[test]
    fn apr1_vector() {
        both(
            Scheme::AprMd5Crypt,
            "$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/",
            "myPassword",
            "mypassword",
        );
    }

    #[test]
    fn malformed_values_are_rejected() {
        for bad in [
            "",
            "$1$3azHgidD",
            "$1$3azHgidD$SrJPt7B.9rekpmwJwtON3",
            "$1$3azHgidD$SrJPt7B.9rekpmwJwtON3!",
            "$apr1$3azHgidD$SrJPt7B.9rekpmwJwtON31",
        ] {
            assert!(
                matches!(
                    parse(Scheme::Md5Crypt, bad),
                    Err(HashError::Malformed { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn detect_recognises_this_family() {
        for (stored, scheme) in [
            ("$1$dOHYPKoP$tnxS1T8Q6VVn3kpV8cN6o.", Scheme::Md5Crypt),
            ("$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/", Scheme::AprMd5Crypt),
        ] {
            assert_eq!(super::super::detect(stored), Some(scheme), "{stored}");
        }
    }
}
