//! Validation of one Okta access token against a key set and a policy, with
//! the clock passed in: a pure function (no I/O, no global time), so it can
//! be unit-tested, property-tested and fuzzed as it is.
//!
//! The JWT work (splitting, Base64url, the JSON header, the RS256 signature,
//! `iss` and `aud`) is done by `jsonwebtoken`; this module chooses the key
//! by `kid`, pins the algorithms, checks the times against `now` and adds the
//! Okta-specific claims (`cid`, `scp`, no `uid`). It never logs: the caller
//! logs the [`Refusal`], which carries no part of the token.

use std::collections::HashMap;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// Why a token was refused. [`Refusal::reason`] is the log field and the
/// `reason` label of `passbridge_hook_auth_refused_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No `Authorization: Bearer …` header (or more than one).
    #[error("no bearer token")]
    MissingToken,
    /// Not a JWT we can read (segments, Base64url, JSON, claim types).
    #[error("malformed token")]
    Malformed,
    /// Header `alg` is not one of the configured algorithms (`none`, HS*, …).
    #[error("algorithm not allowed")]
    Algorithm,
    /// No `kid`, or a `kid` the key set does not have.
    #[error("unknown signing key")]
    UnknownKey,
    /// The signature does not verify with the key named by `kid`.
    #[error("bad signature")]
    Signature,
    /// `iss` is not the configured issuer.
    #[error("wrong issuer")]
    Issuer,
    /// `aud` does not contain the configured audience.
    #[error("wrong audience")]
    Audience,
    /// `exp` is in the past (beyond the leeway).
    #[error("expired")]
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    #[error("not yet valid")]
    NotYetValid,
    /// `cid` is not the configured client id.
    #[error("wrong client id")]
    ClientId,
    /// `scp` does not contain the configured scope.
    #[error("missing scope")]
    Scope,
    /// A token bound to a user (`uid`): Okta's hook tokens come from the
    /// client-credentials grant and have none.
    #[error("user token")]
    UserToken,
    /// No JWKS has ever been fetched, so nothing can be verified.
    #[error("no signing keys fetched")]
    NoKeys,
}

impl Refusal {
    /// Stable label (metric and log).
    pub fn reason(self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::Malformed => "malformed",
            Self::Algorithm => "algorithm",
            Self::UnknownKey => "unknown_kid",
            Self::Signature => "signature",
            Self::Issuer => "issuer",
            Self::Audience => "audience",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::ClientId => "client_id",
            Self::Scope => "scope",
            Self::UserToken => "user_token",
            Self::NoKeys => "no_keys",
        }
    }
}

/// What a token must satisfy (from `[hook.oauth]`).
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    /// Exact `iss`.
    pub issuer: String,
    /// Required member of `aud`.
    pub audience: String,
    /// Exact `cid`.
    pub client_id: String,
    /// Required member of `scp` (`None`: any scope).
    pub scope: Option<String>,
    /// Accepted header `alg` values; never `none` or HS* (refused at config load,
    /// and again here: see [`is_asymmetric`]).
    pub algorithms: Vec<Algorithm>,
    /// Allowed clock skew for `exp`, `nbf` and `iat`.
    pub leeway: Duration,
}

/// Whether `alg` is a public-key algorithm. HS* would let anyone holding
/// the (public) JWKS forge tokens by using a public key as the HMAC secret.
pub fn is_asymmetric(alg: Algorithm) -> bool {
    !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// Verification keys by `kid`, as published in a JWKS.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, DecodingKey>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("kids", &self.kids())
            .finish()
    }
}

impl KeySet {
    /// The signing keys of a JWKS document: keys with a `kid`, not marked
    /// `use: enc`, of a public-key type. Others are skipped (Okta may add
    /// key types we do not use).
    ///
    /// # Errors
    /// The document is not a JWKS.
    pub fn from_jwks_json(body: &[u8]) -> Result<Self, serde_json::Error> {
        let set: JwkSet = serde_json::from_slice(body)?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.as_ref() else {
                continue;
            };
            if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
                continue;
            }
            if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
                continue; // a symmetric key in a JWKS is never a signing key for us
            }
            if let Ok(key) = DecodingKey::from_jwk(jwk) {
                keys.insert(kid.clone(), key);
            }
        }
        Ok(Self { keys })
    }

    /// The key ids, sorted (for logs and tests).
    pub fn kids(&self) -> Vec<&str> {
        let mut kids: Vec<&str> = self.keys.keys().map(String::as_str).collect();
        kids.sort_unstable();
        kids
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// No keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn get(&self, kid: &str) -> Option<&DecodingKey> {
        self.keys.get(kid)
    }
}

