//! The migration's progress, computed from the ledger: the one owner of the
//! figures `passbridge status`, `GET /admin`, `/admin/status.json` and the
//! `/metrics` gauges show (and that `stragglers` and `hook retire` read).
//! Every query is an aggregate bounded in time ([`QUERY_TIMEOUT`]) and in
//! rows (days and hours of history, never one row per user). Also owns the
//! `import_runs` table, where the importer leaves its Okta rate-limit
//! position for these figures. Never reads or returns a password or a hash.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::Row;
use time::OffsetDateTime;

use super::stragglers::{days_cutoff, per_user_sql, straggler_count_sql, waiting_sql};
use super::{now_rfc3339, rfc3339, Ledger, LedgerError};

/// Version of the `status --json` document; bumped only on a breaking change.
pub const SCHEMA_VERSION: u32 = 1;
/// The legacy source every import reads today (one source, named so the
/// multi-source work can fill [`Group::source`] per row).
pub const LEGACY_SOURCE: &str = "legacy";
/// Straggler ages: waiting users (see [`crate::ledger::stragglers`]) imported
/// more than this many days ago.
pub const STRAGGLER_DAYS: [i64; 4] = [7, 30, 60, 90];
/// The recent window the daily rate and the completion estimate come from.
pub const RATE_WINDOW_DAYS: i64 = 7;
/// Days of per-day history (the burn-down chart).
pub const HISTORY_DAYS: i64 = 30;
/// Hours of verdicts-per-hour history.
pub const VERDICT_HOURS: i64 = 24;
/// Longest time all the progress queries together may take (about 2 s for
/// 200,000 users on SQLite in a debug build; PostgreSQL and MariaDB aggregate
/// faster).
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the import stands (table `import_users`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportFigures {
    /// Legacy users the import has seen (every row of `import_users`).
    pub seen: i64,
    /// Created in Okta with their imported hash.
    pub native: i64,
    /// Created in Okta with the password-import hook flag.
    pub hook: i64,
    /// The create failed (retried by the next run).
    pub failed: i64,
    /// Picked up by a run that did not record an outcome yet.
    pub pending: i64,
    /// Not created (no login, already in Okta, ...).
    pub skipped: i64,
}

/// The hook-path users: verified, confirmed, sent a reset, waiting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookFigures {
    /// Hook-imported users the hook has answered VERIFIED for at an Okta sign-in.
    pub verified: i64,
    /// Hook-imported users Okta confirmed it stored the password of.
    pub confirmed: i64,
    /// Verified but not confirmed by Okta yet.
    pub awaiting_confirmation: i64,
    /// Hook-imported users sent Okta's reset-password email
    /// (`passbridge stragglers --reset-password`).
    #[serde(default)]
    pub reset_sent: i64,
    /// Hook-imported users still waiting (still to migrate): not verified,
    /// not confirmed by Okta, not sent a reset (the rule of
    /// [`crate::ledger::stragglers`]; equals `Ledger::waiting_count`).
    pub waiting: i64,
}

/// Waiting users imported more than `older_than_days` ago.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stragglers {
    /// The age threshold (one of [`STRAGGLER_DAYS`]).
    pub older_than_days: i64,
    /// Waiting users imported more than that many days ago (the rule of
    /// [`crate::ledger::stragglers`]; equals `Ledger::straggler_counts`).
    pub users: i64,
}

/// The figures of one group of users (all of them, a source, a scheme).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// Import states.
    pub import: ImportFigures,
    /// Hook-path outcomes.
    pub hook: HookFigures,
    /// By age, one entry per [`STRAGGLER_DAYS`].
    pub stragglers: Vec<Stragglers>,
}

impl Figures {
    fn empty() -> Self {
        Self {
            stragglers: STRAGGLER_DAYS
                .iter()
                .map(|&d| Stragglers {
                    older_than_days: d,
                    users: 0,
                })
                .collect(),
            ..Self::default()
        }
    }

