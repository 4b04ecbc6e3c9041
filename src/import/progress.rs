//! Progress of an import: an indicatif bar with rate and ETA on a terminal,
//! plain periodic lines otherwise (logs, CI). Shows logins never, counts only.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::report::{Summary, UserOutcome};
use crate::okta::ClientStats;

/// Interval between plain progress lines.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// Receives progress events from a run.
pub trait Observer: Send + Sync {
    /// The run starts; `total` is known when the source could be counted.
    fn start(&self, _total: Option<u64>, _dry_run: bool) {}
    /// One more user is done (`done` so far).
    fn user_done(&self, _done: u64, _outcome: &UserOutcome, _okta: Option<ClientStats>) {}
    /// The run ended.
    fn finish(&self, _summary: &Summary) {}
}

/// No output (tests, `--quiet`).
pub struct Silent;

impl Observer for Silent {}

enum Mode {
    Bar(ProgressBar),
    Plain {
        started: Instant,
        last: Instant,
        total: Option<u64>,
    },
}

/// The CLI's progress display, on stderr.
pub struct Progress {
    mode: Mutex<Option<Mode>>,
    terminal: bool,
}

impl Progress {
    /// A bar when `terminal`, plain lines otherwise.
    pub fn new(terminal: bool) -> Self {
        Self {
            mode: Mutex::new(None),
            terminal,
        }
    }
}

fn plain_line(
    done: u64,
    total: Option<u64>,
    elapsed: Duration,
    okta: Option<ClientStats>,
) -> String {
    let secs = elapsed.as_secs_f64().max(0.001);
    let rate = done as f64 / secs;
    let mut line = match total {
        Some(t) if t > 0 => {
            let left = t.saturating_sub(done) as f64;
            let eta = if rate > 0.0 { left / rate } else { 0.0 };
            format!(
                "import: {done}/{t} users ({:.0}%), {rate:.0}/s, ETA {}",
                done as f64 * 100.0 / t as f64,
                humantime::format_duration(Duration::from_secs(eta.round() as u64))
            )
        }
        _ => format!("import: {done} users, {rate:.0}/s"),
    };
    if let Some(o) = okta {
        line.push_str(&format!(
            "; okta {} requests, {} retries, {} x 429",
            o.requests, o.retries, o.rate_limited
        ));
    }
    line
}

impl Observer for Progress {
    fn start(&self, total: Option<u64>, dry_run: bool) {
        let mode = if self.terminal {
            let bar = match total {
                Some(t) => ProgressBar::new(t),
                None => ProgressBar::new_spinner(),
            };
            bar.set_draw_target(ProgressDrawTarget::stderr());
            let template = if total.is_some() {
                "{spinner} {prefix} [{bar:40}] {pos}/{len} users {per_sec} ETA {eta} {msg}"
            } else {
                "{spinner} {prefix} {pos} users {per_sec} {msg}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(if dry_run { "planning" } else { "importing" });
            bar.enable_steady_tick(Duration::from_millis(200));
            Mode::Bar(bar)
        } else {
            let now = Instant::now();
            Mode::Plain {
                started: now,
                last: now,
                total,
            }
        };
        if let Ok(mut m) = self.mode.lock() {
            *m = Some(mode);
        }
    }

    fn user_done(&self, done: u64, _outcome: &UserOutcome, okta: Option<ClientStats>) {
        let Ok(mut guard) = self.mode.lock() else {
            return;
        };
        match guard.as_mut() {
            Some(Mode::Bar(bar)) => {
                bar.set_position(done);
                if let Some(o) = okta {
                    bar.set_message(format!("{} retries, {} x 429", o.retries, o.rate_limited));
                }
            }
            Some(Mode::Plain {
                started,
                last,
                total,
            }) if last.elapsed() >= PLAIN_EVERY => {
                *last = Instant::now();
                eprintln!("{}", plain_line(done, *total, started.elapsed(), okta));
            }
            Some(Mode::Plain { .. }) | None => {}
        }
    }

    fn finish(&self, _summary: &Summary) {
        if let Ok(mut guard) = self.mode.lock() {
            if let Some(Mode::Bar(bar)) = guard.take() {
                bar.finish_and_clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_show_rate_eta_and_okta_figures() {
        let okta = ClientStats {
            requests: 120,
            retries: 3,
            rate_limited: 2,
            ..ClientStats::default()
        };
        let line = plain_line(100, Some(400), Duration::from_secs(10), Some(okta));
        assert_eq!(
            line,
            "import: 100/400 users (25%), 10/s, ETA 30s; okta 120 requests, 3 retries, 2 x 429"
        );
        assert_eq!(
            plain_line(5, None, Duration::from_secs(1), None),
            "import: 5 users, 5/s"
        );
    }
}
