//! DES-based crypt(3): the traditional 13-character form (2 salt characters,
//! 25 iterations, only the first 8 password bytes and 7 bits of each) and
//! BSDi's extended form `_CCCCSSSSHHHHHHHHHHH` (24-bit iteration count and
//! salt, whole password folded into the key).
//!
//! The `des` crate cannot apply crypt's salt (which swaps bits of the
//! E-expansion), so the cipher is implemented here from FIPS 46-3's tables;
//! the tests check it against the `des` crate with a zero salt.

use super::encoding::{ct_eq, h64_char, h64_int, h64_value};
use super::{Family, HashError, Limits, Param, Result, Scheme, Verdict};

/// FIPS 46-3 initial permutation (bit 1 is the most significant).
const IP: [u8; 64] = [
    58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6,
    64, 56, 48, 40, 32, 24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61,
    53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];

/// Permuted choice 1: the 56 key bits, C then D.
const PC1: [u8; 56] = [
    57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60,
    52, 44, 36, 63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29,
    21, 13, 5, 28, 20, 12, 4,
];

/// Permuted choice 2: the 48 bits of a round key from C‖D.
const PC2: [u8; 48] = [
    14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, 41, 52,
    31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];

/// Left rotations of C and D before each round.
const SHIFTS: [u32; 16] = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];

/// The permutation P applied to the S-box outputs.
const P: [u8; 32] = [
    16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19,
    13, 30, 6, 22, 11, 4, 25,
];

/// The eight S-boxes, row-major (row = outer bits, column = inner four).
const S: [[u8; 64]; 8] = [
    [
        14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12,
        11, 9, 5, 3, 8, 4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9,
        1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
    ],
    [
        15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1,
        10, 6, 9, 11, 5, 0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15,
        4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
    ],
    [
        10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5,
        14, 12, 11, 15, 1, 13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6,
        9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
    ],
    [
        7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2,
        12, 1, 10, 14, 9, 10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1,
        13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
    ],
    [
        2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15,
        10, 3, 9, 8, 6, 4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14,
        2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
    ],
    [
        12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13,
        14, 0, 11, 3, 8, 9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5,
        15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
    ],
    [
        4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5,
        12, 2, 15, 8, 6, 1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4,
        10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
    ],
    [
        13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6,
        11, 0, 14, 9, 2, 7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10,
        8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
    ],
];

/// Picks bits of `input` (`width` bits wide, bit 1 most significant) in
/// the order `table` lists them.
const fn permute(input: u64, width: u32, table: &[u8]) -> u64 {
    let mut out = 0u64;
    let mut i = 0;
    while i < table.len() {
        let bit = (input >> (width - table[i] as u32)) & 1;
        out = (out << 1) | bit;
        i += 1;
    }
    out
}

/// S-box and P combined: `SP[box][six input bits]` is the P-permuted
/// 32-bit contribution of that box.
const SP: [[u32; 64]; 8] = {
    let mut sp = [[0u32; 64]; 8];
    let mut b = 0;
    while b < 8 {
        let mut six = 0;
        while six < 64 {
            let row = ((six & 0x20) >> 4) | (six & 1);
            let col = (six >> 1) & 0xf;
            let nibble = S[b][row * 16 + col] as u64;
            let word = nibble << (28 - 4 * b);
            sp[b][six] = permute(word, 32, &P) as u32;
            six += 1;
        }
        b += 1;
    }
    sp
};

/// The 16 round keys (48 bits each) of a 64-bit DES key.
fn key_schedule(key: u64) -> [u64; 16] {
    let cd = permute(key, 64, &PC1);
    let mut c = (cd >> 28) as u32 & 0x0fff_ffff;
    let mut d = cd as u32 & 0x0fff_ffff;
    let mut keys = [0u64; 16];
    for (k, shift) in keys.iter_mut().zip(SHIFTS) {
        c = ((c << shift) | (c >> (28 - shift))) & 0x0fff_ffff;
        d = ((d << shift) | (d >> (28 - shift))) & 0x0fff_ffff;
        *k = permute((u64::from(c) << 28) | u64::from(d), 56, &PC2);
    }
    keys
}

