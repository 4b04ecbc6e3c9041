//! `passbridge serve --demo`: a self-contained trial on the embedded default.
//! Creates (if absent) a SQLite legacy database whose users are stored in
//! different hash schemes, and settings that point `serve` at it.
//!
//! The demo passwords below are printed on purpose: they are sample data, not
//! anyone's credentials.

use std::path::{Path, PathBuf};

use anyhow::Context;
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::db::{self, DatabaseUrl, PoolSettings};

/// One demo account.
#[derive(Debug, Clone, Copy)]
pub struct DemoUser {
    /// Login (email).
    pub email: &'static str,
    /// Its demo password.
    pub password: &'static str,
    /// How it is stored.
    pub scheme: &'static str,
}

/// Hashes made by independent libraries (from the project's hash corpus:
/// libxcrypt/passlib), so the demo exercises formats passbridge only verifies.
const FIXED: &[(&str, &str, &str, &str)] = &[
    (
        "carol@example.com",
        "Tr0ub4dor&3",
        "sha512_crypt",
        "$6$NBWvSvRrKnjjcXmu$y6Hut.UoTFStisAiKTt0mpwanMiktL3R..iMLI6WdY453DZte29bIzl/eQWtEv.Ors2ZlJx6m3rQ0pOTNs9ol1",
    ),
    ("dave@example.com", "password123", "phpass_P", "$P$69hgsDGKpcrMnG0HhOszZ6GQQ6UjMv."),
    ("erin@example.com", "Tr0ub4dor&3", "ldap_salted_sha1", "{SSHA}n4vEbeXwncs2bJaLbHdA4Am679aqFQKg"),
    ("grace@example.com", "password123", "md5_crypt", "$1$.Z9ppi93$ZrHAoLsYYImZVt0up895p1"),
];

/// The demo accounts, in the order they are created.
pub fn users() -> Vec<DemoUser> {
    let mut users = vec![
        DemoUser {
            email: "alice@example.com",
            password: "alice-Passw0rd!",
            scheme: "bcrypt_2b",
        },
        DemoUser {
            email: "bob@example.com",
            password: "bob-Passw0rd!",
            scheme: "argon2id",
        },
        DemoUser {
            email: "frank@example.com",
            password: "frank-Passw0rd!",
            scheme: "salted_sha256",
        },
    ];
    users.extend(FIXED.iter().map(|(email, password, scheme, _)| DemoUser {
        email,
        password,
        scheme,
    }));
    users
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::thread_rng().fill_bytes(&mut b);
    b
}

/// `(password_hash, salt, scheme)` for a generated demo user.
fn generate(user: &DemoUser) -> anyhow::Result<(String, Option<String>, Option<String>)> {
    Ok(match user.scheme {
        "bcrypt_2b" => (bcrypt::hash(user.password, 10)?, None, None),
        "argon2id" => {
            let salt: [u8; 16] = random_bytes();
            let params = Params::new(19_456, 2, 1, Some(32)).map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut out = [0u8; 32];
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password_into(user.password.as_bytes(), &salt, &mut out)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let phc = format!(
                "$argon2id$v=19$m=19456,t=2,p=1${}${}",
                STANDARD_NO_PAD.encode(salt),
                STANDARD_NO_PAD.encode(out)
            );
            (phc, None, None)
        }
        "salted_sha256" => {
            // A hand-rolled legacy scheme: hex(sha256(password || salt)), salt in its own column.
            let salt = hex::encode(random_bytes::<6>());
            let digest = Sha256::new()
                .chain_update(user.password)
                .chain_update(&salt)
                .finalize();
            (
                hex::encode(digest),
                Some(salt),
                Some("salted_sha256".to_owned()),
            )
        }
        other => {
            let (_, _, _, hash) = FIXED
                .iter()
                .find(|(email, _, scheme, _)| *email == user.email && *scheme == other)
                .context("unknown demo user")?;
            ((*hash).to_owned(), None, None)
        }
    })
}

