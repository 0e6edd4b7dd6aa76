//! The framework-neutral description of a network: a list of nodes in
//! evaluation order, each an [`Op`] applied to earlier nodes.
//!
//! Builders compose parameter paths the way PyTorch names modules
//! (`&p / "layer1" / 0 / "conv1"`), so every parameter's full name equals
//! torchvision's `state_dict` key. How a graph is evaluated is `walk`.

use std::fmt::Display;
use std::ops::Div;

pub use crate::walk::Schedule;

/// Index of a node in [`Graph::nodes`].
pub type NodeId = usize;

/// A dotted module path such as `features.3.conv.1`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Path(String);

impl Path {
    /// The empty path: the model itself.
    pub fn root() -> Self {
        Self::default()
    }

    /// The full name of a tensor that lives under this module.
    pub fn join(&self, leaf: &str) -> String {
        if self.0.is_empty() {
            leaf.to_string()
        } else {
            format!("{}.{leaf}", self.0)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<T: Display> Div<T> for &Path {
    type Output = Path;
    fn div(self, rhs: T) -> Path {
        Path(self.join(&rhs.to_string()))
    }
}

impl<T: Display> Div<T> for Path {
    type Output = Path;
    fn div(self, rhs: T) -> Path {
        &self / rhs
    }
}

/// A 2-D convolution's hyper-parameters. Kernels and paddings are
/// `(height, width)` (Inception's 1x7 and 7x1 convolutions); strides are
/// square in every network of the study's list.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Conv {
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel: (usize, usize),
    pub stride: usize,
    pub padding: (usize, usize),
    pub groups: usize,
    pub bias: bool,
}

impl Conv {
    /// A `kernel`x`kernel` convolution, stride 1, "same" padding, with bias.
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize) -> Self {
        Self {
            in_channels,
            out_channels,
            kernel: (kernel, kernel),
            stride: 1,
            padding: ((kernel - 1) / 2, (kernel - 1) / 2),
            groups: 1,
            bias: true,
        }
    }
    pub fn stride(self, stride: usize) -> Self {
        Self { stride, ..self }
    }
    pub fn padding(self, padding: usize) -> Self {
        Self {
            padding: (padding, padding),
            ..self
        }
    }
    /// A `kh`x`kw` kernel with "same" padding.
    pub fn kernel2(self, kh: usize, kw: usize) -> Self {
        Self {
            kernel: (kh, kw),
            padding: ((kh - 1) / 2, (kw - 1) / 2),
            ..self
        }
    }
    pub fn groups(self, groups: usize) -> Self {
        Self { groups, ..self }
    }
    pub fn no_bias(self) -> Self {
        Self {
            bias: false,
            ..self
        }
    }
}

/// One operation of the description. Ops with parameters are named by the
/// node's module path; the others have an empty name.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// The image batch, `[batch, 3, height, width]`.
    Input,
    Conv2d(Conv),
    /// Batch normalisation over channels; `momentum` as PyTorch defines it
    /// (weight of the new batch statistic in the running average).
    BatchNorm2d {
        channels: usize,
        eps: f64,
        momentum: f64,
    },
    Relu,
    Relu6,
    Silu,
    Sigmoid,
    MaxPool2d {
        kernel: usize,
        stride: usize,
        padding: usize,
    },
    /// Average pooling; zero padding counts in the average (PyTorch's
    /// default `count_include_pad=True`).
    AvgPool2d {
        kernel: usize,
        stride: usize,
        padding: usize,
    },
    /// PyTorch's adaptive average pooling to a fixed output size.
    AdaptiveAvgPool2d {
        output: usize,
    },
    /// Element-wise sum of two nodes of equal shape.
    Add,
    /// Element-wise product, broadcasting the second input (`[n, c, 1, 1]`
    /// squeeze-excitation scales).
    Mul,
    /// Concatenation of all inputs along the channel dimension.
    Concat,
    /// `[n, c, h, w]` to `[n, c * h * w]`.
    Flatten,
    /// Dropout, active in train mode only.
    Dropout {
        p: f64,
    },
    /// torchvision's `StochasticDepth(p, "row")`: in train mode each sample's
    /// branch is dropped with probability `p` and the rest scaled by 1/(1-p).
    StochasticDepth {
        p: f64,
    },
    Linear {
        in_features: usize,
        out_features: usize,
    },
}

/// Whether a tensor is learned (a parameter) or only tracked (a buffer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorKind {
    Parameter,
    Buffer,
}

/// A tensor a node owns: its leaf name (`weight`, `running_mean` ...), shape
/// and kind.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorSpec {
    pub leaf: &'static str,
    pub shape: Vec<usize>,
    pub kind: TensorKind,
}

impl Op {
    /// The tensors this op owns, in torchvision's order.
    pub fn tensors(&self) -> Vec<TensorSpec> {
        let p = |leaf, shape| TensorSpec {
            leaf,
            shape,
            kind: TensorKind::Parameter,
        };
        let b = |leaf, shape| TensorSpec {
            leaf,
            shape,
            kind: TensorKind::Buffer,
        };
        match *self {
            Op::Conv2d(c) => {
                let w = vec![
                    c.out_channels,
                    c.in_channels / c.groups,
                    c.kernel.0,
                    c.kernel.1,
                ];
                let mut t = vec![p("weight", w)];
                if c.bias {
                    t.push(p("bias", vec![c.out_channels]));
                }
                t
            }
            Op::BatchNorm2d { channels, .. } => vec![
                p("weight", vec![channels]),
                p("bias", vec![channels]),
                b("running_mean", vec![channels]),
                b("running_var", vec![channels]),
            ],
            Op::Linear {
                in_features,
                out_features,
            } => vec![
                p("weight", vec![out_features, in_features]),
                p("bias", vec![out_features]),
            ],
            _ => vec![],
        }
    }
}

/// A node: an op, the nodes it reads, and its module path (empty for ops
/// without tensors).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub path: Path,
    pub op: Op,
    pub inputs: Vec<NodeId>,
}

/// A network: nodes in evaluation order; node 0 is the input, the last node
/// the logits.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    pub name: String,
    pub nodes: Vec<Node>,
    /// Number of classes the classifier produces.
    pub num_classes: usize,
    /// Auxiliary logits computed in train mode only (Inception v3's
    /// auxiliary classifier); nodes that only feed them are skipped in eval
    /// mode.
    pub aux: Option<NodeId>,
}

impl Graph {
    /// A graph holding only its input node.
    pub fn new(name: &str, num_classes: usize) -> (Self, NodeId) {
        let input = Node {
            path: Path::root(),
            op: Op::Input,
            inputs: vec![],
        };
        let g = Self {
            name: name.to_string(),
            nodes: vec![input],
            num_classes,
            aux: None,
        };
        (g, 0)
    }

    /// The logits node.
    pub fn output(&self) -> NodeId {
        self.nodes.len() - 1
    }

    /// Every tensor of the network with its full torchvision name.
    pub fn tensors(&self) -> impl Iterator<Item = (String, TensorSpec)> + '_ {
        self.nodes
            .iter()
            .flat_map(|n| n.op.tensors().into_iter().map(|t| (n.path.join(t.leaf), t)))
    }

    /// The same network with dropout and stochastic depth switched off, so
    /// that a train-mode forward pass is deterministic (batch statistics
    /// still apply). Used to compare frameworks' training losses exactly.
    pub fn without_dropout(&self) -> Self {
        let mut g = self.clone();
        for n in &mut g.nodes {
            if let Op::Dropout { p } | Op::StochasticDepth { p } = &mut n.op {
                *p = 0.0;
            }
        }
        g
    }
}
