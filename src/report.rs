//! Reports from criterion's output folder: the study's tables (Markdown), a
//! tidy CSV with the run's metadata, an index page linking criterion's HTML
//! reports, and the comparison of two runs.
//!
//! Every row comes from a benchmark's `cnn-bench.json` and, when it was
//! measured, criterion's `estimates.json` in the same folder: a failed or
//! unmeasured benchmark shows as `-` with its reason, never as a number.

use crate::record::{Record, StepEstimate};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
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
    /// The criterion folder it was read from.
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
        self.record.estimate.filter(|_| self.record.status == "ok")
    }

    /// The machine that measured it: the GPU for a GPU benchmark, the CPU
    /// model for a CPU one.
    pub fn machine(&self) -> String {
        machine(
            &self.record.device,
            &self.record.run.cpu_model,
            &self.record.run.gpu,
        )
    }
}

/// The machine of a result on `device`: its GPU, or its CPU model.
pub fn machine(device: &str, cpu_model: &str, gpu: &str) -> String {
    if device.starts_with("gpu") {
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
/// from `baseline` (`new`: the latest run; or a name given to
/// `--save-baseline`), sorted by id.
pub fn collect(root: &Path, baseline: &str) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for group in read_dir(root)? {
        for function in read_dir(&group)? {
            for bench in read_dir(&function)? {
                let record_path = bench.join("cnn-bench.json");
                if !record_path.exists() {
                    continue;
                }
                let text = std::fs::read_to_string(&record_path)?;
                let record: Record = serde_json::from_str(&text)
                    .with_context(|| format!("parsing {}", record_path.display()))?;
                let est = bench.join(baseline).join("estimates.json");
                // An estimate's folder may hold an earlier criterion run's files.
                let estimates =
                    if record.status == "ok" && record.estimate.is_none() && est.exists() {
                        Some(read_estimates(&est)?)
                    } else {
                        None
                    };
                let dir = bench.strip_prefix(root).unwrap_or(&bench).to_path_buf();
                rows.push(Row {
                    record,
                    estimates,
                    root: root.to_path_buf(),
                    dir,
                });
            }
        }
    }
    if rows.is_empty() {
        bail!(
            "no cnn-bench results under {} (run `cargo bench` first)",
            root.display()
        );
    }
    rows.sort_by_key(|r| key(&r.record));
    Ok(rows)
}

/// The benchmarks of several criterion folders (slices or shards of one
/// grid, from several machines) as one run. A benchmark found in more than
/// one is taken from the run that started last; the warnings say so.
pub fn collect_many(roots: &[PathBuf], baseline: &str) -> Result<(Vec<Row>, Vec<String>)> {
    let mut by_id: BTreeMap<String, Row> = BTreeMap::new();
    let mut warnings = Vec::new();
    for root in roots {
        for row in collect(root, baseline)? {
            match by_id.get(&row.record.id) {
                Some(old) if old.record.run.date >= row.record.run.date => warnings.push(format!(
                    "{} is in {} and {}; the later run's, {}, is kept",
                    row.record.id,
                    old.root.display(),
                    row.root.display(),
                    old.root.display()
                )),
                Some(old) => {
                    warnings.push(format!(
                        "{} is in {} and {}; the later run's, {}, is kept",
                        row.record.id,
                        old.root.display(),
                        row.root.display(),
                        row.root.display()
                    ));
                    by_id.insert(row.record.id.clone(), row);
                }
                None => {
                    by_id.insert(row.record.id.clone(), row);
                }
            }
        }
    }
    let mut rows: Vec<Row> = by_id.into_values().collect();
    rows.sort_by_key(|r| key(&r.record));
    Ok((rows, warnings))
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

/// Sort key: model, device, phase, size, batch, framework.
fn key(r: &Record) -> (String, String, String, usize, usize, String) {
    (
        r.model.clone(),
        r.device.clone(),
        r.phase.clone(),
        r.size,
        r.batch,
        r.framework.clone(),
    )
}

/// The study's time tables and figures: device, phase, title.
pub const SECTIONS: [(&str, &str, &str); 4] = [
    ("gpu", "train", "Train step time, GPU"),
    ("gpu", "inference", "Inference step time, GPU"),
    ("cpu", "inference", "Inference step time, CPU"),
    ("cpu", "train", "Train step time, CPU"),
];

/// The benchmarks of one section whose measured value is time.
pub fn timed<'a>(rows: &'a [Row], device: &str, phase: &str) -> Vec<&'a Row> {
    rows.iter()
        .filter(|r| {
            r.record.device.starts_with(device)
                && r.record.phase == phase
                && r.record.metric == "time"
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

/// The study's tables in Markdown: step time for train on the GPU, inference
/// on the GPU and on the CPU (mean, and in brackets the time relative to the
/// fastest framework of that configuration), then GPU memory. A failed
/// benchmark is `-` with a numbered note giving its reason.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::new();
    let mut notes: Vec<String> = Vec::new();
    for (device, phase, title) in SECTIONS {
        let mine = timed(rows, device, phase);
        if mine.is_empty() {
            continue;
        }
        // Only the frameworks this section has (no empty train columns for
        // inference engines).
        let frameworks = frameworks_of(&mine);
        let _ = writeln!(out, "## {title}\n");
        let machines = machines(mine.iter().copied());
        let mixed = machines.len() > 1;
        say_machines(&mut out, &machines);
        let _ = writeln!(out, "| model | size | batch | {} |", frameworks.join(" | "));
        let _ = writeln!(out, "|---|---|---|{}", "---|".repeat(frameworks.len()));
        for ((model, size, batch), cells) in by_configuration(&mine, |r| r.record.framework.clone())
        {
            let fastest = cells
                .values()
                .filter_map(|r| r.mean())
                .fold(f64::INFINITY, f64::min);
            let row: Vec<String> = frameworks
                .iter()
                .map(|f| match cells.get(f) {
                    None => String::new(),
                    Some(r) => {
                        let cell = match r.mean() {
                            Some(mean) => format!(
                                "{}{} ({:.2})",
                                if r.estimate().is_some() { "~" } else { "" },
                                format_ns(mean),
                                mean / fastest
                            ),
                            None => failed(r, &mut notes),
                        };
                        match machines.iter().position(|m| *m == r.machine()) {
                            Some(i) if mixed => format!("{cell} @M{}", i + 1),
                            _ => cell,
                        }
                    }
                })
                .collect();
            let _ = writeln!(out, "| {model} | {size} | {batch} | {} |", row.join(" | "));
        }
        out.push('\n');
    }
    let gpu: Vec<&Row> = rows
        .iter()
        .filter(|r| r.record.device.starts_with("gpu"))
        .collect();
    if !gpu.is_empty() {
        let columns: Vec<(String, String)> = unique(
            gpu.iter()
                .map(|r| (r.record.phase.clone(), r.record.framework.clone())),
        );
        let _ = writeln!(
            out,
            "## GPU memory (MiB, NVML, process; peak during preparation in brackets)\n"
        );
        say_machines(&mut out, &machines(gpu.iter().copied()));
        let names: Vec<String> = columns.iter().map(|(p, f)| format!("{f} {p}")).collect();
        let _ = writeln!(out, "| model | size | batch | {} |", names.join(" | "));
        let _ = writeln!(out, "|---|---|---|{}", "---|".repeat(columns.len()));
        let by_config = by_configuration(&gpu, |r| {
            (r.record.phase.clone(), r.record.framework.clone())
        });
        for ((model, size, batch), cells) in by_config {
            let row: Vec<String> = columns
                .iter()
                .map(|c| match cells.get(c) {
                    None => String::new(),
                    Some(r) => match (&r.record.memory, r.record.status.as_str()) {
                        (Some(m), "ok") => {
                            let v = |x: &crate::memory::Reading| {
                                x.mib().map_or("n/a".to_string(), |v| format!("{v:.0}"))
                            };
                            format!("{} ({})", v(&m.nvml_process_mib), v(&m.nvml_peak_mib))
                        }
                        _ => failed(r, &mut notes),
                    },
                })
                .collect();
            let _ = writeln!(out, "| {model} | {size} | {batch} | {} |", row.join(" | "));
        }
        out.push('\n');
    }
    let estimates: Vec<&Row> = rows.iter().filter(|r| r.estimate().is_some()).collect();
    if !estimates.is_empty() {
        let _ = writeln!(
            out,
            "## Estimates\n\n`~` marks an estimate: criterion's 10 samples did not fit the benchmark's time budget, so the mean is of the steps that did (at least 2 after the warm-up), without a confidence interval.\n"
        );
        for r in estimates {
            let e = r.estimate().expect("filtered");
            let f = |v: f64| {
                if r.record.metric == "time" {
                    format_ns(v)
                } else {
                    format!("{v:.0} MiB")
                }
            };
            let _ = writeln!(
                out,
                "- `{}`: ~{} from {} steps ({} to {})",
                r.record.id,
                f(e.mean),
                e.steps,
                f(e.min),
                f(e.max)
            );
        }
        out.push('\n');
    }
    run_time(&mut out, rows);
    if !notes.is_empty() {
        let _ = writeln!(out, "## Failed benchmarks\n");
        for (i, n) in notes.iter().enumerate() {
            let _ = writeln!(out, "{}. {n}", i + 1);
        }
    }
    out
}

/// What a benchmark costs besides its measurement (process start, weights,
/// model building, tracing or export, first steps, memory readings, the
/// peak), per framework and device: where a grid's time goes.
fn run_time(out: &mut String, rows: &[Row]) {
    let mut by: BTreeMap<(String, String), Vec<(f64, f64)>> = BTreeMap::new();
    for r in rows {
        if let (Some(w), Some(m)) = (r.record.wall_seconds, r.record.measure_seconds) {
            let device = if r.record.device.starts_with("gpu") {
                "gpu"
            } else {
                "cpu"
            };
            by.entry((device.to_string(), r.record.framework.clone()))
                .or_default()
                .push((w, m));
        }
    }
    if by.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Time per benchmark\n\nMean seconds per benchmark, whole (preparation included; for one in a process of its own, the process's life) and measuring; the difference is the overhead.\n"
    );
    let _ = writeln!(out, "| device | framework | benchmarks | whole (s) | measuring (s) | overhead (s) | total (s) |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for ((device, fw), v) in by {
        let n = v.len() as f64;
        let wall: f64 = v.iter().map(|x| x.0).sum();
        let measuring: f64 = v.iter().map(|x| x.1).sum();
        let _ = writeln!(
            out,
            "| {device} | {fw} | {} | {:.1} | {:.1} | {:.1} | {wall:.0} |",
            v.len(),
            wall / n,
            measuring / n,
            (wall - measuring) / n
        );
    }
    out.push('\n');
}

/// Which machine measured a table: one line, or, for several, a warning
/// and the legend of the `@M1`, `@M2` marks on its cells.
fn say_machines(out: &mut String, machines: &[String]) {
    match machines {
        [] => {}
        [one] => {
            let _ = writeln!(out, "Measured on: {one}.\n");
        }
        many => {
            let legend: Vec<String> = many
                .iter()
                .enumerate()
                .map(|(i, m)| format!("M{} = {m}", i + 1))
                .collect();
            let _ = writeln!(
                out,
                "**Warning: this table mixes machines** ({}); each cell says which measured it, and ratios across machines compare the machines too.\n",
                legend.join("; ")
            );
        }
    }
}

/// `-` with a note number; the note names the benchmark and its reason.
fn failed(r: &Row, notes: &mut Vec<String>) -> String {
    let reason = r
        .record
        .reason
        .clone()
        .unwrap_or_else(|| "no estimate from criterion".into());
    let note = format!("`{}`: {}", r.record.id, reason.replace('|', "/"));
    let n = match notes.iter().position(|x| *x == note) {
        Some(i) => i + 1,
        None => {
            notes.push(note);
            notes.len()
        }
    };
    format!("- [{n}]")
}

/// The frameworks of `rows` in the harness's order (tch, tch-jit, candle,
/// ort, tract); names it does not know (older records) last.
fn frameworks_of(rows: &[&Row]) -> Vec<String> {
    let mut v = unique(rows.iter().map(|r| r.record.framework.clone()));
    v.sort_by_key(|f| {
        let known = crate::frameworks::FRAMEWORKS.iter().position(|k| k == f);
        (known.unwrap_or(usize::MAX), f.clone())
    });
    v
}

fn unique<T: Ord + Clone>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut v: Vec<T> = items.collect();
    v.sort();
    v.dedup();
    v
}

/// A table row's key: model, input size, batch.
type Configuration = (String, usize, usize);

/// Rows of one table grouped by configuration, each keyed by its column.
fn by_configuration<'a, K: Ord>(
    rows: &[&'a Row],
    column: impl Fn(&Row) -> K,
) -> BTreeMap<Configuration, BTreeMap<K, &'a Row>> {
    let mut out: BTreeMap<Configuration, BTreeMap<K, &Row>> = BTreeMap::new();
    for r in rows {
        let k = (r.record.model.clone(), r.record.size, r.record.batch);
        out.entry(k).or_default().insert(column(r), *r);
    }
    out
}

