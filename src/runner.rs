//! Turns the grid into criterion benchmarks. For every case that passes the
//! filter it prepares the model and inputs, times a first step to size
//! criterion's sampling, measures, and records the outcome and the memory
//! figures in `cnn-bench.json` beside criterion's files for that benchmark.
//!
//! Isolated cases (GPU ones by default) run in a child process each, so one
//! configuration's cached memory never shows in another's and a crash, a
//! kill or an out-of-memory abort loses only that configuration: the parent
//! records it as failed with the reason and goes on.

use crate::filter::Filter;
use crate::frameworks::{framework, peak_gflops, Framework, Step};
use crate::grid::{check_size, Case, Device, Grid, Group, Phase};
use crate::inputs;
use crate::measurement::{Metric, StepMetric};
use crate::memory::{self, MemoryRecord};
use crate::plan::{plan, Plan};
use crate::run_info::RunInfo;
use anyhow::{anyhow, Context, Result};
use cnn_models::{analysis, Graph, Weights};
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in a child process: run in-process, never spawn again.
pub const CHILD_VAR: &str = "CNN_BENCH_CHILD";

/// Test-only: milliseconds added to every measured step.
pub const DELAY_VAR: &str = "CNN_BENCH_STEP_DELAY_MS";

/// The test-only step delay of the environment.
pub fn step_delay_from_env() -> Result<Duration> {
    match std::env::var(DELAY_VAR) {
        Err(_) => Ok(Duration::ZERO),
        Ok(v) => {
            let ms: f64 = v
                .trim()
                .parse()
                .with_context(|| format!("{DELAY_VAR}: `{v}` is not a number of milliseconds"))?;
            Ok(Duration::from_secs_f64(ms / 1e3))
        }
    }
}

/// What the harness records per benchmark, in `cnn-bench.json` next to
/// criterion's own files for it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub model: String,
    pub device: String,
    pub phase: String,
    pub framework: String,
    pub framework_version: String,
    pub size: usize,
    pub batch: usize,
    pub threads: usize,
    pub seed: u64,
    /// `ok` when criterion measured it, `failed` otherwise.
    pub status: String,
    pub reason: Option<String>,
    /// Whether it ran in a process of its own.
    #[serde(default)]
    pub isolated: bool,
    /// What criterion's value is: `time` (ns per step) or `memory` (MiB).
    #[serde(default = "time_metric")]
    pub metric: String,
    /// The step timed before measuring, which sized criterion's sampling.
    pub first_step_seconds: Option<f64>,
    pub samples: Option<usize>,
    pub flat_sampling: Option<bool>,
    /// Forward FLOPs of the batch, times 3 for a train step (forward plus a
    /// backward pass of about twice the forward's cost).
    pub flops_per_step: u64,
    /// Read after the measurement, with the model still alive.
    pub memory: Option<MemoryRecord>,
    /// This framework's matrix-product FLOP rate on this device (GFLOP/s,
    /// see `frameworks::peak_gflops`), measured in the same process.
    #[serde(default)]
    pub peak_gflops: Option<f64>,
    /// The run's commit, date, versions and machine.
    #[serde(default)]
    pub run: RunInfo,
}

/// Records written before the metric was recorded measured time.
fn time_metric() -> String {
    "time".into()
}

/// Outcome of a run: what was measured and what failed, with reasons.
#[derive(Debug, Default)]
pub struct Summary {
    pub measured: usize,
    pub failed: Vec<(String, String)>,
    /// Devices said to be absent, with the reason, once each.
    pub unavailable: BTreeMap<String, String>,
}

/// Criterion's output folder (the same rule criterion applies).
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        PathBuf::from(home)
    } else if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        PathBuf::from(target).join("criterion")
    } else {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/criterion"))
    }
}

/// The folder criterion writes one benchmark's files to.
pub fn benchmark_dir(out: &Path, group: &str, function: &str, parameter: &str) -> PathBuf {
    // criterion's `make_filename_safe`
    let safe = |s: &str| s.replace(['?', '"', '/', '\\', '*', '<', '>', ':', '|', '^'], "_");
    out.join(safe(group))
        .join(safe(function))
        .join(safe(parameter))
}

