//! What an import run tells the admin: one outcome per user (JSON Lines with
//! `--report FILE`), and a summary (counts by path, state and scheme, bad
//! hashes by row, self-test results, Okta request/retry/429 figures).
//! Never a hash, a salt or a password: only logins, schemes and reasons.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path as FsPath;

use serde::Serialize;

use crate::okta::ClientStats;

/// How many bad-hash row ids a summary lists.
pub const MAX_LISTED_ROWS: usize = 20;
/// Distinct failure reasons a summary keeps.
pub const MAX_FAILURE_REASONS: usize = 50;
/// The key further distinct reasons are counted under.
const OTHER_REASONS: &str = "other";
/// Reasons the console summary lists.
const TOP_FAILURE_REASONS: usize = 5;

/// One user's outcome.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserOutcome {
    /// Always `"user"` (the summary line has `"summary"`).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Row in the source (1-based).
    pub row: u64,
    /// Login as read.
    pub login: String,
    /// `native`, `hook` or `skip`.
    pub path: &'static str,
    /// Legacy scheme, when recognised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<&'static str>,
    /// `created_native`, `created_hook`, `skipped`, `failed`, `already_done`,
    /// `duplicate_in_source` or (dry run) `planned`.
    pub state: &'static str,
    /// Okta user id, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub okta_id: Option<String>,
    /// Why not native / why skipped (a stable label).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
    /// What went wrong, for failures; or what was found, for recorded users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Native / hook counts of one scheme.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PathCounts {
    /// Rows on the native path.
    pub native: u64,
    /// Rows on the hook path.
    pub hook: u64,
}

/// Totals of a run (or of a dry run's plan).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Always `"summary"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Nothing was sent to Okta.
    pub dry_run: bool,
    /// Rows considered (after `--only-login`, up to `--limit`).
    pub rows: u64,
    /// Planned paths.
    pub planned_native: u64,
    /// Planned hook users.
    pub planned_hook: u64,
    /// Rows that cannot be imported at all (no login).
    pub planned_skip: u64,
    /// Created in Okta with an imported hash, this run.
    pub created_native: u64,
    /// Created with the hook flag, this run.
    pub created_hook: u64,
    /// Already in Okta (login exists) and recorded, this run.
    pub found_in_okta: u64,
    /// Skipped this run.
    pub skipped: u64,
    /// Failed this run (retried by the next run).
    pub failed: u64,
    /// Done by an earlier run, left alone.
    pub already_done: u64,
    /// The same login appeared again later in the source.
    pub duplicates_in_source: u64,
    /// Plan by scheme (`unrecognised` for hashes that did not parse).
    pub by_scheme: BTreeMap<String, PathCounts>,
    /// Why users are not native, by reason.
    pub notes: BTreeMap<&'static str, u64>,
    /// Failed users by reason (at most [`MAX_FAILURE_REASONS`] distinct, the rest as `other`).
    pub failures_by_reason: BTreeMap<String, u64>,
    /// Rows whose hash is unrecognised or malformed.
    pub bad_hashes: u64,
    /// The first of those rows (never the hash).
    pub bad_hash_rows: Vec<u64>,
    /// Conversion self-test result per scheme seen.
    pub self_tests: BTreeMap<String, String>,
    /// Okta's documented examples: does our reading reproduce them?
    pub okta_examples: BTreeMap<&'static str, bool>,
    /// Wall time, milliseconds.
    pub elapsed_ms: u64,
    /// Rows per second.
    pub rows_per_sec: f64,
    /// Okta requests, retries, 429s, 5xx, pacing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub okta: Option<ClientStats>,
}

impl Summary {
    /// Users this run left in a final state in Okta (created or recorded).
    pub fn imported(&self) -> u64 {
        self.created_native + self.created_hook + self.found_in_okta
    }

    /// Counts one failure under `reason`, keeping the map bounded.
    pub fn count_failure(&mut self, reason: &str) {
        let key = if self.failures_by_reason.contains_key(reason)
            || self.failures_by_reason.len() < MAX_FAILURE_REASONS
        {
            reason.to_owned()
        } else {
            OTHER_REASONS.to_owned()
        };
        *self.failures_by_reason.entry(key).or_default() += 1;
    }

