//! Precision, recall, density and coverage of generated samples from k nearest neighbours in a
//! feature space: improved precision and recall (Kynkäänniemi et al. 2019) and density and
//! coverage (Naeem et al. 2020), with the definitions of Naeem et al.'s reference code
//! (`prdc`), Euclidean distances.

use burn::prelude::*;

use super::{MatrixRef, host, min_rows, same_features};
use crate::error::{Result, RganError};

/// The default number of nearest neighbours (`nearest_k`).
pub const DEFAULT_NEAREST_K: usize = 5;

/// Precision, recall, density and coverage of a generated set against a real set.
///
/// ```
/// let p = rgan::eval::Prdc { precision: 1.0, recall: 0.5, density: 1.2, coverage: 0.5 };
/// assert!(p.density > p.precision);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prdc {
    /// Fraction of generated samples inside the k-NN ball of some real sample.
    pub precision: f64,
    /// Fraction of real samples inside the k-NN ball of some generated sample.
    pub recall: f64,
    /// Mean number of real k-NN balls holding each generated sample, divided by k (can exceed 1).
    pub density: f64,
    /// Fraction of real samples whose k-NN ball holds at least one generated sample.
    pub coverage: f64,
}

fn distance(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt()
}

/// The distance of each sample to its k-th nearest neighbour in its own set (itself excluded:
/// the (k+1)-th smallest distance, counting the zero to itself, as the reference code).
fn kth_neighbour_radii(set: MatrixRef, k: usize) -> Vec<f64> {
    (0..set.rows())
        .map(|i| {
            let mut d: Vec<f64> = (0..set.rows()).map(|j| distance(set.row(i), set.row(j))).collect();
            d.sort_by(f64::total_cmp);
            d[k]
        })
        .collect()
}

/// [`precision_recall_density_coverage`] on host matrices.
///
/// ```
/// use rgan::eval::*;
/// let real = [0.0, 1.0, 2.0, 3.0];
/// let real = MatrixRef::new("real_features", &real, 4, 1).unwrap();
/// let p = precision_recall_density_coverage_f64(real, real, 1).unwrap();
/// assert_eq!((p.precision, p.recall, p.coverage), (1.0, 1.0, 1.0));
/// ```
pub fn precision_recall_density_coverage_f64(real: MatrixRef, fake: MatrixRef, nearest_k: usize) -> Result<Prdc> {
    same_features("real_features", real, "fake_features", fake)?;
    if nearest_k == 0 {
        return Err(RganError::invalid("nearest_k", "must be at least 1"));
    }
    min_rows("real_features", real, nearest_k + 1, "k nearest neighbours other than the sample itself")?;
    min_rows("fake_features", fake, nearest_k + 1, "k nearest neighbours other than the sample itself")?;
    let real_radii = kth_neighbour_radii(real, nearest_k);
    let fake_radii = kth_neighbour_radii(fake, nearest_k);
    let (n_real, n_fake) = (real.rows(), fake.rows());
    // cross[i][j]: distance from real i to fake j.
    let cross: Vec<Vec<f64>> =
        (0..n_real).map(|i| (0..n_fake).map(|j| distance(real.row(i), fake.row(j))).collect()).collect();
    let mut precise = 0usize;
    let mut density_count = 0usize;
    for j in 0..n_fake {
        let inside = (0..n_real).filter(|&i| cross[i][j] < real_radii[i]).count();
        density_count += inside;
        precise += usize::from(inside > 0);
    }
    let recalled = (0..n_real).filter(|&i| (0..n_fake).any(|j| cross[i][j] < fake_radii[j])).count();
    let covered =
        (0..n_real).filter(|&i| cross[i].iter().copied().fold(f64::INFINITY, f64::min) < real_radii[i]).count();
    Ok(Prdc {
        precision: precise as f64 / n_fake as f64,
        recall: recalled as f64 / n_real as f64,
        density: density_count as f64 / (nearest_k as f64 * n_fake as f64),
        coverage: covered as f64 / n_real as f64,
    })
}