/// Sets every framework's CPU thread count; call before any framework runs.
pub fn set_threads(grid: &Grid) -> Result<()> {
    for name in &grid.frameworks {
        framework(name)?.set_threads(grid.threads);
    }
    Ok(())
}

/// Everything one run needs besides criterion itself.
pub struct Run<'a> {
    pub grid: &'a Grid,
    pub filter: &'a Filter,
    /// The bench binary's own arguments, passed on to child processes.
    pub args: &'a [String],
    pub out: &'a Path,
    pub metric: Metric,
    pub info: RunInfo,
    /// Added to every measured step (`CNN_BENCH_STEP_DELAY_MS`): a test-only
    /// slowdown, to check that comparisons flag it. Zero otherwise.
    pub step_delay: Duration,
}

/// Benchmarks every case of the grid that the filter lets through.
pub fn run(c: &mut Criterion<StepMetric>, r: &Run) -> Result<Summary> {
    let mut summary = Summary::default();
    let selected = select(r, &mut summary);
    let total: usize = selected.iter().map(|(_, k)| k.len()).sum();
    let in_child = std::env::var_os(CHILD_VAR).is_some();
    let mut done = 0;
    let mut weights: Option<(String, Weights)> = None;
    for (group, cases) in selected {
        let graph = cnn_models::model(&group.model)?;
        let mut bench_group = c.benchmark_group(group.id());
        for case in &cases {
            done += 1;
            let fw = framework(&case.framework)?;
            let id = group.bench_id(case);
            let progress = format!("cnn-bench [{done}/{total}] {id}");
            let isolate = !in_child && r.grid.isolate.applies(group.device);
            let mut record = new_record(
                r,
                &group,
                case,
                fw.as_ref(),
                &graph,
                &id,
                isolate || in_child,
            )?;
            let outcome = if isolate {
                eprintln!("{progress}: running in a child process");
                // A record left by an earlier run must not pass for the child's.
                let _ = std::fs::remove_file(record_path(r.out, &group, case));
                run_child(r, &id)
            } else {
                if weights.as_ref().is_none_or(|(m, _)| m != &group.model) {
                    weights = Some((group.model.clone(), Weights::random(&graph, r.grid.seed)));
                }
                let w = &weights.as_ref().expect("weights were just made").1;
                measure(
                    &mut bench_group,
                    r,
                    &graph,
                    w,
                    fw.as_ref(),
                    &group,
                    case,
                    &progress,
                    &mut record,
                )
            };
            match outcome {
                Ok(()) if isolate => {
                    // The child wrote the record; count what it says.
                    let child = read_record(r.out, &group, case)?;
                    match child.reason {
                        None => summary.measured += 1,
                        Some(reason) => summary.failed.push((id, reason)),
                    }
                }
                Ok(()) => {
                    write_record(r.out, &group, case, &record)?;
                    summary.measured += 1;
                }
                Err(e) => {
                    let reason = short_reason(&format!("{e:#}"));
                    eprintln!("{progress}: FAILED: {reason}");
                    record.status = "failed".into();
                    record.reason = Some(reason.clone());
                    write_record(r.out, &group, case, &record)?;
                    summary.failed.push((id, reason));
                }
            }
        }
        bench_group.finish();
    }
    Ok(summary)
}

