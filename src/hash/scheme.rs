//! The closed set of schemes passbridge verifies, with the names used in the
//! config, the `scheme` column and the CLI (the hash corpus's vocabulary).

use std::fmt;

/// Declares [`Scheme`] and its name/family/self-describing tables in one place,
/// so adding a scheme is one line here plus its parser arm in `mod.rs`.
macro_rules! schemes {
    ($( $variant:ident => $name:literal, $family:literal, $self_describing:literal; )*) => {
        /// Every stored-hash format passbridge knows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Scheme {
            $(
                #[doc = concat!("`", $name, "` (family `", $family, "`)")]
                $variant,
            )*
        }

        impl Scheme {
            /// Every scheme, in declaration order.
            pub const ALL: &'static [Scheme] = &[$(Scheme::$variant,)*];

            /// Canonical name, as in config and the hash corpus.
            pub fn as_str(self) -> &'static str {
                match self { $(Scheme::$variant => $name,)* }
            }

            /// Family (one file of `hash/` each, roughly).
            pub fn family(self) -> &'static str {
                match self { $(Scheme::$variant => $family,)* }
            }

            /// Whether the stored string identifies its own scheme, so no
            /// `scheme` column or config entry is needed.
            pub fn is_self_describing(self) -> bool {
                match self { $(Scheme::$variant => $self_describing,)* }
            }
        }
    };
}

