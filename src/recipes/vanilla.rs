//! The original GAN (Goodfellow et al. 2014, "Generative Adversarial Nets") on MNIST, as the
//! popular single-file PyTorch/Keras "vanilla GAN" scripts train it.
//!
//! - Generator: noise `z ~ N(0, 1)` of `encoding_dims` → dense `hidden_units` (128) → ReLU →
//!   dense 784 → tanh, reshaped to images `[N, 1, 28, 28]` in `[-1, 1]`.
//! - Discriminator: image flattened to 784 → dense 128 → LeakyReLU(0.2) → dense 1: one logit.
//! - Dense kernels are Glorot-uniform and biases zero (Keras' defaults, drawn from rgan's
//!   seeded [`Rng`]), so a run is reproducible from its seed.
//! - Losses: sigmoid cross entropy, without label smoothing. The discriminator minimizes
//!   [`minimax_discriminator_loss`] (`-log D(x) - log(1 - D(G(z)))`), the generator the
//!   non-saturating [`modified_generator_loss`] (`-log D(G(z))`), both averaged over the batch.
//! - Optimizers: Adam (`learning_rate` 2e-4, `beta_1` 0.5, `beta_2` 0.999, epsilon 1e-8) for each
//!   network.
//! - Each iteration takes one shuffled batch of real images (the last incomplete batch of an
//!   epoch is dropped), makes one discriminator step on it against generated images, then one
//!   generator step on fresh noise.
//!
//! [`train_vanilla`] trains it with rgan's one loop ([`Trainer`], a [`GanStep`] on the alternating
//! schedule) and writes into its output folder, after every epoch: `epoch_NNN.png` (an 8×8 grid
//! generated from one fixed noise batch), `training.gif` (all grids so far, one frame per epoch),
//! `generator_loss.png` and `discriminator_loss.png` (per-step losses and per-epoch means),
//! `losses.csv` (one row per step) and a checkpoint under `checkpoints/` (see
//! [`VanillaCheckpoint`]); beside them the loop's own `scalars.csv` and TensorBoard events. A run
//! starts afresh each time, as the scripts do.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use burn::nn::{LeakyRelu, LeakyReluConfig, Linear};
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use burn::tensor::activation::relu;

use super::Recipe;
use crate::data::{ImageBatches, ImageDataset};
use crate::error::{Result, RganError};
use crate::files::write_atomically;
use crate::model::{
    DiscriminatorOutput, GanDiscriminator, GanGenerator, GanModel, GeneratorInputs, NoiseInputs, glorot_linear,
};
use crate::rng::Rng;
use crate::summary::{ChartLine, draw_chart, image_grid, save_image_grid};
use crate::train::{
    Checkpoint, GanLossConfig, GanLossKind, GanStep, HookAction, OptimizerConfig, Seeds, StepReport, TrainConfig,
    TrainHook, TrainSchedule, TrainStep, Trainer,
};

/// The shape of one MNIST image, `[channels, height, width]`.
const IMAGE_SHAPE: [usize; 3] = [1, 28, 28];
/// The number of pixels of one MNIST image.
const IMAGE_PIXELS: usize = 28 * 28;
/// The animation's file name.
const GIF_FILE: &str = "training.gif";
/// The generator loss picture's file name.
const GENERATOR_LOSS_PNG: &str = "generator_loss.png";
/// The discriminator loss picture's file name.
const DISCRIMINATOR_LOSS_PNG: &str = "discriminator_loss.png";
/// The per-step losses' file name.
const LOSSES_CSV: &str = "losses.csv";

