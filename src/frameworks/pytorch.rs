//! `pytorch`: PyTorch from Python, the reference column. torchvision's model
//! with the benchmark's weights, run by a Python worker
//! (`pytorch_worker.py`, built into the binary) on the project's venv, whose
//! torch wheel carries the libtorch tch links. The worker times its steps
//! itself (device synchronised), so the pipe costs the measurement nothing.

use super::pytorch_worker::{python, Worker};
use super::{Adapter, Job, Step};
use crate::identities::{Device, Framework, Phase};
use anyhow::{anyhow, bail, ensure, Context, Result};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The thread count `set_threads` was given; each request carries it.
static THREADS: AtomicUsize = AtomicUsize::new(0);

fn threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

pub struct Pytorch;

/// What the Python here offers: its versions and CUDA devices, or why it
/// cannot run the worker (asked once per process). The worker that answered
/// stays, idle, for the first benchmark: one Python start, not two.
fn probe() -> &'static Result<(String, usize), String> {
    static PROBE: OnceLock<Result<(String, usize), String>> = OnceLock::new();
    PROBE.get_or_init(|| {
        let py = python();
        let (worker, hello) = Worker::start().map_err(|e| {
            format!(
                "{} cannot run the PyTorch worker (`make setup` installs torch and torchvision; CNN_BENCH_PYTHON names another Python): {e:#}",
                py.display()
            )
        })?;
        let version = hello["version"].as_str().unwrap_or("PyTorch").to_string();
        let gpus = hello["gpus"].as_u64().unwrap_or(0) as usize;
        *IDLE.lock().unwrap_or_else(|e| e.into_inner()) = Some(worker);
        Ok((version, gpus))
    })
}

/// A worker no step holds: the next `prepare` or peak measurement takes it
/// rather than starting Python and importing torch again (seconds each).
/// One is enough: a benchmark's step is dropped before its peak is measured.
static IDLE: Mutex<Option<Worker>> = Mutex::new(None);

impl Worker {
    /// The idle worker, or a new one.
    fn take() -> Result<Worker> {
        match IDLE.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(w) => Ok(w),
            None => Ok(Worker::start()?.0),
        }
    }

    /// Makes it the idle worker, its step (and the step's memory) released.
    fn give_back(mut self) {
        if self.call(json!({"op": "release"}), threads()).is_ok() {
            *IDLE.lock().unwrap_or_else(|e| e.into_inner()) = Some(self);
        }
    }
}

fn device_name(d: Device) -> String {
    match d {
        Device::Cpu => "cpu".into(),
        Device::Gpu(i) => format!("cuda:{i}"),
    }
}

/// A scratch file for what the worker reads, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(what: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "cnn-bench-pytorch-{}-{n}-{what}.safetensors",
            std::process::id()
        );
        Scratch(std::env::temp_dir().join(name))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The job's batches as `images{i}` (f32) and `labels{i}` (i64).
