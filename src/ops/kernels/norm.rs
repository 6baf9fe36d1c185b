//! Batch normalization with batch statistics fused with the activation that follows it, and a
//! leaky ReLU, forward and backward, on `[batch, channels, spatial…]` f32 buffers.
//!
//! Written here because burn composes both from a dozen whole-tensor operations (transposed
//! copies for the per-channel statistics, masks, products), each a pass over memory on one
//! thread; these are two passes forward and two backward, split over the threads by channels.

use super::gemm::{OutPtr, for_each_index, threads};

/// The activation after a batch norm: `x` for `x > 0`, `slope · x` otherwise; `None` is the
/// identity. Its derivative at 0 follows burn: 0 for a ReLU (slope 0), 1 for a leaky ReLU.
pub(super) fn activate(x: f32, slope: Option<f32>) -> f32 {
    match slope {
        Some(s) if x <= 0.0 => {
            if s == 0.0 {
                0.0
            } else {
                x * s
            }
        }
        _ => x,
    }
}

#[inline]
pub(super) fn derivative(x: f32, slope: Option<f32>) -> f32 {
    match slope {
        None => 1.0,
        Some(s) if x < 0.0 || (x == 0.0 && s == 0.0) => s,
        Some(_) => 1.0,
    }
}

/// The shape of a normalized tensor: `batch` × `channels` × `spatial` elements, channel-major
/// within each example.
#[derive(Clone, Copy)]
pub(super) struct Layout {
    pub batch: usize,
    pub channels: usize,
    pub spatial: usize,
}

impl Layout {
    fn count(&self) -> usize {
        self.batch * self.spatial
    }

    /// Calls `f(channel, values)` for each example's run of channel `c`, for every `c` in
    /// `channels`, example by example.
    fn runs<'a>(&self, data: &'a [f32], channels: std::ops::Range<usize>, mut f: impl FnMut(usize, &'a [f32])) {
        for b in 0..self.batch {
            for c in channels.clone() {
                f(c, &data[(b * self.channels + c) * self.spatial..][..self.spatial]);
            }
        }
    }
}

/// Splits the channels into one contiguous block per thread and runs `f` on each block.
fn channel_blocks(channels: usize, f: impl Fn(std::ops::Range<usize>) + Sync + Send) {
    let blocks = threads().min(channels).max(1);
    let size = channels.div_ceil(blocks);
    for_each_index(blocks, |b| f(b * size..((b + 1) * size).min(channels)));
}

/// Per-channel mean and biased variance (two passes, f64 sums).
fn statistics(x: &[f32], layout: Layout, channels: std::ops::Range<usize>, mean: &mut [f32], var: &mut [f32]) {
    let first = channels.start;
    let mut sums = vec![0.0f64; channels.len()];
    layout.runs(x, channels.clone(), |c, run| sums[c - first] += run.iter().map(|&v| v as f64).sum::<f64>());
    let count = layout.count() as f64;
    for (m, s) in mean.iter_mut().zip(&sums) {
        *m = (s / count) as f32;
    }
    sums.fill(0.0);
    layout.runs(x, channels, |c, run| {
        let m = mean[c - first] as f64;
        sums[c - first] += run.iter().map(|&v| (v as f64 - m) * (v as f64 - m)).sum::<f64>();
    });
    for (v, s) in var.iter_mut().zip(&sums) {
        *v = (s / count) as f32;
    }
}

/// `act(γ · (x − mean) / sqrt(var + ε) + β)` with the batch's own statistics; returns the
/// output, the mean and the biased variance.
pub(super) fn batch_norm_forward(
    x: &[f32],
    layout: Layout,
    gamma: &[f32],
    beta: &[f32],
    epsilon: f64,
    slope: Option<f32>,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let c_all = layout.channels;
    let mut mean = vec![0.0f32; c_all];
    let mut var = vec![0.0f32; c_all];
    let mut out: Vec<f32> = Vec::with_capacity(x.len());
    let (mean_ptr, var_ptr, dst) = (OutPtr(mean.as_mut_ptr()), OutPtr(var.as_mut_ptr()), OutPtr(out.as_mut_ptr()));
    channel_blocks(c_all, |channels| {
        let first = channels.start;
        // SAFETY: each block owns the statistics of its own channels.
        let (mean, var) = unsafe {
            (
                std::slice::from_raw_parts_mut(mean_ptr.at(first), channels.len()),
                std::slice::from_raw_parts_mut(var_ptr.at(first), channels.len()),
            )
        };
        statistics(x, layout, channels.clone(), mean, var);
        let scale: Vec<f32> =
            channels.clone().map(|c| gamma[c] / ((var[c - first] as f64 + epsilon).sqrt() as f32)).collect();
        let shift: Vec<f32> = channels.clone().map(|c| beta[c] - mean[c - first] * scale[c - first]).collect();
        for b in 0..layout.batch {
            for c in channels.clone() {
                let start = (b * c_all + c) * layout.spatial;
                let (k, s) = (scale[c - first], shift[c - first]);
                // SAFETY: this run of the output belongs to channel `c`, which only this block
                // writes.
                let out = unsafe { std::slice::from_raw_parts_mut(dst.at(start), layout.spatial) };
                for (o, &v) in out.iter_mut().zip(&x[start..start + layout.spatial]) {
                    *o = activate(v * k + s, slope);
                }
            }
        }
    });
    // SAFETY: the blocks wrote every channel's runs, which together are the whole output.
    unsafe { out.set_len(x.len()) };
    (out, mean, var)
}