/// Precision, recall, density and coverage of `fake_features` `[m, d]` against `real_features`
/// `[n, d]` with `nearest_k` (default [`DEFAULT_NEAREST_K`] = 5) nearest neighbours, as Naeem et
/// al.'s `compute_prdc`: with `r_i` the distance of real sample i to its k-th nearest real
/// neighbour (itself excluded) and `f_j` likewise among the fakes,
///
/// - precision = share of fakes j with `|x_i - y_j| < r_i` for some real i,
/// - recall = share of reals i with `|x_i - y_j| < f_j` for some fake j,
/// - density = `1/(k m) * sum_j #{i : |x_i - y_j| < r_i}`,
/// - coverage = share of reals i whose nearest fake is closer than `r_i`.
///
/// Both sets need more than `nearest_k` samples. O((n + m)^2 d) time, O(n m) memory.
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// let real = Tensor::<2>::from_floats([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], &device);
/// let far = real.clone().add_scalar(100.0);
/// let p = rgan::eval::precision_recall_density_coverage(&real, &far, 2).unwrap();
/// assert_eq!((p.precision, p.recall, p.density, p.coverage), (0.0, 0.0, 0.0, 0.0));
/// ```
pub fn precision_recall_density_coverage(
    real_features: &Tensor<2>,
    fake_features: &Tensor<2>,
    nearest_k: usize,
) -> Result<Prdc> {
    precision_recall_density_coverage_f64(
        host(real_features, "real_features")?.view(),
        host(fake_features, "fake_features")?.view(),
        nearest_k,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m<'a>(data: &'a [f64], rows: usize, cols: usize) -> MatrixRef<'a> {
        MatrixRef::new("x", data, rows, cols).unwrap()
    }

    #[test]
    fn identical_sets_are_fully_precise_recalled_and_covered() {
        let real = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 3.0, 2.0, 0.5, 2.5];
        let p = precision_recall_density_coverage_f64(m(&real, 6, 2), m(&real, 6, 2), 2).unwrap();
        assert_eq!((p.precision, p.recall, p.coverage), (1.0, 1.0, 1.0));
        assert!(p.density > 0.5 && p.density < 2.0, "density {}", p.density);
    }

    #[test]
    fn hand_computed_one_dimensional_case() {
        // Reals 0, 1, 2, 3 with k = 1: radii 1, 1, 1, 1 (strict balls: (x-1, x+1)).
        // Fakes 0.5, 10, 10.5: 0.5 is inside the balls of 0 and 1; the other two in none.
        // Fake radii (k = 1): 9.5, 0.5, 0.5, so only reals within 9.5 of 0.5 are recalled:
        // 0, 1, 2, 3 all are (|3 - 0.5| = 2.5 < 9.5).
        let real = [0.0, 1.0, 2.0, 3.0];
        let fake = [0.5, 10.0, 10.5];
        let p = precision_recall_density_coverage_f64(m(&real, 4, 1), m(&fake, 3, 1), 1).unwrap();
        assert!((p.precision - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(p.recall, 1.0);
        assert!((p.density - 2.0 / 3.0).abs() < 1e-15);
        // Coverage: nearest fake of 0 and 1 is 0.5 (< 1); of 2 is 0.5 (1.5, no); of 3 (2.5, no).
        assert_eq!(p.coverage, 0.5);
    }

    #[test]
    fn disjoint_far_sets_score_zero() {
        let real = [0.0, 1.0, 2.0, 3.0];
        let fake = [100.0, 101.0, 102.0, 103.0];
        let p = precision_recall_density_coverage_f64(m(&real, 4, 1), m(&fake, 4, 1), 2).unwrap();
        assert_eq!(p, Prdc { precision: 0.0, recall: 0.0, density: 0.0, coverage: 0.0 });
    }

    #[test]
    fn errors_name_the_arguments_and_shapes() {
        let real = [0.0, 1.0, 2.0, 3.0];
        let err = precision_recall_density_coverage_f64(m(&real, 2, 2), m(&real, 4, 1), 1).unwrap_err().to_string();
        assert!(err.contains("fake_features") && err.contains("[4, 1]") && err.contains("[2, 2]"), "{err}");
        let err = precision_recall_density_coverage_f64(m(&real, 4, 1), m(&real, 4, 1), 4).unwrap_err().to_string();
        assert!(err.contains("real_features") && err.contains("at least 5"), "{err}");
    }
}
