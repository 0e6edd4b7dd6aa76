//! DenseNet-121/169/201: "Densely Connected Convolutional Networks" (Huang et
//! al., 2016, <https://arxiv.org/abs/1608.06993>), as torchvision builds it
//! (`torchvision/models/densenet.py`: growth rate 32, bottleneck width 4x,
//! no dropout, not the memory-efficient variant).

use crate::graph::{Conv, Graph, NodeId, Path};

const GROWTH: usize = 32;
const BOTTLENECK: usize = 4;

/// Batch norm, ReLU, then a bias-free convolution: DenseNet's pre-activation unit.
fn norm_relu_conv(g: &mut Graph, p: &Path, names: (&str, &str), x: NodeId, conv: Conv) -> NodeId {
    let y = g.batch_norm(p / names.0, x, conv.in_channels);
    let y = g.relu(y);
    g.conv(p / names.1, y, conv.no_bias())
}

/// A dense block: every layer reads the concatenation of all earlier
/// feature maps and adds `GROWTH` channels. Returns the block's output.
fn dense_block(g: &mut Graph, p: &Path, x: NodeId, in_c: usize, layers: usize) -> NodeId {
    let mut features = vec![x];
    for i in 0..layers {
        let c = in_c + i * GROWTH;
        let input = if features.len() == 1 {
            x
        } else {
            g.concat(&features)
        }; // [n, c, h, w]
        let layer = p / format!("denselayer{}", i + 1);
        let y = norm_relu_conv(
            g,
            &layer,
            ("norm1", "conv1"),
            input,
            Conv::new(c, BOTTLENECK * GROWTH, 1),
        );
        let y = norm_relu_conv(
            g,
            &layer,
            ("norm2", "conv2"),
            y,
            Conv::new(BOTTLENECK * GROWTH, GROWTH, 3),
        );
        features.push(y);
    }
    g.concat(&features) // [n, in_c + layers * GROWTH, h, w]
}

fn densenet(name: &str, blocks: [usize; 4]) -> Graph {
    let (mut g, x) = Graph::new(name, 1000);
    let f = Path::root() / "features";
    // [n, 3, h, w] -> [n, 64, h/4, w/4]
    let x = g.conv(&f / "conv0", x, Conv::new(3, 64, 7).stride(2).no_bias());
    let x = g.batch_norm(&f / "norm0", x, 64);
    let x = g.relu(x);
    let mut x = g.max_pool(x, 3, 2, 1);
    let mut c = 64;
    for (i, &layers) in blocks.iter().enumerate() {
        x = dense_block(&mut g, &(&f / format!("denseblock{}", i + 1)), x, c, layers);
        c += layers * GROWTH;
        if i < blocks.len() - 1 {
            // Transition: halve channels and resolution.
            let t = &f / format!("transition{}", i + 1);
            x = norm_relu_conv(&mut g, &t, ("norm", "conv"), x, Conv::new(c, c / 2, 1));
            x = g.avg_pool(x, 2, 2, 0);
            c /= 2;
        }
    }
    let x = g.batch_norm(&f / "norm5", x, c);
    let x = g.relu(x);
    let x = g.adaptive_avg_pool(x, 1);
    let x = g.flatten(x);
    g.linear(Path::root() / "classifier", x, c, 1000);
    g
}

pub fn densenet121() -> Graph {
    densenet("densenet121", [6, 12, 24, 16])
}
pub fn densenet169() -> Graph {
    densenet("densenet169", [6, 12, 32, 32])
}
pub fn densenet201() -> Graph {
    densenet("densenet201", [6, 12, 48, 32])
}
