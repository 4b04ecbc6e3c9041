//! The hook's one writer to the ledger: hook-call rows and throttle counter
//! changes arriving together share transactions (group commit). Every answer
//! still waits until its own row is durable and every reservation until it is
//! committed. One writer means no two of the hook's transactions ever wait on
//! each other's locks: on a SQLite ledger (one writer at a time, whose lock
//! waits sleep in steps of milliseconds) a flood of answers becomes a few
//! commits instead of a queue of lock waits; on PostgreSQL and MariaDB it
//! saves a commit per row and per attempt.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use super::{CounterChange, CounterOutcome, HookCallRow, Ledger, LedgerError};
use crate::metrics::Metrics;

/// Most jobs in one cycle (bounds the time one commit holds the lock).
const MAX_BATCH: usize = 256;
/// Jobs waiting for the writer; beyond this, callers wait to queue (their
/// own deadline then sends the row to the spool).
const QUEUE: usize = 4096;
/// Longest one batch may take before its waiters are told it failed (they
/// have spooled their rows by then; a late commit is harmless, rows are
/// idempotent by id).
const BATCH_TIMEOUT: Duration = Duration::from_secs(5);

enum Job {
    Row {
        row: HookCallRow,
        done: oneshot::Sender<Result<(), LedgerError>>,
    },
    Counters {
        change: CounterChange,
        window_ms: i64,
        done: Option<oneshot::Sender<Result<CounterOutcome, LedgerError>>>,
    },
}

/// The hook's way to the ledger. Cloning shares the one writer.
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the writer task on `ledger`. It ends when every clone is dropped.
    pub fn spawn(ledger: Ledger, metrics: Arc<Metrics>) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(ledger, jobs, metrics));
        Self { queue }
    }

    /// Inserts `row` (idempotent by id), returning once it is committed.
    ///
    /// # Errors
    /// The insert or its commit failed, timed out, or the writer stopped.
    pub async fn insert(&self, row: HookCallRow) -> Result<(), LedgerError> {
        let (done, committed) = oneshot::channel();
        self.queue
            .send(Job::Row { row, done })
            .await
            .map_err(|_| LedgerError::WriterStopped)?;
        committed.await.map_err(|_| LedgerError::WriterStopped)?
    }

    /// Applies `change` to the throttle counters (window `window_ms`),
    /// returning once it is committed.
    ///
    /// # Errors
    /// The batch failed, timed out, or the writer stopped.
    pub async fn counters(
        &self,
        change: CounterChange,
        window_ms: i64,
    ) -> Result<CounterOutcome, LedgerError> {
        let (done, committed) = oneshot::channel();
        self.queue
            .send(Job::Counters {
                change,
                window_ms,
                done: Some(done),
            })
            .await
            .map_err(|_| LedgerError::WriterStopped)?;
        committed.await.map_err(|_| LedgerError::WriterStopped)?
    }

    /// Queues `change` without waiting for it; false when the queue is full
    /// (the change is dropped: only ever a give-back, which errs on counting).
    pub fn counters_later(&self, change: CounterChange, window_ms: i64) -> bool {
        self.queue
            .try_send(Job::Counters {
                change,
                window_ms,
                done: None,
            })
            .is_ok()
    }
}

/// Takes whatever is queued (up to [`MAX_BATCH`]), commits the counter
/// changes in one transaction and the rows in another, answers every waiter,
/// repeats. While one batch commits the next one gathers.
async fn write_batches(ledger: Ledger, mut jobs: mpsc::Receiver<Job>, metrics: Arc<Metrics>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut rows = Vec::with_capacity(MAX_BATCH);
    let mut changes = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        for job in batch.drain(..) {
            match job {
                Job::Row { row, done } => rows.push((row, done)),
                Job::Counters {
                    change,
                    window_ms,
                    done,
                } => changes.push((change, window_ms, done)),
            }
        }
        if !changes.is_empty() {
            apply_counters(&ledger, &mut changes).await;
        }
        if !rows.is_empty() {
            write_rows(&ledger, &mut rows, &metrics).await;
        }
    }
}

type CounterJob = (
    CounterChange,
    i64,
    Option<oneshot::Sender<Result<CounterOutcome, LedgerError>>>,
);

