//! Lowering of a [`Graph`] to candle: parameters as `Var`s, layers as
//! candle-nn modules (`Conv2d`, `BatchNorm`, `Linear`), the rest with candle's
//! tensor ops, as a candle user would write the network.
//!
//! candle has no padded pooling and no adaptive average pooling; both are
//! written here from its public ops with PyTorch's semantics (see
//! [`pool`] and [`adaptive_avg_pool`]).

use crate::graph::{Graph, Op, Schedule, TensorKind};
use crate::weights::Weights;
use anyhow::Result;
use candle_core::{DType, Device, Module, ModuleT, Tensor, Var};
use candle_nn::{BatchNorm, Conv2d, Conv2dConfig, Linear};

/// A node lowered to a candle-nn module, or to a plain op.
enum Layer {
    /// A convolution, and the zero padding (height, width) to apply before it
    /// when candle cannot (unequal paddings).
    Conv(Conv2d, Option<(usize, usize)>),
    Norm(BatchNorm),
    Linear(Linear),
    Op,
}

/// A model ready to run on one device.
pub struct CandleModel {
    graph: Graph,
    layers: Vec<Layer>,
    /// Trainable parameters, in graph order, for an optimizer.
    parameters: Vec<Var>,
    /// What eval and train passes evaluate, and when activations are freed.
    eval: Schedule,
    train: Schedule,
}

impl CandleModel {
    /// Instantiates `graph` on `device` with the given weights.
    pub fn new(graph: &Graph, weights: &Weights, device: &Device) -> Result<Self> {
        let mut parameters = Vec::new();
        let mut layers = Vec::with_capacity(graph.nodes.len());
        for node in &graph.nodes {
            let mut t = std::collections::HashMap::new();
            for spec in node.op.tensors() {
                let w = weights.get(&node.path.join(spec.leaf))?;
                let var = Var::from_slice(&w.data, w.shape.as_slice(), device)?;
                if spec.kind == TensorKind::Parameter {
                    parameters.push(var.clone());
                }
                t.insert(spec.leaf, var.as_tensor().clone());
            }
            let layer = match &node.op {
                Op::Conv2d(c) => {
                    // candle pads symmetrically; other paddings are applied
                    // to the input first (Inception's 1x7 convolutions).
                    let (ph, pw) = c.padding;
                    let pad = (ph != pw).then_some((ph, pw));
                    let cfg = Conv2dConfig {
                        padding: if pad.is_some() { 0 } else { ph },
                        stride: c.stride,
                        dilation: 1,
                        groups: c.groups,
                        cudnn_fwd_algo: None,
                    };
                    let conv = Conv2d::new(t["weight"].clone(), t.get("bias").cloned(), cfg);
                    Layer::Conv(conv, pad)
                }
                Op::BatchNorm2d {
                    channels,
                    eps,
                    momentum,
                } => Layer::Norm(BatchNorm::new_with_momentum(
                    *channels,
                    t["running_mean"].clone(),
                    t["running_var"].clone(),
                    t["weight"].clone(),
                    t["bias"].clone(),
                    *eps,
                    *momentum,
                )?),
                Op::Linear { .. } => {
                    Layer::Linear(Linear::new(t["weight"].clone(), Some(t["bias"].clone())))
                }
                _ => Layer::Op,
            };
            layers.push(layer);
        }
        Ok(Self {
            graph: graph.clone(),
            layers,
            parameters,
            eval: graph.schedule(false),
            train: graph.schedule(true),
        })
    }

    /// The trainable parameters (batch-norm running statistics excluded).
    pub fn parameters(&self) -> &[Var] {
        &self.parameters
    }

