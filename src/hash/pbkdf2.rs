//! PBKDF2 in its many framings: passlib `$pbkdf2[-sha256|-sha512]$`,
//! Django `pbkdf2_sha256$`/`pbkdf2_sha1$`, Atlassian `{PKCS5S2}`, grub
//! `grub.pbkdf2.sha512.`, LDAP `{PBKDF2[-SHA1|-SHA256|-SHA512]}` (passlib and
//! OpenLDAP's pw-pbkdf2) and raw columns (`pbkdf2_raw`). The decoded
//! material ([`Pbkdf2Hash`]) is shared with the Werkzeug and ASP.NET
//! Identity framings. The KDF is the `pbkdf2` crate's.

use md5::Md5;
use sha1::Sha1;
use sha2::{Sha224, Sha256, Sha384, Sha512};

use super::digest::decode_digest;
use super::encoding::{ab64, b64, ct_eq, hex, TextEncoding};
use super::okta::OKTA_MIN_PBKDF2_ITERATIONS;
use super::{
    Family, HashError, Hints, Limits, OktaHash, OktaPbkdf2Digest, Param, Result, Scheme, Verdict,
};

/// Longest derived key accepted for parsing a `dklen` hint.
const MAX_DK_BYTES: usize = 1024;
/// Most PRF output blocks a key may span: each block repeats all the
/// iterations, so this bounds the work at 16 times the iteration ceiling.
pub(crate) const MAX_DK_BLOCKS: usize = 16;
/// Iterations Atlassian's `{PKCS5S2}` always uses.
const ATLASSIAN_ITERATIONS: u32 = 10_000;

/// The HMAC hash PBKDF2 runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prf {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Prf {
    /// Output size of the hash, the natural derived-key length.
    pub(crate) fn output_len(self) -> usize {
        match self {
            Self::Md5 => 16,
            Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// Name as written in parameters (`sha256`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
            Self::Sha224 => "sha224",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// Parses `sha256`, `SHA-256`, `pbkdf2-hmac-sha256`, `HMACSHA256`, ...
    pub(crate) fn parse(name: &str) -> Option<Self> {
        let n = name.trim().to_ascii_lowercase().replace(['-', '_'], "");
        let n = n
            .strip_prefix("pbkdf2")
            .unwrap_or(&n)
            .trim_start_matches("hmac");
        Some(match n {
            "md5" => Self::Md5,
            "sha1" | "sha" => Self::Sha1,
            "sha224" => Self::Sha224,
            "sha256" => Self::Sha256,
            "sha384" => Self::Sha384,
            "sha512" => Self::Sha512,
            _ => return None,
        })
    }

    /// PBKDF2-HMAC into `out`.
    pub(crate) fn derive(self, password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
        use ::pbkdf2::pbkdf2_hmac;
        match self {
            Self::Md5 => pbkdf2_hmac::<Md5>(password, salt, iterations, out),
            Self::Sha1 => pbkdf2_hmac::<Sha1>(password, salt, iterations, out),
            Self::Sha224 => pbkdf2_hmac::<Sha224>(password, salt, iterations, out),
            Self::Sha256 => pbkdf2_hmac::<Sha256>(password, salt, iterations, out),
            Self::Sha384 => pbkdf2_hmac::<Sha384>(password, salt, iterations, out),
            Self::Sha512 => pbkdf2_hmac::<Sha512>(password, salt, iterations, out),
        }
    }
}

/// Decoded PBKDF2 material: everything needed to recompute the derived key.
pub(crate) struct Pbkdf2Hash {
    prf: Prf,
    iterations: u32,
    salt: Vec<u8>,
    dk: Vec<u8>,
}

impl Pbkdf2Hash {
    /// Checks the iteration count and key length, then keeps the material.
    pub(crate) fn new(
        scheme: &'static str,
        prf: Prf,
        iterations: u64,
        salt: Vec<u8>,
        dk: Vec<u8>,
        limits: &Limits,
    ) -> Result<Self> {
        if iterations == 0 {
            return Err(HashError::malformed(scheme, "iteration count is zero"));
        }
        Limits::check(
            scheme,
            "pbkdf2_iterations",
            iterations,
            u64::from(limits.pbkdf2_iterations),
        )?;
        let iterations = u32::try_from(iterations).map_err(|_| HashError::CostTooHigh {
            scheme,
            param: "pbkdf2_iterations",
            value: iterations,
            limit: u64::from(limits.pbkdf2_iterations),
        })?;
        if dk.is_empty() || dk.len() > MAX_DK_BLOCKS * prf.output_len() {
            return Err(HashError::malformed(
                scheme,
                format!("derived key is {} bytes", dk.len()),
            ));
        }
        Ok(Self {
            prf,
            iterations,
            salt,
            dk,
        })
    }
}

fn number(scheme: &'static str, what: &str, s: &str) -> Result<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HashError::malformed(
            scheme,
            format!("{what} is not a number"),
        ));
    }
    s.parse()
        .map_err(|_| HashError::malformed(scheme, format!("{what} is not a number")))
}

