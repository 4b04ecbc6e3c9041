//! Firebase Authentication's modified scrypt (github.com/firebase/scrypt):
//! key = scrypt(password, salt ‖ salt_separator, N = 2^mem_cost,
//! r = rounds, p = 1, 32 bytes); stored hash = AES-256-CTR(key, IV = 0) of
//! the project's signer key. Nothing in the stored value describes it: the
//! salt column and `params.signer_key`, `salt_separator`, `rounds`,
//! `mem_cost` (all Base64 where binary) come from the export.

use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes::{Aes256, Block};

use super::encoding::{b64, ct_eq};
use super::scrypt::ScryptCost;
use super::{Family, HashError, Hints, Limits, Param, Result, Scheme, Verdict};

/// Firebase's console only offers rounds 1..=8 and mem_cost 1..=14.
const MAX_ROUNDS: u64 = 8;
const MAX_MEM_COST: u64 = 14;
/// The AES-256 key is the first 32 bytes of the scrypt output.
const KEY_BYTES: usize = 32;
/// Longest signer key accepted (Firebase's are 64 bytes).
const MAX_SIGNER_KEY_BYTES: usize = 1024;

/// Decoded material of a Firebase scrypt hash.
pub(crate) struct FirebaseHash {
    cost: ScryptCost,
    rounds: u64,
    mem_cost: u64,
    /// User salt followed by the project's salt separator.
    salt: Vec<u8>,
    signer_key: Vec<u8>,
    hash: Vec<u8>,
}

fn base64_param(
    name: &'static str,
    hints: &Hints,
    key: &str,
    what: &'static str,
) -> Result<Vec<u8>> {
    let value = hints
        .param(key)
        .ok_or(HashError::MissingHint { scheme: name, what })?;
    b64(value).ok_or_else(|| HashError::malformed(name, format!("params.{key} is not Base64")))
}

fn small_number(name: &'static str, hints: &Hints, key: &str, what: &'static str) -> Result<u64> {
    let value = hints
        .param(key)
        .ok_or(HashError::MissingHint { scheme: name, what })?
        .trim();
    value
        .parse::<u64>()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| HashError::malformed(name, format!("params.{key} is not a positive number")))
}

/// Parses a Firebase hash with its project parameters from `hints`.
pub(crate) fn parse(
    scheme: Scheme,
    stored: &str,
    hints: &Hints,
    limits: &Limits,
) -> Result<FirebaseHash> {
    let name = scheme.as_str();
    if scheme != Scheme::FirebaseScrypt {
        return Err(HashError::Unsupported {
            scheme: name,
            reason: "not the Firebase scheme".into(),
        });
    }
    let hash = b64(stored).ok_or_else(|| HashError::malformed(name, "hash is not Base64"))?;
    let salt = hints.salt.as_deref().ok_or(HashError::MissingHint {
        scheme: name,
        what: "the user's salt (salt column, Base64)",
    })?;
    let mut salt = b64(salt).ok_or_else(|| HashError::malformed(name, "salt is not Base64"))?;
    let signer_key = base64_param(name, hints, "signer_key", "params.signer_key (Base64)")?;
    let separator = base64_param(
        name,
        hints,
        "salt_separator",
        "params.salt_separator (Base64)",
    )?;
    let rounds = small_number(name, hints, "rounds", "params.rounds")?;
    let mem_cost = small_number(name, hints, "mem_cost", "params.mem_cost")?;
    if rounds > MAX_ROUNDS || mem_cost > MAX_MEM_COST {
        return Err(HashError::malformed(
            name,
            "Firebase uses rounds 1..=8 and mem_cost 1..=14",
        ));
    }
    if signer_key.is_empty() || signer_key.len() > MAX_SIGNER_KEY_BYTES {
        return Err(HashError::malformed(
            name,
            "signer key length is out of range",
        ));
    }
    if hash.len() != signer_key.len() {
        return Err(HashError::malformed(
            name,
            "hash and signer key differ in length",
        ));
    }
    let cost = ScryptCost::new(name, 1 << mem_cost, rounds, 1, limits)?;
    salt.extend_from_slice(&separator);
    Ok(FirebaseHash {
        cost,
        rounds,
        mem_cost,
        salt,
        signer_key,
        hash,
    })
}

