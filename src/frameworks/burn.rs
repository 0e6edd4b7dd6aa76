//! burn adapter: the model from `cnn_models::burn` on burn's own backends,
//! Flex (pure Rust, eager: gemm and SIMD kernels on rayon's pool) on the
//! CPU and CubeCL's CUDA backend (kernels compiled at run time to PTX
//! through LLVM, cubecl 0.11's default CUDA compiler; fusion and autotune as
//! burn ships them) on a GPU, under the `burn-cuda` feature (a build of its
//! own, apart from `cuda`: see Cargo.toml). Train:
//! burn's autodiff device, burn-nn's cross-entropy and burn-optim's Adam
//! with PyTorch's epsilon.

use super::{seconds, Adapter, Cycle, Job, Step, AUX_WEIGHT};
use crate::identities::{Device, Framework, Phase};
use anyhow::{anyhow, ensure, Result};
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Int, Tensor, TensorData};
use cnn_models::burn::BurnModel;

pub struct Burn;

/// Adam as PyTorch defines it (lr 1e-3, betas 0.9/0.999, eps 1e-8); burn's
/// default epsilon is 1e-5.
const LR: f64 = 1e-3;
const EPS: f32 = 1e-8;

/// burn's device for `d`: Flex on the CPU, CUDA on a GPU.
fn device(d: Device) -> Result<burn::tensor::Device> {
    match d {
        Device::Cpu => Ok(burn::tensor::Device::flex()),
        #[cfg(feature = "burn-cuda")]
        Device::Gpu(i) => Ok(burn::tensor::Device::cuda(i)),
        #[cfg(not(feature = "burn-cuda"))]
        Device::Gpu(_) => anyhow::bail!(
            "this build has no CUDA backend for burn: burn runs on a GPU in a build of \
             its own, with the `burn-cuda` feature (`make gpu-bundle` makes it: \
             device-bundle-burn/cnn-bench-gpu-burn)"
        ),
    }
}

/// Waits until the device has finished what was queued on it.
fn sync(d: &burn::tensor::Device) -> Result<()> {
    d.sync().map_err(|e| anyhow!("burn: {e:?}"))
}

impl Adapter for Burn {
    fn id(&self) -> Framework {
        Framework::Burn
    }

    fn version(&self) -> String {
        "burn 0.22.1 (Flex on the CPU, CUDA in a burn-cuda build)".to_string()
    }

    fn set_threads(&self, threads: usize) {
        // Flex's kernels and gemm run on rayon's global pool, which reads
        // this variable when it first starts.
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }

    fn device_present(&self, d: Device) -> Result<()> {
        // burn names a CUDA device without opening it; ask the driver.
        #[cfg(feature = "burn-cuda")]
        if let Device::Gpu(i) = d {
            // cubecl loads the driver at run time and panics without one.
            // Safety: this only tries to open the library and looks it up.
            ensure!(
                unsafe { cudarc::driver::sys::is_culib_present() },
                "no CUDA driver (libcuda.so) found, so GPU {i} is unavailable"
            );
            let n = cudarc::driver::CudaContext::device_count()
                .map_err(|e| anyhow!("the CUDA driver: {e}, so GPU {i} is unavailable"))?;
            ensure!(
                i < n.max(0) as usize,
                "the CUDA driver sees {n} device(s), so GPU {i} is unavailable"
            );
        }
        device(d).map(|_| ())
    }

    fn matmul_seconds(&self, d: Device, n: usize) -> Result<f64> {
        let dev = device(d)?;
        let a = Tensor::<2>::random([n, n], burn::tensor::Distribution::Default, &dev);
        sync(&dev)?;
        seconds(|| {
            let c = a.clone().matmul(a.clone());
            sync(&dev)?;
            Ok(c)
        })
    }

    fn prepare(&self, job: &Job) -> Result<Box<dyn Step>> {
        let plain = device(job.device)?;
        // Gradients are a property of the device in burn.
        let dev = match job.phase {
            Phase::Train => plain.clone().autodiff(),
            Phase::Inference => plain,
        };
        let model = BurnModel::new(job.graph, job.weights, &dev)?;
        // The batches wait in host memory (Flex's tensors), and are moved
        // to the device in each step.
        let host = burn::tensor::Device::flex();
        let batches = job
            .batches
            .iter()
            .map(|b| {
                let images = TensorData::new(b.images.clone(), b.shape().to_vec());
                let labels: Vec<i64> = b.labels.iter().map(|&l| l.into()).collect();
                let labels = TensorData::new(labels, [b.batch]);
                (
                    Tensor::<4>::from_data(images, &host),
                    Tensor::<1, Int>::from_data(labels, &host),
                )
            })
            .collect();
        let train = match job.phase {
            Phase::Train => Some(Train {
                optimizer: AdamConfig::new().with_epsilon(EPS).init(),
                loss: CrossEntropyLossConfig::new().init(&dev),
            }),
            Phase::Inference => None,
        };
        Ok(Box::new(BurnStep {
            model,
            train,
            batches: Cycle::new(batches),
            device: dev,
        }))
    }
}

/// What a train step adds to the forward pass, built once when prepared.
struct Train {
    optimizer: ModuleOptimizer,
    loss: CrossEntropyLoss,
}

struct BurnStep {
    model: BurnModel,
    /// Adam and the loss for a train step; `None` for inference.
    train: Option<Train>,
    batches: Cycle<(Tensor<4>, Tensor<1, Int>)>,
    device: burn::tensor::Device,
}

impl BurnStep {
    /// The next batch's logits (in train mode on an autodiff device) and
    /// its labels, still in host memory.
    fn forward(&mut self) -> Result<(Tensor<2>, Option<Tensor<2>>, Tensor<1, Int>)> {
        let (images, labels) = self.batches.next().clone();
        let (logits, aux) = self.model.forward(images.to_device(&self.device))?;
        Ok((logits, aux, labels))
    }
}

impl Step for BurnStep {
    fn run(&mut self) -> Result<Option<f32>> {
        let (logits, aux, labels) = self.forward()?;
        let Some(train) = self.train.as_mut() else {
            drop(logits);
            sync(&self.device)?;
            return Ok(None);
        };
        let y = labels.to_device(&self.device);
        let mut loss = train.loss.forward(logits, y.clone());
        // Inception v3's auxiliary classifier, weighted as usual.
        if let Some(aux) = aux {
            loss = loss + train.loss.forward(aux, y) * AUX_WEIGHT;
        }
        let grads = GradientsParams::from_grads(loss.backward(), &self.model.layers);
        let layers = self.model.layers.clone();
        self.model.layers = train.optimizer.step(LR, layers, grads);
        sync(&self.device)?;
        Ok(Some(loss.into_scalar::<f32>()))
    }

    fn logits(&mut self) -> Result<Vec<f32>> {
        ensure!(self.train.is_none(), "a train step has no eval logits");
        let (logits, _, _) = self.forward()?;
        logits
            .into_data()
            .try_into_vec::<f32>()
            .map_err(|e| anyhow!("burn: {e:?}"))
    }
}
