//! Reports from criterion's output folders: the study's tables (a document
//! model rendered as Markdown and as the HTML index page), a tidy CSV with
//! the run's metadata, and the comparison of two runs.
//!
//! Every row comes from a benchmark's `cnn-bench.json` and, when it was
//! measured, criterion's `estimates.json` in the same folder: a failed or
//! unmeasured benchmark shows as `-` with its reason, never as a number.

use crate::identities::{Device, Framework, Phase};
use crate::record::{Record, StepEstimate};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

mod appendix;
mod by_model;
mod compare;
mod coverage;
mod csv;
mod document;
mod html;
mod markdown;
pub(crate) mod study;
mod summary;

pub use compare::*;
pub use coverage::Coverage;
pub use csv::*;
pub use document::{document, document_awaiting, Cell, Section, Table};
pub use html::{index_html, index_page};
pub use markdown::{figure_images, markdown, render};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A point estimate with criterion's 95% confidence interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub point: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// Whether two intervals overlap: their difference is within noise.
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.low <= other.high && other.low <= self.high
    }
}

/// criterion's estimates of one benchmark (nanoseconds per step, or MiB when
/// memory was measured).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimates {
    pub mean: Interval,
    pub median: Interval,
}

/// One benchmark of a run.
#[derive(Clone, Debug)]
pub struct Row {
    pub record: Record,
    /// `None` when criterion has no estimate (a failed benchmark, or one
    /// measured as an estimate: see [`Row::mean`]).
    pub estimates: Option<Estimates>,
    /// The criterion folder it was read from (for a row of a published
    /// CSV, that file: what a merge's warning names).
    pub root: PathBuf,
    /// criterion's folder for this benchmark, relative to `root`.
    pub dir: PathBuf,
}

impl Row {
    /// The mean in criterion's unit: criterion's, or the estimate's.
    pub fn mean(&self) -> Option<f64> {
        self.estimates
            .map(|e| e.mean.point)
            .or_else(|| self.estimate().map(|e| e.mean))
    }

    /// The estimate it was measured as, when the budget did not fit
    /// criterion's minimum.
    pub fn estimate(&self) -> Option<StepEstimate> {
        self.record
            .estimate
            .filter(|_| self.record.status == crate::identities::Status::Ok)
    }

    /// Its memory figures, when it was measured (a failed benchmark's are
    /// not its own).
    pub fn memory(&self) -> Option<&crate::memory::MemoryRecord> {
        self.record
            .memory
            .as_ref()
            .filter(|_| self.record.status == crate::identities::Status::Ok)
    }

    /// The machine that measured it: the GPU for a GPU benchmark, the CPU
    /// model for a CPU one.
    pub fn machine(&self) -> String {
        machine(
            self.record.group.device,
            &self.record.run.cpu_model,
            &self.record.run.gpu,
        )
    }

    /// See [`Record::older_step_code`].
    pub fn older_step_code(&self) -> bool {
        self.record.older_step_code()
    }

    /// See [`Record::beside_other_work`]; a row without a figure has
    /// nothing to mark.
    pub fn beside_other_work(&self) -> bool {
        self.mean().is_some() && self.record.beside_other_work()
    }
}

/// The machine of a result on `device`: its GPU, or its CPU model.
pub fn machine(device: Device, cpu_model: &str, gpu: &str) -> String {
    if device.is_gpu() {
        gpu.to_string()
    } else {
        cpu_model.to_string()
    }
}

#[derive(Deserialize)]
struct RawInterval {
    lower_bound: f64,
    upper_bound: f64,
}

#[derive(Deserialize)]
struct RawEstimate {
    point_estimate: f64,
    confidence_interval: RawInterval,
}

#[derive(Deserialize)]
struct RawEstimates {
    mean: RawEstimate,
    median: RawEstimate,
}

fn interval(e: &RawEstimate) -> Interval {
    Interval {
        point: e.point_estimate,
        low: e.confidence_interval.lower_bound,
        high: e.confidence_interval.upper_bound,
    }
}

