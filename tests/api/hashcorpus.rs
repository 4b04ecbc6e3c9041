//! Table-driven test over the public hash corpus (`tests/data/hashcorpus/public.jsonl`,
//! hashes made by independent libraries): every record must verify exactly
//! as its `valid` flag says, with the scheme given and, for self-describing
//! schemes, with no scheme at all (which must also identify the same scheme).
//!
//! `PASSBRIDGE_HASHCORPUS=/path/to/file.jsonl` runs another file of the same
//! format instead (the hidden set, for example).

use std::collections::BTreeMap;
use std::path::PathBuf;

use passbridge::hash::{detect, Hints, Limits, SchemeName, StoredHash, Verdict};
use secrecy::SecretString;
use serde_json::Value;

/// One corpus record (the fields the test needs).
struct Record {
    line: usize,
    id: String,
    scheme: String,
    family: String,
    hash: String,
    password: String,
    valid: bool,
    hints: Hints,
}

fn corpus_path() -> PathBuf {
    match std::env::var_os("PASSBRIDGE_HASHCORPUS") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/hashcorpus/public.jsonl"),
    }
}

/// A `params` value as the string `Hints` carries; `null` means absent.
fn param_string(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

fn parse_record(line: usize, text: &str) -> Result<Record, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("line {line}: {e}"))?;
    let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut hints = Hints {
        salt: field("salt"),
        ..Hints::default()
    };
    if let Some(Value::Object(params)) = v.get("params") {
        let mut map = BTreeMap::new();
        for (k, val) in params {
            if let Some(s) = param_string(val) {
                map.insert(k.clone(), s);
            }
        }
        hints.username = map.get("username").cloned();
        hints.params = map;
    }
    Ok(Record {
        line,
        id: field("id").unwrap_or_else(|| format!("line-{line}")),
        scheme: field("scheme").ok_or_else(|| format!("line {line}: no scheme"))?,
        family: field("family").unwrap_or_default(),
        hash: field("hash").ok_or_else(|| format!("line {line}: no hash"))?,
        password: field("password").ok_or_else(|| format!("line {line}: no password"))?,
        valid: v
            .get("valid")
            .and_then(Value::as_bool)
            .ok_or_else(|| format!("line {line}: no valid flag"))?,
        hints,
    })
}

/// Verifies one way; `Err` describes the failure without the password.
fn run(scheme: Option<&str>, rec: &Record, hints: &Hints, limits: &Limits) -> Result<(), String> {
    let stored = StoredHash::parse_with(scheme, &rec.hash, hints, limits)
        .map_err(|e| format!("parse error: {e}"))?;
    if scheme.is_none() && stored.scheme().as_str() != rec.scheme {
        return Err(format!("identified as {}", stored.scheme()));
    }
    let pw = SecretString::from(rec.password.clone());
    let verdict = stored
        .verify(&pw, limits)
        .map_err(|e| format!("verify error: {e}"))?;
    let expected = if rec.valid {
        Verdict::Match
    } else {
        Verdict::Mismatch
    };
    if verdict == expected {
        Ok(())
    } else {
        Err(format!("got {verdict:?}, expected {expected:?}"))
    }
}

/// Every failure of one record, each as "how: what".
fn check(rec: &Record, limits: &Limits) -> Vec<String> {
    let mut failures = Vec::new();
    if let Err(e) = run(Some(&rec.scheme), rec, &rec.hints, limits) {
        failures.push(format!("with scheme: {e}"));
    }
    let self_describing = matches!(
        SchemeName::parse(&rec.scheme),
        Ok(SchemeName::Exact(s)) if s.is_self_describing()
    );
    if self_describing {
        if detect(&rec.hash).is_none() {
            failures.push("without scheme: not identified".to_owned());
        } else if let Err(e) = run(None, rec, &Hints::default(), limits) {
            failures.push(format!("without scheme: {e}"));
        }
    }
    failures
}

#[test]
fn every_corpus_record_verifies_as_its_valid_flag_says() {
    let path = corpus_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut records = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match parse_record(i + 1, line) {
            Ok(r) => records.push(r),
            Err(e) => failures.push(e),
        }
    }
    assert!(!records.is_empty(), "{} holds no records", path.display());

    let limits = Limits::default();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = records.len().div_ceil(workers);
    let results: Vec<(usize, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = records
            .chunks(chunk)
            .map(|part| {
                let limits = &limits;
                s.spawn(move || {
                    part.iter()
                        .map(|r| (r.line, check(r, limits)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });

    // Per-family tally, printed with --nocapture and on failure.
    let mut tally: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let by_line: BTreeMap<usize, &Vec<String>> = results.iter().map(|(l, f)| (*l, f)).collect();
    for rec in &records {
        let entry = tally.entry(rec.family.as_str()).or_default();
        entry.1 += 1;
        match by_line.get(&rec.line) {
            Some(f) if f.is_empty() => entry.0 += 1,
            Some(f) => {
                for what in f.iter() {
                    failures.push(format!("{} ({}): {what}", rec.id, rec.scheme));
                }
            }
            None => failures.push(format!("{} ({}): not run", rec.id, rec.scheme)),
        }
    }
    println!("hash corpus {}:", path.display());
    for (family, (ok, total)) in &tally {
        println!("  {family:<20} {ok:>4}/{total}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} records failed:\n{}",
        failures.len(),
        records.len(),
        failures.join("\n")
    );
}
