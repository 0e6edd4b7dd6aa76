//! The layers whose PyTorch semantics are written from TensorFlow's ops:
//! padding, pooling, uneven adaptive pooling, dropout; and the filters'
//! layout.

use super::TfModel;
use crate::analysis::{averaging_matrix, transpose};
use crate::graph::Conv;
use anyhow::Result;
use tensorflow::{ops, DataType, Output};

impl TfModel {
    /// `x` padded by `(ph, pw)` on both sides of each spatial axis with
    /// `value`.
    pub(super) fn pad(
        &mut self,
        x: Output,
        (ph, pw): (usize, usize),
        value: f32,
    ) -> Result<Output> {
        let (ph, pw) = (ph as i32, pw as i32);
        let p = self.constant::<i32>(&[0, 0, ph, ph, pw, pw, 0, 0], &[4, 2])?;
        let v = self.constant::<f32>(&[value], &[])?;
        Ok(ops::pad_v2(x, p, v, &mut self.scope)?.into())
    }

    /// The `padding` attribute that gives PyTorch's symmetric padding on an
    /// `(h, w)` input, padding `x` first when `SAME` does not.
    pub(super) fn padded(
        &mut self,
        x: Output,
        (h, w): (usize, usize),
        k: (usize, usize),
        s: usize,
        p: (usize, usize),
        fill: f32,
    ) -> Result<(Output, &'static str)> {
        if p == (0, 0) {
            Ok((x, "VALID"))
        } else if same_is_symmetric(h, k.0, s, p.0) && same_is_symmetric(w, k.1, s, p.1) {
            Ok((x, "SAME"))
        } else {
            Ok((self.pad(x, p, fill)?, "VALID"))
        }
    }

    /// A convolution with its filter `f` (already in TensorFlow's layout).
    pub(super) fn conv(
        &mut self,
        x: Output,
        f: Output,
        c: &Conv,
        hw: (usize, usize),
    ) -> Result<Output> {
        let (x, padding) = self.padded(x, hw, c.kernel, c.stride, c.padding, 0.0)?;
        let strides = vec![1, c.stride as i64, c.stride as i64, 1];
        let s = &mut self.scope;
        Ok(match depthwise(c) {
            true => ops::DepthwiseConv2dNative::new()
                .strides(strides)
                .padding(padding)
                .build(x, f, s)?,
            false => ops::Conv2D::new()
                .strides(strides)
                .padding(padding)
                .build(x, f, s)?,
        }
        .into())
    }

    /// Max or average pooling with PyTorch's semantics: `-inf` padding for
    /// the max, zeros counted in the average.
    pub(super) fn pool(
        &mut self,
        x: Output,
        hw: (usize, usize),
        k: usize,
        s: usize,
        p: usize,
        max: bool,
    ) -> Result<Output> {
        let (x, padding) = match max {
            true => self.padded(x, hw, (k, k), s, (p, p), f32::NEG_INFINITY)?,
            false if p > 0 => (self.pad(x, (p, p), 0.0)?, "VALID"),
            false => (x, "VALID"),
        };
        let (ksize, strides) = (
            vec![1, k as i64, k as i64, 1],
            vec![1, s as i64, s as i64, 1],
        );
        let sc = &mut self.scope;
        Ok(match max {
            true => ops::MaxPool::new()
                .ksize(ksize)
                .strides(strides)
                .padding(padding)
                .build(x, sc)?,
            false => ops::AvgPool::new()
                .ksize(ksize)
                .strides(strides)
                .padding(padding)
                .build(x, sc)?,
        }
        .into())
    }

    /// PyTorch's uneven adaptive pooling of `[n, h, w, c]` to `out`x`out`:
    /// `A x A^T` on each sample and channel, as two matrix products over
    /// the rows, then the columns.
    pub(super) fn adaptive_matrices(
        &mut self,
        x: Output,
        (c, h, w): (usize, usize, usize),
        out: usize,
        n: usize,
    ) -> Result<Output> {
        let along = |m: &mut Self,
                     x: Output,
                     perm: [i32; 4],
                     len: usize,
                     lead: [usize; 3]|
         -> Result<Output> {
            // Bring the pooled axis last, multiply by A^T, restore.
            let p = m.constant::<i32>(&perm, &[4])?;
            let t: Output = ops::transpose(x, p, &mut m.scope)?.into();
            let rows = (lead.iter().product::<usize>()) as i32;
            let flat = m.constant::<i32>(&[rows, len as i32], &[2])?;
            let t: Output = ops::reshape(t, flat, &mut m.scope)?.into();
            let at = transpose(&averaging_matrix(len, out), out, len);
            let at = m.constant(&at, &[len as u64, out as u64])?;
            let y: Output = ops::mat_mul(t, at, &mut m.scope)?.into();
            let dims: Vec<i32> = lead.iter().map(|&d| d as i32).chain([out as i32]).collect();
            let shape = m.constant::<i32>(&dims, &[4])?;
            let y: Output = ops::reshape(y, shape, &mut m.scope)?.into();
            let back = m.constant::<i32>(&perm, &[4])?;
            Ok(ops::transpose(y, back, &mut m.scope)?.into())
        };
        // Each permutation swaps two axes, so it is its own inverse:
        // [n, h, w, c] -> [n, c, w, h], pool h, back to [n, out, w, c];
        // then [n, out, c, w], pool w, back to [n, out, out, c].
        let y = along(self, x, [0, 3, 2, 1], h, [n, c, w])?;
        along(self, y, [0, 1, 3, 2], w, [n, out, c])
    }

