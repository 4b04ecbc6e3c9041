//! MySQL server password formats: `mysql323` (pre-4.1 `PASSWORD()`, 16 hex,
//! not self-describing), `mysql41` (`*` + 40 hex, SHA1(SHA1(password))) and
//! MySQL 8 `caching_sha2_password` (`$A$ttt$` + 20-byte salt + 43-character
//! SHA-256-crypt digest, with ttt the round count / 1000 in hex). The
//! `caching_sha2_password` value may hold non-printable salt bytes, so the
//! `0x2441…` hex form that `SHOW CREATE USER` prints is accepted as well.

use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::encoding::{ct_eq, h64_encode, hex};
use super::{Family, HashError, Limits, Param, Result, Scheme, Verdict};

/// `caching_sha2_password` salt length (MySQL `CRYPT_SALT_LENGTH`).
const CSHA2_SALT_LEN: usize = 20;
/// Length of the encoded SHA-256-crypt digest.
const CSHA2_DIGEST_LEN: usize = 43;
/// MySQL multiplies the 3-digit round field by this.
const CSHA2_ROUNDS_MULTIPLIER: u32 = 1000;
/// MySQL rejects longer plaintexts (`CACHING_SHA2_PASSWORD_MAX_PASSWORD_LENGTH`).
const CSHA2_MAX_PASSWORD: usize = 256;

/// Decoded material of a MySQL password hash.
pub(crate) enum MysqlHash {
    /// `mysql323`: the two 31-bit words, as 8 bytes.
    Old323([u8; 8]),
    /// `mysql41`: SHA1(SHA1(password)).
    Native41([u8; 20]),
    /// `caching_sha2_password`.
    CachingSha2 {
        /// SHA-256-crypt rounds.
        rounds: u32,
        /// The 20 salt bytes.
        salt: Vec<u8>,
        /// The 43 encoded digest characters.
        digest: Vec<u8>,
    },
}

/// Recognises `*` + 40 hex and both forms of `$A$`.
pub(crate) fn detect(stored: &str) -> Option<Scheme> {
    if let Some(rest) = stored.strip_prefix('*') {
        if rest.len() == 40 && rest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Some(Scheme::Mysql41);
        }
    }
    if stored.starts_with("$A$") || hex_form(stored).is_some_and(|b| b.starts_with(b"$A$")) {
        return Some(Scheme::MysqlCachingSha2);
    }
    None
}

/// Decodes a `0x…` hex literal.
fn hex_form(stored: &str) -> Option<Vec<u8>> {
    let digits = stored
        .strip_prefix("0x")
        .or_else(|| stored.strip_prefix("0X"))?;
    hex(digits)
}

/// Parses a MySQL value as `scheme`.
pub(crate) fn parse(scheme: Scheme, stored: &str, limits: &Limits) -> Result<MysqlHash> {
    let name = scheme.as_str();
    match scheme {
        Scheme::Mysql323 => {
            let s = stored.trim();
            let bytes = hex(s)
                .filter(|_| s.len() == 16)
                .ok_or_else(|| HashError::malformed(name, "expected 16 hex digits"))?;
            let mut out = [0u8; 8];
            out.copy_from_slice(&bytes);
            Ok(MysqlHash::Old323(out))
        }
        Scheme::Mysql41 => {
            let s = stored.trim();
            let digits = s.strip_prefix('*').unwrap_or(s);
            let bytes = hex(digits)
                .filter(|_| digits.len() == 40)
                .ok_or_else(|| HashError::malformed(name, "expected '*' and 40 hex digits"))?;
            let mut out = [0u8; 20];
            out.copy_from_slice(&bytes);
            Ok(MysqlHash::Native41(out))
        }
        Scheme::MysqlCachingSha2 => parse_caching_sha2(stored.trim_start(), limits),
        other => Err(HashError::Unsupported {
            scheme: other.as_str(),
            reason: "not a MySQL scheme".into(),
        }),
    }
}

