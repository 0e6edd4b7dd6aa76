//! The grid's configuration: `cnn-bench.toml`, a named profile in it, then
//! `CNN_BENCH_*` environment variables, validated so that a misspelt name
//! fails before anything runs.

use crate::grid::{Device, Framework, Grid, Isolate, Malloc, Phase, DEVICES, PHASES};
use anyhow::{bail, ensure, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

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
    time_limit_by_framework: Option<BTreeMap<String, f64>>,
    isolate: Option<Isolate>,
    malloc: Option<Malloc>,
    #[serde(default)]
    profiles: BTreeMap<String, Settings>,
}

impl Settings {
    /// `other`'s keys replace ours.
    fn overlay(&mut self, other: Settings) {
        macro_rules! take {
            ($($k:ident),*) => { $( if other.$k.is_some() { self.$k = other.$k; } )* };
        }
        take!(models, sizes, batches, frameworks, runs, threads);
        take!(gpu, seed, target_seconds, budget_seconds);
        take!(time_limit_seconds, time_limit_by_framework, isolate, malloc);
    }
}

/// The `CNN_BENCH_*` variables a user sets, with what each does: for the
/// error naming the valid ones and `cargo bench -- --help`.
pub const ENV_VARS: &[(&str, &str)] = &[
    (
        "CNN_BENCH_CONFIG",
        "the grid's config file (default: cnn-bench.toml)",
    ),
    (
        "CNN_BENCH_PROFILE",
        "a [profiles.*] table of the config applied first (e.g. quick)",
    ),
    (
        "CNN_BENCH_MODELS",
        "models, comma-separated (e.g. resnet18,vgg16)",
    ),
    ("CNN_BENCH_SIZES", "input sizes (e.g. 224)"),
    ("CNN_BENCH_BATCHES", "batch sizes (e.g. 1,32)"),
    ("CNN_BENCH_FRAMEWORKS", "frameworks (e.g. tch,candle)"),
    (
        "CNN_BENCH_RUNS",
        "device/phase pairs (e.g. gpu/train,cpu/inference)",
    ),
    (
        "CNN_BENCH_THREADS",
        "CPU threads per framework (0: one per core)",
    ),
    ("CNN_BENCH_GPU", "the CUDA device's index"),
    ("CNN_BENCH_SEED", "the seed of weights and inputs"),
    ("CNN_BENCH_TARGET_SECONDS", "criterion's time per benchmark"),
    (
        "CNN_BENCH_BUDGET",
        "most measurement per benchmark; beyond it, an estimate",
    ),
    (
        "CNN_BENCH_TIME_LIMIT",
        "a benchmark still running after this is stopped, failed",
    ),
    (
        "CNN_BENCH_TIME_LIMIT_BY_FRAMEWORK",
        "other limits, e.g. burn=300 (its kernels compile)",
    ),
    (
        "CNN_BENCH_ISOLATE",
        "a process per benchmark: none, gpu or all",
    ),
    (
        "CNN_BENCH_MALLOC",
        "glibc's malloc in the benchmark processes: default or retain",
    ),
    (
        "CNN_BENCH_MEASURE",
        "what criterion measures: time or memory",
    ),
    ("CNN_BENCH_RESUME", "1: as --resume"),
    ("CNN_BENCH_RETRY_FAILED", "1: as --retry-failed"),
    ("CNN_BENCH_RETRY_BUSY", "1: as --retry-busy"),
    ("CNN_BENCH_NEW_ONLY", "1: as --new-only"),
    ("CNN_BENCH_MAX_TIME", "as --max-time"),
    ("CNN_BENCH_SHARD", "as --shard"),
    (
        "CNN_BENCH_REPORT",
        "the report's folder (none or 0: no report)",
    ),
    (
        "CNN_BENCH_PYTHON",
        "the Python with torch and torchvision for `pytorch`",
    ),
    (
        "CNN_BENCH_STEP_DELAY_MS",
        "test only: a delay added to every step",
    ),
    (
        "CNN_BENCH_HANG",
        "test only: hang when a stage begins (stage[@id regex])",
    ),
    (
        "CNN_BENCH_ABORT",
        "test only: abort the process when a stage begins (stage[@id regex]), as a crash would",
    ),
];

/// The harness's one reading of the environment: every `CNN_BENCH_*`
/// variable, from which the grid (here) and the run's options (`options`)
/// are made. (criterion's own `CRITERION_HOME` and `CARGO_TARGET_DIR`, and
/// the libraries' `ORT_DYLIB_PATH`, are read where they are used.)
pub fn cnn_bench_vars() -> BTreeMap<String, String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("CNN_BENCH_"))
        .collect()
}

