//! Admission control for password verification: a bounded queue in front of
//! a fixed pool of hash worker threads.
//!
//! Every verification has a deadline. Before it is queued, the expected
//! queue wait plus its own estimated cost must fit before the deadline, or it
//! is refused at once (`overloaded`); a hash whose estimate alone exceeds the
//! budget is refused outright (`cost_too_high`). A worker drops a job that
//! can no longer finish in time instead of hashing it, so under any load the
//! workers only do work whose result is used (goodput stays at full speed).
//! Running hashes cannot be interrupted (the crates are synchronous): the
//! admission check is what keeps a ceiling row from pinning a core.
//!
//! Costs are learned in CPU time of the hashing thread, which other load on
//! the machine cannot inflate: per shape (scheme + parameters) a moving
//! average; for a shape never seen, the family's CPU time per work unit (see
//! [`crate::hash::Work`]), measured once on a cheap calibration hash. A
//! machine-wide moving average of wall time over CPU time (the slowdown)
//! turns a cost into the wall time the queue plans with. `cost_too_high`
//! judges the cost alone, so a busy moment can never make a shape look
//! permanently too costly (a refused shape is never measured again).
//!
//! Unknown users are verified against a look-alike of recently seen rows
//! (same scheme and parameters, random salt and digest), so their answers
//! cost what real ones do.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::Rng;
use secrecy::SecretString;
use tokio::sync::oneshot;

use super::hash_threads::{
    lower_this_threads_priority, thread_cpu, useful_width, wall_share, LanePools,
};
use crate::config::{Argon2Lanes, Settings};
use crate::hash::{HashError, Hints, Limits, StoredHash, Verdict, Work};
use crate::metrics::{Metrics, SchemeLabels};

/// Verifications shorter than this in CPU time do not move the slowdown
/// (clock granularity and scheduling noise dominate them).
const SLOWDOWN_MIN_CPU: Duration = Duration::from_millis(2);
/// Bounds of the slowdown: never faster than the CPU, never so slow that
/// one bad measurement refuses everything for long.
const SLOWDOWN_RANGE: (f64, f64) = (1.0, 20.0);
/// Weight of a new, faster measurement in the moving averages.
const EWMA_WEIGHT: f64 = 0.2;
/// Weight of a new, slower one.
const EWMA_UP_WEIGHT: f64 = 0.5;
/// Shapes remembered by the estimator (rows come from the legacy table, so
/// this only caps pathological tables).
const MAX_SHAPES: usize = 4096;
/// Recent real lookups whose shape the unknown-user path imitates.
const RECENT_SHAPES: usize = 32;
/// Admission plans for hashes running this much slower than estimated (a
/// busy machine), so admitted work rarely outlives its deadline.
const SAFETY: f64 = 1.2;
/// How often a job refused on its estimate alone may run anyway on an idle
/// worker, to re-measure.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// Hashes the model knows to cost at most this much CPU (a salted SHA, an
/// MD5) run on the calling thread: handing one to a worker and back (two
/// wake-ups, two context switches) costs more than hashing it, and it is no
/// heavier than parsing the request. Anything dearer, or not yet measured,
/// goes through the queue.
const INLINE_AT_MOST: Duration = Duration::from_micros(20);
/// bcrypt cost of the look-alike used before any real row was seen.
const DEFAULT_DUMMY_BCRYPT_COST: u32 = 10;
/// Metric label of unknown-user verifications.
pub const DUMMY_LABEL: &str = "dummy";

/// How a verification request ended.
#[derive(Debug)]
pub enum Checked {
    /// It ran; the verdict or the hash's own error.
    Done(Result<Verdict, HashError>),
    /// Refused before hashing: it could not finish before the deadline.
    Overloaded,
    /// Refused before hashing: its estimated cost alone exceeds the budget.
    TooCostly,
    /// Admitted, but no answer came back before the deadline.
    TimedOut,
}

/// Learned cost per shape and per family.
#[derive(Default)]
pub struct Estimator {
    inner: Mutex<EstimatorState>,
}

#[derive(Default)]
struct EstimatorState {
    /// CPU seconds, by shape key.
    shapes: HashMap<String, f64>,
    /// CPU seconds per work unit, by family.
    families: HashMap<String, f64>,
    /// Wall time over CPU time of recent verifications (`None`: none yet).
    slowdown: Option<f64>,
}

/// Rises faster than it falls: admitting too much costs timeouts, too little
/// only a few `overloaded` answers.
fn ewma(old: Option<f64>, new: f64) -> f64 {
    match old {
        Some(old) if new > old => old + EWMA_UP_WEIGHT * (new - old),
        Some(old) => old + EWMA_WEIGHT * (new - old),
        None => new,
    }
}

impl Estimator {
    fn lock(&self) -> MutexGuard<'_, EstimatorState> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Expected CPU time of a hash of `key`'s shape, `None` when neither the
    /// shape nor its family was ever measured.
    pub fn estimate(&self, key: &str, work: &Work) -> Option<Duration> {
        let state = self.lock();
        let secs = state
            .shapes
            .get(key)
            .copied()
            .or_else(|| state.families.get(&work.family).map(|spu| spu * work.units))?;
        Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
    }

