//! Batch normalization with batch statistics fused with the activation that follows it, and a
//! leaky ReLU, forward and backward, on `[batch, channels, spatial…]` f32 buffers.
//!
//! Written here because burn composes both from a dozen whole-tensor operations (transposed
//! copies for the per-channel statistics, masks, products), each a pass over memory on one
//! thread; these are two passes forward and two backward, split over the threads by channels.

use super::gemm::{OutPtr, for_each_index, threads};
use super::simd::{Vectorizable, vectorize};

/// The activation after a batch norm: `x` for `x > 0`, `slope · x` otherwise (slope 0: a ReLU,
/// 1: the identity). Branch-free, so that the loops over it vectorize; `+ 0.0` turns a ReLU's
/// `-0.0` into `0.0`.
#[inline(always)]
fn activate(x: f32, slope: f32) -> f32 {
    if x > 0.0 { x } else { x * slope + 0.0 }
}

/// The activation's derivative: 1 for `x > 0`, `slope` otherwise (at 0 a ReLU's is 0, as
/// burn's).
#[inline(always)]
fn derivative(x: f32, slope: f32) -> f32 {
    if x > 0.0 { 1.0 } else { slope }
}

/// The kernels' slope of an optional activation (`None`: the identity).
fn slope_of(slope: Option<f32>) -> f32 {
    slope.unwrap_or(1.0)
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

    /// The start of example `b`'s run of channel `c`.
    fn start(&self, b: usize, c: usize) -> usize {
        (b * self.channels + c) * self.spatial
    }
}

/// Splits the channels into one contiguous block per thread and runs `f` on each block.
fn channel_blocks(channels: usize, f: impl Fn(std::ops::Range<usize>) + Sync + Send) {
    let blocks = threads().min(channels).max(1);
    let size = channels.div_ceil(blocks);
    for_each_index(blocks, |b| f(b * size..((b + 1) * size).min(channels)));
}

/// `Σ f(xᵢ)` in sixteen independent f32 lanes (which vectorize), added up in f64.
#[inline(always)]
fn lane_sum(xs: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    let mut lanes = [0.0f32; 16];
    let chunks = xs.chunks_exact(16);
    let tail: f64 = chunks.remainder().iter().map(|&v| f(v) as f64).sum();
    for chunk in chunks {
        for i in 0..16 {
            lanes[i] += f(chunk[i]);
        }
    }
    lanes.iter().map(|&v| v as f64).sum::<f64>() + tail
}

/// `Σ f(xᵢ, yᵢ)` in sixteen f32 lanes, added up in f64.
#[inline(always)]
fn lane_sum2(xs: &[f32], ys: &[f32], f: impl Fn(f32, f32) -> f32) -> f64 {
    let mut lanes = [0.0f32; 16];
    let (cx, cy) = (xs.chunks_exact(16), ys.chunks_exact(16));
    let tail: f64 = cx.remainder().iter().zip(cy.remainder()).map(|(&x, &y)| f(x, y) as f64).sum();
    for (x, y) in cx.zip(cy) {
        for i in 0..16 {
            lanes[i] += f(x[i], y[i]);
        }
    }
    lanes.iter().map(|&v| v as f64).sum::<f64>() + tail
}

/// Per-channel sums `Σ f(x)` (and `Σ g(x, y)`) over all examples, for the channels of a block.
/// With one element per channel (a dense layer's `[batch, channels]`), the loop runs along each
/// row instead, across the channels.
#[inline(always)]
fn channel_sums(
    layout: Layout,
    channels: &std::ops::Range<usize>,
    x: &[f32],
    f: impl Fn(usize, f32) -> f32,
) -> Vec<f64> {
    let mut sums = vec![0.0f64; channels.len()];
    for b in 0..layout.batch {
        if layout.spatial == 1 {
            let row = &x[layout.start(b, channels.start)..][..channels.len()];
            for ((s, &v), c) in sums.iter_mut().zip(row).zip(channels.clone()) {
                *s += f(c, v) as f64;
            }
        } else {
            for c in channels.clone() {
                sums[c - channels.start] += lane_sum(&x[layout.start(b, c)..][..layout.spatial], |v| f(c, v));
            }
        }
    }
    sums
}

