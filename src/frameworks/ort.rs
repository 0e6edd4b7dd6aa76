//! ONNX Runtime adapter (the `ort` crate): the model exported to ONNX by
//! `cnn_models::onnx`, run by an inference session on the CPU execution
//! provider with every graph optimisation on. ONNX Runtime is the shared
//! library of PyPI's `onnxruntime` wheel, loaded at run time from
//! `ORT_DYLIB_PATH` (`make setup` installs it and `.cargo/config.toml` points
//! there). Inference only: ONNX Runtime's inference sessions do not train.

use super::{onnx_model, seconds, Adapter, Cycle, Job, Step};
use crate::identities::{Device, Framework};
use anyhow::{anyhow, Context, Result};
use cnn_models::onnx;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;
use std::sync::{Mutex, OnceLock};

pub struct Ort;

/// The process's ONNX Runtime environment, loaded once from
/// `ORT_DYLIB_PATH`, or why it could not be.
fn environment() -> Result<&'static ort::environment::Environment> {
    static ENV: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = std::env::var("ORT_DYLIB_PATH").map_err(|_| {
            "ORT_DYLIB_PATH is unset: run through cargo in this repository after `make setup` \
             (it installs the onnxruntime wheel; .cargo/config.toml points ORT_DYLIB_PATH at it)"
                .to_string()
        })?;
        if !std::path::Path::new(&path).exists() {
            return Err(format!(
                "ONNX Runtime's library {path} does not exist: run `make setup`"
            ));
        }
        ort::init_from(&path)
            .map_err(|e| format!("cannot load ONNX Runtime from {path}: {e}"))?
            .with_name("cnn-bench")
            .build()
            .map_err(|e| format!("cannot start ONNX Runtime: {e}"))
    })
    .as_ref()
    .map_err(|e| anyhow!("{e}"))
}

/// Threads of every session, as `Framework::set_threads` set them.
static THREADS: Mutex<usize> = Mutex::new(0);

/// A CPU session for the ONNX model `bytes`, at the highest optimisation
/// level, with the configured intra-op threads.
fn session(bytes: &[u8]) -> Result<Session> {
    let env = environment()?;
    let threads = *THREADS.lock().expect("never poisoned");
    let mut builder = Session::builder(env)?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(ort::Error::<()>::from)?;
    if threads > 0 {
        builder = builder
            .with_intra_threads(threads)
            .map_err(ort::Error::<()>::from)?;
    }
    Ok(builder.commit_from_memory(bytes)?)
}

impl Adapter for Ort {
    fn id(&self) -> Framework {
        Framework::Ort
    }

    fn version(&self) -> String {
        // The library's file name carries its version: libonnxruntime.so.1.31.1.
        let runtime = std::env::var("ORT_DYLIB_PATH")
            .ok()
            .and_then(|p| std::fs::canonicalize(p).ok())
            .and_then(|p| {
                let name = p.file_name()?.to_string_lossy().into_owned();
                Some(name.split_once(".so.")?.1.to_string())
            })
            .unwrap_or_else(|| "unknown version".into());
        format!("ort 2.0.0-rc.15 (ONNX Runtime {runtime}, CPU execution provider)")
    }

    fn set_threads(&self, threads: usize) {
        *THREADS.lock().expect("never poisoned") = threads;
    }

    /// The CPU is there once the ONNX Runtime library loads.
    fn device_present(&self, _d: Device) -> Result<()> {
        environment().map(|_| ())
    }

    fn matmul_seconds(&self, d: Device, n: usize) -> Result<f64> {
        self.check_device(d)?;
        let mut s = session(&onnx::matmul(n))?;
        let a = Tensor::from_array(([n, n], onnx::matmul_operand(n)))?;
        seconds(|| Ok(s.run(ort::inputs![&a])?))
    }

    fn prepare(&self, job: &Job) -> Result<Box<dyn Step>> {
        let batches = job.batches;
        let bytes = onnx_model(self, job)?;
        let session = session(&bytes).context("ONNX Runtime refused the exported model")?;
        let host = batches
            .iter()
            .map(|b| Ok(Tensor::from_array((b.shape(), b.images.clone()))?))
            .collect::<Result<_>>()?;
        Ok(Box::new(OrtStep {
            session,
            host: Cycle::new(host),
        }))
    }
}

struct OrtStep {
    session: Session,
    host: Cycle<Tensor<f32>>,
}

impl OrtStep {
    /// Runs the session on the next batch (ONNX Runtime returns once done)
    /// and hands its logits to `read`.
    fn infer<T>(&mut self, read: impl FnOnce(&[f32]) -> T) -> Result<T> {
        let images = self.host.next();
        let out = self.session.run(ort::inputs![onnx::INPUT => images])?;
        let (_, logits) = out[onnx::OUTPUT].try_extract_tensor::<f32>()?;
        Ok(read(logits))
    }
}

impl Step for OrtStep {
    fn run(&mut self) -> Result<Option<f32>> {
        // The logits stay in ONNX Runtime's buffer, as the other frameworks'
        // stay in theirs: no copy in the timed step.
        self.infer(|_| None)
    }

    fn logits(&mut self) -> Result<Vec<f32>> {
        self.infer(<[f32]>::to_vec)
    }
}
