//! Windows NT hash: MD4 of the UTF-16LE password. `nthash` is the bare
//! 32-hex digest (not self-describing; `params.encoding` may say base64);
//! `nthash_3` is FreeBSD's crypt(3) framing `$3$$hex`, which libxcrypt (the
//! reference for that form) computes over each UTF-8 *byte* widened to 16
//! bits, so it equals the NT hash only for ASCII passwords.

use md4::{Digest, Md4};

use super::digest::decode_digest;
use super::encoding::{ct_eq, hex};
use super::{Family, HashError, Hints, Param, Result, Scheme, Verdict};

/// Decoded material of an NT hash.
pub(crate) struct NtHash {
    /// `$3$` framing: bytes are widened instead of UTF-16 encoded.
    widen_bytes: bool,
    digest: Vec<u8>,
}

/// Parses an NT hash as `scheme`.
pub(crate) fn parse(scheme: Scheme, stored: &str, hints: &Hints) -> Result<NtHash> {
    let name = scheme.as_str();
    let stored = stored.trim();
    match scheme {
        Scheme::Nthash => Ok(NtHash {
            widen_bytes: false,
            digest: decode_digest(name, stored, hints.param("encoding"), 16)?,
        }),
        Scheme::Nthash3 => {
            let rest = stored
                .strip_prefix("$3$")
                .ok_or_else(|| HashError::malformed(name, "expected the $3$ prefix"))?;
            // libxcrypt writes `$3$$hex`; anything up to the last '$' is an unused salt field.
            let digits = rest.rsplit_once('$').map_or(rest, |(_, d)| d);
            let digest = hex(digits)
                .filter(|d| d.len() == 16)
                .ok_or_else(|| HashError::malformed(name, "expected 32 hex digits"))?;
            Ok(NtHash {
                widen_bytes: true,
                digest,
            })
        }
        other => Err(HashError::Unsupported {
            scheme: other.as_str(),
            reason: "not an NT hash scheme".into(),
        }),
    }
}

impl Family for NtHash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        let input: Vec<u8> = if self.widen_bytes {
            password.iter().flat_map(|&b| [b, 0]).collect()
        } else {
            String::from_utf8_lossy(password)
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect()
        };
        Ok(Verdict::from_bool(ct_eq(
            &Md4::digest(&input),
            &self.digest,
        )))
    }

    fn params(&self) -> Vec<Param> {
        vec![("digest_bytes", self.digest.len().to_string())]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::hash::detect;

    fn verify(scheme: Scheme, stored: &str, pw: &str) -> Verdict {
        parse(scheme, stored, &Hints::default())
            .and_then(|h| h.verify(pw.as_bytes()))
            .unwrap()
    }

    // Metasploit "hashes and password cracking" documentation: the NTLM hash of
    // "password" is 8846F7EAEE8FB117AD06BDD830B7586C; the empty password's
    // NT hash is 31d6cfe0d16ae931b73c59d7e0c089c0 (MS-NLMP, `NTOWFv1("")`).
    #[test]
    fn published_nt_hashes() {
        let pw = "8846F7EAEE8FB117AD06BDD830B7586C";
        assert_eq!(verify(Scheme::Nthash, pw, "password"), Verdict::Match);
        assert_eq!(verify(Scheme::Nthash, pw, "Password"), Verdict::Mismatch);
        let empty = "31d6cfe0d16ae931b73c59d7e0c089c0";
        assert_eq!(verify(Scheme::Nthash, empty, ""), Verdict::Match);
        assert_eq!(verify(Scheme::Nthash, empty, " "), Verdict::Mismatch);
        assert_eq!(detect(pw), None);
    }

    // The same digest in FreeBSD/libxcrypt framing.
    #[test]
    fn dollar3_framing() {
        let stored = "$3$$8846f7eaee8fb117ad06bdd830b7586c";
        assert_eq!(detect(stored), Some(Scheme::Nthash3));
        assert_eq!(verify(Scheme::Nthash3, stored, "password"), Verdict::Match);
        assert_eq!(
            verify(Scheme::Nthash3, stored, "passwore"),
            Verdict::Mismatch
        );
    }

    // Non-ASCII: the `$3$` form widens UTF-8 bytes, the NT hash encodes
    // UTF-16, so the same digest cannot satisfy both.
    #[test]
    fn dollar3_widens_bytes_not_utf16() {
        let utf16 = Md4::digest(
            "é".encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<_>>(),
        );
        let hexed = ::hex::encode(utf16);
        assert_eq!(verify(Scheme::Nthash, &hexed, "é"), Verdict::Match);
        let framed = format!("$3$${hexed}");
        assert_eq!(verify(Scheme::Nthash3, &framed, "é"), Verdict::Mismatch);
    }

    #[test]
    fn malformed_values() {
        let none = Hints::default();
        assert!(parse(Scheme::Nthash, "8846F7EAEE8FB117AD06BDD830B7586", &none).is_err());
        assert!(parse(Scheme::Nthash3, "$3$$8846f7", &none).is_err());
        assert!(parse(Scheme::Nthash3, "8846f7eaee8fb117ad06bdd830b7586c", &none).is_err());
    }
}
