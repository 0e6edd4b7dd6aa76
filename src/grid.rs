//! The benchmark grid: which models, sizes, batches, frameworks and
//! device/phase runs to measure. Read from `cnn-bench.toml`, a named profile
//! in it, then `CNN_BENCH_*` environment variables, and validated so that a
//! misspelt name fails before anything runs.

use anyhow::{bail, ensure, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::filter::Filter;
pub use crate::frameworks::FRAMEWORKS;

/// Where a step runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Device {
    Cpu,
    /// A CUDA device, by index.
    Gpu(usize),
}

/// What a step does; both are defined in the README.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    Train,
    Inference,
}

pub const DEVICES: &[&str] = &["cpu", "gpu"];
pub const PHASES: &[&str] = &["train", "inference"];

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Device::Cpu => "cpu",
            Device::Gpu(_) => "gpu",
        })
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Phase::Train => "train",
            Phase::Inference => "inference",
        })
    }
}

/// The settings as written in the config file; every key optional so that
/// profiles and the environment can override a part.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    models: Option<Vec<String>>,
    sizes: Option<Vec<usize>>,
    batches: Option<Vec<usize>>,
    frameworks: Option<Vec<String>>,
    runs: Option<Vec<String>>,
    threads: Option<usize>,
    gpu: Option<usize>,
    seed: Option<u64>,
    target_seconds: Option<f64>,
    budget_seconds: Option<f64>,
    time_limit_seconds: Option<f64>,
    isolate: Option<Isolate>,
    #[serde(default)]
    profiles: BTreeMap<String, Settings>,
}

impl Settings {
    /// `other`'s keys replace ours.
    fn overlay(&mut self, other: Settings) {
        macro_rules! take {
            ($($k:ident),*) => { $( if other.$k.is_some() { self.$k = other.$k; } )* };
        }
        take!(
            models,
            sizes,
            batches,
            frameworks,
            runs,
            threads,
            gpu,
            seed,
            target_seconds,
            budget_seconds,
            time_limit_seconds,
            isolate
        );
    }
}

/// A validated grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    pub models: Vec<String>,
    pub sizes: Vec<usize>,
    pub batches: Vec<usize>,
    pub frameworks: Vec<String>,
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
    pub isolate: Isolate,
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
    pub const NAMES: &[&str] = &["none", "gpu", "all"];

    pub fn applies(self, device: Device) -> bool {
        match self {
            Isolate::None => false,
            Isolate::Gpu => matches!(device, Device::Gpu(_)),
            Isolate::All => true,
        }
    }
}

/// One criterion group: a model on a device in a phase.
#[derive(Clone, Debug, PartialEq)]
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
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    pub framework: String,
    pub size: usize,
    pub batch: usize,
}

impl Case {
    /// Criterion's parameter part of the benchmark id.
    pub fn parameter(&self) -> String {
        format!("size{}-batch{}", self.size, self.batch)
    }
}

/// The environment variables the grid reads, for messages and docs.
pub const ENV_KEYS: &[&str] = &[
    "CNN_BENCH_CONFIG",
    "CNN_BENCH_PROFILE",
    "CNN_BENCH_MODELS",
    "CNN_BENCH_SIZES",
    "CNN_BENCH_BATCHES",
    "CNN_BENCH_FRAMEWORKS",
    "CNN_BENCH_RUNS",
    "CNN_BENCH_THREADS",
    "CNN_BENCH_GPU",
    "CNN_BENCH_SEED",
    "CNN_BENCH_TARGET_SECONDS",
    "CNN_BENCH_BUDGET",
    "CNN_BENCH_TIME_LIMIT",
    "CNN_BENCH_ISOLATE",
    "CNN_BENCH_MEASURE",
    "CNN_BENCH_RESUME",
    "CNN_BENCH_RETRY_FAILED",
    "CNN_BENCH_MAX_TIME",
    "CNN_BENCH_SHARD",
    "CNN_BENCH_STEP_DELAY_MS",
    "CNN_BENCH_HANG",
];

