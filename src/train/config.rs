//! The training configuration: optimizers, losses, the update schedule and the run's cadence,
//! with TF-GAN's MNIST example defaults. The networks are not part of it: a model recipe
//! (`rgan::recipes`) or the user builds them.

use burn::optim::{ModuleOptimizer, RmsPropConfig, SgdConfig, momentum::MomentumConfig};
use burn::prelude::*;

use super::GanLossConfig;
use crate::error::{Result, RganError};

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
    /// The loop of most PyTorch scripts: `d` discriminator updates, each on a fresh batch, then
    /// `g` generator updates on the last batch (its labels) with fresh noise; one batch per step
    /// when `d` is 1.
    Alternating,
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
                let periods = step / (*decay_steps).max(1);
                if *staircase && periods <= i32::MAX as usize {
                    // Whole periods: repeated products, exactly `decay_rate^k` as an epoch loop
                    // that multiplies its rate once per epoch would compute it.
                    return base * decay_rate.powi(periods as i32);
                }
                base * decay_rate.powf(step as f64 / (*decay_steps).max(1) as f64)
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

/// Everything a GAN training run needs besides its networks and data: optimizers, the loss
/// assembly, the update schedule, features (weight clipping, a generator moving average, a
/// replay pool, classifier guidance) and the run's cadence (samples, scalars, checkpoints).
/// `TrainConfig::new()` has TF-GAN's MNIST example's values (its unconditional GAN); the
/// recipes (`rgan::recipes`) set their own.
///
/// ```
/// use rgan::train::{GanLossKind, TrainConfig};
/// let config = TrainConfig::new();
/// assert_eq!((config.batch_size, config.steps, config.seed), (32, 2000, 0));
/// assert_eq!(config.generator_optimizer.learning_rate, 1e-3);
/// assert_eq!(config.discriminator_optimizer.learning_rate, 1e-4);
/// assert_eq!(config.loss.loss, GanLossKind::Wasserstein);
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct TrainConfig {
    /// The number of GAN steps to train to (absolute: a resumed run stops at the same step).
    /// Default 2000 (TF-GAN's example trains 20000).
    #[config(default = 2000)]
    pub steps: usize,
    /// Real and generated examples per step. Default 32.
    #[config(default = 32)]
    pub batch_size: usize,
    /// The generator's optimizer. Default Adam(1e-3, β1 0.5).
    #[config(default = "OptimizerConfig::new(1e-3)")]
    pub generator_optimizer: OptimizerConfig,
    /// The discriminator's optimizer. Default Adam(1e-4, β1 0.5).
    #[config(default = "OptimizerConfig::new(1e-4)")]
    pub discriminator_optimizer: OptimizerConfig,
    /// The loss assembly (for CycleGAN, each half's; for StarGAN, the adversarial loss and its
    /// gradient penalty). Default `gan_loss`'s (Wasserstein).
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
    /// The sample grid has `grid_size` columns (and, for noise, `grid_size` rows or one per
    /// class). Default 8.
    #[config(default = 8)]
    pub grid_size: usize,
    /// How many checkpoints to keep. Default 2.
    #[config(default = 2)]
    pub keep_checkpoints: usize,
    /// A classifier trained beside the GAN on real labels, whose cross-entropy on the generated
    /// data (against the labels the generator was given) joins the generator's loss (the zoo's
    /// `cgan-classifier` and `wgan-classifier`). Needs labelled data and a conditional
    /// generator; the recipe provides the network. Default none.
    pub classifier_guidance: Option<ClassifierGuidanceConfig>,
}

/// A classifier C that guides a conditional generator: each GAN step also updates C on a real
/// batch (softmax cross-entropy against the true labels), and the generator's loss gains
/// `weight × cross-entropy(C(G(z, y)), y)`, with C's weights held (only G is updated by it).
///
/// C itself is the recipe's: the zoo's is a small convolutional network of the same family as
/// the evaluation classifier but wider, with other kernels, and trained from scratch, so the
/// generator is not steered by the network that scores it.
///
/// ```
/// let config = rgan::train::ClassifierGuidanceConfig::new();
/// assert_eq!((config.weight, config.train_steps), (1.0, 1));
/// assert_eq!(config.optimizer.learning_rate, 2e-4);
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
}

impl TrainConfig {
    /// Errors, naming the field, when a setting is out of range: a zero batch, grid or update
    /// count, a bad learning rate or schedule, a negative loss weight, clip or decay.
    ///
    /// ```
    /// use rgan::train::TrainConfig;
    /// assert!(TrainConfig::new().check().is_ok());
    /// let err = TrainConfig::new().with_discriminator_train_steps(0).with_generator_train_steps(0).check();
    /// assert!(err.unwrap_err().to_string().contains("discriminator_train_steps"));
    /// ```
    pub fn check(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(RganError::invalid("batch_size", "must be at least 1"));
        }
        if self.grid_size == 0 {
            return Err(RganError::invalid("grid_size", "must be at least 1"));
        }
        if self.generator_train_steps == 0 && self.discriminator_train_steps == 0 {
            return Err(RganError::invalid("generator_train_steps", "and discriminator_train_steps are both 0"));
        }
        if self.schedule == TrainSchedule::Alternating && self.discriminator_train_steps == 0 {
            return Err(RganError::invalid(
                "discriminator_train_steps",
                "is 0, but the alternating schedule draws its batches for the discriminator's updates; use at least 1",
            ));
        }
        self.generator_optimizer.check("generator_optimizer")?;
        self.discriminator_optimizer.check("discriminator_optimizer")?;
        self.loss.check_weights()?;
        if let Some(c) = self.weight_clip
            && !(c > 0.0)
        {
            return Err(RganError::invalid("weight_clip", format!("is {c}; it must be > 0")));
        }
        if let Some(decay) = self.generator_ema_decay
            && !(0.0..=1.0).contains(&decay)
        {
            return Err(RganError::invalid("generator_ema_decay", format!("is {decay}; it must be in [0, 1]")));
        }
        if !(0.0..=1.0).contains(&self.replay_pool_probability) {
            return Err(RganError::invalid(
                "replay_pool_probability",
                format!("is {}; it must be in [0, 1]", self.replay_pool_probability),
            ));
        }
        if let Some(guidance) = &self.classifier_guidance {
            if !(guidance.weight >= 0.0 && guidance.weight.is_finite()) {
                return Err(RganError::invalid(
                    "classifier_guidance.weight",
                    format!("is {}; it must be ≥ 0", guidance.weight),
                ));
            }
            guidance.optimizer.check("classifier_guidance.optimizer")?;
        }
        Ok(())
    }
}
