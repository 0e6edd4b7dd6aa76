//! ResNet-18/34/50/101/152: "Deep Residual Learning for Image Recognition"
//! (He et al., 2015, <https://arxiv.org/abs/1512.03385>), as torchvision builds
//! it (`torchvision/models/resnet.py`: stride on the 3x3 convolution of a
//! bottleneck, "ResNet v1.5").

use crate::graph::{Conv, Graph, NodeId, Path};

/// Basic blocks (two 3x3 convolutions) or bottlenecks (1x1, 3x3, 1x1 with 4x
/// expansion).
#[derive(Clone, Copy)]
enum Block {
    Basic,
    Bottleneck,
}

impl Block {
    fn expansion(self) -> usize {
        match self {
            Block::Basic => 1,
            Block::Bottleneck => 4,
        }
    }
}

/// Convolution without bias followed by batch norm: the unit every block
/// uses, named `{p}.conv{i}` and `{p}.bn{i}` as torchvision names them.
fn conv_bn(g: &mut Graph, p: &Path, i: usize, x: NodeId, c: Conv) -> NodeId {
    let y = g.conv(p / format!("conv{i}"), x, c.no_bias());
    g.batch_norm(p / format!("bn{i}"), y, c.out_channels)
}

/// One residual block; `downsample` projects the shortcut when the shape changes.
fn block(
    g: &mut Graph,
    p: &Path,
    x: NodeId,
    kind: Block,
    in_c: usize,
    width: usize,
    stride: usize,
) -> NodeId {
    let out_c = width * kind.expansion();
    let y = match kind {
        Block::Basic => {
            let y = conv_bn(g, p, 1, x, Conv::new(in_c, width, 3).stride(stride));
            let y = g.relu(y);
            conv_bn(g, p, 2, y, Conv::new(width, width, 3))
        }
        Block::Bottleneck => {
            let y = conv_bn(g, p, 1, x, Conv::new(in_c, width, 1));
            let y = g.relu(y);
            let y = conv_bn(g, p, 2, y, Conv::new(width, width, 3).stride(stride));
            let y = g.relu(y);
            conv_bn(g, p, 3, y, Conv::new(width, out_c, 1))
        }
    };
    let shortcut = if stride != 1 || in_c != out_c {
        // torchvision's `downsample`: a Sequential of a convolution (0) and a batch norm (1).
        let down = p / "downsample";
        let projection = Conv::new(in_c, out_c, 1).stride(stride).no_bias();
        let s = g.conv(&down / 0, x, projection);
        g.batch_norm(&down / 1, s, out_c)
    } else {
        x
    };
    let sum = g.add(y, shortcut);
    g.relu(sum)
}

fn resnet(name: &str, kind: Block, layers: [usize; 4]) -> Graph {
    let (mut g, x) = Graph::new(name, 1000);
    let root = Path::root();
    // [n, 3, h, w] -> [n, 64, h/4, w/4]
    let x = conv_bn(&mut g, &root, 1, x, Conv::new(3, 64, 7).stride(2));
    let x = g.relu(x);
    let mut x = g.max_pool(x, 3, 2, 1);
    let mut in_c = 64;
    for (stage, &blocks) in layers.iter().enumerate() {
        let width = 64 << stage;
        for i in 0..blocks {
            let stride = if stage > 0 && i == 0 { 2 } else { 1 };
            let p = &root / format!("layer{}", stage + 1) / i;
            x = block(&mut g, &p, x, kind, in_c, width, stride);
            in_c = width * kind.expansion();
        }
    }
    // [n, c, h/32, w/32] -> [n, c]
    let x = g.adaptive_avg_pool(x, 1);
    let x = g.flatten(x);
    g.linear(&root / "fc", x, in_c, 1000);
    g
}

pub fn resnet18() -> Graph {
    resnet("resnet18", Block::Basic, [2, 2, 2, 2])
}
pub fn resnet34() -> Graph {
    resnet("resnet34", Block::Basic, [3, 4, 6, 3])
}
pub fn resnet50() -> Graph {
    resnet("resnet50", Block::Bottleneck, [3, 4, 6, 3])
}
pub fn resnet101() -> Graph {
    resnet("resnet101", Block::Bottleneck, [3, 4, 23, 3])
}
pub fn resnet152() -> Graph {
    resnet("resnet152", Block::Bottleneck, [3, 8, 36, 3])
}
