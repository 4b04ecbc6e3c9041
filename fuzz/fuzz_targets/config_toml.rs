//! The config loader: a TOML file's text, then (after a NUL byte) lines of
//! `NAME=value` applied as `PASSBRIDGE_*` environment variables, then the
//! checks `serve` and the query commands run and the redacted rendering
//! `config check` prints.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = passbridge_fuzz::config_toml(data);
});