/// Creates `dir/legacy.db` with the demo users unless it exists, and returns
/// its path.
///
/// # Errors
/// The directory or database cannot be created.
pub async fn ensure_database(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("legacy.db");
    if path.exists() {
        return Ok(path);
    }
    let url = DatabaseUrl::sqlite_file(&path);
    let pool = db::connect(&url, PoolSettings::default()).await?;
    sqlx::query(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, first_name TEXT, \
         last_name TEXT, password_hash TEXT NOT NULL, salt TEXT, scheme TEXT, migrated_at TEXT)",
    )
    .execute(&pool)
    .await?;
    for user in users() {
        let (hash, salt, scheme) = tokio::task::spawn_blocking(move || generate(&user)).await??;
        let first = user.email.split('@').next().unwrap_or_default();
        sqlx::query("INSERT INTO users (email, first_name, last_name, password_hash, salt, scheme) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(user.email)
            .bind(first)
            .bind("Demo")
            .bind(hash)
            .bind(salt)
            .bind(scheme)
            .execute(&pool)
            .await?;
    }
    pool.close().await;
    Ok(path)
}

/// The demo's import query: Okta profile attributes plus the hash columns.
pub const IMPORT_QUERY: &str = "SELECT email AS login, email, first_name AS \"firstName\", last_name AS \"lastName\", password_hash, salt, scheme FROM users";

/// Points `settings` at the demo database (keeping anything the admin set)
/// and writes the same settings to `passbridge.toml` beside it, so the other
/// commands (`hash audit`, `import`, `config check`) see the demo exactly as
/// `serve --demo` does. Returns that file's path.
///
/// # Errors
/// The file cannot be written.
pub fn apply(settings: &mut Settings, legacy_db: &Path) -> anyhow::Result<PathBuf> {
    settings.legacy.url = Some(DatabaseUrl::sqlite_file(legacy_db));
    settings.legacy.query.get_or_insert_with(|| {
        "SELECT password_hash, salt, scheme FROM users WHERE email = ?".to_owned()
    });
    settings.legacy.write_back.get_or_insert_with(|| {
        "UPDATE users SET migrated_at = CURRENT_TIMESTAMP WHERE email = ?".to_owned()
    });
    settings
        .import
        .query
        .get_or_insert_with(|| IMPORT_QUERY.to_owned());
    settings.legacy.lowercase_username = true;
    for (k, v) in [
        ("salt_position", "suffix"),
        ("salt_encoding", "utf8"),
        ("encoding", "hex"),
    ] {
        settings
            .legacy
            .params
            .entry(k.to_owned())
            .or_insert_with(|| v.to_owned());
    }
    let dir = legacy_db.parent().unwrap_or_else(|| Path::new("."));
    let path = dir.join("passbridge.toml");
    std::fs::write(&path, config_toml(settings, legacy_db))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The demo's settings as a config file (no secret: the hook secret stays in
/// the environment).
fn config_toml(settings: &Settings, legacy_db: &Path) -> String {
    let quoted = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let legacy = &settings.legacy;
    let mut out = String::from(
        "# Written by `passbridge serve --demo`: the demo's settings, for\n\
         # `passbridge --config <this file> hash audit | import | config check`.\n\n[legacy]\n",
    );
    out += &format!(
        "url = {}\n",
        quoted(&format!("sqlite://{}", legacy_db.display()))
    );
    for (key, value) in [("query", &legacy.query), ("write_back", &legacy.write_back)] {
        if let Some(v) = value {
            out += &format!("{key} = {}\n", quoted(v));
        }
    }
    out += &format!(
        "lowercase_username = {}\n\n[legacy.params]\n",
        legacy.lowercase_username
    );
    for (k, v) in &legacy.params {
        out += &format!("{} = {}\n", quoted(k), quoted(v));
    }
    if let Some(q) = &settings.import.query {
        out += &format!("\n[import]\nquery = {}\n", quoted(q));
    }
    if let Some(path) = settings.ledger_url().sqlite_path() {
        out += &format!(
            "\n[ledger]\nurl = {}\n",
            quoted(&format!("sqlite://{}", path.display()))
        );
    }
    out
}
