//! How a parsed hash maps onto Okta's import hash object (`credentials.password.hash`).
//! Only the decoded bytes and parameters live here; the JSON shape belongs to `okta/`.

/// Digest algorithms Okta accepts for a (salted) single-round digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OktaDigest {
    /// `MD5`
    Md5,
    /// `SHA-1`
    Sha1,
    /// `SHA-256`
    Sha256,
    /// `SHA-512`
    Sha512,
}

impl OktaDigest {
    /// The `algorithm` value Okta expects.
    pub fn algorithm(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Sha1 => "SHA-1",
            Self::Sha256 => "SHA-256",
            Self::Sha512 => "SHA-512",
        }
    }
}

/// PBKDF2 PRFs Okta accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OktaPbkdf2Digest {
    /// `SHA256_HMAC`
    Sha256,
    /// `SHA512_HMAC`
    Sha512,
}

/// Where the salt goes relative to the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaltOrder {
    /// digest(salt ‖ password)
    Prefix,
    /// digest(password ‖ salt)
    Postfix,
}

/// A hash Okta can import natively, as decoded material.
#[derive(Clone, PartialEq, Eq)]
pub enum OktaHash {
    /// `BCRYPT`: 22-char radix-64 salt and 31-char value, split from `$2?$NN$…`.
    Bcrypt {
        /// Cost.
        work_factor: u32,
        /// 22 radix-64 characters.
        salt: String,
        /// 31 radix-64 characters.
        value: String,
    },
    /// `MD5`/`SHA-*`: salt and digest as raw bytes (Okta wants them Base64).
    Digest {
        /// Algorithm.
        algorithm: OktaDigest,
        /// Raw salt bytes, if salted.
        salt: Option<Vec<u8>>,
        /// Salt position.
        salt_order: SaltOrder,
        /// Raw digest bytes.
        value: Vec<u8>,
    },
    /// `PBKDF2`.
    Pbkdf2 {
        /// PRF.
        digest: OktaPbkdf2Digest,
        /// Iteration count (Okta requires ≥ 4096).
        iterations: u32,
        /// Raw salt bytes.
        salt: Vec<u8>,
        /// Raw derived key.
        value: Vec<u8>,
    },
}

impl std::fmt::Debug for OktaHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bcrypt { work_factor, .. } => write!(f, "OktaHash::Bcrypt(cost {work_factor})"),
            Self::Digest { algorithm, .. } => {
                write!(f, "OktaHash::Digest({})", algorithm.algorithm())
            }
            Self::Pbkdf2 { iterations, .. } => write!(f, "OktaHash::Pbkdf2({iterations})"),
        }
    }
}

/// Okta's minimum PBKDF2 iteration count.
pub const OKTA_MIN_PBKDF2_ITERATIONS: u32 = 4096;
