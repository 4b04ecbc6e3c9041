//! Users API wire DTOs and calls: create a user with an importable hash
//! (`credentials.password.hash`) or with the password-import hook flag
//! (`credentials.password.hook.type = "default"`), and find a user by login.
//! Shapes follow `docs/okta-hook-protocol.md` §5.

use std::collections::BTreeMap;
use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::client::OktaClient;
use super::error::Result;
use crate::hash::{OktaDigest, OktaHash, OktaPbkdf2Digest, SaltOrder};

/// Rate-limit bucket of `POST /api/v1/users`.
pub(crate) const BUCKET_CREATE: &str = "users.create";
/// Rate-limit bucket of `GET /api/v1/users/{idOrLogin}`.
pub(crate) const BUCKET_GET: &str = "users.get";
/// Rate-limit bucket of `POST /api/v1/users/{id}/lifecycle/…` (Okta counts
/// these with the other `POST /api/v1/users/{id}` calls).
pub(crate) const BUCKET_LIFECYCLE: &str = "users.lifecycle";

/// A user's profile: the base attributes by name, any other attribute in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// Okta login (unique in the org).
    pub login: String,
    /// Primary email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Every other profile attribute.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// `algorithm` of a hash object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HashAlgorithm {
    /// `BCRYPT`
    #[serde(rename = "BCRYPT")]
    Bcrypt,
    /// `SHA-512`
    #[serde(rename = "SHA-512")]
    Sha512,
    /// `SHA-256`
    #[serde(rename = "SHA-256")]
    Sha256,
    /// `SHA-1`
    #[serde(rename = "SHA-1")]
    Sha1,
    /// `MD5`
    #[serde(rename = "MD5")]
    Md5,
    /// `PBKDF2`
    #[serde(rename = "PBKDF2")]
    Pbkdf2,
}

impl HashAlgorithm {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bcrypt => "BCRYPT",
            Self::Sha512 => "SHA-512",
            Self::Sha256 => "SHA-256",
            Self::Sha1 => "SHA-1",
            Self::Md5 => "MD5",
            Self::Pbkdf2 => "PBKDF2",
        }
    }
}

/// `digestAlgorithm` of a PBKDF2 hash object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DigestAlgorithm {
    /// `SHA256_HMAC`
    #[serde(rename = "SHA256_HMAC")]
    Sha256Hmac,
    /// `SHA512_HMAC`
    #[serde(rename = "SHA512_HMAC")]
    Sha512Hmac,
}

/// `saltOrder` of a salted digest hash object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SaltPosition {
    /// `PREFIX`: digest(salt ‖ password).
    Prefix,
    /// `POSTFIX`: digest(password ‖ salt).
    Postfix,
}

/// Okta's hashed-password object (`credentials.password.hash`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordHash {
    /// Algorithm.
    pub algorithm: HashAlgorithm,
    /// BCRYPT cost, 1–20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_factor: Option<u32>,
    /// BCRYPT: 22 radix-64 characters; others: Base64 of the salt bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// Salted digests only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt_order: Option<SaltPosition>,
    /// BCRYPT: 31 radix-64 characters; others: Base64 of the digest.
    pub value: String,
    /// PBKDF2 only, ≥ 4096.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration_count: Option<u32>,
    /// PBKDF2 only: derived-key length in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_size: Option<u32>,
    /// PBKDF2 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_algorithm: Option<DigestAlgorithm>,
}

