//! Properties of the verifier library, over generated passwords and salts:
//!
//! - for each family a crate in the tree can hash (bcrypt, argon2, PBKDF2 in
//!   Django's framing, bare hex digests, LDAP salted SHA-1, MySQL 4.1),
//!   `verify(p, hash(p))` matches, and flipping one bit of the password or
//!   of the stored digest mismatches;
//! - identification of those hashes names the scheme whose parser accepts
//!   them, and on arbitrary strings neither identification nor parsing
//!   panics, and a parse that succeeds agrees with identification;
//! - where a family renders (look-alike hashes, the Okta hash object), the
//!   parsed parameters survive the round trip.
//!
//! Costs are the cheapest each family allows and case counts small, so this
//! file adds about a second to `cargo test`.

use base64::engine::general_purpose::{GeneralPurpose, NO_PAD, STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use passbridge::hash::{detect, Hints, Limits, Scheme, StoredHash, Verdict};
use proptest::prelude::*;
use secrecy::SecretString;
use sha1::Digest as _;

const BCRYPT_B64: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::BCRYPT, NO_PAD);

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn limits() -> Limits {
    Limits::default()
}

fn verify(stored: &str, password: &str) -> Verdict {
    StoredHash::parse(stored, &limits())
        .unwrap_or_else(|e| panic!("parse: {e}"))
        .verify(&SecretString::from(password.to_owned()), &limits())
        .unwrap_or_else(|e| panic!("verify: {e}"))
}

fn verify_as(scheme: Scheme, stored: &str, password: &str) -> Verdict {
    StoredHash::parse_as(scheme, stored, &Hints::default(), &limits())
        .unwrap_or_else(|e| panic!("parse_as: {e}"))
        .verify(&SecretString::from(password.to_owned()), &limits())
        .unwrap_or_else(|e| panic!("verify: {e}"))
}

/// Printable ASCII passwords: a flipped low bit stays ASCII, so the changed
/// password is still a string.
fn password() -> impl Strategy<Value = String> {
    "[ -~]{1,40}"
}

/// `password` with bit `bit % 7` of byte `at % len` flipped (still ASCII).
fn flip_password(password: &str, at: usize, bit: u8) -> String {
    let mut bytes = password.as_bytes().to_vec();
    let i = at % bytes.len();
    bytes[i] ^= 1 << (bit % 7);
    String::from_utf8(bytes).expect("ASCII stays UTF-8")
}

fn flip(bytes: &mut [u8], at: usize, bit: u8) {
    let i = at % bytes.len();
    bytes[i] ^= 1 << (bit % 8);
}

/// Replaces the last `$`-separated field by `encode(flipped(decode(field)))`.
fn flip_last_field(stored: &str, engine: &GeneralPurpose, at: usize, bit: u8, sep: char) -> String {
    let (head, field) = stored.rsplit_once(sep).expect("a field");
    let mut bytes = engine.decode(field).expect("decodable digest");
    flip(&mut bytes, at, bit);
    format!("{head}{sep}{}", engine.encode(bytes))
}

/// Asserts the three verification properties for one family.
fn assert_verifies(
    stored: &str,
    tampered: &str,
    password: &str,
    other: &str,
    verify: impl Fn(&str, &str) -> Verdict,
) {
    assert_eq!(verify(stored, password), Verdict::Match, "own hash");
    assert_eq!(verify(stored, other), Verdict::Mismatch, "one password bit");
    assert_eq!(
        verify(tampered, password),
        Verdict::Mismatch,
        "one digest bit"
    );
}

/// Identification names `expected` and its parser accepts the value.
fn assert_identified(stored: &str, expected: Scheme) {
    assert_eq!(detect(stored), Some(expected));
    let parsed = StoredHash::parse(stored, &limits()).expect("the identified parser accepts");
    assert_eq!(parsed.scheme(), expected);
}

/// The look-alike (rendered from the parsed parameters) has the same shape.
fn assert_renders(stored: &str) {
    let parsed = StoredHash::parse(stored, &limits()).unwrap();
    let look_alike = parsed
        .look_alike(&Default::default(), &limits())
        .expect("family renders");
    assert_eq!(look_alike.scheme(), parsed.scheme());
    assert_eq!(look_alike.shape_key(), parsed.shape_key());
}

