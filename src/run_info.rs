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
    /// The CPU's model name, with its family and model numbers where the
    /// name has no number of its own (see `cpu_model`).
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
            .map(|t| cpu_model(&t))
            .unwrap_or_else(|_| "unknown".into());
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

/// The CPU of /proc/cpuinfo's text: its model name, followed by its family
/// and model numbers where the name says no number ("AMD EPYC", as some
/// virtual machines report it, named machines of two generations whose
/// times differed 2-3x; a report tells their rows apart only by this).
fn cpu_model(cpuinfo: &str) -> String {
    let field = |name: &str| {
        cpuinfo
            .lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    let Some(name) = field("model name") else {
        return "unknown".into();
    };
    match (field("cpu family"), field("model")) {
        (Some(family), Some(model)) if !name.chars().any(|c| c.is_ascii_digit()) => {
            format!("{name} (family {family}, model {model})")
        }
        _ => name,
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

#[cfg(test)]
mod tests {
    use super::cpu_model;

    #[test]
    fn a_cpu_named_without_a_number_is_told_apart_by_its_family_and_model() {
        let epyc = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC\nstepping\t: 1\n";
        assert_eq!(cpu_model(epyc), "AMD EPYC (family 25, model 1)");
        let xeon = "cpu family\t: 6\nmodel\t\t: 85\nmodel name\t: Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz\n";
        assert_eq!(
            cpu_model(xeon),
            "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz"
        );
        assert_eq!(cpu_model("model name\t: AMD EPYC\n"), "AMD EPYC");
        assert_eq!(cpu_model("processor\t: 0\n"), "unknown");
    }
}
