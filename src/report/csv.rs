//! The tidy CSV: one row per benchmark with its figures and the run's
//! metadata.

use super::Row;
use crate::contention::OtherWork;
use crate::grid::{Case, Group};
use crate::identities::{Device, Framework, Metric, Phase, Status};
use crate::malloc::Malloc;
use crate::record::{MeasuredWith, Record, Stages};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One line of the tidy CSV: a benchmark with its figures and the run's
/// metadata. Missing figures are empty cells, never zeros.
#[derive(Debug, Serialize, Deserialize)]
pub struct CsvRow {
    pub model: String,
    pub device: Device,
    pub phase: Phase,
    pub framework: Framework,
    pub framework_version: String,
    pub size: usize,
    pub batch: usize,
    pub status: Status,
    pub reason: Option<String>,
    /// The time limit (s) that stopped it, or that stopped a smaller
    /// configuration so that it was not run: a resumed run with a longer
    /// limit measures it again (a CSV from before these: not known).
    #[serde(default)]
    pub timed_out_after: Option<f64>,
    #[serde(default)]
    pub not_run_under: Option<f64>,
    /// What criterion measured: `time` (the step-time columns are seconds)
    /// or `memory` (they are MiB).
    pub metric: Metric,
    pub mean: Option<f64>,
    pub mean_ci_low: Option<f64>,
    pub mean_ci_high: Option<f64>,
    /// `true` when `mean` is an estimate from `steps` steps (the budget did
    /// not fit criterion's 10 samples): no confidence interval, no median.
    #[serde(default)]
    pub estimate: bool,
    pub steps: Option<usize>,
    /// An estimate's fastest and slowest step, in the `mean`'s unit.
    pub estimate_min: Option<f64>,
    pub estimate_max: Option<f64>,
    pub median: Option<f64>,
    pub median_ci_low: Option<f64>,
    pub median_ci_high: Option<f64>,
    pub images_per_second: Option<f64>,
    /// `mean` over `pytorch`'s mean for the same configuration in the same
    /// report (PyTorch from Python, the reference column).
    pub relative_to_pytorch: Option<f64>,
    pub flops_per_step: u64,
    pub achieved_gflops: Option<f64>,
    /// The framework's matrix-product rate on the device, measured with the run.
    pub peak_gflops: Option<f64>,
    pub fraction_of_peak: Option<f64>,
    pub nvml_process_mib: Option<f64>,
    pub nvml_peak_mib: Option<f64>,
    pub device_used_mib: Option<f64>,
    pub peak_rss_mib: Option<f64>,
    pub threads: usize,
    pub isolated: bool,
    /// Seconds the whole benchmark took (its process, preparation included)
    /// and the part spent measuring.
    pub wall_seconds: Option<f64>,
    pub measure_seconds: Option<f64>,
    /// The rest of `wall_seconds`, stage by stage (`record::Stages`; a CSV
    /// from before they were recorded has none).
    #[serde(default)]
    pub starting_seconds: Option<f64>,
    #[serde(default)]
    pub preparing_seconds: Option<f64>,
    #[serde(default)]
    pub finishing_seconds: Option<f64>,
    /// What else ran while it was measured (`contention::OtherWork`): the
    /// machine's CPUs, those other processes kept busy on average and the
    /// hypervisor's steal among them, and the ids of other processes on its
    /// GPU, space-separated. Empty where not read (a CSV from before them).
    #[serde(default)]
    pub cpus: Option<usize>,
    #[serde(default)]
    pub other_cores: Option<f64>,
    #[serde(default)]
    pub steal_cores: Option<f64>,
    #[serde(default)]
    pub other_gpu_processes: Option<String>,
    pub git_commit: String,
    pub date: String,
    pub cpu_model: String,
    pub gpu: String,
    pub versions: String,
    /// glibc's malloc setting (a CSV from before it: glibc's defaults).
    #[serde(default)]
    pub malloc: Malloc,
    /// The seed of weights and inputs.
    #[serde(default)]
    pub seed: Option<u64>,
    /// The rest of what a resumed run compares (`record::MeasuredWith`,
    /// with threads, metric and malloc above): the hash of the framework's
    /// step code it was measured with, so that a report made again from
    /// this CSV marks a figure of older step code as the original did (`†`),
    /// criterion's target time, the budget and the test delay. Empty for a
    /// record without them; a CSV from before them has none, and its
    /// figures are not marked.
    #[serde(default)]
    pub step_code: Option<String>,
    #[serde(default)]
    pub target_seconds: Option<f64>,
    #[serde(default)]
    pub budget_seconds: Option<f64>,
    #[serde(default)]
    pub step_delay_ms: Option<f64>,
}

