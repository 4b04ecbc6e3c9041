//! The Portable PHP password hashing framework ("phpass") and Drupal 7's
//! extension of it: `$P$` (WordPress before 6.8) and `$H$` (phpBB) iterate
//! MD5, Drupal 7's `$S$` iterates SHA-512 and keeps 55 characters. Drupal's
//! `U$` prefix marks a Drupal 6 MD5 hash that was upgraded in place: the
//! password is MD5-hexed before the usual computation. No crate covers this
//! framing; the hashes are the `md-5` and `sha2` crates'.

use md5::Md5;
use sha2::{Digest, Sha512};

use super::encoding::{ct_eq, h64_encode, h64_value};
use super::{Family, HashError, Limits, Param, Result, Scheme, Verdict};

/// phpass refuses counts outside 2^7..=2^30.
const MIN_LOG2: u32 = 7;
const MAX_LOG2: u32 = 30;
/// Drupal keeps this many characters of a `$S$` hash (`DRUPAL_HASH_LENGTH`).
const DRUPAL_HASH_LENGTH: usize = 55;
/// `$X$` + count character + 8 salt characters.
const SETTING_LENGTH: usize = 12;

/// Decoded material of a phpass or Drupal 7 hash.
pub(crate) struct PhpassHash {
    sha512: bool,
    /// Drupal's `U$`: the stored hash is over MD5(password) in hex.
    md5_prehash: bool,
    log2: u32,
    salt: Vec<u8>,
    /// The checksum characters as stored (compared as text: Drupal truncates
    /// the encoding mid-group, so it does not decode to whole bytes).
    checksum: Vec<u8>,
}

/// Parses `[U]$P$…`, `[U]$H$…` or `[U]$S$…`.
pub(crate) fn parse(scheme: Scheme, stored: &str, limits: &Limits) -> Result<PhpassHash> {
    let name = scheme.as_str();
    let (ident, sha512, checksum_len) = match scheme {
        Scheme::PhpassP => ("$P$", false, 22),
        Scheme::PhpassH => ("$H$", false, 22),
        Scheme::Drupal7Sha512 => ("$S$", true, DRUPAL_HASH_LENGTH - SETTING_LENGTH),
        _ => {
            return Err(HashError::Unsupported {
                scheme: name,
                reason: "not a phpass scheme".into(),
            })
        }
    };
    let (md5_prehash, body) = match stored.strip_prefix('U') {
        Some(rest) => (true, rest),
        None => (false, stored),
    };
    let rest = body
        .strip_prefix(ident)
        .ok_or_else(|| HashError::malformed(name, format!("expected the `{ident}` prefix")))?;
    if rest.len() != 1 + 8 + checksum_len || !rest.is_ascii() {
        return Err(HashError::malformed(
            name,
            format!(
                "expected {} characters after the prefix",
                1 + 8 + checksum_len
            ),
        ));
    }
    let bytes = rest.as_bytes();
    let log2 =
        h64_value(bytes[0]).ok_or_else(|| HashError::malformed(name, "bad count character"))?;
    if !(MIN_LOG2..=MAX_LOG2).contains(&log2) {
        return Err(HashError::malformed(
            name,
            format!("log2 count {log2} is outside {MIN_LOG2}..={MAX_LOG2}"),
        ));
    }
    Limits::check(
        name,
        "phpass_log2",
        u64::from(log2),
        u64::from(limits.phpass_log2),
    )?;
    let checksum = &bytes[9..];
    if checksum.iter().any(|c| h64_value(*c).is_none()) {
        return Err(HashError::malformed(name, "checksum is not crypt Base64"));
    }
    Ok(PhpassHash {
        sha512,
        md5_prehash,
        log2,
        salt: bytes[1..9].to_vec(),
        checksum: checksum.to_vec(),
    })
}

fn iterate<D: Digest>(salt: &[u8], password: &[u8], count: u64) -> Vec<u8> {
    let mut hash = D::new()
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    for _ in 0..count {
        hash = D::new()
            .chain_update(&hash)
            .chain_update(password)
            .finalize();
    }
    hash.to_vec()
}

