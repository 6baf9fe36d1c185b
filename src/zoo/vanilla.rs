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
//! [`train_vanilla`] writes into its output folder, after every epoch: `epoch_NNN.png` (an 8×8
//! grid generated from one fixed noise batch), `training.gif` (all grids so far, one frame per
//! epoch), `generator_loss.png` and `discriminator_loss.png` (per-step losses and per-epoch
//! means), `losses.csv` (one row per step) and `checkpoint/` (both networks, both optimizers and
//! `state.json`; see [`VanillaCheckpoint`]).

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use burn::nn::{LeakyRelu, LeakyReluConfig, Linear};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::data::{Batcher, ImageDataset};
use crate::error::{Result, RganError};
use crate::losses::{
    DiscriminatorLossOptions, GeneratorLossOptions, minimax_discriminator_loss, modified_generator_loss,
};
use crate::model::{DiscriminatorOutput, GanDiscriminator, GanGenerator, GeneratorInputs, glorot_linear};
use crate::rng::Rng;
use crate::train::{
    ChartLine, OptimizerConfig, draw_chart, file_error, image_grid, load_module, module_bytes, save_image_grid,
    write_atomically,
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
/// The checkpoint folder's name.
const CHECKPOINT_DIR: &str = "checkpoint";

/// Configuration of the vanilla GAN and its training, with the defaults of the popular
/// vanilla-GAN scripts (`--epochs 50 --batch_size 128 --learning_rate 2e-4 --beta_1 0.5`,
/// noise of 100 dimensions).
///
/// ```
/// let config = rgan::zoo::VanillaGanConfig::new();
/// assert_eq!((config.epochs, config.batch_size, config.encoding_dims), (50, 128, 100));
/// assert_eq!((config.learning_rate, config.beta_1, config.beta_2, config.epsilon), (2e-4, 0.5, 0.999, 1e-8));
/// assert_eq!((config.hidden_units, config.leaky_relu_slope, config.seed), (128, 0.2, 0));
/// assert_eq!((config.grid_size, config.gif_frame_ms), (8, 500));
/// config.check().unwrap();
/// assert!(config.with_batch_size(0).check().is_err());
/// ```
#[derive(Config, Debug)]
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
    /// let config = rgan::zoo::VanillaGanConfig::new();
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
    /// let config = rgan::zoo::VanillaGanConfig::new();
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
    pub fn optimizer(&self) -> ModuleOptimizer {
        OptimizerConfig::new(self.learning_rate)
            .with_beta_1(self.beta_1)
            .with_beta_2(self.beta_2)
            .with_epsilon(self.epsilon)
            .init()
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
    /// let config = rgan::zoo::VanillaGanConfig::new();
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
    /// The checkpoint folder (see [`VanillaCheckpoint`]).
    pub checkpoint: PathBuf,
}

/// `checkpoint/state.json`: what the records do not hold.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct CheckpointState {
    epoch: usize,
    step: usize,
    config: VanillaGanConfig,
}