/// The round function with crypt's salt: for every set bit `k` of the
/// 24-bit `salt_mask` (bit 23 = E-bit 0), E-bits `k` and `k + 24` swap.
fn feistel(r: u32, key: u64, salt_mask: u64) -> u32 {
    let rr = r.rotate_right(1);
    let mut e = 0u64;
    for j in 0..8 {
        e = (e << 6) | u64::from((rr.rotate_left(4 * j) >> 26) & 0x3f);
    }
    let swap = ((e >> 24) ^ e) & salt_mask;
    e ^= swap | (swap << 24);
    let x = e ^ key;
    let mut out = 0u32;
    for (b, table) in SP.iter().enumerate() {
        out |= table[((x >> (42 - 6 * b)) & 0x3f) as usize];
    }
    out
}

/// `count` chained DES encryptions of `block` under `keys` with `salt`.
fn des(block: u64, keys: &[u64; 16], salt: u32, count: u32) -> u64 {
    // crypt's salt bit k (LSB first) swaps E-bit k, which sits at bit 23 - k.
    let mut salt_mask = 0u64;
    for k in 0..24 {
        if salt >> k & 1 == 1 {
            salt_mask |= 1 << (23 - k);
        }
    }
    let ip = permute(block, 64, &IP);
    let (mut l, mut r) = ((ip >> 32) as u32, ip as u32);
    for _ in 0..count {
        for key in keys {
            let next = l ^ feistel(r, *key, salt_mask);
            l = r;
            r = next;
        }
        // The output block is R16‖L16; chaining feeds it straight back in.
        std::mem::swap(&mut l, &mut r);
    }
    let pre = (u64::from(l) << 32) | u64::from(r);
    // The final permutation is the inverse of IP.
    let mut out = 0u64;
    for (i, &src) in IP.iter().enumerate() {
        let bit = (pre >> (63 - i)) & 1;
        out |= bit << (64 - u32::from(src));
    }
    out
}

/// Crypt's key: 7 bits of each of 8 bytes, shifted up one place.
fn key_bytes(chunk: &[u8]) -> u64 {
    let mut key = 0u64;
    for i in 0..8 {
        let byte = chunk.get(i).copied().unwrap_or(0);
        key = (key << 8) | u64::from(byte << 1);
    }
    key
}

/// The 11 output characters of a 64-bit block: six bits at a time from
/// the top, the last character holding the final four bits and two zeros.
fn encode_block(block: u64) -> [u8; 11] {
    let wide = u128::from(block) << 2;
    let mut out = [0u8; 11];
    for (i, c) in out.iter_mut().enumerate() {
        *c = h64_char(((wide >> (60 - 6 * i)) & 0x3f) as u32) as u8;
    }
    out
}

/// The password as C sees it: up to the first NUL.
fn c_string(password: &[u8]) -> &[u8] {
    match password.iter().position(|b| *b == 0) {
        Some(end) => &password[..end],
        None => password,
    }
}

/// Decoded material of a DES-based crypt hash.
pub(crate) struct DesCryptHash {
    extended: bool,
    rounds: u32,
    salt: u32,
    checksum: [u8; 11],
}

fn checksum(name: &'static str, s: &str) -> Result<[u8; 11]> {
    let bytes: [u8; 11] = s
        .as_bytes()
        .try_into()
        .map_err(|_| HashError::malformed(name, "checksum must be 11 characters"))?;
    if bytes.iter().any(|c| h64_value(*c).is_none()) {
        return Err(HashError::malformed(name, "checksum is not crypt Base64"));
    }
    Ok(bytes)
}

/// Parses a traditional (13 characters) or BSDi (`_` + 19 characters) hash.
pub(crate) fn parse(scheme: Scheme, stored: &str, limits: &Limits) -> Result<DesCryptHash> {
    let name = scheme.as_str();
    if !stored.is_ascii() {
        return Err(HashError::malformed(name, "not crypt characters"));
    }
    match scheme {
        Scheme::DesCrypt => {
            if stored.len() != 13 {
                return Err(HashError::malformed(name, "must be 13 characters"));
            }
            let salt = h64_int(&stored[..2])
                .ok_or_else(|| HashError::malformed(name, "salt is not crypt Base64"))?;
            Ok(DesCryptHash {
                extended: false,
                rounds: 25,
                salt: salt as u32,
                checksum: checksum(name, &stored[2..])?,
            })
        }
        Scheme::BsdiCrypt => {
            let rest = stored
                .strip_prefix('_')
                .filter(|r| r.len() == 19)
                .ok_or_else(|| HashError::malformed(name, "expected `_` and 19 characters"))?;
            let rounds = h64_int(&rest[..4])
                .ok_or_else(|| HashError::malformed(name, "count is not crypt Base64"))?;
            let salt = h64_int(&rest[4..8])
                .ok_or_else(|| HashError::malformed(name, "salt is not crypt Base64"))?;
            if rounds == 0 {
                return Err(HashError::malformed(name, "iteration count is zero"));
            }
            Limits::check(name, "crypt_rounds", rounds, u64::from(limits.crypt_rounds))?;
            Ok(DesCryptHash {
                extended: true,
                rounds: rounds as u32,
                salt: salt as u32,
                checksum: checksum(name, &rest[8..])?,
            })
        }
        _ => Err(HashError::Unsupported {
            scheme: name,
            reason: "not a DES crypt scheme".into(),
        }),
    }
}

