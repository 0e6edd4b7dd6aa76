//! Export of a [`Graph`] to ONNX (opset 17), eval mode, with its weights as
//! initializers under torchvision's `state_dict` names: the file ONNX
//! Runtime and tract load, and that `onnx.checker` accepts (tested).
//!
//! A batch norm whose input is a convolution read by nothing else is folded
//! into that convolution, as `torch.onnx.export` does in eval mode (a
//! torchvision model exported by it has no `BatchNormalization` left): the
//! convolution's weights, scaled, keep its name, and the shift becomes its
//! bias under the batch norm's `bias` name. ONNX Runtime folds them itself;
//! tract did only at batch 1 (docs/findings.md).
//!
//! The input is `images`, `[batch, 3, size, size]` with a free batch
//! dimension; the output is `logits`, `[batch, classes]`. The spatial size is
//! fixed at export because adaptive pooling depends on it, as in a graph
//! traced by `torch.onnx.export`.

mod builder;
pub mod proto;

use crate::analysis;
use crate::graph::{Conv, Graph, NodeId, Op, Path};
use crate::weights::{Tensor, Weights};
use anyhow::Result;
use builder::*;
use prost::Message;
use proto::*;
use std::collections::HashMap;

/// The operator set the exported graphs use.
pub const OPSET: i64 = 17;
/// Names of the graph's input and output.
pub const INPUT: &str = "images";
pub const OUTPUT: &str = "logits";

/// The ONNX file, serialised, of `g`'s eval-mode forward pass for
/// `size`x`size` inputs.
pub fn export(g: &Graph, weights: &Weights, size: usize) -> Result<Vec<u8>> {
    Ok(model_proto(g, weights, size)?.encode_to_vec())
}

