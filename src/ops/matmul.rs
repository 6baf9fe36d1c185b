//! Matrix products of rank-2 tensors: [`matmul`] and the dense layer [`linear`].

use burn::prelude::*;

#[cfg(feature = "flex")]
use super::kernels;

/// `lhs @ rhs` for matrices `[m, k] @ [k, n]`, equal to burn's `lhs.matmul(rhs)` up to float
/// rounding. On the CPU (flex) backend in f32 it writes the product straight into a fresh buffer
/// and splits it over the thread pool by output columns (or rows, whichever is longer); its
/// gradients, `g @ rhsᵀ` and `lhsᵀ @ g`, use the same kernel on the transposed views, without
/// copying them.
///
/// Panics, as burn's `matmul` does, when the inner dimensions differ.
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// let a = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &device);
/// let b = Tensor::<2>::from_floats([[5.0], [6.0]], &device);
/// let c = rgan::ops::matmul(a, b);
/// assert_eq!(c.into_data().to_vec::<f32>().unwrap(), vec![17.0, 39.0]);
/// ```
pub fn matmul(lhs: Tensor<2>, rhs: Tensor<2>) -> Tensor<2> {
    let [m, k] = lhs.dims();
    let [k_rhs, n] = rhs.dims();
    assert_eq!(k, k_rhs, "matmul: lhs is [{m}, {k}] but rhs is [{k_rhs}, {n}]; the inner dimensions must match");
    #[cfg(feature = "flex")]
    if kernels::on_cpu(&lhs) && kernels::on_cpu(&rhs) {
        return kernels::matmul(lhs, rhs);
    }
    lhs.matmul(rhs)
}

/// A dense layer, `input @ weight + bias`, with `input` `[.., d_input]`, `weight`
/// `[d_input, d_output]` and `bias` `[d_output]`: burn's `module::linear`, with the product
/// computed by [`matmul`].
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// let x = Tensor::<3>::ones([2, 4, 3], &device);
/// let w = Tensor::<2>::ones([3, 5], &device);
/// let b = Tensor::<1>::ones([5], &device);
/// let y = rgan::ops::linear(x, w, Some(b));
/// assert_eq!(y.dims(), [2, 4, 5]);
/// assert_eq!(y.into_data().to_vec::<f32>().unwrap()[0], 4.0);
/// ```
pub fn linear<const D: usize>(input: Tensor<D>, weight: Tensor<2>, bias: Option<Tensor<1>>) -> Tensor<D> {
    let dims = input.dims();
    let [d_input, d_output] = weight.dims();
    let rows = input.shape().num_elements() / d_input.max(1);
    let out = matmul(input.reshape([rows, d_input]), weight);
    let out = match bias {
        Some(bias) => out.add(bias.unsqueeze()),
        None => out,
    };
    let mut out_dims = dims;
    out_dims[D - 1] = d_output;
    out.reshape(out_dims)
}

