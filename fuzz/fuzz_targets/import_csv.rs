//! The import CSV reader, then what `import` does with each row before
//! the network: parse the hash with the row's scheme and salt, decide
//! whether Okta takes it natively and build that JSON object.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use passbridge::hash::{Hints, Limits, StoredHash};
use passbridge::import::CsvRows;
use passbridge::okta::PasswordHash;
use secrecy::ExposeSecret;

fuzz_target!(|data: &[u8]| {
    let Ok(rows) = CsvRows::new(data, Path::new("fuzz.csv")) else {
        return;
    };
    let limits = Limits::default();
    for row in rows.take(64) {
        let Ok(row) = row else { break };
        let _ = format!("{row:?}");
        let Some(stored) = row.password_hash.as_ref() else {
            continue;
        };
        let hints = Hints {
            salt: row.salt.clone(),
            username: Some(row.profile.login.clone()),
            params: Default::default(),
        };
        let Ok(hash) = StoredHash::parse_with(
            row.scheme.as_deref(),
            stored.expose_secret(),
            &hints,
            &limits,
        ) else {
            continue;
        };
        if let Some(native) = hash.okta_native() {
            let object = PasswordHash::from(&native);
            let _ = serde_json::to_string(&object);
        }
    }
});