/// Splits `stored` into exactly `N` fields on `sep`.
fn fields<'a, const N: usize>(
    scheme: &'static str,
    stored: &'a str,
    sep: char,
    layout: &str,
) -> Result<[&'a str; N]> {
    let parts: Vec<&str> = stored.split(sep).collect();
    parts
        .try_into()
        .map_err(|_| HashError::malformed(scheme, format!("expected {layout}")))
}

/// Parses a PBKDF2-family value.
pub(crate) fn parse(
    scheme: Scheme,
    stored: &str,
    hints: &Hints,
    limits: &Limits,
) -> Result<Pbkdf2Hash> {
    let name = scheme.as_str();
    match scheme {
        Scheme::PasslibPbkdf2Sha1 => parse_passlib(name, stored, "$pbkdf2$", Prf::Sha1, limits),
        Scheme::PasslibPbkdf2Sha256 => {
            parse_passlib(name, stored, "$pbkdf2-sha256$", Prf::Sha256, limits)
        }
        Scheme::PasslibPbkdf2Sha512 => {
            parse_passlib(name, stored, "$pbkdf2-sha512$", Prf::Sha512, limits)
        }
        Scheme::LdapPbkdf2Sha1 | Scheme::LdapPbkdf2Sha256 | Scheme::LdapPbkdf2Sha512 => {
            parse_ldap(scheme, stored, limits)
        }
        Scheme::DjangoPbkdf2Sha1 => parse_django(name, stored, "pbkdf2_sha1", Prf::Sha1, limits),
        Scheme::DjangoPbkdf2Sha256 => {
            parse_django(name, stored, "pbkdf2_sha256", Prf::Sha256, limits)
        }
        Scheme::AtlassianPbkdf2Sha1 => parse_atlassian(name, stored, limits),
        Scheme::GrubPbkdf2Sha512 => parse_grub(name, stored, limits),
        Scheme::Pbkdf2Raw => parse_raw(name, stored, hints, limits),
        Scheme::CtaPbkdf2Sha1 | Scheme::DlitzPbkdf2Sha1 => parse_p5k2(scheme, stored, limits),
        _ => Err(HashError::Unsupported {
            scheme: name,
            reason: "not a PBKDF2 scheme".into(),
        }),
    }
}

/// passlib: `<prefix><rounds>$<ab64 salt>$<ab64 checksum>`.
fn parse_passlib(
    name: &'static str,
    stored: &str,
    prefix: &str,
    prf: Prf,
    limits: &Limits,
) -> Result<Pbkdf2Hash> {
    let rest = stored
        .strip_prefix(prefix)
        .ok_or_else(|| HashError::malformed(name, format!("expected the `{prefix}` prefix")))?;
    parse_rounds_salt_checksum(name, rest, prf, limits)
}

/// `<rounds>$<ab64 salt>$<ab64 checksum>`, shared by passlib and LDAP.
fn parse_rounds_salt_checksum(
    name: &'static str,
    rest: &str,
    prf: Prf,
    limits: &Limits,
) -> Result<Pbkdf2Hash> {
    let [rounds, salt, checksum] = fields::<3>(name, rest, '$', "`rounds$salt$checksum`")?;
    if rounds.starts_with('0') {
        return Err(HashError::malformed(name, "rounds has a leading zero"));
    }
    let iterations = number(name, "rounds", rounds)?;
    let salt = ab64(salt).ok_or_else(|| HashError::malformed(name, "salt is not Base64"))?;
    let dk = ab64(checksum).ok_or_else(|| HashError::malformed(name, "checksum is not Base64"))?;
    Pbkdf2Hash::new(name, prf, iterations, salt, dk, limits)
}

