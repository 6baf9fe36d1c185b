//! Options shared by several loss families: weights and a reduction, on one side or on both.

use super::reduction::{Reduction, Weights};

/// Weights and reduction of a one-sided loss, with TF-GAN's defaults (`weights = 1`,
/// `reduction = SUM_BY_NONZERO_WEIGHTS`).
///
/// Used by [`wasserstein_generator_loss`](super::wasserstein_generator_loss),
/// [`wasserstein_hinge_generator_loss`](super::wasserstein_hinge_generator_loss),
/// [`hinge_generator_loss`](super::hinge_generator_loss),
/// [`acgan_generator_loss`](super::acgan_generator_loss) and
/// [`mutual_information_penalty`](super::mutual_information_penalty).
///
/// ```
/// use rgan::losses::{Reduction, WeightedLossOptions};
/// let opts = WeightedLossOptions::<2> { weights: 0.5.into(), ..Default::default() };
/// assert_eq!(opts.reduction, Reduction::SumByNonzeroWeights);
/// ```
#[derive(Clone, Debug, Default)]
pub struct WeightedLossOptions<const D: usize> {
    /// Per-element weights of the loss (a scalar or a tensor broadcastable to the loss).
    pub weights: Weights<D>,
    /// How the weighted per-element loss is reduced.
    pub reduction: Reduction,
}

/// Weights and reduction of a two-sided (discriminator) loss, with TF-GAN's defaults (both
/// weights 1, `reduction = SUM_BY_NONZERO_WEIGHTS`).
///
/// Used by [`wasserstein_discriminator_loss`](super::wasserstein_discriminator_loss).
///
/// ```
/// use rgan::losses::WeightedDiscriminatorLossOptions;
/// let opts = WeightedDiscriminatorLossOptions::<2> { generated_weights: 0.7.into(), ..Default::default() };
/// assert!(matches!(opts.real_weights, rgan::losses::Weights::Scalar(w) if w == 1.0));
/// ```
#[derive(Clone, Debug, Default)]
pub struct WeightedDiscriminatorLossOptions<const D: usize> {
    /// Weights of the loss on real data.
    pub real_weights: Weights<D>,
    /// Weights of the loss on generated data.
    pub generated_weights: Weights<D>,
    /// How each weighted per-element loss is reduced.
    pub reduction: Reduction,
}
