//! The classic GAN zoo on MNIST (`rgan train zoo --model NAME`): ten well-known GANs, each a
//! [`ZooRecipe`] (its networks) and a [`TrainConfig`] with the paper's (or its common PyTorch
//! implementation's) defaults, trained by the ordinary [`GanStep`] and
//! [`Trainer`](crate::train::Trainer).
//!
//! | name | networks | losses and updates |
//! |---|---|---|
//! | `dcgan` | conv G (TF-GAN's MNIST generator), conv D | non-saturating, Adam 2e-4 (β1 0.5), D:G 1:1 |
//! | `cgan-mlp` | MLP G and D, labels concatenated | non-saturating, Adam 2e-4, 1:1 |
//! | `cgan-conv` | conditional conv G and D | non-saturating, Adam 2e-4, 1:1 |
//! | `cgan-classifier` | `cgan-conv` plus a classifier C on real labels | as `cgan-conv`, plus C's cross-entropy on generated digits in G's loss; D:G:C 1:1:1 |
//! | `wgan-mlp` | MLP G and critic | Wasserstein, clipping 0.01, RMSProp 5e-5, D:G 5:1 |
//! | `wgan-conv` | conv G and critic | as `wgan-mlp` |
//! | `wgan-classifier` | conditional conv G, unconditional critic, classifier C | as `wgan-conv`, plus C's cross-entropy; D:G:C 5:1:1 |
//! | `wgan-gp` | conv G and critic | Wasserstein + exact gradient penalty λ = 10, Adam 1e-4 β (0.5, 0.9), D:G 5:1 |
//! | `infogan-shared` | conv G; recognizer heads on D's body | non-saturating + mutual information 1.0, Adam G 1e-3 / D 2e-4, 1:1 |
//! | `infogan-separate` | conv G; D and a recognizer Q with its own network | as `infogan-shared` |
//!
//! Common to all: batch 64; noise 100 (InfoGAN: 62 noise, 10 categories, 2 continuous codes as
//! TF-GAN's InfoGAN); no weight decay; the conv discriminator is TF-GAN's MNIST discriminator
//! without spectral norm or batch norm ([`ConvDiscriminator`]); the conv generator is TF-GAN's
//! MNIST generator ([`MnistGenerator`]).

use std::fmt;
use std::str::FromStr;

use burn::prelude::*;

use super::networks::{
    ConvDiscriminator, ConvDiscriminatorConfig, MlpDiscriminator, MlpDiscriminatorConfig, MlpGenerator,
    MlpGeneratorConfig, SeparateRecognizer,
};
use crate::data::{ImageBatches, ImageDataset};
use crate::error::{Result, RganError};
use crate::eval::mnist_classifier::{MnistClassifier, MnistClassifierConfig};
use crate::model::{
    BatchNormMode, DiscriminatorOutput, GanDiscriminator, GanGenerator, GanModel, GeneratorInputs, NoiseInputs,
};
use crate::penalties::GradientPenaltyOptions;
use crate::recipes::Recipe;
use crate::recipes::mnist::{MnistDiscriminatorConfig, MnistGenerator, MnistGeneratorConfig, check_mnist_shape};
use crate::rng::Rng;
use crate::train::{
    ClassifierGuidanceConfig, GanLossConfig, GanLossKind, GanStep, OptimizerConfig, OptimizerKind, Resume, Seeds,
    TrainConfig, TrainSchedule, Trainer,
};

