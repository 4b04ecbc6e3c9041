//! Group commit for hook-call rows: every answer still waits until its own
//! row is durable, but rows arriving together share one transaction. On a
//! SQLite ledger (one writer at a time) this turns a flood of answers from a
//! queue of lock waits into a few commits, so an `overloaded` answer is as
//! fast as the check that made it; on PostgreSQL and MariaDB it saves a
//! commit per row.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use super::{HookCallRow, Ledger, LedgerError};
use crate::metrics::Metrics;

/// Most rows in one transaction (bounds the time one commit holds the lock).
const MAX_BATCH: usize = 256;
/// Rows waiting for the writer; beyond this, callers wait to queue (their
/// own deadline then sends the row to the spool).
const QUEUE: usize = 4096;
/// Longest one batch may take before its waiters are told it failed (they
/// have spooled their rows by then; a late commit is harmless, rows are
/// idempotent by id).
const BATCH_TIMEOUT: Duration = Duration::from_secs(5);

struct Pending {
    row: HookCallRow,
    done: oneshot::Sender<Result<(), LedgerError>>,
}

/// The hook's way to the `hook_calls` table. Cloning shares the one writer.
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Pending>,
}

impl GroupCommit {
    /// Starts the writer task on `ledger`. It ends when every clone is dropped.
    pub fn spawn(ledger: Ledger, metrics: Arc<Metrics>) -> Self {
        let (queue, rows) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(ledger, rows, metrics));
        Self { queue }
    }

    /// Inserts `row` (idempotent by id), returning once it is committed.
    ///
    /// # Errors
    /// The insert or its commit failed, timed out, or the writer stopped.
    pub async fn insert(&self, row: HookCallRow) -> Result<(), LedgerError> {
        let (done, committed) = oneshot::channel();
        self.queue
            .send(Pending { row, done })
            .await
            .map_err(|_| LedgerError::WriterStopped)?;
        committed.await.map_err(|_| LedgerError::WriterStopped)?
    }
}

/// Takes whatever is queued (up to [`MAX_BATCH`]), commits it in one
/// transaction, answers every waiter, repeats. While one batch commits the
/// next one gathers.
async fn write_batches(ledger: Ledger, mut rows: mpsc::Receiver<Pending>, metrics: Arc<Metrics>) {
    let mut batch: Vec<Pending> = Vec::with_capacity(MAX_BATCH);
    while rows.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let pending: Vec<HookCallRow> = batch.iter().map(|p| p.row.clone()).collect();
        #[allow(clippy::cast_precision_loss)]
        metrics.ledger_batch_rows.observe(pending.len() as f64);
        match tokio::time::timeout(BATCH_TIMEOUT, ledger.insert_hook_calls(&pending)).await {
            Ok(Ok(())) => {
                for p in batch.drain(..) {
                    let _ = p.done.send(Ok(()));
                }
            }
            Ok(Err(e)) => {
                // One bad row (a duplicate id from a replay) must not fail
                // the others: each gets its own attempt and its own answer,
                // on the path that also accepts a row already there.
                if batch.len() > 1 {
                    warn!(error = %e, rows = batch.len(), "ledger group commit failed; writing its rows one by one");
                }
                for p in batch.drain(..) {
                    let one = tokio::time::timeout(BATCH_TIMEOUT, ledger.insert_hook_call(&p.row))
                        .await
                        .unwrap_or(Err(LedgerError::TimedOut));
                    let _ = p.done.send(one);
                }
            }
            Err(_) => {
                for p in batch.drain(..) {
                    let _ = p.done.send(Err(LedgerError::TimedOut));
                }
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