impl Grid {
    /// The grid of `cnn-bench.toml` (or `$CNN_BENCH_CONFIG`), with the
    /// profile and variables of the process environment applied.
    pub fn from_env() -> Result<Self> {
        let vars: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("CNN_BENCH_"))
            .collect();
        let path = vars
            .get("CNN_BENCH_CONFIG")
            .cloned()
            .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/cnn-bench.toml").to_string());
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the grid config {path}"))?;
        Self::from_parts(&text, Path::new(&path), &vars)
    }

    /// The grid of a config file's `text`, with a profile and variables
    /// (`CNN_BENCH_*`) applied; `path` only names the file in errors.
    pub fn from_parts(text: &str, path: &Path, vars: &BTreeMap<String, String>) -> Result<Self> {
        let mut s: Settings = toml::from_str(text)
            .with_context(|| format!("malformed grid config {}", path.display()))?;
        if let Some(name) = vars.get("CNN_BENCH_PROFILE") {
            let Some(profile) = s.profiles.get(name).cloned() else {
                let valid: Vec<&str> = s.profiles.keys().map(String::as_str).collect();
                bail!(
                    "unknown profile `{name}` (CNN_BENCH_PROFILE); profiles in {}: {}",
                    path.display(),
                    valid.join(", ")
                );
            };
            s.overlay(profile);
        }
        for (key, value) in vars {
            let parsed = parse_var(key, value)?;
            s.overlay(parsed);
        }
        Self::validate(s, path)
    }

    fn validate(s: Settings, path: &Path) -> Result<Self> {
        let need = |k: &str| format!("{}: `{k}` is missing", path.display());
        let models = s.models.with_context(|| need("models"))?;
        for m in &models {
            cnn_models::model(m)?;
        }
        let frameworks = s.frameworks.with_context(|| need("frameworks"))?;
        for f in &frameworks {
            ensure!(
                FRAMEWORKS.contains(&f.as_str()),
                "unknown framework `{f}`; valid frameworks: {}",
                FRAMEWORKS.join(", ")
            );
        }
        let gpu = s.gpu.unwrap_or(0);
        let runs = s
            .runs
            .with_context(|| need("runs"))?
            .iter()
            .map(|r| parse_run(r, gpu))
            .collect::<Result<Vec<_>>>()?;
        let sizes = s.sizes.with_context(|| need("sizes"))?;
        let batches = s.batches.with_context(|| need("batches"))?;
        for (what, list) in [("sizes", &sizes), ("batches", &batches)] {
            ensure!(
                !list.is_empty() && list.iter().all(|&v| v > 0),
                "`{what}` must be a non-empty list of positive numbers, got {list:?}"
            );
        }
        ensure!(
            !models.is_empty() && !frameworks.is_empty() && !runs.is_empty(),
            "`models`, `frameworks` and `runs` must not be empty"
        );
        // An input a model cannot take fails here, not in the middle of a run
        // (Inception's auxiliary classifier, train mode only, needs more).
        for m in &models {
            for &size in &sizes {
                for &(_, phase) in &runs {
                    check_size(m, size, phase)?;
                }
            }
        }
        let target_seconds = s.target_seconds.unwrap_or(5.0);
        let budget_seconds = s.budget_seconds.unwrap_or(60.0);
        let time_limit_seconds = s.time_limit_seconds.unwrap_or(900.0);
        for (key, v) in [
            ("target_seconds", target_seconds),
            ("budget_seconds", budget_seconds),
            ("time_limit_seconds", time_limit_seconds),
        ] {
            ensure!(
                v > 0.0 && v.is_finite(),
                "`{key}` must be a positive number of seconds, got {v}"
            );
        }
        let threads = match s.threads.unwrap_or(0) {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            n => n,
        };
        Ok(Self {
            models,
            sizes,
            batches,
            frameworks,
            runs,
            threads,
            seed: s.seed.unwrap_or(2021),
            target_seconds,
            budget_seconds,
            time_limit_seconds,
            isolate: s.isolate.unwrap_or(Isolate::Gpu),
        })
    }

    /// A human-readable summary: every setting and the number of benchmarks.
    pub fn describe(&self) -> String {
        let runs: Vec<String> = self
            .runs
            .iter()
            .map(|(d, p)| match d {
                Device::Gpu(i) => format!("{d}/{p} (CUDA device {i})"),
                Device::Cpu => format!("{d}/{p}"),
            })
            .collect();
        let n = self.ids().len();
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
time limit: {} s per benchmark (then stopped, recorded as failed)
isolate:    {:?} (own process per benchmark)
{} groups, {n} benchmarks
",
            self.models.join(", "),
            self.sizes,
            self.batches,
            self.frameworks.join(", "),
            runs.join(", "),
            self.threads,
            self.seed,
            self.target_seconds,
            self.budget_seconds,
            self.time_limit_seconds,
            self.isolate,
            self.groups().len(),
        )
    }

    /// Every benchmark id of the grid; a framework that cannot run a phase
    /// (an inference engine and `train`) has none in that phase's groups.
    pub fn ids(&self) -> Vec<String> {
        let cases = self.cases();
        self.groups()
            .iter()
            .flat_map(|g| {
                cases
                    .iter()
                    .filter(|c| runs_phase(&c.framework, g.phase))
                    .map(move |c| g.bench_id(c))
            })
            .collect()
    }

    /// This grid, or, when `filter` matches none of its benchmarks but does
    /// match those of catalogue models outside it (`cargo bench --
    /// densenet121/cpu`), the grid with those models instead, so any model
    /// can be benchmarked by name alone.
    pub fn widened_for(&self, filter: &Filter) -> Grid {
        if self.ids().iter().any(|id| filter.matches(id)) {
            return self.clone();
        }
        let models: Vec<String> = cnn_models::MODELS
            .iter()
            .filter(|m| {
                let one = Grid {
                    models: vec![m.to_string()],
                    ..self.clone()
                };
                one.ids().iter().any(|id| filter.matches(id))
            })
            .map(|m| m.to_string())
            .collect();
        if models.is_empty() {
            return self.clone();
        }
        Grid {
            models,
            ..self.clone()
        }
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

    /// The benchmarks of every group: framework x size x batch.
    pub fn cases(&self) -> Vec<Case> {
        let mut out = Vec::new();
        for framework in &self.frameworks {
            for &size in &self.sizes {
                for &batch in &self.batches {
                    out.push(Case {
                        framework: framework.clone(),
                        size,
                        batch,
                    });
                }
            }
        }
        out
    }
}

