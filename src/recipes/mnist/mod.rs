//! TF-GAN's MNIST example (§2.1): its unconditional, conditional and InfoGAN networks, and an
//! ACGAN built on them, with the example's training configuration.

mod networks;

use burn::prelude::*;

pub use networks::{MnistDiscriminator, MnistDiscriminatorConfig, MnistGenerator, MnistGeneratorConfig};

use super::Recipe;
use crate::data::{ImageBatches, ImageDataset};
use crate::error::{Result, RganError};
use crate::model::{GanModel, NoiseInputs};
use crate::train::{GanLossConfig, GanLossKind, GanStep, OptimizerConfig, Resume, Seeds, TrainConfig, Trainer};

/// Which of TF-GAN's MNIST GANs.
///
/// ```
/// assert_eq!(rgan::recipes::mnist::GanKind::default(), rgan::recipes::mnist::GanKind::Unconditional);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GanKind {
    /// Noise in, digits out.
    #[default]
    Unconditional,
    /// Noise and one-hot labels in (TF-GAN's conditional example).
    Conditional,
    /// Noise and structured codes in; the discriminator's recognizer predicts the codes.
    InfoGan,
    /// Conditional networks with an auxiliary classifier head on the discriminator.
    AcGan,
}

/// A GAN of TF-GAN's MNIST networks: which kind, and both networks' configurations.
///
/// ```
/// use rgan::recipes::mnist::{GanKind, MnistRecipe};
/// let recipe = MnistRecipe::for_kind(GanKind::InfoGan);
/// let inputs = recipe.noise_inputs();
/// assert_eq!(inputs.noise_dims + inputs.categorical_dim + inputs.continuous_dim, 74);
/// assert!(!recipe.discriminator.batch_norm);
/// assert_eq!(recipe.train_config().loss.mutual_information_penalty_weight, Some(1.0));
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct MnistRecipe {
    /// Which GAN. Default unconditional.
    #[config(default = "GanKind::Unconditional")]
    pub kind: GanKind,
    /// The generator. Default TF-GAN's unconditional generator.
    #[config(default = "MnistGeneratorConfig::new()")]
    pub generator: MnistGeneratorConfig,
    /// The discriminator. Default TF-GAN's unconditional discriminator.
    #[config(default = "MnistDiscriminatorConfig::new()")]
    pub discriminator: MnistDiscriminatorConfig,
}

impl Default for MnistRecipe {
    fn default() -> Self {
        Self::new()
    }
}

/// The step that trains an MNIST recipe.
pub type MnistStep = GanStep<MnistGenerator, MnistDiscriminator, NoiseInputs>;

impl MnistRecipe {
    /// TF-GAN's networks for `kind`.
    ///
    /// One departure: the InfoGAN discriminator has **no batch norm** after its dense 1024
    /// layer. With TF-GAN's batch norm (batch statistics of the generated batch alone) the
    /// modified losses let the generator collapse to one checkerboard image within 150 steps:
    /// batch norm removes the generated batch's mean, so a batch of identical images is not
    /// penalized. The same networks in PyTorch collapse the same way; without the batch norm
    /// they learn digits (`docs/RESULTS.md`).
    ///
    /// ```
    /// use rgan::recipes::mnist::{GanKind, MnistRecipe};
    /// assert!(MnistRecipe::for_kind(GanKind::AcGan).discriminator.batch_norm);
    /// ```
    pub fn for_kind(kind: GanKind) -> Self {
        let recipe = Self::new().with_kind(kind);
        match kind {
            GanKind::Unconditional => recipe,
            GanKind::Conditional => recipe
                .with_generator(MnistGeneratorConfig::new().with_num_classes(10))
                .with_discriminator(MnistDiscriminatorConfig::new().with_num_classes(10)),
            GanKind::InfoGan => recipe
                .with_generator(
                    MnistGeneratorConfig::new().with_noise_dims(62).with_categorical_dim(10).with_continuous_dim(2),
                )
                .with_discriminator(
                    MnistDiscriminatorConfig::new()
                        .with_categorical_dim(10)
                        .with_continuous_dim(2)
                        .with_batch_norm(false),
                ),
            GanKind::AcGan => recipe
                .with_generator(MnistGeneratorConfig::new().with_num_classes(10))
                .with_discriminator(MnistDiscriminatorConfig::new().with_num_classes(10).with_aux_classes(10)),
        }
    }