    /// Folds a measured verification into the averages: `cpu` summed over
    /// the threads it ran on (the cost, whatever the width), `wall` in all,
    /// and `share`, the part of its cost on its longest thread (1 when it
    /// ran on one thread, 1/4 for four lanes on four).
    pub fn observe(&self, key: &str, work: &Work, cpu: Duration, wall: Duration, share: f64) {
        let secs = cpu.as_secs_f64();
        let mut state = self.lock();
        if cpu >= SLOWDOWN_MIN_CPU {
            // Against the wall time the lanes should have taken: lanes
            // spread over idle cores are not a faster machine.
            let expected = secs * share.clamp(f64::MIN_POSITIVE, 1.0);
            let ratio = (wall.as_secs_f64() / expected).clamp(SLOWDOWN_RANGE.0, SLOWDOWN_RANGE.1);
            state.slowdown = Some(ewma(state.slowdown, ratio));
        }
        if state.shapes.len() >= MAX_SHAPES && !state.shapes.contains_key(key) {
            state.shapes.clear();
        }
        let shape = ewma(state.shapes.get(key).copied(), secs);
        state.shapes.insert(key.to_owned(), shape);
        if work.units > 0.0 {
            let spu = ewma(state.families.get(&work.family).copied(), secs / work.units);
            state.families.insert(work.family.clone(), spu);
        }
    }

    /// Sets a family's time per unit from a calibration (not a shape average).
    fn calibrate(&self, work: &Work, took: Duration) {
        if work.units > 0.0 {
            let spu = took.as_secs_f64() / work.units;
            self.lock().families.insert(work.family.clone(), spu);
        }
    }

    fn family(&self, family: &str) -> Option<f64> {
        self.lock().families.get(family).copied()
    }

    /// Wall time per CPU time to plan with: measured, or `assumed` before
    /// any verification was measured.
    fn slowdown(&self, assumed: f64) -> f64 {
        self.lock().slowdown.unwrap_or(assumed)
    }

    fn set_family(&self, family: &str, spu: f64) {
        self.lock().families.insert(family.to_owned(), spu);
    }
}

/// Seconds per work unit by family, measured on a cheap hash: a property of
/// the machine, so measured once per process and shared by every service in it.
fn machine_calibrations() -> &'static Mutex<HashMap<String, f64>> {
    static CALIBRATIONS: std::sync::OnceLock<Mutex<HashMap<String, f64>>> =
        std::sync::OnceLock::new();
    CALIBRATIONS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// CPU time of one verification of `cheap`: the least of three runs.
/// Blocking.
fn calibration_cost(cheap: &StoredHash, limits: &Limits) -> Duration {
    let password = SecretString::from("calibration".to_owned());
    (0..3)
        .map(|_| {
            let started = thread_cpu();
            let _ = cheap.verify(&password, limits);
            thread_cpu().saturating_sub(started)
        })
        .min()
        .unwrap_or_default()
}

/// Measures `cheap` and records its family's CPU time per unit. Blocking.
fn calibrate_blocking(cheap: &StoredHash, limits: &Limits) -> (String, f64) {
    let took = calibration_cost(cheap, limits);
    let work = cheap.work();
    let spu = took.as_secs_f64() / work.units.max(1.0);
    lock(machine_calibrations()).insert(work.family.clone(), spu);
    (work.family, spu)
}

/// Which label a verification is counted under.
#[derive(Clone, Copy)]
enum Label {
    Scheme(&'static str),
    Dummy,
}

impl Label {
    fn as_str(self) -> &'static str {
        match self {
            Label::Scheme(s) => s,
            Label::Dummy => DUMMY_LABEL,
        }
    }
}

enum Finished {
    Verdict(Result<Verdict, HashError>),
    Dropped,
}

struct Job {
    stored: Arc<StoredHash>,
    password: SecretString,
    deadline: Instant,
    estimate: Duration,
    key: String,
    work: Work,
    label: Label,
    span: tracing::Span,
    reply: oneshot::Sender<Finished>,
    /// Admitted to re-measure a shape: run even if it may miss its deadline.
    probe: bool,
    /// Lanes the hash could run side by side ([`StoredHash::lanes`]).
    lanes: usize,
}

/// A job a worker is running.
#[derive(Clone, Copy)]
struct Running {
    started: Instant,
    /// Its expected wall time at its width.
    estimate: Duration,
    /// Verification slots it holds: the worker's own and those it borrowed.
    width: usize,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// Sum of the estimates of queued jobs.
    queued: Duration,
    /// Per worker: the job it runs. One worker per verification slot.
    running: Vec<Option<Running>>,
    closed: bool,
}

impl Queue {
    /// Verification slots held by running jobs (borrowed ones included).
    fn busy(&self) -> usize {
        self.running.iter().flatten().map(|r| r.width).sum()
    }

    /// Slots free for a new job right now.
    fn idle(&self) -> usize {
        self.running.len().saturating_sub(self.busy())
    }

