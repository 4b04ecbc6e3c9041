//! Robustness of the hash library against hostile stored values.
//!
//! A legacy table is input we do not control: a row may be empty, binary,
//! truncated, megabytes long, or carry a cost chosen to pin a CPU. For every
//! scheme in `Scheme::ALL`, with and without hints, these tests feed such
//! values to `StoredHash::parse_with` and `StoredHash::parse` and check that
//! - nothing panics (each call runs under `catch_unwind`; failures are
//!   collected, so one run lists every offending scheme and input);
//! - no error message (`Display` or `Debug`) repeats the value, a salt or a
//!   pepper, and no `params()` entry does either;
//! - a value whose cost is over the default ceilings is rejected at parse
//!   time (`CostTooHigh` or `Malformed` for its own scheme) and is never
//!   verified; whatever parses is checked against the ceilings through its
//!   `params()` before it is verified with a wrong password.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use passbridge::hash::{detect, HashError, Hints, Limits, Scheme, StoredHash};
use secrecy::SecretString;
use serde_json::Value;

/// Values of at most this many characters may legitimately appear in a
/// message (a tag, a version letter); longer ones must not.
const ECHO_MIN_CHARS: usize = 8;
/// No run of this many bytes of a value may appear either (a salt or digest
/// field quoted from a longer value).
const ECHO_WINDOW: usize = 24;
/// Runs are found through aligned anchors of this many bytes: any common
/// run of `ECHO_WINDOW` bytes holds one that starts at a multiple of
/// `ECHO_WINDOW - ECHO_ANCHOR` in the text.
const ECHO_ANCHOR: usize = 16;

/// SplitMix64: a fixed-seed generator, so every run feeds the same bytes.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// One hostile value and a short, printable label for failure reports.
struct Case {
    label: String,
    value: String,
    /// The value's anchors, computed once for the echo check.
    anchors: Anchors,
}

impl Case {
    fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        let value = value.into();
        Self {
            label: label.into(),
            anchors: Anchors::of(&value),
            value,
        }
    }
}

/// A printable preview (reports must not dump 100 KB).
fn preview(s: &str) -> String {
    let head: String = s.chars().take(48).collect();
    if head.len() < s.len() {
        format!("{head:?}… ({} bytes)", s.len())
    } else {
        format!("{head:?}")
    }
}

/// Unique `(scheme, hash)` pairs of the public corpus, in file order, with
/// each record's hints.
fn corpus() -> Vec<(String, String, Hints)> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hashcorpus/public.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        let scheme = v["scheme"].as_str().unwrap().to_owned();
        let hash = v["hash"].as_str().unwrap().to_owned();
        if !seen.insert((scheme.clone(), hash.clone())) {
            continue;
        }
        let mut hints = Hints {
            salt: v["salt"].as_str().map(str::to_owned),
            ..Hints::default()
        };
        if let Some(params) = v["params"].as_object() {
            for (k, val) in params {
                let s = match val {
                    Value::String(s) => s.clone(),
                    Value::Null => continue,
                    other => other.to_string(),
                };
                hints.params.insert(k.clone(), s);
            }
            hints.username = hints.params.get("username").cloned();
        }
        out.push((scheme, hash, hints));
    }
    assert!(out.len() > 100, "corpus too small: {}", out.len());
    out
}

/// Markers of every self-describing family, and a few that are almost right.
const PREFIXES: &[&str] = &[
    "$2$",
    "$2a$",
    "$2b$",
    "$2x$",
    "$2y$",
    "$2b$05$",
    "$2b$99$",
    "$2c$05$",
    "$bcrypt-sha256$",
    "$bcrypt-sha256$v=2,t=2b,r=5$",
    "$wp$",
    "$wp$2y$10$",
    "$argon2i$",
    "$argon2d$",
    "$argon2id$",
    "$argon2id$v=19$",
    "$argon2id$v=19$m=4294967295,t=4294967295,p=255$",
    "$argon2id$v=19$m=,t=,p=$$",
    "$5$",
    "$6$",
    "$5$rounds=",
    "$6$rounds=999999999999$",
    "$6$rounds=99999999999999999999999999$",
    "$1$",
    "$apr1$",
    "$P$",
    "$H$",
    "$S$",
    "U$S$",
    "U$P$",
    "$scrypt$",
    "$scrypt$ln=,r=,p=$",
    "$7$",
    "$7$zzzzzzzzzzz$",
    "$y$",
    "$gy$",
    "$y$jzz$",
    "$3$",
    "$3$$",
    "$A$",
    "$A$fff$",
    "$A$005$",
    "0x2441",
    "$pbkdf2$",
    "$pbkdf2-sha256$",
    "$pbkdf2-sha512$",
    "$pbkdf2-sha256$4294967295$..",
    "$p5k2$",
    "$p5k2$ffffffff$",
    "grub.pbkdf2.sha512.",
    "grub.pbkdf2.sha512.4294967295.",
    "pbkdf2:",
    "pbkdf2:sha256:4294967295$",
    "pbkdf2$",
    "scrypt:",
    "scrypt:4294967296:8:1$",
    "scrypt$",
    "pbkdf2_sha256$",
    "pbkdf2_sha1$",
    "argon2$",
    "argon2$argon2id$",
    "bcrypt$",
    "bcrypt$$2b$",
    "bcrypt_sha256$",
    "bcrypt_sha256$$2b$",
    "md5$",
    "md5$$",
    "sha1$",
    "sha1$$",
    "crypt$",
    "crypt$$",
    "SCRAM-SHA-256$",
    "SCRAM-SHA-256$4096:",
    "md5",
    "*",
    "0x0100",
    "0x0200",
    "0x",
    "_",
    "{SSHA}",
    "{SSHA512}",
    "{SMD5}",
    "{SHA}",
    "{MD5}",
    "{CRYPT}",
    "{crypt}$",
    "{CRYPT}{CRYPT}",
    "{PKCS5S2}",
    "{PBKDF2}",
    "{PBKDF2-SHA256}",
    "{PBKDF2-SHA512}1$",
    "{bcrypt}",
    "{bcrypt}$2a$",
    "{scrypt}$",
    "{scrypt}$ffffffffff$",
    "{pbkdf2}",
    "{pbkdf2@SpringSecurity_v5_8}",
    "{argon2}",
    "{argon2}$argon2id$",
    "{sha256}",
    "{MD4}",
    "{SHA-1}",
    "{SHA-256}{",
    "{noop}",
    "{ldap}",
    "{ldap}{SSHA}",
    "{",
    "{}",
    "}",
    "$",
    "$$",
    "$$$$$$$$",
];