/// Configuration of the vanilla GAN and its training, with the defaults of the popular
/// vanilla-GAN scripts (`--epochs 50 --batch_size 128 --learning_rate 2e-4 --beta_1 0.5`,
/// noise of 100 dimensions).
///
/// ```
/// let config = rgan::recipes::vanilla::VanillaGanConfig::new();
/// assert_eq!((config.epochs, config.batch_size, config.encoding_dims), (50, 128, 100));
/// assert_eq!((config.learning_rate, config.beta_1, config.beta_2, config.epsilon), (2e-4, 0.5, 0.999, 1e-8));
/// assert_eq!((config.hidden_units, config.leaky_relu_slope, config.seed), (128, 0.2, 0));
/// assert_eq!((config.grid_size, config.gif_frame_ms), (8, 500));
/// config.check().unwrap();
/// assert!(config.with_batch_size(0).check().is_err());
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct VanillaGanConfig {
    /// Passes over the training data. Default 50.
    #[config(default = 50)]
    pub epochs: usize,
    /// Real images per step (and generated ones); an epoch is `len / batch_size` steps, the
    /// remainder dropped. Default 128.
    #[config(default = 128)]
    pub batch_size: usize,
    /// Adam's learning rate, both networks. Default 2e-4.
    #[config(default = 2e-4)]
    pub learning_rate: f64,
    /// Adam's `beta_1`, both networks. Default 0.5.
    #[config(default = 0.5)]
    pub beta_1: f64,
    /// Adam's `beta_2`, both networks. Default 0.999.
    #[config(default = 0.999)]
    pub beta_2: f64,
    /// Adam's epsilon, both networks (TensorFlow's and PyTorch's 1e-8, not burn's 1e-5).
    /// Default 1e-8.
    #[config(default = 1e-8)]
    pub epsilon: f64,
    /// The size of the generator's noise vector `z`. Default 100.
    #[config(default = 100)]
    pub encoding_dims: usize,
    /// Units of each network's hidden dense layer. Default 128.
    #[config(default = 128)]
    pub hidden_units: usize,
    /// The negative slope of the discriminator's leaky ReLU. Default 0.2.
    #[config(default = 0.2)]
    pub leaky_relu_slope: f64,
    /// The seed of every random draw: initialization, shuffling, noise. Default 0.
    #[config(default = 0)]
    pub seed: u64,
    /// The sample grids are `grid_size × grid_size` images. Default 8.
    #[config(default = 8)]
    pub grid_size: usize,
    /// How long each frame of `training.gif` shows, in milliseconds (GIF stores hundredths of
    /// a second). Default 500.
    #[config(default = 500)]
    pub gif_frame_ms: u32,
}

