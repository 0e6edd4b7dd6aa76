//! `cnn-bench.json`: what the harness records per benchmark, next to
//! criterion's own files for it, and how it is read and written.

use crate::contention::OtherWork;
use crate::grid::{Case, Grid, Group};
use crate::identities::{Device, Framework, Metric, Phase, Status};
use crate::malloc::Malloc;
use crate::memory::MemoryRecord;
use crate::run_info::RunInfo;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One benchmark's outcome and figures. A field an older record lacks
/// reads as `None` when it is an `Option` (serde's rule) and as its
/// default where it says `#[serde(default)]`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    /// The model, the device (`cpu` or `gpu<index>`) and the phase: the
    /// criterion group, its fields at the record's top level.
    #[serde(flatten)]
    pub group: Group,
    /// The framework, the input size and the batch, likewise.
    #[serde(flatten)]
    pub case: Case,
    pub framework_version: String,
    pub threads: usize,
    /// The seed of weights and inputs (every record has one; a row read
    /// back from a published CSV without seeds has none).
    pub seed: Option<u64>,
    /// `ok` when it was measured (by criterion, or as an estimate), `failed`
    /// otherwise.
    pub status: Status,
    pub reason: Option<String>,
    /// The time limit (s) that stopped it, when one did.
    #[serde(default)]
    pub timed_out_after: Option<f64>,
    /// For a configuration not run because a smaller one ran past the time
    /// limit: that limit (s). A resumed run with a longer limit runs it.
    #[serde(default)]
    pub not_run_under: Option<f64>,
    /// Whether it ran in a process of its own.
    #[serde(default)]
    pub isolated: bool,
    /// What criterion's value is: `time` (ns per step) or `memory` (MiB);
    /// records written before it was recorded measured time.
    #[serde(default)]
    pub metric: Metric,
    /// The step timed before measuring, which sized criterion's sampling.
    pub first_step_seconds: Option<f64>,
    pub samples: Option<usize>,
    pub flat_sampling: Option<bool>,
    /// Set instead of criterion's statistics when criterion's minimum of 10
    /// samples did not fit the time budget: the mean of the steps that did.
    pub estimate: Option<StepEstimate>,
    /// Forward FLOPs of the batch, times 3 for a train step (forward plus a
    /// backward pass of about twice the forward's cost).
    pub flops_per_step: u64,
    /// Read after the measurement, with the model still alive.
    pub memory: Option<MemoryRecord>,
    /// This framework's matrix-product FLOP rate on this device (GFLOP/s,
    /// see `frameworks::peak_gflops`), measured in the same run.
    pub peak_gflops: Option<f64>,
    /// Seconds from the start of the benchmark to its record, preparation
    /// included; for an isolated one, its child process's whole life.
    pub wall_seconds: Option<f64>,
    /// The part of `wall_seconds` spent measuring (criterion's warm-up and
    /// samples, or an estimate's steps).
    pub measure_seconds: Option<f64>,
    /// Where `wall_seconds` went, stage by stage.
    #[serde(default)]
    pub stages: Option<Stages>,
    /// What else ran on the machine while it was measured (`None`: not
    /// measured, or recorded before it was read).
    #[serde(default)]
    pub other_work: Option<OtherWork>,
    /// What the measurement depends on besides the benchmark's id; a resumed
    /// run skips a benchmark only when these are equal.
    pub settings: Option<MeasuredWith>,
    /// The invocation that wrote it (kept when the harness restarts itself).
    #[serde(default)]
    pub run_id: String,
    /// The run's commit, date, versions and machine.
    #[serde(default)]
    pub run: RunInfo,
}

/// Why a recorded benchmark is measured again ([`Record::measured_again`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Again {
    /// Measured with other step code than this build's.
    OlderStepCode,
    /// Failed by a time limit shorter than its framework's now.
    ShorterLimit,
    /// Measured under another seed, target, budget or malloc than the
    /// grid's (a profile's, or another config's).
    OtherSettings,
}

impl Record {
    /// Whether it was measured with this build's step code; `None` for a
    /// record without its settings (older than them, or from a CSV written
    /// before they were in it).
    pub fn this_step_code(&self) -> Option<bool> {
        self.settings
            .as_ref()
            .map(|s| s.code == code(self.case.framework))
    }

    /// Whether it was measured with other step code than this build's (a
    /// resumed run measures it again); a record without its settings is not
    /// known to be: `false`.
    pub fn older_step_code(&self) -> bool {
        self.this_step_code() == Some(false)
    }

    /// Whether it failed by a time limit shorter than `limit` (stopped by
    /// it, or not run because a smaller configuration was): under `limit`
    /// it may finish, so a resumed run measures it again.
    pub fn failed_under_a_shorter_limit(&self, limit: f64) -> bool {
        self.status == Status::Failed
            && self
                .timed_out_after
                .or(self.not_run_under)
                .is_some_and(|l| l < limit)
    }

