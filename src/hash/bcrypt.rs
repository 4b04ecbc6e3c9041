//! bcrypt in all its minor versions (`$2$`, `$2a$`, `$2b$`, `$2x$`, `$2y$`),
//! and the formats that run bcrypt over a pre-hash of the password: passlib's
//! `$bcrypt-sha256$` (v1 and v2) and WordPress 6.8+ `$wp$2y$…`.
//!
//! The Blowfish work is the `bcrypt` crate's raw `bcrypt()` function; this
//! file owns the framing and the per-version key rules (NUL terminator,
//! 72-byte truncation, the `$2x$` sign-extension bug).

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256, Sha384};

use super::encoding::{b64_encode, b64_encode_with_alphabet, b64_with_alphabet, ct_eq};
use super::{Family, HashError, Limits, OktaHash, Param, Result, Scheme, Verdict};

/// bcrypt's own radix-64 alphabet (big-endian bit order, unlike crypt's hash64).
const BCRYPT_ALPHABET: &str = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Bytes of the key bcrypt reads; the rest of a longer password is ignored.
const KEY_BYTES: usize = 72;

/// Lowest cost any bcrypt implementation accepts.
const MIN_COST: u32 = 4;
/// Highest cost the format can express (2^31 rounds).
const MAX_COST: u32 = 31;

/// HMAC key WordPress uses for its pre-hash (`wp_hash_password()`, 6.8+).
const WORDPRESS_KEY: &[u8] = b"wp-sha384";

/// The version letter after `$2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Minor {
    /// `$2$`: the original, with no NUL terminator in the key.
    Original,
    /// `$2a$`
    A,
    /// `$2b$`
    B,
    /// `$2x$`: crypt_blowfish's record of the pre-2011 sign-extension bug.
    X,
    /// `$2y$`
    Y,
}

impl Minor {
    fn tag(self) -> &'static str {
        match self {
            Self::Original => "2",
            Self::A => "2a",
            Self::B => "2b",
            Self::X => "2x",
            Self::Y => "2y",
        }
    }

    fn of_scheme(scheme: Scheme) -> Option<Self> {
        Some(match scheme {
            Scheme::Bcrypt2 => Self::Original,
            Scheme::Bcrypt2a => Self::A,
            Scheme::Bcrypt2b => Self::B,
            Scheme::Bcrypt2x => Self::X,
            Scheme::Bcrypt2y => Self::Y,
            _ => return None,
        })
    }
}

/// What the password goes through before bcrypt sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prehash {
    /// Plain bcrypt: the UTF-8 password itself.
    None,
    /// passlib `bcrypt_sha256` v1: Base64(SHA-256(password)).
    Sha256,
    /// passlib `bcrypt_sha256` v2: Base64(HMAC-SHA256(key = salt text, password)).
    HmacSha256,
    /// WordPress 6.8+: Base64(HMAC-SHA384(key = "wp-sha384", password)).
    WordpressHmacSha384,
}

/// Decoded material of a bcrypt hash, possibly over a pre-hash.
pub(crate) struct BcryptHash {
    minor: Minor,
    cost: u32,
    salt: [u8; 16],
    digest: [u8; 23],
    /// The 22 salt characters as stored (Okta's import and the v2 HMAC key want them).
    salt_text: String,
    /// The 31 digest characters as stored.
    digest_text: String,
    prehash: Prehash,
}

/// Parses a bcrypt-family value.
pub(crate) fn parse(scheme: Scheme, stored: &str, limits: &Limits) -> Result<BcryptHash> {
    let name = scheme.as_str();
    match scheme {
        Scheme::PasslibBcryptSha256 => parse_bcrypt_sha256(name, stored, limits),
        Scheme::WordpressBcrypt => {
            let inner = stored
                .strip_prefix("$wp")
                .filter(|rest| rest.starts_with("$2"))
                .ok_or_else(|| HashError::malformed(name, "expected the `$wp$2y$` prefix"))?;
            parse_mcf(name, inner, None, limits, Prehash::WordpressHmacSha384)
        }
        _ => {
            let minor = Minor::of_scheme(scheme).ok_or_else(|| HashError::Unsupported {
                scheme: name,
                reason: "not a bcrypt scheme".into(),
            })?;
            parse_mcf(name, stored, Some(minor), limits, Prehash::None)
        }
    }
}

