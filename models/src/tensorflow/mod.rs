//! Lowering of a [`Graph`] to a TensorFlow graph (TensorFlow's C API through
//! the `tensorflow` crate): a static graph built once for one batch shape,
//! as TensorFlow 1's graph mode runs it.
//!
//! Activations are NHWC, the layout TensorFlow's CPU kernels are written for
//! (the caller hands the batch in NHWC). Filters are TensorFlow's `HWIO`
//! (depthwise: `HWC1`), linear weights `[in, out]`, as a TensorFlow user's
//! checkpoint holds them. Weights are constants in an inference graph (a
//! frozen graph) and variables in a train graph.
//!
//! Where TensorFlow's op has other semantics than PyTorch's, the PyTorch
//! semantics are built from TensorFlow ops: padding is `SAME` where that is
//! PyTorch's symmetric padding, and an explicit `Pad` (`-inf` for max
//! pooling) before a `VALID` window otherwise; average pooling with padding
//! counts the zeros (`count_include_pad`); SiLU is `x * sigmoid(x)`;
//! flattening a map larger than 1x1 goes through NCHW, so the classifier
//! sees PyTorch's feature order.

use crate::analysis::{adaptive_pool, shapes_in, transpose, AdaptivePool};
use crate::graph::{Graph, Op, TensorKind, TensorKind::Parameter};
use crate::weights::Weights;
use anyhow::Result;
use layers::filter;
use tensorflow::{ops, DataType, Operation, Output, Scope, Tensor, TensorType, Variable};

mod layers;

/// A model's graph for one batch shape, with what a session needs to run it.
pub struct TfModel {
    pub scope: Scope,
    /// The images, `[batch, size, size, 3]` (NHWC).
    pub input: Output,
    pub logits: Output,
    /// The auxiliary classifier's logits (Inception v3), in a train graph.
    pub aux: Option<Output>,
    /// Trainable parameters (a train graph only), in graph order.
    pub parameters: Vec<Variable>,
    /// Every variable, batch-norm running statistics included: their
    /// initializers run once before the first step.
    pub variables: Vec<Variable>,
    /// The assignments of batch norms' running statistics, run with every
    /// train step.
    pub updates: Vec<Operation>,
    /// Whether it is a train graph (weights as variables).
    train: bool,
}

