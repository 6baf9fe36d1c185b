//! The kernel (KID) distance: TF-GAN's `kernel_classifier_distance_and_std_from_activations`
//! and `kernel_classifier_distance_from_activations` with their block estimator.
//!
//! Each block's kernel sums come from Gram matrices of its rows (faer's blocked, multi-threaded
//! matrix products, see `linalg`): at 2048 features and blocks of 1024 that is three products of
//! about 4 GFLOP each per block, which a scalar loop over pairs of rows ran at a small fraction of
//! the machine's speed.

use burn::prelude::*;

use super::{MatrixRef, host, linalg, same_features};
use crate::error::{Result, RganError};

/// TF-GAN's default `max_block_size`.
pub const DEFAULT_MAX_BLOCK_SIZE: usize = 1024;

/// The block boundaries of a set of `n` samples cut into `n_blocks` contiguous blocks of size
/// `n / n_blocks`, the **last** `n % n_blocks` blocks one larger.
fn block_bounds(n: usize, n_blocks: usize) -> Vec<usize> {
    let (v, plus_one) = (n / n_blocks, n % n_blocks);
    let mut bounds = vec![0];
    for b in 0..n_blocks {
        let size = if b >= n_blocks - plus_one { v + 1 } else { v };
        bounds.push(bounds[b] + size);
    }
    bounds
}

/// The polynomial kernel `(x.y / d + 1)^3` of a dot product `x.y`.
fn kernel(dot: f64, d: f64) -> f64 {
    (dot / d + 1.0).powi(3)
}

