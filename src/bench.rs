//! Benchmarks of rgan's hot paths, shared by `rgan bench …` and `cargo bench`.
//!
//! Each benchmark runs a fixed workload, independent of `rgan train`'s defaults, so that it can
//! be compared with the TensorFlow and PyTorch versions in `bench/reference/`:
//!
//! - [`mnist_step`]: one iteration of TF-GAN's MNIST GAN (§2.1 networks, batch 32, noise 64):
//!   one discriminator step (sigmoid cross-entropy, one-sided label smoothing 0.25, TF-GAN's
//!   `modified_discriminator_loss`), then one generator step (`modified_generator_loss`)
//!   through a frozen discriminator that computes no weight gradients; Adam with β1 0.5,
//!   lr 1e-3 (G) and 1e-4 (D). No weight decay. The iteration is the training's own step
//!   ([`GanStep`] on the alternating schedule), fed one fixed batch.
//! - [`wgan_gp_step`]: the same iteration with a critic without batch norm, Wasserstein losses
//!   and the exact gradient penalty with λ = 10.
//! - [`cifar_step`]: one global step of TF-GAN's CIFAR-10 DCGAN as `rgan train cifar` runs it
//!   ([`CifarRecipe`], unconditional; batch 32, noise 64): on the sequential schedule, a generator
//!   update (through a frozen discriminator) then a discriminator update with the Wasserstein
//!   losses and the exact gradient penalty of weight 1; Adam 2e-4, β1 0.5, for both.
//! - [`pix2pix_step`], [`cyclegan_step`], [`stargan_step`], [`compression_step`]: one global
//!   step of each image-to-image example as its `rgan train` command runs it, at the example's
//!   default size: pix2pix 256 × 256 RGB → RGB at batch 1 (a discriminator then a generator
//!   update), CycleGAN 64 × 64 at batch 1 (TF-GAN's patch size; four networks), StarGAN 128 ×
//!   128 with 5 domains at batch 6 (a generator update, then 5 critic updates with the exact
//!   penalty: TF-GAN's sequential order), compression 32 × 32 patches at batch 32 (1230 bits; a generator then a
//!   discriminator update). Their GFLOP/s are not counted (reported as null).
//! - [`fid_features`]: pool3 features of the FID Inception network on 299×299 inputs.
//! - [`fid_stats`]: the Fréchet distance of two sets of 5000 activations of 2048 features (the
//!   size of a usual FID evaluation): both means and unbiased covariances, then the distance
//!   ([`frechet_classifier_distance_from_activations_f64`](crate::eval::frechet_classifier_distance_from_activations_f64),
//!   what `rgan eval fid` computes).
//!
//! Inputs are seeded random tensors of the right shapes (no data loading), as in the
//! references. Times are wall-clock medians after warm-up iterations.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::time::Instant;

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use burn::tensor::TensorData;
use serde::Serialize;

use crate::data::{Batch, PairedBatch, UnpairedBatch};
use crate::error::{Result, RganError};
use crate::eval::inception::FidInceptionV3;
use crate::eval::{ActivationMoments, HostMatrix, MatrixRef, frechet_distance_from_moments};
use crate::model::{GanModel, GeneratorInputs, NoiseInputs};
use crate::recipes::cifar::{CifarKind, CifarRecipe};
use crate::recipes::mnist::{MnistDiscriminatorConfig, MnistGeneratorConfig, MnistStep};
use crate::rng::Rng;
use crate::train::{
    GanLossConfig, GanLossKind, GanStep, InputFn, OptimizerConfig, SampleGrid, Seeds, StepReport, TrainConfig,
    TrainSchedule, TrainStep,
};

/// How many iterations to run and time.
///
/// ```
/// let config = rgan::bench::BenchConfig::default();
/// assert_eq!((config.warmup, config.iters, config.batch_size), (3, 20, 32));
/// ```
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// Untimed iterations first (allocator and thread pool warm-up). Default 3.
    pub warmup: usize,
    /// Timed iterations; the report gives their median. Default 20.
    pub iters: usize,
    /// Batch size (32 for the GAN steps; FID features use 16 by default on the CLI). Default 32.
    pub batch_size: usize,
    /// Seed of the weights and inputs. Default 0.
    pub seed: u64,
}

impl Default for BenchConfig {
    fn default() -> Self {
        Self { warmup: 3, iters: 20, batch_size: 32, seed: 0 }
    }
}

/// One benchmark's result, printed as JSON by `rgan bench … --json`.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// The benchmark's name (`mnist-step`, `wgan-gp-step`, `cifar-step`, `fid-features`,
    /// `fid-stats`).
    pub bench: String,
    /// Median wall time of one timed iteration, in milliseconds.
    pub ms_per_iter: f64,
    /// Timed iterations.
    pub iters: usize,
    /// Achieved GFLOP/s: the iteration's floating-point operations by layer count (see
    /// [`mnist_step_flops`] and [`cifar_step_flops`]) over the median time.
    pub gflops: f64,
    /// Images per second (batch size over the median time; activations of both sets for
    /// `fid-stats`).
    pub images_per_sec: f64,
    /// The process's peak resident memory in MiB (Linux `VmHWM`), `None` elsewhere.
    pub peak_rss_mb: Option<f64>,
    /// Every timed iteration, in milliseconds.
    pub times_ms: Vec<f64>,
    /// The Fréchet distance computed (`fid-stats` only; the same every iteration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fid: Option<f64>,
    /// `fid-stats` only: the median time of the means and covariances of both sets, in ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats_ms: Option<f64>,
    /// `fid-stats` only: the median time of the distance from the means and covariances, in ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frechet_ms: Option<f64>,
}

