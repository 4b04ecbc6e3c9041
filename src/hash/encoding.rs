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

/// The crypt alphabet used by md5-crypt, sha-crypt, DES crypt, phpass and
/// passlib's `h64`.
pub(crate) const HASH64_ALPHABET: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Encodes bytes in the crypt "hash64" layout: little-endian 24-bit groups,
/// six bits per character, least significant first (passlib `h64.encode_bytes`).
/// A trailing group of one or two bytes gives two or three characters.
pub(crate) fn hash64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let mut v = 0u32;
        for (i, b) in chunk.iter().enumerate() {
            v |= u32::from(*b) << (8 * i);
        }
        for _ in 0..=chunk.len() {
            out.push(char::from(HASH64_ALPHABET[(v & 0x3f) as usize]));
            v >>= 6;
        }
    }
    out
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
    fn hash64_encodes_little_endian_groups() {
        // 0x000000 -> "....", one byte 0x01 -> "/." (passlib h64 layout).
        assert_eq!(hash64_encode(&[0, 0, 0]), "....");
        assert_eq!(hash64_encode(&[1]), "/.");
        assert_eq!(hash64_encode(&[0xff, 0xff]), "zzD");
        assert_eq!(hash64_encode(&[0xff; 3]), "zzzz");
    }
}
