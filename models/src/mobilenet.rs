//! MobileNetV2: "MobileNetV2: Inverted Residuals and Linear Bottlenecks"
//! (Sandler et al., 2018, <https://arxiv.org/abs/1801.04381>), as torchvision
//! builds it (`torchvision/models/mobilenetv2.py`, width 1.0).

use crate::graph::{Conv, Graph, NodeId, Path};

/// Inverted-residual settings: expansion t, output channels c, repeats n,
/// first stride s.
const SETTINGS: [(usize, usize, usize, usize); 7] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
];

/// torchvision's `Conv2dNormActivation` with ReLU6: `{p}.0` conv, `{p}.1` norm.
fn conv_bn_relu6(g: &mut Graph, p: &Path, x: NodeId, c: Conv) -> NodeId {
    let y = g.conv(p / 0, x, c.no_bias());
    let y = g.batch_norm(p / 1, y, c.out_channels);
    g.relu6(y)
}

/// Inverted residual block: expand (1x1), depthwise (3x3), linear project (1x1).
fn inverted_residual(
    g: &mut Graph,
    p: &Path,
    x: NodeId,
    inp: usize,
    oup: usize,
    stride: usize,
    t: usize,
) -> NodeId {
    let conv = p / "conv";
    let hidden = inp * t;
    let mut i = 0;
    let mut y = x;
    if t != 1 {
        y = conv_bn_relu6(g, &(&conv / i), y, Conv::new(inp, hidden, 1));
        i += 1;
    }
    let depthwise = Conv::new(hidden, hidden, 3).stride(stride).groups(hidden);
    y = conv_bn_relu6(g, &(&conv / i), y, depthwise);
    y = g.conv(&conv / (i + 1), y, Conv::new(hidden, oup, 1).no_bias());
    y = g.batch_norm(&conv / (i + 2), y, oup);
    if stride == 1 && inp == oup {
        g.add(x, y)
    } else {
        y
    }
}

pub fn mobilenetv2() -> Graph {
    let (mut g, x) = Graph::new("mobilenetv2", 1000);
    let features = Path::root() / "features";
    // [n, 3, h, w] -> [n, 32, h/2, w/2]
    let mut x = conv_bn_relu6(&mut g, &(&features / 0), x, Conv::new(3, 32, 3).stride(2));
    let mut inp = 32;
    let mut index = 1;
    for (t, c, n, s) in SETTINGS {
        for i in 0..n {
            let stride = if i == 0 { s } else { 1 };
            x = inverted_residual(&mut g, &(&features / index), x, inp, c, stride, t);
            inp = c;
            index += 1;
        }
    }
    // [n, 320, h/32, w/32] -> [n, 1280]
    let x = conv_bn_relu6(&mut g, &(&features / index), x, Conv::new(inp, 1280, 1));
    let x = g.adaptive_avg_pool(x, 1);
    let x = g.flatten(x);
    let x = g.dropout(x, 0.2);
    g.linear(Path::root() / "classifier" / 1, x, 1280, 1000);
    g
}
