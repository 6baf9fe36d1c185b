//! The training configuration, with TF-GAN's MNIST example defaults.

use burn::prelude::*;

use crate::model::{MnistDiscriminatorConfig, MnistGeneratorConfig};

/// Which GAN game to play.
///
/// ```
/// assert_eq!(rgan::train::GanLossKind::default(), rgan::train::GanLossKind::Modified);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GanLossKind {
    /// TF-GAN's `modified_generator_loss` / `modified_discriminator_loss` with their defaults
    /// (the discriminator's one-sided label smoothing 0.25).
    #[default]
    Modified,
    /// TF-GAN's `gan_loss` default, the Wasserstein losses without a gradient penalty (what the
    /// unconditional MNIST example trains with; there the critic is also spectrally normalized).
    Wasserstein,
}

/// How the two networks' updates are ordered within one GAN step.
///
/// ```
/// assert_eq!(rgan::train::TrainSchedule::default(), rgan::train::TrainSchedule::Joint);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TrainSchedule {
    /// TF-GAN's `get_joint_train_hooks()` (the MNIST example): both gradients from the same
    /// pre-update state, then both updates.
    #[default]
    Joint,
    /// TF-GAN's `get_sequential_train_hooks()`: a generator update, then a discriminator update
    /// with fresh noise and the updated generator.
    Sequential,
}

/// Everything a training run needs, with TF-GAN's unconditional MNIST defaults (except
/// `steps`, 2000 here and 20000 in TF-GAN).
///
/// ```
/// let config = rgan::train::TrainConfig::new();
/// assert_eq!((config.batch_size, config.generator.noise_dims), (32, 64));
/// assert_eq!((config.generator_learning_rate, config.discriminator_learning_rate), (1e-3, 1e-4));
/// assert_eq!((config.adam_beta_1, config.adam_epsilon), (0.5, 1e-8));
/// ```
#[derive(Config, Debug)]
pub struct TrainConfig {
    /// The number of GAN steps to train to (absolute: a resumed run stops at the same step).
    /// Default 2000.
    #[config(default = 2000)]
    pub steps: usize,
    /// Real and generated examples per step. Default 32.
    #[config(default = 32)]
    pub batch_size: usize,
    /// The generator's Adam learning rate. Default 1e-3.
    #[config(default = 1e-3)]
    pub generator_learning_rate: f64,
    /// The discriminator's Adam learning rate. Default 1e-4.
    #[config(default = 1e-4)]
    pub discriminator_learning_rate: f64,
    /// Adam's β1 for both networks. Default 0.5.
    #[config(default = 0.5)]
    pub adam_beta_1: f64,
    /// Adam's β2 for both networks (TF's default). Default 0.999.
    #[config(default = 0.999)]
    pub adam_beta_2: f64,
    /// Adam's ε for both networks (TF's default; burn's is 1e-5). Default 1e-8.
    #[config(default = 1e-8)]
    pub adam_epsilon: f64,
    /// The GAN losses. Default [`GanLossKind::Modified`].
    #[config(default = "GanLossKind::Modified")]
    pub loss: GanLossKind,
    /// The update order. Default [`TrainSchedule::Joint`].
    #[config(default = "TrainSchedule::Joint")]
    pub schedule: TrainSchedule,
    /// The seed of every random draw (initialization, noise, shuffling). Default 0.
    #[config(default = 0)]
    pub seed: u64,
    /// Write a sample grid every this many steps (0: only at the end). Default 500.
    #[config(default = 500)]
    pub sample_every: usize,
    /// Write a checkpoint every this many steps (0: only at the end). Default 500.
    #[config(default = 500)]
    pub checkpoint_every: usize,
    /// Append losses to `scalars.csv` every this many steps. Default 10.
    #[config(default = 10)]
    pub log_every: usize,
    /// The sample grid is `grid_size × grid_size` images from fixed noise. Default 8.
    #[config(default = 8)]
    pub grid_size: usize,
    /// How many checkpoints to keep. Default 2.
    #[config(default = 2)]
    pub keep_checkpoints: usize,
    /// The generator.
    #[config(default = "MnistGeneratorConfig::new()")]
    pub generator: MnistGeneratorConfig,
    /// The discriminator.
    #[config(default = "MnistDiscriminatorConfig::new()")]
    pub discriminator: MnistDiscriminatorConfig,
}
