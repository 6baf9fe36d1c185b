//! `rgan`: train GANs and draw samples from their checkpoints.
//!
//! ```text
//! rgan train mnist [--model unconditional|conditional|infogan|acgan] [--steps 2000] [--batch-size 32]
//!                  [--seed 0] [--logdir logs/mnist-<model>] [--data-dir DIR]
//!                  [--dataset mnist|fashion-mnist] [--device cpu|cuda|wgpu] ...
//! rgan train images --data-dir DIR [--size 64] [--channels 3] [--steps 2000] [--batch-size 64]
//!                   [--logdir logs/images] [--loss ...] [--gradient-penalty-weight W] ...
//! rgan train zoo --model dcgan|cgan-mlp|cgan-conv|cgan-classifier|wgan-mlp|wgan-conv|wgan-classifier|
//!                       wgan-gp|infogan-shared|infogan-separate [--steps 5000] [--logdir logs/zoo-<model>]
//! rgan train zoo --list
//! rgan sample --checkpoint logs/mnist-unconditional --num 64 --out samples.png [--ema]
//! ```

mod bench;
mod compression;
mod eval_cifar;
mod eval_classifier;
mod eval_cmd;
mod eval_inception;
mod eval_pix2pix;
mod eval_unpaired;
mod pix2pix;
mod signals;
mod translate;
mod unpaired;
mod vanilla;
mod zoo;

mod allocator;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use burn::tensor::TensorData;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rgan::data::{BatchSource, Cifar10, ImageDataset, ImageFolder, Mnist, Split};
use rgan::eval::cifar::CifarEvalHook;
use rgan::eval::mnist::{MNIST_EVAL_SAMPLES, MnistEvalHook, dataset_images};
use rgan::losses::StructuredInput;
use rgan::model::{BatchNormMode, GanGenerator, GeneratorInputs, NoiseInputs, one_hot};
use rgan::recipes::cifar::{CifarKind, CifarRecipe};
use rgan::recipes::dcgan::DcganNetworks;
use rgan::recipes::mnist::{GanKind, MnistRecipe};
use rgan::recipes::{Recipe, load_noise_generator};
use rgan::summary::ImageGrid;
use rgan::train::{
    Explicit, GanLossKind, Resume, StepSummary, TrainConfig, TrainHook, TrainSchedule, TrainStep, Trainer,
};