schemes! {
    // bcrypt and relatives
    Bcrypt2 => "bcrypt_2", "bcrypt", true;
    Bcrypt2a => "bcrypt_2a", "bcrypt", true;
    Bcrypt2b => "bcrypt_2b", "bcrypt", true;
    Bcrypt2y => "bcrypt_2y", "bcrypt", true;
    Bcrypt2x => "bcrypt_2x", "bcrypt", true;
    PasslibBcryptSha256 => "passlib_bcrypt_sha256", "bcrypt_sha256", true;
    WordpressBcrypt => "wordpress_bcrypt", "wordpress", true;
    // argon2
    Argon2d => "argon2d", "argon2", true;
    Argon2i => "argon2i", "argon2", true;
    Argon2id => "argon2id", "argon2", true;
    // scrypt and yescrypt
    PasslibScrypt => "passlib_scrypt", "scrypt", true;
    Scrypt7 => "scrypt_7", "scrypt", true;
    ScryptRaw => "scrypt_raw", "scrypt", false;
    FirebaseScrypt => "firebase_scrypt", "firebase_scrypt", false;
    Yescrypt => "yescrypt", "yescrypt", true;
    // PBKDF2 in its many framings
    PasslibPbkdf2Sha1 => "passlib_pbkdf2_sha1", "pbkdf2", true;
    PasslibPbkdf2Sha256 => "passlib_pbkdf2_sha256", "pbkdf2", true;
    PasslibPbkdf2Sha512 => "passlib_pbkdf2_sha512", "pbkdf2", true;
    DjangoPbkdf2Sha1 => "django_pbkdf2_sha1", "pbkdf2", true;
    DjangoPbkdf2Sha256 => "django_pbkdf2_sha256", "pbkdf2", true;
    AtlassianPbkdf2Sha1 => "atlassian_pbkdf2_sha1", "pbkdf2", true;
    GrubPbkdf2Sha512 => "grub_pbkdf2_sha512", "pbkdf2", true;
    LdapPbkdf2Sha1 => "ldap_pbkdf2_sha1", "pbkdf2", true;
    LdapPbkdf2Sha256 => "ldap_pbkdf2_sha256", "pbkdf2", true;
    LdapPbkdf2Sha512 => "ldap_pbkdf2_sha512", "pbkdf2", true;
    CtaPbkdf2Sha1 => "cta_pbkdf2_sha1", "pbkdf2", true;
    DlitzPbkdf2Sha1 => "dlitz_pbkdf2_sha1", "pbkdf2", true;
    Pbkdf2Raw => "pbkdf2_raw", "pbkdf2", false;
    WerkzeugPbkdf2 => "werkzeug_pbkdf2", "werkzeug", true;
    WerkzeugScrypt => "werkzeug_scrypt", "werkzeug", true;
    WerkzeugHmac => "werkzeug_hmac", "werkzeug", false;
    AspnetIdentityV2 => "aspnet_identity_v2", "aspnet_identity", true;
    AspnetIdentityV3 => "aspnet_identity_v3", "aspnet_identity", true;
    // Unix crypt family
    Sha256Crypt => "sha256_crypt", "sha_crypt", true;
    Sha512Crypt => "sha512_crypt", "sha_crypt", true;
    Sha1Crypt => "sha1_crypt", "sha_crypt", true;
    Md5Crypt => "md5_crypt", "md5_crypt", true;
    AprMd5Crypt => "apr_md5_crypt", "apr1", true;
    DesCrypt => "des_crypt", "des_crypt", false;
    BsdiCrypt => "bsdi_crypt", "bsdi_crypt", true;
    // PHP applications
    PhpassP => "phpass_P", "phpass", true;
    PhpassH => "phpass_H", "phpass", true;
    Drupal7Sha512 => "drupal7_sha512", "drupal7", true;
    // Django
    DjangoArgon2 => "django_argon2", "django", true;
    DjangoBcrypt => "django_bcrypt", "django", true;
    DjangoBcryptSha256 => "django_bcrypt_sha256", "django", true;
    DjangoScrypt => "django_scrypt", "django", true;
    DjangoSaltedMd5 => "django_salted_md5", "django", true;
    DjangoSaltedSha1 => "django_salted_sha1", "django", true;
    DjangoUnsaltedMd5 => "django_unsalted_md5", "django", false;
    DjangoUnsaltedSha1 => "django_unsalted_sha1", "django", true;
    DjangoDesCrypt => "django_des_crypt", "django", true;
    // LDAP userPassword tags
    LdapMd5 => "ldap_md5", "ldap", true;
    LdapSaltedMd5 => "ldap_salted_md5", "ldap", true;
    LdapSha1 => "ldap_sha1", "ldap", true;
    LdapHexMd5 => "ldap_hex_md5", "ldap", true;
    LdapHexSha1 => "ldap_hex_sha1", "ldap", true;
    LdapSaltedSha1 => "ldap_salted_sha1", "ldap", true;
    LdapSha256 => "ldap_sha256", "ldap", true;
    LdapSaltedSha256 => "ldap_salted_sha256", "ldap", true;
    LdapSha384 => "ldap_sha384", "ldap", true;
    LdapSaltedSha384 => "ldap_salted_sha384", "ldap", true;
    LdapSha512 => "ldap_sha512", "ldap", true;
    LdapSaltedSha512 => "ldap_salted_sha512", "ldap", true;
    LdapCrypt => "ldap_crypt", "ldap", true;
    // Bare and salted digests: never self-describing
    HexMd4 => "hex_md4", "raw_digest", false;
    HexMd5 => "hex_md5", "raw_digest", false;
    HexSha1 => "hex_sha1", "raw_digest", false;
    HexSha224 => "hex_sha224", "raw_digest", false;
    HexSha256 => "hex_sha256", "raw_digest", false;
    HexSha384 => "hex_sha384", "raw_digest", false;
    HexSha512 => "hex_sha512", "raw_digest", false;
    SaltedMd5 => "salted_md5", "salted_digest", false;
    SaltedSha1 => "salted_sha1", "salted_digest", false;
    SaltedSha224 => "salted_sha224", "salted_digest", false;
    SaltedSha256 => "salted_sha256", "salted_digest", false;
    SaltedSha384 => "salted_sha384", "salted_digest", false;
    SaltedSha512 => "salted_sha512", "salted_digest", false;
    HmacMd5 => "hmac_md5", "hmac", false;
    HmacSha1 => "hmac_sha1", "hmac", false;
    HmacSha224 => "hmac_sha224", "hmac", false;
    HmacSha256 => "hmac_sha256", "hmac", false;
    HmacSha384 => "hmac_sha384", "hmac", false;
    HmacSha512 => "hmac_sha512", "hmac", false;
    // Database servers
    Mysql323 => "mysql323", "mysql", false;
    Mysql41 => "mysql41", "mysql", true;
    MysqlCachingSha2 => "mysql_caching_sha2", "mysql", true;
    PostgresMd5 => "postgres_md5", "postgres", false;
    PostgresScramSha256 => "postgres_scram_sha256", "postgres", true;
    Mssql2000 => "mssql2000", "mssql", true;
    Mssql2005 => "mssql2005", "mssql", true;
    Mssql2012 => "mssql2012", "mssql", true;
    // Windows and network gear
    Nthash => "nthash", "nthash", false;
    Nthash3 => "nthash_3", "nthash", true;
    CiscoType7 => "cisco_type7", "cisco", false;
    CiscoPix => "cisco_pix", "cisco", false;
    CiscoAsa => "cisco_asa", "cisco", false;
    // Spring Security DelegatingPasswordEncoder `{id}` framing
    SpringBcrypt => "spring_bcrypt", "spring", true;
    SpringScrypt => "spring_scrypt", "spring", true;
    SpringPbkdf2 => "spring_pbkdf2", "spring", true;
    SpringArgon2 => "spring_argon2", "spring", true;
    SpringSha256 => "spring_sha256", "spring", true;
    SpringMessageDigest => "spring_message_digest", "spring", true;
    SpringNoop => "spring_noop", "spring", true;
}