/// The groups and cases to run: those the filter lets through on devices
/// their framework can use, in phases it can run. An absent device or phase
/// is said once per framework.
fn select<'g>(r: &Run<'g>, summary: &mut Summary) -> Vec<(Group, Vec<Case>)> {
    let mut checks = BTreeMap::new();
    let mut said = std::collections::BTreeSet::new();
    let mut selected = Vec::new();
    for group in r.grid.groups() {
        let mut mine = Vec::new();
        for case in r.grid.cases() {
            if !r.filter.matches(&group.bench_id(&case)) {
                continue;
            }
            // Only a grid widened to catalogue models can hold such a case.
            if let Err(why) = check_size(&group.model, case.size, group.phase) {
                let why = format!("{why:#}");
                if said.insert(why.clone()) {
                    eprintln!("cnn-bench: skipped: {why}");
                }
                continue;
            }
            let fw = &case.framework;
            let device_ok = checked(
                &mut checks,
                summary,
                format!("{} ({fw})", group.device),
                || framework(fw)?.check_device(group.device),
                |why| {
                    format!(
                        "{} ({fw}) is unavailable, its benchmarks are skipped: {why}",
                        group.device
                    )
                },
            );
            // A framework that cannot run a phase is absent from its groups.
            let phase_ok = checked(
                &mut checks,
                summary,
                format!("{} ({fw})", group.phase),
                || framework(fw)?.check_phase(group.phase),
                |why| {
                    format!(
                        "{fw} has no {0} step, it is absent from {0} groups: {why}",
                        group.phase
                    )
                },
            );
            if device_ok && phase_ok {
                mine.push(case);
            }
        }
        if !mine.is_empty() {
            selected.push((group, mine));
        }
    }
    selected
}

/// Whether `check` passes, run once per `key` (such as `gpu (candle)`); a
/// failure is said once and kept in the summary.
fn checked(
    seen: &mut BTreeMap<String, bool>,
    summary: &mut Summary,
    key: String,
    check: impl FnOnce() -> Result<()>,
    say: impl FnOnce(&str) -> String,
) -> bool {
    *seen.entry(key.clone()).or_insert_with(|| match check() {
        Ok(()) => true,
        Err(why) => {
            let why = format!("{why:#}");
            eprintln!("cnn-bench: {}", say(&why));
            summary.unavailable.insert(key, why);
            false
        }
    })
}

/// Prepares, sizes and measures one case in this process, filling `record`.
#[allow(clippy::too_many_arguments)]
fn measure(
    bench_group: &mut BenchmarkGroup<'_, StepMetric>,
    r: &Run,
    graph: &Graph,
    w: &Weights,
    fw: &dyn Framework,
    group: &Group,
    case: &Case,
    progress: &str,
    record: &mut Record,
) -> Result<()> {
    eprintln!("{progress}: preparing");
    let sampler = memory::PeakSampler::start(group.device);
    let prepared = guarded(|| prepare(fw, graph, w, group, case, r.grid.seed));
    let peak = sampler.finish();
    let (mut step, first) = prepared?;
    let p = plan(first, Duration::from_secs_f64(r.grid.target_seconds));
    eprintln!(
        "{progress}: first step {:.4} s; {} {} samples, about {:.0} s",
        first.as_secs_f64(),
        p.sample_size,
        if p.flat { "flat" } else { "linear" },
        (p.warm_up + p.measurement).as_secs_f64()
    );
    configure(bench_group, &p, case.batch, r.metric);
    let (metric, device, id, delay) = (r.metric, group.device, record.id.clone(), r.step_delay);
    bench_group.bench_function(BenchmarkId::new(&case.framework, case.parameter()), |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                if let Err(e) = step.run() {
                    panic!("{id}: a step failed during measurement: {e:#}");
                }
                if !delay.is_zero() {
                    std::thread::sleep(delay);
                }
            }
            match metric {
                Metric::Time => start.elapsed().as_nanos() as f64,
                Metric::Memory => {
                    iters as f64 * memory_mib(device).unwrap_or_else(|e| panic!("{id}: {e}"))
                }
            }
        })
    });
    record.first_step_seconds = Some(first.as_secs_f64());
    record.samples = Some(p.sample_size);
    record.flat_sampling = Some(p.flat);
    record.memory = Some(memory::read(group.device, peak));
    // After the measurement, so it cannot warm or cool what was measured.
    record.peak_gflops = guarded(|| peak_gflops(fw, group.device)).ok();
    Ok(())
}