    /// Why a resumed run of `grid` measures its benchmark again: older
    /// step code first, else a failure by a time limit shorter than its
    /// framework's in `grid`, else settings other than `grid`'s. `None`:
    /// final, as far as the record and the grid go. The threads are not
    /// compared: one per core by default, the measuring machine's, which
    /// need not be this one (a GPU grid's state is published here); nor
    /// are the run's options (`CNN_BENCH_MEASURE`, the test-only delay).
    pub fn measured_again(&self, grid: &Grid) -> Option<Again> {
        if self.older_step_code() {
            Some(Again::OlderStepCode)
        } else if self.failed_under_a_shorter_limit(grid.time_limit(self.case.framework)) {
            Some(Again::ShorterLimit)
        } else if self.settings.as_ref().is_some_and(|s| !s.as_in(grid)) {
            Some(Again::OtherSettings)
        } else {
            None
        }
    }

    /// Whether it was measured while other work kept the machine busy (see
    /// `contention`): the report marks its figure, `--retry-busy` measures
    /// it again.
    pub fn beside_other_work(&self) -> bool {
        self.status == Status::Ok && self.other_work.as_ref().is_some_and(|w| w.busy())
    }

    /// Its framework, device and phase: a column of the report's tables.
    pub fn column(&self) -> (Framework, Device, Phase) {
        (self.case.framework, self.group.device, self.group.phase)
    }

    /// Whether it measured `case`'s framework on `group`'s device and phase
    /// (at any model, size and batch): the records a prediction scales.
    pub fn same_column(&self, group: &Group, case: &Case) -> bool {
        self.column() == (case.framework, group.device, group.phase)
    }
}

/// Seconds each stage of a benchmark lasted, from when it announced the
/// stage (see `measure::measure`) to the next: where its time went besides
/// the measurement (on a GPU, mostly preparing: CUDA's and the libraries'
/// start, autotuning).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stages {
    /// Its child process's start, until it began preparing (about 0 in
    /// the harness's own process).
    pub starting: Option<f64>,
    /// The step built, a warm-up step and the first timed step.
    pub preparing: Option<f64>,
    /// criterion's warm-up, samples and analysis, or an estimate's steps.
    pub measuring: Option<f64>,
    /// Memory read, the step freed, the matrix-product peak, the record
    /// written; for a child, until its process ended.
    pub finishing: Option<f64>,
}

impl Stages {
    /// The names a benchmark announces its stages by, in their order.
    pub const NAMES: [&str; 4] = ["starting", "preparing", "measuring", "finishing"];

    /// The stages that began at `times` (name, when), each lasting until
    /// the next began, the last until `end`; a name not of
    /// [`Stages::NAMES`] is left out.
    pub fn from_times(times: &[(String, Instant)], end: Instant) -> Stages {
        let mut s = Stages::default();
        for (i, (name, began)) in times.iter().enumerate() {
            let until = times.get(i + 1).map_or(end, |t| t.1);
            let secs = Some(until.saturating_duration_since(*began).as_secs_f64());
            match name.as_str() {
                "starting" => s.starting = secs,
                "preparing" => s.preparing = secs,
                "measuring" => s.measuring = secs,
                "finishing" => s.finishing = secs,
                _ => {}
            }
        }
        s
    }

    /// Each stage's seconds, in [`Stages::NAMES`]' order.
    pub fn seconds(&self) -> [Option<f64>; 4] {
        [
            self.starting,
            self.preparing,
            self.measuring,
            self.finishing,
        ]
    }

