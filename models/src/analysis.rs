//! Plain passes over a [`Graph`]: output shapes, parameter count, FLOPs.

use crate::graph::{Graph, Op, TensorKind};
use anyhow::{bail, ensure, Result};

/// Per-sample shape of a node's output: `[c, h, w]` for feature maps, `[f]`
/// after flattening.
pub type Shape = Vec<usize>;

/// Number of learned parameters, as torchvision's
/// `sum(p.numel() for p in model.parameters())` counts them (no buffers).
pub fn parameter_count(g: &Graph) -> usize {
    g.tensors()
        .filter(|(_, t)| t.kind == TensorKind::Parameter)
        .map(|(_, t)| t.shape.iter().product::<usize>())
        .sum()
}

/// `[output, len]` row-major matrix whose row `i` averages PyTorch's
/// adaptive pooling window `i` (from `floor(i*len/output)` to
/// `ceil((i+1)*len/output)`): adaptive average pooling as two products, for
/// frameworks without the op.
pub fn averaging_matrix(len: usize, output: usize) -> Vec<f32> {
    let mut m = vec![0f32; output * len];
    for i in 0..output {
        let (start, end) = (i * len / output, ((i + 1) * len).div_ceil(output));
        for j in start..end {
            m[i * len + j] = 1.0 / (end - start) as f32;
        }
    }
    m
}

/// The transpose of the row-major `rows`x`cols` matrix `m` (a weight or an
/// averaging matrix in another framework's layout).
pub fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols)
        .flat_map(|c| (0..rows).map(move |r| m[r * cols + c]))
        .collect()
}

/// Output shape of a pooling or convolution window along one axis, as
/// PyTorch computes it (floor mode). Fails when the window no longer fits.
fn window_out(len: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    (len + 2 * padding)
        .checked_sub(kernel)
        .map(|d| d / stride + 1)
}

/// Per-sample shape of every node for a square `size`x`size` RGB input in
/// train mode (every node), or an error naming the first node the input is
/// too small for.
pub fn shapes(g: &Graph, size: usize) -> Result<Vec<Shape>> {
    shapes_in(g, size, true)
}

/// As [`shapes`], for the nodes a forward pass in train or eval mode
/// evaluates; skipped nodes get an empty shape.
pub fn shapes_in(g: &Graph, size: usize, train: bool) -> Result<Vec<Shape>> {
    let shapes = g.walk(&g.schedule(train), false, |i, node, args: &[&Shape]| {
        let x = args.first().map(|s| (*s).clone());
        let spatial = |x: &Option<Shape>| -> Result<(usize, usize, usize)> {
            match x.as_deref() {
                Some(&[c, h, w]) => Ok((c, h, w)),
                other => bail!(
                    "node {i} ({:?}) expects a feature map, got {other:?}",
                    node.op
                ),
            }
        };
        let too_small = || {
            anyhow::anyhow!(
                "{}: a {size}x{size} input is too small: it shrinks to nothing at node {i} ({:?}{})",
                g.name,
                node.op,
                if node.path.as_str().is_empty() { String::new() } else { format!(" `{}`", node.path.as_str()) }
            )
        };
        let shape = match &node.op {
            Op::Input => vec![3, size, size],
            Op::Conv2d(c) => {
                let (ch, h, w) = spatial(&x)?;
                ensure!(
                    ch == c.in_channels,
                    "node {i}: conv expects {} channels, gets {ch}",
                    c.in_channels
                );
                let oh = window_out(h, c.kernel.0, c.stride, c.padding.0).ok_or_else(too_small)?;
                let ow = window_out(w, c.kernel.1, c.stride, c.padding.1).ok_or_else(too_small)?;
                vec![c.out_channels, oh, ow]
            }
            Op::MaxPool2d {
                kernel,
                stride,
                padding,
            }
            | Op::AvgPool2d {
                kernel,
                stride,
                padding,
            } => {
                let (ch, h, w) = spatial(&x)?;
                let oh = window_out(h, *kernel, *stride, *padding).ok_or_else(too_small)?;
                let ow = window_out(w, *kernel, *stride, *padding).ok_or_else(too_small)?;
                vec![ch, oh, ow]
            }
            Op::BatchNorm2d { channels, .. } => {
                let (ch, h, w) = spatial(&x)?;
                ensure!(
                    ch == *channels,
                    "node {i}: batch norm expects {channels} channels, gets {ch}"
                );
                vec![ch, h, w]
            }
            Op::AdaptiveAvgPool2d { output } => {
                let (ch, _, _) = spatial(&x)?;
                vec![ch, *output, *output]
            }
            Op::Add | Op::Mul => {
                let (a, b) = (args[0], args[1]);
                let broadcast =
                    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y || *y == 1);
                ensure!(broadcast, "node {i}: cannot combine shapes {a:?} and {b:?}");
                a.clone()
            }
            Op::Concat => {
                let parts = args;
                let same_map = parts
                    .iter()
                    .all(|p| p.len() == 3 && p[1..] == parts[0][1..]);
                ensure!(same_map, "node {i}: cannot concatenate shapes {parts:?}");
                vec![parts.iter().map(|p| p[0]).sum(), parts[0][1], parts[0][2]]
            }
            Op::Flatten => vec![x.unwrap_or_default().iter().product()],
            Op::Linear {
                in_features,
                out_features,
            } => {
                let x = x.unwrap_or_default();
                ensure!(
                    x == [*in_features],
                    "node {i}: linear expects [{in_features}], gets {x:?}"
                );
                vec![*out_features]
            }
            Op::Relu
            | Op::Relu6
            | Op::Silu
            | Op::Sigmoid
            | Op::Dropout { .. }
            | Op::StochasticDepth { .. } => x.unwrap_or_default(),
        };
        if shape.contains(&0) {
            return Err(too_small());
        }
        Ok(shape)
    })?;
    Ok(shapes.into_iter().map(Option::unwrap_or_default).collect())
}

