//! scrypt hashes: passlib's `$scrypt$ln=..,r=..,p=..$salt$hash`, the
//! libxcrypt/Colin Percival `$7$` crypt format, and raw columns
//! (`scrypt_raw`). [`ScryptHash`] is also the material of Werkzeug's
//! `scrypt:` hashes. The KDF is the `scrypt` crate's.

use ::scrypt::{scrypt, Params};

use super::encoding::{b64, ct_eq, h64_decode, h64_int, h64_value};
use super::pbkdf2::{decode_unsized, raw_salt};
use super::{Family, HashError, Hints, Limits, Param, Result, Scheme, Verdict};

/// Longest derived key accepted.
const MAX_DK_BYTES: usize = 1024;

/// The whole computation may touch at most this many times the memory
/// ceiling. The p lanes run one after another (the `scrypt` crate is
/// single-threaded), each over 128 * r * N bytes, so p multiplies the time
/// as the block count multiplies PBKDF2's (`pbkdf2::MAX_DK_BLOCKS`).
pub(crate) const MAX_WORK_FACTOR: u64 = 16;

/// Checks scrypt's memory, `128 * r * N` and the p blocks of `128 * r`
/// bytes held at once, against `scrypt_memory_bytes`, and its total work,
/// `128 * r * N * p`, against [`MAX_WORK_FACTOR`] times that ceiling.
pub(crate) fn check_cost(
    scheme: &'static str,
    n: u64,
    r: u64,
    p: u64,
    limits: &Limits,
) -> Result<()> {
    let lane = 128u64.saturating_mul(r).saturating_mul(n);
    Limits::check(
        scheme,
        "scrypt_memory_bytes",
        lane,
        limits.scrypt_memory_bytes,
    )?;
    Limits::check(
        scheme,
        "scrypt_memory_bytes",
        128u64.saturating_mul(r).saturating_mul(p),
        limits.scrypt_memory_bytes,
    )?;
    Limits::check(
        scheme,
        "scrypt_memory_bytes",
        lane.saturating_mul(p),
        limits.scrypt_memory_bytes.saturating_mul(MAX_WORK_FACTOR),
    )
}

/// Validated scrypt cost parameters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScryptCost {
    log_n: u8,
    r: u32,
    p: u32,
}

impl ScryptCost {
    /// Checks N (a power of two above 1), r and p (positive), and the
    /// memory and work ([`check_cost`]) against the ceiling.
    pub(crate) fn new(
        scheme: &'static str,
        n: u64,
        r: u64,
        p: u64,
        limits: &Limits,
    ) -> Result<Self> {
        if n < 2 || !n.is_power_of_two() {
            return Err(HashError::malformed(
                scheme,
                "N must be a power of two above 1",
            ));
        }
        let r32 = u32::try_from(r)
            .ok()
            .filter(|r| *r > 0)
            .ok_or_else(|| HashError::malformed(scheme, "r is out of range"))?;
        let p32 = u32::try_from(p)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| HashError::malformed(scheme, "p is out of range"))?;
        check_cost(scheme, n, r, p, limits)?;
        let log_n = n.trailing_zeros() as u8;
        Params::new(log_n, r32, p32)
            .map_err(|_| HashError::malformed(scheme, "scrypt rejects these N, r, p"))?;
        Ok(Self {
            log_n,
            r: r32,
            p: p32,
        })
    }

    /// scrypt(password, salt) into `out` (its length is the key length).
    pub(crate) fn derive(&self, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<()> {
        let failed = || HashError::Unsupported {
            scheme: "scrypt",
            reason: "scrypt rejected the parameters".into(),
        };
        let params = Params::new(self.log_n, self.r, self.p).map_err(|_| failed())?;
        scrypt(password, salt, &params, out).map_err(|_| failed())
    }

    /// `N`, `r`, `p` and the memory they need, for `params()`.
    pub(crate) fn describe(&self) -> Vec<Param> {
        vec![
            ("N", (1u64 << self.log_n).to_string()),
            ("r", self.r.to_string()),
            ("p", self.p.to_string()),
            (
                "memory_bytes",
                ((128u64 * u64::from(self.r)) << self.log_n).to_string(),
            ),
        ]
    }
}

/// Decoded material of an scrypt hash.
pub(crate) struct ScryptHash {
    cost: ScryptCost,
    salt: Vec<u8>,
    dk: Vec<u8>,
}