/// Multiply-adds of one sample through TF-GAN's MNIST generator (dense 64→1024, dense
/// 1024→6272, deconv 128→64 and 64→32 with 4×4 kernels, conv 32→1) and discriminator
/// (conv 1→64 and 64→128 with 4×4 kernels, stride 2; dense 6272→1024 and 1024→1).
fn mnist_macs(noise_dims: usize) -> (f64, f64) {
    let g = noise_dims * 1024 + 1024 * 6272 + 49 * 128 * 64 * 16 + 196 * 64 * 32 * 16 + 784 * 32 * 16;
    let d = 196 * 64 * 16 + 49 * 128 * 64 * 16 + 6272 * 1024 + 1024;
    (g as f64, d as f64)
}

/// Floating-point operations of one GAN iteration of a generator and a discriminator of `g` and
/// `d` multiply-adds per sample, by layer count (2 per multiply-add; a backward pass costs two
/// forwards, one where only input gradients are needed): the discriminator step is G forward +
/// 2 × (D forward + D backward), the generator step is G forward + D forward + D input-gradient
/// backward + G backward.
fn gan_step_flops(batch_size: usize, (g, d): (f64, f64)) -> f64 {
    let d_step = g + 2.0 * (d + 2.0 * d);
    let g_step = g + d + d + 2.0 * g;
    2.0 * batch_size as f64 * (d_step + g_step)
}

/// Floating-point operations of one [`mnist_step`] iteration by layer count (2 per
/// multiply-add; a backward pass costs two forwards, one where only input gradients are
/// needed): the discriminator step is G forward + 2 × (D forward + D backward), the generator
/// step is G forward + D forward + D input-gradient backward + G backward.
///
/// ```
/// let gflop = rgan::bench::mnist_step_flops(32, 64) / 1e9;
/// assert!((gflop - 11.7).abs() < 0.05);
/// ```
pub fn mnist_step_flops(batch_size: usize, noise_dims: usize) -> f64 {
    gan_step_flops(batch_size, mnist_macs(noise_dims))
}

/// Multiply-adds of one sample through TF-GAN's CIFAR-10 generator (dense 64→4096; transposed
/// convolutions 4×4×256→8×8×128 with 5×5 kernels, →16×16×64 and →32×32×3 with 4×4 kernels, each
/// input pixel × c_in × c_out × k²: 22.5 M) and discriminator (convolutions with 5×5 kernels,
/// stride 2, 3→64 to 16×16, 64→128 to 8×8, 128→256 to 4×4, each output pixel × c_in × c_out ×
/// k²; dense 4096→1: 27.4 M). Padding is counted as if it held values, as for MNIST.
fn cifar_macs(noise_dims: usize) -> (f64, f64) {
    let g = noise_dims * 4096 + 16 * 256 * 128 * 25 + 64 * 128 * 64 * 16 + 256 * 64 * 3 * 16;
    let d = 256 * 3 * 64 * 25 + 64 * 64 * 128 * 25 + 16 * 128 * 256 * 25 + 4096;
    (g as f64, d as f64)
}

/// Floating-point operations of one [`cifar_step`] iteration by layer count, counted as
/// [`mnist_step_flops`] counts them (one generator and one discriminator update) over the
/// CIFAR-10 networks. Like [`wgan_gp_step`]'s figure it leaves out the gradient penalty, whose
/// double backprop adds a few more critic passes.
///
/// ```
/// let gflop = rgan::bench::cifar_step_flops(32, 64) / 1e9;
/// assert!((gflop - 19.82).abs() < 0.01);
/// ```
pub fn cifar_step_flops(batch_size: usize, noise_dims: usize) -> f64 {
    gan_step_flops(batch_size, cifar_macs(noise_dims))
}

/// The process's peak resident set size in MiB, from `/proc/self/status` (`None` where it is
/// not available).
///
/// ```
/// # #[cfg(target_os = "linux")]
/// assert!(rgan::bench::peak_rss_mb().unwrap() > 0.0);
/// ```
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn median(times: &[f64]) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 }
}

fn check(config: &BenchConfig) -> Result<()> {
    if config.iters == 0 {
        return Err(RganError::invalid("iters", "must be at least 1"));
    }
    if config.batch_size == 0 {
        return Err(RganError::invalid("batch_size", "must be at least 1"));
    }
    Ok(())
}