    /// `starting 0.5 s, preparing 4.1 s, ...`: the stages it has.
    pub fn said(&self) -> String {
        Stages::NAMES
            .iter()
            .zip(self.seconds())
            .filter_map(|(name, s)| Some(format!("{name} {:.1} s", s?)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A measurement with fewer steps than criterion's minimum, in criterion's
/// unit (ns per step, or MiB): shown as an estimate (`~61.2 s`), never
/// mixed with criterion's statistics.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepEstimate {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// Steps measured after the warm-up step (at least 2).
    pub steps: usize,
}

impl StepEstimate {
    /// The estimate of `values` (at least one).
    pub fn of(values: &[f64]) -> Self {
        let n = values.len().max(1) as f64;
        StepEstimate {
            mean: values.iter().sum::<f64>() / n,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            steps: values.len(),
        }
    }
}

/// The settings a measurement depends on: the code that builds and times a
/// step (see `build.rs`), and the grid keys that change what is measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeasuredWith {
    /// Hash of the framework's step code (models, its adapter and crates,
    /// inputs, timing), `build.rs`.
    pub code: String,
    pub threads: usize,
    pub seed: u64,
    pub target_seconds: f64,
    pub budget_seconds: f64,
    pub metric: Metric,
    pub step_delay_ms: f64,
    /// Absent from records made before the setting: glibc's defaults.
    #[serde(default)]
    pub malloc: Malloc,
}

impl MeasuredWith {
    /// Where it differs from `run`'s (a run's own), but for the step code:
    /// each as `name recorded (this run: value)`.
    pub fn differences(&self, run: &MeasuredWith) -> Vec<String> {
        let mut said = Vec::new();
        let mut differ = |name: &str, recorded: String, now: String| {
            if recorded != now {
                said.push(format!("{name} {recorded} (this run: {now})"));
            }
        };
        differ("threads", self.threads.to_string(), run.threads.to_string());
        differ("seed", self.seed.to_string(), run.seed.to_string());
        let secs = |s: f64| format!("{s} s");
        differ(
            "target",
            secs(self.target_seconds),
            secs(run.target_seconds),
        );
        differ(
            "budget",
            secs(self.budget_seconds),
            secs(run.budget_seconds),
        );
        differ(
            "malloc",
            self.malloc.name().into(),
            run.malloc.name().into(),
        );
        differ("metric", self.metric.to_string(), run.metric.to_string());
        let ms = |m: f64| format!("{m} ms");
        differ("step delay", ms(self.step_delay_ms), ms(run.step_delay_ms));
        said
    }

    /// Whether it is `grid`'s seed, target, budget and malloc.
    fn as_in(&self, grid: &Grid) -> bool {
        self.seed == grid.seed
            && self.target_seconds == grid.target_seconds
            && self.budget_seconds == grid.budget_seconds
            && self.malloc == grid.malloc
    }
}

/// The hash of `framework`'s step code this binary was built from (see
/// `build.rs`): a change to one framework's adapter or crates re-measures
/// its benchmarks only.
pub fn code(framework: Framework) -> &'static str {
    match framework {
        Framework::Tch => env!("STEP_CODE_HASH_TCH"),
        Framework::TchJit => env!("STEP_CODE_HASH_TCH_JIT"),
        Framework::TchVision => env!("STEP_CODE_HASH_TCH_VISION"),
        Framework::Candle => env!("STEP_CODE_HASH_CANDLE"),
        Framework::CandleTransformers => env!("STEP_CODE_HASH_CANDLE_TRANSFORMERS"),
        Framework::Pytorch => env!("STEP_CODE_HASH_PYTORCH"),
        Framework::Ort => env!("STEP_CODE_HASH_ORT"),
        Framework::Tract => env!("STEP_CODE_HASH_TRACT"),
        Framework::Tensorflow => env!("STEP_CODE_HASH_TENSORFLOW"),
        Framework::Burn => env!("STEP_CODE_HASH_BURN"),
    }
}

/// Where a benchmark's record lives.
pub fn record_path(out: &Path, group: &Group, case: &Case) -> PathBuf {
    benchmark_dir(out, &group.id(), case.framework.name(), &case.parameter()).join("cnn-bench.json")
}

/// Where the parent writes a benchmark's record: beside criterion's files,
/// and again in the baseline criterion copies this run's estimates to
/// (`baseline`, see [`crate::filter::saved_baseline`]), so that a saved
/// baseline is read back with its own run's record (its status, a slow
/// step's estimate, memory, machine), not with a later run's.
pub fn record_paths(
    out: &Path,
    group: &Group,
    case: &Case,
    baseline: Option<&str>,
) -> Vec<PathBuf> {
    let path = record_path(out, group, case);
    let saved = baseline.map(|b| path.with_file_name(b).join("cnn-bench.json"));
    std::iter::once(path).chain(saved).collect()
}

/// The folder criterion writes one benchmark's files to.
pub fn benchmark_dir(out: &Path, group: &str, function: &str, parameter: &str) -> PathBuf {
    // criterion's `make_filename_safe`
    let safe = |s: &str| s.replace(['?', '"', '/', '\\', '*', '<', '>', ':', '|', '^'], "_");
    out.join(safe(group))
        .join(safe(function))
        .join(safe(parameter))
}

/// Writes a record, replacing the previous run's (through a temporary file,
/// so a kill mid-write never leaves half a record).
pub fn write_record(out: &Path, group: &Group, case: &Case, record: &Record) -> Result<()> {
    write_path(&record_path(out, group, case), record)
}

/// Writes a record to `path` (see [`write_record`]).
pub fn write_path(path: &Path, record: &Record) -> Result<()> {
    std::fs::create_dir_all(path.parent().expect("a record lives in a folder"))
        .with_context(|| format!("creating the folder of {}", path.display()))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(record)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// The record of a benchmark, if one was written.
pub fn read_record(out: &Path, group: &Group, case: &Case) -> Result<Option<Record>> {
    let path = record_path(out, group, case);
    if !path.exists() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    parse_record(&text, &path).map(Some)
}

/// The record in `text`, read from `path`: an error names the file and
/// what to do about it.
pub fn parse_record(text: &str, path: &Path) -> Result<Record> {
    serde_json::from_str(text).with_context(|| {
        format!(
            "parsing {} (a record not written whole, or edited; a run measures that benchmark again and replaces it, or remove it)",
            path.display()
        )
    })
}

/// Removes a benchmark's record (before a child process writes a new one).
pub fn remove_record(out: &Path, group: &Group, case: &Case) {
    let _ = std::fs::remove_file(record_path(out, group, case));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{Device, Phase};

    #[test]
    fn each_framework_has_the_hash_of_its_own_step_code() {
        for fw in Framework::ALL {
            let h = code(fw);
            assert!(
                h.len() == 16 && h.chars().all(|c| c.is_ascii_hexdigit()),
                "{fw}: {h}"
            );
        }
        // tch-jit runs tch's adapter, nothing else; candle's code is other.
        assert_eq!(code(Framework::Tch), code(Framework::TchJit));
        assert_ne!(code(Framework::Tch), code(Framework::Candle));
        assert_ne!(code(Framework::Candle), code(Framework::CandleTransformers));
        assert_ne!(code(Framework::Ort), code(Framework::Tract));
    }

    /// A record as cnn-bench wrote them before identities were typed (and
    /// before the metric, the estimate and the timings were recorded).
    #[test]
    fn records_of_earlier_versions_still_read() {
        let old = r#"{
          "id": "resnet18/gpu/train/tch-jit/size224-batch32", "model": "resnet18",
          "device": "gpu0", "phase": "train", "framework": "tch-jit",
          "framework_version": "tch 0.24", "size": 224, "batch": 32, "threads": 16,
          "seed": 2021, "status": "failed", "reason": "CUDA out of memory",
          "first_step_seconds": null, "samples": null, "flat_sampling": null,
          "flops_per_step": 1, "memory": null
        }"#;
        let r: Record = serde_json::from_str(old).unwrap();
        assert_eq!(
            (
                r.group.device,
                r.group.phase,
                r.case.framework,
                r.status,
                r.metric
            ),
            (
                Device::Gpu(0),
                Phase::Train,
                Framework::TchJit,
                Status::Failed,
                Metric::Time
            )
        );
        assert!(r.estimate.is_none() && r.settings.is_none() && r.wall_seconds.is_none());
        let again = serde_json::to_value(&r).unwrap();
        assert_eq!(again["device"], "gpu0");
        assert_eq!(again["framework"], "tch-jit");
        assert_eq!(again["status"], "failed");
    }

    /// Settings recorded before `malloc` existed were glibc's defaults: a
    /// run with `retain` measures them again, one with `default` keeps them.
    #[test]
    fn settings_without_malloc_read_as_glibcs_defaults() {
        let old = r#"{"code": "0123456789abcdef", "threads": 2, "seed": 2021,
          "target_seconds": 5.0, "budget_seconds": 60.0, "metric": "time",
          "step_delay_ms": 0.0}"#;
        let s: MeasuredWith = serde_json::from_str(old).unwrap();
        assert_eq!(s.malloc, Malloc::Default);
        let retain = MeasuredWith {
            malloc: Malloc::Retain,
            ..s.clone()
        };
        assert_ne!(s, retain);
        assert_eq!(serde_json::to_value(&retain).unwrap()["malloc"], "retain");
    }

