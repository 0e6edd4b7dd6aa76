//! candle adapter: the model from `cnn_models::candle`, candle-nn's AdamW
//! with weight decay 0 (which is Adam), and candle-nn's cross-entropy.

use super::{seconds, Adapter, Cycle, Job, Step, AUX_WEIGHT};
use crate::identities::{Device, Framework, Phase};
use anyhow::{bail, ensure, Result};
use candle_core::Tensor;
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use cnn_models::candle::CandleModel;

pub struct Candle;

pub(super) fn device(d: Device) -> Result<candle_core::Device> {
    Ok(match d {
        Device::Cpu => candle_core::Device::Cpu,
        Device::Gpu(i) => candle_core::Device::new_cuda(i)?,
    })
}

impl Adapter for Candle {
    fn id(&self) -> Framework {
        Framework::Candle
    }

    fn version(&self) -> String {
        "candle 0.11".to_string()
    }

    fn set_threads(&self, threads: usize) {
        // candle's CPU kernels and gemm size their work by rayon's global
        // pool, which reads this variable when it first starts.
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
        std::env::set_var("CANDLE_NUM_THREADS", threads.to_string());
    }

    fn device_present(&self, d: Device) -> Result<()> {
        match d {
            Device::Cpu => Ok(()),
            Device::Gpu(_) if !candle_core::utils::cuda_is_available() => {
                bail!("this build of candle has no CUDA support (build with the `cuda` feature)")
            }
            Device::Gpu(_) => device(d).map(|_| ()),
        }
    }

    fn matmul_seconds(&self, d: Device, n: usize) -> Result<f64> {
        let dev = device(d)?;
        let a = Tensor::randn(0f32, 1f32, (n, n), &dev)?;
        dev.synchronize()?;
        seconds(|| {
            let c = a.matmul(&a)?;
            dev.synchronize()?;
            Ok(c)
        })
    }

    fn prepare(&self, job: &Job) -> Result<Box<dyn Step>> {
        let (graph, weights, d) = (job.graph, job.weights, job.device);
        let (phase, batches) = (job.phase, job.batches);
        let dev = device(d)?;
        let model = CandleModel::new(graph, weights, &dev)?;
        let host = batches
            .iter()
            .map(|b| {
                let cpu = &candle_core::Device::Cpu;
                Ok((
                    Tensor::from_slice(&b.images, b.shape().as_slice(), cpu)?,
                    Tensor::from_slice(&b.labels, b.batch, cpu)?,
                ))
            })
            .collect::<Result<_>>()?;
        let optimizer = match phase {
            Phase::Train => {
                let params = ParamsAdamW {
                    lr: 1e-3,
                    weight_decay: 0.0,
                    ..Default::default()
                };
                Some(AdamW::new(model.parameters().to_vec(), params)?)
            }
            Phase::Inference => None,
        };
        Ok(Box::new(CandleStep {
            model,
            optimizer,
            host: Cycle::new(host),
            device: dev,
        }))
    }
}

struct CandleStep {
    model: CandleModel,
    /// Adam (lr 1e-3, no weight decay) for a train step; `None` for inference.
    optimizer: Option<AdamW>,
    host: Cycle<(Tensor, Tensor)>,
    device: candle_core::Device,
}

impl CandleStep {
    /// Eval-mode logits of the next batch. Eval mode detaches every
    /// activation: no gradient tracking.
    fn infer(&mut self) -> Result<Tensor> {
        let (images, _) = self.host.next();
        self.model
            .forward_t(&images.to_device(&self.device)?, false)
    }
}

impl Step for CandleStep {
    fn run(&mut self) -> Result<Option<f32>> {
        if self.optimizer.is_none() {
            let _logits = self.infer()?;
            self.device.synchronize()?;
            return Ok(None);
        }
        let (images, labels) = self.host.next();
        let x = images.to_device(&self.device)?;
        let y = labels.to_device(&self.device)?;
        let (logits, aux) = self.model.forward_train(&x)?;
        let main = candle_nn::loss::cross_entropy(&logits, &y)?;
        // Inception v3's auxiliary classifier, weighted as usual.
        let loss = match aux {
            Some(aux) => (main + (candle_nn::loss::cross_entropy(&aux, &y)? * AUX_WEIGHT)?)?,
            None => main,
        };
        let opt = self
            .optimizer
            .as_mut()
            .expect("a train step has an optimizer");
        opt.backward_step(&loss)?;
        self.device.synchronize()?;
        Ok(Some(loss.to_scalar::<f32>()?))
    }

    fn logits(&mut self) -> Result<Vec<f32>> {
        ensure!(self.optimizer.is_none(), "a train step has no eval logits");
        Ok(self.infer()?.flatten_all()?.to_vec1()?)
    }
}