proptest! {
    #![proptest_config(config(12))]

    #[test]
    fn bcrypt_verifies_its_own_hash_only(pw in password(), salt: [u8; 16], at: usize, bit: u8) {
        let stored = bcrypt::hash_with_salt(&pw, 4, salt)
            .unwrap()
            .format_for_version(bcrypt::Version::TwoB);
        // The digest is the last 31 characters (23 bytes) after the 22 of salt.
        let (head, digest) = stored.split_at(stored.len() - 31);
        let mut bytes = BCRYPT_B64.decode(digest).unwrap();
        flip(&mut bytes, at, bit);
        let tampered = format!("{head}{}", BCRYPT_B64.encode(bytes));
        assert_verifies(&stored, &tampered, &pw, &flip_password(&pw, at, bit), verify);
        assert_identified(&stored, Scheme::Bcrypt2b);
        assert_renders(&stored);
        let native = StoredHash::parse(&stored, &limits()).unwrap().okta_native();
        let object = passbridge::okta::PasswordHash::from(&native.expect("bcrypt is native"));
        let json = serde_json::to_string(&object).unwrap();
        let back: passbridge::okta::PasswordHash = serde_json::from_str(&json).unwrap();
        prop_assert!(back == object, "Okta object round-trips");
    }

    #[test]
    fn argon2_verifies_its_own_hash_only(
        pw in password(),
        salt: [u8; 16],
        variant in prop::sample::select(vec![
            (argon2::Algorithm::Argon2id, Scheme::Argon2id),
            (argon2::Algorithm::Argon2i, Scheme::Argon2i),
            (argon2::Algorithm::Argon2d, Scheme::Argon2d),
        ]),
        at: usize,
        bit: u8,
    ) {
        use argon2::password_hash::PasswordHasher;
        let params = argon2::Params::new(64, 1, 1, Some(32)).unwrap();
        let hasher = argon2::Argon2::new(variant.0, argon2::Version::V0x13, params);
        let stored: argon2::PasswordHash = hasher.hash_password_with_salt(pw.as_bytes(), &salt).unwrap();
        let stored = stored.to_string();
        let tampered = flip_last_field(&stored, &STANDARD_NO_PAD, at, bit, '$');
        assert_verifies(&stored, &tampered, &pw, &flip_password(&pw, at, bit), verify);
        assert_identified(&stored, variant.1);
        assert_renders(&stored);
    }

    #[test]
    fn django_pbkdf2_verifies_its_own_hash_only(
        pw in password(),
        salt in "[a-zA-Z0-9]{8,22}",
        iterations in 1u32..64,
        at: usize,
        bit: u8,
    ) {
        let mut dk = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(pw.as_bytes(), salt.as_bytes(), iterations, &mut dk);
        let stored = format!("pbkdf2_sha256${iterations}${salt}${}", STANDARD.encode(dk));
        let tampered = flip_last_field(&stored, &STANDARD, at, bit, '$');
        assert_verifies(&stored, &tampered, &pw, &flip_password(&pw, at, bit), verify);
        assert_identified(&stored, Scheme::DjangoPbkdf2Sha256);
        // Rendered as a bare PBKDF2 of the same PRF, iterations and sizes.
        let parsed = StoredHash::parse(&stored, &limits()).unwrap();
        let look_alike = parsed.look_alike(&Default::default(), &limits()).expect("renders");
        prop_assert_eq!(look_alike.work(), parsed.work());
    }

    #[test]
    fn ldap_salted_sha1_verifies_its_own_hash_only(pw in password(), salt: [u8; 8], at: usize, bit: u8) {
        let mut blob = sha1::Sha1::new()
            .chain_update(pw.as_bytes())
            .chain_update(salt)
            .finalize()
            .to_vec();
        blob.extend_from_slice(&salt);
        let stored = format!("{{SSHA}}{}", STANDARD.encode(&blob));
        // Only the digest (the first 20 bytes), not the salt.
        let mut bad = blob.clone();
        flip(&mut bad[..20], at, bit);
        let tampered = format!("{{SSHA}}{}", STANDARD.encode(&bad));
        assert_verifies(&stored, &tampered, &pw, &flip_password(&pw, at, bit), verify);
        assert_identified(&stored, Scheme::LdapSaltedSha1);
    }

    #[test]
    fn mysql41_verifies_its_own_hash_only(pw in password(), at: usize, bit: u8) {
        let inner = sha1::Sha1::digest(pw.as_bytes());
        let mut digest = sha1::Sha1::digest(inner).to_vec();
        let stored = format!("*{}", hex::encode_upper(&digest));
        flip(&mut digest, at, bit);
        let tampered = format!("*{}", hex::encode_upper(&digest));
        assert_verifies(&stored, &tampered, &pw, &flip_password(&pw, at, bit), verify);
        assert_identified(&stored, Scheme::Mysql41);
    }

    #[test]
    fn hex_digests_verify_their_own_hash_only(
        pw in password(),
        alg in 0usize..4,
        at: usize,
        bit: u8,
    ) {
        let (scheme, mut digest) = match alg {
            0 => (Scheme::HexMd5, md5::Md5::digest(pw.as_bytes()).to_vec()),
            1 => (Scheme::HexSha1, sha1::Sha1::digest(pw.as_bytes()).to_vec()),
            2 => (Scheme::HexSha256, sha2::Sha256::digest(pw.as_bytes()).to_vec()),
            _ => (Scheme::HexSha512, sha2::Sha512::digest(pw.as_bytes()).to_vec()),
        };
        let stored = hex::encode(&digest);
        flip(&mut digest, at, bit);
        let tampered = hex::encode(&digest);
        // No marker: the scheme comes from config, never from the length.
        prop_assert_eq!(detect(&stored), None);
        assert_verifies(&stored, &tampered, &pw, &flip_password(&pw, at, bit), |s, p| {
            verify_as(scheme, s, p)
        });
    }
}

