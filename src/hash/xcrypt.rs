//! The system's libxcrypt (`crypt_rn`, the crypt(3) of every current glibc
//! distribution, Debian's `libcrypt1`): the fastest native bcrypt on x86-64
//! (Openwall's crypt_blowfish is inside), measured in `docs/benchmarks.md`.
//! Only bcrypt uses it: the Rust code for sha-crypt and scrypt `$7$` measured
//! faster than libxcrypt's, and md5-crypt through this binding measured no
//! faster than the Rust code.
//!
//! This is the crate's only `unsafe` code. It owns the FFI call and nothing
//! else: the scheme modules build the setting string, decode the output and
//! compare it in constant time, and keep their pure-Rust path for whatever
//! this returns `None` for (no libxcrypt on the target, a method the library
//! was built without, a phrase C cannot carry). Never logs; the work area
//! and the output are wiped before they are freed.
#![allow(unsafe_code)]

use zeroize::Zeroizing;

/// `sizeof(struct crypt_data)` in libxcrypt's `crypt.h`: output (384),
/// setting (384), input (512), reserved (767), initialized (1) and internal
/// (30720) add up to exactly 32768 bytes.
const CRYPT_DATA_SIZE: usize = 32_768;
/// `CRYPT_OUTPUT_SIZE`: the output field at the start of `crypt_data`.
const CRYPT_OUTPUT_SIZE: usize = 384;
/// `CRYPT_MAX_PASSPHRASE_SIZE`, counting the NUL: longer phrases are refused.
const CRYPT_MAX_PASSPHRASE_SIZE: usize = 512;

/// The crypt(3) result for `phrase` under `setting` (a full stored hash or
/// just its `$id$params$salt` prefix), without the NUL. `None` when the
/// system library cannot answer exactly: no libxcrypt on this target, a NUL
/// inside the phrase or setting (C would stop there), a phrase over 511
/// bytes, or the library's own failure (an unknown or disabled method,
/// which it marks with a leading `*`).
pub(crate) fn crypt(phrase: &[u8], setting: &str) -> Option<Zeroizing<Vec<u8>>> {
    if phrase.contains(&0)
        || phrase.len() >= CRYPT_MAX_PASSPHRASE_SIZE
        || setting.as_bytes().contains(&0)
    {
        return None;
    }
    let out = sys::call(phrase, setting)?;
    // Failure tokens start with `*`; a real hash starts with its `$id$`
    // prefix (or a salt character for traditional DES, unused here).
    (out.first() != Some(&b'*')).then_some(out)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod sys {
    use std::ffi::{c_char, c_int, c_void, CStr};

    use zeroize::Zeroizing;

    use super::{CRYPT_DATA_SIZE, CRYPT_OUTPUT_SIZE};

    #[link(name = "crypt")]
    extern "C" {
        /// `char *crypt_rn(const char *phrase, const char *setting, void *data, int size)`:
        /// reentrant, all state in `data`; NULL on failure.
        fn crypt_rn(
            phrase: *const c_char,
            setting: *const c_char,
            data: *mut c_void,
            size: c_int,
        ) -> *mut c_char;
    }

    /// Caller guarantees: no NUL inside `phrase` or `setting`, phrase
    /// shorter than `CRYPT_MAX_PASSPHRASE_SIZE`.
    pub(super) fn call(phrase: &[u8], setting: &str) -> Option<Zeroizing<Vec<u8>>> {
        let mut phrase_z = Zeroizing::new(Vec::with_capacity(phrase.len() + 1));
        phrase_z.extend_from_slice(phrase);
        phrase_z.push(0);
        let mut setting_z = Vec::with_capacity(setting.len() + 1);
        setting_z.extend_from_slice(setting.as_bytes());
        setting_z.push(0);
        // A fresh, zeroed work area per call: libxcrypt requires
        // `initialized` (and, for safety, everything) to be zero on first
        // use, and a per-call area keeps concurrent calls independent.
        let mut data = Zeroizing::new(vec![0u8; CRYPT_DATA_SIZE]);
        let size = c_int::try_from(data.len()).ok()?;
        // SAFETY: both strings are NUL-terminated buffers that outlive the
        // call; `data` is a writable area of exactly `size` bytes, which
        // crypt_rn uses as its `struct crypt_data` (no alignment beyond 1 is
        // required: every field is `char`). crypt_rn touches no other memory
        // and keeps no pointer after it returns.
        let ret = unsafe {
            crypt_rn(
                phrase_z.as_ptr().cast::<c_char>(),
                setting_z.as_ptr().cast::<c_char>(),
                data.as_mut_ptr().cast::<c_void>(),
                size,
            )
        };
        if ret.is_null() {
            return None;
        }
        // crypt_rn returns a pointer to `data.output`, the first field;
        // read it from our own buffer instead of through the raw pointer.
        let output = &data[..CRYPT_OUTPUT_SIZE];
        let text = CStr::from_bytes_until_nul(output).ok()?;
        Some(Zeroizing::new(text.to_bytes().to_vec()))
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod sys {
    use zeroize::Zeroizing;

    /// No libxcrypt on this target: callers take their pure-Rust path.
    pub(super) fn call(_phrase: &[u8], _setting: &str) -> Option<Zeroizing<Vec<u8>>> {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    // Reference outputs from other implementations: the bcrypt vector is
    // OpenBSD's/passlib's, the md5-crypt one passlib's known_correct_hashes.
    const BCRYPT_U: &str = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";

    #[test]
    fn answers_with_the_reference_output() {
        let out = crypt(b"U*U", BCRYPT_U).expect("libxcrypt has bcrypt");
        assert_eq!(out.as_slice(), BCRYPT_U.as_bytes());
        let out = crypt(b"password", "$1$3azHgidD$").expect("libxcrypt has md5-crypt");
        assert_eq!(out.as_slice(), b"$1$3azHgidD$SrJPt7B.9rekpmwJwtON31");
    }

    #[test]
    fn a_different_phrase_gives_a_different_output() {
        let out = crypt(b"U*V", BCRYPT_U).expect("libxcrypt has bcrypt");
        assert_ne!(out.as_slice(), BCRYPT_U.as_bytes());
    }

    #[test]
    fn refuses_what_c_cannot_carry_or_does_not_know() {
        assert!(crypt(b"a\0b", BCRYPT_U).is_none());
        assert!(crypt(&[b'a'; CRYPT_MAX_PASSPHRASE_SIZE], BCRYPT_U).is_none());
        assert!(crypt(b"pw", "$2b$0\0").is_none());
        // No such method: libxcrypt answers a `*` failure token.
        assert!(crypt(b"pw", "$zz$salt$").is_none());
        // A malformed bcrypt setting (cost 99) is refused, not computed.
        assert!(crypt(b"pw", "$2b$99$CCCCCCCCCCCCCCCCCCCCC.").is_none());
    }

    #[test]
    fn concurrent_calls_are_independent() {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                std::thread::spawn(move || {
                    let pw = format!("pw{i}");
                    let a = crypt(pw.as_bytes(), "$1$saltsalt$").unwrap();
                    let b = crypt(pw.as_bytes(), "$1$saltsalt$").unwrap();
                    assert_eq!(a.as_slice(), b.as_slice());
                    a.to_vec()
                })
            })
            .collect();
        let outs: Vec<Vec<u8>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for (i, a) in outs.iter().enumerate() {
            for b in &outs[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
