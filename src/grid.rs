//! The benchmark grid: which models, sizes, batches, frameworks and
//! device/phase runs to measure (read by `config`), and the groups and
//! benchmarks it makes.

use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::identities::{Device, Framework, Phase, DEVICES, PHASES};
pub use crate::malloc::Malloc;

/// A validated grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    pub models: Vec<String>,
    pub sizes: Vec<usize>,
    pub batches: Vec<usize>,
    pub frameworks: Vec<Framework>,
    pub runs: Vec<(Device, Phase)>,
    /// CPU threads of every framework (resolved: never 0).
    pub threads: usize,
    pub seed: u64,
    pub target_seconds: f64,
    /// Most seconds one benchmark's measurement may take: when criterion's
    /// 10 samples do not fit, as many steps as fit (at least 2) give an
    /// estimate instead.
    pub budget_seconds: f64,
    /// A benchmark still running after this many seconds (preparation and
    /// measurement) is stopped and recorded as failed.
    pub time_limit_seconds: f64,
    /// Frameworks whose benchmarks have another limit than
    /// `time_limit_seconds` (burn's first step on a GPU compiles its
    /// kernels for minutes); see [`Grid::time_limit`].
    pub time_limit_by_framework: BTreeMap<Framework, f64>,
    pub isolate: Isolate,
    /// glibc's malloc in the benchmark processes (`malloc.rs`).
    pub malloc: Malloc,
}

/// Which benchmarks run in a child process of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Isolate {
    None,
    /// GPU benchmarks (the default): their memory figures need it.
    Gpu,
    All,
}

impl Isolate {
    pub const ALL: [Isolate; 3] = [Isolate::None, Isolate::Gpu, Isolate::All];

    /// Its name in cnn-bench.toml and `CNN_BENCH_ISOLATE`.
    pub fn name(self) -> &'static str {
        match self {
            Isolate::None => "none",
            Isolate::Gpu => "gpu",
            Isolate::All => "all",
        }
    }

    /// What it means, for `cnn-bench grid`.
    pub fn meaning(self) -> &'static str {
        match self {
            Isolate::None => "every benchmark in the harness's process",
            Isolate::Gpu => "a process of its own for each GPU benchmark",
            Isolate::All => "a process of its own for each benchmark",
        }
    }

    /// The setting `name` names, or an error naming the valid ones.
    pub fn parse(name: &str) -> Result<Self> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|i| i.name() == name)
            .ok_or_else(|| {
                let valid: Vec<_> = Self::ALL.iter().map(|i| i.name()).collect();
                anyhow!("unknown value `{name}`; valid values: {}", valid.join(", "))
            })
    }

    pub fn applies(self, device: Device) -> bool {
        match self {
            Isolate::None => false,
            Isolate::Gpu => matches!(device, Device::Gpu(_)),
            Isolate::All => true,
        }
    }
}

/// One criterion group: a model on a device in a phase.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub model: String,
    pub device: Device,
    pub phase: Phase,
}

impl Group {
    /// `{model}/{device}/{phase}`, the name `cargo bench -- <filter>` matches.
    pub fn id(&self) -> String {
        format!("{}/{}/{}", self.model, self.device, self.phase)
    }

    /// The full benchmark id of `case` in this group, as criterion names it:
    /// `{model}/{device}/{phase}/{framework}/size{S}-batch{B}`.
    pub fn bench_id(&self, case: &Case) -> String {
        format!("{}/{}/{}", self.id(), case.framework, case.parameter())
    }
}

/// One benchmark of a group: a framework at an input size and batch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub framework: Framework,
    pub size: usize,
    pub batch: usize,
}

impl Case {
    /// Criterion's parameter part of the benchmark id.
    pub fn parameter(&self) -> String {
        format!("size{}-batch{}", self.size, self.batch)
    }
}

impl Grid {
    /// The time limit of `framework`'s benchmarks (s).
    pub fn time_limit(&self, framework: Framework) -> f64 {
        self.time_limit_by_framework
            .get(&framework)
            .copied()
            .unwrap_or(self.time_limit_seconds)
    }

    /// The limits, said: `900 s`, or `120 s (burn: 300 s)`.
    pub fn time_limits(&self) -> String {
        let others: Vec<String> = self
            .time_limit_by_framework
            .iter()
            .map(|(f, s)| format!("{f}: {s} s"))
            .collect();
        match others.is_empty() {
            true => format!("{} s", self.time_limit_seconds),
            false => format!("{} s ({})", self.time_limit_seconds, others.join(", ")),
        }
    }

    /// A human-readable summary of every setting.
    pub fn describe(&self) -> String {
        let runs: Vec<String> = self
            .runs
            .iter()
            .map(|(d, p)| match d {
                Device::Gpu(i) => format!("{d}/{p} (CUDA device {i})"),
                Device::Cpu => format!("{d}/{p}"),
            })
            .collect();
        format!(
            "models:     {}
sizes:      {:?}
batches:    {:?}
frameworks: {}
runs:       {}
threads:    {}
seed:       {}
target:     {} s per benchmark
budget:     {} s of measurement at most (fewer steps: an estimate)
time limit: {} per benchmark (then stopped, recorded as failed)
isolate:    {} ({})
malloc:     {}
",
            self.models.join(", "),
            self.sizes,
            self.batches,
            self.frameworks
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", "),
            runs.join(", "),
            self.threads,
            self.seed,
            self.target_seconds,
            self.budget_seconds,
            self.time_limits(),
            self.isolate.name(),
            self.isolate.meaning(),
            self.malloc.name(),
        )
    }

    /// The criterion groups, model by model, in the order of `runs`.
    pub fn groups(&self) -> Vec<Group> {
        let mut out = Vec::new();
        for model in &self.models {
            for &(device, phase) in &self.runs {
                out.push(Group {
                    model: model.clone(),
                    device,
                    phase,
                });
            }
        }
        out
    }

    /// The benchmarks of every group: size x batch x framework, every
    /// framework at one input before the next input. Interleaved so that a
    /// few minutes of load from elsewhere on a shared machine fall on every
    /// framework of the configurations then running, not on one framework's
    /// column, which would skew the ratios between frameworks.
    pub fn cases(&self) -> Vec<Case> {
        let mut out = Vec::new();
        for &size in &self.sizes {
            for &batch in &self.batches {
                for framework in &self.frameworks {
                    out.push(Case {
                        framework: *framework,
                        size,
                        batch,
                    });
                }
            }
        }
        out
    }
}

impl Grid {
    /// Refuses an input some model of the grid cannot take in some run
    /// (Inception's auxiliary classifier, train mode only, needs 299x299),
    /// so that it fails before a run, not in its middle. A run checks only
    /// the benchmarks its filter selects (`select`).
    pub fn check_sizes(&self) -> Result<()> {
        for m in &self.models {
            for &size in &self.sizes {
                for &(_, phase) in &self.runs {
                    check_size(m, size, phase)?;
                }
            }
        }
        Ok(())
    }
}

/// Whether `model` accepts `size`x`size` inputs in `phase` (Inception v3's
/// auxiliary classifier, train mode only, needs 299x299).
pub fn check_size(model: &str, size: usize, phase: Phase) -> Result<()> {
    let g = cnn_models::model(model)?;
    cnn_models::analysis::shapes_in(&g, size, phase == Phase::Train)
        .map(|_| ())
        .with_context(|| format!("size {size} cannot be used for {model} in {phase}"))
}