/// Runs `iteration` `warmup + iters` times and reports the timed ones.
fn time_iterations(
    name: &str,
    config: &BenchConfig,
    flops: f64,
    mut iteration: impl FnMut() -> Result<()>,
) -> Result<BenchReport> {
    check(config)?;
    for _ in 0..config.warmup {
        iteration()?;
    }
    let mut times_ms = Vec::with_capacity(config.iters);
    for _ in 0..config.iters {
        let start = Instant::now();
        iteration()?;
        times_ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let ms = median(&times_ms);
    Ok(BenchReport {
        bench: name.to_string(),
        ms_per_iter: ms,
        iters: config.iters,
        gflops: flops / (ms * 1e-3) / 1e9,
        images_per_sec: config.batch_size as f64 / (ms * 1e-3),
        peak_rss_mb: peak_rss_mb(),
        times_ms,
        fid: None,
        stats_ms: None,
        frechet_ms: None,
    })
}

/// One benchmarked iteration: the training step of the MNIST networks (without weight decay) on
/// one fixed real batch, a discriminator update then a generator update.
struct BenchStep {
    step: MnistStep,
    batch: Batch,
}

impl BenchStep {
    fn new(
        config: &BenchConfig,
        critic_batch_norm: bool,
        loss: GanLossConfig,
        lr: [f64; 2],
        beta_2: f64,
        device: &Device,
    ) -> Result<Self> {
        check(config)?;
        let device = device.clone().autodiff();
        let mut rng = Rng::seed_from_u64(config.seed);
        let g_config = MnistGeneratorConfig::new().with_weight_decay(0.0);
        let model = GanModel {
            generator: g_config.init(&mut rng, &device)?,
            discriminator: MnistDiscriminatorConfig::new()
                .with_weight_decay(0.0)
                .with_batch_norm(critic_batch_norm)
                .init(&mut rng, &device)?,
        };
        let adam = |lr| OptimizerConfig::new(lr).with_beta_1(0.5).with_beta_2(beta_2);
        let train = TrainConfig::new()
            .with_batch_size(config.batch_size)
            .with_generator_optimizer(adam(lr[0]))
            .with_discriminator_optimizer(adam(lr[1]))
            .with_loss(loss)
            .with_schedule(TrainSchedule::Alternating)
            .with_grid_size(1);
        let images = rng.uniform([config.batch_size, 1, 28, 28], -1.0, 1.0, &device);
        let labels = Tensor::from_data(TensorData::new(vec![0i64; config.batch_size], [config.batch_size]), &device);
        let step = GanStep::new(train, model, NoiseInputs::new(g_config.noise_dims), rng, &device)?;
        Ok(Self { step, batch: Batch { images, labels } })
    }

    fn iterate(&mut self) -> Result<()> {
        self.step.step(vec![self.batch.clone()])?;
        Ok(())
    }
}

/// Times TF-GAN's MNIST GAN iteration (see the [module docs](self)).
///
/// ```
/// use rgan::bench::{BenchConfig, mnist_step};
/// let config = BenchConfig { warmup: 0, iters: 1, batch_size: 2, seed: 0 };
/// let report = mnist_step(&config, &burn::prelude::Device::default()).unwrap();
/// assert_eq!((report.bench.as_str(), report.iters), ("mnist-step", 1));
/// assert!(report.ms_per_iter > 0.0 && report.gflops > 0.0);
/// ```
pub fn mnist_step(config: &BenchConfig, device: &Device) -> Result<BenchReport> {
    let loss = GanLossConfig::new().with_loss(GanLossKind::Modified);
    let mut step = BenchStep::new(config, true, loss, [1e-3, 1e-4], 0.999, device)?;
    let flops = mnist_step_flops(config.batch_size, MnistGeneratorConfig::new().noise_dims);
    time_iterations("mnist-step", config, flops, || step.iterate())
}

/// Times the WGAN-GP iteration: the MNIST networks with a critic without batch norm,
/// Wasserstein losses, the exact gradient penalty with λ = 10 (double backprop), Adam 1e-4 for
/// both with β = (0.5, 0.9) as in Gulrajani et al. GFLOP/s counts the GAN iteration's layers
/// only (the penalty's double backprop adds about three critic passes on top).
///
/// ```
/// use rgan::bench::{BenchConfig, wgan_gp_step};
/// let config = BenchConfig { warmup: 0, iters: 1, batch_size: 2, seed: 0 };
/// let report = wgan_gp_step(&config, &burn::prelude::Device::default()).unwrap();
/// assert_eq!(report.bench, "wgan-gp-step");
/// ```
pub fn wgan_gp_step(config: &BenchConfig, device: &Device) -> Result<BenchReport> {
    let loss = GanLossConfig::new().with_loss(GanLossKind::Wasserstein).with_gradient_penalty_weight(Some(10.0));
    let mut step = BenchStep::new(config, false, loss, [1e-4, 1e-4], 0.9, device)?;
    let flops = mnist_step_flops(config.batch_size, MnistGeneratorConfig::new().noise_dims);
    time_iterations("wgan-gp-step", config, flops, || step.iterate())
}

/// The recipe, training configuration, seeds and fixed real batch of [`cifar_step`]: the
/// unconditional [`CifarRecipe`] with its own [`train_config`](CifarRecipe::train_config) at
/// `config`'s batch size (as `rgan train cifar --batch-size` sets it), the run seeds
/// [`Seeds::new`]`(config.seed)`, and `[batch, 3, 32, 32]` images uniform in [-1, 1] drawn from
/// those seeds' data seed, on the autodiff device.
fn cifar_setup(config: &BenchConfig, device: &Device) -> Result<(CifarRecipe, TrainConfig, Seeds, Batch)> {
    check(config)?;
    let recipe = CifarRecipe::for_kind(CifarKind::Unconditional);
    let train = recipe.train_config().with_batch_size(config.batch_size);
    let seeds = Seeds::new(config.seed);
    let device = device.clone().autodiff();
    let n = config.batch_size;
    let images = Rng::seed_from_u64(seeds.data).uniform([n, 3, 32, 32], -1.0, 1.0, &device);
    let labels = Tensor::from_data(TensorData::new(vec![0i64; n], [n]), &device);
    Ok((recipe, train, seeds, Batch { images, labels }))
}

/// Times one global step of TF-GAN's CIFAR-10 DCGAN (see the [module docs](self)): the step
/// [`CifarRecipe::step`] builds for `rgan train cifar` (unconditional networks, the recipe's
/// training configuration at `config.batch_size`), fed one fixed random batch for each of its
/// two updates (the generator's, then the discriminator's with the exact gradient penalty of
/// weight 1). GFLOP/s counts [`cifar_step_flops`], without the penalty.
///
/// ```
/// use rgan::bench::{BenchConfig, cifar_step};
/// let config = BenchConfig { warmup: 0, iters: 1, batch_size: 2, seed: 0 };
/// let report = cifar_step(&config, &burn::prelude::Device::default()).unwrap();
/// assert_eq!((report.bench.as_str(), report.iters), ("cifar-step", 1));
/// assert!(report.ms_per_iter > 0.0 && report.gflops > 0.0);
/// ```
pub fn cifar_step(config: &BenchConfig, device: &Device) -> Result<BenchReport> {
    let (recipe, train, seeds, batch) = cifar_setup(config, device)?;
    let mut step = recipe.step(&train, seeds, device)?;
    let batches = vec![batch; step.batches_per_step()];
    let flops = cifar_step_flops(config.batch_size, recipe.generator.noise_dims);
    time_iterations("cifar-step", config, flops, || {
        step.step(batches.clone())?;
        Ok(())
    })
}

/// Times `step` on `batches` (one per update of a global step), GFLOP/s not counted.
fn time_step<S: TrainStep>(name: &str, config: &BenchConfig, mut step: S, batch: S::Batch) -> Result<BenchReport>
where
    S::Batch: Clone,
{
    let batches = vec![batch; step.batches_per_step()];
    time_iterations(name, config, f64::NAN, || {
        step.step(batches.clone())?;
        Ok(())
    })
}

/// `n` seeded random images `[n, c, side, side]` in `[-1, 1]` on `device`.
fn random_images(rng: &mut Rng, [n, c, side]: [usize; 3], device: &Device) -> Tensor<4> {
    rng.uniform([n, c, side, side], -1.0, 1.0, device)
}

/// Times one global step of pix2pix as `rgan train pix2pix` runs it at its defaults (see the
/// [module docs](self)): 256 × 256 RGB pairs at `config.batch_size`.
///
/// ```no_run
/// use rgan::bench::{BenchConfig, pix2pix_step};
/// let config = BenchConfig { warmup: 0, iters: 1, batch_size: 1, seed: 0 };
/// let report = pix2pix_step(&config, &burn::prelude::Device::default()).unwrap();
/// assert_eq!(report.bench, "pix2pix-step");
/// ```
pub fn pix2pix_step(config: &BenchConfig, device: &Device) -> Result<BenchReport> {
    use crate::recipes::image_to_image::Pix2PixRecipe;
    check(config)?;
    let (seeds, device) = (Seeds::new(config.seed), device.clone().autodiff());
    let mut rng = Rng::seed_from_u64(seeds.data);
    let shape = [config.batch_size, 3, 256];
    let batch = PairedBatch {
        inputs: random_images(&mut rng, shape, &device),
        targets: random_images(&mut rng, shape, &device),
    };
    let train = Pix2PixRecipe::train_config(100.0).with_batch_size(config.batch_size);
    let step = Pix2PixRecipe::for_images(3, 3, 256).step(&train, seeds, batch.clone(), &device)?;
    time_step("pix2pix-step", config, step, batch)
}

/// Times one global step of TF-GAN's CycleGAN example as `rgan train cyclegan` runs it on
/// 64 × 64 RGB images at `config.batch_size` (see the [module docs](self)).
///
/// ```no_run
/// use rgan::bench::{BenchConfig, cyclegan_step};
/// let config = BenchConfig { warmup: 0, iters: 1, batch_size: 1, seed: 0 };
/// assert_eq!(cyclegan_step(&config, &burn::prelude::Device::default()).unwrap().bench, "cyclegan-step");
/// ```
pub fn cyclegan_step(config: &BenchConfig, device: &Device) -> Result<BenchReport> {
    use crate::recipes::image_to_image::{CycleGanRecipe, patch_layers};
    check(config)?;
    let (seeds, device) = (Seeds::new(config.seed), device.clone().autodiff());
    let mut rng = Rng::seed_from_u64(seeds.data);
    let shape = [config.batch_size, 3, 64];
    let batch =
        UnpairedBatch { x: random_images(&mut rng, shape, &device), y: random_images(&mut rng, shape, &device) };
    let mut recipe = CycleGanRecipe::for_images(3);
    recipe.discriminator.layers = patch_layers(64);
    let train = CycleGanRecipe::train_config().with_batch_size(config.batch_size);
    let step = recipe.step(&train, seeds, batch.clone(), &device)?;
    time_step("cyclegan-step", config, step, batch)
}

/// The domains of [`stargan_step`].
pub const STARGAN_BENCH_DOMAINS: usize = 5;

/// Times one global step of TF-GAN's StarGAN example as `rgan train stargan` runs it on 128 ×
/// 128 RGB images of [`STARGAN_BENCH_DOMAINS`] domains at `config.batch_size` (see the
/// [module docs](self)).
///
/// ```no_run
/// use rgan::bench::{BenchConfig, stargan_step};
/// let config = BenchConfig { warmup: 0, iters: 1, batch_size: 6, seed: 0 };
/// assert_eq!(stargan_step(&config, &burn::prelude::Device::default()).unwrap().bench, "stargan-step");
/// ```
pub fn stargan_step(config: &BenchConfig, device: &Device) -> Result<BenchReport> {
    use crate::recipes::image_to_image::StarGanRecipe;
    check(config)?;
    let (seeds, device) = (Seeds::new(config.seed), device.clone().autodiff());
    let mut rng = Rng::seed_from_u64(seeds.data);
    let n = config.batch_size;
    let images = random_images(&mut rng, [n, 3, 128], &device);
    let labels = (0..n).map(|i| (i % STARGAN_BENCH_DOMAINS) as i64).collect();
    let batch = Batch { images: images.clone(), labels: Tensor::from_data(TensorData::new(labels, [n]), &device) };
    let train = StarGanRecipe::train_config().with_batch_size(n);
    let step = StarGanRecipe::for_images(3, STARGAN_BENCH_DOMAINS, 128).step(&train, seeds, images, &device)?;
    time_step("stargan-step", config, step, batch)
}

/// Times one global step of TF-GAN's image compression example as `rgan train compression` runs
/// it: 32 × 32 RGB patches, 1230 bits, weight factor 4000, at `config.batch_size` (see the
/// [module docs](self)).
///
/// ```
/// use rgan::bench::{BenchConfig, compression_step};
/// let config = BenchConfig { warmup: 0, iters: 1, batch_size: 2, seed: 0 };
/// let report = compression_step(&config, &burn::prelude::Device::default()).unwrap();
/// assert!(report.bench == "compression-step" && report.ms_per_iter > 0.0);
/// ```
pub fn compression_step(config: &BenchConfig, device: &Device) -> Result<BenchReport> {
    use crate::recipes::compression::{CompressionRecipe, TFGAN_WEIGHT_FACTOR};
    check(config)?;
    let (seeds, device) = (Seeds::new(config.seed), device.clone().autodiff());
    let n = config.batch_size;
    let images = random_images(&mut Rng::seed_from_u64(seeds.data), [n, 3, 32], &device);
    let batch =
        Batch { images: images.clone(), labels: Tensor::from_data(TensorData::new(vec![0i64; n], [n]), &device) };
    let train = CompressionRecipe::train_config(TFGAN_WEIGHT_FACTOR).with_batch_size(n);
    let step = CompressionRecipe::new().step(&train, seeds, images, &device)?;
    time_step("compression-step", config, step, batch)
}

/// The global steps [`cifar_step_check`] records by default (`rgan bench cifar-step
/// --write-check`): two, so that the losses of the second depend on both Adam updates of the
/// first.
pub const CIFAR_CHECK_STEPS: usize = 2;

/// [`NoiseInputs`] that also records what each update draws: the noise, and the stream's next
/// `[batch, 1, 1, 1]` uniform draws, which a discriminator update's gradient penalty takes next
/// as its interpolation weights (the draws beside a generator update are never used).
struct RecordingInputs {
    noise: NoiseInputs,
    drawn: Rc<RefCell<Vec<(Tensor<2>, Tensor<4>)>>>,
}

impl InputFn for RecordingInputs {
    type Batch = Batch;
    type Inputs = GeneratorInputs;

    fn inputs(&self, batch: Batch, rng: &mut Rng) -> Result<(Tensor<4>, GeneratorInputs)> {
        let (real, inputs) = self.noise.inputs(batch, rng)?;
        let shape = [real.dims()[0], 1, 1, 1];
        let alpha = rng.clone().uniform_dtype(shape, 0.0, 1.0, real.dtype(), &real.device());
        self.drawn.borrow_mut().push((inputs.noise.clone(), alpha));
        Ok((real, inputs))
    }

    fn labelled(&self, batch: Batch) -> Option<(Tensor<4>, Tensor<2>)> {
        self.noise.labelled(batch)
    }

    fn sample_grid(&self, columns: usize, rng: &mut Rng, device: &Device) -> Result<SampleGrid<GeneratorInputs>> {
        self.noise.sample_grid(columns, rng, device)
    }
}

/// Every float tensor of a module (parameters and batch-norm running statistics) by its path,
/// `prefix.field.…`, as float32.
struct NamedFloats {
    prefix: &'static str,
    path: Vec<String>,
    arrays: Vec<(String, TensorData)>,
}

impl ModuleVisitor for NamedFloats {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let name = format!("{}.{}", self.prefix, self.path.join("."));
        self.arrays.push((name, param.val().into_data().convert::<f32>()));
    }
}

