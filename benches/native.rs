//! passbridge's half of `scripts/compare-native.sh`: single-thread verify
//! time per stored hash, timed the same way as `scripts/native/bench.c`
//! times the native C references, so the two columns of the table compare.
//!
//! Run by the script (`cargo bench --bench native -- VECTORS PASSWORD`);
//! VECTORS is the TSV the script generates (`name`, `kind`, stored hash,
//! native fields...). Prints `name<TAB>passbridge<TAB>ms<TAB>ok` per line.
//! CI only builds it.

use std::hint::black_box;
use std::time::{Duration, Instant};

use passbridge::hash::lanes::with_lanes;
use passbridge::hash::{Hints, Limits, StoredHash, Verdict};
use secrecy::SecretString;

/// Ops per sample are doubled until a sample takes this long.
const MIN_SAMPLE: Duration = Duration::from_millis(2);
/// Samples are taken until this much time has passed...
const MIN_TOTAL: Duration = Duration::from_millis(300);
/// ...and at least this many (the same constants as bench.c).
const MIN_SAMPLES: usize = 5;
/// Cap on samples for very cheap hashes.
const MAX_SAMPLES: usize = 200;

/// Median milliseconds per call of `op`.
fn time_ms(mut op: impl FnMut()) -> f64 {
    op();
    let mut per_sample = 1u32;
    loop {
        let t = Instant::now();
        for _ in 0..per_sample {
            op();
        }
        if t.elapsed() >= MIN_SAMPLE || per_sample >= 1 << 20 {
            break;
        }
        per_sample *= 2;
    }
    let start = Instant::now();
    let mut samples = Vec::new();
    while samples.len() < MAX_SAMPLES
        && (samples.len() < MIN_SAMPLES || start.elapsed() < MIN_TOTAL)
    {
        let t = Instant::now();
        for _ in 0..per_sample {
            op();
        }
        samples.push(t.elapsed().as_secs_f64() * 1e3 / f64::from(per_sample));
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let (Some(path), Some(password)) = (args.first(), args.get(1)) else {
        eprintln!("usage: native VECTORS.tsv PASSWORD (see scripts/compare-native.sh)");
        return;
    };
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("cannot read {path}");
        std::process::exit(2);
    };
    let limits = Limits::default();
    let password = SecretString::from(password.as_str());
    let filter = std::env::var("NATIVE_FILTER").unwrap_or_default();
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let (Some(name), Some(stored)) = (fields.first(), fields.get(2)) else {
            continue;
        };
        if !name.contains(filter.as_str()) {
            continue;
        }
        let parsed = match StoredHash::parse_with(None, stored, &Hints::default(), &limits) {
            Ok(parsed) => parsed,
            Err(e) => {
                println!("{name}\tpassbridge\tNaN\tparse error: {e}");
                continue;
            }
        };
        let ok = matches!(parsed.verify(&password, &limits), Ok(Verdict::Match));
        let ms = time_ms(|| {
            let _ = black_box(parsed.verify(black_box(&password), &limits));
        });
        println!(
            "{name}\tpassbridge\t{ms:.6}\t{}",
            if ok { "ok" } else { "MISMATCH" }
        );
        let lanes = parsed.lanes();
        if lanes > 1 {
            // The same hash with its lanes side by side, one thread each, as
            // the verifier runs it when slots are idle (bench.c's
            // "p threads" row is its native reference).
            let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(lanes).build() else {
                continue;
            };
            let pool = std::sync::Arc::new(pool);
            let ms = time_ms(|| {
                with_lanes(&pool, || {
                    let _ = black_box(parsed.verify(black_box(&password), &limits));
                });
            });
            println!("{name}, {lanes} threads\tpassbridge\t{ms:.6}\tok");
        }
    }
}
