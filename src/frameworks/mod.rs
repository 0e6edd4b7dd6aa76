//! One adapter per framework behind one trait. An adapter turns a model
//! description into a ready model on a device and runs exactly the two steps
//! docs/methodology.md defines; adding a framework is one file here, its
//! identity in `identities::Framework` and its line in [`adapter`].

mod burn;
mod candle;
mod candle_transformers;
mod fused_adam;
mod libtorch_shims;
mod ort;
mod pytorch;
mod pytorch_worker;
mod tch;
mod tch_vision;
mod tensorflow;
mod torchscript_inference;
mod tract;

pub use pytorch_worker::{Zygote, ZYGOTE_VAR};

use crate::identities::{Device, Framework, Phase};
use crate::inputs::Batch;
use anyhow::{anyhow, bail, Result};
use cnn_models::{Graph, Weights};

/// A framework the harness can benchmark.
pub trait Adapter {
    /// Which framework it is.
    fn id(&self) -> Framework;

    /// Version of the framework (and of the native library it drives).
    fn version(&self) -> String;

    /// Sets the number of CPU threads the framework computes with. Called
    /// once, before the framework runs anything.
    fn set_threads(&self, threads: usize);

    /// Whether this build and machine have `device`, one the framework can
    /// use (see `Framework::lacks_device`); `Err` says why not, in one line.
    /// Nothing to probe by default.
    fn device_present(&self, _device: Device) -> Result<()> {
        Ok(())
    }

    /// Whether `device` can run here: first what the framework can use at
    /// all (data), then whether it is present; `Err` says why not.
    fn check_device(&self, device: Device) -> Result<()> {
        match self.id().lacks_device(device) {
            None => self.device_present(device),
            Some(why) => bail!("{why}"),
        }
    }

    /// Whether this framework can run `phase` (see `Framework::lacks`);
    /// `Err` says why not, in one line.
    fn check_phase(&self, phase: Phase) -> Result<()> {
        match self.id().lacks(phase) {
            None => Ok(()),
            Some(why) => bail!("{why}"),
        }
    }

    /// Seconds one `n`x`n` f32 matrix product takes on `device`, device
    /// synchronised: what [`peak_gflops`] times.
    fn matmul_seconds(&self, device: Device, n: usize) -> Result<f64>;

    /// Builds the job's graph with its weights on its device, moves its
    /// batches into the framework's host tensors, and returns the step to
    /// time.
    fn prepare(&self, job: &Job) -> Result<Box<dyn Step>>;
}

/// What [`Adapter::prepare`] builds a step from.
#[derive(Clone, Copy)]
pub struct Job<'a> {
    pub graph: &'a Graph,
    pub weights: &'a Weights,
    pub device: Device,
    pub phase: Phase,
    pub batches: &'a [Batch],
}

/// A prepared benchmark step, cycling through its batches.
pub trait Step {
    /// Runs one step and returns once the device has finished it. A train
    /// step returns its loss (read after the update), an inference step
    /// `None`.
    fn run(&mut self) -> Result<Option<f32>>;

    /// Runs `n` steps and returns how long they took. A step that runs in
    /// another process (`pytorch`) times them there.
    fn run_timed(&mut self, n: u64) -> Result<std::time::Duration> {
        let start = std::time::Instant::now();
        for _ in 0..n {
            self.run()?;
        }
        Ok(start.elapsed())
    }

    /// The process that runs the steps when it is not this one (`pytorch`'s
    /// worker): its GPU memory is what the record gives.
    fn process_id(&self) -> Option<u32> {
        None
    }

    /// For an inference step, the logits of its next batch (row-major
    /// `[batch, classes]`) from the very forward pass `run` times: what the
    /// parity tests compare with torchvision's. A train step refuses.
    fn logits(&mut self) -> Result<Vec<f32>>;
}

/// The adapter of `fw`.
pub fn adapter(fw: Framework) -> Box<dyn Adapter> {
    match fw {
        Framework::Tch | Framework::TchJit | Framework::TchVision => Box::new(tch::Tch(fw)),
        Framework::Candle => Box::new(candle::Candle),
        Framework::Ort => Box::new(ort::Ort),
        Framework::Tract => Box::new(tract::Tract),
        Framework::Pytorch => Box::new(pytorch::Pytorch),
        Framework::CandleTransformers => Box::new(candle_transformers::CandleTransformers),
        Framework::Tensorflow => Box::new(tensorflow::Tensorflow),
        Framework::Burn => Box::new(burn::Burn),
    }
}

