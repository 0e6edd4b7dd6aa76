//! Inception v3: "Rethinking the Inception Architecture for Computer Vision"
//! (Szegedy et al., 2015, <https://arxiv.org/abs/1512.00567>), as torchvision
//! builds it (`torchvision/models/inception.py`, `inception_v3` with
//! `aux_logits=True`, `transform_input=False`). The auxiliary classifier runs
//! in train mode only.

use crate::graph::{Conv, Graph, NodeId, Path};

/// torchvision's `BasicConv2d`: bias-free convolution, batch norm (eps 1e-3), ReLU.
fn basic(g: &mut Graph, p: &Path, x: NodeId, c: Conv) -> NodeId {
    let y = g.conv(p / "conv", x, c.no_bias());
    let y = g.batch_norm_with(p / "bn", y, c.out_channels, 1e-3, 0.1);
    g.relu(y)
}

/// One `BasicConv2d` of a chain: its name, output channels, and the
/// convolution given input and output channels.
type Unit = (&'static str, usize, fn(usize, usize) -> Conv);

/// A chain of `BasicConv2d`s named `{p}.{name}`.
fn chain(g: &mut Graph, p: &Path, x: NodeId, in_c: usize, steps: &[Unit]) -> NodeId {
    let (mut y, mut c) = (x, in_c);
    for &(name, out, conv) in steps {
        y = basic(g, &(p / name), y, conv(c, out));
        c = out;
    }
    y
}

fn k1(i: usize, o: usize) -> Conv {
    Conv::new(i, o, 1)
}
fn k3(i: usize, o: usize) -> Conv {
    Conv::new(i, o, 3)
}
fn k3_valid_s2(i: usize, o: usize) -> Conv {
    Conv::new(i, o, 3).padding(0).stride(2)
}
fn k5(i: usize, o: usize) -> Conv {
    Conv::new(i, o, 5)
}
fn k1x7(i: usize, o: usize) -> Conv {
    Conv::new(i, o, 1).kernel2(1, 7)
}
fn k7x1(i: usize, o: usize) -> Conv {
    Conv::new(i, o, 1).kernel2(7, 1)
}
fn k1x3(i: usize, o: usize) -> Conv {
    Conv::new(i, o, 1).kernel2(1, 3)
}
fn k3x1(i: usize, o: usize) -> Conv {
    Conv::new(i, o, 1).kernel2(3, 1)
}

/// 35x35 module: 1x1, 5x5, double 3x3 and pooled branches.
fn inception_a(g: &mut Graph, p: &Path, x: NodeId, c: usize, pool: usize) -> NodeId {
    let b1 = chain(g, p, x, c, &[("branch1x1", 64, k1)]);
    let b5 = chain(
        g,
        p,
        x,
        c,
        &[("branch5x5_1", 48, k1), ("branch5x5_2", 64, k5)],
    );
    let b3 = chain(
        g,
        p,
        x,
        c,
        &[
            ("branch3x3dbl_1", 64, k1),
            ("branch3x3dbl_2", 96, k3),
            ("branch3x3dbl_3", 96, k3),
        ],
    );
    let pooled = g.avg_pool(x, 3, 1, 1);
    let bp = chain(g, p, pooled, c, &[("branch_pool", pool, k1)]);
    g.concat(&[b1, b5, b3, bp]) // [n, 224 + pool, h, w]
}

/// Grid reduction (torchvision's `InceptionB` and `InceptionD`): two chains
/// and a max pool side by side, each ending with a stride-2 valid 3x3.
fn reduction(g: &mut Graph, p: &Path, x: NodeId, c: usize, a: &[Unit], b: &[Unit]) -> NodeId {
    let ya = chain(g, p, x, c, a);
    let yb = chain(g, p, x, c, b);
    let pooled = g.max_pool(x, 3, 2, 0);
    g.concat(&[ya, yb, pooled])
}

/// Grid reduction 35 -> 17: [n, 480 + c, h/2, w/2].
fn inception_b(g: &mut Graph, p: &Path, x: NodeId, c: usize) -> NodeId {
    let b3: [Unit; 1] = [("branch3x3", 384, k3_valid_s2)];
    let bd: [Unit; 3] = [
        ("branch3x3dbl_1", 64, k1),
        ("branch3x3dbl_2", 96, k3),
        ("branch3x3dbl_3", 96, k3_valid_s2),
    ];
    reduction(g, p, x, c, &b3, &bd)
}

/// 17x17 module with factorised 7x7 convolutions.
fn inception_c(g: &mut Graph, p: &Path, x: NodeId, c: usize, c7: usize) -> NodeId {
    let b1 = chain(g, p, x, c, &[("branch1x1", 192, k1)]);
    let b7 = chain(
        g,
        p,
        x,
        c,
        &[
            ("branch7x7_1", c7, k1),
            ("branch7x7_2", c7, k1x7),
            ("branch7x7_3", 192, k7x1),
        ],
    );
    let steps: [Unit; 5] = [
        ("branch7x7dbl_1", c7, k1),
        ("branch7x7dbl_2", c7, k7x1),
        ("branch7x7dbl_3", c7, k1x7),
        ("branch7x7dbl_4", c7, k7x1),
        ("branch7x7dbl_5", 192, k1x7),
    ];
    let bd = chain(g, p, x, c, &steps);
    let pooled = g.avg_pool(x, 3, 1, 1);
    let bp = chain(g, p, pooled, c, &[("branch_pool", 192, k1)]);
    g.concat(&[b1, b7, bd, bp]) // [n, 768, h, w]
}

/// Grid reduction 17 -> 8: [n, 512 + c, h/2, w/2].
fn inception_d(g: &mut Graph, p: &Path, x: NodeId, c: usize) -> NodeId {
    let b3: [Unit; 2] = [("branch3x3_1", 192, k1), ("branch3x3_2", 320, k3_valid_s2)];
    let b7: [Unit; 4] = [
        ("branch7x7x3_1", 192, k1),
        ("branch7x7x3_2", 192, k1x7),
        ("branch7x7x3_3", 192, k7x1),
        ("branch7x7x3_4", 192, k3_valid_s2),
    ];
    reduction(g, p, x, c, &b3, &b7)
}

/// 8x8 module with expanded (1x3 and 3x1 side by side) branches.
fn inception_e(g: &mut Graph, p: &Path, x: NodeId, c: usize) -> NodeId {
    let b1 = chain(g, p, x, c, &[("branch1x1", 320, k1)]);
    let s = chain(g, p, x, c, &[("branch3x3_1", 384, k1)]);
    let a = chain(g, p, s, 384, &[("branch3x3_2a", 384, k1x3)]);
    let b = chain(g, p, s, 384, &[("branch3x3_2b", 384, k3x1)]);
    let b3 = g.concat(&[a, b]);
    let d = chain(
        g,
        p,
        x,
        c,
        &[("branch3x3dbl_1", 448, k1), ("branch3x3dbl_2", 384, k3)],
    );
    let a = chain(g, p, d, 384, &[("branch3x3dbl_3a", 384, k1x3)]);
    let b = chain(g, p, d, 384, &[("branch3x3dbl_3b", 384, k3x1)]);
    let bd = g.concat(&[a, b]);
    let pooled = g.avg_pool(x, 3, 1, 1);
    let bp = chain(g, p, pooled, c, &[("branch_pool", 192, k1)]);
    g.concat(&[b1, b3, bd, bp]) // [n, 2048, h, w]
}

/// The auxiliary classifier on the 17x17 map (train mode only).
fn aux_logits(g: &mut Graph, p: &Path, x: NodeId) -> NodeId {
    let y = g.avg_pool(x, 5, 3, 0); // [n, 768, 5, 5] at 299x299
    let y = chain(
        g,
        p,
        y,
        768,
        &[
            ("conv0", 128, k1),
            ("conv1", 768, |i, o| Conv::new(i, o, 5).padding(0)),
        ],
    );
    let y = g.adaptive_avg_pool(y, 1);
    let y = g.flatten(y);
    g.linear(p / "fc", y, 768, 1000)
}

pub fn inception_v3() -> Graph {
    let (mut g, x) = Graph::new("inception_v3", 1000);
    let r = Path::root();
    // [n, 3, 299, 299] -> [n, 192, 35, 35]
    let x = chain(&mut g, &r, x, 3, &[("Conv2d_1a_3x3", 32, k3_valid_s2)]);
    let x = chain(
        &mut g,
        &r,
        x,
        32,
        &[("Conv2d_2a_3x3", 32, |i, o| Conv::new(i, o, 3).padding(0))],
    );
    let x = chain(&mut g, &r, x, 32, &[("Conv2d_2b_3x3", 64, k3)]);
    let x = g.max_pool(x, 3, 2, 0);
    let x = chain(
        &mut g,
        &r,
        x,
        64,
        &[
            ("Conv2d_3b_1x1", 80, k1),
            ("Conv2d_4a_3x3", 192, |i, o| Conv::new(i, o, 3).padding(0)),
        ],
    );
    let x = g.max_pool(x, 3, 2, 0);
    let x = inception_a(&mut g, &(&r / "Mixed_5b"), x, 192, 32);
    let x = inception_a(&mut g, &(&r / "Mixed_5c"), x, 256, 64);
    let x = inception_a(&mut g, &(&r / "Mixed_5d"), x, 288, 64);
    let x = inception_b(&mut g, &(&r / "Mixed_6a"), x, 288);
    let x = inception_c(&mut g, &(&r / "Mixed_6b"), x, 768, 128);
    let x = inception_c(&mut g, &(&r / "Mixed_6c"), x, 768, 160);
    let x = inception_c(&mut g, &(&r / "Mixed_6d"), x, 768, 160);
    let x = inception_c(&mut g, &(&r / "Mixed_6e"), x, 768, 192);
    let aux = aux_logits(&mut g, &(&r / "AuxLogits"), x);
    g.aux = Some(aux);
    let x = inception_d(&mut g, &(&r / "Mixed_7a"), x, 768);
    let x = inception_e(&mut g, &(&r / "Mixed_7b"), x, 1280);
    let x = inception_e(&mut g, &(&r / "Mixed_7c"), x, 2048);
    // [n, 2048, 8, 8] -> [n, 1000]
    let x = g.adaptive_avg_pool(x, 1);
    let x = g.dropout(x, 0.5);
    let x = g.flatten(x);
    g.linear(&r / "fc", x, 2048, 1000);
    g
}
