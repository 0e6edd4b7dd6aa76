//! EfficientNet-B0..B7: "EfficientNet: Rethinking Model Scaling for
//! Convolutional Neural Networks" (Tan & Le, 2019,
//! <https://arxiv.org/abs/1905.11946>), as torchvision builds it
//! (`torchvision/models/efficientnet.py`, `efficientnet_b0` ... `efficientnet_b7`),
//! stochastic depth and classifier dropout included.

use crate::graph::{Conv, Graph, NodeId, Path};

/// MBConv stages of B0: expansion, kernel, first stride, input channels,
/// output channels, repeats (torchvision's `_efficientnet_conf`).
const STAGES: [(usize, usize, usize, usize, usize, usize); 7] = [
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
];

/// Probability of stochastic depth at the last block; earlier blocks scale it
/// linearly from 0.
const STOCHASTIC_DEPTH: f64 = 0.2;

/// Scaling of one variant: width and depth multipliers, classifier dropout,
/// and batch norm (eps, momentum).
struct Variant {
    width: f64,
    depth: f64,
    dropout: f64,
    bn: (f64, f64),
}

/// torchvision's `_make_divisible(v, 8)`: round to a multiple of 8, never
/// more than 10% down.
fn make_divisible(v: f64) -> usize {
    let rounded = ((v + 4.0) as usize / 8 * 8).max(8);
    if (rounded as f64) < 0.9 * v {
        rounded + 8
    } else {
        rounded
    }
}

/// Builder state shared by every block: the graph and the batch-norm settings.
struct Builder<'a> {
    g: &'a mut Graph,
    bn: (f64, f64),
}

impl Builder<'_> {
    /// torchvision's `Conv2dNormActivation`: `{p}.0` conv, `{p}.1` norm, then
    /// SiLU unless `act` is false.
    fn conv_bn(&mut self, p: &Path, x: NodeId, c: Conv, act: bool) -> NodeId {
        let y = self.g.conv(p / 0, x, c.no_bias());
        let y = self
            .g
            .batch_norm_with(p / 1, y, c.out_channels, self.bn.0, self.bn.1);
        if act {
            self.g.silu(y)
        } else {
            y
        }
    }

    /// Squeeze-and-excitation: pool, reduce (fc1), SiLU, expand (fc2), sigmoid,
    /// scale the input channel-wise.
    fn squeeze_excitation(
        &mut self,
        p: &Path,
        x: NodeId,
        channels: usize,
        squeeze: usize,
    ) -> NodeId {
        let s = self.g.adaptive_avg_pool(x, 1); // [n, c, 1, 1]
        let s = self.g.conv(p / "fc1", s, Conv::new(channels, squeeze, 1));
        let s = self.g.silu(s);
        let s = self.g.conv(p / "fc2", s, Conv::new(squeeze, channels, 1));
        let s = self.g.sigmoid(s);
        self.g.mul(x, s)
    }

    /// MBConv: optional 1x1 expansion, depthwise kxk, squeeze-excitation,
    /// linear 1x1 projection; residual with stochastic depth when shapes match.
    #[allow(clippy::too_many_arguments)]
    fn mbconv(
        &mut self,
        p: &Path,
        x: NodeId,
        inp: usize,
        out: usize,
        expand: usize,
        k: usize,
        stride: usize,
        sd: f64,
    ) -> NodeId {
        let block = p / "block";
        let hidden = make_divisible((inp * expand) as f64);
        let mut i = 0;
        let mut y = x;
        if hidden != inp {
            y = self.conv_bn(&(&block / i), y, Conv::new(inp, hidden, 1), true);
            i += 1;
        }
        let depthwise = Conv::new(hidden, hidden, k).stride(stride).groups(hidden);
        y = self.conv_bn(&(&block / i), y, depthwise, true);
        y = self.squeeze_excitation(&(&block / (i + 1)), y, hidden, (inp / 4).max(1));
        y = self.conv_bn(&(&block / (i + 2)), y, Conv::new(hidden, out, 1), false);
        if stride == 1 && inp == out {
            let y = self.g.stochastic_depth(y, sd);
            self.g.add(y, x)
        } else {
            y
        }
    }
}

fn efficientnet(name: &str, v: Variant) -> Graph {
    let (mut g, x) = Graph::new(name, 1000);
    let mut b = Builder {
        g: &mut g,
        bn: v.bn,
    };
    let features = Path::root() / "features";
    let stages: Vec<_> = STAGES
        .iter()
        .map(|&(e, k, s, i, o, n)| {
            let (i, o) = (
                make_divisible(i as f64 * v.width),
                make_divisible(o as f64 * v.width),
            );
            (e, k, s, i, o, (n as f64 * v.depth).ceil() as usize)
        })
        .collect();
    let total_blocks: usize = stages.iter().map(|s| s.5).sum();
    // [n, 3, h, w] -> [n, c, h/2, w/2]
    let stem = Conv::new(3, stages[0].3, 3).stride(2);
    let mut x = b.conv_bn(&(&features / 0), x, stem, true);
    let mut block_id = 0;
    for (stage, &(expand, k, stride, inp, out, n)) in stages.iter().enumerate() {
        for i in 0..n {
            let (inp, stride) = if i == 0 { (inp, stride) } else { (out, 1) };
            let sd = STOCHASTIC_DEPTH * block_id as f64 / total_blocks as f64;
            let p = &features / (stage + 1) / i;
            x = b.mbconv(&p, x, inp, out, expand, k, stride, sd);
            block_id += 1;
        }
    }
    // [n, c, h/32, w/32] -> [n, 4c]
    let last_in = stages[6].4;
    let x = b.conv_bn(
        &(&features / 8),
        x,
        Conv::new(last_in, 4 * last_in, 1),
        true,
    );
    let x = g.adaptive_avg_pool(x, 1);
    let x = g.flatten(x);
    let x = g.dropout(x, v.dropout);
    g.linear(Path::root() / "classifier" / 1, x, 4 * last_in, 1000);
    g
}

/// EfficientNet-B`n` for `n` in 0..=7; B5-B7 use torchvision's batch norm
/// eps 1e-3, momentum 0.01.
pub fn efficientnet_b(n: usize) -> Graph {
    let (width, depth, dropout) = [
        (1.0, 1.0, 0.2),
        (1.0, 1.1, 0.2),
        (1.1, 1.2, 0.3),
        (1.2, 1.4, 0.3),
        (1.4, 1.8, 0.4),
        (1.6, 2.2, 0.4),
        (1.8, 2.6, 0.5),
        (2.0, 3.1, 0.5),
    ][n];
    let bn = if n >= 5 { (1e-3, 0.01) } else { (1e-5, 0.1) };
    efficientnet(
        &format!("efficientnetb{n}"),
        Variant {
            width,
            depth,
            dropout,
            bn,
        },
    )
}