/// Whether `framework` (a valid name) has a `phase` step.
pub fn runs_phase(framework: &str, phase: Phase) -> bool {
    crate::frameworks::framework(framework).is_ok_and(|f| f.check_phase(phase).is_ok())
}

/// Whether `model` accepts `size`x`size` inputs in `phase` (Inception v3's
/// auxiliary classifier, train mode only, needs 299x299).
pub fn check_size(model: &str, size: usize, phase: Phase) -> Result<()> {
    let g = cnn_models::model(model)?;
    cnn_models::analysis::shapes_in(&g, size, phase == Phase::Train)
        .map(|_| ())
        .with_context(|| format!("size {size} cannot be used for {model} in {phase}"))
}

/// `gpu/train` → (Gpu(index), Train), or an error listing the valid names.
fn parse_run(run: &str, gpu: usize) -> Result<(Device, Phase)> {
    let (d, p) = run.split_once('/').with_context(|| {
        format!(
            "run `{run}` is not `device/phase` (devices: {}; phases: {})",
            DEVICES.join(", "),
            PHASES.join(", ")
        )
    })?;
    let device = match d {
        "cpu" => Device::Cpu,
        "gpu" => Device::Gpu(gpu),
        _ => bail!(
            "unknown device `{d}` in run `{run}`; valid devices: {}",
            DEVICES.join(", ")
        ),
    };
    let phase = match p {
        "train" => Phase::Train,
        "inference" => Phase::Inference,
        _ => bail!(
            "unknown phase `{p}` in run `{run}`; valid phases: {}",
            PHASES.join(", ")
        ),
    };
    Ok((device, phase))
}