/// Values over the default ceilings (or outside the format's range), each
/// well-formed otherwise so that its own scheme reaches the cost check.
fn absurd_costs() -> Vec<Case> {
    let b53 = "/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq";
    let salt_hash = "c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
    let key32 = "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s";
    let h86 = "a".repeat(86);
    let h43 = "a".repeat(43);
    let yes = "LdJMENpBABJJ3hIHjB1Bi.$HboGM6qPrsK.StKYGt6KErmUYtioHreJd98oIugoNB6";
    let argon = format!("$argon2id$v=19$m=4294967295,t=4294967295,p=255${salt_hash}");
    vec![
        Case::new("bcrypt cost 31", format!("$2b$31${b53}")),
        Case::new("bcrypt cost 17", format!("$2y$17${b53}")),
        Case::new("bcrypt cost 99", format!("$2a$99${b53}")),
        Case::new(
            "bcrypt_sha256 r=31",
            "$bcrypt-sha256$v=2,t=2b,r=31$5Hg1DKFqPE8C2aflZ5vVoe$wOK1VFFtS8IGTrGa7.h5fs0u84qyPbS",
        ),
        Case::new("wordpress cost 31", format!("$wp$2y$31${b53}")),
        Case::new("argon2 m,t,p max", argon.clone()),
        Case::new(
            "argon2 1 GiB",
            format!("$argon2i$v=19$m=1048576,t=2,p=1${salt_hash}"),
        ),
        Case::new(
            "argon2 t=33",
            format!("$argon2d$v=19$m=65536,t=33,p=1${salt_hash}"),
        ),
        Case::new(
            "argon2 p=64",
            format!("$argon2id$v=19$m=65536,t=2,p=64${salt_hash}"),
        ),
        Case::new(
            "sha512_crypt rounds 999999999999",
            format!("$6$rounds=999999999999$saltsalt${h86}"),
        ),
        Case::new(
            "sha256_crypt rounds 10000001",
            format!("$5$rounds=10000001$saltsalt${h43}"),
        ),
        Case::new(
            "sha1_crypt rounds 4294967295",
            "$sha1$4294967295$iVdJqfSE$v4qYKl1zqYThwpjJAoKX6UvlHq/a",
        ),
        Case::new(
            "passlib pbkdf2 4294967295",
            format!("$pbkdf2-sha256$4294967295$c2FsdA${key32}"),
        ),
        Case::new(
            "passlib pbkdf2 20 digits",
            format!("$pbkdf2-sha512$99999999999999999999$c2FsdA${key32}"),
        ),
        Case::new(
            "passlib pbkdf2 10000001",
            format!("$pbkdf2$10000001$c2FsdA${key32}"),
        ),
        Case::new(
            "ldap pbkdf2 4294967295",
            format!("{{PBKDF2-SHA256}}4294967295$c2FsdA${key32}"),
        ),
        Case::new(
            "django pbkdf2 4294967295",
            format!("pbkdf2_sha256$4294967295$salt${key32}="),
        ),
        Case::new(
            "grub pbkdf2 4294967295",
            "grub.pbkdf2.sha512.4294967295.0011.0011",
        ),
        Case::new(
            "p5k2 ffffffff",
            format!("$p5k2$ffffffff$c2FsdA${}", "a".repeat(32)),
        ),
        Case::new(
            "werkzeug pbkdf2 4294967295",
            "pbkdf2:sha256:4294967295$salt$00ff",
        ),
        Case::new(
            "werkzeug scrypt N=2^32",
            format!("scrypt:4294967296:8:1$salt${}", "00".repeat(64)),
        ),
        Case::new(
            "werkzeug scrypt p=16384",
            format!("scrypt:1048576:1:16384$salt${}", "00".repeat(64)),
        ),
        Case::new(
            "aspnet v3 iterations 2^32-1",
            "AQAAAAH/////AAAAEHNzc3Nzc3Nzc3Nzc3Nzc3Nra2tra2tra2tra2tra2tra2tra2tra2tra2tra2traw==",
        ),
        Case::new(
            "passlib scrypt ln=40",
            format!("$scrypt$ln=40,r=8,p=1$c2FsdA${key32}"),
        ),
        Case::new(
            "passlib scrypt p=16384",
            format!("$scrypt$ln=20,r=1,p=16384$c2FsdA${key32}"),
        ),
        Case::new(
            "scrypt $7$ N=2^42",
            format!("$7$U..../....SodiumChloride${h43}"),
        ),
        Case::new("yescrypt N=2^23 r=32", format!("$y$jKT${yes}")),
        Case::new("yescrypt classic p=2^30", format!("$y$.7..zyxvrC${yes}")),
        Case::new("yescrypt t=2^30", format!("$y$j9T/zyxvrD${yes}")),
        Case::new("gost-yescrypt t=2^30", format!("$gy$j9T/zyxvrD${yes}")),
        Case::new(
            "drupal7 log2 25",
            format!("$S$NsaltsaltX{}", "a".repeat(42)),
        ),
        Case::new("phpass log2 30", format!("$P$SsaltsaltX{}", "a".repeat(21))),
        Case::new("bsdi rounds 2^24-1", "_zzzzsaltaaaaaaaaaaa"),
        Case::new(
            "scram 4294967295",
            format!("SCRAM-SHA-256$4294967295:c2FsdA==${key32}=:{key32}="),
        ),
        Case::new(
            "django scrypt N=2^32",
            format!("scrypt$4294967296$salt$8$1${key32}="),
        ),
        Case::new(
            "django scrypt p=10^8",
            format!("scrypt$16384$salt$8$100000000${key32}="),
        ),
        Case::new(
            "django scrypt p=16384",
            format!("scrypt$1048576$salt$1$16384${key32}="),
        ),
        Case::new("django argon2", format!("argon2{argon}")),
        Case::new("django bcrypt 31", format!("bcrypt$$2b$31${b53}")),
        Case::new(
            "django bcrypt_sha256 31",
            format!("bcrypt_sha256$$2b$31${b53}"),
        ),
        Case::new("django crypt bsdi", "crypt$$_zzzzsaltaaaaaaaaaaa"),
        Case::new(
            "ldap crypt sha512",
            format!("{{CRYPT}}$6$rounds=999999999999$salt${h86}"),
        ),
        Case::new("spring bcrypt 31", format!("{{bcrypt}}$2a$31${b53}")),
        Case::new("spring argon2", format!("{{argon2}}{argon}")),
        Case::new(
            "spring scrypt N=2^20 r=8",
            format!("{{scrypt}}$1408ff$c2FsdA==${key32}="),
        ),
        Case::new(
            "spring scrypt p=255",
            format!("{{scrypt}}$1108ff$c2FsdA==${key32}="),
        ),
        Case::new(
            "spring pbkdf2 100 KB key",
            format!("{{pbkdf2}}{}", "ab".repeat(50_000)),
        ),
    ]
}