/// One model of the classic zoo.
///
/// ```
/// use rgan::recipes::zoo::ZooModel;
/// let model: ZooModel = "wgan-gp".parse().unwrap();
/// assert_eq!(model, ZooModel::WganGp);
/// let config = model.train_config();
/// assert_eq!(config.loss.gradient_penalty_weight, Some(10.0));
/// assert_eq!((config.discriminator_train_steps, config.generator_train_steps), (5, 1));
/// assert!("wgan".parse::<ZooModel>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ZooModel {
    /// DCGAN (Radford et al. 2016).
    Dcgan,
    /// Conditional GAN with fully connected networks (Mirza & Osindero 2014).
    CganMlp,
    /// Conditional DCGAN.
    CganConv,
    /// Conditional DCGAN guided by a separately trained classifier.
    CganClassifier,
    /// WGAN with weight clipping and fully connected networks (Arjovsky et al. 2017).
    WganMlp,
    /// WGAN with weight clipping and convolutional networks.
    WganConv,
    /// WGAN critic with a conditional generator guided by a separately trained classifier.
    WganClassifier,
    /// WGAN with gradient penalty (Gulrajani et al. 2017).
    WganGp,
    /// InfoGAN whose recognizer shares the discriminator's body (Chen et al. 2016).
    InfoganShared,
    /// InfoGAN with a recognizer network of its own.
    InfoganSeparate,
}

impl ZooModel {
    /// Every model, in the order `rgan train zoo --list` prints them.
    pub const ALL: [ZooModel; 10] = [
        Self::Dcgan,
        Self::CganMlp,
        Self::CganConv,
        Self::CganClassifier,
        Self::WganMlp,
        Self::WganConv,
        Self::WganClassifier,
        Self::WganGp,
        Self::InfoganShared,
        Self::InfoganSeparate,
    ];

