//! The original GAN losses (Goodfellow et al. 2014): minimax and modified (non-saturating).

use burn::prelude::*;

use super::reduction::{Reduction, Weights, weighted_loss};
use crate::error::{Result, RganError};

/// Optional arguments of a generator loss, with TF-GAN's defaults (`label_smoothing = 0`,
/// `weights = 1`, `reduction = SUM_BY_NONZERO_WEIGHTS`).
///
/// ```
/// use rgan::losses::{GeneratorLossOptions, Reduction};
/// let opts = GeneratorLossOptions::<2> { label_smoothing: 0.1, ..Default::default() };
/// assert_eq!(opts.reduction, Reduction::SumByNonzeroWeights);
/// ```
#[derive(Clone, Debug, Default)]
pub struct GeneratorLossOptions<const D: usize> {
    /// Amount of smoothing of the "real" label: labels become `1 - label_smoothing / 2`.
    pub label_smoothing: f64,
    /// Per-element weights of the loss (a scalar or a tensor broadcastable to the outputs).
    pub weights: Weights<D>,
    /// How the weighted per-element loss is reduced.
    pub reduction: Reduction,
}

/// Optional arguments of a discriminator loss, with TF-GAN's defaults for the minimax and
/// modified losses (`label_smoothing = 0.25`, both weights 1, `SUM_BY_NONZERO_WEIGHTS`).
///
/// ```
/// use rgan::losses::DiscriminatorLossOptions;
/// let opts = DiscriminatorLossOptions::<2>::default();
/// assert_eq!(opts.label_smoothing, 0.25);
/// ```
#[derive(Clone, Debug)]
pub struct DiscriminatorLossOptions<const D: usize> {
    /// One-sided label smoothing of the real labels (`1 - label_smoothing / 2`); generated labels
    /// stay 0, as in TF-GAN.
    pub label_smoothing: f64,
    /// Weights of the loss on real data.
    pub real_weights: Weights<D>,
    /// Weights of the loss on generated data.
    pub generated_weights: Weights<D>,
    /// How each weighted per-element loss is reduced.
    pub reduction: Reduction,
}

impl<const D: usize> Default for DiscriminatorLossOptions<D> {
    fn default() -> Self {
        Self {
            label_smoothing: 0.25,
            real_weights: Weights::default(),
            generated_weights: Weights::default(),
            reduction: Reduction::default(),
        }
    }
}

/// Elementwise `sigmoid_cross_entropy_with_logits(labels, logits)` in TF's stable form
/// `max(x, 0) - x * z + log(1 + exp(-|x|))`.
pub(crate) fn sigmoid_cross_entropy_elementwise<const D: usize>(logits: Tensor<D>, labels: Tensor<D>) -> Tensor<D> {
    let relu = logits.clone().clamp_min(0.0);
    let softplus_neg_abs = logits.clone().abs().neg().exp().log1p();
    relu - logits * labels + softplus_neg_abs
}

/// `tf.compat.v1.losses.sigmoid_cross_entropy` with a constant label, label smoothing,
/// weights and reduction.
pub(crate) fn sigmoid_cross_entropy<const D: usize>(
    logits: Tensor<D>,
    label: f64,
    label_smoothing: f64,
    weights: &Weights<D>,
    reduction: Reduction,
    weights_argument: &str,
    logits_argument: &str,
) -> Result<Tensor<D>> {
    let smoothed = label * (1.0 - label_smoothing) + 0.5 * label_smoothing;
    let labels = logits.ones_like().mul_scalar(smoothed);
    let losses = sigmoid_cross_entropy_elementwise(logits, labels);
    weighted_loss(losses, weights, reduction, weights_argument, logits_argument)
}

pub(crate) fn check_same_shape(a: &str, a_shape: &[usize], b: &str, b_shape: &[usize]) -> Result<()> {
    if a_shape != b_shape {
        return Err(RganError::shape(a, a_shape, format!("but `{b}` has shape {b_shape:?}; they must be equal")));
    }
    Ok(())
}

/// Modified (non-saturating) generator loss, TF-GAN's `modified_generator_loss`:
/// `-log(sigmoid(D(G(z))))`, i.e. sigmoid cross entropy against label 1.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::{modified_generator_loss, GeneratorLossOptions};
/// let device = Device::default();
/// let logits = Tensor::<2>::from_floats([[0.0], [0.0]], &device);
/// let loss = modified_generator_loss(logits, &GeneratorLossOptions::default()).unwrap();
/// assert!((loss.into_scalar::<f32>() - std::f32::consts::LN_2).abs() < 1e-6);
/// ```
pub fn modified_generator_loss<const D: usize>(
    discriminator_gen_outputs: Tensor<D>,
    options: &GeneratorLossOptions<D>,
) -> Result<Tensor<D>> {
    sigmoid_cross_entropy(
        discriminator_gen_outputs,
        1.0,
        options.label_smoothing,
        &options.weights,
        options.reduction,
        "weights",
        "discriminator_gen_outputs",
    )
}

