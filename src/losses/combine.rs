//! Combining a main (non-adversarial) loss with an adversarial one, TF-GAN's
//! `combine_adversarial_loss`, in its fixed-weight and gradient-ratio modes.
//!
//! TF-GAN's gradient-ratio mode calls `tf.gradients` twice on one graph. burn allows one backward
//! per graph, so rgan splits the work: the caller measures the two gradient magnitudes (one
//! forward and backward per loss, e.g. with [`module_gradient_magnitude`]) and passes them in
//! [`GradientMagnitudes`]; [`combine_adversarial_loss`] then scales the adversarial loss by the
//! coefficient, a plain number, so — as with TF-GAN's `stop_gradient` — no gradient flows
//! through it.

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use burn::tensor::Gradients;

use crate::error::{Result, RganError};

/// The global gradient norms of the main and the adversarial loss with respect to the variables
/// being trained (TF-GAN's `variables`, by default the generator's), as
/// [`numerically_stable_global_norm`] computes them.
///
/// ```
/// use rgan::losses::GradientMagnitudes;
/// let mags = GradientMagnitudes { main_loss: 3.0, adversarial_loss: 1.5 };
/// assert_eq!(mags.main_loss / mags.adversarial_loss, 2.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradientMagnitudes {
    /// `‖∇ main_loss‖` (of the sum of its elements, as `tf.gradients`).
    pub main_loss: f64,
    /// `‖∇ adversarial_loss‖` (of the sum of its elements).
    pub adversarial_loss: f64,
}

/// Options of [`combine_adversarial_loss`], with TF-GAN's arguments and defaults
/// (`weight_factor = None`, `gradient_ratio = None`, `gradient_ratio_epsilon = 1e-6`). Exactly
/// one of `weight_factor` and `gradient_ratio` must be set. TF-GAN's `variables` becomes
/// `gradient_magnitudes`, which the gradient-ratio mode needs.
///
/// ```
/// use rgan::losses::CombineAdversarialLossOptions;
/// let opts = CombineAdversarialLossOptions::weight_factor(0.1);
/// assert_eq!(opts.gradient_ratio_epsilon, 1e-6);
/// assert_eq!(opts.gradient_ratio, None);
/// ```
#[derive(Clone, Debug)]
pub struct CombineAdversarialLossOptions {
    /// Fixed coefficient of the adversarial loss: `main + weight_factor * adversarial`.
    pub weight_factor: Option<f64>,
    /// Wanted ratio `‖∇ main‖ / ‖∇ (coefficient * adversarial)‖`.
    pub gradient_ratio: Option<f64>,
    /// Added to the adversarial gradient magnitude in the coefficient's denominator.
    pub gradient_ratio_epsilon: f64,
    /// The two gradient magnitudes; required with `gradient_ratio`, ignored otherwise.
    pub gradient_magnitudes: Option<GradientMagnitudes>,
}

impl Default for CombineAdversarialLossOptions {
    fn default() -> Self {
        Self { weight_factor: None, gradient_ratio: None, gradient_ratio_epsilon: 1e-6, gradient_magnitudes: None }
    }
}

impl CombineAdversarialLossOptions {
    /// Fixed-weight mode: `main + weight_factor * adversarial`.
    ///
    /// ```
    /// use rgan::losses::CombineAdversarialLossOptions;
    /// assert_eq!(CombineAdversarialLossOptions::weight_factor(0.5).weight_factor, Some(0.5));
    /// ```
    pub fn weight_factor(weight_factor: f64) -> Self {
        Self { weight_factor: Some(weight_factor), ..Default::default() }
    }

    /// Gradient-ratio mode with the measured gradient magnitudes and the default epsilon.
    ///
    /// ```
    /// use rgan::losses::{CombineAdversarialLossOptions, GradientMagnitudes};
    /// let mags = GradientMagnitudes { main_loss: 2.0, adversarial_loss: 4.0 };
    /// let opts = CombineAdversarialLossOptions::gradient_ratio(1.0, mags);
    /// assert_eq!(opts.gradient_ratio, Some(1.0));
    /// ```
    pub fn gradient_ratio(gradient_ratio: f64, gradient_magnitudes: GradientMagnitudes) -> Self {
        Self {
            gradient_ratio: Some(gradient_ratio),
            gradient_magnitudes: Some(gradient_magnitudes),
            ..Default::default()
        }
    }
}

