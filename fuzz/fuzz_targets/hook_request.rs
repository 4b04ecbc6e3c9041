//! The hook request decoder: the body as `HookJson` deserialises it, then
//! what the handler derives from it before the lookup (event type, origin,
//! IP bucket, username forms, throttle subject, the escaped log field).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = passbridge_fuzz::hook_request(data);
});
