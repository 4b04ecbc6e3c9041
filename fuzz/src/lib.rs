//! The fuzz targets' bodies, one function per target, shared by the
//! cargo-fuzz binaries (`fuzz_targets/*.rs`) and by the regression test that
//! replays every kept crash input in the normal test suite
//! (`tests/api/fuzz_regressions.rs` includes this file by path). Each takes
//! arbitrary bytes and must return without panicking; the asserts are
//! invariants, not input checks.

use std::path::Path;

use passbridge::config::{apply_env, parse_toml, Sources};
use passbridge::hash::{detect, Hints, Limits, Scheme, StoredHash};
use passbridge::hook::protocol::{origin_of, HookRequest, EVENT_TYPE};
use passbridge::hook::throttle::{normalise_username, IpBucket, Subject};
use passbridge::import::CsvRows;
use passbridge::okta::PasswordHash;
use passbridge::telemetry::Escaped;
use secrecy::{ExposeSecret, SecretString};

/// Identification and parsing of a self-describing stored hash: `detect`,
/// `StoredHash::parse` and `parse_with(None, ..)`, then everything a parsed
/// hash answers without hashing. Invariant checked: `parse` succeeds only for
/// the scheme `detect` named.
/// `true` when the value parsed.
pub fn identify_parse(data: &[u8]) -> bool {
    let Ok(stored) = std::str::from_utf8(data) else {
        return false;
    };
    let limits = Limits::default();
    let detected = detect(stored);
    let parsed = match StoredHash::parse(stored, &limits) {
        Ok(hash) => {
            assert_eq!(Some(hash.scheme()), detected, "parse and detect disagree");
            let _ = hash.params();
            let _ = hash.okta_native();
            let _ = format!("{hash:?}");
            true
        }
        Err(e) => {
            let _ = e.to_string();
            false
        }
    };
    let _ = StoredHash::parse_with(None, stored, &Hints::default(), &limits);
    parsed
}

/// Every `params` key a family reads.
const PARAM_KEYS: &[&str] = &[
    "algorithm",
    "dklen",
    "encoding",
    "inner_scheme",
    "iterations",
    "ln",
    "n",
    "p",
    "pepper",
    "pepper_encoding",
    "r",
    "salt_bytes",
    "salt_encoding",
    "salt_position",
    "secret",
    "username",
    "signer_key",
    "salt_separator",
    "rounds",
    "mem_cost",
];

/// Ceilings low enough that one verification takes milliseconds.
const LIMITS: Limits = Limits {
    bcrypt_cost: 5,
    pbkdf2_iterations: 2_000,
    argon2_memory_kib: 256,
    argon2_time: 2,
    argon2_parallelism: 2,
    scrypt_memory_bytes: 1 << 20,
    crypt_rounds: 5_000,
    phpass_log2: 10,
    max_password_bytes: 4096,
};

/// Each family's parser with the scheme given (as from config or a
/// `scheme` column): byte 0 picks the scheme from `Scheme::ALL`, byte 1
/// which hints are set; the rest is lines: stored value, salt, username,
/// password, then `<key index><value>` params from the keys the families
/// read. A parsed hash is also verified, under low cost ceilings so each
/// execution stays fast.
/// `true` when the value parsed as the picked scheme.
pub fn family_parse(data: &[u8]) -> bool {
    let [pick, flags, rest @ ..] = data else {
        return false;
    };
    let scheme = Scheme::ALL[usize::from(*pick) % Scheme::ALL.len()];
    let Ok(text) = std::str::from_utf8(rest) else {
        return false;
    };
    let mut lines = text.split('\n');
    let stored = lines.next().unwrap_or_default();
    let salt = lines.next().unwrap_or_default();
    let username = lines.next().unwrap_or_default();
    let password = lines.next().unwrap_or_default();
    let mut hints = Hints::default();
    if flags & 1 != 0 {
        hints.salt = Some(salt.to_owned());
    }
    if flags & 2 != 0 {
        hints.username = Some(username.to_owned());
    }
    for line in lines {
        let mut chars = line.chars();
        let Some(k) = chars.next() else { continue };
        let key = PARAM_KEYS[(k as usize) % PARAM_KEYS.len()];
        hints
            .params
            .insert(key.to_owned(), chars.as_str().to_owned());
    }
    let Ok(hash) = StoredHash::parse_as(scheme, stored, &hints, &LIMITS) else {
        return false;
    };
    assert_eq!(hash.scheme(), scheme);
    let _ = hash.params();
    let _ = hash.okta_native();
    if flags & 4 != 0 {
        let _ = hash.verify(&SecretString::from(password.to_owned()), &LIMITS);
    }
    true
}

