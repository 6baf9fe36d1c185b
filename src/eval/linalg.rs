//! The dense f64 linear algebra of the evaluation metrics, on faer.
//!
//! FID at Inception's 2048 dimensions is a few `d³` operations: two covariances (`n d²` each),
//! one symmetric eigendecomposition with eigenvectors, a product and a half, and one
//! eigendecomposition without. Scalar loops for the covariances and nalgebra's SVD, unblocked and
//! on one core, took minutes there (263 s for two 5000 × 2048 sets). faer is pure Rust like the rest of rgan (no LAPACK or BLAS to install), and
//! its products and eigendecompositions are blocked, SIMD (AVX2/AVX-512 chosen at run time) and
//! multi-threaded, which brings the same FID to seconds.
//!
//! **Threads and determinism.** Every call here uses faer's global parallelism, which is rayon
//! on all of rayon's threads (all cores; `RAYON_NUM_THREADS` caps them). faer splits a product or
//! a factorization among a fixed number of threads by index, never adding partial results in an
//! order set by thread timing, so for a fixed thread count the results are bit-for-bit the same
//! from run to run (the `fid-stats` benchmark prints the same FID every run). A different thread
//! count can change how the work is blocked and so the last bits.

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};

use super::MatrixRef;
use crate::error::{Result, RganError};

/// TF-GAN's threshold of `_symmetric_matrix_square_root`: singular values below it are left
/// un-rooted.
pub(crate) const SQRTM_EPS: f64 = 1e-10;

/// At most this many values (16 MiB) of centred activations are held at once.
const CHUNK_VALUES: usize = 1 << 21;

fn par() -> Par {
    faer::get_global_parallelism()
}