/// The ONNX model of `g`'s eval-mode forward pass for `size`x`size` inputs.
pub fn model_proto(g: &Graph, weights: &Weights, size: usize) -> Result<ModelProto> {
    let shapes = analysis::shapes_in(g, size, false)?;
    let output = g.output();
    let mut b = Builder {
        weights,
        nodes: Vec::new(),
        initializers: Vec::new(),
        clip_bounds: None,
    };
    let schedule = g.schedule(false);
    let folds = batch_norm_folds(g, &schedule.needed);
    // The value each node produces; ops that are identities in eval mode
    // (dropout, stochastic depth, a folded batch norm) pass their input's
    // value on.
    g.walk(&schedule, false, |i, node, args: &[&String]| {
        let x = || args[0].clone();
        let label = if node.path.as_str().is_empty() {
            op_label(&node.op).to_string()
        } else {
            node.path.as_str().to_string()
        };
        let out = if i == output {
            OUTPUT.to_string()
        } else {
            format!("{label}:{i}")
        };
        let param = |leaf: &str| node.path.join(leaf);
        let value = match &node.op {
            Op::Input => INPUT.to_string(),
            Op::Conv2d(c) => {
                let mut inputs = vec![x()];
                if let Some(&(bn, eps)) = folds.get(&i) {
                    let (w, bias) = fold(weights, c, &node.path, bn, eps)?;
                    inputs.push(b.initializer(&param("weight"), &w.shape, &w.data));
                    inputs.push(b.initializer(&bn.join("bias"), &bias.shape, &bias.data));
                } else {
                    inputs.push(b.weight(&param("weight"))?);
                    if c.bias {
                        inputs.push(b.weight(&param("bias"))?);
                    }
                }
                let (ph, pw) = (c.padding.0 as i64, c.padding.1 as i64);
                let s = c.stride as i64;
                b.node(
                    "Conv",
                    &out,
                    inputs,
                    vec![
                        ints("kernel_shape", &[c.kernel.0 as i64, c.kernel.1 as i64]),
                        ints("strides", &[s, s]),
                        ints("pads", &[ph, pw, ph, pw]),
                        ints("dilations", &[1, 1]),
                        int("group", c.groups as i64),
                    ],
                )
            }
            Op::BatchNorm2d { .. } if folds.contains_key(&node.inputs[0]) => {
                b.identity(&out, x(), i == output)
            }
            Op::BatchNorm2d { eps, .. } => {
                let mut inputs = vec![x()];
                for leaf in ["weight", "bias", "running_mean", "running_var"] {
                    inputs.push(b.weight(&param(leaf))?);
                }
                b.node(
                    "BatchNormalization",
                    &out,
                    inputs,
                    vec![float("epsilon", *eps as f32)],
                )
            }
            Op::Relu => b.node("Relu", &out, vec![x()], vec![]),
            Op::Relu6 => {
                let (lo, hi) = b.clip_bounds();
                b.node("Clip", &out, vec![x(), lo, hi], vec![])
            }
            Op::Sigmoid => b.node("Sigmoid", &out, vec![x()], vec![]),
            // Opset 17 has no SiLU: x * sigmoid(x), as torch.onnx writes it.
            Op::Silu => {
                let s = b.node("Sigmoid", &format!("{out}.sigmoid"), vec![x()], vec![]);
                b.node("Mul", &out, vec![x(), s], vec![])
            }
            Op::MaxPool2d {
                kernel,
                stride,
                padding,
            } => {
                let attrs = window(*kernel, *stride, *padding);
                b.node("MaxPool", &out, vec![x()], attrs)
            }
            Op::AvgPool2d {
                kernel,
                stride,
                padding,
            } => {
                let mut attrs = window(*kernel, *stride, *padding);
                // PyTorch's default: zero padding counts in the average.
                attrs.push(int("count_include_pad", 1));
                b.node("AveragePool", &out, vec![x()], attrs)
            }
            Op::AdaptiveAvgPool2d { output } => {
                let in_size = shapes[node.inputs[0]][1];
                b.adaptive_avg_pool(&out, x(), in_size, *output)
            }
            Op::Add => b.node("Add", &out, vec![x(), args[1].clone()], vec![]),
            Op::Mul => b.node("Mul", &out, vec![x(), args[1].clone()], vec![]),
            Op::Concat => {
                let parts = args.iter().map(|a| (*a).clone()).collect();
                b.node("Concat", &out, parts, vec![int("axis", 1)])
            }
            Op::Flatten => b.node("Flatten", &out, vec![x()], vec![int("axis", 1)]),
            Op::Dropout { .. } | Op::StochasticDepth { .. } => b.identity(&out, x(), i == output),
            Op::Linear { .. } => {
                let inputs = vec![x(), b.weight(&param("weight"))?, b.weight(&param("bias"))?];
                b.node("Gemm", &out, inputs, vec![int("transB", 1)])
            }
        };
        Ok::<_, anyhow::Error>(value)
    })?;
    let graph = GraphProto {
        node: b.nodes,
        name: g.name.clone(),
        initializer: b.initializers,
        input: vec![value_info(INPUT, &[None, Some(3), Some(size), Some(size)])],
        output: vec![value_info(OUTPUT, &[None, Some(g.num_classes)])],
    };
    Ok(ModelProto {
        ir_version: IR_VERSION,
        producer_name: "cnn-bench".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: format!("{} at {size}x{size}, eval mode", g.name),
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
    })
}

/// The batch norms to fold (path, eps), by the convolution they fold into:
/// each needed batch norm whose input is a convolution that nothing else
/// needed reads.
fn batch_norm_folds<'g>(g: &'g Graph, needed: &[bool]) -> HashMap<NodeId, (&'g Path, f64)> {
    let live = || {
        (0..g.nodes.len())
            .filter(|&j| needed[j])
            .map(|j| &g.nodes[j])
    };
    let mut readers = vec![0usize; g.nodes.len()];
    for &input in live().flat_map(|n| &n.inputs) {
        readers[input] += 1;
    }
    live()
        .filter_map(|n| {
            let Op::BatchNorm2d { eps, .. } = n.op else {
                return None;
            };
            let conv = n.inputs[0];
            let only_reader = readers[conv] == 1 && conv != g.output();
            let after_conv = matches!(g.nodes[conv].op, Op::Conv2d(_));
            (only_reader && after_conv).then_some((conv, (&n.path, eps)))
        })
        .collect()
}