    fn add(&mut self, o: &Self) {
        let (i, oi) = (&mut self.import, &o.import);
        i.seen += oi.seen;
        i.native += oi.native;
        i.hook += oi.hook;
        i.failed += oi.failed;
        i.pending += oi.pending;
        i.skipped += oi.skipped;
        let (h, oh) = (&mut self.hook, &o.hook);
        h.verified += oh.verified;
        h.confirmed += oh.confirmed;
        h.awaiting_confirmation += oh.awaiting_confirmation;
        h.reset_sent += oh.reset_sent;
        h.waiting += oh.waiting;
        for (s, os) in self.stragglers.iter_mut().zip(&o.stragglers) {
            s.users += os.users;
        }
    }
}

/// The figures of one legacy source, or of one scheme within a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// The legacy source ([`LEGACY_SOURCE`] today).
    pub source: String,
    /// The legacy scheme (`null` in the source totals and for rows without one).
    pub scheme: Option<String>,
    /// The figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// The recent pace and where it leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    /// Days the rate is measured over ([`RATE_WINDOW_DAYS`] UTC calendar
    /// days, today included).
    pub window_days: i64,
    /// Hook users first verified within the window.
    pub verified_in_window: i64,
    /// `verified_in_window / window_days`.
    pub verified_per_day: f64,
    /// The day (YYYY-MM-DD) the waiting users are all verified at this pace;
    /// `null` when nobody was verified in the window (or nobody waits: then
    /// it is today).
    pub estimated_completion: Option<String>,
}

/// One day of the burn-down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Day {
    /// YYYY-MM-DD (UTC).
    pub day: String,
    /// Users created with the hook flag that day.
    pub imported_hook: i64,
    /// Hook users first verified that day.
    pub verified: i64,
    /// Users still to migrate at the end of that day.
    pub remaining: i64,
}

/// Hook answers of one hour with one verdict and reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourlyVerdicts {
    /// YYYY-MM-DDTHH (UTC).
    pub hour: String,
    /// `VERIFIED` or `UNVERIFIED`.
    pub verdict: String,
    /// The ledger reason (`verified`, `wrong_password`, ...).
    pub reason: String,
    /// Okta's calls (test calls excluded).
    pub calls: i64,
}

/// The last import run and its Okta rate-limit position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitPosition {
    /// The run.
    pub run_id: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// Its last report (RFC 3339).
    pub updated_at: String,
    /// When it ended, if it did.
    pub finished_at: Option<String>,
    /// Users it had to do (when the source could be counted).
    pub users_total: Option<i64>,
    /// Users it did.
    pub users_done: i64,
    /// `X-Rate-Limit-Limit` of the user-create bucket.
    pub limit: Option<i64>,
    /// Requests left in the window at the last report.
    pub remaining: Option<i64>,
    /// When that window resets (RFC 3339).
    pub resets_at: Option<String>,
    /// When the run ends at its pace so far (unfinished runs with a known total).
    pub eta: Option<String>,
}

/// Everything `status` shows. Serialised, this is the `status --json` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// [`SCHEMA_VERSION`].
    pub schema: u32,
    /// When the figures were computed (RFC 3339).
    pub generated_at: String,
    /// All users.
    #[serde(flatten)]
    pub totals: Figures,
    /// The recent daily rate and the completion estimate.
    pub rate: Rate,
    /// One entry per legacy source.
    pub by_source: Vec<Group>,
    /// One entry per source and scheme.
    pub by_scheme: Vec<Group>,
    /// The last [`HISTORY_DAYS`] days, oldest first.
    pub daily: Vec<Day>,
    /// The last [`VERDICT_HOURS`] hours, oldest first.
    pub verdicts_hourly: Vec<HourlyVerdicts>,
    /// The last import run, if any ran.
    pub rate_limit: Option<RateLimitPosition>,
}

/// One import run's report, written by the importer (see [`Ledger::record_import_run`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRun {
    /// The run's id.
    pub run_id: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// Whether this is the last report.
    pub finished: bool,
    /// Users to do, when known.
    pub users_total: Option<i64>,
    /// Users done.
    pub users_done: i64,
    /// Okta's rate-limit position for user creation, when seen.
    pub rate: Option<crate::okta::RateLimitSnapshot>,
}

