//! Relativistic average GAN losses (Jolicoeur-Martineau 2018): TF-GAN's standard (sigmoid)
//! form, plus the least-squares and hinge forms of the same paper, which TF-GAN lacks.
//!
//! With `Δr = D(x) - mean D(G(z))` and `Δf = D(G(z)) - mean D(x)` (the means over every element),
//! each loss is a plain mean over all elements: no weights, no reduction argument and, as in
//! TF-GAN, no float32 cast. The real and generated outputs need the same rank but not the same
//! shape.

use burn::prelude::*;

use super::minimax::sigmoid_cross_entropy_elementwise;
use crate::error::{Result, RganError};

/// The mean of all elements, with shape `[1; D]` so that it broadcasts.
fn mean_keep_rank<const D: usize>(t: Tensor<D>) -> Tensor<D> {
    crate::ops::mean(t).reshape([1usize; D])
}

/// `(Δr, Δf)`, after checking that neither output is empty.
fn relativistic_differences<const D: usize>(real: Tensor<D>, generated: Tensor<D>) -> Result<(Tensor<D>, Tensor<D>)> {
    for (name, t) in [("discriminator_real_outputs", &real), ("discriminator_gen_outputs", &generated)] {
        if t.shape().num_elements() == 0 {
            return Err(RganError::shape(name, &t.dims(), "which is empty; a relativistic loss needs its mean"));
        }
    }
    let delta_real = real.clone() - mean_keep_rank(generated.clone());
    let delta_gen = generated - mean_keep_rank(real);
    Ok((delta_real, delta_gen))
}

/// Mean sigmoid cross entropy of `logits` against a constant `label`.
fn mean_sigmoid_cross_entropy<const D: usize>(logits: Tensor<D>, label: f64) -> Tensor<D> {
    let labels = logits.ones_like().mul_scalar(label);
    mean_keep_rank(sigmoid_cross_entropy_elementwise(logits, labels))
}

/// Relativistic average discriminator loss, TF-GAN's `relativistic_discriminator_loss` (RaGAN):
/// `mean CE(1, Δr) + mean CE(0, Δf)` with sigmoid cross entropy. Result shape `[1; D]`.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::relativistic_discriminator_loss;
/// let device = Device::default();
/// let real = Tensor::<1>::from_floats([1.0, 3.0], &device);
/// let fake = Tensor::<1>::from_floats([2.0, 2.0], &device);
/// // Δr = [-1, 1], Δf = [0, 0]: mean(softplus(-Δr)) + mean(softplus(Δf))
/// let sp = |x: f32| (1.0 + x.exp()).ln();
/// let expected = (sp(1.0) + sp(-1.0)) / 2.0 + sp(0.0);
/// let loss = relativistic_discriminator_loss(real, fake).unwrap();
/// assert!((loss.into_scalar::<f32>() - expected).abs() < 1e-6);
/// ```
pub fn relativistic_discriminator_loss<const D: usize>(
    discriminator_real_outputs: Tensor<D>,
    discriminator_gen_outputs: Tensor<D>,
) -> Result<Tensor<D>> {
    let (delta_real, delta_gen) = relativistic_differences(discriminator_real_outputs, discriminator_gen_outputs)?;
    Ok(mean_sigmoid_cross_entropy(delta_real, 1.0) + mean_sigmoid_cross_entropy(delta_gen, 0.0))
}

/// Relativistic average generator loss, TF-GAN's `relativistic_generator_loss`: the
/// discriminator's loss with the labels swapped, `mean CE(0, Δr) + mean CE(1, Δf)`.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::relativistic_generator_loss;
/// let device = Device::default();
/// let real = Tensor::<2>::from_floats([[0.5], [0.5]], &device);
/// let fake = Tensor::<2>::from_floats([[0.5], [0.5]], &device);
/// // Δr = Δf = 0: 2 ln 2
/// let loss = relativistic_generator_loss(real, fake).unwrap();
/// assert!((loss.into_scalar::<f32>() - 2.0 * std::f32::consts::LN_2).abs() < 1e-6);
/// ```
pub fn relativistic_generator_loss<const D: usize>(
    discriminator_real_outputs: Tensor<D>,
    discriminator_gen_outputs: Tensor<D>,
) -> Result<Tensor<D>> {
    let (delta_real, delta_gen) = relativistic_differences(discriminator_real_outputs, discriminator_gen_outputs)?;
    Ok(mean_sigmoid_cross_entropy(delta_real, 0.0) + mean_sigmoid_cross_entropy(delta_gen, 1.0))
}

