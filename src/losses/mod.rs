//! TF-GAN's losses (`tfgan.losses`), with its argument names and defaults.
//!
//! Every loss takes the discriminator's outputs as burn tensors of any rank `D` and an options
//! struct whose `Default` is TF-GAN's defaults. Reduced losses have shape `[1; D]`.
mod minimax;
mod reduction;

pub use minimax::{
    DiscriminatorLossOptions, GeneratorLossOptions, minimax_discriminator_loss, minimax_generator_loss,
    modified_discriminator_loss, modified_generator_loss,
};
pub use reduction::{Reduction, Weights, compute_weighted_loss};