/// `act(γ · (x − mean) / sqrt(var + ε) + β)` with the batch's own statistics (mean, then the
/// biased variance around it); returns the output, the mean and the variance.
pub(super) fn batch_norm_forward(
    x: &[f32],
    layout: Layout,
    gamma: &[f32],
    beta: &[f32],
    epsilon: f64,
    slope: Option<f32>,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (c_all, slope) = (layout.channels, slope_of(slope));
    let mut mean = vec![0.0f32; c_all];
    let mut var = vec![0.0f32; c_all];
    let mut out: Vec<f32> = Vec::with_capacity(x.len());
    let (mean_ptr, var_ptr, dst) = (OutPtr(mean.as_mut_ptr()), OutPtr(var.as_mut_ptr()), OutPtr(out.as_mut_ptr()));
    let count = layout.count() as f64;
    channel_blocks(c_all, |channels| {
        vectorize(ForwardChannels { x, layout, gamma, beta, epsilon, slope, count, channels, mean_ptr, var_ptr, dst })
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
    let (c_all, slope) = (layout.channels, slope_of(slope));
    let mut gamma_grad = vec![0.0f32; c_all];
    let mut beta_grad = vec![0.0f32; c_all];
    let mut dx: Vec<f32> = Vec::with_capacity(x.len());
    let (gg, bg, dst) = (OutPtr(gamma_grad.as_mut_ptr()), OutPtr(beta_grad.as_mut_ptr()), OutPtr(dx.as_mut_ptr()));
    let count = layout.count() as f64;
    channel_blocks(c_all, |channels| {
        vectorize(BackwardChannels {
            x,
            dy,
            layout,
            gamma,
            beta,
            mean,
            var,
            epsilon,
            slope,
            count,
            channels,
            gg,
            bg,
            dst,
        })
    });
    // SAFETY: the blocks wrote every channel's runs.
    unsafe { dx.set_len(x.len()) };
    (dx, gamma_grad, beta_grad)
}

/// `x[b, c, …] + bias[c]`, split over the threads by channels.
pub(super) fn bias_forward(x: &[f32], layout: Layout, bias: &[f32]) -> Vec<f32> {
    let mut out: Vec<f32> = Vec::with_capacity(x.len());
    let dst = OutPtr(out.as_mut_ptr());
    channel_blocks(layout.channels, |channels| {
        for b in 0..layout.batch {
            let start = layout.start(b, channels.start);
            let len = channels.len() * layout.spatial;
            // SAFETY: this block's channels of example `b` are written by this thread only.
            let out = unsafe { std::slice::from_raw_parts_mut(dst.at(start), len) };
            let rows = out.chunks_exact_mut(layout.spatial).zip(x[start..start + len].chunks_exact(layout.spatial));
            for ((o, v), c) in rows.zip(channels.clone()) {
                let k = bias[c];
                o.iter_mut().zip(v).for_each(|(o, &v)| *o = v + k);
            }
        }
    });
    // SAFETY: the blocks wrote every channel's runs.
    unsafe { out.set_len(x.len()) };
    out
}

/// The bias's gradient: the per-channel sum of the output gradient.
pub(super) fn bias_backward(grad: &[f32], layout: Layout) -> Vec<f32> {
    let mut sums = vec![0.0f32; layout.channels];
    let dst = OutPtr(sums.as_mut_ptr());
    channel_blocks(layout.channels, |channels| {
        for (i, s) in channel_sums(layout, &channels, grad, |_, v| v).into_iter().enumerate() {
            // SAFETY: each block owns the sums of its own channels.
            unsafe { *dst.at(channels.start + i) = s as f32 };
        }
    });
    sums
}

/// A leaky ReLU (`x` for `x ≥ 0`, `slope · x` below) over a whole buffer, split over threads.
pub(super) fn leaky_relu_forward(x: &[f32], slope: f32) -> Vec<f32> {
    map_chunks(x, None, |v, _| if v < 0.0 { v * slope } else { v })
}

/// The leaky ReLU's input gradient: `dy` where `x ≥ 0`, `slope · dy` below (burn's rule).
pub(super) fn leaky_relu_backward(x: &[f32], dy: &[f32], slope: f32) -> Vec<f32> {
    map_chunks(x, Some(dy), |v, g| if v < 0.0 { g * slope } else { g })
}

/// `g` where `x > 0`, `slope · g` where `x ≤ 0`: a (leaky) ReLU's input gradient as exact
/// gradient penalties write it, with the mask from the input.
pub(super) fn scale_nonpositive(g: &[f32], x: &[f32], slope: f32) -> Vec<f32> {
    map_chunks(x, Some(g), |v, g| if v <= 0.0 { g * slope } else { g })
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
        vectorize(MapRange { out, x: &x[range.clone()], other: other.map(|other| &other[range]), f: &f });
    });
    // SAFETY: the blocks cover the whole output.
    unsafe { out.set_len(len) };
    out
}

/// [`batch_norm_forward`] for one block of channels.
struct ForwardChannels<'a> {
    x: &'a [f32],
    layout: Layout,
    gamma: &'a [f32],
    beta: &'a [f32],
    epsilon: f64,
    slope: f32,
    count: f64,
    channels: std::ops::Range<usize>,
    mean_ptr: OutPtr,
    var_ptr: OutPtr,
    dst: OutPtr,
}

