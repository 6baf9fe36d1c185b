//! Batch normalization fused with the activation after it, and the leaky ReLU.

use burn::nn::BatchNorm;
use burn::prelude::*;
use burn::tensor::activation;
use burn::tensor::module;

#[cfg(feature = "flex")]
use super::kernels;

/// The activation applied right after a batch norm.
///
/// ```
/// use burn::prelude::*;
/// use rgan::ops::Activation;
/// let x = Tensor::<1>::from_floats([-2.0, 3.0], &Device::default());
/// assert_eq!(Activation::LeakyRelu(0.5).apply(x).into_data().to_vec::<f32>().unwrap(), vec![-1.0, 3.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// None.
    Identity,
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x ≥ 0`, `negative_slope · x` below.
    LeakyRelu(f64),
}

impl Activation {
    /// The activation as burn computes it (burn's `relu` and `leaky_relu`).
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Identity => x,
            Activation::Relu => activation::relu(x),
            Activation::LeakyRelu(slope) => leaky_relu(x, slope),
        }
    }

    /// The kernels' slope: `None` for the identity, 0 for a ReLU.
    #[cfg(feature = "flex")]
    fn slope(self) -> Option<f32> {
        match self {
            Activation::Identity => None,
            Activation::Relu => Some(0.0),
            Activation::LeakyRelu(slope) => Some(slope as f32),
        }
    }
}

/// burn's `activation::leaky_relu`; on the CPU backend in f32, one pass forward and one backward.
///
/// ```
/// use burn::prelude::*;
/// let x = Tensor::<1>::from_floats([-1.0, 0.0, 2.0], &Device::default());
/// assert_eq!(rgan::ops::leaky_relu(x, 0.2).into_data().to_vec::<f32>().unwrap(), vec![-0.2, 0.0, 2.0]);
/// ```
pub fn leaky_relu<const D: usize>(x: Tensor<D>, negative_slope: f64) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if kernels::on_cpu(&x) {
        return kernels::leaky_relu(x, negative_slope as f32);
    }
    activation::leaky_relu(x, negative_slope)
}

/// `g` where `x > 0` and `negative_slope · g` where `x ≤ 0`: a (leaky) ReLU's input gradient
/// with the mask taken from its input `x`, as the exact gradient penalties write it
/// (differentiable in `g`; `x` is a constant). On the CPU backend in f32 it is one pass each way
/// instead of a comparison, a product and a masked select.
///
/// ```
/// use burn::prelude::*;
/// let device = Device::default();
/// let x = Tensor::<1>::from_floats([-1.0, 0.0, 2.0], &device);
/// let g = Tensor::<1>::from_floats([1.0, 1.0, 1.0], &device);
/// let y = rgan::ops::scale_nonpositive(g, x, 0.2);
/// assert_eq!(y.into_data().to_vec::<f32>().unwrap(), vec![0.2, 0.2, 1.0]);
/// ```
pub fn scale_nonpositive<const D: usize>(g: Tensor<D>, x: Tensor<D>, negative_slope: f64) -> Tensor<D> {
    assert_eq!(g.dims(), x.dims(), "scale_nonpositive: g is {:?} but x is {:?}", g.dims(), x.dims());
    #[cfg(feature = "flex")]
    if kernels::on_cpu(&g) && kernels::on_cpu(&x) {
        return kernels::scale_nonpositive(g, x, negative_slope as f32);
    }
    g.clone().mask_where(x.lower_equal_elem(0.0), g.mul_scalar(negative_slope))
}

