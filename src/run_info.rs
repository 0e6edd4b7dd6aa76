//! Facts about a run recorded with every benchmark, so a result can be
//! traced to its code and machine: commit, date, versions, CPU, GPU, and
//! the malloc setting.

use crate::frameworks::adapter;
use crate::grid::{Device, Grid, Malloc};
use crate::identities::Framework;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// `git describe --always --dirty` of the work tree, or why it is unknown.
    pub git_commit: String,
    /// When the run started, RFC 3339, UTC.
    pub date: String,
    /// The versions of the frameworks the run selected, `; `-separated.
    pub versions: String,
    pub cpu_model: String,
    /// GPU name and driver version from NVML, or why there is none.
    pub gpu: String,
    /// glibc's malloc in the run's processes (absent before the setting
    /// existed: glibc's defaults).
    #[serde(default)]
    pub malloc: Malloc,
}

/// The parent's run facts, handed to its child processes (JSON), so a
/// child neither asks every framework its version again (PyTorch's costs a
/// Python start, seconds per benchmark) nor dates its record differently.
pub const RUN_INFO_VAR: &str = "CNN_BENCH_RUN_INFO";
/// The commit a run's binary was built from, when not the tree's (the GPU
/// bundle: `make gpu-bundle` writes it beside the binary).
pub const COMMIT_VAR: &str = "CNN_BENCH_GIT_COMMIT";

impl RunInfo {
    /// The facts a parent handed down (`RUN_INFO_VAR`), or else collected
    /// here.
    pub fn inherited_or_collect(grid: &Grid, frameworks: &[Framework]) -> Self {
        std::env::var(RUN_INFO_VAR)
            .ok()
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_else(|| Self::collect(grid, frameworks))
    }

    /// Collects the facts for a run of `grid` that runs `frameworks`: only
    /// theirs are asked their version (asking loads a framework's library,
    /// or starts Python for PyTorch's).
    pub fn collect(grid: &Grid, frameworks: &[Framework]) -> Self {
        // A binary carried to another machine (the GPU bundle) says which
        // commit it was built from: the tree it runs beside may be another.
        let git = std::env::var(COMMIT_VAR)
            .ok()
            .filter(|c| !c.is_empty())
            .unwrap_or_else(git_describe);
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let gpu_index = grid.runs.iter().find_map(|(d, _)| match d {
            Device::Gpu(i) => Some(*i),
            Device::Cpu => None,
        });
        let gpu = match gpu_index {
            None => "none (no GPU run)".into(),
            Some(i) => {
                crate::memory::gpu_description(i).unwrap_or_else(|e| format!("unknown: {e}"))
            }
        };
        let versions = frameworks
            .iter()
            .map(|f| adapter(*f).version())
            .collect::<Vec<_>>()
            .join("; ");
        RunInfo {
            git_commit: git,
            date: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            versions,
            cpu_model,
            gpu,
            malloc: grid.malloc,
        }
    }
}

/// The commit of the source tree this package was built in, `-dirty` when
/// it has uncommitted changes.
fn git_describe() -> String {
    std::process::Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "describe",
            "--always",
            "--dirty",
            "--abbrev=12",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown (not a git work tree)".into())
}
