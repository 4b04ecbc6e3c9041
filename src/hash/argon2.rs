//! Argon2 PHC strings: `$argon2d$`, `$argon2i$`, `$argon2id$`, version 19
//! (`v=19`) and version 16 (`v=16`, or no `v=` at all, as the reference code
//! wrote before 1.3), with the optional `keyid`/`data` parameters. The
//! computation is the `argon2` crate's; this file parses and guards.

use std::cell::Cell;

use ::argon2::{Algorithm, Argon2, AssociatedData, Block, ParamsBuilder, Version};

use super::encoding::{b64, ct_eq, TextEncoding};
use super::lanes;
use super::{Family, HashError, Hints, Limits, Param, Result, Scheme, Verdict};

/// Shortest salt the reference implementation accepts.
const MIN_SALT_BYTES: usize = 8;
/// Shortest tag the reference implementation produces.
const MIN_OUTPUT_BYTES: usize = 4;
/// Longest tag accepted (the reference allows more; nothing stores more).
const MAX_OUTPUT_BYTES: usize = 1024;

/// Argon2 memory (1 KiB blocks) a thread keeps between verifications, at
/// most 64 MiB. The crate's `hash_password_into` zero-fills a fresh m-KiB
/// area on every call, which the reference C does not do; reusing the area
/// saves that memset and its page faults (measured in docs/benchmarks.md).
/// Stale contents are harmless: Argon2 writes every block before reading it.
/// passbridge's hash workers are long-lived, so each keeps the area of its
/// largest verification up to this cap: resident memory stays at the peak
/// that `workers x m` already reached while verifying, instead of dropping.
const MAX_REUSED_BLOCKS: usize = 65_536;