/// Names users type that stand for a set of schemes (`bcrypt` for any `$2?$`).
/// With an alias, the stored string picks the exact member.
const ALIASES: &[(&str, &[Scheme])] = &[
    (
        "bcrypt",
        &[
            Scheme::Bcrypt2a,
            Scheme::Bcrypt2b,
            Scheme::Bcrypt2y,
            Scheme::Bcrypt2x,
            Scheme::Bcrypt2,
        ],
    ),
    (
        "argon2",
        &[Scheme::Argon2d, Scheme::Argon2i, Scheme::Argon2id],
    ),
    ("sha512crypt", &[Scheme::Sha512Crypt]),
    ("sha256crypt", &[Scheme::Sha256Crypt]),
    ("md5crypt", &[Scheme::Md5Crypt]),
    ("sha1crypt", &[Scheme::Sha1Crypt]),
    ("apr1", &[Scheme::AprMd5Crypt]),
    ("phpass", &[Scheme::PhpassP, Scheme::PhpassH]),
    ("wordpress", &[Scheme::PhpassP, Scheme::WordpressBcrypt]),
    ("drupal7", &[Scheme::Drupal7Sha512]),
    ("md4", &[Scheme::HexMd4]),
    ("md5", &[Scheme::HexMd5]),
    ("sha1", &[Scheme::HexSha1]),
    ("sha256", &[Scheme::HexSha256]),
    ("sha512", &[Scheme::HexSha512]),
    ("ssha", &[Scheme::LdapSaltedSha1]),
    ("smd5", &[Scheme::LdapSaltedMd5]),
    ("ssha256", &[Scheme::LdapSaltedSha256]),
    ("ssha384", &[Scheme::LdapSaltedSha384]),
    ("ssha512", &[Scheme::LdapSaltedSha512]),
    (
        "ldap",
        &[
            Scheme::LdapMd5,
            Scheme::LdapSaltedMd5,
            Scheme::LdapSha1,
            Scheme::LdapHexMd5,
            Scheme::LdapHexSha1,
            Scheme::LdapSaltedSha1,
            Scheme::LdapSha256,
            Scheme::LdapSaltedSha256,
            Scheme::LdapSha384,
            Scheme::LdapSaltedSha384,
            Scheme::LdapSha512,
            Scheme::LdapSaltedSha512,
            Scheme::LdapCrypt,
        ],
    ),
    (
        "mysql",
        &[Scheme::Mysql41, Scheme::Mysql323, Scheme::MysqlCachingSha2],
    ),
    ("mysql_native_password", &[Scheme::Mysql41]),
    ("old_password", &[Scheme::Mysql323]),
    ("caching_sha2_password", &[Scheme::MysqlCachingSha2]),
    (
        "postgres",
        &[Scheme::PostgresMd5, Scheme::PostgresScramSha256],
    ),
    (
        "postgresql",
        &[Scheme::PostgresMd5, Scheme::PostgresScramSha256],
    ),
    ("scram_sha_256", &[Scheme::PostgresScramSha256]),
    (
        "mssql",
        &[Scheme::Mssql2000, Scheme::Mssql2005, Scheme::Mssql2012],
    ),
    ("ntlm", &[Scheme::Nthash]),
    ("nt", &[Scheme::Nthash]),
    ("type7", &[Scheme::CiscoType7]),
    ("pix", &[Scheme::CiscoPix]),
    ("asa", &[Scheme::CiscoAsa]),
    (
        "django",
        &[
            Scheme::DjangoArgon2,
            Scheme::DjangoBcrypt,
            Scheme::DjangoBcryptSha256,
            Scheme::DjangoScrypt,
            Scheme::DjangoSaltedMd5,
            Scheme::DjangoSaltedSha1,
            Scheme::DjangoUnsaltedMd5,
            Scheme::DjangoUnsaltedSha1,
            Scheme::DjangoDesCrypt,
        ],
    ),
    (
        "spring",
        &[
            Scheme::SpringBcrypt,
            Scheme::SpringScrypt,
            Scheme::SpringPbkdf2,
            Scheme::SpringArgon2,
            Scheme::SpringSha256,
            Scheme::SpringMessageDigest,
            Scheme::SpringNoop,
        ],
    ),
    (
        "scrypt",
        &[
            Scheme::PasslibScrypt,
            Scheme::Scrypt7,
            Scheme::WerkzeugScrypt,
        ],
    ),
    (
        "pbkdf2",
        &[
            Scheme::PasslibPbkdf2Sha1,
            Scheme::PasslibPbkdf2Sha256,
            Scheme::PasslibPbkdf2Sha512,
            Scheme::DjangoPbkdf2Sha1,
            Scheme::DjangoPbkdf2Sha256,
            Scheme::AtlassianPbkdf2Sha1,
            Scheme::GrubPbkdf2Sha512,
            Scheme::LdapPbkdf2Sha1,
            Scheme::LdapPbkdf2Sha256,
            Scheme::LdapPbkdf2Sha512,
            Scheme::CtaPbkdf2Sha1,
            Scheme::DlitzPbkdf2Sha1,
            Scheme::WerkzeugPbkdf2,
            Scheme::AspnetIdentityV2,
            Scheme::AspnetIdentityV3,
        ],
    ),
    // Names of applications and tools for the hashes they store.
    ("bcrypt_sha256", &[Scheme::PasslibBcryptSha256]),
    (
        "php_password_hash",
        &[Scheme::Bcrypt2y, Scheme::Argon2i, Scheme::Argon2id],
    ),
    (
        "laravel",
        &[Scheme::Bcrypt2y, Scheme::Argon2i, Scheme::Argon2id],
    ),
    (
        "sha_crypt",
        &[Scheme::Sha256Crypt, Scheme::Sha512Crypt, Scheme::Sha1Crypt],
    ),
    ("gost_yescrypt", &[Scheme::Yescrypt]),
    ("des", &[Scheme::DesCrypt]),
    ("descrypt", &[Scheme::DesCrypt]),
    ("bsdicrypt", &[Scheme::BsdiCrypt]),
    ("phpbb", &[Scheme::PhpassH]),
    (
        "drupal",
        &[Scheme::Drupal7Sha512, Scheme::PhpassP, Scheme::PhpassH],
    ),
    (
        "aspnet",
        &[Scheme::AspnetIdentityV2, Scheme::AspnetIdentityV3],
    ),
    (
        "aspnet_identity",
        &[Scheme::AspnetIdentityV2, Scheme::AspnetIdentityV3],
    ),
    (
        "werkzeug",
        &[Scheme::WerkzeugPbkdf2, Scheme::WerkzeugScrypt],
    ),
    ("flask", &[Scheme::WerkzeugPbkdf2, Scheme::WerkzeugScrypt]),
    ("firebase", &[Scheme::FirebaseScrypt]),
    ("atlassian", &[Scheme::AtlassianPbkdf2Sha1]),
    ("pkcs5s2", &[Scheme::AtlassianPbkdf2Sha1]),
    ("grub", &[Scheme::GrubPbkdf2Sha512]),
    // passlib's handler names where the corpus's canonical name differs.
    ("bsd_nthash", &[Scheme::Nthash3]),
    ("ldap_des_crypt", &[Scheme::LdapCrypt]),
    ("ldap_bsdi_crypt", &[Scheme::LdapCrypt]),
    ("ldap_md5_crypt", &[Scheme::LdapCrypt]),
    ("ldap_bcrypt", &[Scheme::LdapCrypt]),
    ("ldap_sha1_crypt", &[Scheme::LdapCrypt]),
    ("ldap_sha256_crypt", &[Scheme::LdapCrypt]),
    ("ldap_sha512_crypt", &[Scheme::LdapCrypt]),
    (
        "pbkdf2_sha1",
        &[Scheme::PasslibPbkdf2Sha1, Scheme::DjangoPbkdf2Sha1],
    ),
    (
        "pbkdf2_sha256",
        &[Scheme::PasslibPbkdf2Sha256, Scheme::DjangoPbkdf2Sha256],
    ),
    ("pbkdf2_sha512", &[Scheme::PasslibPbkdf2Sha512]),
    // Cisco IOS type 5 is md5-crypt.
    ("cisco_type5", &[Scheme::Md5Crypt]),
    // Werkzeug < 2.3 named the digest as the method (`sha256$salt$hmac`).
    ("werkzeug_md5", &[Scheme::WerkzeugHmac]),
    ("werkzeug_sha1", &[Scheme::WerkzeugHmac]),
    ("werkzeug_sha224", &[Scheme::WerkzeugHmac]),
    ("werkzeug_sha256", &[Scheme::WerkzeugHmac]),
    ("werkzeug_sha384", &[Scheme::WerkzeugHmac]),
    ("werkzeug_sha512", &[Scheme::WerkzeugHmac]),
];

