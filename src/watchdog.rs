//! The time limit and the deadline for benchmarks measured in this process.
//! A thread cannot be stopped safely in the middle of a framework's call, so
//! when an in-process benchmark runs past its limit the watchdog records it
//! as failed and replaces the process with a fresh one (`exec`) that goes on
//! with the rest of the run: the same arguments, the same run id, so that
//! what this run already recorded is skipped. At the deadline it stops the
//! process without a record for the unfinished benchmark.

use crate::options::{MAX_TIME_VAR, RUN_ID_VAR};
use crate::record::{Record, Stages};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The benchmark being watched.
pub struct Watch {
    pub started: Instant,
    pub limit: Duration,
    pub deadline: Option<Instant>,
    /// Written, as failed, to each of `record_paths` when the limit passes.
    pub record: Record,
    pub record_paths: Vec<PathBuf>,
    /// The benchmark's running marker ([`crate::running`]), removed when
    /// the limit or the deadline stops it: either is said, not a crash.
    pub marker: PathBuf,
    /// Benchmarks after this one, for the deadline's message.
    pub remaining: usize,
    /// Each stage it announced, with when it began; the last is the one a
    /// stop interrupts.
    pub stages: Vec<(String, Instant)>,
}

impl Watch {
    fn stage(&self) -> &str {
        self.stages.last().map_or("starting", |s| s.0.as_str())
    }
}

#[derive(Clone, Default)]
pub struct Watchdog {
    current: Arc<Mutex<Option<Watch>>>,
}

impl Watchdog {
    /// Starts the watching thread.
    pub fn start() -> Self {
        let dog = Watchdog::default();
        let current = dog.current.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(50));
            let mut guard = current.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(w) = guard.as_mut() {
                let now = Instant::now();
                if w.deadline.is_some_and(|d| now >= d) {
                    eprintln!(
                        "cnn-bench: deadline reached while {} was {}; it is not recorded. {} benchmark(s) remain: run the same command again to go on",
                        w.record.id,
                        w.stage(),
                        w.remaining + 1
                    );
                    crate::running::clear(&w.marker);
                    exit_now(0);
                }
                if now >= w.started + w.limit {
                    give_up(w);
                }
            }
        });
        dog
    }

    pub fn watch(&self, w: Watch) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(w);
    }

    pub fn stage(&self, stage: &str) {
        if let Some(w) = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            w.stages.push((stage.to_string(), Instant::now()));
        }
    }

    /// Stops watching; how long each stage of the benchmark lasted.
    pub fn clear(&self) -> Option<Stages> {
        let w = self
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        w.map(|w| Stages::from_times(&w.stages, Instant::now()))
    }
}

/// Records the benchmark as timed out and restarts the harness on the rest.
fn give_up(w: &mut Watch) -> ! {
    let reason = timed_out(w.limit, w.stage());
    eprintln!("cnn-bench: {}: FAILED: {reason}", w.record.id);
    w.record.status = crate::identities::Status::Failed;
    w.record.reason = Some(reason);
    w.record.timed_out_after = Some(w.limit.as_secs_f64());
    w.record.wall_seconds = Some(w.started.elapsed().as_secs_f64());
    w.record.stages = Some(Stages::from_times(&w.stages, Instant::now()));
    for path in &w.record_paths {
        if let Err(e) = crate::record::write_path(path, &w.record) {
            eprintln!("cnn-bench: error: {e:#}");
            exit_now(1);
        }
    }
    crate::running::clear(&w.marker);
    eprintln!("cnn-bench: restarting the harness to go on with the rest of the run");
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(
        std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe")),
    );
    cmd.args(std::env::args_os().skip(1))
        .env(RUN_ID_VAR, &w.record.run_id);
    if let Some(d) = w.deadline {
        let left = d.saturating_duration_since(Instant::now()).as_secs_f64();
        cmd.env(MAX_TIME_VAR, format!("{:.3}", left.max(0.001)));
    }
    let e = cmd.exec();
    eprintln!("cnn-bench: error: could not restart the harness: {e}");
    exit_now(1);
}

/// Ends the process from the watching thread, at once. `std::process::exit`
/// would run the frameworks' static destructors while the main thread is
/// still in one of their calls: libtorch, torn down under a convolution,
/// fails it, and the panic's trace follows the deadline's message (or its
/// exit status replaces this one).
fn exit_now(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` ends the process without touching its memory; what
    // this run recorded is already written.
    unsafe { libc::_exit(code) }
}

/// The reason a benchmark stopped by its time limit is recorded with.
pub fn timed_out(limit: Duration, stage: &str) -> String {
    format!("timed out after {:.0} s while {stage}", limit.as_secs_f64())
}
