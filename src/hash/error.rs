//! Errors of the verifier library. Messages name the scheme and what is
//! wrong, never the hash, the salt or the password.

/// Result alias for the hash library.
pub type Result<T> = std::result::Result<T, HashError>;

/// Why a stored hash could not be verified. A wrong password is not an
/// error: it is [`super::Verdict::Mismatch`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// The string does not describe its own format and no scheme was given.
    #[error("unrecognised hash format (starts with {prefix:?}); give the scheme explicitly (config `scheme`, the `scheme` column or --scheme)")]
    Unrecognised {
        /// At most the first five characters, enough to tell a format apart.
        prefix: String,
    },
    /// The scheme name given in config, a column or on the command line is unknown.
    #[error("unknown scheme name {0:?}; run `passbridge hash schemes` for the list")]
    UnknownScheme(String),
    /// The string claims a scheme but does not follow its layout.
    #[error("malformed {scheme} hash: {reason}")]
    Malformed {
        /// Canonical scheme name.
        scheme: &'static str,
        /// What is wrong, without echoing the value.
        reason: String,
    },
    /// The scheme needs data that is not in the string (salt, username, pepper, ...).
    #[error("scheme {scheme} needs {what}")]
    MissingHint {
        /// Canonical scheme name.
        scheme: &'static str,
        /// The missing piece, e.g. "a salt (salt column)".
        what: &'static str,
    },
    /// A cost parameter is above the configured ceiling.
    #[error("{scheme} {param} = {value} exceeds the configured limit {limit} (raise hash.limits.{param} if this is expected)")]
    CostTooHigh {
        /// Canonical scheme name.
        scheme: &'static str,
        /// Parameter name as used in `hash.limits`.
        param: &'static str,
        /// Value found in the hash.
        value: u64,
        /// Configured maximum.
        limit: u64,
    },
    /// The format is recognised but this variant is not supported.
    #[error("unsupported {scheme} variant: {reason}")]
    Unsupported {
        /// Canonical scheme name (or family).
        scheme: &'static str,
        /// What is not supported.
        reason: String,
    },
    /// The candidate password is longer than `hash.limits.max_password_bytes`.
    #[error("password longer than {limit} bytes")]
    PasswordTooLong {
        /// Configured maximum.
        limit: usize,
    },
}

impl HashError {
    /// Shorthand for [`HashError::Malformed`].
    pub fn malformed(scheme: &'static str, reason: impl Into<String>) -> Self {
        Self::Malformed {
            scheme,
            reason: reason.into(),
        }
    }

    /// A short, stable label for metrics and the ledger's `reason` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unrecognised { .. } | Self::UnknownScheme(_) | Self::Unsupported { .. } => {
                "unsupported_hash"
            }
            Self::Malformed { .. } | Self::MissingHint { .. } => "malformed_hash",
            Self::CostTooHigh { .. } => "cost_too_high",
            Self::PasswordTooLong { .. } => "password_too_long",
        }
    }
}