/// The rows `rows` of `m`, as a faer view.
fn block(m: MatrixRef<'_>, rows: std::ops::Range<usize>) -> faer::MatRef<'_, f64> {
    let d = m.cols();
    faer::MatRef::from_row_major_slice(&m.data()[rows.start * d..rows.end * d], rows.len(), d)
}

/// `Σ_ij k(x_i, y_j)` over the rows of `x` and `y`.
fn kernel_sum(x: faer::MatRef<'_, f64>, y: faer::MatRef<'_, f64>, d: f64) -> f64 {
    let g = linalg::gram(x, y, false);
    (0..g.ncols()).map(|j| g.col(j).iter().map(|&v| kernel(v, d)).sum::<f64>()).sum()
}

/// `Σ_{i≠j} k(x_i, x_j)`, TF-GAN's "sum minus trace" of `K_xx`: twice the sum below the diagonal
/// (the kernel is symmetric), from half a Gram matrix.
fn kernel_off_diagonal_sum(x: faer::MatRef<'_, f64>, d: f64) -> f64 {
    let g = linalg::gram(x, x, true);
    2.0 * (0..g.ncols()).map(|j| g.col(j).iter().skip(j + 1).map(|&v| kernel(v, d)).sum::<f64>()).sum::<f64>()
}

/// [`kernel_classifier_distance_and_std_from_activations`] on host matrices.
///
/// ```
/// use rgan::eval::*;
/// let a = [0.0, 1.0, 1.0, 0.0, 2.0, 2.0, 1.0, 1.0];
/// let a = MatrixRef::new("activations1", &a, 4, 2).unwrap();
/// let (d, std) = kernel_classifier_distance_and_std_from_activations_f64(a, a, 2).unwrap();
/// assert!(d.is_finite() && std.is_finite());
/// ```
pub fn kernel_classifier_distance_and_std_from_activations_f64(
    activations1: MatrixRef,
    activations2: MatrixRef,
    max_block_size: usize,
) -> Result<(f64, f64)> {
    same_features("activations1", activations1, "activations2", activations2)?;
    if max_block_size == 0 {
        return Err(RganError::invalid("max_block_size", "must be at least 1"));
    }
    let (n_r, n_g) = (activations1.rows(), activations2.rows());
    let n_blocks = n_r.max(n_g).div_ceil(max_block_size).max(1);
    for (name, a, n) in [("activations1", activations1, n_r), ("activations2", activations2, n_g)] {
        if n < 2 * n_blocks {
            return Err(RganError::shape(
                name,
                &a.shape(),
                format!(
                    "but the kernel distance cuts both sets into {n_blocks} blocks (max_block_size \
                     {max_block_size}) and each block needs at least 2 samples"
                ),
            ));
        }
    }
    let d = activations1.cols() as f64;
    let (bounds_r, bounds_g) = (block_bounds(n_r, n_blocks), block_bounds(n_g, n_blocks));
    let mut estimates = Vec::with_capacity(n_blocks);
    for b in 0..n_blocks {
        let r = block(activations1, bounds_r[b]..bounds_r[b + 1]);
        let g = block(activations2, bounds_g[b]..bounds_g[b + 1]);
        let (m, n) = (r.nrows() as f64, g.nrows() as f64);
        let k_rg = kernel_sum(r, g, d);
        let est = -2.0 * (k_rg / (m * n))
            + kernel_off_diagonal_sum(r, d) / (m * (m - 1.0))
            + kernel_off_diagonal_sum(g, d) / (n * (n - 1.0));
        estimates.push(est);
    }
    let k = n_blocks as f64;
    let mean = estimates.iter().sum::<f64>() / k;
    let var = estimates.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (k - 1.0);
    let std = if n_blocks == 1 { f64::NAN } else { (var / k).sqrt() };
    Ok((mean, std))
}

/// TF-GAN's `kernel_classifier_distance_and_std_from_activations(activations1, activations2,
/// max_block_size=1024)`: the unbiased MMD² with the polynomial kernel `k(x,y) = (x.y/d + 1)^3`
/// (Bińkowski et al. 2018), by TF-GAN's block estimator, in f64.
///
/// `n_blocks = ceil(max(n1, n2) / max_block_size)`; each set is cut in order into `n_blocks`
/// contiguous blocks of size `n / n_blocks`, the last `n % n_blocks` one larger. Per block,
/// `est = -2 mean(K_rg) + (sum K_rr - tr K_rr)/(m(m-1)) + (sum K_gg - tr K_gg)/(n(n-1))`. Returns
/// `(mean of the estimates, sqrt(var_bessel / n_blocks))`; the std is NaN with a single block.
/// Every block needs at least 2 samples of each set. (TF-GAN's `dtype` argument only casts the
/// inputs; rgan always computes in f64.)
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// let a = Tensor::<2>::from_floats([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [1.0, 1.0]], &device);
/// let b = a.clone().add_scalar(3.0);
/// let (d, std) = rgan::eval::kernel_classifier_distance_and_std_from_activations(&a, &b, 1024).unwrap();
/// assert!(d > 0.0 && std.is_nan()); // one block: no std
/// let (_, std) = rgan::eval::kernel_classifier_distance_and_std_from_activations(&a, &b, 2).unwrap();
/// assert!(std.is_finite());
/// ```
pub fn kernel_classifier_distance_and_std_from_activations(
    activations1: &Tensor<2>,
    activations2: &Tensor<2>,
    max_block_size: usize,
) -> Result<(f64, f64)> {
    kernel_classifier_distance_and_std_from_activations_f64(
        host(activations1, "activations1")?.view(),
        host(activations2, "activations2")?.view(),
        max_block_size,
    )
}

/// [`kernel_classifier_distance_from_activations`] on host matrices.
///
/// ```
/// use rgan::eval::*;
/// let a = MatrixRef::new("activations1", &[0.0, 1.0, 2.0], 3, 1).unwrap();
/// let b = MatrixRef::new("activations2", &[5.0, 6.0, 7.0], 3, 1).unwrap();
/// assert!(kernel_classifier_distance_from_activations_f64(a, b, DEFAULT_MAX_BLOCK_SIZE).unwrap() > 0.0);
/// ```
pub fn kernel_classifier_distance_from_activations_f64(
    activations1: MatrixRef,
    activations2: MatrixRef,
    max_block_size: usize,
) -> Result<f64> {
    Ok(kernel_classifier_distance_and_std_from_activations_f64(activations1, activations2, max_block_size)?.0)
}

/// TF-GAN's `kernel_classifier_distance_from_activations`: the distance of
/// [`kernel_classifier_distance_and_std_from_activations`] without the std.
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// let a = Tensor::<2>::from_floats([[0.0], [1.0], [2.0]], &device);
/// let b = a.clone().add_scalar(5.0);
/// let same = rgan::eval::kernel_classifier_distance_from_activations(&a, &a, 1024).unwrap();
/// let far = rgan::eval::kernel_classifier_distance_from_activations(&a, &b, 1024).unwrap();
/// // The unbiased estimate can be negative for small samples; farther sets score higher.
/// assert!(far > same);
/// ```
pub fn kernel_classifier_distance_from_activations(
    activations1: &Tensor<2>,
    activations2: &Tensor<2>,
    max_block_size: usize,
) -> Result<f64> {
    Ok(kernel_classifier_distance_and_std_from_activations(activations1, activations2, max_block_size)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// TF-GAN's block estimator with the kernel of each pair of rows computed one dot product at
    /// a time (rgan's implementation before the Gram matrices).
    fn reference(x: MatrixRef, y: MatrixRef, max_block_size: usize) -> (f64, f64) {
        let d = x.cols() as f64;
        let k = |a: &[f64], b: &[f64]| (a.iter().zip(b).map(|(a, b)| a * b).sum::<f64>() / d + 1.0).powi(3);
        let n_blocks = x.rows().max(y.rows()).div_ceil(max_block_size);
        let (br, bg) = (block_bounds(x.rows(), n_blocks), block_bounds(y.rows(), n_blocks));
        let estimates: Vec<f64> = (0..n_blocks)
            .map(|b| {
                let r: Vec<&[f64]> = (br[b]..br[b + 1]).map(|i| x.row(i)).collect();
                let g: Vec<&[f64]> = (bg[b]..bg[b + 1]).map(|i| y.row(i)).collect();
                let (m, n) = (r.len() as f64, g.len() as f64);
                let whole = |s: &[&[f64]], t: &[&[f64]]| s.iter().flat_map(|a| t.iter().map(|b| k(a, b))).sum::<f64>();
                let trace = |s: &[&[f64]]| s.iter().map(|a| k(a, a)).sum::<f64>();
                -2.0 * whole(&r, &g) / (m * n)
                    + (whole(&r, &r) - trace(&r)) / (m * (m - 1.0))
                    + (whole(&g, &g) - trace(&g)) / (n * (n - 1.0))
            })
            .collect();
        let kb = n_blocks as f64;
        let mean = estimates.iter().sum::<f64>() / kb;
        let var = estimates.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (kb - 1.0);
        (mean, (var / kb).sqrt())
    }

    #[test]
    fn the_distance_matches_the_pairwise_computation_at_64_features() {
        let d = 64;
        let mut rng = Rng::seed_from_u64(21);
        let mut set = |n: usize, shift: f64| -> Vec<f64> {
            (0..n * d).map(|i| (rng.next_normal() + shift * (i % 3) as f64).max(0.0)).collect()
        };
        let (x, y) = (set(300, 0.0), set(250, 0.2));
        let (x, y) =
            (MatrixRef::new("activations1", &x, 300, d).unwrap(), MatrixRef::new("activations2", &y, 250, d).unwrap());
        // 3 blocks of 100 and 83-84 rows.
        let (got, got_std) = kernel_classifier_distance_and_std_from_activations_f64(x, y, 100).unwrap();
        let (expected, expected_std) = reference(x, y, 100);
        assert!(expected > 1e-3, "{expected}");
        assert!((got - expected).abs() <= 1e-10 * expected, "{got} vs {expected}");
        assert!((got_std - expected_std).abs() <= 1e-8 * expected_std, "{got_std} vs {expected_std}");
    }
}
