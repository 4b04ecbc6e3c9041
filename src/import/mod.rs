//! `passbridge import`: stream legacy users, decide each one's path (native
//! hash import or password-import hook), and create them in Okta, recording
//! every user's state in the ledger so that a re-run continues where the last
//! one stopped and never creates anyone twice.
//!
//! Shape of a run: one producer streams rows, plans them, checks the ledger
//! and marks a batch `pending` (one transaction) before handing it to
//! `concurrency` workers that call Okta; one writer records results in
//! batches and writes the report. All of it is one future: dropping it (a
//! killed run) stops everything, and the ledger tells the next run which
//! users may already exist in Okta. Memory stays bounded by the batch size
//! and channel capacities, whatever the number of users.

mod plan;
pub mod preflight;
mod progress;
mod report;
mod selftest;
mod source;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use sqlx::AnyPool;
use tokio::sync::mpsc;

use crate::hash::Limits;
use crate::ledger::{ImportResult, ImportState, Ledger, LedgerError, PendingImport};
use crate::okta::{CreateUser, OktaClient, OktaError, Profile};

pub use plan::{Note, Path, Plan, Planner};
pub use progress::{Observer, Progress, Silent};
pub use report::{PathCounts, Report, Summary, UserOutcome, MAX_LISTED_ROWS};
pub use selftest::SelfTest;
pub use source::{with_filter, CsvRows, LegacyRow, SourceError};

/// Rows planned, checked against the ledger and marked pending together.
pub const DEFAULT_BATCH: usize = 256;
/// Longest time a finished user waits before its ledger batch is committed.
const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Reading the source failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The ledger failed (the run stops: without it, resuming is unsafe).
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
}

/// Where the users come from.
pub enum Source {
    /// The admin's query on the legacy database (already `--where`-filtered).
    Sql {
        /// Legacy pool.
        pool: AnyPool,
        /// The query, used verbatim.
        query: String,
    },
    /// A CSV export with a header row.
    Csv {
        /// The file.
        path: PathBuf,
    },
}

/// How to run.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Create users ACTIVE (`activate=true`) or STAGED.
    pub activate: bool,
    /// Plan only: no Okta, no ledger.
    pub dry_run: bool,
    /// Consider at most this many rows.
    pub limit: Option<u64>,
    /// Consider only these logins (case-insensitive); empty = all.
    pub only_logins: Vec<String>,
    /// Okta calls in flight.
    pub concurrency: usize,
    /// Import SHA-256 hashes natively despite Okta's ambiguous salt reading.
    pub trust_okta_sha256: bool,
    /// `legacy.scheme`: scheme of rows without a `scheme` column value.
    pub default_scheme: Option<String>,
    /// `legacy.params`: hints for schemes that need them.
    pub params: BTreeMap<String, String>,
    /// Hash cost limits.
    pub limits: Limits,
    /// Ledger batch size.
    pub batch: usize,
    /// Count the source first, for a progress total and ETA.
    pub count_first: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            activate: true,
            dry_run: false,
            limit: None,
            only_logins: Vec::new(),
            concurrency: 8,
            trust_okta_sha256: false,
            default_scheme: None,
            params: BTreeMap::new(),
            limits: Limits::default(),
            batch: DEFAULT_BATCH,
            count_first: true,
        }
    }
}

/// A user handed to a worker.
struct Job {
    row: u64,
    key: String,
    profile: Profile,
    plan: Plan,
    /// An earlier run picked this login up (so "login exists" is probably us).
    attempted_before: bool,
}

/// A finished user: the report line and, when the ledger should change, its record.
struct Done {
    outcome: UserOutcome,
    record: Option<ImportResult>,
    /// The login already existed in Okta and was recorded as ours.
    found: bool,
}

fn scheme_name(plan: &Plan) -> Option<&'static str> {
    plan.scheme.map(crate::hash::Scheme::as_str)
}

fn outcome(row: u64, login: &str, plan: &Plan, state: &'static str) -> UserOutcome {
    UserOutcome {
        kind: "user",
        row,
        login: login.to_owned(),
        path: plan.path.as_str(),
        scheme: scheme_name(plan),
        state,
        okta_id: None,
        note: plan.note.map(Note::as_str),
        error: None,
    }
}