impl VanillaGanConfig {
    /// Checks every field, with an error naming the first bad one.
    pub fn check(&self) -> Result<()> {
        let positive = [
            ("epochs", self.epochs),
            ("batch_size", self.batch_size),
            ("encoding_dims", self.encoding_dims),
            ("hidden_units", self.hidden_units),
            ("grid_size", self.grid_size),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(RganError::invalid(name, "must be at least 1"));
            }
        }
        if self.grid_size * IMAGE_SHAPE[2] > u16::MAX as usize {
            return Err(RganError::invalid("grid_size", format!("is {} and makes too wide a grid", self.grid_size)));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(RganError::invalid("learning_rate", format!("is {}; it must be positive", self.learning_rate)));
        }
        for (name, beta) in [("beta_1", self.beta_1), ("beta_2", self.beta_2)] {
            if !(0.0..1.0).contains(&beta) {
                return Err(RganError::invalid(name, format!("is {beta}; it must lie in [0, 1)")));
            }
        }
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return Err(RganError::invalid("epsilon", format!("is {}; it must be positive", self.epsilon)));
        }
        if !(self.leaky_relu_slope.is_finite() && self.leaky_relu_slope >= 0.0) {
            return Err(RganError::invalid(
                "leaky_relu_slope",
                format!("is {}; it must be a finite number >= 0", self.leaky_relu_slope),
            ));
        }
        Ok(())
    }

    /// A freshly initialized generator (Glorot-uniform kernels, zero biases) drawn from `rng`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// use rgan::model::{GanGenerator, GeneratorInputs};
    /// let device = Device::default();
    /// let config = rgan::recipes::vanilla::VanillaGanConfig::new();
    /// let g = config.init_generator(&mut rgan::rng::Rng::seed_from_u64(0), &device).unwrap();
    /// let images = g.generate(&GeneratorInputs::noise(Tensor::zeros([3, 100], &device))).unwrap();
    /// assert_eq!(images.dims(), [3, 1, 28, 28]);
    /// ```
    pub fn init_generator(&self, rng: &mut Rng, device: &Device) -> Result<VanillaGenerator> {
        self.check()?;
        Ok(VanillaGenerator {
            hidden: glorot_linear(rng, self.encoding_dims, self.hidden_units, true, device),
            output: glorot_linear(rng, self.hidden_units, IMAGE_PIXELS, true, device),
        })
    }

    /// A freshly initialized discriminator (Glorot-uniform kernels, zero biases) drawn from
    /// `rng`.
    ///
    /// ```
    /// use burn::prelude::*;
    /// let device = Device::default();
    /// let config = rgan::recipes::vanilla::VanillaGanConfig::new();
    /// let d = config.init_discriminator(&mut rgan::rng::Rng::seed_from_u64(0), &device).unwrap();
    /// assert_eq!(d.forward(Tensor::zeros([5, 1, 28, 28], &device)).unwrap().dims(), [5, 1]);
    /// ```
    pub fn init_discriminator(&self, rng: &mut Rng, device: &Device) -> Result<VanillaDiscriminator> {
        self.check()?;
        Ok(VanillaDiscriminator {
            hidden: glorot_linear(rng, IMAGE_PIXELS, self.hidden_units, true, device),
            activation: LeakyReluConfig::new().with_negative_slope(self.leaky_relu_slope).init(),
            output: glorot_linear(rng, self.hidden_units, 1, true, device),
        })
    }

    /// The Adam optimizer of either network.
    pub fn optimizer(&self) -> OptimizerConfig {
        OptimizerConfig::new(self.learning_rate)
            .with_beta_1(self.beta_1)
            .with_beta_2(self.beta_2)
            .with_epsilon(self.epsilon)
    }

    /// The generator's inputs: noise of `encoding_dims`.
    pub fn noise_inputs(&self) -> NoiseInputs {
        NoiseInputs::new(self.encoding_dims)
    }

    /// The training configuration of `steps_per_epoch`-step epochs: the alternating schedule
    /// (a discriminator update on a batch, then a generator update with fresh noise), sigmoid
    /// cross entropy without label smoothing (the discriminator's minimax loss, the generator's
    /// non-saturating one), Adam for both, a checkpoint at the end of every epoch, a scalar row
    /// every step.
    ///
    /// ```
    /// let config = rgan::recipes::vanilla::VanillaGanConfig::new().with_epochs(2).train_config(10);
    /// assert_eq!((config.steps, config.checkpoint_every, config.batch_size), (20, 10, 128));
    /// assert_eq!(config.loss.discriminator_label_smoothing, 0.0);
    /// ```
    pub fn train_config(&self, steps_per_epoch: usize) -> TrainConfig {
        TrainConfig::new()
            .with_steps(self.epochs * steps_per_epoch)
            .with_batch_size(self.batch_size)
            .with_seed(self.seed)
            .with_generator_optimizer(self.optimizer())
            .with_discriminator_optimizer(self.optimizer())
            .with_loss(GanLossConfig::new().with_loss(GanLossKind::Modified).with_discriminator_label_smoothing(0.0))
            .with_schedule(TrainSchedule::Alternating)
            .with_grid_size(self.grid_size)
            .with_sample_every(0)
            .with_log_every(1)
            .with_checkpoint_every(steps_per_epoch)
            .with_checkpoint_secs(0)
            .with_keep_checkpoints(1)
    }

    /// The step training both networks with `config`, drawn from the run's seeds.
    pub fn step(&self, config: &TrainConfig, mut seeds: Seeds, device: &Device) -> Result<VanillaStepper> {
        let device = device.clone().autodiff();
        let model = GanModel {
            generator: self.init_generator(&mut seeds.generator, &device)?,
            discriminator: self.init_discriminator(&mut seeds.discriminator, &device)?,
        };
        GanStep::new(config.clone(), model, self.noise_inputs(), seeds.step, &device)
    }
}