impl fmt::Debug for PasswordHash {
    // Salt and value are password-equivalent material: name the algorithm only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHash")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl From<&OktaHash> for PasswordHash {
    fn from(hash: &OktaHash) -> Self {
        let empty = Self {
            algorithm: HashAlgorithm::Bcrypt,
            work_factor: None,
            salt: None,
            salt_order: None,
            value: String::new(),
            iteration_count: None,
            key_size: None,
            digest_algorithm: None,
        };
        match hash {
            OktaHash::Bcrypt {
                work_factor,
                salt,
                value,
            } => Self {
                algorithm: HashAlgorithm::Bcrypt,
                work_factor: Some(*work_factor),
                salt: Some(salt.clone()),
                value: value.clone(),
                ..empty
            },
            OktaHash::Digest {
                algorithm,
                salt,
                salt_order,
                value,
            } => Self {
                algorithm: match algorithm {
                    OktaDigest::Md5 => HashAlgorithm::Md5,
                    OktaDigest::Sha1 => HashAlgorithm::Sha1,
                    OktaDigest::Sha256 => HashAlgorithm::Sha256,
                    OktaDigest::Sha512 => HashAlgorithm::Sha512,
                },
                salt: salt.as_deref().map(|s| STANDARD.encode(s)),
                salt_order: salt.as_ref().map(|_| match salt_order {
                    SaltOrder::Prefix => SaltPosition::Prefix,
                    SaltOrder::Postfix => SaltPosition::Postfix,
                }),
                value: STANDARD.encode(value),
                ..empty
            },
            OktaHash::Pbkdf2 {
                digest,
                iterations,
                salt,
                value,
            } => Self {
                algorithm: HashAlgorithm::Pbkdf2,
                salt: Some(STANDARD.encode(salt)),
                value: STANDARD.encode(value),
                iteration_count: Some(*iterations),
                key_size: u32::try_from(value.len()).ok(),
                digest_algorithm: Some(match digest {
                    OktaPbkdf2Digest::Sha256 => DigestAlgorithm::Sha256Hmac,
                    OktaPbkdf2Digest::Sha512 => DigestAlgorithm::Sha512Hmac,
                }),
                ..empty
            },
        }
    }
}

/// `credentials.password.hook`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordHook {
    /// "Currently, must be set to default".
    #[serde(rename = "type")]
    pub kind: String,
}

impl Default for PasswordHook {
    fn default() -> Self {
        Self {
            kind: "default".to_owned(),
        }
    }
}

/// `credentials.password` on create: a hash object or the hook flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PasswordCredential {
    /// Import the hash as it is.
    Hash(PasswordHash),
    /// Verify through the password-import inline hook at first sign-in.
    Hook(PasswordHook),
}

/// `credentials` of a create-user body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateCredentials {
    /// The password credential.
    pub password: PasswordCredential,
}

/// Body of `POST /api/v1/users`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateUser {
    /// Profile attributes.
    pub profile: Profile,
    /// How the password gets to Okta.
    pub credentials: CreateCredentials,
}

impl CreateUser {
    /// A user whose hash Okta imports natively.
    pub fn with_hash(profile: Profile, hash: PasswordHash) -> Self {
        Self {
            profile,
            credentials: CreateCredentials {
                password: PasswordCredential::Hash(hash),
            },
        }
    }

    /// A user verified by the password-import hook at first sign-in.
    pub fn with_hook(profile: Profile) -> Self {
        Self {
            profile,
            credentials: CreateCredentials {
                password: PasswordCredential::Hook(PasswordHook::default()),
            },
        }
    }
}

/// `credentials.provider` of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provider {
    /// `IMPORT` for imported/hook users until the password is set, then `OKTA`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Provider name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `credentials` of a user as Okta returns it (write-only parts omitted).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserCredentials {
    /// `{}` when a password exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<serde_json::Value>,
    /// Who owns the credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
}

/// A user as returned by the Users API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Okta user id (`00u…`).
    pub id: String,
    /// `ACTIVE`, `STAGED`, `PROVISIONED`, ...
    #[serde(default)]
    pub status: String,
    /// Profile.
    pub profile: Profile,
    /// Credentials summary.
    #[serde(default)]
    pub credentials: Option<UserCredentials>,
}

impl OktaClient {
    /// `POST /api/v1/users?activate=…`.
    ///
    /// # Errors
    /// [`super::OktaError::Api`] with Okta's error (see
    /// [`super::OktaError::is_login_taken`]), or a transport failure after retries.
    pub async fn create_user(&self, user: &CreateUser, activate: bool) -> Result<User> {
        let mut url = self.url(&["users"]);
        url.query_pairs_mut()
            .append_pair("activate", if activate { "true" } else { "false" });
        self.send_json(BUCKET_CREATE, Method::POST, url, Some(user))
            .await
    }

