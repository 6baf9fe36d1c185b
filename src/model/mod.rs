//! TF-GAN's first step, the GAN model: the [`GanGenerator`] and [`GanDiscriminator`] traits any
//! burn module can implement, over any generator inputs ([`GanInputs`]); [`GanModel`] to run them
//! on a batch; TF-GAN's CycleGAN and StarGAN models ([`cyclegan_model`], [`stargan_model`]).
//!
//! The networks of rgan's examples (TF-GAN's MNIST networks, DCGAN, the zoo, the image-to-image
//! networks) are recipes, a layer above the training loop (`rgan::recipes`). The initializers
//! here draw from rgan's seeded [`Rng`](crate::rng::Rng) with TF's defaults (Glorot-uniform
//! kernels, zero biases), so a run is reproducible from its seed on every backend.

mod cyclegan;
mod gan;
mod init;
mod inputs;
mod stargan;

pub use cyclegan::{CycleGanModel, CycleGanOutputs, cyclegan_model};
pub(crate) use gan::check_generated_shape;
pub use gan::{
    BatchNormMode, DiscriminatorOutput, GanDiscriminator, GanGenerator, GanModel, GanOutputs, ImageClassifier,
    all_finite, frozen, parameters_finite,
};
pub use init::{glorot_conv2d, glorot_linear, glorot_uniform, zeros};
pub(crate) use inputs::class_ids;
pub use inputs::{GanInputs, GeneratorInputs, ImagesAndLabels, NoiseInputs, one_hot};
pub use stargan::{StarGanOutputs, stargan_model, stargan_model_with_targets};
pub(crate) use stargan::{domain_logits, random_domains};