/// The CSV rows of a run.
pub fn csv_rows(rows: &[Row]) -> Vec<CsvRow> {
    // PyTorch's mean per configuration (the key without the framework).
    let config = |r: &Record| {
        let k = super::key(r);
        (k.0, k.1, k.2, k.3, k.4, r.metric)
    };
    // criterion's values are ns per step for time, MiB for memory; the
    // CSV's are seconds or MiB, each as `in_csv` writes it.
    let unit = |r: &Row| match r.record.metric {
        Metric::Time => 1e-9,
        Metric::Memory => 1.0,
    };
    let mean = |r: &Row| r.mean().map(|m| in_csv(m, unit(r)));
    let pytorch: std::collections::HashMap<_, f64> = rows
        .iter()
        .filter(|r| r.record.case.framework == Framework::Pytorch)
        .filter_map(|r| Some((config(&r.record), mean(r)?)))
        .collect();
    rows.iter()
        .map(|r| {
            let rec = &r.record;
            let time = rec.metric == Metric::Time;
            let to_csv = |v: f64| in_csv(v, unit(r));
            let e = r.estimates;
            let rough = r.estimate();
            // What is derived from the mean is derived from the CSV's, so a
            // CSV read and written again has the same figures.
            let mean_s = mean(r).filter(|_| time);
            let mem = rec.memory.as_ref();
            let settings = rec.settings.as_ref();
            let other = rec.other_work.as_ref();
            CsvRow {
                model: rec.group.model.clone(),
                device: rec.group.device,
                phase: rec.group.phase,
                framework: rec.case.framework,
                framework_version: rec.framework_version.clone(),
                size: rec.case.size,
                batch: rec.case.batch,
                status: rec.status,
                reason: rec.reason.clone(),
                timed_out_after: rec.timed_out_after,
                not_run_under: rec.not_run_under,
                metric: rec.metric,
                mean: mean(r),
                mean_ci_low: e.map(|e| to_csv(e.mean.low)),
                mean_ci_high: e.map(|e| to_csv(e.mean.high)),
                estimate: rough.is_some(),
                steps: rough.map(|e| e.steps),
                estimate_min: rough.map(|e| to_csv(e.min)),
                estimate_max: rough.map(|e| to_csv(e.max)),
                median: e.map(|e| to_csv(e.median.point)),
                median_ci_low: e.map(|e| to_csv(e.median.low)),
                median_ci_high: e.map(|e| to_csv(e.median.high)),
                images_per_second: mean_s.map(|s| rec.case.batch as f64 / s),
                relative_to_pytorch: mean(r).zip(pytorch.get(&config(rec))).map(|(m, p)| m / p),
                flops_per_step: rec.flops_per_step,
                achieved_gflops: mean_s.map(|s| rec.flops_per_step as f64 / s / 1e9),
                peak_gflops: rec.peak_gflops,
                fraction_of_peak: mean_s
                    .zip(rec.peak_gflops)
                    .map(|(s, peak)| rec.flops_per_step as f64 / s / 1e9 / peak),
                nvml_process_mib: mem.and_then(|m| m.nvml_process_mib.mib()),
                nvml_peak_mib: mem.and_then(|m| m.nvml_peak_mib.mib()),
                device_used_mib: mem.and_then(|m| m.device_used_mib.mib()),
                peak_rss_mib: mem.and_then(|m| m.peak_rss_mib.mib()),
                threads: rec.threads,
                isolated: rec.isolated,
                wall_seconds: rec.wall_seconds,
                measure_seconds: rec.measure_seconds,
                starting_seconds: rec.stages.and_then(|s| s.starting),
                preparing_seconds: rec.stages.and_then(|s| s.preparing),
                finishing_seconds: rec.stages.and_then(|s| s.finishing),
                cpus: other.map(|w| w.cpus),
                other_cores: other.map(|w| w.other_cores),
                steal_cores: other.map(|w| w.steal_cores),
                other_gpu_processes: other.and_then(|w| w.gpu_processes.as_ref()).map(|p| {
                    p.iter()
                        .map(|p| p.to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                }),
                git_commit: rec.run.git_commit.clone(),
                date: rec.run.date.clone(),
                cpu_model: rec.run.cpu_model.clone(),
                gpu: rec.run.gpu.clone(),
                versions: rec.run.versions.clone(),
                malloc: rec.run.malloc,
                seed: rec.seed,
                step_code: settings.map(|s| s.code.clone()),
                target_seconds: settings.map(|s| s.target_seconds),
                budget_seconds: settings.map(|s| s.budget_seconds),
                step_delay_ms: settings.map(|s| s.step_delay_ms),
            }
        })
        .collect()
}

/// `v` (criterion's unit) times `unit` (to the CSV's), to 12 significant
/// digits, far below any measurement's noise: converted back (the rows of a
/// published CSV) and written again it is the same number, where the full
/// product drifted a digit in its last place each time.
fn in_csv(v: f64, unit: f64) -> f64 {
    format!("{:.11e}", v * unit)
        .parse()
        .expect("a float's own formatting parses")
}

/// Writes the CSV of `rows` to `path`.
pub fn write_csv(rows: &[Row], path: &Path) -> Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("creating {}", path.display()))?;
    for row in csv_rows(rows) {
        w.serialize(row)?;
    }
    w.flush()?;
    Ok(())
}

/// The columns that name a benchmark in a report.csv: a CSV without them is
/// some other file.
const IDENTITY: &[&str] = &[
    "model",
    "device",
    "phase",
    "framework",
    "size",
    "batch",
    "metric",
];

