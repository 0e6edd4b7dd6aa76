//! Writing ONNX nodes: the graph's nodes, initializers and attributes, and
//! the adaptive pool as ONNX has no such op.

use super::proto::*;
use crate::analysis::{self, AdaptivePool};
use crate::weights::Weights;
use anyhow::Result;

/// The nodes and initializers written so far.
pub(super) struct Builder<'w> {
    pub(super) weights: &'w Weights,
    pub(super) nodes: Vec<NodeProto>,
    pub(super) initializers: Vec<TensorProto>,
    /// The scalar initializers 0 and 6 of ReLU6's `Clip`, once made.
    pub(super) clip_bounds: Option<(String, String)>,
}

impl Builder<'_> {
    /// Appends a node writing `out`; returns `out`.
    pub(super) fn node(
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

    /// The value of an op that is an identity in eval mode: its input `x`,
    /// through an `Identity` node only where it is the graph's output (which
    /// must be called `out`).
    pub(super) fn identity(&mut self, out: &str, x: String, is_output: bool) -> String {
        if is_output {
            self.node("Identity", out, vec![x], vec![])
        } else {
            x
        }
    }

    pub(super) fn initializer(&mut self, name: &str, shape: &[usize], data: &[f32]) -> String {
        self.initializers.push(TensorProto {
            dims: shape.iter().map(|&d| d as i64).collect(),
            data_type: FLOAT,
            name: name.to_string(),
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        name.to_string()
    }

    /// The model's tensor `name` as an initializer of the same name.
    pub(super) fn weight(&mut self, name: &str) -> Result<String> {
        let w = self.weights.get(name)?;
        Ok(self.initializer(name, &w.shape, &w.data))
    }

    pub(super) fn clip_bounds(&mut self) -> (String, String) {
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
    pub(super) fn adaptive_avg_pool(
        &mut self,
        out: &str,
        x: String,
        len: usize,
        output: usize,
    ) -> String {
        match analysis::adaptive_pool(len, output) {
            AdaptivePool::Global => return self.node("GlobalAveragePool", out, vec![x], vec![]),
            AdaptivePool::Identity => return self.node("Identity", out, vec![x], vec![]),
            AdaptivePool::Window(k) => {
                return self.node("AveragePool", out, vec![x], window(k, k, 0))
            }
            AdaptivePool::Matrices => {}
        }
        let rows = analysis::averaging_matrix(len, output);
        let cols = analysis::transpose(&rows, output, len);
        let rows = self.initializer(&format!("{out}.rows"), &[output, len], &rows);
        let cols = self.initializer(&format!("{out}.cols"), &[len, output], &cols);
        // [o, h] x [n, c, h, w] -> [n, c, o, w]; then x [w, o] -> [n, c, o, o].
        let half = self.node("MatMul", &format!("{out}.half"), vec![rows, x], vec![]);
        self.node("MatMul", out, vec![half, cols], vec![])
    }
}

/// Attributes of a square pooling window without dilation or ceil mode.
pub(super) fn window(kernel: usize, stride: usize, padding: usize) -> Vec<AttributeProto> {
    let (k, s, p) = (kernel as i64, stride as i64, padding as i64);
    vec![
        ints("kernel_shape", &[k, k]),
        ints("strides", &[s, s]),
        ints("pads", &[p, p, p, p]),
    ]
}

pub(super) fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i,
        r#type: attribute_type::INT,
        ..Default::default()
    }
}

pub(super) fn ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: ints.to_vec(),
        r#type: attribute_type::INTS,
        ..Default::default()
    }
}

pub(super) fn float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        f,
        r#type: attribute_type::FLOAT,
        ..Default::default()
    }
}

/// A float tensor's name and shape; `None` is the free batch dimension.
pub(super) fn value_info(name: &str, dims: &[Option<usize>]) -> ValueInfoProto {
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
