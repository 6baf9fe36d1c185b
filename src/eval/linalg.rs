//! Small dense linear algebra helpers on nalgebra (pure Rust, no LAPACK).

use nalgebra::DMatrix;

/// TF-GAN's `_symmetric_matrix_square_root`: the SVD `U diag(s) V^T` of a symmetric matrix,
/// rebuilt as `U diag(sqrt(s)) V^T`, where singular values below `eps` (1e-10) are left
/// un-rooted.
pub(crate) fn symmetric_sqrtm(mat: &DMatrix<f64>, eps: f64) -> DMatrix<f64> {
    let svd = mat.clone().svd(true, true);
    let u = svd.u.expect("u requested");
    let v_t = svd.v_t.expect("v_t requested");
    let s = svd.singular_values.map(|s| if s < eps { s } else { s.sqrt() });
    let mut us = u;
    for (j, &sj) in s.iter().enumerate() {
        us.column_mut(j).scale_mut(sj);
    }
    us * v_t
}

/// TF-GAN's `trace_sqrt_product`: `tr(sqrtm(A S2 A))` with `A = sqrtm(S1)`, which equals
/// `tr(sqrtm(S1 S2))` for symmetric positive semi-definite `S1`, `S2`.
pub(crate) fn trace_sqrt_product(sigma: &DMatrix<f64>, sigma_v: &DMatrix<f64>) -> f64 {
    let sqrt_sigma = symmetric_sqrtm(sigma, 1e-10);
    let sqrt_a_sigmav_a = &sqrt_sigma * (sigma_v * &sqrt_sigma);
    symmetric_sqrtm(&sqrt_a_sigmav_a, 1e-10).trace()
}