/// Reads criterion's `estimates.json`.
pub fn read_estimates(path: &Path) -> Result<Estimates> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let raw: RawEstimates =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(Estimates {
        mean: interval(&raw.mean),
        median: interval(&raw.median),
    })
}

/// Every benchmark under `root` (criterion's folder) with its estimates
/// from `baseline` (`new`: the latest run; or one criterion saved: the name
/// given to `--save-baseline`, or its default `base`), sorted by id. A saved
/// baseline's rows are the benchmarks it holds, each with the record its
/// own run wrote there (`record::record_paths`); one saved before cnn-bench
/// kept that record (criterion's estimates alone) is read with the latest
/// run's record, as it was then, and a warning says how many.
pub fn collect(root: &Path, baseline: &str) -> Result<Vec<Row>> {
    // "" read each benchmark's own folder as its baseline's.
    anyhow::ensure!(
        crate::filter::is_folder_name(baseline),
        "baseline `{baseline}`: a baseline's name is one folder's name (not empty, without `/`, not `.` or `..`), e.g. `new` (the latest run) or `main`"
    );
    let dirs = benchmark_dirs(root)?;
    if dirs.is_empty() {
        bail!(
            "no cnn-bench results under {} (run `cargo bench` first)",
            root.display()
        );
    }
    let (mut rows, mut without_record) = (Vec::new(), 0);
    for bench in &dirs {
        let saved = bench.join(baseline);
        let record_path = if baseline == "new" {
            bench.join("cnn-bench.json")
        } else if saved.join("cnn-bench.json").exists() {
            saved.join("cnn-bench.json")
        } else if saved.join("estimates.json").exists() {
            without_record += 1;
            bench.join("cnn-bench.json")
        } else {
            continue;
        };
        let text = std::fs::read_to_string(&record_path)
            .with_context(|| format!("reading {}", record_path.display()))?;
        let record = crate::record::parse_record(&text, &record_path)?;
        let est = bench.join(baseline).join("estimates.json");
        // An estimate's folder may hold an earlier criterion run's files.
        let estimates = if record.status == crate::identities::Status::Ok
            && record.estimate.is_none()
            && est.exists()
        {
            Some(read_estimates(&est)?)
        } else {
            None
        };
        let dir = bench.strip_prefix(root).unwrap_or(bench).to_path_buf();
        rows.push(Row {
            record,
            estimates,
            root: root.to_path_buf(),
            dir,
        });
    }
    // A saved baseline's name that is not there (a typo, or one never
    // saved) would otherwise read as an empty run.
    if rows.is_empty() {
        let mut saved: Vec<String> = dirs
            .iter()
            .flat_map(|d| read_dir(d).unwrap_or_default())
            .filter(|d| d.join("estimates.json").exists() || d.join("cnn-bench.json").exists())
            .filter_map(|d| Some(d.file_name()?.to_string_lossy().into_owned()))
            // criterion's comparison with the last run, not a run.
            .filter(|name| name != "change")
            .collect();
        saved.sort();
        saved.dedup();
        bail!(
            "no benchmark under {} is in the baseline `{baseline}`; it has: {} (`new` is the latest run; `cargo bench -- --save-baseline NAME` saves one)",
            root.display(),
            if saved.is_empty() { "none".to_string() } else { saved.join(", ") }
        );
    }
    if without_record > 0 {
        eprintln!(
            "cnn-bench: warning: {without_record} benchmark(s) of the baseline `{baseline}` under {} were saved without their record (by cnn-bench before 2026-12-06): their status, memory and machine are the latest run's",
            root.display()
        );
    }
    rows.sort_by_key(|r| key(&r.record));
    Ok(rows)
}

/// The folders under `root` (criterion's: group/function/parameter) that
/// hold a benchmark's record.
fn benchmark_dirs(root: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for group in read_dir(root)? {
        for function in read_dir(&group)? {
            for bench in read_dir(&function)? {
                if bench.join("cnn-bench.json").exists() {
                    dirs.push(bench);
                }
            }
        }
    }
    Ok(dirs)
}