/// TF-GAN's `numerically_stable_global_norm`: `m * global_norm(g / m)` over all the gradients,
/// with `m` the largest `|element|`, which avoids overflow in the squares. Pass each gradient
/// flattened (`g.reshape([n])`). Returns 0 for no gradients or all-zero gradients (where TF-GAN
/// would divide by zero).
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::numerically_stable_global_norm;
/// let device = Device::default();
/// let grads = [Tensor::<1>::from_floats([3.0], &device), Tensor::<1>::from_floats([0.0, -4.0], &device)];
/// assert!((numerically_stable_global_norm(&grads) - 5.0).abs() < 1e-6);
/// ```
pub fn numerically_stable_global_norm(gradients: &[Tensor<1>]) -> f64 {
    let gradients: Vec<Tensor<1>> = gradients.iter().filter(|g| g.dims()[0] > 0).cloned().collect();
    if gradients.is_empty() {
        return 0.0;
    }
    let dtype = gradients[0].dtype();
    let gradients: Vec<Tensor<1>> = gradients.into_iter().map(|g| g.detach().cast(dtype)).collect();
    let maxima: Vec<Tensor<1>> = gradients.iter().map(|g| g.clone().abs().max()).collect();
    let list_max = Tensor::cat(maxima, 0).max();
    let max_value: f64 = list_max.clone().into_scalar();
    if max_value == 0.0 || !max_value.is_finite() {
        return max_value; // 0, infinity or NaN
    }
    let sum_sq: Vec<Tensor<1>> =
        gradients.into_iter().map(|g| crate::ops::sum((g / list_max.clone()).square())).collect();
    let norm = Tensor::cat(sum_sq, 0).sum().sqrt() * list_max;
    norm.into_scalar()
}

/// Collects the flattened gradients of a module's float parameters.
struct GradientCollector<'a> {
    grads: &'a Gradients,
    found: Vec<Tensor<1>>,
}

impl ModuleVisitor for GradientCollector<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !param.is_require_grad() {
            return;
        }
        if let Some(grad) = param.val().grad(self.grads) {
            let n = grad.shape().num_elements();
            self.found.push(grad.reshape([n]));
        }
    }
}

/// The [`numerically_stable_global_norm`] of the gradients in `grads` of every trainable float
/// parameter of `module` (TF-GAN's `variables`): one of the two [`GradientMagnitudes`].
/// Parameters without a gradient are skipped; with none at all the magnitude is 0.
///
/// ```
/// use burn::prelude::*;
/// use burn::nn::LinearConfig;
/// use rgan::losses::module_gradient_magnitude;
/// let device = Device::default().autodiff();
/// let linear = LinearConfig::new(2, 1).with_bias(false).init(&device);
/// let x = Tensor::<2>::from_floats([[3.0, 4.0]], &device);
/// let grads = linear.forward(x).sum().backward(); // d/dW = x^T
/// assert!((module_gradient_magnitude(&linear, &grads) - 5.0).abs() < 1e-5);
/// ```
pub fn module_gradient_magnitude<M: Module>(module: &M, grads: &Gradients) -> f64 {
    let mut collector = GradientCollector { grads, found: Vec::new() };
    module.visit(&mut collector);
    numerically_stable_global_norm(&collector.found)
}

/// The gradient-ratio coefficient of the adversarial loss:
/// `(main_loss_grad_mag / (adv_loss_grad_mag + gradient_ratio_epsilon)) / gradient_ratio`.
///
/// ```
/// use rgan::losses::adversarial_coefficient;
/// assert_eq!(adversarial_coefficient(4.0, 1.0, 2.0, 0.0), 2.0);
/// ```
pub fn adversarial_coefficient(
    main_loss_grad_mag: f64,
    adv_loss_grad_mag: f64,
    gradient_ratio: f64,
    gradient_ratio_epsilon: f64,
) -> f64 {
    main_loss_grad_mag / (adv_loss_grad_mag + gradient_ratio_epsilon) / gradient_ratio
}