thread_local! {
    static REUSED_BLOCKS: Cell<Vec<Block>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` over `count` blocks: this thread's reused area when `count` is
/// within [`MAX_REUSED_BLOCKS`], a fresh one otherwise. The area is taken
/// out of the thread-local for the call, so nothing is borrowed across it.
fn with_blocks<R>(count: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
    let reuse = count <= MAX_REUSED_BLOCKS;
    let mut blocks = if reuse {
        REUSED_BLOCKS.take()
    } else {
        Vec::new()
    };
    if blocks.len() < count {
        blocks.resize(count, Block::default());
    }
    let out = f(&mut blocks[..count]);
    if reuse {
        REUSED_BLOCKS.set(blocks);
    }
    out
}

pub(crate) struct Argon2Hash {
    algorithm: Algorithm,
    version: Version,
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
    data: Vec<u8>,
    /// The secret key (pepper), when the hash was made with one.
    secret: Vec<u8>,
    salt: Vec<u8>,
    tag: Vec<u8>,
}

fn decimal(name: &'static str, what: &str, v: &str) -> Result<u32> {
    if v.is_empty() || v.len() > 10 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HashError::malformed(
            name,
            format!("{what} is not a number"),
        ));
    }
    v.parse()
        .map_err(|_| HashError::malformed(name, format!("{what} is out of range")))
}

/// Parses `$argon2{d,i,id}$[v=N$]m=..,t=..,p=..[,keyid=..][,data=..]$salt$tag`.
/// A secret key (`params.pepper`, with `pepper_encoding`) is used when given,
/// and is required when the string names one with `keyid`.
pub(crate) fn parse(
    scheme: Scheme,
    stored: &str,
    hints: &Hints,
    limits: &Limits,
) -> Result<Argon2Hash> {
    let name = scheme.as_str();
    let (algorithm, ident) = match scheme {
        Scheme::Argon2d => (Algorithm::Argon2d, "argon2d"),
        Scheme::Argon2i => (Algorithm::Argon2i, "argon2i"),
        Scheme::Argon2id => (Algorithm::Argon2id, "argon2id"),
        _ => {
            return Err(HashError::Unsupported {
                scheme: name,
                reason: "not an argon2 scheme".into(),
            })
        }
    };
    let mut fields = stored.split('$');
    if fields.next() != Some("") || fields.next() != Some(ident) {
        return Err(HashError::malformed(
            name,
            format!("expected the `${ident}$` prefix"),
        ));
    }
    let mut field = fields
        .next()
        .ok_or_else(|| HashError::malformed(name, "missing parameters"))?;
    let version = match field.strip_prefix("v=") {
        Some(v) => {
            let version = match decimal(name, "version", v)? {
                0x10 => Version::V0x10,
                0x13 => Version::V0x13,
                _ => {
                    return Err(HashError::Unsupported {
                        scheme: name,
                        reason: "argon2 versions are 16 and 19".into(),
                    })
                }
            };
            field = fields
                .next()
                .ok_or_else(|| HashError::malformed(name, "missing parameters"))?;
            version
        }
        // Hashes from before version 1.3 of the reference code carry no `v=`.
        None => Version::V0x10,
    };
    let (mut m, mut t, mut p) = (None, None, None);
    let mut keyid = None;
    let mut data = Vec::new();
    for pair in field.split(',') {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| HashError::malformed(name, "parameters must be key=value"))?;
        match key {
            "m" if m.is_none() => m = Some(decimal(name, "m", value)?),
            "t" if t.is_none() => t = Some(decimal(name, "t", value)?),
            "p" if p.is_none() => p = Some(decimal(name, "p", value)?),
            "keyid" if keyid.is_none() => {
                keyid = Some(
                    b64(value).ok_or_else(|| HashError::malformed(name, "keyid is not Base64"))?,
                );
            }
            "data" if data.is_empty() => {
                data =
                    b64(value).ok_or_else(|| HashError::malformed(name, "data is not Base64"))?;
            }
            _ => {
                return Err(HashError::malformed(
                    name,
                    "unknown or repeated parameter (m, t, p, keyid, data)",
                ))
            }
        }
    }
    let (Some(m_cost), Some(t_cost), Some(p_cost)) = (m, t, p) else {
        return Err(HashError::malformed(name, "m, t and p are all required"));
    };
    let (salt, tag) = match (fields.next(), fields.next(), fields.next()) {
        (Some(s), Some(h), None) => (s, h),
        _ => {
            return Err(HashError::malformed(
                name,
                "expected `$salt$hash` at the end",
            ))
        }
    };
    let salt = b64(salt).ok_or_else(|| HashError::malformed(name, "salt is not Base64"))?;
    let tag = b64(tag).ok_or_else(|| HashError::malformed(name, "hash is not Base64"))?;
    if salt.len() < MIN_SALT_BYTES {
        return Err(HashError::malformed(name, "salt is shorter than 8 bytes"));
    }
    if !(MIN_OUTPUT_BYTES..=MAX_OUTPUT_BYTES).contains(&tag.len()) {
        return Err(HashError::malformed(name, "hash length is out of range"));
    }
    if data.len() > AssociatedData::MAX_LEN {
        return Err(HashError::malformed(name, "data is longer than 32 bytes"));
    }
    if t_cost < 1 || p_cost < 1 || u64::from(m_cost) < 8 * u64::from(p_cost) {
        return Err(HashError::malformed(
            name,
            "needs t >= 1, p >= 1 and m >= 8 * p",
        ));
    }
    Limits::check(
        name,
        "argon2_memory_kib",
        u64::from(m_cost),
        u64::from(limits.argon2_memory_kib),
    )?;
    Limits::check(
        name,
        "argon2_time",
        u64::from(t_cost),
        u64::from(limits.argon2_time),
    )?;
    Limits::check(
        name,
        "argon2_parallelism",
        u64::from(p_cost),
        u64::from(limits.argon2_parallelism),
    )?;
    let secret = match hints.param("pepper") {
        Some(pepper) => {
            let enc = match hints.param("pepper_encoding") {
                None => TextEncoding::Utf8,
                Some(e) => TextEncoding::parse(e).ok_or_else(|| {
                    HashError::malformed(name, "unknown pepper encoding (utf8, hex or base64)")
                })?,
            };
            enc.decode(pepper)
                .ok_or_else(|| HashError::malformed(name, "pepper is not valid for its encoding"))?
        }
        None if keyid.is_some() => {
            return Err(HashError::MissingHint {
                scheme: name,
                what: "the secret key named by keyid (params.pepper)",
            })
        }
        None => Vec::new(),
    };
    Ok(Argon2Hash {
        algorithm,
        version,
        m_cost,
        t_cost,
        p_cost,
        data,
        secret,
        salt,
        tag,
    })
}

impl Family for Argon2Hash {
    fn verify(&self, password: &[u8]) -> Result<Verdict> {
        let scheme = match self.algorithm {
            Algorithm::Argon2d => "argon2d",
            Algorithm::Argon2i => "argon2i",
            Algorithm::Argon2id => "argon2id",
        };
        let failed = |e: ::argon2::Error| HashError::Unsupported {
            scheme,
            reason: format!("argon2 rejected the parameters: {e}"),
        };
        let mut builder = ParamsBuilder::new();
        builder
            .m_cost(self.m_cost)
            .t_cost(self.t_cost)
            .p_cost(self.p_cost)
            .output_len(self.tag.len());
        if !self.data.is_empty() {
            builder.data(AssociatedData::new(&self.data).map_err(failed)?);
        }
        let params = builder.build().map_err(failed)?;
        let block_count = params.block_count();
        let ctx = if self.secret.is_empty() {
            Argon2::new(self.algorithm, self.version, params)
        } else {
            Argon2::new_with_secret(&self.secret, self.algorithm, self.version, params)
                .map_err(failed)?
        };
        let mut out = vec![0u8; self.tag.len()];
        // The memory is this thread's; only the lanes may run elsewhere
        // (see `lanes`: on a pool the caller lent, else here).
        with_blocks(block_count, |blocks| {
            lanes::run_lanes(|| {
                ctx.hash_password_into_with_memory(password, &self.salt, &mut out, blocks)
            })
        })
        .map_err(failed)?;
        Ok(Verdict::from_bool(ct_eq(&out, &self.tag)))
    }

    fn params(&self) -> Vec<Param> {
        let mut out = vec![
            (
                "version",
                match self.version {
                    Version::V0x10 => "16 (0x10)",
                    Version::V0x13 => "19 (0x13)",
                }
                .to_owned(),
            ),
            ("memory_kib", self.m_cost.to_string()),
            ("time", self.t_cost.to_string()),
            ("parallelism", self.p_cost.to_string()),
            ("salt_bytes", self.salt.len().to_string()),
            ("hash_bytes", self.tag.len().to_string()),
        ];
        if !self.secret.is_empty() {
            out.push(("keyed", "secret".to_owned()));
        }
        if !self.data.is_empty() {
            out.push(("associated_data_bytes", self.data.len().to_string()));
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn check(scheme: Scheme, stored: &str, hints: &Hints, pw: &[u8]) -> Verdict {
        parse(scheme, stored, hints, &Limits::default())
            .unwrap()
            .verify(pw)
            .unwrap()
    }

    fn both(scheme: Scheme, stored: &str, good: &[u8], bad: &[u8]) {
        let none = Hints::default();
        assert_eq!(check(scheme, stored, &none, good), Verdict::Match);
        assert_eq!(check(scheme, stored, &none, bad), Verdict::Mismatch);
    }

    // The reference implementation's `src/test.c` (P-H-C/phc-winner-argon2):
    // password "password", salt "somesalt", version 0x10 without `v=` and
    // version 0x13 with it.
    #[test]
    fn reference_test_c_vectors() {
        both(
            Scheme::Argon2i,
            "$argon2i$m=65536,t=2,p=1$c29tZXNhbHQ$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ",
            b"password",
            b"passwore",
        );
        both(
            Scheme::Argon2i,
            "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA",
            b"password",
            b"Password",
        );
        both(
            Scheme::Argon2id,
            "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            b"password",
            b"password ",
        );
    }

    // Test vectors of the Argon2 RFC 9106 §5 as printed by the reference
    // code's `kats/` (argon2d, v=19, with secret and associated data, 32
    // bytes of 0x01 as password, 16 of 0x02 as salt, 8 of 0x03 secret,
    // 12 of 0x04 data, m=32, t=3, p=4).
    #[test]
    fn rfc9106_argon2d_with_secret_and_data() {
        let salt = crate::hash::encoding::b64_encode(&[2u8; 16]);
        let data = crate::hash::encoding::b64_encode(&[4u8; 12]);
        let tag = ::hex::decode("512b391b6f1162975371d30919734294f868e3be3984f3c1a13a4db9fabe4acb")
            .unwrap();
        let stored = format!(
            "$argon2d$v=19$m=32,t=3,p=4,data={}${}${}",
            data.trim_end_matches('='),
            salt.trim_end_matches('='),
            crate::hash::encoding::b64_encode(&tag).trim_end_matches('=')
        );
        let hints = Hints::default()
            .with_param("pepper", "0303030303030303")
            .with_param("pepper_encoding", "hex");
        assert_eq!(
            check(Scheme::Argon2d, &stored, &hints, &[1u8; 32]),
            Verdict::Match
        );
        assert_eq!(
            check(Scheme::Argon2d, &stored, &hints, &[1u8; 31]),
            Verdict::Mismatch
        );
        // Without the secret the same string cannot match.
        assert_eq!(
            check(Scheme::Argon2d, &stored, &Hints::default(), &[1u8; 32]),
            Verdict::Mismatch
        );
    }

    #[test]
    fn keyid_without_a_secret_is_a_missing_hint() {
        let stored = "$argon2id$v=19$m=65536,t=2,p=1,keyid=AAECAw$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
        let err = parse(
            Scheme::Argon2id,
            stored,
            &Hints::default(),
            &Limits::default(),
        );
        assert!(matches!(err, Err(HashError::MissingHint { .. })));
    }

    #[test]
    fn malformed_values_are_rejected() {
        let limits = Limits::default();
        let none = Hints::default();
        for bad in [
            "",
            "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ",
            "$argon2i$v=18$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA",
            "$argon2i$v=19$m=65536,t=2$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA",
            "$argon2i$v=19$m=65536,t=2,p=1,x=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA",
            "$argon2i$v=19$m=65536,t=0,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA",
            "$argon2i$v=19$m=4,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA",
            "$argon2i$v=19$m=65536,t=2,p=1$c29tZQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA",
            "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$w!KIMhR9",
            "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        ] {
            assert!(
                matches!(
                    parse(Scheme::Argon2i, bad, &none, &limits),
                    Err(HashError::Malformed { .. } | HashError::Unsupported { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn cost_ceilings_are_checked_at_parse_time() {
        let stored =
            "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
        let none = Hints::default();
        for (limits, param) in [
            (
                Limits {
                    argon2_memory_kib: 65535,
                    ..Limits::default()
                },
                "argon2_memory_kib",
            ),
            (
                Limits {
                    argon2_time: 1,
                    ..Limits::default()
                },
                "argon2_time",
            ),
        ] {
            match parse(Scheme::Argon2id, stored, &none, &limits) {
                Err(HashError::CostTooHigh { param: p, .. }) => assert_eq!(p, param),
                other => panic!("{:?}", other.err()),
            }
        }
        let p4 = "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
        let limits = Limits {
            argon2_parallelism: 2,
            ..Limits::default()
        };
        assert!(matches!(
            parse(Scheme::Argon2id, p4, &none, &limits),
            Err(HashError::CostTooHigh { .. })
        ));
    }

    #[test]
    fn detect_recognises_this_family() {
        for (stored, scheme) in [
            ("$argon2i$m=65536,t=2,p=1$c29tZXNhbHQ$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ", Scheme::Argon2i),
            ("$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", Scheme::Argon2id),
            ("$argon2d$v=19$m=32,t=3,p=4$AgICAgICAgICAgICAgICAg$USs5G28RYpdTcdMJGXNClPho4745hPPBoTpNufq+Sss", Scheme::Argon2d),
        ] {
            assert_eq!(super::super::detect(stored), Some(scheme), "{stored}");
        }
    }

    // The reused area must not leak one verification into the next: the
    // same hash verifies after a different, larger and smaller one ran on
    // this thread, and a wrong password still fails.
    #[test]
    fn reused_memory_gives_the_same_answers() {
        let limits = Limits::default();
        // Made by the reference C (phc-winner-argon2).
        let small = "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$pMlwOs/gn+zdvoB/AGiRNA";
        let parsed = |s: &str| parse(Scheme::Argon2id, s, &Hints::default(), &limits).unwrap();
        let big = "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$PKFfIHl4qyvYO0H22OU4CA";
        assert_eq!(parsed(small).verify(b"password").unwrap(), Verdict::Match);
        assert_eq!(parsed(big).verify(b"password").unwrap(), Verdict::Match);
        assert_eq!(parsed(small).verify(b"password").unwrap(), Verdict::Match);
        assert_eq!(parsed(big).verify(b"passwore").unwrap(), Verdict::Mismatch);
        assert_eq!(parsed(big).verify(b"password").unwrap(), Verdict::Match);
        assert_eq!(
            parsed(small).verify(b"passwore").unwrap(),
            Verdict::Mismatch
        );
        let mut seen = 0;
        with_blocks(8, |b| seen = b.len());
        assert_eq!(seen, 8);
        with_blocks(MAX_REUSED_BLOCKS + 4, |b| seen = b.len());
        assert_eq!(seen, MAX_REUSED_BLOCKS + 4);
    }
}
