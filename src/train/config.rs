//! The training configuration, with TF-GAN's MNIST example defaults.

use burn::optim::{ModuleOptimizer, RmsPropConfig, SgdConfig, momentum::MomentumConfig};
use burn::prelude::*;
use burn::tensor::TensorData;

use super::GanLossConfig;
use crate::error::{Result, RganError};
use crate::eval::mnist_classifier::MnistClassifierConfig;
use crate::losses::StructuredInput;
use crate::model::{DcganNetworks, GeneratorInputs, MnistDiscriminatorConfig, MnistGeneratorConfig, one_hot};
use crate::rng::Rng;
use crate::zoo::ZooModel;

/// The generator and discriminator losses of [`GanLossConfig`] (TF-GAN's `generator_loss_fn` /
/// `discriminator_loss_fn` pairs, with their default arguments).
///
/// ```
/// assert_eq!(rgan::train::GanLossKind::default(), rgan::train::GanLossKind::Wasserstein);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GanLossKind {
    /// `minimax_generator_loss` / `minimax_discriminator_loss`.
    Minimax,
    /// `modified_generator_loss` / `modified_discriminator_loss` (the discriminator's one-sided
    /// label smoothing 0.25).
    Modified,
    /// `wasserstein_generator_loss` / `wasserstein_discriminator_loss`: `gan_loss`'s default.
    #[default]
    Wasserstein,
    /// `wasserstein_hinge_generator_loss` / `wasserstein_hinge_discriminator_loss`.
    WassersteinHinge,
    /// `least_squares_generator_loss` / `least_squares_discriminator_loss`.
    LeastSquares,
    /// `relativistic_generator_loss` / `relativistic_discriminator_loss`.
    Relativistic,
}

/// How the two networks' updates are ordered within one GAN step.
///
/// ```
/// assert_eq!(rgan::train::TrainSchedule::default(), rgan::train::TrainSchedule::Joint);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TrainSchedule {
    /// TF-GAN's `get_joint_train_hooks()` (the MNIST example): `min(g, d)` updates of both
    /// networks computed from the same state, then the remaining generator updates, then the
    /// remaining discriminator updates.
    #[default]
    Joint,
    /// TF-GAN's `get_sequential_train_hooks()`: `g` generator updates, then `d` discriminator
    /// updates, each on a fresh batch.
    Sequential,
}

/// Which of TF-GAN's MNIST GANs to train.
///
/// ```
/// assert_eq!(rgan::train::GanKind::default(), rgan::train::GanKind::Unconditional);
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

/// A learning rate as a function of the global step (TF's `tf.train.*_decay` schedules).
///
/// ```
/// use rgan::train::LearningRateSchedule;
/// let halved = LearningRateSchedule::Piecewise { boundaries: vec![1000], factors: vec![1.0, 0.5] };
/// assert_eq!(halved.learning_rate(1e-3, 999), 1e-3);
/// assert_eq!(halved.learning_rate(1e-3, 1000), 5e-4);
/// let decay = LearningRateSchedule::Exponential { decay_steps: 10, decay_rate: 0.5, staircase: false };
/// assert!((decay.learning_rate(1.0, 5) - 0.5f64.sqrt()).abs() < 1e-12);
/// ```
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum LearningRateSchedule {
    /// The base rate at every step.
    #[default]
    Constant,
    /// `tf.train.exponential_decay`: `base × decay_rate^(step / decay_steps)` (the exponent
    /// floored with `staircase`).
    Exponential {
        /// Steps per decay period.
        decay_steps: usize,
        /// The factor per period.
        decay_rate: f64,
        /// Decay in whole periods.
        staircase: bool,
    },
    /// `tf.train.piecewise_constant`: `base × factors[i]` where `i` counts the boundaries `≤ step`
    /// (`factors` has one more entry than `boundaries`).
    Piecewise {
        /// Increasing step boundaries.
        boundaries: Vec<usize>,
        /// The multipliers, one per interval.
        factors: Vec<f64>,
    },
}

impl LearningRateSchedule {
    /// The learning rate at `step` (the number of GAN steps done).
    pub fn learning_rate(&self, base: f64, step: usize) -> f64 {
        match self {
            Self::Constant => base,
            Self::Exponential { decay_steps, decay_rate, staircase } => {
                let mut p = step as f64 / (*decay_steps).max(1) as f64;
                if *staircase {
                    p = p.floor();
                }
                base * decay_rate.powf(p)
            }
            Self::Piecewise { boundaries, factors } => {
                let i = boundaries.iter().filter(|&&b| b <= step).count();
                base * factors.get(i).copied().unwrap_or(1.0)
            }
        }
    }