/// Convolution `c`'s (at `cp`) weights and bias with the batch norm at `bp`
/// folded in: each output channel's weights times gamma / sqrt(var + eps),
/// its bias (b - mean) times that plus beta; in f64, then f32.
fn fold(weights: &Weights, c: &Conv, cp: &Path, bp: &Path, eps: f64) -> Result<(Tensor, Tensor)> {
    let w = weights.get(&cp.join("weight"))?;
    let get = |leaf: &str| weights.get(&bp.join(leaf)).map(|t| &t.data);
    let (gamma, beta, mean, var) = (
        get("weight")?,
        get("bias")?,
        get("running_mean")?,
        get("running_var")?,
    );
    let out = w.shape[0];
    let per = w.data.len() / out;
    let scale: Vec<f64> = (0..out)
        .map(|o| gamma[o] as f64 / (var[o] as f64 + eps).sqrt())
        .collect();
    let data = w
        .data
        .iter()
        .enumerate()
        .map(|(k, &v)| (v as f64 * scale[k / per]) as f32)
        .collect();
    let b0 = if c.bias {
        Some(&weights.get(&cp.join("bias"))?.data)
    } else {
        None
    };
    let bias = (0..out)
        .map(|o| {
            let b = b0.map_or(0.0, |b| b[o] as f64);
            ((b - mean[o] as f64) * scale[o] + beta[o] as f64) as f32
        })
        .collect();
    Ok((
        Tensor {
            shape: w.shape.clone(),
            data,
        },
        Tensor {
            shape: vec![out],
            data: bias,
        },
    ))
}

/// An ONNX model of one `n`x`n` f32 matrix product, `a` (input) times
/// [`matmul_operand`] (an initializer): what ONNX runtimes time for their
/// peak FLOP rate.
pub fn matmul(n: usize) -> Vec<u8> {
    let b = TensorProto {
        dims: vec![n as i64, n as i64],
        data_type: FLOAT,
        name: "b".into(),
        raw_data: matmul_operand(n)
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
    };
    let graph = GraphProto {
        node: vec![NodeProto {
            input: vec!["a".into(), "b".into()],
            output: vec!["c".into()],
            name: "matmul".into(),
            op_type: "MatMul".into(),
            attribute: vec![],
        }],
        name: "matmul".into(),
        initializer: vec![b],
        input: vec![value_info("a", &[Some(n), Some(n)])],
        output: vec![value_info("c", &[Some(n), Some(n)])],
    };
    ModelProto {
        ir_version: IR_VERSION,
        producer_name: "cnn-bench".into(),
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        ..Default::default()
    }
    .encode_to_vec()
}

/// An `n`x`n` matrix of small non-zero values, row-major.
pub fn matmul_operand(n: usize) -> Vec<f32> {
    (0..n * n).map(|i| (i % 7) as f32 * 0.25 - 0.75).collect()
}

/// The ONNX operator an op (mostly) becomes, to name its values.
fn op_label(op: &Op) -> &'static str {
    match op {
        Op::Input => "Input",
        Op::Conv2d(_) => "Conv",
        Op::BatchNorm2d { .. } => "BatchNormalization",
        Op::Relu => "Relu",
        Op::Relu6 => "Clip",
        Op::Silu => "SiLU",
        Op::Sigmoid => "Sigmoid",
        Op::MaxPool2d { .. } => "MaxPool",
        Op::AvgPool2d { .. } => "AveragePool",
        Op::AdaptiveAvgPool2d { .. } => "AdaptiveAveragePool",
        Op::Add => "Add",
        Op::Mul => "Mul",
        Op::Concat => "Concat",
        Op::Flatten => "Flatten",
        Op::Dropout { .. } => "Dropout",
        Op::StochasticDepth { .. } => "StochasticDepth",
        Op::Linear { .. } => "Gemm",
    }
}
