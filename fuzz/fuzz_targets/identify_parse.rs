//! Identification and parsing of a self-describing stored hash: `detect`,
//! `StoredHash::parse` and `parse_with(None, ..)`, then everything a parsed
//! hash answers without hashing. Invariant checked: `parse` succeeds only for
//! the scheme `detect` named.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passbridge::hash::{detect, Hints, Limits, StoredHash};

fuzz_target!(|data: &[u8]| {
    let Ok(stored) = std::str::from_utf8(data) else {
        return;
    };
    let limits = Limits::default();
    let detected = detect(stored);
    match StoredHash::parse(stored, &limits) {
        Ok(hash) => {
            assert_eq!(Some(hash.scheme()), detected, "parse and detect disagree");
            let _ = hash.params();
            let _ = hash.okta_native();
            let _ = format!("{hash:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let _ = StoredHash::parse_with(None, stored, &Hints::default(), &limits);
});