/// Per-sample logits shape for a `size`x`size` input.
pub fn output_shape(g: &Graph, size: usize) -> Result<Shape> {
    Ok(shapes_in(g, size, false)?
        .pop()
        .expect("a graph has an input node"))
}

/// Forward FLOPs per image at `size`x`size`: multiply-adds of convolutions
/// and linear layers, each counted as 2 FLOPs (the convention of
/// torchvision's `_ops` figures, which count multiply-adds once). Element-wise
/// ops, normalisation and pooling are left out: they are a small fraction.
/// The eval-mode graph is counted (no auxiliary classifier).
pub fn forward_flops(g: &Graph, size: usize) -> Result<u64> {
    let shapes = shapes_in(g, size, false)?;
    let macs: u64 = g
        .nodes
        .iter()
        .zip(&shapes)
        .map(|(node, out)| match &node.op {
            Op::Conv2d(c) => {
                let per_output = (c.in_channels / c.groups * c.kernel.0 * c.kernel.1) as u64;
                per_output * out.iter().product::<usize>() as u64
            }
            Op::Linear {
                in_features,
                out_features,
            } => (in_features * out_features) as u64,
            _ => 0,
        })
        .sum();
    Ok(2 * macs)
}

/// Smallest square input (in pixels) every layer a train-mode or eval-mode
/// pass evaluates accepts (Inception's auxiliary classifier, train mode
/// only, needs a larger input than the rest).
pub fn min_input_size(g: &Graph, train: bool) -> usize {
    (1..=1024)
        .find(|&s| shapes_in(g, s, train).is_ok())
        .expect("every model in the zoo accepts a 1024x1024 input")
}

/// How an adaptive average pool from a `len`x`len` map to `output`x`output`
/// is computed, decided once for every lowering.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AdaptivePool {
    /// `output == 1`: the mean over the map.
    Global,
    /// `len == output`: nothing to do.
    Identity,
    /// `len` a multiple of `output`: a plain average pool with this window.
    Window(usize),
    /// Otherwise PyTorch's uneven windows, as two averaging matrices
    /// ([`averaging_matrix`]) multiplied on each side.
    Matrices,
}

pub fn adaptive_pool(len: usize, output: usize) -> AdaptivePool {
    if output == 1 {
        AdaptivePool::Global
    } else if len == output {
        AdaptivePool::Identity
    } else if len.is_multiple_of(output) {
        AdaptivePool::Window(len / output)
    } else {
        AdaptivePool::Matrices
    }
}