impl DesCryptHash {
    fn compute(&self, password: &[u8]) -> [u8; 11] {
        let password = c_string(password);
        let first = &password[..password.len().min(8)];
        let mut key = key_bytes(first);
        if self.extended {
            // Fold the rest in: encrypt the key with itself, XOR the next 8.
            for chunk in password[first.len()..].chunks(8) {
                let encrypted = des(key, &key_schedule(key), 0, 1);
                key = encrypted ^ key_bytes(chunk);
            }
        }
        encode_block(des(0, &key_schedule(key), self.salt, self.rounds))
    }
}

impl Family for DesCryptHash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        Ok(Verdict::from_bool(ct_eq(
            &self.compute(password),
            &self.checksum,
        )))
    }

    fn params(&self) -> Vec<Param> {
        let mut out = vec![("rounds", self.rounds.to_string())];
        if !self.extended {
            out.push(("significant_bytes", "8 (7 bits each)".to_owned()));
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use ::des::cipher::{Array, BlockCipherEncrypt, KeyInit};

    // With a zero salt and one iteration this is plain DES: compare with the
    // `des` crate on the FIPS 81 / "Now is the time for all " vector and a
    // spread of keys and blocks.
    #[test]
    fn unsalted_core_is_des() {
        let cases = [
            (
                0x0123_4567_89ab_cdefu64,
                0x4e6f_7720_6973_2074u64,
                0x3fa4_0e8a_984d_4815u64,
            ),
            (
                0x1334_5779_9bbc_dff1,
                0x0123_4567_89ab_cdef,
                0x85e8_1354_0f0a_b405,
            ),
        ];
        for (key, plain, cipher) in cases {
            assert_eq!(des(plain, &key_schedule(key), 0, 1), cipher);
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..64 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let key = x;
            let block = x.rotate_left(17) ^ 0xdead_beef;
            let cipher = ::des::Des::new(&Array(key.to_be_bytes()));
            let mut b = Array(block.to_be_bytes());
            cipher.encrypt_block(&mut b);
            assert_eq!(
                des(block, &key_schedule(key), 0, 1),
                u64::from_be_bytes(b.0)
            );
        }
    }

    fn both(scheme: Scheme, stored: &str, good: &str, bad: &str) {
        let h = parse(scheme, stored, &Limits::default()).unwrap();
        crate::hash::testing::assert_match_and_mismatch(
            &h,
            good.as_bytes(),
            bad.as_bytes(),
            stored,
        );
    }

    // passlib `test_handlers.py` `des_crypt_test`, the John the Ripper /
    // NetBSD `t_crypt.c` / libxcrypt table, and Apache httpd's "Password
    // Formats" page (`htpasswd -nbd myName myPassword`).
    #[test]
    fn traditional_vectors() {
        let s = Scheme::DesCrypt;
        both(s, "CCNf8Sbh3HDfQ", "U*U*U*U*", "U*U*U*U");
        both(s, "CCX.K.MFy4Ois", "U*U***U", "U*U***");
        both(s, "XXxzOu6maQKqQ", "*U*U*U*U", "*U*U*U*u");
        both(s, "SDbsugeBiC58A", "", " ");
        both(s, "./xZjzHv5vzVE", "password", "Password");
        both(s, "N1tQbOFcM5fpg", "test", "Test");
        both(
            s,
            "um.Wguz3eVCx2",
            "Compl3X AlphaNu3meric",
            "Compl3x AlphaNu3meric",
        );
        both(
            s,
            "sNYqfOyauIyic",
            "4lpHa N|_|M3r1K W/ Cur5Es: #$%(*)(*%#",
            "4lpHa n|_|M3r1K W/ Cur5Es: #$%(*)(*%#",
        );
        both(s, "cEpWz5IUCShqM", "AlOtBsOl", "AlOtBsOL");
        both(s, "rqXexS6ZhobKA", "myPassword", "myPasswOrd");
    }

    // Only the first 8 bytes count, and only 7 bits of each (libxcrypt's
    // table: "CC4rMpbg9AMZ." for "U*U***U*" and for the same bytes with the
    // top bit set, and with "ignored" appended).
    #[test]
    fn eight_bytes_seven_bits() {
        let h = parse(Scheme::DesCrypt, "CC4rMpbg9AMZ.", &Limits::default()).unwrap();
        assert_eq!(h.verify(b"U*U***U*").unwrap(), Verdict::Match);
        assert_eq!(
            h.verify(b"\xd5\xaa\xd5\xaa\xaa\xaa\xd5\xaa").unwrap(),
            Verdict::Match
        );
        assert_eq!(h.verify(b"U*U***U*ignored").unwrap(), Verdict::Match);
        assert_eq!(h.verify(b"U*U***U").unwrap(), Verdict::Mismatch);
    }

    // passlib `test_handlers.py` `bsdi_crypt_test` (John the Ripper 1.7.9,
    // also NetBSD's `t_crypt.c`), including passlib's check of the old
    // 12-bit rounds bug ("my").
    #[test]
    fn bsdi_vectors() {
        let s = Scheme::BsdiCrypt;
        both(s, "_J9..CCCCXBrJUJV154M", "U*U*U*U*", "U*U*U*U");
        both(s, "_J9..CCCCXUhOBTXzaiE", "U*U***U", "U*U***u");
        both(s, "_J9..CCCC4gQ.mB/PffM", "U*U***U*", "U*U***U");
        both(s, "_J9..XXXXvlzQGqpPPdk", "*U*U*U*U", "*U*U*U*u");
        both(s, "_J9..XXXXsqM/YSSP..Y", "*U*U*U*U*", "*U*U*U*U");
        both(
            s,
            "_J9..XXXXVL7qJCnku0I",
            "*U*U*U*U*U*U*U*U",
            "*U*U*U*U*U*U*U*u",
        );
        both(
            s,
            "_J9..XXXXAj8cFbP5scI",
            "*U*U*U*U*U*U*U*U*",
            "*U*U*U*U*U*U*U*U",
        );
        both(s, "_J9..SDizh.vll5VED9g", "ab1234567", "ab1234568");
        both(s, "_J9..SDizRjWQ/zePPHc", "cr1234567", "cr1234566");
        both(s, "_J9..SDizxmRI1GjnQuE", "zxyDPWgydbQjgq", "zxyDPWgydbQjg");
        both(s, "_K9..SaltNrQgIYUAeoY", "726 even", "726 odd");
        both(s, "_J9..SDSD5YGyRCr4W4c", "", " ");
        both(s, "_K1..crsmZxOLzfJH8iw", " ", "");
        both(s, "_KR/.crsmykRplHbAvwA", "my", "My");
    }

    #[test]
    fn malformed_and_cost_ceiling() {
        let limits = Limits::default();
        for (scheme, bad) in [
            (Scheme::DesCrypt, "c3oTYzwXKiQR"),
            (Scheme::DesCrypt, "c3oTYzwXKiQRo!"),
            (Scheme::DesCrypt, "!3oTYzwXKiQRo"),
            (Scheme::BsdiCrypt, "_J9..CCCCXBrJUJV154"),
            (Scheme::BsdiCrypt, "J9..CCCCXBrJUJV154MM"),
            (Scheme::BsdiCrypt, "_....CCCCXBrJUJV154M"),
        ] {
            assert!(
                matches!(
                    parse(scheme, bad, &limits),
                    Err(HashError::Malformed { .. })
                ),
                "{bad}"
            );
        }
        let low = Limits {
            crypt_rounds: 100,
            ..Limits::default()
        };
        assert!(matches!(
            parse(Scheme::BsdiCrypt, "_J9..CCCCXBrJUJV154M", &low),
            Err(HashError::CostTooHigh { value: 725, .. })
        ));
    }

    #[test]
    fn detect_recognises_this_family() {
        assert_eq!(
            super::super::detect("_J9..CCCCXBrJUJV154M"),
            Some(Scheme::BsdiCrypt)
        );
        // Traditional DES is 13 bare characters: never guessed.
        assert_eq!(super::super::detect("CCNf8Sbh3HDfQ"), None);
    }
}