/// One transaction for every counter change of the cycle (changes with
/// another window, which only tests make, get their own).
async fn apply_counters(ledger: &Ledger, jobs: &mut Vec<CounterJob>) {
    let now = super::now_ms();
    while let Some(window_ms) = jobs.first().map(|(_, w, _)| *w) {
        let (same, rest): (Vec<_>, Vec<_>) = jobs.drain(..).partition(|(_, w, _)| *w == window_ms);
        *jobs = rest;
        let list: Vec<CounterChange> = same.iter().map(|(c, _, _)| c.clone()).collect();
        let applied =
            tokio::time::timeout(BATCH_TIMEOUT, ledger.throttle_apply(&list, now, window_ms))
                .await
                .unwrap_or(Err(LedgerError::TimedOut));
        match applied {
            Ok(outcomes) => {
                for ((_, _, done), outcome) in same.into_iter().zip(outcomes) {
                    if let Some(done) = done {
                        let _ = done.send(Ok(outcome));
                    }
                }
            }
            Err(e) => {
                warn!(error = %e, changes = same.len(), "throttle counter batch failed");
                let message = e.to_string();
                for (_, _, done) in same {
                    if let Some(done) = done {
                        let _ = done.send(Err(LedgerError::Batch(message.clone())));
                    }
                }
            }
        }
    }
}

async fn write_rows(
    ledger: &Ledger,
    batch: &mut Vec<(HookCallRow, oneshot::Sender<Result<(), LedgerError>>)>,
    metrics: &Metrics,
) {
    let pending: Vec<HookCallRow> = batch.iter().map(|(row, _)| row.clone()).collect();
    #[allow(clippy::cast_precision_loss)]
    metrics.ledger_batch_rows.observe(pending.len() as f64);
    match tokio::time::timeout(BATCH_TIMEOUT, ledger.insert_hook_calls(&pending)).await {
        Ok(Ok(())) => {
            for (_, done) in batch.drain(..) {
                let _ = done.send(Ok(()));
            }
        }
        Ok(Err(e)) => {
            // One bad row (a duplicate id from a replay) must not fail
            // the others: each gets its own attempt and its own answer,
            // on the path that also accepts a row already there.
            if batch.len() > 1 {
                warn!(error = %e, rows = batch.len(), "ledger group commit failed; writing its rows one by one");
            }
            for (row, done) in batch.drain(..) {
                let one = tokio::time::timeout(BATCH_TIMEOUT, ledger.insert_hook_call(&row))
                    .await
                    .unwrap_or(Err(LedgerError::TimedOut));
                let _ = done.send(one);
            }
        }
        Err(_) => {
            for (_, done) in batch.drain(..) {
                let _ = done.send(Err(LedgerError::TimedOut));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::db::DatabaseUrl;
    use crate::ledger::{HookCall, Origin};

    fn row(username: &str) -> HookCallRow {
        HookCallRow::new(HookCall {
            event_id: None,
            request_id: None,
            username: username.to_owned(),
            verdict: "UNVERIFIED".to_owned(),
            reason: "overloaded".to_owned(),
            scheme: None,
            latency_ms: 1,
            origin: Origin::Okta,
        })
    }

    async fn ledger() -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::connect(&DatabaseUrl::sqlite_file(&dir.path().join("l.db")))
            .await
            .unwrap();
        (dir, ledger)
    }

    #[tokio::test]
    async fn rows_arriving_together_share_commits_and_all_land() {
        let (_dir, ledger) = ledger().await;
        let metrics = Metrics::new();
        let writer = GroupCommit::spawn(ledger.clone(), Arc::clone(&metrics));
        let rows: Vec<HookCallRow> = (0..200).map(|i| row(&format!("u{i}"))).collect();
        let results =
            futures::future::join_all(rows.iter().map(|r| writer.insert(r.clone()))).await;
        assert!(results.iter().all(Result::is_ok));
        for r in &rows {
            assert!(ledger.has_hook_call(&r.id).await.unwrap());
        }
        let rendered = metrics.render();
        let commits: u64 = rendered
            .lines()
            .find_map(|l| l.strip_prefix("passbridge_ledger_batch_rows_count "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            commits < 200,
            "{commits} commits for 200 rows: nothing was grouped"
        );
    }

    #[tokio::test]
    async fn a_duplicate_in_a_batch_fails_nobody() {
        let (_dir, ledger) = ledger().await;
        let writer = GroupCommit::spawn(ledger.clone(), Metrics::new());
        let first = row("again");
        writer.insert(first.clone()).await.unwrap();
        // The same row (a spool replay racing a late commit) among new ones.
        let others: Vec<HookCallRow> = (0..20).map(|i| row(&format!("n{i}"))).collect();
        let mut all = vec![first.clone()];
        all.extend(others.iter().cloned());
        let results = futures::future::join_all(all.into_iter().map(|r| writer.insert(r))).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        for r in &others {
            assert!(ledger.has_hook_call(&r.id).await.unwrap());
        }
        assert_eq!(ledger.hook_calls_for("again").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_failing_ledger_is_an_error_not_a_hang() {
        let (_dir, ledger) = ledger().await;
        sqlx::query("DROP TABLE hook_calls")
            .execute(ledger.pool())
            .await
            .unwrap();
        let writer = GroupCommit::spawn(ledger, Metrics::new());
        assert!(writer.insert(row("x")).await.is_err());
    }
}