    /// The model's command-line name (`dcgan`, `cgan-mlp`, …).
    ///
    /// ```
    /// assert_eq!(rgan::recipes::zoo::ZooModel::InfoganSeparate.name(), "infogan-separate");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::Dcgan => "dcgan",
            Self::CganMlp => "cgan-mlp",
            Self::CganConv => "cgan-conv",
            Self::CganClassifier => "cgan-classifier",
            Self::WganMlp => "wgan-mlp",
            Self::WganConv => "wgan-conv",
            Self::WganClassifier => "wgan-classifier",
            Self::WganGp => "wgan-gp",
            Self::InfoganShared => "infogan-shared",
            Self::InfoganSeparate => "infogan-separate",
        }
    }

    /// One line on the networks and the training recipe.
    ///
    /// ```
    /// assert!(rgan::recipes::zoo::ZooModel::WganMlp.description().contains("RMSProp"));
    /// ```
    pub fn description(self) -> &'static str {
        match self {
            Self::Dcgan => "conv G and D; non-saturating loss; Adam 2e-4 (β1 0.5); D:G 1:1",
            Self::CganMlp => "MLP G and D with one-hot labels concatenated; non-saturating; Adam 2e-4; D:G 1:1",
            Self::CganConv => "conditional conv G and D; non-saturating; Adam 2e-4; D:G 1:1",
            Self::CganClassifier => {
                "cgan-conv plus a classifier C trained on real labels whose cross-entropy on generated digits joins \
                 G's loss; D:G:C 1:1:1"
            }
            Self::WganMlp => "MLP G and critic; Wasserstein loss, weight clipping 0.01, RMSProp 5e-5; D:G 5:1",
            Self::WganConv => "conv G and critic; Wasserstein loss, weight clipping 0.01, RMSProp 5e-5; D:G 5:1",
            Self::WganClassifier => {
                "wgan-conv critic, conditional G, and a classifier C trained on real labels guiding G; D:G:C 5:1:1"
            }
            Self::WganGp => {
                "conv G and critic; Wasserstein loss + exact gradient penalty λ = 10; Adam 1e-4 β (0.5, 0.9); D:G 5:1"
            }
            Self::InfoganShared => {
                "conv G; recognizer Q heads on D's body; non-saturating + mutual information 1.0; Adam G 1e-3, D 2e-4"
            }
            Self::InfoganSeparate => "as infogan-shared, but Q is a network of its own sharing no weights with D",
        }
    }

    /// Whether the generator is fully connected (else TF-GAN's convolutional MNIST generator).
    pub fn is_mlp(self) -> bool {
        matches!(self, Self::CganMlp | Self::WganMlp)
    }

    fn is_infogan(self) -> bool {
        matches!(self, Self::InfoganShared | Self::InfoganSeparate)
    }

    /// Classes of the labels the generator takes (0: unconditional).
    fn generator_classes(self) -> usize {
        match self {
            Self::CganMlp | Self::CganConv | Self::CganClassifier | Self::WganClassifier => 10,
            _ => 0,
        }
    }

    /// Classes of the labels the discriminator takes (0: unconditional).
    fn discriminator_classes(self) -> usize {
        match self {
            Self::CganMlp | Self::CganConv | Self::CganClassifier => 10,
            _ => 0,
        }
    }

    /// The training configuration: everything but `steps`, `seed` and the output schedules,
    /// which keep [`TrainConfig`]'s defaults.
    ///
    /// ```
    /// use rgan::train::{GanLossKind, OptimizerKind};
    /// let config = rgan::recipes::zoo::ZooModel::WganMlp.train_config();
    /// assert_eq!(config.loss.loss, GanLossKind::Wasserstein);
    /// assert_eq!(config.weight_clip, Some(0.01));
    /// assert_eq!(config.discriminator_optimizer.kind, OptimizerKind::RmsProp);
    /// assert_eq!(config.batch_size, 64);
    /// ```
    pub fn train_config(self) -> TrainConfig {
        let adam = |lr: f64| OptimizerConfig::new(lr).with_beta_1(0.5);
        let rmsprop = OptimizerConfig::new(5e-5).with_kind(OptimizerKind::RmsProp);
        let base = TrainConfig::new().with_batch_size(64);
        let modified = GanLossConfig::new().with_loss(GanLossKind::Modified);
        let wasserstein = GanLossConfig::new().with_loss(GanLossKind::Wasserstein);
        let guidance = Some(ClassifierGuidanceConfig::new());
        match self {
            Self::Dcgan | Self::CganMlp | Self::CganConv | Self::CganClassifier => base
                .with_loss(modified)
                .with_generator_optimizer(adam(2e-4))
                .with_discriminator_optimizer(adam(2e-4))
                .with_classifier_guidance(if self == Self::CganClassifier { guidance } else { None }),
            Self::WganMlp | Self::WganConv | Self::WganClassifier => base
                .with_loss(wasserstein)
                .with_weight_clip(Some(0.01))
                .with_generator_optimizer(rmsprop.clone())
                .with_discriminator_optimizer(rmsprop)
                .with_schedule(TrainSchedule::Sequential)
                .with_discriminator_train_steps(5)
                .with_classifier_guidance(if self == Self::WganClassifier { guidance } else { None }),
            Self::WganGp => {
                let adam = adam(1e-4).with_beta_2(0.9);
                base.with_loss(wasserstein.with_gradient_penalty_weight(Some(10.0)))
                    .with_generator_optimizer(adam.clone())
                    .with_discriminator_optimizer(adam)
                    .with_schedule(TrainSchedule::Sequential)
                    .with_discriminator_train_steps(5)
            }
            Self::InfoganShared | Self::InfoganSeparate => base
                .with_loss(modified.with_mutual_information_penalty_weight(Some(1.0)))
                .with_generator_optimizer(adam(1e-3))
                .with_discriminator_optimizer(adam(2e-4)),
        }
    }

    /// The model's networks: noise 100 (InfoGAN: 62 noise, 10 categories, 2 continuous codes),
    /// no weight decay, no batch norm in the discriminator, and for the guided models the guiding
    /// classifier (32 and 64 channels, 3 × 3 kernels, 128 features).
    ///
    /// ```
    /// let recipe = rgan::recipes::zoo::ZooModel::CganClassifier.recipe();
    /// assert_eq!(recipe.generator.num_classes, 10);
    /// assert_eq!(recipe.classifier.unwrap().conv1_channels, 32);
    /// ```
    pub fn recipe(self) -> ZooRecipe {
        let (noise, categorical, continuous) = if self.is_infogan() { (62, 10, 2) } else { (100, 0, 0) };
        let generator = MnistGeneratorConfig::new()
            .with_noise_dims(noise)
            .with_num_classes(self.generator_classes())
            .with_categorical_dim(categorical)
            .with_continuous_dim(continuous)
            .with_weight_decay(0.0);
        let discriminator = MnistDiscriminatorConfig::new()
            .with_num_classes(self.discriminator_classes())
            .with_categorical_dim(categorical)
            .with_continuous_dim(continuous)
            .with_batch_norm(false);
        let guided = matches!(self, Self::CganClassifier | Self::WganClassifier);
        let classifier = guided.then(|| {
            MnistClassifierConfig::new()
                .with_conv1_channels(32)
                .with_conv2_channels(64)
                .with_kernel_size(3)
                .with_feature_dims(128)
        });
        ZooRecipe { model: self, generator, discriminator, classifier }
    }
}