/// The vanilla GAN's generator: `z` → dense 128 → ReLU → dense 784 → tanh → `[N, 1, 28, 28]`.
/// Build it with [`VanillaGanConfig::init_generator`].
#[derive(Module, Debug)]
pub struct VanillaGenerator {
    /// `encoding_dims → hidden_units`, followed by ReLU.
    pub hidden: Linear,
    /// `hidden_units → 784`, followed by tanh.
    pub output: Linear,
}

impl VanillaGenerator {
    /// Images `[N, 1, 28, 28]` in `[-1, 1]` from noise `[N, encoding_dims]`; errors when the
    /// noise has another width.
    pub fn forward(&self, noise: Tensor<2>) -> Result<Tensor<4>> {
        let [n, width] = noise.dims();
        let expected = self.hidden.weight.val().dims()[0];
        if width != expected {
            return Err(RganError::shape(
                "noise",
                &[n, width],
                format!("but the generator takes noise of {expected} dimensions"),
            ));
        }
        let hidden = relu(self.hidden.forward(noise));
        let [c, h, w] = IMAGE_SHAPE;
        Ok(self.output.forward(hidden).tanh().reshape([n, c, h, w]))
    }
}

impl GanGenerator for VanillaGenerator {
    fn generate(&self, inputs: &GeneratorInputs) -> Result<Tensor<4>> {
        self.forward(inputs.noise.clone())
    }
}

/// The vanilla GAN's discriminator: image flattened to 784 → dense 128 → LeakyReLU(0.2) →
/// dense 1, a real/fake logit `[N, 1]`. Build it with
/// [`VanillaGanConfig::init_discriminator`].
#[derive(Module, Debug)]
pub struct VanillaDiscriminator {
    /// `784 → hidden_units`, followed by the leaky ReLU.
    pub hidden: Linear,
    /// The leaky ReLU.
    pub activation: LeakyRelu,
    /// `hidden_units → 1`: the logit.
    pub output: Linear,
}

impl VanillaDiscriminator {
    /// Logits `[N, 1]` of images `[N, C, H, W]` with `C × H × W = 784`; errors otherwise.
    ///
    /// ```
    /// use burn::prelude::*;
    /// let device = Device::default();
    /// let config = rgan::recipes::vanilla::VanillaGanConfig::new();
    /// let d = config.init_discriminator(&mut rgan::rng::Rng::seed_from_u64(0), &device).unwrap();
    /// assert!(d.forward(Tensor::zeros([2, 3, 28, 28], &device)).is_err());
    /// ```
    pub fn forward(&self, images: Tensor<4>) -> Result<Tensor<2>> {
        let [n, c, h, w] = images.dims();
        if c * h * w != IMAGE_PIXELS {
            return Err(RganError::shape(
                "images",
                &[n, c, h, w],
                format!("but the discriminator takes images of {IMAGE_PIXELS} values ([N, 1, 28, 28])"),
            ));
        }
        let hidden = self.activation.forward(self.hidden.forward(images.reshape([n, IMAGE_PIXELS])));
        Ok(self.output.forward(hidden))
    }
}

impl GanDiscriminator for VanillaDiscriminator {
    fn discriminate(&self, data: Tensor<4>, _inputs: &GeneratorInputs) -> Result<DiscriminatorOutput> {
        Ok(DiscriminatorOutput::logits(self.forward(data)?))
    }
}

/// The step that trains the vanilla GAN.
pub type VanillaStepper = GanStep<VanillaGenerator, VanillaDiscriminator, NoiseInputs>;

/// What [`train_vanilla`] reports after each step (1-based counts).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VanillaStep {
    /// The current epoch, `1..=epochs`.
    pub epoch: usize,
    /// The number of epochs of the run.
    pub epochs: usize,
    /// The step within the epoch, `1..=steps_per_epoch`.
    pub step_in_epoch: usize,
    /// Steps per epoch (`len / batch_size`).
    pub steps_per_epoch: usize,
    /// The step since the start, `1..=epochs × steps_per_epoch`.
    pub step: usize,
    /// The discriminator's loss at this step (before its update).
    pub discriminator_loss: f64,
    /// The generator's loss at this step (before its update).
    pub generator_loss: f64,
}

