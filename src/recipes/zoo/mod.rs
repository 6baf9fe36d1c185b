//! The classic GAN zoo on MNIST (`rgan train zoo --model NAME`): DCGAN, conditional GANs, WGANs,
//! WGAN-GP and InfoGANs, each a [`ZooRecipe`] (its networks, in [`networks`] where TF-GAN's MNIST
//! example does not provide them) and a [`TrainConfig`](crate::train::TrainConfig) from its
//! paper ([`ZooModel::train_config`]), trained by the ordinary
//! [`GanStep`](crate::train::GanStep).

pub mod classic;
pub mod networks;

pub use classic::{ZooDiscriminator, ZooGenerator, ZooModel, ZooRecipe, ZooStep};
pub use networks::{
    ConvDiscriminator, ConvDiscriminatorConfig, LEAKY_RELU_SLOPE, MlpDiscriminator, MlpDiscriminatorConfig,
    MlpGenerator, MlpGeneratorConfig, SeparateRecognizer,
};