/// Brings the two losses to one shape: unchanged when their shapes are equal; otherwise both are
/// averaged over every non-batch dimension, as TF-GAN does, giving `[batch, 1, …, 1]` (rank `D`).
fn compatible_losses<const D: usize, const E: usize>(
    main_loss: Tensor<D>,
    adversarial_loss: Tensor<E>,
) -> Result<(Tensor<D>, Tensor<D>)> {
    let (main_shape, adv_shape) = (main_loss.dims(), adversarial_loss.dims());
    let dtype = main_loss.dtype();
    if main_shape.as_slice() == adv_shape.as_slice() {
        return Ok((main_loss, adversarial_loss.reshape(main_shape).cast(dtype)));
    }
    if main_shape[0] != adv_shape[0] {
        return Err(RganError::shape(
            "main_loss",
            &main_shape,
            format!(
                "but `adversarial_loss` has shape {adv_shape:?}; losses of different shapes must have the same \
                 first (batch) dimension, over which they are then averaged"
            ),
        ));
    }
    let batch = main_shape[0];
    let mut reduced_shape = [1usize; D];
    reduced_shape[0] = batch;
    Ok((per_example_mean(main_loss, reduced_shape), per_example_mean(adversarial_loss, reduced_shape).cast(dtype)))
}

/// The mean over every dimension but the first, as shape `target` (`[batch, 1, …, 1]`).
fn per_example_mean<const E: usize, const D: usize>(loss: Tensor<E>, target: [usize; D]) -> Tensor<D> {
    let batch = loss.dims()[0];
    let n = loss.shape().num_elements();
    let rest = n.checked_div(batch).unwrap_or(0);
    loss.reshape([batch, rest]).mean_dim(1).reshape(target)
}