    /// Logits `[n, classes]` for images `[n, 3, h, w]`; `train` as in
    /// `TchModel::forward_t`. In eval mode no gradient is tracked.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        Ok(self.forward_outputs(x, train)?.0)
    }

    /// A train-mode pass: the logits and, for models with an auxiliary
    /// classifier, its logits.
    pub fn forward_train(&self, x: &Tensor) -> Result<(Tensor, Option<Tensor>)> {
        self.forward_outputs(x, true)
    }

    fn forward_outputs(&self, x: &Tensor, train: bool) -> Result<(Tensor, Option<Tensor>)> {
        let schedule = if train { &self.train } else { &self.eval };
        self.graph
            .evaluate(schedule, train, |i, node, args: &[&Tensor]| {
                let arg = |k: usize| args[k];
                let y = match (&node.op, &self.layers[i]) {
                    (_, Layer::Conv(m, None)) => m.forward(arg(0))?,
                    (_, Layer::Conv(m, Some((ph, pw)))) => m.forward(
                        &arg(0)
                            .pad_with_zeros(2, *ph, *ph)?
                            .pad_with_zeros(3, *pw, *pw)?,
                    )?,
                    (_, Layer::Norm(m)) => m.forward_t(arg(0), train)?,
                    (_, Layer::Linear(m)) => m.forward(arg(0))?,
                    (Op::Input, _) => x.clone(),
                    (Op::Relu, _) => arg(0).relu()?,
                    (Op::Relu6, _) => arg(0).clamp(0f32, 6f32)?,
                    (Op::Silu, _) => arg(0).silu()?,
                    (Op::Sigmoid, _) => candle_nn::ops::sigmoid(arg(0))?,
                    (
                        Op::MaxPool2d {
                            kernel,
                            stride,
                            padding,
                        },
                        _,
                    ) => pool(arg(0), Pool::Max, *kernel, *stride, *padding, train)?,
                    (
                        Op::AvgPool2d {
                            kernel,
                            stride,
                            padding,
                        },
                        _,
                    ) => pool(arg(0), Pool::Average, *kernel, *stride, *padding, train)?,
                    (Op::Concat, _) => Tensor::cat(args, 1)?,
                    (Op::AdaptiveAvgPool2d { output }, _) => adaptive_avg_pool(arg(0), *output)?,
                    (Op::Add, _) => (arg(0) + arg(1))?,
                    (Op::Mul, _) => arg(0).broadcast_mul(arg(1))?,
                    (Op::Flatten, _) => arg(0).flatten_from(1)?,
                    (Op::Dropout { p }, _) if train && *p > 0.0 => {
                        candle_nn::ops::dropout(arg(0), *p as f32)?
                    }
                    (Op::StochasticDepth { p }, _) if train && *p > 0.0 => {
                        let x = arg(0);
                        let keep =
                            Tensor::rand(0f32, 1f32, (x.dim(0)?, 1, 1, 1), x.device())?.ge(*p)?;
                        x.broadcast_mul(&(keep.to_dtype(DType::F32)? / (1.0 - p))?)?
                    }
                    (Op::Dropout { .. } | Op::StochasticDepth { .. }, _) => arg(0).clone(),
                    (Op::Conv2d(_) | Op::BatchNorm2d { .. } | Op::Linear { .. }, Layer::Op) => {
                        unreachable!("layers with weights are lowered to modules")
                    }
                };
                // Eval mode is inference: detaching each activation is candle's
                // `no_grad`, so nothing keeps the graph (and its memory) alive.
                Ok(if train { y } else { y.detach() })
            })
    }
}

/// How a pooling window is reduced.
#[derive(Clone, Copy)]
pub enum Pool {
    Max,
    /// Zero padding counts in the average (`count_include_pad=True`).
    Average,
}

