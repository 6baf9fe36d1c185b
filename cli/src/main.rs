//! `rgan`: train GANs and draw samples from their checkpoints.
//!
//! ```text
//! rgan train mnist [--steps 2000] [--batch-size 32] [--seed 0] [--logdir logs/mnist]
//!                  [--data-dir DIR] [--dataset mnist|fashion-mnist] [--sample-every 500] [--device cpu]
//! rgan sample --checkpoint logs/mnist --num 64 --out samples.png
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rgan::data::{Mnist, Split};
use rgan::model::BatchNormMode;
use rgan::train::{GanLossKind, TrainConfig, TrainSchedule, Trainer, load_generator, save_image_grid};

#[derive(Parser, Debug)]
#[command(name = "rgan", version, about = "Generative Adversarial Networks in Rust (a TF-GAN port on burn)")]
struct Cli {
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
}

#[derive(Subcommand, Debug)]
enum TrainExample {
    /// TF-GAN's unconditional MNIST GAN (examples/mnist): 28×28 grey images, noise 64.
    Mnist(MnistArgs),
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
enum Loss {
    /// Modified (non-saturating) G loss, minimax D loss with label smoothing 0.25.
    Modified,
    /// Wasserstein losses without gradient penalty (TF-GAN's gan_loss default).
    Wasserstein,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Schedule {
    /// Both updates from the same state (TF-GAN's joint train hooks; its MNIST example).
    Joint,
    /// Generator update, then discriminator update (TF-GAN's sequential train hooks).
    Sequential,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum DeviceKind {
    /// burn's CPU backend (flex).
    Cpu,
}

#[derive(clap::Args, Debug)]
struct MnistArgs {
    /// Number of GAN steps to train to (TF-GAN's example runs 20000).
    #[arg(long, default_value_t = 2000)]
    steps: usize,
    /// Real and generated images per step.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Seed of initialization, noise and shuffling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where samples, scalars.csv and checkpoints go.
    #[arg(long, default_value = "logs/mnist")]
    logdir: PathBuf,
    /// Folder holding the four IDX files [default: $RGAN_DATA_DIR, else <repo>/../shared/datasets/<dataset>].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Which data set.
    #[arg(long, value_enum, default_value_t = Dataset::Mnist)]
    dataset: Dataset,
    /// Write a sample grid every N steps (and at the end).
    #[arg(long, default_value_t = 500)]
    sample_every: usize,
    /// Write a checkpoint every N steps (and at the end).
    #[arg(long, default_value_t = 500)]
    checkpoint_every: usize,
    /// The GAN losses.
    #[arg(long, value_enum, default_value_t = Loss::Modified)]
    loss: Loss,
    /// The update order within a step.
    #[arg(long, value_enum, default_value_t = Schedule::Joint)]
    schedule: Schedule,
    /// Generator learning rate.
    #[arg(long, default_value_t = 1e-3)]
    generator_lr: f64,
    /// Discriminator learning rate.
    #[arg(long, default_value_t = 1e-4)]
    discriminator_lr: f64,
    /// Use only the first N training images (quick trials).
    #[arg(long)]
    limit: Option<usize>,
    /// Continue from the newest checkpoint in --logdir (optimizer state, noise and data position
    /// included) up to --steps.
    #[arg(long)]
    resume: bool,
    /// Compute device.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    device: DeviceKind,
}

#[derive(clap::Args, Debug)]
struct SampleArgs {
    /// A checkpoint folder, or a log folder (its newest checkpoint is used).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Number of images.
    #[arg(long, default_value_t = 64)]
    num: usize,
    /// Output PNG.
    #[arg(long, default_value = "samples.png")]
    out: PathBuf,
    /// Seed of the noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Images per row [default: ceil(sqrt(num))].
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

fn device(kind: DeviceKind) -> Device {
    match kind {
        DeviceKind::Cpu => Device::default(),
    }
}

/// `--data-dir`, else `$RGAN_DATA_DIR`, else `<repo root>/../shared/datasets/<dataset>`.
fn data_dir(explicit: Option<&Path>, dataset: Dataset) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    if let Some(dir) = std::env::var_os("RGAN_DATA_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
    repo_root.join("..").join("shared").join("datasets").join(dataset.folder())
}

fn train_mnist(args: MnistArgs) -> Result<()> {
    let dir = data_dir(args.data_dir.as_deref(), args.dataset);
    let mut data = Mnist::load(&dir, Split::Train)
        .with_context(|| format!("loading {} from {}", args.dataset.folder(), dir.display()))?;
    if let Some(limit) = args.limit {
        data = data.truncated(limit);
    }
    let config = TrainConfig::new()
        .with_steps(args.steps)
        .with_batch_size(args.batch_size)
        .with_seed(args.seed)
        .with_sample_every(args.sample_every)
        .with_checkpoint_every(args.checkpoint_every)
        .with_generator_learning_rate(args.generator_lr)
        .with_discriminator_learning_rate(args.discriminator_lr)
        .with_loss(match args.loss {
            Loss::Modified => GanLossKind::Modified,
            Loss::Wasserstein => GanLossKind::Wasserstein,
        })
        .with_schedule(match args.schedule {
            Schedule::Joint => TrainSchedule::Joint,
            Schedule::Sequential => TrainSchedule::Sequential,
        });
    let device = device(args.device).autodiff();
    let mut trainer = if args.resume {
        let trainer = Trainer::resume(&args.logdir, Some(args.steps), &data, &args.logdir, &device)
            .with_context(|| format!("resuming from {}", args.logdir.display()))?;
        eprintln!("resuming at step {} of {}", trainer.step(), args.steps);
        trainer
    } else {
        Trainer::new(config, &data, &args.logdir, &device)?
    };
    eprintln!(
        "training on {} {} images from {} (batch {}, {:?} loss, {:?} updates), logs in {}",
        data.len(),
        args.dataset.folder(),
        dir.display(),
        trainer.config().batch_size,
        trainer.config().loss,
        trainer.config().schedule,
        args.logdir.display()
    );
    let bar = ProgressBar::new(trainer.config().steps as u64).with_position(trainer.step() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} step {pos}/{len} {msg} [{elapsed_precise} < {eta_precise}]")
            .expect("valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(500));
    let summary = trainer
        .run(|r| {
            bar.set_position(r.step as u64);
            bar.set_message(format!("d_loss {:.4} g_loss {:.4} {:.2} steps/s", r.d_loss, r.g_loss, r.steps_per_sec));
        })
        .inspect_err(|_| bar.abandon())?;
    bar.finish();
    let secs = summary.wall.as_secs_f64();
    println!("trained to step {} in {:.1} s", summary.step, secs);
    println!("samples:    {}", summary.samples.display());
    println!("checkpoint: {}", summary.checkpoint.display());
    println!("scalars:    {}", trainer.logdir().join("scalars.csv").display());
    Ok(())
}

fn sample(args: SampleArgs) -> Result<()> {
    if args.num == 0 {
        bail!("--num must be at least 1");
    }
    let device = device(args.device);
    let (generator, config) = load_generator(&args.checkpoint, &device)?;
    let mut rng = rgan::rng::Rng::seed_from_u64(args.seed);
    let noise = rng.normal([args.num, config.generator.noise_dims], 0.0, 1.0, &device);
    let mode = if args.moving_averages { BatchNormMode::MovingAverages } else { BatchNormMode::BatchStatistics };
    let images = generator.forward_with(noise, mode)?;
    let columns = args.columns.unwrap_or_else(|| (args.num as f64).sqrt().ceil() as usize);
    save_image_grid(images, columns, &args.out)?;
    println!("{} samples written to {}", args.num, args.out.display());
    Ok(())
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Train { example: TrainExample::Mnist(args) } => train_mnist(args),
        Command::Sample(args) => sample(args),
    }
}