/// Hook users per day (YYYY-MM-DD, UTC), from [`Ledger::groups`].
#[derive(Debug, Default)]
struct PerDay {
    /// First verified at an Okta sign-in that day.
    verified: BTreeMap<String, i64>,
    /// Stopped waiting that day.
    settled: BTreeMap<String, i64>,
}

fn count(row: &sqlx::any::AnyRow, col: &str) -> Result<i64, LedgerError> {
    Ok(row.try_get::<i64, _>(col)?)
}

fn day_of(at: OffsetDateTime) -> String {
    rfc3339(at)[..10].to_owned()
}

impl Ledger {
    /// The progress now.
    ///
    /// # Errors
    /// A query failed, or all of them took longer than [`QUERY_TIMEOUT`].
    pub async fn progress(&self) -> Result<Progress, LedgerError> {
        self.progress_at(OffsetDateTime::now_utc()).await
    }

    /// The progress as of `now` (tests pin the clock).
    ///
    /// # Errors
    /// As [`Self::progress`].
    pub async fn progress_at(&self, now: OffsetDateTime) -> Result<Progress, LedgerError> {
        tokio::time::timeout(QUERY_TIMEOUT, self.compute_progress(now))
            .await
            .map_err(|_| LedgerError::TimedOut)?
    }

    async fn compute_progress(&self, now: OffsetDateTime) -> Result<Progress, LedgerError> {
        let (by_scheme, per_day) = self.groups(now).await?;
        let mut totals = Figures::empty();
        for g in &by_scheme {
            totals.add(&g.figures);
        }
        // The window's calendar days (UTC), today included.
        let window_start = day_of(now - time::Duration::days(RATE_WINDOW_DAYS - 1));
        let verified_in_window = per_day.verified.range(window_start..).map(|(_, n)| n).sum();
        let daily = self.daily(now, totals.hook.waiting, &per_day).await?;
        let verdicts_hourly = self.verdicts_hourly(now).await?;
        let rate_limit = self.last_import_run().await?;
        Ok(Progress {
            schema: SCHEMA_VERSION,
            generated_at: rfc3339(now),
            rate: rate(now, verified_in_window, totals.hook.waiting),
            by_source: vec![Group {
                source: LEGACY_SOURCE.to_owned(),
                scheme: None,
                figures: totals.clone(),
            }],
            totals,
            by_scheme,
            daily,
            verdicts_hourly,
            rate_limit,
        })
    }

