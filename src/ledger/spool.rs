//! The durable local queue behind the ledger: a hook call the ledger could
//! not take in time is written here (one file per row, fsync'ed and renamed
//! into place before the answer leaves), and the write-back for a delivered
//! VERIFIED is queued here too. A background task replays both, oldest
//! first, retrying with backoff; replays are idempotent by row id, so a
//! crash between the ledger insert and the file removal never duplicates.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tracing::{error, info, warn};

use super::{now_rfc3339, HookCallRow, Ledger};
use crate::legacy::LegacyDb;
use crate::metrics::Metrics;

/// First retry after a failed replay; doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between replay attempts while a dependency is down.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Idle rescan period (entries are also replayed as soon as they are queued).
const IDLE_RESCAN: Duration = Duration::from_secs(5);
/// How long one replayed statement may take.
const REPLAY_STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

const ROW_PREFIX: &str = "row-";
const WRITE_BACK_PREFIX: &str = "wb-";
const SUFFIX: &str = ".json";

/// A queued write-back: the username as Okta sent it (after configured
/// normalisation), to bind into the admin's statement.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct WriteBackJob {
    id: String,
    username: String,
}

/// The spool directory and its backlog.
pub struct Spool {
    dir: PathBuf,
    backlog: AtomicUsize,
    wake: Notify,
    metrics: Arc<Metrics>,
}

/// What one replay pass achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replayed {
    /// Nothing left.
    Empty,
    /// Something failed; entries remain.
    Stalled,
}

impl Spool {
    /// The spool in `dir` (created on the first write), counting what a
    /// previous run left there.
    pub fn open(dir: PathBuf, metrics: Arc<Metrics>) -> Arc<Self> {
        let pending = entries(&dir, ROW_PREFIX).len() + entries(&dir, WRITE_BACK_PREFIX).len();
        if pending > 0 {
            warn!(pending, dir = %dir.display(), "spool holds entries from a previous run; replaying them");
        }
        let spool = Arc::new(Self {
            dir,
            backlog: AtomicUsize::new(pending),
            wake: Notify::new(),
            metrics,
        });
        spool.publish();
        spool
    }

