//! Microsoft SQL Server login hashes (`sys.sql_logins.password_hash`, shown
//! as a `0x…` hex literal): 2000 (`0x0100` + 4-byte salt + SHA1(UTF-16LE
//! password ‖ salt) + SHA1(UTF-16LE UPPER(password) ‖ salt)), 2005
//! (`0x0100` + salt + the first SHA-1 only) and 2012+ (`0x0200` + salt +
//! SHA-512). For 2000 only the upper-case half is checked, as passlib (the
//! corpus reference) and hashcat do, so that check is case-insensitive.

use super::digest::Algorithm;
use super::encoding::{ct_eq, hex};
use super::{Family, HashError, Param, Result, Scheme, Verdict};

const SALT_LEN: usize = 4;

/// Decoded material of an MSSQL login hash.
pub(crate) struct MssqlHash {
    /// SHA-1 (2000, 2005) or SHA-512 (2012+).
    algorithm: Algorithm,
    /// Whether the password is upper-cased first (2000's checked half).
    upper_case: bool,
    salt: [u8; SALT_LEN],
    /// The digest that is compared.
    digest: Vec<u8>,
}

/// Byte length of each version's value: header, salt, digest(s).
fn layout(scheme: Scheme) -> Option<([u8; 2], usize)> {
    Some(match scheme {
        Scheme::Mssql2000 => ([0x01, 0x00], 2 + SALT_LEN + 40),
        Scheme::Mssql2005 => ([0x01, 0x00], 2 + SALT_LEN + 20),
        Scheme::Mssql2012 => ([0x02, 0x00], 2 + SALT_LEN + 64),
        _ => return None,
    })
}

/// Recognises `0x0100…` (2000 or 2005 by length) and `0x0200…` (2012+).
pub(crate) fn detect(stored: &str) -> Option<Scheme> {
    let digits = stored
        .strip_prefix("0x")
        .or_else(|| stored.strip_prefix("0X"))?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let version = digits.get(..4)?;
    match (version, digits.len()) {
        ("0100", 92) => Some(Scheme::Mssql2000),
        ("0100", 52) => Some(Scheme::Mssql2005),
        ("0200", 140) => Some(Scheme::Mssql2012),
        _ => None,
    }
}

/// Parses an MSSQL value as `scheme`; the `0x` prefix is optional.
pub(crate) fn parse(scheme: Scheme, stored: &str) -> Result<MssqlHash> {
    let name = scheme.as_str();
    let (header, len) = layout(scheme).ok_or_else(|| HashError::Unsupported {
        scheme: name,
        reason: "not an MSSQL scheme".into(),
    })?;
    let s = stored.trim();
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    let bytes = hex(digits).ok_or_else(|| HashError::malformed(name, "value is not hex"))?;
    if bytes.get(..2) != Some(&header[..]) {
        return Err(HashError::malformed(
            name,
            format!(
                "expected the 0x{:02X}{:02X} version header",
                header[0], header[1]
            ),
        ));
    }
    if bytes.len() != len {
        return Err(HashError::malformed(
            name,
            format!("value is {} bytes, expected {len}", bytes.len()),
        ));
    }
    let mut salt = [0u8; SALT_LEN];
    salt.copy_from_slice(&bytes[2..2 + SALT_LEN]);
    let body = &bytes[2 + SALT_LEN..];
    let (algorithm, upper_case, digest) = match scheme {
        // The second SHA-1 is over the upper-cased password.
        Scheme::Mssql2000 => (Algorithm::Sha1, true, body[20..].to_vec()),
        Scheme::Mssql2005 => (Algorithm::Sha1, false, body.to_vec()),
        _ => (Algorithm::Sha512, false, body.to_vec()),
    };
    Ok(MssqlHash {
        algorithm,
        upper_case,
        salt,
        digest,
    })
}

/// UTF-16LE bytes of the password (as `nvarchar`).
fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

impl Family for MssqlHash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        let text = String::from_utf8_lossy(password);
        let text = if self.upper_case {
            text.to_uppercase()
        } else {
            text.into_owned()
        };
        let computed = self.algorithm.digest(&[&utf16le(&text), &self.salt]);
        Ok(Verdict::from_bool(ct_eq(&computed, &self.digest)))
    }

    fn params(&self) -> Vec<Param> {
        let mut out = vec![
            ("salt_bytes", SALT_LEN.to_string()),
            ("digest_bytes", self.digest.len().to_string()),
        ];
        if self.upper_case {
            out.push(("case", "insensitive (upper-cased half)".to_owned()));
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn verify(stored: &str, pw: &str) -> Verdict {
        let scheme = detect(stored).unwrap();
        parse(scheme, stored)
            .and_then(|h| h.verify(pw.as_bytes()))
            .unwrap()
    }

    // hashcat `--example-hashes` (password "hashcat"): modes 131 (2000; the
    // mixed-case half is zeroed, so only the upper-case half can match),
    // 132 (2005) and 1731 (2012/2014).
    #[test]
    fn hashcat_examples() {
        let v2000 = "0x01002702560500000000000000000000000000000000000000008db43dd9b1972a636ad0c7d4b8c515cb8ce46578";
        let v2005 = "0x010018102152f8f28c8499d8ef263c53f8be369d799f931b2fbe";
        let v2012 = "0x02000102030434ea1b17802fd95ea6316bd61d2c94622ca3812793e8fb1672487b5c904a45a31b2ab4a78890d563d2fcf5663e46fe797d71550494be50cf4915d3f4d55ec375";
        assert_eq!(detect(v2000), Some(Scheme::Mssql2000));
        assert_eq!(detect(v2005), Some(Scheme::Mssql2005));
        assert_eq!(detect(v2012), Some(Scheme::Mssql2012));
        assert_eq!(verify(v2000, "hashcat"), Verdict::Match);
        assert_eq!(verify(v2000, "HashCat"), Verdict::Match);
        assert_eq!(verify(v2000, "hashcats"), Verdict::Mismatch);
        assert_eq!(verify(v2005, "hashcat"), Verdict::Match);
        assert_eq!(verify(v2005, "Hashcat"), Verdict::Mismatch);
        assert_eq!(verify(v2012, "hashcat"), Verdict::Match);
        assert_eq!(verify(v2012, "hashcaT"), Verdict::Mismatch);
    }

    // Metasploit documentation (jtr_mssql_fast test data): mssql05_toto is
    // 0x01004086CEB6BF932BC4151A1AF1F13CD17301D70816A8886908, password "toto".
    #[test]
    fn metasploit_2005_vector_without_prefix() {
        let h = parse(
            Scheme::Mssql2005,
            "01004086CEB6BF932BC4151A1AF1F13CD17301D70816A8886908",
        )
        .unwrap();
        assert_eq!(h.verify(b"toto").unwrap(), Verdict::Match);
        assert_eq!(h.verify(b"TOTO").unwrap(), Verdict::Mismatch);
    }

    #[test]
    fn malformed_values() {
        let v2005 = "0x010018102152f8f28c8499d8ef263c53f8be369d799f931b2fbe";
        assert!(parse(Scheme::Mssql2000, v2005).is_err());
        assert!(parse(Scheme::Mssql2012, v2005).is_err());
        assert!(parse(Scheme::Mssql2005, "0x0100zz").is_err());
        assert!(parse(Scheme::Mssql2005, &v2005[..50]).is_err());
        assert_eq!(detect("0x0100abc"), None);
        let err = parse(Scheme::Mssql2000, v2005).err().unwrap().to_string();
        assert!(!err.contains("18102152"), "{err}");
    }
}
