//! Measures one benchmark in this process: prepares the step, times a first
//! step to size criterion's sampling, then lets criterion measure it, or,
//! when criterion's 10 samples do not fit the time budget, times as many
//! steps as fit and records an estimate. Fills the benchmark's record.

use crate::frameworks::{peak_gflops, Adapter, Job, Step};
use crate::grid::{Case, Device, Grid, Group, Phase};
use crate::inputs;
use crate::measurement::{Metric, StepMetric};
use crate::memory;
use crate::options::Options;
use crate::plan::{estimate_steps, plan, Plan, MIN_SAMPLES};
use crate::record::{Record, StepEstimate};
use anyhow::{anyhow, Context, Result};
use cnn_models::{Graph, Weights};
use criterion::{BenchmarkGroup, BenchmarkId, Throughput};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// One benchmark and what measuring it needs.
pub struct Bench<'a> {
    pub graph: &'a Graph,
    pub weights: &'a Weights,
    pub fw: &'a dyn Adapter,
    pub group: &'a Group,
    pub case: &'a Case,
    pub grid: &'a Grid,
    pub metric: Metric,
    pub options: &'a Options,
    /// criterion's folder.
    pub out: &'a std::path::Path,
}

/// Prepares, sizes and measures `b`, filling `record`; `announce` is told
/// `preparing`, `measuring` and `finishing` as they begin, so that a time
/// limit can say where it stopped the benchmark (and a test's
/// `CNN_BENCH_HANG` hangs in the stage it names).
pub fn measure(
    bench_group: &mut BenchmarkGroup<'_, StepMetric>,
    b: &Bench,
    progress: &str,
    record: &mut Record,
    announce: &mut dyn FnMut(&str),
) -> Result<()> {
    let (hang, id) = (b.options.hang.clone(), record.id.clone());
    let mut stage = |s: &str| {
        announce(s);
        if hang.as_ref().is_some_and(|h| h.hits(&id, s)) {
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
    };
    let device = b.group.device;
    eprintln!("{progress}: preparing");
    stage("preparing");
    let sampler = memory::PeakSampler::start(device);
    let prepared = guarded(|| prepare(b));
    let peak = sampler.finish();
    let (mut step, first) = prepared?;
    let worker = step.process_id();
    stage("measuring");
    let start = Instant::now();
    let budget = b.grid.budget_seconds;
    let (first, next) = past_warm_up(first, budget, progress, || {
        guarded(|| step.run_timed(1)).context("a step failed during measurement")
    })?;
    let first_s = first.as_secs_f64();
    if let (Some(steps), Some(next)) = (estimate_steps(first_s, budget), next) {
        eprintln!(
            "{progress}: first step {first_s:.3} s; {MIN_SAMPLES} samples do not fit the {budget} s budget: an estimate from {steps} steps"
        );
        let mut values = match b.metric {
            Metric::Time => vec![first_s * 1e9, next.as_nanos() as f64],
            Metric::Memory => vec![memory_mib(device, worker).map_err(|e| anyhow!(e))?],
        };
        while values.len() < steps {
            let t = guarded(|| step.run_timed(1)).context("a step failed during measurement")?;
            values.push(match b.metric {
                Metric::Time => t.as_nanos() as f64,
                Metric::Memory => memory_mib(device, worker).map_err(|e| anyhow!(e))?,
            });
        }
        record.estimate = Some(StepEstimate::of(&values));
    } else {
        let p = plan(first, Duration::from_secs_f64(b.grid.target_seconds));
        eprintln!(
            "{progress}: first step {first_s:.4} s; {} {} samples, about {:.0} s",
            p.sample_size,
            if p.flat { "flat" } else { "linear" },
            (p.warm_up + p.measurement).as_secs_f64()
        );
        configure(bench_group, &p, b.case.batch, b.metric);
        let (metric, id) = (b.metric, record.id.clone());
        bench_group.bench_function(
            BenchmarkId::new(b.case.framework.name(), b.case.parameter()),
            |bencher| {
                bencher.iter_custom(|iters| {
                    let took = step.run_timed(iters).unwrap_or_else(|e| {
                        panic!("{id}: a step failed during measurement: {e:#}")
                    });
                    match metric {
                        Metric::Time => took.as_nanos() as f64,
                        Metric::Memory => {
                            iters as f64
                                * memory_mib(device, worker).unwrap_or_else(|e| panic!("{id}: {e}"))
                        }
                    }
                })
            },
        );
        record.samples = Some(p.sample_size);
        record.flat_sampling = Some(p.flat);
    }
    record.measure_seconds = Some(start.elapsed().as_secs_f64());
    stage("finishing");
    record.first_step_seconds = Some(first_s);
    let memory = memory::read(device, peak);
    record.memory = Some(match worker {
        Some(pid) => memory.of_process(device, pid),
        None => memory,
    });
    // The step's resources go back before the peak is measured (PyTorch's
    // worker is reused for it rather than a second one started).
    drop(step);
    // After the measurement, so it cannot warm or cool what was measured.
    record.peak_gflops = framework_peak(b).ok();
    Ok(())
}

/// The step's time to plan with, from the `first` timed step: when
/// criterion's minimum does not fit the budget the first is one of the
/// estimate's steps, unless it was still warming up (tch-jit specialises
/// its graph in its first steps): a next step under half its time replaces
/// it, and the choice is made again from that one. Returns the step to plan
/// with and, for an estimate, the next step already timed.
fn past_warm_up(
    mut first: Duration,
    budget: f64,
    progress: &str,
    mut time_one: impl FnMut() -> Result<Duration>,
) -> Result<(Duration, Option<Duration>)> {
    while estimate_steps(first.as_secs_f64(), budget).is_some() {
        let t = time_one()?;
        if t.as_secs_f64() >= first.as_secs_f64() / 2.0 {
            return Ok((first, Some(t)));
        }
        eprintln!(
            "{progress}: a step took {:.4} s after {:.3} s: still warming up",
            t.as_secs_f64(),
            first.as_secs_f64()
        );
        first = t;
    }
    Ok((first, None))
}

/// The framework's matrix-product peak on the benchmark's device. On the
/// CPU it is measured beside every benchmark (a shared host drifts, and the
/// peak is how a report sees it); a GPU is the run's alone, so its peak is
/// measured once per run and framework and kept in the run's scratch folder
/// for the next child processes.
fn framework_peak(b: &Bench) -> Result<f64> {
    let cache: Option<PathBuf> = match b.group.device {
        Device::Cpu => None,
        Device::Gpu(i) => Some(
            crate::options::scratch(&b.options.run_id)
                .join(format!("peak-{}-gpu{i}", b.case.framework)),
        ),
    };
    if let Some(v) = cache
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| t.trim().parse().ok())
    {
        return Ok(v);
    }
    let v = guarded(|| peak_gflops(b.fw, b.group.device))?;
    if let Some(p) = cache {
        let _ = std::fs::create_dir_all(p.parent().expect("in the scratch folder"));
        let _ = std::fs::write(p, v.to_string());
    }
    Ok(v)
}