/// One zoo model's networks: which model, the generator and discriminator specifications (the
/// zoo's networks are built from TF-GAN's MNIST configurations: noise size, classes, codes), and
/// the guiding classifier's network for the guided models.
#[derive(Config, Debug, PartialEq)]
pub struct ZooRecipe {
    /// The model.
    pub model: ZooModel,
    /// The generator's specification.
    pub generator: MnistGeneratorConfig,
    /// The discriminator's specification.
    pub discriminator: MnistDiscriminatorConfig,
    /// The guiding classifier's network (`cgan-classifier`, `wgan-classifier`).
    pub classifier: Option<MnistClassifierConfig>,
}

/// The step that trains a zoo model.
pub type ZooStep = GanStep<ZooGenerator, ZooDiscriminator, NoiseInputs, MnistClassifier>;

impl ZooRecipe {
    /// How the generator's inputs are drawn.
    pub fn noise_inputs(&self) -> NoiseInputs {
        let (g, d) = (&self.generator, &self.discriminator);
        NoiseInputs::new(g.noise_dims)
            .with_num_classes(g.num_classes.max(d.num_classes).max(d.aux_classes))
            .with_categorical_dim(g.categorical_dim)
            .with_continuous_dim(g.continuous_dim)
    }

    /// Both networks, the generator from `generator_rng` and the discriminator from
    /// `discriminator_rng`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::recipes::zoo::{ZooGenerator, ZooModel};
    /// let device = Device::default();
    /// let recipe = ZooModel::CganMlp.recipe();
    /// let mut rng = rgan::rng::Rng::seed_from_u64(0);
    /// let gan = recipe.init(&mut rng.fork(), &mut rng.fork(), &device).unwrap();
    /// assert!(matches!(gan.generator, ZooGenerator::Mlp(_)));
    /// ```
    pub fn init(
        &self,
        generator_rng: &mut Rng,
        discriminator_rng: &mut Rng,
        device: &Device,
    ) -> Result<GanModel<ZooGenerator, ZooDiscriminator>> {
        Ok(GanModel {
            generator: self.init_generator(generator_rng, device)?,
            discriminator: self.init_discriminator(discriminator_rng, device)?,
        })
    }

    /// Builds the model's generator (the template a checkpoint is loaded into).
    pub fn init_generator(&self, rng: &mut Rng, device: &Device) -> Result<ZooGenerator> {
        let spec = &self.generator;
        Ok(if self.model.is_mlp() {
            ZooGenerator::Mlp(
                MlpGeneratorConfig::new()
                    .with_noise_dims(spec.noise_dims)
                    .with_num_classes(spec.num_classes)
                    .init(rng, device)?,
            )
        } else {
            ZooGenerator::Conv(spec.init(rng, device)?)
        })
    }