/// Minimax (saturating) generator loss, TF-GAN's `minimax_generator_loss`.
///
/// As in TF-GAN this is literally `-minimax_discriminator_loss(ones_like(g), g, label_smoothing,
/// weights, weights)`: the "real logits" are the constant 1, so the value is
/// `-(reduce(CE(1 smoothed, logit 1)) + reduce(CE(0, D(G(z)))))`, i.e. `log(1 - sigmoid(D(G(z))))`
/// reduced, plus the constant `-CE(1 smoothed, 1)` (≈ -0.313 without smoothing). The constant
/// does not change the gradient.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::{minimax_generator_loss, GeneratorLossOptions};
/// let device = Device::default();
/// let logits = Tensor::<1>::from_floats([0.0, 0.0], &device);
/// let loss = minimax_generator_loss(logits, &GeneratorLossOptions::default()).unwrap();
/// let constant = (1.0f32 + (-1.0f32).exp()).ln(); // CE(1, logit 1) = softplus(-1)
/// assert!((loss.into_scalar::<f32>() + std::f32::consts::LN_2 + constant).abs() < 1e-6);
/// ```
pub fn minimax_generator_loss<const D: usize>(
    discriminator_gen_outputs: Tensor<D>,
    options: &GeneratorLossOptions<D>,
) -> Result<Tensor<D>> {
    let weights = &options.weights;
    let real_logits = discriminator_gen_outputs.ones_like();
    let arg = "discriminator_gen_outputs";
    let on_real =
        sigmoid_cross_entropy(real_logits, 1.0, options.label_smoothing, weights, options.reduction, "weights", arg)?;
    let on_generated =
        sigmoid_cross_entropy(discriminator_gen_outputs, 0.0, 0.0, weights, options.reduction, "weights", arg)?;
    Ok((on_real + on_generated).neg())
}

/// Minimax discriminator loss, TF-GAN's `minimax_discriminator_loss`: sigmoid cross entropy of
/// real outputs against (smoothed) label 1 plus generated outputs against label 0, each weighted
/// and reduced on its own.
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::{minimax_discriminator_loss, DiscriminatorLossOptions};
/// let device = Device::default();
/// let real = Tensor::<1>::from_floats([0.0], &device);
/// let fake = Tensor::<1>::from_floats([0.0], &device);
/// let opts = DiscriminatorLossOptions { label_smoothing: 0.0, ..Default::default() };
/// let loss = minimax_discriminator_loss(real, fake, &opts).unwrap();
/// assert!((loss.into_scalar::<f32>() - 2.0 * std::f32::consts::LN_2).abs() < 1e-6);
/// ```
pub fn minimax_discriminator_loss<const D: usize>(
    discriminator_real_outputs: Tensor<D>,
    discriminator_gen_outputs: Tensor<D>,
    options: &DiscriminatorLossOptions<D>,
) -> Result<Tensor<D>> {
    let on_real = sigmoid_cross_entropy(
        discriminator_real_outputs,
        1.0,
        options.label_smoothing,
        &options.real_weights,
        options.reduction,
        "real_weights",
        "discriminator_real_outputs",
    )?;
    let on_generated = sigmoid_cross_entropy(
        discriminator_gen_outputs,
        0.0,
        0.0,
        &options.generated_weights,
        options.reduction,
        "generated_weights",
        "discriminator_gen_outputs",
    )?;
    if options.reduction == Reduction::None {
        check_same_shape(
            "discriminator_real_outputs",
            &on_real.dims(),
            "discriminator_gen_outputs",
            &on_generated.dims(),
        )?;
    }
    Ok(on_real + on_generated)
}

/// Modified discriminator loss, TF-GAN's `modified_discriminator_loss`: identical to
/// [`minimax_discriminator_loss`] (only the generator's loss differs between the two games).
///
/// ```
/// use burn::prelude::*;
/// use rgan::losses::{modified_discriminator_loss, DiscriminatorLossOptions};
/// let device = Device::default();
/// let real = Tensor::<2>::from_floats([[3.0], [2.0]], &device);
/// let fake = Tensor::<2>::from_floats([[-3.0], [-2.0]], &device);
/// let loss = modified_discriminator_loss(real, fake, &DiscriminatorLossOptions::default()).unwrap();
/// assert!(loss.into_scalar::<f32>() > 0.0);
/// ```
pub fn modified_discriminator_loss<const D: usize>(
    discriminator_real_outputs: Tensor<D>,
    discriminator_gen_outputs: Tensor<D>,
    options: &DiscriminatorLossOptions<D>,
) -> Result<Tensor<D>> {
    minimax_discriminator_loss(discriminator_real_outputs, discriminator_gen_outputs, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::losses::test_util::{t64, value};

    #[test]
    fn minimax_generator_loss_is_minus_the_discriminator_loss_on_constant_real_logits() {
        let device = Device::default();
        let g = t64(&[0.3, -1.2, 2.0], [3], &device);
        let opts = GeneratorLossOptions { label_smoothing: 0.2, ..Default::default() };
        let d_opts = DiscriminatorLossOptions { label_smoothing: 0.2, ..Default::default() };
        let expected = -value(minimax_discriminator_loss(g.ones_like(), g.clone(), &d_opts).unwrap());
        assert!((value(minimax_generator_loss(g, &opts).unwrap()) - expected).abs() < 1e-12);
    }

    #[test]
    fn weights_errors_name_the_weights_and_the_outputs() {
        let device = Device::default();
        let outputs = t64(&[0.0; 4], [4, 1], &device);
        let opts = DiscriminatorLossOptions {
            real_weights: Weights::Tensor(t64(&[1.0; 3], [3, 1], &device)),
            ..Default::default()
        };
        let msg = modified_discriminator_loss(outputs.clone(), outputs.clone(), &opts).unwrap_err().to_string();
        assert!(msg.contains("`real_weights` has shape [3, 1]"), "{msg}");
        assert!(msg.contains("`discriminator_real_outputs` of shape [4, 1]"), "{msg}");
        let opts =
            GeneratorLossOptions { weights: Weights::Tensor(t64(&[1.0; 2], [1, 2], &device)), ..Default::default() };
        let msg = minimax_generator_loss(outputs, &opts).unwrap_err().to_string();
        assert!(msg.contains("`weights` has shape [1, 2]") && msg.contains("discriminator_gen_outputs"), "{msg}");
    }
}
