//! The OAuth 2.0 hook token check and the JWKS parser.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = passbridge_fuzz::jwt(data);
});