impl TfModel {
    /// Builds `graph` for `batch` images of `size`x`size`, in train mode
    /// (variables, batch statistics, dropout) or eval mode (constants).
    pub fn new(
        graph: &Graph,
        weights: &Weights,
        batch: usize,
        size: usize,
        train: bool,
    ) -> Result<Self> {
        let shapes = shapes_in(graph, size, train)?;
        let mut scope = Scope::new_root_scope();
        let input: Output = ops::Placeholder::new()
            .dtype(DataType::Float)
            .shape([batch as u64, size as u64, size as u64, 3])
            .build(&mut scope)?
            .into();
        let mut m = TfModel {
            scope,
            input: input.clone(),
            logits: input,
            aux: None,
            parameters: Vec::new(),
            variables: Vec::new(),
            updates: Vec::new(),
            train,
        };
        let schedule = graph.schedule(train);
        let (logits, aux) = graph.evaluate(&schedule, train, |_, node, args: &[&Output]| {
            let x = || args[0].clone();
            let (c, h, w) = match shapes[node.inputs.first().copied().unwrap_or(0)].as_slice() {
                [c, h, w] => (*c, *h, *w),
                [f] => (*f, 1, 1),
                _ => (3, size, size),
            };
            let tensor = |leaf: &str| weights.get(&node.path.join(leaf));
            let kind = |leaf: &str| {
                let spec = node.op.tensors().into_iter().find(|t| t.leaf == leaf);
                spec.map_or(Parameter, |t| t.kind)
            };
            let y: Output = match &node.op {
                Op::Input => m.input.clone(),
                Op::Conv2d(conv) => {
                    let t = tensor("weight")?;
                    let (filter, shape) = filter(conv, &t.data);
                    let f = m.tensor(&filter, &shape, Parameter)?;
                    let y = m.conv(x(), f, conv, (h, w))?;
                    match conv.bias {
                        true => {
                            let b = tensor("bias")?;
                            let b = m.tensor(&b.data, &b.shape, Parameter)?;
                            ops::BiasAdd::new()
                                .data_format("NHWC")
                                .build(y, b, &mut m.scope)?
                                .into()
                        }
                        false => y,
                    }
                }
                Op::BatchNorm2d { eps, momentum, .. } => {
                    let mut t = |leaf| -> Result<Output> {
                        let v = tensor(leaf)?;
                        m.tensor(&v.data, &v.shape, kind(leaf))
                    };
                    let (g, b, mean, var) = (
                        t("weight")?,
                        t("bias")?,
                        t("running_mean")?,
                        t("running_var")?,
                    );
                    let bn = ops::FusedBatchNormV3::new()
                        .epsilon(*eps as f32)
                        .is_training(train)
                        .exponential_avg_factor(if train { *momentum as f32 } else { 1.0 })
                        .data_format("NHWC")
                        .build_instance(x(), g, b, mean.clone(), var.clone(), &mut m.scope)?;
                    if train {
                        // PyTorch's running averages (with the unbiased batch
                        // variance), as the op computes them from its inputs.
                        let s = &mut m.scope;
                        m.updates.push(ops::assign(mean, bn.batch_mean(), s)?);
                        m.updates.push(ops::assign(var, bn.batch_variance(), s)?);
                    }
                    bn.y()
                }
                Op::Relu => ops::relu(x(), &mut m.scope)?.into(),
                Op::Relu6 => ops::relu6(x(), &mut m.scope)?.into(),
                Op::Sigmoid => ops::sigmoid(x(), &mut m.scope)?.into(),
                Op::Silu => {
                    let s: Output = ops::sigmoid(x(), &mut m.scope)?.into();
                    ops::mul(x(), s, &mut m.scope)?.into()
                }
                Op::MaxPool2d {
                    kernel,
                    stride,
                    padding,
                } => m.pool(x(), (h, w), *kernel, *stride, *padding, true)?,
                Op::AvgPool2d {
                    kernel,
                    stride,
                    padding,
                } => m.pool(x(), (h, w), *kernel, *stride, *padding, false)?,
                Op::AdaptiveAvgPool2d { output } => match adaptive_pool(h, *output) {
                    AdaptivePool::Global => {
                        let axes = m.constant::<i32>(&[1, 2], &[2])?;
                        ops::Mean::new()
                            .keep_dims(true)
                            .build(x(), axes, &mut m.scope)?
                            .into()
                    }
                    AdaptivePool::Identity => x(),
                    AdaptivePool::Window(k) => m.pool(x(), (h, w), k, k, 0, false)?,
                    AdaptivePool::Matrices => {
                        m.adaptive_matrices(x(), (c, h, w), *output, batch)?
                    }
                },
                Op::Add => ops::add_v2(x(), args[1].clone(), &mut m.scope)?.into(),
                Op::Mul => ops::mul(x(), args[1].clone(), &mut m.scope)?.into(),
                Op::Concat => {
                    let axis = m.constant::<i32>(&[3], &[])?;
                    let name = m.scope.get_unique_name_for_op("ConcatV2");
                    let mut g = m.scope.graph_mut();
                    let mut nd = g.new_operation("ConcatV2", &name)?;
                    nd.add_input_list(&args.iter().map(|a| (*a).clone()).collect::<Vec<_>>());
                    nd.add_input(axis);
                    nd.finish()?.into()
                }
                Op::Flatten => {
                    let nchw = match h * w {
                        1 => x(),
                        _ => {
                            let perm = m.constant::<i32>(&[0, 3, 1, 2], &[4])?;
                            ops::transpose(x(), perm, &mut m.scope)?.into()
                        }
                    };
                    let shape = m.constant::<i32>(&[batch as i32, (c * h * w) as i32], &[2])?;
                    ops::reshape(nchw, shape, &mut m.scope)?.into()
                }
                Op::Dropout { p } if train && *p > 0.0 => {
                    let shape = ops::shape(x(), &mut m.scope)?.into();
                    m.drop(x(), *p, shape)?
                }
                Op::StochasticDepth { p } if train && *p > 0.0 => {
                    let shape = m.constant::<i32>(&[batch as i32, 1, 1, 1], &[4])?;
                    m.drop(x(), *p, shape)?
                }
                Op::Dropout { .. } | Op::StochasticDepth { .. } => x(),
                Op::Linear {
                    in_features,
                    out_features,
                } => {
                    // torchvision's [out, in] as TensorFlow's [in, out].
                    let t = tensor("weight")?;
                    let kernel = transpose(&t.data, *out_features, *in_features);
                    let k = m.tensor(&kernel, &[*in_features, *out_features], Parameter)?;
                    let b = tensor("bias")?;
                    let b = m.tensor(&b.data, &b.shape, Parameter)?;
                    let y: Output = ops::mat_mul(x(), k, &mut m.scope)?.into();
                    ops::bias_add(y, b, &mut m.scope)?.into()
                }
            };
            Ok::<_, anyhow::Error>(y)
        })?;
        m.logits = logits;
        m.aux = aux;
        Ok(m)
    }

    /// A constant of `values` with `shape`.
    pub fn constant<T: TensorType>(&mut self, values: &[T], shape: &[u64]) -> Result<Output> {
        let t = Tensor::<T>::new(shape).with_values(values)?;
        Ok(ops::constant(t, &mut self.scope)?.into())
    }

    /// A weight: a constant in an inference graph; in a train graph a
    /// variable (a parameter, or a buffer the optimizer leaves alone).
    fn tensor(&mut self, values: &[f32], shape: &[usize], kind: TensorKind) -> Result<Output> {
        let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        if !self.train {
            return self.constant(values, &shape);
        }
        let t = Tensor::<f32>::new(&shape).with_values(values)?;
        let v = Variable::builder()
            .const_initial_value(t)
            .build(&mut self.scope)?;
        if kind == Parameter {
            self.parameters.push(v.clone());
        }
        self.variables.push(v.clone());
        Ok(v.output().clone())
    }
}
