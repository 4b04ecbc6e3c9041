//! Stamps the binary with the git commit and the build date (UTC) for
//! `--version`, the startup log line and the `passbridge_build_info` metric,
//! and tells the tests which database servers this build was configured for.
//!
//! Overrides, for builds without a `.git` (Docker) or reproducible builds:
//! `PASSBRIDGE_BUILD_COMMIT` and `SOURCE_DATE_EPOCH`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    println!("cargo:rerun-if-env-changed=PASSBRIDGE_BUILD_COMMIT");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    watch_git_head();
    let commit = std::env::var("PASSBRIDGE_BUILD_COMMIT")
        .ok()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=PB_BUILD_INFO_COMMIT={commit}");
    println!("cargo:rustc-env=PB_BUILD_INFO_DATE={}", build_date());
    test_database_cfgs();
    test_chromium_cfg();
}

/// The headless-browser test of `/admin` is marked ignored (naming the
/// variable) unless `PASSBRIDGE_TEST_CHROMIUM` names the browser, the way
/// the server tests are (CI sets it and fails on a skipped one).
fn test_chromium_cfg() {
    println!("cargo::rerun-if-env-changed=PASSBRIDGE_TEST_CHROMIUM");
    println!("cargo::rustc-check-cfg=cfg(passbridge_test_chromium)");
    if std::env::var_os("PASSBRIDGE_TEST_CHROMIUM").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=passbridge_test_chromium");
    }
}

/// The PostgreSQL and MariaDB variants of the integration tests (and the
/// Kubernetes schema check) are marked ignored (naming the variable to set)
/// when their server (or tool) is not configured, so the test summary counts
/// them as skipped instead of reporting `ok`.
fn test_database_cfgs() {
    for (var, cfg) in [
        ("PASSBRIDGE_TEST_PG_URL", "passbridge_test_pg"),
        ("PASSBRIDGE_TEST_MYSQL_URL", "passbridge_test_mysql"),
        // The Kubernetes schema validator command (tests/api/deploy.rs).
        (
            "PASSBRIDGE_TEST_K8S_VALIDATE",
            "passbridge_test_k8s_validate",
        ),
    ] {
        println!("cargo::rerun-if-env-changed={var}");
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if std::env::var_os(var).is_some_and(|v| !v.is_empty()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}

fn git_commit() -> Option<String> {
    let mut git = Command::new("git");
    if let Ok(dir) = std::env::var("CARGO_MANIFEST_DIR") {
        git.current_dir(dir);
    }
    let out = git.args(["rev-parse", "--short", "HEAD"]).output().ok()?;
    let commit = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !commit.is_empty()).then_some(commit)
}

/// Rebuild when HEAD moves, and nothing else: watching all of `.git` would
/// rebuild on every `git status`.
fn watch_git_head() {
    let Some(git_dir) = git_dir() else { return };
    let head = git_dir.join("HEAD");
    println!("cargo:rerun-if-changed={}", head.display());
    let Ok(text) = std::fs::read_to_string(&head) else {
        return;
    };
    if let Some(reference) = text.trim().strip_prefix("ref: ") {
        // A worktree keeps its HEAD apart but its refs in the common dir.
        let common = std::fs::read_to_string(git_dir.join("commondir"))
            .map(|c| git_dir.join(c.trim()))
            .unwrap_or_else(|_| git_dir.clone());
        for base in [&git_dir, &common] {
            let path = base.join(reference);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
        let packed = common.join("packed-refs");
        if packed.exists() {
            println!("cargo:rerun-if-changed={}", packed.display());
        }
    }
}

/// `.git` is a directory in a clone and a `gitdir: …` file in a worktree.
fn git_dir() -> Option<PathBuf> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").ok()?);
    let dot_git = root.join(".git");
    if dot_git.is_dir() {
        return Some(dot_git);
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let dir = Path::new(text.trim().strip_prefix("gitdir: ")?);
    Some(if dir.is_absolute() {
        dir.to_owned()
    } else {
        root.join(dir)
    })
}

/// YYYY-MM-DD (UTC) of SOURCE_DATE_EPOCH, else of now.
fn build_date() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
        });
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// algorithm), so the build script needs no date crate.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