    #[test]
    fn records_round_trip_through_criterions_folder() {
        let out = std::env::temp_dir().join(format!("cnn-bench-records-{}", std::process::id()));
        let group = Group {
            model: "resnet18".into(),
            device: Device::Gpu(0),
            phase: Phase::Train,
        };
        let case = Case {
            framework: Framework::Tch,
            size: 224,
            batch: 32,
        };
        assert!(read_record(&out, &group, &case).unwrap().is_none());
        let record = Record {
            id: "resnet18/gpu/train/tch/size224-batch32".into(),
            status: Status::Failed,
            reason: Some("child process killed by signal 11".into()),
            estimate: Some(StepEstimate::of(&[3.0, 5.0])),
            ..Record::default()
        };
        write_record(&out, &group, &case, &record).unwrap();
        let path = out.join("resnet18_gpu_train/tch/size224-batch32/cnn-bench.json");
        assert!(path.exists(), "{}", path.display());
        let back = read_record(&out, &group, &case).unwrap().unwrap();
        assert_eq!(back.reason, record.reason);
        assert_eq!(back.status, Status::Failed);
        let e = back.estimate.unwrap();
        assert_eq!((e.mean, e.min, e.max, e.steps), (4.0, 3.0, 5.0, 2));
        std::fs::remove_dir_all(&out).unwrap();
    }
}