/// Relativistic average least-squares discriminator loss (RaLSGAN, Jolicoeur-Martineau 2018;
/// not in TF-GAN): `mean((Δr - 1)^2) + mean((Δf + 1)^2)`, as in the paper (no factor 1/2).
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::relativistic_average_least_squares_discriminator_loss;
/// let device = Device::default();
/// let real = Tensor::<1>::from_floats([2.0, 4.0], &device); // mean 3
/// let fake = Tensor::<1>::from_floats([0.0, 2.0], &device); // mean 1
/// // Δr = [1, 3] → (0 + 4) / 2 = 2;  Δf = [-3, -1] → (4 + 0) / 2 = 2
/// let loss = relativistic_average_least_squares_discriminator_loss(real, fake).unwrap();
/// assert_eq!(loss.into_scalar::<f32>(), 4.0);
/// ```
pub fn relativistic_average_least_squares_discriminator_loss<const D: usize>(
    discriminator_real_outputs: Tensor<D>,
    discriminator_gen_outputs: Tensor<D>,
) -> Result<Tensor<D>> {
    let (delta_real, delta_gen) = relativistic_differences(discriminator_real_outputs, discriminator_gen_outputs)?;
    Ok(mean_keep_rank(delta_real.sub_scalar(1.0).square()) + mean_keep_rank(delta_gen.add_scalar(1.0).square()))
}

/// Relativistic average least-squares generator loss (RaLSGAN; not in TF-GAN):
/// `mean((Δf - 1)^2) + mean((Δr + 1)^2)`.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::relativistic_average_least_squares_generator_loss;
/// let device = Device::default();
/// let real = Tensor::<1>::from_floats([2.0, 4.0], &device);
/// let fake = Tensor::<1>::from_floats([0.0, 2.0], &device);
/// // Δf = [-3, -1] → (16 + 4) / 2 = 10;  Δr = [1, 3] → (4 + 16) / 2 = 10
/// let loss = relativistic_average_least_squares_generator_loss(real, fake).unwrap();
/// assert_eq!(loss.into_scalar::<f32>(), 20.0);
/// ```
pub fn relativistic_average_least_squares_generator_loss<const D: usize>(
    discriminator_real_outputs: Tensor<D>,
    discriminator_gen_outputs: Tensor<D>,
) -> Result<Tensor<D>> {
    let (delta_real, delta_gen) = relativistic_differences(discriminator_real_outputs, discriminator_gen_outputs)?;
    Ok(mean_keep_rank(delta_gen.sub_scalar(1.0).square()) + mean_keep_rank(delta_real.add_scalar(1.0).square()))
}

/// Relativistic average hinge discriminator loss (not in TF-GAN):
/// `mean(relu(1 - Δr)) + mean(relu(1 + Δf))`.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::relativistic_average_hinge_discriminator_loss;
/// let device = Device::default();
/// let real = Tensor::<1>::from_floats([2.0, 4.0], &device);
/// let fake = Tensor::<1>::from_floats([0.0, 2.0], &device);
/// // Δr = [1, 3] → relu(1 - Δr) = [0, 0];  Δf = [-3, -1] → relu(1 + Δf) = [0, 0]
/// let loss = relativistic_average_hinge_discriminator_loss(real, fake).unwrap();
/// assert_eq!(loss.into_scalar::<f32>(), 0.0);
/// ```
pub fn relativistic_average_hinge_discriminator_loss<const D: usize>(
    discriminator_real_outputs: Tensor<D>,
    discriminator_gen_outputs: Tensor<D>,
) -> Result<Tensor<D>> {
    let (delta_real, delta_gen) = relativistic_differences(discriminator_real_outputs, discriminator_gen_outputs)?;
    Ok(mean_keep_rank(delta_real.neg().add_scalar(1.0).clamp_min(0.0))
        + mean_keep_rank(delta_gen.add_scalar(1.0).clamp_min(0.0)))
}