/// `{PBKDF2}`, `{PBKDF2-SHA1}`, `{PBKDF2-SHA256}`, `{PBKDF2-SHA512}` (any case).
fn parse_ldap(scheme: Scheme, stored: &str, limits: &Limits) -> Result<Pbkdf2Hash> {
    let name = scheme.as_str();
    let (tag, rest) = stored
        .strip_prefix('{')
        .and_then(|s| s.split_once('}'))
        .ok_or_else(|| HashError::malformed(name, "expected a `{PBKDF2-…}` tag"))?;
    let prf = match tag.to_ascii_uppercase().as_str() {
        "PBKDF2" | "PBKDF2-SHA1" => Prf::Sha1,
        "PBKDF2-SHA256" => Prf::Sha256,
        "PBKDF2-SHA512" => Prf::Sha512,
        _ => return Err(HashError::malformed(name, "unknown PBKDF2 tag")),
    };
    let expected = match scheme {
        Scheme::LdapPbkdf2Sha1 => Prf::Sha1,
        Scheme::LdapPbkdf2Sha256 => Prf::Sha256,
        _ => Prf::Sha512,
    };
    if prf != expected {
        return Err(HashError::malformed(
            name,
            format!("the tag names PBKDF2-{}", prf.name().to_ascii_uppercase()),
        ));
    }
    parse_rounds_salt_checksum(name, rest, prf, limits)
}

/// Django: `<algo>$<iterations>$<salt text>$<Base64 hash>`.
fn parse_django(
    name: &'static str,
    stored: &str,
    algo: &str,
    prf: Prf,
    limits: &Limits,
) -> Result<Pbkdf2Hash> {
    let [tag, iterations, salt, hash] =
        fields::<4>(name, stored, '$', "`algorithm$iterations$salt$hash`")?;
    if tag != algo {
        return Err(HashError::malformed(name, format!("expected `{algo}$`")));
    }
    let iterations = number(name, "iterations", iterations)?;
    // Django hashes the salt as text.
    let dk = b64(hash).ok_or_else(|| HashError::malformed(name, "hash is not Base64"))?;
    Pbkdf2Hash::new(name, prf, iterations, salt.as_bytes().to_vec(), dk, limits)
}

/// Atlassian: `{PKCS5S2}` + Base64(16-byte salt ‖ 32-byte key), 10000 × SHA-1.
fn parse_atlassian(name: &'static str, stored: &str, limits: &Limits) -> Result<Pbkdf2Hash> {
    let body = stored
        .get(..9)
        .filter(|t| t.eq_ignore_ascii_case("{PKCS5S2}"))
        .map(|_| &stored[9..])
        .ok_or_else(|| HashError::malformed(name, "expected the `{PKCS5S2}` tag"))?;
    let raw = b64(body).ok_or_else(|| HashError::malformed(name, "body is not Base64"))?;
    if raw.len() != 48 {
        return Err(HashError::malformed(
            name,
            format!("body is {} bytes, expected 48", raw.len()),
        ));
    }
    let (salt, dk) = raw.split_at(16);
    Pbkdf2Hash::new(
        name,
        Prf::Sha1,
        u64::from(ATLASSIAN_ITERATIONS),
        salt.to_vec(),
        dk.to_vec(),
        limits,
    )
}

/// grub: `grub.pbkdf2.sha512.<iterations>.<salt hex>.<hash hex>`.
fn parse_grub(name: &'static str, stored: &str, limits: &Limits) -> Result<Pbkdf2Hash> {
    let rest = stored
        .strip_prefix("grub.pbkdf2.")
        .ok_or_else(|| HashError::malformed(name, "expected the `grub.pbkdf2.` prefix"))?;
    let [algo, iterations, salt, hash] =
        fields::<4>(name, rest, '.', "`sha512.iterations.salt.hash`")?;
    let prf = Prf::parse(algo).ok_or_else(|| HashError::malformed(name, "unknown hash name"))?;
    let iterations = number(name, "iterations", iterations)?;
    let salt = hex(salt).ok_or_else(|| HashError::malformed(name, "salt is not hex"))?;
    let dk = hex(hash).ok_or_else(|| HashError::malformed(name, "hash is not hex"))?;
    Pbkdf2Hash::new(name, prf, iterations, salt, dk, limits)
}

/// Which `$p5k2$` dialect a value is: Christopher Tuttle's (Base64
/// checksum of 20 bytes, 28 characters with padding) or Dwayne Litzenberger's
/// (adapted Base64 of 24 bytes, 32 characters).
pub(crate) fn detect_p5k2(stored: &str) -> Option<Scheme> {
    let checksum = stored.strip_prefix("$p5k2$")?.rsplit('$').next()?;
    match checksum.len() {
        28 => Some(Scheme::CtaPbkdf2Sha1),
        32 => Some(Scheme::DlitzPbkdf2Sha1),
        _ => None,
    }
}