impl Family for PhpassHash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        let prehashed;
        let password = if self.md5_prehash {
            prehashed = ::hex::encode(Md5::digest(password));
            prehashed.as_bytes()
        } else {
            password
        };
        let count = 1u64 << self.log2;
        let raw = if self.sha512 {
            iterate::<Sha512>(&self.salt, password, count)
        } else {
            iterate::<Md5>(&self.salt, password, count)
        };
        let encoded = h64_encode(&raw);
        let computed = encoded.as_bytes();
        let computed = &computed[..self.checksum.len().min(computed.len())];
        Ok(Verdict::from_bool(ct_eq(computed, &self.checksum)))
    }

    fn params(&self) -> Vec<Param> {
        let mut out = vec![
            (
                "hash",
                if self.sha512 { "sha512" } else { "md5" }.to_owned(),
            ),
            ("rounds_log2", self.log2.to_string()),
        ];
        if self.md5_prehash {
            out.push(("prehash", "md5 (Drupal 6 upgrade)".to_owned()));
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn both(scheme: Scheme, stored: &str, good: &str, bad: &str) {
        let h = parse(scheme, stored, &Limits::default()).unwrap();
        crate::hash::testing::assert_match_and_mismatch(
            &h,
            good.as_bytes(),
            bad.as_bytes(),
            stored,
        );
    }

    // passlib `test_handlers.py` `phpass_test`: the first from the official
    // phpass 0.3 source, the others from John the Ripper 1.7.9.
    #[test]
    fn phpass_vectors() {
        both(
            Scheme::PhpassP,
            "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0",
            "test12345",
            "test1234",
        );
        both(
            Scheme::PhpassH,
            "$H$9aaaaaSXBjgypwqm.JsMssPLiS8YQ00",
            "test1",
            "test2",
        );
        both(
            Scheme::PhpassP,
            "$P$612345678si5M0DDyPpmRCmcltU/YW/",
            "JohnRipper",
            "johnripper",
        );
        both(
            Scheme::PhpassH,
            "$H$712345678WhEyvy1YWzT4647jzeOmo0",
            "JohnRipper",
            "JohnRipper ",
        );
        both(
            Scheme::PhpassP,
            "$P$7JaFQsPzJSuenezefD/3jHgt5hVfNH0",
            "",
            " ",
        );
    }

    // "admin1": the output of Drupal 7's own `scripts/password-hash.sh` as
    // quoted in a published walkthrough; "huan" and "Cookies1": a Java
    // Drupal-hasher port's test suite (both found with the search tool).
    #[test]
    fn drupal7_vectors() {
        both(
            Scheme::Drupal7Sha512,
            "$S$D2sypG2KL6EjTo08zxDCAx4D3lcAQx7Tk.hydYvH/hEDiNfo2AHS",
            "admin1",
            "admin2",
        );
        both(
            Scheme::Drupal7Sha512,
            "$S$DXZrp425p2VN9LXpDWxiBeqSZSPexyZNNPUo80fTTN2e/W15a97G",
            "huan",
            "Huan",
        );
        both(
            Scheme::Drupal7Sha512,
            "$S$Dr3Hm8Od9X0Ux/olZ.B8Uwh6./3E1l4nPfXebovKVvMB9zcmjkTn",
            "Cookies1",
            "Cookies",
        );
    }

    // Drupal 7 `user_check_password()`: a `U$` hash is the ordinary hash of
    // md5(password) in hex. No published vector exists, so this checks the
    // relation against the known "admin1" hash's construction instead.
    #[test]
    fn drupal_upgraded_md5_prehash() {
        let plain = parse(
            Scheme::Drupal7Sha512,
            "$S$D2sypG2KL6EjTo08zxDCAx4D3lcAQx7Tk.hydYvH/hEDiNfo2AHS",
            &Limits::default(),
        )
        .unwrap();
        let upgraded = parse(
            Scheme::Drupal7Sha512,
            "U$S$D2sypG2KL6EjTo08zxDCAx4D3lcAQx7Tk.hydYvH/hEDiNfo2AHS",
            &Limits::default(),
        )
        .unwrap();
        // The upgraded form no longer accepts the password itself...
        assert_eq!(upgraded.verify(b"admin1").unwrap(), Verdict::Mismatch);
        assert_eq!(plain.verify(b"admin1").unwrap(), Verdict::Match);
        assert!(upgraded
            .params()
            .iter()
            .any(|(k, v)| *k == "prehash" && v.contains("md5")));
    }

    #[test]
    fn malformed_and_cost_ceiling() {
        let limits = Limits::default();
        for bad in [
            "",
            "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L",
            "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r!L0",
            "$P$4IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0",
            "$H$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0",
        ] {
            assert!(
                matches!(
                    parse(Scheme::PhpassP, bad, &limits),
                    Err(HashError::Malformed { .. })
                ),
                "{bad}"
            );
        }
        let low = Limits {
            phpass_log2: 10,
            ..Limits::default()
        };
        assert!(matches!(
            parse(
                Scheme::Drupal7Sha512,
                "$S$D2sypG2KL6EjTo08zxDCAx4D3lcAQx7Tk.hydYvH/hEDiNfo2AHS",
                &low
            ),
            Err(HashError::CostTooHigh { value: 15, .. })
        ));
    }

    #[test]
    fn detect_recognises_this_family() {
        for (stored, scheme) in [
            ("$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0", Scheme::PhpassP),
            ("$H$9aaaaaSXBjgypwqm.JsMssPLiS8YQ00", Scheme::PhpassH),
            (
                "$S$D2sypG2KL6EjTo08zxDCAx4D3lcAQx7Tk.hydYvH/hEDiNfo2AHS",
                Scheme::Drupal7Sha512,
            ),
            (
                "U$S$D2sypG2KL6EjTo08zxDCAx4D3lcAQx7Tk.hydYvH/hEDiNfo2AHS",
                Scheme::Drupal7Sha512,
            ),
            ("U$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0", Scheme::PhpassP),
        ] {
            assert_eq!(super::super::detect(stored), Some(scheme), "{stored}");
        }
    }
}