fn named_floats<M: Module>(prefix: &'static str, module: &M) -> Vec<(String, TensorData)> {
    let mut visitor = NamedFloats { prefix, path: Vec::new(), arrays: Vec::new() };
    module.visit(&mut visitor);
    visitor.arrays
}

/// What the references of `cifar-step` need to check that they compute what [`cifar_step`]
/// does: `steps` global steps of the same step (the same recipe, configuration, seeds and
/// batch), recorded, as named arrays in burn's layouts:
///
/// - `generator.<field>.<param>`, `discriminator.<field>.<param>`: the networks before the first
///   step (float32; e.g. `generator.project.weight` `[64, 4096]`, `generator.deconv1.weight`
///   `[256, 128, 5, 5]` as `[c_in, c_out, k, k]`, `discriminator.conv1.weight` `[64, 3, 5, 5]`,
///   batch norm's `gamma`, `beta`, `running_mean`, `running_var`);
/// - `real` `[batch, 3, 32, 32]`: the real batch of every update;
/// - `g_noise`, `d_noise` `[steps, batch, 64]`: the noise of each step's generator update and of
///   its discriminator update (the sequential schedule runs them in that order);
/// - `alpha` `[steps, batch]`: the gradient penalty's interpolation weights of each
///   discriminator update;
/// - `g_loss`, `d_loss` (with the penalty), `gradient_penalty` `[steps]` (float64): the losses
///   each step reported.
///
/// Errors when `steps` is 0 or the recipe's schedule is not one generator then one
/// discriminator update per step.
///
/// ```
/// use rgan::bench::{BenchConfig, cifar_step_check};
/// let config = BenchConfig { batch_size: 2, ..BenchConfig::default() };
/// let arrays = cifar_step_check(&config, 1, &burn::prelude::Device::default()).unwrap();
/// let alpha = &arrays.iter().find(|(name, _)| name == "alpha").unwrap().1;
/// assert_eq!(alpha.shape().to_vec(), vec![1, 2]);
/// ```
pub fn cifar_step_check(config: &BenchConfig, steps: usize, device: &Device) -> Result<Vec<(String, TensorData)>> {
    if steps == 0 {
        return Err(RganError::invalid("steps", "must be at least 1"));
    }
    let (recipe, train, mut seeds, batch) = cifar_setup(config, device)?;
    if (train.schedule, train.generator_train_steps, train.discriminator_train_steps)
        != (TrainSchedule::Sequential, 1, 1)
    {
        return Err(RganError::invalid(
            "schedule",
            "the check records one generator then one discriminator update per step (sequential, 1 and 1)",
        ));
    }
    // The model as `CifarRecipe::step` builds it.
    let device = device.clone().autodiff();
    let model = GanModel {
        generator: recipe.generator.init(&mut seeds.generator, &device)?,
        discriminator: recipe.discriminator.init(&mut seeds.discriminator, &device)?,
    };
    let mut arrays = named_floats("generator", &model.generator);
    arrays.extend(named_floats("discriminator", &model.discriminator));
    let drawn = Rc::new(RefCell::new(Vec::new()));
    let inputs = RecordingInputs { noise: recipe.noise_inputs(), drawn: Rc::clone(&drawn) };
    let mut step = GanStep::new(train, model, inputs, seeds.step, &device)?;
    let batches = vec![batch.clone(); step.batches_per_step()];
    let reports = (0..steps).map(|_| step.step(batches.clone())).collect::<Result<Vec<StepReport>>>()?;
    let drawn = drawn.borrow();
    if drawn.len() != 2 * steps {
        return Err(RganError::invalid("steps", format!("drew inputs {} times in {steps} steps", drawn.len())));
    }
    let n = config.batch_size;
    let noise_dims = recipe.generator.noise_dims;
    let noise = |update: usize| {
        let each = drawn.iter().skip(update).step_by(2).map(|(noise, _)| noise.clone()).collect();
        Tensor::cat(each, 0).reshape([steps, n, noise_dims]).into_data()
    };
    let alpha = drawn.iter().skip(1).step_by(2).map(|(_, alpha)| alpha.clone().reshape([1, n])).collect();
    let losses = |loss: fn(&StepReport) -> f64| TensorData::new(reports.iter().map(loss).collect::<Vec<_>>(), [steps]);
    arrays.extend([
        ("real".to_string(), batch.images.into_data()),
        ("g_noise".to_string(), noise(0)),
        ("d_noise".to_string(), noise(1)),
        ("alpha".to_string(), Tensor::cat(alpha, 0).into_data()),
        ("g_loss".to_string(), losses(|r| r.g_loss)),
        ("d_loss".to_string(), losses(|r| r.d_loss)),
        ("gradient_penalty".to_string(), losses(|r| r.gradient_penalty.unwrap_or(f64::NAN))),
    ]);
    Ok(arrays)
}

