//! tract adapter: Sonos' pure-Rust ONNX inference engine, on the model
//! exported to ONNX by `cnn_models::onnx`, with the input shape fixed and
//! tract's optimiser run before the first step. CPU and inference only.

use super::{onnx_model, seconds, Adapter, Cycle, Job, Step};
use crate::identities::{Device, Framework};
use anyhow::{Context, Result};
use cnn_models::onnx;
use tract_linalg::multithread::{set_default_executor, Executor};
use tract_onnx::prelude::{Framework as _, *};

pub struct Tract;

/// The model `bytes` with its input fixed to `shape`, optimised and ready
/// to run.
fn load(bytes: &[u8], shape: &[usize]) -> Result<TypedSimpleState> {
    let plan = tract_onnx::onnx()
        .model_for_read(&mut std::io::Cursor::new(bytes))?
        .with_input_fact(0, f32::fact(shape).into())?
        .into_optimized()?
        .into_runnable()?;
    plan.spawn()
}

/// Runs one inference; tract computes synchronously.
fn infer(state: &mut TypedSimpleState, input: &TValue) -> Result<TVec<TValue>> {
    state.run(tvec!(input.clone()))
}

impl Adapter for Tract {
    fn id(&self) -> Framework {
        Framework::Tract
    }

    fn version(&self) -> String {
        "tract 0.23".to_string()
    }

    fn set_threads(&self, threads: usize) {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            threads
        };
        // tract's matrix products use this pool; one thread is its default.
        set_default_executor(if threads > 1 {
            Executor::multithread(threads)
        } else {
            Executor::SingleThread
        });
    }

    fn matmul_seconds(&self, d: Device, n: usize) -> Result<f64> {
        self.check_device(d)?;
        let mut state = load(&onnx::matmul(n), &[n, n])?;
        let a = TValue::from_const(tensor_from(&[n, n], onnx::matmul_operand(n))?.into());
        seconds(|| infer(&mut state, &a))
    }

    fn prepare(&self, job: &Job) -> Result<Box<dyn Step>> {
        let batches = job.batches;
        let bytes = onnx_model(self, job)?;
        let state =
            load(&bytes, &batches[0].shape()).context("tract refused the exported model")?;
        let host = batches
            .iter()
            .map(|b| {
                Ok(TValue::from_const(
                    tensor_from(&b.shape(), b.images.clone())?.into(),
                ))
            })
            .collect::<Result<_>>()?;
        Ok(Box::new(TractStep {
            state,
            host: Cycle::new(host),
        }))
    }
}

fn tensor_from(shape: &[usize], data: Vec<f32>) -> Result<Tensor> {
    Ok(tract_ndarray::ArrayD::from_shape_vec(shape, data)?.into())
}

struct TractStep {
    state: TypedSimpleState,
    host: Cycle<TValue>,
}

impl Step for TractStep {
    fn run(&mut self) -> Result<Option<f32>> {
        let images = self.host.next();
        infer(&mut self.state, images)?;
        Ok(None)
    }

    fn logits(&mut self) -> Result<Vec<f32>> {
        let images = self.host.next();
        let out = infer(&mut self.state, images)?;
        Ok(out[0]
            .to_plain_array_view::<f32>()?
            .iter()
            .copied()
            .collect())
    }
}
