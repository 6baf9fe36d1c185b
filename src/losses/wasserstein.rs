//! Wasserstein GAN losses (Arjovsky et al. 2017) and their hinge form (Miyato et al. 2018).

use burn::prelude::*;

use super::minimax::check_same_shape;
use super::options::{WeightedDiscriminatorLossOptions, WeightedLossOptions};
use super::reduction::{Reduction, Weights, weighted_loss};
use crate::error::Result;

/// Wasserstein generator loss, TF-GAN's `wasserstein_generator_loss`: `-D(G(z))`, weighted and
/// reduced (the default reduction makes it `-mean(D(G(z)))`).
///
/// TF-GAN casts the outputs to float32 first; rgan keeps the input's dtype.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::{wasserstein_generator_loss, WeightedLossOptions};
/// let device = Device::default();
/// let critic = Tensor::<2>::from_floats([[1.0], [3.0]], &device);
/// let loss = wasserstein_generator_loss(critic, &WeightedLossOptions::default()).unwrap();
/// assert_eq!(loss.dims(), [1, 1]);
/// assert_eq!(loss.into_scalar::<f32>(), -2.0);
/// ```
pub fn wasserstein_generator_loss<const D: usize>(
    discriminator_gen_outputs: Tensor<D>,
    options: &WeightedLossOptions<D>,
) -> Result<Tensor<D>> {
    weighted_loss(
        discriminator_gen_outputs.neg(),
        &options.weights,
        options.reduction,
        "weights",
        "discriminator_gen_outputs",
    )
}

/// Hinge generator loss of TF-GAN, `wasserstein_hinge_generator_loss`: in TF-GAN it is the same
/// function object as [`wasserstein_generator_loss`] (`-D(G(z))`), and so it is here.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::{wasserstein_hinge_generator_loss, WeightedLossOptions};
/// let device = Device::default();
/// let critic = Tensor::<1>::from_floats([-1.0, 0.0, 4.0], &device);
/// let loss = wasserstein_hinge_generator_loss(critic, &WeightedLossOptions::default()).unwrap();
/// assert_eq!(loss.into_scalar::<f32>(), -1.0);
/// ```
pub fn wasserstein_hinge_generator_loss<const D: usize>(
    discriminator_gen_outputs: Tensor<D>,
    options: &WeightedLossOptions<D>,
) -> Result<Tensor<D>> {
    wasserstein_generator_loss(discriminator_gen_outputs, options)
}

/// Wasserstein discriminator (critic) loss, TF-GAN's `wasserstein_discriminator_loss`:
/// `reduce_gen(D(G(z))) - reduce_real(D(x))`, each side weighted and reduced on its own (the
/// default makes it `mean D(G(z)) - mean D(x)`).
///
/// The two outputs must have the same shape (TF-GAN asserts it); otherwise the error names both.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::{wasserstein_discriminator_loss, WeightedDiscriminatorLossOptions};
/// let device = Device::default();
/// let real = Tensor::<2>::from_floats([[2.0], [4.0]], &device);
/// let fake = Tensor::<2>::from_floats([[-1.0], [1.0]], &device);
/// let loss = wasserstein_discriminator_loss(real, fake, &WeightedDiscriminatorLossOptions::default()).unwrap();
/// assert_eq!(loss.into_scalar::<f32>(), 0.0 - 3.0);
/// ```
pub fn wasserstein_discriminator_loss<const D: usize>(
    discriminator_real_outputs: Tensor<D>,
    discriminator_gen_outputs: Tensor<D>,
    options: &WeightedDiscriminatorLossOptions<D>,
) -> Result<Tensor<D>> {
    check_outputs_same_shape(&discriminator_real_outputs, &discriminator_gen_outputs)?;
    let on_generated = weighted_loss(
        discriminator_gen_outputs,
        &options.generated_weights,
        options.reduction,
        "generated_weights",
        "discriminator_gen_outputs",
    )?;
    let on_real = weighted_loss(
        discriminator_real_outputs,
        &options.real_weights,
        options.reduction,
        "real_weights",
        "discriminator_real_outputs",
    )?;
    Ok(on_generated - on_real)
}

/// Options of [`wasserstein_hinge_discriminator_loss`], with TF-GAN's defaults (both weights 1,
/// `real_hinge = 1`, `generated_hinge = 1`, `SUM_BY_NONZERO_WEIGHTS`).
///
/// ```
/// use rgan::losses::WassersteinHingeDiscriminatorLossOptions;
/// let opts = WassersteinHingeDiscriminatorLossOptions::<2>::default();
/// assert_eq!((opts.real_hinge, opts.generated_hinge), (1.0, 1.0));
/// ```
#[derive(Clone, Debug)]
pub struct WassersteinHingeDiscriminatorLossOptions<const D: usize> {
    /// Weights of the loss on real data.
    pub real_weights: Weights<D>,
    /// Weights of the loss on generated data.
    pub generated_weights: Weights<D>,
    /// Margin for real outputs: the real part is `relu(real_hinge - D(x))`.
    pub real_hinge: f64,
    /// Margin for generated outputs: the generated part is `relu(generated_hinge + D(G(z)))`.
    pub generated_hinge: f64,
    /// How each weighted per-element loss is reduced.
    pub reduction: Reduction,
}