impl ScryptHash {
    /// Checks the cost and key length, then keeps the material.
    pub(crate) fn new(
        scheme: &'static str,
        n: u64,
        r: u64,
        p: u64,
        salt: Vec<u8>,
        dk: Vec<u8>,
        limits: &Limits,
    ) -> Result<Self> {
        let cost = ScryptCost::new(scheme, n, r, p, limits)?;
        if dk.is_empty() || dk.len() > MAX_DK_BYTES {
            return Err(HashError::malformed(
                scheme,
                format!("derived key is {} bytes", dk.len()),
            ));
        }
        Ok(Self { cost, salt, dk })
    }
}

fn number(scheme: &'static str, what: &str, s: &str) -> Result<u64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HashError::malformed(
            scheme,
            format!("{what} is not a number"),
        ));
    }
    s.parse()
        .map_err(|_| HashError::malformed(scheme, format!("{what} is not a number")))
}

/// `2^ln`, refusing shifts that would overflow.
fn pow2(scheme: &'static str, ln: u64) -> Result<u64> {
    if ln >= 63 {
        return Err(HashError::malformed(scheme, "log2(N) is out of range"));
    }
    Ok(1u64 << ln)
}

/// Parses an scrypt-family value.
pub(crate) fn parse(
    scheme: Scheme,
    stored: &str,
    hints: &Hints,
    limits: &Limits,
) -> Result<ScryptHash> {
    let name = scheme.as_str();
    match scheme {
        Scheme::PasslibScrypt => parse_passlib(name, stored, limits),
        Scheme::Scrypt7 => parse_seven(name, stored, limits),
        Scheme::ScryptRaw => parse_raw(name, stored, hints, limits),
        _ => Err(HashError::Unsupported {
            scheme: name,
            reason: "not an scrypt scheme".into(),
        }),
    }
}

/// passlib: `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<b64 salt>$<b64 key>`.
fn parse_passlib(name: &'static str, stored: &str, limits: &Limits) -> Result<ScryptHash> {
    let rest = stored
        .strip_prefix("$scrypt$")
        .ok_or_else(|| HashError::malformed(name, "expected the `$scrypt$` prefix"))?;
    let parts: Vec<&str> = rest.split('$').collect();
    let [config, salt, key] = parts[..] else {
        return Err(HashError::malformed(name, "expected `params$salt$hash`"));
    };
    let (mut ln, mut r, mut p) = (None, None, None);
    for pair in config.split(',') {
        match pair.split_once('=') {
            Some(("ln", v)) if ln.is_none() => ln = Some(number(name, "ln", v)?),
            Some(("r", v)) if r.is_none() => r = Some(number(name, "r", v)?),
            Some(("p", v)) if p.is_none() => p = Some(number(name, "p", v)?),
            _ => return Err(HashError::malformed(name, "parameters are ln, r and p")),
        }
    }
    let (Some(ln), Some(r), Some(p)) = (ln, r, p) else {
        return Err(HashError::malformed(name, "ln, r and p are all required"));
    };
    let salt = b64(salt).ok_or_else(|| HashError::malformed(name, "salt is not Base64"))?;
    let dk = b64(key).ok_or_else(|| HashError::malformed(name, "hash is not Base64"))?;
    ScryptHash::new(name, pow2(name, ln)?, r, p, salt, dk, limits)
}

/// `$7$` + log2(N) (1 char) + r (5 chars) + p (5 chars) + salt + `$` + key
/// (43 chars), all in crypt's little-endian Base64. The salt is used as the
/// text it is, not decoded (as libxcrypt and the scrypt reference do).
fn parse_seven(name: &'static str, stored: &str, limits: &Limits) -> Result<ScryptHash> {
    let rest = stored
        .strip_prefix("$7$")
        .ok_or_else(|| HashError::malformed(name, "expected the `$7$` prefix"))?;
    let (setting, key) = rest
        .rsplit_once('$')
        .ok_or_else(|| HashError::malformed(name, "expected `setting$hash`"))?;
    if setting.len() < 11 || !setting.is_ascii() {
        return Err(HashError::malformed(
            name,
            "the parameter field is too short",
        ));
    }
    let ln = setting
        .bytes()
        .next()
        .and_then(h64_value)
        .ok_or_else(|| HashError::malformed(name, "bad N character"))?;
    let r = h64_int(&setting[1..6]).ok_or_else(|| HashError::malformed(name, "bad r field"))?;
    let p = h64_int(&setting[6..11]).ok_or_else(|| HashError::malformed(name, "bad p field"))?;
    let salt = setting.as_bytes()[11..].to_vec();
    if key.len() != 43 {
        return Err(HashError::malformed(name, "hash must be 43 characters"));
    }
    let dk =
        h64_decode(key).ok_or_else(|| HashError::malformed(name, "hash is not crypt Base64"))?;
    ScryptHash::new(name, pow2(name, u64::from(ln))?, r, p, salt, dk, limits)
}

