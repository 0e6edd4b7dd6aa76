//! Which benchmark a run is measuring in its own process, kept on disk
//! beside the benchmark's record. A crash, an abort (an allocation that
//! failed), an out-of-memory kill or Ctrl-C ends such a run without a
//! record, and a run resumed on it would end the same way again; the next
//! run that finds the marker measures that benchmark in a child process of
//! its own instead, which records such an end as the benchmark's failure
//! (with the signal) and goes on with the rest. A benchmark in a child
//! process needs no marker: its parent survives it.

use crate::grid::{Case, Group};
use crate::record::record_path;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The marker: which process was measuring the benchmark, since when.
#[derive(Debug, Serialize, Deserialize)]
pub struct Running {
    pub pid: u32,
    pub run_id: String,
    /// When the benchmark began (RFC 3339, seconds).
    pub since: String,
}

impl Running {
    /// What the next run says of it.
    pub fn said(&self) -> String {
        format!(
            "the process that measured it in itself (pid {}, run {}, since {}) ended before recording it: a crash, an abort, an out-of-memory kill or a stop by hand",
            self.pid, self.run_id, self.since
        )
    }
}

/// Where the marker of a benchmark lives.
pub fn marker_path(out: &Path, group: &Group, case: &Case) -> PathBuf {
    record_path(out, group, case).with_file_name("cnn-bench-running.json")
}

/// Marks the benchmark as measured in this process; the path, to
/// [`clear`] once its record is written. Best effort: a marker that cannot
/// be written (said) loses only this safeguard.
pub fn mark(out: &Path, group: &Group, case: &Case, run_id: &str) -> PathBuf {
    let path = marker_path(out, group, case);
    let marker = Running {
        pid: std::process::id(),
        run_id: run_id.to_string(),
        since: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
    };
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&path, serde_json::to_string(&marker).unwrap_or_default()));
    if let Err(e) = written {
        eprintln!(
            "cnn-bench: warning: cannot write {} ({e}): a crash in this benchmark would end the next run too",
            path.display()
        );
    }
    path
}

/// The marker an earlier process left on the benchmark, if any: that
/// process ended while measuring it. One that cannot be read still says
/// so, with what is known.
pub fn left(out: &Path, group: &Group, case: &Case) -> Option<Running> {
    let text = std::fs::read_to_string(marker_path(out, group, case)).ok()?;
    Some(serde_json::from_str(&text).unwrap_or(Running {
        pid: 0,
        run_id: "unknown".into(),
        since: "unknown".into(),
    }))
}

/// Removes a marker (its benchmark is recorded, or stopped by the deadline
/// on purpose).
pub fn clear(path: &Path) {
    let _ = std::fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{Device, Phase};
    use crate::identities::Framework;

    #[test]
    fn a_marker_is_left_until_cleared_and_an_unreadable_one_still_counts() {
        let out = std::env::temp_dir().join(format!("cnn-bench-running-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let group = Group {
            model: "resnet18".into(),
            device: Device::Cpu,
            phase: Phase::Inference,
        };
        let case = Case {
            framework: Framework::Tch,
            size: 64,
            batch: 1,
        };
        assert!(left(&out, &group, &case).is_none());
        let path = mark(&out, &group, &case, "7-1");
        let m = left(&out, &group, &case).expect("marked");
        assert_eq!((m.pid, m.run_id.as_str()), (std::process::id(), "7-1"));
        assert!(
            m.said().contains(&format!("pid {}, run 7-1", m.pid)),
            "{}",
            m.said()
        );
        std::fs::write(&path, "{half a mark").unwrap();
        assert_eq!(left(&out, &group, &case).expect("still marked").pid, 0);
        clear(&path);
        assert!(left(&out, &group, &case).is_none());
        let _ = std::fs::remove_dir_all(&out);
    }
}