/// Batch norm with the batch's own statistics (burn's `module::batch_norm_train`) followed by
/// `activation`: returns the activated output, the per-channel mean and the biased variance. On
/// the CPU backend in f32 the normalization and the activation are one pass (after the
/// statistics), and so is their backward.
///
/// ```
/// use burn::prelude::*;
/// use rgan::ops::Activation;
/// let x = Tensor::<2>::from_floats([[1.0, 4.0], [3.0, 8.0]], &Device::default());
/// let gamma = Tensor::<1>::ones([2], &Device::default());
/// let beta = Tensor::<1>::zeros([2], &Device::default());
/// let (y, mean, var) = rgan::ops::batch_norm_train(x, gamma, beta, 0.0, Activation::Relu);
/// assert_eq!(mean.into_data().to_vec::<f32>().unwrap(), vec![2.0, 6.0]);
/// assert_eq!(var.into_data().to_vec::<f32>().unwrap(), vec![1.0, 4.0]);
/// assert_eq!(y.into_data().to_vec::<f32>().unwrap(), vec![0.0, 0.0, 1.0, 1.0]);
/// ```
pub fn batch_norm_train<const D: usize>(
    x: Tensor<D>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
    activation: Activation,
) -> (Tensor<D>, Tensor<1>, Tensor<1>) {
    #[cfg(feature = "flex")]
    if D >= 2 && kernels::on_cpu(&x) && kernels::on_cpu(&gamma) && kernels::on_cpu(&beta) {
        let channels = x.dims()[1];
        assert_eq!(gamma.dims(), [channels], "batch norm: gamma must have one value per channel ({channels})");
        assert_eq!(beta.dims(), [channels], "batch norm: beta must have one value per channel ({channels})");
        return kernels::batch_norm_act(x, gamma, beta, epsilon, activation.slope());
    }
    let result = module::batch_norm_train(x, gamma, beta, epsilon);
    (activation.apply(result.output), result.mean, result.variance)
}