/// A bare key with everything else in hints: `params.N` (or `ln`), `r`,
/// `p`, optional `dklen` and `encoding`; the salt column with `salt_encoding`.
fn parse_raw(
    name: &'static str,
    stored: &str,
    hints: &Hints,
    limits: &Limits,
) -> Result<ScryptHash> {
    let n = match (hints.param("N").or(hints.param("n")), hints.param("ln")) {
        (Some(n), _) => number(name, "N", n)?,
        (None, Some(ln)) => pow2(name, number(name, "ln", ln)?)?,
        (None, None) => {
            return Err(HashError::MissingHint {
                scheme: name,
                what: "params.N, params.r and params.p",
            })
        }
    };
    let r = hints.param("r").ok_or(HashError::MissingHint {
        scheme: name,
        what: "params.r",
    })?;
    let p = hints.param("p").ok_or(HashError::MissingHint {
        scheme: name,
        what: "params.p",
    })?;
    let (r, p) = (number(name, "r", r)?, number(name, "p", p)?);
    let salt = raw_salt(name, hints)?;
    let dk = match hints.param("dklen") {
        Some(len) => {
            let len = usize::try_from(number(name, "dklen", len)?)
                .ok()
                .filter(|l| *l <= MAX_DK_BYTES)
                .ok_or_else(|| HashError::malformed(name, "dklen is too large"))?;
            super::digest::decode_digest(name, stored, hints.param("encoding"), len)?
        }
        None => decode_unsized(name, stored, hints.param("encoding"))?,
    };
    ScryptHash::new(name, n, r, p, salt, dk, limits)
}

