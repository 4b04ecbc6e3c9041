//! Cisco legacy password formats, none self-describing:
//! - `cisco_type7`: IOS "type 7", a reversible XOR encoding (two decimal
//!   digits of key offset, then hex). Decoded at parse time and compared in
//!   constant time.
//! - `cisco_pix` / `cisco_asa`: PIX/ASA "encrypted" MD5, following passlib
//!   (the corpus reference, its behaviour confirmed on ASA 9.6): the first
//!   four bytes of the username (repeated if shorter; omitted for enable
//!   passwords and, on ASA, for passwords of 28+ bytes) are appended, the
//!   result is NUL-padded or cut to 16 bytes (ASA: 32 when longer than 16),
//!   MD5'd, every fourth byte dropped and the 12 bytes hash64-encoded.
//!   Passwords longer than 16 (PIX) / 32 (ASA) bytes never verify.

use md5::{Digest, Md5};
use zeroize::Zeroizing;

use super::encoding::{ct_eq, h64_encode, hex, CRYPT_ALPHABET};
use super::{Family, HashError, Hints, Param, Result, Scheme, Verdict};

/// The type 7 key stream (a well-known constant of IOS).
const TYPE7_KEY: &[u8] = b"dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87";
/// Highest key offset passlib accepts.
const TYPE7_MAX_OFFSET: usize = 52;

/// Decoded material of a Cisco password.
pub(crate) enum CiscoHash {
    /// Type 7: the decoded plaintext (zeroised on drop).
    Type7(Zeroizing<Vec<u8>>),
    /// PIX or ASA MD5.
    PixAsa {
        /// ASA rules (32-byte limit and padding).
        asa: bool,
        /// Username bytes, empty for an enable password.
        user: Vec<u8>,
        /// The 16 stored characters.
        checksum: Vec<u8>,
    },
}

/// Parses a Cisco value as `scheme`; PIX/ASA take the username from hints.
pub(crate) fn parse(scheme: Scheme, stored: &str, hints: &Hints) -> Result<CiscoHash> {
    let name = scheme.as_str();
    let s = stored.trim();
    match scheme {
        Scheme::CiscoType7 => {
            let bad = || {
                HashError::malformed(
                    name,
                    "expected two decimal digits (offset 0-52) followed by hex",
                )
            };
            let (offset, body) = (s.get(..2).ok_or_else(bad)?, s.get(2..).ok_or_else(bad)?);
            if !offset.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let offset: usize = offset.parse().map_err(|_| bad())?;
            if offset > TYPE7_MAX_OFFSET {
                return Err(bad());
            }
            let cipher = hex(body).ok_or_else(bad)?;
            let plain: Vec<u8> = cipher
                .iter()
                .enumerate()
                .map(|(i, c)| c ^ TYPE7_KEY[(offset + i) % TYPE7_KEY.len()])
                .collect();
            Ok(CiscoHash::Type7(Zeroizing::new(plain)))
        }
        Scheme::CiscoPix | Scheme::CiscoAsa => {
            if s.len() != 16 || !s.bytes().all(|b| CRYPT_ALPHABET.contains(&b)) {
                return Err(HashError::malformed(
                    name,
                    "expected 16 characters of the crypt alphabet",
                ));
            }
            let user = hints
                .username
                .as_deref()
                .or_else(|| hints.param("username"))
                .unwrap_or_default();
            Ok(CiscoHash::PixAsa {
                asa: scheme == Scheme::CiscoAsa,
                user: user.as_bytes().to_vec(),
                checksum: s.as_bytes().to_vec(),
            })
        }
        other => Err(HashError::Unsupported {
            scheme: other.as_str(),
            reason: "not a Cisco scheme".into(),
        }),
    }
}

/// The PIX/ASA checksum of `password`, or `None` when it is over the limit.
fn pix_asa(password: &[u8], user: &[u8], asa: bool) -> Option<String> {
    let limit = if asa { 32 } else { 16 };
    if password.len() > limit {
        return None;
    }
    let mut secret = Zeroizing::new(password.to_vec());
    if !user.is_empty() && (!asa || password.len() < 28) {
        secret.extend(user.iter().cycle().take(4));
    }
    let pad = if asa && secret.len() > 16 { 32 } else { 16 };
    secret.resize(pad, 0);
    let digest = Md5::digest(secret.as_slice());
    let kept: Vec<u8> = digest
        .iter()
        .enumerate()
        .filter(|(i, _)| (i + 1) % 4 != 0)
        .map(|(_, b)| *b)
        .collect();
    Some(h64_encode(&kept))
}

