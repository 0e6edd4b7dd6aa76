//! TensorFlow adapter (the `tensorflow` crate on TensorFlow's C API): the
//! graph from `cnn_models::tensorflow`, built once per benchmark and run by a
//! `Session`, TensorFlow 1's graph mode (the C API's eager half is not
//! reachable when the library is loaded at run time). The library is PyPI's
//! `tensorflow-cpu` wheel's `libtensorflow_cc.so.2`, which `make setup`
//! links as `.libtensorflow/libtensorflow.so`; `.cargo/config.toml` points
//! `TENSORFLOW_DIR` there. The wheel has no CUDA: CPU only.
//!
//! A train step is the model's loss (softmax cross-entropy), its gradients
//! from `TF_AddGradients` and one `ApplyAdam` per parameter, with the
//! epsilon fed each step so that the update is PyTorch's Adam exactly.

use super::{seconds, Adapter, Cycle, Job, Step, AUX_WEIGHT};
use crate::identities::{Device, Framework, Phase};
use anyhow::{anyhow, ensure, Context, Result};
use cnn_models::tensorflow::TfModel;
use std::sync::{Mutex, OnceLock};
use tensorflow::{
    ops, DataType, Operation, Output, Session, SessionOptions, SessionRunArgs, Tensor,
};

pub struct Tensorflow;

/// Adam's hyper-parameters, PyTorch's defaults with lr 1e-3.
const LR: f32 = 1e-3;
const BETAS: (f32, f32) = (0.9, 0.999);
const EPS: f32 = 1e-8;

/// Loads TensorFlow's library once, or says why it could not.
fn library() -> Result<()> {
    static LOADED: OnceLock<Result<(), String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let dir = std::env::var("TENSORFLOW_DIR").map_err(|_| {
                "TENSORFLOW_DIR is unset: run through cargo in this repository after `make setup` \
                 (it installs the tensorflow-cpu wheel's library; .cargo/config.toml points \
                 TENSORFLOW_DIR at it)"
                    .to_string()
            })?;
            tensorflow::library::load()
                .map_err(|e| format!("cannot load TensorFlow from {dir} ({e}): run `make setup`"))
        })
        .clone()
        .map_err(|e| anyhow!("{e}"))
}

/// Intra-op threads of every session, as `set_threads` set them.
static THREADS: Mutex<usize> = Mutex::new(0);