    /// Dropout (or stochastic depth, with a `[n, 1, 1, 1]` mask): each
    /// element of a draw of shape `mask` kept with probability `1 - p` and
    /// scaled by `1 / (1 - p)`, as TensorFlow 1's `tf.nn.dropout` does.
    pub(super) fn drop(&mut self, x: Output, p: f64, shape: Output) -> Result<Output> {
        let u: Output = ops::RandomUniform::new()
            .dtype(DataType::Float)
            .build(shape, &mut self.scope)?
            .into();
        let keep = self.constant::<f32>(&[(1.0 - p) as f32], &[])?;
        let kept: Output = ops::add_v2(u, keep.clone(), &mut self.scope)?.into();
        let kept: Output = ops::floor(kept, &mut self.scope)?.into();
        let scaled: Output = ops::div(x, keep, &mut self.scope)?.into();
        Ok(ops::mul(scaled, kept, &mut self.scope)?.into())
    }
}

/// Whether a depthwise convolution (one filter per input channel).
fn depthwise(c: &Conv) -> bool {
    c.groups > 1 && c.groups == c.in_channels
}

/// A convolution's torchvision `[out, in / groups, kh, kw]` weights in
/// TensorFlow's layout: `[kh, kw, in, out]`, or `[kh, kw, in, out / in]`
/// for a depthwise one.
pub(super) fn filter(c: &Conv, w: &[f32]) -> (Vec<f32>, Vec<usize>) {
    let (kh, kw) = c.kernel;
    let (o, i) = (c.out_channels, c.in_channels / c.groups);
    let mut f = vec![0f32; w.len()];
    for oc in 0..o {
        for ic in 0..i {
            for y in 0..kh {
                for x in 0..kw {
                    // Depthwise output channel `oc` is input channel
                    // `oc / mult`'s filter `oc % mult`; as [kh, kw, in, mult]
                    // that is the same flat index as [kh, kw, 1, out].
                    f[((y * kw + x) * i + ic) * o + oc] = w[((oc * i + ic) * kh + y) * kw + x];
                }
            }
        }
    }
    let shape = match depthwise(c) {
        true => vec![kh, kw, c.in_channels, o / c.in_channels],
        false => vec![kh, kw, i, o],
    };
    (f, shape)
}

/// Whether TensorFlow's `SAME` padding of a `len` axis (window `k`, stride
/// `s`) is PyTorch's symmetric padding `p`: the same number of windows,
/// starting at the same offset.
fn same_is_symmetric(len: usize, k: usize, s: usize, p: usize) -> bool {
    let torch = (len + 2 * p).checked_sub(k).map(|d| d / s + 1);
    let same = len.div_ceil(s);
    let before = ((same - 1) * s + k).saturating_sub(len) / 2;
    torch == Some(same) && before == p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_is_used_only_where_it_is_pytorchs() {
        // 3x3, stride 1, padding 1: SAME everywhere.
        assert!(same_is_symmetric(56, 3, 1, 1));
        // ResNet's stem, 7x7 stride 2 padding 3 on 224: SAME pads 2 and 3.
        assert!(!same_is_symmetric(224, 7, 2, 3));
        // Its max pool, 3x3 stride 2 padding 1 on 112: SAME pads 0 and 1.
        assert!(!same_is_symmetric(112, 3, 2, 1));
        // 3x3 stride 2 padding 1 on an odd 7: SAME pads 1 and 1.
        assert!(same_is_symmetric(7, 3, 2, 1));
    }

    #[test]
    fn filters_move_to_hwio_and_depthwise_to_hwc1() {
        // Two output channels, one input channel, 1x2 kernel.
        let c = Conv::new(1, 2, 1).kernel2(1, 2);
        let (f, shape) = filter(&c, &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(shape, [1, 2, 1, 2]);
        assert_eq!(f, [1.0, 3.0, 2.0, 4.0]);
        let d = Conv::new(2, 2, 1).groups(2);
        assert_eq!(filter(&d, &[5.0, 6.0]), (vec![5.0, 6.0], vec![1, 1, 2, 1]));
    }
}
