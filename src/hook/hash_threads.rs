//! The threads hashes run on: their priority, their CPU clock, and the lane
//! pools a verification borrows to run argon2's lanes side by side.
//!
//! A lane pool of width `w` has exactly `w` threads and serves one
//! verification at a time, so the threads busy hashing are exactly the
//! widths of the running verifications; the verifier decides the widths
//! (from its idle slots), this module only runs them and measures.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rayon::{ThreadPool, ThreadPoolBuilder};

/// Threads below this much CPU time in one verification did not work on it
/// (waking for the CPU-clock reading costs microseconds).
const WORKED_CPU: Duration = Duration::from_millis(1);

/// How much nicer than the rest of the process a hash thread runs: the
/// async threads (auth, `overloaded` answers, ledger writes) take the CPU at
/// once when they need it, hashing gets everything else. Total hashing
/// throughput is unchanged while the answers' threads are mostly idle.
pub(crate) const WORKER_NICENESS: i32 = 10;

/// Lowers this thread's priority (Linux: niceness is per thread). Best
/// effort: a failure only leaves the thread at the process's priority.
pub(crate) fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    {
        let tid = rustix::thread::gettid();
        let now = rustix::process::getpriority_process(Some(tid)).unwrap_or(0);
        if let Err(e) = rustix::process::setpriority_process(Some(tid), now + WORKER_NICENESS) {
            tracing::debug!(error = %e, "could not lower a hash thread's priority");
        }
    }
}

/// CPU time of this thread so far (wall time where the platform has no
/// per-thread clock: then only a busy machine can skew the model).
pub(crate) fn thread_cpu() -> Duration {
    #[cfg(target_os = "linux")]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        Duration::new(
            u64::try_from(t.tv_sec).unwrap_or(0),
            u32::try_from(t.tv_nsec).unwrap_or(0),
        )
    }
    #[cfg(not(target_os = "linux"))]
    {
        static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        EPOCH.get_or_init(std::time::Instant::now).elapsed()
    }
}

/// What running one hash cost.
#[derive(Debug)]
pub(crate) struct Ran<R> {
    pub value: R,
    /// CPU time summed over every thread that worked on it: the cost, which
    /// the width does not change.
    pub cpu: Duration,
    /// Threads it ran on (1: the calling thread only).
    pub width: usize,
    /// Of those, how many did measurable work.
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests"))]
    pub worked: usize,
}

/// Idle lane pools by width, built on first need.
#[derive(Default)]
pub(crate) struct LanePools {
    idle: Mutex<HashMap<usize, Vec<Arc<ThreadPool>>>>,
    /// Threads hashing right now, counted from the pools' own sizes.
    busy: AtomicUsize,
    /// Most threads ever hashing at once.
    peak: AtomicUsize,
}

impl LanePools {
    /// Runs `hash` on the calling thread (`width` 1) or with its argon2
    /// lanes on a pool of `width` threads, the calling thread waiting. A
    /// pool that cannot be built (threads refused) means width 1.
    pub fn run<R>(&self, width: usize, hash: impl FnOnce() -> R) -> Ran<R> {
        let pool = if width > 1 { self.take(width) } else { None };
        let threads = pool.as_ref().map_or(1, |p| p.current_num_threads());
        let now = self.busy.fetch_add(threads, Ordering::SeqCst) + threads;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let mine = thread_cpu();
        let ran = match &pool {
            None => {
                let value = hash();
                let cpu = thread_cpu().saturating_sub(mine);
                Ran {
                    value,
                    cpu,
                    width: 1,
                    worked: 1,
                }
            }
            Some(pool) => {
                let before = pool.broadcast(|_| thread_cpu());
                let value = crate::hash::lanes::with_lanes(pool, hash);
                let after = pool.broadcast(|_| thread_cpu());
                let lanes: Vec<Duration> = after
                    .iter()
                    .zip(&before)
                    .map(|(a, b)| a.saturating_sub(*b))
                    .collect();
                let own = thread_cpu().saturating_sub(mine);
                Ran {
                    value,
                    cpu: lanes.iter().sum::<Duration>() + own,
                    width: threads,
                    worked: lanes.iter().filter(|c| **c >= WORKED_CPU).count()
                        + usize::from(own >= WORKED_CPU),
                }
            }
        };
        self.busy.fetch_sub(threads, Ordering::SeqCst);
        if let Some(pool) = pool {
            self.give_back(width, pool);
        }
        ran
    }

    /// Most threads that were ever hashing at once through [`run`](Self::run).
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests"))]
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    fn take(&self, width: usize) -> Option<Arc<ThreadPool>> {
        if let Some(pool) = lock(&self.idle).get_mut(&width).and_then(Vec::pop) {
            return Some(pool);
        }
        match ThreadPoolBuilder::new()
            .num_threads(width)
            .thread_name(move |i| format!("passbridge-lanes-{width}-{i}"))
            .start_handler(|_| lower_this_threads_priority())
            .build()
        {
            Ok(pool) => Some(Arc::new(pool)),
            Err(e) => {
                tracing::warn!(error = %e, width, "no lane pool: argon2 lanes run one after the other");
                None
            }
        }
    }