/// `$2?$NN$<22 salt><31 digest>`; `expected` is the minor the scheme names.
fn parse_mcf(
    name: &'static str,
    stored: &str,
    expected: Option<Minor>,
    limits: &Limits,
    prehash: Prehash,
) -> Result<BcryptHash> {
    let rest = stored
        .strip_prefix("$2")
        .ok_or_else(|| HashError::malformed(name, "expected a `$2?$` prefix"))?;
    let (minor, rest) = match rest.as_bytes().first() {
        Some(b'$') => (Minor::Original, &rest[1..]),
        Some(c) => {
            let minor = match c {
                b'a' => Minor::A,
                b'b' => Minor::B,
                b'x' => Minor::X,
                b'y' => Minor::Y,
                _ => return Err(HashError::malformed(name, "unknown bcrypt version letter")),
            };
            let rest = rest[1..]
                .strip_prefix('$')
                .ok_or_else(|| HashError::malformed(name, "unknown bcrypt version"))?;
            (minor, rest)
        }
        None => return Err(HashError::malformed(name, "truncated")),
    };
    if let Some(expected) = expected {
        if expected != minor {
            return Err(HashError::malformed(
                name,
                format!(
                    "the value is a ${}$ hash, not ${}$",
                    minor.tag(),
                    expected.tag()
                ),
            ));
        }
    }
    let (cost, rest) = rest
        .split_once('$')
        .ok_or_else(|| HashError::malformed(name, "missing the cost field"))?;
    if cost.len() != 2 {
        return Err(HashError::malformed(name, "the cost must be two digits"));
    }
    if rest.len() != 53 {
        return Err(HashError::malformed(
            name,
            format!("salt and digest are {} characters, expected 53", rest.len()),
        ));
    }
    // Splitting a non-ASCII string at byte 22 could cut a character in two.
    if !rest.is_ascii() {
        return Err(HashError::malformed(
            name,
            "salt and digest are not radix-64",
        ));
    }
    let (salt, digest) = rest.split_at(22);
    build(name, minor, cost, salt, digest, limits, prehash)
}

/// passlib `$bcrypt-sha256$2b,12$<salt>$<digest>` (v1) or
/// `$bcrypt-sha256$v=2,t=2b,r=12$<salt>$<digest>` (v2).
fn parse_bcrypt_sha256(name: &'static str, stored: &str, limits: &Limits) -> Result<BcryptHash> {
    let rest = stored
        .strip_prefix("$bcrypt-sha256$")
        .ok_or_else(|| HashError::malformed(name, "expected the `$bcrypt-sha256$` prefix"))?;
    let mut fields = rest.split('$');
    let (config, salt, digest) = match (fields.next(), fields.next(), fields.next(), fields.next())
    {
        (Some(c), Some(s), Some(d), None) => (c, s, d),
        _ => {
            return Err(HashError::malformed(
                name,
                "expected `<config>$<salt>$<digest>` after the prefix",
            ))
        }
    };
    let (ident, cost, prehash) = if let Some(params) = config.strip_prefix("v=2,") {
        let mut ident = None;
        let mut cost = None;
        for pair in params.split(',') {
            match pair.split_once('=') {
                Some(("t", v)) => ident = Some(v),
                Some(("r", v)) => cost = Some(v),
                _ => return Err(HashError::malformed(name, "unknown v2 parameter")),
            }
        }
        match (ident, cost) {
            (Some(t), Some(r)) => (t, r, Prehash::HmacSha256),
            _ => return Err(HashError::malformed(name, "v2 needs both t= and r=")),
        }
    } else if config.starts_with("v=") {
        return Err(HashError::Unsupported {
            scheme: name,
            reason: "only versions 1 and 2 of bcrypt_sha256 exist".into(),
        });
    } else {
        let (t, r) = config
            .split_once(',')
            .ok_or_else(|| HashError::malformed(name, "expected `<ident>,<cost>`"))?;
        (t, r, Prehash::Sha256)
    };
    let minor = match ident {
        "2a" => Minor::A,
        "2b" => Minor::B,
        "2y" => Minor::Y,
        _ => return Err(HashError::malformed(name, "unknown bcrypt ident")),
    };
    if salt.len() != 22 || digest.len() != 31 {
        return Err(HashError::malformed(
            name,
            "salt must be 22 characters and digest 31",
        ));
    }
    build(name, minor, cost, salt, digest, limits, prehash)
}

