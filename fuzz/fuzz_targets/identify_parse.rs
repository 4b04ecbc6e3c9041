//! Identification and parsing of a self-describing stored hash: `detect`,
//! `StoredHash::parse` and `parse_with(None, ..)`, then everything a parsed
//! hash answers without hashing. Invariant checked: `parse` succeeds only for
//! the scheme `detect` named.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = passbridge_fuzz::identify_parse(data);
});
