//! Export of a [`Graph`] to ONNX (opset 17), eval mode, with its weights as
//! initializers under torchvision's `state_dict` names: the file ONNX
//! Runtime and tract load, and that `onnx.checker` accepts (tested).
//!
//! The input is `images`, `[batch, 3, size, size]` with a free batch
//! dimension; the output is `logits`, `[batch, classes]`. The spatial size is
//! fixed at export because adaptive pooling depends on it, as in a graph
//! traced by `torch.onnx.export`.

pub mod proto;

use crate::analysis::{self, AdaptivePool};
use crate::graph::{Graph, Op};
use crate::weights::Weights;
use anyhow::Result;
use prost::Message;
use proto::*;

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
    // The value each node produces; ops that are identities in eval mode
    // (dropout, stochastic depth) pass their input's value on.
    g.walk(&g.schedule(false), false, |i, node, args: &[&String]| {
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
                let mut inputs = vec![x(), b.weight(&param("weight"))?];
                if c.bias {
                    inputs.push(b.weight(&param("bias"))?);
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
            Op::Dropout { .. } | Op::StochasticDepth { .. } if i == output => {
                b.node("Identity", &out, vec![x()], vec![])
            }
            Op::Dropout { .. } | Op::StochasticDepth { .. } => x(),
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

/// The nodes and initializers written so far.
struct Builder<'w> {
    weights: &'w Weights,
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    /// The scalar initializers 0 and 6 of ReLU6's `Clip`, once made.
    clip_bounds: Option<(String, String)>,
}

impl Builder<'_> {
    /// Appends a node writing `out`; returns `out`.
    fn node(
        &mut self,
        op: &str,
        out: &str,
        input: Vec<String>,
        attribute: Vec<AttributeProto>,
    ) -> String {
        self.nodes.push(NodeProto {
            input,
            output: vec![out.to_string()],
            name: out.to_string(),
            op_type: op.to_string(),
            attribute,
        });
        out.to_string()
    }

    fn initializer(&mut self, name: &str, shape: &[usize], data: &[f32]) -> String {
        self.initializers.push(TensorProto {
            dims: shape.iter().map(|&d| d as i64).collect(),
            data_type: FLOAT,
            name: name.to_string(),
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        name.to_string()
    }

    /// The model's tensor `name` as an initializer of the same name.
    fn weight(&mut self, name: &str) -> Result<String> {
        let w = self.weights.get(name)?;
        Ok(self.initializer(name, &w.shape, &w.data))
    }

    fn clip_bounds(&mut self) -> (String, String) {
        if self.clip_bounds.is_none() {
            let lo = self.initializer("relu6.min", &[], &[0.0]);
            let hi = self.initializer("relu6.max", &[], &[6.0]);
            self.clip_bounds = Some((lo, hi));
        }
        self.clip_bounds.clone().expect("set just above")
    }

    /// PyTorch's adaptive average pooling from `len`x`len` to
    /// `output`x`output`, which ONNX lacks: a global or plain average pool
    /// where one fits, else two products with averaging matrices.
    fn adaptive_avg_pool(&mut self, out: &str, x: String, len: usize, output: usize) -> String {
        match analysis::adaptive_pool(len, output) {
            AdaptivePool::Global => return self.node("GlobalAveragePool", out, vec![x], vec![]),
            AdaptivePool::Identity => return self.node("Identity", out, vec![x], vec![]),
            AdaptivePool::Window(k) => {
                return self.node("AveragePool", out, vec![x], window(k, k, 0))
            }
            AdaptivePool::Matrices => {}
        }
        let rows = analysis::averaging_matrix(len, output);
        let cols = transpose(&rows, output, len);
        let rows = self.initializer(&format!("{out}.rows"), &[output, len], &rows);
        let cols = self.initializer(&format!("{out}.cols"), &[len, output], &cols);
        // [o, h] x [n, c, h, w] -> [n, c, o, w]; then x [w, o] -> [n, c, o, o].
        let half = self.node("MatMul", &format!("{out}.half"), vec![rows, x], vec![]);
        self.node("MatMul", out, vec![half, cols], vec![])
    }
}

fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols)
        .flat_map(|c| (0..rows).map(move |r| m[r * cols + c]))
        .collect()
}

/// Attributes of a square pooling window without dilation or ceil mode.
fn window(kernel: usize, stride: usize, padding: usize) -> Vec<AttributeProto> {
    let (k, s, p) = (kernel as i64, stride as i64, padding as i64);
    vec![
        ints("kernel_shape", &[k, k]),
        ints("strides", &[s, s]),
        ints("pads", &[p, p, p, p]),
    ]
}

fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i,
        r#type: attribute_type::INT,
        ..Default::default()
    }
}

fn ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: ints.to_vec(),
        r#type: attribute_type::INTS,
        ..Default::default()
    }
}

fn float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f,
        r#type: attribute_type::FLOAT,
        ..Default::default()
    }
}

/// A float tensor's name and shape; `None` is the free batch dimension.
fn value_info(name: &str, dims: &[Option<usize>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Some(n) => DimensionValue::DimValue(*n as i64),
                None => DimensionValue::DimParam("batch".into()),
            }),
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: FLOAT,
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
    }
}
