//! Every input a fuzz target ever crashed on, replayed through the same
//! target body (`fuzz/src/lib.rs`, included by path) in the normal test
//! suite, so a fixed crash stays fixed in CI without cargo-fuzz or nightly.
//! Inputs live in `tests/fuzz-regressions/<target>/`, one file each, named
//! after what they found; `docs/reliability.md` § Fuzzing lists them.

#[path = "../../fuzz/src/lib.rs"]
mod harness;

use std::path::PathBuf;

type Target = fn(&[u8]) -> bool;

const TARGETS: &[(&str, Target)] = &[
    ("identify_parse", harness::identify_parse),
    ("family_parse", harness::family_parse),
    ("hook_request", harness::hook_request),
    ("config_toml", harness::config_toml),
    ("import_csv", harness::import_csv),
    ("jwt", harness::jwt),
];

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

#[test]
fn every_kept_crash_input_runs_clean() {
    let mut ran = 0;
    for (target, run) in TARGETS {
        for (path, bytes) in inputs(target) {
            // A panic names the file through the test's failure output.
            eprintln!("{target}: {}", path.display());
            let _ = run(&bytes);
            ran += 1;
        }
    }
    // A directory that names no target would be skipped silently.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                TARGETS.iter().any(|(t, _)| *t == name),
                "tests/fuzz-regressions/{name} is not a fuzz target"
            );
        }
    }
    eprintln!("replayed {ran} kept inputs");
}

/// The harness reaches past decoding on ordinary inputs (shapes of the
/// seeds the fuzzing started from) and stops at it on garbage, so a broken
/// harness cannot pass as "no regressions".
#[test]
fn the_targets_reach_their_parsers() {
    let bcrypt = "$2b$04$D1ZFU7vAiyphfDfoSlll6ueamh0RPwcZsRguHYGnUquOOPQPVMb0G";
    assert!(harness::identify_parse(bcrypt.as_bytes()));
    assert!(!harness::identify_parse(b"not a hash"));
    let pick = passbridge::hash::Scheme::ALL
        .iter()
        .position(|s| *s == passbridge::hash::Scheme::Bcrypt2b)
        .unwrap();
    let mut family = vec![u8::try_from(pick).unwrap(), 7];
    family.extend_from_slice(format!("{bcrypt}\n\n\npw").as_bytes());
    assert!(harness::family_parse(&family));
    assert!(harness::hook_request(
        br#"{"data":{"context":{"credential":{"username":"A@x","password":"p"}}}}"#
    ));
    assert!(!harness::hook_request(br#"{"data":{}}"#));
    assert!(harness::config_toml(
        b"listen = \"127.0.0.1:1\"\n\0HOOK_BUDGET=2s\n"
    ));
    assert!(!harness::config_toml(b"lisen = 1"));
    assert!(harness::import_csv(
        b"login,password_hash,scheme\na@x,5f4dcc3b5aa765d61d8327deb882cf99,hex_md5\n"
    ));
    assert!(!harness::import_csv(b"login,pw\na,b\n"));
    // Byte 0 = token length: a JWKS document, then a token.
    let jwks = br#"{"keys":[]}"#;
    let token = b"eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.e30.c2ln";
    let mut jwt = vec![u8::try_from(token.len()).unwrap()];
    jwt.extend_from_slice(jwks);
    jwt.extend_from_slice(token);
    assert!(harness::jwt(&jwt));
    assert!(!harness::jwt(b"\x03not json..."));
}