/// Creates one user, turning "login exists" into a lookup.
async fn import_one(okta: &OktaClient, job: Job, activate: bool) -> Done {
    let path = job.plan.path;
    let created_state = if path == Path::Native {
        ImportState::CreatedNative
    } else {
        ImportState::CreatedHook
    };
    let login = job.profile.login.clone();
    let mut out = outcome(job.row, &login, &job.plan, "failed");
    let mut found = false;
    let mut record = ImportResult {
        login: job.key.clone(),
        state: ImportState::Failed,
        path: Some(path.as_str()),
        scheme: scheme_name(&job.plan).map(str::to_owned),
        okta_id: None,
        reason: None,
    };
    let body = match job.plan.hash {
        Some(hash) => CreateUser::with_hash(job.profile, hash),
        None => CreateUser::with_hook(job.profile),
    };
    let result = okta.create_user(&body, activate).await;
    drop(body);
    match result {
        Ok(user) => {
            record.state = created_state;
            record.okta_id = Some(user.id);
        }
        Err(e) if e.is_login_taken() => match okta.find_user(&login).await {
            Ok(Some(user)) => {
                let imported = user
                    .credentials
                    .as_ref()
                    .and_then(|c| c.provider.as_ref())
                    .is_some_and(|p| p.kind == "IMPORT");
                record.okta_id = Some(user.id);
                if imported || job.attempted_before {
                    // Ours: created by an earlier attempt whose answer was lost.
                    record.state = created_state;
                    record.reason = Some("login already in Okta (imported); recorded".into());
                    found = true;
                } else {
                    record.state = ImportState::Skipped;
                    record.reason =
                        Some("login already in Okta, not created by an import; left as is".into());
                }
            }
            Ok(None) => {
                record.reason = Some("Okta says the login exists but cannot find it".into());
            }
            Err(lookup) => record.reason = Some(describe(&lookup)),
        },
        Err(e) => record.reason = Some(describe(&e)),
    }
    out.state = match record.state {
        ImportState::CreatedNative => "created_native",
        ImportState::CreatedHook => "created_hook",
        ImportState::Skipped => "skipped",
        _ => "failed",
    };
    out.okta_id.clone_from(&record.okta_id);
    out.error.clone_from(&record.reason);
    Done {
        outcome: out,
        record: Some(record),
        found,
    }
}

fn describe(e: &OktaError) -> String {
    format!("{}: {e}", e.kind())
}

/// Shared, briefly-locked run state.
struct Shared {
    summary: Mutex<Summary>,
    abort: AtomicBool,
}

impl Shared {
    fn with<T>(&self, f: impl FnOnce(&mut Summary) -> T) -> Option<T> {
        self.summary.lock().ok().map(|mut s| f(&mut s))
    }
}