/// Markers every family claims, to steer arbitrary strings into the parsers.
const PREFIXES: &[&str] = &[
    "",
    "$2b$",
    "$2y$04$",
    "$argon2id$v=19$",
    "$5$",
    "$6$rounds=",
    "$1$",
    "$apr1$",
    "$pbkdf2-sha256$",
    "$scrypt$",
    "$7$",
    "$y$",
    "$P$",
    "$H$",
    "$S$",
    "U$P$",
    "$sha1$",
    "$3$",
    "$A$",
    "$wp$2y$",
    "$bcrypt-sha256$",
    "{SSHA}",
    "{SHA}",
    "{CRYPT}",
    "{PKCS5S2}",
    "{PBKDF2-SHA256}",
    "{MD5}",
    "pbkdf2_sha256$",
    "pbkdf2:sha256:",
    "scrypt:",
    "argon2$",
    "bcrypt$",
    "sha1$",
    "md5$",
    "*",
    "md5",
    "SCRAM-SHA-256$",
    "0x0100",
    "_",
    "grub.pbkdf2.",
    "{bcrypt}",
    "{noop}",
    "AQAAAA",
];

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn identification_and_parsing_never_panic_and_agree(
        prefix in prop::sample::select(PREFIXES),
        rest in "[ -~]{0,80}",
    ) {
        let stored = format!("{prefix}{rest}");
        let detected = detect(&stored);
        if let Ok(parsed) = StoredHash::parse(&stored, &limits()) {
            prop_assert_eq!(Some(parsed.scheme()), detected);
        }
    }

    #[test]
    fn every_scheme_parser_survives_arbitrary_values(
        scheme in prop::sample::select(Scheme::ALL),
        stored in "\\PC{0,80}",
        salt in prop::option::of("[ -~]{0,16}"),
    ) {
        let hints = Hints { salt, ..Hints::default() };
        if let Ok(parsed) = StoredHash::parse_as(scheme, &stored, &hints, &limits()) {
            prop_assert_eq!(parsed.scheme(), scheme);
        }
    }

    #[test]
    fn scheme_names_round_trip(scheme in prop::sample::select(Scheme::ALL)) {
        prop_assert_eq!(scheme.as_str().parse::<Scheme>().ok(), Some(scheme));
    }
}
