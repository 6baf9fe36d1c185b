//! FID statistics, the mean and unbiased covariance of a set's Inception features, in
//! pytorch-fid's `.npz` layout (`mu` `[D]`, `sigma` `[D, D]`), so that a reference set's
//! statistics are computed once, cached, and compared with pytorch-fid's own files.
//!
//! The file format is numpy's, read and written with `ndarray-npy` (well kept, the format's
//! reference implementation in Rust); float32 files (numpy's default for float32 features) read too.

use std::path::Path;

use super::MatrixRef;
use super::frechet::{ActivationMoments, frechet_distance_from_moments};
use crate::error::{Result, RganError};

/// The mean and unbiased covariance (row-major `[D, D]`) of a set's features, and how many
/// samples they summarise (0 when read from a file, which does not say).
///
/// ```
/// use rgan::eval::{ActivationMoments, FidStatistics, MatrixRef};
/// let a = ActivationMoments::from_f64(MatrixRef::new("a", &[0.0, 0.0, 2.0, 4.0], 2, 2).unwrap()).unwrap();
/// let s = FidStatistics::from_moments(&a).unwrap();
/// assert_eq!((s.mu.clone(), s.sigma.clone(), s.count), (vec![1.0, 2.0], vec![2.0, 4.0, 4.0, 8.0], 2));
/// assert!(s.frechet_distance(&s).unwrap().abs() < 1e-9);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct FidStatistics {
    /// The mean, `[D]`.
    pub mu: Vec<f64>,
    /// The unbiased covariance, row-major `[D, D]`.
    pub sigma: Vec<f64>,
    /// The number of samples (0: unknown).
    pub count: usize,
}

impl FidStatistics {
    /// The statistics of accumulated moments (at least 2 samples).
    pub fn from_moments(moments: &ActivationMoments) -> Result<Self> {
        Ok(Self { mu: moments.mean().to_vec(), sigma: moments.covariance()?, count: moments.count() })
    }

    /// The number of features, `D`.
    pub fn dims(&self) -> usize {
        self.mu.len()
    }

    /// The Fréchet distance between the two sets (TF-GAN's and pytorch-fid's formula).
    pub fn frechet_distance(&self, other: &Self) -> Result<f64> {
        let (d1, d2) = (self.dims(), other.dims());
        frechet_distance_from_moments(
            &self.mu,
            MatrixRef::new("sigma1", &self.sigma, d1, d1)?,
            &other.mu,
            MatrixRef::new("sigma2", &other.sigma, d2, d2)?,
        )
    }

    /// Reads pytorch-fid's statistics file. Errors name the file: not a `.npz`, no float `mu` or
    /// `sigma`, shapes other than `[D]` and `[D, D]`, NaN or infinite values.
    ///
    /// ```
    /// let err = rgan::eval::FidStatistics::read_npz("/no/such/stats.npz").unwrap_err();
    /// assert!(err.to_string().contains("/no/such/stats.npz"));
    /// ```
    pub fn read_npz(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| RganError::file(path, format!("cannot be opened: {e}")))?;
        let mut npz = ndarray_npy::NpzReader::new(file).map_err(|e| {
            RganError::file(path, format!("is not a .npz archive (expected pytorch-fid's mu and sigma): {e}"))
        })?;
        let mut read = |name: &str| -> Result<(Vec<f64>, Vec<usize>)> {
            let array: ndarray::ArrayD<f64> = match npz.by_name::<ndarray::OwnedRepr<f64>, ndarray::IxDyn>(name) {
                Ok(a) => a,
                Err(_) => npz
                    .by_name::<ndarray::OwnedRepr<f32>, ndarray::IxDyn>(name)
                    .map(|a| a.mapv(f64::from))
                    .map_err(|_| {
                        RganError::file(
                            path,
                            format!("holds no float array `{name}` (pytorch-fid's statistics hold mu and sigma)"),
                        )
                    })?,
            };
            let shape = array.shape().to_vec();
            Ok((array.as_standard_layout().iter().copied().collect(), shape))
        };
        let (mu, mu_shape) = read("mu")?;
        let (sigma, sigma_shape) = read("sigma")?;
        let d = mu.len();
        if mu_shape.len() != 1 || sigma_shape != [d, d] {
            return Err(RganError::file(
                path,
                format!("has mu of shape {mu_shape:?} and sigma {sigma_shape:?}; expected [D] and [D, D]"),
            ));
        }
        if let Some(i) = mu.iter().chain(&sigma).position(|v| !v.is_finite()) {
            let which = if i < d { "mu" } else { "sigma" };
            return Err(RganError::file(path, format!("holds NaN or infinite values in {which}")));
        }
        Ok(Self { mu, sigma, count: 0 })
    }

    /// Writes pytorch-fid's statistics file (`np.savez_compressed(path, mu=mu, sigma=sigma)`),
    /// atomically (a temporary file renamed into place).
    pub fn write_npz(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let d = self.dims();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let write = || -> std::result::Result<(), Box<dyn std::error::Error>> {
            let file = std::fs::File::create(&tmp)?;
            let mut npz = ndarray_npy::NpzWriter::new_compressed(file);
            npz.add_array("mu", &ndarray::Array1::from(self.mu.clone()))?;
            npz.add_array("sigma", &ndarray::Array2::from_shape_vec((d, d), self.sigma.clone())?)?;
            npz.finish()?.sync_all()?;
            std::fs::rename(&tmp, path)?;
            Ok(())
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            RganError::file(path, format!("cannot write the statistics: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_round_trip_and_bad_files_are_named() {
        let dir = std::env::temp_dir().join(format!("rgan-fid-stats-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let s = FidStatistics { mu: vec![1.0, -2.5], sigma: vec![2.0, 0.5, 0.5, 1.0], count: 7 };
        let path = dir.join("s.npz");
        s.write_npz(&path).unwrap();
        assert_eq!(FidStatistics::read_npz(&path).unwrap(), FidStatistics { count: 0, ..s.clone() });
        std::fs::write(dir.join("bad.npz"), b"not a zip").unwrap();
        let err = FidStatistics::read_npz(dir.join("bad.npz")).unwrap_err().to_string();
        assert!(err.contains("bad.npz") && err.contains("not a .npz"), "{err}");
        let nan = FidStatistics { mu: vec![f64::NAN, 0.0], ..s };
        nan.write_npz(dir.join("nan.npz")).unwrap();
        let err = FidStatistics::read_npz(dir.join("nan.npz")).unwrap_err().to_string();
        assert!(err.contains("NaN") && err.contains("mu"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
