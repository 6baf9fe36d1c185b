//! The Fréchet (classifier / Inception) distance: TF-GAN's
//! `frechet_classifier_distance_from_activations`, its diagonal-only and mean-only variants,
//! `trace_sqrt_product`, and a streaming accumulator.

use burn::prelude::*;
use nalgebra::DMatrix;

use super::{MatrixRef, host, linalg, min_rows, same_features};
use crate::error::{Result, RganError};

/// The mean and the sum of centred outer products (`M2`) of a set of activations, accumulated
/// batch by batch with Chan et al.'s parallel update (numerically stable in f64).
///
/// ```
/// use rgan::eval::{ActivationMoments, MatrixRef};
/// let mut m = ActivationMoments::new();
/// m.update_f64(MatrixRef::new("activations", &[0.0, 0.0, 2.0, 4.0], 2, 2).unwrap()).unwrap();
/// assert_eq!(m.mean(), &[1.0, 2.0]);
/// assert_eq!(m.covariance().unwrap(), vec![2.0, 4.0, 4.0, 8.0]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ActivationMoments {
    count: usize,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl ActivationMoments {
    /// No samples yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The moments of one set of activations `[n, d]`.
    ///
    /// ```
    /// let a = [1.0, 3.0];
    /// let m = rgan::eval::ActivationMoments::from_f64(rgan::eval::MatrixRef::new("a", &a, 2, 1).unwrap()).unwrap();
    /// assert_eq!((m.count(), m.mean()[0]), (2, 2.0));
    /// ```
    pub fn from_f64(activations: MatrixRef) -> Result<Self> {
        let mut m = Self::new();
        m.update_f64(activations)?;
        Ok(m)
    }

    /// Adds a batch `[n, d]` of activations (a tensor of any float dtype).
    ///
    /// ```
    /// use burn::prelude::*;
    /// let mut m = rgan::eval::ActivationMoments::new();
    /// m.update(&Tensor::<2>::from_floats([[1.0], [3.0]], &Device::default())).unwrap();
    /// assert_eq!(m.mean(), &[2.0]);
    /// ```
    pub fn update(&mut self, activations: &Tensor<2>) -> Result<()> {
        self.update_f64(host(activations, "activations")?.view())
    }

    /// Adds a batch of activations from a host matrix.
    ///
    /// ```
    /// let mut m = rgan::eval::ActivationMoments::new();
    /// m.update_f64(rgan::eval::MatrixRef::new("a", &[1.0, 2.0], 1, 2).unwrap()).unwrap();
    /// assert!(m.update_f64(rgan::eval::MatrixRef::new("a", &[1.0, 2.0, 3.0], 1, 3).unwrap()).is_err());
    /// ```
    pub fn update_f64(&mut self, activations: MatrixRef) -> Result<()> {
        let (n, d) = (activations.rows(), activations.cols());
        if n == 0 {
            return Ok(());
        }
        if d == 0 {
            return Err(RganError::shape("activations", &activations.shape(), "but at least one feature is needed"));
        }
        if self.count > 0 && d != self.mean.len() {
            return Err(RganError::shape(
                "activations",
                &activations.shape(),
                format!("but earlier batches had {} features", self.mean.len()),
            ));
        }
        // The batch's own mean and M2.
        let mut mean_b = vec![0.0; d];
        for i in 0..n {
            for (m, x) in mean_b.iter_mut().zip(activations.row(i)) {
                *m += x;
            }
        }
        mean_b.iter_mut().for_each(|m| *m /= n as f64);
        let mut m2_b = vec![0.0; d * d];
        let mut centred = vec![0.0; d];
        for i in 0..n {
            for ((c, x), m) in centred.iter_mut().zip(activations.row(i)).zip(&mean_b) {
                *c = x - m;
            }
            for a in 0..d {
                let ca = centred[a];
                let row = &mut m2_b[a * d..(a + 1) * d];
                for (r, cb) in row.iter_mut().zip(&centred) {
                    *r += ca * cb;
                }
            }
        }
        if self.count == 0 {
            self.count = n;
            self.mean = mean_b;
            self.m2 = m2_b;
            return Ok(());
        }
        // Chan et al.: merge (count, mean, M2) with (n, mean_b, M2_b).
        let (na, nb) = (self.count as f64, n as f64);
        let total = na + nb;
        let delta: Vec<f64> = mean_b.iter().zip(&self.mean).map(|(b, a)| b - a).collect();
        let factor = na * nb / total;
        for a in 0..d {
            for b in 0..d {
                self.m2[a * d + b] += m2_b[a * d + b] + delta[a] * delta[b] * factor;
            }
        }
        for (m, dl) in self.mean.iter_mut().zip(&delta) {
            *m += dl * nb / total;
        }
        self.count += n;
        Ok(())
    }

    /// The number of samples so far.
    ///
    /// ```
    /// assert_eq!(rgan::eval::ActivationMoments::new().count(), 0);
    /// ```
    pub fn count(&self) -> usize {
        self.count
    }

    /// The mean activation (empty before the first sample).
    ///
    /// ```
    /// assert!(rgan::eval::ActivationMoments::new().mean().is_empty());
    /// ```
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// The unbiased (`n - 1`) covariance `[d, d]`, row-major; an error with fewer than 2 samples.
    ///
    /// ```
    /// assert!(rgan::eval::ActivationMoments::new().covariance().is_err());
    /// ```
    pub fn covariance(&self) -> Result<Vec<f64>> {
        if self.count < 2 {
            return Err(RganError::invalid(
                "activations",
                format!("an unbiased covariance needs at least 2 samples, got {}", self.count),
            ));
        }
        let denom = (self.count - 1) as f64;
        Ok(self.m2.iter().map(|v| v / denom).collect())
    }

    /// The biased (`n`) per-feature variances, as `tf.nn.moments`.
    ///
    /// ```
    /// let m = rgan::eval::ActivationMoments::from_f64(rgan::eval::MatrixRef::new("a", &[1.0, 3.0], 2, 1).unwrap()).unwrap();
    /// assert_eq!(m.biased_variances(), vec![1.0]);
    /// ```
    pub fn biased_variances(&self) -> Vec<f64> {
        let d = self.mean.len();
        (0..d).map(|i| self.m2[i * d + i] / self.count as f64).collect()
    }
}