    fn init_discriminator(&self, rng: &mut Rng, device: &Device) -> Result<ZooDiscriminator> {
        let spec = &self.discriminator;
        let conv = ConvDiscriminatorConfig::new().with_num_classes(spec.num_classes);
        Ok(match self.model {
            ZooModel::CganMlp | ZooModel::WganMlp => ZooDiscriminator::Mlp(
                MlpDiscriminatorConfig::new().with_num_classes(spec.num_classes).init(rng, device)?,
            ),
            ZooModel::InfoganSeparate => ZooDiscriminator::Separate(SeparateRecognizer::new(
                conv.init(rng, device)?,
                ConvDiscriminatorConfig::new()
                    .with_categorical_dim(spec.categorical_dim)
                    .with_continuous_dim(spec.continuous_dim)
                    .init(rng, device)?,
            )),
            _ => ZooDiscriminator::Conv(
                conv.with_categorical_dim(spec.categorical_dim)
                    .with_continuous_dim(spec.continuous_dim)
                    .init(rng, device)?,
            ),
        })
    }

    /// The step training the networks (and the guiding classifier, for the guided models) with
    /// `config`, drawn from the run's seeds.
    pub fn step(&self, config: &TrainConfig, mut seeds: Seeds, device: &Device) -> Result<ZooStep> {
        let device = device.clone().autodiff();
        let model = self.init(&mut seeds.generator, &mut seeds.discriminator, &device)?;
        match (&self.classifier, config.classifier_guidance.is_some()) {
            (Some(network), true) => {
                let build = |rng: &mut Rng| network.init(rng, &device);
                GanStep::with_classifier(config.clone(), model, self.noise_inputs(), seeds.step, &device, build)
            }
            (None, false) => {
                let step = GanStep::new(config.clone(), model, self.noise_inputs(), seeds.step, &device)?;
                Ok(step.unguided())
            }
            (Some(_), false) => Err(RganError::invalid(
                "classifier_guidance",
                format!("is not set, but the zoo's {} trains a guiding classifier", self.model),
            )),
            (None, true) => Err(RganError::invalid(
                "classifier_guidance",
                format!("is set, but the zoo's {} has no guiding classifier", self.model),
            )),
        }
    }

    /// A run of the model on MNIST-shaped `data` in `logdir`: started, or resumed from its
    /// newest checkpoint as `resume` says (a `bool`: restart).
    pub fn trainer<'d, D: ImageDataset + ?Sized>(
        &self,
        config: TrainConfig,
        data: &'d D,
        logdir: impl AsRef<std::path::Path>,
        resume: impl Into<Resume>,
        device: &Device,
    ) -> Result<Trainer<ZooStep, ImageBatches<'d, D>>> {
        check_mnist_shape(data.image_shape())?;
        let batches = ImageBatches::new(data, config.batch_size)?;
        let description = Recipe::Zoo(self.clone()).description()?;
        Trainer::start_or_resume(logdir, description, config, resume, batches, |config, seeds| {
            self.step(config, seeds, device)
        })
    }
}

impl fmt::Display for ZooModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ZooModel {
    type Err = RganError;

    fn from_str(name: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|m| m.name()).collect();
            RganError::invalid("model", format!("is `{name}`; the zoo has {}", names.join(", ")))
        })
    }
}

/// A zoo generator: fully connected or TF-GAN's convolutional MNIST generator.
#[derive(Module, Debug)]
pub enum ZooGenerator {
    /// [`MlpGenerator`] (`cgan-mlp`, `wgan-mlp`).
    Mlp(MlpGenerator),
    /// [`MnistGenerator`] (every other model).
    Conv(MnistGenerator),
}

impl GanGenerator for ZooGenerator {
    fn generate(&self, inputs: &GeneratorInputs) -> Result<Tensor<4>> {
        match self {
            Self::Mlp(g) => g.generate(inputs),
            Self::Conv(g) => g.generate(inputs),
        }
    }

    fn sample(&self, inputs: &GeneratorInputs) -> Result<Tensor<4>> {
        match self {
            Self::Mlp(g) => g.sample(inputs),
            Self::Conv(g) => g.sample(inputs),
        }
    }

