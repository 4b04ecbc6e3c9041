//! The import CSV reader, then what `import` does with each row before
//! the network: parse the hash with the row's scheme and salt, decide
//! whether Okta takes it natively and build that JSON object.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = passbridge_fuzz::import_csv(data);
});