    /// Expected wait before a newly queued job starts: the queued jobs are
    /// handed, in order, to whichever slot frees up first (a job's borrowed
    /// slots free up with it).
    fn expected_wait(&self, now: Instant) -> Duration {
        let mut free_in: Vec<Duration> = self
            .running
            .iter()
            .flatten()
            .flat_map(|r| {
                let left = r
                    .estimate
                    .saturating_sub(now.saturating_duration_since(r.started));
                std::iter::repeat_n(left, r.width)
            })
            .collect();
        free_in.resize(free_in.len().max(self.running.len()), Duration::ZERO);
        if free_in.is_empty() {
            return self.queued;
        }
        for job in &self.jobs {
            if let Some(first) = free_in.iter_mut().min() {
                *first += job.estimate;
            }
        }
        free_in.into_iter().min().unwrap_or_default()
    }
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    estimator: Estimator,
    metrics: Arc<Metrics>,
    limits: Limits,
    /// Pools argon2 lanes borrow idle slots' threads from.
    lanes: LanePools,
    /// Most threads one verification may use (`hash.argon2_lanes`, cores,
    /// slots).
    max_width: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Look-alikes for the unknown-user path.
struct Dummies {
    /// `hook.dummy_hash`: always this shape.
    fixed: Option<Arc<StoredHash>>,
    /// Until a real row was seen.
    default: Arc<StoredHash>,
    /// One entry per recent real lookup (so frequent shapes dominate).
    recent: Mutex<VecDeque<Arc<StoredHash>>>,
    /// Look-alikes made so far, by the real row's shape key.
    by_shape: Mutex<HashMap<String, Arc<StoredHash>>>,
}

/// The verification scheduler. One per service, shared by all requests.
pub struct Verifier {
    shared: Arc<Shared>,
    dummies: Dummies,
    budget: Duration,
    /// Hints the legacy rows are parsed with (salt position, encodings).
    params: BTreeMap<String, String>,
    /// One calibration at a time, so a burst of first uses measures once.
    calibrating: tokio::sync::Mutex<()>,
    /// When the last re-measuring probe was admitted.
    last_probe: Mutex<Option<Instant>>,
    /// Workers per core: the slowdown assumed until one is measured.
    contention: f64,
    /// [`INLINE_AT_MOST`] (tests raise it: an unoptimised build's salted
    /// SHA can cost more than 20 µs).
    inline_at_most: Duration,
}

impl Drop for Verifier {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_all();
    }
}