/// The adapter of the framework called `name`, or an error listing the
/// valid names.
pub fn framework(name: &str) -> Result<Box<dyn Adapter>> {
    Framework::parse(name).map(adapter).map_err(|e| anyhow!(e))
}

/// The FLOP rate this framework reaches on `device` in its best case, a
/// large square f32 matrix product (2048 on the CPU, 8192 on a GPU; best of
/// three after a warm-up), in GFLOP/s: the peak that achieved FLOP rates are
/// a fraction of, measured rather than taken from a datasheet.
pub fn peak_gflops(fw: &dyn Adapter, device: Device) -> Result<f64> {
    let n = match device {
        Device::Cpu => 2048,
        Device::Gpu(_) => 8192,
    };
    fw.matmul_seconds(device, n)?;
    let best = (0..3)
        .map(|_| fw.matmul_seconds(device, n))
        .collect::<Result<Vec<f64>>>()?
        .into_iter()
        .fold(f64::INFINITY, f64::min);
    Ok(2.0 * (n as f64).powi(3) / best / 1e9)
}

/// Weight of an auxiliary classifier's loss in a train step (Inception v3):
/// loss = main + 0.4 * aux, the weighting of the Inception paper's recipe as
/// PyTorch's fine-tuning tutorial applies it.
pub const AUX_WEIGHT: f64 = 0.4;

/// Seconds `f` takes; what it returns is dropped after the clock stops.
fn seconds<T>(f: impl FnOnce() -> Result<T>) -> Result<f64> {
    let start = std::time::Instant::now();
    let out = f()?;
    let t = start.elapsed().as_secs_f64();
    drop(out);
    Ok(t)
}

/// For the ONNX engines: refuses what `fw` cannot run, then exports `graph`
/// to ONNX for the batches' input size.
fn onnx_model(fw: &dyn Adapter, job: &Job) -> Result<Vec<u8>> {
    fw.check_device(job.device)?;
    fw.check_phase(job.phase)?;
    cnn_models::onnx::export(job.graph, job.weights, job.batches[0].size)
}

/// A step's batches in the framework's host tensors, handed out in turn so
/// that no cache keeps one batch warm.
struct Cycle<T> {
    items: Vec<T>,
    cursor: usize,
}

impl<T> Cycle<T> {
    fn new(items: Vec<T>) -> Self {
        assert!(!items.is_empty(), "a step has at least one batch");
        Cycle { items, cursor: 0 }
    }

    /// The batch to use next.
    fn next(&mut self) -> &T {
        let i = self.cursor;
        self.cursor = (i + 1) % self.items.len();
        &self.items[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_frameworks_are_refused_with_the_valid_ones() {
        let e = framework("jax")
            .err()
            .expect("jax is not a framework here")
            .to_string();
        assert_eq!(
            e,
            "unknown framework `jax`; valid frameworks: tch, tch-jit, candle, ort, tract, pytorch, tch-vision, candle-transformers, tensorflow, burn"
        );
    }

    #[test]
    fn every_framework_runs_on_the_cpu() {
        for fw in Framework::ALL {
            adapter(fw).check_device(Device::Cpu).unwrap();
        }
    }

    #[test]
    fn the_measured_cpu_peak_is_plausible() {
        // A 2-core CI machine reaches some GFLOP/s; a CPU nowhere near 100 TFLOP/s.
        for name in Framework::ALL {
            let peak = peak_gflops(adapter(name).as_ref(), Device::Cpu).unwrap();
            assert!(peak > 0.5 && peak < 100_000.0, "{name}: {peak} GFLOP/s");
        }
    }

    /// Without a GPU (CI, this machine) each framework says plainly why the
    /// `gpu` device is unavailable.
    #[test]
    #[cfg(not(feature = "cuda"))]
    fn an_absent_gpu_is_explained() {
        let tch = framework("tch")
            .unwrap()
            .check_device(Device::Gpu(0))
            .unwrap_err()
            .to_string();
        assert!(
            tch.contains("libtorch sees 0 CUDA device(s), so GPU 0 is unavailable"),
            "{tch}"
        );
        let candle = framework("candle")
            .unwrap()
            .check_device(Device::Gpu(0))
            .unwrap_err()
            .to_string();
        assert!(
            candle.contains("no CUDA support (build with the `cuda` feature)"),
            "{candle}"
        );
    }
}