/// Multiply-adds of one 299×299 image through the FID Inception network up to pool3
/// (5.7 G, the standard figure for Inception-v3 without its classifier).
const INCEPTION_MACS: f64 = 5.7e9;

/// Times pool3 feature extraction with the FID Inception network loaded from `weights`, on
/// batches of `config.batch_size` network inputs `[N, 3, 299, 299]` in [-1, 1].
pub fn fid_features(config: &BenchConfig, weights: &Path, device: &Device) -> Result<BenchReport> {
    check(config)?;
    let network = FidInceptionV3::load(weights, device)?;
    let mut rng = Rng::seed_from_u64(config.seed);
    let images = rng.uniform([config.batch_size, 3, 299, 299], -1.0, 1.0, device);
    let flops = 2.0 * INCEPTION_MACS * config.batch_size as f64;
    time_iterations("fid-features", config, flops, || {
        let features = network.features(images.clone())?;
        let _ = features.into_data();
        Ok(())
    })
}

/// The activations per set of the `fid-stats` workload (a usual FID evaluation's count).
pub const FID_STATS_SAMPLES: usize = 5000;

/// The features per activation of the `fid-stats` workload (Inception's pool3).
pub const FID_STATS_DIMS: usize = 2048;

/// The latent dimension that correlates the features of [`fid_stats_inputs`].
const FID_STATS_LATENT: usize = 64;