/// What a finished [`train_vanilla`] run did and wrote.
#[derive(Clone, Debug)]
pub struct VanillaSummary {
    /// Epochs trained.
    pub epochs: usize,
    /// Steps per epoch.
    pub steps_per_epoch: usize,
    /// Steps trained.
    pub steps: usize,
    /// Mean `(discriminator, generator)` loss of each epoch.
    pub epoch_losses: Vec<(f64, f64)>,
    /// Wall time of each epoch, its outputs included.
    pub epoch_times: Vec<Duration>,
    /// Wall time of the whole run.
    pub wall: Duration,
    /// `epoch_001.png`, `epoch_002.png`, …
    pub grids: Vec<PathBuf>,
    /// `training.gif`.
    pub gif: PathBuf,
    /// `generator_loss.png`.
    pub generator_loss_plot: PathBuf,
    /// `discriminator_loss.png`.
    pub discriminator_loss_plot: PathBuf,
    /// `losses.csv`: `epoch,step,discriminator_loss,generator_loss`, one row per step.
    pub losses_csv: PathBuf,
    /// The last checkpoint's folder (see [`VanillaCheckpoint`]).
    pub checkpoint: PathBuf,
}

/// A vanilla GAN checkpoint, read back: both networks, both optimizers' state, the
/// configuration and where the run stood.
///
/// ```
/// use burn::prelude::*;
/// let e = rgan::recipes::vanilla::VanillaCheckpoint::load("/nonexistent/run", &Device::default()).unwrap_err();
/// assert!(e.to_string().contains("/nonexistent/run"));
/// ```
pub struct VanillaCheckpoint {
    /// The generator.
    pub generator: VanillaGenerator,
    /// The discriminator.
    pub discriminator: VanillaDiscriminator,
    /// The generator's Adam state.
    pub generator_optimizer: ModuleOptimizer,
    /// The discriminator's Adam state.
    pub discriminator_optimizer: ModuleOptimizer,
    /// The run's configuration.
    pub config: VanillaGanConfig,
    /// Epochs done.
    pub epoch: usize,
    /// Steps done.
    pub step: usize,
}

impl std::fmt::Debug for VanillaCheckpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VanillaCheckpoint")
            .field("generator", &self.generator)
            .field("discriminator", &self.discriminator)
            .field("config", &self.config)
            .field("epoch", &self.epoch)
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

impl VanillaCheckpoint {
    /// Loads the checkpoint of `path`: a run's output folder or one of its checkpoint folders.
    pub fn load(path: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let checkpoint = Checkpoint::open(path)?;
        let Recipe::Vanilla(config) = Recipe::of(&checkpoint)? else {
            return Err(RganError::file(checkpoint.dir(), "holds no vanilla GAN"));
        };
        let mut rng = Rng::seed_from_u64(config.seed);
        let generator = checkpoint.module("generator.bpk", config.init_generator(&mut rng, device)?)?;
        let discriminator = checkpoint.module("discriminator.bpk", config.init_discriminator(&mut rng, device)?)?;
        let examples = checkpoint.state().data.get("examples").and_then(serde_json::Value::as_u64).unwrap_or(0);
        let steps_per_epoch = (examples as usize / config.batch_size.max(1)).max(1);
        Ok(Self {
            generator_optimizer: checkpoint.optimizer("generator_optimizer.bpk", config.optimizer().init())?,
            discriminator_optimizer: checkpoint.optimizer("discriminator_optimizer.bpk", config.optimizer().init())?,
            generator,
            discriminator,
            epoch: checkpoint.step() / steps_per_epoch,
            step: checkpoint.step(),
            config,
        })
    }
}