    /// Entries (ledger rows and write-backs) not yet replayed. For the
    /// readiness probe and the `passbridge_ledger_spool_backlog` gauge.
    pub fn backlog(&self) -> usize {
        self.backlog.load(Ordering::Relaxed)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `row` durably (returns once it is on disk).
    ///
    /// # Errors
    /// The directory or file cannot be written or synced.
    pub async fn spool_row(&self, row: &HookCallRow) -> io::Result<()> {
        let name = entry_name(ROW_PREFIX, &row.created_at, &row.id);
        self.write(name, serde_json::to_vec(row)?).await?;
        self.metrics.ledger_spooled.inc();
        Ok(())
    }

    /// Queues the write-back for `username` durably.
    ///
    /// # Errors
    /// The directory or file cannot be written or synced.
    pub async fn enqueue_write_back(&self, username: &str) -> io::Result<()> {
        let job = WriteBackJob {
            id: uuid::Uuid::new_v4().to_string(),
            username: username.to_owned(),
        };
        let name = entry_name(WRITE_BACK_PREFIX, &now_rfc3339(), &job.id);
        self.write(name, serde_json::to_vec(&job)?).await
    }

    async fn write(&self, name: String, bytes: Vec<u8>) -> io::Result<()> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || write_durably(&dir, &name, &bytes))
            .await
            .map_err(io::Error::other)??;
        self.backlog.fetch_add(1, Ordering::Relaxed);
        self.publish();
        self.wake.notify_one();
        Ok(())
    }

    fn publish(&self) {
        let n = i64::try_from(self.backlog()).unwrap_or(i64::MAX);
        self.metrics.ledger_spool_backlog.set(n);
    }

    fn remove(&self, path: &Path) {
        match fs::remove_file(path) {
            Ok(()) => {
                let _ = sync_dir(&self.dir);
                self.backlog.fetch_sub(1, Ordering::Relaxed);
                self.publish();
            }
            Err(e) => error!(error = %e, "cannot remove a replayed spool entry"),
        }
    }

    /// Moves an unreadable entry aside so it does not block the queue.
    fn quarantine(&self, path: &Path, why: &str) {
        self.metrics.dependency_error("spool");
        error!(why, file = %path.display(), "unreadable spool entry moved aside (.corrupt)");
        let mut aside = path.as_os_str().to_owned();
        aside.push(".corrupt");
        if fs::rename(path, aside).is_ok() {
            self.backlog.fetch_sub(1, Ordering::Relaxed);
            self.publish();
        }
    }

    /// One pass: ledger rows oldest first (stopping at the first failure, so
    /// order is kept), then write-backs.
    pub async fn replay_once(&self, ledger: &Ledger, legacy: &LegacyDb) -> Replayed {
        let mut stalled = false;
        for path in entries(&self.dir, ROW_PREFIX) {
            let row = match read_entry::<HookCallRow>(&path) {
                Ok(row) => row,
                Err(e) => {
                    self.quarantine(&path, &e);
                    continue;
                }
            };
            match tokio::time::timeout(REPLAY_STATEMENT_TIMEOUT, ledger.insert_hook_call(&row))
                .await
            {
                Ok(Ok(())) => {
                    self.remove(&path);
                    self.metrics.ledger_replayed.inc();
                }
                Ok(Err(e)) => {
                    warn!(error = %e, backlog = self.backlog(), "ledger still unavailable; spooled rows wait");
                    stalled = true;
                    break;
                }
                Err(_) => {
                    warn!(
                        backlog = self.backlog(),
                        "ledger replay timed out; spooled rows wait"
                    );
                    stalled = true;
                    break;
                }
            }
        }
        for path in entries(&self.dir, WRITE_BACK_PREFIX) {
            let job = match read_entry::<WriteBackJob>(&path) {
                Ok(job) => job,
                Err(e) => {
                    self.quarantine(&path, &e);
                    continue;
                }
            };
            match legacy.write_back(&job.username).await {
                Ok(Some(0)) => {
                    warn!("write-back statement matched no row");
                    self.remove(&path);
                }
                Ok(_) => self.remove(&path),
                Err(e) => {
                    self.metrics.dependency_error("write_back");
                    warn!(error = %e, "write-back after VERIFIED failed; will retry");
                    stalled = true;
                    break;
                }
            }
        }
        if stalled {
            Replayed::Stalled
        } else {
            Replayed::Empty
        }
    }

    /// Replays in the background for as long as the runtime lives.
    pub fn spawn_replayer(
        self: &Arc<Self>,
        ledger: Ledger,
        legacy: LegacyDb,
    ) -> tokio::task::JoinHandle<()> {
        let spool = Arc::clone(self);
        tokio::spawn(async move {
            let mut backoff = MIN_BACKOFF;
            loop {
                match spool.replay_once(&ledger, &legacy).await {
                    Replayed::Empty => {
                        if backoff > MIN_BACKOFF {
                            info!("spool replayed; ledger and write-backs caught up");
                        }
                        backoff = MIN_BACKOFF;
                        let _ = tokio::time::timeout(IDLE_RESCAN, spool.wake.notified()).await;
                    }
                    Replayed::Stalled => {
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
            }
        })
    }
}

/// `row-20261202005612123456-<uuid>.json`: names sort in write order.
fn entry_name(prefix: &str, stamp: &str, id: &str) -> String {
    let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
    format!("{prefix}{digits}-{id}{SUFFIX}")
}

/// Entries with `prefix`, in name (write) order. A missing directory is empty.
fn entries(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(read) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(SUFFIX))
        })
        .collect();
    found.sort();
    found
}

fn read_entry<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let bytes = fs::read(path).map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

/// Write to a temporary name, fsync, rename into place, fsync the directory:
/// after this returns the entry survives a crash or power cut, and a torn
/// write never appears under a real entry name.
fn write_durably(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{name}.tmp"));
    let written = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, dir.join(name))?;
        sync_dir(dir)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn entries_sort_in_write_order_and_ignore_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let a = entry_name(ROW_PREFIX, &now_rfc3339(), "b-id");
        let b = entry_name(ROW_PREFIX, &now_rfc3339(), "a-id");
        write_durably(dir.path(), &b, b"{}").unwrap();
        write_durably(dir.path(), &a, b"{}").unwrap();
        fs::write(dir.path().join(format!(".{a}.tmp")), b"x").unwrap();
        fs::write(dir.path().join("row-1-x.json.corrupt"), b"x").unwrap();
        let names: Vec<_> = entries(dir.path(), ROW_PREFIX)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![a, b]);
        assert!(entries(dir.path(), WRITE_BACK_PREFIX).is_empty());
        assert!(entries(&dir.path().join("missing"), ROW_PREFIX).is_empty());
    }

    #[test]
    fn a_path_under_a_file_cannot_be_spooled_to() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, b"x").unwrap();
        assert!(write_durably(&file.join("spool"), "row-1-x.json", b"{}").is_err());
    }
}
