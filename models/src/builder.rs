//! Building a graph: one method per op, each appending a node, so the
//! architectures (resnet.rs, vgg.rs, ...) read like their torchvision code.

use crate::graph::{Conv, Graph, Node, NodeId, Op, Path};

impl Graph {
    fn push(&mut self, path: Path, op: Op, inputs: Vec<NodeId>) -> NodeId {
        debug_assert!(inputs.iter().all(|&i| i < self.nodes.len()));
        self.nodes.push(Node { path, op, inputs });
        self.nodes.len() - 1
    }

    fn unary(&mut self, op: Op, x: NodeId) -> NodeId {
        self.push(Path::root(), op, vec![x])
    }

    pub fn conv(&mut self, path: Path, x: NodeId, conv: Conv) -> NodeId {
        self.push(path, Op::Conv2d(conv), vec![x])
    }

    /// PyTorch's default batch norm: eps 1e-5, momentum 0.1.
    pub fn batch_norm(&mut self, path: Path, x: NodeId, channels: usize) -> NodeId {
        self.batch_norm_with(path, x, channels, 1e-5, 0.1)
    }

    pub fn batch_norm_with(
        &mut self,
        path: Path,
        x: NodeId,
        channels: usize,
        eps: f64,
        momentum: f64,
    ) -> NodeId {
        let op = Op::BatchNorm2d {
            channels,
            eps,
            momentum,
        };
        self.push(path, op, vec![x])
    }

    pub fn relu(&mut self, x: NodeId) -> NodeId {
        self.unary(Op::Relu, x)
    }
    pub fn relu6(&mut self, x: NodeId) -> NodeId {
        self.unary(Op::Relu6, x)
    }
    pub fn silu(&mut self, x: NodeId) -> NodeId {
        self.unary(Op::Silu, x)
    }
    pub fn sigmoid(&mut self, x: NodeId) -> NodeId {
        self.unary(Op::Sigmoid, x)
    }
    pub fn max_pool(&mut self, x: NodeId, kernel: usize, stride: usize, padding: usize) -> NodeId {
        let op = Op::MaxPool2d {
            kernel,
            stride,
            padding,
        };
        self.unary(op, x)
    }
    pub fn avg_pool(&mut self, x: NodeId, kernel: usize, stride: usize, padding: usize) -> NodeId {
        let op = Op::AvgPool2d {
            kernel,
            stride,
            padding,
        };
        self.unary(op, x)
    }
    pub fn concat(&mut self, inputs: &[NodeId]) -> NodeId {
        self.push(Path::root(), Op::Concat, inputs.to_vec())
    }
    pub fn adaptive_avg_pool(&mut self, x: NodeId, output: usize) -> NodeId {
        self.unary(Op::AdaptiveAvgPool2d { output }, x)
    }
    pub fn add(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.push(Path::root(), Op::Add, vec![a, b])
    }
    pub fn mul(&mut self, a: NodeId, b: NodeId) -> NodeId {
        self.push(Path::root(), Op::Mul, vec![a, b])
    }
    pub fn flatten(&mut self, x: NodeId) -> NodeId {
        self.unary(Op::Flatten, x)
    }
    pub fn dropout(&mut self, x: NodeId, p: f64) -> NodeId {
        self.unary(Op::Dropout { p }, x)
    }
    pub fn stochastic_depth(&mut self, x: NodeId, p: f64) -> NodeId {
        self.unary(Op::StochasticDepth { p }, x)
    }
    pub fn linear(
        &mut self,
        path: Path,
        x: NodeId,
        in_features: usize,
        out_features: usize,
    ) -> NodeId {
        let op = Op::Linear {
            in_features,
            out_features,
        };
        self.push(path, op, vec![x])
    }
}