impl Grid {
    /// The grid of `cnn-bench.toml` (or `$CNN_BENCH_CONFIG`), with the
    /// profile and variables of the process environment applied.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(&cnn_bench_vars())
    }

    /// The grid of `cnn-bench.toml` (or `CNN_BENCH_CONFIG` in `vars`) with
    /// the profile and variables of `vars` applied.
    pub fn from_vars(vars: &BTreeMap<String, String>) -> Result<Self> {
        let path = vars
            .get("CNN_BENCH_CONFIG")
            .cloned()
            .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/cnn-bench.toml").to_string());
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the grid config {path}"))?;
        Self::from_parts(&text, Path::new(&path), vars)
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
        let framework_names = s.frameworks.with_context(|| need("frameworks"))?;
        let frameworks = framework_names
            .iter()
            .map(|f| Framework::parse(f).map_err(anyhow::Error::msg))
            .collect::<Result<Vec<_>>>()?;
        let gpu = s.gpu.unwrap_or(0);
        let run_names = s.runs.with_context(|| need("runs"))?;
        let runs = run_names
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
        // A value given twice made each of its benchmarks twice: criterion
        // stopped at the second in one process (a panic), and in child
        // processes each ran twice, the second over the first's record.
        let twice = [
            ("models", first_again(&models).map(|i| models[i].clone())),
            (
                "frameworks",
                first_again(&frameworks).map(|i| framework_names[i].clone()),
            ),
            ("runs", first_again(&runs).map(|i| run_names[i].clone())),
            ("sizes", first_again(&sizes).map(|i| sizes[i].to_string())),
            (
                "batches",
                first_again(&batches).map(|i| batches[i].to_string()),
            ),
        ];
        for (what, again) in twice {
            if let Some(v) = again {
                bail!("`{what}` lists `{v}` twice (each of its benchmarks would be run twice: criterion stops at the second, or, isolated, it is measured again over the first's record); list it once");
            }
        }
        ensure!(
            !models.is_empty() && !frameworks.is_empty() && !runs.is_empty(),
            "`models`, `frameworks` and `runs` must not be empty"
        );
        let target_seconds = s.target_seconds.unwrap_or(5.0);
        let budget_seconds = s.budget_seconds.unwrap_or(60.0);
        let time_limit_seconds = s.time_limit_seconds.unwrap_or(900.0);
        for (key, v) in [
            ("target_seconds", target_seconds),
            ("budget_seconds", budget_seconds),
            ("time_limit_seconds", time_limit_seconds),
        ] {
            ensure!(
                seconds(v),
                "`{key}` must be a positive number of seconds, at most {MAX_SECONDS:e}, got {v}"
            );
        }
        let mut time_limit_by_framework = BTreeMap::new();
        for (name, &v) in s.time_limit_by_framework.iter().flatten() {
            let f = Framework::parse(name)
                .map_err(|e| anyhow::anyhow!("`time_limit_by_framework`: {e}"))?;
            ensure!(
                seconds(v),
                "`time_limit_by_framework`: {name}'s must be a positive number of seconds, at most {MAX_SECONDS:e}, got {v}"
            );
            time_limit_by_framework.insert(f, v);
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
            time_limit_by_framework,
            isolate: s.isolate.unwrap_or(Isolate::Gpu),
            // Not glibc's own: see `malloc.rs` (absent from a record, it was).
            malloc: s.malloc.unwrap_or(Malloc::Retain),
        })
    }
}

/// The index of the first item `list` holds again after an equal one.
fn first_again<T: PartialEq>(list: &[T]) -> Option<usize> {
    (0..list.len()).find(|&i| list[..i].contains(&list[i]))
}

/// The longest time a grid's setting may hold: over 31 years, and far
/// inside what a clock's instant holds (1e20 s panicked adding it to one).
const MAX_SECONDS: f64 = 1e9;

/// Whether `v` is a time a grid's setting may hold.
fn seconds(v: f64) -> bool {
    v > 0.0 && v <= MAX_SECONDS
}

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
        | "CNN_BENCH_RUN_INFO"
        | "CNN_BENCH_GIT_COMMIT"
        | "CNN_BENCH_PYTORCH_ZYGOTE"
        | "CNN_BENCH_PYTHON"
        | "CNN_BENCH_WEIGHTS"
        | "CNN_BENCH_RESUME"
        | "CNN_BENCH_RETRY_FAILED"
        | "CNN_BENCH_RETRY_BUSY"
        | "CNN_BENCH_NEW_ONLY"
        | "CNN_BENCH_MAX_TIME"
        | "CNN_BENCH_SHARD"
        | "CNN_BENCH_HANG"
        | "CNN_BENCH_ABORT"
        | "CNN_BENCH_REPORT"
        | "CNN_BENCH_STEP_DELAY_MS" => {}
        "CNN_BENCH_ISOLATE" => {
            s.isolate = Some(Isolate::parse(value).with_context(|| key.to_string())?)
        }
        "CNN_BENCH_MALLOC" => {
            s.malloc = Some(Malloc::parse(value).with_context(|| key.to_string())?)
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
        "CNN_BENCH_TIME_LIMIT_BY_FRAMEWORK" => {
            let mut by = BTreeMap::new();
            for pair in list() {
                let (f, v) = pair.split_once('=').with_context(|| {
                    format!("{key}: `{pair}` is not framework=seconds (e.g. burn=300)")
                })?;
                let v = v
                    .trim()
                    .parse::<f64>()
                    .with_context(|| format!("{key}: `{v}` is not a number of seconds"))?;
                by.insert(f.trim().to_string(), v);
            }
            s.time_limit_by_framework = Some(by);
        }
        _ => bail!(
            "unknown variable {key}; valid variables: {}",
            ENV_VARS.iter().map(|v| v.0).collect::<Vec<_>>().join(", ")
        ),
    }
    Ok(s)
}
