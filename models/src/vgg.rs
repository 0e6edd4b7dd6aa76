//! VGG-16/19: "Very Deep Convolutional Networks for Large-Scale Image
//! Recognition" (Simonyan & Zisserman, 2014, <https://arxiv.org/abs/1409.1556>),
//! as torchvision builds it (`torchvision/models/vgg.py`, configurations D and
//! E without batch norm).

use crate::graph::{Conv, Graph, Path};

/// A configuration entry: a 3x3 convolution to this many channels, or `M`, a
/// 2x2 max pool.
const M: usize = 0;
const VGG16: &[usize] = &[
    64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M,
];
const VGG19: &[usize] = &[
    64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512, 512, 512, M,
];

fn vgg(name: &str, cfg: &[usize]) -> Graph {
    let (mut g, mut x) = Graph::new(name, 1000);
    let features = Path::root() / "features";
    let mut in_c = 3;
    // torchvision numbers the modules of `features` in order, ReLUs included.
    let mut index = 0;
    for &c in cfg {
        if c == M {
            x = g.max_pool(x, 2, 2, 0);
            index += 1;
        } else {
            x = g.conv(&features / index, x, Conv::new(in_c, c, 3));
            x = g.relu(x);
            index += 2;
            in_c = c;
        }
    }
    // [n, 512, h/32, w/32] -> [n, 512 * 7 * 7]
    let x = g.adaptive_avg_pool(x, 7);
    let x = g.flatten(x);
    let classifier = Path::root() / "classifier";
    let x = g.linear(&classifier / 0, x, 512 * 7 * 7, 4096);
    let x = g.relu(x);
    let x = g.dropout(x, 0.5);
    let x = g.linear(&classifier / 3, x, 4096, 4096);
    let x = g.relu(x);
    let x = g.dropout(x, 0.5);
    g.linear(&classifier / 6, x, 4096, 1000);
    g
}

pub fn vgg16() -> Graph {
    vgg("vgg16", VGG16)
}
pub fn vgg19() -> Graph {
    vgg("vgg19", VGG19)
}
