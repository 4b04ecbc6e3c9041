//! ASP.NET Core Identity `PasswordHasher` blobs (Base64):
//! V2 = `0x00 ‖ salt(16) ‖ subkey(32)`, PBKDF2-HMAC-SHA1 with 1000 iterations;
//! V3 = `0x01 ‖ prf(u32 BE) ‖ iterations(u32 BE) ‖ salt length(u32 BE) ‖ salt
//! ‖ subkey`, prf 0/1/2 = HMAC-SHA1/SHA256/SHA512. The version byte makes
//! the blob self-describing. The KDF is the PBKDF2 family's.

use super::encoding::b64;
use super::pbkdf2::{Pbkdf2Hash, Prf};
use super::{HashError, Limits, Result, Scheme};

/// V2's fixed parameters.
const V2_ITERATIONS: u64 = 1_000;
const V2_SALT_BYTES: usize = 16;
const V2_SUBKEY_BYTES: usize = 32;
/// V3 header: version byte and three big-endian u32s.
const V3_HEADER_BYTES: usize = 13;
/// ASP.NET rejects V3 salts and subkeys shorter than 128 bits.
const V3_MIN_BYTES: usize = 16;
/// Shortest Base64 text taken for a blob: a V3 header and one byte (14 bytes).
const MIN_BLOB_CHARS: usize = 20;