/// `(x @ w) / σ` where `σ = uᵀ w v` (`[1, 1]`) is given, as the power iteration that produced
/// `u` `[rows, 1]` and `v` `[cols, 1]` computes it: the product of a spectrally normalized
/// weight, with `u`, `v` treated as constants (TF-GAN's `stop_gradient`) and `σ` differentiated
/// through `w` (`∂σ/∂w = u vᵀ`). Differentiable in `x` and `w`; on the CPU backend in f32 the
/// weight's gradient, `xᵀ (g / σ)` plus the rank-one term through `σ`, is one matrix product
/// instead of a product, a rank-one product and a sum of three weight-sized matrices. `sigma`
/// must equal `uᵀ w v` (up to rounding) for the gradient to be `σ`'s.
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// let x = Tensor::<2>::from_floats([[1.0, 2.0]], &device);
/// let w = Tensor::<2>::from_floats([[2.0, 0.0], [0.0, 1.0]], &device);
/// let u = Tensor::<2>::from_floats([[1.0], [0.0]], &device);
/// let v = Tensor::<2>::from_floats([[1.0], [0.0]], &device);
/// let sigma = Tensor::<2>::from_floats([[2.0]], &device); // uᵀ w v
/// let y = rgan::ops::spectral_matmul(x, w, u, v, sigma);
/// assert_eq!(y.into_data().to_vec::<f32>().unwrap(), vec![1.0, 1.0]);
/// ```
pub fn spectral_matmul(x: Tensor<2>, w: Tensor<2>, u: Tensor<2>, v: Tensor<2>, sigma: Tensor<2>) -> Tensor<2> {
    #[cfg(feature = "flex")]
    if [&x, &w, &u, &v, &sigma].iter().all(|t| kernels::on_cpu(t)) {
        return kernels::spectral_matmul(x, w, u, v, sigma);
    }
    // Elsewhere σ is recomputed from `w`, so that burn's autodiff differentiates it.
    drop(sigma);
    let sigma = matmul(matmul(u.transpose(), w.clone()), v);
    matmul(x, w).div(sigma)
}

/// [`spectral_matmul`] with the product `x @ w` given (`xw`), for a caller that computed it in
/// the same pass over `w` as the power iteration's `uᵀ w`: differentiable in `x` and `w` as
/// [`spectral_matmul`] is. `None` where rgan's CPU kernels do not run (see [`on_cpu_kernels`]).
pub(crate) fn spectral_matmul_product(
    x: Tensor<2>,
    w: Tensor<2>,
    u: Tensor<2>,
    v: Tensor<2>,
    sigma: Tensor<2>,
    xw: Tensor<2>,
) -> Option<Tensor<2>> {
    #[cfg(feature = "flex")]
    if [&x, &w, &u, &v, &sigma, &xw].iter().all(|t| kernels::on_cpu(t)) {
        return Some(kernels::spectral_matmul_product(x, w, u, v, sigma, xw));
    }
    let _ = (x, w, u, v, sigma, xw);
    None
}

/// Whether rgan's CPU kernels compute on `tensor`: f32 on the CPU backend, plain or autodiff.
pub(crate) fn on_cpu_kernels<const D: usize>(tensor: &Tensor<D>) -> bool {
    #[cfg(feature = "flex")]
    {
        kernels::on_cpu(tensor)
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = tensor;
        false
    }
}