    fn check(&self, name: &str) -> Result<()> {
        match self {
            Self::Constant => Ok(()),
            Self::Exponential { decay_steps, decay_rate, .. } => {
                if *decay_steps == 0 || !(*decay_rate > 0.0) {
                    return Err(RganError::invalid(name, "exponential decay needs decay_steps ≥ 1 and decay_rate > 0"));
                }
                Ok(())
            }
            Self::Piecewise { boundaries, factors } => {
                if factors.len() != boundaries.len() + 1 || !boundaries.is_sorted() {
                    return Err(RganError::invalid(
                        name,
                        format!(
                            "piecewise schedule has {} boundaries and {} factors; it needs sorted boundaries and one \
                             more factor than boundaries",
                            boundaries.len(),
                            factors.len()
                        ),
                    ));
                }
                Ok(())
            }
        }
    }
}

/// Which optimizer updates a network.
///
/// ```
/// assert_eq!(rgan::train::OptimizerKind::default(), rgan::train::OptimizerKind::Adam);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OptimizerKind {
    /// Adam (TF's `AdamOptimizer`).
    #[default]
    Adam,
    /// RMSProp (TF's `RMSPropOptimizer`: decay 0.9, no momentum, epsilon 1e-10; the WGAN
    /// paper's optimizer).
    RmsProp,
    /// Plain or momentum SGD (TF's `GradientDescentOptimizer` / `MomentumOptimizer`).
    Sgd,
}

/// One network's optimizer, with TF's defaults where burn's differ and TF-GAN's MNIST example
/// values (Adam β1 0.5).
///
/// ```
/// let config = rgan::train::OptimizerConfig::new(1e-3);
/// assert_eq!((config.beta_1, config.beta_2, config.epsilon), (0.5, 0.999, 1e-8));
/// assert_eq!((config.rmsprop_decay, config.momentum), (0.9, 0.0));
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct OptimizerConfig {
    /// The base learning rate.
    pub learning_rate: f64,
    /// The optimizer. Default Adam.
    #[config(default = "OptimizerKind::Adam")]
    pub kind: OptimizerKind,
    /// The learning-rate schedule over GAN steps. Default constant.
    #[config(default = "LearningRateSchedule::Constant")]
    pub schedule: LearningRateSchedule,
    /// Adam's β1 (TF-GAN's examples). Default 0.5.
    #[config(default = 0.5)]
    pub beta_1: f64,
    /// Adam's β2 (TF). Default 0.999.
    #[config(default = 0.999)]
    pub beta_2: f64,
    /// Adam's ε (TF's 1e-8; burn's is 1e-5); RMSProp uses TF's 1e-10. Default 1e-8.
    #[config(default = 1e-8)]
    pub epsilon: f64,
    /// RMSProp's decay (TF's 0.9; burn's alpha 0.99). Default 0.9.
    #[config(default = 0.9)]
    pub rmsprop_decay: f64,
    /// Momentum of RMSProp and SGD (TF's 0). Default 0.
    #[config(default = 0.0)]
    pub momentum: f64,
}

impl OptimizerConfig {
    /// The burn optimizer.
    pub fn init(&self) -> ModuleOptimizer {
        match self.kind {
            // burn's Adam, bit for bit, in one pass per parameter on the CPU.
            OptimizerKind::Adam => {
                super::FusedAdam::new(self.beta_1 as f32, self.beta_2 as f32, self.epsilon as f32).into()
            }
            OptimizerKind::RmsProp => RmsPropConfig::new()
                .with_alpha(self.rmsprop_decay as f32)
                .with_momentum(self.momentum as f32)
                .with_epsilon(crate::config::RMSPROP_EPSILON)
                .init(),
            OptimizerKind::Sgd => {
                let momentum = (self.momentum > 0.0).then(|| {
                    MomentumConfig::new().with_momentum(self.momentum).with_dampening(0.0).with_nesterov(false)
                });
                SgdConfig::new().with_momentum(momentum).init()
            }
        }
    }

    /// The learning rate at `step`.
    pub fn learning_rate(&self, step: usize) -> f64 {
        self.schedule.learning_rate(self.learning_rate, step)
    }

    pub(crate) fn check(&self, name: &str) -> Result<()> {
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return Err(RganError::invalid(
                name,
                format!("learning rate is {}; it must be a positive number", self.learning_rate),
            ));
        }
        self.schedule.check(name)
    }
}