/// Hostile values fed to every scheme.
fn hostile_values(corpus: &[(String, String, Hints)]) -> Vec<Case> {
    let mut out = Vec::new();
    for (label, v) in [
        ("empty", ""),
        ("space", " "),
        ("tab", "\t"),
        ("newline", "\n"),
        ("crlf", "\r\n"),
        ("whitespace", "  \t \r\n  "),
        ("nul", "\0"),
        ("nuls", "\0\0\0\0\0\0\0\0\0\0\0\0"),
        ("replacement chars", "\u{fffd}\u{fffd}\u{fffd}"),
        ("max char", "\u{10ffff}"),
        ("bom", "\u{feff}$2b$"),
    ] {
        out.push(Case::new(label, v));
    }
    // Fixed-length layouts with a two-byte character across a field boundary.
    let body = format!("{}é{}", "a".repeat(21), "a".repeat(30));
    out.push(Case::new(
        "bcrypt body, é across the split",
        format!("$2b$05${body}"),
    ));
    out.push(Case::new(
        "wordpress body, é across the split",
        format!("$wp$2y$05${body}"),
    ));
    out.push(Case::new(
        "phpass, é in the salt",
        format!("$P$Bsalté{}", "a".repeat(23)),
    ));
    out.push(Case::new("bsdi, é in the count", "_zzéaltaaaaaaaaaaa"));
    out.push(Case::new("des, é in the salt", "éaaaaaaaaaaa"));
    // 100 KB values: plain, after a marker, multi-byte, nested wrappers.
    let long = 100_000;
    out.push(Case::new("100 KB of A", "A".repeat(long)));
    out.push(Case::new("100 KB of $", "$".repeat(long)));
    out.push(Case::new("100 KB of 0", "0".repeat(long)));
    out.push(Case::new("100 KB of é", "é".repeat(long / 2)));
    out.push(Case::new("100 KB of {", "{".repeat(long)));
    for marker in [
        "$2b$05$",
        "{SSHA}",
        "{ssha512}",
        "{PKCS5S2}",
        "0x0100",
        "*",
        "md5",
        "md5$",
        "sha1$",
        "{noop}",
        "{pbkdf2}",
        "{sha256}",
        "{MD5}",
        "$argon2id$v=19$",
        "$6$",
        "$y$j9T$",
        "$scrypt$ln=4,r=1,p=1$",
        "SCRAM-SHA-256$4096:",
        "pbkdf2:sha256:1000$",
        "$pbkdf2-sha256$1000$",
        "00",
    ] {
        out.push(Case::new(
            format!("{marker} + 100 KB"),
            format!("{marker}{}", "A".repeat(long)),
        ));
    }
    out.push(Case::new(
        "100 KB of {CRYPT}crypt$$ nesting",
        format!("{}$1$salt$", "{CRYPT}crypt$$".repeat(long / 14)),
    ));
    out.push(Case::new(
        "100 KB of crypt$${CRYPT} nesting",
        format!("{}$1$salt$", "crypt$${CRYPT}".repeat(long / 14)),
    ));
    out.push(Case::new(
        "100 KB of {ldap} tags",
        format!("{}{{SSHA}}", "{ldap}".repeat(long / 6)),
    ));
    out.push(Case::new(
        "argon2 with 25k parameters",
        format!(
            "$argon2id$v=19${}$c29tZXNhbHQ$aGFzaA",
            "m=1,".repeat(25_000)
        ),
    ));
    // Random bytes, read as lossy UTF-8.
    let mut rng = SplitMix64(0x5eed_0fba_55b4_1d00);
    for i in 0..48 {
        let len = rng.below(400);
        let bytes = rng.bytes(len);
        out.push(Case::new(
            format!("random bytes #{i}"),
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }
    // Random text over the characters the formats are made of.
    let alphabet: Vec<char> = "$${}{}::,,==./0123456789abcdefABCDEFxyzXYZ+-_*é€\u{1F600}\0\t "
        .chars()
        .collect();
    for prefix in PREFIXES {
        out.push(Case::new(format!("prefix {prefix}"), *prefix));
        for tail in ["x", "é", "$", "\u{10ffff}"] {
            out.push(Case::new(
                format!("prefix {prefix} + {tail:?}"),
                format!("{prefix}{tail}"),
            ));
        }
        for n in 0..2 {
            let len = 8 + rng.below(90);
            let tail: String = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            out.push(Case::new(
                format!("prefix {prefix} + random tail #{n}"),
                format!("{prefix}{tail}"),
            ));
        }
    }
    // Truncated corpus values: one per scheme, cut at a few places.
    let mut per_scheme: BTreeMap<&str, &str> = BTreeMap::new();
    for (scheme, hash, _) in corpus {
        per_scheme.entry(scheme).or_insert(hash);
    }
    for (scheme, hash) in per_scheme {
        let ends: Vec<usize> = hash.char_indices().map(|(i, _)| i).collect();
        let mut cuts = BTreeSet::new();
        for at in [1, ends.len() / 3, ends.len() / 2, ends.len() * 2 / 3] {
            if let Some(&i) = ends.get(at) {
                cuts.insert(i);
            }
        }
        if let Some(&last) = ends.last() {
            cuts.insert(last);
        }
        if let Some(i) = hash.rfind('$') {
            cuts.insert(i + 1);
        }
        for cut in cuts {
            out.push(Case::new(
                format!("{scheme} corpus value cut at {cut}"),
                &hash[..cut],
            ));
        }
        // And with a multi-byte character in the middle, keeping the byte length.
        if hash.len() > 4 && hash.is_ascii() {
            let mid = hash.len() / 2;
            out.push(Case::new(
                format!("{scheme} corpus value with é at {mid}"),
                format!("{}é{}", &hash[..mid], &hash[mid + 2..]),
            ));
        }
    }
    out
}

/// Hints under a label, with the secrets among them that no output may repeat.
struct HintSet {
    label: &'static str,
    hints: Hints,
    secrets: Vec<Case>,
}

impl HintSet {
    fn new(label: &'static str, hints: Hints) -> Self {
        let mut secrets: Vec<String> = hints.salt.iter().cloned().collect();
        for key in ["pepper", "secret", "signer_key"] {
            secrets.extend(hints.param(key).map(str::to_owned));
        }
        Self {
            label,
            secrets: secrets
                .into_iter()
                .filter(|s| s.chars().nth(ECHO_MIN_CHARS).is_some())
                .map(|s| Case::new("hint", s))
                .collect(),
            hints,
        }
    }
}

/// Hint sets: none, everyday values, hostile values, and huge values.
fn hint_sets() -> Vec<HintSet> {
    let common = Hints::default()
        .with_salt("73616c7473616c74")
        .with_username("admin")
        .with_param("salt_position", "prefix")
        .with_param("salt_encoding", "hex")
        .with_param("encoding", "hex")
        .with_param("pepper", "pepper")
        .with_param("pepper_encoding", "utf8")
        .with_param("iterations", "1000")
        .with_param("dklen", "32")
        .with_param("algorithm", "sha256")
        .with_param("N", "1024")
        .with_param("r", "8")
        .with_param("p", "1")
        .with_param("username", "admin")
        .with_param(
            "signer_key",
            "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
        )
        .with_param("salt_separator", "Bw==")
        .with_param("rounds", "8")
        .with_param("mem_cost", "14");
    let hostile = Hints::default()
        .with_salt("%%% not hex, not base64 %%%")
        .with_username("")
        .with_param("salt_position", "middle")
        .with_param("salt_encoding", "base64")
        .with_param("encoding", "rot13")
        .with_param("pepper", "zz")
        .with_param("pepper_encoding", "hex")
        .with_param("iterations", "4294967295")
        .with_param("dklen", "4294967295")
        .with_param("algorithm", "pbkdf2-hmac-sha512")
        .with_param("N", "4294967296")
        .with_param("r", "4294967295")
        .with_param("p", "4294967295")
        .with_param("ln", "99")
        .with_param("salt_bytes", "4294967295")
        .with_param("signer_key", "AAAA")
        .with_param("salt_separator", "")
        .with_param("rounds", "4294967295")
        .with_param("mem_cost", "4294967295")
        .with_param("inner_scheme", "ldap_crypt");
    let huge = "s".repeat(100_000);
    let big = Hints::default()
        .with_salt(huge.clone())
        .with_username(huge.clone())
        .with_param("salt_position", "suffix")
        .with_param("salt_encoding", "utf8")
        .with_param("pepper", huge.clone())
        .with_param("secret", huge.clone())
        .with_param("iterations", "1")
        .with_param("N", "2")
        .with_param("r", "1")
        .with_param("p", "1")
        .with_param("algorithm", "sha1")
        .with_param("username", huge);
    vec![
        HintSet::new("no hints", Hints::default()),
        HintSet::new("common hints", common),
        HintSet::new("hostile hints", hostile),
        HintSet::new("huge hints", big),
    ]
}

/// Every `ECHO_ANCHOR`-byte run of a value, as numbers (cheap to hash).
struct Anchors(HashSet<u128, BuildAnchorHasher>);

impl Anchors {
    fn of(value: &str) -> Self {
        Self(value.as_bytes().windows(ECHO_ANCHOR).map(anchor).collect())
    }
}

fn anchor(bytes: &[u8]) -> u128 {
    let mut a = [0u8; ECHO_ANCHOR];
    a.copy_from_slice(bytes);
    u128::from_le_bytes(a)
}

/// A multiplicative hash for `u128` anchors: SipHash would dominate the run time.
#[derive(Default, Clone, Copy)]
struct BuildAnchorHasher;

#[derive(Default)]
struct AnchorHasher(u64);

impl std::hash::BuildHasher for BuildAnchorHasher {
    type Hasher = AnchorHasher;
    fn build_hasher(&self) -> AnchorHasher {
        AnchorHasher(0)
    }
}

impl std::hash::Hasher for AnchorHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 =
            ((v as u64) ^ ((v >> 64) as u64).rotate_left(29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Whether `text` repeats `value`: all of it (when longer than
/// `ECHO_MIN_CHARS`) or any run of `ECHO_WINDOW` bytes of it. Spans in
/// backticks and scheme names are left out first: messages quote a
/// format's own literal layout there (`$bcrypt-sha256$`) and name the
/// scheme (`django_pbkdf2_sha256`), which a cut-off value may equal.
fn echoes(text: &str, value: &str, anchors: &Anchors) -> bool {
    if value.chars().nth(ECHO_MIN_CHARS).is_none() || !repeats(text, value, anchors) {
        return false;
    }
    // Rare: only now clean the text and look again.
    let mut text: String = text
        .split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, part)| part)
        .collect::<Vec<_>>()
        .join("`");
    for scheme in Scheme::ALL {
        text = text.replace(scheme.as_str(), "<scheme>");
    }
    repeats(&text, value, anchors)
}

/// Whether `text` holds `value` or a run of `ECHO_WINDOW` bytes of it.
fn repeats(text: &str, value: &str, anchors: &Anchors) -> bool {
    if value.len() <= text.len() && text.contains(value) {
        return true;
    }
    let t = text.as_bytes();
    let stride = ECHO_WINDOW - ECHO_ANCHOR;
    let mut i = 0;
    while i + ECHO_ANCHOR <= t.len() {
        if anchors.0.contains(&anchor(&t[i..i + ECHO_ANCHOR])) {
            // Confirm: some run of ECHO_WINDOW bytes around the anchor is in the value.
            let from = i.saturating_sub(stride);
            for start in from..=i {
                if let Some(run) = t.get(start..start + ECHO_WINDOW) {
                    if value.as_bytes().windows(ECHO_WINDOW).any(|w| w == run) {
                        return true;
                    }
                }
            }
        }
        i += stride;
    }
    false
}

/// A cost in `params()` that is over the given ceilings, if any. The
/// scrypt-like families are judged by their memory, `128 * r * N`, and by
/// the bytes their whole computation touches, `128 * r * N * p`, which may
/// be at most 16 times the memory ceiling (as a PBKDF2 key may span at most
/// 16 blocks); PBKDF2 keys by their length (at most 1024 bytes, 16 blocks
/// of SHA-512).
fn excessive(params: &[(&'static str, String)], limits: &Limits) -> Option<String> {
    let get = |k: &str| {
        params
            .iter()
            .rev()
            .find(|(key, _)| *key == k)
            .and_then(|(_, v)| v.parse::<u128>().ok())
    };
    let over = |k: &str, limit: u128| get(k).filter(|v| *v > limit).map(|v| format!("{k}={v}"));
    let scrypt_work = match (get("N"), get("r")) {
        (Some(n), Some(r)) => {
            let memory = 128u128 * n * r;
            let work = memory * get("p").unwrap_or(1);
            let ceiling = u128::from(limits.scrypt_memory_bytes);
            if memory > ceiling {
                Some(format!("scrypt memory 128*N*r = {memory}"))
            } else if work > 16 * ceiling {
                Some(format!("scrypt work 128*N*r*p = {work}"))
            } else {
                None
            }
        }
        _ => None,
    };
    let long_key = get("iterations").and_then(|_| {
        ["dklen", "dk_bytes"]
            .iter()
            .find_map(|k| get(k).filter(|v| *v > 1024).map(|v| format!("{k}={v}")))
    });
    over("cost", limits.bcrypt_cost.into())
        .or_else(|| over("iterations", limits.pbkdf2_iterations.into()))
        .or_else(|| over("rounds", limits.crypt_rounds.into()))
        .or_else(|| over("rounds_log2", limits.phpass_log2.into()))
        .or_else(|| over("memory_kib", limits.argon2_memory_kib.into()))
        .or_else(|| over("time", limits.argon2_time.into()))
        .or_else(|| over("parallelism", limits.argon2_parallelism.into()))
        .or(scrypt_work)
        .or(long_key)
}

/// Ceilings under which verifying a value takes milliseconds.
fn cheap_limits() -> Limits {
    Limits {
        bcrypt_cost: 6,
        pbkdf2_iterations: 50_000,
        argon2_memory_kib: 8192,
        argon2_time: 4,
        argon2_parallelism: 4,
        scrypt_memory_bytes: 1 << 20,
        crypt_rounds: 50_000,
        phpass_log2: 14,
        ..Limits::default()
    }
}

/// Whether a scheme reads anything from its hints: every scheme that does
/// not describe itself, and the self-describing ones with optional hints
/// (an argon2 pepper, `{CRYPT}`'s inner scheme, Spring's encoder settings,
/// Werkzeug's count, the PostgreSQL role).
fn reads_hints(scheme: Scheme) -> bool {
    !scheme.is_self_describing()
        || matches!(
            scheme.family(),
            "argon2" | "ldap" | "spring" | "werkzeug" | "postgres"
        )
}

/// What happened to one value under one scheme (or under detection).
#[derive(Default)]
struct Outcome {
    accepted: Option<Scheme>,
}

struct Run<'a> {
    limits: &'a Limits,
    failures: Vec<String>,
    verified: usize,
    /// Verify accepted values (with a wrong password) when their cost is sane.
    verify: bool,
}

impl Run<'_> {
    fn fail(&mut self, case: &Case, how: &str, what: impl std::fmt::Display) {
        if self.failures.len() < 400 {
            self.failures.push(format!(
                "[{}] {how}: {what} (value {})",
                case.label,
                preview(&case.value)
            ));
        }
    }

    fn check_text(&mut self, case: &Case, how: &str, text: &str, secrets: &[Case]) {
        if echoes(text, &case.value, &case.anchors) {
            self.fail(
                case,
                how,
                format!("output repeats the value: {}", preview(text)),
            );
        }
        for s in secrets {
            if echoes(text, &s.value, &s.anchors) {
                self.fail(case, how, "output repeats a salt, pepper or key hint");
            }
        }
    }

    /// Parses `case` as `scheme` (or by detection when `None`) and checks the result.
    fn one(&mut self, scheme: Option<Scheme>, case: &Case, set: &HintSet) -> Outcome {
        let how = format!(
            "{} / {}",
            scheme.map_or("parse (detect)", |s| s.as_str()),
            set.label
        );
        let hints = &set.hints;
        let limits = *self.limits;
        let result = catch_unwind(AssertUnwindSafe(|| match scheme {
            Some(s) => StoredHash::parse_with(Some(s.as_str()), &case.value, hints, &limits),
            None => StoredHash::parse(&case.value, &limits),
        }));
        let secrets = &set.secrets;
        let parsed = match result {
            Err(_) => {
                self.fail(case, &how, "parse panicked");
                return Outcome::default();
            }
            Ok(Err(e)) => {
                let text = format!("{e} {e:?}");
                self.check_text(case, &how, &text, secrets);
                return Outcome::default();
            }
            Ok(Ok(parsed)) => parsed,
        };
        let outcome = Outcome {
            accepted: Some(parsed.scheme()),
        };
        let params = parsed.params();
        let text = format!("{params:?} {parsed:?} {:?}", parsed.okta_native());
        self.check_text(case, &how, &text, secrets);
        if let Some(why) = excessive(&params, &limits) {
            self.fail(
                case,
                &how,
                format!("accepted a cost over the ceilings: {why}"),
            );
            return outcome;
        }
        // Verify only what is cheap: the point is the odd material (a short
        // key, an empty salt), and a cost within the ceilings may still take
        // seconds (4 million SHA-256-crypt rounds) at opt-level 0.
        if self.verify && excessive(&params, &cheap_limits()).is_none() {
            let wrong = SecretString::from("hostile-test: not the password".to_owned());
            match catch_unwind(AssertUnwindSafe(|| parsed.verify(&wrong, &limits))) {
                Err(_) => self.fail(case, &how, "verify panicked"),
                Ok(Err(e)) => {
                    let text = format!("{e} {e:?}");
                    self.check_text(case, &format!("{how} verify"), &text, secrets);
                }
                Ok(Ok(_)) => {}
            }
            self.verified += 1;
        }
        outcome
    }
}

#[test]
fn hostile_stored_values_never_panic_leak_or_run_up_costs() {
    let started = Instant::now();
    let limits = Limits::default();
    let corpus = corpus();
    let cases = hostile_values(&corpus);
    let hints = hint_sets();
    let mut run = Run {
        limits: &limits,
        failures: Vec::new(),
        verified: 0,
        verify: true,
    };
    let mut calls = 0usize;
    for case in &cases {
        run.one(None, case, &hints[0]);
        calls += 1;
        let long = case.value.len() > 10_000;
        for scheme in Scheme::ALL {
            // The hostile and huge hint sets only for the schemes that read
            // hints (and not huge hints with a huge value: no new paths).
            let sets = if reads_hints(*scheme) && !long {
                &hints[..]
            } else if reads_hints(*scheme) {
                &hints[..3]
            } else {
                &hints[..2]
            };
            for set in sets {
                run.one(Some(*scheme), case, set);
                calls += 1;
            }
        }
    }
    println!(
        "hostile values: {} values, {} schemes, {calls} parses, {} verifications, {:?}",
        cases.len(),
        Scheme::ALL.len(),
        run.verified,
        started.elapsed()
    );
    assert!(calls > 100_000, "too few parse calls: {calls}");
    assert!(
        run.verified > 100,
        "too few verifications: {}",
        run.verified
    );
    assert!(
        run.failures.is_empty(),
        "{} failures:\n{}",
        run.failures.len(),
        run.failures.join("\n")
    );
}

#[test]
fn absurd_costs_are_refused_at_parse_time() {
    let limits = Limits::default();
    let hints = hint_sets();
    let mut run = Run {
        limits: &limits,
        failures: Vec::new(),
        verified: 0,
        // Never verify here: a value that parses is already a failure.
        verify: false,
    };
    let mut cases: Vec<(Option<Scheme>, Case)> =
        absurd_costs().into_iter().map(|c| (None, c)).collect();
    // An inconsistent blob is not identified, but its scheme must refuse it too.
    cases.push((
        Some(Scheme::AspnetIdentityV3),
        Case::new(
            "aspnet v3 salt length 2^32-1",
            "AQAAAAEAACcQ/////3Nzc3Nzc3Nzc3Nzc3Nzc3Nra2tra2tra2tra2tra2tra2tra2tra2tra2tra2traw==",
        ),
    ));
    for (named, case) in &cases {
        let own = match (named, detect(&case.value)) {
            (None, Some(found)) => found,
            (Some(named), None) => *named,
            _ => {
                run.fail(
                    case,
                    "detect",
                    "identified unexpectedly (fix the test value)",
                );
                continue;
            }
        };
        // Its own scheme refuses it as too costly or out of range.
        match catch_unwind(AssertUnwindSafe(|| {
            StoredHash::parse_with(Some(own.as_str()), &case.value, &Hints::default(), &limits)
        })) {
            Err(_) => run.fail(case, own.as_str(), "parse panicked"),
            Ok(Ok(_)) => run.fail(case, own.as_str(), "accepted"),
            Ok(Err(HashError::CostTooHigh { .. } | HashError::Malformed { .. })) => {}
            Ok(Err(e)) => run.fail(
                case,
                own.as_str(),
                format!("refused with {e:?}, not CostTooHigh/Malformed"),
            ),
        }
        // Nor does detection. Other schemes may read the same text as
        // something else entirely (a raw column takes any Base64), but never
        // at a cost over the ceilings; `one` checks that.
        if run.one(None, case, &hints[0]).accepted.is_some() {
            run.fail(case, "parse (detect)", "accepted");
        }
        for scheme in Scheme::ALL.iter().filter(|s| **s != own) {
            for set in &hints {
                run.one(Some(*scheme), case, set);
            }
        }
        for set in &hints {
            if let Some(s) = run.one(Some(own), case, set).accepted {
                run.fail(
                    case,
                    &format!("{own} / {}", set.label),
                    format!("accepted as {s}"),
                );
            }
        }
    }
    assert!(cases.len() > 40);
    assert!(
        run.failures.is_empty(),
        "{} failures:\n{}",
        run.failures.len(),
        run.failures.join("\n")
    );
}

#[test]
fn hostile_hints_with_absurd_costs_are_refused() {
    // Formats whose cost lives in the hints, not in the stored value.
    let limits = Limits::default();
    let mut run = Run {
        limits: &limits,
        failures: Vec::new(),
        verified: 0,
        verify: false,
    };
    let key = "00".repeat(32);
    let cases: Vec<(Scheme, Hints)> = vec![
        (
            Scheme::Pbkdf2Raw,
            Hints::default()
                .with_salt("salt")
                .with_param("algorithm", "sha256")
                .with_param("iterations", "4294967295"),
        ),
        (
            Scheme::Pbkdf2Raw,
            Hints::default()
                .with_salt("salt")
                .with_param("algorithm", "sha1")
                .with_param("iterations", "1000")
                .with_param("dklen", "4294967295"),
        ),
        (
            Scheme::ScryptRaw,
            Hints::default()
                .with_salt("salt")
                .with_param("N", "4294967296")
                .with_param("r", "8")
                .with_param("p", "1"),
        ),
        (
            Scheme::ScryptRaw,
            Hints::default()
                .with_salt("salt")
                .with_param("N", "1048576")
                .with_param("r", "1")
                .with_param("p", "16384"),
        ),
        (
            Scheme::ScryptRaw,
            Hints::default()
                .with_salt("salt")
                .with_param("ln", "62")
                .with_param("r", "1")
                .with_param("p", "1"),
        ),
        (
            Scheme::FirebaseScrypt,
            Hints::default()
                .with_salt("42xEC+ixf3L2lw==")
                .with_param("signer_key", "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=")
                .with_param("salt_separator", "Bw==")
                .with_param("rounds", "4294967295")
                .with_param("mem_cost", "4294967295"),
        ),
        (
            Scheme::SpringPbkdf2,
            Hints::default().with_param("iterations", "4294967295"),
        ),
        (
            Scheme::SpringMessageDigest,
            Hints::default().with_param("iterations", "4294967295"),
        ),
        (
            Scheme::WerkzeugPbkdf2,
            Hints::default().with_param("iterations", "4294967295"),
        ),
    ];
    for (scheme, hints) in &cases {
        let value = match scheme {
            Scheme::FirebaseScrypt => "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=".to_owned(),
            Scheme::SpringPbkdf2 => format!("{{pbkdf2}}{key}"),
            Scheme::SpringMessageDigest => format!("{{MD5}}{}", "00".repeat(16)),
            Scheme::WerkzeugPbkdf2 => "pbkdf2:sha256$salt$00ff".to_owned(),
            _ => key.clone(),
        };
        let case = Case::new(format!("{scheme} with {hints:?}"), value);
        match catch_unwind(AssertUnwindSafe(|| {
            StoredHash::parse_with(Some(scheme.as_str()), &case.value, hints, &limits)
        })) {
            Err(_) => run.fail(&case, scheme.as_str(), "parse panicked"),
            Ok(Ok(h)) => run.fail(
                &case,
                scheme.as_str(),
                format!("accepted: {:?}", h.params()),
            ),
            Ok(Err(HashError::CostTooHigh { .. } | HashError::Malformed { .. })) => {}
            Ok(Err(e)) => run.fail(&case, scheme.as_str(), format!("refused with {e:?}")),
        }
        run.one(
            Some(*scheme),
            &case,
            &HintSet::new("hostile", hints.clone()),
        );
    }
    assert!(
        run.failures.is_empty(),
        "{} failures:\n{}",
        run.failures.len(),
        run.failures.join("\n")
    );
}

#[test]
fn every_corpus_value_survives_truncation_and_multibyte_substitution() {
    // Every cut of every public corpus value, and every same-length
    // substitution of two ASCII characters by one two-byte character, under
    // its own scheme (with its record's hints) and under detection. Parse
    // only: the values that still parse are checked for cost, not verified.
    let limits = Limits::default();
    let mut run = Run {
        limits: &limits,
        failures: Vec::new(),
        verified: 0,
        verify: false,
    };
    let mut calls = 0usize;
    let none = HintSet::new("no hints", Hints::default());
    for (scheme_name, hash, hints) in corpus() {
        let scheme: Scheme = scheme_name.parse().unwrap();
        let own = HintSet::new("record hints", hints);
        let mut variants: Vec<Case> = hash
            .char_indices()
            .map(|(i, _)| Case::new(format!("{scheme_name} cut at {i}"), &hash[..i]))
            .collect();
        let bytes = hash.as_bytes();
        for i in 0..bytes.len().saturating_sub(1) {
            if bytes[i].is_ascii() && bytes[i + 1].is_ascii() {
                variants.push(Case::new(
                    format!("{scheme_name} with é at {i}"),
                    format!("{}é{}", &hash[..i], &hash[i + 2..]),
                ));
            }
        }
        for case in &variants {
            run.one(Some(scheme), case, &own);
            run.one(None, case, &none);
            calls += 2;
        }
    }
    assert!(calls > 10_000, "too few parse calls: {calls}");
    assert!(
        run.failures.is_empty(),
        "{} failures:\n{}",
        run.failures.len(),
        run.failures.join("\n")
    );
}

#[test]
fn the_echo_check_can_fail() {
    // The checker itself: a message that quotes a value or a window of it is caught.
    let echo = |text: &str, value: &str| echoes(text, value, &Anchors::of(value));
    let value = "$2b$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq";
    assert!(echo(&format!("malformed: {value}"), value));
    assert!(echo("bad salt /OK.fbVrR/bpIqNJ5ianF.Sa7shbm4 here", value));
    // Every offset of a 24-byte run is found, whatever the anchor alignment.
    for start in 0..value.len() - ECHO_WINDOW {
        for pad in 0..9 {
            let text = format!("{}{}!", "-".repeat(pad), &value[start..start + ECHO_WINDOW]);
            assert!(echo(&text, value), "{start} {pad}");
        }
    }
    assert!(!echo(
        &format!("x{}x", &value[3..3 + ECHO_WINDOW - 1]),
        value
    ));
    assert!(!echo("malformed bcrypt_2b hash: cost", value));
    assert!(!echo("$2b$", "$2b$"));
    assert!(!echo(
        "expected the `$bcrypt-sha256$` prefix",
        "$bcrypt-sha256"
    ));
    assert!(echo(
        "got \"\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\"",
        &"\u{fffd}".repeat(9)
    ));
    let long = "A".repeat(100_000);
    assert!(echo(&"A".repeat(30), &long));
    assert!(excessive(&[("cost", "31".to_owned())], &Limits::default()).is_some());
    assert!(excessive(
        &[
            ("N", "1048576".into()),
            ("r", "1".into()),
            ("p", "16384".into())
        ],
        &Limits::default()
    )
    .is_some());
    assert!(excessive(&[("cost", "12".to_owned())], &Limits::default()).is_none());
}