    /// TF-GAN's MNIST example's training configuration for the recipe's kind (§2.1): batch 32,
    /// Adam with β1 0.5, joint updates, and per kind:
    ///
    /// | kind | G lr | D lr | losses |
    /// |---|---|---|---|
    /// | unconditional | 1e-3 | 1e-4 | Wasserstein (spectrally normalized D, no penalty) |
    /// | conditional | 1e-5 | 1e-4 | Wasserstein |
    /// | InfoGAN | 1e-4 | 1e-4 | modified + mutual information 1.0 (codes: 10 categories, 2 continuous, noise 62) |
    /// | ACGAN | 1e-4 | 1e-4 | modified + ACGAN terms with weight 1 (rgan's choice: TF-GAN has no ACGAN example) |
    ///
    /// ```
    /// use rgan::recipes::mnist::{GanKind, MnistRecipe};
    /// use rgan::train::TrainConfig;
    /// assert_eq!(MnistRecipe::new().train_config(), TrainConfig::new());
    /// assert_eq!(MnistRecipe::for_kind(GanKind::Conditional).train_config().generator_optimizer.learning_rate, 1e-5);
    /// ```
    pub fn train_config(&self) -> TrainConfig {
        let config = TrainConfig::new();
        match self.kind {
            GanKind::Unconditional => config,
            GanKind::Conditional => config.with_generator_optimizer(OptimizerConfig::new(1e-5)),
            GanKind::InfoGan => config.with_generator_optimizer(OptimizerConfig::new(1e-4)).with_loss(
                GanLossConfig::new().with_loss(GanLossKind::Modified).with_mutual_information_penalty_weight(Some(1.0)),
            ),
            GanKind::AcGan => config.with_generator_optimizer(OptimizerConfig::new(1e-4)).with_loss(
                GanLossConfig::new()
                    .with_loss(GanLossKind::Modified)
                    .with_aux_cond_generator_weight(Some(1.0))
                    .with_aux_cond_discriminator_weight(Some(1.0)),
            ),
        }
    }

    /// How the generator's inputs are drawn: the noise size and the InfoGAN codes of the
    /// generator, the classes of either network.
    pub fn noise_inputs(&self) -> NoiseInputs {
        let (g, d) = (&self.generator, &self.discriminator);
        NoiseInputs::new(g.noise_dims)
            .with_num_classes(g.num_classes.max(d.num_classes).max(d.aux_classes))
            .with_categorical_dim(g.categorical_dim)
            .with_continuous_dim(g.continuous_dim)
    }

    /// Both networks, drawn from the run's seeds.
    pub fn init(&self, seeds: &mut Seeds, device: &Device) -> Result<GanModel<MnistGenerator, MnistDiscriminator>> {
        Ok(GanModel {
            generator: self.generator.init(&mut seeds.generator, device)?,
            discriminator: self.discriminator.init(&mut seeds.discriminator, device)?,
        })
    }

    /// The step training the recipe's networks with `config`.
    pub fn step(&self, config: &TrainConfig, mut seeds: Seeds, device: &Device) -> Result<MnistStep> {
        let device = device.clone().autodiff();
        let model = self.init(&mut seeds, &device)?;
        GanStep::new(config.clone(), model, self.noise_inputs(), seeds.step, &device)
    }

    /// A run of the recipe on `data` (`[1, 28, 28]` images) in `logdir`: started, or resumed from
    /// its newest checkpoint as `resume` says (a `bool`: restart).
    pub fn trainer<'d, D: ImageDataset + ?Sized>(
        &self,
        config: TrainConfig,
        data: &'d D,
        logdir: impl AsRef<std::path::Path>,
        resume: impl Into<Resume>,
        device: &Device,
    ) -> Result<Trainer<MnistStep, ImageBatches<'d, D>>> {
        check_mnist_shape(data.image_shape())?;
        let batches = ImageBatches::new(data, config.batch_size)?;
        let description = Recipe::Mnist(self.clone()).description()?;
        Trainer::start_or_resume(logdir, description, config, resume, batches, |config, seeds| {
            self.step(config, seeds, device)
        })
    }
}

/// Errors unless one image is `[1, 28, 28]` (what the MNIST networks take).
pub(crate) fn check_mnist_shape(image_shape: [usize; 3]) -> Result<()> {
    if image_shape != [1, 28, 28] {
        return Err(RganError::shape(
            "data",
            &image_shape,
            "(one image) but the MNIST networks take [1, 28, 28] images; resize the data set",
        ));
    }
    Ok(())
}