    fn give_back(&self, width: usize, pool: Arc<ThreadPool>) {
        lock(&self.idle).entry(width).or_default().push(pool);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The narrowest width that finishes `lanes` lanes as soon as `at_most`
/// threads would: rayon hands each thread whole lanes, so 4 lanes take two
/// rounds on 2 or 3 threads alike, and the third thread would be wasted.
pub(crate) fn useful_width(lanes: usize, at_most: usize) -> usize {
    let at_most = at_most.clamp(1, lanes.max(1));
    let rounds = lanes.div_ceil(at_most);
    lanes.div_ceil(rounds)
}

/// Share of the sequential wall time a hash of `lanes` lanes takes on
/// `width` threads: the rounds of lanes each thread runs, over all lanes.
pub(crate) fn wall_share(lanes: usize, width: usize) -> f64 {
    if width <= 1 || lanes <= 1 {
        return 1.0;
    }
    lanes.div_ceil(width) as f64 / lanes as f64
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
pub(crate) mod tests {
    use super::*;
    use crate::hash::{Limits, StoredHash, Verdict};
    use secrecy::SecretString;

    /// The shape, m=65536 t=3 p=4 (made by argon2-cffi 25.1.0, from
    /// the hash corpus), password "password123".
    pub(crate) const P4: &str = "$argon2id$v=19$m=65536,t=3,p=4$o+zslGTgw5jNSEb9ByqKXg$ZntlkZP7pVMIXbcr5xXJYvyouXlqtxfPRLs/Lzy4Ok0";

    fn verify_p4(password: &str) -> Verdict {
        StoredHash::parse(P4, &Limits::default())
            .unwrap()
            .verify(&SecretString::from(password.to_owned()), &Limits::default())
            .unwrap()
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_worker_thread_runs_nicer_than_the_process() {
        let base = rustix::process::getpriority_process(None).unwrap();
        let nicer = std::thread::spawn(|| {
            lower_this_threads_priority();
            rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(nicer, (base + WORKER_NICENESS).min(19));
        // The calling thread is untouched.
        assert_eq!(
            rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap(),
            base
        );
    }

    #[test]
    fn thread_cpu_time_does_not_count_sleep() {
        let cpu = thread_cpu();
        std::thread::sleep(Duration::from_millis(50));
        assert!(thread_cpu().saturating_sub(cpu) < Duration::from_millis(25));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn lane_threads_run_as_nice_as_the_workers() {
        let base = rustix::process::getpriority_process(None).unwrap();
        let pools = LanePools::default();
        let pool = pools.take(2).unwrap();
        let nice = pool.broadcast(|_| {
            rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap()
        });
        assert_eq!(nice, vec![(base + WORKER_NICENESS).min(19); 2]);
    }

    #[test]
    fn widths_give_whole_rounds_of_lanes() {
        assert_eq!(useful_width(4, 1), 1);
        assert_eq!(useful_width(4, 2), 2);
        assert_eq!(useful_width(4, 3), 2, "the third thread would idle");
        assert_eq!(useful_width(4, 8), 4);
        assert_eq!(useful_width(3, 2), 2);
        assert_eq!(useful_width(1, 4), 1);
        assert!((wall_share(4, 4) - 0.25).abs() < 1e-9);
        assert!((wall_share(4, 2) - 0.5).abs() < 1e-9);
        assert!((wall_share(3, 2) - 2.0 / 3.0).abs() < 1e-9);
        assert!((wall_share(4, 1) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_lent_pool_spreads_the_lanes_and_the_cost_is_their_sum() {
        let pools = LanePools::default();
        let sequential = pools.run(1, || verify_p4("password123"));
        assert_eq!(sequential.value, Verdict::Match);
        assert_eq!((sequential.width, sequential.worked), (1, 1));
        let wide = pools.run(4, || verify_p4("password123"));
        assert_eq!(wide.value, Verdict::Match);
        assert_eq!(wide.width, 4);
        // Several threads did the lanes (the OS may time-slice them on
        // fewer cores, but each one computes its own lane).
        assert!(wide.worked >= 2, "{wide:?}");
        // Same work, so about the same CPU: summed, not one thread's share.
        assert!(
            wide.cpu.as_secs_f64() > 0.6 * sequential.cpu.as_secs_f64(),
            "{wide:?} vs {sequential:?}"
        );
        assert_eq!(
            pools.run(4, || verify_p4("password124")).value,
            Verdict::Mismatch
        );
        // The pool was reused, not rebuilt: one idle pool of width 4.
        assert_eq!(lock(&pools.idle).get(&4).map(Vec::len), Some(1));
        assert_eq!(pools.peak(), 4);
    }
}