/// Whether `root`, an existing folder, holds no benchmark's record yet
/// (a grid not started): `report --grid` then says what is left rather
/// than failing. A folder that cannot be read is not empty: `collect`
/// says why.
pub fn holds_no_records(root: &Path) -> bool {
    root.is_dir() && benchmark_dirs(root).is_ok_and(|d| d.is_empty())
}

/// The benchmarks of several criterion folders (slices or shards of one
/// grid, from several machines) as one run ([`merge`]).
pub fn collect_many(roots: &[PathBuf], baseline: &str) -> Result<(Vec<Row>, Vec<String>)> {
    let runs = roots
        .iter()
        .map(|root| collect(root, baseline))
        .collect::<Result<Vec<_>>>()?;
    Ok(merge(runs))
}

/// Several runs' rows (criterion folders, or published CSVs) as one run: a
/// benchmark found in more than one is taken from the run that started
/// last (the first given where both are of one run); the warnings say so,
/// one per pair of runs that share benchmarks (a shard given twice would
/// otherwise say it once per benchmark).
pub fn merge(runs: Vec<Vec<Row>>) -> (Vec<Row>, Vec<String>) {
    let mut by_id: BTreeMap<String, Row> = BTreeMap::new();
    let mut overlaps: Vec<Overlap> = Vec::new();
    for row in runs.into_iter().flatten() {
        let Some(old) = by_id.get(&row.record.id) else {
            by_id.insert(row.record.id.clone(), row);
            continue;
        };
        let later = row.record.run.date > old.record.run.date;
        let pair = (old.root.clone(), row.root.clone());
        let at = match overlaps.iter().position(|o| o.pair == pair) {
            Some(at) => at,
            None => {
                overlaps.push(Overlap {
                    pair,
                    ids: Vec::new(),
                    kept: [0, 0],
                    same_run: 0,
                });
                overlaps.len() - 1
            }
        };
        let o = &mut overlaps[at];
        o.ids.push(row.record.id.clone());
        o.kept[usize::from(later)] += 1;
        o.same_run += usize::from(row.record.run.date == old.record.run.date);
        if later {
            by_id.insert(row.record.id.clone(), row);
        }
    }
    let mut rows: Vec<Row> = by_id.into_values().collect();
    rows.sort_by_key(|r| key(&r.record));
    (rows, overlaps.iter().map(Overlap::said).collect())
}

/// The benchmarks two runs (`pair`: the one given first, then the other)
/// both hold, and how many of them were kept from each.
struct Overlap {
    pair: (PathBuf, PathBuf),
    ids: Vec<String>,
    kept: [usize; 2],
    /// Of these, how many have one run's date in both (kept from the first).
    same_run: usize,
}

impl Overlap {
    fn said(&self) -> String {
        let (a, b) = (self.pair.0.display(), self.pair.1.display());
        let n = self.ids.len();
        if self.pair.0 == self.pair.1 {
            return format!("{a} is given twice: its {n} benchmark(s) are counted once");
        }
        if n == 1 {
            let (why, k) = match (self.same_run, self.kept[1]) {
                (1, _) => ("the first given", &a),
                (_, 1) => ("the later run's", &b),
                _ => ("the later run's", &a),
            };
            return format!("{} is in {a} and {b}; {why}, {k}, is kept", self.ids[0]);
        }
        let examples = self.ids[..n.min(3)].join(", ");
        let more = if n > 3 { ", ..." } else { "" };
        let kept = [
            (self.kept[1], format!("{b}'s, the later run")),
            (
                self.kept[0] - self.same_run,
                format!("{a}'s, the later run"),
            ),
            (
                self.same_run,
                format!("{a}'s, the first given, as both are of one run"),
            ),
        ];
        let kept: Vec<String> = kept
            .iter()
            .filter(|(k, _)| *k > 0)
            .map(|(k, whose)| format!("{k} {whose}"))
            .collect();
        format!(
            "{n} benchmarks are in both {a} and {b} ({examples}{more}); kept: {}",
            kept.join("; ")
        )
    }
}

/// The machines of `rows`, each once, in order of first appearance.
pub fn machines<'a>(rows: impl IntoIterator<Item = &'a Row>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in rows {
        let m = r.machine();
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    Ok(out)
}