fn parse_caching_sha2(stored: &str, limits: &Limits) -> Result<MysqlHash> {
    let name = Scheme::MysqlCachingSha2.as_str();
    let bytes = match hex_form(stored) {
        Some(b) => b,
        None => stored.as_bytes().to_vec(),
    };
    let rest = bytes
        .strip_prefix(b"$A$")
        .ok_or_else(|| HashError::malformed(name, "expected the $A$ prefix (SHA-256)"))?;
    if rest.len() < 4 || rest[3] != b'$' {
        return Err(HashError::malformed(
            name,
            "expected a 3-digit round field and '$'",
        ));
    }
    let field = std::str::from_utf8(&rest[..3])
        .ok()
        .and_then(|f| u32::from_str_radix(f, 16).ok())
        .ok_or_else(|| HashError::malformed(name, "round field is not 3 hex digits"))?;
    let rounds = field * CSHA2_ROUNDS_MULTIPLIER;
    if rounds == 0 {
        return Err(HashError::malformed(name, "round field is zero"));
    }
    Limits::check(
        name,
        "crypt_rounds",
        u64::from(rounds),
        u64::from(limits.crypt_rounds),
    )?;
    let body = &rest[4..];
    if body.len() != CSHA2_SALT_LEN + CSHA2_DIGEST_LEN {
        return Err(HashError::malformed(
            name,
            format!(
                "expected {CSHA2_SALT_LEN} salt bytes and {CSHA2_DIGEST_LEN} digest characters, found {} bytes",
                body.len()
            ),
        ));
    }
    let (salt, digest) = body.split_at(CSHA2_SALT_LEN);
    Ok(MysqlHash::CachingSha2 {
        rounds,
        salt: salt.to_vec(),
        digest: digest.to_vec(),
    })
}

/// The pre-4.1 `PASSWORD()` hash: spaces and tabs in the password are skipped.
fn mysql323(password: &[u8]) -> [u8; 8] {
    let mut nr1: u32 = 0x5030_5735;
    let mut nr2: u32 = 0x1234_5671;
    let mut add: u32 = 7;
    for &c in password.iter().filter(|&&c| c != b' ' && c != b'\t') {
        let tmp = u32::from(c);
        nr1 ^= ((nr1 & 63).wrapping_add(add))
            .wrapping_mul(tmp)
            .wrapping_add(nr1 << 8);
        nr2 = nr2.wrapping_add((nr2 << 8) ^ nr1);
        add = add.wrapping_add(tmp);
    }
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&(nr1 & 0x7fff_ffff).to_be_bytes());
    out[4..].copy_from_slice(&(nr2 & 0x7fff_ffff).to_be_bytes());
    out
}

/// `len` bytes of `digest` repeated (the P and S sequences of SHA-crypt).
fn repeat_to(digest: &[u8], len: usize) -> Vec<u8> {
    digest.iter().copied().cycle().take(len).collect()
}

/// Drepper's SHA-256-crypt core with the salt used as given (MySQL's
/// `my_crypt_genhash` takes 20 salt bytes, where crypt(3) stops at 16, so
/// the `sha-crypt` crate cannot be used here).
fn sha256_crypt(password: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
    let b = Sha256::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    let mut a = Sha256::new();
    a.update(password);
    a.update(salt);
    let mut left = password.len();
    while left > 32 {
        a.update(b);
        left -= 32;
    }
    a.update(&b[..left]);
    let mut n = password.len();
    while n > 0 {
        if n & 1 == 1 {
            a.update(b);
        } else {
            a.update(password);
        }
        n >>= 1;
    }
    let a = a.finalize();

    let mut dp = Sha256::new();
    for _ in 0..password.len() {
        dp.update(password);
    }
    let p = repeat_to(&dp.finalize(), password.len());

    let mut ds = Sha256::new();
    for _ in 0..(16 + usize::from(a[0])) {
        ds.update(salt);
    }
    let s = repeat_to(&ds.finalize(), salt.len());

    let mut c: [u8; 32] = a.into();
    for i in 0..rounds {
        let mut h = Sha256::new();
        if i & 1 == 1 {
            h.update(&p);
        } else {
            h.update(c);
        }
        if i % 3 != 0 {
            h.update(&s);
        }
        if i % 7 != 0 {
            h.update(&p);
        }
        if i & 1 == 1 {
            h.update(c);
        } else {
            h.update(&p);
        }
        c = h.finalize().into();
    }
    c
}

