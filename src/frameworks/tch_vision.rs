//! `tch-vision`'s models: tch's own hand-written definitions (`tch::vision`)
//! of the models `Framework::TchVision.own_models()` lists, loaded with the
//! benchmark's weights by name. They run through the tch adapter's steps, so
//! `tch` against `tch-vision` measures our interpreter against hand-written
//! code on the same libtorch.

use anyhow::{bail, ensure, Context, Result};
use cnn_models::Weights;
use tch::nn::{self, ModuleT};
use tch::vision::{mobilenet, resnet};
use tch::Tensor;

/// tch::vision's definition of `model` on `vs`, with `weights` copied in.
/// Its parameter names are torchvision's, so no name table is needed.
pub fn build(model: &str, vs: &nn::VarStore, weights: &Weights) -> Result<Box<dyn ModuleT>> {
    let p = &vs.root();
    let net: Box<dyn ModuleT> = match model {
        "resnet18" => Box::new(resnet::resnet18(p, 1000)),
        "resnet34" => Box::new(resnet::resnet34(p, 1000)),
        "resnet50" => Box::new(resnet::resnet50(p, 1000)),
        "resnet101" => Box::new(resnet::resnet101(p, 1000)),
        "resnet152" => Box::new(resnet::resnet152(p, 1000)),
        "mobilenetv2" => Box::new(mobilenet::v2(p, 1000)),
        other => bail!("tch::vision has no {other} here"),
    };
    let vars = vs.variables();
    ensure!(
        vars.len() == weights.0.len(),
        "tch::vision's {model} has {} tensors, the weights {}",
        vars.len(),
        weights.0.len()
    );
    tch::no_grad(|| -> Result<()> {
        for (name, mut var) in vars {
            let w = weights
                .get(&name)
                .with_context(|| format!("tch::vision's {model}"))?;
            let shape: Vec<i64> = w.shape.iter().map(|&d| d as i64).collect();
            ensure!(
                var.size() == shape,
                "{name}: {:?} here, {shape:?} in the weights",
                var.size()
            );
            var.f_copy_(&Tensor::from_slice(&w.data).reshape(&shape))?;
        }
        Ok(())
    })?;
    Ok(net)
}
