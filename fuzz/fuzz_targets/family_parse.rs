//! Each family's parser with the scheme given (as from config or a
//! `scheme` column): byte 0 picks the scheme from `Scheme::ALL`, byte 1
//! which hints are set; the rest is lines: stored value, salt, username,
//! password, then `<key index><value>` params from the keys the families
//! read. A parsed hash is also verified, under low cost ceilings so each
//! execution stays fast.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passbridge::hash::{Hints, Limits, Scheme, StoredHash};
use secrecy::SecretString;

/// Every `params` key a family reads.
const PARAM_KEYS: &[&str] = &[
    "algorithm",
    "dklen",
    "encoding",
    "inner_scheme",
    "iterations",
    "ln",
    "n",
    "p",
    "pepper",
    "pepper_encoding",
    "r",
    "salt_bytes",
    "salt_encoding",
    "salt_position",
    "secret",
    "username",
    "signer_key",
    "salt_separator",
    "rounds",
    "mem_cost",
];

/// Ceilings low enough that one verification takes milliseconds.
const LIMITS: Limits = Limits {
    bcrypt_cost: 5,
    pbkdf2_iterations: 2_000,
    argon2_memory_kib: 256,
    argon2_time: 2,
    argon2_parallelism: 2,
    scrypt_memory_bytes: 1 << 20,
    crypt_rounds: 5_000,
    phpass_log2: 10,
    max_password_bytes: 4096,
};

fuzz_target!(|data: &[u8]| {
    let [pick, flags, rest @ ..] = data else {
        return;
    };
    let scheme = Scheme::ALL[usize::from(*pick) % Scheme::ALL.len()];
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let mut lines = text.split('\n');
    let stored = lines.next().unwrap_or_default();
    let salt = lines.next().unwrap_or_default();
    let username = lines.next().unwrap_or_default();
    let password = lines.next().unwrap_or_default();
    let mut hints = Hints::default();
    if flags & 1 != 0 {
        hints.salt = Some(salt.to_owned());
    }
    if flags & 2 != 0 {
        hints.username = Some(username.to_owned());
    }
    for line in lines {
        let mut chars = line.chars();
        let Some(k) = chars.next() else { continue };
        let key = PARAM_KEYS[(k as usize) % PARAM_KEYS.len()];
        hints
            .params
            .insert(key.to_owned(), chars.as_str().to_owned());
    }
    let Ok(hash) = StoredHash::parse_as(scheme, stored, &hints, &LIMITS) else {
        return;
    };
    assert_eq!(hash.scheme(), scheme);
    let _ = hash.params();
    let _ = hash.okta_native();
    if flags & 4 != 0 {
        let _ = hash.verify(&SecretString::from(password.to_owned()), &LIMITS);
    }
});