/// Reads the big-endian u32 at `at`.
fn be32(blob: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = blob.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

/// The version a blob claims, if its layout is consistent with it. A V3
/// header is trusted for any PRF, iteration count and salt length (parse
/// then names what is unsupported or refused), as long as the salt it
/// announces fits with at least one byte of subkey after it.
pub(crate) fn detect(stored: &str) -> Option<Scheme> {
    let s = stored.trim();
    if s.len() < MIN_BLOB_CHARS
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
    {
        return None;
    }
    let blob = b64(s)?;
    match blob.first()? {
        0x00 if blob.len() == 1 + V2_SALT_BYTES + V2_SUBKEY_BYTES => Some(Scheme::AspnetIdentityV2),
        0x01 => {
            let salt_len = usize::try_from(be32(&blob, 9)?).ok()?;
            let fits = V3_HEADER_BYTES
                .checked_add(salt_len)
                .is_some_and(|end| blob.len() > end);
            fits.then_some(Scheme::AspnetIdentityV3)
        }
        _ => None,
    }
}

/// Parses a V2 or V3 blob.
pub(crate) fn parse(scheme: Scheme, stored: &str, limits: &Limits) -> Result<Pbkdf2Hash> {
    let name = scheme.as_str();
    let blob = b64(stored).ok_or_else(|| HashError::malformed(name, "not Base64"))?;
    match (scheme, blob.first()) {
        (Scheme::AspnetIdentityV2, Some(0x00)) => {
            if blob.len() != 1 + V2_SALT_BYTES + V2_SUBKEY_BYTES {
                return Err(HashError::malformed(
                    name,
                    format!("V2 blob is {} bytes, expected 49", blob.len()),
                ));
            }
            let (salt, subkey) = blob[1..].split_at(V2_SALT_BYTES);
            Pbkdf2Hash::new(
                name,
                Prf::Sha1,
                V2_ITERATIONS,
                salt.to_vec(),
                subkey.to_vec(),
                limits,
            )
        }
        (Scheme::AspnetIdentityV3, Some(0x01)) => {
            let (Some(prf), Some(iterations), Some(salt_len)) =
                (be32(&blob, 1), be32(&blob, 5), be32(&blob, 9))
            else {
                return Err(HashError::malformed(name, "V3 header is truncated"));
            };
            let prf = match prf {
                0 => Prf::Sha1,
                1 => Prf::Sha256,
                2 => Prf::Sha512,
                _ => {
                    return Err(HashError::Unsupported {
                        scheme: name,
                        reason: "unknown V3 PRF (0, 1, 2 = HMAC-SHA1/256/512)".into(),
                    })
                }
            };
            let salt_len = usize::try_from(salt_len).unwrap_or(usize::MAX);
            if salt_len < V3_MIN_BYTES {
                return Err(HashError::malformed(
                    name,
                    "V3 salt is shorter than 16 bytes",
                ));
            }
            let salt = blob
                .get(V3_HEADER_BYTES..V3_HEADER_BYTES.saturating_add(salt_len))
                .ok_or_else(|| HashError::malformed(name, "V3 salt runs past the end"))?;
            let subkey = &blob[V3_HEADER_BYTES + salt_len..];
            if subkey.len() < V3_MIN_BYTES {
                return Err(HashError::malformed(
                    name,
                    "V3 subkey is shorter than 16 bytes",
                ));
            }
            Pbkdf2Hash::new(
                name,
                prf,
                u64::from(iterations),
                salt.to_vec(),
                subkey.to_vec(),
                limits,
            )
        }
        (_, Some(v)) => Err(HashError::malformed(
            name,
            format!("version byte {v:#04x} does not match the scheme"),
        )),
        (_, None) => Err(HashError::malformed(name, "empty")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::super::{Family, Verdict};
    use super::*;

    fn both(scheme: Scheme, stored: &str, good: &str, bad: &str) {
        assert_eq!(detect(stored), Some(scheme), "{stored}");
        let h = parse(scheme, stored, &Limits::default()).unwrap();
        crate::hash::testing::assert_match_and_mismatch(
            &h,
            good.as_bytes(),
            bad.as_bytes(),
            stored,
        );
    }

    // dotnet/aspnetcore `src/Identity/test/Identity.Test/PasswordHasherTest.cs`
    // (`HashPassword_Version2/3` and `VerifyHashedPassword_*_SuccessCases`),
    // all for the password "my password".
    #[test]
    fn aspnetcore_vectors() {
        let v2 = Scheme::AspnetIdentityV2;
        let v3 = Scheme::AspnetIdentityV3;
        both(
            v2,
            "AAABAgMEBQYHCAkKCwwNDg+ukCEMDf0yyQ29NYubggHIVY0sdEUfdyeM+E1LtH1uJg==",
            "my password",
            "my passwore",
        );
        both(
            v2,
            "ANXrDknc7fGPpigibZXXZFMX4aoqz44JveK6jQuwY3eH/UyPhvr5xTPeGYEckLxz9A==",
            "my password",
            "My password",
        );
        both(
            v3,
            "AQAAAAEAACcQAAAAEAABAgMEBQYHCAkKCwwNDg+yWU7rLgUwPZb1Itsmra7cbxw2EFpwpVFIEtP+JIuUEw==",
            "my password",
            "my password ",
        );
        both(
            v3,
            "AQAAAAIAAAAyAAAAEOMwvh3+FZxqkdMBz2ekgGhwQ4B6pZWND6zgESBuWiHw",
            "my password",
            "my passw0rd",
        );
        both(
            v3,
            "AQAAAAIAAAD6AAAAIJbVi5wbMR+htSfFp8fTw8N8GOS/Sje+S/4YZcgBfU7EQuqv4OkVYmc4VJl9AGZzmRTxSkP7LtVi9IWyUxX8IAAfZ8v+ZfhjCcudtC1YERSqE1OEdXLW9VukPuJWBBjLuw==",
            "my password",
            "my_password",
        );
        both(
            v3,
            "AQAAAAAAAAD6AAAAEAhftMyfTJylOlZT+eEotFXd1elee8ih5WsjXaR3PA9M",
            "my password",
            "my passwor",
        );
    }

    // The same file's `VerifyHashedPassword_FailureCases`.
    #[test]
    fn aspnetcore_failure_cases() {
        let limits = Limits::default();
        let wrong = parse(
            Scheme::AspnetIdentityV2,
            "AAABAgMEBQYHCAkKCwwNDg+uAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAALtH1uJg==",
            &limits,
        )
        .unwrap();
        assert_eq!(wrong.verify(b"my password").unwrap(), Verdict::Mismatch);
        let wrong = parse(
            Scheme::AspnetIdentityV3,
            "AQAAAAAAAAD6AAAAEAhftMyfTJyAAAAAAAAAAAAAAAAAAAih5WsjXaR3PA9M",
            &limits,
        )
        .unwrap();
        assert_eq!(wrong.verify(b"my password").unwrap(), Verdict::Mismatch);
        // Too short / extra data for V2, too-short subkey for V3: malformed.
        for (scheme, bad) in [
            (Scheme::AspnetIdentityV2, "AAABAgMEBQYHCAkKCwwNDg+ukCEMDf0yyQ29NYubggE="),
            (
                Scheme::AspnetIdentityV2,
                "AAABAgMEBQYHCAkKCwwNDg+ukCEMDf0yyQ29NYubggHIVY0sdEUfdyeM+E1LtH1uJgAAAAAAAAAAAAA=",
            ),
            (Scheme::AspnetIdentityV3, "AQAAAAIAAAAyAAAAEOMwvh3+FZxqkdMBz2ekgGhwQ4A="),
            (
                Scheme::AspnetIdentityV2,
                "AQAAAAEAACcQAAAAEAABAgMEBQYHCAkKCwwNDg+yWU7rLgUwPZb1Itsmra7cbxw2EFpwpVFIEtP+JIuUEw==",
            ),
        ] {
            assert!(
                matches!(parse(scheme, bad, &limits), Err(HashError::Malformed { .. })),
                "{bad}"
            );
        }
        // V3 with extra data: the subkey is longer, so it simply mismatches.
        let extra = parse(
            Scheme::AspnetIdentityV3,
            "AQAAAAIAAAAyAAAAEOMwvh3+FZxqkdMBz2ekgGhwQ4B6pZWND6zgESBuWiHwAAAAAAAAAAAA",
            &limits,
        )
        .unwrap();
        assert_eq!(extra.verify(b"my password").unwrap(), Verdict::Mismatch);
    }

    // Generated with Python 3 `hashlib.pbkdf2_hmac` (32-byte subkey) in the
    // V3 layout of aspnetcore's `PasswordHasher.cs` (`HashPasswordV3`): PRFs
    // other than the old SHA-256 default, odd iteration counts, salts of 16,
    // 24 and 32 bytes, all for "my password".
    #[test]
    fn v3_is_identified_whatever_its_prf_iterations_and_salt_length() {
        let v3 = Scheme::AspnetIdentityV3;
        // HMAC-SHA512, 1000 iterations, 16-byte salt.
        both(
            v3,
            "AQAAAAIAAAPoAAAAEAABAgMEBQYHCAkKCwwNDg9v/HWjj77k2sv+2S6Yz3PeNJMY6nbV47HT1+62YV5t7w==",
            "my password",
            "my passwore",
        );
        // HMAC-SHA1, 1 iteration, 32-byte salt.
        both(
            v3,
            "AQAAAAAAAAABAAAAICAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/TovAQLBPOrgIlfG8eCVEhTSHcQZjvk2o1h4bLRr6HtY=",
            "my password",
            "My password",
        );
        // HMAC-SHA256, 7 iterations, 24-byte salt.
        both(
            v3,
            "AQAAAAEAAAAHAAAAGGRlZmdoaWprbG1ub3BxcnN0dXZ3eHl6ez1JpCmRwEabQlo/lSf+sj1M26pHj+2DMBIMLOw7o/el",
            "my password",
            "my passwor",
        );
        let limits = Limits::default();
        // PRF 3 (none yet): still V3, answered unsupported rather than unrecognised.
        let unknown_prf =
            "AQAAAAMAAAPoAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
        assert_eq!(detect(unknown_prf), Some(v3));
        assert!(matches!(
            parse(v3, unknown_prf, &limits),
            Err(HashError::Unsupported { .. })
        ));
        // An 8-byte salt: still V3; ASP.NET refuses salts under 128 bits, so do we.
        let short_salt = "AQAAAAEAAAPoAAAACAABAgMEBQYHYMjhSS+iEtzVVMM0cT15ITwBf1O7dDsyDJqcVuEVfZU=";
        assert_eq!(detect(short_salt), Some(v3));
        assert!(matches!(
            parse(v3, short_salt, &limits),
            Err(HashError::Malformed { .. })
        ));
        // A salt length running past the end is not a V3 blob.
        assert_eq!(
            detect("AQAAAAEAAAPoAAAAQAABAgMEBQYHYMjhSS+iEtzVVMM0cT15ITwBf1O7dDsyDJqcVuEVfZU="),
            None
        );
    }

    #[test]
    fn iteration_ceiling_and_okta() {
        let limits = Limits {
            pbkdf2_iterations: 100_000,
            ..Limits::default()
        };
        let stored = "AQAAAAEAA9CQAAAAIESkQuj2Du8Y+kbc5lcN/W/3NiAZFEm11P27nrSN5/tId+bR1SwV8CO1Jd72r4C08OLvplNlCDc3oQZ8efcW+jQ=";
        assert!(matches!(
            parse(Scheme::AspnetIdentityV3, stored, &limits),
            Err(HashError::CostTooHigh { value: 250_000, .. })
        ));
        let h = parse(Scheme::AspnetIdentityV3, stored, &Limits::default()).unwrap();
        assert!(matches!(
            h.okta_native(),
            Some(super::super::OktaHash::Pbkdf2 {
                iterations: 250_000,
                ..
            })
        ));
        assert_eq!(detect("not a blob"), None);
    }
}