    /// Figures per scheme, and hook users verified and settled per day, in
    /// the one aggregate that reads every user (grouped by scheme and the
    /// days of first verification and of settling, so a second pass for the
    /// days is not needed). Who waits and who straggles is
    /// [`crate::ledger::stragglers`]' rule, composed in.
    async fn groups(&self, now: OffsetDateTime) -> Result<(Vec<Group>, PerDay), LedgerError> {
        let straggler_cols: String = STRAGGLER_DAYS
            .iter()
            .map(|d| format!(", {}", straggler_count_sql(&format!("older_{d}"))))
            .collect();
        let waiting = waiting_sql();
        let sql = self.sql(&format!(
            "SELECT u.scheme AS scheme, SUBSTR(u.verified_at, 1, 10) AS day, \
             SUBSTR(u.settled_at, 1, 10) AS settled_day, COUNT(*) AS seen, \
             COUNT(CASE WHEN u.state = 'created_native' THEN 1 END) AS native, \
             COUNT(CASE WHEN u.state = 'created_hook' THEN 1 END) AS hook, \
             COUNT(CASE WHEN u.state = 'failed' THEN 1 END) AS failed, \
             COUNT(CASE WHEN u.state = 'pending' THEN 1 END) AS pending, \
             COUNT(CASE WHEN u.state = 'skipped' THEN 1 END) AS skipped, \
             COUNT(CASE WHEN u.state = 'created_hook' AND u.verified = 1 THEN 1 END) AS verified, \
             COUNT(CASE WHEN u.state = 'created_hook' AND u.confirmed = 1 THEN 1 END) AS confirmed, \
             COUNT(CASE WHEN u.state = 'created_hook' AND u.verified = 1 AND u.confirmed = 0 THEN 1 END) AS awaiting, \
             COUNT(CASE WHEN u.state = 'created_hook' AND u.reset_sent = 1 THEN 1 END) AS reset_sent, \
             COUNT(CASE WHEN {waiting} THEN 1 END) AS waiting, \
             COUNT(CASE WHEN u.state = 'created_hook' AND NOT ({waiting}) THEN 1 END) AS settled \
             {straggler_cols} \
             FROM {} WHERE u.state IS NOT NULL \
             GROUP BY u.scheme, SUBSTR(u.verified_at, 1, 10), SUBSTR(u.settled_at, 1, 10)",
            per_user_sql()
        ));
        let mut query = sqlx::query(&sql);
        for d in STRAGGLER_DAYS {
            query = query.bind(days_cutoff(now, d.unsigned_abs()));
        }
        let rows = query.fetch_all(self.pool()).await?;
        let mut by_scheme = BTreeMap::<Option<String>, Figures>::new();
        let mut per_day = PerDay::default();
        for row in &rows {
            let verified = count(row, "verified")?;
            let mut stragglers = Vec::with_capacity(STRAGGLER_DAYS.len());
            for d in STRAGGLER_DAYS {
                stragglers.push(Stragglers {
                    older_than_days: d,
                    users: count(row, &format!("older_{d}"))?,
                });
            }
            let figures = Figures {
                import: ImportFigures {
                    seen: count(row, "seen")?,
                    native: count(row, "native")?,
                    hook: count(row, "hook")?,
                    failed: count(row, "failed")?,
                    pending: count(row, "pending")?,
                    skipped: count(row, "skipped")?,
                },
                hook: HookFigures {
                    verified,
                    confirmed: count(row, "confirmed")?,
                    awaiting_confirmation: count(row, "awaiting")?,
                    reset_sent: count(row, "reset_sent")?,
                    waiting: count(row, "waiting")?,
                },
                stragglers,
            };
            if let Some(day) = row.try_get::<Option<String>, _>("day")? {
                *per_day.verified.entry(day).or_default() += verified;
            }
            if let Some(day) = row.try_get::<Option<String>, _>("settled_day")? {
                *per_day.settled.entry(day).or_default() += count(row, "settled")?;
            }
            by_scheme
                .entry(row.try_get("scheme")?)
                .or_insert_with(Figures::empty)
                .add(&figures);
        }
        let mut groups: Vec<Group> = by_scheme
            .into_iter()
            .map(|(scheme, figures)| Group {
                source: LEGACY_SOURCE.to_owned(),
                scheme,
                figures,
            })
            .collect();
        // NULL (no scheme) last.
        let unnamed_first = groups.first().is_some_and(|g| g.scheme.is_none());
        groups.rotate_left(usize::from(unnamed_first));
        Ok((groups, per_day))
    }