impl Verifier {
    /// Starts `hook.max_concurrent_verifications` worker threads.
    ///
    /// # Errors
    /// `hook.dummy_hash` is not a hash passbridge can parse, or a thread
    /// cannot be spawned.
    pub fn new(settings: &Settings, metrics: Arc<Metrics>) -> anyhow::Result<Arc<Self>> {
        let workers = settings.hook.max_concurrent_verifications.max(1);
        let limits = settings.hash.limits;
        let params = settings.legacy.params.clone();
        let fixed = match settings.hook.dummy_hash.as_deref() {
            Some(value) => Some(Arc::new(
                dummy_from_value(settings, value).context("hook.dummy_hash")?,
            )),
            None => None,
        };
        let default = StoredHash::bcrypt_look_alike(DEFAULT_DUMMY_BCRYPT_COST)
            .context("creating the dummy hash")?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                running: vec![None; workers],
                ..Queue::default()
            }),
            ready: Condvar::new(),
            estimator: Estimator::default(),
            metrics,
            limits,
            lanes: LanePools::default(),
            max_width: max_width(settings.hash.argon2_lanes, workers),
        });
        // The default dummy is bcrypt: measure the family before the first
        // request needs it, off the async workers, without delaying start-up.
        if !lock(machine_calibrations()).contains_key("bcrypt") {
            if let Some(cheap) = default.calibration(&BTreeMap::new()) {
                let _ = std::thread::Builder::new()
                    .name("passbridge-calibrate".to_owned())
                    .spawn(move || calibrate_blocking(&cheap, &Limits::default()));
            }
        }
        for index in 0..workers {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("passbridge-verify-{index}"))
                .spawn(move || work(&shared, index))
                .context("starting a verification worker")?;
        }
        Ok(Arc::new(Self {
            shared,
            dummies: Dummies {
                fixed,
                default: Arc::new(default),
                recent: Mutex::new(VecDeque::new()),
                by_shape: Mutex::new(HashMap::new()),
            },
            budget: settings.hook.budget,
            inline_at_most: INLINE_AT_MOST,
            params,
            calibrating: tokio::sync::Mutex::new(()),
            last_probe: Mutex::new(None),
            contention: {
                let cores = std::thread::available_parallelism().map_or(1, usize::from);
                (workers as f64 / cores as f64).max(1.0)
            },
        }))
    }

    /// Whether the queue alone already reaches past `deadline`: then no
    /// verification could finish in time, and the request is refused before
    /// any lookup or ledger work (counted in `passbridge_hook_overloaded_total`).
    /// It depends on the load only, never on the login, so it reveals nothing.
    pub fn shed_before_lookup(&self, deadline: Instant) -> bool {
        let now = Instant::now();
        let backlogged = now + self.shared.lock().expected_wait(now) >= deadline;
        if backlogged {
            self.shared.metrics.hook_overloaded.inc();
        }
        backlogged
    }

    /// The learned costs.
    pub fn estimator(&self) -> &Estimator {
        &self.shared.estimator
    }

    /// Verifies `password` against a real row, within `deadline`.
    pub async fn verify(
        &self,
        stored: Arc<StoredHash>,
        password: SecretString,
        deadline: Instant,
    ) -> Checked {
        let label = Label::Scheme(stored.scheme().as_str());
        self.submit(stored, password, deadline, label).await
    }

    /// Verifies `password` against a look-alike of recent real rows (or the
    /// `hook.dummy_hash` shape), through the same queue and admission, so an
    /// unknown user, a throttled answer and a wrong password cost the same.
    /// The verdict is meaningless; callers answer UNVERIFIED whatever it is.
    pub async fn verify_dummy(&self, password: SecretString, deadline: Instant) -> Checked {
        let dummy = self.dummy();
        self.submit(dummy, password, deadline, Label::Dummy).await
    }

    /// The hash the next unknown-user verification would use.
    pub fn dummy(&self) -> Arc<StoredHash> {
        if let Some(fixed) = &self.dummies.fixed {
            return Arc::clone(fixed);
        }
        let recent = lock(&self.dummies.recent);
        if recent.is_empty() {
            return Arc::clone(&self.dummies.default);
        }
        let pick = rand::thread_rng().gen_range(0..recent.len());
        recent
            .get(pick)
            .map_or_else(|| Arc::clone(&self.dummies.default), Arc::clone)
    }

    /// Remembers the shape of a real row looked up, for the unknown-user path.
    /// Making a look-alike only parses a generated string (no hashing). A
    /// shape the model cannot rebuild (an LDAP `{SSHA}`, a phpass, a
    /// md5-crypt...) uses the real row itself as its stand-in: a wrong
    /// password costs the same against it, and a dummy's verdict is never
    /// read, so an unknown login still costs what a known one costs.
    pub fn note_real(&self, stored: &Arc<StoredHash>) {
        if self.dummies.fixed.is_some() {
            return;
        }
        let key = stored.shape_key();
        let dummy = {
            let mut by_shape = lock(&self.dummies.by_shape);
            match by_shape.get(&key) {
                Some(d) => Arc::clone(d),
                None => {
                    let made = stored
                        .look_alike(&self.params, &self.shared.limits)
                        .map_or_else(|| Arc::clone(stored), Arc::new);
                    if by_shape.len() >= MAX_SHAPES {
                        by_shape.clear();
                    }
                    by_shape.insert(key, Arc::clone(&made));
                    made
                }
            }
        };
        let mut recent = lock(&self.dummies.recent);
        if recent.len() >= RECENT_SHAPES {
            recent.pop_front();
        }
        recent.push_back(dummy);
    }

    /// The estimated CPU time of `stored`, calibrating its family first if
    /// it was never measured. `None` when the model cannot tell before running it.
    pub async fn estimate(&self, stored: &StoredHash) -> Option<Duration> {
        let key = stored.shape_key();
        let work = stored.work();
        let estimator = &self.shared.estimator;
        if let Some(est) = estimator.estimate(&key, &work) {
            return Some(est);
        }
        let cheap = stored.calibration(&self.params)?;
        let _one_at_a_time = self.calibrating.lock().await;
        let known = lock(machine_calibrations()).get(&work.family).copied();
        if let Some(spu) = known {
            estimator.set_family(&work.family, spu);
        } else if estimator.family(&work.family).is_none() {
            let limits = self.shared.limits;
            let measured =
                tokio::task::spawn_blocking(move || calibrate_blocking(&cheap, &limits)).await;
            if let Ok((family, spu)) = measured {
                estimator.set_family(&family, spu);
            }
        }
        estimator.estimate(&key, &work)
    }

    /// At most one probe per second.
    fn take_probe(&self, now: Instant) -> bool {
        let mut last = lock(&self.last_probe);
        if last.is_some_and(|t| now.saturating_duration_since(t) < PROBE_INTERVAL) {
            return false;
        }
        *last = Some(now);
        true
    }

    async fn submit(
        &self,
        stored: Arc<StoredHash>,
        password: SecretString,
        deadline: Instant,
        label: Label,
    ) -> Checked {
        // Unknown to the model: admitted and measured on first use.
        let cost = self.estimate(&stored).await.unwrap_or(Duration::ZERO);
        if cost > self.budget {
            return Checked::TooCostly;
        }
        if !cost.is_zero() && cost <= self.inline_at_most && stored.lanes() <= 1 {
            return Checked::Done(self.verify_here(&stored, &password, label));
        }
        // What the queue plans with: the cost as the machine runs it now.
        let estimate = cost.mul_f64(self.shared.estimator.slowdown(self.contention));
        let (reply, answer) = oneshot::channel();
        let probe;
        {
            let mut queue = self.shared.lock();
            let now = Instant::now();
            let wait = queue.expected_wait(now);
            let fits = now + wait + estimate.mul_f64(SAFETY) <= deadline;
            // With a worker idle and nothing queued, one job per second runs
            // anyway and re-measures: a stale estimate cannot refuse all work.
            let idle = queue.jobs.is_empty() && queue.idle() > 0;
            probe = !fits && idle && self.take_probe(now);
            if !fits && !probe {
                drop(queue);
                tracing::debug!(
                    estimate_ms = estimate.as_millis(),
                    wait_ms = wait.as_millis(),
                    remaining_ms = deadline.saturating_duration_since(now).as_millis(),
                    "verification refused: it cannot finish before the deadline"
                );
                self.shared.metrics.hook_overloaded.inc();
                return Checked::Overloaded;
            }
            queue.queued += estimate;
            queue.jobs.push_back(Job {
                key: stored.shape_key(),
                work: stored.work(),
                lanes: stored.lanes(),
                stored,
                password,
                deadline,
                estimate,
                label,
                span: tracing::Span::current(),
                reply,
                probe,
            });
        }
        self.shared.metrics.verifications_in_flight.inc();
        self.shared.ready.notify_one();
        match tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), answer).await {
            Ok(Ok(Finished::Verdict(v))) => Checked::Done(v),
            Ok(Ok(Finished::Dropped)) => Checked::Overloaded,
            Ok(Err(_)) | Err(_) => Checked::TimedOut,
        }
    }
}

