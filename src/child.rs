//! One benchmark in a child process: its output passed through, its stage
//! followed, and the process killed when it runs past its time.

use crate::record::Stages;
use anyhow::{Context, Result};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Set in a child process: run in-process, never spawn again.
pub const CHILD_VAR: &str = "CNN_BENCH_CHILD";

/// A child announces each stage on a line of its own, so that a kill can
/// say what it interrupted.
pub const STAGE_PREFIX: &str = "cnn-bench stage: ";

/// How a child process ended, and how long each of its stages lasted.
#[derive(Debug, PartialEq)]
pub enum Ended {
    /// Exited with status 0.
    Finished { stages: Stages },
    /// Killed at `kill_at`, in the stage it last announced.
    Killed { stage: String, stages: Stages },
    /// Exited with another status, or killed by a signal: which, and the
    /// child's last lines of output.
    Failed { reason: String, stages: Stages },
}

impl Ended {
    pub fn stages(&self) -> Stages {
        match self {
            Ended::Finished { stages }
            | Ended::Killed { stages, .. }
            | Ended::Failed { stages, .. } => *stages,
        }
    }
}

/// Runs `cmd`, passing its output through. A non-zero exit or a signal is
/// `Ended::Failed`, saying which, followed by the child's last lines of
/// output. At `kill_at` the child is killed (SIGKILL) and `Ended::Killed`
/// says in which stage it was. An error: the child could not be started or
/// waited for.
pub fn run(mut cmd: Command, kill_at: Option<Instant>) -> Result<Ended> {
    let mut child = cmd
        .stderr(Stdio::piped())
        .spawn()
        .context("starting a child process")?;
    let stderr = child.stderr.take().expect("stderr is piped");
    // The child's last lines, and each stage it announced with when it
    // began: the last is the one a kill interrupts, and all of them say
    // where its time went besides the measurement.
    let seen = Arc::new(Mutex::new((
        VecDeque::<String>::new(),
        vec![("starting".to_string(), Instant::now())],
    )));
    let reader = {
        let seen = seen.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let line = line.unwrap_or_default();
                let mut s = seen.lock().expect("the reader alone writes");
                if let Some(stage) = line.strip_prefix(STAGE_PREFIX) {
                    s.1.push((stage.trim().to_string(), Instant::now()));
                    continue;
                }
                // criterion's, once per process: the parent has said it.
                if line.starts_with("Gnuplot not found") {
                    continue;
                }
                let _ = writeln!(std::io::stderr(), "{line}");
                if !line.trim().is_empty() {
                    s.0.push_back(line);
                }
                if s.0.len() > 3 {
                    s.0.pop_front();
                }
            }
        })
    };
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for the child process")? {
            break status;
        }
        if kill_at.is_some_and(|t| Instant::now() >= t) {
            let _ = child.kill();
            let _ = child.wait();
            let (stage, stages) = seen
                .lock()
                .map(|s| {
                    let last = s.1.last().map(|(name, _)| name.clone());
                    (
                        last.unwrap_or_default(),
                        Stages::from_times(&s.1, Instant::now()),
                    )
                })
                .unwrap_or_default();
            return Ok(Ended::Killed { stage, stages });
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = reader.join();
    let stages = seen
        .lock()
        .map(|s| Stages::from_times(&s.1, Instant::now()))
        .unwrap_or_default();
    eprintln!("cnn-bench: child's stages: {}", stages.said());
    if status.success() {
        return Ok(Ended::Finished { stages });
    }
    use std::os::unix::process::ExitStatusExt;
    let how = match (status.code(), status.signal()) {
        (Some(code), _) => format!("child process exited with status {code}"),
        (None, Some(9)) => {
            "child process killed (SIGKILL: out of host memory, or killed by hand)".to_string()
        }
        (None, Some(sig)) => match signal_said(sig) {
            Some(what) => format!("child process killed by signal {sig} ({what})"),
            None => format!("child process killed by signal {sig}"),
        },
        (None, None) => "child process ended abnormally".to_string(),
    };
    let last: Vec<String> = seen
        .lock()
        .map(|s| s.0.iter().cloned().collect())
        .unwrap_or_default();
    Ok(Ended::Failed {
        reason: format!("{how}; its last output: {}", last.join(" | ")),
        stages,
    })
}