/// A vanilla GAN checkpoint, read back: `<outdir>/checkpoint/` holds `generator.bpk`,
/// `discriminator.bpk`, `generator_optimizer.bpk`, `discriminator_optimizer.bpk` (burn's
/// burnpack records) and `state.json` (epoch, step, configuration), each written atomically,
/// `state.json` last.
///
/// ```
/// use burn::prelude::*;
/// let e = rgan::zoo::VanillaCheckpoint::load("/nonexistent/run", &Device::default()).unwrap_err();
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
    /// Loads the checkpoint of `path`: a run's output folder or its `checkpoint/` folder.
    pub fn load(path: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let path = path.as_ref();
        let dir = if path.join("state.json").is_file() { path.to_path_buf() } else { path.join(CHECKPOINT_DIR) };
        let state_file = dir.join("state.json");
        let text = std::fs::read_to_string(&state_file).map_err(|e| {
            file_error(path, format!("holds no vanilla GAN checkpoint ({} cannot be read: {e})", state_file.display()))
        })?;
        let state: CheckpointState = serde_json::from_str(&text)
            .map_err(|e| file_error(&state_file, format!("is not a vanilla GAN checkpoint state: {e}")))?;
        let config = state.config;
        let mut rng = Rng::seed_from_u64(config.seed);
        let generator = load_module(config.init_generator(&mut rng, device)?, &dir.join("generator.bpk"))?;
        let discriminator = load_module(config.init_discriminator(&mut rng, device)?, &dir.join("discriminator.bpk"))?;
        let load_optimizer = |file: &str| -> Result<ModuleOptimizer> {
            let path = dir.join(file);
            let bytes = std::fs::read(&path).map_err(|e| file_error(&path, format!("cannot read: {e}")))?;
            config
                .optimizer()
                .from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
                .map_err(|e| file_error(&path, format!("optimizer record error: {e}")))
        };
        Ok(Self {
            generator_optimizer: load_optimizer("generator_optimizer.bpk")?,
            discriminator_optimizer: load_optimizer("discriminator_optimizer.bpk")?,
            generator,
            discriminator,
            config,
            epoch: state.epoch,
            step: state.step,
        })
    }
}

/// [`train_vanilla_on`] on the default device (`Device::default()`, with autodiff).
///
/// ```no_run
/// use rgan::data::{Mnist, Split};
/// use rgan::zoo::{VanillaGanConfig, train_vanilla};
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
    mut on_step: impl FnMut(&VanillaStep),
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
    let mut batcher = Batcher::new(data.len(), config.batch_size, config.seed)?;
    let steps_per_epoch = data.len() / config.batch_size;
    let outdir = outdir.as_ref().to_path_buf();
    std::fs::create_dir_all(&outdir).map_err(|e| file_error(&outdir, format!("cannot create the folder: {e}")))?;

    let device = device.clone().autodiff();
    let inner_device = device.clone().without_autodiff();
    let mut rng = Rng::seed_from_u64(config.seed);
    let mut generator = config.init_generator(&mut rng, &device)?;
    let mut discriminator = config.init_discriminator(&mut rng, &device)?;
    let mut generator_optimizer = config.optimizer();
    let mut discriminator_optimizer = config.optimizer();
    let samples = config.grid_size * config.grid_size;
    let fixed_noise = rng.normal([samples, config.encoding_dims], 0.0, 1.0, &inner_device);
    let d_options = DiscriminatorLossOptions { label_smoothing: 0.0, ..Default::default() };
    let g_options = GeneratorLossOptions { label_smoothing: 0.0, ..Default::default() };

    let mut losses: Vec<(f64, f64)> = Vec::with_capacity(config.epochs * steps_per_epoch);
    let mut summary = VanillaSummary {
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
        checkpoint: outdir.join(CHECKPOINT_DIR),
    };
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let n = config.batch_size;
    for epoch in 1..=config.epochs {
        let epoch_started = Instant::now();
        for step_in_epoch in 1..=steps_per_epoch {
            let step = summary.steps + 1;
            let real = batcher.next_batch(data, &device)?.images;

            // Discriminator step: real batch against generated images (no gradient to G).
            let noise = GeneratorInputs::noise(rng.normal([n, config.encoding_dims], 0.0, 1.0, &device));
            let fake = generator.generate(&noise)?.detach();
            let real_logits = discriminator.forward(real)?;
            let fake_logits = discriminator.forward(fake)?;
            let d_loss = minimax_discriminator_loss(real_logits, fake_logits, &d_options)?;
            let d_value = finite("discriminator_loss", d_loss.clone().into_scalar::<f64>(), step)?;
            let grads = GradientsParams::from_grads(d_loss.backward(), &discriminator);
            discriminator = discriminator_optimizer.step(config.learning_rate, discriminator, grads);

            // Generator step on fresh noise, through a frozen copy of the updated discriminator.
            let noise = GeneratorInputs::noise(rng.normal([n, config.encoding_dims], 0.0, 1.0, &device));
            let fake = generator.generate(&noise)?;
            let logits = crate::model::frozen(&discriminator).forward(fake)?;
            let g_loss = modified_generator_loss(logits, &g_options)?;
            let g_value = finite("generator_loss", g_loss.clone().into_scalar::<f64>(), step)?;
            let grads = GradientsParams::from_grads(g_loss.backward(), &generator);
            generator = generator_optimizer.step(config.learning_rate, generator, grads);

            summary.steps = step;
            losses.push((d_value, g_value));
            on_step(&VanillaStep {
                epoch,
                epochs: config.epochs,
                step_in_epoch,
                steps_per_epoch,
                step,
                discriminator_loss: d_value,
                generator_loss: g_value,
            });
        }

        let epoch_rows = &losses[losses.len() - steps_per_epoch..];
        let mean = |f: fn(&(f64, f64)) -> f64| epoch_rows.iter().map(f).sum::<f64>() / steps_per_epoch as f64;
        summary.epoch_losses.push((mean(|r| r.0), mean(|r| r.1)));

        let images = generator.valid().generate(&GeneratorInputs::noise(fixed_noise.clone()))?;
        let grid_path = outdir.join(format!("epoch_{epoch:03}.png"));
        save_image_grid(images.clone(), config.grid_size, &grid_path)?;
        frames.push(image_grid(images, config.grid_size)?.to_luma8().into_raw());
        summary.grids.push(grid_path);
        let side = config.grid_size * IMAGE_SHAPE[2];
        write_gif(&summary.gif, &frames, side, config.gif_frame_ms)?;
        write_losses_csv(&summary.losses_csv, &losses, steps_per_epoch)?;
        plot_losses(&summary, &losses, 0, "Discriminator loss (minimax)", &summary.discriminator_loss_plot)?;
        plot_losses(&summary, &losses, 1, "Generator loss (non-saturating)", &summary.generator_loss_plot)?;
        write_checkpoint(
            &summary.checkpoint,
            &CheckpointState { epoch, step: summary.steps, config: config.clone() },
            &generator,
            &discriminator,
            &generator_optimizer,
            &discriminator_optimizer,
        )?;
        summary.epoch_times.push(epoch_started.elapsed());
    }
    summary.wall = started.elapsed();
    Ok(summary)
}

