//! Ready-made GAN networks: TF-GAN's MNIST generator and discriminator.
//!
//! Parameters are initialized from rgan's seeded [`Rng`](crate::rng::Rng) with TF's default
//! initializers (Glorot-uniform kernels, zero biases, BN gamma 1 and beta 0), so a run is
//! reproducible from its seed on every backend.

mod init;
mod mnist;

pub use init::{glorot_uniform, zeros};
pub use mnist::{BatchNormMode, MnistDiscriminator, MnistDiscriminatorConfig, MnistGenerator, MnistGeneratorConfig};