/// The memory criterion measures with `CNN_BENCH_MEASURE=memory`: NVML's
/// figure for this process on a GPU, peak resident memory on the CPU.
fn memory_mib(device: Device) -> Result<f64, String> {
    let bytes = match device {
        Device::Gpu(i) => memory::nvml_process_bytes(i)?,
        Device::Cpu => memory::peak_rss_bytes()?,
    };
    Ok(bytes as f64 / (1024.0 * 1024.0))
}

/// Runs benchmark `id` alone in a child process (this binary, `--exact id`).
fn run_child(r: &Run, id: &str) -> Result<()> {
    let exe = std::env::current_exe().context("locating the bench binary")?;
    let mut cmd = Command::new(exe);
    cmd.args(Filter::child_args(r.args, id)).env(CHILD_VAR, "1");
    run_isolated(cmd)
}

/// Runs `cmd`, passing its output through. A non-zero exit or a signal is an
/// error that says which, followed by the child's last lines of output.
pub fn run_isolated(mut cmd: Command) -> Result<()> {
    let mut child = cmd
        .stderr(Stdio::piped())
        .spawn()
        .context("starting a child process")?;
    let mut tail = VecDeque::new();
    for line in BufReader::new(child.stderr.take().expect("stderr is piped")).lines() {
        let line = line.unwrap_or_default();
        let _ = writeln!(std::io::stderr(), "{line}");
        if !line.trim().is_empty() {
            tail.push_back(line);
        }
        if tail.len() > 3 {
            tail.pop_front();
        }
    }
    let status = child.wait().context("waiting for the child process")?;
    if status.success() {
        return Ok(());
    }
    use std::os::unix::process::ExitStatusExt;
    let how = match (status.code(), status.signal()) {
        (Some(code), _) => format!("child process exited with status {code}"),
        (None, Some(9)) => {
            "child process killed (SIGKILL: out of host memory, or killed by hand)".to_string()
        }
        (None, Some(sig)) => format!("child process killed by signal {sig}"),
        (None, None) => "child process ended abnormally".to_string(),
    };
    let last: Vec<String> = tail.into_iter().collect();
    Err(anyhow!("{how}; its last output: {}", last.join(" | ")))
}

/// The part of an error worth a table cell: its first line (libtorch
/// appends a C++ stack trace), at most 300 characters.
pub fn short_reason(full: &str) -> String {
    let first = full.lines().next().unwrap_or("").trim();
    match first.char_indices().nth(300) {
        Some((cut, _)) => format!("{}...", &first[..cut]),
        None => first.to_string(),
    }
}

/// Runs `f`, turning a panic (tch reports libtorch errors as panics) into an error.
fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(anyhow!("panicked: {msg}"))
    })
}

/// Builds the step, runs it once untimed (allocations, autotuning) and once
/// timed.
fn prepare(
    fw: &dyn Framework,
    graph: &Graph,
    w: &Weights,
    group: &Group,
    case: &Case,
    seed: u64,
) -> Result<(Box<dyn Step>, Duration)> {
    let batches = inputs::batches(case.batch, case.size, graph.num_classes, seed);
    let mut step = fw.prepare(graph, w, group.device, group.phase, &batches)?;
    step.run().context("first (warm-up) step")?;
    let start = Instant::now();
    step.run().context("second (timed) step")?;
    Ok((step, start.elapsed()))
}

fn configure(g: &mut BenchmarkGroup<'_, StepMetric>, p: &Plan, batch: usize, metric: Metric) {
    g.sample_size(p.sample_size)
        .sampling_mode(p.sampling())
        .warm_up_time(p.warm_up)
        .measurement_time(p.measurement);
    if metric == Metric::Time {
        g.throughput(Throughput::Elements(batch as u64));
    }
}