fn finite(name: &str, value: f64, step: usize) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(RganError::invalid(
            name,
            format!(
                "is {value} at step {step}: training diverged; the outputs of the finished epochs are kept. Try a \
                 lower learning rate or another seed"
            ),
        ))
    }
}

/// Writes grey frames (`side × side` bytes each) as a looping GIF with a grey palette.
fn write_gif(path: &Path, frames: &[Vec<u8>], side: usize, frame_ms: u32) -> Result<()> {
    let gif_error = |e: gif::EncodingError| file_error(path, format!("cannot encode the GIF: {e}"));
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

fn write_checkpoint(
    dir: &Path,
    state: &CheckpointState,
    generator: &VanillaGenerator,
    discriminator: &VanillaDiscriminator,
    generator_optimizer: &ModuleOptimizer,
    discriminator_optimizer: &ModuleOptimizer,
) -> Result<()> {
    let optimizer_bytes = |optimizer: &ModuleOptimizer| -> Result<Vec<u8>> {
        Ok(optimizer.into_bytes().map_err(|e| file_error(dir, format!("optimizer record error: {e}")))?.to_vec())
    };
    write_atomically(dir.join("generator.bpk"), &module_bytes(generator.valid(), dir)?)?;
    write_atomically(dir.join("discriminator.bpk"), &module_bytes(discriminator.valid(), dir)?)?;
    write_atomically(dir.join("generator_optimizer.bpk"), &optimizer_bytes(generator_optimizer)?)?;
    write_atomically(dir.join("discriminator_optimizer.bpk"), &optimizer_bytes(discriminator_optimizer)?)?;
    let json = serde_json::to_vec_pretty(state).map_err(|e| file_error(dir, format!("state: {e}")))?;
    write_atomically(dir.join("state.json"), &json)
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