fn squared_mean_difference(m1: &[f64], m2: &[f64]) -> f64 {
    m1.iter().zip(m2).map(|(a, b)| (a - b).powi(2)).sum()
}

/// The Fréchet distance between two Gaussians given by their means and (unbiased) covariances
/// (`[d, d]` row-major): `|m1-m2|^2 + tr(S1) + tr(S2) - 2 tr(sqrt(S1 S2))`, with the trace term
/// as [`trace_sqrt_product_f64`].
///
/// ```
/// // Same covariance, means 3 apart: the distance is 9.
/// let s = [1.0, 0.0, 0.0, 1.0];
/// let s = rgan::eval::MatrixRef::new("sigma", &s, 2, 2).unwrap();
/// let d = rgan::eval::frechet_distance_from_moments(&[0.0, 0.0], s, &[3.0, 0.0], s).unwrap();
/// assert!((d - 9.0).abs() < 1e-12);
/// ```
pub fn frechet_distance_from_moments(
    mean1: &[f64],
    sigma1: MatrixRef,
    mean2: &[f64],
    sigma2: MatrixRef,
) -> Result<f64> {
    let d = mean1.len();
    if mean2.len() != d {
        return Err(RganError::shape("mean2", &[mean2.len()], format!("but `mean1` has shape [{d}]")));
    }
    for (name, s) in [("sigma1", sigma1), ("sigma2", sigma2)] {
        if s.shape() != [d, d] {
            return Err(RganError::shape(name, &s.shape(), format!("but the means have shape [{d}]")));
        }
    }
    let s1 = DMatrix::from_row_slice(d, d, sigma1.data());
    let s2 = DMatrix::from_row_slice(d, d, sigma2.data());
    let sqrt_trace = linalg::trace_sqrt_product(&s1, &s2);
    let trace = (&s1 + &s2).trace() - 2.0 * sqrt_trace;
    Ok(trace + squared_mean_difference(mean1, mean2))
}