/// Everything a training run needs. [`TrainConfig::mnist`] gives TF-GAN's MNIST example for
/// each [`GanKind`]; `TrainConfig::new()` is its unconditional GAN.
///
/// ```
/// use rgan::train::{GanKind, GanLossKind, TrainConfig};
/// let config = TrainConfig::new();
/// assert_eq!((config.batch_size, config.generator.noise_dims), (32, 64));
/// assert_eq!(config.generator_optimizer.learning_rate, 1e-3);
/// assert_eq!(config.discriminator_optimizer.learning_rate, 1e-4);
/// assert_eq!(config.loss.loss, GanLossKind::Wasserstein);
/// let infogan = TrainConfig::mnist(GanKind::InfoGan);
/// assert_eq!(infogan.loss.mutual_information_penalty_weight, Some(1.0));
/// assert_eq!(infogan.generator.noise_dims + infogan.generator.categorical_dim + infogan.generator.continuous_dim, 74);
/// ```
#[derive(Config, Debug)]
pub struct TrainConfig {
    /// The number of GAN steps to train to (absolute: a resumed run stops at the same step).
    /// Default 2000 (TF-GAN's example trains 20000).
    #[config(default = 2000)]
    pub steps: usize,
    /// Real and generated examples per step. Default 32.
    #[config(default = 32)]
    pub batch_size: usize,
    /// Which GAN. Default unconditional.
    #[config(default = "GanKind::Unconditional")]
    pub kind: GanKind,
    /// The generator's optimizer. Default Adam(1e-3, β1 0.5).
    #[config(default = "OptimizerConfig::new(1e-3)")]
    pub generator_optimizer: OptimizerConfig,
    /// The discriminator's optimizer. Default Adam(1e-4, β1 0.5).
    #[config(default = "OptimizerConfig::new(1e-4)")]
    pub discriminator_optimizer: OptimizerConfig,
    /// The loss assembly. Default `gan_loss`'s (Wasserstein).
    #[config(default = "GanLossConfig::new()")]
    pub loss: GanLossConfig,
    /// The update order. Default joint.
    #[config(default = "TrainSchedule::Joint")]
    pub schedule: TrainSchedule,
    /// Generator updates per GAN step (`GANTrainSteps.generator_train_steps`). Default 1.
    #[config(default = 1)]
    pub generator_train_steps: usize,
    /// Discriminator updates per GAN step. Default 1.
    #[config(default = 1)]
    pub discriminator_train_steps: usize,
    /// Clip every discriminator parameter to `[-c, c]` after each discriminator update (the
    /// original WGAN). Default none.
    pub weight_clip: Option<f64>,
    /// Keep an exponential moving average of the generator with this decay, updated after each
    /// generator update. Default none.
    pub generator_ema_decay: Option<f64>,
    /// Replay pool (TF-GAN's `tensor_pool_fn`): batches of generated data kept for the
    /// discriminator; 0 turns it off. Default 0.
    #[config(default = 0)]
    pub replay_pool_size: usize,
    /// Probability of showing the discriminator a pooled batch. Default 0.5.
    #[config(default = 0.5)]
    pub replay_pool_probability: f64,
    /// The seed of every random draw (initialization, noise, shuffling). Default 0.
    #[config(default = 0)]
    pub seed: u64,
    /// Write a sample grid (PNG and TensorBoard) every this many steps (0: only at the end).
    /// Default 500.
    #[config(default = 500)]
    pub sample_every: usize,
    /// Write a checkpoint every this many steps (0: only on time and at the end). Default 200.
    #[config(default = 200)]
    pub checkpoint_every: usize,
    /// Also write a checkpoint when this many seconds passed since the last one (0: never).
    /// Default 120.
    #[config(default = 120)]
    pub checkpoint_secs: u64,
    /// Write scalars (CSV and TensorBoard) every this many steps. Default 10.
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
    /// The DCGAN networks of a run that trains them (`rgan train images`) instead of the MNIST
    /// ones; saved so that a checkpoint can rebuild them ([`load_dcgan_generator`]). The
    /// generator's noise size must equal `generator.noise_dims`, which the trainer draws.
    /// Default none (configurations saved before this field existed load as none).
    ///
    /// [`load_dcgan_generator`]: crate::train::load_dcgan_generator
    pub dcgan: Option<DcganNetworks>,
    /// The classic-zoo model the run trains (`rgan train zoo`), whose networks
    /// [`ZooModel::init`](crate::zoo::ZooModel::init) rebuilds from this configuration; saved so
    /// that a checkpoint can be loaded ([`load_zoo_generator`](crate::train::load_zoo_generator)).
    /// Default none (configurations saved before this field existed load as none).
    pub zoo: Option<ZooModel>,
    /// A classifier trained beside the GAN on real labels, whose cross-entropy on the generated
    /// data (against the labels the generator was given) joins the generator's loss (the zoo's
    /// `cgan-classifier` and `wgan-classifier`). Needs labelled data and a conditional
    /// generator. Default none.
    pub classifier_guidance: Option<ClassifierGuidanceConfig>,
}

