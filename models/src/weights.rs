//! Weights independent of any framework: named f32 tensors, drawn from a seed
//! with torchvision's initialisation, or read from a safetensors file written
//! by torchvision.

use crate::graph::{Graph, Op};
use anyhow::{bail, Context, Result};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use std::collections::HashMap;

/// One named tensor: shape and row-major data.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Every tensor of a model (parameters and batch-norm buffers) by its
/// torchvision name.
#[derive(Clone, Debug, Default)]
pub struct Weights(pub HashMap<String, Tensor>);

impl Weights {
    /// Random weights from `seed`, initialised as torchvision initialises these
    /// models: convolutions Kaiming-normal (fan-out), linear layers N(0, 0.01),
    /// biases 0, batch norm weight 1, running mean 0, running variance 1.
    pub fn random(g: &Graph, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut out = HashMap::new();
        for node in &g.nodes {
            for spec in node.op.tensors() {
                let n: usize = spec.shape.iter().product();
                let fill = |v: f32| vec![v; n];
                let data = match (&node.op, spec.leaf) {
                    (Op::Conv2d(c), "weight") => {
                        let std = (2.0 / (c.out_channels * c.kernel.0 * c.kernel.1) as f32).sqrt();
                        let d = Normal::new(0.0, std).expect("positive std");
                        (0..n).map(|_| d.sample(&mut rng)).collect()
                    }
                    (Op::Linear { .. }, "weight") => {
                        let d = Normal::new(0.0, 0.01).expect("positive std");
                        (0..n).map(|_| d.sample(&mut rng)).collect()
                    }
                    (Op::BatchNorm2d { .. }, "weight" | "running_var") => fill(1.0),
                    _ => fill(0.0),
                };
                out.insert(
                    node.path.join(spec.leaf),
                    Tensor {
                        shape: spec.shape,
                        data,
                    },
                );
            }
        }
        Self(out)
    }

    /// Reads a safetensors file (f32 tensors named as torchvision names them)
    /// and checks it holds every tensor of `g` with the right shape. Extra
    /// entries (`num_batches_tracked`) are ignored.
    pub fn from_safetensors(g: &Graph, path: &std::path::Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let file = safetensors::SafeTensors::deserialize(&bytes)
            .with_context(|| format!("parsing {} as safetensors", path.display()))?;
        let mut out = HashMap::new();
        for (name, spec) in g.tensors() {
            let view = file.tensor(&name).with_context(|| {
                format!("{}: no tensor `{name}` for {}", path.display(), g.name)
            })?;
            if view.shape() != spec.shape.as_slice() {
                bail!(
                    "`{name}` has shape {:?} in {}, {} expects {:?}",
                    view.shape(),
                    path.display(),
                    g.name,
                    spec.shape
                );
            }
            if view.dtype() != safetensors::Dtype::F32 {
                bail!(
                    "`{name}` is {:?} in {}; only f32 is supported",
                    view.dtype(),
                    path.display()
                );
            }
            let data = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            out.insert(
                name,
                Tensor {
                    shape: spec.shape,
                    data,
                },
            );
        }
        Ok(Self(out))
    }

    /// Writes every tensor to a safetensors file, which
    /// [`Weights::from_safetensors`] reads back.
    pub fn write_safetensors(&self, path: &std::path::Path) -> Result<()> {
        let bytes: Vec<(&String, Vec<usize>, Vec<u8>)> = self
            .0
            .iter()
            .map(|(name, t)| {
                let data = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
                (name, t.shape.clone(), data)
            })
            .collect();
        let views = bytes
            .iter()
            .map(|(name, shape, data)| {
                let view = safetensors::tensor::TensorView::new(
                    safetensors::Dtype::F32,
                    shape.clone(),
                    data,
                )?;
                Ok((name.as_str(), view))
            })
            .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
            .context("building safetensors views")?;
        safetensors::serialize_to_file(views, &None, path)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// The tensor named `name`, or an error naming it.
    pub fn get(&self, name: &str) -> Result<&Tensor> {
        self.0
            .get(name)
            .with_context(|| format!("no weights for `{name}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_round_trip_through_a_safetensors_file() {
        let g = crate::model("mobilenetv2").unwrap();
        let w = Weights::random(&g, 3);
        let path = std::env::temp_dir().join(format!("cnn-models-w-{}.st", std::process::id()));
        w.write_safetensors(&path).unwrap();
        let back = Weights::from_safetensors(&g, &path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(back.0.len(), w.0.len());
        for (name, t) in &w.0 {
            assert_eq!(back.get(name).unwrap(), t, "{name}");
        }
    }
}