/// What the signals a crash ends a process with mean, for its reason.
fn signal_said(sig: i32) -> Option<&'static str> {
    Some(match sig {
        libc::SIGABRT => "SIGABRT: an abort, such as a failed allocation or a library's assertion",
        libc::SIGSEGV => "SIGSEGV: a crash, an invalid memory access",
        libc::SIGBUS => "SIGBUS: a crash, an invalid memory access",
        libc::SIGILL => "SIGILL: an instruction this CPU does not have",
        libc::SIGFPE => "SIGFPE: an arithmetic fault",
        libc::SIGINT | libc::SIGTERM => "stopped by hand",
        _ => return None,
    })
}

/// Says `stage` to the parent (a line it reads and does not pass on).
pub fn announce(stage: &str) {
    eprintln!("{STAGE_PREFIX}{stage}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, limit: Option<Duration>) -> Result<Ended> {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        run(cmd, limit.map(|l| Instant::now() + l))
    }

    /// Why `script` failed, and its stages.
    fn failure(script: &str) -> (String, Stages) {
        match sh(script, None).unwrap() {
            Ended::Failed { reason, stages } => (reason, stages),
            other => panic!("not failed: {other:?}"),
        }
    }

    #[test]
    fn stages_say_how_long_each_lasted() {
        let t = Instant::now();
        let at = |ms| t + Duration::from_millis(ms);
        let times = [
            ("starting".to_string(), t),
            ("preparing".to_string(), at(1500)),
            ("something else".to_string(), at(2000)),
        ];
        let stages = Stages::from_times(&times, at(4000));
        assert_eq!(stages.said(), "starting 1.5 s, preparing 0.5 s");
        assert_eq!(stages.measuring, None);
    }

    #[test]
    fn a_child_that_succeeds_is_ok_and_its_stages_are_timed() {
        let script = format!("echo '{STAGE_PREFIX}preparing' >&2; sleep 0.3; echo fine >&2");
        let Ended::Finished { stages } = sh(&script, None).unwrap() else {
            panic!("not finished");
        };
        let (starting, preparing) = (stages.starting.unwrap(), stages.preparing.unwrap());
        assert!(starting < 0.3 && preparing >= 0.3, "{stages:?}");
    }

    #[test]
    fn a_failing_child_is_a_failure_with_its_status_last_words_and_stages() {
        let (e, stages) = failure(&format!(
            "echo '{STAGE_PREFIX}preparing' >&2; echo allocating >&2; echo 'CUDA out of memory' >&2; exit 3"
        ));
        assert!(e.starts_with("child process exited with status 3"), "{e}");
        assert!(e.contains("allocating | CUDA out of memory"), "{e}");
        assert!(stages.preparing.is_some(), "{stages:?}");
    }

    #[test]
    fn a_killed_child_is_a_failure_that_names_the_kill() {
        let (e, _) = failure("echo 'allocating' >&2; kill -9 $$");
        assert!(e.starts_with("child process killed (SIGKILL"), "{e}");
        assert!(e.contains("allocating"), "{e}");
        let (e, _) = failure("echo 'Gnuplot not found, using plotters backend' >&2; kill -SEGV $$");
        assert!(
            e.starts_with("child process killed by signal 11 (SIGSEGV"),
            "{e}"
        );
        assert!(
            !e.contains("Gnuplot"),
            "criterion's plotting line is no reason: {e}"
        );
        let (e, _) = failure("kill -ABRT $$");
        assert!(
            e.starts_with("child process killed by signal 6 (SIGABRT"),
            "{e}"
        );
    }

    #[test]
    fn a_child_past_its_time_is_killed_in_the_stage_it_announced() {
        let start = Instant::now();
        let ended = sh(
            &format!("echo '{STAGE_PREFIX}measuring' >&2; sleep 30"),
            Some(Duration::from_millis(500)),
        )
        .unwrap();
        let Ended::Killed { stage, stages } = ended else {
            panic!("not killed: {ended:?}");
        };
        assert_eq!(stage, "measuring");
        assert!(stages.measuring.is_some_and(|s| s > 0.3), "{stages:?}");
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