/// Pooling with PyTorch's implicit padding. candle pools without padding,
/// so the input is padded first: with its replicated border for max pooling
/// (a replicated value already lies in its window, so the maximum is
/// exactly PyTorch's), with zeros for average pooling.
///
/// candle 0.11 has no backward pass for overlapping windows (kernel !=
/// stride: ResNet's 3x3/2 stem pool, Inception's 3x3/1 and 5x5/3 average
/// pools), so in train mode such a pool is written with differentiable ops
/// ([`pool_by_shifts`]). Inference keeps candle's own kernels.
pub fn pool(
    x: &Tensor,
    kind: Pool,
    kernel: usize,
    stride: usize,
    padding: usize,
    train: bool,
) -> candle_core::Result<Tensor> {
    let pad = |x: &Tensor, dim: usize| match kind {
        Pool::Max => x.pad_with_same(dim, padding, padding),
        Pool::Average => x.pad_with_zeros(dim, padding, padding),
    };
    let x = if padding > 0 {
        pad(&pad(x, 2)?, 3)?
    } else {
        x.clone()
    };
    if train && kernel != stride {
        let y = pool_by_shifts(
            &pool_by_shifts(&x, 2, kernel, stride, kind)?,
            3,
            kernel,
            stride,
            kind,
        )?;
        return match kind {
            Pool::Max => Ok(y),
            Pool::Average => y / (kernel * kernel) as f64,
        };
    }
    match kind {
        Pool::Max => x.max_pool2d_with_stride(kernel, stride),
        Pool::Average => x.avg_pool2d_with_stride(kernel, stride),
    }
}

/// Pooling along one dimension from differentiable ops: `kernel` shifted
/// views combined element-wise (maximum, or sum for an average), a stride-1
/// pool, then every `stride`-th element.
fn pool_by_shifts(
    x: &Tensor,
    dim: usize,
    kernel: usize,
    stride: usize,
    kind: Pool,
) -> candle_core::Result<Tensor> {
    let len = x.dim(dim)?;
    let full = len + 1 - kernel; // outputs of a stride-1 pool
    let mut m = x.narrow(dim, 0, full)?;
    for shift in 1..kernel {
        let view = x.narrow(dim, shift, full)?;
        m = match kind {
            Pool::Max => m.maximum(&view)?,
            Pool::Average => (m + view)?,
        };
    }
    if stride == 1 {
        return Ok(m);
    }
    // Keep indices 0, stride, 2*stride ...: pad to a multiple of the stride,
    // split the dimension into (out, stride) and take the first of each.
    let out = (full - 1) / stride + 1;
    let m = m.pad_with_zeros(dim, 0, out * stride - full)?;
    let mut dims = m.dims().to_vec();
    dims.splice(dim..=dim, [out, stride]);
    m.reshape(dims)?.narrow(dim + 1, 0, 1)?.squeeze(dim + 1)
}

/// PyTorch's `adaptive_avg_pool2d` to `output`x`output`. Output cell `i`
/// averages input rows `floor(i*h/o) .. ceil((i+1)*h/o)`; that is separable,
/// so the general case is `A_h · x · A_wᵀ` with averaging matrices, which also
/// covers upsampling (VGG's 7x7 pool on a 4x4 map).
pub fn adaptive_avg_pool(x: &Tensor, output: usize) -> candle_core::Result<Tensor> {
    use crate::analysis::{adaptive_pool, AdaptivePool};
    let (_, _, h, w) = x.dims4()?;
    // Square maps share the plan; an uneven one takes the general path.
    let plan = if h == w {
        adaptive_pool(h, output)
    } else {
        AdaptivePool::Matrices
    };
    match plan {
        AdaptivePool::Global => return x.mean_keepdim(2)?.mean_keepdim(3),
        AdaptivePool::Identity => return Ok(x.clone()),
        AdaptivePool::Window(k) => return x.avg_pool2d((k, k)),
        AdaptivePool::Matrices => {}
    }
    let a_h = averaging_matrix(h, output, x.device())?; // [o, h]
    let a_w = averaging_matrix(w, output, x.device())?.t()?; // [w, o]
                                                             // [o, h] x [n, c, h, w] -> [n, c, o, w]; then x [w, o] -> [n, c, o, o]
    a_h.broadcast_matmul(x)?.broadcast_matmul(&a_w)
}

/// [`analysis::averaging_matrix`] as a tensor.
fn averaging_matrix(len: usize, output: usize, device: &Device) -> candle_core::Result<Tensor> {
    Tensor::from_vec(
        crate::analysis::averaging_matrix(len, output),
        (output, len),
        device,
    )
}