/// A classifier C that guides a conditional generator: each GAN step also updates C on a real
/// batch (softmax cross-entropy against the true labels), and the generator's loss gains
/// `weight × cross-entropy(C(G(z, y)), y)`, with C's weights held (only G is updated by it).
///
/// C is a small convolutional network of the same family as the evaluation classifier
/// ([`MnistClassifier`](crate::eval::mnist_classifier::MnistClassifier)) but wider, with other
/// kernels, and trained from scratch: the generator is not steered by the network that scores it.
///
/// ```
/// let config = rgan::train::ClassifierGuidanceConfig::new();
/// assert_eq!((config.weight, config.train_steps), (1.0, 1));
/// assert_eq!(config.optimizer.learning_rate, 2e-4);
/// assert_eq!((config.network.conv1_channels, config.network.kernel_size), (32, 3));
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct ClassifierGuidanceConfig {
    /// The weight of C's cross-entropy in the generator's loss. Default 1.0.
    #[config(default = 1.0)]
    pub weight: f64,
    /// C's updates per GAN step. Default 1.
    #[config(default = 1)]
    pub train_steps: usize,
    /// C's optimizer. Default Adam(2e-4, β1 0.5).
    #[config(default = "OptimizerConfig::new(2e-4)")]
    pub optimizer: OptimizerConfig,
    /// C's network. Default convolutions of 32 and 64 channels with 3×3 kernels, 128 features.
    #[config(
        default = "MnistClassifierConfig::new().with_conv1_channels(32).with_conv2_channels(64).with_kernel_size(3).with_feature_dims(128)"
    )]
    pub network: MnistClassifierConfig,
}

impl TrainConfig {
    /// TF-GAN's MNIST example for `kind` (§2.1): its networks, batch 32, noise 64, Adam with
    /// β1 0.5, joint updates, and per kind:
    ///
    /// | kind | G lr | D lr | losses |
    /// |---|---|---|---|
    /// | unconditional | 1e-3 | 1e-4 | Wasserstein (spectrally normalized D, no penalty) |
    /// | conditional | 1e-5 | 1e-4 | Wasserstein |
    /// | InfoGAN | 1e-4 | 1e-4 | modified + mutual information 1.0 (codes: 10 categories, 2 continuous, noise 62) |
    /// | ACGAN | 1e-4 | 1e-4 | modified + ACGAN terms with weight 1 (rgan's choice: TF-GAN has no ACGAN example) |
    ///
    /// One departure: the InfoGAN discriminator has **no batch norm** after its dense 1024 layer.
    /// With TF-GAN's batch norm (batch statistics of the generated batch alone) the modified
    /// losses let the generator collapse to one checkerboard image within 150 steps: batch norm
    /// removes the generated batch's mean, so a batch of identical images is not penalized. The
    /// same networks in PyTorch collapse the same way; without the batch norm they learn digits
    /// (`docs/RESULTS.md`).
    ///
    /// ```
    /// use rgan::train::{GanKind, TrainConfig};
    /// assert!(!TrainConfig::mnist(GanKind::InfoGan).discriminator.batch_norm);
    /// assert!(TrainConfig::mnist(GanKind::AcGan).discriminator.batch_norm);
    /// ```
    pub fn mnist(kind: GanKind) -> Self {
        let config = Self::new().with_kind(kind);
        match kind {
            GanKind::Unconditional => config,
            GanKind::Conditional => config
                .with_generator_optimizer(OptimizerConfig::new(1e-5))
                .with_generator(MnistGeneratorConfig::new().with_num_classes(10))
                .with_discriminator(MnistDiscriminatorConfig::new().with_num_classes(10)),
            GanKind::InfoGan => config
                .with_generator_optimizer(OptimizerConfig::new(1e-4))
                .with_loss(
                    GanLossConfig::new()
                        .with_loss(GanLossKind::Modified)
                        .with_mutual_information_penalty_weight(Some(1.0)),
                )
                .with_generator(
                    MnistGeneratorConfig::new().with_noise_dims(62).with_categorical_dim(10).with_continuous_dim(2),
                )
                .with_discriminator(
                    MnistDiscriminatorConfig::new()
                        .with_categorical_dim(10)
                        .with_continuous_dim(2)
                        .with_batch_norm(false),
                ),
            GanKind::AcGan => config
                .with_generator_optimizer(OptimizerConfig::new(1e-4))
                .with_loss(
                    GanLossConfig::new()
                        .with_loss(GanLossKind::Modified)
                        .with_aux_cond_generator_weight(Some(1.0))
                        .with_aux_cond_discriminator_weight(Some(1.0)),
                )
                .with_generator(MnistGeneratorConfig::new().with_num_classes(10))
                .with_discriminator(MnistDiscriminatorConfig::new().with_num_classes(10).with_aux_classes(10)),
        }
    }

