//! RSA signing keys of the stand-in authorization server, and the signing of
//! access tokens shaped like Okta's (protocol §9). Also used by tests to
//! mint tokens with chosen claims.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};

/// Okta's access-token keys are 2048-bit RSA.
const KEY_BITS: usize = 2048;

/// One RSA key pair with its `kid`.
pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
    public_der: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh 2048-bit key named `kid`.
    ///
    /// # Errors
    /// Key generation or encoding failed.
    pub fn generate(kid: &str) -> Result<Self, String> {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), KEY_BITS)
            .map_err(|e| format!("RSA key generation: {e}"))?;
        let der = private
            .to_pkcs1_der()
            .map_err(|e| format!("RSA key encoding: {e}"))?;
        let public = private.to_public_key();
        let public_der = public
            .to_pkcs1_der()
            .map_err(|e| format!("RSA public key encoding: {e}"))?
            .as_bytes()
            .to_vec();
        let jwk = json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        });
        Ok(Self {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            jwk,
            public_der,
        })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (for a JWKS `keys` array).
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// The public key, PKCS#1 DER (tests use it as a forged HMAC secret).
    pub fn public_der(&self) -> &[u8] {
        &self.public_der
    }

    /// Signs `claims` with RS256 and header `kid` = this key's.
    ///
    /// # Errors
    /// Signing failed.
    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        self.sign_as(&self.kid, claims)
    }

    /// Signs `claims` with RS256, naming `kid` in the header (tests use a
    /// kid other than the key's).
    ///
    /// # Errors
    /// Signing failed.
    pub fn sign_as(&self, kid: &str, claims: &Value) -> Result<String, String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| format!("signing: {e}"))
    }
}

/// A JWKS document of `keys`.
pub fn jwks_of<'a>(keys: impl IntoIterator<Item = &'a SigningKey>) -> Value {
    json!({ "keys": keys.into_iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
}
