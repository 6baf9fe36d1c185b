//! Least-squares GAN losses (Mao et al. 2017).

use burn::prelude::*;

use super::reduction::{Reduction, Weights, weighted_loss};
use super::wasserstein::check_outputs_same_shape;
use crate::error::Result;

/// Options of [`least_squares_generator_loss`], with TF-GAN's defaults (`real_label = 1`,
/// `weights = 1`, `SUM_BY_NONZERO_WEIGHTS`).
///
/// ```
/// use rgan::losses::LeastSquaresGeneratorLossOptions;
/// assert_eq!(LeastSquaresGeneratorLossOptions::<2>::default().real_label, 1.0);
/// ```
#[derive(Clone, Debug)]
pub struct LeastSquaresGeneratorLossOptions<const D: usize> {
    /// The value the generator wants the discriminator to output on generated data.
    pub real_label: f64,
    /// Per-element weights of the loss.
    pub weights: Weights<D>,
    /// How the weighted per-element loss is reduced.
    pub reduction: Reduction,
}

impl<const D: usize> Default for LeastSquaresGeneratorLossOptions<D> {
    fn default() -> Self {
        Self { real_label: 1.0, weights: Weights::default(), reduction: Reduction::default() }
    }
}

/// Options of [`least_squares_discriminator_loss`], with TF-GAN's defaults (`real_label = 1`,
/// `fake_label = 0`, both weights 1, `SUM_BY_NONZERO_WEIGHTS`).
///
/// ```
/// use rgan::losses::LeastSquaresDiscriminatorLossOptions;
/// let opts = LeastSquaresDiscriminatorLossOptions::<2>::default();
/// assert_eq!((opts.real_label, opts.fake_label), (1.0, 0.0));
/// ```
#[derive(Clone, Debug)]
pub struct LeastSquaresDiscriminatorLossOptions<const D: usize> {
    /// The value the discriminator tries to output on real data.
    pub real_label: f64,
    /// The value the discriminator tries to output on generated data.
    pub fake_label: f64,
    /// Weights of the loss on real data.
    pub real_weights: Weights<D>,
    /// Weights of the loss on generated data.
    pub generated_weights: Weights<D>,
    /// How each weighted per-element loss is reduced.
    pub reduction: Reduction,
}

impl<const D: usize> Default for LeastSquaresDiscriminatorLossOptions<D> {
    fn default() -> Self {
        Self {
            real_label: 1.0,
            fake_label: 0.0,
            real_weights: Weights::default(),
            generated_weights: Weights::default(),
            reduction: Reduction::default(),
        }
    }
}

/// `(x - label)^2 / 2`, elementwise.
fn half_squared_difference<const D: usize>(x: Tensor<D>, label: f64) -> Tensor<D> {
    x.sub_scalar(label).square().div_scalar(2.0)
}

/// Least-squares generator loss, TF-GAN's `least_squares_generator_loss`:
/// `(D(G(z)) - real_label)^2 / 2`, weighted and reduced.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::{least_squares_generator_loss, LeastSquaresGeneratorLossOptions};
/// let device = Device::default();
/// let outputs = Tensor::<1>::from_floats([1.0, 3.0], &device); // 0 and 2
/// let loss = least_squares_generator_loss(outputs, &LeastSquaresGeneratorLossOptions::default()).unwrap();
/// assert_eq!(loss.into_scalar::<f32>(), 1.0);
/// ```
pub fn least_squares_generator_loss<const D: usize>(
    discriminator_gen_outputs: Tensor<D>,
    options: &LeastSquaresGeneratorLossOptions<D>,
) -> Result<Tensor<D>> {
    let losses = half_squared_difference(discriminator_gen_outputs, options.real_label);
    weighted_loss(losses, &options.weights, options.reduction, "weights", "discriminator_gen_outputs")
}

/// Least-squares discriminator loss, TF-GAN's `least_squares_discriminator_loss`:
/// `reduce_real((D(x) - real_label)^2 / 2) + reduce_gen((D(G(z)) - fake_label)^2 / 2)`.
///
/// The two outputs must have the same shape (TF-GAN asserts it); otherwise the error names both.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::{least_squares_discriminator_loss, LeastSquaresDiscriminatorLossOptions};
/// let device = Device::default();
/// let real = Tensor::<1>::from_floats([3.0], &device); // (3 - 1)^2 / 2 = 2
/// let fake = Tensor::<1>::from_floats([1.0], &device); // (1 - 0)^2 / 2 = 0.5
/// let opts = LeastSquaresDiscriminatorLossOptions::default();
/// assert_eq!(least_squares_discriminator_loss(real, fake, &opts).unwrap().into_scalar::<f32>(), 2.5);
/// ```
pub fn least_squares_discriminator_loss<const D: usize>(
    discriminator_real_outputs: Tensor<D>,
    discriminator_gen_outputs: Tensor<D>,
    options: &LeastSquaresDiscriminatorLossOptions<D>,
) -> Result<Tensor<D>> {
    check_outputs_same_shape(&discriminator_real_outputs, &discriminator_gen_outputs)?;
    let real_losses = half_squared_difference(discriminator_real_outputs, options.real_label);
    let fake_losses = half_squared_difference(discriminator_gen_outputs, options.fake_label);
    let on_real = weighted_loss(
        real_losses,
        &options.real_weights,
        options.reduction,
        "real_weights",
        "discriminator_real_outputs",
    )?;
    let on_generated = weighted_loss(
        fake_losses,
        &options.generated_weights,
        options.reduction,
        "generated_weights",
        "discriminator_gen_outputs",
    )?;
    Ok(on_real + on_generated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::losses::test_util::{t64, value};

    #[test]
    fn labels_and_shape_errors() {
        let device = Device::default();
        let real = t64(&[1.0, 0.0], [2], &device);
        let fake = t64(&[0.0, -2.0], [2], &device);
        let opts = LeastSquaresDiscriminatorLossOptions { real_label: 0.0, fake_label: -1.0, ..Default::default() };
        // real: (1^2 + 0) / 2 / 2 = 0.25; fake: (1 + 1) / 2 / 2 = 0.5
        assert!((value(least_squares_discriminator_loss(real, fake, &opts).unwrap()) - 0.75).abs() < 1e-12);
        let err = least_squares_discriminator_loss(
            t64(&[0.0; 2], [2], &device),
            t64(&[0.0; 3], [3], &device),
            &Default::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("[2]") && err.to_string().contains("[3]"), "{err}");
    }
}