    fn generate_with(&self, inputs: &GeneratorInputs, mode: BatchNormMode) -> Result<Tensor<4>> {
        match self {
            Self::Mlp(g) => g.forward_inputs(inputs, mode),
            Self::Conv(g) => g.forward_inputs(inputs, mode),
        }
    }

    fn regularization_loss(&self) -> Option<Tensor<1>> {
        match self {
            Self::Mlp(_) => None,
            Self::Conv(g) => GanGenerator::regularization_loss(g),
        }
    }
}

/// A zoo discriminator: fully connected, convolutional (with InfoGAN heads when asked), or a
/// discriminator with a separate recognizer.
#[derive(Module, Debug)]
pub enum ZooDiscriminator {
    /// [`MlpDiscriminator`] (`cgan-mlp`, `wgan-mlp`).
    Mlp(MlpDiscriminator),
    /// [`ConvDiscriminator`] (every other model but `infogan-separate`).
    Conv(ConvDiscriminator),
    /// [`SeparateRecognizer`] (`infogan-separate`).
    Separate(SeparateRecognizer),
}

impl GanDiscriminator for ZooDiscriminator {
    fn batch_independent(&self) -> bool {
        match self {
            Self::Mlp(d) => d.batch_independent(),
            Self::Conv(d) => d.batch_independent(),
            Self::Separate(d) => d.batch_independent(),
        }
    }

    fn discriminate(&self, data: Tensor<4>, inputs: &GeneratorInputs) -> Result<DiscriminatorOutput> {
        match self {
            Self::Mlp(d) => d.discriminate(data, inputs),
            Self::Conv(d) => d.discriminate(data, inputs),
            Self::Separate(d) => d.discriminate(data, inputs),
        }
    }

    fn gradient_penalty(
        &self,
        real_data: Tensor<4>,
        generated_data: Tensor<4>,
        inputs: &GeneratorInputs,
        rng: &mut Rng,
        options: &GradientPenaltyOptions,
    ) -> Result<Tensor<1>> {
        match self {
            Self::Mlp(d) => d.gradient_penalty(real_data, generated_data, inputs, rng, options),
            Self::Conv(d) => d.gradient_penalty(real_data, generated_data, inputs, rng, options),
            Self::Separate(d) => d.gradient_penalty(real_data, generated_data, inputs, rng, options),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::GanInputs;

    #[test]
    fn names_round_trip_and_recipes_are_consistent() {
        for model in ZooModel::ALL {
            assert_eq!(model.name().parse::<ZooModel>().unwrap(), model);
            let json = serde_json::to_string(&model).unwrap();
            assert_eq!(json, format!("\"{}\"", model.name()));
            let recipe = model.recipe();
            assert_eq!(recipe.model, model);
            assert_eq!(recipe.classifier.is_some(), model.train_config().classifier_guidance.is_some(), "{model}");
            let device = Device::default();
            let mut rng = Rng::seed_from_u64(1);
            let gan = recipe.init(&mut rng.fork(), &mut rng.fork(), &device).unwrap();
            let inputs = recipe.noise_inputs().random(4, 0, &mut Rng::seed_from_u64(2), &device);
            assert_eq!(inputs.batch_size(), 4);
            let images = gan.generator.generate(&inputs).unwrap();
            assert_eq!(images.dims(), [4, 1, 28, 28], "{model}");
            let out = gan.discriminator.discriminate(images, &inputs).unwrap();
            assert_eq!(out.logits.dims(), [4, 1], "{model}");
            assert_eq!(out.distributions.len(), if model.is_infogan() { 2 } else { 0 }, "{model}");
        }
    }

    #[test]
    fn unknown_names_list_the_zoo() {
        let err = "gan".parse::<ZooModel>().unwrap_err().to_string();
        assert!(err.contains("`gan`") && err.contains("wgan-gp") && err.contains("infogan-separate"), "{err}");
    }
}