/// [`train_vanilla_on`] on the default device (`Device::default()`, with autodiff).
///
/// ```no_run
/// use rgan::data::{Mnist, Split};
/// use rgan::recipes::vanilla::{VanillaGanConfig, train_vanilla};
/// let mnist = Mnist::load("../shared/datasets/mnist", Split::Train).unwrap();
/// let config = VanillaGanConfig::new().with_epochs(2);
/// let summary = train_vanilla(&config, &mnist, "out/vanilla", |s| {
///     if s.step_in_epoch == s.steps_per_epoch {
///         println!("epoch {}: d {:.3} g {:.3}", s.epoch, s.discriminator_loss, s.generator_loss);
///     }
/// })
/// .unwrap();
/// assert_eq!(summary.grids.len(), 2);
/// ```
pub fn train_vanilla<D: ImageDataset + ?Sized>(
    config: &VanillaGanConfig,
    data: &D,
    outdir: impl AsRef<Path>,
    on_step: impl FnMut(&VanillaStep),
) -> Result<VanillaSummary> {
    train_vanilla_on(config, data, outdir, &Device::default(), on_step)
}

/// The vanilla outputs written at the end of every epoch, as a hook of the loop.
struct EpochOutputs<F> {
    config: VanillaGanConfig,
    steps_per_epoch: usize,
    losses: Vec<(f64, f64)>,
    frames: Vec<Vec<u8>>,
    summary: VanillaSummary,
    epoch_started: Instant,
    on_step: F,
}

impl<F: FnMut(&VanillaStep)> TrainHook<VanillaStepper> for EpochOutputs<F> {
    fn after_step(&mut self, report: &StepReport, step: &VanillaStepper) -> Result<HookAction> {
        let spe = self.steps_per_epoch;
        let (epoch, step_in_epoch) = ((report.step - 1) / spe + 1, (report.step - 1) % spe + 1);
        self.losses.push((report.d_loss, report.g_loss));
        self.summary.steps = report.step;
        (self.on_step)(&VanillaStep {
            epoch,
            epochs: self.config.epochs,
            step_in_epoch,
            steps_per_epoch: spe,
            step: report.step,
            discriminator_loss: report.d_loss,
            generator_loss: report.g_loss,
        });
        if step_in_epoch == spe {
            self.end_epoch(epoch, step)?;
        }
        Ok(HookAction::Continue)
    }
}

impl<F> EpochOutputs<F> {
    fn end_epoch(&mut self, epoch: usize, step: &VanillaStepper) -> Result<()> {
        let spe = self.steps_per_epoch;
        let rows = &self.losses[self.losses.len() - spe..];
        let mean = |f: fn(&(f64, f64)) -> f64| rows.iter().map(f).sum::<f64>() / spe as f64;
        self.summary.epoch_losses.push((mean(|r| r.0), mean(|r| r.1)));
        let outdir = self.summary.gif.parent().map(Path::to_path_buf).unwrap_or_default();
        let images = step.model().generator.valid().generate(&step.sample_grid().inputs)?;
        let grid_path = outdir.join(format!("epoch_{epoch:03}.png"));
        save_image_grid(images.clone(), self.config.grid_size, &grid_path)?;
        self.frames.push(image_grid(images, self.config.grid_size)?.to_luma8().into_raw());
        self.summary.grids.push(grid_path);
        let side = self.config.grid_size * IMAGE_SHAPE[2];
        write_gif(&self.summary.gif, &self.frames, side, self.config.gif_frame_ms)?;
        write_losses_csv(&self.summary.losses_csv, &self.losses, spe)?;
        let summary = &self.summary;
        plot_losses(summary, &self.losses, 0, "Discriminator loss (minimax)", &summary.discriminator_loss_plot)?;
        plot_losses(summary, &self.losses, 1, "Generator loss (non-saturating)", &summary.generator_loss_plot)?;
        self.summary.epoch_times.push(self.epoch_started.elapsed());
        self.epoch_started = Instant::now();
        Ok(())
    }
}