    /// The last [`HISTORY_DAYS`] days; `remaining` walks back from
    /// `waiting_now`, adding back each day's settled users.
    async fn daily(
        &self,
        now: OffsetDateTime,
        waiting_now: i64,
        per_day: &PerDay,
    ) -> Result<Vec<Day>, LedgerError> {
        let first = now - time::Duration::days(HISTORY_DAYS - 1);
        let since = format!("{}T00:00:00.000000Z", day_of(first));
        let sql = self.sql(
            "SELECT SUBSTR(imported_at, 1, 10) AS day, COUNT(*) AS n FROM import_users \
             WHERE state = 'created_hook' AND imported_at >= ? GROUP BY SUBSTR(imported_at, 1, 10)",
        );
        let mut imported = BTreeMap::<String, i64>::new();
        for row in sqlx::query(&sql).bind(since).fetch_all(self.pool()).await? {
            imported.insert(row.try_get("day")?, count(&row, "n")?);
        }
        let on = |m: &BTreeMap<String, i64>, day: &str| m.get(day).copied().unwrap_or(0);
        let mut days: Vec<Day> = (0..HISTORY_DAYS)
            .map(|n| {
                let day = day_of(first + time::Duration::days(n));
                Day {
                    imported_hook: on(&imported, &day),
                    verified: on(&per_day.verified, &day),
                    day,
                    remaining: 0,
                }
            })
            .collect();
        // The end of today is now; each earlier day ends before the next
        // day's imports arrived and its users settled (verified, confirmed
        // by Okta or sent a reset: see `stragglers::per_user_sql`).
        let mut remaining = waiting_now;
        for d in days.iter_mut().rev() {
            d.remaining = remaining;
            remaining = remaining - d.imported_hook + on(&per_day.settled, &d.day);
        }
        Ok(days)
    }

    /// Okta's hook calls per hour, verdict and reason over [`VERDICT_HOURS`].
    async fn verdicts_hourly(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<HourlyVerdicts>, LedgerError> {
        let since = &rfc3339(now - time::Duration::hours(VERDICT_HOURS - 1))[..13];
        let sql = self.sql(
            "SELECT SUBSTR(created_at, 1, 13) AS hour, verdict, reason, COUNT(*) AS n \
             FROM hook_calls WHERE created_at >= ? AND origin = 'okta' \
             GROUP BY SUBSTR(created_at, 1, 13), verdict, reason",
        );
        let rows = sqlx::query(&sql)
            .bind(format!("{since}:00:00.000000Z"))
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(HourlyVerdicts {
                hour: row.try_get("hour")?,
                verdict: row.try_get("verdict")?,
                reason: row.try_get("reason")?,
                calls: count(row, "n")?,
            });
        }
        out.sort_by(|a, b| (&a.hour, &a.verdict, &a.reason).cmp(&(&b.hour, &b.verdict, &b.reason)));
        Ok(out)
    }

    async fn last_import_run(&self) -> Result<Option<RateLimitPosition>, LedgerError> {
        let rows = sqlx::query(
            "SELECT run_id, started_at, updated_at, finished_at, users_total, users_done, \
             rate_limit, rate_remaining, rate_resets_at FROM import_runs \
             ORDER BY updated_at DESC LIMIT 1",
        )
        .fetch_all(self.pool())
        .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let mut position = RateLimitPosition {
            run_id: row.try_get("run_id")?,
            started_at: row.try_get("started_at")?,
            updated_at: row.try_get("updated_at")?,
            finished_at: row.try_get("finished_at")?,
            users_total: row.try_get("users_total")?,
            users_done: row.try_get("users_done")?,
            limit: row.try_get("rate_limit")?,
            remaining: row.try_get("rate_remaining")?,
            resets_at: row.try_get("rate_resets_at")?,
            eta: None,
        };
        position.eta = run_eta(&position);
        Ok(Some(position))
    }