/// Runs an import (or, with `options.dry_run`, plans one).
///
/// # Errors
/// The source or the ledger failed. Okta failures are per user: they are
/// recorded as `failed` and retried by the next run.
pub async fn run(
    source: Source,
    options: &ImportOptions,
    okta: Option<&OktaClient>,
    ledger: Option<&Ledger>,
    mut report: Option<Report>,
    observer: &dyn Observer,
) -> Result<Summary, ImportError> {
    let started = Instant::now();
    let run_id = uuid::Uuid::new_v4().to_string();
    let dry_run = options.dry_run || okta.is_none() || ledger.is_none();
    let total = if options.count_first {
        count(&source)
            .await
            .map(|n| options.limit.map_or(n, |l| n.min(l)))
    } else {
        None
    };
    observer.start(total, dry_run);
    let shared = Shared {
        summary: Mutex::new(Summary {
            kind: "summary",
            dry_run,
            ..Summary::default()
        }),
        abort: AtomicBool::new(false),
    };
    let workers = options.concurrency.max(1);
    let (job_tx, job_rx) = mpsc::channel::<Job>(workers * 2);
    let job_rx = Arc::new(tokio::sync::Mutex::new(job_rx));
    let (done_tx, mut done_rx) = mpsc::channel::<Done>(workers * 2 + options.batch);

    let producer = produce(
        source,
        options,
        ledger.filter(|_| !dry_run),
        &run_id,
        &shared,
        job_tx,
        done_tx.clone(),
    );
    let worker_pool = futures::future::join_all((0..workers).map(|_| {
        let rx = Arc::clone(&job_rx);
        let tx = done_tx.clone();
        async move {
            let Some(okta) = okta else { return };
            loop {
                let job = { rx.lock().await.recv().await };
                let Some(job) = job else { break };
                let done = import_one(okta, job, options.activate).await;
                if tx.send(done).await.is_err() {
                    break;
                }
            }
        }
    }));
    drop(done_tx);
    let writer = async {
        let mut batch: Vec<ImportResult> = Vec::with_capacity(options.batch);
        let mut done_count = 0u64;
        let mut ledger_error = None;
        let target = ledger.filter(|_| !dry_run);
        let run_id = run_id.as_str();
        let flush = |batch: &mut Vec<ImportResult>| commit(target, run_id, std::mem::take(batch));
        let run_report = RunReport {
            ledger: target,
            okta,
            run_id,
            started_at: crate::ledger::now_rfc3339(),
            total,
        };
        let mut reported: Option<Instant> = None;
        loop {
            if reported.is_none_or(|at| at.elapsed() >= RUN_REPORT_EVERY) {
                run_report.write(done_count, false).await;
                reported = Some(Instant::now());
            }
            match tokio::time::timeout(FLUSH_EVERY, done_rx.recv()).await {
                Ok(Some(done)) => {
                    done_count += 1;
                    shared.with(|s| count_outcome(s, &done.outcome, done.found));
                    if let Some(r) = report.as_mut() {
                        if let Err(e) = r.user(&done.outcome) {
                            tracing::warn!(error = %e, "cannot write the report; continuing without it");
                            report = None;
                        }
                    }
                    observer.user_done(done_count, &done.outcome, okta.map(OktaClient::stats));
                    if let Some(record) = done.record {
                        batch.push(record);
                    }
                    if batch.len() >= options.batch {
                        if let Err(e) = flush(&mut batch).await {
                            shared.abort.store(true, Ordering::Relaxed);
                            ledger_error.get_or_insert(e);
                        }
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    if let Err(e) = flush(&mut batch).await {
                        shared.abort.store(true, Ordering::Relaxed);
                        ledger_error.get_or_insert(e);
                    }
                }
            }
        }
        if let Err(e) = flush(&mut batch).await {
            ledger_error.get_or_insert(e);
        }
        run_report.write(done_count, true).await;
        ledger_error
    };
    let (produced, _, ledger_error) = tokio::join!(producer, worker_pool, writer);
    produced?;
    if let Some(e) = ledger_error {
        return Err(e.into());
    }
    let mut summary = shared.with(std::mem::take).unwrap_or_default();
    summary.kind = "summary";
    summary.dry_run = dry_run;
    summary.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    summary.rows_per_sec = summary.rows as f64 / started.elapsed().as_secs_f64().max(0.001);
    summary.okta = okta.filter(|_| !dry_run).map(OktaClient::stats);
    summary.okta_examples = selftest::okta_examples().into_iter().collect();
    if let Some(r) = report.as_mut() {
        if let Err(e) = r.finish(&summary) {
            tracing::warn!(error = %e, "cannot finish the report");
        }
    }
    observer.finish(&summary);
    Ok(summary)
}

/// How often a run leaves its position in `import_runs` (and once at the end).
const RUN_REPORT_EVERY: Duration = Duration::from_secs(1);

/// Where a run leaves its progress and Okta rate-limit position for
/// `passbridge status` (nothing in a dry run).
struct RunReport<'a> {
    ledger: Option<&'a Ledger>,
    okta: Option<&'a OktaClient>,
    run_id: &'a str,
    started_at: String,
    total: Option<u64>,
}

impl RunReport<'_> {
    /// Best effort: the figures are for people watching, so a failure is
    /// logged and the import goes on (its own state is in `import_users`).
    async fn write(&self, done: u64, finished: bool) {
        let Some(ledger) = self.ledger else { return };
        let run = crate::ledger::ImportRun {
            run_id: self.run_id.to_owned(),
            started_at: self.started_at.clone(),
            finished,
            users_total: self.total.and_then(|t| i64::try_from(t).ok()),
            users_done: i64::try_from(done).unwrap_or(i64::MAX),
            rate: self
                .okta
                .and_then(|o| o.rate_limit(crate::okta::buckets::USERS_CREATE)),
        };
        if let Err(e) = ledger.record_import_run(&run).await {
            tracing::warn!(error = %e, "cannot record the import run's position (status will not show it)");
        }
    }
}

/// Commits one batch of results.
async fn commit(
    ledger: Option<&Ledger>,
    run_id: &str,
    records: Vec<ImportResult>,
) -> Result<(), LedgerError> {
    match ledger {
        Some(l) if !records.is_empty() => l.record_results(run_id, &records).await,
        _ => Ok(()),
    }
}