/// [`frechet_classifier_distance_from_activations`] on host matrices.
///
/// ```
/// use rgan::eval::*;
/// let a = [0.0, 1.0, 1.0, 0.0, 2.0, 2.0];
/// let a = MatrixRef::new("activations1", &a, 3, 2).unwrap();
/// assert!(frechet_classifier_distance_from_activations_f64(a, a).unwrap().abs() < 1e-9);
/// ```
pub fn frechet_classifier_distance_from_activations_f64(
    activations1: MatrixRef,
    activations2: MatrixRef,
) -> Result<f64> {
    same_features("activations1", activations1, "activations2", activations2)?;
    min_rows("activations1", activations1, 2, "an unbiased covariance")?;
    min_rows("activations2", activations2, 2, "an unbiased covariance")?;
    let m1 = ActivationMoments::from_f64(activations1)?;
    let m2 = ActivationMoments::from_f64(activations2)?;
    fd_of_moments(&m1, &m2)
}

fn fd_of_moments(m1: &ActivationMoments, m2: &ActivationMoments) -> Result<f64> {
    for (name, m) in [("activations1", m1), ("activations2", m2)] {
        if m.count() < 2 {
            return Err(RganError::invalid(
                name,
                format!("an unbiased covariance needs at least 2 samples, got {}", m.count()),
            ));
        }
    }
    let d = m1.mean().len();
    let (c1, c2) = (m1.covariance()?, m2.covariance()?);
    frechet_distance_from_moments(
        m1.mean(),
        MatrixRef::new("sigma1", &c1, d, d)?,
        m2.mean(),
        MatrixRef::new("sigma2", &c2, d, d)?,
    )
}

/// TF-GAN's `frechet_classifier_distance_from_activations(activations1, activations2)`: the
/// Fréchet distance between Gaussians fitted to two sets of activations `[n1, d]`, `[n2, d]`,
/// `|m1-m2|^2 + tr(S1) + tr(S2) - 2 tr(sqrt(S1 S2))`, with **unbiased** covariances and the trace
/// term computed as `tr(sqrtm(A S2 A))`, `A = sqrtm(S1)`, each `sqrtm` by SVD (singular values
/// below 1e-10 left un-rooted), all in f64. Each set needs at least 2 samples.
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// let a = Tensor::<2>::from_floats([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]], &device);
/// let b = a.clone().add_scalar(1.0); // shifted by (1, 1): FD = 2
/// let fd = rgan::eval::frechet_classifier_distance_from_activations(&a, &b).unwrap();
/// assert!((fd - 2.0).abs() < 1e-9);
/// ```
pub fn frechet_classifier_distance_from_activations(activations1: &Tensor<2>, activations2: &Tensor<2>) -> Result<f64> {
    frechet_classifier_distance_from_activations_f64(
        host(activations1, "activations1")?.view(),
        host(activations2, "activations2")?.view(),
    )
}

/// [`diagonal_only_frechet_classifier_distance_from_activations`] on host matrices.
///
/// ```
/// use rgan::eval::*;
/// let a = MatrixRef::new("activations1", &[0.0, 2.0], 2, 1).unwrap(); // mean 1, variance 1
/// let b = MatrixRef::new("activations2", &[0.0, 4.0], 2, 1).unwrap(); // mean 2, variance 4
/// let d = diagonal_only_frechet_classifier_distance_from_activations_f64(a, b).unwrap();
/// assert!((d - (1.0 + 1.0 + 4.0 - 4.0)).abs() < 1e-12);
/// ```
pub fn diagonal_only_frechet_classifier_distance_from_activations_f64(
    activations1: MatrixRef,
    activations2: MatrixRef,
) -> Result<f64> {
    same_features("activations1", activations1, "activations2", activations2)?;
    min_rows("activations1", activations1, 1, "a mean")?;
    min_rows("activations2", activations2, 1, "a mean")?;
    let m1 = ActivationMoments::from_f64(activations1)?;
    let m2 = ActivationMoments::from_f64(activations2)?;
    let (v1, v2) = (m1.biased_variances(), m2.biased_variances());
    let trace: f64 = v1.iter().zip(&v2).map(|(a, b)| a + b - 2.0 * (a * b).sqrt()).sum();
    Ok(trace + squared_mean_difference(m1.mean(), m2.mean()))
}

