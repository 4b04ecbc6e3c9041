//! The hook request decoder: the body as `HookJson` deserialises it, then
//! what the handler derives from it before the lookup (event type, origin,
//! IP bucket, username forms, throttle subject, the escaped log field).
#![no_main]

use libfuzzer_sys::fuzz_target;
use passbridge::hook::protocol::{origin_of, HookRequest, EVENT_TYPE};
use passbridge::hook::throttle::{normalise_username, IpBucket, Subject};
use passbridge::telemetry::Escaped;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = serde_json::from_slice::<HookRequest>(data) else {
        return;
    };
    let _ = request.event_type.as_deref() == Some(EVENT_TYPE);
    let mut headers = http::HeaderMap::new();
    let _ = origin_of(&headers, &request);
    headers.insert("x-passbridge-test", http::HeaderValue::from_static("1"));
    let _ = origin_of(&headers, &request);
    let ip = IpBucket::from_okta(
        request
            .data
            .context
            .request
            .as_ref()
            .and_then(|r| r.ip_address.as_deref()),
    );
    let _ = ip.as_str();
    let username = &request.data.context.credential.username;
    let lowered = username.trim().to_lowercase();
    let _ = normalise_username(username);
    let _ = Subject::for_unknown(&lowered).key().len();
    let _ = format!("{}", Escaped(username));
    let _ = format!("{:?}", request);
});