/// One `CNN_BENCH_*` variable as a partial setting.
fn parse_var(key: &str, value: &str) -> Result<Settings> {
    let list = || {
        value
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>()
    };
    let nums = || -> Result<Vec<usize>> {
        list()
            .iter()
            .map(|v| {
                v.parse()
                    .with_context(|| format!("{key}: `{v}` is not a positive integer"))
            })
            .collect()
    };
    let num = || {
        value
            .trim()
            .parse::<usize>()
            .with_context(|| format!("{key}: `{value}` is not a non-negative integer"))
    };
    let seconds = || {
        value
            .trim()
            .parse::<f64>()
            .with_context(|| format!("{key}: `{value}` is not a number of seconds"))
    };
    let mut s = Settings::default();
    match key {
        // Read elsewhere: the file and profile here, the metric by the bench,
        // the run's options (and the harness's own markers) by `options`.
        "CNN_BENCH_CONFIG"
        | "CNN_BENCH_PROFILE"
        | "CNN_BENCH_MEASURE"
        | "CNN_BENCH_CHILD"
        | "CNN_BENCH_RUN_ID"
        | "CNN_BENCH_WEIGHTS"
        | "CNN_BENCH_RESUME"
        | "CNN_BENCH_RETRY_FAILED"
        | "CNN_BENCH_MAX_TIME"
        | "CNN_BENCH_SHARD"
        | "CNN_BENCH_HANG"
        | "CNN_BENCH_STEP_DELAY_MS" => {}
        "CNN_BENCH_ISOLATE" => {
            s.isolate = Some(match value.trim() {
                "none" => Isolate::None,
                "gpu" => Isolate::Gpu,
                "all" => Isolate::All,
                other => bail!(
                    "{key}: unknown value `{other}`; valid values: {}",
                    Isolate::NAMES.join(", ")
                ),
            })
        }
        "CNN_BENCH_MODELS" => s.models = Some(list()),
        "CNN_BENCH_SIZES" => s.sizes = Some(nums()?),
        "CNN_BENCH_BATCHES" => s.batches = Some(nums()?),
        "CNN_BENCH_FRAMEWORKS" => s.frameworks = Some(list()),
        "CNN_BENCH_RUNS" => s.runs = Some(list()),
        "CNN_BENCH_THREADS" => s.threads = Some(num()?),
        "CNN_BENCH_GPU" => s.gpu = Some(num()?),
        "CNN_BENCH_SEED" => s.seed = Some(num()? as u64),
        "CNN_BENCH_TARGET_SECONDS" => s.target_seconds = Some(seconds()?),
        "CNN_BENCH_BUDGET" => s.budget_seconds = Some(seconds()?),
        "CNN_BENCH_TIME_LIMIT" => s.time_limit_seconds = Some(seconds()?),
        _ => bail!(
            "unknown variable {key}; valid variables: {}",
            ENV_KEYS.join(", ")
        ),
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = include_str!("../cnn-bench.toml");

    fn grid(vars: &[(&str, &str)]) -> Result<Grid> {
        let vars = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Grid::from_parts(CONFIG, Path::new("cnn-bench.toml"), &vars)
    }

    fn err(vars: &[(&str, &str)]) -> String {
        format!("{:#}", grid(vars).unwrap_err())
    }

    #[test]
    fn defaults_are_the_studys_grid() {
        let g = grid(&[]).unwrap();
        let study = [
            "resnet18",
            "resnet50",
            "resnet152",
            "vgg16",
            "mobilenetv2",
            "efficientnetb4",
            "efficientnetb7",
        ];
        assert_eq!(g.models, study);
        assert_eq!(g.sizes, [128, 224, 320]);
        assert_eq!(g.batches, [1, 8, 16, 32]);
        assert_eq!(g.frameworks, ["tch", "tch-jit", "candle", "ort", "tract"]);
        let runs = [
            (Device::Gpu(0), Phase::Train),
            (Device::Gpu(0), Phase::Inference),
            (Device::Cpu, Phase::Inference),
        ];
        assert_eq!(g.runs, runs);
        assert_eq!(g.groups().len(), 7 * 3);
        assert_eq!(g.cases().len(), 5 * 3 * 4);
        assert!(g.threads >= 1);
    }

    #[test]
    fn profile_then_environment_override_the_file() {
        let g = grid(&[
            ("CNN_BENCH_PROFILE", "quick"),
            ("CNN_BENCH_BATCHES", "2, 4"),
            ("CNN_BENCH_GPU", "1"),
        ])
        .unwrap();
        assert_eq!(g.sizes, [128]);
        assert_eq!(g.batches, [2, 4]);
        assert_eq!(g.runs, [(Device::Cpu, Phase::Inference)]);
        assert_eq!(g.target_seconds, 1.0);
        let g = grid(&[
            ("CNN_BENCH_RUNS", "gpu/train"),
            ("CNN_BENCH_GPU", "1"),
            ("CNN_BENCH_THREADS", "3"),
        ])
        .unwrap();
        assert_eq!(g.runs, [(Device::Gpu(1), Phase::Train)]);
        assert_eq!(g.threads, 3);
        assert_eq!(g.isolate, Isolate::Gpu);
        let g = grid(&[("CNN_BENCH_ISOLATE", "all")]).unwrap();
        assert!(g.isolate.applies(Device::Cpu));
        let e = err(&[("CNN_BENCH_ISOLATE", "some")]);
        assert!(e.contains("valid values: none, gpu, all"), "{e}");
    }

    #[test]
    fn unknown_names_are_refused_with_the_valid_ones() {
        let e = err(&[("CNN_BENCH_MODELS", "resnet18,resnet1000")]);
        assert!(
            e.contains("unknown model `resnet1000`") && e.contains("efficientnetb7"),
            "{e}"
        );
        let e = err(&[("CNN_BENCH_FRAMEWORKS", "tch,tensorflow")]);
        assert!(
            e.contains("unknown framework `tensorflow`; valid frameworks: tch, tch-jit, candle, ort, tract"),
            "{e}"
        );
        let e = err(&[("CNN_BENCH_RUNS", "tpu/train")]);
        assert!(
            e.contains("unknown device `tpu`") && e.contains("cpu, gpu"),
            "{e}"
        );
        let e = err(&[("CNN_BENCH_RUNS", "cpu/finetune")]);
        assert!(
            e.contains("unknown phase `finetune`") && e.contains("train, inference"),
            "{e}"
        );
        let e = err(&[("CNN_BENCH_PROFILE", "fast")]);
        assert!(
            e.contains("unknown profile `fast`") && e.contains("quick"),
            "{e}"
        );
        let e = err(&[("CNN_BENCH_MODEL", "resnet18")]);
        assert!(
            e.contains("unknown variable CNN_BENCH_MODEL") && e.contains("CNN_BENCH_MODELS"),
            "{e}"
        );
        let e = err(&[("CNN_BENCH_SIZES", "224,big")]);
        assert!(e.contains("`big` is not a positive integer"), "{e}");
        let e = err(&[("CNN_BENCH_SIZES", "16")]);
        assert!(e.contains("16x16 input is too small"), "{e}");
    }

    #[test]
    fn a_filter_naming_a_model_outside_the_grid_selects_it() {
        let g = grid(&[]).unwrap();
        let f = |s: &str| Filter::from_args([s.to_string()]).unwrap();
        assert_eq!(g.widened_for(&f("resnet18/cpu")).models, g.models);
        assert_eq!(
            g.widened_for(&f("densenet121/cpu/inference")).models,
            ["densenet121"]
        );
        assert_eq!(g.widened_for(&f("^inception_v3/")).models, ["inception_v3"]);
        assert_eq!(g.widened_for(&f("alexnet")).models, g.models);
    }

    #[test]
    fn inputs_a_model_cannot_take_are_refused_when_the_grid_is_built() {
        let e = err(&[
            ("CNN_BENCH_MODELS", "inception_v3"),
            ("CNN_BENCH_SIZES", "64"),
            ("CNN_BENCH_RUNS", "cpu/inference"),
        ]);
        assert!(
            e.contains("size 64 cannot be used for inception_v3 in inference")
                && e.contains("too small"),
            "{e}"
        );
        let e = err(&[
            ("CNN_BENCH_MODELS", "inception_v3"),
            ("CNN_BENCH_SIZES", "224"),
            ("CNN_BENCH_RUNS", "cpu/train"),
        ]);
        assert!(
            e.contains("size 224 cannot be used for inception_v3 in train"),
            "{e}"
        );
        grid(&[
            ("CNN_BENCH_MODELS", "inception_v3"),
            ("CNN_BENCH_SIZES", "224"),
            ("CNN_BENCH_RUNS", "cpu/inference"),
        ])
        .unwrap();
        grid(&[
            ("CNN_BENCH_MODELS", "inception_v3"),
            ("CNN_BENCH_SIZES", "299"),
            ("CNN_BENCH_RUNS", "gpu/train"),
        ])
        .unwrap();
    }

    #[test]
    fn malformed_config_files_are_refused() {
        let vars = BTreeMap::new();
        let e = format!(
            "{:#}",
            Grid::from_parts("models = [\"resnet18\"", Path::new("x.toml"), &vars).unwrap_err()
        );
        assert!(e.contains("malformed grid config x.toml"), "{e}");
        let e = format!(
            "{:#}",
            Grid::from_parts("modles = []", Path::new("x.toml"), &vars).unwrap_err()
        );
        assert!(e.contains("unknown field `modles`"), "{e}");
        let text = CONFIG.replace("\"candle\",", "\"candel\",");
        let e = format!(
            "{:#}",
            Grid::from_parts(&text, Path::new("x.toml"), &vars).unwrap_err()
        );
        assert!(e.contains("unknown framework `candel`"), "{e}");
    }
}
