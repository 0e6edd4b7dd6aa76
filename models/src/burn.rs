//! Lowering of a [`Graph`] to burn: parameters in burn-nn's modules
//! (`Conv2d`, `BatchNorm`, `Linear`) gathered in one [`Module`] an optimizer
//! steps, the rest with burn's tensor ops (pools, adaptive pooling, dropout),
//! as a burn user would write the network. burn has every op the study's
//! networks need, with PyTorch's semantics: pooling pads with `-inf` (max)
//! or counts zeros (average, `count_include_pad`), adaptive pooling is
//! PyTorch's; only stochastic depth (a per-sample Bernoulli mask) is
//! written here from burn's ops.
//!
//! burn's linear weights are `[in, out]`: torchvision's are transposed on
//! loading. The device decides training: on an autodiff device
//! (`Device::autodiff()`) batch norm uses batch statistics and updates its
//! running ones, on a plain one it uses its running statistics.

use crate::analysis::transpose;
use crate::graph::{Graph, Op, Schedule};
use crate::weights::{Tensor as Weight, Weights};
use anyhow::{bail, Result};
use burn::module::{Module, Param, RunningState};
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, DropoutConfig, Linear, PaddingConfig2d};
use burn::tensor::activation::{relu, relu6, sigmoid, silu};
use burn::tensor::module::{adaptive_avg_pool2d, avg_pool2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, MaxPoolOptions};
use burn::tensor::{Device, Distribution, Tensor, TensorData};

/// The model's parameters and running statistics, each layer kind in graph
/// order: what the optimizer updates.
#[derive(Module, Debug)]
pub struct Layers {
    convs: Vec<Conv2d>,
    norms: Vec<BatchNorm>,
    linears: Vec<Linear>,
}

/// A node's layer: an index into one of [`Layers`]' lists.
#[derive(Clone, Copy)]
enum Slot {
    Conv(usize),
    Norm(usize),
    Linear(usize),
    Op,
}

/// A value of the walk: feature maps `[n, c, h, w]`, or features `[n, f]`
/// after flattening (burn's tensors carry their rank in their type).
#[derive(Clone)]
enum Value {
    Map(Tensor<4>),
    Flat(Tensor<2>),
}

impl Value {
    fn map(&self) -> Result<Tensor<4>> {
        match self {
            Value::Map(t) => Ok(t.clone()),
            Value::Flat(_) => bail!("a feature-map op got flattened features"),
        }
    }

    fn flat(&self) -> Result<Tensor<2>> {
        match self {
            Value::Flat(t) => Ok(t.clone()),
            // PyTorch's `flatten(1)`: NCHW order (VGG's classifier reads
            // its 7x7 map in that order).
            Value::Map(t) => Ok(t.clone().flatten(1, 3)),
        }
    }

    /// The same element-wise function on either rank.
    fn apply(
        &self,
        f4: impl Fn(Tensor<4>) -> Tensor<4>,
        f2: impl Fn(Tensor<2>) -> Tensor<2>,
    ) -> Self {
        match self {
            Value::Map(t) => Value::Map(f4(t.clone())),
            Value::Flat(t) => Value::Flat(f2(t.clone())),
        }
    }
}

/// A model ready to run on one device.
pub struct BurnModel {
    graph: Graph,
    slots: Vec<Slot>,
    /// Public so that an optimizer can take and return it.
    pub layers: Layers,
    /// Whether its weights are on an autodiff device: a train-mode model.
    training: bool,
    eval: Schedule,
    train: Schedule,
}

fn tensor<const D: usize>(w: &Weight, device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(w.data.clone(), w.shape.clone()), device)
}

impl BurnModel {
    /// Instantiates `graph` on `device` (an autodiff device to train) with
    /// the given weights.
    pub fn new(graph: &Graph, weights: &Weights, device: &Device) -> Result<Self> {
        let mut layers = Layers {
            convs: Vec::new(),
            norms: Vec::new(),
            linears: Vec::new(),
        };
        let mut slots = Vec::with_capacity(graph.nodes.len());
        for node in &graph.nodes {
            let w = |leaf: &str| weights.get(&node.path.join(leaf));
            let param = |leaf: &str| -> Result<Param<Tensor<1>>> {
                Ok(Param::from_tensor(tensor(w(leaf)?, device)))
            };
            let state = |leaf: &str| -> Result<RunningState<Tensor<1>>> {
                Ok(RunningState::new(tensor(w(leaf)?, device)))
            };
            let slot = match &node.op {
                Op::Conv2d(c) => {
                    let (ph, pw) = c.padding;
                    layers.convs.push(Conv2d {
                        weight: Param::from_tensor(tensor(w("weight")?, device)),
                        bias: if c.bias { Some(param("bias")?) } else { None },
                        stride: [c.stride, c.stride],
                        kernel_size: [c.kernel.0, c.kernel.1],
                        dilation: [1, 1],
                        groups: c.groups,
                        padding: PaddingConfig2d::Explicit(ph, pw, ph, pw),
                    });
                    Slot::Conv(layers.convs.len() - 1)
                }
                Op::BatchNorm2d { eps, momentum, .. } => {
                    layers.norms.push(BatchNorm {
                        gamma: param("weight")?,
                        beta: param("bias")?,
                        training: Param::from_bool(true),
                        running_mean: state("running_mean")?,
                        running_var: state("running_var")?,
                        momentum: *momentum,
                        epsilon: *eps,
                    });
                    Slot::Norm(layers.norms.len() - 1)
                }
                Op::Linear {
                    in_features,
                    out_features,
                } => {
                    // torchvision's `[out, in]` is burn's `[in, out]` transposed.
                    let weight = w("weight")?;
                    let t = Weight {
                        data: transpose(&weight.data, *out_features, *in_features),
                        shape: vec![*in_features, *out_features],
                    };
                    layers.linears.push(Linear {
                        weight: Param::from_tensor(tensor(&t, device)),
                        bias: Some(param("bias")?),
                    });
                    Slot::Linear(layers.linears.len() - 1)
                }
                _ => Slot::Op,
            };
            slots.push(slot);
        }
        Ok(Self {
            graph: graph.clone(),
            slots,
            layers,
            training: device.is_autodiff(),
            eval: graph.schedule(false),
            train: graph.schedule(true),
        })
    }