/// TF-GAN's `diagonal_only_frechet_classifier_distance_from_activations`: the Fréchet distance
/// with diagonal covariances, using the **biased** (`/n`) variances of `tf.nn.moments`:
/// `|m1-m2|^2 + sum(v1 + v2 - 2 sqrt(v1 v2))`. O(d) memory.
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// let a = Tensor::<2>::from_floats([[0.0], [2.0]], &device);
/// let d = rgan::eval::diagonal_only_frechet_classifier_distance_from_activations(&a, &a).unwrap();
/// assert!(d.abs() < 1e-12);
/// ```
pub fn diagonal_only_frechet_classifier_distance_from_activations(
    activations1: &Tensor<2>,
    activations2: &Tensor<2>,
) -> Result<f64> {
    diagonal_only_frechet_classifier_distance_from_activations_f64(
        host(activations1, "activations1")?.view(),
        host(activations2, "activations2")?.view(),
    )
}

/// [`mean_only_frechet_classifier_distance_from_activations`] on host matrices.
///
/// ```
/// use rgan::eval::*;
/// let a = MatrixRef::new("activations1", &[0.0, 0.0], 1, 2).unwrap();
/// let b = MatrixRef::new("activations2", &[3.0, 4.0], 1, 2).unwrap();
/// assert_eq!(mean_only_frechet_classifier_distance_from_activations_f64(a, b).unwrap(), 25.0);
/// ```
pub fn mean_only_frechet_classifier_distance_from_activations_f64(
    activations1: MatrixRef,
    activations2: MatrixRef,
) -> Result<f64> {
    same_features("activations1", activations1, "activations2", activations2)?;
    min_rows("activations1", activations1, 1, "a mean")?;
    min_rows("activations2", activations2, 1, "a mean")?;
    let mean = |a: MatrixRef| -> Vec<f64> {
        let mut m = vec![0.0; a.cols()];
        for i in 0..a.rows() {
            for (s, x) in m.iter_mut().zip(a.row(i)) {
                *s += x;
            }
        }
        m.iter().map(|s| s / a.rows() as f64).collect()
    };
    Ok(squared_mean_difference(&mean(activations1), &mean(activations2)))
}

/// TF-GAN's `mean_only_frechet_classifier_distance_from_activations`: `|m1 - m2|^2`.
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// let a = Tensor::<2>::from_floats([[0.0, 0.0], [2.0, 0.0]], &device);
/// let b = Tensor::<2>::from_floats([[1.0, 2.0]], &device);
/// let d = rgan::eval::mean_only_frechet_classifier_distance_from_activations(&a, &b).unwrap();
/// assert!((d - 4.0).abs() < 1e-12);
/// ```
pub fn mean_only_frechet_classifier_distance_from_activations(
    activations1: &Tensor<2>,
    activations2: &Tensor<2>,
) -> Result<f64> {
    mean_only_frechet_classifier_distance_from_activations_f64(
        host(activations1, "activations1")?.view(),
        host(activations2, "activations2")?.view(),
    )
}

/// [`trace_sqrt_product`] on host matrices `[d, d]`.
///
/// ```
/// use rgan::eval::*;
/// let s = [4.0, 0.0, 0.0, 9.0];
/// let s = MatrixRef::new("sigma", &s, 2, 2).unwrap();
/// // sqrt(S S) = S: trace 13.
/// assert!((trace_sqrt_product_f64(s, s).unwrap() - 13.0).abs() < 1e-12);
/// ```
pub fn trace_sqrt_product_f64(sigma: MatrixRef, sigma_v: MatrixRef) -> Result<f64> {
    let d = sigma.rows();
    if sigma.cols() != d || d == 0 {
        return Err(RganError::shape("sigma", &sigma.shape(), "but a non-empty square matrix is needed"));
    }
    if sigma_v.shape() != [d, d] {
        return Err(RganError::shape("sigma_v", &sigma_v.shape(), format!("but `sigma` has shape [{d}, {d}]")));
    }
    let s1 = DMatrix::from_row_slice(d, d, sigma.data());
    let s2 = DMatrix::from_row_slice(d, d, sigma_v.data());
    Ok(linalg::trace_sqrt_product(&s1, &s2))
}

/// TF-GAN's `trace_sqrt_product(sigma, sigma_v)`: `tr(sqrt(sigma sigma_v))` for symmetric
/// positive semi-definite matrices, computed as `tr(sqrtm(A sigma_v A))` with
/// `A = sqrtm(sigma)`, each square root by SVD (singular values below 1e-10 left un-rooted).
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// let s = Tensor::<2>::from_floats([[2.0, 0.0], [0.0, 8.0]], &device);
/// let i = Tensor::<2>::from_floats([[2.0, 0.0], [0.0, 2.0]], &device);
/// // sqrt(diag(4, 16)) = diag(2, 4): trace 6.
/// assert!((rgan::eval::trace_sqrt_product(&s, &i).unwrap() - 6.0).abs() < 1e-6);
/// ```
pub fn trace_sqrt_product(sigma: &Tensor<2>, sigma_v: &Tensor<2>) -> Result<f64> {
    trace_sqrt_product_f64(host(sigma, "sigma")?.view(), host(sigma_v, "sigma_v")?.view())
}