fn write_batches(job: &Job, path: &std::path::Path) -> Result<()> {
    use safetensors::{tensor::TensorView, Dtype};
    let bytes: Vec<(String, Vec<usize>, Dtype, Vec<u8>)> = job
        .batches
        .iter()
        .enumerate()
        .flat_map(|(i, b)| {
            let images = b.images.iter().flat_map(|v| v.to_le_bytes()).collect();
            let labels = b
                .labels
                .iter()
                .flat_map(|&l| (l as i64).to_le_bytes())
                .collect();
            [
                (format!("images{i}"), b.shape().to_vec(), Dtype::F32, images),
                (format!("labels{i}"), vec![b.batch], Dtype::I64, labels),
            ]
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, dtype, data)| {
            Ok((name.as_str(), TensorView::new(*dtype, shape.clone(), data)?))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()?;
    safetensors::serialize_to_file(views, &None, path)
        .with_context(|| format!("writing {}", path.display()))
}

impl Adapter for Pytorch {
    fn id(&self) -> Framework {
        Framework::Pytorch
    }

    fn version(&self) -> String {
        match probe() {
            Ok((version, _)) => format!("{version} (from Python, channels-last on CPUs)"),
            Err(_) => "PyTorch (unavailable)".into(),
        }
    }

    fn set_threads(&self, threads: usize) {
        THREADS.store(threads, Ordering::Relaxed);
    }

    fn device_present(&self, d: Device) -> Result<()> {
        let (_, gpus) = probe().as_ref().map_err(|e| anyhow!("{e}"))?;
        match d {
            Device::Cpu => Ok(()),
            Device::Gpu(i) if i < *gpus => Ok(()),
            Device::Gpu(i) => {
                bail!("PyTorch sees {gpus} CUDA device(s), so GPU {i} is unavailable")
            }
        }
    }

    fn matmul_seconds(&self, d: Device, n: usize) -> Result<f64> {
        let mut worker = Worker::take()?;
        let v = worker.call(
            json!({"op": "matmul", "device": device_name(d), "n": n}),
            threads(),
        )?;
        worker.give_back();
        v["seconds"].as_f64().context("the worker's matmul time")
    }

    fn prepare(&self, job: &Job) -> Result<Box<dyn Step>> {
        self.check_device(job.device)?;
        let mut worker = Worker::take()?;
        let (weights, batches) = (Scratch::new("weights"), Scratch::new("batches"));
        job.weights.write_safetensors(&weights.0)?;
        write_batches(job, &batches.0)?;
        let request = json!({
            "op": "prepare",
            "model": job.graph.name,
            "device": device_name(job.device),
            "phase": job.phase.to_string(),
            "weights": weights.0,
            "batches": batches.0,
            "count": job.batches.len(),
            "dropout": has_dropout(job.graph),
        });
        worker.call(request, threads())?;
        Ok(Box::new(PytorchStep {
            worker: Some(worker),
            train: job.phase == Phase::Train,
        }))
    }
}

/// Whether the graph drops anything in training; a test's graph without
/// dropout (`Graph::without_dropout`) has the worker turn torchvision's off.
fn has_dropout(g: &cnn_models::graph::Graph) -> bool {
    use cnn_models::graph::Op;
    g.nodes
        .iter()
        .any(|n| matches!(n.op, Op::Dropout { p } | Op::StochasticDepth { p } if p > 0.0))
}

struct PytorchStep {
    /// Always `Some` until dropped, when it goes back to [`IDLE`].
    worker: Option<Worker>,
    train: bool,
}

impl PytorchStep {
    fn call(&mut self, request: Value) -> Result<Value> {
        self.worker
            .as_mut()
            .expect("held until dropped")
            .call(request, threads())
    }
}

impl Drop for PytorchStep {
    fn drop(&mut self) {
        if let Some(w) = self.worker.take() {
            w.give_back();
        }
    }
}

impl Step for PytorchStep {
    fn run(&mut self) -> Result<Option<f32>> {
        let v = self.call(json!({"op": "run", "n": 1}))?;
        Ok(v["loss"].as_f64().map(|l| l as f32))
    }

    fn run_timed(&mut self, n: u64) -> Result<Duration> {
        let v = self.call(json!({"op": "run", "n": n}))?;
        let s = v["seconds"].as_f64().context("the worker's step time")?;
        Ok(Duration::from_secs_f64(s))
    }

    fn process_id(&self) -> Option<u32> {
        self.worker.as_ref().map(|w| w.pid)
    }

    fn logits(&mut self) -> Result<Vec<f32>> {
        ensure!(!self.train, "a train step has no eval logits");
        let v = self.call(json!({"op": "logits"}))?;
        let logits = v["logits"].as_array().context("the worker's logits")?;
        Ok(logits
            .iter()
            .map(|x| x.as_f64().unwrap_or(f64::NAN) as f32)
            .collect())
    }
}
