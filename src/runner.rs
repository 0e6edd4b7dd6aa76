//! Turns the grid into criterion benchmarks: for every case that passes the
//! filter it prepares the model and inputs, times a first step to size
//! criterion's sampling, measures, and records the outcome beside
//! criterion's files. A case that fails is recorded with its reason and the
//! run goes on.

use crate::filter::Filter;
use crate::frameworks::{framework, Framework, Step};
use crate::grid::{Case, Device, Grid, Group, Phase};
use crate::inputs;
use crate::plan::{plan, Plan};
use anyhow::{anyhow, Context, Result};
use cnn_models::{analysis, Graph, Weights};
use criterion::{BenchmarkId, Criterion, Throughput};
use serde::Serialize;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What the harness records per benchmark, in `cnn-bench.json` next to
/// criterion's own files for it.
#[derive(Clone, Debug, Serialize)]
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
    pub status: &'static str,
    pub reason: Option<String>,
    /// The step timed before measuring, which sized criterion's sampling.
    pub first_step_seconds: Option<f64>,
    pub samples: Option<usize>,
    pub flat_sampling: Option<bool>,
    /// Forward FLOPs of the batch, times 3 for a train step (forward plus a
    /// backward pass of about twice the forward's cost).
    pub flops_per_step: u64,
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

/// Benchmarks every case of `grid` that `filter` lets through.
pub fn run(c: &mut Criterion, grid: &Grid, filter: &Filter, out: &Path) -> Result<Summary> {
    let mut summary = Summary::default();
    let cases = grid.cases();
    // Each framework is asked once per device whether it can run there; an
    // absent device is said once and its benchmarks are left out.
    let mut available = BTreeMap::new();
    let mut selected: Vec<(Group, Vec<&Case>)> = Vec::new();
    for group in grid.groups() {
        let mut mine = Vec::new();
        for case in &cases {
            if !filter.matches(&format!(
                "{}/{}/{}",
                group.id(),
                case.framework,
                case.parameter()
            )) {
                continue;
            }
            let ok = available
                .entry((case.framework.clone(), group.device))
                .or_insert_with(|| {
                    let check =
                        framework(&case.framework).and_then(|fw| fw.check_device(group.device));
                    if let Err(why) = &check {
                        let key = format!("{} ({})", group.device, case.framework);
                        eprintln!(
                            "cnn-bench: {key} is unavailable, its benchmarks are skipped: {why:#}"
                        );
                        summary.unavailable.insert(key, format!("{why:#}"));
                    }
                    check.is_ok()
                });
            if *ok {
                mine.push(case);
            }
        }
        if !mine.is_empty() {
            selected.push((group, mine));
        }
    }
    let total: usize = selected.iter().map(|(_, k)| k.len()).sum();
    let mut done = 0;
    let mut weights: Option<(String, Weights)> = None;
    for (group, mine) in selected {
        let graph = cnn_models::model(&group.model)?;
        let mut bench_group = c.benchmark_group(group.id());
        for case in mine {
            done += 1;
            let fw = framework(&case.framework)?;
            let id = format!("{}/{}/{}", group.id(), case.framework, case.parameter());
            if weights
                .as_ref()
                .map(|(m, _)| m != &group.model)
                .unwrap_or(true)
            {
                weights = Some((group.model.clone(), Weights::random(&graph, grid.seed)));
            }
            let w = &weights.as_ref().expect("weights were just made").1;
            let mut record = new_record(grid, &group, case, fw.as_ref(), &graph, &id)?;
            eprintln!("cnn-bench [{done}/{total}] {id}: preparing");
            let prepared = guarded(|| prepare(fw.as_ref(), &graph, w, &group, case, grid.seed));
            let (mut step, first) = match prepared {
                Ok(p) => p,
                Err(e) => {
                    let reason = format!("{e:#}");
                    eprintln!("cnn-bench [{done}/{total}] {id}: FAILED: {reason}");
                    record.status = "failed";
                    record.reason = Some(reason.clone());
                    write_record(out, &group, case, &record)?;
                    summary.failed.push((id, reason));
                    continue;
                }
            };
            let p = plan(first, Duration::from_secs_f64(grid.target_seconds));
            eprintln!(
                "cnn-bench [{done}/{total}] {id}: first step {:.4} s; {} {} samples, about {:.0} s",
                first.as_secs_f64(),
                p.sample_size,
                if p.flat { "flat" } else { "linear" },
                (p.warm_up + p.measurement).as_secs_f64()
            );
            configure(&mut bench_group, &p, case.batch);
            bench_group.bench_function(BenchmarkId::new(&case.framework, case.parameter()), |b| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        if let Err(e) = step.run() {
                            panic!("{id}: a step failed during measurement: {e:#}");
                        }
                    }
                    start.elapsed()
                })
            });
            record.first_step_seconds = Some(first.as_secs_f64());
            record.samples = Some(p.sample_size);
            record.flat_sampling = Some(p.flat);
            write_record(out, &group, case, &record)?;
            summary.measured += 1;
        }
        bench_group.finish();
    }
    Ok(summary)
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

fn configure(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    p: &Plan,
    batch: usize,
) {
    g.sample_size(p.sample_size)
        .sampling_mode(p.sampling())
        .warm_up_time(p.warm_up)
        .measurement_time(p.measurement)
        .throughput(Throughput::Elements(batch as u64));
}

fn new_record(
    grid: &Grid,
    group: &Group,
    case: &Case,
    fw: &dyn Framework,
    graph: &Graph,
    id: &str,
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
        threads: grid.threads,
        seed: grid.seed,
        status: "ok",
        reason: None,
        first_step_seconds: None,
        samples: None,
        flat_sampling: None,
        flops_per_step: if group.phase == Phase::Train {
            3 * forward
        } else {
            forward
        },
    })
}

fn write_record(out: &Path, group: &Group, case: &Case, record: &Record) -> Result<()> {
    let dir = benchmark_dir(out, &group.id(), &case.framework, &case.parameter());
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("cnn-bench.json");
    std::fs::write(&path, serde_json::to_string_pretty(record)?)
        .with_context(|| format!("writing {}", path.display()))
}