/// A session for `model`'s graph: `threads` intra-op threads and one
/// inter-op thread (TensorFlow's CPU performance guide: the ops of a CNN
/// run one after another, each on every core).
fn session(scope: &tensorflow::Scope) -> Result<Session> {
    let threads = *THREADS.lock().expect("never poisoned");
    let mut options = SessionOptions::new();
    if threads > 0 {
        // A serialised ConfigProto: intra_op_parallelism_threads (field 2)
        // and inter_op_parallelism_threads (field 5), both varints.
        let mut config = vec![0x10];
        let mut v = threads;
        while v >= 0x80 {
            config.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        config.extend([v as u8, 0x28, 1]);
        options.set_config(&config)?;
    }
    Ok(Session::new(&options, &scope.graph())?)
}

impl Adapter for Tensorflow {
    fn id(&self) -> Framework {
        Framework::Tensorflow
    }

    fn version(&self) -> String {
        // Every call into the library panics until it is loaded.
        let lib = match library() {
            Ok(()) => tensorflow::version().unwrap_or_else(|_| "unknown version".into()),
            Err(_) => "not loaded".into(),
        };
        format!("tensorflow 0.21 (TensorFlow {lib}, graph mode, CPU)")
    }

    fn set_threads(&self, threads: usize) {
        *THREADS.lock().expect("never poisoned") = threads;
    }

    /// The CPU is there once TensorFlow's library loads.
    fn device_present(&self, _d: Device) -> Result<()> {
        library()
    }

    fn matmul_seconds(&self, d: Device, n: usize) -> Result<f64> {
        self.check_device(d)?;
        let mut scope = tensorflow::Scope::new_root_scope();
        let a = Tensor::<f32>::new(&[n as u64, n as u64])
            .with_values(&cnn_models::onnx::matmul_operand(n))?;
        let a: Output = ops::constant(a, &mut scope)?.into();
        let c: Output = ops::mat_mul(a.clone(), a, &mut scope)?.into();
        let session = session(&scope)?;
        let run = || -> Result<Tensor<f32>> {
            let mut args = SessionRunArgs::new();
            let f = args.request_fetch(&c.operation, c.index);
            session.run(&mut args)?;
            Ok(args.fetch(f)?)
        };
        // The first run also optimises the graph: not the product's time.
        run()?;
        seconds(run)
    }

    fn prepare(&self, job: &Job) -> Result<Box<dyn Step>> {
        self.check_device(job.device)?;
        self.check_phase(job.phase)?;
        let b = &job.batches[0];
        let train = job.phase == Phase::Train;
        let mut model = TfModel::new(job.graph, job.weights, b.batch, b.size, train)?;
        let host = job
            .batches
            .iter()
            .map(|b| {
                let labels: Vec<i32> = b.labels.iter().map(|&l| l as i32).collect();
                Ok((
                    Tensor::<f32>::new(&[b.batch, b.size, b.size, 3].map(|d| d as u64))
                        .with_values(&nhwc(&b.images, b.batch, b.size))?,
                    Tensor::<i32>::new(&[b.batch as u64]).with_values(&labels)?,
                ))
            })
            .collect::<Result<_>>()?;
        let train = match train {
            true => Some(Train::new(&mut model, job.graph.num_classes, b.batch)?),
            false => None,
        };
        let session = session(&model.scope).context("TensorFlow refused the graph")?;
        // A train graph's variables and Adam's moments start from their
        // initial values; an inference graph has none.
        if let Some(t) = &train {
            let mut init = SessionRunArgs::new();
            for op in model
                .variables
                .iter()
                .map(|v| v.initializer())
                .chain(&t.slots)
            {
                init.add_target(op);
            }
            session.run(&mut init)?;
        }
        Ok(Box::new(TfStep {
            session,
            model,
            train,
            host: Cycle::new(host),
        }))
    }
}

/// A batch's NCHW images in NHWC, the layout TensorFlow's CPU kernels take:
/// done once, outside the timed step, as a TensorFlow user's input
/// pipeline would hand them.
fn nhwc(images: &[f32], n: usize, size: usize) -> Vec<f32> {
    let plane = size * size;
    let mut out = vec![0f32; images.len()];
    for b in 0..n {
        for c in 0..3 {
            for p in 0..plane {
                out[(b * plane + p) * 3 + c] = images[(b * 3 + c) * plane + p];
            }
        }
    }
    out
}

/// The ops a train step adds to the model's graph.
struct Train {
    labels: Output,
    loss: Output,
    /// Adam's updates and the running statistics' assignments.
    step: Operation,
    /// `beta1^t`, `beta2^t` and the step's epsilon, fed each step.
    powers: [Output; 3],
    /// Initializers of Adam's moment estimates.
    slots: Vec<Operation>,
    t: i32,
}

impl Train {
    fn new(m: &mut TfModel, classes: usize, batch: usize) -> Result<Self> {
        let scalar = |m: &mut TfModel| -> Result<Output> {
            Ok(ops::Placeholder::new()
                .dtype(DataType::Float)
                .shape([0u64; 0])
                .build(&mut m.scope)?
                .into())
        };
        let labels: Output = ops::Placeholder::new()
            .dtype(DataType::Int32)
            .shape([batch as u64])
            .build(&mut m.scope)?
            .into();
        let depth = m.constant::<i32>(&[classes as i32], &[])?;
        let (on, off) = (
            m.constant::<f32>(&[1.0], &[])?,
            m.constant::<f32>(&[0.0], &[])?,
        );
        let one_hot: Output = ops::one_hot(labels.clone(), depth, on, off, &mut m.scope)?.into();
        // Softmax cross-entropy, averaged over the batch; the sparse op has
        // no gradient in the C API.
        let axis = m.constant::<i32>(&[0], &[1])?;
        let cross_entropy = |m: &mut TfModel, logits: Output| -> Result<Output> {
            let ce = ops::SoftmaxCrossEntropyWithLogits::new().build_instance(
                logits,
                one_hot.clone(),
                &mut m.scope,
            )?;
            Ok(ops::mean(ce.loss(), axis.clone(), &mut m.scope)?.into())
        };
        let mut loss = cross_entropy(m, m.logits.clone())?;
        if let Some(aux) = m.aux.clone() {
            let aux = cross_entropy(m, aux)?;
            let w = m.constant::<f32>(&[AUX_WEIGHT as f32], &[])?;
            let aux: Output = ops::mul(aux, w, &mut m.scope)?.into();
            loss = ops::add_v2(loss, aux, &mut m.scope)?.into();
        }
        let params: Vec<Output> = m.parameters.iter().map(|v| v.output().clone()).collect();
        let grads = m
            .scope
            .graph_mut()
            .add_gradients(None, &[loss.clone()], &params, None)?;
        // Every gradient before any update: a parameter's update must not
        // overwrite it while a backward op still reads it.
        let mut ready = ops::NoOp::new();
        for g in grads.iter().flatten() {
            ready = ready.add_control_input(g.operation.clone());
        }
        let ready = ready.build(&mut m.scope)?;
        let powers = [scalar(m)?, scalar(m)?, scalar(m)?];
        let lr = m.constant::<f32>(&[LR], &[])?;
        let (b1, b2) = (
            m.constant::<f32>(&[BETAS.0], &[])?,
            m.constant::<f32>(&[BETAS.1], &[])?,
        );
        let mut step = ops::NoOp::new();
        let mut slots = Vec::new();
        for (p, g) in m.parameters.clone().iter().zip(grads) {
            let g = g.with_context(|| format!("no gradient for {}", p.name()))?;
            let shape = p.shape();
            let dims: Vec<u64> = (0..shape.dims().unwrap_or(0))
                .map(|i| shape[i].unwrap_or(1) as u64)
                .collect();
            let mut zeros = || -> Result<Output> {
                let v = tensorflow::Variable::builder()
                    .const_initial_value(Tensor::<f32>::new(&dims))
                    .build(&mut m.scope)?;
                slots.push(v.initializer().clone());
                Ok(v.output().clone())
            };
            let (mom, vel) = (zeros()?, zeros()?);
            let [b1p, b2p, eps] = powers.clone();
            let apply = ops::ApplyAdam::new()
                .add_control_input(ready.clone())
                .build(
                    p.output().clone(),
                    mom,
                    vel,
                    b1p,
                    b2p,
                    lr.clone(),
                    b1.clone(),
                    b2.clone(),
                    eps,
                    g,
                    &mut m.scope,
                )?;
            step = step.add_control_input(apply);
        }
        for u in &m.updates {
            step = step.add_control_input(u.clone());
        }
        Ok(Train {
            labels,
            loss,
            step: step.build(&mut m.scope)?,
            powers,
            slots,
            t: 0,
        })
    }

    /// The values fed to `powers` at the next step. TensorFlow's Adam adds
    /// epsilon to `sqrt(v)` before the bias correction, PyTorch's after it:
    /// feeding `eps * sqrt(1 - beta2^t)` makes the two updates equal.
    fn next_powers(&mut self) -> [f32; 3] {
        self.t += 1;
        let (p1, p2) = (BETAS.0.powi(self.t), BETAS.1.powi(self.t));
        [p1, p2, EPS * (1.0 - p2).sqrt()]
    }
}

struct TfStep {
    session: Session,
    model: TfModel,
    train: Option<Train>,
    host: Cycle<(Tensor<f32>, Tensor<i32>)>,
}

impl TfStep {
    /// Runs the session on the next batch: a train step (its loss), or the
    /// logits handed to `read`.
    fn go<T>(&mut self, read: impl FnOnce(&[f32]) -> T) -> Result<T> {
        let (images, labels) = self.host.next();
        let powers;
        let mut args = SessionRunArgs::new();
        args.add_feed(&self.model.input.operation, self.model.input.index, images);
        let out = match &mut self.train {
            Some(t) => {
                args.add_feed(&t.labels.operation, t.labels.index, labels);
                powers = t.next_powers().map(Tensor::from);
                for (p, v) in t.powers.iter().zip(&powers) {
                    args.add_feed(&p.operation, p.index, v);
                }
                args.add_target(&t.step);
                args.request_fetch(&t.loss.operation, t.loss.index)
            }
            None => args.request_fetch(&self.model.logits.operation, self.model.logits.index),
        };
        self.session.run(&mut args)?;
        let out: Tensor<f32> = args.fetch(out)?;
        Ok(read(&out))
    }
}

impl Step for TfStep {
    fn run(&mut self) -> Result<Option<f32>> {
        match self.train.is_some() {
            true => self.go(|loss| Some(loss[0])),
            // The logits stay in TensorFlow's tensor: no copy in the step.
            false => self.go(|_| None),
        }
    }

    fn logits(&mut self) -> Result<Vec<f32>> {
        ensure!(self.train.is_none(), "a train step has no eval logits");
        self.go(<[f32]>::to_vec)
    }
}