    /// `GET /api/v1/users/{login}`; `None` when Okta answers 404.
    ///
    /// # Errors
    /// Any other Okta error or a transport failure after retries.
    pub async fn find_user(&self, login_or_id: &str) -> Result<Option<User>> {
        let url = self.url(&["users", login_or_id]);
        match self
            .send_json::<(), User>(BUCKET_GET, Method::GET, url, None)
            .await
        {
            Ok(user) => Ok(Some(user)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /api/v1/users/{id}/lifecycle/reset_password?sendEmail=true`:
    /// Okta emails the user a reset link and moves them to `RECOVERY` (after
    /// which the password-import hook no longer fires for them). Only the
    /// emailing form is offered: with `sendEmail=false` Okta returns the link
    /// itself, a credential passbridge has no business holding.
    ///
    /// Not idempotent (each call sends an email): callers that must not
    /// send twice use a client without 5xx/network retries
    /// ([`OktaClient::without_retries`]) and look the user up when the
    /// outcome is unknown. 429s are still waited out: Okta did nothing.
    ///
    /// # Errors
    /// 404 `E0000007` for an unknown user, 403 for a user whose status
    /// forbids it, or a transport failure.
    pub async fn send_reset_password_email(&self, id: &str) -> Result<()> {
        let mut url = self.url(&["users", id, "lifecycle", "reset_password"]);
        url.query_pairs_mut().append_pair("sendEmail", "true");
        self.send::<()>(BUCKET_LIFECYCLE, Method::POST, url, None)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn profile() -> Profile {
        Profile {
            login: "isaac.brock@example.com".into(),
            email: Some("isaac.brock@example.com".into()),
            first_name: Some("Isaac".into()),
            last_name: Some("Brock".into()),
            extra: BTreeMap::from([("mobilePhone".into(), json!("555-415-1337"))]),
        }
    }

    // OAS example `create-user-with-password-import-inline-hook-request` (protocol §5.1).
    #[test]
    fn hook_user_body_matches_okta_example() {
        let body = serde_json::to_value(CreateUser::with_hook(profile())).unwrap();
        assert_eq!(
            body,
            json!({"profile":{"firstName":"Isaac","lastName":"Brock","email":"isaac.brock@example.com",
                "login":"isaac.brock@example.com","mobilePhone":"555-415-1337"},
                "credentials":{"password":{"hook":{"type":"default"}}}})
        );
    }

    // Okta's BCRYPT and SHA-1 examples from the old Users reference (protocol §5.2).
    #[test]
    fn hash_objects_match_okta_examples() {
        let bcrypt = PasswordHash::from(&OktaHash::Bcrypt {
            work_factor: 10,
            salt: "rwh3vH166HCH/NT9XV5FYu".into(),
            value: "qaMqvAPULkbiQzkTCWo5XDcvzpk8Tna".into(),
        });
        assert_eq!(
            serde_json::to_value(&bcrypt).unwrap(),
            json!({"algorithm":"BCRYPT","workFactor":10,"salt":"rwh3vH166HCH/NT9XV5FYu",
                   "value":"qaMqvAPULkbiQzkTCWo5XDcvzpk8Tna"})
        );
        let sha1 = PasswordHash::from(&OktaHash::Digest {
            algorithm: OktaDigest::Sha1,
            salt: Some(STANDARD.decode("UEO3wsAsgzQ=").unwrap()),
            salt_order: SaltOrder::Postfix,
            value: STANDARD.decode("xjrauE6J6kbjcvMjWSSc+PsBBls=").unwrap(),
        });
        assert_eq!(
            serde_json::to_value(&sha1).unwrap(),
            json!({"algorithm":"SHA-1","salt":"UEO3wsAsgzQ=","saltOrder":"POSTFIX",
                   "value":"xjrauE6J6kbjcvMjWSSc+PsBBls="})
        );
        let unsalted = PasswordHash::from(&OktaHash::Digest {
            algorithm: OktaDigest::Md5,
            salt: None,
            salt_order: SaltOrder::Prefix,
            value: vec![0; 16],
        });
        assert_eq!(
            serde_json::to_value(&unsalted).unwrap(),
            json!({"algorithm":"MD5","value":"AAAAAAAAAAAAAAAAAAAAAA=="})
        );
        let pbkdf2 = PasswordHash::from(&OktaHash::Pbkdf2 {
            digest: OktaPbkdf2Digest::Sha512,
            iterations: 4096,
            salt: STANDARD.decode("RBDXRWs9").unwrap(),
            value: STANDARD
                .decode("eKe8/dcL5gvRsMmp7WwxZq0Y7WAodielIcLaelLlgNs=")
                .unwrap(),
        });
        assert_eq!(
            serde_json::to_value(&pbkdf2).unwrap(),
            json!({"algorithm":"PBKDF2","salt":"RBDXRWs9","value":"eKe8/dcL5gvRsMmp7WwxZq0Y7WAodielIcLaelLlgNs=",
                   "iterationCount":4096,"keySize":32,"digestAlgorithm":"SHA512_HMAC"})
        );
        let debug = format!("{:?}", CreateUser::with_hash(profile(), sha1));
        assert!(
            !debug.contains("xjrau") && !debug.contains("UEO3"),
            "{debug}"
        );
    }
}
