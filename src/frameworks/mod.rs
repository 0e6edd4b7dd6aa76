//! One adapter per framework behind one trait. An adapter turns a model
//! description into a ready model on a device and runs exactly the two steps
//! the README defines; adding a framework is one file here and one line in
//! [`framework`].

mod candle;
mod tch;

use crate::grid::{Device, Phase};
use crate::inputs::Batch;
use anyhow::{bail, Result};
use cnn_models::{Graph, Weights};

/// The frameworks the harness knows, by their benchmark names.
pub const FRAMEWORKS: &[&str] = &["tch", "candle"];

/// A framework the harness can benchmark.
pub trait Framework {
    /// The name used in benchmark ids, configs and reports.
    fn name(&self) -> &'static str;

    /// Version of the framework (and of the native library it drives).
    fn version(&self) -> String;

    /// Sets the number of CPU threads the framework computes with. Called
    /// once, before the framework runs anything.
    fn set_threads(&self, threads: usize);

    /// Whether `device` can run here; `Err` says why not, in one line.
    fn check_device(&self, device: Device) -> Result<()>;

    /// Builds `graph` with `weights` on `device`, moves `batches` into the
    /// framework's host tensors, and returns the step to time.
    fn prepare(
        &self,
        graph: &Graph,
        weights: &Weights,
        device: Device,
        phase: Phase,
        batches: &[Batch],
    ) -> Result<Box<dyn Step>>;
}

/// A prepared benchmark step, cycling through its batches.
pub trait Step {
    /// Runs one step and returns once the device has finished it. A train
    /// step returns its loss (read after the update), an inference step
    /// `None`.
    fn run(&mut self) -> Result<Option<f32>>;
}

/// The adapter called `name`, or an error listing the valid ones.
pub fn framework(name: &str) -> Result<Box<dyn Framework>> {
    Ok(match name {
        "tch" => Box::new(tch::Tch),
        "candle" => Box::new(candle::Candle),
        _ => bail!(
            "unknown framework `{name}`; valid frameworks: {}",
            FRAMEWORKS.join(", ")
        ),
    })
}

/// Weight of an auxiliary classifier's loss in a train step (Inception v3):
/// loss = main + 0.4 * aux, the weighting of the Inception paper's recipe as
/// PyTorch's fine-tuning tutorial applies it.
pub const AUX_WEIGHT: f64 = 0.4;

/// Index of the batch to use next, rotating through them.
fn next(cursor: &mut usize, len: usize) -> usize {
    let i = *cursor;
    *cursor = (i + 1) % len;
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_frameworks_are_refused_with_the_valid_ones() {
        let e = framework("onnx")
            .err()
            .expect("onnx is not a framework yet")
            .to_string();
        assert_eq!(e, "unknown framework `onnx`; valid frameworks: tch, candle");
    }

    #[test]
    fn every_framework_runs_on_the_cpu() {
        for name in FRAMEWORKS {
            framework(name).unwrap().check_device(Device::Cpu).unwrap();
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