/// A faer view of a row-major matrix.
pub(crate) fn view(m: MatrixRef<'_>) -> MatRef<'_, f64> {
    MatRef::from_row_major_slice(m.data(), m.rows(), m.cols())
}

/// TF-GAN's root of one eigenvalue `λ` of a symmetric matrix.
///
/// TF-GAN's `_symmetric_matrix_square_root` takes the SVD `U diag(s) V^T` and returns
/// `U diag(sqrt(s)) V^T`, leaving singular values below `eps` un-rooted. For a symmetric
/// `S = Q diag(λ) Q^T` the SVD is `s = |λ|`, `U = Q`, `V = Q diag(sign λ)`, so that square root is
/// `Q diag(sign(λ) g(|λ|)) Q^T` with `g(x) = x` below `eps` and `sqrt(x)` from it on: this function
/// is `sign(λ) g(|λ|)`.
pub(crate) fn tfgan_root(lambda: f64) -> f64 {
    let a = lambda.abs();
    let g = if a < SQRTM_EPS { a } else { a.sqrt() };
    g.copysign(lambda)
}

/// The eigenvalues (ascending) and eigenvectors (columns) of the symmetric matrix `s`, of which
/// only the lower triangle is read; `name` is the argument named in the error.
pub(crate) fn symmetric_eigen(s: MatRef<'_, f64>, name: &str) -> Result<(Vec<f64>, Mat<f64>)> {
    let evd = s.self_adjoint_eigen(Side::Lower).map_err(|e| no_convergence(name, e))?;
    Ok((evd.S().column_vector().iter().copied().collect(), evd.U().to_owned()))
}

/// The eigenvalues (ascending) of the symmetric matrix `s` (lower triangle read).
pub(crate) fn symmetric_eigenvalues(s: MatRef<'_, f64>, name: &str) -> Result<Vec<f64>> {
    s.self_adjoint_eigenvalues(Side::Lower).map_err(|e| no_convergence(name, e))
}

fn no_convergence(name: &str, e: faer::linalg::evd::EvdError) -> RganError {
    RganError::invalid(name, format!("its symmetric eigendecomposition failed ({e:?})"))
}

/// TF-GAN's `trace_sqrt_product`: `tr(sqrtm(A S2 A))` with `A = sqrtm(S1)`, each `sqrtm` as
/// TF-GAN's SVD-based one (see [`tfgan_root`]). Equals `tr(sqrtm(S1 S2))` for symmetric positive
/// semi-definite `S1`, `S2`. NaN if a value is not finite.
///
/// With `S1 = Q diag(λ) Q^T` and `F = diag(tfgan_root(λ))`, `A = Q F Q^T` and
/// `A S2 A = Q (F Q^T S2 Q F) Q^T` has the eigenvalues `μ` of `C = (Q F)^T S2 (Q F)`, so the
/// trace is `Σ tfgan_root(μ)` from the eigenvalues of `C` alone: `A` and the outer square root
/// are never formed. Cost: an eigendecomposition with eigenvectors, a product and a half
/// (`C` is symmetric, only its lower triangle is computed) of `d × d` matrices, and an
/// eigendecomposition without eigenvectors, against TF-GAN's two SVDs and three products.
pub(crate) fn trace_sqrt_product(s1: MatRef<'_, f64>, s2: MatRef<'_, f64>) -> Result<f64> {
    let finite = |m: MatRef<'_, f64>| (0..m.ncols()).all(|j| m.col(j).iter().all(|v| v.is_finite()));
    if !finite(s1) || !finite(s2) {
        return Ok(f64::NAN);
    }
    let d = s1.nrows();
    if d == 0 {
        return Ok(0.0);
    }
    let (lambda, mut w) = symmetric_eigen(s1, "sigma")?;
    // W = Q F: column j of Q scaled by the root of eigenvalue j.
    for (j, l) in lambda.iter().enumerate() {
        let f = tfgan_root(*l);
        w.col_mut(j).iter_mut().for_each(|v| *v *= f);
    }
    let mut s2_w = Mat::<f64>::zeros(d, d);
    matmul(s2_w.as_mut(), Accum::Replace, s2, w.as_ref(), 1.0, par());
    let mut c = Mat::<f64>::zeros(d, d);
    triangular::matmul(
        c.as_mut(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        w.transpose(),
        BlockStructure::Rectangular,
        s2_w.as_ref(),
        BlockStructure::Rectangular,
        1.0,
        par(),
    );
    let mu = symmetric_eigenvalues(c.as_ref(), "sigma_v")?;
    Ok(mu.into_iter().map(tfgan_root).sum())
}

/// Adds (or with `replace`, writes) the sum of the centred outer products
/// `Σ_i (x_i - mean)(x_i - mean)^T` of the rows of `x` to the row-major `d × d` `out`, as a
/// matrix product `Xc^T Xc` of chunks of centred rows. Only the lower triangle is computed (the
/// result is symmetric), then copied onto the upper one.
pub(crate) fn add_centred_gram(x: MatrixRef<'_>, mean: &[f64], out: &mut [f64], replace: bool) {
    add_centred_gram_in_chunks(x, mean, out, replace, CHUNK_VALUES / x.cols().max(1));
}

/// [`add_centred_gram`] `chunk` rows at a time.
fn add_centred_gram_in_chunks(x: MatrixRef<'_>, mean: &[f64], out: &mut [f64], replace: bool, chunk: usize) {
    let (n, d) = (x.rows(), x.cols());
    debug_assert!(mean.len() == d && out.len() == d * d);
    let chunk = chunk.clamp(1, n.max(1));
    let mut centred = vec![0.0; chunk * d];
    let mut dst = MatMut::from_row_major_slice_mut(out, d, d);
    for (k, start) in (0..n).step_by(chunk).enumerate() {
        let rows = chunk.min(n - start);
        for (i, c_row) in centred[..rows * d].chunks_exact_mut(d).enumerate() {
            for ((c, v), m) in c_row.iter_mut().zip(x.row(start + i)).zip(mean) {
                *c = v - m;
            }
        }
        let xc = MatRef::from_row_major_slice(&centred[..rows * d], rows, d);
        let accum = if replace && k == 0 { Accum::Replace } else { Accum::Add };
        triangular::matmul(
            dst.as_mut(),
            BlockStructure::TriangularLower,
            accum,
            xc.transpose(),
            BlockStructure::Rectangular,
            xc,
            BlockStructure::Rectangular,
            1.0,
            par(),
        );
    }
    mirror_lower(dst);
}

/// The Gram matrix `a b^T` of the rows of `a` and `b` (`[m, d]`, `[n, d]`): `[m, n]`, or with
/// `strict_lower` (`a` and `b` the same rows) only its part below the diagonal, the rest zero.
pub(crate) fn gram(a: MatRef<'_, f64>, b: MatRef<'_, f64>, strict_lower: bool) -> Mat<f64> {
    let mut g = Mat::<f64>::zeros(a.nrows(), b.nrows());
    if strict_lower {
        triangular::matmul(
            g.as_mut(),
            BlockStructure::StrictTriangularLower,
            Accum::Replace,
            a,
            BlockStructure::Rectangular,
            b.transpose(),
            BlockStructure::Rectangular,
            1.0,
            par(),
        );
    } else {
        matmul(g.as_mut(), Accum::Replace, a, b.transpose(), 1.0, par());
    }
    g
}

/// Copies the lower triangle of the square `m` onto its upper triangle.
fn mirror_lower(mut m: MatMut<'_, f64>) {
    for j in 0..m.ncols() {
        for i in j + 1..m.nrows() {
            let v = m[(i, j)];
            m[(j, i)] = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn tfgan_root_roots_from_the_threshold_and_keeps_the_sign() {
        assert_eq!(tfgan_root(4.0), 2.0);
        assert_eq!(tfgan_root(-9.0), -3.0);
        assert_eq!(tfgan_root(1e-11), 1e-11);
        assert_eq!(tfgan_root(-1e-11), -1e-11);
        assert_eq!(tfgan_root(1e-10), 1e-5);
        assert!(tfgan_root(f64::NAN).is_nan());
    }

    #[test]
    fn the_centred_gram_in_chunks_is_the_sum_of_outer_products() {
        let (n, d) = (23, 5);
        let mut rng = Rng::seed_from_u64(4);
        let data: Vec<f64> = (0..n * d).map(|_| rng.next_normal() + 3.0).collect();
        let x = MatrixRef::new("x", &data, n, d).unwrap();
        let mean: Vec<f64> = (0..d).map(|j| (0..n).map(|i| x.row(i)[j]).sum::<f64>() / n as f64).collect();
        let mut expected = vec![0.0; d * d];
        for i in 0..n {
            for a in 0..d {
                for b in 0..d {
                    expected[a * d + b] += (x.row(i)[a] - mean[a]) * (x.row(i)[b] - mean[b]);
                }
            }
        }
        for chunk in [1, 4, 23, 100] {
            let mut out = vec![f64::NAN; d * d];
            add_centred_gram_in_chunks(x, &mean, &mut out, true, chunk);
            for (o, e) in out.iter().zip(&expected) {
                assert!((o - e).abs() <= 1e-12 * e.abs().max(1.0), "chunk {chunk}: {o} vs {e}");
            }
            // Adding doubles it.
            add_centred_gram_in_chunks(x, &mean, &mut out, false, chunk);
            assert!((out[d + 2] - 2.0 * expected[d + 2]).abs() <= 1e-12 * expected[d + 2].abs().max(1.0));
        }
    }

    #[test]
    fn non_finite_inputs_give_nan_and_empty_ones_zero() {
        let mut s = Mat::<f64>::identity(3, 3);
        assert!((trace_sqrt_product(s.as_ref(), s.as_ref()).unwrap() - 3.0).abs() < 1e-14);
        s[(2, 0)] = f64::NAN;
        assert!(trace_sqrt_product(s.as_ref(), Mat::<f64>::identity(3, 3).as_ref()).unwrap().is_nan());
        let e = Mat::<f64>::zeros(0, 0);
        assert_eq!(trace_sqrt_product(e.as_ref(), e.as_ref()).unwrap(), 0.0);
    }
}