fn build(
    name: &'static str,
    minor: Minor,
    cost: &str,
    salt: &str,
    digest: &str,
    limits: &Limits,
    prehash: Prehash,
) -> Result<BcryptHash> {
    if cost.is_empty() || !cost.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HashError::malformed(name, "the cost is not a number"));
    }
    let cost: u32 = cost
        .parse()
        .map_err(|_| HashError::malformed(name, "the cost is not a number"))?;
    if !(MIN_COST..=MAX_COST).contains(&cost) {
        return Err(HashError::malformed(
            name,
            format!("cost {cost} is outside {MIN_COST}..={MAX_COST}"),
        ));
    }
    Limits::check(
        name,
        "bcrypt_cost",
        u64::from(cost),
        u64::from(limits.bcrypt_cost),
    )?;
    let salt_bytes = decode_radix64::<16>(salt)
        .ok_or_else(|| HashError::malformed(name, "salt is not bcrypt radix-64"))?;
    let digest_bytes = decode_radix64::<23>(digest)
        .ok_or_else(|| HashError::malformed(name, "digest is not bcrypt radix-64"))?;
    Ok(BcryptHash {
        minor,
        cost,
        salt: salt_bytes,
        digest: digest_bytes,
        salt_text: salt.to_owned(),
        digest_text: digest.to_owned(),
        prehash,
    })
}

/// Decodes bcrypt radix-64. Unused low bits of the last character are
/// ignored, as passlib does (it "repairs" them rather than rejecting).
fn decode_radix64<const N: usize>(s: &str) -> Option<[u8; N]> {
    if !s
        .bytes()
        .all(|b| b == b'.' || b == b'/' || b.is_ascii_alphanumeric())
    {
        return None;
    }
    b64_with_alphabet(s, BCRYPT_ALPHABET)?.try_into().ok()
}

/// The key schedule input for `minor`, from the (pre-hashed) password bytes.
///
/// `$2a$`/`$2b$`/`$2y$`: the password and its NUL terminator, cut at 72
/// bytes. `$2$`: no terminator (an empty password still reads one NUL, as
/// the original C code did). `$2x$`: as `$2a$`, but every byte with its top
/// bit set was sign-extended when the 32-bit key words were assembled, ORing
/// 0xFF into the earlier bytes of its word (crypt_blowfish `BF_set_key`,
/// `bug` mode); the 18 resulting words are handed to Blowfish as 72 bytes.
///
/// crypt_blowfish's `$2a$` "safety" tweak only fires for keys in which a
/// 0xFF byte precedes a sign-extended byte; 0xFF never occurs in UTF-8, so
/// for the text passwords verified here `$2a$` computes exactly as `$2b$`.
fn key_schedule_input(minor: Minor, key: &[u8]) -> Vec<u8> {
    let used = &key[..key.len().min(KEY_BYTES)];
    match minor {
        Minor::Original => {
            if used.is_empty() {
                vec![0]
            } else {
                used.to_vec()
            }
        }
        Minor::A | Minor::B | Minor::Y => {
            let mut k = used.to_vec();
            if k.len() < KEY_BYTES {
                k.push(0);
            }
            k
        }
        Minor::X => {
            let mut terminated = used.to_vec();
            terminated.push(0);
            let mut stream = terminated.iter().cycle();
            let mut out = Vec::with_capacity(KEY_BYTES);
            for _ in 0..KEY_BYTES / 4 {
                let mut word = 0u32;
                for _ in 0..4 {
                    let byte = stream.next().copied().unwrap_or_default();
                    // `(BF_word_signed)(signed char)byte`: the bug being reproduced.
                    word = (word << 8) | (i32::from(byte as i8) as u32);
                }
                out.extend_from_slice(&word.to_be_bytes());
            }
            out
        }
    }
}