/// burn's `nn::BatchNorm::forward` followed by `activation`: with the batch's statistics (and an
/// update of the moving averages, exactly as burn makes it) on an autodiff device while the
/// layer trains, else with the moving averages. The training path is [`batch_norm_train`].
///
/// ```
/// use burn::prelude::*;
/// use rgan::ops::Activation;
/// let device = Device::default().autodiff();
/// let layer = burn::nn::BatchNormConfig::new(3).init(&device);
/// let x = Tensor::<4>::random([4, 3, 2, 2], burn::tensor::Distribution::Default, &device);
/// let y = rgan::ops::batch_norm_layer(&layer, x, Activation::Relu);
/// assert_eq!(y.dims(), [4, 3, 2, 2]);
/// ```
pub fn batch_norm_layer<const D: usize>(layer: &BatchNorm, x: Tensor<D>, activation: Activation) -> Tensor<D> {
    let device = x.device();
    if !(device.is_autodiff() && layer.training.is_enabled()) {
        return activation.apply(layer.forward(x));
    }
    let (output, mean, variance) = batch_norm_train(x, layer.gamma.val(), layer.beta.val(), layer.epsilon, activation);
    let momentum = layer.momentum;
    let running_mean = layer.running_mean.value_sync().to_device(&device);
    let running_var = layer.running_var.value_sync().to_device(&device);
    let running_mean = running_mean.mul_scalar(1.0 - momentum).add(mean.detach().mul_scalar(momentum));
    let running_var = running_var.mul_scalar(1.0 - momentum).add(variance.detach().mul_scalar(momentum));
    layer.running_mean.update(running_mean.detach());
    layer.running_var.update(running_var.detach());
    output
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::BatchNormConfig;
    use burn::tensor::{Distribution, Tolerance};

    fn assert_close<const D: usize>(a: Tensor<D>, b: Tensor<D>) {
        a.into_data().assert_approx_eq::<f32>(&b.into_data(), Tolerance::default());
    }

    #[test]
    fn batch_norm_matches_burn_with_gradients() {
        let device = Device::default().autodiff();
        for activation in [Activation::Identity, Activation::Relu, Activation::LeakyRelu(0.2)] {
            for dims in [[8, 5, 1, 1], [6, 3, 4, 5]] {
                let x = Tensor::<4>::random(dims, Distribution::Normal(0.5, 2.0), &device).require_grad();
                let gamma = Tensor::<1>::random([dims[1]], Distribution::Normal(1.0, 0.5), &device).require_grad();
                let beta = Tensor::<1>::random([dims[1]], Distribution::Normal(0.0, 0.5), &device).require_grad();
                let (ours, mean, var) = batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-3, activation);
                let theirs = module::batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-3);
                assert_close(mean.inner(), theirs.mean.inner());
                assert_close(var.inner(), theirs.variance.inner());
                let theirs = activation.apply(theirs.output);
                assert_close(ours.clone().inner(), theirs.clone().inner());
                let g = Tensor::<4>::random(dims, Distribution::Default, &device);
                let ours = ours.mul(g.clone()).sum().backward();
                let theirs = theirs.mul(g).sum().backward();
                for t in [&gamma, &beta] {
                    assert_close(t.grad(&ours).unwrap(), t.grad(&theirs).unwrap());
                }
                assert_close(x.grad(&ours).unwrap(), x.grad(&theirs).unwrap());
            }
        }
    }

    /// Rank 2 (a dense layer's output): channels are columns.
    #[test]
    fn batch_norm_of_a_matrix_matches_burn() {
        let device = Device::default().autodiff();
        let x = Tensor::<2>::random([16, 7], Distribution::Normal(0.0, 3.0), &device).require_grad();
        let gamma = Tensor::<1>::ones([7], &device).require_grad();
        let beta = Tensor::<1>::zeros([7], &device).require_grad();
        let (ours, ..) = batch_norm_train(x.clone(), gamma.clone(), beta.clone(), 1e-5, Activation::LeakyRelu(0.01));
        let theirs = leaky_relu(module::batch_norm_train(x.clone(), gamma, beta, 1e-5).output, 0.01);
        assert_close(ours.clone().inner(), theirs.clone().inner());
        let (a, b) = (ours.sum().backward(), theirs.sum().backward());
        assert_close(x.grad(&a).unwrap(), x.grad(&b).unwrap());
    }

    #[test]
    fn layer_updates_the_moving_averages_as_burn_does() {
        let device = Device::default().autodiff();
        let ours = BatchNormConfig::new(4).with_momentum(0.3).init(&device);
        let theirs = BatchNormConfig::new(4).with_momentum(0.3).init(&device);
        for seed in 0..3 {
            let x = Tensor::<4>::random([5, 4, 3, 3], Distribution::Normal(seed as f64, 2.0), &device);
            assert_close(
                batch_norm_layer(&ours, x.clone(), Activation::Relu).inner(),
                activation::relu(theirs.forward(x)).inner(),
            );
        }
        assert_close(ours.running_mean.value(), theirs.running_mean.value());
        assert_close(ours.running_var.value(), theirs.running_var.value());
        // Off the autodiff device the moving averages are used, and left alone.
        let x = Tensor::<4>::random([5, 4, 3, 3], Distribution::Default, &Device::default());
        let ours = ours.valid();
        let before = ours.running_mean.value().into_data();
        assert_close(batch_norm_layer(&ours, x.clone(), Activation::Identity), theirs.valid().forward(x));
        assert_eq!(ours.running_mean.value().into_data(), before);
    }

    #[test]
    fn scale_nonpositive_matches_burn_with_gradients() {
        let device = Device::default().autodiff();
        let x = Tensor::<2>::random([300, 400], Distribution::Normal(0.0, 1.0), &device)
            .mask_fill(Tensor::<2>::random([300, 400], Distribution::Default, &device).lower_elem(0.1), 0.0);
        let g = Tensor::<2>::random([300, 400], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let w = Tensor::<2>::random([300, 400], Distribution::Default, &device);
        let ours = scale_nonpositive(g.clone(), x.clone(), 0.2);
        let theirs = g.clone().mask_where(x.lower_equal_elem(0.0), g.clone().mul_scalar(0.2));
        assert_eq!(ours.clone().inner().into_data(), theirs.clone().inner().into_data());
        let (a, b) = (ours.mul(w.clone()).sum().backward(), theirs.mul(w).sum().backward());
        assert_close(g.grad(&a).unwrap(), g.grad(&b).unwrap());
    }

    #[test]
    fn leaky_relu_matches_burn_with_gradients() {
        let device = Device::default().autodiff();
        let x = Tensor::<3>::random([70, 40, 30], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let g = Tensor::<3>::random([70, 40, 30], Distribution::Default, &device);
        let ours = leaky_relu(x.clone(), 0.2);
        let theirs = activation::leaky_relu(x.clone(), 0.2);
        assert_close(ours.clone().inner(), theirs.clone().inner());
        let (a, b) = (ours.mul(g.clone()).sum().backward(), theirs.mul(g).sum().backward());
        assert_close(x.grad(&a).unwrap(), x.grad(&b).unwrap());
    }
}
