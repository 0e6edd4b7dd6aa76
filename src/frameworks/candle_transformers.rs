//! `candle-transformers`: the crate's own hand-written models
//! (`candle_transformers::models::resnet`) on candle, loaded with the
//! benchmark's weights (their parameter names are torchvision's), for
//! inference: what our interpreter on candle (`candle`) is measured against.
//! Its models are inference-only (batch norm always in eval mode, no train
//! switch), so the column is absent from train groups. Models it lacks or
//! whose network differs from torchvision's are absent from its column
//! (`Framework::CandleTransformers.own_models()`; docs/methodology.md says
//! why each is left out).

use super::candle::{device, Candle};
use super::{Adapter, Cycle, Job, Step};
use crate::identities::{Device, Framework};
use anyhow::{bail, Result};
use candle_core::{DType, Module, Tensor};
use candle_nn::{Func, VarBuilder};
use candle_transformers::models::resnet;

pub struct CandleTransformers;

impl Adapter for CandleTransformers {
    fn id(&self) -> Framework {
        Framework::CandleTransformers
    }

    fn version(&self) -> String {
        "candle-transformers 0.11 (its resnets; candle 0.11)".to_string()
    }

    fn set_threads(&self, threads: usize) {
        Candle.set_threads(threads)
    }

    fn device_present(&self, d: Device) -> Result<()> {
        Candle.device_present(d)
    }

    fn matmul_seconds(&self, d: Device, n: usize) -> Result<f64> {
        Candle.matmul_seconds(d, n)
    }

    fn prepare(&self, job: &Job) -> Result<Box<dyn Step>> {
        self.check_phase(job.phase)?;
        let dev = device(job.device)?;
        let tensors = job
            .weights
            .0
            .iter()
            .map(|(name, w)| {
                Ok((
                    name.clone(),
                    Tensor::from_slice(&w.data, w.shape.as_slice(), &dev)?,
                ))
            })
            .collect::<Result<_>>()?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &dev);
        let model = build(&job.graph.name, vb)?;
        let cpu = &candle_core::Device::Cpu;
        let host = job
            .batches
            .iter()
            .map(|b| Ok(Tensor::from_slice(&b.images, b.shape().as_slice(), cpu)?))
            .collect::<Result<_>>()?;
        Ok(Box::new(CandleTransformersStep {
            model,
            host: Cycle::new(host),
            device: dev,
        }))
    }
}

/// The crate's definition of `model`, its weights read from `vb`.
fn build(model: &str, vb: VarBuilder<'static>) -> Result<Func<'static>> {
    Ok(match model {
        "resnet18" => resnet::resnet18(1000, vb)?,
        "resnet34" => resnet::resnet34(1000, vb)?,
        "resnet50" => resnet::resnet50(1000, vb)?,
        "resnet101" => resnet::resnet101(1000, vb)?,
        "resnet152" => resnet::resnet152(1000, vb)?,
        other => bail!("candle-transformers has no {other} here"),
    })
}

struct CandleTransformersStep {
    model: Func<'static>,
    host: Cycle<Tensor>,
    device: candle_core::Device,
}

impl CandleTransformersStep {
    fn infer(&mut self) -> Result<Tensor> {
        let images = self.host.next().to_device(&self.device)?;
        Ok(self.model.forward(&images)?)
    }
}

impl Step for CandleTransformersStep {
    fn run(&mut self) -> Result<Option<f32>> {
        let _logits = self.infer()?;
        self.device.synchronize()?;
        Ok(None)
    }

    fn logits(&mut self) -> Result<Vec<f32>> {
        Ok(self.infer()?.flatten_all()?.to_vec1()?)
    }
}
