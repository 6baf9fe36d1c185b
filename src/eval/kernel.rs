//! The kernel (KID) distance: TF-GAN's `kernel_classifier_distance_and_std_from_activations`
//! and `kernel_classifier_distance_from_activations` with their block estimator.

use burn::prelude::*;

use super::{MatrixRef, host, same_features};
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

/// The polynomial kernel `(x.y / d + 1)^3`.
fn kernel(x: &[f64], y: &[f64], d: f64) -> f64 {
    let dot: f64 = x.iter().zip(y).map(|(a, b)| a * b).sum();
    (dot / d + 1.0).powi(3)
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
        let r: Vec<&[f64]> = (bounds_r[b]..bounds_r[b + 1]).map(|i| activations1.row(i)).collect();
        let g: Vec<&[f64]> = (bounds_g[b]..bounds_g[b + 1]).map(|i| activations2.row(i)).collect();
        let (m, n) = (r.len() as f64, g.len() as f64);
        let off_diagonal = |set: &[&[f64]]| -> f64 {
            // As TF-GAN: the whole sum minus the trace.
            let (mut sum, mut trace) = (0.0, 0.0);
            for (i, x) in set.iter().enumerate() {
                for (j, y) in set.iter().enumerate() {
                    let k = kernel(x, y, d);
                    sum += k;
                    if i == j {
                        trace += k;
                    }
                }
            }
            sum - trace
        };
        let mut k_rg = 0.0;
        for x in &r {
            for y in &g {
                k_rg += kernel(x, y, d);
            }
        }
        let est = -2.0 * (k_rg / (m * n)) + off_diagonal(&r) / (m * (m - 1.0)) + off_diagonal(&g) / (n * (n - 1.0));
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