/// The memory criterion measures with `CNN_BENCH_MEASURE=memory`: NVML's
/// figure for this process on a GPU, peak resident memory on the CPU.
/// `worker`: the process that runs the steps, when not this one.
fn memory_mib(device: Device, worker: Option<u32>) -> Result<f64, String> {
    let bytes = match (device, worker) {
        (Device::Gpu(i), None) => memory::nvml_process_bytes(i)?,
        (Device::Gpu(i), Some(pid)) => memory::nvml_process_bytes_of(i, pid)?,
        (Device::Cpu, None) => memory::peak_rss_bytes()?,
        (Device::Cpu, Some(pid)) => {
            return Err(format!(
                "the steps ran in process {pid}, whose peak memory is not read"
            ))
        }
    };
    Ok(bytes as f64 / (1024.0 * 1024.0))
}

/// Runs `f`, turning a panic (tch reports libtorch errors as panics) into an error.
pub fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
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
fn prepare(b: &Bench) -> Result<(Box<dyn Step>, Duration)> {
    let batches = inputs::batches(b.case.batch, b.case.size, b.graph.num_classes, b.grid.seed);
    let step = b.fw.prepare(&Job {
        graph: b.graph,
        weights: b.weights,
        device: b.group.device,
        phase: b.group.phase,
        batches: &batches,
    })?;
    let mut step = Delayed(step, b.options.step_delay);
    step.run().context("first (warm-up) step")?;
    let first = step.run_timed(1).context("second (timed) step")?;
    Ok((Box::new(step), first))
}

/// A step with the test-only delay (`CNN_BENCH_STEP_DELAY_MS`) added: a
/// slower step in every stage, to check comparisons, budgets and limits.
struct Delayed(Box<dyn Step>, Duration);

impl Step for Delayed {
    fn run(&mut self) -> Result<Option<f32>> {
        let out = self.0.run()?;
        if !self.1.is_zero() {
            std::thread::sleep(self.1);
        }
        Ok(out)
    }

    fn run_timed(&mut self, n: u64) -> Result<Duration> {
        let took = self.0.run_timed(n)?;
        let delay = self.1 * n as u32;
        std::thread::sleep(delay);
        Ok(took + delay)
    }

    fn logits(&mut self) -> Result<Vec<f32>> {
        self.0.logits()
    }

    fn process_id(&self) -> Option<u32> {
        self.0.process_id()
    }
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

/// FLOPs of one step: forward FLOPs of the batch, times 3 for a train step
/// (forward plus a backward pass of about twice the forward's cost).
pub fn flops_per_step(graph: &Graph, case: &Case, phase: Phase) -> Result<u64> {
    let forward = cnn_models::analysis::forward_flops(graph, case.size)? * case.batch as u64;
    Ok(if phase == Phase::Train {
        3 * forward
    } else {
        forward
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `past_warm_up` over steps of `secs` (the first is the first timed step).
    fn settle(secs: &[f64], budget: f64) -> (f64, Option<f64>, usize) {
        let mut rest = secs[1..].iter().map(|s| Duration::from_secs_f64(*s));
        let mut timed = 0;
        let (first, next) = past_warm_up(Duration::from_secs_f64(secs[0]), budget, "t", || {
            timed += 1;
            Ok(rest.next().expect("no more steps scripted"))
        })
        .unwrap();
        (first.as_secs_f64(), next.map(|n| n.as_secs_f64()), timed)
    }

    #[test]
    fn a_first_step_still_warming_up_is_not_the_steps_time() {
        // Criterion's 10 samples fit: nothing more is timed.
        assert_eq!(settle(&[0.5], 10.0), (0.5, None, 0));
        // A slow step: the next one is the estimate's second.
        assert_eq!(settle(&[5.0, 4.8], 10.0), (5.0, Some(4.8), 1));
        // tch-jit specialising: 1.75 s, then 5 ms steps, which criterion measures.
        assert_eq!(settle(&[1.75, 0.005], 10.0), (0.005, None, 1));
        // Still slow after the warm-up: an estimate from the later steps.
        assert_eq!(settle(&[8.0, 3.0, 2.9], 10.0), (3.0, Some(2.9), 2));
    }
}