impl Vectorizable for ForwardChannels<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let ForwardChannels { x, layout, gamma, beta, epsilon, slope, count, channels, mean_ptr, var_ptr, dst } = self;
        let first = channels.start;
        let means: Vec<f32> = channel_sums(layout, &channels, x, |_, v| v).iter().map(|s| (s / count) as f32).collect();
        let vars: Vec<f32> = channel_sums(layout, &channels, x, |c, v| (v - means[c - first]) * (v - means[c - first]))
            .iter()
            .map(|s| (s / count) as f32)
            .collect();
        let scale: Vec<f32> =
            channels.clone().map(|c| gamma[c] / ((vars[c - first] as f64 + epsilon).sqrt() as f32)).collect();
        let shift: Vec<f32> = channels.clone().map(|c| beta[c] - means[c - first] * scale[c - first]).collect();
        for b in 0..layout.batch {
            let start = layout.start(b, first);
            let len = channels.len() * layout.spatial;
            // SAFETY: this block's channels of example `b` are written by this thread only.
            let out = unsafe { std::slice::from_raw_parts_mut(dst.at(start), len) };
            let src = &x[start..start + len];
            for (i, (o, v)) in out.chunks_exact_mut(layout.spatial).zip(src.chunks_exact(layout.spatial)).enumerate() {
                let (k, s) = (scale[i], shift[i]);
                for (o, &v) in o.iter_mut().zip(v) {
                    *o = activate(v * k + s, slope);
                }
            }
        }
        // SAFETY: each block owns the statistics of its own channels.
        unsafe {
            std::slice::from_raw_parts_mut(mean_ptr.at(first), channels.len()).copy_from_slice(&means);
            std::slice::from_raw_parts_mut(var_ptr.at(first), channels.len()).copy_from_slice(&vars);
        }
    }
}

/// [`batch_norm_backward`] for one block of channels.
struct BackwardChannels<'a> {
    x: &'a [f32],
    dy: &'a [f32],
    layout: Layout,
    gamma: &'a [f32],
    beta: &'a [f32],
    mean: &'a [f32],
    var: &'a [f32],
    epsilon: f64,
    slope: f32,
    count: f64,
    channels: std::ops::Range<usize>,
    gg: OutPtr,
    bg: OutPtr,
    dst: OutPtr,
}

impl Vectorizable for BackwardChannels<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let BackwardChannels { x, dy, layout, gamma, beta, mean, var, epsilon, slope, count, channels, gg, bg, dst } =
            self;
        let first = channels.start;
        let n = channels.len();
        let inv_std: Vec<f32> = channels.clone().map(|c| 1.0 / ((var[c] as f64 + epsilon).sqrt() as f32)).collect();
        // The gradient at the normalization's output, through the activation, and its sums.
        let (mut sum_g, mut sum_gx) = (vec![0.0f64; n], vec![0.0f64; n]);
        for b in 0..layout.batch {
            let start = layout.start(b, first);
            let len = n * layout.spatial;
            let (xs, gs) = (&x[start..start + len], &dy[start..start + len]);
            for (i, (xr, gr)) in xs.chunks_exact(layout.spatial).zip(gs.chunks_exact(layout.spatial)).enumerate() {
                let c = first + i;
                let (m, s, k, o) = (mean[c], inv_std[i], gamma[c], beta[c]);
                sum_g[i] += lane_sum2(xr, gr, |v, g| g * derivative(k * ((v - m) * s) + o, slope));
                sum_gx[i] += lane_sum2(xr, gr, |v, g| {
                    let normalized = (v - m) * s;
                    g * derivative(k * normalized + o, slope) * normalized
                });
            }
        }
        for (i, c) in channels.clone().enumerate() {
            // SAFETY: each block owns the parameter gradients of its own channels.
            unsafe {
                *gg.at(c) = sum_gx[i] as f32;
                *bg.at(c) = sum_g[i] as f32;
            }
        }
        for b in 0..layout.batch {
            let start = layout.start(b, first);
            let len = n * layout.spatial;
            // SAFETY: this block's channels of example `b` are written by this thread only.
            let out = unsafe { std::slice::from_raw_parts_mut(dst.at(start), len) };
            let (xs, gs) = (&x[start..start + len], &dy[start..start + len]);
            let rows = out
                .chunks_exact_mut(layout.spatial)
                .zip(xs.chunks_exact(layout.spatial))
                .zip(gs.chunks_exact(layout.spatial));
            for (i, ((or, xr), gr)) in rows.enumerate() {
                let c = first + i;
                let (m, s, k, o) = (mean[c], inv_std[i], gamma[c], beta[c]);
                let (mean_g, mean_gx) = ((sum_g[i] / count) as f32, (sum_gx[i] / count) as f32);
                let scale = k * s;
                for ((out, &v), &g) in or.iter_mut().zip(xr).zip(gr) {
                    let normalized = (v - m) * s;
                    let g = g * derivative(k * normalized + o, slope);
                    *out = scale * (g - mean_g - normalized * mean_gx);
                }
            }
        }
    }
}

/// [`map_chunks`] for one range.
struct MapRange<'a, F> {
    out: &'a mut [f32],
    x: &'a [f32],
    other: Option<&'a [f32]>,
    f: &'a F,
}

impl<F: Fn(f32, f32) -> f32> Vectorizable for MapRange<'_, F> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let MapRange { out, x, other, f } = self;
        match other {
            Some(other) => {
                for ((o, &v), &g) in out.iter_mut().zip(x).zip(other) {
                    *o = f(v, g);
                }
            }
            None => {
                for (o, &v) in out.iter_mut().zip(x) {
                    *o = f(v, 0.0);
                }
            }
        }
    }
}
