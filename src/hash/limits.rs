//! Named ceilings on cost parameters, checked when a hash is parsed so an
//! absurd row cannot pin a CPU or exhaust memory inside the hook's budget.

use serde::{Deserialize, Serialize};

/// Highest bcrypt cost accepted by default (2^16 rounds, about 4 s here).
pub const MAX_BCRYPT_COST: u32 = 16;
/// Highest PBKDF2 iteration count accepted by default.
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// Highest argon2 memory accepted by default, in KiB (256 MiB).
pub const MAX_ARGON2_MEMORY_KIB: u32 = 262_144;
/// Highest argon2 time cost accepted by default.
pub const MAX_ARGON2_TIME: u32 = 32;
/// Highest argon2 parallelism accepted by default.
pub const MAX_ARGON2_PARALLELISM: u32 = 16;
/// Highest scrypt/yescrypt memory accepted by default, in bytes (256 MiB).
pub const MAX_SCRYPT_MEMORY_BYTES: u64 = 256 * 1024 * 1024;
/// Highest sha-crypt, md5/DES/BSDi round count accepted by default.
pub const MAX_CRYPT_ROUNDS: u32 = 10_000_000;
/// Highest phpass / Drupal log2 round count accepted by default.
pub const MAX_PHPASS_LOG2: u32 = 24;
/// Longest candidate password hashed, in bytes (kanidm guards the same way).
pub const MAX_PASSWORD_BYTES: usize = 4096;

/// Cost ceilings, configurable under `[hash.limits]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// bcrypt cost (log2 rounds).
    pub bcrypt_cost: u32,
    /// PBKDF2 iterations.
    pub pbkdf2_iterations: u32,
    /// argon2 `m`, KiB.
    pub argon2_memory_kib: u32,
    /// argon2 `t`.
    pub argon2_time: u32,
    /// argon2 `p`.
    pub argon2_parallelism: u32,
    /// scrypt/yescrypt working memory, bytes (128 * r * N); total work
    /// (memory times parallelism) may be at most 16 times this.
    pub scrypt_memory_bytes: u64,
    /// sha256/sha512-crypt, BSDi and similar round counts.
    pub crypt_rounds: u32,
    /// phpass / Drupal 7 log2 round count.
    pub phpass_log2: u32,
    /// Longest candidate password accepted, bytes.
    pub max_password_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            bcrypt_cost: MAX_BCRYPT_COST,
            pbkdf2_iterations: MAX_PBKDF2_ITERATIONS,
            argon2_memory_kib: MAX_ARGON2_MEMORY_KIB,
            argon2_time: MAX_ARGON2_TIME,
            argon2_parallelism: MAX_ARGON2_PARALLELISM,
            scrypt_memory_bytes: MAX_SCRYPT_MEMORY_BYTES,
            crypt_rounds: MAX_CRYPT_ROUNDS,
            phpass_log2: MAX_PHPASS_LOG2,
            max_password_bytes: MAX_PASSWORD_BYTES,
        }
    }
}

impl Limits {
    /// Fails with [`super::HashError::CostTooHigh`] when `value > limit`.
    pub fn check(
        scheme: &'static str,
        param: &'static str,
        value: u64,
        limit: u64,
    ) -> super::Result<()> {
        if value > limit {
            return Err(super::HashError::CostTooHigh {
                scheme,
                param,
                value,
                limit,
            });
        }
        Ok(())
    }
}
