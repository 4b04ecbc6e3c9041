//! Verification cost per scheme at realistic parameters (parse once, verify
//! many), for comparison with `docs/perf-anchors.md`.
//! Run: `cargo bench --bench verify`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use passbridge::hash::{Hints, Limits, StoredHash};
use secrecy::SecretString;

/// (bench name, scheme, stored hash, password). Hashes come from the public
/// hash corpus (independent libraries) or are made here by the crates.
fn cases() -> Vec<(String, Option<&'static str>, String, &'static str, Hints)> {
    let bcrypt10 = bcrypt::hash("password123", 10).unwrap_or_default();
    vec![
        ("bcrypt cost=10".into(), None, bcrypt10, "password123", Hints::default()),
        (
            "argon2id m=19456 t=2 p=1".into(),
            None,
            "$argon2id$v=19$m=19456,t=2,p=1$6gq0wwlrr4VEfSVG+/8W3g$cBc9WSFIig6jkG+YknMvimcpEfgoCiz9NWthHXijVTs".into(),
            "Tr0ub4dor&3",
            Hints::default(),
        ),
        (
            "pbkdf2-sha256 29000 (passlib)".into(),
            None,
            "$pbkdf2-sha256$29000$IWRMaa01hhBC6N27dy5l7A$36b2hOUVv8w3a2SIowRsVoeUr5O1BA0juARemyKcf9o".into(),
            "password123",
            Hints::default(),
        ),
        (
            "sha512-crypt rounds=5000".into(),
            None,
            "$6$Fj86xn7LSWACeAA4$OIVaJVJ8Orh9TfQTWBkzI.ADSKK/tETzGxzEZWF4n1D7Us81z9289ywk4Q797AmNJbPg3DME.QLUbPugIVVnp1".into(),
            "password123",
            Hints::default(),
        ),
        ("md5-crypt".into(), None, "$1$.Z9ppi93$ZrHAoLsYYImZVt0up895p1".into(), "password123", Hints::default()),
        ("phpass $P$ 2^8".into(), None, "$P$69hgsDGKpcrMnG0HhOszZ6GQQ6UjMv.".into(), "password123", Hints::default()),
        ("ldap {SSHA}".into(), None, "{SSHA}ACAy9kzPMzpL1lcpSGW/czRFCq4gxDin".into(), "password123", Hints::default()),
        (
            "hex sha1".into(),
            Some("hex_sha1"),
            "cbfdac6008f9cab4083784cbd1874f76618d2a97".into(),
            "password123",
            Hints::default(),
        ),
    ]
}

fn verify(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("verify");
    group.sample_size(20);
    for (name, scheme, stored, password, hints) in cases() {
        let Ok(parsed) = StoredHash::parse_with(scheme, &stored, &hints, &limits) else {
            eprintln!("skipping {name}: does not parse");
            continue;
        };
        let password = SecretString::from(password);
        group.bench_function(&name, |b| {
            b.iter(|| black_box(parsed.verify(&password, &limits)))
        });
    }
    group.finish();
}

fn parse(c: &mut Criterion) {
    let limits = Limits::default();
    let stored = "$argon2id$v=19$m=19456,t=2,p=1$6gq0wwlrr4VEfSVG+/8W3g$cBc9WSFIig6jkG+YknMvimcpEfgoCiz9NWthHXijVTs";
    c.bench_function("parse argon2id PHC", |b| {
        b.iter(|| black_box(StoredHash::parse(black_box(stored), &limits)))
    });
}

criterion_group!(benches, verify, parse);
criterion_main!(benches);