    /// A DCGAN run on `image_size × image_size` images of `channels` channels (the DCGAN
    /// paper's training setup): [`DcganNetworks::for_images`] with noise 64, Adam(2e-4, β1 0.5)
    /// for both networks, the modified (non-saturating) losses, batch 64, an 8×8 sample grid.
    ///
    /// ```
    /// use rgan::train::{GanLossKind, TrainConfig};
    /// let config = TrainConfig::dcgan(32, 3);
    /// let dcgan = config.dcgan.as_ref().unwrap();
    /// assert_eq!((dcgan.generator.image_size, dcgan.generator.noise_dims), (32, config.generator.noise_dims));
    /// assert_eq!((config.loss.loss, config.batch_size), (GanLossKind::Modified, 64));
    /// assert_eq!(config.discriminator_optimizer.learning_rate, 2e-4);
    /// ```
    pub fn dcgan(image_size: usize, channels: usize) -> Self {
        let networks = DcganNetworks::for_images(image_size, channels, 64);
        let mut config = Self::new()
            .with_batch_size(64)
            .with_grid_size(8)
            .with_generator_optimizer(OptimizerConfig::new(2e-4))
            .with_discriminator_optimizer(OptimizerConfig::new(2e-4))
            .with_loss(GanLossConfig::new().with_loss(GanLossKind::Modified));
        config.generator.noise_dims = networks.generator.noise_dims;
        config.dcgan = Some(networks);
        config
    }

    /// The number of classes of the labels the networks take (0: none).
    pub fn num_classes(&self) -> usize {
        self.generator.num_classes.max(self.discriminator.num_classes).max(self.discriminator.aux_classes)
    }

    /// Fresh generator inputs for `count` samples drawn from `rng`: N(0, 1) noise, then (InfoGAN)
    /// uniform categories and U(-1, 1) continuous codes; conditional and ACGAN labels cycle
    /// through the classes starting at `first_label`, so that every class is drawn equally often.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::train::{GanKind, TrainConfig};
    /// let config = TrainConfig::mnist(GanKind::Conditional);
    /// let mut rng = rgan::rng::Rng::seed_from_u64(0);
    /// let inputs = config.random_generator_inputs(12, 0, &mut rng, &Device::default());
    /// assert_eq!(inputs.one_hot_labels.unwrap().dims(), [12, 10]);
    /// ```
    pub fn random_generator_inputs(
        &self,
        count: usize,
        first_label: usize,
        rng: &mut Rng,
        device: &Device,
    ) -> GeneratorInputs {
        let spec = &self.generator;
        let classes = self.num_classes();
        let mut inputs = GeneratorInputs::noise(rng.normal([count, spec.noise_dims], 0.0, 1.0, device));
        if classes > 0 {
            let ids: Vec<i64> = (first_label..first_label + count).map(|i| (i % classes) as i64).collect();
            inputs = inputs.with_labels(one_hot(Tensor::from_data(TensorData::new(ids, [count]), device), classes));
        }
        let mut codes = Vec::new();
        if spec.categorical_dim > 0 {
            let ids: Vec<i64> = (0..count).map(|_| rng.below(spec.categorical_dim) as i64).collect();
            codes.push(StructuredInput::ClassIds(Tensor::from_data(TensorData::new(ids, [count]), device)));
        }
        if spec.continuous_dim > 0 {
            codes.push(StructuredInput::Values(rng.uniform([count, spec.continuous_dim], -1.0, 1.0, device)));
        }
        inputs.with_structured(codes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_saved_without_dcgan_still_load() {
        let mut json: serde_json::Value = serde_json::to_value(TrainConfig::new()).unwrap();
        assert!(json.as_object_mut().unwrap().remove("dcgan").is_some());
        let config: TrainConfig = serde_json::from_value(json).unwrap();
        assert!(config.dcgan.is_none());
        let dcgan = TrainConfig::dcgan(16, 1);
        let back: TrainConfig = serde_json::from_str(&serde_json::to_string(&dcgan).unwrap()).unwrap();
        assert_eq!(back.dcgan, dcgan.dcgan);
    }
}