impl BcryptHash {
    fn prehashed(&self, password: &[u8]) -> Vec<u8> {
        match self.prehash {
            Prehash::None => password.to_vec(),
            Prehash::Sha256 => b64_encode(&Sha256::digest(password)).into_bytes(),
            Prehash::HmacSha256 => {
                let Ok(mut mac) =
                    <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(self.salt_text.as_bytes())
                else {
                    return Vec::new();
                };
                mac.update(password);
                b64_encode(&mac.finalize().into_bytes()).into_bytes()
            }
            Prehash::WordpressHmacSha384 => {
                let Ok(mut mac) = <hmac::Hmac<Sha384> as KeyInit>::new_from_slice(WORDPRESS_KEY)
                else {
                    return Vec::new();
                };
                mac.update(password);
                b64_encode(&mac.finalize().into_bytes()).into_bytes()
            }
        }
    }
}

impl BcryptHash {
    /// The 23 digest bytes from libxcrypt's crypt_blowfish (15 % faster than
    /// the `bcrypt` crate here, `docs/benchmarks.md`), or `None` where it
    /// cannot compute exactly what [`key_schedule_input`] specifies.
    ///
    /// Only `$2a$`/`$2b$`/`$2y$` go there, always as `$2b$`: the three take
    /// the same key here (see [`key_schedule_input`]), and `$2b$` is the one
    /// crypt_blowfish runs with no `$2a$` safety tweak. A NUL inside the key
    /// would end the C string early, so such keys stay on the Rust path;
    /// keys over 72 bytes are cut as bcrypt itself cuts them.
    fn native_digest(&self, key: &[u8]) -> Option<Vec<u8>> {
        if !matches!(self.minor, Minor::A | Minor::B | Minor::Y) || key.contains(&0) {
            return None;
        }
        let key = &key[..key.len().min(KEY_BYTES)];
        // Canonical salt text, so non-canonical trailing bits in the stored
        // value cannot make C and Rust read different salts.
        let salt = b64_encode_with_alphabet(&self.salt, BCRYPT_ALPHABET)?;
        let setting = format!("$2b${:02}${salt}", self.cost);
        let out = super::xcrypt::crypt(key, &setting)?;
        // `$2b$NN$` + 22 salt + 31 digest characters.
        let text = std::str::from_utf8(out.get(setting.len()..)?).ok()?;
        decode_radix64::<23>(text).map(|d| d.to_vec())
    }
}