/// The claims of an Okta access token that passbridge reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    /// Issuer. Typed here (and compared again below) so a non-string `iss`
    /// is malformed rather than skipped by the library.
    pub iss: String,
    /// Audience: a string or an array of strings.
    pub aud: Audience,
    /// Expiry (Unix seconds).
    pub exp: u64,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Not before (Unix seconds); Okta does not set it, others may.
    #[serde(default)]
    pub nbf: Option<u64>,
    /// Client id of the client that asked for the token.
    #[serde(default)]
    pub cid: Option<String>,
    /// Granted scopes.
    #[serde(default)]
    pub scp: Option<Vec<String>>,
    /// Token id (logged on success: it identifies, it does not authenticate).
    #[serde(default)]
    pub jti: Option<String>,
    /// Subject (the client id for client credentials).
    #[serde(default)]
    pub sub: Option<String>,
    /// Present only on user-bound tokens.
    #[serde(default)]
    pub uid: Option<serde_json::Value>,
}

/// `aud` as JWT allows it: one string or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// `"aud": "api://default"`.
    One(String),
    /// `"aud": ["a", "b"]`.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `aud` names `audience`.
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Self::One(a) => a == audience,
            Self::Many(list) => list.iter().any(|a| a == audience),
        }
    }
}

/// Validates `token` (the part after `Bearer `) at Unix time `now`.
///
/// # Errors
/// The first check that fails, as a [`Refusal`].
pub fn validate(
    token: &str,
    keys: &KeySet,
    policy: &TokenPolicy,
    now: u64,
) -> Result<Claims, Refusal> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| header_refusal(token))?;
    if !is_asymmetric(header.alg) || !policy.algorithms.contains(&header.alg) {
        return Err(Refusal::Algorithm);
    }
    if keys.is_empty() {
        return Err(Refusal::NoKeys);
    }
    let key = header
        .kid
        .as_deref()
        .and_then(|kid| keys.get(kid))
        .ok_or(Refusal::UnknownKey)?;
    let mut validation = Validation::new(header.alg);
    validation.algorithms = vec![header.alg];
    validation.set_issuer(&[&policy.issuer]);
    validation.set_audience(&[&policy.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    // Times are checked below against the `now` we were given, not the
    // library's own clock, so this function stays pure.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|e| {
        match e.kind() {
            ErrorKind::InvalidSignature => Refusal::Signature,
            ErrorKind::InvalidIssuer => Refusal::Issuer,
            ErrorKind::InvalidAudience => Refusal::Audience,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => Refusal::Algorithm,
            // A key that does not fit the algorithm (e.g. an EC key named by
            // an RS256 token) cannot have made the signature.
            ErrorKind::InvalidKeyFormat | ErrorKind::InvalidRsaKey(_) => Refusal::Signature,
            _ => Refusal::Malformed,
        }
    })?;
    let claims = data.claims;
    // Defence in depth over the library's own checks (type confusion in
    // claim validation has been a jsonwebtoken bug before).
    if claims.iss != policy.issuer {
        return Err(Refusal::Issuer);
    }
    if !claims.aud.contains(&policy.audience) {
        return Err(Refusal::Audience);
    }
    let leeway = policy.leeway.as_secs();
    if claims.exp.saturating_add(leeway) < now {
        return Err(Refusal::Expired);
    }
    let too_early = |t: u64| t > now.saturating_add(leeway);
    if claims.nbf.is_some_and(too_early) || too_early(claims.iat) {
        return Err(Refusal::NotYetValid);
    }
    if claims.cid.as_deref() != Some(policy.client_id.as_str()) {
        return Err(Refusal::ClientId);
    }
    if let Some(scope) = &policy.scope {
        if !claims.scp.as_ref().is_some_and(|s| s.contains(scope)) {
            return Err(Refusal::Scope);
        }
    }
    if claims.uid.is_some() {
        return Err(Refusal::UserToken);
    }
    Ok(claims)
}

