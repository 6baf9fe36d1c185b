//! TF-GAN's first step, the GAN model: the [`GanGenerator`] and [`GanDiscriminator`] traits any
//! burn module can implement, [`GanModel`] to run them on a batch, and ready-made networks
//! (TF-GAN's MNIST generator and discriminator in their unconditional, conditional, InfoGAN and
//! ACGAN variants; DCGAN networks for square images).
//!
//! Parameters are initialized from rgan's seeded [`Rng`](crate::rng::Rng) with TF's default
//! initializers (Glorot-uniform kernels, zero biases, BN gamma 1 and beta 0), so a run is
//! reproducible from its seed on every backend.

mod dcgan;
mod gan;
mod init;
mod mnist;

pub use dcgan::{DcganDiscriminator, DcganDiscriminatorConfig, DcganGenerator, DcganGeneratorConfig, DcganNetworks};
pub(crate) use gan::check_generated_shape;
pub use gan::{
    DiscriminatorOutput, GanDiscriminator, GanGenerator, GanModel, GanOutputs, GeneratorInputs, frozen, one_hot,
};
pub use init::{glorot_conv2d, glorot_linear, glorot_uniform, zeros};
pub(crate) use mnist::batch_norm_act;
pub use mnist::{BatchNormMode, MnistDiscriminator, MnistDiscriminatorConfig, MnistGenerator, MnistGeneratorConfig};