/// The rows of a published report.csv, as if read from criterion's folder:
/// a report (tables, figures, index.html) can be made again from it.
pub fn rows_from_csv(path: &Path) -> Result<Vec<Row>> {
    use crate::memory::{MemoryRecord, Reading};
    use crate::record::StepEstimate;
    use crate::report::{Estimates, Interval};
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let header = reader
        .headers()
        .with_context(|| format!("reading {}", path.display()))?;
    let lacks: Vec<&str> = IDENTITY
        .iter()
        .copied()
        .filter(|c| !header.iter().any(|h| h == *c))
        .collect();
    anyhow::ensure!(
        lacks.is_empty(),
        "{} is not a cnn-bench report.csv: its header lacks {} (a report's CSV, as `cnn-bench report` writes it, is wanted)",
        path.display(),
        lacks.join(", ")
    );
    let mut rows = Vec::new();
    for line in reader.deserialize() {
        let c: CsvRow = line.with_context(|| format!("parsing {}", path.display()))?;
        // Back to criterion's units: ns per step for time, MiB for memory.
        let unit = if c.metric == Metric::Time { 1e9 } else { 1.0 };
        let interval = |p: Option<f64>, lo: Option<f64>, hi: Option<f64>| {
            Some(Interval {
                point: p? * unit,
                low: lo? * unit,
                high: hi? * unit,
            })
        };
        let mean = interval(c.mean, c.mean_ci_low, c.mean_ci_high);
        let median = interval(c.median, c.median_ci_low, c.median_ci_high);
        let estimates = match (mean, median) {
            (Some(mean), Some(median)) if !c.estimate => Some(Estimates { mean, median }),
            _ => None,
        };
        let estimate = match (c.estimate, c.mean) {
            (true, Some(m)) => Some(StepEstimate {
                mean: m * unit,
                min: c.estimate_min.unwrap_or(m) * unit,
                max: c.estimate_max.unwrap_or(m) * unit,
                steps: c.steps.unwrap_or(0),
            }),
            _ => None,
        };
        let reading = |v: Option<f64>| match v {
            Some(v) => Reading::Mib(v),
            None => Reading::Unavailable("not in the report's CSV".into()),
        };
        let memory = Some(MemoryRecord {
            nvml_process_mib: reading(c.nvml_process_mib),
            nvml_peak_mib: reading(c.nvml_peak_mib),
            device_used_mib: reading(c.device_used_mib),
            allocator_peak_mib: reading(None),
            peak_rss_mib: reading(c.peak_rss_mib),
            sampled: Default::default(),
        });
        let group = Group {
            model: c.model,
            device: c.device,
            phase: c.phase,
        };
        let case = Case {
            framework: c.framework,
            size: c.size,
            batch: c.batch,
        };
        let written = (c.target_seconds, c.budget_seconds, c.step_delay_ms);
        let settings = match (c.step_code, c.seed, written) {
            (Some(code), Some(seed), (Some(target_seconds), Some(budget_seconds), Some(delay))) => {
                Some(MeasuredWith {
                    code,
                    threads: c.threads,
                    seed,
                    target_seconds,
                    budget_seconds,
                    metric: c.metric,
                    step_delay_ms: delay,
                    malloc: c.malloc,
                })
            }
            _ => None,
        };
        let other_work = match (c.cpus, c.other_cores) {
            (Some(cpus), Some(other_cores)) => Some(OtherWork {
                cpus,
                other_cores,
                steal_cores: c.steal_cores.unwrap_or(0.0),
                gpu_processes: c.other_gpu_processes.as_deref().map(|p| {
                    p.split_whitespace()
                        .filter_map(|p| p.parse().ok())
                        .collect()
                }),
            }),
            _ => None,
        };
        rows.push(Row {
            record: Record {
                id: group.bench_id(&case),
                group,
                case,
                framework_version: c.framework_version,
                threads: c.threads,
                seed: c.seed,
                status: c.status,
                reason: c.reason,
                timed_out_after: c.timed_out_after,
                not_run_under: c.not_run_under,
                isolated: c.isolated,
                metric: c.metric,
                estimate,
                flops_per_step: c.flops_per_step,
                memory,
                peak_gflops: c.peak_gflops,
                wall_seconds: c.wall_seconds,
                measure_seconds: c.measure_seconds,
                stages: (c.starting_seconds.is_some()
                    || c.preparing_seconds.is_some()
                    || c.finishing_seconds.is_some())
                .then_some(Stages {
                    starting: c.starting_seconds,
                    preparing: c.preparing_seconds,
                    measuring: None,
                    finishing: c.finishing_seconds,
                }),
                other_work,
                run: crate::run_info::RunInfo {
                    git_commit: c.git_commit,
                    date: c.date,
                    versions: c.versions,
                    cpu_model: c.cpu_model,
                    gpu: c.gpu,
                    malloc: c.malloc,
                },
                settings,
                ..Record::default()
            },
            estimates,
            root: path.to_path_buf(),
            dir: PathBuf::new(),
        });
    }
    anyhow::ensure!(
        !rows.is_empty(),
        "{} holds no benchmark (a header alone)",
        path.display()
    );
    Ok(rows)
}