/// The header did not parse: an `alg` the library does not know (`none`,
/// `HS` variants it rejects, made-up names) is an algorithm refusal, anything
/// else is malformed. Only this label is derived here; nothing is accepted.
fn header_refusal(token: &str) -> Refusal {
    use base64::Engine;
    let alg = token
        .split('.')
        .next()
        .and_then(|h| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|v| v.get("alg").and_then(|a| a.as_str().map(str::to_owned)));
    match alg {
        // A known algorithm: the header broke elsewhere.
        Some(a) if a.parse::<Algorithm>().is_ok() => Refusal::Malformed,
        Some(_) => Refusal::Algorithm,
        None => Refusal::Malformed,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::sync::OnceLock;

    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use serde_json::{json, Value};

    use super::*;
    use crate::dev_okta::keys::{jwks_of, SigningKey};

    const NOW: u64 = 1_800_000_000;
    const ISS: &str = "https://example.okta.com/oauth2/aus1hook";

    /// Two keys, generated once for all tests (RSA generation is the slow part).
    fn keys() -> &'static (SigningKey, SigningKey) {
        static KEYS: OnceLock<(SigningKey, SigningKey)> = OnceLock::new();
        KEYS.get_or_init(|| {
            (
                SigningKey::generate("kid-a").unwrap(),
                SigningKey::generate("kid-b").unwrap(),
            )
        })
    }

    /// The published set: key A only.
    fn published() -> KeySet {
        KeySet::from_jwks_json(&serde_json::to_vec(&jwks_of([&keys().0])).unwrap()).unwrap()
    }

    fn policy() -> TokenPolicy {
        TokenPolicy {
            issuer: ISS.into(),
            audience: "api://passbridge".into(),
            client_id: "0oahookclient".into(),
            scope: Some("passbridge.hook".into()),
            algorithms: vec![Algorithm::RS256],
            leeway: Duration::from_secs(60),
        }
    }

    fn claims() -> Value {
        json!({"ver":1,"jti":"AT.abc","iss":ISS,"aud":"api://passbridge","iat":NOW - 10,
               "exp":NOW + 3600,"cid":"0oahookclient","scp":["passbridge.hook"],"sub":"0oahookclient"})
    }

    fn with(change: impl FnOnce(&mut Value)) -> String {
        let mut c = claims();
        change(&mut c);
        keys().0.sign(&c).unwrap()
    }

    fn check(token: &str) -> Result<Claims, Refusal> {
        validate(token, &published(), &policy(), NOW)
    }

    fn unsigned(header: &Value, claims: &Value, signature: &str) -> String {
        format!(
            "{}.{}.{signature}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
        )
    }

    #[test]
    fn a_valid_okta_token_is_accepted() {
        let c = check(&keys().0.sign(&claims()).unwrap()).unwrap();
        assert_eq!(c.cid.as_deref(), Some("0oahookclient"));
        assert_eq!(c.jti.as_deref(), Some("AT.abc"));
        // `aud` as an array, and exactly at the edge of the leeway.
        assert!(check(&with(|c| c["aud"] = json!(["other", "api://passbridge"]))).is_ok());
        assert!(check(&with(|c| c["exp"] = json!(NOW - 60))).is_ok());
    }

    #[test]
    fn each_bad_token_is_refused_for_its_reason() {
        let (a, b) = keys();
        let cases: Vec<(&str, String, Refusal)> = vec![
            (
                "signed by another key, naming A",
                b.sign_as("kid-a", &claims()).unwrap(),
                Refusal::Signature,
            ),
            (
                "a key not in the JWKS",
                b.sign(&claims()).unwrap(),
                Refusal::UnknownKey,
            ),
            (
                "no kid",
                unsigned(&json!({"alg":"RS256"}), &claims(), "c2ln"),
                Refusal::UnknownKey,
            ),
            (
                "alg none",
                unsigned(&json!({"alg":"none","typ":"JWT"}), &claims(), ""),
                Refusal::Algorithm,
            ),
            (
                "alg RS512 not configured",
                {
                    let mut h = jsonwebtoken::Header::new(Algorithm::RS512);
                    h.kid = Some("kid-a".into());
                    unsigned(&serde_json::to_value(&h).unwrap(), &claims(), "c2ln")
                },
                Refusal::Algorithm,
            ),
            (
                "HS256 with the public key as secret",
                {
                    let mut h = jsonwebtoken::Header::new(Algorithm::HS256);
                    h.kid = Some("kid-a".into());
                    jsonwebtoken::encode(
                        &h,
                        &claims(),
                        &jsonwebtoken::EncodingKey::from_secret(a.public_der()),
                    )
                    .unwrap()
                },
                Refusal::Algorithm,
            ),
            (
                "expired",
                with(|c| c["exp"] = json!(NOW - 61)),
                Refusal::Expired,
            ),
            (
                "nbf in the future",
                with(|c| c["nbf"] = json!(NOW + 61)),
                Refusal::NotYetValid,
            ),
            (
                "iat in the future",
                with(|c| c["iat"] = json!(NOW + 61)),
                Refusal::NotYetValid,
            ),
            (
                "wrong iss",
                with(|c| c["iss"] = json!("https://example.okta.com/oauth2/default")),
                Refusal::Issuer,
            ),
            (
                "wrong aud",
                with(|c| c["aud"] = json!("api://default")),
                Refusal::Audience,
            ),
            (
                "wrong cid",
                with(|c| c["cid"] = json!("0oaother")),
                Refusal::ClientId,
            ),
            (
                "no cid",
                with(|c| {
                    c.as_object_mut().unwrap().remove("cid");
                }),
                Refusal::ClientId,
            ),
            (
                "missing scope",
                with(|c| c["scp"] = json!(["okta.users.read"])),
                Refusal::Scope,
            ),
            (
                "user-bound token",
                with(|c| c["uid"] = json!("00u1")),
                Refusal::UserToken,
            ),
            (
                "exp as a string",
                with(|c| c["exp"] = json!("99999999999")),
                Refusal::Malformed,
            ),
            (
                "nbf as a string",
                with(|c| c["nbf"] = json!("99999999999")),
                Refusal::Malformed,
            ),
            (
                "iss as a number",
                with(|c| c["iss"] = json!(7)),
                Refusal::Malformed,
            ),
            ("not a JWT", "not-a-jwt".to_owned(), Refusal::Malformed),
            (
                "two segments",
                "eyJhbGciOiJSUzI1NiJ9.e30".to_owned(),
                Refusal::Malformed,
            ),
            ("empty", String::new(), Refusal::Malformed),
        ];
        for (what, token, want) in cases {
            assert_eq!(check(&token).err(), Some(want), "{what}");
        }
    }

    #[test]
    fn no_keys_refuses_everything() {
        let token = keys().0.sign(&claims()).unwrap();
        assert_eq!(
            validate(&token, &KeySet::default(), &policy(), NOW).err(),
            Some(Refusal::NoKeys)
        );
    }

    #[test]
    fn hs_algorithms_are_refused_even_if_configured() {
        let (a, _) = keys();
        let mut p = policy();
        p.algorithms = vec![Algorithm::RS256, Algorithm::HS256];
        let mut h = jsonwebtoken::Header::new(Algorithm::HS256);
        h.kid = Some("kid-a".into());
        let forged = jsonwebtoken::encode(
            &h,
            &claims(),
            &jsonwebtoken::EncodingKey::from_secret(a.public_der()),
        )
        .unwrap();
        assert_eq!(
            validate(&forged, &published(), &p, NOW).err(),
            Some(Refusal::Algorithm)
        );
    }

    #[test]
    fn jwks_parsing_skips_unusable_keys() {
        let doc = json!({"keys":[
            keys().0.jwk(),
            {"kty":"oct","kid":"sym","k":"c2VjcmV0"},
            {"kty":"RSA","use":"enc","kid":"enc","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","n":"AQAB","e":"AQAB"}
        ]});
        let set = KeySet::from_jwks_json(&serde_json::to_vec(&doc).unwrap()).unwrap();
        assert_eq!(set.kids(), vec!["kid-a"]);
        assert!(KeySet::from_jwks_json(b"{}").is_err());
    }
}