/// `$p5k2$<hex rounds>$<salt>$<checksum>`, PBKDF2-HMAC-SHA1 in both dialects.
/// cta: salt and checksum in URL-safe Base64, the salt decoded. dlitz: the
/// rounds may be empty (400), and the PBKDF2 salt is the whole canonical
/// setting string `$p5k2$<hex or nothing for 400>$<salt>` (as dlitz's
/// `crypt()` and passlib compute it).
fn parse_p5k2(scheme: Scheme, stored: &str, limits: &Limits) -> Result<Pbkdf2Hash> {
    let name = scheme.as_str();
    let rest = stored
        .strip_prefix("$p5k2$")
        .ok_or_else(|| HashError::malformed(name, "expected the `$p5k2$` prefix"))?;
    let [rounds, salt, checksum] = fields::<3>(name, rest, '$', "`rounds$salt$checksum`")?;
    let hex_rounds = |r: &str| {
        u64::from_str_radix(r, 16)
            .ok()
            .filter(|n| *n >= 1 && r.len() <= 8)
            .ok_or_else(|| HashError::malformed(name, "rounds is not a hex number"))
    };
    if scheme == Scheme::CtaPbkdf2Sha1 {
        let iterations = hex_rounds(rounds)?;
        let salt = b64(salt).ok_or_else(|| HashError::malformed(name, "salt is not Base64"))?;
        let dk =
            b64(checksum).ok_or_else(|| HashError::malformed(name, "checksum is not Base64"))?;
        if dk.len() != 20 {
            return Err(HashError::malformed(name, "checksum must be 20 bytes"));
        }
        return Pbkdf2Hash::new(name, Prf::Sha1, iterations, salt, dk, limits);
    }
    let iterations = if rounds.is_empty() {
        400
    } else {
        hex_rounds(rounds)?
    };
    if !salt
        .bytes()
        .all(|b| b == b'.' || b == b'/' || b.is_ascii_alphanumeric())
    {
        return Err(HashError::malformed(
            name,
            "salt has characters outside ./0-9A-Za-z",
        ));
    }
    let dk = ab64(checksum).ok_or_else(|| HashError::malformed(name, "checksum is not Base64"))?;
    if dk.len() != 24 {
        return Err(HashError::malformed(name, "checksum must be 24 bytes"));
    }
    let setting = if iterations == 400 {
        format!("$p5k2$${salt}")
    } else {
        format!("$p5k2${iterations:x}${salt}")
    };
    Pbkdf2Hash::new(
        name,
        Prf::Sha1,
        iterations,
        setting.into_bytes(),
        dk,
        limits,
    )
}

/// A bare derived key with everything else in hints: `params.algorithm`
/// (`pbkdf2-hmac-sha256`...), `params.iterations`, optional `params.dklen`
/// and `params.encoding`, and the salt column with `params.salt_encoding`.
fn parse_raw(
    name: &'static str,
    stored: &str,
    hints: &Hints,
    limits: &Limits,
) -> Result<Pbkdf2Hash> {
    let prf = hints
        .param("algorithm")
        .map(|a| Prf::parse(a).ok_or_else(|| HashError::malformed(name, "unknown algorithm")))
        .transpose()?
        .ok_or(HashError::MissingHint {
            scheme: name,
            what: "params.algorithm (pbkdf2-hmac-sha1, -sha256 or -sha512)",
        })?;
    let iterations = hints.param("iterations").ok_or(HashError::MissingHint {
        scheme: name,
        what: "params.iterations",
    })?;
    let iterations = number(name, "iterations", iterations.trim())?;
    let salt = raw_salt(name, hints)?;
    let dk = match hints.param("dklen") {
        Some(len) => {
            let len = number(name, "dklen", len.trim())?;
            let len = usize::try_from(len)
                .ok()
                .filter(|l| *l <= MAX_DK_BYTES)
                .ok_or_else(|| HashError::malformed(name, "dklen is too large"))?;
            decode_digest(name, stored, hints.param("encoding"), len)?
        }
        None => decode_unsized(name, stored, hints.param("encoding"))?,
    };
    Pbkdf2Hash::new(name, prf, iterations, salt, dk, limits)
}

/// The salt column of a raw-column scheme, decoded with `params.salt_encoding`
/// (UTF-8 text when absent).
pub(crate) fn raw_salt(name: &'static str, hints: &Hints) -> Result<Vec<u8>> {
    let salt = hints.salt.as_deref().ok_or(HashError::MissingHint {
        scheme: name,
        what: "a salt (salt column)",
    })?;
    let enc = match hints.param("salt_encoding") {
        None => TextEncoding::Utf8,
        Some(e) => TextEncoding::parse(e).ok_or_else(|| {
            HashError::malformed(name, "unknown salt encoding (utf8, hex or base64)")
        })?,
    };
    enc.decode(salt)
        .ok_or_else(|| HashError::malformed(name, "salt is not valid for its encoding"))
}