impl Family for CiscoHash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        let ok = match self {
            Self::Type7(plain) => ct_eq(password, plain),
            Self::PixAsa {
                asa,
                user,
                checksum,
            } => pix_asa(password, user, *asa).is_some_and(|c| ct_eq(c.as_bytes(), checksum)),
        };
        Ok(Verdict::from_bool(ok))
    }

    fn params(&self) -> Vec<Param> {
        match self {
            Self::Type7(_) => vec![("reversible", "yes (XOR encoding)".to_owned())],
            Self::PixAsa { user, .. } => vec![(
                "username",
                if user.is_empty() { "none" } else { "salted" }.to_owned(),
            )],
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn verify(scheme: Scheme, stored: &str, user: &str, pw: &str) -> Verdict {
        let hints = Hints::default().with_username(user);
        parse(scheme, stored, &hints)
            .and_then(|h| h.verify(pw.as_bytes()))
            .unwrap()
    }

    // Type 7 vectors collected in passlib's test suite (test_handlers_cisco.py):
    // insecure.org, ioshints and packetlife examples.
    #[test]
    fn type7_published_vectors() {
        let t7 = Scheme::CiscoType7;
        let lunch = "153B1F1F443E22292D73212D5300194315591954465A0D0B59";
        assert_eq!(
            verify(t7, lunch, "", "Its time to go to lunch!"),
            Verdict::Match
        );
        assert_eq!(
            verify(t7, lunch, "", "Its time to go to lunch"),
            Verdict::Mismatch
        );
        assert_eq!(
            verify(t7, "08351F1B1D431516475E1B54382F", "", "t35t:pa55w0rd"),
            Verdict::Match
        );
        assert_eq!(
            verify(t7, "060506324F41584B56", "", "cisco123"),
            Verdict::Match
        );
        assert_eq!(
            verify(t7, "1511021f07257a767b", "", "cisco123"),
            Verdict::Match
        );
        assert_eq!(
            verify(t7, "04480E051A33490E", "", "secure "),
            Verdict::Match
        );
        assert_eq!(
            verify(t7, "04480E051A33490E", "", "secure"),
            Verdict::Mismatch
        );
    }

    #[test]
    fn type7_rejects_bad_offsets() {
        let none = Hints::default();
        // passlib's known_unidentified_hashes: hex offset, offset > 52.
        assert!(parse(Scheme::CiscoType7, "0A480E051A33490E", &none).is_err());
        assert!(parse(Scheme::CiscoType7, "99400E4812", &none).is_err());
        assert!(parse(Scheme::CiscoType7, "0", &none).is_err());
        assert!(parse(Scheme::CiscoType7, "04480E051A33490", &none).is_err());
    }

    // Cisco PIX 5.0 command reference (via passlib's tests): "enable password"
    // examples, and john-the-ripper sample hashes with usernames.
    #[test]
    fn pix_published_vectors() {
        let pix = Scheme::CiscoPix;
        assert_eq!(verify(pix, "2KFQnbNIdI.2KYOU", "", "cisco"), Verdict::Match);
        assert_eq!(
            verify(pix, "feCkwUGktTCAgIbD", "", "1234567890123456"),
            Verdict::Match
        );
        assert_eq!(
            verify(pix, "jMorNbK0514fadBh", "", "watag00s1am"),
            Verdict::Match
        );
        assert_eq!(
            verify(pix, "hN7LzeyYjw12FSIU", "john", "cisco"),
            Verdict::Match
        );
        assert_eq!(
            verify(pix, "hN7LzeyYjw12FSIU", "", "cisco"),
            Verdict::Mismatch
        );
        assert_eq!(
            verify(pix, "zyIIMSYjiPm0L7a6", "rharris", "phonehome"),
            Verdict::Match
        );
        // 14-byte password + user cut back to 16 bytes (passlib PIX reference).
        assert_eq!(
            verify(pix, "WfO2UiTapPkF/FSn", "user", "0123456789abcd"),
            Verdict::Match
        );
        // Over 16 bytes never verifies on PIX.
        assert_eq!(
            verify(pix, "feCkwUGktTCAgIbD", "", "1234567890123456x"),
            Verdict::Mismatch
        );
    }

    // passlib's ASA reference vectors, "confirmed ASA 9.6".
    #[test]
    fn asa_confirmed_vectors() {
        let asa = Scheme::CiscoAsa;
        assert_eq!(
            verify(asa, "rrucwrcM0h25pr.m", "user", "0123456789abcd"),
            Verdict::Match
        );
        assert_eq!(
            verify(asa, "rrucwrcM0h25pr.m", "user1234", "0123456789abcd"),
            Verdict::Match
        );
        assert_eq!(
            verify(asa, "dfWs2qiao6KD/P2L", "adm", "01234567"),
            Verdict::Match
        );
        assert_eq!(
            verify(asa, "/dwqyD7nGdwSrDwk", "user", "0123456789abcdefq"),
            Verdict::Match
        );
        // 28+ bytes: the username is no longer appended.
        assert_eq!(
            verify(
                asa,
                "W6nbOddI0SutTK7m",
                "user",
                "0123456789abcdefqwertyuiopas"
            ),
            Verdict::Match
        );
        assert_eq!(
            verify(
                asa,
                "5hPT/iC6DnoBxo6a",
                "",
                "0123456789abcdefqwertyuiopasdfgh"
            ),
            Verdict::Match
        );
        assert_eq!(
            verify(
                asa,
                "5hPT/iC6DnoBxo6a",
                "",
                "0123456789abcdefqwertyuiopasdfghj"
            ),
            Verdict::Mismatch
        );
    }

    #[test]
    fn pix_malformed() {
        let none = Hints::default();
        assert!(parse(Scheme::CiscoPix, "2KFQnbNIdI.2KYO", &none).is_err());
        assert!(parse(Scheme::CiscoAsa, "2KFQnbNIdI.2KYO!", &none).is_err());
    }
}