/// Sort key: model, device, phase (by name, as reports always listed
/// them), size, batch, framework (in the harness's order).
pub(crate) fn key(r: &Record) -> (String, Device, String, usize, usize, Framework) {
    (
        r.group.model.clone(),
        r.group.device,
        r.group.phase.to_string(),
        r.case.size,
        r.case.batch,
        r.case.framework,
    )
}

/// The study's time tables and figures: device, phase, title.
pub const SECTIONS: [(&str, Phase, &str); 4] = [
    ("gpu", Phase::Train, "Train step time, GPU"),
    ("gpu", Phase::Inference, "Inference step time, GPU"),
    ("cpu", Phase::Inference, "Inference step time, CPU"),
    ("cpu", Phase::Train, "Train step time, CPU"),
];

/// The benchmarks of one section whose measured value is time.
pub fn timed<'a>(rows: &'a [Row], device: &str, phase: Phase) -> Vec<&'a Row> {
    rows.iter()
        .filter(|r| {
            r.record.group.device.to_string() == device
                && r.record.group.phase == phase
                && r.record.metric == crate::identities::Metric::Time
        })
        .collect()
}

/// Nanoseconds as a readable duration.
pub fn format_ns(ns: f64) -> String {
    match ns {
        t if t < 1e3 => format!("{t:.0} ns"),
        t if t < 1e6 => format!("{:.1} µs", t / 1e3),
        t if t < 1e9 => format!("{:.2} ms", t / 1e6),
        t => format!("{:.2} s", t / 1e9),
    }
}

/// The geometric mean of `ratios` (none: NaN).
pub(crate) fn geometric_mean(ratios: &[f64]) -> f64 {
    (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp()
}

/// The frameworks of `rows` in the harness's order (tch, tch-jit, candle,
/// ort, tract).
pub(crate) fn frameworks_of(rows: &[&Row]) -> Vec<Framework> {
    unique(rows.iter().map(|r| r.record.case.framework))
}

pub(crate) fn unique<T: Ord + Clone>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = items.collect();
    v.sort();
    v.dedup();
    v
}

/// A table row's key: model, input size, batch.
pub(crate) type Configuration = (String, usize, usize);

/// The table row of `case` in `group`.
pub(crate) fn configuration(group: &crate::grid::Group, case: &crate::grid::Case) -> Configuration {
    (group.model.clone(), case.size, case.batch)
}

/// Rows of one table grouped by configuration, each keyed by its column.
pub(crate) fn by_configuration<'a, K: Ord>(
    rows: &[&'a Row],
    column: impl Fn(&Row) -> K,
) -> BTreeMap<Configuration, BTreeMap<K, &'a Row>> {
    let mut out: BTreeMap<Configuration, BTreeMap<K, &Row>> = BTreeMap::new();
    for r in rows {
        out.entry(configuration(&r.record.group, &r.record.case))
            .or_default()
            .insert(column(r), *r);
    }
    out
}

/// A measured row for tests: resnet18's GPU train step at 224 with `batch`,
/// an estimate of `mean_ns` per step, recorded with step code `step_code`.
#[cfg(test)]
pub(crate) fn test_row(framework: Framework, batch: usize, mean_ns: f64, step_code: &str) -> Row {
    use crate::grid::{Case, Group};
    use crate::record::MeasuredWith;
    let group = Group {
        model: "resnet18".into(),
        device: Device::Gpu(0),
        phase: Phase::Train,
    };
    let case = Case {
        framework,
        size: 224,
        batch,
    };
    Row {
        record: Record {
            id: group.bench_id(&case),
            group,
            case,
            estimate: Some(StepEstimate::of(&[mean_ns, mean_ns])),
            settings: Some(MeasuredWith {
                code: step_code.into(),
                threads: 1,
                seed: 1,
                target_seconds: 1.0,
                budget_seconds: 10.0,
                metric: Default::default(),
                step_delay_ms: 0.0,
                malloc: Default::default(),
            }),
            ..Record::default()
        },
        estimates: None,
        root: Default::default(),
        dir: Default::default(),
    }
}