/// Combines a main loss with an adversarial loss, TF-GAN's `combine_adversarial_loss`.
///
/// * `weight_factor` mode: `main_loss + weight_factor * adversarial_loss`.
/// * `gradient_ratio` mode: `main_loss + c * adversarial_loss` with
///   `c = (‖∇ main‖ / (‖∇ adv‖ + gradient_ratio_epsilon)) / gradient_ratio` (see
///   [`adversarial_coefficient`]), from the caller's [`GradientMagnitudes`]. The coefficient is a
///   constant (TF-GAN's `stop_gradient`), so the main loss's gradient ends up `gradient_ratio`
///   times the adversarial one.
///
/// If the used weight is 0 only the main loss is returned. Losses of equal shape keep it; losses
/// of different shapes (and ranks) must share their first dimension and are both averaged over
/// the others first, giving `[batch, 1, …, 1]` in `main_loss`'s rank. Setting both or neither of
/// `weight_factor` and `gradient_ratio` is an error, as in TF-GAN.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::{combine_adversarial_loss, CombineAdversarialLossOptions, GradientMagnitudes};
/// let device = Device::default();
/// let main = Tensor::<1>::from_floats([1.0, 2.0], &device);
/// let adv = Tensor::<2>::from_floats([[2.0, 4.0], [0.0, 2.0]], &device); // per example: 3, 1
/// let fixed = combine_adversarial_loss(main.clone(), adv.clone(), &CombineAdversarialLossOptions::weight_factor(0.5));
/// assert_eq!(fixed.unwrap().into_data().try_into_vec::<f32>().unwrap(), vec![2.5, 2.5]);
///
/// // Gradient ratio: ‖∇ main‖ = 2, ‖∇ adv‖ = 4, ratio 1 → c = 0.5 (up to the 1e-6 epsilon).
/// let mags = GradientMagnitudes { main_loss: 2.0, adversarial_loss: 4.0 };
/// let opts = CombineAdversarialLossOptions::gradient_ratio(1.0, mags);
/// let combined = combine_adversarial_loss(main, adv, &opts).unwrap();
/// assert!((combined.into_data().try_into_vec::<f32>().unwrap()[0] - 2.5).abs() < 1e-5);
/// ```
pub fn combine_adversarial_loss<const D: usize, const E: usize>(
    main_loss: Tensor<D>,
    adversarial_loss: Tensor<E>,
    options: &CombineAdversarialLossOptions,
) -> Result<Tensor<D>> {
    let weight = match (options.weight_factor, options.gradient_ratio) {
        (None, None) => {
            return Err(RganError::invalid(
                "weight_factor",
                "`weight_factor` and `gradient_ratio` cannot both be None",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(RganError::invalid(
                "weight_factor",
                "`weight_factor` and `gradient_ratio` cannot both be specified",
            ));
        }
        (Some(w), None) | (None, Some(w)) => w,
    };
    let (main_loss, adversarial_loss) = compatible_losses(main_loss, adversarial_loss)?;
    if weight == 0.0 {
        return Ok(main_loss);
    }
    let coefficient = match options.weight_factor {
        Some(weight_factor) => weight_factor,
        None => {
            let mags = options.gradient_magnitudes.ok_or_else(|| {
                RganError::invalid(
                    "gradient_magnitudes",
                    "the gradient_ratio mode needs the gradient magnitudes of both losses \
                     (see rgan::losses::module_gradient_magnitude)",
                )
            })?;
            adversarial_coefficient(mags.main_loss, mags.adversarial_loss, weight, options.gradient_ratio_epsilon)
        }
    };
    Ok(main_loss + adversarial_loss.mul_scalar(coefficient))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::losses::test_util::{t64, values};
    use burn::nn::LinearConfig;

    #[test]
    fn modes_must_be_exactly_one() {
        let device = Device::default();
        let l = t64(&[1.0], [1], &device);
        let none = CombineAdversarialLossOptions::default();
        assert!(
            combine_adversarial_loss(l.clone(), l.clone(), &none).unwrap_err().to_string().contains("both be None")
        );
        let both = CombineAdversarialLossOptions {
            gradient_ratio: Some(1.0),
            ..CombineAdversarialLossOptions::weight_factor(1.0)
        };
        assert!(
            combine_adversarial_loss(l.clone(), l.clone(), &both)
                .unwrap_err()
                .to_string()
                .contains("both be specified")
        );
        let no_mags = CombineAdversarialLossOptions { gradient_ratio: Some(1.0), ..Default::default() };
        let msg = combine_adversarial_loss(l.clone(), l, &no_mags).unwrap_err().to_string();
        assert!(msg.contains("gradient_magnitudes"), "{msg}");
    }

    #[test]
    fn different_batch_sizes_are_an_error_naming_both_shapes() {
        let device = Device::default();
        let main = t64(&[0.0; 4], [4], &device);
        let adv = t64(&[0.0; 6], [3, 2], &device);
        let msg = combine_adversarial_loss(main, adv, &CombineAdversarialLossOptions::weight_factor(1.0))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("`main_loss` has shape [4]") && msg.contains("`adversarial_loss` has shape [3, 2]"),
            "{msg}"
        );
    }

    #[test]
    fn zero_weight_returns_the_main_loss_reduced_to_the_batch() {
        let device = Device::default();
        let main = t64(&[1.0, 3.0, 5.0, 7.0], [2, 2], &device);
        let adv = t64(&[f64::NAN, 1.0], [2], &device);
        let got = combine_adversarial_loss(main, adv, &CombineAdversarialLossOptions::weight_factor(0.0)).unwrap();
        assert_eq!(got.dims(), [2, 1]);
        assert_eq!(values(got), vec![2.0, 6.0]);
    }

    #[test]
    fn coefficient_is_a_constant_for_the_backward_pass() {
        let device = Device::default().autodiff();
        let x = t64(&[1.0, 2.0], [2], &device).require_grad();
        let mags = GradientMagnitudes { main_loss: 3.0, adversarial_loss: 1.0 };
        let opts = CombineAdversarialLossOptions {
            gradient_ratio_epsilon: 0.0,
            ..CombineAdversarialLossOptions::gradient_ratio(2.0, mags)
        };
        // main = x^2, adv = 10 x, c = 3 / 1 / 2 = 1.5: d/dx sum = 2x + 15
        let combined = combine_adversarial_loss(x.clone().square(), x.clone().mul_scalar(10.0), &opts).unwrap();
        let grads = combined.sum().backward();
        assert_eq!(values(x.grad(&grads).unwrap()), vec![17.0, 19.0]);
    }

    #[test]
    fn global_norms() {
        let device = Device::default();
        assert_eq!(numerically_stable_global_norm(&[]), 0.0);
        assert_eq!(numerically_stable_global_norm(&[t64(&[0.0, 0.0], [2], &device)]), 0.0);
        let big = numerically_stable_global_norm(&[t64(&[3e200], [1], &device), t64(&[-4e200], [1], &device)]);
        assert!((big / 5e200 - 1.0).abs() < 1e-12, "{big}");

        let device = Device::default().autodiff();
        let linear = LinearConfig::new(2, 1).init(&device);
        let x = Tensor::<2>::from_floats([[3.0, 4.0]], &device);
        let grads = linear.forward(x).sum().backward();
        // dW = x^T = [3, 4], db = 1: sqrt(9 + 16 + 1)
        assert!((module_gradient_magnitude(&linear, &grads) - 26f64.sqrt()).abs() < 1e-5);
    }
}
