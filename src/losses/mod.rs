//! TF-GAN's losses (`tfgan.losses`), with its argument names and defaults, plus a few common
//! losses TF-GAN lacks (hinge generator, relativistic average least-squares and hinge, feature
//! matching).
//!
//! Every loss takes the discriminator's outputs as burn tensors of any rank `D` and an options
//! struct whose `Default` is TF-GAN's defaults. Reduced losses have shape `[1; D]`. Weights are
//! a scalar or a tensor broadcastable to the per-element loss ([`Weights`]), and the reduction is
//! one of TF's five ([`Reduction`]).
//!
//! | family | TF-GAN losses |
//! |---|---|
//! | minimax / modified | [`minimax_generator_loss`], [`minimax_discriminator_loss`], [`modified_generator_loss`], [`modified_discriminator_loss`] |
//! | Wasserstein | [`wasserstein_generator_loss`], [`wasserstein_discriminator_loss`], [`wasserstein_hinge_generator_loss`], [`wasserstein_hinge_discriminator_loss`] |
//! | least squares | [`least_squares_generator_loss`], [`least_squares_discriminator_loss`] |
//! | relativistic | [`relativistic_generator_loss`], [`relativistic_discriminator_loss`] |
//! | ACGAN | [`acgan_generator_loss`], [`acgan_discriminator_loss`] |
//! | InfoGAN | [`mutual_information_penalty`] |
//! | CycleGAN | [`cycle_consistency_loss`] |
//! | combining | [`combine_adversarial_loss`] |
mod acgan;
mod combine;
mod cycle;
mod extra;
mod info;
mod least_squares;
mod minimax;
mod options;
mod reduction;
mod relativistic;
#[cfg(test)]
mod test_util;
mod wasserstein;

pub use acgan::{AcganDiscriminatorLossOptions, acgan_discriminator_loss, acgan_generator_loss};
pub use combine::{
    CombineAdversarialLossOptions, GradientMagnitudes, adversarial_coefficient, combine_adversarial_loss,
    module_gradient_magnitude, numerically_stable_global_norm,
};
pub use cycle::cycle_consistency_loss;
pub use extra::{feature_matching_loss, hinge_generator_loss};
pub use info::{Distribution, StructuredInput, mutual_information_penalty};
pub use least_squares::{
    LeastSquaresDiscriminatorLossOptions, LeastSquaresGeneratorLossOptions, least_squares_discriminator_loss,
    least_squares_generator_loss,
};
pub use minimax::{
    DiscriminatorLossOptions, GeneratorLossOptions, minimax_discriminator_loss, minimax_generator_loss,
    modified_discriminator_loss, modified_generator_loss,
};
pub use options::{WeightedDiscriminatorLossOptions, WeightedLossOptions};
pub use reduction::{Reduction, Weights, compute_weighted_loss};
pub use relativistic::{
    relativistic_average_hinge_discriminator_loss, relativistic_average_hinge_generator_loss,
    relativistic_average_least_squares_discriminator_loss, relativistic_average_least_squares_generator_loss,
    relativistic_discriminator_loss, relativistic_generator_loss,
};
pub use wasserstein::{
    WassersteinHingeDiscriminatorLossOptions, wasserstein_discriminator_loss, wasserstein_generator_loss,
    wasserstein_hinge_discriminator_loss, wasserstein_hinge_generator_loss,
};