#[derive(Parser, Debug)]
#[command(name = "rgan", version, about = "Generative Adversarial Networks in Rust (a TF-GAN port on burn)")]
struct Cli {
    /// CPU threads for every kernel (default: all cores, or `RAYON_NUM_THREADS`). A run's numbers
    /// are the same bits on any number of threads.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a GAN.
    Train {
        #[command(subcommand)]
        example: TrainExample,
    },
    /// Draw samples from a checkpoint's generator into a PNG grid.
    Sample(SampleArgs),
    /// Translate an image with an image-to-image checkpoint (pix2pix, CycleGAN, StarGAN).
    Translate(translate::TranslateArgs),
    /// Compress an image with a compression checkpoint into an .rgc file of packed bits.
    Compress(compression::CompressArgs),
    /// Decode an .rgc file back into a PNG of the original size.
    Decompress(compression::DecompressArgs),
    /// The original GAN (Goodfellow et al. 2014) on MNIST: per-epoch grids, a GIF, loss curves.
    Vanilla(vanilla::VanillaArgs),
    /// Evaluate generators: Inception features, rgan's MNIST classifier.
    Eval {
        #[command(subcommand)]
        command: EvalCommand,
    },
    /// Time rgan's hot paths: the MNIST GAN step, the WGAN-GP step, FID features.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

#[derive(Subcommand, Debug)]
enum EvalCommand {
    /// FID Inception-v3 pool3 features of [N, 3, 299, 299] images in [-1, 1] (.npy → .npy).
    InceptionFeatures(eval_inception::InceptionFeaturesArgs),
    /// Train one of rgan's evaluation classifiers (MNIST: the MNIST score; CIFAR-10: the CIFAR-10
    /// classifier score) and write its weights.
    TrainClassifier(eval_classifier::TrainClassifierArgs),
    /// Fréchet and kernel distances of two activation sets (.npy) or image folders, as JSON.
    Fid(eval_cmd::FidArgs),
    /// TF-GAN's MNIST score and Frechet distance of a checkpoint's generator (and of real digits).
    Mnist(eval_cmd::MnistEvalArgs),
    /// The accuracy of rgan's MNIST classifier on the MNIST test set.
    Classifier(eval_cmd::ClassifierArgs),
    /// The FID of a CIFAR-10 checkpoint's generator against CIFAR-10's training set.
    Cifar(eval_cifar::CifarEvalArgs),
    /// L1, PSNR and FID of a pix2pix checkpoint's translations of held-out pairs, and a grid.
    Pix2pix(eval_pix2pix::Pix2PixEvalArgs),
    /// Bits per pixel, PSNR and MS-SSIM of a compression checkpoint on a folder of photographs.
    Compression(compression::CompressionEvalArgs),
    /// FID in each direction and cycle reconstruction L1 of a CycleGAN on held-out images.
    Cyclegan(eval_unpaired::CycleGanEvalArgs),
    /// How often rgan's CIFAR-10 classifier assigns a StarGAN's translations to their target.
    Stargan(eval_unpaired::StarGanEvalArgs),
}

#[derive(Subcommand, Debug)]
enum TrainExample {
    /// TF-GAN's unconditional MNIST GAN (examples/mnist): 28×28 grey images, noise 64.
    Mnist(MnistArgs),
    /// DCGAN on a folder of images: square, 1 or 3 channels.
    Images(ImagesArgs),
    /// TF-GAN's CIFAR-10 DCGAN (examples/cifar), unconditional or conditional on the class.
    Cifar(CifarArgs),
    /// The classic GAN zoo on MNIST: DCGAN, cGANs, WGANs, WGAN-GP, InfoGANs (--list shows them).
    Zoo(zoo::ZooArgs),
    /// pix2pix (U-Net, conditional PatchGAN, adversarial + L1 loss) on paired folders, or on
    /// pairs made from one folder: grey → colour, edges → photo, blurred → sharp.
    Pix2pix(pix2pix::Pix2PixArgs),
    /// CycleGAN (TF-GAN's example: ResNet generators, instance-norm PatchGANs, least squares,
    /// cycle consistency 10) between two folders of unpaired images.
    Cyclegan(unpaired::CycleGanArgs),
    /// StarGAN (TF-GAN's example: WGAN-GP, 5 critic steps, reconstruction 10) between the class
    /// folders of one folder.
    Stargan(unpaired::StarGanArgs),
    /// TF-GAN's image compression example (encoder, binarizer, decoder; PatchGAN; L1 + least
    /// squares) on random patches of photographs.
    Compression(compression::CompressionArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Dataset {
    /// MNIST handwritten digits.
    Mnist,
    /// Fashion-MNIST (same layout).
    FashionMnist,
}

impl Dataset {
    fn folder(self) -> &'static str {
        match self {
            Dataset::Mnist => "mnist",
            Dataset::FashionMnist => "fashion-mnist",
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Model {
    /// Noise in, digits out (Wasserstein losses, spectrally normalized discriminator).
    Unconditional,
    /// Noise and one-hot labels in (TF-GAN's conditional example).
    Conditional,
    /// Noise and structured codes in, with a recognizer (mutual information penalty).
    Infogan,
    /// Conditional networks plus an auxiliary classifier on the discriminator.
    Acgan,
}

impl Model {
    fn kind(self) -> GanKind {
        match self {
            Model::Unconditional => GanKind::Unconditional,
            Model::Conditional => GanKind::Conditional,
            Model::Infogan => GanKind::InfoGan,
            Model::Acgan => GanKind::AcGan,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Loss {
    /// Minimax G and D losses (D label smoothing 0.25).
    Minimax,
    /// Modified (non-saturating) G loss, minimax D loss with label smoothing 0.25.
    Modified,
    /// Wasserstein losses (TF-GAN's gan_loss default).
    Wasserstein,
    /// Wasserstein G loss, hinge D loss.
    WassersteinHinge,
    /// Least-squares losses (LSGAN).
    LeastSquares,
    /// Relativistic losses.
    Relativistic,
}

impl Loss {
    fn kind(self) -> GanLossKind {
        match self {
            Loss::Minimax => GanLossKind::Minimax,
            Loss::Modified => GanLossKind::Modified,
            Loss::Wasserstein => GanLossKind::Wasserstein,
            Loss::WassersteinHinge => GanLossKind::WassersteinHinge,
            Loss::LeastSquares => GanLossKind::LeastSquares,
            Loss::Relativistic => GanLossKind::Relativistic,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Schedule {
    /// Both updates from the same state (TF-GAN's joint train hooks; its MNIST example).
    Joint,
    /// Generator update, then discriminator update (TF-GAN's sequential train hooks).
    Sequential,
    /// Discriminator update, then generator update on the same batch (most PyTorch scripts).
    Alternating,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeviceKind {
    /// burn's CPU backend (flex).
    Cpu,
    /// The first CUDA GPU (needs a build with `--features cuda`).
    Cuda,
    /// The best wgpu adapter (needs a build with `--features wgpu`).
    Wgpu,
}

/// Options every `rgan train` example shares.
#[derive(clap::Args, Debug)]
struct TrainArgs {
    /// Number of GAN steps to train to, counted from the start of the run (TF-GAN's MNIST
    /// example runs 20000). Re-running with the same --logdir resumes from its newest checkpoint.
    #[arg(long, default_value_t = 2000)]
    steps: usize,
    /// Seed of initialization, noise and shuffling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write a sample grid every N steps (and at the end).
    #[arg(long, default_value_t = 500)]
    sample_every: usize,
    /// Write a checkpoint every N steps (and every --checkpoint-secs, and at the end).
    #[arg(long, default_value_t = 200)]
    checkpoint_every: usize,
    /// Write a checkpoint when this many seconds passed since the last one (0: off).
    #[arg(long, default_value_t = 120)]
    checkpoint_secs: u64,
    /// The GAN losses [default: the example's].
    #[arg(long, value_enum)]
    loss: Option<Loss>,
    /// Weight of the Wasserstein gradient penalty (WGAN-GP) [default: none].
    #[arg(long)]
    gradient_penalty_weight: Option<f64>,
    /// The update order within a step [default: the example's: joint for MNIST and image
    /// folders, sequential for CIFAR-10].
    #[arg(long, value_enum)]
    schedule: Option<Schedule>,
    /// Discriminator updates per GAN step (at least 1).
    #[arg(long, default_value_t = 1, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    discriminator_steps: usize,
    /// Generator learning rate [default: the example's].
    #[arg(long)]
    generator_lr: Option<f64>,
    /// Discriminator learning rate [default: the example's].
    #[arg(long)]
    discriminator_lr: Option<f64>,
    /// Keep an exponential moving average of the generator with this decay (e.g. 0.999).
    #[arg(long)]
    ema_decay: Option<f64>,
    /// Start afresh even if --logdir holds checkpoints (they are replaced as the run goes).
    #[arg(long)]
    restart: bool,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    device: DeviceKind,
}

#[derive(clap::Args, Debug)]
struct MnistArgs {
    /// Which GAN (TF-GAN's MNIST examples; ACGAN is rgan's).
    #[arg(long, value_enum, default_value_t = Model::Unconditional)]
    model: Model,
    /// Every N steps, score 1000 generated digits with rgan's MNIST classifier (MNIST score,
    /// Fréchet distance, ...) into TensorBoard (`eval/...`) and eval.csv [default: 0, off].
    #[arg(long, default_value_t = 0)]
    eval_every: usize,
    /// Real and generated images per step.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Where samples, scalars, TensorBoard events and checkpoints go [default: logs/mnist-<model>].
    #[arg(long)]
    logdir: Option<PathBuf>,
    /// Folder holding the four IDX files [default: $RGAN_DATA_DIR, else <repo>/../shared/datasets/<dataset>].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Which data set.
    #[arg(long, value_enum, default_value_t = Dataset::Mnist)]
    dataset: Dataset,
    /// Use only the first N training images (quick trials).
    #[arg(long)]
    limit: Option<usize>,
    /// Batch norm after the discriminator's dense 1024 layer, true or false [default: the
    /// model's: true, but false for InfoGAN, whose generator collapses with it (docs/RESULTS.md)].
    #[arg(long)]
    discriminator_batch_norm: Option<bool>,
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(clap::Args, Debug)]
struct ImagesArgs {
    /// Folder of PNG/JPEG images (and/or sub-folders of them), resized to --size × --size.
    #[arg(long)]
    data_dir: PathBuf,
    /// Side of the square images: a power of two ≥ 16 (e.g. 32 or 64).
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Image channels: 1 (grey) or 3 (RGB).
    #[arg(long, default_value_t = 3)]
    channels: usize,
    /// Real and generated images per step (the DCGAN paper's 128; 64 here).
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Size of the noise vector.
    #[arg(long, default_value_t = 64)]
    noise_dims: usize,
    /// Width of the networks (DCGAN's ngf / ndf).
    #[arg(long, default_value_t = 64)]
    base_filters: usize,
    /// Where samples, scalars, TensorBoard events and checkpoints go.
    #[arg(long, default_value = "logs/images")]
    logdir: PathBuf,
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum CifarModel {
    /// Noise in, images out (TF-GAN's example).
    Unconditional,
    /// Noise and a class in (both networks conditioned on the one-hot class).
    Conditional,
}

#[derive(clap::Args, Debug)]
struct CifarArgs {
    /// Which model.
    #[arg(long, value_enum, default_value_t = CifarModel::Unconditional)]
    model: CifarModel,
    /// CIFAR-10: a folder with the binary files (data_batch_1.bin … or cifar-10-batches-bin/), or
    /// with train/<class>/ image folders [default: $RGAN_DATA_DIR, else <repo>/../shared/datasets/cifar10].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Real and generated images per step (TF-GAN's 32).
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Use only the first N training images (quick trials).
    #[arg(long)]
    limit: Option<usize>,
    /// Where samples, scalars, TensorBoard events and checkpoints go [default: logs/cifar-<model>].
    #[arg(long)]
    logdir: Option<PathBuf>,
    /// Every N steps (and at the last), score --eval-num generated images as `rgan eval cifar`
    /// does (FID against the training set, CIFAR-10 classifier score, Inception Score when the
    /// weights have its classifier) into TensorBoard (`eval/...`) and eval.csv [default: 0, off].
    #[arg(long, default_value_t = 0)]
    eval_every: usize,
    /// Generated images per evaluation (the protocol: 10000; fewer give a higher, noisier FID).
    #[arg(long, default_value_t = rgan::eval::cifar::CIFAR_FID_SAMPLES)]
    eval_num: usize,
    /// With --eval-every: the FID Inception weights [default: $RGAN_INCEPTION_WEIGHTS, else ~/.cache/rgan/].
    #[arg(long)]
    inception_weights: Option<PathBuf>,
    /// With --eval-every: the training set's FID statistics (.npz; computed and written when
    /// missing) [default: the cache file `rgan eval cifar` uses].
    #[arg(long)]
    reference_stats: Option<PathBuf>,
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(clap::Args, Debug)]
struct SampleArgs {
    /// A checkpoint folder, or a log folder (its newest checkpoint is used).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Number of images (conditional and ACGAN: spread over one row per class; InfoGAN: the
    /// number of noise rows is num / 10).
    #[arg(long, default_value_t = 64)]
    num: usize,
    /// Output PNG. InfoGAN also writes <stem>_continuous<k>.png for each continuous code.
    #[arg(long, default_value = "samples.png")]
    out: PathBuf,
    /// Sample from the generator's moving average (runs trained with --ema-decay).
    #[arg(long)]
    ema: bool,
    /// Seed of the noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Images generated per forward pass (memory stays bounded by one batch, whatever --num;
    /// with batch statistics, each batch is normalized by its own).
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    /// Images per row [default: ceil(sqrt(num)), or the per-class count].
    #[arg(long)]
    columns: Option<usize>,
    /// Normalize with the moving averages (TF's inference mode) instead of the samples' own batch
    /// statistics (what the training grids show).
    #[arg(long)]
    moving_averages: bool,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    device: DeviceKind,
}

pub(crate) fn device(kind: DeviceKind) -> Result<Device> {
    let name = match kind {
        DeviceKind::Cpu => "cpu",
        DeviceKind::Cuda => "cuda",
        DeviceKind::Wgpu => "wgpu",
    };
    Ok(rgan::device::device_by_name(name)?)
}

/// `--data-dir`, else `$RGAN_DATA_DIR`, else `<repo root>/../shared/datasets/<folder>`.
pub(crate) fn data_dir(explicit: Option<&Path>, folder: &str) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    if let Some(dir) = std::env::var_os("RGAN_DATA_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
    repo_root.join("..").join("shared").join("datasets").join(folder)
}

/// The options of [`TrainArgs`] applied to an example's configuration.
fn apply_train_args(config: TrainConfig, args: &TrainArgs) -> TrainConfig {
    let mut config = config
        .with_steps(args.steps)
        .with_seed(args.seed)
        .with_sample_every(args.sample_every)
        .with_checkpoint_every(args.checkpoint_every)
        .with_checkpoint_secs(args.checkpoint_secs)
        .with_discriminator_train_steps(args.discriminator_steps)
        .with_generator_ema_decay(args.ema_decay);
    if let Some(schedule) = args.schedule {
        config.schedule = match schedule {
            Schedule::Joint => TrainSchedule::Joint,
            Schedule::Sequential => TrainSchedule::Sequential,
            Schedule::Alternating => TrainSchedule::Alternating,
        };
    }
    if let Some(loss) = args.loss {
        config.loss.loss = loss.kind();
    }
    if args.gradient_penalty_weight.is_some() {
        config.loss.gradient_penalty_weight = args.gradient_penalty_weight;
    }
    if let Some(lr) = args.generator_lr {
        config.generator_optimizer.learning_rate = lr;
    }
    if let Some(lr) = args.discriminator_lr {
        config.discriminator_optimizer.learning_rate = lr;
    }
    config
}

/// TF-GAN's MNIST recipe and training configuration for `args`.
fn mnist_setup(args: &MnistArgs) -> (MnistRecipe, TrainConfig) {
    let mut recipe = MnistRecipe::for_kind(args.model.kind());
    if let Some(batch_norm) = args.discriminator_batch_norm {
        recipe.discriminator.batch_norm = batch_norm;
    }
    let config = recipe.train_config().with_batch_size(args.batch_size);
    (recipe, apply_train_args(config, &args.train))
}

/// The DCGAN networks and the DCGAN paper's training setup (see [`DcganNetworks::train_config`])
/// for the image folder's size and channels.
fn images_setup(args: &ImagesArgs) -> (DcganNetworks, TrainConfig) {
    let mut networks = DcganNetworks::for_images(args.size, args.channels, args.noise_dims);
    networks.generator.base_filters = args.base_filters;
    networks.discriminator.base_filters = args.base_filters;
    let config = DcganNetworks::train_config().with_batch_size(args.batch_size);
    (networks, apply_train_args(config, &args.train))
}

/// The settings of a run's configuration (paths into its JSON) that each `rgan train` flag
/// sets: a resumed run compares and takes only those given on the command line; the others are
/// the saved run's (see `rgan::train::resume_config`).
const FLAG_SETTINGS: &[(&str, &str)] = &[
    ("steps", "steps"),
    ("seed", "seed"),
    ("batch_size", "batch_size"),
    ("sample_every", "sample_every"),
    ("checkpoint_every", "checkpoint_every"),
    ("checkpoint_secs", "checkpoint_secs"),
    ("loss", "loss.loss"),
    ("gradient_penalty_weight", "loss.gradient_penalty_weight"),
    ("schedule", "schedule"),
    ("discriminator_steps", "discriminator_train_steps"),
    ("generator_lr", "generator_optimizer.learning_rate"),
    ("discriminator_lr", "discriminator_optimizer.learning_rate"),
    ("ema_decay", "generator_ema_decay"),
];

/// How a `rgan train` command treats a log folder with checkpoints: `--restart`, and the
/// settings given on its command line (`matches`: the command's own arguments).
pub(crate) fn resume_policy(matches: &clap::ArgMatches, restart: bool) -> Resume {
    use clap::parser::ValueSource;
    let given = |id: &str| {
        matches.try_get_raw(id).is_ok_and(|v| v.is_some())
            && matches!(matches.value_source(id), Some(ValueSource::CommandLine | ValueSource::EnvVariable))
    };
    let explicit = FLAG_SETTINGS.iter().filter(|(flag, _)| given(flag)).map(|(_, path)| path.to_string()).collect();
    Resume { restart, explicit: Explicit::Only(explicit) }
}

/// Says what is trained, and from which step when resumed.
pub(crate) fn describe<S: TrainStep, B: BatchSource<Batch = S::Batch>>(
    trainer: &Trainer<S, B>,
    config: &TrainConfig,
    what: &str,
) {
    let logdir = trainer.logdir().map(|d| d.display().to_string()).unwrap_or_default();
    for notice in trainer.notices() {
        eprintln!("note: {notice}");
    }
    if let Some(step) = trainer.resumed_from() {
        eprintln!("resuming from step {step} (checkpoint in {logdir}), training to step {}", trainer.schedule().steps);
    }
    eprintln!(
        "training {what} (batch {}, {:?} losses, G lr {}, D lr {}, {:?} updates), logs in {logdir}",
        config.batch_size,
        config.loss.loss,
        config.generator_optimizer.learning_rate,
        config.discriminator_optimizer.learning_rate,
        config.schedule,
    );
}

/// Runs `trainer` to its last step with a progress bar, prints where its outputs went, and
/// exits with 128 + the signal's number when SIGINT or SIGTERM stopped it (after its checkpoint;
/// see [`signals`]).
pub(crate) fn run_with_progress<S: TrainStep, B: BatchSource<Batch = S::Batch>>(
    mut trainer: Trainer<S, B>,
    extra_hook: Option<&mut dyn TrainHook<S>>,
) -> Result<()> {
    let signals = signals::StopSignals::install()?;
    trainer.set_stop_flag(signals.flag.clone());
    let logdir = trainer.logdir().map(Path::to_path_buf).unwrap_or_default();
    let bar = ProgressBar::new(trainer.schedule().steps as u64).with_position(trainer.global_step() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} step {pos}/{len} {msg} [{elapsed_precise} < {eta_precise}]")
            .expect("valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(500));
    let mut progress = |r: &S::Report| {
        bar.set_position(r.step() as u64);
        bar.set_message(r.describe());
    };
    let summary = match extra_hook {
        Some(hook) => trainer.run_with_hooks(&mut [&mut progress, hook]),
        None => trainer.run_with_hooks(&mut [&mut progress]),
    }
    .inspect_err(|_| bar.abandon())?;
    if summary.interrupted {
        bar.abandon();
        println!("stopped at step {}; run the same command again to resume", summary.step);
    } else {
        bar.finish();
    }
    let secs = summary.wall.as_secs_f64();
    let rss = rgan::bench::peak_rss_mb().map_or(String::new(), |mb| format!(", peak RSS {mb:.0} MiB"));
    println!("trained to step {} in {:.1} s{rss}", summary.step, secs);
    let show = |path: &Option<PathBuf>| path.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    println!("samples:     {}", show(&summary.samples));
    println!("loss curves: {}", show(&summary.loss_curves));
    println!("checkpoint:  {}", show(&summary.checkpoint));
    println!(
        "scalars:     {} (TensorBoard: tensorboard --logdir {})",
        logdir.join("scalars.csv").display(),
        logdir.display()
    );
    // The trainer releases the log folder's lock when dropped; `exit` runs no destructors.
    drop(trainer);
    if let Some(code) = signals.exit_code() {
        std::process::exit(code);
    }
    Ok(())
}

fn train_mnist(args: MnistArgs, resume: Resume) -> Result<()> {
    let logdir = args
        .logdir
        .clone()
        .unwrap_or_else(|| PathBuf::from("logs").join(format!("mnist-{}", format!("{:?}", args.model).to_lowercase())));
    let dir = data_dir(args.data_dir.as_deref(), args.dataset.folder());
    let mut data = Mnist::load(&dir, Split::Train)
        .with_context(|| format!("loading {} from {}", args.dataset.folder(), dir.display()))?;
    if let Some(limit) = args.limit {
        data = data.truncated(limit);
    }
    let device = device(args.train.device)?.autodiff();
    let (recipe, config) = mnist_setup(&args);
    let trainer = recipe.trainer(config.clone(), &data, &logdir, resume, &device)?;
    let what =
        format!("a {:?} GAN on {} {} images from {}", recipe.kind, data.len(), args.dataset.folder(), dir.display());
    describe(&trainer, trainer.step().config(), &what);
    let mut eval_hook = None;
    if args.eval_every > 0 {
        let test = Mnist::load(&dir, Split::Test)
            .with_context(|| format!("loading MNIST's test set from {}", dir.display()))?;
        let real = dataset_images(&test, 0, MNIST_EVAL_SAMPLES, &device)?;
        eval_hook = Some(MnistEvalHook::new(real, &logdir, args.eval_every, &device)?);
    }
    run_with_progress(trainer, eval_hook.as_mut().map(|h| h as &mut dyn TrainHook<_>))
}

fn train_images(args: ImagesArgs, resume: Resume) -> Result<()> {
    let data = ImageFolder::load(&args.data_dir, args.size, args.channels)
        .with_context(|| format!("loading images from {}", args.data_dir.display()))?;
    let device = device(args.train.device)?.autodiff();
    let (networks, config) = images_setup(&args);
    let trainer = networks.trainer(config, &data, &args.logdir, resume, &device)?;
    let what = format!(
        "DCGAN on {} {}×{} images ({} channels) from {}",
        data.len(),
        args.size,
        args.size,
        args.channels,
        args.data_dir.display()
    );
    describe(&trainer, trainer.step().config(), &what);
    run_with_progress(trainer, None)
}

fn train_cifar(args: CifarArgs, resume: Resume) -> Result<()> {
    let dir = data_dir(args.data_dir.as_deref(), "cifar10");
    let mut data =
        Cifar10::load(&dir, Split::Train).with_context(|| format!("loading CIFAR-10 from {}", dir.display()))?;
    if let Some(limit) = args.limit {
        if limit == 0 {
            bail!("--limit must be at least 1");
        }
        data = data.truncated(limit);
    }
    let device = device(args.train.device)?.autodiff();
    let kind = match args.model {
        CifarModel::Unconditional => CifarKind::Unconditional,
        CifarModel::Conditional => CifarKind::Conditional,
    };
    let recipe = CifarRecipe::for_kind(kind);
    let config = apply_train_args(recipe.train_config().with_batch_size(args.batch_size), &args.train);
    let logdir = args.logdir.clone().unwrap_or_else(|| {
        PathBuf::from(match kind {
            CifarKind::Unconditional => "logs/cifar-unconditional",
            CifarKind::Conditional => "logs/cifar-conditional",
        })
    });
    let mut eval_hook = None;
    if args.eval_every > 0 {
        if args.eval_num < 2 {
            bail!("--eval-num must be at least 2 (a covariance needs two images)");
        }
        let plain = device.clone().without_autodiff();
        let weights = rgan::eval::inception::inception_weights_path(args.inception_weights.as_deref())?;
        let net = rgan::eval::inception::FidInceptionV3::load(&weights, &plain)?;
        let (reference, _, _) =
            eval_cifar::reference_statistics(&net, &weights, &dir, args.reference_stats.as_deref(), 50, &plain)?;
        let classifier = rgan::eval::cifar_classifier::CifarClassifier::pretrained(&plain)?;
        let mut hook = CifarEvalHook::new(net, reference, classifier, &logdir, args.eval_every, &plain);
        hook.num_samples = args.eval_num;
        eval_hook = Some(hook);
    }
    let trainer = recipe.trainer(config, &data, &logdir, resume, &device)?;
    let what = format!("TF-GAN's CIFAR-10 {} GAN on {} images from {}", recipe_name(kind), data.len(), dir.display());
    describe(&trainer, trainer.step().config(), &what);
    run_with_progress(trainer, eval_hook.as_mut().map(|h| h as &mut dyn TrainHook<_>))
}

fn recipe_name(kind: CifarKind) -> &'static str {
    match kind {
        CifarKind::Unconditional => "unconditional",
        CifarKind::Conditional => "conditional",
    }
}

fn sample(args: SampleArgs) -> Result<()> {
    if args.num == 0 {
        bail!("--num must be at least 1");
    }
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let device = device(args.device)?;
    let mode = if args.moving_averages { BatchNormMode::MovingAverages } else { BatchNormMode::BatchStatistics };
    let (generator, inputs, recipe) = load_noise_generator(&args.checkpoint, args.ema, &device)?;
    let diverged = || {
        format!(
            "sampling the generator of {} (if it makes NaN pixels, its weights diverged: sample an earlier checkpoint)",
            args.checkpoint.display()
        )
    };
    if matches!(recipe, Recipe::Dcgan(_) | Recipe::Vanilla(_)) {
        let mut rng = rgan::rng::Rng::seed_from_u64(args.seed);
        let columns = args.columns.unwrap_or_else(|| (args.num as f64).sqrt().ceil() as usize);
        let grid = generate_grid(&generator, args.num, columns, args.batch_size, mode, |_, count| {
            Ok(GeneratorInputs::noise(rng.normal([count, inputs.noise_dims], 0.0, 1.0, &device)))
        })
        .with_context(diverged)?;
        grid.save(&args.out)?;
        println!("{} samples written to {}", args.num, args.out.display());
        return Ok(());
    }
    sample_mnist(&args, &generator, &inputs, mode, &device).with_context(diverged)
}

/// `n` images of `generator` in batches of at most `batch` (the inputs of images `start..start
/// + count` from `inputs(start, count)`), tiled into a grid of `columns` per row as they come.
fn generate_grid<G: GanGenerator>(
    generator: &G,
    n: usize,
    columns: usize,
    batch: usize,
    mode: BatchNormMode,
    mut inputs: impl FnMut(usize, usize) -> Result<GeneratorInputs>,
) -> Result<ImageGrid> {
    let mut grid = ImageGrid::new(n, columns)?;
    for start in (0..n).step_by(batch) {
        let count = batch.min(n - start);
        grid.push(generator.generate_with(&inputs(start, count)?, mode)?)?;
    }
    Ok(grid)
}

/// Samples of an MNIST generator: a grid of digits, one row per class for conditional
/// generators, InfoGAN's code grids for InfoGAN generators.
fn sample_mnist<G: GanGenerator>(
    args: &SampleArgs,
    generator: &G,
    spec: &NoiseInputs,
    mode: BatchNormMode,
    device: &Device,
) -> Result<()> {
    let device = device.clone();
    let mut rng = rgan::rng::Rng::seed_from_u64(args.seed);
    let classes = spec.num_classes;
    if spec.categorical_dim > 0 || spec.continuous_dim > 0 {
        return sample_infogan(args, generator, spec, mode, &device);
    }
    let grid = if classes > 0 {
        // One row per class, as TF-GAN's conditional eval grid.
        let per_class = args.columns.unwrap_or_else(|| args.num.div_ceil(classes));
        generate_grid(generator, per_class * classes, per_class, args.batch_size, mode, |start, count| {
            let ids: Vec<i64> = (start..start + count).map(|i| (i / per_class) as i64).collect();
            let labels = one_hot(Tensor::from_data(TensorData::new(ids, [count]), &device), classes);
            let noise = rng.normal([count, spec.noise_dims], 0.0, 1.0, &device);
            Ok(GeneratorInputs::noise(noise).with_labels(labels))
        })?
    } else {
        let columns = args.columns.unwrap_or_else(|| (args.num as f64).sqrt().ceil() as usize);
        generate_grid(generator, args.num, columns, args.batch_size, mode, |_, count| {
            Ok(GeneratorInputs::noise(rng.normal([count, spec.noise_dims], 0.0, 1.0, &device)))
        })?
    };
    grid.save(&args.out)?;
    let n = if classes > 0 { args.columns.unwrap_or_else(|| args.num.div_ceil(classes)) * classes } else { args.num };
    println!("{n} samples written to {}", args.out.display());
    Ok(())
}

/// TF-GAN's InfoGAN eval grids: rows of fixed noise; columns vary the categorical code (one
/// file), then each continuous code over linspace(-2, 2, 10) with the others at 0 (one file each).
fn sample_infogan<G: GanGenerator>(
    args: &SampleArgs,
    generator: &G,
    spec: &NoiseInputs,
    mode: BatchNormMode,
    device: &Device,
) -> Result<()> {
    let (cat, cont) = (spec.categorical_dim, spec.continuous_dim);
    let points = 10usize;
    let rows = args.num.div_ceil(points).max(1);
    let mut rng = rgan::rng::Rng::seed_from_u64(args.seed);
    let noise_rows: Vec<f32> = (0..rows * spec.noise_dims).map(|_| rng.next_normal() as f32).collect();
    let fixed_category: Vec<i64> = (0..rows).map(|_| rng.below(cat.max(1)) as i64).collect();
    // Cell (r, c) of a grid of `columns` per row: its category and continuous codes.
    let grid = |columns: usize,
                category: &dyn Fn(usize, usize) -> i64,
                code: &dyn Fn(usize, usize, usize) -> f32|
     -> Result<ImageGrid> {
        generate_grid(generator, rows * columns, columns, args.batch_size, mode, |start, count| {
            let mut noise = Vec::with_capacity(count * spec.noise_dims);
            let (mut ids, mut codes) = (Vec::with_capacity(count), Vec::with_capacity(count * cont));
            for cell in start..start + count {
                let (r, c) = (cell / columns, cell % columns);
                noise.extend_from_slice(&noise_rows[r * spec.noise_dims..(r + 1) * spec.noise_dims]);
                ids.push(category(r, c));
                codes.extend((0..cont).map(|k| code(r, c, k)));
            }
            let mut structured = Vec::new();
            if cat > 0 {
                structured.push(StructuredInput::ClassIds(Tensor::from_data(TensorData::new(ids, [count]), device)));
            }
            if cont > 0 {
                let values = Tensor::from_data(TensorData::new(codes, [count, cont]), device);
                structured.push(StructuredInput::Values(values));
            }
            let noise = Tensor::from_data(TensorData::new(noise, [count, spec.noise_dims]), device);
            Ok(GeneratorInputs::noise(noise).with_structured(structured))
        })
    };
    let linspace = |c: usize| -2.0 + 4.0 * c as f32 / (points - 1) as f32;
    if cat > 0 {
        grid(cat, &|_, c| c as i64, &|_, _, _| 0.0)?.save(&args.out)?;
        println!("categorical code varied along rows: {}", args.out.display());
    }
    let stem = args.out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "samples".into());
    for k in 0..cont {
        let out = args.out.with_file_name(format!("{stem}_continuous{}.png", k + 1));
        grid(points, &|r, _| fixed_category[r], &|_, c, j| if j == k { linspace(c) } else { 0.0 })?.save(&out)?;
        println!("continuous code {} varied over [-2, 2] along rows: {}", k + 1, out.display());
    }
    Ok(())
}

fn main() -> Result<()> {
    allocator::tune();
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if let Some(threads) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(threads))
            .build_global()
            .context("--threads: could not start the thread pool")?;
    }
    // The matches of the innermost subcommand (`train mnist`): which flags were given.
    let mut inner = &matches;
    while let Some((_, sub)) = inner.subcommand() {
        inner = sub;
    }
    match cli.command {
        Command::Train { example: TrainExample::Mnist(args) } => {
            let resume = resume_policy(inner, args.train.restart);
            train_mnist(args, resume)
        }
        Command::Train { example: TrainExample::Images(args) } => {
            let resume = resume_policy(inner, args.train.restart);
            train_images(args, resume)
        }
        Command::Train { example: TrainExample::Cifar(args) } => {
            let resume = resume_policy(inner, args.train.restart);
            train_cifar(args, resume)
        }
        Command::Train { example: TrainExample::Zoo(args) } => {
            let resume = resume_policy(inner, args.restart);
            zoo::run(args, resume)
        }
        Command::Train { example: TrainExample::Pix2pix(args) } => {
            let resume = resume_policy(inner, args.train.restart);
            pix2pix::run(args, resume)
        }
        Command::Train { example: TrainExample::Cyclegan(args) } => {
            let resume = resume_policy(inner, args.train.restart);
            unpaired::run_cyclegan(args, resume)
        }
        Command::Train { example: TrainExample::Compression(args) } => {
            let resume = resume_policy(inner, args.train.restart);
            compression::run_train(args, resume)
        }
        Command::Train { example: TrainExample::Stargan(args) } => {
            let resume = resume_policy(inner, args.train.restart);
            unpaired::run_stargan(args, resume)
        }
        Command::Sample(args) => sample(args),
        Command::Translate(args) => translate::run(args),
        Command::Compress(args) => compression::run_compress(args),
        Command::Decompress(args) => compression::run_decompress(args),
        Command::Eval { command: EvalCommand::Compression(args) } => compression::run_eval(args),
        Command::Eval { command: EvalCommand::Cyclegan(args) } => eval_unpaired::run_cyclegan(args),
        Command::Eval { command: EvalCommand::Stargan(args) } => eval_unpaired::run_stargan(args),
        Command::Vanilla(args) => vanilla::run(args),
        Command::Eval { command: EvalCommand::InceptionFeatures(args) } => eval_inception::run(args),
        Command::Eval { command: EvalCommand::Pix2pix(args) } => eval_pix2pix::run(args),
        Command::Eval { command: EvalCommand::Cifar(args) } => eval_cifar::run(args),
        Command::Eval { command: EvalCommand::TrainClassifier(args) } => eval_classifier::run(args),
        Command::Eval { command: EvalCommand::Fid(args) } => eval_cmd::run_fid(args),
        Command::Eval { command: EvalCommand::Mnist(args) } => eval_cmd::run_mnist(args),
        Command::Eval { command: EvalCommand::Classifier(args) } => eval_cmd::run_classifier(args),
        Command::Bench { command } => bench::run(command),
    }
}