impl Verifier {
    /// A hash cheaper than its hand-off, verified on this thread and
    /// measured and counted like a worker's.
    fn verify_here(
        &self,
        stored: &StoredHash,
        password: &SecretString,
        label: Label,
    ) -> Result<Verdict, HashError> {
        let shared = &self.shared;
        let started = Instant::now();
        let cpu_before = thread_cpu();
        let verdict = stored.verify(password, &shared.limits);
        let cpu = thread_cpu().saturating_sub(cpu_before);
        let took = started.elapsed();
        shared
            .estimator
            .observe(&stored.shape_key(), &stored.work(), cpu, took, 1.0);
        shared
            .metrics
            .verify_seconds
            .get_or_create(&SchemeLabels {
                scheme: label.as_str().to_owned(),
            })
            .observe(took.as_secs_f64());
        verdict
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `hook.dummy_hash`: parsed like a legacy row (the configured scheme and
/// params), then replaced by a fresh look-alike where the model can make one.
fn dummy_from_value(settings: &Settings, value: &str) -> anyhow::Result<StoredHash> {
    let limits = settings.hash.limits;
    let scheme = settings.legacy.scheme.as_deref();
    let mut hints = Hints {
        salt: None,
        username: Some("dummy".to_owned()),
        params: settings.legacy.params.clone(),
    };
    let parsed = StoredHash::parse_with(scheme, value, &hints, &limits).or_else(|_| {
        // A salted scheme keeps its salt in another column: any salt will do.
        hints.salt = Some("dummysalt".to_owned());
        StoredHash::parse_with(scheme, value, &hints, &limits)
    });
    let parsed = parsed.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(parsed
        .look_alike(&settings.legacy.params, &limits)
        .unwrap_or(parsed))
}

/// Most threads one verification may use: `hash.argon2_lanes`, never more
/// than the cores or the verification slots.
fn max_width(lanes: Argon2Lanes, slots: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    match lanes {
        Argon2Lanes::Off => 1,
        Argon2Lanes::Auto => cores.min(slots),
        Argon2Lanes::AtMost(n) => n.min(slots),
    }
    .max(1)
}

/// The threads `job` runs on, given the queue after it was taken: the
/// worker's own slot, plus idle ones for its lanes only while no other job
/// waits for them (a waiting job always gets a slot before a lane does).
fn width_for(job: &Job, queue: &Queue, max_width: usize) -> usize {
    if job.lanes <= 1 || !queue.jobs.is_empty() {
        return 1;
    }
    let at_most = max_width.min(1 + queue.idle().saturating_sub(1));
    useful_width(job.lanes, at_most)
}

/// One worker: takes jobs in order while a slot is free, drops those that
/// can no longer finish in time, hashes the rest (with their lanes on
/// borrowed idle slots where it can) and learns from every measurement.
fn work(shared: &Shared, index: usize) {
    lower_this_threads_priority();
    loop {
        let (job, width) = {
            let mut queue = shared.lock();
            loop {
                if queue.closed {
                    return;
                }
                // A slot may be lent to another job's lanes: then this
                // worker waits for it even with jobs queued.
                if queue.idle() > 0 {
                    if let Some(job) = queue.jobs.pop_front() {
                        queue.queued = queue.queued.saturating_sub(job.estimate);
                        let width = width_for(&job, &queue, shared.max_width);
                        let running = Running {
                            started: Instant::now(),
                            estimate: job.estimate.mul_f64(wall_share(job.lanes, width)),
                            width,
                        };
                        if let Some(slot) = queue.running.get_mut(index) {
                            *slot = Some(running);
                        }
                        break (job, width);
                    }
                }
                queue = shared
                    .ready
                    .wait(queue)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        };
        let started = Instant::now();
        // Judged on the sequential estimate: conservative for a wide job.
        let finished = if !job.probe && started + job.estimate.mul_f64(SAFETY) > job.deadline {
            shared.metrics.hook_overloaded.inc();
            Finished::Dropped
        } else {
            let ran = shared.lanes.run(width, || {
                job.span
                    .in_scope(|| job.stored.verify(&job.password, &shared.limits))
            });
            let took = started.elapsed();
            let share = wall_share(job.lanes, ran.width);
            shared
                .estimator
                .observe(&job.key, &job.work, ran.cpu, took, share);
            if ran.width > 1 {
                shared
                    .metrics
                    .verify_lanes_borrowed
                    .inc_by(u64::try_from(ran.width - 1).unwrap_or(0));
            }
            // Counted whether or not the caller is still waiting.
            shared
                .metrics
                .verify_seconds
                .get_or_create(&SchemeLabels {
                    scheme: job.label.as_str().to_owned(),
                })
                .observe(took.as_secs_f64());
            Finished::Verdict(ran.value)
        };
        shared.metrics.verifications_in_flight.dec();
        if let Some(slot) = shared.lock().running.get_mut(index) {
            *slot = None;
        }
        if width > 1 {
            // Its borrowed slots are free again: workers waiting for one
            // may now take queued jobs.
            shared.ready.notify_all();
        }
        let _ = job.reply.send(finished);
    }
}

/// Which shapes of a legacy table can be verified within the budget on this
/// machine, by the same cost model the hook admits with (`hash audit`,
/// `config check`).
#[derive(Default)]
pub struct BudgetFit {
    shapes: BTreeMap<String, (Work, u64)>,
    /// One cheap hash per family, to calibrate it.
    calibrations: BTreeMap<String, StoredHash>,
}

/// One shape's verdict.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ShapeFit {
    /// Scheme and parameters (no salt or digest).
    pub shape: String,
    /// Rows of this shape.
    pub rows: u64,
    /// Estimated verification time in milliseconds, when the model knows the family.
    pub estimate_ms: Option<f64>,
    /// Whether it fits `hook.budget` (`None`: not modelled; measured on first use).
    pub fits: Option<bool>,
}

impl BudgetFit {
    /// Counts a parsed row.
    pub fn note(&mut self, stored: &StoredHash, params: &BTreeMap<String, String>) {
        let work = stored.work();
        if !self.calibrations.contains_key(&work.family) {
            if let Some(cheap) = stored.calibration(params) {
                self.calibrations.insert(work.family.clone(), cheap);
            }
        }
        let key = stored.shape_key();
        self.shapes.entry(key).or_insert((work, 0)).1 += 1;
    }

    /// Calibrates each family (a few milliseconds each, on the blocking
    /// pool) and estimates every shape against `budget`.
    pub async fn evaluate(self, budget: Duration) -> Vec<ShapeFit> {
        let estimator = Arc::new(Estimator::default());
        let calibrations = self.calibrations;
        let measuring = Arc::clone(&estimator);
        let _ = tokio::task::spawn_blocking(move || {
            let limits = Limits::default();
            for cheap in calibrations.values() {
                measuring.calibrate(&cheap.work(), calibration_cost(cheap, &limits));
            }
        })
        .await;
        self.shapes
            .into_iter()
            .map(|(shape, (work, rows))| {
                let estimate = estimator.estimate(&shape, &work);
                let shape = shape.replace('|', " ");
                ShapeFit {
                    shape,
                    rows,
                    estimate_ms: estimate.map(|e| e.as_secs_f64() * 1000.0),
                    fits: estimate.map(|e| e.mul_f64(SAFETY) <= budget),
                }
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn work(family: &str, units: f64) -> Work {
        Work {
            family: family.to_owned(),
            units,
        }
    }

    /// A queued dummy job of `stored`'s shape, due `now`, estimated at 300 ms.
    fn test_job(stored: Arc<StoredHash>, now: Instant, reply: oneshot::Sender<Finished>) -> Job {
        Job {
            key: stored.shape_key(),
            work: stored.work(),
            lanes: stored.lanes(),
            stored,
            password: SecretString::from("x".to_owned()),
            deadline: now,
            estimate: Duration::from_millis(300),
            label: Label::Dummy,
            span: tracing::Span::none(),
            reply,
            probe: false,
        }
    }

    #[test]
    fn unseen_shape_scales_from_its_family() {
        let e = Estimator::default();
        assert!(e
            .estimate("bcrypt|cost=10", &work("bcrypt", 1024.0))
            .is_none());
        let ms = Duration::from_millis;
        e.observe(
            "bcrypt|cost=10",
            &work("bcrypt", 1024.0),
            ms(50),
            ms(50),
            1.0,
        );
        let est = e
            .estimate("bcrypt|cost=12", &work("bcrypt", 4096.0))
            .unwrap();
        assert_eq!(est.as_millis(), 200);
        // Other families stay unknown.
        assert!(e.estimate("argon2|m=1", &work("argon2", 1.0)).is_none());
    }

    #[test]
    fn moving_average_follows_measurements() {
        let e = Estimator::default();
        let w = work("bcrypt", 1024.0);
        e.observe(
            "k",
            &w,
            Duration::from_millis(100),
            Duration::from_millis(100),
            1.0,
        );
        assert_eq!(e.estimate("k", &w).unwrap().as_millis(), 100);
        e.observe(
            "k",
            &w,
            Duration::from_millis(200),
            Duration::from_millis(200),
            1.0,
        );
        // 100 + 0.5 * (200 - 100): slower measurements count fast.
        assert_eq!(e.estimate("k", &w).unwrap().as_millis(), 150);
        e.observe(
            "k",
            &w,
            Duration::from_millis(100),
            Duration::from_millis(100),
            1.0,
        );
        // 150 - 0.2 * (150 - 100)
        assert_eq!(e.estimate("k", &w).unwrap().as_millis(), 140);
        for _ in 0..40 {
            e.observe(
                "k",
                &w,
                Duration::from_millis(200),
                Duration::from_millis(200),
                1.0,
            );
        }
        assert!((e.estimate("k", &w).unwrap().as_millis() as i64 - 200).abs() <= 1);
    }

    #[test]
    fn cost_is_cpu_time_and_the_slowdown_is_learned_apart() {
        let e = Estimator::default();
        let w = work("bcrypt", 1024.0);
        let ms = Duration::from_millis;
        assert!(
            (e.slowdown(1.5) - 1.5).abs() < 1e-9,
            "assumed until measured"
        );
        // Preempted for most of its run: the wall time says nothing about
        // the shape's cost, only about the machine.
        e.observe("k", &w, ms(100), ms(900), 1.0);
        assert_eq!(e.estimate("k", &w).unwrap().as_millis(), 100);
        assert!((e.slowdown(1.0) - 9.0).abs() < 1e-9);
        // Calm again: the slowdown falls back, the cost stays.
        for _ in 0..40 {
            e.observe("k", &w, ms(100), ms(100), 1.0);
        }
        assert!(e.slowdown(1.0) < 1.01);
        assert_eq!(e.estimate("k", &w).unwrap().as_millis(), 100);
        // Too short to judge the machine by, and bounded either way.
        e.observe("k", &w, Duration::from_micros(500), ms(400), 1.0);
        assert!(e.slowdown(1.0) < 1.01);
        e.observe("k", &w, ms(10), Duration::from_secs(60), 1.0);
        assert!(e.slowdown(1.0) <= SLOWDOWN_RANGE.1);
    }

    #[test]
    fn at_most_one_probe_per_interval() {
        let v = Verifier::new(&Settings::default(), Metrics::new()).unwrap();
        let now = Instant::now();
        assert!(v.take_probe(now));
        assert!(!v.take_probe(now + Duration::from_millis(500)));
        assert!(v.take_probe(now + PROBE_INTERVAL + Duration::from_millis(1)));
    }

    #[test]
    fn expected_wait_hands_queued_work_to_the_first_free_worker() {
        let now = Instant::now();
        let ms = Duration::from_millis;
        let mut queue = Queue {
            running: vec![
                Some(Running {
                    started: now,
                    estimate: ms(200),
                    width: 1,
                }),
                None,
            ],
            ..Queue::default()
        };
        assert_eq!(queue.expected_wait(now), Duration::ZERO, "a worker is idle");
        let (reply, _answer) = oneshot::channel();
        let stored = Arc::new(StoredHash::bcrypt_look_alike(4).unwrap());
        queue.jobs.push_back(test_job(stored, now, reply));
        // The queued job takes the idle worker; the next starts when the
        // running one finishes.
        assert_eq!(queue.expected_wait(now), ms(200));
        assert_eq!(queue.expected_wait(now + ms(150)), ms(50));
    }

    fn lane_verifier(slots: usize, lanes: Argon2Lanes) -> Arc<Verifier> {
        let mut settings = Settings::default();
        settings.hook.max_concurrent_verifications = slots;
        settings.hash.argon2_lanes = lanes;
        Verifier::new(&settings, Metrics::new()).unwrap()
    }

    fn p4() -> Arc<StoredHash> {
        Arc::new(
            StoredHash::parse(super::super::hash_threads::tests::P4, &Limits::default()).unwrap(),
        )
    }

    async fn check_p4(v: &Verifier) -> Checked {
        let deadline = Instant::now() + Duration::from_secs(30);
        v.verify(p4(), SecretString::from("password123".to_owned()), deadline)
            .await
    }

    #[tokio::test]
    async fn an_idle_verifier_lends_its_slots_to_the_lanes_and_learns_the_summed_cost() {
        let wide = lane_verifier(4, Argon2Lanes::AtMost(4));
        assert!(matches!(
            check_p4(&wide).await,
            Checked::Done(Ok(Verdict::Match))
        ));
        assert_eq!(wide.shared.metrics.verify_lanes_borrowed.get(), 3);
        assert_eq!(wide.shared.lanes.peak(), 4);
        let narrow = lane_verifier(4, Argon2Lanes::Off);
        assert!(matches!(
            check_p4(&narrow).await,
            Checked::Done(Ok(Verdict::Match))
        ));
        assert_eq!(narrow.shared.metrics.verify_lanes_borrowed.get(), 0);
        assert_eq!(narrow.shared.lanes.peak(), 1);
        // The cost learned from the wide run is the lanes' sum, not a
        // quarter of it.
        let stored = p4();
        let cost = |v: &Verifier| {
            v.estimator()
                .estimate(&stored.shape_key(), &stored.work())
                .unwrap()
        };
        assert!(
            cost(&wide).as_secs_f64() > 0.6 * cost(&narrow).as_secs_f64(),
            "{:?} vs {:?}",
            cost(&wide),
            cost(&narrow)
        );
    }

    #[tokio::test]
    async fn a_hash_cheaper_than_its_hand_off_runs_here_and_is_counted() {
        // One slot, held by a bcrypt-12: a salted SHA-256 does not queue
        // behind it, and is measured and counted like any verification.
        let mut v = lane_verifier(1, Argon2Lanes::Off);
        // The threshold is what this test is about, not this build's speed.
        Arc::get_mut(&mut v).unwrap().inline_at_most = Duration::from_millis(5);
        let blocker = Arc::new(StoredHash::bcrypt_look_alike(12).unwrap());
        let deadline = Instant::now() + Duration::from_secs(30);
        let busy = v.verify(blocker, SecretString::from("x".to_owned()), deadline);
        let cheap = async {
            while v.shared.lock().busy() == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            // sha256("password123" ‖ "saltsalt"), salt in its own column.
            let hints = Hints::default()
                .with_salt("saltsalt")
                .with_param("salt_position", "suffix");
            let stored = Arc::new(
                StoredHash::parse_with(
                    Some("salted_sha256"),
                    "5033120fd7fc07a3d7d6383a3680554debf3d63987db9451288909c6b58b9f01",
                    &hints,
                    &Limits::default(),
                )
                .unwrap(),
            );
            let mut verdicts = Vec::new();
            for password in ["password123", "wrong"] {
                let checked = v
                    .verify(
                        Arc::clone(&stored),
                        SecretString::from(password.to_owned()),
                        deadline,
                    )
                    .await;
                verdicts.push(matches!(checked, Checked::Done(Ok(Verdict::Match))));
            }
            (verdicts, v.shared.lock().busy())
        };
        let (_, (verdicts, busy_after)) = tokio::join!(busy, cheap);
        assert_eq!(verdicts, [true, false]);
        assert_eq!(
            busy_after, 1,
            "both ran while the bcrypt still held the one slot"
        );
        let rendered = v.shared.metrics.render();
        assert!(
            rendered.contains("passbridge_verify_seconds_count{scheme=\"salted_sha256\"} 2"),
            "{rendered}"
        );
    }

    #[tokio::test]
    async fn a_busy_verifier_lends_nothing_and_still_verifies() {
        let v = lane_verifier(2, Argon2Lanes::AtMost(2));
        let blocker = Arc::new(StoredHash::bcrypt_look_alike(12).unwrap());
        let deadline = Instant::now() + Duration::from_secs(30);
        let busy = v.verify(blocker, SecretString::from("x".to_owned()), deadline);
        let lanes = async {
            // Start once the blocker holds its slot.
            while v.shared.lock().busy() == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            check_p4(&v).await
        };
        let (_, checked) = tokio::join!(busy, lanes);
        assert!(matches!(checked, Checked::Done(Ok(Verdict::Match))));
        assert_eq!(v.shared.metrics.verify_lanes_borrowed.get(), 0);
        assert!(v.shared.lanes.peak() <= 2);
    }

    #[tokio::test]
    async fn a_burst_of_wide_verifications_never_exceeds_the_slots() {
        let v = lane_verifier(3, Argon2Lanes::AtMost(3));
        let burst = (0..8).map(|i| {
            let v = Arc::clone(&v);
            async move {
                tokio::time::sleep(Duration::from_millis(40 * i)).await;
                check_p4(&v).await
            }
        });
        let done = futures::future::join_all(burst).await;
        assert!(
            done.iter()
                .all(|c| matches!(c, Checked::Done(Ok(Verdict::Match)))),
            "{done:?}"
        );
        let peak = v.shared.lanes.peak();
        assert!((1..=3).contains(&peak), "{peak} threads hashing at once");
    }

    #[test]
    fn lanes_borrow_only_idle_slots_nobody_waits_for() {
        let now = Instant::now();
        let ms = Duration::from_millis;
        let busy = Some(Running {
            started: now,
            estimate: ms(100),
            width: 1,
        });
        let (reply, _answer) = oneshot::channel();
        let stored = p4();
        let job = test_job(stored, now, reply);
        let queue = |running: Vec<Option<Running>>| Queue {
            running,
            ..Queue::default()
        };
        assert_eq!(width_for(&job, &queue(vec![None; 4]), 4), 4);
        assert_eq!(width_for(&job, &queue(vec![None; 4]), 1), 1, "lanes off");
        assert_eq!(
            width_for(&job, &queue(vec![busy, None, None, None]), 4),
            2,
            "3 free: 2 rounds either way"
        );
        assert_eq!(
            width_for(&job, &queue(vec![busy, busy, busy, None]), 4),
            1,
            "saturated"
        );
        // A wide job holds all its slots: nothing is idle, so the queue waits.
        let wide = queue(vec![
            Some(Running {
                started: now,
                estimate: ms(200),
                width: 2,
            }),
            None,
        ]);
        assert_eq!(wide.idle(), 0);
        assert_eq!(wide.expected_wait(now), ms(200));
    }

    #[test]
    fn lanes_on_idle_cores_do_not_make_the_machine_look_faster() {
        let e = Estimator::default();
        let w = work("argon2", 196_608.0);
        let ms = Duration::from_millis;
        // Four lanes on four threads, on time: cost 400 ms, slowdown 1.
        e.observe("k", &w, ms(400), ms(100), 0.25);
        assert_eq!(e.estimate("k", &w).unwrap().as_millis(), 400);
        assert!((e.slowdown(3.0) - 1.0).abs() < 1e-9);
        // The same lanes taking twice as long: the machine is slow (read
        // against the sequential wall time it would look idle).
        e.observe("k", &w, ms(400), ms(200), 0.25);
        assert!((e.slowdown(3.0) - 1.5).abs() < 1e-9);
    }
}