/// Decodes a key of unknown length: `params.encoding` if given, else hex
/// when the text is valid hex, else Base64.
pub(crate) fn decode_unsized(
    name: &'static str,
    stored: &str,
    encoding: Option<&str>,
) -> Result<Vec<u8>> {
    let stored = stored.trim();
    let bytes = match encoding {
        Some(e) => TextEncoding::parse(e)
            .ok_or_else(|| HashError::malformed(name, "unknown encoding (hex or base64)"))?
            .decode(stored),
        None => hex(stored).or_else(|| b64(stored)),
    };
    bytes.ok_or_else(|| HashError::malformed(name, "hash is not valid hex/Base64"))
}

impl Family for Pbkdf2Hash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        let mut out = vec![0u8; self.dk.len()];
        self.prf
            .derive(password, &self.salt, self.iterations, &mut out);
        Ok(Verdict::from_bool(ct_eq(&out, &self.dk)))
    }

    fn params(&self) -> Vec<Param> {
        vec![
            ("prf", format!("hmac-{}", self.prf.name())),
            ("iterations", self.iterations.to_string()),
            ("salt_bytes", self.salt.len().to_string()),
            ("dk_bytes", self.dk.len().to_string()),
        ]
    }

    fn okta_native(&self) -> Option<OktaHash> {
        let digest = match self.prf {
            Prf::Sha256 => OktaPbkdf2Digest::Sha256,
            Prf::Sha512 => OktaPbkdf2Digest::Sha512,
            _ => return None,
        };
        if self.iterations < OKTA_MIN_PBKDF2_ITERATIONS {
            return None;
        }
        Some(OktaHash::Pbkdf2 {
            digest,
            iterations: self.iterations,
            salt: self.salt.clone(),
            value: self.dk.clone(),
        })
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

    fn both(scheme: Scheme, stored: &str, good: &str, bad: &str) {
        let none = Hints::default();
        assert_eq!(
            check(scheme, stored, &none, good.as_bytes()),
            Verdict::Match,
            "{stored}"
        );
        assert_eq!(
            check(scheme, stored, &none, bad.as_bytes()),
            Verdict::Mismatch,
            "{stored}"
        );
    }

    // RFC 6070 (PBKDF2-HMAC-SHA1) §2, as raw columns: "password"/"salt".
    #[test]
    fn rfc6070_as_raw_columns() {
        let hints = |iterations: &str| {
            Hints::default()
                .with_salt("salt")
                .with_param("algorithm", "pbkdf2-hmac-sha1")
                .with_param("iterations", iterations)
                .with_param("encoding", "hex")
        };
        let s = Scheme::Pbkdf2Raw;
        let one = "0c60c80f961f0e71f3a9b524af6012062fe037a6";
        assert_eq!(check(s, one, &hints("1"), b"password"), Verdict::Match);
        assert_eq!(check(s, one, &hints("1"), b"passwore"), Verdict::Mismatch);
        let two = "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957";
        assert_eq!(check(s, two, &hints("2"), b"password"), Verdict::Match);
        let many = "4b007901b765489abead49d926f721d065a429c1";
        assert_eq!(check(s, many, &hints("4096"), b"password"), Verdict::Match);
        // RFC 6070: a 25-byte key with a longer password and salt.
        let long = Hints::default()
            .with_salt("saltSALTsaltSALTsaltSALTsaltSALTsalt")
            .with_param("algorithm", "sha1")
            .with_param("iterations", "4096")
            .with_param("dklen", "25");
        let dk = "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038";
        assert_eq!(
            check(s, dk, &long, b"passwordPASSWORDpassword"),
            Verdict::Match
        );
        assert_eq!(
            check(s, dk, &long, b"passwordPASSWORDpassworD"),
            Verdict::Mismatch
        );
    }

    // RFC 7914 §11 (PBKDF2-HMAC-SHA256 test vectors), Base64-encoded key.
    #[test]
    fn rfc7914_sha256_raw_column() {
        let hints = Hints::default()
            .with_salt("salt")
            .with_param("algorithm", "pbkdf2-hmac-sha256")
            .with_param("iterations", "1")
            .with_param("dklen", "64")
            .with_param("encoding", "hex");
        let dk = "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
                  49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783";
        assert_eq!(
            check(Scheme::Pbkdf2Raw, dk, &hints, b"passwd"),
            Verdict::Match
        );
        assert_eq!(
            check(Scheme::Pbkdf2Raw, dk, &hints, b"passwe"),
            Verdict::Mismatch
        );
    }

    // PBKDF2-HMAC-MD5 raw column: produced by Python 3.11.7
    // `hashlib.pbkdf2_hmac("md5", pw, salt, 1000, 16)` (OpenSSL 3.0), one of
    // the relative vectors that first failed with "unknown algorithm".
    #[test]
    fn md5_prf_raw_column() {
        let hints = Hints::default()
            .with_salt("c9bbaa7587c6e7f99e09faa0f68cf16e")
            .with_param("salt_encoding", "hex")
            .with_param("algorithm", "pbkdf2-hmac-md5")
            .with_param("iterations", "1000")
            .with_param("dklen", "16")
            .with_param("encoding", "hex");
        let dk = "93f77d72fbcc0aa10f134e4bd7479580";
        assert_eq!(
            check(Scheme::Pbkdf2Raw, dk, &hints, "  spaced out  ".as_bytes()),
            Verdict::Match
        );
        assert_eq!(
            check(Scheme::Pbkdf2Raw, dk, &hints, b"spaced out"),
            Verdict::Mismatch
        );
    }

    // passlib `test_handlers.py`: `pbkdf2_sha1_test`, `pbkdf2_sha256_test`,
    // `pbkdf2_sha512_test` known_correct_hashes.
    #[test]
    fn passlib_vectors() {
        both(
            Scheme::PasslibPbkdf2Sha1,
            "$pbkdf2$1212$OB.dtnSEXZK8U5cgxU/GYQ$y5LKPOplRmok7CZp/aqVDVg8zGI",
            "password",
            "passwor",
        );
        both(
            Scheme::PasslibPbkdf2Sha256,
            "$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ",
            "password",
            "Password",
        );
        both(
            Scheme::PasslibPbkdf2Sha512,
            "$pbkdf2-sha512$1212$RHY0Fr3IDMSVO/RSZyb5ow$eNLfBK.eVozomMr.1gYa17k9B7KIK25NOEshvhrSX.esqY3s.FvWZViXz4KoLlQI.BzY/YTNJOiKc5gBYFYGww",
            "password",
            "passwore",
        );
    }

    // passlib `test_handlers.py` `ldap_pbkdf2_test` (the same PBKDF2 bodies
    // under LDAP tags; tags are case-insensitive).
    #[test]
    fn ldap_tags() {
        both(
            Scheme::LdapPbkdf2Sha1,
            "{PBKDF2}1212$OB.dtnSEXZK8U5cgxU/GYQ$y5LKPOplRmok7CZp/aqVDVg8zGI",
            "password",
            "passwor",
        );
        both(
            Scheme::LdapPbkdf2Sha256,
            "{pbkdf2-sha256}1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ",
            "password",
            "Password",
        );
        assert!(parse(
            Scheme::LdapPbkdf2Sha512,
            "{PBKDF2-SHA256}1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ",
            &Hints::default(),
            &Limits::default()
        )
        .is_err());
    }

    // Django's own tests (`tests/auth_tests/test_hashers.py`,
    // `test_low_level_pbkdf2` and `test_low_level_pbkdf2_sha1`, Django 4.2).
    #[test]
    fn django_vectors() {
        both(
            Scheme::DjangoPbkdf2Sha256,
            "pbkdf2_sha256$600000$seasalt2$OSllgFdJjYQjb0RfMzrx8u0XYl4Fkt+wKpI1yq4lZlo=",
            "lètmein",
            "letmein",
        );
        both(
            Scheme::DjangoPbkdf2Sha1,
            "pbkdf2_sha1$600000$seasalt2$2CLsaL1MZhq6JOG6QOHtVbiopHE=",
            "lètmein",
            "lètmeiN",
        );
    }

    // passlib `atlassian_pbkdf2_sha1_test`.
    #[test]
    fn atlassian_vector() {
        both(
            Scheme::AtlassianPbkdf2Sha1,
            "{PKCS5S2}c4xaeTQM0lUieMS3V5voiexyX9XhqC2dBd5ecVy60IPksHChwoTAVYFrhsgoq8/p",
            "admin",
            "Admin",
        );
    }

    // passlib `grub_pbkdf2_sha512_test` (generated with grub-mkpasswd-pbkdf2).
    #[test]
    fn grub_vector() {
        both(
            Scheme::GrubPbkdf2Sha512,
            "grub.pbkdf2.sha512.10000.9B436BB6978682363D5C449BBEAB322676946C632208BC1294D51F47174A9A3B04A7E4785986CD4EA7470FAB8FE9F6BD522D1FC6C51109A8596FB7AD487C4493.0FE5EF169AFFCB67D86E2581B1E251D88C777B98BA2D3256ECC9F765D84956FC5CA5C4B6FD711AA285F0A04DCF4634083F9A20F4B6F339A52FBD6BED618E527B",
            "toomanysecrets",
            "toomanysecret",
        );
    }

    // passlib `test_handlers.py` `cta_pbkdf2_sha1_test` (the first from the
    // original implementation) and `dlitz_pbkdf2_sha1_test` (from dlitz's
    // python-pbkdf2 test suite).
    #[test]
    fn p5k2_dialects() {
        both(
            Scheme::CtaPbkdf2Sha1,
            "$p5k2$1000$ZxK4ZBJCfQg=$jJZVscWtO--p1-xIZl6jhO2LKR0=",
            "hashy the \u{2603}",
            "hashy the snowman",
        );
        both(
            Scheme::CtaPbkdf2Sha1,
            "$p5k2$1$$h1TDLGSw9ST8UMAPeIE13i0t12c=",
            "password",
            "passwd",
        );
        both(
            Scheme::CtaPbkdf2Sha1,
            "$p5k2$4321$OTg3NjU0MzIx$jINJrSvZ3LXeIbUdrJkRpN62_WQ=",
            "\u{399}\u{3c9}\u{3b1}\u{3bd}\u{3bd}\u{3b7}\u{3c2}",
            "\u{399}\u{3c9}\u{3b1}\u{3bd}\u{3bd}\u{3b7}",
        );
        both(
            Scheme::DlitzPbkdf2Sha1,
            "$p5k2$$exec$r1EWMCMk7Rlv3L/RNcFXviDefYa0hlql",
            "cloadm",
            "cloadM",
        );
        both(
            Scheme::DlitzPbkdf2Sha1,
            "$p5k2$c$u9HvcT4d$Sd1gwSVCLZYAuqZ25piRnbBEoAesaa/g",
            "gnu",
            "gnus",
        );
        both(
            Scheme::DlitzPbkdf2Sha1,
            "$p5k2$d$tUsch7fU$nqDkaxMDOFBeJsTSfABsyn.PYUXilHwL",
            "dcl",
            "DCL",
        );
        both(
            Scheme::DlitzPbkdf2Sha1,
            "$p5k2$3e8$H0NX9mT/$wk/sE8vv6OMKuMaqazCJYDSUhWY9YB2J",
            "spam",
            "eggs",
        );
        assert_eq!(
            detect_p5k2("$p5k2$c$u9HvcT4d$Sd1gwSVCLZYAuqZ25piRnbBEoAesaa/g"),
            Some(Scheme::DlitzPbkdf2Sha1)
        );
        assert_eq!(
            detect_p5k2("$p5k2$1$$h1TDLGSw9ST8UMAPeIE13i0t12c="),
            Some(Scheme::CtaPbkdf2Sha1)
        );
    }

    #[test]
    fn okta_takes_sha256_and_sha512_from_4096_iterations() {
        let limits = Limits::default();
        let strong = parse(
            Scheme::DjangoPbkdf2Sha256,
            "pbkdf2_sha256$600000$seasalt2$OSllgFdJjYQjb0RfMzrx8u0XYl4Fkt+wKpI1yq4lZlo=",
            &Hints::default(),
            &limits,
        )
        .unwrap();
        match strong.okta_native() {
            Some(OktaHash::Pbkdf2 {
                digest: OktaPbkdf2Digest::Sha256,
                iterations: 600_000,
                salt,
                value,
            }) => {
                assert_eq!(salt, b"seasalt2");
                assert_eq!(value.len(), 32);
            }
            other => panic!("{other:?}"),
        }
        let weak = parse(
            Scheme::PasslibPbkdf2Sha256,
            "$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ",
            &Hints::default(),
            &limits,
        )
        .unwrap();
        assert!(weak.okta_native().is_none());
        let sha1 = parse(
            Scheme::AtlassianPbkdf2Sha1,
            "{PKCS5S2}c4xaeTQM0lUieMS3V5voiexyX9XhqC2dBd5ecVy60IPksHChwoTAVYFrhsgoq8/p",
            &Hints::default(),
            &limits,
        )
        .unwrap();
        assert!(sha1.okta_native().is_none());
    }

    #[test]
    fn malformed_and_missing_hints() {
        let limits = Limits::default();
        let none = Hints::default();
        for (scheme, bad) in [
            (
                Scheme::PasslibPbkdf2Sha256,
                "$pbkdf2-sha256$x$4vjV83LKPjQzk31VI4E0Vw$hsYF",
            ),
            (
                Scheme::PasslibPbkdf2Sha256,
                "$pbkdf2-sha256$0$4vjV83LKPjQzk31VI4E0Vw$hsYF",
            ),
            (
                Scheme::PasslibPbkdf2Sha256,
                "$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw",
            ),
            (Scheme::PasslibPbkdf2Sha256, "$pbkdf2-sha256$1212$a$!!!!"),
            (
                Scheme::DjangoPbkdf2Sha256,
                "pbkdf2_sha1$1000$salt$B9Q3TqKUcY0YIqIPbAHJJwDiemw=",
            ),
            (Scheme::AtlassianPbkdf2Sha1, "{PKCS5S2}c4xaeTQM0lUieMS3"),
            (Scheme::GrubPbkdf2Sha512, "grub.pbkdf2.sha512.10000.XYZ.00"),
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
            parse(Scheme::Pbkdf2Raw, "00", &none, &limits),
            Err(HashError::MissingHint { .. })
        ));
        // A key spanning more than 16 PRF blocks multiplies the work: refused.
        let long = Hints::default()
            .with_salt("salt")
            .with_param("algorithm", "sha1")
            .with_param("iterations", "1")
            .with_param("encoding", "hex");
        assert!(matches!(
            parse(Scheme::Pbkdf2Raw, &"ab".repeat(20 * 16 + 1), &long, &limits),
            Err(HashError::Malformed { .. })
        ));
    }

    #[test]
    fn iteration_ceiling_is_checked_at_parse_time() {
        let limits = Limits {
            pbkdf2_iterations: 100_000,
            ..Limits::default()
        };
        let err = parse(
            Scheme::DjangoPbkdf2Sha256,
            "pbkdf2_sha256$600000$seasalt2$OSllgFdJjYQjb0RfMzrx8u0XYl4Fkt+wKpI1yq4lZlo=",
            &Hints::default(),
            &limits,
        );
        assert!(matches!(
            err,
            Err(HashError::CostTooHigh { value: 600_000, .. })
        ));
    }

    #[test]
    fn detect_recognises_this_family() {
        for (stored, scheme) in [
            ("$pbkdf2$1212$OB.dtnSEXZK8U5cgxU/GYQ$y5LKPOplRmok7CZp/aqVDVg8zGI", Scheme::PasslibPbkdf2Sha1),
            ("$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ", Scheme::PasslibPbkdf2Sha256),
            ("$pbkdf2-sha512$1212$RHY0Fr3IDMSVO/RSZyb5ow$x", Scheme::PasslibPbkdf2Sha512),
            ("pbkdf2_sha256$600000$seasalt2$OSllgFdJjYQjb0RfMzrx8u0XYl4Fkt+wKpI1yq4lZlo=", Scheme::DjangoPbkdf2Sha256),
            ("pbkdf2_sha1$600000$seasalt2$2CLsaL1MZhq6JOG6QOHtVbiopHE=", Scheme::DjangoPbkdf2Sha1),
            ("{PKCS5S2}c4xaeTQM0lUieMS3V5voiexyX9XhqC2dBd5ecVy60IPksHChwoTAVYFrhsgoq8/p", Scheme::AtlassianPbkdf2Sha1),
            ("{pkcs5s2}c4xaeTQM0lUieMS3V5voiexyX9XhqC2dBd5ecVy60IPksHChwoTAVYFrhsgoq8/p", Scheme::AtlassianPbkdf2Sha1),
            ("grub.pbkdf2.sha512.10000.AB.CD", Scheme::GrubPbkdf2Sha512),
            ("{PBKDF2}1212$OB.dtnSEXZK8U5cgxU/GYQ$y5LKPOplRmok7CZp/aqVDVg8zGI", Scheme::LdapPbkdf2Sha1),
            ("{PBKDF2-SHA1}1212$x$y", Scheme::LdapPbkdf2Sha1),
            ("{pbkdf2-sha256}1212$x$y", Scheme::LdapPbkdf2Sha256),
            ("{PBKDF2-SHA512}1212$x$y", Scheme::LdapPbkdf2Sha512),
            ("$p5k2$1$$h1TDLGSw9ST8UMAPeIE13i0t12c=", Scheme::CtaPbkdf2Sha1),
            ("$p5k2$$exec$r1EWMCMk7Rlv3L/RNcFXviDefYa0hlql", Scheme::DlitzPbkdf2Sha1),
        ] {
            assert_eq!(super::super::detect(stored), Some(scheme), "{stored}");
        }
    }
}