/// Trains the vanilla GAN (see the [module documentation](self)) on `data` (28×28 grey images
/// in `[-1, 1]`, e.g. [`Mnist`](crate::data::Mnist)) on `device` (switched to its autodiff
/// counterpart), calling `on_step` after every step and writing every output file into `outdir`
/// (created if needed) after every epoch.
///
/// Errors on a bad configuration, data of another image shape or smaller than one batch, an
/// unwritable `outdir`, and a non-finite loss (training diverged; the files of the finished
/// epochs are kept).
pub fn train_vanilla_on<D: ImageDataset + ?Sized>(
    config: &VanillaGanConfig,
    data: &D,
    outdir: impl AsRef<Path>,
    device: &Device,
    on_step: impl FnMut(&VanillaStep),
) -> Result<VanillaSummary> {
    let started = Instant::now();
    config.check()?;
    let shape = data.image_shape();
    if shape != IMAGE_SHAPE {
        return Err(RganError::shape(
            "data",
            &shape,
            format!("holds images of this [channels, height, width], but the vanilla GAN takes {IMAGE_SHAPE:?}"),
        ));
    }
    let batches = ImageBatches::new(data, config.batch_size)?;
    let steps_per_epoch = data.len() / config.batch_size;
    let outdir = outdir.as_ref().to_path_buf();
    let train_config = config.train_config(steps_per_epoch);
    let description = Recipe::Vanilla(config.clone()).description()?;
    let mut trainer = Trainer::start_or_resume(&outdir, description, train_config, true, batches, |c, seeds| {
        config.step(c, seeds, device)
    })?;
    let mut outputs = EpochOutputs {
        config: config.clone(),
        steps_per_epoch,
        losses: Vec::with_capacity(config.epochs * steps_per_epoch),
        frames: Vec::new(),
        summary: VanillaSummary {
            epochs: config.epochs,
            steps_per_epoch,
            steps: 0,
            epoch_losses: Vec::new(),
            epoch_times: Vec::new(),
            wall: Duration::ZERO,
            grids: Vec::new(),
            gif: outdir.join(GIF_FILE),
            generator_loss_plot: outdir.join(GENERATOR_LOSS_PNG),
            discriminator_loss_plot: outdir.join(DISCRIMINATOR_LOSS_PNG),
            losses_csv: outdir.join(LOSSES_CSV),
            checkpoint: PathBuf::new(),
        },
        epoch_started: Instant::now(),
        on_step,
    };
    let run = trainer.run_with_hooks(&mut [&mut outputs])?;
    let mut summary = outputs.summary;
    summary.checkpoint = run.checkpoint.unwrap_or_default();
    summary.steps = trainer.step().global_step();
    summary.wall = started.elapsed();
    Ok(summary)
}

/// Writes grey frames (`side × side` bytes each) as a looping GIF with a grey palette.
fn write_gif(path: &Path, frames: &[Vec<u8>], side: usize, frame_ms: u32) -> Result<()> {
    let gif_error = |e: gif::EncodingError| RganError::file(path, format!("cannot encode the GIF: {e}"));
    let palette: Vec<u8> = (0..=255u8).flat_map(|v| [v, v, v]).collect();
    let mut bytes = Vec::new();
    {
        let mut encoder = gif::Encoder::new(&mut bytes, side as u16, side as u16, &palette).map_err(gif_error)?;
        encoder.set_repeat(gif::Repeat::Infinite).map_err(gif_error)?;
        let delay = (frame_ms / 10).clamp(1, u16::MAX as u32) as u16;
        for pixels in frames {
            let frame = gif::Frame {
                width: side as u16,
                height: side as u16,
                delay,
                buffer: Cow::Borrowed(pixels.as_slice()),
                ..gif::Frame::default()
            };
            encoder.write_frame(&frame).map_err(gif_error)?;
        }
    }
    write_atomically(path, &bytes)
}

fn write_losses_csv(path: &Path, losses: &[(f64, f64)], steps_per_epoch: usize) -> Result<()> {
    let mut text = String::from("epoch,step,discriminator_loss,generator_loss\n");
    for (i, (d, g)) in losses.iter().enumerate() {
        text.push_str(&format!("{},{},{d},{g}\n", i / steps_per_epoch + 1, i + 1));
    }
    write_atomically(path, text.as_bytes())
}

