//! The cost model and look-alike hashes: how much work a parsed hash takes
//! (in units that scale linearly within a family), and hashes of the same
//! shape with random salt and digest, for the unknown-user path and for
//! measuring a family cheaply.
//!
//! Read from [`StoredHash::params`], so the families need no extra code.

use std::collections::BTreeMap;

use base64::Engine;
use rand::Rng;

use super::{Hints, Limits, Scheme, StoredHash};

/// What one verification of a hash costs, in a family's own unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Work {
    /// Hashes in one family cost the same per unit (`bcrypt`, `argon2`,
    /// `pbkdf2-hmac-sha256`, `scrypt`, or the scheme's own name).
    pub family: String,
    /// bcrypt 2^cost, PBKDF2 iterations × blocks, argon2 m × t, scrypt
    /// N × r × p, round-based schemes rounds; 1 for fixed-cost schemes.
    pub units: f64,
}

/// The parameters that decide cost and layout, read back from `params()`.
#[derive(Debug, Clone, PartialEq)]
enum Spec {
    Bcrypt {
        cost: u32,
    },
    Argon2 {
        variant: &'static str,
        m: u64,
        t: u64,
        p: u64,
        salt: usize,
        tag: usize,
    },
    Pbkdf2 {
        prf: String,
        iterations: u64,
        salt: usize,
        dk: usize,
    },
    Scrypt {
        n: u64,
        r: u64,
        p: u64,
        salt: usize,
        dk: usize,
    },
    ShaCrypt {
        scheme: Scheme,
        rounds: u64,
    },
    Digest {
        scheme: Scheme,
        salt: usize,
    },
    Other {
        units: f64,
    },
}

