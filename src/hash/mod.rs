//! The verifier library: identify a stored legacy hash, parse it once into
//! decoded material, and verify a candidate password against it.
//!
//! Pure and synchronous: no tokio, no sqlx, no HTTP. Callers on an async
//! runtime must move [`StoredHash::verify`] onto a blocking thread. Nothing
//! here logs, and no error or `Debug` output contains a hash, salt or password.

mod argon2;
mod aspnet_identity;
mod bcrypt;
mod cisco;
mod des_crypt;
mod digest;
mod django;
mod encoding;
mod error;
mod firebase_scrypt;
pub mod lanes;
mod ldap;
mod limits;
mod md5_crypt;
mod mssql;
mod mysql;
mod nthash;
mod okta;
mod pbkdf2;
mod phpass;
mod postgres;
mod scheme;
mod scrypt;
mod sha1_crypt;
mod sha_crypt;
mod shape;
mod spring;
mod werkzeug;
mod xcrypt;
mod yescrypt;

use std::collections::BTreeMap;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};

pub use error::{HashError, Result};
pub use limits::Limits;
pub use okta::{OktaDigest, OktaHash, OktaPbkdf2Digest, SaltOrder};
pub use scheme::{Scheme, SchemeName};
pub use shape::Work;

/// Outcome of a verification. A wrong password is a normal outcome, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The password matches the stored hash.
    Match,
    /// It does not.
    Mismatch,
}

impl Verdict {
    /// `Match` when `ok`.
    pub fn from_bool(ok: bool) -> Self {
        if ok {
            Self::Match
        } else {
            Self::Mismatch
        }
    }
}

/// Data a hash may need that is not in the stored string: a separate salt
/// column, the login (PostgreSQL md5, Cisco), or `params` such as
/// `salt_position`, `salt_encoding`, `encoding`, `iterations`, `pepper`.
/// Keys are the hash corpus's `params` keys.
#[derive(Clone, Default)]
pub struct Hints {
    /// Salt column value, as stored (its encoding is `params.salt_encoding`).
    pub salt: Option<String>,
    /// The login, for schemes that mix it into the hash.
    pub username: Option<String>,
    /// Further parameters, values as strings.
    pub params: BTreeMap<String, String>,
}

