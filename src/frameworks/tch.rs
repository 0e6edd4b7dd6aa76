//! tch (libtorch) adapter: the model from `cnn_models::tch`, libtorch's
//! fused Adam (`fused_adam.rs`: tch's `nn::Adam` is per parameter) and
//! cross-entropy. Three frameworks: `tch` runs the model eagerly
//! (op by op from Rust, as PyTorch's eager mode), `tch-jit` runs the same
//! model traced to a TorchScript graph (as a frozen TensorFlow graph), and
//! `tch-vision` runs tch's own hand-written definition instead (see
//! `tch_vision.rs`), through the same steps. tch-jit's CPU inference graph
//! is also frozen (`torchscript_inference.rs`). On the CPU all three (and
//! `pytorch`) hold weights and images channels-last.

use super::fused_adam::FusedAdam;
use super::torchscript_inference::Frozen;
use super::{seconds, Adapter, Cycle, Job, Step, AUX_WEIGHT};
use crate::identities::{Device, Framework, Phase};
use anyhow::{bail, ensure, Result};
use cnn_models::tch::{TchModel, Traced};
use tch::{nn, Kind, Tensor};

/// `tch`, `tch-jit` or `tch-vision`.
pub struct Tch(pub Framework);

fn device(d: Device) -> tch::Device {
    match d {
        Device::Cpu => tch::Device::Cpu,
        Device::Gpu(i) => tch::Device::Cuda(i),
    }
}

/// Waits for every queued kernel of `d`.
fn synchronize(d: tch::Device) {
    if let tch::Device::Cuda(i) = d {
        tch::Cuda::synchronize(i as i64);
    }
}

impl Adapter for Tch {
    fn id(&self) -> Framework {
        self.0
    }

    fn version(&self) -> String {
        // tch 0.24 is built for libtorch 2.11 (checked by torch-sys at build time).
        let engine = match self.0 {
            Framework::TchJit => {
                ", TorchScript trace, frozen on CPUs, TensorExpr fuser off on GPUs"
            }
            Framework::TchVision => ", tch::vision models",
            _ => "",
        };
        format!("tch 0.24 (libtorch 2.11.0{engine}, channels-last on CPUs)")
    }

    fn set_threads(&self, threads: usize) {
        tch::set_num_threads(threads as i32);
    }

    fn device_present(&self, d: Device) -> Result<()> {
        match d {
            Device::Cpu => Ok(()),
            Device::Gpu(i) if tch::Cuda::device_count() > i as i64 => Ok(()),
            Device::Gpu(i) => bail!(
                "libtorch sees {} CUDA device(s), so GPU {i} is unavailable (is this a CUDA build on a GPU machine?)",
                tch::Cuda::device_count()
            ),
        }
    }

    fn matmul_seconds(&self, d: Device, n: usize) -> Result<f64> {
        let dev = device(d);
        let a = Tensor::f_randn([n as i64, n as i64], (Kind::Float, dev))?;
        synchronize(dev);
        seconds(|| {
            let c = a.f_matmul(&a)?;
            synchronize(dev);
            Ok(c)
        })
    }

    fn prepare(&self, job: &Job) -> Result<Box<dyn Step>> {
        let (graph, weights, d) = (job.graph, job.weights, job.device);
        let (phase, batches) = (job.phase, job.batches);
        let dev = device(d);
        if dev.is_cuda() {
            // As `torch.backends.cudnn.benchmark = True`: cuDNN times its
            // convolution algorithms on the first step and keeps the fastest.
            tch::Cuda::cudnn_set_benchmark(true);
            if self.0 == Framework::TchJit {
                // TorchScript's TensorExpr fuser (on by default on CUDA)
                // compiles its fusion groups in the first optimised steps:
                // over densenet121's chains of concatenations that took
                // minutes (pytorch/pytorch#33354). Off, as on the CPU.
                tch::jit::set_tensor_expr_fuser_enabled(false);
                if tch::jit::get_tensor_expr_fuser_enabled() {
                    eprintln!(
                        "tch-jit: PYTORCH_TENSOREXPR keeps TorchScript's TensorExpr fuser on"
                    );
                }
            }
        }
        let net = match self.0 {
            Framework::TchVision => {
                let vs = nn::VarStore::new(dev);
                let module = super::tch_vision::build(&graph.name, &vs, weights)?;
                Net::Vision { module, vs }
            }
            _ => Net::Ours(TchModel::new(graph, weights, dev)?),
        };
        // On the CPU, weights and images in the channels-last memory format,
        // as PyTorch's performance guide tells its CPU users: oneDNN then
        // convolves NHWC without converting layouts around every
        // convolution (docs/findings.md). The GPU keeps libtorch's default
        // layout until it is measured there.
        let nhwc = !dev.is_cuda();
        if nhwc {
            to_channels_last(net.var_store());
        }
        let host: Vec<(Tensor, Tensor)> = batches
            .iter()
            .map(|b| {
                let shape: Vec<i64> = b.shape().iter().map(|&v| v as i64).collect();
                let labels: Vec<i64> = b.labels.iter().map(|&l| l as i64).collect();
                let images = Tensor::from_slice(&b.images).reshape(&shape);
                let images = if nhwc { channels_last(&images) } else { images };
                (images, Tensor::from_slice(&labels))
            })
            .collect();
        let optimizer = match phase {
            Phase::Train => Some(FusedAdam::new(net.var_store().trainable_variables(), 1e-3)),
            Phase::Inference => None,
        };
        let traced = if let (Framework::TchJit, Net::Ours(model)) = (self.0, &net) {
            let (images, _) = &host[0];
            let example = images.to_device(dev);
            let train = phase == Phase::Train;
            // Traced outside the timed steps, as graph building is in TF1.
            Some(if train {
                model.trace(&example, true)?
            } else {
                tch::no_grad(|| model.trace(&example, false))?
            })
        } else {
            None
        };
        // On the CPU the inference graph is frozen, as PyTorch documents
        // for deploying vision models (not on the GPU until measured there).
        // Not optimize_for_inference: with channels-last tensors freezing
        // alone was faster (docs/findings.md).
        let jit = match traced {
            Some(t) if phase == Phase::Inference && nhwc => {
                Some(Jit::Frozen(Frozen::new(t.module())?))
            }
            t => t.map(Jit::Traced),
        };
        Ok(Box::new(TchStep {
            net,
            jit,
            optimizer,
            host: Cycle::new(host),
        }))
    }
}