/// The two activation sets `[samples, dims]` of [`fid_stats`], deterministic in `seed`.
///
/// Each row is `relu(z W + 0.5 e + b)`. The 64-dim Gaussian latent `z` through a random mixing `W`
/// (column scales from 0.5 to 1.5) correlates the features as a network's are, with a few strong
/// directions; the independent noise `e` makes the covariance full rank once
/// `samples > dims`; the ReLU makes the features non-negative and skewed like Inception's pool3
/// features. The second set mixes with `W + 0.25 V` and a bias 0.05 higher, so the two
/// distributions differ in both mean and covariance.
///
/// ```
/// let [a, b] = rgan::bench::fid_stats_inputs(100, 8, 0).unwrap();
/// assert_eq!((a.rows, a.cols, b.rows, b.cols), (100, 8, 100, 8));
/// assert!(a.data.iter().chain(&b.data).all(|&v| v >= 0.0));
/// assert_eq!(rgan::bench::fid_stats_inputs(100, 8, 0).unwrap()[1], b);
/// ```
pub fn fid_stats_inputs(samples: usize, dims: usize, seed: u64) -> Result<[HostMatrix; 2]> {
    if samples < 2 {
        return Err(RganError::invalid("samples", format!("an unbiased covariance needs at least 2, got {samples}")));
    }
    if dims == 0 {
        return Err(RganError::invalid("dims", "must be at least 1"));
    }
    let (k, d) = (FID_STATS_LATENT, dims);
    let mut rng = Rng::seed_from_u64(seed);
    let scale: Vec<f64> = (0..d).map(|_| 0.5 + rng.next_f64()).collect();
    let mixing = |rng: &mut Rng| -> Vec<f64> {
        (0..k * d).map(|i| rng.next_normal() * scale[i % d] / (k as f64).sqrt()).collect()
    };
    let w1 = mixing(&mut rng);
    let w2: Vec<f64> = w1.iter().zip(mixing(&mut rng)).map(|(w, v)| w + 0.25 * v).collect();
    let bias: Vec<f64> = (0..d).map(|_| 0.2 * rng.next_normal()).collect();
    let mut set = |w: &[f64], shift: f64| -> HostMatrix {
        let mut data = vec![0.0; samples * d];
        let mut z = vec![0.0; k];
        for row in data.chunks_exact_mut(d) {
            z.iter_mut().for_each(|v| *v = rng.next_normal());
            for (x, b) in row.iter_mut().zip(&bias) {
                *x = 0.5 * rng.next_normal() + b + shift;
            }
            for (zt, w_row) in z.iter().zip(w.chunks_exact(d)) {
                row.iter_mut().zip(w_row).for_each(|(x, w)| *x += zt * w);
            }
            row.iter_mut().for_each(|x| *x = x.max(0.0));
        }
        HostMatrix { data, rows: samples, cols: d }
    };
    let a = set(&w1, 0.0);
    let b = set(&w2, 0.05);
    Ok([a, b])
}