impl Family for ScryptHash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        let mut out = vec![0u8; self.dk.len()];
        self.cost.derive(password, &self.salt, &mut out)?;
        Ok(Verdict::from_bool(ct_eq(&out, &self.dk)))
    }

    fn params(&self) -> Vec<Param> {
        let mut out = self.cost.describe();
        out.push(("salt_bytes", self.salt.len().to_string()));
        out.push(("dk_bytes", self.dk.len().to_string()));
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(scheme: Scheme, stored: &str, hints: &Hints, pw: &[u8]) -> Verdict {
        parse(scheme, stored, hints, &Limits::default())
            .unwrap()
            .verify(pw)
            .unwrap()
    }

    // RFC 7914 §12, vectors 2 and 3, as raw columns (hex key, text salt).
    #[test]
    fn rfc7914_raw_columns() {
        let v2 = Hints::default()
            .with_salt("NaCl")
            .with_param("N", "1024")
            .with_param("r", "8")
            .with_param("p", "16")
            .with_param("encoding", "hex");
        let dk2 = "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640";
        assert_eq!(
            check(Scheme::ScryptRaw, dk2, &v2, b"password"),
            Verdict::Match
        );
        assert_eq!(
            check(Scheme::ScryptRaw, dk2, &v2, b"Password"),
            Verdict::Mismatch
        );
        let v3 = Hints::default()
            .with_salt("SodiumChloride")
            .with_param("N", "16384")
            .with_param("r", "8")
            .with_param("p", "1")
            .with_param("dklen", "64");
        let dk3 = "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887";
        assert_eq!(
            check(Scheme::ScryptRaw, dk3, &v3, b"pleaseletmein"),
            Verdict::Match
        );
        assert_eq!(
            check(Scheme::ScryptRaw, dk3, &v3, b"pleaseletmeout"),
            Verdict::Mismatch
        );
    }

    // passlib `test_handlers_scrypt.py`, `scrypt_test.known_correct_hashes`
    // (RFC 7914 vector 2 re-encoded by passlib, and a passlib-made one).
    #[test]
    fn passlib_vectors() {
        let none = Hints::default();
        let rfc = "$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA";
        assert_eq!(
            check(Scheme::PasslibScrypt, rfc, &none, b"password"),
            Verdict::Match
        );
        assert_eq!(
            check(Scheme::PasslibScrypt, rfc, &none, b"passwore"),
            Verdict::Mismatch
        );
    }

    // The scrypt/libxcrypt `$7$` format: Colin Percival's reference test
    // (`tests/test_scrypt.sh` / libxcrypt `test/alg-scrypt`) hashes
    // "pleaseletmein" with N=16384, r=8, p=1 and salt "SodiumChloride".
    #[test]
    fn seven_reference_vector() {
        let none = Hints::default();
        let stored = "$7$C6..../....SodiumChloride$kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D";
        assert_eq!(
            check(Scheme::Scrypt7, stored, &none, b"pleaseletmein"),
            Verdict::Match
        );
        assert_eq!(
            check(Scheme::Scrypt7, stored, &none, b"pleaseletmeim"),
            Verdict::Mismatch
        );
    }

    #[test]
    fn malformed_and_missing_hints() {
        let limits = Limits::default();
        let none = Hints::default();
        for (scheme, bad) in [
            (Scheme::PasslibScrypt, "$scrypt$ln=10,r=8$TmFDbA$/bq+HJ00"),
            (
                Scheme::PasslibScrypt,
                "$scrypt$ln=10,r=0,p=1$TmFDbA$/bq+HJ00",
            ),
            (
                Scheme::PasslibScrypt,
                "$scrypt$ln=0,r=8,p=1$TmFDbA$/bq+HJ00",
            ),
            (Scheme::PasslibScrypt, "$scrypt$ln=10,r=8,p=1$TmFDbA"),
            (
                Scheme::Scrypt7,
                "$7$C6..../....SodiumChloride$kBGj9fHznVYFQMEn",
            ),
            (
                Scheme::Scrypt7,
                "$7$C6..$kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D",
            ),
        ] {
            assert!(
                matches!(
                    parse(scheme, bad, &none, &limits),
                    Err(HashError::Malformed { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            parse(Scheme::ScryptRaw, "00", &none, &limits),
            Err(HashError::MissingHint { .. })
        ));
    }

    #[test]
    fn memory_ceiling_is_checked_at_parse_time() {
        let limits = Limits {
            scrypt_memory_bytes: 8 * 1024 * 1024,
            ..Limits::default()
        };
        // N=16384, r=8: 16 MiB.
        let stored = "$7$C6..../....SodiumChloride$kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D";
        assert!(matches!(
            parse(Scheme::Scrypt7, stored, &Hints::default(), &limits),
            Err(HashError::CostTooHigh {
                value: 16_777_216,
                ..
            })
        ));
    }

    // Like with like: `scrypt_memory_bytes` is 128 * r * N, the figure
    // `params()` reports, so a hash using exactly the ceiling is accepted.
    #[test]
    fn a_hash_using_exactly_the_memory_ceiling_is_accepted() {
        // N=16384, r=8: 16 MiB.
        let stored = "$7$C6..../....SodiumChloride$kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D";
        let exact = Limits {
            scrypt_memory_bytes: 16 * 1024 * 1024,
            ..Limits::default()
        };
        assert!(parse(Scheme::Scrypt7, stored, &Hints::default(), &exact).is_ok());
        let below = Limits {
            scrypt_memory_bytes: 16 * 1024 * 1024 - 1,
            ..Limits::default()
        };
        assert!(matches!(
            parse(Scheme::Scrypt7, stored, &Hints::default(), &below),
            Err(HashError::CostTooHigh { .. })
        ));
    }

    #[test]
    fn detect_recognises_this_family() {
        for (stored, scheme) in [
            ("$scrypt$ln=10,r=8,p=16$TmFDbA$x", Scheme::PasslibScrypt),
            (
                "$7$C6..../....SodiumChloride$kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D",
                Scheme::Scrypt7,
            ),
        ] {
            assert_eq!(super::super::detect(stored), Some(scheme), "{stored}");
        }
    }

    // Found by tests/api/hash_robustness.rs: p was bounded only by the
    // 128 * r * p buffer, so N = 2^20, r = 1, p = 16384 (128 MiB per lane,
    // 16384 lanes run in turn) was accepted and would run for hours.
    #[test]
    fn work_over_many_lanes_is_checked_at_parse_time() {
        let none = Hints::default();
        let limits = Limits::default();
        let absurd = "$scrypt$ln=20,r=1,p=16384$c2FsdA$a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s";
        assert!(matches!(
            parse(Scheme::PasslibScrypt, absurd, &none, &limits),
            Err(HashError::CostTooHigh { .. })
        ));
        // RFC 7914 vector 2 (N = 1024, r = 8, p = 16: 16 MiB in all) still passes.
        let rfc = "$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA";
        assert!(parse(Scheme::PasslibScrypt, rfc, &none, &limits).is_ok());
        // The work bound is a multiple of the memory ceiling: p lanes of a
        // full-ceiling N pass up to that multiple, and not beyond it.
        let tight = Limits {
            scrypt_memory_bytes: 128 * 8 * 1024,
            ..Limits::default()
        };
        assert!(check_cost("t", 1024, 8, MAX_WORK_FACTOR, &tight).is_ok());
        assert!(matches!(
            check_cost("t", 1024, 8, MAX_WORK_FACTOR + 1, &tight),
            Err(HashError::CostTooHigh { .. })
        ));
    }
}