/// Every 4-d variable of `vs` (the convolutions' weights) channels-last, as
/// `model.to(memory_format=torch.channels_last)`: the tensors keep their
/// identity (the optimizer's and the model's handles see the change).
fn to_channels_last(vs: &nn::VarStore) {
    tch::no_grad(|| {
        for (_, mut v) in vs.variables() {
            if v.dim() == 4 {
                v.set_data(&channels_last(&v));
            }
        }
    })
}

/// `t` (4-d) in the channels-last memory format: the same NCHW tensor with
/// NHWC strides, as `t.to(memory_format=torch.channels_last)` (tch does not
/// bind memory formats).
fn channels_last(t: &Tensor) -> Tensor {
    t.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

/// What a step runs: cnn-models' description, or tch::vision's own model.
enum Net {
    Ours(TchModel),
    Vision {
        module: Box<dyn nn::ModuleT>,
        vs: nn::VarStore,
    },
}

impl Net {
    fn var_store(&self) -> &nn::VarStore {
        match self {
            Net::Ours(model) => model.var_store(),
            Net::Vision { vs, .. } => vs,
        }
    }

    fn device(&self) -> tch::Device {
        self.var_store().device()
    }
}

/// tch-jit's graph: the trace, or on the CPU for inference the trace frozen.
enum Jit {
    Traced(Traced),
    Frozen(Frozen),
}

struct TchStep {
    net: Net,
    /// The TorchScript graph that runs instead of the eager model (`tch-jit`).
    jit: Option<Jit>,
    /// Adam (lr 1e-3, no weight decay) for a train step; `None` for inference.
    optimizer: Option<FusedAdam>,
    host: Cycle<(Tensor, Tensor)>,
}

impl TchStep {
    /// The logits (and auxiliary logits) of `x`, eagerly or through the
    /// traced graph.
    fn forward(&self, x: &Tensor, train: bool) -> Result<(Tensor, Option<Tensor>)> {
        match (&self.net, &self.jit) {
            (_, Some(Jit::Frozen(frozen))) => Ok((frozen.forward(x)?, None)),
            (Net::Ours(model), Some(Jit::Traced(traced))) => model.forward_traced(traced, x),
            (Net::Ours(model), None) if train => Ok(model.forward_train(x)),
            (Net::Ours(model), None) => Ok((model.forward_t(x, false), None)),
            (Net::Vision { module, .. }, _) => Ok((module.forward_t(x, train), None)),
        }
    }

    /// An inference forward pass on the next batch.
    fn infer(&mut self) -> Result<Tensor> {
        let (images, _) = self.host.next();
        let x = images.to_device(self.net.device());
        Ok(tch::no_grad(|| self.forward(&x, false))?.0)
    }
}

impl Step for TchStep {
    fn run(&mut self) -> Result<Option<f32>> {
        let dev = self.net.device();
        if self.optimizer.is_none() {
            let _logits = self.infer()?;
            synchronize(dev);
            return Ok(None);
        }
        let (images, labels) = self.host.next();
        let (x, y) = (images.to_device(dev), labels.to_device(dev));
        let (logits, aux) = self.forward(&x, true)?;
        let main = logits.cross_entropy_for_logits(&y);
        // Inception v3's auxiliary classifier, weighted as usual.
        let loss = match aux {
            Some(aux) => main + AUX_WEIGHT * aux.cross_entropy_for_logits(&y),
            None => main,
        };
        let opt = self
            .optimizer
            .as_mut()
            .expect("a train step has an optimizer");
        opt.zero_grad()?;
        loss.backward();
        opt.step()?;
        synchronize(dev);
        Ok(Some(loss.to_kind(Kind::Float).double_value(&[]) as f32))
    }

    fn logits(&mut self) -> Result<Vec<f32>> {
        ensure!(self.optimizer.is_none(), "a train step has no eval logits");
        Ok(Vec::<f32>::try_from(
            self.infer()?.flatten(0, -1).to_device(tch::Device::Cpu),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_last_keeps_values_with_nhwc_strides() {
        let t =
            Tensor::arange(2 * 3 * 4 * 5, (Kind::Float, tch::Device::Cpu)).reshape([2, 3, 4, 5]);
        let c = channels_last(&t);
        assert_eq!(c.size(), t.size());
        assert_eq!(c.stride(), [60, 1, 15, 3]);
        assert!(c.equal(&t));
    }

    #[test]
    fn var_store_goes_channels_last_in_place() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let conv = vs.root().randn_standard("conv", &[4, 3, 2, 2]);
        let bias = vs.root().randn_standard("bias", &[4]);
        let before = conv.copy();
        to_channels_last(&vs);
        // The handle taken before the change sees it.
        assert_eq!(conv.stride(), [12, 1, 6, 3]);
        assert!(conv.equal(&before));
        assert!(conv.requires_grad());
        assert_eq!(bias.stride(), [1]);
    }
}