/// Times the FID statistics of two activation sets (e.g. [`fid_stats_inputs`]): the means and
/// unbiased covariances of both ([`ActivationMoments`]), then their Fréchet distance
/// ([`frechet_distance_from_moments`]), all in f64: the two steps of
/// [`frechet_classifier_distance_from_activations_f64`](crate::eval::frechet_classifier_distance_from_activations_f64)
/// (what `rgan eval fid` runs on two `.npy` files), timed apart as `stats_ms` and `frechet_ms`.
/// The report's `fid` is the distance; `images_per_sec` counts the activations of both sets;
/// GFLOP/s counts only the two covariance products (`2 n d²` each), the bulk of the arithmetic.
///
/// ```
/// use rgan::bench::{BenchConfig, fid_stats, fid_stats_inputs};
/// let inputs = fid_stats_inputs(50, 4, 0).unwrap();
/// let config = BenchConfig { warmup: 0, iters: 1, ..BenchConfig::default() };
/// let report = fid_stats(&config, &inputs).unwrap();
/// assert_eq!(report.bench, "fid-stats");
/// assert!(report.fid.unwrap() > 0.0);
/// ```
pub fn fid_stats(config: &BenchConfig, inputs: &[HostMatrix; 2]) -> Result<BenchReport> {
    let [a, b] = inputs;
    let (n, d) = (a.rows + b.rows, a.cols);
    let flops = 2.0 * n as f64 * (d * d) as f64;
    let timed = BenchConfig { batch_size: n, ..config.clone() };
    let (mut fid, mut stats_ms, mut frechet_ms) = (f64::NAN, Vec::new(), Vec::new());
    let mut report = time_iterations("fid-stats", &timed, flops, || {
        let start = Instant::now();
        let (m1, m2) = (ActivationMoments::from_f64(a.view())?, ActivationMoments::from_f64(b.view())?);
        let (c1, c2) = (m1.covariance()?, m2.covariance()?);
        let middle = Instant::now();
        fid = frechet_distance_from_moments(
            m1.mean(),
            MatrixRef::new("sigma1", &c1, d, d)?,
            m2.mean(),
            MatrixRef::new("sigma2", &c2, d, d)?,
        )?;
        stats_ms.push((middle - start).as_secs_f64() * 1e3);
        frechet_ms.push(middle.elapsed().as_secs_f64() * 1e3);
        Ok(())
    })?;
    report.fid = Some(fid);
    report.stats_ms = Some(median(&stats_ms[config.warmup..]));
    report.frechet_ms = Some(median(&frechet_ms[config.warmup..]));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn flops_match_the_issue_count() {
        // 366.4 MFLOP per sample: see `mnist_step_flops`.
        let per_sample = mnist_step_flops(1, 64);
        assert!((per_sample / 1e6 - 366.3).abs() < 0.5, "{per_sample}");
    }

    #[test]
    fn zero_iterations_are_refused() {
        let config = BenchConfig { iters: 0, ..BenchConfig::default() };
        let err = mnist_step(&config, &Device::default()).unwrap_err().to_string();
        assert!(err.contains("iters"), "{err}");
    }

    #[test]
    fn fid_stats_is_deterministic_and_checks_its_sizes() {
        let inputs = fid_stats_inputs(40, 6, 3).unwrap();
        let config = BenchConfig { warmup: 1, iters: 2, ..BenchConfig::default() };
        let (r1, r2) = (fid_stats(&config, &inputs).unwrap(), fid_stats(&config, &inputs).unwrap());
        assert_eq!(r1.fid, r2.fid);
        // The same computation as the batch function.
        let [a, b] = &inputs;
        let batch = crate::eval::frechet_classifier_distance_from_activations_f64(a.view(), b.view()).unwrap();
        assert_eq!(r1.fid, Some(batch));
        assert!(r1.stats_ms.unwrap() > 0.0 && r1.frechet_ms.unwrap() > 0.0);
        assert_eq!(r1.times_ms.len(), 2);
        // The second set is shifted: a clearly positive distance.
        assert!(r1.fid.unwrap() > 1e-3, "{:?}", r1.fid);
        assert!(fid_stats_inputs(1, 6, 0).unwrap_err().to_string().contains("samples"));
        assert!(fid_stats_inputs(4, 0, 0).unwrap_err().to_string().contains("dims"));
    }

    #[test]
    fn cifar_flops_follow_the_layer_shapes() {
        let (g, d) = cifar_macs(64);
        assert_eq!((g, d), (22_544_384.0, 27_447_296.0));
        // 619.5 MFLOP per sample: 3 G + 2 D for the generator update, G + 6 D for the critic's.
        assert_eq!(cifar_step_flops(1, 64), 2.0 * (3.0 * g + 2.0 * d + g + 6.0 * d));
    }

    #[test]
    fn cifar_check_records_the_benchmarked_step() {
        let config = BenchConfig { warmup: 0, iters: 1, batch_size: 3, seed: 2 };
        let arrays = cifar_step_check(&config, 2, &Device::default()).unwrap();
        let get = |name: &str| arrays.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{name}")).1.clone();
        let shape = |name: &str| get(name).shape().to_vec();
        assert_eq!(shape("generator.project.weight"), vec![64, 4096]);
        assert_eq!(shape("generator.deconv1.weight"), vec![256, 128, 5, 5]);
        assert_eq!(shape("generator.output.bias"), vec![3]);
        assert_eq!(shape("discriminator.bn3.gamma"), vec![256]);
        assert_eq!(shape("discriminator.output.weight"), vec![4096, 1]);
        assert_eq!((shape("real"), shape("g_noise"), shape("alpha")), (vec![3, 3, 32, 32], vec![2, 3, 64], vec![2, 3]));
        let values = |name: &str| get(name).convert::<f64>().try_to_vec::<f64>().unwrap();
        assert!(values("alpha").iter().all(|a| (0.0..1.0).contains(a)));
        assert_ne!(values("g_noise"), values("d_noise"));
        // The same losses as the benchmarked step (`CifarRecipe::step`) on the same batch.
        let (recipe, train, seeds, batch) = cifar_setup(&config, &Device::default()).unwrap();
        let mut step = recipe.step(&train, seeds, &Device::default()).unwrap();
        for i in 0..2 {
            let report = step.step(vec![batch.clone(); 2]).unwrap();
            assert_eq!(report.g_loss, values("g_loss")[i]);
            assert_eq!(report.d_loss, values("d_loss")[i]);
            assert_eq!(report.gradient_penalty, Some(values("gradient_penalty")[i]));
        }
        assert!(cifar_step_check(&config, 0, &Device::default()).unwrap_err().to_string().contains("steps"));
    }

    #[test]
    fn wgan_gp_step_trains_both_networks() {
        let config = BenchConfig { warmup: 0, iters: 2, batch_size: 2, seed: 1 };
        let report = wgan_gp_step(&config, &Device::default()).unwrap();
        assert_eq!(report.times_ms.len(), 2);
    }

    /// The networks of the image-to-image workloads have the parameter counts of
    /// bench/reference/torch_image_to_image_steps.py's (`--count-params`), so the two time the
    /// same models. burn counts a batch norm's running mean and variance too (PyTorch keeps them
    /// as buffers): 2 more per batch-norm channel.
    #[test]
    fn image_to_image_networks_match_the_pytorch_references_parameter_counts() {
        use crate::recipes::compression::CompressionRecipe;
        use crate::recipes::image_to_image::{CycleGanRecipe, Pix2PixRecipe, StarGanRecipe, patch_layers};
        let device = Device::default();
        let rng = &mut Rng::seed_from_u64(0);
        let running = |channels: usize| 2 * channels;
        let pix2pix = Pix2PixRecipe::for_images(3, 3, 256);
        // U-Net batch norms: encoder 128 + 256 + 4 · 512, decoder 64 + 128 + 256 + 4 · 512.
        let unet_norms = 128 + 256 + 4 * 512 + 64 + 128 + 256 + 4 * 512;
        assert_eq!(pix2pix.generator.init(rng, &device).unwrap().num_params(), 54_414_531 + running(unet_norms));
        let patch_norms = 128 + 256 + 512;
        assert_eq!(pix2pix.discriminator.init(rng, &device).unwrap().num_params(), 2_768_705 + running(patch_norms));
        // Instance norms keep no running statistics.
        let mut cyclegan = CycleGanRecipe::for_images(3);
        cyclegan.discriminator.layers = patch_layers(64);
        assert_eq!(cyclegan.generator.init(rng, &device).unwrap().num_params(), 7_841_411);
        assert_eq!(cyclegan.discriminator.init(rng, &device).unwrap().num_params(), 2_765_633);
        let stargan = StarGanRecipe::for_images(3, STARGAN_BENCH_DOMAINS, 128);
        assert_eq!(stargan.generator.init(rng, &device).unwrap().num_params(), 8_430_531);
        assert_eq!(stargan.discriminator.init(rng, &device).unwrap().num_params(), 44_762_048);
        // γ of slim's batch norm is fixed at 1 but a parameter on both sides; batch norms of
        // 128 + 256 + 512 + 1024 (encoder) and 512 + 256 + 128 (decoder) channels.
        let compression = CompressionRecipe::new();
        let codec_norms = 128 + 256 + 512 + 1024 + 512 + 256 + 128;
        assert_eq!(compression.codec(rng, &device).unwrap().num_params(), 25_239_569 + running(codec_norms));
        assert_eq!(compression.discriminator(rng, &device).unwrap().num_params(), 2_764_737);
    }
}