/// Draws one loss (`which`: 0 discriminator, 1 generator) per step and its per-epoch means
/// (placed at the middle of each epoch).
fn plot_losses(summary: &VanillaSummary, losses: &[(f64, f64)], which: usize, title: &str, out: &Path) -> Result<()> {
    let pick = |r: &(f64, f64)| if which == 0 { r.0 } else { r.1 };
    let per_step: Vec<(f64, f64)> = losses.iter().enumerate().map(|(i, r)| ((i + 1) as f64, pick(r))).collect();
    let spe = summary.steps_per_epoch as f64;
    let means: Vec<(f64, f64)> =
        summary.epoch_losses.iter().enumerate().map(|(e, r)| ((e as f64 + 0.5) * spe + 0.5, pick(r))).collect();
    let lines = [
        ChartLine {
            name: "per step".into(),
            points: per_step,
            color: 0,
            stroke_width: 1,
            opacity: 0.4,
            ..Default::default()
        },
        ChartLine {
            name: "epoch mean".into(),
            points: means,
            color: 1,
            stroke_width: 2,
            point_size: 3,
            ..Default::default()
        },
    ];
    draw_chart(out, title, "step", "loss", &lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{IdxImages, Mnist};

    fn tiny_mnist(count: usize) -> Mnist {
        let pixels = (0..count * IMAGE_PIXELS).map(|i| (i * 37 % 256) as u8).collect();
        Mnist { images: IdxImages { count, rows: 28, cols: 28, pixels }, labels: vec![0; count] }
    }

    #[test]
    fn networks_have_the_documented_shapes() {
        let device = Device::default();
        let config = VanillaGanConfig::new().with_encoding_dims(7);
        let mut rng = Rng::seed_from_u64(1);
        let g = config.init_generator(&mut rng, &device).unwrap();
        let d = config.init_discriminator(&mut rng, &device).unwrap();
        assert_eq!(g.hidden.weight.val().dims(), [7, 128]);
        assert_eq!(g.output.weight.val().dims(), [128, 784]);
        assert_eq!(d.hidden.weight.val().dims(), [784, 128]);
        assert_eq!(d.output.weight.val().dims(), [128, 1]);
        let images = g.forward(rng.normal([4, 7], 0.0, 1.0, &device)).unwrap();
        assert_eq!(images.dims(), [4, 1, 28, 28]);
        let max = images.clone().abs().max().into_scalar::<f32>();
        assert!(max <= 1.0, "{max}");
        assert_eq!(d.forward(images).unwrap().dims(), [4, 1]);
        let e = g.forward(Tensor::zeros([2, 8], &device)).unwrap_err().to_string();
        assert!(e.contains("noise") && e.contains('7'), "{e}");
    }

    #[test]
    fn a_run_is_reproducible_and_bad_inputs_are_errors() {
        let dir = std::env::temp_dir().join(format!("rgan-vanilla-unit-{}", std::process::id()));
        let data = tiny_mnist(20);
        let config = VanillaGanConfig::new().with_epochs(1).with_batch_size(8).with_grid_size(2);
        let mut seen = Vec::new();
        let a = train_vanilla(&config, &data, &dir, |s| seen.push(*s)).unwrap();
        assert_eq!((a.steps, a.steps_per_epoch, seen.len()), (2, 2, 2));
        assert_eq!((seen[1].epoch, seen[1].step_in_epoch, seen[1].step), (1, 2, 2));
        let b = train_vanilla(&config, &data, &dir, |_| {}).unwrap();
        assert_eq!(a.epoch_losses, b.epoch_losses);

        let e = train_vanilla(&config.clone().with_batch_size(21), &data, &dir, |_| {}).unwrap_err();
        assert!(e.to_string().contains("batch_size"), "{e}");
        let small =
            Mnist { images: IdxImages { count: 20, rows: 2, cols: 2, pixels: vec![0; 80] }, labels: vec![0; 20] };
        let e = train_vanilla(&config, &small, &dir, |_| {}).unwrap_err();
        assert!(e.to_string().contains("28"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
