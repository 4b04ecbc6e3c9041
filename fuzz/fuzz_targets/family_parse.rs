//! Each family's parser with the scheme given (as from config or a
//! `scheme` column): byte 0 picks the scheme from `Scheme::ALL`, byte 1
//! which hints are set; the rest is lines: stored value, salt, username,
//! password, then `<key index><value>` params from the keys the families
//! read. A parsed hash is also verified, under low cost ceilings so each
//! execution stays fast.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = passbridge_fuzz::family_parse(data);
});