    /// Records (creates or updates) an import run's report. The importer
    /// calls it at most once a second and once at the end.
    ///
    /// # Errors
    /// The statement failed.
    pub async fn record_import_run(&self, run: &ImportRun) -> Result<(), LedgerError> {
        let now = OffsetDateTime::now_utc();
        let updated_at = now_rfc3339();
        let finished_at = run.finished.then(|| updated_at.clone());
        let limit = run.rate.map(|r| i64::from(r.limit));
        let remaining = run.rate.map(|r| i64::from(r.remaining));
        let resets_at = run.rate.map(|r| {
            rfc3339(now + time::Duration::try_from(r.resets_in).unwrap_or(time::Duration::ZERO))
        });
        let update = self.sql(
            "UPDATE import_runs SET updated_at = ?, finished_at = ?, users_total = ?, users_done = ?, \
             rate_limit = COALESCE(?, rate_limit), rate_remaining = COALESCE(?, rate_remaining), \
             rate_resets_at = COALESCE(?, rate_resets_at) WHERE run_id = ?",
        );
        let done = sqlx::query(&update)
            .bind(updated_at.clone())
            .bind(finished_at.clone())
            .bind(run.users_total)
            .bind(run.users_done)
            .bind(limit)
            .bind(remaining)
            .bind(resets_at.clone())
            .bind(run.run_id.clone())
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            let insert = self.sql(
                "INSERT INTO import_runs (run_id, started_at, updated_at, finished_at, users_total, \
                 users_done, rate_limit, rate_remaining, rate_resets_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            );
            sqlx::query(&insert)
                .bind(run.run_id.clone())
                .bind(run.started_at.clone())
                .bind(updated_at)
                .bind(finished_at)
                .bind(run.users_total)
                .bind(run.users_done)
                .bind(limit)
                .bind(remaining)
                .bind(resets_at)
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }
}

fn parse_stamp(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// The pace so far, extended to the users left.
fn run_eta(p: &RateLimitPosition) -> Option<String> {
    if p.finished_at.is_some() {
        return None;
    }
    let total = p.users_total?;
    let started = parse_stamp(&p.started_at)?;
    let updated = parse_stamp(&p.updated_at)?;
    let elapsed = (updated - started).as_seconds_f64();
    if p.users_done <= 0 || elapsed <= 0.0 {
        return None;
    }
    let left = (total - p.users_done).max(0) as f64;
    let secs = left * elapsed / p.users_done as f64;
    Some(rfc3339(updated + time::Duration::seconds_f64(secs)))
}

fn rate(now: OffsetDateTime, verified_in_window: i64, waiting: i64) -> Rate {
    let per_day = verified_in_window as f64 / RATE_WINDOW_DAYS as f64;
    let estimated_completion = if waiting <= 0 {
        Some(day_of(now))
    } else if verified_in_window > 0 {
        // Whole days, rounded up, in integers: no float rounding moves the date.
        let days = waiting
            .saturating_mul(RATE_WINDOW_DAYS)
            .saturating_add(verified_in_window - 1)
            / verified_in_window;
        // Beyond time's range the estimate means "never" as well.
        (days < 365 * 1000).then(|| day_of(now + time::Duration::days(days)))
    } else {
        None
    };
    Rate {
        window_days: RATE_WINDOW_DAYS,
        verified_in_window,
        verified_per_day: per_day,
        estimated_completion,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(s: &str) -> OffsetDateTime {
        parse_stamp(s).unwrap()
    }

    #[test]
    fn the_estimate_extends_the_recent_rate() {
        let now = at("2026-12-01T12:00:00Z");
        let r = rate(now, 14, 5);
        assert_eq!(r.verified_per_day, 2.0);
        assert_eq!(r.estimated_completion.as_deref(), Some("2026-12-04"));
        assert_eq!(
            rate(now, 0, 5).estimated_completion,
            None,
            "no pace, no date"
        );
        assert_eq!(
            rate(now, 0, 0).estimated_completion.as_deref(),
            Some("2026-12-01"),
            "nobody waits: done today"
        );
    }

    #[test]
    fn a_run_eta_needs_a_total_and_a_pace() {
        let mut p = RateLimitPosition {
            run_id: "r".into(),
            started_at: "2026-12-01T12:00:00.000000Z".into(),
            updated_at: "2026-12-01T12:00:10.000000Z".into(),
            finished_at: None,
            users_total: Some(300),
            users_done: 100,
            limit: Some(600),
            remaining: Some(10),
            resets_at: None,
            eta: None,
        };
        assert_eq!(run_eta(&p).as_deref(), Some("2026-12-01T12:00:30.000000Z"));
        p.users_total = None;
        assert_eq!(run_eta(&p), None);
        p.users_total = Some(300);
        p.finished_at = Some(p.updated_at.clone());
        assert_eq!(run_eta(&p), None, "a finished run has no ETA");
    }
}