/// TF-GAN's `frechet_classifier_distance_streaming` on activations: feed pairs of batches with
/// [`update`](Self::update) (either may be empty), read the Fréchet distance over everything fed
/// with [`value`](Self::value). Means and covariances are accumulated in f64 with a stable
/// parallel update, so the value equals [`frechet_classifier_distance_from_activations`] on the
/// concatenated batches to about 1e-12 relative.
///
/// ```
/// use burn::prelude::*;
/// use rgan::eval::*;
/// let device = Device::default();
/// let a = Tensor::<2>::from_floats([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [1.0, 3.0]], &device);
/// let b = Tensor::<2>::from_floats([[0.5, 1.0], [1.0, 0.5], [2.0, 2.5]], &device);
/// let mut s = FrechetClassifierDistanceStreaming::new();
/// s.update(&a.clone().slice([0..2, 0..2]), &b.clone().slice([0..1, 0..2])).unwrap();
/// s.update(&a.clone().slice([2..4, 0..2]), &b.clone().slice([1..3, 0..2])).unwrap();
/// let batch = frechet_classifier_distance_from_activations(&a, &b).unwrap();
/// assert!((s.value().unwrap() - batch).abs() <= 1e-10 * batch.abs());
/// ```
#[derive(Clone, Debug, Default)]
pub struct FrechetClassifierDistanceStreaming {
    /// The moments of the first set (`activations1`, usually the real data).
    pub moments1: ActivationMoments,
    /// The moments of the second set (`activations2`, usually the generated data).
    pub moments2: ActivationMoments,
}

impl FrechetClassifierDistanceStreaming {
    /// No samples yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a batch of each set.
    pub fn update(&mut self, activations1: &Tensor<2>, activations2: &Tensor<2>) -> Result<()> {
        self.update_f64(host(activations1, "activations1")?.view(), host(activations2, "activations2")?.view())
    }

    /// Adds a batch of each set from host matrices.
    ///
    /// ```
    /// use rgan::eval::*;
    /// let mut s = FrechetClassifierDistanceStreaming::new();
    /// let a = MatrixRef::new("activations1", &[1.0, 2.0], 1, 2).unwrap();
    /// let b = MatrixRef::new("activations2", &[1.0, 2.0, 3.0], 1, 3).unwrap();
    /// assert!(s.update_f64(a, b).is_err());
    /// ```
    pub fn update_f64(&mut self, activations1: MatrixRef, activations2: MatrixRef) -> Result<()> {
        let d1 = if self.moments1.count() > 0 { self.moments1.mean().len() } else { activations1.cols() };
        if activations2.rows() > 0 && activations1.rows() > 0 && activations2.cols() != activations1.cols() {
            return Err(RganError::shape(
                "activations2",
                &activations2.shape(),
                format!("but `activations1` has shape {:?}: the feature dimensions must match", activations1.shape()),
            ));
        }
        if activations2.rows() > 0 && self.moments1.count() > 0 && activations2.cols() != d1 {
            return Err(RganError::shape(
                "activations2",
                &activations2.shape(),
                format!("but `activations1` has {d1} features"),
            ));
        }
        if activations1.rows() > 0 && self.moments2.count() > 0 && activations1.cols() != self.moments2.mean().len() {
            return Err(RganError::shape(
                "activations1",
                &activations1.shape(),
                format!("but `activations2` has {} features", self.moments2.mean().len()),
            ));
        }
        self.moments1.update_f64(activations1)?;
        self.moments2.update_f64(activations2)
    }

    /// The Fréchet distance over everything fed so far (each set needs 2 samples).
    ///
    /// ```
    /// assert!(rgan::eval::FrechetClassifierDistanceStreaming::new().value().is_err());
    /// ```
    pub fn value(&self) -> Result<f64> {
        fd_of_moments(&self.moments1, &self.moments2)
    }
}
