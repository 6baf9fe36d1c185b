//! Convolutions as matrix products: im2col, col2im and the three batched products that make a
//! 2-D convolution, its transpose and their gradients.
//!
//! A [`Window`] relates a "big" image to a "small" one: small pixel `(oy, ox)` sees the big pixels
//! `(oy·stride + ky − pad_top, ox·stride + kx − pad_left)` for every kernel offset `(ky, kx)`.
//! A convolution maps big to small ([`lower`]); its transpose maps small to big ([`raise`]); the
//! weight gradient of either is [`weight_grad`]. The weight is the row-major matrix
//! `[small channels, big channels · kh · kw]`, which is burn's conv weight `[out, in, kh, kw]`
//! and its transposed-conv weight `[in, out, kh, kw]` as they are stored.
//!
//! Written here because burn-flex's convolutions zero-fill and copy each output, and its
//! transposed convolution and conv backward run several times slower than these products on the
//! MNIST GAN's layers; no maintained crate offers batched im2col convolutions on plain slices.

use super::gemm::{Matrix, OutPtr, for_each_index, gemm_serial, threads};

/// The geometry of a 2-D convolution between a big and a small image (dilation 1, one group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Vertical and horizontal stride.
    pub stride: [usize; 2],
    /// Padding above and to the left of the big image.
    pub pad: [usize; 2],
    /// Height and width of the big image.
    pub big: [usize; 2],
    /// Height and width of the small image.
    pub small: [usize; 2],
}

impl Window {
    /// Whether im2col is the identity (1×1 kernel, stride 1, no padding): the image is its own
    /// column matrix.
    fn pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.pad == [0, 0] && self.big == self.small
    }

    fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }

    fn big_len(&self) -> usize {
        self.big[0] * self.big[1]
    }

    fn small_len(&self) -> usize {
        self.small[0] * self.small[1]
    }

    /// The big-image index seen by small index `o` at kernel offset `k` along axis `axis`, if
    /// inside the image.
    #[inline]
    fn source(&self, axis: usize, o: usize, k: usize) -> Option<usize> {
        (o * self.stride[axis] + k).checked_sub(self.pad[axis]).filter(|&i| i < self.big[axis])
    }

    /// The range of small indices along `axis` whose source at offset `k` is inside the image.
    fn valid(&self, axis: usize, k: usize) -> std::ops::Range<usize> {
        let s = self.stride[axis];
        let first = self.pad[axis].saturating_sub(k).div_ceil(s).min(self.small[axis]);
        // Last `o` with o·s + k − pad < big, i.e. o·s < big + pad − k.
        let end = (self.big[axis] + self.pad[axis]).checked_sub(k).map_or(0, |limit| limit.div_ceil(s));
        first..end.min(self.small[axis]).max(first)
    }
}