/// SHA-256-crypt's output byte order before hash64 encoding.
const SHA256_CRYPT_ORDER: [usize; 32] = [
    20, 10, 0, 11, 1, 21, 2, 22, 12, 23, 13, 3, 14, 4, 24, 5, 25, 15, 26, 16, 6, 17, 7, 27, 8, 28,
    18, 29, 19, 9, 30, 31,
];

/// The 43-character encoding of a SHA-256-crypt result.
fn sha256_crypt_encode(raw: &[u8; 32]) -> String {
    let permuted: Vec<u8> = SHA256_CRYPT_ORDER.iter().map(|&i| raw[i]).collect();
    h64_encode(&permuted)
}

impl Family for MysqlHash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        let ok = match self {
            Self::Old323(stored) => ct_eq(&mysql323(password), stored),
            Self::Native41(stored) => {
                let inner = Sha1::digest(password);
                ct_eq(&Sha1::digest(inner), stored)
            }
            Self::CachingSha2 {
                rounds,
                salt,
                digest,
            } => {
                if password.len() > CSHA2_MAX_PASSWORD {
                    return Ok(Verdict::Mismatch);
                }
                let raw = sha256_crypt(password, salt, *rounds);
                ct_eq(sha256_crypt_encode(&raw).as_bytes(), digest)
            }
        };
        Ok(Verdict::from_bool(ok))
    }

    fn params(&self) -> Vec<Param> {
        match self {
            Self::Old323(_) => vec![("digest_bytes", "8".to_owned())],
            Self::Native41(_) => vec![("digest_bytes", "20".to_owned())],
            Self::CachingSha2 { rounds, salt, .. } => vec![
                ("rounds", rounds.to_string()),
                ("salt_bytes", salt.len().to_string()),
            ],
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn verify(scheme: Scheme, stored: &str, pw: &str) -> Verdict {
        parse(scheme, stored, &Limits::default())
            .and_then(|h| h.verify(pw.as_bytes()))
            .unwrap()
    }

    // Output of a MySQL 5.5.62 server, quoted on kence.org ("MySQL PASSWORD()
    // and OLD_PASSWORD()"): PASSWORD('123456') and OLD_PASSWORD('123456').
    #[test]
    fn server_vectors_for_password_and_old_password() {
        let new = "*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9";
        assert_eq!(detect(new), Some(Scheme::Mysql41));
        assert_eq!(verify(Scheme::Mysql41, new, "123456"), Verdict::Match);
        assert_eq!(verify(Scheme::Mysql41, new, "1234567"), Verdict::Mismatch);
        let old = "565491d704013245";
        assert_eq!(detect(old), None);
        assert_eq!(verify(Scheme::Mysql323, old, "123456"), Verdict::Match);
        assert_eq!(verify(Scheme::Mysql323, old, "123457"), Verdict::Mismatch);
    }

    // The `mysql` alias covers all three; a bare 16-hex value goes to the
    // only member that does not describe itself.
    #[test]
    fn mysql_alias_picks_by_content() {
        use crate::hash::{Hints, StoredHash};
        let l = Limits::default();
        let none = Hints::default();
        let old = StoredHash::parse_with(Some("mysql"), "565491d704013245", &none, &l).unwrap();
        assert_eq!(old.scheme(), Scheme::Mysql323);
        let new = StoredHash::parse_with(
            Some("MySQL"),
            "*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9",
            &none,
            &l,
        )
        .unwrap();
        assert_eq!(new.scheme(), Scheme::Mysql41);
        assert!(StoredHash::parse_with(Some("mysql"), "$1$abc$def", &none, &l).is_err());
    }

    // OLD_PASSWORD('password') = '5d2e19393cc5ef67' (aodba.com MySQL
    // OLD_PASSWORD examples). The old hash skips spaces and tabs.
    #[test]
    fn mysql323_ignores_spaces_and_tabs() {
        let old = "5d2e19393cc5ef67";
        assert_eq!(verify(Scheme::Mysql323, old, "password"), Verdict::Match);
        assert_eq!(verify(Scheme::Mysql323, old, "pass word"), Verdict::Match);
        assert_eq!(verify(Scheme::Mysql323, old, "\tpassword "), Verdict::Match);
        assert_eq!(verify(Scheme::Mysql323, old, "Password"), Verdict::Mismatch);
    }

    // hashcat `--example-hashes`, mode 7401 "MySQL $A$ (sha256crypt)":
    // $mysql$A$005*F9CC98CE08892924F50A213B6BC571A2C11778C5*6254…562F is
    // "hashcat"; hashcat's layout is `$mysql$A$005*<salt hex>*<digest hex>`,
    // rewritten here as MySQL's own hex literal (the salt is not printable).
    const HASHCAT_7401: &str = "0x24412430303524F9CC98CE08892924F50A213B6BC571A2C11778C5625479393559393965414D45316477456B484F41316E64484742577A2E3162785353526B7554584647562F";

    #[test]
    fn caching_sha2_hashcat_example() {
        assert_eq!(detect(HASHCAT_7401), Some(Scheme::MysqlCachingSha2));
        assert_eq!(
            verify(Scheme::MysqlCachingSha2, HASHCAT_7401, "hashcat"),
            Verdict::Match
        );
        assert_eq!(
            verify(Scheme::MysqlCachingSha2, HASHCAT_7401, "hashcaT"),
            Verdict::Mismatch
        );
        let h = parse(Scheme::MysqlCachingSha2, HASHCAT_7401, &Limits::default()).unwrap();
        assert!(h.params().contains(&("rounds", "5000".to_owned())));
    }

    // MircoBabin/MySqlPasswords README: `CREATE USER … IDENTIFIED WITH
    // caching_sha2_password AS 0x2441…332E` sets the password 'secret'.
    // This salt happens to be printable, so the plain string works too.
    #[test]
    fn caching_sha2_hex_literal_and_plain_forms() {
        let hex_form = "0x24412430303524517D22565B3D67635E4136625E414272223A522F373248496B496B7368563976366D73677476794E6F574C6C4346554662416E66753746637958455047332E";
        assert_eq!(
            verify(Scheme::MysqlCachingSha2, hex_form, "secret"),
            Verdict::Match
        );
        assert_eq!(
            verify(Scheme::MysqlCachingSha2, hex_form, "Secret"),
            Verdict::Mismatch
        );
        let bytes = hex(&hex_form[2..]).unwrap();
        let plain = String::from_utf8(bytes).unwrap();
        assert!(plain.starts_with("$A$005$"));
        assert_eq!(detect(&plain), Some(Scheme::MysqlCachingSha2));
        assert_eq!(
            verify(Scheme::MysqlCachingSha2, &plain, "secret"),
            Verdict::Match
        );
    }

    // MySQL's own placeholder for locked system accounts (scripts/mysql_system_users.sql):
    // well-formed, matches nothing.
    #[test]
    fn caching_sha2_placeholder_and_malformed() {
        let locked = "$A$005$THISISACOMBINATIONOFINVALIDSALTANDPASSWORDTHATMUSTNEVERBRBEUSED";
        assert_eq!(
            verify(Scheme::MysqlCachingSha2, locked, ""),
            Verdict::Mismatch
        );
        let l = Limits::default();
        assert!(parse(Scheme::MysqlCachingSha2, "$A$005$short", &l).is_err());
        assert!(parse(Scheme::MysqlCachingSha2, "$B$005$x", &l).is_err());
        assert!(parse(Scheme::MysqlCachingSha2, "$A$0G5$x", &l).is_err());
        assert!(parse(
            Scheme::Mysql41,
            "*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD",
            &l
        )
        .is_err());
        assert!(parse(Scheme::Mysql323, "565491d70401324", &l).is_err());
    }

    #[test]
    fn caching_sha2_rounds_ceiling() {
        let high = "$A$FFF$THISISACOMBINATIONOFINVALIDSALTANDPASSWORDTHATMUSTNEVERBRBEUSED";
        let limits = Limits {
            crypt_rounds: 1_000_000,
            ..Limits::default()
        };
        assert!(matches!(
            parse(Scheme::MysqlCachingSha2, high, &limits),
            Err(HashError::CostTooHigh { .. })
        ));
    }

    // Drepper's SHA-crypt specification, test vector 1 (salt "saltstring",
    // 5000 rounds, "Hello world!"): $5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5
    // (`openssl passwd -5 -salt saltstring` prints the same).
    #[test]
    fn sha256_crypt_core_matches_drepper_vector() {
        let raw = sha256_crypt(b"Hello world!", b"saltstring", 5000);
        assert_eq!(
            sha256_crypt_encode(&raw),
            "5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
        );
    }
}