impl Family for BcryptHash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        let prehashed = zeroize::Zeroizing::new(self.prehashed(password));
        if let Some(digest) = self.native_digest(&prehashed) {
            return Ok(Verdict::from_bool(ct_eq(&digest, &self.digest)));
        }
        let key = zeroize::Zeroizing::new(key_schedule_input(self.minor, &prehashed));
        // `key` is 1..=72 bytes and the cost 4..=31, as `bcrypt()` requires.
        let raw = bcrypt::bcrypt(self.cost, self.salt, &key);
        Ok(Verdict::from_bool(ct_eq(&raw[..23], &self.digest)))
    }

    fn params(&self) -> Vec<Param> {
        let mut out = vec![
            ("cost", self.cost.to_string()),
            ("version", format!("${}$", self.minor.tag())),
        ];
        match self.prehash {
            Prehash::None => out.push(("truncates_at_bytes", KEY_BYTES.to_string())),
            Prehash::Sha256 => out.push(("prehash", "sha256 (bcrypt_sha256 v1)".to_owned())),
            Prehash::HmacSha256 => {
                out.push(("prehash", "hmac-sha256 (bcrypt_sha256 v2)".to_owned()));
            }
            Prehash::WordpressHmacSha384 => {
                out.push(("prehash", "hmac-sha384 (WordPress)".to_owned()));
            }
        }
        out
    }

    fn okta_native(&self) -> Option<OktaHash> {
        if self.prehash != Prehash::None || matches!(self.minor, Minor::Original | Minor::X) {
            return None;
        }
        // Okta takes the salt and value as radix-64 text; re-encode so that
        // non-canonical trailing bits never reach it.
        let salt = b64_encode_with_alphabet(&self.salt, BCRYPT_ALPHABET)?;
        let value = b64_encode_with_alphabet(&self.digest, BCRYPT_ALPHABET)?;
        debug_assert_eq!(salt.len(), self.salt_text.len());
        debug_assert_eq!(value.len(), self.digest_text.len());
        Some(OktaHash::Bcrypt {
            work_factor: self.cost,
            salt,
            value,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(scheme: Scheme, stored: &str, password: &[u8]) -> Verdict {
        parse(scheme, stored, &Limits::default())
            .unwrap()
            .verify(password)
            .unwrap()
    }

    /// Match for `good`, Mismatch for `bad`.
    fn both(scheme: Scheme, stored: &str, good: &[u8], bad: &[u8]) {
        assert_eq!(check(scheme, stored, good), Verdict::Match, "{stored}");
        assert_eq!(check(scheme, stored, bad), Verdict::Mismatch, "{stored}");
    }

    // Openwall crypt_blowfish `wrapper.c` test table (public domain), also used
    // by PHP's own crypt tests and John the Ripper.
    #[test]
    fn openwall_crypt_blowfish_vectors() {
        both(
            Scheme::Bcrypt2a,
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            b"U*U",
            b"U*V",
        );
        both(
            Scheme::Bcrypt2a,
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK",
            b"U*U*",
            b"U*U",
        );
        both(
            Scheme::Bcrypt2a,
            "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a",
            b"U*U*U",
            b"U*U*u",
        );
        // John the Ripper's copy of the table adds the empty password.
        both(
            Scheme::Bcrypt2a,
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy",
            b"",
            b" ",
        );
    }

    // wrapper.c: "chars after 72 are ignored".
    #[test]
    fn only_the_first_72_bytes_count() {
        let stored = "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui";
        let first72 = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let mut full = first72.to_vec();
        full.extend_from_slice(b"chars after 72 are ignored");
        both(Scheme::Bcrypt2a, stored, &full, &first72[..71]);
        assert_eq!(check(Scheme::Bcrypt2a, stored, first72), Verdict::Match);
    }

    // wrapper.c: the `$2x$` sign-extension bug against `$2y$`/`$2b$`.
    #[test]
    fn two_x_reproduces_the_sign_extension_bug() {
        let buggy = "$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e";
        both(Scheme::Bcrypt2x, buggy, b"\xa3", b"\xa4");
        both(Scheme::Bcrypt2x, buggy, b"\xff\xff\xa3", b"\xff\xa3");
        let correct = "$2y$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq";
        both(Scheme::Bcrypt2y, correct, b"\xa3", b"\xff\xa3");
        let b = "$2b$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq";
        both(Scheme::Bcrypt2b, b, b"\xa3", b"\xa2");
        let x2 = "$2x$05$/OK.fbVrR/bpIqNJ5ianF.o./n25XVfn6oAPaUvHe.Csk4zRfsYPi";
        both(Scheme::Bcrypt2x, x2, b"1\xa3345", b"1\xa3346");
        both(Scheme::Bcrypt2x, x2, b"\xff\xa3345", b"\xa3345");
        // For pure ASCII the bug is invisible: $2x$ equals $2a$.
        both(
            Scheme::Bcrypt2x,
            "$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            b"U*U",
            b"U*U*",
        );
    }

    // John the Ripper's bcrypt test table (the PHP `phpass` port quotes it).
    #[test]
    fn two_x_with_utf8_input() {
        both(
            Scheme::Bcrypt2x,
            "$2x$05$6bNw2HLQYeqHYyBfLMsv/OiwqTymGIGzFsA4hOTWebfehXHNprcAS",
            "\u{451}".as_bytes(),
            "\u{450}".as_bytes(),
        );
    }

    // passlib `test_handlers_bcrypt.py` (the `$2$` original version).
    #[test]
    fn original_two_has_no_nul_terminator() {
        both(
            Scheme::Bcrypt2,
            "$2$05$......................XuQjdH.wPVNUZ/bOfstdW/FqB8QSjte",
            b"abc",
            b"abd",
        );
        both(
            Scheme::Bcrypt2,
            "$2$05$......................J2ihDv8vVf7QZ9BsaRrKyqs2tkn55Yq",
            b"",
            b"a",
        );
    }

    // passlib `test_handlers_bcrypt.py`, `_bcrypt_sha256_test.known_correct_hashes`.
    #[test]
    fn passlib_bcrypt_sha256_v1_and_v2() {
        let s = Scheme::PasslibBcryptSha256;
        both(
            s,
            "$bcrypt-sha256$2a,5$5Hg1DKFqPE8C2aflZ5vVoe$12BjNE0p7axMg55.Y/mHsYiVuFBDQyu",
            b"password",
            b"passwore",
        );
        both(
            s,
            "$bcrypt-sha256$2b,5$5Hg1DKFqPE8C2aflZ5vVoe$12BjNE0p7axMg55.Y/mHsYiVuFBDQyu",
            b"password",
            b"Password",
        );
        both(
            s,
            "$bcrypt-sha256$2a,5$E/e/2AOhqM5W/KJTFQzLce$F6dYSxOdAEoJZO2eoHUZWZljW/e0TXO",
            b"",
            b" ",
        );
        both(
            s,
            "$bcrypt-sha256$v=2,t=2b,r=5$5Hg1DKFqPE8C2aflZ5vVoe$wOK1VFFtS8IGTrGa7.h5fs0u84qyPbS",
            b"password",
            b"passwor1",
        );
        both(
            s,
            "$bcrypt-sha256$v=2,t=2b,r=5$.US1fQ4TQS.ZTz/uJ5Kyn.$pzzgp40k8reM1CuQb03PvE0IDPQSdV6",
            "t\u{e1}\u{411}\u{2113}\u{259}".as_bytes(),
            b"t",
        );
        // No 72-byte truncation: these differ only after byte 72.
        let abc = "abc123".repeat(12);
        both(
            s,
            "$bcrypt-sha256$v=2,t=2b,r=5$X1g1nh3g0v4h6970O68cxe$CBF9csfEdW68xv3DwE6xSULXMtqEFP.",
            format!("{abc}qwr").as_bytes(),
            format!("{abc}xyz").as_bytes(),
        );
        both(
            s,
            "$bcrypt-sha256$2b,5$X1g1nh3g0v4h6970O68cxe$021KLEif6epjot5yoxk0m8I0929ohEa",
            format!("{abc}qwr").as_bytes(),
            format!("{abc}xyz").as_bytes(),
        );
    }

    // WordPress 6.8+ `wp_hash_password()` output quoted in public projects'
    // own test suites (found with the search tool; `wp_check_password()` in
    // WordPress's pluggable.php defines the construction): "password" from a
    // PHP check script, "Na101918!" from a Laravel WordPress-hasher test.
    #[test]
    fn wordpress_prefixed_bcrypt() {
        both(
            Scheme::WordpressBcrypt,
            "$wp$2y$10$/ktG/bzsEU/Ag7umrbqsTeiSLAJ4IXWjA5ZaN/ZBjqQZ.oNDEP1Vm",
            b"password",
            b"password ",
        );
        both(
            Scheme::WordpressBcrypt,
            "$wp$2y$10$y6/UfA/WhvVLZK6RxBSJE./L6YpJN8ChGg15a0Pqry/bTGsDuMR1q",
            b"Na101918!",
            b"wrong_password",
        );
    }

    #[test]
    fn malformed_values_are_rejected_without_echo() {
        let limits = Limits::default();
        let good = "$2b$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq";
        for bad in [
            "",
            "$2b$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlC",
            "$2b$5$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCqq",
            "$2b$03$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq",
            "$2b$32$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq",
            "$2b$0x$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq",
            "$2b$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oU+Cq",
            "$2c$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq",
        ] {
            let err = parse(Scheme::Bcrypt2b, bad, &limits).err().unwrap();
            assert!(matches!(err, HashError::Malformed { .. }), "{bad}: {err}");
            assert!(!err.to_string().contains("OK.fbVrR"));
        }
        // A $2b$ value under the $2y$ scheme is named, not silently accepted.
        assert!(parse(Scheme::Bcrypt2y, good, &limits).is_err());
        for bad in [
            "$bcrypt-sha256$v=3,t=2b,r=5$5Hg1DKFqPE8C2aflZ5vVoe$wOK1VFFtS8IGTrGa7.h5fs0u84qyPbS",
            "$bcrypt-sha256$v=2,t=2b$5Hg1DKFqPE8C2aflZ5vVoe$wOK1VFFtS8IGTrGa7.h5fs0u84qyPbS",
            "$bcrypt-sha256$2a5$5Hg1DKFqPE8C2aflZ5vVoe$12BjNE0p7axMg55.Y/mHsYiVuFBDQyu",
            "$bcrypt-sha256$2a,5$5Hg1DKFqPE8C2aflZ5vVoe",
        ] {
            assert!(
                parse(Scheme::PasslibBcryptSha256, bad, &limits).is_err(),
                "{bad}"
            );
        }
        assert!(parse(Scheme::WordpressBcrypt, good, &limits).is_err());
    }

    #[test]
    fn cost_ceiling_is_checked_at_parse_time() {
        let limits = Limits {
            bcrypt_cost: 10,
            ..Limits::default()
        };
        let stored = "$2a$12$WApznUOJfkEGSmYRfnkrPOr466oFDCaj4b6HY3EXGvfxm43seyhgC";
        let err = parse(Scheme::Bcrypt2a, stored, &limits).err().unwrap();
        assert!(matches!(
            err,
            HashError::CostTooHigh {
                value: 12,
                limit: 10,
                ..
            }
        ));
    }

    #[test]
    fn okta_gets_the_split_salt_and_value() {
        let stored = "$2y$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq";
        let h = parse(Scheme::Bcrypt2y, stored, &Limits::default()).unwrap();
        match h.okta_native() {
            Some(OktaHash::Bcrypt {
                work_factor,
                salt,
                value,
            }) => {
                assert_eq!(work_factor, 5);
                assert_eq!(salt, "/OK.fbVrR/bpIqNJ5ianF.");
                assert_eq!(value, "Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq");
            }
            other => panic!("{other:?}"),
        }
        let x = parse(
            Scheme::Bcrypt2x,
            "$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e",
            &Limits::default(),
        )
        .unwrap();
        assert!(x.okta_native().is_none());
    }

    #[test]
    fn detect_recognises_this_family() {
        for (stored, scheme) in [
            ("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", Scheme::Bcrypt2a),
            ("$2b$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq", Scheme::Bcrypt2b),
            ("$2y$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq", Scheme::Bcrypt2y),
            ("$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e", Scheme::Bcrypt2x),
            ("$2$05$......................XuQjdH.wPVNUZ/bOfstdW/FqB8QSjte", Scheme::Bcrypt2),
            ("$bcrypt-sha256$v=2,t=2b,r=5$5Hg1DKFqPE8C2aflZ5vVoe$wOK1VFFtS8IGTrGa7.h5fs0u84qyPbS", Scheme::PasslibBcryptSha256),
            ("$wp$2y$10$/ktG/bzsEU/Ag7umrbqsTeiSLAJ4IXWjA5ZaN/ZBjqQZ.oNDEP1Vm", Scheme::WordpressBcrypt),
        ] {
            assert_eq!(super::super::detect(stored), Some(scheme), "{stored}");
        }
    }

    // Found by tests/api/hash_robustness.rs: a 53-byte body with a two-byte
    // character across byte 22 made `split_at` panic (and the panic message
    // quoted the value).
    #[test]
    fn non_ascii_across_the_salt_split_is_malformed_not_a_panic() {
        let body = format!("{}é{}", "a".repeat(21), "a".repeat(30));
        assert_eq!(body.len(), 53);
        for (scheme, stored) in [
            (Scheme::Bcrypt2b, format!("$2b$05${body}")),
            (Scheme::WordpressBcrypt, format!("$wp$2y$05${body}")),
        ] {
            let err = parse(scheme, &stored, &Limits::default()).err().unwrap();
            assert!(matches!(err, HashError::Malformed { .. }), "{err}");
        }
    }
    // The libxcrypt path must compute exactly what the Rust path computes,
    // for every key shape: empty, 8-bit bytes (incl. 0xFF before a
    // sign-extending byte), 71/72/73+ bytes, and each minor that uses it.
    #[test]
    fn libxcrypt_and_rust_paths_agree() {
        let keys: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"U*U".to_vec(),
            b"\xff\xa3345".to_vec(),
            "p\u{e4}ssw\u{f6}rd \u{1f511}".as_bytes().to_vec(),
            vec![b'x'; 71],
            vec![b'y'; 72],
            vec![b'z'; 100],
        ];
        for tag in ["2a", "2b", "2y"] {
            let stored = format!("${tag}$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW");
            let hash =
                parse_mcf("bcrypt", &stored, None, &Limits::default(), Prehash::None).unwrap();
            for key in &keys {
                let native = hash.native_digest(key).expect("libxcrypt computes bcrypt");
                let rust =
                    bcrypt::bcrypt(hash.cost, hash.salt, &key_schedule_input(hash.minor, key));
                assert_eq!(
                    native,
                    rust[..23].to_vec(),
                    "${tag}$ key of {} bytes",
                    key.len()
                );
            }
        }
        // Keys C cannot carry, and minors it does not run, stay on Rust.
        let b = parse_mcf(
            "bcrypt",
            "$2b$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            None,
            &Limits::default(),
            Prehash::None,
        )
        .unwrap();
        assert!(b.native_digest(b"a\0b").is_none());
        let x = parse_mcf(
            "bcrypt",
            "$2x$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            None,
            &Limits::default(),
            Prehash::None,
        )
        .unwrap();
        assert!(x.native_digest(b"U*U").is_none());
    }

    #[test]
    fn a_nul_inside_the_password_is_still_verified_on_the_rust_path() {
        let stored = "$2b$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
        let hash = parse_mcf("bcrypt", stored, None, &Limits::default(), Prehash::None).unwrap();
        let key = key_schedule_input(Minor::B, b"a\0b");
        let raw = bcrypt::bcrypt(4, hash.salt, &key);
        let made = format!(
            "$2b$04${}{}",
            b64_encode_with_alphabet(&hash.salt, BCRYPT_ALPHABET).unwrap(),
            b64_encode_with_alphabet(&raw[..23], BCRYPT_ALPHABET).unwrap()
        );
        both(Scheme::Bcrypt2b, &made, b"a\0b", b"a");
    }
}
