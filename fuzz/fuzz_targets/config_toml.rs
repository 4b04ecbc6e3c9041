//! The config loader: a TOML file's text, then (after a NUL byte) lines of
//! `NAME=value` applied as `PASSBRIDGE_*` environment variables, then the
//! checks `serve` and the query commands run and the redacted rendering
//! `config check` prints.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use passbridge::config::{apply_env, parse_toml, Sources};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (toml_text, env_text) = text.split_once('\0').unwrap_or((text, ""));
    let Ok(mut settings) = parse_toml(toml_text, Path::new("fuzz.toml")) else {
        return;
    };
    let env: Vec<(String, String)> = env_text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (format!("PASSBRIDGE_{k}"), v.to_owned()))
        .collect();
    let mut sources = Sources::default();
    if apply_env(&mut settings, &env, &mut sources).is_err() {
        return;
    }
    let _ = settings.http.validate();
    let _ = settings.validate_for_serve();
    let _ = settings.validate_query();
    let _ = settings.ledger_url();
    let _ = settings.spool_dir();
    let rendered = settings.to_redacted_toml();
    let _ = parse_toml(&rendered, Path::new("rendered.toml"));
});
