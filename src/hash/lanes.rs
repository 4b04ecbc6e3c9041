//! Where argon2's lanes run. With the crate's `parallel` feature, the lanes
//! of a `p > 1` hash go to the rayon pool of the calling thread, or, from
//! any other thread, to rayon's global pool (one unmanaged thread per core,
//! outside every bound). This module owns the rule that prevents that:
//! lanes run on the calling thread alone, one after the other, unless the
//! caller lent a pool for the call with [`with_lanes`] (the verifier does,
//! sized to the threads it may borrow). It never decides how wide a pool is.

use std::cell::RefCell;
use std::sync::Arc;

use rayon::{ThreadPool, ThreadPoolBuilder};

thread_local! {
    /// The pool lent for the current [`with_lanes`] call, if any.
    static LENT: RefCell<Option<Arc<ThreadPool>>> = const { RefCell::new(None) };
    /// A one-thread pool whose only thread is this one: installing it runs
    /// the lanes here and never wakes the global pool. Built on first use
    /// (rayon keeps its small registry for the thread's lifetime); `None`
    /// when rayon refused to adopt the thread.
    static ALONE: Option<ThreadPool> = ThreadPoolBuilder::new()
        .num_threads(1)
        .use_current_thread()
        .build()
        .ok();
}

/// Runs `f` with `pool` lent for the lanes of the hashes `f` computes on
/// this thread. Each hash's memory and its non-lane work stay on this thread.
pub fn with_lanes<R>(pool: &Arc<ThreadPool>, f: impl FnOnce() -> R) -> R {
    /// Puts back what was lent before, also when `f` panics.
    struct Restore(Option<Arc<ThreadPool>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            LENT.with(|lent| *lent.borrow_mut() = previous);
        }
    }
    let previous = LENT.with(|lent| lent.borrow_mut().replace(Arc::clone(pool)));
    let _restore = Restore(previous);
    f()
}

/// Runs `lanes` (the part of a hash that fills memory lane by lane) on the
/// lent pool, or on this thread alone.
pub(crate) fn run_lanes<R: Send>(lanes: impl FnOnce() -> R + Send) -> R {
    let lent = LENT.with(|lent| lent.borrow().clone());
    if let Some(pool) = lent {
        return pool.install(lanes);
    }
    if rayon::current_thread_index().is_some() {
        // A rayon thread (this thread's own one-thread pool, or a pool the
        // caller runs us in): rayon keeps the lanes in that pool.
        return lanes();
    }
    ALONE.with(|alone| match alone {
        Some(pool) => pool.install(lanes),
        // Rayon would not adopt this thread: the hash is still right, its
        // lanes just run on rayon's global pool.
        None => lanes(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn thread_of(f: impl FnOnce(&dyn Fn() -> std::thread::ThreadId)) {
        f(&|| run_lanes(|| std::thread::current().id()));
    }

    #[test]
    fn lanes_stay_on_the_calling_thread_unless_a_pool_is_lent() {
        std::thread::spawn(|| {
            let me = std::thread::current().id();
            thread_of(|ran_on| assert_eq!(ran_on(), me, "alone: this thread"));
            let pool = Arc::new(ThreadPoolBuilder::new().num_threads(2).build().unwrap());
            with_lanes(&pool, || {
                thread_of(|ran_on| assert_ne!(ran_on(), me, "lent: the pool's threads"));
            });
            thread_of(|ran_on| assert_eq!(ran_on(), me, "returned after the call"));
        })
        .join()
        .unwrap();
    }
}