fn new_record(
    r: &Run,
    group: &Group,
    case: &Case,
    fw: &dyn Framework,
    graph: &Graph,
    id: &str,
    isolated: bool,
) -> Result<Record> {
    let forward = analysis::forward_flops(graph, case.size)? * case.batch as u64;
    Ok(Record {
        id: id.to_string(),
        model: group.model.clone(),
        device: match group.device {
            Device::Cpu => "cpu".to_string(),
            Device::Gpu(i) => format!("gpu{i}"),
        },
        phase: group.phase.to_string(),
        framework: case.framework.clone(),
        framework_version: fw.version(),
        size: case.size,
        batch: case.batch,
        threads: r.grid.threads,
        seed: r.grid.seed,
        status: "ok".into(),
        reason: None,
        isolated,
        metric: match r.metric {
            Metric::Time => "time".into(),
            Metric::Memory => "memory".into(),
        },
        first_step_seconds: None,
        samples: None,
        flat_sampling: None,
        flops_per_step: if group.phase == Phase::Train {
            3 * forward
        } else {
            forward
        },
        memory: None,
        peak_gflops: None,
        run: r.info.clone(),
    })
}

fn record_path(out: &Path, group: &Group, case: &Case) -> PathBuf {
    benchmark_dir(out, &group.id(), &case.framework, &case.parameter()).join("cnn-bench.json")
}

/// Writes a record, replacing the previous run's.
pub fn write_record(out: &Path, group: &Group, case: &Case, record: &Record) -> Result<()> {
    let path = record_path(out, group, case);
    std::fs::create_dir_all(path.parent().expect("a record lives in a folder"))
        .with_context(|| format!("creating the folder of {}", path.display()))?;
    std::fs::write(&path, serde_json::to_string_pretty(record)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// Reads the record a child process wrote.
pub fn read_record(out: &Path, group: &Group, case: &Case) -> Result<Record> {
    let path = record_path(out, group, case);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("the child process wrote no {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Result<()> {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        run_isolated(cmd)
    }

    #[test]
    fn a_child_that_succeeds_is_ok() {
        sh("echo fine >&2").unwrap();
    }

    #[test]
    fn a_failing_child_is_an_error_with_its_status_and_last_words() {
        let e = sh("echo preparing >&2; echo 'CUDA out of memory' >&2; exit 3")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("child process exited with status 3"), "{e}");
        assert!(e.contains("preparing | CUDA out of memory"), "{e}");
    }

    #[test]
    fn a_killed_child_is_an_error_that_names_the_kill() {
        let e = sh("echo 'allocating' >&2; kill -9 $$")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("child process killed (SIGKILL"), "{e}");
        assert!(e.contains("allocating"), "{e}");
        let e = sh("kill -SEGV $$").unwrap_err().to_string();
        assert!(e.starts_with("child process killed by signal 11"), "{e}");
    }

    #[test]
    fn reasons_keep_their_first_line_only() {
        let full = "panicked: Torch(\"CUDA out of memory. Tried to allocate 3.12 GiB\nException raised from malloc";
        assert_eq!(
            short_reason(full),
            "panicked: Torch(\"CUDA out of memory. Tried to allocate 3.12 GiB"
        );
        let long = "x".repeat(400);
        assert_eq!(short_reason(&long).len(), 303);
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
            framework: "tch".into(),
            size: 224,
            batch: 32,
        };
        let record = Record {
            id: "resnet18/gpu/train/tch/size224-batch32".into(),
            model: "resnet18".into(),
            device: "gpu0".into(),
            phase: "train".into(),
            framework: "tch".into(),
            framework_version: "tch 0.24".into(),
            size: 224,
            batch: 32,
            threads: 2,
            seed: 1,
            status: "failed".into(),
            reason: Some("child process killed by signal 11".into()),
            isolated: true,
            metric: "time".into(),
            first_step_seconds: None,
            samples: None,
            flat_sampling: None,
            flops_per_step: 3,
            memory: None,
            peak_gflops: None,
            run: RunInfo::default(),
        };
        write_record(&out, &group, &case, &record).unwrap();
        let path = out.join("resnet18_gpu_train/tch/size224-batch32/cnn-bench.json");
        assert!(path.exists(), "{}", path.display());
        let back = read_record(&out, &group, &case).unwrap();
        assert_eq!(back.reason, record.reason);
        assert_eq!(back.status, "failed");
        std::fs::remove_dir_all(&out).unwrap();
    }
}