fn count_outcome(s: &mut Summary, o: &UserOutcome, found: bool) {
    match o.state {
        _ if found => s.found_in_okta += 1,
        "created_native" => s.created_native += 1,
        "created_hook" => s.created_hook += 1,
        "skipped" => s.skipped += 1,
        "failed" => {
            s.failed += 1;
            s.count_failure(o.error.as_deref().unwrap_or("unknown"));
        }
        "already_done" => s.already_done += 1,
        "duplicate_in_source" => s.duplicates_in_source += 1,
        _ => {}
    }
}

fn count_plan(s: &mut Summary, row: u64, plan: &Plan) {
    s.rows += 1;
    match plan.path {
        Path::Native => s.planned_native += 1,
        Path::Hook => s.planned_hook += 1,
        Path::Skip => s.planned_skip += 1,
    }
    let scheme = scheme_name(plan).unwrap_or("unrecognised");
    if plan.path != Path::Skip && plan.note != Some(Note::NoHash) {
        let c = s.by_scheme.entry(scheme.to_owned()).or_default();
        if plan.path == Path::Native {
            c.native += 1;
        } else {
            c.hook += 1;
        }
    }
    if let Some(note) = plan.note {
        *s.notes.entry(note.as_str()).or_default() += 1;
        if note.is_bad_hash() {
            s.bad_hashes += 1;
            if s.bad_hash_rows.len() < MAX_LISTED_ROWS {
                s.bad_hash_rows.push(row);
            }
        }
    }
}

/// Counts the source's rows (for the progress total); `None` if it cannot.
async fn count(source: &Source) -> Option<u64> {
    match source {
        Source::Sql { pool, query } => {
            let n: i64 = sqlx::query_scalar(&source::count_query(query))
                .fetch_one(pool)
                .await
                .ok()?;
            u64::try_from(n).ok()
        }
        Source::Csv { path } => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || source::count_csv(&path).ok())
                .await
                .ok()
                .flatten()
        }
    }
}