/// `col[(c, ky, kx), (oy, ox)]` = the big image's pixel seen there (0 in the padding), for one
/// image of `channels` channels.
fn im2col(image: &[f32], channels: usize, w: &Window, col: &mut [f32]) {
    let [kh, kw] = w.kernel;
    let [sh, sw] = w.small;
    let [bh, bw] = w.big;
    let row_len = sh * sw;
    for c in 0..channels {
        let plane = &image[c * bh * bw..(c + 1) * bh * bw];
        for ky in 0..kh {
            for kx in 0..kw {
                let row = &mut col[((c * kh + ky) * kw + kx) * row_len..][..row_len];
                let xs = w.valid(1, kx);
                for oy in 0..sh {
                    let out = &mut row[oy * sw..(oy + 1) * sw];
                    let Some(iy) = w.source(0, oy, ky) else {
                        out.fill(0.0);
                        continue;
                    };
                    let src = &plane[iy * bw..(iy + 1) * bw];
                    out[..xs.start].fill(0.0);
                    out[xs.end..].fill(0.0);
                    if xs.is_empty() {
                        continue;
                    }
                    let stride = w.stride[1];
                    let first = xs.start * stride + kx - w.pad[1];
                    if stride == 1 {
                        out[xs.clone()].copy_from_slice(&src[first..first + xs.len()]);
                    } else {
                        for (j, o) in out[xs.clone()].iter_mut().enumerate() {
                            *o = src[first + j * stride];
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: `image` = the sum, at each big pixel, of the columns that see it.
fn col2im(col: &[f32], channels: usize, w: &Window, image: &mut [f32]) {
    let [kh, kw] = w.kernel;
    let [sh, sw] = w.small;
    let [bh, bw] = w.big;
    let row_len = sh * sw;
    image.fill(0.0);
    for c in 0..channels {
        let plane = &mut image[c * bh * bw..(c + 1) * bh * bw];
        for ky in 0..kh {
            for kx in 0..kw {
                let row = &col[((c * kh + ky) * kw + kx) * row_len..][..row_len];
                let xs = w.valid(1, kx);
                if xs.is_empty() {
                    continue;
                }
                let stride = w.stride[1];
                let first = xs.start * stride + kx - w.pad[1];
                for oy in 0..sh {
                    let Some(iy) = w.source(0, oy, ky) else { continue };
                    let src = &row[oy * sw..(oy + 1) * sw];
                    let dst = &mut plane[iy * bw..(iy + 1) * bw];
                    if stride == 1 {
                        for (d, s) in dst[first..first + xs.len()].iter_mut().zip(&src[xs.clone()]) {
                            *d += s;
                        }
                    } else {
                        for (j, s) in src[xs.clone()].iter().enumerate() {
                            dst[first + j * stride] += s;
                        }
                    }
                }
            }
        }
    }
}

/// The contiguous block of images each thread takes.
fn image_blocks(batch: usize) -> (usize, usize) {
    let blocks = threads().min(batch).max(1);
    (blocks, batch.div_ceil(blocks))
}

/// A convolution, big → small: `out[b] = weight @ im2col(big[b])`, with `big` `[batch,
/// big_channels, big…]`, `weight` `[small_channels, big_channels · kh · kw]`; returns `[batch,
/// small_channels, small…]`.
pub(super) fn lower(
    big: &[f32],
    batch: usize,
    big_channels: usize,
    weight: &[f32],
    small_channels: usize,
    w: &Window,
) -> Vec<f32> {
    let (k, n) = (big_channels * w.taps(), w.small_len());
    let mut out: Vec<f32> = Vec::with_capacity(batch * small_channels * n);
    let dst = OutPtr(out.as_mut_ptr());
    let (blocks, per_block) = image_blocks(batch);
    for_each_index(blocks, |block| {
        let mut col = vec![0.0f32; if w.pointwise() { 0 } else { k * n }];
        for b in block * per_block..((block + 1) * per_block).min(batch) {
            let image = &big[b * big_channels * w.big_len()..][..big_channels * w.big_len()];
            let col = if w.pointwise() {
                image
            } else {
                im2col(image, big_channels, w, &mut col);
                &col
            };
            // SAFETY: image `b`'s `[small_channels, n]` output block is inside `out`'s capacity
            // and written by this thread only; `weight` and `col` hold their shapes.
            unsafe {
                gemm_serial(
                    dst.at(b * small_channels * n),
                    n,
                    false,
                    small_channels,
                    n,
                    k,
                    Matrix::row_major(weight, k),
                    Matrix::row_major(col, n),
                )
            };
        }
    });
    // SAFETY: every image's block was written above.
    unsafe { out.set_len(batch * small_channels * n) };
    out
}

/// A transposed convolution, small → big: `out[b] = col2im(weightᵀ @ small[b])`, with `small`
/// `[batch, small_channels, small…]` and `weight` `[small_channels, big_channels · kh · kw]`;
/// returns `[batch, big_channels, big…]`.
pub(super) fn raise(
    small: &[f32],
    batch: usize,
    small_channels: usize,
    weight: &[f32],
    big_channels: usize,
    w: &Window,
) -> Vec<f32> {
    let (m, n) = (big_channels * w.taps(), w.small_len());
    let image_len = big_channels * w.big_len();
    let mut out = vec![0.0f32; batch * image_len];
    let dst = OutPtr(out.as_mut_ptr());
    let (blocks, per_block) = image_blocks(batch);
    for_each_index(blocks, |block| {
        let mut col = vec![0.0f32; m * n];
        for b in block * per_block..((block + 1) * per_block).min(batch) {
            // SAFETY: `col` is `[m, n]`; the weight's transpose is `[m, small_channels]` and the
            // image `[small_channels, n]`.
            unsafe {
                gemm_serial(
                    col.as_mut_ptr(),
                    n,
                    false,
                    m,
                    n,
                    small_channels,
                    Matrix::row_major(weight, m).t(),
                    Matrix::row_major(&small[b * small_channels * n..][..small_channels * n], n),
                )
            };
            // SAFETY: image `b` of the output is written by this thread only.
            let image = unsafe { std::slice::from_raw_parts_mut(dst.at(b * image_len), image_len) };
            col2im(&col, big_channels, w, image);
        }
    });
    out
}

/// The weight gradient of either direction: `Σ_b small[b] @ im2col(big[b])ᵀ`, shape
/// `[small_channels, big_channels · kh · kw]`. Each thread sums its block of images; the blocks'
/// sums are then added in order, so the result depends only on the thread count.
pub(super) fn weight_grad(
    big: &[f32],
    small: &[f32],
    batch: usize,
    big_channels: usize,
    small_channels: usize,
    w: &Window,
) -> Vec<f32> {
    let (k, n) = (w.small_len(), big_channels * w.taps());
    let len = small_channels * n;
    let (blocks, per_block) = image_blocks(batch);
    let mut partials = vec![0.0f32; blocks * len];
    let dst = OutPtr(partials.as_mut_ptr());
    for_each_index(blocks, |block| {
        let mut col = vec![0.0f32; if w.pointwise() { 0 } else { n * k }];
        for (i, b) in (block * per_block..((block + 1) * per_block).min(batch)).enumerate() {
            let image = &big[b * big_channels * w.big_len()..][..big_channels * w.big_len()];
            let col = if w.pointwise() {
                image
            } else {
                im2col(image, big_channels, w, &mut col);
                &col
            };
            // SAFETY: block `block`'s partial sum is `[small_channels, n]` inside `partials` and
            // written by this thread only; `col` is `[n, k]`, its transpose `[k, n]`.
            unsafe {
                gemm_serial(
                    dst.at(block * len),
                    n,
                    i > 0,
                    small_channels,
                    n,
                    k,
                    Matrix::row_major(&small[b * small_channels * k..][..small_channels * k], k),
                    Matrix::row_major(col, k).t(),
                )
            };
        }
    });
    let (first, rest) = partials.split_at_mut(len);
    for partial in rest.chunks_exact(len) {
        for (a, b) in first.iter_mut().zip(partial) {
            *a += b;
        }
    }
    partials.truncate(len);
    partials
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A direct, loop-by-loop convolution to check the im2col products against.
    fn direct_conv(big: &[f32], batch: usize, cb: usize, weight: &[f32], cs: usize, w: &Window) -> Vec<f32> {
        let [kh, kw] = w.kernel;
        let mut out = vec![0.0f64; batch * cs * w.small_len()];
        for b in 0..batch {
            for o in 0..cs {
                for oy in 0..w.small[0] {
                    for ox in 0..w.small[1] {
                        let mut acc = 0.0f64;
                        for c in 0..cb {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    if let (Some(iy), Some(ix)) = (w.source(0, oy, ky), w.source(1, ox, kx)) {
                                        acc += big[((b * cb + c) * w.big[0] + iy) * w.big[1] + ix] as f64
                                            * weight[((o * cb + c) * kh + ky) * kw + kx] as f64;
                                    }
                                }
                            }
                        }
                        out[((b * cs + o) * w.small[0] + oy) * w.small[1] + ox] = acc;
                    }
                }
            }
        }
        out.into_iter().map(|v| v as f32).collect()
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n).map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0).collect()
    }

    fn dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
    }

    fn windows() -> Vec<Window> {
        vec![
            // The MNIST networks' layers: k4 s2 "same" (pad 1) and k4 s1 "same" (pad 1 before, 2 after).
            Window { kernel: [4, 4], stride: [2, 2], pad: [1, 1], big: [14, 14], small: [7, 7] },
            Window { kernel: [4, 4], stride: [1, 1], pad: [1, 1], big: [9, 9], small: [9, 9] },
            // Odd shapes: no padding, uneven stride, a kernel wider than the padding allows.
            Window { kernel: [3, 2], stride: [1, 3], pad: [0, 0], big: [5, 8], small: [3, 3] },
            Window { kernel: [1, 1], stride: [1, 1], pad: [0, 0], big: [4, 5], small: [4, 5] },
            Window { kernel: [5, 5], stride: [2, 2], pad: [3, 2], big: [6, 7], small: [4, 4] },
        ]
    }

    #[test]
    fn lower_is_the_direct_convolution() {
        for w in windows() {
            let (batch, cb, cs) = (3, 2, 4);
            let big = values(batch * cb * w.big_len(), 1);
            let weight = values(cs * cb * w.taps(), 2);
            let ours = lower(&big, batch, cb, &weight, cs, &w);
            let expected = direct_conv(&big, batch, cb, &weight, cs, &w);
            for (a, b) in ours.iter().zip(&expected) {
                assert!((a - b).abs() < 1e-4, "{w:?}: {a} vs {b}");
            }
        }
    }

    /// `raise` is `lower`'s adjoint, and `weight_grad` its derivative in the weight:
    /// ⟨lower(x, W), y⟩ = ⟨x, raise(y, W)⟩ = ⟨W, weight_grad(x, y)⟩.
    #[test]
    fn raise_and_weight_grad_are_the_adjoints() {
        for w in windows() {
            let (batch, cb, cs) = (3, 2, 4);
            let x = values(batch * cb * w.big_len(), 3);
            let y = values(batch * cs * w.small_len(), 4);
            let weight = values(cs * cb * w.taps(), 5);
            let forward = dot(&lower(&x, batch, cb, &weight, cs, &w), &y);
            let back = dot(&x, &raise(&y, batch, cs, &weight, cb, &w));
            let grad = dot(&weight, &weight_grad(&x, &y, batch, cb, cs, &w));
            assert!((forward - back).abs() < 1e-3 * forward.abs().max(1.0), "{w:?}: {forward} vs {back}");
            assert!((forward - grad).abs() < 1e-3 * forward.abs().max(1.0), "{w:?}: {forward} vs {grad}");
        }
    }
}