    /// The most frequent failure reasons, most frequent first.
    pub fn top_failure_reasons(&self, n: usize) -> Vec<(&str, u64)> {
        let mut top: Vec<(&str, u64)> = self
            .failures_by_reason
            .iter()
            .map(|(r, c)| (r.as_str(), *c))
            .collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        top.truncate(n);
        top
    }

    /// A human-readable rendering.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let secs = self.elapsed_ms as f64 / 1000.0;
        if self.dry_run {
            let _ = writeln!(
                s,
                "Dry run: nothing was sent to Okta and the ledger was not touched."
            );
        }
        let _ = writeln!(
            s,
            "Rows: {}  (native {}, hook {}, not importable {}) in {secs:.1}s, {:.0} rows/s",
            self.rows, self.planned_native, self.planned_hook, self.planned_skip, self.rows_per_sec
        );
        if !self.dry_run {
            let _ = writeln!(
                s,
                "Created: {} native, {} hook; recorded existing: {}; skipped: {}; failed: {}; already done: {}; duplicate logins in source: {}",
                self.created_native,
                self.created_hook,
                self.found_in_okta,
                self.skipped,
                self.failed,
                self.already_done,
                self.duplicates_in_source
            );
        }
        if self.dry_run && self.failed > 0 {
            let _ = writeln!(s, "Would fail: {}", self.failed);
        }
        if !self.failures_by_reason.is_empty() {
            let shown = self.top_failure_reasons(TOP_FAILURE_REASONS);
            let _ = writeln!(s, "Failures by reason (top {}):", shown.len());
            for (reason, n) in shown {
                let _ = writeln!(s, "  {n:>8}  {reason}");
            }
        }
        if !self.by_scheme.is_empty() {
            let _ = writeln!(s, "By scheme:");
            for (scheme, c) in &self.by_scheme {
                let _ = writeln!(
                    s,
                    "  {scheme:<24} native {:>8}  hook {:>8}",
                    c.native, c.hook
                );
            }
        }
        if !self.notes.is_empty() {
            let _ = writeln!(s, "Not native, by reason:");
            for (note, n) in &self.notes {
                let _ = writeln!(s, "  {note:<34} {n:>8}");
            }
        }
        if self.bad_hashes > 0 {
            let rows: Vec<String> = self.bad_hash_rows.iter().map(u64::to_string).collect();
            let more = if self.bad_hashes > self.bad_hash_rows.len() as u64 {
                ", …"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "Unrecognised or malformed hashes: {} (rows {}{more}); these users go to the hook",
                self.bad_hashes,
                rows.join(", ")
            );
        }
        if !self.self_tests.is_empty() {
            let _ = writeln!(s, "Conversion self-tests:");
            for (scheme, result) in &self.self_tests {
                let _ = writeln!(s, "  {scheme:<24} {result}");
            }
        }
        if !self.okta_examples.is_empty() {
            let _ = writeln!(s, "Okta's documented examples reproduced:");
            for (name, ok) in &self.okta_examples {
                let _ = writeln!(s, "  {name:<58} {}", if *ok { "yes" } else { "no" });
            }
        }
        if let Some(o) = &self.okta {
            let _ = writeln!(
                s,
                "Okta: {} requests, {} retries, {} rate-limited (429), {} server errors, {} network errors; paced {} requests for {:.1}s",
                o.requests,
                o.retries,
                o.rate_limited,
                o.server_errors,
                o.network_errors,
                o.paced,
                o.paced_wait_ms as f64 / 1000.0
            );
        }
        s
    }
}

/// `--report FILE`: JSON Lines, one object per user and a final summary.
pub struct Report {
    out: BufWriter<File>,
}

impl Report {
    /// Creates (truncates) the file.
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn create(path: &FsPath) -> std::io::Result<Self> {
        Ok(Self {
            out: BufWriter::new(File::create(path)?),
        })
    }

    /// Appends one user's outcome.
    ///
    /// # Errors
    /// Writing failed.
    pub fn user(&mut self, outcome: &UserOutcome) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, outcome)?;
        self.out.write_all(b"\n")
    }

    /// Appends the summary and flushes.
    ///
    /// # Errors
    /// Writing failed.
    pub fn finish(&mut self, summary: &Summary) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, summary)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}