impl<const D: usize> Default for WassersteinHingeDiscriminatorLossOptions<D> {
    fn default() -> Self {
        Self {
            real_weights: Weights::default(),
            generated_weights: Weights::default(),
            real_hinge: 1.0,
            generated_hinge: 1.0,
            reduction: Reduction::default(),
        }
    }
}

/// Hinge discriminator loss, TF-GAN's `wasserstein_hinge_discriminator_loss` (Miyato et al.
/// 2018): `reduce_real(relu(real_hinge - D(x))) + reduce_gen(relu(generated_hinge + D(G(z))))`.
///
/// The two outputs must have the same shape (TF-GAN asserts it); otherwise the error names both.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::{wasserstein_hinge_discriminator_loss, WassersteinHingeDiscriminatorLossOptions};
/// let device = Device::default();
/// let real = Tensor::<1>::from_floats([2.0, 0.0], &device); // relu(1 - x): 0, 1
/// let fake = Tensor::<1>::from_floats([-2.0, 1.0], &device); // relu(1 + x): 0, 2
/// let opts = WassersteinHingeDiscriminatorLossOptions::default();
/// let loss = wasserstein_hinge_discriminator_loss(real, fake, &opts).unwrap();
/// assert_eq!(loss.into_scalar::<f32>(), 0.5 + 1.0);
/// ```
pub fn wasserstein_hinge_discriminator_loss<const D: usize>(
    discriminator_real_outputs: Tensor<D>,
    discriminator_gen_outputs: Tensor<D>,
    options: &WassersteinHingeDiscriminatorLossOptions<D>,
) -> Result<Tensor<D>> {
    check_outputs_same_shape(&discriminator_real_outputs, &discriminator_gen_outputs)?;
    let hinged_real = discriminator_real_outputs.neg().add_scalar(options.real_hinge).clamp_min(0.0);
    let hinged_gen = discriminator_gen_outputs.add_scalar(options.generated_hinge).clamp_min(0.0);
    let on_real = weighted_loss(
        hinged_real,
        &options.real_weights,
        options.reduction,
        "real_weights",
        "discriminator_real_outputs",
    )?;
    let on_generated = weighted_loss(
        hinged_gen,
        &options.generated_weights,
        options.reduction,
        "generated_weights",
        "discriminator_gen_outputs",
    )?;
    Ok(on_generated + on_real)
}

/// Checks that the discriminator's real and generated outputs have the same shape.
pub(crate) fn check_outputs_same_shape<const D: usize>(real: &Tensor<D>, generated: &Tensor<D>) -> Result<()> {
    check_same_shape("discriminator_real_outputs", &real.dims(), "discriminator_gen_outputs", &generated.dims())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::losses::test_util::{t64, value, values};

    #[test]
    fn discriminator_outputs_of_different_shapes_are_an_error() {
        let device = Device::default();
        let real = t64(&[0.0; 4], [4, 1], &device);
        let fake = t64(&[0.0; 3], [3, 1], &device);
        let err = wasserstein_discriminator_loss(real.clone(), fake.clone(), &Default::default()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("discriminator_real_outputs") && msg.contains("[4, 1]"), "{msg}");
        assert!(msg.contains("discriminator_gen_outputs") && msg.contains("[3, 1]"), "{msg}");
        assert!(wasserstein_hinge_discriminator_loss(real, fake, &Default::default()).is_err());
    }

    #[test]
    fn weights_that_do_not_broadcast_are_an_error() {
        let device = Device::default();
        let outputs = t64(&[0.0; 6], [3, 2], &device);
        let opts = WeightedDiscriminatorLossOptions {
            generated_weights: Weights::Tensor(t64(&[1.0; 3], [1, 3], &device)),
            ..Default::default()
        };
        let err = wasserstein_discriminator_loss(outputs.clone(), outputs.clone(), &opts).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`generated_weights` has shape [1, 3]"), "{msg}");
        assert!(msg.contains("`discriminator_gen_outputs` of shape [3, 2]"), "{msg}");
        let opts =
            WeightedLossOptions { weights: Weights::Tensor(t64(&[1.0; 2], [2, 1], &device)), ..Default::default() };
        let msg = wasserstein_generator_loss(outputs, &opts).unwrap_err().to_string();
        assert!(msg.contains("`weights` has shape [2, 1]") && msg.contains("[3, 2]"), "{msg}");
    }

    #[test]
    fn hinge_margins_and_reduction_none() {
        let device = Device::default();
        let real = t64(&[0.0, 3.0], [2], &device);
        let fake = t64(&[-1.0, 0.5], [2], &device);
        let opts = WassersteinHingeDiscriminatorLossOptions {
            real_hinge: 2.0,
            generated_hinge: 0.5,
            reduction: Reduction::None,
            ..Default::default()
        };
        // relu(2 - real) = [2, 0]; relu(0.5 + fake) = [0, 1]
        let loss = wasserstein_hinge_discriminator_loss(real, fake, &opts).unwrap();
        assert_eq!(values(loss), vec![2.0, 1.0]);
        let g = wasserstein_hinge_generator_loss(t64(&[1.0, 2.0], [2], &device), &Default::default()).unwrap();
        assert_eq!(value(g), -1.5);
    }
}