/// The hook request decoder: the body as `HookJson` deserialises it, then
/// what the handler derives from it before the lookup (event type, origin,
/// IP bucket, username forms, throttle subject, the escaped log field).
/// `true` when the body decoded.
pub fn hook_request(data: &[u8]) -> bool {
    let Ok(request) = serde_json::from_slice::<HookRequest>(data) else {
        return false;
    };
    let _ = request.event_type.as_deref() == Some(EVENT_TYPE);
    let mut headers = axum::http::HeaderMap::new();
    let _ = origin_of(&headers, &request);
    headers.insert(
        "x-passbridge-test",
        axum::http::HeaderValue::from_static("1"),
    );
    let _ = origin_of(&headers, &request);
    let ip = IpBucket::from_okta(request.end_user_ip());
    let _ = ip.as_str();
    let username = &request.data.context.credential.username;
    let lowered = username.trim().to_lowercase();
    let _ = normalise_username(username);
    let _ = Subject::for_unknown(&lowered).key().len();
    let _ = format!("{}", Escaped(username));
    let _ = format!("{request:?}");
    true
}

/// The config loader: a TOML file's text, then (after a NUL byte) lines of
/// `NAME=value` applied as `PASSBRIDGE_*` environment variables, then the
/// checks `serve` and the query commands run and the redacted rendering
/// `config check` prints.
/// `true` when the file and the environment were accepted.
pub fn config_toml(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let (toml_text, env_text) = text.split_once('\0').unwrap_or((text, ""));
    let Ok(mut settings) = parse_toml(toml_text, Path::new("fuzz.toml")) else {
        return false;
    };
    let env: Vec<(String, String)> = env_text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (format!("PASSBRIDGE_{k}"), v.to_owned()))
        .collect();
    let mut sources = Sources::default();
    if apply_env(&mut settings, &env, &mut sources).is_err() {
        return false;
    }
    let _ = settings.http.validate();
    let _ = settings.validate_for_serve();
    let _ = settings.validate_query();
    let _ = settings.ledger_url();
    let _ = settings.spool_dir();
    let rendered = settings.to_redacted_toml();
    let _ = parse_toml(&rendered, Path::new("rendered.toml"));
    true
}

/// The import CSV reader, then what `import` does with each row before
/// the network: parse the hash with the row's scheme and salt, decide
/// whether Okta takes it natively and build that JSON object.
/// `true` when the header was accepted.
pub fn import_csv(data: &[u8]) -> bool {
    let Ok(rows) = CsvRows::new(data, Path::new("fuzz.csv")) else {
        return false;
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
    true
}

/// A JWKS with one RSA key (`kid` "k1"; a made-up modulus: signatures never
/// verify, but every check before the signature is reached).
const FIXED_JWKS: &[u8] = br#"{"keys":[{"kty":"RSA","kid":"k1","use":"sig","alg":"RS256","e":"AQAB","n":"xjlCRBqkOr4b7HUV4jZqoNLnXiF0thu1uRz0xdO4Ji8sZqpWZTTUnSVdoOD8-uKDaYT9Bv8dZv5JJtPb1_v8R7sPWTQP6OOy3c3dXo2xBHj4WxZx2kvBiNIOXtPd6_iGm5h2CPSbRKNgSkTi8oAGA2Q2KsuJUqFqb9Ti8xjU4XmZ8I3TTyRHN8LkM1xBu5UlDUz5yo2KkHDE4RvUhaXW4J4q2dQX0RxAB9DaxbYp1eTq2LvYDMnf2bOkcPIPnglbMIEjdXdrhXKc7lXlLBv9zm8-_oLsg7ZgpTQvkqbyOz5c4IYHoJeV9XnFgSrXHldAcQCB3BaT-DmRo-vOZpqWQ"}]}"#;

/// The OAuth 2.0 hook token check (`hook::oauth::validate`) and the JWKS
/// parser (`KeySet::from_jwks_json`). Byte 0 splits the rest into a JWKS
/// document and a token; the token is checked against that key set and
/// against a fixed one, under a fixed policy and clock. Invariant checked:
/// with a key set whose modulus belongs to no private key nobody holds,
/// nothing is ever accepted.
/// `true` when the JWKS document parsed.
pub fn jwt(data: &[u8]) -> bool {
    use passbridge::hook::oauth::{validate, KeySet, TokenPolicy};
    let Some((&split, rest)) = data.split_first() else {
        return false;
    };
    let at = usize::from(split).min(rest.len());
    let (jwks, token) = rest.split_at(rest.len() - at);
    let policy = TokenPolicy {
        issuer: "https://example.okta.com/oauth2/default".to_owned(),
        audience: "api://passbridge".to_owned(),
        client_id: "0oa-hook".to_owned(),
        scope: Some("passbridge.hook".to_owned()),
        algorithms: vec![
            jsonwebtoken::Algorithm::RS256,
            jsonwebtoken::Algorithm::ES256,
        ],
        leeway: std::time::Duration::from_secs(60),
    };
    let Ok(token) = std::str::from_utf8(token) else {
        return false;
    };
    let now = 1_800_000_000;
    if let Ok(fixed) = KeySet::from_jwks_json(FIXED_JWKS) {
        assert!(
            validate(token, &fixed, &policy, now).is_err(),
            "a token verified under a key nobody holds"
        );
    }
    let Ok(keys) = KeySet::from_jwks_json(jwks) else {
        return false;
    };
    let _ = format!("{keys:?}");
    let _ = validate(token, &keys, &policy, now);
    true
}