/// The producer: reads, filters, plans, checks the ledger, marks pending,
/// dispatches. Dropping `jobs` at the end lets the workers finish.
async fn produce(
    source: Source,
    options: &ImportOptions,
    ledger: Option<&Ledger>,
    run_id: &str,
    shared: &Shared,
    jobs: mpsc::Sender<Job>,
    done: mpsc::Sender<Done>,
) -> Result<(), ImportError> {
    let mut producer = Producer {
        options,
        ledger,
        run_id,
        shared,
        jobs,
        done,
        planner: Planner::new(
            options.limits,
            options.default_scheme.clone(),
            options.params.clone(),
            options.trust_okta_sha256,
        ),
        only: options
            .only_logins
            .iter()
            .map(|l| l.trim().to_lowercase())
            .collect(),
        chunk: Vec::with_capacity(options.batch),
        considered: 0,
    };
    let result = match source {
        Source::Sql { pool, query } => {
            let mut rows = sqlx::query(&query).fetch(&pool);
            let mut number = 0u64;
            let mut result = Ok(());
            while let Some(row) = rows.next().await {
                number += 1;
                let row = match row {
                    Ok(r) => source::from_sql_row(&r, number).map_err(ImportError::from),
                    Err(e) => Err(SourceError::Query(e).into()),
                };
                match row {
                    Ok(row) => {
                        if !producer.accept(row).await? {
                            break;
                        }
                    }
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            result
        }
        Source::Csv { path } => {
            let mut rows = source::read_csv(&path);
            let mut result = Ok(());
            while let Some(row) = rows.recv().await {
                match row {
                    Ok(row) => {
                        if !producer.accept(row).await? {
                            break;
                        }
                    }
                    Err(e) => {
                        result = Err(e.into());
                        break;
                    }
                }
            }
            result
        }
    };
    // Whatever stopped the stream, the rows already planned still go out.
    producer.dispatch().await?;
    let tests = producer.planner.self_tests().clone();
    shared.with(|s| {
        s.self_tests = tests
            .into_iter()
            .map(|(scheme, t)| (scheme.as_str().to_owned(), t.to_string()))
            .collect();
    });
    result
}

struct Producer<'a> {
    options: &'a ImportOptions,
    ledger: Option<&'a Ledger>,
    run_id: &'a str,
    shared: &'a Shared,
    jobs: mpsc::Sender<Job>,
    done: mpsc::Sender<Done>,
    planner: Planner,
    only: HashSet<String>,
    chunk: Vec<(LegacyRow, Plan)>,
    considered: u64,
}

impl Producer<'_> {
    /// Takes one row; `Ok(false)` once the run should stop reading.
    async fn accept(&mut self, row: LegacyRow) -> Result<bool, ImportError> {
        if self.shared.abort.load(Ordering::Relaxed) {
            return Ok(false);
        }
        if !self.only.is_empty() && !self.only.contains(&row.profile.login.to_lowercase()) {
            return Ok(true);
        }
        if self.options.limit.is_some_and(|l| self.considered >= l) {
            return Ok(false);
        }
        self.considered += 1;
        let plan = self.planner.plan(&row).await;
        self.shared.with(|s| count_plan(s, row.row, &plan));
        self.chunk.push((row, plan));
        if self.chunk.len() >= self.options.batch {
            self.dispatch().await?;
        }
        Ok(true)
    }

    async fn send_done(&self, outcome: UserOutcome, record: Option<ImportResult>) {
        let _ = self
            .done
            .send(Done {
                outcome,
                record,
                found: false,
            })
            .await;
    }

    /// Sends the current chunk on: reports only (dry run), or ledger check,
    /// pending mark, then jobs.
    async fn dispatch(&mut self) -> Result<(), ImportError> {
        let chunk = std::mem::take(&mut self.chunk);
        if chunk.is_empty() {
            return Ok(());
        }
        let Some(ledger) = self.ledger else {
            for (row, plan) in &chunk {
                let missing = (plan.path != Path::Skip)
                    .then(|| preflight::missing_profile_field(&row.profile))
                    .flatten();
                let o = match missing {
                    // Okta would refuse the create: a failure the dry run can name.
                    Some(field) => UserOutcome {
                        error: Some(preflight::missing_field_reason(field)),
                        ..outcome(row.row, &row.profile.login, plan, "failed")
                    },
                    None => outcome(row.row, &row.profile.login, plan, "planned"),
                };
                self.send_done(o, None).await;
            }
            return Ok(());
        };
        let keys: Vec<String> = chunk
            .iter()
            .map(|(row, _)| row.profile.login.trim().to_lowercase())
            .filter(|k| !k.is_empty())
            .collect();
        let known = ledger.import_records(&keys).await?;
        let mut seen: HashSet<String> = HashSet::with_capacity(chunk.len());
        let mut pending = Vec::with_capacity(chunk.len());
        let mut jobs = Vec::with_capacity(chunk.len());
        for (row, plan) in chunk {
            let key = row.profile.login.trim().to_lowercase();
            if plan.path == Path::Skip {
                // No login: nothing to key a ledger row on; reported only.
                self.send_done(outcome(row.row, &row.profile.login, &plan, "skipped"), None)
                    .await;
                continue;
            }
            let record = known.get(&key);
            if !seen.insert(key.clone()) || record.is_some_and(|r| r.run_id == self.run_id) {
                let mut o = outcome(row.row, &row.profile.login, &plan, "duplicate_in_source");
                o.error = Some("the same login appeared earlier in the source".into());
                self.send_done(o, None).await;
                continue;
            }
            if let Some(r) = record.filter(|r| r.state.is_final()) {
                let mut o = outcome(row.row, &row.profile.login, &plan, "already_done");
                o.okta_id.clone_from(&r.okta_id);
                self.send_done(o, None).await;
                continue;
            }
            pending.push(PendingImport {
                login: key.clone(),
                path: plan.path.as_str(),
                scheme: scheme_name(&plan).map(str::to_owned),
                known: record.is_some(),
            });
            jobs.push(Job {
                row: row.row,
                key,
                profile: row.profile,
                plan,
                attempted_before: record.is_some(),
            });
        }
        ledger.mark_pending(self.run_id, &pending).await?;
        for job in jobs {
            if self.jobs.send(job).await.is_err() {
                break;
            }
        }
        Ok(())
    }
}

/// Counts by state in the ledger (for `import --status`-style summaries and tests).
///
/// # Errors
/// The ledger query failed.
pub async fn ledger_counts(ledger: &Ledger) -> Result<HashMap<ImportState, i64>, LedgerError> {
    ledger.import_counts().await
}