/// AES-256 in CTR mode with a zero IV and a 128-bit big-endian counter.
fn aes256_ctr(key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    let cipher = Aes256::new_from_slice(key).ok()?;
    let mut out = Vec::with_capacity(data.len());
    for (counter, chunk) in data.chunks(16).enumerate() {
        let mut block = Block::from((counter as u128).to_be_bytes());
        cipher.encrypt_block(&mut block);
        out.extend(chunk.iter().zip(block.iter()).map(|(d, k)| d ^ k));
    }
    Some(out)
}

impl Family for FirebaseHash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        let mut key = [0u8; KEY_BYTES];
        self.cost.derive(password, &self.salt, &mut key)?;
        let computed =
            aes256_ctr(&key, &self.signer_key).ok_or_else(|| HashError::Unsupported {
                scheme: "firebase_scrypt",
                reason: "AES-256 rejected the key".into(),
            })?;
        Ok(Verdict::from_bool(ct_eq(&computed, &self.hash)))
    }

    fn params(&self) -> Vec<Param> {
        let mut out = vec![
            ("rounds", self.rounds.to_string()),
            ("mem_cost", self.mem_cost.to_string()),
        ];
        out.extend(self.cost.describe());
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const SIGNER_KEY: &str =
        "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==";

    fn project() -> Hints {
        Hints::default()
            .with_param("signer_key", SIGNER_KEY)
            .with_param("salt_separator", "Bw==")
            .with_param("rounds", "8")
            .with_param("mem_cost", "14")
    }

    fn check(stored: &str, hints: &Hints, pw: &[u8]) -> Verdict {
        parse(Scheme::FirebaseScrypt, stored, hints, &Limits::default())
            .unwrap()
            .verify(pw)
            .unwrap()
    }

    // The sample in github.com/firebase/scrypt's README ("user1password").
    #[test]
    fn firebase_readme_vector() {
        let hints = project().with_salt("42xEC+ixf3L2lw==");
        let stored = "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==";
        assert_eq!(check(stored, &hints, b"user1password"), Verdict::Match);
        assert_eq!(check(stored, &hints, b"user1passwore"), Verdict::Mismatch);
    }

    // The Firebase Admin Go SDK's integration test (`newScryptHash`,
    // `TestImportUsersWithPassword`): password "password", salt "NaCl".
    #[test]
    fn firebase_admin_sdk_vector() {
        let hints = project().with_salt("TmFDbA==");
        let stored = "V358E8LdWJXAO7muq0CufVpEOXaj8aFiC7T/rcaGieN04q/ZPJ08WhJEHGjj9lz/2TT+/86N5VjVoc5DdBhBiw==";
        assert_eq!(check(stored, &hints, b"password"), Verdict::Match);
        assert_eq!(check(stored, &hints, b"Password"), Verdict::Mismatch);
    }

    #[test]
    fn missing_and_bad_parameters() {
        let limits = Limits::default();
        let stored = "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==";
        assert!(matches!(
            parse(Scheme::FirebaseScrypt, stored, &project(), &limits),
            Err(HashError::MissingHint { .. })
        ));
        let no_key = Hints::default()
            .with_salt("42xEC+ixf3L2lw==")
            .with_param("salt_separator", "Bw==")
            .with_param("rounds", "8")
            .with_param("mem_cost", "14");
        assert!(matches!(
            parse(Scheme::FirebaseScrypt, stored, &no_key, &limits),
            Err(HashError::MissingHint { .. })
        ));
        let silly = project()
            .with_salt("42xEC+ixf3L2lw==")
            .with_param("mem_cost", "40");
        assert!(matches!(
            parse(Scheme::FirebaseScrypt, stored, &silly, &limits),
            Err(HashError::Malformed { .. })
        ));
        let tight = Limits {
            scrypt_memory_bytes: 1024 * 1024,
            ..Limits::default()
        };
        assert!(matches!(
            parse(
                Scheme::FirebaseScrypt,
                stored,
                &project().with_salt("42xEC+ixf3L2lw=="),
                &tight
            ),
            Err(HashError::CostTooHigh { .. })
        ));
    }
}