impl fmt::Debug for Hints {
    // The pepper is a secret; list only which keys are present.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hints")
            .field("salt", &self.salt.as_ref().map(|_| "<set>"))
            .field("params", &self.params.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Hints {
    /// A parameter by key.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }

    /// Builder: adds or replaces a parameter.
    #[must_use]
    pub fn with_param(mut self, key: &str, value: impl Into<String>) -> Self {
        self.params.insert(key.to_owned(), value.into());
        self
    }

    /// Builder: sets the salt.
    #[must_use]
    pub fn with_salt(mut self, salt: impl Into<String>) -> Self {
        self.salt = Some(salt.into());
        self
    }

    /// Builder: sets the username.
    #[must_use]
    pub fn with_username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }
}

/// One descriptive parameter of a parsed hash (cost, rounds, salt length...):
/// never the salt or digest themselves.
pub type Param = (&'static str, String);

/// Behaviour every family's decoded material provides.
pub(crate) trait Family: Send + Sync {
    /// Compares in constant time (or through the crate's own verifier).
    fn verify(&self, password: &[u8]) -> Result<Verdict>;
    /// Parameters for `hash identify` and audits.
    fn params(&self) -> Vec<Param>;
    /// How Okta's user import could take this hash as it is, if at all.
    fn okta_native(&self) -> Option<OktaHash> {
        None
    }
}

/// Decoded material, one variant per family implementation.
enum Material {
    Cisco(cisco::CiscoHash),
    Digest(digest::DigestHash),
    Bcrypt(bcrypt::BcryptHash),
    Argon2(argon2::Argon2Hash),
    ShaCrypt(sha_crypt::ShaCryptHash),
    Sha1Crypt(sha1_crypt::Sha1CryptHash),
    Md5Crypt(md5_crypt::Md5CryptHash),
    Pbkdf2(pbkdf2::Pbkdf2Hash),
    Phpass(phpass::PhpassHash),
    Scrypt(scrypt::ScryptHash),
    Werkzeug(werkzeug::WerkzeugHash),
    DesCrypt(des_crypt::DesCryptHash),
    Yescrypt(yescrypt::YescryptHash),
    Firebase(firebase_scrypt::FirebaseHash),
    Django(django::DjangoHash),
    Ldap(ldap::LdapHash),
    Mssql(mssql::MssqlHash),
    Mysql(mysql::MysqlHash),
    Nthash(nthash::NtHash),
    Postgres(postgres::PostgresHash),
    Spring(spring::SpringHash),
}

impl Material {
    fn family(&self) -> &dyn Family {
        match self {
            Material::Cisco(m) => m,
            Material::Digest(m) => m,
            Material::Bcrypt(m) => m,
            Material::Argon2(m) => m,
            Material::ShaCrypt(m) => m,
            Material::Sha1Crypt(m) => m,
            Material::Md5Crypt(m) => m,
            Material::Pbkdf2(m) => m,
            Material::Phpass(m) => m,
            Material::Scrypt(m) => m,
            Material::Werkzeug(m) => m,
            Material::DesCrypt(m) => m,
            Material::Yescrypt(m) => m,
            Material::Firebase(m) => m,
            Material::Django(m) => m,
            Material::Ldap(m) => m,
            Material::Mssql(m) => m,
            Material::Mysql(m) => m,
            Material::Nthash(m) => m,
            Material::Postgres(m) => m,
            Material::Spring(m) => m,
        }
    }
}

/// A legacy hash parsed once into decoded material.
pub struct StoredHash {
    scheme: Scheme,
    material: Material,
}

impl fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredHash")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

/// Identifies a self-describing string by its prefix, without parsing it.
/// Each family recognises its own markers; the first that claims the string wins.
pub fn detect(stored: &str) -> Option<Scheme> {
    let s = stored.trim();
    detect_mcf(s)
        .or_else(|| ldap::detect_hex(s))
        .or_else(|| spring::detect(s))
        .or_else(|| detect_pbkdf2_tags(s))
        .or_else(|| ldap::detect(s))
        .or_else(|| django::detect(s))
        .or_else(|| mysql::detect(s))
        .or_else(|| postgres::detect(s))
        .or_else(|| mssql::detect(s))
        .or_else(|| aspnet_identity::detect(s))
}

/// Modular-crypt `$id$…` strings, phpass/Drupal markers and grub's PBKDF2.
fn detect_mcf(s: &str) -> Option<Scheme> {
    if let Some(rest) = s.strip_prefix('$') {
        let id = rest.split('$').next().unwrap_or_default();
        return match id {
            "2" => Some(Scheme::Bcrypt2),
            "2a" => Some(Scheme::Bcrypt2a),
            "2b" => Some(Scheme::Bcrypt2b),
            "2x" => Some(Scheme::Bcrypt2x),
            "2y" => Some(Scheme::Bcrypt2y),
            "bcrypt-sha256" => Some(Scheme::PasslibBcryptSha256),
            "wp" if rest.starts_with("wp$2") => Some(Scheme::WordpressBcrypt),
            "argon2d" => Some(Scheme::Argon2d),
            "argon2i" => Some(Scheme::Argon2i),
            "argon2id" => Some(Scheme::Argon2id),
            "5" => Some(Scheme::Sha256Crypt),
            "6" => Some(Scheme::Sha512Crypt),
            "sha1" => Some(Scheme::Sha1Crypt),
            "1" => Some(Scheme::Md5Crypt),
            "apr1" => Some(Scheme::AprMd5Crypt),
            "pbkdf2" => Some(Scheme::PasslibPbkdf2Sha1),
            "pbkdf2-sha256" => Some(Scheme::PasslibPbkdf2Sha256),
            "pbkdf2-sha512" => Some(Scheme::PasslibPbkdf2Sha512),
            "p5k2" => pbkdf2::detect_p5k2(s),
            "P" => Some(Scheme::PhpassP),
            "H" => Some(Scheme::PhpassH),
            "S" => Some(Scheme::Drupal7Sha512),
            "scrypt" => Some(Scheme::PasslibScrypt),
            "7" => Some(Scheme::Scrypt7),
            "y" | "gy" => Some(Scheme::Yescrypt),
            "3" => Some(Scheme::Nthash3),
            "A" => Some(Scheme::MysqlCachingSha2),
            _ => None,
        };
    }
    // Drupal 7 marks Drupal 6 MD5 hashes it upgraded in place with `U`.
    if let Some(rest) = s.strip_prefix("U$") {
        return match rest.split('$').next() {
            Some("S") => Some(Scheme::Drupal7Sha512),
            Some("P") => Some(Scheme::PhpassP),
            Some("H") => Some(Scheme::PhpassH),
            _ => None,
        };
    }
    if s.starts_with("pbkdf2:") || s.starts_with("pbkdf2$") {
        return Some(Scheme::WerkzeugPbkdf2);
    }
    // Werkzeug's bare `scrypt$salt$hex`; Django's `scrypt$N$salt$r$p$hash`
    // has more fields.
    if s.starts_with("scrypt:") || (s.starts_with("scrypt$") && s.matches('$').count() == 2) {
        return Some(Scheme::WerkzeugScrypt);
    }
    // BSDi extended DES: `_`, 4 count, 4 salt and 11 hash characters.
    if s.len() == 20 && s.starts_with('_') {
        return Some(Scheme::BsdiCrypt);
    }
    if s.starts_with("grub.pbkdf2.") {
        return Some(Scheme::GrubPbkdf2Sha512);
    }
    match s.split_once('$').map(|(algo, _)| algo) {
        Some("pbkdf2_sha256") => Some(Scheme::DjangoPbkdf2Sha256),
        Some("pbkdf2_sha1") => Some(Scheme::DjangoPbkdf2Sha1),
        _ => None,
    }
}

/// `{PKCS5S2}` and the `{PBKDF2…}` LDAP tags (other tags are `ldap::detect`'s).
fn detect_pbkdf2_tags(s: &str) -> Option<Scheme> {
    let rest = s.strip_prefix('{')?;
    let tag = rest.split('}').next().unwrap_or_default();
    match tag.to_ascii_uppercase().as_str() {
        "PKCS5S2" => Some(Scheme::AtlassianPbkdf2Sha1),
        "PBKDF2" | "PBKDF2-SHA1" => Some(Scheme::LdapPbkdf2Sha1),
        "PBKDF2-SHA256" => Some(Scheme::LdapPbkdf2Sha256),
        "PBKDF2-SHA512" => Some(Scheme::LdapPbkdf2Sha512),
        _ => None,
    }
}

/// The first few characters of a value, safe to put in an error message.
pub(crate) fn safe_prefix(stored: &str) -> String {
    stored.chars().take(5).collect()
}

impl StoredHash {
    /// Parses a self-describing hash (`$id$…`, `{TAG}…`, Django `algo$…`, ...).
    ///
    /// # Errors
    /// [`HashError::Unrecognised`] when the string does not name its scheme,
    /// or the scheme's own parse error.
    pub fn parse(stored: &str, limits: &Limits) -> Result<Self> {
        let scheme = detect(stored).ok_or_else(|| HashError::Unrecognised {
            prefix: safe_prefix(stored),
        })?;
        Self::parse_as(scheme, stored, &Hints::default(), limits)
    }

    /// Parses with the scheme known (from config, a column or the CLI).
    ///
    /// # Errors
    /// The scheme's parse error: malformed layout, missing hint, cost over limit.
    pub fn parse_as(scheme: Scheme, stored: &str, hints: &Hints, limits: &Limits) -> Result<Self> {
        let stored = stored.trim_end_matches(['\r', '\n']);
        let material = match scheme {
            Scheme::HexMd4
            | Scheme::HexMd5
            | Scheme::HexSha1
            | Scheme::HexSha224
            | Scheme::HexSha256
            | Scheme::HexSha384
            | Scheme::HexSha512
            | Scheme::SaltedMd5
            | Scheme::SaltedSha1
            | Scheme::SaltedSha224
            | Scheme::SaltedSha256
            | Scheme::SaltedSha384
            | Scheme::SaltedSha512
            | Scheme::HmacMd5
            | Scheme::HmacSha1
            | Scheme::HmacSha224
            | Scheme::HmacSha256
            | Scheme::HmacSha384
            | Scheme::HmacSha512 => Material::Digest(digest::parse(scheme, stored, hints)?),
            Scheme::Bcrypt2
            | Scheme::Bcrypt2a
            | Scheme::Bcrypt2b
            | Scheme::Bcrypt2x
            | Scheme::Bcrypt2y
            | Scheme::PasslibBcryptSha256
            | Scheme::WordpressBcrypt => Material::Bcrypt(bcrypt::parse(scheme, stored, limits)?),
            Scheme::Argon2d | Scheme::Argon2i | Scheme::Argon2id => {
                Material::Argon2(argon2::parse(scheme, stored, hints, limits)?)
            }
            Scheme::Sha256Crypt | Scheme::Sha512Crypt => {
                Material::ShaCrypt(sha_crypt::parse(scheme, stored, limits)?)
            }
            Scheme::Sha1Crypt => Material::Sha1Crypt(sha1_crypt::parse(stored, limits)?),
            Scheme::Md5Crypt | Scheme::AprMd5Crypt => {
                Material::Md5Crypt(md5_crypt::parse(scheme, stored)?)
            }
            Scheme::PasslibPbkdf2Sha1
            | Scheme::PasslibPbkdf2Sha256
            | Scheme::PasslibPbkdf2Sha512
            | Scheme::DjangoPbkdf2Sha1
            | Scheme::DjangoPbkdf2Sha256
            | Scheme::AtlassianPbkdf2Sha1
            | Scheme::GrubPbkdf2Sha512
            | Scheme::LdapPbkdf2Sha1
            | Scheme::LdapPbkdf2Sha256
            | Scheme::LdapPbkdf2Sha512
            | Scheme::CtaPbkdf2Sha1
            | Scheme::DlitzPbkdf2Sha1
            | Scheme::Pbkdf2Raw => Material::Pbkdf2(pbkdf2::parse(scheme, stored, hints, limits)?),
            Scheme::PasslibScrypt | Scheme::Scrypt7 | Scheme::ScryptRaw => {
                Material::Scrypt(scrypt::parse(scheme, stored, hints, limits)?)
            }
            Scheme::AspnetIdentityV2 | Scheme::AspnetIdentityV3 => {
                Material::Pbkdf2(aspnet_identity::parse(scheme, stored, limits)?)
            }
            Scheme::Yescrypt => Material::Yescrypt(yescrypt::parse(scheme, stored, limits)?),
            Scheme::FirebaseScrypt => {
                Material::Firebase(firebase_scrypt::parse(scheme, stored, hints, limits)?)
            }
            Scheme::DesCrypt | Scheme::BsdiCrypt => {
                Material::DesCrypt(des_crypt::parse(scheme, stored, limits)?)
            }
            Scheme::WerkzeugPbkdf2 | Scheme::WerkzeugScrypt | Scheme::WerkzeugHmac => {
                Material::Werkzeug(werkzeug::parse(scheme, stored, hints, limits)?)
            }
            Scheme::PhpassP | Scheme::PhpassH | Scheme::Drupal7Sha512 => {
                Material::Phpass(phpass::parse(scheme, stored, limits)?)
            }
            Scheme::LdapMd5
            | Scheme::LdapSaltedMd5
            | Scheme::LdapSha1
            | Scheme::LdapHexMd5
            | Scheme::LdapHexSha1
            | Scheme::LdapSaltedSha1
            | Scheme::LdapSha256
            | Scheme::LdapSaltedSha256
            | Scheme::LdapSha384
            | Scheme::LdapSaltedSha384
            | Scheme::LdapSha512
            | Scheme::LdapSaltedSha512
            | Scheme::LdapCrypt => Material::Ldap(ldap::parse(scheme, stored, hints, limits)?),
            Scheme::Mysql323 | Scheme::Mysql41 | Scheme::MysqlCachingSha2 => {
                Material::Mysql(mysql::parse(scheme, stored, limits)?)
            }
            Scheme::Mssql2000 | Scheme::Mssql2005 | Scheme::Mssql2012 => {
                Material::Mssql(mssql::parse(scheme, stored)?)
            }
            Scheme::Nthash | Scheme::Nthash3 => {
                Material::Nthash(nthash::parse(scheme, stored, hints)?)
            }
            Scheme::DjangoArgon2
            | Scheme::DjangoBcrypt
            | Scheme::DjangoBcryptSha256
            | Scheme::DjangoScrypt
            | Scheme::DjangoSaltedMd5
            | Scheme::DjangoSaltedSha1
            | Scheme::DjangoUnsaltedMd5
            | Scheme::DjangoUnsaltedSha1
            | Scheme::DjangoDesCrypt => Material::Django(django::parse(scheme, stored, limits)?),
            Scheme::SpringBcrypt
            | Scheme::SpringScrypt
            | Scheme::SpringPbkdf2
            | Scheme::SpringArgon2
            | Scheme::SpringSha256
            | Scheme::SpringMessageDigest
            | Scheme::SpringNoop => Material::Spring(spring::parse(scheme, stored, hints, limits)?),
            Scheme::CiscoType7 | Scheme::CiscoPix | Scheme::CiscoAsa => {
                Material::Cisco(cisco::parse(scheme, stored, hints)?)
            }
            Scheme::PostgresMd5 | Scheme::PostgresScramSha256 => {
                Material::Postgres(postgres::parse(scheme, stored, hints, limits)?)
            }
        };
        Ok(Self { scheme, material })
    }

    /// Parses with an optional user-given scheme name (exact or alias such as
    /// `bcrypt`). Without a name the string must describe itself; with an alias
    /// the string picks the member.
    ///
    /// # Errors
    /// Unknown scheme name, a string that is not of the named scheme, or a parse error.
    pub fn parse_with(
        name: Option<&str>,
        stored: &str,
        hints: &Hints,
        limits: &Limits,
    ) -> Result<Self> {
        let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
            let scheme = detect(stored).ok_or_else(|| HashError::Unrecognised {
                prefix: safe_prefix(stored),
            })?;
            return Self::parse_as(scheme, stored, hints, limits);
        };
        let scheme = match SchemeName::parse(name)? {
            SchemeName::Exact(s) => s,
            SchemeName::AnyOf(set) => {
                // A value that names no scheme goes to the set's only
                // non-self-describing member (`mysql` + 16 hex is mysql323).
                let fallback: Vec<Scheme> = set
                    .iter()
                    .copied()
                    .filter(|s| !s.is_self_describing())
                    .collect();
                match (detect(stored), fallback.as_slice()) {
                    (Some(found), _) if set.contains(&found) => found,
                    (None, [only]) => *only,
                    _ => {
                        return Err(HashError::malformed(
                            set.first().map_or("unknown", |s| s.as_str()),
                            format!("value is not a {name} hash"),
                        ))
                    }
                }
            }
        };
        Self::parse_as(scheme, stored, hints, limits)
    }

    /// The scheme this hash was parsed as.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// Verifies `password`, after checking it against `limits.max_password_bytes`.
    ///
    /// # Errors
    /// [`HashError::PasswordTooLong`], or a scheme-specific failure.
    pub fn verify(&self, password: &SecretString, limits: &Limits) -> Result<Verdict> {
        let bytes = password.expose_secret().as_bytes();
        if bytes.len() > limits.max_password_bytes {
            return Err(HashError::PasswordTooLong {
                limit: limits.max_password_bytes,
            });
        }
        self.material.family().verify(bytes)
    }

    /// Descriptive parameters: cost, rounds, salt length. Never secrets.
    pub fn params(&self) -> Vec<Param> {
        self.material.family().params()
    }

    /// Whether Okta's user import can take this hash natively, and how.
    pub fn okta_native(&self) -> Option<OktaHash> {
        self.material.family().okta_native()
    }
}

/// Helpers shared by the families' known-answer tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Family, Verdict};

    /// Asserts that `hash` accepts `good` and rejects `bad`; `context`
    /// (the stored value) names the failing vector.
    #[allow(clippy::unwrap_used)]
    pub(crate) fn assert_match_and_mismatch(
        hash: &dyn Family,
        good: &[u8],
        bad: &[u8],
        context: &str,
    ) {
        assert_eq!(hash.verify(good).unwrap(), Verdict::Match, "{context}");
        assert_eq!(hash.verify(bad).unwrap(), Verdict::Mismatch, "{context}");
    }
}