/// What a scheme name given by a user resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemeName {
    /// Exactly one scheme.
    Exact(Scheme),
    /// One of several; the stored string decides which.
    AnyOf(&'static [Scheme]),
}

impl SchemeName {
    /// Resolves a name: canonical names and aliases, case-insensitive,
    /// `-` and `_` interchangeable.
    pub fn parse(name: &str) -> super::Result<Self> {
        let wanted = name.trim().to_ascii_lowercase().replace('-', "_");
        if let Some(s) = Scheme::ALL
            .iter()
            .find(|s| s.as_str().to_ascii_lowercase() == wanted)
        {
            return Ok(Self::Exact(*s));
        }
        if let Some((_, set)) = ALIASES.iter().find(|(alias, _)| *alias == wanted) {
            return Ok(match set {
                [one] => Self::Exact(*one),
                many => Self::AnyOf(many),
            });
        }
        Err(super::HashError::UnknownScheme(name.to_owned()))
    }

    /// Whether `scheme` is covered by this name.
    pub fn covers(self, scheme: Scheme) -> bool {
        match self {
            Self::Exact(s) => s == scheme,
            Self::AnyOf(set) => set.contains(&scheme),
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Scheme {
    type Err = super::HashError;

    fn from_str(s: &str) -> super::Result<Self> {
        match SchemeName::parse(s)? {
            SchemeName::Exact(scheme) => Ok(scheme),
            SchemeName::AnyOf(set) => set
                .first()
                .copied()
                .ok_or_else(|| super::HashError::UnknownScheme(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for s in Scheme::ALL {
            assert!(seen.insert(s.as_str()), "duplicate name {}", s.as_str());
            assert_eq!(SchemeName::parse(s.as_str()), Ok(SchemeName::Exact(*s)));
        }
    }

    #[test]
    fn aliases_resolve_and_unknown_names_fail() {
        assert!(SchemeName::parse("BCRYPT")
            .map(|n| n.covers(Scheme::Bcrypt2y))
            .unwrap_or(false));
        assert_eq!(
            SchemeName::parse("salted-sha256"),
            Ok(SchemeName::Exact(Scheme::SaltedSha256))
        );
        assert!(SchemeName::parse("rot13").is_err());
    }

    // passlib's handler names resolve to the corpus's schemes.
    #[test]
    fn passlib_names_resolve() {
        assert_eq!(
            SchemeName::parse("bsd_nthash"),
            Ok(SchemeName::Exact(Scheme::Nthash3))
        );
        assert_eq!(
            SchemeName::parse("ldap_sha1_crypt"),
            Ok(SchemeName::Exact(Scheme::LdapCrypt))
        );
        assert!(SchemeName::parse("pbkdf2_sha256")
            .map(|n| n.covers(Scheme::DjangoPbkdf2Sha256) && n.covers(Scheme::PasslibPbkdf2Sha256))
            .unwrap_or(false));
    }
}