/// Gradients of [`batch_norm_forward`] in `x`, `γ` and `β`, given the output's gradient `dy`
/// and the statistics it returned (burn's `batch_norm_train_backward`, through the activation).
#[allow(clippy::too_many_arguments)]
pub(super) fn batch_norm_backward(
    x: &[f32],
    dy: &[f32],
    layout: Layout,
    gamma: &[f32],
    beta: &[f32],
    mean: &[f32],
    var: &[f32],
    epsilon: f64,
    slope: Option<f32>,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let c_all = layout.channels;
    let mut gamma_grad = vec![0.0f32; c_all];
    let mut beta_grad = vec![0.0f32; c_all];
    let mut dx: Vec<f32> = Vec::with_capacity(x.len());
    let (gg, bg, dst) = (OutPtr(gamma_grad.as_mut_ptr()), OutPtr(beta_grad.as_mut_ptr()), OutPtr(dx.as_mut_ptr()));
    let count = layout.count() as f64;
    channel_blocks(c_all, |channels| {
        let first = channels.start;
        let inv_std: Vec<f32> = channels.clone().map(|c| 1.0 / ((var[c] as f64 + epsilon).sqrt() as f32)).collect();
        let (mut sum_g, mut sum_gx) = (vec![0.0f64; channels.len()], vec![0.0f64; channels.len()]);
        for b in 0..layout.batch {
            for c in channels.clone() {
                let start = (b * c_all + c) * layout.spatial;
                let i = c - first;
                let (m, s) = (mean[c], inv_std[i]);
                let (mut a, mut ax) = (0.0f64, 0.0f64);
                for (&v, &g) in x[start..start + layout.spatial].iter().zip(&dy[start..start + layout.spatial]) {
                    let normalized = (v - m) * s;
                    let g = g * derivative(gamma[c] * normalized + beta[c], slope);
                    a += g as f64;
                    ax += (g * normalized) as f64;
                }
                sum_g[i] += a;
                sum_gx[i] += ax;
            }
        }
        for c in channels.clone() {
            let i = c - first;
            // SAFETY: each block owns the parameter gradients of its own channels.
            unsafe {
                *gg.at(c) = sum_gx[i] as f32;
                *bg.at(c) = sum_g[i] as f32;
            }
        }
        for b in 0..layout.batch {
            for c in channels.clone() {
                let start = (b * c_all + c) * layout.spatial;
                let i = c - first;
                let (m, s) = (mean[c], inv_std[i]);
                let mean_g = (sum_g[i] / count) as f32;
                let mean_gx = (sum_gx[i] / count) as f32;
                let scale = gamma[c] * s;
                // SAFETY: this run of the input gradient belongs to channel `c`, which only this
                // block writes.
                let out = unsafe { std::slice::from_raw_parts_mut(dst.at(start), layout.spatial) };
                for ((o, &v), &g) in
                    out.iter_mut().zip(&x[start..start + layout.spatial]).zip(&dy[start..start + layout.spatial])
                {
                    let normalized = (v - m) * s;
                    let g = g * derivative(gamma[c] * normalized + beta[c], slope);
                    *o = scale * (g - mean_g - normalized * mean_gx);
                }
            }
        }
    });
    // SAFETY: the blocks wrote every channel's runs.
    unsafe { dx.set_len(x.len()) };
    (dx, gamma_grad, beta_grad)
}

/// A leaky ReLU (`x` for `x ≥ 0`, `slope · x` below) over a whole buffer, split over threads.
pub(super) fn leaky_relu_forward(x: &[f32], slope: f32) -> Vec<f32> {
    map_chunks(x, None, |v, _| if v < 0.0 { v * slope } else { v })
}

/// The leaky ReLU's input gradient: `dy` where `x ≥ 0`, `slope · dy` below (burn's rule).
pub(super) fn leaky_relu_backward(x: &[f32], dy: &[f32], slope: f32) -> Vec<f32> {
    map_chunks(x, Some(dy), |v, g| if v < 0.0 { g * slope } else { g })
}

fn map_chunks(x: &[f32], other: Option<&[f32]>, f: impl Fn(f32, f32) -> f32 + Sync + Send) -> Vec<f32> {
    let len = x.len();
    let mut out: Vec<f32> = Vec::with_capacity(len);
    let dst = OutPtr(out.as_mut_ptr());
    let blocks = if len < 1 << 16 { 1 } else { threads() };
    let size = len.div_ceil(blocks.max(1));
    for_each_index(blocks, |b| {
        let range = (b * size).min(len)..((b + 1) * size).min(len);
        // SAFETY: each block writes its own range of the output.
        let out = unsafe { std::slice::from_raw_parts_mut(dst.at(range.start), range.len()) };
        match other {
            Some(other) => {
                for ((o, &v), &g) in out.iter_mut().zip(&x[range.clone()]).zip(&other[range.clone()]) {
                    *o = f(v, g);
                }
            }
            None => {
                for (o, &v) in out.iter_mut().zip(&x[range.clone()]) {
                    *o = f(v, 0.0);
                }
            }
        }
    });
    // SAFETY: the blocks cover the whole output.
    unsafe { out.set_len(len) };
    out
}