/// Relativistic average hinge generator loss (not in TF-GAN):
/// `mean(relu(1 - Δf)) + mean(relu(1 + Δr))`.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::relativistic_average_hinge_generator_loss;
/// let device = Device::default();
/// let real = Tensor::<1>::from_floats([2.0, 4.0], &device);
/// let fake = Tensor::<1>::from_floats([0.0, 2.0], &device);
/// // Δf = [-3, -1] → [4, 2] → 3;  Δr = [1, 3] → [2, 4] → 3
/// let loss = relativistic_average_hinge_generator_loss(real, fake).unwrap();
/// assert_eq!(loss.into_scalar::<f32>(), 6.0);
/// ```
pub fn relativistic_average_hinge_generator_loss<const D: usize>(
    discriminator_real_outputs: Tensor<D>,
    discriminator_gen_outputs: Tensor<D>,
) -> Result<Tensor<D>> {
    let (delta_real, delta_gen) = relativistic_differences(discriminator_real_outputs, discriminator_gen_outputs)?;
    Ok(mean_keep_rank(delta_gen.neg().add_scalar(1.0).clamp_min(0.0))
        + mean_keep_rank(delta_real.add_scalar(1.0).clamp_min(0.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::losses::test_util::{check_gradients, t64, value};

    // Real and generated outputs of different batch sizes: mean real 0.5, mean generated 0.4, so
    // Δr = [0.1, -1.4, 1.6] and Δf = [0.5, -0.7] (all away from the hinge kinks).
    const REAL: [f64; 3] = [0.5, -1.0, 2.0];
    const GEN: [f64; 2] = [1.0, -0.2];

    fn losses(f: fn(Tensor<1>, Tensor<1>) -> Result<Tensor<1>>) -> f64 {
        let device = Device::default();
        value(f(t64(&REAL, [3], &device), t64(&GEN, [2], &device)).unwrap())
    }

    fn close(got: f64, expected: f64) {
        assert!((got - expected).abs() < 1e-12, "got {got}, expected {expected}");
    }

    #[test]
    fn closed_forms() {
        let softplus = |x: f64| (1.0 + x.exp()).ln();
        let (dr, df) = ([0.1, -1.4, 1.6], [0.5, -0.7]);
        let mean = |v: &[f64], f: &dyn Fn(f64) -> f64| v.iter().map(|&x| f(x)).sum::<f64>() / v.len() as f64;
        close(losses(relativistic_discriminator_loss), mean(&dr, &|x| softplus(-x)) + mean(&df, &|x| softplus(x)));
        close(losses(relativistic_generator_loss), mean(&dr, &|x| softplus(x)) + mean(&df, &|x| softplus(-x)));
        // (Δr - 1)^2 = [0.81, 5.76, 0.36], (Δf + 1)^2 = [2.25, 0.09]
        close(losses(relativistic_average_least_squares_discriminator_loss), 6.93 / 3.0 + 2.34 / 2.0);
        // (Δf - 1)^2 = [0.25, 2.89], (Δr + 1)^2 = [1.21, 0.16, 6.76]
        close(losses(relativistic_average_least_squares_generator_loss), (0.25 + 2.89) / 2.0 + 8.13 / 3.0);
        // relu(1 - Δr) = [0.9, 2.4, 0], relu(1 + Δf) = [1.5, 0.3]
        close(losses(relativistic_average_hinge_discriminator_loss), 3.3 / 3.0 + 1.8 / 2.0);
        // relu(1 - Δf) = [0.5, 1.7], relu(1 + Δr) = [1.1, 0, 2.6]
        close(losses(relativistic_average_hinge_generator_loss), 2.2 / 2.0 + 3.7 / 3.0);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let all: [fn(Tensor<1>, Tensor<1>) -> Result<Tensor<1>>; 6] = [
            relativistic_discriminator_loss,
            relativistic_generator_loss,
            relativistic_average_least_squares_discriminator_loss,
            relativistic_average_least_squares_generator_loss,
            relativistic_average_hinge_discriminator_loss,
            relativistic_average_hinge_generator_loss,
        ];
        for f in all {
            check_gradients(|r, g| f(r, g).unwrap(), (&REAL, [3]), (&GEN, [2]));
        }
    }

    #[test]
    fn result_is_reduced_and_keeps_the_rank() {
        let device = Device::default();
        let real = t64(&[1.0, 2.0, 3.0, 4.0], [2, 2], &device);
        let fake = t64(&[0.0, 1.0], [2, 1], &device);
        let loss = relativistic_average_hinge_generator_loss(real, fake).unwrap();
        assert_eq!(loss.dims(), [1, 1]);
    }

    #[test]
    fn empty_outputs_are_an_error() {
        let device = Device::default();
        let err = relativistic_discriminator_loss(t64(&[], [0], &device), t64(&[1.0], [1], &device)).unwrap_err();
        assert!(err.to_string().contains("discriminator_real_outputs"), "{err}");
    }
}