/// One line of the tidy CSV: a benchmark with its figures and the run's
/// metadata. Missing figures are empty cells, never zeros.
#[derive(Debug, Serialize)]
pub struct CsvRow {
    pub model: String,
    pub device: String,
    pub phase: String,
    pub framework: String,
    pub framework_version: String,
    pub size: usize,
    pub batch: usize,
    pub status: String,
    pub reason: Option<String>,
    /// What criterion measured: `time` (the step-time columns are seconds)
    /// or `memory` (they are MiB).
    pub metric: String,
    pub mean: Option<f64>,
    pub mean_ci_low: Option<f64>,
    pub mean_ci_high: Option<f64>,
    /// `true` when `mean` is an estimate from `steps` steps (the budget did
    /// not fit criterion's 10 samples): no confidence interval, no median.
    pub estimate: bool,
    pub steps: Option<usize>,
    pub median: Option<f64>,
    pub median_ci_low: Option<f64>,
    pub median_ci_high: Option<f64>,
    pub images_per_second: Option<f64>,
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
    pub git_commit: String,
    pub date: String,
    pub cpu_model: String,
    pub gpu: String,
    pub versions: String,
}

/// The CSV rows of a run.
pub fn csv_rows(rows: &[Row]) -> Vec<CsvRow> {
    rows.iter()
        .map(|r| {
            let rec = &r.record;
            let time = rec.metric == "time";
            // criterion's values are ns per step for time, MiB for memory.
            let unit = if time { 1e-9 } else { 1.0 };
            let e = r.estimates;
            let rough = r.estimate();
            let mean_s = r.mean().filter(|_| time).map(|m| m * 1e-9);
            let mem = rec.memory.as_ref();
            CsvRow {
                model: rec.model.clone(),
                device: rec.device.clone(),
                phase: rec.phase.clone(),
                framework: rec.framework.clone(),
                framework_version: rec.framework_version.clone(),
                size: rec.size,
                batch: rec.batch,
                status: rec.status.clone(),
                reason: rec.reason.clone(),
                metric: rec.metric.clone(),
                mean: r.mean().map(|m| m * unit),
                mean_ci_low: e.map(|e| e.mean.low * unit),
                mean_ci_high: e.map(|e| e.mean.high * unit),
                estimate: rough.is_some(),
                steps: rough.map(|e| e.steps),
                median: e.map(|e| e.median.point * unit),
                median_ci_low: e.map(|e| e.median.low * unit),
                median_ci_high: e.map(|e| e.median.high * unit),
                images_per_second: mean_s.map(|s| rec.batch as f64 / s),
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
                git_commit: rec.run.git_commit.clone(),
                date: rec.run.date.clone(),
                cpu_model: rec.run.cpu_model.clone(),
                gpu: rec.run.gpu.clone(),
                versions: rec.run.versions.clone(),
            }
        })
        .collect()
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

/// An HTML page: the study's tables (those of [`markdown`]), the figures,
/// and every benchmark with a link to criterion's report for it.
pub fn index_html(rows: &[Row], figures: &[PathBuf]) -> String {
    let mut out = String::from(
        "<!doctype html>\n<meta charset=\"utf-8\">\n<title>cnn-bench</title>\n<h1>cnn-bench</h1>\n",
    );
    let roots = unique(rows.iter().map(|r| r.root.clone()));
    let summaries: Vec<String> = roots
        .iter()
        .map(|root| {
            format!(
                "<a href=\"{}\">criterion's summary ({})</a>",
                root.join("report/index.html").display(),
                html_escape(&root.display().to_string())
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "<p><a href=\"report.md\">Tables (Markdown)</a> · <a href=\"report.csv\">CSV</a> · {}</p>",
        summaries.join(" · ")
    );
    out += &tables_html(&markdown(rows));
    for f in figures {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = writeln!(out, "<p><img src=\"{name}\" alt=\"{name}\"></p>");
    }
    // criterion's report of each group (its benchmarks side by side).
    out += "<h2>Groups</h2>\n<ul>\n";
    for (root, group) in unique(rows.iter().filter_map(|r| {
        r.dir
            .components()
            .next()
            .map(|c| (r.root.clone(), c.as_os_str().to_owned()))
    })) {
        let report = root.join(&group).join("report/index.html");
        let name = html_escape(&group.to_string_lossy());
        if report.exists() {
            let _ = writeln!(out, "<li><a href=\"{}\">{name}</a></li>", report.display());
        } else {
            let _ = writeln!(out, "<li>{name} (no criterion report)</li>");
        }
    }
    out += "</ul>\n<h2>Every benchmark</h2>\n";
    let _ = writeln!(
        out,
        "<table>\n<tr><th>benchmark</th><th>status</th><th>mean</th><th>criterion report</th></tr>"
    );
    for r in rows {
        let report = r.root.join(&r.dir).join("report/index.html");
        let rough = if r.estimate().is_some() { "~" } else { "" };
        let mean = match (r.mean(), r.record.metric.as_str()) {
            (Some(m), "time") => format!("{rough}{}", format_ns(m)),
            (Some(m), _) => format!("{rough}{m:.0} MiB"),
            (None, _) => format!(
                "- ({})",
                html_escape(r.record.reason.as_deref().unwrap_or("no estimate"))
            ),
        };
        let link = if report.exists() {
            format!("<a href=\"{}\">report</a>", report.display())
        } else {
            "-".into()
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{mean}</td><td>{link}</td></tr>",
            html_escape(&r.record.id),
            r.record.status
        );
    }
    out.push_str("</table>\n");
    out
}

/// The Markdown of [`markdown`] (headings, pipe tables, numbered notes) as HTML.
fn tables_html(md: &str) -> String {
    let mut out = String::new();
    let mut in_table = false;
    for line in md.lines() {
        let is_row = line.starts_with('|');
        if in_table && !is_row {
            out += "</table>\n";
        }
        if is_row && !line.starts_with("|---") {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            let tag = if in_table { "td" } else { "th" };
            if !in_table {
                out += "<table border=\"1\">\n";
            }
            let row: String = cells
                .iter()
                .map(|c| format!("<{tag}>{}</{tag}>", html_escape(c)))
                .collect();
            let _ = writeln!(out, "<tr>{row}</tr>");
        } else if let Some(h) = line.strip_prefix("## ") {
            let _ = writeln!(out, "<h2>{}</h2>", html_escape(h));
        } else if !line.is_empty() && !is_row {
            let _ = writeln!(out, "<p>{}</p>", html_escape(line));
        }
        in_table = is_row;
    }
    if in_table {
        out += "</table>\n";
    }
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// How a benchmark changed between two runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Slower by more than the threshold, confidence intervals apart, or
    /// failing now when it ran before.
    Regression,
    Improvement,
    /// Confidence intervals overlap.
    WithinNoise,
    /// Intervals apart but the change is under the threshold.
    BelowThreshold,
    /// Measured in only one of the runs.
    Unmatched,
}

/// What a comparison needs of a benchmark: its mean, or why it has none.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    pub id: String,
    /// criterion's mean and confidence interval; for an estimate, its mean
    /// and the range of its steps.
    pub mean: Option<Interval>,
    pub estimate: bool,
    pub reason: Option<String>,
    /// See [`machine`].
    pub machine: String,
    /// Whether the value is time (nanoseconds) rather than memory (MiB).
    pub time: bool,
}

impl From<&Row> for Measured {
    fn from(r: &Row) -> Self {
        let rough = r.estimate().map(|e| Interval {
            point: e.mean,
            low: e.min,
            high: e.max,
        });
        Measured {
            id: r.record.id.clone(),
            mean: r.estimates.map(|e| e.mean).or(rough),
            estimate: rough.is_some(),
            reason: r.record.reason.clone(),
            machine: r.machine(),
            time: r.record.metric == "time",
        }
    }
}

/// A warning when two runs, or the parts of one, come from different
/// machines: their differences are then partly the machines'.
pub fn machine_warning(old: &[Measured], new: &[Measured]) -> Option<String> {
    let set = |rows: &[Measured]| -> Vec<String> { unique(rows.iter().map(|m| m.machine.clone())) };
    let (a, b) = (set(old), set(new));
    if a.len() <= 1 && a == b {
        return None;
    }
    Some(format!(
        "warning: these runs mix machines (old: {}; new: {}): a difference may be the machine's, not the code's",
        a.join(" + "),
        b.join(" + ")
    ))
}

/// The benchmarks of a report folder's `report.csv` (a published reference
/// run) in criterion's units (nanoseconds or MiB).
pub fn measured_from_csv(path: &Path) -> Result<Vec<Measured>> {
    #[derive(Deserialize)]
    struct Line {
        model: String,
        device: String,
        phase: String,
        framework: String,
        size: usize,
        batch: usize,
        metric: String,
        reason: Option<String>,
        mean: Option<f64>,
        mean_ci_low: Option<f64>,
        mean_ci_high: Option<f64>,
        #[serde(default)]
        estimate: Option<bool>,
        #[serde(default)]
        cpu_model: String,
        #[serde(default)]
        gpu: String,
    }
    let mut r =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for line in r.deserialize() {
        let l: Line = line.with_context(|| format!("parsing {}", path.display()))?;
        let scale = if l.metric == "time" { 1e9 } else { 1.0 };
        let device = if l.device.starts_with("gpu") {
            "gpu"
        } else {
            "cpu"
        };
        let estimate = l.estimate.unwrap_or(false);
        let mean = match (l.mean, l.mean_ci_low, l.mean_ci_high) {
            (Some(p), Some(lo), Some(hi)) => Some(Interval {
                point: p * scale,
                low: lo * scale,
                high: hi * scale,
            }),
            // An estimate has no interval in the CSV: its mean alone.
            (Some(p), _, _) if estimate => Some(Interval {
                point: p * scale,
                low: p * scale,
                high: p * scale,
            }),
            _ => None,
        };
        let machine = machine(&l.device, &l.cpu_model, &l.gpu);
        out.push(Measured {
            id: format!(
                "{}/{device}/{}/{}/size{}-batch{}",
                l.model, l.phase, l.framework, l.size, l.batch
            ),
            mean,
            estimate,
            reason: l.reason,
            machine,
            time: l.metric == "time",
        });
    }
    Ok(out)
}

/// One benchmark of a comparison.
#[derive(Clone, Debug)]
pub struct Change {
    pub id: String,
    pub old: Option<Interval>,
    pub new: Option<Interval>,
    pub verdict: Verdict,
    pub note: String,
}

impl Change {
    /// new / old mean, when both were measured.
    pub fn ratio(&self) -> Option<f64> {
        Some(self.new?.point / self.old?.point)
    }
}

/// Compares the means of two runs benchmark by benchmark; `threshold` is
/// the relative change (0.05 = 5%) beyond which a change counts. Regressions
/// come first, largest first.
pub fn compare(old: &[Measured], new: &[Measured], threshold: f64) -> Vec<Change> {
    let index = |rows: &[Measured]| -> BTreeMap<String, Measured> {
        rows.iter().map(|r| (r.id.clone(), r.clone())).collect()
    };
    let (old, new) = (index(old), index(new));
    let rough =
        |rows: &BTreeMap<String, Measured>, id: &str| rows.get(id).is_some_and(|m| m.estimate);
    let mut ids: Vec<&String> = old.keys().chain(new.keys()).collect();
    ids.sort();
    ids.dedup();
    let mut out: Vec<Change> = ids
        .into_iter()
        .map(|id| {
            let o = old.get(id).and_then(|r| r.mean);
            let n = new.get(id).and_then(|r| r.mean);
            let (verdict, note) = match (o, n) {
                (Some(o), Some(n)) => {
                    let ratio = n.point / o.point;
                    let v = if o.overlaps(&n) {
                        Verdict::WithinNoise
                    } else if ratio > 1.0 + threshold {
                        Verdict::Regression
                    } else if ratio < 1.0 - threshold {
                        Verdict::Improvement
                    } else {
                        Verdict::BelowThreshold
                    };
                    let note = format!("{:+.1}%", (ratio - 1.0) * 100.0);
                    if rough(&old, id) || rough(&new, id) {
                        (v, format!("{note} (an estimate: the range of its steps stands for the interval)"))
                    } else {
                        (v, note)
                    }
                }
                (Some(_), None) => match new.get(id).and_then(|r| r.reason.clone()) {
                    Some(why) => (Verdict::Regression, format!("fails now: {why}")),
                    None => (Verdict::Unmatched, "not in the new run".into()),
                },
                (None, Some(_)) => (Verdict::Unmatched, "not measured in the old run".into()),
                (None, None) => (Verdict::Unmatched, "measured in neither run".into()),
            };
            Change {
                id: id.clone(),
                old: o,
                new: n,
                verdict,
                note,
            }
        })
        .collect();
    let rank = |c: &Change| match c.verdict {
        Verdict::Regression => 0,
        Verdict::Improvement => 1,
        Verdict::BelowThreshold => 2,
        Verdict::WithinNoise => 3,
        Verdict::Unmatched => 4,
    };
    out.sort_by(|a, b| {
        rank(a).cmp(&rank(b)).then(
            b.ratio()
                .unwrap_or(f64::INFINITY)
                .total_cmp(&a.ratio().unwrap_or(f64::INFINITY)),
        )
    });
    out
}

/// The comparison as a text table.
pub fn comparison_text(changes: &[Change], metric_is_time: bool) -> String {
    let fmt = |i: Option<Interval>| match i {
        Some(i) if metric_is_time => format!(
            "{} [{} .. {}]",
            format_ns(i.point),
            format_ns(i.low),
            format_ns(i.high)
        ),
        Some(i) => format!("{:.0} [{:.0} .. {:.0}] MiB", i.point, i.low, i.high),
        None => "-".into(),
    };
    let mut out = String::new();
    for c in changes {
        let verdict = match c.verdict {
            Verdict::Regression => "REGRESSION",
            Verdict::Improvement => "improvement",
            Verdict::WithinNoise => "within noise",
            Verdict::BelowThreshold => "below threshold",
            Verdict::Unmatched => "unmatched",
        };
        let _ = writeln!(
            out,
            "{verdict:<16} {:<50} {:>34} -> {:<34} {}",
            c.id,
            fmt(c.old),
            fmt(c.new),
            c.note
        );
    }
    out
}