    /// Logits `[n, classes]` for images `[n, 3, h, w]`: train mode when the
    /// model is on an autodiff device (the images need not be: they take no
    /// gradient), and then also the auxiliary classifier's logits
    /// (Inception v3).
    pub fn forward(&self, x: Tensor<4>) -> Result<(Tensor<2>, Option<Tensor<2>>)> {
        let train = self.training;
        let schedule = if train { &self.train } else { &self.eval };
        let (logits, aux) = self
            .graph
            .evaluate(schedule, train, |i, node, args: &[&Value]| {
                let arg = |k: usize| args[k];
                let l = &self.layers;
                Ok::<_, anyhow::Error>(match (&node.op, self.slots[i]) {
                    (_, Slot::Conv(k)) => Value::Map(l.convs[k].forward(arg(0).map()?)),
                    (_, Slot::Norm(k)) => Value::Map(l.norms[k].forward(arg(0).map()?)),
                    (_, Slot::Linear(k)) => Value::Flat(l.linears[k].forward(arg(0).flat()?)),
                    (Op::Input, _) => Value::Map(x.clone()),
                    (Op::Relu, _) => arg(0).apply(relu, relu),
                    (Op::Relu6, _) => arg(0).apply(relu6, relu6),
                    (Op::Silu, _) => arg(0).apply(silu, silu),
                    (Op::Sigmoid, _) => arg(0).apply(sigmoid, sigmoid),
                    (
                        Op::MaxPool2d {
                            kernel,
                            stride,
                            padding,
                        },
                        _,
                    ) => {
                        let o = MaxPoolOptions::new([*kernel; 2])
                            .with_stride([*stride; 2])
                            .with_padding([*padding; 2]);
                        Value::Map(max_pool2d(arg(0).map()?, o))
                    }
                    (
                        Op::AvgPool2d {
                            kernel,
                            stride,
                            padding,
                        },
                        _,
                    ) => {
                        let o = AvgPoolOptions::new([*kernel; 2])
                            .with_stride([*stride; 2])
                            .with_padding([*padding; 2])
                            .with_count_include_pad(true);
                        Value::Map(avg_pool2d(arg(0).map()?, o))
                    }
                    (Op::AdaptiveAvgPool2d { output }, _) => {
                        Value::Map(adaptive_avg_pool2d(arg(0).map()?, [*output; 2]))
                    }
                    (Op::Concat, _) => {
                        let maps = args.iter().map(|a| a.map()).collect::<Result<_>>()?;
                        Value::Map(Tensor::cat(maps, 1))
                    }
                    (Op::Add, _) => Value::Map(arg(0).map()? + arg(1).map()?),
                    // Squeeze-excitation: `[n, c, h, w] * [n, c, 1, 1]`.
                    (Op::Mul, _) => Value::Map(arg(0).map()? * arg(1).map()?),
                    (Op::Flatten, _) => Value::Flat(arg(0).flat()?),
                    (Op::Dropout { p }, _) if train && *p > 0.0 => {
                        let d = DropoutConfig::new(*p).init();
                        arg(0).apply(|t| d.forward(t), |t| d.forward(t))
                    }
                    (Op::StochasticDepth { p }, _) if train && *p > 0.0 => {
                        let t = arg(0).map()?;
                        let keep = Tensor::<4>::random(
                            [t.dims()[0], 1, 1, 1],
                            Distribution::Bernoulli(1.0 - p),
                            &t.device(),
                        );
                        Value::Map(t * keep / (1.0 - p))
                    }
                    (Op::Dropout { .. } | Op::StochasticDepth { .. }, _) => arg(0).clone(),
                    (Op::Conv2d(_) | Op::BatchNorm2d { .. } | Op::Linear { .. }, Slot::Op) => {
                        unreachable!("layers with weights are lowered to modules")
                    }
                })
            })?;
        Ok((logits.flat()?, aux.map(|a| a.flat()).transpose()?))
    }
}
