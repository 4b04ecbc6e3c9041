//! Single-round digests that do not describe themselves: bare hex/Base64
//! digests (`hex_*`), salted digests (`salted_*`, salt in its own column) and
//! peppered HMACs (`hmac_*`). Their scheme always comes from config or a column.

use hmac::{KeyInit, Mac};
use md4::Md4;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use super::encoding::{ct_eq, TextEncoding};
use super::{
    Family, HashError, Hints, OktaDigest, OktaHash, Param, Result, SaltOrder, Scheme, Verdict,
};

/// Hash functions of this family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Md4,
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    /// Digest length in bytes.
    pub(crate) fn output_len(self) -> usize {
        match self {
            Self::Md4 | Self::Md5 => 16,
            Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// Hash of the concatenation of `parts`.
    pub(crate) fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut h = D::new();
            for p in parts {
                h.update(p);
            }
            h.finalize().to_vec()
        }
        match self {
            Self::Md4 => run::<Md4>(parts),
            Self::Md5 => run::<Md5>(parts),
            Self::Sha1 => run::<Sha1>(parts),
            Self::Sha224 => run::<Sha224>(parts),
            Self::Sha256 => run::<Sha256>(parts),
            Self::Sha384 => run::<Sha384>(parts),
            Self::Sha512 => run::<Sha512>(parts),
        }
    }

    /// Whether the hash of the concatenation of `parts` is `expected`
    /// (constant time). No heap allocation: a single-round digest takes
    /// about 70-270 ns here, and an allocation would add a fifth to that
    /// (docs/benchmarks.md).
    pub(crate) fn matches(self, parts: &[&[u8]], expected: &[u8]) -> bool {
        fn run<D: Digest>(parts: &[&[u8]], expected: &[u8]) -> bool {
            let mut h = D::new();
            for p in parts {
                h.update(p);
            }
            let out = h.finalize();
            ct_eq(&out[..], expected)
        }
        match self {
            Self::Md4 => run::<Md4>(parts, expected),
            Self::Md5 => run::<Md5>(parts, expected),
            Self::Sha1 => run::<Sha1>(parts, expected),
            Self::Sha224 => run::<Sha224>(parts, expected),
            Self::Sha256 => run::<Sha256>(parts, expected),
            Self::Sha384 => run::<Sha384>(parts, expected),
            Self::Sha512 => run::<Sha512>(parts, expected),
        }
    }

    /// HMAC with `key` over the concatenation of `parts`.
    pub(crate) fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
            // HMAC accepts keys of any length, so this cannot fail.
            let Ok(mut mac) = <M as KeyInit>::new_from_slice(key) else {
                return Vec::new();
            };
            for p in parts {
                mac.update(p);
            }
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Self::Md4 => run::<hmac::Hmac<Md4>>(key, parts),
            Self::Md5 => run::<hmac::Hmac<Md5>>(key, parts),
            Self::Sha1 => run::<hmac::Hmac<Sha1>>(key, parts),
            Self::Sha224 => run::<hmac::Hmac<Sha224>>(key, parts),
            Self::Sha256 => run::<hmac::Hmac<Sha256>>(key, parts),
            Self::Sha384 => run::<hmac::Hmac<Sha384>>(key, parts),
            Self::Sha512 => run::<hmac::Hmac<Sha512>>(key, parts),
        }
    }

    /// Okta's name for it, if Okta imports it.
    fn okta(self) -> Option<OktaDigest> {
        match self {
            Self::Md5 => Some(OktaDigest::Md5),
            Self::Sha1 => Some(OktaDigest::Sha1),
            Self::Sha256 => Some(OktaDigest::Sha256),
            Self::Sha512 => Some(OktaDigest::Sha512),
            Self::Md4 | Self::Sha224 | Self::Sha384 => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Construction {
    Plain,
    Salted(SaltOrder),
    Hmac,
}

/// Decoded material of a bare, salted or peppered digest.
pub(crate) struct DigestHash {
    algorithm: Algorithm,
    construction: Construction,
    /// Salt bytes (salted) or the pepper key (HMAC).
    key: Vec<u8>,
    digest: Vec<u8>,
}

fn algorithm_of(scheme: Scheme) -> Option<(Algorithm, u8)> {
    // The second field: 0 plain, 1 salted, 2 HMAC.
    Some(match scheme {
        Scheme::HexMd4 => (Algorithm::Md4, 0),
        Scheme::HexMd5 => (Algorithm::Md5, 0),
        Scheme::HexSha1 => (Algorithm::Sha1, 0),
        Scheme::HexSha224 => (Algorithm::Sha224, 0),
        Scheme::HexSha256 => (Algorithm::Sha256, 0),
        Scheme::HexSha384 => (Algorithm::Sha384, 0),
        Scheme::HexSha512 => (Algorithm::Sha512, 0),
        Scheme::SaltedMd5 => (Algorithm::Md5, 1),
        Scheme::SaltedSha1 => (Algorithm::Sha1, 1),
        Scheme::SaltedSha224 => (Algorithm::Sha224, 1),
        Scheme::SaltedSha256 => (Algorithm::Sha256, 1),
        Scheme::SaltedSha384 => (Algorithm::Sha384, 1),
        Scheme::SaltedSha512 => (Algorithm::Sha512, 1),
        Scheme::HmacMd5 => (Algorithm::Md5, 2),
        Scheme::HmacSha1 => (Algorithm::Sha1, 2),
        Scheme::HmacSha224 => (Algorithm::Sha224, 2),
        Scheme::HmacSha256 => (Algorithm::Sha256, 2),
        Scheme::HmacSha384 => (Algorithm::Sha384, 2),
        Scheme::HmacSha512 => (Algorithm::Sha512, 2),
        _ => return None,
    })
}

/// Decodes a digest written as hex or Base64. With no explicit `encoding`,
/// the length decides between hex and Base64 (their lengths never collide
/// for a known digest size).
pub(crate) fn decode_digest(
    scheme: &'static str,
    stored: &str,
    encoding: Option<&str>,
    len: usize,
) -> Result<Vec<u8>> {
    let stored = stored.trim();
    let encoding = match encoding {
        Some(name) => Some(TextEncoding::parse(name).ok_or_else(|| {
            HashError::malformed(scheme, format!("unknown encoding {name:?} (hex or base64)"))
        })?),
        None => None,
    };
    let bytes = match encoding {
        Some(enc) => enc.decode(stored),
        None if stored.len() == len * 2 => TextEncoding::Hex.decode(stored),
        None => TextEncoding::Base64.decode(stored),
    }
    .ok_or_else(|| HashError::malformed(scheme, "digest is not valid hex/Base64"))?;
    if bytes.len() != len {
        return Err(HashError::malformed(
            scheme,
            format!("digest is {} bytes, expected {len}", bytes.len()),
        ));
    }
    Ok(bytes)
}

/// Decodes a salt or key given in `hints` with its `*_encoding` (default UTF-8).
fn decode_with(
    scheme: &'static str,
    value: &str,
    encoding: Option<&str>,
    what: &str,
) -> Result<Vec<u8>> {
    let enc = match encoding {
        None => TextEncoding::Utf8,
        Some(name) => TextEncoding::parse(name).ok_or_else(|| {
            HashError::malformed(
                scheme,
                format!("unknown {what} encoding {name:?} (utf8, hex or base64)"),
            )
        })?,
    };
    enc.decode(value).ok_or_else(|| {
        HashError::malformed(scheme, format!("{what} is not valid for its encoding"))
    })
}

/// Parses a digest-family value.
pub(crate) fn parse(scheme: Scheme, stored: &str, hints: &Hints) -> Result<DigestHash> {
    let name = scheme.as_str();
    let (algorithm, kind) = algorithm_of(scheme).ok_or_else(|| HashError::Unsupported {
        scheme: name,
        reason: "not a digest scheme".into(),
    })?;
    let digest = decode_digest(
        name,
        stored,
        hints.param("encoding"),
        algorithm.output_len(),
    )?;
    let (construction, key) = match kind {
        0 => (Construction::Plain, Vec::new()),
        1 => {
            let salt = hints.salt.as_deref().ok_or(HashError::MissingHint {
                scheme: name,
                what: "a salt (salt column)",
            })?;
            let order = match hints.param("salt_position") {
                Some("prefix") => SaltOrder::Prefix,
                Some("suffix" | "postfix") => SaltOrder::Postfix,
                _ => {
                    return Err(HashError::MissingHint {
                        scheme: name,
                        what: "params.salt_position = prefix | suffix",
                    })
                }
            };
            let salt = decode_with(name, salt, hints.param("salt_encoding"), "salt")?;
            (Construction::Salted(order), salt)
        }
        _ => {
            let pepper = hints.param("pepper").ok_or(HashError::MissingHint {
                scheme: name,
                what: "params.pepper (the HMAC key)",
            })?;
            let key = decode_with(name, pepper, hints.param("pepper_encoding"), "pepper")?;
            (Construction::Hmac, key)
        }
    };
    Ok(DigestHash {
        algorithm,
        construction,
        key,
        digest,
    })
}

impl Family for DigestHash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        let a = self.algorithm;
        let ok = match self.construction {
            Construction::Plain => a.matches(&[password], &self.digest),
            Construction::Salted(SaltOrder::Prefix) => {
                a.matches(&[&self.key, password], &self.digest)
            }
            Construction::Salted(SaltOrder::Postfix) => {
                a.matches(&[password, &self.key], &self.digest)
            }
            Construction::Hmac => ct_eq(&a.hmac(&self.key, &[password]), &self.digest),
        };
        Ok(Verdict::from_bool(ok))
    }

    fn params(&self) -> Vec<Param> {
        let mut out = vec![("digest_bytes", self.digest.len().to_string())];
        match self.construction {
            Construction::Plain => {}
            Construction::Salted(order) => {
                out.push(("salt_bytes", self.key.len().to_string()));
                out.push((
                    "salt_position",
                    if order == SaltOrder::Prefix {
                        "prefix"
                    } else {
                        "suffix"
                    }
                    .to_owned(),
                ));
            }
            Construction::Hmac => out.push(("keyed", "pepper".to_owned())),
        }
        out
    }

    fn okta_native(&self) -> Option<OktaHash> {
        let algorithm = self.algorithm.okta()?;
        let (salt, salt_order) = match self.construction {
            Construction::Plain => (None, SaltOrder::Prefix),
            Construction::Salted(order) => (Some(self.key.clone()), order),
            Construction::Hmac => return None,
        };
        Some(OktaHash::Digest {
            algorithm,
            salt,
            salt_order,
            value: self.digest.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verify(scheme: Scheme, stored: &str, hints: &Hints, pw: &str) -> Verdict {
        match parse(scheme, stored, hints).and_then(|h| h.verify(pw.as_bytes())) {
            Ok(v) => v,
            Err(e) => unreachable!("{e}"),
        }
    }

    // RFC 1321 §A.5 and FIPS 180-2 appendix vectors for "abc".
    #[test]
    fn plain_digests_match_published_vectors() {
        let none = Hints::default();
        assert_eq!(
            verify(
                Scheme::HexMd5,
                "900150983cd24fb0d6963f7d28e17f72",
                &none,
                "abc"
            ),
            Verdict::Match
        );
        assert_eq!(
            verify(
                Scheme::HexMd5,
                "900150983CD24FB0D6963F7D28E17F72",
                &none,
                "abd"
            ),
            Verdict::Mismatch
        );
        assert_eq!(
            verify(
                Scheme::HexSha1,
                "a9993e364706816aba3e25717850c26c9cd0d89d",
                &none,
                "abc"
            ),
            Verdict::Match
        );
        assert_eq!(
            verify(
                Scheme::HexSha256,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                &none,
                "abc"
            ),
            Verdict::Match
        );
    }

    // Okta's own SHA-1 POSTFIX import example (docs/okta-hook-protocol.md §5.2).
    #[test]
    fn salted_digest_matches_okta_example() {
        let hints = Hints::default()
            .with_salt("UEO3wsAsgzQ=")
            .with_param("salt_encoding", "base64")
            .with_param("salt_position", "suffix")
            .with_param("encoding", "base64");
        let stored = "xjrauE6J6kbjcvMjWSSc+PsBBls=";
        assert_eq!(
            verify(Scheme::SaltedSha1, stored, &hints, "P@ssw0rd"),
            Verdict::Match
        );
        assert_eq!(
            verify(Scheme::SaltedSha1, stored, &hints, "P@ssw0rD"),
            Verdict::Mismatch
        );
    }

    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    #[test]
    fn hmac_matches_rfc4231() {
        let hints = Hints::default().with_param("pepper", "Jefe");
        let stored = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(
            verify(
                Scheme::HmacSha256,
                stored,
                &hints,
                "what do ya want for nothing?"
            ),
            Verdict::Match
        );
        assert_eq!(
            verify(Scheme::HmacSha256, stored, &hints, "what do ya want"),
            Verdict::Mismatch
        );
    }

    // RFC 1320 §A.5 MD4("abc"), and a libpass 1.9.4 `hex_md4.hash` of a
    // non-ASCII password (hashlib agrees).
    #[test]
    fn md4_digests() {
        let none = Hints::default();
        let s = Scheme::HexMd4;
        assert_eq!(
            verify(s, "a448017aaf21d8525fc10ae87aa6729d", &none, "abc"),
            Verdict::Match
        );
        assert_eq!(
            verify(s, "5ab5830589a10f9bd5ea674cfab76698", &none, "пароль-2024"),
            Verdict::Match
        );
        assert_eq!(
            verify(s, "5ab5830589a10f9bd5ea674cfab76698", &none, "ПАРОЛЬ-2024"),
            Verdict::Mismatch
        );
    }

    // RFC 4231 test case 2 for HMAC-SHA-224, and a Python 3.11.7 `hmac`
    // (OpenSSL 3.0) value with a hex pepper written in upper-case hex.
    #[test]
    fn hmac_sha224() {
        let jefe = Hints::default().with_param("pepper", "Jefe");
        let stored = "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44";
        assert_eq!(
            verify(
                Scheme::HmacSha224,
                stored,
                &jefe,
                "what do ya want for nothing?"
            ),
            Verdict::Match
        );
        let hints = Hints::default()
            .with_param("pepper", "280ba701c8e3d1a1038546da6055963c")
            .with_param("pepper_encoding", "hex")
            .with_param("encoding", "hex_upper");
        let stored = "27005E952498C4BBDD6104A479A6429687CB1D779DE91EEAE9AB2CEE";
        assert_eq!(
            verify(Scheme::HmacSha224, stored, &hints, "密碼✓abc"),
            Verdict::Match
        );
        assert_eq!(
            verify(Scheme::HmacSha224, stored, &hints, "密碼✓abc "),
            Verdict::Mismatch
        );
    }

    #[test]
    fn missing_hints_and_bad_values_are_errors() {
        let err = parse(
            Scheme::SaltedMd5,
            "900150983cd24fb0d6963f7d28e17f72",
            &Hints::default(),
        );
        assert!(matches!(err, Err(HashError::MissingHint { .. })));
        let err = parse(Scheme::HexSha1, "abc", &Hints::default());
        assert!(matches!(err, Err(HashError::Malformed { .. })));
    }
}