/// burn's `nn::Linear::forward`, with the product computed by [`matmul`].
///
/// Panics, as burn's does, when the input's last dimension is not the layer's `d_input`.
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// let layer = burn::nn::LinearConfig::new(3, 2).init(&device);
/// let x = Tensor::<2>::ones([4, 3], &device);
/// let expected = layer.forward(x.clone()).into_data();
/// let y = rgan::ops::linear_layer(&layer, x);
/// y.into_data().assert_approx_eq::<f32>(&expected, burn::tensor::Tolerance::default());
/// ```
pub fn linear_layer<const D: usize>(layer: &burn::nn::Linear, input: Tensor<D>) -> Tensor<D> {
    let weight = layer.weight.val();
    let [d_input, _] = weight.dims();
    let dims = input.dims();
    assert_eq!(dims[D - 1], d_input, "linear: the input is {dims:?} but the layer takes [.., {d_input}]");
    linear(input, weight, layer.bias.as_ref().map(|b| b.val()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance};

    fn random(dims: [usize; 2], device: &Device) -> Tensor<2> {
        Tensor::random(dims, Distribution::Normal(0.0, 1.0), device)
    }

    /// Shapes on both sides of the parallel threshold, with transposed and sliced views.
    #[test]
    fn matches_burns_matmul_on_views() {
        let device = Device::default();
        for [m, k, n] in [[1, 1, 1], [3, 5, 2], [32, 300, 70], [300, 32, 130], [33, 257, 17], [2, 0, 3], [40, 300, 1]] {
            let a = random([m, k], &device);
            let b = random([k, n], &device);
            let expected = a.clone().matmul(b.clone()).into_data();
            matmul(a.clone(), b.clone()).into_data().assert_approx_eq::<f32>(&expected, Tolerance::default());
            // Transposed views of contiguous buffers.
            let at = random([k, m], &device);
            let bt = random([n, k], &device);
            let expected = at.clone().transpose().matmul(bt.clone().transpose()).into_data();
            matmul(at.transpose(), bt.transpose()).into_data().assert_approx_eq::<f32>(&expected, Tolerance::default());
        }
        // A view that starts inside its buffer and skips columns.
        let big = random([50, 50], &device);
        let a = big.clone().slice([3..35, 1..41]);
        let b = big.slice([5..45, 7..30]);
        let expected = a.clone().matmul(b.clone()).into_data();
        matmul(a, b).into_data().assert_approx_eq::<f32>(&expected, Tolerance::default());
    }

    #[test]
    fn gradients_match_burns_matmul() {
        let device = Device::default().autodiff();
        for [m, k, n] in [[4, 6, 3], [32, 400, 90], [200, 32, 60]] {
            let a = random([m, k], &device).require_grad();
            let b = random([k, n], &device).require_grad();
            let g = random([m, n], &device);
            let ours = matmul(a.clone(), b.clone()).mul(g.clone()).sum().backward();
            let theirs = a.clone().matmul(b.clone()).mul(g).sum().backward();
            for t in [&a, &b] {
                let expected = t.grad(&theirs).unwrap().into_data();
                t.grad(&ours).unwrap().into_data().assert_approx_eq::<f32>(&expected, Tolerance::default());
            }
        }
    }

    #[test]
    fn only_the_tracked_side_gets_a_gradient() {
        let device = Device::default().autodiff();
        let a = random([5, 4], &device).require_grad();
        let b = random([4, 3], &device);
        let grads = matmul(a.clone(), b.clone()).sum().backward();
        let expected = Tensor::<2>::ones([5, 3], &device).matmul(b.clone().transpose()).inner().into_data();
        a.grad(&grads).unwrap().into_data().assert_approx_eq::<f32>(&expected, Tolerance::default());
        assert!(b.grad(&grads).is_none());
    }

    #[test]
    fn spectral_matmul_gradients_match_burn() {
        let device = Device::default().autodiff();
        for [m, k, n] in [[3, 5, 4], [32, 300, 70]] {
            let x = random([m, k], &device).require_grad();
            let w = random([k, n], &device).require_grad();
            let u = random([k, 1], &device);
            let v = random([n, 1], &device);
            let g = random([m, n], &device);
            let value = u.clone().transpose().matmul(w.clone()).matmul(v.clone()).detach();
            let ours = spectral_matmul(x.clone(), w.clone(), u.clone(), v.clone(), value);
            let sigma = u.transpose().matmul(w.clone()).matmul(v);
            let theirs = x.clone().matmul(w.clone()).div(sigma);
            ours.clone()
                .inner()
                .into_data()
                .assert_approx_eq::<f32>(&theirs.clone().inner().into_data(), Tolerance::default());
            let ours = ours.mul(g.clone()).sum().backward();
            let theirs = theirs.mul(g).sum().backward();
            for t in [&x, &w] {
                let expected = t.grad(&theirs).unwrap().into_data();
                t.grad(&ours).unwrap().into_data().assert_approx_eq::<f32>(&expected, Tolerance::default());
            }
        }
    }

    #[test]
    fn linear_matches_burns_linear() {
        let device = Device::default();
        let x = Tensor::<3>::random([2, 7, 5], Distribution::Default, &device);
        let w = random([5, 4], &device);
        let b = Tensor::<1>::random([4], Distribution::Default, &device);
        let expected = burn::tensor::module::linear(x.clone(), w.clone(), Some(b.clone())).into_data();
        linear(x, w, Some(b)).into_data().assert_approx_eq::<f32>(&expected, Tolerance::default());
    }
}