fn param<'a>(params: &'a [(&'static str, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.as_str())
}

fn num(params: &[(&'static str, String)], key: &str) -> Option<u64> {
    param(params, key).and_then(|v| v.trim().parse().ok())
}

fn is_digest(s: Scheme) -> bool {
    // The scheme table's families of the plain, salted and keyed digests
    // (`digest.rs`), rather than a second list of their schemes.
    matches!(s.family(), "raw_digest" | "salted_digest" | "hmac")
}

fn spec(hash: &StoredHash) -> Spec {
    let params = hash.params();
    let scheme = hash.scheme();
    let inner = param(&params, "inner_scheme").unwrap_or(scheme.as_str());
    if let (Some(cost), true) = (num(&params, "cost"), inner.contains("bcrypt")) {
        return Spec::Bcrypt {
            cost: u32::try_from(cost).unwrap_or(u32::MAX),
        };
    }
    if let (Some(m), Some(t)) = (num(&params, "memory_kib"), num(&params, "time")) {
        let variant = if inner.contains("argon2id") {
            "argon2id"
        } else if inner.contains("argon2i") {
            "argon2i"
        } else {
            "argon2d"
        };
        return Spec::Argon2 {
            variant,
            m,
            t,
            p: num(&params, "parallelism").unwrap_or(1),
            salt: usize_of(num(&params, "salt_bytes").unwrap_or(16)),
            tag: usize_of(num(&params, "hash_bytes").unwrap_or(32)),
        };
    }
    if let (Some(prf), Some(iterations)) = (param(&params, "prf"), num(&params, "iterations")) {
        return Spec::Pbkdf2 {
            prf: prf.to_owned(),
            iterations,
            salt: usize_of(num(&params, "salt_bytes").unwrap_or(16)),
            dk: usize_of(num(&params, "dk_bytes").unwrap_or(32)),
        };
    }
    let scrypt_like = !matches!(scheme, Scheme::Yescrypt | Scheme::FirebaseScrypt);
    if let (Some(n), Some(r), Some(p), true) = (
        num(&params, "N"),
        num(&params, "r"),
        num(&params, "p"),
        scrypt_like,
    ) {
        return Spec::Scrypt {
            n,
            r,
            p,
            salt: usize_of(num(&params, "salt_bytes").unwrap_or(16)),
            dk: usize_of(
                num(&params, "dk_bytes")
                    .or_else(|| num(&params, "dklen"))
                    .unwrap_or(32),
            ),
        };
    }
    if matches!(scheme, Scheme::Sha256Crypt | Scheme::Sha512Crypt) {
        return Spec::ShaCrypt {
            scheme,
            rounds: num(&params, "rounds").unwrap_or(5000),
        };
    }
    if is_digest(scheme) {
        return Spec::Digest {
            scheme,
            salt: usize_of(num(&params, "salt_bytes").unwrap_or(0)),
        };
    }
    // Round counts the model does not know how to scale still order rows
    // of one scheme; everything else costs a constant.
    let units = num(&params, "rounds_log2")
        .map(|l| 2f64.powf(l.min(63) as f64))
        .or_else(|| num(&params, "rounds").map(|r| r as f64))
        .or_else(|| {
            let (n, r, p) = (num(&params, "N")?, num(&params, "r")?, num(&params, "p")?);
            Some((n * r * p) as f64)
        })
        .unwrap_or(1.0);
    Spec::Other { units }
}

fn usize_of(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX).min(1024)
}

impl Spec {
    fn work(&self, scheme: Scheme) -> Work {
        let (family, units) = match self {
            Spec::Bcrypt { cost } => ("bcrypt".to_owned(), 2f64.powf(f64::from(*cost))),
            Spec::Argon2 { m, t, .. } => ("argon2".to_owned(), (*m as f64) * (*t as f64)),
            Spec::Pbkdf2 {
                prf,
                iterations,
                dk,
                ..
            } => {
                let out = prf_output_len(prf);
                let blocks = dk.div_ceil(out).max(1);
                (
                    format!("pbkdf2-{prf}"),
                    (*iterations as f64) * (blocks as f64),
                )
            }
            Spec::Scrypt { n, r, p, .. } => ("scrypt".to_owned(), (*n as f64) * (*r * *p) as f64),
            Spec::ShaCrypt { rounds, .. } => (scheme.as_str().to_owned(), *rounds as f64),
            Spec::Digest { .. } => (scheme.as_str().to_owned(), 1.0),
            Spec::Other { units } => (scheme.as_str().to_owned(), *units),
        };
        Work { family, units }
    }
}

fn prf_output_len(prf: &str) -> usize {
    match prf.trim_start_matches("hmac-") {
        "md5" => 16,
        "sha1" => 20,
        "sha224" => 28,
        "sha256" => 32,
        "sha384" => 48,
        _ => 64,
    }
}

const BCRYPT64: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const CRYPT64: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` crypt-Base64 characters whose last one leaves `spare_bits` zero:
/// the low bits for bcrypt's big-endian packing, the high bits for crypt's
/// little-endian one (`little`).
fn bcrypt64(len: usize, spare_bits: u32) -> String {
    crypt64(len, spare_bits, false)
}

fn crypt64(len: usize, spare_bits: u32, little: bool) -> String {
    let mut rng = rand::thread_rng();
    let step = 1usize << spare_bits;
    let alphabet = if little { CRYPT64 } else { BCRYPT64 };
    (0..len)
        .map(|i| {
            let v = if i + 1 == len && little {
                rng.gen_range(0..64 / step)
            } else if i + 1 == len {
                rng.gen_range(0..64 / step) * step
            } else {
                rng.gen_range(0..64)
            };
            char::from(alphabet[v])
        })
        .collect()
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut rng = rand::thread_rng();
    (0..n).map(|_| rng.gen()).collect()
}

fn b64(n: usize) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(random_bytes(n))
}

fn encode_as(encoding: Option<&str>, bytes: &[u8]) -> String {
    match encoding.map(str::trim) {
        Some(e) if e.eq_ignore_ascii_case("base64") => {
            base64::engine::general_purpose::STANDARD.encode(bytes)
        }
        _ => hex::encode(bytes),
    }
}

/// A salt column value of `n` bytes in `salt_encoding` (text when unset).
fn salt_text(encoding: Option<&str>, n: usize) -> String {
    match encoding.map(str::trim) {
        Some(e) if e.eq_ignore_ascii_case("hex") => hex::encode(random_bytes(n)),
        Some(e) if e.eq_ignore_ascii_case("base64") => {
            base64::engine::general_purpose::STANDARD.encode(random_bytes(n))
        }
        _ => {
            let mut rng = rand::thread_rng();
            (0..n)
                .map(|_| char::from(BCRYPT64[rng.gen_range(2..64)]))
                .collect()
        }
    }
}

fn build(spec: &Spec, params: &BTreeMap<String, String>, limits: &Limits) -> Option<StoredHash> {
    let none = Hints::default();
    match spec {
        Spec::Bcrypt { cost } => {
            let s = format!("$2b${cost:02}${}{}", bcrypt64(22, 4), bcrypt64(31, 2));
            StoredHash::parse_as(Scheme::Bcrypt2b, &s, &none, limits).ok()
        }
        Spec::Argon2 {
            variant,
            m,
            t,
            p,
            salt,
            tag,
        } => {
            let scheme = match *variant {
                "argon2id" => Scheme::Argon2id,
                "argon2i" => Scheme::Argon2i,
                _ => Scheme::Argon2d,
            };
            let s = format!(
                "${variant}$v=19$m={m},t={t},p={p}${}${}",
                b64((*salt).max(8)),
                b64((*tag).max(4))
            );
            StoredHash::parse_as(scheme, &s, &none, limits).ok()
        }
        Spec::Pbkdf2 {
            prf,
            iterations,
            salt,
            dk,
        } => {
            let hints = Hints::default()
                .with_salt(hex::encode(random_bytes((*salt).max(1))))
                .with_param("salt_encoding", "hex")
                .with_param("algorithm", format!("pbkdf2-{prf}"))
                .with_param("iterations", iterations.to_string())
                .with_param("dklen", dk.to_string())
                .with_param("encoding", "hex");
            let s = hex::encode(random_bytes((*dk).max(1)));
            StoredHash::parse_as(Scheme::Pbkdf2Raw, &s, &hints, limits).ok()
        }
        Spec::Scrypt { n, r, p, salt, dk } => {
            let hints = Hints::default()
                .with_salt(hex::encode(random_bytes((*salt).max(1))))
                .with_param("salt_encoding", "hex")
                .with_param("N", n.to_string())
                .with_param("r", r.to_string())
                .with_param("p", p.to_string())
                .with_param("dklen", dk.to_string())
                .with_param("encoding", "hex");
            let s = hex::encode(random_bytes((*dk).max(1)));
            StoredHash::parse_as(Scheme::ScryptRaw, &s, &hints, limits).ok()
        }
        Spec::ShaCrypt { scheme, rounds } => {
            let (id, len) = if *scheme == Scheme::Sha256Crypt {
                ("5", 43)
            } else {
                ("6", 86)
            };
            let salt = bcrypt64(16, 0);
            let spare = if len == 43 { 2 } else { 4 };
            let s = format!("${id}$rounds={rounds}${salt}${}", crypt64(len, spare, true));
            StoredHash::parse_as(*scheme, &s, &none, limits).ok()
        }
        Spec::Digest { scheme, salt } => {
            let mut hints = Hints {
                params: params.clone(),
                ..Hints::default()
            };
            let salted = scheme.family() == "salted_digest";
            if salted && hints.param("salt_position").is_none() {
                // Where the salt goes costs nothing: any position will do.
                hints = hints.with_param("salt_position", "suffix");
            }
            if *salt > 0 || salted || hints.param("salt_position").is_some() {
                hints.salt = Some(salt_text(hints.param("salt_encoding"), (*salt).max(8)));
            }
            let len = digest_len(*scheme);
            let s = encode_as(hints.param("encoding"), &random_bytes(len));
            StoredHash::parse_as(*scheme, &s, &hints, limits).ok()
        }
        Spec::Other { .. } => None,
    }
}

fn digest_len(s: Scheme) -> usize {
    let name = s.as_str();
    if name.ends_with("md4") || name.ends_with("md5") {
        16
    } else if name.ends_with("sha1") {
        20
    } else if name.ends_with("sha224") {
        28
    } else if name.ends_with("sha256") {
        32
    } else if name.ends_with("sha384") {
        48
    } else {
        64
    }
}

impl StoredHash {
    /// What verifying this hash costs, for admission and audits.
    pub fn work(&self) -> Work {
        spec(self).work(self.scheme)
    }

    /// Lanes that can be computed side by side (argon2's `p`; 1 for every
    /// other family, whose work is one sequential chain per verification).
    pub fn lanes(&self) -> usize {
        match spec(self) {
            Spec::Argon2 { p, .. } => usize::try_from(p).unwrap_or(1).max(1),
            _ => 1,
        }
    }

    /// Identifies the cost-relevant shape: scheme plus descriptive parameters
    /// (never salt or digest), so equal keys cost the same.
    pub fn shape_key(&self) -> String {
        let mut key = self.scheme.as_str().to_owned();
        for (k, v) in self.params() {
            key.push('|');
            key.push_str(k);
            key.push('=');
            key.push_str(&v);
        }
        key
    }

    /// A fresh hash of the same scheme family and cost parameters with a
    /// random salt and digest (so no password matches it). `params` are the
    /// hints the real row was parsed with (salt position, encodings, pepper).
    /// `None` for families the model cannot rebuild.
    pub fn look_alike(&self, params: &BTreeMap<String, String>, limits: &Limits) -> Option<Self> {
        build(&spec(self), params, limits)
    }

    /// A cheap hash of the same cost family (a few milliseconds at most), to measure
    /// the family's time per work unit without running an expensive row.
    pub fn calibration(&self, params: &BTreeMap<String, String>) -> Option<Self> {
        let cheap = match spec(self) {
            Spec::Bcrypt { .. } => Spec::Bcrypt { cost: 6 },
            Spec::Argon2 { variant, .. } => Spec::Argon2 {
                variant,
                m: 4096,
                t: 1,
                p: 1,
                salt: 16,
                tag: 32,
            },
            Spec::Pbkdf2 { prf, .. } => {
                let dk = prf_output_len(&prf);
                Spec::Pbkdf2 {
                    prf,
                    iterations: 20_000,
                    salt: 16,
                    dk,
                }
            }
            Spec::Scrypt { .. } => Spec::Scrypt {
                n: 4096,
                r: 8,
                p: 1,
                salt: 16,
                dk: 32,
            },
            Spec::ShaCrypt { scheme, .. } => Spec::ShaCrypt {
                scheme,
                rounds: 20_000,
            },
            // Already cheap (a microsecond): its own look-alike measures it.
            digest @ Spec::Digest { .. } => digest,
            Spec::Other { .. } => return None,
        };
        build(&cheap, params, &Limits::default())
    }

    /// The bcrypt hash of `cost` with a random salt and digest.
    pub fn bcrypt_look_alike(cost: u32) -> Option<Self> {
        build(&Spec::Bcrypt { cost }, &BTreeMap::new(), &Limits::default())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn parse(s: &str) -> StoredHash {
        StoredHash::parse(s, &Limits::default()).unwrap()
    }

    fn assert_look_alike(real: &StoredHash, params: &BTreeMap<String, String>) {
        let fake = real
            .look_alike(params, &Limits::default())
            .unwrap_or_else(|| panic!("no look-alike for {}", real.shape_key()));
        assert_eq!(fake.work(), real.work(), "{}", real.shape_key());
        let pw = SecretString::from("password".to_owned());
        assert_eq!(
            fake.verify(&pw, &Limits::default()).unwrap(),
            crate::hash::Verdict::Mismatch
        );
        let cheap = real.calibration(params);
        if let Some(cheap) = cheap {
            assert_eq!(cheap.work().family, real.work().family);
        }
    }

    #[test]
    fn bcrypt_units_double_per_cost() {
        let a = StoredHash::bcrypt_look_alike(10).unwrap().work();
        let b = StoredHash::bcrypt_look_alike(12).unwrap().work();
        assert_eq!(a.family, "bcrypt");
        assert!((b.units / a.units - 4.0).abs() < 1e-9);
    }

    #[test]
    fn look_alikes_keep_family_and_units() {
        let none = BTreeMap::new();
        for s in [
            "$2b$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui",
            "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
            "$pbkdf2-sha256$29000$N2bMeS8FQAgBgBCiNKbUmg$Tkv2DUlF7v2pKhLuXvyy9D2eT0Ga3.LrUSeTxh5HuJc",
            "$5$saltstring$gpdvZHQ.qundoWJjAZwNzbBrhvpB73knRq.7HdH6Y9.",
            "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHQ$YRh2IsHIwK/6T5lIc4QxtEJvR54pdrKplJVcfDPN3lw",
        ] {
            let real = StoredHash::parse(s, &Limits::default())
                .unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_look_alike(&real, &none);
        }
        // A scheme whose layout comes from the config: same scheme and params.
        let mut params = BTreeMap::new();
        params.insert("salt_position".to_owned(), "suffix".to_owned());
        let hints = Hints {
            salt: Some("pepperysalt".to_owned()),
            params: params.clone(),
            ..Hints::default()
        };
        let real = StoredHash::parse_as(
            Scheme::SaltedSha256,
            &"ab".repeat(32),
            &hints,
            &Limits::default(),
        )
        .unwrap();
        let fake = real.look_alike(&params, &Limits::default()).unwrap();
        assert_eq!(fake.scheme(), Scheme::SaltedSha256);
        assert_look_alike(&real, &params);
    }

    #[test]
    fn pbkdf2_units_scale_with_iterations_and_blocks() {
        let one = parse(
            "$pbkdf2-sha256$29000$N2bMeS8FQAgBgBCiNKbUmg$Tkv2DUlF7v2pKhLuXvyy9D2eT0Ga3.LrUSeTxh5HuJc",
        );
        let w = one.work();
        assert_eq!(w.family, "pbkdf2-hmac-sha256");
        assert!((w.units - 29000.0).abs() < 1e-9);
        // 16 blocks of SHA-1 output cost 16 times one block.
        let s = Spec::Pbkdf2 {
            prf: "hmac-sha1".into(),
            iterations: 1000,
            salt: 16,
            dk: 320,
        };
        assert!((s.work(Scheme::Pbkdf2Raw).units - 16_000.0).abs() < 1e-9);
    }

    #[test]
    fn argon2_units_are_memory_times_passes() {
        let h =
            parse("$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG");
        let w = h.work();
        assert_eq!(w.family, "argon2");
        assert!((w.units - 65536.0 * 3.0).abs() < 1e-9);
        let cheap = h.calibration(&BTreeMap::new()).unwrap();
        assert!((cheap.work().units - 4096.0).abs() < 1e-9);
        // p lanes, whatever the cost; the calibration hash has one.
        assert_eq!(h.lanes(), 4);
        assert_eq!(cheap.lanes(), 1);
        assert_eq!(StoredHash::bcrypt_look_alike(4).unwrap().lanes(), 1);
    }
}
