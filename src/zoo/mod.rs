//! Classic GANs on MNIST.
//!
//! - [`vanilla`]: the original GAN (Goodfellow et al. 2014) on MNIST with fully connected
//!   networks, per-epoch sample grids, an animated GIF, loss plots and a checkpoint: a complete,
//!   self-contained recipe matching the well-known script users compare against.
//! - [`classic`]: the zoo of `rgan train zoo --model NAME` (DCGAN, conditional GANs, WGAN,
//!   WGAN-GP, InfoGAN), each a [`TrainConfig`](crate::train::TrainConfig) and a pair of networks
//!   the ordinary [`Trainer`](crate::train::Trainer) trains.
//! - [`networks`]: the zoo's networks that TF-GAN's MNIST example does not provide.

pub mod classic;
pub mod networks;
pub mod vanilla;

pub use classic::{ZooDiscriminator, ZooGenerator, ZooModel};
pub use networks::{
    ConvDiscriminator, ConvDiscriminatorConfig, LEAKY_RELU_SLOPE, MlpDiscriminator, MlpDiscriminatorConfig,
    MlpGenerator, MlpGeneratorConfig, SeparateRecognizer,
};
pub use vanilla::{
    VanillaCheckpoint, VanillaDiscriminator, VanillaGanConfig, VanillaGenerator, VanillaStep, VanillaSummary,
    train_vanilla, train_vanilla_on,
};
