//! Decoding helpers shared by the families: hex, the Base64 dialects, and the
//! constant-time comparison every digest check goes through.

use base64::alphabet::Alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use subtle::ConstantTimeEq;

/// Standard Base64 that accepts input with or without `=` padding.
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// URL-safe Base64, padding optional.
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Compares two byte strings in constant time (length leaks, content does not).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Decodes hex in either case.
pub(crate) fn hex(s: &str) -> Option<Vec<u8>> {
    ::hex::decode(s.trim()).ok()
}

/// Decodes standard Base64 (padding optional), falling back to the URL-safe alphabet.
pub(crate) fn b64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    STANDARD_LENIENT
        .decode(s)
        .ok()
        .or_else(|| URL_SAFE_LENIENT.decode(s).ok())
}

/// Encodes standard padded Base64 (what Okta's import API expects).
pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// passlib's "adapted Base64": standard alphabet with `.` for `+`, no padding.
pub(crate) fn ab64(s: &str) -> Option<Vec<u8>> {
    b64(&s.replace('.', "+"))
}

/// Decodes with a custom 64-character alphabet, no padding (for example the
/// crypt alphabet `./0-9A-Za-z` in big-endian bit order, as bcrypt uses).
pub(crate) fn b64_with_alphabet(s: &str, alphabet: &str) -> Option<Vec<u8>> {
    let alphabet = Alphabet::new(alphabet).ok()?;
    let engine = GeneralPurpose::new(
        &alphabet,
        GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    engine.decode(s.trim()).ok()
}

/// The crypt alphabet `./0-9A-Za-z`, shared by md5-crypt, sha-crypt, phpass,
/// DES crypt, scrypt `$7$` and yescrypt.
pub(crate) const CRYPT_ALPHABET: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The value (0..64) of one crypt-alphabet character.
pub(crate) fn h64_value(c: u8) -> Option<u32> {
    let v = match c {
        b'.' => 0,
        b'/' => 1,
        b'0'..=b'9' => c - b'0' + 2,
        b'A'..=b'Z' => c - b'A' + 12,
        b'a'..=b'z' => c - b'a' + 38,
        _ => return None,
    };
    Some(u32::from(v))
}

/// The crypt-alphabet character for the low six bits of `v`.
pub(crate) fn h64_char(v: u32) -> char {
    char::from(CRYPT_ALPHABET[(v & 0x3f) as usize])
}

/// Encodes bytes as crypt "hash64": each group of three bytes is read as a
/// little-endian 24-bit number and written as four characters, least
/// significant six bits first; a final group of one or two bytes gives two
/// or three characters.
pub(crate) fn h64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let mut v = 0u32;
        for (i, b) in chunk.iter().enumerate() {
            v |= u32::from(*b) << (8 * i);
        }
        for i in 0..=chunk.len() {
            out.push(h64_char(v >> (6 * i)));
        }
    }
    out
}

/// Decodes crypt "hash64" (the inverse of [`h64_encode`]). Fails on a
/// character outside the alphabet, a length of 1 mod 4, or unused high bits
/// set in the last character (a non-canonical encoding).
pub(crate) fn h64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut v = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            v |= h64_value(*c)? << (6 * i);
        }
        let n = chunk.len() - 1;
        if v >> (8 * n) != 0 {
            return None;
        }
        for i in 0..n {
            out.push((v >> (8 * i)) as u8);
        }
    }
    Some(out)
}

/// Reads a little-endian number written in crypt characters (least
/// significant six bits first), as BSDi, `$7$` and phpass store counts.
pub(crate) fn h64_int(s: &str) -> Option<u64> {
    if s.len() > 10 {
        return None;
    }
    let mut v = 0u64;
    for (i, c) in s.bytes().enumerate() {
        v |= u64::from(h64_value(c)?) << (6 * i);
    }
    Some(v)
}

/// Encodes with a custom 64-character alphabet in the usual big-endian bit
/// order, no padding (the inverse of [`b64_with_alphabet`]).
pub(crate) fn b64_encode_with_alphabet(bytes: &[u8], alphabet: &str) -> Option<String> {
    let alphabet = Alphabet::new(alphabet).ok()?;
    let engine = GeneralPurpose::new(
        &alphabet,
        GeneralPurposeConfig::new().with_encode_padding(false),
    );
    Some(engine.encode(bytes))
}

/// How a digest or salt string is encoded (`params.encoding`/`params.salt_encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextEncoding {
    /// Hex in any case (`hex`, `hex_upper`).
    Hex,
    /// Standard or URL-safe Base64.
    Base64,
    /// The UTF-8 bytes of the string itself.
    Utf8,
}

impl TextEncoding {
    /// Parses a `params` value.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "hex" | "hex_upper" | "hex_lower" => Some(Self::Hex),
            "base64" | "b64" => Some(Self::Base64),
            "utf8" | "utf-8" | "raw" | "text" => Some(Self::Utf8),
            _ => None,
        }
    }

    /// Decodes `s` in this encoding.
    pub(crate) fn decode(self, s: &str) -> Option<Vec<u8>> {
        match self {
            Self::Hex => hex(s),
            Self::Base64 => b64(s),
            Self::Utf8 => Some(s.as_bytes().to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ct_eq_distinguishes_content_and_length() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }

    #[test]
    fn base64_dialects_decode() {
        assert_eq!(b64("TXlTYWx0"), Some(b"MySalt".to_vec()));
        assert_eq!(b64("YQ"), Some(b"a".to_vec()));
        assert_eq!(b64("YQ=="), Some(b"a".to_vec()));
        assert_eq!(ab64("ttZ6j1Fqbc05J4SQcu6dkw").map(|v| v.len()), Some(16));
        assert_eq!(hex("DEADbeef"), Some(vec![0xde, 0xad, 0xbe, 0xef]));
        assert_eq!(hex("xyz"), None);
    }

    #[test]
    fn hash64_round_trips_and_rejects_bad_input() {
        // md5-crypt of "" with salt "" ends in a group of one byte (2 chars).
        for len in 0..10 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let enc = h64_encode(&bytes);
            assert_eq!(h64_decode(&enc), Some(bytes));
        }
        // "./" is 0 and 1: the lowest bits come first.
        assert_eq!(h64_int("/."), Some(1));
        assert_eq!(h64_int("./"), Some(64));
        assert_eq!(h64_decode("a"), None);
        assert_eq!(h64_decode("a!"), None);
        // Two characters carry one byte: the second may only hold two bits.
        assert_eq!(h64_decode("zz"), None);
    }

    #[test]
    fn h64_encodes_little_endian_groups() {
        // 0x000000 -> "....", one byte 0x01 -> "/." (passlib h64 layout).
        assert_eq!(h64_encode(&[0, 0, 0]), "....");
        assert_eq!(h64_encode(&[1]), "/.");
        assert_eq!(h64_encode(&[0xff, 0xff]), "zzD");
        assert_eq!(h64_encode(&[0xff; 3]), "zzzz");
    }
}
